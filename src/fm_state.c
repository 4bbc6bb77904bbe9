/*
 * fm_state.c: delivery state shared through SPOOL/state (see fm_state.h).
 *
 * Every file is small and read whole. The pause marker's mtime is the time
 * of the last probe; the rate-limit budget is one line of numbers rewritten
 * under flock(); the field cache is the API's answer plus one member, written
 * to a temporary name, flushed and renamed.
 *
 * In front of the files, the counters of shared.h (struct shared_state) let
 * a calm delivery make no system call for them: the pause marker and the
 * identity file are opened only while their flag is set, the field cache is
 * looked at only after its generation moved, and the budget is read from
 * the mapped record its last lock holder published. A flag is set before
 * its file is made and cleared (on the generation read before) after the
 * file is found gone, so a flag is never clear while its file exists,
 * except by hand or by a process that cannot map the table.
 */
#include "fm_state.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "hash.h"
#include "log.h"
#include "shared.h"
#include "statedir.h"
#include "text.h"

#define CACHE_MEMBER  "fmgate_cache"   /* added to the cached fields document */
#define RL_MAGIC      "fmgate-ratelimit-1"
#define RL_MAX_FILE   512u             /* bytes of the ratelimit file */
#define RL_RECORD     200u             /* bytes written: the line, padded with spaces */
#define MARKER_MAX    4096u            /* bytes of the pause marker */
#define LOCK_POLL_MS  20L
#define SEEN_SLOTS    1024u            /* warnings remembered by one process */

/* One rate-limit window as last reported; limit and remaining -1 when unknown. */
struct rl_window {
	long limit, remaining;
	long long reset_at;    /* wall clock, ms */
};

struct rl_state {
	struct rl_window hour, minute;
	long long hold_until;  /* no call before this (ms), after a 429 */
	long long last_call;   /* when a call last went (ms), for spacing */
};

struct fm_state {
	struct statedir *sd;   /* SPOOL/state; NULL when the state lives in memory */
	bool read_only;
	bool mapped;           /* the counters of shared.h stand before the files */
	char spool[STATEDIR_PATH_MAX]; /* whose counters they are */
	uint64_t account;      /* fingerprint of the API base */
	uint64_t key;          /* fingerprint of the base and the key */
	/* The state in memory, when there is no directory (and the read-only
	 * state's own budget). */
	struct rl_state rl;
	bool paused;
	long long last_probe;
	/* The cache file this state last loaded or wrote. */
	bool cache_seen;
	dev_t cache_dev;
	ino_t cache_ino;
	off_t cache_size;
	struct timespec cache_mtime;
	bool fields_gen_seen;  /* fields_gen holds the generation of the last look */
	uint64_t fields_gen;
	time_t failed_at;      /* a refresh by this process failed; 0: none */
	int lock_fd;
	int rl_fd;             /* SPOOL/state/ratelimit, kept open; -1 until first used */
	size_t rl_len;         /* its length when last read (more than RL_RECORD: to trim) */
	long long rl_locked_at; /* when this process last read it under the lock (ms) */
	bool rl_calm;          /* what it last read was calm (see FM_RL_CALM_SHARE) */
	bool no_marker;        /* the last pause check found no marker */
	bool mode_emails;      /* the account refuses external_id as key */
	long long mode_checked_at; /* when SPOOL/state/identity was last looked for (ms) */
	char key_hex[17];      /* key as "%016llx" */
	uint64_t seen[SEEN_SLOTS];
};

/* ---- files ------------------------------------------------------------------ */

/* The mapped counters; NULL when the files are the only record. */
static struct shared_state *counters(const struct fm_state *st)
{
	return st->mapped ? shared_state(st->spool) : NULL;
}

/* The state file `name`, or -1 when the state lives in memory. */
static int open_file(const struct fm_state *st, const char *name, int flags)
{
	if (!st->sd) {
		errno = ENOENT;
		return -1;
	}
	return statedir_openat(st->sd, name, flags);
}

/* The whole open file, within max bytes; NULL when over it or unreadable. */
static char *read_fd(int fd, size_t max, size_t *len)
{
	char *s = NULL;

	return statedir_read_fd(fd, max, &s, len) == STATEDIR_OK ? s : NULL;
}

static bool write_all(int fd, const char *p, size_t n, off_t at)
{
	ssize_t r;

	while (n > 0) {
		r = pwrite(fd, p, n, at);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		p += r;
		n -= (size_t)r;
		at += r;
	}
	return true;
}

/* Replaces the content of fd (opened and locked by the caller). */
static bool rewrite_fd(int fd, const char *p, size_t n)
{
	return ftruncate(fd, 0) == 0 && write_all(fd, p, n, 0);
}

/* Sixteen hex digits, as written by "%016llx". */
static bool parse_hex64(const char *s, uint64_t *out)
{
	char buf[17];
	char *end;

	if (strspn(s, "0123456789abcdef") < 16)
		return false;
	memcpy(buf, s, 16);
	buf[16] = '\0';
	errno = 0;
	*out = strtoull(buf, &end, 16);
	return errno == 0 && *end == '\0';
}

/* ---- opening ------------------------------------------------------------------ */

struct fm_state *fm_state_open(const char *spool_dir, const char *api_base,
                               const char *api_key, bool read_only)
{
	static bool told;  /* the fallback to memory is logged once per process */
	struct fm_state *st = calloc(1, sizeof *st);
	enum statedir_err e;

	if (!st)
		return NULL;
	st->read_only = read_only;
	st->lock_fd = -1;
	st->rl_fd = -1;
	st->rl.hour = st->rl.minute = (struct rl_window){-1, -1, 0};
	st->account = hash_fnv1a(HASH_FNV_INIT, api_base, strlen(api_base));
	st->key = hash_fnv1a(hash_fnv1a(st->account, "\n", 1), api_key, strlen(api_key));
	snprintf(st->key_hex, sizeof st->key_hex, "%016llx", (unsigned long long)st->key);
	if (!spool_dir || !*spool_dir)
		return st;
	st->sd = statedir_open(spool_dir, read_only ? STATEDIR_READ : STATEDIR_WRITE, &e);
	if (e == STATEDIR_ENOMEM) {
		fm_state_close(st);
		return NULL;
	}
	if (!st->sd && !read_only && !told) {
		told = true;
		log_msg(LOG_WARN, "spool state directory %s/%s unusable (%s): the field list, "
		        "rate-limit budget and pause are kept by each process alone",
		        spool_dir, STATEDIR_NAME, statedir_strerror(e));
	}
	st->mapped = st->sd && !read_only && text_copy(st->spool, sizeof st->spool, spool_dir) &&
	             shared_state_attach(spool_dir);
	return st;
}

void fm_state_close(struct fm_state *st)
{
	if (!st)
		return;
	if (st->lock_fd >= 0)
		close(st->lock_fd);
	if (st->rl_fd >= 0)
		close(st->rl_fd);
	statedir_close(st->sd);
	free(st);
}

bool fm_state_shared(const struct fm_state *st)
{
	return st->sd != NULL;
}

/* ---- pause ------------------------------------------------------------------ */

bool fm_state_paused(const char *spool_dir)
{
	enum statedir_err e;
	struct statedir *sd = statedir_open(spool_dir, STATEDIR_READ, &e);
	struct stat sb;
	bool paused = sd && statedir_stat(sd, "paused", &sb) == 0;

	statedir_close(sd);
	return paused;
}

/* The marker names the key it is about on its line "key HEX". */
static bool marker_is_ours(const struct fm_state *st, int fd)
{
	size_t len;
	char *s = read_fd(fd, MARKER_MAX, &len);
	const char *k = s ? strstr(s, "\nkey ") : NULL;
	uint64_t fp;
	bool ours = k && parse_hex64(k + 5, &fp) && fp == st->key;

	free(s);
	return ours;
}

static long probe_wait_s(long long since_ms)
{
	long long left = (long long)FM_STATE_PROBE_S * 1000 - since_ms;

	return left <= 0 ? 0 : (long)((left + 999) / 1000);
}

long fm_state_pause_check(struct fm_state *st)
{
	long long now = clock_wall_ms();
	struct shared_state *sh;
	struct stat sb;
	uint64_t seen = 0;
	long wait = 0;
	int fd;

	if (st->read_only)
		return 0;
	if (!st->sd) {
		if (!st->paused)
			return 0;
		/* A clock that went back also makes a probe due. */
		if (now < st->last_probe || (wait = probe_wait_s(now - st->last_probe)) == 0) {
			st->last_probe = now;
			return 0;
		}
		return wait;
	}
	if ((sh = counters(st)) && !shared_flag_get(&sh->paused, &seen)) {
		st->no_marker = true;
		return 0;
	}
	if ((fd = open_file(st, "paused", O_RDWR)) < 0) {
		st->no_marker = errno == ENOENT;
		/* Removed (by hand, to resume): the flag follows. */
		if (sh && st->no_marker)
			shared_flag_clear(&sh->paused, seen);
		return 0;
	}
	st->no_marker = false;
	if (flock(fd, LOCK_EX) != 0 || !marker_is_ours(st, fd) || fstat(fd, &sb) != 0)
		goto out;
	wait = probe_wait_s(now - ((long long)sb.st_mtim.tv_sec * 1000 + sb.st_mtim.tv_nsec / 1000000));
	if (wait == 0) {
		/* This delivery is the probe: the next one is a minute away for all. */
		futimens(fd, NULL);
		log_msg(LOG_INFO, "delivery paused for a refused API key: this delivery probes it");
	}
out:
	close(fd);
	return wait;
}

void fm_state_key_refused(struct fm_state *st, long http_status, const char *api_message)
{
	char text[MARKER_MAX], when[32], msg[512];
	struct shared_state *sh;
	time_t now = time(NULL);
	struct tm tm;
	int fd = -1, n;

	if (st->read_only)
		return;
	text_copy(msg, sizeof msg, api_message ? api_message : "");
	for (char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	if (st->sd) {
		/* Set before the marker is made, or found made by a process that
		 * could not set it. */
		if ((sh = counters(st)) != NULL)
			shared_flag_set(&sh->paused);
		fd = open_file(st, "paused", O_RDWR | O_CREAT | O_EXCL);
		if (fd < 0 && errno == EEXIST && (fd = open_file(st, "paused", O_RDWR)) >= 0) {
			if (flock(fd, LOCK_EX) != 0 || marker_is_ours(st, fd)) {
				close(fd);
				return;   /* already said, for this key */
			}
		}
	}
	if (fd >= 0) {
		if (!gmtime_r(&now, &tm) || !strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm))
			text_copy(when, sizeof when, "?");
		n = snprintf(text, sizeof text, "Freshmarketer refused the API key: HTTP %ld since %s: %s\n"
		             "key %016llx\n", http_status, when, msg, (unsigned long long)st->key);
		if (n < 0 || (size_t)n >= sizeof text || !rewrite_fd(fd, text, (size_t)n))
			log_msg(LOG_ERR, "cannot write %s/paused: %s", statedir_path(st->sd),
			        strerror(errno));
		close(fd);
	} else if (st->paused) {
		return;
	}
	st->paused = true;
	st->last_probe = clock_wall_ms();
	log_msg(LOG_ERR, "Freshmarketer refused the API key (HTTP %ld: %s): delivery is PAUSED "
	        "for every process until the key works; one probe every %d s%s%s%s",
	        http_status, msg, FM_STATE_PROBE_S, st->sd ? " (marker " : "",
	        st->sd ? statedir_path(st->sd) : "", st->sd ? "/paused)" : "");
}

void fm_state_key_works(struct fm_state *st)
{
	struct shared_state *sh;
	bool was = st->paused;
	uint64_t seen = 0;

	if (st->read_only)
		return;
	st->paused = false;
	/* No marker at this delivery's pause check: nothing to remove. One made
	 * by another process since then stays until the next probe succeeds (a
	 * minute at most), a price paid rarely for an unlink() saved always. */
	if (st->sd && st->no_marker) {
		st->no_marker = false;
		return;
	}
	if (st->sd) {
		/* The generation is read before the unlink: a pause set since stays. */
		if ((sh = counters(st)) != NULL)
			shared_flag_get(&sh->paused, &seen);
		was = statedir_unlink(st->sd, "paused") == 0;
		if (sh && (was || errno == ENOENT))
			shared_flag_clear(&sh->paused, seen);
	}
	if (was)
		log_msg(LOG_WARN, "Freshmarketer accepted the API key again: delivery resumed");
}

/* ---- rate limits ------------------------------------------------------------ */

static void rl_clear(struct rl_state *r)
{
	r->hour = r->minute = (struct rl_window){-1, -1, 0};
	r->hold_until = r->last_call = 0;
}

/* A window tells something until its reset has passed. */
static bool window_known(const struct rl_window *w, long long now)
{
	return w->remaining >= 0 && w->reset_at > now;
}

/* Calm: no hold, and every window unknown or with more than
 * 1/FM_RL_CALM_SHARE of its limit left. */
static bool rl_calm(const struct rl_state *r, long long now)
{
	const struct rl_window *w[2] = {&r->hour, &r->minute};

	if (r->hold_until > now)
		return false;
	for (int i = 0; i < 2; i++)
		if (window_known(w[i], now) &&
		    (w[i]->limit <= 0 || (long long)w[i]->remaining * FM_RL_CALM_SHARE <= w[i]->limit))
			return false;
	return true;
}

/* One number of the budget line at *p: an optional '-', digits, and then a
 * space, a newline or the end (what text_parse_ll() takes, -1 and up). */
static bool rl_number(const char **p, long long *out)
{
	const char *s = *p;
	bool neg = *s == '-';
	unsigned long long v = 0;

	s += neg;
	if (*s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > ((unsigned long long)LLONG_MAX - (unsigned)(*s - '0')) / 10)
			return false;
		v = v * 10 + (unsigned)(*s - '0');
	}
	if (*s && *s != ' ' && *s != '\n')
		return false;
	if (neg && v > 1)
		return false;
	*out = neg ? -(long long)v : (long long)v;
	*p = *s ? s + 1 : s;
	return true;
}

/* The budget from its numbers, in the order of the file's line. */
static void rl_from(struct rl_state *r, const long long v[SHARED_RL_VALUES])
{
	r->hour = (struct rl_window){(long)v[0], (long)v[1], v[2]};
	r->minute = (struct rl_window){(long)v[3], (long)v[4], v[5]};
	r->hold_until = v[6];
	r->last_call = v[7];
}

void fm_state_rl_left(const char *spool_dir, long long *hour, long long *minute)
{
	long long v[SHARED_RL_VALUES], now = clock_wall_ms();
	struct shared_state *sh;
	enum statedir_err e;
	struct statedir *sd = statedir_open(spool_dir, STATEDIR_READ, &e);
	struct rl_state r;
	uint64_t key;

	*hour = *minute = -1;
	/* Only a folder that exists: the shared table's reader would make it,
	 * owned by whoever runs this (root, say) and shut to the workers. */
	statedir_close(sd);
	if (!sd || !(sh = shared_state(spool_dir)) || !shared_rl_load(sh, &key, v))
		return;
	rl_from(&r, v);
	if (window_known(&r.hour, now))
		*hour = r.hour.remaining;
	if (window_known(&r.minute, now))
		*minute = r.minute.remaining;
}

/* "MAGIC KEY hl hr hra ml mr mra hold last", padded with spaces. Read twice
 * per API call under the lock, so parsed by hand, not with strtoll(). */
static bool rl_parse(const struct fm_state *st, const char *s, struct rl_state *r)
{
	long long v[SHARED_RL_VALUES];
	const char *tok = s;

	if (strncmp(s, RL_MAGIC " ", sizeof RL_MAGIC) != 0)
		return false;
	tok += sizeof RL_MAGIC;
	if (strncmp(tok, st->key_hex, 16) != 0 || tok[16] != ' ')
		return false;
	tok += 17;
	for (size_t n = 0; n < SHARED_RL_VALUES; n++)
		if (!rl_number(&tok, &v[n]))
			return false;
	if (v[0] > LONG_MAX || v[1] > LONG_MAX || v[3] > LONG_MAX || v[4] > LONG_MAX)
		return false;
	rl_from(r, v);
	return true;
}

/* " N" at p (N >= -1, as the state holds); returns the bytes written. */
static size_t rl_put(char *p, long long v)
{
	char d[24];
	size_t n = 0, o = 0;
	unsigned long long u = v < 0 ? 1 : (unsigned long long)v;

	do
		d[n++] = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	p[o++] = ' ';
	if (v < 0)
		p[o++] = '-';
	while (n)
		p[o++] = d[--n];
	return o;
}

/*
 * The shared budget, locked; -1 when it lives in memory (st->rl). The file
 * is kept open and rewritten in place at a fixed length: no open, close or
 * truncate per call (ext4 flushes a file truncated and rewritten when it is
 * closed, and every worker then waited for the disk under the lock). A file
 * removed meanwhile is opened again, so processes never split the budget.
 */
static int rl_open(struct fm_state *st, struct rl_state *r)
{
	char buf[RL_MAX_FILE + 1];
	struct stat sb;
	ssize_t n;

	*r = st->rl;
	if (!st->sd || st->read_only)
		return -1;
	for (int tries = 0; tries < 2; tries++) {
		if (st->rl_fd < 0 &&
		    (st->rl_fd = open_file(st, "ratelimit", O_RDWR | O_CREAT)) < 0)
			return -1;
		if (flock(st->rl_fd, LOCK_EX) != 0) {
			close(st->rl_fd);
			st->rl_fd = -1;
			return -1;
		}
		if (fstat(st->rl_fd, &sb) == 0 && sb.st_nlink > 0)
			break;
		close(st->rl_fd);
		st->rl_fd = -1;
	}
	if (st->rl_fd < 0)
		return -1;
	do
		n = pread(st->rl_fd, buf, sizeof buf, 0);
	while (n < 0 && errno == EINTR);
	st->rl_len = n < 0 ? sizeof buf : (size_t)n;
	if (n >= 0 && (size_t)n < sizeof buf)
		buf[n] = '\0';
	if (n < 0 || (size_t)n >= sizeof buf || !rl_parse(st, buf, r))
		rl_clear(r);
	st->rl_locked_at = clock_wall_ms();
	return st->rl_fd;
}

static void rl_close(struct fm_state *st, int fd, const struct rl_state *r, bool changed)
{
	const long long v[SHARED_RL_VALUES] = {
		r->hour.limit, r->hour.remaining, r->hour.reset_at,
		r->minute.limit, r->minute.remaining, r->minute.reset_at,
		r->hold_until, r->last_call};
	char line[RL_RECORD + 32];
	struct shared_state *sh = counters(st);
	bool held = !changed;  /* the file holds *r */
	size_t n;

	if (fd < 0) {
		st->rl = *r;
		return;
	}
	st->rl_calm = rl_calm(r, clock_wall_ms());
	if (changed) {
		/* The same line as "%s %016llx %ld ... %lld", without printf. */
		memcpy(line, RL_MAGIC " ", sizeof RL_MAGIC);
		n = sizeof RL_MAGIC;
		memcpy(line + n, st->key_hex, 16);
		n += 16;
		for (size_t i = 0; i < SHARED_RL_VALUES; i++)
			n += rl_put(line + n, v[i]);
		if (n < RL_RECORD) {
			memset(line + n, ' ', RL_RECORD - 1 - n);
			line[RL_RECORD - 1] = '\n';
			/* Only a file left longer by something else is cut. */
			held = write_all(fd, line, RL_RECORD, 0);
			if (held && st->rl_len > RL_RECORD && ftruncate(fd, RL_RECORD) != 0)
				log_msg(LOG_WARN, "cannot trim %s/ratelimit: %s", statedir_path(st->sd),
				        strerror(errno));
		}
	}
	/* Published under the lock, for the calm peek (also mending a record
	 * left half written by a process that died). */
	if (sh && held)
		shared_rl_store(sh, st->key, v);
	flock(fd, LOCK_UN);
}


/* Whether this process may trust a read without the lock: it held the lock
 * once, and the read is of the mapped record (which every lock holder
 * publishes), or of the file within FM_RL_PEEK_MS of holding the lock (so a
 * removed file is noticed that soon). */
static bool rl_peek_allowed(const struct fm_state *st, long long now)
{
	return st->rl_fd >= 0 &&
	       (counters(st) || (now >= st->rl_locked_at && now - st->rl_locked_at <= FM_RL_PEEK_MS));
}

/* The mapped record, when it is this key's and not being written. */
static bool rl_peek_mapped(const struct fm_state *st, struct shared_state *sh,
                           struct rl_state *r)
{
	long long v[SHARED_RL_VALUES];
	uint64_t key;

	if (!shared_rl_load(sh, &key, v) || key != st->key)
		return false;
	rl_from(r, v);
	return true;
}

/*
 * The shared budget read without the lock: true when it is calm, and the call
 * may then go uncounted. Far from the limits the count matters to no one (each
 * answer says where the budget stands), and the lock taken twice per call by
 * every worker was the busiest one of a submission. A line torn by a write
 * meanwhile does not parse and sends the caller to the lock.
 */
static bool rl_peek_calm(struct fm_state *st, long long now)
{
	char buf[RL_MAX_FILE + 1];
	struct shared_state *sh;
	struct rl_state r;
	ssize_t n;

	if (!rl_peek_allowed(st, now))
		return false;
	if ((sh = counters(st)) != NULL) {
		if (!rl_peek_mapped(st, sh, &r))
			return false;
		st->rl_calm = rl_calm(&r, now);
		return st->rl_calm;
	}
	n = pread(st->rl_fd, buf, sizeof buf - 1, 0);
	if (n < 0)
		return false;
	buf[n] = '\0';
	rl_clear(&r);
	if (n > 0 && !rl_parse(st, buf, &r))
		return false;
	st->rl_calm = rl_calm(&r, now);
	return st->rl_calm;
}

/* A window of an answer that is absent, or calm. */
static bool seen_calm(long limit, long remaining)
{
	if (remaining < 0)
		return true;
	return limit > 0 && (long long)remaining * FM_RL_CALM_SHARE > limit;
}

long fm_state_rl_reserve(struct fm_state *st)
{
	struct rl_state r;
	struct rl_window *w[2];
	long long now = clock_wall_ms(), wait = 0;
	bool known = false;
	int fd;

	if (rl_peek_calm(st, now))
		return 0;
	fd = rl_open(st, &r);

	w[0] = &r.hour;
	w[1] = &r.minute;
	if (r.hold_until > now) {
		wait = r.hold_until - now;
		known = true;
	}
	for (int i = 0; i < 2; i++) {
		long long until = 0;

		if (!window_known(w[i], now))
			continue;
		known = true;
		if (w[i]->remaining == 0) {
			until = w[i]->reset_at;
		} else if (w[i]->limit > 0 &&
		           (long long)w[i]->remaining * FM_RL_LOW_SHARE <= w[i]->limit) {
			/* Low: what is left is spread evenly until the reset. */
			until = r.last_call + (w[i]->reset_at - now) / w[i]->remaining;
		}
		if (until - now > wait)
			wait = until - now;
	}
	if (wait == 0 && known) {
		/* Counted now, so that other processes see the call before its answer. */
		for (int i = 0; i < 2; i++)
			if (window_known(w[i], now) && w[i]->remaining > 0)
				w[i]->remaining--;
		r.last_call = now;
	}
	rl_close(st, fd, &r, wait == 0 && known);
	return wait > LONG_MAX ? LONG_MAX : (long)wait;
}

/* reset: seconds until the window restarts (fm_rl_reset_s), or -1. */
static bool window_record(struct rl_window *w, long limit, long remaining, long reset,
                          long window_s, long long now)
{
	if (limit < 0 && remaining < 0)
		return false;
	if (limit >= 0)
		w->limit = limit;
	if (remaining >= 0)
		w->remaining = remaining;
	if (reset < 0 || reset > window_s)
		reset = window_s;
	w->reset_at = now + (long long)reset * 1000;
	return true;
}

/* Digits [i, i+2) of s as a number. */
static int two(const char *s, size_t i)
{
	return (s[i] - '0') * 10 + (s[i + 1] - '0');
}

long fm_rl_reset_s(const char *value, long window_s, time_t now)
{
	long long n, at;
	size_t len;
	struct tm tm = { 0 };

	if (!value || !text_parse_ll(value, 0, 99999999999999LL, &n))
		return -1;
	len = strlen(value);
	if (len == 12) {
		/* ddmmyyHHMMSS, UTC; the year is 20yy. timegm() normalises an
		 * impossible date, so the fields are checked first. */
		tm.tm_mday = two(value, 0);
		tm.tm_mon = two(value, 2) - 1;
		tm.tm_year = 100 + two(value, 4);
		tm.tm_hour = two(value, 6);
		tm.tm_min = two(value, 8);
		tm.tm_sec = two(value, 10);
		if (tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_mon < 0 || tm.tm_mon > 11 ||
		    tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
			return -1;
		at = (long long)timegm(&tm);
	} else if (len == 10) {
		at = n; /* Unix seconds */
	} else if (len < 10) {
		at = (long long)now + n;
	} else {
		return -1;
	}
	n = at - (long long)now;
	return n < 0 ? 0 : n > window_s ? window_s : (long)n;
}

void fm_state_rl_record(struct fm_state *st, const struct fm_ratelimit *seen,
                        long http_status, long retry_after_s)
{
	struct rl_state r;
	long long now = clock_wall_ms(), until;
	bool changed;
	int fd;

	/* A calm answer after a calm read tells other processes nothing they
	 * act on: it is not written (see rl_peek_calm). */
	if (http_status != 429 && st->rl_calm && rl_peek_allowed(st, now) &&
	    seen_calm(seen->hour_limit, seen->hour_remaining) &&
	    seen_calm(seen->minute_limit, seen->minute_remaining))
		return;
	fd = rl_open(st, &r);
	changed = window_record(&r.hour, seen->hour_limit, seen->hour_remaining,
	                        seen->hour_reset, FM_RL_HOUR_S, now);
	changed |= window_record(&r.minute, seen->minute_limit, seen->minute_remaining,
	                         seen->minute_reset, FM_RL_MINUTE_S, now);
	if (http_status == 429) {
		until = now + (long long)(retry_after_s >= 0 ? retry_after_s : 0) * 1000;
		/* A 429 that says nothing at all still holds every process a while. */
		if (retry_after_s < 0 && !(window_known(&r.hour, now) && r.hour.remaining == 0) &&
		    !(window_known(&r.minute, now) && r.minute.remaining == 0))
			until = now + (long long)FM_RL_HOLD_429_S * 1000;
		if (until > r.hold_until) {
			r.hold_until = until;
			changed = true;
		}
	}
	rl_close(st, fd, &r, changed);
}

/* ---- field cache ---------------------------------------------------------------- */

static bool same_file(const struct fm_state *st, const struct stat *sb)
{
	return st->cache_seen && st->cache_dev == sb->st_dev && st->cache_ino == sb->st_ino &&
	       st->cache_size == sb->st_size && st->cache_mtime.tv_sec == sb->st_mtim.tv_sec &&
	       st->cache_mtime.tv_nsec == sb->st_mtim.tv_nsec;
}

static void remember_file(struct fm_state *st, const struct stat *sb)
{
	st->cache_seen = true;
	st->cache_dev = sb->st_dev;
	st->cache_ino = sb->st_ino;
	st->cache_size = sb->st_size;
	st->cache_mtime = sb->st_mtim;
}

bool fm_state_fields_load(struct fm_state *st, struct fm_fields **out)
{
	const cJSON *meta, *acct, *at;
	struct shared_state *sh;
	cJSON *doc = NULL;
	struct stat sb;
	char *s = NULL;
	uint64_t fp;
	size_t len;
	bool ok = false;
	int fd;

	*out = NULL;
	if (!st->sd)
		return false;
	/* Asked before every delivery: nothing while the generation is the one
	 * of the last look, else one stat() while the file is unchanged. */
	if ((sh = counters(st)) != NULL) {
		uint64_t gen = atomic_load(&sh->fields_gen);

		if (st->fields_gen_seen && gen == st->fields_gen)
			return false;
		st->fields_gen = gen;
	}
	st->fields_gen_seen = sh != NULL;
	if (statedir_stat(st->sd, "fields.json", &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    same_file(st, &sb))
		return false;
	if ((fd = open_file(st, "fields.json", O_RDONLY)) < 0) {
		st->fields_gen_seen = false;   /* looked at again next time */
		return false;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || same_file(st, &sb))
		goto out;
	/* Remembered even when unusable, so a bad file is not read on every call. */
	remember_file(st, &sb);
	if (!(s = read_fd(fd, FM_STATE_MAX_FILE, &len)) || !(doc = cJSON_ParseWithLength(s, len)))
		goto out;
	meta = cJSON_GetObjectItemCaseSensitive(doc, CACHE_MEMBER);
	acct = cJSON_GetObjectItemCaseSensitive(meta, "account");
	at = cJSON_GetObjectItemCaseSensitive(meta, "fetched_at");
	if (!cJSON_IsString(acct) || strlen(acct->valuestring) != 16 ||
	    !parse_hex64(acct->valuestring, &fp) || fp != st->account ||
	    !cJSON_IsNumber(at) || at->valuedouble < 1 || at->valuedouble > 1e12)
		goto out;
	ok = fm_fields_from_json(doc, (time_t)at->valuedouble, out) == FMF_OK;
out:
	cJSON_Delete(doc);
	free(s);
	close(fd);
	return ok;
}

/* The warnings logged about the old list may not hold for the new one. */
static void forget_warnings(struct fm_state *st)
{
	int fd;

	memset(st->seen, 0, sizeof st->seen);
	if ((fd = open_file(st, "warned", O_RDWR)) < 0)
		return;
	if (flock(fd, LOCK_EX) == 0 && ftruncate(fd, 0) != 0)
		log_msg(LOG_WARN, "cannot empty %s/warned: %s", statedir_path(st->sd),
		        strerror(errno));
	close(fd);
}

bool fm_state_fields_save(struct fm_state *st, cJSON *doc, time_t fetched_at)
{
	enum statedir_err e = STATEDIR_ENOMEM;
	struct shared_state *sh;
	char hex[17];
	cJSON *meta;
	char *json = NULL;
	struct stat sb;

	if (st->read_only || !st->sd)
		return false;
	snprintf(hex, sizeof hex, "%016llx", (unsigned long long)st->account);
	cJSON_DeleteItemFromObjectCaseSensitive(doc, CACHE_MEMBER);
	if (!(meta = cJSON_AddObjectToObject(doc, CACHE_MEMBER)) ||
	    !cJSON_AddStringToObject(meta, "account", hex) ||
	    !cJSON_AddNumberToObject(meta, "fetched_at", (double)fetched_at) ||
	    !(json = cJSON_PrintUnformatted(doc)) ||
	    (e = statedir_write(st->sd, "fields.json", json, strlen(json), STATEDIR_REPLACE)) !=
	    STATEDIR_OK)
		goto out;
	/* Bumped after the rename: a process that sees the new generation
	 * finds the new file. */
	if ((sh = counters(st)) != NULL) {
		st->fields_gen = atomic_fetch_add(&sh->fields_gen, 1) + 1;
		st->fields_gen_seen = true;
	}
	if (statedir_stat(st->sd, "fields.json", &sb) == 0)
		remember_file(st, &sb);
	st->failed_at = 0;
	statedir_unlink(st->sd, "fields.failed");
	forget_warnings(st);
out:
	if (e != STATEDIR_OK)
		log_msg(LOG_WARN, "cannot store the field list in %s: %s", statedir_path(st->sd),
		        statedir_strerror(e));
	cJSON_free(json);
	return e == STATEDIR_OK;
}

void fm_state_fields_failed(struct fm_state *st)
{
	int fd;

	st->failed_at = time(NULL);
	if (!st->sd || st->read_only)
		return;
	if ((fd = open_file(st, "fields.failed", O_WRONLY | O_CREAT)) >= 0) {
		futimens(fd, NULL);
		close(fd);
	}
}

long fm_state_fields_failed_ago(const struct fm_state *st)
{
	struct stat sb;
	time_t at = st->failed_at;

	if (st->sd && statedir_stat(st->sd, "fields.failed", &sb) == 0 && sb.st_mtime > at)
		at = sb.st_mtime;
	return at ? (long)(time(NULL) - at) : -1;
}

bool fm_state_fields_lock(struct fm_state *st, long wait_ms)
{
	struct timespec pause = {0, LOCK_POLL_MS * 1000000L};

	if (!st->sd || st->read_only)
		return true;
	if (st->lock_fd < 0 && (st->lock_fd = open_file(st, "fields.lock", O_RDWR | O_CREAT)) < 0)
		return true;   /* no lock to take: refresh unshared */
	for (long waited = 0;; waited += LOCK_POLL_MS) {
		if (flock(st->lock_fd, LOCK_EX | LOCK_NB) == 0)
			return true;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return true;
		if (waited >= wait_ms)
			return false;
		nanosleep(&pause, NULL);
	}
}

void fm_state_fields_unlock(struct fm_state *st)
{
	if (st->lock_fd >= 0)
		flock(st->lock_fd, LOCK_UN);
}

/* ---- warnings once ---------------------------------------------------------------- */

/* Adds key to this process's set; false when it was there. */
static bool seen_first(struct fm_state *st, uint64_t key)
{
	for (size_t i = 0, s = (size_t)(key % SEEN_SLOTS); i < SEEN_SLOTS; i++, s = (s + 1) % SEEN_SLOTS) {
		if (st->seen[s] == key)
			return false;
		if (st->seen[s] == 0) {
			st->seen[s] = key;
			return true;
		}
	}
	return true;   /* full: no longer deduplicated */
}

bool fm_state_first_warning(struct fm_state *st, uint64_t key)
{
	size_t len, n;
	char *s;
	bool first = true;
	int fd;

	if (key == 0)
		key = 1;   /* 0 marks an empty slot */
	if (!seen_first(st, key))
		return false;
	if (!st->sd || st->read_only ||
	    (fd = open_file(st, "warned", O_RDWR | O_CREAT)) < 0)
		return true;
	if (flock(fd, LOCK_EX) != 0 ||
	    !(s = read_fd(fd, FM_STATE_MAX_WARNED * sizeof key, &len))) {
		close(fd);
		return true;
	}
	n = len / sizeof key;
	for (size_t i = 0; i < n && first; i++)
		first = memcmp(s + i * sizeof key, &key, sizeof key) != 0;
	if (first && n < FM_STATE_MAX_WARNED)
		write_all(fd, (const char *)&key, sizeof key, (off_t)(n * sizeof key));
	free(s);
	close(fd);
	return first;
}

/* ---- backoff ---------------------------------------------------------------------- */

/* ---- identity mode ---------------------------------------------------------- */

/* SPOOL/state/identity: "emails since DATE\naccount HEX\n" once the account
 * refused external_id as the upsert key. */
static bool mode_file_is_emails(const char *s, uint64_t account, time_t *since)
{
	const char *a = strstr(s, "\naccount ");
	uint64_t fp;
	struct tm tm = { 0 };

	if (strncmp(s, "emails since ", 13) != 0 || !a || !parse_hex64(a + 9, &fp) ||
	    (account && fp != account))
		return false;
	if (since)
		*since = strptime(s + 13, "%Y-%m-%dT%H:%M:%SZ", &tm) ? timegm(&tm) : 0;
	return true;
}

enum fm_key_mode fm_state_key_mode(struct fm_state *st)
{
	long long now = clock_wall_ms();
	struct shared_state *sh;
	uint64_t seen = 0;
	size_t len;
	char *s;
	int fd;

	/* Once refused, always refused: only a restart after the operator
	 * removed the file probes again. Otherwise the file is looked for
	 * while its flag is set, at most once a second. */
	if (st->mode_emails || !st->sd)
		return st->mode_emails ? FM_KEY_MODE_EMAILS : FM_KEY_MODE_EXTERNAL_ID;
	if ((sh = counters(st)) != NULL && !shared_flag_get(&sh->identity, &seen))
		return FM_KEY_MODE_EXTERNAL_ID;
	if (st->mode_checked_at && now >= st->mode_checked_at && now - st->mode_checked_at < 1000)
		return FM_KEY_MODE_EXTERNAL_ID;
	st->mode_checked_at = now;
	if ((fd = open_file(st, "identity", O_RDONLY)) < 0) {
		if (sh && errno == ENOENT)
			shared_flag_clear(&sh->identity, seen);   /* removed by the operator */
		return FM_KEY_MODE_EXTERNAL_ID;
	}
	if ((s = read_fd(fd, MARKER_MAX, &len)) != NULL)
		st->mode_emails = mode_file_is_emails(s, st->account, NULL);
	free(s);
	close(fd);
	return st->mode_emails ? FM_KEY_MODE_EMAILS : FM_KEY_MODE_EXTERNAL_ID;
}

void fm_state_key_mode_emails(struct fm_state *st, const char *why)
{
	char text[256], when[32];
	enum statedir_err e = STATEDIR_ENAME;
	struct shared_state *sh;
	time_t now = time(NULL);
	struct tm tm;
	int n;

	if (st->read_only || st->mode_emails)
		return;
	st->mode_emails = true;
	if (!gmtime_r(&now, &tm) || !strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm))
		text_copy(when, sizeof when, "?");
	n = snprintf(text, sizeof text, "emails since %s\naccount %016llx\n", when,
	             (unsigned long long)st->account);
	/* Set before the file is made (see fm_state_key_mode). */
	if ((sh = counters(st)) != NULL)
		shared_flag_set(&sh->identity);
	if (st->sd && (n < 0 || (size_t)n >= sizeof text ||
	               (e = statedir_write(st->sd, "identity", text, (size_t)n,
	                                   STATEDIR_REPLACE)) != STATEDIR_OK))
		log_msg(LOG_ERR, "cannot write %s/identity: %s", statedir_path(st->sd),
		        statedir_strerror(e));
	log_msg(LOG_WARN, "Freshmarketer refuses external_id as the upsert key (%s): contacts are "
	        "now found by external id and created keyed on emails%s%s%s", why,
	        st->sd ? " (remembered in " : "", st->sd ? statedir_path(st->sd) : "",
	        st->sd ? "/identity)" : "");
}

enum fm_key_mode fm_state_key_mode_of(const char *spool_dir, time_t *since)
{
	enum statedir_err e;
	struct statedir *sd = statedir_open(spool_dir, STATEDIR_READ, &e);
	char *s = NULL;
	size_t len;
	bool emails;

	*since = 0;
	emails = sd && statedir_read(sd, "identity", MARKER_MAX, &s, &len) == STATEDIR_OK &&
	         mode_file_is_emails(s, 0, since);
	free(s);
	statedir_close(sd);
	return emails ? FM_KEY_MODE_EMAILS : FM_KEY_MODE_EXTERNAL_ID;
}

long fm_backoff_s(unsigned attempts, long retry_after_s)
{
	long d = FM_BACKOFF_BASE_S;
	uint32_t r;

	for (unsigned i = 1; i < attempts && d < FM_BACKOFF_MAX_S; i++)
		d *= 2;
	if (d > FM_BACKOFF_MAX_S)
		d = FM_BACKOFF_MAX_S;
	/* Jitter, so that submissions failed together do not return together:
	 * uniform in [d/2, d]. */
	if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
		r = (uint32_t)clock_wall_ms() ^ ((uint32_t)getpid() * 2654435761u);
	d = d / 2 + (long)(r % (uint32_t)(d / 2 + 1));
	if (retry_after_s >= 0 && d < retry_after_s)
		d = retry_after_s;
	return d;
}
