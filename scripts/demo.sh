#!/bin/bash
# The demo: Apache with mod_fcgid on http://localhost:8080 serving www/ and its
# forms through fmgate. It delivers to the local Freshmarketer test double,
# or to the real Freshmarketer when FM_DOMAIN and FM_API_KEY are set.
# Ctrl-C (or SIGTERM) stops everything it started.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
port=${PORT:-8080}
sh "$top/scripts/deps.sh" demo || exit 1
# build/fmgate, whatever make invoked this (a sanitizer run's SAN and BUILD
# would make another binary than the one the demo runs).
env -u MAKEFLAGS -u MAKELEVEL -u BUILD -u SAN make -C "$top" -s || exit 1

dir=$(mktemp -d /tmp/fmgate-demo.XXXXXX)
chmod 755 "$dir"
double_pid=
drain_pid=
mail_pid=
cleanup() {
	[ -n "$drain_pid" ] && kill "$drain_pid" 2>/dev/null && wait "$drain_pid" 2>/dev/null
	"$top/scripts/apache-local.sh" stop "$dir"
	[ -n "$double_pid" ] && kill "$double_pid" 2>/dev/null && wait "$double_pid" 2>/dev/null
	[ -n "$mail_pid" ] && kill "$mail_pid" 2>/dev/null && wait "$mail_pid" 2>/dev/null
	rm -rf "$dir"
	echo "demo stopped"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

# The mail catcher: the demo request's notification mails land in $dir/mail.
mkdir "$dir/mail"
/usr/bin/python3 "$top/tests/smtpd.py" --port 0 --port-file "$dir/mail.port" --dir "$dir/mail" \
	>"$dir/mail.log" 2>&1 &
mail_pid=$!
for _ in $(seq 1 100); do [ -s "$dir/mail.port" ] && break; sleep 0.1; done
[ -s "$dir/mail.port" ] || { echo "the mail catcher did not start"; exit 1; }
# The newsletter form allows the demo's own origin: follow PORT; the mails go
# to the catcher.
sed -e "s#<allow-origin>http://\(localhost\|127.0.0.1\):8080</allow-origin>#<allow-origin>http://\1:$port</allow-origin>#" \
	-e "s#smtp://127.0.0.1:2525#smtp://127.0.0.1:$(cat "$dir/mail.port")#" \
	"$top/www/forms.xml" >"$dir/forms.xml"
chmod 644 "$dir/forms.xml"

if [ -n "${FM_DOMAIN:-}" ] && [ -n "${FM_API_KEY:-}" ]; then
	case $FM_DOMAIN in
	*[!A-Za-z0-9.-]*) echo "FM_DOMAIN: letters, digits, '.' and '-' only (acme or acme.myfreshworks.com)"; exit 1 ;;
	esac
	target="domain=\"$FM_DOMAIN\""
	key=$FM_API_KEY
	where="the real Freshmarketer account $FM_DOMAIN"
else
	key=demo-key
	/usr/bin/python3 "$top/tests/fmdouble.py" --port 0 --port-file "$dir/double.port" --key "$key" \
		>"$dir/double.log" 2>&1 &
	double_pid=$!
	for _ in $(seq 1 100); do [ -s "$dir/double.port" ] && break; sleep 0.1; done
	[ -s "$dir/double.port" ] || { echo "the test double did not start"; exit 1; }
	double="http://127.0.0.1:$(cat "$dir/double.port")"
	# The text fields the demo's forms fill with the campaign and the referrer
	# (a real account needs them too: see README.md).
	for f in "cf_utm_source:UTM source" "cf_utm_medium:UTM medium" "cf_utm_campaign:UTM campaign" \
		"cf_utm_term:UTM term" "cf_utm_content:UTM content" "cf_referrer:Referrer"; do
		curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' \
			-d "{\"add\":{\"name\":\"${f%%:*}\",\"label\":\"${f#*:}\",\"type\":\"text\"}}" \
			"$double/_double/fields" || { echo "the test double refused the field ${f#*:}"; exit 1; }
	done
	target="api-base=\"$double/crm/sales/api\""
	where="the local Freshmarketer test double at $double"
fi
# The settings go in the mapping, where the workers and drain both read them,
# as on a real site (docs/deploy.md, One place for settings): the key in a
# file that the workers' user alone may read. No process started from here
# gets them from the environment too (`fmgate check` would warn): Apache and
# drain see FMGATE_CONFIG alone.
unset FM_API_BASE FM_DOMAIN FM_API_KEY FM_API_KEY_FILE FMGATE_SPOOL FMGATE_CONFIG
(umask 077 && printf '%s\n' "$key" >"$dir/api-key")
[ "$(id -u)" -eq 0 ] && chown www-data "$dir/api-key"
sed -i "s#<settings>#<settings>\n    <freshmarketer $target api-key-file=\"$dir/api-key\"/>\n    <spool dir=\"$dir/spool\"/>#" \
	"$dir/forms.xml"
APACHE_FMGATE_SPOOL_IN_MAPPING=1 \
	"$top/scripts/apache-local.sh" start "$dir" "$port" "$top/www" "$top/build/fmgate" "$dir/forms.xml" || exit 1

# The delivery service: retries what the workers spooled (CRM slow or down).
# It runs as the workers' user, so that both can use the spool's state files.
as_worker=()
[ "$(id -u)" -eq 0 ] && as_worker=(runuser -u www-data --)
"${as_worker[@]}" env FMGATE_CONFIG="$dir/forms.xml" \
	"$top/build/fmgate" drain --watch 2>>"$dir/drain.log" &
drain_pid=$!
cat <<MSG

fmgate demo running: open http://localhost:$port/ and send the contact form.
Submissions go to $where.
MSG
[ -n "$double_pid" ] && cat <<MSG
See the contacts it holds:   curl -s $double/_double/contacts
and the requests it got:     curl -s $double/_double/requests
MSG
cat <<MSG
Mails to the sales team:     ls $dir/mail   (each NNNN.eml, as sent)
fmgate's log lines:          tail -f $dir/error.log $dir/drain.log
What waits in the spool:     ${as_worker[*]}${as_worker:+ }$top/build/fmgate status --config $dir/forms.xml
Press Ctrl-C to stop.
MSG
while kill -0 "$(cat "$dir/httpd.pid" 2>/dev/null)" 2>/dev/null; do
	sleep 1
done
