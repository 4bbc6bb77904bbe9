#!/bin/sh
# Installs the Debian packages fmgate needs for PURPOSE (build, test, demo,
# package, fuzz or bench) when some are missing: with apt-get as root, else it
# prints the line to run.
set -eu
purpose=${1:-build}
build="make gcc pkg-config libfcgi-dev libcurl4-openssl-dev libcjson-dev libxml2-dev libssl-dev libseccomp-dev"
run="apache2 libapache2-mod-fcgid python3 curl"
# lighttpd, nginx: the end-to-end suites start private instances of each;
# chromium, its driver and Selenium (Debian's /usr/bin/python3): the browser suite.
# man-db: the install suite renders the man page with `man -l`.
test="libfcgi-bin jq valgrind man-db lighttpd nginx chromium chromium-driver python3-selenium"
# `dpkg-buildpackage -b` of debian/: debhelper, dpkg-dev, and build-essential,
# which dpkg-checkbuilddeps requires of every Debian build (Rules-Requires-Root:
# no, so no fakeroot). The install suite builds and installs the package.
package="build-essential debhelper dpkg-dev"
case $purpose in
build) want="$build" ;;
demo) want="$build $run" ;;
test) want="$build $run $test $package" ;;
package) want="$build $package" ;;
fuzz) want="$build clang libclang-rt-14-dev" ;;
bench) want="$build $run wrk nginx lighttpd bc valgrind strace curl" ;;
*) echo "usage: $0 build|demo|test|package|fuzz|bench" >&2; exit 2 ;;
esac
missing=
for p in $want; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
	echo "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# The packaged web servers would start system instances on port 80 (and
	# nginx's install fails when Apache holds it): the tests and the demo run
	# their own on other ports, so no service starts during this install.
	policy=
	if ! [ -e /usr/sbin/policy-rc.d ]; then
		policy=/usr/sbin/policy-rc.d
		printf '#!/bin/sh\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		trap 'rm -f "$policy"' EXIT
	fi
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
	if [ -n "$policy" ]; then rm -f "$policy"; trap - EXIT; fi
else
	echo "missing Debian packages:$missing" >&2
	echo "run: sudo apt-get install -y$missing" >&2
	exit 1
fi
