#!/bin/bash
# SSRF (a lesson from other form handlers: the upstream URL comes from config
# only; no redirect-following in libcurl): Freshmarketer, or anything posing as
# it, answers with a redirect to another host. fmgate never follows it: nothing
# connects to the target, so neither the post's data nor the API key reaches it,
# and the submission is kept (spooled) as one the API could not take now. Set
# CURLOPT_FOLLOWLOCATION to 1 in fm_client.c and the listener below is hit.
. "$(dirname "$0")/common.bash"
double_reset
trap_port=$(free_port) || exit 1
# A listener that writes a line for each connection it gets. It says it is
# listening by a file, not by being connected to: a probe's connection could
# be written down after it was cleared, and count as a hit.
/usr/bin/python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8)
open(sys.argv[3], "w").close()
while True:
    c, _ = s.accept()
    with open(sys.argv[2], "a") as f: f.write("hit\n")
    c.close()
' "$trap_port" "$ATK_TMP/hits" "$ATK_TMP/listening" &
listener=$!
trap 'kill $listener 2>/dev/null; wait $listener 2>/dev/null; double_stop; rm -rf "$ATK_TMP"' EXIT
check "the listener is up" wait_for test -e "$ATK_TMP/listening"
target="http://127.0.0.1:$trap_port/steal"

n=0
for status in 301 302 303 307 308; do
	for path in /contacts/upsert /settings/contacts/fields; do
		n=$((n + 1))
		double_reset
		double_post fault "{\"kind\":\"status\",\"status\":$status,\"location\":\"$target\",\"path\":\"$path\",\"count\":-1}"
		# (a custom trait, so the field list is needed: fetched on a cold cache)
		rm -f "$ATK_TMP/spool/state/fields.json" "$ATK_TMP/spool/state/fields.failed"
		acgi "$status to another host on $path" "email=ssrf$n%40example.com&uid=u-ssrf$n&sector=Retail"
		expect_eq "$status on $path: the visitor's post is kept (303 to thanks)" \
			"$CGI_STATUS $(header Location)" "303 https://www.example.com/thanks.html"
		expect_match "$status on $path: logged as not delivered" "$CGI_ERR" "http=$status"
	done
done
sleep 0.2
check "no connection ever reached the redirect target" test ! -e "$ATK_TMP/hits"
expect_eq "the submissions wait in the spool" \
	"$(find "$ATK_TMP/spool/queue" -type f | wc -l)" "$n"
attack_done
