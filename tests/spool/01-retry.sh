#!/bin/bash
# Upstream 503, a timeout, connection refused, 429 and a refused key each
# leave the submission in the spool with the visitor told it worked; `fmgate
# drain` honours the backoff, `drain --now` delivers once Freshmarketer is
# healthy, exactly once as a contact; final refusals go to the dead area.
. "$(dirname "$0")/../lib.sh"
MAPPING="$(dirname "$0")/../cgi/forms.xml"
double_start || exit 1
trap double_stop EXIT
body() { echo "email=$1%40example.com&uid=$1&company=Acme&first=${2:-First}"; }
# status FIELD: one line of `fmgate status`
status_of() { fmg status 2>/dev/null | sed -n "s/^$1: //p"; }
# upserts the double received for a userId, and how many it applied
upserts_of() {
	double_get requests | jq --arg u "$1" \
		'[.requests[] | select((.path | endswith("/contacts/upsert")) and .body.contact.external_id == $u)] | length'
}
applied_of() {
	double_get requests | jq --arg u "$1" \
		'[.requests[] | select((.path | endswith("/contacts/upsert")) and .body.contact.external_id == $u and (.status == 200 or .status == 201))] | length'
}
contacts_of() { double_get contacts | jq --arg u "$1" '[.contacts[] | select(.external_id == $u)] | length'; }

double_reset
fmg status >/dev/null
expect_eq "status of an empty spool: exit 0" "$?" 0

# --- upstream 503
double_post fault '{"kind":"status","status":503,"count":1,"path":"/contacts/upsert"}'
cgi "$(body r503)"
expect_eq "503: visitor told it worked" "$CGI_STATUS" 303
expect_eq "503: waiting" "$(status_of waiting)" 1
fmg drain 2>"$TEST_SPOOL.err"
expect_eq "drain: nothing due yet (backoff), exit 0" "$?" 0
expect_eq "drain: backoff honoured, still waiting" "$(status_of waiting)" 1
expect_eq "drain: not sent" "$(upserts_of r503)" 1
fmg drain --now 2>"$TEST_SPOOL.err"
expect_eq "drain --now: exit 0" "$?" 0
expect_match "drain --now: logged" "$(cat "$TEST_SPOOL.err")" 'drain: id=[0-9a-f-]{36} form=contact outcome=delivered http=20[01] calls=2 attempts=1'
expect_eq "503: delivered once healthy" "$(double_contact r503 first_name)" "First"
expect_eq "503: one contact" "$(contacts_of r503)" 1
expect_eq "503: one delivery applied" "$(applied_of r503)" 1
expect_eq "503: nothing waiting" "$(status_of waiting)" 0

# --- a CRM still failing: the run stops at the first failure and says so
double_post fault '{"kind":"status","status":502,"count":-1,"path":"/contacts/upsert"}'
cgi "$(body down1)"
cgi "$(body down2)"
fmg drain --now 2>"$TEST_SPOOL.err"
expect_eq "CRM still down: drain exits 1" "$?" 1
expect_eq "CRM still down: one try, not one per submission" "$(( $(upserts_of down1) + $(upserts_of down2) ))" 3
expect_eq "CRM still down: both wait" "$(status_of waiting)" 2
f=$(grep -l '"userId":"down1"' "$TEST_SPOOL"/queue/*/*)
expect_eq "a failed try counts: attempts 2" "$(jq .attempts "$f")" 2
expect_match "last error kept" "$(jq -r .last_error "$f")" '^retry http=502'
double_post fault '{"kind":"clear"}'
fmg drain --now 2>/dev/null
expect_eq "CRM back: exit 0" "$?" 0
expect_eq "CRM back: both delivered" "$(double_contact down1 emails),$(double_contact down2 emails)" \
	"down1@example.com,down2@example.com"

# --- a timeout: the delayed upsert still lands at the API; the retry updates
# the same contact
double_post fault '{"kind":"delay","ms":3000,"count":1,"path":"/contacts/upsert"}'
cgi "$(body slow)"
expect_eq "timeout: success answer" "$CGI_STATUS" 303
expect_match "timeout: spooled" "$CGI_ERR" 'outcome=retry .*spool=queue'
sleep 1.5   # the double applies the delayed upsert after 3 s
expect_eq "timeout: the call the worker gave up on landed anyway" "$(contacts_of slow)" 1
fmg drain --now 2>/dev/null
expect_eq "timeout: drain exit 0" "$?" 0
expect_eq "timeout: sent again, one contact" "$(upserts_of slow),$(contacts_of slow)" "2,1"

# --- connection refused
cgi "$(body refused)" FM_API_BASE=http://127.0.0.1:1/crm/sales/api
expect_eq "refused: success answer" "$CGI_STATUS" 303
expect_match "refused: spooled" "$CGI_ERR" 'outcome=retry .*spool=queue'
expect_eq "refused: nothing reached the API" "$(upserts_of refused)" 0
fmg drain --now 2>/dev/null
expect_eq "refused: delivered once the API answers" "$(double_contact refused emails)" "refused@example.com"

# --- 429 with Retry-After: held by the shared rate-limit state, waited out
double_post fault '{"kind":"429","retry_after":2,"count":1,"path":"/contacts/upsert"}'
cgi "$(body r429)" HTTP_ACCEPT=application/json
expect_eq "429: JSON success" "$(printf '%s' "$CGI_BODY" | jq -r .ok)" true
start=$(date +%s%N)
fmg drain --now 2>"$TEST_SPOOL.err"
rc=$?
took=$(( ($(date +%s%N) - start) / 1000000 ))
expect_eq "429: drain exit 0" "$rc" 0
expect_eq "429: delivered" "$(double_contact r429 emails)" "r429@example.com"
check "429: Retry-After waited out (${took} ms)" test "$took" -ge 500
expect_eq "429: one try during the hold" "$(upserts_of r429)" 2

# --- a refused key pauses delivery; status says so
cgi "$(body pkey)" FM_API_KEY=wrong-key
expect_eq "bad key: success answer" "$CGI_STATUS" 303
expect_match "bad key: paused" "$CGI_ERR" 'outcome=paused .*spool=queue'
fmg status >"$TEST_SPOOL.out" 2>/dev/null
expect_eq "paused: status exit 1" "$?" 1
expect_match "paused: status says so" "$(cat "$TEST_SPOOL.out")" 'paused: yes'
FMG_KEY=wrong-key fmg drain --now 2>/dev/null
expect_eq "paused: drain exit 1" "$?" 1
expect_eq "paused: still waiting" "$(status_of waiting)" 1
fmg drain --now 2>/dev/null
expect_eq "key fixed: delivered" "$(double_contact pkey emails)" "pkey@example.com"
expect_eq "key fixed: not paused" "$(status_of paused)" "no"

# --- a final refusal during a drain: dead with the API's message
double_post fault '{"kind":"status","status":503,"count":1,"path":"/contacts/upsert"}'
cgi "$(body rej)"
double_post fault '{"kind":"status","status":422,"count":1,"path":"/contacts/upsert"}'
fmg drain --now 2>"$TEST_SPOOL.err"
expect_eq "rejected in a drain: exit 0 (nothing deliverable left)" "$?" 0
expect_match "rejected in a drain: logged" "$(cat "$TEST_SPOOL.err")" 'dead: rejected http=422 Injected fault'
fmg status --dead >"$TEST_SPOOL.out" 2>/dev/null
expect_eq "dead: status exit 1" "$?" 1
expect_match "dead: counted" "$(cat "$TEST_SPOOL.out")" 'dead: 1'
expect_match "status --dead lists the reason" "$(cat "$TEST_SPOOL.out")" \
	'^[0-9a-f-]{36} form=contact to=freshmarketer attempts=1 steps=contact:refused reason=rejected http=422 Injected fault$'
expect_eq "rejected: no contact" "$(double_contact rej emails)" "NONE"

fmg status --bogus >/dev/null 2>&1
expect_eq "status: bad option, exit 2" "$?" 2
fmg drain --now --watch >/dev/null 2>&1
expect_eq "drain --now --watch refused" "$?" 2
FMGATE_CONFIG=/nonexistent "$FMGATE_BIN" drain 2>/dev/null
expect_eq "drain without a mapping: exit 2" "$?" 2
rm -f "$TEST_SPOOL.err" "$TEST_SPOOL.out"
done_testing
