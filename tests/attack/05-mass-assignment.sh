#!/bin/bash
# Privileged-field mass assignment (a lesson from other form handlers: only
# mapped fields become traits; privilege fields only when the mapping says;
# docs/freshmarketer.md, "Privileged fields and consent"). A post that names
# Freshmarketer's fields (owner_id, lifecycle_stage_id...) or fmgate's own
# message keys sets nothing; a mapping whose trait only reaches a privileged
# field by its label sets nothing either (form "priv" of forms.xml), in the
# real upsert (seen by the double) and in `fmgate try`. The constant that
# names lead_source_id with fm-field is the control.
. "$(dirname "$0")/common.bash"
PRIV='["owner_id","territory_id","lead_source_id","lifecycle_stage_id","contact_status_id","subscription_status","subscription_types"]'
MARKS=(victim)

# The contact keys of the last upsert, sorted, and the whole last body.
last_upsert() { upsert_bodies | tail -n 1; }
keys_of() { printf '%s' "$1" | jq -c '.contact | keys'; }

# 1. Form fields named like CRM fields or message keys: dropped.
double_reset
hostile="email=a%40example.com&uid=u-mass&first=Ann&owner_id=2&lifecycle_stage_id=73"
hostile+="&territory_id=31&lead_source_id=42&contact_status_id=52&subscription_status=2"
hostile+="&subscription_types=x&external_id=victim&emails=victim%40example.com"
hostile+="&contact%5Bowner_id%5D=2&custom_field%5Bcf_industry%5D=Music&cf_industry=Music"
hostile+="&Owner=Bob+Sales&Lifecycle+stage=Customer&Industry=Music&firstName=victim"
hostile+="&address.city=victim&userId=victim&traits%5Bemail%5D=victim%40example.com"
hostile+="&unique_identifier=victim&Email=victim%40example.com&EMAIL=victim%40example.com"
acgi "hostile field names" "$hostile"
expect_delivered "hostile field names: delivered"
body=$(last_upsert)
expect_eq "only mapped fields were sent" "$(keys_of "$body")" '["emails","external_id","first_name"]'
expect_eq "keyed on the real userId" "$(printf '%s' "$body" | jq -c .unique_identifier)" '{"external_id":"u-mass"}'
expect_eq "the posted email, not a planted one" "$(printf '%s' "$body" | jq -r .contact.emails)" "a@example.com"
expect_eq "the contact has no owner" "$(double_contact u-mass owner_id)" "NULL"
expect_eq "the contact has no lifecycle stage" "$(double_contact u-mass lifecycle_stage_id)" "NULL"

# The same as multipart, and for a JSON client.
mp=""
for kv in email=m@example.com uid=u-mass-mp owner_id=2 lifecycle_stage_id=73 external_id=victim cf_industry=Music; do
	printf -v part -- '--B\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' "${kv%%=*}" "${kv#*=}"
	mp+=$part
done
acgi "hostile multipart" "$mp--B--" CONTENT_TYPE='multipart/form-data; boundary=B'
expect_delivered "multipart: delivered"
expect_eq "multipart: only mapped fields were sent" "$(keys_of "$(last_upsert)")" '["emails","external_id"]'
acgi "hostile JSON client" "$hostile" HTTP_ACCEPT=application/json
expect_eq "JSON client: only mapped fields were sent" "$(keys_of "$(last_upsert)")" '["emails","external_id","first_name"]'

# 2. A mapping whose traits reach privileged fields by label only.
double_reset
pbody="email=p%40example.com&uid=u-priv&owner=Bob+Sales&stage=Customer&status=Working"
pbody+="&territory=EMEA&source=Referral&subs=Subscribed&subtypes=x&ext=victim"
pbody+="&mails=victim%40example.com&owner_id=2&stage_id=73&campaign=77"
acgi "labels of privileged fields" "$pbody" PATH_INFO=/priv
expect_delivered "privileged labels: delivered" /thanks.html
expect_match "an id field's label: left out, logged when the list is used" "$CGI_ERR" \
	'trait "Campaign" left out: privileged or id field, set only by fm-field \(campaign_id\)'

body=$(last_upsert)
expect_eq "no privileged field reached by label" \
	"$(printf '%s' "$body" | jq -c --argjson p "$PRIV" '[.contact | keys[] | select(. as $k | $p | index($k)) | select(. != "lead_source_id")]')" '[]'
expect_eq "the fm-field constant is the one privileged field" \
	"$(printf '%s' "$body" | jq -c '.contact | [.lead_source_id, (keys | length)]')" '[41,3]'
expect_eq "identity fields only from userId and email" \
	"$(printf '%s' "$body" | jq -c '.contact | [.external_id, .emails]')" '["u-priv","p@example.com"]'
expect_eq "the contact: no owner" "$(double_contact u-priv owner_id)" "NULL"
expect_eq "the contact: no lifecycle stage" "$(double_contact u-priv lifecycle_stage_id)" "NULL"
expect_eq "the contact: no status" "$(double_contact u-priv contact_status_id)" "NULL"
expect_eq "the contact: no subscription status" "$(double_contact u-priv subscription_status)" "NULL"
expect_eq "the contact: the control's source" "$(double_contact u-priv lead_source_id)" "41"
expect_eq "the contact: no campaign (an id field outside the privileged list)" \
	"$(double_contact u-priv campaign_id)" "NULL"
expect_eq "nothing but upserts (no field ever written by another call)" \
	"$(double_get requests | jq -c '[.requests[] | select(.method != "GET" and (.path | endswith("/contacts/upsert") | not))] | length')" 0

# 3. `fmgate try` shows the same request.
printf '%s\n' "$pbody" >"$ATK_TMP/try.body"
FMGATE_CONFIG="$MAPPING" FM_API_BASE="$FMDOUBLE_URL/crm/sales/api" FM_API_KEY=$FMDOUBLE_KEY \
	$FMGATE_WRAP "$FMGATE_BIN" try priv "$ATK_TMP/try.body" >"$ATK_TMP/try.out" 2>"$ATK_TMP/try.err"
expect_eq "try accepts the post" "$?" 0
tbody=$(sed -n '/^Content-Type: application\/json$/,$p' "$ATK_TMP/try.out" | tail -n +2 | jq -c .)
expect_eq "try: the same contact keys" "$(keys_of "$tbody")" '["emails","external_id","lead_source_id"]'
expect_no_match "try: no privileged value" "$tbody" 'victim|Bob|Customer|Working|EMEA|Referral|Subscribed|77'

# 4. `fmgate check --online` refuses each of those labels, the id field's too.
FM_API_BASE="$FMDOUBLE_URL/crm/sales/api" FM_API_KEY=$FMDOUBLE_KEY \
	$FMGATE_WRAP "$FMGATE_BIN" check --online "$MAPPING" >"$ATK_TMP/check.out" 2>&1
expect_eq "check --online: exit 1" "$?" 1
expect_match "check --online: the id field's label refused" "$(cat "$ATK_TMP/check.out")" \
	'forms\.xml:[0-9]+: trait "Campaign": its label is the id field campaign_id, set only through fm-field'
expect_match "check --online: a privileged label refused" "$(cat "$ATK_TMP/check.out")" \
	'trait "Owner": its label is the privileged field owner_id'
attack_done
