/* dest.c: a submission to one destination besides Freshmarketer. */
#include "dest.h"

#include <stdlib.h>
#include <string.h>

#include "dest_http.h"
#include "dest_mail.h"
#include "submission.h"

/* The body a webhook or a forward posts; NULL when out of memory. */
static char *body_of(const struct map_dest *d, const cJSON *identify)
{
	return d->kind == MAP_DEST_FORWARD ? dest_forward_body(identify)
	                                   : dest_webhook_body(identify);
}

void dest_send(const struct map_settings *s, const struct map_form *form,
               const struct map_dest *d, const cJSON *identify, unsigned budget_ms,
               struct fm_result *out)
{
	struct submission sub;
	enum sub_err se;
	char *body;

	fm_result_start(out);
	if (d->kind == MAP_DEST_NOTIFY) {
		se = submission_from_message(identify, form, &sub);
		if (se == SUB_OK)
			dest_mail_send(&s->smtp, d, &sub, form, budget_ms, out);
		else if (se == SUB_ENOMEM)
			fm_result_say(out, FM_RETRY, "out of memory");
		else
			fm_result_say(out, FM_REJECTED, "not an identify message");
		submission_free(&sub);
		return;
	}
	if (!(body = body_of(d, identify))) {
		fm_result_say(out, FM_RETRY, "out of memory");
		return;
	}
	if (d->kind == MAP_DEST_WEBHOOK)
		dest_webhook_send(d, body, strlen(body), budget_ms, out);
	else
		dest_forward_send(&s->segment, body, strlen(body), budget_ms, out);
	cJSON_free(body);
}

void dest_describe(const struct map_settings *s, const struct map_form *form,
                   const struct map_dest *d, const cJSON *identify, FILE *to)
{
	struct submission sub;
	char *body;

	if (d->kind == MAP_DEST_NOTIFY) {
		if (submission_from_message(identify, form, &sub) == SUB_OK)
			dest_mail_describe(&s->smtp, d, &sub, form, to);
		else
			fputs("(out of memory)\n", to);
		submission_free(&sub);
		return;
	}
	if (!(body = body_of(d, identify))) {
		fputs("(out of memory)\n", to);
		return;
	}
	if (d->kind == MAP_DEST_WEBHOOK)
		dest_webhook_describe(d, body, to);
	else
		dest_forward_describe(&s->segment, body, to);
	cJSON_free(body);
}
