#!/bin/bash
# What bounds the spool, and what an operator does with it: max-files and a
# full, read-only or unwritable spool give the visitor a 503 (never a false
# success; to an HTML client of a form with a failure URL, a 303 there with
# error=unavailable, so every 303 here is checked for its Location); max-age-days moves old submissions to the dead area; status exit
# codes; purge; requeue puts dead submissions back; a spool directory others
# may write, or another user's, is refused.
. "$(dirname "$0")/../lib.sh"
double_start || exit 1
tmp=$(mktemp -d /tmp/fmgate-limits.XXXXXX)
MOUNTS=
cleanup() {
	for m in $MOUNTS; do umount "$m" 2>/dev/null; done
	double_stop
	rm -rf "$tmp"
}
trap cleanup EXIT
base="$(dirname "$0")/../cgi/forms.xml"
sed 's#<delivery #<spool max-files="3" max-age-days="1"/>\n    <delivery #' "$base" >"$tmp/small.xml"
MAPPING="$tmp/small.xml"
chmod 755 "$tmp"   # another user runs fmgate below
body() { echo "email=$1%40example.com&uid=$1&company=Acme&first=${2:-F}"; }
status_of() { fmg status 2>/dev/null | sed -n "s/^$1: //p"; }
crm_down() { double_post fault '{"kind":"status","status":503,"count":-1,"path":"/contacts/upsert"}'; }
crm_up() { double_post fault '{"kind":"clear"}'; }
# The last answer: the success redirect, or the refusal's (a 503 for JSON).
SUCCESS="https://www.example.com/thanks.html"
UNAVAILABLE="https://www.example.com/contact.html?lang=en&error=unavailable#form"
answered() { expect_eq "$1" "$CGI_STATUS $(header Location)" "303 $2"; }

# --- max-files
double_reset
crm_down
for u in m1 m2 m3; do cgi "$(body $u)"; done
expect_eq "three spooled" "$(status_of waiting)" 3
cgi "$(body m4)"
answered "over max-files: unavailable (503)" "$UNAVAILABLE"
expect_eq "over max-files: Retry-After" "$(header Retry-After)" 60
expect_match "over max-files: logged" "$CGI_ERR" 'error: spool .*max-files.*spool holds 3 files, max-files is 3'
expect_match "over max-files: request line says so" "$CGI_ERR" 'outcome=retry status=303 .*spool=failed'
crm_up
cgi "$(body m4)"
answered "full spool, CRM up: delivered all the same" "$SUCCESS"
fmg drain --now 2>/dev/null
expect_eq "drained: room again" "$(status_of waiting)" 0
crm_down
cgi "$(body m5)"
answered "room again: spooled" "$SUCCESS"
crm_up
fmg drain --now 2>/dev/null

# --- an unwritable spool (another user's)
spool_reset
crm_down
fmg status >/dev/null 2>&1
fmg drain >/dev/null 2>&1   # makes the layout, as the service would
if [ "$(id -u)" = 0 ]; then
	chmod -R go+rX "$TEST_SPOOL"
	other="setpriv --reuid=65534 --regid=65534 --clear-groups --"
else
	chmod -R a-w "$TEST_SPOOL"
	other=
fi
FMGATE_WRAP="$other $FMGATE_WRAP" cgi "$(body w1)"
answered "unwritable spool, CRM down: unavailable (503)" "$UNAVAILABLE"
expect_match "unwritable spool: logged" "$CGI_ERR" 'error: spool .*: the spool cannot be written or read \(create .*Permission denied\)'
crm_up
FMGATE_WRAP="$other $FMGATE_WRAP" cgi "$(body w2)"
answered "unwritable spool, CRM up: delivered, 303" "$SUCCESS"
expect_eq "unwritable spool, CRM up: contact" "$(double_contact w2 emails)" "w2@example.com"
chmod -R u+w "$TEST_SPOOL"

# --- a full disk, and a read-only file system (tmpfs; needs mount rights)
mkdir -p "$tmp/full" "$tmp/ro"
if mount -t tmpfs -o size=256k,mode=0700 fmgate-test "$tmp/full" 2>/dev/null; then
	MOUNTS="$tmp/full $MOUNTS"
	crm_down
	cgi "$(body f1)" FMGATE_SPOOL="$tmp/full"
	answered "tmpfs spool: works" "$SUCCESS"
	dd if=/dev/zero of="$tmp/full/filler" bs=4k 2>/dev/null
	cgi "$(body f2)" FMGATE_SPOOL="$tmp/full"
	answered "disk full: unavailable (503)" "$UNAVAILABLE"
	expect_match "disk full: logged" "$CGI_ERR" 'error: spool .*: no space left for the spool'
	rm -f "$tmp/full/filler"
	cgi "$(body f2)" FMGATE_SPOOL="$tmp/full"
	answered "space again: spooled" "$SUCCESS"
	umount "$tmp/full"
	crm_up
else
	echo "skipped: full disk (cannot mount a tmpfs here)"
fi
if mount -t tmpfs -o size=256k,mode=0700 fmgate-test "$tmp/ro" 2>/dev/null; then
	MOUNTS="$tmp/ro $MOUNTS"
	FMGATE_SPOOL="$tmp/ro" MAPPING="$tmp/small.xml" fmg drain >/dev/null 2>&1
	mount -o remount,ro "$tmp/ro"
	crm_down
	cgi "$(body r1)" FMGATE_SPOOL="$tmp/ro"
	answered "read-only spool: unavailable (503)" "$UNAVAILABLE"
	expect_match "read-only spool: logged" "$CGI_ERR" 'Read-only file system'
	crm_up
	cgi "$(body r2)" FMGATE_SPOOL="$tmp/ro"
	answered "read-only spool, CRM up: delivered" "$SUCCESS"
	umount "$tmp/ro"
else
	echo "skipped: read-only file system (cannot mount a tmpfs here)"
fi

# --- status exit codes
spool_reset
fmg status >/dev/null 2>&1
expect_eq "status: healthy, exit 0" "$?" 0
FMGATE_SPOOL="$tmp/nonexistent" "$FMGATE_BIN" status >"$tmp/out" 2>/dev/null
expect_eq "status: spool unreadable, exit 2" "$?" 2
expect_match "status: says why" "$(cat "$tmp/out")" 'unreadable: .*nonexistent'

# --- final refusals, purge, requeue
double_post fault '{"kind":"status","status":422,"count":2,"path":"/contacts/upsert"}'
cgi "$(body d1)"
cgi "$(body d2)"
expect_eq "two rejected" "$(status_of dead)" 2
fmg status >/dev/null 2>&1
expect_eq "status: dead ones, exit 1" "$?" 1
id1=$(fmg status --dead 2>/dev/null | awk 'length($1) == 36 && $1 ~ /^[0-9a-f-]+$/ { print $1 }' | head -n 1)
expect_match "status --dead names them" "$id1" '^[0-9a-f-]{36}$'
fmg requeue --dead 00000000-0000-4000-8000-000000000000 >/dev/null 2>&1
expect_eq "requeue of an unknown id: exit 1" "$?" 1
out=$(fmg requeue --dead "$id1" 2>/dev/null)
expect_eq "requeue one" "$out" "requeued 1 dead submission"
expect_eq "requeued: waiting" "$(status_of waiting),$(status_of dead)" "1,1"
fmg drain --now 2>/dev/null
expect_eq "requeued: delivered" \
	"$(double_get contacts | jq '[.contacts[] | select(.external_id == "d1" or .external_id == "d2")] | length')" 1
touch -d '10 days ago' "$TEST_SPOOL"/dead/*
double_post fault '{"kind":"status","status":422,"count":1,"path":"/contacts/upsert"}'
cgi "$(body d3)"
expect_eq "purge --older-than: only the old one" "$(fmg purge --dead --older-than 5 2>/dev/null)" "purged 1 dead submission"
expect_eq "one dead left" "$(status_of dead)" 1
out=$(fmg requeue --dead 2>/dev/null)
expect_eq "requeue all" "$out" "requeued 1 dead submission"
fmg drain --now 2>/dev/null
expect_eq "requeued: the third delivered" "$(double_contact d3 emails)" "d3@example.com"
double_post fault '{"kind":"status","status":422,"count":1,"path":"/contacts/upsert"}'
cgi "$(body d4)"
expect_eq "purge all" "$(fmg purge --dead 2>/dev/null)" "purged 1 dead submission"
fmg status >/dev/null 2>&1
expect_eq "status: healthy again" "$?" 0
fmg purge >/dev/null 2>&1
expect_eq "purge needs --dead" "$?" 2
fmg purge --dead --older-than x >/dev/null 2>&1
expect_eq "purge --older-than needs a number" "$?" 2

# --- max-age-days: a submission waiting too long goes to the dead area
crm_down
cgi "$(body old)"
crm_up
f=$(find "$TEST_SPOOL/queue" -type f ! -name '.*')
name=$(basename "$f")
old=$(printf '%020d' $(( ($(date +%s) - 2 * 86400) * 1000000000 )))
mv "$f" "$(dirname "$f")/$old${name:20}"
fmg drain --now 2>"$tmp/err"
expect_match "max-age-days: expired" "$(cat "$tmp/err")" 'dead: expired: waited longer than max-age-days \(1\); last error: retry http=503'
expect_eq "max-age-days: not delivered" "$(double_contact old emails)" "NONE"
expect_eq "max-age-days: dead" "$(status_of dead)" 1
fmg purge --dead >/dev/null 2>&1

# --- a file that is not a spool record stops holding back its userId
cgi "$(body good)"
mkdir -p "$TEST_SPOOL/queue/00"
echo garbage >"$TEST_SPOOL/queue/00/00000000000000000001-0000000000000001-00000000-0000-4000-8000-000000000001"
fmg drain --now 2>"$tmp/err"
expect_match "corrupt file: logged" "$(cat "$tmp/err")" 'not a spool record; moved to dead'
expect_eq "corrupt file: moved to the dead area" "$(status_of waiting),$(status_of dead)" "0,1"

# --- a spool directory others may write, or another user's, is refused
fmg purge --dead >/dev/null 2>&1
for mode in 770 702; do
	chmod "$mode" "$TEST_SPOOL"
	cgi "$(body "m$mode")"
	answered "spool $mode: the post unavailable (503)" "$UNAVAILABLE"
	expect_match "spool $mode: logged" "$CGI_ERR" "spool directory $TEST_SPOOL: group or others may write it"
	expect_eq "spool $mode: nothing written" "$(find "$TEST_SPOOL/queue" -type f ! -name '.*' | wc -l)" 0
	fmg status >"$tmp/out" 2>"$tmp/err"
	expect_eq "spool $mode: status exit 2" "$?" 2
	expect_match "spool $mode: status says why" "$(cat "$tmp/err")" "^fmgate: spool directory $TEST_SPOOL: group or others may write it \(chmod go-w\)$"
	fmg drain --now >/dev/null 2>"$tmp/err"
	expect_eq "spool $mode: drain exit 2" "$?" 2
	expect_match "spool $mode: drain says why" "$(cat "$tmp/err")" "group or others may write it"
	fmg requeue --dead >/dev/null 2>&1
	expect_eq "spool $mode: requeue exit 2" "$?" 2
	FMGATE_SPOOL="$TEST_SPOOL" "$FMGATE_BIN" check "$MAPPING" >"$tmp/out" 2>&1
	expect_eq "spool $mode: check exit 1" "$?" 1
	expect_match "spool $mode: check says why" "$(cat "$tmp/out")" "^spool directory $TEST_SPOOL: group or others may write it"
done
chmod 700 "$TEST_SPOOL"
fmg status >/dev/null 2>&1
expect_eq "spool 700 again: status exit 0" "$?" 0
FMGATE_SPOOL="$TEST_SPOOL" "$FMGATE_BIN" check "$MAPPING" >/dev/null 2>&1
expect_eq "spool 700 again: check exit 0" "$?" 0
if [ "$(id -u)" = 0 ]; then
	# Run as nobody: a spool of daemon's is refused, one of root's or its own is not.
	nobody="setpriv --reuid=65534 --regid=65534 --clear-groups --"
	chmod 755 "$TEST_SPOOL"
	chown -R 1:1 "$TEST_SPOOL"
	FMGATE_WRAP="$nobody $FMGATE_WRAP" fmg status >/dev/null 2>"$tmp/err"
	expect_eq "another user's spool: status exit 2" "$?" 2
	expect_match "another user's spool: says why" "$(cat "$tmp/err")" "spool directory $TEST_SPOOL: another user owns it"
	FMGATE_WRAP="$nobody $FMGATE_WRAP" cgi "$(body foreign)"
	answered "another user's spool: the post unavailable (503)" "$UNAVAILABLE"
	fmg status >/dev/null 2>&1
	expect_eq "another user's spool: root may look at it" "$?" 0
	chown -R 65534:65534 "$TEST_SPOOL"
	FMGATE_WRAP="$nobody $FMGATE_WRAP" fmg status >/dev/null 2>&1
	expect_eq "its own spool: status exit 0" "$?" 0
	chown 0:0 "$TEST_SPOOL"
	FMGATE_WRAP="$nobody $FMGATE_WRAP" fmg status >/dev/null 2>"$tmp/err"
	expect_eq "root's spool (its files nobody's): taken, exit 0" "$?" 0
	chown -R 0:0 "$TEST_SPOOL"
	chmod 700 "$TEST_SPOOL"
fi
done_testing
