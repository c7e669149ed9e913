#!/usr/bin/env bats
# sigma-test: first (a long file: started before the others, scripts/test)
# sigma-package over real media: every segment decodes, frame counts match,
# LL-HLS parts add up to their segments, a FIFO break gives a discontinuity,
# bad input fails with the documented status and leaves valid output.
load helpers
load hls_rules

setup() {
  OUT=$BATS_TEST_TMPDIR/out
  SIGMA_PIDS=()
}

teardown() {
  stop_spawned
}

# Media URIs of a playlist (non-tag lines), but not EXT-X-GAP ones (no file).
uris() { awk '/^#EXT-X-GAP$/ { gap = 1; next } /^#/ || /^$/ { next } { if (!gap) print; gap = 0 }' "$1"; }

# The init section a segment needs: the last EXT-X-MAP before it.
map_of() {
  awk -v seg="$2" '/^#EXT-X-MAP:/ { m = $0; sub(/.*URI="/, "", m); sub(/".*/, "", m) } $0 == seg { print m; exit }' "$1"
}

# Sum of video frames decoded from every segment of a track, each one
# decoded on its own (init + segment), as a player joining there would.
decoded_frames() {
  local dir=$1 total=0 n seg
  for seg in $(uris "$dir/index.m3u8"); do
    cat "$dir/$(map_of "$dir/index.m3u8" "$seg")" "$dir/$seg" >"$BATS_TEST_TMPDIR/one.mp4"
    n=$(count_frames "$BATS_TEST_TMPDIR/one.mp4" | first_number)
    [[ $n -gt 0 ]] || { echo "segment $seg decodes to no frame" >&2; return 1; }
    total=$((total + n))
  done
  echo "$total"
}

audio_packets() {
  local dir=$1 total=0 n seg
  for seg in $(uris "$dir/index.m3u8"); do
    cat "$dir/$(map_of "$dir/index.m3u8" "$seg")" "$dir/$seg" >"$BATS_TEST_TMPDIR/one.mp4"
    n=$(ffprobe -v error -select_streams a:0 -count_frames -show_entries stream=nb_read_frames -of csv=p=0 "$BATS_TEST_TMPDIR/one.mp4" | first_number)
    total=$((total + n))
  done
  echo "$total"
}

# ffprobe prints one line per program too: keep the first number.
first_number() { grep -m1 -o '[0-9]\+'; }
input_frames() { count_frames "$1" | first_number; }

@test "low mode: 20 s TS, every segment decodes alone, frame counts match, master has measured figures" {
  ts=$(make_ts t20 20)
  run sigma-package -i "$ts" -o "$OUT" --mode low --window 0 --log-level warn
  [ "$status" -eq 0 ]
  [ "$(decoded_frames "$OUT/v0")" -eq "$(input_frames "$ts")" ]
  want_audio=$(ffprobe -v error -select_streams a:0 -count_frames -show_entries stream=nb_read_frames -of csv=p=0 "$ts" | first_number)
  [ "$(audio_packets "$OUT/a0")" -eq "$want_audio" ]
  # Low mode's 1 s segments on the input's 1 s keyframe interval.
  grep -qx '#EXT-X-TARGETDURATION:1' "$OUT/v0/index.m3u8"
  [ "$(grep -c '^#EXTINF:1,$' "$OUT/v0/index.m3u8")" -eq 20 ]
  [ "$(grep -c '^#EXT-X-PROGRAM-DATE-TIME:20' "$OUT/v0/index.m3u8")" -eq 20 ]
  [ "$(tail -1 "$OUT/v0/index.m3u8")" = "#EXT-X-ENDLIST" ]
  [ "$(tail -1 "$OUT/a0/index.m3u8")" = "#EXT-X-ENDLIST" ]
  grep -q '^#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="a0",DEFAULT=YES' "$OUT/master.m3u8"
  # The AudioSpecificConfig is in the init segment (browsers refuse AAC without it).
  ffprobe -v error -show_streams "$OUT/a0/init.mp4" | grep -qx 'extradata_size=2'
  line=$(grep '^#EXT-X-STREAM-INF' "$OUT/master.m3u8")
  [[ $line =~ BANDWIDTH=([0-9]+),AVERAGE-BANDWIDTH=([0-9]+) ]]
  ((BASH_REMATCH[1] >= BASH_REMATCH[2] && BASH_REMATCH[2] > 100000))
  [[ $line == *'CODECS="avc1.'*',mp4a.40.2"'* ]]
  [[ $line == *RESOLUTION=640x360,FRAME-RATE=30.000,AUDIO=\"audio\"* ]]
  # The whole thing also plays as HLS through libavformat's own client.
  n=$(ffprobe -v error -select_streams v:0 -count_frames -show_entries stream=nb_read_frames -of csv=p=0 "$OUT/master.m3u8" | first_number)
  [ "$n" -eq "$(input_frames "$ts")" ]
  ! ls "$OUT"/*/*.tmp 2>/dev/null
}

@test "normal mode from stdin: 4 s segments, window slides, older files are deleted" {
  ts=$(make_ts t20 20)
  sigma-package -o "$OUT" --window 2 --segment-duration 2 --log-level warn <"$ts"
  [ "$(grep -c '^#EXTINF' "$OUT/v0/index.m3u8")" -eq 2 ]
  grep -qx '#EXT-X-MEDIA-SEQUENCE:8' "$OUT/v0/index.m3u8"
  [ ! -e "$OUT/v0/seg-5.m4s" ] && [ -e "$OUT/v0/seg-6.m4s" ]
  rm -rf "$OUT"
  sigma-package -i "$ts" -o "$OUT" --log-level warn
  grep -qx '#EXT-X-TARGETDURATION:4' "$OUT/v0/index.m3u8"
  [ "$(grep -c '^#EXTINF:4,$' "$OUT/v0/index.m3u8")" -eq 5 ]
  [ "$(decoded_frames "$OUT/v0")" -eq "$(input_frames "$ts")" ]
}

@test "ultra-low: parts are listed, concatenate to their segment, and every LL-HLS tag is there" {
  ts=$(make_ts t20 20)
  run sigma-package -i "$ts" -o "$OUT" --mode ultra-low --segment-duration 1 --window 0 --audio separate \
    --log-level warn
  [ "$status" -eq 0 ]
  pl=$OUT/v0/index.m3u8
  grep -qx '#EXT-X-VERSION:9' "$pl"
  grep -qx '#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=6,PART-HOLD-BACK=1.00302' "$pl"
  grep -qx '#EXT-X-PART-INF:PART-TARGET=0.33434' "$pl"
  grep -qx '#EXT-X-PART:DURATION=0.33333,URI="seg-19.0.m4s",INDEPENDENT=YES' "$pl"
  grep -qx '#EXT-X-PART:DURATION=0.33333,URI="seg-19.1.m4s"' "$pl"
  grep -q '^#EXT-X-RENDITION-REPORT:URI="../a0/index.m3u8",LAST-MSN=19,LAST-PART=' "$pl"
  grep -q '^#EXT-X-RENDITION-REPORT:URI="../v0/index.m3u8",LAST-MSN=19,LAST-PART=2$' "$OUT/a0/index.m3u8"
  # Each segment is its parts, byte for byte. Parts of segments 12 or more
  # from the end are deleted, segments are kept (EVENT playlist).
  [ ! -e "$OUT/v0/seg-7.0.m4s" ] && [ -e "$OUT/v0/seg-7.m4s" ] && [ -e "$OUT/v0/seg-8.0.m4s" ]
  for m in 8 13 19; do
    cat "$OUT"/v0/seg-$m.[0-9].m4s | cmp - "$OUT/v0/seg-$m.m4s"
    cat "$OUT"/a0/seg-$m.[0-9].m4s | cmp - "$OUT/a0/seg-$m.m4s"
  done
  # A part that starts with a keyframe decodes on its own after the init.
  cat "$OUT/v0/init.mp4" "$OUT/v0/seg-19.0.m4s" >"$BATS_TEST_TMPDIR/p.mp4"
  [ "$(count_frames "$BATS_TEST_TMPDIR/p.mp4" | first_number)" -eq 10 ]
  [ "$(decoded_frames "$OUT/v0")" -eq "$(input_frames "$ts")" ]
  ! grep -q PRELOAD-HINT "$pl"
}

@test "ultra-low muxes the audio into every video variant: one playlist and one part per step" {
  ts=$(make_ts ladder2 6 -map 0:v -map 0:v -map 1:a -filter:v:1 scale=320:180)
  run sigma-package -i "$ts" -o "$OUT" --mode ultra-low --window 0 --log-level warn
  [ "$status" -eq 0 ]
  [ ! -e "$OUT/a0" ]
  ! grep -q '^#EXT-X-MEDIA' "$OUT/master.m3u8"
  [ "$(grep -c '^#EXT-X-STREAM-INF:.*CODECS="avc1.[0-9A-F]*,mp4a.40.2"' "$OUT/master.m3u8")" -eq 2 ]
  grep -q '^#EXT-X-RENDITION-REPORT:URI="../v1/index.m3u8"' "$OUT/v0/index.m3u8"
  ! grep -q 'a0/' "$OUT/v0/index.m3u8"
  want_audio=$(ffprobe -v error -select_streams a:0 -count_packets -show_entries stream=nb_read_packets -of csv=p=0 "$ts" | first_number)
  for tr in v0 v1; do
    # Every part carries both tracks; the variant holds every frame of each.
    cat "$OUT/$tr/init.mp4" "$OUT/$tr/seg-1.1.m4s" >"$BATS_TEST_TMPDIR/p.mp4"
    [ "$(ffprobe -v error -show_entries stream=codec_type -of csv=p=0 "$BATS_TEST_TMPDIR/p.mp4" | sort | tr '\n' ' ')" = "audio video " ]
    [ "$(decoded_frames "$OUT/$tr")" -eq 180 ]
    got=$(audio_packets "$OUT/$tr")
    # Audio before the first keyframe has no video to ride with.
    [ "$got" -le "$want_audio" ] && [ "$got" -ge $((want_audio - 3)) ] || { echo "audio $got of $want_audio"; return 1; }
  done
}

@test "muxed audio stays with its video: a variant whose video stops does not pile up audio" {
  # v1 (a rung a transcoder shed, say) stops after 2 s; v0 and audio go on to 6 s.
  ts=$(make_ts stop1 6 -map 0:v -map 0:v -map 1:a -filter:v:1 trim=end=2,scale=320:180)
  run sigma-package -i "$ts" -o "$OUT" --mode ultra-low --window 0 --log-level warn
  [ "$status" -eq 0 ]
  [ "$(decoded_frames "$OUT/v1")" -eq 60 ]
  # 48 kHz AAC: 47 frames a second. v1 takes audio until it is 1 s ahead.
  v1=$(audio_packets "$OUT/v1") v0=$(audio_packets "$OUT/v0")
  [ "$v1" -ge 90 ] && [ "$v1" -le 145 ] && [ "$v0" -ge 275 ] || { echo "audio frames: v0 $v0, v1 $v1"; return 1; }
}

@test "a rung that stops and comes back: its hole is EXT-X-GAP segments, numbering stays in step" {
  # v1 has no frames from 2 s to 5 s (a shed rung) while v0 and audio go on.
  ts=$(make_ts hole1 8 -map 0:v -map 0:v -map 1:a -filter:v:1 "select='not(between(t,2,4.99))',scale=320:180" \
    -fps_mode:v:1 passthrough)
  run sigma-package -i "$ts" -o "$OUT" --mode low --window 0 --log-level warn
  [ "$status" -eq 0 ]
  [ "$(grep -c '^#EXT-X-GAP$' "$OUT/v1/index.m3u8")" -eq 3 ]
  ! grep -q GAP "$OUT/v0/index.m3u8" "$OUT/a0/index.m3u8"
  for tr in v0 v1 a0; do
    pl=$OUT/$tr/index.m3u8
    # Every variant and the audio: 8 segments of about 1 s (none stretched
    # over the hole), no discontinuity, TARGETDURATION unchanged.
    [ "$(grep -c '^#EXTINF' "$pl")" -eq 8 ] || { cat "$pl"; return 1; }
    awk -F'[:,]' '/^#EXTINF/ { if ($2 > 1.1 || $2 < 0.9) bad = 1 } END { exit bad }' "$pl" || { cat "$pl"; return 1; }
    grep -qx '#EXT-X-TARGETDURATION:1' "$pl" && ! grep -q DISCONTINUITY "$pl"
  done
  [ "$(decoded_frames "$OUT/v1")" -eq 150 ] && [ "$(decoded_frames "$OUT/v0")" -eq 240 ]
}

@test "two video streams become two variants with their own resolution" {
  ts=$(make_ts ladder2 6 -map 0:v -map 0:v -map 1:a -filter:v:1 scale=320:180)
  run sigma-package -i "$ts" -o "$OUT" --mode low --log-level warn
  [ "$status" -eq 0 ]
  [ "$(grep -c '^#EXT-X-STREAM-INF' "$OUT/master.m3u8")" -eq 2 ]
  grep -q 'RESOLUTION=640x360.*AUDIO="audio"' "$OUT/master.m3u8"
  grep -q 'RESOLUTION=320x180.*AUDIO="audio"' "$OUT/master.m3u8"
  grep -qx 'v1/index.m3u8' "$OUT/master.m3u8"
  [ "$(decoded_frames "$OUT/v1")" -eq 180 ]
}

@test "a ladder whose rungs change size together: one DISCONTINUITY in every playlist, in step" {
  # Two rungs and audio; after 4 s both rungs change size on one timeline
  # (no timestamp jump): every variant and the audio must take the same
  # discontinuity, or a player switching variants loses its place.
  a=$(make_ts ladder2 6 -map 0:v -map 0:v -map 1:a -filter:v:1 scale=320:180)
  b=$(make_ts ladder2small 4 -map 0:v -map 0:v -map 1:a -filter:v:0 scale=480:270 -filter:v:1 scale=240:136 \
    -output_ts_offset 6)
  cat "$a" "$b" >"$BATS_TEST_TMPDIR/resized.ts"
  run sigma-package -i "$BATS_TEST_TMPDIR/resized.ts" -o "$OUT" --mode low --window 0 --log-level warn
  [ "$status" -eq 0 ]
  for tr in v0 v1 a0; do
    pl=$OUT/$tr/index.m3u8
    [ "$(grep -c '^#EXT-X-DISCONTINUITY$' "$pl")" -eq 1 ] || { cat "$pl"; return 1; }
    # The discontinuity comes after the same number of segments everywhere.
    awk '/^#EXT-X-DISCONTINUITY$/ { print n; exit } /^#EXTINF/ { n++ }' "$pl" >>"$BATS_TEST_TMPDIR/at"
  done
  [ "$(sort -u "$BATS_TEST_TMPDIR/at" | wc -l)" -eq 1 ] || { cat "$BATS_TEST_TMPDIR/at"; return 1; }
  [ "$(ffprobe -v error -show_entries stream=width -of csv=p=0 "$OUT/v1/$(grep -o 'init-[0-9]*.mp4' "$OUT/v1/index.m3u8" | tail -1)")" -eq 240 ]
  [ "$(decoded_frames "$OUT/v0")" -eq 300 ] && [ "$(decoded_frames "$OUT/v1")" -eq 300 ]
}

@test "live FIFO: a break and a resume give a DISCONTINUITY, the playlist parses, SIGTERM ends it" {
  ts=$(make_ts t20 20)
  fifo=$BATS_TEST_TMPDIR/in.fifo
  mkfifo "$fifo"
  spawn "$BATS_TEST_TMPDIR/pkg.log" sigma-package -i "$fifo" -o "$OUT" --mode low --segment-duration 1 \
    --channel demo --events "$BATS_TEST_TMPDIR/events.ndjson"
  pkg=$SPAWNED_PID
  ffmpeg -nostdin -loglevel error -re -t 4 -i "$ts" -c copy -f mpegts -y "$fifo"
  sleep 0.5
  kill -0 "$pkg"
  ffmpeg -nostdin -loglevel error -re -t 4 -i "$ts" -c copy -f mpegts -y "$fifo"
  WAIT_SECS=5 wait_for grep -q '^#EXT-X-DISCONTINUITY$' "$OUT/v0/index.m3u8"
  kill -0 "$pkg"
  ! grep -q ENDLIST "$OUT/v0/index.m3u8"
  grep -q '^#EXT-X-DISCONTINUITY$' "$OUT/a0/index.m3u8"
  kill -TERM "$pkg"
  wait "$pkg"
  [ "$(tail -1 "$OUT/v0/index.m3u8")" = "#EXT-X-ENDLIST" ]
  # libavformat's HLS client reads it all, across the discontinuity; every
  # segment also decodes on its own.
  n=$(timeout 60 ffprobe -v error -select_streams v:0 -count_frames -show_entries stream=nb_read_frames -of csv=p=0 "$OUT/v0/index.m3u8" | first_number)
  [ "$n" -ge 200 ]
  [ "$(decoded_frames "$OUT/v0")" -eq "$n" ]
  ev=$BATS_TEST_TMPDIR/events.ndjson
  [ "$(jq -r 'select(.type=="stream.started") | .channel' "$ev" | sort -u)" = demo ]
  [ "$(jq -c 'select(.type=="stream.started")' "$ev" | wc -l)" -eq 2 ]
  [ "$(jq -c 'select(.type=="segment.written" and .discontinuity)' "$ev" | wc -l)" -ge 2 ]
  [ "$(jq -r 'select(.type=="stream.ended") | .final' "$ev" | tail -1)" = true ]
  segs=$(jq -r 'select(.type=="segment.written" and .track=="v0") | .path' "$ev")
  for s in $segs; do [ -s "$s" ]; done
}

@test "bad input: empty, not TS, unsupported codec, unwritable output: one line, documented status" {
  : >"$BATS_TEST_TMPDIR/empty.ts"
  run sigma-package -i "$BATS_TEST_TMPDIR/empty.ts" -o "$OUT"
  [ "$status" -eq 65 ]
  [ "${#lines[@]}" -eq 1 ] && [[ ${lines[0]} == *"is empty"* ]]

  head -c 100000 /dev/urandom >"$BATS_TEST_TMPDIR/noise.ts"
  run sigma-package -i "$BATS_TEST_TMPDIR/noise.ts" -o "$OUT"
  [ "$status" -eq 65 ]
  [ "${#lines[@]}" -eq 1 ]

  mp2=$BATS_TEST_TMPDIR/mpeg2.ts
  ffmpeg -nostdin -loglevel error -f lavfi -i testsrc2=size=320x180:rate=25:duration=1 -c:v mpeg2video -f mpegts "$mp2"
  run sigma-package -i "$mp2" -o "$OUT"
  [ "$status" -eq 65 ]
  [[ $output == *"codec mpeg2video is not supported"* ]]

  touch "$BATS_TEST_TMPDIR/afile"
  run sigma-package -i "$(make_ts t20 20)" -o "$BATS_TEST_TMPDIR/afile/out"
  [ "$status" -eq 100 ]
  [[ $output == *"output directory"* ]]

  run sigma-package -i "$BATS_TEST_TMPDIR/missing.ts" -o "$OUT"
  [ "$status" -eq 111 ]

  run sigma-package -i - -o "$OUT" --mode ultra-low --part-duration 3
  [ "$status" -eq 100 ]
}

@test "truncated and corrupted TS: packaged to the end, exit 0, every listed segment decodes" {
  ts=$(make_ts t20 20)
  head -c 1234567 "$ts" >"$BATS_TEST_TMPDIR/cut.ts"
  run sigma-package -i "$BATS_TEST_TMPDIR/cut.ts" -o "$OUT" --mode low --window 0 --log-level warn
  [ "$status" -eq 0 ]
  [ "$(tail -1 "$OUT/v0/index.m3u8")" = "#EXT-X-ENDLIST" ]
  n=$(decoded_frames "$OUT/v0")
  [ "$n" -gt 30 ] && [ "$n" -lt 600 ]

  cp "$ts" "$BATS_TEST_TMPDIR/bad.ts"
  for off in 300000 900000 1500000; do
    dd if=/dev/urandom of="$BATS_TEST_TMPDIR/bad.ts" bs=1 seek=$off count=3000 conv=notrunc status=none
  done
  rm -rf "$OUT"
  run sigma-package -i "$BATS_TEST_TMPDIR/bad.ts" -o "$OUT" --mode low --window 0 --log-level warn
  [ "$status" -eq 0 ]
  [ "$(tail -1 "$OUT/v0/index.m3u8")" = "#EXT-X-ENDLIST" ]
  [ "$(decoded_frames "$OUT/v0")" -gt 500 ]
}

@test "a looped input (ffmpeg -stream_loop): every loop join packaged, exit 0, the whole of it decodes" {
  # Where a loop joins, two AAC frames may come 1/90000 s apart: the same
  # tick of the mp4 audio track's 48 kHz timescale, which the muxer refuses.
  ts=$(make_ts t20 20)
  ffmpeg -nostdin -loglevel error -stream_loop 4 -i "$ts" -c copy -f mpegts "$BATS_TEST_TMPDIR/loop.ts"
  run sigma-package -i "$BATS_TEST_TMPDIR/loop.ts" -o "$OUT" --mode normal --window 0 --log-level warn
  [ "$status" -eq 0 ]
  [ "$(tail -1 "$OUT/v0/index.m3u8")" = "#EXT-X-ENDLIST" ]
  # 100 s at 30 fps: every frame of every loop
  n=$(decoded_frames "$OUT/v0")
  [ "$n" -ge 2990 ] && [ "$n" -le 3000 ]
}

@test "hls.js plays the ultra-low output live through sigma-origin (parts, no fatal error)" {
  command -v sigma-origin >/dev/null || skip "sigma-origin not built"
  [[ -d $BATS_TEST_DIRNAME/../../web/node_modules ]] || skip "web/node_modules missing (scripts/setup)"
  ts=$(make_ts t20 20)
  root=$BATS_TEST_TMPDIR/root
  mkdir -p "$root"
  fifo=$BATS_TEST_TMPDIR/live.fifo
  mkfifo "$fifo"
  port=$(free_port)
  spawn "$BATS_TEST_TMPDIR/pkg.log" sigma-package -i "$fifo" -o "$root/live" --mode ultra-low --segment-duration 1
  spawn "$BATS_TEST_TMPDIR/origin.log" sigma-origin --listen "127.0.0.1:$port" --root "$root"
  spawn "$BATS_TEST_TMPDIR/ffmpeg.log" ffmpeg -nostdin -loglevel error -re -t 16 -i "$ts" -c copy \
    -pes_payload_size 0 -muxdelay 0 -flush_packets 1 -f mpegts -y "$fifo"
  wait_for test -s "$root/live/master.m3u8"
  sleep 1
  run timeout 60 node "$BATS_TEST_DIRNAME/../browser/play.js" "http://127.0.0.1:$port/live/master.m3u8" 8 --low-latency
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(jq -r .errors_fatal <<<"$output")" -eq 0 ]
  [ "$(jq -r .frames_decoded <<<"$output")" -ge 120 ]
  [ "$(jq -r .parts <<<"$output")" -ge 5 ]
  [ "$(jq -r '.levels[0].height' <<<"$output")" -eq 360 ]
}

@test "live ultra-low: every preload hint names a part that is then written" {
  # Parts are published as soon as they are full, before the next frame
  # arrives, except the last of a segment: a hint must never name a part
  # that the segment then ends without.
  ts=$(make_ts t20 20)
  fifo=$BATS_TEST_TMPDIR/in.fifo
  mkfifo "$fifo"
  spawn "$BATS_TEST_TMPDIR/pkg.log" sigma-package -i "$fifo" -o "$OUT" --mode ultra-low --window 0 \
    --events "$BATS_TEST_TMPDIR/events.ndjson"
  pkg=$SPAWNED_PID
  spawn "$BATS_TEST_TMPDIR/ffmpeg.log" ffmpeg -nostdin -loglevel error -re -t 7 -i "$ts" -c copy \
    -pes_payload_size 0 -muxdelay 0 -flush_packets 1 -f mpegts -y "$fifo"
  ff=$SPAWNED_PID
  while kill -0 "$ff" 2>/dev/null; do
    for tr in v0 a0; do
      grep -h '^#EXT-X-PRELOAD-HINT' "$OUT/$tr/index.m3u8" 2>/dev/null | sed "s|^|$tr |" >>"$BATS_TEST_TMPDIR/hints" || true
    done
    sleep 0.02
  done
  kill -TERM "$pkg"
  wait "$pkg" || true
  # seg-MSN.PART.m4s hinted on a track: MSN's segment.written lists more than PART parts.
  grep -o '^[av]0 .*URI="seg-[0-9]*\.[0-9]*\.m4s"' "$BATS_TEST_TMPDIR/hints" | sort -u |
    sed 's/^\([av]0\) .*seg-\([0-9]*\)\.\([0-9]*\)\.m4s"/\1 \2 \3/' >"$BATS_TEST_TMPDIR/hinted"
  [ "$(wc -l <"$BATS_TEST_TMPDIR/hinted")" -ge 15 ]
  jq -r 'select(.type=="segment.written") | "\(.track) \(.msn) \(.parts)"' "$BATS_TEST_TMPDIR/events.ndjson" \
    >"$BATS_TEST_TMPDIR/written"
  last=$(awk '{ if ($2 > m) m = $2 } END { print m }' "$BATS_TEST_TMPDIR/written")
  awk -v last="$last" 'NR == FNR { parts[$1 " " $2] = $3; next }
    $2 > last { next }  # the segment after the last one never started
    !(($1 " " $2) in parts) || $3 >= parts[$1 " " $2] { print "hinted, never written:", $0; bad = 1 }
    END { exit bad }' "$BATS_TEST_TMPDIR/written" "$BATS_TEST_TMPDIR/hinted"
}

@test "a restart over the same directory continues the numbering after a discontinuity" {
  ts=$(make_ts t20 20)
  sigma-package -i "$ts" -o "$OUT" --mode low --window 3 --log-level warn
  sigma-package -i "$ts" -o "$OUT" --mode low --window 3 --log-level warn
  # 20 segments of 1 s each run: the second run's 20-39, the last 3 listed.
  grep -qx '#EXT-X-MEDIA-SEQUENCE:37' "$OUT/v0/index.m3u8"
  grep -qx '#EXT-X-DISCONTINUITY-SEQUENCE:1' "$OUT/v0/index.m3u8"
  grep -qx '#EXT-X-MAP:URI="init-20.mp4"' "$OUT/v0/index.m3u8"
  [ "$(decoded_frames "$OUT/v0")" -eq 90 ]
}

@test "a resolution change with a timestamp jump inside one input: new init, DISCONTINUITY, all decodes" {
  big=$(make_ts t20 20)
  small=$(make_ts small180 4 -s 320x180)
  cat "$big" "$small" >"$BATS_TEST_TMPDIR/mixed.ts"
  run sigma-package -i "$BATS_TEST_TMPDIR/mixed.ts" -o "$OUT" --mode low --window 0
  [ "$status" -eq 0 ]
  [[ $output == *"codec parameters changed"* ]]
  pl=$OUT/v0/index.m3u8
  [ "$(grep -c '^#EXT-X-DISCONTINUITY$' "$pl")" -eq 1 ]
  grep -A1 '^#EXT-X-DISCONTINUITY$' "$pl" | grep -qx '#EXT-X-MAP:URI="init-20.mp4"'
  [ "$(ffprobe -v error -show_entries stream=width -of csv=p=0 "$OUT/v0/init-20.mp4")" -eq 320 ]
  [ "$(decoded_frames "$OUT/v0")" -eq 720 ]
}

@test "SIGTERM while waiting for a FIFO writer ends at once, with or without media seen" {
  local fifo=$BATS_TEST_TMPDIR/in.fifo out=$BATS_TEST_TMPDIR/out ts
  mkfifo "$fifo"
  # No writer ever came.
  sigma-package -i "$fifo" -o "$out" --mode low 2>"$BATS_TEST_TMPDIR/err1" &
  local pid=$!
  sleep 0.5
  kill -TERM $pid
  timeout 3 tail --pid=$pid -f /dev/null || { kill -9 $pid; echo "hung on SIGTERM with no writer"; return 1; }
  wait $pid || { echo "exit $?"; cat "$BATS_TEST_TMPDIR/err1"; return 1; }
  # A writer came and went: the packager waits for the next one, and a
  # stop then ends the playlist.
  ts=$(make_ts t20 20)
  sigma-package -i "$fifo" -o "$out" --mode low 2>"$BATS_TEST_TMPDIR/err2" &
  pid=$!
  head -c 2000000 "$ts" >"$fifo"
  sleep 1
  kill -TERM $pid
  timeout 3 tail --pid=$pid -f /dev/null || { kill -9 $pid; echo "hung on SIGTERM after the writer left"; return 1; }
  wait $pid
  grep -q '^#EXT-X-ENDLIST' "$out/v0/index.m3u8"
}

@test "the FIFO removed while its writer is away (its channel deleted): the playlists end, exit 0, stream.ended says why" {
  local fifo=$BATS_TEST_TMPDIR/in.fifo out=$BATS_TEST_TMPDIR/out ts ev=$BATS_TEST_TMPDIR/events.ndjson
  mkfifo "$fifo"
  ts=$(make_ts t20 20)
  sigma-package -i "$fifo" -o "$out" --mode low --channel demo --events "$ev" 2>"$BATS_TEST_TMPDIR/err" &
  local pid=$!
  head -c 2000000 "$ts" >"$fifo"
  sleep 1
  # The supervisor takes the FIFO away as the writer has gone.
  rm "$fifo"
  timeout 5 tail --pid=$pid -f /dev/null || { kill -9 $pid; echo "went on without its FIFO"; return 1; }
  wait $pid || { echo "exit $?"; cat "$BATS_TEST_TMPDIR/err"; return 1; }
  grep -q '^#EXT-X-ENDLIST' "$out/v0/index.m3u8"
  grep -q 'removed: ending the playlists' "$BATS_TEST_TMPDIR/err"
  [ "$(jq -c 'select(.type == "stream.ended" and .final and .reason == "input removed")' "$ev" | wc -l)" -eq 1 ]
}

# live_run NAME MODE SRC...: each SRC published in turn at its own pace
# (-re) into one sigma-package writing $ROOT/NAME (an EVENT playlist); a
# later SRC restarts its timestamps, as a restarted encoder does. Spawned.
live_run() {
  local name=$1 mode=$2; shift 2
  local feed="" src
  for src in "$@"; do feed+="ffmpeg -nostdin -loglevel error -re -i '$src' -c copy -f mpegts -; "; done
  spawn "$ROOT/$name.log" bash -c "($feed) | sigma-package -o '$ROOT/$name' --mode $mode --window 0 --log-level warn"
  LIVE_PIDS+=("$SPAWNED_PID")
}

# The keyframe intervals publishers send (1, 2, 4 s; x264's defaults: up
# to 250 frames, B-frames) in every mode, watched version by version: the
# target must hold from the first playlist to the last, whatever the GOP.
@test "live, GOPs of 1, 2, 4 s and x264 defaults in every mode: one TARGETDURATION in every version, parts within 3 of it" {
  g1=$(make_ts t20 20)
  g2=$(make_ts g2-8 8 -g 60 -keyint_min 60)
  g4=$(make_ts gop4-12 12 -g 120 -keyint_min 120)
  x264=$(make_ts x264def-20 20 -g 250 -keyint_min 25 -sc_threshold 40 -bf 2)
  ROOT=$BATS_TEST_TMPDIR/live
  mkdir -p "$ROOT"
  watch_playlists "$ROOT" "$BATS_TEST_TMPDIR/seen"
  LIVE_PIDS=()
  for mode in normal low ultra-low; do
    live_run "$mode-g1" "$mode" "$g1"
    live_run "$mode-g2" "$mode" "$g2"
    live_run "$mode-g4" "$mode" "$g4"
  done
  live_run ultra-low-x264 ultra-low "$x264"
  live_run normal-x264 normal "$x264"
  # Mid-stream, the master's figures against the segments listed then.
  sleep 12
  snapshot_live "$ROOT/low-g1" "$BATS_TEST_TMPDIR/mid-low"
  snapshot_live "$ROOT/ultra-low-g1" "$BATS_TEST_TMPDIR/mid-ul"
  for p in "${LIVE_PIDS[@]}"; do wait "$p"; done
  sleep 0.2
  declare -A want=([normal-g1]=4 [normal-g2]=4 [normal-g4]=4 [low-g1]=1 [low-g2]=2 [low-g4]=4
    [ultra-low-g1]=2 [ultra-low-g2]=2 [ultra-low-g4]=4 [ultra-low-x264]=8 [normal-x264]=8)
  for name in "${!want[@]}"; do
    for tr in v0 a0; do
      [[ $name == ultra-low-* && $tr == a0 ]] && continue  # muxed into v0
      out=$(check_versions "$BATS_TEST_TMPDIR/seen/${name}_${tr}_index"/*.m3u8) || { echo "$name $tr: $out"; false; }
      [[ $out == "target=${want[$name]} "* ]] || { echo "$name $tr: $out, want target ${want[$name]}"; false; }
      [[ $name != ultra-low-* || $out != *" parts=0" ]]
      [ "$(tail -1 "$ROOT/$name/$tr/index.m3u8")" = "#EXT-X-ENDLIST" ]
    done
    check_bandwidth "$ROOT/$name"
    # The master is there as soon as every media playlist is (a player
    # joining at the start must not wait for it).
    master=$(first_seen "$BATS_TEST_TMPDIR/seen/${name}_master/00001.m3u8")
    media=$(first_seen "$BATS_TEST_TMPDIR/seen/${name}_v0_index/00001.m3u8")
    if [[ -d $BATS_TEST_TMPDIR/seen/${name}_a0_index ]]; then
      a=$(first_seen "$BATS_TEST_TMPDIR/seen/${name}_a0_index/00001.m3u8")
      media=$(python3 -c "print(max($media, $a))")
    fi
    python3 -c "import sys; sys.exit(0 if $master <= $media + 0.2 else 1)" || { echo "$name: master $master, media $media"; false; }
  done
  # Independent segments (each starts on a keyframe): nothing was cut between them.
  grep -qx '#EXT-X-INDEPENDENT-SEGMENTS' "$ROOT/ultra-low-x264/v0/index.m3u8"
  check_bandwidth "$BATS_TEST_TMPDIR/mid-low" "$ROOT/low-g1"
  check_bandwidth "$BATS_TEST_TMPDIR/mid-ul" "$ROOT/ultra-low-g1"
}

@test "live: a longer GOP after a restart, video ending before audio, mono audio: the target holds, channelcount 1" {
  g1=$(make_ts ingest-src 4)
  g4=$(make_ts gop4-12 12 -g 120 -keyint_min 120)
  vshort=$(make_ts vshort-10 10 -vf trim=end=8)
  stereo=$(make_ts stereo-8 8 -ac 2)  # make_ts's sine is mono
  ROOT=$BATS_TEST_TMPDIR/live
  mkdir -p "$ROOT"
  watch_playlists "$ROOT" "$BATS_TEST_TMPDIR/seen"
  LIVE_PIDS=()
  live_run restart ultra-low "$g1" "$g4"
  live_run vshort-low low "$vshort"
  live_run vshort-normal normal "$vshort"
  live_run stereo-normal normal "$stereo"
  for p in "${LIVE_PIDS[@]}"; do wait "$p"; done
  sleep 0.2
  # The 2 s target was fixed on the 1 s GOP; the 4 s one that follows is
  # cut between keyframes, and the playlists stop claiming independence.
  out=$(check_versions "$BATS_TEST_TMPDIR/seen/restart_v0_index"/*.m3u8) || { echo "$out"; false; }
  [[ $out == "target=2 "* ]]
  grep -qx '#EXT-X-DISCONTINUITY' "$ROOT/restart/v0/index.m3u8"
  ! grep -q 'INDEPENDENT-SEGMENTS' "$ROOT/restart/v0/index.m3u8"
  ! grep -q 'INDEPENDENT-SEGMENTS' "$ROOT/restart/master.m3u8"
  grep -q 'no keyframe within the 2 s target duration' "$ROOT/restart.log"
  # Video 8 s, audio 10 s: the audio goes on to the end, in segments of the target.
  for name in vshort-low vshort-normal; do
    for tr in v0 a0; do
      out=$(check_versions "$BATS_TEST_TMPDIR/seen/${name}_${tr}_index"/*.m3u8) || { echo "$name $tr: $out"; false; }
    done
    audio=$(awk -F'[:,]' '/^#EXTINF:/ { s += $2 } END { printf "%d", s + 0.5 }' "$ROOT/$name/a0/index.m3u8")
    [ "$audio" -eq 10 ]
  done
  grep -qx '#EXT-X-TARGETDURATION:1' "$ROOT/vshort-low/a0/index.m3u8"
  # Mono: the sample entry says 1 channel, as the master and ffprobe do;
  # also muxed into the video's init (ultra-low); stereo stays 2.
  [ "$(channel_count "$ROOT/vshort-normal/a0/init.mp4")" = 1 ]
  grep -q 'CHANNELS="1"' "$ROOT/vshort-normal/master.m3u8"
  [ "$(channel_count "$ROOT/restart/v0/init.mp4")" = 1 ]
  [ "$(ffprobe -v error -select_streams a:0 -show_entries stream=channels -of csv=p=0 "$ROOT/restart/v0/init.mp4")" = 1 ]
  [ "$(channel_count "$ROOT/stereo-normal/a0/init.mp4")" = 2 ]
  grep -q 'CHANNELS="2"' "$ROOT/stereo-normal/master.m3u8"
}

@test "one keyframe in 20 s (intra refresh, a huge keyint): a 12 s target after 12 s, segments cut between keyframes" {
  ts=$(make_ts gop-none-20 20 -g 900 -keyint_min 900)
  run sigma-package -i "$ts" -o "$OUT" --mode low --window 0 --log-level warn
  [ "$status" -eq 0 ]
  [[ $output == *"no second keyframe within 12 s"* ]]
  out=$(check_versions "$OUT/v0/index.m3u8" "$OUT/a0/index.m3u8") || { echo "$out"; false; }
  [[ $out == "target=12 "* ]]
  ! grep -q INDEPENDENT-SEGMENTS "$OUT/v0/index.m3u8"
  ! grep -q INDEPENDENT-SEGMENTS "$OUT/master.m3u8"
  # Every frame is still there, in order: the whole decodes as one.
  n=$(ffprobe -v error -select_streams v:0 -count_frames -show_entries stream=nb_read_frames -of csv=p=0 "$OUT/master.m3u8" | first_number)
  [ "$n" -eq "$(input_frames "$ts")" ]
}

@test "a restart over the same directory keeps the playlists' target duration, whatever the new GOP" {
  g1=$(make_ts t20 20)
  g2=$(make_ts g2-8 8 -g 60 -keyint_min 60)
  sigma-package -i "$g1" -o "$OUT" --mode low --window 0 --log-level warn
  cp "$OUT/v0/index.m3u8" "$BATS_TEST_TMPDIR/first.m3u8"
  # A 2 s GOP after a run that fixed 1 s: cut between keyframes, still 1.
  sigma-package -i "$g2" -o "$OUT" --mode low --window 0 --log-level warn
  out=$(check_versions "$BATS_TEST_TMPDIR/first.m3u8" "$OUT/v0/index.m3u8" "$OUT/a0/index.m3u8") || { echo "$out"; false; }
  [[ $out == "target=1 "* ]]
  grep -qx '#EXT-X-DISCONTINUITY' "$OUT/v0/index.m3u8"
  ! grep -q INDEPENDENT-SEGMENTS "$OUT/v0/index.m3u8"
}
