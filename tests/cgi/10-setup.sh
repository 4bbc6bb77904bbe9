#!/bin/bash
# Setting up against a real account (issue 11): `fmgate fields`, `check
# --online`, `try --strict`, --config on every verb, strict options, and the
# dry-run verbs keeping off the spool. Against the test double's field list.
. "$(dirname "$0")/../lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
MAPPING="$top/tests/cgi/forms.xml"
double_start || exit 1
tmp=$(mktemp -d)
SERVE_PID=
trap '[ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null; double_stop; rm -rf "$tmp"' EXIT
double_reset
API="$FMDOUBLE_URL/crm/sales/api"
SECRET=fmk-SECRET-wrong-7c41
api_fields() { curl -sf -H "Authorization: Token token=$FMDOUBLE_KEY" "$API/settings/contacts/fields"; }
N_FIELDS=$(api_fields | jq '.fields | length')
# on [VAR=VALUE...] ARGS...: fmgate with the double's base and key, no mapping
# from the environment and no spool set (the mapping's or the default, which
# no verb here may need); VAR=VALUE pairs override (VAR= empties).
BASE_ENV=(env -u FM_API_KEY_FILE -u FM_DOMAIN -u FMGATE_SPOOL FMGATE_CONFIG=/nonexistent/forms.xml
	FM_API_BASE="$API" FM_API_KEY="$FMDOUBLE_KEY")
on() {
	local vars=()
	while [[ $# -gt 0 && $1 =~ ^[A-Z_]+= ]]; do vars+=("$1"); shift; done
	"${BASE_ENV[@]}" "${vars[@]}" $FMGATE_WRAP "$FMGATE_BIN" "$@"
}

# ---- fields ---------------------------------------------------------------------------
out=$(on FMGATE_CONFIG="$MAPPING" fields 2>"$tmp/err"); rc=$?
expect_eq "fields exits 0" "$rc" 0
expect_match "fields: a header" "$out" '^LABEL +NAME +TYPE +CHOICES$'
expect_match "fields: a text field" "$out" '^First name +first_name +text$'
expect_match "fields: a number field" "$out" '^Employees +cf_employees +number$'
expect_match "fields: a checkbox" "$out" '^Newsletter +cf_newsletter +checkbox$'
expect_match "fields: a date" "$out" '^Birthday +cf_birthday +date$'
expect_match "fields: a group" "$out" '^Emails +emails +group_field$'
expect_match "fields: dropdown choices as id=value" "$out" \
	'^Owner +owner_id +dropdown +1=Ann Admin, 2=Bob Sales$'
expect_match "fields: multi-select choices" "$out" \
	'^Interests +cf_interests +multi_select_dropdown +81=Pricing, 82=Product news, 83=Events$'
expect_match "fields: the API's own type name" "$out" '^Notes +cf_notes +textarea$'
expect_eq "fields: one line per field and the header" "$(printf '%s\n' "$out" | wc -l)" $((N_FIELDS + 1))
expect_no_match "fields: no warning" "$(cat "$tmp/err")" 'warning|error'

json=$(on fields --json); rc=$?
expect_eq "fields --json exits 0" "$rc" 0
expect_eq "fields --json: every field of the API, in order" "$(printf '%s' "$json" | jq -c '[.fields[].name]')" \
	"$(api_fields | jq -c '[.fields[].name]')"
expect_eq "fields --json: label" "$(printf '%s' "$json" | jq -r '.fields[] | select(.name == "cf_industry") | .label')" Industry
expect_eq "fields --json: types" \
	"$(printf '%s' "$json" | jq -c '[.fields[] | select(.name | test("^(cf_employees|cf_newsletter|cf_interests|tags|cf_notes)$")) | .type]')" \
	'["auto_complete","number","checkbox","multi_select_dropdown","textarea"]'
expect_eq "fields --json: choices" "$(printf '%s' "$json" | jq -c '.fields[] | select(.name == "owner_id") | .choices')" \
	'[{"id":1,"value":"Ann Admin"},{"id":2,"value":"Bob Sales"}]'
expect_eq "fields --json: no choices is an empty list" \
	"$(printf '%s' "$json" | jq -c '.fields[] | select(.name == "first_name") | .choices')" '[]'
expect_eq "fields --json: the keys" "$(printf '%s' "$json" | jq -c '[.fields[0] | keys[]]')" '["choices","label","name","type"]'

double_post fields '{"add":{"name":"cf_fresh","label":"Fresh one","type":"number"}}'
out=$(on fields); rc=$?
expect_match "fields: the list as it is now (no cache)" "$out" '^Fresh one +cf_fresh +number$'
double_reset

out=$(on FM_API_KEY=$SECRET fields 2>&1); rc=$?
expect_eq "fields: a refused key exits 1" "$rc" 1
expect_match "fields: says the key was refused" "$out" \
	'fmgate fields: Freshmarketer refused the API key or domain \(HTTP 401: Incorrect or missing API key\)'
expect_no_match "fields: never prints the key" "$out" "$SECRET"
port=$(free_port) || exit 1
out=$(on FM_API_BASE="http://127.0.0.1:$port/crm/sales/api" fields 2>&1); rc=$?
expect_eq "fields: an unreachable API exits 1" "$rc" 1
expect_match "fields: says it is unreachable" "$out" 'no field list: Freshmarketer is unreachable or failing \(.*connect'
# The API's text reaches the terminal escaped: no escape sequence of its own.
double_post fault '{"kind":"status","status":500,"count":1,"path":"/settings/contacts/fields","message":"down \u001b[2J\u001b]0;owned\u0007 now"}'
out=$(on fields 2>&1); rc=$?
expect_match "fields: the API's message shown escaped" "$out" \
	'failing \(.*down \\u001B\[2J\\u001B\]0;owned\\u0007 now'
check "fields: no raw control character from the API" \
	test "$(printf '%s' "$out" | LC_ALL=C tr -d '\n' | LC_ALL=C tr -d '\040-\176' | wc -c)" -eq 0
double_reset
out=$(on FM_API_KEY= fields 2>&1); rc=$?
expect_eq "fields: no key exits 2" "$rc" 2
expect_match "fields: says there is no key" "$out" 'fmgate fields: no API key'
out=$(on FM_API_BASE= fields 2>&1); rc=$?
expect_eq "fields: no domain exits 2" "$rc" 2
expect_match "fields: says there is no domain" "$out" 'no Freshmarketer domain or API base'
out=$(on fields extra 2>&1); rc=$?
expect_eq "fields: an operand is a usage error" "$rc" 2
expect_match "fields: names it" "$out" 'fmgate fields: too many arguments: extra'
on fields --json --json >/dev/null 2>&1
expect_eq "fields: an option twice is a usage error" "$?" 2

# ---- check --online ----------------------------------------------------------------------
cat >"$tmp/good.xml" <<'XML'
<fmgate>
  <form id="good">
    <redirect success="/ok"/>
    <user-id><from-email/></user-id>
    <field name="email" trait="email" type="email"/>
    <field name="first" trait="firstName"/>
    <field name="sector" trait="industry"/>
    <field name="optin" trait="Newsletter" type="boolean"/>
    <field name="size" trait="Size" type="number" fm-field="cf_employees"/>
    <field name="news" trait="newsletterConsent" type="boolean" fm-field="subscription_status" value-when-checked="Subscribed"/>
    <field name="zone" trait="tz" fm-field="time_zone"/>
    <constant trait="Signup Source" value="Website form"/>
    <constant trait="stage" value="lead" fm-field="lifecycle_stage_id"/>
  </form>
</fmgate>
XML
out=$(on check --online "$tmp/good.xml" 2>"$tmp/err"); rc=$?
expect_eq "check --online: a good mapping exits 0" "$rc" 0
expect_match "check --online: valid" "$out" "^$tmp/good.xml: valid, 1 form$"
expect_match "check --online: every trait reaches a field" "$out" \
	"$tmp/good.xml: online: the API key works and every trait reaches one of the $N_FIELDS Freshmarketer fields"
expect_no_match "check --online: no warning" "$(cat "$tmp/err")" 'warning|error'
expect_match "check --online: a warning for the API base from the environment alone" "$out" \
	"^$tmp/good.xml: warning: FM_API_BASE is set only in this environment"

cat >"$tmp/bad.xml" <<'XML'
<fmgate>
  <form id="bad">
    <redirect success="/ok"/>
    <user-id><from-email/></user-id>
    <field name="email" trait="email" type="email"/>
    <field name="co" trait="Company Size"/>
    <field name="owner" trait="Owner"/>
    <field name="x" trait="x" fm-field="cf_nope"/>
    <field name="optin" trait="optin" type="boolean" fm-field="cf_employees"/>
    <constant trait="Industry" value="Farming"/>
    <constant trait="Birthday" value="soon"/>
    <field name="n" trait="n" type="number" fm-field="cf_newsletter"/>
    <field name="d" trait="d" type="date" fm-field="campaign_id"/>
    <field name="sub" trait="sub" type="boolean" fm-field="subscription_status" value-when-checked="Maybe"/>
    <field name="fn" trait="First name"/>
    <field name="first" trait="firstName"/>
  </form>
</fmgate>
XML
B="$tmp/bad.xml"
out=$(on check --online "$B"); rc=$?
expect_eq "check --online: problems exit 1" "$rc" 1
expect_match "unknown label" "$out" \
	"^$B:6: trait \"Company Size\": no Freshmarketer field has this label \(create the field, or set fm-field\)$"
expect_match "privileged label" "$out" \
	"^$B:7: trait \"Owner\": its label is the privileged field owner_id, set only through fm-field$"
expect_match "unknown fm-field" "$out" "^$B:8: fm-field \"cf_nope\" is no field of this Freshmarketer account$"
expect_match "boolean into a number field" "$out" \
	"^$B:9: field \"optin\": type=\"boolean\" cannot fit field cf_employees, which takes a number$"
expect_match "constant that does not fit a dropdown" "$out" \
	"^$B:10: constant \"Industry\": value \"Farming\" does not fit field cf_industry, which takes one of the field's choices$"
expect_match "constant that does not fit a date" "$out" \
	"^$B:11: constant \"Birthday\": value \"soon\" does not fit field cf_birthday, which takes a date$"
expect_match "number into a checkbox" "$out" "^$B:12: field \"n\": type=\"number\" cannot fit field cf_newsletter \(checkbox\)$"
expect_match "date into a number field" "$out" "^$B:13: field \"d\": type=\"date\" cannot fit field campaign_id \(number\)$"
expect_match "value-when-checked that does not fit" "$out" \
	"^$B:14: field \"sub\": value-when-checked \"Maybe\" does not fit field subscription_status, which takes one of the field's choices$"
expect_match "two traits on one field" "$out" \
	"^$B:15: trait \"First name\" and trait \"firstName\" \(line 16\) both reach field first_name: only one is sent$"
# (and the warnings about FM_API_BASE and FM_API_KEY, which `on` sets)
expect_eq "one line per problem, nothing else" "$(printf '%s\n' "$out" | grep -v ': warning: ' | grep -vc ': valid, ')" 10
expect_eq "problems in line order" "$(printf '%s\n' "$out" | grep -v ': valid, \|: warning: ' | cut -d: -f2 | tr '\n' ' ')" \
	"6 7 8 9 10 11 12 13 14 15 "
out=$(on check "$B"); rc=$?
expect_eq "plain check does not go online" "$rc" 0

out=$(on FM_API_KEY=$SECRET check --online "$tmp/good.xml" 2>&1); rc=$?
expect_eq "check --online: a refused key exits 1" "$rc" 1
expect_match "check --online: says so" "$out" \
	"^$tmp/good.xml: Freshmarketer refused the API key or domain \(HTTP 401: Incorrect or missing API key\)$"
expect_no_match "check --online: never prints the key" "$out" "$SECRET"
out=$(on FM_API_BASE= check --online "$tmp/good.xml" 2>&1); rc=$?
expect_eq "check --online: no domain exits 1" "$rc" 1
expect_match "check --online: says delivery is not configured" "$out" \
	"^$tmp/good.xml: delivery not configured: no Freshmarketer domain"
out=$(on FM_API_BASE="http://127.0.0.1:$port/crm/sales/api" check --online "$tmp/good.xml" 2>&1); rc=$?
expect_eq "check --online: unreachable exits 1" "$rc" 1
expect_match "check --online: says unreachable" "$out" "^$tmp/good.xml: no field list: Freshmarketer is unreachable"

# The key file: from FM_API_KEY_FILE or the mapping, not looked at when FM_API_KEY is set.
mkdir -m 700 "$tmp/keys"
printf '%s\n' "$FMDOUBLE_KEY" >"$tmp/keys/key"
chmod 600 "$tmp/keys/key"
sed "s|<fmgate>|<fmgate><settings><freshmarketer api-key-file=\"$tmp/keys/key\"/></settings>|" \
	"$tmp/good.xml" >"$tmp/keyed.xml"
out=$(on FM_API_KEY= check --online "$tmp/keyed.xml"); rc=$?
expect_eq "check --online: a private key file exits 0" "$rc" 0
chmod 644 "$tmp/keys/key"
out=$(on FM_API_KEY= check --online "$tmp/keyed.xml"); rc=$?
expect_eq "check --online: a key file others can read exits 1" "$rc" 1
expect_match "check --online: says the key file is readable" "$out" \
	"^$tmp/keys/key: API key file: group or others may read or write it \(chmod 600\)$"
expect_eq "check --online: said once" "$(printf '%s\n' "$out" | grep -c 'may read')" 1
out=$(on FM_API_KEY= FM_API_KEY_FILE="$tmp/keys/key" check --online "$tmp/good.xml"); rc=$?
expect_eq "check --online: FM_API_KEY_FILE readable by others exits 1" "$rc" 1
expect_match "check --online: names FM_API_KEY_FILE's file" "$out" "^$tmp/keys/key: API key file: group or others may read"
out=$(on check --online "$tmp/keyed.xml"); rc=$?
expect_eq "check --online: FM_API_KEY set, the mapping's key file is not used" "$rc" 0
chmod 602 "$tmp/keys/key"
out=$(on FM_API_KEY= check --online "$tmp/keyed.xml"); rc=$?
expect_eq "check --online: a key file others can write exits 1" "$rc" 1
expect_match "check --online: says the key file is writable" "$out" \
	"^$tmp/keys/key: API key file: group or others may read or write it \(chmod 600\)$"
chmod 600 "$tmp/keys/key"
chown 65534:65534 "$tmp/keys/key"
out=$(on FM_API_KEY= check --online "$tmp/keyed.xml"); rc=$?
expect_eq "check --online: a key file another user owns exits 1" "$rc" 1
expect_match "check --online: says whose it is not" "$out" \
	"^$tmp/keys/key: API key file: belongs to a user other than root or the one fmgate runs as"
rm "$tmp/keys/key"
out=$(on FM_API_KEY= check --online "$tmp/keyed.xml"); rc=$?
expect_eq "check --online: a missing key file exits 1" "$rc" 1
expect_match "check --online: says it is missing" "$out" "^$tmp/keys/key: API key file: cannot be opened as a regular file \(missing, unreadable, or a link\)$"

# ---- settings from the environment alone -------------------------------------------------
# The web server's workers and drain have their own environments: `check` warns about a
# variable the mapping does not match, naming it and the <settings> attribute; never an error.
sed "s|<fmgate>|<fmgate><settings><freshmarketer domain=\"acme\" api-key-file=\"$tmp/keys/key\"/><spool dir=\"$tmp/spool3\"/></settings>|" \
	"$tmp/good.xml" >"$tmp/placed.xml"
P="$tmp/placed.xml"
envcheck() { # [VAR=VALUE...] MAPPING: plain check with only these settings in the environment
	env -u FM_API_BASE -u FM_API_KEY -u FM_API_KEY_FILE -u FM_DOMAIN -u FMGATE_SPOOL "${@:1:$#-1}" \
		$FMGATE_WRAP "$FMGATE_BIN" check "${@: -1}" 2>&1
}
out=$(envcheck "$P"); rc=$?
expect_eq "env: settings in the mapping alone: exit 0" "$rc" 0
expect_eq "env: settings in the mapping alone: no warning" "$out" "$P: valid, 1 form"
out=$(envcheck FM_DOMAIN=acme FM_API_KEY_FILE="$tmp/keys/key" FMGATE_SPOOL="$tmp/spool3" "$P"); rc=$?
expect_eq "env: the mapping's values again: no warning" "$out" "$P: valid, 1 form"
out=$(envcheck FM_DOMAIN=acme.myfreshworks.com FM_API_BASE=https://acme.myfreshworks.com/crm/sales/api/ "$P")
expect_eq "env: the same API base written otherwise: no warning" "$out" "$P: valid, 1 form"
out=$(envcheck FM_DOMAIN=acme FM_API_KEY_FILE="${tmp/\//\/\/}/keys//key" FMGATE_SPOOL="$tmp/spool3/" "$P")
expect_eq "env: paths with doubled and trailing slashes: no warning" \
	"$out" "$P: valid, 1 form"
out=$(envcheck FM_DOMAIN=ACME "$P")
expect_match "env: the domain in capitals: a warning (the shared state is keyed by the base as written)" "$out" \
	"^$P: warning: FM_DOMAIN in this environment overrides the mapping's"
out=$(envcheck FM_DOMAIN=acme FMGATE_SPOOL="$tmp/spool3x/" "$P")
expect_match "env: another spool dir, with a trailing slash: still a warning" "$out" \
	"^$P: warning: FMGATE_SPOOL in this environment overrides the mapping's <spool dir>"
out=$(envcheck FM_DOMAIN= FMGATE_SPOOL= "$P")
expect_eq "env: empty variables: no warning" "$out" "$P: valid, 1 form"
out=$(envcheck FM_DOMAIN=acme "$tmp/good.xml"); rc=$?
expect_eq "env: FM_DOMAIN alone: still exit 0" "$rc" 0
expect_eq "env: FM_DOMAIN alone: a warning naming it and <freshmarketer domain>, then the verdict" "$out" \
	"$tmp/good.xml: warning: FM_DOMAIN is set only in this environment: a process without it (the web server's workers or fmgate drain) does not see it; set <freshmarketer domain> in the mapping's <settings> instead (docs/deploy.md, One place for settings)
$tmp/good.xml: valid, 1 form"
out=$(envcheck FM_DOMAIN=other "$P"); rc=$?
expect_eq "env: FM_DOMAIN over another domain: still exit 0" "$rc" 0
expect_eq "env: FM_DOMAIN over another domain: the variable wins, and says so" "$out" \
	"$P: warning: FM_DOMAIN in this environment overrides the mapping's <freshmarketer domain>: a process without it (the web server's workers or fmgate drain) uses the mapping's; keep the setting in the mapping alone (docs/deploy.md, One place for settings)
$P: valid, 1 form"
warns() { # DESCRIPTION VAR=VALUE MAPPING REGEX: check with that variable warns so ($out: its output)
	out=$(envcheck "$2" "$3")
	expect_match "env: $1" "$out" "^$3: warning: $4"
}
warns "FM_API_BASE over the mapping's domain" FM_API_BASE="$API" "$P" \
	"FM_API_BASE in this environment overrides the mapping's <freshmarketer api-base>"
warns "FM_API_KEY always warns" FM_API_KEY="$SECRET" "$P" \
	"FM_API_KEY in this environment overrides the mapping's <freshmarketer api-key-file>"
expect_no_match "env: FM_API_KEY: the key never printed" "$out" "$SECRET"
warns "FM_API_KEY_FILE alone names <freshmarketer api-key-file>" FM_API_KEY_FILE="$tmp/other-key" \
	"$tmp/good.xml" "FM_API_KEY_FILE is set only in this environment.*set <freshmarketer api-key-file> in"
warns "FMGATE_SPOOL alone names <spool dir>" FMGATE_SPOOL="$tmp/spool4" "$tmp/good.xml" \
	"FMGATE_SPOOL is set only in this environment.*set <spool dir> in"
out=$(envcheck FM_DOMAIN=other FM_API_KEY=k FM_API_KEY_FILE=/k FMGATE_SPOOL="$tmp/spool4" FM_API_BASE="$API" "$P"); rc=$?
expect_eq "env: all five: exit 0" "$rc" 0
expect_eq "env: all five: one warning each" "$(printf '%s\n' "$out" | grep -c ': warning: ')" 5
# The shipped server files and units pass FMGATE_CONFIG alone: the rest is the mapping's.
shipped=("$top/apache-conf/fmgate.conf" "$top/lighttpd-conf/fmgate.conf" "$top"/systemd/*.service)
expect_eq "shipped: no setting but FMGATE_CONFIG in their environment lines" \
	"$(grep -hvE '^[[:space:]]*#' "${shipped[@]}" | grep -E 'FM_DOMAIN|FM_API_|FMGATE_SPOOL')" ""
expect_eq "shipped: each passes FMGATE_CONFIG" \
	"$(grep -lE '^(FcgidInitialEnv FMGATE_CONFIG|Environment=FMGATE_CONFIG=|[[:space:]]*"FMGATE_CONFIG" =>)' "${shipped[@]}" | wc -l)" \
	"${#shipped[@]}"

# ---- try --strict -------------------------------------------------------------------------
printf 'email=T%%40Example.com&uid=u-t&first=Tia&sector=software&size=7&company=Acme\n' >"$tmp/body"
out=$(on FMGATE_CONFIG="$MAPPING" try contact "$tmp/body"); rc=$?
expect_eq "try: a trait left out still exits 0" "$rc" 0
expect_match "try: shows it left out" "$out" 'company.name +-> - +left out: no field has this label'
out=$(on FMGATE_CONFIG="$MAPPING" try --strict contact "$tmp/body"); rc=$?
expect_eq "try --strict: a trait left out exits 1" "$rc" 1
expect_match "try --strict: says how many" "$out" '^strict: 1 trait left out \(see above\)$'
expect_match "try --strict: still prints the request" "$out" '"unique_identifier"'
cat >"$tmp/try.xml" <<'XML'
<fmgate>
  <form id="t">
    <redirect success="/ok"/>
    <user-id><from-email/></user-id>
    <field name="email" trait="email" type="email"/>
    <field name="first" trait="firstName"/>
    <field name="sector" trait="Industry"/>
    <field name="owner" trait="Owner"/>
  </form>
</fmgate>
XML
printf 'email=a%%40example.com&first=Ann&sector=music\n' >"$tmp/ok-body"
out=$(on FMGATE_CONFIG="$tmp/try.xml" try --strict t "$tmp/ok-body"); rc=$?
expect_eq "try --strict: every trait placed exits 0" "$rc" 0
expect_match "try --strict: says so" "$out" '^strict: every trait reaches a field$'
out=$(printf 'email=a%%40example.com&owner=Bob+Sales' | on FMGATE_CONFIG="$tmp/try.xml" try t --strict); rc=$?
expect_eq "try --strict: a privileged label exits 1" "$rc" 1
out=$(printf 'email=a%%40example.com&owner=Bob+Sales' | on FMGATE_CONFIG="$tmp/try.xml" try t -); rc=$?
expect_eq "try: the same without --strict exits 0" "$rc" 0
out=$(on FMGATE_CONFIG="$tmp/try.xml" FM_API_KEY=$SECRET try --strict t "$tmp/ok-body" 2>&1); rc=$?
expect_eq "try --strict: no field list (key refused) exits 1" "$rc" 1
expect_match "try --strict: says why" "$out" 'strict: Freshmarketer refused the API key or domain \(HTTP 401'
expect_no_match "try --strict: never prints the key" "$out" "$SECRET"
out=$(on FMGATE_CONFIG="$tmp/try.xml" FM_API_KEY= try --strict t "$tmp/ok-body" 2>&1); rc=$?
expect_eq "try --strict: delivery not configured exits 1" "$rc" 1
expect_match "try --strict: says no field list" "$out" 'strict: no field list: delivery not configured'
out=$(on FMGATE_CONFIG="$tmp/try.xml" FM_API_KEY= try t "$tmp/ok-body" 2>&1); rc=$?
expect_eq "try: delivery not configured still exits 0" "$rc" 0

# ---- try keeps off the spool ----------------------------------------------------------------
err=$(on FMGATE_CONFIG="$MAPPING" try contact "$tmp/body" 2>&1 >/dev/null); rc=$?
expect_eq "try without a spool: exits 0" "$rc" 0
expect_no_match "try without a spool: no warning" "$err" 'warning'
expect_no_match "try without a spool: nothing said about it" "$err" 'spool|state'
mkdir "$tmp/spool"
on FMGATE_CONFIG="$MAPPING" FMGATE_SPOOL="$tmp/spool" try contact "$tmp/body" >/dev/null 2>&1
check "try creates no state directory in the spool" test ! -e "$tmp/spool/state"
err=$(on fields 2>&1 >/dev/null)
expect_no_match "fields without a spool: no warning" "$err" 'warning|spool|state'
err=$(on check --online "$tmp/good.xml" 2>&1 >/dev/null)
expect_no_match "check --online without a spool: no warning" "$err" 'warning|spool|state'

# ---- --config on every verb ------------------------------------------------------------------
on check --config "$tmp/good.xml" >/dev/null
expect_eq "check --config" "$?" 0
on check --online --config "$B" >/dev/null
expect_eq "check --online --config (problems)" "$?" 1
on check --config "$tmp/good.xml" --online >/dev/null
expect_eq "check --config before --online" "$?" 0
out=$(on check --config "$tmp/good.xml" "$tmp/good.xml" 2>&1); rc=$?
expect_eq "check: --config and an operand is a usage error" "$rc" 2
expect_match "check: says so" "$out" 'two mappings'
on try --config "$MAPPING" bare "$tmp/ok-body" >/dev/null
expect_eq "try --config first" "$?" 0
on try bare "$tmp/ok-body" --config "$MAPPING" >/dev/null
expect_eq "try --config last" "$?" 0
on try bare "$tmp/ok-body" >/dev/null 2>&1
expect_eq "try without --config reads FMGATE_CONFIG (missing here)" "$?" 2
sed "s|<fmgate>|<fmgate><settings><freshmarketer api-base=\"$API\"/><spool dir=\"$tmp/spool2\"/></settings>|" \
	"$tmp/good.xml" >"$tmp/based.xml"
on FM_API_BASE= fields --config "$tmp/based.xml" >/dev/null 2>&1
expect_eq "fields --config: the API base of that mapping" "$?" 0
on FM_API_BASE= fields --json --config "$tmp/based.xml" >/dev/null 2>&1
expect_eq "fields --json --config" "$?" 0
on FM_API_BASE= fields >/dev/null 2>&1
expect_eq "fields without --config: no API base" "$?" 2
mkdir -m 700 "$tmp/spool2"
out=$(on status --config "$tmp/based.xml" 2>&1); rc=$?
expect_eq "status --config exits 0" "$rc" 0
expect_match "status --config: the spool of that mapping" "$out" "^spool: $tmp/spool2$"
out=$(on status --dead --config "$tmp/based.xml" 2>&1); rc=$?
expect_eq "status --dead --config" "$rc" 0
out=$(on purge --config "$tmp/based.xml" --dead 2>&1); rc=$?
expect_eq "purge --config --dead" "$rc" 0
expect_eq "purge --config: nothing about a mapping that does not load" "$out" "purged 0 dead submissions"
out=$(on purge --dead --older-than 3 --config "$tmp/based.xml" 2>&1); rc=$?
expect_eq "purge --older-than --config" "$rc" 0
out=$(on requeue --dead --config "$tmp/based.xml" 2>&1); rc=$?
expect_eq "requeue --dead --config" "$rc" 0
expect_eq "requeue --config: nothing about a mapping that does not load" "$out" "requeued 0 dead submissions"
out=$(on status 2>&1)
expect_match "status without --config: FMGATE_CONFIG's (missing) mapping" "$out" 'does not load'
on drain --config "$tmp/based.xml" >/dev/null 2>&1
expect_eq "drain --config" "$?" 0
on drain --now --config "$tmp/based.xml" >/dev/null 2>&1
expect_eq "drain --now --config" "$?" 0
on drain >/dev/null 2>&1
expect_eq "drain without --config: FMGATE_CONFIG's (missing) mapping" "$?" 2
# In the background fmgate itself (env execs it), so that $! is its pid.
"${BASE_ENV[@]}" FMGATE_SPOOL="$tmp/spool" $FMGATE_WRAP "$FMGATE_BIN" serve \
	--listen "unix:$tmp/s.sock" --workers 1 --config "$MAPPING" 2>"$tmp/serve.log" &
SERVE_PID=$!
check "serve --config: serving" wait_for test -S "$tmp/s.sock"
# The form "bare" exists only in that mapping: a post to it is accepted.
body='email=s%40example.com'
answer=$(printf '%s' "$body" | env -i PATH="$PATH" REQUEST_METHOD=POST \
	CONTENT_TYPE=application/x-www-form-urlencoded CONTENT_LENGTH=${#body} PATH_INFO=/bare \
	REMOTE_ADDR=127.0.0.1 cgi-fcgi -bind -connect "$tmp/s.sock" | tr -d '\r')
expect_match "serve --config: that mapping's form answers" "$answer" '^Status: 303'
expect_match "serve --config: with its thank-you page" "$answer" '^Location: .*/thanks.html$'
kill -TERM "$SERVE_PID"
wait "$SERVE_PID"
expect_eq "serve --config: clean stop" "$?" 0
SERVE_PID=

# ---- strict options ---------------------------------------------------------------------------
usage_error() { # DESCRIPTION ARGS...: a usage error, exit 2
	local desc=$1; shift
	on "$@" >/dev/null 2>&1
	expect_eq "$desc: exit 2" "$?" 2
}
usage_error "check: unknown option" check --bogus
usage_error "check: two operands" check a b
usage_error "check: --config without argument" check --config
usage_error "try: no form" try --strict
usage_error "try: --config twice" try --config a --config b bare
usage_error "fields: unknown option" fields --table
usage_error "drain: --now and --watch" drain --now --watch --config "$tmp/based.xml"
usage_error "drain: an operand" drain now
usage_error "status: unknown option" status --deadd
usage_error "purge: no --dead" purge --config "$tmp/based.xml"
usage_error "purge: --older-than without a number" purge --dead --older-than
usage_error "purge: --older-than not a number" purge --dead --older-than soon
usage_error "requeue: no --dead" requeue some-id
usage_error "requeue: unknown option" requeue --dead --all
usage_error "serve: no --listen" serve --config "$MAPPING"
usage_error "serve: --workers without a number" serve --listen "unix:$tmp/x.sock" --workers
usage_error "a verb --config does not exist" --config "$MAPPING"
out=$(on try --bogus bare 2>&1)
expect_match "the error names the option" "$out" '^fmgate try: unknown option: --bogus'
expect_match "then the usage" "$out" 'Every verb takes --config MAPPING'
done_testing
