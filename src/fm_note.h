/*
 * fm_note.h: the note step of a submission (steps.h): the visitor's text
 * kept as a note on the contact (POST /notes, docs/freshmarketer.md).
 *
 * A note is the one step that can repeat: POST /notes is not idempotent, so
 * when the note is written but its answer is lost (a timeout, a crash before
 * the spool records the step done), the retry posts it again. The note is
 * never lost; at worst it is there twice.
 *
 * Outcomes by fm_http_classify: 2xx FM_DELIVERED, 429/5xx FM_RETRY, 401/403
 * FM_PAUSED, other 4xx (a contact gone: 404) FM_REJECTED.
 *
 * Ownership: nothing is kept; the transport is borrowed for the call.
 */
#ifndef FMGATE_FM_NOTE_H
#define FMGATE_FM_NOTE_H

#include <stdint.h>

#include "fm_http.h"

/*
 * Adds the note "TITLE\n\nTEXT" (TEXT alone when title is NULL or empty) to
 * the contact `contact_id`, within `deadline` (clock_mono_ms). No text (NULL
 * or empty): FM_REJECTED without a call. out->calls counts on from what it
 * holds.
 */
void fm_note_add(struct fm_http *h, const char *title, const char *text, long long contact_id,
                 uint64_t deadline, struct fm_result *out);

#endif
