/* main.c: the verbs of the fmgate command, dispatched from one table. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "buf.h"
#include "cli.h"
#include "config.h"
#include "consent.h"
#include "drain.h"
#include "dest.h"
#include "escape.h"
#include "fieldtype.h"
#include "fields_print.h"
#include "fm_client.h"
#include "fm_body.h"
#include "fm_state.h"
#include "form.h"
#include "identify.h"
#include "io.h"
#include "log.h"
#include "mapping.h"
#include "metrics.h"
#include "sandbox.h"
#include "server.h"
#include "setup_check.h"
#include "spool.h"
#include "statedir.h"
#include "steps.h"
#include "text.h"

#ifndef FMGATE_VERSION
#define FMGATE_VERSION "dev"
#endif

#define COUNT(a) (sizeof (a) / sizeof (a)[0])
/* A text of the spool or the API as a command shows it, escaped (6 bytes a
 * byte at most: \u0001): the longest is an error naming a path. */
#define STATUS_SHOWN_MAX (6u * (SPOOL_PATH_MAX + 128u) + 1u)

/* s as a terminal may show it (escape.h), in b; cut short when it does not
 * fit. */
static const char *shown(struct buf *b, const char *s)
{
	buf_free(b);
	buf_init(b, STATUS_SHOWN_MAX);
	esc_terminal(b, s);   /* what does not fit is left out */
	return buf_str(b);
}

static int usage(FILE *to)
{
	fputs("usage: fmgate                       FastCGI responder (or one CGI request)\n"
	      "       fmgate serve --listen unix:PATH|HOST:PORT [--workers N] [--user USER]\n"
	      "       fmgate check [--online] [MAPPING]\n"
	      "       fmgate fields [--json]\n"
	      "       fmgate try [--strict] FORM_ID [BODY_FILE]\n"
	      "       fmgate drain [--now | --watch]\n"
	      "       fmgate status [--dead | --json]\n"
	      "       fmgate metrics [--out FILE]\n"
	      "       fmgate purge --dead [--older-than DAYS]\n"
	      "       fmgate requeue --dead [--to DESTINATION] [ID...]\n"
	      "       fmgate consent EMAIL\n"
	      "       fmgate forget EMAIL\n"
	      "       fmgate --version\n"
	      "Every verb takes --config MAPPING (default: $FMGATE_CONFIG, else "
	      CONFIG_DEFAULT_MAPPING ").\n", to);
	return to == stderr ? 2 : 0;
}

/* A verb's options (cli.h); on an error says which, for the usage to follow. */
static bool parse_opts(int argc, char **argv, const struct cli_opt *opts, size_t n_opts,
                       char **operands, size_t max_operands, size_t *n_operands)
{
	const char *bad = NULL;
	enum cli_err e = cli_parse(argc, argv, opts, n_opts, operands, max_operands,
	                           n_operands, &bad);

	if (e != CLI_OK)
		fprintf(stderr, "fmgate %s: %s: %s\n", argv[0], cli_strerror(e), bad);
	return e == CLI_OK;
}

/* --config over FMGATE_CONFIG over the default. */
static const char *mapping_path(const char *opt)
{
	return opt ? opt : config_mapping_path();
}

/*
 * try, fields and check --online write nothing to the spool, and may run as
 * a user who cannot reach it: without a spool the client keeps its state in
 * memory and neither creates SPOOL/state nor warns about it. The field list
 * is then fetched from the API, never taken from the spool's cache.
 */
static void keep_off_spool(struct config *cfg)
{
	cfg->spool_dir[0] = '\0';
}

/* Why no field list could be had (the result's message never holds the key;
 * it is the API's text, escaped). */
static void print_no_fields(FILE *to, const char *prefix, const struct fm_result *r)
{
	struct buf b;

	buf_init(&b, STATUS_SHOWN_MAX);
	if (r->outcome == FM_PAUSED)
		fprintf(to, "%s: Freshmarketer refused the API key or domain (HTTP %ld: %s)\n",
		        prefix, r->http_status, shown(&b, r->message));
	else
		fprintf(to, "%s: no field list: Freshmarketer is unreachable or failing (%s)\n",
		        prefix, shown(&b, r->message));
	buf_free(&b);
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

/*
 * check --online, lists: each <list> without create="true" must name a list
 * the CRM has (fetched now). Returns the problems found; a failed fetch is
 * one, printed once.
 */
static size_t check_lists(struct fm_client *fm, const struct mapping *m, const char *path)
{
	size_t problems = 0;

	for (size_t i = 0; i < m->n_forms; i++) {
		const struct map_form *f = &m->forms[i];

		for (size_t j = 0; j < f->n_lists; j++) {
			struct fm_result fr;
			int has;

			if (f->lists[j].create)
				continue;
			has = fm_client_list_exists(fm, f->lists[j].name, &fr);
			if (has < 0) {
				struct buf b;

				buf_init(&b, STATUS_SHOWN_MAX);
				printf("%s: the marketing lists could not be read: %s (%s)\n", path,
				       fm_outcome_name(fr.outcome), shown(&b, fr.message));
				buf_free(&b);
				return problems + 1;
			}
			if (has == 0) {
				printf("%s:%d: form \"%s\": no list named \"%s\" in the CRM (create it, "
				       "or add create=\"true\")\n", path, f->lists[j].line, f->id,
				       f->lists[j].name);
				problems++;
			}
		}
	}
	return problems;
}

/*
 * check --online: the key file, the key, and every form against the field
 * list fetched now (setup_check.h) and the marketing lists. Problems go to stdout as "file: message"
 * or "file:line: message"; returns the exit status.
 */
static int check_online(const struct mapping *m, const char *path)
{
	const char *key_file = config_key_file(&m->settings);
	const struct fm_fields *fields;
	struct fm_client *fm = NULL;
	struct config cfg = { 0 };
	struct fm_result fr;
	enum config_err ce;
	enum setup_err se;
	size_t problems = 0, n = 0;
	char why[256];

	if (key_file)
		problems = setup_check_key_file(key_file, stdout);
	if ((ce = config_resolve(&m->settings, &cfg, why, sizeof why)) != CONFIG_OK) {
		/* A key file refused by the secret rule was just reported. */
		if (!(problems && ce == CONFIG_EKEYFILE))
			printf("%s: delivery not configured: %s\n", path, why);
		problems++;
		goto out;
	}
	keep_off_spool(&cfg);
	if (!(fm = fm_client_new(&cfg))) {
		printf("%s: cannot start the Freshmarketer client (out of memory)\n", path);
		problems++;
		goto out;
	}
	if (!(fields = fm_client_fields(fm, &fr))) {
		print_no_fields(stdout, path, &fr);
		problems++;
		goto out;
	}
	se = setup_check_forms(m, path, fields, stdout, &n);
	problems += n + check_lists(fm, m, path);
	if (se != SETUP_OK) {
		printf("%s: %s\n", path, setup_strerror(se));
		problems++;
	} else if (!problems) {
		printf("%s: online: the API key works and every trait reaches one of the %zu "
		       "Freshmarketer fields\n", path, fields->n);
	}
out:
	fm_client_free(fm);
	explicit_bzero(cfg.api_key, sizeof cfg.api_key);
	return problems ? 1 : 0;
}

/* `check`: the spool directory, when it exists, is the process's alone
 * (spool_check_dir); what is wrong is printed. */
static bool check_spool_dir(const struct mapping *m)
{
	char dir[LIMIT_MAX_URL];
	struct spool sp;

	if (!spool_dir_of(&m->settings, dir, sizeof dir))
		return true;   /* config_resolve says it (check --online) */
	spool_init(&sp, dir, 0, 0);
	if (spool_check_dir(&sp) != SPOOL_EUNSAFE)
		return true;
	printf("%s\n", sp.why);
	return false;
}

static int cmd_check(int argc, char **argv)
{
	const char *config = NULL, *path;
	bool online = false;
	const struct cli_opt opts[] = {
		{ "--config", &config, NULL },
		{ "--online", NULL, &online },
	};
	struct map_diags diags = { 0 };
	struct mapping *m = NULL;
	char *operand[1];
	size_t n;
	enum map_err e;
	int rc;

	if (!parse_opts(argc, argv, opts, COUNT(opts), operand, COUNT(operand), &n))
		return usage(stderr);
	if (n && config) {
		fprintf(stderr, "fmgate check: two mappings: --config %s and %s\n", config, operand[0]);
		return usage(stderr);
	}
	path = n ? operand[0] : mapping_path(config);
	e = mapping_load(path, &m, &diags);
	map_diags_print(&diags, path, stdout);
	if (e == MAP_OK) {
		setup_check_timeouts(m, path, stdout);
		setup_check_env(&m->settings, path, stdout);
		printf("%s: valid, %zu form%s\n", path, m->n_forms, m->n_forms == 1 ? "" : "s");
	} else if (diags.n == 0)
		printf("%s: %s\n", path, map_strerror(e));
	rc = e == MAP_OK ? 0 : 1;
	if (rc == 0 && !check_spool_dir(m))
		rc = 1;
	if (rc == 0 && online)
		rc = check_online(m, path);
	mapping_free(m);
	map_diags_free(&diags);
	return rc;
}

/* `fields`: the account's contact fields, fetched now. */
static int cmd_fields(int argc, char **argv)
{
	const char *config = NULL, *path;
	bool json = false;
	const struct cli_opt opts[] = {
		{ "--config", &config, NULL },
		{ "--json", NULL, &json },
	};
	const struct fm_fields *fields;
	struct mapping *m = NULL;
	struct fm_client *fm = NULL;
	struct config cfg = { 0 };
	struct fm_result fr;
	enum fields_print_err pe;
	char why[256];
	size_t n;
	int rc = 2;

	if (!parse_opts(argc, argv, opts, COUNT(opts), NULL, 0, &n))
		return usage(stderr);
	path = mapping_path(config);
	/* The environment alone may configure the API, as for status. */
	if (mapping_load(path, &m, NULL) != MAP_OK)
		fprintf(stderr, "fmgate fields: %s does not load; settings from the environment "
		        "alone\n", path);
	if (config_resolve(m ? &m->settings : NULL, &cfg, why, sizeof why) != CONFIG_OK) {
		fprintf(stderr, "fmgate fields: %s\n", why);
		goto out;
	}
	keep_off_spool(&cfg);
	rc = 1;
	if (!(fm = fm_client_new(&cfg))) {
		fprintf(stderr, "fmgate fields: cannot start the Freshmarketer client (out of memory)\n");
		goto out;
	}
	if (!(fields = fm_client_fields(fm, &fr))) {
		print_no_fields(stderr, "fmgate fields", &fr);
		goto out;
	}
	pe = json ? fields_print_json(fields, stdout) : fields_print_table(fields, stdout);
	if (pe != FIELDS_PRINT_OK) {
		fprintf(stderr, "fmgate fields: %s\n", fields_print_strerror(pe));
		goto out;
	}
	rc = 0;
out:
	fm_client_free(fm);
	explicit_bzero(cfg.api_key, sizeof cfg.api_key);
	mapping_free(m);
	return rc;
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

/* try --strict: the traits a delivery would leave out. */
static void count_left_out(void *ud, enum fmb_event ev, const char *trait, const char *field,
                           const cJSON *value)
{
	size_t *n = ud;

	(void)trait;
	(void)field;
	(void)value;
	/* An unchecked box sends nothing by design; a refused value fails the
	 * dry run itself. */
	*n += ev == FMB_DROP_NO_FIELD || ev == FMB_DROP_PRIVILEGED || ev == FMB_DROP_IDENTITY ||
	      ev == FMB_DROP_TAKEN || ev == FMB_DROP_NO_LIST;
}

/* What try --strict found; printed after the dry run. */
struct strict_found {
	bool checked;            /* --strict was given */
	bool unconfigured;       /* no client: no field list */
	bool no_list;            /* the API gave no field list: fr says why */
	struct fm_result fr;
	size_t left_out;         /* traits a delivery would leave out */
	bool nomem;
};

/*
 * try --strict, before the dry run: fetches the field list now (the dry run
 * then uses the same copy, there being no spool cache) and places the traits
 * on it as a delivery would.
 */
static void try_strict(struct fm_client *fm, const struct submission *sub,
                       struct strict_found *s)
{
	const struct fm_fields *fields = NULL;
	struct fmb_report rep = { .note = count_left_out, .ud = &s->left_out };
	cJSON *body = NULL;

	s->checked = true;
	s->unconfigured = !fm;
	s->no_list = fm && !(fields = fm_client_fields(fm, &s->fr));
	s->nomem = fm_body_build(sub, fields, FMB_KEY_EXTERNAL_ID, &rep, &body) == FMB_ENOMEM;
	cJSON_Delete(body);
}

/* The verdict of --strict: 0 when every trait reaches a field, else 1. */
static int strict_verdict(const struct strict_found *s)
{
	printf("\n");
	if (s->unconfigured)
		printf("strict: no field list: delivery not configured\n");
	if (s->no_list)
		print_no_fields(stdout, "strict", &s->fr);
	if (s->nomem)
		printf("strict: out of memory\n");
	if (s->left_out)
		printf("strict: %zu trait%s left out (see above)\n", s->left_out,
		       s->left_out == 1 ? "" : "s");
	if (s->unconfigured || s->no_list || s->nomem || s->left_out)
		return 1;
	printf("strict: every trait reaches a field\n");
	return 0;
}

/* The body of `try`: from the file, or standard input for none or "-",
 * without the final line break a file usually ends with. NULL when unreadable
 * or over max bytes (said on stderr). */
static char *try_body(const char *file, size_t max, size_t *len)
{
	FILE *f = stdin;
	char *body;

	if (file && strcmp(file, "-") != 0 && !(f = fopen(file, "rb"))) {
		perror(file);
		return NULL;
	}
	body = read_stream(f, max, len);
	if (f != stdin)
		fclose(f);
	if (!body) {
		fprintf(stderr, "fmgate try: body unreadable or over max-body (%zu bytes)\n", max);
		return NULL;
	}
	while (*len && (body[*len - 1] == '\n' || body[*len - 1] == '\r'))
		body[--*len] = '\0';
	return body;
}

/* Every call the submission makes, in order, when the contact's email is
 * nobody else's (docs/freshmarketer.md has the calls of the other cases). */
static void try_calls(struct fm_client *fm, const struct submission *sub, bool links)
{
	printf("\ncalls, in order:\n");
	if (!submission_trusted(sub))
		printf("  %-48s (the userId is not signed: its contact is read first)\n",
		       "GET /lookup?f=external_id&entities=contact&q=..");
	printf("  %-48s (the request above)\n",
	       links ? "POST /contacts/upsert" FM_INCLUDE_LINKS : "POST /contacts/upsert");
	for (size_t i = 1; i < sub->steps.n; i++)
		fm_step_describe(fm, &sub->steps.v[i], stdout);
}

/* `try`: each other destination's request, secrets hidden. */
static void try_dests(const struct map_settings *settings, const struct map_form *form,
                      const cJSON *msg)
{
	for (size_t i = 0; i < form->n_dests; i++) {
		const struct map_dest *d = &form->dests[i];

		printf("\nto %s (%s), on its own after the answer:\n", d->name,
		       map_dest_kind_name(d->kind));
		dest_describe(settings, form, d, msg, stdout);
	}
}

/* `try`, once the post is accepted: the request it would send and every call,
 * with `strict` the verdict on traits left out. 0, or 1 when refused (or
 * strict finds one). */
static int try_request(const struct map_settings *settings, const struct map_form *form,
                       const struct submission *sub, const cJSON *msg, bool strict)
{
	struct strict_found st = { 0 };
	struct config cfg = { 0 };
	struct fm_client *fm = NULL;
	struct fm_result fr;
	struct buf b;
	cJSON *req = NULL;
	char why[256];
	int rc = 1;
	bool links = steps_pending_kind(&sub->steps, STEP_ACCOUNT);

	buf_init(&b, STATUS_SHOWN_MAX);
	if (config_resolve(settings, &cfg, why, sizeof why) == CONFIG_OK) {
		keep_off_spool(&cfg);
		fm = fm_client_new(&cfg);
	} else {
		printf("(delivery not configured: %s)\n", why);
	}
	if (strict)
		try_strict(fm, sub, &st);
	printf("\nfields (trait -> Freshmarketer field, how: value):\n");
	req = fm_request_explain(fm, sub, form, stdout, &fr);
	if (!req) {
		printf("refused:\n  %s: %s (%s)\n", fr.field ? fr.field : "-",
		       fr.outcome == FM_INVALID ? "invalid_value" : fm_outcome_name(fr.outcome),
		       shown(&b, fr.message));
		goto out;
	}
	printf("\nrequest:\nPOST %s/contacts/upsert%s\n"
	       "Authorization: Token token=(hidden)\nContent-Type: application/json\n\n",
	       fm ? cfg.api_base : "{API base}", links ? FM_INCLUDE_LINKS : "");
	print_json("", req);
	try_calls(fm, sub, links);
	try_dests(settings, form, msg);
	rc = st.checked ? strict_verdict(&st) : 0;
out:
	buf_free(&b);
	cJSON_Delete(req);
	fm_client_free(fm);
	explicit_bzero(cfg.api_key, sizeof cfg.api_key);
	return rc;
}

/* `try`: what a post would become, without sending or storing anything. */
static int cmd_try(int argc, char **argv)
{
	const char *config = NULL, *mpath;
	bool strict = false;
	const struct cli_opt opts[] = {
		{ "--config", &config, NULL },
		{ "--strict", NULL, &strict },
	};
	struct map_diags diags = { 0 };
	struct mapping *m = NULL;
	const struct map_form *form;
	struct form_pairs pairs = { 0 };
	struct id_result idr = { 0 };
	struct id_context ctx = { 0 };
	char *body = NULL, *operand[2];
	cJSON *msg = NULL;
	size_t len = 0, n;
	int rc = 2;

	if (!parse_opts(argc, argv, opts, COUNT(opts), operand, COUNT(operand), &n) || n == 0)
		return usage(stderr);
	mpath = mapping_path(config);
	if (mapping_load(mpath, &m, &diags) != MAP_OK) {
		map_diags_print(&diags, mpath, stderr);
		fprintf(stderr, "fmgate try: %s is not a valid mapping\n", mpath);
		goto out;
	}
	form = mapping_form(m, operand[0]);
	if (!form) {
		fprintf(stderr, "fmgate try: no form \"%s\" in %s\n", operand[0], mpath);
		goto out;
	}
	if (!(body = try_body(n == 2 ? operand[1] : NULL, m->settings.limits.max_body, &len)))
		goto out;
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
	if (!(msg = submission_message(&idr.sub))) {
		fprintf(stderr, "fmgate try: out of memory\n");
		goto out;
	}
	print_json("identify message:", msg);
	rc = try_request(&m->settings, form, &idr.sub, msg, strict);
out:
	cJSON_Delete(msg);
	id_result_free(&idr);
	form_pairs_free(&pairs);
	free(body);
	mapping_free(m);
	map_diags_free(&diags);
	return rc;
}

static int cmd_serve(int argc, char **argv)
{
	const char *config = NULL, *workers = NULL;
	struct serve_opts o = { NULL, 0, NULL };
	const struct cli_opt opts[] = {
		{ "--config", &config, NULL },
		{ "--listen", &o.listen, NULL },
		{ "--workers", &workers, NULL },
		{ "--user", &o.user, NULL },
	};
	long long w;
	size_t n;

	if (!parse_opts(argc, argv, opts, COUNT(opts), NULL, 0, &n) || !o.listen)
		return usage(stderr);
	if (workers) {
		if (!text_parse_ll(workers, 1, 256, &w))
			return usage(stderr);
		o.workers = (int)w;
	} else {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		o.workers = cpus > 0 && cpus <= 256 ? (int)cpus : 2;
	}
	return server_serve(&o, mapping_path(config));
}

/* The spool of the commands: its directory and limits from the mapping when
 * it loads, else from FMGATE_SPOOL or the default. Run as root, the process
 * becomes the spool's owner (spool_become_owner). False when the path does
 * not fit, the directory is unsafe or its owner cannot be become. */
static bool cli_spool(const char *mpath, struct spool *sp)
{
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
	/* Files others could have planted are not read (a missing spool is
	 * the command's to report). */
	if (ok && (spool_check_dir(sp) == SPOOL_EUNSAFE || spool_become_owner(sp) != SPOOL_OK)) {
		fprintf(stderr, "fmgate: %s\n", sp->why);
		ok = false;
	}
	mapping_free(m);
	return ok;
}

static int cmd_drain(int argc, char **argv)
{
	const char *config = NULL;
	struct drain_opts o = { false, false };
	struct spool sp;
	const struct cli_opt opts[] = {
		{ "--config", &config, NULL },
		{ "--now", NULL, &o.now },
		{ "--watch", NULL, &o.watch },
	};
	size_t n;

	/* The service honours backoff; --now is an operator's one-off. */
	if (!parse_opts(argc, argv, opts, COUNT(opts), NULL, 0, &n) || (o.now && o.watch))
		return usage(stderr);
	/* An administrator's `drain --now` as root works as the spool's owner. */
	if (!cli_spool(mapping_path(config), &sp))
		return 2;
	return drain_run(&o, mapping_path(config));
}

/* The steps of a record as one word list (steps.h); "unreadable" when they
 * do not read as steps. */
static const char *steps_line(const cJSON *json, char *out, size_t size)
{
	struct steps st;

	if (steps_from_json(json, &st) != STEPS_OK)
		return "unreadable";
	steps_summary(&st, out, size);
	steps_free(&st);
	return out;
}

/* One dead submission: its line, then its history a line an event. */
static void print_dead(const struct spool_item *it, struct buf *b1, struct buf *b2)
{
	char sum[512];

	if (it->id.dest[0])
		printf("%s form=%s to=%s attempts=%u reason=%s\n", it->id.mid, shown(b1, it->form),
		       it->id.dest, it->st.attempts, shown(b2, it->reason));
	else
		printf("%s form=%s to=%s attempts=%u steps=%s reason=%s\n", it->id.mid,
		       shown(b1, it->form), MAP_CRM_NAME, it->st.attempts,
		       steps_line(it->steps, sum, sizeof sum), shown(b2, it->reason));
	for (unsigned i = 0; i < it->n_history; i++)
		printf("  history time=%s reason=%s\n", shown(b1, it->history[i].time),
		       shown(b2, it->history[i].reason));
}

/* `status --dead`: one line per dead submission (and its history), for
 * requeue and purge. Texts from the API or the files are escaped. */
static int list_dead(struct spool *sp)
{
	struct buf b1, b2;
	struct spool_list l;

	if (spool_list(sp, SPOOL_DEAD, -1, false, &l) != SPOOL_OK) {
		fprintf(stderr, "fmgate status: %s\n", sp->why);
		return 2;
	}
	buf_init(&b1, STATUS_SHOWN_MAX);
	buf_init(&b2, STATUS_SHOWN_MAX);
	for (size_t i = 0; i < l.n; i++) {
		struct spool_item it;

		if (spool_read(sp, SPOOL_DEAD, &l.v[i].id, &it) != SPOOL_OK) {
			printf("%s (unreadable: %s)\n", l.v[i].id.mid, shown(&b1, sp->why));
			continue;
		}
		print_dead(&it, &b1, &b2);
		spool_item_free(&it);
	}
	buf_free(&b1);
	buf_free(&b2);
	spool_list_free(&l);
	return 0;
}

/* How contacts are keyed, as delivery last found out (fm_state.h). */
static void print_key_mode(const char *spool_dir)
{
	char when[32] = "?";
	struct tm tm;
	time_t since;

	if (fm_state_key_mode_of(spool_dir, &since) == FM_KEY_MODE_EXTERNAL_ID) {
		puts("identity key: external_id");
		return;
	}
	if (since && gmtime_r(&since, &tm))
		strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("identity key: emails (the account refuses external_id as key, since %s)\n", when);
}

/* The gauges of the metrics from the spool and the delivery state; the
 * spool's as -1 when it cannot be read. */
static void gauges_of(struct spool *sp, const struct spool_stats *st, bool stats_ok,
                      struct metrics_gauges *g)
{
	*g = (struct metrics_gauges){ -1, -1, -1, -1, fm_state_paused(sp->dir), -1, -1 };
	if (stats_ok) {
		g->waiting = (long long)st->waiting;
		g->in_flight = (long long)st->in_flight;
		g->dead = (long long)st->dead;
		g->oldest_s = st->oldest_s;
	}
	fm_state_rl_left(sp->dir, &g->hour_left, &g->minute_left);
}

/* One warning for each part of the metrics file a print left out
 * (docs/metrics.md): the rest is printed all the same. */
static void warn_left_out(const char *verb, const char *spool_dir,
                          const struct metrics_left_out *left)
{
	if (left->layout)
		fprintf(stderr, "fmgate %s: warning: %s/%s/%s is of another layout (another fmgate "
		        "version's); its counters are left out\n", verb, spool_dir, STATEDIR_NAME,
		        METRICS_FILE);
	if (left->names)
		fprintf(stderr, "fmgate %s: warning: %s/%s/%s: %zu counter slot(s) left out, their "
		        "names not ones a mapping allows (a damaged file?)\n", verb, spool_dir,
		        STATEDIR_NAME, METRICS_FILE, left->names);
}

/* `status --json`: the metrics' numbers, and what `status` shows besides. */
static int status_json(struct spool *sp, const struct spool_stats *st, bool stats_ok)
{
	struct metrics_left_out left;
	struct metrics_gauges g;
	enum metrics_err e;
	cJSON *o, *by;
	char *s = NULL;
	time_t since;
	bool ok;

	gauges_of(sp, st, stats_ok, &g);
	if (!(o = metrics_json(sp->dir, &g, &left, &e))) {
		fprintf(stderr, "fmgate status: %s\n", metrics_strerror(e));
		return 2;
	}
	warn_left_out("status", sp->dir, &left);
	ok = cJSON_AddStringToObject(o, "spool_dir", sp->dir) &&
	     cJSON_AddStringToObject(o, "identity_key",
	                             fm_state_key_mode_of(sp->dir, &since) == FM_KEY_MODE_EXTERNAL_ID
	                                     ? "external_id" : "emails") &&
	     (by = cJSON_AddArrayToObject(o, "by_destination")) != NULL;
	for (size_t i = 0; ok && stats_ok && i < st->n_dests; i++) {
		cJSON *d = cJSON_CreateObject();

		ok = d && cJSON_AddItemToArray(by, d) &&
		     cJSON_AddStringToObject(d, "destination", st->by_dest[i].dest[0]
		                                 ? st->by_dest[i].dest : MAP_CRM_NAME) &&
		     cJSON_AddNumberToObject(d, "waiting", (double)st->by_dest[i].waiting) &&
		     cJSON_AddNumberToObject(d, "dead", (double)st->by_dest[i].dead);
	}
	if (ok && (s = cJSON_Print(o)) != NULL)
		puts(s);
	cJSON_free(s);
	cJSON_Delete(o);
	if (!s) {
		fprintf(stderr, "fmgate status: out of memory\n");
		return 2;
	}
	return !stats_ok ? 2 : st->dead || g.paused ? 1 : 0;
}

static int cmd_status(int argc, char **argv)
{
	const char *config = NULL;
	bool dead = false, json = false;
	const struct cli_opt opts[] = {
		{ "--config", &config, NULL },
		{ "--dead", NULL, &dead },
		{ "--json", NULL, &json },
	};
	struct spool_stats st;
	struct spool sp;
	bool paused;
	size_t n;

	if (!parse_opts(argc, argv, opts, COUNT(opts), NULL, 0, &n) || (dead && json))
		return usage(stderr);
	if (!cli_spool(mapping_path(config), &sp))
		return 2;
	if (json)
		return status_json(&sp, &st, spool_stats(&sp, &st) == SPOOL_OK);
	if (spool_stats(&sp, &st) != SPOOL_OK) {
		printf("spool: %s\nunreadable: %s\n", sp.dir, sp.why);
		return 2;
	}
	paused = fm_state_paused(sp.dir);
	printf("spool: %s\nwaiting: %zu\nin flight: %zu\ndead: %zu\noldest: %lld s\npaused: %s\n",
	       sp.dir, st.waiting, st.in_flight, st.dead, st.oldest_s, paused ? "yes" : "no");
	/* Each destination on its own line: one failing shows apart. */
	for (size_t i = 0; i < st.n_dests; i++)
		printf("to %s: waiting %zu, dead %zu\n",
		       st.by_dest[i].dest[0] ? st.by_dest[i].dest : MAP_CRM_NAME,
		       st.by_dest[i].waiting, st.by_dest[i].dead);
	print_key_mode(sp.dir);
	if (dead && list_dead(&sp) != 0)
		return 2;
	return st.dead || paused ? 1 : 0;
}

/*
 * text written to a file of its own beside path (path.XXXXXX), then renamed
 * over path: atomic for a reader, and two writers at once (the timer and an
 * operator) never write into one file. The file is removed on any failure.
 */
static bool write_replace(const char *path, const char *text)
{
	char tmp[LIMIT_MAX_URL + 8];
	int fd = -1, err;
	bool ok = ((size_t)snprintf(tmp, sizeof tmp, "%s.XXXXXX", path) < sizeof tmp ||
	           (errno = ENAMETOOLONG, false)) &&
	          (fd = mkostemp(tmp, O_CLOEXEC)) >= 0 &&
	          /* For the collector, whatever the umask: it holds no secret. */
	          fchmod(fd, 0644) == 0 &&
	          io_write_all(fd, text, strlen(text)) == 0 && fsync(fd) == 0;

	if (fd >= 0 && close(fd) != 0)
		ok = false;
	ok = ok && rename(tmp, path) == 0;
	if (!ok) {
		err = errno;
		if (fd >= 0)
			unlink(tmp);
		fprintf(stderr, "fmgate metrics: cannot write %s: %s\n", path, strerror(err));
	}
	return ok;
}

/* `metrics`: the Prometheus text (docs/metrics.md), on stdout or into a file
 * for node_exporter's textfile collector. */
static int cmd_metrics(int argc, char **argv)
{
	const char *config = NULL, *out = NULL;
	const struct cli_opt opts[] = {
		{ "--config", &config, NULL },
		{ "--out", &out, NULL },
	};
	struct metrics_left_out left;
	struct metrics_gauges g;
	struct spool_stats st;
	enum metrics_err e;
	struct spool sp;
	struct buf b;
	int rc = 0;
	size_t n;

	if (!parse_opts(argc, argv, opts, COUNT(opts), NULL, 0, &n))
		return usage(stderr);
	if (!cli_spool(mapping_path(config), &sp))
		return 2;
	gauges_of(&sp, &st, spool_stats(&sp, &st) == SPOOL_OK, &g);
	buf_init(&b, METRICS_PRINT_MAX);
	e = metrics_print(sp.dir, &g, &b, &left);
	warn_left_out("metrics", sp.dir, &left);
	if (e != METRICS_OK) {
		fprintf(stderr, "fmgate metrics: %s\n", metrics_strerror(e));
		rc = 2;
	} else if (out) {
		rc = write_replace(out, buf_str(&b)) ? 0 : 2;
	} else {
		fputs(buf_str(&b), stdout);
		rc = fflush(stdout) == 0 ? 0 : 2;
	}
	buf_free(&b);
	return rc;
}

static int cmd_purge(int argc, char **argv)
{
	const char *config = NULL, *older = NULL;
	bool dead = false;
	const struct cli_opt opts[] = {
		{ "--config", &config, NULL },
		{ "--dead", NULL, &dead },
		{ "--older-than", &older, NULL },
	};
	long long days = 0;
	struct spool sp;
	size_t n;

	if (!parse_opts(argc, argv, opts, COUNT(opts), NULL, 0, &n) || !dead ||
	    (older && !text_parse_ll(older, 1, 36500, &days)))
		return usage(stderr);
	if (!cli_spool(mapping_path(config), &sp))
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
	const char *config = NULL, *to = NULL;
	bool dead = false;
	const struct cli_opt opts[] = {
		{ "--config", &config, NULL },
		{ "--dead", NULL, &dead },
		{ "--to", &to, NULL },
	};
	char **ids = calloc((size_t)argc, sizeof *ids);
	struct spool sp;
	size_t total = 0, n_ids, n;
	int rc = 2;

	if (!ids) {
		fprintf(stderr, "fmgate requeue: out of memory\n");
		return 2;
	}
	if (!parse_opts(argc, argv, opts, COUNT(opts), ids, (size_t)argc, &n_ids) || !dead) {
		rc = usage(stderr);
		goto out;
	}
	if (!cli_spool(mapping_path(config), &sp))
		goto out;
	rc = 0;
	/* Without IDs one round takes every dead submission (want NULL). */
	for (size_t i = 0; i < (n_ids ? n_ids : 1); i++) {
		enum spool_err e = spool_requeue_dead(&sp, n_ids ? ids[i] : NULL, to, &n);

		total += n;
		if (e == SPOOL_ENOENT) {
			fprintf(stderr, "fmgate requeue: %s\n", sp.why);
			rc = rc ? rc : 1;
		} else if (e != SPOOL_OK) {
			fprintf(stderr, "fmgate requeue: %s\n", sp.why);
			rc = 2;
		}
	}
	printf("requeued %zu dead submission%s\n", total, total == 1 ? "" : "s");
out:
	free(ids);
	return rc;
}

/* A ledger or spool string on a terminal: control characters as '?'. */
static void put_clean(const char *s)
{
	for (; *s; s++)
		putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

static const char *member(const cJSON *r, const char *k)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, k));
}

/* One consent record on one line, the text last (it may hold anything). */
static void print_record(void *ud, const cJSON *r)
{
	static const char *const keys[] = { "form", "field", "trait", "userId", "email",
	                                     "messageId" };

	(void)ud;
	put_clean(member(r, "time"));
	for (size_t i = 0; i < COUNT(keys); i++) {
		printf(" %s=", keys[i]);
		put_clean(member(r, keys[i]));
	}
	fputs(" text=\"", stdout);
	put_clean(member(r, "text"));
	fputs("\"\n", stdout);
}

/* The EMAIL operand of consent and forget, and the ledger of the spool. */
static bool person_args(int argc, char **argv, const char **email, struct spool *sp,
                        struct consent_ledger *l)
{
	const char *config = NULL;
	const struct cli_opt opts[] = { { "--config", &config, NULL } };
	char *ops[1];
	size_t n;

	if (!parse_opts(argc, argv, opts, COUNT(opts), ops, 1, &n) || n != 1 || !ops[0][0]) {
		usage(stderr);
		return false;
	}
	*email = ops[0];
	/* Any address a record or a spool file may hold, those of a mapping
	 * before the dot rule too; a user id or a typo is said at once. */
	if (!ft_email_grammar(*email, strlen(*email))) {
		fprintf(stderr, "fmgate %s: not an email address\n", argv[0]);
		return false;
	}
	if (!cli_spool(mapping_path(config), sp))
		return false;
	if (!consent_init(l, sp->dir)) {
		fprintf(stderr, "fmgate %s: the spool directory path is too long\n", argv[0]);
		return false;
	}
	return true;
}

/* `consent EMAIL`: that person's consent records. 0: some, 1: none, 2: the
 * ledger could not be read. */
static int cmd_consent(int argc, char **argv)
{
	struct consent_ledger l;
	const char *email;
	enum consent_err e;
	struct spool sp;
	size_t n, bad;

	if (!person_args(argc, argv, &email, &sp, &l))
		return 2;
	e = consent_find(&l, email, print_record, NULL, &n, &bad);
	if (e != CONSENT_OK) {
		fprintf(stderr, "fmgate consent: %s: %s\n", consent_strerror(e), l.why);
		return 2;
	}
	if (bad)
		fprintf(stderr, "fmgate consent: %zu line%s of %s do not read as records\n", bad,
		        bad == 1 ? "" : "s", l.dir);
	if (n == 0)
		fprintf(stderr, "fmgate consent: no consent records for that email\n");
	return n ? 0 : 1;
}

/* A removed record: its ids only. */
static void print_removed(void *ud, const cJSON *r)
{
	(void)ud;
	fputs("removed consent record ", stdout);
	put_clean(member(r, "messageId"));
	fputs(" form=", stdout);
	put_clean(member(r, "form"));
	fputs(" field=", stdout);
	put_clean(member(r, "field"));
	putchar('\n');
}

static void print_forgotten(void *ud, enum spool_area area, const struct spool_id *id,
                            const char *failure)
{
	(void)ud;
	if (failure)
		fprintf(stderr, "fmgate forget: %s submission %s to=%s not read or removed: %s\n",
		        area == SPOOL_DEAD ? "dead" : "waiting", id->mid,
		        id->dest[0] ? id->dest : MAP_CRM_NAME, failure);
	else
		printf("removed %s submission %s to=%s\n", area == SPOOL_DEAD ? "dead" : "waiting",
		       id->mid, id->dest[0] ? id->dest : MAP_CRM_NAME);
}

/* `forget EMAIL`: an erasure request: that person's waiting and dead
 * submissions and consent records. 0: some removed, 1: nothing held, 2:
 * something could not be removed (what was is said). */
static int cmd_forget(int argc, char **argv)
{
	size_t records = 0, torn = 0;
	struct spool_forgot sf = { 0 };
	struct consent_ledger l;
	enum spool_err se;
	enum consent_err ce;
	const char *email;
	struct spool sp;
	int rc = 0;

	if (!person_args(argc, argv, &email, &sp, &l))
		return 2;
	if ((se = spool_forget(&sp, email, print_forgotten, NULL, &sf)) != SPOOL_OK) {
		fprintf(stderr, "fmgate forget: spool: %s (%s)\n", spool_strerror(se), sp.why);
		rc = 2;
	}
	if (sf.busy) {
		fprintf(stderr, "fmgate forget: %zu submission file%s stayed: being delivered; "
		        "run forget again\n", sf.busy, sf.busy == 1 ? "" : "s");
		rc = 2;
	}
	if (sf.failed)
		rc = 2;
	ce = consent_forget(&l, email, print_removed, NULL, &records, &torn);
	if (ce != CONSENT_OK) {
		fprintf(stderr, "fmgate forget: consent ledger: %s (%s)\n", consent_strerror(ce), l.why);
		rc = 2;
	}
	if (torn)
		printf("removed %zu torn ledger line%s holding that email\n", torn,
		       torn == 1 ? "" : "s");
	printf("forgot %zu submission file%s and %zu consent record%s\n", sf.removed,
	       sf.removed == 1 ? "" : "s", records, records == 1 ? "" : "s");
	return rc ? rc : sf.removed + records + torn ? 0 : 1;
}

static const struct verb {
	const char *name;
	int (*run)(int argc, char **argv);
} verbs[] = {
	{ "serve", cmd_serve },
	{ "check", cmd_check },
	{ "try", cmd_try },
	{ "fields", cmd_fields },
	{ "drain", cmd_drain },
	{ "status", cmd_status },
	{ "metrics", cmd_metrics },
	{ "purge", cmd_purge },
	{ "requeue", cmd_requeue },
	{ "consent", cmd_consent },
	{ "forget", cmd_forget },
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

		log_msg(LOG_WARN, "%s: %s (%s); going on without it",
		        se == SANDBOX_DUMPABLE ? "sandbox incomplete" : "no sandbox",
		        sandbox_strerror(se), strerror(why));
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
