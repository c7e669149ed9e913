#!/usr/bin/env bats
# The watch page and sigma-thumb in a real browser: a live channel
# (sigma-package, 20 s window) with sigma-thumb run following its events,
# served by sigma-origin with its watch page, driven by
# tests/browser/thumbs.js (Playwright, Chromium, hls.js): the channel
# list's live picture, and the seek bar's preview checked against the VTT
# and sigma-thumb's sheets.
load helpers

setup() {
  T=$(mktemp -d "${BATS_TMPDIR:-/tmp}/watch_thumbs.XXXXXX")
  ROOT=$T/root
  mkdir -p "$ROOT"
  WEB=$BATS_TEST_DIRNAME/../../web
  [[ -f $WEB/node_modules/hls.js/dist/hls.min.js ]] || { echo "web/node_modules missing: run scripts/setup"; return 1; }
}

teardown() {
  stop_spawned
  rm -rf "$T"
}

cues() { curl -sf "$BASE/live/thumbnails.vtt" | grep -c -- '-->'; }

@test "the watch page: the list shows the channel's latest.jpg, refreshed; the seek bar's preview is the VTT's tile for the moment under the pointer" {
  local ts
  ts=$(make_ts t90 90)
  start_origin --web-dir "$WEB"
  mkfifo "$T/live.ts"
  spawn "$T/ffmpeg.log" ffmpeg -nostdin -loglevel error -re -i "$ts" -c copy -f mpegts -y "$T/live.ts"
  spawn "$T/package.log" sigma-package -i "$T/live.ts" -o "$ROOT/live" --mode low --window 20 --once --channel live \
    --events "$T/events.ndjson"
  WAIT_SECS=10 wait_for test -f "$T/events.ndjson"
  spawn "$T/thumb.log" sigma-thumb run --dir "$ROOT/live" --channel live --events-in "$T/events.ndjson" \
    --every 1s --widths 320,640 --sprite-every 2s
  # A window of 12 s or more with tiles in it.
  WAIT_SECS=40 wait_for bash -c "(( \$(curl -sf '$BASE/live/thumbnails.vtt' | grep -c -- '-->') >= 6 ))" ||
    { cat "$T"/*.log; return 1; }
  [[ $(curl -sf "$BASE/_channels" | jq -r '.[0].thumbnail') == /live/thumbs/latest.jpg ]]
  mkdir -p "${SIGMA_EVIDENCE_DIR:-$T/shots}"
  run node "$BATS_TEST_DIRNAME/../browser/thumbs.js" "$BASE/?channel=live&dvr=1" --screenshots "${SIGMA_EVIDENCE_DIR:-$T/shots}"
  echo "$output" | jq -c '.checks[]' 2>/dev/null || echo "$output"
  [[ $status -eq 0 ]]
  local json=${lines[-1]}
  [[ $(jq '.failed | length' <<<"$json") -eq 0 ]]
  [[ $(jq '.hovers | length' <<<"$json") -eq 4 ]]
  # Through the origin: the window's VTT, the sheets, and the list's
  # picture under more than one URL (refreshed).
  jq -r .path "$T/access.log" | grep -q '^/live/thumbnails.vtt$'
  jq -r 'select(.path == "/live/thumbnails.vtt") | .query' "$T/access.log" | grep -q '^start=[0-9]*&end=[0-9]*$'
  jq -r .path "$T/access.log" | grep -q '^/live/thumbs/sprite-[0-9]*\.jpg$'
  (( $(jq -r 'select(.path == "/live/thumbs/latest.jpg") | .query' "$T/access.log" | sort -u | wc -l) >= 2 ))
}
