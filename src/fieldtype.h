/*
 * fieldtype.h: checking and normalising one submitted value by the type its
 * mapping declares (docs/mapping.md, <field type="..">).
 *
 * Every function takes the value as s[0..len), already trimmed by the caller
 * (an empty value means "absent" and is the caller's business, not a type
 * error). Nothing here trusts that s is NUL-terminated at len, and a value
 * holding a NUL byte or invalid UTF-8 is never accepted.
 *
 * Types and what they accept:
 *   text     any valid UTF-8; a JSON string of the same bytes.
 *   email    the WHATWG "valid e-mail address" grammar (local part of atext
 *            and '.', '@', dot-separated labels of letters, digits and '-',
 *            1-63 bytes, no '-' at either end) with at least two labels
 *            (a dot in the domain, as Freshworks requires: not a@b nor
 *            user@localhost), at most FT_MAX_EMAIL bytes; a JSON string,
 *            ASCII lower-cased.
 *   number   strict decimal: optional '-', digits, optional '.' and digits;
 *            no '+', exponent, hex, inf or nan; at most FT_MAX_NUMBER bytes;
 *            a JSON number.
 *   boolean  on/yes/true/1 and off/no/false/0, any case; JSON true/false.
 *   date     a real Gregorian day (year 0001-9999) written in one of the
 *            unambiguous forms of ft_date_normalise(); sent as YYYY-MM-DD.
 *   phone    digits, spaces and + - . ( ) with at least FT_MIN_PHONE_DIGITS
 *            digits, at most FT_MAX_PHONE bytes; the same string.
 *
 * Ownership: on FT_OK *out is a new cJSON item the caller owns; otherwise
 * *out is NULL.
 */
#ifndef FMGATE_FIELDTYPE_H
#define FMGATE_FIELDTYPE_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "mapping.h"

#define FT_MAX_EMAIL        254u  /* bytes of a whole address (RFC 5321 path minus <>) */
#define FT_MAX_EMAIL_LABEL  63u   /* bytes of one domain label */
#define FT_MAX_NUMBER       32u   /* bytes of a number as written */
#define FT_MAX_PHONE        32u   /* bytes of a phone number as written */
#define FT_MIN_PHONE_DIGITS 5u    /* digits a phone number must hold */
#define FT_MAX_DATE         64u   /* bytes of a date as written (a timestamp fits) */

enum ft_err {
	FT_OK = 0,
	FT_EINVALID,  /* the value does not fit the type */
	FT_ENOMEM,    /* allocation failed */
};

/* Checks s[0..len) against `type` and returns its JSON form in *out. */
enum ft_err fieldtype_convert(enum map_type type, const char *s, size_t len,
                              cJSON **out);

/* The checks alone, for callers and tests that need no JSON.
 * ft_email_valid is the visitor's rule (the email type above);
 * ft_email_grammar is the same grammar without the dot in the domain, for
 * the operator's own addresses in the mapping (ops@intranet, and
 * forms@localhost for a local relay), which never reach Freshworks. */
bool ft_email_valid(const char *s, size_t len);
bool ft_email_grammar(const char *s, size_t len);
bool ft_number_valid(const char *s, size_t len);
bool ft_boolean_parse(const char *s, size_t len, bool *out);
bool ft_date_valid(const char *s, size_t len);

#define FT_DATE_SIZE 11u  /* "YYYY-MM-DD" and its NUL */

/*
 * Reads a date in one of the common forms whose order of day and month is
 * certain, and writes it as YYYY-MM-DD into out:
 *   2024-02-29, 2024/2/29, 2024.02.29   year first, '-' '/' or '.' (the same
 *                                        one twice), month and day of 1-2 digits
 *   2024-02-29T10:00:00Z, 2024-02-29 10:00
 *                                        the date part of an ISO 8601 timestamp
 *                                        (as written: no time zone shift)
 *   29 Feb 2024, 29 February 2024, 29-Feb-2024
 *   Feb 29, 2024, February 29 2024       English month names or their first
 *                                        three letters (and "Sept"), any case
 * Forms that need a convention to read (01/02/2024, 02-01-24) and two-digit
 * years are refused. False when s[0..len) is none of these or no real day.
 */
bool ft_date_normalise(const char *s, size_t len, char out[FT_DATE_SIZE]);
bool ft_phone_valid(const char *s, size_t len);

const char *ft_strerror(enum ft_err e);

#endif
