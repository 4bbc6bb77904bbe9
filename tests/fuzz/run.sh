#!/bin/sh
# tests/fuzz/run.sh DIR SECONDS TIMEOUT NAME...: runs each harness DIR/fuzz_NAME
# (built by `make fuzz-build`) for SECONDS, starting from tests/fuzz/seeds/NAME
# with its dictionary. New inputs go to a scratch corpus under DIR, removed
# afterwards; a crash, leak, out-of-memory or an input running over TIMEOUT
# seconds leaves its input in DIR/artifacts/ and fails. Prints one line per
# harness with libFuzzer's final figures (exec/s, cov, ft), the log tail on
# failure, and exits 1 when any harness failed.
set -u
[ $# -ge 4 ] || { echo "usage: $0 DIR SECONDS TIMEOUT NAME..." >&2; exit 2; }
dir=$1 secs=$2 tmo=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$dir/artifacts" "$dir/tmp"
# fuzz_request's temporary folder (mappings, spool) goes here too: one a
# crash leaves behind stays under DIR.
export TMPDIR="$dir/tmp"
failed=0
# A finding ends the run at once, with a stack; leaks are looked for after
# each input that allocated more than it freed.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
for name in "$@"; do
	# -max_len: past each parser's caps; the cookie one crosses the 8 KiB cut,
	# the FastCGI head one the 64 KiB cap.
	# close_fd_mask=2 silences the target's own stderr (fmgate's log lines);
	# libFuzzer and the sanitizers still report on a copy of it.
	mask=0
	case $name in
	urlencoded) maxlen=8192 dict=form ;;
	multipart) maxlen=8192 dict=form ;;
	cookie) maxlen=10000 dict=form ;;
	mapping) maxlen=16384 dict=mapping mask=2 ;;
	request) maxlen=16384 dict=request mask=2 ;;
	spool) maxlen=16384 dict=spool ;;
	fmapi) maxlen=16384 dict=fmapi ;;
	fcgi_head) maxlen=70000 dict=fcgi ;;
	*) echo "fuzz_$name: no such harness" >&2; failed=1; continue ;;
	esac
	bin=$dir/fuzz_$name log=$dir/fuzz_$name.log
	corpus=$(mktemp -d "$dir/corpus-$name.XXXXXX")
	"$bin" -max_total_time="$secs" -timeout="$tmo" -max_len="$maxlen" \
		-dict="$here/dict/$dict.dict" -artifact_prefix="$dir/artifacts/$name-" \
		-close_fd_mask="$mask" -print_final_stats=1 \
		"$corpus" "$here/seeds/$name" >"$log" 2>&1
	rc=$?
	done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1)
	cov=$(printf '%s' "$done_line" | sed -n 's/.* cov: \([0-9]*\) ft: \([0-9]*\).*/cov: \1 ft: \2/p')
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	units=$(find "$corpus" -type f | wc -l)
	if [ "$rc" -eq 0 ] && [ -n "$done_line" ]; then
		printf 'ok   fuzz_%-11s %ss %s runs, %s exec/s, %s, %s new inputs\n' \
			"$name" "$secs" "${execs:-?}" "${rate:-?}" "${cov:-cov: ?}" "$units"
		rm -rf "$corpus"
	else
		printf 'FAIL fuzz_%-11s exit %s; log %s, corpus %s\n' "$name" "$rc" "$log" "$corpus"
		grep -E 'ERROR: |SUMMARY: |contract broken|Test unit written|ALARM|runtime error' "$log" |
			head -n 20 | sed 's/^/    | /'
		failed=1
	fi
done
exit "$failed"
