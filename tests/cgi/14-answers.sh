#!/bin/bash
# The answers to refusals (docs/behaviour.md). For an HTML client, every refusal
# of a post to a form with a failure URL is a 303 there with error=CODE (and
# Retry-After for 429 and 503); field errors add field= (the first) and
# errors= (all, CODE:FIELD with the field name percent-encoded, the list
# encoded again, cut at the URL limit). Without a failure URL the status and a
# page; JSON clients get the status and {"ok":false,...}. 403 (a foreign
# origin), 404 and 405 are never redirected. No submitted value ever reaches a
# Location.
. "$(dirname "$0")/../lib.sh"
tmp=$(mktemp -d /tmp/fmgate-answers.XXXXXX)
double_start || exit 1
writer=
trap 'kill $writer 2>/dev/null; double_stop; rm -rf "$tmp"' EXIT
double_reset
MAPPING=$tmp/forms.xml
# The odd field name: , : & # and a non-ASCII letter, all of which must
# survive the errors list.
ODD='a,b:c&d#e é'
cat >"$MAPPING" <<'XML'
<fmgate>
  <settings>
    <delivery mode="sync" timeout-ms="2000"/>
    <limits max-body="4096" max-fields="20" max-value="200" read-timeout-ms="500"/>
    <rate-limit/> <!-- many posts from one address; two forms set their own -->
  </settings>
  <form id="contact">
    <redirect success="https://www.example.com/thanks.html"
              failure="https://www.example.com/contact.html?lang=en&amp;x=1#form"/>
    <allow-origin>https://www.example.com</allow-origin>
    <user-id><from-email/></user-id>
    <field name="email" trait="email" type="email" required="true"/>
    <field name="a,b:c&amp;d#e é" trait="Odd" required="true"/>
    <field name="size" trait="Employees" type="number"/>
  </form>
  <form id="plain">
    <redirect success="https://www.example.com/thanks.html"/>
    <allow-origin>https://www.example.com</allow-origin>
    <user-id><from-email/></user-id>
    <field name="email" trait="email" type="email" required="true"/>
    <field name="a,b:c&amp;d#e é" trait="Odd" required="true"/>
    <field name="size" trait="Employees" type="number"/>
  </form>
  <form id="limited">
    <redirect success="https://www.example.com/thanks.html"
              failure="https://www.example.com/limited.html"/>
    <rate-limit per-ip="1" window="3600"/>
    <user-id><from-email/></user-id>
    <field name="email" trait="email" type="email" required="true"/>
  </form>
  <form id="limited-plain">
    <redirect success="https://www.example.com/thanks.html"/>
    <rate-limit per-ip="1" window="3600"/>
    <user-id><from-email/></user-id>
    <field name="email" trait="email" type="email" required="true"/>
  </form>
  <form id="many">
    <redirect success="/thanks.html" failure="/many-failed.html#top"/>
    <user-id><from-email/></user-id>
    <field name="email" trait="email" type="email"/>
  </form>
</fmgate>
XML
FAIL="https://www.example.com/contact.html?lang=en&x=1"
ODDENC=$(printf '%s' "$ODD" | jq -sRr @uri)
OKB="email=ann%40example.com&$ODDENC=fine"
check "the mapping is valid" "$FMGATE_BIN" check "$MAPPING" >/dev/null
# Every Location of the suite, searched at the end for submitted values.
LOCS=
eval "lib_$(declare -f cgi)"
cgi() { lib_cgi "$@"; LOCS+="$(header Location)"$'\n'; }

# The errors parameter of a Location, read as docs/behaviour.md's JavaScript
# does (URLSearchParams, split on ",", the field decoded once more), one
# "CODE|FIELD" line per entry (FIELD "-" when there is none).
errors_of() {
	/usr/bin/python3 -c '
import sys, urllib.parse as u
q = u.parse_qs(u.urlsplit(sys.argv[1]).query, keep_blank_values=True)
for e in (q["errors"][0].split(",") if "errors" in q else []):
    c, s, f = e.partition(":")
    print(c + "|" + (u.unquote(f, errors="strict") if s else "-"))
' "$1"
}

# kind DESC STATUS CODE BODY [VAR=VALUE...]: one refusal, three ways: an HTML
# client of the form with a failure URL (a 303 there, nothing else in it), of
# the form without one (the status and a page) and a JSON client (the status
# and the code).
kind() {
	local desc=$1 status=$2 code=$3 body=$4
	shift 4
	cgi "$body" "$@"
	expect_eq "$desc, HTML: 303 to the failure URL" "$CGI_STATUS $(header Location)" \
		"303 $FAIL&error=$code#form"
	expect_eq "$desc, HTML: no body" "$CGI_BODY" ""
	cgi "$body" PATH_INFO=/plain "$@"
	expect_eq "$desc, no failure URL: $status" "$CGI_STATUS" "$status"
	expect_eq "$desc, no failure URL: no Location" "$(header Location)" ""
	expect_match "$desc, no failure URL: an HTML page" "$(header Content-Type)" '^text/html'
	cgi "$body" HTTP_ACCEPT=application/json "$@"
	expect_eq "$desc, JSON: $status and the code" "$CGI_STATUS $CGI_BODY" \
		"$status {\"ok\":false,\"error\":\"$code\"}"
	expect_eq "$desc, JSON: no Location" "$(header Location)" ""
}

big=$(head -c 5000 /dev/zero | tr '\0' 'v')
kind "body over max-body" 413 body_too_large "$OKB&x=$big"
kind "CONTENT_LENGTH over max-body" 413 body_too_large "$OKB" CONTENT_LENGTH=999999
kind "more than max-fields" 413 too_many_fields "$(for i in $(seq 21); do printf 'f%d=SECRETVALUE&' "$i"; done)$OKB"
kind "a JSON body" 415 unsupported_media_type '{"email":"ann@example.com"}' CONTENT_TYPE=application/json
kind "a file part" 415 file_upload \
	"$(printf -- '--B\r\nContent-Disposition: form-data; name="cv"; filename="SECRETVALUE.pdf"\r\n\r\nx\r\n--B--\r\n')" \
	CONTENT_TYPE='multipart/form-data; boundary=B'
kind "bad percent-encoding" 400 malformed_body "$OKB&first=SECRETVALUE%zz"
kind "a short body" 400 malformed_body "$OKB" CONTENT_LENGTH=3000
kind "delivery not configured" 503 unavailable "$OKB" FM_API_BASE=http://crm.example.com/crm/sales/api
expect_eq "not configured: Retry-After on the JSON answer" "$(header Retry-After)" 60
cgi "$OKB" FM_API_BASE=http://crm.example.com/crm/sales/api
expect_eq "not configured: Retry-After on the 303" "$(header Retry-After)" 60
expect_match "not configured: the log's words unchanged" "$CGI_ERR" 'outcome=unavailable status=303 .*reason=not-configured'
expect_eq "no refusal reached Freshmarketer" "$(double_upserts)" 0

# The CRM down and the spool unusable: nothing kept, so 503 (never a success).
double_post fault '{"kind":"status","status":503,"count":-1}'
kind "CRM down, spool unusable" 503 unavailable "$OKB" FMGATE_SPOOL="$tmp/nowhere/spool"
expect_eq "CRM down, spool unusable: Retry-After" "$(header Retry-After)" 60
double_post fault '{"kind":"clear"}'

# A final refusal by the CRM: rejected, a field-less field error.
double_post fault '{"kind":"status","status":422,"count":1,"path":"/contacts/upsert"}'
cgi "email=rej%40example.com&$ODDENC=SECRETVALUE"
expect_eq "CRM rejects: 303 with error and errors" "$CGI_STATUS $(header Location)" \
	"303 $FAIL&error=rejected&errors=rejected#form"
double_post fault '{"kind":"status","status":422,"count":1,"path":"/contacts/upsert"}'
cgi "email=rej%40example.com&$ODDENC=SECRETVALUE" HTTP_ACCEPT=application/json
expect_eq "CRM rejects, JSON: 422 with the error" "$CGI_STATUS $CGI_BODY" \
	'422 {"ok":false,"errors":[{"field":null,"code":"rejected"}]}'

# The rate limit: the second post of a client in the window; Retry-After kept.
for f in limited limited-plain; do cgi "email=r1%40example.com" PATH_INFO=/$f; done
cgi "email=r2%40example.com" PATH_INFO=/limited
expect_eq "rate limited, HTML: 303 to the failure URL" "$CGI_STATUS $(header Location)" \
	"303 https://www.example.com/limited.html?error=rate_limited"
expect_match "rate limited, HTML: Retry-After on the 303" "$(header Retry-After)" '^[1-9][0-9]*$'
expect_match "rate limited: the log's words unchanged" "$CGI_ERR" 'outcome=rate_limited status=303 .*retry_after='
cgi "email=r2%40example.com" PATH_INFO=/limited HTTP_ACCEPT=application/json
expect_eq "rate limited, JSON: 429" "$CGI_STATUS $CGI_BODY" '429 {"ok":false,"error":"rate_limited"}'
expect_match "rate limited, JSON: Retry-After" "$(header Retry-After)" '^[1-9][0-9]*$'
cgi "email=r2%40example.com" PATH_INFO=/limited-plain
expect_eq "rate limited, no failure URL: 429" "$CGI_STATUS $(header Location)" "429 "
expect_match "rate limited, no failure URL: Retry-After" "$(header Retry-After)" '^[1-9][0-9]*$'

# A body that stalls: 408 body_timeout after read-timeout-ms (500 ms).
stalled() { # stalled FORM ACCEPT: part of a body, then nothing; sets CGI_HEAD, CGI_STATUS
	local out
	rm -f "$tmp/in"; mkfifo "$tmp/in"
	(printf 'email=slow%%40exa'; exec sleep 5) >"$tmp/in" &
	writer=$!
	out=$(env -i PATH="$PATH" FMGATE_CONFIG="$MAPPING" FMGATE_SPOOL="$tmp/spool" \
		FM_API_BASE="$FMDOUBLE_URL/crm/sales/api" FM_API_KEY="$FMDOUBLE_KEY" \
		REQUEST_METHOD=POST HTTP_ACCEPT="$2" CONTENT_TYPE=application/x-www-form-urlencoded \
		CONTENT_LENGTH=40 PATH_INFO="/$1" REMOTE_ADDR=127.0.0.1 \
		$FMGATE_WRAP "$FMGATE_BIN" <"$tmp/in" 2>/dev/null | tr -d '\r')
	kill "$writer" 2>/dev/null; wait "$writer" 2>/dev/null; writer=
	CGI_HEAD=$(printf '%s\n' "$out" | sed -n '1,/^$/p')
	CGI_STATUS=$(printf '%s\n' "$CGI_HEAD" | sed -n '1s/^Status: \([0-9]*\).*/\1/p')
}
stalled contact text/html
expect_eq "stalled body, HTML: 303 to the failure URL" "$CGI_STATUS $(header Location)" \
	"303 $FAIL&error=body_timeout#form"
stalled plain text/html
expect_eq "stalled body, no failure URL: 408" "$CGI_STATUS $(header Location)" "408 "
stalled contact application/json
expect_eq "stalled body, JSON: 408" "$CGI_STATUS" 408

# Where the request went, not what it held: never redirected.
cgi "$OKB" HTTP_ORIGIN=https://evil.example
expect_eq "foreign origin: 403, no redirect to the form's site" "$CGI_STATUS $(header Location)" "403 "
cgi "$OKB" PATH_INFO=/nosuchform
expect_eq "unknown form: 404, no redirect" "$CGI_STATUS $(header Location)" "404 "
cgi "" REQUEST_METHOD=GET
expect_eq "GET to a form: 405, no redirect" "$CGI_STATUS $(header Location)" "405 "
cgi "" REQUEST_METHOD=GET HTTP_ACCEPT=application/json
expect_eq "GET, JSON: 405" "$CGI_STATUS $CGI_BODY" '405 {"ok":false,"error":"method_not_allowed"}'

# Field errors: the first as error and field, all in errors, in the mapping's
# order (as in JSON); the
# odd field name comes back whole once decoded.
cgi "email=SECRETVALUE&size=SECRETVALUE"
expect_eq "three field errors: 303" "$CGI_STATUS" 303
loc=$(header Location)
expect_eq "three field errors: the Location" "$loc" \
	"$FAIL&error=invalid_email&field=email&errors=invalid_email%3Aemail%2Cmissing_field%3Aa%252Cb%253Ac%2526d%2523e%2520%25C3%25A9%2Cinvalid_value%3Asize#form"
expect_eq "the errors list, decoded" "$(errors_of "$loc")" \
	"$(printf 'invalid_email|email\nmissing_field|%s\ninvalid_value|size' "$ODD")"
expect_match "the failure URL keeps its query and fragment" "$loc" '^https://www\.example\.com/contact\.html\?lang=en&x=1&error=.*#form$'
cgi "email=bob%40example&$ODDENC=SECRETVALUE"
expect_eq "a@b-like email (no dot in the domain): invalid_email" "$(header Location)" \
	"$FAIL&error=invalid_email&field=email&errors=invalid_email%3Aemail#form"
cgi "email=ann%40example.com"
expect_eq "the odd field first: field= encoded once" "$(header Location)" \
	"$FAIL&error=missing_field&field=$ODDENC&errors=missing_field%3A$(printf '%s' "$ODDENC" | jq -sRr @uri)#form"
cgi "email=SECRETVALUE&size=SECRETVALUE" HTTP_ACCEPT=application/json
expect_eq "JSON: every field error, unchanged shape" "$CGI_STATUS $CGI_BODY" \
	"422 $(jq -cn --arg f "$ODD" '{ok:false,errors:[{field:"email",code:"invalid_email"},{field:$f,code:"missing_field"},{field:"size",code:"invalid_value"}]}')"
cgi "email=SECRETVALUE&size=SECRETVALUE" PATH_INFO=/plain
expect_eq "no failure URL: a 422 page" "$CGI_STATUS $(header Location)" "422 "
expect_match "the page lists the errors" "$CGI_BODY" '<li>size: invalid_value</li>'

# Many field errors: those that fit LIMIT_MAX_URL (2048 bytes), in order.
{
	sed -n '1,/<form id="many">/p' "$MAPPING" | sed '$d'
	echo '  <form id="many">'
	echo '    <redirect success="/thanks.html" failure="/many-failed.html#top"/>'
	echo '    <user-id><from-email/></user-id>'
	echo '    <field name="email" trait="email" type="email"/>'
	for i in $(seq -w 1 40); do
		printf '    <field name="f%s_%s" trait="T%s" required="true"/>\n' "$i" "$(printf 'n%.0s' $(seq 60))" "$i"
	done
	echo '  </form>'
	echo '</fmgate>'
} >"$tmp/many.xml"
check "the many-field mapping is valid" "$FMGATE_BIN" check "$tmp/many.xml" >/dev/null
MAPPING=$tmp/many.xml cgi "email=m%40example.com" PATH_INFO=/many
loc=$(header Location)
expect_eq "many errors: 303" "$CGI_STATUS" 303
check "many errors: the URL within 2048 bytes (${#loc})" test "${#loc}" -le 2048
check "many errors: the URL was filled (${#loc})" test "${#loc}" -gt 1900
expect_match "many errors: the first as error and field" "$loc" '^/many-failed\.html\?error=missing_field&field=f01_n+&errors=.*#top$'
n=$(errors_of "$loc" | wc -l)
check "many errors: some left off ($n of 32 reported)" test "$n" -gt 10 -a "$n" -lt 32
expect_eq "many errors: those kept are the first, in order" "$(errors_of "$loc" | cut -d'|' -f2 | cut -c1-3 | tr '\n' ' ')" \
	"$(for i in $(seq -w 1 "$n"); do printf 'f%s ' "$i"; done)"
MAPPING=$tmp/many.xml cgi "email=m%40example.com" PATH_INFO=/many HTTP_ACCEPT=application/json
expect_eq "many errors, JSON: all 32 reported (LIMIT_MAX_ERRORS)" "$(printf '%s' "$CGI_BODY" | jq '.errors | length')" 32

expect_no_match "no submitted value in any Location" "$LOCS" 'SECRETVALUE|fine|(ann|bob|r1|r2|rej|slow)(%40|@)|vvvv'
done_testing
