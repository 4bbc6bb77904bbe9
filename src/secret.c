/* secret.c: secrets read from files that only their owner may read. */
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

enum secret_err secret_load(const char *path, size_t min, size_t max, struct secret *s)
{
	static char buf[SECRET_READ_MAX + 1];
	enum secret_err e = SECRET_OK;
	struct stat st;
	ssize_t n = 0;
	size_t len;
	int fd;

	memset(s, 0, sizeof *s);
	if (max > SECRET_READ_MAX)
		max = SECRET_READ_MAX;
	/* O_NONBLOCK: a FIFO named as the secret must not hang the loader;
	 * O_NOCTTY: a terminal named as one must not become ours. */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		e = SECRET_EOPEN;
		goto out;
	}
	if (st.st_mode & (S_IRGRP | S_IROTH | S_IWGRP | S_IWOTH)) {
		e = SECRET_EMODE;
		goto out;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		e = SECRET_EOWNER;
		goto out;
	}
	/* The whole file, so that nothing after the secret goes unseen (a key
	 * followed by other text is refused, not cut). */
	while ((size_t)n < sizeof buf) {
		ssize_t r = read(fd, buf + n, sizeof buf - (size_t)n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			e = SECRET_EOPEN;
			goto out;
		}
		if (r == 0)
			break;
		n += r;
	}
	len = (size_t)n;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' ||
	                   buf[len - 1] == '\t'))
		len--;
	if (len < min || len > max) {
		e = SECRET_ESIZE;
		goto out;
	}
	if (!(s->bytes = malloc(len + 1))) {
		e = SECRET_ENOMEM;
		goto out;
	}
	memcpy(s->bytes, buf, len);
	s->bytes[len] = '\0';
	s->len = len;
out:
	OPENSSL_cleanse(buf, (size_t)n);
	if (fd >= 0)
		close(fd);
	return e;
}

void secret_free(struct secret *s)
{
	if (s->bytes)
		OPENSSL_cleanse(s->bytes, s->len);
	free(s->bytes);
	s->bytes = NULL;
	s->len = 0;
}

const char *secret_strerror(enum secret_err e)
{
	switch (e) {
	case SECRET_OK:     return "ok";
	case SECRET_EOPEN:  return "cannot be opened as a regular file (missing, unreadable, or a link)";
	case SECRET_EMODE:  return "group or others may read or write it (chmod 600)";
	case SECRET_EOWNER: return "belongs to a user other than root or the one fmgate runs as "
	                           "(chown it to the workers' user, and run fmgate as that user)";
	case SECRET_ESIZE:  return "empty, too short or too long";
	case SECRET_ENOMEM: return "out of memory";
	}
	return "?";
}
