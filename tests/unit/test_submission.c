/* test_submission: traits in the message's order, clashes, the message
 * printed, and a spooled message read back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "submission.h"
#include "t.h"

static cJSON *str(const char *s)
{
	return cJSON_CreateString(s);
}

/* The traits' names joined by spaces. */
static const char *order(const struct submission *s)
{
	static char buf[1024];

	buf[0] = '\0';
	for (size_t i = 0; i < s->n_traits; i++)
		snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", i ? " " : "",
		         s->traits[i].path);
	return buf;
}

/* The trait named `path`, or NULL. */
static const struct sub_trait *submission_trait(const struct submission *s, const char *path)
{
	for (size_t i = 0; i < s->n_traits; i++)
		if (strcmp(s->traits[i].path, path) == 0)
			return &s->traits[i];
	return NULL;
}

static char *printed(const cJSON *j)
{
	return j ? cJSON_PrintUnformatted(j) : NULL;
}

static void test_traits(void)
{
	static const char *const adds[] = {
		"address.city", "firstName", "address.street", "a.b.c", "address.geo.lat",
		"a.x", "firstName",        /* taken: dropped */
		"address", "address.city.name", /* object vs leaf: dropped */
		".bad", "bad.", "a..b", "a.b.c.d.e", "", /* malformed, or deeper than 4 */
		"address.geo.lng",
	};
	struct map_field f = { .name = "first", .trait = "firstName" };
	struct submission s;
	char long_name[SUB_MAX_TRAIT_PATH + 1];

	submission_init(&s);
	for (size_t i = 0; i < sizeof adds / sizeof adds[0]; i++)
		T(submission_add_trait(&s, adds[i], i == 1 ? &f : NULL, NULL, str(adds[i]), 2) == SUB_OK,
		  "add %s", adds[i]);
	T_STREQ(order(&s), "address.city address.street address.geo.lat address.geo.lng firstName "
	        "a.b.c a.x", "depth-first order, clashes dropped");
	T(submission_trait(&s, "firstName") && submission_trait(&s, "firstName")->field == &f &&
	  strcmp(cJSON_GetStringValue(submission_trait(&s, "firstName")->value), "firstName") == 0,
	  "the first firstName stays, with its field");
	T(submission_trait(&s, "address") == NULL, "no trait where an object is");
	memset(long_name, 'x', SUB_MAX_TRAIT_PATH);
	long_name[SUB_MAX_TRAIT_PATH] = '\0';
	T(submission_add_trait(&s, long_name, NULL, NULL, str("x"), 0) == SUB_OK && s.n_traits == 7,
	  "a name of SUB_MAX_TRAIT_PATH bytes: dropped");
	long_name[SUB_MAX_TRAIT_PATH - 1] = '\0';
	T(submission_add_trait(&s, long_name, NULL, NULL, str("x"), 0) == SUB_OK && s.n_traits == 8,
	  "one byte less: kept");
	submission_free(&s);
	T(s.n_traits == 0 && s.traits == NULL, "freed to empty");
}

static struct map_field fields[] = {
	{ .name = "email", .trait = "email", .type = MAP_EMAIL },
	{ .name = "city", .trait = "address.city", .fm_field = "city" },
	{ .name = "box", .trait = "ok", .type = MAP_BOOLEAN, .consent = "Yes, mail me" },
};
static struct map_constant constants[] = { { .trait = "n", .value = "5", .fm_field = "cf_n" } };
static struct map_form form = { .id = "f", .fields = fields, .n_fields = 3,
                                .constants = constants, .n_constants = 1 };

#define MID "0b7e2f3a-1c4d-4e5f-8a9b-0c1d2e3f4a5b"
#define TS  "2026-12-02T10:00:00.000Z"

/* A submission as identify would build it. */
static void fresh(struct submission *s)
{
	submission_init(s);
	memcpy(s->message_id, MID, sizeof MID);
	memcpy(s->timestamp, TS, sizeof TS);
	s->user_id = strdup("u-1");
	s->anonymous_id = strdup("a-1");
	s->email = strdup("a@b.c");
	s->source = SUB_SRC_SIGNED;
	submission_add_trait(s, "email", &fields[0], NULL, str("a@b.c"), 5);
	submission_add_trait(s, "address.city", &fields[1], NULL, str("Gent"), 5);
	submission_add_trait(s, "ok", &fields[2], NULL, cJSON_CreateTrue(), 5);
	submission_add_trait(s, "address.street", NULL, NULL, str("Kouter 1"), 5);
	submission_add_trait(s, "n", NULL, &constants[0], str("5"), 5);
	s->ctx.ip = strdup("192.0.2.1");
	s->ctx.user_agent = strdup("UA/1");
	s->ctx.locale = strdup("nl-BE");
	s->ctx.page_url = strdup("https://example.com/p?q=1");
	s->ctx.page_path = strdup("/p");
	s->ctx.page_search = strdup("?q=1");
	s->ctx.page_title = strdup("P");
	s->ctx.referrer = strdup("https://r.example/");
	s->ctx.campaign[SUB_UTM_SOURCE] = strdup("news");
	s->ctx.campaign[SUB_UTM_NAME] = strdup("spring");
	submission_add_consent(s, &fields[2]);
	submission_add_consent(s, &fields[2]);
}

static const char want_msg[] =
	"{\"type\":\"identify\",\"messageId\":\"" MID "\",\"timestamp\":\"" TS "\","
	"\"userId\":\"u-1\",\"anonymousId\":\"a-1\","
	"\"traits\":{\"email\":\"a@b.c\",\"address\":{\"city\":\"Gent\",\"street\":\"Kouter 1\"},"
	"\"ok\":true,\"n\":\"5\"},"
	"\"context\":{\"ip\":\"192.0.2.1\",\"userAgent\":\"UA/1\",\"locale\":\"nl-BE\","
	"\"page\":{\"path\":\"/p\",\"referrer\":\"https://r.example/\",\"search\":\"?q=1\","
	"\"title\":\"P\",\"url\":\"https://example.com/p?q=1\"},"
	"\"campaign\":{\"source\":\"news\",\"name\":\"spring\"},"
	"\"library\":{\"name\":\"fmgate\",\"version\":\"" FMGATE_VERSION "\"},"
	"\"consent\":{\"ok\":{\"text\":\"Yes, mail me\",\"field\":\"box\",\"timestamp\":\"" TS "\"}},"
	"\"fmgate\":{\"userIdSource\":\"signed\"}},"
	"\"integrations\":{\"Freshmarketer\":true}}";

static void test_message(void)
{
	struct submission s, back;
	cJSON *msg, *again;
	char *text, *text2;

	fresh(&s);
	T(s.ctx.n_consent == 1, "one consent per box");
	msg = submission_message(&s);
	text = printed(msg);
	T_STREQ(text, want_msg, "the identify message");
	T(submission_trusted(&s), "signed: trusted");

	/* Read back as drain does, then printed again: the same traits and ids. */
	T(submission_from_message(msg, &form, &back) == SUB_OK, "read back");
	T_STREQ(back.message_id, MID, "messageId");
	T_STREQ(back.user_id, "u-1", "userId");
	T_STREQ(back.anonymous_id, "a-1", "anonymousId");
	T_STREQ(back.email, "a@b.c", "email");
	T(back.source == SUB_SRC_SIGNED, "source");
	T_STREQ(order(&back), "email address.city address.street ok n", "traits in order");
	T(submission_trait(&back, "address.city")->field == &fields[1], "field found by trait");
	T(submission_trait(&back, "n")->constant == &constants[0] &&
	  submission_trait(&back, "n")->field == NULL, "constant found by trait");
	T(submission_trait(&back, "address.street")->field == NULL &&
	  submission_trait(&back, "address.street")->constant == NULL, "unmapped: neither");
	T(back.ctx.ip == NULL && back.ctx.user_agent == NULL && back.ctx.locale == NULL &&
	  back.ctx.page_url == NULL && back.ctx.page_path == NULL && back.ctx.page_search == NULL &&
	  back.ctx.page_title == NULL && back.ctx.referrer == NULL && back.ctx.n_consent == 0,
	  "no context read back");
	again = submission_message(&back);
	text2 = printed(cJSON_GetObjectItemCaseSensitive(again, "traits"));
	free(text);
	text = printed(cJSON_GetObjectItemCaseSensitive(msg, "traits"));
	T_STREQ(text2, text, "traits print the same");
	free(text);
	free(text2);
	cJSON_Delete(again);
	submission_free(&back);
	submission_free(&s);
	cJSON_Delete(msg);
}

/* context.captcha: after consent, before fmgate; a score only when given. */
static void test_captcha_context(void)
{
	struct submission s;
	cJSON *msg;
	char *text;

	fresh(&s);
	msg = submission_message(&s);
	T(!cJSON_HasObjectItem(cJSON_GetObjectItemCaseSensitive(msg, "context"), "captcha"),
	  "no captcha: no context.captcha");
	cJSON_Delete(msg);
	s.ctx.captcha = (struct sub_captcha){ "recaptcha", true, true, 0.9 };
	msg = submission_message(&s);
	text = printed(cJSON_GetObjectItemCaseSensitive(msg, "context"));
	T(text && strstr(text, "\"timestamp\":\"" TS "\"}},\"captcha\":{\"provider\":\"recaptcha\","
	                  "\"verified\":true,\"score\":0.9},\"fmgate\":") != NULL,
	  "verified, with its score: %s", text ? text : "(null)");
	free(text);
	cJSON_Delete(msg);
	s.ctx.captcha = (struct sub_captcha){ "turnstile", false, false, 0 };
	msg = submission_message(&s);
	text = printed(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(msg, "context"), "captcha"));
	T_STREQ(text, "{\"provider\":\"turnstile\",\"verified\":false}", "unverified, no score");
	free(text);
	cJSON_Delete(msg);
	submission_free(&s);
}

static void test_read_back(void)
{
	static const struct {
		const char *json;
		enum sub_err err;
		bool has_user, has_email;
		enum sub_source src;
	} cases[] = {
		{ "{\"userId\":\"u\",\"traits\":{\"email\":\"e@x\"}}", SUB_OK, true, true, SUB_SRC_FIELD },
		{ "{\"userId\":\"u\",\"traits\":{\"email\":\"e@x\"},"
		  "\"context\":{\"fmgate\":{\"userIdSource\":\"cookie\"}}}", SUB_OK, true, true, SUB_SRC_COOKIE },
		{ "{\"userId\":\"u\",\"traits\":{\"email\":\"e@x\"},"
		  "\"context\":{\"fmgate\":{\"userIdSource\":\"SIGNED\"}}}", SUB_OK, true, true, SUB_SRC_FIELD },
		{ "{\"userId\":\"\",\"traits\":{\"email\":7}}", SUB_OK, false, false, SUB_SRC_FIELD },
		{ "{\"userId\":7,\"traits\":[]}", SUB_OK, false, false, SUB_SRC_FIELD },
		{ "[]", SUB_EINVAL, false, false, SUB_SRC_SIGNED },
	};
	struct submission s;
	cJSON *many, *traits;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cJSON *j = cJSON_Parse(cases[i].json);

		T(submission_from_message(j, NULL, &s) == cases[i].err, "case %zu: result", i);
		T((s.user_id != NULL) == cases[i].has_user && (s.email != NULL) == cases[i].has_email,
		  "case %zu: ids", i);
		T(cases[i].err != SUB_OK || s.source == cases[i].src, "case %zu: source", i);
		T(s.message_id[0] == '\0', "case %zu: no messageId", i);
		submission_free(&s);
		cJSON_Delete(j);
	}
	many = cJSON_CreateObject();
	traits = cJSON_AddObjectToObject(many, "traits");
	for (unsigned i = 0; i <= SUB_MAX_TRAITS; i++) {
		char name[16];

		snprintf(name, sizeof name, "t%u", i);
		cJSON_AddNumberToObject(traits, name, i);
	}
	T(submission_from_message(many, NULL, &s) == SUB_EINVAL && s.n_traits == 0,
	  "more than SUB_MAX_TRAITS traits: refused");
	cJSON_DeleteItemFromObject(traits, "t0");
	T(submission_from_message(many, NULL, &s) == SUB_OK && s.n_traits == SUB_MAX_TRAITS,
	  "SUB_MAX_TRAITS traits: read");
	submission_free(&s);
	cJSON_Delete(many);
}

int main(void)
{
	test_traits();
	test_message();
	test_captcha_context();
	test_read_back();
	T_DONE();
}
