/*
 * fm_account.c: the account step: the company upserted by name, then linked
 * to the contact with the links it had kept (fm_account.h).
 */
#include "fm_account.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>


static void too_many(struct fm_result *out)
{
	fm_result_say(out, FM_REJECTED, "the contact has too many accounts linked (more than %u)",
	              FM_MAX_LINKS - 1);
}

/* POST /sales_accounts/upsert keyed on the name: true with *id the account's. */
static bool upsert(struct fm_http *h, const char *name, uint64_t deadline,
                   struct fm_result *out, long long *id)
{
	cJSON *body = cJSON_CreateObject();
	cJSON *key = cJSON_AddObjectToObject(body, "unique_identifier");
	cJSON *acct = cJSON_AddObjectToObject(body, "sales_account");
	char *json = NULL;
	bool ok = false;
	long status;

	if (!cJSON_AddStringToObject(key, "name", name) ||
	    !cJSON_AddStringToObject(acct, "name", name) ||
	    !(json = cJSON_PrintUnformatted(body))) {
		fm_result_say(out, FM_RETRY, "out of memory");
		goto out;
	}
	if (!fm_http_call(h, "POST", "/sales_accounts/upsert", json, deadline, out, &status))
		goto out;
	fm_http_classify(h, status, out);
	if (out->outcome != FM_DELIVERED)
		goto out;
	if (!(*id = fm_http_answer_id(h, "sales_account"))) {
		fm_result_say(out, FM_RETRY, "no account id in the answer");
		goto out;
	}
	ok = true;
out:
	cJSON_Delete(body);
	cJSON_free(json);
	return ok;
}

/* The contact's links, read: GET /contacts/ID?include=sales_accounts. */
static bool read_links(struct fm_http *h, long long contact, uint64_t deadline,
                       struct fm_result *out, struct fm_links *have)
{
	char path[64];
	cJSON *doc = NULL;
	const cJSON *ct;
	bool ok = false;
	long status;

	snprintf(path, sizeof path, "/contacts/%lld" FM_INCLUDE_LINKS, contact);
	if (!fm_http_call(h, "GET", path, NULL, deadline, out, &status))
		goto out;
	if (status == 404) {
		fm_result_say(out, FM_REJECTED, "contact %lld not found", contact);
		goto out;
	}
	if (!fm_http_read_ok(h, status, out))
		goto out;
	doc = fm_http_json(h);
	if (!cJSON_IsObject(ct = cJSON_GetObjectItemCaseSensitive(doc, "contact"))) {
		fm_result_say(out, FM_RETRY, "reading contact %lld: not the expected answer", contact);
		goto out;
	}
	if (!fm_links_read(ct, have)) {
		/* Without the member the links are unknown, and a write would
		 * replace them: refused, never guessed. */
		fm_result_say(out, FM_REJECTED, "contact %lld: the CRM did not return its linked "
		              "accounts (sales_accounts), which a link would replace", contact);
		goto out;
	} else if (have->n < 0) {
		if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(ct, "sales_accounts")) >
		    (int)FM_MAX_LINKS)
			too_many(out);
		else
			fm_result_say(out, FM_RETRY, "reading contact %lld: a linked account without "
			              "an id", contact);
		goto out;
	}
	ok = true;
out:
	cJSON_Delete(doc);
	return ok;
}

/* {"contact":{"sales_accounts":[the links it has, then the account]}}: the
 * array replaces the contact's links. The new one is primary only when it is
 * the only one. */
static char *link_body(const struct fm_links *have, long long account)
{
	cJSON *body = cJSON_CreateObject(), *e;
	cJSON *list = cJSON_AddArrayToObject(cJSON_AddObjectToObject(body, "contact"),
	                                     "sales_accounts");
	char *json = NULL;
	bool ok = list != NULL;

	for (int i = 0; ok && i <= have->n; i++) {
		bool old = i < have->n;

		ok = (e = cJSON_CreateObject()) != NULL && cJSON_AddItemToArray(list, e) &&
		     cJSON_AddNumberToObject(e, "id", (double)(old ? have->v[i].id : account)) &&
		     cJSON_AddBoolToObject(e, "is_primary", old ? have->v[i].primary : have->n == 0);
	}
	if (ok)
		json = cJSON_PrintUnformatted(body);
	cJSON_Delete(body);
	return json;
}

void fm_account_step(struct fm_http *h, const char *name, long long contact_id,
                     const struct fm_links *links, long long *account_id, uint64_t deadline,
                     struct fm_result *out)
{
	/* A copy: `links` may be a result that the calls below overwrite. */
	struct fm_links have = {.n = -1};
	char path[64];
	char *json = NULL;
	long status;

	if (links)
		have = *links;
	if (!name || !*name) {
		fm_result_say(out, FM_REJECTED, "no account name");
		goto out;
	}
	if ((!*account_id && !upsert(h, name, deadline, out, account_id)) ||
	    (have.n < 0 && !read_links(h, contact_id, deadline, out, &have)))
		goto out;
	for (int i = 0; i < have.n; i++) {
		if (have.v[i].id == *account_id) {
			fm_result_say(out, FM_DELIVERED, "%s", "");
			goto out;
		}
	}
	if ((unsigned)have.n >= FM_MAX_LINKS) {
		too_many(out);
		goto out;
	}
	if (!(json = link_body(&have, *account_id))) {
		fm_result_say(out, FM_RETRY, "out of memory");
		goto out;
	}
	snprintf(path, sizeof path, "/contacts/%lld" FM_INCLUDE_LINKS, contact_id);
	if (!fm_http_call(h, "PUT", path, json, deadline, out, &status))
		goto out;
	fm_http_classify(h, status, out);
	if (status == 404)
		fm_result_say(out, FM_REJECTED, "contact %lld not found", contact_id);
out:
	cJSON_free(json);
}
