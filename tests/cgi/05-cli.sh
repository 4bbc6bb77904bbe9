#!/bin/bash
# The verbs around the responder: --version, check, try.
. "$(dirname "$0")/../lib.sh"
MAPPING="$(dirname "$0")/forms.xml"
double_start || exit 1
trap double_stop EXIT
double_reset
tmp=$(mktemp -d)
trap 'double_stop; rm -rf "$tmp"' EXIT
run() { $FMGATE_WRAP "$FMGATE_BIN" "$@"; }

out=$(run --version); rc=$?
expect_eq "--version exits 0" "$rc" 0
expect_eq "--version prints the version" "$out" "fmgate $(cat "$(dirname "$0")/../../VERSION")"

out=$(run check "$MAPPING"); rc=$?
expect_eq "check on a valid mapping exits 0" "$rc" 0
out=$(FMGATE_CONFIG="$MAPPING" run check); rc=$?
expect_eq "check reads FMGATE_CONFIG" "$rc" 0
expect_eq "a mapping within every server's timeout: no warning" "$(run check "$MAPPING")" \
	"$MAPPING: valid, 2 forms"

# A post that may outlast a web server's wait: a warning, the verdict unchanged.
sed 's#<delivery mode="sync" timeout-ms="2000"/>#<delivery mode="sync" timeout-ms="60000"/>#' \
	"$MAPPING" >"$tmp/slow.xml"
out=$(run check "$tmp/slow.xml"); rc=$?
expect_eq "slow mapping: still valid, exit 0" "$rc" 0
expect_eq "slow mapping: two warnings (Apache, nginx), then the verdict" "$out" \
	"$tmp/slow.xml: warning: a post may take 70000 ms (read-timeout-ms 10000 + timeout-ms 60000), longer than Apache waits by default (mod_fcgid's FcgidIOTimeout 40 s; the shipped apache-conf/fmgate.conf sets 370 s): raise it (docs/deploy.md, Timeouts)
$tmp/slow.xml: warning: a post may take 70000 ms (read-timeout-ms 10000 + timeout-ms 60000), longer than nginx waits by default (fastcgi_read_timeout 60 s; the shipped nginx-conf/fmgate.conf sets 370 s): raise it (docs/deploy.md, Timeouts)
$tmp/slow.xml: valid, 2 forms"
# The shipped server files wait as long as the warning says (370 s), longer
# than any mapping can ask: read-timeout-ms 300 s + timeout-ms 60 s + 5 s.
io=$(sed -n 's/^FcgidIOTimeout \([0-9]*\)$/\1/p' "$(dirname "$0")/../../apache-conf/fmgate.conf")
check "apache-conf's FcgidIOTimeout ($io s) above 365 s" test "${io:-0}" -gt 365
busy=$(sed -n 's/^FcgidBusyTimeout \([0-9]*\)$/\1/p' "$(dirname "$0")/../../apache-conf/fmgate.conf")
check "apache-conf's FcgidBusyTimeout ($busy s) above 365 s" test "${busy:-0}" -gt 365
check "apache-conf's FcgidIOTimeout is the warning's 370 s" test "${io:-0}" -eq 370
ngx=$(sed -n 's/^[[:space:]]*fastcgi_read_timeout \([0-9]*\)s;$/\1/p' "$(dirname "$0")/../../nginx-conf/fmgate.conf")
check "nginx-conf's fastcgi_read_timeout is the warning's 370 s" test "${ngx:-0}" -eq 370
lty=$(sed -n 's/^[[:space:]]*server.max-write-idle = \([0-9]*\)$/\1/p' "$(dirname "$0")/../../lighttpd-conf/fmgate.conf")
check "lighttpd-conf's server.max-write-idle is the warning's 370 s" test "${lty:-0}" -eq 370

cat >"$tmp/bad.xml" <<'XML'
<fmgate>
  <form id="a">
    <redirect success="javascript:alert(1)"/>
    <user-id><from-email/></user-id>
    <field name="first" trait="firstName"/>
    <field name="first2" trait="firstName"/>
  </form>
  <form id="a">
    <redirect success="/ok"/>
    <user-id><from-email/></user-id>
    <field name="email" trait="email" type="email"/>
  </form>
</fmgate>
XML
out=$(run check "$tmp/bad.xml"); rc=$?
expect_eq "check on an invalid mapping exits 1" "$rc" 1
expect_match "redirect reported with its line" "$out" "^$tmp/bad.xml:3: "
expect_match "duplicate trait reported with its line" "$out" "$tmp/bad.xml:6: "
expect_match "duplicate form id reported with its line" "$out" "$tmp/bad.xml:8: "
expect_match "form without email reported" "$out" "$tmp/bad.xml:2: .*email"
printf '<fmgate><form id="x"><bogus/></form></fmgate>\n' >"$tmp/schema.xml"
out=$(run check "$tmp/schema.xml"); rc=$?
expect_eq "schema error exits 1" "$rc" 1
expect_match "schema error has file:line" "$out" "^$tmp/schema.xml:1: "
out=$(run check "$tmp/missing.xml"); rc=$?
expect_eq "missing file exits 1" "$rc" 1

# try: the identify message and the exact request, nothing sent
printf 'email=T%%40Example.com&uid=u-t&first=Tia&sector=software&size=7&company=Acme\n' >"$tmp/body"
out=$(FMGATE_CONFIG="$MAPPING" FM_API_BASE="$FMDOUBLE_URL/crm/sales/api" FM_API_KEY=$FMDOUBLE_KEY run try contact "$tmp/body"); rc=$?
expect_eq "try accepted exits 0" "$rc" 0
expect_match "try prints the identify message" "$out" '"type":[[:space:]]*"identify"'
expect_match "try prints the traits" "$out" '"email":[[:space:]]*"t@example.com"'
expect_match "try prints the request line" "$out" "POST $FMDOUBLE_URL/crm/sales/api/contacts/upsert"
expect_match "try prints the upsert body" "$out" '"unique_identifier"'
expect_match "try shows resolved custom fields" "$out" '"cf_industry":[[:space:]]*"Software"'
expect_no_match "try never prints the key" "$out" "$FMDOUBLE_KEY"
expect_eq "try created nothing" "$(double_get contacts | jq '.contacts | length')" "0"
expect_eq "try sent no upsert" "$(double_get requests | jq '[.requests[] | select(.method == "POST")] | length')" "0"

out=$(printf 'uid=u-t&size=abc' | FMGATE_CONFIG="$MAPPING" run try contact); rc=$?
expect_eq "try refused exits 1" "$rc" 1
expect_match "try lists the refusal" "$out" 'email: missing_email'
expect_match "try lists every refusal" "$out" 'size: invalid_value'
out=$(printf 'email=a%%40b.c' | FMGATE_CONFIG="$MAPPING" run try nosuch 2>&1); rc=$?
expect_eq "try unknown form exits 2" "$rc" 2
done_testing
