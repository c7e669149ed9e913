#!/usr/bin/env bats
# sigma-ingest --hls / --hls-channel: RTMP publishers packaged in-process
# (no MPEG-TS, no FIFO, no sigma-package). ffmpeg publishes on 127.0.0.1;
# the playlists must parse, the segments decode with the frame count sent,
# and sigma-origin must serve them as it serves sigma-package's.
load helpers
load hls_rules

setup() {
  SIGMA_PIDS=()
  T=$(mktemp -d)
  SRC=$(make_ts ingest-src 4)                            # 120 frames, 640x360
  SRC_SMALL=$(make_ts ingest-small 3 -vf scale=320:240)  # 90 frames, 320x240
  ROOT=$T/hls
}

teardown() {
  stop_spawned
  rm -rf "$T"
}

first_number() { grep -o '[0-9]\+' | head -1; }
frames() { count_frames "$1" | first_number; }
audio_frames() {
  ffprobe -v error -select_streams a:0 -count_frames -show_entries stream=nb_read_frames -of csv=p=0 "$1" | first_number
}

# start_ingest ARGS...: RTMP on $RTMP_PORT, open keys, events in $T/events.
start_ingest() {
  RTMP_PORT=$(free_port)
  spawn "$T/ingest.log" sigma-ingest --rtmp "127.0.0.1:$RTMP_PORT" --open --events "$T/events" \
    --status-file "$T/status.json" "$@"
  INGEST_PID=$SPAWNED_PID
  wait_for bash -c "exec 3<>/dev/tcp/127.0.0.1/$RTMP_PORT" || { cat "$T/ingest.log"; return 1; }
}

@test "usage errors exit 100 and name the option" {
  run sigma-ingest --rtmp "127.0.0.1:$(free_port)" --open --hls "$T/fixed"
  [ "$status" -eq 100 ]
  [[ $output == *"{channel}"* ]]
  run sigma-ingest --rtmp "127.0.0.1:$(free_port)" --open --hls "$T/{channel}" --output "$T/{channel}.ts"
  [ "$status" -eq 100 ]
  run sigma-ingest --rtmp "127.0.0.1:$(free_port)" --open --hls-channel "demo=$T/d,mode=fast"
  [ "$status" -eq 100 ]
  [[ $output == *"--hls-channel"* && $output == *"--mode must be"* ]]
  run sigma-ingest --rtmp "127.0.0.1:$(free_port)" --open --hls "$T/{channel}" --mode ultra-low --part-duration 5
  [ "$status" -eq 100 ]
  run sigma-ingest --open -i "$SRC" --channel demo --hls "$T/{channel}"
  [ "$status" -eq 100 ]
  [[ $output == *"-i inputs"* ]]
}

@test "RTMP into --hls: playlists parse, every frame decodes, events match, the recording too" {
  start_ingest --hls "$ROOT/{channel}" --record "$T/rec"
  publish demo
  wait_for grep -q stream.ended "$T/events"
  stop_ingest
  D=$ROOT/demo
  grep -q '^#EXT-X-STREAM-INF:.*RESOLUTION=640x360' "$D/master.m3u8"
  grep -qx 'v0/index.m3u8' "$D/master.m3u8"
  grep -qx '#EXT-X-MAP:URI="init.mp4"' "$D/v0/index.m3u8"
  grep -qx '#EXT-X-ENDLIST' "$D/v0/index.m3u8"
  grep -qx '#EXT-X-TARGETDURATION:4' "$D/v0/index.m3u8"   # normal mode
  ! grep -q DISCONTINUITY "$D/v0/index.m3u8"
  ! ls "$ROOT"/demo/*/*.tmp 2>/dev/null
  [ "$(frames "$D/v0/index.m3u8")" -eq 120 ]
  # 4 s of 48 kHz AAC: 188 frames (ffmpeg's priming included)
  [ "$(audio_frames "$D/a0/index.m3u8")" -eq "$(audio_frames "$SRC")" ]
  ffprobe -v error -show_entries stream=codec_name -of csv=p=0 "$D/v0/init.mp4" | grep -qx h264
  # segment.written: one per listed segment, the frames add up
  [ "$(grep '"type":"segment.written"' "$T/events" | jq -s 'map(select(.track == "v0") | .frames) | add')" -eq 120 ]
  [ "$(grep '"type":"segment.written"' "$T/events" | jq -s 'map(select(.track == "v0")) | length')" -eq \
    "$(grep -c '^#EXTINF' "$D/v0/index.m3u8")" ]
  grep '"type":"stream.started"' "$T/events" | jq -e --arg d "$D" '.channel == "demo" and .output == $d and .mode == "normal"'
  jq -e --arg d "$D" '.channels[0].hls.dir == $d and .channels[0].hls.segments >= 2 and (.channels[0] | has("output") | not)' "$T/status.json"
  # --record keeps the source as MPEG-TS even though no TS output exists
  [ "$(frames "$(ls "$T"/rec/demo-*.ts)")" -eq 120 ]
}

@test "publish, drop, republish: one playlist, one DISCONTINUITY, every frame of both sessions" {
  start_ingest --hls "$ROOT/{channel}" --mode low
  publish demo
  wait_for grep -q stream.ended "$T/events"
  publish demo
  wait_for bash -c "[ \$(grep -c stream.ended '$T/events') -eq 2 ]"
  stop_ingest
  pl=$ROOT/demo/v0/index.m3u8
  [ "$(grep -c '^#EXT-X-DISCONTINUITY$' "$pl")" -eq 1 ]
  [ "$(grep -c '^#EXT-X-DISCONTINUITY$' "$ROOT/demo/a0/index.m3u8")" -eq 1 ]
  grep -qx '#EXT-X-ENDLIST' "$pl"
  grep -qx '#EXT-X-TARGETDURATION:1' "$pl"
  # low mode keeps 10 segments: list them all for the count
  [ "$(grep '"type":"segment.written"' "$T/events" | jq -s 'map(select(.track == "v0") | .frames) | add')" -eq 240 ]
  [ "$(grep '"type":"segment.written"' "$T/events" | jq -s 'map(select(.track == "v0" and .discontinuity)) | length')" -eq 1 ]
  # what is still listed decodes across the discontinuity
  listed=$(grep -c '^#EXTINF' "$pl")
  [ "$(frames "$pl")" -eq $((listed * 30)) ]
}

@test "two channels at once stay separate; --hls-channel settings apply to their channel only" {
  start_ingest --hls "$ROOT/{channel}" --hls-channel "small=$T/own/small,mode=low,window=0"
  publish big &
  pub=$!
  publish small "$SRC_SMALL"
  wait $pub
  wait_for bash -c "[ \$(grep -c stream.ended '$T/events') -eq 2 ]"
  stop_ingest
  [ "$(frames "$ROOT/big/v0/index.m3u8")" -eq 120 ]
  [ "$(frames "$T/own/small/v0/index.m3u8")" -eq 90 ]
  [ "$(ffprobe -v error -show_entries stream=width -of csv=p=0 "$ROOT/big/v0/init.mp4")" -eq 640 ]
  [ "$(ffprobe -v error -show_entries stream=width -of csv=p=0 "$T/own/small/v0/init.mp4")" -eq 320 ]
  grep -qx '#EXT-X-TARGETDURATION:4' "$ROOT/big/v0/index.m3u8"
  grep -qx '#EXT-X-TARGETDURATION:1' "$T/own/small/v0/index.m3u8"
  grep -qx '#EXT-X-PLAYLIST-TYPE:EVENT' "$T/own/small/v0/index.m3u8"   # window=0
  [ ! -e "$ROOT/small" ]
  [ "$(grep '"type":"segment.written"' "$T/events" | jq -s 'map(select(.channel == "small" and .track == "v0") | .frames) | add')" -eq 90 ]
}

@test "ultra-low: parts and preload hints that sigma-origin serves while the publisher is live" {
  start_ingest --hls "$ROOT/{channel}" --mode ultra-low
  mkdir -p "$ROOT"
  start_origin
  spawn "$T/pub.log" ffmpeg -nostdin -loglevel error -re -stream_loop -1 -i "$SRC" -c copy -f flv \
    "rtmp://127.0.0.1:$RTMP_PORT/live/live1"
  WAIT_SECS=20 wait_for grep -q '^#EXT-X-PRELOAD-HINT' "$ROOT/live1/v0/index.m3u8"
  pl=$(curl -sf "$BASE/live1/v0/index.m3u8")
  [[ $pl == *"#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES"* ]]
  [[ $pl == *"#EXT-X-PART-INF:PART-TARGET="* ]]
  part=$(grep '^#EXT-X-PART:.*INDEPENDENT=YES' <<<"$pl" | tail -1 | grep -o 'URI="[^"]*"' | cut -d'"' -f2)
  hint=$(grep '^#EXT-X-PRELOAD-HINT' <<<"$pl" | grep -o 'URI="[^"]*"' | cut -d'"' -f2)
  [ -n "$part" ] && [ -n "$hint" ]
  curl -sf -o "$T/part.m4s" "$BASE/live1/v0/$part"
  [ -s "$T/part.m4s" ]
  # The hinted part is fetched before it exists: the origin holds the
  # request until the ingest renames it into place.
  code=$(curl -s -o "$T/hint.m4s" -w '%{http_code}' --max-time 5 "$BASE/live1/v0/$hint")
  [ "$code" = 200 ] && [ -s "$T/hint.m4s" ]
  # An independent part decodes after the init segment.
  cat "$ROOT/live1/v0/init.mp4" "$T/part.m4s" >"$T/p.mp4"
  [ "$(frames "$T/p.mp4")" -ge 1 ]
  # RTMP timestamps are whole milliseconds, so ten 30 fps frames last 333
  # or 334 ms: parts are still ten frames (not nine), within PART-TARGET,
  # and every third starts on a 1 s keyframe, where a player joins.
  WAIT_SECS=20 wait_for bash -c "grep -A1 '^#EXT-X-PART' '$ROOT/live1/v0/index.m3u8' | grep -q '^#EXTINF'"
  python3 - "$ROOT/live1/v0/index.m3u8" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
target = float(re.search(r"PART-TARGET=([\d.]+)", text).group(1))
parts, segments = [], 0
for line in text.splitlines():
    if line.startswith("#EXT-X-PART:"):
        parts.append((float(re.search(r"DURATION=([\d.]+)", line).group(1)), "INDEPENDENT=YES" in line))
    elif line.startswith("#EXTINF") and parts:
        for i, (d, independent) in enumerate(parts):
            assert d <= target, f"part {i} lasts {d} s, over PART-TARGET {target}"
            assert i == len(parts) - 1 or abs(d - 1 / 3) < 0.0015, f"part {i} lasts {d} s, not ten frames"
            assert independent == (i % 3 == 0), f"part {i}: INDEPENDENT={independent}"
        segments += 1
        parts = []
assert segments >= 1, "no complete segment with parts"
PY
}

@test "an SRT publisher on an in-process channel is refused with a reason" {
  SRT_PORT=$(free_udp_port)
  start_ingest --srt "127.0.0.1:$SRT_PORT" --hls-channel "demo=$ROOT/demo" --output "$T/{channel}.ts"
  timeout 10 ffmpeg -nostdin -loglevel error -re -i "$SRC" -t 1 -c copy -f mpegts \
    "srt://127.0.0.1:$SRT_PORT?streamid=demo&pkt_size=1316" || true
  wait_for grep -q publish.rejected "$T/events"
  grep '"type":"publish.rejected"' "$T/events" | jq -e '.protocol == "srt" and (.reason | contains("RTMP publishers only"))'
}

# wait_events N TYPE [JQ_FILTER]: until the events file holds at least N of them.
wait_events() { WAIT_SECS=20 wait_for events_at_least "$2" "$1" "${3:-}"; }
beta_frames_are() {
  [ "$(jq -s 'map(select(.type == "segment.written" and .channel == "beta" and .track == "v0") | .frames) | add' "$T/events")" = "$1" ]
}
# loop_publish KEY: ffmpeg publishing $SRC in real time, forever (sets $SPAWNED_PID).
loop_publish() {
  spawn "$T/pub-$1.log" ffmpeg -nostdin -loglevel error -re -stream_loop -1 -i "$SRC" -c copy -f flv \
    "rtmp://127.0.0.1:$RTMP_PORT/live/$1"
}
# reload_ingest TYPE: SIGHUP, then wait for the config.reloaded/config.rejected event.
reload_ingest() {
  local n; n=$(count_events "$1")
  kill -HUP "$INGEST_PID"
  wait_events $((n + 1)) "$1"
}

@test "--channels + SIGHUP: a channel is added and removed while another publishes on, untouched" {
  echo "alpha=$ROOT/alpha,mode=low" >"$T/channels"
  start_ingest --channels "$T/channels"
  loop_publish alpha
  A=$SPAWNED_PID
  pl=$ROOT/alpha/v0/index.m3u8
  wait_for grep -q '^#EXTINF' "$pl"
  printf '%s\n' "alpha=$ROOT/alpha,mode=low" "# added" "beta=$ROOT/beta,mode=low,window=0" >"$T/channels"
  reload_ingest config.reloaded
  publish beta "$SRC_SMALL"
  wait_events 1 stream.ended '.channel == "beta"'
  # (beta's playlist is live: count what was packaged rather than play it)
  wait_for beta_frames_are 90
  # removed while live: beta's publisher is disconnected, its playlists end
  loop_publish beta
  B=$SPAWNED_PID
  wait_events 2 stream.started '.channel == "beta"'
  echo "alpha=$ROOT/alpha,mode=low" >"$T/channels"
  reload_ingest config.reloaded
  wait_for bash -c "! kill -0 $B"
  [ "$(count_events stream.ended '.channel == "beta"')" -eq 2 ]
  jq -s -e 'map(select(.type == "stream.ended" and .channel == "beta"))[1].reason == "channel reconfigured"' "$T/events"
  wait_for grep -qx '#EXT-X-ENDLIST' "$ROOT/beta/v0/index.m3u8"
  # a broken file changes nothing
  echo "alpha=$ROOT/alpha,mode=warp" >"$T/channels"
  reload_ingest config.rejected
  grep -q 'reload refused.*mode' "$T/ingest.log"
  # alpha never noticed: one session, no discontinuity, still growing
  before=$(grep -c '^#EXTINF' "$pl")
  seq0=$(grep -o 'MEDIA-SEQUENCE:[0-9]*' "$pl" | cut -d: -f2)
  sleep 3
  kill -0 "$A"
  [ "$(count_events stream.started '.channel == "alpha"')" -eq 1 ]
  [ "$(count_events stream.ended '.channel == "alpha"')" -eq 0 ]
  [ "$(grep -c DISCONTINUITY "$pl")" -eq 0 ]
  seq1=$(grep -o 'MEDIA-SEQUENCE:[0-9]*' "$pl" | cut -d: -f2)
  [ $((seq1 + $(grep -c '^#EXTINF' "$pl"))) -gt $((seq0 + before)) ]
  ! grep -qx '#EXT-X-ENDLIST' "$pl"
}

# RTMP publishers as they come (GOPs of 2 and 4 s, x264's defaults with
# B-frames, a reconnect with a longer GOP, video ending 2 s before the
# audio, mono and stereo), several channels in one ingest at once, every
# playlist version watched: the target holds in each, EXTINF within it,
# CAN-SKIP-UNTIL six times it, parts within three of it from the end.
@test "RTMP publishers of every GOP, B-frames, a reconnect, video ending first: the RFC's target and part rules hold" {
  g1=$SRC
  g2=$(make_ts g2-8 8 -g 60 -keyint_min 60)
  g4=$(make_ts gop4-12 12 -g 120 -keyint_min 120)
  x264=$(make_ts x264def-20 20 -g 250 -keyint_min 25 -sc_threshold 40 -bf 2)
  vshort=$(make_ts vshort-10 10 -vf trim=end=8)
  stereo=$(make_ts stereo-8 8 -ac 2)
  mkdir -p "$ROOT"
  watch_playlists "$ROOT" "$T/seen"
  start_ingest --hls "$ROOT/{channel}" --mode ultra-low \
    --hls-channel "vshort=$ROOT/vshort,mode=low,window=0" --hls-channel "stereo=$ROOT/stereo,mode=normal,window=0" \
    --hls-channel "g2=$ROOT/g2,mode=ultra-low,window=0" --hls-channel "g4=$ROOT/g4,mode=ultra-low,window=0" \
    --hls-channel "x264=$ROOT/x264,mode=ultra-low,window=0" --hls-channel "again=$ROOT/again,mode=ultra-low,window=0"
  pids=()
  publish g2 "$g2" -re & pids+=($!)
  publish g4 "$g4" -re & pids+=($!)
  publish x264 "$x264" -re & pids+=($!)
  publish vshort "$vshort" -re & pids+=($!)
  publish stereo "$stereo" -re & pids+=($!)
  (publish again "$g1" -re && sleep 0.5 && publish again "$g4" -re) & pids+=($!)
  for p in "${pids[@]}"; do wait "$p"; done
  WAIT_SECS=20 wait_for bash -c "[ \$(grep -c stream.ended '$T/events') -ge 7 ]"
  stop_ingest
  sleep 0.2
  declare -A want=([g2]=2 [g4]=4 [x264]=8 [again]=2 [vshort]=1 [stereo]=4)
  for ch in "${!want[@]}"; do
    for tr in v0 a0; do
      [[ -d $T/seen/${ch}_${tr}_index ]] || continue
      out=$(check_versions "$T/seen/${ch}_${tr}_index"/*.m3u8) || { echo "$ch $tr: $out"; false; }
      [[ $out == "target=${want[$ch]} "* ]] || { echo "$ch $tr: $out, want target ${want[$ch]}"; false; }
    done
    [ -d "$T/seen/${ch}_v0_index" ]
    check_bandwidth "$ROOT/$ch"
  done
  [ -d "$T/seen/vshort_a0_index" ] && [ -d "$T/seen/stereo_a0_index" ]
  # x264's 8.3 s GOP: a fixed 8 s target from its first interval, and the
  # warning names the channel.
  grep -q 'channel x264: keyframe interval 8.333 s' "$T/ingest.log"
  grep -qx '#EXT-X-INDEPENDENT-SEGMENTS' "$ROOT/x264/v0/index.m3u8"
  # The reconnect with a 4 s GOP keeps the 2 s target: cut between keyframes.
  grep -qx '#EXT-X-DISCONTINUITY' "$ROOT/again/v0/index.m3u8"
  ! grep -q 'INDEPENDENT-SEGMENTS' "$ROOT/again/v0/index.m3u8"
  # Audio 2 s past the video, in 1 s segments to the end.
  audio=$(awk -F'[:,]' '/^#EXTINF:/ { s += $2 } END { printf "%d", s + 0.5 }' "$ROOT/vshort/a0/index.m3u8")
  [ "$audio" -ge 9 ]
  # FLV's AAC: channelcount from the AudioSpecificConfig, 1 and 2.
  [ "$(channel_count "$ROOT/vshort/a0/init.mp4")" = 1 ]
  grep -q 'CHANNELS="1"' "$ROOT/vshort/master.m3u8"
  [ "$(channel_count "$ROOT/g2/v0/init.mp4")" = 1 ]
  [ "$(channel_count "$ROOT/stereo/a0/init.mp4")" = 2 ]
  grep -q 'CHANNELS="2"' "$ROOT/stereo/master.m3u8"
}
