/* The sandbox (sandbox.c): once entered, no program starts by any route, while
 * what fmgate does need (fork, threads, files, sockets, dropping to another
 * user) still works. Each probe runs in a forked child, so the filter never
 * reaches this process; the same exec is first shown to succeed without the
 * sandbox, so a refusal afterwards is the filter's doing. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox.h"
#include "t.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#define NOBODY 65534

/* What a child saw, sent back through a pipe that a successful exec closes. */
struct report {
	int enter;             /* enum sandbox_err */
	int dumpable;          /* prctl(PR_GET_DUMPABLE) once entered */
	int nnp, seccomp;      /* NoNewPrivs and Seccomp of /proc/self/status */
	int execve_errno;
	int execveat_errno;
	int system_rc;         /* system("exit 0") */
	int popen_ok;          /* popen() started a shell that answered */
	int grandchild;        /* a forked child's exit: 7 when its exec failed with EPERM */
	int thread_errno;      /* execve's errno in a new thread */
	int open_ok, socket_ok;
	int setuid_ok;         /* dropped to nobody (as root) or kept its uid */
	int after_drop_errno;  /* execve's errno after that */
};

static char *const true_argv[] = { "true", NULL };
static char *const no_env[] = { NULL };

static int status_field(const char *name)
{
	char line[256];
	size_t n = strlen(name);
	int v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (strncmp(line, name, n) == 0 && line[n] == ':')
			v = (int)strtol(line + n + 1, NULL, 10);
	fclose(f);
	return v;
}

static int exec_errno(void)
{
	execve("/bin/true", true_argv, no_env);
	return errno;
}

static void *thread_exec(void *arg)
{
	*(int *)arg = exec_errno();
	return NULL;
}

static void probe_child(int wfd)
{
	struct report r;
	pthread_t th;
	FILE *p;
	pid_t pid;
	int st, fd;

	memset(&r, 0, sizeof r);
	r.enter = sandbox_enter();
	r.dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
	r.nnp = status_field("NoNewPrivs");
	r.seccomp = status_field("Seccomp");
	r.execve_errno = exec_errno();
	errno = 0;
	syscall(SYS_execveat, AT_FDCWD, "/bin/true", true_argv, no_env, 0);
	r.execveat_errno = errno;
	r.system_rc = system("exit 0");
	p = popen("echo shell", "r");
	if (p) {
		char buf[16] = "";

		r.popen_ok = fgets(buf, sizeof buf, p) != NULL && strcmp(buf, "shell\n") == 0;
		pclose(p);
	}
	pid = fork();
	if (pid == 0)
		_exit(exec_errno() == EPERM ? 7 : 8);
	r.grandchild = pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	r.thread_errno = -1;
	if (pthread_create(&th, NULL, thread_exec, &r.thread_errno) == 0)
		pthread_join(th, NULL);
	fd = open("/dev/null", O_RDONLY);
	r.open_ok = fd >= 0;
	if (fd >= 0)
		close(fd);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	r.socket_ok = fd >= 0;
	if (fd >= 0)
		close(fd);
	/* What `serve --user` does after the filter is in place. */
	if (geteuid() == 0)
		r.setuid_ok = setgroups(0, NULL) == 0 && setgid(NOBODY) == 0 && setuid(NOBODY) == 0 &&
		              getuid() == NOBODY;
	else
		r.setuid_ok = setuid(getuid()) == 0;
	r.after_drop_errno = exec_errno();
	if (write(wfd, &r, sizeof r) != (ssize_t)sizeof r)
		_exit(3);
	_exit(0);
}

/* Forks a child that enters the sandbox (or, without, only execs /bin/true).
 * Returns the bytes of report received: 0 when the exec replaced the child. */
static ssize_t probe(int sandbox, struct report *r, int *status)
{
	ssize_t n, got = 0;
	int fds[2];
	pid_t pid;

	memset(r, 0, sizeof *r);
	*status = -1;
	if (pipe2(fds, O_CLOEXEC) != 0)
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		if (sandbox)
			probe_child(fds[1]);
		r->execve_errno = exec_errno();
		if (write(fds[1], r, sizeof *r) != (ssize_t)sizeof *r)
			_exit(3);
		_exit(0);
	}
	close(fds[1]);
	while (pid > 0 && got < (ssize_t)sizeof *r &&
	       (n = read(fds[0], (char *)r + got, sizeof *r - (size_t)got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		got += n;
	}
	close(fds[0]);
	if (pid > 0)
		waitpid(pid, status, 0);
	return pid > 0 ? got : -1;
}

int main(void)
{
	struct report r;
	int st;
	ssize_t n;

	/* The error strings: one per value, none empty. */
	for (int a = SANDBOX_OK; a <= SANDBOX_DUMPABLE; a++) {
		T(sandbox_strerror(a)[0] != '\0', "strerror %d empty", a);
		for (int b = SANDBOX_OK; b < a; b++)
			T(strcmp(sandbox_strerror(a), sandbox_strerror(b)) != 0, "strerror %d == %d", a, b);
	}
	T(strstr(sandbox_strerror(SANDBOX_LOAD), "seccomp") != NULL, "LOAD names seccomp");
	T(strcmp(sandbox_strerror((enum sandbox_err)99), sandbox_strerror(SANDBOX_OK)) != 0,
	  "an unknown value has its own string");

	/* Without the sandbox, the same exec works here. */
	n = probe(0, &r, &st);
	T(n == 0, "without the sandbox the exec replaced the child (got %zd bytes, errno %d)", n,
	  r.execve_errno);
	T(WIFEXITED(st) && WEXITSTATUS(st) == 0, "/bin/true ran and exited 0 (status %d)", st);

	/* A process is dumpable until the sandbox says otherwise. */
	T(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 1, "dumpable before the sandbox");
	if (RUNNING_ON_VALGRIND) {
		/* Documented: under valgrind the filter is not installed. */
		T(sandbox_enter() == SANDBOX_SKIPPED, "under valgrind: skipped");
		T(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0, "under valgrind: not dumpable either");
		T(status_field("Seccomp") == 0, "under valgrind: no filter");
		T_DONE();
	}

	n = probe(1, &r, &st);
	T(n == (ssize_t)sizeof r, "the sandboxed child reported (%zd bytes, status %d)", n, st);
	T(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the sandboxed child exited 0 (status %d)", st);
	T(r.enter == SANDBOX_OK, "entered: %s", sandbox_strerror(r.enter));
	T(r.nnp == 1, "NoNewPrivs 1, got %d", r.nnp);
	T(r.dumpable == 0, "not dumpable, got %d", r.dumpable);
	T(r.seccomp == 2, "Seccomp 2 (filter), got %d", r.seccomp);
	T(r.execve_errno == EPERM, "execve: EPERM, got %s", strerror(r.execve_errno));
	T(r.execveat_errno == EPERM, "execveat: EPERM, got %s", strerror(r.execveat_errno));
	T(r.system_rc != 0, "system() ran no shell (rc %d)", r.system_rc);
	T(!r.popen_ok, "popen() ran no shell");
	T(r.grandchild == 7, "fork works and the forked child cannot exec either (%d)", r.grandchild);
	T(r.thread_errno == EPERM, "a thread cannot exec: %s",
	  r.thread_errno < 0 ? "no thread" : strerror(r.thread_errno));
	T(r.open_ok, "open() still works");
	T(r.socket_ok, "socket() still works");
	T(r.setuid_ok, "setgid/setuid still work (dropping to --user)");
	T(r.after_drop_errno == EPERM, "after the drop, execve: EPERM, got %s",
	  strerror(r.after_drop_errno));

	/* The filter stayed in the children: this process is untouched. */
	T(status_field("Seccomp") == 0, "the test process itself has no filter");
	T_DONE();
}
