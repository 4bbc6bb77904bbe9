#!/bin/bash
# Header injection and response splitting (a lesson from other form handlers:
# no CR/LF from a request ever reaches a header), and control bytes in log lines
# (escape control characters in log lines; one line per request, no submitted
# values).
# CR, LF and CRLF go into every request value that could reach a header or
# the log: Origin, Referer, _next, cookies, the form id path, other headers,
# field names and values. common.bash checks each raw answer (CRLF-terminated
# printable lines, known headers only) and its log (one clean record); the
# planted header name must come back nowhere, not even escaped in the log.
. "$(dirname "$0")/common.bash"
double_reset
OKB="email=a%40example.com&uid=u-crlf"
SUCCESS="https://www.example.com/thanks.html"
INJ="X-Injected: 1"
MARKS=(X-Injected)
breaks=($'\r\n' $'\n' $'\r' $'\r\n\r\n' $'\x0b' $'\x0c' $'\x85')

n=0
for b in "${breaks[@]}"; do
	n=$((n + 1))
	acgi "Origin $n" "$OKB" HTTP_ORIGIN="https://www.example.com$b$INJ"
	expect_eq "Origin with a line break $n: 403" "$CGI_STATUS" 403
	expect_eq "Origin with a line break $n: no CORS header" "$(header Access-Control-Allow-Origin)" ""
	acgi "Origin path $n" "$OKB" HTTP_ORIGIN="https://a.example.org/$b$INJ"
	expect_eq "Origin with a broken path $n: 403" "$CGI_STATUS" 403
	acgi "preflight $n" "" REQUEST_METHOD=OPTIONS HTTP_ORIGIN="https://www.example.com$b$INJ" \
		HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST$b$INJ"
	expect_eq "preflight with a line break $n: 405" "$CGI_STATUS" 405
	acgi "Referer $n" "$OKB" HTTP_REFERER="https://www.example.com/p$b$INJ"
	expect_eq "Referer with a line break $n: 403" "$CGI_STATUS" 403
	acgi "Referer behind a good Origin $n" "$OKB" HTTP_ORIGIN=https://www.example.com \
		HTTP_REFERER="https://www.example.com/p$b$INJ"
	expect_delivered "good Origin, broken Referer $n: 303"
	expect_eq "good Origin, broken Referer $n: CORS names the origin only" \
		"$(header Access-Control-Allow-Origin)" "https://www.example.com"
	acgi "cookie $n" "email=a%40example.com" HTTP_COOKIE="ajs_user_id=u$b$INJ; ajs_anonymous_id=a$b$INJ"
	acgi "form id in PATH_INFO $n" "$OKB" PATH_INFO="/contact$b$INJ"
	expect_eq "form id with a line break $n: 404" "$CGI_STATUS" 404
	acgi "form id in REQUEST_URI $n" "$OKB" PATH_INFO= REQUEST_URI="/forms/contact$b$INJ"
	expect_eq "REQUEST_URI with a line break $n: 404" "$CGI_STATUS" 404
	acgi "other headers $n" "$OKB" HTTP_USER_AGENT="Mozilla$b$INJ" HTTP_ACCEPT="text/html$b$INJ" \
		REMOTE_ADDR=10.0.0.1 HTTP_X_FORWARDED_FOR="192.0.2.1$b$INJ"
	expect_delivered "line breaks in User-Agent, Accept, X-Forwarded-For $n: 303"
	acgi "content type $n" "$OKB" CONTENT_TYPE="application/x-www-form-urlencoded$b$INJ"
	acgi "multipart boundary $n" "--B--" CONTENT_TYPE="multipart/form-data; boundary=B$b$INJ"
	acgi "method $n" "$OKB" REQUEST_METHOD="POST$b$INJ"
	expect_eq "method with a line break $n: 405" "$CGI_STATUS" 405
done

# Encoded in the body: _next (the only value that may become a header),
# field names and values.
for v in '%0D%0A' '%0A' '%0D' '%0D%0A%0D%0A' '%E5%98%8A%E5%98%8D' '%C2%85' '%E2%80%A8'; do
	for next in "%2Fok$v$INJ" "https%3A%2F%2Fwww.example.com%2F$v$INJ" "%2Fok$v%0D%0A%3Chtml%3E"; do
		acgi "_next $next" "$OKB&_next=${next// /%20}"
		expect_eq "_next $next: 303" "$CGI_STATUS" 303
		expect_eq "_next $next: the success URL" "$(header Location)" "$SUCCESS"
	done
	acgi "value $v" "$OKB&first=Ann${v}X-Injected%3A+1&last=${v}X-Injected"
	acgi "name $v" "$OKB&${v}X-Injected%3A+1=1"
	acgi "failure redirect $v" "uid=u-1&first=${v}X-Injected"
	expect_eq "refusal with line breaks in values: the failure URL as is" "$(header Location)" \
		"https://www.example.com/contact.html?error=missing_email&field=email&errors=missing_email%3Aemail"
done

# Upstream too: the API requests carry no planted header.
expect_eq "no planted header reached Freshmarketer" \
	"$(double_get requests | jq '[.requests[] | select(.headers | has("x-injected"))] | length')" 0
expect_eq "posts were delivered all the same" "$(double_contact u-crlf emails)" "a@example.com"

# A log line per request, escaped, whatever the request held: an ANSI escape,
# NUL-free control bytes everywhere a header can carry them.
acgi "control bytes everywhere" "$OKB&first=%1B%5B31mX-Injected%07" \
	HTTP_USER_AGENT=$'\e[2J\e[31mX-Injected\a' HTTP_REFERER=$'https://www.example.com/\e[31m' \
	HTTP_COOKIE=$'ajs_anonymous_id=\e[31mX-Injected'
attack_done
