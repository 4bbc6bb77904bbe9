/*
 * shared.h: counters every process shares through one small mapped file,
 * SPOOL/state/shared, read without a system call. It holds one table: for
 * each slot of userId hashes, how many submissions may wait in the queue.
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
 * Ownership: the readers' mapping and state folder are this module's, one
 * pair per process, for the spool directory last asked about (another one
 * is mapped in its place), kept for the life of the process and shared with
 * children after fork(). A shared_hold owns its descriptor and mapping until
 * shared_end().
 */
#ifndef FMGATE_SHARED_H
#define FMGATE_SHARED_H

#include <stdbool.h>
#include <stdint.h>

#define SHARED_WAIT_SLOTS 16384u   /* userId slots (4 bytes each: 64 KiB) */

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

#endif
