/* Tests for consent.c: records written whole and read back, voids, the
 * limits, concurrent appenders, and forget's rewrite. */
#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "consent.h"
#include "t.h"
#include "tfiles.h"

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

static void collect(void *ud, const cJSON *r)
{
	size_t o = strlen(seen);

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
	size_t n = 99, before, bad;
	struct dirent *de;
	DIR *d;

	month_file(path, sizeof path);
	before = count_lines(path);
	seen[0] = '\0';
	T(consent_forget(l, "BOB@example.com", collect, NULL, &n) == CONSENT_OK, "forget bob");
	T(n == 2, "two records of bob (got %zu)", n);
	T_STREQ(seen, "agree 00000000-0000-4000-8000-000000000003\n"
	        "agree 00000000-0000-4000-8000-000000000004\n", "each said before it goes");
	T(count_lines(path) == before - 3, "his records and his void line gone");
	T(find(l, "bob@example.com", NULL) == 0, "none left");
	T(find(l, "ann@example.com", NULL) == 2, "ann's stay");
	T(find(l, "many@example.com", NULL) == 400, "others' stay");
	T(consent_forget(l, "carl@example.com", collect, NULL, &n) == CONSENT_OK && n == 1,
	  "carl's record");
	T(find(l, "carl@example.com", &bad) == 0 && bad == 0, "and his torn line, which held his email");
	T(consent_forget(l, "nobody@example.com", collect, NULL, &n) == CONSENT_OK && n == 0,
	  "nobody: nothing");
	snprintf(dir, sizeof dir, "%s/consent", spool);
	d = opendir(dir);
	n = 0;
	while (d && (de = readdir(d)))
		n += de->d_name[0] == '.' && strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	if (d)
		closedir(d);
	T(n == 0, "no temporary file left");
	T(consent_forget(l, "ann@example.com", collect, NULL, &n) == CONSENT_OK &&
	  consent_forget(l, "many@example.com", collect, NULL, &n) == CONSENT_OK,
	  "everybody forgotten");
	T(access(path, F_OK) != 0, "an emptied file is removed");
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
	T(consent_init(&l, spool), "init");
	test_give_and_find(&l);
	test_void(&l);
	test_torn(&l);
	test_limits(&l);
	test_concurrent(&l);
	test_forget(&l);
	test_unwritable();
	T_STREQ(consent_strerror(CONSENT_ETOOBIG), "over a limit of the consent ledger", "strerror");
	t_remove_tree(spool);
	T_DONE();
}
