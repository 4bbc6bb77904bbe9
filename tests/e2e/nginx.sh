#!/bin/bash
# End to end through nginx and nginx-conf/fmgate.conf: `fmgate serve` started
# with the command line of systemd/fmgate.service (paths moved to a private
# folder), nginx on 127.0.0.1 passing /forms/ID to its unix socket. A post,
# the 303 followed to the thank-you page, the contact in the double; 413 from
# fmgate (not from nginx) for a body over max-body; a clean stop.
. "$(dirname "$0")/../lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
if ! [ -x /usr/sbin/nginx ]; then
	not_ok "nginx is not installed (sh scripts/deps.sh test installs it)"
	done_testing
	exit 1
fi
double_start || exit 1
dir=$(mktemp -d /tmp/fmgate-nginx.XXXXXX)
chmod 755 "$dir"
npid=""
spid=""
stop_pid() {
	[ -n "$1" ] || return 0
	kill -TERM "$1" 2>/dev/null
	for _ in $(seq 1 150); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
	kill -KILL "$1" 2>/dev/null
	return 1
}
trap 'stop_pid "$npid"; stop_pid "$spid"; double_stop; rm -rf "$dir"' EXIT
double_reset
port=$(free_port) || exit 1
base="http://127.0.0.1:$port"

cp "$top/tests/cgi/forms.xml" "$dir/forms.xml"
chmod 644 "$dir/forms.xml"
mkdir -p "$dir/run" "$dir/log" "$dir/spool" "$dir/tmp"
user=
if [ "$(id -u)" -eq 0 ]; then
	user=www-data
	chown "$user" "$dir/spool" "$dir/tmp"
fi

# fmgate serve, as the unit starts it: its ExecStart with this run's binary
# and socket (and without --user when not root, where it cannot drop).
unit="$top/systemd/fmgate.service"
cmd=$(sed -n 's/^ExecStart=//p' "$unit")
expect_match "the unit runs fmgate serve on /run/fmgate/fmgate.sock as www-data" "$cmd" \
	'^/usr/bin/fmgate serve --listen unix:/run/fmgate/fmgate\.sock --user www-data$'
check "the unit makes /run/fmgate" grep -qx 'RuntimeDirectory=fmgate' "$unit"
sock="$dir/run/fmgate.sock"
cmd=${cmd/\/usr\/bin\/fmgate/$FMGATE_BIN}
cmd=${cmd/unix:\/run\/fmgate\/fmgate.sock/unix:$sock}
[ -z "$user" ] && cmd=${cmd/ --user www-data/}
# shellcheck disable=SC2086
env FMGATE_CONFIG="$dir/forms.xml" FMGATE_SPOOL="$dir/spool" \
	FM_API_BASE="$FMDOUBLE_URL/crm/sales/api" FM_API_KEY="$FMDOUBLE_KEY" \
	$cmd --workers 2 2>"$dir/log/fmgate.log" &
spid=$!
wait_for test -S "$sock"
check "fmgate serve made its socket" test -S "$sock"
[ -n "$user" ] && expect_eq "the socket belongs to www-data" "$(stat -c %U "$sock")" www-data

# nginx with a private top-level config that includes the shipped snippet
# inside its server block, the socket path moved to this run's folder.
sed "s|unix:/run/fmgate/fmgate.sock|unix:$sock|" "$top/nginx-conf/fmgate.conf" >"$dir/fmgate.conf"
check "the snippet's socket was rewritten" grep -q "unix:$sock;" "$dir/fmgate.conf"
cp /etc/nginx/fastcgi_params /etc/nginx/mime.types "$dir/"
{
	echo "daemon off;"
	echo "worker_processes 1;"
	echo "pid $dir/nginx.pid;"
	echo "error_log $dir/log/error.log warn;"
	[ -n "$user" ] && echo "user $user;"
	echo "events { worker_connections 64; }"
	echo "http {"
	echo "  access_log $dir/log/access.log;"
	for t in client_body fastcgi proxy uwsgi scgi; do echo "  ${t}_temp_path $dir/tmp/$t;"; done
	echo "  include mime.types;"
	echo "  default_type application/octet-stream;"
	echo "  server {"
	echo "    listen 127.0.0.1:$port;"
	echo "    root $top/www;"
	echo "    index index.html;"
	echo "    include fmgate.conf;"
	echo "  }"
	echo "}"
} >"$dir/nginx.conf"
check "nginx accepts the config" /usr/sbin/nginx -t -q -e "$dir/log/error.log" -c "$dir/nginx.conf"
/usr/sbin/nginx -e "$dir/log/error.log" -c "$dir/nginx.conf" &
npid=$!
wait_for curl -sf -o /dev/null "$base/"

server_post_checks nginx "$base" ng

out=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -H 'Origin: https://www.example.com' \
	--data 'email=full%40example.com&uid=u-ng&company=Acme&sector=software&size=7' "$base/forms/contact")
expect_eq "nginx: contact form 303" "$out" "303 https://www.example.com/thanks.html"
expect_eq "custom field through nginx" "$(double_contact u-ng custom_field.cf_industry)" "Software"
out=$(curl -s -D "$dir/h" -H 'Accept: application/json' -H 'Origin: https://shop.example.org' \
	--data 'email=json%40example.com&company=X' "$base/forms/contact")
expect_match "nginx: JSON mode" "$out" '^\{"ok":true,"id":"[0-9a-f-]{36}"\}$'
expect_match "nginx: CORS header passed on" "$(tr -d '\r' <"$dir/h")" \
	'Access-Control-Allow-Origin: https://shop\.example\.org'
out=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' --data 'email=nope' "$base/forms/contact")
expect_eq "nginx: invalid email to the failure URL" "$out" \
	"303 https://www.example.com/contact.html?lang=en&error=invalid_email&field=email&errors=invalid_email%3Aemail%2Cmissing_field%3Acompany#form"

# The form id comes from PATH_INFO as fastcgi_split_path_info cuts it.
expect_eq "nginx: unknown form 404" "$(curl -s -o /dev/null -w '%{http_code}' --data x=1 "$base/forms/nosuch")" 404
expect_eq "nginx: a deeper path is no form" \
	"$(curl -s -o /dev/null -w '%{http_code}' --data 'email=d%40example.com' "$base/forms/x/bare")" 404
expect_eq "nginx: a query does not hide the id" \
	"$(curl -s -o /dev/null -w '%{http_code}' --data 'email=q%40example.com' "$base/forms/bare?x=1")" 303
expect_eq "nginx: GET 405" "$(curl -s -o /dev/null -w '%{http_code}' "$base/forms/contact")" 405
expect_eq "nginx: foreign origin 403" \
	"$(curl -s -o /dev/null -w '%{http_code}' -H 'Origin: https://evil.com' --data x=1 "$base/forms/contact")" 403

# 413 from fmgate itself (its JSON word), then nginx's own cap far above it.
big=$(head -c 6000 /dev/zero | tr '\0' a)
out=$(curl -s -w ' %{http_code}' -H 'Accept: application/json' --data "x=$big" "$base/forms/contact")
expect_eq "nginx: body over max-body 413 from fmgate" "$out" '{"ok":false,"error":"body_too_large"} 413'
head -c 1100000 /dev/zero | tr '\0' a >"$dir/huge"
expect_eq "nginx: a body over client_max_body_size is refused by nginx" \
	"$(curl -s -o /dev/null -w '%{http_code}' --data-binary "@$dir/huge" "$base/forms/contact")" 413

check "log line per submission" grep -q 'form=bare outcome=' "$dir/log/fmgate.log"
check "no submitted value in the log" bash -c "! grep -qE 'Firstng|ng@example|Acme' '$dir/log/fmgate.log'"
if [ -n "$user" ]; then
	workers=$(pgrep -P "$spid" | xargs -r ps -o user= -p | sort -u)
	expect_eq "the workers run as www-data" "$workers" www-data
fi
check "nginx logged no upstream error" bash -c "! grep -q 'upstream' '$dir/log/error.log'"
check "nginx stops on SIGTERM" stop_pid "$npid"
npid=
check "fmgate serve stops on SIGTERM" stop_pid "$spid"
wait "$spid"
expect_eq "fmgate serve exits 0" "$?" 0
spid=
check "no sanitizer or crash report from the workers" \
	bash -c "! grep -qE 'Sanitizer|runtime error|Segmentation' '$dir/log/fmgate.log'"
done_testing
