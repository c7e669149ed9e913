#!/usr/bin/env bash
# sigma-origin's thumbnails.vtt (issue 14) over a week of sprite sheets
# (10 s tiles, 10x10 per sheet: 605 sheets, their JSON as sigma-thumb
# writes it): the time to answer a VTT for a 1 h range and for a 24 h
# range, each request a range no earlier one asked (nothing cached), then
# the same range N times (the answer cache); p50/p99 over N requests, and
# the bytes of each answer with and without gzip; before them, the
# first request after the origin starts, which parses every sheet.
#
# Usage: bench/thumb-origin.sh [BIN_DIR] [N]   (default build/bin, 50)
# Needs: a built sigma-origin, curl, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-build/bin}
N=${2:-50}
[[ -x $BIN/sigma-origin ]] || { echo "thumb-origin: build sigma-origin first ($BIN)" >&2; exit 1; }
for c in curl python3; do command -v "$c" >/dev/null || { echo "thumb-origin: needs $c" >&2; exit 1; }; done

W=$(mktemp -d /tmp/thumb-origin.XXXXXX)
PID=
cleanup() { [[ -n $PID ]] && kill "$PID" 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT
TH=$W/root/tv/thumbs
mkdir -p "$TH"
NOW_MS=$(date +%s%3N)
# A week of full sheets up to now (the JPEGs are not read for a VTT).
python3 - "$TH" "$NOW_MS" <<'PY'
import json, sys
th, now = sys.argv[1], int(sys.argv[2])
iv, per = 10000, 100
last = now // (iv * per)
for k in range(last - 604, last + 1):
    tiles = [{"slot": s, "pdt_ms": s * iv + 1234, "x": s % per % 10 * 160, "y": s % per // 10 * 90}
             for s in range(k * per, (k + 1) * per) if s * iv < now]
    json.dump({"sheet": k, "interval_ms": iv, "cols": 10, "rows": 10, "tile_w": 160, "tile_h": 90, "tiles": tiles},
              open(f"{th}/sprite-{k}.json", "w"))
PY
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN/sigma-origin" --listen "127.0.0.1:$PORT" --root "$W/root" --log-level warn 2>"$W/origin.log" &
PID=$!
for ((i = 0; i < 50; i++)); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/_channels" && break; sleep 0.1; done

# times URL...: one request each, prints seconds
times() { local u; for u in "$@"; do curl -sf -o /dev/null -w '%{time_total}\n' "$u"; done; }
stats() { sort -n | awk '{ a[NR] = $1 } END { printf "p50 %.1f ms  p99 %.1f ms  (n=%d)", a[int(NR*0.5+0.5)]*1000, a[int(NR*0.99+0.5)]*1000, NR }'; }
base=http://127.0.0.1:$PORT/tv
now_s=$((NOW_MS / 1000))
# The origin's first VTT reads and parses every sheet (kept afterwards).
first=$(times "$base/archive-$((now_s - 6 * 86400))-60/thumbnails.vtt" | awk '{ printf "%.1f ms", $1 * 1000 }')
echo "thumbnails.vtt, the first after start (all 605 sheets parsed): $first"
for span in 3600 86400; do
  urls=()
  for ((i = 0; i < N; i++)); do urls+=("$base/archive-$((now_s - 3 * 86400 - i * 37))-$span/thumbnails.vtt"); done
  cold=$(times "${urls[@]}" | stats)
  warm=$(for ((i = 0; i < N; i++)); do times "${urls[0]}"; done | stats)
  plain=$(curl -sf "${urls[0]}" | wc -c)
  gz=$(curl -sf -H 'Accept-Encoding: gzip' "${urls[0]}" | wc -c)
  cues=$(curl -sf "${urls[0]}" | grep -c -- '-->')
  echo "thumbnails.vtt, a $((span / 3600)) h range of 605 sheets ($cues cues): uncached $cold; cached $warm; $plain bytes, $gz gzipped"
done
