/* app.c: the running mapping and its resolved config, a generation at a time. */
#include "app.h"

#include <stdio.h>
#include <string.h>

#include "dest.h"
#include "log.h"

int app_init(struct app *app, const char *mapping_path)
{
	memset(app, 0, sizeof *app);
	app->deliver = fm_deliver;
	app->step = fm_step;
	app->send = dest_send;
	app->config_err = CONFIG_ENOBASE;
	if (mapping_holder_init(&app->mapping, mapping_path) == MAP_ENOMEM)
		return -1;
	return 0;
}

void app_free(struct app *app)
{
	throttle_close(app->throttle);
	fm_client_free(app->fm);
	mapping_holder_free(&app->mapping);
	memset(app, 0, sizeof *app);
}

/* Everything derived from the previous version goes; the new one's config is
 * resolved. */
static void resolve(struct app *app, const struct mapping *m)
{
	fm_client_free(app->fm);
	app->fm = NULL;
	/* The table follows the spool directory: reopened at its next use. */
	throttle_close(app->throttle);
	app->throttle = NULL;
	app->config_gen = app->mapping.generation;
	app->config_err = config_resolve(&m->settings, &app->config, app->config_why,
	                                 sizeof app->config_why);
	if (app->config_err != CONFIG_OK) {
		log_msg(LOG_ERR, "delivery is not configured: %s", app->config_why);
		return;
	}
	spool_init(&app->spool, app->config.spool_dir, m->settings.spool_max_files,
	           m->settings.spool_max_age_days);
	/* A spool others may write is refused before anything goes into it; a
	 * missing one is said when it is first written. */
	if (spool_check_dir(&app->spool) == SPOOL_EUNSAFE) {
		app->config_err = CONFIG_ESPOOL;
		snprintf(app->config_why, sizeof app->config_why, "%.200s", app->spool.why);
		log_msg(LOG_ERR, "delivery is not configured: %s", app->config_why);
		return;
	}
	if (!app->logkey.ready)
		redact_init(&app->logkey, app->config.spool_dir);
	app->fm = fm_client_new(&app->config);
	if (!app->fm)
		log_msg(LOG_ERR, "cannot create the Freshmarketer client");
}

const struct mapping *app_current(struct app *app)
{
	const struct mapping *m = mapping_holder_get(&app->mapping);

	if (m && app->config_gen != app->mapping.generation)
		resolve(app, m);
	return m;
}

bool app_ready(const struct app *app)
{
	return app->config_err == CONFIG_OK && app->fm;
}
