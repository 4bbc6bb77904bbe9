/*
 * fuzz_spool.c: spool_parse(), what spool_read() makes of a spool file's
 * bytes: drain reads files it did not write (a copied spool, an old
 * version's, one edited by hand).
 *
 * The input is the file's place, "queue/NAME" or "dead/NAME", on the first
 * line, then its bytes. A record that parses must be what spool.h promises:
 * its identify message carries the messageId and userId of its name; its
 * strings fit their buffers; counts and times within
 * the ranges read; at most SPOOL_MAX_HISTORY events; steps that steps.h
 * reads or refuses (and that read back the same once written). A waiting
 * record written again (spool_item_text, as a retry rewrites it) parses to
 * the same item.
 */
#include <string.h>

#include "spool.h"
#include "steps.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

/* NUL-terminated within its buffer. Not UTF-8 necessarily: a last error
 * or reason quotes the API's message, neither checked nor cut at a
 * character (deliver.c), so readers escape what they show. */
static void check_str(const char *s, size_t size)
{
	FUZZ_CHECK(strnlen(s, size) < size);
}

/* steps.h: the contact first and only first, known kinds and states, a
 * reason for each refused one; written back, the same steps. */
static void check_steps(const cJSON *json)
{
	struct steps s, again;
	cJSON *back;

	FUZZ_CHECK(!json || cJSON_IsArray(json));
	if (steps_from_json(json, &s) != STEPS_OK)
		return;
	FUZZ_CHECK(s.n >= 1 && s.n <= STEPS_MAX && s.n <= s.cap);
	for (size_t i = 0; i < s.n; i++) {
		FUZZ_CHECK((s.v[i].kind == STEP_CONTACT) == (i == 0));
		FUZZ_CHECK(s.v[i].kind <= STEP_NOTE && s.v[i].state <= STEP_REFUSED);
		FUZZ_CHECK(s.v[i].state != STEP_REFUSED || s.v[i].reason != NULL);
		FUZZ_CHECK(!s.v[i].reason || strlen(s.v[i].reason) < STEPS_MAX_REASON);
	}
	back = steps_to_json(&s);
	if (back) {
		FUZZ_CHECK(steps_from_json(back, &again) == STEPS_OK && again.n == s.n);
		for (size_t i = 0; i < s.n; i++)
			FUZZ_CHECK(again.v[i].kind == s.v[i].kind &&
			           again.v[i].state == s.v[i].state && again.v[i].id == s.v[i].id);
		steps_free(&again);
		cJSON_Delete(back);
	}
	steps_free(&s);
}

static void check_item(const struct spool_item *it, const struct spool_id *id)
{
	const cJSON *mid = cJSON_GetObjectItemCaseSensitive(it->identify, "messageId");
	struct spool_id of;

	FUZZ_CHECK(cJSON_IsObject(it->identify));
	FUZZ_CHECK(cJSON_IsString(mid) && strcmp(mid->valuestring, id->mid) == 0);
	FUZZ_CHECK(spool_id_of(it->identify, id->seq, id->dest, &of) == SPOOL_OK &&
	           of.uhash == id->uhash);
	check_str(it->form, sizeof it->form);
	FUZZ_CHECK(it->form[0] != '\0');
	check_str(it->st.last_error, sizeof it->st.last_error);
	check_str(it->reason, sizeof it->reason);
	FUZZ_CHECK(it->st.attempts <= 1000000000u);
	FUZZ_CHECK(it->st.next_attempt >= 0 && it->st.next_attempt <= 10000000000000LL);
	FUZZ_CHECK(it->requeued >= 0 && it->requeued <= 10000000000000LL);
	FUZZ_CHECK(it->n_history <= SPOOL_MAX_HISTORY);
	for (unsigned i = 0; i < it->n_history; i++) {
		check_str(it->history[i].time, sizeof it->history[i].time);
		check_str(it->history[i].reason, sizeof it->history[i].reason);
	}
	check_steps(it->steps);
}

/* The same text once printed (cJSON_Compare finds an object with a key
 * twice unequal to itself). */
static bool same_json(const cJSON *a, const cJSON *b)
{
	char *ta = cJSON_PrintUnformatted(a), *tb = cJSON_PrintUnformatted(b);
	bool same = !ta || !tb || strcmp(ta, tb) == 0;

	cJSON_free(ta);
	cJSON_free(tb);
	return same;
}

/* A waiting record as a retry writes it back reads as the same item. */
static void check_rewrite(const struct spool_item *it, const struct spool_id *id)
{
	struct spool_item again;
	enum spool_err e;
	const char *why;
	char *text = spool_item_text(it, &e);

	if (!text)
		return;
	FUZZ_CHECK(spool_parse(text, strlen(text), SPOOL_QUEUE, id, &again, &why) == SPOOL_OK);
	FUZZ_CHECK(strcmp(again.form, it->form) == 0);
	FUZZ_CHECK(again.st.attempts == it->st.attempts &&
	           again.st.next_attempt == it->st.next_attempt);
	FUZZ_CHECK(strcmp(again.st.last_error, it->st.last_error) == 0);
	FUZZ_CHECK(again.requeued == it->requeued && again.n_history == it->n_history);
	for (unsigned i = 0; i < it->n_history; i++)
		FUZZ_CHECK(strcmp(again.history[i].time, it->history[i].time) == 0 &&
		           strcmp(again.history[i].reason, it->history[i].reason) == 0);
	FUZZ_CHECK(same_json(again.identify, it->identify));
	FUZZ_CHECK(!again.steps == !it->steps && (!it->steps || same_json(again.steps, it->steps)));
	spool_item_free(&again);
	cJSON_free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nl = memchr(data, '\n', size), *why = NULL, *name;
	char line[SPOOL_NAME_SIZE + 8];
	enum spool_area area;
	struct spool_item it;
	struct spool_id id;
	size_t n;

	if (!nl || (n = (size_t)(nl - (const char *)data)) >= sizeof line)
		return 0;
	memcpy(line, data, n);
	line[n] = '\0';
	if (strncmp(line, "queue/", 6) == 0)
		area = SPOOL_QUEUE, name = line + 6;
	else if (strncmp(line, "dead/", 5) == 0)
		area = SPOOL_DEAD, name = line + 5;
	else
		return 0;
	if (!spool_id_parse(name, &id))
		return 0;
	n++;
	if (spool_parse((const char *)data + n, size - n, area, &id, &it, &why) != SPOOL_OK) {
		FUZZ_CHECK(why != NULL && it.identify == NULL && it.steps == NULL);
		return 0;
	}
	FUZZ_CHECK(why == NULL);
	check_item(&it, &id);
	if (area == SPOOL_QUEUE)
		check_rewrite(&it, &id);
	spool_item_free(&it);
	return 0;
}
