#!/bin/sh
# double_selftest.sh: a quick check of the Freshmarketer test double with curl.
# Starts tests/fmdouble.py on a free port, runs each behaviour once and checks
# the status (and a fragment of the answer), then stops it by its PID.
# Usage: bash tests/double/selftest.sh   (from the repository root; make test runs it)
set -u

dir=$(mktemp -d)
/usr/bin/python3 tests/fmdouble.py --port 0 --port-file "$dir/port" --key k1 &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$dir"' EXIT

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
check "reset emptied" 200 '{"contacts": []}' "$url/_double/contacts"
check "reset to no limits" 200 '"ok": true' -X POST "$url/_double/reset"
check "reset restores the fields" 200 '"cf_region"' -H "$auth" "$api/settings/contacts/fields"
grep -q '"cf_area"' "$dir/body" && { fail=$((fail + 1)); echo "not ok: added field survived reset"; } || pass=$((pass + 1))

kill "$pid"
wait "$pid"
rc=$?
[ $rc -eq 0 ] && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "not ok: exit status $rc on SIGTERM"; }
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
