/* statedir.c: SPOOL/state, one descriptor, files relative to it (statedir.h). */
#include "statedir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "io.h"

struct statedir {
	struct statedir *next;   /* the process's other open folders */
	unsigned refs;           /* statedir_open() calls not yet closed */
	int fd;                  /* the folder */
	bool writer;             /* STATEDIR_WRITE: creates the folder again if removed */
	dev_t dev;               /* the folder fd refers to */
	ino_t ino;
	time_t checked_s;        /* monotonic second the path was last compared with fd */
	char path[STATEDIR_PATH_MAX];
};

static enum statedir_err err_of(int e)
{
	switch (e) {
	case ENOENT: return STATEDIR_ENOENT;
	case EEXIST: return STATEDIR_EEXIST;
	case ENOTDIR: return STATEDIR_ENOTDIR;
	case EACCES: case EPERM: case EROFS: return STATEDIR_EACCES;
	case ENOSPC: case EDQUOT: return STATEDIR_ENOSPC;
	case ENAMETOOLONG: case EINVAL: return STATEDIR_ENAME;
	case ENOMEM: return STATEDIR_ENOMEM;
	default: return STATEDIR_EIO;
	}
}

/* A file of the folder itself: no separator, no "." or "..", within the limit. */
static bool name_ok(const char *name)
{
	size_t n = strnlen(name, STATEDIR_MAX_NAME + 1);

	return n > 0 && n <= STATEDIR_MAX_NAME && !strchr(name, '/') &&
	       strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

/* Opens (for a writer: makes, and checks writable) the folder at path. */
static enum statedir_err attach(const char *path, bool writer, int *fd, struct stat *sb)
{
	enum statedir_err e;

	if (writer && mkdir(path, 0700) != 0 && errno != EEXIST)
		return err_of(errno);
	if ((*fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return err_of(errno);
	if (fstat(*fd, sb) == 0 && (!writer || access(path, W_OK | X_OK) == 0))
		return STATEDIR_OK;
	e = err_of(errno);
	close(*fd);
	*fd = -1;
	return e;
}

/* Follows a folder removed or replaced at its path: compared once a second,
 * or now when `now` (a create failed for want of the folder). Until a new
 * folder can be opened, the old descriptor serves. */
static void follow(struct statedir *sd, bool now)
{
	time_t sec = (time_t)(clock_mono_ms() / 1000);
	struct stat sb;
	int fd;

	if (!now && sec == sd->checked_s)
		return;
	sd->checked_s = sec;
	if (stat(sd->path, &sb) == 0 && sb.st_dev == sd->dev && sb.st_ino == sd->ino)
		return;
	if (attach(sd->path, sd->writer, &fd, &sb) != STATEDIR_OK)
		return;
	close(sd->fd);
	sd->fd = fd;
	sd->dev = sb.st_dev;
	sd->ino = sb.st_ino;
}

/* Every folder this process has open: one descriptor per folder and mode,
 * however many modules use it. */
static struct statedir *open_dirs;

struct statedir *statedir_open(const char *spool_dir, enum statedir_mode mode,
                               enum statedir_err *err)
{
	struct statedir *sd = NULL;
	char path[STATEDIR_PATH_MAX];
	struct stat sb;
	int n;

	*err = STATEDIR_ENAME;
	if (!spool_dir || !*spool_dir)
		return NULL;
	n = snprintf(path, sizeof path, "%s/%s", spool_dir, STATEDIR_NAME);
	if (n < 0 || (size_t)n >= sizeof path)
		return NULL;
	for (sd = open_dirs; sd; sd = sd->next) {
		if (sd->writer == (mode == STATEDIR_WRITE) && strcmp(sd->path, path) == 0) {
			sd->refs++;
			*err = STATEDIR_OK;
			return sd;
		}
	}
	*err = STATEDIR_ENOMEM;
	if (!(sd = calloc(1, sizeof *sd)))
		return NULL;
	sd->writer = mode == STATEDIR_WRITE;
	memcpy(sd->path, path, (size_t)n + 1);
	if ((*err = attach(sd->path, sd->writer, &sd->fd, &sb)) != STATEDIR_OK) {
		free(sd);
		return NULL;
	}
	sd->dev = sb.st_dev;
	sd->ino = sb.st_ino;
	sd->checked_s = (time_t)(clock_mono_ms() / 1000);
	sd->refs = 1;
	sd->next = open_dirs;
	open_dirs = sd;
	return sd;
}

void statedir_close(struct statedir *sd)
{
	struct statedir **at;

	if (!sd || --sd->refs > 0)
		return;
	for (at = &open_dirs; *at; at = &(*at)->next) {
		if (*at == sd) {
			*at = sd->next;
			break;
		}
	}
	if (sd->fd >= 0)
		close(sd->fd);
	free(sd);
}

const char *statedir_path(const struct statedir *sd)
{
	return sd->path;
}

/* openat() of a name known to be plain. */
static int open_in(struct statedir *sd, const char *name, int flags)
{
	int fd;

	follow(sd, false);
	flags |= O_CLOEXEC | O_NOFOLLOW | O_NOCTTY;
	fd = openat(sd->fd, name, flags, 0600);
	if (fd < 0 && errno == ENOENT && (flags & O_CREAT)) {
		/* Creating fails so only when the folder itself is gone. */
		follow(sd, true);
		fd = openat(sd->fd, name, flags, 0600);
	}
	return fd;
}

int statedir_openat(struct statedir *sd, const char *name, int flags)
{
	if (!name_ok(name)) {
		errno = EINVAL;
		return -1;
	}
	return open_in(sd, name, flags);
}

int statedir_stat(struct statedir *sd, const char *name, struct stat *sb)
{
	if (!name_ok(name)) {
		errno = EINVAL;
		return -1;
	}
	follow(sd, false);
	return fstatat(sd->fd, name, sb, AT_SYMLINK_NOFOLLOW);
}

int statedir_unlink(struct statedir *sd, const char *name)
{
	if (!name_ok(name)) {
		errno = EINVAL;
		return -1;
	}
	follow(sd, false);
	return unlinkat(sd->fd, name, 0);
}

enum statedir_err statedir_write(struct statedir *sd, const char *name, const void *p,
                                 size_t n, enum statedir_how how)
{
	char tmp[STATEDIR_MAX_NAME + 32];
	enum statedir_err e = STATEDIR_OK;
	int fd;

	if (!name_ok(name))
		return STATEDIR_ENAME;
	/* Dotted, so that no reader of the folder takes it for the file; one per
	 * process, so that writers never share one. */
	snprintf(tmp, sizeof tmp, ".%s.%ld.tmp", name, (long)getpid());
	if ((fd = open_in(sd, tmp, O_WRONLY | O_CREAT | O_TRUNC)) < 0)
		return err_of(errno);
	if (io_write_all(fd, p, n) != 0 || fsync(fd) != 0)
		e = err_of(errno);
	if (close(fd) != 0 && e == STATEDIR_OK)
		e = err_of(errno);
	if (e == STATEDIR_OK && how == STATEDIR_REPLACE &&
	    renameat(sd->fd, tmp, sd->fd, name) != 0)
		e = err_of(errno);
	/* link() fails when the name exists: the first writer's file stays. */
	if (e == STATEDIR_OK && how == STATEDIR_KEEP && linkat(sd->fd, tmp, sd->fd, name, 0) != 0)
		e = err_of(errno);
	if (e != STATEDIR_OK || how == STATEDIR_KEEP)
		unlinkat(sd->fd, tmp, 0);
	/* The new name on disk too; a failure here loses no content. */
	if (e == STATEDIR_OK)
		fsync(sd->fd);
	return e;
}

enum statedir_err statedir_read_fd(int fd, size_t max, char **out, size_t *len)
{
	enum statedir_err e = STATEDIR_OK;
	char *buf = malloc(max + 2);
	size_t got = 0;
	ssize_t r = 1;

	if (!buf)
		return STATEDIR_ENOMEM;
	/* Up to one byte past the limit, to tell a file over it. */
	while (got <= max && r != 0) {
		r = pread(fd, buf + got, max + 1 - got, (off_t)got);
		if (r < 0 && errno != EINTR) {
			e = err_of(errno);
			goto out;
		}
		got += r > 0 ? (size_t)r : 0;
	}
	if (got > max) {
		e = STATEDIR_ETOOBIG;
		goto out;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	buf = NULL;
out:
	free(buf);
	return e;
}

enum statedir_err statedir_read(struct statedir *sd, const char *name, size_t max,
                                char **out, size_t *len)
{
	enum statedir_err e;
	/* O_NONBLOCK: a FIFO put in the folder must not hang the reader. */
	int fd = statedir_openat(sd, name, O_RDONLY | O_NONBLOCK);

	if (fd < 0)
		return err_of(errno);
	e = statedir_read_fd(fd, max, out, len);
	close(fd);
	return e;
}

const char *statedir_strerror(enum statedir_err e)
{
	switch (e) {
	case STATEDIR_OK: return "ok";
	case STATEDIR_ENAME: return "no spool directory, or a path too long";
	case STATEDIR_ENOENT: return "no such file or directory";
	case STATEDIR_EEXIST: return "the file exists";
	case STATEDIR_ENOTDIR: return "not a directory";
	case STATEDIR_EACCES: return "permission denied";
	case STATEDIR_ENOSPC: return "no space left on the device";
	case STATEDIR_ETOOBIG: return "file too large";
	case STATEDIR_EIO: return "input/output error";
	case STATEDIR_ENOMEM: return "out of memory";
	}
	return "unknown error";
}
