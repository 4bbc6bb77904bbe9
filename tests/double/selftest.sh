#!/bin/sh
# double_selftest.sh: a quick check of the Freshmarketer test double with curl.
# Starts tests/fmdouble.py on a free port, runs each behaviour once and checks
# the status (and a fragment of the answer), each mode too (and that a reset
# restores the defaults), then stops it by its PID.
# Usage: bash tests/double/selftest.sh   (from the repository root; make test runs it)
set -u

dir=$(mktemp -d)
/usr/bin/python3 tests/fmdouble.py --port 0 --port-file "$dir/port" --key k1 &
pid=$!
pid2=
trap 'kill "$pid" $pid2 2>/dev/null; wait "$pid" $pid2 2>/dev/null; rm -rf "$dir"' EXIT

i=0
while [ ! -s "$dir/port" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ -s "$dir/port" ] || { echo "double did not start"; exit 1; }
url="http://127.0.0.1:$(cat "$dir/port")"
api="$url/crm/sales/api"
fail=0
pass=0

# check NAME WANT_STATUS WANT_FRAGMENT curl-args...
check() {
	name=$1 want=$2 frag=$3
	shift 3
	got=$(curl -s -o "$dir/body" -w '%{http_code}' "$@")
	if [ "$got" = "$want" ] && grep -qF -- "$frag" "$dir/body"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "not ok: $name: status $got (want $want), body: $(cat "$dir/body")"
	fi
}
auth='Authorization: Token token=k1'
ct='Content-Type: application/json'

check "no key" 401 '"code": 401' "$api/settings/contacts/fields"
check "bad key" 401 'Incorrect or missing API key' -H 'Authorization: Token token=x' "$api/settings/contacts/fields"
check "fields" 200 '"cf_industry"' -H "$auth" "$api/settings/contacts/fields"
check "bad json" 400 'Invalid JSON' -H "$auth" -H "$ct" -d '{' "$api/contacts/upsert"
check "no identifier" 400 'unique_identifier' -H "$auth" -d '{"contact":{}}' "$api/contacts/upsert"
check "create" 201 '"external_id": "u1"' -H "$auth" \
	-d '{"unique_identifier":{"external_id":"u1"},"contact":{"emails":"a@x.org","first_name":"Ann","custom_field":{"cf_industry":"Music"}}}' \
	"$api/contacts/upsert"
check "update merges" 200 '"first_name": "Ann"' -H "$auth" \
	-d '{"unique_identifier":{"external_id":"u1"},"contact":{"last_name":"Lee","custom_field":{"cf_employees":5}}}' \
	"$api/contacts/upsert"
check "custom merged" 200 '"cf_industry": "Music"' "$url/_double/contacts"
check "email taken" 400 'Email has already been taken' -H "$auth" \
	-d '{"unique_identifier":{"external_id":"u2"},"contact":{"emails":"A@x.org"}}' "$api/contacts/upsert"
check "external taken" 400 'External has already been taken' -H "$auth" \
	-d '{"unique_identifier":{"emails":"b@x.org"},"contact":{"external_id":"u1"}}' "$api/contacts/upsert"
check "unknown attribute" 400 'Unknown attribute: Industry' -H "$auth" \
	-d '{"unique_identifier":{"external_id":"u3"},"contact":{"Industry":"Music"}}' "$api/contacts/upsert"
check "unknown custom" 400 'Unknown custom field: cf_nope' -H "$auth" \
	-d '{"unique_identifier":{"external_id":"u3"},"contact":{"custom_field":{"cf_nope":1}}}' "$api/contacts/upsert"
check "bad number" 400 'Invalid value for cf_employees: expected a number' -H "$auth" \
	-d '{"unique_identifier":{"external_id":"u3"},"contact":{"custom_field":{"cf_employees":"5"}}}' "$api/contacts/upsert"
check "bad dropdown" 400 'Invalid value for cf_industry' -H "$auth" \
	-d '{"unique_identifier":{"external_id":"u3"},"contact":{"custom_field":{"cf_industry":"music"}}}' "$api/contacts/upsert"
check "bad date" 400 'Invalid value for cf_birthday' -H "$auth" \
	-d '{"unique_identifier":{"external_id":"u3"},"contact":{"custom_field":{"cf_birthday":"2020-02-30"}}}' "$api/contacts/upsert"
check "multi-select" 201 '"cf_interests": "Pricing;Events"' -H "$auth" \
	-d '{"unique_identifier":{"external_id":"u4"},"contact":{"custom_field":{"cf_interests":"Pricing;Events"}}}' \
	"$api/contacts/upsert"
check "multi-select unknown choice" 400 'Invalid value for cf_interests' -H "$auth" \
	-d '{"unique_identifier":{"external_id":"u4"},"contact":{"custom_field":{"cf_interests":"Pricing;Gossip"}}}' \
	"$api/contacts/upsert"
check "multi-select list refused" 400 'Invalid value for cf_interests' -H "$auth" \
	-d '{"unique_identifier":{"external_id":"u4"},"contact":{"custom_field":{"cf_interests":["Pricing"]}}}' \
	"$api/contacts/upsert"
check "max_length" 400 'expected at most 40 characters' -H "$auth" \
	-d '{"unique_identifier":{"external_id":"u4"},"contact":{"custom_field":{"cf_notes":"12345678901234567890123456789012345678901"}}}' \
	"$api/contacts/upsert"
check "fields: add" 200 '"cf_area"' -H "$ct" -d '{"add":{"name":"cf_area","label":"Area","type":"text"}}' "$url/_double/fields"
check "fields: served" 200 '"label": "Area"' -H "$auth" "$api/settings/contacts/fields"
check "fields: new field accepted" 200 '"cf_area": "North"' -H "$auth" \
	-d '{"unique_identifier":{"external_id":"u4"},"contact":{"custom_field":{"cf_area":"North"}}}' \
	"$api/contacts/upsert"
check "fields: update" 200 '"label": "Zone"' -H "$ct" -d '{"update":{"name":"cf_area","label":"Zone"}}' "$url/_double/fields"
check "fields: remove" 200 '"fields"' -H "$ct" -d '{"remove":"cf_region"}' "$url/_double/fields"
check "fields: removed field refused" 400 'Unknown custom field: cf_region' -H "$auth" \
	-d '{"unique_identifier":{"external_id":"u4"},"contact":{"custom_field":{"cf_region":"x"}}}' \
	"$api/contacts/upsert"
check "fields: bad change" 400 'type must be one of' -H "$ct" -d '{"add":{"name":"cf_b","type":"blob"}}' "$url/_double/fields"
check "plural ignored" 201 '"custom_field": {}' -H "$auth" \
	-d '{"unique_identifier":{"external_id":"u3"},"contact":{"custom_fields":{"cf_nope":1}}}' "$api/contacts/upsert"
check "lookup" 200 '"external_id": "u1"' -H "$auth" "$api/lookup?q=a%40x.org&f=email&entities=contact"
check "lookup none" 200 '{"contacts": {"contacts": []}}' -H "$auth" "$api/lookup?q=z%40x.org&f=email&entities=contact"
check "filtered search" 200 '"meta": {"total": 1}' -H "$auth" \
	-d '{"filter_rule":[{"attribute":"contact_email.email","operator":"is_in","value":"a@x.org"}]}' \
	"$api/filtered_search/contact"
check "get by id" 200 '"first_name": "Ann"' -H "$auth" "$api/contacts/70054866601"
check "put by id" 200 '"job_title": "CEO"' -H "$auth" -X PUT -d '{"contact":{"job_title":"CEO"}}' \
	"$api/contacts/70054866601"
check "missing id" 404 'Record not found' -H "$auth" "$api/contacts/1"
check "requests logged" 200 '"conn": "127.0.0.1:' "$url/_double/requests"
check "fault 503" 200 '"queued": 1' -d '{"kind":"status","status":503}' "$url/_double/fault"
check "503 served" 503 'Injected fault' -H "$auth" "$api/settings/contacts/fields"
check "fault gone" 200 '"fields"' -H "$auth" "$api/settings/contacts/fields"
check "fault 429" 200 '"ok": true' -d '{"kind":"429","retry_after":7}' "$url/_double/fault"
check "429 served" 429 'API rate limit exceeded' -D "$dir/h" -H "$auth" "$api/settings/contacts/fields"
grep -qi '^retry-after: 7' "$dir/h" && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "not ok: Retry-After"; }
check "fault reset" 200 '"ok": true' -d '{"kind":"reset"}' "$url/_double/fault"
check "reset served" 000 '' -H "$auth" "$api/settings/contacts/fields"
check "limits" 200 '"ok": true' -d '{"minute_limit":2,"retry_after":true}' "$url/_double/reset"
check "limit 1" 200 '"fields"' -D "$dir/h" -H "$auth" "$api/settings/contacts/fields"
grep -qi '^per-min-x-ratelimit-remaining: 1' "$dir/h" && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "not ok: remaining header"; }
check "limit 2" 200 '"fields"' -H "$auth" "$api/settings/contacts/fields"
check "limit 3" 429 'API rate limit exceeded' -D "$dir/h" -H "$auth" "$api/settings/contacts/fields"
grep -qi '^retry-after: [0-9]' "$dir/h" && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "not ok: Retry-After on limit"; }
check "rate windows" 200 '"counted": 2, "refused": 1' "$url/_double/rate"
check "requests carry their time" 200 '"at": ' "$url/_double/requests"
check "two limits" 200 '"ok": true' -d '{"hour_limit":5,"minute_limit":1}' "$url/_double/reset"
check "two limits 1" 200 '"fields"' -H "$auth" "$api/settings/contacts/fields"
check "two limits: the minute's 429" 429 'API rate limit exceeded' -D "$dir/h" -H "$auth" "$api/settings/contacts/fields"
grep -qi '^x-ratelimit-remaining: 4' "$dir/h" && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "not ok: a refused call counted in the hour"; }
check "two limits: the refused call in the log" 200 '"counted": 1, "refused": 1' "$url/_double/rate"
check "window length refused" 400 'minute_window must be' -d '{"minute_window":0}' "$url/_double/reset"
check "short windows" 200 '"ok": true' -d '{"minute_limit":1,"minute_window":1}' "$url/_double/reset"
check "short window 1" 200 '"fields"' -D "$dir/h" -H "$auth" "$api/settings/contacts/fields"
grep -qi '^per-min-x-ratelimit-reset: 1' "$dir/h" && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "not ok: reset within a short window"; }
check "short window over" 429 'API rate limit exceeded' -H "$auth" "$api/settings/contacts/fields"
sleep 1.1
check "short window restarted" 200 '"fields"' -H "$auth" "$api/settings/contacts/fields"
got=$(curl -s "$url/_double/rate" | jq -c '[.minute.windows[] | [.counted, .refused]], (.minute.windows[1].start - .minute.windows[0].start >= 1), .minute.seconds, .hour.windows, [.calls, .refused]')
if [ "$got" = "$(printf '%s\n' '[[1,1],[1,0]]' true 1 '[]' '[3,1]')" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "not ok: two windows logged: $got"; fi
check "no rate headers" 200 '"ok": true' -d '{"minute_limit":1,"retry_after":true,"modes":{"ratelimit_headers":"none"}}' "$url/_double/reset"
check "no rate headers 1" 200 '"fields"' -D "$dir/h" -H "$auth" "$api/settings/contacts/fields"
grep -qi 'ratelimit' "$dir/h" && { fail=$((fail + 1)); echo "not ok: a rate header in mode none"; } || pass=$((pass + 1))
check "no rate headers: still limited" 429 'API rate limit exceeded' -D "$dir/h" -H "$auth" "$api/settings/contacts/fields"
grep -qi 'ratelimit' "$dir/h" && { fail=$((fail + 1)); echo "not ok: a rate header on the 429 in mode none"; } || pass=$((pass + 1))
grep -qi '^retry-after: [0-9]' "$dir/h" && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "not ok: Retry-After in mode none"; }
check "reset emptied" 200 '{"contacts": []}' "$url/_double/contacts"
check "reset to no limits" 200 '"ok": true' -X POST "$url/_double/reset"
check "reset restores the fields" 200 '"cf_region"' -H "$auth" "$api/settings/contacts/fields"
grep -q '"cf_area"' "$dir/body" && { fail=$((fail + 1)); echo "not ok: added field survived reset"; } || pass=$((pass + 1))

# --- modes: the live-seen behaviours -------------------------------------------
# absent NAME FRAGMENT: the last answer's body does not hold the fragment
absent() {
	if grep -qF -- "$2" "$dir/body"; then
		fail=$((fail + 1)); echo "not ok: $1: holds $2: $(cat "$dir/body")"
	else
		pass=$((pass + 1))
	fi
}
# header_is NAME HEADER REGEX: the last answer saved with -D "$dir/h" has the
# header, its value matching the (extended) regex whole
header_is() {
	v=$(tr -d '\r' <"$dir/h" | grep -i "^$2: " | head -n 1 | cut -d' ' -f2-)
	if printf '%s\n' "$v" | grep -Eqx -- "$3"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1)); echo "not ok: $1: $2 is [$v], want /$3/"
	fi
}
# near NAME UNIX_SECONDS: within the hour window (now - 5 s .. now + 3605 s)
near() {
	now=$(date +%s)
	if [ -n "$2" ] && [ "$2" -ge $((now - 5)) ] && [ "$2" -le $((now + 3605)) ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1)); echo "not ok: $1: [$2] is not within the hour from $now"
	fi
}
hval() { tr -d '\r' <"$dir/h" | grep -i "^$1: " | head -n 1 | cut -d' ' -f2-; }
reset_modes() { curl -s -o /dev/null -d "{\"modes\":$1}" "$url/_double/reset"; }
ann='{"unique_identifier":{"emails":"ann@example.com"},"contact":{"first_name":"Ann","last_name":"Lee","external_id":"u-42","job_title":"CEO","custom_field":{"cf_industry":"Music"}}}'
lookup_ann="$api/lookup?q=ann%40example.com&f=email&entities=contact"
search_ann='{"filter_rule":[{"attribute":"contact_email.email","operator":"is_in","value":"ann@example.com"}]}'
defaults='{"modes": {"dup_message": "documented", "lookup_rows": "full", "lookup_lag_ms": 0, "lookup_403_every": 0, "external_id_key": "accepted", "reset_format": "seconds", "subscription": "text", "radio": false, "unknown_type": false, "emails_array": false, "create_status": 201, "lists_per_page": 25, "list_names": "any", "ratelimit_headers": "sent"}}'

check "modes: defaults" 200 "$defaults" "$url/_double/modes"
check "modes: unknown name" 400 'Unknown mode: nope' -d '{"modes":{"nope":1}}' "$url/_double/reset"
check "modes: bad choice" 400 'mode reset_format must be one of: seconds, ddmmyy, unix, far, garbage' \
	-d '{"modes":{"reset_format":"hex"}}' "$url/_double/reset"
check "modes: bad count" 400 'mode lookup_lag_ms must be a non-negative integer' \
	-d '{"modes":{"lookup_lag_ms":-1}}' "$url/_double/reset"
check "modes: bad flag" 400 'mode radio must be true or false' -d '{"modes":{"radio":1}}' "$url/_double/reset"
check "modes: bad status" 400 'mode create_status must be one of: 201, 200' \
	-d '{"modes":{"create_status":"200"}}' "$url/_double/reset"
check "modes: bad live" 400 'mode live must be true or false' -d '{"modes":{"live":"yes"}}' "$url/_double/reset"
check "modes: not an object" 400 'modes must be an object' -d '{"modes":true}' "$url/_double/reset"
check "modes: seed" 201 '"u-0"' -d '{"emails":"zed@example.com","external_id":"u-0"}' "$url/_double/contacts"
check "modes: a refused reset resets nothing" 200 '"u-0"' "$url/_double/contacts"
check "modes: still the defaults" 200 "$defaults" "$url/_double/modes"

# dup_message
reset_modes '{"dup_message":"address"}'
check "address: in force" 200 '"dup_message": "address"' "$url/_double/modes"
check "address: create" 201 '"u-42"' -H "$auth" -d "$ann" "$api/contacts/upsert"
check "address: email taken" 400 '{"errors": {"code": 400, "message": ["ann@example.com already exists."]}}' -H "$auth" \
	-d '{"unique_identifier":{"external_id":"u-43"},"contact":{"emails":"ann@example.com"}}' "$api/contacts/upsert"
check "address: external taken" 400 '"message": ["u-42 already exists."]' -H "$auth" \
	-d '{"contact":{"emails":"bob@example.com","external_id":"u-42"}}' "$api/contacts"
reset_modes '{"dup_message":"dutch"}'
check "dutch: seed" 201 '"u-42"' -d '{"emails":"ann@example.com","external_id":"u-42"}' "$url/_double/contacts"
check "dutch: email taken" 400 '"message": ["ann@example.com bestaat al."]' -H "$auth" \
	-d '{"unique_identifier":{"external_id":"u-43"},"contact":{"emails":"ann@example.com"}}' "$api/contacts/upsert"
check "dutch: external taken" 400 '"message": ["u-42 bestaat al."]' -H "$auth" \
	-d '{"unique_identifier":{"emails":"bob@example.com"},"contact":{"external_id":"u-42"}}' "$api/contacts/upsert"
check "dutch: other texts stay English" 400 'Unknown attribute: Industry' -H "$auth" \
	-d '{"contact":{"Industry":"x"}}' "$api/contacts"

# lookup_rows
reset_modes '{"lookup_rows":"partial"}'
check "partial: create" 201 '"job_title": "CEO"' -H "$auth" -d "$ann" "$api/contacts/upsert"
check "partial: lookup row" 200 '{"contacts": {"contacts": [{"id": 70054866601, "first_name": "Ann", "last_name": "Lee", "display_name": "Ann Lee", "email": "ann@example.com", "emails": "ann@example.com"}]}}' \
	-H "$auth" "$lookup_ann"
check "partial: search row" 200 '"contacts": [{"id": 70054866601, "first_name": "Ann", "last_name": "Lee", "display_name": "Ann Lee", "email": "ann@example.com", "emails": "ann@example.com"}]' \
	-H "$auth" -d "$search_ann" "$api/filtered_search/contact"
absent "partial: no external_id in search rows" '"external_id"'
absent "partial: no custom_field in search rows" '"custom_field"'
check "partial: by id stays whole" 200 '"external_id": "u-42", "first_name": "Ann", "last_name": "Lee", "job_title": "CEO", "custom_field": {"cf_industry": "Music"}' \
	-H "$auth" "$api/contacts/70054866601"
check "partial: by external_id" 200 '"display_name": "Ann Lee"' -H "$auth" "$api/lookup?q=u-42&f=external_id&entities=contact"
absent "partial: no external_id in lookup rows" '"external_id"'

# lookup_lag_ms
reset_modes '{"lookup_lag_ms":700}'
check "lag: create" 201 '"u-42"' -H "$auth" -d "$ann" "$api/contacts/upsert"
check "lag: not in lookup yet" 200 '{"contacts": {"contacts": []}}' -H "$auth" "$lookup_ann"
check "lag: not in search yet" 200 '"meta": {"total": 0}' -H "$auth" -d "$search_ann" "$api/filtered_search/contact"
check "lag: upsert sees it" 200 '"u-42"' -H "$auth" -d "$ann" "$api/contacts/upsert"
check "lag: by id at once" 200 '"u-42"' -H "$auth" "$api/contacts/70054866601"
check "lag: seeded found at once" 201 '"u-7"' -d '{"emails":"seed@example.com","external_id":"u-7"}' "$url/_double/contacts"
check "lag: seeded in lookup" 200 '"u-7"' -H "$auth" "$api/lookup?q=seed%40example.com&f=email&entities=contact"
sleep 0.8
check "lag: in lookup later" 200 '"u-42"' -H "$auth" "$lookup_ann"
check "lag: in search later" 200 '"meta": {"total": 1}' -H "$auth" -d "$search_ann" "$api/filtered_search/contact"
check "lag: an update" 200 '"job_title": "CTO"' -H "$auth" -X PUT -d '{"contact":{"job_title":"CTO"}}' \
	"$api/contacts/70054866601"
check "lag: gone again after the update" 200 '{"contacts": {"contacts": []}}' -H "$auth" "$lookup_ann"

# lookup_403_every
reset_modes '{"lookup_403_every":2}'
check "403: create" 201 '"u-42"' -H "$auth" -d "$ann" "$api/contacts/upsert"
check "403: 1st lookup" 200 '"u-42"' -H "$auth" "$lookup_ann"
check "403: 2nd is refused" 403 '{"errors": {"code": 403, "message": ["You don'"'"'t have access to this resource."]}}' \
	-H "$auth" "$lookup_ann"
check "403: other calls work" 200 '"u-42"' -H "$auth" "$api/contacts/70054866601"
check "403: 3rd (a search)" 200 '"total": 1' -H "$auth" -d "$search_ann" "$api/filtered_search/contact"
check "403: 4th (a search) refused" 403 'have access' -H "$auth" -d "$search_ann" "$api/filtered_search/contact"
check "403: 5th" 200 '"u-42"' -H "$auth" "$lookup_ann"
reset_modes '{"lookup_403_every":1,"dup_message":"dutch"}'
check "403 every 1, Dutch" 403 '"message": ["Je hebt geen toegang tot deze bron."]' -H "$auth" "$lookup_ann"
check "403 every 1: again" 403 'geen toegang' -H "$auth" -d "$search_ann" "$api/filtered_search/contact"

# external_id_key
reset_modes '{"external_id_key":"refused"}'
check "refused: external_id key" 400 '{"errors": {"code": 400, "message": ["Invalid unique identifier"]}}' -H "$auth" \
	-d '{"unique_identifier":{"external_id":"u-42"},"contact":{"emails":"ann@example.com","external_id":"u-42"}}' \
	"$api/contacts/upsert"
check "refused: nothing created" 200 '{"contacts": []}' "$url/_double/contacts"
check "refused: emails key works" 201 '"external_id": "u-42"' -H "$auth" -d "$ann" "$api/contacts/upsert"
check "refused: external_id still unique" 400 'External has already been taken' -H "$auth" \
	-d '{"unique_identifier":{"emails":"bob@example.com"},"contact":{"external_id":"u-42"}}' "$api/contacts/upsert"
check "refused: found by external_id" 200 '"u-42"' -H "$auth" "$api/lookup?q=u-42&f=external_id&entities=contact"
reset_modes '{"external_id_key":"refused","dup_message":"dutch"}'
check "refused, Dutch" 400 '"message": ["Ongeldige unieke identificatie"]' -H "$auth" \
	-d '{"unique_identifier":{"external_id":"u-42"},"contact":{}}' "$api/contacts/upsert"

# reset_format (the headers come with a limit)
for form in seconds ddmmyy unix far garbage; do
	curl -s -o /dev/null -d "{\"hour_limit\":50,\"minute_limit\":5,\"modes\":{\"reset_format\":\"$form\"}}" "$url/_double/reset"
	check "reset_format $form" 200 '"fields"' -D "$dir/h" -H "$auth" "$api/settings/contacts/fields"
	case $form in
	seconds)
		header_is "$form: hour" x-ratelimit-reset '[0-9]{1,4}'
		header_is "$form: minute" per-min-x-ratelimit-reset '[0-9]{1,2}' ;;
	ddmmyy)
		for h in x-ratelimit-reset per-min-x-ratelimit-reset; do
			v=$(hval $h)
			header_is "$form: $h" $h '[0-3][0-9][01][0-9][0-9]{2}[0-2][0-9][0-5][0-9][0-5][0-9]'
			near "$form: $h is the instant in UTC" "$(date -u -d "20$(echo "$v" | cut -c5-6)-$(echo "$v" | cut -c3-4)-$(echo "$v" | cut -c1-2) $(echo "$v" | cut -c7-8):$(echo "$v" | cut -c9-10):$(echo "$v" | cut -c11-12)" +%s 2>/dev/null)"
		done ;;
	unix)
		header_is "$form: hour" x-ratelimit-reset '[0-9]{10}'
		near "$form: hour instant" "$(hval x-ratelimit-reset)"
		near "$form: minute instant" "$(hval per-min-x-ratelimit-reset)" ;;
	far)
		header_is "$form: hour" x-ratelimit-reset 311299235959
		header_is "$form: minute" per-min-x-ratelimit-reset 311299235959 ;;
	garbage)
		header_is "$form: hour" x-ratelimit-reset soon
		header_is "$form: minute" per-min-x-ratelimit-reset soon ;;
	esac
done
curl -s -o /dev/null -d '{"minute_limit":1,"modes":{"reset_format":"far"}}' "$url/_double/reset"
check "reset_format: over the limit" 200 '"fields"' -H "$auth" "$api/settings/contacts/fields"
check "reset_format: the 429 too" 429 'API rate limit exceeded' -D "$dir/h" -H "$auth" "$api/settings/contacts/fields"
header_is "reset_format: 429 header" per-min-x-ratelimit-reset 311299235959

# subscription: the default (text) first
reset_modes '{}'
check "subscription text: status by text" 201 '"subscription_status": "Subscribed", "subscription_types": "Newsletter, whatever"' -H "$auth" \
	-d '{"contact":{"emails":"s@example.com","subscription_status":"Subscribed","subscription_types":"Newsletter, whatever"}}' "$api/contacts"
check "subscription text: its id taken too (as stored live)" 201 '"subscription_status": 1' \
	-H "$auth" -d '{"contact":{"emails":"t@example.com","subscription_status":1}}' "$api/contacts"
check "subscription text: an id that is no choice refused" 400 'Invalid value for subscription_status: expected one of: Not subscribed, Subscribed, Unsubscribed' \
	-H "$auth" -d '{"contact":{"emails":"u@example.com","subscription_status":7}}' "$api/contacts"
reset_modes '{"subscription":"ids"}'
check "subscription ids: status field" 200 '{"id": 18, "name": "subscription_status", "label": "Subscription status", "type": "dropdown", "required": false, "default": true, "choices": [{"id": 1, "value": "Subscribed"}, {"id": 2, "value": "Unsubscribed"}, {"id": 3, "value": "Not subscribed"}, {"id": 4, "value": "Reported as spam"}]}' \
	-H "$auth" "$api/settings/contacts/fields"
grep -qF '{"id": 19, "name": "subscription_types", "label": "Subscription types", "type": "multi_select_dropdown", "required": false, "default": true, "choices": [{"id": 1, "value": "Newsletter"}, {"id": 2, "value": "Promotions"}, {"id": 3, "value": "Events"}, {"id": 4, "value": "Product updates"}, {"id": 5, "value": "Surveys"}]}' "$dir/body" \
	&& pass=$((pass + 1)) || { fail=$((fail + 1)); echo "not ok: subscription ids: types field"; }
check "subscription ids: text refused" 400 '"message": ["Invalid value for subscription_status: expected one of the ids: 1, 2, 3, 4"]' \
	-H "$auth" -d '{"contact":{"emails":"s@example.com","subscription_status":"Subscribed"}}' "$api/contacts"
check "subscription ids: unknown id refused" 400 'expected one of the ids: 1, 2, 3, 4' \
	-H "$auth" -d '{"contact":{"emails":"s@example.com","subscription_status":0}}' "$api/contacts"
check "subscription ids: names refused" 400 'Invalid value for subscription_types' \
	-H "$auth" -d '{"contact":{"emails":"s@example.com","subscription_types":"Newsletter;Events"}}' "$api/contacts"
check "subscription ids: ids taken" 201 '"subscription_status": 3, "subscription_types": "2;3;4;5;1"' -H "$auth" \
	-d '{"unique_identifier":{"emails":"s@example.com"},"contact":{"subscription_status":3,"subscription_types":"2;3;4;5;1"}}' \
	"$api/contacts/upsert"
check "subscription ids: returned as an integer" 200 '"subscription_status": 3,' -H "$auth" "$api/contacts/70054866601"

# radio, unknown_type
reset_modes '{"radio":true,"unknown_type":true}'
check "radio: in the fields" 200 '{"id": 109, "name": "cf_contact_pref", "label": "Preferred contact", "type": "radio", "required": false, "default": false, "choices": [{"id": 31, "value": "Email"}, {"id": 32, "value": "Phone"}]}' \
	-H "$auth" "$api/settings/contacts/fields"
grep -qF '{"id": 110, "name": "cf_score", "label": "Score", "type": "slider", "required": false, "default": false}' "$dir/body" \
	&& pass=$((pass + 1)) || { fail=$((fail + 1)); echo "not ok: unknown_type: in the fields"; }
check "radio: the text taken" 201 '"cf_contact_pref": "Phone"' -H "$auth" \
	-d '{"contact":{"emails":"r@example.com","custom_field":{"cf_contact_pref":"Phone"}}}' "$api/contacts"
check "radio: other text refused" 400 'Invalid value for cf_contact_pref: expected one of: Email, Phone' -H "$auth" \
	-d '{"contact":{"custom_field":{"cf_contact_pref":"phone"}}}' "$api/contacts"
check "radio: the id refused" 400 'Invalid value for cf_contact_pref' -H "$auth" \
	-d '{"contact":{"custom_field":{"cf_contact_pref":32}}}' "$api/contacts"
check "radio: relabelled" 200 '"label": "Contact by"' -H "$ct" \
	-d '{"update":{"name":"cf_contact_pref","label":"Contact by"}}' "$url/_double/fields"
check "unknown_type: a number" 201 '"cf_score": 3.5' -H "$auth" \
	-d '{"contact":{"custom_field":{"cf_score":3.5}}}' "$api/contacts"
check "unknown_type: a string" 201 '"cf_score": "high"' -H "$auth" \
	-d '{"contact":{"custom_field":{"cf_score":"high"}}}' "$api/contacts"
check "unknown_type: a list refused" 400 'Invalid value for cf_score' -H "$auth" \
	-d '{"contact":{"custom_field":{"cf_score":[1]}}}' "$api/contacts"

# emails_array
reset_modes '{"emails_array":true}'
arr='"email": "ann@example.com", "emails": [{"id": 70000400001, "value": "ann@example.com", "is_primary": true, "label": null, "_destroy": false}]'
check "emails_array: upsert" 201 "$arr" -H "$auth" -d "$ann" "$api/contacts/upsert"
check "emails_array: get" 200 "$arr" -H "$auth" "$api/contacts/70054866601"
check "emails_array: put" 200 "$arr" -H "$auth" -X PUT -d '{"contact":{"city":"Ghent"}}' "$api/contacts/70054866601"
check "emails_array: lookup" 200 "$arr" -H "$auth" "$lookup_ann"
check "emails_array: search" 200 "$arr" -H "$auth" -d "$search_ann" "$api/filtered_search/contact"
check "emails_array: no email" 201 '"email": null, "emails": []' -H "$auth" -d '{"contact":{"first_name":"X"}}' "$api/contacts"
check "emails_array: control API plain" 200 '"email": "ann@example.com", "emails": "ann@example.com"' "$url/_double/contacts"

# create_status
reset_modes '{"create_status":200}'
check "create_status 200: created" 200 '"u-42"' -H "$auth" -d "$ann" "$api/contacts/upsert"
check "create_status 200: updated" 200 '"u-42"' -H "$auth" -d "$ann" "$api/contacts/upsert"
check "create_status 200: POST /contacts keeps 201" 201 '"bob@example.com"' -H "$auth" \
	-d '{"contact":{"emails":"bob@example.com"}}' "$api/contacts"

# live
reset_modes '{"live":true}'
check "live: expands" 200 '{"modes": {"dup_message": "address", "lookup_rows": "partial", "lookup_lag_ms": 0, "lookup_403_every": 0, "external_id_key": "accepted", "reset_format": "ddmmyy", "subscription": "ids", "radio": true, "unknown_type": false, "emails_array": true, "create_status": 200, "lists_per_page": 25, "list_names": "any", "ratelimit_headers": "sent"}}' \
	"$url/_double/modes"
check "live: created with 200" 200 '"emails": [{"id": ' -H "$auth" -d "$ann" "$api/contacts/upsert"
check "live: address message" 400 'ann@example.com already exists.' -H "$auth" \
	-d '{"contact":{"emails":"ann@example.com"}}' "$api/contacts"
reset_modes '{"live":true,"create_status":201,"lookup_lag_ms":50,"radio":false}'
check "live: others win" 200 '"lookup_lag_ms": 50, "lookup_403_every": 0, "external_id_key": "accepted", "reset_format": "ddmmyy", "subscription": "ids", "radio": false, "unknown_type": false, "emails_array": true, "create_status": 201, "lists_per_page": 25, "list_names": "any", "ratelimit_headers": "sent"}' \
	"$url/_double/modes"
reset_modes '{"live":false,"lookup_rows":"partial"}'
check "live false" 200 '{"modes": {"dup_message": "documented", "lookup_rows": "partial", "lookup_lag_ms": 0' "$url/_double/modes"

# a reset without modes restores every default
reset_modes '{"live":true,"lookup_lag_ms":9,"lookup_403_every":1,"external_id_key":"refused","unknown_type":true}'
check "reset: back to the defaults" 200 '{"ok": true}' -X POST "$url/_double/reset"
check "reset: the default modes" 200 "$defaults" "$url/_double/modes"
check "reset: the default fields" 200 '"type": "text", "required": false, "default": true}, {"id": 20' -H "$auth" "$api/settings/contacts/fields"
absent "reset: no radio field" cf_contact_pref
absent "reset: no slider field" cf_score
check "reset: created is 201 again" 201 '"emails": "ann@example.com"' -H "$auth" -d "$ann" "$api/contacts/upsert"
check "reset: documented message" 400 'Email has already been taken' -H "$auth" \
	-d '{"contact":{"emails":"ann@example.com"}}' "$api/contacts"
check "reset: full rows" 200 '"custom_field": {"cf_industry": "Music"}' -H "$auth" "$lookup_ann"
check "reset: empty modes too" 200 '{"ok": true}' -d '{"modes":{}}' "$url/_double/reset"
check "reset: still the defaults" 200 "$defaults" "$url/_double/modes"

# --- issue 13: lists, accounts and their links, notes --------------------------
bad() { printf '{"errors": {"code": %s, "message": ["%s"]}}' "$1" "$2"; }
# count NAME WANT FRAGMENT: the last answer holds the fragment WANT times
count() {
	n=$(grep -oF -- "$3" "$dir/body" | wc -l)
	if [ "$n" -eq "$2" ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1)); echo "not ok: $1: $n times $3 (want $2): $(cat "$dir/body")"
	fi
}
check "modes: bad page size" 400 'mode lists_per_page must be a positive integer' \
	-d '{"modes":{"lists_per_page":0}}' "$url/_double/reset"
check "modes: bad list_names" 400 'mode list_names must be one of: any, unique' \
	-d '{"modes":{"list_names":"Unique"}}' "$url/_double/reset"

# lists: creating, names, paging (2 a page)
reset_modes '{"lists_per_page":2}'
check "lists: none" 200 '{"lists": [], "meta": {"total_pages": 0, "total": 0}}' -H "$auth" "$api/lists"
check "lists: no key" 401 'Incorrect or missing API key' "$api/lists"
check "lists: create" 201 '{"list": {"id": 7001, "name": "Webinar"}}' -H "$auth" -d '{"name":"Webinar"}' "$api/lists"
check "lists: create, wrapped" 201 '{"list": {"id": 7002, "name": "Newsletter"}}' -H "$auth" \
	-d '{"list":{"name":"Newsletter"}}' "$api/lists"
check "lists: a duplicate name makes a second list" 201 '{"list": {"id": 7003, "name": "Webinar"}}' -H "$auth" \
	-d '{"name":"Webinar"}' "$api/lists"
for body in '{}' '{"name":""}' '{"name":"  "}' '{"name":5}' '{"name":null}' '{"list":{"name":""}}' '{"list":{}}'; do
	check "lists: blank name $body" 400 "$(bad 400 "Name can't be blank")" -H "$auth" -d "$body" "$api/lists"
done
check "lists: seed" 201 '{"list": {"id": 7004, "name": "Archive", "contacts": []}}' -d '{"name":"Archive"}' "$url/_double/lists"
check "lists: seed, blank" 400 "Name can't be blank" -d '{}' "$url/_double/lists"
check "lists: create a 5th" 201 '"id": 7005' -H "$auth" -d '{"name":"Fifth"}' "$api/lists"
page1='{"lists": [{"id": 7001, "name": "Webinar"}, {"id": 7002, "name": "Newsletter"}], "meta": {"total_pages": 3, "total": 5}}'
check "lists: page 1 by default" 200 "$page1" -H "$auth" "$api/lists"
check "lists: page 1" 200 "$page1" -H "$auth" "$api/lists?page=1"
check "lists: page 2" 200 '{"lists": [{"id": 7003, "name": "Webinar"}, {"id": 7004, "name": "Archive"}], "meta": {"total_pages": 3, "total": 5}}' \
	-H "$auth" "$api/lists?page=2"
check "lists: page 3, the last" 200 '{"lists": [{"id": 7005, "name": "Fifth"}], "meta": {"total_pages": 3, "total": 5}}' \
	-H "$auth" "$api/lists?page=3"
check "lists: past the end" 200 '{"lists": [], "meta": {"total_pages": 3, "total": 5}}' -H "$auth" "$api/lists?page=4"
for p in 0 -1 x '' 1.5 %C2%B2; do
	check "lists: page [$p] refused" 400 "$(bad 400 'Invalid page')" -H "$auth" "$api/lists?page=$p"
done
check "lists: all held" 200 '{"lists": [{"id": 7001, "name": "Webinar", "contacts": []}, {"id": 7002, "name": "Newsletter", "contacts": []}, {"id": 7003, "name": "Webinar", "contacts": []}, {"id": 7004' \
	"$url/_double/lists"

# add_contacts: membership is a set, all or nothing
c1=70054866601 c2=70054866602
check "add: contact 1" 201 "\"id\": $c1" -H "$auth" -d "$ann" "$api/contacts/upsert"
check "add: contact 2" 201 "\"id\": $c2" -H "$auth" -d '{"contact":{"emails":"bob@example.com"}}' "$api/contacts"
check "add: one" 200 '{"message": "Contacts added to list"}' -H "$auth" -X PUT -d "{\"ids\":[$c1]}" "$api/lists/7001/add_contacts"
check "add: again, with another twice" 200 '{"message": "Contacts added to list"}' -H "$auth" -X PUT \
	-d "{\"ids\":[$c2,$c1,$c2]}" "$api/lists/7001/add_contacts"
check "add: held once each" 200 "{\"id\": 7001, \"name\": \"Webinar\", \"contacts\": [$c1, $c2]}, {\"id\": 7002, \"name\": \"Newsletter\", \"contacts\": []}" \
	"$url/_double/lists"
check "add: unknown list" 404 "$(bad 404 'Record not found')" -H "$auth" -X PUT -d "{\"ids\":[$c1]}" "$api/lists/7999/add_contacts"
check "add: an account id is no list" 404 'Record not found' -H "$auth" -X PUT -d "{\"ids\":[$c1]}" "$api/lists/5001/add_contacts"
for body in '{}' '{"ids":[]}' '{"ids":"1"}' "{\"ids\":$c1}" "{\"ids\":[\"$c1\"]}" '{"ids":[true]}' '{"ids":[1.5]}' '{"ids":[null]}'; do
	check "add: bad body $body" 400 "$(bad 400 'ids must be a non-empty list of contact ids')" -H "$auth" -X PUT \
		-d "$body" "$api/lists/7002/add_contacts"
done
check "add: unknown contacts" 400 "$(bad 400 'Invalid contact ids: 5, 6')" -H "$auth" -X PUT \
	-d "{\"ids\":[6,$c1,5,6]}" "$api/lists/7002/add_contacts"
check "add: a list id is no contact" 400 'Invalid contact ids: 7001' -H "$auth" -X PUT \
	-d '{"ids":[7001]}' "$api/lists/7002/add_contacts"
check "add: nothing added on a refusal" 200 '{"id": 7002, "name": "Newsletter", "contacts": []}' "$url/_double/lists"
check "add: not a GET" 404 'No route for GET /crm/sales/api/lists/7001/add_contacts' -H "$auth" "$api/lists/7001/add_contacts"
check "add: a deleted contact leaves" 200 '"ok": true' -H "$auth" -X DELETE "$api/contacts/$c2"
check "add: gone from the list" 200 "{\"id\": 7001, \"name\": \"Webinar\", \"contacts\": [$c1]}" "$url/_double/lists"

# list_names "unique"
reset_modes '{"list_names":"unique"}'
check "unique: create" 201 '{"list": {"id": 7001, "name": "Webinar"}}' -H "$auth" -d '{"name":"Webinar"}' "$api/lists"
check "unique: duplicate refused" 400 "$(bad 400 'Name has already been taken')" -H "$auth" -d '{"list":{"name":"Webinar"}}' "$api/lists"
check "unique: seeding refused too" 400 'Name has already been taken' -d '{"name":"Webinar"}' "$url/_double/lists"
check "unique: case counts" 201 '{"list": {"id": 7002, "name": "webinar"}}' -H "$auth" -d '{"name":"webinar"}' "$api/lists"
check "unique: two held" 200 '{"lists": [{"id": 7001, "name": "Webinar", "contacts": []}, {"id": 7002, "name": "webinar", "contacts": []}]}' \
	"$url/_double/lists"

# the default page size: 25
reset_modes '{}'
i=0
while [ $i -lt 26 ]; do curl -s -o /dev/null -d "{\"name\":\"L$i\"}" "$url/_double/lists"; i=$((i + 1)); done
check "lists: 25 a page by default" 200 '"meta": {"total_pages": 2, "total": 26}' -H "$auth" "$api/lists"
count "lists: 25 on page 1" 25 '"name"'
check "lists: 1 on page 2" 200 '{"lists": [{"id": 7026, "name": "L25"}], "meta": {"total_pages": 2, "total": 26}}' -H "$auth" "$api/lists?page=2"

# accounts
reset_modes '{}'
acme='{"unique_identifier":{"name":"Acme"},"sales_account":{"name":"Acme","website":"acme.example"}}'
check "accounts: create" 201 '{"sales_account": {"id": 5001, "name": "Acme"}}' -H "$auth" -d "$acme" "$api/sales_accounts/upsert"
check "accounts: update" 200 '{"sales_account": {"id": 5001, "name": "Acme"}}' -H "$auth" -d "$acme" "$api/sales_accounts/upsert"
check "accounts: found whatever the case" 200 '{"sales_account": {"id": 5001, "name": "Acme"}}' -H "$auth" \
	-d '{"unique_identifier":{"name":"ACME"},"sales_account":{}}' "$api/sales_accounts/upsert"
check "accounts: another" 201 '{"sales_account": {"id": 5002, "name": "Globex"}}' -H "$auth" \
	-d '{"unique_identifier":{"name":"Globex"},"sales_account":{"name":"Globex"}}' "$api/sales_accounts/upsert"
for body in '{"sales_account":{"name":"X"}}' '{"unique_identifier":"X","sales_account":{}}' \
	'{"unique_identifier":{"name":""},"sales_account":{}}' '{"unique_identifier":{"name":5},"sales_account":{}}' \
	'{"unique_identifier":{"emails":"X"},"sales_account":{}}'; do
	check "accounts: identifier $body" 400 "$(bad 400 'unique_identifier must hold name')" -H "$auth" -d "$body" "$api/sales_accounts/upsert"
done
for body in '{"unique_identifier":{"name":"Initech"}}' '{"unique_identifier":{"name":"Initech"},"sales_account":"Initech"}' \
	'{"unique_identifier":{"name":"Initech"},"sales_account":[]}'; do
	check "accounts: account $body" 400 "$(bad 400 'sales_account must be an object')" -H "$auth" -d "$body" "$api/sales_accounts/upsert"
done
check "accounts: held" 200 '{"sales_accounts": [{"id": 5001, "name": "Acme"}, {"id": 5002, "name": "Globex"}]}' "$url/_double/accounts"
reset_modes '{"create_status":200}'
check "accounts: create_status 200" 200 '{"sales_account": {"id": 5001, "name": "Acme"}}' -H "$auth" -d "$acme" "$api/sales_accounts/upsert"
check "accounts: the name sent is the new one" 200 '{"sales_account": {"id": 5001, "name": "ACME Corp"}}' -H "$auth" \
	-d '{"unique_identifier":{"name":"acme"},"sales_account":{"name":"ACME Corp"}}' "$api/sales_accounts/upsert"
check "accounts: renamed" 200 '{"sales_accounts": [{"id": 5001, "name": "ACME Corp"}]}' "$url/_double/accounts"
for n in '""' 5 null; do
	check "accounts: name $n" 400 "$(bad 400 'Invalid value for name: expected a string')" -H "$auth" \
		-d "{\"unique_identifier\":{\"name\":\"Initech\"},\"sales_account\":{\"name\":$n}}" "$api/sales_accounts/upsert"
done

# contacts' links to accounts
reset_modes '{}'
curl -s -o /dev/null -H "$auth" -d "$acme" "$api/sales_accounts/upsert"
curl -s -o /dev/null -H "$auth" -d '{"unique_identifier":{"name":"Globex"},"sales_account":{}}' "$api/sales_accounts/upsert"
check "links: none yet" 201 "\"id\": $c1" -H "$auth" -d "$ann" "$api/contacts/upsert"
absent "links: no include, no key" '"sales_accounts"'
check "links: always in the control API" 200 '"custom_field": {"cf_industry": "Music"}, "sales_accounts": []}' "$url/_double/contacts"
check "links: none, included" 200 '"sales_accounts": []' -H "$auth" "$api/contacts/$c1?include=sales_accounts"
check "links: upsert sets" 200 '"job_title": "CFO", "custom_field": {"cf_industry": "Music"}, "sales_accounts": [{"id": 5001, "name": "Acme", "is_primary": true}]}' \
	-H "$auth" -d '{"unique_identifier":{"emails":"ann@example.com"},"contact":{"job_title":"CFO","sales_accounts":[{"id":5001,"is_primary":true}]}}' \
	"$api/contacts/upsert?include=sales_accounts"
check "links: held" 200 '"sales_accounts": [{"id": 5001, "is_primary": true}]}' "$url/_double/contacts"
check "links: GET without include" 200 '"job_title": "CFO"' -H "$auth" "$api/contacts/$c1"
absent "links: absent without include" '"sales_accounts"'
check "links: GET, include among others" 200 '"sales_accounts": [{"id": 5001, "name": "Acme", "is_primary": true}]' \
	-H "$auth" "$api/contacts/$c1?include=owner,sales_accounts,nonsense"
check "links: GET, other includes only" 200 '"job_title": "CFO"' -H "$auth" "$api/contacts/$c1?include=owner,notes"
absent "links: absent with other includes" '"sales_accounts"'
check "links: PUT replaces" 200 '"sales_accounts": [{"id": 5002, "name": "Globex", "is_primary": true}, {"id": 5001, "name": "Acme", "is_primary": false}]}' \
	-H "$auth" -X PUT -d '{"contact":{"sales_accounts":[{"id":5002,"is_primary":true},{"id":5001,"is_primary":false}]}}' \
	"$api/contacts/$c1?include=sales_accounts"
check "links: PUT replaces (one left)" 200 '"sales_accounts": [{"id": 5002, "name": "Globex", "is_primary": false}]}' \
	-H "$auth" -X PUT -d '{"contact":{"sales_accounts":[{"id":5002}]}}' "$api/contacts/$c1?include=sales_accounts"
check "links: PUT without them keeps them" 200 '"city": "Ghent", "custom_field": {"cf_industry": "Music"}, "sales_accounts": [{"id": 5002, "name": "Globex", "is_primary": false}]}' \
	-H "$auth" -X PUT -d '{"contact":{"city":"Ghent"}}' "$api/contacts/$c1?include=sales_accounts"
check "links: the upsert without them keeps them" 200 '"sales_accounts": [{"id": 5002, "name": "Globex", "is_primary": false}]}' \
	-H "$auth" -d "$ann" "$api/contacts/upsert?include=sales_accounts"
check "links: PUT without include" 200 '"city": "Ghent"' -H "$auth" -X PUT -d '{"contact":{"sales_accounts":[]}}' "$api/contacts/$c1"
absent "links: PUT answer without include" '"sales_accounts"'
check "links: an empty list clears" 200 '"sales_accounts": []}' -H "$auth" "$api/contacts/$c1?include=sales_accounts"
check "links: POST /contacts" 201 '"sales_accounts": [{"id": 5001, "name": "Acme", "is_primary": false}, {"id": 5002, "name": "Globex", "is_primary": true}]}' \
	-H "$auth" -d '{"contact":{"emails":"carol@example.com","sales_accounts":[{"id":5001,"is_primary":false},{"id":5002,"is_primary":true}]}}' \
	"$api/contacts?include=sales_accounts"
check "links: upsert creating" 201 '"sales_accounts": [{"id": 5001, "name": "Acme", "is_primary": true}]}' \
	-H "$auth" -d '{"unique_identifier":{"emails":"dan@example.com"},"contact":{"sales_accounts":[{"id":5001,"is_primary":true}]}}' \
	"$api/contacts/upsert?include=sales_accounts"
check "links: upsert without include" 200 '"dan@example.com"' -H "$auth" \
	-d '{"unique_identifier":{"emails":"dan@example.com"},"contact":{"sales_accounts":[{"id":5002,"is_primary":true}]}}' \
	"$api/contacts/upsert"
absent "links: upsert answer without include" '"sales_accounts"'
check "links: POST /contacts without include" 201 '"eve@example.com"' -H "$auth" \
	-d '{"contact":{"emails":"eve@example.com","sales_accounts":[{"id":5002,"is_primary":true}]}}' "$api/contacts"
absent "links: POST answer without include" '"sales_accounts"'
for links in '{"id":5001}' '[5001]' '[{"id":"5001"}]' '[{"id":true}]' '[{"is_primary":true}]' '[{"id":5001,"is_primary":"yes"}]' \
	'[{"id":5001},{"id":5001,"is_primary":true}]' 'null' '"Acme"'; do
	check "links: malformed $links" 400 "$(bad 400 'Invalid sales_accounts')" -H "$auth" -X PUT \
		-d "{\"contact\":{\"sales_accounts\":$links}}" "$api/contacts/$c1"
done
check "links: unknown account" 400 "$(bad 400 'Invalid sales account ids: 9')" -H "$auth" -X PUT \
	-d '{"contact":{"sales_accounts":[{"id":9,"is_primary":true}]}}' "$api/contacts/$c1"
check "links: unknown accounts (a list id too)" 400 'Invalid sales account ids: 9, 7001' -H "$auth" \
	-d '{"contact":{"emails":"x@example.com","sales_accounts":[{"id":7001},{"id":5001},{"id":9}]}}' "$api/contacts"
check "links: two primaries" 400 "$(bad 400 'Only one primary sales account')" -H "$auth" \
	-d '{"unique_identifier":{"emails":"ann@example.com"},"contact":{"job_title":"COO","sales_accounts":[{"id":5001,"is_primary":true},{"id":5002,"is_primary":true}]}}' \
	"$api/contacts/upsert"
check "links: a refusal changes nothing" 200 '"job_title": "CEO", "city": "Ghent", "custom_field": {"cf_industry": "Music"}, "sales_accounts": []}' \
	-H "$auth" "$api/contacts/$c1?include=sales_accounts"
check "links: nobody created on a refusal" 200 '"contacts"' "$url/_double/contacts"
absent "links: no x@example.com" 'x@example.com'
check "links: other keys still strict" 400 "$(bad 400 'Unknown attribute: sales_account')" -H "$auth" -X PUT \
	-d '{"contact":{"sales_accounts":[],"sales_account":{"id":5001}}}' "$api/contacts/$c1"
check "links: no field of the field list" 200 '"fields"' -H "$auth" "$api/settings/contacts/fields"
absent "links: not in the fields" 'sales_account'
check "links: seeding" 201 '"emails": "seed@example.com", "external_id": null, "custom_field": {}, "sales_accounts": [{"id": 5002, "is_primary": false}]}' \
	-d '{"emails":"seed@example.com","sales_accounts":[{"id":5002,"is_primary":false}]}' "$url/_double/contacts"

# notes: every POST makes one
note="{\"note\":{\"description\":\"Call me\",\"targetable_type\":\"Contact\",\"targetable_id\":$c1}}"
check "notes: create" 201 "{\"note\": {\"id\": 9001, \"description\": \"Call me\", \"targetable_type\": \"Contact\", \"targetable_id\": $c1}}" \
	-H "$auth" -d "$note" "$api/notes"
check "notes: the same again makes another" 201 "{\"note\": {\"id\": 9002, \"description\": \"Call me\"" -H "$auth" -d "$note" "$api/notes"
for d in '' '"description":"",' '"description":"  ",' '"description":5,' '"description":null,'; do
	check "notes: blank [$d]" 400 "$(bad 400 "Description can't be blank")" -H "$auth" \
		-d "{\"note\":{$d\"targetable_type\":\"Contact\",\"targetable_id\":$c1}}" "$api/notes"
done
for t in '"contact"' '"SalesAccount"' 'null' '5'; do
	check "notes: type $t" 400 "$(bad 400 'Invalid targetable_type')" -H "$auth" \
		-d "{\"note\":{\"description\":\"x\",\"targetable_type\":$t,\"targetable_id\":$c1}}" "$api/notes"
done
check "notes: no type" 400 'Invalid targetable_type' -H "$auth" -d "{\"note\":{\"description\":\"x\",\"targetable_id\":$c1}}" "$api/notes"
for id in 1 5001 "\"$c1\"" null; do
	check "notes: target $id" 404 "$(bad 404 'Record not found')" -H "$auth" \
		-d "{\"note\":{\"description\":\"x\",\"targetable_type\":\"Contact\",\"targetable_id\":$id}}" "$api/notes"
done
check "notes: not wrapped" 400 "$(bad 400 'note must be an object')" -H "$auth" \
	-d "{\"description\":\"x\",\"targetable_type\":\"Contact\",\"targetable_id\":$c1}" "$api/notes"
check "notes: held" 200 "{\"notes\": [{\"id\": 9001, \"description\": \"Call me\", \"targetable_type\": \"Contact\", \"targetable_id\": $c1}, {\"id\": 9002, \"description\": \"Call me\", \"targetable_type\": \"Contact\", \"targetable_id\": $c1}]}" \
	"$url/_double/notes"
count "notes: only those two" 2 '"id": '

# a fault filtered on method and path
check "fault: method" 200 '"queued": 1' -d '{"kind":"status","status":503,"path":"/lists","method":"POST"}' "$url/_double/fault"
check "fault: GET passes" 200 '"meta"' -H "$auth" "$api/lists"
check "fault: POST /notes passes" 201 '"note"' -H "$auth" -d "$note" "$api/notes"
check "fault: POST /lists fails" 503 "$(bad 503 'Injected fault')" -H "$auth" -d '{"name":"Webinar"}' "$api/lists"
check "fault: nothing made" 200 '{"lists": []}' "$url/_double/lists"
check "fault: then works" 201 '{"list": {"id": 7001, "name": "Webinar"}}' -H "$auth" -d '{"name":"Webinar"}' "$api/lists"
check "fault: method alone" 200 '"queued": 1' -d '{"kind":"status","status":502,"method":"PUT","count":2}' "$url/_double/fault"
check "fault: other method passes" 200 '"CEO"' -H "$auth" "$api/contacts/$c1"
check "fault: PUT 1 fails" 502 'Injected fault' -H "$auth" -X PUT -d "{\"ids\":[$c1]}" "$api/lists/7001/add_contacts"
check "fault: PUT 2 fails" 502 'Injected fault' -H "$auth" -X PUT -d '{"contact":{}}' "$api/contacts/$c1"
check "fault: PUT passes after" 200 'Contacts added to list' -H "$auth" -X PUT -d "{\"ids\":[$c1]}" "$api/lists/7001/add_contacts"
for m in PATCH post 5; do
	check "fault: method $m refused" 400 'method must be one of: GET, POST, PUT, DELETE' \
		-d "{\"kind\":\"status\",\"status\":503,\"method\":\"$m\"}" "$url/_double/fault"
done
check "fault: none queued" 200 '"queued": 0' -d '{"kind":"clear"}' "$url/_double/fault"

# rate counting
curl -s -o /dev/null -d '{"minute_limit":1}' "$url/_double/reset"
check "limit: lists count" 200 '"meta"' -H "$auth" "$api/lists"
check "limit: accounts count" 429 'API rate limit exceeded' -H "$auth" -d "$acme" "$api/sales_accounts/upsert"

# a reset clears them all and restarts the ids
curl -s -o /dev/null -X POST "$url/_double/reset"
curl -s -o /dev/null -H "$auth" -d "$acme" "$api/sales_accounts/upsert"
curl -s -o /dev/null -H "$auth" -d '{"name":"Webinar"}' "$api/lists"
curl -s -o /dev/null -H "$auth" -d '{"contact":{"emails":"ann@example.com","sales_accounts":[{"id":5001,"is_primary":true}]}}' "$api/contacts"
curl -s -o /dev/null -H "$auth" -X PUT -d "{\"ids\":[$c1]}" "$api/lists/7001/add_contacts"
curl -s -o /dev/null -H "$auth" -d "$note" "$api/notes"
check "reset: before, a link" 200 '"sales_accounts": [{"id": 5001, "is_primary": true}]' "$url/_double/contacts"
check "reset: before, a member" 200 "\"contacts\": [$c1]" "$url/_double/lists"
check "reset: before, a note" 200 '"id": 9001' "$url/_double/notes"
check "reset: clear" 200 '{"ok": true}' -X POST "$url/_double/reset"
check "reset: no lists" 200 '{"lists": []}' "$url/_double/lists"
check "reset: no accounts" 200 '{"sales_accounts": []}' "$url/_double/accounts"
check "reset: no notes" 200 '{"notes": []}' "$url/_double/notes"
check "reset: no contacts" 200 '{"contacts": []}' "$url/_double/contacts"
check "reset: list ids restart" 201 '{"list": {"id": 7001, "name": "Webinar"}}' -H "$auth" -d '{"name":"Webinar"}' "$api/lists"
check "reset: account ids restart" 201 '{"sales_account": {"id": 5001, "name": "Acme"}}' -H "$auth" -d "$acme" "$api/sales_accounts/upsert"
check "reset: a new contact has no links" 201 '"sales_accounts": []' -H "$auth" -d '{"contact":{"emails":"ann@example.com"}}' \
	"$api/contacts?include=sales_accounts"
check "reset: note ids restart" 201 '"id": 9001' -H "$auth" -d "$note" "$api/notes"
check "reset: no member" 200 '{"lists": [{"id": 7001, "name": "Webinar", "contacts": []}]}' "$url/_double/lists"
curl -s -o /dev/null -X POST "$url/_double/reset"

# --- stand-ins: webhook receivers ------------------------------------------------
# The signature of 1700000000.{"a":1} under hook-secret-1, computed with
# printf '%s' '1700000000.{"a":1}' | openssl dgst -sha256 -hmac hook-secret-1
sig=sha256=0a35054582bf30f4c2fe1b0a920b1f5cdd7df1355e8d538236dfa8c2ad7c65d1
hook() { # hook NAME WANT_STATUS WANT_FRAGMENT SIGNATURE [curl-args...]
	n=$1 w=$2 f=$3 sg=$4
	shift 4
	check "hooks: $n" "$w" "$f" -H "$ct" -H 'X-Fmgate-Timestamp: 1700000000' \
		-H "X-Fmgate-Signature: $sg" -d '{"a":1}' "$@" "$url/_hooks/$n"
}
check "hooks: secret set" 200 '{"ok": true}' -d '{"secrets":{"crm":"hook-secret-1"}}' "$url/_double/hooks"
hook crm 200 '{"ok": true}' "$sig"
hook crm 200 '{"ok": true}' "sha256=$(printf '%064d' 0)"
hook other 200 '{"ok": true}' "$sig"
check "hooks: recorded" 200 '"name": "crm", "timestamp": "1700000000", "signature": "sha256=0a35' "$url/_double/hooks"
count "hooks: three recorded" 3 '"raw": "{\"a\":1}"'
count "hooks: the signed one verifies" 1 '"verified": true'
count "hooks: a wrong signature, or no secret, does not" 2 '"verified": false'
check "hooks: the body parsed" 200 '"content_type": "application/json", "user_agent": "curl/' "$url/_double/hooks"
check "hooks: status set" 200 '{"ok": true}' -d '{"status":{"crm":500},"retry_after":{"crm":7}}' "$url/_double/hooks"
hook crm 500 '{"ok": false}' "$sig" -D "$dir/h"
header_is "hooks: Retry-After" Retry-After '7'
hook other 200 '{"ok": true}' "$sig"
check "hooks: null forgets" 200 '{"ok": true}' -d '{"status":{"crm":null},"retry_after":{"crm":null}}' "$url/_double/hooks"
hook crm 200 '{"ok": true}' "$sig" -D "$dir/h"
grep -qi '^retry-after' "$dir/h" && { fail=$((fail + 1)); echo "not ok: hooks: Retry-After forgotten"; } || pass=$((pass + 1))
check "hooks: 2xx set" 200 '{"ok": true}' -d '{"status":{"crm":202}}' "$url/_double/hooks"
hook crm 202 '{"ok": true}' "$sig"
for b in '{"status":{"crm":"500"}}' '{"status":{"crm":99}}' '{"delay_ms":{"crm":-1}}' \
	'{"secrets":{"crm":""}}' '{"nope":{}}' '{"status":[]}' '[]'; do
	check "hooks: bad setting $b" 400 '"code": 400' -d "$b" "$url/_double/hooks"
done
check "hooks: one bad setting" 400 'bad status for x' -d '{"status":{"crm":404,"x":"y"}}' "$url/_double/hooks"
hook crm 202 '{"ok": true}' "$sig"
check "hooks: a bad name" 404 'No route' -d '{}' "$url/_hooks/a/b"
check "hooks: no name" 404 'No route' -d '{}' "$url/_hooks/"
# repeats of a messageId are each recorded
curl -s -o /dev/null -X POST "$url/_double/reset"
for i in 1 2; do
	check "hooks: repeat $i" 200 '{"ok": true}' -d '{"messageId":"m-dup"}' "$url/_hooks/crm"
done
check "hooks: repeats listed" 200 '"hooks"' "$url/_double/hooks"
count "hooks: both repeats" 2 '"body": {"messageId": "m-dup"}'
# a slow receiver
check "hooks: delay set" 200 '{"ok": true}' -d '{"delay_ms":{"slow":1500}}' "$url/_double/hooks"
check "hooks: slow answers late" 000 '' --max-time 0.5 -d '{}' "$url/_hooks/slow"
check "hooks: others not slowed" 200 '{"ok": true}' --max-time 0.5 -d '{}' "$url/_hooks/crm"
# faults: only one naming the stand-in's path applies to it
check "hooks: fault with a path" 200 '"queued": 1' -d '{"kind":"status","status":503,"path":"/_hooks/crm"}' "$url/_double/fault"
check "hooks: another hook passes" 200 '{"ok": true}' -d '{}' "$url/_hooks/other"
check "hooks: the fault applies" 503 'Injected fault' -d '{}' "$url/_hooks/crm"
check "hooks: fault without a path" 200 '"queued": 1' -d '{"kind":"status","status":502}' "$url/_double/fault"
check "hooks: not to a hook" 200 '{"ok": true}' -d '{}' "$url/_hooks/crm"
check "hooks: to the API" 502 'Injected fault' -H "$auth" "$api/settings/contacts/fields"
check "hooks: fault reset" 200 '"queued": 1' -d '{"kind":"reset","path":"/_hooks/crm"}' "$url/_double/fault"
check "hooks: reset served" 000 '' -d '{}' "$url/_hooks/crm"
check "hooks: a faulted request recorded" 200 '"status": 503, "fault": "status"' "$url/_double/hooks"
check "hooks: a reset one recorded" 200 '"status": 0, "fault": "reset"' "$url/_double/hooks"

# --- stand-ins: Segment's tracking API ------------------------------------------------
seg="$url/v1/identify"
check "segment: no write key set" 401 '{"success": false}' -u 'wk1:' -H "$ct" -d '{"userId":"u1"}' "$seg"
check "segment: key set" 200 '{"ok": true}' -d '{"write_key":"wk1"}' "$url/_double/segment"
check "segment: accepted" 200 '{"success": true}' -u 'wk1:' -H "$ct" -d '{"userId":"u1","messageId":"s-1"}' "$seg"
check "segment: no auth" 401 '{"success": false}' -H "$ct" -d '{"userId":"u2"}' "$seg"
check "segment: wrong key" 401 '{"success": false}' -u 'wk2:' -H "$ct" -d '{"userId":"u2"}' "$seg"
check "segment: a password" 401 '{"success": false}' -u 'wk1:x' -H "$ct" -d '{"userId":"u2"}' "$seg"
check "segment: no colon" 401 '{"success": false}' -H "Authorization: Basic $(printf wk1 | base64)" \
	-H "$ct" -d '{"userId":"u2"}' "$seg"
check "segment: invalid JSON" 400 '{"success": false}' -u 'wk1:' -H "$ct" -d '{"userId":' "$seg"
check "segment: not an object" 400 '{"success": false}' -u 'wk1:' -H "$ct" -d '[1]' "$seg"
# {"p":"x..."}: 8 bytes around the x's
{ printf '{"p":"'; head -c 32760 /dev/zero | tr '\0' x; printf '"}'; } >"$dir/32k"
check "segment: 32768 bytes" 200 '{"success": true}' -u 'wk1:' -H "$ct" --data-binary @"$dir/32k" "$seg"
sed 's/^{"p":"/{"p":"x/' "$dir/32k" >"$dir/32k.over"
check "segment: 32769 bytes" 400 '{"success": false}' -u 'wk1:' -H "$ct" --data-binary @"$dir/32k.over" "$seg"
check "segment: status set" 200 '{"ok": true}' -d '{"status":503}' "$url/_double/segment"
check "segment: status served" 503 '{"success": false}' -u 'wk1:' -H "$ct" -d '{"userId":"u3"}' "$seg"
check "segment: status cleared" 200 '{"ok": true}' -d '{"status":null}' "$url/_double/segment"
check "segment: accepted again" 200 '{"success": true}' -u 'wk1:' -H "$ct" -d '{"userId":"u4"}' "$seg"
check "segment: recorded" 200 '{"messages": [{"userId": "u1", "messageId": "s-1"}, {"p": "xxx' "$url/_double/segment"
count "segment: only the accepted" 2 '"userId": "u'
absent "segment: refused not among them" '"userId": "u2"'
count "segment: refusals listed" 5 '{"status": 401, "error": "wrong or missing write key"}'
count "segment: 400s listed" 3 '{"status": 400'
for b in '{"write_key":""}' '{"status":"500"}' '{"delay_ms":null}' '{"key":"x"}' '[]'; do
	check "segment: bad setting $b" 400 '"code": 400' -d "$b" "$url/_double/segment"
done
check "segment: delay set" 200 '{"ok": true}' -d '{"delay_ms":1500}' "$url/_double/segment"
check "segment: slow" 000 '' --max-time 0.5 -u 'wk1:' -H "$ct" -d '{"userId":"u5"}' "$seg"
curl -s -o /dev/null -d '{"delay_ms":0}' "$url/_double/segment"
check "segment: fault" 200 '"queued": 1' -d '{"kind":"reset","path":"/v1/identify"}' "$url/_double/fault"
check "segment: fault served" 000 '' -u 'wk1:' -H "$ct" -d '{"userId":"u6"}' "$seg"
check "segment: GET is no stand-in" 401 'Incorrect or missing API key' "$seg"

# the CAPTCHA stand-ins: siteverify of Turnstile, hCaptcha, reCAPTCHA
cap="$url/_captcha"
fct='Content-Type: application/x-www-form-urlencoded'
check "captcha: no secret set" 200 '"invalid-input-secret"' -H "$fct" -d 'secret=s1&response=pass' "$cap/turnstile"
check "captcha: secret set" 200 '{"ok": true}' -d '{"secret":"s1"}' "$url/_double/captcha"
check "captcha: no secret sent" 200 '"missing-input-secret"' -H "$fct" -d 'response=pass' "$cap/turnstile"
check "captcha: wrong secret" 200 '"invalid-input-secret"' -H "$fct" -d 'secret=s2&response=pass' "$cap/hcaptcha"
check "captcha: no token" 200 '"missing-input-response"' -H "$fct" -d 'secret=s1&response=' "$cap/recaptcha"
for p in turnstile hcaptcha recaptcha; do
	check "captcha $p: pass" 200 '{"success": true' -H "$fct" -d 'secret=s1&response=pass&remoteip=192.0.2.7' "$cap/$p"
	check "captcha $p: reused" 200 '"timeout-or-duplicate"' -H "$fct" -d 'secret=s1&response=pass' "$cap/$p"
	check "captcha $p: fail" 200 '"invalid-input-response"' -H "$fct" -d 'secret=s1&response=fail' "$cap/$p"
	check "captcha $p: a tagged pass" 200 '{"success": true' -H "$fct" -d 'secret=s1&response=pass_a1' "$cap/$p"
	check "captcha $p: a bad tag" 200 '"invalid-input-response"' -H "$fct" -d 'secret=s1&response=pass_a-1' "$cap/$p"
done
check "captcha recaptcha: a score, no action set" 200 '"hostname": "localhost", "score": 0.3}' -H "$fct" -d 'secret=s1&response=pass-0.3' "$cap/recaptcha"
check "captcha hcaptcha: a score" 200 '"credit": false, "score": 0.7}' -H "$fct" -d 'secret=s1&response=pass-0.7_x' "$cap/hcaptcha"
check "captcha turnstile: never a score" 200 '"error-codes": [], "action": "", "cdata": ""}' -H "$fct" -d 'secret=s1&response=pass-0.3' "$cap/turnstile"
absent "captcha turnstile: no score field" '"score"'
check "captcha: hostname and action set" 200 '{"ok": true}' -d '{"hostname":"www.example.com","action":"signup"}' "$url/_double/captcha"
check "captcha recaptcha v3: both" 200 '"hostname": "www.example.com", "score": 0.4, "action": "signup"}' -H "$fct" -d 'secret=s1&response=pass-0.4' "$cap/recaptcha"
check "captcha recaptcha v2: no action" 200 '"hostname": "www.example.com"}' -H "$fct" -d 'secret=s1&response=pass_v2' "$cap/recaptcha"
check "captcha turnstile: both" 200 '"hostname": "www.example.com", "error-codes": [], "action": "signup"' -H "$fct" -d 'secret=s1&response=pass_t2' "$cap/turnstile"
check "captcha hcaptcha: never an action" 200 '"hostname": "www.example.com", "credit": false}' -H "$fct" -d 'secret=s1&response=pass_h2' "$cap/hcaptcha"
check "captcha: hostname none" 200 '{"ok": true}' -d '{"hostname":null}' "$url/_double/captcha"
check "captcha: no hostname" 200 '"error-codes": [], "action": "signup"' -H "$fct" -d 'secret=s1&response=pass_t3' "$cap/turnstile"
absent "captcha: no hostname field" '"hostname"'
check "captcha: a score over 1 fails" 200 '"invalid-input-response"' -H "$fct" -d 'secret=s1&response=pass-1.5' "$cap/recaptcha"
check "captcha: JSON body refused" 400 '"bad-request"' -H "$ct" -d '{"secret":"s1","response":"pass_j"}' "$cap/recaptcha"
check "captcha: unknown provider" 404 'No route for POST /_captcha/friendly' -H "$fct" -d 'secret=s1' "$cap/friendly"
check "captcha: recorded" 200 '{"provider": "turnstile", "content_type": "application/x-www-form-urlencoded", "secret_present": true, "secret_ok": true, "token": "pass", "remoteip": "192.0.2.7", "answer": {"success": true' "$url/_double/captcha"
count "captcha: each request recorded" 29 '"provider": '
count "captcha: secret absent noted" 2 '"secret_present": false'
absent "captcha: the secret itself is not recorded" '"s1"'
check "captcha: mode 500" 200 '{"ok": true}' -d '{"mode":"500"}' "$url/_double/captcha"
check "captcha: 500 served" 500 '{"success": false}' -H "$fct" -d 'secret=s1&response=pass_m1' "$cap/hcaptcha"
curl -s -o /dev/null -d '{"mode":"garbage"}' "$url/_double/captcha"
check "captcha: garbage served" 200 '<html>' -H "$fct" -d 'secret=s1&response=pass_m2' "$cap/hcaptcha"
curl -s -o /dev/null -d '{"mode":"down"}' "$url/_double/captcha"
check "captcha: down" 000 '' -H "$fct" -d 'secret=s1&response=pass_m3' "$cap/turnstile"
curl -s -o /dev/null -d '{"mode":"slow","slow_ms":1500}' "$url/_double/captcha"
check "captcha: slow" 000 '' --max-time 0.5 -H "$fct" -d 'secret=s1&response=pass_m4' "$cap/recaptcha"
for b in '{"mode":"off"}' '{"secret":""}' '{"slow_ms":-1}' '{"hostname":""}' '{"action":3}' '{"key":"x"}' '[]'; do
	check "captcha: bad setting $b" 400 '"code": 400' -d "$b" "$url/_double/captcha"
done
check "captcha: still slow after a bad setting" 200 '"mode": "slow"' "$url/_double/captcha"

# a reset clears the stand-ins: records and settings
check "stand-ins: reset" 200 '{"ok": true}' -X POST "$url/_double/reset"
check "stand-ins: no hooks" 200 '{"hooks": []}' "$url/_double/hooks"
check "stand-ins: no siteverify requests, mode normal" 200 '{"requests": [], "mode": "normal"}' "$url/_double/captcha"
check "stand-ins: the secret forgotten" 200 '"invalid-input-secret"' -H "$fct" -d 'secret=s1&response=pass_r' "$cap/recaptcha"
check "stand-ins: tokens forgotten" 200 '{"ok": true}' -d '{"secret":"s1"}' "$url/_double/captcha"
check "stand-ins: a token used before the reset passes" 200 '{"success": true' -H "$fct" -d 'secret=s1&response=pass' "$cap/recaptcha"
check "stand-ins: hostname and action back to their defaults" 200 '"hostname": "localhost", "score": 0.5}' -H "$fct" -d 'secret=s1&response=pass-0.5_r' "$cap/recaptcha"
check "stand-ins: no segment messages" 200 '{"messages": [], "refused": []}' "$url/_double/segment"
check "stand-ins: write key forgotten" 401 '{"success": false}' -u 'wk1:' -H "$ct" -d '{"userId":"u1"}' "$seg"
hook crm 200 '{"ok": true}' "$sig"
check "stand-ins: secret forgotten" 200 '"verified": false' "$url/_double/hooks"
curl -s -o /dev/null -X POST "$url/_double/reset"

# --modes gives the defaults a reset returns to
/usr/bin/python3 tests/fmdouble.py --port 0 --port-file "$dir/port2" --key k1 \
	--modes '{"live":true,"radio":false,"lookup_403_every":3}' &
pid2=$!
i=0
while [ ! -s "$dir/port2" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
url2="http://127.0.0.1:$(cat "$dir/port2")"
check "--modes: in force" 200 '"dup_message": "address", "lookup_rows": "partial", "lookup_lag_ms": 0, "lookup_403_every": 3, "external_id_key": "accepted", "reset_format": "ddmmyy", "subscription": "ids", "radio": false' \
	"$url2/_double/modes"
curl -s -o /dev/null -X POST "$url2/_double/reset"
check "--modes: a reset keeps them" 200 '"dup_message": "address", "lookup_rows": "partial", "lookup_lag_ms": 0, "lookup_403_every": 3' \
	"$url2/_double/modes"
curl -s -o /dev/null -d '{"modes":{"dup_message":"dutch"}}' "$url2/_double/reset"
check "--modes: a mode given wins" 200 '"dup_message": "dutch", "lookup_rows": "partial"' "$url2/_double/modes"
curl -s -o /dev/null -d '{"modes":{"live":false}}' "$url2/_double/reset"
check "--modes: live false" 200 '"dup_message": "documented", "lookup_rows": "full", "lookup_lag_ms": 0, "lookup_403_every": 3' \
	"$url2/_double/modes"
kill "$pid2"
wait "$pid2"
rc=$?
pid2=
[ $rc -eq 0 ] && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "not ok: --modes double: exit status $rc"; }
/usr/bin/python3 tests/fmdouble.py --port 0 --port-file "$dir/port3" --key k1 --modes '{"radio":"yes"}' 2>"$dir/err"
rc=$?
[ $rc -eq 2 ] && [ ! -e "$dir/port3" ] && grep -q 'mode radio must be true or false' "$dir/err" \
	&& pass=$((pass + 1)) || { fail=$((fail + 1)); echo "not ok: bad --modes: exit $rc, $(cat "$dir/err")"; }

kill "$pid"
wait "$pid"
rc=$?
[ $rc -eq 0 ] && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "not ok: exit status $rc on SIGTERM"; }
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
