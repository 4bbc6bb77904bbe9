/*
 * submission.h: one accepted form post, typed. identify builds it; delivery
 * (deliver, fm_body, the Freshmarketer client), the spool and drain use
 * it. Each trait keeps the mapping's <field> or <constant> it came from, so
 * nobody searches the form for it again.
 *
 * Its JSON form is the Segment identify message (docs/behaviour.md), printed
 * only where it is written: the spool and `fmgate try` (submission_message).
 * drain turns a spooled message back into a submission
 * (submission_from_message) for delivery; such a submission has no context
 * (the spool keeps the message it read, and nothing delivered reads it).
 *
 * Traits: dotted names build nested objects ("address.city"). They are kept
 * in the order of the message's depth-first walk, which is the order the
 * message prints them in. A trait that cannot be placed (a name taken, a leaf
 * where an object is needed or the reverse, a malformed name, a name of
 * SUB_MAX_TRAIT_PATH bytes or more) is dropped:
 * what came first stays, as in a JSON object built one key at a time.
 *
 * Ownership: the submission owns its strings, its traits' names and values,
 * and the consent array; the <field>, <constant> and consent pointers are
 * the form mapping's, which must outlive the submission.
 * submission_free() releases everything and leaves an empty submission.
 */
#ifndef FMGATE_SUBMISSION_H
#define FMGATE_SUBMISSION_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "mapping.h"
#include "steps.h"
#include "uuid.h"

#define SUB_MAX_TRAITS     1024u  /* traits read back from one spooled message */
#define SUB_MAX_TRAIT_PATH 512u   /* bytes of a dotted trait name, with its NUL */

/* Where the userId came from (identify.h). Only SUB_SRC_SIGNED is trusted. */
enum sub_source { SUB_SRC_SIGNED = 0, SUB_SRC_FIELD, SUB_SRC_COOKIE, SUB_SRC_EMAIL };

struct sub_trait {
	char *path;                          /* dotted name */
	const struct map_field *field;       /* the <field> it came from, or NULL */
	const struct map_constant *constant; /* the <constant> it came from, or NULL */
	cJSON *value;                        /* string, number, bool, or a list */
};

/* context.campaign's members, in the message's order. */
enum sub_utm { SUB_UTM_SOURCE = 0, SUB_UTM_MEDIUM, SUB_UTM_NAME, SUB_UTM_TERM,
               SUB_UTM_CONTENT, SUB_UTM_N };

/* context.captcha: how the form's CAPTCHA went (captcha.h); provider NULL
 * when the form has none. */
struct sub_captcha {
	const char *provider;    /* map_captcha_name()'s static string, or NULL */
	bool verified;           /* false: the provider was unavailable and the
	                            form accepts unverified submissions then */
	bool has_score;
	double score;            /* as the provider gave it, 0..1 */
};

struct sub_context {
	char *ip, *user_agent, *locale;               /* or NULL */
	char *page_url, *page_path, *page_search;     /* or NULL */
	char *page_title, *referrer;                  /* or NULL */
	char *campaign[SUB_UTM_N];                    /* or NULL */
	const struct map_field **consent;             /* checked consent boxes */
	size_t n_consent;
	struct sub_captcha captcha;
};

struct submission {
	char message_id[UUID_STR_SIZE];
	char timestamp[UUID_TS_SIZE];
	const char *form_id;                 /* the form's id (the mapping's), or
	                                        NULL when read back without a form */
	char *user_id;                       /* NULL only when read back without one */
	enum sub_source source;
	char *anonymous_id;                  /* or NULL */
	char *email;                         /* normalised (lower-cased); the same */
	struct sub_trait *traits;
	size_t n_traits, cap_traits;
	struct sub_context ctx;
	struct steps steps;                  /* what delivery takes (steps.h); set by
	                                        submission_plan, or read back from the
	                                        spool record */
};

enum sub_err {
	SUB_OK = 0,
	SUB_EINVAL,  /* not an identify message (submission_from_message) */
	SUB_ENOMEM,
};

/* An empty submission (all zero is one too). */
void submission_init(struct submission *s);
void submission_free(struct submission *s);

/*
 * Adds a trait, taking `value` (freed when the trait is dropped, see above).
 * `field` or `constant` (either may be NULL) is where it came from. Room for
 * `hint` traits in all is made at the first call. SUB_OK or SUB_ENOMEM.
 */
enum sub_err submission_add_trait(struct submission *s, const char *path,
                                  const struct map_field *field,
                                  const struct map_constant *constant, cJSON *value,
                                  size_t hint);

/* A checked consent box, once per trait. SUB_OK or SUB_ENOMEM. */
enum sub_err submission_add_consent(struct submission *s, const struct map_field *box);

/*
 * The steps of a new submission of `form` (steps.h): the contact step, then
 * an account step when the <account> field holds a name, a list step for
 * each <list> whose if-field (if any) is true, and a note step when the
 * <note> field holds a text; a value of nothing but spaces counts as none.
 * Values are taken from the traits of those fields. SUB_OK or SUB_ENOMEM.
 */
enum sub_err submission_plan(struct submission *s, const struct map_form *form);

/* True when the userId came from a signed source. */
bool submission_trusted(const struct submission *s);

/* The identify message: a new cJSON (the caller deletes it); NULL when out
 * of memory. */
cJSON *submission_message(const struct submission *s);

/*
 * A spooled message back as a submission (out is initialised here). Each
 * trait's <field> or <constant> is looked up by name in `form` (NULL: none),
 * which may have changed since the message was written; form_id is its id.
 * What the message
 * lacks stays empty: a userId or email that is absent, empty or not a string
 * is NULL (delivery refuses such a submission), a messageId that is not a
 * UUID is "". A userIdSource that is absent or unknown is SUB_SRC_FIELD:
 * untrusted. Values are copied. SUB_EINVAL when msg is not an object, or
 * holds more than SUB_MAX_TRAITS traits.
 */
enum sub_err submission_from_message(const cJSON *msg, const struct map_form *form,
                                     struct submission *out);

#endif
