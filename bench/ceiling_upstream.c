/*
 * ceiling_upstream.c: the ceiling for any handler that must call the CRM. A
 * libfcgi responder that reads and parses the urlencoded body, builds the same
 * upsert JSON fmgate sends for the benchmark's form (fixed mapping, no
 * validation), POSTs it with one kept-alive libcurl handle and answers the
 * same 303. FM_API_BASE and FM_API_KEY as for fmgate.
 */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <fcgiapp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BODY_MAX 65536

static size_t discard(char *p, size_t s, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return s * n;
}

static int hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
	       c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* In-place form decoding of one name or value. */
static void decode(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (*s == '+') {
			*o++ = ' ';
		} else if (*s == '%' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
			*o++ = (char)(hexval(s[1]) * 16 + hexval(s[2]));
			s += 2;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

/* The benchmark form's fields and where fmgate puts them. */
static const struct { const char *field, *key; int custom; } map[] = {
	{ "email", "emails", 0 }, { "first", "first_name", 0 }, { "last", "last_name", 0 },
	{ "city", "city", 0 }, { "title", "job_title", 0 }, { "sector", "cf_industry", 1 },
	{ "optin", "cf_newsletter", 1 }, { "size", "cf_employees", 1 },
};

int main(void)
{
	static const char answer[] = "Status: 303 See Other\r\n"
		"Location: https://www.example.com/thanks.html\r\n"
		"Cache-Control: no-store\r\n\r\n";
	static char body[BODY_MAX + 1];
	const char *base = getenv("FM_API_BASE"), *key = getenv("FM_API_KEY");
	char url[512], auth[300];
	struct curl_slist *hdr = NULL;
	FCGX_Request rq;
	CURL *h;

	if (!base || !key || FCGX_Init() != 0 || FCGX_InitRequest(&rq, 0, 0) != 0)
		return 1;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	h = curl_easy_init();
	snprintf(url, sizeof url, "%s/contacts/upsert", base);
	snprintf(auth, sizeof auth, "Authorization: Token token=%s", key);
	hdr = curl_slist_append(hdr, auth);
	hdr = curl_slist_append(hdr, "Content-Type: application/json");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 3000L);
	while (FCGX_Accept_r(&rq) >= 0) {
		int n = 0, r;
		cJSON *root = cJSON_CreateObject(), *contact, *custom;
		char *json, *save = NULL;

		while (n < BODY_MAX && (r = FCGX_GetStr(body + n, BODY_MAX - n, rq.in)) > 0)
			n += r;
		body[n] = '\0';
		contact = cJSON_AddObjectToObject(root, "contact");
		custom = cJSON_CreateObject();
		for (char *pair = strtok_r(body, "&", &save); pair; pair = strtok_r(NULL, "&", &save)) {
			char *eq = strchr(pair, '=');
			if (!eq)
				continue;
			*eq = '\0';
			decode(pair);
			decode(eq + 1);
			for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
				if (strcmp(pair, map[i].field) == 0)
					cJSON_AddStringToObject(map[i].custom ? custom : contact,
					                        map[i].key, eq + 1);
			if (strcmp(pair, "email") == 0) {
				cJSON *u = cJSON_AddObjectToObject(root, "unique_identifier");
				cJSON_AddStringToObject(u, "external_id", eq + 1);
				cJSON_AddStringToObject(contact, "external_id", eq + 1);
			}
		}
		cJSON_AddItemToObject(contact, "custom_field", custom);
		json = cJSON_PrintUnformatted(root);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, json);
		curl_easy_perform(h);
		cJSON_free(json);
		cJSON_Delete(root);
		FCGX_PutStr(answer, (int)sizeof answer - 1, rq.out);
		FCGX_Finish_r(&rq);
	}
	return 0;
}
