#!/usr/bin/env bash
# The soak (issue 21): four channels under sigma-supervisor for an hour,
# with everything around the live path on, while publishers drop and come
# back and synthetic viewers watch.
#   - tm1 (low) and tm2 (ultra-low): transmux, published over RTMP;
#     lad (low): a two-rung ladder (sigma-transcode), over RTMP; srt1 (low):
#     transmux, published over SRT. Every channel has an archive (sigma-dvr)
#     and thumbnails (sigma-thumb); sigma-stats reads the origin's access
#     log; sigma-hook delivers stream.* events to a local receiver
#     (tests/bats/hook_receiver.py).
#   - Each publisher is killed (SIGKILL: the connection just drops) every
#     --reconnect-every seconds and publishes again after --gap seconds, the
#     channels out of step.
#   - --viewers light viewers (bench/cache/llhls_client.cpp), a quarter per
#     channel, each under its own session: tm2's block on the next part, the
#     others reload the playlist every second and fetch the new segments.
#   - Every --sample-every seconds: RSS, open fds and CPU of every process
#     the supervisor runs (itself included).
# Prints a table of the samples and writes samples.tsv and soak.png (gnuplot)
# into --out. Checks, each printed PASS/FAIL, exit 1 when one fails:
#   growth   after the warm-up no process grows by more than 5 % in RSS or
#            fds: the median of its last three samples against the median
#            of its first three after the warm-up (medians: one sample's
#            spike is no trend), and by more than an absolute slack (2 MB
#            of RSS, 4 fds) so that a few minutes' run does not fail a
#            5 MB process on 300 KB of allocator noise; a stage whose PID
#            changed is a restart, reported by "stages";
#   stages   no stage died (no stage.exited / stage.restarted event);
#   archive  every segment.written event is in the channel's index, and
#            every hole sigma-dvr list shows is at one of the channel's drops;
#   hooks    every stream.* event of the events file reached the receiver;
#   viewers  sigma-stats's live viewers per channel (run_dir/
#            stats-status.json) equal the synthetic viewers of the channel.
#
# Usage: bench/soak.sh [--minutes N] [--viewers N] [--sample-every S]
#          [--warmup S] [--reconnect-every S] [--gap S] [--out DIR]
# Defaults: 60 minutes, 300 viewers, a sample a minute, warm-up a sixth of
# the run, drops every 180 s for 3 s, --out a new /tmp/sigma-soak.XXXXXX.
# Needs: the tools built (build*/bin or PATH), g++, ffmpeg, jq, python3,
# sqlite3, gnuplot.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
MINUTES=60 VIEWERS=300 SAMPLE=60 WARMUP= RECONNECT=180 GAP=3 OUT=
while (($#)); do
  case $1 in
    --minutes) MINUTES=$2; shift 2 ;;
    --viewers) VIEWERS=$2; shift 2 ;;
    --sample-every) SAMPLE=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --reconnect-every) RECONNECT=$2; shift 2 ;;
    --gap) GAP=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -e/p' "$0" | sed -e 's/^# \{0,1\}//' -e '/^set -e/d'; exit 0 ;;
    *) echo "soak.sh: unknown option $1 (see --help)" >&2; exit 100 ;;
  esac
done
num() { [[ $1 =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "soak.sh: $2 must be a number, not '$1'" >&2; exit 100; }; }
num "$MINUTES" --minutes; num "$VIEWERS" --viewers; num "$SAMPLE" --sample-every; num "$RECONNECT" --reconnect-every
num "$GAP" --gap
DURATION=$(awk -v m="$MINUTES" 'BEGIN { printf "%d", m * 60 }')
WARMUP=${WARMUP:-$((DURATION / 6))}
num "$WARMUP" --warmup
((DURATION >= 60 && VIEWERS >= 4)) || { echo "soak.sh: at least 1 minute and 4 viewers" >&2; exit 100; }

# The tools on PATH (scripts/test puts build/bin first), else a build here.
if ! command -v sigma-supervisor >/dev/null; then
  for b in build-cache/bin build/bin; do [[ -x $b/sigma-supervisor ]] && PATH=$PWD/$b:$PATH; done
fi
for t in sigma-supervisor sigma-ingest sigma-package sigma-transcode sigma-origin sigma-dvr sigma-thumb sigma-stats \
  sigma-hook ffmpeg jq python3 sqlite3 gnuplot g++; do
  command -v "$t" >/dev/null || { echo "soak.sh: $t not found (build the tools; scripts/setup --test)" >&2; exit 1; }
done
BIN=$(dirname "$(command -v sigma-supervisor)")

OUT=${OUT:-$(mktemp -d /tmp/sigma-soak.XXXXXX)}
mkdir -p "$OUT"
W=$OUT/work
rm -rf "$W"
mkdir -p "$W"
ulimit -n "$(ulimit -Hn)"
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]:-}"; do [[ -n $p ]] && kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]:-}"; do
    [[ -n $p ]] && { timeout 20 tail --pid="$p" -f /dev/null 2>/dev/null || kill -9 "$p" 2>/dev/null; } || true
  done
}
trap cleanup EXIT
. bench/media.bash  # free_port, bench_media, bench_llhls_client
free_udp_port() {
  python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
now_ms() { date +%s%3N; }

# The viewers' program (compiled once per version of its source) and a light
# 360p source, as bench/cache.sh.
CLIENT=$(bench_llhls_client)
SRC=$(bench_media cache-bench-360p-30s.ts 30 640x360 \
  -c:v libx264 -preset ultrafast -b:v 800k -maxrate 800k -bufsize 800k -g 30 -keyint_min 30 -sc_threshold 0 -bf 0 \
  -pix_fmt yuv420p -c:a aac -b:a 64k -f mpegts)

# --- the receiver, the config, the supervisor -----------------------------
python3 tests/bats/hook_receiver.py --port-file "$W/r.port" --log "$W/hooks-received.ndjson" 2>"$W/receiver.log" &
PIDS+=($!)
for ((i = 0; i < 50; i++)); do [[ -s $W/r.port ]] && break; sleep 0.1; done
echo "whsec_$(head -c 32 /dev/urandom | base64)" >"$W/hook.secret"
chmod 600 "$W/hook.secret"
cat >"$W/hooks.conf" <<CONF
[subscription soak]
url = http://127.0.0.1:$(cat "$W/r.port")/hook
secret_file = $W/hook.secret
events = stream.*
backoff_initial = 200ms
CONF
OP=$(free_port) HP=$(free_port) RP=$(free_port) SP=$(free_udp_port) MP=$(free_port)
CHANNELS=(tm1 tm2 lad srt1)
cat >"$W/sv.conf" <<CONF
[global]
bin_dir = $BIN
run_dir = $W/run
out_root = $W/out
origin = 127.0.0.1:$OP
health = 127.0.0.1:$HP
events = $W/events.ndjson
access_log = $W/access.ndjson
rtmp = 127.0.0.1:$RP
srt = 127.0.0.1:$SP
open_keys = yes
hooks = $W/hooks.conf
stats = yes
stats.metrics = 127.0.0.1:$MP
disk_low = off
# The origin's file cache (128 MB by default) fills with the newest
# segments and then stays that size: at 4 MB it is full within the
# warm-up of even a short run, so what grows after it is not the cache.
origin.args = --cache-size 4

[channel tm1]
input = publish
mode = low
archive = 2h
thumbnails = yes

[channel tm2]
input = publish
mode = ultra-low
archive = 2h
thumbnails = yes

[channel lad]
input = publish
mode = low
ladder = 640x360@600k,320x180@200k
preset = ultrafast
archive = 2h
thumbnails = yes

[channel srt1]
input = publish
mode = low
archive = 2h
thumbnails = yes
CONF
sigma-supervisor -c "$W/sv.conf" 2>"$W/supervisor.log" &
SV=$!
PIDS+=("$SV")
for ((i = 0; i < 100; i++)); do curl -s -o /dev/null "http://127.0.0.1:$HP/status" && break; sleep 0.2; done
curl -s -o /dev/null "http://127.0.0.1:$HP/status" || { echo "soak.sh: the supervisor did not start" >&2; tail -30 "$W/supervisor.log" >&2; exit 1; }

T0=$(now_ms)
END_MS=$((T0 + DURATION * 1000))
# Drops end at least 30 s before the end, so that the last checks see every
# channel up and every viewer in a session.
LAST_DROP_MS=$((END_MS - 30000))

# publisher CH URL FORMAT FIRST_SECONDS: publishes, is killed, comes back.
publisher() {
  local ch=$1 url=$2 fmt=$3 up=$4 t
  while :; do
    timeout -s KILL "$up" ffmpeg -nostdin -loglevel error -re -stream_loop -1 -i "$SRC" -c copy -f "$fmt" "$url" \
      2>>"$W/pub-$ch.log" || true
    t=$(now_ms)
    ((t < END_MS)) || return 0
    if ((t < LAST_DROP_MS)); then
      echo "$ch $t $((t + ${GAP%.*} * 1000))" >>"$W/drops.txt"
      sleep "$GAP"
      up=$RECONNECT
      (( $(now_ms) + up * 1000 < LAST_DROP_MS )) || up=$(( (END_MS - $(now_ms)) / 1000 + 5 ))
    else
      up=$(( (END_MS - t) / 1000 + 5 ))
    fi
  done
}
: >"$W/drops.txt"
i=0
for ch in "${CHANNELS[@]}"; do
  if [[ $ch == srt1 ]]; then
    url="srt://127.0.0.1:$SP?streamid=$ch&pkt_size=1316" fmt=mpegts
  else
    url="rtmp://127.0.0.1:$RP/live/$ch" fmt=flv
  fi
  # Out of step: the first drop of channel i at (i + 2) / 6 of the period.
  first=$(( RECONNECT * (i + 2) / 6 ))
  ((first < 10)) && first=10
  publisher "$ch" "$url" "$fmt" "$first" 2>>"$W/pub-$ch.log" &
  PIDS+=($!)
  i=$((i + 1))
done

# Every channel serving: its master and first variant playlist with segments.
variant_of() { awk '/^#EXT-X-STREAM-INF/ { getline; print; exit }' "$W/out/$1/master.m3u8" | sed 's#^s/[^/]*/##'; }
deadline=$((SECONDS + 90))
for ch in "${CHANNELS[@]}"; do
  until [[ -f $W/out/$ch/master.m3u8 ]] && v=$(variant_of "$ch") && [[ -n $v && -f $W/out/$ch/$v ]] &&
    (($(grep -c '^#EXTINF' "$W/out/$ch/$v") >= 2)); do
    ((SECONDS < deadline)) || { echo "soak.sh: channel $ch did not start" >&2; tail -30 "$W/supervisor.log" >&2; exit 1; }
    sleep 0.5
  done
done

# --- the viewers ----------------------------------------------------------
per=$((VIEWERS / 4))
for ch in "${CHANNELS[@]}"; do
  v=$(variant_of "$ch")
  mode=(--plain --interval 1000)
  [[ $ch == tm2 ]] && mode=()
  "$CLIENT" 127.0.0.1 "$OP" "/$ch/$v" "$per" $(( (END_MS - $(now_ms)) / 1000 + 10 )) --session --ramp 3000 \
    "${mode[@]}" >"$W/viewers-$ch.json" 2>"$W/viewers-$ch.log" &
  PIDS+=($!)
done

# --- sampling -------------------------------------------------------------
HZ=$(getconf CLK_TCK)
# The supervisor and everything under it: "PID LABEL" (program, and the
# channel it serves when its command line names one).
tree() {
  python3 - "$SV" <<'PY'
import os, sys
root = int(sys.argv[1])
kids = {}
for d in os.listdir("/proc"):
    if not d.isdigit():
        continue
    try:
        with open(f"/proc/{d}/stat") as f:
            ppid = int(f.read().rsplit(")", 1)[1].split()[1])
    except OSError:
        continue
    kids.setdefault(ppid, []).append(int(d))
todo, seen = [root], []
while todo:
    p = todo.pop()
    seen.append(p)
    todo.extend(kids.get(p, []))
for p in seen:
    try:
        argv = open(f"/proc/{p}/cmdline", "rb").read().split(b"\0")
    except OSError:
        continue
    argv = [a.decode("utf-8", "replace") for a in argv if a]
    if not argv:
        continue
    prog = os.path.basename(argv[0])
    if not prog.startswith("sigma-"):
        continue  # sh -c wrappers
    ch = ""
    for flag in ("--channel",):
        if flag in argv and argv.index(flag) + 1 < len(argv):
            ch = argv[argv.index(flag) + 1]
    if not ch and prog in ("sigma-transcode", "sigma-package"):
        for a in argv:
            if "/run/" in a or "/out/" in a:
                parts = a.split("/")
                for key in ("run", "out"):
                    if key in parts and parts.index(key) + 1 < len(parts):
                        ch = parts[parts.index(key) + 1]
                        break
                if ch:
                    break
    label = prog[6:] + (":" + ch if ch else "")
    print(p, label)
PY
}
declare -A LAST_TICKS LAST_PID
: >"$OUT/samples.tsv"
printf 't_s\tprocess\tpid\trss_kb\tfds\tcpu_pct\n' >"$OUT/samples.tsv"
sample() {
  local t now pid label rss fds ticks prev cpu
  now=$(now_ms)
  t=$(( (now - T0) / 1000 ))
  while read -r pid label; do
    [[ -r /proc/$pid/status ]] || continue
    rss=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$pid/status" 2>/dev/null) || continue
    fds=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l)
    ticks=$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null) || continue
    prev=${LAST_TICKS[$label]:-}
    if [[ -n $prev && ${LAST_PID[$label]} == "$pid" ]]; then
      cpu=$(awk -v a="$prev" -v b="$ticks" -v hz="$HZ" -v s="$SAMPLE" 'BEGIN { printf "%.1f", (b - a) / hz / s * 100 }')
    else
      cpu=
    fi
    LAST_TICKS[$label]=$ticks LAST_PID[$label]=$pid
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$label" "$pid" "${rss:-0}" "$fds" "$cpu" >>"$OUT/samples.tsv"
  done < <(tree)
}
echo "soak.sh: $MINUTES min, 4 channels, $VIEWERS viewers, a sample every $SAMPLE s, warm-up $WARMUP s; in $OUT" >&2
next=$(now_ms)
while (( $(now_ms) < END_MS - 2000 )); do
  sample
  next=$((next + SAMPLE * 1000))
  while (( $(now_ms) < next && $(now_ms) < END_MS - 2000 )); do sleep 0.5; done
done
sample

# --- checks ---------------------------------------------------------------
FAILED=0
check() {  # NAME OK? DETAIL
  if [[ $2 == ok ]]; then printf 'PASS  %-8s %s\n' "$1" "$3"; else printf 'FAIL  %-8s %s\n' "$1" "$3"; FAILED=1; fi
}

# viewers: read while every viewer still runs and every channel is up.
sleep 2
viewers_ok=ok detail=
for ch in "${CHANNELS[@]}"; do
  n=$(jq -r --arg c "$ch" '.channels[$c].viewers // 0' "$W/run/stats-status.json" 2>/dev/null || echo 0)
  detail+="$ch $n/$per "
  ((n == per)) || viewers_ok=bad
done
check viewers "$viewers_ok" "sigma-stats live viewers / synthetic: $detail"

# The table: per process, first sample after the warm-up, last, and growth.
{
  printf 'process\tsamples\trss_mb_warm\trss_mb_end\trss_growth\tfds_warm\tfds_end\tcpu_pct_mean\tpids\n'
  awk -F'\t' -v w="$WARMUP" 'NR > 1 {
      k = $2; n[k]++; pids[k] = (index(" " pids[k] " ", " " $3 " ") ? pids[k] : pids[k] " " $3)
      if ($6 != "") { cs[k] += $6; cn[k]++ }
      if ($1 >= w) { m[k]++; r[k, m[k]] = $4; f[k, m[k]] = $5 }
    }
    function med3(a, k, i,   x, y, z, t) {
      x = a[k, i]; y = a[k, i + 1]; z = a[k, i + 2]
      if (x > y) { t = x; x = y; y = t } if (y > z) { t = y; y = z; z = t } if (x > y) { t = x; x = y; y = t }
      return y
    }
    END {
      for (k in n) {
        if (m[k] >= 6) { r0 = med3(r, k, 1); r1 = med3(r, k, m[k] - 2); f0 = med3(f, k, 1); f1 = med3(f, k, m[k] - 2) }
        else if (m[k] >= 1) { r0 = r[k, 1]; r1 = r[k, m[k]]; f0 = f[k, 1]; f1 = f[k, m[k]] }
        else { r0 = r1 = f0 = f1 = 0 }
        g = r0 > 0 ? (r1 - r0) / r0 * 100 : 0
        sub(/^ /, "", pids[k]); np = split(pids[k], pp, " ")
        printf "%s\t%d\t%.1f\t%.1f\t%+.1f%%\t%d\t%d\t%.1f\t%d\n", k, n[k], r0 / 1024, r1 / 1024, g, f0, f1,
          cn[k] ? cs[k] / cn[k] : 0, np
      }
    }' "$OUT/samples.tsv" | sort
} >"$OUT/table.tsv"
column -t -s $'\t' "$OUT/table.tsv"

# growth (the rule in the header), on the same medians.
growth=$(awk -F'\t' 'NR > 1 {
    sub(/%$/, "", $5)
    rg = ($4 - $3) * 1024; fg = $7 - $6
    if (($3 > 0 && $4 > $3 * 1.05 && rg > 2048) || ($7 > $6 * 1.05 && fg > 4) || $2 < 2) print $1
  }' "$OUT/table.tsv" | xargs)
n_after=$(awk -F'\t' -v w="$WARMUP" 'NR > 1 && $1 >= w { print $1 }' "$OUT/samples.tsv" | sort -u | wc -l)
if ((n_after < 2)); then
  check growth bad "only $n_after sample(s) after the warm-up: run longer or sample more often"
elif [[ -z $growth ]]; then
  check growth ok "no process grew > 5 % (and > 2 MB RSS / 4 fds) after the warm-up ($n_after samples)"
else
  check growth bad "grew: $growth"
fi

deaths=$(jq -c 'select(.type == "stage.exited" or .type == "stage.restarted" or .type == "stage.failed")' \
  "$W/events.ndjson" | wc -l)
[[ $deaths -eq 0 ]] && check stages ok "no stage died" ||
  check stages bad "$deaths stage exits: $(jq -rc 'select(.type | test("^stage\\.(exited|restarted|failed)$")) | "\(.channel // "-")/\(.stage // "-")"' "$W/events.ndjson" | sort | uniq -c | xargs)"

# archive: every segment.written indexed; holes no more than the drops.
archive_ok=ok detail=
for ch in "${CHANNELS[@]}"; do
  want=$(jq -c --arg c "$ch" 'select(.type == "segment.written" and .channel == $c)' "$W/events.ndjson" | wc -l)
  have=0
  for ((i = 0; i < 40; i++)); do
    have=$(sqlite3 "file:$W/out/$ch/.dvr/index.sqlite?mode=ro" 'SELECT count(*) FROM segments' 2>/dev/null || echo 0)
    ((have >= want)) && break
    sleep 0.5
  done
  drops=$(awk -v c="$ch" '$1 == c' "$W/drops.txt" | wc -l)
  for ((i = 0; i < 5; i++)); do  # tried again if the index is busy at that moment
    sigma-dvr list --json "$W/out/$ch" >"$W/list-$ch.json" 2>"$W/list-$ch.err" &&
      jq -e '.gaps | type == "array"' "$W/list-$ch.json" >/dev/null 2>&1 && break
    sleep 0.5
  done
  holes=$(jq -e '.gaps | length' "$W/list-$ch.json" 2>/dev/null) || holes=-1
  # A hole is explained by a drop of the channel that overlaps it (from 5 s
  # before the kill to 15 s after the publisher came back: an SRT listener
  # notices a dead caller only after its peer idle timeout).
  unexplained=$(jq -e --slurpfile d <(awk -v c="$ch" '$1 == c { printf "[%s,%s]\n", $2, $3 }' "$W/drops.txt") '
    [.gaps[] | select(. as $g | $d | map(select($g.from_ms <= .[1] + 15000 and $g.to_ms >= .[0] - 5000)) | length == 0)]
    | length' "$W/list-$ch.json" 2>/dev/null) || unexplained=-1
  [[ -n $unexplained ]] || unexplained=-1
  detail+="$ch: $have/$want indexed, $holes holes ($unexplained not at a drop), $drops drops; "
  ((holes >= 0)) || detail+="(sigma-dvr list: $(head -c 200 "$W/list-$ch.err")) "
  ((have >= want && want > 0 && holes >= 0 && unexplained == 0)) || archive_ok=bad
done
check archive "$archive_ok" "$detail"

# hooks: every stream.* event delivered (by id).
jq -r 'select(.type | startswith("stream.")) | .id' "$W/events.ndjson" | sort -u >"$W/hooks-want.txt"
for ((i = 0; i < 60; i++)); do
  jq -r '.body | fromjson | .id' "$W/hooks-received.ndjson" 2>/dev/null | sort -u >"$W/hooks-got.txt"
  comm -23 "$W/hooks-want.txt" "$W/hooks-got.txt" | grep -q . || break
  sleep 0.5
done
missing=$(comm -23 "$W/hooks-want.txt" "$W/hooks-got.txt" | wc -l)
[[ $missing -eq 0 && -s $W/hooks-want.txt ]] &&
  check hooks ok "$(wc -l <"$W/hooks-want.txt") stream.* events, all delivered" ||
  check hooks bad "$missing of $(wc -l <"$W/hooks-want.txt") stream.* events not delivered"

# The plot: RSS, fds and CPU of every process against time.
mkdir -p "$W/series"
awk -F'\t' -v d="$W/series" 'NR > 1 { f = d "/" $2 ".tsv"; gsub(/:/, "_", f); print $1 / 60, $4 / 1024, $5, $6 >f }' \
  "$OUT/samples.tsv"
files=$(ls "$W/series"/*.tsv | xargs)
gnuplot <<GP 2>"$W/gnuplot.log" || echo "soak.sh: gnuplot failed: $(cat "$W/gnuplot.log")" >&2
set terminal pngcairo size 1400,1200 font ",9" noenhanced
set output "$OUT/soak.png"
set xrange [0:*]
set multiplot layout 3,1 title "bench/soak.sh: $MINUTES min, 4 channels, $VIEWERS viewers (warm-up $WARMUP s)"
set key outside right
set grid
set xlabel "minutes"
files = "$files"
name(f) = system("basename " . f . " .tsv")
set arrow 1 from $WARMUP/60.0, graph 0 to $WARMUP/60.0, graph 1 nohead dt 2
set ylabel "RSS (MB)"
plot for [f in files] f using 1:2 with linespoints pt 7 ps 0.4 title name(f)
set ylabel "open fds"
plot for [f in files] f using 1:3 with linespoints pt 7 ps 0.4 title name(f)
set ylabel "CPU (% of a core)"
plot for [f in files] f using 1:4 with linespoints pt 7 ps 0.4 title name(f)
unset multiplot
GP
[[ -s $OUT/soak.png ]] && echo "plot: $OUT/soak.png; samples: $OUT/samples.tsv" || echo "soak.sh: no plot written" >&2
exit "$FAILED"
