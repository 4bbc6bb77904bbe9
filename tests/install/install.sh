#!/bin/bash
# `make install` lays out the binary, schema, example mapping and Apache config
# under DESTDIR and PREFIX, keeps an existing /etc/fmgate/forms.xml, and the
# installed example mapping is valid.
. "$(dirname "$0")/../lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
dest=$(mktemp -d /tmp/fmgate-install.XXXXXX)
trap 'rm -rf "$dest"' EXIT
make -s -C "$top" install DESTDIR="$dest" PREFIX=/usr >/dev/null 2>"$dest.err"
expect_eq "make install succeeds" "$?" 0
check "binary in PREFIX/bin" test -x "$dest/usr/bin/fmgate"
check "schema in PREFIX/share/fmgate" test -f "$dest/usr/share/fmgate/fmgate.rng"
check "Apache config in PREFIX/share/fmgate" test -f "$dest/usr/share/fmgate/apache-fmgate.conf"
check "mapping in /etc/fmgate" test -f "$dest/etc/fmgate/forms.xml"
check "the installed mapping is valid" "$dest/usr/bin/fmgate" check "$dest/etc/fmgate/forms.xml"
echo '<!-- mine -->' >>"$dest/etc/fmgate/forms.xml"
make -s -C "$top" install DESTDIR="$dest" PREFIX=/usr >/dev/null 2>&1
check "an existing mapping is kept" grep -q 'mine' "$dest/etc/fmgate/forms.xml"
rm -f "$dest.err"
done_testing
