#!/bin/bash
# Rate limits (<rate-limit>: per client address and per form, shared by every
# process through SPOOL/state/throttle; over either a 429 with Retry-After and
# rate_limited, nothing sent or stored) and the read timeout of a body that
# stalls (408 body_timeout). Each cgi call is a new process, so every budget
# here is one the processes share.
. "$(dirname "$0")/../lib.sh"
double_start || exit 1
tmp=$(mktemp -d /tmp/fmgate-limits.XXXXXX)
trap 'double_stop; rm -rf "$tmp"' EXIT
double_reset
MAPPING="$tmp/forms.xml"
cat >"$MAPPING" <<'XML'
<fmgate>
  <settings>
    <trusted-proxy>10.0.0.1</trusted-proxy>
    <rate-limit per-ip="2" per-form="5" window="3600"/>
    <limits read-timeout-ms="500"/>
  </settings>
  <form id="contact">
    <redirect success="https://www.example.com/thanks.html"/>
    <user-id><from-email/></user-id>
    <field name="email" trait="email" type="email" required="true"/>
  </form>
  <form id="perip">
    <rate-limit per-ip="1"/>
    <redirect success="/thanks.html"/>
    <user-id><from-email/></user-id>
    <field name="email" trait="email" type="email"/>
  </form>
  <form id="second">
    <rate-limit per-ip="1" window="4"/>
    <redirect success="/thanks.html"/>
    <user-id><from-email/></user-id>
    <field name="email" trait="email" type="email"/>
  </form>
  <form id="open">
    <rate-limit/>
    <redirect success="/thanks.html"/>
    <user-id><from-email/></user-id>
    <field name="email" trait="email" type="email"/>
  </form>
</fmgate>
XML
spool_reset
post() { # post FORM ADDR [VAR=VALUE...]: one submission from ADDR
	local form=$1 addr=$2; shift 2
	N=$((${N:-0} + 1))
	cgi "email=r$N%40example.com" PATH_INFO="/$form" REMOTE_ADDR="$addr" "$@"
}

# --- per client address, then per form -------------------------------------------
post contact 203.0.113.1; expect_eq "client 1, post 1: 303" "$CGI_STATUS" 303
post contact 203.0.113.1; expect_eq "client 1, post 2: 303" "$CGI_STATUS" 303
upserts=$(double_upserts)
post contact 203.0.113.1
expect_eq "client 1, post 3: 429" "$CGI_STATUS" 429
ra=$(header Retry-After)
# (the lower bounds leave room for a slow run under valgrind)
check "Retry-After is the wait for one more (1800 s, got $ra)" test "$ra" -ge 1700 -a "$ra" -le 1800
expect_match "the page says so" "$CGI_BODY" 'Too many submissions'
expect_match "a log line says rate_limited" "$CGI_ERR" 'outcome=rate_limited status=429'
expect_no_match "the log line holds no address" "$CGI_ERR" '203\.0\.113'
post contact 203.0.113.1 HTTP_ACCEPT=application/json
expect_eq "JSON client: 429" "$CGI_STATUS" 429
expect_eq "JSON: the code" "$CGI_BODY" '{"ok":false,"error":"rate_limited"}'
expect_eq "nothing sent while limited" "$(double_upserts)" "$upserts"
expect_eq "nothing stored while limited" "$(find "$TEST_SPOOL" -name '*.json' -path '*queue*' | wc -l)" 0
post contact 203.0.113.2; expect_eq "client 2 has its own budget" "$CGI_STATUS" 303
post contact 203.0.113.2; expect_eq "client 2, post 2" "$CGI_STATUS" 303
post contact 203.0.113.3; expect_eq "client 3: the form's 5th" "$CGI_STATUS" 303
post contact 203.0.113.4
expect_eq "client 4: the form's budget is spent" "$CGI_STATUS" 429
ra=$(header Retry-After)
check "per form: Retry-After 720 s (3600/5, got $ra)" test "$ra" -ge 600 -a "$ra" -le 720
post open 203.0.113.1; expect_eq "a form with an empty <rate-limit> is open" "$CGI_STATUS" 303
post open 203.0.113.1; expect_eq "and stays open" "$CGI_STATUS" 303
check "the budgets live in SPOOL/state/throttle" test -f "$TEST_SPOOL/state/throttle"

# --- which address counts ----------------------------------------------------------
post perip 198.51.100.7; expect_eq "perip: first" "$CGI_STATUS" 303
post perip 198.51.100.7 HTTP_X_FORWARDED_FOR=192.0.2.1
expect_eq "X-Forwarded-For from an untrusted peer changes nothing" "$CGI_STATUS" 429
post perip 10.0.0.1 HTTP_X_FORWARDED_FOR=192.0.2.1; expect_eq "via the trusted proxy: client A" "$CGI_STATUS" 303
post perip 10.0.0.1 HTTP_X_FORWARDED_FOR=192.0.2.2; expect_eq "via the trusted proxy: client B" "$CGI_STATUS" 303
post perip 10.0.0.1 HTTP_X_FORWARDED_FOR="192.0.2.1, 10.0.0.1"
expect_eq "client A again, through two proxies: limited" "$CGI_STATUS" 429
post perip 10.0.0.1 HTTP_X_FORWARDED_FOR="192.0.2.99, 192.0.2.1"
expect_eq "a forged left-most entry does not hide client A" "$CGI_STATUS" 429
post perip 2001:db8:1:2::1; expect_eq "IPv6: first" "$CGI_STATUS" 303
post perip 2001:db8:1:2::99
expect_eq "IPv6: another address of the same /64 shares the budget" "$CGI_STATUS" 429
post perip 2001:db8:1:3::1; expect_eq "IPv6: another /64 has its own" "$CGI_STATUS" 303
post perip ::ffff:198.51.100.7
expect_eq "an IPv4-mapped address is its IPv4 address" "$CGI_STATUS" 429

# --- budgets come back -------------------------------------------------------------
post second 203.0.113.9; expect_eq "1 per 4 s: first" "$CGI_STATUS" 303
post second 203.0.113.9; expect_eq "1 per 4 s: second at once" "$CGI_STATUS" 429
ra=$(header Retry-After)
check "1 per 4 s: Retry-After 1 to 4 (got $ra)" test "$ra" -ge 1 -a "$ra" -le 4
sleep "$ra.1"
post second 203.0.113.9; expect_eq "after Retry-After: allowed again" "$CGI_STATUS" 303

# --- refused submissions count: the limit is met before the body is read -----------
cgi "not an email" PATH_INFO=/second REMOTE_ADDR=203.0.113.10
expect_eq "an invalid post is answered as such" "$CGI_STATUS" 422
cgi "email=ok%40example.com" PATH_INFO=/second REMOTE_ADDR=203.0.113.10
expect_eq "and spent the budget" "$CGI_STATUS" 429

# --- a body that stalls --------------------------------------------------------------
# The client holds its side open HOLD_S seconds; an answer well before that came
# from the timeout. Under valgrind, fmgate's own start-up takes seconds.
HOLD_S=$([ -n "$FMGATE_WRAP" ] && echo 12 || echo 5)
stalled() { # stalled BYTES_SENT CONTENT_LENGTH: sends the bytes, then holds stdin open
	local start out writer
	rm -f "$tmp/in"; mkfifo "$tmp/in"
	(printf '%s' "$1"; exec sleep "$HOLD_S") >"$tmp/in" &
	writer=$!
	start=$(date +%s%N)
	out=$(env -i PATH="$PATH" FMGATE_CONFIG="$MAPPING" \
		FMGATE_SPOOL="$TEST_SPOOL" FM_API_BASE="$FMDOUBLE_URL/crm/sales/api" \
		FM_API_KEY="$FMDOUBLE_KEY" REQUEST_METHOD=POST HTTP_ACCEPT=application/json \
		CONTENT_TYPE=application/x-www-form-urlencoded CONTENT_LENGTH="$2" \
		PATH_INFO=/open REMOTE_ADDR=127.0.0.1 $FMGATE_WRAP "$FMGATE_BIN" <"$tmp/in" 2>/dev/null | tr -d '\r')
	STALL_MS=$((($(date +%s%N) - start) / 1000000))
	kill "$writer" 2>/dev/null; wait "$writer" 2>/dev/null
	STALL_STATUS=$(printf '%s\n' "$out" | sed -n '1s/^Status: \([0-9]*\).*/\1/p')
	STALL_BODY=$(printf '%s\n' "$out" | sed '1,/^$/d')
}
upserts=$(double_upserts)
stalled "email=slow%40exa" 40
expect_eq "a stalled body: 408" "$STALL_STATUS" 408
check "answered at the read timeout (500 ms), not when the client gave up ($STALL_MS ms)" \
	test "$STALL_MS" -ge 450 -a "$STALL_MS" -lt $((HOLD_S * 1000 - 1500))
expect_eq "JSON: body_timeout" "$STALL_BODY" '{"ok":false,"error":"body_timeout"}'
expect_eq "nothing sent for a stalled body" "$(double_upserts)" "$upserts"
stalled "" 40
expect_eq "a body that never starts: 408" "$STALL_STATUS" 408
done_testing
