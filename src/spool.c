/* spool.c: durable submission files, per-userId locks, the dead area. */
#include "spool.h"

#include <dirent.h>
#include <grp.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "hash.h"
#include "io.h"
#include "shared.h"
#include "steps.h"
#include "text.h"
#include "uuid.h"

#define COUNT_WIDTH 20   /* digits of the count file */

/* ---- small helpers ------------------------------------------------------ */

static void say(struct spool *sp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct spool *sp, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sp->why, sizeof sp->why, fmt, ap);
	va_end(ap);
}

/* A path for a log line: a submission's file is shown as DIR/MESSAGEID, so
 * the hash of the userId in its name stays out of logs. */
static void redact(const char *path, char *out, size_t size)
{
	const char *slash = strrchr(path, '/');
	struct spool_id id;

	if (slash && spool_id_parse(slash + 1, &id))
		snprintf(out, size, "%.*s/%s", (int)(slash - path), path, id.mid);
	else
		snprintf(out, size, "%s", path);
}

/* The error of a failed system call on `what`, remembered in sp->why. */
static enum spool_err sys_fail(struct spool *sp, const char *op, const char *what)
{
	char shown[SPOOL_PATH_MAX];
	int e = errno;

	redact(what, shown, sizeof shown);
	say(sp, "%s %s: %s", op, shown, strerror(e));
	errno = e;
	return e == ENOSPC || e == EDQUOT ? SPOOL_ENOSPC : SPOOL_EIO;
}

/* dir/rel (rel of rlen bytes) into out; false when it does not fit. */
static bool join(const struct spool *sp, char *out, const char *rel, size_t rlen)
{
	size_t dlen = strlen(sp->dir);

	if (dlen + 1 + rlen >= SPOOL_PATH_MAX)
		return false;
	memcpy(out, sp->dir, dlen);
	out[dlen] = '/';
	memcpy(out + dlen + 1, rel, rlen + 1);
	return true;
}

/* dir/rel into out; false when it does not fit. */
static bool path_of(const struct spool *sp, char *out, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static bool path_of(const struct spool *sp, char *out, const char *fmt, ...)
{
	char rel[SPOOL_PATH_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(rel, sizeof rel, fmt, ap);
	va_end(ap);
	return n >= 0 && (size_t)n < sizeof rel && join(sp, out, rel, (size_t)n);
}

/* dir/queue/BB (two lower-case hex digits): on every submission's path, so
 * without printf. */
static bool bucket_path(const struct spool *sp, unsigned bucket, char *out)
{
	static const char hex[] = "0123456789abcdef";
	char rel[] = "queue/00";

	rel[6] = hex[(bucket >> 4) & 15];
	rel[7] = hex[bucket & 15];
	return join(sp, out, rel, sizeof rel - 1);
}

static unsigned bucket_of(uint64_t uhash)
{
	return (unsigned)(uhash >> 56);
}

/* The file of a submission, in its area. */
static bool item_path(const struct spool *sp, enum spool_area area, const struct spool_id *id,
                      char *out)
{
	char name[SPOOL_NAME_SIZE];

	spool_id_name(id, name);
	if (area == SPOOL_DEAD)
		return path_of(sp, out, "dead/%s", name);
	return path_of(sp, out, "queue/%02x/%s", bucket_of(id->uhash), name);
}


static long long now_s(void)
{
	return (long long)time(NULL);
}

/* ---- names and ids -------------------------------------------------------- */

void spool_init(struct spool *sp, const char *dir, size_t max_files, unsigned max_age_days)
{
	memset(sp, 0, sizeof *sp);
	if (!text_copy(sp->dir, sizeof sp->dir, dir))
		sp->dir[0] = '\0';  /* every later call then fails on the empty path */
	sp->max_files = max_files ? max_files : SPOOL_DEFAULT_MAX_FILES;
	sp->max_age_days = max_age_days ? max_age_days : SPOOL_DEFAULT_MAX_AGE_DAYS;
}

bool spool_dir_of(const struct map_settings *s, char *out, size_t outsize)
{
	return text_copy(out, outsize, config_spool_dir(s));
}

/* A collision only makes two userIds wait for each other. */
uint64_t spool_user_hash(const char *user_id)
{
	return hash_fnv1a(HASH_FNV_INIT, user_id, strlen(user_id));
}

uint64_t spool_dest_hash(const char *user_id, const char *dest)
{
	uint64_t h = spool_user_hash(user_id);

	if (!dest || !dest[0])
		return h;
	/* A NUL between: no userId and name can run into another pair. */
	h = hash_fnv1a(h, "", 1);
	return hash_fnv1a(h, dest, strlen(dest));
}

uint64_t spool_seq_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void spool_id_name(const struct spool_id *id, char *out)
{
	snprintf(out, SPOOL_NAME_SIZE, "%020llu-%016llx-%s%s%s", (unsigned long long)id->seq,
	         (unsigned long long)id->uhash, id->mid, id->dest[0] ? "." : "", id->dest);
}

/* The 36 characters of a UUID as uuid_v4() writes them: lower-case hex and
 * dashes. */
static bool mid_valid36(const char *s)
{
	for (size_t i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		char c = s[i];

		if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	}
	return true;
}

/* The same, and nothing after. */
static bool mid_valid(const char *s)
{
	return mid_valid36(s) && s[36] == '\0';
}

bool spool_id_parse(const char *name, struct spool_id *out)
{
	uint64_t seq = 0, h = 0;
	size_t i;

	size_t len = strlen(name);

	if (len < 74 || (len > 74 && (name[74] != '.' || !map_dest_name_valid(name + 75))) ||
	    name[20] != '-' || name[37] != '-')
		return false;
	for (i = 0; i < 20; i++) {
		if (name[i] < '0' || name[i] > '9')
			return false;
		if (seq > (UINT64_MAX - (uint64_t)(name[i] - '0')) / 10)
			return false;
		seq = seq * 10 + (uint64_t)(name[i] - '0');
	}
	for (i = 21; i < 37; i++) {
		char c = name[i];
		unsigned v;

		if (c >= '0' && c <= '9')
			v = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = (unsigned)(c - 'a' + 10);
		else
			return false;
		h = h << 4 | v;
	}
	if (!mid_valid36(name + 38))
		return false;
	out->seq = seq;
	out->uhash = h;
	memcpy(out->mid, name + 38, 36);
	out->mid[36] = '\0';
	if (len > 74)
		memcpy(out->dest, name + 75, len - 75 + 1);
	else
		out->dest[0] = '\0';
	return true;
}

enum spool_err spool_id_of(const cJSON *identify, uint64_t seq, const char *dest,
                           struct spool_id *out)
{
	const cJSON *uid = cJSON_GetObjectItemCaseSensitive(identify, "userId");
	const cJSON *mid = cJSON_GetObjectItemCaseSensitive(identify, "messageId");

	if (!cJSON_IsString(uid) || !uid->valuestring[0] || !cJSON_IsString(mid) ||
	    strlen(mid->valuestring) != 36 || !mid_valid(mid->valuestring))
		return SPOOL_EINVAL;
	if (dest && dest[0] && !map_dest_name_valid(dest))
		return SPOOL_EINVAL;
	out->seq = seq;
	out->uhash = spool_dest_hash(uid->valuestring, dest);
	memcpy(out->mid, mid->valuestring, 37);
	snprintf(out->dest, sizeof out->dest, "%s", dest ? dest : "");
	return SPOOL_OK;
}

/* ---- layout ----------------------------------------------------------------- */

static enum spool_err make_dir(struct spool *sp, const char *path)
{
	if (mkdir(path, 0700) == 0 || errno == EEXIST)
		return SPOOL_OK;
	return sys_fail(sp, "mkdir", path);
}

const char *spool_dir_unsafe(uid_t owner, mode_t mode, uid_t euid)
{
	if (mode & (S_IWGRP | S_IWOTH))
		return "group or others may write it (chmod go-w)";
	if (owner != euid && owner != 0 && euid != 0)
		return "another user owns it (chown it to the user fmgate runs as)";
	return NULL;
}

enum spool_err spool_check_dir(struct spool *sp)
{
	const char *why;
	enum spool_err e;
	struct stat st;

	if (stat(sp->dir, &st) != 0) {
		bool gone = errno == ENOENT;

		e = sys_fail(sp, "spool directory", sp->dir);
		return gone ? SPOOL_ENOENT : e;
	}
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return sys_fail(sp, "spool directory", sp->dir);
	}
	if ((why = spool_dir_unsafe(st.st_uid, st.st_mode, geteuid())) != NULL) {
		say(sp, "spool directory %s: %s", sp->dir, why);
		return SPOOL_EUNSAFE;
	}
	return SPOOL_OK;
}

enum spool_err spool_become_owner(struct spool *sp)
{
	struct stat st;

	if (geteuid() != 0)
		return SPOOL_OK;
	if (stat(sp->dir, &st) != 0)
		return errno == ENOENT ? SPOOL_OK : sys_fail(sp, "spool directory", sp->dir);
	if (st.st_uid == 0)
		return SPOOL_OK;
	/* The group first: once the user is dropped, it could not be. */
	if (setgroups(0, NULL) != 0 || setgid(st.st_gid) != 0 || setuid(st.st_uid) != 0 ||
	    geteuid() != st.st_uid) {
		say(sp, "spool directory %s: cannot become its owner (uid %u): %s", sp->dir,
		    (unsigned)st.st_uid, strerror(errno));
		return SPOOL_EIO;
	}
	return SPOOL_OK;
}

enum spool_err spool_prepare(struct spool *sp)
{
	static const char *const dirs[] = { "queue", "dead" };
	char p[SPOOL_PATH_MAX];
	enum spool_err e;
	struct stat st;
	int fd;

	if (sp->prepared)
		return SPOOL_OK;
	if (!sp->dir[0] || !join(sp, p, "lock", 4)) {
		say(sp, "spool directory path missing or too long");
		return SPOOL_EIO;
	}
	/* The directory itself is the installer's (owner, mode): a worker that
	 * made it where none was meant would spread personal data. */
	if ((e = spool_check_dir(sp)) != SPOOL_OK)
		return e == SPOOL_ENOENT ? SPOOL_EIO : e;
	/* The lock file is made last: its presence means the layout is whole. */
	if (stat(p, &st) == 0) {
		sp->prepared = true;
		return SPOOL_OK;
	}
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
		if (!path_of(sp, p, "%s", dirs[i]) || (e = make_dir(sp, p)) != SPOOL_OK)
			return e != SPOOL_OK ? e : SPOOL_EIO;
	for (unsigned b = 0; b < SPOOL_BUCKETS; b++)
		if (!bucket_path(sp, b, p) || (e = make_dir(sp, p)) != SPOOL_OK)
			return e != SPOOL_OK ? e : SPOOL_EIO;
	if (!join(sp, p, "lock", 4))
		return SPOOL_EIO;
	fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return sys_fail(sp, "create", p);
	close(fd);
	if (io_fsync_dir(sp->dir) != 0)
		return sys_fail(sp, "fsync", sp->dir);
	sp->prepared = true;
	return SPOOL_OK;
}

/* ---- per-userId locks --------------------------------------------------------- */

static void lock_range(struct flock *fl, short type, uint64_t uhash)
{
	memset(fl, 0, sizeof *fl);
	fl->l_type = type;
	fl->l_whence = SEEK_SET;
	/* A quarter of the hash keeps start + len inside off_t. */
	fl->l_start = (off_t)(uhash >> 2);
	fl->l_len = 1;
}

static int open_lock_file(struct spool *sp, int flags)
{
	char p[SPOOL_PATH_MAX];

	if (!join(sp, p, "lock", 4)) {
		say(sp, "spool directory path too long");
		return -1;
	}
	return open(p, flags | O_CLOEXEC | O_NOFOLLOW);
}

enum spool_err spool_lock_user(struct spool *sp, uint64_t uhash, struct spool_lock *lk)
{
	struct flock fl;
	int fd;

	lk->fd = -1;
	fd = open_lock_file(sp, O_RDWR);
	if (fd < 0 && errno == ENOENT && spool_prepare(sp) == SPOOL_OK)
		fd = open_lock_file(sp, O_RDWR);
	if (fd < 0)
		return sys_fail(sp, "open", "lock");
	lock_range(&fl, F_WRLCK, uhash);
	if (fcntl(fd, F_OFD_SETLK, &fl) != 0) {
		int busy = errno == EAGAIN || errno == EACCES;
		enum spool_err e = busy ? SPOOL_EBUSY : sys_fail(sp, "lock", "lock");

		close(fd);
		return e;
	}
	lk->fd = fd;
	return SPOOL_OK;
}

void spool_unlock(struct spool_lock *lk)
{
	/* Closing the only descriptor of the open file drops its locks. */
	if (lk->fd >= 0)
		close(lk->fd);
	lk->fd = -1;
}

/* Whether another process holds this userId's lock (fd: the lock file). */
static bool user_locked(int fd, uint64_t uhash)
{
	struct flock fl;

	lock_range(&fl, F_WRLCK, uhash);
	return fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
}

/* ---- listing ------------------------------------------------------------------ */

static int entry_cmp(const void *a, const void *b)
{
	const struct spool_entry *x = a, *y = b;

	if (x->id.seq != y->id.seq)
		return x->id.seq < y->id.seq ? -1 : 1;
	if (x->id.uhash != y->id.uhash)
		return x->id.uhash < y->id.uhash ? -1 : 1;
	return strcmp(x->id.mid, y->id.mid);
}

static enum spool_err list_push(struct spool_list *l, const struct spool_id *id, long long mtime)
{
	if (l->n == SPOOL_MAX_LIST) {
		l->truncated = true;
		return SPOOL_OK;
	}
	if (l->n == l->cap) {
		struct spool_entry *v = buf_grow_array(l->v, &l->cap, sizeof *v, 64, SPOOL_MAX_LIST);

		if (!v)
			return SPOOL_ENOMEM;
		l->v = v;
	}
	l->v[l->n].id = *id;
	l->v[l->n].mtime = mtime;
	l->n++;
	return SPOOL_OK;
}

/* Adds the submissions of one directory; a missing directory holds none. */
static enum spool_err list_dir(struct spool *sp, const char *path, bool times,
                               struct spool_list *out)
{
	enum spool_err e = SPOOL_OK;
	struct dirent *d;
	DIR *dir = opendir(path);

	if (!dir)
		return errno == ENOENT ? SPOOL_OK : sys_fail(sp, "opendir", path);
	errno = 0;
	while (e == SPOOL_OK && (d = readdir(dir)) != NULL) {
		struct spool_id id;
		long long mtime = 0;
		struct stat st;

		if (!spool_id_parse(d->d_name, &id))
			continue;
		if (times) {
			if (fstatat(dirfd(dir), d->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
				continue;  /* gone meanwhile */
			mtime = (long long)st.st_mtime;
		}
		e = list_push(out, &id, mtime);
		errno = 0;
	}
	if (e == SPOOL_OK && errno != 0)
		e = sys_fail(sp, "readdir", path);
	closedir(dir);
	return e;
}

enum spool_err spool_list(struct spool *sp, enum spool_area area, int bucket, bool times,
                          struct spool_list *out)
{
	char p[SPOOL_PATH_MAX];
	enum spool_err e = SPOOL_OK;

	memset(out, 0, sizeof *out);
	if (area == SPOOL_DEAD) {
		e = path_of(sp, p, "dead") ? list_dir(sp, p, times, out) : SPOOL_EIO;
	} else {
		unsigned from = bucket < 0 ? 0 : (unsigned)bucket;
		unsigned to = bucket < 0 ? SPOOL_BUCKETS : from + 1;

		for (unsigned b = from; e == SPOOL_OK && b < to; b++)
			e = bucket_path(sp, b, p) ? list_dir(sp, p, times, out) : SPOOL_EIO;
	}
	if (e != SPOOL_OK) {
		spool_list_free(out);
		return e;
	}
	if (out->n > 1)
		qsort(out->v, out->n, sizeof *out->v, entry_cmp);
	return SPOOL_OK;
}

void spool_list_free(struct spool_list *l)
{
	free(l->v);
	memset(l, 0, sizeof *l);
}

static enum spool_err count_queue(struct spool *sp, size_t *n, struct shared_hold *tally);

/* Fills the shared table from the queue, as spool_recount() does but without
 * storing the count (an order check writes nothing in the spool itself) or
 * reading the dead area (the table counts only what waits). */
static bool fill_table(struct spool *sp)
{
	struct shared_hold h;
	bool ok;
	size_t n;

	if (!shared_recount_begin(sp->dir, &h))
		return false;
	ok = count_queue(sp, &n, &h) == SPOOL_OK;
	if (ok)
		shared_trust(&h);
	shared_end(&h);
	return ok;
}

int spool_user_waiting(struct spool *sp, uint64_t uhash, uint64_t seq)
{
	/* getdents64() into the stack, not opendir(): on every sync submission,
	 * and opendir() allocates (and frees) 32 KiB each time. */
	char p[SPOOL_PATH_MAX], names[8192] __attribute__((aligned(8)));
	int found = 0, fd;
	ssize_t n;

	/* The shared table answers most calls without reading the directory.
	 * A table no recount has filled yet (no drain has run on this spool)
	 * answers nothing: this process fills it, once. A filled table whose
	 * slot is not zero sends the reader to the directory. */
	if (!shared_may_wait(sp->dir, uhash))
		return 0;
	if (!sp->recounted && !shared_filled(sp->dir)) {
		sp->recounted = true;
		if (fill_table(sp) && !shared_may_wait(sp->dir, uhash))
			return 0;
	}
	if (!bucket_path(sp, bucket_of(uhash), p)) {
		say(sp, "spool directory path too long");
		return -1;
	}
	fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		/* No queue (never written to, or no spool at all) holds nothing. */
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		sys_fail(sp, "opendir", p);
		return -1;
	}
	/* Only the names are read: the check costs no file open. */
	while (!found && (n = getdents64(fd, names, sizeof names)) > 0) {
		for (ssize_t at = 0; !found && at < n;) {
			const struct dirent64 *d = (const struct dirent64 *)(void *)(names + at);
			struct spool_id id;

			if (spool_id_parse(d->d_name, &id) && id.uhash == uhash && id.seq < seq)
				found = 1;
			at += d->d_reclen;
		}
	}
	close(fd);
	return found;
}

/* ---- the count of files ---------------------------------------------------------- */

/* The stored count, or -1 when there is none (or it is unreadable). */
static long long count_read(struct spool *sp)
{
	char p[SPOOL_PATH_MAX], b[COUNT_WIDTH + 2];
	long long v = -1;
	ssize_t n;
	int fd;

	if (!path_of(sp, p, "count") || (fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return -1;
	n = pread(fd, b, sizeof b - 1, 0);
	close(fd);
	if (n != COUNT_WIDTH + 1 || b[COUNT_WIDTH] != '\n')
		return -1;
	b[COUNT_WIDTH] = '\0';
	return text_parse_ll(b, 0, 1000000000000LL, &v) ? v : -1;
}

static int count_store(int fd, long long v)
{
	char b[COUNT_WIDTH + 2];

	snprintf(b, sizeof b, "%0*lld\n", COUNT_WIDTH, v < 0 ? 0 : v);
	return pwrite(fd, b, COUNT_WIDTH + 1, 0) == COUNT_WIDTH + 1 ? 0 : -1;
}

/* Opens the count file and takes its flock; -1 on failure. */
static int count_open_locked(struct spool *sp)
{
	char p[SPOOL_PATH_MAX];
	int fd;

	if (!path_of(sp, p, "count"))
		return -1;
	fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		sys_fail(sp, "open", p);
		return -1;
	}
	while (flock(fd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

/* Adds delta to the stored count. A lost update only skews a hint that the
 * next recount corrects, so failures are not reported. */
static void count_adjust(struct spool *sp, long long delta)
{
	int fd = count_open_locked(sp);
	long long v;

	if (fd < 0)
		return;
	v = count_read(sp);
	if (v >= 0)
		count_store(fd, v + delta);
	close(fd);
}

/* Counts the submissions in one directory; with `tally`, each is counted in
 * the shared table too. */
static enum spool_err count_files(struct spool *sp, const char *path, size_t *n,
                                  struct shared_hold *tally)
{
	struct dirent *d;
	DIR *dir = opendir(path);

	if (!dir)
		return errno == ENOENT ? SPOOL_OK : sys_fail(sp, "opendir", path);
	errno = 0;
	while ((d = readdir(dir)) != NULL) {
		struct spool_id id;

		if (spool_id_parse(d->d_name, &id)) {
			(*n)++;
			if (tally)
				shared_count(tally, id.uhash, 1);
		}
		errno = 0;
	}
	closedir(dir);
	return errno ? sys_fail(sp, "readdir", path) : SPOOL_OK;
}

/* Counts queue/ (into `tally` too, when not NULL). */
static enum spool_err count_queue(struct spool *sp, size_t *n, struct shared_hold *tally)
{
	char p[SPOOL_PATH_MAX];
	enum spool_err e = SPOOL_OK;

	*n = 0;
	for (unsigned b = 0; e == SPOOL_OK && b < SPOOL_BUCKETS; b++)
		e = bucket_path(sp, b, p) ? count_files(sp, p, n, tally) : SPOOL_EIO;
	return e;
}

/* Counts queue/ (into `tally` too, when not NULL) and dead/. */
static enum spool_err count_all(struct spool *sp, size_t *n, struct shared_hold *tally)
{
	char p[SPOOL_PATH_MAX];
	enum spool_err e = count_queue(sp, n, tally);

	if (e == SPOOL_OK)
		e = path_of(sp, p, "dead") ? count_files(sp, p, n, NULL) : SPOOL_EIO;
	return e;
}

enum spool_err spool_recount(struct spool *sp, size_t *n)
{
	struct shared_hold h;
	enum spool_err e;
	bool tally;
	int fd;

	*n = 0;
	if ((e = spool_prepare(sp)) != SPOOL_OK)
		return e;
	/* Under the locks, so that no writer's update falls between count and
	 * store (the count's lock first: writers never take both at once). */
	if ((fd = count_open_locked(sp)) < 0)
		return SPOOL_EIO;
	tally = shared_recount_begin(sp->dir, &h);
	e = count_all(sp, n, tally ? &h : NULL);
	if (e == SPOOL_OK && count_store(fd, (long long)*n) != 0)
		e = sys_fail(sp, "write", "count");
	if (e == SPOOL_OK)
		shared_trust(&h);
	if (tally)
		shared_end(&h);
	close(fd);
	return e;
}

/* Room for one more file? The stored count decides while it is clearly below
 * the limit; at the limit the files are counted again, so a drifted hint never
 * refuses a submission wrongly. */
static enum spool_err check_room(struct spool *sp)
{
	long long c = count_read(sp);
	size_t n;
	enum spool_err e;

	if (c >= 0 && (unsigned long long)c < sp->max_files)
		return SPOOL_OK;
	if ((e = spool_recount(sp, &n)) != SPOOL_OK)
		return e;
	if (n >= sp->max_files) {
		say(sp, "spool holds %zu files, max-files is %zu", n, sp->max_files);
		return SPOOL_EFULL;
	}
	return SPOOL_OK;
}

/* ---- records ------------------------------------------------------------------------ */

static bool add_str(cJSON *o, const char *k, const char *v)
{
	return cJSON_AddStringToObject(o, k, v) != NULL;
}

/* One {time, reason} entry appended to the array h. */
static bool add_event(cJSON *h, const char *time, const char *reason)
{
	cJSON *e = cJSON_CreateObject();

	if (!e || !add_str(e, "time", time) || !add_str(e, "reason", reason) ||
	    !cJSON_AddItemToArray(h, e)) {
		cJSON_Delete(e);
		return false;
	}
	return true;
}

/* The record's "requeued" and "history" members: the events of `past` (may
 * be NULL), then its death now when `reason`, the newest SPOOL_MAX_HISTORY. */
static bool add_past(cJSON *o, const struct spool_item *past, const char *died,
                     const char *reason)
{
	unsigned n = past ? past->n_history : 0, total = n + (reason != NULL), i;
	cJSON *h;

	if (past && past->requeued &&
	    !cJSON_AddNumberToObject(o, "requeued", (double)past->requeued))
		return false;
	if (!total)
		return true;
	if (!(h = cJSON_AddArrayToObject(o, "history")))
		return false;
	for (i = total > SPOOL_MAX_HISTORY ? total - SPOOL_MAX_HISTORY : 0; i < n; i++)
		if (!add_event(h, past->history[i].time, past->history[i].reason))
			return false;
	return !reason || add_event(h, died, reason);
}

/* The JSON text of a record; NULL when out of memory or over the limit. `past`
 * (NULL for a new one) gives its requeue time and history. */
static char *record_text(const struct spool_id *id, const cJSON *identify, const cJSON *steps,
                         const char *form, const struct spool_state *st, const char *reason,
                         const struct spool_item *past, enum spool_err *err)
{
	cJSON *o = cJSON_CreateObject();
	struct timespec ts = { (time_t)(id->seq / 1000000000ull), (long)(id->seq % 1000000000ull) };
	char accepted[UUID_TS_SIZE], died[UUID_TS_SIZE];
	char *s = NULL;
	bool ok;

	*err = SPOOL_ENOMEM;
	if (!uuid_timestamp_at(&ts, accepted))
		accepted[0] = '\0';
	if (!uuid_timestamp(died))
		died[0] = '\0';
	ok = o && cJSON_AddNumberToObject(o, "version", 1) && add_str(o, "form", form) &&
	     add_str(o, "accepted", accepted) &&
	     cJSON_AddNumberToObject(o, "attempts", st->attempts) &&
	     cJSON_AddNumberToObject(o, "next_attempt", (double)st->next_attempt) &&
	     add_str(o, "last_error", st->last_error);
	if (ok && reason)
		ok = add_str(o, "reason", reason) && add_str(o, "dead_at", died);
	ok = ok && add_past(o, past, died, reason);
	/* A reference: the message is printed without being copied (cJSON does
	 * not change the item it refers to). */
	ok = ok && (!steps || cJSON_AddItemReferenceToObject(o, "steps", (cJSON *)steps)) &&
	     cJSON_AddItemReferenceToObject(o, "identify", (cJSON *)identify);
	if (ok)
		s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (s && strlen(s) > SPOOL_MAX_RECORD) {
		cJSON_free(s);
		*err = SPOOL_EINVAL;
		return NULL;
	}
	return s;
}

/*
 * Writes text to a new file in the directory `dir` and renames it to `final`
 * (in the same directory: with other writers on the disk, a rename across two
 * directories cost up to three times as much here). The temporary name starts
 * with a dot, so no listing takes it for a submission. The file is flushed
 * before the rename; with sync_dir the directory is flushed after it. The
 * mtime is set when mtime > 0.
 */
static enum spool_err write_file(struct spool *sp, const char *text, const char *dir,
                                 const char *final, long long mtime, bool sync_dir)
{
	static unsigned serial;
	char tmp[SPOOL_PATH_MAX];
	enum spool_err e = SPOOL_OK;
	int fd, n;

	n = snprintf(tmp, sizeof tmp, "%s/.%ld.%u.%llu", dir, (long)getpid(), serial++,
	             (unsigned long long)spool_seq_now());
	if (n < 0 || (size_t)n >= sizeof tmp) {
		say(sp, "spool directory path too long");
		return SPOOL_EIO;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return sys_fail(sp, "create", tmp);
	if (io_write_all(fd, text, strlen(text)) != 0)
		e = sys_fail(sp, "write", tmp);
	else if (fdatasync(fd) != 0)
		e = sys_fail(sp, "fdatasync", tmp);
	if (e == SPOOL_OK && mtime > 0) {
		struct timespec t[2] = { { 0, UTIME_OMIT }, { (time_t)mtime, 0 } };
		if (futimens(fd, t) != 0)
			e = sys_fail(sp, "futimens", tmp);
	}
	if (close(fd) != 0 && e == SPOOL_OK)
		e = sys_fail(sp, "close", tmp);
	if (e == SPOOL_OK && rename(tmp, final) != 0)
		e = sys_fail(sp, "rename", final);
	if (e != SPOOL_OK) {
		unlink(tmp);
		return e;
	}
	if (sync_dir && io_fsync_dir(dir) != 0)
		return sys_fail(sp, "fsync", dir);
	return SPOOL_OK;
}

/* The directory of an area (and bucket) into out. */
static bool area_dir(const struct spool *sp, enum spool_area area, uint64_t uhash, char *out)
{
	return area == SPOOL_DEAD ? path_of(sp, out, "dead")
	                          : bucket_path(sp, bucket_of(uhash), out);
}

/* spool_add with the file's mtime given: its next attempt, or a hold. */
static enum spool_err add(struct spool *sp, enum spool_area area, const struct spool_id *id,
                          const cJSON *identify, const cJSON *steps, const char *form_id,
                          const struct spool_state *st, const char *reason, long long mtime)
{
	char final[SPOOL_PATH_MAX], dir[SPOOL_PATH_MAX];
	struct shared_hold h;
	enum spool_err e;
	char *text;

	if ((e = spool_prepare(sp)) != SPOOL_OK || (e = check_room(sp)) != SPOOL_OK)
		return e;
	if (!item_path(sp, area, id, final) || !area_dir(sp, area, id->uhash, dir)) {
		say(sp, "spool directory path too long");
		return SPOOL_EIO;
	}
	text = record_text(id, identify, steps, form_id, st, area == SPOOL_DEAD ? reason : NULL, NULL,
	                   &e);
	if (!text) {
		say(sp, "%s", e == SPOOL_EINVAL ? "record larger than the spool takes" : "out of memory");
		return e;
	}
	if (area == SPOOL_QUEUE) {
		/* Counted before it can be seen; a failed write stays counted (too
		 * high costs a directory read, too low would let a later submission
		 * pass it). */
		shared_begin(sp->dir, &h);
		shared_count(&h, id->uhash, 1);
	}
	e = write_file(sp, text, dir, final, area == SPOOL_QUEUE ? mtime : 0, true);
	if (area == SPOOL_QUEUE)
		shared_end(&h);
	cJSON_free(text);
	if (e == SPOOL_OK)
		count_adjust(sp, 1);
	return e;
}

enum spool_err spool_add(struct spool *sp, enum spool_area area, const struct spool_id *id,
                         const cJSON *identify, const cJSON *steps, const char *form_id,
                         const struct spool_state *st, const char *reason)
{
	return add(sp, area, id, identify, steps, form_id, st, reason, st->next_attempt);
}

enum spool_err spool_add_held(struct spool *sp, const struct spool_id *id, const cJSON *identify,
                              const char *form_id, long long until)
{
	static const struct spool_state fresh = { 0 };

	return add(sp, SPOOL_QUEUE, id, identify, NULL, form_id, &fresh, NULL, until);
}

static bool get_str(const cJSON *o, const char *k, char *dst, size_t size)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (!v)
		return (dst[0] = '\0', true);
	return cJSON_IsString(v) && text_copy(dst, size, v->valuestring);
}

static bool get_num(const cJSON *o, const char *k, double lo, double hi, double *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (!cJSON_IsNumber(v) || !(v->valuedouble >= lo && v->valuedouble <= hi))
		return false;
	*out = v->valuedouble;
	return true;
}

/* Appends an event to the history of it, the oldest dropped when it is full. */
static void push_event(struct spool_item *it, const char *at, const char *reason)
{
	struct spool_event *ev;

	if (it->n_history == SPOOL_MAX_HISTORY) {
		memmove(it->history, it->history + 1, (SPOOL_MAX_HISTORY - 1) * sizeof *it->history);
		it->n_history--;
	}
	ev = &it->history[it->n_history++];
	if (!text_copy(ev->time, sizeof ev->time, at))
		ev->time[0] = '\0';
	if (!text_copy(ev->reason, sizeof ev->reason, reason))
		ev->reason[sizeof ev->reason - 1] = '\0';
}

/* The "requeued" and "history" members of a record into it; false when they
 * are not what record_text writes. A dead record written before histories
 * existed gets one of its reason. */
static bool read_past(const cJSON *doc, struct spool_item *it)
{
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(doc, "history"), *e;
	char at[UUID_TS_SIZE], reason[SPOOL_MAX_ERROR];
	double when;

	if (cJSON_GetObjectItemCaseSensitive(doc, "requeued")) {
		if (!get_num(doc, "requeued", 0, 1e13, &when))
			return false;
		it->requeued = (long long)when;
	}
	if (!h) {
		if (it->reason[0] && get_str(doc, "dead_at", at, sizeof at))
			push_event(it, at, it->reason);
		return true;
	}
	if (!cJSON_IsArray(h))
		return false;
	/* More than a record keeps (written by hand): the newest are kept. */
	cJSON_ArrayForEach(e, h) {
		if (!cJSON_IsObject(e) || !get_str(e, "time", at, sizeof at) ||
		    !get_str(e, "reason", reason, sizeof reason))
			return false;
		push_event(it, at, reason);
	}
	return true;
}

/* Reads the whole file into a NUL-terminated buffer, within the limit. */
static enum spool_err slurp(struct spool *sp, const char *path, char **out, size_t *len,
                            long long *mtime)
{
	enum spool_err e = SPOOL_OK;
	struct stat st;
	char *b = NULL;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return errno == ENOENT ? SPOOL_ENOENT : sys_fail(sp, "open", path);
	if (fstat(fd, &st) != 0) {
		e = sys_fail(sp, "stat", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size < 0 || (size_t)st.st_size > SPOOL_MAX_RECORD) {
		char shown[SPOOL_PATH_MAX];

		redact(path, shown, sizeof shown);
		say(sp, "%s: not a regular file of at most %u bytes", shown, SPOOL_MAX_RECORD);
		e = SPOOL_ECORRUPT;
		goto out;
	}
	if (!(b = malloc((size_t)st.st_size + 1))) {
		e = SPOOL_ENOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, b + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = sys_fail(sp, "read", path);
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	b[got] = '\0';
	*out = b;
	*len = got;
	*mtime = (long long)st.st_mtime;
	b = NULL;
out:
	free(b);
	close(fd);
	return e;
}

enum spool_err spool_parse(const char *text, size_t len, enum spool_area area,
                           const struct spool_id *id, struct spool_item *out, const char **why)
{
	enum spool_err e = SPOOL_ECORRUPT;
	cJSON *doc, *idj, *stj;
	struct spool_id check;
	double att, next, ver;

	memset(out, 0, sizeof *out);
	out->id = *id;
	out->area = area;
	*why = "not a spool record";
	doc = cJSON_ParseWithLength(text, len);
	idj = cJSON_GetObjectItemCaseSensitive(doc, "identify");
	stj = cJSON_GetObjectItemCaseSensitive(doc, "steps");
	if (!cJSON_IsObject(doc) || (stj && !cJSON_IsArray(stj)) || !get_num(doc, "version", 1, 1, &ver) ||
	    !get_str(doc, "form", out->form, sizeof out->form) || !out->form[0] ||
	    !get_num(doc, "attempts", 0, 1e9, &att) ||
	    !get_num(doc, "next_attempt", 0, 1e13, &next) ||
	    !get_str(doc, "last_error", out->st.last_error, sizeof out->st.last_error) ||
	    !get_str(doc, "reason", out->reason, sizeof out->reason) || !cJSON_IsObject(idj) ||
	    !read_past(doc, out))
		goto out;
	/* The name must belong to the message inside. */
	if (spool_id_of(idj, id->seq, id->dest, &check) != SPOOL_OK || check.uhash != id->uhash ||
	    strcmp(check.mid, id->mid) != 0) {
		*why = "the name does not match the message";
		goto out;
	}
	out->st.attempts = (unsigned)att;
	out->st.next_attempt = (long long)next;
	out->identify = cJSON_DetachItemViaPointer(doc, idj);
	out->steps = stj ? cJSON_DetachItemViaPointer(doc, stj) : NULL;
	*why = NULL;
	e = SPOOL_OK;
out:
	cJSON_Delete(doc);
	return e;
}

enum spool_err spool_read(struct spool *sp, enum spool_area area, const struct spool_id *id,
                          struct spool_item *out)
{
	char p[SPOOL_PATH_MAX], shown[SPOOL_PATH_MAX];
	enum spool_err e;
	const char *why;
	char *text = NULL;
	size_t len = 0;
	long long mtime = 0;

	memset(out, 0, sizeof *out);
	out->id = *id;
	out->area = area;
	if (!item_path(sp, area, id, p))
		return SPOOL_EIO;
	if ((e = slurp(sp, p, &text, &len, &mtime)) != SPOOL_OK)
		return e;
	if ((e = spool_parse(text, len, area, id, out, &why)) != SPOOL_OK) {
		redact(p, shown, sizeof shown);
		say(sp, "%s: %s", shown, why);
	}
	out->mtime = mtime;
	free(text);
	return e;
}

void spool_item_free(struct spool_item *it)
{
	cJSON_Delete(it->identify);
	cJSON_Delete(it->steps);
	it->identify = NULL;
	it->steps = NULL;
}

enum spool_err spool_mtime(struct spool *sp, const struct spool_id *id, long long *mtime)
{
	char p[SPOOL_PATH_MAX];
	struct stat st;

	if (!item_path(sp, SPOOL_QUEUE, id, p))
		return SPOOL_EIO;
	if (lstat(p, &st) != 0)
		return errno == ENOENT ? SPOOL_ENOENT : sys_fail(sp, "lstat", p);
	*mtime = (long long)st.st_mtime;
	return SPOOL_OK;
}

enum spool_err spool_mark(struct spool *sp, const struct spool_id *id, long long until)
{
	char p[SPOOL_PATH_MAX];
	/* Both times: the kernel reports a change of both as IN_ATTRIB, which
	 * the watcher listens for (of the mtime alone, as IN_MODIFY). */
	struct timespec t[2] = { { (time_t)until, 0 }, { (time_t)until, 0 } };

	if (!item_path(sp, SPOOL_QUEUE, id, p))
		return SPOOL_EIO;
	if (utimensat(AT_FDCWD, p, t, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT ? SPOOL_ENOENT : sys_fail(sp, "utimensat", p);
	return SPOOL_OK;
}

char *spool_item_text(const struct spool_item *it, enum spool_err *err)
{
	return record_text(&it->id, it->identify, it->steps, it->form, &it->st, NULL, it, err);
}

/* Writes a waiting record over its file, with that mtime; the folder is
 * flushed too when sync_dir. */
static enum spool_err rewrite(struct spool *sp, struct spool_item *it, long long mtime,
                              bool sync_dir)
{
	char p[SPOOL_PATH_MAX], dir[SPOOL_PATH_MAX];
	enum spool_err e;
	char *text;

	if (!item_path(sp, SPOOL_QUEUE, &it->id, p) || !area_dir(sp, SPOOL_QUEUE, it->id.uhash, dir))
		return SPOOL_EIO;
	if (!(text = spool_item_text(it, &e)))
		return e;
	e = write_file(sp, text, dir, p, mtime > 0 ? mtime : 1, sync_dir);
	cJSON_free(text);
	return e;
}

enum spool_err spool_reschedule(struct spool *sp, struct spool_item *it)
{
	/* The old version stays valid until the rename: no directory flush
	 * needed, either version is a correct state after a crash (the steps
	 * it records were flushed by spool_save as each was done). */
	return rewrite(sp, it, it->st.next_attempt, false);
}

enum spool_err spool_save(struct spool *sp, struct spool_item *it, long long mtime)
{
	return rewrite(sp, it, mtime, true);
}

enum spool_err spool_remove(struct spool *sp, const struct spool_id *id)
{
	char p[SPOOL_PATH_MAX];
	struct shared_hold h;
	enum spool_err e = SPOOL_OK;

	if (!item_path(sp, SPOOL_QUEUE, id, p))
		return SPOOL_EIO;
	shared_begin(sp->dir, &h);
	/* Not flushed: if a crash brings the file back, it is delivered again,
	 * which updates the same contact with the same values. */
	if (unlink(p) != 0)
		e = errno == ENOENT ? SPOOL_ENOENT : sys_fail(sp, "unlink", p);
	else
		shared_count(&h, id->uhash, -1);   /* once it is gone */
	shared_end(&h);
	if (e == SPOOL_OK)
		count_adjust(sp, -1);
	return e;
}

enum spool_err spool_bury(struct spool *sp, struct spool_item *it, const char *reason)
{
	char from[SPOOL_PATH_MAX], to[SPOOL_PATH_MAX], dir[SPOOL_PATH_MAX];
	struct shared_hold h;
	enum spool_err e;
	char *text;

	if (!item_path(sp, SPOOL_QUEUE, &it->id, from) || !item_path(sp, SPOOL_DEAD, &it->id, to) ||
	    !path_of(sp, dir, "dead"))
		return SPOOL_EIO;
	if (!(text = record_text(&it->id, it->identify, it->steps, it->form, &it->st, reason, it,
	                         &e)))
		return e;
	/* dead/ first, then the queue copy goes: a crash in between leaves both,
	 * and the queue copy is tried (and buried) again. */
	e = write_file(sp, text, dir, to, 0, true);
	cJSON_free(text);
	if (e != SPOOL_OK)
		return e;
	shared_begin(sp->dir, &h);
	if (unlink(from) == 0)
		shared_count(&h, it->id.uhash, -1);
	else if (errno != ENOENT)
		e = sys_fail(sp, "unlink", from);
	shared_end(&h);
	if (e != SPOOL_OK)
		return e;
	it->area = SPOOL_DEAD;
	if (!text_copy(it->reason, sizeof it->reason, reason))
		it->reason[sizeof it->reason - 1] = '\0';
	return SPOOL_OK;
}

enum spool_err spool_quarantine(struct spool *sp, const struct spool_id *id)
{
	char from[SPOOL_PATH_MAX], to[SPOOL_PATH_MAX], dir[SPOOL_PATH_MAX];
	struct shared_hold h;
	enum spool_err e = SPOOL_OK;

	if (!item_path(sp, SPOOL_QUEUE, id, from) || !item_path(sp, SPOOL_DEAD, id, to) ||
	    !path_of(sp, dir, "dead"))
		return SPOOL_EIO;
	shared_begin(sp->dir, &h);
	if (rename(from, to) != 0)
		e = errno == ENOENT ? SPOOL_ENOENT : sys_fail(sp, "rename", from);
	else
		shared_count(&h, id->uhash, -1);
	shared_end(&h);
	if (e != SPOOL_OK)
		return e;
	if (io_fsync_dir(dir) != 0)
		return sys_fail(sp, "fsync", dir);
	return SPOOL_OK;
}

/* ---- status, purge, requeue ------------------------------------------------------------ */

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* How many of the userIds waiting in q are locked by a delivering process. */
static size_t count_in_flight(struct spool *sp, const struct spool_list *q)
{
	uint64_t *h;
	size_t n = 0;
	int fd;

	if (!q->n || (fd = open_lock_file(sp, O_RDONLY)) < 0)
		return 0;
	if ((h = malloc(q->n * sizeof *h)) != NULL) {
		for (size_t i = 0; i < q->n; i++)
			h[i] = q->v[i].id.uhash;
		qsort(h, q->n, sizeof *h, u64_cmp);
		for (size_t i = 0; i < q->n; i++)
			if ((i == 0 || h[i] != h[i - 1]) && user_locked(fd, h[i]))
				n++;
		free(h);
	}
	close(fd);
	return n;
}

/* Counts one file of `dest` in the table of out (the waiting or the dead
 * column); names beyond the table are left out. */
static void count_dest(struct spool_stats *out, const char *dest, bool dead)
{
	size_t i;

	for (i = 0; i < out->n_dests; i++)
		if (strcmp(out->by_dest[i].dest, dest) == 0)
			break;
	if (i == out->n_dests) {
		if (i == SPOOL_STATS_DESTS)
			return;
		snprintf(out->by_dest[i].dest, sizeof out->by_dest[i].dest, "%s", dest);
		out->n_dests++;
	}
	if (dead)
		out->by_dest[i].dead++;
	else
		out->by_dest[i].waiting++;
}

enum spool_err spool_stats(struct spool *sp, struct spool_stats *out)
{
	struct spool_list q = { 0 }, d = { 0 };
	enum spool_err e;
	struct stat st;

	memset(out, 0, sizeof *out);
	if (stat(sp->dir, &st) != 0 || !S_ISDIR(st.st_mode) || access(sp->dir, R_OK | X_OK) != 0) {
		say(sp, "%s: not a readable directory", sp->dir);
		return SPOOL_EIO;
	}
	if ((e = spool_list(sp, SPOOL_QUEUE, -1, false, &q)) != SPOOL_OK)
		return e;
	if ((e = spool_list(sp, SPOOL_DEAD, -1, false, &d)) != SPOOL_OK)
		goto out;
	out->waiting = q.n;
	out->dead = d.n;
	/* Freshmarketer first, even when nothing of it waits. */
	out->n_dests = 1;
	for (size_t i = 0; i < q.n; i++)
		count_dest(out, q.v[i].id.dest, false);
	for (size_t i = 0; i < d.n; i++)
		count_dest(out, d.v[i].id.dest, true);
	if (q.n) {
		uint64_t now = spool_seq_now();
		out->oldest_s = now > q.v[0].id.seq ? (long long)((now - q.v[0].id.seq) / 1000000000ull) : 0;
	}
	out->in_flight = count_in_flight(sp, &q);
out:
	spool_list_free(&q);
	spool_list_free(&d);
	return e;
}

enum spool_err spool_purge_dead(struct spool *sp, long long older_than_s, size_t *n)
{
	struct spool_list l;
	char p[SPOOL_PATH_MAX];
	long long now = now_s();
	enum spool_err e;

	*n = 0;
	if ((e = spool_list(sp, SPOOL_DEAD, -1, true, &l)) != SPOOL_OK)
		return e;
	for (size_t i = 0; i < l.n && e == SPOOL_OK; i++) {
		if (older_than_s > 0 && now - l.v[i].mtime <= older_than_s)
			continue;
		if (!item_path(sp, SPOOL_DEAD, &l.v[i].id, p))
			e = SPOOL_EIO;
		else if (unlink(p) == 0)
			(*n)++;
		else if (errno != ENOENT)
			e = sys_fail(sp, "unlink", p);
	}
	if (*n)
		count_adjust(sp, -(long long)*n);
	spool_list_free(&l);
	return e;
}

/* Its refused steps pending again; a record whose steps do not read as
 * steps keeps them as they are (delivery buries it again, saying why). */
static enum spool_err revive_steps(struct spool *sp, struct spool_item *it)
{
	struct steps st;
	cJSON *j;

	if (!it->steps || steps_from_json(it->steps, &st) != STEPS_OK)
		return SPOOL_OK;
	steps_revive(&st);
	j = steps_to_json(&st);
	steps_free(&st);
	if (!j) {
		say(sp, "out of memory for the steps of %s", it->id.mid);
		return SPOOL_ENOMEM;
	}
	cJSON_Delete(it->steps);
	it->steps = j;
	return SPOOL_OK;
}

/* Moves one dead submission back, under its userId's lock. */
static enum spool_err requeue_one(struct spool *sp, const struct spool_id *id)
{
	char from[SPOOL_PATH_MAX], to[SPOOL_PATH_MAX], dir[SPOOL_PATH_MAX], now[UUID_TS_SIZE];
	struct shared_hold h;
	struct spool_item it;
	struct spool_lock lk;
	enum spool_err e;
	char *text = NULL;

	if ((e = spool_prepare(sp)) != SPOOL_OK)
		return e;
	/* A drain may hold the lock for a few seconds: wait for it, briefly. */
	for (int i = 0; (e = spool_lock_user(sp, id->uhash, &lk)) == SPOOL_EBUSY && i < 300; i++)
		usleep(100000);
	if (e != SPOOL_OK) {
		if (e == SPOOL_EBUSY)
			say(sp, "the userId of %s stays locked", id->mid);
		return e;
	}
	if ((e = spool_read(sp, SPOOL_DEAD, id, &it)) != SPOOL_OK)
		goto out_unlock;
	memset(&it.st, 0, sizeof it.st);
	/* A new age: after an outage longer than max-age-days, requeued
	 * submissions would otherwise expire again at once. */
	it.requeued = now_s();
	if (!uuid_timestamp(now))
		now[0] = '\0';
	push_event(&it, now, SPOOL_REQUEUED);
	if ((e = revive_steps(sp, &it)) != SPOOL_OK)
		goto out;
	if (!item_path(sp, SPOOL_DEAD, id, from) || !item_path(sp, SPOOL_QUEUE, id, to) ||
	    !bucket_path(sp, bucket_of(id->uhash), dir)) {
		e = SPOOL_EIO;
		goto out;
	}
	if (!(text = record_text(id, it.identify, it.steps, it.form, &it.st, NULL, &it, &e)))
		goto out;
	/* Counted before it can be seen, as spool_add() does. */
	shared_begin(sp->dir, &h);
	shared_count(&h, id->uhash, 1);
	e = write_file(sp, text, dir, to, 0, true);
	shared_end(&h);
	if (e != SPOOL_OK)
		goto out;
	/* A crash before this unlink leaves a dead copy too; requeueing it again
	 * writes the same waiting file. */
	if (unlink(from) != 0 && errno != ENOENT)
		e = sys_fail(sp, "unlink", from);
out:
	cJSON_free(text);
	spool_item_free(&it);
out_unlock:
	spool_unlock(&lk);
	return e;
}

enum spool_err spool_requeue_dead(struct spool *sp, const char *want, const char *dest,
                                  size_t *n)
{
	struct spool_list l;
	enum spool_err e;

	*n = 0;
	if ((e = spool_list(sp, SPOOL_DEAD, -1, false, &l)) != SPOOL_OK)
		return e;
	for (size_t i = 0; i < l.n && e == SPOOL_OK; i++) {
		char name[SPOOL_NAME_SIZE];

		spool_id_name(&l.v[i].id, name);
		if (want && strcmp(want, name) != 0 && strcmp(want, l.v[i].id.mid) != 0)
			continue;
		if (dest && strcmp(dest, l.v[i].id.dest) != 0 &&
		    !(strcmp(dest, MAP_CRM_NAME) == 0 && !l.v[i].id.dest[0]))
			continue;
		e = requeue_one(sp, &l.v[i].id);
		if (e == SPOOL_OK)
			(*n)++;
		else if (e == SPOOL_ENOENT)
			e = SPOOL_OK;  /* purged or requeued by someone else meanwhile */
	}
	spool_list_free(&l);
	if (e == SPOOL_OK && (want || dest) && *n == 0) {
		say(sp, "no dead submission%s%s%s%s", want ? " " : "", want ? want : "",
		    dest ? " for " : "", dest ? dest : "");
		e = SPOOL_ENOENT;
	}
	return e;
}

/* ---- forgetting a person ------------------------------------------------------ */

/* Whether a file's identify message carries `email` (ignoring ASCII case). */
static bool carries(const struct spool_item *it, const char *email)
{
	const cJSON *traits = cJSON_GetObjectItemCaseSensitive(it->identify, "traits");
	const char *e = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(traits, "email"));

	return e && strcasecmp(e, email) == 0;
}

/* Removes one file found to carry the email, under its userId's lock: a
 * delivery in progress is waited for, briefly. SPOOL_ENOENT when it went
 * meanwhile, SPOOL_EBUSY when the lock stayed held. */
static enum spool_err forget_one(struct spool *sp, enum spool_area area, const struct spool_id *id)
{
	char p[SPOOL_PATH_MAX];
	struct spool_lock lk;
	enum spool_err e;

	for (int i = 0; (e = spool_lock_user(sp, id->uhash, &lk)) == SPOOL_EBUSY && i < 50; i++)
		usleep(100000);
	if (e != SPOOL_OK)
		return e;
	if (area == SPOOL_QUEUE) {
		e = spool_remove(sp, id);
	} else if (!item_path(sp, SPOOL_DEAD, id, p)) {
		e = SPOOL_EIO;
	} else if (unlink(p) != 0) {
		e = errno == ENOENT ? SPOOL_ENOENT : sys_fail(sp, "unlink", p);
	} else {
		count_adjust(sp, -1);
	}
	spool_unlock(&lk);
	return e;
}

/* Whether a file carries the email: SPOOL_OK (*match tells), SPOOL_ENOENT
 * when it went meanwhile, or why it could not be read. */
static enum spool_err carries_file(struct spool *sp, enum spool_area area,
                                   const struct spool_id *id, const char *email, bool *match)
{
	struct spool_item it;
	enum spool_err e = spool_read(sp, area, id, &it);

	if (e == SPOOL_OK)
		*match = carries(&it, email);
	spool_item_free(&it);
	return e;
}

/* Flushes each directory of `area` that the files marked in gone[] left:
 * a removal is said only once it lasts a crash. */
static enum spool_err flush_removed(struct spool *sp, enum spool_area area,
                                    const struct spool_list *l, const bool *gone)
{
	bool done[SPOOL_BUCKETS] = { false };
	char dir[SPOOL_PATH_MAX];

	for (size_t i = 0; i < l->n; i++) {
		unsigned b = area == SPOOL_DEAD ? 0 : bucket_of(l->v[i].id.uhash);

		if (!gone[i] || done[b])
			continue;
		done[b] = true;
		if (!area_dir(sp, area, l->v[i].id.uhash, dir))
			return SPOOL_EIO;
		if (io_fsync_dir(dir) != 0)
			return sys_fail(sp, "fsync", dir);
	}
	return SPOOL_OK;
}

/* spool_forget in one area. */
static enum spool_err forget_area(struct spool *sp, enum spool_area area, const char *email,
                                  spool_forget_fn *fn, void *ud, struct spool_forgot *out)
{
	struct spool_list l;
	enum spool_err e;
	bool *gone;

	if ((e = spool_list(sp, area, -1, false, &l)) != SPOOL_OK)
		return e;
	if (!(gone = calloc(l.n ? l.n : 1, sizeof *gone))) {
		spool_list_free(&l);
		return SPOOL_ENOMEM;
	}
	for (size_t i = 0; i < l.n; i++) {
		bool match = false;

		sp->why[0] = '\0';
		e = carries_file(sp, area, &l.v[i].id, email, &match);
		if (e == SPOOL_OK && match)
			e = forget_one(sp, area, &l.v[i].id);
		gone[i] = e == SPOOL_OK && match;
		if (e == SPOOL_EBUSY) {
			out->busy++;
		} else if (e != SPOOL_OK && e != SPOOL_ENOENT) {
			/* Maybe the email's: said, and the rest still done. */
			out->failed++;
			fn(ud, area, &l.v[i].id, sp->why[0] ? sp->why : spool_strerror(e));
		}
	}
	e = flush_removed(sp, area, &l, gone);
	for (size_t i = 0; i < l.n && e == SPOOL_OK; i++) {
		if (gone[i]) {
			out->removed++;
			fn(ud, area, &l.v[i].id, NULL);
		}
	}
	free(gone);
	spool_list_free(&l);
	return e;
}

enum spool_err spool_forget(struct spool *sp, const char *email, spool_forget_fn *fn, void *ud,
                            struct spool_forgot *out)
{
	enum spool_err e = SPOOL_OK;

	memset(out, 0, sizeof *out);
	for (int a = SPOOL_QUEUE; a <= SPOOL_DEAD && e == SPOOL_OK; a++)
		e = forget_area(sp, (enum spool_area)a, email, fn, ud, out);
	return e;
}

/* Removes the dot-files of one directory older than older_than_s. */
static size_t clean_dir(const char *path, long long now, long long older_than_s)
{
	struct dirent *d;
	size_t n = 0;
	DIR *dir = opendir(path);

	if (!dir)
		return 0;
	while ((d = readdir(dir)) != NULL) {
		struct stat st;

		if (d->d_name[0] != '.' || strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0 ||
		    fstatat(dirfd(dir), d->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(st.st_mode) || now - (long long)st.st_mtime <= older_than_s)
			continue;
		if (unlinkat(dirfd(dir), d->d_name, 0) == 0)
			n++;
	}
	closedir(dir);
	return n;
}

size_t spool_clean_tmp(struct spool *sp, long long older_than_s)
{
	char p[SPOOL_PATH_MAX];
	long long now = now_s();
	size_t n = 0;

	for (unsigned b = 0; b < SPOOL_BUCKETS; b++)
		if (bucket_path(sp, b, p))
			n += clean_dir(p, now, older_than_s);
	if (path_of(sp, p, "dead"))
		n += clean_dir(p, now, older_than_s);
	return n;
}

const char *spool_strerror(enum spool_err e)
{
	switch (e) {
	case SPOOL_OK: return "ok";
	case SPOOL_EIO: return "the spool cannot be written or read";
	case SPOOL_ENOSPC: return "no space left for the spool";
	case SPOOL_EFULL: return "the spool holds max-files files";
	case SPOOL_EBUSY: return "another process holds this userId";
	case SPOOL_ENOENT: return "no such submission";
	case SPOOL_ECORRUPT: return "not a spool record";
	case SPOOL_EINVAL: return "message not fit for the spool";
	case SPOOL_ENOMEM: return "out of memory";
	case SPOOL_EUNSAFE: return "the spool directory is not the process's alone";
	}
	return "unknown error";
}
