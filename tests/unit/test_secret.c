/*
 * test_secret.c: the one rule every secret file is read by (secret.c): a
 * regular file, not a link, that group and others can neither read nor
 * write, owned by root or the effective uid; sizes and trailing white space.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "secret.h"
#include "t.h"
#include "tfiles.h"

#define NOBODY 65534

static char dir[] = "/tmp/test_secret.XXXXXX";

static const char *at(const char *name)
{
	static char path[96];

	snprintf(path, sizeof path, "%s/%s", dir, name);
	return path;
}

/* secret_load of a file holding `text` with `mode`. */
static enum secret_err load_mode(const char *text, mode_t mode, struct secret *s)
{
	T(t_write(at("s"), text, mode), "wrote s with %04o", (unsigned)mode);
	return secret_load(at("s"), 1, 64, s);
}

static void test_modes(void)
{
	static const mode_t open_to_others[] = { 0640, 0604, 0620, 0602, 0660, 0606, 0622, 0666 };
	struct secret s;

	T(load_mode("k3y \n\t\r\n", 0600, &s) == SECRET_OK && s.len == 3 &&
	  strcmp(s.bytes, "k3y") == 0, "0600: read, trailing white space cut");
	secret_free(&s);
	T(s.bytes == NULL && s.len == 0, "freed secret is empty");
	T(load_mode("k3y", 0400, &s) == SECRET_OK, "0400 read");
	secret_free(&s);
	for (size_t i = 0; i < sizeof open_to_others / sizeof open_to_others[0]; i++) {
		T(load_mode("k3y", open_to_others[i], &s) == SECRET_EMODE,
		  "%04o refused", (unsigned)open_to_others[i]);
		T(s.bytes == NULL && s.len == 0, "%04o: nothing kept", (unsigned)open_to_others[i]);
	}
}

/* Owned by root or the effective uid; nobody's file is refused to root. */
static void test_owner(void)
{
	struct secret s;
	pid_t pid;
	int status;

	if (geteuid() != 0) {
		printf("# not root: the owner tests need chown\n");
		return;
	}
	T(t_write(at("theirs"), "k3y", 0600) && chown(at("theirs"), NOBODY, NOBODY) == 0,
	  "a file of nobody's");
	T(secret_load(at("theirs"), 1, 64, &s) == SECRET_EOWNER && s.bytes == NULL,
	  "root refuses a file nobody owns");
	/* As nobody, the same file is its own, and read. */
	T(chmod(dir, 0711) == 0, "dir searchable");
	pid = fork();
	if (pid == 0) {
		struct secret mine;

		if (setgid(NOBODY) != 0 || setuid(NOBODY) != 0)
			_exit(3);
		_exit(secret_load(at("theirs"), 1, 64, &mine) == SECRET_OK &&
		      strcmp(mine.bytes, "k3y") == 0 ? 0 : 1);
	}
	T(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	  WEXITSTATUS(status) == 0, "the effective uid's own file is read (status %d)", status);
	T(strstr(secret_strerror(SECRET_EOWNER), "other than root") != NULL, "strerror names the rule");
}

static void test_not_a_file(void)
{
	struct secret s;
	char target[96];

	snprintf(target, sizeof target, "%s", at("target"));
	T(t_write(target, "k3y", 0600) && symlink(target, at("link")) == 0, "link");
	T(secret_load(at("link"), 1, 64, &s) == SECRET_EOPEN, "a link refused, even to a good file");
	T(mkfifo(at("fifo"), 0600) == 0, "fifo");
	T(secret_load(at("fifo"), 1, 64, &s) == SECRET_EOPEN, "a FIFO refused, without hanging");
	T(secret_load(dir, 1, 64, &s) == SECRET_EOPEN, "a directory refused");
	T(secret_load(at("missing"), 1, 64, &s) == SECRET_EOPEN, "a missing file refused");
}

static void test_sizes(void)
{
	struct secret s;

	T(t_write(at("z"), "  \n", 0600) && secret_load(at("z"), 1, 64, &s) == SECRET_ESIZE,
	  "blank: too short");
	T(t_write(at("z"), "abcd", 0600) && secret_load(at("z"), 5, 64, &s) == SECRET_ESIZE,
	  "under min");
	T(secret_load(at("z"), 1, 3, &s) == SECRET_ESIZE, "over max");
	T(secret_load(at("z"), 4, 4, &s) == SECRET_OK && s.len == 4, "exactly min and max");
	secret_free(&s);
	T(t_write(at("z"), "0123456789\nTRAILING TEXT", 0600) &&
	  secret_load(at("z"), 1, 10, &s) == SECRET_ESIZE, "text after the secret: refused, not cut");
	T(t_write(at("z"), "0123456789\n\n  \t\r\n", 0600) && secret_load(at("z"), 1, 10, &s) == SECRET_OK &&
	  s.len == 10, "trailing white space after a secret of max bytes");
	secret_free(&s);
}

int main(void)
{
	if (!mkdtemp(dir))
		return 2;
	test_modes();
	test_owner();
	test_not_a_file();
	test_sizes();
	T(t_remove_tree(dir), "scratch removed");
	T_DONE();
}
