#!/bin/bash
# Runs a private Apache 2.4 with mod_fcgid on 127.0.0.1, for the tests, the
# demo and the benchmark. It includes the project's apache-conf/fmgate.conf
# unchanged, with the paths set by Define.
#   apache-local.sh start DIR PORT DOCROOT FMGATE_BIN MAPPING [NAME=VALUE ...]
#       writes DIR/httpd.conf and starts Apache; NAME=VALUE pairs become the
#       workers' environment (FcgidInitialEnv). Logs: DIR/error.log.
#       APACHE_FMGATE_CONF: another fmgate.conf to include (an installed one);
#       APACHE_FMGATE_SPOOL: a spool to use as it is, owner and mode
#       included (else DIR/spool, made for Apache's user).
#       APACHE_FMGATE_SPOOL_IN_MAPPING=1: the mapping's <settings> names the
#       spool, so the workers' environment does not (as on a real site).
#   apache-local.sh stop DIR
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
mods=/usr/lib/apache2/modules

case ${1:-} in
start)
	dir=$2 port=$3 docroot=$4 bin=$5 mapping=$6
	shift 6
	spool=${APACHE_FMGATE_SPOOL:-$dir/spool}
	mkdir -p "$dir/ipc"
	[ -n "${APACHE_FMGATE_SPOOL:-}" ] || install -d -m 0700 "$spool"   # whatever the umask: fmgate refuses a group-writable spool
	user=
	# Apache will not run its children as root: use www-data when started as root.
	if [ "$(id -u)" -eq 0 ]; then
		user=www-data
		chown "$user" "$dir/ipc"
		[ -n "${APACHE_FMGATE_SPOOL:-}" ] || chown "$user" "$spool"
		chmod 755 "$dir"
	fi
	{
		echo "ServerRoot $dir"
		echo "ServerName 127.0.0.1"
		echo "Listen 127.0.0.1:$port"
		echo "PidFile $dir/httpd.pid"
		echo "ErrorLog $dir/error.log"
		echo "LogLevel warn"
		for m in mpm_event authz_core authz_host alias mime dir negotiation rewrite; do
			echo "LoadModule ${m}_module $mods/mod_$m.so"
		done
		echo "LoadModule fcgid_module $mods/mod_fcgid.so"
		[ -n "$user" ] && echo "User $user" && echo "Group $user"
		echo "TypesConfig /etc/mime.types"
		echo "DirectoryIndex index.html"
		echo "DocumentRoot $docroot"
		echo "<Directory $docroot>"
		echo "  Require all granted"
		# A page in several languages (the demo's error.html, error.de.html...)
		# is answered by its type map (error.var) when one stands beside it:
		# Apache picks the page the browser's Accept-Language prefers,
		# English when it names none of them. Other servers serve the
		# English error.html as it is.
		echo "  RewriteEngine On"
		echo "  RewriteCond %{ENV:REDIRECT_STATUS} ^\$"
		echo "  RewriteCond %{REQUEST_FILENAME} ^(.*)\\.html\$"
		echo "  RewriteCond %1.var -f"
		echo "  RewriteRule ^ %1.var [NS,L]"
		echo "</Directory>"
		echo "AddHandler type-map .var"
		echo "LanguagePriority en de fr es"
		echo "ForceLanguagePriority Prefer Fallback"
		echo "<Directory $(dirname "$bin")>"
		echo "  Require all granted"
		echo "</Directory>"
		echo "LogFormat \"%h %t \\\"%r\\\" %>s %b %D\" short"
		echo "CustomLog $dir/access.log short"
		echo "FcgidIPCDir $dir/ipc"
		echo "FcgidProcessTableFile $dir/fcgid_shm"
		echo "Define FMGATE_BIN $bin"
		echo "Define FMGATE_CONFIG $mapping"
		# The spool through the workers' environment: a test's mapping need
		# not name it (installations put it in the mapping's <settings>).
		[ -n "${APACHE_FMGATE_SPOOL_IN_MAPPING:-}" ] || echo "FcgidInitialEnv FMGATE_SPOOL \"$spool\""
		for kv in "$@"; do
			echo "FcgidInitialEnv ${kv%%=*} \"${kv#*=}\""
		done
		echo "Include ${APACHE_FMGATE_CONF:-$here/apache-conf/fmgate.conf}"
		# More locations for one caller (the benchmark's ceilings).
		[ -n "${APACHE_EXTRA_CONF:-}" ] && echo "Include $APACHE_EXTRA_CONF"
	} >"$dir/httpd.conf"
	/usr/sbin/apache2 -f "$dir/httpd.conf" -k start
	for _ in $(seq 1 100); do
		[ -s "$dir/httpd.pid" ] && exit 0
		sleep 0.1
	done
	echo "Apache did not start; see $dir/error.log" >&2
	cat "$dir/error.log" >&2 || true
	exit 1
	;;
stop)
	dir=$2
	[ -s "$dir/httpd.pid" ] || exit 0
	pid=$(cat "$dir/httpd.pid")
	kill -TERM "$pid" 2>/dev/null || exit 0
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || exit 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	;;
*)
	echo "usage: $0 start DIR PORT DOCROOT FMGATE_BIN MAPPING [NAME=VALUE ...] | stop DIR" >&2
	exit 2
	;;
esac
