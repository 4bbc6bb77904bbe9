#!/bin/bash
# An unforgeable userId: <from-field name="uid" signed-with="KEYFILE"/> takes
# the field only as "ID.HMAC-SHA256(ID)" under the site's key; anything else
# is no userId from that field. `check` refuses a key others can read.
. "$(dirname "$0")/../lib.sh"
double_start || exit 1
tmp=$(mktemp -d)
trap 'double_stop; rm -rf "$tmp"' EXIT
double_reset
printf 'site-secret-0123456789\n' >"$tmp/uid.key"
chmod 600 "$tmp/uid.key"
cat >"$tmp/forms.xml" <<XML
<fmgate>
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
expect_eq "a signature of another id: no userId" "$(header Location)" "/bad?error=missing_user_id"
cgi "email=s2%40example.com&uid=member-8" PATH_INFO=/strict
expect_eq "unsigned: no userId" "$(header Location)" "/bad?error=missing_user_id"
cgi "email=s2%40example.com&uid=member-8.$(sig member-8 | tr 0-9a-f 1-9a-f0)" PATH_INFO=/strict
expect_eq "forged signature: no userId" "$(header Location)" "/bad?error=missing_user_id"
cgi "email=s3%40example.com&uid=admin" PATH_INFO=/fallback
expect_eq "unsigned falls through to the next source" "$(double_contact s3@example.com emails)" "s3@example.com"
expect_eq "and never becomes the userId" "$(double_contact admin emails)" "NONE"

chmod 644 "$tmp/uid.key"
out=$("$FMGATE_BIN" check "$MAPPING"); rc=$?
expect_eq "check refuses a key others can read" "$rc" 1
expect_match "with the line and the reason" "$out" "forms.xml:4: .*readable"
done_testing
