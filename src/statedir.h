/*
 * statedir.h: the owner of SPOOL/state, the folder of small files through
 * which every fmgate process shares state (fm_state.h, throttle.h and
 * redact.h say which files are theirs).
 *
 * The folder is opened once: a statedir holds one descriptor of it, and every
 * state file is opened relative to that (openat), so no path is built per
 * call. A writer's statedir creates the folder (mode 0700) when it is missing;
 * the spool directory itself is never created (the installer owns it, and a
 * folder made where none was meant would spread personal data). When
 * SPOOL/state is removed or replaced under a running process (an operator
 * clearing it), the statedir follows the folder at that path: at once when a
 * file is to be created, else within a second.
 *
 * statedir_write() replaces a file whole: a temporary ".NAME.PID.tmp" is
 * written, fsync'ed and renamed over NAME (or, to keep a NAME that exists,
 * linked to it), then the folder is fsync'ed; a reader sees the old content
 * or the new, never a part. statedir_read() reads a small file whole within a
 * limit the caller names.
 *
 * Errors are enum statedir_err (and errno, for the calls that mirror a system
 * call); nothing here names a path in a message: the caller, who knows what a
 * file is for, says so, with statedir_path() when it wants the folder's.
 *
 * Ownership: a process has one struct statedir per folder and mode, however
 * many modules open it (fm_state, throttle and shared in a worker): each
 * statedir_open() counts a use, each statedir_close() ends one, and the last
 * closes the descriptor. It may be used on after fork(): no lock is taken on
 * the descriptor. Descriptors
 * from statedir_openat() and buffers from statedir_read*() are the caller's.
 */
#ifndef FMGATE_STATEDIR_H
#define FMGATE_STATEDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "fmgate_limits.h"

#define STATEDIR_NAME     "state"             /* the folder, in the spool directory */
#define STATEDIR_MAX_NAME 64u                 /* bytes of a state file's name */
#define STATEDIR_PATH_MAX (LIMIT_MAX_URL + 64u) /* bytes of SPOOL/state and its NUL */

struct statedir;

enum statedir_err {
	STATEDIR_OK = 0,
	STATEDIR_ENAME,    /* no spool directory, a path too long, a name not plain */
	STATEDIR_ENOENT,   /* missing: the spool directory, the folder or the file */
	STATEDIR_EEXIST,   /* the file exists (STATEDIR_KEEP) */
	STATEDIR_ENOTDIR,  /* SPOOL/state (or the spool) is not a directory */
	STATEDIR_EACCES,   /* not permitted (a writer needs a writable folder) */
	STATEDIR_ENOSPC,   /* the file system is full (or the quota used up) */
	STATEDIR_ETOOBIG,  /* a file over the limit its reader named */
	STATEDIR_EIO,      /* any other failed system call */
	STATEDIR_ENOMEM,
};

enum statedir_mode {
	STATEDIR_READ,     /* the folder must exist; nothing is created */
	STATEDIR_WRITE,    /* created when missing; must be writable */
};

enum statedir_how {
	STATEDIR_REPLACE,  /* the new content replaces any old one */
	STATEDIR_KEEP,     /* a file that exists stays: STATEDIR_EEXIST */
};

/* spool_dir/state, opened; NULL with *err set when it cannot be. */
struct statedir *statedir_open(const char *spool_dir, enum statedir_mode mode,
                               enum statedir_err *err);
void statedir_close(struct statedir *sd);

/* "SPOOL/state", for the caller's log lines. */
const char *statedir_path(const struct statedir *sd);

/*
 * Like openat(2) on the file `name` of the folder (a plain name of at most
 * STATEDIR_MAX_NAME bytes, else EINVAL), with O_CLOEXEC, O_NOFOLLOW and
 * O_NOCTTY added and mode 0600 for a file created: a descriptor, or -1 with
 * errno set.
 */
int statedir_openat(struct statedir *sd, const char *name, int flags);

/* Like lstat(2) and unlink(2) on the file `name` of the folder. */
int statedir_stat(struct statedir *sd, const char *name, struct stat *sb);
int statedir_unlink(struct statedir *sd, const char *name);

/* Writes n bytes at p as the file `name`, atomically and durably (above). */
enum statedir_err statedir_write(struct statedir *sd, const char *name, const void *p,
                                 size_t n, enum statedir_how how);

/*
 * The whole file `name` (or the file open as fd, from offset 0), at most max
 * bytes: *out a new NUL-terminated buffer of *len bytes. STATEDIR_ETOOBIG over
 * max, STATEDIR_ENOENT when there is no such file.
 */
enum statedir_err statedir_read(struct statedir *sd, const char *name, size_t max,
                                char **out, size_t *len);
enum statedir_err statedir_read_fd(int fd, size_t max, char **out, size_t *len);

const char *statedir_strerror(enum statedir_err e);

#endif
