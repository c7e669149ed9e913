#!/usr/bin/env bash
# bench/failover.sh: 10 failovers of one channel under sigma-supervisor,
# with viewers in hls.js in Chromium across all of them.
#   A red primary and a blue backup publisher (RTMP, 640x360 30 fps, 1 s
#   GOP); odd rounds kill the primary while the backup is live (-> backup),
#   even rounds kill the backup first, then the primary (-> the slate, a
#   dark grey card); after each the primary comes back and the channel
#   returns to it (failback_after).
# Per switch: from the kill of the primary (its last packet) to the first
# segment of the backup or slate in the playlist, told by the mean colour
# of the newest segment's first frame (polled every 50 ms). Target: at most
# failover_after + one GOP (1.5 + 1 s). The viewer: its fatal errors and
# each stall over the whole run (bench/failover/viewer.js; target: 0
# fatal, no stall over 2 s).
# Not a test: it prints figures.
# Usage: bench/failover.sh [--ladder] [ROUNDS]   (env BIN=dir of sigma-*)
#   --ladder: the channel goes through sigma-transcode (320x180 rung) and
#   sigma-package instead of being packaged in the ingest.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
LADDER=
if [[ ${1:-} == --ladder ]]; then LADDER=1; shift; fi
ROUNDS=${1:-10}
BIN=${BIN:-$root/build/bin}
export PATH="$BIN:$PATH"
command -v sigma-supervisor >/dev/null || { echo "sigma-supervisor not found in $BIN (set BIN=)" >&2; exit 1; }
[[ -f $root/web/node_modules/hls.js/dist/hls.min.js ]] || { echo "web/node_modules missing: scripts/setup" >&2; exit 1; }

W=$(mktemp -d /tmp/sigma-bench-failover.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 1
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  if [[ -n ${KEEP:-} ]]; then echo "kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
. "$root/bench/media.bash"  # free_port, the cached media
RP=$(free_port) OP=$(free_port) HP=$(free_port)

cat >"$W/sv.conf" <<EOF
[global]
run_dir = $W/run
out_root = $W/out
rtmp = 127.0.0.1:$RP
origin = 127.0.0.1:$OP
health = 127.0.0.1:$HP
open_keys = yes
events = $W/events

[channel fo]
mode = low
dvr = 60s
backup = fo-backup
failover_after = 1500ms
failback_after = 3s
${LADDER:+ladder = 320x180@400k}
EOF
sigma-supervisor -c "$W/sv.conf" >"$W/sv.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$HP/status" && break; sleep 0.1; done

publish() { # publish COLOUR KEY: prints the PID
  ffmpeg -nostdin -loglevel error -re -f lavfi -i "color=c=$1:s=640x360:r=30" \
    -f lavfi -i "sine=frequency=440:sample_rate=48000" \
    -c:v libx264 -preset ultrafast -g 30 -keyint_min 30 -sc_threshold 0 -bf 0 -pix_fmt yuv420p \
    -c:a aac -b:a 64k -f flv "rtmp://127.0.0.1:$RP/live/$2" >>"$W/pub-$2.log" 2>&1 &
  echo $!
}
V=$W/out/fo/v0
LAST_SEG= LAST_COLOUR=
newest() { # the colour of the newest segment's first frame (cached per segment)
  local seg init rgb r g b
  seg=$(grep '^seg-' "$V/index.m3u8" 2>/dev/null | tail -1) || true
  [[ -n $seg && -f $V/$seg ]] || { echo none; return; }
  if [[ $seg != "$LAST_SEG" ]]; then
    init=$(grep -o 'URI="[^"]*"' "$V/index.m3u8" | tail -1 | cut -d'"' -f2)
    cat "$V/${init:-init.mp4}" "$V/$seg" >"$W/n.mp4" 2>/dev/null || { echo none; return; }
    rgb=$(ffmpeg -nostdin -loglevel error -i "$W/n.mp4" -frames:v 1 -vf scale=1:1 -f rawvideo -pix_fmt rgb24 - | od -An -tu1)
    read -r r g b <<<"$rgb"
    if ((r > 180 && g < 80 && b < 80)); then LAST_COLOUR=red
    elif ((b > 180 && r < 80 && g < 80)); then LAST_COLOUR=blue
    elif ((r < 90 && g < 90 && b < 90)); then LAST_COLOUR=slate
    else LAST_COLOUR=other; fi
    LAST_SEG=$seg
  fi
  echo "$LAST_COLOUR"
}
wait_colour() { # wait_colour COLOUR TIMEOUT_S: prints seconds waited, or fails
  local t0=${EPOCHREALTIME/./}
  while :; do
    [[ $(newest) == "$1" ]] && { awk -v us=$(( ${EPOCHREALTIME/./} - t0 )) 'BEGIN { printf "%.2f\n", us / 1e6 }'; return 0; }
    (( ${EPOCHREALTIME/./} - t0 > $2 * 1000000 )) && return 1
    sleep 0.05
  done
}

P=$(publish red fo); PIDS+=("$P")
B=$(publish blue fo-backup); PIDS+=("$B")
wait_colour red 30 >/dev/null || { echo "the channel never went live" >&2; tail "$W/sv.log" >&2; exit 1; }
sleep 4
SECS=$((ROUNDS * 14 + 10))
node "$root/bench/failover/viewer.js" "http://127.0.0.1:$OP/fo/master.m3u8" "$SECS" >"$W/play.json" 2>"$W/play.log" &
PLAY=$!
PIDS+=("$PLAY")
sleep 6
for i in $(seq 1 "$ROUNDS"); do
  if ((i % 2 == 0)); then
    kill "$B"; B=; target=slate; sleep 2
  else
    target=blue
  fi
  echo "$i $target $EPOCHREALTIME" >>"$W/kills"
  kill -9 "$P"
  if t=$(wait_colour "$target" 10); then echo "switch $i: primary -> $target: seen by the poll after $t s" >&2
  else echo "switch $i: primary -> $target: not seen within 10 s" >&2; fi
  sleep 2
  [[ -z $B ]] && { B=$(publish blue fo-backup); PIDS+=("$B"); }
  P=$(publish red fo); PIDS+=("$P")
  wait_colour red 15 >/dev/null || echo "round $i: the primary did not come back within 15 s" >&2
  sleep 2
done
wait "$PLAY" || true
switched=$(jq -c 'select(.type == "input.switched")' "$W/events" | wc -l)
jq -r 'select(.type == "input.switched") | "  \(.time) \(.from) -> \(.to) (\(.reason), \(.gap_ms) ms after the last packet out)"' "$W/events" >&2
echo
kind="transmux, packaged in sigma-ingest"
[[ -n $LADDER ]] && kind="ladder: sigma-transcode (one 320x180 rung) and sigma-package behind a FIFO"
echo "failover bench: $ROUNDS rounds, $kind, low mode (1 s segments), 1 s GOP"
# From the kill (the primary's last packet) to the switch and to the first
# segment of the new input written into the playlist (segment.written of
# v0), from the events' times (same clock).
python3 - "$W/kills" "$W/events" <<'PY'
import json, sys
from datetime import datetime
def t(s): return datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp() if "." in s else datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").timestamp()
ev = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
ev = [e for e in ev if e.get("channel") == "fo"]
rows = []
for line in open(sys.argv[1]):
    i, target, killed = line.split(); killed = float(killed)
    sw = next((e for e in ev if e["type"] == "input.switched" and t(e["time"]) > killed and e["from"] == "primary"), None)
    if not sw: rows.append((i, target, None, None)); continue
    seg = next((e for e in ev if e["type"] == "segment.written" and e.get("track") == "v0" and t(e["time"]) >= t(sw["time"])), None)
    rows.append((i, sw["to"], t(sw["time"]) - killed, t(seg["time"]) - killed if seg else None))
for i, to, s, p in rows:
    print(f"  switch {i}: -> {to}: switched after {s:.2f} s, first {to} segment in the playlist after {p:.2f} s" if p else f"  switch {i}: -> {to}: no switch seen")
lat = sorted(p for _, _, _, p in rows if p is not None)
if lat:
    print(f"primary's last packet -> first backup/slate segment in the playlist, {len(lat)} of {len(rows)} switches: "
          f"min {lat[0]:.2f} s, median {lat[len(lat)//2]:.2f} s, max {lat[-1]:.2f} s (target <= 2.5 s, 1.5 s threshold + 1 s GOP: "
          f"{'met' if lat[-1] <= 2.5 and len(lat) == len(rows) else 'not met'})")
PY
echo "input.switched events: $switched (a loss and a failback each round, and slate -> backup where the backup came back first)"
jq -r '"hls.js in Chromium, \(.seconds) s across the switches: frames decoded \(.frames_decoded), fatal errors \(.errors_fatal) \(.fatal), non-fatal \(.errors_nonfatal), stalls \(.stalls) (longest \(.stall_max_ms) ms: \(.stalls_ms)), media time \(.current_time_s) s (target: 0 fatal, no stall over 2000 ms: \(if .errors_fatal == 0 and .stall_max_ms <= 2000 then "met" else "not met" end))"' "$W/play.json" ||
  { echo "the viewer gave no result:"; cat "$W/play.log"; }
