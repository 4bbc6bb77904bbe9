#!/bin/bash
# make bench: fmgate against two ceilings, side by side in one run, behind a
# private Apache with mod_fcgid and a private lighttpd with mod_fastcgi, both
# on 127.0.0.1:
#   bare      a libfcgi responder that reads the body and answers the same 303
#   upstream  one that also parses the body and makes the same upstream call
#             with one kept-alive libcurl handle
#   sync      fmgate, <delivery mode="sync">: parse, validate, identify, map,
#             upsert, 303, against a fast stand-in CRM (nginx answering from
#             memory, with the rate-limit headers Freshmarketer sends)
#   async     fmgate, <delivery mode="async">: the same, but the submission is
#             written durably to the spool and answered; `fmgate drain --watch`
#             delivers it to a stand-in CRM that takes CRM_DELAY (2) s a call
# wrk sends a realistic 8-field form post (bench/post.lua). Every round runs
# each endpoint of each server in turn, then the disk's durable-write rate
# (bench/spoolrate.c, as many writers as there are connections); the median
# of the rounds is reported. Then: the private memory of one worker after
# 10,000 and after MEM_REQUESTS requests, and whether each fmgate worker kept
# one upstream connection for the whole run. It prints; it asserts nothing
# (the machine is shared). Everything it starts is stopped, its files removed.
#   ROUNDS=3 SECONDS_PER_RUN=6 CONNECTIONS=16 bash bench/run.sh
# SERVERS="apache lighttpd" picks servers; MEM_REQUESTS=0 skips the memory run.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
ROUNDS=${ROUNDS:-3}
SECS=${SECONDS_PER_RUN:-6}
CONNS=${CONNECTIONS:-16}
SERVERS=${SERVERS:-apache lighttpd}
LIGHTTPD_PROCS=${LIGHTTPD_PROCS:-$CONNS}
MEM_REQUESTS=${MEM_REQUESTS:-100000}
CRM_DELAY=${CRM_DELAY:-2}
bin="$top/$BUILD"
for f in fmgate bench/ceiling_bare bench/ceiling_upstream bench/spoolrate; do
	[ -x "$bin/$f" ] || { echo "bench: $bin/$f is missing (make bench-build)" >&2; exit 2; }
done
for t in wrk /usr/sbin/nginx /usr/sbin/apache2 bc; do
	command -v "$t" >/dev/null || { echo "bench: $t is missing (sh scripts/deps.sh bench)" >&2; exit 2; }
done
case " $SERVERS " in *" lighttpd "*)
	[ -x /usr/sbin/lighttpd ] || { echo "bench: lighttpd is missing (apt-get install lighttpd)" >&2; exit 2; }
esac
dir=$(mktemp -d /tmp/fmgate-bench.XXXXXX)
chmod 755 "$dir"
pids=()
lighttpd_pid=
cleanup() {
	"$top/scripts/apache-local.sh" stop "$dir/apache" >/dev/null 2>&1
	if [ -n "$lighttpd_pid" ]; then
		kill -TERM "$lighttpd_pid" 2>/dev/null
		for _ in $(seq 1 50); do kill -0 "$lighttpd_pid" 2>/dev/null || break; sleep 0.1; done
	fi
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Workers run as www-data when this runs as root (Apache and lighttpd drop to it).
user=
[ "$(id -u)" -eq 0 ] && user=www-data
as_worker() { if [ -n "$user" ]; then setpriv --reuid="$user" --regid="$user" --clear-groups "$@"; else "$@"; fi; }
own() { [ -z "$user" ] || chown "$user:$user" "$@"; }

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {
	local p
	for _ in $(seq 1 50); do
		p=$((30000 + RANDOM % 10000))
		port_free "$p" && { echo "$p"; return; }
	done
	return 1
}
wait_port() { for _ in $(seq 1 100); do port_free "$1" || return 0; sleep 0.1; done; return 1; }

# --- the stand-in CRMs ----------------------------------------------------------------
# Fast: nginx answering from memory, keep-alive on, with the rate-limit headers of
# every Freshmarketer answer (limits far away, so nothing is held back).
crm_port=$(pick_port)
mkdir -p "$dir/crm"
cp "$top/bench/fields.json" "$dir/crm/fields.json"
cat >"$dir/crm/nginx.conf" <<CONF
worker_processes 1;
error_log $dir/crm/error.log warn;
pid $dir/crm/nginx.pid;
daemon off;
events { worker_connections 1024; }
http {
	access_log off;
	keepalive_requests 100000000;
	keepalive_timeout 3600s;
	client_body_temp_path $dir/crm;
	server {
		listen 127.0.0.1:$crm_port;
		default_type application/json;
		add_header x-ratelimit-limit 1000000000 always;
		add_header x-ratelimit-remaining 999999999 always;
		add_header x-ratelimit-reset 3600 always;
		add_header per-min-x-ratelimit-limit 100000000 always;
		add_header per-min-x-ratelimit-remaining 99999999 always;
		add_header per-min-x-ratelimit-reset 60 always;
		location = /crm/sales/api/contacts/upsert {
			return 200 '{"contact":{"id":70054866612}}';
		}
		location = /crm/sales/api/settings/contacts/fields {
			alias $dir/crm/fields.json;
		}
	}
}
CONF
/usr/sbin/nginx -c "$dir/crm/nginx.conf" -p "$dir/crm" &
pids+=($!)
wait_port "$crm_port" || { echo "bench: the stand-in CRM did not start" >&2; exit 1; }
api="http://127.0.0.1:$crm_port/crm/sales/api"
# Slow: CRM_DELAY seconds a call, for async mode (only the drains call it).
/usr/bin/python3 "$top/bench/slowcrm.py" "$dir/crm/slow.port" "$dir/crm/fields.json" "$CRM_DELAY" &
pids+=($!)
for _ in $(seq 1 100); do [ -s "$dir/crm/slow.port" ] && break; sleep 0.1; done
slow_api="http://127.0.0.1:$(cat "$dir/crm/slow.port")/crm/sales/api"

# --- mappings and binaries --------------------------------------------------------------
mkdir -p "$dir/bin"
# Signed userIds: the key (the workers' to read) and the values wrk sends.
/usr/bin/python3 "$top/bench/uids.py" "$dir/uid-key" "$dir/uids.lua" 20000 >/dev/null ||
	{ echo "bench: cannot write the signed userIds" >&2; exit 1; }
own "$dir/uid-key"
export BENCH_UIDS="$dir/uids.lua"
sed "s|@UID_KEY@|$dir/uid-key|" "$top/bench/forms.xml" >"$dir/forms.xml"
# Async: every submission to the spool; max-files far above what a run writes.
sed -e 's|<delivery mode="sync"|<delivery mode="async"|' \
	-e 's|<settings>|<settings>\n    <spool max-files="10000000"/>|' "$dir/forms.xml" >"$dir/forms-async.xml"
chmod 644 "$dir/forms.xml" "$dir/forms-async.xml"
grep -q 'mode="async"' "$dir/forms-async.xml" || { echo "bench: cannot make the async mapping" >&2; exit 1; }
# A process class of its own per role (mod_fcgid keys classes by the file).
cp "$bin/fmgate" "$dir/bin/fmgate-async"
cp "$bin/fmgate" "$dir/bin/fmgate-mem"
cp "$bin/bench/ceiling_bare" "$bin/bench/ceiling_upstream" "$dir/bin/"
chmod 755 "$dir/bin" "$dir/bin/"*

# A drain --watch per async spool, as the service would run.
start_drain() { # start_drain SPOOL
	local run=()
	[ -n "$user" ] && run=(setpriv --reuid="$user" --regid="$user" --clear-groups)
	FMGATE_CONFIG="$dir/forms-async.xml" FMGATE_SPOOL="$1" FM_API_BASE="$slow_api" \
		FM_API_KEY=bench-key "${run[@]}" "$bin/fmgate" drain --watch 2>>"$dir/drain.log" &
	pids+=($!)
}

# --- Apache + mod_fcgid: the project's apache-conf, plus the other endpoints -------------
start_apache() {
	mkdir -p "$dir/apache/spool-async" "$dir/apache/spool-mem"
	own "$dir/apache/spool-async" "$dir/apache/spool-mem"
	chmod 700 "$dir/apache/spool-async" "$dir/apache/spool-mem"
	cat >"$dir/extra.conf" <<CONF
# mod_fcgid waits a whole second when a request finds no idle worker and may not
# spawn one yet: let every class grow to the concurrency at once (the warm-up
# spawns them before anything is measured).
FcgidSpawnScoreUpLimit 1000
FcgidMinProcessesPerClass $CONNS
Alias /bare $dir/bin/ceiling_bare
Alias /upstream $dir/bin/ceiling_upstream
Alias /async $dir/bin/fmgate-async
Alias /mem $dir/bin/fmgate-mem
<Directory $dir/bin>
	Require all granted
</Directory>
<LocationMatch "^/(bare|upstream|async|mem)">
	SetHandler fcgid-script
	Options +ExecCGI
	AcceptPathInfo On
</LocationMatch>
FcgidCmdOptions $dir/bin/fmgate-async \\
	InitialEnv FMGATE_CONFIG=$dir/forms-async.xml InitialEnv FMGATE_SPOOL=$dir/apache/spool-async \\
	InitialEnv FM_API_BASE=$slow_api InitialEnv FM_API_KEY=bench-key
# One worker: the memory run counts requests per worker exactly.
FcgidCmdOptions $dir/bin/fmgate-mem MaxProcesses 1 \\
	InitialEnv FMGATE_CONFIG=$dir/forms.xml InitialEnv FMGATE_SPOOL=$dir/apache/spool-mem \\
	InitialEnv FM_API_BASE=$api InitialEnv FM_API_KEY=bench-key
CONF
	local port
	port=$(pick_port) || return 1
	APACHE_EXTRA_CONF="$dir/extra.conf" "$top/scripts/apache-local.sh" start "$dir/apache" "$port" \
		"$top/www" "$bin/fmgate" "$dir/forms.xml" FM_API_BASE="$api" FM_API_KEY=bench-key >/dev/null ||
		return 1
	url_apache="http://127.0.0.1:$port"
	start_drain "$dir/apache/spool-async"
}

# --- lighttpd + mod_fastcgi: the project's lighttpd-conf for /forms/, the same for the rest
start_lighttpd() {
	local l="$dir/lighttpd" port
	mkdir -p "$l/run" "$l/log" "$l/spool" "$l/spool-async" "$l/uploads"
	own "$l/run" "$l/log" "$l/spool" "$l/spool-async" "$l/uploads"
	chmod 700 "$l/spool" "$l/spool-async"
	port=$(pick_port) || return 1
	sed -e "s|^var.fmgate_bin .*|var.fmgate_bin = \"$bin/fmgate\"|" \
		-e "s|^var.fmgate_config .*|var.fmgate_config = \"$dir/forms.xml\"|" \
		-e "s|^var.fmgate_socket .*|var.fmgate_socket = \"$l/run/fmgate.socket\"|" \
		-e "s|^var.fmgate_log .*|var.fmgate_log = \"$l/log/fmgate.log\"|" \
		-e "s|\"max-procs\" *=> *[0-9]*,|\"max-procs\" => $LIGHTTPD_PROCS, \"min-procs\" => $LIGHTTPD_PROCS,|" \
		-e "s|^\(\t*\)\"FMGATE_CONFIG\" .*|&\n\1\"FMGATE_SPOOL\" => \"$l/spool\",\n\1\"FM_API_BASE\" => \"$api\",\n\1\"FM_API_KEY\" => \"bench-key\",|" \
		"$top/lighttpd-conf/fmgate.conf" >"$l/fmgate.conf"
	grep -q "\"max-procs\" => $LIGHTTPD_PROCS" "$l/fmgate.conf" &&
		grep -q '"FM_API_BASE" =>' "$l/fmgate.conf" ||
		{ echo "bench: cannot adapt lighttpd-conf/fmgate.conf" >&2; return 1; }
	backend() { # backend PREFIX NAME BIN ENV...
		local prefix=$1 name=$2 b=$3
		shift 3
		printf '\t"%s" => ( "%s" => (\n\t\t"bin-path" => "%s",\n\t\t"socket" => "%s/run/%s.socket",\n' \
			"$prefix" "$name" "$b" "$l" "$name"
		printf '\t\t"check-local" => "disable",\n\t\t"max-procs" => %s,\n\t\t"min-procs" => %s,\n\t\t"bin-environment" => (\n' \
			"$LIGHTTPD_PROCS" "$LIGHTTPD_PROCS"
		for kv in "$@"; do printf '\t\t\t"%s" => "%s",\n' "${kv%%=*}" "${kv#*=}"; done
		printf '\t\t),\n\t)),\n'
	}
	{
		echo "server.document-root = \"$top/www\""
		echo "server.bind = \"127.0.0.1\""
		echo "server.port = $port"
		[ -n "$user" ] && echo "server.username = \"$user\"" && echo "server.groupname = \"$user\""
		echo "server.pid-file = \"$l/lighttpd.pid\""
		echo "server.errorlog = \"$l/log/error.log\""
		echo "server.upload-dirs = ( \"$l/uploads\" )"
		echo "server.max-connections = 1024"
		echo "include \"$l/fmgate.conf\""
		echo "fastcgi.server = ("
		backend /async/ async "$dir/bin/fmgate-async" FMGATE_CONFIG="$dir/forms-async.xml" \
			FMGATE_SPOOL="$l/spool-async" FM_API_BASE="$slow_api" FM_API_KEY=bench-key
		backend /bare bare "$dir/bin/ceiling_bare"
		backend /upstream upstream "$dir/bin/ceiling_upstream" FM_API_BASE="$api" FM_API_KEY=bench-key
		echo ")"
	} >"$l/lighttpd.conf"
	/usr/sbin/lighttpd -f "$l/lighttpd.conf" || { cat "$l/log/error.log" >&2; return 1; }
	for _ in $(seq 1 100); do [ -s "$l/lighttpd.pid" ] && break; sleep 0.1; done
	lighttpd_pid=$(cat "$l/lighttpd.pid")
	wait_port "$port" || return 1
	url_lighttpd="http://127.0.0.1:$port"
	start_drain "$l/spool-async"
}

# --- measuring ---------------------------------------------------------------------------
run_wrk() { # run_wrk URL SECONDS CONNS [MODE] -> "rps p50 p99 errors non2xx requests"
	wrk -t"$(($3 < 2 ? $3 : 2))" -c"$3" -d"$2s" --timeout 5s -s "$top/bench/post.lua" "$1" \
		-- "${4:-post}" 2>/dev/null |
		sed -n 's/^RESULT rps=\([0-9.]*\) p50_ms=\([0-9.]*\) p99_ms=\([0-9.]*\) errors=\([0-9]*\) non2xx=\([0-9]*\) requests=\([0-9]*\)$/\1 \2 \3 \4 \5 \6/p'
}
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "-"}'; }
spread() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {if (NR) printf "%s-%s", a[1], a[NR]}'; }
ratio() { [ "$1" != - ] && [ "$2" != - ] && printf '%.3f' "$(echo "$1 / $2" | bc -l)" || printf -- -; }
workers_of() { pgrep -d' ' -x "$1" 2>/dev/null; } # processes by command name

# Upstream connections of the fmgate (sync) workers: "pid local-port" for each
# established connection to the fast CRM, accumulated over the whole run.
conn_sample() {
	ss -tnpH state established "( dport = :$crm_port )" 2>/dev/null |
		sed -n 's/^[^ ]* *[^ ]* *[^ ]*:\([0-9]*\) .*"fmgate",pid=\([0-9]*\),.*/\2 \1/p' >>"$dir/conns"
}

private_kib() { awk '/^Private_Dirty/ {s += $2} END {print s + 0}' "/proc/$1/smaps_rollup" 2>/dev/null; }

endpoints=(bare upstream forms/contact async/contact)
# The refusal path, on the sync endpoint: (name wrk-mode expected-status).
refusals=(honeypot:honeypot:303 bad-email:bademail:303 foreign:foreign:403)
declare -A url rps p50 p99 bad
mkdir -p "$dir/disk"
own "$dir/disk"
for s in $SERVERS; do
	case $s in
	apache) start_apache || { echo "bench: Apache did not start" >&2; exit 1; }; url[apache]=$url_apache ;;
	lighttpd) start_lighttpd || { echo "bench: lighttpd did not start" >&2; exit 1; }; url[lighttpd]=$url_lighttpd ;;
	*) echo "bench: unknown server $s" >&2; exit 2 ;;
	esac
done
# BENCH_HOLD=SECONDS: keep everything running that long first (for profiling).
if [ -n "${BENCH_HOLD:-}" ]; then
	echo "holding: ${url[*]} crm=$api slow=$slow_api dir=$dir (pid $$)"
	sleep "$BENCH_HOLD" &
	pids+=($!)
	wait $!
fi

# Warm-up: every worker spawned, the field list cached, connections open.
for s in $SERVERS; do
	for ep in "${endpoints[@]}"; do
		run_wrk "${url[$s]}/$ep" 3 "$((CONNS * 2))" >/dev/null
		run_wrk "${url[$s]}/$ep" 2 "$CONNS" >/dev/null
	done
done
# Each refusal answers what it should (wrk counts neither 303 nor 403 apart).
refusal_check=
for rf in "${refusals[@]}"; do
	IFS=: read -r name mode want <<<"$rf"
	case $mode in
	honeypot) args=(-H 'Origin: https://www.example.com' --data 'email=x%40example.com&website=spam') ;;
	bademail) args=(-H 'Origin: https://www.example.com' --data 'email=not-an-email') ;;
	foreign) args=(-H 'Origin: https://www.example.net' --data 'email=x%40example.com') ;;
	esac
	for s in $SERVERS; do
		got=$(curl -s -o /dev/null -w '%{http_code}' "${args[@]}" "${url[$s]}/forms/contact")
		refusal_check+="$s $name $got$([ "$got" = "$want" ] || echo " (want $want)"); "
	done
done
conn_sample
for r in $(seq 1 "$ROUNDS"); do
	for s in $SERVERS; do
		for ep in "${endpoints[@]}"; do
			read -r a b c e n _ < <(run_wrk "${url[$s]}/$ep" "$SECS" "$CONNS")
			k="$s ${ep%/contact}"
			rps[$k]+="${a:-} "; p50[$k]+="${b:-} "; p99[$k]+="${c:-} "
			[ "${e:-0}" -gt 0 ] || [ "${n:-0}" -gt 0 ] || [ -z "${a:-}" ] && bad[$k]+="round $r: ${e:-?} socket errors, ${n:-?} error answers; "
		done
		for rf in "${refusals[@]}"; do
			IFS=: read -r name mode _ <<<"$rf"
			read -r a b c e _ _ < <(run_wrk "${url[$s]}/forms/contact" "$SECS" "$CONNS" "$mode")
			k="$s $name"
			rps[$k]+="${a:-} "; p50[$k]+="${b:-} "; p99[$k]+="${c:-} "
			[ "${e:-0}" -gt 0 ] || [ -z "${a:-}" ] && bad[$k]+="round $r: ${e:-?} socket errors; "
		done
		conn_sample
	done
	# The disk, between the servers' async runs: as many writers as connections.
	rps[disk]+="$(as_worker "$bin/bench/spoolrate" "$dir/disk" "$SECS" "$CONNS") "
	rps[disk1]+="$(as_worker "$bin/bench/spoolrate" "$dir/disk" 2 1) "
done

# --- system calls per submission: strace -c on every worker of an endpoint during a calm
# run (2 connections, 2 s), divided by the requests wrk saw answered.
syscalls_per() { # syscalls_per SERVER ENDPOINT PROCESS-PATTERN -> "N" or "-"
	local args=() sp n calls
	for p in $(pgrep -f "$3"); do args+=(-p "$p"); done
	[ "${#args[@]}" -gt 0 ] && command -v strace >/dev/null || { echo -; return; }
	strace -f -c -o "$dir/strace.out" "${args[@]}" 2>/dev/null &
	sp=$!
	sleep 1
	read -r _ _ _ _ _ n < <(run_wrk "${url[$1]}/$2" 2 2)
	kill -INT "$sp" 2>/dev/null
	wait "$sp" 2>/dev/null
	calls=$(awk '$NF == "total" {print $4}' "$dir/strace.out" 2>/dev/null)
	[ -n "$calls" ] && [ "${n:-0}" -gt 0 ] && printf '%.1f' "$(echo "$calls / $n" | bc -l)" || echo -
}
# --- where the CPU goes: one run per endpoint, the CPU time of each process class
# (from /proc: utime + stime) and of the whole machine, per request answered.
ticks_of() { # ticks_of PIDS... -> user+system clock ticks, summed
	local t=0 p v
	for p in "$@"; do
		v=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null) && t=$((t + v))
	done
	echo "$t"
}
machine_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8}' /proc/stat; }
cpu_split() { # cpu_split SERVER ENDPOINT WORKER-PATTERN [MODE] -> "server workers crm rest total" (us/request)
	local web=() wk=() crm=() w0 k0 c0 m0 n hz us
	case $1 in apache) web=($(pgrep -x apache2)) ;; lighttpd) web=($(pgrep -x lighttpd)) ;; esac
	wk=($(pgrep -f "$3")); crm=($(pgrep -x nginx))
	w0=$(ticks_of "${web[@]}"); k0=$(ticks_of "${wk[@]}"); c0=$(ticks_of "${crm[@]}"); m0=$(machine_ticks)
	read -r _ _ _ _ _ n < <(run_wrk "${url[$1]}/$2" "$SECS" "$CONNS" "${4:-post}")
	hz=$(getconf CLK_TCK)
	[ "${n:-0}" -gt 0 ] || { echo "- - - - -"; return; }
	us() { printf '%.0f' "$(echo "$1 * 1000000 / $hz / $n" | bc -l)"; }
	local w=$(( $(ticks_of "${web[@]}") - w0 )) k=$(( $(ticks_of "${wk[@]}") - k0 ))
	local c=$(( $(ticks_of "${crm[@]}") - c0 )) m=$(( $(machine_ticks) - m0 ))
	echo "$(us "$w") $(us "$k") $(us "$c") $(us $((m - w - k - c))) $(us "$m")"
}
declare -A cpu
for s in $SERVERS; do
	cpu[$s bare]=$(cpu_split "$s" bare "^$dir/bin/ceiling_bare")
	cpu[$s upstream]=$(cpu_split "$s" upstream "^$dir/bin/ceiling_upstream")
	cpu[$s sync]=$(cpu_split "$s" forms/contact "^$bin/fmgate\$")
	cpu[$s honeypot]=$(cpu_split "$s" forms/contact "^$bin/fmgate\$" honeypot)
done

declare -A sysc
for s in $SERVERS; do
	sysc[$s sync]=$(syscalls_per "$s" forms/contact "^$bin/fmgate\$")
	sysc[$s upstream]=$(syscalls_per "$s" upstream "^$dir/bin/ceiling_upstream")
	sysc[$s bare]=$(syscalls_per "$s" bare "^$dir/bin/ceiling_bare")
done

# --- report --------------------------------------------------------------------------------
echo
echo "fmgate benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs ($(sed -n 's/^model name\t*: //p' /proc/cpuinfo | head -1)), kernel $(uname -r)"
echo "wrk -t2 -c$CONNS, 8-field post; $ROUNDS rounds x ${SECS}s, endpoints alternating; median (min-max) of the rounds"
echo "sync: stand-in CRM answering at once; async: stand-in CRM taking ${CRM_DELAY}s a call, drain --watch delivering"
for s in $SERVERS; do
	case $s in
	apache) echo "Apache $(apache2 -v | sed -n 's/^Server version: Apache\/\([^ ]*\).*/\1/p') + mod_fcgid" ;;
	lighttpd) echo "$(lighttpd -v 2>&1 | sed -n 's/^\(lighttpd\/[^ ]*\).*/\1/p') + mod_fastcgi, max-procs $LIGHTTPD_PROCS" ;;
	esac
	printf '  %-9s %16s %8s %8s\n' endpoint "req/s" "p50 ms" "p99 ms"
	for ep in "${endpoints[@]}"; do
		k="$s ${ep%/contact}"
		name=${ep%/contact}; [ "$name" = forms ] && name=sync
		printf '  %-9s %7s %-9s %7s %8s\n' "$name" "$(echo "${rps[$k]}" | median)" \
			"($(echo "${rps[$k]}" | spread))" "$(echo "${p50[$k]}" | median)" "$(echo "${p99[$k]}" | median)"
		[ -n "${bad[$k]:-}" ] && echo "    warning: ${bad[$k]}"
	done
	f=$(echo "${rps[$s forms]}" | median); u=$(echo "${rps[$s upstream]}" | median)
	b=$(echo "${rps[$s bare]}" | median); a=$(echo "${rps[$s async]}" | median)
	d=$(echo "${rps[disk]}" | median)
	echo "  sync / upstream ceiling = $(ratio "$f" "$u")   sync / bare = $(ratio "$f" "$b")   (per round: $(
		set -- ${rps[$s forms]}; i=1; for x in ${rps[$s upstream]}; do printf '%s ' "$(ratio "${!i}" "$x")"; i=$((i + 1)); done))"
	echo "  async / upstream ceiling = $(ratio "$a" "$u")   async / bare = $(ratio "$a" "$b")   (the CRM takes ${CRM_DELAY}s: the visitor does not wait for it)"
	echo "  async / disk's durable-write rate ($CONNS writers) = $(ratio "$a" "$d")   async p99 = $(echo "${p99[$s async]}" | median) ms"
	echo "  the refusal path on the sync endpoint, against the bare 303:"
	for rf in "${refusals[@]}"; do
		IFS=: read -r name _ _ <<<"$rf"
		k="$s $name"
		x=$(echo "${rps[$k]}" | median)
		printf '  %-9s %7s %-9s %7s %8s   / bare = %s\n' "$name" "$x" "($(echo "${rps[$k]}" | spread))" \
			"$(echo "${p50[$k]}" | median)" "$(echo "${p99[$k]}" | median)" "$(ratio "$x" "$b")"
		[ -n "${bad[$k]:-}" ] && echo "    warning: ${bad[$k]}"
	done
done
echo "refusal answers: $refusal_check"
for s in $SERVERS; do
	echo "system calls per submission ($s, strace -c of every worker, a calm 2 s run): fmgate sync ${sysc[$s sync]}, upstream ceiling ${sysc[$s upstream]}, bare ${sysc[$s bare]}"
done
echo "CPU per request, microseconds (one ${SECS}s run each; web server, its workers, the stand-in CRM, the rest (wrk, kernel), machine):"
for s in $SERVERS; do
	for ep in bare honeypot upstream sync; do
		read -r w k c r m <<<"${cpu[$s $ep]}"
		printf '  %-8s %-9s server %5s  workers %5s  crm %5s  rest %5s  total %5s\n' "$s" "$ep" "$w" "$k" "$c" "$r" "$m"
	done
done
echo "disk: durable spool-style writes/s: $(echo "${rps[disk]}" | median) ($(echo "${rps[disk]}" | spread)) with $CONNS writers, $(echo "${rps[disk1]}" | median) with 1"

# One upstream connection per worker for the whole run: the local ports seen per pid.
if [ -s "$dir/conns" ]; then
	sort -u "$dir/conns" | awk -v samples="$((ROUNDS * $(echo $SERVERS | wc -w) + 1))" '
		{ n[$1]++ } END { w = 0; one = 0; more = 0;
		for (p in n) { w++; if (n[p] == 1) one++; else more++ }
		printf "upstream connections: %d fmgate workers seen over %d samples; %d kept one connection throughout, %d had more than one\n", w, samples, one, more }'
fi
# A call that outlives the delivery budget is abandoned with its connection
# (the submission is spooled): the likely cause of a worker's second one.
echo "sync submissions spooled because the CRM did not answer within the budget: $(
	find "$dir/apache/spool/queue" "$dir/lighttpd/spool/queue" -type f 2>/dev/null | wc -l)"
ws=$(pgrep -d' ' -f "^$bin/fmgate\$")
if [ -n "$ws" ]; then
	echo "private memory (Private_Dirty) of the fmgate sync workers at the end, KiB: $(for p in $ws; do private_kib "$p"; done | sort -n | awk '{a[NR]=$1} END {printf "min %d, median %d, max %d (%d workers)", a[1], a[int((NR+1)/2)], a[NR], NR}')"
fi

# fmgate's own instructions per submission, the CRM call stubbed (libcurl apart).
BUILD=$BUILD bash "$top/bench/instr.sh" 2>&1 | tail -n 1

# --- memory: one worker (Apache class with MaxProcesses 1), 10,000 then MEM_REQUESTS requests
if [ "$MEM_REQUESTS" -gt 0 ] && [ -n "${url[apache]:-}" ]; then
	done_n=0
	mem_to() { # runs requests through the one worker until $1 are done
		while [ "$done_n" -lt "$1" ]; do
			read -r _ _ _ _ _ n < <(run_wrk "${url[apache]}/mem/contact" 1 1)
			[ -n "${n:-}" ] && [ "$n" -gt 0 ] || return 1
			done_n=$((done_n + n))
		done
	}
	if mem_to 10000; then
		mp=$(pgrep -f "^$dir/bin/fmgate-mem\$")
		m1=$(private_kib "$mp"); n1=$done_n
		if mem_to "$MEM_REQUESTS" && [ "$(pgrep -f "^$dir/bin/fmgate-mem\$")" = "$mp" ]; then
			m2=$(private_kib "$mp")
			echo "memory of one worker (Private_Dirty): $m1 KiB after $n1 requests, $m2 KiB after $done_n: $(printf '%+.1f' "$(echo "($m2 - $m1) * 100 / $m1" | bc -l)")%"
		else
			echo "memory run: the worker did not serve $MEM_REQUESTS requests"
		fi
	else
		echo "memory run: the worker did not serve 10000 requests"
	fi
fi
