#!/bin/bash
# Several web hosts, one account: three hosts' worth of fmgate (each its own
# spool, `serve` and `drain --watch`) post to one test double that enforces
# one account's per-minute and per-hour limits. Time is compressed for the
# test (the double's "hour" lasts HOSTS_HOUR_S seconds, its "minute"
# HOSTS_MINUTE_S; fmgate knows windows only from the reset headers), and the
# limits are small, so that a burst of HOSTS_POSTS posts is well above them.
# Checked: every post answered with success; nothing lost, nothing sent
# twice; from the end of the burst until the backlog is down to its last
# submissions (retries of a 429 trickle in after it), the whole hour windows
# the drains worked through, and the gaps between them, saw at least 0.9 of
# the calls the limit allows; at most 1% of the calls were answered 429.
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
# The test mapping's budget is 2 s: a call waits for its slot at most half of
# it, and the other second is far more than the double takes to answer.
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
	local r=$1 posts=$2 deadline=$3 per_host h senders= spooled_at start n backlog_end=
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
	while n=$(waiting "$r") && [ "$n" != 0 ] && [ $(( $(date +%s) - start )) -lt "$deadline" ]; do
		# The backlog's end: at most 2% of the posts left.
		[ -z "$backlog_end" ] && [ "$n" -le $((posts / 50)) ] && backlog_end=$(double_get rate | jq '.now')
		sleep 2
	done
	[ -n "$backlog_end" ] || backlog_end=$(double_get rate | jq '.now')
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
		"$spooled_at" "$backlog_end" >"$tmp/$r/verdict" <<'PY'
import json, sys
users = {line.split()[0] for line in open(sys.argv[1])}
contacts = json.load(open(sys.argv[2]))["contacts"]
requests = json.load(open(sys.argv[3]))["requests"]
rate = json.load(open(sys.argv[4]))
spooled_at, backlog_end = float(sys.argv[5]), float(sys.argv[6])
ids = {c.get("external_id") for c in contacts}
print("lost %d" % len(users - ids))
print("unknown %d" % len(ids - users))
upserts = [r for r in requests
           if r["path"].endswith("/contacts/upsert") and r["status"] in (200, 201)]
sent = {}
for r in upserts:
    uid = ((r.get("body") or {}).get("contact") or {}).get("external_id")
    sent[uid] = sent.get(uid, 0) + 1
print("sent-twice %d" % sum(1 for n in sent.values() if n > 1))
# Every call the double rate-checked is in its log (it keeps the last 10000).
calls, refused = rate["calls"], rate["refused"]
print("logged %d" % (len(requests) == calls))
print("calls %d" % calls)
print("refused %d" % refused)
print("refused-1pc %d" % (refused * 100 <= calls))
print("refused-5pc %d" % (refused * 100 <= calls * 5))
# The hour windows that started once the burst was spooled and ended before
# the backlog's end: whole windows with a backlog waiting. A window starts at
# the first call after the last one ended, so time nobody called is a gap
# between them: the share is of what the limit allows over the whole span.
hour = rate["hour"]
whole = [w for w in hour["windows"]
         if w["start"] >= spooled_at and w["start"] + hour["seconds"] <= backlog_end]
print("windows %d" % len(whole))
print("shares %s" % " ".join("%.3f" % (w["counted"] / hour["limit"]) for w in whole))
if whole:
    span = whole[-1]["start"] + hour["seconds"] - whole[0]["start"]
    share = sum(w["counted"] for w in whole) / (hour["limit"] * span / hour["seconds"])
    print("share %.3f" % share)
    print("share-ok %d" % (share >= 0.9))
PY
	echo "# $r: $HOSTS hosts, $posts posts, $BACKLOG left waiting after the burst (${spooled_at}s), spools empty ${DRAINED_S}s later: $(verdict "$r" calls) calls, $(verdict "$r" refused) answered 429${4:+; whole hour windows after the burst: $(verdict "$r" shares), over their span $(verdict "$r" share) of the allowed rate}"
}
verdict() { sed -n "s/^$2 //p" "$tmp/$1/verdict"; }
no_loss() {
	expect_eq "$1: 0 lost" "$(verdict "$1" lost)" 0
	expect_eq "$1: no contact nobody sent" "$(verdict "$1" unknown)" 0
	expect_eq "$1: 0 duplicated (no contact created or updated twice)" "$(verdict "$1" sent-twice)" 0
	expect_eq "$1: the double's log holds every call" "$(verdict "$1" logged)" 1
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
expect_eq "limits: >= 0.9 of the allowed rate over them ($(verdict limits share))" "$(verdict limits share-ok)" 1

# --- no rate-limit headers: only a 429, with Retry-After, says the budget is spent
double_reset "{\"minute_limit\":$BLIND_LIMIT,\"minute_window\":$MINUTE_S,\"retry_after\":true,\"modes\":{\"ratelimit_headers\":\"none\"}}"
run blind "$BLIND_POSTS" $(( BLIND_POSTS * 2 * MINUTE_S / BLIND_LIMIT * 2 + 60 ))
check "blind: the burst left a backlog ($BACKLOG)" test "$BACKLOG" -ge "$BLIND_LIMIT"
no_loss blind
expect_eq "blind: at most 5% of calls answered 429 ($(verdict blind refused) of $(verdict blind calls))" \
	"$(verdict blind refused-5pc)" 1
done_testing
