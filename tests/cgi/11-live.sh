#!/bin/bash
# What the live API was seen to do, through the CGI handler and the verbs: an
# account that refuses external_id as the upsert key (the emails mode, kept
# for every process and shown by `fmgate status`), rate-limit reset headers in
# every form seen (none holds delivery past its window), and 403s on lookups
# that retry the submission without pausing delivery.
. "$(dirname "$0")/../lib.sh"
MAPPING="$(dirname "$0")/forms.xml"
double_start || exit 1
trap double_stop EXIT
SUCCESS="https://www.example.com/thanks.html"
upserts_keyed_on_external_id() {
	double_get requests | jq '[.requests[] | select(.path | endswith("/contacts/upsert"))
		| select(.body.unique_identifier.external_id != null)] | length'
}

# --- the emails mode ---------------------------------------------------------------
double_reset '{"modes":{"external_id_key":"refused","dup_message":"dutch"}}'
spool_reset
out=$(fmg status 2>&1)
expect_match "status: external_id at first" "$out" '^identity key: external_id$'
cgi "email=m1%40example.com&uid=m-1&company=Acme"
expect_eq "refused key: delivered all the same" "$(header Location)" "$SUCCESS"
expect_eq "refused key: the contact has our userId" "$(double_contact m-1 emails)" "m1@example.com"
expect_match "refused key: said once, loudly" "$CGI_ERR" 'refuses external_id as the upsert key'
check "refused key: remembered in the state folder" test -f "$TEST_SPOOL/state/identity"
out=$(fmg status 2>&1)
expect_match "status shows the emails mode" "$out" \
	'^identity key: emails \(the account refuses external_id as key, since 20[0-9-]+T[0-9:]+Z\)$'
n=$(upserts_keyed_on_external_id)
cgi "email=m1%40example.com&uid=m-1&first=Mia&company=Acme"
expect_eq "another process: delivered" "$(header Location)" "$SUCCESS"
expect_eq "another process: updated by id" "$(double_contact m-1 first_name)" "Mia"
expect_eq "another process: no upsert keyed on external_id" "$(upserts_keyed_on_external_id)" "$n"
expect_no_match "another process: not said again" "$CGI_ERR" 'refuses external_id'
cgi "email=m2%40example.com&uid=m-2&company=Acme"
expect_eq "a new contact in the emails mode" "$(double_contact m-2 emails)" "m2@example.com"
expect_eq "no duplicates" "$(double_get contacts | jq '.contacts | length')" 2
rm -f "$TEST_SPOOL/state/identity"

# --- reset headers: none holds delivery past its window -----------------------------
# reset_ms: the hour window's reset in SPOOL/state/ratelimit, as seconds from now
reset_in() { awk -v now="$(date +%s)" '{ printf "%d", $5 / 1000 - now }' "$TEST_SPOOL/state/ratelimit"; }
for format in ddmmyy unix far garbage seconds; do
	double_reset "{\"hour_limit\":4,\"minute_limit\":0,\"modes\":{\"reset_format\":\"$format\"}}"
	spool_reset
	for i in 1 2 3; do cgi "email=r$i%40example.com&uid=r-$i&company=Acme"; done
	expect_eq "$format: delivered" "$(header Location)" "$SUCCESS"
	r=$(reset_in)
	check "$format: the budget resets within the hour ($r s)" test "$r" -ge 0 -a "$r" -le 3600
done

# --- a 403 on lookups retries; it pauses nothing --------------------------------------
double_reset '{"modes":{"lookup_403_every":1}}'
spool_reset
cgi "email=k1%40example.com&uid=k-1&company=Acme"
expect_eq "lookup 403: the usual answer" "$(header Location)" "$SUCCESS"
expect_match "lookup 403: the submission waits" "$CGI_ERR" 'outcome=retry .*http=403.* spool=queue'
check "lookup 403: delivery is not paused" test ! -e "$TEST_SPOOL/state/paused"
double_reset
fmg drain --now >/dev/null 2>&1
expect_eq "once lookups work, it is delivered" "$(double_contact k-1 emails)" "k1@example.com"
done_testing
