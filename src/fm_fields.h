/*
 * fm_fields.h: Freshmarketer's contact field metadata, the answer of
 * GET /settings/contacts/fields, as plain C structs.
 *
 * The list is parsed from the JSON answer, or from the cache file that keeps
 * it (SPOOL/state/fields.json, see fm_state.h), which is the same document
 * with one more member. Parsing is bounded: the document by
 * LIMIT_MAX_UPSTREAM_BODY, and the counts and lengths below. Fields whose
 * entry is malformed (no name) are skipped, so one odd field cannot disable
 * label matching for all the others.
 *
 * Ownership: fm_fields_parse() returns a list the caller releases with
 * fm_fields_free(); every pointer into it lives as long as the list.
 */
#ifndef FMGATE_FM_FIELDS_H
#define FMGATE_FM_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <cjson/cJSON.h>

#define FMF_MAX_FIELDS   2000u  /* fields in one list */
#define FMF_MAX_CHOICES  1000u  /* choices of one dropdown */
#define FMF_MAX_NAME     256u   /* bytes of a field's name, label or choice value */
#define FMF_MAX_LENGTH   1000000u /* a larger max_length is taken as no limit */

enum fmf_type {
	FMF_TEXT = 0,   /* text, textarea */
	FMF_NUMBER,
	FMF_CHECKBOX,
	FMF_DROPDOWN,   /* dropdown, radio: one of the choices */
	FMF_DATE,
	FMF_GROUP,      /* group_field: containers like emails; never matched by label */
	FMF_MULTI,      /* multi_select_dropdown: several choices in one string,
	                   see fm_body.h */
	FMF_LIST,       /* auto_complete (tags): a list of strings */
	FMF_OPAQUE,     /* a type we do not know (no "multi_select" was ever seen in
	                   a field list): values are sent as they are */
};

struct fmf_choice {
	long long id;
	char *value;
};

struct fmf_field {
	char *name;          /* API name: "first_name", "cf_industry" */
	char *label;         /* "First name", "Industry"; "" when absent */
	char *type_name;     /* the API's type, "radio"; "text" when absent */
	enum fmf_type type;
	struct fmf_choice *choices;
	size_t n_choices;
	size_t max_length;   /* characters a text value may have; 0: no limit given
	                        ("max_length" in the entry; unconfirmed name) */
};

struct fm_fields {
	struct fmf_field *v;
	size_t n;
	time_t fetched_at;   /* wall clock when the answer was received */
	/* Indexes into v, for the look-ups below (every trait of every delivery
	 * asks): by name; and by label ignoring ASCII case, of the fields a label
	 * may match. Equal keys keep the list's order, so the first one wins. */
	struct fmf_field **by_name, **by_label;
	size_t n_labels;
};

enum fmf_err {
	FMF_OK = 0,
	FMF_ETOOBIG,   /* document over LIMIT_MAX_UPSTREAM_BODY, or a count over its cap */
	FMF_EPARSE,    /* not JSON, or no "fields" array */
	FMF_ENOMEM,
};

/* Parses json[0..len). On FMF_OK *out is a new list stamped with fetched_at. */
enum fmf_err fm_fields_parse(const char *json, size_t len, time_t fetched_at,
                             struct fm_fields **out);

/* The same from a parsed document (the caller keeps it). */
enum fmf_err fm_fields_from_json(const cJSON *doc, time_t fetched_at,
                                 struct fm_fields **out);
void fm_fields_free(struct fm_fields *f);

/* The field with this API name (exact), or NULL. */
const struct fmf_field *fm_fields_by_name(const struct fm_fields *f, const char *name);

/* The first non-group field whose label equals `label` ignoring ASCII case, or NULL. */
const struct fmf_field *fm_fields_by_label(const struct fm_fields *f, const char *label);

const char *fm_fields_strerror(enum fmf_err e);

#endif
