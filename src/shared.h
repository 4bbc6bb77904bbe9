/*
 * shared.h: counters every process shares through one small mapped file,
 * SPOOL/state/shared-2, read without a system call. It holds a table: for
 * each slot of userId hashes, how many submissions may wait in the queue;
 * and struct shared_state, fm_state's fast path in front of its files.
 *
 * The spool counts a submission before its file appears in queue/ and
 * uncounts it after the file is gone, so a slot is never lower than the
 * waiting files it covers; a slot at zero answers "none waits" without
 * reading the queue directory, any other value sends the reader to the
 * directory. A count too high (a crash between the two steps, two userIds in
 * one slot) only costs that read, until the next recount.
 *
 * A table is trusted only once a recount has filled it: a new file (or one
 * of another layout) says "unknown" until then. Changes to the queue hold
 * the file's lock shared (flock) from the count to the file's change; a
 * recount holds it exclusive, so no change falls between its reading of the
 * queue and its storing. A process whose change cannot be counted marks the
 * table unknown where it can (it has the table mapped). A file removed or
 * replaced under a reader is noticed within a second: removing SPOOL/state
 * while submissions are being spooled may let one of them be passed by a
 * later one of its userId in that second.
 *
 * struct shared_state is never the only record: each counter says when its
 * file must be read, and a process that cannot map the table reads the
 * files. A table made anew (first use, another layout, SPOOL/state removed)
 * starts with every flag set and the rate-limit sequence odd, so that the
 * first reader of each consults the file and corrects the counter.
 *
 * Ownership: the readers' mapping and state folder are this module's, one
 * pair per process, for the spool directory last asked about (another one
 * is mapped in its place), kept for the life of the process and shared with
 * children after fork(). A shared_hold owns its descriptor and mapping until
 * shared_end().
 */
#ifndef FMGATE_SHARED_H
#define FMGATE_SHARED_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define SHARED_WAIT_SLOTS 16384u   /* userId slots (4 bytes each: 64 KiB) */
#define SHARED_RL_VALUES  8u       /* numbers of the rate-limit record */

/*
 * A flag every process sees: bit 0 set or not, the bits above a generation
 * that each change bumps, so that a clear decided on an old reading (by
 * compare-and-swap) never undoes a set made since.
 */
typedef atomic_uint_least64_t shared_flag;

/* fm_state's counters (fm_state.h says what each file holds). */
struct shared_state {
	shared_flag paused;        /* set: SPOOL/state/paused may exist */
	shared_flag identity;      /* set: SPOOL/state/identity may exist */
	atomic_uint_least64_t fields_gen; /* bumped after each store of fields.json */
	/* The rate-limit budget as its last lock holder left the file: written
	 * under the file's flock, read without it (a seqlock: an odd sequence
	 * is a write under way, or one a crash cut short). */
	atomic_uint_least64_t rl_seq;
	atomic_uint_least64_t rl_key;   /* fingerprint of the key it is for */
	atomic_llong rl_values[SHARED_RL_VALUES];
};

/* A lock on the table, held around one change of the queue or a recount. */
struct shared_hold {
	int fd;                    /* -1: nothing held (the change is not counted) */
	void *map;                 /* the table, while held */
};

/*
 * Whether a submission of the userId with hash uhash may wait in the queue of
 * spool_dir: false only when the table is trusted and its slot is zero.
 */
bool shared_may_wait(const char *spool_dir, uint64_t uhash);

/* Whether a recount has filled the table of spool_dir (it is trusted). */
bool shared_filled(const char *spool_dir);

/*
 * Before a change of the queue: takes the lock shared. When it cannot, the
 * table is marked unknown (h->fd is then -1, and shared_count does nothing).
 */
void shared_begin(const char *spool_dir, struct shared_hold *h);

/* Adds delta to the slot of uhash (under a hold from shared_begin). */
void shared_count(struct shared_hold *h, uint64_t uhash, int delta);

/*
 * Before a recount: takes the lock exclusive and empties the table, which is
 * unknown until shared_trust(). False when the table cannot be had.
 */
bool shared_recount_begin(const char *spool_dir, struct shared_hold *h);

/* After a recount that counted every waiting file (shared_count, +1 each). */
void shared_trust(struct shared_hold *h);

void shared_end(struct shared_hold *h);

/*
 * fm_state's counters of spool_dir, made when missing (for a process that
 * will write state: call once, when it starts). False when the table cannot
 * be had: shared_state() is then NULL until someone makes it.
 */
bool shared_state_attach(const char *spool_dir);

/*
 * fm_state's counters in the readers' mapping of spool_dir; NULL when there
 * is none. Valid until the next call of a function of this module.
 */
struct shared_state *shared_state(const char *spool_dir);

/* Whether f is set; *seen (may be NULL) the value read, for shared_flag_clear. */
bool shared_flag_get(shared_flag *f, uint64_t *seen);

/* Sets f, with a new generation. */
void shared_flag_set(shared_flag *f);

/* Clears f, unless it changed since it read `seen`. */
void shared_flag_clear(shared_flag *f, uint64_t seen);

/* Publishes a rate-limit record (by the holder of the budget file's lock). */
void shared_rl_store(struct shared_state *s, uint64_t key,
                     const long long v[SHARED_RL_VALUES]);

/* The record, read without the lock: false while one is being written or
 * none was since the table was made. */
bool shared_rl_load(struct shared_state *s, uint64_t *key, long long v[SHARED_RL_VALUES]);

#endif
