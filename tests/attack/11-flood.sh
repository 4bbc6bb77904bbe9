#!/bin/bash
# Flooding (a lesson from other form handlers: per-IP and per-form rate limits):
# one client posting in a loop, a client forging X-Forwarded-For to look like
# many, a proxy's many clients, an IPv6 client walking its /64, and a botnet of
# distinct addresses against one form. Over a budget: 429 with Retry-After and
# rate_limited, nothing sent upstream, nothing stored. Each request is a new
# process: the budgets are shared through SPOOL/state/throttle. A mapping
# without <rate-limit> gets the default (10 per address an hour). Remove
# check_rate() from handler.c and every "limited" check here fails.
. "$(dirname "$0")/common.bash"
double_reset
MAPPING="$ATK_TMP/forms.xml"
cat >"$MAPPING" <<'XML'
<fmgate>
  <settings>
    <trusted-proxy>10.0.0.1</trusted-proxy>
    <rate-limit per-ip="3" per-form="12" window="3600"/>
  </settings>
  <form id="contact">
    <redirect success="https://www.example.com/thanks.html"/>
    <user-id><from-email/></user-id>
    <field name="email" trait="email" type="email" required="true"/>
  </form>
</fmgate>
XML
n=0
flood() { # flood DESC ADDR [VAR=VALUE...]: one post; LIMITED counts the 429s
	local desc=$1 addr=$2; shift 2
	n=$((n + 1))
	acgi "$desc #$n" "email=flood$n%40example.com" REMOTE_ADDR="$addr" HTTP_ACCEPT=application/json "$@"
	case $CGI_STATUS in
	429)
		LIMITED=$((LIMITED + 1))
		[ "$CGI_BODY" = '{"ok":false,"error":"rate_limited"}' ] || not_ok "$desc #$n: 429 body [$CGI_BODY]"
		[[ $(header Retry-After) =~ ^[1-9][0-9]*$ ]] || not_ok "$desc #$n: Retry-After [$(header Retry-After)]" ;;
	200) ;;
	*) not_ok "$desc #$n: status $CGI_STATUS" ;;
	esac
}
stored() { find "$ATK_TMP/spool" -name '*.json' ! -path '*/state/*' | wc -l; }

LIMITED=0
for i in $(seq 1 10); do flood "one client in a loop" 198.51.100.1; done
expect_eq "one client: 3 accepted, 7 limited" "$LIMITED" 7
expect_eq "one client: 3 upserts" "$(double_upserts)" 3

LIMITED=0
for i in $(seq 1 5); do
	flood "forged X-Forwarded-For from an untrusted peer" 198.51.100.2 HTTP_X_FORWARDED_FOR="192.0.2.$i"
done
expect_eq "forged X-Forwarded-For: counted by the real peer (2 limited)" "$LIMITED" 2

LIMITED=0
for i in $(seq 1 4); do
	flood "forged left part of X-Forwarded-For via the proxy" 10.0.0.1 HTTP_X_FORWARDED_FOR="192.0.2.$i, 203.0.113.50"
done
expect_eq "via the trusted proxy the client is the right-most untrusted entry (1 limited)" "$LIMITED" 1

LIMITED=0
for i in 1 2 3 4 5; do flood "an IPv6 client walking its /64" "2001:db8:aa:bb::$i"; done
expect_eq "an IPv6 /64 is one client (2 limited)" "$LIMITED" 2

# So far the form took 3 + 3 + 3 + 3 = 12: its budget is spent for everyone.
LIMITED=0
for i in $(seq 1 6); do flood "a botnet of distinct addresses" "203.0.113.$((100 + i))"; done
expect_eq "distinct addresses: the per-form budget holds (6 limited)" "$LIMITED" 6
expect_eq "12 upserts in all, the form's budget" "$(double_upserts)" 12
expect_eq "nothing stored for a limited post" "$(stored)" 0
check "the budgets are shared in the spool's state" test -s "$ATK_TMP/spool/state/throttle"

# A mapping that sets no <rate-limit> still has one: 10 per address an hour.
cat >"$MAPPING" <<'XML'
<fmgate>
  <form id="nolimit">
    <redirect success="https://www.example.com/thanks.html"/>
    <user-id><from-email/></user-id>
    <field name="email" trait="email" type="email" required="true"/>
  </form>
</fmgate>
XML
before=$(double_upserts)
LIMITED=0
for i in $(seq 1 14); do flood "one client, no <rate-limit> in the mapping" 198.51.100.9 PATH_INFO=/nolimit; done
expect_eq "the default stops one client after 10 (4 limited)" "$LIMITED" 4
ra=$(header Retry-After)
check "the default refills one per 360 s (Retry-After $ra)" test "$ra" -ge 300 -a "$ra" -le 360
expect_eq "10 upserts under the default" "$(( $(double_upserts) - before ))" 10
flood "another client under the default" 198.51.100.10 PATH_INFO=/nolimit
expect_eq "another client has its own default budget" "$CGI_STATUS" 200
attack_done
