/*
 * spoolrate.c: how many durable spool-style writes this disk takes per second
 * (write a small file, fdatasync, rename into place, fsync the directory), the
 * rate that bounds async mode. Usage: spoolrate DIR [COUNT [PROCESSES]].
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int writer(const char *dir, int count, int who)
{
	char tmp[4096], final[4096], data[1024];
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);

	if (dfd < 0)
		return 1;
	for (int i = 0; i < 1024; i++)
		data[i] = (char)('a' + i % 26);
	for (int i = 0; i < count; i++) {
		int fd;

		snprintf(tmp, sizeof tmp, "%s/.tmp-%d-%d", dir, who, i);
		snprintf(final, sizeof final, "%s/w-%d-%d", dir, who, i);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
		if (fd < 0 || write(fd, data, sizeof data) != (ssize_t)sizeof data ||
		    fdatasync(fd) != 0 || close(fd) != 0 || rename(tmp, final) != 0 ||
		    fsync(dfd) != 0)
			return 1;
		unlink(final);
	}
	close(dfd);
	return 0;
}

int main(int argc, char **argv)
{
	int count = argc > 2 ? atoi(argv[2]) : 2000;
	int procs = argc > 3 ? atoi(argv[3]) : 1;
	double t0;
	int bad = 0;

	if (argc < 2 || count < 1 || procs < 1 || procs > 64) {
		fprintf(stderr, "usage: spoolrate DIR [COUNT [PROCESSES]]\n");
		return 2;
	}
	t0 = now();
	for (int p = 0; p < procs; p++)
		if (fork() == 0)
			_exit(writer(argv[1], count, p));
	for (int p = 0; p < procs; p++) {
		int st;
		wait(&st);
		bad |= !WIFEXITED(st) || WEXITSTATUS(st) != 0;
	}
	if (bad)
		return 1;
	printf("%.0f\n", count * procs / (now() - t0));
	return 0;
}
