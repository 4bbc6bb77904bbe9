#!/bin/bash
# <captcha> (docs/captcha.md) against the double's siteverify stand-ins for
# Cloudflare Turnstile, hCaptcha and reCAPTCHA: for each provider a token that
# passes, none, a refused one, a reused one; reCAPTCHA's min-score; the
# answer's hostname and action against the form's (matching, not, missing,
# not named by the form); field errors, the honeypot and an fmgate unable to
# deliver make no call (a single-use token is not spent); the visitor's
# address passed on; the provider down, slow, failing or answering
# garbage: 503 with Retry-After and nothing delivered or spooled, or, with
# on-unavailable="accept", delivered with context.captcha unverified; the
# token and the secret never in the contact, the message, the spool, the log
# or the answer; `check` refuses a secret file others may read or write and a
# mapped token field; FMGATE_CAPTCHA_URL only to a loopback host; the call
# from a sandboxed `fmgate serve` worker.
. "$(dirname "$0")/../lib.sh"
double_start || exit 1
W=$(mktemp -d /tmp/fmgate-captcha.XXXXXX)
SERVE_PID=
trap '[ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null; double_stop; rm -rf "$W"' EXIT
chmod 700 "$W"
SECRET='cap-secret-Vq93xk' HOOK='hook-secret-Kx0123456789'
(umask 077; printf '%s\n' "$SECRET" >"$W/secret"; printf '%s\n' "$HOOK" >"$W/hook")
FAIL="https://www.example.com/contact.html"

form() {  # form ID PROVIDER [EXTRA ATTRIBUTES] [EXTRA ELEMENTS]
	cat <<EOF
  <form id="$1">
    <redirect success="/thanks.html" failure="$FAIL"/>
    <honeypot field="website"/>
    <user-id><from-email/></user-id>
    <field name="email" trait="email" type="email" required="true"/>
    <field name="first" trait="firstName"/>
    <captcha provider="$2" secret-file="$W/secret"$3/>
    <webhook url="$FMDOUBLE_URL/_hooks/$1" secret-file="$W/hook"/>$4
  </form>
EOF
}
mapping() {  # mapping MODE
	printf '<fmgate>\n  <settings><delivery mode="%s"/><rate-limit/></settings>\n' "$1"
	form ts turnstile
	form hc hcaptcha
	form rc recaptcha ' min-score="0.5"'
	form acc turnstile ' on-unavailable="accept"'
	form hn turnstile ' hostname="www.example.com Example.ORG" action="signup"'
	form rv recaptcha ' hostname="www.example.com" action="signup"'
	printf '</fmgate>\n'
}
mapping sync >"$W/sync.xml"
mapping async >"$W/async.xml"
MAPPING="$W/sync.xml"
check "the mapping checks" bash -c '"$1" check "$2" >/dev/null' _ "$FMGATE_BIN" "$MAPPING"

declare -A PROVIDER=([ts]=turnstile [hc]=hcaptcha [rc]=recaptcha [acc]=turnstile [hn]=turnstile
	[rv]=recaptcha)
declare -A FIELD=([ts]=cf-turnstile-response [hc]=h-captcha-response [rc]=g-recaptcha-response
	[acc]=cf-turnstile-response [hn]=cf-turnstile-response [rv]=g-recaptcha-response)
LOG="$W/all.log"
post() {  # post FORM BODY [VAR=VALUE...]: as a browser posting JSON-wise
	local f=$1 b=$2; shift 2
	cgi "$b" PATH_INFO="/$f" HTTP_ACCEPT=application/json REMOTE_ADDR=198.51.100.23 \
		FMGATE_CAPTCHA_URL="$FMDOUBLE_URL/_captcha/${PROVIDER[$f]}" "$@"
	printf '%s\n%s\n' "$CGI_ERR" "$CGI_BODY" >>"$LOG"
}
setup() {
	double_reset
	double_post captcha "{\"secret\":\"$SECRET\"}"
	double_post hooks "{\"secrets\":{\"ts\":\"$HOOK\",\"hc\":\"$HOOK\",\"rc\":\"$HOOK\",\"acc\":\"$HOOK\",\"hn\":\"$HOOK\",\"rv\":\"$HOOK\"}}"
	spool_reset
}
calls() { double_get captcha | jq '.requests | length'; }
last_call() { double_get captcha | jq -c ".requests[-1]$1"; }
hooks() { double_get hooks | jq '.hooks | length'; }
# the identify message of the last webhook delivery, once the spool is drained
last_hook() { fmg drain --now >>"$LOG" 2>&1; double_get hooks | jq -c ".hooks[-1].body$1"; }
# a token that passes: with a score for reCAPTCHA, whose form asks for one
pass() { if [ "$1" = rc ]; then echo "pass-0.8_$2"; else echo "pass_$2"; fi; }
declare -A VERIFIED=([ts]='{"provider":"turnstile","verified":true}'
	[hc]='{"provider":"hcaptcha","verified":true}'
	[rc]='{"provider":"recaptcha","verified":true,"score":0.8}')
waiting() { find "$TEST_SPOOL" -type f -path '*/queue/*' 2>/dev/null | wc -l; }
contacts() { double_get contacts | jq '.contacts | length'; }
CAPTCHA_ERR='{"ok":false,"errors":[{"field":null,"code":"captcha"}]}'

setup
for f in ts hc rc; do
	tok=$(pass $f ${f}1)
	# ---- a token that passes ------------------------------------------------
	n=$(calls)
	post $f "email=$f%40example.com&first=Ann&${FIELD[$f]}=$tok"
	expect_eq "$f: a passing token: 200" "$CGI_STATUS" 200
	expect_match "$f: delivered" "$CGI_BODY" '^\{"ok":true,"id":"'
	expect_eq "$f: one siteverify call" "$(calls)" $((n + 1))
	expect_eq "$f: to its provider's stand-in" "$(last_call .provider)" "\"${PROVIDER[$f]}\""
	expect_eq "$f: form-encoded" "$(last_call .content_type)" '"application/x-www-form-urlencoded"'
	expect_eq "$f: the secret sent and right" "$(last_call .secret_ok)" true
	expect_eq "$f: the token sent" "$(last_call .token)" "\"$tok\""
	expect_eq "$f: remoteip is the visitor's address" "$(last_call .remoteip)" '"198.51.100.23"'
	expect_eq "$f: the message says verified" "$(last_hook .context.captcha)" "${VERIFIED[$f]}"
	expect_no_match "$f: the token is in no trait" "$(last_hook .traits)" "$tok|response"
	expect_no_match "$f: nor anywhere in the message" "$(double_get hooks | jq -r '.hooks[-1].raw')" "$tok"
	expect_match "$f: logged captcha=ok" "$CGI_ERR" "form=$f outcome=delivered status=200 .* captcha=ok"
	expect_no_match "$f: the log has no token" "$CGI_ERR" "$tok"
	expect_eq "$f: the contact holds no token" "$(double_get contacts | grep -c "$tok")" 0

	# ---- the same token again: the provider's timeout-or-duplicate ------------
	n=$(calls) h=$(hooks) w=$(waiting)
	post $f "email=$f%40example.com&${FIELD[$f]}=$tok"
	expect_eq "$f: a reused token: 422" "$CGI_STATUS" 422
	expect_eq "$f: the captcha error" "$CGI_BODY" "$CAPTCHA_ERR"
	expect_eq "$f: verified once more" "$(calls)" $((n + 1))
	expect_eq "$f: nothing delivered or kept for a destination" "$(hooks) $(waiting)" "$h $w"
	expect_match "$f: logged rejected, with the provider's code" "$CGI_ERR" \
		"outcome=invalid status=422 .*id=- .*error=captcha .*codes=timeout-or-duplicate.* captcha=rejected"

	# ---- a token the provider refuses ---------------------------------------
	post $f "email=$f%40example.com&${FIELD[$f]}=fail_$f"
	expect_eq "$f: a refused token: 422 captcha" "$CGI_STATUS $CGI_BODY" "422 $CAPTCHA_ERR"
	expect_eq "$f: the provider asked" "$(last_call .token)" "\"fail_$f\""

	# ---- no token, an empty one, two: refused without a call --------------------
	n=$(calls)
	for b in "email=$f%40example.com" "email=$f%40example.com&${FIELD[$f]}=" \
	         "email=$f%40example.com&${FIELD[$f]}=pass_a$f&${FIELD[$f]}=pass_b$f"; do
		post $f "$b"
		expect_eq "$f [$b]: 422 captcha" "$CGI_STATUS $CGI_BODY" "422 $CAPTCHA_ERR"
	done
	expect_eq "$f: no call for a missing or repeated token" "$(calls)" "$n"
	# the other providers' fields are not this one's
	for g in ts hc rc; do
		[ "${FIELD[$g]}" = "${FIELD[$f]}" ] && continue
		post $f "email=$f%40example.com&${FIELD[$g]}=pass_x$f$g"
		expect_eq "$f: ${FIELD[$g]} is not its token" "$CGI_STATUS" 422
	done
	expect_eq "$f: still no call" "$(calls)" "$n"

	# ---- HTML: to the failure URL with error=captcha ------------------------------
	cgi "email=$f%40example.com" PATH_INFO="/$f" \
		FMGATE_CAPTCHA_URL="$FMDOUBLE_URL/_captcha/${PROVIDER[$f]}"
	expect_eq "$f html: 303" "$CGI_STATUS" 303
	expect_match "$f html: to the failure URL, error=captcha" "$(header Location)" \
		"^$FAIL\\?error=captcha(&|$)"
	expect_no_match "$f html: no field named" "$(header Location)" 'field='

	# without a failure URL: the 422 page names the problem
	sed "s| failure=\"$FAIL\"||" "$MAPPING" >"$W/nofail.xml"
	cgi "email=$f%40example.com" PATH_INFO="/$f" \
		FMGATE_CONFIG="$W/nofail.xml" FMGATE_CAPTCHA_URL="$FMDOUBLE_URL/_captcha/${PROVIDER[$f]}"
	expect_eq "$f html, no failure URL: 422" "$CGI_STATUS" 422
	expect_match "$f html, no failure URL: the page says captcha" "$CGI_BODY" '<li>captcha</li>'

	# ---- field errors and the honeypot spend no token -----------------------------
	n=$(calls)
	post $f "first=NoEmail&${FIELD[$f]}=$(pass $f fe$f)"
	expect_eq "$f: a field error first" "$CGI_STATUS $CGI_BODY" \
		'422 {"ok":false,"errors":[{"field":"email","code":"missing_email"}]}'
	post $f "email=bot%40example.com&website=spam&${FIELD[$f]}=$(pass $f hp$f)"
	expect_eq "$f: the honeypot's fake success" "$CGI_STATUS" 200
	expect_match "$f: logged as honeypot" "$CGI_ERR" 'outcome=honeypot'
	expect_eq "$f: neither calls siteverify" "$(calls)" "$n"
	post $f "email=$f%40example.com&${FIELD[$f]}=$(pass $f fe$f)"
	expect_eq "$f: the token kept by the field error still passes" "$CGI_STATUS" 200
done

# ---- scores ---------------------------------------------------------------------------
post rc "email=low%40example.com&g-recaptcha-response=pass-0.3_a"
expect_eq "rc: a score under min-score: 422 captcha" "$CGI_STATUS $CGI_BODY" "422 $CAPTCHA_ERR"
expect_match "rc: logged with the score" "$CGI_ERR" 'score 0\.30 under min-score 0\.50.* captcha=rejected'
post rc "email=edge%40example.com&g-recaptcha-response=pass-0.5_b"
expect_eq "rc: a score of exactly min-score passes" "$CGI_STATUS" 200
post rc "email=hi%40example.com&g-recaptcha-response=pass-0.9_c"
expect_eq "rc: a high score passes" "$CGI_STATUS" 200
expect_eq "rc: the score in context.captcha" "$(last_hook .context.captcha)" \
	'{"provider":"recaptcha","verified":true,"score":0.9}'
post rc "email=v2%40example.com&g-recaptcha-response=pass_v2"
expect_eq "rc: no score but a min-score (a v2 key): refused" "$CGI_STATUS $CGI_BODY" "422 $CAPTCHA_ERR"
post hc "email=hcs%40example.com&h-captcha-response=pass-0.2_e"
expect_eq "hc: no min-score: any score passes" "$CGI_STATUS" 200
expect_eq "hc: its (risk) score kept as given" "$(last_hook .context.captcha.score)" 0.2

# ---- the answer's hostname and action against the form's -------------------------------------
# hn (Turnstile) and rv (reCAPTCHA v3) name hostname and action; ts names neither.
setup
i=0
answer() {  # answer HOSTNAME ACTION (JSON values): what the stand-ins' successes say
	double_post captcha "{\"hostname\":$1,\"action\":$2}"
}
try() {  # try FORM: a fresh passing token (with a score) to FORM
	i=$((i + 1))
	post $1 "email=m$i%40example.com&${FIELD[$1]}=pass-0.9_m$i"
}
answer '"www.example.com"' '"signup"'
for f in hn rv; do
	try $f
	expect_eq "$f: hostname and action as named: 200" "$CGI_STATUS" 200
	expect_match "$f: logged captcha=ok" "$CGI_ERR" 'outcome=delivered .* captcha=ok'
done
answer '"example.org"' '"signup"'
try hn
expect_eq "hn: the second host name (written Example.ORG): 200" "$CGI_STATUS" 200
try rv
expect_eq "rv: a host name another form names: 422 captcha" "$CGI_STATUS $CGI_BODY" "422 $CAPTCHA_ERR"
answer '"evil.example"' '"signup"'
for f in hn rv; do
	n=$(calls) c=$(contacts)
	try $f
	expect_eq "$f: another site's hostname: 422 captcha" "$CGI_STATUS $CGI_BODY" "422 $CAPTCHA_ERR"
	expect_eq "$f: asked once, no contact written" "$(calls) $(contacts)" "$((n + 1)) $c"
	expect_match "$f: logged with the hostname" "$CGI_ERR" \
		'outcome=invalid .*why="hostname evil\.example not in the form.s".* captcha=rejected'
done
answer '"www.example.com"' '"login"'
for f in hn rv; do
	try $f
	expect_eq "$f: another action: 422 captcha" "$CGI_STATUS $CGI_BODY" "422 $CAPTCHA_ERR"
	expect_match "$f: logged with the action" "$CGI_ERR" 'why="action login is not signup"'
done
answer null '"signup"'
for f in hn rv; do
	try $f
	expect_eq "$f: no hostname in the answer: 422 captcha" "$CGI_STATUS $CGI_BODY" "422 $CAPTCHA_ERR"
	expect_match "$f: logged" "$CGI_ERR" 'why="hostname - not in the form.s"'
done
answer '"www.example.com"' null
for f in hn rv; do
	try $f
	expect_eq "$f: no action in the answer: 422 captcha" "$CGI_STATUS $CGI_BODY" "422 $CAPTCHA_ERR"
	expect_match "$f: logged" "$CGI_ERR" 'why="action - is not signup"'
done
answer '"evil.example"' '"login"'
for f in ts rc; do
	try $f
	expect_eq "$f: names neither: not compared, 200" "$CGI_STATUS" 200
done
answer null null
for f in ts rc; do
	try $f
	expect_eq "$f: names neither, the answer neither: 200" "$CGI_STATUS" 200
done

# ---- fmgate unable to deliver (a CRM address it refuses): 503 without a call ------------------
# Tokens are single-use: one spent on a post refused anyway is lost to the visitor.
setup
for f in ts acc; do
	n=$(calls)
	post $f "email=nr%40example.com&cf-turnstile-response=pass_nr$f" \
		FM_API_BASE=http://crm.example.com/crm/sales/api
	expect_eq "$f, not configured: 503" "$CGI_STATUS $CGI_BODY" '503 {"ok":false,"error":"unavailable"}'
	expect_match "$f, not configured: logged" "$CGI_ERR" 'outcome=unavailable status=503 .*not-configured'
	expect_eq "$f, not configured: no siteverify call" "$(calls)" "$n"
	post $f "email=nr%40example.com&cf-turnstile-response=pass_nr$f"
	expect_eq "$f: the unspent token passes once fmgate can deliver" "$CGI_STATUS" 200
done

# ---- the provider unavailable: refuse (503) or accept unverified ------------------------------
for mode in down 500 garbage slow; do
	setup
	double_post captcha "{\"mode\":\"$mode\"}"
	for f in ts acc; do
		start=$(date +%s)
		post $f "email=$mode%40example.com&cf-turnstile-response=pass_$mode$f"
		took=$(($(date +%s) - start))
		if [ $f = ts ]; then
			expect_eq "$mode: 503" "$CGI_STATUS" 503
			expect_eq "$mode: unavailable" "$CGI_BODY" '{"ok":false,"error":"unavailable"}'
			expect_eq "$mode: Retry-After" "$(header Retry-After)" 60
			expect_eq "$mode: nothing delivered" "$(contacts)" 0
			expect_match "$mode: logged" "$CGI_ERR" 'outcome=unavailable status=503 .* captcha=unavailable'
			expect_eq "$mode: nothing spooled" "$(waiting)" 0
		else
			expect_eq "$mode, accept: delivered" "$CGI_STATUS" 200
			expect_eq "$mode, accept: the message says unverified" "$(last_hook .context.captcha)" \
				'{"provider":"turnstile","verified":false}'
			expect_match "$mode, accept: logged" "$CGI_ERR" 'outcome=delivered .* captcha=unavailable'
			expect_match "$mode, accept: warned" "$CGI_ERR" 'warning: form=acc captcha unavailable'
		fi
		[ $mode = slow ] && check "slow: given up after about 5 s ($took s)" test "$took" -ge 4 -a "$took" -le 8
	done
done

# the provider refuses the secret: the operator's mistake, not the visitor's
setup
double_post captcha '{"secret":"another-secret"}'
post ts "email=sec%40example.com&cf-turnstile-response=pass_sec"
expect_eq "a refused secret: 503" "$CGI_STATUS $CGI_BODY" '503 {"ok":false,"error":"unavailable"}'
expect_match "a refused secret: said in the log" "$CGI_ERR" \
	"error: captcha: turnstile refused the secret of secret-file $W/secret"

# ---- async: nothing spooled before the verdict; the spooled message's context -----------------
setup
MAPPING="$W/async.xml"
post hc "email=q%40example.com&h-captcha-response=fail_q"
expect_eq "async, refused: 422" "$CGI_STATUS" 422
expect_eq "async, refused: nothing spooled" "$(waiting)" 0
double_post captcha '{"mode":"down"}'
post hc "email=q%40example.com&h-captcha-response=pass_q1"
expect_eq "async, unavailable: 503" "$CGI_STATUS" 503
expect_eq "async, unavailable: nothing spooled" "$(waiting)" 0
double_post captcha '{"mode":"normal"}'
post hc "email=q%40example.com&h-captcha-response=pass_q2"
expect_eq "async, verified: 200" "$CGI_STATUS" 200
check "async, verified: spooled" test "$(waiting)" -gt 0
file=$(grep -l '"captcha"' $(find "$TEST_SPOOL" -type f -path '*/queue/*') | head -n 1)
expect_eq "async: the spooled context.captcha" "$(jq -c .identify.context.captcha "$file")" \
	'{"provider":"hcaptcha","verified":true}'
check "async: no token in the spool" bash -c '! grep -rq pass_q "$1"' _ "$TEST_SPOOL"
check "async: no secret in the spool" bash -c '! grep -rqF "$2" "$1"' _ "$TEST_SPOOL" "$SECRET"
MAPPING="$W/sync.xml"

# ---- FMGATE_CAPTCHA_URL: loopback only --------------------------------------------------------
# An unusable one is ignored: the call goes to the provider, here through a
# proxy that is not there, so no test ever reaches the real service.
setup
port=$(free_port)
for u in "http://example.com/_captcha/turnstile" "https://192.0.2.1/siteverify" \
         "ftp://127.0.0.1/x" "http://127.0.0.1.example.com/x" "http://user@127.0.0.1:1/x"; do
	n=$(calls)
	cgi "email=env%40example.com&cf-turnstile-response=pass_env" PATH_INFO=/ts \
		HTTP_ACCEPT=application/json FMGATE_CAPTCHA_URL="$u" https_proxy="http://127.0.0.1:$port" \
		HTTPS_PROXY="http://127.0.0.1:$port"
	expect_eq "[$u]: ignored, so unavailable" "$CGI_STATUS" 503
	expect_match "[$u]: said" "$CGI_ERR" 'error: FMGATE_CAPTCHA_URL ignored: it must be an http or https URL to a loopback host'
	expect_eq "[$u]: not called" "$(calls)" "$n"
done
post ts "email=env%40example.com&cf-turnstile-response=pass_env" \
	FMGATE_CAPTCHA_URL="http://localhost:${FMDOUBLE_URL##*:}/_captcha/turnstile"
expect_eq "localhost is loopback" "$CGI_STATUS" 200
expect_no_match "no complaint then" "$CGI_ERR" 'FMGATE_CAPTCHA_URL'

# ---- FastCGI: a sandboxed worker of `fmgate serve` makes the call too -------------------------
setup
port=$(free_port)
mkdir -p "$W/fspool"
FMGATE_CONFIG="$MAPPING" FMGATE_SPOOL="$W/fspool" FM_API_BASE="$FMDOUBLE_URL/crm/sales/api" \
	FM_API_KEY="$FMDOUBLE_KEY" FMGATE_CAPTCHA_URL="$FMDOUBLE_URL/_captcha/recaptcha" \
	$FMGATE_WRAP "$FMGATE_BIN" serve --listen "127.0.0.1:$port" --workers 1 2>"$W/serve.log" &
SERVE_PID=$!
check "serve listens" wait_for bash -c "exec 3<>/dev/tcp/127.0.0.1/$port"
fcgi() {
	printf '%s' "$1" | env -i PATH="$PATH" REQUEST_METHOD=POST HTTP_ACCEPT=application/json \
		CONTENT_TYPE=application/x-www-form-urlencoded CONTENT_LENGTH=${#1} \
		PATH_INFO=/rc REMOTE_ADDR=192.0.2.44 SCRIPT_NAME=/forms \
		cgi-fcgi -bind -connect "127.0.0.1:$port" | tr -d '\r'
}
out=$(fcgi "email=f%40example.com&g-recaptcha-response=pass-0.9_fcgi")
expect_match "fcgi: verified and delivered" "$out" '"ok":true'
expect_eq "fcgi: the call made, with the address" "$(last_call .remoteip)" '"192.0.2.44"'
out=$(fcgi "email=f%40example.com&g-recaptcha-response=pass-0.9_fcgi")
expect_match "fcgi: a reused token refused" "$out" '"code":"captcha"'
kill -TERM "$SERVE_PID"; wait "$SERVE_PID"
SERVE_PID=
expect_no_match "fcgi: no token in the log" "$(cat "$W/serve.log")" 'pass-0\.9_fcgi'

# ---- never the secret, never a token ------------------------------------------------------------
check "the secret is in no answer and no log line" bash -c '! grep -qF "$2" "$1"' _ "$LOG" "$SECRET"
check "no passing token in any log line" bash -c '! grep -E "fmgate\[.*pass_" "$1"' _ "$LOG"
expect_no_match "the secret reached no webhook" "$(double_get hooks)" "$SECRET"

# ---- check ---------------------------------------------------------------------------------
chk() {  # chk NAME XML: `check` of a mapping with that form; sets out, rc
	printf '<fmgate>\n%s\n</fmgate>\n' "$2" >"$W/$1.xml"
	out=$("$FMGATE_BIN" check "$W/$1.xml" 2>&1); rc=$?
	printf '%s\n' "$out" >>"$W/check.out"
}
plain='<form id="f">
<redirect success="/t"/>
<user-id><from-email/></user-id>
<field name="email" trait="email" type="email"/>'
chk good "$plain
<captcha provider=\"hcaptcha\" secret-file=\"$W/secret\" on-unavailable=\"refuse\"/>
</form>"
expect_eq "check: a private secret file" "$rc" 0
cp "$W/secret" "$W/shared"
for mode in 640 604 602 620; do
	chmod $mode "$W/shared"
	chk shared "$plain
<captcha provider=\"turnstile\" secret-file=\"$W/shared\"/>
</form>"
	expect_eq "check: secret file mode $mode exits 1" "$rc" 1
	expect_match "check: mode $mode, with the line" "$out" \
		"^$W/shared.xml:6: captcha: secret-file $W/shared: .*(group or others)"
done
: >"$W/empty"; chmod 600 "$W/empty"
chk empty "$plain
<captcha provider=\"turnstile\" secret-file=\"$W/empty\"/>
</form>"
expect_match "check: an empty secret file" "$rc $out" "^1 .*$W/empty.xml:6: captcha: secret-file"
chk relative "$plain
<captcha provider=\"turnstile\" secret-file=\"secret\"/>
</form>"
expect_match "check: a relative secret path" "$rc $out" "^1 .*:6: captcha: secret-file must be an absolute path"
chk missing "$plain
<captcha provider=\"turnstile\" secret-file=\"$W/nope\"/>
</form>"
expect_match "check: a missing secret file" "$rc $out" "^1 .*:6: captcha: secret-file $W/nope"
for p in turnstile hcaptcha recaptcha; do
	tf=${FIELD[ts]}; [ $p = hcaptcha ] && tf=${FIELD[hc]}; [ $p = recaptcha ] && tf=${FIELD[rc]}
	chk mapped "$plain
<field name=\"$tf\" trait=\"token\"/>
<captcha provider=\"$p\" secret-file=\"$W/secret\"/>
</form>"
	expect_match "check: $p's token mapped as a field" "$rc $out" \
		"^1 .*:6: field \"$tf\" holds the $p token: it is read by fmgate, never mapped"
done
chk uid '<form id="f">
<redirect success="/t"/>
<user-id><from-field name="g-recaptcha-response"/></user-id>
<field name="email" trait="email" type="email"/>
<captcha provider="recaptcha" secret-file="'"$W"'/secret"/>
</form>'
expect_match "check: the token as a userId source" "$rc $out" \
	'^1 .*:2: from-field "g-recaptcha-response" is the recaptcha token field'
chk hp "$plain
<honeypot field=\"h-captcha-response\"/>
<captcha provider=\"hcaptcha\" secret-file=\"$W/secret\"/>
</form>"
expect_match "check: the token as the honeypot" "$rc $out" '^1 .*honeypot "h-captcha-response" is the hcaptcha token field'
chk other "$plain
<field name=\"h-captcha-response\" trait=\"hc\"/>
<captcha provider=\"turnstile\" secret-file=\"$W/secret\"/>
</form>"
expect_eq "check: another provider's field may be mapped" "$rc" 0
for p in turnstile hcaptcha; do
	chk score "$plain
<captcha provider=\"$p\" secret-file=\"$W/secret\" min-score=\"0.5\"/>
</form>"
	expect_match "check: min-score with $p" "$rc $out" \
		"^1 .*:6: captcha: min-score is for provider=\"recaptcha\" \\(v3\\) only: $p returns no score"
done
for s in 1.5 -0.1 0.1234567 .5 abc 1.01; do
	chk score "$plain
<captcha provider=\"recaptcha\" secret-file=\"$W/secret\" min-score=\"$s\"/>
</form>"
	expect_match "check: min-score $s" "$rc $out" "^1 .*score.xml:6:"
done
for s in 0 1 0.5 1.0 0.123456; do
	chk score "$plain
<captcha provider=\"recaptcha\" secret-file=\"$W/secret\" min-score=\"$s\"/>
</form>"
	expect_eq "check: min-score $s is fine" "$rc" 0
done
chk twice "$plain
<captcha provider=\"recaptcha\" secret-file=\"$W/secret\"/>
<captcha provider=\"hcaptcha\" secret-file=\"$W/secret\"/>
</form>"
expect_match "check: two <captcha>" "$rc $out" '^1 .*:7: <captcha> may appear only once in <form>'
chk unknown "$plain
<captcha provider=\"friendly\" secret-file=\"$W/secret\"/>
</form>"
expect_match "check: an unknown provider" "$rc $out" '^1 .*:6:'
# the timeout warning counts a CAPTCHA's 5 s only for a mapping with a <captcha>
edge='<settings><delivery timeout-ms="30000"/><limits read-timeout-ms="5001"/></settings>'
chk slow "$edge
$plain
<captcha provider=\"turnstile\" secret-file=\"$W/secret\"/>
</form>"
expect_match "check: 40001 ms with a <captcha>: Apache warned of" "$rc $out" \
	"^0 .*warning: a post may take 40001 ms \\(read-timeout-ms 5001 \\+ timeout-ms 30000 \\+ 5000 for the CAPTCHA check of form f\\), longer than Apache"
chk fast "$edge
$plain
</form>"
expect_eq "check: the same without one: 35001 ms, no warning" "$rc $out" "0 $W/fast.xml: valid, 1 form"
expect_no_match "check never prints the secret" "$(cat "$W/check.out")" "$SECRET"
done_testing
