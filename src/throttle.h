/*
 * throttle.h: submission rate limits shared by every worker process.
 *
 * Each limited thing (a client address on a form, a whole form) is a key with
 * a budget of `limit` submissions per `window_s` seconds, kept with GCRA (the
 * generic cell rate algorithm): one timestamp per key, the time at which its
 * budget is whole again. A key may spend its whole budget at once, then one
 * submission per window_s/limit seconds. A key whose budget is whole needs no
 * memory, so the table holds only keys seen recently.
 *
 * The table lives in SPOOL/state/throttle (THROTTLE_SLOTS slots, mapped
 * shared, updated under flock()), so FastCGI workers of every web server and
 * `serve` share one budget. Keys are hashed with a random seed kept in the
 * file, so that a client cannot aim its keys at another's slots. When the
 * table is crowded (more than THROTTLE_PROBES recent keys meet in one
 * neighbourhood) the key closest to a whole budget is forgotten: a flood of
 * distinct addresses can then escape the per-address limit, never the
 * per-form one. Without a usable state directory each process keeps its own
 * table in memory, and says so once.
 *
 * Ownership: a struct throttle owns its file descriptor, mapping and state
 * folder (statedir.h), released by throttle_close(). A throttle opened in one process is reopened, not
 * shared, by a process forked from it (flock() would not separate them), and
 * by any process within a second of its file being removed or replaced.
 */
#ifndef FMGATE_THROTTLE_H
#define FMGATE_THROTTLE_H

#include <stddef.h>
#include <stdint.h>

#define THROTTLE_SLOTS   16384u  /* keys remembered at once (16 bytes each) */
#define THROTTLE_PROBES  16u     /* slots looked at for one key */
#define THROTTLE_MAX_KEY 512u    /* bytes of a key's text */

struct throttle;

/* One budget to spend: the key's text (a form id, an address) and its limit. */
struct throttle_key {
	const char *text;      /* at most THROTTLE_MAX_KEY bytes are hashed */
	size_t len;
	unsigned limit;        /* submissions per window; 0: none (always allowed) */
	unsigned window_s;     /* at least 1 */
};

enum throttle_err {
	THROTTLE_OK = 0,
	THROTTLE_EIO,      /* the shared file could not be used: memory instead */
	THROTTLE_ENOMEM,
};

/*
 * The table in spool_dir/state/throttle (the state directory is created,
 * mode 0700), or a table in this process's memory when spool_dir is NULL or
 * the file cannot be used (*err then says THROTTLE_EIO and `why` is logged by
 * the caller). NULL only when out of memory.
 */
struct throttle *throttle_open(const char *spool_dir, enum throttle_err *err,
                               char *why, size_t why_size);
void throttle_close(struct throttle *t);

/* True when the table is shared through the spool's state directory. */
int throttle_shared(const struct throttle *t);

/*
 * Spends one submission from every key of keys[0..n) at time now_ms
 * (milliseconds since the epoch), all or none: returns 0 when each key had
 * room (each is then charged), else the seconds until all would have room
 * (at least 1), charging none. Keys with limit 0 are skipped.
 */
long throttle_take(struct throttle *t, const struct throttle_key *keys, size_t n,
                   int64_t now_ms);

const char *throttle_strerror(enum throttle_err e);

#endif
