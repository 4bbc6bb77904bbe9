/*
 * fuzz_request.c: the whole request path, as a worker runs it: CGI
 * parameters and a body in, handler_handle(), the serialised answer out.
 * Freshmarketer is a stub (app.deliver) that returns an outcome the input
 * chooses; nothing touches the network.
 *
 * Input: byte 0 chooses the stub's outcome (bits 0-2), the sync or async
 * mapping (bit 3) and how many bytes each read of the body returns (bits
 * 4-7: 0 all at once, else 61 times that); then parameters as NAME=VALUE
 * entries each ended by a NUL, an empty entry ending them; the rest is the
 * body. Example: "\0REQUEST_METHOD=POST\0PATH_INFO=/contact\0\0email=...".
 *
 * At start-up two mappings are written to a fresh temporary folder (under
 * $TMPDIR, else /tmp), whose spool/ is FMGATE_SPOOL; the spool's files are
 * removed every SPOOL_SWEEP inputs so that it never fills, and the folder at
 * exit. Checked on every answer: a Status line and CRLF-ended printable header
 * lines, a Location that is a local path or an allowed origin, HTML made only
 * of the pages' own tags, and an identify message (seen by the stub) with a
 * messageId, a userId and an email, printing as valid UTF-8. Run with
 * -close_fd_mask=2 (as tests/fuzz/run.sh does), fmgate's stderr is caught per
 * input too: exactly one request record, every line printable.
 */
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include <curl/curl.h>

#include "handler.h"
#include "text.h"
#include "fuzz.h"

#define MAX_PARAMS   64u     /* parameter entries read from one input */
#define SPOOL_SWEEP  256u    /* inputs between two sweeps of the spool */
#define LOG_MAX      65536u  /* bytes of stderr kept for one input */

static const char MAPPING_FMT[] =
	"<fmgate>\n"
	"  <settings>\n"
	"    <delivery mode=\"%s\" timeout-ms=\"100\"/>\n"
	"    <limits max-body=\"4096\" max-fields=\"40\" max-value=\"300\"/>\n"
	"    <trusted-proxy>10.0.0.1</trusted-proxy>\n"
	"    <trusted-proxy>::1</trusted-proxy>\n"
	"    <trusted-proxy header=\"CF-Connecting-IP\">192.0.2.0/24</trusted-proxy>\n"
	"    <trusted-proxy header=\"True-Client-IP\">2001:db8::/32</trusted-proxy>\n"
	/* No rate limit: the default one would answer most inputs 429. */
	"    <rate-limit/>\n"
	"  </settings>\n"
	"  <form id=\"contact\">\n"
	"    <redirect success=\"https://www.example.com/thanks.html\"\n"
	"              failure=\"https://www.example.com/contact.html?lang=en#form\"/>\n"
	"    <allow-origin>https://www.example.com</allow-origin>\n"
	"    <allow-origin>https://*.example.org</allow-origin>\n"
	"    <honeypot field=\"website\"/>\n"
	"    <user-id><from-field name=\"uid\"/><from-cookie name=\"ajs_user_id\"/><from-email/></user-id>\n"
	"    <anonymous-id><from-cookie name=\"ajs_anonymous_id\"/></anonymous-id>\n"
	"    <field name=\"email\" trait=\"email\" type=\"email\" required=\"true\"/>\n"
	"    <field name=\"first\" trait=\"firstName\" max-length=\"20\"/>\n"
	"    <field name=\"city\" trait=\"address.city\"/>\n"
	"    <field name=\"size\" trait=\"Employees\" type=\"number\" fm-field=\"cf_employees\"/>\n"
	"    <field name=\"optin\" trait=\"Newsletter\" type=\"boolean\"/>\n"
	"    <field name=\"born\" trait=\"Birthday\" type=\"date\"/>\n"
	"    <field name=\"phone\" trait=\"phone\" type=\"phone\"/>\n"
	"    <field name=\"topics\" trait=\"Topics\" multiple=\"true\"/>\n"
	"    <constant trait=\"Signup Source\" value=\"Website form\"/>\n"
	"  </form>\n"
	"  <form id=\"bare\">\n"
	"    <redirect success=\"/thanks.html\"/>\n"
	"    <user-id><from-field name=\"uid\"/></user-id>\n"
	"    <field name=\"email\" trait=\"email\" type=\"email\"/>\n"
	"    <field name=\"company\" trait=\"company.name\" required=\"true\"/>\n"
	/* Markup in a name the 422 page shows: it must come out escaped. */
	"    <field name=\"&lt;b&gt;&amp;&quot;x\" trait=\"lastName\" required=\"true\"/>\n"
	"  </form>\n"
	"</fmgate>\n";

static char tmpdir[256];
static char spooldir[300];
static struct app apps[2];      /* sync, async */
static int logfd = -1;          /* fmgate's stderr, when caught */
static enum fm_outcome next_outcome;
static unsigned runs;

/* The stub's outcome for this input, and the checks on what it was given. */
static void stub_deliver(struct fm_client *c, const struct submission *sub,
                         const struct map_form *form, unsigned budget_ms,
                         struct fm_result *out)
{
	cJSON *msg = submission_message(sub);
	char *text = msg ? cJSON_PrintUnformatted(msg) : NULL;

	(void)c;
	(void)budget_ms;
	FUZZ_CHECK(strlen(sub->message_id) == 36);
	FUZZ_CHECK(sub->user_id && sub->user_id[0] != '\0');
	FUZZ_CHECK(sub->email && strchr(sub->email, '@') != NULL);
	/* What is sent or spooled is valid UTF-8, whatever the request held. */
	FUZZ_CHECK(text && text_utf8_valid(text, strlen(text)));
	cJSON_Delete(msg);
	cJSON_free(text);
	memset(out, 0, sizeof *out);
	out->outcome = next_outcome;
	out->retry_after_s = next_outcome == FM_RETRY ? 30 : -1;
	out->calls = next_outcome == FM_PAUSED ? 0 : 1;
	switch (next_outcome) {
	case FM_DELIVERED: out->http_status = 201; break;
	case FM_RETRY: out->http_status = 503; break;
	case FM_REJECTED: out->http_status = 400; break;
	case FM_PAUSED: out->http_status = 401; break;
	case FM_CONFLICT: out->http_status = 400; break;
	case FM_INVALID: out->field = form->n_fields ? form->fields[0].name : NULL; break;
	}
	/* An API message may hold anything; the log line must escape it. */
	snprintf(out->message, sizeof out->message, "stub\r\nfmgate[1]: info: outcome=forged\x1b[0m");
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* Removes the spool's submissions (not its layout, lock or state). */
static int sweep_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_F && (strstr(path, "/queue/") || strstr(path, "/dead/")))
		unlink(path);
	return 0;
}

static void cleanup(void)
{
	for (size_t i = 0; i < 2; i++)
		app_free(&apps[i]);
	if (tmpdir[0])
		nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	curl_global_cleanup();
}

static void write_mapping(const char *path, const char *mode)
{
	FILE *f = fopen(path, "w");

	FUZZ_CHECK(f != NULL);
	FUZZ_CHECK(fprintf(f, MAPPING_FMT, mode) > 0);
	FUZZ_CHECK(fclose(f) == 0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *base = getenv("TMPDIR");
	char path[400];

	for (int i = 1; i < *argc; i++)
		if (strcmp((*argv)[i], "-close_fd_mask=2") == 0 ||
		    strcmp((*argv)[i], "-close_fd_mask=3") == 0)
			logfd = memfd_create("fmgate-log", 0);
	FUZZ_CHECK(curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK);
	snprintf(tmpdir, sizeof tmpdir, "%s/fmgate-fuzz.XXXXXX", base && *base ? base : "/tmp");
	FUZZ_CHECK(mkdtemp(tmpdir) != NULL);
	snprintf(spooldir, sizeof spooldir, "%s/spool", tmpdir);
	/* Delivery is configured but never reached: the stub stands in for it. */
	setenv("FMGATE_SPOOL", spooldir, 1);
	setenv("FM_API_BASE", "http://127.0.0.1:9/crm/sales/api", 1);
	setenv("FM_API_KEY", "fuzz-key", 1);
	unsetenv("FM_API_KEY_FILE");
	unsetenv("FM_DOMAIN");
	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof path, "%s/forms-%zu.xml", tmpdir, i);
		write_mapping(path, i ? "async" : "sync");
		FUZZ_CHECK(app_init(&apps[i], path) == 0);
		apps[i].deliver = stub_deliver;
	}
	atexit(cleanup);
	return 0;
}

struct params {
	const char *name[MAX_PARAMS];
	const char *value[MAX_PARAMS];
	size_t n;
};

static const char *param_get(void *ctx, const char *name)
{
	const struct params *p = ctx;

	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->name[i], name) == 0)
			return p->value[i];
	return NULL;
}

struct body {
	const char *p;
	size_t len, off, chunk;
};

static ssize_t body_read(void *ctx, char *buf, size_t len, int timeout_ms)
{
	struct body *b = ctx;
	size_t n = b->len - b->off;

	if (timeout_ms < 1)
		abort();   /* request.h promises a reader at least 1 ms */
	if (n > len)
		n = len;
	if (b->chunk && n > b->chunk)
		n = b->chunk;
	memcpy(buf, b->p + b->off, n);
	b->off += n;
	return (ssize_t)n;
}

/* A redirect target fmgate may send: a local path (never "//" or "/\"), or
 * an https URL of an allowed origin: www.example.com or *.example.org. */
static bool location_ok(const char *v)
{
	const char *host, *end;
	size_t hlen;

	if (v[0] == '/')
		return v[1] != '/' && v[1] != '\\';
	if (strncasecmp(v, "https://", 8) != 0)
		return false;
	host = v + 8;
	end = host + strcspn(host, "/?#");
	hlen = (size_t)(end - host);
	/* The default port may be written out. */
	if (hlen > 4 && strncmp(end - 4, ":443", 4) == 0) {
		end -= 4;
		hlen -= 4;
	}
	if (hlen == 15 && strncasecmp(host, "www.example.com", 15) == 0)
		return true;
	if (hlen <= 13 || strncasecmp(end - 12, ".example.org", 12) != 0 ||
	    host[0] == '.' || end[-13] == '.')
		return false;
	for (const char *c = host; c < end - 12; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '-' || *c == '.'))
			return false;
	return true;
}

/* Every '<' of an HTML answer opens one of the tags of fmgate's pages. */
static bool html_ok(const char *s, size_t len)
{
	static const char *const tags[] = {
		"<!DOCTYPE html>", "<html>", "</html>", "<head>", "</head>",
		"<meta charset=\"utf-8\">", "<title>", "</title>", "<body>", "</body>",
		"<h1>", "</h1>", "<ul>", "</ul>", "<li>", "</li>", "<p>", "</p>",
	};

	for (const char *p = memchr(s, '<', len); p; p = memchr(p + 1, '<', len - (size_t)(p + 1 - s))) {
		bool known = false;

		for (size_t i = 0; i < sizeof tags / sizeof tags[0] && !known; i++)
			known = (size_t)(s + len - p) >= strlen(tags[i]) &&
			        memcmp(p, tags[i], strlen(tags[i])) == 0;
		if (!known)
			return false;
	}
	return true;
}

static void check_answer(const struct response *res)
{
	struct buf out;
	const char *s, *end, *line;
	bool html = res->content_type && strncmp(res->content_type, "text/html", 9) == 0;

	buf_init(&out, RESP_MAX_BODY + 8192);
	FUZZ_CHECK(response_serialise(res, &out) == RESP_OK);
	s = buf_str(&out);
	end = strstr(s, "\r\n\r\n");
	FUZZ_CHECK(end != NULL && strncmp(s, "Status: ", 8) == 0);
	for (line = s; line <= end; ) {
		const char *eol = strstr(line, "\r\n");

		for (const char *c = line; c < eol; c++)
			FUZZ_CHECK(*c >= 0x20 && *c < 0x7f);
		FUZZ_CHECK(memchr(line, ':', (size_t)(eol - line)) != NULL);
		line = eol + 2;
	}
	for (size_t i = 0; i < res->n_headers; i++)
		if (strcmp(res->headers[i].name, "Location") == 0)
			FUZZ_CHECK(location_ok(res->headers[i].value));
	if (html)
		FUZZ_CHECK(html_ok(buf_str(&res->body), res->body.len));
	buf_free(&out);
}

/* fmgate's stderr for one input: one request record, printable lines. */
static void check_log(void)
{
	static char text[LOG_MAX + 1];
	ssize_t n = pread(logfd, text, LOG_MAX, 0);
	size_t records = 0;

	FUZZ_CHECK(n >= 0);
	text[n] = '\0';
	for (char *line = text, *eol; *line; line = eol + 1) {
		eol = strchr(line, '\n');
		FUZZ_CHECK(eol != NULL && strncmp(line, "fmgate[", 7) == 0);
		for (char *c = line; c < eol; c++)
			FUZZ_CHECK(*c >= 0x20 && *c < 0x7f);
		*eol = '\0';
		records += strstr(line, " outcome=") != NULL;
	}
	FUZZ_CHECK(records == 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum fm_outcome outcomes[] = {
		FM_DELIVERED, FM_RETRY, FM_REJECTED, FM_PAUSED, FM_CONFLICT, FM_INVALID,
		FM_DELIVERED, FM_DELIVERED,
	};
	struct params prm = { .n = 0 };
	struct body body = { "", 0, 0, 0 };
	struct request req;
	struct response res;
	char *block;
	size_t i = 1, plen;

	if (size < 1)
		return 0;
	next_outcome = outcomes[data[0] & 7];
	body.chunk = (size_t)(data[0] >> 4) * 61;
	/* The parameter block, NUL-terminated entries; a copy that ends in NUL. */
	block = malloc(size);
	if (!block)
		return 0;
	memcpy(block, data + 1, size - 1);
	block[size - 1] = '\0';
	plen = size - 1;
	while (i - 1 < plen && prm.n < MAX_PARAMS) {
		char *entry = block + (i - 1), *eq;
		size_t elen = strnlen(entry, plen - (i - 1));

		i += elen + 1;
		if (elen == 0)
			break;
		if (i - 1 > plen)
			break;    /* the last entry had no NUL: it is not an entry */
		eq = strchr(entry, '=');
		if (!eq)
			continue;
		*eq = '\0';
		prm.name[prm.n] = entry;
		prm.value[prm.n++] = eq + 1;
	}
	if (i - 1 <= plen) {
		body.p = (const char *)data + i;
		body.len = size - i;
	}
	if (logfd >= 0) {
		FUZZ_CHECK(ftruncate(logfd, 0) == 0);
		FUZZ_CHECK(lseek(logfd, 0, SEEK_SET) == 0);
		FUZZ_CHECK(dup2(logfd, STDERR_FILENO) == STDERR_FILENO);
	}
	response_init(&res);
	if (request_init(&req, param_get, &prm) == REQ_OK) {
		handler_handle(&apps[(data[0] >> 3) & 1], &req, body_read, &body, &res);
		check_answer(&res);
		if (logfd >= 0)
			check_log();
	}
	request_free(&req);
	response_free(&res);
	free(block);
	if (++runs % SPOOL_SWEEP == 0)
		nftw(spooldir, sweep_entry, 16, FTW_PHYS);
	return 0;
}
