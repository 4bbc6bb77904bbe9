/* handler.c: the request path of a form post, and the choice of status. */
#include "handler.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "captcha.h"
#include "clock.h"
#include "deliver.h"
#include "escape.h"
#include "form.h"
#include "identify.h"
#include "log.h"
#include "metrics.h"
#include "origin.h"
#include "text.h"
#include "uuid.h"

/* The one log line of a request (not a spool record). Never a submitted value. */
struct logline {
	const char *outcome;
	const char *id;         /* messageId, or "-" */
	char email[REDACT_HEX_SIZE]; /* keyed hash of the email, or "-" */
	char detail[600];
	const char *captcha;    /* captcha_verdict_name(), or NULL: no <captcha> */
};

/* The code of the refusal being answered, for the metrics: a process
 * answers one request at a time. NULL: none (yet). */
static const char *answered_code;

/* Why a request was refused before identify, for the log and the page. */
struct refusal {
	int status;
	const char *code;     /* short machine word for JSON clients */
	const char *text;     /* the sentence of the HTML page */
};

static void set_header(struct response *res, const char *name, const char *value)
{
	enum resp_err e = response_header(res, name, value);

	if (e != RESP_OK)
		log_msg(LOG_ERR, "header %s not sent (%s)", name,
		        e == RESP_EUNSAFE ? "unsafe value" : "no room");
}

/*
 * The one choice between a redirect and a page for a refusal: an HTML client
 * posting to a form with a failure URL is sent there (303, error=CODE and the
 * field errors: response_failure_url), unless the refusal is about where the
 * request went, not what it held: a foreign origin (403) must not be sent on
 * to the form's site, and a 404 or 405 is no form post. Headers set after
 * (Retry-After) go with the 303. False when the caller answers with its page
 * or JSON.
 */
static bool answer_redirect(struct response *res, bool json, const struct map_form *form,
                            int status, const char *code, const struct field_error *errs,
                            size_t n)
{
	struct buf u;
	bool sent;

	if (json || !form || !form->failure_url || status == 403 || status == 404 || status == 405)
		return false;
	buf_init(&u, LIMIT_MAX_URL * 4);
	/* A Location refused leaves the status as it was: the page instead. */
	sent = response_failure_url(&u, form->failure_url, code, errs, n) == BUF_OK &&
	       response_redirect(res, buf_str(&u)) == RESP_OK;
	if (!sent)
		log_msg(LOG_ERR, "failure URL of form %s not sent: the page instead", form->id);
	buf_free(&u);
	return sent;
}

/* A refusal without field errors: the failure URL, a small page (HTML) or
 * an object (JSON). form is NULL when no form is known. */
static void answer_status(struct response *res, bool json, const struct map_form *form,
                          const struct refusal *rf)
{
	enum buf_err e;

	if (rf->status >= 400)
		answered_code = rf->code;
	if (answer_redirect(res, json, form, rf->status, rf->code, NULL, 0))
		return;
	res->status = rf->status;
	if (json) {
		cJSON *o = cJSON_CreateObject();
		char *s = NULL;

		if (o && cJSON_AddFalseToObject(o, "ok") &&
		    cJSON_AddStringToObject(o, "error", rf->code))
			s = cJSON_PrintUnformatted(o);
		cJSON_Delete(o);
		e = s ? buf_adds(&res->body, s) : BUF_ENOMEM;
		cJSON_free(s);
		res->content_type = "application/json";
	} else {
		e = buf_printf(&res->body, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
		               "<title>%d %s</title></head><body><h1>%s</h1></body></html>\n",
		               rf->status, response_reason(rf->status), rf->text);
		res->content_type = "text/html; charset=utf-8";
	}
	if (e != BUF_OK)
		res->content_type = NULL;
}

/*
 * 303 to url, or the JSON success object. A url refused as a header falls
 * back to the form's success URL, and that to a page: a kept submission is
 * never answered by a 303 without Location, nor by a failure.
 */
static void answer_success(struct response *res, bool json, const struct map_form *form,
                           const char *url, const char *id)
{
	static const struct refusal sent = { 200, "ok", "Thank you: your message was sent." };

	if (json) {
		cJSON *o = cJSON_CreateObject();
		char *s = NULL;

		if (o && cJSON_AddTrueToObject(o, "ok") && cJSON_AddStringToObject(o, "id", id))
			s = cJSON_PrintUnformatted(o);
		cJSON_Delete(o);
		res->status = s ? 200 : 500;
		if (s && buf_adds(&res->body, s) == BUF_OK)
			res->content_type = "application/json";
		cJSON_free(s);
		return;
	}
	if (response_redirect(res, url) == RESP_OK)
		return;
	log_msg(LOG_ERR, "form %s: a success URL was not sent as Location", form->id);
	if (url != form->success_url && response_redirect(res, form->success_url) == RESP_OK)
		return;
	answer_status(res, false, NULL, &sent);
}

/* Field errors: JSON 422 with them all, the failure URL, or a 422 page. */
static void answer_errors(struct response *res, bool json, const struct map_form *form,
                          const struct field_error *errs, size_t n)
{
	enum buf_err e = BUF_OK;

	answered_code = errs[0].code;
	if (json) {
		cJSON *o = cJSON_CreateObject();
		bool ok = o && cJSON_AddFalseToObject(o, "ok");
		cJSON *arr = ok ? cJSON_AddArrayToObject(o, "errors") : NULL;
		char *s = NULL;

		ok = ok && arr;

		for (size_t i = 0; ok && i < n; i++) {
			cJSON *it = cJSON_CreateObject();
			ok = it && cJSON_AddItemToArray(arr, it) &&
			     (errs[i].field ? cJSON_AddStringToObject(it, "field", errs[i].field) != NULL
			                    : cJSON_AddNullToObject(it, "field") != NULL) &&
			     cJSON_AddStringToObject(it, "code", errs[i].code);
		}
		if (ok)
			s = cJSON_PrintUnformatted(o);
		cJSON_Delete(o);
		res->status = s ? 422 : 500;
		if (s && buf_adds(&res->body, s) == BUF_OK)
			res->content_type = "application/json";
		cJSON_free(s);
		return;
	}
	if (answer_redirect(res, json, form, 422, errs[0].code, errs, n))
		return;
	res->status = 422;
	e = buf_adds(&res->body, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
	             "<title>Please check the form</title></head><body>\n"
	             "<h1>Please check the form</h1>\n<ul>\n");
	for (size_t i = 0; i < n && e == BUF_OK; i++) {
		e = buf_adds(&res->body, "<li>");
		if (e == BUF_OK && errs[i].field) {
			e = esc_html(&res->body, errs[i].field);
			if (e == BUF_OK)
				e = buf_adds(&res->body, ": ");
		}
		if (e == BUF_OK)
			e = esc_html(&res->body, errs[i].code);
		if (e == BUF_OK)
			e = buf_adds(&res->body, "</li>\n");
	}
	if (e == BUF_OK)
		e = buf_adds(&res->body, "</ul>\n<p>Go back, correct these fields and send the form again.</p>\n</body></html>\n");
	res->content_type = e == BUF_OK ? "text/html; charset=utf-8" : NULL;
}

/* The origin the request comes from: Origin, else the Referer's. Returns
 * false when a header is there but gives no usable origin ("null"). */
static bool request_origin(const struct request *req, struct url *out, bool *present)
{
	const char *src = req->origin ? req->origin : req->referer;

	if (req->origin_oversized || (!req->origin && req->referer_oversized)) {
		*present = true;
		return false;
	}
	*present = src != NULL;
	if (!src)
		return true;
	return origin_read(src, out);
}

static const struct refusal *refusal_of_form_err(enum form_err e)
{
	static const struct refusal malformed = { 400, "malformed_body", "The form data is malformed." };
	static const struct refusal toomany = { 413, "too_many_fields", "The form has too many fields." };
	static const struct refusal unsupported = { 415, "unsupported_media_type", "This kind of form data is not accepted." };
	static const struct refusal file = { 415, "file_upload", "File uploads are not accepted." };
	static const struct refusal nomem = { 500, "internal_error", "Internal error." };

	switch (e) {
	case FORM_ETOOMANY: return &toomany;
	case FORM_EUNSUPPORTED: return &unsupported;
	case FORM_EFILE: return &file;
	case FORM_ENOMEM: return &nomem;
	case FORM_OK:
	case FORM_EMALFORMED: break;
	}
	return &malformed;
}

static const struct refusal *refusal_of_req_err(enum req_err e)
{
	static const struct refusal toolarge = { 413, "body_too_large", "The form data is too large." };
	static const struct refusal bad = { 400, "malformed_body", "The request is malformed." };
	static const struct refusal slow = { 408, "body_timeout", "The form data did not arrive in time." };
	static const struct refusal nomem = { 500, "internal_error", "Internal error." };

	return e == REQ_ETOOLARGE ? &toolarge : e == REQ_ETIMEOUT ? &slow :
	       e == REQ_ENOMEM ? &nomem : &bad;
}

/* The log line's words for what became of an accepted submission. */
static void log_delivery(const struct delivery *dv, const struct steps *steps,
                         struct logline *logl)
{
	const struct fm_result *r = &dv->fm;
	size_t len;

	if (dv->fate == DELIVER_LOST) {
		logl->outcome = "unavailable";
		return;
	}
	if (dv->why == DELIVER_TRIED) {
		logl->outcome = dv->contact_done ? fm_outcome_name(FM_DELIVERED)
		                                 : fm_outcome_name(r->outcome);
		snprintf(logl->detail, sizeof logl->detail, "http=%ld calls=%u%s%s", r->http_status,
		         dv->calls, r->message[0] ? " message=" : "", r->message);
		if (steps->n > 1) {
			char sum[256];

			len = strlen(logl->detail);
			steps_summary(steps, sum, sizeof sum);
			snprintf(logl->detail + len, sizeof logl->detail - len, " steps=%s", sum);
		}
	} else {
		logl->outcome = "queued";
		snprintf(logl->detail, sizeof logl->detail, "why=%s", deliver_why_name(dv->why));
	}
	len = strlen(logl->detail);
	if (dv->dests > 0)
		snprintf(logl->detail + len, sizeof logl->detail - len, " dests=%zu", dv->dests);
	if (dv->fate != DELIVER_DEAD && dv->fate != DELIVER_QUEUED && dv->spool_ok)
		return;
	len = strlen(logl->detail);
	snprintf(logl->detail + len, sizeof logl->detail - len, " spool=%s",
	         !dv->spool_ok ? "failed" : dv->fate == DELIVER_DEAD ? "dead" : "queue");
}

/* A post fmgate can neither deliver nor keep now (with Retry-After). */
static const struct refusal unavailable = { 503, "unavailable",
	"The form cannot be sent right now. Please try again later." };

/* Delivers (sync) or spools (async) a valid submission and answers. */
static void deliver_and_answer(struct app *app, const struct mapping *m,
                               const struct map_form *form, struct submission *sub,
                               bool json, const char *success, struct response *res,
                               struct logline *logl)
{
	static const struct field_error rejected = { "rejected", NULL };
	struct delivery dv;

	deliver_new(app, m, form, sub, &dv);
	log_delivery(&dv, &sub->steps, logl);
	switch (dv.fate) {
	case DELIVER_SENT:
		/* Not kept for the other destinations: not a success either. */
		if (dv.spool_ok) {
			answer_success(res, json, form, success, logl->id);
			return;
		}
		break;
	case DELIVER_FIX: {
		/* The CRM field's type refused a value: the visitor can fix it. */
		const struct field_error inv = { "invalid_value", dv.fm.field };
		answer_errors(res, json, form, &inv, 1);
		return;
	}
	case DELIVER_DEAD:
		/* Kept for the operator (or not: the log says); the visitor learns
		 * a refusal either way. A conflict gets the usual answer: a
		 * different one would tell anybody whose contact an email or a
		 * userId is. Only a failure to keep it is a failure then. A
		 * contact written whose other steps were refused is a success
		 * for the visitor: what is left is the operator's. */
		if (dv.refused) {
			answer_errors(res, json, form, &rejected, 1);
			return;
		}
		/* fall through */
	case DELIVER_QUEUED:
		if (dv.spool_ok) {
			answer_success(res, json, form, success, logl->id);
			return;
		}
		break;
	case DELIVER_LOST:
		break;
	}
	/* Neither delivered nor stored: never reported as a success. */
	answer_status(res, json, form, &unavailable);
	set_header(res, "Retry-After", "60");
}

/* Whether fmgate can deliver at all (its configuration and CRM client are
 * usable); false with a 503 when not. */
static bool check_ready(struct app *app, const struct map_form *form, bool json,
                        struct response *res, struct logline *logl)
{
	if (app_ready(app))
		return true;
	logl->outcome = "unavailable";
	snprintf(logl->detail, sizeof logl->detail, "reason=not-configured");
	answer_status(res, json, form, &unavailable);
	set_header(res, "Retry-After", "60");
	return false;
}

/* The `_next` target when it is safe, else the form's success URL. */
static const char *success_target(const struct map_form *form, const struct form_pairs *pairs)
{
	const struct form_pair *next = form_get(pairs, "_next");

	if (next && form_count(pairs, "_next") == 1 && origin_next_allowed(form, next->value))
		return next->value;
	return form->success_url;
}

/* The checks before the body: 404, 405/204, 403. Returns true to go on. */
static bool check_route(const struct map_form *form, const struct request *req, bool json,
                        struct response *res)
{
	static const struct refusal not_found = { 404, "not_found", "There is no such form." };
	static const struct refusal not_allowed = { 405, "method_not_allowed", "Forms are sent with POST." };
	static const struct refusal forbidden = { 403, "forbidden_origin", "This form cannot be sent from that site." };
	char origin[ORIGIN_MAX];
	bool present = false, parsed = false, allowed = true;
	struct url from;

	if (!form) {
		answer_status(res, json, NULL, &not_found);
		return false;
	}
	/* Without an allow list every origin is welcome: nothing to read. */
	if (form->n_allow_origins) {
		parsed = request_origin(req, &from, &present);
		allowed = !present || (parsed && origin_in_list(form, &from));
		set_header(res, "Vary", "Origin");
		/* Only an Origin header earns CORS headers: a Referer is not a
		 * cross-origin read. */
		if (req->origin && parsed && allowed && url_origin(&from, origin, sizeof origin))
			set_header(res, "Access-Control-Allow-Origin", origin);
	}
	if (req->method && strcmp(req->method, "OPTIONS") == 0 && req->origin &&
	    form->n_allow_origins && parsed && allowed) {
		res->status = 204;
		set_header(res, "Access-Control-Allow-Methods", "POST");
		set_header(res, "Access-Control-Allow-Headers", "Content-Type, Accept");
		set_header(res, "Access-Control-Max-Age", "86400");
		return false;
	}
	if (!req->method || strcmp(req->method, "POST") != 0) {
		answer_status(res, json, form, &not_allowed);
		set_header(res, "Allow", "POST");
		return false;
	}
	if (!allowed) {
		answer_status(res, json, form, &forbidden);
		return false;
	}
	return true;
}

/* The key bytes of a client address: an IPv4 one's 4, an IPv6 one's /64
 * (the smallest network one host is given: rotating the rest of the address
 * escapes nothing; a visitor with a larger prefix has a budget per /64, and
 * the per-form limit bounds them all). */
static size_t client_key(const struct netaddr *a, const unsigned char **key)
{
	if (netaddr_is_v4(a)) {
		*key = a->b + 12;
		return 4;
	}
	*key = a->b;
	return 8;
}

/* The form's <rate-limit>: false, with a 429, when the client's or the
 * form's budget is spent. Nothing is charged then. */
static bool check_rate(struct app *app, const struct mapping *m, const struct map_form *form,
                       const struct request *req, bool json, struct response *res,
                       struct logline *logl)
{
	static const struct refusal limited = { 429, "rate_limited",
		"Too many submissions. Please try again later." };
	static const struct refusal noaddr = { 500, "internal_error", "Internal error." };
	char fkey[LIMIT_MAX_FORM_ID + 3], ikey[LIMIT_MAX_FORM_ID + 3 + 16], retry[24];
	struct throttle_key keys[2] = { { 0 } };
	struct netaddr addr;
	const unsigned char *akey = NULL;
	size_t flen, alen = 0;
	bool have_addr;
	long wait;

	if (!form->rate.per_ip && !form->rate.per_form)
		return true;
	have_addr = request_client_addr(req, &m->settings, &addr);
	/* Only a broken server configuration sends no usable REMOTE_ADDR: said
	 * at once rather than letting every visitor pass the per-address limit. */
	if (!have_addr && form->rate.per_ip) {
		log_msg(LOG_ERR, "REMOTE_ADDR is missing or not an IP address: the per-address "
		        "rate limit cannot apply; check the web server's configuration");
		snprintf(logl->detail, sizeof logl->detail, "reason=\"no client address\"");
		answer_status(res, json, form, &noaddr);
		return false;
	}
	if (!app->throttle) {
		enum throttle_err e;
		char why[300] = "";

		app->throttle = throttle_open(app->config_err == CONFIG_OK ? app->config.spool_dir : NULL,
		                              &e, why, sizeof why);
		if (e == THROTTLE_EIO)
			log_msg(LOG_WARN, "rate limits kept by this process alone: %s", why);
		if (!app->throttle) {
			log_msg(LOG_ERR, "rate limits not applied: %s", throttle_strerror(e));
			return true;
		}
	}
	/* "f:ID" counts the form; "i:ID\0ADDRESS" one client on it. */
	flen = (size_t)snprintf(fkey, sizeof fkey, "f:%s", form->id);
	keys[0] = (struct throttle_key){ fkey, flen, form->rate.per_form, form->rate.window_s };
	if (have_addr) {
		alen = client_key(&addr, &akey);
		memcpy(ikey, fkey, flen + 1);
		ikey[0] = 'i';
		memcpy(ikey + flen + 1, akey, alen);
		keys[1] = (struct throttle_key){ ikey, flen + 1 + alen, form->rate.per_ip,
		                                 form->rate.window_s };
	}
	wait = throttle_take(app->throttle, keys, alen ? 2 : 1, clock_wall_ms());
	if (wait == 0)
		return true;
	logl->outcome = "rate_limited";
	snprintf(logl->detail, sizeof logl->detail, "retry_after=%ld", wait);
	answer_status(res, json, form, &limited);
	snprintf(retry, sizeof retry, "%ld", wait);
	set_header(res, "Retry-After", retry);
	return false;
}

/* The form's honeypot field came back filled: a bot. */
static bool honeypot_filled(const struct map_form *form, const struct form_pairs *pairs)
{
	const struct form_pair *hp = form->honeypot ? form_get(pairs, form->honeypot) : NULL;

	return hp && (hp->too_long || hp->value[strspn(hp->value, " \t\r\n")]);
}

/* The field errors identify found, as the visitor's answer and the log's. */
static void answer_invalid(struct response *res, bool json, const struct map_form *form,
                           const struct id_result *idr, struct logline *logl)
{
	struct field_error errs[LIMIT_MAX_ERRORS];

	for (size_t i = 0; i < idr->n_errors; i++) {
		errs[i].code = id_code_name(idr->errors[i].code);
		errs[i].field = idr->errors[i].field;
	}
	logl->outcome = "invalid";
	snprintf(logl->detail, sizeof logl->detail, "error=%s field=%s", errs[0].code,
	         errs[0].field ? errs[0].field : "-");
	answer_errors(res, json, form, errs, idr->n_errors);
}

/*
 * The form's <captcha>: verified last, after every check that can refuse
 * without the CRM (rate limits, fields, check_ready: a refused post must not
 * spend the single-use token), and before anything is delivered or spooled.
 * True, with context.captcha set, to go on; false with the answer: the
 * field-less error `captcha`, or 503 unless the form accepts submissions
 * its provider could not verify.
 */
static bool check_captcha(const struct map_form *form, const struct form_pairs *pairs,
                          const char *ip, bool json, struct submission *sub,
                          struct response *res, struct logline *logl)
{
	static const struct field_error captcha = { "captcha", NULL };
	const struct map_captcha *c = &form->captcha;
	struct captcha_result r;
	bool ok;

	if (c->provider == MAP_CAPTCHA_NONE)
		return true;
	captcha_check(c, pairs, ip, &r);
	logl->captcha = captcha_verdict_name(r.verdict);
	ok = r.verdict == CAPTCHA_VERIFIED;
	if (ok || (r.verdict == CAPTCHA_UNAVAILABLE && c->accept_unavailable)) {
		sub->ctx.captcha = (struct sub_captcha){ map_captcha_name(c->provider), ok,
		                                         ok && r.has_score, r.score };
		if (!ok)
			log_msg(LOG_WARN, "form=%s captcha unavailable (%s): accepted unverified",
			        form->id, r.why);
		return true;
	}
	logl->id = "-";    /* no message was made */
	snprintf(logl->detail, sizeof logl->detail, "error=captcha field=- why=\"%s\"", r.why);
	if (r.verdict == CAPTCHA_REJECTED) {
		logl->outcome = "invalid";
		answer_errors(res, json, form, &captcha, 1);
		return false;
	}
	logl->outcome = "unavailable";
	answer_status(res, json, form, &unavailable);
	set_header(res, "Retry-After", "60");
	return false;
}

/* The request's log line and its count in the metrics. */
static void record(const struct app *app, const struct map_form *form, const struct logline *logl,
                   const struct response *res, int64_t t0)
{
	log_msg(LOG_INFO, "form=%s outcome=%s status=%d ms=%ld id=%s email=%s %s%s%s",
	        form ? form->id : "-", logl->outcome, res->status, (long)(clock_mono_ms() - t0),
	        logl->id, logl->email, logl->detail, logl->captcha ? " captcha=" : "",
	        logl->captcha ? logl->captcha : "");
	metrics_post(app->config_err == CONFIG_OK ? app->config.spool_dir : NULL,
	             form ? form->id : NULL, logl->outcome, answered_code);
}

void handler_handle(struct app *app, struct request *req, req_read_fn rd, void *rd_ctx,
                    struct response *res)
{
	static const struct refusal unconfigured = { 503, "unavailable", "The form service is not configured." };
	static const struct refusal nomem = { 500, "internal_error", "Internal error." };
	const struct mapping *m = app_current(app);
	const struct map_form *form = NULL;
	bool json = request_wants_json(req);
	struct form_pairs pairs = { 0 };
	struct id_result idr = { 0 };
	struct id_context ctx = { 0 };
	struct logline logl = { .outcome = "refused", .id = "-", .email = "-" };
	const struct refusal *rf = NULL;
	int64_t t0 = clock_mono_ms();
	char ipbuf[NETADDR_TEXT];
	struct netaddr addr;
	enum req_err re;
	enum form_err fe;

	answered_code = NULL;
	if (!m) {
		logl.outcome = "unavailable";
		answer_status(res, json, NULL, &unconfigured);
		goto out;
	}
	form = req->form_id ? mapping_form(m, req->form_id) : NULL;
	if (!check_route(form, req, json, res) || !check_rate(app, m, form, req, json, res, &logl))
		goto out;
	re = request_read_body(req, rd, rd_ctx, m->settings.limits.max_body,
	                       m->settings.read_timeout_ms);
	if (re != REQ_OK) {
		rf = refusal_of_req_err(re);
		snprintf(logl.detail, sizeof logl.detail, "reason=\"%s\"", request_strerror(re));
		goto refuse;
	}
	fe = form_parse(req->content_type, req->body, req->body_len, &m->settings.limits, &pairs);
	if (fe != FORM_OK) {
		rf = refusal_of_form_err(fe);
		snprintf(logl.detail, sizeof logl.detail, "reason=\"%s\"", form_strerror(fe));
		goto refuse;
	}
	if (honeypot_filled(form, &pairs)) {
		/* A fresh id, so the answer looks like any other success. */
		char fake[UUID_STR_SIZE];

		logl.outcome = "honeypot";
		answer_success(res, json, form, form->success_url, uuid_v4(fake) ? fake : "");
		goto out;
	}
	if (request_client_addr(req, &m->settings, &addr))
		ctx.ip = netaddr_format(&addr, ipbuf);
	ctx.user_agent = req->user_agent;
	ctx.page_url = req->referer;
	ctx.cookie_header = req->cookie;
	ctx.accept_language = req->accept_language;
	switch (identify_build(form, &m->settings.limits, &pairs, &ctx, &idr)) {
	case ID_OK:
		logl.id = idr.sub.message_id;
		redact_email(&app->logkey, idr.sub.email, logl.email);
		if (check_ready(app, form, json, res, &logl) &&
		    check_captcha(form, &pairs, ctx.ip, json, &idr.sub, res, &logl))
			deliver_and_answer(app, m, form, &idr.sub, json,
			                   success_target(form, &pairs), res, &logl);
		break;
	case ID_EREFUSED:
		answer_invalid(res, json, form, &idr, &logl);
		break;
	case ID_ENOMEM:
		rf = &nomem;
		goto refuse;
	}
	goto out;
refuse:
	answer_status(res, json, form, rf);
out:
	record(app, form, &logl, res, t0);
	id_result_free(&idr);
	form_pairs_free(&pairs);
}
