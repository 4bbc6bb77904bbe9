#!/bin/bash
# Open redirect through `_next` (a lesson from other form handlers: only
# configured targets or same-origin paths; check scheme, //, \ and host after
# decoding). Every hostile target must leave the form's own success URL in
# Location; the allowed ones (a path, an origin of the allow list) prove `_next`
# is read at all.
. "$(dirname "$0")/common.bash"
double_reset
OKB="email=a%40example.com&uid=u-redirect"
SUCCESS="https://www.example.com/thanks.html"
MARKS=(evil)   # every hostile host below has it; it must never come back
enc() { printf '%s' "$1" | jq -sRr @uri; }

# Decoded values (encoded here, so the check must hold after decoding).
hostile=(
	'//evil.com' '//evil.com/x' '///evil.com' '////evil.com'
	'/\evil.com' '/\/evil.com' '\\evil.com' '\/evil.com' '\evil.com'
	$'/\t/evil.com' $'/\n/evil.com' $'/\r\n/evil.com' $'/ /evil.com'
	' //evil.com' $'\t//evil.com' $'\n//evil.com'
	'https://evil.com' 'http://evil.com/' 'HTTPS://EVIL.COM/' 'hTtPs://evil.com'
	'https:evil.com' 'https:/evil.com' 'https:\\evil.com' 'https:/\evil.com' '//\evil.com'
	'https://www.example.com@evil.com' 'https://www.example.com:@evil.com/'
	'https://www.example.com%40evil.com' 'https://evil.com@www.example.com/'
	'https://evil.com\@www.example.com/' 'https://evil.com#@www.example.com'
	'https://evil.com?@www.example.com' 'https://evil.com/https://www.example.com/'
	'https://www.example.com.evil.com/' 'https://www.example.com.evil.com.'
	'https://evilexample.com/' 'https://wwwexample.com.evil/' 'https://example.org.evil.com/'
	'https://www.example.org.evil.com/' 'https://evil.example.org.evil.com/'
	'https://www.example.com:443.evil.com/' 'https://www.example.com%2Eevil.com/'
	'https://www.example.com。evil.com/' 'https://evil。com/'
	$'https://www.example.com\t.evil.com/' $'https://evil.com\t'
	'http://www.example.com/evil' 'https://www.example.com:8443/evil' 'https://example.org/evil'
	'https://[::1]/evil' 'https://127.0.0.1/evil' 'ftp://www.example.com/evil'
	'javascript:alert("evil")' 'JavaScript:alert("evil")' 'JAVASCRIPT:alert("evil")'
	' javascript:alert("evil")' $'java\tscript:alert("evil")' $'javascript\n:alert("evil")'
	'javascript://www.example.com/%0Aalert("evil")' 'javascript://%0Aalert("evil")'
	'data:text/html,<script>alert("evil")</script>'
	'DATA:text/html;base64,PHNjcmlwdD5hbGVydCgiZXZpbCIpPC9zY3JpcHQ+'
	'vbscript:msgbox("evil")' 'evil.com' 'evil.com/x'
	'%2F%2Fevil.com' '%5C%5Cevil.com' '∕∕evil.com' '／／evil.com' '/／evil.com'
)
for v in "${hostile[@]}"; do
	acgi "_next [$v]" "$OKB&_next=$(enc "$v")"
	expect_eq "_next [$v]: 303" "$CGI_STATUS" 303
	expect_eq "_next [$v]: the form's success URL" "$(header Location)" "$SUCCESS"
done

# Encodings written by hand: they decode to the hostile forms above.
for raw in '%2F%2Fevil.com' '%2f%2fevil.com' '%2F/evil.com' '/%2Fevil.com' '/%5Cevil.com' \
           '%5C%5Cevil.com' '%2F%09%2Fevil.com' '/%0D%0A/evil.com' '+//evil.com' \
           '%252F%252Fevil.com' '%E2%88%95%E2%88%95evil.com' 'https%3A%2F%2Fevil.com' \
           'https:%2F%2Fevil.com' 'javascript%3Aalert(%22evil%22)' '%6A%61%76%61script:alert(%22evil%22)' \
           'https://www.example.com%00.evil.com' 'https://www.example.com%C0%AE.evil.com'; do
	acgi "_next=$raw" "$OKB&_next=$raw"
	expect_match "_next=$raw: the success URL or a refused body (the failure URL, not _next)" \
		"$CGI_STATUS $(header Location)" "^303 ($SUCCESS|https://www\.example\.com/contact\.html\?error=malformed_body)\$"
done

# In a multipart body too.
mp=$(printf -- '--B\r\nContent-Disposition: form-data; name="email"\r\n\r\nm@example.com\r\n--B\r\nContent-Disposition: form-data; name="uid"\r\n\r\nu-mp\r\n--B\r\nContent-Disposition: form-data; name="_next"\r\n\r\n/\\evil.com\r\n--B--')
acgi "multipart _next" "$mp" CONTENT_TYPE='multipart/form-data; boundary=B'
expect_eq "multipart _next /\\evil.com: success URL" "$(header Location)" "$SUCCESS"

# Never from the query string, never twice, never on a refusal or a honeypot.
acgi "_next in the query" "$OKB" QUERY_STRING="_next=%2F%2Fevil.com"
expect_eq "_next in QUERY_STRING is ignored" "$(header Location)" "$SUCCESS"
acgi "_next twice" "$OKB&_next=%2Fa.html&_next=%2Fb.html"
expect_eq "_next sent twice: success URL" "$(header Location)" "$SUCCESS"
acgi "_next twice, one hostile" "$OKB&_next=%2Fa.html&_next=%2F%2Fevil.com"
expect_eq "_next twice, one hostile: success URL" "$(header Location)" "$SUCCESS"
acgi "_next on a refusal" "uid=u-1&_next=%2Fa.html"
expect_eq "refused post: the failure URL, not _next" "$(header Location)" \
	"https://www.example.com/contact.html?error=missing_email&field=email&errors=missing_email%3Aemail"
acgi "_next on the honeypot" "$OKB&website=spam&_next=%2Fa.html"
expect_eq "honeypot: the form's success URL" "$(header Location)" "$SUCCESS"
acgi "_next, JSON client" "$OKB&_next=%2F%2Fevil.com" HTTP_ACCEPT=application/json
expect_eq "JSON client: no Location" "$(header Location)" ""
long=/$(printf 'a%.0s' $(seq 2100))
acgi "_next over 2 KiB" "$OKB&_next=$long"
expect_eq "_next over the URL cap: success URL" "$(header Location)" "$SUCCESS"

# The controls: what the allow list and the path rule let through.
for v in '/thanks-2.html' '/a/b?c=d#e' 'https://www.example.com/ok.html' \
         'HTTPS://WWW.EXAMPLE.COM/ok' 'https://www.example.com:443/ok' 'https://a.example.org/ok'; do
	acgi "_next [$v] allowed" "$OKB&_next=$(enc "$v")"
	expect_eq "_next [$v]: followed" "$(header Location)" "$v"
done
expect_eq "hostile _next values cost no submission" "$(double_contact u-redirect emails)" "a@example.com"
attack_done
