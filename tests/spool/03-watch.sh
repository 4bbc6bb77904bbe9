#!/bin/bash
# async mode: the worker answers once the submission is in the spool, and
# `fmgate drain --watch` delivers it within a second; without a delivery
# service nothing is lost; SIGTERM stops the service cleanly; several drains
# and watchers at once never deliver one submission twice.
. "$(dirname "$0")/../lib.sh"
double_start || exit 1
tmp=$(mktemp -d /tmp/fmgate-watch.XXXXXX)
WATCH=
stop_watch() {
	[ -n "$WATCH" ] || return 0
	kill -TERM "$WATCH" 2>/dev/null
	wait "$WATCH"
	WATCH_RC=$?
	WATCH=
}
trap 'stop_watch; double_stop; rm -rf "$tmp"' EXIT
sed 's#<delivery mode="sync" timeout-ms="2000"/>#<delivery mode="async" timeout-ms="2000"/>#' \
	"$(dirname "$0")/../cgi/forms.xml" >"$tmp/async.xml"
MAPPING="$tmp/async.xml"
body() { echo "email=$1%40example.com&uid=$1&company=Acme&first=$2"; }
has_contact() { [ "$(double_contact "$1" emails)" != NONE ]; }
waiting() { fmg status 2>/dev/null | sed -n 's/^waiting: //p'; }
nothing_waiting() { [ "$(waiting)" = 0 ]; }
# upserts per first_name value, as "NAME COUNT" lines
upsert_counts() {
	double_get requests | jq -r '[.requests[] | select(.path | endswith("/contacts/upsert")) | .body.contact.first_name] | group_by(.) | map("\(.[0]) \(length)") | .[]'
}

# --- no delivery service: the answer needs no CRM, nothing is lost
double_reset
cgi "$(body a-0 A0)"
expect_eq "async: success" "$CGI_STATUS" 303
expect_match "async: spooled, not sent" "$CGI_ERR" 'outcome=queued .*why=async spool=queue'
expect_eq "async: no call to the API" "$(double_count)" 0
expect_eq "async: waits" "$(waiting)" 1

# --- the delivery service
FMG_LOG="$tmp/watch.log" fmg_start drain --watch
WATCH=$FMG_PID
check "the waiting one is delivered at start" wait_for has_contact a-0
worst=0
for i in 1 2 3 4 5; do
	cgi "$(body a-$i A$i)"
	t0=$(date +%s%N)
	while ! has_contact "a-$i" && [ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 3000 ]; do sleep 0.01; done
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	[ "$ms" -gt "$worst" ] && worst=$ms
done
check "async: delivered within a second of the answer (worst ${worst} ms, polled via HTTP)" test "$worst" -lt 1000
echo "async delivery after the answer: worst ${worst} ms of 5"
expect_eq "async: spool empty again" "$(waiting)" 0
conns=$(double_get requests | jq '[.requests[] | select(.path | endswith("/contacts/upsert")) | .conn] | unique | length')
expect_eq "the service keeps one connection alive" "$conns" 1

# a failure: that submission waits for its backoff, the service pauses a
# moment, then delivers the next one
double_post fault '{"kind":"status","status":503,"count":1,"path":"/contacts/upsert"}'
cgi "$(body a-6 A6)"
expect_eq "CRM failing: async still answers success" "$CGI_STATUS" 303
check "the failure is seen" wait_for grep -q 'id=.* outcome=retry http=503' "$tmp/watch.log"
cgi "$(body a-7 A7)"
check "the next one is delivered after a short pause" wait_for has_contact a-7
expect_eq "the failed one waits for its backoff" "$(waiting)" 1
stop_watch
expect_eq "SIGTERM: clean stop, exit 0" "$WATCH_RC" 0
expect_match "stop logged" "$(cat "$tmp/watch.log")" 'drain: stopped; [0-9]+ delivered'
fmg drain --now 2>/dev/null
expect_eq "the rest delivered by drain --now" "$(waiting)" 0
expect_eq "a-6 and a-7 delivered" "$(double_contact a-6 first_name),$(double_contact a-7 first_name)" "A6,A7"

# --- several drains and watchers at once: never one submission twice
double_reset
double_post fault '{"kind":"status","status":503,"count":-1}'
n=0
for v in 1 2 3; do
	for u in $(seq 1 20); do
		cgi "$(body c-$u C$u-$v)"
		n=$((n + 1))
	done
done
expect_eq "60 waiting" "$(waiting)" 60
double_post fault '{"kind":"clear"}'
# each upsert takes 50 ms, so the drains overlap for a good while
double_post fault '{"kind":"delay","ms":50,"count":-1}'
pids=
for _ in 1 2; do
	FMG_LOG="$tmp/w.log" fmg_start drain --watch
	pids="$pids $FMG_PID"
done
dpids=
for _ in 1 2 3; do
	FMG_LOG="$tmp/d.log" fmg_start drain
	dpids="$dpids $FMG_PID"
done
for p in $dpids; do wait "$p"; done
check "all delivered" wait_for nothing_waiting
for p in $pids; do kill -TERM "$p"; wait "$p"; done
upsert_counts >"$tmp/counts"
expect_eq "every submission sent" "$(wc -l <"$tmp/counts")" 60
expect_eq "none sent twice" "$(awk '$2 != 1' "$tmp/counts" | head -n 3)" ""
bad=0
for u in $(seq 1 20); do
	[ "$(double_contact c-$u first_name)" = "C$u-3" ] || bad=$((bad + 1))
done
expect_eq "each contact holds its userId's last submission" "$bad" 0
expect_eq "one contact per userId" "$(double_get contacts | jq '.contacts | length')" 20
double_post fault '{"kind":"clear"}'

# a bucket removed under the service: it stops (exit 1) for its supervisor
# to start it afresh, rather than miss new files
FMG_LOG="$tmp/gone.log" fmg_start drain --watch
WATCH=$FMG_PID
check "watching" wait_for grep -q 'drain: watching' "$tmp/gone.log"
rm -rf "$TEST_SPOOL/queue/7f"
wait "$WATCH"
expect_eq "a bucket gone: exit 1" "$?" 1
WATCH=
expect_match "a bucket gone: logged" "$(cat "$tmp/gone.log")" 'a spool directory went away'
done_testing
