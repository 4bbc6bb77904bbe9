#!/bin/bash
# fmgate runs no shell and starts no program (issue 6, hardening): main()
# enters a seccomp filter that refuses execve and execveat before it reads
# anything (src/sandbox.c; tests/unit/test_sandbox.c proves what the filter
# refuses and allows). Here each kind of running fmgate process is caught
# while it waits for input and its /proc/PID/status must show the filter
# (Seccomp: 2) and no_new_privs: a CGI request, `serve`'s parent and workers
# (dropped to --user when the suite runs as root), `drain --watch` and an
# operator's verb (`try`); each then does its work with the filter in place.
# fmgate runs directly, never under FMGATE_WRAP: under valgrind the filter is
# skipped by design (src/sandbox.h). On a kernel without seccomp the suite
# checks the documented fallback instead: one warning, and the work is done.
. "$(dirname "$0")/common.bash"
FMGATE_WRAP=
SRV=$(mktemp -d /tmp/fmgate-noexec.XXXXXX)
CHILDREN=()
cleanup() {
	local p
	for p in "${CHILDREN[@]}"; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	double_stop
	rm -rf "$ATK_TMP" "$SRV"
}
trap cleanup EXIT
double_reset
HAVE_SECCOMP=yes
grep -q '^Seccomp:' /proc/self/status || HAVE_SECCOMP=no

field() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" 2>/dev/null; }
# is_fmgate PID: the process has exec'd fmgate (not yet the shell's fork).
is_fmgate() { [ "$(readlink "/proc/$1/exe")" = "$(readlink -f "$FMGATE_BIN")" ]; }
# expect_sandboxed DESC PID LOG: the filter is on, or (no seccomp) the
# warning is in LOG. A process just started may not have reached main():
# it gets the time wait_for gives.
filtered() { [ "$(field "$1" Seccomp)" = 2 ]; }
expect_sandboxed() {
	if [ "$HAVE_SECCOMP" = yes ]; then
		wait_for filtered "$2"
		expect_eq "$1: Seccomp 2 (a filter)" "$(field "$2" Seccomp)" 2
		expect_eq "$1: NoNewPrivs 1" "$(field "$2" NoNewPrivs)" 1
		expect_no_match "$1: no warning" "$(cat "$3")" 'no sandbox'
	else
		wait_for grep -q 'warning: no sandbox' "$3"
		expect_match "$1: no seccomp: warned" "$(cat "$3")" 'warning: no sandbox'
	fi
}

# --- CGI: the request waits for its body, which a fifo holds back
BODY="email=noexec%40example.com&uid=u-noexec"
mkfifo "$SRV/body"
env -i PATH="$PATH" FMGATE_CONFIG="$MAPPING" FMGATE_SPOOL="$ATK_TMP/spool" \
	FM_API_BASE="$FMDOUBLE_URL/crm/sales/api" FM_API_KEY="$FMDOUBLE_KEY" \
	REQUEST_METHOD=POST CONTENT_TYPE=application/x-www-form-urlencoded \
	CONTENT_LENGTH=${#BODY} PATH_INFO=/contact REMOTE_ADDR=127.0.0.1 \
	GATEWAY_INTERFACE=CGI/1.1 SERVER_PROTOCOL=HTTP/1.1 \
	"$FMGATE_BIN" <"$SRV/body" >"$SRV/cgi.out" 2>"$SRV/cgi.err" &
pid=$!
exec 3>"$SRV/body"
check "CGI: fmgate started" wait_for is_fmgate "$pid"
expect_sandboxed "CGI request" "$pid" "$SRV/cgi.err"
printf '%s' "$BODY" >&3
exec 3>&-
wait "$pid"
expect_eq "CGI: answered, exit 0" "$?" 0
expect_match "CGI: delivered with the filter on" "$(head -n 1 "$SRV/cgi.out")" '^Status: 303'
expect_eq "CGI: the contact arrived" "$(double_contact u-noexec emails)" noexec@example.com

# --- serve: the parent and each worker; as root, workers run as --user
chmod 0755 "$SRV"
mkdir -m 0700 "$SRV/spool"
user=()
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1; then
	user=(--user nobody)
	chown nobody: "$SRV/spool"
fi
port=$(free_port) || exit 1
FMGATE_CONFIG="$MAPPING" FMGATE_SPOOL="$SRV/spool" FM_API_BASE="$FMDOUBLE_URL/crm/sales/api" \
	FM_API_KEY="$FMDOUBLE_KEY" "$FMGATE_BIN" serve --listen "127.0.0.1:$port" --workers 2 \
	"${user[@]}" 2>"$SRV/serve.log" &
SERVE=$!
CHILDREN+=("$SERVE")
check "serve: listening" wait_for bash -c "exec 3<>/dev/tcp/127.0.0.1/$port"
check "serve: two workers" wait_for bash -c "[ \$(pgrep -P $SERVE | wc -l) -eq 2 ]"
expect_sandboxed "serve parent" "$SERVE" "$SRV/serve.log"
for w in $(pgrep -P "$SERVE"); do
	expect_sandboxed "serve worker $w" "$w" "$SRV/serve.log"
	if [ ${#user[@]} -gt 0 ]; then
		expect_eq "serve worker $w: dropped to --user nobody" \
			"$(field "$w" Uid | awk '{print $1, $2, $3, $4}')" "65534 65534 65534 65534"
	fi
done
BODY="email=serve%40example.com&uid=u-serve"
OUT=$(printf '%s' "$BODY" | env -i PATH="$PATH" \
	REQUEST_METHOD=POST CONTENT_TYPE=application/x-www-form-urlencoded CONTENT_LENGTH=${#BODY} \
	PATH_INFO=/contact REMOTE_ADDR=127.0.0.1 SCRIPT_NAME=/forms \
	cgi-fcgi -bind -connect "127.0.0.1:$port" | tr -d '\r')
expect_match "serve: a worker answers with the filter on" "$OUT" '^Status: 303'
expect_eq "serve: the contact arrived" "$(double_contact u-serve emails)" serve@example.com
kill -TERM "$SERVE"
wait "$SERVE"
expect_eq "serve: clean stop" "$?" 0
CHILDREN=()

# --- drain --watch: sandboxed, and its inotify watch still delivers
sed 's#<delivery mode="sync"#<delivery mode="async"#' "$MAPPING" >"$SRV/async.xml"
MAPPING="$SRV/async.xml"
FMG_LOG="$SRV/watch.log" fmg_start drain --watch
CHILDREN+=("$FMG_PID")
check "drain --watch: watching" wait_for grep -q 'drain: watching' "$SRV/watch.log"
expect_sandboxed "drain --watch" "$FMG_PID" "$SRV/watch.log"
cgi "email=watch%40example.com&uid=u-watch"
expect_match "async post: queued" "$CGI_ERR" 'outcome=queued'
has_watch() { [ "$(double_contact u-watch emails)" = watch@example.com ]; }
check "drain --watch: delivers the new spool file" wait_for has_watch
kill -TERM "$FMG_PID"
wait "$FMG_PID"
expect_eq "drain --watch: clean stop" "$?" 0
CHILDREN=()

# --- an operator's verb: `try` waits for its body file
mkfifo "$SRV/try-body"
FMGATE_CONFIG="$MAPPING" "$FMGATE_BIN" try contact "$SRV/try-body" >"$SRV/try.out" 2>"$SRV/try.err" &
pid=$!
check "try: fmgate started" wait_for is_fmgate "$pid"
expect_sandboxed "fmgate try" "$pid" "$SRV/try.err"
printf '%s\n' "email=try%40example.com&uid=u-try" >"$SRV/try-body"
wait "$pid"
expect_eq "try: accepted, exit 0" "$?" 0
expect_match "try: prints the identify message" "$(cat "$SRV/try.out")" 'identify message'

attack_done
