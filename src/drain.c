/* drain.c: the delivery loop of `fmgate drain` and `fmgate drain --watch`. */
#include "drain.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "clock.h"
#include "deliver.h"
#include "log.h"
#include "spool.h"

#define NEVER INT64_MAX

/* The pace of one destination: after failures, a hold. */
struct pace {
	int64_t hold_until;     /* ms: no delivery before this */
	unsigned failures;      /* failures in a row */
	bool throttled;         /* the hold is throttling, not a failure */
};

/* Another destination's pace, by name: each is held on its own. */
struct dest_pace {
	char dest[MAP_MAX_DEST_NAME + 1];
	struct pace p;
};

/* Which files a process delivers: a one-shot run all of them; the service
 * gives each destination a process of its own (split). */
enum lane {
	LANE_ALL = 0,   /* every file */
	LANE_CRM,       /* Freshmarketer's */
	LANE_DEST,      /* those of the destination named lane_dest */
	LANE_REST,      /* those of destinations named in no lane (new names) */
};

typedef char dest_name[MAP_MAX_DEST_NAME + 1];

struct drainer {
	struct app app;
	const struct mapping *m;
	bool now, watch;
	enum lane lane;
	dest_name lanes[DRAIN_MAX_LANES];  /* the destinations with a lane (split) */
	size_t n_lanes;
	const char *lane_dest;  /* LANE_DEST: one of lanes */
	pid_t children[DRAIN_MAX_LANES + 1]; /* LANE_CRM: the other lanes' processes */
	size_t n_children;
	struct pace crm;        /* Freshmarketer's */
	struct dest_pace dests[DRAIN_MAX_PACES];
	size_t n_dests;
	int64_t next_due;       /* ms: when the earliest thing not due falls due */
	bool left;              /* something due stayed waiting */
	bool broken;            /* a spool file could not be handled */
	size_t delivered;
};

enum drain_go { DRAIN_NEXT, DRAIN_STOP };

static bool in_lane(const struct drainer *d, const struct spool_id *id)
{
	bool named = false;

	switch (d->lane) {
	case LANE_ALL:
		return true;
	case LANE_CRM:
		return !id->dest[0];
	case LANE_DEST:
		return strcmp(id->dest, d->lane_dest) == 0;
	case LANE_REST:
		for (size_t i = 0; i < d->n_lanes && !named; i++)
			named = strcmp(id->dest, d->lanes[i]) == 0;
		return id->dest[0] && !named;
	}
	return false;
}

static void due_at(struct drainer *d, int64_t ms)
{
	if (ms < d->next_due)
		d->next_due = ms;
}

/* SIGTERM or SIGINT waiting (they are blocked while the drain works). */
static bool stop_pending(void)
{
	sigset_t s;

	return sigpending(&s) == 0 && (sigismember(&s, SIGTERM) || sigismember(&s, SIGINT));
}

static void hold(struct pace *p, int64_t ms, bool throttled)
{
	int64_t until = clock_wall_ms() + ms;

	if (until > p->hold_until)
		p->hold_until = until;
	p->throttled = throttled;
}

static bool holding(const struct pace *p)
{
	return clock_wall_ms() < p->hold_until;
}

/* The pace of the destination `dest` ("": Freshmarketer's); a full table
 * gives up the entry whose hold ended first. */
static struct pace *pace_of(struct drainer *d, const char *dest)
{
	struct dest_pace *dp;

	if (!dest[0])
		return &d->crm;
	for (size_t i = 0; i < d->n_dests; i++)
		if (strcmp(d->dests[i].dest, dest) == 0)
			return &d->dests[i].p;
	if (d->n_dests < DRAIN_MAX_PACES) {
		dp = &d->dests[d->n_dests++];
	} else {
		dp = &d->dests[0];
		for (size_t i = 1; i < d->n_dests; i++)
			if (d->dests[i].p.hold_until < dp->p.hold_until)
				dp = &d->dests[i];
	}
	memset(dp, 0, sizeof *dp);
	snprintf(dp->dest, sizeof dp->dest, "%s", dest);
	return &dp->p;
}

/* What to do after a destination (`crm`: Freshmarketer) could not take a
 * submission now. */
static void after_retry(struct pace *p, const struct fm_result *r, bool crm)
{
	if ((crm && r->calls == 0) || r->http_status == 429) {
		/* Throttled: the shared rate-limit state (fm_deliver) or the
		 * answer's Retry-After knows how long. */
		long s = r->retry_after_s > 0 ? r->retry_after_s : 1;
		hold(p, (int64_t)s * 1000, true);
		return;
	}
	p->failures++;
	if (r->retry_after_s >= 0) {
		hold(p, (int64_t)r->retry_after_s * 1000, false);
	} else {
		unsigned sh = p->failures > 7 ? 6 : p->failures - 1;
		long s = 1L << sh;
		hold(p, (int64_t)(s > DRAIN_HOLD_MAX_S ? DRAIN_HOLD_MAX_S : s) * 1000, false);
	}
}

static void bury(struct drainer *d, struct spool_item *it, const char *reason)
{
	if (spool_bury(&d->app.spool, it, reason) != SPOOL_OK) {
		log_msg(LOG_ERR, "drain: id=%s not moved to dead: %s", it->id.mid, d->app.spool.why);
		d->broken = true;
		return;
	}
	log_msg(LOG_WARN, "drain: id=%s form=%s dead: %s", it->id.mid, it->form, reason);
}

/* The run's pace after one attempt (deliver.h did the spool's part). */
static enum drain_go settle(struct drainer *d, const struct spool_item *it,
                            struct pace *p, const struct delivery *dv)
{
	const struct fm_result *r = &dv->fm;

	log_msg(LOG_INFO, "drain: id=%s form=%s%s%s outcome=%s http=%ld calls=%u attempts=%u%s%s",
	        it->id.mid, it->form, it->id.dest[0] ? " to=" : "", it->id.dest,
	        fm_outcome_name(r->outcome), r->http_status, dv->calls,
	        it->st.attempts, r->message[0] ? " message=" : "", r->message);
	if (!dv->spool_ok) {
		log_msg(LOG_ERR, "drain: id=%s %s: %s", it->id.mid,
		        dv->fate == DELIVER_SENT ? "delivered, not removed" :
		        dv->fate == DELIVER_DEAD ? "not moved to dead" : "not rescheduled",
		        d->app.spool.why);
		d->broken = true;
	} else if (dv->fate == DELIVER_DEAD) {
		log_msg(LOG_WARN, "drain: id=%s form=%s dead: %s", it->id.mid, it->form, dv->reason);
	}
	switch (dv->fate) {
	case DELIVER_SENT:
		p->failures = 0;
		d->delivered++;
		return dv->spool_ok ? DRAIN_NEXT : DRAIN_STOP;
	case DELIVER_DEAD:
		p->failures = 0;
		return DRAIN_NEXT;
	case DELIVER_QUEUED:
		d->left = true;
		if (r->outcome == FM_PAUSED)
			hold(p, DRAIN_PAUSED_CHECK_S * 1000, false);
		else
			after_retry(p, r, !it->id.dest[0]);
		break;
	case DELIVER_FIX:
	case DELIVER_LOST:
		break;
	}
	return DRAIN_STOP;
}

/* One submission of the userId whose lock is held. */
static enum drain_go deliver_one(struct drainer *d, const struct spool_id *id)
{
	struct spool *sp = &d->app.spool;
	const struct map_form *form;
	char reason[SPOOL_MAX_ERROR];
	struct spool_item it;
	struct delivery dv;
	struct pace *p;
	int64_t now = clock_wall_ms(), born;
	enum drain_go step = DRAIN_STOP;
	enum spool_err e = spool_read(sp, SPOOL_QUEUE, id, &it);

	if (e == SPOOL_ENOENT)
		return DRAIN_NEXT;   /* delivered by another process meanwhile */
	if (e == SPOOL_ECORRUPT) {
		log_msg(LOG_ERR, "drain: %s; moved to dead", sp->why);
		if (spool_quarantine(sp, id) != SPOOL_OK)
			d->broken = true;
		return DRAIN_NEXT;
	}
	if (e != SPOOL_OK) {
		log_msg(LOG_ERR, "drain: id=%s unreadable: %s", id->mid, sp->why);
		d->broken = true;
		return DRAIN_STOP;
	}
	/* Its age counts from its acceptance, or its last requeue (spool.h);
	 * a requeue time to come (a clock that was ahead, a written file) is
	 * not believed: it would keep the submission from ever expiring. */
	born = (int64_t)(id->seq / 1000000u);
	if (it.requeued * 1000 > born && it.requeued * 1000 <= now)
		born = it.requeued * 1000;
	if (now - born > (int64_t)sp->max_age_days * 86400 * 1000) {
		snprintf(reason, sizeof reason, "expired: waited longer than max-age-days (%u); last error: %.400s",
		         sp->max_age_days, it.st.last_error[0] ? it.st.last_error : "none");
		bury(d, &it, reason);
		step = DRAIN_NEXT;
		goto out;
	}
	if (!d->now && (it.st.next_attempt * 1000 > now || it.mtime * 1000 > now)) {
		due_at(d, (it.st.next_attempt > it.mtime ? it.st.next_attempt : it.mtime) * 1000);
		goto out;
	}
	p = pace_of(d, it.id.dest);
	if (holding(p)) {
		d->left = true;
		due_at(d, p->hold_until);
		goto out;
	}
	if (!(form = mapping_form(d->m, it.form))) {
		snprintf(reason, sizeof reason, "form \"%s\" is not in the mapping", it.form);
		bury(d, &it, reason);
		step = DRAIN_NEXT;
		goto out;
	}
	if (!deliver_waiting(&d->app, d->m, form, &it,
	                     d->app.config.timeout_ms > DRAIN_BUDGET_MS ? d->app.config.timeout_ms
	                                                                : DRAIN_BUDGET_MS,
	                     now / 1000 + DRAIN_INFLIGHT_S, &dv)) {
		d->broken = true;
		log_msg(LOG_ERR, "drain: id=%s: %s", id->mid, sp->why);
		goto out;
	}
	step = settle(d, &it, p, &dv);
out:
	spool_item_free(&it);
	return step;
}

/* Delivers the waiting submissions of one userId, in order, while they are
 * due and Freshmarketer takes them. */
static void deliver_user(struct drainer *d, uint64_t uhash)
{
	struct spool *sp = &d->app.spool;
	struct spool_lock lk;
	struct spool_list l;
	enum spool_err e = spool_lock_user(sp, uhash, &lk);

	if (e == SPOOL_EBUSY) {
		/* Another process delivers this userId now; look again soon. */
		due_at(d, clock_wall_ms() + DRAIN_BUSY_RETRY_MS);
		return;
	}
	if (e != SPOOL_OK) {
		log_msg(LOG_ERR, "drain: %s", sp->why);
		d->broken = true;
		return;
	}
	/* Listed under the lock: nobody else removes or reorders them now. */
	if (spool_list(sp, SPOOL_QUEUE, (int)(uhash >> 56), false, &l) != SPOOL_OK) {
		log_msg(LOG_ERR, "drain: %s", sp->why);
		d->broken = true;
	} else {
		for (size_t i = 0; i < l.n; i++) {
			if (l.v[i].id.uhash != uhash || !in_lane(d, &l.v[i].id))
				continue;
			if (stop_pending() || deliver_one(d, &l.v[i].id) == DRAIN_STOP)
				break;
		}
		spool_list_free(&l);
	}
	spool_unlock(&lk);
}

static int by_user(const void *a, const void *b)
{
	const struct spool_entry *x = a, *y = b;

	if (x->id.uhash != y->id.uhash)
		return x->id.uhash < y->id.uhash ? -1 : 1;
	return x->id.seq < y->id.seq ? -1 : x->id.seq > y->id.seq;
}

static int by_seq(const void *a, const void *b)
{
	const struct spool_entry *x = a, *y = b;

	return x->id.seq < y->id.seq ? -1 : x->id.seq > y->id.seq;
}

/* Every userId's oldest waiting submission, oldest first. */
static void pass(struct drainer *d)
{
	struct spool_list l;
	struct pace *p;
	int64_t now = clock_wall_ms();
	size_t heads = 0;

	if (spool_list(&d->app.spool, SPOOL_QUEUE, -1, true, &l) != SPOOL_OK) {
		log_msg(LOG_ERR, "drain: %s", d->app.spool.why);
		d->broken = true;
		return;
	}
	if (l.truncated)
		log_msg(LOG_WARN, "drain: more than %u waiting; this pass takes the first listed",
		        SPOOL_MAX_LIST);
	if (l.n > 1)
		qsort(l.v, l.n, sizeof *l.v, by_user);
	for (size_t i = 0; i < l.n; i++)
		if (i == 0 || l.v[i].id.uhash != l.v[i - 1].id.uhash)
			l.v[heads++] = l.v[i];
	if (heads > 1)
		qsort(l.v, heads, sizeof *l.v, by_seq);
	for (size_t i = 0; i < heads && !stop_pending(); i++) {
		if (!in_lane(d, &l.v[i].id))
			continue;
		/* The mtime is the next attempt (or an in-flight mark): what is not
		 * due is skipped without opening it. */
		if (!d->now && l.v[i].mtime * 1000 > now) {
			due_at(d, l.v[i].mtime * 1000);
			continue;
		}
		/* A destination held: its files wait, the others' go on. */
		p = pace_of(d, l.v[i].id.dest);
		if (holding(p)) {
			d->left = true;
			due_at(d, p->hold_until);
			continue;
		}
		deliver_user(d, l.v[i].id.uhash);
	}
	spool_list_free(&l);
}

/* The mapping, config and client for this round; false when delivery is not
 * possible (app_current() has logged why). */
static bool ready(struct drainer *d)
{
	d->m = app_current(&d->app);
	return d->m && app_ready(&d->app);
}

static void maintain(struct drainer *d)
{
	size_t n = spool_clean_tmp(&d->app.spool, DRAIN_TMP_STALE_S);

	if (n)
		log_msg(LOG_INFO, "drain: removed %zu unfinished writes", n);
	if (spool_recount(&d->app.spool, &n) != SPOOL_OK)
		log_msg(LOG_WARN, "drain: cannot count the spool: %s", d->app.spool.why);
}

static int run_once(struct drainer *d)
{
	for (;;) {
		size_t before = d->delivered;
		int64_t wait;

		d->left = false;
		d->next_due = NEVER;
		pass(d);
		if (stop_pending())
			break;
		wait = d->crm.hold_until - clock_wall_ms();
		if (d->left && d->crm.throttled && wait > 0 && wait <= DRAIN_WAIT_MAX_S * 1000) {
			struct timespec slice = { 0, 0 };

			/* In slices, so that a SIGTERM is seen within a second. */
			if (wait >= 1000)
				slice.tv_sec = 1;
			else
				slice.tv_nsec = (long)wait * 1000000L;
			nanosleep(&slice, NULL);
			continue;
		}
		/* Files that arrived during the pass are due too. */
		if (d->left || d->delivered == before)
			break;
	}
	log_msg(LOG_INFO, "drain: %zu delivered%s", d->delivered,
	        d->left ? "; some stay waiting" : "");
	return d->left || d->broken ? 1 : 0;
}

/* Watches every bucket; returns the inotify descriptor or -1. */
static int watch_buckets(struct drainer *d)
{
	char p[SPOOL_PATH_MAX];
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);

	if (fd < 0)
		return -1;
	for (unsigned b = 0; b < SPOOL_BUCKETS; b++) {
		int n = snprintf(p, sizeof p, "%s/queue/%02x", d->app.spool.dir, b);

		if (n < 0 || (size_t)n >= sizeof p ||
		    /* IN_ATTRIB: a held file released (spool_mark: its times made now). */
		    inotify_add_watch(fd, p, IN_MOVED_TO | IN_ATTRIB | IN_ONLYDIR) < 0) {
			log_msg(LOG_ERR, "drain: cannot watch %s: %s", p, strerror(errno));
			close(fd);
			return -1;
		}
	}
	return fd;
}

enum events { EV_DONE, EV_PASS, EV_GONE };

/* A file that appeared or changed (a mark, a release): delivered now when
 * due, else remembered for when it is; gone, nothing. */
static void on_file(struct drainer *d, const struct spool_id *id, enum events *ev)
{
	long long mtime;

	if (spool_mtime(&d->app.spool, id, &mtime) != SPOOL_OK)
		return;   /* delivered or moved meanwhile; an error shows in the pass */
	if (!d->now && mtime * 1000 > clock_wall_ms())
		due_at(d, mtime * 1000);
	else if (holding(pace_of(d, id->dest)))
		*ev = EV_PASS;   /* the pass after the hold takes it */
	else
		deliver_user(d, id->uhash);
}

/* Reads what inotify reported and, with `deliver`, delivers the userIds of
 * new files. EV_PASS when a full pass is needed instead (events lost, a hold,
 * delivery not possible), EV_GONE when a bucket directory went away. */
static enum events on_events(struct drainer *d, int fd, bool deliver)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	enum events ev_out = deliver ? EV_DONE : EV_PASS;
	ssize_t n;

	while ((n = read(fd, buf, sizeof buf)) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			struct spool_id id;

			p += sizeof *ev + ev->len;
			if (ev->mask & IN_IGNORED)
				ev_out = EV_GONE;
			else if (ev->mask & IN_Q_OVERFLOW)
				ev_out = ev_out == EV_GONE ? EV_GONE : EV_PASS;
			else if (ev_out == EV_DONE && ev->len && spool_id_parse(ev->name, &id) &&
			         in_lane(d, &id) && !stop_pending())
				on_file(d, &id, &ev_out);
		}
	}
	return ev_out;
}

/* The names of the destinations of the mapping's forms, each once, at most
 * DRAIN_MAX_LANES: each gets a lane. */
static void lane_names(struct drainer *d)
{
	d->n_lanes = 0;
	for (size_t f = 0; d->m && f < d->m->n_forms; f++)
		for (size_t i = 0; i < d->m->forms[f].n_dests; i++) {
			const char *name = d->m->forms[f].dests[i].name;
			bool seen = false;

			for (size_t j = 0; j < d->n_lanes && !seen; j++)
				seen = strcmp(d->lanes[j], name) == 0;
			if (!seen && d->n_lanes < DRAIN_MAX_LANES)
				snprintf(d->lanes[d->n_lanes++], sizeof d->lanes[0], "%s", name);
		}
}

/*
 * The service in processes: Freshmarketer's files here, each destination's
 * (by name, as the mapping names them now) in a child of its own, and those
 * of names that come later in one more: a slow or failing destination never
 * holds back a contact or another destination. Each child ends with its
 * parent (PR_SET_PDEATHSIG): a killed service leaves nothing behind. A lane
 * that cannot be forked stays this process's.
 */
static void split(struct drainer *d)
{
	pid_t parent = getpid();

	lane_names(d);
	for (size_t i = 0; i <= d->n_lanes; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			log_msg(LOG_WARN, "drain: fork: %s; this process delivers every file left",
			        strerror(errno));
			return;   /* LANE_ALL still: it takes what no child does */
		}
		if (pid == 0) {
			d->lane = i < d->n_lanes ? LANE_DEST : LANE_REST;
			d->lane_dest = i < d->n_lanes ? d->lanes[i] : NULL;
			d->n_children = 0;
			/* SIGTERM is blocked here: it waits in the signalfd like a stop. */
			if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
				raise(SIGTERM);
			return;
		}
		d->children[d->n_children++] = pid;
	}
	d->lane = LANE_CRM;
}

/* The name of the lane of children[i], for the log. */
static const char *child_lane(const struct drainer *d, size_t i)
{
	return i < d->n_lanes ? d->lanes[i] : "destinations named later";
}

/*
 * Whether a lane's process ended on its own (crashed, killed, could not
 * watch): reaped and logged. Its files would wait with nobody to deliver
 * them, so the whole service stops, to be restarted whole (systemd's
 * Restart=always).
 */
static bool lane_ended(struct drainer *d)
{
	bool ended = false;

	for (size_t i = 0; i < d->n_children; i++) {
		int st;

		if (d->children[i] <= 0 || waitpid(d->children[i], &st, WNOHANG) != d->children[i])
			continue;
		d->children[i] = 0;
		ended = true;
		log_msg(LOG_ERR, "drain: the process of %s ended (%s %d); stopping the service",
		        child_lane(d, i), WIFSIGNALED(st) ? "signal" : "exit",
		        WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	}
	return ended;
}

/* The children's end, once the parent stops: asked, then waited for. */
static int join(struct drainer *d, int rc)
{
	for (size_t i = 0; i < d->n_children; i++)
		if (d->children[i] > 0)
			kill(d->children[i], SIGTERM);
	for (size_t i = 0; i < d->n_children; i++) {
		int st;
		pid_t r;

		if (d->children[i] <= 0)
			continue;
		while ((r = waitpid(d->children[i], &st, 0)) < 0 && errno == EINTR)
			continue;
		if (!rc && (r < 0 || !(WIFEXITED(st) && WEXITSTATUS(st) == 0)))
			rc = 1;
	}
	d->n_children = 0;
	return rc;
}

/* " (freshmarketer)", " (webhook)"... for the log; "" for a lone process. */
static const char *lane_name(const struct drainer *d, char *buf, size_t size)
{
	switch (d->lane) {
	case LANE_ALL:  return "";
	case LANE_CRM:  return " (" MAP_CRM_NAME ")";
	case LANE_DEST: snprintf(buf, size, " (%s)", d->lane_dest); return buf;
	case LANE_REST: return " (destinations named later)";
	}
	return "";
}

/* What the signalfd says: true to stop (SIGTERM, SIGINT, or a lane that
 * ended: *rc 1 then). */
static bool on_signals(struct drainer *d, int sfd, int *rc)
{
	struct signalfd_siginfo si;
	bool stop = false;

	while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si)
		stop = stop || si.ssi_signo != SIGCHLD;
	if (lane_ended(d)) {
		*rc = 1;
		return true;
	}
	return stop;
}

static int run_watch(struct drainer *d)
{
	char lane[MAP_MAX_DEST_NAME + 8];
	struct pollfd pf[2];
	sigset_t sigs;
	int64_t next_pass = 0, next_maint = 0;
	int ifd, sfd, rc = 0;

	split(d);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGCHLD);
	if ((ifd = watch_buckets(d)) < 0)
		return join(d, 2);
	if ((sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
		close(ifd);
		return join(d, 2);
	}
	log_msg(LOG_INFO, "drain: watching %s%s", d->app.spool.dir,
	        lane_name(d, lane, sizeof lane));
	pf[0].fd = sfd;
	pf[0].events = POLLIN;
	pf[1].fd = ifd;
	pf[1].events = POLLIN;
	for (;;) {
		int64_t now = clock_wall_ms(), wake;
		bool ok = ready(d);

		if (ok && now >= next_maint && (d->lane == LANE_CRM || d->lane == LANE_ALL)) {
			maintain(d);
			next_maint = now + DRAIN_PASS_MAX_S * 1000;
		}
		if (ok && now >= next_pass) {
			d->next_due = now + DRAIN_PASS_MAX_S * 1000;
			pass(d);
			next_pass = d->next_due;
		}
		if (!ok)
			next_pass = now + DRAIN_PAUSED_CHECK_S * 1000;
		wake = next_pass;
		now = clock_wall_ms();
		if (poll(pf, 2, wake <= now ? 0 : (int)(wake - now > 60000 ? 60000 : wake - now)) < 0 &&
		    errno != EINTR) {
			rc = 1;
			break;
		}
		if ((pf[0].revents & POLLIN) && on_signals(d, sfd, &rc))
			break;
		if (pf[1].revents & POLLIN) {
			enum events ev;

			d->next_due = next_pass;
			ev = on_events(d, ifd, ok);
			if (ev == EV_GONE) {
				/* A bucket was removed: watching again needs a fresh start. */
				log_msg(LOG_ERR, "drain: a spool directory went away; stopping");
				rc = 1;
				break;
			}
			if (ev == EV_PASS && ok)
				d->next_due = clock_wall_ms();
			next_pass = d->next_due;
		}
		if (stop_pending())
			break;
	}
	log_msg(LOG_INFO, "drain: stopped; %zu delivered%s", d->delivered,
	        lane_name(d, lane, sizeof lane));
	close(sfd);
	close(ifd);
	return join(d, rc);
}

int drain_run(const struct drain_opts *o, const char *mapping_path)
{
	struct drainer d;
	sigset_t sigs, old;
	int rc = 2;

	memset(&d, 0, sizeof d);
	d.now = o->now;
	d.watch = o->watch;
	if (app_init(&d.app, mapping_path) != 0)
		return 2;
	/* Blocked: a signal only ends the run between two deliveries. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGCHLD);   /* a lane's end, read from the watcher's signalfd */
	sigprocmask(SIG_BLOCK, &sigs, &old);
	if (!ready(&d)) {
		fprintf(stderr, "fmgate drain: %s\n",
		        d.m ? d.app.config_why : "no valid mapping (see the log above)");
		goto out;
	}
	if (spool_prepare(&d.app.spool) != SPOOL_OK) {
		fprintf(stderr, "fmgate drain: spool %s: %s\n", d.app.spool.dir, d.app.spool.why);
		goto out;
	}
	rc = d.watch ? run_watch(&d) : (maintain(&d), run_once(&d));
out:
	/* A stop request is the end of the run, not a kill: take it before
	 * unblocking. */
	while (sigtimedwait(&sigs, NULL, &(struct timespec){ 0, 0 }) > 0)
		continue;
	sigprocmask(SIG_SETMASK, &old, NULL);
	app_free(&d.app);
	return rc;
}
