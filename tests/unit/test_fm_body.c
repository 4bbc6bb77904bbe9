/* test_fm_body.c: identify message -> upsert body, and the field list parser.
 * Pure: no network. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fm_body.h"
#include "fm_fields.h"
#include "t.h"

static const char fields_json[] =
	"{\"fields\":["
	"{\"id\":1,\"name\":\"first_name\",\"label\":\"First name\",\"type\":\"text\",\"default\":true},"
	"{\"id\":2,\"name\":\"last_name\",\"label\":\"Last name\",\"type\":\"text\",\"default\":true},"
	"{\"id\":3,\"name\":\"emails\",\"label\":\"Emails\",\"type\":\"group_field\",\"default\":true},"
	"{\"id\":4,\"name\":\"job_title\",\"label\":\"Job title\",\"type\":\"text\",\"default\":true},"
	"{\"id\":7,\"name\":\"address\",\"label\":\"Address\",\"type\":\"text\",\"default\":true},"
	"{\"id\":10,\"name\":\"zipcode\",\"label\":\"Zipcode\",\"type\":\"text\",\"default\":true},"
	"{\"id\":12,\"name\":\"external_id\",\"label\":\"External ID\",\"type\":\"text\",\"default\":true},"
	"{\"id\":13,\"name\":\"owner_id\",\"label\":\"Owner\",\"type\":\"dropdown\",\"default\":true,"
	" \"choices\":[{\"id\":1,\"value\":\"Ann Admin\"},{\"id\":2,\"value\":\"Bob Sales\"}]},"
	"{\"id\":17,\"name\":\"lifecycle_stage_id\",\"label\":\"Lifecycle stage\",\"type\":\"dropdown\","
	" \"choices\":[{\"id\":71,\"value\":\"Lead\"},{\"id\":73,\"value\":\"Customer\"}]},"
	"{\"id\":18,\"name\":\"subscription_status\",\"label\":\"Subscription status\",\"type\":\"dropdown\","
	" \"choices\":[{\"id\":1,\"value\":\"Subscribed\"},{\"id\":2,\"value\":\"Unsubscribed\"}]},"
	"{\"id\":19,\"name\":\"subscription_types\",\"label\":\"Subscription types\","
	" \"type\":\"multi_select_dropdown\",\"choices\":[{\"id\":1,\"value\":\"Newsletter\"},"
	"  {\"id\":2,\"value\":\"Promotions\"},{\"id\":3,\"value\":\"Events\"}]},"
	"{\"id\":23,\"name\":\"campaign_id\",\"label\":\"Campaign\",\"type\":\"number\"},"
	"{\"id\":24,\"name\":\"tags\",\"label\":\"Tags\",\"type\":\"auto_complete\"},"
	"{\"id\":101,\"name\":\"cf_industry\",\"label\":\"Industry\",\"type\":\"dropdown\",\"default\":false,"
	" \"choices\":[{\"id\":7,\"value\":\"Music\"},{\"id\":8,\"value\":\"Software\"},"
	"              {\"id\":\"x\",\"value\":\"Broken\"},{\"id\":9}]},"
	"{\"id\":102,\"name\":\"cf_employees\",\"label\":\"Employees\",\"type\":\"number\"},"
	"{\"id\":103,\"name\":\"cf_newsletter\",\"label\":\"Newsletter\",\"type\":\"checkbox\"},"
	"{\"id\":104,\"name\":\"cf_signup_source\",\"label\":\"Signup Source\",\"type\":\"text\"},"
	"{\"id\":105,\"name\":\"cf_birthday\",\"label\":\"Birthday\",\"type\":\"date\"},"
	"{\"id\":106,\"label\":\"No name: skipped\",\"type\":\"text\"},"
	"{\"id\":107,\"name\":\"cf_company_name\",\"label\":\"company.name\",\"type\":\"text\"},"
	"{\"id\":108,\"name\":\"cf_topics\",\"label\":\"Topics\",\"type\":\"multi_select_dropdown\","
	" \"choices\":[{\"id\":81,\"value\":\"Pricing\"},{\"id\":82,\"value\":\"Product news\"},"
	"              {\"id\":83,\"value\":\"Events\"}]},"
	"{\"id\":109,\"name\":\"cf_notes\",\"label\":\"Notes\",\"type\":\"textarea\",\"max_length\":10},"
	"{\"id\":110,\"name\":\"cf_free\",\"label\":\"Free choice\",\"type\":\"multi_select\"},"
	"{\"id\":111,\"name\":\"cf_odd\",\"label\":\"Odd\",\"type\":\"formula\"},"
	"{\"id\":112,\"name\":\"cf_contact_pref\",\"label\":\"Preferred contact\",\"type\":\"radio\","
	" \"choices\":[{\"id\":31,\"value\":\"Email\"},{\"id\":32,\"value\":\"Phone\"}]},"
	"{\"id\":113,\"name\":\"cf_partner_id\",\"label\":\"Partner\",\"type\":\"text\"},"
	"{\"id\":114,\"name\":\"id\",\"label\":\"Contact ID\",\"type\":\"number\"},"
	"{\"id\":115,\"name\":\"cf_idea\",\"label\":\"Idea\",\"type\":\"text\"}"
	"]}";

static cJSON *parse(const char *s)
{
	cJSON *j = cJSON_Parse(s);
	if (!j) {
		printf("bad test JSON: %s\n", s);
		exit(2);
	}
	return j;
}

/* root.contact[.custom_field].name, or NULL */
static const cJSON *cfield(const cJSON *body, const char *name)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(body, "contact");
	if (strncmp(name, "cf_", 3) == 0)
		c = cJSON_GetObjectItemCaseSensitive(c, "custom_field");
	return cJSON_GetObjectItemCaseSensitive(c, name);
}

static const char *cstr(const cJSON *body, const char *name)
{
	const cJSON *v = cfield(body, name);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* What the notes said, one "event trait field" line each. */
static char notes[8192];

static void note(void *ud, enum fmb_event ev, const char *trait, const char *field,
                 const cJSON *value)
{
	size_t o = strlen(notes);

	(void)ud;
	(void)value;
	snprintf(notes + o, sizeof notes - o, "%d %s %s\n", (int)ev, trait, field ? field : "-");
}

static struct fmb_report rep;

/* The submission a spooled message `json` reads back as, for `form`. */
static void sub_of(const char *json, const struct map_form *form, struct submission *sub)
{
	cJSON *msg = parse(json);

	if (submission_from_message(msg, form, sub) != SUB_OK) {
		printf("bad test message: %s\n", json);
		exit(2);
	}
	cJSON_Delete(msg);
}

/* The body, or NULL (the error is in last_err, the report in rep). */
static enum fmb_err last_err;

static cJSON *build(const char *identify, const struct map_form *form,
                    const struct fm_fields *fields, enum fmb_key key)
{
	struct submission sub;
	cJSON *out = (cJSON *)1;

	sub_of(identify, form, &sub);
	notes[0] = '\0';
	memset(&rep, 0, sizeof rep);
	rep.note = note;
	last_err = fm_body_build(&sub, fields, key, &rep, &out);
	if (last_err != FMB_OK && last_err != FMB_EINVALID)
		printf("  build: %s\n", fmb_strerror(last_err));
	if (last_err != FMB_OK && out != NULL)
		printf("  build: failed but gave a body\n");
	submission_free(&sub);
	return out;
}

/* The note line for an event about a trait was given. */
static bool noted(enum fmb_event ev, const char *trait, const char *field)
{
	char line[600];

	snprintf(line, sizeof line, "%d %s %s\n", (int)ev, trait, field ? field : "-");
	return strstr(notes, line) != NULL;
}

static size_t n_keys(const cJSON *o)
{
	return o ? (size_t)cJSON_GetArraySize(o) : 0;
}

static void test_fields_parse(void)
{
	struct fm_fields *f = NULL;
	const struct fmf_field *ff;
	char *big;
	size_t o = 0;

	T(fm_fields_parse(fields_json, strlen(fields_json), 42, &f) == FMF_OK && f, "parse");
	T(f->n == 27, "malformed entry skipped: %zu fields", f->n);
	T(f->fetched_at == 42, "fetched_at kept");
	ff = fm_fields_by_label(f, "INDUSTRY");
	T(ff && strcmp(ff->name, "cf_industry") == 0, "label match ignores case");
	T(ff && ff->type == FMF_DROPDOWN && ff->n_choices == 2, "bad choices skipped");
	T(ff && ff->choices[1].id == 8 && strcmp(ff->choices[1].value, "Software") == 0, "choice");
	T(fm_fields_by_label(f, "Emails") == NULL, "group fields never match a label");
	T(fm_fields_by_label(f, "Industr") == NULL, "no prefix match");
	T(fm_fields_by_name(f, "emails") && fm_fields_by_name(f, "emails")->type == FMF_GROUP,
	  "by name finds groups");
	T(fm_fields_by_name(f, "Cf_industry") == NULL, "names are exact");
	T(fm_fields_by_name(f, "tags")->type == FMF_LIST, "auto_complete: a list");
	T(fm_fields_by_name(f, "cf_topics")->type == FMF_MULTI &&
	  fm_fields_by_name(f, "cf_topics")->n_choices == 3, "multi_select_dropdown with choices");
	T(fm_fields_by_name(f, "cf_free")->type == FMF_OPAQUE,
	  "multi_select, seen in no field list: unknown");
	T_STREQ(fm_fields_by_name(f, "cf_free")->type_name, "multi_select", "the API's type kept");
	T(fm_fields_by_name(f, "cf_odd")->type == FMF_OPAQUE, "unknown type: opaque");
	T(fm_fields_by_name(f, "cf_notes")->type == FMF_TEXT &&
	  fm_fields_by_name(f, "cf_notes")->max_length == 10, "textarea with max_length");
	T(fm_fields_by_name(f, "cf_signup_source")->max_length == 0, "no max_length: 0");
	fm_fields_free(f);

	T(fm_fields_parse("{\"fields\":", 10, 0, &f) == FMF_EPARSE && !f, "truncated JSON");
	T(fm_fields_parse("{\"field\":[]}", 12, 0, &f) == FMF_EPARSE, "no fields array");
	T(fm_fields_parse("[]", 2, 0, &f) == FMF_EPARSE, "not an object");
	T(fm_fields_parse("{\"fields\":[]}", 13, 0, &f) == FMF_OK && f->n == 0, "empty list");
	fm_fields_free(f);
	T(fm_fields_parse("x", LIMIT_MAX_UPSTREAM_BODY + 1, 0, &f) == FMF_ETOOBIG,
	  "document over the cap refused before parsing");

	/* FMF_MAX_FIELDS + 1 entries */
	big = malloc(16 + (FMF_MAX_FIELDS + 1) * 16);
	o += (size_t)snprintf(big, 16, "{\"fields\":[");
	for (unsigned i = 0; i <= FMF_MAX_FIELDS; i++)
		o += (size_t)snprintf(big + o, 32, "%s{\"name\":\"a\"}", i ? "," : "");
	o += (size_t)snprintf(big + o, 8, "]}");
	T(fm_fields_parse(big, o, 0, &f) == FMF_ETOOBIG, "too many fields");
	big[o - 2] = '\0';
	o = (size_t)(strrchr(big, ',') - big);
	memcpy(big + o, "]}", 3);
	T(fm_fields_parse(big, o + 2, 0, &f) == FMF_OK && f->n == FMF_MAX_FIELDS, "at the cap");
	fm_fields_free(f);
	free(big);
	T(strcmp(fm_fields_strerror(FMF_ETOOBIG), "field list too large") == 0, "strerror");
}

static void test_reserved(void)
{
	cJSON *b = build("{\"userId\":\"u-42\",\"traits\":{\"email\":\"ann@example.com\","
	                 "\"firstName\":\"Ann\",\"lastName\":\"Lee\",\"title\":\"CEO\","
	                 "\"phone\":\"+1 555\",\"mobile\":\"+1 666\",\"Industry\":\"Music\"}}",
	                 NULL, NULL, FMB_KEY_EXTERNAL_ID);
	const cJSON *ui = cJSON_GetObjectItemCaseSensitive(b, "unique_identifier");

	T(b != NULL, "built");
	T(n_keys(ui) == 1 && cJSON_GetObjectItemCaseSensitive(ui, "external_id"), "keyed on external_id");
	T_STREQ(cJSON_GetObjectItemCaseSensitive(ui, "external_id")->valuestring, "u-42", "key value");
	T_STREQ(cstr(b, "external_id"), "u-42", "userId -> external_id");
	T_STREQ(cstr(b, "emails"), "ann@example.com", "email -> emails (a string)");
	T_STREQ(cstr(b, "first_name"), "Ann", "firstName");
	T_STREQ(cstr(b, "last_name"), "Lee", "lastName");
	T_STREQ(cstr(b, "job_title"), "CEO", "title");
	T_STREQ(cstr(b, "work_number"), "+1 555", "phone");
	T_STREQ(cstr(b, "mobile_number"), "+1 666", "mobile");
	T(cfield(b, "email") == NULL && cfield(b, "Industry") == NULL, "no trait names leak");
	T(cfield(b, "custom_field") == NULL, "without field list: label trait left out, no container");
	T(n_keys(cJSON_GetObjectItemCaseSensitive(b, "contact")) == 7, "exactly the reserved fields");
	cJSON_Delete(b);
}

static void test_address_and_name(void)
{
	cJSON *b = build("{\"userId\":\"u\",\"traits\":{\"email\":\"a@b.c\",\"name\":\"  Ann Marie  Lee \","
	                 "\"address\":{\"street\":\"1 Main St\",\"city\":\"Oslo\",\"state\":\"OS\","
	                 "\"postalCode\":\"0150\",\"country\":\"Norway\",\"planet\":\"Earth\"}}}",
	                 NULL, NULL, FMB_KEY_EXTERNAL_ID);

	T_STREQ(cstr(b, "address"), "1 Main St", "address.street");
	T_STREQ(cstr(b, "city"), "Oslo", "address.city");
	T_STREQ(cstr(b, "state"), "OS", "address.state");
	T_STREQ(cstr(b, "zipcode"), "0150", "address.postalCode");
	T_STREQ(cstr(b, "country"), "Norway", "address.country");
	T_STREQ(cstr(b, "first_name"), "Ann", "name split: first word");
	T_STREQ(cstr(b, "last_name"), "Marie  Lee", "name split: the rest");
	T(cfield(b, "address.planet") == NULL && cfield(b, "planet") == NULL, "unknown nested left out");
	cJSON_Delete(b);

	b = build("{\"userId\":\"u\",\"traits\":{\"email\":\"a@b.c\",\"name\":\"Ann Lee\","
	          "\"firstName\":\"Annie\"}}", NULL, NULL, FMB_KEY_EXTERNAL_ID);
	T_STREQ(cstr(b, "first_name"), "Annie", "firstName wins over name");
	T_STREQ(cstr(b, "last_name"), "Lee", "absent last_name filled from name");
	cJSON_Delete(b);

	b = build("{\"userId\":\"u\",\"traits\":{\"email\":\"a@b.c\",\"name\":\"Cher\","
	          "\"lastName\":\"X\"}}", NULL, NULL, FMB_KEY_EXTERNAL_ID);
	T_STREQ(cstr(b, "first_name"), "Cher", "single word name");
	T_STREQ(cstr(b, "last_name"), "X", "lastName kept");
	cJSON_Delete(b);

	b = build("{\"userId\":\"u\",\"traits\":{\"email\":\"a@b.c\",\"name\":\"   \"}}",
	          NULL, NULL, FMB_KEY_EXTERNAL_ID);
	T(!cfield(b, "first_name") && !cfield(b, "last_name"), "blank name sets nothing");
	cJSON_Delete(b);

	/* deeper than LIMIT_MAX_TRAIT_DEPTH: ignored */
	b = build("{\"userId\":\"u\",\"traits\":{\"email\":\"a@b.c\",\"a\":{\"b\":{\"c\":{\"d\":"
	          "{\"e\":\"x\"}}}}}}", NULL, NULL, FMB_KEY_EXTERNAL_ID);
	T(b && n_keys(cJSON_GetObjectItemCaseSensitive(b, "contact")) == 2, "too deep ignored");
	cJSON_Delete(b);
}

static void test_labels(const struct fm_fields *f)
{
	cJSON *b = build("{\"userId\":\"u\",\"traits\":{\"email\":\"a@b.c\","
	                 "\"industry\":\"software\",\"Employees\":\"12\",\"NEWSLETTER\":\"yes\","
	                 "\"Birthday\":\"1990-02-03T10:00:00Z\",\"Signup Source\":\"Website form\","
	                 "\"Zipcode\":12345,\"Tags\":[\"a\",\"b\"],\"Nothing like it\":\"x\","
	                 "\"company\":{\"name\":\"Acme\"},\"Odd\":{\"x\":1},\"Owner\":\"Ann Admin\","
	                 "\"External ID\":\"evil\",\"campaign\":\"7\",\"Partner\":\"p-1\","
	                 "\"Contact ID\":\"5\",\"Idea\":\"an idea\"}}", NULL, f, FMB_KEY_EXTERNAL_ID);
	const cJSON *v;

	T(b != NULL, "built");
	T_STREQ(cstr(b, "cf_industry"), "Software", "dropdown: the choice's exact value");
	v = cfield(b, "cf_employees");
	T(cJSON_IsNumber(v) && v->valuedouble == 12, "number from a string");
	T(cJSON_IsTrue(cfield(b, "cf_newsletter")), "checkbox from yes");
	T_STREQ(cstr(b, "cf_birthday"), "1990-02-03", "date from a timestamp");
	T_STREQ(cstr(b, "cf_signup_source"), "Website form", "text by label with a space");
	T_STREQ(cstr(b, "zipcode"), "12345", "text field gets a string from a number");
	v = cfield(b, "tags");
	T(cJSON_IsArray(v) && cJSON_GetArraySize(v) == 2, "tags: a list of strings");
	T_STREQ(cstr(b, "cf_company_name"), "Acme", "company.name matched by label");
	T(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(b, "contact"),
	                                   "custom_fields") == NULL, "never the plural container");
	T(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(b, "contact"),
	                                   "cf_industry") == NULL, "cf_ never at top level");
	T(n_keys(cfield(b, "custom_field")) == 7, "seven custom fields");
	T(cfield(b, "owner_id") == NULL, "privileged field by label left out");
	/* Ids of other records, whatever their label: campaign_id, a custom
	 * *_id, the contact's own id. A name that merely holds "id" is fine. */
	T(cfield(b, "campaign_id") == NULL && cfield(b, "cf_partner_id") == NULL &&
	  cfield(b, "id") == NULL, "id fields by label left out");
	T(noted(FMB_DROP_PRIVILEGED, "campaign", "campaign_id") &&
	  noted(FMB_DROP_PRIVILEGED, "Partner", "cf_partner_id") &&
	  noted(FMB_DROP_PRIVILEGED, "Contact ID", "id"), "note: id fields:\n%s", notes);
	T_STREQ(cstr(b, "cf_idea"), "an idea", "cf_idea is no id field");
	T(noted(FMB_SET_LABEL, "industry", "cf_industry"), "note: set by label");
	T(noted(FMB_DROP_NO_FIELD, "Nothing like it", NULL), "note: no field:\n%s", notes);
	T(noted(FMB_DROP_PRIVILEGED, "Owner", "owner_id"), "note: privileged");
	T(noted(FMB_DROP_IDENTITY, "External ID", "external_id"), "note: identity");
	cJSON_Delete(b);

	/* Without the list: left out and said so. */
	b = build("{\"userId\":\"u\",\"traits\":{\"email\":\"a@b.c\",\"Industry\":\"Music\","
	          "\"firstName\":\"Ann\",\"name\":\"Ann Lee\"}}", NULL, NULL, FMB_KEY_EXTERNAL_ID);
	T(b && noted(FMB_DROP_NO_LIST, "Industry", NULL), "note: no list");
	T(noted(FMB_SET_RESERVED, "firstName", "first_name"), "note: reserved");
	T(noted(FMB_SET_NAME, "name", "last_name") && !noted(FMB_SET_NAME, "name", "first_name"),
	  "note: name split only where unset");
	cJSON_Delete(b);
}

static void test_conversions(const struct fm_fields *f)
{
	static const struct {
		const char *trait_json;
		const char *field;
		const char *want; /* printed JSON; NULL: refused (FMB_EINVALID); "-": left out */
	} cases[] = {
		{"\"Newsletter\":\"on\"", "cf_newsletter", "true"},
		{"\"Newsletter\":\"Off\"", "cf_newsletter", "false"},
		{"\"Newsletter\":\"1\"", "cf_newsletter", "true"},
		{"\"Newsletter\":\"0\"", "cf_newsletter", "false"},
		{"\"Newsletter\":\"YES\"", "cf_newsletter", "true"},
		{"\"Newsletter\":\"no\"", "cf_newsletter", "false"},
		{"\"Newsletter\":true", "cf_newsletter", "true"},
		{"\"Newsletter\":0", "cf_newsletter", "false"},
		{"\"Newsletter\":[\"on\"]", "cf_newsletter", "true"},
		{"\"Newsletter\":\"maybe\"", "cf_newsletter", NULL},
		{"\"Newsletter\":2", "cf_newsletter", NULL},
		{"\"Newsletter\":[\"on\",\"off\"]", "cf_newsletter", NULL},
		{"\"Employees\":7.5", "cf_employees", "7.5"},
		{"\"Employees\":\"-12.5\"", "cf_employees", "-12.5"},
		{"\"Employees\":\"-3e2\"", "cf_employees", NULL},
		{"\"Employees\":\"+3\"", "cf_employees", NULL},
		{"\"Employees\":\"12abc\"", "cf_employees", NULL},
		{"\"Employees\":\"inf\"", "cf_employees", NULL},
		{"\"Employees\":\"0x10\"", "cf_employees", NULL},
		{"\"Employees\":\" 12\"", "cf_employees", NULL},
		{"\"Employees\":true", "cf_employees", NULL},
		{"\"Employees\":[1,2]", "cf_employees", NULL},
		{"\"Employees\":[\"\",\"3\"]", "cf_employees", "3"},
		{"\"Industry\":\"MUSIC\"", "cf_industry", "\"Music\""},
		{"\"Industry\":\"Jazz\"", "cf_industry", NULL},
		{"\"Industry\":\"7\"", "cf_industry", NULL},
		{"\"Industry\":[\"Music\"]", "cf_industry", "\"Music\""},
		{"\"Industry\":[\"Music\",\"Software\"]", "cf_industry", NULL},
		{"\"Birthday\":\"2024-02-29\"", "cf_birthday", "\"2024-02-29\""},
		{"\"Birthday\":\"2024/2/9\"", "cf_birthday", "\"2024-02-09\""},
		{"\"Birthday\":\"2024.02.29\"", "cf_birthday", "\"2024-02-29\""},
		{"\"Birthday\":\"2024-02-29 10:30\"", "cf_birthday", "\"2024-02-29\""},
		{"\"Birthday\":\"29 Feb 2024\"", "cf_birthday", "\"2024-02-29\""},
		{"\"Birthday\":\"29-feb-2024\"", "cf_birthday", "\"2024-02-29\""},
		{"\"Birthday\":\"February 29, 2024\"", "cf_birthday", "\"2024-02-29\""},
		{"\"Birthday\":\"Sept 3 1990\"", "cf_birthday", "\"1990-09-03\""},
		{"\"Birthday\":\"01/02/2024\"", "cf_birthday", NULL},
		{"\"Birthday\":\"02-01-24\"", "cf_birthday", NULL},
		{"\"Birthday\":\"2024-02-30\"", "cf_birthday", NULL},
		{"\"Birthday\":\"2023-02-29\"", "cf_birthday", NULL},
		{"\"Birthday\":\"1990-13-01\"", "cf_birthday", NULL},
		{"\"Birthday\":\"2024/02-29\"", "cf_birthday", NULL},
		{"\"Birthday\":\"1990-01-01x\"", "cf_birthday", NULL},
		{"\"Birthday\":\"30 Feb 2024\"", "cf_birthday", NULL},
		{"\"Birthday\":\"Febr 3, 2024\"", "cf_birthday", NULL},
		{"\"Birthday\":19900101", "cf_birthday", NULL},
		{"\"Topics\":[\"pricing\",\"EVENTS\"]", "cf_topics", "\"Pricing;Events\""},
		{"\"Topics\":\"product news\"", "cf_topics", "\"Product news\""},
		{"\"Topics\":[\"Pricing\",\"\",\"Events\"]", "cf_topics", "\"Pricing;Events\""},
		{"\"Topics\":[\"Pricing\",\"Gossip\"]", "cf_topics", NULL},
		{"\"Free choice\":[\"a\",\"b\"]", "cf_free", "[\"a\",\"b\"]"}, /* unknown: as is */
		{"\"Notes\":\"short\"", "cf_notes", "\"short\""},
		{"\"Notes\":\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"",
		 "cf_notes", "\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\""},
		{"\"Notes\":\"eleven char\"", "cf_notes", NULL},
		{"\"Tags\":\"vip\"", "tags", "[\"vip\"]"},
		{"\"Odd\":\"x\"", "cf_odd", "\"x\""},
		{"\"Signup Source\":[\"a\",\"\",\"b\"]", "cf_signup_source", "\"a, b\""},
		{"\"Signup Source\":true", "cf_signup_source", "\"true\""},
		{"\"Signup Source\":[[\"x\"]]", "cf_signup_source", NULL},
		{"\"Signup Source\":\"\"", "cf_signup_source", "-"},
		{"\"Signup Source\":\"  \"", "cf_signup_source", "-"},
		{"\"Signup Source\":null", "cf_signup_source", "-"},
		{"\"Signup Source\":[]", "cf_signup_source", "-"},
		{"\"Signup Source\":[\"\",\" \"]", "cf_signup_source", "-"},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char msg[256];
		cJSON *b;
		const cJSON *v;
		char *printed = NULL;

		snprintf(msg, sizeof msg, "{\"userId\":\"u\",\"traits\":{\"email\":\"a@b.c\",%s}}",
		         cases[i].trait_json);
		b = build(msg, NULL, f, FMB_KEY_EXTERNAL_ID);
		v = cfield(b, cases[i].field);
		if (v)
			printed = cJSON_PrintUnformatted(v);
		if (!cases[i].want) {
			T(b == NULL && last_err == FMB_EINVALID, "refused: %s (got %s)",
			  cases[i].trait_json, printed);
			T_STREQ(rep.field, cases[i].field, "report names the field: %s", cases[i].trait_json);
			T(rep.expected && *rep.expected, "report says what it takes");
		} else if (strcmp(cases[i].want, "-") == 0) {
			T(b && v == NULL, "left out: %s (got %s)", cases[i].trait_json, printed);
		} else {
			T_STREQ(printed, cases[i].want, "conversion %s", cases[i].trait_json);
			T(b != NULL && cfield(b, "emails"), "rest of the body intact: %s", cases[i].trait_json);
		}
		free(printed);
		cJSON_Delete(b);
	}
}

/* A refused value names its trait and the mapping's field; nothing is built. */
static void test_invalid_report(const struct fm_fields *f)
{
	struct map_field fields[] = {
		{.name = "e", .trait = "email"},
		{.name = "size", .trait = "Employees", .type = MAP_TEXT},
		{.name = "when", .trait = "Birthday"},
	};
	struct map_constant consts[] = {
		{.trait = "Const num", .value = "many", .fm_field = "cf_employees"},
	};
	struct map_form form = {.id = "f", .fields = fields, .n_fields = 3,
	                        .constants = consts, .n_constants = 0};
	cJSON *b;

	b = build("{\"userId\":\"u\",\"traits\":{\"email\":\"a@b.c\",\"Employees\":\"lots\","
	          "\"Birthday\":\"01/02/2024\"}}", &form, f, FMB_KEY_EXTERNAL_ID);
	T(!b && last_err == FMB_EINVALID, "refused");
	T_STREQ(rep.trait, "Employees", "first refused trait");
	T_STREQ(rep.form_field, "size", "mapped back to the form field");
	T_STREQ(rep.field, "cf_employees", "the Freshmarketer field");
	T_STREQ(rep.expected, "a number", "what it takes");
	T(noted(FMB_INVALID, "Birthday", "cf_birthday"), "later refusals noted too");
	T(strcmp(fmb_strerror(FMB_EINVALID), "ok") != 0, "strerror");

	form.n_constants = 1;
	b = build("{\"userId\":\"u\",\"traits\":{\"email\":\"a@b.c\",\"Const num\":\"many\"}}",
	          &form, f, FMB_KEY_EXTERNAL_ID);
	T(!b && last_err == FMB_EINVALID && rep.form_field == NULL,
	  "a constant that does not fit: no form field");
}

/* value-when-checked: a checked box sends the text, an unchecked one nothing. */
static void test_checked(const struct fm_fields *f)
{
	struct map_field fields[] = {
		{.name = "e", .trait = "email"},
		{.name = "optin", .trait = "newsletterConsent", .type = MAP_BOOLEAN,
		 .fm_field = "subscription_status", .consent = "Send me the newsletter",
		 .value_when_checked = "subscribed"},
		{.name = "vip", .trait = "Newsletter", .type = MAP_BOOLEAN,
		 .value_when_checked = "yes"},
	};
	struct map_form form = {.id = "f", .fields = fields, .n_fields = 3};
	const cJSON *v;
	cJSON *b;

	b = build("{\"userId\":\"u\",\"traits\":{\"email\":\"a@b.c\",\"newsletterConsent\":true,"
	          "\"Newsletter\":true}}", &form, f, FMB_KEY_EXTERNAL_ID);
	v = cfield(b, "subscription_status");
	T(cJSON_IsNumber(v) && v->valuedouble == 1, "checked: the choice's id, as stored live");
	T(cJSON_IsTrue(cfield(b, "cf_newsletter")), "by label: converted by the field's type");
	T(noted(FMB_SET_FM_FIELD, "newsletterConsent", "subscription_status"), "noted");
	cJSON_Delete(b);

	b = build("{\"userId\":\"u\",\"traits\":{\"email\":\"a@b.c\",\"newsletterConsent\":false}}",
	          &form, f, FMB_KEY_EXTERNAL_ID);
	T(b && cfield(b, "subscription_status") == NULL, "unchecked: nothing sent, never unsubscribes");
	T(noted(FMB_DROP_UNCHECKED, "newsletterConsent", "subscription_status"), "noted unchecked");
	cJSON_Delete(b);

	fields[1].value_when_checked = "Maybe";
	b = build("{\"userId\":\"u\",\"traits\":{\"email\":\"a@b.c\",\"newsletterConsent\":true}}",
	          &form, f, FMB_KEY_EXTERNAL_ID);
	T(!b && last_err == FMB_EINVALID, "a value-when-checked that is no choice is refused");
}

static void test_override_privileged(const struct fm_fields *f)
{
	struct map_field fields[] = {
		{.name = "size", .trait = "Company size", .fm_field = "cf_employees"},
		{.name = "src", .trait = "Topic", .fm_field = "cf_signup_source"},
		{.name = "fn", .trait = "firstName", .fm_field = "job_title"},
		{.name = "stage", .trait = "Stage", .fm_field = "lifecycle_stage_id"},
		{.name = "ext", .trait = "Ext", .fm_field = "external_id"},
		{.name = "e", .trait = "email"},
	};
	struct map_constant consts[] = {
		{.trait = "Owner pick", .value = "bob sales", .fm_field = "owner_id"},
		{.trait = "Sub", .value = "subscribed", .fm_field = "subscription_status"},
		{.trait = "Bad owner", .value = "99", .fm_field = "territory_id"},
	};
	struct map_form form = {.id = "contact", .fields = fields, .n_fields = 6,
	                        .constants = consts, .n_constants = 3};
	const char *msg =
		"{\"userId\":\"u\",\"traits\":{\"email\":\"a@b.c\",\"Company size\":\"40\","
		"\"Topic\":\"webinar\",\"firstName\":\"Ann\",\"Stage\":\"customer\",\"Ext\":\"evil\","
		"\"Owner pick\":\"bob sales\",\"Sub\":\"subscribed\",\"Bad owner\":\"99\","
		"\"Lifecycle stage\":\"Lead\",\"Owner\":\"Ann Admin\",\"Subscription status\":\"Unsubscribed\","
		"\"External ID\":\"evil2\",\"Job title\":\"by label\",\"Emails\":\"x@y.z\"}}";
	cJSON *b = build(msg, &form, f, FMB_KEY_EXTERNAL_ID);
	const cJSON *v;

	T(b != NULL, "built");
	v = cfield(b, "cf_employees");
	T(cJSON_IsNumber(v) && v->valuedouble == 40, "fm-field to a custom number");
	T_STREQ(cstr(b, "cf_signup_source"), "webinar", "fm-field to custom text");
	T_STREQ(cstr(b, "job_title"), "Ann", "fm-field overrides a reserved trait");
	T(cfield(b, "first_name") == NULL, "overridden reserved trait not also sent");
	v = cfield(b, "lifecycle_stage_id");
	T(cJSON_IsNumber(v) && v->valuedouble == 73, "privileged via fm-field: choice id");
	v = cfield(b, "owner_id");
	T(cJSON_IsNumber(v) && v->valuedouble == 2, "owner by choice value, ignoring case");
	v = cfield(b, "subscription_status");
	T(cJSON_IsNumber(v) && v->valuedouble == 1, "subscription_status gets the choice's id");
	v = cfield(b, "territory_id");
	T(cJSON_IsNumber(v) && v->valuedouble == 99, "*_id field missing from the list: integer");
	T_STREQ(cstr(b, "external_id"), "u", "external_id only from userId");
	T_STREQ(cstr(b, "emails"), "a@b.c", "emails only from the email trait");
	T(n_keys(cJSON_GetObjectItemCaseSensitive(b, "contact")) == 8,
	  "labels to privileged or identity fields left out (%zu keys)",
	  n_keys(cJSON_GetObjectItemCaseSensitive(b, "contact")));
	cJSON_Delete(b);

	/* id accepted as the value; an id not among the choices refused */
	consts[0].value = "1";
	b = build("{\"userId\":\"u\",\"traits\":{\"email\":\"a@b.c\",\"Owner pick\":\"1\","
	          "\"Stage\":\"73\"}}", &form, f, FMB_KEY_EXTERNAL_ID);
	v = cfield(b, "owner_id");
	T(cJSON_IsNumber(v) && v->valuedouble == 1, "id given directly");
	v = cfield(b, "lifecycle_stage_id");
	T(cJSON_IsNumber(v) && v->valuedouble == 73, "choice id given directly");
	cJSON_Delete(b);
	b = build("{\"userId\":\"u\",\"traits\":{\"email\":\"a@b.c\",\"Stage\":\"72\"}}",
	          &form, f, FMB_KEY_EXTERNAL_ID);
	T(!b && last_err == FMB_EINVALID && strcmp(rep.form_field, "stage") == 0,
	  "id not among the choices: refused for its form field");

	/* without the field list: *_id fields take integers, cf_ as is */
	b = build("{\"userId\":\"u\",\"traits\":{\"email\":\"a@b.c\",\"Owner pick\":\"1\","
	          "\"Topic\":\"w\",\"Industry\":\"Music\"}}",
	          &form, NULL, FMB_KEY_EXTERNAL_ID);
	v = cfield(b, "owner_id");
	T(cJSON_IsNumber(v) && v->valuedouble == 1, "no list: id from integer text");
	T_STREQ(cstr(b, "cf_signup_source"), "w", "no list: fm-field custom sent as is");
	T(cfield(b, "cf_industry") == NULL, "no list: label trait left out");
	cJSON_Delete(b);
	b = build("{\"userId\":\"u\",\"traits\":{\"email\":\"a@b.c\",\"Stage\":\"customer\"}}",
	          &form, NULL, FMB_KEY_EXTERNAL_ID);
	T(!b && last_err == FMB_EINVALID, "no list: a dropdown label cannot convert");
}

/* A checked consent box with consent-record: one line in the labelled text
 * field; nothing when unchecked; refused like a label match. */
static void test_consent_record(const struct fm_fields *f)
{
	struct map_field fields[] = {
		{.name = "e", .trait = "email"},
		{.name = "optin", .trait = "agreed", .type = MAP_BOOLEAN,
		 .consent = "I agree to the \"terms\"", .consent_record = "signup source"},
	};
	struct map_form form = {.id = "newsletter", .fields = fields, .n_fields = 2};
	const char *yes = "{\"userId\":\"u\",\"timestamp\":\"2026-12-03T04:05:06.789Z\","
	                  "\"traits\":{\"email\":\"a@b.c\",\"agreed\":true}}";
	struct submission sub;
	cJSON *b;

	b = build(yes, &form, f, FMB_KEY_EXTERNAL_ID);
	T_STREQ(cstr(b, "cf_signup_source"),
	        "2026-12-03T04:05:06Z, form newsletter: I agree to the \"terms\"",
	        "the record: time to the second, form, text");
	T(noted(FMB_SET_LABEL, "agreed (consent record)", "cf_signup_source"), "noted");
	cJSON_Delete(b);
	b = build("{\"userId\":\"u\",\"timestamp\":\"2026-12-03T04:05:06.789Z\","
	          "\"traits\":{\"email\":\"a@b.c\",\"agreed\":false}}", &form, f,
	          FMB_KEY_EXTERNAL_ID);
	T(b && !cfield(b, "cf_signup_source"), "unchecked: no record");
	cJSON_Delete(b);
	fields[1].fm_field = "job_title";   /* the box itself needs no list */
	sub_of(yes, &form, &sub);
	T(fm_body_needs_fields(&sub), "a record needs the field list");
	submission_free(&sub);
	fields[1].fm_field = NULL;
	fields[1].consent_record = "Notes";
	b = build(yes, &form, f, FMB_KEY_EXTERNAL_ID);
	T_STREQ(cstr(b, "cf_notes"), "2026-12-03", "held to the field's max_length");
	cJSON_Delete(b);
	fields[1].consent_record = "Owner";
	b = build(yes, &form, f, FMB_KEY_EXTERNAL_ID);
	T(b && !cfield(b, "owner_id") && noted(FMB_DROP_PRIVILEGED, "agreed (consent record)",
	  "owner_id"), "a privileged field's label: left out");
	cJSON_Delete(b);
	fields[1].consent_record = "No such label";
	b = build(yes, &form, f, FMB_KEY_EXTERNAL_ID);
	T(b && noted(FMB_DROP_NO_FIELD, "agreed (consent record)", NULL), "no field: left out");
	cJSON_Delete(b);
	fields[1].consent_record = "Signup Source";
	b = build(yes, &form, NULL, FMB_KEY_EXTERNAL_ID);
	T(b && noted(FMB_DROP_NO_LIST, "agreed (consent record)", NULL), "no list: left out");
	cJSON_Delete(b);
}

static void test_needs_fields(void)
{
	struct map_field fields[] = {
		{.name = "a", .trait = "Company size", .fm_field = "cf_employees"},
		{.name = "b", .trait = "Pos", .fm_field = "job_title"},
	};
	struct map_form form = {.id = "f", .fields = fields, .n_fields = 2};
	static const struct {
		const char *traits;
		bool want;
	} cases[] = {
		{"\"email\":\"a@b.c\",\"firstName\":\"A\",\"name\":\"A B\",\"address\":{\"city\":\"X\"}", false},
		{"\"email\":\"a@b.c\",\"Pos\":\"CEO\"", false},
		{"\"email\":\"a@b.c\",\"Industry\":\"Music\"", true},
		{"\"email\":\"a@b.c\",\"Industry\":\"\"", false},
		{"\"email\":\"a@b.c\",\"Company size\":5", true},
		{"\"email\":\"a@b.c\",\"address\":{\"region\":\"X\"}", true},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char msg[512];
		struct submission sub;

		snprintf(msg, sizeof msg, "{\"userId\":\"u\",\"traits\":{%s}}", cases[i].traits);
		sub_of(msg, &form, &sub);
		T(fm_body_needs_fields(&sub) == cases[i].want, "needs_fields: %s", cases[i].traits);
		submission_free(&sub);
	}
}

static void test_keys(void)
{
	cJSON *b = build("{\"userId\":\"u-1\",\"traits\":{\"email\":\"a@b.c\"}}", NULL, NULL,
	                 FMB_KEY_EMAILS);
	const cJSON *ui = cJSON_GetObjectItemCaseSensitive(b, "unique_identifier");
	struct submission sub;
	cJSON *out = (cJSON *)1;

	T(n_keys(ui) == 1 && cJSON_GetObjectItemCaseSensitive(ui, "emails"), "keyed on emails");
	T_STREQ(cJSON_GetObjectItemCaseSensitive(ui, "emails")->valuestring, "a@b.c", "email key");
	T_STREQ(cstr(b, "external_id"), "u-1", "adoption sets external_id");
	cJSON_Delete(b);

	sub_of("{\"traits\":{\"email\":\"a@b.c\"}}", NULL, &sub);
	T(fm_body_build(&sub, NULL, FMB_KEY_EXTERNAL_ID, NULL, &out) == FMB_ENOIDENT && !out,
	  "no userId");
	T(fm_body_build(&sub, NULL, FMB_KEY_EMAILS, NULL, &out) == FMB_OK && out,
	  "email key ok, no report");
	T(cfield(out, "external_id") == NULL, "no external_id without userId");
	cJSON_Delete(out);
	submission_free(&sub);
	sub_of("{\"userId\":\"\",\"traits\":{\"email\":\"\"}}", NULL, &sub);
	T(fm_body_build(&sub, NULL, FMB_KEY_EXTERNAL_ID, NULL, &out) == FMB_ENOIDENT, "empty userId");
	T(fm_body_build(&sub, NULL, FMB_KEY_EMAILS, NULL, &out) == FMB_ENOIDENT, "empty email");
	T(sub.user_id == NULL && sub.email == NULL, "empty ids read back as none");
	submission_free(&sub);
	sub_of("{\"userId\":7,\"traits\":[]}", NULL, &sub);
	T(fm_body_build(&sub, NULL, FMB_KEY_EXTERNAL_ID, NULL, &out) == FMB_ENOIDENT,
	  "userId must be a string");
	submission_free(&sub);
}

/* The types seen live: radio, subscription ids, unknown types. */
static void test_live_types(const struct fm_fields *f)
{
	struct map_field fields[] = {
		{.name = "e", .trait = "email"},
		{.name = "types", .trait = "Lists", .multiple = true, .fm_field = "subscription_types"},
		{.name = "status", .trait = "Status", .fm_field = "subscription_status"},
	};
	struct map_form form = {.id = "f", .fields = fields, .n_fields = 3};
	const char *expected;
	const cJSON *v;
	cJSON *b, *in, *out;

	T(fm_fields_by_name(f, "cf_contact_pref")->type == FMF_DROPDOWN, "radio: one of its choices");
	b = build("{\"userId\":\"u\",\"traits\":{\"email\":\"a@b.c\","
	          "\"Preferred contact\":\"phone\",\"Lists\":[\"events\",\"Newsletter\"],"
	          "\"Status\":\"2\",\"Odd\":\"x\"}}", &form, f, FMB_KEY_EXTERNAL_ID);
	T_STREQ(cstr(b, "cf_contact_pref"), "Phone", "radio: the choice's value");
	T_STREQ(cstr(b, "subscription_types"), "3;1", "subscription_types: ids joined by ';'");
	v = cfield(b, "subscription_status");
	T(cJSON_IsNumber(v) && v->valuedouble == 2, "subscription_status: an id is taken as one");
	T_STREQ(cstr(b, "cf_odd"), "x", "unknown type: sent as it is");
	T(noted(FMB_SENT_UNCHECKED, "Odd", "cf_odd"), "and noted, for a warning");
	T(!noted(FMB_SENT_UNCHECKED, "Preferred contact", "cf_contact_pref"), "known types are not");
	cJSON_Delete(b);

	b = build("{\"userId\":\"u\",\"traits\":{\"email\":\"a@b.c\",\"Preferred contact\":\"Fax\"}}",
	          &form, f, FMB_KEY_EXTERNAL_ID);
	T(!b && last_err == FMB_EINVALID, "radio: no such choice is refused");
	b = build("{\"userId\":\"u\",\"traits\":{\"email\":\"a@b.c\",\"Lists\":[\"Events\",\"9\"]}}",
	          &form, f, FMB_KEY_EXTERNAL_ID);
	T(!b && last_err == FMB_EINVALID, "subscription_types: an unknown id is refused");

	/* the look-ups `fmgate check --online` uses */
	T_STREQ(fm_body_reserved_field("address.postalCode"), "zipcode", "reserved trait");
	T(fm_body_reserved_field("Industry") == NULL, "not reserved");
	T(fm_body_privileged("owner_id") && !fm_body_privileged("cf_industry"), "privileged");
	{
		static const char *const refused[] = { "owner_id", "territory_id", "lead_source_id",
			"lifecycle_stage_id", "contact_status_id", "subscription_status",
			"subscription_types", "campaign_id", "cf_partner_id", "id", "sales_account_id",
			"x_id", "cf_Partner_ID", "Campaign_Id" };
		static const char *const allowed[] = { "cf_industry", "cf_idea", "external_id",
			"emails", "first_name", "cf_id_card", "idx", "cf_paid" };

		for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
			T(fm_body_label_refused(refused[i]), "no label leads to %s", refused[i]);
		for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
			T(!fm_body_label_refused(allowed[i]), "%s: not refused as an id", allowed[i]);
	}
	in = cJSON_CreateString("software");
	T(fm_body_convert(f, "cf_industry", in, &out, &expected) == FMB_OK &&
	  cJSON_IsString(out) && strcmp(out->valuestring, "Software") == 0, "convert: a choice");
	cJSON_Delete(out);
	T(fm_body_convert(f, "cf_employees", in, &out, &expected) == FMB_EINVALID && !out &&
	  strcmp(expected, "a number") == 0, "convert: refused, with what it takes");
	cJSON_Delete(in);
	in = cJSON_CreateString("  ");
	T(fm_body_convert(f, "cf_employees", in, &out, &expected) == FMB_OK && !out,
	  "convert: blank is nothing");
	cJSON_Delete(in);
}

int main(void)
{
	struct fm_fields *f = NULL;

	test_fields_parse();
	if (fm_fields_parse(fields_json, strlen(fields_json), 0, &f) != FMF_OK)
		return 2;
	test_reserved();
	test_address_and_name();
	test_labels(f);
	test_conversions(f);
	test_invalid_report(f);
	test_checked(f);
	test_consent_record(f);
	test_override_privileged(f);
	test_needs_fields();
	test_keys();
	test_live_types(f);
	fm_fields_free(f);
	T_DONE();
}
