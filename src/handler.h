/*
 * handler.h: one form post in, one HTTP answer out (docs/behaviour.md, "Answers").
 *
 * The order of checks: mapping loaded (else 503), form id known (404), method
 * (OPTIONS preflight from an allowed origin: 204; anything but POST: 405),
 * Origin/Referer against the form's allow list (403), the form's rate limits
 * (429, counted before the body is read, so a flood costs no parsing), body
 * size, arrival within the read timeout and syntax (413/408/400/415), honeypot (fake success), identify (field errors: 303 to the
 * failure URL, 422), delivery, then the answer: 303 to success once the
 * submission is delivered or safely in the spool; a final refusal is
 * error=rejected (the submission kept in the spool's dead area); a spool that
 * cannot take it is a 503. The status is chosen here, at the top; the stages
 * below only report their own errors.
 *
 * Delivery modes (docs/spool.md). async: spool, answer. sync: under the
 * userId's spool lock, a submission whose userId has an earlier one waiting is
 * spooled behind it; otherwise it is delivered within the budget, and spooled
 * only when Freshmarketer could not take it now. Workers never retry other
 * spooled submissions: that is `fmgate drain`'s work, so a visitor never waits
 * for someone else's submission.
 *
 * Ownership: struct app owns its mapping holder, config, Freshmarketer client
 * spool settings and rate-limit table; app_free() releases them. handler_handle() reads the
 * body through `rd` itself (only when the earlier checks pass) and fills a
 * response the caller initialised and frees.
 */
#ifndef FMGATE_HANDLER_H
#define FMGATE_HANDLER_H

#include <cjson/cJSON.h>

#include "config.h"
#include "fm_client.h"
#include "mapping.h"
#include "redact.h"
#include "request.h"
#include "response.h"
#include "spool.h"
#include "throttle.h"

typedef void (*deliver_fn)(struct fm_client *c, const cJSON *identify,
                           const struct map_form *form, unsigned budget_ms,
                           struct fm_result *out);

struct app {
	struct mapping_holder mapping;
	const struct mapping *config_of;  /* the mapping the config was resolved from */
	struct config config;
	enum config_err config_err;
	char config_why[256];
	struct fm_client *fm;
	struct spool spool;               /* set with the config */
	struct redact logkey;             /* for the email hash of log lines */
	struct throttle *throttle;        /* <rate-limit> budgets; opened at first use */
	deliver_fn deliver;               /* fm_deliver; fuzzers put a stub here */
};

/* Loads the mapping (a failure is logged; requests then get 503 until a good
 * version appears). Returns 0, or -1 when out of memory. */
int app_init(struct app *app, const char *mapping_path);
void app_free(struct app *app);

/*
 * The current mapping (reloaded when its file changed), with the config,
 * client and spool resolved from it; NULL when no version ever loaded. Delivery
 * is possible when app->config_err is CONFIG_OK and app->fm is not NULL. For
 * `fmgate drain`, which shares this set-up with the workers.
 */
const struct mapping *app_current(struct app *app);

void handler_handle(struct app *app, struct request *req, req_read_fn rd,
                    void *rd_ctx, struct response *res);

#endif
