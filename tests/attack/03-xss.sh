#!/bin/bash
# Script in the error page (a lesson from other form handlers: escape
# everything echoed). The 422 page names the form's fields: two field names of
# tests/attack/forms.xml are markup, and must come out as text. No request
# value is ever echoed in any HTML answer (400, 403, 404, 405, 413, 415, 422,
# 503): the marker planted in each never comes back, and common.bash checks
# every HTML body for script.
. "$(dirname "$0")/common.bash"
double_reset
MARKS=(XSSMARK)
S='%3Cscript%3Ealert(%22XSSMARK%22)%3C%2Fscript%3E'
NAME1='x"><script>alert(1)</script>'
NAME2='<img src=x onerror=alert(2)>'
ESC1='x&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;'
ESC2='&lt;img src=x onerror=alert(2)&gt;'

html_page() { # DESC: an HTML answer with the headers that keep it inert
	expect_eq "$1: HTML in UTF-8" "$(header Content-Type)" "text/html; charset=utf-8"
	expect_eq "$1: nosniff" "$(header X-Content-Type-Options)" "nosniff"
}

# The 422 page: field names escaped, values never shown.
acgi "422 page" "email=%22%3E%3Csvg+onload%3DXSSMARK%3E&first=$S&website=$S" PATH_INFO=/bare
expect_eq "422 without a failure URL" "$CGI_STATUS" 422
html_page "422 page"
expect_contains "the page names the markup field, escaped" "$CGI_BODY" "<li>$ESC1: missing_field</li>"
expect_contains "the page names the email error" "$CGI_BODY" '<li>email: invalid_email</li>'
acgi "422 page, wrong type" "email=a%40example.com&%3Cimg+src%3Dx+onerror%3Dalert(2)%3E=XSSMARK" PATH_INFO=/bare
expect_contains "the page names the second markup field, escaped" "$CGI_BODY" "<li>$ESC2: invalid_value</li>"
expect_no_match "no raw markup from the mapping" "$CGI_BODY" '<(script|img)'
acgi "422 JSON" "email=%3Cscript%3E&$(printf '%s' "$NAME2" | jq -sRr @uri)=XSSMARK" PATH_INFO=/bare \
	HTTP_ACCEPT=application/json
expect_eq "JSON 422 is JSON" "$(header Content-Type)" "application/json"
expect_eq "JSON 422 names the fields exactly" \
	"$(printf '%s' "$CGI_BODY" | jq -c '[.errors[] | [.field, .code]]')" \
	"$(jq -cn --arg a "$NAME1" --arg b "$NAME2" '[["email","invalid_email"],[$a,"missing_field"],[$b,"invalid_value"]]')"

# Every other HTML answer, each with the marker in the request. A refusal of
# a post to a form with a failure URL is a 303 there (no page): the pages of
# 400, 413, 415 and 503 are those of the forms without one (bare, priv).
acgi "400" "email=$S%zz" PATH_INFO=/bare
expect_eq "400 page" "$CGI_STATUS" 400
html_page "400 page"
acgi "403" "email=$S" HTTP_ORIGIN="https://evil.example/$S"
expect_eq "403 page" "$CGI_STATUS" 403
html_page "403 page"
acgi "403 Referer" "email=$S" HTTP_REFERER="https://evil.example/<script>alert('XSSMARK')</script>"
expect_eq "403 page (Referer)" "$CGI_STATUS" 403
acgi "404" "email=$S" PATH_INFO="/<script>alert('XSSMARK')</script>"
expect_eq "404 page" "$CGI_STATUS" 404
html_page "404 page"
acgi "404 id" "email=$S" PATH_INFO="/XSSMARK"
expect_eq "404 page for a well-formed unknown id" "$CGI_STATUS" 404
acgi "405" "email=$S" REQUEST_METHOD="<script>XSSMARK</script>"
expect_eq "405 page" "$CGI_STATUS" 405
html_page "405 page"
acgi "413" "email=$S&first=$(printf 'a%.0s' $(seq 4100))" PATH_INFO=/bare
expect_eq "413 page" "$CGI_STATUS" 413
acgi "415" "email=$S" CONTENT_TYPE="text/html<script>XSSMARK</script>" PATH_INFO=/bare
expect_eq "415 page" "$CGI_STATUS" 415
html_page "415 page"
acgi "415 file" "$(printf -- '--B\r\nContent-Disposition: form-data; name="f"; filename="<script>XSSMARK</script>.html"\r\n\r\nx\r\n--B--')" \
	CONTENT_TYPE='multipart/form-data; boundary=B' PATH_INFO=/bare
expect_eq "415 page for a file" "$CGI_STATUS" 415
acgi "415 redirect" "email=$S" CONTENT_TYPE="text/html<script>XSSMARK</script>"
expect_eq "415 of a form with a failure URL: the code in the URL, no page" \
	"$CGI_STATUS $(header Location) [$CGI_BODY]" \
	"303 https://www.example.com/contact.html?error=unsupported_media_type []"
acgi "503" "email=a%40example.com&uid=u-1&owner=$S" FM_API_BASE= PATH_INFO=/priv
expect_eq "503 page (delivery not configured)" "$CGI_STATUS" 503
html_page "503 page"

# The success and failure answers carry no page at all, so nothing to inject.
acgi "303 success" "email=a%40example.com&uid=u-xss&first=$S"
expect_delivered "success: 303"
expect_eq "success: no body" "$CGI_BODY" ""
acgi "303 failure" "uid=u-1&first=$S"
expect_eq "failure: no body" "$CGI_BODY" ""
acgi "JSON success" "email=a%40example.com&uid=u-xss&first=$S" HTTP_ACCEPT=application/json
expect_match "JSON success holds only the id" "$CGI_BODY" '^\{"ok":true,"id":"[0-9a-f-]{36}"\}$'
attack_done
