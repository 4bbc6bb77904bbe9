#!/bin/bash
# Freshmarketer fidelity (issue 3, docs/freshmarketer.md), end to end through
# fmgate in CGI mode against the test double: every request is a new process,
# so what is shared (field cache, warnings, pause, rate-limit budget) must go
# through SPOOL/state. One check (or a few) per rule:
#  1 labels and the field cache   2 types   3 privileged fields and consent
#  4 identity   5 rate limits and errors   7 `fmgate try`
. "$(dirname "$0")/../lib.sh"
double_start || exit 1
tmp=$(mktemp -d)
trap 'double_stop; rm -rf "$tmp"' EXIT
SP="$tmp/spool"
mkdir -p "$SP"
SUCCESS="https://www.example.com/thanks.html"
FAIL="https://www.example.com/contact.html"

# mapping AGE: the suite's forms, with fields-max-age=AGE
mapping() {
	cat <<XML
<fmgate>
  <settings>
    <freshmarketer fields-max-age="$1"/>
    <delivery mode="sync" timeout-ms="3000"/>
    <rate-limit/> <!-- many posts from one address -->
  </settings>
  <form id="contact">
    <redirect success="$SUCCESS" failure="$FAIL"/>
    <user-id><from-field name="uid"/><from-email/></user-id>
    <field name="email" trait="email" type="email" required="true"/>
    <field name="first" trait="firstName"/>
    <field name="last" trait="lastName"/>
    <field name="sector" trait="industry"/>
    <field name="size" trait="Company size" fm-field="cf_employees"/>
    <field name="news" trait="Newsletter"/>
    <field name="born" trait="Birthday"/>
    <field name="interests" trait="Interests" multiple="true"/>
    <field name="notes" trait="Notes"/>
    <field name="region" trait="Region"/>
    <field name="owner" trait="Owner"/>
    <field name="nope" trait="No Such Field"/>
    <field name="stage" trait="Stage" fm-field="lifecycle_stage_id"/>
    <field name="optin" trait="newsletterConsent" type="boolean" fm-field="subscription_status"
           value-when-checked="Subscribed" consent="Yes, send me the newsletter."/>
  </form>
  <form id="short">
    <redirect success="/ok" failure="/again"/>
    <user-id><from-field name="uid"/><from-email/></user-id>
    <field name="email" trait="email" type="email" required="true"/>
  </form>
  <form id="broken">
    <redirect success="/ok" failure="/again"/>
    <user-id><from-field name="uid"/><from-email/></user-id>
    <field name="email" trait="email" type="email" required="true"/>
    <field name="gone" trait="Gone" fm-field="cf_gone"/>
  </form>
</fmgate>
XML
}
mapping 3600 >"$tmp/forms.xml"
mapping 1 >"$tmp/forms-1s.xml"
MAPPING="$tmp/forms.xml"

# post BODY [VAR=VALUE...]: one CGI request with the suite's spool; $CALLS is
# the number of API requests it made (counted by the double).
post() {
	local before
	before=$(double_count)
	cgi "$@" FMGATE_SPOOL="$SP"
	CALLS=$(( $(double_count) - before ))
}
custom() { double_contact "$1" "custom_field.$2"; }
upserts_now() { double_upserts; }
location() { header Location; }

# ---- 1. labels, fm-field and the shared field cache ------------------------------
double_reset
rm -rf "$SP/state"
post "email=l1%40example.com&uid=l-1&sector=music&size=12&nope=x"
expect_eq "cold process: delivered" "$(location)" "$SUCCESS"
expect_eq "cold process: field list, the userId's lookup, upsert" "$CALLS" 3
expect_eq "label matched ignoring case (industry -> Industry)" "$(custom l-1 cf_industry)" "Music"
expect_eq "fm-field names the field directly, number converted" "$(custom l-1 cf_employees)" "12"
expect_match "unmatched trait logged" "$CGI_ERR" 'form contact: trait "No Such Field" left out: no field has this label'
expect_eq "state dir mode 0700" "$(stat -c %a "$SP/state")" 700
expect_eq "cache file mode 0600" "$(stat -c %a "$SP/state/fields.json")" 600
post "email=l2%40example.com&uid=l-2&sector=retail&nope=y"
expect_eq "warm cache, new process: no field list call (lookup, upsert)" "$CALLS" 2
expect_eq "warm: delivered" "$(custom l-2 cf_industry)" "Retail"
expect_no_match "unmatched trait logged once per form and trait, not per request" "$CGI_ERR" 'No Such Field'
sleep 2
post "email=l4%40example.com&uid=l-4&sector=music" FMGATE_CONFIG="$tmp/forms-1s.xml"
expect_eq "older than fields-max-age: refreshed (3 calls)" "$CALLS" 3
sleep 2
double_post fault '{"kind":"status","status":500,"path":"/settings/contacts/fields"}'
post "email=l5%40example.com&uid=l-5&sector=software" FMGATE_CONFIG="$tmp/forms-1s.xml"
expect_eq "failed refresh: the last good copy is served" "$(custom l-5 cf_industry)" "Software"
expect_match "failed refresh: logged" "$CGI_ERR" 'field list not refreshed'
post "email=l5b%40example.com&uid=l-5b&sector=music" FMGATE_CONFIG="$tmp/forms-1s.xml"
expect_eq "failed refresh: no process tries again for a minute (lookup, upsert)" "$CALLS" 2
# the API refuses a field: the list is fetched again and the upsert retried once
double_post fields '{"remove":"cf_region"}'
double_post fields '{"add":{"name":"cf_area","label":"Region","type":"text"}}'
post "email=l6%40example.com&uid=l-6&region=North"
expect_eq "400 naming a field: refreshed and retried" "$(location)" "$SUCCESS"
expect_eq "400 naming a field: lookup, upsert, field list, upsert" "$CALLS" 4
expect_eq "400 naming a field: sent to the renamed field" "$(custom l-6 cf_area)" "North"
post "email=l7%40example.com&uid=l-7&region=South"
expect_eq "the refreshed list is shared: lookup, upsert" "$CALLS" 2
post "email=l8%40example.com&uid=l-8&gone=x" PATH_INFO=/broken
expect_eq "still names a field after the refresh: rejected" "$(location)" "/again?error=rejected&errors=rejected"
expect_eq "still names a field: the same body is not sent twice" "$CALLS" 3
expect_match "rejection logged with the API's message" "$CGI_ERR" 'Unknown custom field: cf_gone'

# ---- 2. types ----------------------------------------------------------------------
double_reset
post "email=t1%40example.com&uid=t-1&news=YES&size=12.5&born=29+Feb+2024&sector=SOFTWARE&interests=pricing&interests=EVENTS&notes=0123456789012345678901234567890123456789"
expect_eq "typed values delivered" "$(location)" "$SUCCESS"
expect_eq "checkbox from yes" "$(custom t-1 cf_newsletter)" "true"
expect_eq "number: a JSON number" "$(double_get contacts | jq '.contacts[0].custom_field.cf_employees')" "12.5"
expect_eq "date from \"29 Feb 2024\"" "$(custom t-1 cf_birthday)" "2024-02-29"
expect_eq "dropdown: the choice's exact value" "$(custom t-1 cf_industry)" "Software"
expect_eq "multi-select: choices joined by ';'" "$(custom t-1 cf_interests)" "Pricing;Events"
expect_eq "text at the field's max length" "$(custom t-1 cf_notes | wc -c)" 41
post "email=t1%40example.com&uid=t-1&news=off&born=2024%2F03%2F01"
expect_eq "checkbox from off" \
	"$(double_get contacts | jq '.contacts[] | select(.external_id == "t-1") | .custom_field.cf_newsletter')" "false"
expect_eq "date from 2024/03/01" "$(custom t-1 cf_birthday)" "2024-03-01"
n=$(upserts_now)
for bad in "size=1e3:size" "born=01%2F02%2F2024:born" "sector=Jazz:sector" \
	   "interests=pricing&interests=gossip:interests" "news=maybe:news" \
	   "notes=01234567890123456789012345678901234567890:notes"; do
	post "email=t2%40example.com&uid=t-2&${bad%%:*}"
	expect_eq "refused by the field's type: ${bad%%:*}" "$(location)" "$FAIL?error=invalid_value&field=${bad##*:}&errors=invalid_value%3A${bad##*:}"
done
expect_eq "a refused value: nothing sent" "$(upserts_now)" "$n"
expect_eq "a refused value: no contact" "$(double_contact t-2 emails)" "NONE"
post "email=t3%40example.com&uid=t-3&size=many" HTTP_ACCEPT=application/json
expect_eq "JSON clients: 422 invalid_value for the field" \
	"$CGI_STATUS $(printf '%s' "$CGI_BODY" | jq -c '.errors')" '422 [{"field":"size","code":"invalid_value"}]'

# ---- 3. privileged fields, consent ---------------------------------------------------
double_reset
post "email=p1%40example.com&uid=p-1&owner=Bob+Sales&stage=customer&optin=on"
expect_eq "privileged by label: dropped" "$(double_contact p-1 owner_id)" "NULL"
expect_match "privileged by label: logged" "$CGI_ERR" 'trait "Owner" left out: privileged or id field.*owner_id'
expect_eq "privileged by fm-field: set (choice id)" "$(double_contact p-1 lifecycle_stage_id)" "73"
expect_eq "consent box -> subscription_status, as the choice's id" "$(double_contact p-1 subscription_status)" "1"
post "email=p1%40example.com&uid=p-1&owner=Ann+Admin&stage=lead"
expect_no_match "privileged by label: logged once" "$CGI_ERR" 'trait "Owner"'
expect_eq "an unchecked box never unsubscribes" "$(double_contact p-1 subscription_status)" "1"
printf 'email=p2%%40example.com&uid=p-2&optin=on\n' >"$tmp/body"
out=$(FMGATE_CONFIG="$MAPPING" FMGATE_SPOOL="$SP" FM_API_BASE="$FMDOUBLE_URL/crm/sales/api" \
	FM_API_KEY="$FMDOUBLE_KEY" $FMGATE_WRAP "$FMGATE_BIN" try contact "$tmp/body" 2>&1)
msg=$(printf '%s\n' "$out" | sed -n '/^identify message:$/,/^$/p' | sed '1d')
expect_eq "consent text kept in the identify message" \
	"$(printf '%s' "$msg" | jq -r '.context.consent.newsletterConsent.text')" "Yes, send me the newsletter."
expect_eq "consent time kept in the identify message (the message's time)" \
	"$(printf '%s' "$msg" | jq -r '.context.consent.newsletterConsent.timestamp == .timestamp and (.timestamp | test("^20"))')" true

# ---- 4. identity ------------------------------------------------------------------------
double_reset
post "email=i1%40example.com&uid=i-1&first=Ida&last=Ink&sector=music"
post "email=i2%40example.com&uid=i-1"
expect_eq "a known unsigned userId with a new email: the usual answer" "$(location)" "$SUCCESS"
expect_eq "but the contact's email stays (only a signed id changes it)" "$(double_contact i-1 emails)" "i1@example.com"
expect_eq "decided by the userId's lookup: one call" "$CALLS" 1
expect_match "kept as a conflict" "$CGI_ERR" 'outcome=conflict.* spool=dead'
post "email=i1%40example.com&uid=i-1" PATH_INFO=/short
expect_eq "a shorter form never blanks: first name" "$(double_contact i-1 first_name)" "Ida"
expect_eq "a shorter form never blanks: custom field" "$(custom i-1 cf_industry)" "Music"
expect_eq "no duplicates" "$(double_get contacts | jq '.contacts | length')" 1
double_post contacts '{"emails":"old@example.com","first_name":"Olga"}'
post "email=old%40example.com&uid=i-3&last=Ode"
expect_eq "adoption: the contact without external id gets the userId" "$(double_contact i-3 first_name)" "Olga"
expect_eq "adoption: no duplicate" "$(double_get contacts | jq '.contacts | length')" 2
double_post contacts '{"emails":"theirs@example.com","external_id":"someone","first_name":"Tom"}'
post "email=theirs%40example.com&uid=i-4&first=Mallory"
expect_eq "conflict: the usual answer, which tells nobody whose contact it is" "$(location)" "$SUCCESS"
expect_match "conflict: logged as such, kept in the dead area" "$CGI_ERR" 'outcome=conflict.* spool=dead'
expect_eq "conflict: the other person's contact untouched" "$(double_contact someone first_name)" "Tom"

# ---- 5. rate limits and errors -----------------------------------------------------------
double_reset
rm -f "$SP/state/ratelimit"
double_post fault '{"kind":"429","retry_after":30,"count":1}'
post "email=r1%40example.com&uid=r-1"
expect_match "429 with Retry-After: retry later" "$CGI_ERR" 'outcome=retry .*http=429'
post "email=r2%40example.com&uid=r-2"
expect_eq "429 with Retry-After: the next process makes no call" "$CALLS" 0
expect_match "429 with Retry-After: held by the shared budget" "$CGI_ERR" 'rate limit'
rm -f "$SP/state/ratelimit"
double_post fault '{"kind":"429","retry_after":null,"count":1}'
post "email=r3%40example.com&uid=r-3"
expect_match "429 without Retry-After: retry later" "$CGI_ERR" 'outcome=retry .*http=429'
post "email=r4%40example.com&uid=r-4"
expect_eq "429 without Retry-After: held too" "$CALLS" 0
rm -f "$SP/state/ratelimit"
double_reset '{"minute_limit":8,"hour_limit":100}'
held=0
for i in 1 2 3 4 5 6 7 8; do
	post "email=s$i%40example.com&uid=s-$i"
	if [ "$CALLS" -eq 0 ]; then held=$i; break; fi
done
remaining=$(double_get requests | jq -r '[.requests[] | select(.status == 200 or .status == 201)] | length')
check "slowed down before the per-minute limit (held at request $held, $remaining of 8 used)" \
	test "$held" -gt 0 -a "$remaining" -lt 8
expect_eq "no 429 while slowing down" "$(double_get requests | jq '[.requests[] | select(.status == 429)] | length')" 0
expect_match "the hour window is tracked too" "$(cat "$SP/state/ratelimit")" '^fmgate-ratelimit-1 [0-9a-f]{16} 100 '
rm -f "$SP/state/ratelimit"
double_reset
cgi_bad() { post "$1" FM_API_KEY=wrong-key; }
cgi_bad "email=k1%40example.com&uid=k-1"
expect_match "401: delivery paused, loudly" "$CGI_ERR" 'refused the API key .*PAUSED for every process'
check "401: a shared marker" test -f "$SP/state/paused"
cgi_bad "email=k2%40example.com&uid=k-2"
expect_eq "paused: no call from another process" "$CALLS" 0
expect_no_match "paused: logged once" "$CGI_ERR" 'PAUSED'
expect_match "paused: the submission waits" "$CGI_ERR" 'outcome=paused'
touch -d '2 minutes ago' "$SP/state/paused"
cgi_bad "email=k3%40example.com&uid=k-3"
expect_eq "paused: one probe a minute later" "$CALLS" 1
post "email=k4%40example.com&uid=k-4"
expect_eq "the key works again: delivered" "$(location)" "$SUCCESS"
expect_match "the key works again: logged" "$CGI_ERR" 'delivery resumed'
check "the key works again: marker removed" test ! -e "$SP/state/paused"
double_post fault '{"kind":"status","status":403,"count":1,"path":"/contacts/upsert"}'
post "email=k5%40example.com&uid=k-5"
expect_match "403 to an upsert pauses too" "$CGI_ERR" 'HTTP 403.*PAUSED'
rm -f "$SP/state/paused"
double_post fault '{"kind":"status","status":403,"count":1,"path":"/lookup"}'
post "email=k6%40example.com&uid=k-6"
expect_match "403 to a lookup: that submission waits" "$CGI_ERR" 'outcome=retry .*http=403'
check "403 to a lookup pauses nothing" test ! -e "$SP/state/paused"
rm -f "$SP/state/paused"
double_post fault '{"kind":"status","status":503,"count":1}'
post "email=e1%40example.com&uid=e-1"
expect_match "5xx: retried later" "$CGI_ERR" 'outcome=retry .*http=503'
post "email=e2%40example.com&uid=e-2" FM_API_BASE=http://127.0.0.1:1/crm/sales/api
expect_match "network error: retried later" "$CGI_ERR" 'outcome=retry .*http=0'
double_post fault '{"kind":"delay","ms":4000,"count":1}'
post "email=e3%40example.com&uid=e-3"
expect_match "timeout: retried later" "$CGI_ERR" 'outcome=retry .*http=0'
double_post fault '{"kind":"status","status":422,"count":1,"path":"/contacts/upsert"}'
post "email=e4%40example.com&uid=e-4"
expect_eq "other 4xx: final" "$(location)" "$FAIL?error=rejected&errors=rejected"
expect_match "other 4xx: logged with the API's message" "$CGI_ERR" 'outcome=rejected .*message=Injected fault'

# ---- no usable SPOOL/state: each process works from memory --------------------------------
double_reset
mkdir -p "$tmp/sp2"
printf 'x' >"$tmp/sp2/state"
cgi "email=m1%40example.com&uid=m-1&sector=music" FMGATE_SPOOL="$tmp/sp2"
expect_eq "no state dir: still delivered" "$(custom m-1 cf_industry)" "Music"
expect_eq "no state dir: said once" "$(printf '%s\n' "$CGI_ERR" | grep -c 'state unusable')" 1

# ---- 7. fmgate try: resolved field names and converted values ------------------------------
n=$(double_upserts)
printf 'email=y1%%40example.com&uid=y-1&sector=software&size=7&born=March+3,+2024&interests=events&owner=x&nope=1\n' >"$tmp/body"
out=$(FMGATE_CONFIG="$MAPPING" FMGATE_SPOOL="$SP" FM_API_BASE="$FMDOUBLE_URL/crm/sales/api" \
	FM_API_KEY="$FMDOUBLE_KEY" $FMGATE_WRAP "$FMGATE_BIN" try contact "$tmp/body" 2>&1); rc=$?
expect_eq "try: accepted" "$rc" 0
expect_match "try: label resolved" "$out" 'industry +-> cf_industry +label: "Software"'
expect_match "try: fm-field resolved and converted" "$out" 'Company size +-> cf_employees +fm-field: 7'
expect_match "try: date converted" "$out" 'Birthday +-> cf_birthday +label: "2024-03-03"'
expect_match "try: multi-select converted" "$out" 'Interests +-> cf_interests +label: "Events"'
expect_match "try: privileged label shown as left out" "$out" 'Owner +-> owner_id +left out: privileged'
expect_match "try: unmatched trait shown" "$out" 'No Such Field +-> - +left out: no field has this label'
printf 'email=y1%%40example.com&uid=y-1&size=lots\n' >"$tmp/body"
out=$(FMGATE_CONFIG="$MAPPING" FMGATE_SPOOL="$SP" FM_API_BASE="$FMDOUBLE_URL/crm/sales/api" \
	FM_API_KEY="$FMDOUBLE_KEY" $FMGATE_WRAP "$FMGATE_BIN" try contact "$tmp/body" 2>&1); rc=$?
expect_eq "try: a value the field refuses exits 1" "$rc" 1
expect_match "try: says which field and what it takes" "$out" 'size: invalid_value .*cf_employees.*a number'
expect_eq "try sent no upsert" "$(double_upserts)" "$n"
check "try wrote no state" test ! -e "$SP/state/paused"
done_testing
