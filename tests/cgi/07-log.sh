#!/bin/bash
# The log line of a submission: one line, with the form, outcome, latency,
# messageId and a keyed hash of the email; never the email or other values.
# The hash is the same across processes of one installation (the key lives in
# the spool), differs between emails and between installations.
. "$(dirname "$0")/../lib.sh"
MAPPING="$(dirname "$0")/forms.xml"
double_start || exit 1
trap double_stop EXIT
double_reset
hash_of() { printf '%s\n' "$CGI_ERR" | sed -n 's/.* email=\([0-9a-f-]*\) .*/\1/p' | tail -n 1; }

cgi "email=Log.Me%40Example.com&uid=u-log&company=Acme&first=Secretname"
h1=$(hash_of)
expect_match "a 16-hex-digit email hash" "$h1" '^[0-9a-f]{16}$'
expect_eq "one line per submission" "$(printf '%s\n' "$CGI_ERR" | grep -c 'form=contact outcome=')" 1
expect_no_match "the email is not in the log" "$CGI_ERR" '[Ll]og\.[Mm]e|Example\.com'
expect_no_match "no other submitted value" "$CGI_ERR" 'Secretname|Acme'
check "the key file is private" test "$(stat -c %a "$TEST_SPOOL/state/log.key")" = 600
cgi "email=log.me%40example.com&uid=u-log&company=Acme"
expect_eq "same email, another process: same hash" "$(hash_of)" "$h1"
cgi "email=other%40example.com&uid=u-log2&company=Acme"
check "another email: another hash" test "$(hash_of)" != "$h1"
other=$(mktemp -d)
cgi "email=log.me%40example.com&uid=u-log&company=Acme" FMGATE_SPOOL="$other"
check "another installation (key): another hash" test "$(hash_of)" != "$h1"
rm -rf "$other"
cgi "email=bad&uid=u-log&company=Acme"
expect_match "a refused post logs no hash" "$CGI_ERR" 'outcome=invalid .*email=- '
done_testing
