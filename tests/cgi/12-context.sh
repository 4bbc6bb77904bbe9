#!/bin/bash
# The identify message's context as a browser post fills it (docs/behaviour.md,
# "The identify message"): page.url from the `_page` field or else the Referer,
# with its path and search; page.title from `_title`; page.referrer from
# `_referrer`; locale from Accept-Language; userAgent; campaign from the page
# URL; and context.ip only when the mapping asks for it (<context ip="true">),
# in the settings or the form. Read where the message is kept: the spool file
# (async mode) and `fmgate try`.
. "$(dirname "$0")/../lib.sh"
double_start || exit 1
tmp=$(mktemp -d /tmp/fmgate-context.XXXXXX)
trap 'double_stop; rm -rf "$tmp"' EXIT
double_reset

form_xml() {   # form_xml ID [EXTRA]: a form posting by email, EXTRA inside it
	printf '  <form id="%s">%s\n    <redirect success="/thanks.html"/>\n' "$1" "${2:-}"
	printf '    <user-id><from-email/></user-id>\n    <field name="email" trait="email" type="email"/>\n  </form>\n'
}
# Without <context> in the settings: no ip unless the form asks.
{
	printf '<fmgate>\n  <settings>\n    <delivery mode="async"/>\n'
	printf '    <trusted-proxy>10.0.0.1</trusted-proxy>\n  </settings>\n'
	form_xml plain
	form_xml withip '<context ip="true"/>'
	printf '</fmgate>\n'
} >"$tmp/forms.xml"
# With it: every form keeps the ip, unless it says otherwise.
{
	printf '<fmgate>\n  <settings>\n    <delivery mode="async"/>\n    <context ip="true"/>\n'
	printf '    <trusted-proxy>10.0.0.1</trusted-proxy>\n  </settings>\n'
	form_xml inherit
	form_xml optout '<context ip="false"/>'
	printf '</fmgate>\n'
} >"$tmp/settings-ip.xml"
MAPPING="$tmp/forms.xml"

# the spool file of the last cgi answer (its id is in the log line)
spool_file() {
	local id
	id=$(printf '%s\n' "$CGI_ERR" | sed -n 's/.* id=\([0-9a-f-]\{36\}\) .*/\1/p' | head -n 1)
	[ -n "$id" ] && find "$TEST_SPOOL/queue" -type f -name "*-$id"
}
# ctx JQ: that filter on the context of the last post's spooled message
ctx() { jq -c "$1" <<<"$(jq -c '.identify.context' "$(spool_file)")"; }

PAGE='https%3A%2F%2Fwww.example.com%2Fpricing%2F%3Fplan%3Dpro%26utm_source%3Dpage%23faq'
BODY="email=a%40example.com&_page=$PAGE&_title=+Pricing+%E2%80%94+Acme%01+&_referrer=https%3A%2F%2Fsearch.example%2F"
HEADERS=(REMOTE_ADDR=10.0.0.1 HTTP_X_FORWARDED_FOR="203.0.113.9, 10.0.0.1"
	HTTP_REFERER="https://www.example.com/landing?utm_source=referer&utm_campaign=spring"
	HTTP_USER_AGENT="Mozilla/5.0 test" HTTP_ACCEPT_LANGUAGE="de;q=0.5, fr-BE , fr;q=0.9, *")

# ---- without <context ip="true">: everything but the ip ------------------------------------
cgi "$BODY" PATH_INFO=/plain "${HEADERS[@]}"
expect_eq "plain: queued (async)" "$CGI_STATUS" 303
check "plain: a spool file" test -n "$(spool_file)"
expect_eq "plain: no context.ip" "$(ctx 'has("ip")')" false
expect_no_match "plain: neither address anywhere in the spool file" "$(cat "$(spool_file)")" \
	'203\.0\.113\.9|10\.0\.0\.1'
expect_eq "page.url from _page, over the Referer" "$(ctx .page.url)" \
	'"https://www.example.com/pricing/?plan=pro&utm_source=page#faq"'
expect_eq "page.path" "$(ctx .page.path)" '"/pricing/"'
expect_eq "page.search, with its ?, without the fragment" "$(ctx .page.search)" '"?plan=pro&utm_source=page"'
expect_eq "page.title trimmed, control character removed" "$(ctx .page.title)" '"Pricing — Acme"'
expect_eq "page.referrer from _referrer" "$(ctx .page.referrer)" '"https://search.example/"'
expect_eq "locale: the range with the highest q" "$(ctx .locale)" '"fr-BE"'
expect_eq "userAgent" "$(ctx .userAgent)" '"Mozilla/5.0 test"'
expect_eq "campaign from _page's query, not the Referer's" "$(ctx .campaign)" '{"source":"page"}'
expect_eq "nothing else in context" "$(ctx 'keys | join(",")')" \
	'"campaign,fmgate,library,locale,page,userAgent"'
expect_eq "_page and _title are no traits" "$(jq -c '.identify.traits' "$(spool_file)")" \
	'{"email":"a@example.com"}'

# no _page: the Referer; a _page that is no http(s) URL: the Referer too
for page in '' '&_page=javascript%3Aalert(1)' '&_page=%2Fpricing%2F' '&_page=https%3A%2F%2Fu%40evil.example%2F'; do
	cgi "email=b%40example.com$page" PATH_INFO=/plain "${HEADERS[@]}"
	expect_eq "[$page]: page from the Referer" "$(ctx .page)" \
		'{"path":"/landing","search":"?utm_source=referer&utm_campaign=spring","url":"https://www.example.com/landing?utm_source=referer&utm_campaign=spring"}'
	expect_eq "[$page]: campaign from the Referer" "$(ctx .campaign)" '{"source":"referer","name":"spring"}'
done
# nothing about the page, no Accept-Language worth reading
cgi "email=c%40example.com" PATH_INFO=/plain HTTP_ACCEPT_LANGUAGE='*, en_US, 12'
expect_eq "no page, no locale" "$(ctx '[has("page"), has("locale")]')" '[false,false]'

# ---- <context ip="true"> in the form: the client address behind the trusted proxy -----------
cgi "$BODY" PATH_INFO=/withip "${HEADERS[@]}"
expect_eq "withip: queued" "$CGI_STATUS" 303
expect_eq "withip: context.ip is the client, not the proxy" "$(ctx .ip)" '"203.0.113.9"'
cgi "email=d%40example.com" PATH_INFO=/withip REMOTE_ADDR=198.51.100.4 HTTP_X_FORWARDED_FOR=192.0.2.1
expect_eq "withip: an untrusted peer's X-Forwarded-For ignored" "$(ctx .ip)" '"198.51.100.4"'

# ---- <context ip="true"> in the settings; a form may turn it off ------------------------------
MAPPING="$tmp/settings-ip.xml"
cgi "$BODY" PATH_INFO=/inherit "${HEADERS[@]}"
expect_eq "settings: the form inherits context.ip" "$(ctx .ip)" '"203.0.113.9"'
cgi "$BODY" PATH_INFO=/optout "${HEADERS[@]}"
expect_eq "settings: <context ip=\"false\"> in the form wins" "$(ctx 'has("ip")')" false
expect_no_match "optout: no address in the spool file" "$(cat "$(spool_file)")" '203\.0\.113\.9'

# ---- fmgate try: what the body gives (try has no request headers) -----------------------------
MAPPING="$tmp/forms.xml"
printf '%s' "$BODY" >"$tmp/body"
out=$(FMGATE_CONFIG="$MAPPING" FM_API_BASE="$FMDOUBLE_URL/crm/sales/api" FM_API_KEY="$FMDOUBLE_KEY" \
	$FMGATE_WRAP "$FMGATE_BIN" try plain "$tmp/body" 2>&1)
msg=$(printf '%s\n' "$out" | sed -n '/^identify message:$/,/^$/p' | sed '1d')
expect_eq "try: the page from the body" "$(jq -c '.context.page' <<<"$msg")" \
	'{"path":"/pricing/","referrer":"https://search.example/","search":"?plan=pro&utm_source=page","title":"Pricing — Acme","url":"https://www.example.com/pricing/?plan=pro&utm_source=page#faq"}'
expect_eq "try: no ip, locale or userAgent" "$(jq -c '.context | [has("ip"), has("locale"), has("userAgent")]' <<<"$msg")" \
	'[false,false,false]'
done_testing
