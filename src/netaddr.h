/*
 * netaddr.h: IP addresses and CIDR ranges, IPv4 and IPv6 in one form.
 *
 * Every address is held as 16 bytes, an IPv4 one as its IPv4-mapped IPv6
 * address (::ffff:a.b.c.d), so that "10.0.0.1" and "::ffff:10.0.0.1" (what a
 * dual-stack socket reports for an IPv4 peer) are one address. A range keeps
 * its family: an IPv4 range (or an IPv6 one inside ::ffff:0:0/96) holds only
 * IPv4 addresses, an IPv6 range only IPv6 ones, so "::/0" is every IPv6
 * address and not every IPv4 one too.
 *
 * Parsing is strict: inet_pton's forms, nothing around them (no brackets,
 * port, zone or white space); a range's prefix is decimal without a sign or
 * leading zero, at most the family's bits, and the address has no bit set
 * after it ("10.0.0.1/8" is refused: it reads as a typo for one address).
 *
 * Ownership: plain values, nothing allocated.
 */
#ifndef FMGATE_NETADDR_H
#define FMGATE_NETADDR_H

#include <stdbool.h>
#include <stddef.h>

#define NETADDR_TEXT 46u   /* bytes of an address as text, NUL included (INET6_ADDRSTRLEN) */
#define NETADDR_MAX_INPUT 64u /* bytes of an address or range looked at; longer is refused */

struct netaddr {
	unsigned char b[16];
};

struct netrange {
	struct netaddr net;
	unsigned bits;     /* prefix length over the 16 bytes: an IPv4 /n is 96 + n */
};

enum netaddr_err {
	NETADDR_OK = 0,
	NETADDR_EADDR,     /* not an IPv4 or IPv6 address */
	NETADDR_EPREFIX,   /* the prefix after '/' is not a number within the family's bits */
	NETADDR_EHOSTBITS, /* bits set after the prefix */
};

/* The address s[0..len) (no NUL needed); false when it is not one. */
bool netaddr_parse(const char *s, size_t len, struct netaddr *out);

/* True when a is an IPv4 address (written so or IPv4-mapped). */
bool netaddr_is_v4(const struct netaddr *a);

/* "ADDRESS" (a range of one) or "ADDRESS/PREFIX", NUL-terminated. */
enum netaddr_err netrange_parse(const char *s, struct netrange *out);

/* True when a is inside r (same family, the first r->bits bits equal). */
bool netrange_has(const struct netrange *r, const struct netaddr *a);

/* True when one range holds the other (ranges are either nested or apart). */
bool netrange_overlap(const struct netrange *a, const struct netrange *b);

/* The address as text in buf (at least NETADDR_TEXT bytes): an IPv4 one
 * dotted, an IPv6 one in inet_ntop's canonical form. Returns buf. */
const char *netaddr_format(const struct netaddr *a, char *buf);

const char *netaddr_strerror(enum netaddr_err e);

#endif
