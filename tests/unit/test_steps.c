/* test_steps: a submission's steps as planned from a form, their JSON in the
 * spool record read back, the refusals of records that are not steps, and a
 * requeue's revival. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "steps.h"
#include "submission.h"
#include "t.h"

static char sum[512];

static const char *summary(const struct steps *s)
{
	steps_summary(s, sum, sizeof sum);
	return sum;
}

/* A form with a company, a message, an opt-in box and three lists. */
static struct map_field fields[] = {
	{ .name = "company", .trait = "company.name" },
	{ .name = "message", .trait = "message" },
	{ .name = "optin", .trait = "optin", .type = MAP_BOOLEAN },
	{ .name = "size", .trait = "size", .type = MAP_NUMBER },
};
static struct map_list lists[] = {
	{ .name = "Webinar December" },
	{ .name = "Newsletter", .if_field = &fields[2] },
	{ .name = "Archive", .create = true },
};
static struct map_form form = {
	.id = "webinar", .fields = fields, .n_fields = 4,
	.account_field = &fields[0], .lists = lists, .n_lists = 3,
	.note_field = &fields[1], .note_title = "Demo request",
};

static void add(struct submission *s, struct map_field *f, cJSON *v)
{
	T(submission_add_trait(s, f->trait, f, NULL, v, 4) == SUB_OK, "add %s", f->trait);
}

static void test_plan(void)
{
	struct submission s;

	submission_init(&s);
	add(&s, &fields[0], cJSON_CreateString("Acme"));
	add(&s, &fields[1], cJSON_CreateString("Call me"));
	add(&s, &fields[2], cJSON_CreateTrue());
	T(submission_plan(&s, &form) == SUB_OK, "plan");
	T_STREQ(summary(&s.steps), "contact:pending,account:pending,list:pending,list:pending,"
	        "list:pending,note:pending", "every step, in order");
	T_STREQ(s.steps.v[1].name, "Acme", "the company");
	T_STREQ(s.steps.v[2].name, "Webinar December", "lists in mapping order");
	T_STREQ(s.steps.v[3].name, "Newsletter", "the checked if-field's list");
	T(s.steps.v[4].create && !s.steps.v[2].create, "create kept");
	T_STREQ(s.steps.v[5].name, "Demo request", "the note's title");
	T_STREQ(s.steps.v[5].text, "Call me", "the note's text");
	submission_free(&s);

	/* No company, a blank message, the box unchecked: the contact and the
	 * lists without an if-field only. */
	submission_init(&s);
	add(&s, &fields[1], cJSON_CreateString(" \t\r\n "));
	add(&s, &fields[2], cJSON_CreateFalse());
	T(submission_plan(&s, &form) == SUB_OK, "plan");
	T_STREQ(summary(&s.steps), "contact:pending,list:pending,list:pending", "skipped");
	T_STREQ(s.steps.v[1].name, "Webinar December", "first list");
	T_STREQ(s.steps.v[2].name, "Archive", "the unconditional one");
	/* Planned again (another form): the old steps go. */
	T(submission_plan(&s, &(struct map_form){ .id = "x" }) == SUB_OK, "replan");
	T_STREQ(summary(&s.steps), "contact:pending", "the contact alone");
	submission_free(&s);

	/* A number as the company is printed; a list of values is no name. */
	submission_init(&s);
	form.account_field = &fields[3];
	add(&s, &fields[3], cJSON_CreateNumber(42));
	T(submission_plan(&s, &form) == SUB_OK, "plan");
	T(s.steps.n >= 2 && strcmp(s.steps.v[1].name, "42") == 0, "a number printed");
	form.account_field = &fields[0];
	submission_free(&s);
}

static void test_json(void)
{
	struct steps s, back;
	cJSON *j;
	char *text;

	steps_init(&s);
	T(steps_add(&s, STEP_CONTACT, NULL, NULL, false) == STEPS_OK &&
	  steps_add(&s, STEP_ACCOUNT, "Acme", NULL, false) == STEPS_OK &&
	  steps_add(&s, STEP_LIST, "Webinar", NULL, true) == STEPS_OK &&
	  steps_add(&s, STEP_NOTE, NULL, "Hello \"there\"", false) == STEPS_OK, "added");
	s.v[0].state = STEP_DONE;
	s.v[0].id = 4242;
	s.v[1].id = 5001;
	T(steps_refuse(&s.v[2], "list \"Webinar\": gone") == STEPS_OK, "refused");
	j = steps_to_json(&s);
	text = cJSON_PrintUnformatted(j);
	T_STREQ(text, "[{\"step\":\"contact\",\"state\":\"done\",\"id\":4242},"
	        "{\"step\":\"account\",\"state\":\"pending\",\"name\":\"Acme\",\"id\":5001},"
	        "{\"step\":\"list\",\"state\":\"refused\",\"name\":\"Webinar\","
	        "\"reason\":\"list \\\"Webinar\\\": gone\",\"create\":true},"
	        "{\"step\":\"note\",\"state\":\"pending\",\"text\":\"Hello \\\"there\\\"\"}]",
	        "the record's array");
	T(steps_from_json(j, &back) == STEPS_OK, "read back");
	T_STREQ(summary(&back), "contact:done,account:pending,list:refused,note:pending", "states");
	T(back.v[0].id == 4242 && back.v[1].id == 5001, "ids kept");
	T(back.v[2].create && strcmp(back.v[2].reason, "list \"Webinar\": gone") == 0, "list kept");
	T(back.v[3].name == NULL && strcmp(back.v[3].text, "Hello \"there\"") == 0, "note kept");
	T(steps_pending_kind(&back, STEP_ACCOUNT) && !steps_pending_kind(&back, STEP_LIST) &&
	  !steps_pending_kind(&back, STEP_CONTACT), "pending by kind: the refused list is not");
	T(steps_pending_after_contact(&back), "something pending after the contact");
	steps_revive(&back);
	T_STREQ(summary(&back), "contact:done,account:pending,list:pending,note:pending",
	        "a requeue: refused is pending, done stays done");
	T(back.v[2].reason == NULL, "reason gone");
	back.v[1].state = back.v[2].state = back.v[3].state = STEP_DONE;
	back.v[0].state = STEP_PENDING;
	T(!steps_pending_after_contact(&back), "only the contact pending: nothing after it");
	steps_free(&back);
	cJSON_free(text);
	cJSON_Delete(j);
	steps_free(&s);

	/* A record from before steps: the contact alone. */
	T(steps_from_json(NULL, &back) == STEPS_OK && back.n == 1 &&
	  back.v[0].kind == STEP_CONTACT && back.v[0].state == STEP_PENDING, "no steps member");
	steps_free(&back);
}

static void test_refusals(void)
{
	static const char *const bad[] = {
		"{}", "[]", "[1]", "\"contact\"",
		"[{\"step\":\"account\",\"state\":\"pending\",\"name\":\"A\"}]",  /* contact not first */
		"[{\"step\":\"contact\",\"state\":\"done\"},{\"step\":\"contact\",\"state\":\"done\"}]",
		"[{\"step\":\"contact\",\"state\":\"sent\"}]",
		"[{\"step\":\"contact\",\"state\":\"done\",\"id\":-1}]",
		"[{\"step\":\"contact\",\"state\":\"done\",\"id\":\"7\"}]",
		"[{\"step\":\"contact\",\"state\":\"done\"},{\"step\":\"account\",\"state\":\"pending\"}]",
		"[{\"step\":\"contact\",\"state\":\"done\"},{\"step\":\"list\",\"state\":\"pending\",\"name\":\"\"}]",
		"[{\"step\":\"contact\",\"state\":\"done\"},{\"step\":\"list\",\"state\":\"pending\",\"name\":\"L\",\"create\":1}]",
		"[{\"step\":\"contact\",\"state\":\"done\"},{\"step\":\"note\",\"state\":\"pending\",\"title\":\"T\"}]",
		"[{\"step\":\"contact\",\"state\":\"done\"},{\"step\":\"note\",\"state\":\"pending\",\"text\":7}]",
		"[{\"step\":\"contact\",\"state\":\"done\"},{\"step\":\"poll\",\"state\":\"pending\"}]",
	};
	struct steps s;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cJSON *j = cJSON_Parse(bad[i]);

		T(j != NULL, "case %zu parses", i);
		T(steps_from_json(j, &s) == STEPS_EINVAL && s.n == 0, "case %zu refused: %s", i, bad[i]);
		cJSON_Delete(j);
	}

	/* More steps than a submission can have. */
	{
		cJSON *a = cJSON_CreateArray(), *o;

		for (size_t i = 0; i <= STEPS_MAX; i++) {
			o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "step", i ? "list" : "contact");
			cJSON_AddStringToObject(o, "state", "pending");
			cJSON_AddStringToObject(o, "name", "L");
			cJSON_AddItemToArray(a, o);
		}
		T(steps_from_json(a, &s) == STEPS_EINVAL, "more than STEPS_MAX");
		cJSON_DeleteItemFromArray(a, 0);
		cJSON_DeleteItemFromArray(a, 0);
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "step", "contact");
		cJSON_AddStringToObject(o, "state", "pending");
		cJSON_InsertItemInArray(a, 0, o);
		T(steps_from_json(a, &s) == STEPS_OK && s.n == STEPS_MAX, "exactly STEPS_MAX");
		T(steps_add(&s, STEP_LIST, "L", NULL, false) == STEPS_EINVAL, "no room beyond");
		steps_free(&s);
		cJSON_Delete(a);
	}
}

int main(void)
{
	test_plan();
	test_json();
	test_refusals();
	T_DONE();
}
