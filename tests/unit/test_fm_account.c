/*
 * test_fm_account.c: the account step (fm_account.h) with canned answers
 * (fm_canned.h): the outcome, the account's id, the exact requests in order
 * and the bodies that matter. No network.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "fm_account.h"
#include "fm_canned.h"
#include "t.h"

#define UPSERT   "POST /sales_accounts/upsert"
#define READ     "GET /contacts/5?include=sales_accounts"
#define LINK     "PUT /contacts/5?include=sales_accounts"

#define ACCOUNT  "{\"sales_account\":{\"id\":77,\"name\":\"Acme\"}}"
#define CONTACT(links) "{\"contact\":{\"id\":5,\"sales_accounts\":[" links "]}}"
#define BARE     "{\"contact\":{\"id\":5}}"
#define L3P      "{\"id\":3,\"is_primary\":true}"
#define L77      "{\"id\":77,\"is_primary\":false}"
#define ERR(m)   "{\"errors\":{\"message\":\"" m "\"}}"

/* The links a case gives the step: unknown, none, one (3, primary), one
 * that is the account's, or FM_MAX_LINKS of them. */
enum given { UNKNOWN, NONE, ONE, LINKED, FULL };

struct acase {
	const char *name;
	long long account_in;     /* the step's account id before */
	enum given links;
	struct canned answers[CANNED_MAX];
	const char *calls;
	enum fm_outcome want;
	long long account_out;
	const char *body0;        /* the first request's body, whole (NULL: not checked) */
	const char *last_body;    /* the last request's body, whole (NULL: not checked) */
};

#define UPSERT_BODY "{\"unique_identifier\":{\"name\":\"Acme\"},\"sales_account\":{\"name\":\"Acme\"}}"
#define FIRST_LINK  "{\"contact\":{\"sales_accounts\":[{\"id\":77,\"is_primary\":true}]}}"
#define KEPT_LINK   "{\"contact\":{\"sales_accounts\":[{\"id\":3,\"is_primary\":true}," \
                    "{\"id\":77,\"is_primary\":false}]}}"

static const struct acase cases[] = {
	{"new account, the contact has no link: primary", 0, NONE,
	 {ANS(200, ACCOUNT), ANS(200, BARE)}, UPSERT "; " LINK, FM_DELIVERED, 77, UPSERT_BODY,
	 FIRST_LINK},
	{"known account, one link kept: not primary", 77, ONE,
	 {ANS(200, BARE)}, LINK, FM_DELIVERED, 77, KEPT_LINK, KEPT_LINK},
	{"already linked: no write", 77, LINKED, {{0}}, "", FM_DELIVERED, 77, NULL, NULL},
	{"links unknown: read first, then linked keeping the old one", 0, UNKNOWN,
	 {ANS(201, ACCOUNT), ANS(200, CONTACT(L3P)), ANS(200, BARE)}, UPSERT "; " READ "; " LINK,
	 FM_DELIVERED, 77, NULL, KEPT_LINK},
	{"links unknown, the read without them: refused, nothing unlinked", 77, UNKNOWN,
	 {ANS(200, BARE)}, READ, FM_REJECTED, 77, NULL, NULL},
	{"links unknown, an empty list: primary", 77, UNKNOWN,
	 {ANS(200, CONTACT("")), ANS(200, BARE)}, READ "; " LINK, FM_DELIVERED, 77, NULL,
	 FIRST_LINK},
	{"links unknown, already linked: no write", 77, UNKNOWN,
	 {ANS(200, CONTACT(L3P "," L77))}, READ, FM_DELIVERED, 77, NULL, NULL},
	{"too many links: refused, no write", 77, FULL, {{0}}, "", FM_REJECTED, 77, NULL, NULL},
	{"the upsert refused", 0, NONE, {ANS(400, ERR("Invalid value for name"))}, UPSERT,
	 FM_REJECTED, 0, NULL, NULL},
	{"the upsert fails: retry", 0, NONE, {ANS(503, NULL)}, UPSERT, FM_RETRY, 0, NULL, NULL},
	{"the upsert with a refused key: paused", 0, NONE, {ANS(401, ERR("bad key"))}, UPSERT,
	 FM_PAUSED, 0, NULL, NULL},
	{"the upsert answers no id: retry", 0, NONE, {ANS(200, "{\"sales_account\":{}}")}, UPSERT,
	 FM_RETRY, 0, NULL, NULL},
	{"the link fails: the account id stays for the retry", 0, NONE,
	 {ANS(200, ACCOUNT), ANS(502, NULL)}, UPSERT "; " LINK, FM_RETRY, 77, NULL, NULL},
	{"the link with a refused key: paused", 77, NONE, {ANS(403, NULL)}, LINK, FM_PAUSED, 77,
	 NULL, NULL},
	{"the contact is gone when linked: refused", 77, NONE, {ANS(404, NULL)}, LINK, FM_REJECTED,
	 77, NULL, NULL},
	{"the contact is gone when read: refused", 77, UNKNOWN, {ANS(404, NULL)}, READ,
	 FM_REJECTED, 77, NULL, NULL},
	{"the read with a refused key: paused", 77, UNKNOWN, {ANS(401, ERR("bad key"))}, READ,
	 FM_PAUSED, 77, NULL, NULL},
	{"the read answered 403: retry", 77, UNKNOWN, {ANS(403, NULL)}, READ, FM_RETRY, 77, NULL,
	 NULL},
	{"the read answers no contact: retry", 77, UNKNOWN, {ANS(200, "{}")}, READ, FM_RETRY, 77,
	 NULL, NULL},
	{"the read shows a link without id: retry", 77, UNKNOWN,
	 {ANS(200, CONTACT("{\"is_primary\":true}"))}, READ, FM_RETRY, 77, NULL, NULL},
	{"no answer: retry", 0, NONE, {{0}}, UPSERT, FM_RETRY, 0, NULL, NULL},
};

static void links_of(enum given g, struct fm_links *l)
{
	l->n = g == UNKNOWN ? -1 : g == NONE ? 0 : g == FULL ? (int)FM_MAX_LINKS : 1;
	for (int i = 0; i < l->n; i++)
		l->v[i] = (struct fm_link){g == LINKED ? 77 : 3 + i, i == 0};
}

static void run(const struct acase *k)
{
	struct rig g;
	struct fm_result r;
	struct fm_links links;
	long long account = k->account_in;

	links_of(k->links, &links);
	rig_open(&g, k->answers, "", 3600);
	fm_result_start(&r);
	fm_account_step(&g.h, "Acme", 5, &links, &account, (uint64_t)clock_mono_ms() + 3000, &r);
	T(r.outcome == k->want, "%s: %s (%s)", k->name, fm_outcome_name(r.outcome), r.message);
	T_STREQ(canned_calls(&g.s), k->calls, "%s: the requests", k->name);
	T(r.calls == g.s.n, "%s: %u calls counted, %zu made", k->name, r.calls, g.s.n);
	T(account == k->account_out, "%s: account %lld", k->name, account);
	if (k->body0)
		T_STREQ(g.s.json[0], k->body0, "%s: the first body", k->name);
	if (k->last_body)
		T_STREQ(g.s.n ? g.s.json[g.s.n - 1] : "", k->last_body, "%s: the last body", k->name);
	rig_close(&g);
}

/* More links than are kept, read from the contact: refused as too many. */
static void test_too_many_read(void)
{
	static char body[8192];
	struct canned answers[CANNED_MAX] = {ANS(200, body)};
	size_t o = (size_t)snprintf(body, sizeof body, "{\"contact\":{\"id\":5,\"sales_accounts\":[");
	struct rig g;
	struct fm_result r;
	long long account = 77;

	for (unsigned i = 0; i <= FM_MAX_LINKS; i++)
		o += (size_t)snprintf(body + o, sizeof body - o, "%s{\"id\":%u,\"is_primary\":false}",
		                      i ? "," : "", 1000 + i);
	snprintf(body + o, sizeof body - o, "]}}");
	rig_open(&g, answers, "", 3600);
	fm_result_start(&r);
	fm_account_step(&g.h, "Acme", 5, NULL, &account, (uint64_t)clock_mono_ms() + 3000, &r);
	T(r.outcome == FM_REJECTED && strstr(r.message, "too many"), "%u links read: %s (%s)",
	  FM_MAX_LINKS + 1, fm_outcome_name(r.outcome), r.message);
	T_STREQ(canned_calls(&g.s), READ, "%u links read: no write", FM_MAX_LINKS + 1);
	rig_close(&g);
}

/* Links given as those of a result the calls overwrite (the caller's own
 * result): the step used its copy, and kept the old link. */
static void test_links_in_out(void)
{
	static const struct canned answers[CANNED_MAX] = {ANS(200, ACCOUNT), ANS(200, BARE)};
	struct rig g;
	struct fm_result r;
	long long account = 0;

	rig_open(&g, answers, "", 3600);
	fm_result_start(&r);
	links_of(ONE, &r.links);
	fm_account_step(&g.h, "Acme", 5, &r.links, &account, (uint64_t)clock_mono_ms() + 3000, &r);
	T(r.outcome == FM_DELIVERED, "links in the result: %s", fm_outcome_name(r.outcome));
	T_STREQ(g.s.json[g.s.n ? g.s.n - 1 : 0], KEPT_LINK, "links in the result: kept");
	rig_close(&g);
}

int main(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		run(&cases[i]);
	test_too_many_read();
	test_links_in_out();
	T_DONE();
}
