/*
 * fmgate_limits.h: every named limit on input, in one place.
 *
 * Values a mapping file can change (<limits>, <spool>, <delivery>) have their
 * defaults here; the rest are fixed caps that protect the parsers. Each limit is
 * checked before the memory it bounds is allocated.
 */
#ifndef FMGATE_LIMITS_H
#define FMGATE_LIMITS_H

#include <stddef.h>

/* Defaults for <limits> in the mapping file. */
#define LIMIT_DEFAULT_MAX_BODY   65536u   /* bytes of request body */
#define LIMIT_DEFAULT_MAX_FIELDS 100u     /* name=value pairs in one body */
#define LIMIT_DEFAULT_MAX_VALUE  4000u    /* bytes of one decoded value */
#define LIMIT_DEFAULT_READ_TIMEOUT_MS 10000u /* to receive the whole body */

/* Hard ceilings a mapping file may not exceed (schema and check enforce them). */
#define LIMIT_CEIL_MAX_BODY      (16u * 1024u * 1024u)
#define LIMIT_CEIL_MAX_FIELDS    10000u
#define LIMIT_CEIL_MAX_VALUE     (1024u * 1024u)
#define LIMIT_CEIL_READ_TIMEOUT_MS 300000u

/* Fixed caps. */
#define LIMIT_MAX_FIELD_NAME     256u     /* bytes of one decoded field name */
#define LIMIT_MAX_HEADER         8192u    /* bytes of one request header we read (Cookie, Referer...) */
#define LIMIT_MAX_COOKIE_VALUE   1024u    /* bytes of one decoded cookie value */
#define LIMIT_MAX_FORM_ID        64u      /* bytes of a form id in the URL */
#define LIMIT_MAX_URL            2048u    /* bytes of a redirect target or page URL we keep */
#define LIMIT_MAX_MULTIPART_HEAD 1024u    /* bytes of the headers of one multipart part */
#define LIMIT_MAX_BOUNDARY       70u      /* RFC 2046 */
#define LIMIT_MAX_ERRORS         32u      /* field errors reported for one submission */
#define LIMIT_MAX_MAPPING_FILE   (4u * 1024u * 1024u)  /* bytes of the mapping file */
#define LIMIT_MAX_API_KEY        256u     /* bytes of an API key */
#define LIMIT_MAX_EMAIL          254u     /* bytes of an address fmgate mails to or from (RFC 5321 path) */
#define LIMIT_MAX_UPSTREAM_BODY  (1024u * 1024u)       /* bytes of a Freshmarketer answer */
#define LIMIT_MAX_TRAIT_DEPTH    4u       /* dots in a trait name + 1 */
#define LIMIT_MAX_FCGI_HEAD      65536u   /* bytes of a FastCGI request before its body: the begin record and the parameters */
#define LIMIT_MAX_FCGI_JOINED    16384u   /* bytes of the copies of one HTTP_* parameter `serve` joins (RFC 3875); over it, the right-most entries */
#define LIMIT_MAX_FCGI_DISCARD   (1024u * 1024u) /* bytes of a refused body `serve` reads and drops to keep a connection */

/* Defaults for <delivery>. */
#define LIMIT_DEFAULT_TIMEOUT_MS 3000u
#define LIMIT_CONNECT_TIMEOUT_MS 2000u

/* Per-request limits taken from the mapping file's <limits>. */
struct form_limits {
	size_t max_body;
	size_t max_fields;
	size_t max_value;
};

#endif
