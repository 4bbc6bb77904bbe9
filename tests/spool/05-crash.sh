#!/bin/bash
# The crash test: first, while the CRM is down, version 0 of 50 userIds waits
# in the spool (so that their later versions must wait behind it). Then a
# burst of 1000 submissions through `fmgate serve` with 3
# workers against a flaky, throttling double (503s, resets, 429s, calls slower
# than the budget, a per-minute limit the burst runs into), while workers,
# one-shot drains and the delivery service are killed with SIGKILL at random
# moments, during the burst and after it while the delivery service works
# through the spool (until it is empty, or CRASH_CHAOS_S seconds from the
# start). Then `drain --now`, and the check: every userId whose submission got
# a success answer has exactly one contact, holding the values of its latest
# acknowledged submission (or of a later one that was sent but not answered).
. "$(dirname "$0")/../lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
double_start || exit 1
tmp=$(mktemp -d /tmp/fmgate-crash.XXXXXX)
USERS=${CRASH_USERS:-250}
ROUNDS=${CRASH_ROUNDS:-4}
CHAOS_S=${CRASH_CHAOS_S:-60}
SERVE_PID= CHAOS_PID=
cleanup() {
	touch "$tmp/stop"
	[ -n "$CHAOS_PID" ] && wait "$CHAOS_PID" 2>/dev/null
	if [ -n "$SERVE_PID" ]; then kill -TERM "$SERVE_PID" 2>/dev/null; wait "$SERVE_PID" 2>/dev/null; fi
	double_stop
	[ -n "${CRASH_KEEP:-}" ] && echo "kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT
sed 's#<delivery mode="sync" timeout-ms="2000"/>#<delivery mode="sync" timeout-ms="1000"/>#' \
	"$top/tests/cgi/forms.xml" >"$tmp/forms.xml"
MAPPING="$tmp/forms.xml"
t_start=$(date +%s)
double_reset '{"minute_limit":1200}'
test_spool

FMG_LOG="$tmp/serve.log" fmg_start serve --listen "unix:$tmp/fcgi.sock" --workers 3
SERVE_PID=$FMG_PID
check "serve is up" wait_for test -S "$tmp/fcgi.sock"

# The chaos: a fault or a SIGKILL every 0.2-0.7 s until $tmp/stop appears.
# A fault replaces what is left of the last one, so that faults never pile up
# while calls are held back. The chaos owns the delivery service, restarting
# it after each kill.
fault() {
	double_post fault '{"kind":"clear"}'
	double_post fault "$1"
	echo "fault $1"
}
chaos() {
	local watch w d
	FMG_LOG="$tmp/watch.log" fmg_start drain --watch
	watch=$FMG_PID
	while [ ! -e "$tmp/stop" ]; do
		sleep "0.$((RANDOM % 6 + 2))"
		case $((RANDOM % 8)) in
		0) fault '{"kind":"status","status":503,"count":3}' ;;
		1) fault '{"kind":"reset","count":2}' ;;
		2) fault '{"kind":"429","retry_after":1,"count":1}' ;;
		3) fault '{"kind":"delay","ms":1200,"count":1,"path":"/contacts/upsert"}' ;;
		4|5) w=$(pgrep -P "$SERVE_PID" | shuf -n 1)
		   [ -n "$w" ] && kill -KILL "$w" && echo kill-worker ;;
		6) kill -KILL "$watch"; wait "$watch" 2>/dev/null; echo kill-watch
		   FMG_LOG="$tmp/watch.log" fmg_start drain --watch
		   watch=$FMG_PID ;;
		7) FMG_LOG="$tmp/drain.log" fmg_start drain
		   d=$FMG_PID
		   sleep "0.$((RANDOM % 5))"
		   kill -KILL "$d" 2>/dev/null && echo kill-drain
		   wait "$d" 2>/dev/null ;;
		esac
	done >"$tmp/chaos.log"
	kill -TERM "$watch"
	wait "$watch"
}
double_post fault '{"kind":"status","status":503,"count":-1,"path":"/contacts/upsert"}'
/usr/bin/python3 "$top/tests/spool/burst.py" "$tmp/fcgi.sock" 50 0 0 8 >"$tmp/results"
double_post fault '{"kind":"clear"}'
expect_eq "version 0 of 50 userIds waits" "$(fmg status 2>/dev/null | sed -n 's/^waiting: //p')" 50
chaos &
CHAOS_PID=$!

/usr/bin/python3 "$top/tests/spool/burst.py" "$tmp/fcgi.sock" "$USERS" 1 "$ROUNDS" 8 >>"$tmp/results"
t_burst=$(date +%s)
# the delivery service works through the spool, still under fire
while [ $(( $(date +%s) - t_start )) -lt "$CHAOS_S" ] &&
	! fmg status 2>/dev/null | grep -q '^waiting: 0$'; do
	sleep 1
done
left=$(fmg status 2>/dev/null | sed -n 's/^waiting: //p')
touch "$tmp/stop"
wait "$CHAOS_PID"
CHAOS_PID=
double_post fault '{"kind":"clear"}'
kill -TERM "$SERVE_PID"
wait "$SERVE_PID"
SERVE_PID=
sleep 1.5   # calls the killed processes left at the API land

expect_eq "every post was made" "$(wc -l <"$tmp/results")" $((50 + USERS * ROUNDS))
acked=$(awk '$3 == 303' "$tmp/results" | wc -l)
lost=$(awk '$3 == 0' "$tmp/results" | wc -l)
other=$(awk '$3 != 303 && $3 != 0' "$tmp/results" | wc -l)
expect_eq "answers are successes or none (a killed worker), never an error" "$other" 0
check "most posts were acknowledged ($acked)" test "$acked" -ge $((USERS * ROUNDS / 2))
kills=$(grep -c '^kill-' "$tmp/chaos.log")
check "processes were killed ($kills)" test "$kills" -ge 3

# the final drain: until nothing is left (the minute limit may hold it)
for i in 1 2 3 4 5; do
	fmg drain --now 2>>"$tmp/final.log" && break
done
fmg status >"$tmp/status" 2>/dev/null
expect_match "nothing waiting" "$(cat "$tmp/status")" 'waiting: 0'
expect_match "nothing dead" "$(cat "$tmp/status")" 'dead: 0'
double_get contacts >"$tmp/contacts"
double_get requests >"$tmp/requests"
/usr/bin/python3 - "$tmp/results" "$tmp/contacts" >"$tmp/verdict" <<'PY'
import json, sys
latest, sent = {}, {}
for line in open(sys.argv[1]):
    user, version, status = line.split()
    version = int(version)
    sent[user] = max(sent.get(user, 0), version)
    if status == "303":
        latest[user] = max(latest.get(user, 0), version)
contacts = json.load(open(sys.argv[2]))["contacts"]
by_user = {}
for c in contacts:
    by_user.setdefault(c.get("external_id"), []).append(c)
bad = []
for user, cs in by_user.items():
    if user not in sent:
        bad.append("%s: a contact nobody sent" % user)
    elif len(cs) != 1:
        bad.append("%s: %d contacts" % (user, len(cs)))
for user, version in latest.items():
    cs = by_user.get(user, [])
    if not cs:
        bad.append("%s: acknowledged v%d, no contact" % (user, version))
        continue
    have = cs[0].get("first_name", "")
    v = int(have[1:]) if have.startswith("v") and have[1:].isdigit() else -1
    # a later post that got no answer may have been delivered: never an older one
    if not version <= v <= sent[user]:
        bad.append("%s: holds %s, latest acknowledged v%d" % (user, have, version))
print("users %d, with a contact %d, problems %d" % (len(sent), len(by_user), len(bad)))
for b in bad[:10]:
    print(b)
PY
expect_match "every acknowledged userId: one contact, its latest values" "$(cat "$tmp/verdict")" 'problems 0$'
t_end=$(date +%s)
upserts=$(jq '[.requests[] | select(.path | endswith("/contacts/upsert"))] | length' "$tmp/requests")
echo "crash test: $((50 + USERS * ROUNDS)) posts, $acked acknowledged, $lost unanswered;" \
	"$(grep -c '^kill-worker' "$tmp/chaos.log") workers, $(grep -c '^kill-watch' "$tmp/chaos.log") watchers," \
	"$(grep -c '^kill-drain' "$tmp/chaos.log") drains killed; $(grep -c '^fault' "$tmp/chaos.log") faults;" \
	"$upserts upserts; burst $((t_burst - t_start)) s, $left left for the final drain, total $((t_end - t_start)) s"
echo "$(head -n 1 "$tmp/verdict")"
done_testing
