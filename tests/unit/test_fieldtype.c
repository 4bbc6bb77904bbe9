/*
 * test_fieldtype.c: value checks and conversions by mapping type.
 */
#include <stdlib.h>
#include <string.h>

#include "fieldtype.h"
#include "t.h"

/* Converts the NUL-terminated s and prints the JSON, or "ERR:<code>". */
static char *conv(enum map_type type, const char *s)
{
	static char buf[512];
	cJSON *item = NULL;
	enum ft_err e = fieldtype_convert(type, s, strlen(s), &item);
	char *p;

	if (e != FT_OK) {
		snprintf(buf, sizeof buf, "ERR:%d", (int)e);
		T(item == NULL, "no item on error for \"%s\"", s);
		return buf;
	}
	p = cJSON_PrintUnformatted(item);
	snprintf(buf, sizeof buf, "%s", p ? p : "(print failed)");
	free(p);
	cJSON_Delete(item);
	return buf;
}

static bool email_ok(const char *s)
{
	return ft_email_valid(s, strlen(s));
}

static void test_email(void)
{
	static const char *valid[] = {
		"a@b.c", "a.b+c@ex-ample.co.uk", "UPPER@EXAMPLE.COM",
		"!#$%&'*+/=?^_`{|}~-.@x.y", ".a..b.@example.com", "1@2.3", "a@b-c.d-e",
	};
	static const char *invalid[] = {
		"", "ab", "a@b@c", "@b", "a@", "a@-b", "a@b-", "a@b.-c", "a@b.c-",
		"a b@c", "a@b c", " a@b", "\"a\"@b", "\"a b\"@example.com",
		"a@[1.2.3.4]", "a@[IPv6:::1]", "a@b.", "a@.b", "a@b..c", "a@b_c",
		"\xc3\xa9@b", "a@\xc3\xa9", "a(b)@c", "a,b@c", "a@b:25", "a\\b@c",
		/* No dot in the domain: Freshworks refuses these. */
		"a@b", "user@localhost", "1@2", "a@b-c", "!#$%&'*+/=?^_`{|}~-.@x",
	};
	char label[80], addr[300];
	size_t i;

	for (i = 0; i < sizeof valid / sizeof valid[0]; i++)
		T(email_ok(valid[i]), "valid email \"%s\"", valid[i]);
	for (i = 0; i < sizeof invalid / sizeof invalid[0]; i++)
		T(!email_ok(invalid[i]), "invalid email \"%s\"", invalid[i]);

	/* Labels: 63 bytes pass, 64 do not. */
	memset(label, 'x', 63);
	label[63] = '\0';
	snprintf(addr, sizeof addr, "a@%s.com", label);
	T(email_ok(addr), "63-byte label");
	snprintf(addr, sizeof addr, "a@%sx.com", label);
	T(!email_ok(addr), "64-byte label");
	snprintf(addr, sizeof addr, "a@b.%sx", label);
	T(!email_ok(addr), "64-byte last label");

	/* The whole address: 254 bytes pass, 255 do not. */
	memset(addr, 'l', 250);
	memcpy(addr + 250, "@b.c", 5);
	T(strlen(addr) == 254 && email_ok(addr), "254-byte address valid");
	memset(addr, 'l', 251);
	memcpy(addr + 251, "@b.c", 5);
	T(strlen(addr) == 255 && !email_ok(addr), "255-byte address invalid");

	/* Explicit length: a NUL inside, and a value not NUL-terminated at len. */
	T(!ft_email_valid("a@b.c\0d", 7), "embedded NUL");
	T(ft_email_valid("a@b.cXYZ", 5), "reads only len bytes");
	T(!ft_email_valid("a@b.cXYZ", 3), "a@b of a longer string: no dot within len");
	T(!ft_email_valid(NULL, 0), "NULL");

	/* The mapping's own addresses keep the grammar without the dot; the
	 * visitor's rule still refuses a@b. */
	T(ft_email_grammar("ops@intranet", 12) && ft_email_grammar("forms@localhost", 15) &&
	  ft_email_grammar("a@b", 3), "operator addresses need no dot");
	T(!ft_email_grammar("a@b.", 4) && !ft_email_grammar("a@", 2) && !ft_email_grammar("a@-b", 4),
	  "operator addresses keep the rest of the grammar");
	T_STREQ(conv(MAP_EMAIL, "a@b"), "ERR:1", "a visitor's a@b is refused");
	T_STREQ(conv(MAP_EMAIL, "ops@intranet"), "ERR:1", "a visitor's ops@intranet is refused");

	T_STREQ(conv(MAP_EMAIL, "UPPER@EXAMPLE.COM"), "\"upper@example.com\"", "lower-cased");
	T_STREQ(conv(MAP_EMAIL, "a.b+c@ex-ample.co.uk"), "\"a.b+c@ex-ample.co.uk\"", "kept");
	T_STREQ(conv(MAP_EMAIL, "a@b@c"), "ERR:1", "invalid email converts to EINVALID");
}

static void test_number(void)
{
	static const char *valid[][2] = {
		{ "0", "0" }, { "-12", "-12" }, { "3.25", "3.25" }, { "007", "7" },
		{ "-0.5", "-0.5" }, { "42", "42" }, { "1234567890", "1234567890" },
		{ "0.000", "0" },
	};
	static const char *invalid[] = {
		"", "+1", "1e5", "1E5", "0x10", "inf", "-inf", "nan", "NaN", "1.",
		".5", "-", "-.5", "1 2", "--1", "1,5", "1.2.3", "١", " 1", "1 ",
		"Infinity",
	};
	char big[40];
	size_t i;

	for (i = 0; i < sizeof valid / sizeof valid[0]; i++)
		T_STREQ(conv(MAP_NUMBER, valid[i][0]), valid[i][1], "number \"%s\"", valid[i][0]);
	for (i = 0; i < sizeof invalid / sizeof invalid[0]; i++)
		T(!ft_number_valid(invalid[i], strlen(invalid[i])), "invalid number \"%s\"", invalid[i]);

	memset(big, '9', 32);
	big[32] = '\0';
	T(ft_number_valid(big, 32), "32 digits");
	big[32] = '9';
	big[33] = '\0';
	T(!ft_number_valid(big, 33), "33 digits");
	T_STREQ(conv(MAP_NUMBER, "12abc"), "ERR:1", "junk number");
	T(ft_number_valid("12abc", 2), "reads only len bytes");
}

static void test_boolean(void)
{
	static const char *yes[] = { "on", "ON", "yes", "Yes", "true", "TRUE", "1" };
	static const char *no[] = { "off", "Off", "no", "NO", "false", "False", "0" };
	static const char *bad[] = { "", "2", "y", "n", "truee", "tru", "o", "-1",
	                             "01", "yes ", "nein" };
	size_t i;
	bool b;

	for (i = 0; i < sizeof yes / sizeof yes[0]; i++)
		T_STREQ(conv(MAP_BOOLEAN, yes[i]), "true", "boolean \"%s\"", yes[i]);
	for (i = 0; i < sizeof no / sizeof no[0]; i++)
		T_STREQ(conv(MAP_BOOLEAN, no[i]), "false", "boolean \"%s\"", no[i]);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		T(!ft_boolean_parse(bad[i], strlen(bad[i]), &b), "bad boolean \"%s\"", bad[i]);
	T(ft_boolean_parse("yesterday", 3, &b) && b, "reads only len bytes");
}

static void test_date(void)
{
	static const char *valid[] = { "2024-02-29", "2000-02-29", "2023-02-28",
	                               "0001-01-01", "9999-12-31", "2024-04-30",
	                               "2024-01-31" };
	static const char *invalid[] = { "2023-02-29", "1900-02-29", "2024-13-01",
	                                 "2024-00-10", "2024-01-00", "2024-04-31",
	                                 "2024-01-32", "0000-01-01", "2024-1-01",
	                                 "2024/01/01", "2024-01-01x", "24-01-01",
	                                 "2024-01-0a", "+024-01-01", "",
	                                 "2024-01-01T00:00:00Z" };
	size_t i;

	for (i = 0; i < sizeof valid / sizeof valid[0]; i++)
		T(ft_date_valid(valid[i], strlen(valid[i])), "valid date %s", valid[i]);
	for (i = 0; i < sizeof invalid / sizeof invalid[0]; i++)
		T(!ft_date_valid(invalid[i], strlen(invalid[i])), "invalid date %s", invalid[i]);
	T_STREQ(conv(MAP_DATE, "2024-02-29"), "\"2024-02-29\"", "date output");
	T_STREQ(conv(MAP_DATE, "2023-02-29"), "ERR:1", "date error");
	T_STREQ(conv(MAP_DATE, "29 February 2024"), "\"2024-02-29\"", "a type=date field normalises");
	T_STREQ(conv(MAP_DATE, "01/02/2024"), "ERR:1", "ambiguous date refused");
}

static void test_date_forms(void)
{
	static const struct {
		const char *in, *out;  /* out NULL: refused */
	} cases[] = {
		{ "2024-02-29", "2024-02-29" },
		{ "2024/02/29", "2024-02-29" },
		{ "2024.2.9", "2024-02-09" },
		{ "2024-02-29T23:59:59+05:00", "2024-02-29" },
		{ "2024-02-29 08:00", "2024-02-29" },
		{ "29 Feb 2024", "2024-02-29" },
		{ "9 february 2024", "2024-02-09" },
		{ "29-Feb-2024", "2024-02-29" },
		{ "Feb 29, 2024", "2024-02-29" },
		{ "FEBRUARY 29 2024", "2024-02-29" },
		{ "Sept 30, 2023", "2023-09-30" },
		{ "Sep 30 2023", "2023-09-30" },
		{ "May 1, 2023", "2023-05-01" },
		{ "1 May 0001", "0001-05-01" },
		{ "01/02/2024", NULL },
		{ "02/01/2024", NULL },
		{ "2024-02-30", NULL },
		{ "2023-02-29", NULL },
		{ "29 Feb 24", NULL },
		{ "Feb 29, 24", NULL },
		{ "2024-02", NULL },
		{ "2024-02-29T", NULL },
		{ "2024-02-29Tnoon", NULL },
		{ "2024/02-29", NULL },
		{ "2024-002-29", NULL },
		{ "20240229", NULL },
		{ "29 Fe 2024", NULL },
		{ "29 Febr 2024", NULL },
		{ "29 Feb, 2024", NULL },
		{ "Feb29, 2024", NULL },
		{ "29  Feb  2024", "2024-02-29" },
		{ "0000-01-01", NULL },
		{ "", NULL },
		{ "31 Apr 2024", NULL },
	};
	char out[FT_DATE_SIZE], longd[80];
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		bool ok = ft_date_normalise(cases[i].in, strlen(cases[i].in), out);

		if (cases[i].out)
			T(ok && strcmp(out, cases[i].out) == 0, "date \"%s\" -> %s (got %s)",
			  cases[i].in, cases[i].out, ok ? out : "refused");
		else
			T(!ok, "date \"%s\" refused (got %s)", cases[i].in, ok ? out : "-");
	}
	T(ft_date_normalise("2024-02-29xyz", 10, out) && strcmp(out, "2024-02-29") == 0,
	  "reads only len bytes");
	memset(longd, '1', sizeof longd);
	memcpy(longd, "2024-02-29T", 11);
	T(!ft_date_normalise(longd, FT_MAX_DATE + 1, out), "longer than FT_MAX_DATE refused");
	T(ft_date_normalise(longd, FT_MAX_DATE, out), "FT_MAX_DATE accepted");
}

static void test_phone(void)
{
	static const char *valid[] = { "+1 (555) 123-4567", "12345", "555.123.4567",
	                               "+33 1 23 45 67 89", "(0)12345" };
	static const char *invalid[] = { "", "1234", "12345a", "+++++-----",
	                                 "1234 ext", "12345#", "12345/6",
	                                 "\xd9\xa1\xd9\xa2\xd9\xa3\xd9\xa4\xd9\xa5" };
	char longp[40];
	size_t i;

	for (i = 0; i < sizeof valid / sizeof valid[0]; i++)
		T(ft_phone_valid(valid[i], strlen(valid[i])), "valid phone %s", valid[i]);
	for (i = 0; i < sizeof invalid / sizeof invalid[0]; i++)
		T(!ft_phone_valid(invalid[i], strlen(invalid[i])), "invalid phone %s", invalid[i]);
	memset(longp, '1', 32);
	longp[32] = '\0';
	T(ft_phone_valid(longp, 32), "32-byte phone");
	longp[32] = '1';
	longp[33] = '\0';
	T(!ft_phone_valid(longp, 33), "33-byte phone");
	T(!ft_phone_valid("12\0" "345", 6), "embedded NUL");
	T_STREQ(conv(MAP_PHONE, "+1 (555) 123-4567"), "\"+1 (555) 123-4567\"", "phone output");
}

static void test_text(void)
{
	cJSON *item = (cJSON *)1;

	T_STREQ(conv(MAP_TEXT, "h\xc3\xa9llo \"x\""), "\"h\xc3\xa9llo \\\"x\\\"\"", "text");
	T_STREQ(conv(MAP_TEXT, "\xff"), "ERR:1", "invalid UTF-8 text");
	T_STREQ(conv(MAP_TEXT, "\xc0\xaf"), "ERR:1", "overlong UTF-8 text");
	T(fieldtype_convert(MAP_TEXT, "ab\0cd", 5, &item) == FT_EINVALID && item == NULL,
	  "embedded NUL text");
	T(fieldtype_convert(MAP_TEXT, "abcdef", 3, &item) == FT_OK, "explicit length");
	T_STREQ(cJSON_GetStringValue(item), "abc", "explicit length copies len bytes");
	cJSON_Delete(item);
	T(fieldtype_convert((enum map_type)99, "x", 1, &item) == FT_EINVALID && item == NULL,
	  "unknown type");
	T(fieldtype_convert(MAP_TEXT, NULL, 0, &item) == FT_EINVALID, "NULL value");
	T_STREQ(ft_strerror(FT_OK), "ok", "strerror ok");
	T_STREQ(ft_strerror(FT_EINVALID), "value does not fit its type", "strerror");
	T_STREQ(ft_strerror((enum ft_err)42), "unknown error", "strerror unknown");
}

int main(void)
{
	test_email();
	test_number();
	test_boolean();
	test_date();
	test_date_forms();
	test_phone();
	test_text();
	T_DONE();
}
