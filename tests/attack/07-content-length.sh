#!/bin/bash
# Huge and lying CONTENT_LENGTH (a lesson from other form handlers: cap the
# body; docs/behaviour.md: a plain decimal, over max-body a 413 before anything
# is read, a short body a 400, bytes past it ignored; the contact form has a
# failure URL, so an HTML client gets a 303 there with error=body_too_large or
# malformed_body instead). The mapping's max-body is 4096. Every answer must come at once: fmgate never waits for bytes that will
# not come, nor allocates what CONTENT_LENGTH claims.
. "$(dirname "$0")/common.bash"
double_reset
OKB="email=a%40example.com&uid=u-cl"
MARKS=(SMUGGLED)
quick() { # DESC MS: the last request took less than MS (more under a wrapper)
	check "$1 (took ${ATK_MS} ms)" test "$ATK_MS" -lt "$([ -n "$FMGATE_WRAP" ] && echo 20000 || echo "$2")"
}
timed() { local s; s=$(date +%s%N); acgi "$@"; ATK_MS=$((($(date +%s%N) - s) / 1000000)); }

# Claims far over max-body, up to and past 64 bits: refused before reading.
for cl in 4097 16777216 2147483648 4294967296 9223372036854775807 9223372036854775808 \
          18446744073709551615 18446744073709551616 99999999999999999999999999999; do
	timed "CONTENT_LENGTH=$cl" "$OKB" CONTENT_LENGTH=$cl
	expect_refused "CONTENT_LENGTH=$cl: refused" 'body_too_large|malformed_body'
	quick "CONTENT_LENGTH=$cl: answered at once" 2000
done
acgi "CONTENT_LENGTH one over" "$OKB" CONTENT_LENGTH=4097 HTTP_ACCEPT=application/json
expect_eq "CONTENT_LENGTH just over max-body, JSON: 413" "$CGI_STATUS $CGI_BODY" \
	'413 {"ok":false,"error":"body_too_large"}'
acgi "CONTENT_LENGTH one over, HTML" "$OKB" CONTENT_LENGTH=4097
expect_refused "CONTENT_LENGTH just over max-body: body_too_large (413)" body_too_large

# Not a plain decimal: 400.
for cl in -1 -0 +10 ' 30' '30 ' 0x1e 1e3 30.0 '3 0' '٣٠' $'30\n' '30;' abc; do
	acgi "CONTENT_LENGTH=[$cl]" "$OKB" CONTENT_LENGTH="$cl"
	expect_refused "CONTENT_LENGTH=[$cl]: malformed_body (400)" malformed_body
done

# Lying short: fewer bytes than claimed is a 400 at end of input.
timed "short body" "$OKB" CONTENT_LENGTH=4000
expect_refused "body shorter than CONTENT_LENGTH: malformed_body (400)" malformed_body
quick "short body: answered at end of input" 2000
acgi "empty body, claimed" "" CONTENT_LENGTH=10
expect_refused "no body at all for CONTENT_LENGTH=10: malformed_body (400)" malformed_body

# Lying long: bytes past CONTENT_LENGTH are not read.
acgi "smuggled tail" "$OKB&first=SMUGGLED&owner_id=2" CONTENT_LENGTH=${#OKB}
expect_delivered "tail past CONTENT_LENGTH: the head is delivered"
expect_eq "tail past CONTENT_LENGTH: never read" "$(double_contact u-cl first_name)" "NULL"
acgi "cut escape" "$OKB&first=A%41" CONTENT_LENGTH=$((${#OKB} + 9))
expect_refused "CONTENT_LENGTH cutting an escape: malformed_body (400)" malformed_body
acgi "zero length" "$OKB" CONTENT_LENGTH=0
expect_eq "CONTENT_LENGTH=0: the body is empty (missing email)" "$(header Location)" \
	"https://www.example.com/contact.html?error=missing_email&field=email&errors=missing_email%3Aemail"

# Exactly max-body is fine; without CONTENT_LENGTH the body is read to its
# end, and one byte over max-body is a 413 however much more is sent.
full="$OKB&pad="
full+=$(head -c $((4096 - ${#full})) /dev/zero | tr '\0' 'p')
acgi "exactly max-body" "$full"
expect_delivered "a body of exactly max-body: accepted"
acgi "no CONTENT_LENGTH" --unset CONTENT_LENGTH "$OKB"
expect_delivered "no CONTENT_LENGTH: read to the end"
acgi "no CONTENT_LENGTH, max-body" --unset CONTENT_LENGTH "$full"
expect_delivered "no CONTENT_LENGTH, exactly max-body: accepted"
acgi "no CONTENT_LENGTH, one over" --unset CONTENT_LENGTH "${full}p"
expect_refused "no CONTENT_LENGTH, one byte over: body_too_large (413)" body_too_large
head -c $((64 * 1024 * 1024)) /dev/zero | tr '\0' 'a' >"$ATK_TMP/huge"
timed "no CONTENT_LENGTH, 64 MiB" --unset CONTENT_LENGTH --stdin "$ATK_TMP/huge" ""
expect_refused "no CONTENT_LENGTH, 64 MiB: body_too_large (413)" body_too_large
quick "64 MiB: refused after max-body + 1 bytes" 3000
timed "64 MiB, honest length" --stdin "$ATK_TMP/huge" "" CONTENT_LENGTH=$((64 * 1024 * 1024))
expect_refused "64 MiB with its length: body_too_large (413)" body_too_large
quick "64 MiB with its length: refused before reading" 2000
rm -f "$ATK_TMP/huge"
attack_done
