/*
 * spoolrate.c: how many durable spool-style writes this disk takes per second,
 * the rate that bounds async mode. Each of PROCESSES writers does what
 * spool_add() does to the disk for SECONDS: a ~1 KiB file written under a
 * temporary name in one of 256 bucket directories, fdatasync, rename in that
 * directory, fsync of the directory. Files are left in place during the run
 * (as the spool keeps them) and removed after it.
 * Usage: spoolrate DIR SECONDS PROCESSES   (prints writes per second)
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BUCKETS 256

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse(const char *s, long lo, long hi, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 10);
	return errno == 0 && end != s && *end == '\0' && *out >= lo && *out <= hi;
}

/* Writes until `until`; the number written goes to the pipe `to`. */
static int writer(const char *dir, double until, int who, int to)
{
	char bdir[4096], tmp[4200], final[4200], data[1100];
	int dfd[BUCKETS];
	long n = 0;

	memset(data, 'a', sizeof data);
	data[sizeof data - 1] = '\n';
	for (int b = 0; b < BUCKETS; b++) {
		snprintf(bdir, sizeof bdir, "%s/%02x", dir, b);
		if ((dfd[b] = open(bdir, O_RDONLY | O_DIRECTORY)) < 0)
			return 1;
	}
	srand((unsigned)(getpid() ^ (unsigned)time(NULL)));
	while (now() < until) {
		int b = rand() % BUCKETS, fd;

		snprintf(tmp, sizeof tmp, "%s/%02x/.%d.%ld", dir, b, who, n);
		snprintf(final, sizeof final, "%s/%02x/w-%d-%ld", dir, b, who, n);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 || write(fd, data, sizeof data) != (ssize_t)sizeof data ||
		    fdatasync(fd) != 0 || close(fd) != 0 || rename(tmp, final) != 0 ||
		    fsync(dfd[b]) != 0)
			return 1;
		n++;
	}
	return write(to, &n, sizeof n) == (ssize_t)sizeof n ? 0 : 1;
}

static void clean(const char *dir)
{
	char p[4200];

	for (int b = 0; b < BUCKETS; b++) {
		DIR *d;
		struct dirent *e;

		snprintf(p, sizeof p, "%s/%02x", dir, b);
		if (!(d = opendir(p)))
			continue;
		while ((e = readdir(d)) != NULL)
			if (e->d_name[0] != '.' || (e->d_name[1] && e->d_name[1] != '.'))
				unlinkat(dirfd(d), e->d_name, 0);
		closedir(d);
		rmdir(p);
	}
}

int main(int argc, char **argv)
{
	long secs, procs, total = 0;
	int bad = 0, fds[2];
	char p[4200];
	double t0, until;

	if (argc != 4 || !parse(argv[2], 1, 3600, &secs) || !parse(argv[3], 1, 256, &procs)) {
		fprintf(stderr, "usage: spoolrate DIR SECONDS PROCESSES\n");
		return 2;
	}
	for (int b = 0; b < BUCKETS; b++) {
		snprintf(p, sizeof p, "%s/%02x", argv[1], b);
		if (mkdir(p, 0700) != 0 && errno != EEXIST) {
			perror(p);
			return 1;
		}
	}
	if (pipe(fds) != 0)
		return 1;
	t0 = now();
	until = t0 + (double)secs;
	for (long i = 0; i < procs; i++)
		if (fork() == 0)
			_exit(writer(argv[1], until, (int)i, fds[1]));
	close(fds[1]);
	for (long i = 0; i < procs; i++) {
		int st;
		long n;

		wait(&st);
		bad |= !WIFEXITED(st) || WEXITSTATUS(st) != 0;
		if (read(fds[0], &n, sizeof n) == (ssize_t)sizeof n)
			total += n;
	}
	clean(argv[1]);
	if (bad) {
		fprintf(stderr, "spoolrate: a writer failed\n");
		return 1;
	}
	printf("%.0f\n", (double)total / (now() - t0));
	return 0;
}
