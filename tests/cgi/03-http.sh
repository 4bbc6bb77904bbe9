#!/bin/bash
# Routing, methods, origins, CORS, body limits and syntax, honeypot, headers:
# the answers of docs/behaviour.md that need no delivery.
. "$(dirname "$0")/../lib.sh"
MAPPING="$(dirname "$0")/forms.xml"
double_start || exit 1
trap double_stop EXIT
double_reset
OKB="email=a%40example.com&uid=u-1&company=Acme"

cgi "$OKB" PATH_INFO=/nosuch
expect_eq "unknown form: 404" "$CGI_STATUS" 404
cgi "$OKB" PATH_INFO=/../etc
expect_eq "malformed form id: 404" "$CGI_STATUS" 404
cgi "$OKB" PATH_INFO= REQUEST_URI=/forms/bare?x=1
expect_eq "form id from REQUEST_URI when no PATH_INFO" "$CGI_STATUS" 303

for m in GET PUT DELETE HEAD; do
	cgi "" REQUEST_METHOD=$m
	expect_eq "$m: 405" "$CGI_STATUS" 405
	expect_eq "$m: Allow: POST" "$(header Allow)" "POST"
done

# Origin and Referer against the allow list
for o in https://evil.com null https://www.example.com.evil.com https://wwwexample.com http://www.example.com \
         https://example.org https://www.example.com:8443 'https://user@www.example.com'; do
	cgi "$OKB" HTTP_ORIGIN="$o"
	expect_eq "Origin $o: 403" "$CGI_STATUS" 403
	expect_eq "Origin $o: no CORS header" "$(header Access-Control-Allow-Origin)" ""
done
cgi "$OKB" HTTP_REFERER=https://evil.com/page
expect_eq "Referer of another site without Origin: 403" "$CGI_STATUS" 403
cgi "$OKB" HTTP_REFERER=https://www.example.com/contact.html
expect_eq "Referer of the site: accepted" "$CGI_STATUS" 303
expect_eq "Referer earns no CORS header" "$(header Access-Control-Allow-Origin)" ""
cgi "$OKB"
expect_eq "neither header: accepted" "$CGI_STATUS" 303
cgi "$OKB" HTTP_ORIGIN=https://a.b.example.org
expect_eq "wildcard entry matches a subdomain" "$CGI_STATUS" 303
expect_eq "wildcard: origin echoed" "$(header Access-Control-Allow-Origin)" "https://a.b.example.org"
cgi "$OKB" HTTP_ORIGIN=https://WWW.Example.com:443
expect_eq "origin normalised (case, default port)" "$CGI_STATUS" 303
cgi "$OKB" PATH_INFO=/bare HTTP_ORIGIN=https://anything.test
expect_eq "empty allow list: any origin" "$CGI_STATUS" 303
expect_eq "empty allow list: no CORS header" "$(header Access-Control-Allow-Origin)" ""

# preflight
cgi "" REQUEST_METHOD=OPTIONS HTTP_ORIGIN=https://www.example.com HTTP_ACCESS_CONTROL_REQUEST_METHOD=POST
expect_eq "allowed preflight: 204" "$CGI_STATUS" 204
expect_eq "preflight origin" "$(header Access-Control-Allow-Origin)" "https://www.example.com"
expect_eq "preflight methods" "$(header Access-Control-Allow-Methods)" "POST"
expect_match "preflight headers" "$(header Access-Control-Allow-Headers)" 'Content-Type'
cgi "" REQUEST_METHOD=OPTIONS HTTP_ORIGIN=https://evil.com
expect_eq "preflight from elsewhere: 405" "$CGI_STATUS" 405

# body size, count and syntax: the contact form has a failure URL, so an HTML
# client is sent there with the code (the statuses: 14-answers.sh)
double_reset
FAIL="https://www.example.com/contact.html?lang=en"
refused() { # DESC CODE: the last answer is the 303 to the failure URL with CODE
	expect_eq "$1" "$CGI_STATUS $(header Location)" "303 $FAIL&error=$2#form"
}
big=$(printf 'a%.0s' $(seq 5000))
cgi "x=$big"
refused "body over max-body: 413" body_too_large
cgi "$OKB" CONTENT_LENGTH=999999999
refused "CONTENT_LENGTH over max-body: 413 before reading" body_too_large
many=$(for i in $(seq 21); do printf 'f%d=1&' "$i"; done)
cgi "$many$OKB"
refused "more than max-fields: 413" too_many_fields
for b in 'email=%zz' 'email=a%00b' 'email=%C0%80' 'first=%FF' 'email=%E0%80%80x'; do
	cgi "$OKB&$b"
	refused "malformed body $b: 400" malformed_body
done
cgi "$OKB" CONTENT_LENGTH=-5
refused "negative CONTENT_LENGTH: 400" malformed_body
cgi "$OKB" CONTENT_LENGTH=12x
refused "non-numeric CONTENT_LENGTH: 400" malformed_body
cgi "$OKB" CONTENT_LENGTH=2000
refused "CONTENT_LENGTH larger than the body: 400" malformed_body
cgi '{"email":"a@example.com"}' CONTENT_TYPE=application/json
refused "JSON body: 415" unsupported_media_type
expect_eq "refused bodies send nothing" "$(double_count)" "0"

# multipart
double_reset
mp=$(printf -- '--XyZ\r\nContent-Disposition: form-data; name="email"\r\n\r\nm@example.com\r\n--XyZ\r\nContent-Disposition: form-data; name="uid"\r\n\r\nu-mp\r\n--XyZ\r\nContent-Disposition: form-data; name="company"\r\n\r\nAcme\r\n--XyZ--')
cgi "$mp" CONTENT_TYPE='multipart/form-data; boundary=XyZ'
expect_eq "multipart: 303" "$CGI_STATUS" 303
expect_eq "multipart: contact" "$(double_contact u-mp emails)" "m@example.com"
mpf=$(printf -- '--XyZ\r\nContent-Disposition: form-data; name="cv"; filename="cv.pdf"\r\nContent-Type: application/pdf\r\n\r\n%%PDF\r\n--XyZ--\r\n')
cgi "$mpf" CONTENT_TYPE='multipart/form-data; boundary=XyZ'
refused "multipart file part: 415" file_upload

# honeypot: the normal success, nothing sent
double_reset
cgi "$OKB&website=http%3A%2F%2Fspam.example"
expect_eq "honeypot: success answer" "$CGI_STATUS" 303
expect_eq "honeypot: success URL" "$(header Location)" "https://www.example.com/thanks.html"
expect_eq "honeypot: nothing sent" "$(double_upserts)" "0"
expect_match "honeypot: one log line" "$CGI_ERR" 'outcome=honeypot'
cgi "$OKB&website=spam" HTTP_ACCEPT=application/json
expect_match "honeypot: JSON success like any other" "$CGI_BODY" '^\{"ok":true,"id":"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"\}$'
cgi "$OKB&website=" 
expect_eq "empty honeypot: delivered" "$(double_upserts)" "1"

# no request byte reaches a header
cgi "$OKB" HTTP_ORIGIN=$'https://www.example.com\r\nX-Evil: 1'
expect_no_match "CR/LF in Origin adds no header" "$CGI_HEAD" 'X-Evil'
expect_eq "CR/LF origin refused" "$CGI_STATUS" 403
done_testing
