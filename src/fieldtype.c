/*
 * fieldtype.c: value checks by mapping type (see fieldtype.h).
 *
 * Character classes are written out in ASCII rather than taken from
 * <ctype.h>, whose answers depend on the locale and on the sign of char.
 */
#include "fieldtype.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "text.h"

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* WHATWG local part: atext or '.'. */
static bool is_local_char(unsigned char c)
{
	static const char extra[] = "!#$%&'*+/=?^_`{|}~-.";

	return is_alpha(c) || is_digit(c) ||
	       (c != '\0' && memchr(extra, c, sizeof extra - 1) != NULL);
}

/* The labels of the domain when s[0..len) fits the WHATWG grammar, else 0. */
static size_t email_labels(const char *s, size_t len)
{
	size_t i = 0, start, labels = 0;

	if (s == NULL || len == 0 || len > FT_MAX_EMAIL)
		return 0;
	while (i < len && s[i] != '@') {
		if (!is_local_char((unsigned char)s[i]))
			return 0;
		i++;
	}
	if (i == 0 || i == len)
		return 0;
	i++;
	/* One label per pass; a label ends at '.' or at the end, and a '.' is
	 * always followed by another label, so a trailing dot is an empty one. */
	for (;;) {
		start = i;
		while (i < len && s[i] != '.') {
			unsigned char c = (unsigned char)s[i];

			if (!is_alpha(c) && !is_digit(c) && c != '-')
				return 0;
			i++;
		}
		if (i == start || i - start > FT_MAX_EMAIL_LABEL ||
		    s[start] == '-' || s[i - 1] == '-')
			return 0;
		labels++;
		if (i == len)
			return labels;
		i++;
	}
}

bool ft_email_grammar(const char *s, size_t len)
{
	return email_labels(s, len) >= 1;
}

bool ft_email_valid(const char *s, size_t len)
{
	/* A dot in the domain, as Freshworks requires: a@b would be accepted
	 * here and refused by the CRM later. */
	return email_labels(s, len) >= 2;
}

bool ft_number_valid(const char *s, size_t len)
{
	size_t i = 0, digits;

	if (s == NULL || len == 0 || len > FT_MAX_NUMBER)
		return false;
	if (s[i] == '-')
		i++;
	for (digits = 0; i < len && is_digit((unsigned char)s[i]); i++)
		digits++;
	if (digits == 0)
		return false;
	if (i < len && s[i] == '.') {
		i++;
		for (digits = 0; i < len && is_digit((unsigned char)s[i]); i++)
			digits++;
		if (digits == 0)
			return false;
	}
	return i == len;
}

/* s[0..len) equals the lower-case ASCII word w, ignoring case. */
static bool word_ieq(const char *s, size_t len, const char *w)
{
	size_t i;

	if (strlen(w) != len)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if (c != (unsigned char)w[i])
			return false;
	}
	return true;
}

bool ft_boolean_parse(const char *s, size_t len, bool *out)
{
	static const char *const yes[] = { "on", "yes", "true", "1" };
	static const char *const no[] = { "off", "no", "false", "0" };
	size_t i;

	if (s == NULL)
		return false;
	for (i = 0; i < sizeof yes / sizeof yes[0]; i++) {
		if (word_ieq(s, len, yes[i])) {
			*out = true;
			return true;
		}
		if (word_ieq(s, len, no[i])) {
			*out = false;
			return true;
		}
	}
	return false;
}

/* Reads n digits at s as a number; false if any is not a digit. */
static bool digits_value(const char *s, size_t n, unsigned *out)
{
	unsigned v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!is_digit((unsigned char)s[i]))
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*out = v;
	return true;
}

static bool real_day(unsigned y, unsigned m, unsigned d)
{
	static const unsigned days[12] = { 31, 28, 31, 30, 31, 30,
	                                   31, 31, 30, 31, 30, 31 };
	unsigned max;

	if (y == 0 || y > 9999 || m < 1 || m > 12 || d < 1)
		return false;
	max = days[m - 1];
	if (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
		max = 29;
	return d <= max;
}

bool ft_date_valid(const char *s, size_t len)
{
	unsigned y, m, d;

	if (s == NULL || len != 10 || s[4] != '-' || s[7] != '-')
		return false;
	if (!digits_value(s, 4, &y) || !digits_value(s + 5, 2, &m) ||
	    !digits_value(s + 8, 2, &d))
		return false;
	return real_day(y, m, d);
}

/* A cursor over s[0..len) for the date forms. */
struct scan {
	const char *s;
	size_t len, i;
};

/* 1..max digits; false (cursor unmoved) when there are none or more. */
static bool scan_num(struct scan *c, size_t min, size_t max, unsigned *out)
{
	size_t n = 0;

	while (c->i + n < c->len && is_digit((unsigned char)c->s[c->i + n]))
		n++;
	if (n < min || n > max || !digits_value(c->s + c->i, n, out))
		return false;
	c->i += n;
	return true;
}

static bool scan_char(struct scan *c, char ch)
{
	if (c->i < c->len && c->s[c->i] == ch) {
		c->i++;
		return true;
	}
	return false;
}

/* One or more spaces. */
static bool scan_spaces(struct scan *c)
{
	size_t start = c->i;

	while (c->i < c->len && c->s[c->i] == ' ')
		c->i++;
	return c->i > start;
}

/* An English month name, whole or its first three letters ("Sept" too). */
static bool scan_month(struct scan *c, unsigned *out)
{
	static const char *const names[12] = {
		"january", "february", "march", "april", "may", "june", "july",
		"august", "september", "october", "november", "december",
	};
	size_t n = 0;

	while (c->i + n < c->len && is_alpha((unsigned char)c->s[c->i + n]))
		n++;
	for (unsigned m = 0; m < 12; m++) {
		if ((n == 3 || n == strlen(names[m]) || (m == 8 && n == 4)) &&
		    n <= strlen(names[m]) && strncasecmp(c->s + c->i, names[m], n) == 0) {
			c->i += n;
			*out = m + 1;
			return true;
		}
	}
	return false;
}

/* YYYY-MM-DD with '-', '/' or '.', then the end or an ISO time part. */
static bool date_year_first(struct scan *c, unsigned *y, unsigned *m, unsigned *d)
{
	char sep;

	if (!scan_num(c, 4, 4, y) || c->i >= c->len)
		return false;
	sep = c->s[c->i];
	if (sep != '-' && sep != '/' && sep != '.')
		return false;
	c->i++;
	if (!scan_num(c, 1, 2, m) || !scan_char(c, sep) || !scan_num(c, 1, 2, d))
		return false;
	/* A timestamp: 'T' or one space, then the hour. */
	if (c->i < c->len && (c->s[c->i] == 'T' || c->s[c->i] == ' ') &&
	    c->i + 1 < c->len && is_digit((unsigned char)c->s[c->i + 1]))
		c->i = c->len;
	return c->i == c->len;
}

/* "29 Feb 2024", "29-Feb-2024", "Feb 29, 2024", "February 29 2024". */
static bool date_month_name(struct scan *c, unsigned *y, unsigned *m, unsigned *d)
{
	size_t start = c->i;

	if (scan_num(c, 1, 2, d)) {
		if (scan_char(c, '-')) {
			if (!scan_month(c, m) || !scan_char(c, '-'))
				return false;
		} else if (!scan_spaces(c) || !scan_month(c, m) || !scan_spaces(c)) {
			return false;
		}
		return scan_num(c, 4, 4, y) && c->i == c->len;
	}
	c->i = start;
	if (!scan_month(c, m) || !scan_spaces(c) || !scan_num(c, 1, 2, d))
		return false;
	scan_char(c, ',');
	return scan_spaces(c) && scan_num(c, 4, 4, y) && c->i == c->len;
}

bool ft_date_normalise(const char *s, size_t len, char out[FT_DATE_SIZE])
{
	struct scan c = { s, len, 0 };
	unsigned y = 0, m = 0, d = 0;
	bool ok;

	if (s == NULL || len == 0 || len > FT_MAX_DATE)
		return false;
	ok = date_year_first(&c, &y, &m, &d);
	if (!ok) {
		c.i = 0;
		ok = date_month_name(&c, &y, &m, &d);
	}
	if (!ok || !real_day(y, m, d))
		return false;
	snprintf(out, FT_DATE_SIZE, "%04u-%02u-%02u", y, m, d);
	return true;
}

bool ft_phone_valid(const char *s, size_t len)
{
	static const char extra[] = " +-.()";
	size_t i, digits = 0;

	if (s == NULL || len == 0 || len > FT_MAX_PHONE)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (is_digit(c))
			digits++;
		else if (c == '\0' || memchr(extra, c, sizeof extra - 1) == NULL)
			return false;
	}
	return digits >= FT_MIN_PHONE_DIGITS;
}

/* s[0..len) passed ft_number_valid, so it fits the buffer and strtod reads
 * all of it. The process never calls setlocale(), so '.' is the decimal point. */
static double number_value(const char *s, size_t len)
{
	char buf[FT_MAX_NUMBER + 1];

	memcpy(buf, s, len);
	buf[len] = '\0';
	return strtod(buf, NULL);
}

enum ft_err fieldtype_convert(enum map_type type, const char *s, size_t len,
                              cJSON **out)
{
	enum ft_err err = FT_EINVALID;
	bool valid = false, b = false;
	char day[FT_DATE_SIZE];
	cJSON *item = NULL;
	char *copy = NULL;

	*out = NULL;
	if (s == NULL)
		goto out;
	switch (type) {
	case MAP_TEXT:    valid = text_utf8_valid(s, len); break;
	case MAP_EMAIL:   valid = ft_email_valid(s, len); break;
	case MAP_NUMBER:  valid = ft_number_valid(s, len); break;
	case MAP_BOOLEAN: valid = ft_boolean_parse(s, len, &b); break;
	case MAP_DATE:    valid = ft_date_normalise(s, len, day); break;
	case MAP_PHONE:   valid = ft_phone_valid(s, len); break;
	}
	if (!valid)
		goto out;
	err = FT_ENOMEM;
	if (type == MAP_BOOLEAN) {
		item = cJSON_CreateBool(b);
	} else if (type == MAP_NUMBER) {
		item = cJSON_CreateNumber(number_value(s, len));
	} else if (type == MAP_DATE) {
		item = cJSON_CreateString(day);
	} else {
		copy = malloc(len + 1);
		if (copy == NULL)
			goto out;
		memcpy(copy, s, len);
		copy[len] = '\0';
		if (type == MAP_EMAIL)
			text_ascii_lower(copy);
		item = cJSON_CreateString(copy);
	}
	if (item == NULL)
		goto out;
	*out = item;
	err = FT_OK;
out:
	free(copy);
	return err;
}

const char *ft_strerror(enum ft_err e)
{
	switch (e) {
	case FT_OK:       return "ok";
	case FT_EINVALID: return "value does not fit its type";
	case FT_ENOMEM:   return "out of memory";
	}
	return "unknown error";
}
