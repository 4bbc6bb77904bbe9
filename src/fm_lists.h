/*
 * fm_lists.h: the account's marketing lists, found by exact name, and a
 * contact added to one (the list steps of a submission, steps.h;
 * docs/freshmarketer.md).
 *
 * Names are resolved to ids from this process's copy, else from the copy
 * shared by every process in SPOOL/state/lists.json (replaced whole with
 * statedir_write; it names the API base's fingerprint, so another account's
 * copy is never used), else from the API: GET /lists?page=1.. following
 * meta.total_pages, at most FM_LISTS_MAX_PAGES pages and FM_LISTS_MAX lists
 * (a CRM with more is read in part: a name missing from a partial copy is
 * refused, never created). A name known from a copy is used without a call;
 * a name missing from it fetches every page again (a list just created in
 * the CRM is found at once; a form naming a list the CRM lacks costs that
 * fetch per submission, and `fmgate check --online` reports it).
 *
 * A list missing from the CRM is refused (FM_REJECTED: the operator creates
 * it and requeues the step), unless the step may create it. Creating takes
 * SPOOL/state/lists.lock (flock, polled until the deadline), fetches the
 * lists again under it (another process may have just created the list),
 * and only then POSTs /lists and stores the new id in both copies before
 * unlocking: one list per name, however many processes want it at once.
 * Creating so costs one POST and at most two fetches, once. A 400 to the POST (an
 * account that refuses a duplicate name) fetches the lists once more and
 * uses the list found; else the API's message refuses the step.
 *
 * Without a usable SPOOL/state (none configured, missing, unwritable) each
 * process keeps its own copy and creates without the lock; a state folder
 * that can be read but not written is read and never written.
 *
 * Outcomes: reads by fm_http_read_ok (a 401 pauses, other failures retry),
 * writes by fm_http_classify (429/5xx FM_RETRY, 401/403 FM_PAUSED, other
 * 4xx FM_REJECTED).
 *
 * Ownership: struct fm_lists borrows its fm_http (and through it the rate
 * gate and the pause) and owns its copy (fm_lists_free).
 */
#ifndef FMGATE_FM_LISTS_H
#define FMGATE_FM_LISTS_H

#include <stdbool.h>
#include <stdint.h>

#include "fm_http.h"

#define FM_LISTS_MAX_PAGES 100     /* pages of GET /lists read */
#define FM_LISTS_MAX       10000u  /* lists kept in a copy */

struct fm_lists;

/*
 * The lists of the account behind `h`, shared through spool_dir/state
 * (NULL or "": this process only); a read_only one (`fmgate try`) reads the
 * shared file and never writes it. NULL when out of memory.
 */
struct fm_lists *fm_lists_new(struct fm_http *h, const char *spool_dir, bool read_only);
void fm_lists_free(struct fm_lists *l);

/*
 * The id of the list named exactly `name` (*id; 0 unless FM_DELIVERED), found
 * or, with `create`, created as above, within `deadline` (clock_mono_ms) for
 * all calls together. out->calls counts on from what it holds.
 */
void fm_lists_find(struct fm_lists *l, const char *name, bool create, uint64_t deadline,
                   long long *id, struct fm_result *out);

/*
 * PUT /lists/ID/add_contacts with the contact: FM_DELIVERED on a 2xx (adding
 * a member twice is harmless). A 404 means the list is gone: it is dropped
 * from both copies, which are then fetched again on the next miss, and the
 * step retries (FM_RETRY), to find or create the list anew.
 */
void fm_lists_add(struct fm_lists *l, long long list_id, long long contact_id, uint64_t deadline,
                  struct fm_result *out);

/* The id of the list `name` from the copies alone, without a call (for
 * `fmgate try`): false when neither knows it. */
bool fm_lists_known(struct fm_lists *l, const char *name, long long *id);

/*
 * Whether the CRM has a list named `name`, from every page fetched now (for
 * `fmgate check --online`): 1 or 0; -1 with *out saying why when it cannot
 * tell (a failed fetch, more lists than are read). This process's copy is
 * updated; the shared file is neither read nor written (check may run as
 * another user than the workers).
 */
int fm_lists_exists(struct fm_lists *l, const char *name, uint64_t deadline,
                    struct fm_result *out);

#endif
