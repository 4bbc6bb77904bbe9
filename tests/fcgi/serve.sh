#!/bin/bash
# `fmgate serve` speaks FastCGI on its own socket (TCP and unix), with
# pre-forked workers that keep their upstream connection, and stops cleanly on
# SIGTERM. Requests go through cgi-fcgi, as nginx would send them.
. "$(dirname "$0")/../lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
MAPPING="$top/tests/cgi/forms.xml"
double_start || exit 1
tmp=$(mktemp -d /tmp/fmgate-serve.XXXXXX)
SERVE_PID=
stop_serve() {
	[ -n "$SERVE_PID" ] || return 0
	kill -TERM "$SERVE_PID" 2>/dev/null
	wait "$SERVE_PID"
	SERVE_RC=$?
	SERVE_PID=
}
trap 'stop_serve; double_stop; rm -rf "$tmp"' EXIT
double_reset

start_serve() { # start_serve LISTEN WORKERS
	mkdir -p "$tmp/spool"
	FMGATE_CONFIG="${SERVE_MAPPING:-$MAPPING}" FMGATE_SPOOL="$tmp/spool" \
		FM_API_BASE="$FMDOUBLE_URL/crm/sales/api" FM_API_KEY="$FMDOUBLE_KEY" \
		$FMGATE_WRAP "$FMGATE_BIN" serve --listen "$1" --workers "$2" 2>"$tmp/serve.log" &
	SERVE_PID=$!
}
# fcgi CONNECT BODY [VAR=VALUE...]: one FastCGI request; the answer in $OUT
fcgi() {
	local connect=$1 body=$2; shift 2
	OUT=$(printf '%s' "$body" | env -i PATH="$PATH" REQUEST_METHOD=POST \
		CONTENT_TYPE=application/x-www-form-urlencoded CONTENT_LENGTH=$(printf '%s' "$body" | wc -c) \
		PATH_INFO=/contact REMOTE_ADDR=127.0.0.1 SCRIPT_NAME=/forms "$@" \
		cgi-fcgi -bind -connect "$connect" | tr -d '\r')
}

port=$(free_port) || exit 1
start_serve "127.0.0.1:$port" 2
check "serve listens on TCP" wait_for bash -c "exec 3<>/dev/tcp/127.0.0.1/$port"
for i in 1 2 3 4 5 6; do
	fcgi "127.0.0.1:$port" "email=s$i%40example.com&uid=u-s$i&company=Acme"
	expect_match "FastCGI post $i: 303" "$(printf '%s' "$OUT" | head -n 1)" '^Status: 303'
done
expect_match "FastCGI: Location" "$OUT" 'Location: https://www.example.com/thanks.html'
expect_eq "FastCGI: contacts created" "$(double_get contacts | jq '.contacts | length')" 6
conns=$(double_get requests | jq '[.requests[].conn] | unique | length')
check "one kept-alive upstream connection per worker ($conns for 2 workers)" test "$conns" -le 2
workers=$(pgrep -P "$SERVE_PID" | wc -l)
expect_eq "two pre-forked workers" "$workers" 2
# Each log line names the process that wrote it: a worker's lines carry its
# own pid, not the parent's it was forked from (log.c keeps the pid per process).
logpids=$(sed -n 's/^fmgate\[\([0-9]*\)\]: info: form=contact .*/\1/p' "$tmp/serve.log" | sort -u)
kids=" $(pgrep -P "$SERVE_PID" | tr '\n' ' ')"
bad=0
for p in $logpids; do case $kids in *" $p "*) ;; *) bad=1 ;; esac; done
check "request log lines carry worker pids ($(echo $logpids) of$kids)" test -n "$logpids" -a "$bad" -eq 0
expect_match "the parent's own line carries its pid" "$(cat "$tmp/serve.log")" "fmgate\[$SERVE_PID\]: info: serving"

fcgi "127.0.0.1:$port" "" REQUEST_METHOD=GET
expect_match "FastCGI GET: 405" "$OUT" '^Status: 405'

# a killed worker is replaced
victim=$(pgrep -P "$SERVE_PID" | head -n 1)
kill -KILL "$victim"
check "a dead worker is replaced" wait_for bash -c "[ \$(pgrep -P $SERVE_PID | wc -l) -eq 2 ] && ! kill -0 $victim"
live=$(pgrep -P "$SERVE_PID")
stop_serve
expect_eq "SIGTERM: clean stop, exit 0" "$SERVE_RC" 0
gone=yes
for w in $live; do kill -0 "$w" 2>/dev/null && gone=no; done
expect_eq "SIGTERM: workers gone" "$gone" yes

# unix socket
start_serve "unix:$tmp/fmgate.sock" 1
check "serve listens on a unix socket" wait_for test -S "$tmp/fmgate.sock"
fcgi "$tmp/fmgate.sock" "email=unix%40example.com&uid=u-unix&company=Acme"
expect_match "unix socket post: 303" "$OUT" '^Status: 303'
expect_eq "unix socket: contact created" "$(double_contact u-unix emails)" "unix@example.com"
stop_serve
expect_eq "unix socket: clean stop" "$SERVE_RC" 0
check "unix socket removed at stop" test ! -e "$tmp/fmgate.sock"

# a running worker follows its mapping file: a new version is used, an invalid
# one is logged and the last good one kept
cp "$MAPPING" "$tmp/live.xml"
SERVE_MAPPING="$tmp/live.xml" start_serve "unix:$tmp/live.sock" 1
check "reload: serve up" wait_for test -S "$tmp/live.sock"
fcgi "$tmp/live.sock" "email=r1%40example.com" PATH_INFO=/extra
expect_match "reload: unknown form before" "$OUT" '^Status: 404'
sed 's#<form id="bare">#<form id="extra"><redirect success="/extra-thanks"/><user-id><from-email/></user-id><field name="email" trait="email" type="email"/></form>\n  <form id="bare">#' \
	"$MAPPING" >"$tmp/live.new" && mv "$tmp/live.new" "$tmp/live.xml"
sleep 1.2   # the file is looked at once a second at most
fcgi "$tmp/live.sock" "email=r2%40example.com" PATH_INFO=/extra
expect_match "reload: new form served without a restart" "$OUT" 'Location: /extra-thanks'
printf '<fmgate><form id="broken">\n' >"$tmp/live.xml"
sleep 1.2
fcgi "$tmp/live.sock" "email=r3%40example.com" PATH_INFO=/extra
expect_match "reload: invalid version, last good one kept" "$OUT" 'Location: /extra-thanks'
check "reload: the invalid version is logged with file and line" grep -q "$tmp/live.xml:[0-9]*: " "$tmp/serve.log"
stop_serve
expect_eq "reload: clean stop" "$SERVE_RC" 0

# FCGI_WEB_SERVER_ADDRS, as libfcgi has it: a TCP peer not in the list is
# closed at once (and logged, once in 100), one in it served; spaces around
# entries do not count, an IPv4 peer matches its ::ffff: form, and an empty
# list is no list (every peer served).
for addrs in 10.9.9.9 ::1 10.9.9.9,127.0.0.1 ' 10.9.9.9 , 127.0.0.1 ' ::ffff:127.0.0.1 '' ' '; do
	port=$(free_port) || exit 1
	FCGI_WEB_SERVER_ADDRS=$addrs start_serve "127.0.0.1:$port" 1
	check "FCGI_WEB_SERVER_ADDRS='$addrs': serve listens" wait_for bash -c "exec 3<>/dev/tcp/127.0.0.1/$port"
	fcgi "127.0.0.1:$port" "email=addrs%40example.com&uid=u-addrs&company=Acme"
	status=$(printf '%s' "$OUT" | head -n 1)
	fcgi "127.0.0.1:$port" "email=addrs%40example.com&uid=u-addrs&company=Acme"
	stop_serve
	case $addrs in
	10.9.9.9|::1)
		expect_eq "FCGI_WEB_SERVER_ADDRS='$addrs': closed unanswered" "$status" ""
		expect_eq "... logged once for two" "$(grep -c 'FastCGI peer 127.0.0.1 refused: not in FCGI_WEB_SERVER_ADDRS' "$tmp/serve.log")" 1 ;;
	*) expect_match "FCGI_WEB_SERVER_ADDRS='$addrs': served" "$status" '^Status: 303' ;;
	esac
done

# A header sent twice reaches libfcgi as two parameters (nginx before 1.23):
# every copy counts, joined in order, so behind a trusted proxy the address
# it appended (10.0.0.1 is trusted), not a client's own X-Forwarded-For
# line, spends a budget of one post per address.
sed 's#<rate-limit/>#<rate-limit per-ip="1" window="3600"/>#' "$MAPPING" >"$tmp/xff.xml"
port=$(free_port) || exit 1
SERVE_MAPPING="$tmp/xff.xml" start_serve "127.0.0.1:$port" 1
check "two X-Forwarded-For: serve listens" wait_for bash -c "exec 3<>/dev/tcp/127.0.0.1/$port"
xff() { python3 "$top/tests/attack/fcgi_raw.py" "$port" xff "$@" | sed -n 's/^answer //p'; }
expect_match "forged line, then the proxy's 203.0.113.9: accepted" "$(xff "email=x1%40example.com&uid=u-x1&company=Acme" 198.51.100.7 203.0.113.9)" '^Status: 200'
expect_match "the same forged line, then 203.0.113.10: its own budget" "$(xff "email=x2%40example.com&uid=u-x2&company=Acme" 198.51.100.7 203.0.113.10)" '^Status: 200'
expect_match "203.0.113.9 again: its budget is spent" "$(xff "email=x3%40example.com&uid=u-x3&company=Acme" 203.0.113.9)" '^Status: 429'
# Copies over 16 KiB together keep their right-most entries.
long=$(printf '198.51.100.7, %.0s' $(seq 1500))
expect_match "a 21 kB forged line, then the proxy's 203.0.113.11: accepted" "$(xff "email=x4%40example.com&uid=u-x4&company=Acme" "${long%, }" 203.0.113.11)" '^Status: 200'
expect_match "203.0.113.11 again: its budget is spent" "$(xff "email=x5%40example.com&uid=u-x5&company=Acme" 203.0.113.11)" '^Status: 429'
expect_match "a 21 kB line ending 203.0.113.12, then a trusted 10.0.0.1: accepted" "$(xff "email=x6%40example.com&uid=u-x6&company=Acme" "${long}203.0.113.12" 10.0.0.1)" '^Status: 200'
expect_match "203.0.113.12 again: its budget is spent" "$(xff "email=x7%40example.com&uid=u-x7&company=Acme" 203.0.113.12)" '^Status: 429'
stop_serve

# --user: as root, the workers run as that user
if [ "$(id -u)" -eq 0 ]; then
	port=$(free_port) || exit 1
	FMGATE_CONFIG="$MAPPING" $FMGATE_WRAP "$FMGATE_BIN" serve --listen "127.0.0.1:$port" --workers 1 --user nobody 2>"$tmp/serve.log" &
	SERVE_PID=$!
	check "serve --user listens" wait_for bash -c "exec 3<>/dev/tcp/127.0.0.1/$port"
	check "serve --user: parent dropped to nobody" wait_for bash -c "[ \"\$(ps -o user= -p $SERVE_PID | tr -d ' ')\" = nobody ]"
	w=$(pgrep -P "$SERVE_PID" | head -n 1)
	expect_eq "serve --user: worker runs as nobody" "$(ps -o user= -p "$w" | tr -d ' ')" nobody
	stop_serve
	expect_eq "serve --user: clean stop" "$SERVE_RC" 0
fi
# Not dumpable: another process of the same user can neither ptrace fmgate nor
# read its memory or environment (where FM_API_KEY may be), and a crash leaves
# no core. The kernel shows it in /proc/PID: a dumpable process owns its
# environ, a non-dumpable one's belongs to root. Run as nobody from the start
# (not through --user, whose setuid clears the flag by itself).
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	chown nobody "$tmp"
	nobody=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)   # it execs: $! is fmgate's pid
	port=$(free_port) || exit 1
	FMGATE_CONFIG="$MAPPING" FMGATE_SPOOL="$tmp/spool-nobody" FM_API_KEY="$FMDOUBLE_KEY" \
		"${nobody[@]}" $FMGATE_WRAP "$FMGATE_BIN" serve --listen "127.0.0.1:$port" --workers 1 2>"$tmp/serve.log" &
	SERVE_PID=$!
	check "as nobody: serve listens" wait_for bash -c "exec 3<>/dev/tcp/127.0.0.1/$port"
	w=$(pgrep -P "$SERVE_PID" | head -n 1)
	expect_eq "as nobody: serve parent not dumpable (environ owned by root)" "$(stat -c %U "/proc/$SERVE_PID/environ")" root
	expect_eq "as nobody: serve worker not dumpable" "$(stat -c %U "/proc/$w/environ")" root
	expect_eq "... and its uid is nobody's" "$(ps -o user= -p "$w" | tr -d ' ')" nobody
	stop_serve
	mkdir -p "$tmp/spool-nobody" && chown nobody "$tmp/spool-nobody"
	FMGATE_CONFIG="$MAPPING" FMGATE_SPOOL="$tmp/spool-nobody" FM_API_KEY="$FMDOUBLE_KEY" \
		FM_API_BASE="$FMDOUBLE_URL/crm/sales/api" "${nobody[@]}" $FMGATE_WRAP "$FMGATE_BIN" drain --watch 2>"$tmp/drain.log" &
	drain_pid=$!
	check "as nobody: drain --watch runs" wait_for bash -c "[ \"\$(ps -o user= -p $drain_pid | tr -d ' ')\" = nobody ] && grep -q . $tmp/drain.log"
	expect_eq "as nobody: drain --watch not dumpable" "$(stat -c %U "/proc/$drain_pid/environ")" root
	kill -TERM "$drain_pid"; wait "$drain_pid"
fi
out=$("$FMGATE_BIN" serve 2>&1); rc=$?
expect_eq "serve without --listen is a usage error" "$rc" 2
done_testing
