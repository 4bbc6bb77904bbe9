/*
 * fm_identity.c: the identity rule: finding, adopting, creating and
 * updating the contact of one submission (fm_identity.h).
 */
#include "fm_identity.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "escape.h"
#include "fm_state.h"
#include "log.h"
#include "text.h"

/*
 * One delivery's identity. Only a signed userId is trusted: any other may
 * create a contact, update the contact it keys (when that contact has the
 * posted email), and adopt a contact with the posted email and no external
 * id, but never change a contact's email nor take another person's contact.
 */
struct who {
	struct fm_fieldcache *fc; /* the field list, and through it the transport */
	const struct submission *sub;
	const struct map_form *form;
	const char *uid, *email;
	bool trusted;
	uint64_t deadline;
	bool want_links;         /* writes ask for the contact's account links */
	bool refreshed;          /* the field list was fetched again once */
};

/* How a contact is written. */
enum write {
	WRITE_UPSERT,            /* POST /contacts/upsert keyed on external_id */
	WRITE_PUT,               /* PUT /contacts/ID: a contact found and read */
	WRITE_CREATE,            /* POST /contacts: never touches an existing one */
};

/* Who holds an email, as read from the whole contact. */
enum owner { OWNER_NOBODY, OWNER_NO_EXT, OWNER_US, OWNER_OTHER };

static bool is_word_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '_';
}

/* `w` stands in msg as a word of its own (ignoring case). */
static bool has_word(const char *msg, const char *w)
{
	size_t n = strlen(w);

	if (!n)
		return false;
	for (const char *p = msg; (p = strcasestr(p, w)); p++)
		if ((p == msg || !is_word_char(p[-1])) && !is_word_char(p[n]))
			return true;
	return false;
}

/* Blanks every copy of `v` (ignoring case) in msg. */
static void blank_out(char *msg, const char *v)
{
	size_t n = v ? strlen(v) : 0;

	for (char *p = msg; n && (p = strcasestr(p, v)); p += n)
		memset(p, ' ', n);
}

/*
 * Does the API's message name a field of the body by its API name? API names
 * are the same in every language; labels and the rest of a message are not,
 * so nothing else in it decides anything. The submission's own email and
 * userId are blanked first: "first_name@example.com already exists." names
 * no field. The identity fields are the identity rule's business.
 */
static bool names_a_field(const struct who *w, const char *api_msg, const cJSON *body)
{
	const cJSON *contact = cJSON_GetObjectItemCaseSensitive(body, "contact"), *f, *cf;
	char msg[sizeof ((struct fm_result *)0)->message];

	text_copy(msg, sizeof msg, api_msg);
	blank_out(msg, w->email);
	blank_out(msg, w->uid);
	cJSON_ArrayForEach(f, contact) {
		if (strcmp(f->string, "emails") == 0 || strcmp(f->string, "external_id") == 0)
			continue;
		if (strcmp(f->string, "custom_field") == 0) {
			cJSON_ArrayForEach(cf, f)
				if (has_word(msg, cf->string))
					return true;
		} else if (has_word(msg, f->string)) {
			return true;
		}
	}
	return false;
}

/* Sends one body; false when no answer came (*out says why). */
static bool send_body(const struct who *w, enum write how, long long id,
                      const char *json, struct fm_result *out, long *status)
{
	char path[64];
	const char *q = w->want_links ? FM_INCLUDE_LINKS : "";

	if (how == WRITE_PUT)
		snprintf(path, sizeof path, "/contacts/%lld%s", id, q);
	else
		snprintf(path, sizeof path, "%s%s",
		         how == WRITE_UPSERT ? "/contacts/upsert" : "/contacts", q);
	return fm_http_call(w->fc->http, how == WRITE_PUT ? "PUT" : "POST", path, json,
	                    w->deadline, out, status);
}

/*
 * One write. When the API refuses a field of the body (a 400 naming it), the
 * field list is fetched again once per delivery and the rebuilt body sent
 * once more if it differs; the same body would be refused the same way, so
 * that refusal stands. True when the answer was a 400 that names no field of
 * the body: the identity rule then decides by data what it means.
 */
static bool write_contact(struct who *w, enum write how, long long id,
                          struct fm_result *out)
{
	cJSON *tree = NULL, *tree2 = NULL;
	char *json = NULL, *json2 = NULL;
	struct fm_result refused;
	bool unexplained = false;
	long status = 0;

	if (!(json = fm_fieldcache_body(w->fc, w->sub, w->form, how == WRITE_UPSERT, NULL, NULL, out, &tree)) ||
	    !send_body(w, how, id, json, out, &status))
		goto out;
	fm_http_classify(w->fc->http, status, out);
	if (status != 400)
		goto out;
	if (!names_a_field(w, out->message, tree)) {
		unexplained = true;
		goto out;
	}
	if (w->refreshed)
		goto out;
	w->refreshed = true;
	refused = *out;
	log_msg(LOG_WARN, "Freshmarketer refused a field (%s): fetching the field list again",
	        out->message);
	if (!fm_fieldcache_ensure(w->fc, w->deadline, out, true) ||
	    !(json2 = fm_fieldcache_body(w->fc, w->sub, w->form, how == WRITE_UPSERT, NULL, NULL, out,
	                                       &tree2)))
		goto out;
	if (strcmp(json, json2) == 0) {
		unsigned calls = out->calls;

		*out = refused;
		out->calls = calls;
		goto out;
	}
	status = 0;
	if (send_body(w, how, id, json2, out, &status))
		fm_http_classify(w->fc->http, status, out);
	unexplained = status == 400 && !names_a_field(w, out->message, tree2);
out:
	cJSON_Delete(tree);
	cJSON_Delete(tree2);
	free(json);
	free(json2);
	return unexplained;
}

/* GET `path`; on 200 with a JSON answer, true with *doc the parsed answer. */
static bool get_json(struct fm_http *h, const char *path, const char *what,
                     uint64_t deadline, struct fm_result *out, cJSON **doc)
{
	long status;

	*doc = NULL;
	if (!fm_http_call(h, "GET", path, NULL, deadline, out, &status) ||
	    !fm_http_read_ok(h, status, out))
		return false;
	if (!(*doc = fm_http_json(h))) {
		fm_result_say(out, FM_RETRY, "%s: the answer is not JSON", what);
		return false;
	}
	return true;
}

/* The rows of a lookup answer ({"contacts":{"contacts":[..]}}), or NULL. */
static const cJSON *rows_of(const cJSON *doc)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(doc, "contacts");

	if (cJSON_IsObject(list))
		list = cJSON_GetObjectItemCaseSensitive(list, "contacts");
	return cJSON_IsArray(list) ? list : NULL;
}

/* The contacts whose `field` is exactly `value`. */
static bool lookup(struct fm_http *h, const char *field, const char *value,
                   uint64_t deadline, struct fm_result *out, cJSON **doc)
{
	struct buf path;
	bool ok = false;

	*doc = NULL;
	/* Room for the value with every byte escaped (%XX). */
	buf_init(&path, 3 * strlen(value) + strlen(field) + 64);
	if (buf_adds(&path, "/lookup?q=") != BUF_OK || esc_url_component(&path, value) != BUF_OK ||
	    buf_printf(&path, "&f=%s&entities=contact", field) != BUF_OK)
		fm_result_say(out, FM_RETRY, "out of memory");
	else
		ok = get_json(h, buf_str(&path), "lookup", deadline, out, doc);
	buf_free(&path);
	return ok;
}

/* A contact's id, or 0. */
static long long contact_id(const cJSON *ct)
{
	return fm_id_of(cJSON_GetObjectItemCaseSensitive(ct, "id"));
}

/* An "emails" value: a string, or a list of strings or {"value": ..}. */
static bool has_email(const cJSON *v, const char *email)
{
	const cJSON *e;

	if (cJSON_IsString(v))
		return text_ieq(v->valuestring, email);
	cJSON_ArrayForEach(e, (cJSON_IsArray(v) ? v : NULL)) {
		const cJSON *s = cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "value") : e;
		if (cJSON_IsString(s) && text_ieq(s->valuestring, email))
			return true;
	}
	return false;
}

static bool contact_has_email(const cJSON *ct, const char *email)
{
	return has_email(cJSON_GetObjectItemCaseSensitive(ct, "email"), email) ||
	       has_email(cJSON_GetObjectItemCaseSensitive(ct, "emails"), email);
}

/* The whole contact `id` (GET /contacts/ID): *ct points into *doc. */
static bool read_contact(struct fm_http *h, long long id, uint64_t deadline,
                         struct fm_result *out, cJSON **doc, const cJSON **ct)
{
	char path[64];

	snprintf(path, sizeof path, "/contacts/%lld", id);
	if (!get_json(h, path, "reading a contact", deadline, out, doc))
		return false;
	*ct = cJSON_GetObjectItemCaseSensitive(*doc, "contact");
	if (!cJSON_IsObject(*ct) || contact_id(*ct) != id) {
		fm_result_say(out, FM_RETRY, "reading contact %lld: not the expected answer", id);
		return false;
	}
	return true;
}

/*
 * The contact that has our userId as external id (lookup by external_id,
 * an exact match): *id 0 when none, else *same whether it has our email. A
 * row that shows another external id is not it; a row without its email
 * (rows are partial) is read whole.
 */
static bool find_by_userid(const struct who *w, struct fm_result *out,
                           long long *id, bool *same)
{
	cJSON *doc = NULL, *full = NULL;
	const cJSON *row, *ct, *x;
	bool ok = false;

	*id = 0;
	*same = false;
	if (!lookup(w->fc->http, "external_id", w->uid, w->deadline, out, &doc))
		goto out;
	cJSON_ArrayForEach(row, rows_of(doc)) {
		x = cJSON_GetObjectItemCaseSensitive(row, "external_id");
		if ((x && !(cJSON_IsString(x) && strcmp(x->valuestring, w->uid) == 0)) ||
		    !contact_id(row))
			continue;
		*id = contact_id(row);
		ct = row;
		if (!cJSON_GetObjectItemCaseSensitive(row, "email") &&
		    !cJSON_GetObjectItemCaseSensitive(row, "emails") &&
		    !read_contact(w->fc->http, *id, w->deadline, out, &full, &ct))
			goto out;
		*same = contact_has_email(ct, w->email);
		break;
	}
	ok = true;
out:
	cJSON_Delete(doc);
	cJSON_Delete(full);
	return ok;
}

/*
 * The contact that has our email, and whose it is, read from the whole
 * contact: lookup rows are partial, and a row without external_id says
 * nothing about it. *id 0 when the lookup finds none.
 */
static bool find_by_email(const struct who *w, struct fm_result *out,
                          long long *id, enum owner *own)
{
	cJSON *doc = NULL, *full = NULL;
	const cJSON *row, *ct, *x;
	bool ok = false;

	*id = 0;
	*own = OWNER_NOBODY;
	if (!lookup(w->fc->http, "email", w->email, w->deadline, out, &doc))
		goto out;
	cJSON_ArrayForEach(row, rows_of(doc)) {
		if (!contact_has_email(row, w->email) || !contact_id(row))
			continue;
		*id = contact_id(row);
		if (!read_contact(w->fc->http, *id, w->deadline, out, &full, &ct))
			goto out;
		x = cJSON_GetObjectItemCaseSensitive(ct, "external_id");
		if (!x || cJSON_IsNull(x) || (cJSON_IsString(x) && !x->valuestring[0]))
			*own = OWNER_NO_EXT;
		else
			*own = cJSON_IsString(x) && strcmp(x->valuestring, w->uid) == 0 ? OWNER_US
			                                                                : OWNER_OTHER;
		break;
	}
	ok = true;
out:
	cJSON_Delete(doc);
	cJSON_Delete(full);
	return ok;
}

/* An untrusted userId whose contact `id` has another email: FM_CONFLICT, since
 * only a signed userId may change a contact's email. */
static bool takes_email(const struct who *w, long long id, bool same, struct fm_result *out)
{
	if (!id || w->trusted || same)
		return false;
	fm_result_say(out, FM_CONFLICT, "contact %lld has this userId and another email, which "
	              "only a signed userId may change", id);
	return true;
}

/*
 * A write not keyed on external_id (`how`, contact `id`) after the upsert
 * keyed on it was refused: when it goes through, the account refuses
 * external_id as the key, and every process switches to the emails mode.
 * When it is refused too, the refusal is the submission's own (FM_REJECTED).
 */
static void write_probing(struct who *w, enum write how, long long id,
                          bool probing, struct fm_result *out)
{
	write_contact(w, how, id, out);
	if (probing && out->outcome == FM_DELIVERED)
		fm_state_key_mode_emails(w->fc->http->st, "a write without that key went through after an "
		                         "upsert keyed on it was refused");
}

/*
 * Where the userId's upsert could not go (`probing`: it was refused with a
 * 400 that names no field), or in the emails mode where no contact has the
 * userId: the contact with our email decides. Another person's is a conflict;
 * one without external id is adopted (written by id, after reading it
 * whole); ours means the key was refused. With none, the contact with our
 * userId (unless `looked` already) or a new one.
 */
static void place_by_email(struct who *w, bool looked, bool probing,
                           struct fm_result *out)
{
	long long id;
	enum owner own;
	bool same;

	if (!find_by_email(w, out, &id, &own))
		return;
	switch (own) {
	case OWNER_OTHER:
		fm_result_say(out, FM_CONFLICT, "the email belongs to contact %lld, which has another "
		              "external id", id);
		return;
	case OWNER_NO_EXT:
		if (write_contact(w, WRITE_PUT, id, out))
			/* Our userId is another contact's: two contacts, never merged here. */
			fm_result_say(out, FM_CONFLICT, "the email belongs to contact %lld, and the "
			              "userId to another contact", id);
		else if (out->outcome == FM_DELIVERED)
			log_msg(LOG_INFO, "Freshmarketer contact %lld adopted (had no external id)", id);
		return;
	case OWNER_US:
		write_probing(w, WRITE_PUT, id, probing, out);
		return;
	case OWNER_NOBODY:
		break;
	}
	if (!looked) {
		if (!find_by_userid(w, out, &id, &same))
			return;
		if (takes_email(w, id, same, out))
			return;
		if (id) {
			write_probing(w, WRITE_PUT, id, probing, out);
			return;
		}
	}
	write_probing(w, WRITE_CREATE, 0, probing, out);
}

/*
 * The emails mode, with the contact `id` that has our userId: updated by id.
 * A refusal that names no field is a conflict when the email is another
 * contact's (a signed userId changing its email), else the submission's own.
 */
static void update_by_id(struct who *w, long long id, struct fm_result *out)
{
	struct fm_result refused;
	long long other;
	enum owner own;

	if (!write_contact(w, WRITE_PUT, id, out))
		return;
	refused = *out;
	if (!find_by_email(w, out, &other, &own))
		return;
	if (other && other != id) {
		fm_result_say(out, FM_CONFLICT, "the email belongs to contact %lld, the userId to "
		              "contact %lld", other, id);
		return;
	}
	refused.calls = out->calls;
	*out = refused;
}

static void deliver_identity(struct who *w, struct fm_result *out)
{
	bool emails_mode = fm_state_key_mode(w->fc->http->st) == FM_KEY_MODE_EMAILS;
	bool looked = false, same;
	long long id = 0;

	/* Before writing, an untrusted userId's contact is read: its email must
	 * not change. The emails mode finds it this way anyhow. */
	if (emails_mode || !w->trusted) {
		if (!find_by_userid(w, out, &id, &same))
			return;
		looked = true;
		if (takes_email(w, id, same, out))
			return;
	}
	if (emails_mode) {
		if (id)
			update_by_id(w, id, out);
		else
			place_by_email(w, true, false, out);
		return;
	}
	if (write_contact(w, WRITE_UPSERT, 0, out))
		place_by_email(w, looked, true, out);
}

void fm_identity_deliver(struct fm_fieldcache *fc, const struct submission *sub,
                         const struct map_form *form, uint64_t deadline, bool want_links,
                         struct fm_result *out)
{
	struct who w = {.fc = fc, .sub = sub, .form = form,
	                .uid = sub->user_id, .email = sub->email,
	                .trusted = submission_trusted(sub), .deadline = deadline,
	                .want_links = want_links};

	deliver_identity(&w, out);
}
