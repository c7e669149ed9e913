#!/usr/bin/env bash
# sigma-thumb's cost on one 1080p30 channel with 2 s GOPs (issue 14): one
# picture per 2 s at 640 wide plus a 160x90 sprite tile every 10 s (10x10
# sheets), against ffmpeg doing the same from the same segments
# (-skip_frame nokey, scale, tile), side by side in one run: CPU seconds
# (user+sys) per hour of media, the share of one core that makes for a live
# channel, peak RSS, and the ratio. Targets: ratio <= 1.0, under 1 % of a
# core, under 40 MB RSS.
#
# The channel is made quickly: bench/media.bash's 60 s 1080p30 6 Mbit/s
# source (2 s GOP) looped MINUTES times (-c copy) into sigma-package (low
# mode, 2 s segments, --keep). sigma-thumb reads its segment.written events
# on stdin; ffmpeg reads the same init + segments concatenated (an fMP4).
#
# Usage: bench/thumb.sh [MINUTES] [RUNS]   (defaults 10 and 1; binaries
# from PATH, else build/bin)
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES=${1:-10}
RUNS=${2:-1}
bin() { command -v "$1" || echo "build/bin/$1"; }
PKG=$(bin sigma-package) THUMB=$(bin sigma-thumb)
. bench/media.bash
IN=$(bench_1080p_source)
WORK=$(mktemp -d)
trap '[[ -n ${SIGMA_BENCH_KEEP:-} ]] || rm -rf "$WORK"' EXIT
CH=$WORK/ch
mkdir -p "$CH"
echo "packaging $MINUTES min of 1080p30 (-c copy)..." >&2
ffmpeg -nostdin -loglevel error -stream_loop $((MINUTES - 1)) -i "$IN" -c copy -f mpegts - |
  "$PKG" -o "$CH" --mode low --segment-duration 2 --window 3 --keep --channel bench --events "$WORK/events" --log-level warn
MEDIA_S=$(jq -s '[.[] | select(.type == "segment.written" and .track == "v0") | .duration] | add' "$WORK/events")
SEGS=$(jq -c 'select(.type == "segment.written" and .track == "v0")' "$WORK/events" | wc -l)

# measure LOG STDIN CMD...: runs CMD with STDIN, prints "cpu_s rss_kb wall_s" of it.
measure() {
  local log=$1 in=$2; shift 2
  python3 -c '
import resource, subprocess, sys, time
log = open(sys.argv[1], "w")
t0 = time.monotonic()
p = subprocess.run(sys.argv[3:], stdin=open(sys.argv[2]), stdout=log, stderr=log)
wall = time.monotonic() - t0
r = resource.getrusage(resource.RUSAGE_CHILDREN)
if p.returncode != 0: sys.exit(f"{sys.argv[3]} exited {p.returncode}: see {sys.argv[1]}")
print(f"{r.ru_utime + r.ru_stime:.3f} {r.ru_maxrss} {wall:.3f}")
' "$log" "$in" "$@"
}

cat "$CH/v0/init.mp4" $(jq -r 'select(.type == "segment.written" and .track == "v0") | .uri' "$WORK/events" | sed "s|^|$CH/|") >"$WORK/v0.mp4"
echo "media: $MEDIA_S s in $SEGS segments of v0 (1920x1080, 2 s GOP)" >&2
printf '%-12s %10s %14s %12s %10s %10s\n' tool cpu_s cpu_s/h_media core_% rss_MB wall_s
for ((r = 1; r <= RUNS; r++)); do
  rm -rf "$CH/thumbs"
  read -r t_cpu t_rss t_wall < <(measure "$WORK/thumb.log" "$WORK/events" "$THUMB" run --dir "$CH" --events-in - --widths 640 --every 2s \
    --sprite-every 10s --tile 160x90 --grid 10x10 --log-level info)
  pics=$(jq -s "map(.tiles | length) | add" "$CH"/thumbs/sprite-*.json)
  mkdir -p "$WORK/ff" && rm -f "$WORK/ff"/*
  read -r f_cpu f_rss f_wall < <(measure "$WORK/ffmpeg.log" /dev/null ffmpeg -nostdin -loglevel error -threads 1 -skip_frame nokey -i "$WORK/v0.mp4" \
    -filter_complex "[0:v]split[a][b];[a]scale=640:-2[live];[b]select='isnan(prev_selected_t)+gte(t-prev_selected_t\,10)',scale=160:90,tile=10x10[sprite]" \
    -map "[live]" -fps_mode passthrough -q:v 4 "$WORK/ff/latest-%05d.jpg" \
    -map "[sprite]" -fps_mode passthrough -q:v 4 "$WORK/ff/sprite-%03d.jpg")
  for row in "sigma-thumb $t_cpu $t_rss $t_wall" "ffmpeg $f_cpu $f_rss $f_wall"; do
    read -r name cpu rss wall <<<"$row"
    awk -v n="$name" -v c="$cpu" -v m="$MEDIA_S" -v rss="$rss" -v w="$wall" \
      'BEGIN { printf "%-12s %10.2f %14.1f %12.3f %10.1f %10.2f\n", n, c, c * 3600 / m, 100 * c / m, rss / 1024, w }'
  done
  awk -v a="$t_cpu" -v b="$f_cpu" 'BEGIN { printf "ratio sigma-thumb/ffmpeg CPU: %.2f\n", a / b }'
  echo "sigma-thumb: $(ls "$CH/thumbs"/sprite-*.jpg | wc -l) sheet(s), $pics tile(s); ffmpeg: $(ls "$WORK/ff"/latest-*.jpg | wc -l) pictures, $(ls "$WORK/ff"/sprite-*.jpg | wc -l) sheet(s)"
done
