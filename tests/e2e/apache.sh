#!/bin/bash
# End to end through a real Apache 2.4 with mod_fcgid and apache-conf/fmgate.conf:
# a browser-like post, the 303 followed to the thank-you page, the contact in
# the double; and the refusals that only a real server shows (413 via Apache).
. "$(dirname "$0")/../lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
double_start || exit 1
dir=$(mktemp -d /tmp/fmgate-apache.XXXXXX)
chmod 755 "$dir"
cp "$top/tests/cgi/forms.xml" "$dir/forms.xml"
chmod 644 "$dir/forms.xml"
trap '"$top/scripts/apache-local.sh" stop "$dir"; double_stop; rm -rf "$dir"' EXIT
double_reset
port=$(free_port) || exit 1
"$top/scripts/apache-local.sh" start "$dir" "$port" "$top/www" "$FMGATE_BIN" "$dir/forms.xml" \
	FM_API_BASE="$FMDOUBLE_URL/crm/sales/api" FM_API_KEY="$FMDOUBLE_KEY" || exit 1
base="http://127.0.0.1:$port"

# the page itself
# post, and follow the redirect to the thank-you page (a path form, so it stays here)
server_post_checks Apache "$base" web

out=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -H 'Origin: https://www.example.com' \
	--data 'email=full%40example.com&uid=u-ap&company=Acme&sector=music&size=12' "$base/forms/contact")
expect_eq "Apache: contact form 303" "$out" "303 https://www.example.com/thanks.html"
expect_eq "custom field through Apache" "$(double_contact u-ap custom_field.cf_industry)" "Music"

out=$(curl -s -H 'Accept: application/json' --data 'email=json%40example.com' "$base/forms/bare")
expect_match "Apache: JSON mode" "$out" '^\{"ok":true,"id":"[0-9a-f-]{36}"\}$'

out=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' --data 'email=nope' "$base/forms/contact")
expect_eq "Apache: invalid email to the failure URL" "$out" "303 https://www.example.com/contact.html?lang=en&error=invalid_email&field=email&errors=invalid_email%3Aemail%2Cmissing_field%3Acompany#form"

expect_eq "Apache: unknown form 404" "$(curl -s -o /dev/null -w '%{http_code}' --data x=1 "$base/forms/nosuch")" 404
expect_eq "Apache: GET 405" "$(curl -s -o /dev/null -w '%{http_code}' "$base/forms/contact")" 405
expect_eq "Apache: foreign origin 403" "$(curl -s -o /dev/null -w '%{http_code}' -H 'Origin: https://evil.com' --data x=1 "$base/forms/contact")" 403
big=$(head -c 6000 /dev/zero | tr '\0' a)
# fmgate's own 413 (its JSON word): mod_fcgid would answer 500 past FcgidMaxRequestLen.
out=$(curl -s -w ' %{http_code}' -H 'Accept: application/json' --data "x=$big" "$base/forms/contact")
expect_eq "Apache: body over max-body 413 from fmgate" "$out" '{"ok":false,"error":"body_too_large"} 413'
expect_eq "Apache: the same from a browser: to the failure URL" \
	"$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' --data "x=$big" "$base/forms/contact")" \
	"303 https://www.example.com/contact.html?lang=en&error=body_too_large#form"
expect_eq "Apache: the same as a page for a form without a failure URL" \
	"$(curl -s -o /dev/null -w '%{http_code}' --data "x=$big" "$base/forms/bare")" 413

# several requests in a row are served by kept-alive workers: the double sees
# few connections (one per worker process mod_fcgid started)
conns=$(double_get requests | jq '[.requests[].conn] | unique | length')
procs=$(pgrep -f "$FMGATE_BIN" | wc -l)
check "upstream connections ($conns) do not exceed worker processes ($procs + exited)" test "$conns" -le 4
check "no errors from mod_fcgid" bash -c "! grep -E 'Premature end|can.t lock|AH01071' '$dir/error.log'"
done_testing
