/* test_fields_print.c: `fmgate fields` output, as a table and as JSON
 * (fields_print.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fields_print.h"
#include "fm_fields.h"
#include "t.h"

static const char fields_json[] =
	"{\"fields\":["
	"{\"name\":\"first_name\",\"label\":\"First name\",\"type\":\"text\"},"
	"{\"name\":\"emails\",\"label\":\"Emails\",\"type\":\"group_field\"},"
	"{\"name\":\"owner_id\",\"label\":\"Owner\",\"type\":\"dropdown\","
	" \"choices\":[{\"id\":1,\"value\":\"Ann Admin\"},{\"id\":2,\"value\":\"Bob Sales\"}]},"
	"{\"name\":\"cf_notes\",\"label\":\"Notes\",\"type\":\"textarea\"},"
	"{\"name\":\"cf_n\",\"label\":\"N\\u001b[31m\",\"type\":\"number\"},"
	"{\"name\":\"cf_many\",\"label\":\"Many\",\"type\":\"multi_select_dropdown\","
	" \"choices\":[{\"id\":11,\"value\":\"Alpha Alpha Alpha\"},{\"id\":12,\"value\":\"Beta Beta Beta\"},"
	"              {\"id\":13,\"value\":\"Gamma Gamma Gamma\"},{\"id\":14,\"value\":\"Delta\"}]},"
	"{\"name\":\"cf_tags\",\"label\":\"Tags\",\"type\":\"auto_complete\"},"
	"{\"name\":\"cf_when\",\"label\":\"When\",\"type\":\"date\"},"
	"{\"name\":\"cf_box\",\"label\":\"Box\",\"type\":\"checkbox\"},"
	"{\"name\":\"cf_f\",\"label\":\"F\",\"type\":\"formula\"},"
	"{\"name\":\"cf_odd\",\"label\":\"Odd\",\"type\":\"ty\\u0007pe\"}"
	"]}";

static const char table[] =
	"LABEL       NAME        TYPE                   CHOICES\n"
	"First name  first_name  text\n"
	"Emails      emails      group_field\n"
	"Owner       owner_id    dropdown               1=Ann Admin, 2=Bob Sales\n"
	"Notes       cf_notes    textarea\n"
	"N\\x1b[31m   cf_n        number\n"
	"Many        cf_many     multi_select_dropdown  11=Alpha Alpha Alpha, 12=Beta Beta Beta, 13=Gamma Gamma G...\n"
	"Tags        cf_tags     auto_complete\n"
	"When        cf_when     date\n"
	"Box         cf_box      checkbox\n"
	"F           cf_f        formula\n"
	"Odd         cf_odd      ty\\x07pe\n";

static char *print(const struct fm_fields *f, bool json, enum fields_print_err *e)
{
	char *out = NULL;
	size_t len = 0;
	FILE *s = open_memstream(&out, &len);

	*e = json ? fields_print_json(f, s) : fields_print_table(f, s);
	fclose(s);
	return out;
}

static void test_json(const struct fm_fields *f)
{
	enum fields_print_err e;
	char *out = print(f, true, &e);
	cJSON *doc = cJSON_Parse(out);
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(doc, "fields");
	const cJSON *owner = cJSON_GetArrayItem(list, 2), *first = cJSON_GetArrayItem(list, 0);
	const cJSON *ch = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(owner, "choices"), 1);

	T(e == FIELDS_PRINT_OK, "json printed");
	T(cJSON_IsArray(list) && cJSON_GetArraySize(list) == 11, "every field in the document");
	T_STREQ(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(owner, "label")), "Owner", "label");
	T_STREQ(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(owner, "name")), "owner_id", "name");
	T_STREQ(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(owner, "type")), "dropdown", "type");
	T(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(ch, "id")) == 2, "choice id a number");
	T_STREQ(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ch, "value")), "Bob Sales",
	        "choice value");
	T(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(first, "choices")) == 0,
	  "a field without choices has an empty list");
	T_STREQ(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(list, 4),
	                                                              "label")),
	        "N\x1b[31m", "the label as the API gave it (JSON escapes it)");
	T(out && strstr(out, "\\u001b") && !strchr(out, '\x1b'), "no raw escape byte in the output");
	cJSON_Delete(doc);
	free(out);
}

/* The choices column is cut between characters, never inside one. */
static void test_cut_utf8(void)
{
	char json[512], want[256], *out;
	struct fm_fields *f = NULL;
	enum fields_print_err e;
	size_t o;

	o = (size_t)snprintf(json, sizeof json, "{\"fields\":[{\"name\":\"x\",\"label\":\"X\","
	                     "\"type\":\"dropdown\",\"choices\":[{\"id\":1,\"value\":\"");
	for (int i = 0; i < 70; i++)
		o += (size_t)snprintf(json + o, sizeof json - o, "\xc3\xa9");
	snprintf(json + o, sizeof json - o, "\"}]}]}");
	/* "1=" and 55 two-byte characters fill the 60 with the "...". */
	o = (size_t)snprintf(want, sizeof want, "LABEL  NAME  TYPE      CHOICES\n"
	                     "X      x     dropdown  1=");
	for (int i = 0; i < 55; i++)
		o += (size_t)snprintf(want + o, sizeof want - o, "\xc3\xa9");
	snprintf(want + o, sizeof want - o, "...\n");
	T(fm_fields_parse(json, strlen(json), 0, &f) == FMF_OK, "list with long choice parses");
	if (!f)
		return;
	out = print(f, false, &e);
	T_STREQ(out, want, "cut after a whole character");
	free(out);
	fm_fields_free(f);
}

int main(void)
{
	struct fm_fields *f = NULL;
	enum fields_print_err e;
	char *out;

	T(fm_fields_parse(fields_json, strlen(fields_json), 0, &f) == FMF_OK, "list parses");
	if (!f)
		T_DONE();
	out = print(f, false, &e);
	T(e == FIELDS_PRINT_OK, "table printed");
	T_STREQ(out, table, "the table");
	free(out);
	test_json(f);
	test_cut_utf8();
	fm_fields_free(f);
	T_DONE();
}
