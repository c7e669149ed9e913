#!/usr/bin/env bats
# sigma-dvr export over a real archive: a live low-mode channel (sigma-package
# --keep, 2 s GOP, H.264 + AAC) with a publisher break in it, indexed by
# sigma-dvr run; ranges exported to MP4 are checked the way a user would:
# box order, duration, every frame decodes, audio as long as video, and a
# browser plays the file to its end.
load helpers

# Channels for the whole file (they take real time to make, so they are
# made side by side): demo, 24 s from a first publisher, a 1 s break, 10 s
# from a second one; bf, 16 s of B-frames with 1 s GOPs in normal mode's
# 4 s segments; ul, 20 s of ultra-low with the audio muxed in the variant.
setup_file() {
  export ROOT=$BATS_FILE_TMPDIR/root
  export CH=$ROOT/demo
  export EV=$BATS_FILE_TMPDIR/events.ndjson
  local ts bf ul fifo pkg others
  ts=$(make_ts dvr-g2-24 24 -g 60 -keyint_min 60)
  bf=$(make_ts dvr-bf-16 16 -bf 2)
  ul=$(make_ts t20 20)
  ffmpeg -nostdin -loglevel error -re -i "$bf" -c copy -f mpegts - |
    sigma-package -o "$ROOT/bf" --mode normal --window 3 --keep --events "$BATS_FILE_TMPDIR/bf.ndjson" \
      --log-level warn 2>"$BATS_FILE_TMPDIR/bf.log" &
  others=$!
  ffmpeg -nostdin -loglevel error -re -i "$ul" -c copy -f mpegts - |
    sigma-package -o "$ROOT/ul" --mode ultra-low --segment-duration 1 --window 3 --keep \
      --events "$BATS_FILE_TMPDIR/ul.ndjson" --log-level warn 2>"$BATS_FILE_TMPDIR/ul.log" &
  others="$others $!"
  fifo=$BATS_FILE_TMPDIR/in.fifo
  mkfifo "$fifo"
  sigma-package -i "$fifo" -o "$CH" --mode low --segment-duration 1 --window 3 --keep --channel demo \
    --events "$EV" --log-level warn 2>"$BATS_FILE_TMPDIR/pkg.log" &
  pkg=$!
  ffmpeg -nostdin -loglevel error -re -i "$ts" -c copy -f mpegts -y "$fifo"
  sleep 1
  ffmpeg -nostdin -loglevel error -re -t 10 -i "$ts" -c copy -f mpegts -y "$fifo"
  kill -TERM "$pkg"
  wait "$pkg"
  # shellcheck disable=SC2086
  wait $others
  index_channel "$CH" "$EV"
  index_channel "$ROOT/bf" "$BATS_FILE_TMPDIR/bf.ndjson"
  index_channel "$ROOT/ul" "$BATS_FILE_TMPDIR/ul.ndjson"
}

setup() {
  SIGMA_PIDS=()
  T=$BATS_TEST_TMPDIR
}

teardown() {
  stop_spawned
}

# Program date times (Unix ms) of the video segments from the events.
first_pdt() { jq -r 'select(.type == "segment.written" and .track == "v0") | .pdt_ms' "$EV" | head -1; }
# The first segment after the break.
break_pdt() { jq -r 'select(.type == "segment.written" and .track == "v0" and .discontinuity) | .pdt_ms' "$EV" | head -1; }
# The end of the segment before it.
before_break_end() {
  jq -rs '[.[] | select(.type == "segment.written" and .track == "v0")] as $s |
    ($s | map(.discontinuity) | index(true)) as $i | $s[$i - 1] | .pdt_ms + (.duration * 1000 | round)' "$EV"
}

# Top-level box types of an MP4, in order.
top_boxes() {
  python3 - "$1" <<'PY'
import struct, sys
f = open(sys.argv[1], 'rb'); size = f.seek(0, 2); at = 0; out = []
while at + 8 <= size:
    f.seek(at); h = f.read(16); n, = struct.unpack('>I', h[:4])
    if n == 1: n, = struct.unpack('>Q', h[8:16])
    out.append(h[4:8].decode()); at += n
print(' '.join(out))
PY
}

duration_of() { ffprobe -v error -show_entries format=duration -of csv=p=0 "$1"; }
stream_duration() { ffprobe -v error -select_streams "$2" -show_entries stream=duration -of csv=p=0 "$1"; }
packets() { ffprobe -v error -select_streams "$2" -show_entries stream=nb_frames -of csv=p=0 "$1"; }
within() { awk -v a="$1" -v b="$2" -v d="$3" 'BEGIN { exit !((a - b) <= d && (b - a) <= d) }'; }

# Everything a user checks on an export of about SECONDS (GOP of 2 s).
check_clip() {
  local clip=$1 secs=$2 d frames errs
  [ "$(top_boxes "$clip")" = "ftyp moov mdat" ]
  d=$(duration_of "$clip")
  echo "duration $d, asked $secs"
  within "$d" "$secs" 2
  errs=$(ffmpeg -nostdin -v error -i "$clip" -f null - 2>&1)
  [ -z "$errs" ] || { echo "decode errors: $errs"; return 1; }
  frames=$(count_frames "$clip")
  echo "frames decoded $frames, in the file $(packets "$clip" v:0)"
  [ "$frames" -eq "$(packets "$clip" v:0)" ]
  within "$frames" "$(awk -v d="$d" 'BEGIN { print d * 30 }')" 60
  echo "video $(stream_duration "$clip" v:0) s, audio $(stream_duration "$clip" a:0) s"
  within "$(stream_duration "$clip" v:0)" "$(stream_duration "$clip" a:0)" 0.1
  [ "$(ffprobe -v error -show_entries stream=codec_name -of csv=p=0 "$clip" | tr '\n' ' ')" = "h264 aac " ]
}

@test "a 20 s range: moov before mdat, within a GOP of 20 s, every frame decodes, audio as long as video" {
  from=$(($(first_pdt) / 1000 + 3))
  run sigma-dvr export "$CH" --from "$from" --duration 20 -o "$T/clip.mp4"
  echo "$output"
  [ "$status" -eq 0 ]
  check_clip "$T/clip.mp4" 20
  # Cut at the keyframe at or before FROM: it starts on a keyframe, at 0.
  [[ $(ffprobe -v error -select_streams v:0 -show_entries packet=pts_time,flags -of csv=p=0 "$T/clip.mp4" | head -1) == 0.000000,K* ]]
  # No temporary file left beside it.
  [ "$(ls "$T")" = clip.mp4 ]
}

@test "a range with the publisher's break inside still exports and decodes, the break closed up" {
  a=$(before_break_end) b=$(break_pdt)
  [ -n "$b" ] && ((b > a))
  from=$(((a - 6000) / 1000)) to=$(((b + 6000) / 1000 + 1))
  run sigma-dvr export "$CH" --from "$from" --to "$to" -o "$T/break.mp4"
  echo "$output"
  [ "$status" -eq 0 ]
  # The media of the range, not its wall-clock span: the outage is not in the file.
  media=$(awk -v a="$a" -v b="$b" -v f="$from" -v t="$to" 'BEGIN { print (a - f * 1000 + t * 1000 - b) / 1000 }')
  check_clip "$T/break.mp4" "$media"
}

# play_to_end URL FILE: Chromium plays URL (FILE's copy) to its end, every frame decoded.
play_to_end() {
  local want json
  want=$(packets "$2" v:0)
  run node "$BATS_TEST_DIRNAME/../browser/mp4.js" "$1" 60 --rate 4
  echo "$output"
  [ "$status" -eq 0 ]
  json=${lines[-1]}
  [ "$(jq .ended <<<"$json")" = true ] && [ "$(jq .error <<<"$json")" = null ]
  within "$(jq .current_time <<<"$json")" "$(duration_of "$2")" 0.1
  [ "$(jq .height <<<"$json")" -eq 360 ]
  # Every frame went through the decoder (dropped ones too: 4x speed).
  [ "$(jq .frames_decoded <<<"$json")" -ge $((want - 2)) ]
}

@test "the exports play to their end in Chromium from a plain <video src>, through sigma-origin" {
  mkdir -p "$ROOT/clips"
  sigma-dvr export "$CH" --from "$(($(first_pdt) / 1000 + 2))" --duration 20 -o "$ROOT/clips/clip.mp4"
  # And one across the publisher's break, closed up.
  a=$(before_break_end) b=$(break_pdt)
  sigma-dvr export "$CH" --from "$(((a - 5000) / 1000))" --to "$(((b + 5000) / 1000))" -o "$ROOT/clips/break.mp4"
  start_origin
  play_to_end "$BASE/clips/clip.mp4" "$ROOT/clips/clip.mp4"
  play_to_end "$BASE/clips/break.mp4" "$ROOT/clips/break.mp4"
  jq -r '.path + " " + (.status | tostring)' "$T/access.log" | grep -q '^/clips/clip.mp4 20[06]$'
  rm -rf "$ROOT/clips"
}

@test "B-frames and 1 s GOPs in 4 s segments: cut at the keyframe inside the segment, in sync" {
  local dir=$ROOT/bf ev=$BATS_FILE_TMPDIR/bf.ndjson
  s=$(jq -r 'select(.type == "segment.written" and .track == "v0") | .pdt_ms' "$ev" | head -1)
  # FROM between 5.2 and 6.2 s in: the keyframe at 5 or 6 s, inside the
  # second 4 s segment (a cut at the segment's start, 4 s, would give 9.2 s
  # or more).
  from=$(((s + 5200 + 999) / 1000))
  run sigma-dvr export "$dir" --from "$from" --duration 8 -o "$T/bf.mp4"
  echo "$output"
  [ "$status" -eq 0 ]
  check_clip "$T/bf.mp4" 8
  d=$(stream_duration "$T/bf.mp4" v:0)
  awk -v d="$d" 'BEGIN { exit !(d >= 7.95 && d < 9.05) }'
  # Presentation starts at 0 (an edit list over the B-frames' delay).
  [ "$(ffprobe -v error -select_streams v:0 -show_entries stream=start_time -of csv=p=0 "$T/bf.mp4")" = "0.000000" ]
}

@test "ultra-low with the audio muxed in the variant: parts read, both tracks exported" {
  local dir=$ROOT/ul ev=$BATS_FILE_TMPDIR/ul.ndjson
  ! grep -q 'TYPE=AUDIO' "$dir/master.m3u8"
  s=$(jq -r 'select(.type == "segment.written" and .track == "v0") | .pdt_ms' "$ev" | head -1)
  run sigma-dvr export "$dir" --from "$(((s + 999) / 1000 + 2))" --duration 12 -o "$T/ul.mp4"
  echo "$output"
  [ "$status" -eq 0 ]
  check_clip "$T/ul.mp4" 12
}

@test "nothing archived in the range: a data error, no file; an unknown variant: a usage error" {
  run sigma-dvr export "$CH" --from 1000000000 --duration 60 -o "$T/none.mp4"
  echo "$output"
  [ "$status" -eq 65 ]
  [[ $output == *"nothing archived between"* ]]
  [ ! -e "$T/none.mp4" ]
  run sigma-dvr export "$CH" --from "$(($(first_pdt) / 1000 + 2))" --duration 10 --variant v9 -o "$T/none.mp4"
  echo "$output"
  [ "$status" -eq 100 ]
  [[ $output == *"unknown variant v9"* ]]
  [ ! -e "$T/none.mp4" ]
}
