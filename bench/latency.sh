#!/usr/bin/env bash
# Glass-to-glass latency of Sigma's three modes, beside a fresh nginx-rtmp
# run, all measured the same way in one run with ../shared/harness:
#
#   harness publisher (ffmpeg testsrc2 720p30 + frame counter, x264 1 s GOP)
#     --RTMP--> sigma-ingest --FIFO--> sigma-package --mode M --> sigma-origin
#     --HTTP--> hls.js in headless Chromium (lowLatencyMode for ultra-low)
#
# Mode "ladder" puts the ABR ladder in the chain, as a real ultra-low
# deployment would run it on two cores:
#
#   publisher 720p --RTMP--> sigma-ingest --FIFO--> sigma-transcode --mode
#     ultra-low --ladder source,854x480,640x360 --FIFO--> sigma-package ...
#
# The top rung is the publisher's own 720p passed through: it costs no
# encode and adds no encoder delay, and the input is already a live-grade
# 1 s-GOP H.264 stream; only the two lower rungs are encoded (superfast:
# they must keep real time beside the publisher and Chromium).
#
# Steady join: the player starts once the playlist window is full (pre-roll
# = window + one segment + 1 s), as the harness README defines it.
# Targets: ultra-low p50 <= 1.5 s, p95 <= 2.0 s, no stall; ladder p50 <=
# 2.0 s; low <= 6 s; normal <= 20 s.
#
# Usage: bench/latency.sh [ULTRA_LOW_SECONDS=120] [OTHER_SECONDS=45] [modes...]
#   modes: any of ultra-low ultra-low-fifo ultra-low-0.2 (0.2 s parts)
#   ultra-low-plain (separate audio rendition, --no-fresh-join) ladder low
#   normal nginx (default: all but ultra-low-0.2 and ultra-low-plain);
#   ladder runs for ULTRA_LOW_SECONDS.
#   SIGMA_LATENCY_KEEP=1 keeps the work directory (logs, results.jsonl);
#   SIGMA_LATENCY_PLAYER_CONFIG='{"debug":true}' is merged into the hls.js
#   config (the debug log lands in g2g-*/browser-console.log).
#   SIGMA_BIN=dir picks the binaries (default: the last of build-origin/bin,
#   build/bin that has them all). SIGMA_LADDER_SIZE, SIGMA_LADDER_BITRATE and
#   SIGMA_LADDER change the ladder run's publisher and rungs (a loaded machine
#   may not publish 720p in real time: 640x360 with source,x270@500k,x180@250k).
# Needs a build (build*/bin or PATH), node/npm (the harness is copied to a
# temporary directory and `npm install`ed there), nginx + libnginx-mod-rtmp.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
ULTRA_SECS=${1:-120}
OTHER_SECS=${2:-45}
shift $(($# > 2 ? 2 : $#))
MODES=("$@")
((${#MODES[@]})) || MODES=(ultra-low ultra-low-fifo ladder low normal nginx)
HARNESS=${SIGMA_HARNESS:-$REPO/../shared/harness}
[[ -x $HARNESS/g2g.sh ]] || { echo "latency: harness not found at $HARNESS (set SIGMA_HARNESS)" >&2; exit 1; }

BIN=
# The last one found wins: build/bin, the one scripts/setup builds.
for b in build-origin/bin build/bin; do [[ -x $b/sigma-origin && -x $b/sigma-ingest && -x $b/sigma-package ]] && BIN=$REPO/$b; done
[[ -n ${SIGMA_BIN:-} ]] && BIN=$(cd "$SIGMA_BIN" && pwd)
[[ -n $BIN ]] || BIN=$(dirname "$(command -v sigma-origin)")
for t in sigma-ingest sigma-package sigma-origin; do
  [[ -x $BIN/$t ]] || { echo "latency: $t not built" >&2; exit 1; }
done

W=$(mktemp -d /tmp/sigma-latency.XXXXXX)
chmod 755 "$W"
PIDS=()
NGINX_DIR=$W/nginx
cleanup() {
  local p
  [[ -f $NGINX_DIR/master.pid ]] && G2G_NGINX_DIR=$NGINX_DIR "$W/h/peers/nginx-rtmp.sh" stop >/dev/null 2>&1 || true
  for p in "${PIDS[@]:-}"; do [[ -n $p ]] && kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]:-}"; do [[ -n $p ]] && timeout 5 tail --pid="$p" -f /dev/null 2>/dev/null || true; done
  if [[ -n ${SIGMA_LATENCY_KEEP:-} ]]; then say "logs kept in $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
say() { echo "latency: $*" >&2; }

say "preparing the harness in $W/h (npm install)"
cp -r "$HARNESS" "$W/h"
rm -rf "$W/h/node_modules"
(cd "$W/h" && npm install --no-audit --no-fund --loglevel=error >&2)
RESULTS=$W/results.jsonl
# The harness's publisher encodes in real time; at 720p it falls behind on a
# busy 2-core machine (speed < 1x makes every latency figure meaningless),
# so the default is 360p. The publisher's lag is printed beside each run.
SIZE=${SIGMA_LATENCY_SIZE:-640x360}
RATE=${SIGMA_LATENCY_BITRATE:-1000k}

# sigma-transcode options for run_sigma; empty: ingest feeds the packager.
TRANSCODE=()

run_sigma() {  # MODE SECONDS PREROLL LL(ll|std) LABEL [sigma-package options...]
  local mode=$1 secs=$2 preroll=$3 ll=$4 label=$5 rport oport root fifo pfifo ipid ppid opid tpid=
  shift 5
  local size=${RUN_SIZE:-$SIZE} rate=${RUN_RATE:-$RATE} tag=${label// /-}
  rport=$(free_port)
  oport=$(free_port)
  root=$W/root-$tag
  fifo=$W/ts-$tag
  pfifo=$fifo
  mkdir -p "$root"
  mkfifo "$fifo"
  "$BIN/sigma-origin" --listen "127.0.0.1:$oport" --root "$root" --access-log "$W/access-$tag.log" \
    ${ORIGIN_ARGS:-} --log-level warn 2>"$W/origin-$tag.log" &
  opid=$!
  local playlist="http://127.0.0.1:$oport/lat/master.m3u8"
  if [[ ${IN_INGEST:-} == 1 ]]; then
    # The supervisor's pipeline for a published passthrough channel: the
    # packager runs inside sigma-ingest, the stream key names the channel.
    "$BIN/sigma-ingest" --rtmp "127.0.0.1:$rport" --open --hls "$root/{channel}" --mode "$mode" "$@" \
      --events "$W/ingest-$tag.ev" --log-level warn 2>"$W/ingest-$tag.log" &
    ipid=$!
    ppid=
    playlist="http://127.0.0.1:$oport/{key}/master.m3u8"
  elif ((${#TRANSCODE[@]})); then
    pfifo=$W/ladder-$tag
    mkfifo "$pfifo"
    "$BIN/sigma-transcode" -i "$fifo" -o "$pfifo" --mode "$mode" "${TRANSCODE[@]}" --events "$W/transcode-$tag.ev" \
      --log-level warn 2>"$W/transcode-$tag.log" &
    tpid=$!
  fi
  if [[ ${IN_INGEST:-} != 1 ]]; then
    "$BIN/sigma-package" -i "$pfifo" -o "$root/lat" --mode "$mode" --channel lat --log-level warn "$@" \
      2>"$W/package-$tag.log" &
    ppid=$!
    "$BIN/sigma-ingest" --rtmp "127.0.0.1:$rport" --open -o "$fifo" --log-level warn 2>"$W/ingest-$tag.log" &
    ipid=$!
  fi
  PIDS+=("$opid" $ppid "$ipid" $tpid)
  sleep 0.5
  say "$label: ${secs} s after a ${preroll} s pre-roll ($size at $rate)"
  "$W/h/g2g.sh" --ingest "rtmp://127.0.0.1:$rport/live/{key}" --playlist "$playlist" \
    --duration "$secs" --mode "$ll" --preroll "$preroll" --size "$size" --bitrate "$rate" \
    --watch-pid "$ipid,${ppid:+$ppid,}$opid${tpid:+,$tpid}" \
    --label "$label" --out "$RESULTS" --log-dir "$W/g2g-$tag" \
    ${SIGMA_LATENCY_PLAYER_CONFIG:+--player-config "$SIGMA_LATENCY_PLAYER_CONFIG"} >/dev/null ||
    say "$label: g2g failed"
  if [[ -n $tpid ]]; then
    # What the transcoder cost, and whether it had to shed a rung.
    say "$label: sigma-transcode CPU $(awk '{printf "%.1f s", ($14 + $15) / 100}' "/proc/$tpid/stat" 2>/dev/null)" \
      "over the run; events: $(grep -o '"type":"transcode[.a-z_]*"' "$W/transcode-$tag.ev" | sort | uniq -c | tr -s ' ' | tr '\n' ';')"
  fi
  kill "$ipid" $ppid "$opid" $tpid 2>/dev/null || true
  wait "$ipid" $ppid "$opid" $tpid 2>/dev/null || true
}

run_nginx() {  # SECONDS
  local secs=$1 rport hport
  rport=$(free_port)
  hport=$(free_port)
  G2G_NGINX_DIR=$NGINX_DIR "$W/h/peers/nginx-rtmp.sh" start 1s 4s "$rport" "$hport" >/dev/null
  say "nginx-rtmp (1 s fragments, 4 s playlist): ${secs} s after a 6 s pre-roll"
  "$W/h/g2g.sh" --ingest "rtmp://127.0.0.1:$rport/live/{key}" --playlist "http://127.0.0.1:$hport/hls/{key}.m3u8" \
    --duration "$secs" --mode std --preroll 6 --size "$SIZE" --bitrate "$RATE" --watch-pid "$(cat "$NGINX_DIR/worker.pid")" \
    --label "nginx-rtmp 1s/4s" --out "$RESULTS" --log-dir "$W/g2g-nginx" >/dev/null ||
    say "nginx-rtmp: g2g failed"
  G2G_NGINX_DIR=$NGINX_DIR "$W/h/peers/nginx-rtmp.sh" stop >/dev/null 2>&1 || true
}

for m in "${MODES[@]}"; do
  case $m in
    # Pre-roll: the window (segments x duration) + one segment + 1 s.
    # Transmux modes run the supervisor's pipeline for a published channel
    # (packaged inside sigma-ingest); *-fifo runs ingest -> FIFO -> sigma-package.
    ultra-low) IN_INGEST=1 run_sigma ultra-low "$ULTRA_SECS" 27 ll "sigma ultra-low" ;;  # 12 x 2 s, 1/3 s parts
    ultra-low-fifo) run_sigma ultra-low "$ULTRA_SECS" 27 ll "sigma ultra-low fifo" ;;
    ultra-low-0.2) IN_INGEST=1 run_sigma ultra-low "$ULTRA_SECS" 27 ll "sigma ultra-low 0.2s" --part-duration 0.2 ;;
    # Audio as its own rendition and plain playlist requests answered at
    # once: what muxed audio and fresh joins are measured against.
    ultra-low-plain) ORIGIN_ARGS=--no-fresh-join IN_INGEST=1 run_sigma ultra-low "$ULTRA_SECS" 27 ll \
      "sigma ultra-low plain" --hls-audio separate ;;
    ladder)
      [[ -x $BIN/sigma-transcode ]] || { say "sigma-transcode not built in $BIN"; exit 1; }
      TRANSCODE=(--ladder "${SIGMA_LADDER:-source,854x480@1200k,640x360@700k}" --x264-preset superfast)
      RUN_SIZE=${SIGMA_LADDER_SIZE:-1280x720} RUN_RATE=${SIGMA_LADDER_BITRATE:-2500k} \
        run_sigma ultra-low "$ULTRA_SECS" 27 ll "sigma ladder"
      TRANSCODE=() ;;
    low) IN_INGEST=1 run_sigma low "$OTHER_SECS" 12 std "sigma low" ;;               # 10 x 1 s
    normal) IN_INGEST=1 run_sigma normal "$OTHER_SECS" 29 std "sigma normal" ;;      # 6 x 4 s
    nginx) run_nginx "$OTHER_SECS" ;;
    *) say "unknown mode $m"; exit 1 ;;
  esac
done

touch "$RESULTS"
python3 - "$RESULTS" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
targets = {"sigma ultra-low": (1500, 2000), "sigma ultra-low fifo": (1500, 2000), "sigma ultra-low 0.2s": (1500, 2000), "sigma ultra-low plain": (1500, 2000), "sigma ladder": (2000, None),
           "sigma low": (6000, None),
           "sigma normal": (20000, None)}
print(f"{'run':<22}{'p50 ms':>9}{'p95 ms':>9}{'ttff ms':>9}{'stalls':>8}{'fatal/non':>11}{'frames':>8}{'pub lag p50':>12}  target")
for r in rows:
    lat = r.get("latency_ms") or {}
    label = r.get("label", "?")
    t = targets.get(label)
    verdict = ""
    if t and lat.get("p50") is not None:
        okay = lat["p50"] <= t[0] and (t[1] is None or lat["p95"] <= t[1])
        if label.startswith("sigma ultra-low"):
            okay = okay and r.get("stalls", 1) == 0
        verdict = ("ok" if okay else "MISSED") + f" (p50 <= {t[0]}" + (f", p95 <= {t[1]}, no stall)" if t[1] else ")")
    lag = (r.get("publisher") or {}).get("lag_ms_p50")
    if lag is not None and lag > 250:
        verdict = "INVALID: publisher fell behind real time"
    print(f"{label:<22}{str(lat.get('p50')):>9}{str(lat.get('p95')):>9}"
          f"{str(r.get('ttff_ms')):>9}{str(r.get('stalls')):>8}{str(r.get('errors_fatal'))+'/'+str(r.get('errors_nonfatal')):>11}"
          f"{str(r.get('frames_decoded')):>8}{str(lag):>12}  {verdict}")
if not rows:
    print("no result (see the messages above)")
PY
