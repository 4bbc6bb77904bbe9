/* shared.c: the per-userId "anything waiting?" table and fm_state's counters,
 * in SPOOL/state/shared-2. */
#include "shared.h"

#include <assert.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "statedir.h"
#include "text.h"

/* A table of another layout is made anew (ftruncate) by the first process
 * that locks it, which would fault a process of another version that has it
 * mapped: a new layout takes a new magic and a new file name. */
#define SH_FILE  "shared-2"   /* in SPOOL/state ("shared": FMGSHR1, the table alone) */
#define SH_MAGIC "FMGSHR2"

/* Atomics on a mapping shared by processes must not take a lock. */
static_assert(ATOMIC_LLONG_LOCK_FREE == 2 && ATOMIC_INT_LOCK_FREE == 2,
              "lock-free atomics");

struct sh_header {
	char magic[8];
	uint32_t slots;
	atomic_uint trusted;      /* 1 once a recount filled the table */
	char pad[48];             /* the counters start on a cache line */
	union {
		struct shared_state s;
		char line[128];   /* and the slots on the next one */
	} state;
};

static_assert(sizeof(struct shared_state) <= 128 && sizeof(struct sh_header) == 192,
              "layout of FMGSHR2");

#define SH_SIZE (sizeof(struct sh_header) + SHARED_WAIT_SLOTS * sizeof(atomic_uint))

/* The readers' table: for the spool directory last asked about. */
static struct {
	char spool[STATEDIR_PATH_MAX];
	struct statedir *sd;      /* NULL: not open (tried at tried_s) */
	time_t tried_s;
	struct sh_header *hdr;    /* NULL: not mapped */
	dev_t dev;
	ino_t ino;
	time_t checked_s;         /* when the file was last compared with hdr */
} rd;

static atomic_uint *slot(struct sh_header *h, uint64_t uhash)
{
	return (atomic_uint *)(void *)(h + 1) + uhash % SHARED_WAIT_SLOTS;
}

/* Whether fd holds a table of this layout. */
static bool ready(int fd, struct stat *sb)
{
	struct sh_header h;

	return fstat(fd, sb) == 0 && S_ISREG(sb->st_mode) && (size_t)sb->st_size == SH_SIZE &&
	       pread(fd, &h, sizeof h, 0) == (ssize_t)sizeof h &&
	       memcmp(h.magic, SH_MAGIC, sizeof h.magic) == 0 && h.slots == SHARED_WAIT_SLOTS;
}

/* An empty table, not trusted. Under the exclusive lock. Its blocks are
 * allocated now: a store into a hole of a mapped file on a full file system
 * would kill the process (SIGBUS); a full one refuses the table instead. */
static bool make_ready(int fd)
{
	struct sh_header h = { .slots = SHARED_WAIT_SLOTS };
	struct shared_state *s = &h.state.s;
	struct timespec ts;
	uint64_t gen;

	/* Generations start from the clock, so that a process that remembers
	 * one of the table this one replaces does not take it for unchanged. */
	clock_gettime(CLOCK_REALTIME, &ts);
	gen = ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) >> 1;
	memcpy(h.magic, SH_MAGIC, sizeof h.magic);
	atomic_init(&s->paused, gen << 1 | 1);
	atomic_init(&s->identity, gen << 1 | 1);
	atomic_init(&s->fields_gen, gen);
	atomic_init(&s->rl_seq, 1);
	return ftruncate(fd, 0) == 0 && posix_fallocate(fd, 0, (off_t)SH_SIZE) == 0 &&
	       pwrite(fd, &h, sizeof h, 0) == (ssize_t)sizeof h;
}

static void unmap_reader(void)
{
	if (rd.hdr)
		munmap(rd.hdr, SH_SIZE);
	rd.hdr = NULL;
}

/* The state folder of spool_dir, opened at most once a second after failing. */
static struct statedir *folder(const char *spool_dir, time_t now)
{
	enum statedir_err e;

	if (strcmp(rd.spool, spool_dir) == 0 && (rd.sd || rd.tried_s == now))
		return rd.sd;
	if (strcmp(rd.spool, spool_dir) != 0) {
		unmap_reader();
		statedir_close(rd.sd);
		rd.sd = NULL;
		rd.checked_s = 0;   /* the mapping just dropped is looked for again */
		if (!text_copy(rd.spool, sizeof rd.spool, spool_dir)) {
			rd.spool[0] = '\0';
			return NULL;
		}
	}
	rd.tried_s = now;
	rd.sd = statedir_open(spool_dir, STATEDIR_WRITE, &e);
	return rd.sd;
}

/* The readers' mapping of the table of spool_dir; NULL when there is none.
 * The file is compared with the mapping once a second. */
static struct sh_header *table(const char *spool_dir)
{
	time_t now = (time_t)(clock_mono_ms() / 1000);
	struct statedir *sd;
	struct stat sb;
	void *map;
	int fd;

	if (now == rd.checked_s && strcmp(rd.spool, spool_dir) == 0)
		return rd.hdr;
	if (!(sd = folder(spool_dir, now)))
		return NULL;
	rd.checked_s = now;
	if (rd.hdr && statedir_stat(sd, SH_FILE, &sb) == 0 && sb.st_dev == rd.dev &&
	    sb.st_ino == rd.ino)
		return rd.hdr;
	unmap_reader();
	if ((fd = statedir_openat(sd, SH_FILE, O_RDWR)) < 0)
		return NULL;
	if (ready(fd, &sb) &&
	    (map = mmap(NULL, SH_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) != MAP_FAILED) {
		rd.hdr = map;
		rd.dev = sb.st_dev;
		rd.ino = sb.st_ino;
	}
	close(fd);
	return rd.hdr;
}

bool shared_may_wait(const char *spool_dir, uint64_t uhash)
{
	struct sh_header *h = table(spool_dir);

	return !h || atomic_load(&h->trusted) == 0 || atomic_load(slot(h, uhash)) != 0;
}

bool shared_filled(const char *spool_dir)
{
	struct sh_header *h = table(spool_dir);

	return h && atomic_load(&h->trusted) != 0;
}

/* The table of spool_dir locked (how: LOCK_SH or LOCK_EX) and mapped. */
static bool hold(const char *spool_dir, int how, struct shared_hold *h)
{
	struct statedir *sd = folder(spool_dir, (time_t)(clock_mono_ms() / 1000));
	struct stat sb;
	void *map;
	int fd;

	h->fd = -1;
	h->map = NULL;
	if (!sd || (fd = statedir_openat(sd, SH_FILE, O_RDWR | O_CREAT)) < 0)
		return false;
	if (flock(fd, how) != 0)
		goto fail;
	/* Made (or made anew, after another layout) under the exclusive lock. */
	if (!ready(fd, &sb) &&
	    (flock(fd, LOCK_EX) != 0 || (!ready(fd, &sb) && !make_ready(fd)) || flock(fd, how) != 0))
		goto fail;
	map = mmap(NULL, SH_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		goto fail;
	h->fd = fd;
	h->map = map;
	return true;
fail:
	close(fd);
	return false;
}

void shared_begin(const char *spool_dir, struct shared_hold *h)
{
	struct sh_header *t;

	if (hold(spool_dir, LOCK_SH, h))
		return;
	/* The change goes uncounted: readers must stop trusting the table. */
	if ((t = table(spool_dir)) != NULL)
		atomic_store(&t->trusted, 0);
}

void shared_count(struct shared_hold *h, uint64_t uhash, int delta)
{
	struct sh_header *t = h->map;
	atomic_uint *s;
	unsigned v;

	if (!t)
		return;
	s = slot(t, uhash);
	if (delta >= 0) {
		atomic_fetch_add(s, (unsigned)delta);
		return;
	}
	/* Never below zero: a slot already there missed a file (one put in the
	 * queue by hand), so the table is not trusted until the next recount. */
	v = atomic_load(s);
	do {
		if (v < (unsigned)-delta) {
			atomic_store(&t->trusted, 0);
			return;
		}
	} while (!atomic_compare_exchange_weak(s, &v, v - (unsigned)-delta));
}

bool shared_recount_begin(const char *spool_dir, struct shared_hold *h)
{
	struct sh_header *t;

	if (!hold(spool_dir, LOCK_EX, h))
		return false;
	t = h->map;
	atomic_store(&t->trusted, 0);
	for (uint64_t i = 0; i < SHARED_WAIT_SLOTS; i++)
		atomic_store(slot(t, i), 0);
	return true;
}

void shared_trust(struct shared_hold *h)
{
	struct sh_header *t = h->map;

	if (t)
		atomic_store(&t->trusted, 1);
	/* This process's own readers look again at once: the table may be new
	 * since they last found none. */
	rd.checked_s = 0;
}

void shared_end(struct shared_hold *h)
{
	if (h->map)
		munmap(h->map, SH_SIZE);
	if (h->fd >= 0)
		close(h->fd);
	h->map = NULL;
	h->fd = -1;
}

bool shared_state_attach(const char *spool_dir)
{
	struct shared_hold h;

	if (!hold(spool_dir, LOCK_SH, &h))
		return false;
	shared_end(&h);
	rd.checked_s = 0;   /* looked for again at the next shared_state() */
	return true;
}

struct shared_state *shared_state(const char *spool_dir)
{
	struct sh_header *h = table(spool_dir);

	return h ? &h->state.s : NULL;
}

bool shared_flag_get(shared_flag *f, uint64_t *seen)
{
	uint64_t v = atomic_load(f);

	if (seen)
		*seen = v;
	return v & 1;
}

void shared_flag_set(shared_flag *f)
{
	uint64_t v = atomic_load(f);

	while (!atomic_compare_exchange_weak(f, &v, ((v >> 1) + 1) << 1 | 1))
		;
}

void shared_flag_clear(shared_flag *f, uint64_t seen)
{
	if (seen & 1)
		atomic_compare_exchange_strong(f, &seen, ((seen >> 1) + 1) << 1);
}

void shared_rl_store(struct shared_state *s, uint64_t key, const long long v[SHARED_RL_VALUES])
{
	/* Odd while written; one left odd by a writer that died is simply
	 * written over (the lock holder is the only writer). */
	uint64_t seq = atomic_load_explicit(&s->rl_seq, memory_order_relaxed) | 1;

	atomic_store_explicit(&s->rl_seq, seq, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&s->rl_key, key, memory_order_relaxed);
	for (size_t i = 0; i < SHARED_RL_VALUES; i++)
		atomic_store_explicit(&s->rl_values[i], v[i], memory_order_relaxed);
	atomic_store_explicit(&s->rl_seq, seq + 1, memory_order_release);
}

bool shared_rl_load(struct shared_state *s, uint64_t *key, long long v[SHARED_RL_VALUES])
{
	uint64_t seq = atomic_load_explicit(&s->rl_seq, memory_order_acquire);

	if (seq & 1)
		return false;
	*key = atomic_load_explicit(&s->rl_key, memory_order_relaxed);
	for (size_t i = 0; i < SHARED_RL_VALUES; i++)
		v[i] = atomic_load_explicit(&s->rl_values[i], memory_order_relaxed);
	atomic_thread_fence(memory_order_acquire);
	return atomic_load_explicit(&s->rl_seq, memory_order_relaxed) == seq;
}
