#!/bin/bash
# `fmgate metrics` and `status --json` after posts through CGI mode: exact
# counts per form, outcome and refusal code, deliveries per destination and
# outcome, the latency histogram's count, the spool gauges and the pause;
# counted by many processes at once and by `serve`'s workers; the text
# parses as the Prometheus format; `--out` replaces its file whole, also with
# two writers at once; status --json agrees; a metrics file of another layout
# leaves its counters out and the rest printed.
. "$(dirname "$0")/../lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
double_start || exit 1
test_spool
W=$(mktemp -d /tmp/fmgate-metrics.XXXXXX)
SERVE_PID=
cleanup() {
	if [ -n "$SERVE_PID" ]; then kill -TERM "$SERVE_PID" 2>/dev/null; wait "$SERVE_PID" 2>/dev/null; fi
	double_stop
	rm -rf "$W"
}
trap cleanup EXIT

(umask 077; printf '%s\n' 'hook-secret-Mt0123456789' >"$W/hook")
cat >"$W/m.xml" <<EOF
<fmgate>
  <settings>
    <delivery mode="sync" timeout-ms="3000"/>
    <rate-limit/>
  </settings>
  <form id="contact">
    <redirect success="/thanks.html"/>
    <honeypot field="website"/>
    <user-id><from-field name="uid"/></user-id>
    <field name="email"   trait="email" type="email" required="true"/>
    <field name="company" trait="company.name" required="true"/>
  </form>
  <form id="hooked">
    <redirect success="/thanks.html"/>
    <user-id><from-email/></user-id>
    <field name="email" trait="email" type="email"/>
    <webhook name="sheet" url="$FMDOUBLE_URL/_hooks/sheet" secret-file="$W/hook"/>
  </form>
  <form id="limited">
    <redirect success="/thanks.html"/>
    <rate-limit per-ip="1" window="600"/>
    <user-id><from-email/></user-id>
    <field name="email" trait="email" type="email"/>
  </form>
</fmgate>
EOF
MAPPING="$W/m.xml"
check "the mapping checks" bash -c '"$1" check "$2" >/dev/null' _ "$FMGATE_BIN" "$MAPPING"
double_reset

post() { cgi "$@"; echo "$CGI_ERR" >>"$W/all.log"; }
# metric SERIES: its value in `fmgate metrics` ("none" when absent)
metric() {
	local v
	v=$(fmg metrics 2>>"$W/all.log" | awk -v s="$1" '$1 == s { print $2 }')
	echo "${v:-none}"
}

# --- no file yet: the gauges alone, and a valid text
out=$(fmg metrics 2>>"$W/all.log")
expect_eq "an empty spool: exit 0" "$?" 0
expect_eq "an empty spool: the gauges" "$(grep -cx 'fmgate_spool_waiting 0' <<<"$out")" 1
expect_no_match "an empty spool: no posts" "$out" 'fmgate_posts_total\{'
expect_eq "an empty spool: nothing made in it (run as root, it would shut out the workers)" \
	"$(ls -A "$TEST_SPOOL")" ""

# --- posts of every kind
post "email=a1%40example.com&uid=a1&company=Acme" PATH_INFO=/contact
post "email=a2%40example.com&uid=a2&company=Acme" PATH_INFO=/contact
expect_eq "delivered: 303" "$CGI_STATUS" 303
double_post fault '{"kind":"status","status":503,"count":1,"path":"/contacts/upsert"}'
post "email=r1%40example.com&uid=r1&company=Acme" PATH_INFO=/contact
expect_match "503: spooled" "$CGI_ERR" 'outcome=retry .*spool=queue'
double_post fault '{"kind":"status","status":422,"count":1,"path":"/contacts/upsert"}'
post "email=d1%40example.com&uid=d1&company=Acme" PATH_INFO=/contact
expect_match "422: rejected, dead" "$CGI_ERR" 'outcome=rejected .*spool=dead'
post "email=bad&uid=i1&company=Acme" PATH_INFO=/contact
post "email=bad2&uid=i2&company=Acme" PATH_INFO=/contact
post "email=m%40example.com&uid=i3" PATH_INFO=/contact
expect_eq "missing company: 422" "$CGI_STATUS" 422
post "email=h%40example.com&uid=h1&company=Acme&website=spam" PATH_INFO=/contact
expect_match "honeypot" "$CGI_ERR" 'outcome=honeypot'
post "email=x%40example.com" PATH_INFO=/nope
expect_eq "no such form: 404" "$CGI_STATUS" 404
post "" PATH_INFO=/contact REQUEST_METHOD=GET
expect_eq "GET: 405" "$CGI_STATUS" 405
post "email=w1%40example.com" PATH_INFO=/hooked
expect_match "hooked: delivered, one destination file" "$CGI_ERR" 'outcome=delivered .*dests=1'
post "email=l1%40example.com" PATH_INFO=/limited
post "email=l2%40example.com" PATH_INFO=/limited
expect_eq "limited: 429" "$CGI_STATUS" 429

expect_eq "contact delivered" "$(metric 'fmgate_posts_total{form="contact",outcome="delivered"}')" 2
expect_eq "contact retry" "$(metric 'fmgate_posts_total{form="contact",outcome="retry"}')" 1
expect_eq "contact rejected" "$(metric 'fmgate_posts_total{form="contact",outcome="rejected"}')" 1
expect_eq "contact invalid" "$(metric 'fmgate_posts_total{form="contact",outcome="invalid"}')" 3
expect_eq "contact honeypot" "$(metric 'fmgate_posts_total{form="contact",outcome="honeypot"}')" 1
expect_eq "contact refused (405)" "$(metric 'fmgate_posts_total{form="contact",outcome="refused"}')" 1
expect_eq "code invalid_email" "$(metric 'fmgate_refusals_total{form="contact",code="invalid_email"}')" 2
expect_eq "code missing_field" "$(metric 'fmgate_refusals_total{form="contact",code="missing_field"}')" 1
expect_eq "code rejected" "$(metric 'fmgate_refusals_total{form="contact",code="rejected"}')" 1
expect_eq "code method_not_allowed" \
	"$(metric 'fmgate_refusals_total{form="contact",code="method_not_allowed"}')" 1
expect_eq "no refusal code for a success" "$(fmg metrics | grep -c 'code="none"\|code="other"')" 0
expect_eq "no form: _none, not_found" \
	"$(metric 'fmgate_posts_total{form="_none",outcome="refused"}'),$(metric 'fmgate_refusals_total{form="_none",code="not_found"}')" "1,1"
expect_eq "limited: one delivered, one rate_limited" \
	"$(metric 'fmgate_posts_total{form="limited",outcome="delivered"}'),$(metric 'fmgate_posts_total{form="limited",outcome="rate_limited"}'),$(metric 'fmgate_refusals_total{form="limited",code="rate_limited"}')" "1,1,1"
expect_eq "deliveries: contact to the CRM" \
	"$(metric 'fmgate_deliveries_total{form="contact",destination="freshmarketer",outcome="delivered"}'),$(metric 'fmgate_deliveries_total{form="contact",destination="freshmarketer",outcome="retry"}'),$(metric 'fmgate_deliveries_total{form="contact",destination="freshmarketer",outcome="rejected"}')" "2,1,1"
expect_eq "latency: one observation per attempt" \
	"$(metric 'fmgate_delivery_duration_seconds_count{form="contact",destination="freshmarketer"}')" 4
expect_eq "latency: +Inf is the count" \
	"$(metric 'fmgate_delivery_duration_seconds_bucket{form="contact",destination="freshmarketer",le="+Inf"}')" 4
expect_eq "the webhook not tried yet" \
	"$(metric 'fmgate_deliveries_total{form="hooked",destination="sheet",outcome="delivered"}')" none
expect_eq "spool: waiting (the retry and the webhook), dead" \
	"$(metric fmgate_spool_waiting),$(metric fmgate_spool_in_flight),$(metric fmgate_spool_dead)" "2,0,1"
sleep 2
expect_match "spool: the oldest's age" "$(metric fmgate_spool_oldest_waiting_seconds)" '^[1-9][0-9]*$'
expect_eq "not paused" "$(metric fmgate_delivery_paused)" 0
expect_eq "no rate budget known: left out" "$(metric fmgate_rate_budget_minute_remaining)" none

# --- the text format: every line a comment or `name{labels} value`
fmg metrics >"$W/text" 2>>"$W/all.log"
label='[a-z_]+="([^"\\]|\\.)*"'
expect_eq "every line parses" "$(grep -Evc "^# (HELP|TYPE) fmgate_[a-z_]+ .+\$|^fmgate_[a-z_]+(\{$label(,$label)*\})? ([0-9]+(\.[0-9]+)?)\$" "$W/text")" 0
expect_eq "each metric's TYPE once" "$(grep '^# TYPE' "$W/text" | sort | uniq -d | wc -l)" 0
expect_eq "a TYPE for every series" \
	"$(grep -v '^#' "$W/text" | sed 's/[{ ].*//; s/_\(bucket\|sum\|count\)$//' | sort -u | while read -r n; do grep -q "^# TYPE $n " "$W/text" || echo "$n"; done)" ""

# --- drain: the waiting ones delivered, counted by the drain's process
fmg drain --now 2>>"$W/all.log"
expect_eq "drain: exit 0" "$?" 0
expect_eq "drained: CRM delivered" \
	"$(metric 'fmgate_deliveries_total{form="contact",destination="freshmarketer",outcome="delivered"}')" 3
expect_eq "drained: the webhook" \
	"$(metric 'fmgate_deliveries_total{form="hooked",destination="sheet",outcome="delivered"}'),$(metric 'fmgate_delivery_duration_seconds_count{form="hooked",destination="sheet"}')" "1,1"
expect_eq "drained: posts unchanged" "$(metric 'fmgate_posts_total{form="contact",outcome="retry"}')" 1
expect_eq "drained: nothing waits" "$(metric fmgate_spool_waiting),$(metric fmgate_spool_oldest_waiting_seconds)" "0,0"

# --- many processes at once: every post counted
pids=
for i in $(seq 1 24); do
	( cgi "email=p$i%40example.com&uid=p$i&company=Acme" PATH_INFO=/contact ) &
	pids="$pids $!"
done
wait $pids
expect_eq "24 concurrent posts, all counted" \
	"$(metric 'fmgate_posts_total{form="contact",outcome="delivered"}')" 26

# --- --out: the file replaced whole
(umask 077; fmg metrics --out "$W/fmgate.prom" 2>>"$W/all.log")
expect_eq "--out: exit 0" "$?" 0
expect_eq "--out: no temporary file left" "$(ls "$W" | grep -c '^fmgate\.prom\.')" 0
expect_eq "--out: readable by the collector, whatever the umask" "$(stat -c %a "$W/fmgate.prom")" 644
expect_eq "--out: the same counts" "$(grep -v spool "$W/fmgate.prom")" "$(fmg metrics 2>/dev/null | grep -v spool)"
# Writers at once (the timer and an operator): each its own temporary file.
for j in 1 2 3 4; do
	( for i in $(seq 1 15); do
		fmg metrics --out "$W/c.prom" 2>>"$W/all.log" || echo "fail $j $i"
	done ) >"$W/writers.$j" &
	pids="$pids $!"
done
wait $pids
expect_eq "--out: 4 writers at once, none fails" "$(cat "$W"/writers.*)" ""
expect_eq "--out: 4 writers at once, no temporary file left" "$(ls "$W" | grep -c '^c\.prom\.')" 0
expect_eq "--out: 4 writers at once, the file whole" "$(tail -n 1 "$W/c.prom")" "fmgate_delivery_paused 0"
fmg metrics --out "$W/no/such/dir.prom" 2>"$W/err"
expect_eq "--out: an unwritable place, exit 2" "$?" 2
expect_match "--out: says why" "$(cat "$W/err")" 'cannot write'
mkdir "$W/d.prom"
fmg metrics --out "$W/d.prom" 2>"$W/err"
expect_eq "--out: cannot rename (a directory there), exit 2" "$?" 2
expect_eq "--out: a failed write leaves no temporary file" "$(ls "$W" | grep -c '^d\.prom\.')" 0

# --- status --json agrees
json=$(fmg status --json 2>>"$W/all.log")
expect_eq "status --json: exit 1 (one dead)" "$?" 1
check "status --json parses" jq -e type <<<"$json" >/dev/null
expect_eq "status --json: posts" \
	"$(jq '.posts[] | select(.form == "contact") | [.outcomes.delivered, .outcomes.invalid, .refusals.invalid_email]' -c <<<"$json")" "[26,3,2]"
expect_eq "status --json: deliveries and latency" \
	"$(jq -c '.deliveries[] | select(.form == "hooked" and .destination == "sheet") | [.outcomes.delivered, .latency.count, .latency.buckets["+Inf"]]' <<<"$json")" "[1,1,1]"
expect_eq "status --json: spool as the text" \
	"$(jq -c '[.spool.waiting, .spool.dead, .paused]' <<<"$json")" "[$(metric fmgate_spool_waiting),$(metric fmgate_spool_dead),false]"
expect_eq "status --json: an unknown budget is null" "$(jq -c '.rate_budget' <<<"$json")" \
	'{"hour":null,"minute":null}'
expect_eq "status --json: what status shows" "$(jq -r '.spool_dir' <<<"$json")" "$TEST_SPOOL"
expect_eq "status --json --dead: refused" "$(fmg status --json --dead >/dev/null 2>&1; echo $?)" 2

# --- the rate budget, recorded once an answer shows half a window or less left
double_reset '{"hour_limit":5000,"minute_limit":4}'
post "email=rb%40example.com&uid=rb&company=Acme" PATH_INFO=/contact
expect_match "rate budget: the minute's left" "$(metric fmgate_rate_budget_minute_remaining)" '^[0-2]$'
expect_match "rate budget: the hour's left" "$(metric fmgate_rate_budget_hour_remaining)" '^49[0-9][0-9]$'
expect_eq "rate budget: status --json as the text" \
	"$(fmg status --json 2>/dev/null | jq -c '[.rate_budget.hour, .rate_budget.minute]')" \
	"[$(metric fmgate_rate_budget_hour_remaining),$(metric fmgate_rate_budget_minute_remaining)]"

# --- a refused key pauses delivery: the gauge and the attempt
post "email=k1%40example.com&uid=k1&company=Acme" PATH_INFO=/contact FM_API_KEY=wrong-key
expect_match "a refused key: paused" "$CGI_ERR" 'outcome=paused .*spool=queue'
expect_eq "paused: the gauge" "$(metric fmgate_delivery_paused)" 1
expect_eq "paused: status --json" "$(fmg status --json 2>/dev/null | jq .paused)" true
expect_eq "paused: the post and the attempt counted" \
	"$(metric 'fmgate_posts_total{form="contact",outcome="paused"}'),$(metric 'fmgate_deliveries_total{form="contact",destination="freshmarketer",outcome="paused"}')" "1,1"

# --- metrics never refuse a post: a file that cannot be mapped (a directory
# in its place) is logged, and the post goes on
rm -f "$TEST_SPOOL/state/metrics-1" && mkdir "$TEST_SPOOL/state/metrics-1"
post "email=u1%40example.com&uid=u1&company=Acme" PATH_INFO=/contact
expect_eq "no metrics file: the post still goes" "$CGI_STATUS" 303
expect_match "no metrics file: said" "$CGI_ERR" 'metrics not counted: .*metrics-1 cannot be mapped'
fmg metrics >/dev/null 2>"$W/err"
expect_eq "no metrics file: metrics exits 2" "$?" 2
expect_match "no metrics file: metrics says why" "$(cat "$W/err")" 'cannot be read'
rmdir "$TEST_SPOOL/state/metrics-1"
# a FIFO in its place: an error at once, never a reader waiting for a writer
mkfifo "$TEST_SPOOL/state/metrics-1"
FMGATE_WRAP="timeout 20 $FMGATE_WRAP" fmg metrics >/dev/null 2>"$W/err"
expect_eq "a FIFO for a metrics file: metrics exits 2 at once" "$?" 2
rm -f "$TEST_SPOOL/state/metrics-1"

# --- a metrics file its reader may not open is an error, not "nothing yet"
if [ "$(id -u)" = 0 ]; then
	post "email=u2%40example.com&uid=u2&company=Acme" PATH_INFO=/contact
	chmod 000 "$TEST_SPOOL/state/metrics-1"
	FMGATE_WRAP="setpriv --reuid=65534 --regid=65534 --clear-groups -- $FMGATE_WRAP" \
		fmg metrics >/dev/null 2>"$W/err"
	expect_eq "an unreadable metrics file: metrics exits 2" "$?" 2
	chmod 600 "$TEST_SPOOL/state/metrics-1"
fi

# --- `serve`'s workers count every post
double_reset
posts_of() { # the posts of form contact, whatever their outcome
	fmg metrics 2>>"$W/all.log" | awk '$1 ~ /^fmgate_posts_total\{form="contact",/ { n += $2 } END { print n + 0 }'
}
before=$(posts_of)
FMG_LOG="$W/serve.log" fmg_start serve --listen "unix:$W/fcgi.sock" --workers 2
SERVE_PID=$FMG_PID
check "serve is up" wait_for test -S "$W/fcgi.sock"
/usr/bin/python3 "$top/tests/spool/burst.py" "$W/fcgi.sock" 40 1 1 4 sv >"$W/burst"
expect_eq "serve: 40 posts answered 303" "$(awk '$3 == 303' "$W/burst" | wc -l)" 40
kill -TERM "$SERVE_PID"
wait "$SERVE_PID"
SERVE_PID=
check "serve: both workers took posts" test "$(grep "outcome=" "$W/serve.log" | grep -o "^fmgate\[[0-9]*\]" | sort -u | wc -l)" -ge 2
expect_eq "serve: the 40 posts counted, exactly" "$(( $(posts_of) - before ))" 40
cat "$W/serve.log" >>"$W/all.log"

# --- a name in the file no mapping allows (a damaged or hostile file): that
# slot left out with one warning, the rest printed, nothing injected
post "email=w2%40example.com" PATH_INFO=/hooked
contact_lines=$(fmg metrics 2>>"$W/all.log" | grep -c '^fmgate_[a-z_]*{form="contact"')
at=$(grep -obUa 'hooked' "$TEST_SPOOL/state/metrics-1" | head -n 1 | cut -d: -f1)
printf 'h"} 9\nx' | dd of="$TEST_SPOOL/state/metrics-1" bs=1 seek="$at" conv=notrunc status=none
out=$(fmg metrics 2>"$W/err")
expect_eq "a bad name: metrics exits 0" "$?" 0
expect_eq "a bad name: one warning naming the file" \
	"$(grep -c "warning: $TEST_SPOOL/state/metrics-1: 1 counter slot(s) left out" "$W/err"),$(wc -l <"$W/err")" "1,1"
expect_eq "a bad name: not printed, nothing injected" "$(grep -c '^x\|h\\"' <<<"$out")" 0
expect_eq "a bad name: the rest printed" "$(grep -c '^fmgate_[a-z_]*{form="contact"' <<<"$out")" "$contact_lines"
expect_eq "a bad name: status --json leaves it out too" \
	"$(fmg status --json 2>/dev/null | jq '[.posts[].form, .deliveries[].form] | map(select(contains("\""))) | length')" 0

# --- a metrics file of another layout (another version's): its counters
# left out with one warning, the rest printed; status --json too
rm -f "$TEST_SPOOL/state/metrics-1"
{ printf 'FMGMET0\0'; head -c 4096 /dev/zero; } >"$TEST_SPOOL/state/metrics-1"
out=$(fmg metrics 2>"$W/err")
expect_eq "another layout: metrics exits 0" "$?" 0
expect_eq "another layout: one warning naming the file" \
	"$(grep -c "warning: $TEST_SPOOL/state/metrics-1 is of another layout" "$W/err"),$(wc -l <"$W/err")" "1,1"
expect_no_match "another layout: its counters left out" "$out" 'fmgate_posts_total\{'
expect_eq "another layout: the spool gauges and paused printed" \
	"$(grep -cx 'fmgate_spool_dead 1\|fmgate_spool_waiting [0-9]*\|fmgate_delivery_paused 0' <<<"$out")" 3
json=$(fmg status --json 2>"$W/err")
expect_eq "another layout: status --json exits as status (one dead)" "$?" 1
expect_match "another layout: status --json warns" "$(cat "$W/err")" 'is of another layout'
expect_eq "another layout: status --json without the counters, with the rest" \
	"$(jq -c '[(.posts | length), .spool.dead, .paused]' <<<"$json")" "[0,1,false]"

expect_no_match "no crash logged" "$(cat "$W/all.log")" 'AddressSanitizer|runtime error'
done_testing
