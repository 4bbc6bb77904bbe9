/* test_config.c: environment over <settings>, base URL rules, key files. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "t.h"

static char dir[64];
/* Paths in the test's own folder (made in main); only their text is used. */
static char p_map[96], p_spool[96], p_sp[96], p_key[96], p_key2[96], p_k[96];

static void make_paths(void)
{
	snprintf(p_map, sizeof p_map, "%s/x.xml", dir);
	snprintf(p_spool, sizeof p_spool, "%s/spool", dir);
	snprintf(p_sp, sizeof p_sp, "%s/sp", dir);
	snprintf(p_key, sizeof p_key, "%s/api-key", dir);
	snprintf(p_key2, sizeof p_key2, "%s/key", dir);
	snprintf(p_k, sizeof p_k, "%s/k", dir);
}

static void clear_env(void)
{
	static const char *const vars[] = {"FM_API_BASE", "FM_DOMAIN", "FM_API_KEY",
	                                   "FM_API_KEY_FILE", "FMGATE_SPOOL", "FMGATE_CONFIG"};
	for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
		unsetenv(vars[i]);
}

/* Writes `content` to dir/name with `mode`; returns the path (static buffer). */
static const char *key_file(const char *name, const char *content, size_t len, mode_t mode)
{
	static char path[128];
	int fd;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, content, len) != (ssize_t)len || fchmod(fd, mode) != 0) {
		perror(path);
		exit(2);
	}
	close(fd);
	return path;
}

static void test_base_allowed(void)
{
	static const char *const good[] = {
		"https://acme.myfreshworks.com/crm/sales/api", "https://h:8443/x", "https://h",
		"HTTPS://H/x", "http://127.0.0.1:8080/crm/sales/api", "http://127.255.0.1",
		"http://localhost:1/x", "http://LOCALHOST/", "http://[::1]:80/x",
		"https://[2001:db8::1]/x", "http://127.0.0.0/a%20b", "https://[2001:0DB8::1]/x",
	};
	static const char *const bad[] = {
		"", "http://example.com/x", "http://127.0.0.1.evil.com/", "http://128.0.0.1/",
		"http://127.0.0.01/", "http://127.1/", "http://0x7f.0.0.1/", "http://127.0.0.256/",
		"http://127.0.0.1./", "http://user@127.0.0.1/", "https://user:pw@h/",
		"http://127.0.0.1:8080@evil.com/", "https://h/x y", "https://h/x\n", "https://h/\x7f",
		"https://h/\xc3\xa9", "ftp://h/", "https://", "https:///x", "https://h:0/",
		"https://h:65536/", "https://h:abc/", "https://h:/x", "https://h/?q=1", "https://h/#f",
		"https://h\\x/", "http://[::2]/", "http://[::1/", "https://[]/", "https://[g::1]/",
		"file:///etc/passwd", " https://h/", "https://h_1/", "http://localhost.evil.com/",
		"https:h/x", "//h/x",
		/* What libcurl would read as another host, and empty labels. */
		"https://127.1/", "https://0x7f.0.0.1/", "https://ex%61mple.com/", "https:/h/x",
		"https://h./", "https://a..b/", "http://[0::1]/", "https://[fe80::1%25eth0]/",
		"https://h/a@b",
	};
	char longurl[LIMIT_MAX_URL + 16];

	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		T(config_base_allowed(good[i]), "allowed: %s", good[i]);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		T(!config_base_allowed(bad[i]), "refused: %s", bad[i]);
	memcpy(longurl, "https://h/", 10);
	memset(longurl + 10, 'a', sizeof longurl - 11);
	longurl[sizeof longurl - 1] = '\0';
	T(!config_base_allowed(longurl), "over LIMIT_MAX_URL refused");
}

static enum config_err resolve(const struct map_settings *s, struct config *c, char *why)
{
	return config_resolve(s, c, why, 256);
}

static void test_base(void)
{
	struct config c;
	char why[256];
	struct map_settings s = {0};

	clear_env();
	setenv("FM_API_KEY", "k", 1);
	T(resolve(NULL, &c, why) == CONFIG_ENOBASE, "no base at all");
	T(strstr(why, "FM_DOMAIN") != NULL, "why names the variables: %s", why);

	setenv("FM_DOMAIN", "acme", 1);
	T(resolve(NULL, &c, why) == CONFIG_OK, "alias");
	T_STREQ(c.api_base, "https://acme.myfreshworks.com/crm/sales/api", "alias expanded");
	setenv("FM_DOMAIN", "acme.myfreshworks.com", 1);
	T(resolve(NULL, &c, why) == CONFIG_OK, "full host");
	T_STREQ(c.api_base, "https://acme.myfreshworks.com/crm/sales/api", "full host kept");
	{
		static const char *const bad[] = {"ac me", "-acme", "acme-", ".acme", "acme.",
		                                  "a..b", "acme/x", "acme:1", "a@b", "acme\n",
		                                  "ac%6de", "acme?x", "acme#x"};
		for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
			setenv("FM_DOMAIN", bad[i], 1);
			T(resolve(NULL, &c, why) == CONFIG_EBASE, "bad domain %s", bad[i]);
		}
	}

	{
		char label[80], alias[256];

		memset(label, 'a', 64);
		label[64] = '\0';
		setenv("FM_DOMAIN", label, 1);
		T(resolve(NULL, &c, why) == CONFIG_EBASE, "a 64-byte label");
		memset(alias, 'a', 240);
		alias[240] = '\0';
		label[63] = '\0';
		setenv("FM_DOMAIN", label, 1);
		T(resolve(NULL, &c, why) == CONFIG_OK, "a 63-byte alias: %s", why);
		for (size_t i = 63; i < 240; i += 64)
			alias[i] = '.';
		setenv("FM_DOMAIN", alias, 1);
		T(resolve(NULL, &c, why) == CONFIG_OK, "a 240-byte host");
		setenv("FM_DOMAIN", "127.1", 1);
		T(resolve(NULL, &c, why) == CONFIG_EBASE && strstr(why, "libcurl"),
		  "a host libcurl reads as 127.0.0.1: %s", why);
	}

	s.fm_domain = "fromfile";
	s.fm_api_base = "https://file.example/api";
	setenv("FM_DOMAIN", "fromenv", 1);
	T(resolve(&s, &c, why) == CONFIG_OK, "env domain over file base");
	T_STREQ(c.api_base, "https://fromenv.myfreshworks.com/crm/sales/api", "env wins");
	setenv("FM_API_BASE", "http://127.0.0.1:9/crm/sales/api///", 1);
	T(resolve(&s, &c, why) == CONFIG_OK, "FM_API_BASE over FM_DOMAIN");
	T_STREQ(c.api_base, "http://127.0.0.1:9/crm/sales/api", "trailing slashes stripped");
	unsetenv("FM_API_BASE");
	unsetenv("FM_DOMAIN");
	T(resolve(&s, &c, why) == CONFIG_OK, "file base");
	T_STREQ(c.api_base, "https://file.example/api", "file base over file domain");
	s.fm_api_base = NULL;
	T(resolve(&s, &c, why) == CONFIG_OK, "file domain");
	T_STREQ(c.api_base, "https://fromfile.myfreshworks.com/crm/sales/api", "file domain");
	setenv("FM_DOMAIN", "", 1);
	T(resolve(&s, &c, why) == CONFIG_OK && strstr(c.api_base, "fromfile"),
	  "empty variable counts as unset");

	setenv("FM_API_BASE", "http://example.com/crm/sales/api", 1);
	T(resolve(&s, &c, why) == CONFIG_EBASE, "plain http to a remote host refused");
	T(strstr(why, "FM_API_BASE") != NULL, "why names the source: %s", why);
	T(c.api_key[0] == '\0', "no key left behind on error");
	setenv("FM_API_BASE", "https://", 1);
	T(resolve(&s, &c, why) == CONFIG_EBASE, "empty host");
	setenv("FM_API_BASE", "///", 1);
	T(resolve(&s, &c, why) == CONFIG_EBASE, "only slashes");
	clear_env();
}

static void test_key(void)
{
	struct config c;
	char why[256], longkey[LIMIT_MAX_API_KEY + 2];
	struct map_settings s = {0};
	const char *p;

	clear_env();
	setenv("FM_DOMAIN", "acme", 1);
	T(resolve(NULL, &c, why) == CONFIG_ENOKEY, "no key");
	T(strstr(why, "FM_API_KEY") != NULL, "why: %s", why);

	setenv("FM_API_KEY", "  envkey\n", 1);
	T(resolve(NULL, &c, why) == CONFIG_OK, "env key");
	T_STREQ(c.api_key, "envkey", "env key trimmed");
	setenv("FM_API_KEY", "env key", 1);
	T(resolve(NULL, &c, why) == CONFIG_EKEYFILE, "space inside the key refused");
	T(strstr(why, "env key") == NULL, "why never holds the key: %s", why);
	memset(longkey, 'k', sizeof longkey - 1);
	longkey[sizeof longkey - 1] = '\0';
	setenv("FM_API_KEY", longkey, 1);
	T(resolve(NULL, &c, why) == CONFIG_EKEYFILE, "key over LIMIT_MAX_API_KEY");
	longkey[LIMIT_MAX_API_KEY] = '\0';
	setenv("FM_API_KEY", longkey, 1);
	T(resolve(NULL, &c, why) == CONFIG_OK && strlen(c.api_key) == LIMIT_MAX_API_KEY,
	  "key of exactly LIMIT_MAX_API_KEY");
	unsetenv("FM_API_KEY");

	p = key_file("k600", "filekey\r\n", 9, 0600);
	setenv("FM_API_KEY_FILE", p, 1);
	T(resolve(NULL, &c, why) == CONFIG_OK, "0600 key file: %s", why);
	T_STREQ(c.api_key, "filekey", "newline trimmed");
	setenv("FM_API_KEY", "envwins", 1);
	T(resolve(NULL, &c, why) == CONFIG_OK && strcmp(c.api_key, "envwins") == 0,
	  "FM_API_KEY over FM_API_KEY_FILE");
	unsetenv("FM_API_KEY");
	p = key_file("k400", "ro", 2, 0400);
	setenv("FM_API_KEY_FILE", p, 1);
	T(resolve(NULL, &c, why) == CONFIG_OK && strcmp(c.api_key, "ro") == 0, "0400 accepted");

	p = key_file("k644", "SECRETKEY\n", 10, 0644);
	setenv("FM_API_KEY_FILE", p, 1);
	T(resolve(NULL, &c, why) == CONFIG_EKEYFILE, "0644 refused");
	T(strstr(why, "group or others may read or write it") != NULL, "why: %s", why);
	T(strstr(why, "SECRETKEY") == NULL && c.api_key[0] == '\0', "key not leaked");
	p = key_file("k640", "k", 1, 0640);
	setenv("FM_API_KEY_FILE", p, 1);
	T(resolve(NULL, &c, why) == CONFIG_EKEYFILE, "0640 refused");
	p = key_file("k604", "k", 1, 0604);
	setenv("FM_API_KEY_FILE", p, 1);
	T(resolve(NULL, &c, why) == CONFIG_EKEYFILE, "0604 refused");
	/* Writable by others: whoever may write it chooses the account. */
	{
		static const mode_t writable[] = { 0620, 0602, 0622, 0666, 0660, 0606 };

		for (size_t i = 0; i < sizeof writable / sizeof writable[0]; i++) {
			p = key_file("kw", "WRITABLEKEY", 11, writable[i]);
			setenv("FM_API_KEY_FILE", p, 1);
			T(resolve(NULL, &c, why) == CONFIG_EKEYFILE && c.api_key[0] == '\0',
			  "%04o refused", (unsigned)writable[i]);
			T(strstr(why, "group or others may read or write it") != NULL &&
			  strstr(why, "WRITABLEKEY") == NULL, "%04o: why: %s", (unsigned)writable[i], why);
		}
	}
	/* Another user's file (root runs the tests: nobody is another user). */
	if (geteuid() == 0) {
		p = key_file("knobody", "NOBODYKEY", 9, 0600);
		T(chown(p, 65534, 65534) == 0, "chown to nobody");
		setenv("FM_API_KEY_FILE", p, 1);
		T(resolve(NULL, &c, why) == CONFIG_EKEYFILE && c.api_key[0] == '\0',
		  "a key file owned by nobody refused");
		T(strstr(why, "belongs to a user other than root") != NULL &&
		  strstr(why, "NOBODYKEY") == NULL, "why: %s", why);
	}
	/* A link is refused even to a good file: whoever may re-point it chooses. */
	{
		char link[160];

		p = key_file("ktarget", "LINKEDKEY", 9, 0600);
		snprintf(link, sizeof link, "%s/klink", dir);
		unlink(link);
		T(symlink(p, link) == 0, "symlink made");
		setenv("FM_API_KEY_FILE", link, 1);
		T(resolve(NULL, &c, why) == CONFIG_EKEYFILE, "a key file that is a link refused");
		T(strstr(why, "a link") != NULL, "why: %s", why);
	}

	p = key_file("empty", "", 0, 0600);
	setenv("FM_API_KEY_FILE", p, 1);
	T(resolve(NULL, &c, why) == CONFIG_EKEYFILE, "empty file");
	p = key_file("blank", " \n\t\n", 4, 0600);
	setenv("FM_API_KEY_FILE", p, 1);
	T(resolve(NULL, &c, why) == CONFIG_EKEYFILE, "blank file");
	p = key_file("ctl", "ab\x01" "cd", 5, 0600);
	setenv("FM_API_KEY_FILE", p, 1);
	T(resolve(NULL, &c, why) == CONFIG_EKEYFILE, "control character inside");
	p = key_file("nul", "ab\0cd", 5, 0600);
	setenv("FM_API_KEY_FILE", p, 1);
	T(resolve(NULL, &c, why) == CONFIG_EKEYFILE, "NUL byte inside");
	p = key_file("two", "line1\nline2\n", 12, 0600);
	setenv("FM_API_KEY_FILE", p, 1);
	T(resolve(NULL, &c, why) == CONFIG_EKEYFILE, "two lines");
	{
		char big[LIMIT_MAX_API_KEY + 200];
		memset(big, 'k', sizeof big);
		p = key_file("big", big, sizeof big, 0600);
		setenv("FM_API_KEY_FILE", p, 1);
		T(resolve(NULL, &c, why) == CONFIG_EKEYFILE, "file over the cap");
		T(strstr(why, "too long") != NULL, "why: %s", why);
		memset(big + LIMIT_MAX_API_KEY, '\n', 60);
		p = key_file("bigws", big, LIMIT_MAX_API_KEY + 60, 0600);
		setenv("FM_API_KEY_FILE", p, 1);
		T(resolve(NULL, &c, why) == CONFIG_OK && strlen(c.api_key) == LIMIT_MAX_API_KEY,
		  "longest key plus trailing newlines: %s", why);
	}
	snprintf(why, sizeof why, "%s/missing", dir);
	setenv("FM_API_KEY_FILE", why, 1);
	T(resolve(NULL, &c, why) == CONFIG_EKEYFILE, "missing file");
	T(strstr(why, "cannot be opened") != NULL, "why: %s", why);
	setenv("FM_API_KEY_FILE", dir, 1);
	T(resolve(NULL, &c, why) == CONFIG_EKEYFILE, "a directory");

	unsetenv("FM_API_KEY_FILE");
	s.fm_api_key_file = (char *)key_file("fromfile", "settingskey", 11, 0600);
	T(resolve(&s, &c, why) == CONFIG_OK && strcmp(c.api_key, "settingskey") == 0,
	  "<freshmarketer api-key-file>");
	setenv("FM_API_KEY_FILE", key_file("envfile", "envfilekey", 10, 0600), 1);
	T(resolve(&s, &c, why) == CONFIG_OK && strcmp(c.api_key, "envfilekey") == 0,
	  "FM_API_KEY_FILE over the settings");
	clear_env();
}

static void test_rest(void)
{
	struct config c;
	char why[256], longpath[LIMIT_MAX_URL + 8];
	struct map_settings s = {0};

	clear_env();
	T_STREQ(config_mapping_path(), CONFIG_DEFAULT_MAPPING, "default mapping path");
	setenv("FMGATE_CONFIG", p_map, 1);
	T_STREQ(config_mapping_path(), p_map, "FMGATE_CONFIG");
	setenv("FMGATE_CONFIG", "", 1);
	T_STREQ(config_mapping_path(), CONFIG_DEFAULT_MAPPING, "empty FMGATE_CONFIG ignored");

	setenv("FM_DOMAIN", "acme", 1);
	setenv("FM_API_KEY", "k", 1);
	T(resolve(NULL, &c, why) == CONFIG_OK, "resolves");
	T_STREQ(c.spool_dir, CONFIG_DEFAULT_SPOOL, "default spool");
	T(c.timeout_ms == LIMIT_DEFAULT_TIMEOUT_MS, "default timeout");
	T(c.fields_max_age_s == CONFIG_DEFAULT_FIELDS_MAX_AGE && c.fields_max_age_s == 3600,
	  "default field list age: an hour");
	T(why[0] == '\0', "why empty on success");
	s.spool_dir = p_spool;
	s.timeout_ms = 1500;
	s.fm_fields_max_age = 60;
	T(resolve(&s, &c, why) == CONFIG_OK, "with settings");
	T(c.fields_max_age_s == 60, "fields-max-age from the settings");
	T_STREQ(c.spool_dir, p_spool, "settings spool");
	T(c.timeout_ms == 1500, "settings timeout");
	setenv("FMGATE_SPOOL", "", 1);
	T(resolve(&s, &c, why) == CONFIG_OK && strcmp(c.spool_dir, p_spool) == 0 &&
	  strcmp(config_spool_dir(&s), p_spool) == 0, "an empty FMGATE_SPOOL counts as unset");
	setenv("FMGATE_SPOOL", p_sp, 1);
	T(strcmp(config_spool_dir(&s), p_sp) == 0, "config_spool_dir: FMGATE_SPOOL first");
	T(resolve(&s, &c, why) == CONFIG_OK, "env spool");
	T_STREQ(c.spool_dir, p_sp, "FMGATE_SPOOL over settings");
	memset(longpath, 'a', sizeof longpath - 1);
	longpath[sizeof longpath - 1] = '\0';
	setenv("FMGATE_SPOOL", longpath, 1);
	T(resolve(&s, &c, why) == CONFIG_ESPOOL, "spool path too long");
	T(config_resolve(&s, &c, NULL, 0) == CONFIG_ESPOOL, "why may be NULL");
	clear_env();
}

/* config_env_only with `s`: the notes' count, and the first's variable and
 * whether it overrides the mapping. */
static void env_only(const struct map_settings *s, size_t want_n, const char *want_var,
                     bool want_overrides, const char *what)
{
	struct config_env_note v[CONFIG_ENV_VARS];
	size_t n = config_env_only(s, v);

	T(n == want_n, "%s: %zu notes (got %zu, first %s)", what, want_n, n, n ? v[0].var : "-");
	if (n && want_var)
		T(strcmp(v[0].var, want_var) == 0 && v[0].overrides == want_overrides,
		  "%s: %s, overrides %d (got %s, %d)", what, want_var, want_overrides, v[0].var,
		  v[0].overrides);
}

static void test_env_only(void)
{
	struct config_env_note v[CONFIG_ENV_VARS];
	struct map_settings s = {0};

	clear_env();
	env_only(NULL, 0, NULL, false, "no variable");
	setenv("FMGATE_CONFIG", p_map, 1);
	env_only(NULL, 0, NULL, false, "FMGATE_CONFIG is how both find the mapping");
	setenv("FM_DOMAIN", "", 1);
	env_only(NULL, 0, NULL, false, "an empty variable counts as unset");

	setenv("FM_DOMAIN", "acme", 1);
	env_only(NULL, 1, "FM_DOMAIN", false, "FM_DOMAIN, no mapping");
	env_only(&s, 1, "FM_DOMAIN", false, "FM_DOMAIN, no domain in the mapping");
	T(config_env_only(&s, v) == 1 && strcmp(v[0].attr, "<freshmarketer domain>") == 0,
	  "FM_DOMAIN: names <freshmarketer domain>");
	s.fm_domain = "acme";
	env_only(&s, 0, NULL, false, "FM_DOMAIN as the mapping's domain");
	s.fm_domain = "acme.myfreshworks.com";
	env_only(&s, 0, NULL, false, "FM_DOMAIN as the mapping's domain, written as a host");
	s.fm_domain = "other";
	env_only(&s, 1, "FM_DOMAIN", true, "FM_DOMAIN over another domain");
	s.fm_domain = NULL;
	s.fm_api_base = "https://acme.myfreshworks.com/crm/sales/api/";
	env_only(&s, 0, NULL, false, "FM_DOMAIN making the mapping's api-base");
	unsetenv("FM_DOMAIN");

	setenv("FM_API_BASE", "https://acme.myfreshworks.com/crm/sales/api", 1);
	env_only(&s, 0, NULL, false, "FM_API_BASE as the mapping's api-base");
	s.fm_api_base = NULL;
	s.fm_domain = "acme";
	env_only(&s, 0, NULL, false, "FM_API_BASE as the mapping's domain makes it");
	setenv("FM_API_BASE", "http://127.0.0.1:9/crm/sales/api", 1);
	env_only(&s, 1, "FM_API_BASE", true, "FM_API_BASE over the mapping's domain");
	T(config_env_only(&s, v) == 1 && strcmp(v[0].attr, "<freshmarketer api-base>") == 0,
	  "FM_API_BASE: names <freshmarketer api-base>");
	s.fm_domain = NULL;
	env_only(&s, 1, "FM_API_BASE", false, "FM_API_BASE, none in the mapping");
	setenv("FM_API_BASE", "http://example.com/x", 1);
	s.fm_api_base = "http://example.com/x";
	env_only(&s, 0, NULL, false, "a refused base equal to the mapping's as written");
	s.fm_api_base = NULL;
	unsetenv("FM_API_BASE");

	setenv("FM_API_KEY", "k", 1);
	env_only(&s, 1, "FM_API_KEY", false, "FM_API_KEY, no key file in the mapping");
	s.fm_api_key_file = p_key;
	env_only(&s, 1, "FM_API_KEY", true, "FM_API_KEY over the mapping's key file");
	unsetenv("FM_API_KEY");
	setenv("FM_API_KEY_FILE", p_key, 1);
	env_only(&s, 0, NULL, false, "FM_API_KEY_FILE as the mapping's");
	setenv("FM_API_KEY_FILE", p_key2, 1);
	env_only(&s, 1, "FM_API_KEY_FILE", true, "FM_API_KEY_FILE over another file");
	T(config_env_only(&s, v) == 1 && strcmp(v[0].attr, "<freshmarketer api-key-file>") == 0,
	  "FM_API_KEY_FILE: names <freshmarketer api-key-file>");
	s.fm_api_key_file = NULL;
	env_only(&s, 1, "FM_API_KEY_FILE", false, "FM_API_KEY_FILE, none in the mapping");
	unsetenv("FM_API_KEY_FILE");

	setenv("FMGATE_SPOOL", CONFIG_DEFAULT_SPOOL, 1);
	env_only(&s, 0, NULL, false, "FMGATE_SPOOL as the default the mapping leaves");
	setenv("FMGATE_SPOOL", p_spool, 1);
	env_only(&s, 1, "FMGATE_SPOOL", false, "FMGATE_SPOOL, none in the mapping");
	T(config_env_only(&s, v) == 1 && strcmp(v[0].attr, "<spool dir>") == 0,
	  "FMGATE_SPOOL: names <spool dir>");
	s.spool_dir = p_spool;
	env_only(&s, 0, NULL, false, "FMGATE_SPOOL as the mapping's");
	setenv("FMGATE_SPOOL", CONFIG_DEFAULT_SPOOL, 1);
	env_only(&s, 1, "FMGATE_SPOOL", true, "FMGATE_SPOOL over the mapping's");

	setenv("FM_API_BASE", "https://b.example/api", 1);
	setenv("FM_DOMAIN", "d", 1);
	setenv("FM_API_KEY", "k", 1);
	setenv("FM_API_KEY_FILE", p_k, 1);
	setenv("FMGATE_SPOOL", p_spool, 1);
	T(config_env_only(NULL, v) == CONFIG_ENV_VARS && strcmp(v[0].var, "FM_API_BASE") == 0 &&
	  strcmp(v[1].var, "FM_DOMAIN") == 0 && strcmp(v[2].var, "FM_API_KEY") == 0 &&
	  strcmp(v[3].var, "FM_API_KEY_FILE") == 0 && strcmp(v[4].var, "FMGATE_SPOOL") == 0,
	  "every variable, in order");
	clear_env();
}

static void remove_dir(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[128];

	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.' && snprintf(path, sizeof path, "%s/%s", dir, e->d_name) > 0)
			unlink(path);
	if (d)
		closedir(d);
	rmdir(dir);
}

int main(void)
{

	snprintf(dir, sizeof dir, "/tmp/fmgate-test-config.XXXXXX");
	if (!mkdtemp(dir))
		return 2;
	make_paths();
	test_base_allowed();
	test_base();
	test_key();
	test_rest();
	test_env_only();
	remove_dir();
	T_DONE();
}
