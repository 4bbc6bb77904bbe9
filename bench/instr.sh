#!/bin/bash
# make bench-instr: instructions per submission on the parse, map and answer
# path, counted by callgrind (repeatable, whatever else the machine does).
# The CRM call itself is stubbed; the field list comes from the test double
# once, then from the cache, as in a warm worker.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
N=${SUBMISSIONS:-2000}
dir=$(mktemp -d /tmp/fmgate-instr.XXXXXX)
/usr/bin/python3 "$top/tests/fmdouble.py" --port 0 --port-file "$dir/port" --key instr >/dev/null 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 1 100); do [ -s "$dir/port" ] && break; sleep 0.1; done
mkdir -p "$dir/spool"
uid=$(/usr/bin/python3 "$top/bench/uids.py" "$dir/uid-key" "$dir/uids.lua" 1) || exit 1
sed "s|@UID_KEY@|$dir/uid-key|" "$top/bench/forms.xml" >"$dir/forms.xml"
body="email=ann%40example.com&first=Ann&last=Lee&city=Paris&title=Head+of+Growth"
body="$body&sector=software&optin=yes&size=42&uid=$uid"
# count WHAT BODY [ORIGIN STATUS]: instructions per request of that kind.
count() {
	local what=$1
	shift
	FM_API_BASE="http://127.0.0.1:$(cat "$dir/port")/crm/sales/api" FM_API_KEY=instr \
	FMGATE_SPOOL="$dir/spool" valgrind --tool=callgrind --callgrind-out-file="$dir/cg.out" \
		--toggle-collect=one_submission \
		"$top/$BUILD/bench/instr" "$dir/forms.xml" "$N" "$@" >"$dir/out" 2>"$dir/err" || {
		cat "$dir/err" "$dir/out"; exit 1; }
	ir=$(sed -n 's/^==[0-9]*== Collected : \([0-9]*\)$/\1/p' "$dir/err")
	printf '%s %s' "$what" "$((ir / N))"
}
ok=$(count submission "$body")
hp=$(count honeypot "$body&website=spam" https://www.example.com 303)
be=$(count bad-email "${body/ann%40example.com/not-an-email}" https://www.example.com 303)
fo=$(count foreign "$body" https://www.example.net 403)
echo "instructions per request, fmgate's own (the CRM call stubbed; $N each): ${ok}; refusals: ${hp}, ${be}, ${fo}"
