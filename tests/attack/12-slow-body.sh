#!/bin/bash
# Slow bodies (slowloris; a lesson from other form handlers: a body read that
# stalls times out): a client that sends part of its body and stops, one that
# never starts, and one that trickles a byte at a time to stay under any
# per-read timeout. Over FastCGI through `serve` with one worker, as nginx sends
# an unbuffered body: each gets 408 body_timeout once read-timeout-ms (500 here)
# has passed since the read began, nothing is sent upstream, and the one worker
# is free for the next visitor at once. (Apache's mod_fcgid and lighttpd buffer
# the body before fmgate sees it; CGI mode is tested in tests/cgi/09-limits.sh.)
# Without the timer in server.c's fcgi_read, each of these holds the worker
# until the client gives up.
. "$(dirname "$0")/common.bash"
double_reset
cat >"$ATK_TMP/slow.xml" <<'XML'
<fmgate>
  <settings><limits read-timeout-ms="500"/></settings>
  <form id="contact">
    <redirect success="https://www.example.com/thanks.html"/>
    <user-id><from-email/></user-id>
    <field name="email" trait="email" type="email" required="true"/>
  </form>
</fmgate>
XML
port=$(free_port) || exit 1
FMGATE_CONFIG="$ATK_TMP/slow.xml" FMGATE_SPOOL="$ATK_TMP/spool" \
	FM_API_BASE="$FMDOUBLE_URL/crm/sales/api" FM_API_KEY="$FMDOUBLE_KEY" \
	$FMGATE_WRAP "$FMGATE_BIN" serve --listen "127.0.0.1:$port" --workers 1 2>"$ATK_TMP/serve.log" &
serve_pid=$!
feeder=
trap 'kill $feeder 2>/dev/null; kill -TERM $serve_pid 2>/dev/null; wait; double_stop; rm -rf "$ATK_TMP"' EXIT
check "serve listens" wait_for bash -c "exec 3<>/dev/tcp/127.0.0.1/$port"
# Under valgrind everything is slower: the bound on the answer's time grows.
slack=$([ -n "$FMGATE_WRAP" ] && echo 8000 || echo 2500)

# post DESC CONTENT_LENGTH FEEDER...: one FastCGI request whose body the
# FEEDER command writes (through a FIFO, so it can stall); sets OUT and MS.
post() {
	local desc=$1 len=$2 start; shift 2
	rm -f "$ATK_TMP/in"; mkfifo "$ATK_TMP/in"
	"$@" >"$ATK_TMP/in" &
	feeder=$!
	start=$(date +%s%N)
	OUT=$(env -i PATH="$PATH" REQUEST_METHOD=POST CONTENT_TYPE=application/x-www-form-urlencoded \
		CONTENT_LENGTH="$len" PATH_INFO=/contact SCRIPT_NAME=/forms REMOTE_ADDR=127.0.0.1 \
		HTTP_ACCEPT=application/json timeout 20 cgi-fcgi -bind -connect "127.0.0.1:$port" \
		<"$ATK_TMP/in" | tr -d '\r')
	MS=$((($(date +%s%N) - start) / 1000000))
	kill "$feeder" 2>/dev/null; wait "$feeder" 2>/dev/null; feeder=
	expect_match "$desc: 408" "$(printf '%s' "$OUT" | head -n 1)" '^Status: 408'
	expect_match "$desc: body_timeout" "$OUT" '"error":"body_timeout"'
	check "$desc: answered at the timeout ($MS ms)" test "$MS" -ge 450 -a "$MS" -lt "$slack"
}
stall() { printf '%s' "$1"; exec sleep 10; }
trickle() { local i; for i in $(seq 1 60); do printf 'x'; sleep 0.2; done; }
post "part of the body, then nothing" 60 stall "email=slow%40example.com&first="
post "no body at all" 60 stall ""
post "a byte every 200 ms" 60 trickle

# The worker is free: a normal post is answered at once.
start=$(date +%s%N)
OUT=$(printf 'email=fast%%40example.com' | env -i PATH="$PATH" REQUEST_METHOD=POST \
	CONTENT_TYPE=application/x-www-form-urlencoded CONTENT_LENGTH=24 PATH_INFO=/contact \
	SCRIPT_NAME=/forms REMOTE_ADDR=127.0.0.1 timeout 20 cgi-fcgi -bind -connect "127.0.0.1:$port" | tr -d '\r')
MS=$((($(date +%s%N) - start) / 1000000))
expect_match "after the slow clients: a normal post is delivered" "$(printf '%s' "$OUT" | head -n 1)" '^Status: 303'
check "and answered without waiting ($MS ms)" test "$MS" -lt "$slack"
expect_eq "only that one reached Freshmarketer" "$(double_upserts)" 1
expect_eq "three timeouts logged" "$(grep -c 'status=408' "$ATK_TMP/serve.log")" 3
done_testing
