#!/bin/bash
# NUL bytes and ill-formed UTF-8 (a lesson from other form handlers: refuse NUL
# and bad UTF-8): a body holding either, %-encoded or raw, in a name or a value,
# urlencoded or multipart, is a 400 (for an HTML client of the contact form,
# which has a failure URL: a 303 there with error=malformed_body) and nothing is sent; a cookie holding either
# counts as absent; a header holding bad UTF-8 is left out of the message, and
# what reaches Freshmarketer is always valid JSON. Well-formed text beyond ASCII
# goes through (the controls).
. "$(dirname "$0")/common.bash"
double_reset
OKB="email=a%40example.com&uid=u-utf8"
MARKS=(EVILBYTES)

bad=(%00 %C0%80 %C0%AF %C1%BF %E0%80%AF %E0%9F%BF %F0%80%80%AF %F0%8F%BF%BF %ED%A0%80 %ED%BF%BF
     %F4%90%80%80 %F5%80%80%80 %F8%88%80%80%80 %FC%84%80%80%80%80 %FE %FF %80 %BF %C3 %E2%82 %F0%9F%98
     %C3%28 %E2%28%A1 caf%C3%A9%C0%AF)
for b in "${bad[@]}"; do
	acgi "value $b" "$OKB&first=EVILBYTES$b"
	expect_refused "value with $b: malformed_body (400)" malformed_body
	acgi "name $b" "$OKB&fi${b}rst=EVILBYTES"
	expect_refused "name with $b: malformed_body (400)" malformed_body
	acgi "email $b" "email=a${b}%40example.com&uid=u-utf8"
	expect_refused "email with $b: malformed_body (400)" malformed_body
done
acgi "_next %00" "$OKB&_next=%2Fa%00%2F%2Fevil.com"
expect_refused "_next with a NUL: malformed_body (400)" malformed_body
expect_eq "refused bodies: nothing sent" "$(double_upserts)" 0

# Raw bytes, not %-encoded: a bash string holds no NUL, so these go from files.
raw() { # NAME BYTES (printf format): a body file
	printf -- "$2" >"$ATK_TMP/raw.$1"
	RAW_LEN=$(wc -c <"$ATK_TMP/raw.$1")
}
mp_ct='multipart/form-data; boundary=B'
for spec in 'nul-value|email=a%%40example.com&uid=u-1&first=A\0EVILBYTES' \
            'nul-name|email=a%%40example.com&uid=u-1&fi\0rst=EVILBYTES' \
            'overlong-value|email=a%%40example.com&uid=u-1&first=\xc0\xafEVILBYTES' \
            'surrogate-value|email=a%%40example.com&uid=u-1&first=\xed\xa0\x80EVILBYTES' \
            'ff-name|email=a%%40example.com&uid=u-1&\xff=EVILBYTES'; do
	raw "${spec%%|*}" "${spec#*|}"
	acgi "raw ${spec%%|*}" --stdin "$ATK_TMP/raw.${spec%%|*}" "" CONTENT_LENGTH="$RAW_LEN"
	expect_refused "raw ${spec%%|*}: malformed_body (400)" malformed_body
done
for spec in 'mp-nul-value|--B\r\nContent-Disposition: form-data; name="email"\r\n\r\na@example.com\0EVILBYTES\r\n--B--' \
            'mp-nul-name|--B\r\nContent-Disposition: form-data; name="em\0ail"\r\n\r\na@example.com\r\n--B--' \
            'mp-overlong-value|--B\r\nContent-Disposition: form-data; name="first"\r\n\r\n\xc0\xafEVILBYTES\r\n--B--' \
            'mp-overlong-name|--B\r\nContent-Disposition: form-data; name="\xe0\x80\xaf"\r\n\r\nx\r\n--B--' \
            'mp-nul-header|--B\r\nContent-Disposition: form-data; name="first"\0\r\n\r\nx\r\n--B--' \
            'mp-truncated|--B\r\nContent-Disposition: form-data; name="first"\r\n\r\n\xe2\x82\r\n--B--'; do
	raw "${spec%%|*}" "${spec#*|}"
	acgi "raw ${spec%%|*}" --stdin "$ATK_TMP/raw.${spec%%|*}" "" CONTENT_LENGTH="$RAW_LEN" CONTENT_TYPE="$mp_ct"
	expect_refused "raw ${spec%%|*}: malformed_body (400)" malformed_body
done
expect_eq "raw refusals: nothing sent" "$(double_upserts)" 0
# The controls: the same bodies without the bad bytes are delivered.
raw ok 'email=a%%40example.com&uid=u-raw&first=A\xc3\xa9'
acgi "raw control" --stdin "$ATK_TMP/raw.ok" "" CONTENT_LENGTH="$RAW_LEN"
expect_eq "raw control: delivered" "$(header Location)" "https://www.example.com/thanks.html"
raw mp-ok '--B\r\nContent-Disposition: form-data; name="email"\r\n\r\nm@example.com\r\n--B\r\nContent-Disposition: form-data; name="uid"\r\n\r\nu-raw-mp\r\n--B\r\nContent-Disposition: form-data; name="first"\r\n\r\n\xc3\xa9\r\n--B--'
acgi "raw multipart control" --stdin "$ATK_TMP/raw.mp-ok" "" CONTENT_LENGTH="$RAW_LEN" CONTENT_TYPE="$mp_ct"
expect_eq "raw multipart control: delivered" "$(header Location)" "https://www.example.com/thanks.html"
expect_eq "raw multipart control: the value as sent" "$(double_contact u-raw-mp first_name)" "$(printf '\xc3\xa9')"

# A cookie with a NUL or bad UTF-8 is absent: the userId comes from the next
# source, the email.
for c in 'u%00EVILBYTES' 'u%C0%AFEVILBYTES' 'u%ED%A0%80' $'u\xc0\xafEVILBYTES' $'"u\xffEVILBYTES"' '%22u%E2%82%22'; do
	double_reset
	acgi "cookie [$c]" "email=c%40example.com" HTTP_COOKIE="ajs_user_id=$c; ajs_anonymous_id=$c"
	expect_delivered "cookie [$c]: delivered"
	expect_eq "cookie [$c]: counted as absent" "$(double_contact c@example.com emails)" "c@example.com"
done

# Bad UTF-8 in headers is left out; what reaches the CRM is valid JSON.
double_reset
acgi "bad UTF-8 in headers" "$OKB&first=Ann" HTTP_USER_AGENT=$'Mozilla \xc0\xafEVILBYTES' \
	HTTP_REFERER=$'https://www.example.com/caf\xc0\xaf?utm_source=\xff\xfeEVILBYTES' \
	REMOTE_ADDR=10.0.0.1 HTTP_X_FORWARDED_FOR=$'192.0.2.7\xc0\xaf'
expect_delivered "bad UTF-8 in headers: delivered"
expect_eq "every upsert body was valid JSON" \
	"$(double_get requests | jq '[.requests[] | select(.method == "POST" and .body == null)] | length')" 0

# The controls: well-formed UTF-8, the odd code points included, goes through.
double_reset
acgi "valid UTF-8" "$OKB&first=K%C3%B6ln+%F0%9F%98%80+%F4%8F%BF%BF+%EF%BB%BF+%E2%80%AE&city=%E5%98%8A%E5%98%8D%C2%85%E2%80%A8"
expect_delivered "valid UTF-8: delivered"
expect_eq "valid UTF-8: sent as is" "$(double_contact u-utf8 first_name)" \
	"$(printf 'K\xc3\xb6ln \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf \xef\xbb\xbf \xe2\x80\xae')"
attack_done
