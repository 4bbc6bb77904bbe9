/* fields_print.c: the field list as a table and as JSON. */
#include "fields_print.h"

#include <stdbool.h>
#include <string.h>

#include <cjson/cJSON.h>

#define ELLIPSIS "..."

static bool needs_escape(unsigned char c)
{
	return c < 0x20 || c == 0x7f || c == '\\';
}

/* Characters fields_put_text would write for s[0..n): a UTF-8 sequence is
 * one, an escaped byte four. */
static size_t width_of(const char *s, size_t n)
{
	size_t w = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		w += needs_escape(c) ? 4 : (c & 0xc0) != 0x80;
	}
	return w;
}

static size_t put_n(FILE *to, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (needs_escape(c))
			fprintf(to, "\\x%02x", c);
		else
			putc(c, to);
	}
	return width_of(s, n);
}

size_t fields_put_text(FILE *to, const char *s)
{
	return put_n(to, s, strlen(s));
}

/* s, then spaces up to width. */
static void put_column(FILE *to, const char *s, size_t width)
{
	size_t w = fields_put_text(to, s);

	for (; w < width; w++)
		putc(' ', to);
}

/* The bytes of s[0..n) that fit in `room` characters, never cutting a UTF-8
 * sequence or an escape. */
static size_t fitting(const char *s, size_t n, size_t room)
{
	size_t i = 0, w = 0, cw;

	while (i < n) {
		size_t j = i + 1;

		while (j < n && ((unsigned char)s[j] & 0xc0) == 0x80)
			j++;
		cw = width_of(s + i, j - i);
		if (w + cw > room)
			break;
		w += cw;
		i = j;
	}
	return i;
}

/* Writes s[0..n) into what is left of the choices column; false once full. */
static bool put_choice_part(FILE *to, const char *s, size_t n, size_t *used)
{
	size_t room = FIELDS_CHOICES_MAX - strlen(ELLIPSIS) - *used;
	size_t k;

	if (*used + width_of(s, n) <= FIELDS_CHOICES_MAX - strlen(ELLIPSIS)) {
		*used += put_n(to, s, n);
		return true;
	}
	k = fitting(s, n, room);
	*used += put_n(to, s, k);
	fputs(ELLIPSIS, to);
	*used = FIELDS_CHOICES_MAX;
	return false;
}

static void put_choices(FILE *to, const struct fmf_field *fd)
{
	char id[32];
	size_t used = 0;

	for (size_t i = 0; i < fd->n_choices; i++) {
		int n = snprintf(id, sizeof id, "%s%lld=", i ? ", " : "", fd->choices[i].id);

		if (!put_choice_part(to, id, (size_t)n, &used) ||
		    !put_choice_part(to, fd->choices[i].value, strlen(fd->choices[i].value), &used))
			return;
	}
}

enum column { COL_LABEL, COL_NAME, COL_TYPE };

/* The width of a column: its widest entry, within bounds. */
static size_t column_width(const struct fm_fields *f, const char *head, enum column col)
{
	size_t w = strlen(head);

	for (size_t i = 0; i < f->n; i++) {
		const char *s = col == COL_LABEL ? f->v[i].label
		              : col == COL_NAME ? f->v[i].name : f->v[i].type_name;
		size_t sw = width_of(s, strlen(s));

		if (sw > w)
			w = sw;
	}
	return w > FIELDS_COLUMN_MAX ? FIELDS_COLUMN_MAX : w;
}

enum fields_print_err fields_print_table(const struct fm_fields *f, FILE *to)
{
	size_t lw = column_width(f, "LABEL", COL_LABEL);
	size_t nw = column_width(f, "NAME", COL_NAME);
	size_t tw = column_width(f, "TYPE", COL_TYPE);

	put_column(to, "LABEL", lw + 2);
	put_column(to, "NAME", nw + 2);
	put_column(to, "TYPE", tw + 2);
	fputs("CHOICES\n", to);
	for (size_t i = 0; i < f->n; i++) {
		const struct fmf_field *fd = &f->v[i];

		put_column(to, fd->label, lw + 2);
		put_column(to, fd->name, nw + 2);
		if (fd->n_choices) {
			put_column(to, fd->type_name, tw + 2);
			put_choices(to, fd);
		} else {
			fields_put_text(to, fd->type_name);
		}
		putc('\n', to);
	}
	return ferror(to) ? FIELDS_PRINT_EIO : FIELDS_PRINT_OK;
}

/* One field as {"label","name","type","choices":[{"id","value"}]}; NULL
 * when out of memory. */
static cJSON *field_json(const struct fmf_field *fd)
{
	cJSON *o = cJSON_CreateObject(), *choices, *c;

	if (!o || !cJSON_AddStringToObject(o, "label", fd->label) ||
	    !cJSON_AddStringToObject(o, "name", fd->name) ||
	    !cJSON_AddStringToObject(o, "type", fd->type_name) ||
	    !(choices = cJSON_AddArrayToObject(o, "choices")))
		goto fail;
	for (size_t i = 0; i < fd->n_choices; i++) {
		if (!(c = cJSON_CreateObject()) || !cJSON_AddItemToArray(choices, c)) {
			cJSON_Delete(c);
			goto fail;
		}
		if (!cJSON_AddNumberToObject(c, "id", (double)fd->choices[i].id) ||
		    !cJSON_AddStringToObject(c, "value", fd->choices[i].value))
			goto fail;
	}
	return o;
fail:
	cJSON_Delete(o);
	return NULL;
}

enum fields_print_err fields_print_json(const struct fm_fields *f, FILE *to)
{
	enum fields_print_err e = FIELDS_PRINT_ENOMEM;
	cJSON *doc = cJSON_CreateObject(), *list, *item;
	char *s = NULL;

	if (!doc || !(list = cJSON_AddArrayToObject(doc, "fields")))
		goto out;
	for (size_t i = 0; i < f->n; i++) {
		if (!(item = field_json(&f->v[i])))
			goto out;
		if (!cJSON_AddItemToArray(list, item)) {
			cJSON_Delete(item);
			goto out;
		}
	}
	if (!(s = cJSON_Print(doc)))
		goto out;
	fprintf(to, "%s\n", s);
	e = ferror(to) ? FIELDS_PRINT_EIO : FIELDS_PRINT_OK;
out:
	cJSON_free(s);
	cJSON_Delete(doc);
	return e;
}

const char *fields_print_strerror(enum fields_print_err e)
{
	switch (e) {
	case FIELDS_PRINT_OK: return "ok";
	case FIELDS_PRINT_ENOMEM: return "out of memory";
	case FIELDS_PRINT_EIO: return "cannot write the field list";
	}
	return "unknown error";
}
