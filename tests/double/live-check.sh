#!/bin/bash
# tests/double/live-check.sh: runs scripts/live-check.sh against the test
# double only (never the network): its own double on a port the kernel picks,
# the key in a 0600 file. Once with the default (documented) modes, once with
# the live-seen ones and external_id refused, then other reset formats, the
# Dutch messages, a lagging index with 403s, a refused key, usage errors, a
# failing step and Ctrl-C. Each time it checks the summary lines and that the
# double holds no contact afterwards.
# Usage: bash tests/double/live-check.sh   (from the repository root)
set -u
unset FMDOUBLE_MODES
. tests/lib.sh

dir=$(mktemp -d /tmp/fmgate-live-test.XXXXXX)
KEY=lc-key-$RANDOM$RANDOM-secret
printf '%s\n' "$KEY" >"$dir/key"
chmod 600 "$dir/key"
mkdir "$dir/tmp"
/usr/bin/python3 tests/fmdouble.py --port 0 --port-file "$dir/port" --key "$KEY" \
	--hour-limit 1000 --minute-limit 200 2>"$dir/double.log" &
pid=$!
runpid=
trap 'kill $runpid "$pid" 2>/dev/null; wait $runpid "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
wait_for test -s "$dir/port" || { echo "double did not start"; echo "0 passed, 1 failed"; exit 1; }
url="http://127.0.0.1:$(cat "$dir/port")"

reset() { curl -sf -o /dev/null -d "$1" "$url/_double/reset" || not_ok "reset $1"; }
contacts() { curl -sf "$url/_double/contacts" | jq '.contacts | length'; }
# live_check [VAR=VALUE ...]: runs the script; its output in $OUT, exit in $RC
live_check() {
	OUT=$(env -u FM_DOMAIN -u FM_API_KEY TMPDIR="$dir/tmp" FM_API_BASE="$url/crm/sales/api" \
		FM_API_KEY_FILE="$dir/key" "$@" bash scripts/live-check.sh 2>&1)
	RC=$?
}
# line PREFIX: the summary line that starts with PREFIX
line() { printf '%s\n' "$OUT" | sed -n '/^== summary ==$/,$p' | grep -F -- "$1" | head -n 1; }
# after NAME: what every run leaves: no contact, no temporary files, no key shown
after() {
	expect_eq "$1: no contact left" "$(contacts)" 0
	expect_eq "$1: no temporary files left" "$(ls -A "$dir/tmp")" ""
	expect_no_match "$1: the key is never shown" "$OUT" "$KEY"
}

# --- the documented picture (default modes) ---------------------------------------
live_check
expect_eq "default: exit" "$RC" 0
expect_eq "default: accepts external_id" "$(line 'external_id as upsert key:')" \
	'external_id as upsert key: accepted (upsert keyed on external_id: 201)'
expect_eq "default: create status" "$(line 'status of a creating upsert:')" 'status of a creating upsert: 201'
expect_eq "default: duplicate message" "$(line 'duplicate email:')" \
	'duplicate email: 400 "Email has already been taken" (the documented form)'
expect_match "default: reset header" "$(line 'x-ratelimit-reset:')" \
	'^x-ratelimit-reset: [0-9]{1,4}: seconds until the window restarts$'
expect_match "default: per-min reset header" "$(line 'per-min-x-ratelimit-reset:')" \
	'^per-min-x-ratelimit-reset: [0-9]{1,2}: seconds until the window restarts$'
expect_eq "default: lookup" "$(line 'lookup:')" 'lookup: found on try 1 of 6'
expect_match "default: full rows" "$(line 'lookup rows:')" '^lookup rows: full \(.*external_id.*\)$'
expect_eq "default: no 403" "$(line 'lookup 403:')" 'lookup 403: none'
expect_eq "default: subscription_status field" "$(line 'subscription_status field:')" \
	'subscription_status field: dropdown, choices 0=Not subscribed, 1=Subscribed, 2=Unsubscribed'
expect_match "default: subscription_status by its id, as stored live" \
	"$(line 'subscription_status read back as:')" '^subscription_status read back as: a number '
expect_eq "default: subscription_types" "$(line 'subscription_types field:')" 'subscription_types field: text'
expect_eq "default: emails" "$(line 'emails come back as:')" 'emails come back as: a string'
expect_match "default: identity mode" "$(line 'fmgate identity mode:')" '^fmgate identity mode: external_id '
expect_match "default: deleted" "$OUT" 'step 6: deleted contact 70054866601 \(200\)'
after default
expect_eq "default: every request carried the key header" \
	"$(curl -sf "$url/_double/requests" | jq --arg a "Token token=$KEY" '[.requests[] | select(.headers.authorization != $a)] | length')" 0
expect_eq "default: the contact was created by external_id" \
	"$(curl -sf "$url/_double/requests" | jq -r '[.requests[] | select(.path | endswith("/contacts/upsert"))][0].body.unique_identifier | keys[0]')" external_id
expect_match "default: a throwaway address" \
	"$(curl -sf "$url/_double/requests" | jq -r '[.requests[] | select(.path | endswith("/contacts/upsert"))][0].body.contact.emails')" \
	'^fmgate-live-check-[0-9]+-[0-9]+@example\.invalid$'

# --- the live-seen behaviours, external_id refused -------------------------------------
reset '{"modes":{"live":true,"external_id_key":"refused"}}'
live_check
expect_eq "live: exit" "$RC" 0
expect_eq "live: refuses external_id" "$(line 'external_id as upsert key:')" \
	'external_id as upsert key: refused (400 "Invalid unique identifier")'
expect_eq "live: external_id still stored" "$(line 'external_id stored as a field:')" 'external_id stored as a field: yes'
expect_eq "live: create status" "$(line 'status of a creating upsert:')" 'status of a creating upsert: 200'
expect_match "live: duplicate message" "$(line 'duplicate email:')" \
	'^duplicate email: 400 "fmgate-live-check-[0-9]+-[0-9]+@example\.invalid already exists\." \(the address, then "already exists\."\)$'
expect_match "live: reset header" "$(line 'x-ratelimit-reset:')" \
	'^x-ratelimit-reset: [0-9]{12}: ddmmyyHHMMSS \([0-9-]{10} [0-9:]{8} UTC\)$'
expect_match "live: per-min reset header" "$(line 'per-min-x-ratelimit-reset:')" \
	'^per-min-x-ratelimit-reset: [0-9]{12}: ddmmyyHHMMSS '
expect_eq "live: partial rows" "$(line 'lookup rows:')" \
	'lookup rows: partial (display_name, email, emails, first_name, id, last_name; no external_id)'
expect_eq "live: subscription_status field" "$(line 'subscription_status field:')" \
	'subscription_status field: dropdown, choices 1=Subscribed, 2=Unsubscribed, 3=Not subscribed, 4=Reported as spam'
expect_eq "live: subscription_status as a number" "$(line 'subscription_status read back as:')" \
	'subscription_status read back as: a number (set by its id 3)'
expect_eq "live: subscription_types field" "$(line 'subscription_types field:')" \
	'subscription_types field: multi_select_dropdown, choices 1=Newsletter, 2=Promotions, 3=Events, 4=Product updates, 5=Surveys'
expect_match "live: radio among the types" "$(line 'field types used:')" ', radio, '
expect_eq "live: emails array" "$(line 'emails come back as:')" 'emails come back as: an array'
expect_match "live: identity mode" "$(line 'fmgate identity mode:')" '^fmgate identity mode: emails '
after live
expect_eq "live: created keyed on emails after the refusal" \
	"$(curl -sf "$url/_double/requests" | jq -r '[.requests[] | select(.path | endswith("/contacts/upsert")) | .body.unique_identifier | keys[0]] | join(",")')" \
	external_id,emails

# --- Dutch, Unix seconds, a lagging index that answers 403 every other time ------------
reset '{"modes":{"dup_message":"dutch","reset_format":"unix","lookup_lag_ms":2500,"lookup_403_every":2}}'
live_check
expect_eq "dutch: exit" "$RC" 0
expect_match "dutch: duplicate message" "$(line 'duplicate email:')" \
	'^duplicate email: 400 "fmgate-live-check-[0-9]+-[0-9]+@example\.invalid bestaat al\." \(the address, then "bestaat al\." \(Dutch\)\)$'
expect_match "unix: reset header" "$(line 'x-ratelimit-reset:')" '^x-ratelimit-reset: [0-9]{10}: Unix seconds \('
expect_eq "lag: found later" "$(line 'lookup:')" 'lookup: found on try 3 of 6'
expect_eq "403: reported" "$(line 'lookup 403:')" 'lookup 403: 403 on 1 of 3 tries ("Je hebt geen toegang tot deze bron.")'
expect_eq "dutch: full rows" "$(line 'lookup rows:')" \
	'lookup rows: full (custom_field, email, emails, external_id, first_name, id, last_name)'
after dutch

# --- the far-future and the unreadable reset values; no limit, no header -----------------
reset '{"modes":{"reset_format":"far"}}'
live_check
expect_eq "far: exit" "$RC" 0
expect_eq "far: reset header" "$(line 'x-ratelimit-reset:')" \
	'x-ratelimit-reset: 311299235959: ddmmyyHHMMSS (2099-12-31 23:59:59 UTC, far in the future)'
after far
reset '{"modes":{"reset_format":"garbage","unknown_type":true}}'
live_check FM_API_KEY_FILE= FM_API_KEY="$KEY"
expect_eq "garbage: exit (key from FM_API_KEY)" "$RC" 0
expect_eq "garbage: reset header" "$(line 'per-min-x-ratelimit-reset:')" 'per-min-x-ratelimit-reset: "soon": an unknown format'
expect_match "unknown_type: slider among the types" "$(line 'field types used:')" ', slider, '
after garbage
reset '{"hour_limit":0,"minute_limit":0}'
live_check
expect_eq "no limit: exit" "$RC" 0
expect_eq "no limit: no header" "$(line 'x-ratelimit-reset:')" 'x-ratelimit-reset: not sent'
after "no limit"

# --- a refused key: nothing created ---------------------------------------------------------
reset '{}'
printf 'not-the-key\n' >"$dir/badkey"
live_check FM_API_KEY_FILE="$dir/badkey"
expect_eq "bad key: exit" "$RC" 1
expect_match "bad key: said" "$OUT" 'the key was refused: 401 Incorrect or missing API key'
expect_eq "bad key: one request only" "$(curl -sf "$url/_double/requests" | jq '.requests | length')" 1
after "bad key"

# --- usage errors, before any request -----------------------------------------------------
reset '{}'
live_check FM_API_BASE= FM_API_KEY_FILE=
expect_eq "no domain: exit" "$RC" 2
expect_match "no domain: said" "$OUT" 'set FM_DOMAIN'
live_check FM_API_BASE=http://example.com/crm/sales/api
expect_eq "plain http elsewhere: exit" "$RC" 2
expect_match "plain http elsewhere: said" "$OUT" 'plain http only to 127.0.0.1 or localhost'
live_check FM_API_BASE= FM_DOMAIN='acme corp!'
expect_eq "bad domain: exit" "$RC" 2
live_check FM_API_KEY_FILE="$dir/none"
expect_eq "no key file: exit" "$RC" 2
printf 'two words\n' >"$dir/spacekey"
live_check FM_API_KEY_FILE="$dir/spacekey"
expect_eq "key with a space: exit" "$RC" 2
expect_eq "usage errors: no request" "$(curl -sf "$url/_double/requests" | jq '.requests | length')" 0

# --- a step that fails after the contact exists: still deleted -----------------------------
reset '{}'
curl -sf -o /dev/null -d '{"kind":"status","status":500,"path":"/lookup","count":-1}' "$url/_double/fault"
live_check
expect_eq "failing lookup: exit" "$RC" 1
expect_match "failing lookup: said" "$OUT" 'FAILED at step 4 \(lookup\): 500 Injected fault'
expect_match "failing lookup: deleted" "$OUT" 'step 6: deleted contact'
after "failing lookup"
reset '{}'
curl -sf -o /dev/null -d '{"kind":"status","status":500,"path":"/contacts/upsert"}' "$url/_double/fault"
live_check
expect_eq "failing create: exit" "$RC" 1
expect_match "failing create: said" "$OUT" 'FAILED at step 1 \(create, keyed on external_id\): 500'
after "failing create"

# --- Ctrl-C while it waits for the index; the key is in no command line --------------------
reset '{"modes":{"lookup_lag_ms":60000}}'
set -m   # job control: the script gets its own process group and takes SIGINT
env -u FM_DOMAIN -u FM_API_KEY TMPDIR="$dir/tmp" FM_API_BASE="$url/crm/sales/api" \
	FM_API_KEY_FILE="$dir/key" bash scripts/live-check.sh >"$dir/out" 2>&1 &
runpid=$!
set +m
wait_for grep -q '^step 2:' "$dir/out"
check "ctrl-c: the contact exists meanwhile" test "$(contacts)" -ge 1
# every command line of this machine (but the double's, which got --key),
# while the script runs its lookups
sleep 1
for p in /proc/[0-9]*; do
	[ "${p#/proc/}" = "$pid" ] && continue
	tr '\0' ' ' <"$p/cmdline" 2>/dev/null
	echo
done >"$dir/cmdlines"
expect_eq "the key is in no command line" "$(grep -cF -- "$KEY" "$dir/cmdlines")" 0
check "ps saw the script" grep -q 'scripts/live-check.sh' "$dir/cmdlines"
kill -INT "$runpid"
wait "$runpid"
rc=$?
runpid=
OUT=$(cat "$dir/out")
expect_eq "ctrl-c: exit" "$rc" 130
expect_match "ctrl-c: said" "$OUT" 'interrupted'
after "ctrl-c"

done_testing
