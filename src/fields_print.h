/*
 * fields_print.h: the account's field list shown to people (`fmgate fields`,
 * a table) and to scripts (`fmgate fields --json`), and the pieces of it that
 * `fmgate check --online` prints in its messages.
 *
 * Labels, names and choices come from the API: what is printed for people has
 * control bytes written as \xNN, so that no answer can drive the terminal.
 * The JSON document is built with cJSON, which escapes them itself:
 *   {"fields":[{"label":L,"name":N,"type":T,"choices":[{"id":I,"value":V}]}]}
 * Every field has "choices" (empty when it has none).
 *
 * Types are fmgate's reading of the API's type, which decides how values are
 * converted (fm_body.h): text (also textarea), number, checkbox, dropdown,
 * date, group_field, multi_select (also multi_select_dropdown), auto_complete,
 * and other for a type fmgate does not know.
 *
 * Ownership: nothing here keeps or frees what it is given.
 */
#ifndef FMGATE_FIELDS_PRINT_H
#define FMGATE_FIELDS_PRINT_H

#include <stddef.h>
#include <stdio.h>

#include "fm_fields.h"

#define FIELDS_COLUMN_MAX   32u  /* characters a column is padded to at most; longer
                                    labels and names are printed whole */
#define FIELDS_CHOICES_MAX  60u  /* characters of the choices column, "..." past it */

enum fields_print_err {
	FIELDS_PRINT_OK = 0,
	FIELDS_PRINT_ENOMEM,
	FIELDS_PRINT_EIO,     /* writing to the stream failed */
};

/* Writes s with control bytes (and DEL and '\') as \xNN; returns the
 * characters written (a UTF-8 sequence counts as one). */
size_t fields_put_text(FILE *to, const char *s);

/* LABEL, NAME, TYPE, CHOICES: a header line, then one line per field in the
 * list's order; choices as "id=value" joined by ", ". */
enum fields_print_err fields_print_table(const struct fm_fields *f, FILE *to);

/* The JSON document above, with a final newline. */
enum fields_print_err fields_print_json(const struct fm_fields *f, FILE *to);

const char *fields_print_strerror(enum fields_print_err e);

#endif
