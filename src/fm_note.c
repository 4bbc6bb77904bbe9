/*
 * fm_note.c: a note on a contact (fm_note.h).
 */
#include "fm_note.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "buf.h"

void fm_note_add(struct fm_http *h, const char *title, const char *text, long long contact_id,
                 uint64_t deadline, struct fm_result *out)
{
	bool titled = title && *title;
	cJSON *body = cJSON_CreateObject(), *note = cJSON_AddObjectToObject(body, "note");
	struct buf desc;
	char *json = NULL;
	long status;

	buf_init(&desc, (titled ? strlen(title) + 2 : 0) + (text ? strlen(text) : 0) + 1);
	if (!text || !*text) {
		fm_result_say(out, FM_REJECTED, "no note text");
		goto out;
	}
	if ((titled && buf_printf(&desc, "%s\n\n", title) != BUF_OK) ||
	    buf_adds(&desc, text) != BUF_OK ||
	    !cJSON_AddStringToObject(note, "description", buf_str(&desc)) ||
	    !cJSON_AddStringToObject(note, "targetable_type", "Contact") ||
	    !cJSON_AddNumberToObject(note, "targetable_id", (double)contact_id) ||
	    !(json = cJSON_PrintUnformatted(body))) {
		fm_result_say(out, FM_RETRY, "out of memory");
		goto out;
	}
	if (fm_http_call(h, "POST", "/notes", json, deadline, out, &status))
		fm_http_classify(h, status, out);
out:
	buf_free(&desc);
	cJSON_Delete(body);
	cJSON_free(json);
}
