/*
 * steps.h: what delivering one submission takes, step by step, and how far
 * it got (docs/spool.md, docs/freshmarketer.md).
 *
 * Every submission has the contact step. A form's <account>, <list> and
 * <note> add one step each when the submission calls for it (a company
 * given, a list's if-field checked, a note's text given), decided once when
 * the submission is accepted: a later change of the mapping never changes
 * what an accepted submission does. Steps run in the order kept here:
 * contact, account, lists in mapping order, note. A step is pending, done,
 * or refused for good (with its reason); the contact step comes first, and
 * the others need the contact's id it records.
 *
 * The spool record keeps the steps as JSON (steps_to_json,
 * steps_from_json): a retry runs only what is pending, a requeue from the
 * dead area makes refused steps pending again (steps_revive), and a record
 * without steps (written before steps existed) is the contact step alone.
 *
 * Ownership: struct steps owns its array and every string in it
 * (steps_free). The JSON returned by steps_to_json belongs to the caller.
 */
#ifndef FMGATE_STEPS_H
#define FMGATE_STEPS_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "fmgate_limits.h"
#include "mapping.h"

/* Steps of one submission: the contact, its account, its note and at most
 * MAP_MAX_LISTS lists. */
#define STEPS_MAX        (3u + MAP_MAX_LISTS)
#define STEPS_MAX_TEXT   LIMIT_CEIL_MAX_VALUE /* bytes of a name, title or text read back */
#define STEPS_MAX_REASON 512u                 /* bytes of a refused step's reason */

enum step_kind { STEP_CONTACT = 0, STEP_ACCOUNT, STEP_LIST, STEP_NOTE };
enum step_state { STEP_PENDING = 0, STEP_DONE, STEP_REFUSED };

struct step {
	enum step_kind kind;
	enum step_state state;
	char *name;      /* ACCOUNT: the company; LIST: the list; NOTE: the title or NULL */
	char *text;      /* NOTE: the note's text; else NULL */
	bool create;     /* LIST: create it when the CRM has no list of that name */
	long long id;    /* CONTACT: the contact's id once written; ACCOUNT: the
	                    account's once upserted (the link may still be pending);
	                    0 when not known */
	char *reason;    /* REFUSED: why; else NULL */
};

struct steps {
	struct step *v;
	size_t n, cap;
};

enum steps_err {
	STEPS_OK = 0,
	STEPS_EINVAL,   /* JSON that is not a steps array (steps_from_json) */
	STEPS_ENOMEM,
};

/* An empty list (all zero is one too). */
void steps_init(struct steps *s);
void steps_free(struct steps *s);

/*
 * Appends a pending step; `name` and `text` are copied (either may be NULL).
 * STEPS_EINVAL beyond STEPS_MAX steps.
 */
enum steps_err steps_add(struct steps *s, enum step_kind kind, const char *name,
                         const char *text, bool create);

/* Marks a step refused with `reason` (copied, cut at STEPS_MAX_REASON). */
enum steps_err steps_refuse(struct step *st, const char *reason);

/* How many steps are in each state; NULL pointers are skipped. */
void steps_count(const struct steps *s, size_t *pending, size_t *done, size_t *refused);

/* Whether a step of `kind` is pending. */
bool steps_pending_kind(const struct steps *s, enum step_kind kind);

/* Whether a step other than the contact is pending. */
bool steps_pending_after_contact(const struct steps *s);

/* The contact step (the first); NULL when there is none. */
struct step *steps_contact(struct steps *s);

/* Refused steps become pending again (a requeue from the dead area). */
void steps_revive(struct steps *s);

/* "contact", "account", "list", "note"; and "pending", "done", "refused". */
const char *step_kind_name(enum step_kind k);
const char *step_state_name(enum step_state t);

/*
 * One line for an operator: each step as KIND:STATE, comma-separated
 * ("contact:done,account:refused,list:pending"); names and texts are left
 * out (they may be what a visitor typed). Cut to fit `size`.
 */
void steps_summary(const struct steps *s, char *out, size_t size);

/* The steps as the spool record's "steps" array; NULL when out of memory. */
cJSON *steps_to_json(const struct steps *s);

/*
 * The record's array back (s is initialised here): NULL (a record without
 * steps) gives the contact step alone, pending. STEPS_EINVAL for anything
 * but an array of at most STEPS_MAX well-formed steps whose first, and only
 * first, is the contact step.
 */
enum steps_err steps_from_json(const cJSON *json, struct steps *s);

#endif
