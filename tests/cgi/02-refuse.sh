#!/bin/bash
# Refusals with the error codes of docs/behaviour.md: 303 to the failure URL with
# error, field and errors, JSON 422, or a 422 page when the form has no failure
# URL. Nothing is sent. (Every kind of refusal, and the errors list in detail:
# 14-answers.sh.)
. "$(dirname "$0")/../lib.sh"
MAPPING="$(dirname "$0")/forms.xml"
double_start || exit 1
trap double_stop EXIT
double_reset

FAIL="https://www.example.com/contact.html?lang=en"
refuse() { # refuse DESC BODY CODE FIELD
	cgi "$2"
	expect_eq "$1: 303" "$CGI_STATUS" 303
	if [ -n "$4" ]; then
		expect_eq "$1: location" "$(header Location)" "$FAIL&error=$3&field=$4&errors=$3%3A$4#form"
	else
		expect_eq "$1: location" "$(header Location)" "$FAIL&error=$3&errors=$3#form"
	fi
}
refuse "missing email" "uid=u-1&company=Acme&first=Ann" missing_email email
refuse "empty email" "email=+++&uid=u-1&company=Acme" missing_email email
refuse "invalid email" "email=ann%40&uid=u-1&company=Acme" invalid_email email
refuse "email with a space" "email=a+b%40example.com&uid=u-1&company=Acme" invalid_email email
refuse "no dot in the domain (a@b)" "email=a%40b&uid=u-1&company=Acme" invalid_email email
refuse "no dot in the domain (localhost)" "email=ann%40localhost&uid=u-1&company=Acme" invalid_email email
refuse "missing required field" "email=a%40example.com&uid=u-1" missing_field company
refuse "number of the wrong type" "email=a%40example.com&uid=u-1&company=Acme&size=12abc" invalid_value size
refuse "boolean of the wrong type" "email=a%40example.com&uid=u-1&company=Acme&optin=maybe" invalid_value optin
refuse "repeated single field" "email=a%40example.com&uid=u-1&company=Acme&first=A&first=B" invalid_value first
refuse "over max-length" "email=a%40example.com&uid=u-1&company=Acme&first=$(printf 'x%.0s' $(seq 21))" too_long first
refuse "over max-value" "email=a%40example.com&uid=u-1&company=Acme&last=$(printf 'y%.0s' $(seq 201))" too_long last
expect_eq "nothing sent upstream" "$(double_count)" "0"
expect_no_match "no submitted value in a redirect" "$(header Location)" 'yyy|Acme|example.com&'

# no userId source yields: the bare form takes it from the email, contact's uid chain
# ends in the email too, so use a mapping with only a field source
tmpmap=$(mktemp --suffix=.xml)
sed 's#<user-id><from-email/></user-id>#<user-id><from-field name="uid"/></user-id>#' "$MAPPING" >"$tmpmap"
MAPPING=$tmpmap cgi "email=a%40example.com" PATH_INFO=/bare
expect_eq "no userId: 422 without a failure URL" "$CGI_STATUS" 422
expect_match "page names missing_user_id" "$CGI_BODY" 'missing_user_id'
MAPPING=$tmpmap cgi "email=a%40example.com" PATH_INFO=/bare HTTP_ACCEPT=application/json
expect_eq "JSON missing_user_id" "$CGI_BODY" '{"ok":false,"errors":[{"field":null,"code":"missing_user_id"}]}'
rm -f "$tmpmap"

# JSON clients: 422 with every error
cgi "uid=u-1&size=x" HTTP_ACCEPT=application/json
expect_eq "JSON refusal is 422" "$CGI_STATUS" 422
expect_eq "JSON lists every error" "$(printf '%s' "$CGI_BODY" | jq -c '[.ok, (.errors | map(.field + ":" + .code))]')" \
	'[false,["email:missing_email","size:invalid_value","company:missing_field"]]'

# no failure URL: a 422 page that escapes what it shows
cgi "first=<script>alert(1)</script>" PATH_INFO=/bare
expect_eq "no failure URL: 422" "$CGI_STATUS" 422
expect_eq "HTML page" "$(header Content-Type)" "text/html; charset=utf-8"
expect_match "names the field and code" "$CGI_BODY" '<li>email: missing_email</li>'
expect_no_match "never echoes the post" "$CGI_BODY" '<script>'
expect_eq "still nothing sent" "$(double_count)" "0"
done_testing
