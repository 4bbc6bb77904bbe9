/*
 * app.h: the running mapping and what is resolved from it, one generation at
 * a time: the config (environment over the mapping's settings), the
 * Freshmarketer client, the spool settings, the log key and the form rate
 * limits' table. Shared by the request path (handler) and `fmgate drain`.
 *
 * app_current() follows the mapping file (mapping_holder_get) and resolves
 * the rest again exactly when a new version loaded: the holder's generation
 * moved on. A version that leaves delivery unconfigured is logged once.
 *
 * Ownership: struct app owns its mapping holder, config, client, spool
 * settings and rate-limit table; app_free() releases them.
 */
#ifndef FMGATE_APP_H
#define FMGATE_APP_H

#include "config.h"
#include "fm_client.h"
#include "mapping.h"
#include "redact.h"
#include "spool.h"
#include "submission.h"
#include "throttle.h"

typedef void (*deliver_fn)(struct fm_client *c, const struct submission *sub,
                           const struct map_form *form, unsigned budget_ms,
                           struct fm_result *out);

/* One step beyond the contact (fm_step in fm_client.h). */
typedef void (*step_fn)(struct fm_client *c, struct step *step, long long contact_id,
                        const struct fm_links *links, unsigned budget_ms,
                        struct fm_result *out);

/* One destination besides Freshmarketer (dest_send in dest.h). */
typedef void (*dest_fn)(const struct map_settings *s, const struct map_form *form,
                        const struct map_dest *d, const cJSON *identify, unsigned budget_ms,
                        struct fm_result *out);

struct app {
	struct mapping_holder mapping;
	unsigned long config_gen;         /* the mapping generation config is of; 0: none */
	struct config config;
	enum config_err config_err;
	char config_why[256];
	struct fm_client *fm;
	struct spool spool;               /* set with the config */
	struct redact logkey;             /* for the email hash of log lines */
	struct throttle *throttle;        /* <rate-limit> budgets; opened at first use */
	deliver_fn deliver;               /* fm_deliver; fuzzers put a stub here */
	step_fn step;                     /* fm_step; the same */
	dest_fn send;                     /* dest_send; the same */
};

/* Loads the mapping (a failure is logged; requests then get 503 until a good
 * version appears). Returns 0, or -1 when out of memory. */
int app_init(struct app *app, const char *mapping_path);
void app_free(struct app *app);

/*
 * The current mapping, with the config, client and spool resolved from it;
 * NULL when no version ever loaded. Delivery is possible when app_ready().
 */
const struct mapping *app_current(struct app *app);

/* The config resolved and the client made: delivery can be tried. */
bool app_ready(const struct app *app);

#endif
