/*
 * test_fm_state.c: the delivery state shared through SPOOL/state: pause
 * marker and probes, the rate-limit budget, the field cache, warnings once,
 * backoff; across processes (fork) through the mapped counters in front of
 * the files. Pure: files in a temporary spool, no network.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "fm_client.h"
#include "fm_state.h"
#include "hash.h"
#include "shared.h"
#include "t.h"

static char spool[64];

static bool exists(const char *name)
{
	char p[256];
	struct stat sb;

	snprintf(p, sizeof p, "%s/state/%s", spool, name);
	return lstat(p, &sb) == 0;
}

static mode_t mode_of(const char *name)
{
	char p[256];
	struct stat sb;

	snprintf(p, sizeof p, "%s/state%s%s", spool, *name ? "/" : "", name);
	return lstat(p, &sb) == 0 ? sb.st_mode & 0777 : 0;
}

/* The text of file p (at most size - 1 bytes); its length. */
static size_t get_file(const char *p, char *buf, size_t size)
{
	FILE *f = fopen(p, "r");
	size_t n = 0;

	if (f) {
		n = fread(buf, 1, size - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return n;
}

/* Replaces file p with the formatted text. */
static void put_file(const char *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put_file(const char *p, const char *fmt, ...)
{
	FILE *f = fopen(p, "w");
	va_list ap;

	if (!f)
		return;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
}

/* Sets a state file's mtime `ago` seconds back. */
static void age_file(const char *name, long ago)
{
	char p[256];
	struct timespec ts[2];

	snprintf(p, sizeof p, "%s/state/%s", spool, name);
	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= ago;
	ts[1] = ts[0];
	utimensat(AT_FDCWD, p, ts, 0);
}

static void rm_state(void)
{
	char cmd[256];

	snprintf(cmd, sizeof cmd, "rm -rf '%s/state'", spool);
	if (system(cmd) != 0)
		printf("cannot clean %s\n", spool);
}

static void test_open(void)
{
	struct fm_state *st, *ro;
	char file[128];
	FILE *f;

	rm_state();
	ro = fm_state_open(spool, "http://b", "k", true);
	T(ro && !fm_state_shared(ro), "read-only creates nothing: memory");
	T(mode_of("") == 0, "no state dir made by a read-only state");
	fm_state_close(ro);
	st = fm_state_open(spool, "http://b", "k", false);
	T(st && fm_state_shared(st), "state dir made");
	T(mode_of("") == 0700, "state dir mode 0700: %o", (unsigned)mode_of(""));
	fm_state_close(st);
	st = fm_state_open("", "http://b", "k", false);
	T(st && !fm_state_shared(st), "no spool: memory");
	fm_state_close(st);
	snprintf(file, sizeof file, "%s/plainfile", spool);
	f = fopen(file, "w");
	if (f)
		fclose(f);
	st = fm_state_open(file, "http://b", "k", false);
	T(st && !fm_state_shared(st), "spool that is a file: memory");
	fm_state_close(st);
	unlink(file);
}

static void test_pause(void)
{
	struct fm_state *a, *b, *other, *mem;
	char p[256];

	rm_state();
	a = fm_state_open(spool, "http://b", "key1", false);
	b = fm_state_open(spool, "http://b", "key1", false);
	other = fm_state_open(spool, "http://b", "key2", false);
	mem = fm_state_open("", "http://b", "key1", false);
	T(!fm_state_paused(spool) && fm_state_pause_check(a) == 0, "not paused");
	fm_state_key_refused(a, 401, "Incorrect\nkey");
	T(fm_state_paused(spool), "marker created");
	T(mode_of("paused") == 0600, "marker mode 0600");
	snprintf(p, sizeof p, "%s/state/paused", spool);
	get_file(p, p, sizeof p);
	T(strstr(p, "HTTP 401") && strstr(p, "Incorrect key") && !strstr(p, "key1"),
	  "marker says why, not the key: %s", p);
	T(fm_state_pause_check(b) > 0 && fm_state_pause_check(b) <= FM_STATE_PROBE_S,
	  "another process of the same key is paused");
	T(fm_state_pause_check(other) == 0, "another key is not");
	age_file("paused", FM_STATE_PROBE_S + 1);
	T(fm_state_pause_check(b) == 0, "probe due after FM_STATE_PROBE_S");
	T(fm_state_pause_check(a) > FM_STATE_PROBE_S - 3, "one probe for all processes");
	fm_state_key_refused(b, 401, "again");   /* the probe failed: no new marker */
	T(fm_state_paused(spool), "still paused");
	fm_state_key_works(a);
	T(!fm_state_paused(spool) && fm_state_pause_check(b) == 0, "a success removes the marker");
	fm_state_key_refused(a, 401, "bad");
	fm_state_key_refused(other, 403, "restricted");
	T(fm_state_pause_check(other) > 0 && fm_state_pause_check(a) == 0,
	  "marker rewritten for the other key");
	fm_state_key_works(other);
	T(!fm_state_paused(spool), "removed");

	/* in memory */
	T(fm_state_pause_check(mem) == 0, "memory: not paused");
	fm_state_key_refused(mem, 401, "x");
	T(fm_state_pause_check(mem) > 0, "memory: paused");
	T(!fm_state_paused(spool), "memory leaves no marker");
	fm_state_key_works(mem);
	T(fm_state_pause_check(mem) == 0, "memory: resumed");
	fm_state_close(a);
	fm_state_close(b);
	fm_state_close(other);
	fm_state_close(mem);
}

static struct fm_ratelimit rl(long hl, long hr, long hreset, long ml, long mr, long mreset)
{
	return (struct fm_ratelimit){hl, hr, hreset, ml, mr, mreset};
}

static void test_ratelimit(void)
{
	struct fm_state *a, *b, *other;
	struct fm_ratelimit none = rl(-1, -1, -1, -1, -1, -1), seen;
	long w;

	rm_state();
	a = fm_state_open(spool, "http://b", "key1", false);
	b = fm_state_open(spool, "http://b", "key1", false);
	other = fm_state_open(spool, "http://b", "key2", false);
	T(fm_state_rl_reserve(a) == 0, "no information: go");
	fm_state_rl_record(a, &none, 200, -1);
	T(!exists("ratelimit") || fm_state_rl_reserve(b) == 0, "nothing to share");

	/* plenty left: go, and each reservation counts */
	seen = rl(1000, 900, 3000, 400, 5, 30);
	fm_state_rl_record(a, &seen, 200, -1);
	T(exists("ratelimit") && mode_of("ratelimit") == 0600, "budget file 0600");
	T(fm_state_rl_reserve(b) == 0, "5 of 400 a minute is low: spacing counts from the last call (none yet)");
	w = fm_state_rl_reserve(a);
	T(w > 5000 && w <= 7600, "then calls are spread: 30 s / 4 left = about 7.5 s (%ld ms)", w);
	T(fm_state_rl_reserve(other) == 0, "another key's budget is not ours");

	/* none left: wait until the reset, in every process */
	seen = rl(-1, -1, -1, 400, 0, 20);
	fm_state_rl_record(a, &seen, 200, -1);
	w = fm_state_rl_reserve(b);
	T(w > 19000 && w <= 20000, "no call before the reset: %ld ms", w);

	/* a reset that passed means no information */
	seen = rl(-1, -1, -1, 400, 0, 0);
	fm_state_rl_record(a, &seen, 200, -1);
	T(fm_state_rl_reserve(b) == 0, "window over: go");

	/* a reset past the window holds no longer than the window */
	seen = rl(1000, 0, (long)time(NULL) + 100, -1, -1, -1);
	fm_state_rl_record(a, &seen, 200, -1);
	w = fm_state_rl_reserve(b);
	T(w > (FM_RL_HOUR_S - 2) * 1000L && w <= FM_RL_HOUR_S * 1000L,
	  "a far reset waits one window at most: %ld ms", w);

	/* 429: Retry-After holds everyone; without it, FM_RL_HOLD_429_S */
	rm_state();
	fm_state_close(a);
	fm_state_close(b);
	a = fm_state_open(spool, "http://b", "key1", false);
	b = fm_state_open(spool, "http://b", "key1", false);
	fm_state_rl_record(a, &none, 429, 7);
	w = fm_state_rl_reserve(b);
	T(w > 6000 && w <= 7000, "Retry-After 7 s shared: %ld ms", w);
	{
		char p[256];

		snprintf(p, sizeof p, "%s/state/ratelimit", spool);
		unlink(p);
	}
	fm_state_rl_record(a, &none, 429, -1);
	w = fm_state_rl_reserve(b);
	T(w > (FM_RL_HOLD_429_S - 1) * 1000L && w <= FM_RL_HOLD_429_S * 1000L,
	  "429 without Retry-After holds %d s: %ld ms", FM_RL_HOLD_429_S, w);

	/* a damaged file is no information */
	{
		char p[256];

		snprintf(p, sizeof p, "%s/state/ratelimit", spool);
		put_file(p, "fmgate-ratelimit-1 zz 1 2 3\n");
		T(fm_state_rl_reserve(b) == 0, "damaged budget: go");
	}
	fm_state_close(a);
	fm_state_close(b);
	fm_state_close(other);
}

/* A budget file written by hand is read at the next lock, and published
 * for the calm peeks: a new process's first answer takes it (an answer
 * without rate-limit headers writes nothing). */
static void take_by_hand(const char *base, const char *key)
{
	struct fm_ratelimit none = rl(-1, -1, -1, -1, -1, -1);
	struct fm_state *st = fm_state_open(spool, base, key, false);

	fm_state_rl_record(st, &none, 200, -1);
	fm_state_close(st);
}

/* The budget file: rewritten in place at a fixed length, readable by the
 * old unpadded form, a longer file cut back. */
static void test_ratelimit_file(void)
{
	/* the numbers after "LIMIT REMAINING": the hour's reset, then the rest */
	static const struct { const char *numbers, *what; } unreadable[] = {
		{ "99999999999999 +5 -1 0 0 0", "a '+' number" },
		{ "99999999999999999999 -1 -1 0 0 0", "an overflowing number" },
		{ " 99999999999999 -1 -1 0 0 0", "two spaces" },
		{ "99999999999999 -2 -1 0 0 0", "a number under -1" },
	};
	const char *base = "http://b", *key = "key1";
	uint64_t acct = hash_fnv1a(HASH_FNV_INIT, base, strlen(base));
	uint64_t fp = hash_fnv1a(hash_fnv1a(acct, "\n", 1), key, strlen(key));
	struct fm_ratelimit seen = rl(1000, 900, 3000, 400, 300, 30);
	struct fm_state *a, *b;
	char p[256], text[600], want[64];
	struct stat sb;
	size_t n = 0;
	long w;

	rm_state();
	snprintf(p, sizeof p, "%s/state/ratelimit", spool);
	snprintf(want, sizeof want, "fmgate-ratelimit-1 %016llx 1000 900 ", (unsigned long long)fp);
	a = fm_state_open(spool, base, key, false);
	b = fm_state_open(spool, base, key, false);
	fm_state_rl_record(a, &seen, 200, -1);
	n = get_file(p, text, sizeof text);
	T(n == 200 && text[199] == '\n', "200 bytes ending in a newline: %zu", n);
	T(strncmp(text, want, strlen(want)) == 0, "the documented line first: %.60s", text);
	T(fm_state_rl_reserve(b) == 0, "the padded line is read back");

	/* Calm (more than half of every window left): calls are neither counted
	 * nor recorded under the lock; below half, each one is. */
	{
		struct fm_ratelimit low = rl(1000, 100, 3000, 400, 300, 30);
		struct fm_ratelimit calm = rl(1000, 800, 3000, 400, 300, 30);
		struct fm_ratelimit calm2 = rl(1000, 700, 3000, 400, 250, 30);
		struct fm_ratelimit half = rl(1000, 500, 3000, 400, 300, 30);
		char before[600], after[600];

		fm_state_rl_record(a, &low, 200, -1);
		fm_state_rl_record(a, &calm, 200, -1);
		get_file(p, before, sizeof before);
		T(strstr(before, " 1000 800 ") != NULL, "a calm answer after a low one is written");
		for (int i = 0; i < 5; i++)
			T(fm_state_rl_reserve(a) == 0, "calm: go (%d)", i);
		for (int i = 0; i < 5; i++)
			fm_state_rl_record(a, &calm2, 200, -1);
		get_file(p, after, sizeof after);
		T(strcmp(before, after) == 0, "calm calls leave the file as it was");
		fm_state_rl_record(a, &half, 200, -1);
		T(fm_state_rl_reserve(a) == 0, "half left: go, counted");
		get_file(p, after, sizeof after);
		T(strstr(after, " 1000 499 ") != NULL,
		  "at half, the answer is written and the call counted: %.60s", after);
		/* a process that has not held the lock lately does not trust a read without it */
		fm_state_close(b);
		b = fm_state_open(spool, base, key, false);
		fm_state_rl_record(a, &calm, 200, -1);
		T(fm_state_rl_reserve(b) == 0, "a new process: go");
		get_file(p, after, sizeof after);
		T(strstr(after, " 1000 799 ") != NULL, "its first call goes through the lock, counted: %.60s",
		  after);
	}
	for (int i = 0; i < 50; i++)
		fm_state_rl_reserve(i % 2 ? a : b);
	T(stat(p, &sb) == 0 && sb.st_size == 200, "still 200 bytes after many rewrites");

	/* the unpadded line of an earlier version, with -1 for unknown values */
	put_file(p, "fmgate-ratelimit-1 %016llx 1000 0 %lld -1 -1 0 0 0\n",
	         (unsigned long long)fp, (long long)time(NULL) * 1000 + 50000);
	take_by_hand(base, key);
	w = fm_state_rl_reserve(b);
	T(w > 48000 && w <= 50000, "an earlier version's line is understood: %ld ms", w);
	/* a longer file is cut back when next written */
	put_file(p, "fmgate-ratelimit-1 %016llx 1000 900 %lld -1 -1 0 0 0%300s\n",
	         (unsigned long long)fp, (long long)time(NULL) * 1000 + 50000, "");
	take_by_hand(base, key);
	T(fm_state_rl_reserve(a) == 0, "plenty left: go");
	T(stat(p, &sb) == 0 && sb.st_size > 200, "a calm budget is not written");
	seen = rl(1000, 100, 3000, -1, -1, -1);
	fm_state_rl_record(a, &seen, 200, -1);
	T(stat(p, &sb) == 0 && sb.st_size == 200, "a longer file is cut to 200 bytes: %lld",
	  (long long)sb.st_size);
	/* numbers the parser must refuse: no information, so go (each line
	 * would otherwise hold the hour's budget spent until far ahead) */
	for (size_t i = 0; i < sizeof unreadable / sizeof unreadable[0]; i++) {
		put_file(p, "fmgate-ratelimit-1 %016llx 1000 0 %s\n", (unsigned long long)fp,
		         unreadable[i].numbers);
		take_by_hand(base, key);
		T(fm_state_rl_reserve(b) == 0, "the line is unreadable with %s", unreadable[i].what);
	}
	fm_state_close(a);
	fm_state_close(b);
}

static void test_fields_cache(void)
{
	const char *api = "{\"fields\":[{\"name\":\"cf_x\",\"label\":\"X\",\"type\":\"number\"}]}";
	struct fm_state *a, *b, *acct2, *ro;
	struct fm_fields *f = NULL;
	cJSON *doc;
	char p[256];
	FILE *fp;

	rm_state();
	a = fm_state_open(spool, "http://b", "key1", false);
	b = fm_state_open(spool, "http://b", "key2", false);   /* same account, other key */
	acct2 = fm_state_open(spool, "http://c", "key1", false);
	T(!fm_state_fields_load(b, &f) && !f, "no cache yet");
	doc = cJSON_Parse(api);
	T(fm_state_fields_save(a, doc, 1000), "saved");
	cJSON_Delete(doc);
	T(mode_of("fields.json") == 0600, "cache mode 0600");
	T(fm_state_fields_load(b, &f) && f && f->n == 1 && f->fetched_at == 1000,
	  "loaded by another process, with its fetch time");
	fm_fields_free(f);
	T(!fm_state_fields_load(b, &f), "unchanged: not loaded again");
	T(!fm_state_fields_load(a, &f), "the writer does not reload its own file");
	T(!fm_state_fields_load(acct2, &f), "another account's cache is not used");
	ro = fm_state_open(spool, "http://b", "key1", true);
	T(fm_state_fields_load(ro, &f) && f, "a dry run reads the cache");
	fm_fields_free(f);
	doc = cJSON_Parse(api);
	T(!fm_state_fields_save(ro, doc, 2000), "a dry run never writes it");
	cJSON_Delete(doc);

	/* a damaged cache is ignored (and read once) */
	snprintf(p, sizeof p, "%s/state/fields.json", spool);
	if ((fp = fopen(p, "w"))) {
		fputs("{\"fields\":[", fp);
		fclose(fp);
	}
	T(!fm_state_fields_load(b, &f) && !f, "damaged cache ignored");

	/* a failed refresh is known to every process until a list is stored */
	T(fm_state_fields_failed_ago(b) == -1, "no failed refresh yet");
	fm_state_fields_failed(a);
	T(mode_of("fields.failed") == 0600, "failure marker 0600");
	T(fm_state_fields_failed_ago(b) >= 0 && fm_state_fields_failed_ago(b) <= 1,
	  "another process sees it");
	doc = cJSON_Parse(api);
	fm_state_fields_save(a, doc, 3000);
	cJSON_Delete(doc);
	T(fm_state_fields_failed_ago(b) == -1 && !exists("fields.failed"), "a stored list clears it");

	/* the lock: one refresher */
	T(fm_state_fields_lock(a, 0), "lock taken");
	T(!fm_state_fields_lock(b, 50), "held by another: not taken within the wait");
	fm_state_fields_unlock(a);
	T(fm_state_fields_lock(b, 0), "free again");
	fm_state_fields_unlock(b);
	fm_state_close(a);
	fm_state_close(b);
	fm_state_close(acct2);
	fm_state_close(ro);
}

static void test_warnings(void)
{
	struct fm_state *a, *b;
	cJSON *doc;

	rm_state();
	a = fm_state_open(spool, "http://b", "k", false);
	b = fm_state_open(spool, "http://b", "k", false);
	T(fm_state_first_warning(a, 42), "first time");
	T(!fm_state_first_warning(a, 42), "not twice in one process");
	T(!fm_state_first_warning(b, 42), "nor in another process");
	T(fm_state_first_warning(b, 43), "another warning");
	T(fm_state_first_warning(a, 0) && !fm_state_first_warning(b, 0), "key 0 works too");
	doc = cJSON_Parse("{\"fields\":[]}");
	fm_state_fields_save(a, doc, 5);
	cJSON_Delete(doc);
	T(fm_state_first_warning(a, 42), "a new field list: warned again");
	fm_state_close(a);
	fm_state_close(b);
}

/* ---- across processes ---------------------------------------------------------- */

static const char *child_key = "key1";

/* Runs fn in another process, on its own state of child_key; true when it
 * ended normally. */
static bool in_child(void (*fn)(struct fm_state *))
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		struct fm_state *c = fm_state_open(spool, "http://b", child_key, false);

		fn(c);
		fm_state_close(c);
		_exit(0);
	}
	return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status);
}

static void refuse(struct fm_state *c) { fm_state_key_refused(c, 401, "bad key"); }
static void works(struct fm_state *c) { fm_state_key_works(c); }

static void test_pause_processes(void)
{
	struct fm_state *a;
	char p[256], marker[600];

	rm_state();
	snprintf(p, sizeof p, "%s/state/paused", spool);
	a = fm_state_open(spool, "http://b", "key1", false);
	T(fm_state_pause_check(a) == 0, "not paused");
	T(in_child(refuse) && fm_state_pause_check(a) > 0, "paused by another process: seen here");
	get_file(p, marker, sizeof marker);
	T(in_child(works) && !exists("paused") && fm_state_pause_check(a) == 0,
	  "resumed by another process");
	/* The flag, not the marker, is looked at while unpaused: a marker
	 * made behind its back is not opened... */
	put_file(p, "%s", marker);
	T(fm_state_pause_check(a) == 0, "flag clear: the marker is not opened");
	/* ...until a 401 finds it there and sets the flag. */
	T(in_child(refuse) && fm_state_pause_check(a) > 0, "a 401 that finds the marker sets the flag");
	/* A marker removed by hand while the flag is set: resumed, and the flag
	 * follows (a marker put back is not opened). */
	unlink(p);
	T(fm_state_pause_check(a) == 0, "marker removed by hand: resumed");
	put_file(p, "%s", marker);
	T(fm_state_pause_check(a) == 0, "and the flag was cleared");
	unlink(p);
	fm_state_close(a);
	/* A table made anew (removed with the folder, say) while paused: the
	 * marker is looked at first. */
	T(in_child(refuse), "paused");
	snprintf(p, sizeof p, "%s/state/shared-2", spool);
	unlink(p);
	a = fm_state_open(spool, "http://b", "key1", false);
	T(fm_state_pause_check(a) > 0, "a new table while paused: still paused");
	fm_state_close(a);
}

static void save_list(struct fm_state *c)
{
	cJSON *doc = cJSON_Parse("{\"fields\":[{\"name\":\"cf_x\",\"label\":\"X\",\"type\":\"text\"}]}");

	fm_state_fields_save(c, doc, 1000 + (time(NULL) % 1000));
	cJSON_Delete(doc);
}

static void test_fields_processes(void)
{
	struct fm_state *b;
	struct fm_fields *f = NULL;
	char p[256], text[8192];
	time_t first;

	rm_state();
	snprintf(p, sizeof p, "%s/state/fields.json", spool);
	b = fm_state_open(spool, "http://b", "key1", false);
	T(!fm_state_fields_load(b, &f), "no list yet");
	T(in_child(save_list) && fm_state_fields_load(b, &f) && f, "saved by another process: loaded");
	first = f ? f->fetched_at : 0;
	fm_fields_free(f);
	T(!fm_state_fields_load(b, &f), "unchanged: not loaded again");
	/* The file is looked at only when the generation moved. */
	get_file(p, text, sizeof text);
	put_file(p, "%s ", text);
	T(!fm_state_fields_load(b, &f), "changed behind the generation's back: not looked at");
	sleep(1);
	T(in_child(save_list) && fm_state_fields_load(b, &f) && f && f->fetched_at != first,
	  "the next store is seen");
	fm_fields_free(f);
	fm_state_close(b);
}

static void rl_calm_answer(struct fm_state *c)
{
	struct fm_ratelimit seen = rl(1000, 800, 3000, 400, 300, 30);

	fm_state_rl_record(c, &seen, 200, -1);
}

static void rl_low_answer(struct fm_state *c)
{
	struct fm_ratelimit seen = rl(1000, 100, 3000, 400, 300, 30);

	fm_state_rl_record(c, &seen, 200, -1);
}

static void rl_429(struct fm_state *c)
{
	struct fm_ratelimit none = rl(-1, -1, -1, -1, -1, -1);

	fm_state_rl_record(c, &none, 429, 7);
}

/* A writer of the mapped record killed half way. */
static void rl_torn(struct fm_state *c)
{
	(void)c;
	atomic_fetch_add(&shared_state(spool)->rl_seq, 1);
	raise(SIGKILL);
}

static void test_ratelimit_processes(void)
{
	struct fm_state *b;
	char p[256], before[600], after[600];
	long w;

	rm_state();
	snprintf(p, sizeof p, "%s/state/ratelimit", spool);
	b = fm_state_open(spool, "http://b", "key1", false);
	T(fm_state_rl_reserve(b) == 0, "no budget: go");
	T(in_child(rl_calm_answer), "a calm budget recorded by another process");
	get_file(p, before, sizeof before);
	for (int i = 0; i < 3; i++)
		T(fm_state_rl_reserve(b) == 0, "calm: go (%d)", i);
	get_file(p, after, sizeof after);
	T(strstr(before, " 1000 800 ") && strcmp(before, after) == 0,
	  "calm calls: read from the mapping, the file untouched");
	T(in_child(rl_low_answer) && fm_state_rl_reserve(b) == 0, "a low budget from another process");
	get_file(p, after, sizeof after);
	T(strstr(after, " 1000 99 ") != NULL, "gates this one: the call counted under the lock: %.60s",
	  after);
	fm_state_close(b);
	/* (another key, whose budget is not spread by the low one above) */
	b = fm_state_open(spool, "http://b", "key3", false);
	child_key = "key3";
	T(fm_state_rl_reserve(b) == 0 && in_child(rl_429), "a 429 in another process");
	child_key = "key1";
	w = fm_state_rl_reserve(b);
	T(w > 6000 && w <= 7000, "holds this one: %ld ms", w);

	/* a record torn by a killed writer: read through the lock, and mended */
	rm_state();
	fm_state_close(b);
	b = fm_state_open(spool, "http://b", "key1", false);
	T(in_child(rl_calm_answer) && fm_state_rl_reserve(b) == 0, "calm again");
	T(!in_child(rl_torn), "a writer killed half way");
	get_file(p, before, sizeof before);
	T(fm_state_rl_reserve(b) == 0, "torn: go");
	get_file(p, after, sizeof after);
	T(strstr(after, " 1000 798 ") != NULL, "through the lock, counted: %.60s", after);
	get_file(p, before, sizeof before);
	T(fm_state_rl_reserve(b) == 0, "go");
	get_file(p, after, sizeof after);
	T(strcmp(before, after) == 0, "mended: calm calls read the mapping again");
	fm_state_close(b);
}

static void emails(struct fm_state *c) { fm_state_key_mode_emails(c, "test"); }

static void test_identity_processes(void)
{
	struct fm_state *a, *b;
	char p[256];

	rm_state();
	snprintf(p, sizeof p, "%s/state/identity", spool);
	a = fm_state_open(spool, "http://b", "key1", false);
	T(fm_state_key_mode(a) == FM_KEY_MODE_EXTERNAL_ID, "external_id at first");
	/* the flag, not the file, is looked at: a file made behind its back is
	 * not opened, even by a new process */
	put_file(p, "emails since 2026-01-01T00:00:00Z\naccount %016llx\n",
	         (unsigned long long)hash_fnv1a(HASH_FNV_INIT, "http://b", 8));
	b = fm_state_open(spool, "http://b", "key1", false);
	T(fm_state_key_mode(b) == FM_KEY_MODE_EXTERNAL_ID, "flag clear: the file is not opened");
	fm_state_close(b);
	unlink(p);
	T(in_child(emails), "another process records the emails mode");
	b = fm_state_open(spool, "http://b", "key1", false);
	T(fm_state_key_mode(b) == FM_KEY_MODE_EMAILS, "seen by a new process");
	fm_state_close(b);
	/* removed by the operator: a process that starts then probes again */
	unlink(p);
	b = fm_state_open(spool, "http://b", "key1", false);
	T(fm_state_key_mode(b) == FM_KEY_MODE_EXTERNAL_ID, "file removed: external_id again");
	fm_state_close(b);
	fm_state_close(a);
}

static void test_backoff(void)
{
	long lo = 1L << 30, hi = 0, v;

	for (int i = 0; i < 200; i++) {
		v = fm_backoff_s(1, -1);
		lo = v < lo ? v : lo;
		hi = v > hi ? v : hi;
	}
	T(lo >= FM_BACKOFF_BASE_S / 2 && hi <= FM_BACKOFF_BASE_S && lo < hi,
	  "first: jitter within [base/2, base]: %ld..%ld", lo, hi);
	v = fm_backoff_s(3, -1);
	T(v >= 2 * FM_BACKOFF_BASE_S && v <= 4 * FM_BACKOFF_BASE_S, "third: doubled twice: %ld", v);
	v = fm_backoff_s(40, -1);
	T(v >= FM_BACKOFF_MAX_S / 2 && v <= FM_BACKOFF_MAX_S, "capped: %ld", v);
	T(fm_backoff_s(1, 5000) == 5000, "never less than Retry-After");
	v = fm_backoff_s(1, 1);
	T(v >= FM_BACKOFF_BASE_S / 2, "a short Retry-After does not shorten the backoff: %ld", v);
	T(fm_backoff_s(0, -1) <= FM_BACKOFF_BASE_S, "0 attempts taken as 1");
}

/* Reset headers in every form seen, and none holds past its window. */
static void test_reset_values(void)
{
	/* 1759148710 is 29 Sep 2025 12:25:10 UTC, the value seen live */
	static const struct {
		const char *value;
		long window;
		time_t now;
		long want;
	} cases[] = {
		{"290925122510", 3600, 1759148710 - 100, 100},   /* ddmmyyHHMMSS, UTC */
		{"290925122510", 3600, 1759148710 + 5, 0},       /* already past */
		{"290925122510", 60, 1759148710 - 3000, 60},     /* capped at the window */
		{"311299235959", 3600, 1759148710, 3600},        /* far future: the window */
		{"1759148770", 3600, 1759148710, 60},            /* Unix seconds */
		{"4102444800", 3600, 1759148710, 3600},          /* Unix, year 2100 */
		{"42", 3600, 1759148710, 42},                    /* seconds until */
		{"0", 60, 1759148710, 0},
		{"999999", 60, 1759148710, 60},                  /* seconds, over the window */
		{"soon", 3600, 1759148710, -1},                  /* garbage: unknown */
		{"", 3600, 1759148710, -1},
		{"-5", 3600, 1759148710, -1},
		{" 42", 3600, 1759148710, -1},
		{"320925122510", 3600, 1759148710, -1},          /* day 32 */
		{"291325122510", 3600, 1759148710, -1},          /* month 13 */
		{"290925246000", 3600, 1759148710, -1},          /* 24:60 */
		{"12345678901", 3600, 1759148710, -1},           /* 11 digits: no known form */
		{"1234567890123", 3600, 1759148710, -1},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		long got = fm_rl_reset_s(cases[i].value, cases[i].window, cases[i].now);
		T(got == cases[i].want, "reset \"%s\" (window %ld): %ld, want %ld", cases[i].value,
		  cases[i].window, got, cases[i].want);
	}
}

int main(void)
{
	snprintf(spool, sizeof spool, "/tmp/fmgate-test-fms.XXXXXX");
	if (!mkdtemp(spool))
		return 2;
	test_open();
	test_pause();
	test_ratelimit();
	test_ratelimit_file();
	test_fields_cache();
	test_warnings();
	test_pause_processes();
	test_fields_processes();
	test_ratelimit_processes();
	test_identity_processes();
	test_backoff();
	test_reset_values();
	{
		char cmd[128];

		snprintf(cmd, sizeof cmd, "rm -rf '%s'", spool);
		if (system(cmd) != 0)
			printf("cannot remove %s\n", spool);
	}
	T_DONE();
}
