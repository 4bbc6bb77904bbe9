/* mail.c: the notification mail of a <notify>, headers escaped for theirs. */
#include "mail.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "text.h"
#include "uuid.h"

#define EWORD_OPEN  "=?UTF-8?B?"
#define EWORD_CLOSE "?="
#define EWORD_FRAME (sizeof EWORD_OPEN - 1 + sizeof EWORD_CLOSE - 1)
#define SUBJECT_HEAD "Subject:"

/* ---- characters ------------------------------------------------------------ */



/* True when s is not well-formed UTF-8 or holds a control character. */
static bool has_control(const char *s)
{
	size_t n = strlen(s), len;
	uint32_t c;

	for (size_t i = 0; i < n; i += len)
		if (!(len = text_utf8_next(s + i, n - i, &c)) || text_is_control(c))
			return true;
	return false;
}

bool mail_addr_ok(const char *a)
{
	size_t n = a ? strlen(a) : 0;
	const char *at;

	if (n < 3 || n > LIMIT_MAX_EMAIL)
		return false;
	for (size_t i = 0; i < n; i++)
		if (a[i] <= 0x20 || a[i] >= 0x7f || strchr("<>,;:\"\\()[]", a[i]))
			return false;
	at = strchr(a, '@');
	return at && at != a && at[1] && !strchr(at + 1, '@');
}

/* ---- trait values as text -------------------------------------------------- */

/* A number in its shortest form that reads back as the same double. */
static enum buf_err number_text(struct buf *b, double d)
{
	char s[32];

	if (d > -9007199254740992.0 && d < 9007199254740992.0 && d == (double)(long long)d) {
		snprintf(s, sizeof s, "%lld", (long long)d);
	} else {
		snprintf(s, sizeof s, "%.15g", d);
		if (strtod(s, NULL) != d)
			snprintf(s, sizeof s, "%.17g", d);
	}
	return buf_adds(b, s);
}

/* Appends the text of a trait's value: see mail.h. */
static enum buf_err value_text(struct buf *b, const cJSON *v)
{
	enum buf_err e = BUF_OK;
	const cJSON *item;
	bool first = true;

	if (cJSON_IsString(v))
		return buf_adds(b, v->valuestring);
	if (cJSON_IsBool(v))
		return buf_adds(b, cJSON_IsTrue(v) ? "yes" : "no");
	if (cJSON_IsNumber(v))
		return number_text(b, v->valuedouble);
	if (!cJSON_IsArray(v))
		return BUF_OK;
	cJSON_ArrayForEach(item, v) {
		if (!first && (e = buf_adds(b, ", ")) != BUF_OK)
			break;
		if ((e = value_text(b, item)) != BUF_OK)
			break;
		first = false;
	}
	return e;
}

static const struct sub_trait *trait_named(const struct submission *sub, const char *name,
                                           size_t len)
{
	for (size_t i = 0; i < sub->n_traits; i++)
		if (strlen(sub->traits[i].path) == len && memcmp(sub->traits[i].path, name, len) == 0)
			return &sub->traits[i];
	return NULL;
}

/* ---- the subject ----------------------------------------------------------- */

struct subject {
	char s[MAIL_MAX_SUBJECT + 1];
	size_t len;
	bool full;    /* a character did not fit: nothing more is taken */
};

/* Appends s[0..n) without its control characters and malformed bytes,
 * whole characters only, up to MAIL_MAX_SUBJECT bytes. */
static void subject_add(struct subject *sj, const char *s, size_t n)
{
	size_t len;
	uint32_t c;

	for (size_t i = 0; i < n && !sj->full; i += len ? len : 1) {
		len = text_utf8_next(s + i, n - i, &c);
		if (!len || text_is_control(c))
			continue;
		if (len > MAIL_MAX_SUBJECT - sj->len) {
			sj->full = true;
			break;
		}
		memcpy(sj->s + sj->len, s + i, len);
		sj->len += len;
	}
	sj->s[sj->len] = '\0';
}

/* Fills the template in: see mail.h. */
static enum mail_err subject_fill(struct subject *sj, const char *tpl,
                                  const struct submission *sub, const struct map_form *form)
{
	enum mail_err err = MAIL_OK;
	const struct sub_trait *t;
	struct buf v;
	const char *p = tpl, *open, *close;

	buf_init(&v, MAIL_MAX_MESSAGE);
	sj->len = 0;
	sj->full = false;
	sj->s[0] = '\0';
	if (!tpl) {
		subject_add(sj, "Form ", 5);
		subject_add(sj, form->id, strlen(form->id));
		return MAIL_OK;
	}
	while (*p && !sj->full) {
		open = strchr(p, '{');
		close = open ? strchr(open + 1, '}') : NULL;
		if (close && memchr(open + 1, '{', (size_t)(close - open - 1)))
			close = NULL;     /* "{a{b}": the first '{' is text */
		if (!close) {
			size_t n = open ? (size_t)(open - p) + 1 : strlen(p);

			subject_add(sj, p, n);
			p += n;
			continue;
		}
		subject_add(sj, p, (size_t)(open - p));
		if ((t = trait_named(sub, open + 1, (size_t)(close - open - 1)))) {
			enum buf_err e;

			v.len = 0;
			if ((e = value_text(&v, t->value)) != BUF_OK) {
				err = e == BUF_ENOMEM ? MAIL_ENOMEM : MAIL_EINVAL;
				break;
			}
			subject_add(sj, buf_str(&v), v.len);
		}
		p = close + 1;
	}
	buf_free(&v);
	return err;
}

/* True when s can stand in the header as written. */
static bool subject_plain(const char *s)
{
	for (const char *p = s; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			return false;
	return !strstr(s, "=?");
}

/* Plain ASCII, folded before a space that follows a word and precedes one,
 * once the line would pass MAIL_FOLD_AT. */
static enum buf_err subject_put_plain(struct buf *b, const char *s)
{
	enum buf_err e = BUF_OK;
	size_t col = sizeof SUBJECT_HEAD - 1;
	const char *p = s;

	if (*p && (e = buf_add(b, " ", 1)) != BUF_OK)
		return e;
	col++;
	while (*p && e == BUF_OK) {
		/* A segment: spaces, then a word up to the next space. */
		size_t sp = strspn(p, " "), n = sp + strcspn(p + sp, " ");

		if (p != s && sp && p[sp] && col + n > MAIL_FOLD_AT) {
			e = buf_add(b, "\r\n", 2);
			col = 0;
		}
		if (e == BUF_OK)
			e = buf_add(b, p, n);
		col += n;
		p += n;
	}
	return e;
}

/* RFC 2047 encoded-words, each of whole characters and at most
 * MAIL_EWORD_MAX characters, the first on the Subject line, each line at
 * most MAIL_EWORD_LINE. */
static enum buf_err subject_put_encoded(struct buf *b, const char *s, size_t n)
{
	unsigned char b64[MAIL_EWORD_MAX + 1];
	enum buf_err e = BUF_OK;
	size_t i = 0, room, take, len;
	uint32_t c;

	room = MAIL_EWORD_LINE - (sizeof SUBJECT_HEAD - 1) - 1;  /* "Subject: " */
	while (i < n && e == BUF_OK) {
		/* Base64 takes 4 characters for each 3 bytes or fewer. */
		size_t max = (room - EWORD_FRAME) / 4 * 3;

		for (take = 0; i + take < n; take += len) {
			/* s is well-formed (subject_add): a 0 would be a bug, not a loop */
			if (!(len = text_utf8_next(s + i + take, n - i - take, &c)))
				len = 1;
			if (take + len > max)
				break;
		}
		EVP_EncodeBlock(b64, (const unsigned char *)s + i, (int)take);
		e = buf_printf(b, "%s" EWORD_OPEN "%s" EWORD_CLOSE, i ? "\r\n " : " ", b64);
		i += take;
		room = MAIL_EWORD_MAX;
	}
	return e;
}

/* ---- the body -------------------------------------------------------------- */

/* Appends a value, its line breaks (CRLF, CR or LF) as "\n" and MAIL_INDENT,
 * unless the line is empty. */
static enum buf_err body_value(struct buf *b, const char *s, size_t n)
{
	enum buf_err e = BUF_OK;
	size_t i = 0, run;

	while (i < n && e == BUF_OK) {
		run = strcspn(s + i, "\r\n");
		if (run > n - i)
			run = n - i;
		if ((e = buf_add(b, s + i, run)) != BUF_OK)
			break;
		i += run;
		if (i == n)
			break;
		i += s[i] == '\r' && i + 1 < n && s[i + 1] == '\n' ? 2 : 1;
		if ((e = buf_add(b, "\n", 1)) == BUF_OK && i < n && s[i] != '\r' && s[i] != '\n')
			e = buf_adds(b, MAIL_INDENT);
	}
	return e;
}

/* The text of the body, lines ending "\n": see mail.h. */
static enum buf_err body_text(struct buf *b, const struct submission *sub,
                              const struct map_form *form, const char *timestamp,
                              const char *message_id)
{
	enum buf_err e = BUF_OK;
	struct buf v;

	buf_init(&v, MAIL_MAX_MESSAGE);
	for (size_t i = 0; i < form->n_fields && e == BUF_OK; i++) {
		const struct map_field *f = &form->fields[i];

		for (size_t j = 0; j < sub->n_traits && e == BUF_OK; j++) {
			if (sub->traits[j].field != f)
				continue;
			v.len = 0;
			if ((e = buf_printf(b, "%s: ", f->name)) != BUF_OK ||
			    (e = value_text(&v, sub->traits[j].value)) != BUF_OK ||
			    (e = body_value(b, buf_str(&v), v.len)) != BUF_OK)
				break;
			e = buf_add(b, "\n", 1);
		}
	}
	if (e == BUF_OK)
		e = buf_printf(b, "\nTime: %s\nMessage id: %s\nForm: %s\n", timestamp,
		               message_id, form->id);
	buf_free(&v);
	return e;
}

/* Quoted-printable (RFC 2045 6.7) of text whose lines end "\n": see mail.h. */
static enum buf_err qp_encode(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	enum buf_err e = BUF_OK;
	size_t col = 0;

	for (size_t i = 0; i < n && e == BUF_OK; i++) {
		unsigned char c = (unsigned char)s[i];
		bool quote;

		if (c == '\n') {
			e = buf_add(b, "\r\n", 2);
			col = 0;
			continue;
		}
		for (;;) {
			if (c == '=' || c < 0x20 || c > 0x7e)
				quote = true;
			else if (c == ' ')
				quote = i + 1 == n || s[i + 1] == '\n';
			else if (col == 0)
				quote = c == '.' || (c == 'F' && n - i >= 5 && memcmp(s + i, "From ", 5) == 0);
			else
				quote = false;
			if (col + (quote ? 3 : 1) < MAIL_QP_LINE)
				break;
			if ((e = buf_add(b, "=\r\n", 3)) != BUF_OK)
				return e;
			col = 0;   /* and again: a line's start quotes more */
		}
		if (quote) {
			char q[3] = { '=', hex[c >> 4], hex[c & 15] };

			e = buf_add(b, q, 3);
			col += 3;
		} else {
			e = buf_add(b, s + i, 1);
			col++;
		}
	}
	return e;
}

/* ---- headers --------------------------------------------------------------- */

/* The number n decimal digits (already checked) say. */
static int digits(const char *s, size_t n)
{
	int v = 0;

	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

/* "Wed, 02 Dec 2026 10:00:00 +0000" of "2026-12-02T10:00:00.000Z", or of
 * now when the timestamp does not read. */
static enum buf_err date_header(struct buf *b, const char *ts)
{
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	static const char shape[] = "dddd-dd-ddTdd:dd:dd";
	struct tm tm = {0};
	time_t t = time(NULL);
	bool ok = strlen(ts) >= sizeof shape - 1;

	for (size_t i = 0; ok && i < sizeof shape - 1; i++)
		ok = shape[i] == 'd' ? ts[i] >= '0' && ts[i] <= '9' : ts[i] == shape[i];
	if (ok) {
		tm.tm_year = digits(ts, 4) - 1900;
		tm.tm_mon = digits(ts + 5, 2) - 1;
		tm.tm_mday = digits(ts + 8, 2);
		tm.tm_hour = digits(ts + 11, 2);
		tm.tm_min = digits(ts + 14, 2);
		tm.tm_sec = digits(ts + 17, 2);
		ok = tm.tm_mon >= 0 && tm.tm_mon < 12 && tm.tm_mday >= 1 && tm.tm_mday <= 31 &&
		     tm.tm_hour < 24 && tm.tm_min < 60 && tm.tm_sec < 61;
	}
	if (ok)
		t = timegm(&tm);
	if (!gmtime_r(&t, &tm))
		return BUF_EFULL;
	return buf_printf(b, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n", days[tm.tm_wday],
	                  tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour,
	                  tm.tm_min, tm.tm_sec);
}

/* The recipients, comma-separated, folded between addresses. */
static enum buf_err to_header(struct buf *b, const struct map_dest *d)
{
	enum buf_err e = buf_adds(b, "To:");
	size_t col = 3;

	for (size_t i = 0; i < d->n_to && e == BUF_OK; i++) {
		size_t n = strlen(d->to[i]);
		bool fold = i && col + 2 + n > MAIL_FOLD_AT;

		e = buf_printf(b, "%s%s", i ? (fold ? ",\r\n " : ", ") : " ", d->to[i]);
		col = (fold ? 1 : col + (i ? 2 : 1)) + n;
	}
	return e == BUF_OK ? buf_add(b, "\r\n", 2) : e;
}

/* A messageId fit for a Message-ID: a UUID's characters. */
static bool id_plain(const char *id)
{
	return id[0] && strspn(id, "0123456789abcdefABCDEF-") == strlen(id);
}

/* ---- the mail -------------------------------------------------------------- */

const char *mail_strerror(enum mail_err e)
{
	switch (e) {
	case MAIL_OK: return "ok";
	case MAIL_EINVAL: return "the mail cannot be composed (no <notify>, a From with "
	                         "control characters, an unfit address, or over "
	                         "MAIL_MAX_MESSAGE bytes)";
	case MAIL_ENOMEM: return "out of memory";
	}
	return "unknown error";
}

enum mail_err mail_compose(const struct map_smtp *smtp, const struct map_dest *d,
                           const struct submission *sub, const struct map_form *form,
                           struct buf *out)
{
	enum mail_err err = MAIL_EINVAL;
	enum buf_err e;
	struct subject sj;
	struct buf text;
	char fresh_id[UUID_STR_SIZE];
	const char *id = sub->message_id, *ts = sub->timestamp;
	bool reply_to;

	buf_init(out, MAIL_MAX_MESSAGE);
	buf_init(&text, MAIL_MAX_MESSAGE);
	if (d->kind != MAP_DEST_NOTIFY || !form || d->n_to == 0 || !smtp->from ||
	    !smtp->from[0] || has_control(smtp->from) || !mail_addr_ok(smtp->from_addr))
		goto out;
	for (size_t i = 0; i < d->n_to; i++)
		if (!mail_addr_ok(d->to[i]))
			goto out;
	if (!id_plain(id)) {
		err = MAIL_ENOMEM;    /* getrandom refused: the only way uuid_v4 fails */
		if (!uuid_v4(fresh_id))
			goto out;
		id = fresh_id;
	}
	if ((err = subject_fill(&sj, d->subject, sub, form)) != MAIL_OK)
		goto out;
	reply_to = d->reply_to_visitor && mail_addr_ok(sub->email);

	if ((e = date_header(out, ts)) != BUF_OK ||
	    (e = buf_printf(out, "From: %s\r\n", smtp->from)) != BUF_OK ||
	    (e = to_header(out, d)) != BUF_OK ||
	    (e = buf_adds(out, SUBJECT_HEAD)) != BUF_OK ||
	    (e = subject_plain(sj.s) ? subject_put_plain(out, sj.s)
	                             : subject_put_encoded(out, sj.s, sj.len)) != BUF_OK ||
	    (e = buf_printf(out, "\r\nMessage-ID: <%s@%s>\r\n", id,
	                    strchr(smtp->from_addr, '@') + 1)) != BUF_OK ||
	    (reply_to && (e = buf_printf(out, "Reply-To: %s\r\n", sub->email)) != BUF_OK) ||
	    (e = buf_adds(out, "MIME-Version: 1.0\r\n"
	                       "Content-Type: text/plain; charset=utf-8\r\n"
	                       "Content-Transfer-Encoding: quoted-printable\r\n\r\n")) != BUF_OK ||
	    (e = body_text(&text, sub, form, ts[0] ? ts : "-", id)) != BUF_OK ||
	    (e = qp_encode(out, buf_str(&text), text.len)) != BUF_OK) {
		err = e == BUF_ENOMEM ? MAIL_ENOMEM : MAIL_EINVAL;
		goto out;
	}
	err = MAIL_OK;
out:
	buf_free(&text);
	if (err != MAIL_OK)
		buf_free(out);
	return err;
}
