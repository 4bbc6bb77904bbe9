/*
 * fuzz_mapping.c: mapping_load_buffer(), the whole loader: libxml2 with DTDs,
 * entities and network off, the RELAX NG schema, then the meaning checks.
 *
 * The input is a mapping file. A file that loads must satisfy what mapping.h
 * promises (a form, each with an id, a success URL, a user-id and an email
 * field; limits within their ceilings), and every diag of a refused one must
 * be a single printable line.
 */
#include <string.h>

#include "mapping.h"
#include "fuzz.h"

static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	devnull = fopen("/dev/null", "w");
	return 0;
}

static void check_mapping(const struct mapping *m)
{
	const struct map_settings *s = &m->settings;

	FUZZ_CHECK(m->n_forms >= 1 && m->n_forms <= MAP_MAX_FORMS);
	FUZZ_CHECK(s->limits.max_body >= 1 && s->limits.max_body <= LIMIT_CEIL_MAX_BODY);
	FUZZ_CHECK(s->limits.max_fields >= 1 && s->limits.max_fields <= LIMIT_CEIL_MAX_FIELDS);
	FUZZ_CHECK(s->limits.max_value >= 1 && s->limits.max_value <= LIMIT_CEIL_MAX_VALUE);
	FUZZ_CHECK(s->timeout_ms <= MAP_MAX_TIMEOUT_MS);
	FUZZ_CHECK(s->n_trusted_proxies <= MAP_MAX_LIST);
	for (size_t i = 0; i < m->n_forms; i++) {
		const struct map_form *f = &m->forms[i];
		size_t emails = 0;

		FUZZ_CHECK(f->id && mapping_form(m, f->id) == f);
		FUZZ_CHECK(f->success_url && f->success_url[0] != '\0');
		/* A path, never "//host" or "/\host". */
		FUZZ_CHECK(f->success_url[0] != '/' ||
		           (f->success_url[1] != '/' && f->success_url[1] != '\\'));
		FUZZ_CHECK(f->n_user_id >= 1 && f->n_user_id <= MAP_MAX_LIST);
		FUZZ_CHECK(f->n_allow_origins <= MAP_MAX_LIST);
		FUZZ_CHECK(f->n_fields + f->n_constants <= MAP_MAX_FORM_ITEMS);
		for (size_t j = 0; j < f->n_fields; j++) {
			const struct map_field *fd = &f->fields[j];

			FUZZ_CHECK(fd->name && fd->trait && map_form_field(f, fd->name) == fd);
			FUZZ_CHECK(fd->max_length <= s->limits.max_value);
			FUZZ_CHECK(map_type_name(fd->type) != NULL);
			if (strcmp(fd->trait, "email") == 0) {
				FUZZ_CHECK(fd->type == MAP_EMAIL);
				emails++;
			}
		}
		FUZZ_CHECK(emails == 1);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct map_diags d = { 0 };
	struct mapping *m = NULL;
	enum map_err e = mapping_load_buffer((const char *)data, size, "fuzz.xml", &m, &d);

	if (e == MAP_OK) {
		FUZZ_CHECK(m != NULL);
		check_mapping(m);
	} else {
		FUZZ_CHECK(m == NULL && map_strerror(e) != NULL);
		FUZZ_CHECK(d.n <= MAP_MAX_DIAGS);
	}
	for (size_t i = 0; i < d.n; i++) {
		const unsigned char *c = (const unsigned char *)d.v[i].message;

		FUZZ_CHECK(d.v[i].line >= 0);
		for (; *c; c++)
			FUZZ_CHECK(*c >= 0x20 && *c != 0x7f);
	}
	if (devnull)
		map_diags_print(&d, "fuzz.xml", devnull);
	mapping_free(m);
	map_diags_free(&d);
	return 0;
}
