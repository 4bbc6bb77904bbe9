/* Tests for consent.c: records written whole and read back, voids, the
 * limits, concurrent appenders, and forget's rewrite. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "consent.h"
#include "t.h"
#include "tfiles.h"

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif

static char spool[] = "/tmp/fmgate-test-consent.XXXXXX";

static struct map_field boxes[] = {
	{ .name = (char *)"agree", .trait = (char *)"terms", .type = MAP_BOOLEAN,
	  .consent = (char *)"I agree to the \"terms\"" },
	{ .name = (char *)"news", .trait = (char *)"newsletter", .type = MAP_BOOLEAN,
	  .consent = (char *)"Send me news" },
};

/* A submission of `email` with `n` checked boxes; mid's last digit is `tag`. */
static void sub_of(struct submission *s, const char *email, size_t n, char tag)
{
	static const struct map_field *checked[2] = { &boxes[0], &boxes[1] };

	submission_init(s);
	snprintf(s->message_id, sizeof s->message_id, "00000000-0000-4000-8000-00000000000%c", tag);
	snprintf(s->timestamp, sizeof s->timestamp, "2026-12-03T04:05:06.789Z");
	s->form_id = "newsletter";
	s->user_id = (char *)"u-1";
	s->email = (char *)email;
	s->ctx.consent = checked;
	s->ctx.n_consent = n;
}

/* What find/forget gave: "FIELD MESSAGEID" lines. */
static char seen[8192];
/* Calls made while the ledger's lock was held by the caller (a reader that
 * prints into a pipe nobody reads would hold up every worker). */
static int under_lock;

static int lock_fd(void)
{
	char p[SPOOL_PATH_MAX];

	snprintf(p, sizeof p, "%s/consent/lock", spool);
	return open(p, O_RDWR | O_CLOEXEC);
}

static void collect(void *ud, const cJSON *r)
{
	size_t o = strlen(seen);
	int fd = lock_fd();

	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0)
		under_lock++;
	if (fd >= 0)
		close(fd);
	(void)ud;
	snprintf(seen + o, sizeof seen - o, "%s %s\n",
	         cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "field")),
	         cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "messageId")));
}

static size_t find(struct consent_ledger *l, const char *email, size_t *bad)
{
	size_t n = 0;

	seen[0] = '\0';
	T(consent_find(l, email, collect, NULL, &n, bad) == CONSENT_OK, "find %s: %s", email, l->why);
	return n;
}

/* The month's first file. */
static void month_file(char *out, size_t size)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	snprintf(out, size, "%s/consent/%04d-%02d.jsonl", spool, tm.tm_year + 1900, tm.tm_mon + 1);
}

static size_t count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;
	int c;

	while (f && (c = getc(f)) != EOF)
		n += c == '\n';
	if (f)
		fclose(f);
	return n;
}

static void test_give_and_find(struct consent_ledger *l)
{
	struct submission s;
	char path[SPOOL_PATH_MAX], line[1024];
	struct stat st;
	size_t bad;
	FILE *f;

	T(find(l, "ann@example.com", &bad) == 0 && bad == 0, "a ledger never written: none");
	sub_of(&s, "ann@example.com", 2, '1');
	T(consent_give(l, &s) == CONSENT_OK, "given: %s", l->why);
	month_file(path, sizeof path);
	T(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "the month's file, mode 0600");
	T(count_lines(path) == 2, "one line per box");
	f = fopen(path, "r");
	T(f && fgets(line, sizeof line, f), "readable");
	T_STREQ(line, "{\"time\":\"2026-12-03T04:05:06.789Z\",\"form\":\"newsletter\",\"userId\":"
	        "\"u-1\",\"email\":\"ann@example.com\",\"text\":\"I agree to the \\\"terms\\\"\","
	        "\"field\":\"agree\",\"trait\":\"terms\",\"messageId\":"
	        "\"00000000-0000-4000-8000-000000000001\"}\n", "every member, one line");
	if (f)
		fclose(f);
	T(find(l, "ANN@Example.COM", &bad) == 2 && bad == 0, "found ignoring case");
	T_STREQ(seen, "agree 00000000-0000-4000-8000-000000000001\n"
	        "news 00000000-0000-4000-8000-000000000001\n", "in order");
	T(find(l, "bob@example.com", NULL) == 0, "nobody else's");
	sub_of(&s, "ann@example.com", 0, '2');
	T(consent_give(l, &s) == CONSENT_OK && count_lines(path) == 2, "no box: nothing written");
}

static void test_void(struct consent_ledger *l)
{
	struct submission s;

	sub_of(&s, "bob@example.com", 1, '3');
	T(consent_give(l, &s) == CONSENT_OK, "bob's given");
	T(find(l, "bob@example.com", NULL) == 1, "counted");
	T(consent_void(l, &s, time(NULL)) == CONSENT_OK, "voided");
	T(find(l, "bob@example.com", NULL) == 0, "a voided record does not count");
	T(find(l, "ann@example.com", NULL) == 2, "ann's still do");
	sub_of(&s, "bob@example.com", 1, '4');
	T(consent_give(l, &s) == CONSENT_OK && find(l, "bob@example.com", NULL) == 1,
	  "a void is of one message only");
}

/* A crash mid-append leaves a torn line: the next record still reads, and
 * the torn one is counted as bad. */
static void test_torn(struct consent_ledger *l)
{
	char path[SPOOL_PATH_MAX];
	struct submission s;
	size_t bad, n;
	FILE *f;

	month_file(path, sizeof path);
	f = fopen(path, "a");
	fputs("{\"time\":\"x\",\"email\":\"carl@example.com\",\"te", f);
	fclose(f);
	sub_of(&s, "carl@example.com", 1, '5');
	T(consent_give(l, &s) == CONSENT_OK, "appended after a torn line");
	n = find(l, "carl@example.com", &bad);
	T(n == 1 && bad == 1, "the record reads; the torn one is bad (%zu, %zu)", n, bad);
	/* A record with more after it, short or over the limit, is no record. */
	f = fopen(path, "a");
	fputs("{\"time\":\"t\",\"form\":\"f\",\"userId\":\"u\",\"email\":\"carl@example.com\","
	      "\"text\":\"x\",\"field\":\"f\",\"trait\":\"t\",\"messageId\":\"m\"} more\n", f);
	fputs("{\"time\":\"t\",\"form\":\"f\",\"userId\":\"u\",\"email\":\"carl@example.com\","
	      "\"text\":\"x\",\"field\":\"f\",\"trait\":\"t\",\"messageId\":\"m\"}", f);
	for (int i = 0; i < (int)CONSENT_MAX_RECORD; i++)
		putc(' ', f);
	fputs("x\n", f);
	fclose(f);
	n = find(l, "carl@example.com", &bad);
	T(n == 1 && bad == 3, "trailing text, a line over the limit: bad (%zu, %zu)", n, bad);
}

static void test_limits(struct consent_ledger *l)
{
	struct map_field big = boxes[0];
	const struct map_field *one[1] = { &big };
	char *text = malloc(CONSENT_MAX_RECORD);
	struct submission s;

	memset(text, '"', CONSENT_MAX_RECORD / 2);   /* escaped: twice as long */
	text[CONSENT_MAX_RECORD / 2] = '\0';
	big.consent = text;
	sub_of(&s, "dan@example.com", 1, '6');
	s.ctx.consent = one;
	T(consent_give(l, &s) == CONSENT_ETOOBIG, "a record over the limit is refused");
	T(find(l, "dan@example.com", NULL) == 0, "and nothing of it is written");
	free(text);
}

/* Appenders in several processes: every line whole. */
static void test_concurrent(struct consent_ledger *l)
{
	enum { PROCS = 8, EACH = 25 };
	pid_t pids[PROCS];
	size_t bad;
	int ok = 0;

	for (int p = 0; p < PROCS; p++) {
		if ((pids[p] = fork()) == 0) {
			struct submission s;
			int rc = 0;

			for (int i = 0; i < EACH; i++) {
				sub_of(&s, "many@example.com", 2, (char)('a' + p % 6));
				rc |= consent_give(l, &s) != CONSENT_OK;
			}
			_exit(rc);
		}
	}
	for (int p = 0; p < PROCS; p++) {
		int st;

		ok += waitpid(pids[p], &st, 0) == pids[p] && WIFEXITED(st) && WEXITSTATUS(st) == 0;
	}
	T(ok == PROCS, "every appender succeeded");
	T(find(l, "many@example.com", &bad) == PROCS * EACH * 2, "every record whole");
	T(bad == 3, "no bad line but those made on purpose (got %zu)", bad);
}

static void test_forget(struct consent_ledger *l)
{
	char path[SPOOL_PATH_MAX], dir[SPOOL_PATH_MAX];
	size_t n = 99, torn = 99, before, bad;
	struct dirent *de;
	int fd;
	DIR *d;
	FILE *f;

	month_file(path, sizeof path);
	/* Torn lines: bob's (in another case) goes; jimbob's and a longer
	 * address's hold bob@example.com but not as their email. */
	f = fopen(path, "a");
	fputs("{\"time\":\"x\",\"email\":\"jimbob@example.com\",\"te\n", f);
	fputs("{\"time\":\"x\",\"email\":\"Bob@Example.com\",\"te\n", f);
	fputs("{\"time\":\"x\",\"email\":\"bob@example.com.evil\",\"te\n", f);
	fclose(f);
	before = count_lines(path);
	seen[0] = '\0';
	under_lock = 0;
	T(consent_forget(l, "BOB@example.com", collect, NULL, &n, &torn) == CONSENT_OK, "forget bob");
	T(n == 2 && torn == 1, "two records and one torn line of bob (got %zu, %zu)", n, torn);
	T_STREQ(seen, "agree 00000000-0000-4000-8000-000000000003\n"
	        "agree 00000000-0000-4000-8000-000000000004\n", "each said once it went");
	T(under_lock == 0, "with the lock dropped (%d calls under it)", under_lock);
	T(count_lines(path) == before - 4, "his records, his void line, his torn line gone");
	T(find(l, "bob@example.com", NULL) == 0, "none left");
	T(find(l, "ann@example.com", &bad) == 2, "ann's stay");
	T(bad == 5, "carl's three bad lines, jimbob's and the longer address's stay (got %zu)", bad);
	T(find(l, "many@example.com", NULL) == 400, "others' stay");
	T(consent_forget(l, "carl@example.com", collect, NULL, &n, &torn) == CONSENT_OK && n == 1 &&
	  torn == 3, "carl's record and his three bad lines (got %zu, %zu)", n, torn);
	T(find(l, "carl@example.com", &bad) == 0 && bad == 2, "the others' torn lines stay");
	/* Nothing of nobody's: the exclusive lock is not needed, so a reader
	 * holding the shared one does not hold forget up. */
	fd = lock_fd();
	T(fd >= 0 && flock(fd, LOCK_SH) == 0, "a reader's lock");
	T(consent_forget(l, "nobody@example.com", collect, NULL, &n, &torn) == CONSENT_OK && n == 0 &&
	  torn == 0, "nobody: nothing, beside a reader");
	close(fd);
	snprintf(dir, sizeof dir, "%s/consent", spool);
	d = opendir(dir);
	n = 0;
	while (d && (de = readdir(d)))
		n += de->d_name[0] == '.' && strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	if (d)
		closedir(d);
	T(n == 0, "no temporary file left");
	T(consent_forget(l, "ann@example.com", collect, NULL, &n, &torn) == CONSENT_OK &&
	  consent_forget(l, "many@example.com", collect, NULL, &n, &torn) == CONSENT_OK &&
	  consent_forget(l, "jimbob@example.com", collect, NULL, &n, &torn) == CONSENT_OK &&
	  consent_forget(l, "bob@example.com.evil", collect, NULL, &n, &torn) == CONSENT_OK,
	  "everybody forgotten");
	T(access(path, F_OK) != 0, "an emptied file is removed");
}

static double since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* A lock held elsewhere (a stuck reader): a worker gives up after about
 * CONSENT_LOCK_WAIT_MS instead of waiting for ever; a reader's find tells
 * of its records with the lock dropped. */
static void test_busy(struct consent_ledger *l)
{
	struct timespec t0;
	struct submission s;
	size_t n;
	double took;
	int fd;

	sub_of(&s, "fay@example.com", 1, '8');
	T(consent_give(l, &s) == CONSENT_OK, "fay's given");
	under_lock = 0;
	T(find(l, "fay@example.com", NULL) == 1 && under_lock == 0,
	  "find tells with the lock dropped (%d calls under it)", under_lock);
	fd = lock_fd();
	T(fd >= 0 && flock(fd, LOCK_EX) == 0, "the lock held elsewhere");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	T(consent_give(l, &s) == CONSENT_EBUSY, "a worker gives up: %s", l->why);
	took = since(&t0);
	T(took >= CONSENT_LOCK_WAIT_MS / 1000.0 && took < 30, "after the wait (%.2f s)", took);
	T(strstr(l->why, "held by another process") != NULL, "said why: %s", l->why);
	T(consent_void(l, &s, time(NULL)) == CONSENT_EBUSY, "a void line too");
	close(fd);
	T(consent_find(l, "fay@example.com", collect, NULL, &n, NULL) == CONSENT_OK && n == 1,
	  "nothing more written");
	T(consent_forget(l, "fay@example.com", collect, NULL, &n, &(size_t){ 0 }) == CONSENT_OK,
	  "fay forgotten");
}

/* An append whose write went but whose flush failed, and that could not be
 * cut off again (fdatasync and ftruncate fail, by a seccomp filter in a
 * child): its records stay, so a void line follows them. */
static void test_uncut(struct consent_ledger *l)
{
	pid_t pid;
	int st = -1;

	/* Valgrind runs the system calls itself and has no seccomp(). */
	if (RUNNING_ON_VALGRIND) {
		printf("skipped under valgrind: an append that could not be cut off\n");
		return;
	}
	if ((pid = fork()) == 0) {
		scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
		struct submission s;
		enum consent_err e;
		int bad;

		bad = !ctx || seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EIO), SCMP_SYS(fdatasync), 0) ||
		      seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ftruncate), 0) ||
		      seccomp_load(ctx);
		seccomp_release(ctx);
		if (bad)
			_exit(3);
		sub_of(&s, "gil@example.com", 2, '9');
		e = consent_give(l, &s);
		_exit(e == CONSENT_EIO && strstr(l->why, "fdatasync") ? 0 : 4);
	}
	T(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	  "the append fails, and says its own error (%d)", st);
	T(find(l, "gil@example.com", NULL) == 0, "the records left do not count");
	T(consent_forget(l, "gil@example.com", collect, NULL, &(size_t){ 0 },
	                 &(size_t){ 0 }) == CONSENT_OK, "gil forgotten");
}

static void test_unwritable(void)
{
	struct consent_ledger l;
	struct submission s;
	char path[SPOOL_PATH_MAX];

	snprintf(path, sizeof path, "%s/consent", spool);
	T(t_remove_tree(path) && t_write(path, "", 0600), "a file where the ledger goes");
	T(consent_init(&l, spool), "init");
	sub_of(&s, "eve@example.com", 1, '7');
	T(consent_give(&l, &s) == CONSENT_EIO && l.why[0], "unwritable: EIO, said why");
	T(!consent_init(&l, ""), "no spool directory: no ledger");
	unlink(path);
}

int main(void)
{
	struct consent_ledger l;

	if (!mkdtemp(spool))
		return 2;
	alarm(60);    /* a lock waited for wrongly ends the test, not the run */
	T(consent_init(&l, spool), "init");
	test_give_and_find(&l);
	test_void(&l);
	test_torn(&l);
	test_limits(&l);
	test_concurrent(&l);
	test_forget(&l);
	test_busy(&l);
	test_uncut(&l);
	test_unwritable();
	T_STREQ(consent_strerror(CONSENT_ETOOBIG), "over a limit of the consent ledger", "strerror");
	t_remove_tree(spool);
	T_DONE();
}
