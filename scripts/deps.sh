#!/bin/sh
# Installs the Debian packages fmgate needs for PURPOSE (build, test or demo)
# when some are missing: with apt-get as root, else it prints the line to run.
set -eu
purpose=${1:-build}
build="make gcc pkg-config libfcgi-dev libcurl4-openssl-dev libcjson-dev libxml2-dev"
run="apache2 libapache2-mod-fcgid python3 curl"
test="libfcgi-bin jq valgrind"
case $purpose in
build) want="$build" ;;
demo) want="$build $run" ;;
test) want="$build $run $test" ;;
*) echo "usage: $0 build|demo|test" >&2; exit 2 ;;
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
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
else
	echo "missing Debian packages:$missing" >&2
	echo "run: sudo apt-get install -y$missing" >&2
	exit 1
fi
