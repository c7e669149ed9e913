#!/usr/bin/env bash
# bench/ingest.sh: N publishers (default 20) of a 4 Mbps H.264/AAC stream
# over RTMP on loopback to each of three servers, side by side in one run:
#   H. sigma-ingest --hls: packaged in-process (HLS, normal mode)
#   A. sigma-ingest -> one FIFO per channel -> sigma-package (HLS, normal)
#   B. nginx + libnginx-mod-rtmp with `hls on` (the reference)
# Prints CPU% (of one core, averaged over the measured window), RSS and PSS
# of each, per channel, and the ratios against the targets (CPU <= nginx,
# < 10 MB per channel). Not a test: it prints figures.
# Usage: bench/ingest.sh [CHANNELS] [SECONDS]   (env BIN=dir of sigma-*)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
N=${1:-20}
SECS=${2:-30}
WARMUP=8
BIN=${BIN:-$root/build/bin}
export PATH="$BIN:$PATH"
command -v sigma-ingest >/dev/null || { echo "sigma-ingest not found in $BIN (set BIN=)" >&2; exit 1; }
HAVE_PACKAGE=1
command -v sigma-package >/dev/null || { HAVE_PACKAGE=0; echo "note: sigma-package not built: channels go to /dev/null" >&2; }
command -v nginx >/dev/null && [[ -f /usr/lib/nginx/modules/ngx_rtmp_module.so ]] || { echo "nginx with libnginx-mod-rtmp is needed: scripts/setup --bench installs them" >&2; exit 1; }

W=$(mktemp -d /tmp/sigma-bench-ingest.XXXXXX)
chmod 755 "$W"  # nginx workers run as www-data
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

# One 4 Mbps 720p30 source, encoded once and cached.
SRC=$(bench_720p_flv 4)

# --- H: sigma-ingest packaging in-process -----------------------------------
RTMP_H=$(free_port)
sigma-ingest --rtmp "127.0.0.1:$RTMP_H" --open --hls "$W/hls-inproc/{channel}" --mode normal \
  --status-file "$W/hls-status.json" --log-level warn 2>"$W/ingest-hls.log" &
INGEST_H=$!; PIDS+=($INGEST_H)

# --- A: sigma-ingest -> FIFOs -> sigma-package --------------------------
RTMP_A=$(free_port)
mkdir -p "$W/run" "$W/hls"
for i in $(seq 1 "$N"); do
  mkdir -p "$W/run/ch$i"
  mkfifo "$W/run/ch$i/source.ts"
  if ((HAVE_PACKAGE)); then
    sigma-package -i "$W/run/ch$i/source.ts" -o "$W/hls/ch$i" --mode normal --channel "ch$i" \
      --log-level warn 2>>"$W/package.log" &
  else
    cat "$W/run/ch$i/source.ts" >/dev/null &
  fi
  PIDS+=($!); PKG_PIDS+=($!)
done
sigma-ingest --rtmp "127.0.0.1:$RTMP_A" --open --output "$W/run/{channel}/source.ts" \
  --status-file "$W/ingest-status.json" --log-level warn 2>"$W/ingest.log" &
INGEST=$!; PIDS+=($INGEST)

# --- B: nginx-rtmp with HLS (own config, own ports) -----------------------
RTMP_B=$(free_port)
mkdir -p "$W/nginx/hls" "$W/nginx/tmp"
chown -R www-data:www-data "$W/nginx" 2>/dev/null || true
cat >"$W/nginx/nginx.conf" <<CONF
load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
user www-data;
worker_processes 1;
daemon off;
master_process on;
pid $W/nginx/nginx.pid;
error_log $W/nginx/error.log warn;
events { worker_connections 1024; }
rtmp {
  server {
    listen 127.0.0.1:$RTMP_B;
    chunk_size 4096;
    application live {
      live on;
      record off;
      hls on;
      hls_path $W/nginx/hls;
      hls_fragment 6s;
      hls_playlist_length 36s;
    }
  }
}
http { access_log off; client_body_temp_path $W/nginx/tmp/body; proxy_temp_path $W/nginx/tmp/proxy;
  fastcgi_temp_path $W/nginx/tmp/fcgi; uwsgi_temp_path $W/nginx/tmp/uwsgi; scgi_temp_path $W/nginx/tmp/scgi; }
CONF
nginx -c "$W/nginx/nginx.conf" -e "$W/nginx/error.log" >>"$W/nginx/stdout.log" 2>&1 &
NGINX_MASTER=$!; PIDS+=($NGINX_MASTER)
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$RTMP_B") 2>/dev/null && break; sleep 0.1; done
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$RTMP_A") 2>/dev/null && break; sleep 0.1; done
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$RTMP_H") 2>/dev/null && break; sleep 0.1; done
NGINX_WORKER=$(pgrep -P "$NGINX_MASTER" | head -1 || true)
[[ -n $NGINX_WORKER ]] || { echo "nginx did not start:" >&2; cat "$W/nginx/error.log" >&2; exit 1; }

# --- publishers: N to each ------------------------------------------------
for i in $(seq 1 "$N"); do
  ffmpeg -nostdin -loglevel error -re -stream_loop -1 -i "$SRC" -c copy -f flv "rtmp://127.0.0.1:$RTMP_H/live/ch$i" &
  PIDS+=($!); PUB_PIDS+=($!)
  ffmpeg -nostdin -loglevel error -re -stream_loop -1 -i "$SRC" -c copy -f flv "rtmp://127.0.0.1:$RTMP_A/live/ch$i" &
  PIDS+=($!); PUB_PIDS+=($!)
  ffmpeg -nostdin -loglevel error -re -stream_loop -1 -i "$SRC" -c copy -f flv "rtmp://127.0.0.1:$RTMP_B/live/ch$i" &
  PIDS+=($!); PUB_PIDS+=($!)
done

ticks() {  # total utime+stime of the given pids, in clock ticks
  local t=0 p
  for p in "$@"; do
    [[ -r /proc/$p/stat ]] || continue
    t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat")))
  done
  echo "$t"
}
rss_kb() {
  local t=0 p
  for p in "$@"; do
    [[ -r /proc/$p/status ]] || continue
    t=$((t + $(awk '/^VmRSS/ {print $2}' "/proc/$p/status")))
  done
  echo "$t"
}
pss_kb() {  # proportional set size: shared library pages split between processes
  local t=0 p
  for p in "$@"; do
    [[ -r /proc/$p/smaps_rollup ]] || continue
    t=$((t + $(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup")))
  done
  echo "$t"
}

echo "warming up ${WARMUP}s, then measuring ${SECS}s with $N channels per server..." >&2
sleep "$WARMUP"
HZ=$(getconf CLK_TCK)
t0=$(date +%s.%N)
a_in0=$(ticks "$INGEST"); a_pk0=$(ticks "${PKG_PIDS[@]}"); b0=$(ticks "$NGINX_WORKER" "$NGINX_MASTER")
h0=$(ticks "$INGEST_H")
sleep "$SECS"
t1=$(date +%s.%N)
a_in1=$(ticks "$INGEST"); a_pk1=$(ticks "${PKG_PIDS[@]}"); b1=$(ticks "$NGINX_WORKER" "$NGINX_MASTER")
h1=$(ticks "$INGEST_H")
rss_h=$(rss_kb "$INGEST_H"); pss_h=$(pss_kb "$INGEST_H")
rss_in=$(rss_kb "$INGEST"); rss_pk=$(rss_kb "${PKG_PIDS[@]}"); rss_ng=$(rss_kb "$NGINX_WORKER" "$NGINX_MASTER")
pss="$(pss_kb "$INGEST") $(pss_kb "${PKG_PIDS[@]}") $(pss_kb "$NGINX_WORKER" "$NGINX_MASTER")"

# Health: did every channel flow on both sides?
live_a=$(jq '[.channels[] | select(.live and .fps > 20)] | length' "$W/ingest-status.json" 2>/dev/null || echo 0)
drops_a=$(jq '[.channels[].output.dropped_bytes] | add // 0' "$W/ingest-status.json" 2>/dev/null || echo "?")
seg_a=$(find "$W/hls" \( -name '*.m4s' -o -name '*.ts' \) 2>/dev/null | wc -l || true)
pl_a=$(find "$W/hls" -name '*.m3u8' 2>/dev/null | wc -l || true)
live_h=$(jq '[.channels[] | select(.live and .fps > 20)] | length' "$W/hls-status.json" 2>/dev/null || echo 0)
seg_h=$(find "$W/hls-inproc" -name '*.m4s' 2>/dev/null | wc -l || true)
pl_h=$(find "$W/hls-inproc" -name 'index.m3u8' 2>/dev/null | wc -l || true)
maxw_h=$(jq -r '"\([.channels[].hls.max_write_ms] | max // 0) ms, longest event-loop pass \(.loop_max_ms) ms"' "$W/hls-status.json" 2>/dev/null || echo "?")
loop_a=$(jq '.loop_max_ms' "$W/ingest-status.json" 2>/dev/null || echo "?")
pl_b=$(find "$W/nginx/hls" -name '*.m3u8' 2>/dev/null | wc -l || true)
seg_b=$(find "$W/nginx/hls" -name '*.ts' 2>/dev/null | wc -l || true)

python3 - "$N" "$HZ" "$t0" "$t1" "$a_in0" "$a_in1" "$a_pk0" "$a_pk1" "$b0" "$b1" "$rss_in" "$rss_pk" "$rss_ng" \
  "$HAVE_PACKAGE" "$live_a" "$drops_a" "$pl_a" "$seg_a" "$pl_b" "$seg_b" "$(uptime | sed 's/.*load average: //')" $pss \
  "$h0" "$h1" "$rss_h" "$pss_h" "$live_h" "$pl_h" "$seg_h" "$maxw_h" "$loop_a" <<'PY'
import sys
a = sys.argv[1:]
n, hz = int(a[0]), int(a[1]); wall = float(a[3]) - float(a[2])
cpu = lambda x0, x1: (int(x1) - int(x0)) / hz / wall * 100
ing, pkg, ngx = cpu(a[4], a[5]), cpu(a[6], a[7]), cpu(a[8], a[9])
r_in, r_pk, r_ng = int(a[10]) / 1024, int(a[11]) / 1024, int(a[12]) / 1024
have_pkg = a[13] == "1"
h_cpu = cpu(a[24], a[25]); r_h, p_h = int(a[26]) / 1024, int(a[27]) / 1024
print(f"sigma-ingest bench: {n} publishers x 4 Mbps H.264/AAC 720p30 per server, {wall:.0f} s measured, load avg {a[20]}")
p_in, p_pk, p_ng = (int(x) / 1024 for x in a[21:24])
print(f"{'stage':36} {'CPU %':>8} {'CPU %/ch':>9} {'RSS MB':>8} {'RSS MB/ch':>10} {'PSS MB/ch':>10}")
def row(name, c, r, p): print(f"{name:36} {c:8.1f} {c/n:9.2f} {r:8.1f} {r/n:10.2f} {p/n:10.2f}")
row("H. sigma-ingest --hls (in-process)", h_cpu, r_h, p_h)
row("A. sigma-ingest -> FIFO", ing, r_in, p_in)
row("   sigma-package x%d" % n if have_pkg else "   cat > /dev/null (no sigma-package)", pkg, r_pk, p_pk)
row("A. ingest+package", ing + pkg, r_in + r_pk, p_in + p_pk)
row("B. nginx-rtmp hls (master+worker)", ngx, r_ng, p_ng)
ratio = lambda x: x / ngx if ngx > 0 else float("nan")
print(f"ratio CPU H (in-process)/nginx:     {ratio(h_cpu):.2f}  (target <= 1.00)")
print(f"ratio CPU A (ingest+package)/nginx: {ratio(ing + pkg):.2f}")
print(f"per channel, H: RSS {r_h / n:.2f} MB, PSS {p_h / n:.2f} MB  (target < 10 MB); "
      f"A: RSS {(r_in + r_pk) / n:.2f} MB, PSS {(p_in + p_pk) / n:.2f} MB; nginx: RSS {r_ng / n:.2f} MB")
print(f"health: H live {a[28]}/{n}, playlists {a[29]}, segments {a[30]}, longest packaging-thread task {a[31]}; "
      f"A live {a[14]}/{n}, output drops {a[15]} B, playlists {a[16]}, segments {a[17]}, longest event-loop pass {a[32]} ms; "
      f"nginx playlists {a[18]}/{n}, segments {a[19]}")
PY
