#!/usr/bin/env bash
# bench/restream.sh: one 6 Mbps H.264/AAC 720p30 channel restreamed to 4
# targets, side by side in one run with the peer doing the same job:
#   S. sigma-ingest: one RTMP publisher in, 4 restream targets out (FLV over
#      RTMP, its own thread each); the channel's TS goes to /dev/null
#   Z. the same sigma-ingest and publisher with no target (what the 4 add)
#   F. 4 x `ffmpeg -re -i SRC -c copy -f flv rtmp://...` (the usual way)
# All pushes go to one nginx-rtmp (`live on`, nothing recorded) on
# loopback. Prints CPU% (of one core, averaged over the window) per target
# and the ratio S/F (target <= 1.0), the incremental (S-Z)/F, and each
# target's bitrate as nginx's clients see it. Not a test: it prints figures.
# Usage: bench/restream.sh [SECONDS] [TARGETS]   (env BIN=dir of sigma-*)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
SECS=${1:-30}
N=${2:-4}
WARMUP=6
BIN=${BIN:-$root/build/bin}
export PATH="$BIN:$PATH"
command -v sigma-ingest >/dev/null || { echo "sigma-ingest not found in $BIN (set BIN=)" >&2; exit 1; }
command -v nginx >/dev/null && [[ -f /usr/lib/nginx/modules/ngx_rtmp_module.so ]] ||
  { echo "nginx with libnginx-mod-rtmp is needed: scripts/setup --bench installs them" >&2; exit 1; }

W=$(mktemp -d /tmp/sigma-bench-restream.XXXXXX)
chmod 755 "$W"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  kill "$(cat "$W/nginx/nginx.pid" 2>/dev/null)" 2>/dev/null || true
  sleep 1
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$W"
}
trap cleanup EXIT
. "$root/bench/media.bash"  # free_port, the cached media
wait_port() { for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return; sleep 0.1; done; }

SRC=$(bench_720p_flv 6)

# --- the receiver: nginx-rtmp, live only -----------------------------------
NP=$(free_port)
mkdir -p "$W/nginx/tmp"
cat >"$W/nginx/nginx.conf" <<CONF
load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
worker_processes 1;
daemon off;
master_process on;
pid $W/nginx/nginx.pid;
error_log $W/nginx/error.log warn;
events { worker_connections 1024; }
rtmp { server { listen 127.0.0.1:$NP; chunk_size 4096; application live { live on; record off; } } }
http { access_log off; client_body_temp_path $W/nginx/tmp/body; proxy_temp_path $W/nginx/tmp/proxy;
  fastcgi_temp_path $W/nginx/tmp/fcgi; uwsgi_temp_path $W/nginx/tmp/uwsgi; scgi_temp_path $W/nginx/tmp/scgi; }
CONF
nginx -c "$W/nginx/nginx.conf" -e "$W/nginx/error.log" >>"$W/nginx/stdout.log" 2>&1 &
PIDS+=($!)
wait_port "$NP"

# --- S: sigma-ingest with N targets; Z: with none ----------------------------
SP=$(free_port) ZP=$(free_port)
targets=()
for i in $(seq 1 "$N"); do targets+=(--restream "ch.t$i=rtmp://127.0.0.1:$NP/live/sigma$i"); done
sigma-ingest --rtmp "127.0.0.1:$SP" --open "${targets[@]}" --status-file "$W/s-status.json" --log-level warn \
  >/dev/null 2>"$W/s.log" &
S=$!; PIDS+=($S)
sigma-ingest --rtmp "127.0.0.1:$ZP" --open --status-file "$W/z-status.json" --log-level warn >/dev/null 2>"$W/z.log" &
Z=$!; PIDS+=($Z)
wait_port "$SP"; wait_port "$ZP"
for p in $SP $ZP; do
  ffmpeg -nostdin -loglevel error -re -stream_loop -1 -i "$SRC" -c copy -f flv "rtmp://127.0.0.1:$p/live/ch" 2>>"$W/ffmpeg.log" &
  PIDS+=($!)
done

# --- F: N ffmpeg pushes of the same source -------------------------------------
F=()
for i in $(seq 1 "$N"); do
  ffmpeg -nostdin -loglevel error -re -stream_loop -1 -i "$SRC" -c copy -f flv "rtmp://127.0.0.1:$NP/live/ffmpeg$i" 2>>"$W/ffmpeg.log" &
  F+=($!); PIDS+=($!)
done

ticks() {
  local t=0 p
  for p in "$@"; do
    [[ -r /proc/$p/stat ]] || continue
    t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat")))
  done
  echo "$t"
}
echo "warming up ${WARMUP}s, then measuring ${SECS}s with $N targets..." >&2
sleep "$WARMUP"
HZ=$(getconf CLK_TCK)
t0=$(date +%s.%N); s0=$(ticks $S); z0=$(ticks $Z); f0=$(ticks "${F[@]}")
sleep "$SECS"
t1=$(date +%s.%N); s1=$(ticks $S); z1=$(ticks $Z); f1=$(ticks "${F[@]}")
states=$(jq -r '[.channels[] | select(.channel == "ch") | .restream[] | "\(.name) \(.state) \(.kbps)k drops \(.dropped_packets) reconnects \(.reconnects)"] | join("; ")' "$W/s-status.json" 2>/dev/null || echo "?")
python3 - "$N" "$HZ" "$t0" "$t1" "$s0" "$s1" "$z0" "$z1" "$f0" "$f1" "$states" "$(uptime | sed 's/.*load average: //')" <<'PY'
import sys
a = sys.argv[1:]
n, hz = int(a[0]), int(a[1]); wall = float(a[3]) - float(a[2])
cpu = lambda x0, x1: (int(x1) - int(x0)) / hz / wall * 100
s, z, f = cpu(a[4], a[5]), cpu(a[6], a[7]), cpu(a[8], a[9])
print(f"restream bench: 1 channel x 6 Mbps H.264/AAC 720p30 to {n} targets (nginx-rtmp on loopback), "
      f"{wall:.0f} s measured, load avg {a[11]}")
print(f"{'':44} {'CPU %':>7} {'CPU %/target':>13}")
print(f"{'S. sigma-ingest, 1 in + %d restream targets' % n:44} {s:7.2f} {s/n:13.2f}")
print(f"{'Z. sigma-ingest, 1 in, no target':44} {z:7.2f}")
print(f"{'F. ffmpeg -c copy -f flv x%d' % n:44} {f:7.2f} {f/n:13.2f}")
r = lambda x: x / f if f > 0 else float("nan")
print(f"ratio CPU per target S/F:       {r(s):.2f}  (target <= 1.00)")
print(f"ratio CPU per target (S-Z)/F:   {r(s - z):.2f}  (what the targets add)")
print(f"targets: {a[10]}")
PY
