#!/bin/bash
# Runs every test suite: the unit programs, then the shell suites (CGI mode,
# FastCGI through `serve`, Apache end to end). One shared Freshmarketer test
# double serves them all; each suite resets it. Prints a line per suite and
# ends with the total "N passed, N failed".
#   BUILD=build/asan   use another build (make test SAN=1)
#   FMGATE_WRAP="valgrind ..."  run fmgate and the unit programs under a wrapper
#   SUITES="cgi unit"  only these kinds (double unit cgi fcgi spool live e2e attack browser install)
# "live" runs the delivery suites again against the double behaving as the live
# API was seen to (FMDOUBLE_MODES='{"live":true}': duplicate messages quoting
# the address, partial lookup rows, ddmmyy resets, subscription ids, emails as
# arrays, 200 on create).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export FMGATE_BIN="$PWD/$BUILD/fmgate"
export FMGATE_WRAP=${FMGATE_WRAP:-}
SUITES=${SUITES:-double unit cgi fcgi spool live e2e attack browser install}
LIVE_SUITES="cgi/04-deliver cgi/06-fidelity cgi/08-signed cgi/10-setup spool/01-retry spool/02-order spool/03-watch spool/06-steps"
SUITE_TIMEOUT=${SUITE_TIMEOUT:-600}
. tests/lib.sh

LOGDIR=$(mktemp -d /tmp/fmgate-tests.XXXXXX)
passed=0 failed=0
trap 'double_stop; rm -rf "$LOGDIR"' EXIT
double_start || { echo "cannot start the Freshmarketer test double"; echo "0 passed, 1 failed"; exit 1; }

run_suite() {
	local name=$1; shift
	local log="$LOGDIR/$(echo "$name" | tr '/' '_').log" rc line p f
	timeout -k 10 "$SUITE_TIMEOUT" "$@" >"$log" 2>&1
	rc=$?
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
	if [ -n "$line" ]; then
		p=${line%% passed*}; f=${line#*, }; f=${f%% failed}
	else
		p=0 f=0
	fi
	# A suite that crashed or printed no count fails, whatever it counted.
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	passed=$((passed + p)); failed=$((failed + f))
	if [ "$f" -eq 0 ]; then
		printf 'ok   %-40s %s\n' "$name" "$line"
	else
		printf 'FAIL %-40s %s (exit %s)\n' "$name" "${line:-no count}" "$rc"
		sed 's/^/    | /' "$log" | tail -n 40
	fi
}

for kind in $SUITES; do
	case $kind in
	unit)
		for t in "$BUILD"/tests/test_*; do
			[ -x "$t" ] && run_suite "unit/$(basename "$t")" $FMGATE_WRAP "$t"
		done ;;
	live)
		for t in $LIVE_SUITES; do
			run_suite "live/$t" env FMDOUBLE_MODES='{"live":true}' bash "tests/$t.sh"
		done ;;
	*)
		for t in tests/"$kind"/*.sh; do
			[ -f "$t" ] && run_suite "$kind/$(basename "$t" .sh)" bash "$t"
		done ;;
	esac
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
