# tests/lib.sh: shared helpers of the shell test suites (bash).
# A suite sources it, checks with `check` or `expect_eq`, and ends with
# `done_testing`, which prints "N passed, N failed".

T_PASS=0
T_FAIL=0
FMDOUBLE_KEY=${FMDOUBLE_KEY:-testkey}
export FMDOUBLE_KEY

ok() { T_PASS=$((T_PASS + 1)); }
not_ok() { T_FAIL=$((T_FAIL + 1)); echo "not ok: $*"; }

# check DESCRIPTION COMMAND...: passes when the command succeeds.
check() {
	local desc=$1; shift
	if "$@"; then ok; else not_ok "$desc"; fi
}

# expect_eq DESCRIPTION GOT WANT
expect_eq() {
	if [ "$2" = "$3" ]; then ok; else not_ok "$1: got [$2], want [$3]"; fi
}

# expect_match DESCRIPTION GOT REGEX (extended)
expect_match() {
	if printf '%s' "$2" | grep -Eq -- "$3"; then ok; else not_ok "$1: [$2] does not match /$3/"; fi
}

expect_no_match() {
	if printf '%s' "$2" | grep -Eq -- "$3"; then not_ok "$1: [$2] matches /$3/"; else ok; fi
}

done_testing() {
	[ -n "${TEST_SPOOL:-}" ] && rm -rf "$TEST_SPOOL"
	echo "$T_PASS passed, $T_FAIL failed"
	[ "$T_FAIL" -eq 0 ]
}

# A port nobody listens on now, from the ephemeral-free range 20000-29999.
free_port() {
	local p
	for _ in $(seq 1 50); do
		p=$((20000 + RANDOM % 10000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"; return 0
		fi
	done
	return 1
}

# wait_for COMMAND...: retries for up to 10 s.
wait_for() {
	for _ in $(seq 1 100); do
		"$@" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# --- the Freshmarketer test double ----------------------------------------------------
# double_start starts one on a port the kernel picks, unless FMDOUBLE_URL is set
# (the runner shares one); double_stop stops only what this shell started.
# FMDOUBLE_MODES (a JSON object, e.g. '{"live":true}'; see the modes in
# tests/fmdouble.py) reruns the suites against the live-seen behaviours: the
# double starts with them as its defaults, and double_reset adds them to the
# "modes" of every reset, modes the caller gives winning.
DOUBLE_PID=
double_start() {
	[ -n "${FMDOUBLE_URL:-}" ] && return 0
	local dir
	dir=$(mktemp -d /tmp/fmdouble.XXXXXX)
	/usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/fmdouble.py" --port 0 \
		--port-file "$dir/port" --key "$FMDOUBLE_KEY" \
		${FMDOUBLE_MODES:+--modes "$FMDOUBLE_MODES"} >"$dir/log" 2>&1 &
	DOUBLE_PID=$!
	DOUBLE_DIR=$dir
	wait_for test -s "$dir/port" || return 1
	FMDOUBLE_URL="http://127.0.0.1:$(cat "$dir/port")"
	export FMDOUBLE_URL
}
double_stop() {
	if [ -n "$DOUBLE_PID" ]; then
		kill "$DOUBLE_PID" 2>/dev/null
		wait "$DOUBLE_PID" 2>/dev/null
		rm -rf "$DOUBLE_DIR"
		DOUBLE_PID=
		unset FMDOUBLE_URL
	fi
}
# double_reset [BODY]: empties the double; BODY as for POST /_double/reset.
double_reset() {
	local body=${1:-'{}'}
	if [ -n "${FMDOUBLE_MODES:-}" ]; then
		body=$(jq -c --argjson env "$FMDOUBLE_MODES" '.modes = ($env + (.modes // {}))' <<<"$body") ||
			{ echo "double_reset: FMDOUBLE_MODES or the body is not a JSON object" >&2; return 1; }
	fi
	curl -sf -X POST -d "$body" "$FMDOUBLE_URL/_double/reset" >/dev/null
}
double_get() { curl -sf "$FMDOUBLE_URL/_double/$1"; }
double_post() { curl -sf -X POST -H 'Content-Type: application/json' -d "$2" "$FMDOUBLE_URL/_double/$1" >/dev/null; }
# The number of API requests the double received.
double_count() { double_get requests | jq '.requests | length'; }
# The number of upserts it received.
double_upserts() { double_get requests | jq '[.requests[] | select(.path | endswith("/contacts/upsert"))] | length'; }
# A contact's field, by external_id: double_contact UID FIELD
double_contact() {
	double_get contacts | jq -r --arg u "$1" --arg f "$2" \
		'[.contacts[] | select(.external_id == $u)] | if length == 0 then "NONE" else (.[0] | getpath($f | split("."))) // "NULL" | tostring end'
}

# --- behind a real web server ----------------------------------------------------------
# server_post_checks SERVER BASE TAG: what every end-to-end suite checks first
# through its server at BASE: the site is served; a post to the bare form gets
# the 303 to the thank-you page, which following lands on; both contacts reach
# the double. TAG makes the emails of this suite.
server_post_checks() {
	local server=$1 base=$2 tag=$3 out page
	check "the site is served" curl -sf -o /dev/null "$base/"
	out=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' \
		--data "email=$tag%40example.com&first=First$tag&sector=retail&optin=on" "$base/forms/bare")
	expect_eq "$server: 303 to the success path" "$out" "303 $base/thanks.html"
	page=$(curl -sL --data "email=${tag}2%40example.com&first=Second$tag" "$base/forms/bare")
	expect_match "following the 303 lands on the thank-you page" "$page" '<h1[^>]*>Thank you'
	expect_eq "contact in the double" "$(double_contact "$tag@example.com" first_name)" "First$tag"
	expect_eq "second contact in the double" "$(double_contact "${tag}2@example.com" first_name)" "Second$tag"
}

# --- running fmgate as plain CGI ---------------------------------------------------------
# cgi BODY [VAR=VALUE ...]: one request; the answer's headers land in $CGI_HEAD
# (CRs removed), its body in $CGI_BODY, stderr in $CGI_ERR, and $CGI_STATUS.
# Defaults: a urlencoded POST to /contact from 127.0.0.1 with the double's URL
# and key, and the suite's own spool ($TEST_SPOOL, made on first use and
# removed by done_testing); later VAR=VALUE pairs override them (VAR= unsets
# by emptiness).
TEST_SPOOL=
test_spool() {
	[ -n "$TEST_SPOOL" ] || TEST_SPOOL=$(mktemp -d /tmp/fmgate-spool.XXXXXX)
}
# spool_reset: empties the suite's spool, the shared delivery state
# (SPOOL/state: rate-limit holds, pause marker, field cache) included.
spool_reset() {
	test_spool
	find "$TEST_SPOOL" -mindepth 1 -delete
}
cgi() {
	local body=$1; shift
	local out err len
	test_spool
	out=$(mktemp) err=$(mktemp)
	len=$(printf '%s' "$body" | wc -c)
	printf '%s' "$body" | env -i PATH="$PATH" \
		FMGATE_CONFIG="${MAPPING:?set MAPPING}" FMGATE_SPOOL="$TEST_SPOOL" \
		FM_API_BASE="$FMDOUBLE_URL/crm/sales/api" FM_API_KEY="$FMDOUBLE_KEY" \
		REQUEST_METHOD=POST CONTENT_TYPE=application/x-www-form-urlencoded \
		CONTENT_LENGTH="$len" PATH_INFO=/contact REMOTE_ADDR=127.0.0.1 \
		GATEWAY_INTERFACE=CGI/1.1 SERVER_PROTOCOL=HTTP/1.1 \
		"$@" $FMGATE_WRAP "$FMGATE_BIN" >"$out" 2>"$err"
	CGI_RC=$?
	# fmgate answers every request with exit 0: anything else is a crash, or a
	# sanitizer or valgrind finding (they set the exit status).
	[ "$CGI_RC" -eq 0 ] || not_ok "fmgate exited $CGI_RC: $(tail -n 5 "$err")"
	CGI_HEAD=$(sed -n '1,/^\r\{0,1\}$/p' "$out" | tr -d '\r')
	CGI_BODY=$(sed '1,/^\r\{0,1\}$/d' "$out")
	CGI_ERR=$(cat "$err")
	CGI_STATUS=$(printf '%s\n' "$CGI_HEAD" | sed -n '1s/^Status: \([0-9]*\).*/\1/p')
	rm -f "$out" "$err"
}
# fmg ARGS...: runs an fmgate verb (drain, status, ...) with the suite's
# mapping, spool and the double, like cgi; FMG_KEY overrides the key.
fmg() {
	test_spool
	env FMGATE_CONFIG="${MAPPING:?set MAPPING}" FMGATE_SPOOL="$TEST_SPOOL" \
		FM_API_BASE="$FMDOUBLE_URL/crm/sales/api" FM_API_KEY="${FMG_KEY:-$FMDOUBLE_KEY}" \
		$FMGATE_WRAP "$FMGATE_BIN" "$@"
}
# fmg_start ARGS...: the same in the background; $FMG_PID is fmgate's own
# pid (for kill), its stderr goes to $FMG_LOG (default /dev/null).
fmg_start() {
	test_spool
	FMGATE_CONFIG="${MAPPING:?set MAPPING}" FMGATE_SPOOL="$TEST_SPOOL" \
		FM_API_BASE="$FMDOUBLE_URL/crm/sales/api" FM_API_KEY="${FMG_KEY:-$FMDOUBLE_KEY}" \
		$FMGATE_WRAP "$FMGATE_BIN" "$@" 2>>"${FMG_LOG:-/dev/null}" &
	FMG_PID=$!
}
# header NAME: the value of that header in the last cgi answer.
header() { printf '%s\n' "$CGI_HEAD" | grep -i "^$1: " | head -n 1 | cut -d' ' -f2-; }
