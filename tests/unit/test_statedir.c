/* test_statedir.c: SPOOL/state opened once, files relative to it (statedir.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "statedir.h"
#include "t.h"

static char spool[] = "/tmp/fmgate-statedir.XXXXXX";

/* Runs the command `before`SPOOL`after`. */
static void sh(const char *before, const char *after)
{
	char cmd[512];

	snprintf(cmd, sizeof cmd, "%s%s%s", before, spool, after);
	if (system(cmd) != 0)
		printf("failed: %s\n", cmd);
}

static mode_t mode_of(const char *rel)
{
	char p[256];
	struct stat sb;

	snprintf(p, sizeof p, "%s/%s", spool, rel);
	return lstat(p, &sb) == 0 ? sb.st_mode & 07777 : 0;
}

/* Names in SPOOL/state that start with a dot (temporary files left over). */
static int dot_files(void)
{
	char p[256];
	struct dirent *d;
	DIR *dir;
	int n = 0;

	snprintf(p, sizeof p, "%s/state", spool);
	if (!(dir = opendir(p)))
		return -1;
	while ((d = readdir(dir)) != NULL)
		n += d->d_name[0] == '.' && strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0;
	closedir(dir);
	return n;
}

/* The content of a state file read through sd ("" when unreadable). */
static const char *content(struct statedir *sd, const char *name, size_t max)
{
	static char buf[256];
	char *s = NULL;
	size_t len;

	buf[0] = '\0';
	if (statedir_read(sd, name, max, &s, &len) == STATEDIR_OK)
		snprintf(buf, sizeof buf, "%s", s);
	free(s);
	return buf;
}

static void test_open(void)
{
	enum statedir_err e;
	struct statedir *sd;
	char p[256];

	T(!statedir_open(NULL, STATEDIR_WRITE, &e) && e == STATEDIR_ENAME, "no spool: ENAME");
	T(!statedir_open("", STATEDIR_WRITE, &e) && e == STATEDIR_ENAME, "empty spool: ENAME");
	T(!statedir_open(spool, STATEDIR_READ, &e) && e == STATEDIR_ENOENT && mode_of("state") == 0,
	  "a reader creates nothing: ENOENT");
	snprintf(p, sizeof p, "%s/none", spool);
	T(!statedir_open(p, STATEDIR_WRITE, &e) && e == STATEDIR_ENOENT && mode_of("none") == 0,
	  "the spool directory itself is never created");
	sd = statedir_open(spool, STATEDIR_WRITE, &e);
	T(sd && e == STATEDIR_OK && mode_of("state") == (S_IFDIR | 0700) - S_IFDIR,
	  "a writer creates it, mode 0700 (%o)", (unsigned)mode_of("state"));
	snprintf(p, sizeof p, "%s/state", spool);
	T(sd && strcmp(statedir_path(sd), p) == 0, "its path, for log lines");
	statedir_close(sd);
	sd = statedir_open(spool, STATEDIR_READ, &e);
	T(sd && e == STATEDIR_OK, "then a reader opens it");
	statedir_close(sd);
	sh("rm -rf '", "/state'");
	sh("touch '", "/state'");
	T(!statedir_open(spool, STATEDIR_WRITE, &e) && e == STATEDIR_ENOTDIR, "a file: ENOTDIR");
	sh("rm -f '", "/state'");
	T(strcmp(statedir_strerror(STATEDIR_ENOTDIR), "unknown error") != 0, "strerror");
}

/* One descriptor per folder and mode in a process, however many modules
 * open it; the last close releases it. */
static void test_shared_open(void)
{
	enum statedir_err e;
	struct statedir *a = statedir_open(spool, STATEDIR_WRITE, &e);
	struct statedir *b = statedir_open(spool, STATEDIR_WRITE, &e);
	struct statedir *r = statedir_open(spool, STATEDIR_READ, &e);
	char name[] = "shared-open";
	int fd;

	T(a && a == b, "a second writer gets the same folder");
	T(r && r != a, "a reader has its own");
	statedir_close(a);
	fd = b ? statedir_openat(b, name, O_RDWR | O_CREAT) : -1;
	T(fd >= 0, "still open after one close");
	if (fd >= 0)
		close(fd);
	statedir_close(b);
	statedir_close(r);
	a = statedir_open(spool, STATEDIR_WRITE, &e);
	T(a && statedir_unlink(a, name) == 0, "opened again after the last close");
	statedir_close(a);
}

static void test_write_read(void)
{
	enum statedir_err e;
	struct statedir *sd = statedir_open(spool, STATEDIR_WRITE, &e);
	char *s = NULL, big[80];
	size_t len;
	struct stat sb;
	int fd;

	if (!sd) {
		T(0, "open: %s", statedir_strerror(e));
		return;
	}
	T(statedir_write(sd, "f", "one", 3, STATEDIR_REPLACE) == STATEDIR_OK, "written");
	T_STREQ(content(sd, "f", 16), "one", "read back");
	T(mode_of("state/f") == 0600, "mode 0600");
	T(statedir_write(sd, "f", "two!", 4, STATEDIR_REPLACE) == STATEDIR_OK, "replaced");
	T_STREQ(content(sd, "f", 16), "two!", "the new content");
	T(statedir_write(sd, "f", "three", 5, STATEDIR_KEEP) == STATEDIR_EEXIST, "KEEP: EEXIST");
	T_STREQ(content(sd, "f", 16), "two!", "the first writer's file stays");
	T(statedir_write(sd, "g", "new", 3, STATEDIR_KEEP) == STATEDIR_OK, "KEEP: a new file");
	T_STREQ(content(sd, "g", 16), "new", "its content");
	T(dot_files() == 0, "no temporary file left (%d)", dot_files());

	/* the limit: up to max bytes, not one more */
	T(statedir_read(sd, "f", 4, &s, &len) == STATEDIR_OK && len == 4 && s[4] == '\0',
	  "exactly max bytes");
	free(s);
	s = NULL;
	T(statedir_read(sd, "f", 3, &s, &len) == STATEDIR_ETOOBIG && !s, "one byte over: ETOOBIG");
	memset(big, 'x', sizeof big);
	T(statedir_write(sd, "big", big, sizeof big, STATEDIR_REPLACE) == STATEDIR_OK, "80 bytes");
	T(statedir_read(sd, "big", sizeof big, &s, &len) == STATEDIR_OK && len == sizeof big,
	  "read whole");
	free(s);
	s = NULL;
	T(statedir_read(sd, "missing", 16, &s, &len) == STATEDIR_ENOENT, "missing: ENOENT");
	T(statedir_read(sd, "", 16, &s, &len) == STATEDIR_ENAME, "an empty name");
	T(statedir_write(sd, "../escape", "x", 1, STATEDIR_REPLACE) == STATEDIR_ENAME &&
	  mode_of("escape") == 0, "a name with a slash never leaves the folder");
	T(statedir_write(sd, "..", "x", 1, STATEDIR_REPLACE) == STATEDIR_ENAME, "..");
	memset(big, 'n', sizeof big);
	big[STATEDIR_MAX_NAME + 1] = '\0';
	T(statedir_openat(sd, big, O_RDONLY) < 0 && errno == EINVAL, "a name over the limit");
	big[STATEDIR_MAX_NAME] = '\0';
	T(statedir_write(sd, big, "x", 1, STATEDIR_REPLACE) == STATEDIR_OK, "a name at the limit");

	/* the small calls */
	T(statedir_stat(sd, "f", &sb) == 0 && sb.st_size == 4, "stat");
	T(statedir_unlink(sd, "f") == 0 && statedir_stat(sd, "f", &sb) != 0 && errno == ENOENT,
	  "unlink");
	fd = statedir_openat(sd, "o", O_RDWR | O_CREAT);
	T(fd >= 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC) && mode_of("state/o") == 0600,
	  "openat: close-on-exec, mode 0600");
	if (fd >= 0)
		close(fd);
	sh("ln -s /etc/passwd '", "/state/link'");
	T(statedir_openat(sd, "link", O_RDONLY) < 0 && errno == ELOOP, "a symbolic link is not followed");
	sh("mkfifo '", "/state/fifo'");
	T(statedir_read(sd, "fifo", 16, &s, &len) != STATEDIR_OK, "a FIFO is refused, without hanging");
	statedir_close(sd);
}

/* An operator clears SPOOL/state under a running process. */
static void test_follow(void)
{
	enum statedir_err e;
	struct statedir *w = statedir_open(spool, STATEDIR_WRITE, &e);
	struct statedir *r = statedir_open(spool, STATEDIR_READ, &e);
	char p[256];
	int fd;

	if (!w || !r) {
		T(0, "open");
		statedir_close(w);
		statedir_close(r);
		return;
	}
	sh("rm -rf '", "/state'");
	fd = statedir_openat(w, "x", O_RDWR | O_CREAT);
	T(fd >= 0 && mode_of("state/x") == 0600, "a create makes the folder again at once");
	if (fd >= 0)
		close(fd);
	T(statedir_write(w, "y", "new", 3, STATEDIR_REPLACE) == STATEDIR_OK, "and writes to it");
	snprintf(p, sizeof p, "%s/state/y", spool);
	T(access(p, F_OK) == 0, "where the path says");
	/* the reader's folder is gone too: it follows within a second */
	sleep(1);
	T_STREQ(content(r, "y", 16), "new", "a reader follows within a second");
	statedir_close(w);
	statedir_close(r);
}

int main(void)
{
	if (!mkdtemp(spool))
		return 1;
	test_open();
	test_shared_open();
	test_write_read();
	test_follow();
	sh("rm -rf '", "'");
	T_DONE();
}
