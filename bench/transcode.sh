#!/usr/bin/env bash
# sigma-transcode against ffmpeg's command line (one decode, split, three
# scales, three x264 encodes), same input, same ladder, in one run:
#   60 s of 1080p30 H.264 + AAC -> 720p 3 Mbps, 480p 1.5 Mbps, 360p 0.8 Mbps,
#   x264 veryfast, 2 s GOP, VBV maxrate 1.1x / buffer 2 s, audio copied.
# Each tool runs with its defaults: ffmpeg with x264's veryfast, Sigma with
# its own economy on top of veryfast (subme=1 instead of 2, see "Encoder
# economy" in sigma-transcode(1)); SIGMA_ARGS="--x264-params subme=2" runs
# Sigma with x264's plain veryfast.
# Prints CPU seconds, wall seconds, peak RSS, speed, and the PSNR of each
# rung against the source scaled to that size with lanczos. ffmpeg scales
# every rung with bicubic, Sigma its first rung with bicubic and the
# others from the rung above with lanczos, so that reference favours
# Sigma's lower rungs. Outputs go to tmpfs (/dev/shm) rather than
# /dev/null so they can be scored; writing 40 MB to memory costs nothing
# measurable.
# On a shared machine CPU time drifts with the neighbours' load, so the two
# tools run alternately RUNS times (default 2) and the best run of each is
# compared; every run is printed too.
# Usage: bench/transcode.sh [path/to/sigma-transcode]   (env: SECS=60 RUNS=2,
#   SIGMA_ARGS="--cascade-scaler bicubic" to measure an idea)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$(command -v sigma-transcode || echo "$here/build/bin/sigma-transcode")}
secs=${SECS:-60}
runs=${RUNS:-2}
cache=${SIGMA_BENCH_CACHE:-${TMPDIR:-/tmp}/sigma-bench}
out=$(mktemp -d /dev/shm/sigma-bench.XXXXXX 2>/dev/null || mktemp -d)
trap 'rm -rf "$out"' EXIT
mkdir -p "$cache"
src="$cache/src1080-${secs}s.ts"
if [[ ! -s $src ]]; then
  echo "making $src (once)..." >&2
  # testsrc2 with temporal grain: moving detail that costs the encoder
  # something, unlike a flat test card.
  ffmpeg -nostdin -loglevel error -y \
    -f lavfi -i "testsrc2=size=1920x1080:rate=30:duration=$secs,noise=alls=6:allf=t" \
    -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=$secs" \
    -c:v libx264 -preset superfast -b:v 8M -maxrate 10M -bufsize 10M -g 60 -pix_fmt yuv420p \
    -c:a aac -b:a 128k -f mpegts "$src.part"
  mv "$src.part" "$src"
fi

sizes=(1280x720 854x480 640x360)
rates=(3000 1500 800)

measure() {  # name cmd... -> sets cpu/wall/rss via /usr/bin/time
  local name=$1; shift
  /usr/bin/time -f "%U %S %e %M" -o "$out/$name.time" "$@" 2>"$out/$name.log" ||
    { echo "$name failed:" >&2; tail -5 "$out/$name.log" >&2; exit 1; }
}

psnr() {  # file -> one average PSNR per rung (dB), space separated
  local f=$1 fc="" i
  fc="[1:v]split=3[s0][s1][s2];"
  for i in 0 1 2; do
    fc+="[s$i]scale=${sizes[$i]/x/:}:flags=lanczos+accurate_rnd+full_chroma_int,setpts=PTS-STARTPTS[r$i];"
    fc+="[0:v:$i]setpts=PTS-STARTPTS[d$i];[d$i][r$i]psnr@rung$i[o$i];"
  done
  fc=${fc%;}
  ffmpeg -nostdin -hide_banner -i "$f" -i "$src" -filter_complex "$fc" \
    -map "[o0]" -f null - -map "[o1]" -f null - -map "[o2]" -f null - >"$out/psnr.log" 2>&1
  for i in 0 1 2; do
    grep "psnr@rung$i " "$out/psnr.log" | grep -o 'average:[0-9.inf]*' | cut -d: -f2 | tr '\n' ' '
  done
}

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)  ($(nproc) cores)"
echo "x264: ffmpeg veryfast; sigma its default, veryfast + subme=1${SIGMA_ARGS:+, then SIGMA_ARGS: $SIGMA_ARGS}"
ladder="${sizes[0]}@${rates[0]}k,${sizes[1]}@${rates[1]}k,${sizes[2]}@${rates[2]}k"
fc="[0:v]split=3[a][b][c];[a]scale=${sizes[0]/x/:}[v0];[b]scale=${sizes[1]/x/:}[v1];[c]scale=${sizes[2]/x/:}[v2]"
args=()
for i in 0 1 2; do
  args+=(-map "[v$i]" "-b:v:$i" "${rates[$i]}k" "-maxrate:v:$i" "$((rates[i] * 11 / 10))k" "-bufsize:v:$i" "$((rates[i] * 2))k")
done
best() {  # name -> "user sys wall rss" of the run with the least CPU
  local f
  for f in "$out/$1".*.time; do echo "$(awk '{print $1 + $2}' "$f") $(cat "$f")"; done | sort -n | head -1 | cut -d' ' -f2-
}
for r in $(seq 1 "$runs"); do
  measure "sigma.$r" "$bin" -i "$src" -o "$out/sigma.ts" --ladder "$ladder" --x264-preset veryfast \
    --keyframe-interval 2 --log-level warn ${SIGMA_ARGS:-}
  measure "ffmpeg.$r" ffmpeg -nostdin -loglevel error -y -i "$src" -filter_complex "$fc" "${args[@]}" -map 0:a -c:a copy \
    -c:v libx264 -preset veryfast -g 60 -keyint_min 60 -sc_threshold 0 -f mpegts "$out/ffmpeg.ts"
  echo "run $r: CPU s sigma $(awk '{print $1 + $2}' "$out/sigma.$r.time"), ffmpeg $(awk '{print $1 + $2}' "$out/ffmpeg.$r.time"); load $(cut -d' ' -f1 /proc/loadavg)"
done
echo "load after:  $(cut -d' ' -f1-3 /proc/loadavg)"

read -r su ss sw sr <<<"$(best sigma)"
read -r fu fs fw fr <<<"$(best ffmpeg)"
sp=$(psnr "$out/sigma.ts")
fp=$(psnr "$out/ffmpeg.ts")
read -r sp0 sp1 sp2 <<<"$sp"
read -r fp0 fp1 fp2 <<<"$fp"
kbps() { ffprobe -v error -select_streams "v:$2" -show_entries packet=size -of csv=p=0 "$1" |
  awk -v s="$secs" '{b+=$1} END {printf "%.0f", b*8/s/1000}'; }

awk -v su="$su" -v ss="$ss" -v sw="$sw" -v sr="$sr" -v fu="$fu" -v fs="$fs" -v fw="$fw" -v fr="$fr" -v secs="$secs" '
BEGIN {
  sc = su + ss; fc = fu + fs
  printf "%-22s %12s %12s %8s\n", "", "sigma", "ffmpeg", "ratio"
  printf "%-22s %12.1f %12.1f %8.2f\n", "CPU s", sc, fc, sc / fc
  printf "%-22s %12.1f %12.1f %8.2f\n", "wall s", sw, fw, sw / fw
  printf "%-22s %12.0f %12.0f %8.2f\n", "peak RSS MiB", sr / 1024, fr / 1024, sr / fr
  printf "%-22s %11.2fx %11.2fx\n", "speed (x real time)", secs / sw, secs / fw
}'
for i in 0 1 2; do
  s=$(eval echo "\$sp$i"); f=$(eval echo "\$fp$i")
  printf "%-22s %12s %12s %+8.2f\n" "PSNR ${sizes[$i]} dB" "$s" "$f" "$(echo "$s - $f" | bc -l)"
done
for i in 0 1 2; do
  printf "%-22s %12s %12s\n" "kbit/s ${sizes[$i]}" "$(kbps "$out/sigma.ts" $i)" "$(kbps "$out/ffmpeg.ts" $i)"
done
