#!/bin/bash
# For one userId, submissions reach Freshmarketer in the order they were
# accepted: a new one waits behind an earlier one still in the spool (or
# being delivered right now), and a drain killed between the API's answer and
# the unlink delivers again to the same contact, never overwriting a newer
# submission's values.
. "$(dirname "$0")/../lib.sh"
MAPPING="$(dirname "$0")/../cgi/forms.xml"
double_start || exit 1
tmp=$(mktemp -d /tmp/fmgate-order.XXXXXX)
trap 'double_stop; rm -rf "$tmp"' EXIT
body() { echo "email=$1%40example.com&uid=$1&company=Acme&first=$2"; }
# the first_name values of the upserts the double received for a userId, in order
sent_order() {
	double_get requests | jq -r --arg u "$1" \
		'[.requests[] | select((.path | endswith("/contacts/upsert")) and .body.contact.external_id == $u) | .body.contact.first_name] | join(",")'
}
sent_is() { [ "$(sent_order "$1")" = "$2" ]; }
contacts_of() { double_get contacts | jq --arg u "$1" '[.contacts[] | select(.external_id == $u)] | length'; }
waiting() { find "$TEST_SPOOL/queue" -type f ! -name '.*' | wc -l; }

# --- three submissions while the CRM is down: delivered in order, newest last
double_reset
double_post fault '{"kind":"status","status":503,"count":-1,"path":"/contacts/upsert"}'
cgi "$(body u-o V1)"
expect_match "V1: tried, spooled" "$CGI_ERR" 'outcome=retry .*spool=queue'
double_post fault '{"kind":"clear"}'
cgi "$(body u-o V2)"
expect_match "V2: CRM is fine, yet waits behind V1" "$CGI_ERR" 'outcome=queued .*why=behind'
cgi "$(body u-o V3)"
expect_match "V3: waits behind V1 and V2" "$CGI_ERR" 'outcome=queued .*why=behind'
cgi "$(body u-x X1)"
expect_match "another userId is not held back" "$CGI_ERR" 'outcome=delivered'
expect_eq "nothing of u-o sent past V1" "$(sent_order u-o)" "V1"
fmg drain --now 2>/dev/null
expect_eq "drained: exit 0" "$?" 0
expect_eq "delivered in the order accepted" "$(sent_order u-o)" "V1,V1,V2,V3"
expect_eq "the newest values win" "$(double_contact u-o first_name)" "V3"
expect_eq "one contact" "$(contacts_of u-o)" 1
cgi "$(body u-o V4)"
expect_match "queue empty again: delivered at once" "$CGI_ERR" 'outcome=delivered'

# --- a drain killed between the API's answer and the unlink (async mode
# spools D1 and D2 due at once, so only the in-flight mark holds them back)
double_reset
sed 's#mode="sync"#mode="async"#' "$MAPPING" >"$tmp/async.xml"
MAPPING="$tmp/async.xml" cgi "$(body u-d D1)"
MAPPING="$tmp/async.xml" cgi "$(body u-d D2)"
expect_eq "D1 and D2 wait" "$(waiting)" 2
# the API takes D1 after 2 s; the drain is killed before it hears the answer
double_post fault '{"kind":"delay","ms":2000,"count":1,"path":"/contacts/upsert"}'
fmg_start drain
check "the drain sends D1" wait_for sent_is u-d D1
kill -KILL "$FMG_PID"
wait "$FMG_PID" 2>/dev/null
fmg status >"$tmp/st" 2>/dev/null
expect_match "killed drain: its claim died with it" "$(cat "$tmp/st")" 'in flight: 0'
fmg drain 2>/dev/null
expect_eq "a drain waits out the killed one's call (in-flight mark)" "$(sent_order u-d)" "D1"
sleep 2     # the API applies the killed drain's D1
expect_eq "D1 reached the contact" "$(double_contact u-d first_name)" "D1"
fmg drain --now 2>/dev/null
expect_eq "D1 again, then D2" "$(sent_order u-d)" "D1,D1,D2"
expect_eq "delivered twice: still one contact" "$(contacts_of u-d)" 1
expect_eq "the newer values stay" "$(double_contact u-d first_name)" "D2"

# --- a submission that arrives while the same userId is being delivered (a
# wrapper such as valgrind takes seconds to start B2: B1 then takes longer)
double_reset
delay=$([ -n "$FMGATE_WRAP" ] && echo 8000 || echo 1200)
sed 's#timeout-ms="2000"#timeout-ms="20000"#' "$MAPPING" >"$tmp/patient.xml"
double_post fault "{\"kind\":\"delay\",\"ms\":$delay,\"count\":1,\"path\":\"/contacts/upsert\"}"
( MAPPING="$tmp/patient.xml" cgi "$(body u-b B1)"; echo "$CGI_STATUS" >"$tmp/b1"; echo "$CGI_ERR" >>"$tmp/b1" ) &
bpid=$!
check "B1 is being delivered" wait_for sent_is u-b B1
start=$(date +%s%N)
MAPPING="$tmp/patient.xml" cgi "$(body u-b B2)"
took=$(( ($(date +%s%N) - start) / 1000000 ))
expect_eq "B2: success" "$CGI_STATUS" 303
expect_match "B2: spooled behind the delivery in progress" "$CGI_ERR" 'outcome=queued .*why=busy spool=queue'
check "B2: answered without waiting for B1 (${took} ms)" test "$took" -lt "$delay"
wait "$bpid"
expect_eq "B1: success" "$(head -n 1 "$tmp/b1")" 303
expect_match "B1: delivered" "$(cat "$tmp/b1")" 'outcome=delivered'
fmg drain --now 2>/dev/null
expect_eq "B1 then B2" "$(sent_order u-b)" "B1,B2"
expect_eq "B2's values win" "$(double_contact u-b first_name)" "B2"

# --- the budget runs out while the API still works on T1; T2 follows
double_reset
double_post fault '{"kind":"delay","ms":3000,"count":1,"path":"/contacts/upsert"}'
cgi "$(body u-t T1)"
expect_match "T1: timed out, spooled" "$CGI_ERR" 'outcome=retry .*spool=queue'
cgi "$(body u-t T2)"
expect_match "T2: behind T1" "$CGI_ERR" 'outcome=queued .*why=behind'
sleep 1.2   # T1's first call lands
fmg drain --now 2>/dev/null
expect_eq "T1 (twice), then T2" "$(sent_order u-t)" "T1,T1,T2"
expect_eq "T2's values win" "$(double_contact u-t first_name)" "T2"
expect_eq "one contact" "$(contacts_of u-t)" 1
done_testing
