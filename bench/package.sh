#!/usr/bin/env bash
# Packaging cost: the same 60 s 1080p 6 Mbit/s H.264/AAC TS packaged by
# sigma-package (normal mode, CMAF) and by ffmpeg's own HLS muxer in fMP4
# mode (-c copy -f hls -hls_segment_type fmp4), CPU seconds (user+sys) and
# peak RSS side by side, best of RUNS runs each (ultra-low shown too:
# 1/3 s parts as files plus their segments). Targets: CPU ratio <= 1.0,
# sigma-package under 80 MB RSS.
# Usage: bench/package.sh [RUNS]   (sigma-package from PATH, else build/bin)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
PKG=$(command -v sigma-package || echo build/bin/sigma-package)
. bench/media.bash
IN=$(bench_1080p_source)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# measure NAME CMD...: prints "cpu_seconds peak_rss_kb" of the best run.
measure() {
  local best_cpu="" best_rss="" i out cpu rss
  for ((i = 0; i < RUNS; i++)); do
    rm -rf "$WORK/out" && mkdir -p "$WORK/out"
    /usr/bin/time -f "%U %S %M" -o "$WORK/time" "$@" >/dev/null 2>"$WORK/err" || { cat "$WORK/err" >&2; exit 1; }
    read -r u s rss <"$WORK/time"
    cpu=$(echo "$u + $s" | bc -l)
    if [[ -z $best_cpu ]] || (($(echo "$cpu < $best_cpu" | bc -l))); then best_cpu=$cpu; fi
    if [[ -z $best_rss ]] || ((rss < best_rss)); then best_rss=$rss; fi
  done
  echo "$best_cpu $best_rss"
}

read -r s_cpu s_rss < <(measure "$PKG" -i "$IN" -o "$WORK/out" --mode normal --log-level error)
s_files=$(ls "$WORK/out"/v0/*.m4s | wc -l)
read -r u_cpu u_rss < <(measure "$PKG" -i "$IN" -o "$WORK/out" --mode ultra-low --log-level error)
read -r f_cpu f_rss < <(measure ffmpeg -nostdin -loglevel error -i "$IN" -c copy -bsf:a aac_adtstoasc -f hls -hls_segment_type fmp4 \
  -hls_time 6 -hls_list_size 6 -hls_flags delete_segments -hls_fmp4_init_filename init.mp4 "$WORK/out/index.m3u8")

printf '%-28s %12s %12s\n' "60 s 1080p 6 Mbit/s TS" "CPU s" "peak RSS MB"
printf '%-28s %12.2f %12.1f\n' "sigma-package --mode normal" "$s_cpu" "$(echo "$s_rss / 1024" | bc -l)"
printf '%-28s %12.2f %12.1f\n' "sigma-package ultra-low" "$u_cpu" "$(echo "$u_rss / 1024" | bc -l)"
printf '%-28s %12.2f %12.1f\n' "ffmpeg -f hls fmp4" "$f_cpu" "$(echo "$f_rss / 1024" | bc -l)"
ratio=$(echo "if ($f_cpu > 0) $s_cpu / $f_cpu else 0" | bc -l)
printf '%-28s %12.2f %12.2f\n' "ratio sigma/ffmpeg" "$ratio" "$(echo "$s_rss / $f_rss" | bc -l)"
ok_cpu=$(echo "$ratio <= 1.0" | bc -l)
ok_rss=$(( s_rss < 80 * 1024 ))
echo "targets: CPU ratio <= 1.0: $([[ $ok_cpu == 1 ]] && echo met || echo MISSED); RSS < 80 MB: $([[ $ok_rss == 1 ]] && echo met || echo MISSED) (best of $RUNS runs; $s_files video segments kept in the window)"
