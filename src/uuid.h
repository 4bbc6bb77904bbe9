/*
 * uuid.h: message ids and timestamps for identify messages (docs/behaviour.md).
 *
 * uuid_v4() gives a random (version 4, RFC 9562 variant) UUID in lower-case
 * hex, "xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx", from getrandom(2), which
 * never hands out bytes before the kernel's pool is seeded.
 * uuid_timestamp() gives the current time as ISO-8601 UTC with milliseconds,
 * "2026-11-28T13:09:30.123Z".
 * Both write into a caller's buffer of the size below and return false (with
 * out[0] = '\0') only when the system refuses (no getrandom, clock error, a
 * year outside 0000-9999).
 */
#ifndef FMGATE_UUID_H
#define FMGATE_UUID_H

#include <stdbool.h>
#include <time.h>

#define UUID_STR_SIZE 37  /* 36 characters and the NUL */
#define UUID_TS_SIZE  25  /* 24 characters and the NUL */

bool uuid_v4(char out[UUID_STR_SIZE]);
bool uuid_timestamp(char out[UUID_TS_SIZE]);

/* The same format for a given instant (for tests and replays). */
bool uuid_timestamp_at(const struct timespec *ts, char out[UUID_TS_SIZE]);

#endif
