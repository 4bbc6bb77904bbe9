/*
 * test_shared.c: the shared "anything waiting?" table (shared.h) as the
 * spool keeps it: never lower than the waiting files, across processes, and
 * trusted only after a recount; fm_state's flags and seqlock record.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shared.h"
#include "spool.h"
#include "t.h"

static char root[] = "/tmp/fmgate-shared.XXXXXX";

static enum spool_err add(struct spool *sp, const char *user, unsigned n, struct spool_id *id)
{
	struct spool_state st = { 0 };
	char mid[37];
	cJSON *m = cJSON_CreateObject();
	enum spool_err e;

	snprintf(mid, sizeof mid, "%08x-0000-4000-8000-%012x", n, n);
	cJSON_AddStringToObject(m, "type", "identify");
	cJSON_AddStringToObject(m, "messageId", mid);
	cJSON_AddStringToObject(m, "userId", user);
	e = spool_id_of(m, spool_seq_now(), NULL, id);
	if (e == SPOOL_OK)
		e = spool_add(sp, SPOOL_QUEUE, id, m, NULL, "contact", &st, NULL);
	cJSON_Delete(m);
	return e;
}

/* A waiting file put in the queue by hand, behind the spool's back; *id names it. */
static void by_hand(const char *user, unsigned n, struct spool_id *id)
{
	char cmd[512], name[SPOOL_NAME_SIZE];

	id->seq = 1;
	id->uhash = spool_user_hash(user);
	id->dest[0] = '\0';
	snprintf(id->mid, sizeof id->mid, "%08x-0000-4000-8000-%012x", n, n);
	spool_id_name(id, name);
	snprintf(cmd, sizeof cmd, "echo '{}' > '%s/queue/%02x/%s'", root,
	         (unsigned)(id->uhash >> 56), name);
	if (system(cmd) != 0)
		printf("cannot run %s\n", cmd);
}

static void test_one_process(void)
{
	struct spool sp;
	struct spool_id a, b, c, d;
	size_t n;

	spool_init(&sp, root, 0, 0);
	T(shared_may_wait(root, spool_user_hash("u-a")), "no table yet: may wait (the queue is read)");
	/* The first add finds no stored count and recounts: the table is trusted. */
	T(add(&sp, "u-a", 1, &a) == SPOOL_OK, "added");
	sleep(1);   /* a table made meanwhile is looked for once a second */
	T(shared_may_wait(root, a.uhash), "trusted: u-a waits");
	T(!shared_may_wait(root, spool_user_hash("u-b")), "trusted: u-b does not");
	T(spool_user_waiting(&sp, a.uhash, UINT64_MAX) == 1, "spool: u-a waiting");
	T(add(&sp, "u-b", 2, &b) == SPOOL_OK && shared_may_wait(root, b.uhash), "an add counts at once");
	T(spool_remove(&sp, &a) == SPOOL_OK && !shared_may_wait(root, a.uhash), "a removal uncounts");
	T(spool_user_waiting(&sp, a.uhash, UINT64_MAX) == 0, "spool: u-a no longer waits");

	/* What the table says is what spool_user_waiting answers: a file put in
	 * by hand is not seen until a recount. */
	by_hand("u-c", 3, &c);
	T(spool_user_waiting(&sp, spool_user_hash("u-c"), UINT64_MAX) == 0,
	  "a file put by hand: not counted, not read");
	T(spool_recount(&sp, &n) == SPOOL_OK && n == 2, "recount");
	T(spool_user_waiting(&sp, spool_user_hash("u-c"), UINT64_MAX) == 1, "counted by the recount");

	/* Uncounting a file the table missed makes it untrusted, never negative. */
	by_hand("u-d", 4, &d);
	T(spool_quarantine(&sp, &d) == SPOOL_OK, "a file put by hand, quarantined");
	T(shared_may_wait(root, spool_user_hash("u-z")), "its slot would go below zero: untrusted");
	T(spool_recount(&sp, &n) == SPOOL_OK && !shared_may_wait(root, spool_user_hash("u-z")),
	  "trusted again after a recount");
	T(spool_remove(&sp, &b) == SPOOL_OK && spool_remove(&sp, &c) == SPOOL_OK, "cleanup");
}

/* Children add and remove while the parent recounts: at every moment each
 * waiting file is covered, and the parent's mapping sees their counts. */
static void test_processes(void)
{
	struct spool sp;
	int status, bad = 0;
	size_t n;

	spool_init(&sp, root, 0, 0);
	T(spool_recount(&sp, &n) == SPOOL_OK, "recount first");
	for (int p = 0; p < 3; p++) {
		if (fork() == 0) {
			struct spool_id id;
			char user[32];

			for (unsigned i = 0; i < 150; i++) {
				snprintf(user, sizeof user, "p%d-u%u", p, i);
				if (add(&sp, user, (unsigned)p * 1000 + i, &id) != SPOOL_OK)
					_exit(1);
				if (!shared_may_wait(root, id.uhash))
					_exit(2);   /* its own file, not covered */
				if (i % 2 && spool_remove(&sp, &id) != SPOOL_OK)
					_exit(3);
			}
			_exit(0);
		}
	}
	for (int i = 0; i < 20; i++)
		T(spool_recount(&sp, &n) == SPOOL_OK, "recount while they write (%d)", i);
	for (int p = 0; p < 3; p++) {
		wait(&status);
		T(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child: %d", WEXITSTATUS(status));
	}
	for (int p = 0; p < 3; p++) {
		for (unsigned i = 0; i < 150; i += 2) {
			char user[32];

			snprintf(user, sizeof user, "p%d-u%u", p, i);
			bad += !shared_may_wait(root, spool_user_hash(user));
			bad += spool_user_waiting(&sp, spool_user_hash(user), UINT64_MAX) != 1;
		}
	}
	T(bad == 0, "every waiting file is covered in the parent (%d not)", bad);
	T(spool_recount(&sp, &n) == SPOOL_OK && n == 3 * 75 + 1, "75 of each child wait (%zu)", n);
}

/* The file removed (SPOOL/state cleared): a new table, untrusted. */
static void test_removed(void)
{
	struct spool sp;
	char cmd[300];
	size_t n;

	spool_init(&sp, root, 0, 0);
	snprintf(cmd, sizeof cmd, "rm -f '%s/state/shared-2'", root);
	T(system(cmd) == 0, "removed");
	sleep(1);
	T(shared_may_wait(root, spool_user_hash("u-z")), "within a second: not trusted");
	T(spool_recount(&sp, &n) == SPOOL_OK, "recount");
	sleep(1);
	T(!shared_may_wait(root, spool_user_hash("u-z")), "a recount trusts the new one");
}

/* A table made anew sends every reader to the files. */
static void test_new_table(void)
{
	struct shared_state *s;
	long long v[SHARED_RL_VALUES];
	uint64_t key;
	char cmd[300];

	snprintf(cmd, sizeof cmd, "rm -f '%s/state/shared-2'", root);
	T(system(cmd) == 0, "removed");
	T(shared_state_attach(root) && (s = shared_state(root)) != NULL, "made and mapped at once");
	T(shared_flag_get(&s->paused, NULL) && shared_flag_get(&s->identity, NULL),
	  "new table: the flags say to look at the files");
	T(!shared_rl_load(s, &key, v), "new table: no budget until a lock holder stores one");
}

/* A clear decided on an old reading never undoes a set made since, in
 * another process. */
static void test_flags(void)
{
	struct shared_state *s = shared_state(root);
	uint64_t seen;
	int status;

	T(s && shared_flag_get(&s->paused, &seen), "set");
	shared_flag_clear(&s->paused, seen);
	T(!shared_flag_get(&s->paused, &seen), "cleared");
	T(shared_flag_get(&s->identity, NULL), "the other flag apart");
	if (fork() == 0) {
		shared_flag_set(&shared_state(root)->paused);
		_exit(0);
	}
	wait(&status);
	T(shared_flag_get(&s->paused, NULL), "set by another process, seen here");
	shared_flag_get(&s->paused, &seen);
	if (fork() == 0) {
		shared_flag_set(&shared_state(root)->paused);   /* after our reading */
		_exit(0);
	}
	wait(&status);
	shared_flag_clear(&s->paused, seen);
	T(shared_flag_get(&s->paused, &seen), "a set since the reading survives the clear");
	shared_flag_clear(&s->paused, seen);
	T(!shared_flag_get(&s->paused, NULL), "a clear on the current reading works");
}

/* The budget record across processes, and one a killed writer tore. */
static void test_rl_record(void)
{
	static const long long want[SHARED_RL_VALUES] = {1000, 800, 5, 400, 300, 6, 7, 8};
	struct shared_state *s = shared_state(root);
	long long v[SHARED_RL_VALUES];
	uint64_t key;
	int status;

	shared_rl_store(s, 42, want);
	if (fork() == 0) {
		struct shared_state *c = shared_state(root);

		_exit(shared_rl_load(c, &key, v) && key == 42 && memcmp(v, want, sizeof v) == 0 ? 0 : 1);
	}
	wait(&status);
	T(WIFEXITED(status) && WEXITSTATUS(status) == 0, "stored here, read in another process");
	if (fork() == 0) {
		struct shared_state *c = shared_state(root);

		/* a writer killed between its two steps */
		atomic_fetch_add(&c->rl_seq, 1);
		atomic_store(&c->rl_values[1], 0);
		raise(SIGKILL);
	}
	wait(&status);
	T(WIFSIGNALED(status), "writer killed");
	T(!shared_rl_load(s, &key, v), "a torn record is not read");
	shared_rl_store(s, 43, want);
	T(shared_rl_load(s, &key, v) && key == 43 && memcmp(v, want, sizeof v) == 0,
	  "the next lock holder's store mends it");
}

int main(void)
{
	char cmd[300];

	if (!mkdtemp(root))
		return 1;
	test_one_process();
	test_processes();
	test_removed();
	test_new_table();
	test_flags();
	test_rl_record();
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	T(system(cmd) == 0, "cleanup");
	T_DONE();
}
