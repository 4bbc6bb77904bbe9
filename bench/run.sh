#!/bin/bash
# make bench: fmgate against two ceilings, side by side in one run, behind a
# private Apache with mod_fcgid on 127.0.0.1 (the project's apache-conf):
#   bare      a libfcgi responder that reads the body and answers the same 303
#   upstream  one that also parses the body and makes the same upstream call
#             with one kept-alive libcurl handle
#   fmgate    sync mode: parse, validate, identify, map, upsert, 303
# against a fast local stand-in CRM (nginx answering from memory). wrk sends a
# realistic 8-field form post; endpoints alternate, ROUNDS rounds of SECONDS
# each; the median round is reported. It also measures the disk's durable
# write rate, the fmgate workers' private memory and their upstream
# connections. It prints ratios; it asserts nothing (the machine is shared).
#   ROUNDS=3 SECONDS_PER_RUN=8 CONNECTIONS=16 bash bench/run.sh
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
ROUNDS=${ROUNDS:-3}
SECS=${SECONDS_PER_RUN:-8}
CONNS=${CONNECTIONS:-16}
bin="$top/$BUILD"
dir=$(mktemp -d /tmp/fmgate-bench.XXXXXX)
chmod 755 "$dir"
crm_pid=
cleanup() {
	"$top/scripts/apache-local.sh" stop "$dir/apache" >/dev/null 2>&1
	[ -n "$crm_pid" ] && kill "$crm_pid" 2>/dev/null && wait "$crm_pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {
	local p
	for _ in $(seq 1 50); do
		p=$((30000 + RANDOM % 10000))
		port_free "$p" && { echo "$p"; return; }
	done
	return 1
}

# --- the stand-in CRM: nginx answering from memory, keep-alive on ----------------------
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
	keepalive_requests 1000000;
	keepalive_timeout 300s;
	client_body_temp_path $dir/crm;
	server {
		listen 127.0.0.1:$crm_port;
		default_type application/json;
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
crm_pid=$!
for _ in $(seq 1 50); do port_free "$crm_port" || break; sleep 0.1; done
api="http://127.0.0.1:$crm_port/crm/sales/api"

# --- Apache: fmgate at /forms/, the ceilings at /bare and /upstream --------------------
cp "$top/bench/forms.xml" "$dir/forms.xml"
chmod 644 "$dir/forms.xml"
cat >"$dir/extra.conf" <<CONF
Alias /bare $bin/bench/ceiling_bare
Alias /upstream $bin/bench/ceiling_upstream
<Directory $bin/bench>
	Require all granted
</Directory>
<LocationMatch "^/(bare|upstream)">
	SetHandler fcgid-script
	Options +ExecCGI
</LocationMatch>
CONF
web_port=$(pick_port)
APACHE_EXTRA_CONF="$dir/extra.conf" "$top/scripts/apache-local.sh" start "$dir/apache" "$web_port" \
	"$top/www" "$bin/fmgate" "$dir/forms.xml" FM_API_BASE="$api" FM_API_KEY=bench-key >/dev/null || exit 1
web="http://127.0.0.1:$web_port"

run_wrk() { # run_wrk URL -> "rps p50 p99 errors"
	wrk -t2 -c"$CONNS" -d"${SECS}s" --timeout 5s -s "$top/bench/post.lua" "$1" 2>/dev/null |
		sed -n 's/^RESULT rps=\([0-9.]*\) p50_ms=\([0-9.]*\) p99_ms=\([0-9.]*\) errors=\([0-9]*\) non2xx=\([0-9]*\)$/\1 \2 \3 \4 \5/p'
}

# Warm every endpoint (mod_fcgid spawns workers on demand).
for ep in bare upstream forms/contact; do
	wrk -t2 -c"$CONNS" -d2s -s "$top/bench/post.lua" "$web/$ep" >/dev/null 2>&1
done
declare -A rps p50 p99
for r in $(seq 1 "$ROUNDS"); do
	for ep in bare upstream forms/contact; do
		read -r a b c e s < <(run_wrk "$web/$ep")
		rps[$ep]+="$a "; p50[$ep]+="$b "; p99[$ep]+="$c "
		[ "${e:-0}" -gt 0 ] || [ "${s:-0}" -gt 0 ] && echo "warning: $ep round $r: $e socket errors, $s error answers"
	done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo
echo "fmgate benchmark, $(date -u +%Y-%m-%d), $(nproc) CPUs, Apache $(apache2 -v | sed -n 's/^Server version: Apache\///p' | cut -d' ' -f1) + mod_fcgid, wrk -c$CONNS, $ROUNDS rounds x ${SECS}s (median)"
printf '%-10s %10s %9s %9s\n' endpoint "req/s" "p50 ms" "p99 ms"
for ep in bare upstream forms/contact; do
	printf '%-10s %10s %9s %9s\n' "${ep#forms/}" "$(echo "${rps[$ep]}" | median)" \
		"$(echo "${p50[$ep]}" | median)" "$(echo "${p99[$ep]}" | median)"
done
f=$(echo "${rps[forms/contact]}" | median)
u=$(echo "${rps[upstream]}" | median)
b=$(echo "${rps[bare]}" | median)
printf 'sync: fmgate / upstream ceiling = %.3f   fmgate / bare ceiling = %.3f\n' \
	"$(echo "$f / $u" | bc -l)" "$(echo "$f / $b" | bc -l)"

# --- fmgate workers: upstream connections and private memory ------------------------
pids=$(pgrep -f "^$bin/fmgate$" | tr '\n' ' ')
echo "fmgate workers: $(echo $pids | wc -w)"
for p in $pids; do
	conns=$(ss -tnp state established "( dport = :$crm_port )" 2>/dev/null | grep -c "pid=$p,")
	priv=$(awk '/^Private_Dirty/ {s += $2} END {print s}' "/proc/$p/smaps_rollup" 2>/dev/null)
	echo "  worker $p: $conns upstream connection(s), Private_Dirty ${priv:-?} KiB"
done

# --- the disk ---------------------------------------------------------------------------
mkdir -p "$dir/spoolrate"
echo "durable spool-style writes per second on this disk: $("$bin/bench/spoolrate" "$dir/spoolrate" 2000 1) (1 process), $("$bin/bench/spoolrate" "$dir/spoolrate" 1000 4) (4 processes)"
