#!/usr/bin/env bash
# Load on sigma-origin, two figures (see issue 4):
#  1. N (5,000) concurrent LL-HLS blocking playlist requests held on
#     loopback while a new part lands: how many are answered with the new
#     part, wake-up p50/p99 (rename of the playlist -> response received),
#     and the origin's RSS while holding them and at its peak; beside it,
#     the same client against a bare send loop (origin-load/floor_server.cpp),
#     the floor this machine's loopback TCP sets for any server, in the
#     same run, interleaved.
#  2. Segment GET throughput of sigma-origin and of nginx serving the same
#     directory, in the same run with the same wrk settings, and the ratio.
# Targets: all answered with the new part, p99 < 50 ms, RSS < 200 MB,
# throughput ratio >= 0.8.
#
# Usage: bench/origin-load.sh [N] [WRK_SECONDS]   (WRK_SECONDS=0: part 1 only)
# Needs: a built sigma-origin ($SIGMA_ORIGIN, build*/bin or PATH), g++, wrk, nginx.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-5000}
SECS=${2:-10}
ORIGIN=${SIGMA_ORIGIN:-}  # a given binary, e.g. to compare two builds
if [[ -z $ORIGIN ]]; then
  ORIGIN=$(command -v sigma-origin || true)
  for b in build/bin build-origin/bin; do [[ -x $b/sigma-origin ]] && ORIGIN=$b/sigma-origin; done
fi
[[ -n $ORIGIN ]] || { echo "origin-load: build sigma-origin first" >&2; exit 1; }
command -v wrk >/dev/null && command -v nginx >/dev/null || { echo "origin-load: needs wrk and nginx: scripts/setup --bench installs them" >&2; exit 1; }

ulimit -n "$(ulimit -Hn)"
W=$(mktemp -d /tmp/origin-load.XXXXXX)
chmod 755 "$W"  # nginx workers run as nobody
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]:-}"; do [[ -n $p ]] && kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]:-}"; do [[ -n $p ]] && timeout 5 tail --pid="$p" -f /dev/null 2>/dev/null || true; done
  rm -rf "$W"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rss_mb() { awk -v k="$2" '$1 == k":" { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

# The client and the floor server are compiled once per version of their
# source (Asio takes a while).
build() {  # SOURCE -> path of the binary
  local bin
  bin=${TMPDIR:-/tmp}/sigma-origin-load-$(basename "$1" .cpp)-$(md5sum "$1" | cut -c1-12)
  if [[ ! -x $bin ]]; then
    g++ -O2 -std=c++20 "$1" -o "$bin.tmp.$$" -pthread
    mv "$bin.tmp.$$" "$bin"
  fi
  echo "$bin"
}
CLIENT=$(build bench/origin-load/load_client.cpp)
FLOOR=$(build bench/origin-load/floor_server.cpp)

# --- 1. held blocking requests ------------------------------------------
ROOT=$W/root
mkdir -p "$ROOT/live/v0"
# An LL-HLS playlist: segments 0..9 (1 s), parts 0..1 of segment 10.
playlist() {  # PARTS
  {
    printf '#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:1\n#EXT-X-PART-INF:PART-TARGET=0.33334\n'
    printf '#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.0,CAN-SKIP-UNTIL=6\n'
    printf '#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-MAP:URI="init.mp4"\n'
    for i in $(seq 0 9); do printf '#EXTINF:1.0,\nseg-%d.m4s\n' "$i"; done
    for ((p = 0; p < $1; p++)); do printf '#EXT-X-PART:DURATION=0.33334,URI="seg-10.%d.m4s"\n' "$p"; done
    printf '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="seg-10.%d.m4s"\n' "$1"
  }
}
head -c 40000 /dev/urandom >"$ROOT/live/v0/seg-10.2.m4s"
hold_and_land() {  # PORT OUT_JSON: N held requests, then the client lands the new part (renames it into place)
  playlist 3 >"$W/next.m3u8"
  "$CLIENT" 127.0.0.1 "$1" "/live/v0/index.m3u8?_HLS_msn=10&_HLS_part=2" "$N" \
    "$W/next.m3u8" "$ROOT/live/v0/index.m3u8" 'URI="seg-10.2.m4s"' >"$2" &
}

# One sigma-origin run, its answers in $W/origin-RUN.json. RSS_HELD and
# RSS_PEAK keep the highest of the runs; WAKE_CPU gets the origin's CPU ms
# during this run's wake-up.
RSS_IDLE=0 RSS_HELD=0 RSS_PEAK=0 WAKE_CPU=()
held_origin() {  # RUN
  local port opid lpid held land done peak
  port=$(free_port)
  playlist 2 >"$ROOT/live/v0/index.m3u8"
  "$ORIGIN" --listen "127.0.0.1:$port" --root "$ROOT" --threads 2 --hold-timeout 60 --log-level warn \
    2>"$W/origin-$1.log" &
  opid=$!
  PIDS+=("$opid")
  for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$port/live/v0/index.m3u8" && break; sleep 0.1; done
  RSS_IDLE=$(rss_mb "$opid" VmRSS)
  hold_and_land "$port" "$W/origin-$1.json"
  lpid=$!
  PIDS+=("$lpid")
  # Sample the origin's RSS while the requests are held, and its CPU time
  # every 5 ms (schedstat, in ns: to tell the origin's own cost of the
  # wake-up from waiting for a CPU on a shared machine).
  python3 - "$opid" "$lpid" "$W/samples" <<'PY'
import glob, os, sys, time
pid, client, out = sys.argv[1], int(sys.argv[2]), open(sys.argv[3], "w")
while True:
    try:
        os.kill(client, 0)
        cpu = sum(int(open(f).read().split()[0]) for f in glob.glob(f"/proc/{pid}/task/*/schedstat"))
        rss = next(int(l.split()[1]) for l in open(f"/proc/{pid}/status") if l.startswith("VmRSS:"))
    except (OSError, ValueError):
        break
    out.write(f"{time.time() * 1000:.1f} {cpu} {rss}\n")
    time.sleep(0.005)
PY
  held=$(awk '$3 > m { m = $3 } END { printf "%.1f", m / 1024 }' "$W/samples")
  # CPU from the last sample before the landing to 300 ms after the last
  # answer (the client keeps its connections that long: the origin's work
  # that follows the answers is counted too).
  read -r land done < <(python3 -c 'import json,sys; h=json.load(open(sys.argv[1])); print(h["land_unix_ms"], h["done_unix_ms"])' "$W/origin-$1.json")
  WAKE_CPU+=("$(awk -v land="$land" -v end="$((done + 300))" '
    $1 <= land { before = $2 } $1 <= end { after = $2 } END { print (after - before) / 1e6 }' "$W/samples")")
  wait "$lpid" || true
  peak=$(rss_mb "$opid" VmHWM)
  RSS_HELD=$(printf '%s\n%s\n' "$RSS_HELD" "$held" | sort -g | tail -1)
  RSS_PEAK=$(printf '%s\n%s\n' "$RSS_PEAK" "$peak" | sort -g | tail -1)
  kill "$opid"; wait "$opid" 2>/dev/null || true
}

# The same run against a bare send loop (floor_server.cpp), the least any
# server can do on this machine's loopback; its answers in $W/floor-RUN.json.
held_floor() {  # RUN
  local port fpid lpid
  port=$(free_port)
  playlist 2 >"$ROOT/live/v0/index.m3u8"
  "$FLOOR" "$port" "$N" "$ROOT/live/v0" "$ROOT/live/v0/index.m3u8" 2>"$W/floor-$1.log" &
  fpid=$!
  PIDS+=("$fpid")
  for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  hold_and_land "$port" "$W/floor-$1.json"
  lpid=$!
  PIDS+=("$lpid")
  wait "$lpid" || true
  kill "$fpid"; wait "$fpid" 2>/dev/null || true
}

# Interleaved, twice each: the machine's speed drifts from minute to minute.
held_origin 1; held_floor 1; held_origin 2; held_floor 2

# --- 2. segment throughput, sigma-origin vs nginx --------------------------
O1=0 O2=0 N1=0 N2=0 OBEST=0 NBEST=0 OC1=0 OC2=0 NC1=0 NC2=0
if ((SECS > 0)); then
  SEGDIR=$W/seg
  mkdir -p "$SEGDIR/ch/v0"
  SEGS=""
  for i in $(seq 0 19); do  # 2 s at ~2 Mbit/s each
    head -c 500000 /dev/urandom >"$SEGDIR/ch/v0/seg-$i.m4s"
    SEGS+="/ch/v0/seg-$i.m4s "
  done
  OPORT=$(free_port)
  NPORT=$(free_port)
  "$ORIGIN" --listen "127.0.0.1:$OPORT" --root "$SEGDIR" --threads 2 --log-level warn 2>"$W/origin2.log" &
  O2PID=$!
  PIDS+=("$O2PID")
  mkdir -p "$W/nginx/logs"
  cat >"$W/nginx/nginx.conf" <<CONF
worker_processes 2;
pid $W/nginx/nginx.pid;
error_log $W/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  types { video/iso.segment m4s; }
  server {
    listen 127.0.0.1:$NPORT;
    root $SEGDIR;
    location / { add_header Access-Control-Allow-Origin *; add_header Cache-Control "public, max-age=31536000, immutable"; }
  }
}
CONF
  nginx -p "$W/nginx" -c "$W/nginx/nginx.conf" -g 'daemon off;' 2>"$W/nginx/stderr" &
  NGPID=$!
  PIDS+=("$NGPID")
  for _ in $(seq 50); do
    curl -sf -o /dev/null "http://127.0.0.1:$OPORT/ch/v0/seg-0.m4s" && curl -sf -o /dev/null "http://127.0.0.1:$NPORT/ch/v0/seg-0.m4s" && break
    sleep 0.1
  done
  # Both must serve the real bytes (a 403 from nginx would be very fast).
  cmp <(curl -s "http://127.0.0.1:$OPORT/ch/v0/seg-3.m4s") "$SEGDIR/ch/v0/seg-3.m4s"
  cmp <(curl -s "http://127.0.0.1:$NPORT/ch/v0/seg-3.m4s") "$SEGDIR/ch/v0/seg-3.m4s"

  TCK=$(getconf CLK_TCK)
  cpu_ticks() {  # PID...: user+system ticks of these processes
    local t=0 p
    for p in "$@"; do t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat"))); done
    echo "$t"
  }
  bench_wrk() {  # PORT PID... -> "requests/s cpu_us_per_request" (0 on any non-2xx)
    local port=$1 before after out
    shift
    before=$(cpu_ticks "$@")
    out=$(SEGMENTS=$SEGS wrk -t2 -c64 -d"${SECS}s" -s bench/origin-load/segments.lua "http://127.0.0.1:$port/" 2>&1)
    after=$(cpu_ticks "$@")
    awk -v cpu=$((after - before)) -v tck="$TCK" '
      /Non-2xx/ { bad = 1 } / requests in / { n = $1 } /Requests\/sec/ { r = $2 }
      END { if (bad) print 0, 0; else printf "%s %.0f\n", r, cpu / tck * 1e6 / n }' <<<"$out"
  }
  NGINX_PIDS=("$NGPID" $(pgrep -P "$NGPID"))  # master and its workers, by parent PID
  # Warm both (page cache, origin's memory cache), then measure each twice,
  # interleaved, and keep the better run of each.
  SEGMENTS=$SEGS wrk -t1 -c4 -d2s -s bench/origin-load/segments.lua "http://127.0.0.1:$OPORT/" >/dev/null
  SEGMENTS=$SEGS wrk -t1 -c4 -d2s -s bench/origin-load/segments.lua "http://127.0.0.1:$NPORT/" >/dev/null
  read -r O1 OC1 < <(bench_wrk "$OPORT" "$O2PID"); read -r N1 NC1 < <(bench_wrk "$NPORT" "${NGINX_PIDS[@]}")
  read -r O2 OC2 < <(bench_wrk "$OPORT" "$O2PID"); read -r N2 NC2 < <(bench_wrk "$NPORT" "${NGINX_PIDS[@]}")
  OBEST=$(printf '%s\n%s\n' "$O1" "$O2" | sort -g | tail -1)
  NBEST=$(printf '%s\n%s\n' "$N1" "$N2" | sort -g | tail -1)
fi
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report ---------------------------------------------------------------
python3 - "$W" "$RSS_IDLE" "$RSS_HELD" "$RSS_PEAK" "$O1" "$O2" "$N1" "$N2" "$OBEST" "$NBEST" \
  "$OC1" "$OC2" "$NC1" "$NC2" "$LOAD" "${WAKE_CPU[@]}" <<'PY'
import json, os, sys
w = sys.argv[1]
runs = {k: [json.load(open(f"{w}/{k}-{i}.json")) for i in (1, 2)] for k in ("origin", "floor")}
idle, held, peak = map(float, sys.argv[2:5])
o1, o2, n1, n2, ob, nb = map(float, sys.argv[5:11])
oc1, oc2, nc1, nc2 = map(float, sys.argv[11:15])
wake_cpu = list(map(float, sys.argv[16:18]))
print(f"(machine load average during the run: {sys.argv[15]}, {os.cpu_count()} CPUs)")
ok = lambda c: "ok" if c else "MISSED"
n = runs["origin"][0]["requests"]
print(f"== {n} held LL-HLS blocking playlist requests, one new part lands (2 runs each, interleaved)")
print(f"{'server':<22}{'answered with the part':>24}{'early':>7}{'failed':>8}{'p50 ms':>8}{'p99 ms':>8}{'max ms':>8}")
for name, label in (("origin", "sigma-origin"), ("floor", "bare send loop")):
    for i, h in enumerate(runs[name], 1):
        print(f"{label + ' ' + str(i):<22}{h['answered_with_new_part']:>18} / {n:<4}{h['answered_before_landing']:>6}"
              f"{h['failed']:>8}{h['wake_ms']['p50']:>8.1f}{h['wake_ms']['p99']:>8.1f}{h['wake_ms']['max']:>8.1f}")
answered = all(h["answered_with_new_part"] == n for h in runs["origin"])
best = {k: min(h["wake_ms"]["p99"] for h in v) for k, v in runs.items()}
print(f"every request answered with the new part: [{ok(answered)}]")
print(f"wake-up p99, best of 2     : {best['origin']:.1f} ms   [p99 < 50 ms: {ok(0 <= best['origin'] < 50)}]")
print(f"the floor on this machine  : {best['floor']:.1f} ms p99 for one send(2) per client and nothing else;"
      f" sigma-origin / floor = {best['origin'] / best['floor']:.2f}")
print(f"origin CPU during the wake-up: {wake_cpu[0]:.0f}, {wake_cpu[1]:.0f} ms"
      f" ({min(wake_cpu) * 1000 / n:.0f} us per request incl. kernel TCP, both threads)")
print(f"origin RSS idle/held/peak  : {idle:.1f} / {held:.1f} / {peak:.1f} MB   [< 200 MB: {ok(peak < 200)}]")
if nb == 0:
    sys.exit(0)
print()
print("== segment GET throughput, 500 kB segments, wrk -t2 -c64, same run (best of 2, interleaved)")
print(f"{'server':<14}{'run 1':>10}{'run 2':>10}{'best req/s':>12}{'MB/s':>8}{'CPU us/req (1, 2)':>20}")
print(f"{'sigma-origin':<14}{o1:>10.0f}{o2:>10.0f}{ob:>12.0f}{ob*0.5:>8.0f}{oc1:>12.0f}{oc2:>8.0f}")
print(f"{'nginx':<14}{n1:>10.0f}{n2:>10.0f}{nb:>12.0f}{nb*0.5:>8.0f}{nc1:>12.0f}{nc2:>8.0f}")
print(f"throughput ratio sigma-origin / nginx : {ob/nb:.2f}   [>= 0.8: {ok(ob/nb >= 0.8)}]")
print(f"CPU per request ratio nginx / sigma-origin : {min(nc1, nc2)/max(1, min(oc1, oc2)):.2f}"
      "   (steadier than req/s on a shared machine)")
PY
