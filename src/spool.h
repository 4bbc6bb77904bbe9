/*
 * spool.h: the durable spool of submissions not yet delivered (docs/spool.md).
 *
 * Layout under the spool directory (docs/spool.md):
 *   queue/BB/NAME   a waiting submission; BB = first byte of the userId's hash
 *   dead/NAME       a submission that failed for good, with the reason
 *   DIR/.PID.N.SEQ  a file being written, renamed to its NAME once flushed
 *   lock            an empty file: one byte-range lock per userId
 *   count           how many files queue/ and dead/ hold (a hint, recounted)
 * NAME is SEQ-HASH-MESSAGEID: SEQ the time the submission was accepted in
 * nanoseconds since the epoch (20 digits), HASH 16 hex digits of the userId's
 * hash, MESSAGEID the identify message's UUID. Sorting by SEQ gives the order
 * of acceptance; HASH finds the submissions of one userId in one directory.
 * That file is the submission's delivery to Freshmarketer. Its delivery to
 * another destination of the form (<notify>, <webhook>, <forward>) is a file
 * of its own, NAME.DEST (DEST the destination's name), whose HASH is that of
 * the userId and DEST together (spool_dest_hash): each destination has its
 * own files, lock, order and schedule, so that one failing never holds back,
 * delays or repeats another.
 *
 * A file holds one JSON object: the identify message, its delivery steps
 * and how far they got (steps.h), and its delivery state (form, attempts,
 * next attempt, last error; dead ones also the reason; once requeued, when,
 * and the history of its deaths and requeues). A
 * waiting file's mtime is its next attempt time, so a pass can skip what is
 * not due without reading it; the content stays the truth.
 *
 * Claims: whoever delivers, spools behind, moves or removes a userId's
 * submissions holds that userId's lock: an open-file-description lock
 * (F_OFD_SETLK) on byte HASH/4 of the lock file. The kernel drops it when the
 * process dies, so a claim never outlives its holder, and no file is written
 * to take it. "In flight" means: the oldest waiting submission of a userId
 * whose lock is held.
 *
 * Durability: a new file is written under a temporary name in its own
 * directory, fdatasync'ed, renamed into place and the directory fsync'ed
 * before spool_add() returns. Rewrites of the delivery state are flushed and
 * renamed over the old file.
 *
 * Ownership: struct spool holds only settings and the text of its last error;
 * it owns no descriptor, so it survives fork(). A spool_item owns its identify
 * message (spool_item_free). A spool_list owns its array (spool_list_free).
 */
#ifndef FMGATE_SPOOL_H
#define FMGATE_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "fmgate_limits.h"
#include "mapping.h"
#include "uuid.h"

#define SPOOL_DEFAULT_MAX_FILES    100000u
#define SPOOL_DEFAULT_MAX_AGE_DAYS 14u
#define SPOOL_BUCKETS              256u
#define SPOOL_NAME_SIZE            (75u + 1u + MAP_MAX_DEST_NAME) /* 20-16-36[.DEST] NUL */
#define SPOOL_MAX_ERROR            512u    /* bytes of a last error or reason */
/* The largest record written or read: an identify message built from the
 * largest body a mapping may allow, with JSON escaping. */
#define SPOOL_MAX_RECORD           (6u * LIMIT_CEIL_MAX_BODY + 65536u)
/* Entries one listing holds; a larger spool is processed in parts (the order
 * of one userId's submissions is checked again before each delivery). */
#define SPOOL_MAX_LIST             1000000u
#define SPOOL_PATH_MAX             (LIMIT_MAX_URL + 128u)
/* Events (deaths, requeues) a record keeps; the oldest go first. */
#define SPOOL_MAX_HISTORY          8u
#define SPOOL_REQUEUED             "requeued" /* the reason of a requeue event */

struct spool {
	char dir[LIMIT_MAX_URL];
	size_t max_files;
	unsigned max_age_days;
	bool prepared;            /* the layout is known to exist */
	bool recounted;           /* this process filled the shared table once */
	char why[SPOOL_PATH_MAX + 128]; /* the last error, for a log line */
};

enum spool_err {
	SPOOL_OK = 0,
	SPOOL_EIO,      /* a system call failed: unwritable, unreadable, missing */
	SPOOL_ENOSPC,   /* the file system is full (or the quota used up) */
	SPOOL_EFULL,    /* max-files reached */
	SPOOL_EBUSY,    /* another process holds the userId's lock */
	SPOOL_ENOENT,   /* the submission is gone (delivered or moved meanwhile) */
	SPOOL_ECORRUPT, /* a file that is not a spool record */
	SPOOL_EINVAL,   /* a message without userId or messageId, or too large */
	SPOOL_ENOMEM,
	SPOOL_EUNSAFE,  /* the directory others may write, or another user's */
};

enum spool_area { SPOOL_QUEUE = 0, SPOOL_DEAD };

/* A submission as its file name identifies it. */
struct spool_id {
	uint64_t seq;             /* accepted, ns since the epoch */
	uint64_t uhash;           /* spool_user_hash(userId) */
	char mid[37];             /* messageId */
	char dest[MAP_MAX_DEST_NAME + 1]; /* "" for Freshmarketer, else the
	                             destination's name */
};

/* The delivery state kept with a submission. */
struct spool_state {
	unsigned attempts;        /* calls that failed so far */
	long long next_attempt;   /* unix seconds; 0: at once */
	char last_error[SPOOL_MAX_ERROR];
};

/* One event of a submission's past: it died (the reason), or was requeued
 * (SPOOL_REQUEUED). */
struct spool_event {
	char time[UUID_TS_SIZE];  /* ISO-8601 UTC, as the record's "accepted" */
	char reason[SPOOL_MAX_ERROR];
};

struct spool_item {
	struct spool_id id;
	enum spool_area area;
	char form[LIMIT_MAX_FORM_ID + 1];
	struct spool_state st;
	char reason[SPOOL_MAX_ERROR];  /* dead: why; else "" */
	long long mtime;          /* the file's: next attempt, or when it died */
	long long requeued;       /* unix seconds of its last requeue, 0 never:
	                             its age (max-age-days) counts from then */
	unsigned n_history;
	struct spool_event history[SPOOL_MAX_HISTORY]; /* oldest first */
	cJSON *identify;          /* owned */
	cJSON *steps;             /* owned: the delivery steps (steps.h), or NULL
	                             for a record written before steps existed */
};

struct spool_entry {
	struct spool_id id;
	long long mtime;          /* only when listed with times, else 0 */
};

struct spool_list {
	struct spool_entry *v;
	size_t n, cap;
	bool truncated;           /* more than SPOOL_MAX_LIST entries */
};

#define SPOOL_STATS_DESTS 64u     /* destination names counted apart */

/* Files of one destination ("" for Freshmarketer). */
struct spool_dest_count {
	char dest[MAP_MAX_DEST_NAME + 1];
	size_t waiting, dead;
};

struct spool_stats {
	size_t waiting;           /* in queue/, in flight included */
	size_t in_flight;
	size_t dead;
	long long oldest_s;       /* age of the oldest waiting one; 0 when none */
	struct spool_dest_count by_dest[SPOOL_STATS_DESTS]; /* in order of first
	                             sight; names beyond the table are not shown */
	size_t n_dests;
};

struct spool_lock {
	int fd;                   /* -1 when not held */
};

/* Settings: the directory and the mapping's limits (0 gives the defaults). */
void spool_init(struct spool *sp, const char *dir, size_t max_files, unsigned max_age_days);

/*
 * The spool directory for commands that need nothing else: FMGATE_SPOOL, else
 * the mapping's <spool dir> (s may be NULL), else CONFIG_DEFAULT_SPOOL, by
 * config_spool_dir(), as config_resolve() (an empty FMGATE_SPOOL counts as
 * unset). False when the path does not fit.
 */
bool spool_dir_of(const struct map_settings *s, char *out, size_t outsize);

/*
 * Why a spool directory of this owner and mode must not be used, or NULL: it
 * holds personal data and what drain sends, so only the user fmgate runs as
 * (euid) may write it: group or others may not, and it is owned by euid or
 * root. Run as root, any owner is taken (an administrator's `status` or
 * `requeue` on the web server user's spool, as that user: spool_become_owner).
 */
const char *spool_dir_unsafe(uid_t owner, mode_t mode, uid_t euid);

/* The spool directory against spool_dir_unsafe(): SPOOL_EUNSAFE (sp->why
 * says why), SPOOL_ENOENT when it does not exist, SPOOL_EIO when it cannot
 * be looked at or is no directory. */
enum spool_err spool_check_dir(struct spool *sp);

/*
 * Run as root on a spool another user owns, becomes that user (its group,
 * no supplementary groups) for the rest of the process, so that what a
 * command writes there stays the owner's (the drain can read it) and no
 * link the owner planted in the spool leads root's writes elsewhere. Does
 * nothing for another user, a spool owned by root or a missing one.
 * SPOOL_OK, or SPOOL_EIO (sp->why) when it cannot look or switch.
 */
enum spool_err spool_become_owner(struct spool *sp);

/* Creates the layout (mode 0700) in the spool directory, which must exist
 * and pass spool_check_dir(). Writers call it themselves. */
enum spool_err spool_prepare(struct spool *sp);

/* FNV-1a, 64 bits (hash.h): stable across processes and versions, as the
 * file names that carry it must be. */
uint64_t spool_user_hash(const char *user_id);
/* The HASH of a userId's files for destination `dest` ("" or NULL: the
 * userId's own, spool_user_hash). */
uint64_t spool_dest_hash(const char *user_id, const char *dest);
/* Now, as a SEQ: nanoseconds since the epoch. */
uint64_t spool_seq_now(void);
/* The file name of an id; out holds SPOOL_NAME_SIZE bytes. */
void spool_id_name(const struct spool_id *id, char *out);
/* Parses a file name; false for anything else (editor leftovers, tmp files). */
bool spool_id_parse(const char *name, struct spool_id *out);
/* Fills an id from an identify message (its userId and messageId) for
 * destination `dest` ("" or NULL: Freshmarketer). */
enum spool_err spool_id_of(const cJSON *identify, uint64_t seq, const char *dest,
                           struct spool_id *out);

/*
 * Takes the lock of a userId without waiting: SPOOL_OK (release it with
 * spool_unlock), SPOOL_EBUSY, or SPOOL_EIO when the lock file cannot be had
 * (an unwritable spool: nothing can be spooled either then).
 */
enum spool_err spool_lock_user(struct spool *sp, uint64_t uhash, struct spool_lock *lk);
void spool_unlock(struct spool_lock *lk);

/*
 * Whether a waiting submission of this userId was accepted before `seq`
 * (UINT64_MAX: any waiting one). 1 yes, 0 no, -1 the queue is unreadable
 * (sp->why says why). A spool never written to has none. When the shared
 * table (shared.h) says none of this userId can wait, the answer is 0
 * without reading the queue: the calls below that add, move or remove
 * waiting files keep it, and spool_recount() fills it again (a process that
 * finds it never filled, no drain having run on the spool, fills it once).
 */
int spool_user_waiting(struct spool *sp, uint64_t uhash, uint64_t seq);

/*
 * Stores a submission durably (its delivery steps too, unless NULL): in the queue with state `st`, or (area
 * SPOOL_DEAD) in the dead area with `reason`. Returns only once the file and
 * its directory entry are on disk. SPOOL_EFULL over max-files, SPOOL_ENOSPC,
 * SPOOL_EIO; sp->why then says what failed.
 */
enum spool_err spool_add(struct spool *sp, enum spool_area area, const struct spool_id *id,
                         const cJSON *identify, const cJSON *steps, const char *form_id,
                         const struct spool_state *st, const char *reason);

/*
 * Stores a waiting submission (fresh state, no steps) that is not due before
 * `until` (its mtime, like an in-flight mark): a destination's file written
 * before the outcome that decides whether it goes at all is known.
 * spool_mark(.., now) releases it; spool_remove (under its lock) drops it; a
 * writer that dies meanwhile leaves it due at `until`. Errors as spool_add.
 */
enum spool_err spool_add_held(struct spool *sp, const struct spool_id *id, const cJSON *identify,
                              const char *form_id, long long until);

/* A waiting file's mtime (its next attempt, or a mark). SPOOL_ENOENT when it
 * is gone. */
enum spool_err spool_mtime(struct spool *sp, const struct spool_id *id, long long *mtime);

/* Reads one submission. SPOOL_ENOENT when it is gone. */
enum spool_err spool_read(struct spool *sp, enum spool_area area, const struct spool_id *id,
                          struct spool_item *out);
void spool_item_free(struct spool_item *it);

/*
 * The bytes text[0..len) of the file named by `id` in `area` into *out (the
 * file's mtime left 0), as spool_read takes them: a record as record writers
 * make it, its "identify" message's userId and messageId those of the name.
 * SPOOL_ECORRUPT with *why saying what was wrong, and nothing to free;
 * otherwise free *out with spool_item_free.
 */
enum spool_err spool_parse(const char *text, size_t len, enum spool_area area,
                           const struct spool_id *id, struct spool_item *out, const char **why);

/* A waiting record's text as spool_reschedule and spool_save write it (no
 * "reason"; "accepted" from the id); cJSON_free() it. NULL with *err
 * SPOOL_ENOMEM, or SPOOL_EINVAL over SPOOL_MAX_RECORD. */
char *spool_item_text(const struct spool_item *it, enum spool_err *err);

/* The caller holds the userId's lock for the four calls below. */
/* Marks a waiting submission as being delivered until `until` (its mtime), so
 * that if this process dies mid-call others wait before sending it again. */
enum spool_err spool_mark(struct spool *sp, const struct spool_id *id, long long until);
/* Writes it->st back (mtime = next attempt). */
enum spool_err spool_reschedule(struct spool *sp, struct spool_item *it);
/* Writes it->st and it->steps back with the file's mtime set to `mtime` (an
 * in-flight mark stays one), the folder flushed too: the durable record of a
 * step done, so that a crash repeats at most the step after it. */
enum spool_err spool_save(struct spool *sp, struct spool_item *it, long long mtime);
/* Removes a delivered submission. */
enum spool_err spool_remove(struct spool *sp, const struct spool_id *id);
/* Moves a waiting submission to the dead area with `reason` (added to its
 * history). */
enum spool_err spool_bury(struct spool *sp, struct spool_item *it, const char *reason);

/* Moves a waiting file that is not a valid record (spool_read said
 * SPOOL_ECORRUPT) to the dead area as it is, so that it stops holding back
 * its userId; it is counted there and purged like the others. */
enum spool_err spool_quarantine(struct spool *sp, const struct spool_id *id);

/* Lists an area sorted by SEQ (bucket -1: every bucket of the queue). With
 * times, each entry's mtime is read too. */
enum spool_err spool_list(struct spool *sp, enum spool_area area, int bucket, bool times,
                          struct spool_list *out);
void spool_list_free(struct spool_list *l);

/* Counts for `fmgate status`. SPOOL_EIO when the spool cannot be read. */
enum spool_err spool_stats(struct spool *sp, struct spool_stats *out);

/* Deletes dead submissions that died more than older_than_s seconds ago
 * (0: all); *n receives how many. */
enum spool_err spool_purge_dead(struct spool *sp, long long older_than_s, size_t *n);

/*
 * Puts dead submissions back in the queue with a fresh delivery state (steps
 * refused become pending; steps done stay done), under
 * their original SEQ (so they keep their place among that userId's waiting
 * ones), with a new age: requeued is now, and the history records it. `want` is a file name or a messageId (every destination of it);
 * NULL takes every one. `dest` (when not NULL) keeps only that
 * destination's ("freshmarketer" or "": the contact's). *n receives how many
 * moved; SPOOL_ENOENT when nothing matched.
 */
enum spool_err spool_requeue_dead(struct spool *sp, const char *want, const char *dest,
                                  size_t *n);

/* A file spool_forget removed (failure NULL), or could not read or remove
 * (failure: why, for a message): only its id, never its content. */
typedef void spool_forget_fn(void *ud, enum spool_area area, const struct spool_id *id,
                             const char *failure);

struct spool_forgot {
	size_t removed;   /* files removed */
	size_t busy;      /* files that stayed: their lock stayed held */
	size_t failed;    /* files that could not be read or removed */
};

/*
 * An erasure request: removes the waiting and dead files (the contact's and
 * other destinations', NAME and NAME.DEST) whose identify message's
 * traits.email is `email` (ignoring ASCII case), each under its userId's
 * lock (a delivery in progress is waited for up to 5 s). Each directory a
 * file left is flushed before fn hears of the removal. A file gone
 * meanwhile is skipped; one that cannot be read (not a record, unreadable)
 * or removed is given to fn with why, and the others are still done. *out
 * receives the counts; an error is returned only when an area cannot be
 * listed or a directory flushed.
 */
enum spool_err spool_forget(struct spool *sp, const char *email, spool_forget_fn *fn, void *ud,
                            struct spool_forgot *out);

/* Counts queue/ and dead/ again and stores the count; *n receives it. */
enum spool_err spool_recount(struct spool *sp, size_t *n);

/* Removes temporary files older than older_than_s (left by a killed writer:
 * never acknowledged); returns how many. */
size_t spool_clean_tmp(struct spool *sp, long long older_than_s);

const char *spool_strerror(enum spool_err e);

#endif
