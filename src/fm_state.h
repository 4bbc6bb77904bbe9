/*
 * fm_state.h: Freshmarketer delivery state shared by every process (FastCGI
 * workers, `drain`, `drain --watch`) through small files in the spool
 * directory, so that one setting locates everything:
 *   SPOOL/state/paused      exists while the API refuses the key (401/403);
 *                           it says why and since when
 *   SPOOL/state/ratelimit   the rate-limit budget last reported by the API
 *   SPOOL/state/fields.json the cached field list (see fm_fields.h)
 *   SPOOL/state/fields.lock held by the one process refreshing the list
 *   SPOOL/state/fields.failed its mtime: when a refresh last failed
 *   SPOOL/state/warned      "left out" warnings already logged (hashes)
 *   SPOOL/state/identity    exists once the account refused external_id as
 *                           the upsert key (fm_client.h: the "emails" mode)
 * Counters mapped in SPOOL/state/shared-2 (shared.h) stand in front of the
 * files, so that a calm delivery reads none of them; the files stay the
 * record (a process that cannot map the table reads them alone).
 * Files are replaced atomically or updated under flock(); a missing or
 * unreadable state file means "no information", never a crash or a block.
 * The folder is statedir.h's: created (mode 0700) when missing, the spool
 * directory itself never. Without a usable directory (none configured, missing,
 * unwritable) each process keeps the same state in memory; it says so once
 * when one was configured (the CLI's dry verbs configure none, and are quiet).
 *
 * fm_deliver() consults and updates this state itself: while delivery is
 * paused it makes no call (FM_PAUSED) except one probe per FM_STATE_PROBE_S
 * across all processes; when the rate-limit budget says to slow down it
 * answers FM_RETRY with retry_after_s instead of calling.
 *
 * Markers and budgets carry a fingerprint of the API base and key (FNV-1a,
 * never the key itself), so that a pause or budget left by another key or
 * account does not stop this one.
 */
#ifndef FMGATE_FM_STATE_H
#define FMGATE_FM_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "fm_fields.h"
#include "fmgate_limits.h"

#define FM_STATE_PROBE_S   60     /* one probe call per minute while paused */
#define FM_BACKOFF_BASE_S  30     /* first retry after about this long */
#define FM_BACKOFF_MAX_S   3600   /* never wait longer than this between tries */
#define FM_RL_LOW_SHARE    4      /* a window is low when remaining * this <= limit:
                                     calls are then spread evenly until its reset */
#define FM_RL_CALM_SHARE   2      /* and calm when remaining * this > limit: while
                                     every window is calm, calls are neither counted
                                     nor recorded under the lock (the API's answers
                                     say where the budget stands) */
#define FM_RL_PEEK_MS      1000   /* a calm budget read without the lock is trusted
                                     this long after this process last held it */
#define FM_RL_HOLD_429_S   30     /* a 429 that says nothing holds calls this long */
#define FM_STATE_MAX_FILE  (LIMIT_MAX_UPSTREAM_BODY + 4096u) /* bytes of a state file read */
#define FM_STATE_MAX_WARNED 1024u /* warnings remembered in SPOOL/state/warned */

#define FM_RL_HOUR_S       3600   /* the hourly budget's window */
#define FM_RL_MINUTE_S     60     /* the per-minute budget's window */

/*
 * A rate-limit reset header's value as seconds until the window restarts,
 * never more than window_s: "ddmmyyHHMMSS" (12 digits, UTC; seen live),
 * Unix seconds (10 digits) or seconds until the reset (anything shorter).
 * A reset already past is 0. -1 when the value is none of these (garbage,
 * an impossible date): the caller then knows nothing of the reset. A reset
 * must never hold delivery past its window, whatever the API wrote.
 */
long fm_rl_reset_s(const char *value, long window_s, time_t now);

/* True while delivery is paused for a refused key. */
bool fm_state_paused(const char *spool_dir);

/* The calls left in the API's hour and minute windows, as the shared budget
 * last recorded them (for any key); -1 where unknown or the window is over. */
void fm_state_rl_left(const char *spool_dir, long long *hour, long long *minute);

/*
 * Seconds to wait before the next retry of a submission that failed
 * `attempts` times (1 for the first failure): exponential from
 * FM_BACKOFF_BASE_S, capped at FM_BACKOFF_MAX_S, with jitter; never less
 * than retry_after_s when that is >= 0 (the API's Retry-After).
 */
long fm_backoff_s(unsigned attempts, long retry_after_s);

/* ---- the state of one client (fm_client.c) -------------------------------- */

struct fm_state;
/*
 * The rate-limit headers of the answers seen so far (each value from the last
 * answer that carried it; -1 when never seen): x-ratelimit-limit/-remaining/
 * -reset for the hour window and per-min-x-ratelimit-* for the minute window;
 * a reset as seconds until it, whatever form the API wrote it in, never more
 * than its window (fm_rl_reset_s). What fm_http reads from each answer, and
 * what the budget below is kept from.
 */
struct fm_ratelimit {
	long hour_limit, hour_remaining, hour_reset;
	long minute_limit, minute_remaining, minute_reset;
};

/*
 * The state in spool_dir/state for the API at api_base with api_key. A
 * read_only state (for `fmgate try`) reads the cache and writes nothing.
 * NULL only when out of memory.
 */
struct fm_state *fm_state_open(const char *spool_dir, const char *api_base,
                               const char *api_key, bool read_only);
void fm_state_close(struct fm_state *st);

/* True when the state lives in files shared with other processes. */
bool fm_state_shared(const struct fm_state *st);

/*
 * Before a delivery: 0 when it may call the API (not paused, or this
 * delivery is the probe), else the seconds until the next probe is due.
 */
long fm_state_pause_check(struct fm_state *st);

/* After a 401/403: creates the marker (one loud log line when it does). */
void fm_state_key_refused(struct fm_state *st, long http_status, const char *api_message);

/* After a success: removes the marker (one log line when it did). */
void fm_state_key_works(struct fm_state *st);

/*
 * Before each call: 0 when the call may go now (it is then counted against
 * the budget), else the milliseconds to wait before asking again.
 */
long fm_state_rl_reserve(struct fm_state *st);

/* After each answer: what its rate-limit headers said (-1 for each one
 * absent), its status and Retry-After (-1 when absent). */
void fm_state_rl_record(struct fm_state *st, const struct fm_ratelimit *seen,
                        long http_status, long retry_after_s);

/*
 * The cached field list, when the file holds a usable list for this account
 * that this state has not loaded before: true with *out a new list (stamped
 * with the time it was fetched). False otherwise (no file, unchanged,
 * unreadable, another account's).
 */
bool fm_state_fields_load(struct fm_state *st, struct fm_fields **out);

/*
 * Stores the API's answer `doc` (a fields document; a member is added to it)
 * as the cache, atomically (temporary file, fsync, rename), and forgets the
 * warnings logged about the previous list. False when not stored.
 */
bool fm_state_fields_save(struct fm_state *st, cJSON *doc, time_t fetched_at);

/* A refresh failed: every process keeps serving its stale copy a while. */
void fm_state_fields_failed(struct fm_state *st);

/* Seconds since a refresh last failed in any process; -1 when none has since
 * the list was last stored. */
long fm_state_fields_failed_ago(const struct fm_state *st);

/*
 * The lock of the one process that refreshes the list, polled for up to
 * wait_ms. True when held (or when there is nothing to share).
 */
bool fm_state_fields_lock(struct fm_state *st, long wait_ms);
void fm_state_fields_unlock(struct fm_state *st);

/* True the first time `key` (a hash of what is warned about) is seen by any
 * process since the field list was last refreshed. */
bool fm_state_first_warning(struct fm_state *st, uint64_t key);

/* How contacts are keyed: upserts keyed on external_id (the default), or,
 * for an account that refuses that key, found by external id and created
 * keyed on emails (fm_client.h). */
enum fm_key_mode { FM_KEY_MODE_EXTERNAL_ID = 0, FM_KEY_MODE_EMAILS };

/* The mode for this state's account, as any process last recorded it. */
enum fm_key_mode fm_state_key_mode(struct fm_state *st);

/* The account refused external_id as key: records it for every process
 * (one warning saying `why` when it is news to this process). */
void fm_state_key_mode_emails(struct fm_state *st, const char *why);

/* For `fmgate status`: the mode recorded in spool_dir (any account), with
 * *since the time it was recorded (0 when unknown or the default). */
enum fm_key_mode fm_state_key_mode_of(const char *spool_dir, time_t *since);

#endif
