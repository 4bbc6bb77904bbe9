#!/bin/bash
# Several web hosts, one account: three hosts' worth of fmgate (each its own
# spool, `serve` and `drain --watch`) post to one test double that enforces
# one account's per-minute and per-hour limits. Time is compressed for the
# test (the double's "hour" lasts HOSTS_HOUR_S seconds, its "minute"
# HOSTS_MINUTE_S; fmgate knows windows only from the reset headers), and the
# limits are small, so that a burst of HOSTS_POSTS posts is well above them.
# Checked: every post answered with success; nothing lost, nothing twice;
# once the burst is spooled, every whole hour window the drains worked
# through used at least 0.9 of its limit; at most 1% of the calls were
# answered 429.
# Then the same with an API that sends no rate-limit headers at all (their
# names are unconfirmed live), only 429s with Retry-After: nothing lost,
# nothing twice, at most 5% of the calls answered 429.
. "$(dirname "$0")/../lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
double_start || exit 1
tmp=$(mktemp -d /tmp/fmgate-hosts.XXXXXX)
HOSTS=3
POSTS=${HOSTS_POSTS:-3000}
HOUR_S=${HOSTS_HOUR_S:-30} HOUR_LIMIT=${HOSTS_HOUR_LIMIT:-1200}
MINUTE_S=${HOSTS_MINUTE_S:-6} MINUTE_LIMIT=${HOSTS_MINUTE_LIMIT:-300}
BLIND_POSTS=${HOSTS_BLIND_POSTS:-600} BLIND_LIMIT=150
PIDS=
stop_hosts() {
	local p
	for p in $PIDS; do kill -TERM "$p" 2>/dev/null; done
	for p in $PIDS; do wait "$p" 2>/dev/null; done
	PIDS=
}
cleanup() {
	stop_hosts
	double_stop
	[ -n "${HOSTS_KEEP:-}" ] && echo "kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT
MAPPING="$top/tests/cgi/forms.xml"

# Host N of run R: its spool, FastCGI socket and logs under $tmp/R/hN.
host_fmg() { TEST_SPOOL="$tmp/$1/h$2/spool" fmg "${@:3}"; }
start_hosts() {
	local h dir
	for h in $(seq 1 $HOSTS); do
		dir=$tmp/$1/h$h
		mkdir -p "$dir/spool"
		TEST_SPOOL="$dir/spool" FMG_LOG="$dir/serve.log" \
			fmg_start serve --listen "unix:$dir/fcgi.sock" --workers 2
		PIDS="$PIDS $FMG_PID"
		TEST_SPOOL="$dir/spool" FMG_LOG="$dir/drain.log" fmg_start drain --watch
		PIDS="$PIDS $FMG_PID"
	done
	for h in $(seq 1 $HOSTS); do
		check "$1: host $h serves" wait_for test -S "$tmp/$1/h$h/fcgi.sock"
	done
}
# The submissions waiting on every host of run $1 (an unreadable status
# counts as one, so that it never passes for empty).
waiting() {
	local n=0 h w
	for h in $(seq 1 $HOSTS); do
		w=$(host_fmg "$1" "$h" status 2>/dev/null | sed -n 's/^waiting: //p')
		n=$((n + ${w:-1}))
	done
	echo "$n"
}

# run R POSTS DEADLINE_S: the burst (each host its share of the posts at
# once, as a load balancer spreads them), then the drains until every spool
# is empty; the double's records of it in $tmp/R and what they show in
# $tmp/R/verdict ("NAME VALUE" lines, see verdict()).
run() {
	local r=$1 posts=$2 deadline=$3 per_host h senders= spooled_at start
	start_hosts "$r"
	per_host=$(( (posts + HOSTS - 1) / HOSTS ))
	for h in $(seq 1 $HOSTS); do
		/usr/bin/python3 "$top/tests/spool/burst.py" "$tmp/$r/h$h/fcgi.sock" "$per_host" 0 0 8 "h$h" \
			>"$tmp/$r/h$h/results" &
		senders="$senders $!"
	done
	for h in $senders; do wait "$h"; done
	spooled_at=$(double_get rate | jq '.now')
	cat "$tmp/$r"/h*/results >"$tmp/$r/results"
	expect_eq "$r: every post was made" "$(wc -l <"$tmp/$r/results")" $((per_host * HOSTS))
	expect_eq "$r: every post was answered with success" "$(awk '$3 != 303' "$tmp/$r/results" | wc -l)" 0
	BACKLOG=$(waiting "$r")
	start=$(date +%s)
	while [ "$(waiting "$r")" != 0 ] && [ $(( $(date +%s) - start )) -lt "$deadline" ]; do
		sleep 2
	done
	DRAINED_S=$(( $(date +%s) - start ))
	expect_eq "$r: every spool emptied within ${deadline}s" "$(waiting "$r")" 0
	for h in $(seq 1 $HOSTS); do
		expect_match "$r: host $h: nothing dead" "$(host_fmg "$r" "$h" status 2>/dev/null)" 'dead: 0'
	done
	sleep 1   # a call still on its way lands
	stop_hosts
	double_get contacts >"$tmp/$r/contacts"
	double_get requests >"$tmp/$r/requests"
	double_get rate >"$tmp/$r/rate"
	/usr/bin/python3 - "$tmp/$r/results" "$tmp/$r/contacts" "$tmp/$r/requests" "$tmp/$r/rate" \
		"$spooled_at" >"$tmp/$r/verdict" <<'PY'
import json, sys
users = {line.split()[0] for line in open(sys.argv[1])}
contacts = json.load(open(sys.argv[2]))["contacts"]
requests = json.load(open(sys.argv[3]))["requests"]
rate = json.load(open(sys.argv[4]))
spooled_at = float(sys.argv[5])
ids = [c.get("external_id") for c in contacts]
print("lost %d" % len(users - set(ids)))
print("unknown %d" % len(set(ids) - users))
print("twice %d" % (len(ids) - len(set(ids))))
upserts = [r for r in requests
           if r["path"].endswith("/contacts/upsert") and r["status"] in (200, 201)]
sent = {}
for r in upserts:
    uid = ((r.get("body") or {}).get("contact") or {}).get("external_id")
    sent[uid] = sent.get(uid, 0) + 1
print("sent-twice %d" % sum(1 for n in sent.values() if n > 1))
calls = len(requests)
refused = sum(1 for r in requests if r["status"] == 429)
print("calls %d" % calls)
print("refused %d" % refused)
print("refused-1pc %d" % (refused * 100 <= calls))
print("refused-5pc %d" % (refused * 100 <= calls * 5))
# The hour windows that started once the burst was spooled and ended
# before the last delivery: each is a whole window with a backlog waiting.
last = max((r["at"] for r in upserts), default=0)
hour = rate["hour"]
whole = [w for w in hour["windows"]
         if w["start"] >= spooled_at and w["start"] + hour["seconds"] <= last]
shares = [w["counted"] / hour["limit"] for w in whole] if hour["limit"] else []
print("windows %d" % len(whole))
print("shares %s" % " ".join("%.3f" % s for s in shares))
print("low %d" % sum(1 for s in shares if s < 0.9))
PY
	echo "# $r: $HOSTS hosts, $posts posts, $BACKLOG left waiting after the burst (${spooled_at}s), spools empty ${DRAINED_S}s later: $(verdict "$r" calls) calls, $(verdict "$r" refused) answered 429${4:+; hour windows after the burst used: $(verdict "$r" shares)}"
}
verdict() { sed -n "s/^$2 //p" "$tmp/$1/verdict"; }
no_loss() {
	expect_eq "$1: 0 lost" "$(verdict "$1" lost)" 0
	expect_eq "$1: no contact nobody sent" "$(verdict "$1" unknown)" 0
	expect_eq "$1: 0 duplicated (contacts)" "$(verdict "$1" twice)" 0
	expect_eq "$1: 0 duplicated (calls that created or updated)" "$(verdict "$1" sent-twice)" 0
}

# --- the account's limits, with the headers that say where its budget stands
double_reset "{\"hour_limit\":$HOUR_LIMIT,\"hour_window\":$HOUR_S,\"minute_limit\":$MINUTE_LIMIT,\"minute_window\":$MINUTE_S}"
# A delivery is two calls (the lookup by external id, then the upsert). The
# deadline: the whole backlog at the allowed rate, and half as long again.
run limits "$POSTS" $(( POSTS * 2 * HOUR_S / HOUR_LIMIT * 3 / 2 + 60 )) shares
check "limits: the burst left a backlog ($BACKLOG) of two hours' calls or more" test "$BACKLOG" -ge "$HOUR_LIMIT"
no_loss limits
expect_eq "limits: at most 1% of calls answered 429 ($(verdict limits refused) of $(verdict limits calls))" \
	"$(verdict limits refused-1pc)" 1
check "limits: at least two whole hour windows with a backlog ($(verdict limits windows))" \
	test "$(verdict limits windows)" -ge 2
expect_eq "limits: each used >= 0.9 of its limit ($(verdict limits shares))" "$(verdict limits low)" 0

# --- no rate-limit headers: only a 429, with Retry-After, says the budget is spent
double_reset "{\"minute_limit\":$BLIND_LIMIT,\"minute_window\":$MINUTE_S,\"retry_after\":true,\"modes\":{\"ratelimit_headers\":\"none\"}}"
run blind "$BLIND_POSTS" $(( BLIND_POSTS * 2 * MINUTE_S / BLIND_LIMIT * 3 + 60 ))
check "blind: the burst left a backlog ($BACKLOG)" test "$BACKLOG" -ge "$BLIND_LIMIT"
no_loss blind
expect_eq "blind: at most 5% of calls answered 429 ($(verdict blind refused) of $(verdict blind calls))" \
	"$(verdict blind refused-5pc)" 1
done_testing
