/* main.c: the verbs of the fmgate command, dispatched from one table. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "config.h"
#include "drain.h"
#include "fm_client.h"
#include "fm_state.h"
#include "form.h"
#include "identify.h"
#include "log.h"
#include "mapping.h"
#include "sandbox.h"
#include "server.h"
#include "spool.h"
#include "text.h"

#ifndef FMGATE_VERSION
#define FMGATE_VERSION "dev"
#endif

static int usage(FILE *to)
{
	fputs("usage: fmgate                       FastCGI responder (or one CGI request)\n"
	      "       fmgate serve --listen unix:PATH|HOST:PORT [--workers N] [--user USER]\n"
	      "       fmgate check [MAPPING]\n"
	      "       fmgate try FORM_ID [BODY_FILE]\n"
	      "       fmgate drain [--now | --watch]\n"
	      "       fmgate status [--dead]\n"
	      "       fmgate purge --dead [--older-than DAYS]\n"
	      "       fmgate requeue --dead [ID...]\n"
	      "       fmgate --version\n", to);
	return to == stderr ? 2 : 0;
}

static int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("fmgate %s\n", FMGATE_VERSION);
	return 0;
}

static int cmd_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return usage(stdout);
}

static int cmd_check(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : config_mapping_path();
	struct map_diags diags = { 0 };
	struct mapping *m = NULL;
	enum map_err e;

	if (argc > 2)
		return usage(stderr);
	e = mapping_load(path, &m, &diags);
	map_diags_print(&diags, path, stdout);
	if (e == MAP_OK)
		printf("%s: valid, %zu form%s\n", path, m->n_forms, m->n_forms == 1 ? "" : "s");
	else if (diags.n == 0)
		printf("%s: %s\n", path, map_strerror(e));
	mapping_free(m);
	map_diags_free(&diags);
	return e == MAP_OK ? 0 : 1;
}

/* Reads a whole stream up to max bytes; NULL when larger or unreadable. */
static char *read_stream(FILE *f, size_t max, size_t *len)
{
	char *p = malloc(max + 1);
	size_t n;

	if (!p)
		return NULL;
	n = fread(p, 1, max + 1, f);
	if (ferror(f) || n > max) {
		free(p);
		return NULL;
	}
	p[n] = '\0';
	*len = n;
	return p;
}

static void print_json(const char *title, const cJSON *j)
{
	char *s = cJSON_Print(j);

	printf("%s\n%s\n", title, s ? s : "(out of memory)");
	cJSON_free(s);
}

/* `try`: what a post would become, without sending or storing anything. */
static int cmd_try(int argc, char **argv)
{
	const char *mpath = config_mapping_path();
	struct map_diags diags = { 0 };
	struct mapping *m = NULL;
	const struct map_form *form;
	struct form_pairs pairs = { 0 };
	struct id_result idr = { 0 };
	struct id_context ctx = { 0 };
	struct fm_client *fm = NULL;
	struct fm_result fr;
	struct config cfg;
	char why[256];
	char *body = NULL;
	cJSON *req = NULL;
	size_t len = 0;
	FILE *f = stdin;
	int rc = 2;

	if (argc < 2 || argc > 3)
		return usage(stderr);
	if (mapping_load(mpath, &m, &diags) != MAP_OK) {
		map_diags_print(&diags, mpath, stderr);
		fprintf(stderr, "fmgate try: %s is not a valid mapping\n", mpath);
		goto out;
	}
	form = mapping_form(m, argv[1]);
	if (!form) {
		fprintf(stderr, "fmgate try: no form \"%s\" in %s\n", argv[1], mpath);
		goto out;
	}
	if (argc == 3 && strcmp(argv[2], "-") != 0 && !(f = fopen(argv[2], "rb"))) {
		perror(argv[2]);
		goto out;
	}
	body = read_stream(f, m->settings.limits.max_body, &len);
	if (f != stdin)
		fclose(f);
	if (!body) {
		fprintf(stderr, "fmgate try: body unreadable or over max-body (%zu bytes)\n",
		        m->settings.limits.max_body);
		goto out;
	}
	/* A body file usually ends with a newline that is not part of the form. */
	while (len && (body[len - 1] == '\n' || body[len - 1] == '\r'))
		body[--len] = '\0';
	if (form_parse_urlencoded(body, len, &m->settings.limits, &pairs) != FORM_OK) {
		fprintf(stderr, "fmgate try: the body is not a valid urlencoded form\n");
		goto out;
	}
	rc = 1;
	if (identify_build(form, &m->settings.limits, &pairs, &ctx, &idr) != ID_OK) {
		printf("refused:\n");
		for (size_t i = 0; i < idr.n_errors; i++)
			printf("  %s: %s\n", idr.errors[i].field ? idr.errors[i].field : "userId",
			       id_code_name(idr.errors[i].code));
		goto out;
	}
	rc = 0;
	print_json("identify message:", idr.message);
	if (config_resolve(&m->settings, &cfg, why, sizeof why) == CONFIG_OK)
		fm = fm_client_new(&cfg);
	else
		printf("(delivery not configured: %s)\n", why);
	printf("\nfields (trait -> Freshmarketer field, how: value):\n");
	req = fm_request_explain(fm, idr.message, form, stdout, &fr);
	if (!req) {
		rc = 1;
		printf("refused:\n  %s: %s (%s)\n", fr.field ? fr.field : "-",
		       fr.outcome == FM_INVALID ? "invalid_value" : fm_outcome_name(fr.outcome),
		       fr.message);
		goto out;
	}
	printf("\nrequest:\nPOST %s/contacts/upsert\n"
	       "Authorization: Token token=(hidden)\nContent-Type: application/json\n\n",
	       fm ? cfg.api_base : "{API base}");
	print_json("", req);
out:
	cJSON_Delete(req);
	fm_client_free(fm);
	id_result_free(&idr);
	form_pairs_free(&pairs);
	free(body);
	mapping_free(m);
	map_diags_free(&diags);
	return rc;
}

static int cmd_serve(int argc, char **argv)
{
	struct serve_opts o = { NULL, 0, NULL };
	long long n;

	for (int i = 1; i < argc; i++) {
		if (i + 1 < argc && strcmp(argv[i], "--listen") == 0) {
			o.listen = argv[++i];
		} else if (i + 1 < argc && strcmp(argv[i], "--workers") == 0) {
			if (!text_parse_ll(argv[++i], 1, 256, &n))
				return usage(stderr);
			o.workers = (int)n;
		} else if (i + 1 < argc && strcmp(argv[i], "--user") == 0) {
			o.user = argv[++i];
		} else {
			return usage(stderr);
		}
	}
	if (!o.listen)
		return usage(stderr);
	if (o.workers == 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		o.workers = cpus > 0 && cpus <= 256 ? (int)cpus : 2;
	}
	return server_serve(&o, config_mapping_path());
}

static int cmd_drain(int argc, char **argv)
{
	struct drain_opts o = { false, false };

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--now") == 0)
			o.now = true;
		else if (strcmp(argv[i], "--watch") == 0)
			o.watch = true;
		else
			return usage(stderr);
	}
	/* The service honours backoff; --now is an operator's one-off. */
	if (o.now && o.watch)
		return usage(stderr);
	return drain_run(&o, config_mapping_path());
}

/* The spool of the commands that only look at files: its directory and
 * limits from the mapping when it loads, else from FMGATE_SPOOL or the
 * default. False when the path does not fit. */
static bool cli_spool(struct spool *sp)
{
	const char *mpath = config_mapping_path();
	struct mapping *m = NULL;
	char dir[LIMIT_MAX_URL];
	bool ok;

	if (mapping_load(mpath, &m, NULL) != MAP_OK)
		fprintf(stderr, "fmgate: %s does not load; spool from FMGATE_SPOOL or the default\n",
		        mpath);
	ok = spool_dir_of(m ? &m->settings : NULL, dir, sizeof dir);
	if (ok)
		spool_init(sp, dir, m ? m->settings.spool_max_files : 0,
		           m ? m->settings.spool_max_age_days : 0);
	else
		fprintf(stderr, "fmgate: the spool directory path is too long\n");
	mapping_free(m);
	return ok;
}

/* `status --dead`: one line per dead submission, for requeue and purge. */
static int list_dead(struct spool *sp)
{
	struct spool_list l;

	if (spool_list(sp, SPOOL_DEAD, -1, false, &l) != SPOOL_OK) {
		fprintf(stderr, "fmgate status: %s\n", sp->why);
		return 2;
	}
	for (size_t i = 0; i < l.n; i++) {
		struct spool_item it;
		char name[SPOOL_NAME_SIZE];

		spool_id_name(&l.v[i].id, name);
		if (spool_read(sp, SPOOL_DEAD, &l.v[i].id, &it) != SPOOL_OK) {
			printf("%s (unreadable: %s)\n", l.v[i].id.mid, sp->why);
			continue;
		}
		printf("%s form=%s attempts=%u reason=%s\n", it.id.mid, it.form, it.st.attempts,
		       it.reason);
		spool_item_free(&it);
	}
	spool_list_free(&l);
	return 0;
}

static int cmd_status(int argc, char **argv)
{
	struct spool_stats st;
	struct spool sp;
	bool paused;

	if (argc > 2 || (argc == 2 && strcmp(argv[1], "--dead") != 0))
		return usage(stderr);
	if (!cli_spool(&sp))
		return 2;
	if (spool_stats(&sp, &st) != SPOOL_OK) {
		printf("spool: %s\nunreadable: %s\n", sp.dir, sp.why);
		return 2;
	}
	paused = fm_state_paused(sp.dir);
	printf("spool: %s\nwaiting: %zu\nin flight: %zu\ndead: %zu\noldest: %lld s\npaused: %s\n",
	       sp.dir, st.waiting, st.in_flight, st.dead, st.oldest_s, paused ? "yes" : "no");
	if (argc == 2 && list_dead(&sp) != 0)
		return 2;
	return st.dead || paused ? 1 : 0;
}

static int cmd_purge(int argc, char **argv)
{
	long long days = 0;
	bool dead = false;
	struct spool sp;
	size_t n;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--dead") == 0)
			dead = true;
		else if (i + 1 < argc && strcmp(argv[i], "--older-than") == 0 &&
		         text_parse_ll(argv[i + 1], 1, 36500, &days))
			i++;
		else
			return usage(stderr);
	}
	if (!dead)
		return usage(stderr);
	if (!cli_spool(&sp))
		return 2;
	if (spool_purge_dead(&sp, days * 86400, &n) != SPOOL_OK) {
		fprintf(stderr, "fmgate purge: %s (%zu purged)\n", sp.why, n);
		return 2;
	}
	printf("purged %zu dead submission%s\n", n, n == 1 ? "" : "s");
	return 0;
}

static int cmd_requeue(int argc, char **argv)
{
	struct spool sp;
	size_t total = 0, n;
	int rc = 0;

	if (argc < 2 || strcmp(argv[1], "--dead") != 0)
		return usage(stderr);
	if (!cli_spool(&sp))
		return 2;
	/* Without IDs one round takes every dead submission (want NULL). */
	for (int i = argc == 2 ? 1 : 2; i < argc; i++) {
		enum spool_err e = spool_requeue_dead(&sp, argc == 2 ? NULL : argv[i], &n);

		total += n;
		if (e == SPOOL_ENOENT) {
			fprintf(stderr, "fmgate requeue: no dead submission %s\n", argv[i]);
			rc = rc ? rc : 1;
		} else if (e != SPOOL_OK) {
			fprintf(stderr, "fmgate requeue: %s\n", sp.why);
			rc = 2;
		}
	}
	printf("requeued %zu dead submission%s\n", total, total == 1 ? "" : "s");
	return rc;
}

static const struct verb {
	const char *name;
	int (*run)(int argc, char **argv);
} verbs[] = {
	{ "serve", cmd_serve },
	{ "check", cmd_check },
	{ "try", cmd_try },
	{ "drain", cmd_drain },
	{ "status", cmd_status },
	{ "purge", cmd_purge },
	{ "requeue", cmd_requeue },
	{ "--version", cmd_version },
	{ "version", cmd_version },
	{ "--help", cmd_help },
	{ "help", cmd_help },
};

int main(int argc, char **argv)
{
	enum sandbox_err se;
	int rc;

	/* Before anything is read, for every verb: no program is ever started.
	 * Without seccomp in the kernel fmgate still serves (docs/deploy.md). */
	se = sandbox_enter();
	if (se != SANDBOX_OK && se != SANDBOX_SKIPPED) {
		int why = errno;

		log_msg(LOG_WARN, "no sandbox: %s (%s); going on without it", sandbox_strerror(se),
		        strerror(why));
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	if (argc < 2) {
		rc = server_run_default(config_mapping_path());
	} else {
		const struct verb *v = NULL;

		for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
			if (strcmp(argv[1], verbs[i].name) == 0)
				v = &verbs[i];
		rc = v ? v->run(argc - 1, argv + 1) : usage(stderr);
	}
	curl_global_cleanup();
	return rc;
}
