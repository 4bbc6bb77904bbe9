/*
 * sandbox.h: fmgate runs no shell, executes no program and leaves no core.
 *
 * sandbox_enter() sets PR_SET_NO_NEW_PRIVS and installs a seccomp filter
 * (libseccomp) that lets every system call through except execve and
 * execveat, which fail with EPERM: a bug that an attacker steers towards
 * system(), popen() or an exec cannot start a shell or any other program.
 * System calls of another ABI (i386, x32) kill the process, so the filter
 * cannot be walked around. fork, clone, threads and setuid/setgid stay
 * allowed: `serve` forks its workers and drops to --user after the filter is
 * in place, and libcurl may resolve names in a thread. The filter is kept
 * across fork and by every thread, and cannot be removed.
 *
 * First of all it clears PR_SET_DUMPABLE, also under valgrind: a crash
 * leaves no core file (which would hold the API key), and another process of
 * the same user cannot ptrace fmgate or read its /proc/PID/mem or environ.
 *
 * Call it once, first thing in main(), before any request or file is read and
 * while the process has a single thread. The fuzz harnesses and unit tests
 * other than test_sandbox never call it.
 *
 * Under valgrind (RUNNING_ON_VALGRIND, when <valgrind/valgrind.h> was there
 * at build time) nothing is installed and SANDBOX_SKIPPED is returned:
 * valgrind runs the program's system calls itself, does not handle the
 * seccomp() call and ends the whole process when an execve fails, so there
 * the filter's contract (EPERM) cannot hold.
 *
 * On any other failure (a kernel built without seccomp, which refuses the
 * filter) errno says why, nothing is filtered, and the caller logs a warning
 * and goes on: the filter is a second line of defence, never a reason to
 * refuse to serve.
 */
#ifndef FMGATE_SANDBOX_H
#define FMGATE_SANDBOX_H

enum sandbox_err {
	SANDBOX_OK = 0,
	SANDBOX_SKIPPED,       /* running under valgrind: not installed */
	SANDBOX_ENOMEM,        /* libseccomp could not allocate the filter */
	SANDBOX_NO_NEW_PRIVS,  /* prctl(PR_SET_NO_NEW_PRIVS) refused */
	SANDBOX_RULE,          /* libseccomp refused a rule */
	SANDBOX_LOAD,          /* the kernel refused the filter (no seccomp) */
	SANDBOX_DUMPABLE,      /* prctl(PR_SET_DUMPABLE) refused; the filter is in place */
};

enum sandbox_err sandbox_enter(void);
const char *sandbox_strerror(enum sandbox_err e);

#endif
