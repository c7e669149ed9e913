#!/usr/bin/env bats
# sigma-test: first (a long file: started before the others, scripts/test)
# Players we did not write, on live channels: Shaka Player in headless
# Chromium (tests/browser/shaka.js), ffmpeg's HLS demuxer and GStreamer's
# (hlsdemux2 of plugins-good 1.22, through uridecodebin3). hls.js is
# tests/bats/playback.bats. One sigma-ingest packages three RTMP channels
# in-process, ultra-low (LL-HLS; audio muxed, and separate) and low, published in a loop for as long as
# the suite runs; sigma-origin serves them. What is asserted is what a
# viewer checks: frames were decoded, the player raised no fatal error, and
# it played live (it kept decoding new media as it was published, it did
# not play a stale playlist to its end).
load helpers

setup_file() {
  export W=$BATS_FILE_TMPDIR
  export ROOT=$W/root
  mkdir -p "$ROOT"
  T=$W
  SIGMA_PIDS=()
  local src
  src=$(make_ts t20 20)
  RTMP_PORT=$(free_port)
  spawn "$W/ingest.log" sigma-ingest --rtmp "127.0.0.1:$RTMP_PORT" --open \
    --hls-channel "ll=$ROOT/ll,mode=ultra-low" --hls-channel "low=$ROOT/low,mode=low" \
    --hls-channel "llsep=$ROOT/llsep,mode=ultra-low,audio=separate" \
    --hls-channel "lowdvr=$ROOT/lowdvr,mode=low,window=90"
  echo "$SPAWNED_PID" >"$W/pids"
  wait_for bash -c "exec 3<>/dev/tcp/127.0.0.1/$RTMP_PORT" || { cat "$W/ingest.log" >&3; return 1; }
  start_origin
  echo "$SPAWNED_PID" >>"$W/pids"
  echo "$BASE" >"$W/base"
  local ch
  for ch in ll low llsep lowdvr; do
    spawn "$W/pub-$ch.log" ffmpeg -nostdin -loglevel error -re -stream_loop -1 -i "$src" -c copy -f flv \
      "rtmp://127.0.0.1:$RTMP_PORT/live/$ch"
    echo "$SPAWNED_PID" >>"$W/pids"
  done
  # Three segments listed on both, and their master playlists written.
  WAIT_SECS=30 wait_for bash -c "for ch in ll low llsep; do [[ -f $ROOT/\$ch/master.m3u8 &&
    \$(grep -c '^#EXTINF' $ROOT/\$ch/v0/index.m3u8) -ge 3 ]] || exit 1; done"
}

teardown_file() {
  local p
  for p in $(cat "$BATS_FILE_TMPDIR/pids" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
  for p in $(cat "$BATS_FILE_TMPDIR/pids" 2>/dev/null); do timeout 5 tail --pid="$p" -f /dev/null || kill -9 "$p" 2>/dev/null || true; done
}

setup() {
  W=$BATS_FILE_TMPDIR
  BASE=$(cat "$W/base")
  T=$BATS_TEST_TMPDIR
}

teardown() {
  stop_spawned
}

# -- Shaka Player --------------------------------------------------------

shaka() {
  [[ -f $BATS_TEST_DIRNAME/../conformance/node_modules/shaka-player/dist/shaka-player.compiled.js &&
     -d $BATS_TEST_DIRNAME/../../web/node_modules/playwright-core ]] ||
    skip "tests/conformance or web node_modules missing: run scripts/setup"
  run node "$BATS_TEST_DIRNAME/../browser/shaka.js" "$@"
  echo "$output"
  [ "$status" -eq 0 ]
  J=${lines[-1]}
  # frames decoded, no fatal error, no error on the video element
  [[ $(jq .frames_decoded <<<"$J") -gt 150 ]]
  [[ $(jq .errors_fatal <<<"$J") -eq 0 && $(jq -r .gave_up <<<"$J") == null && $(jq -r .video_error <<<"$J") == null ]]
  # live, and still decoding in the last seconds (not a stale playlist played out)
  [[ $(jq .live <<<"$J") == true ]]
  jq -e '.decoded_per_second | (.[-1] - .[-4]) >= 60' <<<"$J"
  jq -e '.latency_s != null and .latency_s < 10' <<<"$J"
  [[ $(jq '.levels[0].height' <<<"$J") -eq 360 ]]
  # and it went through the origin without a failed request
  jq -e '.requests.http_errors == {}' <<<"$J"
}

# Shaka 5.2.12 (the newest on npm) has a bug in its default segments mode
# that LL-HLS parts expose: shaka-player#10589, fixed by PR #10559 in Shaka's
# nightly, in no release on npm yet. setTimestampOffset_ adds 1 ms to any
# negative offset (an old Edge workaround, lib/media/media_source_engine.js
# :2109-2113); appendBuffer then compares each newly computed offset with the
# SourceBuffer's shifted one and, if they differ by >= 0.001, calls abort()
# and sets it again (:1401-1416). They differ by 1 ms give or take a double's
# rounding, so whether that happens before every append depends on the
# offset's last bits: for a steady offset, on its magnitude (|offset| in
# [0.016, 1), [4, 8), [16, 32), [64, 256): always; [1, 4), [8, 16), [32, 64),
# [256, 2048): never). The offset is minus the media time of the first
# segment Shaka loaded: -0.021 s (the first video frame) on a channel in its
# first seconds, as here; -82 s at 107 s (aborts), -32 s at 56 s (none).
# Each abort resets the browser's parser, which then drops a part up to its
# next keyframe: 29-31 aborts in 10 s, 10-11 buffered ranges, 68-110 of
# 300 frames shown (muxed audio, 4 runs; separate audio failed 2 of 3).
# Nothing in the playlists causes it (every part's tfdt is its playlist start
# to the tick). manifest.hls.sequenceMode, the maintainers' workaround in
# #10589, skips that recalculation: 1-2 aborts, one buffered range, all
# frames, at any age. The tests set it, as a Shaka 5.2 user playing LL-HLS
# would; SIGMA_SHAKA_LL_DEFAULTS=1 runs them with Shaka's defaults instead
# (to see whether a newer Shaka is fixed). Not a workaround:
# manifest.hls.ignoreManifestTimestampsInSegmentsMode, which leaves the
# offset at 0 and so plays only while the first segment listed is the
# channel's first (at 59 s: media buffered at 47-55 s, playhead at 23 s).
shaka_ll() {
  if [[ -n ${SIGMA_SHAKA_LL_DEFAULTS:-} ]]; then
    shaka "$@" --low-latency
  else
    shaka "$@" --low-latency --config '{"manifest":{"hls":{"sequenceMode":true}}}'
  fi
  jq -e '.requests.blocking > 5 and .requests.parts > 5' <<<"$J"
  jq -e '.latency_s < 4' <<<"$J"
  # no part dropped: the buffer is one range, without holes to jump
  jq -e '(.buffered | length) == 1' <<<"$J"
}

@test "Shaka Player plays the ultra-low (LL-HLS) channel live in lowLatencyMode: blocking reloads and parts" {
  shaka_ll "$BASE/ll/master.m3u8" 10
}

# The same LL-HLS channel with its audio in a rendition of its own
# (--hls-channel audio=separate) instead of muxed into the video's parts:
# tells a problem with the muxed parts from one with LL-HLS itself.
# A second Shaka 5.2.12 bug, kept visible (issue 12; no upstream issue
# found): with the audio in a playlist of its own, Shaka syncs the two
# playlists on PROGRAM-DATE-TIME, and the video's first segment starts 21 ms
# after the audio's (its first frame; later, AAC frame boundaries), so every
# video reference must move by 21 ms. syncStreamsWithProgramDateTime_ moves
# them with `for (const segment of segmentIndex) segment.syncAgainst(...)`
# (lib/hls/hls_parser.js:853-856), but a SegmentIndex iterates the parts of
# a segment that lists parts (lib/media/segment_index.js:650-676), so those
# segments (the last three) keep their old start: 8.000 s where 6.021 s +
# 2 s ends at 8.021. The first live update rebuilds them at 8.021, merge()
# keeps the stale 8.000 one because only references starting at or after
# the new first start are replaced (segment_index.js:223-252), the index
# holds that segment twice, and the iterator, a position in it, now points
# one segment back: Shaka appends the last 4-6 parts again (5 runs of 5).
# Harmless when parts are placed by their timestamps, but in sequence mode
# they go after the buffer's end: a 2 s shift, a hole and a stall (2 runs of
# 9). Adding manifest.hls.ignoreManifestProgramDateTime (sync on media
# sequence numbers) avoids it (3 runs) but Shaka then plays 3.2-3.6 s behind
# live instead of 0.7-0.9. SIGMA_SHAKA_LL=1 runs it (sequence mode).
@test "Shaka Player plays an ultra-low (LL-HLS) channel with separate audio live in lowLatencyMode" {
  [[ -n ${SIGMA_SHAKA_LL:-}${SIGMA_SHAKA_LL_DEFAULTS:-} ]] ||
    skip "known Shaka 5.2.12 bug: re-appended parts shift the sequence-mode timeline (SIGMA_SHAKA_LL=1 runs it)"
  shaka_ll "$BASE/llsep/master.m3u8" 10
}

@test "Shaka Player plays the low channel live" {
  shaka "$BASE/low/master.m3u8" 10
  jq -e '.requests.segments > 5' <<<"$J"
}

# -- ffmpeg ----------------------------------------------------------------

# ffmpeg_play URL SECONDS: decodes SECONDS of the stream from the live edge;
# the log is in $T/ff.log, the number of video frames in $FRAMES, the wall
# time in $ELAPSED (ms).
ffmpeg_play() {
  local t0=$(date +%s%3N)
  local rc=0
  timeout $(($2 + 40)) ffmpeg -nostdin -v warning -i "$1" -t "$2" -map 0:v:0 -map 0:a:0 \
    -f framemd5 "$T/frames" 2>"$T/ff.log" || rc=$?
  ELAPSED=$(($(date +%s%3N) - t0))
  FRAMES=$(grep -v '^#' "$T/frames" | awk -F, '$1 == 0' | wc -l)
  echo "exit $rc, $FRAMES video frames in $ELAPSED ms"
  cat "$T/ff.log"
  # ffmpeg's HLS demuxer feeds the init section to its mp4 demuxer again
  # after live playlist reloads and warns "Found duplicated MOOV Atom": it
  # does the same on ffmpeg's own live fMP4 HLS output (-f hls
  # -hls_segment_type fmp4), so that line is the client's, not ours.
  grep -v -e 'Found duplicated MOOV Atom. Skipped it' -e 'Last message repeated' "$T/ff.log" >"$T/ff.warnings" || true
  return $rc
}

@test "ffmpeg decodes the ultra-low channel live: every frame, no error, at the pace of the publisher" {
  ffmpeg_play "$BASE/ll/master.m3u8" 12
  # 12 s at 30 fps
  [[ $FRAMES -ge 355 && $FRAMES -le 362 ]]
  # nothing at warning level or above: no decode error, no refused segment
  [[ ! -s $T/ff.warnings ]]
  # It joined 3 segments (6 s) from the edge: the rest was waited for.
  [[ $ELAPSED -ge 5000 ]]
  # through the origin
  jq -r 'select(.user_agent | test("Lavf")) | .path' "$W/access.log" | grep -q '^/ll/s/[A-Za-z0-9_-]\{22\}/v0/seg-[0-9]*\.m4s$'
}

@test "ffmpeg decodes the low channel live: every frame, no error, at the pace of the publisher" {
  ffmpeg_play "$BASE/low/master.m3u8" 8
  [[ $FRAMES -ge 236 && $FRAMES -le 242 ]]
  [[ ! -s $T/ff.warnings ]]
  # 3 segments (3 s) at the edge when it joined: the other 5 s were waited for.
  [[ $ELAPSED -ge 4000 ]]
}

# -- GStreamer -------------------------------------------------------------

# gst_play URL SECONDS: plays it in real time into fakesinks for SECONDS
# (then an EOS by SIGINT); the video buffers' pts are in $T/pts (seconds).
gst_play() {
  command -v gst-launch-1.0 >/dev/null || skip "gstreamer1.0-tools missing"
  gst-inspect-1.0 hlsdemux2 >/dev/null 2>&1 || skip "hlsdemux2 missing (gstreamer1.0-plugins-good 1.22)"
  # SIGINT asks for an EOS; a live pipeline may not drain: killed 3 s later
  local rc=0
  timeout -k 3 -s INT "$2" gst-launch-1.0 -e -v uridecodebin3 uri="$1" name=d \
    d. ! queue ! video/x-raw ! fakesink name=vsink sync=true silent=false \
    d. ! queue ! audio/x-raw ! fakesink name=asink sync=true >"$T/gst.log" 2>&1 || rc=$?
  grep 'vsink: last-message = chain' "$T/gst.log" | grep -o 'pts: [0-9:.]*' |
    awk -F'[: ]+' '{ print $2 * 3600 + $3 * 60 + $4 }' >"$T/pts"
  echo "exit $rc, $(wc -l <"$T/pts") video buffers, pts $(head -1 "$T/pts") .. $(tail -1 "$T/pts")"
  grep -E 'ERROR|WARN|error' "$T/gst.log" | head -20
  # 124/137 are timeout's own (we stopped it); gst-launch itself must not fail
  [[ $rc -eq 0 || $rc -eq 124 || $rc -eq 137 ]]
}

gst_checks() {
  # decoded frames, no error message from any element
  [[ $(wc -l <"$T/pts") -gt $1 ]]
  ! grep -q '^ERROR' "$T/gst.log"
  # live: the media it played spans most of the run, in real time
  awk -v want="$2" 'NR == 1 { a = $1 } { b = $1 } END { exit !(b - a >= want) }' "$T/pts"
}

@test "GStreamer (hlsdemux2) plays the ultra-low channel live: frames decoded, no error" {
  gst_play "$BASE/ll/master.m3u8" 14
  gst_checks 150 6
}

@test "GStreamer (hlsdemux2) plays the low channel live: frames decoded, no error" {
  gst_play "$BASE/low/master.m3u8" 12
  gst_checks 150 6
}

# -- a DVR window ----------------------------------------------------------
# Last in the file, so that the 90 s window has filled for a while.

@test "Shaka Player in a DVR window: seeks 20 s behind live and plays on from there" {
  WAIT_SECS=60 wait_for bash -c "(( \$(grep -c '^#EXTINF' $ROOT/lowdvr/v0/index.m3u8) >= 30 ))"
  run node "$BATS_TEST_DIRNAME/../browser/shaka.js" "$BASE/lowdvr/master.m3u8" 14 --seek-back 20
  echo "$output"
  [ "$status" -eq 0 ]
  J=${lines[-1]}
  [[ $(jq .errors_fatal <<<"$J") -eq 0 && $(jq -r .gave_up <<<"$J") == null ]]
  # the window Shaka offers is the playlist's (30 s and more), and the seek went 20 s back
  jq -e '.seek.range_end - .seek.range_start >= 25 and (.seek.range_end - .seek.target) > 19' <<<"$J"
  # it played on from there (frames decoded in the last 5 s), and stayed behind live
  jq -e '.decoded_per_second | (.[-1] - .[-6]) >= 100' <<<"$J"
  jq -e '.behind_live_s > 14 and .behind_live_s < 26' <<<"$J"
  jq -e '.requests.http_errors == {}' <<<"$J"
}
