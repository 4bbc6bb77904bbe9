/*
 * fm_fieldcache.h: the account's field list as delivery uses it: when it is
 * fetched, kept and shared, the body of a write built with it, and the
 * warnings about traits that body leaves out (docs/freshmarketer.md).
 *
 * The list comes from this process's copy, the cache shared through
 * SPOOL/state/fields.json (fm_state.h), or the API (GET
 * /settings/contacts/fields) when the cache is older than max_age_s; one
 * process at a time refreshes it. A failed refresh keeps serving the last
 * good copy, and the list is fetched again at most once a minute
 * (FM_FIELDS_RETRY_S) by any process. Without any copy a failed fetch fails
 * the delivery: FM_PAUSED for a 401, FM_RETRY for anything else (a 403
 * included). A refresh forced by a refusal (fm_identity.h) is tried even
 * when the copy is fresh, and a failed one is not covered by the stale copy.
 *
 * A trait left out of a body (no field, unchecked box...) is logged once per
 * form, trait and reason across every process until the list changes, not
 * once per request (fm_state_first_warning).
 *
 * Ownership: the cache borrows its fm_http (and through it the state) and
 * owns its list (fm_fieldcache_fini frees it). Bodies returned belong to the
 * caller (free, cJSON_Delete).
 */
#ifndef FMGATE_FM_FIELDCACHE_H
#define FMGATE_FM_FIELDCACHE_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "fm_body.h"
#include "fm_fields.h"
#include "fm_http.h"
#include "mapping.h"

#define FM_FIELDS_RETRY_S 60 /* a failed refresh is tried again after this, by any process */

struct fm_fieldcache {
	struct fm_http *http;      /* calls and the shared state (borrowed) */
	unsigned max_age_s;        /* a copy older than this is refreshed */
	struct fm_fields *fields;  /* this process's copy; NULL until first had */
};

void fm_fieldcache_init(struct fm_fieldcache *fc, struct fm_http *http, unsigned max_age_s);
void fm_fieldcache_fini(struct fm_fieldcache *fc);

/*
 * Makes fc->fields usable within `deadline`, as above. `force` refreshes even
 * a fresh list (the API refused a field). False with *out filled when there is
 * no list to use; a stale copy served after a failed refresh leaves *out
 * FM_DELIVERED (provisional: the write decides).
 */
bool fm_fieldcache_ensure(struct fm_fieldcache *fc, uint64_t deadline, struct fm_result *out,
                          bool force);

/* GETs the list now; on success it is this process's copy and, when `share`,
 * the shared cache. False with *out filled otherwise. */
bool fm_fieldcache_fetch(struct fm_fieldcache *fc, uint64_t deadline, bool share,
                         struct fm_result *out);

/*
 * The body of a write as a tree (*tree) and as text (returned): the upsert
 * keyed on external_id when `keyed`, else (PUT, create) the contact alone.
 * Built with fc's list (no label lookup when fc is NULL). Each trait's fate
 * goes to `note` (with `ud`) when it is not NULL, else left-out traits are
 * logged once, as above. NULL with *out filled when no body can be built:
 * FM_INVALID (with `field`) for a value its field refuses.
 */
char *fm_fieldcache_body(struct fm_fieldcache *fc, const struct submission *sub,
                         const struct map_form *form, bool keyed, fmb_note_fn *note, void *ud,
                         struct fm_result *out, cJSON **tree);

#endif
