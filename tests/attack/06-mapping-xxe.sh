#!/bin/bash
# XXE and entity expansion in the mapping file (docs/mapping.md, Security: no
# DTD, no entities, no network). Each hostile file is refused by `fmgate
# check` within a second or two, with a short answer that holds no byte of
# the file it tried to include; nothing is fetched over the network (the
# double would log the fetch); the responder and `fmgate try` given such a
# file refuse to serve and leak nothing either.
. "$(dirname "$0")/common.bash"
double_reset
CANARY="CANARY-2f9c1e"
MARKS=("$CANARY")
printf '%s root:x:0:0:root:/root:/bin/bash\n' "$CANARY" >"$ATK_TMP/canary.txt"
chmod 644 "$ATK_TMP/canary.txt"
FILE_URL="file://$ATK_TMP/canary.txt"
BODY='<fmgate>
  <form id="c">
    <redirect success="/ok"/>
    <allow-origin>&x;</allow-origin>
    <user-id><from-email/></user-id>
    <field name="email" trait="email" type="email"/>
  </form>
</fmgate>'
m=$ATK_TMP/m
mkdir -p "$m"
printf '<?xml version="1.0"?>\n<!DOCTYPE fmgate [<!ENTITY x SYSTEM "%s">]>\n%s\n' "$FILE_URL" "$BODY" >"$m/xxe-file.xml"
printf '<!DOCTYPE fmgate [<!ENTITY x SYSTEM "%s">]>%s\n' "$ATK_TMP/canary.txt" "$BODY" >"$m/xxe-path.xml"
printf '<!DOCTYPE fmgate [<!ENTITY %% p SYSTEM "%s"> <!ENTITY x "%%p;">]>\n%s\n' "$FILE_URL" "$BODY" >"$m/xxe-param.xml"
printf '<!DOCTYPE fmgate SYSTEM "%s/xxe-external.dtd">\n%s\n' "$FMDOUBLE_URL" "${BODY/&x;/https:\/\/a.example}" >"$m/dtd-http.xml"
printf '<!DOCTYPE fmgate [<!ENTITY %% r SYSTEM "%s/xxe-param.dtd"> %%r;]>\n%s\n' "$FMDOUBLE_URL" "$BODY" >"$m/param-http.xml"
printf '<!DOCTYPE fmgate [<!ENTITY x SYSTEM "%s/xxe-entity">]>\n%s\n' "$FMDOUBLE_URL" "$BODY" >"$m/entity-http.xml"
printf '<?xml version="1.0" encoding="UTF-16"?>\n<!DOCTYPE fmgate [<!ENTITY x SYSTEM "%s">]>\n%s\n' "$FILE_URL" "$BODY" |
	iconv -f UTF-8 -t UTF-16 >"$m/xxe-utf16.xml"
{
	printf '<!DOCTYPE fmgate [\n <!ENTITY l0 "%s">\n' "$CANARY"
	for i in 1 2 3 4 5 6 7 8 9; do
		printf ' <!ENTITY l%d "%s">\n' "$i" "$(printf "&l$((i - 1));%.0s" 1 2 3 4 5 6 7 8 9 10)"
	done
	printf ']>\n%s\n' "${BODY/&x;/"&l9;"}"
} >"$m/billion-laughs.xml"
{
	printf '<!DOCTYPE fmgate [<!ENTITY q "%s">]>\n' "$(head -c 40000 /dev/zero | tr '\0' 'q')"
	printf '%s\n' "${BODY/&x;/"$(printf '&q;%.0s' $(seq 3000))"}"
} >"$m/quadratic.xml"
printf '%s\n' "${BODY/<allow-origin>&x;<\/allow-origin>/<xi:include xmlns:xi=\"http://www.w3.org/2001/XInclude\" href=\"$ATK_TMP/canary.txt\" parse=\"text\"/>}" >"$m/xinclude.xml"
printf '%s\n' "${BODY/<allow-origin>&x;<\/allow-origin>/<allow-origin><xi:include xmlns:xi=\"http://www.w3.org/2001/XInclude\" href=\"$ATK_TMP/canary.txt\" parse=\"text\"/></allow-origin>}" >"$m/xinclude-text.xml"
printf '%s\n' "$BODY" >"$m/undefined-entity.xml"
printf '<!-- c -->\n<!DOCTYPE fmgate [<!ENTITY x SYSTEM "%s">]>\n%s\n' "$FILE_URL" "$BODY" >"$m/doctype-after-comment.xml"
{
	printf '<fmgate>'
	head -c 300000 /dev/zero | tr '\0' 'a' | sed 's/a/<a>/g'
	printf '</fmgate>\n'
} >"$m/deep-nesting.xml"
{
	printf '<fmgate>\n<!-- '
	head -c $((4 * 1024 * 1024)) /dev/zero | tr '\0' 'x'
	printf ' -->\n</fmgate>\n'
} >"$m/over-4mib.xml"
{
	printf '<fmgate><form id="c"><redirect success="/ok"/><user-id><from-email/></user-id>'
	printf '<field name="email" trait="email" type="email"/><field name="'
	head -c 3000000 /dev/zero | tr '\0' 'n'
	printf '" trait="t"/></form></fmgate>\n'
} >"$m/huge-name.xml"

for f in "$m"/*.xml; do
	name=$(basename "$f" .xml)
	start=$(date +%s%N)
	$FMGATE_WRAP "$FMGATE_BIN" check "$f" >"$ATK_TMP/check.$name.out" 2>&1
	rc=$?
	took=$((($(date +%s%N) - start) / 1000000))
	expect_eq "check $name: refused" "$rc" 1
	check "check $name: refused quickly (${took} ms)" test "$took" -lt "$([ -n "$FMGATE_WRAP" ] && echo 20000 || echo 3000)"
	check "check $name: a short answer ($(wc -c <"$ATK_TMP/check.$name.out") bytes)" \
		test "$(wc -c <"$ATK_TMP/check.$name.out")" -lt 20000
	check "check $name: nothing of the included file" lacks "$CANARY" "$ATK_TMP/check.$name.out"
	case $name in
	xxe-*|dtd-*|param-*|entity-*|billion-*|quadratic|doctype-*)
		expect_match "check $name: says DTDs are refused" "$(cat "$ATK_TMP/check.$name.out")" 'DTDs are not allowed' ;;
	esac
done
expect_eq "no file was fetched over the network" \
	"$(double_get requests | jq -c '[.requests[] | select(.path | startswith("/xxe"))] | length')" 0

# The responder and `try` with such a mapping: no service, nothing leaked.
for name in xxe-file xxe-param billion-laughs xinclude-text; do
	acgi "responder with $name" "email=a%40example.com" FMGATE_CONFIG="$m/$name.xml" PATH_INFO=/c
	expect_eq "responder with $name: 503" "$CGI_STATUS" 503
	printf 'email=a%%40example.com\n' | FMGATE_CONFIG="$m/$name.xml" $FMGATE_WRAP "$FMGATE_BIN" try c \
		>"$ATK_TMP/try.$name.out" 2>&1
	expect_eq "try with $name: refused" "$?" 2
	check "try with $name: nothing of the included file" lacks "$CANARY" "$ATK_TMP/try.$name.out"
done
expect_eq "still nothing fetched" \
	"$(double_get requests | jq -c '[.requests[] | select(.path | startswith("/xxe"))] | length')" 0
attack_done
