/* sandbox.c: no execve or execveat, through a libseccomp filter; not dumpable. */
#include "sandbox.h"

#include <errno.h>
#include <seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>

/* Valgrind runs a program's system calls itself: it does not handle the
 * seccomp() call and ends the whole process when an execve fails, so under
 * it the filter's contract (EPERM) cannot hold. Its header comes with Debian's
 * valgrind package; without it nothing is skipped. */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define SANDBOX_UNDER_VALGRIND() (RUNNING_ON_VALGRIND != 0)
#endif
#endif
#ifndef SANDBOX_UNDER_VALGRIND
#define SANDBOX_UNDER_VALGRIND() 0
#endif

enum sandbox_err sandbox_enter(void)
{
	enum sandbox_err e = SANDBOX_OK;
	scmp_filter_ctx ctx = NULL;
	int rc, dump_errno = 0;

	/* Not dumpable: no core file holds the API key, and another process of
	 * the same user can neither ptrace this one nor read its memory or
	 * environment under /proc (which root then owns). A refusal does not
	 * skip the filter: it is reported once the filter is in place. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		dump_errno = errno ? errno : EPERM;
	if (SANDBOX_UNDER_VALGRIND())
		return SANDBOX_SKIPPED;
	/* No set-user-ID program could gain rights from here on; and it lets an
	 * unprivileged process install a filter. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return SANDBOX_NO_NEW_PRIVS;
	/* Default allow: fmgate's own calls are many and vary with libcurl,
	 * OpenSSL and glibc; what it must never do is start a program. */
	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx) {
		errno = ENOMEM;
		return SANDBOX_ENOMEM;
	}
	if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(execve), 0)) != 0 ||
	    (rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(execveat), 0)) != 0) {
		e = SANDBOX_RULE;
		goto out;
	}
	if ((rc = seccomp_load(ctx)) != 0)
		e = SANDBOX_LOAD;
out:
	seccomp_release(ctx);
	if (e != SANDBOX_OK)
		errno = -rc;
	if (e == SANDBOX_OK && dump_errno) {
		e = SANDBOX_DUMPABLE;
		errno = dump_errno;
	}
	return e;
}

const char *sandbox_strerror(enum sandbox_err e)
{
	switch (e) {
	case SANDBOX_OK: return "sandbox in place";
	case SANDBOX_SKIPPED: return "sandbox skipped under valgrind";
	case SANDBOX_ENOMEM: return "out of memory building the seccomp filter";
	case SANDBOX_NO_NEW_PRIVS: return "prctl(PR_SET_NO_NEW_PRIVS) refused";
	case SANDBOX_RULE: return "libseccomp refused a rule";
	case SANDBOX_LOAD: return "the kernel refused the seccomp filter";
	case SANDBOX_DUMPABLE: return "prctl(PR_SET_DUMPABLE) refused (the seccomp filter is in place)";
	}
	return "unknown sandbox error";
}
