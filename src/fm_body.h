/*
 * fm_body.h: the body of a contact write (upsert, create, update by id) for
 * one submission (docs/freshmarketer.md; docs/behaviour.md, "What is sent to
 * Freshmarketer").
 *
 * Each trait (by its dotted name, "address.city") goes to one contact field,
 * decided in this order:
 *  1. the fm-field of the <field> or <constant> the trait came from, the only
 *     way to reach a privileged field (owner_id, territory_id, lead_source_id,
 *     lifecycle_stage_id, contact_status_id, subscription_status,
 *     subscription_types);
 *  2. the reserved traits: firstName, lastName, title, phone, mobile,
 *     address.street/city/state/postalCode/country; "name" is split into
 *     first_name (first word) and last_name (the rest), each only when no
 *     other trait set it;
 *  3. the field whose label equals the trait name, ignoring case, when the
 *     field list is known. A label never leads to a privileged field, nor to
 *     "id" or any other field named *_id (ids of other records, which own or
 *     classify the contact: campaign_id, owner_id...), since an account can
 *     add such fields with any label: fm_body_label_refused().
 * A trait reaching no field is left out. When two traits reach one field, the
 * explicit one (1, 2) wins over a label match, and otherwise the first one.
 * The identity fields come only from the submission's userId (external_id)
 * and email (emails); a trait that would reach them is left out. Fields
 * named cf_* go inside "custom_field". Only values present and non-empty are
 * sent, so a shorter form never blanks a field. Nothing here logs: what
 * happens to each trait is told to the caller (struct fmb_report).
 *
 * Values follow the field's type when the field list is known:
 *   checkbox  true/false from a bool, 1/0, on/off, yes/no, true/false
 *   number    a JSON number from a number or strict decimal text (-12.5)
 *   dropdown  (dropdown, radio) the choice's exact value matched ignoring
 *             case; the choice's id (a number) for *_id fields and
 *             subscription_status, which also accept an id
 *   date      YYYY-MM-DD from the forms of ft_date_normalise()
 *   multi     (multi_select_dropdown) each value matched to a choice as for
 *             dropdown, sent as one string of the choices' values joined by
 *             ';' (the encoding is unconfirmed for the real service); of
 *             their ids for subscription_types ("2;3", as seen live)
 *   list      (auto_complete, tags) a list of strings
 *   text      a string (a list joined with ", "), at most the field's
 *             max_length characters when the list gives one
 * A one-element list is taken as its element for single-valued types. Other
 * types are sent unchanged (FMB_SENT_UNCHECKED tells, for a warning). Without the list, built-in text fields get
 * strings, *_id fields integers, and the rest is sent unchanged. A value the
 * field's type refuses fails the build (FMB_EINVALID): nothing is sent.
 *
 * A <field> with value-when-checked (a boolean, typically a consent box)
 * sends that text, converted by its field's type, when the box is checked,
 * and nothing when it is not: an unchecked box never unsubscribes anyone.
 * A checked consent box with consent-record="LABEL" also writes one line to
 * the field with that label, found (and refused) as a label match is: "TIME,
 * form FORM: TEXT" (TIME the message's, to the second, UTC; FORM the
 * submission's form_id; TEXT the consent text), cut to the field's
 * max_length rather than refused; an unchecked box writes nothing there. The field list is then needed.
 *
 * Ownership: fm_body_build() gives the caller a new cJSON (cJSON_Delete).
 */
#ifndef FMGATE_FM_BODY_H
#define FMGATE_FM_BODY_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "fm_fields.h"
#include "submission.h"

/* What the upsert's unique_identifier holds. */
enum fmb_key {
	FMB_KEY_EXTERNAL_ID = 0, /* the userId: the normal upsert */
	FMB_KEY_EMAILS,          /* the email: adoption of a contact without external id */
};

enum fmb_err {
	FMB_OK = 0,
	FMB_ENOIDENT,  /* the submission lacks the userId or email the key needs */
	FMB_EINVALID,  /* a value does not fit its field's type (see the report) */
	FMB_ENOMEM,
};

/* What happened to one trait. */
enum fmb_event {
	FMB_SET_FM_FIELD = 0, /* placed in the field its fm-field names */
	FMB_SET_RESERVED,     /* placed as a reserved trait */
	FMB_SET_LABEL,        /* placed in the field with its label */
	FMB_SET_NAME,         /* "name" split into first_name or last_name */
	FMB_DROP_NO_FIELD,    /* no field has this label: left out */
	FMB_DROP_PRIVILEGED,  /* its label is a privileged or id field's: left out */
	FMB_DROP_IDENTITY,    /* it would set emails or external_id: left out */
	FMB_DROP_TAKEN,       /* another trait set the field: left out */
	FMB_DROP_NO_LIST,     /* it needs the field list, which is unknown: left out */
	FMB_DROP_UNCHECKED,   /* a value-when-checked box, not checked: nothing sent */
	FMB_DROP_STEP,        /* no field has this label, and the value goes to the
	                         account or the note (map_field.feeds_step): not a loss */
	FMB_INVALID,          /* the value does not fit the field: the build fails */
	FMB_SENT_UNCHECKED,   /* after a FMB_SET_*: the field's type is unknown to
	                         fmgate, so the value went unchanged */
};

/*
 * Called once per trait (twice for "name") with the trait's dotted name, the
 * contact field (NULL when none was found) and the value placed (converted;
 * NULL unless the event is a FMB_SET_*). Trait and field names come from the
 * mapping and the field list, never from a submission; values do.
 */
typedef void fmb_note_fn(void *ud, enum fmb_event ev, const char *trait,
                         const char *field, const cJSON *value);

struct fmb_report {
	fmb_note_fn *note;             /* may be NULL */
	void *ud;
	/* Filled on FMB_EINVALID, for the first value that did not fit: */
	char trait[SUB_MAX_TRAIT_PATH];
	char field[FMF_MAX_NAME + 1];  /* the Freshmarketer field */
	const char *form_field;        /* the mapping's <field name> (owned by the
	                                  form), NULL for a <constant> */
	const char *expected;          /* what the field takes, e.g. "a number" */
};

/*
 * True when placing this submission's traits needs the field list: a trait
 * is matched by label, or goes through fm-field to a field whose type only
 * the list knows (fm_body_fm_field_needs_list). Reserved traits alone need
 * nothing.
 */
bool fm_body_needs_fields(const struct submission *sub);

/* True when a value set through fm-field to `field` needs the field list (a
 * custom or dropdown field, anything not a built-in text or identity field). */
bool fm_body_fm_field_needs_list(const char *field);

/*
 * Builds {"unique_identifier":{KEY:..},"contact":{..}} for `sub`. `fields`
 * may be NULL: traits that need a label match are then left out
 * (FMB_DROP_NO_LIST). `rep` may be NULL. On any error *out is NULL.
 */
enum fmb_err fm_body_build(const struct submission *sub, const struct fm_fields *fields,
                              enum fmb_key key, struct fmb_report *rep, cJSON **out);

/*
 * For `fmgate check --online`: the built-in field a reserved trait goes to
 * ("firstName" -> "first_name"), or NULL; whether a field is privileged (set
 * only through fm-field); and one value converted for the field `name` as a
 * delivery would convert it. fm_body_convert gives FMB_OK with *out a new
 * value (cJSON_Delete), or FMB_EINVALID with *expected (static) saying what
 * the field takes; an empty value is FMB_OK with *out NULL.
 */
const char *fm_body_reserved_field(const char *trait);
bool fm_body_privileged(const char *field);

/* Whether no label may lead to the field (set only through fm-field): a
 * privileged one, "id", or a name ending in "_id" other than external_id
 * (an identity field, which neither a label nor fm-field sets). Label
 * matching at delivery and `check --online` both ask this. */
bool fm_body_label_refused(const char *field);
enum fmb_err fm_body_convert(const struct fm_fields *fields, const char *name,
                                const cJSON *v, cJSON **out, const char **expected);

/* "fm-field", "reserved", "label", "name", "no field", ... for `fmgate try`. */
const char *fmb_event_name(enum fmb_event ev);

const char *fmb_strerror(enum fmb_err e);

#endif
