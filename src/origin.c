/* origin.c: origins of requests and allow-list matching, over url.h. */
#include "origin.h"

#include <string.h>

bool origin_read(const char *url, struct url *out)
{
	return url_parse(url, URL_SOURCE, out) == URL_OK;
}

/* Does the allow-list entry match the origin? "*.domain" wants at least one
 * label before ".domain", so it never matches the apex. */
static bool entry_matches(const struct url *e, const struct url *o)
{
	size_t el, ol;

	if (e->https != o->https || e->port != o->port)
		return false;
	if (!e->wildcard)
		return strcmp(e->host, o->host) == 0;
	el = strlen(e->host);
	ol = strlen(o->host);
	return ol > el + 1 && o->host[ol - el - 1] == '.' && strcmp(o->host + ol - el, e->host) == 0;
}

bool origin_in_list(const struct map_form *f, const struct url *origin)
{
	for (size_t i = 0; i < f->n_allow_origins; i++)
		if (entry_matches(&f->allow_urls[i], origin))
			return true;
	return false;
}

bool origin_next_allowed(const struct map_form *f, const char *next)
{
	struct url u;

	/* A path has no host: it stays on the site that serves fmgate. */
	return url_parse(next, URL_TARGET, &u) == URL_OK && (!u.host[0] || origin_in_list(f, &u));
}
