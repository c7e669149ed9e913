#!/usr/bin/env bash
# contrib/nginx's cache in front of sigma-origin (issue 21): VIEWERS light
# LL-HLS viewers (bench/cache/llhls_client.cpp: a blocking reload for the
# next part, then the new parts, on one keep-alive connection each) on one
# live ultra-low channel, first straight to the origin, then through nginx,
# in the same run on the same channel. Per phase:
#   - upstream requests per new part: what reached the origin (its access
#     log) divided by the parts published meanwhile, blocking reloads and
#     part GETs apart (goal through the cache: about one each);
#   - part delivery p50/p99: a part's file appearing in the channel's
#     directory (inotify) to a viewer having it whole, every part of every
#     viewer after the warm-up;
#   - the origin's and nginx's CPU (all their threads and workers), in % of
#     one core over the phase.
# The viewers' joins (one plain playlist each, "no-cache": always the
# origin's) are counted apart.
#
# Usage: bench/cache.sh [VIEWERS] [SECONDS] [RUNS]    (2000, 20, 1)
# Needs: built sigma-origin and sigma-package (build*/bin or PATH), g++,
# nginx, ffmpeg, jq, /usr/bin/time. The viewers share the box: when their
# CPU (printed) nears a whole core they are what limits, and the delivery
# figures are theirs, not the servers'.
set -euo pipefail
cd "$(dirname "$0")/.."
VIEWERS=${1:-2000}
SECS=${2:-20}
RUNS=${3:-1}
# The tools on PATH (scripts/test puts build/bin first), else a build here.
if ! command -v sigma-origin >/dev/null || ! command -v sigma-package >/dev/null; then
  for b in build-cache/bin build/bin; do [[ -x $b/sigma-origin && -x $b/sigma-package ]] && PATH=$PWD/$b:$PATH; done
fi
command -v sigma-origin >/dev/null && command -v sigma-package >/dev/null ||
  { echo "cache.sh: build sigma-origin and sigma-package first" >&2; exit 1; }
command -v nginx >/dev/null || { echo "cache.sh: needs nginx (scripts/setup --bench)" >&2; exit 1; }

ulimit -n "$(ulimit -Hn)"
W=$(mktemp -d /tmp/cache-bench.XXXXXX)
chmod 755 "$W"
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]:-}"; do [[ -n $p ]] && kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]:-}"; do [[ -n $p ]] && timeout 5 tail --pid="$p" -f /dev/null 2>/dev/null || true; done
  rm -rf "$W"
}
trap cleanup EXIT

. bench/media.bash  # free_port, bench_media, bench_llhls_client

# The viewers' program, compiled once per version of its source.
CLIENT=$(bench_llhls_client)

# A light source (180p, about 200 kbit/s, 1 s GOP: parts of about 8 kB),
# looped in real time into an ultra-low channel: 2 s segments, 1/3 s
# parts. What is measured is the fan-out of requests, not of bytes: 2,000
# viewers of a 3 Mbit/s channel would be 6 Gbit/s, more than this box's
# loopback and two cores move beside the rest.
SRC=$(bench_media cache-bench-180p-30s.ts 30 320x180 \
  -c:v libx264 -preset ultrafast -b:v 150k -maxrate 150k -bufsize 150k -g 30 -keyint_min 30 -sc_threshold 0 -bf 0 \
  -pix_fmt yuv420p -c:a aac -b:a 32k -f mpegts)
ROOT=$W/root
mkdir -p "$ROOT"
mkfifo "$W/live.ts"
sigma-package -i "$W/live.ts" -o "$ROOT/ll" --mode ultra-low --log-level warn 2>"$W/package.log" &
PIDS+=($!)
ffmpeg -nostdin -loglevel error -re -stream_loop -1 -i "$SRC" -c copy -f mpegts -y "$W/live.ts" 2>"$W/ffmpeg.log" &
PIDS+=($!)

OPORT=$(free_port)
sigma-origin --listen "127.0.0.1:$OPORT" --root "$ROOT" --access-log "$W/origin.ndjson" --log-level warn \
  2>"$W/origin.log" &
OPID=$!
PIDS+=("$OPID")

# contrib/nginx as shipped (nginx.conf's worker settings, the two includes),
# on a free port with its own prefix.
NPORT=$(free_port)
SPORT=$(free_port)
N=$W/nginx
mkdir -p "$N/logs" "$N/tmp"
cat >"$N/nginx.conf" <<CONF
worker_processes auto;
pid logs/nginx.pid;
error_log logs/error.log warn;
events { worker_connections 16384; }
http {
    client_body_temp_path tmp/body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;
    include $PWD/contrib/nginx/sigma-http.conf;
    access_log logs/access.ndjson sigma_json;
    upstream sigma_origin { server 127.0.0.1:$OPORT; keepalive 64; }
    upstream sigma_shield { server 127.0.0.1:$SPORT; keepalive 16; }
    server {
        listen 127.0.0.1:$NPORT backlog=4096;
        include $PWD/contrib/nginx/sigma-server.conf;
    }
    server {
        listen 127.0.0.1:$SPORT;
        include $PWD/contrib/nginx/sigma-shield.conf;
    }
}
CONF
nginx -p "$N" -c "$N/nginx.conf" -e "$N/logs/error.log" -g 'daemon off;' 2>"$N/stderr" &
NPID=$!
PIDS+=("$NPID")

deadline=$((SECONDS + 60))
until [[ -f $ROOT/ll/v0/index.m3u8 ]] && (($(grep -c '^#EXTINF' "$ROOT/ll/v0/index.m3u8") >= 3)) &&
  curl -sf -o /dev/null "http://127.0.0.1:$NPORT/ll/v0/index.m3u8"; do
  ((SECONDS < deadline)) || { echo "cache.sh: the channel did not start" >&2; cat "$W"/*.log "$N/stderr" >&2; exit 1; }
  sleep 0.2
done

cpu_ticks() {  # PID...: user+system clock ticks of these processes (all threads)
  local t=0 p
  for p in "$@"; do [[ -r /proc/$p/stat ]] && t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat"))); done
  echo "$t"
}
HZ=$(getconf CLK_TCK)
nginx_pids() { echo "$NPID" $(pgrep -P "$NPID" || true); }

# One phase: PORT NAME -> $W/NAME.json (the client's line + the origin's
# requests + CPU).
phase() {
  local port=$1 name=$2 o0 n0 o1 n1 t0 t1
  : >"$W/origin.ndjson"  # O_APPEND on the origin's side: safe to empty
  o0=$(cpu_ticks "$OPID") n0=$(cpu_ticks $(nginx_pids)) t0=$(date +%s%N)
  /usr/bin/time -f '%U %S' -o "$W/$name.time" "$CLIENT" 127.0.0.1 "$port" /ll/v0/index.m3u8 "$VIEWERS" "$SECS" \
    --ramp 2000 --warmup 2000 --watch "$ROOT/ll/v0" >"$W/$name.client"
  o1=$(cpu_ticks "$OPID") n1=$(cpu_ticks $(nginx_pids)) t1=$(date +%s%N)
  sleep 0.5
  jq -s --slurpfile c "$W/$name.client" --argjson o "$(( (o1 - o0) * 1000 / HZ ))" \
    --argjson n "$(( (n1 - n0) * 1000 / HZ ))" --argjson ms "$(( (t1 - t0) / 1000000 ))" \
    --argjson cl "$(awk '{ printf "%d", ($1 + $2) * 1000 }' "$W/$name.time")" '
    ($c[0]) + {
      upstream: {
        blocking: map(select((.query // "") | test("_HLS_msn="))) | length,
        parts: map(select(.path | test("\\.[0-9]+\\.m4s$"))) | length,
        plain: map(select((.path | endswith(".m3u8")) and ((.query // "") | test("_HLS_msn=") | not))) | length,
        all: length },
      published_total: ($c[0].published_total),
      origin_cpu_pct: ($o / $ms * 100), nginx_cpu_pct: ($n / $ms * 100), client_cpu_pct: ($cl / $ms * 100) }' "$W/origin.ndjson" >"$W/$name.json"
}

printf 'cache.sh: %d LL-HLS viewers, %d s each way, one ultra-low channel (2 s segments, 1/3 s parts), %d run(s)\n' \
  "$VIEWERS" "$SECS" "$RUNS"
for ((run = 1; run <= RUNS; run++)); do
  phase "$OPORT" direct
  phase "$NPORT" cache
  jq -rs --argjson run "$run" '
    def r(x): (x * 100 | round) / 100;
    def per(d; k): if d.published_total > 0 then r(d.upstream[k] / d.published_total) else "-" end;
    def row(name; f): [name, (.[0] | f), (.[1] | f)] | @tsv;
    "run \($run)\tdirect to origin\tthrough nginx",
    row("parts published"; .published_total),
    row("origin: blocking reloads"; .upstream.blocking),
    row("  per new part"; per(.; "blocking")),
    row("origin: part GETs"; .upstream.parts),
    row("  per new part"; per(.; "parts")),
    row("origin: joins (plain playlist)"; .upstream.plain),
    row("viewer requests"; .requests.blocking + .requests.parts + .requests.playlist),
    row("viewer errors"; .errors.blocking + .errors.parts + .errors.playlist),
    row("part delivery p50 ms"; r(.delivery_ms.p50)),
    row("part delivery p99 ms"; r(.delivery_ms.p99)),
    row("part delivery max ms"; r(.delivery_ms.max)),
    row("parts timed (viewer x part)"; .delivered_in_window),
    row("origin CPU % of a core"; r(.origin_cpu_pct)),
    row("nginx CPU % of a core"; r(.nginx_cpu_pct)),
    row("viewers (load client) CPU %"; r(.client_cpu_pct))' "$W/direct.json" "$W/cache.json" | column -t -s $'\t'
  echo
  jq -cs --argjson run "$run" '{run: $run, direct: .[0], cache: .[1]}' "$W/direct.json" "$W/cache.json" \
    >>"$W/all.ndjson"
done
# The figures as JSON lines too, for a README table.
cat "$W/all.ndjson"
