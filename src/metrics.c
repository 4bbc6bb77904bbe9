/* metrics.c: shared counters of posts and deliveries in SPOOL/state/metrics-1. */
#include "metrics.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "hash.h"
#include "log.h"
#include "statedir.h"
#include "text.h"

#define MT_MAGIC   "FMGMET1"
#define MT_CLAIMED 1u                  /* a slot's tag while its names are written */
#define MT_SPINS   10000u              /* waits for a claim before passing the slot */

static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "lock-free atomics");

/* The words counted; the last of each list is "other". */
static const char *const post_outcomes[] = {
	"delivered", "queued", "retry", "paused", "rejected", "conflict", "invalid",
	"refused", "rate_limited", "unavailable", "honeypot", "other",
};
static const char *const codes[] = {
	"missing_email", "invalid_email", "missing_user_id", "invalid_user_id",
	"missing_field", "invalid_value", "too_long", "captcha", "rejected",
	"malformed_body", "body_timeout", "body_too_large", "too_many_fields",
	"unsupported_media_type", "file_upload", "rate_limited", "unavailable",
	"internal_error", "forbidden_origin", "not_found", "method_not_allowed", "other",
};
static const char *const dlv_outcomes[] = {
	"delivered", "retry", "rejected", "paused", "conflict", "invalid", "other",
};
/* Upper bounds of the latency buckets: milliseconds, and as printed. */
static const long long bucket_ms[METRICS_BUCKETS] = {
	50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000,
};
static const char *const bucket_le[METRICS_BUCKETS] = {
	"0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30", "60",
};

#define N_POST (sizeof post_outcomes / sizeof post_outcomes[0])
#define N_CODE (sizeof codes / sizeof codes[0])
#define N_DLV  (sizeof dlv_outcomes / sizeof dlv_outcomes[0])

typedef atomic_uint_least64_t counter;

struct mt_key {
	counter tag;              /* 0: free; MT_CLAIMED; else the names' hash | 2^63 */
	char form[LIMIT_MAX_FORM_ID + 1];
	char dest[MAP_MAX_DEST_NAME + 1];
};

struct mt_post {
	struct mt_key k;
	counter outcome[N_POST];
	counter code[N_CODE];     /* "none" is not counted: outcome says it */
};

struct mt_dlv {
	struct mt_key k;
	counter outcome[N_DLV];
	counter bucket[METRICS_BUCKETS + 1]; /* not cumulative; the last: over 60 s */
	counter sum_ms;
};

struct mt_file {
	char magic[8];
	uint64_t size;
	struct mt_post post[METRICS_FORMS + 1];  /* the last: "_other" */
	struct mt_dlv dlv[METRICS_DESTS + 1];
};

/* This process's writable mapping, for the spool directory last counted in. */
static struct {
	char spool[STATEDIR_PATH_MAX];
	struct mt_file *map;
	dev_t dev;
	ino_t ino;
	time_t checked_s;
	bool warned;
} wr;

static bool ready(int fd, struct stat *sb)
{
	struct { char magic[8]; uint64_t size; } h;

	return fstat(fd, sb) == 0 && S_ISREG(sb->st_mode) &&
	       (size_t)sb->st_size == sizeof(struct mt_file) &&
	       pread(fd, &h, sizeof h, 0) == (ssize_t)sizeof h &&
	       memcmp(h.magic, MT_MAGIC, sizeof h.magic) == 0 && h.size == sizeof(struct mt_file);
}

/* A key's "_other" names (dest "" for a post slot). */
static void name_other(struct mt_key *k, const char *dest)
{
	atomic_init(&k->tag, 1ull << 63);
	text_copy(k->form, sizeof k->form, METRICS_OTHER);
	text_copy(k->dest, sizeof k->dest, dest);
}

/*
 * A new file of this layout, zeroed with the "_other" slots named, as the
 * file of sd: written whole beside it, then linked in when there is none
 * (STATEDIR_KEEP: the first process's stays) or renamed over one of another
 * layout (STATEDIR_REPLACE). Never made in place: no process sees a file half
 * made, and one that has the old file mapped keeps it whole (a file cut short
 * under a mapping is SIGBUS); it finds the new one at its next look.
 */
static bool make_file(struct statedir *sd, enum statedir_how how)
{
	struct mt_file *f = calloc(1, sizeof *f);   /* the padding too: written out */
	enum statedir_err e;

	if (!f)
		return false;
	memcpy(f->magic, MT_MAGIC, sizeof f->magic);
	f->size = sizeof *f;
	name_other(&f->post[METRICS_FORMS].k, "");
	name_other(&f->dlv[METRICS_DESTS].k, METRICS_OTHER);
	e = statedir_write(sd, METRICS_FILE, f, sizeof *f, how);
	free(f);
	return e == STATEDIR_OK || (how == STATEDIR_KEEP && e == STATEDIR_EEXIST);
}

/* The file of sd mapped writable, made when missing, made anew when of
 * another layout. No lock: a file in place is always whole. */
static struct mt_file *map_writable(struct statedir *sd, struct stat *sb)
{
	void *map = MAP_FAILED;
	int fd = statedir_openat(sd, METRICS_FILE, O_RDWR);

	if (fd < 0 && errno == ENOENT && make_file(sd, STATEDIR_KEEP))
		fd = statedir_openat(sd, METRICS_FILE, O_RDWR);
	if (fd >= 0 && !ready(fd, sb)) {
		close(fd);
		fd = make_file(sd, STATEDIR_REPLACE) ? statedir_openat(sd, METRICS_FILE, O_RDWR) : -1;
	}
	if (fd >= 0 && ready(fd, sb))
		map = mmap(NULL, sizeof(struct mt_file), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (fd >= 0)
		close(fd);
	return map == MAP_FAILED ? NULL : map;
}

/* The writable mapping of spool_dir; NULL when there is none (logged once).
 * The file is compared with it at most once a second. */
static struct mt_file *writer(const char *spool_dir)
{
	time_t now = (time_t)(clock_mono_ms() / 1000);
	enum statedir_err e = STATEDIR_ENAME;
	struct statedir *sd;
	struct stat sb;

	if (!spool_dir || !spool_dir[0])
		return NULL;
	if (now == wr.checked_s && strcmp(wr.spool, spool_dir) == 0)
		return wr.map;
	wr.checked_s = now;
	if (strcmp(wr.spool, spool_dir) != 0 && !text_copy(wr.spool, sizeof wr.spool, spool_dir))
		wr.spool[0] = '\0';
	sd = wr.spool[0] ? statedir_open(spool_dir, STATEDIR_WRITE, &e) : NULL;
	if (wr.map && sd && statedir_stat(sd, METRICS_FILE, &sb) == 0 && sb.st_dev == wr.dev &&
	    sb.st_ino == wr.ino)
		goto out;
	if (wr.map)
		munmap(wr.map, sizeof(struct mt_file));
	wr.map = sd ? map_writable(sd, &sb) : NULL;
	if (wr.map) {
		wr.dev = sb.st_dev;
		wr.ino = sb.st_ino;
	} else if (!wr.warned) {
		wr.warned = true;
		log_msg(LOG_WARN, "metrics not counted: %s/%s/%s cannot be mapped (%s)", spool_dir,
		        STATEDIR_NAME, METRICS_FILE, sd ? "made or mapped" : statedir_strerror(e));
	}
out:
	statedir_close(sd);
	return wr.map;
}

static size_t word_index(const char *const *words, size_t n, const char *w)
{
	for (size_t i = 0; w && i + 1 < n; i++)
		if (strcmp(words[i], w) == 0)
			return i;
	return n - 1;
}

static bool key_is(const struct mt_key *k, const char *form, const char *dest)
{
	return strcmp(k->form, form) == 0 && strcmp(k->dest, dest) == 0;
}

/*
 * The slot of (form, dest) among n keys spaced `stride` bytes apart, claimed
 * when free; the last one ("_other") when the names are too long or the
 * table is full. A claim a dead process left half made is passed over.
 */
static struct mt_key *find_slot(void *base, size_t stride, size_t n, const char *form,
                                const char *dest)
{
	size_t lf = strlen(form), ld = strlen(dest);
	uint64_t h, tag;

	if (lf > LIMIT_MAX_FORM_ID || ld > MAP_MAX_DEST_NAME)
		return (struct mt_key *)(void *)((char *)base + n * stride);
	h = hash_fnv1a(hash_fnv1a(HASH_FNV_INIT, form, lf + 1), dest, ld);
	tag = h | 1ull << 63;
	for (size_t i = 0; i < n; i++) {
		struct mt_key *k = (void *)((char *)base + (h + i) % n * stride);
		uint64_t t = atomic_load_explicit(&k->tag, memory_order_acquire);
		unsigned spins = 0;

		if (t == 0) {
			uint64_t zero = 0;

			if (atomic_compare_exchange_strong(&k->tag, &zero, MT_CLAIMED)) {
				memcpy(k->form, form, lf + 1);
				memcpy(k->dest, dest, ld + 1);
				atomic_store_explicit(&k->tag, tag, memory_order_release);
				return k;
			}
			t = zero;
		}
		while (t == MT_CLAIMED && spins++ < MT_SPINS)
			t = atomic_load_explicit(&k->tag, memory_order_acquire);
		if (t == tag && key_is(k, form, dest))
			return k;
	}
	return (struct mt_key *)(void *)((char *)base + n * stride);
}

static void add(counter *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

void metrics_post(const char *spool_dir, const char *form, const char *outcome,
                  const char *code)
{
	struct mt_file *f = writer(spool_dir);
	struct mt_post *p;

	if (!f)
		return;
	p = (struct mt_post *)(void *)find_slot(f->post, sizeof f->post[0], METRICS_FORMS,
	                                        form ? form : METRICS_NO_FORM, "");
	add(&p->outcome[word_index(post_outcomes, N_POST, outcome)], 1);
	if (code)
		add(&p->code[word_index(codes, N_CODE, code)], 1);
}

void metrics_delivery(const char *spool_dir, const char *form, const char *dest,
                      const char *outcome, long long ms)
{
	struct mt_file *f = writer(spool_dir);
	struct mt_dlv *d;
	size_t b = 0;

	if (!f)
		return;
	d = (struct mt_dlv *)(void *)find_slot(f->dlv, sizeof f->dlv[0], METRICS_DESTS, form,
	                                       dest && dest[0] ? dest : MAP_CRM_NAME);
	add(&d->outcome[word_index(dlv_outcomes, N_DLV, outcome)], 1);
	if (ms < 0)
		return;
	while (b < METRICS_BUCKETS && ms > bucket_ms[b])
		b++;
	add(&d->bucket[b], 1);
	add(&d->sum_ms, (uint64_t)ms);
}

/* ---- printing ------------------------------------------------------------- */

/* The counters as read once, in plain numbers. */
struct snap_post {
	char form[LIMIT_MAX_FORM_ID + 1];
	uint64_t outcome[N_POST], code[N_CODE];
};

struct snap_dlv {
	char form[LIMIT_MAX_FORM_ID + 1], dest[MAP_MAX_DEST_NAME + 1];
	uint64_t outcome[N_DLV], cum[METRICS_BUCKETS + 1], sum_ms; /* cum: cumulative */
};

struct snap {
	struct metrics_left_out left;
	size_t n_post, n_dlv;
	struct snap_post post[METRICS_FORMS + 1];
	struct snap_dlv dlv[METRICS_DESTS + 1];
};

static uint64_t load(const counter *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/* A slot's tag: acquire, pairing with the release that published its names. */
static uint64_t load_tag(const counter *c)
{
	return atomic_load_explicit(c, memory_order_acquire);
}

/*
 * The file of spool_dir mapped read-only; NULL with *err OK when there is
 * none, or when it is a file of another layout (*other set): another
 * version's counters are left out, the rest is still printed.
 */
static struct mt_file *map_readonly(const char *spool_dir, bool *other, enum metrics_err *err)
{
	enum statedir_err e;
	struct statedir *sd = statedir_open(spool_dir, STATEDIR_READ, &e);
	void *map = MAP_FAILED;
	struct stat sb;
	/* O_NONBLOCK: a FIFO put in its place must not hold the reader. */
	int fd = sd ? statedir_openat(sd, METRICS_FILE, O_RDONLY | O_NONBLOCK) : -1;

	/* No state folder or no file yet: nothing counted, not an error; a
	 * file that cannot be opened (another user's) is one, as is anything
	 * but a regular file in its place. */
	*err = (!sd && e != STATEDIR_ENOENT) || (sd && fd < 0 && errno != ENOENT) ? METRICS_EMAP
	                                                                          : METRICS_OK;
	if (fd >= 0) {
		if (ready(fd, &sb))
			map = mmap(NULL, sizeof(struct mt_file), PROT_READ, MAP_SHARED, fd, 0);
		else if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode))
			*other = true;
		if (map == MAP_FAILED && !*other)
			*err = METRICS_EMAP;
		close(fd);
	}
	statedir_close(sd);
	return map == MAP_FAILED ? NULL : map;
}

/* A slot's names copied out of the file, which other processes write: what
 * is checked is what is printed. A field that filled its whole size was left
 * unterminated (a torn claim, or a damaged file). */
struct names {
	char form[LIMIT_MAX_FORM_ID + 2];
	char dest[MAP_MAX_DEST_NAME + 2];
};

static void names_of(struct names *n, const struct mt_key *k)
{
	memcpy(n->form, k->form, sizeof k->form);
	n->form[sizeof k->form] = '\0';
	memcpy(n->dest, k->dest, sizeof k->dest);
	n->dest[sizeof k->dest] = '\0';
}

/* A name of the file as the mapping allows it ("_other" for either kind):
 * nothing that could break a label value or a line, whatever the file holds. */
static bool name_ok(const char *raw, size_t size, bool dest)
{
	size_t n = strnlen(raw, size);

	if (n == size)          /* unterminated */
		return false;
	return strcmp(raw, METRICS_OTHER) == 0 ||
	       (dest ? map_dest_name_valid(raw) : map_form_id_valid(raw, n));
}

/* A slot's names, copied into *n, are printable (dest too for a delivery
 * slot); counted in left.names when not. */
static bool names_ok(struct snap *s, const struct mt_key *k, bool dlv, struct names *n)
{
	bool ok;

	names_of(n, k);
	ok = name_ok(n->form, sizeof n->form - 1, false) &&
	     (!dlv || name_ok(n->dest, sizeof n->dest - 1, true));
	if (!ok)
		s->left.names++;
	return ok;
}

/* The entry of the names (dest NULL: a post slot's), added when new. Two
 * slots of the same names (a claim passed over while its claimer was held
 * up) are summed into one. */
static size_t entry(struct snap *s, const struct names *k, bool dlv)
{
	const char *form = k->form, *dest = k->dest;
	size_t n = dlv ? s->n_dlv : s->n_post, i;

	for (i = 0; i < n; i++)
		if (dlv ? strcmp(s->dlv[i].form, form) == 0 && strcmp(s->dlv[i].dest, dest) == 0
		        : strcmp(s->post[i].form, form) == 0)
			return i;
	if (dlv) {
		text_copy(s->dlv[i].form, sizeof s->dlv[i].form, form);
		text_copy(s->dlv[i].dest, sizeof s->dlv[i].dest, dest);
		s->n_dlv++;
	} else {
		text_copy(s->post[i].form, sizeof s->post[i].form, form);
		s->n_post++;
	}
	return i;
}

/* The named slots, in table order; "_other" last. */
static void take(struct snap *s, const struct mt_file *f)
{
	for (size_t i = 0; f && i <= METRICS_FORMS; i++) {
		const struct mt_post *p = &f->post[i];
		struct snap_post *o;
		struct names n;

		if (load_tag(&p->k.tag) <= MT_CLAIMED || !names_ok(s, &p->k, false, &n))
			continue;
		o = &s->post[entry(s, &n, false)];
		for (size_t j = 0; j < N_POST; j++)
			o->outcome[j] += load(&p->outcome[j]);
		for (size_t j = 0; j < N_CODE; j++)
			o->code[j] += load(&p->code[j]);
	}
	for (size_t i = 0; f && i <= METRICS_DESTS; i++) {
		const struct mt_dlv *d = &f->dlv[i];
		struct snap_dlv *o;
		struct names n;

		if (load_tag(&d->k.tag) <= MT_CLAIMED || !names_ok(s, &d->k, true, &n))
			continue;
		o = &s->dlv[entry(s, &n, true)];
		for (size_t j = 0; j < N_DLV; j++)
			o->outcome[j] += load(&d->outcome[j]);
		for (size_t j = 0; j <= METRICS_BUCKETS; j++)
			o->cum[j] += load(&d->bucket[j]);
		o->sum_ms += load(&d->sum_ms);
	}
	for (size_t i = 0; i < s->n_dlv; i++)
		for (size_t j = 1; j <= METRICS_BUCKETS; j++)
			s->dlv[i].cum[j] += s->dlv[i].cum[j - 1];
}

/* The counters of spool_dir (none without a file); NULL on an error. */
static struct snap *snap_open(const char *spool_dir, enum metrics_err *err)
{
	struct snap *s = calloc(1, sizeof *s);
	struct mt_file *map;

	if (!s) {
		*err = METRICS_ENOMEM;
		return NULL;
	}
	map = map_readonly(spool_dir, &s->left.layout, err);
	if (*err != METRICS_OK) {
		free(s);
		return NULL;
	}
	take(s, map);
	if (map)
		munmap(map, sizeof(struct mt_file));
	return s;
}

enum buf_err metrics_label(struct buf *out, const char *v)
{
	enum buf_err e = BUF_OK;

	for (; *v && e == BUF_OK; v++)
		e = *v == '\\' ? buf_adds(out, "\\\\") : *v == '"' ? buf_adds(out, "\\\"") :
		    *v == '\n' ? buf_adds(out, "\\n") : buf_add(out, v, 1);
	return e;
}

static enum buf_err head(struct buf *out, const char *name, const char *type, const char *help)
{
	return buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{form="..",destination="..",key="word"} value; dest and key may be NULL. */
static enum buf_err line(struct buf *out, const char *name, const char *form, const char *dest,
                         const char *key, const char *word, const char *value)
{
	enum buf_err e = buf_printf(out, "%s{form=\"", name);

	if (e == BUF_OK)
		e = metrics_label(out, form);
	if (e == BUF_OK && dest) {
		e = buf_adds(out, "\",destination=\"");
		if (e == BUF_OK)
			e = metrics_label(out, dest);
	}
	if (e == BUF_OK && key)
		e = buf_printf(out, "\",%s=\"%s", key, word);
	return e == BUF_OK ? buf_printf(out, "\"} %s\n", value) : e;
}

static enum buf_err print_count(struct buf *out, const char *name, const char *form,
                                const char *dest, const char *key, const char *word, uint64_t n)
{
	char v[24];

	snprintf(v, sizeof v, "%llu", (unsigned long long)n);
	return line(out, name, form, dest, key, word, v);
}

static enum buf_err print_posts(struct buf *out, const struct snap *s)
{
	enum buf_err e = head(out, "fmgate_posts_total", "counter",
	                      "Form posts by how they ended (the log line's outcome).");

	for (size_t i = 0; i < s->n_post; i++)
		for (size_t j = 0; j < N_POST && e == BUF_OK; j++)
			if (s->post[i].outcome[j])
				e = print_count(out, "fmgate_posts_total", s->post[i].form, NULL,
				                "outcome", post_outcomes[j], s->post[i].outcome[j]);
	if (e == BUF_OK)
		e = head(out, "fmgate_refusals_total", "counter",
		         "Form posts refused, by the code of the answer.");
	for (size_t i = 0; i < s->n_post; i++)
		for (size_t j = 0; j < N_CODE && e == BUF_OK; j++)
			if (s->post[i].code[j])
				e = print_count(out, "fmgate_refusals_total", s->post[i].form, NULL,
				                "code", codes[j], s->post[i].code[j]);
	return e;
}

static enum buf_err print_latency(struct buf *out, const struct snap_dlv *d)
{
	static const char b[] = "fmgate_delivery_duration_seconds_bucket";
	enum buf_err e = BUF_OK;
	char v[32];

	for (size_t j = 0; j <= METRICS_BUCKETS && e == BUF_OK; j++)
		e = print_count(out, b, d->form, d->dest, "le",
		                j < METRICS_BUCKETS ? bucket_le[j] : "+Inf", d->cum[j]);
	snprintf(v, sizeof v, "%llu.%03llu", (unsigned long long)(d->sum_ms / 1000),
	         (unsigned long long)(d->sum_ms % 1000));
	if (e == BUF_OK)
		e = line(out, "fmgate_delivery_duration_seconds_sum", d->form, d->dest, NULL, NULL, v);
	if (e == BUF_OK)
		e = print_count(out, "fmgate_delivery_duration_seconds_count", d->form, d->dest,
		                NULL, NULL, d->cum[METRICS_BUCKETS]);
	return e;
}

static enum buf_err print_deliveries(struct buf *out, const struct snap *s)
{
	enum buf_err e = head(out, "fmgate_deliveries_total", "counter",
	                      "Delivery attempts by destination and outcome.");

	for (size_t i = 0; i < s->n_dlv; i++)
		for (size_t j = 0; j < N_DLV && e == BUF_OK; j++)
			if (s->dlv[i].outcome[j])
				e = print_count(out, "fmgate_deliveries_total", s->dlv[i].form,
				                s->dlv[i].dest, "outcome", dlv_outcomes[j],
				                s->dlv[i].outcome[j]);
	if (e == BUF_OK)
		e = head(out, "fmgate_delivery_duration_seconds", "histogram",
		         "How long delivery attempts that made a call took.");
	for (size_t i = 0; i < s->n_dlv && e == BUF_OK; i++)
		if (s->dlv[i].cum[METRICS_BUCKETS])
			e = print_latency(out, &s->dlv[i]);
	return e;
}

/* One gauge without labels; left out while unknown (below zero). */
static enum buf_err print_gauge(struct buf *out, const char *name, const char *help,
                                long long v)
{
	enum buf_err e = BUF_OK;

	if (v >= 0) {
		e = head(out, name, "gauge", help);
		if (e == BUF_OK)
			e = buf_printf(out, "%s %lld\n", name, v);
	}
	return e;
}

static enum buf_err print_gauges(struct buf *out, const struct metrics_gauges *g)
{
	enum buf_err e = print_gauge(out, "fmgate_spool_waiting",
	                             "Submissions waiting in the queue (in flight included).",
	                             g->waiting);

	if (e == BUF_OK)
		e = print_gauge(out, "fmgate_spool_in_flight",
		                "Waiting submissions being delivered now.", g->in_flight);
	if (e == BUF_OK)
		e = print_gauge(out, "fmgate_spool_dead",
		                "Submissions in the dead area, for the operator.", g->dead);
	if (e == BUF_OK)
		e = print_gauge(out, "fmgate_spool_oldest_waiting_seconds",
		                "Age of the oldest waiting submission (0: none).", g->oldest_s);
	if (e == BUF_OK)
		e = print_gauge(out, "fmgate_delivery_paused",
		                "1 while delivery is paused (the API refused the key).", g->paused);
	if (e == BUF_OK)
		e = print_gauge(out, "fmgate_rate_budget_hour_remaining",
		                "API calls left in the hour, as the API last said.", g->hour_left);
	if (e == BUF_OK)
		e = print_gauge(out, "fmgate_rate_budget_minute_remaining",
		                "API calls left in the minute, as the API last said.",
		                g->minute_left);
	return e;
}

enum metrics_err metrics_print(const char *spool_dir, const struct metrics_gauges *g,
                               struct buf *out, struct metrics_left_out *left)
{
	enum metrics_err err;
	struct snap *s = snap_open(spool_dir, &err);
	enum buf_err e;

	*left = (struct metrics_left_out){ 0 };
	if (!s)
		return err;
	*left = s->left;
	e = print_posts(out, s);
	if (e == BUF_OK)
		e = print_deliveries(out, s);
	if (e == BUF_OK)
		e = print_gauges(out, g);
	free(s);
	return e == BUF_OK ? METRICS_OK : METRICS_ENOMEM;
}

/* {"word": n, ...} of the words counted (nonzero); false when out of memory. */
static bool json_counts(cJSON *to, const char *name, const char *const *words,
                        const uint64_t *v, size_t n)
{
	cJSON *o = cJSON_AddObjectToObject(to, name);
	bool ok = o != NULL;

	for (size_t i = 0; ok && i < n; i++)
		if (v[i])
			ok = cJSON_AddNumberToObject(o, words[i], (double)v[i]) != NULL;
	return ok;
}

static bool json_dlv(cJSON *arr, const struct snap_dlv *d)
{
	cJSON *o = cJSON_CreateObject(), *lat, *b;
	bool ok = o && cJSON_AddItemToArray(arr, o) &&
	          cJSON_AddStringToObject(o, "form", d->form) &&
	          cJSON_AddStringToObject(o, "destination", d->dest) &&
	          json_counts(o, "outcomes", dlv_outcomes, d->outcome, N_DLV) &&
	          (lat = cJSON_AddObjectToObject(o, "latency")) != NULL &&
	          cJSON_AddNumberToObject(lat, "count", (double)d->cum[METRICS_BUCKETS]) &&
	          cJSON_AddNumberToObject(lat, "sum_seconds", (double)d->sum_ms / 1000.0) &&
	          (b = cJSON_AddObjectToObject(lat, "buckets")) != NULL;

	for (size_t j = 0; ok && j <= METRICS_BUCKETS; j++)
		ok = cJSON_AddNumberToObject(b, j < METRICS_BUCKETS ? bucket_le[j] : "+Inf",
		                             (double)d->cum[j]) != NULL;
	return ok;
}

/* n, or null while unknown (below zero). */
static bool json_gauge(cJSON *to, const char *name, long long n)
{
	return n >= 0 ? cJSON_AddNumberToObject(to, name, (double)n) != NULL
	              : cJSON_AddNullToObject(to, name) != NULL;
}

static bool json_gauges(cJSON *o, const struct metrics_gauges *g)
{
	cJSON *sp = cJSON_AddObjectToObject(o, "spool"), *rb;

	return sp && json_gauge(sp, "waiting", g->waiting) &&
	       json_gauge(sp, "in_flight", g->in_flight) && json_gauge(sp, "dead", g->dead) &&
	       json_gauge(sp, "oldest_seconds", g->oldest_s) &&
	       (g->paused < 0 ? cJSON_AddNullToObject(o, "paused") != NULL
	                      : cJSON_AddBoolToObject(o, "paused", g->paused > 0) != NULL) &&
	       (rb = cJSON_AddObjectToObject(o, "rate_budget")) != NULL &&
	       json_gauge(rb, "hour", g->hour_left) && json_gauge(rb, "minute", g->minute_left);
}

cJSON *metrics_json(const char *spool_dir, const struct metrics_gauges *g,
                    struct metrics_left_out *left, enum metrics_err *err)
{
	struct snap *s = snap_open(spool_dir, err);
	cJSON *o = s ? cJSON_CreateObject() : NULL;
	cJSON *posts = o ? cJSON_AddArrayToObject(o, "posts") : NULL;
	cJSON *dlv = posts ? cJSON_AddArrayToObject(o, "deliveries") : NULL;
	bool ok = dlv && json_gauges(o, g);

	*left = s ? s->left : (struct metrics_left_out){ 0 };
	for (size_t i = 0; ok && s && i < s->n_post; i++) {
		cJSON *p = cJSON_CreateObject();

		ok = p && cJSON_AddItemToArray(posts, p) &&
		     cJSON_AddStringToObject(p, "form", s->post[i].form) &&
		     json_counts(p, "outcomes", post_outcomes, s->post[i].outcome, N_POST) &&
		     json_counts(p, "refusals", codes, s->post[i].code, N_CODE);
	}
	for (size_t i = 0; ok && s && i < s->n_dlv; i++)
		ok = json_dlv(dlv, &s->dlv[i]);
	free(s);
	if (s && !ok) {
		*err = METRICS_ENOMEM;
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

const char *metrics_strerror(enum metrics_err e)
{
	switch (e) {
	case METRICS_OK: return "ok";
	case METRICS_EMAP: return "the metrics file cannot be read";
	case METRICS_ENOMEM: return "out of memory";
	}
	return "unknown error";
}
