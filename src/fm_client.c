/*
 * fm_client.c: the client one process holds, putting together the transport
 * (fm_http), the field list (fm_fieldcache), the identity rule (fm_identity)
 * and the shared state (fm_state) behind the entry points of fm_client.h.
 */
#include "fm_client.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "fm_account.h"
#include "fm_body.h"
#include "fm_fieldcache.h"
#include "fm_identity.h"
#include "fm_lists.h"
#include "fm_note.h"
#include "fm_state.h"
#include "fmgate_limits.h"
#include "log.h"
#include "text.h"

struct fm_client {
	struct fm_curl *curl;         /* the transport */
	struct fm_http http;          /* calls through it; http.st is the state */
	struct fm_fieldcache fc;      /* the field list */
	struct fm_lists *lists;       /* the marketing lists by name */
	char key[LIMIT_MAX_API_KEY + 1]; /* only to keep it out of result messages */
	char spool[LIMIT_MAX_URL];
	unsigned timeout_ms;
	bool dry;                     /* a dry run happened: http.st is read-only */
};

struct fm_client *fm_client_new(const struct config *cfg)
{
	struct fm_client *c = calloc(1, sizeof *c);
	struct fm_state *st;

	if (!c)
		return NULL;
	c->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : LIMIT_DEFAULT_TIMEOUT_MS;
	text_copy(c->key, sizeof c->key, cfg->api_key);
	text_copy(c->spool, sizeof c->spool, cfg->spool_dir);
	st = fm_state_open(c->spool, cfg->api_base, c->key, false);
	c->curl = fm_curl_new(cfg->api_key);
	fm_http_init(&c->http, (struct fm_transport){fm_curl_send, c->curl}, st, cfg->api_base);
	fm_fieldcache_init(&c->fc, &c->http, cfg->fields_max_age_s ? cfg->fields_max_age_s
	                                                            : CONFIG_DEFAULT_FIELDS_MAX_AGE);
	c->lists = fm_lists_new(&c->http, c->spool, false);
	if (!st || !c->curl || !c->lists) {
		fm_client_free(c);
		c = NULL;
	}
	return c;
}

void fm_client_free(struct fm_client *c)
{
	if (!c)
		return;
	fm_fieldcache_fini(&c->fc);
	fm_lists_free(c->lists);
	fm_state_close(c->http.st);
	fm_curl_free(c->curl);
	explicit_bzero(c->key, sizeof c->key);
	free(c);
}

void fm_client_ratelimit(const struct fm_client *c, struct fm_ratelimit *out)
{
	*out = c->http.rl;
}

/* A message quoting the key would leak it into logs and the spool. */
static void scrub(const struct fm_client *c, struct fm_result *out)
{
	if (c && c->key[0] && strstr(out->message, c->key))
		snprintf(out->message, sizeof out->message, "(message withheld: it held the API key)");
}

/* Delivery is paused (the key was refused) and this is not the probe: FM_PAUSED
 * with the seconds until the probe. */
static bool paused(const struct fm_client *c, struct fm_result *out)
{
	long wait = fm_state_pause_check(c->http.st);

	if (wait <= 0)
		return false;
	out->retry_after_s = wait;
	fm_result_say(out, FM_PAUSED, "delivery paused: the API refused the key; next probe "
	              "in %ld s", wait);
	return true;
}

/* After a delivery's calls: no key in the message, and a refused key pauses
 * every process. */
static void finish(struct fm_client *c, struct fm_result *out)
{
	scrub(c, out);
	if (c && out->outcome == FM_PAUSED && out->http_status) {
		fm_state_key_refused(c->http.st, out->http_status, out->message);
		if (out->retry_after_s < 0)
			out->retry_after_s = FM_STATE_PROBE_S;
	}
}

void fm_deliver(struct fm_client *c, const struct submission *sub,
                const struct map_form *form, unsigned budget_ms,
                struct fm_result *out)
{
	uint64_t deadline = (uint64_t)clock_mono_ms() + budget_ms;

	fm_result_start(out);
	if (!c) {
		fm_result_say(out, FM_RETRY, "no Freshmarketer client");
		goto out;
	}
	if (!sub->user_id || !sub->email) {
		fm_result_say(out, FM_REJECTED, "the submission has no userId or email");
		goto out;
	}
	if (paused(c, out))
		goto out;
	if (fm_body_needs_fields(sub) && !fm_fieldcache_ensure(&c->fc, deadline, out, false))
		goto out;
	/* An account step waits: the contact write then returns the contact's
	 * links, which the step uses instead of reading the contact. */
	fm_identity_deliver(&c->fc, sub, form, deadline,
	                    steps_pending_kind(&sub->steps, STEP_ACCOUNT), out);
out:
	finish(c, out);
}

void fm_step(struct fm_client *c, struct step *step, long long contact_id,
             const struct fm_links *links, unsigned budget_ms, struct fm_result *out)
{
	uint64_t deadline = (uint64_t)clock_mono_ms() + budget_ms;
	long long list_id;

	fm_result_start(out);
	if (!c) {
		fm_result_say(out, FM_RETRY, "no Freshmarketer client");
		goto out;
	}
	if (contact_id <= 0) {
		fm_result_say(out, FM_RETRY, "no contact yet: the contact step comes first");
		goto out;
	}
	if (paused(c, out))
		goto out;
	switch (step->kind) {
	case STEP_ACCOUNT:
		fm_account_step(&c->http, step->name, contact_id, links, &step->id, deadline, out);
		break;
	case STEP_LIST:
		fm_lists_find(c->lists, step->name, step->create, deadline, &list_id, out);
		if (out->outcome == FM_DELIVERED)
			fm_lists_add(c->lists, list_id, contact_id, deadline, out);
		break;
	case STEP_NOTE:
		fm_note_add(&c->http, step->name, step->text, contact_id, deadline, out);
		break;
	case STEP_CONTACT:
		fm_result_say(out, FM_REJECTED, "the contact step is fm_deliver's");
		break;
	}
	/* A 403 here is this call's permission (a plan or a role without
	 * accounts, lists or notes), not the key's: the contact went through
	 * with the same key. It refuses the step; only a 401 pauses. */
	if (out->outcome == FM_PAUSED && out->http_status == 403)
		out->outcome = FM_REJECTED;
out:
	finish(c, out);
}

/* One call of a step, for `fmgate try`. */
static void say_call(FILE *to, const char *call, const char *when)
{
	if (when)
		fprintf(to, "  %-48s (%s)\n", call, when);
	else
		fprintf(to, "  %s\n", call);
}

void fm_step_describe(struct fm_client *c, const struct step *step, FILE *to)
{
	char call[64], when[MAP_MAX_LIST_NAME + 64];
	long long id;

	switch (step->kind) {
	case STEP_ACCOUNT:
		if (!step->id)
			say_call(to, "POST /sales_accounts/upsert", "the account, by its name");
		say_call(to, "GET /contacts/{contact}" FM_INCLUDE_LINKS,
		         "when the contact write did not return its links");
		say_call(to, "PUT /contacts/{contact}" FM_INCLUDE_LINKS, "when not yet linked");
		break;
	case STEP_LIST:
		if (c && fm_lists_known(c->lists, step->name, &id)) {
			snprintf(call, sizeof call, "PUT /lists/%lld/add_contacts", id);
			say_call(to, call, NULL);
			break;
		}
		snprintf(when, sizeof when, "when \"%s\" is not cached", step->name);
		say_call(to, "GET /lists?page=1..", when);
		if (step->create)
			say_call(to, "POST /lists", "create=\"true\", when the CRM has none");
		say_call(to, "PUT /lists/{id}/add_contacts", NULL);
		break;
	case STEP_NOTE:
		say_call(to, "POST /notes", "the note, on the contact");
		break;
	case STEP_CONTACT:
		break;   /* fm_request_explain tells */
	}
}

int fm_client_list_exists(struct fm_client *c, const char *name, struct fm_result *out)
{
	int r;

	fm_result_start(out);
	r = fm_lists_exists(c->lists, name, (uint64_t)clock_mono_ms() + c->timeout_ms, out);
	scrub(c, out);
	return r;
}

/* `fmgate try`: one line per trait, to the FILE given as ud. */
static void print_note(void *ud, enum fmb_event ev, const char *trait, const char *field,
                       const cJSON *value)
{
	char *v = value ? cJSON_PrintUnformatted(value) : NULL;

	fprintf(ud, "  %-24s -> %-20s %s%s%s\n", trait, field ? field : "-",
	        fmb_event_name(ev), v ? ": " : "", v ? v : "");
	cJSON_free(v);
}

cJSON *fm_request_explain(struct fm_client *c, const struct submission *sub,
                          const struct map_form *form, FILE *to,
                          struct fm_result *out)
{
	struct fm_lists *ro_lists;
	struct fm_state *ro;
	cJSON *body = NULL;
	char *json;

	fm_result_start(out);
	/* A dry run reads the field list if it must, and changes nothing. */
	if (c && !c->dry) {
		ro = fm_state_open(c->spool, c->http.base, c->key, true);
		if (ro && (ro_lists = fm_lists_new(&c->http, c->spool, true))) {
			fm_state_close(c->http.st);
			c->http.st = ro;
			fm_lists_free(c->lists);
			c->lists = ro_lists;
			c->dry = true;
		} else {
			fm_state_close(ro);
		}
	}
	if (c && fm_body_needs_fields(sub) &&
	    !fm_fieldcache_ensure(&c->fc, (uint64_t)clock_mono_ms() + c->timeout_ms, out, false))
		log_msg(LOG_WARN, "no field list (%s): traits matched by label are left out",
		        out->outcome == FM_PAUSED ? "API key refused" : "API unreachable or failing");
	out->outcome = FM_DELIVERED;
	out->message[0] = '\0';
	json = fm_fieldcache_body(c ? &c->fc : NULL, sub, form, true, to ? print_note : NULL,
	                          to, out, &body);
	free(json);
	scrub(c, out);
	return body;
}

cJSON *fm_request_body(struct fm_client *c, const struct submission *sub,
                       const struct map_form *form)
{
	struct fm_result r;

	return fm_request_explain(c, sub, form, NULL, &r);
}

const struct fm_fields *fm_client_fields(struct fm_client *c, struct fm_result *out)
{
	fm_result_start(out);
	if (!fm_fieldcache_fetch(&c->fc, (uint64_t)clock_mono_ms() + c->timeout_ms, false, out)) {
		scrub(c, out);
		return NULL;
	}
	out->outcome = FM_DELIVERED;
	return c->fc.fields;
}
