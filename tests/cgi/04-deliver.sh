#!/bin/bash
# Delivery outcomes as the visitor sees them (before the spool exists): CRM
# down, throttling or refusing the key is a 503, never a success; a final
# refusal is error=rejected; the identity rule adopts or refuses to overwrite.
. "$(dirname "$0")/../lib.sh"
MAPPING="$(dirname "$0")/forms.xml"
double_start || exit 1
trap double_stop EXIT
OKB="email=a%40example.com&uid=u-1&company=Acme"
FAIL="https://www.example.com/contact.html?lang=en"

double_reset
double_post fault '{"kind":"status","status":503,"count":1}'
cgi "$OKB"
expect_eq "CRM 503: visitor gets 503" "$CGI_STATUS" 503
expect_eq "CRM 503: Retry-After" "$(header Retry-After)" "60"
expect_eq "CRM 503: no contact" "$(double_contact u-1 emails)" "NONE"
expect_match "CRM 503: logged" "$CGI_ERR" 'outcome=retry'

double_post fault '{"kind":"429","retry_after":30,"count":1}'
cgi "$OKB" HTTP_ACCEPT=application/json
expect_eq "CRM 429: 503" "$CGI_STATUS" 503
expect_eq "CRM 429: JSON says not ok" "$(printf '%s' "$CGI_BODY" | jq -r .ok)" "false"

double_post fault '{"kind":"delay","ms":4000,"count":1}'
start=$(date +%s%N)
cgi "$OKB"
took=$(( ($(date +%s%N) - start) / 1000000 ))
expect_eq "CRM slower than the budget: 503" "$CGI_STATUS" 503
# a wrapper (valgrind) adds its own start-up time
slack=$([ -n "$FMGATE_WRAP" ] && echo 8000 || echo 3500)
check "answered within the budget (2000 ms) plus slack, took ${took} ms" test "$took" -lt "$slack"

double_post fault '{"kind":"reset","count":1}'
cgi "$OKB"
expect_eq "connection reset: 503" "$CGI_STATUS" 503

cgi "$OKB" FM_API_KEY=wrong-key
expect_eq "bad key: 503" "$CGI_STATUS" 503
expect_match "bad key: paused, logged" "$CGI_ERR" 'outcome=paused'
expect_no_match "the key is never logged" "$CGI_ERR" 'wrong-key'

cgi "$OKB" FM_API_BASE=http://127.0.0.1:1/crm/sales/api
expect_eq "CRM unreachable: 503" "$CGI_STATUS" 503
cgi "$OKB" FM_API_BASE=http://crm.example.com/crm/sales/api
expect_eq "plain http to a non-loopback host refused: 503" "$CGI_STATUS" 503
expect_match "plain http: logged" "$CGI_ERR" 'not-configured'

# a final refusal: the API rejects the contact for good
double_reset
double_post fault '{"kind":"status","status":422,"count":1,"path":"/contacts/upsert"}'
cgi "$OKB"
expect_eq "final 4xx: 303" "$CGI_STATUS" 303
expect_eq "final 4xx: error=rejected" "$(header Location)" "$FAIL&error=rejected#form"
cgi "$OKB" HTTP_ACCEPT=application/json
expect_eq "after the fault: delivered" "$CGI_STATUS" 200

# identity: adoption of a contact that has the email and no external id
double_reset
double_post contacts '{"emails":"old@example.com","first_name":"Olga","city":"Oslo"}'
cgi "email=old%40example.com&uid=u-9&company=Acme&last=Ode"
expect_eq "adoption: 303 success" "$CGI_STATUS" 303
expect_eq "adoption: one contact" "$(double_get contacts | jq '.contacts | length')" "1"
expect_eq "adoption: external_id set" "$(double_contact u-9 emails)" "old@example.com"
expect_eq "adoption: earlier fields kept" "$(double_contact u-9 first_name)" "Olga"
expect_eq "adoption: new field set" "$(double_contact u-9 last_name)" "Ode"

# identity conflict: the email belongs to someone else's contact
double_reset
double_post contacts '{"emails":"taken@example.com","external_id":"other","first_name":"Tom"}'
cgi "email=taken%40example.com&uid=u-10&company=Acme&first=Mallory"
expect_eq "conflict: error=rejected" "$(header Location)" "$FAIL&error=rejected#form"
expect_eq "conflict: the other contact untouched" "$(double_contact other first_name)" "Tom"
expect_eq "conflict: no new contact" "$(double_get contacts | jq '.contacts | length')" "1"
expect_match "conflict: logged" "$CGI_ERR" 'outcome=conflict'

# a known userId with a new email updates that contact's email
double_reset
cgi "email=first%40example.com&uid=u-11&company=Acme"
cgi "email=second%40example.com&uid=u-11&company=Acme"
expect_eq "email change: updated" "$(double_contact u-11 emails)" "second@example.com"
expect_eq "email change: one contact" "$(double_get contacts | jq '.contacts | length')" "1"

# with a warm process the connection is reused: covered by the FastCGI suite
done_testing
