/*
 * consent.h: the consent ledger: every consent given with an accepted
 * submission, kept under the spool so that it can be shown and erased on
 * request (docs/consent.md).
 *
 * Layout under the spool directory:
 *   consent/                 mode 0700, made on the first record
 *   consent/lock             an empty file: every writer takes flock(LOCK_EX)
 *                            on it, every reader LOCK_SH (one file at a
 *                            time, never while its caller prints)
 *   consent/YYYY-MM.jsonl    the records of a month (UTC), mode 0600
 *   consent/YYYY-MM.N.jsonl  N = 1..CONSENT_MAX_PARTS-1: the month's next
 *                            part, once the one before holds CONSENT_MAX_FILE
 *                            bytes
 *
 * A file holds one JSON object a line (cJSON-printed, so no newline inside).
 * A record, one per checked consent box (<field consent="..">):
 *   {"time": the submission's timestamp (UTC ISO 8601), "form", "userId",
 *    "email", "text": the consent text, "field": the form field, "trait",
 *    "messageId"}
 * A void line, when a submission whose records were written was then not
 * accepted after all (the visitor was refused or told to try again):
 *   {"time": when, "void": messageId, "email"}
 * Records of a voided messageId do not count (consent_find skips them).
 *
 * The contract: records are appended (O_APPEND) and flushed (fdatasync; the
 * directory fsync'ed when a file is made) before consent_give() returns, so
 * a visitor is told a submission went through only once its consent is on
 * disk. A line is written whole under the lock; an append that fails is cut
 * off again (ftruncate), and a line left torn by a crash is ended before the
 * next one; an append that could not be cut off is voided (consent_void).
 * A worker waits for the lock at most CONSENT_LOCK_WAIT_MS, then fails
 * (CONSENT_EBUSY): the post is refused, not held. consent_forget() scans
 * each file under LOCK_SH and rewrites one that holds the email's lines (a
 * temporary file, fdatasync, rename, directory fsync) under the LOCK_EX
 * appenders take, so no append is lost to a rename; the new file keeps the
 * old one's owner and group (a root run leaves it the workers').
 *
 * Ownership: struct consent_ledger holds only its directory and the text of
 * its last error; it owns no descriptor. Records given to a callback belong
 * to the ledger and live only during the call, which is made with no lock
 * held (the records of one file are read first, at most CONSENT_MAX_FOUND).
 */
#ifndef FMGATE_CONSENT_H
#define FMGATE_CONSENT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "spool.h"
#include "submission.h"

#define CONSENT_MAX_RECORD  16384u            /* bytes of one line, newline included */
#define CONSENT_MAX_FILE    (64u << 20)       /* bytes of one ledger file */
#define CONSENT_MAX_PARTS   100u              /* files of one month */
#define CONSENT_MAX_FILES   20000u            /* ledger files a reader visits */
#define CONSENT_MAX_VOIDS   10000u            /* voided messageIds of one email */
#define CONSENT_MAX_FOUND   10000u            /* records of one email in one file */
#define CONSENT_LOCK_WAIT_MS 2000u            /* a worker's wait for the lock */
#define CONSENT_LOCK_STEP_MS 10u              /* ...tried again after this */

struct consent_ledger {
	char dir[SPOOL_PATH_MAX];                 /* SPOOL/consent */
	char why[SPOOL_PATH_MAX + 128];           /* the last error, for a log line */
};

enum consent_err {
	CONSENT_OK = 0,
	CONSENT_EIO,      /* a system call failed: unwritable, unreadable, missing */
	CONSENT_ENOSPC,   /* the file system is full (or the quota used up) */
	CONSENT_ETOOBIG,  /* a record over CONSENT_MAX_RECORD, or every part of
	                     the month full, or more files, voids or
	                     records than a reader takes */
	CONSENT_ENOMEM,
	CONSENT_EBUSY,    /* a worker found the lock held for CONSENT_LOCK_WAIT_MS */
};

/* The ledger of a spool directory. False when the path does not fit. */
bool consent_init(struct consent_ledger *l, const char *spool_dir);

/*
 * Appends one record per checked consent box of `sub` (sub->ctx.consent,
 * with sub->form_id, user_id, email, message_id, timestamp), all in one
 * write, and flushes it. Nothing to write is CONSENT_OK. The spool
 * directory must exist; consent/ and its files are made as needed.
 */
enum consent_err consent_give(struct consent_ledger *l, const struct submission *sub);

/* Appends a void line for sub's messageId (when it has consent boxes),
 * dated `now`, and flushes it. */
enum consent_err consent_void(struct consent_ledger *l, const struct submission *sub,
                              time_t now);

/* A record of the ledger, as read (its members checked to be strings). */
typedef void consent_fn(void *ud, const cJSON *record);

/*
 * Calls fn for each record of `email` (compared ignoring ASCII case) that is
 * not voided, in file order (month, part, line); *n receives how many. A
 * ledger never written to has none. Lines that do not read as records are
 * skipped and counted in *bad (when not NULL).
 */
enum consent_err consent_find(struct consent_ledger *l, const char *email, consent_fn *fn,
                              void *ud, size_t *n, size_t *bad);

/*
 * Removes every line of `email`: its records (fn is called for each once
 * its file is rewritten), its void lines, and lines that do not read as
 * records but hold its member "email":"EMAIL" whole (a line torn by a
 * crash), all compared ignoring ASCII case. *n receives the records
 * removed, *torn those other lines. A file left empty is removed.
 */
enum consent_err consent_forget(struct consent_ledger *l, const char *email, consent_fn *fn,
                                void *ud, size_t *n, size_t *torn);

const char *consent_strerror(enum consent_err e);

#endif
