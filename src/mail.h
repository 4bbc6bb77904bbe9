/*
 * mail.h: the notification mail of a <notify> destination (docs/destinations.md),
 * composed as a complete RFC 5322 message, ready for SMTP's DATA.
 *
 * Headers, in this order, lines ending CRLF:
 *   Date          the submission's timestamp (or now, when it has none that
 *                 reads), "Wed, 02 Dec 2026 10:00:00 +0000"
 *   From          smtp->from as the operator wrote it; refused (MAIL_EINVAL)
 *                 when it holds a control character (C0, DEL, C1, U+2028,
 *                 U+2029) or is not UTF-8
 *   To            the <notify to> addresses, comma-separated, folded
 *   Subject       see below
 *   Message-ID    <MESSAGEID@DOMAIN>, DOMAIN that of smtp->from_addr; a
 *                 submission without a usable messageId gets a new one
 *   Reply-To      only when d->reply_to_visitor and sub->email is a plain
 *                 addr-spec (checked again here: printable ASCII, one '@',
 *                 none of space < > , ; : " \ ( ) [ ]); otherwise left out
 *   MIME-Version, Content-Type: text/plain; charset=utf-8,
 *   Content-Transfer-Encoding: quoted-printable
 * The recipients and smtp->from_addr must be plain addr-specs too
 * (MAIL_EINVAL otherwise), though the mapping checked them already. No value
 * from the visitor reaches a header but Subject (encoded) and Reply-To
 * (checked).
 *
 * Subject: d->subject (NULL: "Form FORMID") with each "{NAME}" (NAME runs to
 * the next '}' and holds no '{') replaced by the text of the submission's
 * trait of that dotted name: a string as is, a boolean "yes" or "no", a
 * number in its shortest form, a list its items joined by ", "; a trait the
 * submission lacks gives nothing; a '{' without a closing '}' stays as
 * written. Then every control character (as above) and any byte that is not
 * part of well-formed UTF-8 is removed, and the result cut at
 * MAIL_MAX_SUBJECT bytes before a character that would pass it. Printable
 * ASCII without "=?" is written as it is, folded at spaces; anything else
 * as RFC 2047 "B" encoded-words in UTF-8, each holding whole characters.
 *
 * Body, quoted-printable (every byte outside printable ASCII is =XX, as is a
 * '.' or the 'F' of "From " opening a line, and a space ending one; lines at
 * most MAIL_QP_LINE characters with soft breaks), so no value can end the
 * SMTP data or forge a line: one line "NAME: VALUE" per field of the form, in
 * the form's order, that has a trait in the submission (NAME the form
 * field's name); a value's CR, LF and CRLF start a new line, indented by
 * MAIL_INDENT; then an empty line, "Time: TIMESTAMP", "Message id: ID",
 * "Form: FORMID".
 *
 * Ownership: mail_compose() initialises *out; on MAIL_OK it holds the
 * message and the caller releases it with buf_free(); on failure it is
 * empty. Nothing given is kept.
 */
#ifndef FMGATE_MAIL_H
#define FMGATE_MAIL_H

#include "buf.h"
#include "fmgate_limits.h"
#include "mapping.h"
#include "submission.h"

#define MAIL_MAX_SUBJECT  400u  /* bytes of a subject once filled in */
#define MAIL_FOLD_AT      78u   /* characters after which a plain header line is
                                   folded where it can be (RFC 5322 2.1.1) */
#define MAIL_EWORD_MAX    75u   /* characters of an encoded-word (RFC 2047 2) */
#define MAIL_EWORD_LINE   76u   /* characters of a header line holding one (RFC 2047 2) */
#define MAIL_QP_LINE      76u   /* characters of a body line, "=" of a soft
                                   break included (RFC 2045 6.7) */
#define MAIL_INDENT       "  "  /* before the following lines of a multi-line value */
/* Bytes of a composed mail: what a body of LIMIT_CEIL_MAX_BODY bytes can
 * become at worst (a line break as CRLF and MAIL_INDENT: 4 bytes for one),
 * and the headers. */
#define MAIL_MAX_MESSAGE  (4u * LIMIT_CEIL_MAX_BODY + 65536u)

enum mail_err {
	MAIL_OK = 0,
	MAIL_EINVAL,   /* not a <notify>; From with a control character; From
	                  address, a recipient or no recipient unfit; no form;
	                  the mail over MAIL_MAX_MESSAGE */
	MAIL_ENOMEM,
};

enum mail_err mail_compose(const struct map_smtp *smtp, const struct map_dest *d,
                           const struct submission *sub, const struct map_form *form,
                           struct buf *out);

const char *mail_strerror(enum mail_err e);

/*
 * A plain addr-spec, local@domain: 3 to LIMIT_MAX_EMAIL bytes of printable
 * ASCII, one '@' with something on each side, and nothing that means more
 * than an address in a header (no space, <>,;:"\()[]). The rule for every
 * address fmgate puts in a mail: the mapping's, and the visitor's Reply-To.
 */
bool mail_addr_ok(const char *a);

#endif
