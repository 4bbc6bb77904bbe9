/* Shared submission budgets (throttle.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "throttle.h"
#include "t.h"

#define T0 1800000000000LL   /* a fixed "now", in ms */

static struct throttle_key key(const char *text, unsigned limit, unsigned window)
{
	return (struct throttle_key){ text, strlen(text), limit, window };
}

static long take1(struct throttle *t, const char *text, unsigned limit, unsigned window,
                  long long now)
{
	struct throttle_key k = key(text, limit, window);

	return throttle_take(t, &k, 1, now);
}

int main(void)
{
	char dir[] = "/tmp/fmgate-throttle.XXXXXX", path[128], why[300];
	enum throttle_err e;
	struct throttle *t, *t2;
	struct stat st;
	long w;

	T(mkdtemp(dir) != NULL, "temp dir");

	/* a budget of 3 per minute, in memory */
	t = throttle_open(NULL, &e, why, sizeof why);
	T(t && e == THROTTLE_OK && !throttle_shared(t), "memory table");
	for (int i = 0; i < 3; i++)
		T(take1(t, "a", 3, 60, T0) == 0, "burst %d of 3 allowed", i + 1);
	w = take1(t, "a", 3, 60, T0);
	T(w == 20, "the 4th waits one interval, 20 s (%ld)", w);
	T(take1(t, "a", 3, 60, T0 + 19000) == 1, "1 s before it: 1 s left");
	T(take1(t, "a", 3, 60, T0 + 20000) == 0, "after the interval: one more");
	T(take1(t, "a", 3, 60, T0 + 20000) > 0, "and only one");
	for (int i = 0; i < 3; i++)
		T(take1(t, "a", 3, 60, T0 + 80000) == 0, "a window later: whole again (%d)", i + 1);
	T(take1(t, "b", 3, 60, T0) == 0, "another key has its own budget");
	T(take1(t, "x", 0, 60, T0) == 0 && take1(t, "x", 0, 60, T0) == 0, "limit 0: no limit");

	/* all or none: a spent key charges no other */
	{
		struct throttle_key both[2] = { key("one", 1, 60), key("five", 5, 60) };
		T(throttle_take(t, both, 2, T0) == 0, "both have room");
		T(throttle_take(t, both, 2, T0) > 0, "one is spent: refused");
		for (int i = 0; i < 4; i++)
			T(take1(t, "five", 5, 60, T0) == 0, "the refusal charged nothing (%d)", i);
		T(take1(t, "five", 5, 60, T0) > 0, "the fifth key's budget is spent");
	}

	/* a clock set back holds a key at most a window */
	T(take1(t, "c", 1, 60, T0) == 0, "clock: first");
	w = take1(t, "c", 1, 60, T0 - 3600000);
	T(w > 0 && w <= 60, "an hour back: waits at most the window (%ld)", w);

	/* a crowded table forgets keys rather than refusing them */
	{
		char k[32];
		int refused = 0;

		for (int i = 0; i < (int)THROTTLE_SLOTS * 2; i++) {
			snprintf(k, sizeof k, "ip-%d", i);
			refused += take1(t, k, 1, 3600, T0) != 0;
		}
		T(refused == 0, "distinct keys past the table's size: none refused (%d)", refused);
	}
	throttle_close(t);

	/* shared through the spool's state directory */
	t = throttle_open(dir, &e, why, sizeof why);
	t2 = throttle_open(dir, &e, why, sizeof why);
	T(t && t2 && e == THROTTLE_OK && throttle_shared(t), "shared table (%s)", why);
	snprintf(path, sizeof path, "%s/state/throttle", dir);
	T(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "state/throttle, mode 0600");
	T(take1(t, "s", 2, 60, T0) == 0 && take1(t2, "s", 2, 60, T0) == 0, "two opens: 2 taken");
	T(take1(t, "s", 2, 60, T0) > 0 && take1(t2, "s", 2, 60, T0) > 0, "the budget is one");
	throttle_close(t2);

	/* processes share it too, under the lock: never more than the budget,
	 * however their tries interleave (they start together) */
	{
		int allowed = 0, go[2], counts[2], status;
		char start = 'g';

		T(pipe(go) == 0 && pipe(counts) == 0, "pipes");
		for (int p = 0; p < 4; p++) {
			if (fork() == 0) {
				int mine = 0;
				char c;

				close(go[1]);
				if (read(go[0], &c, 1) != 1)
					_exit(1);
				for (int i = 0; i < 20000; i++)
					mine += take1(t, "race", 40000, 3600, T0) == 0;
				_exit(write(counts[1], &mine, sizeof mine) == sizeof mine ? 0 : 1);
			}
		}
		close(go[0]);
		for (int p = 0; p < 4; p++)
			T(write(go[1], &start, 1) == 1, "start %d", p);
		for (int p = 0; p < 4; p++) {
			int mine = 0;

			T(read(counts[0], &mine, sizeof mine) == sizeof mine, "count %d", p);
			allowed += mine;
			wait(&status);
		}
		close(go[1]);
		close(counts[0]);
		close(counts[1]);
		T(allowed == 40000, "4 processes x 20000 tries, budget 40000: %d allowed", allowed);
		T(take1(t, "race", 40000, 3600, T0) > 0, "the parent sees it spent");
	}
	throttle_close(t);

	/* a file removed under running processes (SPOOL/state cleared): each
	 * notices within a second and shares the new one */
	t = throttle_open(dir, &e, why, sizeof why);
	t2 = throttle_open(dir, &e, why, sizeof why);
	T(take1(t, "del", 1, 3600, T0) == 0 && take1(t2, "del", 1, 3600, T0) > 0, "before: spent");
	snprintf(path, sizeof path, "rm -rf '%s/state'", dir);
	T(system(path) == 0, "state removed");
	T(take1(t, "del", 1, 3600, T0 + 1000) == 0, "a second later: a new, shared table");
	snprintf(path, sizeof path, "%s/state/throttle", dir);
	T(stat(path, &st) == 0 && st.st_size > 0, "the file is back");
	T(take1(t2, "del", 1, 3600, T0 + 1000) > 0, "the other process shares it");
	throttle_close(t2);
	throttle_close(t);

	/* a file of the wrong size is made anew */
	T(truncate(path, 100) == 0, "damage the file");
	t = throttle_open(dir, &e, why, sizeof why);
	T(t && e == THROTTLE_OK && stat(path, &st) == 0 && st.st_size > 100, "rebuilt");
	T(take1(t, "s", 2, 60, T0) == 0, "with whole budgets");
	throttle_close(t);

	/* an unusable directory: this process alone, said so */
	snprintf(path, sizeof path, "%s/missing/deeper", dir);
	why[0] = '\0';
	t = throttle_open(path, &e, why, sizeof why);
	T(t && e == THROTTLE_EIO && !throttle_shared(t) && strstr(why, "missing"),
	  "no state dir: memory, with the reason (%s)", why);
	T(take1(t, "m", 1, 60, T0) == 0 && take1(t, "m", 1, 60, T0) > 0, "and still limits");
	throttle_close(t);
	T(strcmp(throttle_strerror(THROTTLE_EIO), "unknown error") != 0, "strerror");

	snprintf(path, sizeof path, "rm -rf '%s'", dir);
	T(system(path) == 0, "cleanup");
	T_DONE();
}
