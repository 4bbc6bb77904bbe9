/*
 * dest.h: one submission to one destination besides Freshmarketer
 * (docs/destinations.md): <notify> through the settings' <smtp>
 * (dest_mail.h), <webhook> and <forward> over HTTP (dest_http.h).
 *
 * The submission is its identify message as the spool keeps it; a mail reads
 * it back as a submission of the form (its fields' names and values), a
 * webhook posts it as it is, a forward posts it for Segment's Tracking API.
 * Which result means what for the spool is deliver.h's rule.
 *
 * Ownership: nothing is kept; the mapping owns every setting and secret.
 */
#ifndef FMGATE_DEST_H
#define FMGATE_DEST_H

#include <stdio.h>

#include <cjson/cJSON.h>

#include "fm_http.h"
#include "mapping.h"

/* Sends `identify` of `form` to `d` within budget_ms; always fills *out
 * (outcome, status, calls, message: never a secret). */
void dest_send(const struct map_settings *s, const struct map_form *form,
               const struct map_dest *d, const cJSON *identify, unsigned budget_ms,
               struct fm_result *out);

/* What dest_send would send, for `fmgate try`, secrets hidden. */
void dest_describe(const struct map_settings *s, const struct map_form *form,
                   const struct map_dest *d, const cJSON *identify, FILE *to);

#endif
