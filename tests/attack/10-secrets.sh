#!/bin/bash
# The API key in logs, answers or `fmgate try` output (never: docs/behaviour.md,
# "Configuration"). The double takes a distinctive key for this suite; every way
# of giving fmgate a key (environment, key file, mapping's api-key-file), good
# or refused, and every outcome (delivered, refused, key rejected by the CRM,
# CRM down: in the spool) is tried, and the key and the refused keys are looked
# for in every answer, every log and every command output (common.bash, the
# verbs try, check, status, drain), at the end in every file the suite kept,
# spool files included. Upstream the key travels in the Authorization header
# only.
. "$(dirname "$0")/common.bash"
KEY="fmk-SECRET-7c1d9e2a40b3"
WRONG="fmk-WRONG-5b8e71c0d2"
CTRL="fmk-CTRL-3a9f"
LONGKEY="fmk-LONG-$(head -c 300 /dev/zero | tr '\0' 'k')"
SECRETS=("$KEY" "$WRONG" "$CTRL" "fmk-LONG-kkkk" "$FMDOUBLE_KEY")
KEYDIR=$(mktemp -d /tmp/fmgate-keys.XXXXXX)
trap 'double_stop; rm -rf "$ATK_TMP" "$KEYDIR"' EXIT
double_reset "{\"key\":\"$KEY\"}"
OKB="email=a%40example.com&uid=u-key"
printf '%s\n' "$KEY" >"$KEYDIR/key"
chmod 600 "$KEYDIR/key"
cp "$KEYDIR/key" "$KEYDIR/key-open"
chmod 644 "$KEYDIR/key-open"
# Key files others may write (whoever writes the key chooses the account the
# posts go to), and one another user owns (root runs the suites: nobody).
for k in gw:620 ow:602; do
	cp "$KEYDIR/key" "$KEYDIR/key-${k%%:*}"
	chmod "${k#*:}" "$KEYDIR/key-${k%%:*}"
done
cp "$KEYDIR/key" "$KEYDIR/key-nobody"
chown 65534:65534 "$KEYDIR/key-nobody"
sed "s#<settings>#<settings><freshmarketer api-key-file=\"$KEYDIR/key\"/>#" "$MAPPING" >"$ATK_TMP/keyfile.xml"

# Outcomes, with the key from the environment; each its own userId, so that
# none waits in the spool behind another.
acgi "delivered" "$OKB" FM_API_KEY="$KEY"
expect_delivered "key from FM_API_KEY: delivered"
acgi "delivered, JSON" "email=b%40example.com&uid=u-key-json" FM_API_KEY="$KEY" HTTP_ACCEPT=application/json
expect_eq "JSON success" "$CGI_STATUS" 200
acgi "refused" "uid=u-key" FM_API_KEY="$KEY" PATH_INFO=/bare
expect_eq "refusal page" "$CGI_STATUS" 422
acgi "refused, JSON" "uid=u-key" FM_API_KEY="$KEY" HTTP_ACCEPT=application/json
expect_eq "JSON refusal" "$CGI_STATUS" 422
double_post fault '{"kind":"status","status":500,"count":1}'
acgi "CRM down" "email=c%40example.com&uid=u-key-down" FM_API_KEY="$KEY"
expect_match "CRM 500: logged as a retry" "$CGI_ERR" 'outcome=(queued|retry)'
double_post fault '{"kind":"status","status":422,"count":1,"path":"/contacts/upsert"}'
acgi "CRM rejects" "email=d%40example.com&uid=u-key-rej" FM_API_KEY="$KEY"
expect_match "CRM 422: rejected" "$(header Location)" 'error=rejected'
acgi "key with a control byte" "$OKB" FM_API_KEY=$'fmk-CTRL-3a9f\x01x'
expect_refused "a key with a control byte: refused, unavailable (503)" unavailable
acgi "key with a space" "$OKB" FM_API_KEY="$CTRL with space"
expect_refused "a key with a space: refused, unavailable (503)" unavailable
acgi "key too long" "$OKB" FM_API_KEY="$LONGKEY"
expect_refused "a key over 256 bytes: refused, unavailable (503)" unavailable
# A key the CRM refuses pauses delivery for the whole spool: its own spool.
mkdir -p "$ATK_TMP/spool-wrong"
acgi "wrong key" "email=e%40example.com&uid=u-key-wrong" FM_API_KEY="$WRONG" FMGATE_SPOOL="$ATK_TMP/spool-wrong"
expect_match "a key the CRM refuses: logged loudly" "$CGI_ERR" 'refused the API key'

# Key files: from FM_API_KEY_FILE and from the mapping; one others can read.
acgi "key file" --unset FM_API_KEY "$OKB" FM_API_KEY_FILE="$KEYDIR/key"
expect_delivered "key from FM_API_KEY_FILE: delivered"
acgi "open key file" --unset FM_API_KEY "$OKB" FM_API_KEY_FILE="$KEYDIR/key-open"
expect_refused "a key file others can read: refused, unavailable (503)" unavailable
expect_match "a key file others can read: logged" "$CGI_ERR" 'group or others may read or write it'
# Each key file with its own reason.
why_of() { case $1 in nobody) echo 'belongs to a user other than root' ;; *) echo 'group or others may read or write it' ;; esac; }
for k in gw ow nobody; do
	acgi "key file $k" --unset FM_API_KEY "$OKB" FM_API_KEY_FILE="$KEYDIR/key-$k"
	expect_refused "key file $k: refused, unavailable (503)" unavailable
	expect_match "key file $k: logged why" "$CGI_ERR" "$(why_of "$k")"
done
acgi "mapping key file" --unset FM_API_KEY "$OKB" FMGATE_CONFIG="$ATK_TMP/keyfile.xml"
expect_delivered "key from the mapping's api-key-file: delivered"

# Upstream: the key in the Authorization header, nowhere else.
expect_eq "the key only in Authorization" \
	"$(double_get requests | jq --arg k "$KEY" '[.requests[] | select(.headers.authorization == "Token token=" + $k) | select((.raw + .query + .path) | contains($k) | not)] | length')" \
	"$(double_get requests | jq '[.requests[] | select(.headers.authorization | contains("SECRET"))] | length')"
expect_eq "authorised calls were made" "$(double_get requests | jq '[.requests[] | select(.status == 200 or .status == 201)] | length > 0')" true

# `fmgate try` and `fmgate check`, whatever the key source.
printf '%s\n' "$OKB" >"$ATK_TMP/body"
try() { # NAME ENV...: try contact with these variables; output in $ATK_TMP/try.NAME
	local name=$1
	shift
	env -u FM_API_KEY -u FM_API_KEY_FILE FMGATE_CONFIG="$MAPPING" FM_API_BASE="$FMDOUBLE_URL/crm/sales/api" "$@" \
		$FMGATE_WRAP "$FMGATE_BIN" try contact "$ATK_TMP/body" >"$ATK_TMP/try.$name" 2>&1
}
try env FM_API_KEY="$KEY"
expect_eq "try with the key: accepted" "$?" 0
expect_match "try shows the request" "$(cat "$ATK_TMP/try.env")" 'Authorization: Token token=\(hidden\)'
try file FM_API_KEY_FILE="$KEYDIR/key"
expect_eq "try with a key file: accepted" "$?" 0
try mapfile FMGATE_CONFIG="$ATK_TMP/keyfile.xml"
expect_eq "try with the mapping's key file: accepted" "$?" 0
try open FM_API_KEY_FILE="$KEYDIR/key-open"
expect_match "try with an open key file: says why" "$(cat "$ATK_TMP/try.open")" 'delivery not configured'
try ctrl FM_API_KEY=$'fmk-CTRL-3a9f\x01x'
expect_match "try with a control byte in the key: says why" "$(cat "$ATK_TMP/try.ctrl")" 'delivery not configured'
try wrong FM_API_KEY="$WRONG"
expect_eq "try with a wrong key: still only a dry run" "$?" 0
$FMGATE_WRAP "$FMGATE_BIN" check "$ATK_TMP/keyfile.xml" >"$ATK_TMP/check.out" 2>&1
expect_eq "check of a mapping with a key file" "$?" 0
# check --online judges the key file by the same rule as the workers.
for k in open gw ow nobody; do
	env -u FM_API_KEY FM_API_KEY_FILE="$KEYDIR/key-$k" FM_API_BASE="$FMDOUBLE_URL/crm/sales/api" \
		$FMGATE_WRAP "$FMGATE_BIN" check --online "$MAPPING" >"$ATK_TMP/check.$k" 2>&1
	expect_eq "check --online, key file $k: exit 1" "$?" 1
	expect_match "check --online, key file $k: says why" "$(cat "$ATK_TMP/check.$k")" \
		"key-$k: API key file: $(why_of "$k")"
done
# Every other secret file by the same rule, at check: a signing key.
printf '%s\n' 0123456789abcdef-sign >"$KEYDIR/sign"
chmod 600 "$KEYDIR/sign"
cp -p "$KEYDIR/sign" "$KEYDIR/sign-nobody"
chown 65534:65534 "$KEYDIR/sign-nobody"
cp -p "$KEYDIR/sign" "$KEYDIR/sign-gw"
chmod 620 "$KEYDIR/sign-gw"
for k in sign sign-nobody sign-gw; do
	sed "s#<from-field name=\"uid\"/>#<from-field name=\"uid\" signed-with=\"$KEYDIR/$k\"/>#" "$MAPPING" \
		>"$ATK_TMP/$k.xml"
	$FMGATE_WRAP "$FMGATE_BIN" check "$ATK_TMP/$k.xml" >"$ATK_TMP/check.$k" 2>&1
	echo $? >>"$ATK_TMP/check.$k.rc"
done
expect_eq "check: a good signing key" "$(cat "$ATK_TMP/check.sign.rc")" 0
expect_eq "check: a signing key nobody owns: exit 1" "$(cat "$ATK_TMP/check.sign-nobody.rc")" 1
expect_match "check: a signing key nobody owns: says why, with its line" "$(cat "$ATK_TMP/check.sign-nobody")" \
	'sign-nobody\.xml:[0-9]+: .*belongs to a user other than root'
expect_eq "check: a signing key the group may write: exit 1" "$(cat "$ATK_TMP/check.sign-gw.rc")" 1
expect_match "check: a signing key the group may write: says why" "$(cat "$ATK_TMP/check.sign-gw")" \
	'sign-gw\.xml:[0-9]+: .*writable by group or others'

# The spool's verbs: what waits there (the submission of the CRM outage, the
# one paused by the wrong key), delivered with a wrong key and the right one.
verb() { # NAME SPOOL KEY ARGS...: output in $ATK_TMP/verb.NAME
	local name=$1 spool=$2 key=$3
	shift 3
	env FMGATE_CONFIG="$MAPPING" FMGATE_SPOOL="$spool" FM_API_BASE="$FMDOUBLE_URL/crm/sales/api" \
		FM_API_KEY="$key" $FMGATE_WRAP "$FMGATE_BIN" "$@" >"$ATK_TMP/verb.$name" 2>&1
}
verb status "$ATK_TMP/spool" "$KEY" status
verb drain-wrong "$ATK_TMP/spool" "$WRONG" drain --now
verb status-paused "$ATK_TMP/spool" "$WRONG" status
verb drain "$ATK_TMP/spool-wrong" "$KEY" drain --now
expect_eq "drain with the right key delivers what the wrong one left" "$(double_contact u-key-wrong emails)" "e@example.com"
for f in "$ATK_TMP"/try.* "$ATK_TMP"/verb.* "$ATK_TMP"/check.*; do
	for s in "${SECRETS[@]}"; do
		check "no key in $(basename "$f")" lacks "$s" "$f"
	done
done
attack_done
