/* test_app: the running mapping's config is resolved once per loaded version. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app.h"
#include "t.h"
#include "tfiles.h"

static char dir[] = "/tmp/fmgate-app-XXXXXX";
static char path[600];

/* A version whose API base ends in `tail`; `pad` changes its size, so the
 * holder sees a new file even within one mtime tick. */
static bool write_version(const char *tail, const char *pad)
{
	char text[2048];

	snprintf(text, sizeof text,
	         "<fmgate>\n<settings><freshmarketer api-base=\"http://127.0.0.1:9/%s\" "
	         "api-key-file=\"%s/key\"/><spool dir=\"%s\"/></settings>\n"
	         "<form id=\"f%s\"><redirect success=\"/\"/><user-id><from-email/></user-id>\n"
	         "<field name=\"e\" trait=\"email\" type=\"email\"/></form>\n</fmgate>\n<!--%s-->\n",
	         tail, dir, dir, tail, pad);
	return t_write(path, text, 0644);
}

static bool base_is(const struct app *app, const char *tail)
{
	char want[128];

	snprintf(want, sizeof want, "http://127.0.0.1:9/%s", tail);
	return app_ready(app) && strcmp(app->config.api_base, want) == 0;
}

/* Reloads through the holder alone, as a request refused before delivery
 * does: nothing is resolved then. */
static void reload_quietly(struct app *app)
{
	app->mapping.checked_at = 0;
	mapping_holder_get(&app->mapping);
}

static void test_generations(void)
{
	char keyp[640];
	struct app app;
	const struct fm_client *fm;

	t_unset_config_env();
	T(mkdtemp(dir) != NULL, "temp dir");
	snprintf(path, sizeof path, "%s/forms.xml", dir);
	snprintf(keyp, sizeof keyp, "%s/key", dir);
	T(t_write(keyp, "test-key\n", 0600), "key written");
	T(write_version("a", ""), "v1 written");
	T(app_init(&app, path) == 0, "init");
	T(app_current(&app) != NULL && base_is(&app, "a"), "v1 resolved: %s", app.config.api_base);
	fm = app.fm;
	app.mapping.checked_at = 0;
	T(app_current(&app) != NULL && app.fm == fm, "unchanged file: nothing resolved again");

	/* Two versions load while nothing asks for the config. A new version
	 * can sit where a freed one was: only the generation tells. */
	T(write_version("bb", "x"), "v2 written");
	reload_quietly(&app);
	T(write_version("ccc", "xx"), "v3 written");
	reload_quietly(&app);
	T(app.mapping.generation == 3, "three versions loaded");
	app.mapping.checked_at = 0;
	T(app_current(&app) != NULL && base_is(&app, "ccc"), "the newest version's config: %s",
	  app.config.api_base);
	T(app.config_gen == 3, "resolved for generation 3");

	/* A broken version keeps the last good one, and its config. */
	T(t_write(path, "<fmgate>", 0644), "broken version written");
	fm = app.fm;
	app.mapping.checked_at = 0;
	T(app_current(&app) != NULL && app.fm == fm && base_is(&app, "ccc"),
	  "a broken version changes nothing");
	app_free(&app);
	T(t_remove_tree(dir), "temp dir removed");
}

int main(void)
{
	test_generations();
	T_DONE();
}
