/*
 * mapping.h: the XML mapping file (forms.xml) as plain C structs.
 *
 * Loading parses with libxml2 with DTD loading, entity substitution and network
 * access off, validates against the RELAX NG schema compiled into the binary
 * (schema/fmgate.rng), then checks meaning: two fields with one trait, a form
 * without an email field, a redirect that is not an absolute http(s) URL or a
 * path starting with '/', a duplicate form id, limits above the LIMIT_CEIL_*
 * (docs/mapping.md lists every check). A <!DOCTYPE> of any kind is refused.
 * Every problem is reported with its line number; loading fails if there is
 * any.
 *
 * Ownership: a struct mapping and every string in it belong to the mapping and
 * are released together by mapping_free(). Pointers into a mapping stay valid
 * until then. A mapping_holder owns its current mapping.
 */
#ifndef FMGATE_MAPPING_H
#define FMGATE_MAPPING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "fmgate_limits.h"
#include "netaddr.h"
#include "secret.h"
#include "url.h"
#include "sign.h"

/* Caps on what a mapping file may say, beyond those of fmgate_limits.h. */
#define MAP_MAX_DIAGS          100u        /* problems reported for one file */
#define MAP_MAX_LINES          65534u      /* lines of the file: libxml2 keeps 16-bit line numbers */
#define MAP_MAX_NAME           LIMIT_MAX_FIELD_NAME /* bytes of a field, cookie or trait name */
#define MAP_MAX_FORMS          1000u       /* <form> elements */
#define MAP_MAX_FORM_ITEMS     1000u       /* <field> and <constant> elements in one form */
#define MAP_MAX_LIST           100u        /* <allow-origin>, <trusted-proxy>, id sources of one parent */
#define MAP_MAX_TIMEOUT_MS     60000u      /* <delivery timeout-ms>: web servers give up sooner */
#define MAP_MAX_SPOOL_FILES    100000000u  /* <spool max-files> */
#define MAP_MAX_SPOOL_AGE_DAYS 3650u       /* <spool max-age-days> */
#define MAP_MAX_FIELDS_MAX_AGE 604800u     /* <freshmarketer fields-max-age>: a week, in seconds */
#define MAP_MAX_CONSENT        2000u       /* bytes of a consent text */
#define MAP_MAX_RATE_COUNT     1000000u    /* <rate-limit per-ip/per-form> */
#define MAP_MAX_RATE_WINDOW    604800u     /* <rate-limit window>: a week, in seconds */
#define MAP_DEFAULT_RATE_WINDOW 60u        /* <rate-limit window> when absent */
/* The rate limits of every form without its own <rate-limit> while <settings>
 * has none (<rate-limit/> there turns them off): a flood from one address
 * stops after a few posts, and each form takes at most 500 an hour. */
#define MAP_DEFAULT_PER_IP     10u
#define MAP_DEFAULT_PER_FORM   500u
#define MAP_DEFAULT_WINDOW     3600u
#define MAP_MAX_LISTS          100u        /* <list> elements in one form */
#define MAP_MAX_LIST_NAME      255u        /* bytes of a <list name> */
#define MAP_MAX_NOTE_TITLE     255u        /* bytes of a <note title> */
#define MAP_MAX_DESTS          16u         /* <notify>, <webhook>, <forward> in one form */
#define MAP_MAX_DEST_NAME      32u         /* bytes of a destination's name */
#define MAP_MAX_RECIPIENTS     20u         /* addresses in one <notify to> */
#define MAP_MAX_SUBJECT        255u        /* bytes of a <notify subject> template */
#define MAP_MAX_SECRET         4096u       /* bytes of a secret file (password, secret, key) */
#define MAP_CRM_NAME           "freshmarketer" /* the contact's destination, by name */
#define MAP_SEGMENT_ENDPOINT   "https://api.segment.io/v1" /* <segment endpoint> when absent */
#define MAP_NO_MIN_SCORE       (-1.0)      /* <captcha> without min-score: no score is checked */
#define MAP_MAX_CAPTCHA_HOSTS  16u         /* host names in one <captcha hostname> */
#define MAP_MAX_HOSTNAME       253u        /* bytes of one of them (DNS's limit) */
#define MAP_MAX_CAPTCHA_ACTION 100u        /* bytes of a <captcha action> */

enum map_type {
	MAP_TEXT = 0,   /* default */
	MAP_EMAIL,      /* WHATWG "valid email address", lower-cased */
	MAP_NUMBER,     /* JSON number */
	MAP_BOOLEAN,    /* JSON true/false */
	MAP_DATE,       /* YYYY-MM-DD */
	MAP_PHONE,      /* digits, spaces, + - . ( ) */
};

enum map_source_kind {
	MAP_SRC_FIELD = 0, /* <from-field name=".."/> */
	MAP_SRC_COOKIE,    /* <from-cookie name=".."/> */
	MAP_SRC_EMAIL,     /* <from-email/>: the normalised traits.email */
};

struct map_source {
	enum map_source_kind kind;
	char *name;        /* field or cookie name; NULL for MAP_SRC_EMAIL */
	char *signed_with; /* MAP_SRC_FIELD: path of the HMAC key file, or NULL */
	struct sign_key key; /* its key, read when the mapping loads (sign.h) */
};

struct map_field {
	char *name;        /* form field name */
	char *trait;       /* trait name, dotted for nesting */
	enum map_type type;
	bool required;
	bool multiple;     /* repeated name allowed; trait becomes a list */
	size_t max_length; /* in bytes; 0 means the form's max-value */
	char *fm_field;    /* explicit Freshmarketer field name, or NULL */
	char *consent;     /* consent="..": the consent text the visitor saw next to
	                      this (boolean) box, kept in the identify message's
	                      context.consent when it is checked; or NULL */
	char *value_when_checked; /* value-when-checked="..": what a checked
	                      (boolean) box sends to its Freshmarketer field
	                      instead of true; unchecked sends nothing; or NULL */
	bool feeds_step;   /* named by the form's <account name-field> or <note
	                      field>: its value has a home besides the contact */
	int line;
	char *consent_record; /* consent-record="LABEL" (a consent box only): the
	                      label of the contact's text field that gets "TIME,
	                      form FORM: TEXT" when the box is checked; or NULL */
};

struct map_constant {
	char *trait;
	char *value;
	char *fm_field;    /* or NULL */
	int line;
};

/* <list>: a marketing list the contact is added to. */
struct map_list {
	char *name;                      /* the CRM list's exact name */
	const struct map_field *if_field; /* a boolean <field> of the form that must be
	                                    true, or NULL: always */
	bool create;                     /* create="true": made when the CRM has none */
	int line;
};

/* The destinations of a form besides Freshmarketer (docs/destinations.md). */
enum map_dest_kind { MAP_DEST_NOTIFY = 0, MAP_DEST_WEBHOOK, MAP_DEST_FORWARD };

/* <notify>, <webhook> or <forward> in a form. */
struct map_dest {
	enum map_dest_kind kind;
	char *name;             /* name=".." or the kind's ("notify", "webhook",
	                           "forward"); unique in the form; [a-z0-9-], at
	                           most MAP_MAX_DEST_NAME bytes; never "freshmarketer" */
	/* MAP_DEST_NOTIFY */
	char **to;              /* addr-specs (local@domain), validated at load */
	size_t n_to;
	char *subject;          /* template: {trait} is replaced by the trait's
	                           value (control characters removed) */
	bool reply_to_visitor;  /* Reply-To: the submission's validated email */
	/* MAP_DEST_WEBHOOK */
	char *url;              /* https, or http to a loopback host */
	char *secret_file;
	struct secret secret;   /* read when the mapping loads */
	/* MAP_DEST_FORWARD: to="segment", the settings' <segment> */
	int line;
};

/* <smtp> in the settings: the mail server <notify> sends through. */
struct map_smtp {
	char *url;              /* smtps://host[:port], smtp://host[:port] (STARTTLS
	                           required unless the host is a loopback address);
	                           NULL: no <smtp> */
	char *user;             /* or NULL: no login */
	char *password_file;    /* or NULL */
	struct secret password; /* read when the mapping loads */
	char *from;             /* the From header as written ("Name <addr>") */
	char *from_addr;        /* its addr-spec: the envelope sender */
	int line;
};

/* <segment> in the settings: Segment's (or RudderStack's) HTTP Tracking API. */
struct map_segment {
	char *endpoint;         /* ".../v1" without the trailing slash; https, or
	                           http to a loopback host; NULL: no <segment> */
	char *write_key_file;
	struct secret write_key; /* read when the mapping loads */
	int line;
};

/* The CAPTCHA providers of <captcha provider=".."> (captcha.h verifies). */
enum map_captcha_provider {
	MAP_CAPTCHA_NONE = 0,   /* the form has no <captcha> */
	MAP_CAPTCHA_TURNSTILE,  /* Cloudflare Turnstile */
	MAP_CAPTCHA_HCAPTCHA,
	MAP_CAPTCHA_RECAPTCHA,  /* Google reCAPTCHA v2 or v3 */
};

/* <captcha> in a form (docs/captcha.md). */
struct map_captcha {
	enum map_captcha_provider provider;
	char *secret_file;
	struct secret secret;   /* read when the mapping loads */
	double min_score;       /* 0..1, reCAPTCHA only; MAP_NO_MIN_SCORE: none */
	char *hostnames;        /* the host names an answer's "hostname" may be, lower-cased,
	                           one space between; NULL: not compared */
	char *action;           /* the answer's "action" must be this (Turnstile, reCAPTCHA
	                           v3); NULL: not compared */
	bool accept_unavailable; /* on-unavailable="accept": deliver unverified when
	                           the provider cannot answer; default refuse (503) */
	int line;
};

/* Submission rate limits (<rate-limit>); a count of 0 means no limit. */
struct map_rate {
	unsigned per_ip;       /* submissions to the form from one client address */
	unsigned per_form;     /* submissions to the form from everyone */
	unsigned window_s;     /* ... per this many seconds */
};

struct map_form {
	char *id;
	char *success_url;     /* absolute http(s) URL or a path starting with '/' */
	char *failure_url;     /* same, or NULL */
	char **allow_origins;  /* origins; a host "*.example.com" is a wildcard */
	struct url *allow_urls; /* the same, read by url.h (URL_ALLOW) once at load */
	size_t n_allow_origins;
	char *honeypot;        /* field name, or NULL */
	struct map_source *user_id;   /* in order; first with a value wins */
	size_t n_user_id;
	struct map_source *anonymous_id;
	size_t n_anonymous_id;
	struct map_field *fields;
	size_t n_fields;
	struct map_constant *constants;
	size_t n_constants;
	struct map_rate rate;  /* its own <rate-limit>, else the settings' */
	const struct map_field *account_field; /* <account name-field>, or NULL */
	struct map_list *lists; /* <list>, in the file's order */
	size_t n_lists;
	const struct map_field *note_field;    /* <note field>, or NULL */
	char *note_title;      /* <note title>, or NULL */
	struct map_dest *dests; /* <notify>, <webhook>, <forward>, in the file's order */
	size_t n_dests;
	bool context_ip;       /* context.ip kept in the identify message: its own
	                          <context ip>, else the settings' (default false) */
	struct map_captcha captcha; /* provider MAP_CAPTCHA_NONE: no <captcha>. Its
	                          token field (map_captcha_field) is neither a
	                          <field>, the honeypot nor a userId source */
	int line;
};

enum map_delivery_mode { MAP_DELIVERY_SYNC = 0, MAP_DELIVERY_ASYNC };

/* The header a trusted proxy names its client in (<trusted-proxy header>). */
enum map_proxy_header {
	MAP_PROXY_X_FORWARDED_FOR = 0, /* default: a list, one entry per hop */
	MAP_PROXY_X_REAL_IP,           /* one address each */
	MAP_PROXY_CF_CONNECTING_IP,
	MAP_PROXY_TRUE_CLIENT_IP,
};
#define MAP_PROXY_HEADERS 4u

/* A <trusted-proxy>: an address or CIDR range whose header is believed. */
struct map_proxy {
	char *text;             /* as written, trimmed */
	struct netrange range;
	enum map_proxy_header header;
	int line;
};

struct map_settings {
	char *fm_domain;        /* <freshmarketer domain=..>, or NULL */
	char *fm_api_base;      /* <freshmarketer api-base=..>, or NULL */
	char *fm_api_key_file;  /* <freshmarketer api-key-file=..>, or NULL */
	unsigned fm_fields_max_age; /* <freshmarketer fields-max-age=..> seconds; 0: default */
	char *spool_dir;        /* or NULL */
	size_t spool_max_files; /* 0: default */
	unsigned spool_max_age_days; /* 0: default */
	enum map_delivery_mode delivery_mode;
	unsigned timeout_ms;    /* default LIMIT_DEFAULT_TIMEOUT_MS */
	struct form_limits limits; /* defaults LIMIT_DEFAULT_* */
	unsigned read_timeout_ms;  /* <limits read-timeout-ms>: the whole body's */
	struct map_rate rate;   /* <rate-limit> for forms without their own, else
	                           MAP_DEFAULT_PER_IP, _PER_FORM, _WINDOW */
	struct map_proxy *trusted_proxies; /* <trusted-proxy>, in the file's order */
	size_t n_trusted_proxies;
	struct map_smtp smtp;   /* <smtp>; url NULL when absent */
	struct map_segment segment; /* <segment>; endpoint NULL when absent */
	bool context_ip;        /* <context ip="true"> in the settings */
};

struct mapping {
	char *path;
	struct map_settings settings;
	struct map_form *forms;
	size_t n_forms;
};

/* One problem found while loading. */
struct map_diag {
	int line;          /* 0 when the problem has no line (unreadable file) */
	char message[256];
};

struct map_diags {
	struct map_diag *v;
	size_t n;
	size_t cap;
};

enum map_err {
	MAP_OK = 0,
	MAP_EIO,       /* file missing, unreadable or over LIMIT_MAX_MAPPING_FILE */
	MAP_EINVALID,  /* not well-formed, schema or meaning errors (see diags) */
	MAP_ENOMEM,
};

/*
 * Loads and validates the mapping file at `path`. On MAP_OK *out is a new
 * mapping the caller frees with mapping_free(). On failure *out is NULL and
 * `diags` (if not NULL) holds one entry per problem; the caller releases it
 * with map_diags_free(). diags may hold entries on success too (never
 * errors; currently none).
 */
enum map_err mapping_load(const char *path, struct mapping **out,
                          struct map_diags *diags);

/* Same, from a buffer; `name` is used in messages only. For tests and fuzzers. */
enum map_err mapping_load_buffer(const char *buf, size_t len, const char *name,
                                 struct mapping **out, struct map_diags *diags);

void mapping_free(struct mapping *m);
void map_diags_free(struct map_diags *d);

/* Prints each diag as "file:line: message" ("file: message" when line is 0),
 * one per line; for `fmgate check`. */
void map_diags_print(const struct map_diags *d, const char *file, FILE *to);
const char *map_strerror(enum map_err e);

/* The form with this id, or NULL. */
const struct map_form *mapping_form(const struct mapping *m, const char *id);

/* The names as a mapping allows them (the schema says the same), for what
 * reads them elsewhere (a URL, spool file names, the metrics file): a form
 * id of `len` bytes, 1 to LIMIT_MAX_FORM_ID letters, digits, '-' and '_'; a
 * destination's name, [a-z0-9][a-z0-9-]*, at most MAP_MAX_DEST_NAME bytes. */
bool map_form_id_valid(const char *s, size_t len);
bool map_dest_name_valid(const char *s);

/* The mapped field with this form-field name, or NULL. */
const struct map_field *map_form_field(const struct map_form *f, const char *name);

/* The form's destination with this name, or NULL. */
const struct map_dest *map_form_dest(const struct map_form *f, const char *name);

/* "notify", "webhook", "forward". */
const char *map_dest_kind_name(enum map_dest_kind k);

/* The header's name as the mapping writes it ("X-Forwarded-For"). */
const char *map_proxy_header_name(enum map_proxy_header h);

/* "turnstile", "hcaptcha", "recaptcha" (NULL for MAP_CAPTCHA_NONE). */
const char *map_captcha_name(enum map_captcha_provider p);

/* The form field the provider's widget puts its token in: cf-turnstile-response,
 * h-captcha-response, g-recaptcha-response (NULL for MAP_CAPTCHA_NONE). */
const char *map_captcha_field(enum map_captcha_provider p);

/* Name of a type as written in the mapping ("text", "email", ...). */
const char *map_type_name(enum map_type t);

/*
 * A mapping that follows its file: mapping_holder_get() stats the file (at
 * most once per second) and reloads it when its mtime, size or inode changed.
 * A new version that fails to load is logged (each diag as file:line: message)
 * and the last good mapping is kept. Returns NULL only when no version ever
 * loaded. `generation` counts the versions loaded (0: none yet): what was
 * derived from one version is stale when the number moved on. A mapping's
 * address says nothing, since a new version may be allocated where an old
 * one was freed.
 */
struct mapping_holder {
	char *path;
	struct mapping *current;
	unsigned long generation;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	time_t checked_at;
};

/* Loads the first version; returns its error (diags logged). The holder must be
 * released with mapping_holder_free() whatever the result. */
enum map_err mapping_holder_init(struct mapping_holder *h, const char *path);
const struct mapping *mapping_holder_get(struct mapping_holder *h);
void mapping_holder_free(struct mapping_holder *h);

#endif
