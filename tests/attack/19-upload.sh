#!/bin/bash
# File uploads by any name (issue 16): a multipart part whose Content-Disposition
# names a file, as filename, filename*, or RFC 2231 continuations (filename*0,
# filename*0*), in any case and with spaces around '=', is an upload and the
# whole post is refused as one (415 file_upload; for the contact form, which
# has a failure URL, a 303 there). The part's body, here posted as the mapped
# field `first`, never becomes a trait: nothing reaches Freshmarketer, and the
# file's bytes come back nowhere. A field named the RFC 2231 way (name*) is
# refused as malformed. The control: the same part without a file name is
# delivered.
. "$(dirname "$0")/common.bash"
double_reset
MARKS=(UPLOADMARK)
CT='multipart/form-data; boundary=B'

# A body of three parts: email, uid, and a third whose Content-Disposition is
# "form-data; name" followed by DISP (`="first"` and more, for most).
mp() {
	printf -- '--B\r\nContent-Disposition: form-data; name="email"\r\n\r\nup@example.com\r\n'
	printf -- '--B\r\nContent-Disposition: form-data; name="uid"\r\n\r\nu-up\r\n'
	printf -- '--B\r\nContent-Disposition: form-data; name%s\r\n\r\nUPLOADMARK\r\n--B--' "$1"
}

# refused WHAT DISP STATUS WORD: the body mp DISP is refused with WORD, as a
# redirect to the failure URL and as JSON with STATUS.
refused() {
	acgi "$1 [$2]" "$(mp "$2")" CONTENT_TYPE="$CT"
	expect_refused "$1 [$2]: $4" "$4"
	acgi "$1 [$2], JSON" "$(mp "$2")" CONTENT_TYPE="$CT" HTTP_ACCEPT=application/json
	expect_eq "$1 [$2], JSON: $3" "$CGI_STATUS $CGI_BODY" "$3 {\"ok\":false,\"error\":\"$4\"}"
}

dispositions=(
	"; filename=\"cv.txt\""
	"; filename*0=\"cv\"; filename*1=\".txt\""
	"; filename*0*=UTF-8''cv%2Etxt"
	"; filename*=UTF-8''x"
	"; FILENAME*0=cv.txt"
	"; FileName*=UTF-8''x"
	"; filename*0 = \"cv.txt\""
	"; filename = cv.txt"
	"; filename*1*=%41"
	"; filename*0*=UTF-8''a b"
)
for d in "${dispositions[@]}"; do
	refused upload "=\"first\"$d" 415 file_upload
done
expect_eq "no upload became a contact" "$(double_upserts)" 0
expect_no_match "the file's bytes reached nothing" "$(double_get requests)" UPLOADMARK

# An RFC 2231 field name (name*, name*0...: RFC 7578 forbids it, browsers never
# send one) beside or instead of `name` could name another field than `name`
# does for another reader: the post is refused as malformed (400), never read
# as either name.
names=(
	"*=UTF-8''first"
	"=\"last\"; name*=UTF-8''first"
	"=\"last\"; NAME*0=first"
	"=\"last\"; Name*0* = UTF-8''first"
)
for d in "${names[@]}"; do
	refused name "$d" 400 malformed_body
done
expect_eq "no name* post became a contact" "$(double_upserts)" 0

# The control: the same body, no file name, is a field and is delivered.
acgi "no file name" "$(mp '="first"')" CONTENT_TYPE="$CT"
expect_delivered "a plain part: delivered"
expect_eq "its value is the first name" "$(double_contact u-up first_name)" UPLOADMARK
attack_done
