#!/bin/bash
# Oversized and abundant headers (a lesson from other form handlers: cap their
# size): every request header fmgate reads is held to LIMIT_MAX_HEADER (8192
# bytes). A longer one is dropped whole, never truncated: a cut Cookie cannot
# yield a userId, a cut X-Forwarded-For cannot name a client. An Origin or
# Referer too long to read still counts as sent: it cannot pass as "no header"
# and slip past the form's allow list. Remove the origin_oversized flag in
# handler.c and the 403 checks fail; raise the cap and the userId checks fail.
. "$(dirname "$0")/common.bash"
double_reset
long() { head -c "$1" /dev/zero | tr '\0' "${2:-a}"; }
# A new email each time (B runs in a subshell: no counter survives it).
B() { printf 'email=hdr%s%%40example.com' "$(date +%s%N)"; }

# Exactly the cap is kept; one byte more is dropped. (A cookie value is held
# to 1024 bytes of its own: the rest of the header is other cookies. At the
# cap the last cookie may have been cut, so cookie.c ignores it: the id goes
# first.)
pad="; pad=$(long 1000 p)"
id8192="ajs_user_id=$(long 100 u)$pad$pad$pad$pad$pad$pad$pad; last=$(long $((8192 - 112 - 7 * 1006 - 7)) l)"
expect_eq "the Cookie built is 8192 bytes" "${#id8192}" 8192
acgi "Cookie of exactly 8192 bytes" "$(B)" HTTP_COOKIE="$id8192"
expect_delivered "Cookie at the cap: delivered"
expect_match "Cookie at the cap: its userId used" "$(upsert_bodies | tail -n 1)" 'uuuuuuuu'
acgi "Cookie of 8193 bytes" "$(B)" HTTP_COOKIE="${id8192}l"
expect_delivered "Cookie over the cap: delivered without it"
expect_no_match "Cookie over the cap: no userId from it" "$(upsert_bodies | tail -n 1)" 'uuuuuuuu'
acgi "100 KiB of Cookie" "$(B)" HTTP_COOKIE="ajs_user_id=$(long 100000 v)"
expect_delivered "100 KiB of Cookie: ignored"

# Many small cookies inside the cap: parsed, the right one found.
many=""
for i in $(seq 1 600); do many="${many}c$i=x; "; done
acgi "600 cookies" "$(B)" HTTP_COOKIE="${many}ajs_user_id=many-cookies"
expect_delivered "600 cookies: delivered"
expect_match "600 cookies: the named one found" "$(upsert_bodies | tail -n 1)" '"many-cookies"'

# Origin and Referer past the cap: present, unusable, refused.
acgi "Origin over the cap" "$(B)" HTTP_ORIGIN="https://www.example.com/$(long 8200)"
expect_eq "Origin over the cap: 403" "$CGI_STATUS" 403
acgi "Referer over the cap, no Origin" "$(B)" HTTP_REFERER="https://www.example.com/$(long 8200)"
expect_eq "Referer over the cap without Origin: 403" "$CGI_STATUS" 403
acgi "Referer over the cap with a good Origin" "$(B)" HTTP_ORIGIN=https://www.example.com \
	HTTP_REFERER="https://www.example.com/$(long 8200)"
expect_delivered "a good Origin decides; the long Referer is not used"
expect_no_match "no page URL from a dropped Referer" "$(upsert_bodies | tail -n 1)" 'aaaaaaaa'

# The rest: dropped, the request served.
acgi "User-Agent over the cap" "$(B)" HTTP_USER_AGENT="$(long 9000)"
expect_delivered "User-Agent over the cap: delivered"
expect_no_match "no user agent kept" "$(upsert_bodies | tail -n 1)" 'aaaaaaaa'
acgi "Accept over the cap" "$(B)" HTTP_ACCEPT="application/json,$(long 9000)"
expect_delivered "Accept over the cap: treated as absent (HTML answer)"
acgi "X-Forwarded-For over the cap from the proxy" "$(B)" REMOTE_ADDR=10.0.0.1 \
	HTTP_X_FORWARDED_FOR="$(for i in $(seq 1 700); do printf '192.0.2.%d, ' $((i % 250)); done)203.0.113.9"
expect_delivered "X-Forwarded-For over the cap: delivered"
acgi "Content-Type over the cap" "$(B)" CONTENT_TYPE="application/x-www-form-urlencoded; $(long 9000)"
expect_refused "Content-Type over the cap: unsupported_media_type (415)" unsupported_media_type
attack_done
