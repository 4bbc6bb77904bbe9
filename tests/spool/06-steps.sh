#!/bin/bash
# Beyond the contact: <account>, <list> and <note> against the double. Each
# element and its skip rules; links the contact had are kept; a failed step
# is retried by drain without repeating what is done; a crash between a step
# and its record repeats that step alone; a step refused for good goes to the
# dead area with the contact written, and a requeue runs only what is left;
# a list made by create="true" is made once under concurrent submissions.
. "$(dirname "$0")/../lib.sh"
MAPPING="$(dirname "$0")/steps.xml"
double_start || exit 1
FMG_PID=
cleanup() {
	[ -n "$FMG_PID" ] && kill -9 "$FMG_PID" 2>/dev/null
	double_stop
	rm -f "$TEST_SPOOL.err" "$TEST_SPOOL.out" "$TEST_SPOOL.async.xml"
}
trap cleanup EXIT

post() { local form=$1 body=$2; shift 2; cgi "$body" PATH_INFO="/$form" "$@"; }
status_of() { fmg status 2>/dev/null | sed -n "s/^$1: //p"; }
# calls METHOD PATH-SUFFIX: how many API requests the double received
calls() {
	double_get requests | jq --arg m "$1" --arg p "$2" \
		'[.requests[] | select(.method == $m and (.path | endswith($p)))] | length'
}
cid_of() { double_contact "$1" id; }
members_of() {  # the ids in the double's list of that name, comma-joined
	double_get lists | jq -r --arg n "$1" '[.lists[] | select(.name == $n) | .contacts[]] | map(tostring) | join(",")'
}
lists_named() { double_get lists | jq --arg n "$1" '[.lists[] | select(.name == $n)] | length'; }
notes_of() { double_get notes | jq --argjson c "$1" '[.notes[] | select(.targetable_id == $c)] | length'; }
links_of() {    # the contact's links as ACCOUNTNAME:primary pairs
	local accounts
	accounts=$(double_get accounts)
	double_get contacts | jq -r --arg u "$1" --argjson a "$accounts" \
		'.contacts[] | select(.external_id == $u) | [.sales_accounts[] | . as $l |
		 ($a.sales_accounts[] | select(.id == $l.id) | .name) + ":" + ($l.is_primary | tostring)] | join(",")'
}
queued_file() { grep -l "\"userId\":\"$1\"" "$TEST_SPOOL"/queue/*/* 2>/dev/null | head -n 1; }
steps_in() { jq -r '[.steps[] | .step + ":" + .state] | join(",")' "$1"; }

double_reset; spool_reset
double_post lists '{"name":"Webinar December"}'

# --- every element, in one synchronous submission
post demo "email=ann%40example.com&uid=ann&first=Ann&company=Acme&message=Call+me&optin=on"
expect_eq "all steps: visitor sent on" "$CGI_STATUS" 303
expect_match "all steps: logged" "$CGI_ERR" 'outcome=delivered .*steps=contact:done,account:done,list:done,list:done,note:done'
ann=$(cid_of ann)
expect_eq "account: upserted once" "$(double_get accounts | jq -c '[.sales_accounts[].name]')" '["Acme"]'
expect_eq "account: linked as primary" "$(links_of ann)" "Acme:true"
expect_eq "list: member of the existing list" "$(members_of "Webinar December")" "$ann"
expect_eq "list: if-field checked, created and joined" "$(members_of Newsletter)" "$ann"
expect_eq "note: one, title before the text" \
	"$(double_get notes | jq -r --argjson c "$ann" '[.notes[] | select(.targetable_id == $c) | .description] | join("|")')" \
	"$(printf 'Demo request\n\nCall me')"
expect_eq "nothing left in the spool" "$(status_of waiting)" 0
# the contact write asked for the links, so linking cost one write
expect_eq "account: calls" "$(calls POST /sales_accounts/upsert),$(calls GET "/contacts/$ann"),$(calls PUT "/contacts/$ann")" "1,0,1"

# --- skip rules: no company, the box unchecked, a blank message
double_post fault '{"kind":"clear"}'
before=$(calls POST /sales_accounts/upsert)
post demo "email=bob%40example.com&uid=bob&company=&message=++&first=Bob"
expect_match "skips: only contact and the unconditional list" "$CGI_ERR" 'steps=contact:done,list:done( |$)'
expect_eq "skips: no account call" "$(calls POST /sales_accounts/upsert)" "$before"
expect_eq "skips: no newsletter" "$(members_of Newsletter)" "$ann"
expect_eq "skips: no note" "$(notes_of "$(cid_of bob)")" 0

# --- links the contact has are kept; the new account is not primary
post demo "email=ann%40example.com&uid=ann&company=Globex"
expect_eq "second account: the first link kept, primary" "$(links_of ann)" "Acme:true,Globex:false"
post demo "email=ann%40example.com&uid=ann&company=Acme"
expect_eq "an account already linked: no write" "$(links_of ann),$(calls PUT "/contacts/$ann")" "Acme:true,Globex:false,2"

# --- a failed list step: the visitor is sent on, drain finishes it alone
double_reset; spool_reset
double_post lists '{"name":"Webinar December"}'
double_post fault '{"kind":"status","status":503,"count":1,"path":"/add_contacts"}'
post demo "email=cat%40example.com&uid=cat&company=Initech&message=Hi"
expect_eq "list 503: visitor sent on" "$CGI_STATUS" 303
expect_match "list 503: queued with the contact done" "$CGI_ERR" 'outcome=delivered .*steps=contact:done,account:done,list:pending,note:pending .*spool=queue'
f=$(queued_file cat)
expect_eq "list 503: the record says what is done" "$(steps_in "$f")" "contact:done,account:done,list:pending,note:pending"
expect_eq "list 503: an attempt counted" "$(jq .attempts "$f")" 1
fmg drain --now 2>"$TEST_SPOOL.err"
expect_eq "drain: exit 0" "$?" 0
cat_id=$(cid_of cat)
expect_eq "drain: the list joined" "$(members_of "Webinar December")" "$cat_id"
expect_eq "drain: the note added once" "$(notes_of "$cat_id")" 1
expect_eq "drain: contact and account not repeated" \
	"$(calls POST /contacts/upsert),$(calls POST /sales_accounts/upsert)" "1,1"
expect_eq "drain: list tried twice" "$(calls PUT /add_contacts)" 2
expect_eq "drain: nothing waiting" "$(status_of waiting)" 0

# --- async: every step is drain's
sed 's/mode="sync"/mode="async"/' "$MAPPING" >"$TEST_SPOOL.async.xml"
MAPPING="$TEST_SPOOL.async.xml" post demo "email=dan%40example.com&uid=dan&company=Umbrella&optin=1&message=Async"
expect_match "async: queued untried" "$CGI_ERR" 'outcome=queued .*why=async'
expect_eq "async: the record plans every step" "$(steps_in "$(queued_file dan)")" \
	"contact:pending,account:pending,list:pending,list:pending,note:pending"
MAPPING="$TEST_SPOOL.async.xml" fmg drain --now 2>/dev/null
dan=$(cid_of dan)
expect_eq "async: delivered by drain" "$(links_of dan),$(members_of Newsletter),$(notes_of "$dan")" "Umbrella:true,$dan,1"

# --- a crash between a step and its record: only that step repeats
double_reset; spool_reset
double_post lists '{"name":"Webinar December"}'
MAPPING="$TEST_SPOOL.async.xml" post demo "email=eve%40example.com&uid=eve&company=Hooli&message=Crash"
double_post fault '{"kind":"delay","ms":2500,"count":1,"path":"/notes"}'
MAPPING="$TEST_SPOOL.async.xml" fmg_start drain --now
note_sent() { [ "$(calls POST /notes)" -ge 1 ]; }
wait_for note_sent
kill -9 "$FMG_PID"; wait "$FMG_PID" 2>/dev/null; FMG_PID=
f=$(queued_file eve)
expect_eq "crash: the record has every step done but the note" "$(steps_in "$f")" \
	"contact:done,account:done,list:done,note:pending"
sleep 2.6   # the double applies the note the dead drain sent
MAPPING="$TEST_SPOOL.async.xml" fmg drain --now 2>/dev/null
eve=$(cid_of eve)
expect_eq "crash: delivered" "$(status_of waiting)" 0
expect_eq "crash: the note, the step in flight, repeats" "$(notes_of "$eve")" 2
expect_eq "crash: contact, account, link, list not repeated" \
	"$(calls POST /contacts/upsert),$(calls POST /sales_accounts/upsert),$(calls PUT /contacts/$eve),$(calls PUT /add_contacts)" "1,1,1,1"

# --- refused for good: the dead area, the contact kept; requeue runs what is left
double_reset; spool_reset
post missing "email=fay%40example.com&uid=fay&message=Where"
expect_eq "missing list: visitor sent on" "$CGI_STATUS" 303
expect_match "missing list: kept dead" "$CGI_ERR" 'steps=contact:done,list:refused,note:done .*spool=dead'
fay=$(cid_of fay)
check "missing list: the contact is written" test "$fay" != NONE
fmg status --dead >"$TEST_SPOOL.out" 2>/dev/null
expect_eq "status: exit 1 with a dead one" "$?" 1
expect_match "status --dead: the steps and the reason" "$(cat "$TEST_SPOOL.out")" \
	'form=missing to=freshmarketer attempts=0 steps=contact:done,list:refused,note:done reason=steps refused; list "Missing list": rejected'
double_post lists '{"name":"Missing list"}'
fmg requeue --dead >/dev/null 2>&1
expect_eq "requeue: back in the queue" "$(status_of waiting),$(status_of dead)" "1,0"
expect_eq "requeue: only the refused step pending" "$(steps_in "$(queued_file fay)")" "contact:done,list:pending,note:done"
fmg drain --now 2>/dev/null
expect_eq "requeued: joined the list" "$(members_of "Missing list")" "$fay"
expect_eq "requeued: contact and note not repeated" "$(calls POST /contacts/upsert),$(notes_of "$fay")" "1,1"

# an account refused for good, the other steps done
double_reset; spool_reset
double_post lists '{"name":"Webinar December"}'
double_post fault '{"kind":"status","status":422,"count":1,"path":"/sales_accounts/upsert"}'
post demo "email=gus%40example.com&uid=gus&company=Bad&message=Hello"
expect_eq "account 422: visitor sent on" "$CGI_STATUS" 303
expect_match "account 422: dead, the rest done" "$CGI_ERR" 'steps=contact:done,account:refused,list:done,note:done .*spool=dead'
expect_eq "account 422: list and note done" "$(members_of "Webinar December"),$(notes_of "$(cid_of gus)")" "$(cid_of gus),1"

# a 403 to a step is that step's permission: refused, delivery not paused
double_post fault '{"kind":"status","status":403,"count":1,"path":"/notes"}'
post demo "email=hap%40example.com&uid=hap&message=Forbidden"
expect_match "note 403: the step refused, dead" "$CGI_ERR" 'steps=contact:done,list:done,note:refused .*spool=dead'
expect_eq "note 403: delivery not paused" "$(status_of paused)" no
post demo "email=ian%40example.com&uid=ian&message=After"
expect_match "note 403: the next one delivered" "$CGI_ERR" 'outcome=delivered .*steps=contact:done,list:done,note:done( |$)'

# --- create="true" under concurrency: one list, everybody in it
double_reset; spool_reset
pids=()
for i in 1 2 3 4 5 6; do
	( post fresh "email=c$i%40example.com&uid=c$i"; echo "$CGI_STATUS" >"$TEST_SPOOL.c$i" ) &
	pids+=($!)
done
wait "${pids[@]}"
ok_all=$(cat "$TEST_SPOOL".c[1-6] | sort -u | tr -d '\n'); rm -f "$TEST_SPOOL".c[1-6]
expect_eq "concurrent: every visitor sent on" "$ok_all" 303
fmg drain --now 2>/dev/null
expect_eq "concurrent: the list made once" "$(lists_named "Fresh list"),$(calls POST /lists)" "1,1"
expect_eq "concurrent: six members" "$(double_get lists | jq '[.lists[] | select(.name == "Fresh list") | .contacts[]] | length')" 6

# --- lists found across pages
double_reset '{"modes":{"lists_per_page":2}}'
for n in A B C D "Webinar December"; do double_post lists "{\"name\":\"$n\"}"; done
spool_reset
post demo "email=hal%40example.com&uid=hal"
expect_eq "paged: found on the third page, none made" "$(calls GET /lists),$(calls POST /lists),$(members_of "Webinar December")" "3,0,$(cid_of hal)"
post demo "email=ivy%40example.com&uid=ivy"
expect_eq "paged: the next one uses the cache" "$(calls GET /lists)" 3

# --- try (which never reads the spool, so no list is known): every call, in
# order; check --online: lists the CRM lacks
out=$(printf 'email=jo%%40example.com&uid=jo&company=Acme&message=Hi&optin=1' | fmg try demo - 2>/dev/null)
expect_eq "try: every call in order" "$(printf '%s\n' "$out" | sed -n '/^calls, in order:/,$p')" "$(cat <<'EOT'
calls, in order:
  GET /lookup?f=external_id&entities=contact&q=..  (the userId is not signed: its contact is read first)
  POST /contacts/upsert?include=sales_accounts     (the request above)
  POST /sales_accounts/upsert                      (the account, by its name)
  GET /contacts/{contact}?include=sales_accounts   (when the contact write did not return its links)
  PUT /contacts/{contact}?include=sales_accounts   (when not yet linked)
  GET /lists?page=1..                              (when "Webinar December" is not cached)
  PUT /lists/{id}/add_contacts
  GET /lists?page=1..                              (when "Newsletter" is not cached)
  POST /lists                                      (create="true", when the CRM has none)
  PUT /lists/{id}/add_contacts
  POST /notes                                      (the note, on the contact)
EOT
)"
expect_no_match "try: the message is no lost trait" "$out" 'trait "message".*left out'
# (fmg gives the settings through the environment: check warns about them, apart)
fmg check --online >"$TEST_SPOOL.out" 2>/dev/null
expect_eq "check --online: a missing list fails it" "$?" 1
expect_eq "check --online: only the list without create, with its line" \
	"$(grep -v ': valid, \|: warning: ' "$TEST_SPOOL.out")" \
	"$MAPPING:34: form \"missing\": no list named \"Missing list\" in the CRM (create it, or add create=\"true\")"

done_testing
