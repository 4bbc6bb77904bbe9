# tests/attack/common.bash: sourced by each attack suite (tests/attack/*.sh);
# not a suite itself. Starts (or joins) the test double, makes a scratch folder
# and defines acgi.
#
# acgi DESC [--stdin FILE] [--unset VAR]... BODY [VAR=VALUE...]
#   One CGI request through `cgi` (tests/lib.sh), then the checks every answer
#   to a hostile request must pass, whatever the attack (answer_check.py): a
#   clean head (CRLF lines, printable, known headers only), no script in an
#   HTML page, one clean log line per request, the API key nowhere, and none
#   of the values listed in MARKS (planted in the request) in the answer or
#   the log. Sets what `cgi` sets, plus ACGI_OUT and ACGI_ERR (raw files);
#   the checks run for all answers at once in attack_done, which ends a suite.
#   --stdin FILE sends FILE's bytes as the body (give CONTENT_LENGTH);
#   --unset VAR leaves VAR out of the environment.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
ATTACK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MAPPING="$ATTACK_DIR/forms.xml"
MARKS=()           # request values that must never come back
SECRETS=("$FMDOUBLE_KEY")   # strings that must appear in no output
double_start || exit 1
ATK_TMP=$(mktemp -d /tmp/fmgate-attack.XXXXXX)
trap 'double_stop; rm -rf "$ATK_TMP"' EXIT
mkdir -p "$ATK_TMP/spool"
ATK_N=0

acgi() {
	local desc=$1 body wrap m
	local -a opts=()
	shift
	while [ $# -gt 0 ]; do
		case $1 in
		--stdin|--unset) opts+=("$1" "$2"); shift 2 ;;
		*) break ;;
		esac
	done
	body=$1
	shift
	ATK_N=$((ATK_N + 1))
	ACGI_OUT=$ATK_TMP/answer.$ATK_N.out
	ACGI_ERR=$ATK_TMP/answer.$ATK_N.err
	wrap="$ATTACK_DIR/rawwrap $ATK_TMP/answer.$ATK_N ${opts[*]} -- $FMGATE_WRAP"
	FMGATE_WRAP=$wrap cgi "$body" FMGATE_SPOOL="$ATK_TMP/spool" "$@"
	# Checked all together by attack_done: one Python start per suite.
	{
		printf '%s\t%s' "$ATK_TMP/answer.$ATK_N" "$(printf '%q' "$desc")"
		for m in "${MARKS[@]}"; do printf '\t%s' "$m"; done
		printf '\n'
	} >>"$ATK_TMP/index"
}

# Ends a suite: the checks of every answer, the key searched for in every
# output kept, then the count.
attack_done() {
	local a line s results rc
	a=(python3 "$ATTACK_DIR/answer_check.py" "$ATK_TMP/index")
	for s in "${SECRETS[@]}"; do a+=(--secret "$s"); done
	if [ -s "$ATK_TMP/index" ]; then
		results=$("${a[@]}")
		rc=$?
		[ "$rc" -le 1 ] || not_ok "answer_check.py failed (exit $rc)"
		while IFS= read -r line; do
			case $line in
			"ok "*) ok ;;
			*) not_ok "${line#not ok }" ;;
			esac
		done <<<"$results"
	fi
	no_secret_anywhere
	done_testing
}

# expect_delivered DESCRIPTION [URL]: the last answer is the success redirect
# (to URL, by default the contact form's thank-you page).
expect_delivered() {
	expect_eq "$1" "$CGI_STATUS $(header Location)" "303 ${2:-https://www.example.com/thanks.html}"
}

# expect_refused DESCRIPTION CODE: the last answer is a refusal of a post to
# the contact form, which has a failure URL: a 303 there with error=CODE and
# nothing else (CODE an extended regex: body_too_large|malformed_body).
expect_refused() {
	expect_match "$1" "$CGI_STATUS $(header Location)" \
		"^303 https://www\.example\.com/contact\.html\?error=($2)\$"
}

# lacks STRING FILE: true when FILE does not hold STRING (for `check`).
lacks() { ! grep -qF -- "$1" "$2"; }

# expect_contains DESCRIPTION TEXT FIXED_STRING
expect_contains() {
	if printf '%s' "$2" | grep -qF -- "$3"; then ok; else not_ok "$1: [$3] not in [$2]"; fi
}

# The upserts the double received, as compact JSON lines (one per upsert).
upsert_bodies() {
	double_get requests | jq -c '.requests[] | select(.path | endswith("/contacts/upsert")) | .body'
}

# Every output file this suite kept (answers, logs, command outputs), for a
# last search for the key.
no_secret_anywhere() {
	local s
	for s in "${SECRETS[@]}"; do
		if grep -rlF -- "$s" "$ATK_TMP" >/dev/null 2>&1; then
			not_ok "the API key appears in $(grep -rlF -- "$s" "$ATK_TMP" | head -n 3 | tr '\n' ' ')"
		else
			ok
		fi
	done
}
