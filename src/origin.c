/* origin.c: origins of requests and allow-list matching, over url.h. */
#include "origin.h"

#include <string.h>

#include "url.h"

bool origin_of_url(const char *url, char out[ORIGIN_MAX])
{
	struct url u;

	return url_parse(url, URL_SOURCE, &u) == URL_OK && url_origin(&u, out, ORIGIN_MAX);
}

/* Does the allow-list entry match the origin? "*.domain" wants at least one
 * label before ".domain", so it never matches the apex. */
static bool entry_matches(const char *entry, const struct url *o)
{
	struct url e;
	size_t el, ol;

	if (url_parse(entry, URL_ALLOW, &e) != URL_OK || e.https != o->https || e.port != o->port)
		return false;
	if (!e.wildcard)
		return strcmp(e.host, o->host) == 0;
	el = strlen(e.host);
	ol = strlen(o->host);
	return ol > el + 1 && o->host[ol - el - 1] == '.' && strcmp(o->host + ol - el, e.host) == 0;
}

static bool listed(const struct map_form *f, const struct url *o)
{
	for (size_t i = 0; i < f->n_allow_origins; i++)
		if (entry_matches(f->allow_origins[i], o))
			return true;
	return false;
}

bool origin_in_list(const struct map_form *f, const char *origin)
{
	struct url o;

	return url_parse(origin, URL_SOURCE, &o) == URL_OK && listed(f, &o);
}

bool origin_next_allowed(const struct map_form *f, const char *next)
{
	struct url u;

	/* A path has no host: it stays on the site that serves fmgate. */
	return url_parse(next, URL_TARGET, &u) == URL_OK && (!u.host[0] || listed(f, &u));
}
