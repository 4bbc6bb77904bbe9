#!/bin/bash
# Connections that hold a worker before its request begins (slowloris on the
# FastCGI socket), and a request head too large to buffer. `serve --workers 2`
# with read-timeout-ms 1000: two connections that send nothing and two that
# send part of a head (half a begin record; a begin record and a parameter
# record cut short) take both workers and two places in the backlog; each is
# closed by fmgate once the read timeout counted from its accept has passed,
# logged once, and a real post made after them is answered within a few
# seconds by the same workers. Without the deadline before libfcgi reads the
# head (server.c next_request, fcgi_head.c) the post waits for as long as the
# four stay open. A 60 MB parameter (and one just over the cap) is refused
# before libfcgi buffers it: the connection is closed after at most the cap,
# and no worker's peak memory (VmHWM) grows by more than 16 MB, where libfcgi
# alone grew one by 60 MB. A head just under the cap (a 60 KB cookie) is
# still served, and a management record instead of a request is closed. The
# timeout counts from the accept (a slow head leaves less time for the body),
# libfcgi's drain after an answer is cut after 2 s, and a kept connection
# (FCGI_KEEP_CONN) serves two requests, then is closed quietly when idle.
# Padding libfcgi 2.4 misreads (on the begin record) is refused at once, a
# head libfcgi refuses cannot hold a worker by trickling bytes, a kept
# connection's idle time is not taken from its next request, a body refused
# unread does not break the kept connection, and a half-closed partial head
# is closed at once.
. "$(dirname "$0")/common.bash"
double_reset
# The suites' mapping, with a short read timeout.
sed 's#<limits #<limits read-timeout-ms="1000" #' "$MAPPING" >"$ATK_TMP/hold.xml"
port=$(free_port) || exit 1
FMGATE_CONFIG="$ATK_TMP/hold.xml" FMGATE_SPOOL="$ATK_TMP/spool" \
	FM_API_BASE="$FMDOUBLE_URL/crm/sales/api" FM_API_KEY="$FMDOUBLE_KEY" \
	$FMGATE_WRAP "$FMGATE_BIN" serve --listen "127.0.0.1:$port" --workers 2 2>"$ATK_TMP/serve.log" &
serve_pid=$!
trap 'kill -TERM $serve_pid 2>/dev/null; wait $serve_pid; double_stop; rm -rf "$ATK_TMP"' EXIT
check "serve listens" wait_for bash -c "exec 3<>/dev/tcp/127.0.0.1/$port"
check "two workers" wait_for bash -c "[ \$(pgrep -P $serve_pid | wc -l) -eq 2 ]"
workers=$(pgrep -P "$serve_pid" | sort | tr '\n' ' ')
# Under valgrind everything is slower: the bounds grow.
slack=$([ -n "$FMGATE_WRAP" ] && echo 20000 || echo 8000)
# "At once": well under the read timeout (1000 ms), unless under valgrind.
quick=$([ -n "$FMGATE_WRAP" ] && echo 3000 || echo 700)
# closed FD: the peer closed FD (end of file, or a reset for unread bytes).
closed() { timeout 5 cat <&"$1" >/dev/null 2>&1; [ $? -ne 124 ]; }
ms() { echo $((($(date +%s%N) - $1) / 1000000)); }

# post [VAR=VALUE...]: a real FastCGI post; sets OUT and MS.
post() {
	local start
	start=$(date +%s%N)
	OUT=$(printf 'email=hold%%40example.com' | env -i PATH="$PATH" REQUEST_METHOD=POST \
		CONTENT_TYPE=application/x-www-form-urlencoded CONTENT_LENGTH=24 PATH_INFO=/contact \
		SCRIPT_NAME=/forms REMOTE_ADDR=127.0.0.1 "$@" \
		timeout 20 cgi-fcgi -bind -connect "127.0.0.1:$port" | tr -d '\r')
	MS=$(ms "$start")
}

# Four held connections: 5 and 6 idle, 7 half a begin record, 8 a whole
# begin record and a parameter record that announces 100 bytes and sends 3.
start=$(date +%s%N)
exec 5<>"/dev/tcp/127.0.0.1/$port" 6<>"/dev/tcp/127.0.0.1/$port"
exec 7<>"/dev/tcp/127.0.0.1/$port" 8<>"/dev/tcp/127.0.0.1/$port"
printf '\001\001\000' >&7
printf '\001\001\000\001\000\010\000\000\000\001\000\000\000\000\000\000\001\004\000\001\000\144\000\000abc' >&8
post
expect_match "after four held connections, a post is answered" "$(printf '%s' "$OUT" | head -n 1)" '^Status: 303'
check "... within a few seconds ($MS ms)" test "$MS" -lt "$slack"
check "... after the read timeout freed a worker ($MS ms)" test "$MS" -ge 900
for fd in 5 6 7 8; do
	check "held connection $fd: closed by fmgate" closed "$fd"
	exec {fd}<&-
done
check "held connections: all four closed within the bound ($(ms "$start") ms)" test "$(ms "$start")" -lt $((slack + 5000))
expect_eq "idle connections: logged once each" \
	"$(grep -c 'FastCGI connection closed: nothing sent within the read timeout' "$ATK_TMP/serve.log")" 2
expect_eq "partial heads: logged once each" \
	"$(grep -c 'FastCGI connection closed: no whole request head within the read timeout' "$ATK_TMP/serve.log")" 2
expect_eq "the same two workers go on serving" "$(pgrep -P "$serve_pid" | sort | tr '\n' ' ')" "$workers"
post
expect_match "the next post: answered" "$(printf '%s' "$OUT" | head -n 1)" '^Status: 303'
check "... at once ($MS ms)" test "$MS" -lt "$slack"

# Peak memory of each worker (kB), before and after the large heads.
hwm() { local p t=0; for p in $workers; do t=$((t + $(awk '/^VmHWM/ { print $2 }' "/proc/$p/status"))); done; echo $t; }
before=$(hwm)
res=$(timeout 60 python3 "$ATTACK_DIR/fcgi_raw.py" "$port" big $((60 * 1024 * 1024)))
sent=$(printf '%s\n' "$res" | sed -n 's/^sent //p')
expect_eq "a 60 MB parameter: no answer, the connection closed" "$(printf '%s\n' "$res" | sed -n 's/^answer //p')" none
check "... before most of it was sent ($sent bytes)" test "${sent:-999999999}" -lt $((8 * 1024 * 1024))
res=$(timeout 60 python3 "$ATTACK_DIR/fcgi_raw.py" "$port" big 65600)
expect_eq "a parameter just over the cap: no answer" "$(printf '%s\n' "$res" | sed -n 's/^answer //p')" none
after=$(hwm)
check "workers' peak memory grew less than 16 MB ($before -> $after kB)" test $((after - before)) -lt 16384
expect_eq "over the cap: logged once each" \
	"$(grep -c 'FastCGI connection closed: request head over the size limit' "$ATK_TMP/serve.log")" 2
post HTTP_COOKIE="c=$(head -c 60000 /dev/zero | tr '\0' x)"
expect_match "a 60 KB cookie, under the cap: served" "$(printf '%s' "$OUT" | head -n 1)" '^Status: 303'
res=$(timeout 60 python3 "$ATTACK_DIR/fcgi_raw.py" "$port" mgmt)
expect_eq "a management record instead of a request: closed" "$(printf '%s\n' "$res" | sed -n 's/^answer //p')" none
check "... and logged" grep -q 'FastCGI connection closed: not a FastCGI responder request' "$ATK_TMP/serve.log"
expect_eq "still the same two workers" "$(pgrep -P "$serve_pid" | sort | tr '\n' ' ')" "$workers"
post
expect_match "and a post after all that: answered" "$(printf '%s' "$OUT" | head -n 1)" '^Status: 303'
# The read timeout counts from the accept: a head that takes 900 ms leaves
# 100 ms for the body (which never comes), not another 1000.
res=$(timeout 60 python3 "$ATTACK_DIR/fcgi_raw.py" "$port" slow 900)
expect_match "a slow head, then no body: 408" "$(printf '%s\n' "$res" | sed -n 's/^answer //p')" '^Status: 408'
t=$(printf '%s\n' "$res" | sed -n 's/^ms //p')
check "... at the timeout counted from the accept ($t ms)" test "${t:-0}" -ge 900 -a "${t:-99999}" -lt 1500
# After the answer, libfcgi reads until the web server closes: two clients
# that keep sending a byte every 200 ms are cut off after 2 s, and a post is
# served meanwhile.
lingerers=
for i in 1 2; do
	timeout 60 python3 "$ATTACK_DIR/fcgi_raw.py" "$port" linger >"$ATK_TMP/linger.$i" &
	lingerers="$lingerers $!"
done
check "both lingering clients answered" wait_for bash -c "grep -q answered $ATK_TMP/linger.1 && grep -q answered $ATK_TMP/linger.2"
post
expect_match "two lingering clients: a post is answered" "$(printf '%s' "$OUT" | head -n 1)" '^Status: 303'
check "... within a few seconds ($MS ms)" test "$MS" -lt "$slack"
wait $lingerers
for i in 1 2; do
	expect_match "lingering client $i had its answer" "$(sed -n 's/^answer //p' "$ATK_TMP/linger.$i")" '^Status: 405'
	t=$(sed -n 's/^ms //p' "$ATK_TMP/linger.$i")
	check "lingering client $i: closed after about 2 s ($t ms)" test "${t:-0}" -ge 1500 -a "${t:-99999}" -lt 5000
done
# A kept connection (FCGI_KEEP_CONN, as nginx's fastcgi_keep_conn) serves
# request after request; idle, it is closed at the read timeout without a
# log line: that is the web server's pool, not an attack.
lines=$(grep -c 'FastCGI connection closed' "$ATK_TMP/serve.log")
res=$(timeout 60 python3 "$ATTACK_DIR/fcgi_raw.py" "$port" keep)
expect_eq "a kept connection: two answers" "$(printf '%s\n' "$res" | sed -n 's/^answer //p' | cut -c1-10 | tr '\n' ' ')" "Status: 40 Status: 40 "
expect_eq "... then closed when idle" "$(printf '%s\n' "$res" | sed -n 's/^closed //p')" yes
t=$(printf '%s\n' "$res" | sed -n 's/^ms //p')
check "... at the read timeout ($t ms)" test "${t:-0}" -ge 900 -a "${t:-99999}" -lt 3000
expect_eq "... and not logged" "$(grep -c 'FastCGI connection closed' "$ATK_TMP/serve.log")" "$lines"
# libfcgi 2.4 reads a begin record's padding as the next record's header:
# padded begin records are refused by fmgate at once, before libfcgi reads
# a 65535-byte parameters record fmgate never judged (and a 252 MB name).
before=$(hwm)
res=$(timeout 60 python3 "$ATTACK_DIR/fcgi_raw.py" "$port" padbegin)
expect_eq "a padded begin record: no answer" "$(printf '%s\n' "$res" | sed -n 's/^answer //p')" none
t=$(printf '%s\n' "$res" | sed -n 's/^ms //p')
check "... closed at once ($t ms)" test "${t:-99999}" -lt "$quick"
sent=$(printf '%s\n' "$res" | sed -n 's/^sent //p')
check "... before much was sent ($sent bytes)" test "${sent:-999999999}" -lt $((8 * 1024 * 1024))
after=$(hwm)
check "... workers' peak memory grew less than 16 MB ($before -> $after kB)" test $((after - before)) -lt 16384
post
expect_match "... and the next post: answered" "$(printf '%s' "$OUT" | head -n 1)" '^Status: 303'
# A head libfcgi refuses it closes by reading until the peer stops, 2 s
# between reads at most but with no overall limit: a byte every 500 ms held
# the worker for good. The read timeout ends that (the padding makes libfcgi
# refuse when fmgate lets it through).
res=$(timeout 60 python3 "$ATTACK_DIR/fcgi_raw.py" "$port" padtrickle)
t=$(printf '%s\n' "$res" | sed -n 's/^ms //p')
check "a head libfcgi refuses, then a byte every 500 ms: closed ($t ms)" test "${t:-99999}" -lt 3500
# A kept connection's idle time is not taken from its next request: 800 ms
# idle, then a post whose body comes 300 ms after its head, is served.
res=$(timeout 60 python3 "$ATTACK_DIR/fcgi_raw.py" "$port" keepslow 800)
expect_match "a kept connection idle 800 ms, then a slow post: served" \
	"$(printf '%s\n' "$res" | sed -n 's/^answer //p' | tail -n 1)" '^Status: (200|303)'
# A body fmgate refused without reading (404) is not read as the next
# request on the kept connection.
res=$(timeout 60 python3 "$ATTACK_DIR/fcgi_raw.py" "$port" keepleft 20000)
expect_eq "a kept connection: a 20 kB post to no form, then a GET: both answered" \
	"$(printf '%s\n' "$res" | sed -n 's/^answer //p' | cut -c1-10 | tr '\n' ' ')" "Status: 40 Status: 40 "
expect_eq "... the second one a 405" "$(printf '%s\n' "$res" | sed -n 's/^answer //p' | tail -n 1 | cut -c1-11)" "Status: 405"
# A partial head whose sender has shut its side will never be whole: closed
# at once, not at the read timeout.
res=$(timeout 60 python3 "$ATTACK_DIR/fcgi_raw.py" "$port" halfclose)
t=$(printf '%s\n' "$res" | sed -n 's/^ms //p')
check "a partial head, then the sender's end: closed at once ($t ms)" test "${t:-99999}" -lt "$quick"
expect_eq "the same two workers at the end" "$(pgrep -P "$serve_pid" | sort | tr '\n' ' ')" "$workers"
SECRETS=("$FMDOUBLE_KEY")
no_secret_anywhere
done_testing
