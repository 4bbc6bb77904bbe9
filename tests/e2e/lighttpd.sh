#!/bin/bash
# End to end through lighttpd 1.4 with mod_fastcgi and lighttpd-conf/fmgate.conf:
# lighttpd starts the fmgate workers itself (bin-path). A post, the 303 followed
# to the thank-you page, the contact in the double; 413 from fmgate (not from
# lighttpd) for a body over max-body; the per-submission log line.
. "$(dirname "$0")/../lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
if ! [ -x /usr/sbin/lighttpd ]; then
	not_ok "lighttpd is not installed (sh scripts/deps.sh test installs it)"
	done_testing
	exit 1
fi
double_start || exit 1
dir=$(mktemp -d /tmp/fmgate-lighttpd.XXXXXX)
chmod 755 "$dir"
lpid=
stop_lighttpd() {
	[ -n "$lpid" ] || return 0
	kill -TERM "$lpid" 2>/dev/null
	for _ in $(seq 1 100); do kill -0 "$lpid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$lpid" 2>/dev/null
	lpid=
}
trap 'stop_lighttpd; double_stop; rm -rf "$dir"' EXIT
double_reset
port=$(free_port) || exit 1
base="http://127.0.0.1:$port"

cp "$top/tests/cgi/forms.xml" "$dir/forms.xml"
chmod 644 "$dir/forms.xml"
mkdir -p "$dir/run" "$dir/log" "$dir/spool" "$dir/uploads"
user=
# lighttpd opens its logs after dropping to its user: that user owns the folders.
if [ "$(id -u)" -eq 0 ]; then
	user=www-data
	chown "$user" "$dir/run" "$dir/log" "$dir/spool" "$dir/uploads"
fi

# The shipped snippet, with this run's paths and the double's address added to
# the workers' environment. A change to the lines rewritten here fails below.
sed -e "s|^var.fmgate_bin .*|var.fmgate_bin = \"$FMGATE_BIN\"|" \
	-e "s|^var.fmgate_config .*|var.fmgate_config = \"$dir/forms.xml\"|" \
	-e "s|^var.fmgate_socket .*|var.fmgate_socket = \"$dir/run/fmgate.socket\"|" \
	-e "s|^var.fmgate_log .*|var.fmgate_log = \"$dir/log/fmgate.log\"|" \
	-e "s|^\(\t*\)\"FMGATE_CONFIG\" .*|&\n\1\"FMGATE_SPOOL\" => \"$dir/spool\",\n\1\"FM_API_BASE\" => \"$FMDOUBLE_URL/crm/sales/api\",\n\1\"FM_API_KEY\" => \"$FMDOUBLE_KEY\",|" \
	"$top/lighttpd-conf/fmgate.conf" >"$dir/fmgate.conf"
expect_eq "the snippet's paths were all rewritten" \
	"$(grep -cE '^var\.fmgate_[a-z]+ = "(/usr|/etc|/var|/run)' "$dir/fmgate.conf")" 0
expect_eq "the snippet has the four path variables" "$(grep -c '^var\.fmgate_' "$dir/fmgate.conf")" 4
check "the double's address reached bin-environment" grep -q '"FM_API_BASE" =>' "$dir/fmgate.conf"
{
	echo "server.document-root = \"$top/www\""
	echo "server.bind = \"127.0.0.1\""
	echo "server.port = $port"
	[ -n "$user" ] && echo "server.username = \"$user\"" && echo "server.groupname = \"$user\""
	echo "server.pid-file = \"$dir/lighttpd.pid\""
	echo "server.errorlog = \"$dir/log/error.log\""
	echo "server.upload-dirs = ( \"$dir/uploads\" )"
	echo "index-file.names = ( \"index.html\" )"
	echo "mimetype.assign = ( \".html\" => \"text/html; charset=utf-8\", \".css\" => \"text/css\", \".js\" => \"text/javascript\" )"
	echo "include \"$dir/fmgate.conf\""
} >"$dir/lighttpd.conf"
check "lighttpd accepts the config" /usr/sbin/lighttpd -tt -f "$dir/lighttpd.conf"
/usr/sbin/lighttpd -f "$dir/lighttpd.conf" || { not_ok "lighttpd did not start"; cat "$dir/log/error.log"; done_testing; exit 1; }
wait_for test -s "$dir/lighttpd.pid" && lpid=$(cat "$dir/lighttpd.pid")
check "lighttpd is running" kill -0 "${lpid:-0}"
wait_for curl -sf -o /dev/null "$base/"

server_post_checks lighttpd "$base" lh

out=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -H 'Origin: https://www.example.com' \
	--data 'email=full%40example.com&uid=u-lh&company=Acme&sector=music&size=12' "$base/forms/contact")
expect_eq "lighttpd: contact form 303" "$out" "303 https://www.example.com/thanks.html"
expect_eq "custom field through lighttpd" "$(double_contact u-lh custom_field.cf_industry)" "Music"
out=$(curl -s -H 'Accept: application/json' --data 'email=json%40example.com' "$base/forms/bare")
expect_match "lighttpd: JSON mode" "$out" '^\{"ok":true,"id":"[0-9a-f-]{36}"\}$'
out=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' --data 'email=nope' "$base/forms/contact")
expect_eq "lighttpd: invalid email to the failure URL" "$out" \
	"303 https://www.example.com/contact.html?lang=en&error=invalid_email&field=email&errors=invalid_email%3Aemail%2Cmissing_field%3Acompany#form"

# The form id comes from the last segment of REQUEST_URI (lighttpd sets no PATH_INFO).
expect_eq "lighttpd: unknown form 404" "$(curl -s -o /dev/null -w '%{http_code}' --data x=1 "$base/forms/nosuch")" 404
expect_eq "lighttpd: a query does not hide the id" \
	"$(curl -s -o /dev/null -w '%{http_code}' --data 'email=q%40example.com' "$base/forms/bare?x=1")" 303
expect_eq "lighttpd: GET 405" "$(curl -s -o /dev/null -w '%{http_code}' "$base/forms/contact")" 405
expect_eq "lighttpd: foreign origin 403" \
	"$(curl -s -o /dev/null -w '%{http_code}' -H 'Origin: https://evil.com' --data x=1 "$base/forms/contact")" 403

# 413 from fmgate itself (its JSON word), then lighttpd's own cap far above it.
big=$(head -c 6000 /dev/zero | tr '\0' a)
out=$(curl -s -w ' %{http_code}' -H 'Accept: application/json' --data "x=$big" "$base/forms/contact")
expect_eq "lighttpd: body over max-body 413 from fmgate" "$out" '{"ok":false,"error":"body_too_large"} 413'
head -c 1100000 /dev/zero | tr '\0' a >"$dir/huge"
expect_eq "lighttpd: a body over server.max-request-size is refused by lighttpd" \
	"$(curl -s -o /dev/null -w '%{http_code}' --data-binary "@$dir/huge" "$base/forms/contact")" 413

# fmgate's stderr reaches the breakage log: one line per submission, no values.
wait_for grep -q 'form=bare outcome=' "$dir/log/fmgate.log"
check "log line per submission in the breakage log" grep -q 'form=contact outcome=' "$dir/log/fmgate.log"
check "no submitted value in the log" bash -c "! grep -qE 'Firstlh|lh@example|Acme' '$dir/log/fmgate.log'"
workers=$(pgrep -f -x "$FMGATE_BIN" -P "$lpid" | wc -l)
expect_eq "lighttpd started max-procs workers" "$workers" 4
parent=$lpid
stop_lighttpd
wait_for bash -c "! pgrep -f -x '$FMGATE_BIN' -P '$parent' >/dev/null"
expect_eq "the workers stop with lighttpd" "$(pgrep -f -x "$FMGATE_BIN" -P "$parent" | wc -l)" 0
check "no sanitizer or crash report from the workers" \
	bash -c "! grep -qE 'Sanitizer|runtime error|Segmentation' '$dir/log/fmgate.log'"
done_testing
