#!/bin/bash
# The visitor's side in a real browser: headless Chromium (Selenium, Debian's
# packages) against Apache with mod_fcgid serving www/ and fmgate, as the demo
# runs it. The three forms with and without JavaScript, the page's own checks
# and the server's field errors, the thank-you and error pages per form and per
# language (Apache's content negotiation), utm_* and the referrer in hidden
# fields and in the CRM, the embed snippet of docs/embed.md on a second origin
# (CORS), and a refusal of each kind a browser can make (field errors, 413,
# 415, 429, 503) in English and German, with and without JavaScript, sent
# from the keyboard at 375 px. Screenshots go to BUILD/artefacts/.
# tests/browser/drive.py does the clicking.
. "$(dirname "$0")/../lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
for f in /usr/bin/chromium /usr/bin/chromedriver /usr/lib/python3/dist-packages/selenium; do
	if ! [ -e "$f" ]; then
		not_ok "$f is missing (sh scripts/deps.sh test installs chromium, chromium-driver, python3-selenium)"
		done_testing
		exit 1
	fi
done
double_start || exit 1
dir=$(mktemp -d /tmp/fmgate-browser.XXXXXX)
chmod 755 "$dir"
artefacts="$(dirname "$FMGATE_BIN")/artefacts"
mkdir -p "$artefacts"
rm -f "$artefacts"/*.png
epid= mpid=
trap '"$top/scripts/apache-local.sh" stop "$dir"; [ -n "$epid" ] && kill "$epid" 2>/dev/null; [ -n "$mpid" ] && kill "$mpid" 2>/dev/null; double_stop; rm -rf "$dir"' EXIT
# The error pages' label lists (data-fmgate-labels): the same data-field and
# data-type pairs in every language, each data-field a field of www/forms.xml.
labels=$(/usr/bin/python3 - "$top/www" <<'EOF'
import glob, os, sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser


class Labels(HTMLParser):
    def __init__(self):
        super().__init__()
        self.depth, self.pairs = 0, []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if self.depth:
            self.depth += tag != "li"
            if "data-field" in a:
                self.pairs.append((a["data-field"], a.get("data-type")))
        elif "data-fmgate-labels" in a:
            self.depth = 1

    def handle_endtag(self, tag):
        if self.depth and tag != "li":
            self.depth -= 1


fields = {f.get("name") for f in ET.parse(os.path.join(sys.argv[1], "forms.xml")).iter("field")}
seen = {}
for page in sorted(glob.glob(os.path.join(sys.argv[1], "error*.html"))):
    p = Labels()
    with open(page, encoding="utf-8") as f:
        p.feed(f.read())
    seen[os.path.basename(page)] = p.pairs
    for name, _ in p.pairs:
        if name not in fields:
            print("%s: %s is no field of forms.xml" % (os.path.basename(page), name))
first = seen.get("error.html")
print("%d pages" % len(seen) if first and all(v == first for v in seen.values()) else "pairs differ: %r" % seen)
EOF
)
expect_eq "the error pages' label lists agree, and name forms.xml's fields" "$labels" "4 pages"
# The demo's mail catcher, as scripts/demo.sh runs it.
mkdir "$dir/mail"
/usr/bin/python3 "$top/tests/smtpd.py" --port 0 --port-file "$dir/mail.port" --dir "$dir/mail" \
	>"$dir/mail.log" 2>&1 &
mpid=$!
check "the mail catcher is up" wait_for test -s "$dir/mail.port"
double_reset
# The CRM's text fields for the campaign and the referrer (www/forms.xml).
for f in "cf_utm_source:UTM source" "cf_utm_medium:UTM medium" "cf_utm_campaign:UTM campaign" \
	"cf_utm_term:UTM term" "cf_utm_content:UTM content" "cf_referrer:Referrer"; do
	double_post fields "{\"add\":{\"name\":\"${f%%:*}\",\"label\":\"${f#*:}\",\"type\":\"text\"}}" ||
		not_ok "the double takes the field ${f#*:}"
done
port=$(free_port) || exit 1
eport=$(free_port) || exit 1
site="http://127.0.0.1:$port"
embed="http://127.0.0.1:$eport"
unlisted="http://localhost:$eport"

# The demo's mapping with this run's ports, the second origin listed for the
# newsletter form (the embed snippet posts to it), and a rate-limited form
# for the second origin's limited.html (one post per hour: site.sh spends it).
# The browser posts far more than the default limit from one address: the
# other forms get <rate-limit/>.
sed -e "s|http://localhost:8080|http://localhost:$port|" -e "s|http://127.0.0.1:8080|$site|" \
	-e "s|^\(\s*\)</settings>|\1  <rate-limit/>\n&|" \
	-e "s|smtp://127.0.0.1:2525|smtp://127.0.0.1:$(cat "$dir/mail.port")|" \
	-e "s|^\(\s*\)<allow-origin>http://localhost:$port</allow-origin>|&\n\1<allow-origin>$embed</allow-origin>|" \
	-e "s|^</fmgate>|  <form id=\"limited\">\n\
    <redirect success=\"$site/thanks.html#newsletter\" failure=\"$site/error.html#newsletter\"/>\n\
    <allow-origin>$embed</allow-origin>\n\
    <rate-limit per-ip=\"1\" window=\"3600\"/>\n\
    <user-id><from-email/></user-id>\n\
    <field name=\"email\" trait=\"email\" type=\"email\" required=\"true\"/>\n\
  </form>\n&|" \
	"$top/www/forms.xml" >"$dir/forms.xml"
chmod 644 "$dir/forms.xml"
check "the test mapping lists the second origin" grep -q "<allow-origin>$embed</allow-origin>" "$dir/forms.xml"
check "the test mapping has the rate-limited form" grep -q '<rate-limit per-ip="1" window="3600"/>' "$dir/forms.xml"
check "the test mapping lifts the default rate limit" grep -q '^    <rate-limit/>$' "$dir/forms.xml"
check "the test mapping is valid" "$FMGATE_BIN" check "$dir/forms.xml" >/dev/null

# The second origin: the snippet of docs/embed.md pointed at this fmgate, and
# a page that links to the site with utm_* parameters.
mkdir -p "$dir/embed"
snippet=$(sed -n '/<!-- fmgate newsletter signup: begin -->/,/<!-- fmgate newsletter signup: end -->/p' \
	"$top/docs/embed.md")
check "docs/embed.md holds the snippet" test "$(printf '%s\n' "$snippet" | wc -l)" -gt 5
{
	echo '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Another site</title>'
	echo '<style>body{font:16px system-ui,sans-serif;margin:2rem}[aria-invalid=true]{border-color:#b3261e}.field-error{color:#b3261e}</style>'
	echo '</head><body><h1>Another site</h1><div id="embed">'
	printf '%s\n' "${snippet//https:\/\/forms.example.com/$site}"
	echo '</div></body></html>'
} >"$dir/embed/index.html"
check "the snippet now points at this fmgate" grep -q "$site/forms/newsletter" "$dir/embed/index.html"
printf '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>From</title></head><body>%s</body></html>\n' \
	"<a id=\"to-site\" href=\"$site/?utm_source=news&amp;utm_medium=email&amp;utm_campaign=spring\">Example Co.</a>" \
	>"$dir/embed/from.html"
# Refusals a plain form can make: a body over max-body (413) and a body sent
# as text/plain (415), both to the demo request; the rate-limited form, with
# fmgate-forms.js (429).
{
	echo '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Big</title></head><body>'
	echo "<form id=\"big\" method=\"post\" action=\"$site/forms/contact\">"
	echo '<input name="email" value="big@example.com" aria-label="Email"><textarea name="message" aria-label="Message">'
	head -c 70000 /dev/zero | tr '\0' x
	echo '</textarea><button type="submit">Send</button></form></body></html>'
} >"$dir/embed/big.html"
printf '%s\n' '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Plain</title></head><body>' \
	"<form id=\"plain\" method=\"post\" enctype=\"text/plain\" action=\"$site/forms/contact\">" \
	'<input name="email" value="plain@example.com" aria-label="Email"><button type="submit">Send</button></form>' \
	'</body></html>' >"$dir/embed/plain.html"
printf '%s\n' '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Limited</title></head><body>' \
	"<form id=\"limited\" method=\"post\" action=\"$site/forms/limited\" data-fmgate>" \
	'<label for="limited-email">Email</label><input id="limited-email" name="email" type="email" required>' \
	'<button type="submit">Send</button><p data-fmgate-status aria-live="polite"></p></form>' \
	"<script src=\"$site/fmgate-forms.js\" defer></script></body></html>" >"$dir/embed/limited.html"
/usr/bin/python3 -m http.server --bind 127.0.0.1 --directory "$dir/embed" "$eport" >"$dir/embed.log" 2>&1 &
epid=$!

"$top/scripts/apache-local.sh" start "$dir" "$port" "$top/www" "$FMGATE_BIN" "$dir/forms.xml" \
	FM_API_BASE="$FMDOUBLE_URL/crm/sales/api" FM_API_KEY="$FMDOUBLE_KEY" || exit 1
check "the site is up" wait_for curl -sf -o /dev/null "$site/"
check "the second origin is up" wait_for curl -sf -o /dev/null "$embed/index.html"
# Spend the limited form's budget with a refused post (no contact made).
curl -s -o /dev/null -H "Origin: $embed" --data 'email=spent' "$site/forms/limited"
expect_eq "the limited form's budget is spent" \
	"$(curl -s -o /dev/null -w '%{http_code}' -H "Origin: $embed" -H 'Accept: application/json' \
		--data 'email=spent' "$site/forms/limited")" 429

# Each line of the driver is one check.
/usr/bin/python3 "$top/tests/browser/drive.py" "$site" "$embed" "$unlisted" "$artefacts" "$dir/spool" "$FMDOUBLE_URL" \
	>"$dir/drive.out" 2>"$dir/drive.err"
rc=$?
while IFS= read -r line; do
	case $line in
	"ok "*) ok ;;
	"not ok: "*) not_ok "${line#not ok: }" ;;
	*) echo "$line" ;;
	esac
done <"$dir/drive.out"
[ "$rc" -eq 0 ] || { not_ok "drive.py exited $rc"; tail -n 20 "$dir/drive.err"; }

# What reached Freshmarketer (the double), and what did not.
expect_eq "JS contact: first name" "$(double_contact js-contact@example.com first_name)" "Jo"
expect_eq "JS contact: phone" "$(double_contact js-contact@example.com work_number)" "+49 30 1234567"
expect_eq "JS contact: industry" "$(double_contact js-contact@example.com custom_field.cf_industry)" "Software"
expect_eq "JS contact: employees" "$(double_contact js-contact@example.com custom_field.cf_employees)" "25"
expect_eq "JS newsletter: subscribed" "$(double_contact js-news@example.com custom_field.cf_newsletter)" "true"
expect_eq "embedded newsletter: the contact" "$(double_contact embed@example.com custom_field.cf_signup_source)" "Newsletter"
expect_eq "plain contact: first name" "$(double_contact nojs-contact@example.com first_name)" "Nora"
expect_eq "plain contact: industry" "$(double_contact nojs-contact@example.com custom_field.cf_industry)" "Music"
expect_eq "plain newsletter: subscribed" "$(double_contact nojs-news@example.com custom_field.cf_newsletter)" "true"
expect_eq "nothing from the unlisted origin" "$(double_contact blocked@example.com emails)" "NONE"
expect_eq "nothing from a refused post" "$(double_contact nojs-bad@example.com emails)" "NONE"
expect_eq "one upsert per accepted submission" "$(double_upserts)" 6
# The campaign and the referrer reach the CRM (www/forms.xml maps them).
expect_eq "JS contact: the campaign in the CRM" \
	"$(for f in utm_source utm_medium utm_campaign; do double_contact js-contact@example.com custom_field.cf_$f; done | tr '\n' ' ')" \
	"news email spring "
expect_eq "JS contact: the referrer in the CRM" "$(double_contact js-contact@example.com custom_field.cf_referrer)" "$embed/"
expect_eq "JS newsletter: the visit's campaign in the CRM" \
	"$(double_contact js-news@example.com custom_field.cf_utm_campaign)" "spring"
expect_eq "nothing from a refusal" \
	"$(double_get contacts | jq '[.contacts[] | select(.emails | tostring | test("r-(js|nojs)-|big@|plain@|spent"))] | length')" 0
# The demo request's company and message; the webinar's lists.
js_contact=$(double_contact js-contact@example.com id)
js_webinar=$(double_contact js-webinar@example.com id)
expect_eq "JS contact: the company is its account" \
	"$(double_get accounts | jq -c '[.sales_accounts[].name]'),$(double_contact js-contact@example.com sales_accounts | jq -c '[.[].is_primary]')" \
	'["Acme Demo"],[true]'
expect_eq "JS contact: the message is a note" \
	"$(double_get notes | jq -r --argjson c "$js_contact" '.notes[] | select(.targetable_id == $c) | .description')" \
	"$(printf 'Demo request\n\nCall me on Monday')"
expect_eq "JS webinar: in the webinar's list and, ticked, the newsletter's" \
	"$(double_get lists | jq -c --argjson c "$js_webinar" '[.lists[] | select(.contacts | index($c)) | .name]')" \
	'["Webinar December","Newsletter"]'

# The demo request's notification mail, once the delivery service ran (as
# the demo's drain --watch does).
FMGATE_CONFIG="$dir/forms.xml" FMGATE_SPOOL="$dir/spool" FM_API_BASE="$FMDOUBLE_URL/crm/sales/api" \
	FM_API_KEY="$FMDOUBLE_KEY" "$FMGATE_BIN" drain --now 2>"$dir/drain.log"
check "drain delivered the mails" test "$?" -eq 0
subjects=$(cat "$dir/mail"/*.eml 2>/dev/null | tr -d '\r' | sed -n 's/^Subject: //p' | sort | tr '\n' '|')
expect_match "a mail per demo request, to sales" "$subjects" '^Demo request from Jo ?\|Demo request from Nora ?\|$'
expect_eq "the mail answers the visitor" \
	"$(cat "$dir/mail"/*.eml | tr -d '\r' | sed -n 's/^Reply-To: //p' | sort | tr '\n' ' ')" \
	"js-contact@example.com nojs-contact@example.com "

# The access log shows how each form was sent: fetch in JSON mode (200/422
# and the bare refusals) with JavaScript, a plain post answered 303 without.
log=$(grep 'POST /forms/' "$dir/access.log")
count() { printf '%s\n' "$log" | grep -cE "POST /forms/$1 HTTP/1.1\" ($2) "; }
# With JavaScript a refused field never leaves the page: a@b is not posted.
expect_eq "contact: three 422s and one 200 from fetch" "$(count contact 422) $(count contact 200)" "3 1"
# Every plain post gets its 303: two from the page without JS, a field
# error per nojs run (2), big.html and plain.html per run (4 + 4); fetch
# gets its 413 bare (js runs: 2), and nothing else reaches fetch.
expect_eq "contact: 12 plain posts answered 303" "$(count contact 303)" 12
expect_eq "contact: 413 bare to fetch only, no bare 415" "$(count contact 413) $(count contact 415)" "2 0"
expect_eq "newsletter: two 200s (site and embed)" "$(count newsletter 200)" 2
expect_eq "newsletter: the plain post and the nojs 503s answered 303" "$(count newsletter 303)" 3
expect_eq "newsletter: 503 bare to fetch only" "$(count newsletter 503)" 2
expect_eq "newsletter: the unlisted origin got 403" "$(count newsletter 403)" 1
# site.sh's first curl (a plain post) and the two nojs runs get 303; the
# JSON curl and the two js runs get 429.
expect_eq "limited: plain posts answered 303" "$(count limited 303)" 3
expect_eq "limited: 429 bare to JSON clients only" "$(count limited 429)" 3
expect_eq "no other answer to a post" \
	"$(printf '%s\n' "$log" | grep -cvE '" (200|303|403|413|422|429|503) ')" 0
expect_eq "not one 404 (the icon is there)" "$(grep -c '" 404 ' "$dir/access.log")" 0
check "the icon is asked for and served" grep -q 'GET /favicon.svg HTTP/1.1" 200 ' "$dir/access.log"
for png in js-contact-error js-thanks error-page embed-done nojs-thanks nojs-thanks-newsletter nojs-error \
	js-en-fields js-de-fields nojs-en-fields nojs-de-fields js-en-error-page js-de-error-page \
	js-en-429 js-de-429 js-en-503 js-de-503; do
	check "screenshot $png.png saved" test -s "$artefacts/$png.png"
done
done_testing
