#!/usr/bin/env bats
# sigma-transcode: what a user checks with ffprobe and the packager.
load helpers

setup_file() {
  export SRC=$(make_ts tc-src 6)
  # Grain makes x264 spend its whole budget, so bitrates can be checked.
  export NOISY=$(make_ts tc-noisy 6 -vf noise=alls=25:allf=t)
  export SMALL=$(make_ts tc-small 4 -vf scale=480:270)
  export BIG=$(make_ts tc-720p 4 -vf scale=1280:720)
  export MP2=$SIGMA_TEST_CACHE/tc-mp2.ts
  if [[ ! -s $MP2 ]]; then
    ffmpeg -nostdin -loglevel error -y -f lavfi -i "testsrc2=size=640x360:rate=30:duration=4" \
      -f lavfi -i "sine=frequency=500:sample_rate=44100:duration=4" -c:v libx264 -preset ultrafast -g 30 \
      -pix_fmt yuv420p -c:a mp2 -f mpegts "$MP2.part" && mv "$MP2.part" "$MP2"
  fi
}

setup() {
  T=$BATS_TEST_TMPDIR
}

teardown() {
  stop_spawned
}

LADDER=640x360@800k,480x270@500k,320x180@250k

# keyframe pts of one stream, one per line
keyframes() {
  ffprobe -v error -select_streams "$2" -show_entries packet=pts,flags -of csv=p=0 "$1" | awk -F, '$2 ~ /K/ {print $1}'
}

# ffprobe lists an MPEG-TS program's streams before the streams section:
# keep the last paragraph only.
streams_only() { awk 'BEGIN { RS = "" } END { print }'; }

# "WxH" of every video stream, space separated
sizes() {
  ffprobe -v error -select_streams v -show_entries stream=width,height -of csv=p=0:s=x "$1" | streams_only | tr '\n' ' '
}

frames() {
  ffprobe -v error -select_streams "$2" -count_frames -show_entries stream=nb_read_frames -of csv=p=0 "$1" | head -1
}

# has_event FILE FILTER: some NDJSON event in FILE passes the jq FILTER
# (parsed, so neither key order nor spacing matters).
has_event() {
  jq -e -s "map($2) | length > 0" "$1" >/dev/null || { echo "no event in $1 matches: $2"; cat "$1"; return 1; }
}

# first_event FILE TYPE: the first event of that type, as JSON
first_event() { jq -c -s --arg t "$2" 'map(select(.type == $t)) | first' "$1"; }

# Fails if any stream's dts fails to increase.
dts_monotonic() {
  ffprobe -v error -show_entries packet=stream_index,dts -of csv=p=0 "$1" |
    awk -F, '$2 != "" { if (($1 in last) && $2 + 0 <= last[$1] + 0) { print "stream " $1 ": dts " $2 " after " last[$1]; bad = 1 } last[$1] = $2 } END { exit bad }'
}

@test "a three-rung ladder: one video stream per rung, largest first, plus AAC audio" {
  sigma-transcode -i "$SRC" -o "$T/out.ts" --ladder "$LADDER" --log-level warn
  [[ $(sizes "$T/out.ts") == "640x360 480x270 320x180 " ]]
  run bash -c "ffprobe -v error -select_streams a -show_entries stream=codec_name -of csv=p=0 '$T/out.ts' | awk 'BEGIN { RS = \"\" } END { print }'"
  [[ $output == aac ]] || { echo "$output"; return 1; }
  # Every rung decodes, frame for frame.
  local n=$(frames "$SRC" v:0) s
  ((n >= 170))
  for s in 0 1 2; do
    [[ $(frames "$T/out.ts" v:$s) == "$n" ]] || { echo "rung $s: $(frames "$T/out.ts" v:$s) frames, input $n"; return 1; }
  done
  run ffmpeg -v error -i "$T/out.ts" -map 0 -f null -
  [[ $status -eq 0 && -z $output ]] || { echo "$output"; return 1; }
  dts_monotonic "$T/out.ts"
}

@test "keyframes at the same timestamps on every rung, every 2 s" {
  sigma-transcode -i "$SRC" -o "$T/out.ts" --ladder "$LADDER" --log-level warn
  local k0=$(keyframes "$T/out.ts" v:0)
  [[ $(keyframes "$T/out.ts" v:1) == "$k0" ]]
  [[ $(keyframes "$T/out.ts" v:2) == "$k0" ]]
  # 6 s at a 2 s interval: keyframes at 0, 2 and 4 s from the first frame.
  [[ $(echo "$k0" | wc -l) -eq 3 ]] || { echo "$k0"; return 1; }
  echo "$k0" | awk 'NR == 1 { first = $1 } { if (($1 - first) % 180000 != 0) exit 1 }'
}

@test "ultra-low: no B-frames, 1 s keyframes, aligned" {
  sigma-transcode -i "$SRC" -o "$T/out.ts" --ladder "$LADDER" --mode ultra-low --log-level warn
  local k0=$(keyframes "$T/out.ts" v:0)
  [[ $(echo "$k0" | wc -l) -eq 6 ]] || { echo "$k0"; return 1; }
  [[ $(keyframes "$T/out.ts" v:2) == "$k0" ]]
  # Without B-frames decode order is presentation order: pts == dts.
  run bash -c "ffprobe -v error -select_streams v -show_entries packet=pts,dts -of csv=p=0 '$T/out.ts' | awk -F, '\$1 != \$2' | wc -l"
  [[ $output -eq 0 ]]
  [[ $(ffprobe -v error -select_streams v:0 -show_entries stream=has_b_frames -of csv=p=0 "$T/out.ts" | streams_only) == 0 ]]
}

@test "half frame rate on the lowest rung keeps its keyframes aligned" {
  sigma-transcode -i "$SRC" -o "$T/out.ts" --ladder "$LADDER" --half-fps-below 180 --log-level warn
  local n0=$(frames "$T/out.ts" v:0) n2=$(frames "$T/out.ts" v:2)
  ((n2 == n0 / 2 || n2 == (n0 + 1) / 2)) || { echo "full $n0, half $n2"; return 1; }
  [[ $(keyframes "$T/out.ts" v:2) == "$(keyframes "$T/out.ts" v:0)" ]]
  [[ $(ffprobe -v error -select_streams v:2 -show_entries stream=r_frame_rate -of csv=p=0 "$T/out.ts" | streams_only) == 15/1 ]]
}

@test "never upscales, keeps the aspect ratio, even sizes" {
  # A 4:3 box for a 16:9 source, a rung above the source, an odd one.
  sigma-transcode -i "$SRC" -o "$T/out.ts" --ladder 1920x1080@4000k,640x480@800k,x201@200k --log-level warn
  [[ $(sizes "$T/out.ts") == "640x360 358x202 " ]] || { sizes "$T/out.ts"; return 1; }
}

@test "with a source rung, encoded rungs take their keyframes from the input's" {
  # The input's GOP (1.5 s) is not the 1 s interval: on the fixed grid the
  # encoded rungs would cut where the source rung cannot.
  local in=$(make_ts tc-gop45 6 -g 45 -keyint_min 45)
  sigma-transcode -i "$in" -o "$T/out.ts" --ladder source,320x180@250k --mode ultra-low --log-level warn
  local k0=$(keyframes "$T/out.ts" v:0)
  [[ $(echo "$k0" | wc -l) -eq 4 ]] || { echo "$k0"; return 1; }
  [[ $(keyframes "$T/out.ts" v:1) == "$k0" ]] || { keyframes "$T/out.ts" v:1; return 1; }
}

@test "the source rung passes the input video through untouched" {
  sigma-transcode -i "$SRC" -o "$T/out.ts" --ladder source,320x180@250k --log-level warn
  [[ $(sizes "$T/out.ts") == "640x360 320x180 " ]]
  # Same packets as the input's video.
  diff <(ffprobe -v error -select_streams v:0 -show_entries packet=size -of csv=p=0 "$SRC") \
       <(ffprobe -v error -select_streams v:0 -show_entries packet=size -of csv=p=0 "$T/out.ts")
}

@test "a mid-stream resolution change keeps the output going at the rungs' sizes" {
  cat "$SRC" "$SMALL" >"$T/in.ts"
  sigma-transcode -i - --ladder "$LADDER" --events "$T/ev" --log-level warn <"$T/in.ts" >"$T/out.ts"
  local n=$(( $(frames "$SRC" v:0) + $(frames "$SMALL" v:0) ))
  for s in 0 1 2; do
    [[ $(frames "$T/out.ts" v:$s) -eq $n ]] || { echo "rung $s: $(frames "$T/out.ts" v:$s) of $n"; return 1; }
  done
  [[ $(sizes "$T/out.ts") == "640x360 480x270 320x180 " ]]
  dts_monotonic "$T/out.ts"
  has_event "$T/ev" 'select(.type == "transcode.input_changed" and .to == "480x270")'
  # The jump back to the second file's start is re-anchored, not passed on.
  has_event "$T/ev" 'select(.type == "transcode.discontinuity")'
}

# "WxH" of the last frame of one stream
last_size() {
  ffprobe -v error -select_streams "$2" -show_entries frame=width,height -of csv=p=0:s=x "$1" | tail -1
}

# pts of the frames of stream $2 that start with the first frame at or after $3
first_pts_from() {
  ffprobe -v error -select_streams "$2" -show_entries packet=pts,flags -of csv=p=0 "$1" |
    awk -F, -v t="$3" '$1 != "" && $1 >= t { print $1 "," $2; exit }'
}

@test "a resolution change down (720p to 360p): rungs refit, never upscale, restart together on a keyframe" {
  cat "$BIG" "$SRC" >"$T/in.ts"
  sigma-transcode -i "$T/in.ts" -o "$T/out.ts" --ladder 1280x720@2000k,854x480@1000k,320x180@250k \
    --events "$T/ev" --log-level warn
  # First 1280x720, 854x480, 320x180; after the change the rungs above
  # the new 640x360 source are encoded at its size, and the streams go on.
  [[ $(sizes "$T/out.ts") == "1280x720 854x480 320x180 " ]]
  [[ "$(last_size "$T/out.ts" v:0) $(last_size "$T/out.ts" v:1) $(last_size "$T/out.ts" v:2)" == \
     "640x360 640x360 320x180" ]]
  local n=$(( $(frames "$BIG" v:0) + $(frames "$SRC" v:0) )) s
  for s in 0 1 2; do
    [[ $(frames "$T/out.ts" v:$s) -eq $n ]] || { echo "rung $s: $(frames "$T/out.ts" v:$s) of $n"; return 1; }
  done
  local k0=$(keyframes "$T/out.ts" v:0)
  [[ $(keyframes "$T/out.ts" v:1) == "$k0" && $(keyframes "$T/out.ts" v:2) == "$k0" ]]
  # The first frame at the new size is a keyframe: 4 s of 720p, 2 s GOP.
  has_event "$T/ev" 'select(.type == "transcode.input_changed" and .to == "640x360")'
  local first=$(ffprobe -v error -select_streams v:0 -show_entries packet=pts -of csv=p=0 "$T/out.ts" | head -1 | cut -d, -f1)
  [[ $(first_pts_from "$T/out.ts" v:1 $((first + 4 * 90000))) == *K* ]]
  dts_monotonic "$T/out.ts"
  run ffmpeg -v error -i "$T/out.ts" -map 0 -f null -
  [[ $status -eq 0 && -z $output ]] || { echo "$output"; return 1; }
}

@test "a resolution change up (360p to 720p) through sigma-package: every variant plays on" {
  command -v sigma-package >/dev/null || skip "sigma-package not built"
  cat "$SRC" "$BIG" >"$T/in.ts"
  sigma-transcode -i "$T/in.ts" --ladder 1280x720@2000k,640x360@800k,x180@250k --mode low --events "$T/ev" \
    --log-level warn | sigma-package -i - -o "$T/pkg" --mode low --once --log-level warn
  # 1280x720 would upscale the first input: two rungs, which keep their
  # boxes when the input grows (the master playlist fixed the variants).
  has_event "$T/ev" 'select(.type == "transcode.input_changed" and .to == "1280x720")'
  local m="$T/pkg/master.m3u8" v
  [[ $(grep -c '^#EXT-X-STREAM-INF' "$m") -eq 2 ]] || { cat "$m"; return 1; }
  for v in $(grep -v '^#' "$m"); do
    local pl=$T/pkg/$v dir=$T/pkg/$(dirname "$v")
    # 10 s of 1 s segments, one timeline (the file's timestamp restart is
    # re-anchored, the rung sizes did not change, so neither did the SPS).
    [[ $(grep -c '^#EXTINF' "$pl") -ge 9 ]] || { cat "$pl"; return 1; }
    ! grep -q '^#EXT-X-DISCONTINUITY$' "$pl" || { cat "$pl"; return 1; }
    local seg
    for seg in $(grep -v '^#' "$pl"); do cat "$dir/$seg"; done | cat "$dir/init.mp4" - >"$T/check.mp4"
    run ffmpeg -v error -i "$T/check.mp4" -f null -
    [[ $status -eq 0 && -z $output ]] || { echo "$v: $output"; return 1; }
    local res=$(grep -B1 "^$v\$" "$m" | grep -o 'RESOLUTION=[0-9x]*' | cut -d= -f2)
    [[ $(last_size "$T/check.mp4" v:0) == "$res" ]] || { echo "$v: last frame $(last_size "$T/check.mp4" v:0), $res"; return 1; }
  done
}

@test "a shed rung comes back on an aligned keyframe once encoding keeps up" {
  mkfifo "$T/in.fifo"
  # --test-slow-rung makes the largest rung cost 60 ms a frame (30 fps
  # needs 33): it is shed, comes back after 1 s of keeping up, is shed again.
  spawn "$T/log" sigma-transcode -i "$T/in.fifo" -o "$T/out.ts" --ladder "$LADDER" --mode ultra-low \
    --max-lag 0.5 --recover-after 1 --test-slow-rung 60 --events "$T/ev"
  local pid=$SPAWNED_PID
  ffmpeg -nostdin -loglevel error -re -i "$SRC" -c copy -f mpegts -y "$T/in.fifo"
  WAIT_SECS=30 wait_for grep -q transcode.input_ended "$T/ev"
  kill -TERM "$pid"
  timeout 30 tail --pid="$pid" -f /dev/null
  cat "$T/ev"
  first_event "$T/ev" transcode.lagging | jq -e '.shed == "640x360@800k"'
  has_event "$T/ev" 'select(.type == "transcode.recovered" and .rung == "640x360@800k")'
  # The rung's stream has a gap, and resumes on a keyframe that every rung has.
  local resumed=$(ffprobe -v error -select_streams v:0 -show_entries packet=pts,flags -of csv=p=0 "$T/out.ts" |
    awk -F, '$1 == "" { next } n++ && $1 - last > 6000 { print $1 "," $2; exit } { last = $1 }')
  [[ $resumed == *K* ]] || { echo "resumed at: '$resumed'"; return 1; }
  keyframes "$T/out.ts" v:2 | grep -qx "${resumed%%,*}"
  (( $(frames "$T/out.ts" v:0) < $(frames "$T/out.ts" v:2) ))
  run ffmpeg -v error -i "$T/out.ts" -map 0:v:0 -f null -
  [[ $status -eq 0 && -z $output ]] || { echo "$output"; return 1; }
}

@test "a FIFO input that ends and comes back: one continuous output" {
  mkfifo "$T/in.fifo"
  spawn "$T/log" sigma-transcode -i "$T/in.fifo" -o "$T/out.ts" --ladder 480x270@500k,320x180@250k --events "$T/ev"
  local pid=$SPAWNED_PID
  cat "$SMALL" >"$T/in.fifo"
  WAIT_SECS=30 wait_for grep -q transcode.input_ended "$T/ev"
  cat "$MP2" >"$T/in.fifo"
  WAIT_SECS=30 wait_for grep -q transcode.input_resumed "$T/ev"
  WAIT_SECS=60 wait_for bash -c "(( \$(grep -c transcode.input_ended '$T/ev') >= 2 ))"
  kill -TERM "$pid"
  timeout 30 tail --pid="$pid" -f /dev/null
  local n=$(( $(frames "$SMALL" v:0) + $(frames "$MP2" v:0) ))
  [[ $(frames "$T/out.ts" v:0) -eq $n ]] || { echo "$(frames "$T/out.ts" v:0) of $n"; cat "$T/log"; return 1; }
  dts_monotonic "$T/out.ts"
  # AAC first (copied), then MP2 encoded to AAC: the audio decodes throughout.
  run ffmpeg -v error -i "$T/out.ts" -map 0:a -f null -
  [[ $status -eq 0 && -z $output ]] || { echo "$output"; return 1; }
}

@test "non-AAC audio is encoded to AAC at 48 kHz" {
  sigma-transcode -i "$MP2" -o "$T/out.ts" --ladder 320x180@250k --log-level warn
  local a=$(ffprobe -v error -select_streams a -show_entries stream=codec_name,sample_rate -of csv=p=0 "$T/out.ts" | streams_only)
  [[ $a == "aac,48000" ]] || { echo "$a"; return 1; }
  # About 4 s of audio came out.
  run ffprobe -v error -select_streams a -show_entries packet=duration_time -of csv=p=0 "$T/out.ts"
  awk '{ s += $1 } END { exit !(s > 3.8 && s < 4.3) }' <<<"$output"
}

@test "master playlist through sigma-package lists every rung with its bandwidth, resolution and codecs" {
  command -v sigma-package >/dev/null || skip "sigma-package not built"
  sigma-transcode -i "$NOISY" --ladder 640x360@900k,426x240@450k --mode low --log-level warn |
    sigma-package -i - -o "$T/pkg" --mode low --once --log-level warn
  local m="$T/pkg/master.m3u8"
  cat "$m"
  [[ $(grep -c '^#EXT-X-STREAM-INF' "$m") -eq 2 ]]
  local l1=$(grep '^#EXT-X-STREAM-INF' "$m" | sed -n 1p) l2=$(grep '^#EXT-X-STREAM-INF' "$m" | sed -n 2p)
  [[ $l1 == *RESOLUTION=640x360* && $l2 == *RESOLUTION=426x240* ]]
  [[ $l1 == *'CODECS="avc1.64'*'mp4a.40.2"'* && $l2 == *'CODECS="avc1.64'* ]]
  # BANDWIDTH is the peak segment rate: near the rung's target, under its
  # VBV peak plus audio and container overhead.
  local b1=$(grep -o 'BANDWIDTH=[0-9]*' <<<"$l1" | head -1 | cut -d= -f2)
  local b2=$(grep -o 'BANDWIDTH=[0-9]*' <<<"$l2" | head -1 | cut -d= -f2)
  ((b1 > 800000 && b1 < 1300000)) || { echo "360p BANDWIDTH $b1"; return 1; }
  ((b2 > 400000 && b2 < 700000)) || { echo "240p BANDWIDTH $b2"; return 1; }
  # Every variant playlist's segments decode.
  local v
  for v in $(grep -v '^#' "$m"); do
    local dir=$T/pkg/$(dirname "$v")
    local seg=$(grep -v '^#' "$dir/index.m3u8" | tail -1)
    cat "$dir/init.mp4" "$dir/$seg" >"$T/check.mp4"
    run ffmpeg -v error -i "$T/check.mp4" -f null -
    [[ $status -eq 0 && -z $output ]] || { echo "$v: $output"; return 1; }
  done
}

@test "a live input faster than the encoders: transcode.lagging and the largest rung is shed" {
  mkfifo "$T/in.fifo"
  spawn "$T/log" sigma-transcode -i "$T/in.fifo" -o "$T/out.ts" --ladder "$LADDER" \
    --x264-preset placebo --max-lag 0.5 --events "$T/ev"
  cat "$SRC" >"$T/in.fifo" &
  WAIT_SECS=60 wait_for has_event "$T/ev" 'select(.type == "transcode.lagging" and has("shed"))'
  first_event "$T/ev" transcode.lagging | jq -e '.shed == "640x360@800k"'
}

# x264's settings as it wrote them into the stream (its SEI), e.g. "subme=1 me=hex"
x264_settings() {
  ffmpeg -v error -i "$1" -map 0:v:0 -c copy -frames:v 1 -f h264 - | strings | grep -m1 -o 'x264 - core.*' |
    grep -o "\b$2=[^ ]*" | head -1
}

@test "x264 settings: veryfast with subme=1 by default, --x264-params and other presets as given" {
  sigma-transcode -i "$SRC" -o "$T/a.ts" --ladder 320x180@250k --log-level warn
  [[ $(x264_settings "$T/a.ts" subme) == subme=1 && $(x264_settings "$T/a.ts" me) == me=hex ]]
  sigma-transcode -i "$SRC" -o "$T/b.ts" --ladder 320x180@250k --x264-params subme=2:me=dia --log-level warn
  [[ $(x264_settings "$T/b.ts" subme) == subme=2 && $(x264_settings "$T/b.ts" me) == me=dia ]]
  sigma-transcode -i "$SRC" -o "$T/c.ts" --ladder 320x180@250k --x264-preset faster --log-level warn
  [[ $(x264_settings "$T/c.ts" subme) == subme=4 ]]
  # Keyframes stay Sigma's whatever the user passes.
  run sigma-transcode -i "$SRC" -o /dev/null --ladder 320x180@250k --x264-params subme=2:keyint=30
  [[ $status -eq 100 && $output == *"keyint is Sigma's to set"* ]]
}

@test "bad usage and bad media give the documented exit status" {
  run sigma-transcode -i "$SRC" -o /dev/null --ladder 640x360
  [[ $status -eq 100 && $output == *"expected WxH@BITRATE"* ]]
  run sigma-transcode -i "$SRC" -o /dev/null --ladder 640x360@3000k:foo=1
  [[ $status -eq 100 && $output == *"unknown option"* ]]
  run sigma-transcode -i "$SRC" -o /dev/null --mode fast
  [[ $status -eq 100 ]]
  run sigma-transcode -i "$SRC" -o /dev/null --keyframe-interval 4 --segment-duration 6
  [[ $status -eq 100 && $output == *"does not divide"* ]]
  run sigma-transcode -i "$T/missing.ts" -o /dev/null
  [[ $status -eq 100 && $output == *"missing.ts"* ]]
  head -c 100000 /dev/urandom >"$T/junk.ts"
  run sigma-transcode -i "$T/junk.ts" -o /dev/null
  [[ $status -eq 65 ]] || { echo "status $status: $output"; return 1; }
  # Exactly one line to the user, not a cascade.
  [[ $(grep -c 'error' <<<"$output") -le 2 ]]
}
