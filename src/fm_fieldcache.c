/*
 * fm_fieldcache.c: when the field list is fetched, kept and shared; the body
 * of a write built with it; the once-only warnings about left-out traits.
 */
#include "fm_fieldcache.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "fm_state.h"
#include "hash.h"
#include "log.h"

void fm_fieldcache_init(struct fm_fieldcache *fc, struct fm_http *http, unsigned max_age_s)
{
	fc->http = http;
	fc->max_age_s = max_age_s;
	fc->fields = NULL;
}

void fm_fieldcache_fini(struct fm_fieldcache *fc)
{
	fm_fields_free(fc->fields);
	fc->fields = NULL;
}

static void set_fields(struct fm_fieldcache *fc, struct fm_fields *f)
{
	fm_fields_free(fc->fields);
	fc->fields = f;
}

/* Takes the shared cache when another process stored a newer list. */
static void take_cached(struct fm_fieldcache *fc)
{
	struct fm_fields *f;

	if (fm_state_fields_load(fc->http->st, &f))
		set_fields(fc, f);
}

static bool fresh(const struct fm_fieldcache *fc)
{
	time_t now = time(NULL);

	/* A list from the future (a clock set back) is not trusted as fresh. */
	return fc->fields && fc->fields->fetched_at <= now &&
	       now - fc->fields->fetched_at < (time_t)fc->max_age_s;
}

/* A refresh failed in some process less than FM_FIELDS_RETRY_S ago. */
static bool refresh_failed_lately(const struct fm_fieldcache *fc)
{
	long ago = fm_state_fields_failed_ago(fc->http->st);

	return ago >= 0 && ago < FM_FIELDS_RETRY_S;
}

bool fm_fieldcache_fetch(struct fm_fieldcache *fc, uint64_t deadline, bool share,
                         struct fm_result *out)
{
	struct fm_fields *f = NULL;
	cJSON *doc = NULL;
	enum fmf_err e;
	long status;
	bool ok = false;

	if (!fm_http_call(fc->http, "GET", "/settings/contacts/fields", NULL, deadline, out,
	                  &status))
		goto out;
	if (!fm_http_read_ok(fc->http, status, out)) {
		/* Not this contact's fault: only a refused key stops delivery. */
		log_msg(LOG_WARN, "Freshmarketer field list: HTTP %ld", status);
		goto out;
	}
	doc = fm_http_json(fc->http);
	if ((e = doc ? fm_fields_from_json(doc, time(NULL), &f) : FMF_EPARSE) != FMF_OK) {
		fm_result_say(out, FM_RETRY, "field list: %s", fm_fields_strerror(e));
		log_msg(LOG_WARN, "Freshmarketer field list: %s", fm_fields_strerror(e));
		goto out;
	}
	if (share)
		fm_state_fields_save(fc->http->st, doc, f->fetched_at);
	log_msg(LOG_INFO, "Freshmarketer field list fetched: %zu fields%s", f->n,
	        !share || fm_state_shared(fc->http->st) ? "" : " (kept by this process only)");
	set_fields(fc, f);
	ok = true;
out:
	cJSON_Delete(doc);
	return ok;
}

bool fm_fieldcache_ensure(struct fm_fieldcache *fc, uint64_t deadline, struct fm_result *out,
                          bool force)
{
	uint64_t now = (uint64_t)clock_mono_ms();
	long left = now < deadline ? (long)(deadline - now) : 0;
	struct fm_state *st = fc->http->st;
	bool locked, ok;

	if (!force) {
		take_cached(fc);
		if (fresh(fc) || (fc->fields && refresh_failed_lately(fc)))
			return true;
	}
	/* With a copy to serve, nobody waits for another process's refresh. */
	locked = fm_state_fields_lock(st, fc->fields && !force ? 0 : left / 2);
	if (!force) {
		take_cached(fc);
		if (fresh(fc) || (!locked && fc->fields)) {
			if (locked)
				fm_state_fields_unlock(st);
			return true;
		}
	}
	ok = fm_fieldcache_fetch(fc, deadline, true, out);
	if (locked)
		fm_state_fields_unlock(st);
	if (ok || !fc->fields || force || out->outcome == FM_PAUSED)
		return ok;
	fm_state_fields_failed(st);
	log_msg(LOG_WARN, "Freshmarketer field list not refreshed (%s): using the copy fetched "
	        "%ld s ago", out->message, (long)(time(NULL) - fc->fields->fetched_at));
	out->outcome = FM_DELIVERED;   /* provisional: the upsert decides */
	out->message[0] = '\0';
	out->retry_after_s = -1;
	return true;
}

/* ---- warnings about left-out traits --------------------------------------- */

struct warnings {
	struct fm_state *st;      /* NULL: no shared memory of what was logged */
	const struct map_form *form;
};

/* Left-out traits are logged once per form, trait and reason across every
 * process (until the field list changes), not once per request. Names come
 * from the mapping and the field list, never from a submission. */
static void warn_once(void *ud, enum fmb_event ev, const char *trait, const char *field,
                      const cJSON *value)
{
	const struct warnings *w = ud;
	const char *fid = w->form && w->form->id ? w->form->id : "-";
	uint64_t h;

	(void)value;
	if (ev == FMB_SET_FM_FIELD || ev == FMB_SET_RESERVED || ev == FMB_SET_LABEL ||
	    ev == FMB_SET_NAME || ev == FMB_DROP_UNCHECKED || ev == FMB_DROP_NO_LIST ||
	    ev == FMB_DROP_STEP || ev == FMB_INVALID)
		return;
	h = hash_fnv1a(HASH_FNV_INIT, fid, strlen(fid) + 1);
	h = hash_fnv1a(h, trait, strlen(trait) + 1);
	h = hash_fnv1a(h, &ev, sizeof ev);
	if (w->st && !fm_state_first_warning(w->st, h))
		return;
	log_msg(LOG_WARN, "form %s: trait \"%s\" %s%s%s%s", fid, trait, fmb_event_name(ev),
	        field ? " (" : "", field ? field : "", field ? ")" : "");
}

/* ---- the body of a write -------------------------------------------------- */

char *fm_fieldcache_body(struct fm_fieldcache *fc, const struct submission *sub,
                         const struct map_form *form, bool keyed, fmb_note_fn *note, void *ud,
                         struct fm_result *out, cJSON **tree)
{
	struct warnings w = {fc ? fc->http->st : NULL, form};
	struct fmb_report rep = {.note = note ? note : warn_once, .ud = note ? ud : &w};
	char *json = NULL;
	enum fmb_err e = fm_body_build(sub, fc ? fc->fields : NULL, FMB_KEY_EXTERNAL_ID, &rep, tree);

	if (e == FMB_EINVALID) {
		out->field = rep.form_field;
		fm_result_say(out, FM_INVALID, "trait \"%s\"%s%s%s does not fit Freshmarketer field "
		              "%s, which takes %s", rep.trait, rep.form_field ? " (form field \"" : "",
		              rep.form_field ? rep.form_field : "", rep.form_field ? "\")" : "",
		              rep.field, rep.expected);
	} else if (e != FMB_OK) {
		fm_result_say(out, e == FMB_ENOIDENT ? FM_REJECTED : FM_RETRY, "%s", fmb_strerror(e));
	} else {
		if (!keyed)
			cJSON_DeleteItemFromObjectCaseSensitive(*tree, "unique_identifier");
		if (!(json = cJSON_PrintUnformatted(*tree)))
			fm_result_say(out, FM_RETRY, "out of memory");
	}
	if (!json) {
		cJSON_Delete(*tree);
		*tree = NULL;
	}
	return json;
}
