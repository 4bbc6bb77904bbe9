/*
 * config.c: run-time settings from the environment over the mapping's
 * <settings>.
 *
 * Precedence, first that is set and non-empty wins:
 *   base:  FM_API_BASE, FM_DOMAIN, <freshmarketer api-base>, <freshmarketer domain>
 *   key:   FM_API_KEY, FM_API_KEY_FILE, <freshmarketer api-key-file>
 *   spool: FMGATE_SPOOL, <spool dir>, CONFIG_DEFAULT_SPOOL
 * so the environment as a whole overrides the file. config_env_only() says
 * which variables make this process see other settings than one without them.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "secret.h"
#include "text.h"
#include "url.h"

#define DOMAIN_SUFFIX ".myfreshworks.com"
#define API_PATH      "/crm/sales/api"
#define KEY_FILE_SLACK 64u  /* white space a key file may hold around the key */

/* An environment variable, or NULL when unset or empty. */
static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

static void say(char *why, unsigned whysize, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(char *why, unsigned whysize, const char *fmt, ...)
{
	va_list ap;

	if (!why || !whysize)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whysize, fmt, ap);
	va_end(ap);
}

const char *config_mapping_path(void)
{
	const char *p = env("FMGATE_CONFIG");
	return p ? p : CONFIG_DEFAULT_MAPPING;
}

bool config_base_allowed(const char *url)
{
	return url_parse(url, URL_API_BASE, NULL) == URL_OK;
}

/* A bare alias gets the myfreshworks.com suffix; a name with a dot is a host.
 * The base built is checked as any other, so a domain cannot smuggle in a
 * path or a port. */
static enum config_err base_from_domain(const char *domain, struct config *out,
                                        char *why, unsigned whysize)
{
	size_t n = strlen(domain);
	int len;

	if (!url_host_name(domain, n) || domain[0] == '-' || domain[n - 1] == '-') {
		say(why, whysize, "Freshmarketer domain is not a host name (letters, digits, "
		    "'-' and '.' between labels)");
		return CONFIG_EBASE;
	}
	len = snprintf(out->api_base, sizeof out->api_base, "https://%s%s%s", domain,
	               strchr(domain, '.') ? "" : DOMAIN_SUFFIX, API_PATH);
	if (len < 0 || (size_t)len >= sizeof out->api_base || !config_base_allowed(out->api_base)) {
		say(why, whysize, "Freshmarketer domain makes an API base URL that is too long, "
		    "or whose host libcurl reads as another (\"127.1\" is 127.0.0.1)");
		return CONFIG_EBASE;
	}
	return CONFIG_OK;
}

/* The API base of `base` (named `from` in `why`), else of `domain`. */
static enum config_err make_base(const char *base, const char *from, const char *domain,
                                 struct config *out, char *why, unsigned whysize)
{
	size_t n;

	if (!base && domain)
		return base_from_domain(domain, out, why, whysize);
	if (!base) {
		say(why, whysize, "no Freshmarketer domain or API base (FM_DOMAIN, FM_API_BASE, "
		    "or <freshmarketer domain=...>)");
		return CONFIG_ENOBASE;
	}
	if (!text_copy(out->api_base, sizeof out->api_base, base)) {
		say(why, whysize, "%s is too long", from);
		return CONFIG_EBASE;
	}
	n = strlen(out->api_base);
	while (n > 0 && out->api_base[n - 1] == '/')
		out->api_base[--n] = '\0';
	if (!config_base_allowed(out->api_base)) {
		say(why, whysize, "%s must be an https URL without user info, query or spaces, "
		    "or plain http to 127.0.0.1, [::1] or localhost", from);
		return CONFIG_EBASE;
	}
	return CONFIG_OK;
}

/* A value of the mapping's <settings>; NULL when absent or empty. */
static const char *settings_str(const char *v)
{
	return v && *v ? v : NULL;
}

static enum config_err resolve_base(const struct map_settings *s, struct config *out,
                                    char *why, unsigned whysize)
{
	const char *base = env("FM_API_BASE"), *domain = env("FM_DOMAIN");

	if (base || domain)
		return make_base(base, "FM_API_BASE", domain, out, why, whysize);
	return make_base(s ? settings_str(s->fm_api_base) : NULL, "<freshmarketer api-base>",
	                 s ? settings_str(s->fm_domain) : NULL, out, why, whysize);
}

/* Trims white space around the key in place and checks what is left: it goes
 * into an HTTP header, so only visible ASCII is allowed. */
static bool key_clean(char *key)
{
	text_trim(key);
	if (!*key || strlen(key) > LIMIT_MAX_API_KEY)
		return false;
	for (const char *p = key; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return false;
	return true;
}

/* The key file by secret.h's rule (mode, owner, not a link), then the key's
 * own: one line of visible ASCII, white space around it cut. */
static enum config_err read_key_file(const char *path, struct config *out,
                                     char *why, unsigned whysize)
{
	char buf[LIMIT_MAX_API_KEY + KEY_FILE_SLACK + 1];
	enum config_err err = CONFIG_EKEYFILE;
	struct secret sec;
	enum secret_err se;

	se = secret_load(path, 1, sizeof buf - 1, &sec);
	if (se == SECRET_ESIZE) {
		say(why, whysize, "API key file %s is empty or too long", path);
		goto out;
	}
	if (se != SECRET_OK) {
		say(why, whysize, "API key file %s: %s", path, secret_strerror(se));
		goto out;
	}
	memcpy(buf, sec.bytes, sec.len + 1);
	if (memchr(buf, '\0', sec.len) || !key_clean(buf)) {
		say(why, whysize, "API key file %s is empty, too long, or holds spaces or "
		    "control characters inside the key", path);
		goto out;
	}
	text_copy(out->api_key, sizeof out->api_key, buf);
	err = CONFIG_OK;
out:
	explicit_bzero(buf, sizeof buf);
	secret_free(&sec);
	return err;
}

const char *config_key_file(const struct map_settings *s)
{
	const char *file = env("FM_API_KEY_FILE");

	if (env("FM_API_KEY"))
		return NULL;
	if (!file && s)
		file = settings_str(s->fm_api_key_file);
	return file;
}

static enum config_err resolve_key(const struct map_settings *s, struct config *out,
                                   char *why, unsigned whysize)
{
	const char *key = env("FM_API_KEY"), *file = config_key_file(s);

	if (key) {
		if (!text_copy(out->api_key, sizeof out->api_key, key) || !key_clean(out->api_key)) {
			say(why, whysize, "FM_API_KEY is too long or holds spaces or control characters");
			return CONFIG_EKEYFILE;
		}
		return CONFIG_OK;
	}
	if (!file) {
		say(why, whysize, "no API key (FM_API_KEY, FM_API_KEY_FILE, or "
		    "<freshmarketer api-key-file=...>)");
		return CONFIG_ENOKEY;
	}
	return read_key_file(file, out, why, whysize);
}

/* The spool a process without FMGATE_SPOOL uses. */
static const char *settings_spool(const struct map_settings *s)
{
	const char *d = s ? settings_str(s->spool_dir) : NULL;

	return d ? d : CONFIG_DEFAULT_SPOOL;
}

const char *config_spool_dir(const struct map_settings *s)
{
	const char *spool = env("FMGATE_SPOOL");

	return spool ? spool : settings_spool(s);
}

enum config_err config_resolve(const struct map_settings *s, struct config *out,
                               char *why, unsigned whysize)
{
	const char *spool = config_spool_dir(s);
	enum config_err err;

	memset(out, 0, sizeof *out);
	say(why, whysize, "%s", "");
	if ((err = resolve_base(s, out, why, whysize)) != CONFIG_OK ||
	    (err = resolve_key(s, out, why, whysize)) != CONFIG_OK)
		goto fail;
	if (!text_copy(out->spool_dir, sizeof out->spool_dir, spool)) {
		say(why, whysize, "spool directory path is too long");
		err = CONFIG_ESPOOL;
		goto fail;
	}
	out->timeout_ms = s && s->timeout_ms ? s->timeout_ms : LIMIT_DEFAULT_TIMEOUT_MS;
	out->fields_max_age_s = s && s->fm_fields_max_age ? s->fm_fields_max_age
	                                                  : CONFIG_DEFAULT_FIELDS_MAX_AGE;
	return CONFIG_OK;
fail:
	explicit_bzero(out->api_key, sizeof out->api_key);
	return err;
}

/* Whether the API base FM_API_BASE (`base`) or FM_DOMAIN (`domain`) makes is
 * the mapping's, byte for byte: the account fingerprint that keys the shared
 * state (pause, rate budget, caches) is made from it as written, so ACME and
 * acme would not share them. A value that makes none is compared as written. */
static bool same_base(const struct map_settings *s, const char *base, const char *domain)
{
	const char *mbase = s ? settings_str(s->fm_api_base) : NULL;
	const char *mdomain = s ? settings_str(s->fm_domain) : NULL;
	struct config a, b;

	if (!mbase && !mdomain)
		return false;
	if (make_base(base, "", domain, &a, NULL, 0) == CONFIG_OK &&
	    make_base(mbase, "", mdomain, &b, NULL, 0) == CONFIG_OK) {
		return strcmp(a.api_base, b.api_base) == 0;
	}
	return strcmp(base ? base : domain, mbase ? mbase : mdomain) == 0;
}

/* Whether path v names the mapping's `setting` as written: repeated slashes
 * count as one and trailing ones as none ("/x//sp/" is "/x/sp"); nothing else
 * ("." or "..", links) is resolved. */
static bool same_path(const char *v, const char *setting)
{
	if (!setting)
		return false;
	while (*v && *setting) {
		if (*v != *setting)
			return false;
		if (*v == '/') {
			v += strspn(v, "/");
			setting += strspn(setting, "/");
		} else {
			v++;
			setting++;
		}
	}
	return !v[strspn(v, "/")] && !setting[strspn(setting, "/")];
}

size_t config_env_only(const struct map_settings *s, struct config_env_note out[CONFIG_ENV_VARS])
{
	const char *base = env("FM_API_BASE"), *domain = env("FM_DOMAIN");
	const char *key_file = env("FM_API_KEY_FILE"), *spool = env("FMGATE_SPOOL");
	bool has_base = s && (settings_str(s->fm_api_base) || settings_str(s->fm_domain));
	bool has_key_file = s && settings_str(s->fm_api_key_file);
	size_t n = 0;

	if (base && !same_base(s, base, NULL))
		out[n++] = (struct config_env_note){"FM_API_BASE", "<freshmarketer api-base>", has_base};
	if (domain && !same_base(s, NULL, domain))
		out[n++] = (struct config_env_note){"FM_DOMAIN", "<freshmarketer domain>", has_base};
	if (env("FM_API_KEY"))
		out[n++] = (struct config_env_note){"FM_API_KEY", "<freshmarketer api-key-file>",
		                                    has_key_file};
	if (key_file && !same_path(key_file, s ? settings_str(s->fm_api_key_file) : NULL))
		out[n++] = (struct config_env_note){"FM_API_KEY_FILE", "<freshmarketer api-key-file>",
		                                    has_key_file};
	if (spool && !same_path(spool, settings_spool(s)))
		out[n++] = (struct config_env_note){"FMGATE_SPOOL", "<spool dir>",
		                                    s && settings_str(s->spool_dir)};
	return n;
}
