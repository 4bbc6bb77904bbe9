/*
 * config.h: the run-time settings, from the environment over the mapping's
 * <settings> (docs/behaviour.md, "Configuration"; docs/mapping.md).
 *
 * API base: FM_API_BASE, else https://DOMAIN.myfreshworks.com/crm/sales/api
 * from FM_DOMAIN or <freshmarketer domain>, where DOMAIN may be a bare alias
 * ("acme") or a full host ("acme.myfreshworks.com"). The base must pass
 * config_base_allowed: https, or http to a loopback host (127.0.0.0/8, ::1,
 * localhost). Key: FM_API_KEY,
 * else the file FM_API_KEY_FILE, else <freshmarketer api-key-file>, read by
 * secret.h's rule (a regular file, not a link, that group and others can
 * neither read nor write, owned by root or the effective uid). The key is
 * never logged or printed.
 *
 * The environment wins, but it is each process's own: the web server's
 * workers and `fmgate drain` run with different ones, so a setting given
 * only there can differ between them. config_env_only() finds such settings
 * for `fmgate check` (setup_check_env); the mapping's <settings> is the one
 * place both read.
 */
#ifndef FMGATE_CONFIG_H
#define FMGATE_CONFIG_H

#include <stdbool.h>

#include "fmgate_limits.h"
#include "mapping.h"

#define CONFIG_DEFAULT_MAPPING "/etc/fmgate/forms.xml"
#define CONFIG_DEFAULT_SPOOL   "/var/spool/fmgate"
#define CONFIG_DEFAULT_FIELDS_MAX_AGE 3600u  /* seconds the field list is cached */

struct config {
	char api_base[LIMIT_MAX_URL];   /* no trailing '/'; "" when none configured */
	char api_key[LIMIT_MAX_API_KEY + 1]; /* "" when none configured */
	char spool_dir[LIMIT_MAX_URL];
	unsigned timeout_ms;            /* delivery budget of one submission */
	unsigned fields_max_age_s;      /* age at which the cached field list is
	                                   fetched again; 0 means the default */
};

enum config_err {
	CONFIG_OK = 0,
	CONFIG_ENOBASE,   /* neither FM_API_BASE nor a domain: nothing to deliver to */
	CONFIG_EBASE,     /* base URL malformed, or plain http to a non-loopback host */
	CONFIG_ENOKEY,    /* no key from any source */
	CONFIG_EKEYFILE,  /* key file unreadable, open to others, foreign, empty or too long;
	                     or a key (from any source) holding spaces or control bytes */
	CONFIG_ESPOOL,    /* spool directory path too long (app.c: or the
	                     directory unsafe, spool_check_dir) */
};

/* The mapping file path: FMGATE_CONFIG or CONFIG_DEFAULT_MAPPING. */
const char *config_mapping_path(void);

/*
 * The spool directory: FMGATE_SPOOL, else <spool dir> of `s` (which may be
 * NULL), else CONFIG_DEFAULT_SPOOL; a variable or attribute that is empty
 * counts as unset. The string belongs to the environment, `s` or this module.
 */
const char *config_spool_dir(const struct map_settings *s);

/*
 * The file the key is read from: FM_API_KEY_FILE, else <freshmarketer
 * api-key-file> of `s` (which may be NULL); NULL when FM_API_KEY is set or no
 * file is configured. The string belongs to the environment or to `s`.
 */
const char *config_key_file(const struct map_settings *s);

/*
 * Fills *out from the environment and `s` (which may be NULL). On error `why`
 * (if not NULL) receives a one-line reason that never contains the key.
 */
enum config_err config_resolve(const struct map_settings *s, struct config *out,
                               char *why, unsigned whysize);

/* An environment variable that gives a setting the mapping does not give
 * alike (config_env_only). */
struct config_env_note {
	const char *var;   /* "FM_DOMAIN", ... */
	const char *attr;  /* its place in <settings>: "<freshmarketer domain>", ... */
	bool overrides;    /* the mapping gives the setting a value of its own, which
	                      the variable overrides; false: the mapping gives none */
};

#define CONFIG_ENV_VARS 5u  /* FM_API_BASE, FM_DOMAIN, FM_API_KEY, FM_API_KEY_FILE, FMGATE_SPOOL */

/*
 * The variables above that are set (and not empty) without the mapping's
 * settings `s` (which may be NULL) giving the same, in that order; returns
 * how many were written to out. The same means: for FM_API_BASE and
 * FM_DOMAIN the API base they make equals the one api-base or domain make,
 * byte for byte (the shared state is keyed by it); for FM_API_KEY_FILE the
 * same path as api-key-file; for FMGATE_SPOOL the same path as <spool dir>,
 * or CONFIG_DEFAULT_SPOOL when it has none (a process without the variable
 * uses that). Paths are the same when equal but for repeated slashes (one)
 * and trailing ones (none); nothing else is resolved. FM_API_KEY, the key
 * itself, has no place in the mapping and is always written.
 */
size_t config_env_only(const struct map_settings *s, struct config_env_note out[CONFIG_ENV_VARS]);

/* True when url is an API base by url.h's URL_API_BASE rules: https, or
 * plain http to a loopback host; no user info, query or fragment. */
bool config_base_allowed(const char *url);

#endif
