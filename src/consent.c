/* consent.c: the consent ledger (see consent.h). */
#include "consent.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"

#define CONSENT_SUFFIX ".jsonl"

/* ---- small helpers ------------------------------------------------------ */

static void say(struct consent_ledger *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct consent_ledger *l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(l->why, sizeof l->why, fmt, ap);
	va_end(ap);
}

static enum consent_err sys_fail(struct consent_ledger *l, const char *op, const char *what)
{
	int e = errno;

	say(l, "%s %s: %s", op, what, strerror(e));
	errno = e;
	return e == ENOSPC || e == EDQUOT ? CONSENT_ENOSPC : CONSENT_EIO;
}

/* dir/name into out; false when it does not fit. */
static bool path_in(const struct consent_ledger *l, const char *name, char *out)
{
	int n = snprintf(out, SPOOL_PATH_MAX, "%s/%s", l->dir, name);

	return n >= 0 && n < (int)SPOOL_PATH_MAX;
}

bool consent_init(struct consent_ledger *l, const char *spool_dir)
{
	int n = snprintf(l->dir, sizeof l->dir, "%s/consent", spool_dir ? spool_dir : "");

	l->why[0] = '\0';
	return spool_dir && spool_dir[0] && n >= 0 && (size_t)n < sizeof l->dir;
}

/* The error of a failed call by its errno. */
static enum consent_err err_of(int e)
{
	return e == EWOULDBLOCK ? CONSENT_EBUSY : e == ENOSPC || e == EDQUOT ? CONSENT_ENOSPC
	     : e == EFBIG ? CONSENT_ETOOBIG : CONSENT_EIO;
}

/*
 * The ledger's lock file, opened (not locked): its descriptor, or -1. With
 * `create` the directory and lock file are made when missing (the spool
 * directory flushed after a new consent/); without, a ledger never written
 * to is -1 with errno ENOENT.
 */
static int open_lock(struct consent_ledger *l, bool create)
{
	char p[SPOOL_PATH_MAX];
	int fd;

	if (create) {
		if (mkdir(l->dir, 0700) == 0) {
			char parent[SPOOL_PATH_MAX];
			char *slash;

			snprintf(parent, sizeof parent, "%s", l->dir);
			if ((slash = strrchr(parent, '/')))
				*slash = '\0';
			if (io_fsync_dir(parent) != 0) {
				sys_fail(l, "fsync", parent);
				return -1;
			}
		} else if (errno != EEXIST) {
			sys_fail(l, "mkdir", l->dir);
			return -1;
		}
	}
	if (!path_in(l, "lock", p)) {
		say(l, "ledger path too long");
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(p, O_RDWR | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT : 0), 0600);
	if (fd < 0)
		sys_fail(l, "open", p);
	return fd;
}

/*
 * Takes `op` (LOCK_EX, LOCK_SH) on the lock file `fd`: 0, or -1 with errno.
 * A worker (`bounded`) tries for CONSENT_LOCK_WAIT_MS and then gives up with
 * EWOULDBLOCK, so that a lock held too long refuses a post (503) instead of
 * hanging it; the commands wait.
 */
static int take_lock(struct consent_ledger *l, int fd, int op, bool bounded)
{
	unsigned tries = CONSENT_LOCK_WAIT_MS / CONSENT_LOCK_STEP_MS;

	while (flock(fd, op | (bounded ? LOCK_NB : 0)) != 0) {
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK) {
			sys_fail(l, "flock", l->dir);
			return -1;
		}
		if (tries-- == 0) {
			say(l, "%s/lock: held by another process for more than %u ms", l->dir,
			    CONSENT_LOCK_WAIT_MS);
			errno = EWOULDBLOCK;
			return -1;
		}
		usleep(CONSENT_LOCK_STEP_MS * 1000u);
	}
	return 0;
}

/* Releases the lock file (closing drops its lock). */
static void drop_lock(int fd)
{
	if (fd >= 0)
		close(fd);
}

/* ---- file names ----------------------------------------------------------- */

/* "YYYY-MM.jsonl" for part 0, "YYYY-MM.N.jsonl" after. */
static void part_name(const struct tm *tm, unsigned part, char *out, size_t size)
{
	if (part == 0)
		snprintf(out, size, "%04d-%02d" CONSENT_SUFFIX, tm->tm_year + 1900, tm->tm_mon + 1);
	else
		snprintf(out, size, "%04d-%02d.%u" CONSENT_SUFFIX, tm->tm_year + 1900,
		         tm->tm_mon + 1, part);
}

/* A ledger file's name as a sort key (year, month, part); false for any
 * other name (the lock, temporary files). */
static bool part_parse(const char *name, unsigned long long *key)
{
	unsigned y, m, part = 0;
	int used = 0;

	if (sscanf(name, "%4u-%2u%n", &y, &m, &used) != 2 || used != 7 || m < 1 || m > 12)
		return false;
	name += used;
	if (name[0] == '.' && name[1] >= '1' && name[1] <= '9') {
		char *end;
		unsigned long v = strtoul(name + 1, &end, 10);

		if (v >= CONSENT_MAX_PARTS)
			return false;
		part = (unsigned)v;
		name = end;
	}
	if (strcmp(name, CONSENT_SUFFIX) != 0)
		return false;
	*key = ((unsigned long long)y * 100 + m) * 1000 + part;
	return true;
}

struct part {
	unsigned long long key;
	char name[64];
};

static int part_cmp(const void *a, const void *b)
{
	const struct part *x = a, *y = b;

	return x->key < y->key ? -1 : x->key > y->key;
}

/* The ledger's files in order into *out (malloc'd; *n of them). The caller
 * holds the lock. A missing directory has none. */
static enum consent_err list_parts(struct consent_ledger *l, struct part **out, size_t *n)
{
	DIR *d = opendir(l->dir);
	struct part *v = NULL;
	size_t cap = 0;
	struct dirent *de;

	*out = NULL;
	*n = 0;
	if (!d)
		return errno == ENOENT ? CONSENT_OK : sys_fail(l, "opendir", l->dir);
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		unsigned long long key;

		if (!part_parse(de->d_name, &key) || len >= sizeof v->name)
			continue;
		if (*n == CONSENT_MAX_FILES) {
			say(l, "%s: more than %u ledger files", l->dir, CONSENT_MAX_FILES);
			closedir(d);
			free(v);
			return CONSENT_ETOOBIG;
		}
		if (*n == cap) {
			struct part *nv = realloc(v, (cap ? cap * 2 : 16) * sizeof *v);

			if (!nv) {
				closedir(d);
				free(v);
				say(l, "out of memory");
				return CONSENT_ENOMEM;
			}
			v = nv;
			cap = cap ? cap * 2 : 16;
		}
		v[*n].key = key;
		memcpy(v[*n].name, de->d_name, len + 1);
		(*n)++;
	}
	closedir(d);
	if (*n)
		qsort(v, *n, sizeof *v, part_cmp);
	*out = v;
	return CONSENT_OK;
}

/* ---- writing ---------------------------------------------------------------- */

/*
 * Opens the month's first part with room for `len` more bytes (made when
 * missing: *made tells), for appending (and reading: torn() looks at its
 * last byte); *size receives its size. The caller holds the lock.
 */
static int open_part(struct consent_ledger *l, time_t now, size_t len, char *path,
                     bool *made, off_t *size)
{
	struct tm tm;

	if (!gmtime_r(&now, &tm)) {
		say(l, "the time does not convert");
		errno = EINVAL;
		return -1;
	}
	for (unsigned part = 0; part < CONSENT_MAX_PARTS; part++) {
		char name[64];
		struct stat st;
		int fd;

		part_name(&tm, part, name, sizeof name);
		if (!path_in(l, name, path))
			break;
		*made = false;
		fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0 && errno == ENOENT) {
			*made = true;
			fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
			          0600);
		}
		if (fd < 0) {
			sys_fail(l, "open", path);
			return -1;
		}
		if (fstat(fd, &st) != 0) {
			sys_fail(l, "fstat", path);
			close(fd);
			return -1;
		}
		if (st.st_size == 0 || (unsigned long long)st.st_size + len <= CONSENT_MAX_FILE) {
			*size = st.st_size;
			return fd;
		}
		close(fd);
	}
	say(l, "%s: every part of the month is full (%u files of %u bytes)", l->dir,
	    CONSENT_MAX_PARTS, CONSENT_MAX_FILE);
	errno = EFBIG;
	return -1;
}

/* Whether a file of `size` bytes ends in the middle of a line (a crash
 * during an append): the next line then starts with a newline. */
static bool torn(int fd, off_t size)
{
	char c;

	return size > 0 && pread(fd, &c, 1, size - 1) == 1 && c != '\n';
}

/* Appends `text` (whole lines) durably, under the lock. *left tells that a
 * failed append could not be cut off again: part of it stays in the file. */
static enum consent_err append(struct consent_ledger *l, const char *text, size_t len,
                               time_t now, bool *left)
{
	char path[SPOOL_PATH_MAX];
	enum consent_err e = CONSENT_OK;
	bool made = false;
	off_t size = 0;
	int lk, fd = -1;

	*left = false;
	if ((lk = open_lock(l, true)) < 0 || take_lock(l, lk, LOCK_EX, true) != 0) {
		e = err_of(errno);
		goto out;
	}
	if ((fd = open_part(l, now, len + 1, path, &made, &size)) < 0) {
		e = err_of(errno);
		goto out;
	}
	if ((torn(fd, size) && io_write_all(fd, "\n", 1) != 0) || io_write_all(fd, text, len) != 0)
		e = sys_fail(l, "write", path);
	else if (fdatasync(fd) != 0)
		e = sys_fail(l, "fdatasync", path);
	else if (made && io_fsync_dir(l->dir) != 0)
		e = sys_fail(l, "fsync", l->dir);
	/* A record not known to be on disk must not be read later as given:
	 * the submission is refused. */
	if (e != CONSENT_OK) {
		if (ftruncate(fd, size) == 0)
			fdatasync(fd);
		else
			*left = true;
	}
	if (close(fd) != 0 && e == CONSENT_OK)
		e = sys_fail(l, "close", path);
out:
	drop_lock(lk);
	return e;
}

/* One printed line (with its newline) added to buf; false when out of memory
 * or over CONSENT_MAX_RECORD. */
static bool add_line(struct consent_ledger *l, cJSON *rec, char **buf, size_t *len,
                     enum consent_err *e)
{
	char *line = rec ? cJSON_PrintUnformatted(rec) : NULL;
	size_t n = line ? strlen(line) : 0;
	char *nb;

	*e = CONSENT_ENOMEM;
	if (line && n + 1 > CONSENT_MAX_RECORD) {
		*e = CONSENT_ETOOBIG;
		say(l, "a record of %zu bytes is over %u", n + 1, CONSENT_MAX_RECORD);
		cJSON_free(line);
		return false;
	}
	if (!line || !(nb = realloc(*buf, *len + n + 2))) {
		say(l, "out of memory");
		cJSON_free(line);
		return false;
	}
	memcpy(nb + *len, line, n);
	nb[*len + n] = '\n';
	nb[*len + n + 1] = '\0';
	*len += n + 1;
	*buf = nb;
	cJSON_free(line);
	*e = CONSENT_OK;
	return true;
}

static bool add_member(cJSON *o, const char *k, const char *v)
{
	return cJSON_AddStringToObject(o, k, v ? v : "") != NULL;
}

/* The record of one checked box. */
static cJSON *record_of(const struct submission *sub, const struct map_field *box)
{
	cJSON *r = cJSON_CreateObject();

	if (!r || !add_member(r, "time", sub->timestamp) || !add_member(r, "form", sub->form_id) ||
	    !add_member(r, "userId", sub->user_id) || !add_member(r, "email", sub->email) ||
	    !add_member(r, "text", box->consent) || !add_member(r, "field", box->name) ||
	    !add_member(r, "trait", box->trait) || !add_member(r, "messageId", sub->message_id)) {
		cJSON_Delete(r);
		return NULL;
	}
	return r;
}

enum consent_err consent_give(struct consent_ledger *l, const struct submission *sub)
{
	enum consent_err e = CONSENT_OK;
	char *buf = NULL;
	size_t len = 0;

	for (size_t i = 0; i < sub->ctx.n_consent && e == CONSENT_OK; i++) {
		cJSON *rec = record_of(sub, sub->ctx.consent[i]);

		add_line(l, rec, &buf, &len, &e);
		cJSON_Delete(rec);
	}
	if (e == CONSENT_OK && len > 0) {
		bool left;
		time_t now = time(NULL);

		e = append(l, buf, len, now, &left);
		/* Part of the records stayed (a whole line among them, maybe):
		 * the refused submission's consent must not stand as given.
		 * The first error is the one said. */
		if (left) {
			char why[sizeof l->why];

			memcpy(why, l->why, sizeof why);
			consent_void(l, sub, now);
			memcpy(l->why, why, sizeof why);
		}
	}
	free(buf);
	return e;
}

enum consent_err consent_void(struct consent_ledger *l, const struct submission *sub,
                              time_t now)
{
	char when[32], *buf = NULL;
	enum consent_err e = CONSENT_OK;
	bool left;
	struct tm tm;
	size_t len = 0;
	cJSON *v;

	if (sub->ctx.n_consent == 0)
		return CONSENT_OK;
	if (!gmtime_r(&now, &tm) || !strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(when, sizeof when, "?");
	v = cJSON_CreateObject();
	if (v && (!add_member(v, "time", when) || !add_member(v, "void", sub->message_id) ||
	          !add_member(v, "email", sub->email))) {
		cJSON_Delete(v);
		v = NULL;
	}
	if (add_line(l, v, &buf, &len, &e))
		e = append(l, buf, len, now, &left);
	cJSON_Delete(v);
	free(buf);
	return e;
}

/* ---- reading ---------------------------------------------------------------- */

/* A piece of one line: a line longer than the buffer comes in several. */
struct chunk {
	char *buf;          /* NUL-terminated; may hold NUL bytes before n */
	size_t n;
	bool first;         /* the line's first piece */
	bool last;          /* the line ends here (newline or end of file) */
	bool nl;            /* ...with a newline */
};

/* Calls fn for each piece of each line of `path`, in order; fn returns an
 * error to stop (said in l->why). */
typedef enum consent_err chunk_fn(void *ud, const struct chunk *c);

static enum consent_err each_chunk(struct consent_ledger *l, const char *path, chunk_fn *fn,
                                   void *ud)
{
	FILE *f = fopen(path, "re");
	struct chunk c = { malloc(CONSENT_MAX_RECORD + 1), 0, true, false, false };
	enum consent_err e = CONSENT_OK;
	int ch = 0;

	if (!f || !c.buf) {
		free(c.buf);
		if (f)
			fclose(f);
		if (!f && errno == ENOENT)
			return CONSENT_OK;
		return f ? (say(l, "out of memory"), CONSENT_ENOMEM) : sys_fail(l, "open", path);
	}
	for (;;) {
		c.n = 0;
		while (c.n < CONSENT_MAX_RECORD && (ch = getc(f)) != EOF && ch != '\n')
			c.buf[c.n++] = (char)ch;
		c.buf[c.n] = '\0';
		c.nl = ch == '\n';
		c.last = c.nl || ch == EOF;
		if (ch == EOF && c.n == 0 && c.first)
			break;
		if ((e = fn(ud, &c)) != CONSENT_OK || ch == EOF)
			break;
		c.first = c.last;
	}
	if (e == CONSENT_OK && ferror(f))
		e = sys_fail(l, "read", path);
	fclose(f);
	free(c.buf);
	return e;
}

enum line_kind { LINE_BAD = 0, LINE_RECORD, LINE_VOID };

/* A whole line as a record or a void line (*out owns it), or LINE_BAD. */
static enum line_kind read_line(const struct chunk *c, cJSON **out)
{
	static const char *const members[] = {
		"time", "form", "userId", "email", "text", "field", "trait", "messageId",
	};
	cJSON *j;

	*out = NULL;
	/* Nothing may follow the object: a line with more is no record. */
	if (!c->first || !c->last || strlen(c->buf) != c->n ||
	    !(j = cJSON_ParseWithOpts(c->buf, NULL, true)))
		return LINE_BAD;
	*out = j;
	if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "void")) &&
	    cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "email")))
		return LINE_VOID;
	for (size_t i = 0; i < sizeof members / sizeof members[0]; i++)
		if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, members[i])))
			return LINE_BAD;
	return LINE_RECORD;
}

static bool email_is(const cJSON *line, const char *email)
{
	const char *e = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(line, "email"));

	return e && strcasecmp(e, email) == 0;
}

/* What consent_find carries through its two passes. */
struct finder {
	struct consent_ledger *l;
	const char *email;
	bool voids_only;                 /* the first pass */
	char (*voids)[UUID_STR_SIZE];    /* voided messageIds of the email */
	size_t n_voids;
	cJSON *found;                    /* the records found in the file read */
	size_t n_found;
	size_t bad;
};

static bool voided(const struct finder *f, const char *mid)
{
	for (size_t i = 0; i < f->n_voids; i++)
		if (strcmp(f->voids[i], mid) == 0)
			return true;
	return false;
}

/* Adds a found record to `found` (which then owns it); n counts them. */
static enum consent_err keep(struct consent_ledger *l, cJSON *found, size_t *n, cJSON **rec)
{
	if (*n == CONSENT_MAX_FOUND) {
		say(l, "more than %u records of one email in one ledger file", CONSENT_MAX_FOUND);
		return CONSENT_ETOOBIG;
	}
	if (!cJSON_AddItemToArray(found, *rec)) {
		say(l, "out of memory");
		return CONSENT_ENOMEM;
	}
	*rec = NULL;
	(*n)++;
	return CONSENT_OK;
}

static enum consent_err find_line(void *ud, const struct chunk *c)
{
	struct finder *f = ud;
	enum consent_err e = CONSENT_OK;
	enum line_kind k;
	cJSON *j;

	if (!c->first)
		return CONSENT_OK;
	k = read_line(c, &j);
	if (f->voids_only && k == LINE_VOID && email_is(j, f->email)) {
		const char *mid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "void"));

		if (f->n_voids == CONSENT_MAX_VOIDS) {
			say(f->l, "more than %u void lines for one email", CONSENT_MAX_VOIDS);
			e = CONSENT_ETOOBIG;
		} else {
			snprintf(f->voids[f->n_voids++], UUID_STR_SIZE, "%s", mid);
		}
	} else if (!f->voids_only && k == LINE_RECORD && email_is(j, f->email) &&
	           !voided(f, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "messageId")))) {
		e = keep(f->l, f->found, &f->n_found, &j);
	} else if (!f->voids_only && k == LINE_BAD) {
		f->bad++;
	}
	cJSON_Delete(j);
	return e;
}

/* Calls fn for each record of `found`; *n counts them. */
static void give_found(const cJSON *found, consent_fn *fn, void *ud, size_t *n)
{
	const cJSON *r;

	cJSON_ArrayForEach(r, found) {
		fn(ud, r);
		(*n)++;
	}
}

/* One file of one pass, read under the shared lock. The records found go
 * to fn only once it is dropped: a reader that waits to write (a pipe
 * nobody reads) holds up no worker. */
static enum consent_err find_in(struct finder *f, int lk, const char *name, consent_fn *fn,
                                void *ud, size_t *n)
{
	char p[SPOOL_PATH_MAX];
	enum consent_err e;

	if (!path_in(f->l, name, p)) {
		say(f->l, "ledger path too long");
		return CONSENT_EIO;
	}
	if (!(f->found = cJSON_CreateArray())) {
		say(f->l, "out of memory");
		return CONSENT_ENOMEM;
	}
	f->n_found = 0;
	if (take_lock(f->l, lk, LOCK_SH, false) != 0) {
		e = CONSENT_EIO;
	} else {
		e = each_chunk(f->l, p, find_line, f);
		flock(lk, LOCK_UN);
	}
	if (e == CONSENT_OK)
		give_found(f->found, fn, ud, n);
	cJSON_Delete(f->found);
	f->found = NULL;
	return e;
}

enum consent_err consent_find(struct consent_ledger *l, const char *email, consent_fn *fn,
                              void *ud, size_t *n, size_t *bad)
{
	struct finder f = { .l = l, .email = email };
	enum consent_err e;
	struct part *parts = NULL;
	size_t n_parts = 0;
	int lk;

	*n = 0;
	if (bad)
		*bad = 0;
	if ((lk = open_lock(l, false)) < 0)
		return errno == ENOENT ? CONSENT_OK : CONSENT_EIO;
	if ((e = list_parts(l, &parts, &n_parts)) != CONSENT_OK)
		goto out;
	if (!(f.voids = malloc(CONSENT_MAX_VOIDS * sizeof *f.voids))) {
		say(l, "out of memory");
		e = CONSENT_ENOMEM;
		goto out;
	}
	for (int pass = 0; pass < 2 && e == CONSENT_OK; pass++) {
		f.voids_only = pass == 0;
		for (size_t i = 0; i < n_parts && e == CONSENT_OK; i++)
			e = find_in(&f, lk, parts[i].name, fn, ud, n);
	}
	if (bad)
		*bad = f.bad;
out:
	free(f.voids);
	free(parts);
	drop_lock(lk);
	return e;
}

/* ---- forgetting ------------------------------------------------------------- */

/* One file's rewrite without the email's lines, or the scan before it. */
struct rewrite {
	struct consent_ledger *l;
	const char *email;
	const char *member;      /* "email":"EMAIL" as cJSON writes it */
	cJSON *found;            /* the records removed; NULL in the scan */
	int out;                 /* the temporary file; -1 in the scan */
	char *tmp;
	bool dropping;           /* the current line goes */
	size_t records, torn;    /* records removed, lines that are none */
	size_t lines;            /* lines removed (voids too) */
	size_t kept;             /* bytes written */
};

/* Whether a line goes: its first piece decides. A line that is no record
 * goes when it holds the email's member whole (a torn record; a long
 * line's first piece): jimbob@x.com's is not bob@x.com's. */
static enum consent_err line_goes(struct rewrite *r, const struct chunk *c, bool *goes)
{
	enum consent_err e = CONSENT_OK;
	enum line_kind k;
	cJSON *j;

	k = read_line(c, &j);
	*goes = k == LINE_BAD ? strcasestr(c->buf, r->member) != NULL : email_is(j, r->email);
	if (*goes && k == LINE_RECORD && r->found)
		e = keep(r->l, r->found, &r->records, &j);
	else if (*goes && k == LINE_RECORD)
		r->records++;
	r->torn += *goes && k == LINE_BAD;
	cJSON_Delete(j);
	return e;
}

static enum consent_err copy_line(void *ud, const struct chunk *c)
{
	struct rewrite *r = ud;
	enum consent_err e;

	if (c->first) {
		if ((e = line_goes(r, c, &r->dropping)) != CONSENT_OK)
			return e;
		r->lines += r->dropping;
	}
	if (r->dropping || r->out < 0)
		return CONSENT_OK;
	if (io_write_all(r->out, c->buf, c->n) != 0 || (c->nl && io_write_all(r->out, "\n", 1) != 0))
		return sys_fail(r->l, "write", r->tmp);
	r->kept += c->n + c->nl;
	return CONSENT_OK;
}

/* Puts the rewrite in place of `path` (or removes both when nothing is
 * left), durably; or drops it when nothing was removed. */
static enum consent_err settle(struct rewrite *r, const char *path, enum consent_err e)
{
	if (e == CONSENT_OK && r->lines > 0 && fdatasync(r->out) != 0)
		e = sys_fail(r->l, "fdatasync", r->tmp);
	if (close(r->out) != 0 && e == CONSENT_OK)
		e = sys_fail(r->l, "close", r->tmp);
	if (e != CONSENT_OK || r->lines == 0 || r->kept == 0) {
		unlink(r->tmp);
		if (e != CONSENT_OK || r->lines == 0)
			return e;
		if (unlink(path) != 0)
			return sys_fail(r->l, "unlink", path);
	} else if (rename(r->tmp, path) != 0) {
		e = sys_fail(r->l, "rename", path);
		unlink(r->tmp);
		return e;
	}
	return io_fsync_dir(r->l->dir) == 0 ? CONSENT_OK : sys_fail(r->l, "fsync", r->l->dir);
}

/* The rewrite of `path`, under the exclusive lock: what goes is decided
 * again, as lines may have come since the scan. */
static enum consent_err rewrite(struct rewrite *r, int lk, const char *path)
{
	char tname[64];
	enum consent_err e;
	struct stat st;

	/* A dot first: no reader takes it for a ledger file. */
	snprintf(tname, sizeof tname, ".forget.%ld", (long)getpid());
	if (!path_in(r->l, tname, r->tmp)) {
		say(r->l, "ledger path too long");
		return CONSENT_EIO;
	}
	if (take_lock(r->l, lk, LOCK_EX, false) != 0)
		return CONSENT_EIO;
	unlink(r->tmp);   /* left by a killed run of this pid */
	if (stat(path, &st) != 0) {
		e = errno == ENOENT ? CONSENT_OK : sys_fail(r->l, "stat", path);
		goto out;
	}
	r->out = open(r->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (r->out < 0) {
		e = sys_fail(r->l, "create", r->tmp);
		goto out;
	}
	/* Run by root, the rewrite must stay the workers' to append to. */
	e = fchown(r->out, st.st_uid, st.st_gid) == 0 ? CONSENT_OK : sys_fail(r->l, "chown", r->tmp);
	if (e == CONSENT_OK)
		e = each_chunk(r->l, path, copy_line, r);
	e = settle(r, path, e);
out:
	flock(lk, LOCK_UN);
	return e;
}

/* One ledger file without the email's lines: scanned under the shared lock,
 * rewritten under the exclusive one only when it holds some. fn hears of
 * the records removed once the lock is dropped; *n and *torn grow. */
static enum consent_err forget_in(struct rewrite *r, int lk, const char *name, consent_fn *fn,
                                  void *ud, size_t *n, size_t *torn)
{
	char path[SPOOL_PATH_MAX], tmp[SPOOL_PATH_MAX];
	enum consent_err e;

	if (!path_in(r->l, name, path)) {
		say(r->l, "ledger path too long");
		return CONSENT_EIO;
	}
	r->found = NULL;
	r->out = -1;
	r->records = r->torn = r->lines = r->kept = 0;
	if (take_lock(r->l, lk, LOCK_SH, false) != 0)
		return CONSENT_EIO;
	e = each_chunk(r->l, path, copy_line, r);
	flock(lk, LOCK_UN);
	if (e != CONSENT_OK || r->lines == 0)
		return e;
	r->records = r->torn = r->lines = 0;
	r->tmp = tmp;
	if (!(r->found = cJSON_CreateArray())) {
		say(r->l, "out of memory");
		return CONSENT_ENOMEM;
	}
	e = rewrite(r, lk, path);
	if (e == CONSENT_OK) {
		give_found(r->found, fn, ud, n);
		*torn += r->torn;
	}
	cJSON_Delete(r->found);
	return e;
}

/* "email":"EMAIL", the member as a record holds it (malloc'd), or NULL. */
static char *email_member(const char *email)
{
	cJSON *s = cJSON_CreateString(email);
	char *v = s ? cJSON_PrintUnformatted(s) : NULL;
	char *m = v ? malloc(strlen(v) + sizeof "\"email\":") : NULL;

	if (m)
		sprintf(m, "\"email\":%s", v);
	cJSON_free(v);
	cJSON_Delete(s);
	return m;
}

enum consent_err consent_forget(struct consent_ledger *l, const char *email, consent_fn *fn,
                                void *ud, size_t *n, size_t *torn)
{
	struct rewrite r = { .l = l, .email = email, .out = -1 };
	struct part *parts = NULL;
	enum consent_err e;
	size_t n_parts = 0;
	char *member;
	int lk;

	*n = *torn = 0;
	if ((lk = open_lock(l, false)) < 0)
		return errno == ENOENT ? CONSENT_OK : CONSENT_EIO;
	if (!(member = email_member(email))) {
		say(l, "out of memory");
		drop_lock(lk);
		return CONSENT_ENOMEM;
	}
	r.member = member;
	e = list_parts(l, &parts, &n_parts);
	for (size_t i = 0; i < n_parts && e == CONSENT_OK; i++)
		e = forget_in(&r, lk, parts[i].name, fn, ud, n, torn);
	free(parts);
	free(member);
	drop_lock(lk);
	return e;
}

const char *consent_strerror(enum consent_err e)
{
	switch (e) {
	case CONSENT_OK: return "ok";
	case CONSENT_EIO: return "the consent ledger cannot be written or read";
	case CONSENT_ENOSPC: return "no space left for the consent ledger";
	case CONSENT_ETOOBIG: return "over a limit of the consent ledger";
	case CONSENT_ENOMEM: return "out of memory";
	case CONSENT_EBUSY: return "the consent ledger is locked by another process";
	}
	return "unknown error";
}
