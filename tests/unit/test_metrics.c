/*
 * test_metrics.c: the shared counters (metrics.h): exact totals counted by
 * several processes at once, slots named by their form, the histogram's
 * buckets, label escaping, names the mapping would not allow left out, and
 * a file of another layout left out of a print and made anew.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "metrics.h"
#include "t.h"

#define PROCS 4
#define EACH  30000
#define HOT   300000   /* posts of one form by each child: long enough to overlap */

static char root[] = "/tmp/fmgate-metrics.XXXXXX";
static const struct metrics_gauges none = { -1, -1, -1, -1, -1, -1, -1 };

/* The printed text of root's counters (caller frees). */
static char *text(void)
{
	struct metrics_left_out left;
	struct buf b;

	buf_init(&b, METRICS_PRINT_MAX);
	if (metrics_print(root, &none, &b, &left) != METRICS_OK) {
		buf_free(&b);
		return NULL;
	}
	return buf_take(&b);
}

/* The value of the line that starts with `series ` in the text, or -1. */
static long long value(const char *series)
{
	char *t = text(), *p = t;
	size_t n = strlen(series);
	long long v = -1;

	while (p && *p) {
		if (strncmp(p, series, n) == 0 && p[n] == ' ') {
			v = atoll(p + n + 1);
			break;
		}
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	free(t);
	return v;
}

/* Counts once the parent closes the pipe, so that the children race. */
static void count_in_child(int k, int go)
{
	char form[16], c;

	if (read(go, &c, 1) != 0)
		_exit(1);
	for (int i = 0; i < EACH; i++) {
		/* Every child claims the same ten slots: the claims race. */
		snprintf(form, sizeof form, "f%d", i % 10);
		metrics_post(root, form, i % 3 ? "delivered" : "invalid", i % 3 ? NULL : "too_long");
		metrics_delivery(root, "shared", k % 2 ? "hook" : NULL, "delivered", i % 100);
	}
	for (int i = 0; i < HOT; i++)
		metrics_post(root, "hot", "queued", NULL);
	_exit(0);
}

static void test_processes(void)
{
	char s[128];
	int status, ok = 0, go[2];

	if (pipe(go) != 0)
		return;
	for (int k = 0; k < PROCS; k++)
		if (fork() == 0) {
			close(go[1]);
			count_in_child(k, go[0]);
		}
	close(go[0]);
	close(go[1]);
	for (int k = 0; k < PROCS; k++)
		if (wait(&status) > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
			ok++;
	T(ok == PROCS, "children ended");
	for (int f = 0; f < 10; f++) {
		long long want = 0, bad = 0;

		for (int i = f; i < EACH; i += 10)
			*(i % 3 ? &want : &bad) += 1;
		snprintf(s, sizeof s, "fmgate_posts_total{form=\"f%d\",outcome=\"delivered\"}", f);
		T(value(s) == want * PROCS, "form f%d: every delivered post counted once", f);
		snprintf(s, sizeof s, "fmgate_refusals_total{form=\"f%d\",code=\"too_long\"}", f);
		T(value(s) == bad * PROCS, "form f%d: every refusal counted once", f);
	}
	T(value("fmgate_posts_total{form=\"hot\",outcome=\"queued\"}") == (long long)HOT * PROCS,
	  "one counter added to by every child at once: no count lost");
	T(value("fmgate_deliveries_total{form=\"shared\",destination=\"freshmarketer\","
	        "outcome=\"delivered\"}") == EACH * PROCS / 2, "the CRM's deliveries");
	T(value("fmgate_delivery_duration_seconds_count{form=\"shared\",destination=\"hook\"}") ==
	  EACH * PROCS / 2, "the hook's latency count");
	/* 0..99 ms, 30 times each per child: 51 of them within 0.05 s. */
	T(value("fmgate_delivery_duration_seconds_bucket{form=\"shared\",destination=\"hook\","
	        "le=\"0.05\"}") == 51 * EACH / 100 * PROCS / 2, "the first bucket");
}

static void test_buckets(void)
{
	static const long long ms[] = { 0, 50, 51, 100, 999, 1000, 60000, 60001, -1 };
	char *t;

	for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++)
		metrics_delivery(root, "b", "", i == 8 ? "paused" : "retry", ms[i]);
	T(value("fmgate_delivery_duration_seconds_bucket{form=\"b\",destination=\"freshmarketer\","
	        "le=\"0.05\"}") == 2, "le 0.05: 0 and 50 ms (bounds are inclusive)");
	T(value("fmgate_delivery_duration_seconds_bucket{form=\"b\",destination=\"freshmarketer\","
	        "le=\"0.1\"}") == 4, "le 0.1: cumulative");
	T(value("fmgate_delivery_duration_seconds_bucket{form=\"b\",destination=\"freshmarketer\","
	        "le=\"1\"}") == 6, "le 1");
	T(value("fmgate_delivery_duration_seconds_bucket{form=\"b\",destination=\"freshmarketer\","
	        "le=\"60\"}") == 7, "le 60");
	T(value("fmgate_delivery_duration_seconds_bucket{form=\"b\",destination=\"freshmarketer\","
	        "le=\"+Inf\"}") == 8, "+Inf: all but the attempt without a call");
	T(value("fmgate_delivery_duration_seconds_count{form=\"b\",destination=\"freshmarketer\"}") ==
	  8, "count");
	t = text();
	T(t && strstr(t, "fmgate_delivery_duration_seconds_sum{form=\"b\",destination=\"freshmarketer\"} "
	              "122.201\n"), "sum in seconds");
	free(t);
	T(value("fmgate_deliveries_total{form=\"b\",destination=\"freshmarketer\","
	        "outcome=\"paused\"}") == 1, "an attempt without a call is counted");
}

static void test_words(void)
{
	char form[40];

	metrics_post(root, "w", "no-such-outcome", "no-such-code");
	metrics_post(root, NULL, "refused", "not_found");
	T(value("fmgate_posts_total{form=\"w\",outcome=\"other\"}") == 1, "unknown outcome: other");
	T(value("fmgate_refusals_total{form=\"w\",code=\"other\"}") == 1, "unknown code: other");
	T(value("fmgate_refusals_total{form=\"_none\",code=\"not_found\"}") == 1, "no form: _none");
	/* The table is full after METRICS_FORMS names: the rest is _other. */
	for (unsigned i = 0; i < METRICS_FORMS; i++) {
		snprintf(form, sizeof form, "many%u", i);
		metrics_post(root, form, "queued", NULL);
	}
	T(value("fmgate_posts_total{form=\"_other\",outcome=\"queued\"}") > 0, "overflow: _other");
	T(value("fmgate_posts_total{form=\"f3\",outcome=\"delivered\"}") > 0, "named ones stay");
}

/* The offset of a slot's tag in the file: 8 bytes before its form's name. */
static off_t tag_of(const char *path, const char *form)
{
	size_t n = strlen(form) + 1;
	char buf[1 << 16];
	off_t at = 0, found = -1;
	ssize_t got;
	int fd = open(path, O_RDONLY);

	while (fd >= 0 && found < 0 && (got = pread(fd, buf, sizeof buf, at)) > (ssize_t)n) {
		for (ssize_t i = 0; i + (ssize_t)n <= got; i++)
			if (memcmp(buf + i, form, n) == 0) {
				found = at + i - 8;
				break;
			}
		at += got - (off_t)n;
	}
	if (fd >= 0)
		close(fd);
	return found;
}

static void test_escape(void)
{
	struct buf b;

	buf_init(&b, 100);
	T(metrics_label(&b, "a\\b\"c\nd") == BUF_OK, "escaped");
	T_STREQ(buf_str(&b), "a\\\\b\\\"c\\nd", "backslash, quote, newline");
	buf_free(&b);
}

/* Names the mapping would not allow (a damaged or hostile file) are never
 * printed, and are counted once; names it allows are. */
static void test_bad_names(void)
{
	static const char evil[] = "x\"} 1\nfmgate_evil{a=\"";
	struct metrics_left_out left;
	char path[256], name[65], *t;
	const char *p;
	struct buf b;
	cJSON *o;
	enum metrics_err e;
	off_t at;
	int fd;

	snprintf(path, sizeof path, "%s/state/metrics-1", root);
	metrics_delivery(root, "Ok_Form-1", "sheet-2", "delivered", -1);
	metrics_delivery(root, evil, "sheet", "delivered", -1);
	metrics_delivery(root, "okform", evil, "delivered", -1);
	metrics_delivery(root, "okform", "-dash", "delivered", -1);
	metrics_delivery(root, "okform", "Upper", "delivered", -1);
	metrics_delivery(root, "zz-long", "sheet", "delivered", -1);
	/* The form's name unterminated: 65 bytes, the field's whole size. */
	at = tag_of(path, "zz-long");
	fd = open(path, O_RDWR);
	memset(name, 'a', sizeof name);
	T(at > 0 && fd >= 0 && pwrite(fd, name, sizeof name, at + 8) == (ssize_t)sizeof name,
	  "a name unterminated");
	if (fd >= 0)
		close(fd);
	buf_init(&b, METRICS_PRINT_MAX);
	T(metrics_print(root, &none, &b, &left) == METRICS_OK && !left.layout,
	  "bad names: printed");
	p = buf_str(&b);
	T(left.names == 5, "bad names: each slot counted once");
	T(!strstr(p, "evil") && !strstr(p, "x\\\"") && !strstr(p, "dash") &&
	  !strstr(p, "Upper") && !strstr(p, "aaaaaaaa"), "bad names: not printed");
	T(strstr(p, "{form=\"Ok_Form-1\",destination=\"sheet-2\",outcome=\"delivered\"} 1\n") != NULL,
	  "a name the mapping allows: printed");
	buf_free(&b);
	o = metrics_json(root, &none, &left, &e);
	t = o ? cJSON_PrintUnformatted(o) : NULL;
	T(t && left.names == 5 && !strstr(t, "evil") && strstr(t, "Ok_Form-1"),
	  "bad names: not in the json either");
	cJSON_free(t);
	cJSON_Delete(o);
}

/* A claim left half made (its claimer stopped between its compare-and-swap
 * and its names) is passed over: the names take a second slot, and the two
 * are printed as one series. */
static void test_stalled_claim(void)
{
	static const char series[] = "fmgate_posts_total{form=\"zz-stalled\",outcome=\"queued\"} ";
	char path[256], *t, *p;
	uint64_t tag, claimed = 1;
	off_t at;
	int fd, lines = 0;

	snprintf(path, sizeof path, "%s/state/metrics-1", root);
	metrics_post(root, "zz-stalled", "queued", NULL);
	at = tag_of(path, "zz-stalled");
	fd = open(path, O_RDWR);
	T(at > 0 && fd >= 0 && pread(fd, &tag, 8, at) == 8 && pwrite(fd, &claimed, 8, at) == 8,
	  "the slot's claim made half");
	metrics_post(root, "zz-stalled", "queued", NULL);
	T(value("fmgate_posts_total{form=\"zz-stalled\",outcome=\"queued\"}") == 1,
	  "passed over: counted in a second slot");
	T(fd >= 0 && pwrite(fd, &tag, 8, at) == 8, "the claim ends");
	if (fd >= 0)
		close(fd);
	t = text();
	for (p = t; p && (p = strstr(p, series)) != NULL; p++)
		lines++;
	T(lines == 1, "two slots of one form: one series");
	free(t);
	T(value("fmgate_posts_total{form=\"zz-stalled\",outcome=\"queued\"}") == 2,
	  "two slots of one form: summed");
}

static void test_layout(void)
{
	const struct metrics_gauges gauges = { 0, 0, 2, 0, 0, -1, -1 };
	struct metrics_left_out left;
	enum metrics_err e;
	char path[256];
	cJSON *o;
	struct stat sb, before;
	void *old;
	pid_t holder;
	time_t t0;
	uint64_t size;
	struct buf b;
	int fd;

	snprintf(path, sizeof path, "%s/state/metrics-1", root);
	/* Another layout under the name (a file put in its place): not read as
	 * counters... */
	T(stat(path, &sb) == 0, "the file is there");
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	/* Of the same size and saying so, another magic. */
	size = (uint64_t)sb.st_size;
	T(fd >= 0 && write(fd, "FMGMET0", 8) == 8 && write(fd, &size, 8) == 8 &&
	  ftruncate(fd, sb.st_size) == 0, "another layout written");
	if (fd >= 0)
		close(fd);
	buf_init(&b, METRICS_PRINT_MAX);
	T(metrics_print(root, &gauges, &b, &left) == METRICS_OK && left.layout && !left.names,
	  "another layout: printed, and said");
	T(!strstr(buf_str(&b), "fmgate_posts_total{") && strstr(buf_str(&b), "\nfmgate_spool_dead 2\n"),
	  "another layout: its counters left out, the gauges printed");
	buf_free(&b);
	o = metrics_json(root, &gauges, &left, &e);
	T(o && e == METRICS_OK && left.layout &&
	  cJSON_GetArraySize(cJSON_GetObjectItem(o, "posts")) == 0 &&
	  cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "spool"), "dead")) == 2,
	  "another layout: json without its counters");
	cJSON_Delete(o);
	/* Another process holds a lock on that file and has it mapped: making
	 * it anew waits for nobody, and never cuts the old file short under a
	 * mapping (SIGBUS): the new one is another file. */
	fd = open(path, O_RDONLY);
	old = fd >= 0 ? mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;
	T(fd >= 0 && fstat(fd, &before) == 0 && old != MAP_FAILED, "the old file mapped");
	holder = fork();
	if (holder == 0) {
		int h = open(path, O_RDONLY);

		if (h < 0 || flock(h, LOCK_EX) != 0)
			_exit(1);
		sleep(4);
		_exit(0);
	}
	/* ...and made anew, from zero, by the next count once this process
	 * looks again (at most once a second). */
	sleep(1);
	t0 = time(NULL);
	metrics_post(root, "new", "queued", NULL);
	T(time(NULL) - t0 <= 1, "made anew without waiting for the lock's holder");
	T(value("fmgate_posts_total{form=\"new\",outcome=\"queued\"}") == 1, "made anew");
	T(value("fmgate_posts_total{form=\"f1\",outcome=\"delivered\"}") == -1, "from zero");
	T(stat(path, &sb) == 0 && sb.st_ino != before.st_ino, "made beside the old file, not in it");
	T(old != MAP_FAILED && ((const char *)old)[before.st_size - 1] == 0 &&
	  memcmp(old, "FMGMET0", 8) == 0, "the old mapping still whole");
	if (old != MAP_FAILED)
		munmap(old, (size_t)before.st_size);
	if (fd >= 0)
		close(fd);
	kill(holder, SIGKILL);
	waitpid(holder, NULL, 0);
}

static void test_no_spool(void)
{
	struct metrics_left_out left;
	struct buf b;

	/* Best effort: nothing counted, nothing refused. */
	metrics_post("/nonexistent/fmgate-spool", "x", "queued", NULL);
	metrics_delivery("/nonexistent/fmgate-spool", "x", NULL, "delivered", 5);
	buf_init(&b, METRICS_PRINT_MAX);
	T(metrics_print("/nonexistent/fmgate-spool", &none, &b, &left) == METRICS_OK &&
	  !strstr(buf_str(&b), "form=\"x\""), "no spool: no counts, printed");
	buf_free(&b);
}

static void test_json(void)
{
	const struct metrics_gauges g = { 3, 1, 2, 40, 1, 500, -1 };
	struct metrics_left_out left;
	enum metrics_err e;
	cJSON *o = metrics_json(root, &g, &left, &e), *p;
	const cJSON *sp = cJSON_GetObjectItem(o, "spool");
	double n = -1;

	cJSON_ArrayForEach(p, cJSON_GetObjectItem(o, "posts"))
		if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(p, "form")), "new") == 0)
			n = cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(p, "outcomes"),
			                                             "queued"));
	T(o && e == METRICS_OK, "json made");
	T(n == 1, "json: posts by form and outcome");
	T(cJSON_GetNumberValue(cJSON_GetObjectItem(sp, "waiting")) == 3 &&
	  cJSON_GetNumberValue(cJSON_GetObjectItem(sp, "oldest_seconds")) == 40, "json: spool");
	T(cJSON_IsTrue(cJSON_GetObjectItem(o, "paused")), "json: paused");
	T(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "rate_budget"), "minute")),
	  "json: an unknown budget is null");
	cJSON_Delete(o);
}

int main(void)
{
	char cmd[300];
	struct stat sb;

	if (!mkdtemp(root))
		return 1;
	test_processes();
	snprintf(cmd, sizeof cmd, "%s/state/metrics-1", root);
	T(stat(cmd, &sb) == 0 && (sb.st_mode & 0777) == 0600, "the file is 0600");
	test_buckets();
	test_stalled_claim();   /* before test_words fills the table */
	test_words();
	test_escape();
	test_bad_names();
	test_layout();
	test_no_spool();
	test_json();
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	if (system(cmd) != 0)
		printf("cannot remove %s\n", root);
	T_DONE();
}
