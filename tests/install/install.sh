#!/bin/bash
# `make install` lays things out under DESTDIR and PREFIX as a Debian package
# would (docs/deploy.md): binary, schema, example mapping, the three web
# servers' configurations, the visitor assets, systemd units, the man page,
# /etc/fmgate/forms.xml (kept when present) and the spool. Paths inside
# configurations and units follow PREFIX.
. "$(dirname "$0")/../lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(dirname "$FMGATE_BIN")
build=${build#"$top"/}
dest=$(mktemp -d /tmp/fmgate-install.XXXXXX)
trap 'rm -rf "$dest"' EXIT
make -s -C "$top" install BUILD="$build" DESTDIR="$dest" PREFIX=/usr >/dev/null 2>"$dest.err"
expect_eq "make install succeeds" "$?" 0
[ -s "$dest.err" ] && cat "$dest.err"
rm -f "$dest.err"
share="$dest/usr/share/fmgate"
check "binary in PREFIX/bin" test -x "$dest/usr/bin/fmgate"
check "schema in PREFIX/share/fmgate" test -f "$share/fmgate.rng"
check "example mapping in PREFIX/share/fmgate" test -f "$share/forms.example.xml"
for f in "$top"/www/fmgate-forms.js "$top"/www/error*.html "$top"/www/error.var; do
	check "visitor asset in PREFIX/share/fmgate/www: ${f##*/}" cmp -s "$share/www/${f##*/}" "$f"
done
check "the demo site is not installed" test ! -e "$share/www/index.html"
check "Apache config in PREFIX/share/fmgate" cmp -s "$share/apache-fmgate.conf" "$top/apache-conf/fmgate.conf"
check "lighttpd config in PREFIX/share/fmgate" cmp -s "$share/lighttpd-fmgate.conf" "$top/lighttpd-conf/fmgate.conf"
check "nginx config in PREFIX/share/fmgate" cmp -s "$share/nginx-fmgate.conf" "$top/nginx-conf/fmgate.conf"
unit="$dest/lib/systemd/system/fmgate.service"
check "the unit in /lib/systemd/system" cmp -s "$unit" "$top/systemd/fmgate.service"
for u in "$top"/systemd/*; do
	check "every unit of systemd/ installed: ${u##*/}" test -f "$dest/lib/systemd/system/${u##*/}"
done
expect_eq "installed files are 0644" \
	"$(stat -c %a "$share"/*.conf "$share"/*.rng "$share"/www/* "$unit" \
		"$dest/usr/share/man/man1/fmgate.1.gz" | sort -u)" 644
expect_eq "the spool is 0700" "$(stat -c %a "$dest/var/spool/fmgate")" 700
check "mapping in /etc/fmgate" test -f "$dest/etc/fmgate/forms.xml"
check "the installed mapping is valid" "$dest/usr/bin/fmgate" check "$dest/etc/fmgate/forms.xml"

# The man page renders, and carries the version of the VERSION file.
man=$(MANWIDTH=80 man -l "$dest/usr/share/man/man1/fmgate.1.gz" 2>&1)
expect_match "man -l renders fmgate(1)" "$man" 'fmgate serve --listen unix:PATH\|HOST:PORT'
expect_match "the man page names the version" "$man" "fmgate $(cat "$top/VERSION")"
check "the page renders without warnings" bash -c \
	"zcat '$dest/usr/share/man/man1/fmgate.1.gz' | groff -man -ww -z 2>&1 | { ! grep -q .; }"

# A unit systemd accepts (where systemd-analyze is installed), once the binary's
# path points at this tree's copy.
if command -v systemd-analyze >/dev/null; then
	mkdir -p "$dest/verify"
	sed "s|/usr/bin/fmgate|$dest/usr/bin/fmgate|g" "$unit" >"$dest/verify/fmgate.service"
	out=$(systemd-analyze verify --man=no "$dest/verify/fmgate.service" 2>&1)
	expect_eq "systemd-analyze verify accepts the unit" "$out" ""
else
	echo "systemd-analyze not found: the unit was not verified"
fi

echo '<!-- mine -->' >>"$dest/etc/fmgate/forms.xml"
make -s -C "$top" install BUILD="$build" DESTDIR="$dest" PREFIX=/usr >/dev/null 2>&1
check "an existing mapping is kept" grep -q 'mine' "$dest/etc/fmgate/forms.xml"

# Another PREFIX: the configurations and units start that binary.
make -s -C "$top" install BUILD="$build" DESTDIR="$dest/local" PREFIX=/usr/local >/dev/null 2>&1
check "PREFIX/bin with PREFIX=/usr/local" test -x "$dest/local/usr/local/bin/fmgate"
check "Apache config follows PREFIX" grep -q 'Define FMGATE_BIN /usr/local/bin/fmgate' \
	"$dest/local/usr/local/share/fmgate/apache-fmgate.conf"
check "lighttpd config follows PREFIX" grep -q '"/usr/local/bin/fmgate"' \
	"$dest/local/usr/local/share/fmgate/lighttpd-fmgate.conf"
check "the unit follows PREFIX" grep -q '^ExecStart=/usr/local/bin/fmgate serve ' \
	"$dest/local/lib/systemd/system/fmgate.service"
expect_eq "no /usr/bin/fmgate left with PREFIX=/usr/local" \
	"$(grep -rl '/usr/bin/fmgate' "$dest/local" | wc -l)" 0
done_testing
