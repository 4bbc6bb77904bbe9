#!/bin/bash
# `requeue --dead` after an outage longer than max-age-days: a submission
# that died expired is requeued with a new age (its acceptance time kept), so
# the next drain delivers it instead of burying it again; its deaths and the
# requeues are kept as a history that `status --dead` shows, escaped. A dead
# record written before histories existed is read and requeued too.
. "$(dirname "$0")/../lib.sh"
MAPPING="$(dirname "$0")/../cgi/forms.xml"
double_start || exit 1
cleanup() { double_stop; rm -f "$TEST_SPOOL.err" "$TEST_SPOOL.out"; }
trap cleanup EXIT
body() { echo "email=$1%40example.com&uid=$1&company=Acme&first=First"; }
status_of() { fmg status 2>/dev/null | sed -n "s/^$1: //p"; }
queued() { grep -l "\"userId\":\"$1\"" "$TEST_SPOOL"/queue/*/* 2>/dev/null; }
dead_of() { grep -l "\"userId\":\"$1\"" "$TEST_SPOOL"/dead/* 2>/dev/null; }
# age FILE DAYS: renames a waiting file as if accepted DAYS days ago (the SEQ
# of its name is its acceptance time; "accepted" inside says the same).
age() {
	local f=$1 days=$2 name seq old
	name=${f##*/}
	seq=${name%%-*}
	old=$(printf '%020d' $(( 10#$seq - days * 86400 * 1000000000 )))
	mv "$f" "${f%/*}/$old-${name#*-}"
	echo "${f%/*}/$old-${name#*-}"
}

double_reset
# --- an outage of 20 days (max-age-days is 14): the submission dies expired
double_post fault '{"kind":"status","status":503,"count":1,"path":"/contacts/upsert"}'
cgi "$(body late)"
expect_eq "outage: visitor told it worked" "$CGI_STATUS" 303
f=$(age "$(queued late)" 20)
name=${f##*/}
fmg drain --now 2>"$TEST_SPOOL.err"
expect_match "20 days old: dead as expired" "$(cat "$TEST_SPOOL.err")" 'dead: expired: waited longer than max-age-days \(14\)'
expect_eq "expired: dead, none waiting" "$(status_of waiting),$(status_of dead)" "0,1"
accepted=$(jq -r .accepted "$(dead_of late)")

# --- requeue: a new age, the acceptance time and the name kept, history kept
out=$(fmg requeue --dead "$name" 2>&1)
expect_eq "requeue by name" "$out" "requeued 1 dead submission"
f=$(queued late)
expect_eq "requeued under its name (its place in the userId's order)" "${f##*/}" "$name"
expect_eq "the acceptance time kept" "$(jq -r .accepted "$f")" "$accepted"
now=$(date +%s)
check "a requeue time of now" test "$(jq .requeued "$f")" -ge $(( now - 60 )) -a "$(jq .requeued "$f")" -le "$now"
expect_match "the history: the old reason first" "$(jq -r '.history[0].reason' "$f")" '^expired: waited longer than max-age-days \(14\); last error: retry http=503'
expect_eq "the history: then the requeue" "$(jq -r '.history | length' "$f"),$(jq -r '.history[1].reason' "$f")" "2,requeued"
expect_eq "no reason while waiting" "$(jq -r '.reason // "none"' "$f")" "none"

# --- refused once more: dead again, the whole story in status --dead
double_post fault '{"kind":"status","status":422,"count":1,"path":"/contacts/upsert"}'
fmg drain --now 2>"$TEST_SPOOL.err"
expect_match "not expired at once: sent, refused" "$(cat "$TEST_SPOOL.err")" 'dead: rejected http=422 Injected fault'
fmg status --dead >"$TEST_SPOOL.out" 2>/dev/null
hist=$(grep '^  history ' "$TEST_SPOOL.out")
expect_eq "status --dead: three events" "$(printf '%s\n' "$hist" | wc -l)" 3
expect_match "status --dead: the expiry" "$(printf '%s\n' "$hist" | sed -n 1p)" \
	'^  history time=[0-9T:.-]{23}Z reason=expired: waited longer than max-age-days \(14\)'
expect_match "status --dead: the requeue" "$(printf '%s\n' "$hist" | sed -n 2p)" \
	'^  history time=[0-9T:.-]{23}Z reason=requeued$'
expect_match "status --dead: the last refusal" "$(printf '%s\n' "$hist" | sed -n 3p)" \
	'^  history time=[0-9T:.-]{23}Z reason=rejected http=422 Injected fault$'
expect_match "status --dead: the reason line as before" "$(cat "$TEST_SPOOL.out")" \
	'^[0-9a-f-]{36} form=contact to=freshmarketer attempts=[0-9]+ steps=contact:refused reason=rejected http=422 Injected fault$'

# --- requeued again: delivered by the next drain
fmg requeue --dead >/dev/null 2>&1
expect_eq "requeue all: exit 0" "$?" 0
fmg drain --now 2>"$TEST_SPOOL.err"
expect_eq "drain: exit 0" "$?" 0
expect_match "drain: delivered" "$(cat "$TEST_SPOOL.err")" 'outcome=delivered'
expect_eq "the 20-day-old submission reached the API" "$(double_contact late emails)" "late@example.com"
expect_eq "nothing left" "$(status_of waiting),$(status_of dead)" "0,0"

# --- accepted 20 days ago, requeued 15 days ago: expired again
double_post fault '{"kind":"status","status":503,"count":1,"path":"/contacts/upsert"}'
cgi "$(body twice)"
f=$(age "$(queued twice)" 20)
jq -c '.requeued = (now - 15 * 86400 | floor)' "$f" >"$TEST_SPOOL.out" && cat "$TEST_SPOOL.out" >"$f"
fmg drain --now 2>"$TEST_SPOOL.err"
expect_match "requeued 15 days ago: expired" "$(cat "$TEST_SPOOL.err")" 'dead: expired'

# --- a requeue time to come is not believed: the submission still expires
f=$(dead_of twice)
fmg requeue --dead >/dev/null 2>&1
f=$(queued twice)
jq -c '.requeued = (now + 400 * 86400 | floor)' "$f" >"$TEST_SPOOL.out" && cat "$TEST_SPOOL.out" >"$f"
fmg drain --now 2>"$TEST_SPOOL.err"
expect_match "requeued in a year to come: expired all the same" "$(cat "$TEST_SPOOL.err")" 'dead: expired'

# --- a dead record written before histories, with a hostile reason: read,
# shown escaped, requeued, delivered
f=$(dead_of twice)
jq -c 'del(.history, .requeued) | .reason = "rejected http=422 \u001b[2J\u001b]0;owned\u0007\nforged line \u202egpj.exe"' \
	"$f" >"$TEST_SPOOL.out" && cat "$TEST_SPOOL.out" >"$f"
fmg status --dead >"$TEST_SPOOL.out" 2>/dev/null
check "status --dead: no raw control character" \
	test "$(LC_ALL=C tr -d '\n' <"$TEST_SPOOL.out" | LC_ALL=C tr -d '\040-\176' | wc -c)" -eq 0
expect_match "status --dead: the reason escaped, on one line" "$(cat "$TEST_SPOOL.out")" \
	'reason=rejected http=422 \\u001B\[2J\\u001B\]0;owned\\u0007\\u000Aforged line \\u202Egpj\.exe$'
expect_match "an old record: its reason as its history" "$(cat "$TEST_SPOOL.out")" \
	'^  history time=[0-9T:.-]{23}Z reason=rejected http=422 \\u001B'
expect_eq "an old record: requeued" "$(fmg requeue --dead 2>/dev/null)" "requeued 1 dead submission"
expect_eq "an old record: its history and the requeue" "$(jq -r '.history | map(.reason[0:8]) | join(",")' "$(queued twice)")" \
	"rejected,requeued"
fmg drain --now 2>/dev/null
expect_eq "an old record: delivered" "$(double_contact twice emails)" "twice@example.com"

# --- root's commands on another user's spool work as that user: what they
# write stays the owner's (its drain can read it), and a link the owner
# planted does not lead root's writes into root's own directories.
if [ "$(id -u)" = 0 ]; then
	top=$(mktemp -d /tmp/fmgate-owned.XXXXXX)
	chmod 755 "$top"
	mkdir -m 700 "$top/spool" "$top/rootonly"
	TEST_SPOOL_ROOT=$TEST_SPOOL
	TEST_SPOOL=$top/spool
	double_post fault '{"kind":"status","status":422,"count":1,"path":"/contacts/upsert"}'
	cgi "$(body owned)"
	chown -R nobody:nogroup "$TEST_SPOOL"
	owned=$(dead_of owned)
	expect_eq "another user's spool: one dead submission" "$(fmg status 2>/dev/null | sed -n 's/^dead: //p')" 1
	fmg requeue --dead >/dev/null 2>&1
	f=$(queued owned)
	expect_eq "requeued by root: the file is the spool owner's" "$(stat -c %U "$f")" nobody
	nobody="setpriv --reuid=65534 --regid=65534 --clear-groups --"
	FMGATE_WRAP="$nobody $FMGATE_WRAP" fmg drain --now 2>/dev/null
	expect_eq "the owner's drain delivers it" "$(double_contact owned emails)" "owned@example.com"
	# The owner puts a link to a root-only directory where root will write.
	double_post fault '{"kind":"status","status":422,"count":1,"path":"/contacts/upsert"}'
	FMGATE_WRAP="$nobody $FMGATE_WRAP" cgi "$(body planted)"
	buckets=$(ls "$TEST_SPOOL/queue")
	check "the queue has its buckets to replace" test -n "$buckets"
	for b in $buckets; do rm -rf "${TEST_SPOOL:?}/queue/$b"; ln -s "$top/rootonly" "$TEST_SPOOL/queue/$b"; done
	chown -h nobody:nogroup "$TEST_SPOOL"/queue/* 2>/dev/null
	fmg requeue --dead >/dev/null 2>&1
	expect_eq "a planted link: nothing written into root's directory" "$(ls -A "$top/rootonly" | wc -l)" 0
	check "no file of root's anywhere in the spool" test -z "$(find "$TEST_SPOOL" -user root)"
	TEST_SPOOL=$TEST_SPOOL_ROOT
	rm -rf "$top"
fi
done_testing
