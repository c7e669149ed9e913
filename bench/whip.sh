#!/usr/bin/env bash
# bench/whip.sh: CPU of sigma-ingest per WHIP publisher against an RTMP
# publisher of the same 720p30 H.264 into the same channel setup (packaged
# in-process, low mode), side by side in one run:
#   W. the Go-live page in headless Chromium (fake 1280x720 30 fps camera
#      and microphone) publishing over WHIP (tests/browser/golive.js):
#      webrtcbin's ICE/DTLS/SRTP, depacketizing, Opus -> AAC re-encoding
#   R. ffmpeg -re pushing a 720p30 H.264/AAC file over RTMP at 2.5 Mbit/s
# Prints sigma-ingest's CPU% (of one core, over the window after a warm-up),
# each input's bitrate from the status file, and the ratio W/R (target
# <= 2.0). The browser's own CPU is not counted. Not a test: it prints
# figures. Glass-to-glass latency is not measured here yet.
# Usage: bench/whip.sh [SECONDS]   (env BIN=dir of sigma-*)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
SECS=${1:-30}
WARMUP=8
BIN=${BIN:-$root/build/bin}
export PATH="$BIN:$PATH"
command -v sigma-ingest >/dev/null || { echo "sigma-ingest not found in $BIN (set BIN=)" >&2; exit 1; }
W=$(mktemp -d /tmp/sigma-bench-whip.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 1
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$W"
}
trap cleanup EXIT
. "$root/bench/media.bash"  # free_port, bench_media
udp() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
kbps() { jq -r '[.channels[]? | .input_kbps // 0] | add // 0 | floor' "$1" 2>/dev/null || echo "?"; }

SRC=$(bench_media bench-whip-720p30.flv 90 1280x720 \
  -c:v libx264 -preset veryfast -b:v 2500k -maxrate 2500k -bufsize 2500k -g 30 -bf 0 -pix_fmt yuv420p \
  -c:a aac -b:a 128k -f flv)
printf 'live bench-key-%s\n' "$RANDOM" >"$W/keys"
chmod 600 "$W/keys"
KEY=$(awk '{print $2}' "$W/keys")

measure() {  # measure PID -> CPU% over SECS after WARMUP
  local pid=$1 t0 t1
  sleep "$WARMUP"
  t0=$(ticks "$pid")
  sleep "$SECS"
  t1=$(ticks "$pid")
  python3 -c "print(round(($t1 - $t0) * 100 / $hz / $SECS, 2))"
}

# W: WHIP from Chromium.
wp=$(free_port) op=$(free_port) u=$(udp)
mkdir -p "$W/w"
sigma-ingest --whip "127.0.0.1:$wp" --whip-udp "127.0.0.1:$u-$((u + 9))" --keys "$W/keys" \
  --hls-channel "live=$W/w/live,mode=low" --status-file "$W/w.json" --log-level warn 2>"$W/w.log" &
ING=$!; PIDS+=("$ING")
sigma-origin --listen "127.0.0.1:$op" --root "$W/w" --web-dir "$root/web" --log-level warn 2>"$W/o.log" &
PIDS+=("$!")
sleep 1
node "$root/tests/browser/golive.js" "http://127.0.0.1:$op/golive?whip=http://127.0.0.1:$wp/whip&key=$KEY" \
  "http://127.0.0.1:$op/live/master.m3u8" $((SECS + WARMUP + 2)) >"$W/golive.json" 2>"$W/golive.err" &
GL=$!; PIDS+=("$GL")
cpu_w=$(measure "$ING")
kb_w=$(kbps "$W/w.json")
wait "$GL" || true
kill "$ING"; sleep 1

# R: RTMP from ffmpeg.
rp=$(free_port)
mkdir -p "$W/r"
sigma-ingest --rtmp "127.0.0.1:$rp" --keys "$W/keys" --hls-channel "live=$W/r/live,mode=low" \
  --status-file "$W/r.json" --log-level warn 2>"$W/r.log" &
ING=$!; PIDS+=("$ING")
sleep 1
ffmpeg -nostdin -loglevel error -re -i "$SRC" -c copy -f flv "rtmp://127.0.0.1:$rp/live/$KEY" &
PIDS+=("$!")
cpu_r=$(measure "$ING")
kb_r=$(kbps "$W/r.json")

echo "window ${SECS} s after ${WARMUP} s warm-up; load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-44s %8s %10s\n' "sigma-ingest with one publisher" "CPU %" "kbit/s in"
printf '%-44s %8s %10s\n' "W: WHIP (Chromium Go-live page, 720p30)" "$cpu_w" "$kb_w"
printf '%-44s %8s %10s\n' "R: RTMP (ffmpeg -re, 720p30 2.5 Mbit/s)" "$cpu_r" "$kb_r"
echo "ratio W/R: $(python3 -c "print(round($cpu_w / $cpu_r, 2))") (target <= 2.0)"
echo "page: $(tail -1 "$W/golive.json" | jq -c '{states, frames, kbps_last: (.kbps[-1])}' 2>/dev/null || cat "$W/golive.err")"
