#!/bin/bash
# The Debian package (debian/; docs/deploy.md, "Debian package"): built with
# `dpkg-buildpackage -b -us -uc` in a copy of the tree, installed with apt-get,
# its layout checked, a post sent through a private Apache that uses only the
# installed files (binary, Apache config, mapping, spool, visitor assets), then
# removed and purged. It installs a package on this machine, so it runs as root
# only, refuses a machine that has fmgate already (it would take it over), and
# leaves nothing installed, whatever happens.
. "$(dirname "$0")/../lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
version=$(cat "$top/VERSION")
spool=/var/spool/fmgate
export DEBIAN_FRONTEND=noninteractive
if [ "$(id -u)" -ne 0 ]; then
	echo "skipped: installing a package needs root"
	done_testing
	exit
fi
pkg_status() { dpkg-query -W -f='${db:Status-Status}' fmgate 2>/dev/null; }
is_purged() { case $(pkg_status) in '' | not-installed) return 0 ;; esac; return 1; }
if ! is_purged; then
	not_ok "the package fmgate is on this machine ($(pkg_status)): this suite would remove it"
	done_testing
	exit
fi
for p in /usr/bin/fmgate /usr/share/fmgate /etc/fmgate $spool; do
	if [ -e "$p" ]; then
		not_ok "$p exists (make install?): this suite would take it over"
		done_testing
		exit
	fi
done
sh "$top/scripts/deps.sh" package || { not_ok "the packaging tools are missing"; done_testing; exit; }

# Nothing was there before (above): all that is there now is this suite's.
work=$(mktemp -d /tmp/fmgate-deb.XXXXXX)
chmod 755 "$work"
# apt-get, not dpkg: it waits for the package database when another install
# holds it. In a session of its own, so that the signal of the runner's
# timeout (sent to this process group) does not cut dpkg short: the suite
# then waits for it, and cleans up.
apt_get() { setsid apt-get -y -q -o DPkg::Lock::Timeout=300 "$@" >"$work/apt.log" 2>&1; }
cleanup() {
	"$top/scripts/apache-local.sh" stop "$work/apache"
	# A dpkg that was cut short all the same (a KILL) must finish first.
	is_purged || apt_get purge fmgate || { dpkg --configure -a && apt_get purge fmgate; } >/dev/null 2>&1
	rm -rf "$spool" "$work"
	double_stop
}
trap cleanup EXIT
trap "exit 143" TERM INT

# --- the build: in a copy, since dpkg-buildpackage writes beside the tree
mkdir "$work/src"
tar -C "$top" --exclude='./build*' --exclude=./.git -cf - . | tar -C "$work/src" -xf -
(cd "$work/src" && DEB_BUILD_OPTIONS="parallel=2 noddebs" timeout 400 \
	dpkg-buildpackage -b -us -uc) >"$work/build.log" 2>&1
expect_eq "dpkg-buildpackage -b -us -uc succeeds" "$?" 0
deb="$work/fmgate_${version}_$(dpkg --print-architecture).deb"
if ! [ -f "$deb" ]; then
	not_ok "no $(basename "$deb"): $(ls "$work")"
	tail -n 30 "$work/build.log"
	done_testing
	exit
fi
expect_eq "the spool is not in the package (postinst makes it)" \
	"$(dpkg-deb -c "$deb" | grep -c ' \./var/')" 0

# --- installed with apt-get, as an administrator would
apt_get install --no-install-recommends "$deb"
rc=$?
expect_eq "apt-get install ./fmgate_${version}_*.deb succeeds" "$rc" 0
[ "$rc" -eq 0 ] || cat "$work/apt.log"
expect_eq "the package is installed" "$(pkg_status)" installed
expect_eq "the binary" "$(stat -c '%a %U' /usr/bin/fmgate)" "755 root"
expect_match "the binary's version is VERSION" "$(/usr/bin/fmgate --version 2>&1)" "$version"
share=/usr/share/fmgate
for f in fmgate.rng:schema/fmgate.rng forms.example.xml:docs/forms.example.xml \
	apache-fmgate.conf:apache-conf/fmgate.conf lighttpd-fmgate.conf:lighttpd-conf/fmgate.conf \
	nginx-fmgate.conf:nginx-conf/fmgate.conf; do
	check "$share/${f%%:*} is the tree's ${f#*:}" cmp -s "$share/${f%%:*}" "$top/${f#*:}"
done
for f in "$top"/www/fmgate-forms.js "$top"/www/error*.html "$top"/www/error.var; do
	check "visitor asset $share/www/${f##*/}" cmp -s "$share/www/${f##*/}" "$f"
done
expect_eq "none of the demo site in $share/www" \
	"$(ls "$share/www" | grep -Evc '^(fmgate-forms\.js|error(\.[a-z]+)?\.html|error\.var)$')" 0
for u in "$top"/systemd/*; do
	check "unit /lib/systemd/system/${u##*/}" cmp -s "/lib/systemd/system/${u##*/}" "$u"
done
check "/etc/fmgate/forms.xml is the example mapping" cmp -s /etc/fmgate/forms.xml "$top/docs/forms.example.xml"
expect_match "/etc/fmgate/forms.xml is the one conffile" \
	"$(dpkg-query -W -f='${Conffiles}' fmgate)" '^ ?/etc/fmgate/forms\.xml [0-9a-f]{32}$'
expect_eq "data files are 0644, root's" "$(find $share /etc/fmgate /lib/systemd/system/fmgate* \
	/usr/share/man/man1/fmgate.1.gz -type f -printf '%m %u\n' | sort -u)" "644 root"
expect_match "man fmgate shows this version" "$(MANWIDTH=80 man fmgate 2>&1)" "fmgate $version"
expect_eq "postinst made the spool for www-data, 0700" "$(stat -c '%U:%G %a' $spool)" "www-data:www-data 700"
out=$(runuser -u www-data -- /usr/bin/fmgate check /etc/fmgate/forms.xml 2>&1)
expect_eq "fmgate check accepts the installed mapping (as www-data)" "$?" 0
expect_match "... and says so" "$out" '^/etc/fmgate/forms\.xml: valid'

# --- nothing enabled or started without the administrator
expect_eq "no unit enabled (no link in /etc/systemd/system)" \
	"$(find /etc/systemd/system -name 'fmgate*' | wc -l)" 0
if command -v systemctl >/dev/null; then
	for u in fmgate.service fmgate-drain.service fmgate-drain-retry.timer; do
		expect_eq "$u disabled" "$(systemctl --root=/ is-enabled "$u" 2>&1)" disabled
	done
else
	echo "systemctl not found: only the links were looked for"
fi
expect_eq "no fmgate process started" "$(pgrep -c -f '^/usr/bin/fmgate')" 0
expect_eq "nothing in /etc/apache2 (no conf enabled)" \
	"$(find /etc/apache2 -name '*fmgate*' 2>/dev/null | wc -l)" 0

# --- a post through Apache from the installed files only: its config, the
# binary, the mapping (the API pointed at the double by the environment, as in
# the end-to-end suites), the spool postinst made, the visitor assets as the
# site's pages.
double_start || exit 1
double_reset
port=$(free_port) || exit 1
APACHE_FMGATE_CONF=$share/apache-fmgate.conf APACHE_FMGATE_SPOOL=$spool \
	"$top/scripts/apache-local.sh" start "$work/apache" "$port" "$share/www" /usr/bin/fmgate \
	/etc/fmgate/forms.xml FM_API_BASE="$FMDOUBLE_URL/crm/sales/api" FM_API_KEY="$FMDOUBLE_KEY" || exit 1
base="http://127.0.0.1:$port"
out=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' --data 'email=deb%40example.com' "$base/forms/newsletter")
expect_eq "the example's newsletter form: 303 to its success URL" "$out" "303 https://www.example.com/subscribed.html"
expect_eq "the contact reached the double" "$(double_contact deb@example.com external_id)" "deb@example.com"
out=$(curl -s -o /dev/null -w '%{http_code}' --data 'email=consent%40example.com&consent=on' "$base/forms/newsletter")
expect_eq "a checked consent box: 303" "$out" 303
expect_eq "the workers wrote the consent ledger into the installed spool" \
	"$(stat -c %U $spool/consent/*.jsonl 2>&1)" www-data
check "fmgate-forms.js is served as installed" \
	bash -c "curl -sf '$base/fmgate-forms.js' | cmp -s - '$share/www/fmgate-forms.js'"
expect_match "the error page in the visitor's language (error.var)" \
	"$(curl -s -H 'Accept-Language: de' "$base/error.html")" '<html lang="de"'
check "no errors from mod_fcgid" bash -c "! grep -E 'Premature end|AH01071|error' '$work/apache/error.log'"
"$top/scripts/apache-local.sh" stop "$work/apache"

# --- a reinstall keeps the administrator's mapping and the spool
echo '<!-- mine -->' >>/etc/fmgate/forms.xml
chmod 0750 $spool
apt_get install --reinstall "$deb"
expect_eq "apt-get install --reinstall succeeds" "$?" 0
check "an edited /etc/fmgate/forms.xml is kept" grep -q mine /etc/fmgate/forms.xml
expect_eq "the spool's owner and mode are the administrator's" "$(stat -c '%U %a' $spool)" "www-data 750"
chmod 0700 $spool

# --- remove: the program goes; the mapping and the spool stay
apt_get remove fmgate
expect_eq "apt-get remove succeeds" "$?" 0
expect_eq "removed, its conffile kept" "$(pkg_status)" config-files
for p in /usr/bin/fmgate $share /lib/systemd/system/fmgate.service /usr/share/man/man1/fmgate.1.gz; do
	check "remove: $p is gone" test ! -e "$p"
done
check "remove: /etc/fmgate/forms.xml stays" grep -q mine /etc/fmgate/forms.xml
check "remove: the spool and its ledger stay" test -s "$(echo $spool/consent/*.jsonl)"

# --- purge: the mapping goes; the spool too, unless it holds submissions or
# the consent ledger
apt_get purge fmgate
expect_eq "apt-get purge succeeds" "$?" 0
check "purged" is_purged
check "purge: /etc/fmgate is gone" test ! -e /etc/fmgate
check "purge keeps a spool with a consent ledger" test -s "$(echo $spool/consent/*.jsonl)"
expect_match "... and says so" "$(cat "$work/apt.log")" "fmgate: $spool kept: it holds 1 "
rm -f $spool/consent/*.jsonl
for held in queue/00/20261203T072501Z-1 dead/20261203T072501Z-1; do
	apt_get install "$deb"
	mkdir -p "$spool/${held%/*}" && touch "$spool/$held"
	apt_get purge fmgate
	check "purge keeps a spool with $held" test -e "$spool/$held"
	rm -f "$spool/$held"
done
# What can be made again (the layout, shared state, a file left half written)
# is not worth keeping.
apt_get install "$deb"
mkdir -p $spool/state $spool/queue/00 && touch $spool/count $spool/state/pause $spool/queue/00/.123.1.1
apt_get purge fmgate
check "purge removes a spool with nothing to deliver" test ! -e $spool
check "purged again" is_purged

# debian/changelog and VERSION must agree: a release that changes one only
# fails before anything is built.
echo 9.9.9 >"$work/src/VERSION"
out=$(cd "$work/src" && dpkg-buildpackage -b -us -uc 2>&1)
expect_eq "VERSION unlike debian/changelog: the build fails" "$?" 2
expect_match "... and says why" "$out" "debian/changelog says $version but VERSION says 9\.9\.9"
done_testing
