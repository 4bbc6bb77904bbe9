#!/bin/bash
# scripts/live-check.sh: asks YOUR Freshmarketer (Freshworks CRM) account how
# it answers where the live API has been seen to differ from its documentation
# (tests/fmdouble.py has these behaviours as modes), and says which of
# fmgate's identity modes applies to it.
#
# What it does, with about a dozen API calls:
#   - reads the field list (which also proves the key and the domain);
#   - creates ONE throwaway contact, fmgate-live-check-<time>-<random>@example.invalid
#     with the external id fmgate-live-check-<time>-<random>, by an upsert keyed
#     on external_id (or, when the account refuses that key, on emails);
#   - provokes the duplicate-email refusal with a second contact holding the
#     same address (refused, so normally never created) and prints the message;
#   - reads the rate-limit headers, a lookup of the contact, the contact itself
#     (setting its subscription_status to "Not subscribed" when it comes back
#     unset, to see whether the account takes an id or a text);
#   - deletes every contact it created, also on failure or Ctrl-C;
#   - prints a summary, one line per behaviour.
# It never runs in CI (CI has no network): its test, tests/double/live-check.sh,
# runs it against the local test double only.
#
# Usage:  FM_DOMAIN=acme FM_API_KEY_FILE=~/.fm-key scripts/live-check.sh
#   FM_DOMAIN        the bundle alias (acme) or the full host (acme.myfreshworks.com);
#                    the API is then https://DOMAIN.myfreshworks.com/crm/sales/api
#   FM_API_KEY       the API key, or FM_API_KEY_FILE: a file whose first line is it
#   FM_API_BASE      overrides the base URL (https; plain http only to 127.0.0.1
#                    or localhost, as the tests use)
# The key is sent as "Authorization: Token token=KEY" from a header file (mode
# 0600, removed at the end), never on a command line, and is never printed.
# Exit status: 0 every check ran; 1 the key or the domain was refused, or a
# step failed (it says which), or a contact could not be deleted; 2 usage.
set -u
umask 077

MAX_TIME=30                 # seconds for one API call
MAX_SIZE=$((4 * 1024 * 1024)) # bytes of one answer
LOOKUP_TRIES=6              # lookups, 2 s apart: ~10 s for the index to catch up

say() { printf '%s\n' "$*"; }
usage() { say "live-check: $*" >&2; say "usage: FM_DOMAIN=acme FM_API_KEY_FILE=FILE $0 (see its header)" >&2; exit 2; }
# printable: server text without control characters, at most 300 bytes
printable() { tr -d '\000-\010\013-\037\177' | head -c 300; }

for tool in curl jq date; do
	command -v "$tool" >/dev/null || usage "$tool is needed"
done

# --- the base URL -------------------------------------------------------------
if [ -n "${FM_API_BASE:-}" ]; then
	BASE=${FM_API_BASE%/}
elif [ -n "${FM_DOMAIN:-}" ]; then
	host=$(printf '%s' "$FM_DOMAIN" | tr '[:upper:]' '[:lower:]')
	host=${host#https://}
	host=${host%%/*}
	if [[ $host =~ ^[a-z0-9][a-z0-9-]*$ ]]; then
		host=$host.myfreshworks.com
	elif ! [[ $host =~ ^[a-z0-9][a-z0-9.-]*\.[a-z]{2,}$ ]]; then
		usage "FM_DOMAIN is neither a bundle alias (acme) nor a host (acme.myfreshworks.com)"
	fi
	BASE=https://$host/crm/sales/api
else
	usage "set FM_DOMAIN (or FM_API_BASE)"
fi
if [[ $BASE =~ ^https://[A-Za-z0-9.-]+(:[0-9]+)?(/[^[:space:]]*)?$ ]]; then
	PROTO='=https'
elif [[ $BASE =~ ^http://(127\.0\.0\.1|localhost)(:[0-9]+)?(/[^[:space:]]*)?$ ]]; then
	PROTO='=http'
else
	usage "FM_API_BASE must be https://HOST/... (plain http only to 127.0.0.1 or localhost)"
fi

# --- the key, into a header file ------------------------------------------------
if [ -n "${FM_API_KEY:-}" ]; then
	KEY=$FM_API_KEY
elif [ -n "${FM_API_KEY_FILE:-}" ]; then
	[ -r "$FM_API_KEY_FILE" ] || usage "cannot read FM_API_KEY_FILE"
	IFS= read -r KEY <"$FM_API_KEY_FILE" || [ -n "${KEY:-}" ] || usage "FM_API_KEY_FILE is empty"
else
	usage "set FM_API_KEY or FM_API_KEY_FILE"
fi
KEY=${KEY%$'\r'}
KEY=${KEY#"${KEY%%[![:space:]]*}"}
KEY=${KEY%"${KEY##*[![:space:]]}"}
[[ $KEY =~ ^[[:graph:]]+$ ]] || usage "the API key is empty or holds spaces or control characters"

T=$(mktemp -d "${TMPDIR:-/tmp}/fmgate-live-check.XXXXXX") || exit 1
printf 'Authorization: Token token=%s\n' "$KEY" >"$T/auth"   # printf is a builtin: not in ps
unset KEY FM_API_KEY

# --- calling the API --------------------------------------------------------------
# api METHOD PATH [JSON]: one call. $STATUS: the status (000: no answer);
# the body in $T/body, the headers in $T/head, curl's complaint in $T/err.
RESET_HOUR='' RESET_MIN=''
api() {
	local method=$1 path=$2 data=${3-}
	local args=(-sS -X "$method" -o "$T/body" -D "$T/head" -w '%{http_code}'
		--proto "$PROTO" --max-time "$MAX_TIME" --connect-timeout 10
		--max-filesize "$MAX_SIZE" -A fmgate-live-check
		-H @"$T/auth" -H 'Accept: application/json')
	if [ -n "$data" ]; then
		printf '%s' "$data" >"$T/request"
		args+=(-H 'Content-Type: application/json' --data-binary @"$T/request")
	fi
	: >"$T/body"
	: >"$T/head"
	STATUS=$(curl "${args[@]}" "$BASE$path" 2>"$T/err")
	[[ $STATUS =~ ^[0-9]{3}$ ]] || STATUS=000
	# step 3 reads the first answer that carries the rate-limit headers
	[ -n "$RESET_HOUR" ] || RESET_HOUR=$(header x-ratelimit-reset)
	[ -n "$RESET_MIN" ] || RESET_MIN=$(header per-min-x-ratelimit-reset)
}
header() { tr -d '\r' <"$T/head" | grep -i "^$1:" | tail -n 1 | cut -d: -f2- | sed 's/^ *//' | printable; }
# message: the error message of the last answer as received (the text of
# errors.message, its entries joined by " | "), else the raw body
message() {
	local m
	m=$(jq -r '(.errors.message // .message // empty)
		| if type == "array" then map(tostring) | join(" | ") else tostring end' "$T/body" 2>/dev/null)
	[ -n "$m" ] || m=$(head -c 300 "$T/body")
	printf '%s' "$m" | printable
}
answered() {
	if [ "$STATUS" = 000 ]; then
		printf 'no answer (%s)' "$(printable <"$T/err")"
	else
		printf '%s %s' "$STATUS" "$(message)"
	fi
}
fail() {  # fail STEP WHAT
	say "live-check: FAILED at step $1: $2" >&2
	exit 1
}
is2xx() { [[ $STATUS == 2?? ]]; }

# --- clean-up: every contact created, also on failure or Ctrl-C ------------------
CREATED=()        # ids of contacts this run created
UNSURE=           # a creating call got no answer: it may have created one
EMAIL='' EXT='' EXT2=''
CLEANED=
cleanup() {
	[ -n "$CLEANED" ] && return 0
	CLEANED=1
	local id q rc=0
	if [ -n "$UNSURE" ]; then
		# the address and the external ids are this run's own: what they find is ours
		for q in "f=email&q=$(uri "$EMAIL")" "f=external_id&q=$(uri "$EXT")" "f=external_id&q=$(uri "$EXT2")"; do
			api GET "/lookup?$q&entities=contact"
			is2xx && mapfile -t -O "${#CREATED[@]}" CREATED < <(jq -r '.contacts.contacts[]?.id' "$T/body" 2>/dev/null)
		done
	fi
	for id in $(printf '%s\n' "${CREATED[@]}" | sort -u); do
		[[ $id =~ ^[0-9]+$ ]] || continue
		api DELETE "/contacts/$id"
		if is2xx || [ "$STATUS" = 404 ]; then
			say "step 6: deleted contact $id ($STATUS)"
		else
			say "live-check: could not delete contact $id ($EMAIL): $(answered); delete it by hand" >&2
			rc=1
		fi
	done
	if [ -n "$UNSURE" ] && [ ${#CREATED[@]} -eq 0 ]; then
		say "live-check: a creating call got no answer; check that no contact $EMAIL is left" >&2
	fi
	rm -rf "$T"
	return $rc
}
# shellcheck disable=SC2317  # run by the trap
on_exit() {
	local rc=$?
	cleanup || { [ "$rc" -eq 0 ] && rc=1; }
	exit "$rc"
}
trap on_exit EXIT
trap 'say "live-check: interrupted" >&2; exit 130' INT TERM HUP

uri() { jq -rn --arg v "$1" '$v | @uri'; }
# contact_id: the id of the contact in the last answer
contact_id() { jq -r '.contact.id // empty' "$T/body" 2>/dev/null; }

say "fmgate live check against $BASE"

# --- step 0: the key and the domain (the field list, kept for step 5) ------------
api GET /settings/contacts/fields
case $STATUS in
2??) ;;
401 | 403) say "live-check: the key was refused: $(answered)" >&2; exit 1 ;;
000) say "live-check: no answer from $BASE: $(answered)" >&2; exit 1 ;;
404) say "live-check: the domain (or FM_API_BASE) was refused: $(answered)" >&2; exit 1 ;;
*) fail "0 (field list)" "$(answered)" ;;
esac
jq -e '.fields | type == "array"' "$T/body" >/dev/null 2>&1 ||
	fail "0 (field list)" "the answer holds no \"fields\" list: $(head -c 200 "$T/body" | printable)"
cp "$T/body" "$T/fields"
say "step 0: key and domain accepted; $(jq '.fields | length' "$T/fields") fields"

# --- step 1: create the throwaway contact --------------------------------------------
tag=fmgate-live-check-$(date +%s)-$RANDOM$RANDOM
EMAIL=$tag@example.invalid
EXT=$tag
EXT2=$tag-2
contact=$(jq -cn --arg e "$EMAIL" --arg x "$EXT" \
	'{emails: $e, external_id: $x, first_name: "fmgate", last_name: "live check"}')
api POST /contacts/upsert "$(jq -cn --arg x "$EXT" --argjson c "$contact" \
	'{unique_identifier: {external_id: $x}, contact: $c}')"
if is2xx; then
	EXT_KEY=accepted
	EXT_KEY_NOTE="accepted (upsert keyed on external_id: $STATUS)"
elif [ "$STATUS" = 400 ]; then
	EXT_KEY=refused
	EXT_KEY_NOTE="refused (400 \"$(message)\")"
	say "step 1: external_id as the upsert key refused: $(answered); keying on emails"
	api POST /contacts/upsert "$(jq -cn --arg e "$EMAIL" --argjson c "$contact" \
		'{unique_identifier: {emails: $e}, contact: $c}')"
	is2xx || { [ "$STATUS" = 000 ] && UNSURE=1; fail "1 (create, keyed on emails)" "$(answered)"; }
else
	[ "$STATUS" = 000 ] && UNSURE=1
	fail "1 (create, keyed on external_id)" "$(answered)"
fi
CREATE_STATUS=$STATUS
ID=$(contact_id)
[[ $ID =~ ^[0-9]+$ ]] || { UNSURE=1; fail "1 (create)" "the answer holds no contact id: $(head -c 200 "$T/body" | printable)"; }
CREATED+=("$ID")
EMAILS_UPSERT=$(jq -r '.contact.emails | type' "$T/body")
say "step 1: created contact $ID ($EMAIL) with status $CREATE_STATUS; external_id as the upsert key $EXT_KEY"

# --- step 2: the duplicate-email refusal ----------------------------------------------
if [ "$EXT_KEY" = accepted ]; then
	api POST /contacts/upsert "$(jq -cn --arg e "$EMAIL" --arg x "$EXT2" \
		'{unique_identifier: {external_id: $x}, contact: {emails: $e, external_id: $x}}')"
else
	api POST /contacts "$(jq -cn --arg e "$EMAIL" --arg x "$EXT2" \
		'{contact: {emails: $e, external_id: $x}}')"
fi
if is2xx; then
	id2=$(contact_id)
	[[ $id2 =~ ^[0-9]+$ ]] && CREATED+=("$id2")
	DUP_NOTE="NOT refused: a second contact with the same email was accepted ($STATUS)"
elif [ "$STATUS" = 000 ]; then
	UNSURE=1
	fail "2 (duplicate email)" "$(answered)"
else
	DUP_MSG=$(message)
	case $DUP_MSG in
	*"has already been taken"*) form='the documented form' ;;
	"$EMAIL already exists.") form='the address, then "already exists."' ;;
	"$EMAIL bestaat al.") form='the address, then "bestaat al." (Dutch)' ;;
	*"$EMAIL"*) form='another form naming the address' ;;
	*) form='another form' ;;
	esac
	DUP_NOTE="$STATUS \"$DUP_MSG\" ($form)"
fi
say "step 2: duplicate email: $DUP_NOTE"

# --- step 3: the rate-limit reset headers -------------------------------------------------
# reset_form VALUE: which of the formats seen a reset header has
reset_form() {
	local v=$1 when now
	now=$(date +%s)
	if [ -z "$v" ]; then
		say "not sent"
	elif [[ $v =~ ^[0-9]{12}$ ]] &&
		when=$(date -u -d "20${v:4:2}-${v:2:2}-${v:0:2} ${v:6:2}:${v:8:2}:${v:10:2}" +%s 2>/dev/null); then
		local far=
		[ $((when - now)) -gt 172800 ] && far=", far in the future"
		say "$v: ddmmyyHHMMSS ($(date -u -d "@$when" '+%Y-%m-%d %H:%M:%S') UTC$far)"
	elif [[ $v =~ ^[0-9]{9,11}$ ]]; then
		say "$v: Unix seconds ($(date -u -d "@$v" '+%Y-%m-%d %H:%M:%S') UTC)"
	elif [[ $v =~ ^[0-9]{1,8}$ ]]; then
		say "$v: seconds until the window restarts"
	else
		say "\"$v\": an unknown format"
	fi
}
RESET_HOUR_NOTE=$(reset_form "$RESET_HOUR")
RESET_MIN_NOTE=$(reset_form "$RESET_MIN")
say "step 3: x-ratelimit-reset $RESET_HOUR_NOTE; per-min-x-ratelimit-reset $RESET_MIN_NOTE"

# --- step 4: the lookup (the search index lags behind writes) --------------------------
LOOKUP_NOTE='' ROWS_NOTE='' FORBIDDEN=0 FORBIDDEN_MSG=''
for try in $(seq 1 "$LOOKUP_TRIES"); do
	api GET "/lookup?q=$(uri "$EMAIL")&f=email&entities=contact"
	if is2xx; then
		row=$(jq -c --arg id "$ID" '[.contacts.contacts[]? | select((.id | tostring) == $id)][0] // empty' "$T/body" 2>/dev/null)
		if [ -n "$row" ]; then
			LOOKUP_NOTE="found on try $try of $LOOKUP_TRIES"
			keys=$(jq -r 'keys | join(", ")' <<<"$row")
			if jq -e 'has("external_id")' <<<"$row" >/dev/null; then
				ext_in="external_id among them"
			else
				ext_in="no external_id"
			fi
			if jq -e 'has("external_id") and has("custom_field")' <<<"$row" >/dev/null; then
				ROWS_NOTE="full ($keys)"
			else
				ROWS_NOTE="partial ($keys; $ext_in)"
			fi
			break
		fi
	elif [ "$STATUS" = 403 ]; then
		FORBIDDEN=$((FORBIDDEN + 1))
		FORBIDDEN_MSG=$(message)
	else
		fail "4 (lookup)" "$(answered)"
	fi
	[ "$try" -lt "$LOOKUP_TRIES" ] && sleep 2
done
[ -n "$LOOKUP_NOTE" ] || LOOKUP_NOTE="not found in $LOOKUP_TRIES tries over ~$((2 * (LOOKUP_TRIES - 1))) s"
[ -n "$ROWS_NOTE" ] || ROWS_NOTE="unknown (no row came back)"
if [ "$FORBIDDEN" -gt 0 ]; then
	FORBIDDEN_NOTE="403 on $FORBIDDEN of $try tries (\"$FORBIDDEN_MSG\")"
else
	FORBIDDEN_NOTE="none"
fi
say "step 4: lookup: $LOOKUP_NOTE; rows $ROWS_NOTE; 403s: $FORBIDDEN_NOTE"

# --- step 5: the field list and the contact as read back -----------------------------------
# field_note NAME: its type and choices in the field list
field_note() {
	jq -r --arg n "$1" '[.fields[] | select(.name == $n)][0]
		| if . == null then "not in the field list"
		  else (.type | tostring) + (if (.choices | length) > 0
			then ", choices " + ([.choices[] | "\(.id)=\(.value)"] | join(", ")) else "" end) end' \
		"$T/fields" | printable
}
SUB_STATUS_FIELD=$(field_note subscription_status)
SUB_TYPES_FIELD=$(field_note subscription_types)
TYPES=$(jq -r '[.fields[].type | tostring] | unique | join(", ")' "$T/fields" | printable)

api GET "/contacts/$ID"
is2xx || fail "5 (read the contact)" "$(answered)"
EMAILS_GET=$(jq -r '.contact.emails | type' "$T/body")
EXT_STORED=$(jq -r --arg x "$EXT" 'if .contact.external_id == $x then "yes" else "no" end' "$T/body")
sub_type=$(jq -r '.contact.subscription_status | type' "$T/body")
if [ "$sub_type" = null ]; then
	# unset on a new contact: set it to "Not subscribed", by id, else by text
	not_sub=$(jq -r '[.fields[] | select(.name == "subscription_status") | .choices[]?
		| select((.value | tostring | ascii_downcase) == "not subscribed") | .id][0] // empty' "$T/fields")
	if [ -n "$not_sub" ]; then
		api PUT "/contacts/$ID" "$(jq -cn --argjson v "$not_sub" '{contact: {subscription_status: $v}}')"
		if is2xx; then
			how="set by its id $not_sub"
		elif [ "$STATUS" = 400 ]; then
			how="the id $not_sub refused (\"$(message)\"), set by its text"
			api PUT "/contacts/$ID" '{"contact":{"subscription_status":"Not subscribed"}}'
			is2xx || how="refused both as the id and as the text: \"$(message)\""
		else
			fail "5 (set subscription_status)" "$(answered)"
		fi
		api GET "/contacts/$ID"
		is2xx || fail "5 (read the contact)" "$(answered)"
		sub_type=$(jq -r '.contact.subscription_status | type' "$T/body")
	else
		how="unset on a new contact, no \"Not subscribed\" choice to try"
	fi
else
	how="set on a new contact"
fi
case $sub_type in
number) SUB_READ="a number ($how)" ;;
string) SUB_READ="a text ($how)" ;;
*) SUB_READ="absent ($how)" ;;
esac
case $EMAILS_GET/$EMAILS_UPSERT in
array/array) EMAILS_NOTE="an array" ;;
string/string) EMAILS_NOTE="a string" ;;
*) EMAILS_NOTE="$EMAILS_GET when read, $EMAILS_UPSERT in the upsert's answer" ;;
esac
say "step 5: subscription_status $SUB_STATUS_FIELD; read back as $SUB_READ"
say "step 5: subscription_types $SUB_TYPES_FIELD"
say "step 5: field types: $TYPES; emails come back as $EMAILS_NOTE"

# --- step 6: delete what it created ---------------------------------------------------------
cleanup || { say "live-check: FAILED at step 6 (delete)" >&2; exit 1; }

# --- step 7: the summary ----------------------------------------------------------------------
if [ "$EXT_KEY" = accepted ]; then
	MODE="external_id (the account accepts external_id as the upsert key)"
else
	MODE="emails (it refuses external_id as the upsert key: fmgate finds contacts by external id, keys creates on emails by itself and remembers it)"
fi
say ""
say "== summary =="
say "external_id as upsert key: $EXT_KEY_NOTE"
[ "$EXT_KEY" = refused ] && say "external_id stored as a field: $EXT_STORED"
say "status of a creating upsert: $CREATE_STATUS"
say "duplicate email: $DUP_NOTE"
say "x-ratelimit-reset: $RESET_HOUR_NOTE"
say "per-min-x-ratelimit-reset: $RESET_MIN_NOTE"
say "lookup: $LOOKUP_NOTE"
say "lookup rows: $ROWS_NOTE"
say "lookup 403: $FORBIDDEN_NOTE"
say "subscription_status field: $SUB_STATUS_FIELD"
say "subscription_status read back as: $SUB_READ"
say "subscription_types field: $SUB_TYPES_FIELD"
say "field types used: $TYPES"
say "emails come back as: $EMAILS_NOTE"
say "fmgate identity mode: $MODE"
exit 0
