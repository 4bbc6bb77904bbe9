/*
 * metrics.h: counters of posts and deliveries every process shares through
 * one mapped file, SPOOL/state/metrics-1, printed in the Prometheus text
 * format (docs/metrics.md) or as JSON.
 *
 * Counting is best effort and never holds a post back: counters are atomics
 * added to without a lock (relaxed: each is exact, a print may catch one
 * post counted in one counter and not yet in another). A file that cannot be
 * made or mapped is logged once per process, and nothing is counted.
 *
 * Counters are kept per slot: a form (posts), or a form and a destination
 * (deliveries). A slot holds its names, claimed once by compare-and-swap in
 * an open-addressed table, so that a mapping reordered or edited never
 * counts one form under another's name. Names beyond the table's room are
 * counted under the form "_other". A claim whose claimer is held up (or
 * died) between its compare-and-swap and its names is passed over after a
 * while: the names may then take a second slot, summed with the first when
 * printed.
 *
 * A file of another layout (another magic or size) is made anew by the first
 * process that counts into it; counters start from zero then, as Prometheus
 * expects of a counter after a restart. Printing leaves such a file's
 * counters out (and says so through struct metrics_left_out), as it does
 * slots whose names are not names the mapping allows (a corrupt or hostile
 * file): a printed label value is always one of those.
 *
 * Ownership: each process keeps one writable mapping, for the spool
 * directory last counted in, for its life (shared with children after
 * fork()); it is looked for again at most once a second. Printing maps the
 * file read-only for the call alone.
 */
#ifndef FMGATE_METRICS_H
#define FMGATE_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "fmgate_limits.h"
#include "mapping.h"

#define METRICS_FILE     "metrics-1"   /* in SPOOL/state; a new layout, a new name */
#define METRICS_FORMS    256u          /* form slots (posts); one more: "_other" */
#define METRICS_DESTS    256u          /* form and destination slots; one more */
#define METRICS_OTHER    "_other"      /* the form of counts beyond the slots */
#define METRICS_NO_FORM  "_none"       /* the form of posts to no known form */
#define METRICS_NO_CODE  "none"        /* the code of a post nobody refused */
#define METRICS_BUCKETS  10u           /* finite latency buckets (and +Inf) */
#define METRICS_PRINT_MAX (4u << 20)   /* bytes of the printed text */

enum metrics_err {
	METRICS_OK = 0,
	METRICS_EMAP,      /* the file exists but cannot be opened or mapped */
	METRICS_ENOMEM,    /* or the text over METRICS_PRINT_MAX */
};

/* What printing adds from outside the counters; -1 where unknown. */
struct metrics_gauges {
	long long waiting, in_flight, dead;   /* spool_stats(); -1: unreadable */
	long long oldest_s;
	int paused;                           /* 1: delivery paused (a refused key) */
	long long hour_left, minute_left;     /* the API's rate budget left */
};

/* What a print left out of the counters, for the caller to warn of. */
struct metrics_left_out {
	bool layout;     /* the file is of another layout: none of its counters */
	size_t names;    /* slots whose names the mapping would not allow */
};

/* A post to form (NULL: no known form) ended with the log line's outcome and
 * the answer's code (NULL: no refusal). Unknown words count as "other". */
void metrics_post(const char *spool_dir, const char *form, const char *outcome,
                  const char *code);

/* An attempt to deliver form's submission to dest (NULL or "": the CRM)
 * ended with outcome (fm_outcome_name()); ms >= 0 is its duration, observed
 * in the latency histogram (an attempt that made no call passes -1). */
void metrics_delivery(const char *spool_dir, const char *form, const char *dest,
                      const char *outcome, long long ms);

/* The Prometheus text of the counters of spool_dir (zero when there is no
 * file yet) and of g, appended to out; *left says what was left out. */
enum metrics_err metrics_print(const char *spool_dir, const struct metrics_gauges *g,
                               struct buf *out, struct metrics_left_out *left);

/* The same numbers as one JSON object (caller frees); NULL on an error. */
cJSON *metrics_json(const char *spool_dir, const struct metrics_gauges *g,
                    struct metrics_left_out *left, enum metrics_err *err);

/* v as a label value of the text format: \ " and newline escaped. */
enum buf_err metrics_label(struct buf *out, const char *v);

const char *metrics_strerror(enum metrics_err e);

#endif
