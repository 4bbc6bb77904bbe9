/*
 * test_fm_note.c: a note on a contact (fm_note.h) with canned answers
 * (fm_canned.h): the request, its body whole, and the outcome. No network.
 */
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "fm_canned.h"
#include "fm_note.h"
#include "t.h"

#define NOTE "{\"note\":{\"id\":9001}}"

struct ncase {
	const char *name;
	const char *title, *text;
	struct canned answers[CANNED_MAX];
	const char *calls;
	enum fm_outcome want;
	const char *body;         /* the body sent, whole (NULL: not checked) */
};

static const struct ncase cases[] = {
	{"with a title", "Demo request", "Call me\nsoon", {ANS(201, NOTE)}, "POST /notes",
	 FM_DELIVERED, "{\"note\":{\"description\":\"Demo request\\n\\nCall me\\nsoon\","
	 "\"targetable_type\":\"Contact\",\"targetable_id\":5}}"},
	{"without a title", NULL, "Call me", {ANS(201, NOTE)}, "POST /notes", FM_DELIVERED,
	 "{\"note\":{\"description\":\"Call me\",\"targetable_type\":\"Contact\","
	 "\"targetable_id\":5}}"},
	{"an empty title", "", "Call me", {ANS(200, NOTE)}, "POST /notes", FM_DELIVERED,
	 "{\"note\":{\"description\":\"Call me\",\"targetable_type\":\"Contact\","
	 "\"targetable_id\":5}}"},
	{"no text: no call", "T", "", {{0}}, "", FM_REJECTED, NULL},
	{"the contact is gone", NULL, "x", {ANS(404, NULL)}, "POST /notes", FM_REJECTED, NULL},
	{"a 5xx retries", NULL, "x", {ANS(503, NULL)}, "POST /notes", FM_RETRY, NULL},
	{"a 429 retries", NULL, "x", {{429, NULL, 5}}, "POST /notes", FM_RETRY, NULL},
	{"a refused key pauses", NULL, "x", {ANS(401, NULL)}, "POST /notes", FM_PAUSED, NULL},
	{"no answer retries", NULL, "x", {{0}}, "POST /notes", FM_RETRY, NULL},
};

int main(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct ncase *k = &cases[i];
		struct rig g;
		struct fm_result r;

		rig_open(&g, k->answers, "", 3600);
		fm_result_start(&r);
		fm_note_add(&g.h, k->title, k->text, 5, (uint64_t)clock_mono_ms() + 3000, &r);
		T(r.outcome == k->want, "%s: %s (%s)", k->name, fm_outcome_name(r.outcome), r.message);
		T_STREQ(canned_calls(&g.s), k->calls, "%s: the requests", k->name);
		T(r.calls == g.s.n, "%s: %u calls counted", k->name, r.calls);
		if (k->body)
			T_STREQ(g.s.json[0], k->body, "%s: the body", k->name);
		rig_close(&g);
	}
	T_DONE();
}
