/*
 * fm_lists.c: marketing lists by name: the copies, the fetch of every page,
 * the creation of a missing one under the shared lock (fm_lists.h).
 */
#include "fm_lists.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "clock.h"
#include "hash.h"
#include "log.h"
#include "mapping.h"
#include "statedir.h"

#define FILE_NAME    "lists.json"
#define LOCK_NAME    "lists.lock"
#define LOCK_POLL_MS 20L
/* bytes of the shared file: every list with its name escaped at worst */
#define MAX_FILE     ((size_t)FM_LISTS_MAX * (6u * MAP_MAX_LIST_NAME + 64u))

struct entry {
	long long id;
	char *name;
	bool made;             /* created by fmgate and not yet seen in a fetch: kept
	                          across fetches, since the CRM's list of lists may
	                          lag behind a creation */
};

/* One copy of the account's lists. */
struct copy {
	struct entry *v;
	size_t n, cap;
	bool complete;         /* every list of the CRM is in it */
};

struct fm_lists {
	struct fm_http *h;
	struct statedir *sd;   /* SPOOL/state; NULL: this process's copy only */
	bool writable;         /* the shared file and the lock may be written */
	char account[17];      /* fingerprint of the API base, "%016llx" */
	struct copy copy;
	bool file_seen;        /* the shared file as last read or written */
	struct stat file;
	bool checked;          /* fetched whole for fm_lists_exists */
};

/* ---- a copy --------------------------------------------------------------- */

static void copy_free(struct copy *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i].name);
	free(c->v);
	memset(c, 0, sizeof *c);
}

static bool copy_find(const struct copy *c, const char *name, long long *id)
{
	for (size_t i = 0; i < c->n; i++) {
		if (strcmp(c->v[i].name, name) == 0) {
			*id = c->v[i].id;
			return true;
		}
	}
	return false;
}

/* Adds a list; false when out of memory or full (the copy is then partial). */
static bool copy_add(struct copy *c, long long id, const char *name, bool made)
{
	struct entry *v;
	char *s;

	if (c->n == c->cap) {
		if (!(v = buf_grow_array(c->v, &c->cap, sizeof *v, 64, FM_LISTS_MAX)))
			return false;
		c->v = v;
	}
	if (!(s = strdup(name)))
		return false;
	c->v[c->n++] = (struct entry){id, s, made};
	return true;
}

/* Adds the lists of one page or file ([{"id":..,"name":..}]). Names longer
 * than a mapping's are never asked for and are left out. False when the copy
 * is full or out of memory. */
static bool copy_add_json(struct copy *c, const cJSON *lists)
{
	const cJSON *e, *name;
	long long id;

	cJSON_ArrayForEach(e, lists) {
		name = cJSON_GetObjectItemCaseSensitive(e, "name");
		if (!(id = fm_id_of(cJSON_GetObjectItemCaseSensitive(e, "id"))) ||
		    !cJSON_IsString(name) || strlen(name->valuestring) > MAP_MAX_LIST_NAME)
			continue;
		if (!copy_add(c, id, name->valuestring,
		              cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "made"))))
			return false;
	}
	return true;
}

static bool copy_has_id(const struct copy *c, long long id)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->v[i].id == id)
			return true;
	return false;
}

/* The lists `old` made that a fetch into `c` did not show yet, carried
 * over; false when out of memory or full. */
static bool copy_keep_made(struct copy *c, const struct copy *old)
{
	for (size_t i = 0; i < old->n; i++)
		if (old->v[i].made && !copy_has_id(c, old->v[i].id) &&
		    !copy_add(c, old->v[i].id, old->v[i].name, true))
			return false;
	return true;
}

/* ---- the shared file ------------------------------------------------------- */

static bool same_file(const struct fm_lists *l, const struct stat *sb)
{
	return l->file_seen && sb->st_dev == l->file.st_dev && sb->st_ino == l->file.st_ino &&
	       sb->st_size == l->file.st_size &&
	       sb->st_mtim.tv_sec == l->file.st_mtim.tv_sec &&
	       sb->st_mtim.tv_nsec == l->file.st_mtim.tv_nsec;
}

static void remember_file(struct fm_lists *l)
{
	l->file_seen = statedir_stat(l->sd, FILE_NAME, &l->file) == 0;
}

/* Takes the shared copy when another process wrote one since it was last
 * seen: it was written after this process's copy was fetched. */
static void take_file(struct fm_lists *l)
{
	struct copy c = {0};
	cJSON *doc = NULL;
	const cJSON *acct, *done;
	struct stat sb;
	char *s = NULL;
	size_t len;

	if (!l->sd || statedir_stat(l->sd, FILE_NAME, &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    same_file(l, &sb))
		return;
	/* Remembered even when unusable, so a bad file is not read every time. */
	l->file = sb;
	l->file_seen = true;
	if (statedir_read(l->sd, FILE_NAME, MAX_FILE, &s, &len) != STATEDIR_OK ||
	    !(doc = cJSON_ParseWithLength(s, len)))
		goto out;
	acct = cJSON_GetObjectItemCaseSensitive(doc, "account");
	done = cJSON_GetObjectItemCaseSensitive(doc, "complete");
	if (!cJSON_IsString(acct) || strcmp(acct->valuestring, l->account) != 0 ||
	    !copy_add_json(&c, cJSON_GetObjectItemCaseSensitive(doc, "lists")))
		goto out;
	c.complete = cJSON_IsTrue(done);
	copy_free(&l->copy);
	l->copy = c;
	c = (struct copy){0};
out:
	copy_free(&c);
	cJSON_Delete(doc);
	free(s);
}

/* Stores this process's copy as the shared one. */
static void write_file(struct fm_lists *l)
{
	enum statedir_err e = STATEDIR_ENOMEM;
	cJSON *doc, *list, *item;
	char *json = NULL;
	bool ok;

	if (!l->sd || !l->writable)
		return;
	doc = cJSON_CreateObject();
	ok = cJSON_AddStringToObject(doc, "account", l->account) &&
	     cJSON_AddBoolToObject(doc, "complete", l->copy.complete) &&
	     (list = cJSON_AddArrayToObject(doc, "lists")) != NULL;
	for (size_t i = 0; ok && i < l->copy.n; i++)
		ok = (item = cJSON_CreateObject()) != NULL && cJSON_AddItemToArray(list, item) &&
		     cJSON_AddNumberToObject(item, "id", (double)l->copy.v[i].id) &&
		     cJSON_AddStringToObject(item, "name", l->copy.v[i].name) &&
		     (!l->copy.v[i].made || cJSON_AddTrueToObject(item, "made"));
	if (ok && (json = cJSON_PrintUnformatted(doc)) &&
	    (e = statedir_write(l->sd, FILE_NAME, json, strlen(json), STATEDIR_REPLACE)) ==
	    STATEDIR_OK)
		remember_file(l);
	else
		log_msg(LOG_WARN, "cannot store the marketing lists in %s/" FILE_NAME ": %s",
		        statedir_path(l->sd), statedir_strerror(e));
	cJSON_free(json);
	cJSON_Delete(doc);
}

/* ---- the API ----------------------------------------------------------------- */

/*
 * Every page of GET /lists into this process's copy (and, when `share`, the
 * shared file), the lists this copy made and the fetch did not show kept.
 * Pages are read up to meta.total_pages, or, without it, up to an empty
 * page. False with *out filled when a page could not be had: the copy is
 * then unchanged.
 */
static bool fetch(struct fm_lists *l, bool share, uint64_t deadline, struct fm_result *out)
{
	struct copy c = {0};
	cJSON *doc = NULL;
	const cJSON *lists, *total;
	char path[64];
	long status;
	bool ok = false;

	for (int page = 1; page <= FM_LISTS_MAX_PAGES; page++) {
		snprintf(path, sizeof path, "/lists?page=%d", page);
		cJSON_Delete(doc);
		doc = NULL;
		if (!fm_http_call(l->h, "GET", path, NULL, deadline, out, &status) ||
		    !fm_http_read_ok(l->h, status, out))
			goto out;
		doc = fm_http_json(l->h);
		if (!cJSON_IsArray(lists = cJSON_GetObjectItemCaseSensitive(doc, "lists"))) {
			fm_result_say(out, FM_RETRY, "marketing lists: not the expected answer");
			goto out;
		}
		if (!copy_add_json(&c, lists)) {
			if (c.n < FM_LISTS_MAX) {
				fm_result_say(out, FM_RETRY, "out of memory");
				goto out;
			}
			break;   /* full: partial */
		}
		total = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(doc, "meta"), "total_pages");
		/* An empty page ends the lists, whatever a count said. */
		if ((cJSON_IsNumber(total) && total->valuedouble <= page) ||
		    cJSON_GetArraySize(lists) == 0) {
			c.complete = true;
			break;
		}
	}
	if (!copy_keep_made(&c, &l->copy)) {
		fm_result_say(out, FM_RETRY, "out of memory");
		goto out;
	}
	if (!c.complete)
		log_msg(LOG_WARN, "the CRM has more marketing lists than fmgate reads (%d pages, %u "
		        "lists): names not among them are refused", FM_LISTS_MAX_PAGES, FM_LISTS_MAX);
	copy_free(&l->copy);
	l->copy = c;
	c = (struct copy){0};
	if (share)
		write_file(l);
	ok = true;
out:
	copy_free(&c);
	cJSON_Delete(doc);
	return ok;
}

/* A name not in a copy fetched and checked: why it is refused. */
static void missing(const struct fm_lists *l, const char *name, struct fm_result *out)
{
	if (l->copy.complete)
		fm_result_say(out, FM_REJECTED, "no list named \"%s\" in the CRM", name);
	else
		fm_result_say(out, FM_REJECTED, "no list named \"%s\" among the first %u lists of the "
		              "CRM (fmgate reads no more)", name, FM_LISTS_MAX);
}

/*
 * The lock of the one process creating a list: true with *fd holding it, or
 * -1 when there is nothing to share. False with *out FM_RETRY when another
 * process held it past the deadline.
 */
static bool lock(struct fm_lists *l, uint64_t deadline, struct fm_result *out, int *fd)
{
	struct timespec pause = {0, LOCK_POLL_MS * 1000000L};

	*fd = -1;
	if (!l->sd || !l->writable ||
	    (*fd = statedir_openat(l->sd, LOCK_NAME, O_RDWR | O_CREAT)) < 0)
		return true;
	while (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno != EWOULDBLOCK && errno != EINTR)
			break;   /* a lock that cannot be taken: create unshared */
		if ((uint64_t)clock_mono_ms() >= deadline) {
			close(*fd);
			*fd = -1;
			fm_result_say(out, FM_RETRY, "another process is creating a marketing list");
			return false;
		}
		nanosleep(&pause, NULL);
	}
	return true;
}

/* POST /lists: the new list's id in both copies. A 400 (a duplicate name
 * refused) fetches the lists once more and takes the list found. */
static bool create(struct fm_lists *l, const char *name, uint64_t deadline,
                   struct fm_result *out, long long *id)
{
	cJSON *body = cJSON_CreateObject();
	struct fm_result refused;
	char *json = NULL;
	long status;
	bool ok = false;

	if (!cJSON_AddStringToObject(body, "name", name) || !(json = cJSON_PrintUnformatted(body))) {
		fm_result_say(out, FM_RETRY, "out of memory");
		goto out;
	}
	if (!fm_http_call(l->h, "POST", "/lists", json, deadline, out, &status))
		goto out;
	fm_http_classify(l->h, status, out);
	if (status == 400) {
		refused = *out;
		if (fetch(l, true, deadline, out) && !(ok = copy_find(&l->copy, name, id))) {
			refused.calls = out->calls;
			*out = refused;
		}
		goto out;
	}
	if (out->outcome != FM_DELIVERED)
		goto out;
	if (!(*id = fm_http_answer_id(l->h, "list"))) {
		fm_result_say(out, FM_RETRY, "no list id in the answer");
		goto out;
	}
	log_msg(LOG_INFO, "Freshmarketer marketing list \"%s\" created (id %lld)", name, *id);
	/* Not kept (no memory): the next miss fetches the lists and finds it. */
	if (copy_add(&l->copy, *id, name, true))
		write_file(l);
	ok = true;
out:
	cJSON_Delete(body);
	cJSON_free(json);
	return ok;
}

/* ---- entry points -------------------------------------------------------------- */

struct fm_lists *fm_lists_new(struct fm_http *h, const char *spool_dir, bool read_only)
{
	struct fm_lists *l = calloc(1, sizeof *l);
	enum statedir_err e = STATEDIR_OK;

	if (!l)
		return NULL;
	l->h = h;
	snprintf(l->account, sizeof l->account, "%016llx",
	         (unsigned long long)hash_fnv1a(HASH_FNV_INIT, h->base, strlen(h->base)));
	if (spool_dir && *spool_dir) {
		if (!read_only)
			l->writable = (l->sd = statedir_open(spool_dir, STATEDIR_WRITE, &e)) != NULL;
		if (!l->sd && e != STATEDIR_ENOMEM)
			l->sd = statedir_open(spool_dir, STATEDIR_READ, &e);
	}
	if (e == STATEDIR_ENOMEM) {
		fm_lists_free(l);
		return NULL;
	}
	return l;
}

void fm_lists_free(struct fm_lists *l)
{
	if (!l)
		return;
	copy_free(&l->copy);
	statedir_close(l->sd);
	free(l);
}

bool fm_lists_known(struct fm_lists *l, const char *name, long long *id)
{
	if (copy_find(&l->copy, name, id))
		return true;
	take_file(l);
	return copy_find(&l->copy, name, id);
}

void fm_lists_find(struct fm_lists *l, const char *name, bool may_create, uint64_t deadline,
                   long long *id, struct fm_result *out)
{
	int fd = -1;

	*id = 0;
	if (!name || !*name || strlen(name) > MAP_MAX_LIST_NAME) {
		fm_result_say(out, FM_REJECTED, "no list name, or one over %u bytes", MAP_MAX_LIST_NAME);
		return;
	}
	if (fm_lists_known(l, name, id))
		goto found;
	/* Not in a copy: the CRM is asked, however recent the copy (the
	 * operator who just created a missing list and requeued its step
	 * must not be told it is missing again). */
	if (!fetch(l, true, deadline, out))
		goto out;
	if (copy_find(&l->copy, name, id))
		goto found;
	if (!may_create || !l->copy.complete) {
		missing(l, name, out);
		goto out;
	}
	/* Under the lock, another process may have created the list since this
	 * one looked: the shared file says so first (the CRM's list of lists
	 * may lag behind), then the CRM is asked again. */
	if (!lock(l, deadline, out, &fd))
		goto out;
	take_file(l);
	if (copy_find(&l->copy, name, id))
		goto found;
	if (!fetch(l, true, deadline, out))
		goto out;
	if (copy_find(&l->copy, name, id))
		goto found;
	if (!l->copy.complete) {
		missing(l, name, out);
		goto out;
	}
	if (!create(l, name, deadline, out, id))
		goto out;
found:
	fm_result_say(out, FM_DELIVERED, "%s", "");
out:
	if (fd >= 0)
		close(fd);   /* unlocks */
	if (out->outcome != FM_DELIVERED)
		*id = 0;
}

void fm_lists_add(struct fm_lists *l, long long list_id, long long contact_id, uint64_t deadline,
                  struct fm_result *out)
{
	cJSON *body = cJSON_CreateObject(), *ids = cJSON_AddArrayToObject(body, "ids"), *n;
	char path[64], *json = NULL;
	long status;

	if (!ids || !(n = cJSON_CreateNumber((double)contact_id)) || !cJSON_AddItemToArray(ids, n) ||
	    !(json = cJSON_PrintUnformatted(body))) {
		fm_result_say(out, FM_RETRY, "out of memory");
		goto out;
	}
	snprintf(path, sizeof path, "/lists/%lld/add_contacts", list_id);
	if (!fm_http_call(l->h, "PUT", path, json, deadline, out, &status))
		goto out;
	fm_http_classify(l->h, status, out);
	if (status != 404)
		goto out;
	/* The list is gone: forgotten everywhere, and looked for again. */
	take_file(l);
	for (size_t i = 0; i < l->copy.n; i++) {
		if (l->copy.v[i].id == list_id) {
			free(l->copy.v[i].name);
			l->copy.v[i--] = l->copy.v[--l->copy.n];
		}
	}
	write_file(l);
	fm_result_say(out, FM_RETRY, "list %lld not found (deleted?): it is looked for again on "
	              "the next try", list_id);
out:
	cJSON_Delete(body);
	cJSON_free(json);
}

int fm_lists_exists(struct fm_lists *l, const char *name, uint64_t deadline,
                    struct fm_result *out)
{
	long long id;

	/* One fetch serves every name a check asks about. */
	if (!l->checked && !fetch(l, false, deadline, out))
		return -1;
	l->checked = true;
	if (copy_find(&l->copy, name, &id))
		return 1;
	if (l->copy.complete)
		return 0;
	missing(l, name, out);
	return -1;
}
