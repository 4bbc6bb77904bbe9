/* test_mail: the notification mail: headers in order, the subject filled in
 * and encoded, nothing a visitor sends reaching another header, the body's
 * fields in the form's order and quoted-printable that survives SMTP. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "mail.h"
#include "t.h"

#define MID "0b7e2f3a-1c4d-4e5f-8a9b-0c1d2e3f4a5b"
#define TS  "2026-12-02T10:00:00.000Z"

static struct map_field fields[] = {
	{ .name = "email", .trait = "email", .type = MAP_EMAIL },
	{ .name = "first", .trait = "firstName" },
	{ .name = "last", .trait = "lastName" },
	{ .name = "message", .trait = "message" },
	{ .name = "topics", .trait = "topics", .multiple = true },
	{ .name = "optin", .trait = "optIn", .type = MAP_BOOLEAN },
	{ .name = "seats", .trait = "company.seats", .type = MAP_NUMBER },
	{ .name = "phone", .trait = "phone", .type = MAP_PHONE },   /* never sent */
};
#define N_FIELDS (sizeof fields / sizeof fields[0])
static struct map_constant constants[] = { { .trait = "source", .value = "web" } };
static struct map_form form = { .id = "demo", .fields = fields, .n_fields = N_FIELDS,
                                .constants = constants, .n_constants = 1 };

static char *to_list[] = { "sales@example.com", "boss@example.org" };
static struct map_smtp smtp = { .url = "smtp://127.0.0.1:2525",
                                .from = "Website <forms@example.com>",
                                .from_addr = "forms@example.com" };

static struct map_dest notify(const char *subject, bool reply_to)
{
	struct map_dest d = { .kind = MAP_DEST_NOTIFY, .name = "notify", .to = to_list,
	                      .n_to = 2, .subject = (char *)subject,
	                      .reply_to_visitor = reply_to };
	return d;
}

/* A submission as identify would build it, its traits not in the form's order;
 * `first` is the first name's value. */
static void fresh(struct submission *s, const char *first)
{
	cJSON *topics = cJSON_CreateArray();

	cJSON_AddItemToArray(topics, cJSON_CreateString("pricing"));
	cJSON_AddItemToArray(topics, cJSON_CreateString("support"));
	submission_init(s);
	memcpy(s->message_id, MID, sizeof MID);
	memcpy(s->timestamp, TS, sizeof TS);
	s->email = strdup("ann@example.com");
	submission_add_trait(s, "company.seats", &fields[6], NULL, cJSON_CreateNumber(3.5), 8);
	submission_add_trait(s, "firstName", &fields[1], NULL, cJSON_CreateString(first), 8);
	submission_add_trait(s, "email", &fields[0], NULL, cJSON_CreateString("ann@example.com"), 8);
	submission_add_trait(s, "topics", &fields[4], NULL, topics, 8);
	submission_add_trait(s, "optIn", &fields[5], NULL, cJSON_CreateTrue(), 8);
	submission_add_trait(s, "lastName", &fields[2], NULL, cJSON_CreateString("Lee"), 8);
	submission_add_trait(s, "source", NULL, &constants[0], cJSON_CreateString("web"), 8);
}

/* ---- reading a mail back ----------------------------------------------------- */

struct mail {
	char head[16384];      /* the header section, lines ending CRLF */
	char body[65536];      /* the body as sent */
	char names[1024];      /* header names in order, joined by ' ' */
	bool ok;               /* CRLF only, headers well-formed */
};

static void mail_read(const char *msg, struct mail *m)
{
	const char *end = strstr(msg, "\r\n\r\n"), *p;

	memset(m, 0, sizeof *m);
	if (!end || (size_t)(end - msg) + 2 >= sizeof m->head || strlen(end + 4) >= sizeof m->body)
		return;
	memcpy(m->head, msg, (size_t)(end - msg) + 2);
	strcpy(m->body, end + 4);
	m->ok = true;
	for (p = msg; *p; p++)   /* no CR or LF but as CRLF */
		if ((*p == '\r' && p[1] != '\n') || (*p == '\n' && (p == msg || p[-1] != '\r')))
			m->ok = false;
	for (p = m->head; *p; p = strstr(p, "\r\n") + 2) {
		size_t n = strcspn(p, ":\r");

		if (*p == ' ' || *p == '\t')
			continue;             /* a folded line */
		if (p[n] != ':' || n == 0 || strcspn(p, " ") < n) {
			m->ok = false;
			break;
		}
		snprintf(m->names + strlen(m->names), sizeof m->names - strlen(m->names), "%s%.*s",
		         m->names[0] ? " " : "", (int)n, p);
	}
}

/* The unfolded value of header `name` (its first occurrence); "" when absent. */
static const char *header(const struct mail *m, const char *name)
{
	static char v[16384];
	const char *p = m->head;
	size_t n = strlen(name), k = 0;

	v[0] = '\0';
	while (*p && !(strncmp(p, name, n) == 0 && p[n] == ':'))
		p = strstr(p, "\r\n") + 2;
	if (!*p)
		return v;
	for (p += n + 1; *p == ' '; p++)
		;
	for (; *p && k + 1 < sizeof v; p++) {
		if (p[0] == '\r' && p[1] == '\n') {
			if (p[2] != ' ' && p[2] != '\t')
				break;
			p++;              /* unfolding drops the CRLF only */
			continue;
		}
		v[k++] = *p;
	}
	v[k] = '\0';
	return v;
}

/* Decodes RFC 2047 "B" encoded-words in UTF-8 (white space between two is
 * dropped) into out; false when something else is there or a word is too
 * long. */
static bool ewords_decode(const char *v, char *out, size_t size)
{
	size_t k = 0;

	while (*v) {
		const char *end;
		unsigned char dec[64];
		int n, pad;

		if (strncmp(v, "=?UTF-8?B?", 10) != 0 || !(end = strstr(v + 10, "?=")) ||
		    end + 2 - v > (long)MAIL_EWORD_MAX)
			return false;
		n = EVP_DecodeBlock(dec, (const unsigned char *)v + 10, (int)(end - v - 10));
		if (n < 0)
			return false;
		pad = (end[-1] == '=') + (end[-2] == '=');
		if (k + (size_t)(n - pad) >= size)
			return false;
		memcpy(out + k, dec, (size_t)(n - pad));
		k += (size_t)(n - pad);
		for (v = end + 2; *v == ' '; v++)
			;
	}
	out[k] = '\0';
	return true;
}

/* The quoted-printable body decoded, CRLF as "\n". */
static const char *qp_decode(const char *s)
{
	static char out[65536];
	size_t k = 0;

	while (*s && k + 1 < sizeof out) {
		if (s[0] == '=' && s[1] == '\r' && s[2] == '\n') {
			s += 3;
		} else if (s[0] == '=') {
			unsigned v;

			if (sscanf(s + 1, "%2X", &v) != 1)
				return "(bad quoted-printable)";
			out[k++] = (char)v;
			s += 3;
		} else if (s[0] == '\r' && s[1] == '\n') {
			out[k++] = '\n';
			s += 2;
		} else {
			out[k++] = *s++;
		}
	}
	out[k] = '\0';
	return out;
}

/* The longest line of s (lines ending CRLF). */
static size_t longest_line(const char *s)
{
	size_t most = 0;

	for (const char *p = s, *e; *p; p = e + 2) {
		if (!(e = strstr(p, "\r\n")))
			e = p + strlen(p) - 2;
		if ((size_t)(e - p) > most)
			most = (size_t)(e - p);
	}
	return most;
}

/* Composes and reads back; false when composing failed. */
static bool compose(const struct map_dest *d, const struct submission *s, struct mail *m)
{
	struct buf out;
	enum mail_err e = mail_compose(&smtp, d, s, &form, &out);

	memset(m, 0, sizeof *m);
	if (e == MAIL_OK)
		mail_read(buf_str(&out), m);
	buf_free(&out);
	return e == MAIL_OK;
}

/* ---- cases ------------------------------------------------------------------ */

static void test_plain(void)
{
	struct map_dest d = notify("Demo request from {firstName} {lastName}", false);
	struct submission s;
	struct mail m;

	fresh(&s, "Ann");
	T(compose(&d, &s, &m) && m.ok, "composes a well-formed mail");
	T_STREQ(m.names, "Date From To Subject Message-ID MIME-Version Content-Type "
	        "Content-Transfer-Encoding", "these headers, in this order");
	T_STREQ(header(&m, "Date"), "Wed, 02 Dec 2026 10:00:00 +0000", "the submission's time");
	T_STREQ(header(&m, "From"), "Website <forms@example.com>", "From as written");
	T_STREQ(header(&m, "To"), "sales@example.com, boss@example.org", "the mapping's recipients");
	T_STREQ(header(&m, "Subject"), "Demo request from Ann Lee", "a plain subject as is");
	T_STREQ(header(&m, "Message-ID"), "<" MID "@example.com>", "messageId at the From domain");
	T_STREQ(header(&m, "Content-Type"), "text/plain; charset=utf-8", "plain UTF-8 text");
	T_STREQ(header(&m, "Content-Transfer-Encoding"), "quoted-printable", "quoted-printable");
	T_STREQ(qp_decode(m.body),
	        "email: ann@example.com\n"
	        "first: Ann\n"
	        "last: Lee\n"
	        "topics: pricing, support\n"
	        "optin: yes\n"
	        "seats: 3.5\n"
	        "\n"
	        "Time: " TS "\n"
	        "Message id: " MID "\n"
	        "Form: demo\n", "fields in the form's order, constants and absent fields left out");
	submission_free(&s);
}

/* Many recipients: folded between addresses, lines within MAIL_FOLD_AT. */
static void test_many_to(void)
{
	static char addrs[MAP_MAX_RECIPIENTS][40], *list[MAP_MAX_RECIPIENTS];
	char want[MAP_MAX_RECIPIENTS * 42] = "";
	struct map_dest d = notify("x", false);
	struct submission s;
	struct mail m;

	for (size_t i = 0; i < MAP_MAX_RECIPIENTS; i++) {
		snprintf(addrs[i], sizeof addrs[i], "sales-team-%02zu@example.com", i);
		list[i] = addrs[i];
		snprintf(want + strlen(want), sizeof want - strlen(want), "%s%s", i ? ", " : "",
		         addrs[i]);
	}
	d.to = list;
	d.n_to = MAP_MAX_RECIPIENTS;
	fresh(&s, "Ann");
	T(compose(&d, &s, &m) && m.ok, "composes");
	T_STREQ(header(&m, "To"), want, "every recipient");
	T(longest_line(m.head) <= MAIL_FOLD_AT, "folded: longest line %zu", longest_line(m.head));
	submission_free(&s);
}

static void test_subject_template(void)
{
	static const struct { const char *tpl, *want; } cases[] = {
		{ "{nope}x{firstName}", "xAnn" },                 /* unknown: empty */
		{ "a { b", "a { b" },                              /* unclosed: as written */
		{ "{a{firstName}}", "{aAnn}" },                    /* '{' inside: text */
		{ "{optIn}/{company.seats}/{topics}", "yes/3.5/pricing, support" },
		{ "", "" },
		{ NULL, "Form demo" },
	};
	struct submission s;
	struct mail m;

	fresh(&s, "Ann");
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct map_dest d = notify(cases[i].tpl, false);

		T(compose(&d, &s, &m) && m.ok, "%s: composes", cases[i].tpl);
		T_STREQ(header(&m, "Subject"), cases[i].want, "template %s", cases[i].tpl);
	}
	submission_free(&s);
}

/* The subject decoded, whether plain or encoded; each encoded header line at
 * most MAIL_EWORD_LINE characters. */
static const char *subject_of(const struct mail *m, bool *encoded)
{
	static char dec[2048];
	const char *v = header(m, "Subject");
	const char *line = strstr(m->head, "Subject:");

	*encoded = strncmp(v, "=?", 2) == 0;
	if (!*encoded)
		return v;
	for (const char *p = line; p; p = strstr(p, "\r\n ")) {
		p += p == line ? 0 : 2;
		T(strcspn(p, "\r") <= MAIL_EWORD_LINE, "an encoded line of %zu characters",
		  strcspn(p, "\r"));
		if (strncmp(p + strcspn(p, "\r"), "\r\n ", 3) != 0)
			break;
	}
	return ewords_decode(v, dec, sizeof dec) ? dec : "(undecodable)";
}

static void test_subject_encoded(void)
{
	struct map_dest d = notify("Demande de {firstName}", false);
	struct submission s;
	struct mail m;
	bool enc;
	char big[1500] = "";

	fresh(&s, "Zoë Ünal 日本語 😀");
	T(compose(&d, &s, &m) && m.ok, "composes");
	T_STREQ(subject_of(&m, &enc), "Demande de Zoë Ünal 日本語 😀", "non-ASCII: decodes back");
	T(enc, "encoded");
	submission_free(&s);

	/* 3-byte characters past MAIL_MAX_SUBJECT: cut before the one that does not fit. */
	for (int i = 0; i < 300; i++)
		strcat(big, "€");
	fresh(&s, big);
	d = notify("{firstName}", false);
	T(compose(&d, &s, &m) && m.ok, "a long subject composes");
	T(strlen(subject_of(&m, &enc)) == MAIL_MAX_SUBJECT / 3 * 3 &&
	  strncmp(subject_of(&m, &enc), big, MAIL_MAX_SUBJECT / 3 * 3) == 0,
	  "cut at %u bytes on a character boundary: %zu", MAIL_MAX_SUBJECT,
	  strlen(subject_of(&m, &enc)));
	submission_free(&s);

	/* ASCII holding "=?" would read as an encoded-word: encoded. */
	fresh(&s, "=?UTF-8?B?QmNjOiB4QGV2aWw=?=");
	d = notify("{firstName}", false);
	T(compose(&d, &s, &m) && m.ok, "composes");
	T_STREQ(subject_of(&m, &enc), "=?UTF-8?B?QmNjOiB4QGV2aWw=?=", "\"=?\" comes through as text");
	T(enc, "and is encoded");
	submission_free(&s);

	/* Plain and long: folded at spaces, lines within MAIL_FOLD_AT. */
	memset(big, 0, sizeof big);
	for (int i = 0; i < 60; i++)
		strcat(big, "word ");
	strcat(big, "end");
	fresh(&s, big);
	T(compose(&d, &s, &m) && m.ok, "composes");
	T_STREQ(subject_of(&m, &enc), big, "a long plain subject unfolds to itself");
	T(!enc && longest_line(m.head) <= MAIL_FOLD_AT, "folded: longest line %zu",
	  longest_line(m.head));
	submission_free(&s);
}

static void test_injection(void)
{
	static const char *const evil[] = {
		"Ann\r\nBcc: x@evil.example", "Ann\nBcc: x@evil.example", "Ann\rBcc: x@evil.example",
		"Ann\r\n\r\nbody", "Ann\x01\x1b[31m\x7f", "Ann\xc2\x85" "Bcc: x@evil.example",
		"Ann\xe2\x80\xa8" "Bcc: x@evil.example", "Ann\xe2\x80\xa9x", "Ann\tx",
	};
	static const char *const bad_email[] = {
		"ann@example.com\r\nBcc: x@evil.example", "ann@example.com\nBcc: x@evil.example",
		"ann @example.com", "ann@example.com, x@evil.example", "<ann@example.com>",
		"ann@example.com;x@evil.example", "\"a\"@example.com", "ann@b@example.com", "",
		"ann@example.com\x01",
	};
	struct map_dest d = notify("Demo request from {firstName} {email}", false);
	struct submission s;
	struct mail m;
	bool enc;

	for (size_t i = 0; i < sizeof evil / sizeof evil[0]; i++) {
		const char *subj;

		fresh(&s, evil[i]);
		T(compose(&d, &s, &m) && m.ok, "%zu: composes, CRLF only", i);
		T_STREQ(m.names, "Date From To Subject Message-ID MIME-Version Content-Type "
		        "Content-Transfer-Encoding", "%zu: no header added", i);
		subj = subject_of(&m, &enc);
		T(strspn(subj, "\r\n\t\x01\x1b\x7f") == 0 && !strpbrk(subj, "\r\n\t\x01\x1b\x7f") &&
		  !strstr(subj, "\xc2\x85") && !strstr(subj, "\xe2\x80\xa8") &&
		  !strstr(subj, "\xe2\x80\xa9"), "%zu: no control character in the subject", i);
		T(strncmp(subj, "Demo request from Ann", 21) == 0 && strstr(subj, "ann@example.com"),
		  "%zu: the rest stays: %s", i, subj);
		submission_free(&s);
	}

	d = notify("x", true);
	fresh(&s, "Ann");
	T(compose(&d, &s, &m) && m.ok, "composes");
	T_STREQ(header(&m, "Reply-To"), "ann@example.com", "reply-to-visitor: the visitor's email");
	T_STREQ(m.names, "Date From To Subject Message-ID Reply-To MIME-Version Content-Type "
	        "Content-Transfer-Encoding", "Reply-To after Message-ID");
	free(s.email);
	s.email = NULL;
	T(compose(&d, &s, &m) && !strstr(m.names, "Reply-To"), "no email: no Reply-To");
	for (size_t i = 0; i < sizeof bad_email / sizeof bad_email[0]; i++) {
		s.email = strdup(bad_email[i]);
		T(compose(&d, &s, &m) && m.ok, "%zu: composes", i);
		T_STREQ(m.names, "Date From To Subject Message-ID MIME-Version Content-Type "
		        "Content-Transfer-Encoding", "%zu: an unfit email: no Reply-To", i);
		free(s.email);
		s.email = NULL;
	}
	submission_free(&s);
	d = notify("x", false);
	fresh(&s, "Ann");
	T(compose(&d, &s, &m) && !strstr(m.names, "Reply-To"), "without reply-to-visitor: none");
	submission_free(&s);
}

static void test_refused(void)
{
	static const char *const froms[] = {
		"Website <forms@example.com>\r\nBcc: x@evil.example", "Web\nsite <forms@example.com>",
		"Web\rsite <forms@example.com>", "Web\x01site <forms@example.com>",
		"Web\xe2\x80\xa8site <forms@example.com>", "Web\xffsite <forms@example.com>", "",
	};
	static char *bad_to[] = { "sales@example.com\r\nBcc: x@evil.example" };
	struct map_dest d = notify("x", false);
	struct map_smtp keep = smtp;
	struct submission s;
	struct buf out;

	fresh(&s, "Ann");
	for (size_t i = 0; i < sizeof froms / sizeof froms[0]; i++) {
		smtp.from = (char *)froms[i];
		T(mail_compose(&smtp, &d, &s, &form, &out) == MAIL_EINVAL && out.len == 0 && !out.p,
		  "From %zu refused, nothing left", i);
	}
	smtp = keep;
	smtp.from_addr = "forms@example.com>\r\nBcc: x";
	T(mail_compose(&smtp, &d, &s, &form, &out) == MAIL_EINVAL, "an unfit From address");
	smtp = keep;
	d.to = bad_to;
	d.n_to = 1;
	T(mail_compose(&smtp, &d, &s, &form, &out) == MAIL_EINVAL, "an unfit recipient");
	d.n_to = 0;
	T(mail_compose(&smtp, &d, &s, &form, &out) == MAIL_EINVAL, "no recipient");
	d = notify("x", false);
	d.kind = MAP_DEST_WEBHOOK;
	T(mail_compose(&smtp, &d, &s, &form, &out) == MAIL_EINVAL, "not a <notify>");
	d = notify("x", false);
	T(mail_compose(&smtp, &d, &s, NULL, &out) == MAIL_EINVAL, "no form");
	T(mail_compose(&smtp, &d, &s, &form, &out) == MAIL_OK, "and with all of it, a mail");
	buf_free(&out);
	submission_free(&s);
}

/* No line of the body opens with '.' or "From ", none is longer than
 * MAIL_QP_LINE, and the body decodes to `want`. */
static void body_check(const struct mail *m, const char *want, const char *what)
{
	bool clean = true;

	for (const char *p = m->body; *p; p = strstr(p, "\r\n") + 2) {
		size_t n = strcspn(p, "\r");

		if (*p == '.' || strncmp(p, "From ", 5) == 0 || (n && p[n - 1] == ' '))
			clean = false;
	}
	T(clean, "%s: no line opens with '.' or \"From \", none ends with a space", what);
	T(longest_line(m->body) <= MAIL_QP_LINE, "%s: longest line %zu", what,
	  longest_line(m->body));
	T_STREQ(qp_decode(m->body), want, "%s: decodes back", what);
}

static void test_body(void)
{
	static char want[32768], value[4096];
	struct map_dest d = notify("x", false);
	struct submission s;
	struct mail m;

	fresh(&s, "Ann");
	submission_add_trait(&s, "message", &fields[3], NULL,
	                     cJSON_CreateString("line one\r\n.\r\nFrom me\n\nafter\rend "), 8);
	T(compose(&d, &s, &m) && m.ok, "composes");
	T(strstr(m.body, "\r\n.\r\n") == NULL, "no lone dot line");
	body_check(&m, "email: ann@example.com\nfirst: Ann\nlast: Lee\n"
	           "message: line one\n  .\n  From me\n\n  after\n  end \n"
	           "topics: pricing, support\noptin: yes\nseats: 3.5\n\n"
	           "Time: " TS "\nMessage id: " MID "\nForm: demo\n", "multi-line value");
	submission_free(&s);

	/* A 2000-byte line of dots, another of "From ", shifted so that every
	 * soft break falls somewhere else. */
	for (int shift = 0; shift < 5; shift++) {
		for (int kind = 0; kind < 2; kind++) {
			memset(value, 'x', (size_t)shift);
			for (int i = shift; i < 2000; i++)
				value[i] = kind ? "From "[(i - shift) % 5] : '.';
			value[2000] = '\0';
			fresh(&s, value);
			T(compose(&d, &s, &m) && m.ok, "composes");
			snprintf(want, sizeof want, "email: ann@example.com\nfirst: %s\nlast: Lee\n"
			         "topics: pricing, support\noptin: yes\nseats: 3.5\n\n"
			         "Time: " TS "\nMessage id: " MID "\nForm: demo\n", value);
			body_check(&m, want, kind ? "a long line of From" : "a long line of dots");
			submission_free(&s);
		}
	}

	fresh(&s, "Zoë = 1\t2");
	T(compose(&d, &s, &m) && m.ok, "composes");
	T(strstr(m.body, "first: Zo=C3=AB =3D 1=092\r\n") != NULL, "non-ASCII, '=' and tab quoted");
	body_check(&m, "email: ann@example.com\nfirst: Zoë = 1\t2\nlast: Lee\n"
	           "topics: pricing, support\noptin: yes\nseats: 3.5\n\n"
	           "Time: " TS "\nMessage id: " MID "\nForm: demo\n", "quoted");
	submission_free(&s);
}

static void test_no_id_no_time(void)
{
	struct map_dest d = notify("x", false);
	struct submission s;
	struct mail m;
	const char *v;

	fresh(&s, "Ann");
	s.message_id[0] = '\0';
	s.timestamp[0] = '\0';
	T(compose(&d, &s, &m) && m.ok, "composes");
	v = header(&m, "Message-ID");
	T(strlen(v) == 1 + 36 + 1 + 11 + 1 && v[0] == '<' && strstr(v, "@example.com>"),
	  "a new messageId: %s", v);
	v = header(&m, "Date");
	T(strlen(v) == 31 && v[3] == ',' && strcmp(v + 26, "+0000") == 0, "now: %s", v);
	submission_free(&s);
}

int main(void)
{
	test_plain();
	test_many_to();
	test_subject_template();
	test_subject_encoded();
	test_injection();
	test_refused();
	test_body();
	test_no_id_no_time();
	T_DONE();
}
