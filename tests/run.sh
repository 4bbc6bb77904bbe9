#!/bin/bash
# Runs every test suite: the unit programs, then the shell suites (CGI mode,
# FastCGI through `serve`, Apache end to end). One shared Freshmarketer test
# double serves them all; each suite resets it. Prints a line per suite and
# ends with the total "N passed, N failed".
#   BUILD=build/asan   use another build (make test SAN=1)
#   FMGATE_WRAP="valgrind ..."  run fmgate and the unit programs under a wrapper
#   SUITES="cgi unit"  only these kinds (double unit cgi fcgi spool e2e attack browser install)
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export FMGATE_BIN="$PWD/$BUILD/fmgate"
export FMGATE_WRAP=${FMGATE_WRAP:-}
SUITES=${SUITES:-double unit cgi fcgi spool e2e attack browser install}
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
	*)
		for t in tests/"$kind"/*.sh; do
			[ -f "$t" ] && run_suite "$kind/$(basename "$t" .sh)" bash "$t"
		done ;;
	esac
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
