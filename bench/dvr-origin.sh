#!/usr/bin/env bash
# sigma-origin and the archive (issue 13), two figures:
#  a. A 24 h catch-up playlist (21,600 four-second segments per variant; an
#     index of 3 variants + audio filled with synthetic rows) answered while
#     the origin also serves a live low-mode channel to wrk (100 viewers):
#     p50/p99 over N requests, each starting earlier than any before (nothing
#     cached covers it: "uncached"), each for another, later range (the rows
#     the first one read are reused: "cold"), then N for one range (the answer
#     cache: "warm"), with and without gzip; and the live playlist's own
#     latency meanwhile.
#     Target: p99 < 50 ms.
#  b. Bytes a player fetches per playlist reload of a live channel with a
#     2 h window against the mode's default window, for a client that asks
#     delta updates and gzip (hls.js, Safari), one that asks only one of
#     them, and one that asks neither; low and normal mode, the ratio
#     2 h / default beside each. Target: <= 2x for the client that asks both.
#
# Usage: bench/dvr-origin.sh [N]    (N catch-up requests per case, default 200)
# Needs: built sigma-origin, sigma-package and sigma-dvr (build/bin or PATH),
# ffmpeg, sqlite3, curl, wrk.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-200}
for tool in sigma-origin sigma-package sigma-dvr; do
  bin=$(command -v "$tool" || true)
  [[ -x build/bin/$tool ]] && bin=$PWD/build/bin/$tool
  [[ -n $bin ]] || { echo "dvr-origin: build $tool first" >&2; exit 1; }
  declare "BIN_${tool#sigma-}=$bin"
done
for c in ffmpeg sqlite3 curl wrk python3; do
  command -v "$c" >/dev/null || { echo "dvr-origin: needs $c (scripts/setup --bench)" >&2; exit 1; }
done

W=$(mktemp -d /tmp/dvr-origin.XXXXXX)
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]:-}"; do [[ -n $p ]] && kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]:-}"; do [[ -n $p ]] && timeout 5 tail --pid="$p" -f /dev/null 2>/dev/null || true; done
  rm -rf "$W"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
CACHE=${SIGMA_TEST_CACHE:-${TMPDIR:-/tmp}/sigma-test-media}
mkdir -p "$CACHE"

ROOT=$W/root
mkdir -p "$ROOT"

# --- a. the 24 h catch-up playlist --------------------------------------
CH=$ROOT/tv
mkdir -p "$CH"
# An empty index made by sigma-dvr itself (its schema), then 24 h of rows.
"$BIN_dvr" --log-level warn run --dir "$CH" --events-in /dev/null 2>/dev/null &
pid=$!
for ((i = 0; i < 100; i++)); do [[ -s $CH/.dvr/index.sqlite ]] && break; sleep 0.1; done
kill "$pid"; wait "$pid" 2>/dev/null || true
NOW=$(date +%s)
START_MS=$(( (NOW - 86400 - 60) * 1000 ))
SEGS=21600
sqlite3 "$CH/.dvr/index.sqlite" <<SQL
PRAGMA journal_mode = WAL;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $SEGS - 1),
     t(track, bytes) AS (VALUES ('1080p', 3000000), ('720p', 1500000), ('360p', 400000), ('audio', 64000))
INSERT INTO segments(track, msn, start_ms, duration_ms, uri, init, bytes, discontinuity, gap, independent)
SELECT track, i, $START_MS + i * 4000, 4000, track || '/seg-' || i || '.m4s', track || '/init.mp4', bytes, 0, 0, 1
FROM n, t;
SQL
cat >"$CH/master.m3u8" <<'M3U'
#EXTM3U
#EXT-X-VERSION:7
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="a0",DEFAULT=YES,AUTOSELECT=YES,URI="audio/index.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=6300000,CODECS="avc1.640028,mp4a.40.2",RESOLUTION=1920x1080,AUDIO="audio"
1080p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=3100000,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=1280x720,AUDIO="audio"
720p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=900000,CODECS="avc1.64001e,mp4a.40.2",RESOLUTION=640x360,AUDIO="audio"
360p/index.m3u8
M3U
rows=$(sqlite3 "file:$CH/.dvr/index.sqlite?mode=ro" 'SELECT count(*) FROM segments')

# The live channel beside it: a low-mode packager fed in real time (two
# minutes of media, longer than part a lasts: no loop, whose timestamps
# would go back).
TS=$CACHE/dvr-origin-live-120.ts
if [[ ! -s $TS ]]; then
  ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc2=size=640x360:rate=30:duration=120 \
    -f lavfi -i sine=frequency=1000:sample_rate=48000:duration=120 -c:v libx264 -preset ultrafast -g 30 \
    -keyint_min 30 -sc_threshold 0 -bf 0 -pix_fmt yuv420p -c:a aac -b:a 64k -f mpegts "$TS.part"
  mv "$TS.part" "$TS"
fi
ffmpeg -nostdin -loglevel error -re -i "$TS" -c copy -f mpegts - 2>/dev/null |
  "$BIN_package" -o "$ROOT/live" --mode low --log-level error &
PIDS+=($!)
PORT=$(free_port)
"$BIN_origin" --listen "127.0.0.1:$PORT" --root "$ROOT" --log-level warn 2>"$W/origin.log" &
OPID=$!
PIDS+=("$OPID")
BASE=http://127.0.0.1:$PORT
for ((i = 0; i < 100; i++)); do curl -sf -o /dev/null "$BASE/live/v0/index.m3u8" && break; sleep 0.2; done
curl -sf -o /dev/null "$BASE/live/v0/index.m3u8" || { echo "dvr-origin: the live channel did not start" >&2; exit 1; }

FROM=$(( START_MS / 1000 ))
size=$(curl -sf "$BASE/tv/720p/archive-$FROM-86400.m3u8" | wc -c)
segs=$(curl -sf "$BASE/tv/720p/archive-$FROM-86400.m3u8" | grep -c '^#EXTINF')
gzsize=$(curl -sf -H 'Accept-Encoding: gzip' "$BASE/tv/720p/archive-$FROM-86400.m3u8" | wc -c)

# percentiles of the times (s) in a file, in ms
pct() { sort -n "$1" | awk '{ a[NR] = $1 } END { p50 = a[int(NR * 0.5 + 0.5)]; p99 = a[int(NR * 0.99 + 0.5)];
  printf "p50 %6.1f ms  p99 %6.1f ms  max %6.1f ms", p50 * 1000, p99 * 1000, a[NR] * 1000 }'; }

# wrk on the live playlist and segments for the whole of part a.
# 100 viewers, each reloading the playlist and fetching a segment-sized
# file every second (wrk's delay() paces each connection).
cat >"$W/live.lua" <<'LUA'
local n = 0
request = function()
  n = n + 1
  if n % 2 == 0 then return wrk.format("GET", "/live/v0/init.mp4") end
  return wrk.format("GET", "/live/v0/index.m3u8")
end
delay = function() return 500 end
LUA
run_case() {  # NAME URL [curl args...]: N requests for one URL
  local name=$1 url=$2; shift 2
  : >"$W/t.$name"
  for ((k = 0; k < N; k++)); do curl -s -o /dev/null -w '%{time_total}\n' "$@" "$url" >>"$W/t.$name"; done
}
wrk -t1 -c100 -d600s --latency -s "$W/live.lua" "$BASE" >"$W/wrk.out" 2>&1 &
WRK=$!
PIDS+=("$WRK")
sleep 1
cpu0=$(awk '{ print $14 + $15 }' "/proc/$OPID/stat")
: >"$W/t.uncached"
for ((k = 0; k < N; k++)); do  # each range starts earlier than any before: nothing cached covers it
  curl -s -o /dev/null -w '%{time_total}\n' "$BASE/tv/720p/archive-$((FROM + (N - k) * 60))-86400.m3u8" >>"$W/t.uncached"
done
: >"$W/t.cold"
for ((k = 0; k < N; k++)); do
  curl -s -o /dev/null -w '%{time_total}\n' "$BASE/tv/720p/archive-$((FROM + k * 4))-86400.m3u8" >>"$W/t.cold"
done
: >"$W/t.coldgz"
for ((k = 0; k < N; k++)); do
  curl -s -o /dev/null -w '%{time_total}\n' -H 'Accept-Encoding: gzip' \
    "$BASE/tv/1080p/archive-$((FROM + k * 4 + 2))-86400.m3u8" >>"$W/t.coldgz"
done
run_case warm "$BASE/tv/360p/archive-$FROM-86400.m3u8"
run_case warmgz "$BASE/tv/360p/archive-$FROM-86400.m3u8" -H 'Accept-Encoding: gzip'
: >"$W/t.live"
for ((k = 0; k < N; k++)); do
  curl -s -o /dev/null -w '%{time_total}\n' "$BASE/live/v0/index.m3u8" >>"$W/t.live"
done
cpu1=$(awk '{ print $14 + $15 }' "/proc/$OPID/stat")
kill -INT "$WRK"; wait "$WRK" 2>/dev/null || true
live_rps=$(awk '/Requests\/sec/ { print $2 }' "$W/wrk.out")
live_p99=$(awk '$1 == "99%" { print $2 }' "$W/wrk.out")

echo "== a. 24 h catch-up playlist ($rows index rows: 4 tracks x $SEGS; $segs segments, $size bytes, $gzsize gzipped), N=$N each, live traffic beside it"
printf '  %-44s %s\n' "uncached (index queried every time)" "$(pct "$W/t.uncached")"
printf '  %-44s %s\n' "cold (another range each request, rows cached)" "$(pct "$W/t.cold")"
printf '  %-44s %s\n' "cold, gzip" "$(pct "$W/t.coldgz")"
printf '  %-44s %s\n' "warm (one range, 2 s answer cache)" "$(pct "$W/t.warm")"
printf '  %-44s %s\n' "warm, gzip" "$(pct "$W/t.warmgz")"
printf '  %-44s %s\n' "live playlist (curl, meanwhile)" "$(pct "$W/t.live")"
printf '  %-44s %s req/s, p99 %s\n' "live traffic (wrk: 100 viewers, 2 req/s each)" "${live_rps:-?}" "${live_p99:-?}"
printf '  %-44s %.2f s\n' "origin CPU for all of it" "$(awk -v a="$cpu0" -v b="$cpu1" -v hz="$(getconf CLK_TCK)" 'BEGIN { print (b - a) / hz }')"
printf '  target: p99 < 50 ms\n'

# --- b. bytes per reload, 2 h window against the default --------------
# Two hours of 1 s GOPs (tiny frames: only the number of segments matters
# for the playlist), packaged as fast as it can be read into live
# playlists whose input stays open (no ENDLIST): low (1 s segments,
# default window 10) and normal (4 s, default 6), each with the default
# window and with 2 h (7200 and 1800 segments, as dvr = 2h sets).
LONG=$CACHE/dvr-origin-2h.ts
if [[ ! -s $LONG ]]; then
  ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc2=size=160x90:rate=10:duration=7210 -c:v libx264 \
    -preset ultrafast -g 10 -keyint_min 10 -sc_threshold 0 -bf 0 -pix_fmt yuv420p -an -f mpegts "$LONG.part"
  mv "$LONG.part" "$LONG"
fi
package_live() {  # NAME MODE SEGMENT_SECONDS WINDOW
  local fifo=$W/$1.fifo
  mkfifo "$fifo"
  "$BIN_package" -i "$fifo" -o "$ROOT/$1" --mode "$2" --segment-duration "$3" ${4:+--window "$4"} --log-level error &
  PIDS+=($!)
  sleep 3600 >"$fifo" &  # the writer that keeps the input open
  PIDS+=($!)
  cat "$LONG" >"$fifo"
}
package_live low-default low 1 ""
package_live low-2h low 1 7200
package_live normal-default normal 4 ""
package_live normal-2h normal 4 1800
for ch in low-default low-2h normal-default normal-2h; do
  for ((i = 0; i < 900; i++)); do
    n=$(grep -c '^#EXTINF' "$ROOT/$ch/v0/index.m3u8" 2>/dev/null || echo 0)
    case $ch in low-2h) want=7200 ;; normal-2h) want=1790 ;; *) want=6 ;; esac
    ((n >= want)) && break
    sleep 0.2
  done
done
bytes() {  # URL [curl args]: body bytes as sent
  curl -s -o /dev/null -w '%{size_download}' "${@:2}" "$1"
}
echo
echo "== b. bytes per playlist reload (video playlist; live, no ENDLIST)"
printf '  %-8s %-28s %10s %10s %8s\n' mode client default "2 h" ratio
for mode in low normal; do
  d=$BASE/$mode-default/v0/index.m3u8 l=$BASE/$mode-2h/v0/index.m3u8
  nd=$(curl -s "$d" | grep -c '^#EXTINF') nl=$(curl -s "$l" | grep -c '^#EXTINF')
  for client in "delta + gzip (hls.js, Safari)" "delta only" "gzip only" "neither"; do
    q="" h=()
    case $client in delta*) q="?_HLS_skip=YES" ;; esac
    case $client in *gzip*) h=(-H 'Accept-Encoding: gzip') ;; esac
    [[ $client == "gzip only" ]] && h=(-H 'Accept-Encoding: gzip')
    bd=$(bytes "$d$q" "${h[@]}") bl=$(bytes "$l$q" "${h[@]}")
    printf '  %-8s %-28s %10s %10s %7.2fx\n' "$mode" "$client" "$bd" "$bl" "$(awk -v a="$bl" -v b="$bd" 'BEGIN { print a / b }')"
  done
  printf '  %-8s (segments listed: default %s, 2 h %s)\n' "$mode" "$nd" "$nl"
done
echo "  target: <= 2x for the client that asks delta updates and gzip"
