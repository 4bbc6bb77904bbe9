#!/bin/bash
# Proxies and CDNs (<trusted-proxy> with CIDR ranges and a header): through a
# trusted proxy each visitor gets its own budget, in every header form
# (X-Forwarded-For, CF-Connecting-IP, True-Client-IP, X-Real-IP); the same
# headers from an untrusted peer, or holding garbage, change nothing; a proxy
# written as IPv4 is matched when it connects as ::ffff:a.b.c.d. Each visitor
# may post twice (per-ip="2"), so a third post tells whose budget was spent.
# Without the ranges, the headers or the mapped-address normalisation, the
# "own budget" checks fail (every visitor counts as the proxy).
. "$(dirname "$0")/common.bash"
double_reset
MAPPING="$ATK_TMP/forms.xml"
cat >"$MAPPING" <<'XML'
<fmgate>
  <settings>
    <trusted-proxy>10.0.0.0/8</trusted-proxy>
    <trusted-proxy header="CF-Connecting-IP">173.245.48.0/20</trusted-proxy>
    <trusted-proxy header="CF-Connecting-IP">2400:cb00::/32</trusted-proxy>
    <trusted-proxy header="true-client-ip">192.0.2.0/24</trusted-proxy>
    <trusted-proxy header="X-Real-IP">2001:db8:100::/48</trusted-proxy>
    <rate-limit per-ip="2" window="3600"/>
  </settings>
  <form id="contact">
    <redirect success="https://www.example.com/thanks.html"/>
    <user-id><from-email/></user-id>
    <field name="email" trait="email" type="email" required="true"/>
  </form>
</fmgate>
XML
n=0
post() { # post DESC ADDR [VAR=VALUE...]: one post from peer ADDR; sets CGI_STATUS
	local desc=$1 addr=$2; shift 2
	n=$((n + 1))
	acgi "$desc #$n" "email=p$n%40example.com" REMOTE_ADDR="$addr" HTTP_ACCEPT=application/json "$@"
	[ "$CGI_STATUS" != 200 ] || ACCEPTED=$((ACCEPTED + 1))
}
ACCEPTED=0
# budget DESC ADDR [VAR=VALUE...]: three posts; the first two pass, the third is limited
budget() {
	local desc=$1 i; shift
	for i in 1 2; do
		post "$desc" "$@"
		expect_eq "$desc: post $i accepted" "$CGI_STATUS" 200
	done
	post "$desc" "$@"
	expect_eq "$desc: post 3 limited" "$CGI_STATUS" 429
}

# through HEADER P1 P2 A B DESC: visitor A spends its budget through proxy P1;
# visitor B then still posts through P1 (its own budget, not the proxy's),
# and visitor A through P2 is limited (the budget follows the visitor).
through() {
	local h=$1 p1=$2 p2=$3 a=$4 b=$5 desc=$6
	budget "$desc, visitor $a" "$p1" "$h=$a"
	post "$desc, visitor $b" "$p1" "$h=$b"
	expect_eq "$desc: visitor $b through the same proxy has its own budget" "$CGI_STATUS" 200
	post "$desc, visitor $a through $p2" "$p2" "$h=$a"
	expect_eq "$desc: visitor $a through another proxy is still limited" "$CGI_STATUS" 429
}

# --- X-Forwarded-For from a load balancer's range ----------------------------
through HTTP_X_FORWARDED_FOR 10.1.2.3 10.200.0.9 198.51.100.1 198.51.100.2 "load balancer"
post "visitor 198.51.100.2 with a forged left part" 10.1.2.3 HTTP_X_FORWARDED_FOR="203.0.113.77, 198.51.100.2, 10.9.9.9"
expect_eq "the right-most entry outside the ranges counts (its second post)" "$CGI_STATUS" 200
post "visitor 198.51.100.2 again" 10.1.2.3 HTTP_X_FORWARDED_FOR=198.51.100.2
expect_eq "and its budget is spent" "$CGI_STATUS" 429

# --- the same proxy connecting as an IPv4-mapped IPv6 address ------------------
budget "via ::ffff:10.1.2.3, visitor C" ::ffff:10.1.2.3 HTTP_X_FORWARDED_FOR=198.51.100.3
post "via ::ffff:10.1.2.3, visitor D" ::ffff:10.1.2.3 HTTP_X_FORWARDED_FOR=198.51.100.4
expect_eq "a mapped proxy address is matched: visitor D has its own budget" "$CGI_STATUS" 200
post "visitor C via the plain IPv4 address" 10.1.2.3 HTTP_X_FORWARDED_FOR=198.51.100.3
expect_eq "visitor C is one visitor whatever the proxy's spelling" "$CGI_STATUS" 429
post "visitor D written as ::ffff: in the header" 10.1.2.3 HTTP_X_FORWARDED_FOR=::ffff:198.51.100.4
expect_eq "a mapped entry counts as its IPv4 address (visitor D's second)" "$CGI_STATUS" 200
post "visitor D once more" 10.1.2.3 HTTP_X_FORWARDED_FOR=198.51.100.4
expect_eq "visitor D's budget is spent" "$CGI_STATUS" 429

# --- Cloudflare: CF-Connecting-IP, IPv4 and IPv6 ranges ------------------------
through HTTP_CF_CONNECTING_IP 173.245.49.1 173.245.63.254 198.51.100.5 198.51.100.6 "Cloudflare"
through HTTP_CF_CONNECTING_IP 2400:cb00:2048::1 2400:cb00:ffff::2 2001:db8:77::1 2001:db8:78::1 "Cloudflare IPv6"
post "X-Forwarded-For from a CF-Connecting-IP range" 173.245.50.1 HTTP_X_FORWARDED_FOR=198.51.100.60
post "X-Forwarded-For from a CF-Connecting-IP range" 173.245.50.1 HTTP_X_FORWARDED_FOR=198.51.100.61
post "X-Forwarded-For from a CF-Connecting-IP range" 173.245.50.1 HTTP_X_FORWARDED_FOR=198.51.100.62
expect_eq "only the named header is read: counted as the peer" "$CGI_STATUS" 429

# --- True-Client-IP and X-Real-IP ---------------------------------------------
through HTTP_TRUE_CLIENT_IP 192.0.2.10 192.0.2.11 198.51.100.7 198.51.100.8 "True-Client-IP"
through HTTP_X_REAL_IP 2001:db8:100:5::1 2001:db8:100:6::1 198.51.100.9 198.51.100.10 "X-Real-IP"

# --- spoofed headers from an untrusted peer: the peer counts -------------------
k=0
for h in HTTP_X_FORWARDED_FOR HTTP_CF_CONNECTING_IP HTTP_TRUE_CLIENT_IP HTTP_X_REAL_IP; do
	k=$((k + 1))
	got=
	for i in 1 2 3; do
		post "spoofed $h from an untrusted peer" "203.0.113.$k" "$h=198.51.100.$((100 + i))"
		got="$got $CGI_STATUS"
	done
	expect_eq "spoofed $h (a new visitor each time) ignored: the peer's budget" "$got" " 200 200 429"
done

# --- garbage in the header of a trusted peer: the peer counts -------------------
# (each value from its own peer; "counted as the peer" shows when that peer,
# with the header gone, is then limited at once)
k=0
for v in "198.51.100.200, 198.51.100.201" "198.51.100.202:443" "[2001:db8::1]" "unknown" " "; do
	k=$((k + 1))
	budget "CF-Connecting-IP [$v] from a Cloudflare peer" 173.245.51.$k HTTP_CF_CONNECTING_IP="$v"
	post "that Cloudflare peer without the header" 173.245.51.$k
	expect_eq "CF-Connecting-IP [$v] is no address: the peer's budget was spent" "$CGI_STATUS" 429
done
for v in "198.51.100.210, bogus" "198.51.100.211:80" "198.51.100.212,,"; do
	k=$((k + 1))
	budget "X-Forwarded-For [$v] from the load balancer" 10.50.0.$k HTTP_X_FORWARDED_FOR="$v"
	post "that proxy without the header" 10.50.0.$k
	expect_eq "X-Forwarded-For [$v] holds no address: the peer's budget was spent" "$CGI_STATUS" 429
done

# --- REMOTE_ADDR that is no address: refused, not let through -------------------
post "REMOTE_ADDR garbage" "not-an-address" HTTP_X_FORWARDED_FOR=198.51.100.220
expect_eq "REMOTE_ADDR that is no address: 500" "$CGI_STATUS $CGI_BODY" '500 {"ok":false,"error":"internal_error"}'
expect_match "the log says why" "$CGI_ERR" 'REMOTE_ADDR is missing or not an IP address'
acgi "no REMOTE_ADDR" --unset REMOTE_ADDR "email=none%40example.com" HTTP_ACCEPT=application/json
expect_eq "no REMOTE_ADDR: 500" "$CGI_STATUS" 500

# --- check reports bad ranges and headers with file:line ----------------------
cat >"$ATK_TMP/bad.xml" <<'XML'
<fmgate>
  <settings>
    <trusted-proxy>10.0.0.1/8</trusted-proxy>
    <trusted-proxy header="X-Client-IP">192.0.2.1</trusted-proxy>
    <trusted-proxy>10.0.0.0/33</trusted-proxy>
  </settings>
  <form id="c">
    <redirect success="/ok"/>
    <user-id><from-email/></user-id>
    <field name="email" trait="email" type="email"/>
  </form>
</fmgate>
XML
$FMGATE_WRAP "$FMGATE_BIN" check "$ATK_TMP/bad.xml" >"$ATK_TMP/check.out" 2>&1
expect_eq "check refuses the mapping" "$?" 1
expect_match "host bits, with file:line" "$(cat "$ATK_TMP/check.out")" "bad\.xml:3: trusted-proxy \"10\.0\.0\.1/8\" has bits set after its prefix length"
expect_match "unknown header, with file:line" "$(cat "$ATK_TMP/check.out")" "bad\.xml:4: trusted-proxy: header \"X-Client-IP\" is not one of"
expect_match "prefix too long, with file:line" "$(cat "$ATK_TMP/check.out")" "bad\.xml:5: trusted-proxy \"10\.0\.0\.0/33\" has a prefix length"

expect_eq "accepted posts reached the CRM, limited ones did not" "$(double_upserts)" "$ACCEPTED"
attack_done
