/*
 * fm_state.h: Freshmarketer delivery state shared by every process (FastCGI
 * workers, `drain`, `drain --watch`) through small files in the spool
 * directory, so that one setting locates everything:
 *   SPOOL/state/paused      exists while the API refuses the key (401/403);
 *                           it says why and since when
 *   SPOOL/state/ratelimit   the rate-limit budget last reported by the API
 *   SPOOL/state/fields.json the cached field list (see fm_fields.h)
 * Files are replaced atomically or updated under flock(); a missing or
 * unreadable state file means "no information", never a crash or a block.
 *
 * fm_deliver() consults and updates this state itself: while delivery is
 * paused it makes no call (FM_PAUSED) except one probe per FM_STATE_PROBE_S
 * across all processes; when the rate-limit budget says to slow down it
 * answers FM_RETRY with retry_after_s instead of calling.
 */
#ifndef FMGATE_FM_STATE_H
#define FMGATE_FM_STATE_H

#include <stdbool.h>

#define FM_STATE_PROBE_S   60     /* one probe call per minute while paused */
#define FM_BACKOFF_BASE_S  30     /* first retry after about this long */
#define FM_BACKOFF_MAX_S   3600   /* never wait longer than this between tries */

/* True while delivery is paused for a refused key. */
bool fm_state_paused(const char *spool_dir);

/*
 * Seconds to wait before the next retry of a submission that failed
 * `attempts` times (1 for the first failure): exponential from
 * FM_BACKOFF_BASE_S, capped at FM_BACKOFF_MAX_S, with jitter; never less
 * than retry_after_s when that is >= 0 (the API's Retry-After).
 */
long fm_backoff_s(unsigned attempts, long retry_after_s);

#endif
