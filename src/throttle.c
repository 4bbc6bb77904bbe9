/* throttle.c: GCRA budgets in a table shared through a mapped file. */
#include "throttle.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hash.h"
#include "log.h"
#include "statedir.h"

#define TH_MAGIC "FMGTHR1"
#define TH_FILE  "throttle"    /* in SPOOL/state */

struct th_header {
	char magic[8];
	uint32_t slots;
	uint32_t reserved;
	uint64_t seed;
	char pad[40];           /* the slots start on a cache line */
};

struct th_slot {
	uint64_t key;           /* 0: never used */
	int64_t tat_us;         /* when the key's budget is whole again */
};

#define TH_SIZE (sizeof(struct th_header) + THROTTLE_SLOTS * sizeof(struct th_slot))

struct throttle {
	int fd;                 /* -1 for a table in memory */
	pid_t pid;              /* the process that opened fd */
	struct statedir *sd;    /* SPOOL/state, for reopening; NULL in memory */
	int64_t checked_s;      /* when the file was last checked to be still there */
	struct th_header *hdr;  /* the mapping: header, then the slots */
	struct th_slot *slots;
};

static void set_why(char *why, size_t size, const char *what, const struct statedir *sd)
{
	if (why && size)
		snprintf(why, size, "%s %s/" TH_FILE ": %s", what, statedir_path(sd), strerror(errno));
}

static bool fresh_seed(uint64_t *seed)
{
	return getrandom(seed, sizeof *seed, 0) == (ssize_t)sizeof *seed;
}

/* Makes the file a valid empty table unless it already is one. Under flock. */
static bool file_ready(int fd)
{
	struct th_header h;
	struct stat st;
	int e;

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		return false;
	if ((size_t)st.st_size == TH_SIZE &&
	    pread(fd, &h, sizeof h, 0) == (ssize_t)sizeof h &&
	    memcmp(h.magic, TH_MAGIC, sizeof h.magic) == 0 && h.slots == THROTTLE_SLOTS)
		return true;
	/* Another version's table, or a torn one: budgets start whole again. */
	memset(&h, 0, sizeof h);
	memcpy(h.magic, TH_MAGIC, sizeof h.magic);
	h.slots = THROTTLE_SLOTS;
	if (!fresh_seed(&h.seed) || ftruncate(fd, 0) != 0)
		return false;
	/* Blocks allocated now: a store into a hole of the mapping on a full
	 * file system would kill the process (SIGBUS); a full one refuses the
	 * table instead, and the budgets live in memory. */
	if ((e = posix_fallocate(fd, 0, (off_t)TH_SIZE)) != 0) {
		errno = e;
		return false;
	}
	return pwrite(fd, &h, sizeof h, 0) == (ssize_t)sizeof h;
}

/* Maps the table file of t->sd; false (errno set) when it cannot: the
 * caller then closes t->fd. */
static bool open_shared(struct throttle *t, char *why, size_t why_size)
{
	void *map;
	bool ok;

	t->fd = statedir_openat(t->sd, TH_FILE, O_RDWR | O_CREAT);
	if (t->fd < 0) {
		set_why(why, why_size, "open", t->sd);
		return false;
	}
	if (flock(t->fd, LOCK_EX) != 0) {
		set_why(why, why_size, "flock", t->sd);
		return false;
	}
	ok = file_ready(t->fd);
	if (!ok)
		set_why(why, why_size, "cannot prepare", t->sd);
	flock(t->fd, LOCK_UN);
	if (!ok)
		return false;
	map = mmap(NULL, TH_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, t->fd, 0);
	if (map == MAP_FAILED) {
		set_why(why, why_size, "mmap", t->sd);
		return false;
	}
	t->hdr = map;
	t->slots = (struct th_slot *)(t->hdr + 1);
	t->pid = log_pid();
	return true;
}

static void drop_shared(struct throttle *t)
{
	if (t->hdr)
		munmap(t->hdr, TH_SIZE);
	if (t->fd >= 0)
		close(t->fd);
	t->hdr = NULL;
	t->fd = -1;
}

/* The table again from its file: after a fork (a lock on the inherited
 * descriptor would not separate parent and child), or when the file was
 * removed or replaced (an operator clearing SPOOL/state: the processes must
 * not keep budgets apart in files no longer shared). On failure the old
 * table stays. */
static void reopen(struct throttle *t)
{
	struct throttle n = { .fd = -1, .sd = t->sd };

	if (!open_shared(&n, NULL, 0)) {
		if (n.fd >= 0)
			close(n.fd);
		return;
	}
	drop_shared(t);
	t->fd = n.fd;
	t->pid = n.pid;
	t->hdr = n.hdr;
	t->slots = n.slots;
}

struct throttle *throttle_open(const char *spool_dir, enum throttle_err *err,
                               char *why, size_t why_size)
{
	struct throttle *t = calloc(1, sizeof *t);
	enum statedir_err se = STATEDIR_OK;

	*err = THROTTLE_OK;
	if (!t) {
		*err = THROTTLE_ENOMEM;
		return NULL;
	}
	t->fd = -1;
	if (spool_dir && !(t->sd = statedir_open(spool_dir, STATEDIR_WRITE, &se))) {
		*err = se == STATEDIR_ENOMEM ? THROTTLE_ENOMEM : THROTTLE_EIO;
		if (*err == THROTTLE_ENOMEM)
			goto fail;
		if (why && why_size)
			snprintf(why, why_size, "%s/%s: %s", spool_dir, STATEDIR_NAME,
			         statedir_strerror(se));
	} else if (t->sd && !open_shared(t, why, why_size)) {
		*err = errno == ENOMEM ? THROTTLE_ENOMEM : THROTTLE_EIO;
		drop_shared(t);
		if (*err == THROTTLE_ENOMEM)
			goto fail;
	}
	if (t->fd < 0) {
		t->hdr = calloc(1, TH_SIZE);
		if (!t->hdr || !fresh_seed(&t->hdr->seed)) {
			*err = THROTTLE_ENOMEM;
			goto fail;
		}
		t->hdr->slots = THROTTLE_SLOTS;
	}
	t->slots = (struct th_slot *)(t->hdr + 1);
	return t;
fail:
	throttle_close(t);
	return NULL;
}

void throttle_close(struct throttle *t)
{
	if (!t)
		return;
	if (t->fd >= 0)
		drop_shared(t);
	else
		free(t->hdr);
	statedir_close(t->sd);
	free(t);
}

int throttle_shared(const struct throttle *t)
{
	return t->fd >= 0;
}

/* The key's 64-bit id: seeded FNV-1a, then a finaliser that spreads every
 * bit, so that the low bits chosen as the slot index depend on all of them. */
static uint64_t key_id(const struct th_header *h, const struct throttle_key *k)
{
	uint64_t x = hash_fnv1a(HASH_FNV_INIT, &h->seed, sizeof h->seed);

	x = hash_fnv1a(x, k->text, k->len < THROTTLE_MAX_KEY ? k->len : THROTTLE_MAX_KEY);
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x ? x : 1;
}

/* The key's slot, or (when `claim`) a slot for it: a free one, else the one
 * closest to free. NULL when it is not there and not claimed. */
static struct th_slot *find_slot(struct throttle *t, uint64_t id, int64_t now_us, bool claim)
{
	struct th_slot *free_slot = NULL, *oldest = NULL;
	size_t at = (size_t)(id % THROTTLE_SLOTS);

	for (unsigned i = 0; i < THROTTLE_PROBES; i++) {
		struct th_slot *s = &t->slots[(at + i) % THROTTLE_SLOTS];

		if (s->key == id)
			return s;
		if (!free_slot && (s->key == 0 || s->tat_us <= now_us))
			free_slot = s;
		if (!oldest || s->tat_us < oldest->tat_us)
			oldest = s;
	}
	if (!claim)
		return NULL;
	return free_slot ? free_slot : oldest;
}

/* The budget's GCRA terms in microseconds: T, the interval between
 * submissions, and the window, its whole. */
static void terms(const struct throttle_key *k, int64_t *interval, int64_t *window)
{
	*window = (int64_t)k->window_s * 1000000;
	*interval = *window / k->limit;
	if (*interval < 1)
		*interval = 1;
}

/* The key's timestamp now: never before now, never more than a window ahead
 * (a clock set back would otherwise hold the key longer). */
static int64_t current_tat(const struct th_slot *s, int64_t now_us, int64_t window)
{
	int64_t tat = s ? s->tat_us : now_us;

	if (tat < now_us)
		tat = now_us;
	if (tat > now_us + window)
		tat = now_us + window;
	return tat;
}

long throttle_take(struct throttle *t, const struct throttle_key *keys, size_t n,
                   int64_t now_ms)
{
	int64_t now_us = now_ms * 1000, wait_us = 0;
	bool locked = false;

	if (t->fd >= 0 && t->pid != log_pid()) {
		reopen(t);
	} else if (t->fd >= 0 && now_ms / 1000 != t->checked_s) {
		struct stat st;

		/* Once a second: still the file others use? */
		t->checked_s = now_ms / 1000;
		if (fstat(t->fd, &st) == 0 && st.st_nlink == 0)
			reopen(t);
	}
	if (t->fd >= 0)
		locked = flock(t->fd, LOCK_EX) == 0;
	/* Without the lock a race can only lose a charge: still better than
	 * refusing every visitor. */
	for (size_t i = 0; i < n; i++) {
		int64_t interval, window, tat;

		if (keys[i].limit == 0)
			continue;
		terms(&keys[i], &interval, &window);
		tat = current_tat(find_slot(t, key_id(t->hdr, &keys[i]), now_us, false),
		                  now_us, window);
		if (tat > now_us + window - interval && tat - (now_us + window - interval) > wait_us)
			wait_us = tat - (now_us + window - interval);
	}
	for (size_t i = 0; wait_us == 0 && i < n; i++) {
		uint64_t id;
		int64_t interval, window;
		struct th_slot *s;

		if (keys[i].limit == 0)
			continue;
		terms(&keys[i], &interval, &window);
		id = key_id(t->hdr, &keys[i]);
		s = find_slot(t, id, now_us, true);
		s->tat_us = current_tat(s->key == id ? s : NULL, now_us, window) + interval;
		s->key = id;
	}
	if (locked)
		flock(t->fd, LOCK_UN);
	return wait_us == 0 ? 0 : (long)((wait_us + 999999) / 1000000);
}

const char *throttle_strerror(enum throttle_err e)
{
	switch (e) {
	case THROTTLE_OK: return "ok";
	case THROTTLE_EIO: return "the shared table cannot be used";
	case THROTTLE_ENOMEM: return "out of memory";
	}
	return "unknown error";
}
