#!/usr/bin/env bats
# sigma-test: first (a long file: started before the others, scripts/test)
# Playback in a real browser: what sigma-package writes, served by
# sigma-origin, played by hls.js in headless Chromium (tests/browser/play.js).
# Catches regressions in playback, not in latency (bench/latency.sh).
load helpers

setup() {
  T=$(mktemp -d "${BATS_TMPDIR:-/tmp}/playback.XXXXXX")
  ROOT=$T/root
  mkdir -p "$ROOT"
  PLAY=$BATS_TEST_DIRNAME/../browser/play.js
  [[ -f $BATS_TEST_DIRNAME/../../web/node_modules/hls.js/dist/hls.min.js ]] ||
    { echo "web/node_modules missing: run scripts/setup"; return 1; }
}

teardown() {
  stop_spawned
  rm -rf "$T"
}

@test "fMP4 HLS with audio and video served by sigma-origin plays in Chromium with hls.js" {
  local ts
  ts=$(make_ts t20 20)
  # ffmpeg's own HLS muxer: this test is about the origin and the page.
  mkdir -p "$ROOT/demo"
  ffmpeg -nostdin -loglevel error -i "$ts" -c copy -bsf:a aac_adtstoasc -f hls -hls_segment_type fmp4 \
    -hls_time 2 -hls_playlist_type vod -master_pl_name master.m3u8 \
    -hls_segment_filename "$ROOT/demo/seg-%d.m4s" "$ROOT/demo/index.m3u8"
  start_origin
  run node "$PLAY" "$BASE/demo/master.m3u8" 6
  echo "$output"
  [[ $status -eq 0 ]]
  local json=${lines[-1]}
  [[ $(jq .frames_decoded <<<"$json") -gt 60 ]]
  [[ $(jq .errors_fatal <<<"$json") -eq 0 ]]
  [[ $(jq '.levels[0].height' <<<"$json") -eq 360 ]]
  # The player went through the origin (cross-origin: CORS was needed),
  # under the session its master gave it.
  jq -r 'select(.session_source == "path") | .path' "$T/access.log" | grep -q '^/demo/s/[A-Za-z0-9_-]\{22\}/seg-[0-9]*\.m4s$'
}

@test "a live ultra-low (LL-HLS) channel plays with hls.js lowLatencyMode, through blocking reloads and parts" {
  local ts
  ts=$(make_ts t20 20)
  start_origin
  # Real-time input, as from an encoder.
  spawn "$T/live.log" bash -c "ffmpeg -nostdin -loglevel error -re -i '$ts' -c copy -f mpegts - |
    sigma-package -o '$ROOT/demo' --mode ultra-low --segment-duration 1"
  # Three segments listed, and the master written (awk alone would pass on
  # a missing file: no input lines, exit 0).
  WAIT_SECS=15 wait_for bash -c "[[ -f '$ROOT/demo/master.m3u8' && \$(grep -c '^#EXTINF' '$ROOT/demo/v0/index.m3u8') -ge 3 ]]"
  run node "$PLAY" "$BASE/demo/master.m3u8" 8 --low-latency
  echo "$output"
  [[ $status -eq 0 ]]
  local json=${lines[-1]}
  [[ $(jq .frames_decoded <<<"$json") -gt 60 ]]
  [[ $(jq .errors_fatal <<<"$json") -eq 0 ]]
  [[ $(jq .live <<<"$json") == true ]]
  [[ $(jq .parts <<<"$json") -gt 0 ]]
  # hls.js used blocking playlist reload, and the origin held and answered it.
  jq -r 'select(.query != null and (.query | test("_HLS_msn="))) | .status' "$T/access.log" | grep -q '^200$'
}

@test "scripts/demo prints a watch URL that plays when opened, and the bare page starts the one channel" {
  local port hp rp url
  port=$(free_port); hp=$(free_port); rp=$(free_port)
  spawn "$T/demo.log" "$BATS_TEST_DIRNAME/../../scripts/demo" --port "$port" --health-port "$hp" \
    --rtmp-port "$rp" --dir "$T/demo"
  WAIT_SECS=120 wait_for grep -q 'watch page' "$T/demo.log" || { cat "$T/demo.log"; return 1; }
  url=$(awk '/watch page/ { print $1 }' "$T/demo.log")
  [[ $url == "http://127.0.0.1:$port/?channel=demo" ]]
  run node "$PLAY" --page "$url" 6
  echo "$output"
  [[ $status -eq 0 ]]
  local json=${lines[-1]}
  [[ $(jq .frames_decoded <<<"$json") -gt 60 ]]
  [[ $(jq .errors_fatal <<<"$json") -eq 0 && $(jq '.page_errors | length' <<<"$json") -eq 0 ]]
  [[ $(jq .live <<<"$json") == true && $(jq '.levels[0].height' <<<"$json") -eq 720 ]]
  # The page with no query: one channel, so it plays that one.
  run node "$PLAY" --page "http://127.0.0.1:$port/" 5
  echo "$output"
  [[ $status -eq 0 ]]
  json=${lines[-1]}
  [[ $(jq -r .src <<<"$json") == "/demo/master.m3u8" && $(jq .frames_decoded <<<"$json") -gt 30 ]]
}
