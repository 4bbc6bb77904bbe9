#!/bin/bash
# A valid post: 303 to the thank-you page (or JSON), and the contact in the double
# with the right fields: the success answers of docs/behaviour.md ("Answers"), the
# identify message, and what docs/freshmarketer.md says is sent.
. "$(dirname "$0")/../lib.sh"
MAPPING="$(dirname "$0")/forms.xml"
double_start || exit 1
trap double_stop EXIT
double_reset

B='email=Ann%40Example.COM&first=Ann&last=Lee&city=Paris&sector=music&optin=yes&size=42&company=Acme&uid=u-1&topics=a&topics=b&utm_source=news&notmapped=zzz'
cgi "$B" HTTP_ORIGIN=https://www.example.com
expect_eq "valid post answers 303" "$CGI_STATUS" 303
expect_eq "to the success URL" "$(header Location)" "https://www.example.com/thanks.html"
expect_eq "CORS origin echoed" "$(header Access-Control-Allow-Origin)" "https://www.example.com"
expect_eq "Vary: Origin" "$(header Vary)" "Origin"
expect_eq "contact created with external_id" "$(double_contact u-1 external_id)" "u-1"
expect_eq "email lower-cased into emails" "$(double_contact u-1 emails)" "ann@example.com"
expect_eq "firstName -> first_name" "$(double_contact u-1 first_name)" "Ann"
expect_eq "lastName -> last_name" "$(double_contact u-1 last_name)" "Lee"
expect_eq "address.city -> city" "$(double_contact u-1 city)" "Paris"
expect_eq "label Industry -> cf_industry, choice's exact value" "$(double_contact u-1 custom_field.cf_industry)" "Music"
expect_eq "fm-field cf_employees as a number" "$(double_contact u-1 custom_field.cf_employees)" "42"
expect_eq "label Newsletter -> cf_newsletter checkbox" "$(double_contact u-1 custom_field.cf_newsletter)" "true"
expect_eq "constant by label" "$(double_contact u-1 custom_field.cf_signup_source)" "Website form"
req=$(double_get requests | jq -c '[.requests[] | select(.path | endswith("/contacts/upsert"))][0]')
expect_eq "upsert keyed on external_id" "$(echo "$req" | jq -r '.body.unique_identifier | keys | join(",")')" "external_id"
expect_eq "authorization header" "$(echo "$req" | jq -r '.headers.authorization')" "Token token=$FMDOUBLE_KEY"
expect_eq "unmapped field not sent" "$(echo "$req" | jq -r '.raw | contains("zzz")')" "false"
expect_eq "custom fields in custom_field (singular)" "$(echo "$req" | jq -r '.body.contact | has("custom_fields")')" "false"
expect_match "one log line with the message id" "$CGI_ERR" 'form=contact outcome=delivered status=303 ms=[0-9]+ id=[0-9a-f-]{36}'
expect_no_match "no submitted value in the log" "$CGI_ERR" 'ann@example|Paris|Lee'

# JSON mode
double_reset
cgi "email=bob@example.com&uid=u-2&company=Acme" HTTP_ACCEPT="application/json, text/html;q=0.9"
expect_eq "JSON client gets 200" "$CGI_STATUS" 200
expect_match "JSON ok with the messageId" "$CGI_BODY" '^\{"ok":true,"id":"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"\}$'
expect_eq "JSON content type" "$(header Content-Type)" "application/json"
expect_eq "contact created" "$(double_contact u-2 emails)" "bob@example.com"
cgi "email=bob@example.com&uid=u-2&company=Acme" HTTP_ACCEPT="text/html,application/json"
expect_eq "text/html first keeps the redirect" "$CGI_STATUS" 303

# userId sources in order: field, cookie, email
double_reset
cgi "email=c@example.com&company=Acme" HTTP_COOKIE='x=1; ajs_user_id=%22cookie-7%22; ajs_anonymous_id=%22anon-9%22'
expect_eq "userId from the analytics cookie, quotes removed" "$(double_contact cookie-7 emails)" "c@example.com"
cgi "email=D@example.com&company=Acme"
expect_eq "userId from the email" "$(double_contact d@example.com emails)" "d@example.com"

# update: a later, shorter form never blanks what an earlier one set
double_reset
cgi "email=e@example.com&uid=u-5&first=Eve&city=Rome&company=Acme"
cgi "email=e@example.com&uid=u-5&last=Ng&company=Acme"
expect_eq "update answers 303" "$CGI_STATUS" 303
expect_eq "first name kept" "$(double_contact u-5 first_name)" "Eve"
expect_eq "city kept" "$(double_contact u-5 city)" "Rome"
expect_eq "new last name" "$(double_contact u-5 last_name)" "Ng"
expect_eq "one contact" "$(double_get contacts | jq '.contacts | length')" "1"

# _next: a path or an allow-listed origin only
double_reset
cgi "email=f@example.com&uid=u-6&company=Acme&_next=%2Fmerci.html"
expect_eq "_next path used" "$(header Location)" "/merci.html"
cgi "email=f@example.com&uid=u-6&company=Acme&_next=https%3A%2F%2Fshop.example.org%2Fok"
expect_eq "_next on an allowed wildcard origin used" "$(header Location)" "https://shop.example.org/ok"
for bad in 'https%3A%2F%2Fevil.com%2F' '%2F%2Fevil.com' '%2F%5Cevil.com' 'https%3A%2F%2Fwww.example.com%40evil.com%2F' \
           'javascript%3Aalert(1)' '%2Fok%0D%0ASet-Cookie%3A+x%3D1' 'https%3A%2F%2Fexample.org.evil.com%2F'; do
	cgi "email=f@example.com&uid=u-6&company=Acme&_next=$bad"
	expect_eq "_next=$bad ignored" "$(header Location)" "https://www.example.com/thanks.html"
done
expect_no_match "no injected header" "$CGI_HEAD" 'Set-Cookie'
# Non-ASCII on an allowed origin: refused as _next, so the delivered post is
# answered with the success URL (a Location header cannot hold it).
for bad in 'https%3A%2F%2Fshop.example.org%2F%C3%BC' 'https%3A%2F%2Fwww.example.com%2F%3Fq%3D%C3%BC' '%2F%C3%BC'; do
	double_reset
	cgi "email=f@example.com&uid=u-6&company=Acme&_next=$bad"
	expect_eq "_next=$bad: 303 to the success URL" "$CGI_STATUS $(header Location)" \
		"303 https://www.example.com/thanks.html"
	expect_eq "_next=$bad: delivered" "$(double_contact u-6 emails)" "f@example.com"
	expect_no_match "_next=$bad: no header refused" "$CGI_ERR" 'not sent'
done

# the identify context
double_reset
cgi "email=g@example.com&uid=u-7&company=Acme" REMOTE_ADDR=10.0.0.1 HTTP_X_FORWARDED_FOR="203.0.113.9, 10.0.0.1" \
	HTTP_REFERER="https://www.example.com/landing?utm_source=ads&utm_campaign=spring" HTTP_USER_AGENT="Mozilla/5.0 test"
expect_eq "accepted behind a trusted proxy" "$CGI_STATUS" 303
done_testing
