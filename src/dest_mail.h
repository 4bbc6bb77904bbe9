/*
 * dest_mail.h: a <notify> destination delivered: the mail of mail.h sent
 * through the settings' <smtp> with libcurl (docs/destinations.md).
 *
 * The connection: smtps:// as it is; smtp:// with STARTTLS required
 * (CURLUSESSL_ALL), except to a loopback host (localhost, 127.x.x.x, [::1]),
 * which is spoken to in plain (tests, a local relay). TLS verification stays
 * on; only smtp and smtps are allowed; a URL with user info is refused (the
 * login is <smtp user> and its password file). The envelope: MAIL
 * FROM:<from_addr>, RCPT TO:<..> for each <notify to>; every recipient must
 * be accepted. The whole exchange is bounded by the budget, the connection
 * also by LIMIT_CONNECT_TIMEOUT_MS; no signals. Only the goodbye (QUIT)
 * after a mail was taken may wait past it, for the budget again rounded up
 * to whole seconds (libcurl's unit there); a server that failed to answer
 * in time is not waited for.
 *
 * The outcome (struct fm_result, fm_http.h), retry_after_s always -1:
 *   FM_DELIVERED  the server took the mail
 *   FM_REJECTED   a 5xx reply other than 530, 534 and 535: this mail is
 *                 refused for good; or the mail cannot be composed (mail.h)
 *   FM_RETRY      anything else: a 4xx, 530/534/535 (a login the operator
 *                 must fix, then the mail goes), a connection, TLS or
 *                 timeout error; an <smtp> URL that is not fit; no budget
 * out->calls is 1 when a connection was tried, out->http_status the last
 * SMTP reply code (0: none), out->message what failed, in libcurl's words.
 * The password never reaches out->message nor what dest_mail_describe prints.
 *
 * libcurl must be initialised (main.c does it at start-up). Each send uses
 * its own easy handle: mails are few.
 *
 * Ownership: nothing given is kept; out is the caller's.
 */
#ifndef FMGATE_DEST_MAIL_H
#define FMGATE_DEST_MAIL_H

#include <stdio.h>

#include "fm_http.h"
#include "mapping.h"
#include "submission.h"

void dest_mail_send(const struct map_smtp *smtp, const struct map_dest *d,
                    const struct submission *sub, const struct map_form *form,
                    unsigned budget_ms, struct fm_result *out);

/*
 * For `fmgate try`: "SMTP URL (as USER)", "MAIL FROM:<..>", a "RCPT TO:<..>"
 * line for each recipient, an empty line, then the message as it would be
 * sent (CRLF line ends, quoted-printable body); or why there is none. Names
 * and addresses have control bytes written as \xNN.
 */
void dest_mail_describe(const struct map_smtp *smtp, const struct map_dest *d,
                        const struct submission *sub, const struct map_form *form,
                        FILE *to);

#endif
