/*
 * fuzz_fmapi.c: what fmgate reads from Freshmarketer's answers, the three
 * parsers one harness (byte 0 modulo 3 chooses):
 *   0  the field list (GET /settings/contacts/fields): fm_fields_parse();
 *   1  an answer's status and body as a write and a read take them:
 *      fm_http_classify(), fm_http_read_ok() (the error envelope
 *      {"errors":{"code":N,"message":[...]}}), fm_http_answer_id();
 *   2  the rate-limit headers: fm_rl_header() on "Name: value" lines, then
 *      the budget kept from them: fm_state_rl_record(), fm_state_rl_reserve().
 * Input after byte 0: (0) the JSON; (1) two bytes of status (100..599), the
 * body; (2) a byte of status (429 when odd, else 200), a byte of Retry-After
 * (absent, 0, 1 h, the week's cap), the header lines.
 *
 * Promises checked (fm_fields.h, fm_http.h, fm_state.h): a field list within
 * its counts and lengths whose look-ups find its own fields; an outcome that
 * follows the status, a message bounded and non-empty for every refusal,
 * one printable line once log.c escapes it; ids and links within range;
 * header values within their ranges (a reset never past its window); a wait
 * the budget imposes never past the hour window, or the week Retry-After is
 * capped at.
 */
#include <string.h>
#include <time.h>

#include "fm_fields.h"
#include "fm_http.h"
#include "fm_state.h"
#include "log.h"
#include "fuzz.h"

#define NOW 1764720000 /* 2025-12-03 00:00 UTC: resets are read against a fixed clock */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static void fuzz_fields(const uint8_t *data, size_t size)
{
	struct fm_fields *f = NULL;
	size_t labels = 0;

	if (fm_fields_parse((const char *)data, size, NOW, &f) != FMF_OK) {
		FUZZ_CHECK(f == NULL);
		return;
	}
	FUZZ_CHECK(f && f->n <= FMF_MAX_FIELDS && f->fetched_at == NOW);
	for (size_t i = 0; i < f->n; i++) {
		const struct fmf_field *fd = &f->v[i], *same;

		FUZZ_CHECK(fd->name && fd->name[0] && strlen(fd->name) <= FMF_MAX_NAME);
		FUZZ_CHECK(fd->label && strlen(fd->label) <= FMF_MAX_NAME);
		FUZZ_CHECK(fd->type_name && strlen(fd->type_name) <= FMF_MAX_NAME);
		FUZZ_CHECK(fd->type <= FMF_OPAQUE && fd->max_length <= FMF_MAX_LENGTH);
		FUZZ_CHECK(fd->n_choices <= FMF_MAX_CHOICES);
		for (size_t j = 0; j < fd->n_choices; j++)
			FUZZ_CHECK(fd->choices[j].value &&
			           strlen(fd->choices[j].value) <= FMF_MAX_NAME);
		same = fm_fields_by_name(f, fd->name);
		FUZZ_CHECK(same && same <= fd && strcmp(same->name, fd->name) == 0);
		if (fd->type != FMF_GROUP && fd->label[0]) {
			same = fm_fields_by_label(f, fd->label);
			FUZZ_CHECK(same && same->type != FMF_GROUP &&
			           text_icmp(same->label, fd->label) == 0);
			labels++;
		}
	}
	FUZZ_CHECK(f->n_labels <= f->n && (labels == 0 || f->n_labels > 0));
	fm_fields_free(f);
}

/* A message: bounded, and one printable line as the log writes it. */
static void check_message(const struct fm_result *r)
{
	char line[2048];
	size_t n = strnlen(r->message, sizeof r->message);

	FUZZ_CHECK(n < sizeof r->message);
	log_format(line, sizeof line, LOG_WARN, r->message);
	n = strlen(line);
	FUZZ_CHECK(n > 0 && line[n - 1] == '\n');
	for (size_t i = 0; i + 1 < n; i++)
		FUZZ_CHECK(line[i] >= 0x20 && line[i] < 0x7f);
}

static void fuzz_answer(const uint8_t *data, size_t size)
{
	struct fm_http h;
	struct fm_result r;
	long status;
	char *body;

	if (size < 2 || !(body = malloc(size - 1)))
		return;
	status = 100 + (long)(((unsigned)data[0] << 8 | data[1]) % 500);
	/* As a transport hands it over: NUL-terminated. */
	memcpy(body, data + 2, size - 2);
	body[size - 2] = '\0';
	fm_http_init(&h, (struct fm_transport){ NULL, NULL }, NULL, "https://fm.test/api");
	h.ans.status = status;
	h.ans.body = body;
	h.ans.len = size - 2;

	fm_result_start(&r);
	fm_http_classify(&h, status, &r);
	check_message(&r);
	if (status >= 200 && status < 300) {
		FUZZ_CHECK(r.outcome == FM_DELIVERED && r.message[0] == '\0');
		FUZZ_CHECK(r.contact_id >= 0);
		FUZZ_CHECK(r.links.n >= -1 && r.links.n <= (int)FM_MAX_LINKS);
		for (int i = 0; i < r.links.n; i++)
			FUZZ_CHECK(r.links.v[i].id >= 1);
	} else {
		FUZZ_CHECK(r.message[0] != '\0');
		FUZZ_CHECK(r.outcome == (status == 429 || status >= 500 || status < 400 ? FM_RETRY :
		                         status == 401 || status == 403 ? FM_PAUSED : FM_REJECTED));
	}
	fm_result_start(&r);
	if (fm_http_read_ok(&h, status, &r)) {
		FUZZ_CHECK(status == 200);
	} else {
		FUZZ_CHECK(status != 200 && r.message[0] != '\0');
		FUZZ_CHECK(r.outcome == (status == 401 ? FM_PAUSED : FM_RETRY));
		check_message(&r);
	}
	FUZZ_CHECK(fm_http_answer_id(&h, "contact") >= 0);
	free(body);
}

static void check_count(long v)
{
	FUZZ_CHECK(v >= -1 && v <= 1000000000000L);
}

static void fuzz_headers(const uint8_t *data, size_t size)
{
	static const long retry[4] = { -1, 0, 3600, FM_RETRY_AFTER_MAX };
	struct fm_ratelimit rl = { -1, -1, -1, -1, -1, -1 };
	struct fm_state *st;
	char buf[512];
	long status, ra, wait;
	const char *p, *end;

	if (size < 2)
		return;
	status = data[0] & 1 ? 429 : 200;
	ra = retry[data[1] & 3];
	p = (const char *)data + 2;
	end = (const char *)data + size;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		char *colon;

		if (n < sizeof buf) {
			memcpy(buf, p, n);
			buf[n] = '\0';
			if ((colon = strchr(buf, ':'))) {
				*colon = '\0';
				fm_rl_header(&rl, buf, text_trim(colon + 1), NOW);
			}
		}
		p += n + 1;
	}
	check_count(rl.hour_limit);
	check_count(rl.hour_remaining);
	check_count(rl.minute_limit);
	check_count(rl.minute_remaining);
	FUZZ_CHECK(rl.hour_reset >= -1 && rl.hour_reset <= FM_RL_HOUR_S);
	FUZZ_CHECK(rl.minute_reset >= -1 && rl.minute_reset <= FM_RL_MINUTE_S);
	/* A state in memory (no spool): the budget of this one answer. */
	if (!(st = fm_state_open(NULL, "https://fm.test/api", "k", false)))
		return;
	fm_state_rl_record(st, &rl, status, ra);
	wait = fm_state_rl_reserve(st);
	FUZZ_CHECK(wait >= 0);
	FUZZ_CHECK(wait <= (status == 429 && ra > FM_RL_HOUR_S ? ra : FM_RL_HOUR_S) * 1000L);
	fm_state_close(st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0: fuzz_fields(data + 1, size - 1); break;
	case 1: fuzz_answer(data + 1, size - 1); break;
	default: fuzz_headers(data + 1, size - 1); break;
	}
	return 0;
}
