/*
 * fm_contact.h: the Freshmarketer upsert body for one identify message
 * (SPEC §6, "What is sent to Freshmarketer").
 *
 * Each trait (nested traits flattened to their dotted name, "address.city")
 * goes to one contact field, decided in this order:
 *  1. the form's fm-field for that trait (a <field> or <constant>), the only
 *     way to reach a privileged field (owner_id, territory_id, lead_source_id,
 *     lifecycle_stage_id, contact_status_id, subscription_status,
 *     subscription_types);
 *  2. the reserved traits: firstName, lastName, title, phone, mobile,
 *     address.street/city/state/postalCode/country; "name" is split into
 *     first_name (first word) and last_name (the rest), each only when no
 *     other trait set it;
 *  3. the field whose label equals the trait name, ignoring case, when the
 *     field list is known. A label leading to a privileged field is refused.
 * A trait reaching no field, or whose value does not fit the field's type, is
 * left out and logged (once per form and trait per process). When two traits
 * reach one field, the explicit one (1, 2) wins over a label match, and
 * otherwise the first one. The identity fields come only from the message:
 * external_id from userId, emails from traits.email; a trait that would reach
 * them is left out. Fields named cf_* go inside "custom_field". Only values
 * present and non-empty are sent, so a shorter form never blanks a field.
 *
 * Values follow the field's type when the field list is known: checkbox ->
 * true/false (from a bool, 1/0, on/off, yes/no, true/false), number -> JSON
 * number, dropdown -> the choice's exact value matched ignoring case (the
 * choice's id for *_id fields, which also accept an id), date -> YYYY-MM-DD,
 * text -> string (a list is joined with ", "), other types unchanged. Without
 * the list, built-in text fields get strings, *_id fields integers, and the
 * rest is sent unchanged.
 *
 * Ownership: fm_contact_build() gives the caller a new cJSON (cJSON_Delete).
 */
#ifndef FMGATE_FM_CONTACT_H
#define FMGATE_FM_CONTACT_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "fm_fields.h"
#include "mapping.h"

#define FMC_MAX_TRAIT_PATH 512u  /* bytes of a flattened (dotted) trait name */

/* What the upsert's unique_identifier holds. */
enum fmc_key {
	FMC_KEY_EXTERNAL_ID = 0, /* the userId: the normal upsert */
	FMC_KEY_EMAILS,          /* the email: adoption of a contact without external id */
};

enum fmc_err {
	FMC_OK = 0,
	FMC_ENOIDENT, /* the message lacks the userId or email the key needs */
	FMC_ENOMEM,
};

/*
 * True when placing this message's traits needs the field list: a trait is
 * matched by label, or goes through fm-field to a field whose type only the
 * list knows (a custom or dropdown field). Reserved traits alone need nothing.
 */
bool fm_contact_needs_fields(const cJSON *identify, const struct map_form *form);

/*
 * Builds {"unique_identifier":{KEY:..},"contact":{..}} for `identify` and
 * `form` (NULL: no fm-field overrides). `fields` may be NULL: traits that
 * need a label match are then left out without a log line.
 */
enum fmc_err fm_contact_build(const cJSON *identify, const struct map_form *form,
                              const struct fm_fields *fields, enum fmc_key key,
                              cJSON **out);

/* The message's userId and traits.email, or NULL when absent or empty. */
const char *fm_contact_user_id(const cJSON *identify);
const char *fm_contact_email(const cJSON *identify);

const char *fmc_strerror(enum fmc_err e);

#endif
