#!/bin/bash
# An unforgeable userId: <from-field name="uid" signed-with="KEYFILE"/> takes
# the field only as "ID.HMAC-SHA256(ID)" under the site's key; anything else
# sent in it refuses the post (invalid_user_id), never falling through to a
# weaker source. A signed id is trusted: it may change its contact's email.
# `check` refuses a key others can read.
. "$(dirname "$0")/../lib.sh"
double_start || exit 1
tmp=$(mktemp -d)
trap 'double_stop; rm -rf "$tmp"' EXIT
double_reset
printf 'site-secret-0123456789\n' >"$tmp/uid.key"
chmod 600 "$tmp/uid.key"
cat >"$tmp/forms.xml" <<XML
<fmgate>
  <settings>
    <!-- No rate limit: this suite posts to /strict 8 times from one address,
         close to the default's 10 an hour; its results must not hang on the count. -->
    <rate-limit/>
  </settings>
  <form id="strict">
    <redirect success="/ok" failure="/bad"/>
    <user-id><from-field name="uid" signed-with="$tmp/uid.key"/></user-id>
    <field name="email" trait="email" type="email"/>
  </form>
  <form id="fallback">
    <redirect success="/ok" failure="/bad"/>
    <user-id><from-field name="uid" signed-with="$tmp/uid.key"/><from-email/></user-id>
    <field name="email" trait="email" type="email"/>
  </form>
</fmgate>
XML
MAPPING="$tmp/forms.xml"
sig() { /usr/bin/python3 -c "import hmac,hashlib,sys;print(hmac.new(b'site-secret-0123456789',sys.argv[1].encode(),hashlib.sha256).hexdigest())" "$1"; }

check "check accepts the mapping" "$FMGATE_BIN" check "$MAPPING"
cgi "email=s1%40example.com&uid=member-7.$(sig member-7)" PATH_INFO=/strict
expect_eq "signed userId accepted" "$(header Location)" "/ok"
expect_eq "the contact carries the id without its signature" "$(double_contact member-7 emails)" "s1@example.com"
cgi "email=s2%40example.com&uid=member-8.$(sig member-7)" PATH_INFO=/strict
expect_eq "a signature of another id: refused" "$(header Location)" "/bad?error=invalid_user_id&field=uid&errors=invalid_user_id%3Auid"
cgi "email=s2%40example.com&uid=member-8" PATH_INFO=/strict
expect_eq "unsigned: refused" "$(header Location)" "/bad?error=invalid_user_id&field=uid&errors=invalid_user_id%3Auid"
cgi "email=s2%40example.com&uid=member-8.$(sig member-8 | tr 0-9a-f 1-9a-f0)" PATH_INFO=/strict
expect_eq "forged signature: refused" "$(header Location)" "/bad?error=invalid_user_id&field=uid&errors=invalid_user_id%3Auid"
cgi "email=s2%40example.com&uid=member-8.$(sig member-8)&uid=member-8.$(sig member-8)" PATH_INFO=/strict
expect_eq "sent twice: refused" "$(header Location)" "/bad?error=invalid_user_id&field=uid&errors=invalid_user_id%3Auid"
cgi "email=s2%40example.com&uid=member-8" PATH_INFO=/strict HTTP_ACCEPT=application/json
expect_eq "JSON: 422 invalid_user_id" "$CGI_BODY" '{"ok":false,"errors":[{"field":"uid","code":"invalid_user_id"}]}'
cgi "email=s2%40example.com&uid=" PATH_INFO=/strict
expect_eq "empty: no userId at all" "$(header Location)" "/bad?error=missing_user_id&errors=missing_user_id"
expect_eq "nothing refused reached the CRM" "$(double_contact member-8 emails)" "NONE"
# (c) a bad signature never falls through to a weaker source
cgi "email=s3%40example.com&uid=admin" PATH_INFO=/fallback
expect_eq "unsigned value: refused, no fall-through" "$(header Location)" "/bad?error=invalid_user_id&field=uid&errors=invalid_user_id%3Auid"
expect_eq "and never becomes the userId" "$(double_contact admin emails)" "NONE"
expect_eq "nor does the email" "$(double_contact s3@example.com emails)" "NONE"
cgi "email=s3%40example.com" PATH_INFO=/fallback
expect_eq "no signed field: the next source" "$(double_contact s3@example.com emails)" "s3@example.com"
# a signed userId is trusted: it may change its contact's email
n=$(double_count)
cgi "email=s1-new%40example.com&uid=member-7.$(sig member-7)" PATH_INFO=/strict
expect_eq "signed: a new email" "$(header Location)" "/ok"
expect_eq "signed: the contact's email changed" "$(double_contact member-7 emails)" "s1-new@example.com"
expect_eq "signed: one call, no lookup" "$(( $(double_count) - n ))" 1

chmod 644 "$tmp/uid.key"
out=$("$FMGATE_BIN" check "$MAPPING"); rc=$?
expect_eq "check refuses a key others can read" "$rc" 1
expect_match "with the line and the reason" "$out" "forms.xml:9: .*readable"
done_testing
