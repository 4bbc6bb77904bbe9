#!/bin/bash
# Contact takeover: a visitor posting as somebody else. A cookie, a plain field
# and the email are anyone's to forge, so a userId from them never changes an
# existing contact's email nor takes a contact that has another external id;
# a signed field that does not verify refuses the post instead of letting a
# weaker source speak. Every route ends with the victim's contact as it was,
# and the attacker sees the usual answer (nothing tells whose contact it is).
# Each route runs against the documented double and the live-seen one.
. "$(dirname "$0")/common.bash"
MAPPING="$ATK_TMP/forms.xml"
printf 'takeover-test-key-0123456789\n' >"$ATK_TMP/uid.key"
chmod 600 "$ATK_TMP/uid.key"
cat >"$MAPPING" <<XML
<fmgate>
  <form id="contact">
    <redirect success="https://www.example.com/thanks.html"
              failure="https://www.example.com/contact.html"/>
    <user-id>
      <from-cookie name="ajs_user_id"/>
      <from-email/>
    </user-id>
    <field name="email" trait="email" type="email"/>
    <field name="first" trait="firstName"/>
  </form>
  <form id="member">
    <redirect success="https://www.example.com/thanks.html"
              failure="https://www.example.com/contact.html"/>
    <user-id>
      <from-field name="uid" signed-with="$ATK_TMP/uid.key"/>
      <from-cookie name="ajs_user_id"/>
      <from-email/>
    </user-id>
    <field name="email" trait="email" type="email"/>
    <field name="first" trait="firstName"/>
  </form>
</fmgate>
XML
MARKS=(mallory)
sig() { /usr/bin/python3 -c "import hmac,hashlib,sys;print(hmac.new(b'takeover-test-key-0123456789',sys.argv[1].encode(),hashlib.sha256).hexdigest())" "$1"; }
by_email() { double_get contacts | jq -r --arg e "$1" --arg f "$2" \
	'[.contacts[] | select(.email == $e)] | if length == 0 then "NONE" else (.[0][$f] // "NULL" | tostring) end'; }
dead_now() { find "$ATK_TMP/spool/dead" -type f 2>/dev/null | wc -l; }

for modes in '{}' '{"live":true}' '{"live":true,"external_id_key":"refused","dup_message":"dutch"}'; do
	double_reset "{\"modes\":$modes}"
	rm -rf "$ATK_TMP/spool/state"
	tag=$modes
	# the victim signed up with the email as userId (from-email)
	acgi "$tag: the victim signs up" "email=victim%40example.com&first=Victoria"
	expect_delivered "$tag: the victim's contact"

	# (a) a forged cookie naming the victim's userId, with the attacker's email
	dead=$(dead_now)
	acgi "$tag: forged cookie" "email=mallory%40example.com&first=Mallory" \
		HTTP_COOKIE="ajs_user_id=victim%40example.com"
	expect_delivered "$tag: (a) the attacker sees the usual answer"
	expect_eq "$tag: (a) the victim's contact keeps its email" \
		"$(double_contact victim@example.com emails)" "victim@example.com"
	expect_eq "$tag: (a) and its name" "$(double_contact victim@example.com first_name)" "Victoria"
	expect_eq "$tag: (a) kept as a conflict for the operator" "$(dead_now)" $((dead + 1))
	expect_match "$tag: (a) logged as a conflict" "$(cat "$ACGI_ERR")" 'outcome=conflict'

	# (b) adopting an imported contact (no external id) under a cookie id of
	# the attacker's choosing, then posting the attacker's email under it
	double_post contacts '{"emails":"imported@example.com","first_name":"Ines"}'
	acgi "$tag: adopt under a chosen id" "email=imported%40example.com" HTTP_COOKIE="ajs_user_id=attacker-7"
	expect_delivered "$tag: (b) adoption of a contact without external id is allowed"
	acgi "$tag: then the attacker's email" "email=mallory%40example.com&first=Mallory" \
		HTTP_COOKIE="ajs_user_id=attacker-7"
	expect_delivered "$tag: (b) the usual answer"
	expect_eq "$tag: (b) the adopted contact keeps its email" "$(by_email imported@example.com external_id)" "attacker-7"
	expect_eq "$tag: (b) and its name" "$(by_email imported@example.com first_name)" "Ines"
	expect_eq "$tag: (b) no contact carries the attacker's email" "$(by_email mallory@example.com id)" "NONE"

	# a contact with another external id is never adopted, partial rows or not
	double_post contacts '{"emails":"owned@example.com","external_id":"owner-1","first_name":"Olaf"}'
	acgi "$tag: someone else's contact" "email=owned%40example.com&first=Mallory" HTTP_COOKIE="ajs_user_id=attacker-8"
	expect_delivered "$tag: the usual answer"
	expect_eq "$tag: the owner's contact untouched" "$(by_email owned@example.com external_id) $(by_email owned@example.com first_name)" "owner-1 Olaf"

	# (c) a bad signature never falls through to the cookie or the email
	acgi "$tag: forged signature" "email=mallory%40example.com&uid=victim%40example.com.$(sig someone-else)&first=Mallory" \
		PATH_INFO=/member HTTP_COOKIE="ajs_user_id=victim%40example.com"
	expect_eq "$tag: (c) refused" "$CGI_STATUS $(header Location)" \
		"303 https://www.example.com/contact.html?error=invalid_user_id&field=uid&errors=invalid_user_id%3Auid"
	acgi "$tag: unsigned value" "email=victim%40example.com&uid=victim%40example.com&first=Mallory" PATH_INFO=/member
	expect_eq "$tag: (c) an unsigned value is refused too" "$(header Location)" \
		"https://www.example.com/contact.html?error=invalid_user_id&field=uid&errors=invalid_user_id%3Auid"
	expect_eq "$tag: (c) the victim's name unchanged" "$(double_contact victim@example.com first_name)" "Victoria"

	# the site's own signed id may change its contact's email
	acgi "$tag: signed email change" "email=victoria%40example.org&uid=victim%40example.com.$(sig victim@example.com)" PATH_INFO=/member
	expect_delivered "$tag: signed: accepted"
	expect_eq "$tag: signed: the email changed" "$(double_contact victim@example.com emails)" "victoria@example.org"
done
attack_done
