#!/bin/bash
# Origin and Referer check bypass (a lesson from other form handlers: exact host
# or dot-bounded suffix, never a substring). The contact form allows
# https://www.example.com and https://*.example.org. Each lookalike is a 403
# with no CORS header and nothing sent; the controls (exact, case, default port,
# a subdomain) pass.
. "$(dirname "$0")/common.bash"
double_reset
OKB="email=a%40example.com&uid=u-origin"
MARKS=(evil)

lookalikes=(
	'https://www.example.com.evil.com' 'https://www.example.com.evil.com:443'
	'https://evilwww.example.com' 'https://wwwexample.com' 'https://evil-www.example.com'
	'https://www.example.co' 'https://www.example.comevil.com' 'https://www.example.com.'
	'https://www.example.com..evil.com' 'https://.www.example.com'
	'https://www.example.com@evil.com' 'https://evil.com@www.example.com'
	'https://www.example.com:@evil.com' 'https://user:pass@www.example.com'
	'https://www.example.com%2eevil.com' 'https://www.example.com%40evil.com'
	'https://evil.com/www.example.com' 'https://evil.com?www.example.com' 'https://evil.com#www.example.com'
	'https://evil.com\www.example.com' 'https://www.example.com\@evil.com'
	'https://www.example.com:8443' 'https://www.example.com:443443'
	'https://www.example.com:-443' 'https://www.example.com:' 'https://www.example.com:80'
	'http://www.example.com' 'ftp://www.example.com' 'www.example.com' '//www.example.com'
	'https:www.example.com' 'https:/www.example.com' 'https://'
	'null' 'NULL' 'Null' '' ' ' 'https://www。example.com' 'https://www.exаmple.com'
	'https://example.org' 'https://evilexample.org' 'https://a.evilexample.org'
	'https://example.org.evil.com' 'https://a.example.org.evil.com' 'https://a.example.org.'
	'https://a.example.org:8443' 'http://a.example.org' 'https://*.example.org'
	'https://.example.org' 'https://a.example.org%00.evil.com'
	'https://[::1]' 'https://127.0.0.1' 'https://www.example.com evil'
	$'https://www.example.com\t' $'https://www.example.com\x01'
)
for o in "${lookalikes[@]}"; do
	acgi "Origin [$o]" "$OKB" HTTP_ORIGIN="$o"
	expect_eq "Origin [$o]: 403" "$CGI_STATUS" 403
	expect_eq "Origin [$o]: no CORS header" "$(header Access-Control-Allow-Origin)" ""
	# The preflight is refused the same way.
	acgi "preflight [$o]" "" REQUEST_METHOD=OPTIONS HTTP_ORIGIN="$o" HTTP_ACCESS_CONTROL_REQUEST_METHOD=POST
	expect_eq "preflight from [$o]: 405" "$CGI_STATUS" 405
done
# The Referer is the origin's stand-in when there is no Origin.
for r in 'https://www.example.com.evil.com/contact.html' 'https://evil.com/https://www.example.com/' \
         'https://evil.com/?from=https://www.example.com' 'https://www.example.com@evil.com/' \
         'https://wwwexample.com/' 'https://example.org.evil.com/x' 'http://www.example.com/' \
         'https://www.example.com:8443/' 'https://evil.com\@www.example.com/' 'null' \
         'android-app://www.example.com/' 'https://evil.com#https://www.example.com'; do
	acgi "Referer [$r]" "$OKB" HTTP_REFERER="$r"
	expect_eq "Referer [$r]: 403" "$CGI_STATUS" 403
	expect_eq "Referer [$r]: no CORS header" "$(header Access-Control-Allow-Origin)" ""
done
# Origin decides when both are there; Origin: null is never in the list.
acgi "evil Origin, good Referer" "$OKB" HTTP_ORIGIN=https://evil.com HTTP_REFERER=https://www.example.com/c.html
expect_eq "a lookalike Origin is not rescued by a good Referer" "$CGI_STATUS" 403
acgi "null Origin, good Referer" "$OKB" HTTP_ORIGIN=null HTTP_REFERER=https://www.example.com/c.html
expect_eq "Origin: null is not rescued by a good Referer" "$CGI_STATUS" 403
expect_eq "refused origins sent nothing" "$(double_upserts)" 0

# The controls.
for o in 'https://www.example.com' 'HTTPS://WWW.EXAMPLE.COM' 'https://www.example.com:443' \
         'https://a.example.org' 'https://A.B.Example.Org'; do
	acgi "Origin [$o] allowed" "$OKB" HTTP_ORIGIN="$o"
	expect_delivered "Origin [$o]: accepted"
	expect_match "Origin [$o]: CORS names it" "$(header Access-Control-Allow-Origin)" '^https://(www\.example\.com|a\.example\.org|a\.b\.example\.org)$'
done
acgi "Referer allowed" "$OKB" HTTP_REFERER='https://www.example.com/contact.html?x=https://evil.com'
expect_delivered "a Referer of the site: accepted"
expect_eq "the controls were delivered" "$(double_upserts)" 6
attack_done
