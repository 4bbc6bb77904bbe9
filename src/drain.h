/*
 * drain.h: delivery of spooled submissions: `fmgate drain [--now]` (one run)
 * and `fmgate drain --watch` (the delivery service). docs/spool.md.
 *
 * A run looks at the oldest waiting submission of each userId, oldest first.
 * Holding that userId's lock it delivers the userId's submissions in order
 * until one is not due or fails; after a delivery the file is removed, after a
 * final refusal it goes to the dead area with the API's message, after a
 * temporary failure it gets attempts + 1 and a next attempt fm_backoff_s()
 * later. Before each call the file is marked (mtime) as in flight for
 * DRAIN_INFLIGHT_S, so that when a drain is killed mid-call, the others wait
 * for that call to be over before sending the submission again.
 *
 * Pacing: a failure of Freshmarketer itself (network, 5xx, 401/403) holds
 * its deliveries for a growing pause (1 s doubling to DRAIN_HOLD_MAX_S, or
 * Retry-After); a one-shot run then ends with exit 1 (the timer tries
 * again). A throttled call (429, or the shared rate-limit state holding calls
 * back) is waited out: by the watcher always, by a one-shot run when the wait
 * is at most DRAIN_WAIT_MAX_S. Every other destination of a form (deliver.h)
 * is paced the same way on its own, so one that fails never holds back
 * Freshmarketer or another. Waiting submissions older than max-age-days go
 * to the dead area.
 *
 * The watcher runs a process per destination: Freshmarketer's, one for each
 * destination name of the mapping's forms (at most DRAIN_MAX_LANES), and one
 * for names that come with a later version of the mapping; each delivers
 * only its own files, so a slow destination holds back no other. Each
 * watches every queue bucket with inotify and delivers a new file
 * as soon as it appears; a full pass runs when something falls due, at least
 * every DRAIN_PASS_MAX_S, and DRAIN_BUSY_RETRY_MS after finding a userId held
 * by another process. SIGTERM or SIGINT stop it after the current delivery.
 */
#ifndef FMGATE_DRAIN_H
#define FMGATE_DRAIN_H

#include <stdbool.h>

#define DRAIN_BUDGET_MS      10000u  /* one submission's calls: nobody waits on them */
#define DRAIN_INFLIGHT_S     60      /* longer than any call of a killed drain lasts */
#define DRAIN_HOLD_MAX_S     60      /* the watcher's longest pause after failures */
#define DRAIN_WAIT_MAX_S     60      /* throttling a one-shot run waits out */
#define DRAIN_PASS_MAX_S     60      /* the watcher's full pass, at least this often */
#define DRAIN_BUSY_RETRY_MS  1000    /* a userId another process holds: look again */
#define DRAIN_PAUSED_CHECK_S 5       /* while paused (bad key), ask fm_deliver again */
#define DRAIN_TMP_STALE_S    3600    /* unfinished writes older than this go */
#define DRAIN_MAX_PACES      64      /* other destinations paced apart */
#define DRAIN_MAX_LANES      8       /* destination names with a process of their own
                                        (each watches every bucket: 256 inotify watches) */

struct drain_opts {
	bool now;      /* also what waits for its backoff */
	bool watch;    /* the delivery service: run until SIGTERM */
};

/*
 * Runs with the mapping at mapping_path. Returns the exit status: 0 when
 * nothing deliverable is left (watch: a clean stop); 1 when something that
 * was due stayed waiting (Freshmarketer failing, throttling past
 * DRAIN_WAIT_MAX_S, paused) or a spool file could not be handled; 2 when it
 * cannot run (no valid mapping, delivery not configured, spool unusable).
 */
int drain_run(const struct drain_opts *o, const char *mapping_path);

#endif
