/*
 * fm_canned.h: a transport for fm_http (struct fm_transport) that answers
 * from a script instead of the network, and records what was asked, for the
 * unit tests of the modules above fm_http (struct rig: one process's client).
 *
 * Each request takes the next canned answer; a request with none left gets
 * no answer ("no canned answer left"). canned_calls() lists the requests as
 * "METHOD PATH" joined by "; ", for comparing whole sequences at once.
 */
#ifndef FMGATE_FM_CANNED_H
#define FMGATE_FM_CANNED_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fm_fieldcache.h"
#include "fm_http.h"
#include "fm_state.h"
#include "submission.h"

/* The submission a spooled message in `json` reads back as (exits on a bad
 * test message); submission_free() it. */
static inline void canned_submission(const char *json, const struct map_form *form,
                                     struct submission *out)
{
	cJSON *msg = cJSON_Parse(json);

	if (!msg || submission_from_message(msg, form, out) != SUB_OK) {
		printf("bad test message %s\n", json);
		exit(2);
	}
	cJSON_Delete(msg);
}

#define CANNED_MAX 8          /* answers in one script, requests recorded */
#define CANNED_BASE "https://fm.test/api"

struct canned {
	long status;              /* 0: no answer (a network error) */
	const char *body;         /* NULL: empty */
	long retry_after_s;       /* RA_NONE when the answer has no Retry-After */
};

#define RA_NONE (-1)
/* An answer without Retry-After. */
#define ANS(status, body) {status, body, RA_NONE}

struct script {
	const struct canned *answers;   /* CANNED_MAX of them; status 0 ends */
	size_t next;
	char asked[CANNED_MAX][160];    /* "METHOD PATH" */
	char json[CANNED_MAX][1024];    /* the body sent ("" for a GET) */
	size_t n;
	char calls[CANNED_MAX * 162];
};

static bool canned_send(void *ctx, const struct fm_send *rq, struct fm_answer *ans)
{
	struct script *s = ctx;
	const struct canned *a = s->next < CANNED_MAX ? &s->answers[s->next] : NULL;

	if (s->n < CANNED_MAX) {
		snprintf(s->asked[s->n], sizeof s->asked[0], "%s %s", rq->method, rq->path);
		snprintf(s->json[s->n], sizeof s->json[0], "%s", rq->json ? rq->json : "");
		s->n++;
	}
	if (strncmp(rq->url, CANNED_BASE, strlen(CANNED_BASE)) != 0 ||
	    strcmp(rq->url + strlen(CANNED_BASE), rq->path) != 0)
		printf("  url %s is not the base followed by %s\n", rq->url, rq->path);
	ans->rl = (struct fm_ratelimit){-1, -1, -1, -1, -1, -1};
	ans->error[0] = '\0';
	if (!a || !a->status) {
		ans->status = 0;
		ans->retry_after_s = -1;
		ans->body = "";
		ans->len = 0;
		snprintf(ans->error, sizeof ans->error, "no canned answer left");
		return false;
	}
	s->next++;
	ans->status = a->status;
	ans->retry_after_s = a->retry_after_s;
	ans->body = a->body ? a->body : "";
	ans->len = strlen(ans->body);
	return true;
}

/* The requests so far, "METHOD PATH; METHOD PATH". */
static const char *canned_calls(struct script *s)
{
	size_t o = 0;

	s->calls[0] = '\0';
	for (size_t i = 0; i < s->n; i++)
		o += (size_t)snprintf(s->calls + o, sizeof s->calls - o, "%s%s", i ? "; " : "",
		                      s->asked[i]);
	return s->calls;
}

/* A transport answering from a script, with the state in a spool ("": in
 * memory only) and a field cache on top: what one process would have. */
struct rig {
	struct fm_http h;
	struct script s;
	struct fm_fieldcache fc;
	struct fm_state *st;
};

static void rig_open(struct rig *g, const struct canned *answers, const char *spool,
                     unsigned max_age_s)
{
	memset(&g->s, 0, sizeof g->s);
	g->s.answers = answers;
	g->st = fm_state_open(spool, CANNED_BASE, "testkey", false);
	fm_http_init(&g->h, (struct fm_transport){canned_send, &g->s}, g->st, CANNED_BASE);
	fm_fieldcache_init(&g->fc, &g->h, max_age_s);
}

static void rig_close(struct rig *g)
{
	fm_fieldcache_fini(&g->fc);
	fm_state_close(g->st);
}

#endif
