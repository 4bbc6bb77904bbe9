/* IP addresses and CIDR ranges (netaddr.c): parsing, mapped addresses, edges. */
#include <string.h>

#include "netaddr.h"
#include "t.h"

static bool in(const char *range, const char *addr)
{
	struct netrange r;
	struct netaddr a;

	return netrange_parse(range, &r) == NETADDR_OK &&
	       netaddr_parse(addr, strlen(addr), &a) && netrange_has(&r, &a);
}

static enum netaddr_err parse(const char *range)
{
	struct netrange r;

	return netrange_parse(range, &r);
}

static bool overlap(const char *x, const char *y)
{
	struct netrange a, b;

	return netrange_parse(x, &a) == NETADDR_OK && netrange_parse(y, &b) == NETADDR_OK &&
	       netrange_overlap(&a, &b);
}

static const char *fmt(const char *addr)
{
	static char buf[NETADDR_TEXT];
	struct netaddr a;

	return netaddr_parse(addr, strlen(addr), &a) ? netaddr_format(&a, buf) : "none";
}

int main(void)
{
	/* addresses */
	static const struct { const char *in, *want, *what; } c[] = {
		{ "10.0.0.1", "10.0.0.1", "IPv4" },
		{ "::ffff:10.0.0.1", "10.0.0.1", "IPv4-mapped is IPv4" },
		{ "::FFFF:a00:1", "10.0.0.1", "IPv4-mapped in hex" },
		{ "2001:DB8:0::1", "2001:db8::1", "IPv6, canonical" },
		{ "::10.0.0.1", "::10.0.0.1", "IPv4-compatible stays IPv6" },
		{ "010.0.0.1", "none", "leading zero" },
		{ "10.0.0", "none", "three parts" },
		{ " 10.0.0.1", "none", "space" },
		{ "10.0.0.1:80", "none", "port" },
		{ "[::1]", "none", "brackets" },
		{ "fe80::1%eth0", "none", "zone" },
		{ "", "none", "empty" },
	};
	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
		T_STREQ(fmt(c[i].in), c[i].want, "%s", c[i].what);
	{
		struct netaddr a;
		char big[NETADDR_MAX_INPUT + 2];

		memset(big, '0', sizeof big - 1);
		big[sizeof big - 1] = '\0';
		memcpy(big, "::", 2);
		T(!netaddr_parse(big, strlen(big), &a), "over NETADDR_MAX_INPUT refused");
		T(!netaddr_parse("10.0.0.1\0x", 10, &a), "embedded NUL refused");
		T(netaddr_parse("10.0.0.1x", 8, &a) && netaddr_is_v4(&a), "length honoured");
	}

	/* ranges: edges */
	T(in("10.0.0.1", "10.0.0.1") && !in("10.0.0.1", "10.0.0.2"), "a plain address is a /32");
	T(in("10.0.0.1/32", "10.0.0.1") && !in("10.0.0.1/32", "10.0.0.0"), "/32");
	T(in("10.0.0.0/8", "10.255.255.255") && !in("10.0.0.0/8", "11.0.0.0") &&
	  !in("10.0.0.0/8", "9.255.255.255"), "/8 bounds");
	T(in("192.168.0.0/23", "192.168.1.7") && !in("192.168.0.0/23", "192.168.2.0"), "/23, within a byte");
	T(in("0.0.0.0/0", "203.0.113.1") && in("0.0.0.0/0", "::ffff:203.0.113.1"), "IPv4 /0: every IPv4 address");
	T(!in("0.0.0.0/0", "2001:db8::1"), "IPv4 /0: no IPv6 address");
	T(in("::/0", "2001:db8::1") && in("::/0", "::"), "IPv6 /0: every IPv6 address");
	T(!in("::/0", "10.0.0.1") && !in("::/0", "::ffff:10.0.0.1"), "IPv6 /0: no IPv4 address");
	T(in("::1/128", "::1") && !in("::1/128", "::2"), "/128");
	T(in("2001:db8::/127", "2001:db8::1") && !in("2001:db8::/127", "2001:db8::2"), "/127");
	T(in("10.0.0.1", "::ffff:10.0.0.1"), "IPv4 range, mapped address");
	T(in("::ffff:10.0.0.0/104", "10.1.2.3") && !in("::ffff:10.0.0.0/104", "11.0.0.0"),
	  "mapped range is an IPv4 /8");
	T(in("::ffff:0:0/96", "1.2.3.4") && !in("::ffff:0:0/96", "2001:db8::1"), "::ffff:0:0/96 is IPv4 /0");
	T(!in("::ffff:0:0/95", "1.2.3.4"), "a wider IPv6 range is IPv6 only");

	/* ranges: refused */
	T(parse("10.0.0.0/33") == NETADDR_EPREFIX, "/33");
	T(parse("::/129") == NETADDR_EPREFIX, "/129");
	T(parse("10.0.0.0/") == NETADDR_EPREFIX, "empty prefix");
	T(parse("10.0.0.0/08") == NETADDR_EPREFIX, "leading zero in the prefix");
	T(parse("10.0.0.0/+8") == NETADDR_EPREFIX, "signed prefix");
	T(parse("10.0.0.0/8/8") == NETADDR_EPREFIX, "two slashes");
	T(parse("10.0.0.0/ 8") == NETADDR_EPREFIX, "space in the prefix");
	T(parse("10.0.0.0/0008") == NETADDR_EPREFIX, "long prefix");
	T(parse("10.0.0.1/8") == NETADDR_EHOSTBITS, "host bits after /8");
	T(parse("10.0.0.1/31") == NETADDR_EHOSTBITS, "host bit after /31");
	T(parse("2001:db8::1/64") == NETADDR_EHOSTBITS, "IPv6 host bits");
	T(parse("/8") == NETADDR_EADDR && parse("") == NETADDR_EADDR, "no address");
	T(parse("10.0.0.0/8 ") == NETADDR_EPREFIX, "trailing space");
	T(parse("example.com") == NETADDR_EADDR, "a name");
	T(parse("10.0.0.0/0") == NETADDR_EHOSTBITS, "10.0.0.0/0 has host bits");
	T(parse("::ffff:10.0.0.0/8") == NETADDR_EHOSTBITS, "a mapped address counts 128 bits");
	T(strcmp(netaddr_strerror(NETADDR_EHOSTBITS), "unknown error") != 0, "messages");

	/* overlap */
	T(overlap("10.0.0.0/8", "10.1.0.0/16") && overlap("10.1.0.0/16", "10.0.0.0/8"), "nested");
	T(!overlap("10.0.0.0/16", "10.1.0.0/16"), "apart");
	T(overlap("10.0.0.1", "::ffff:10.0.0.1"), "one address, two spellings");
	T(!overlap("::/0", "0.0.0.0/0"), "families apart");
	T_DONE();
}
