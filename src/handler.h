/*
 * handler.h: one form post in, one HTTP answer out (docs/behaviour.md, "Answers").
 *
 * The order of checks: mapping loaded (else 503), form id known (404), method
 * (OPTIONS preflight from an allowed origin: 204; anything but POST: 405),
 * Origin/Referer against the form's allow list (403), the form's rate limits
 * (429, counted before the body is read, so a flood costs no parsing), body
 * size, arrival within the read timeout and syntax (413/408/400/415),
 * honeypot (fake success), identify (field errors: 303 to the failure URL,
 * 422), delivery (deliver.h), then the answer: 303 to success once the
 * submission is delivered or safely in the spool; a final refusal is
 * error=rejected (the submission kept in the spool's dead area); a spool that
 * cannot take it is a 503. The status is chosen here, at the top; the stages
 * below only report their own errors. An HTML client posting to a form with
 * a failure URL gets every refusal but 403, 404 and 405 as a 303 there
 * (error=CODE, and field and errors for field errors: response_failure_url);
 * JSON clients and forms without one get the status.
 *
 * A conflict (the email or userId is another contact's) gets the usual
 * success: any other answer would tell whose contact an email is.
 *
 * Ownership: handler_handle() reads the body through `rd` itself (only when
 * the earlier checks pass) and fills a response the caller initialised and
 * frees.
 */
#ifndef FMGATE_HANDLER_H
#define FMGATE_HANDLER_H

#include "app.h"
#include "request.h"
#include "response.h"

void handler_handle(struct app *app, struct request *req, req_read_fn rd,
                    void *rd_ctx, struct response *res);

#endif
