/*
 * test_fm_identity.c: every branch of the identity rule (fm_identity.h) with
 * canned answers (fm_canned.h): the outcome, and the exact requests made, in
 * order. No network.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "clock.h"
#include "fm_canned.h"
#include "fm_fieldcache.h"
#include "fm_identity.h"
#include "fm_state.h"
#include "t.h"

/* The message's userId and email; the rows and contacts below are about them. */
#define UID   "u-1"
#define EMAIL "ann@example.com"

#define LOOKUP_UID   "GET /lookup?q=u-1&f=external_id&entities=contact"
#define LOOKUP_EMAIL "GET /lookup?q=ann%40example.com&f=email&entities=contact"
#define UPSERT       "POST /contacts/upsert"
#define FIELDS       "GET /settings/contacts/fields"

#define WRITTEN  "{\"contact\":{\"id\":5}}"
#define LINKED   "{\"contact\":{\"id\":5,\"sales_accounts\":[{\"id\":44,\"is_primary\":true}]}}"
#define NO_ROWS  "{\"contacts\":{\"contacts\":[]}}"
#define ROW(x)   "{\"contacts\":{\"contacts\":[" x "]}}"
/* the contact with our userId: with our email, another, or (a partial row) none */
#define UID_ROW_OURS  ROW("{\"id\":9,\"external_id\":\"u-1\",\"email\":\"ann@example.com\"}")
#define UID_ROW_OTHER ROW("{\"id\":9,\"external_id\":\"u-1\",\"email\":\"eve@example.com\"}")
#define UID_ROW_BARE  ROW("{\"id\":9,\"external_id\":\"u-1\"}")
#define C9_OTHER "{\"contact\":{\"id\":9,\"external_id\":\"u-1\",\"email\":\"eve@example.com\"}}"
/* the contact with our email, and read whole: without external id, another's, ours */
#define EMAIL_ROW     ROW("{\"id\":7,\"emails\":[{\"value\":\"Ann@Example.com\"}]}")
#define C7_NO_EXT "{\"contact\":{\"id\":7,\"email\":\"ann@example.com\",\"external_id\":null}}"
#define C7_OTHER  "{\"contact\":{\"id\":7,\"email\":\"ann@example.com\",\"external_id\":\"x-9\"}}"
#define C7_OURS   "{\"contact\":{\"id\":7,\"email\":\"ann@example.com\",\"external_id\":\"u-1\"}}"
/* a refusal that names no field of the body (the email is blanked first) */
#define DUP      "{\"errors\":{\"message\":[\"ann@example.com\",\"already exists\"]}}"
#define BAD_KEY  "{\"errors\":{\"message\":\"Incorrect or missing API key\"}}"
#define REGION_BAD(f) "{\"errors\":{\"message\":\"Unknown custom field: " f "\"}}"
/* the field list before and after the admin renamed Region's field */
#define LIST(f)  "{\"fields\":[{\"name\":\"first_name\",\"label\":\"First name\"," \
                 "\"type\":\"text\"},{\"name\":\"" f "\",\"label\":\"Region\",\"type\":\"text\"}]}"

struct idcase {
	const char *name;
	const char *source;      /* where the userId came from: only "signed" is trusted */
	bool emails_mode;        /* the account already refuses external_id as the key */
	const char *traits;      /* more traits ("" for none) */
	const char *fields;      /* this process's field list (NULL: none) */
	struct canned answers[CANNED_MAX];
	const char *calls;       /* the requests, in order */
	enum fm_outcome want;
	long status;             /* the last status */
	bool emails_after;       /* the mode after the delivery */
	const char *last_body;   /* a part of the last body sent (NULL: not checked) */
};

static const struct idcase cases[] = {
	{"trusted: one upsert", "signed", false, "", NULL,
	 {ANS(201, WRITTEN)}, UPSERT, FM_DELIVERED, 201, false, "\"unique_identifier\""},
	{"untrusted, new userId: lookup, then the upsert", "cookie", false, "", NULL,
	 {ANS(200, NO_ROWS), ANS(201, WRITTEN)}, LOOKUP_UID "; " UPSERT, FM_DELIVERED, 201, false,
	 NULL},
	{"untrusted, its contact has our email: lookup, then the upsert", "cookie", false, "", NULL,
	 {ANS(200, UID_ROW_OURS), ANS(200, WRITTEN)}, LOOKUP_UID "; " UPSERT, FM_DELIVERED, 200,
	 false, NULL},
	{"untrusted, its contact has another email: conflict, no write", "field", false, "", NULL,
	 {ANS(200, UID_ROW_OTHER)}, LOOKUP_UID, FM_CONFLICT, 200, false, NULL},
	{"untrusted, a row without email: read whole, then conflict", "email", false, "", NULL,
	 {ANS(200, UID_ROW_BARE), ANS(200, C9_OTHER)}, LOOKUP_UID "; GET /contacts/9", FM_CONFLICT,
	 200, false, NULL},
	{"adoption: lookup, read, PUT by id", "signed", false, "", NULL,
	 {ANS(400, DUP), ANS(200, EMAIL_ROW), ANS(200, C7_NO_EXT), ANS(200, WRITTEN)},
	 UPSERT "; " LOOKUP_EMAIL "; GET /contacts/7; PUT /contacts/7", FM_DELIVERED, 200, false,
	 "\"external_id\":\"u-1\""},
	{"the email is another external id's: conflict, no write", "signed", false, "", NULL,
	 {ANS(400, DUP), ANS(200, EMAIL_ROW), ANS(200, C7_OTHER)},
	 UPSERT "; " LOOKUP_EMAIL "; GET /contacts/7", FM_CONFLICT, 200, false, NULL},
	{"adoption refused: the userId is another contact's", "signed", false, "", NULL,
	 {ANS(400, DUP), ANS(200, EMAIL_ROW), ANS(200, C7_NO_EXT), ANS(400, DUP)},
	 UPSERT "; " LOOKUP_EMAIL "; GET /contacts/7; PUT /contacts/7", FM_CONFLICT, 400, false,
	 NULL},
	{"the email's contact is ours: the key is refused, emails mode", "signed", false, "", NULL,
	 {ANS(400, DUP), ANS(200, EMAIL_ROW), ANS(200, C7_OURS), ANS(200, WRITTEN)},
	 UPSERT "; " LOOKUP_EMAIL "; GET /contacts/7; PUT /contacts/7", FM_DELIVERED, 200, true,
	 NULL},
	{"nobody has the email: created, emails mode", "signed", false, "", NULL,
	 {ANS(400, DUP), ANS(200, NO_ROWS), ANS(200, NO_ROWS), ANS(201, WRITTEN)},
	 UPSERT "; " LOOKUP_EMAIL "; " LOOKUP_UID "; POST /contacts", FM_DELIVERED, 201, true,
	 "{\"contact\":"},
	{"nobody has the email, the userId's contact is updated by id", "signed", false, "", NULL,
	 {ANS(400, DUP), ANS(200, NO_ROWS), ANS(200, UID_ROW_OURS), ANS(200, WRITTEN)},
	 UPSERT "; " LOOKUP_EMAIL "; " LOOKUP_UID "; PUT /contacts/9", FM_DELIVERED, 200, true,
	 NULL},
	{"the create refused too: the submission's own", "signed", false, "", NULL,
	 {ANS(400, DUP), ANS(200, NO_ROWS), ANS(200, NO_ROWS), ANS(400, DUP)},
	 UPSERT "; " LOOKUP_EMAIL "; " LOOKUP_UID "; POST /contacts", FM_REJECTED, 400, false,
	 NULL},
	{"untrusted, upsert refused: the userId is not looked up twice", "cookie", false, "", NULL,
	 {ANS(200, NO_ROWS), ANS(400, DUP), ANS(200, NO_ROWS), ANS(201, WRITTEN)},
	 LOOKUP_UID "; " UPSERT "; " LOOKUP_EMAIL "; POST /contacts", FM_DELIVERED, 201, true,
	 NULL},
	{"a 400 naming a field: one refresh, one resend", "signed", false,
	 "\"Region\":\"North\"", LIST("cf_region"),
	 {ANS(400, REGION_BAD("cf_region")), ANS(200, LIST("cf_area")), ANS(200, WRITTEN)},
	 UPSERT "; " FIELDS "; " UPSERT, FM_DELIVERED, 200, false, "\"cf_area\":\"North\""},
	{"a 400 naming a field, the same body after the refresh: refused", "signed", false,
	 "\"Region\":\"North\"", LIST("cf_region"),
	 {ANS(400, REGION_BAD("cf_region")), ANS(200, LIST("cf_region"))},
	 UPSERT "; " FIELDS, FM_REJECTED, 400, false, NULL},
	{"the resend refused naming a field again: refused", "signed", false,
	 "\"Region\":\"North\"", LIST("cf_region"),
	 {ANS(400, REGION_BAD("cf_region")), ANS(200, LIST("cf_area")),
	  ANS(400, REGION_BAD("cf_area"))},
	 UPSERT "; " FIELDS "; " UPSERT, FM_REJECTED, 400, false, NULL},
	{"the refresh fails: the refusal is not resent", "signed", false,
	 "\"Region\":\"North\"", LIST("cf_region"),
	 {ANS(400, REGION_BAD("cf_region")), ANS(503, NULL)},
	 UPSERT "; " FIELDS, FM_RETRY, 503, false, NULL},
	{"a second write naming a field: the list is not fetched twice", "signed", false,
	 "\"Region\":\"North\"", LIST("cf_region"),
	 {ANS(400, REGION_BAD("cf_region")), ANS(200, LIST("cf_area")), ANS(400, DUP),
	  ANS(200, EMAIL_ROW), ANS(200, C7_NO_EXT), ANS(400, REGION_BAD("cf_area"))},
	 UPSERT "; " FIELDS "; " UPSERT "; " LOOKUP_EMAIL "; GET /contacts/7; PUT /contacts/7",
	 FM_REJECTED, 400, false, "\"cf_area\":\"North\""},
	{"emails mode: found by userId, updated by id", "signed", true, "", NULL,
	 {ANS(200, UID_ROW_OURS), ANS(200, WRITTEN)}, LOOKUP_UID "; PUT /contacts/9", FM_DELIVERED,
	 200, true, NULL},
	{"emails mode: nobody has either, created", "signed", true, "", NULL,
	 {ANS(200, NO_ROWS), ANS(200, NO_ROWS), ANS(201, WRITTEN)},
	 LOOKUP_UID "; " LOOKUP_EMAIL "; POST /contacts", FM_DELIVERED, 201, true, NULL},
	{"emails mode: adoption", "signed", true, "", NULL,
	 {ANS(200, NO_ROWS), ANS(200, EMAIL_ROW), ANS(200, C7_NO_EXT), ANS(200, WRITTEN)},
	 LOOKUP_UID "; " LOOKUP_EMAIL "; GET /contacts/7; PUT /contacts/7", FM_DELIVERED, 200, true,
	 NULL},
	{"emails mode: a new email that is another contact's: conflict", "signed", true, "", NULL,
	 {ANS(200, UID_ROW_OTHER), ANS(400, DUP), ANS(200, EMAIL_ROW), ANS(200, C7_OTHER)},
	 LOOKUP_UID "; PUT /contacts/9; " LOOKUP_EMAIL "; GET /contacts/7", FM_CONFLICT, 200, true,
	 NULL},
	{"emails mode: an untrusted userId changes no email", "cookie", true, "", NULL,
	 {ANS(200, UID_ROW_OTHER)}, LOOKUP_UID, FM_CONFLICT, 200, true, NULL},
	{"a read answered 401 pauses", "cookie", false, "", NULL,
	 {ANS(401, BAD_KEY)}, LOOKUP_UID, FM_PAUSED, 401, false, NULL},
	{"a read answered 403 retries this submission", "cookie", false, "", NULL,
	 {ANS(403, NULL)}, LOOKUP_UID, FM_RETRY, 403, false, NULL},
	{"reading a contact answered 403 retries", "signed", false, "", NULL,
	 {ANS(400, DUP), ANS(200, EMAIL_ROW), ANS(403, NULL)},
	 UPSERT "; " LOOKUP_EMAIL "; GET /contacts/7", FM_RETRY, 403, false, NULL},
	{"a write answered 401 pauses", "signed", false, "", NULL,
	 {ANS(401, BAD_KEY)}, UPSERT, FM_PAUSED, 401, false, NULL},
	{"a write answered 403 pauses", "signed", false, "", NULL,
	 {ANS(403, NULL)}, UPSERT, FM_PAUSED, 403, false, NULL},
	{"a 5xx retries", "signed", false, "", NULL,
	 {ANS(502, NULL)}, UPSERT, FM_RETRY, 502, false, NULL},
	{"another 4xx is final", "signed", false, "", NULL,
	 {ANS(404, NULL)}, UPSERT, FM_REJECTED, 404, false, NULL},
	{"no answer retries", "signed", false, "", NULL,
	 {{0, NULL, RA_NONE}}, UPSERT, FM_RETRY, 0, false, NULL},
};

static const struct map_form form = {.id = "contact"};

/* The submission of UID and EMAIL from `source` with more traits. */
static void identify(const char *source, const char *traits, struct submission *out)
{
	char buf[1024];

	snprintf(buf, sizeof buf, "{\"type\":\"identify\",\"userId\":\"" UID "\",\"traits\":"
	         "{\"email\":\"" EMAIL "\"%s%s},\"context\":{\"fmgate\":{\"userIdSource\":\"%s\"}}}",
	         *traits ? "," : "", traits, source);
	canned_submission(buf, &form, out);
}

static void run(const struct idcase *k)
{
	struct rig g;
	struct fm_result r;
	struct submission m;

	identify(k->source, k->traits, &m);
	rig_open(&g, k->answers, "", 3600);
	if (k->fields && fm_fields_parse(k->fields, strlen(k->fields), time(NULL), &g.fc.fields))
		T(0, "%s: bad test list", k->name);
	if (k->emails_mode)
		fm_state_key_mode_emails(g.st, "set by the test");
	fm_result_start(&r);
	fm_identity_deliver(&g.fc, &m, &form, (uint64_t)clock_mono_ms() + 3000, false, &r);
	T(r.outcome == k->want, "%s: %s (%s)", k->name, fm_outcome_name(r.outcome), r.message);
	T_STREQ(canned_calls(&g.s), k->calls, "%s: the requests", k->name);
	T(r.calls == g.s.n, "%s: %u calls counted, %zu made", k->name, r.calls, g.s.n);
	T(r.http_status == k->status, "%s: status %ld", k->name, r.http_status);
	T((fm_state_key_mode(g.st) == FM_KEY_MODE_EMAILS) == k->emails_after, "%s: the key mode",
	  k->name);
	if (k->last_body)
		T(g.s.n && strstr(g.s.json[g.s.n - 1], k->last_body), "%s: last body %s", k->name,
		  g.s.n ? g.s.json[g.s.n - 1] : "(none)");
	if (r.outcome == FM_DELIVERED)
		T(r.contact_id == 5, "%s: the contact id from the answer", k->name);
	submission_free(&m);
	rig_close(&g);
}

/* A 429's Retry-After is the result's, and holds the next call back. */
static void test_429(void)
{
	static const struct canned answers[CANNED_MAX] = {
		{429, "{\"errors\":{\"message\":\"slow down\"}}", 7},
	};
	struct rig g;
	struct fm_result r;
	struct submission m;

	identify("signed", "", &m);
	rig_open(&g, answers, "", 3600);
	fm_result_start(&r);
	fm_identity_deliver(&g.fc, &m, &form, (uint64_t)clock_mono_ms() + 3000, false, &r);
	T(r.outcome == FM_RETRY && r.http_status == 429 && r.retry_after_s == 7,
	  "429: retry after 7 s: %s %ld %ld", fm_outcome_name(r.outcome), r.http_status,
	  r.retry_after_s);
	T_STREQ(r.message, "slow down", "429: the API's message");
	fm_result_start(&r);
	fm_identity_deliver(&g.fc, &m, &form, (uint64_t)clock_mono_ms() + 3000, false, &r);
	T(r.outcome == FM_RETRY && r.calls == 0 && r.retry_after_s > 5 && r.retry_after_s <= 7,
	  "then no call until it has passed: %u calls, %ld s", r.calls, r.retry_after_s);
	T_STREQ(canned_calls(&g.s), UPSERT, "one request in all");
	submission_free(&m);
	rig_close(&g);
}

/* No budget left: no request at all. */
static void test_no_budget(void)
{
	static const struct canned answers[CANNED_MAX] = {ANS(201, WRITTEN)};
	struct rig g;
	struct fm_result r;
	struct submission m;

	identify("signed", "", &m);
	rig_open(&g, answers, "", 3600);
	fm_result_start(&r);
	fm_identity_deliver(&g.fc, &m, &form, (uint64_t)clock_mono_ms(), false, &r);
	T(r.outcome == FM_RETRY && r.calls == 0 && g.s.n == 0, "budget used up: %s %u",
	  fm_outcome_name(r.outcome), r.calls);
	submission_free(&m);
	rig_close(&g);
}

/* Asked for the links, every contact write carries ?include=sales_accounts
 * (reads do not), and the result holds the links the answer gave. */
static void test_want_links(void)
{
	static const struct {
		const char *name;
		struct canned answers[CANNED_MAX];
		const char *calls;
	} wl[] = {
		{"the upsert", {ANS(201, LINKED)}, UPSERT "?include=sales_accounts"},
		{"an adoption", {ANS(400, DUP), ANS(200, EMAIL_ROW), ANS(200, C7_NO_EXT), ANS(200, LINKED)},
		 UPSERT "?include=sales_accounts; " LOOKUP_EMAIL "; GET /contacts/7; "
		 "PUT /contacts/7?include=sales_accounts"},
		{"a create", {ANS(400, DUP), ANS(200, NO_ROWS), ANS(200, NO_ROWS), ANS(201, LINKED)},
		 UPSERT "?include=sales_accounts; " LOOKUP_EMAIL "; " LOOKUP_UID "; "
		 "POST /contacts?include=sales_accounts"},
	};
	struct rig g;
	struct fm_result r;
	struct submission m;

	identify("signed", "", &m);
	for (size_t i = 0; i < sizeof wl / sizeof wl[0]; i++) {
		rig_open(&g, wl[i].answers, "", 3600);
		fm_result_start(&r);
		fm_identity_deliver(&g.fc, &m, &form, (uint64_t)clock_mono_ms() + 3000, true, &r);
		T(r.outcome == FM_DELIVERED, "links, %s: %s (%s)", wl[i].name,
		  fm_outcome_name(r.outcome), r.message);
		T_STREQ(canned_calls(&g.s), wl[i].calls, "links, %s: the requests", wl[i].name);
		T(r.links.n == 1 && r.links.v[0].id == 44 && r.links.v[0].primary,
		  "links, %s: the contact's links from the answer (%d)", wl[i].name, r.links.n);
		rig_close(&g);
	}
	submission_free(&m);
}

int main(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		run(&cases[i]);
	test_429();
	test_no_budget();
	test_want_links();
	T_DONE();
}
