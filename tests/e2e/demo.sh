#!/bin/bash
# scripts/demo.sh as a user runs it (Apache with mod_fcgid, its own test double,
# mail catcher and drain), with settings left in the user's environment that
# name other places: the demo's settings are in its generated mapping alone, so
# its Apache workers and drain see FMGATE_CONFIG and none of those, `fmgate
# check` in the drain's environment warns of nothing, and the demo request's
# contact reaches the demo's double. Stopped by SIGTERM like Ctrl-C. The demo
# runs build/fmgate (and `make`), as `make demo` does, whatever FMGATE_BIN is.
. "$(dirname "$0")/../lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mktemp /tmp/fmgate-demo-test.XXXXXX)
port=$(free_port) || exit 1
demo_pid=
stop_demo() {
	[ -n "$demo_pid" ] && kill -TERM "$demo_pid" 2>/dev/null && wait "$demo_pid" 2>/dev/null
	demo_pid=
}
trap 'stop_demo; rm -f "$out"' EXIT
# FM_DOMAIN without FM_API_KEY keeps the demo on its double.
env -u FM_API_KEY PORT=$port FM_DOMAIN=elsewhere.invalid FM_API_BASE=https://elsewhere.invalid/api \
	FMGATE_SPOOL=/nonexistent/spool FM_API_KEY_FILE=/nonexistent/key \
	bash "$top/scripts/demo.sh" >"$out" 2>&1 &
demo_pid=$!
running() { grep -q '^Press Ctrl-C to stop' "$out"; }
for _ in $(seq 1 60); do running && break; sleep 0.5; done
if ! running; then
	not_ok "the demo did not start: $(cat "$out")"
	done_testing
	exit 1
fi
ok
dir=$(sed -n 's|^fmgate.s log lines: *tail -f \(.*\)/error\.log .*|\1|p' "$out")
double=$(sed -n 's|^See the contacts it holds: *curl -s \(.*\)/_double/contacts$|\1|p' "$out")
check "the demo names its folder ($dir) and double ($double)" test -d "$dir" -a -n "$double"

# The demo request, as the page sends it.
got=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' \
	--data 'email=demo-test%40example.com&first=Dee&last=Mo&message=hi' \
	"http://127.0.0.1:$port/forms/contact")
expect_eq "the demo request: to the thank-you page" "$got" "303 http://127.0.0.1:$port/thanks.html#demo"
expect_eq "its contact is in the demo's double" \
	"$(curl -s "$double/_double/contacts" | jq '[.contacts[] | tostring | select(contains("demo-test@example.com"))] | length')" 1

# Every fmgate process of the demo (drain, the workers): FMGATE_CONFIG alone.
procs=0 others= drain_env=
for pid in $(pgrep -f "$top/build/fmgate"); do
	e=$(tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null) || continue
	printf '%s\n' "$e" | grep -qxF "FMGATE_CONFIG=$dir/forms.xml" || continue
	procs=$((procs + 1))
	others="$others$(printf '%s\n' "$e" | grep -E '^(FM_[A-Z_]+|FMGATE_SPOOL)=' | tr '\n' ' ')"
	[ -z "$drain_env" ] && grep -qa 'drain' "/proc/$pid/cmdline" && drain_env=$e
done
check "the drain and a worker run ($procs processes)" test "$procs" -ge 2 -a -n "$drain_env"
expect_eq "their environments name no setting (FM_*, FMGATE_SPOOL)" "$others" ""
check "the generated httpd.conf passes no setting to the workers" \
	bash -c "! grep -q FcgidInitialEnv '$dir/httpd.conf'"
mapfile -t drain_vars < <(printf '%s\n' "$drain_env" | grep -v '^$')
expect_eq "fmgate check in the drain's environment: no warning" \
	"$(env -i "${drain_vars[@]}" "$top/build/fmgate" check "$dir/forms.xml" 2>&1)" \
	"$dir/forms.xml: valid, 3 forms"
stop_demo
check "stopped, the demo removed its folder" test ! -e "$dir"
done_testing
