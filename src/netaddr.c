/* netaddr.c: IP addresses and CIDR ranges, IPv4 held as IPv4-mapped IPv6. */
#include "netaddr.h"

#include <arpa/inet.h>
#include <string.h>

static const unsigned char v4_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

bool netaddr_parse(const char *s, size_t len, struct netaddr *out)
{
	char tmp[NETADDR_MAX_INPUT + 1];

	if (len == 0 || len > NETADDR_MAX_INPUT || memchr(s, '\0', len))
		return false;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if (inet_pton(AF_INET, tmp, out->b + 12) == 1) {
		memcpy(out->b, v4_prefix, sizeof v4_prefix);
		return true;
	}
	return inet_pton(AF_INET6, tmp, out->b) == 1;
}

bool netaddr_is_v4(const struct netaddr *a)
{
	return memcmp(a->b, v4_prefix, sizeof v4_prefix) == 0;
}

/* True when the bits of a at and after `bits` are all 0. */
static bool host_bits_clear(const struct netaddr *a, unsigned bits)
{
	for (unsigned i = bits; i < 128; i++)
		if (a->b[i / 8] & (0x80u >> (i % 8)))
			return false;
	return true;
}

static bool prefix_equal(const struct netaddr *a, const struct netaddr *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;
	unsigned char mask = (unsigned char)(0xffu << (8 - rest));

	if (memcmp(a->b, b->b, whole) != 0)
		return false;
	return rest == 0 || ((a->b[whole] ^ b->b[whole]) & mask) == 0;
}

enum netaddr_err netrange_parse(const char *s, struct netrange *out)
{
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned n = 0, max;
	const char *p;

	if (!netaddr_parse(s, alen, &out->net))
		return NETADDR_EADDR;
	/* An IPv6 text of an IPv4-mapped address counts its prefix over 128
	 * bits already; only a dotted IPv4 one is over 32. */
	max = memchr(s, ':', alen) ? 128 : 32;
	if (!slash) {
		out->bits = 128;
		return NETADDR_OK;
	}
	p = slash + 1;
	if (*p == '\0' || strlen(p) > 3 || (p[0] == '0' && p[1] != '\0'))
		return NETADDR_EPREFIX;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return NETADDR_EPREFIX;
		n = n * 10 + (unsigned)(*p - '0');
	}
	if (n > max)
		return NETADDR_EPREFIX;
	out->bits = max == 32 ? 96 + n : n;
	if (!host_bits_clear(&out->net, out->bits))
		return NETADDR_EHOSTBITS;
	return NETADDR_OK;
}

/* A range's family: IPv4 when it lies inside ::ffff:0:0/96. */
static bool range_is_v4(const struct netrange *r)
{
	return r->bits >= 96 && netaddr_is_v4(&r->net);
}

bool netrange_has(const struct netrange *r, const struct netaddr *a)
{
	return range_is_v4(r) == netaddr_is_v4(a) && prefix_equal(&r->net, a, r->bits);
}

bool netrange_overlap(const struct netrange *a, const struct netrange *b)
{
	return range_is_v4(a) == range_is_v4(b) &&
	       prefix_equal(&a->net, &b->net, a->bits < b->bits ? a->bits : b->bits);
}

const char *netaddr_format(const struct netaddr *a, char *buf)
{
	if (netaddr_is_v4(a))
		inet_ntop(AF_INET, a->b + 12, buf, NETADDR_TEXT);
	else
		inet_ntop(AF_INET6, a->b, buf, NETADDR_TEXT);
	return buf;
}

const char *netaddr_strerror(enum netaddr_err e)
{
	switch (e) {
	case NETADDR_OK: return "ok";
	case NETADDR_EADDR: return "is not an IPv4 or IPv6 address or range";
	case NETADDR_EPREFIX: return "has a prefix length that is not 0 to 32 (IPv4) or 0 to 128 (IPv6)";
	case NETADDR_EHOSTBITS: return "has bits set after its prefix length";
	}
	return "unknown error";
}
