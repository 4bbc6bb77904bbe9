/* test_spool.c: the spool's files, names, locks, limits and areas. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "spool.h"
#include "t.h"
#include "tfiles.h"

static char root[256];

static cJSON *message(const char *user, const char *mid, const char *first)
{
	cJSON *m = cJSON_CreateObject();
	cJSON *traits = cJSON_AddObjectToObject(m, "traits");

	cJSON_AddStringToObject(m, "type", "identify");
	cJSON_AddStringToObject(m, "messageId", mid);
	if (user)
		cJSON_AddStringToObject(m, "userId", user);
	cJSON_AddStringToObject(traits, "email", "a@example.com");
	cJSON_AddStringToObject(traits, "firstName", first);
	return m;
}

static void mid_of(unsigned n, char out[37])
{
	snprintf(out, 37, "%08x-0000-4000-8000-%012x", n, n);
}

static int count_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* Adds one waiting submission of `user` accepted at seq; fills *id. */
static enum spool_err add(struct spool *sp, const char *user, unsigned n, uint64_t seq,
                          const char *first, struct spool_id *id)
{
	struct spool_state st = { 0 };
	char mid[37];
	cJSON *m;
	enum spool_err e;

	mid_of(n, mid);
	m = message(user, mid, first);
	e = spool_id_of(m, seq, NULL, id);
	if (e == SPOOL_OK)
		e = spool_add(sp, SPOOL_QUEUE, id, m, NULL, "contact", &st, NULL);
	cJSON_Delete(m);
	return e;
}

static void test_names(void)
{
	struct spool_id id = { 0 }, back;
	char name[SPOOL_NAME_SIZE];
	cJSON *m;

	T(spool_user_hash("") == 0xcbf29ce484222325ull, "FNV-1a of the empty string");
	/* Waiting files carry it in their names: it may never change. */
	T(spool_dest_hash("u-1", "hook") == 0xcbe16c1bd2bd2541ull,
	  "a destination's hash: FNV-1a of userId, NUL, name");
	T(spool_user_hash("a") == 0xaf63dc4c8601ec8cull, "FNV-1a of \"a\"");
	T(spool_user_hash("u-1") != spool_user_hash("u-2"), "different userIds differ");

	id.seq = 1764337000123456789ull;
	id.uhash = 0xab00000000000001ull;
	memcpy(id.mid, "0123abcd-0000-4000-8000-0000000000ff", 37);
	spool_id_name(&id, name);
	T_STREQ(name, "01764337000123456789-ab00000000000001-0123abcd-0000-4000-8000-0000000000ff",
	        "file name");
	T(strlen(name) == 74, "name length");
	T(spool_id_parse(name, &back) && back.seq == id.seq && back.uhash == id.uhash &&
	  strcmp(back.mid, id.mid) == 0 && back.dest[0] == '\0', "name round trip");

	/* Another destination's file: NAME.DEST, its hash that of userId and
	 * name together. */
	memcpy(id.dest, "sales-1", 8);
	spool_id_name(&id, name);
	T_STREQ(name, "01764337000123456789-ab00000000000001-0123abcd-0000-4000-8000-0000000000ff"
	        ".sales-1", "a destination's file name");
	T(spool_id_parse(name, &back) && back.uhash == id.uhash && strcmp(back.dest, "sales-1") == 0,
	  "a destination's name round trip");
	memcpy(id.dest, "abcdefghijklmnopqrstuvwxyz012345", 33);   /* MAP_MAX_DEST_NAME bytes */
	spool_id_name(&id, name);
	T(strlen(name) == SPOOL_NAME_SIZE - 1 && spool_id_parse(name, &back) &&
	  strcmp(back.dest, id.dest) == 0, "the longest destination name fits");
	{
		static const char *const bad[] = { ".", ".Sales", ".-x", ".a b", ".a.b",
		                                   ".abcdefghijklmnopqrstuvwxyz0123456", "x" };

		for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
			char b[SPOOL_NAME_SIZE + 8];

			snprintf(b, sizeof b, "01764337000123456789-ab00000000000001-"
			         "0123abcd-0000-4000-8000-0000000000ff%s", bad[i]);
			T(!spool_id_parse(b, &back), "destination suffix \"%s\" refused", bad[i]);
		}
	}
	T(spool_dest_hash("u-1", "") == spool_user_hash("u-1") &&
	  spool_dest_hash("u-1", NULL) == spool_user_hash("u-1"), "no destination: the userId's hash");
	T(spool_dest_hash("u-1", "hook") != spool_user_hash("u-1") &&
	  spool_dest_hash("u-1", "hook") != spool_dest_hash("u-1", "two") &&
	  spool_dest_hash("u-1", "hook") != spool_dest_hash("u-2", "hook"),
	  "each destination and userId its own hash");
	id.dest[0] = '\0';

	T(!spool_id_parse("", &back), "empty name refused");
	T(!spool_id_parse("1234.tmp", &back), "short name refused");
	name[21] = 'A';
	T(!spool_id_parse(name, &back), "upper-case hash refused");
	spool_id_name(&id, name);
	name[0] = 'x';
	T(!spool_id_parse(name, &back), "non-digit seq refused");
	spool_id_name(&id, name);
	name[38 + 8] = 'x';
	T(!spool_id_parse(name, &back), "bad messageId refused");
	T(!spool_id_parse("99999999999999999999-ab00000000000001-0123abcd-0000-4000-8000-0000000000ff",
	                  &back), "seq over 64 bits refused");

	m = message("u-1", "0123abcd-0000-4000-8000-0000000000ff", "Ann");
	T(spool_id_of(m, 5, NULL, &back) == SPOOL_OK && back.seq == 5 &&
	  back.uhash == spool_user_hash("u-1"), "id of a message");
	cJSON_Delete(m);
	m = message(NULL, "0123abcd-0000-4000-8000-0000000000ff", "Ann");
	T(spool_id_of(m, 5, NULL, &back) == SPOOL_EINVAL, "no userId: refused");
	cJSON_Delete(m);
	m = message("", "0123abcd-0000-4000-8000-0000000000ff", "Ann");
	T(spool_id_of(m, 5, NULL, &back) == SPOOL_EINVAL, "empty userId: refused");
	cJSON_Delete(m);
	m = message("u-1", "../../etc/passwd-0000-4000-8000-0000", "Ann");
	T(spool_id_of(m, 5, NULL, &back) == SPOOL_EINVAL, "messageId that is not a UUID: refused");
	cJSON_Delete(m);
}

static void test_dir_of(void)
{
	struct map_settings s = { 0 };
	char out[64];

	unsetenv("FMGATE_SPOOL");
	T(spool_dir_of(NULL, out, sizeof out) && strcmp(out, "/var/spool/fmgate") == 0, "default");
	s.spool_dir = "/srv/spool";
	T(spool_dir_of(&s, out, sizeof out) && strcmp(out, "/srv/spool") == 0, "mapping's");
	setenv("FMGATE_SPOOL", "/env/spool", 1);
	T(spool_dir_of(&s, out, sizeof out) && strcmp(out, "/env/spool") == 0, "environment first");
	setenv("FMGATE_SPOOL", "", 1);
	T(spool_dir_of(&s, out, sizeof out) && strcmp(out, "/srv/spool") == 0,
	  "an empty FMGATE_SPOOL counts as unset, as for the workers");
	setenv("FMGATE_SPOOL", "/env/spool", 1);
	T(!spool_dir_of(&s, out, 4), "too long for the buffer");
	unsetenv("FMGATE_SPOOL");
}

static void test_add_read(void)
{
	struct spool sp;
	struct spool_id id, id2;
	struct spool_item it;
	struct spool_state st = { 3, 1900000000LL, "retry http=503 Injected fault" };
	char dir[300], p[600], name[SPOOL_NAME_SIZE];
	struct stat sb;
	cJSON *m;

	snprintf(dir, sizeof dir, "%s/a", root);
	spool_init(&sp, dir, 0, 0);
	T(sp.max_files == SPOOL_DEFAULT_MAX_FILES && sp.max_age_days == SPOOL_DEFAULT_MAX_AGE_DAYS,
	  "defaults for 0");
	T(spool_user_waiting(&sp, spool_user_hash("u-1"), UINT64_MAX) == 0,
	  "a spool never written to has nothing waiting");

	m = message("u-1", "00000001-0000-4000-8000-000000000001", "Ann");
	T(spool_id_of(m, 1000, NULL, &id) == SPOOL_OK, "id");
	T(spool_add(&sp, SPOOL_QUEUE, &id, m, NULL, "contact", &st, NULL) == SPOOL_EIO,
	  "no spool directory: EIO");
	T(strstr(sp.why, "No such file or directory") != NULL, "why: %s", sp.why);
	T(stat(dir, &sb) != 0, "the directory is not made");
	T(mkdir(dir, 0700) == 0, "mkdir");
	T(spool_add(&sp, SPOOL_QUEUE, &id, m, NULL, "contact", &st, NULL) == SPOOL_OK, "add: %s", sp.why);
	snprintf(p, sizeof p, "%s/queue", dir);
	T(stat(p, &sb) == 0 && (sb.st_mode & 0777) == 0700, "layout made 0700");
	spool_id_name(&id, name);
	snprintf(p, sizeof p, "%s/queue/%02x/%s", dir, (unsigned)(id.uhash >> 56), name);
	T(stat(p, &sb) == 0 && (sb.st_mode & 0777) == 0600, "file 0600 in its bucket");
	T((long long)sb.st_mtime == 1900000000LL, "mtime is the next attempt");
	snprintf(p, sizeof p, "%s/queue/%02x", dir, (unsigned)(id.uhash >> 56));
	T(count_dir(p) == 1, "no temporary file left beside it");
	snprintf(p, sizeof p, "%s/lock", dir);
	T(stat(p, &sb) == 0, "lock file made");

	T(spool_read(&sp, SPOOL_QUEUE, &id, &it) == SPOOL_OK, "read back: %s", sp.why);
	T_STREQ(it.form, "contact", "form kept");
	T(it.st.attempts == 3 && it.st.next_attempt == 1900000000LL, "state kept");
	T_STREQ(it.st.last_error, "retry http=503 Injected fault", "last error kept");
	T_STREQ(it.reason, "", "no reason while waiting");
	T(cJSON_Compare(it.identify, m, true), "identify message kept as it was");
	spool_item_free(&it);
	T(spool_read(&sp, SPOOL_DEAD, &id, &it) == SPOOL_ENOENT, "not in the dead area");

	/* a file whose content does not belong to its name */
	id2 = id;
	id2.seq = 999;
	spool_id_name(&id2, name);
	snprintf(p, sizeof p, "%s/queue/%02x/%s", dir, (unsigned)(id.uhash >> 56), name);
	{
		char from[600], n1[SPOOL_NAME_SIZE];
		spool_id_name(&id, n1);
		snprintf(from, sizeof from, "%s/queue/%02x/%s", dir, (unsigned)(id.uhash >> 56), n1);
		T(link(from, p) == 0, "link");
	}
	id2.uhash ^= 1;  /* same bucket, another userId hash */
	spool_id_name(&id2, name);
	{
		char q[600];
		snprintf(q, sizeof q, "%s/queue/%02x/%s", dir, (unsigned)(id.uhash >> 56), name);
		T(rename(p, q) == 0, "rename");
		T(spool_read(&sp, SPOOL_QUEUE, &id2, &it) == SPOOL_ECORRUPT,
		  "a name that does not match the message: corrupt");
		FILE *f = fopen(q, "w");
		fputs("{not json", f);
		fclose(f);
		T(spool_read(&sp, SPOOL_QUEUE, &id2, &it) == SPOOL_ECORRUPT, "garbage: corrupt");
		unlink(q);
	}
	cJSON_Delete(m);
}

static void test_order(void)
{
	struct spool sp;
	struct spool_id a1, a2, b1, c;
	struct spool_list l;
	char dir[300];
	uint64_t ua = spool_user_hash("u-a");

	snprintf(dir, sizeof dir, "%s/order", root);
	mkdir(dir, 0700);
	spool_init(&sp, dir, 0, 0);
	T(add(&sp, "u-a", 1, 300, "A1", &a1) == SPOOL_OK, "add a1");
	T(add(&sp, "u-b", 2, 100, "B1", &b1) == SPOOL_OK, "add b1");
	T(add(&sp, "u-a", 3, 500, "A2", &a2) == SPOOL_OK, "add a2");
	T(add(&sp, "u-c", 4, 200, "C1", &c) == SPOOL_OK, "add c");

	T(spool_list(&sp, SPOOL_QUEUE, -1, true, &l) == SPOOL_OK && l.n == 4, "list all");
	T(l.n == 4 && l.v[0].id.seq == 100 && l.v[1].id.seq == 200 && l.v[2].id.seq == 300 &&
	  l.v[3].id.seq == 500, "sorted by acceptance across buckets");
	T(l.n == 4 && l.v[0].mtime > 0, "times listed");
	spool_list_free(&l);
	T(spool_list(&sp, SPOOL_QUEUE, (int)(ua >> 56), false, &l) == SPOOL_OK, "list a bucket");
	{
		size_t mine = 0;
		for (size_t i = 0; i < l.n; i++)
			mine += l.v[i].id.uhash == ua;
		T(mine == 2, "both of u-a in its bucket");
	}
	spool_list_free(&l);

	T(spool_user_waiting(&sp, ua, UINT64_MAX) == 1, "u-a has one waiting");
	T(spool_user_waiting(&sp, ua, 300) == 0, "nothing of u-a before its first");
	T(spool_user_waiting(&sp, ua, 301) == 1, "its first is before 301");
	T(spool_user_waiting(&sp, spool_user_hash("u-z"), UINT64_MAX) == 0, "u-z has none");
}

/* A spool nothing was ever spooled to (every submission delivered, no
 * drain): the first order check fills the shared table, and from then on
 * the table answers, not the directory. */
static void test_first_fill(void)
{
	struct spool sp, other;
	struct spool_id a, b = { .seq = 700, .uhash = spool_user_hash("u-b") };
	char dir[300], name[SPOOL_NAME_SIZE], path[700];
	FILE *f;

	snprintf(dir, sizeof dir, "%s/fill", root);
	mkdir(dir, 0700);
	spool_init(&sp, dir, 0, 0);
	T(spool_prepare(&sp) == SPOOL_OK, "prepared");
	T(spool_user_waiting(&sp, b.uhash, UINT64_MAX) == 0 && sp.recounted, "u-b: none, table filled");
	snprintf(path, sizeof path, "%s/count", dir);
	T(access(path, F_OK) != 0, "an order check stores no count");
	T(add(&sp, "u-a", 1, 600, "A1", &a) == SPOOL_OK, "add a1");
	/* A file of u-b put in by hand is not counted: only the table answers. */
	mid_of(9, b.mid);
	spool_id_name(&b, name);
	snprintf(path, sizeof path, "%s/queue/%02x/%s", dir, (unsigned)(b.uhash >> 56), name);
	f = fopen(path, "w");
	T(f && fclose(f) == 0, "a file by hand");
	T(spool_user_waiting(&sp, b.uhash, UINT64_MAX) == 0, "the table answers, not the directory");
	T(spool_user_waiting(&sp, a.uhash, UINT64_MAX) == 1, "u-a counted: waiting");
	/* Another process's first check finds the table filled: no recount. */
	spool_init(&other, dir, 0, 0);
	T(spool_user_waiting(&other, b.uhash, UINT64_MAX) == 0 && !other.recounted,
	  "a filled table is not filled again");
	spool_init(&other, dir, 0, 0);
	T(spool_user_waiting(&other, a.uhash, UINT64_MAX) == 1 && !other.recounted,
	  "nor when the slot is not zero: the directory answers");
	unlink(path);
}

static void test_locks(void)
{
	struct spool sp;
	struct spool_lock a = { -1 }, a2 = { -1 }, b = { -1 };
	struct spool_stats s;
	struct spool_id id;
	char dir[300];
	uint64_t ua = spool_user_hash("u-a"), ub = spool_user_hash("u-b");
	int pfd[2];
	pid_t pid;
	char c;

	snprintf(dir, sizeof dir, "%s/locks", root);
	mkdir(dir, 0700);
	spool_init(&sp, dir, 0, 0);
	T(spool_lock_user(&sp, ua, &a) == SPOOL_OK, "lock u-a (makes the layout)");
	T(spool_lock_user(&sp, ua, &a2) == SPOOL_EBUSY && a2.fd == -1, "u-a again: busy");
	T(spool_lock_user(&sp, ub, &b) == SPOOL_OK, "u-b: free");
	T(add(&sp, "u-a", 1, 10, "A", &id) == SPOOL_OK, "add u-a");
	T(add(&sp, "u-c", 2, 20, "C", &id) == SPOOL_OK, "add u-c");
	T(add(&sp, "u-c", 3, 30, "C", &id) == SPOOL_OK, "add u-c again");
	T(spool_stats(&sp, &s) == SPOOL_OK && s.waiting == 3 && s.in_flight == 1,
	  "stats: 3 waiting, u-a in flight (%zu, %zu)", s.waiting, s.in_flight);
	spool_unlock(&a);
	spool_unlock(&b);
	T(a.fd == -1, "unlocked");
	T(spool_stats(&sp, &s) == SPOOL_OK && s.in_flight == 0, "nothing in flight after unlock");
	T(spool_lock_user(&sp, ua, &a) == SPOOL_OK, "u-a free again");
	spool_unlock(&a);

	/* a claim dies with its process */
	T(pipe(pfd) == 0, "pipe");
	pid = fork();
	if (pid == 0) {
		struct spool_lock k;
		if (spool_lock_user(&sp, spool_user_hash("u-c"), &k) != SPOOL_OK)
			_exit(1);
		if (write(pfd[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	T(read(pfd[0], &c, 1) == 1, "child holds u-c");
	T(spool_lock_user(&sp, spool_user_hash("u-c"), &a) == SPOOL_EBUSY, "u-c busy while it lives");
	T(spool_stats(&sp, &s) == SPOOL_OK && s.in_flight == 1,
	  "u-c counted once in flight though two wait (%zu)", s.in_flight);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	T(spool_lock_user(&sp, spool_user_hash("u-c"), &a) == SPOOL_OK, "free once the child is killed");
	spool_unlock(&a);
	close(pfd[0]);
	close(pfd[1]);
	T(spool_stats(&sp, &s) == SPOOL_OK && s.oldest_s > 1000, "oldest age (seq 10 is old)");
}

static void test_lifecycle(void)
{
	struct spool sp;
	struct spool_id id, id2, id3;
	struct spool_item it;
	struct spool_stats s;
	char dir[300], p[600], name[SPOOL_NAME_SIZE];
	struct stat sb;
	size_t n;

	snprintf(dir, sizeof dir, "%s/life", root);
	mkdir(dir, 0700);
	spool_init(&sp, dir, 0, 0);
	T(add(&sp, "u-1", 1, spool_seq_now(), "One", &id) == SPOOL_OK, "add");
	T(add(&sp, "u-2", 2, spool_seq_now(), "Two", &id2) == SPOOL_OK, "add 2");
	T(add(&sp, "u-3", 3, spool_seq_now(), "Three", &id3) == SPOOL_OK, "add 3");
	spool_id_name(&id, name);
	snprintf(p, sizeof p, "%s/queue/%02x/%s", dir, (unsigned)(id.uhash >> 56), name);

	T(spool_mark(&sp, &id, 2000000000LL) == SPOOL_OK && stat(p, &sb) == 0 &&
	  (long long)sb.st_mtime == 2000000000LL, "mark sets the mtime");

	T(spool_read(&sp, SPOOL_QUEUE, &id, &it) == SPOOL_OK, "read");
	it.st.attempts = 2;
	it.st.next_attempt = 1800000000LL;
	snprintf(it.st.last_error, sizeof it.st.last_error, "retry http=0 timeout");
	T(spool_reschedule(&sp, &it) == SPOOL_OK, "reschedule");
	spool_item_free(&it);
	T(stat(p, &sb) == 0 && (long long)sb.st_mtime == 1800000000LL && (sb.st_mode & 0777) == 0600,
	  "rescheduled: mtime is the next attempt, still 0600");
	T(spool_read(&sp, SPOOL_QUEUE, &id, &it) == SPOOL_OK && it.st.attempts == 2 &&
	  strcmp(it.st.last_error, "retry http=0 timeout") == 0, "new state read back");

	T(spool_bury(&sp, &it, "rejected http=422 Injected fault") == SPOOL_OK, "bury");
	spool_item_free(&it);
	T(stat(p, &sb) != 0, "gone from the queue");
	T(spool_read(&sp, SPOOL_DEAD, &id, &it) == SPOOL_OK &&
	  strcmp(it.reason, "rejected http=422 Injected fault") == 0 && it.st.attempts == 2,
	  "dead with its reason and state");
	spool_item_free(&it);

	T(spool_remove(&sp, &id2) == SPOOL_OK, "remove a delivered one");
	T(spool_remove(&sp, &id2) == SPOOL_ENOENT, "removing twice: gone");
	T(spool_stats(&sp, &s) == SPOOL_OK && s.waiting == 1 && s.dead == 1, "stats: 1 waiting, 1 dead");

	/* requeue */
	T(spool_requeue_dead(&sp, "ffffffff-0000-4000-8000-000000000000", NULL, &n) == SPOOL_ENOENT && n == 0,
	  "requeue of an unknown id: none");
	T(spool_requeue_dead(&sp, id.mid, NULL, &n) == SPOOL_OK && n == 1, "requeue by messageId");
	T(stat(p, &sb) == 0, "back in the queue under its name");
	T(spool_read(&sp, SPOOL_QUEUE, &id, &it) == SPOOL_OK && it.st.attempts == 0 &&
	  it.st.next_attempt == 0 && it.reason[0] == '\0', "with a fresh state");
	T(spool_bury(&sp, &it, "again") == SPOOL_OK, "bury again");
	spool_item_free(&it);
	spool_id_name(&id, name);
	T(spool_requeue_dead(&sp, name, NULL, &n) == SPOOL_OK && n == 1, "requeue by file name");
	T(spool_read(&sp, SPOOL_QUEUE, &id, &it) == SPOOL_OK, "read");
	T(spool_bury(&sp, &it, "again") == SPOOL_OK, "bury again");
	spool_item_free(&it);
	T(spool_read(&sp, SPOOL_QUEUE, &id3, &it) == SPOOL_OK, "read 3");
	T(spool_bury(&sp, &it, "three") == SPOOL_OK, "bury 3");
	spool_item_free(&it);
	T(spool_requeue_dead(&sp, NULL, NULL, &n) == SPOOL_OK && n == 2, "requeue all");
	T(spool_stats(&sp, &s) == SPOOL_OK && s.waiting == 2 && s.dead == 0, "both waiting");

	/* Another destination of message 1, dead beside its contact: counted
	 * apart, and requeued alone by name. */
	{
		struct spool_state fresh = { 0 };
		struct spool_id hid;
		char mid[37];
		cJSON *m;

		mid_of(1, mid);
		m = message("u-a", mid, "Ann");
		T(spool_id_of(m, id.seq, "hook", &hid) == SPOOL_OK && strcmp(hid.dest, "hook") == 0 &&
		  spool_add(&sp, SPOOL_DEAD, &hid, m, NULL, "contact", &fresh, "rejected http=410") ==
		  SPOOL_OK, "a webhook's dead file");
		T(spool_id_of(m, 1, "Bad name", &hid) == SPOOL_EINVAL, "a name that is no destination's");
		cJSON_Delete(m);
		T(spool_read(&sp, SPOOL_QUEUE, &id, &it) == SPOOL_OK && spool_bury(&sp, &it, "c") == SPOOL_OK,
		  "its contact dead too");
		spool_item_free(&it);
		T(spool_stats(&sp, &s) == SPOOL_OK && s.dead == 2 && s.n_dests == 2 &&
		  s.by_dest[0].dest[0] == '\0' && s.by_dest[0].waiting == 1 && s.by_dest[0].dead == 1 &&
		  strcmp(s.by_dest[1].dest, "hook") == 0 && s.by_dest[1].waiting == 0 &&
		  s.by_dest[1].dead == 1, "stats by destination");
		T(spool_requeue_dead(&sp, NULL, "two", &n) == SPOOL_ENOENT && n == 0,
		  "requeue --to a name with nothing dead: none");
		T(spool_requeue_dead(&sp, id.mid, "hook", &n) == SPOOL_OK && n == 1,
		  "requeue of one destination");
		T(spool_stats(&sp, &s) == SPOOL_OK && s.by_dest[0].dead == 1 && s.by_dest[1].dead == 0 &&
		  s.by_dest[1].waiting == 1, "the contact stays dead");
		T(spool_read(&sp, SPOOL_QUEUE, &hid, &it) == SPOOL_OK && spool_bury(&sp, &it, "h") ==
		  SPOOL_OK, "bury the webhook's again");
		spool_item_free(&it);
		T(spool_requeue_dead(&sp, NULL, "freshmarketer", &n) == SPOOL_OK && n == 1 &&
		  spool_stats(&sp, &s) == SPOOL_OK && s.by_dest[1].dead == 1 && s.by_dest[0].dead == 0,
		  "requeue --to freshmarketer: the contact's alone");
		T(spool_purge_dead(&sp, 0, &n) == SPOOL_OK && n == 1, "purge the webhook's");
	}

	/* purge */
	T(spool_read(&sp, SPOOL_QUEUE, &id, &it) == SPOOL_OK && spool_bury(&sp, &it, "x") == SPOOL_OK,
	  "bury 1");
	spool_item_free(&it);
	T(spool_read(&sp, SPOOL_QUEUE, &id3, &it) == SPOOL_OK && spool_bury(&sp, &it, "x") == SPOOL_OK,
	  "bury 3");
	spool_item_free(&it);
	{
		struct timespec t[2] = { { 0, UTIME_OMIT }, { time(NULL) - 10 * 86400, 0 } };
		spool_id_name(&id, name);
		snprintf(p, sizeof p, "%s/dead/%s", dir, name);
		T(utimensat(AT_FDCWD, p, t, 0) == 0, "age a dead file");
	}
	T(spool_purge_dead(&sp, 30LL * 86400, &n) == SPOOL_OK && n == 0, "none older than 30 days");
	T(spool_purge_dead(&sp, 5LL * 86400, &n) == SPOOL_OK && n == 1, "one older than 5 days");
	T(spool_purge_dead(&sp, 0, &n) == SPOOL_OK && n == 1, "purge all: the other");
	T(spool_stats(&sp, &s) == SPOOL_OK && s.dead == 0 && s.waiting == 0, "empty");
	T(spool_recount(&sp, &n) == SPOOL_OK && n == 0, "recount agrees");
}

static void test_limits(void)
{
	struct spool sp;
	struct spool_id id[4];
	char dir[300], p[600];
	size_t n;
	FILE *f;

	snprintf(dir, sizeof dir, "%s/full", root);
	mkdir(dir, 0700);
	spool_init(&sp, dir, 3, 0);
	T(add(&sp, "u-1", 1, 1, "x", &id[0]) == SPOOL_OK, "1 of 3");
	T(add(&sp, "u-2", 2, 2, "x", &id[1]) == SPOOL_OK, "2 of 3");
	T(add(&sp, "u-3", 3, 3, "x", &id[2]) == SPOOL_OK, "3 of 3");
	T(add(&sp, "u-4", 4, 4, "x", &id[3]) == SPOOL_EFULL, "4th: over max-files");
	T(strstr(sp.why, "max-files is 3") != NULL, "why says so: %s", sp.why);
	T(spool_remove(&sp, &id[0]) == SPOOL_OK, "one delivered");
	T(add(&sp, "u-4", 4, 4, "x", &id[3]) == SPOOL_OK, "room again");
	/* a count drifted upwards (a crash) is corrected, not obeyed */
	snprintf(p, sizeof p, "%s/count", dir);
	f = fopen(p, "w");
	fprintf(f, "%020d\n", 50);
	fclose(f);
	T(spool_remove(&sp, &id[1]) == SPOOL_OK, "remove");
	T(add(&sp, "u-5", 5, 5, "x", &id[1]) == SPOOL_OK, "a drifted count is recounted");
	T(spool_recount(&sp, &n) == SPOOL_OK && n == 3, "recount: 3 (%zu)", n);
	f = fopen(p, "w");
	fputs("garbage", f);
	fclose(f);
	T(add(&sp, "u-6", 6, 6, "x", &id[0]) == SPOOL_EFULL, "garbage count: recounted, full");

	/* the dead area counts too */
	spool_init(&sp, dir, 4, 0);
	{
		struct spool_item it;
		T(spool_read(&sp, SPOOL_QUEUE, &id[1], &it) == SPOOL_OK &&
		  spool_bury(&sp, &it, "r") == SPOOL_OK, "bury one");
		spool_item_free(&it);
	}
	T(add(&sp, "u-6", 6, 6, "x", &id[0]) == SPOOL_OK, "4 of 4 (one dead)");
	T(add(&sp, "u-7", 7, 7, "x", &id[0]) == SPOOL_EFULL, "5 of 4: full");
}

static void test_unwritable(void)
{
	struct spool sp;
	struct spool_id id;
	struct spool_lock lk;
	struct spool_stats s;
	char p[300];
	FILE *f;

	/* a file where the directory should be */
	snprintf(p, sizeof p, "%s/notadir", root);
	f = fopen(p, "w");
	fputs("x", f);
	fclose(f);
	spool_init(&sp, p, 0, 0);
	T(add(&sp, "u-1", 1, 1, "x", &id) == SPOOL_EIO, "a file in place of the spool: EIO");
	T(sp.why[0] != '\0', "with a reason: %s", sp.why);
	T(spool_lock_user(&sp, 1, &lk) == SPOOL_EIO && lk.fd == -1, "no lock");
	T(spool_user_waiting(&sp, 1, UINT64_MAX) == 0, "nothing waiting in no spool");
	T(spool_stats(&sp, &s) == SPOOL_EIO, "stats: unreadable");

	/* a parent that does not exist */
	snprintf(p, sizeof p, "%s/missing/spool", root);
	spool_init(&sp, p, 0, 0);
	T(add(&sp, "u-1", 1, 1, "x", &id) == SPOOL_EIO, "missing parent: EIO");
	T(spool_stats(&sp, &s) == SPOOL_EIO, "stats of a missing spool: unreadable");

	/* a path that does not fit */
	{
		char longp[LIMIT_MAX_URL + 10];
		memset(longp, 'a', sizeof longp - 1);
		longp[0] = '/';
		longp[sizeof longp - 1] = '\0';
		spool_init(&sp, longp, 0, 0);
		T(add(&sp, "u-1", 1, 1, "x", &id) == SPOOL_EIO, "path too long: EIO");
	}
}

static void test_tmp(void)
{
	struct spool sp;
	char dir[300], p[600];
	struct timespec t[2] = { { 0, UTIME_OMIT }, { time(NULL) - 7200, 0 } };
	FILE *f;

	snprintf(dir, sizeof dir, "%s/tmpclean", root);
	mkdir(dir, 0700);
	spool_init(&sp, dir, 0, 0);
	T(spool_prepare(&sp) == SPOOL_OK, "prepare");
	T(spool_prepare(&sp) == SPOOL_OK, "prepare twice");
	snprintf(p, sizeof p, "%s/queue", dir);
	T(count_dir(p) == (int)SPOOL_BUCKETS, "256 buckets");
	snprintf(p, sizeof p, "%s/queue/3f/.123.0.456", dir);
	f = fopen(p, "w");
	fclose(f);
	utimensat(AT_FDCWD, p, t, 0);
	snprintf(p, sizeof p, "%s/dead/.123.1.456", dir);
	f = fopen(p, "w");
	fclose(f);
	utimensat(AT_FDCWD, p, t, 0);
	snprintf(p, sizeof p, "%s/queue/00/.124.0.789", dir);
	f = fopen(p, "w");
	fclose(f);
	T(spool_clean_tmp(&sp, 3600) == 2, "only the old leftovers removed");
	T(access(p, F_OK) == 0, "the new one stays");
}

/* What spool_forget said it removed: "AREA MID.DEST" lines; "failed AREA
 * MID.DEST: WHY" for a file it could not read or remove. */
static char forgotten[2048];

static void note_forgotten(void *ud, enum spool_area area, const struct spool_id *id,
                           const char *failure)
{
	size_t o = strlen(forgotten);

	(void)ud;
	snprintf(forgotten + o, sizeof forgotten - o, "%s%s %s.%s%s%s\n", failure ? "failed " : "",
	         area == SPOOL_DEAD ? "dead" : "queue", id->mid, id->dest, failure ? ": " : "",
	         failure ? failure : "");
}

/* A file forget cannot read may be anybody's: it is said, the rest still
 * goes, and only a file that went meanwhile is passed over in silence. */
static void test_forget_unreadable(struct spool *sp, const char *dir)
{
	struct spool_forgot out;
	struct spool_id a3, c1;
	char p[600], name[SPOOL_NAME_SIZE];

	T(add(sp, "u-1", 4, spool_seq_now(), "Four", &a3) == SPOOL_OK, "a's waiting again");
	T(add(sp, "u-3", 5, spool_seq_now(), "Five", &c1) == SPOOL_OK, "another waiting");
	spool_id_name(&c1, name);
	snprintf(p, sizeof p, "%s/queue/%02x/%s", dir, (unsigned)(c1.uhash >> 56), name);
	T(t_write(p, "{\"not\": \"a record\"", 0600), "made unreadable");
	forgotten[0] = '\0';
	T(spool_forget(sp, "a@example.com", note_forgotten, NULL, &out) == SPOOL_OK &&
	  out.removed == 1 && out.failed == 1 && out.busy == 0,
	  "one removed, one failed (%zu, %zu)", out.removed, out.failed);
	T(strstr(forgotten, "queue 00000004-0000-4000-8000-000000000004.\n") != NULL,
	  "a's said removed");
	T(strstr(forgotten, "failed queue 00000005-0000-4000-8000-000000000005.: ") &&
	  strstr(forgotten, "not a spool record"), "the unreadable one said, with why: %s", forgotten);
	T(access(p, F_OK) == 0, "and left where it is");
	unlink(p);
}

/* An erasure request: that email's files in both areas and of every
 * destination go, nobody else's. */
static void test_forget(void)
{
	struct spool_state st = { 0 };
	struct spool_id a1, a2, hook, b1;
	char dir[300], mid[37];
	struct spool_forgot out;
	struct spool sp;
	cJSON *m, *traits;

	snprintf(dir, sizeof dir, "%s/forget", root);
	mkdir(dir, 0700);
	spool_init(&sp, dir, 0, 0);
	T(add(&sp, "u-1", 1, spool_seq_now(), "One", &a1) == SPOOL_OK, "a's waiting");
	mid_of(2, mid);
	m = message("u-1", mid, "Two");
	T(spool_id_of(m, spool_seq_now(), NULL, &a2) == SPOOL_OK &&
	  spool_add(&sp, SPOOL_DEAD, &a2, m, NULL, "contact", &st, "rejected") == SPOOL_OK, "a's dead");
	T(spool_id_of(m, spool_seq_now(), "hook", &hook) == SPOOL_OK &&
	  spool_add_held(&sp, &hook, m, "contact", 0) == SPOOL_OK, "a's hook file");
	cJSON_Delete(m);
	mid_of(3, mid);
	m = message("u-2", mid, "Three");
	traits = cJSON_GetObjectItemCaseSensitive(m, "traits");
	cJSON_ReplaceItemInObject(traits, "email", cJSON_CreateString("b@example.com"));
	T(spool_id_of(m, spool_seq_now(), NULL, &b1) == SPOOL_OK &&
	  spool_add(&sp, SPOOL_QUEUE, &b1, m, NULL, "contact", &st, NULL) == SPOOL_OK, "b's waiting");
	cJSON_Delete(m);
	forgotten[0] = '\0';
	T(spool_forget(&sp, "A@Example.COM", note_forgotten, NULL, &out) == SPOOL_OK &&
	  out.removed == 3 && out.busy == 0 && out.failed == 0,
	  "three of a's files, ignoring case (got %zu)", out.removed);
	T(strstr(forgotten, "queue 00000001-0000-4000-8000-000000000001.\n") &&
	  strstr(forgotten, "queue 00000002-0000-4000-8000-000000000002.hook\n") &&
	  strstr(forgotten, "dead 00000002-0000-4000-8000-000000000002.\n") &&
	  !strstr(forgotten, "00000003"), "each named, b's not");
	{
		struct spool_item it;

		T(spool_read(&sp, SPOOL_QUEUE, &a1, &it) == SPOOL_ENOENT, "a's waiting gone");
		T(spool_read(&sp, SPOOL_DEAD, &a2, &it) == SPOOL_ENOENT, "a's dead gone");
		T(spool_read(&sp, SPOOL_QUEUE, &b1, &it) == SPOOL_OK, "b's stays");
		spool_item_free(&it);
	}
	T(spool_forget(&sp, "a@example.com", note_forgotten, NULL, &out) == SPOOL_OK &&
	  out.removed == 0 && out.failed == 0, "again: nothing");
	test_forget_unreadable(&sp, dir);
}

/* The spool directory is the process's alone: its mode and owner. */
static void test_dir_check(void)
{
	struct spool sp;
	char dir[300], lock[340];
	struct stat sb;

	T(!spool_dir_unsafe(1000, S_IFDIR | 0700, 1000), "0700, its own: taken");
	T(!spool_dir_unsafe(1000, S_IFDIR | 0755, 1000), "0755: others may read, not write: taken");
	T(spool_dir_unsafe(1000, S_IFDIR | 0770, 1000) != NULL, "group-writable: refused");
	T(spool_dir_unsafe(1000, S_IFDIR | 0702, 1000) != NULL, "other-writable: refused");
	T(spool_dir_unsafe(1000, S_IFDIR | 01777, 1000) != NULL, "sticky and world-writable: refused");
	T(spool_dir_unsafe(0, S_IFDIR | 0720, 0) != NULL, "group-writable, as root too");
	T_STREQ(spool_dir_unsafe(1001, S_IFDIR | 0700, 1000),
	        "another user owns it (chown it to the user fmgate runs as)", "another user's: refused");
	T(!spool_dir_unsafe(0, S_IFDIR | 0755, 1000), "root's: taken");
	T(!spool_dir_unsafe(33, S_IFDIR | 0700, 0), "as root, the web server user's: taken");

	snprintf(dir, sizeof dir, "%s/mode", root);
	snprintf(lock, sizeof lock, "%s/lock", dir);
	spool_init(&sp, dir, 0, 0);
	T(spool_check_dir(&sp) == SPOOL_ENOENT, "missing: ENOENT");
	mkdir(dir, 0700);
	T(spool_check_dir(&sp) == SPOOL_OK, "0700: ok");
	chmod(dir, 0770);
	T(spool_check_dir(&sp) == SPOOL_EUNSAFE && strstr(sp.why, "group or others may write it"),
	  "0770: unsafe, saying why");
	T(spool_prepare(&sp) == SPOOL_EUNSAFE && stat(lock, &sb) != 0,
	  "prepare refuses it, writing nothing");
	chmod(dir, 0700);
	T(spool_prepare(&sp) == SPOOL_OK && stat(lock, &sb) == 0, "0700 again: prepared");
	spool_init(&sp, dir, 0, 0);
	chmod(dir, 0702);
	T(spool_prepare(&sp) == SPOOL_EUNSAFE, "a prepared layout is checked too");
	chmod(dir, 0700);
	T(strcmp(spool_strerror(SPOOL_EUNSAFE), "the spool directory is not the process's alone") == 0,
	  "strerror");
}

/* Writes a dead record by hand: `past` is its members after "reason" (old
 * records have none). */
static bool write_dead(const char *dir, const struct spool_id *id, const char *past)
{
	char p[600], name[SPOOL_NAME_SIZE];
	FILE *f;

	spool_id_name(id, name);
	snprintf(p, sizeof p, "%s/dead/%s", dir, name);
	if (!(f = fopen(p, "w")))
		return false;
	fprintf(f, "{\"version\":1,\"form\":\"contact\",\"accepted\":\"2020-01-01T00:00:00.000Z\","
	        "\"attempts\":3,\"next_attempt\":0,\"last_error\":\"\",\"reason\":\"rejected old\","
	        "\"dead_at\":\"2020-01-02T00:00:00.000Z\"%s,\"identify\":{\"type\":\"identify\","
	        "\"messageId\":\"%s\",\"userId\":\"u-h\",\"traits\":{}}}", past, id->mid);
	return fclose(f) == 0;
}

/* Requeue starts a new age; deaths and requeues are kept as a history. */
static void test_history(void)
{
	struct spool sp;
	struct spool_id id;
	struct spool_item it;
	char dir[300], mid[37], last[32];
	long long t0 = (long long)time(NULL);
	size_t n;
	cJSON *m;

	snprintf(dir, sizeof dir, "%s/history", root);
	mkdir(dir, 0700);
	spool_init(&sp, dir, 0, 0);
	T(add(&sp, "u-h", 1, 1000000000ull * 1577836800ull, "Old", &id) == SPOOL_OK, "add, accepted 2020");
	T(spool_read(&sp, SPOOL_QUEUE, &id, &it) == SPOOL_OK && it.requeued == 0 && it.n_history == 0,
	  "a new one: never requeued, no history");
	T(spool_bury(&sp, &it, "rejected http=422 first") == SPOOL_OK, "bury");
	spool_item_free(&it);
	T(spool_read(&sp, SPOOL_DEAD, &id, &it) == SPOOL_OK && it.n_history == 1 &&
	  strcmp(it.history[0].reason, "rejected http=422 first") == 0 &&
	  strlen(it.history[0].time) == UUID_TS_SIZE - 1, "dead: its reason in the history");
	spool_item_free(&it);
	T(spool_requeue_dead(&sp, id.mid, NULL, &n) == SPOOL_OK && n == 1, "requeue");
	T(spool_read(&sp, SPOOL_QUEUE, &id, &it) == SPOOL_OK && it.requeued >= t0 &&
	  it.requeued <= (long long)time(NULL) && it.id.seq == 1000000000ull * 1577836800ull,
	  "requeued now, accepted time kept");
	T(it.n_history == 2 && strcmp(it.history[0].reason, "rejected http=422 first") == 0 &&
	  strcmp(it.history[1].reason, SPOOL_REQUEUED) == 0 && it.reason[0] == '\0',
	  "the history: the death, then the requeue");
	it.st.attempts = 1;
	T(spool_reschedule(&sp, &it) == SPOOL_OK, "reschedule");
	spool_item_free(&it);
	T(spool_read(&sp, SPOOL_QUEUE, &id, &it) == SPOOL_OK && it.requeued >= t0 && it.n_history == 2,
	  "a rewrite keeps both");
	for (unsigned i = 0; i < SPOOL_MAX_HISTORY; i++) {
		snprintf(last, sizeof last, "death %u", i);
		T(spool_bury(&sp, &it, last) == SPOOL_OK, "bury %u", i);
		spool_item_free(&it);
		T(spool_requeue_dead(&sp, id.mid, NULL, &n) == SPOOL_OK, "requeue %u", i);
		T(spool_read(&sp, SPOOL_QUEUE, &id, &it) == SPOOL_OK, "read %u", i);
	}
	T(it.n_history == SPOOL_MAX_HISTORY && strcmp(it.history[0].reason, "death 4") == 0 &&
	  strcmp(it.history[SPOOL_MAX_HISTORY - 2].reason, last) == 0 &&
	  strcmp(it.history[SPOOL_MAX_HISTORY - 1].reason, SPOOL_REQUEUED) == 0,
	  "bounded: the oldest dropped");
	{
		char p[600], name[SPOOL_NAME_SIZE], text[16384];
		unsigned events = 0;
		size_t len;
		FILE *f;

		T(spool_bury(&sp, &it, "final") == SPOOL_OK, "bury with a full history");
		spool_id_name(&id, name);
		snprintf(p, sizeof p, "%s/dead/%s", dir, name);
		f = fopen(p, "r");
		len = f ? fread(text, 1, sizeof text - 1, f) : 0;
		text[len] = '\0';
		if (f)
			fclose(f);
		for (const char *q = text; (q = strstr(q, "{\"time\":")) != NULL; q++)
			events++;
		T(events == SPOOL_MAX_HISTORY, "the file holds %u events, not more", events);
	}
	spool_item_free(&it);
	T(spool_purge_dead(&sp, 0, &n) == SPOOL_OK && n == 1, "purge it");

	/* Records written before requeue times and histories. */
	mid_of(2, mid);
	m = message("u-h", mid, "x");
	T(spool_id_of(m, 1000000000ull * 1577836800ull, NULL, &id) == SPOOL_OK, "id");
	cJSON_Delete(m);
	T(write_dead(dir, &id, ""), "an old dead record");
	T(spool_read(&sp, SPOOL_DEAD, &id, &it) == SPOOL_OK && it.requeued == 0 && it.n_history == 1 &&
	  strcmp(it.history[0].time, "2020-01-02T00:00:00.000Z") == 0 &&
	  strcmp(it.history[0].reason, "rejected old") == 0, "reads, its reason as its history");
	spool_item_free(&it);
	T(write_dead(dir, &id, ",\"requeued\":\"soon\""), "a requeue time that is no number");
	T(spool_read(&sp, SPOOL_DEAD, &id, &it) == SPOOL_ECORRUPT, "not a spool record");
	T(write_dead(dir, &id, ",\"history\":{}"), "a history that is no array");
	T(spool_read(&sp, SPOOL_DEAD, &id, &it) == SPOOL_ECORRUPT, "not a spool record");
	T(write_dead(dir, &id, ",\"history\":[{\"time\":1,\"reason\":\"r\"}]"), "an event's time no text");
	T(spool_read(&sp, SPOOL_DEAD, &id, &it) == SPOOL_ECORRUPT, "not a spool record");
	{
		char many[2048] = ",\"history\":[";
		size_t len = strlen(many);

		for (unsigned i = 0; i < SPOOL_MAX_HISTORY + 3; i++)
			len += (size_t)snprintf(many + len, sizeof many - len, "%s{\"time\":\"t\","
			                        "\"reason\":\"e%u\"}", i ? "," : "", i);
		snprintf(many + len, sizeof many - len, "]");
		T(write_dead(dir, &id, many), "more events than a record keeps");
		T(spool_read(&sp, SPOOL_DEAD, &id, &it) == SPOOL_OK && it.n_history == SPOOL_MAX_HISTORY &&
		  strcmp(it.history[0].reason, "e3") == 0, "the newest are kept");
		spool_item_free(&it);
	}
}

/* spool_parse(): the bytes spool_read takes, and why it refuses others. */
static void test_parse(void)
{
	static const char good[] = "{\"version\":1,\"form\":\"contact\",\"attempts\":2,"
		"\"next_attempt\":5,\"last_error\":\"x\",\"identify\":{\"userId\":\"u\","
		"\"messageId\":\"0f8e1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b\"}}";
	struct spool_id id = { .seq = 1, .uhash = spool_user_hash("u"),
	                       .mid = "0f8e1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b" };
	struct spool_item it;
	const char *why = "?";
	char *text;
	enum spool_err e;

	T(spool_parse(good, strlen(good), SPOOL_QUEUE, &id, &it, &why) == SPOOL_OK && !why &&
	  it.st.attempts == 2 && it.st.next_attempt == 5 && it.identify && !it.steps,
	  "a record parses");
	text = spool_item_text(&it, &e);
	T(text && strstr(text, "\"attempts\":2") && !strstr(text, "\"reason\""),
	  "written back as a waiting record: %s", text ? text : "(null)");
	cJSON_free(text);
	spool_item_free(&it);
	T(spool_parse(good, strlen(good) - 1, SPOOL_QUEUE, &id, &it, &why) == SPOOL_ECORRUPT &&
	  why && strcmp(why, "not a spool record") == 0 && !it.identify, "cut: %s", why);
	id.uhash++;
	T(spool_parse(good, strlen(good), SPOOL_QUEUE, &id, &it, &why) == SPOOL_ECORRUPT &&
	  why && strcmp(why, "the name does not match the message") == 0 && !it.identify,
	  "another userId's name: %s", why);
}

int main(void)
{
	char cmd[300];

	snprintf(root, sizeof root, "/tmp/test_spool.%ld", (long)getpid());
	if (mkdir(root, 0700) != 0)
		return 1;
	test_names();
	test_parse();
	test_dir_of();
	test_add_read();
	test_order();
	test_first_fill();
	test_locks();
	test_lifecycle();
	test_history();
	test_dir_check();
	test_limits();
	test_unwritable();
	test_tmp();
	test_forget();
	T(strcmp(spool_strerror(SPOOL_EFULL), "the spool holds max-files files") == 0, "strerror");
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	if (system(cmd) != 0)
		printf("could not remove %s\n", root);
	T_DONE();
}
