/*
 * setup_check.h: what `fmgate check --online` checks beyond the mapping file
 * itself: the API key file, and every form against the account's field list,
 * so that a trait left out or a value refused shows before the first post.
 * And what plain `fmgate check` warns about: a post that may take longer than
 * a web server waits (setup_check_timeouts), and a setting that comes from
 * the environment alone (setup_check_env).
 *
 * Each problem is one line on `to`, "FILE:LINE: message" (FILE the mapping,
 * LINE its <field> or <constant>), or "KEYFILE: message" for the key file.
 * Texts from the field list are written with control bytes as \xNN
 * (fields_put_text).
 *
 * A form's <field> and <constant> is placed as a delivery would place it
 * (fm_body.h): email and name need no field; an fm-field must name a field
 * of the list, or a built-in one fmgate knows without it, and no identity
 * field (emails, external_id); a reserved trait goes to its built-in field;
 * any other trait must match a label, ignoring case, of a field that is not
 * privileged and not an identity field. Then:
 *  - a <constant>'s value must convert for its field (fm_body_convert);
 *  - a <field>'s value-when-checked text must convert for its field;
 *  - otherwise a <field>'s type must be able to fit the field's type:
 *      boolean  not into number, date, dropdown or multi_select
 *      number   not into checkbox or date
 *      date     not into number or checkbox
 *      email    not into number, checkbox or date
 *      phone    not into checkbox or date
 *    and multiple="true" not into a single-valued field (number, checkbox,
 *    dropdown, date);
 *  - two traits of a form must not reach one field (only one would be sent);
 *  - a consent-record must be the label of a text field that is neither
 *    privileged nor an identity field.
 *
 * Ownership: nothing is kept; the caller owns the mapping, the list and the
 * stream.
 */
#ifndef FMGATE_SETUP_CHECK_H
#define FMGATE_SETUP_CHECK_H

#include <stddef.h>
#include <stdio.h>

#include "fm_fields.h"
#include "mapping.h"

#define SETUP_MAX_MESSAGE 1024u  /* bytes of one problem line */

/* The wait for fmgate's answer the shipped server files set, in seconds
 * (apache-conf's FcgidIOTimeout, nginx-conf's fastcgi_read_timeout,
 * lighttpd-conf's server.max-write-idle): above the longest post any mapping
 * allows (LIMIT_CEIL_READ_TIMEOUT_MS + MAP_MAX_TIMEOUT_MS +
 * captcha.h's CAPTCHA_TIMEOUT_MS, 365 s). */
#define SETUP_SHIPPED_WAIT_S 370u

enum setup_err {
	SETUP_OK = 0,
	SETUP_ENOMEM,
};

/*
 * The file the API key is read from (config_key_file()) must pass secret.h's
 * rule: a regular file, not a link, neither readable nor writable by group or
 * others, owned by root or the effective uid. Returns the problems printed
 * (0 or 1); its size and content are left to config_resolve().
 */
size_t setup_check_key_file(const char *key_file, FILE *to);

/*
 * Every form of `m` (loaded from `file`) against `fields`. *problems gets
 * the number of problem lines printed; on SETUP_ENOMEM the check stopped.
 */
enum setup_err setup_check_forms(const struct mapping *m, const char *file,
                                 const struct fm_fields *fields, FILE *to,
                                 size_t *problems);

/*
 * The longest a post may keep the web server waiting under `m`: its
 * read-timeout-ms, plus timeout-ms in sync mode (async answers once the post
 * is spooled), plus captcha.h's CAPTCHA_TIMEOUT_MS when a form has a
 * <captcha> (its siteverify call). One line "FILE: warning: ..." on
 * `to` for each documented server default it exceeds: mod_fcgid's
 * FcgidIOTimeout (40 s), nginx's fastcgi_read_timeout (60 s), lighttpd's
 * server.max-write-idle (360 s). The line names the shipped file that sets
 * SETUP_SHIPPED_WAIT_S instead (above every mapping's, asserted in
 * setup_check.c), so that its users know the warning is not theirs.
 * Warnings only: the caller's verdict is unchanged. Returns the lines
 * printed.
 */
size_t setup_check_timeouts(const struct mapping *m, const char *file, FILE *to);

/*
 * One line "FILE: warning: ..." on `to` for each environment variable that
 * makes this process see a setting the mapping's <settings> `s` does not give
 * alike (config_env_only): the web server's workers and `fmgate drain` each
 * have their own environment, so they could deliver differently. The line
 * names the variable and the <settings> attribute to use instead. Warnings
 * only: the caller's verdict is unchanged. Returns the lines printed.
 */
size_t setup_check_env(const struct map_settings *s, const char *file, FILE *to);

const char *setup_strerror(enum setup_err e);

#endif
