/*
 * dest_http.h: the two destinations that are an HTTP POST of the identify
 * message (docs/destinations.md): a webhook (<webhook url secret-file>) and
 * the forward to Segment's or RudderStack's HTTP Tracking API (<forward
 * to="segment">, the settings' <segment>).
 *
 * A webhook gets the message as compact JSON with
 *   X-Fmgate-Timestamp: TS      (decimal Unix seconds when sent)
 *   X-Fmgate-Signature: sha256=HEX
 * HEX being the lowercase HMAC-SHA256 of TS "." BODY under the webhook's
 * secret. The forward POSTs to {endpoint}/identify with HTTP Basic auth (the
 * write key as user name, an empty password) a copy of the message whose
 * integrations.Freshmarketer is false: fmgate writes the contact to
 * Freshmarketer itself, and a Segment workspace with the Freshmarketer
 * destination enabled would otherwise write it a second time (blanking the
 * traits the form did not send). Segment takes at most DEST_FORWARD_MAX_BODY
 * bytes per call and answers 400 above that: a larger body is FM_REJECTED
 * without a call.
 *
 * Every call: Content-Type: application/json, User-Agent: fmgate/VERSION, no
 * redirect followed, http and https only, TLS verified, at most budget_ms in
 * all, no signals. The outcome of an answer: 2xx FM_DELIVERED; 4xx other than
 * 408 and 429 FM_REJECTED (the destination refuses this message: dead);
 * anything else (408, 429, 5xx, 3xx, no answer) FM_RETRY, with a Retry-After
 * in seconds in retry_after_s (clamped to FM_RETRY_AFTER_MAX; -1 when absent
 * or an HTTP date). out->calls is 1 once a request was attempted, 0 when none
 * was (out of memory, a forward body over the limit). out->message is the
 * network error or "HTTP N: " and the start of the answer (at most
 * DEST_ANSWER_SHOWN bytes, control characters made spaces, the secret, the
 * signature, the write key and the Authorization value masked with '*' should
 * the receiver echo them); it never holds a secret.
 *
 * Ownership: the bodies returned are the caller's (cJSON_free). The senders
 * borrow everything they are given and keep nothing; secrets they copy
 * (the Authorization header, the signed text) are wiped before release.
 * libcurl is initialised once per process and never cleaned up, as fm_http
 * does; each send uses a handle of its own.
 */
#ifndef FMGATE_DEST_HTTP_H
#define FMGATE_DEST_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "fm_http.h"
#include "mapping.h"
#include "secret.h"

#define DEST_FORWARD_MAX_BODY (32u * 1024u) /* bytes of one call: Segment's limit */
#define DEST_ANSWER_SHOWN     200u          /* bytes of a refusal's answer in the message */
#define DEST_SIG_SIZE (sizeof "sha256=" + 64) /* "sha256=" + 64 hex digits + NUL */

/* The identify message as compact JSON; NULL when out of memory. */
char *dest_webhook_body(const cJSON *identify);

/* The same for {endpoint}/identify: a copy of the message with
 * integrations.Freshmarketer false (an "integrations" that is not an object
 * is replaced by one); context.ip and every other member as they are. NULL
 * when out of memory. */
char *dest_forward_body(const cJSON *identify);

/* out = "sha256=" + lowercase hex HMAC-SHA256 of TS "." body[0..len) under
 * key (TS: ts in decimal). False (out "") when the key is empty or longer
 * than HMAC_MAX_KEY, or out of memory. */
bool dest_webhook_sign(const struct secret *key, long long ts, const char *body, size_t len,
                       char out[DEST_SIG_SIZE]);

/* POSTs body[0..len) to d->url (a MAP_DEST_WEBHOOK), signed with d->secret
 * at the current time. Fills *out (fm_result_start first). */
void dest_webhook_send(const struct map_dest *d, const char *body, size_t len,
                       unsigned budget_ms, struct fm_result *out);

/* POSTs body[0..len) to sg->endpoint + "/identify" with sg->write_key.
 * Fills *out (fm_result_start first). */
void dest_forward_send(const struct map_segment *sg, const char *body, size_t len,
                       unsigned budget_ms, struct fm_result *out);

/* For `fmgate try`: "POST URL", the headers (signature, timestamp and
 * Authorization as placeholders: no secret is printed), a blank line, the
 * body and a newline. */
void dest_webhook_describe(const struct map_dest *d, const char *body, FILE *to);
void dest_forward_describe(const struct map_segment *sg, const char *body, FILE *to);

#endif
