#!/bin/bash
# Other destinations (<notify>, <webhook>, <forward>) against the loopback SMTP
# server (tests/smtpd.py) and the double's webhook and Segment stand-ins: each
# one's request; header injection through every visitor value that reaches a
# mail; a refused and a slow destination beside working ones; a crash between
# destinations; status, status --dead and requeue by name; try; secrets never
# in output, logs or spool files.
. "$(dirname "$0")/../lib.sh"
double_start || exit 1
test_spool
W=$(mktemp -d /tmp/fmgate-dests.XXXXXX)
SMTPD_PID= FMG_PID=
cleanup() {
	[ -n "$FMG_PID" ] && kill -9 "$FMG_PID" 2>/dev/null
	[ -n "$SMTPD_PID" ] && kill "$SMTPD_PID" 2>/dev/null && wait "$SMTPD_PID" 2>/dev/null
	double_stop
	[ -n "${KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT

PW='smtp-pass-Zq81' HOOK='hook-secret-Kx0123456789' WK='write-key-Pm77'
(umask 077; printf '%s\n' "$PW" >"$W/pw"; printf '%s\n' "$HOOK" >"$W/hook"; printf '%s\n' "$WK" >"$W/wk")
mkdir "$W/mail"
/usr/bin/python3 "$(dirname "$0")/../smtpd.py" --port 0 --port-file "$W/sport" --dir "$W/mail" \
	--user forms@example.com --password-file "$W/pw" >"$W/smtpd.log" 2>&1 &
SMTPD_PID=$!
wait_for test -s "$W/sport" || { echo "smtpd did not start"; cat "$W/smtpd.log"; exit 1; }

# The mapping, for this run's ports and files.
mapping() {  # mapping MODE
	cat <<EOF
<fmgate>
  <settings>
    <delivery mode="$1" timeout-ms="3000"/>
    <smtp url="smtp://127.0.0.1:$(cat "$W/sport")" user="forms@example.com"
          password-file="$W/pw" from="Website &lt;forms@example.com&gt;"/>
    <segment write-key-file="$W/wk" endpoint="$FMDOUBLE_URL/v1/"/>
  </settings>
  <form id="demo">
    <redirect success="/thanks.html" failure="/error.html"/>
    <user-id><from-field name="uid"/></user-id>
    <field name="email"   trait="email" type="email" required="true"/>
    <field name="first"   trait="firstName"/>
    <field name="last"    trait="lastName"/>
    <field name="message" trait="message"/>
    <field name="topics"  trait="topics" multiple="true"/>
    <notify to="sales@example.com, lead@example.com" subject="Demo from {firstName} {lastName}"
            reply-to-visitor="true"/>
    <webhook url="$FMDOUBLE_URL/_hooks/hook" secret-file="$W/hook"/>
    <forward to="segment"/>
  </form>
</fmgate>
EOF
}
mapping sync >"$W/sync.xml"
mapping async >"$W/async.xml"
MAPPING="$W/sync.xml"
check "the mapping checks" bash -c '"$1" check "$2" >/dev/null' _ "$FMGATE_BIN" "$MAPPING"

post() { cgi "$1" PATH_INFO=/demo; echo "$CGI_ERR" >>"$W/all.log"; }
mails() { ls "$W/mail"/*.json 2>/dev/null | wc -l; }
hooks() { double_get hooks | jq '.hooks | length'; }          # received
answered() { double_get hooks | jq '[.hooks[] | select(.status != 0)] | length'; }
forwards() { double_get segment | jq '.messages | length'; }
files() { find "$TEST_SPOOL/queue" -type f -name "*$1" | wc -l; }
status_line() { fmg status 2>/dev/null | tee -a "$W/all.log" | sed -n "s/^$1: //p"; }
setup_double() {
	double_reset
	double_post hooks "{\"secrets\":{\"hook\":\"$HOOK\"}}"
	double_post segment "{\"write_key\":\"$WK\"}"
	rm -f "$W/mail"/* "$W/mail/fault"
	spool_reset
}
drain_now() { fmg drain --now 2>>"$W/all.log"; }

# --- each destination's request
setup_double
post "uid=ann&email=ann%40example.com&first=Ann&last=Lee&message=Call+me&topics=a&topics=b"
expect_eq "visitor sent on" "$CGI_STATUS" 303
expect_match "logged: three destination files" "$CGI_ERR" 'outcome=delivered .*dests=3'
expect_eq "one file per destination, none for the contact" \
	"$(files .notify),$(files .webhook),$(files .forward),$(find "$TEST_SPOOL/queue" -type f | wc -l)" "1,1,1,3"
expect_eq "nothing sent before the answer" "$(mails),$(hooks),$(forwards)" "0,0,0"
drain_now
expect_eq "drain delivers each" "$?,$(mails),$(hooks),$(forwards)" "0,1,1,1"
eml=$(ls "$W/mail"/*.eml | head -n 1)
head=$(sed '/^\r$/q' "$eml" | tr -d '\r')
expect_match "mail: From" "$head" '^From: Website <forms@example.com>$'

expect_eq "mail: envelope" "$(jq -c '[.from, .rcpt, .auth]' "${eml%.eml}.json")" \
	'["forms@example.com",["sales@example.com","lead@example.com"],"forms@example.com"]'
body=$(/usr/bin/python3 -c 'import email,sys; m=email.message_from_binary_file(open(sys.argv[1],"rb")); print(m.get_payload(decode=True).decode())' "$eml")
expect_match "mail: fields by name" "$body" 'first: Ann'
expect_match "mail: a list joined" "$body" 'topics: a, b'
expect_match "mail: the messageId" "$body" 'Message id: [0-9a-f-]{36}'
expect_eq "webhook: signed, and the signature checks" "$(double_get hooks | jq -c '[.hooks[0].verified, (.hooks[0].signature | startswith("sha256="))]')" '[true,true]'
expect_eq "webhook: the identify message" "$(double_get hooks | jq -r '.hooks[0].body | .type + " " + .userId + " " + .traits.firstName')" "identify ann Ann"
expect_eq "forward: Freshmarketer off for Segment, the traits kept" \
	"$(double_get segment | jq -c '.messages[0] | [.integrations.Freshmarketer, .traits.lastName, .userId]')" '[false,"Lee","ann"]'
expect_eq "the same messageId everywhere" \
	"$(double_get hooks | jq -r '.hooks[0].body.messageId')" "$(double_get segment | jq -r '.messages[0].messageId')"
expect_eq "nothing left" "$(status_line waiting)" 0

# --- header injection through every visitor value that reaches the mail
setup_double
post "uid=bob&email=bob%40example.com&first=Bob%0D%0ABcc%3A+evil%40evil.test&last=X%0ATo%3A+evil2%40evil.test%E2%80%A8Cc%3A+e3%40evil.test&message=Hi%0D%0A.%0D%0AMAIL+FROM%3A%3Cevil%40evil.test%3E%0D%0AFrom+me"
expect_eq "injection: accepted" "$CGI_STATUS" 303
drain_now
eml=$(ls "$W/mail"/*.eml | head -n 1)
head=$(sed '/^\r$/q' "$eml" | tr -d '\r')
expect_eq "injection: one mail, to the mapping's recipients only" \
	"$(mails),$(jq -c .rcpt "${eml%.eml}.json")" '1,["sales@example.com","lead@example.com"]'
expect_eq "injection: only fmgate's headers" "$(printf '%s\n' "$head" | grep -oE '^[A-Za-z-]+:' | sort | tr '\n' ' ')" \
	"Content-Transfer-Encoding: Content-Type: Date: From: MIME-Version: Message-ID: Reply-To: Subject: To: "
expect_no_match "injection: no Bcc or Cc header" "$head" '^(Bcc|Cc):'
subject=$(/usr/bin/python3 -c 'import email,email.header,sys; m=email.message_from_binary_file(open(sys.argv[1],"rb")); print(str(email.header.make_header(email.header.decode_header(m["Subject"]))))' "$eml")
expect_eq "injection: the subject kept on one line, controls removed" "$subject" \
	"Demo from BobBcc: evil@evil.test XTo: evil2@evil.testCc: e3@evil.test"
body=$(/usr/bin/python3 -c 'import email,sys; m=email.message_from_binary_file(open(sys.argv[1],"rb")); print(m.get_payload(decode=True).decode())' "$eml")
expect_match "injection: the message is the body's, indented" "$body" '  MAIL FROM:<evil@evil.test>'
post "uid=eve&email=eve%40example.com%0D%0ABcc%3A+x%40evil.test&first=Eve"
expect_match "injection: an email with a line break is refused" "$(header Location)" 'error=invalid_email'

# --- a refused destination beside working ones; status and requeue by name
setup_double
double_post hooks '{"status":{"hook":500}}'
post "uid=cat&email=cat%40example.com&first=Cat"
drain_now
expect_eq "webhook 500: drain says something stays" "$?" 1
expect_eq "webhook 500: the others delivered" "$(mails),$(forwards),$(double_upserts)" "1,1,1"
expect_eq "webhook 500: its file waits, an attempt counted" \
	"$(files .webhook),$(jq .attempts "$(find "$TEST_SPOOL/queue" -name '*.webhook')")" "1,1"
expect_eq "status: by destination" "$(status_line 'to webhook')" "waiting 1, dead 0"
double_post hooks '{"status":{"hook":410}}'
drain_now
expect_eq "webhook 410: dead" "$(status_line 'to webhook')" "waiting 0, dead 1"
dead=$(fmg status --dead 2>/dev/null | grep ' to=webhook ')
expect_match "status --dead names the destination" "$dead" \
	'^[0-9a-f-]{36} form=demo to=webhook attempts=1 reason=rejected http=410 HTTP 410'
fmg requeue --dead --to notify >/dev/null 2>&1
expect_eq "requeue --to another name: nothing" "$?" 1
fmg requeue --dead --to webhook >"$W/rq.out" 2>&1
expect_eq "requeue --to webhook" "$?,$(cat "$W/rq.out")" "0,requeued 1 dead submission"
double_post hooks '{"status":{"hook":null}}'
drain_now
expect_eq "requeued: delivered, nothing else repeated" "$(hooks),$(mails),$(forwards),$(double_upserts)" "3,1,1,1"
expect_eq "requeued: nothing waits or is dead" "$(status_line waiting),$(status_line dead)" "0,0"

# --- a slow destination beside working ones: a contact or a mail never waits for it
setup_double
MAPPING="$W/async.xml"
double_post hooks '{"delay_ms":{"hook":3000}}'
FMG_LOG="$W/watch.log" fmg_start drain --watch
lanes_up() { [ "$(grep -c 'drain: watching' "$W/watch.log")" -eq 5 ]; }
check "the service: a process per destination, and one for names to come" wait_for lanes_up
for l in freshmarketer notify webhook forward "destinations named later"; do
	check "a process for $l" grep -q "drain: watching .* ($l)" "$W/watch.log"
done
children=$(pgrep -P "$FMG_PID" | tr '\n' ' ')
post "uid=dan&email=dan%40example.com&first=Dan"
expect_match "async: queued" "$CGI_ERR" 'outcome=queued .*dests=3'
hook_in_flight() {
	local f
	f=$(find "$TEST_SPOOL/queue" -name '*.webhook' | head -n 1)
	[ -n "$f" ] && [ "$(stat -c %Y "$f")" -gt $(( $(date +%s) + 30 )) ]
}
check "slow webhook: in its call" wait_for hook_in_flight
post "uid=dee&email=dee%40example.com&first=Dee"
contact_in() { [ "$(double_contact dee first_name)" = Dee ]; }
check "slow webhook: a later contact delivered meanwhile" wait_for contact_in
mailed() { [ "$(mails)" -ge 2 ] && [ "$(forwards)" -ge 2 ]; }
check "slow webhook: the later mail and forward delivered meanwhile" wait_for mailed
expect_eq "slow webhook: still in its call then" "$(answered)" 0
hook_in() { [ "$(answered)" -ge 2 ]; }
check "slow webhook: delivered in the end" wait_for hook_in
kill -TERM "$FMG_PID"; wait "$FMG_PID" 2>/dev/null; FMG_PID=
gone() { for c in $children; do kill -0 "$c" 2>/dev/null && return 1; done; return 0; }
check "the service stopped its other processes too ($children)" wait_for gone
# A service killed outright leaves none of them behind either.
cp "$W/watch.log" "$W/watch1.log"; : >"$W/watch.log"
FMG_LOG="$W/watch.log" fmg_start drain --watch
check "restarted" wait_for lanes_up
children=$(pgrep -P "$FMG_PID" | tr '\n' ' ')
kill -9 "$FMG_PID"; wait "$FMG_PID" 2>/dev/null; FMG_PID=
check "killed: its other processes end with it ($children)" wait_for gone
# A lane that ends on its own stops the whole service (to be restarted whole).
: >"$W/watch.log"
FMG_LOG="$W/watch.log" fmg_start drain --watch
check "started again" wait_for lanes_up
children=$(pgrep -P "$FMG_PID" | tr '\n' ' ')
kill -9 "${children%% *}"
stopped() { ! kill -0 "$FMG_PID" 2>/dev/null; }
check "a lane killed: the service stops" wait_for stopped
wait "$FMG_PID"
expect_eq "a lane killed: exit 1" "$?" 1
FMG_PID=
expect_match "a lane killed: logged" "$(cat "$W/watch.log")" 'drain: the process of [a-z ]+ ended \(signal 9\); stopping the service'
check "a lane killed: the others end too" wait_for gone
double_post hooks '{"delay_ms":{"hook":null}}'

# --- a crash between destinations: only the one in flight repeats
setup_double
post "uid=fay&email=fay%40example.com&first=Fay"
echo "delay 3" >"$W/mail/fault"
fmg_start drain --now
notify_in_flight() {
	local f
	f=$(find "$TEST_SPOOL/queue" -name '*.notify' | head -n 1)
	[ -n "$f" ] && [ "$(stat -c %Y "$f")" -gt $(( $(date +%s) + 30 )) ]
}
check "crash: the mail in flight" wait_for notify_in_flight
sleep 0.5
kill -9 "$FMG_PID"; wait "$FMG_PID" 2>/dev/null; FMG_PID=
rm -f "$W/mail/fault"
sleep 3   # the server keeps the mail the killed drain sent
drain_now
expect_eq "crash: all delivered after" "$?,$(status_line waiting),$(status_line dead)" "0,0,0"
expect_eq "crash: the mail, in flight, came twice; the others once" \
	"$(mails),$(hooks),$(forwards),$(double_upserts)" "2,1,1,1"

# --- a contact refused for good: the visitor is told, nothing goes elsewhere
setup_double
MAPPING="$W/sync.xml"
double_post fault '{"kind":"status","status":422,"count":1,"path":"/contacts/upsert"}'
post "uid=gus&email=gus%40example.com&first=Gus"
expect_match "refused contact: the visitor is told" "$(header Location)" 'error=rejected'
expect_eq "refused contact: no file for another destination" "$(find "$TEST_SPOOL/queue" -type f | wc -l)" 0
double_post fault '{"kind":"clear"}'

# --- try prints each destination's request, secrets hidden
printf 'uid=hal&email=hal%%40example.com&first=Hal' >"$W/body"
fmg try demo "$W/body" >"$W/try.out" 2>&1
try=$(cat "$W/try.out"); cat "$W/try.out" >>"$W/all.log"
expect_match "try: the mail" "$try" 'RCPT TO:<lead@example.com>'
expect_match "try: the webhook" "$try" 'X-Fmgate-Signature: sha256=\(computed when sent\)'
expect_match "try: the forward" "$try" 'Authorization: Basic \(write key hidden\)'
expect_eq "try sent nothing" "$(mails),$(hooks),$(forwards)" "0,0,0"

# --- secrets never in output, logs or spool files
cat "$W/watch.log" >>"$W/all.log"
wkb64=$(printf '%s:' "$WK" | base64)
for s in "$PW" "$HOOK" "$WK" "$wkb64"; do
	check "no secret in output or logs ($s)" bash -c '! grep -qF -- "$1" "$2"' _ "$s" "$W/all.log"
	check "no secret in the spool ($s)" bash -c '! grep -rqF -- "$1" "$2"' _ "$s" "$TEST_SPOOL"
done
done_testing
