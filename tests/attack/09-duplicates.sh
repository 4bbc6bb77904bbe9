#!/bin/bash
# Duplicate fields (parameter pollution: one reader takes the first copy,
# another the last). fmgate never picks one: a mapped name sent twice is
# invalid_value (unless multiple="true"), a userId field sent twice yields
# nothing, _next twice is ignored; the query string is never read; the first
# cookie of a name decides, valid or not; a multipart part or Content-Type
# that names a parameter twice is malformed.
. "$(dirname "$0")/common.bash"
double_reset
FAILURE="https://www.example.com/contact.html"
MARKS=(victim)
refused() { # DESC CODE FIELD: the failure redirect, and nothing sent
	expect_eq "$1" "$CGI_STATUS $(header Location)" "303 $FAILURE?error=$2&field=$3&errors=$2%3A$3"
}

acgi "email twice" "email=a%40example.com&email=victim%40example.com&uid=u-dup"
refused "email twice: invalid_value" invalid_value email
acgi "email twice, same value" "email=a%40example.com&email=a%40example.com&uid=u-dup"
refused "email twice, one value: invalid_value" invalid_value email
acgi "email twice, one encoded name" "email=a%40example.com&%65mail=victim%40example.com&uid=u-dup"
refused "email and %65mail: invalid_value" invalid_value email
acgi "email twice, one empty" "email=&email=victim%40example.com&uid=u-dup"
refused "email twice, the first empty: invalid_value" invalid_value email
acgi "first twice" "email=a%40example.com&uid=u-dup&first=Ann&first=victim"
refused "single field twice: invalid_value" invalid_value first
acgi "first twice, one empty" "email=a%40example.com&uid=u-dup&first=&first=victim"
refused "single field twice, the first empty: invalid_value" invalid_value first
mp=""
for kv in email=a@example.com uid=u-dup email=victim@example.com; do
	printf -v part -- '--B\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' "${kv%%=*}" "${kv#*=}"
	mp+=$part
done
acgi "email twice, multipart" "$mp--B--" CONTENT_TYPE='multipart/form-data; boundary=B'
refused "email twice in multipart: invalid_value" invalid_value email
acgi "email twice, JSON" "email=a%40example.com&email=victim%40example.com&uid=u-dup" HTTP_ACCEPT=application/json
expect_eq "email twice, JSON: 422 naming it" "$CGI_STATUS $CGI_BODY" \
	'422 {"ok":false,"errors":[{"field":"email","code":"invalid_value"}]}'
expect_eq "duplicates sent nothing" "$(double_upserts)" 0

# A userId field twice yields nothing: the next source decides.
acgi "uid twice" "email=u%40example.com&uid=victim&uid=u-2" HTTP_COOKIE="ajs_user_id=u-cookie"
expect_delivered "uid twice: delivered"
expect_eq "uid twice: the cookie is the userId" "$(double_contact u-cookie emails)" "u@example.com"
acgi "uid twice, no cookie" "email=v%40example.com&uid=victim&uid=victim"
expect_eq "uid twice, no cookie: the email is the userId" "$(double_contact v@example.com emails)" "v@example.com"
# The first cookie of a name decides, even when it is unusable.
acgi "cookie twice" "email=w%40example.com" HTTP_COOKIE="ajs_user_id=u-first; ajs_user_id=victim"
expect_eq "cookie twice: the first one" "$(double_contact u-first emails)" "w@example.com"
acgi "cookie twice, first bad" "email=x%40example.com" HTTP_COOKIE="ajs_user_id=%ZZ; ajs_user_id=victim"
expect_eq "cookie twice, the first malformed: not the second" "$(double_contact x@example.com emails)" "x@example.com"
expect_eq "no contact was ever made for the planted id" "$(double_contact victim emails)" "NONE"

# The query string is not the body.
acgi "query string" "email=q%40example.com&uid=u-query" \
	QUERY_STRING="email=victim%40example.com&uid=victim&first=victim&_next=%2F%2Fvictim.example"
expect_delivered "query string: ignored"
expect_eq "query string: the body's email" "$(double_contact u-query emails)" "q@example.com"
expect_eq "query string: no first name from it" "$(double_contact u-query first_name)" "NULL"
# Names are exact: another case is another (unmapped) field.
acgi "Email and email" "Email=victim%40example.com&email=c%40example.com&EMAIL=victim%40example.com&uid=u-case"
expect_delivered "Email, EMAIL and email: email only"
expect_eq "names are case-sensitive" "$(double_contact u-case emails)" "c@example.com"
# multiple="true": a list, in order (the control).
acgi "topics twice" "email=t%40example.com&uid=u-list&topics=a&topics=b"
expect_eq "multiple field: a list" "$(double_contact u-list tags)" '["a","b"]'

# Multipart and Content-Type parameters named twice.
acgi "name= twice in a part" "$(printf -- '--B\r\nContent-Disposition: form-data; name="email"; name="victim"\r\n\r\na@example.com\r\n--B--')" \
	CONTENT_TYPE='multipart/form-data; boundary=B'
expect_refused "a part naming itself twice: malformed_body (400)" malformed_body
acgi "two dispositions" "$(printf -- '--B\r\nContent-Disposition: form-data; name="email"\r\nContent-Disposition: form-data; name="victim"\r\n\r\na@example.com\r\n--B--')" \
	CONTENT_TYPE='multipart/form-data; boundary=B'
expect_refused "a part with two Content-Dispositions: malformed_body (400)" malformed_body
acgi "boundary twice" "--B--" CONTENT_TYPE='multipart/form-data; boundary=B; boundary=victim'
expect_refused "a Content-Type naming the boundary twice: malformed_body (400)" malformed_body
attack_done
