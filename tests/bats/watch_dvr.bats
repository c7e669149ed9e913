#!/usr/bin/env bats
# sigma-test: first (a long file: started before the others, scripts/test)
# The watch page's timeshift bar in a real browser: two live channels
# served by sigma-origin (with its watch page), one with a 60 s DVR window
# and one with the default window, driven by tests/browser/dvr.js
# (Playwright, Chromium, hls.js): seek bar, pause, 15 s back, LIVE.
load helpers

setup() {
  T=$(mktemp -d "${BATS_TMPDIR:-/tmp}/watch_dvr.XXXXXX")
  ROOT=$T/root
  mkdir -p "$ROOT"
  WEB=$BATS_TEST_DIRNAME/../../web
  [[ -f $WEB/node_modules/hls.js/dist/hls.min.js ]] || { echo "web/node_modules missing: run scripts/setup"; return 1; }
}

teardown() {
  stop_spawned
  rm -rf "$T"
}

# live NAME [sigma-package options...]: a real-time channel from a 90 s
# file (no loop: a looped copy repeats timestamps at the seam).
live() {
  local name=$1 ts; shift
  ts=$(make_ts t90 90)
  mkfifo "$T/$name.ts"
  spawn "$T/$name-ffmpeg.log" ffmpeg -nostdin -loglevel error -re -i "$ts" -c copy -f mpegts -y "$T/$name.ts"
  spawn "$T/$name-package.log" sigma-package -i "$T/$name.ts" -o "$ROOT/$name" --mode low --once "$@"
}

@test "the watch page: a seek bar over a 60 s DVR window; pause, 15 s back plays from there, LIVE returns to the edge; none without a window" {
  start_origin --web-dir "$WEB"
  live dvr --window 60
  live plain
  # About 30 s of live before the DVR window is longer than any default one.
  WAIT_SECS=45 wait_for bash -c "[[ -f '$ROOT/dvr/master.m3u8' && \$(grep -c '^#EXTINF' '$ROOT/dvr/v0/index.m3u8') -ge 30 ]]" ||
    { cat "$T"/*.log; return 1; }
  # The default window of low mode stays short.
  (( $(grep -c '^#EXTINF' "$ROOT/plain/v0/index.m3u8") <= 12 ))
  mkdir -p "${SIGMA_EVIDENCE_DIR:-$T/shots}"
  run node "$BATS_TEST_DIRNAME/../browser/dvr.js" --plain "$BASE/?channel=plain" --dvr "$BASE/?channel=dvr" \
    --screenshots "${SIGMA_EVIDENCE_DIR:-$T/shots}"
  echo "$output" | jq -c '.checks[]' 2>/dev/null || echo "$output"
  [[ $status -eq 0 ]]
  local json=${lines[-1]}
  [[ $(jq '.failed | length' <<<"$json") -eq 0 ]]
  # The checks that matter, read back from what was measured.
  [[ $(jq '.after_seek.behind_s > 11 and .after_seek.behind_s < 24' <<<"$json") == true ]]
  [[ $(jq '.after_live.edge - .after_live.current_time < 8' <<<"$json") == true ]]
  [[ $(jq '.plain.bar_visible' <<<"$json") == false ]]
  # The player went back in time through the origin: after segments near
  # the live edge, it fetched ones well behind the newest it had fetched.
  jq -r 'select(.path | test("^/dvr/s/[A-Za-z0-9_-]{22}/v0/seg-[0-9]+[.]m4s$")) | .path' "$T/access.log" | sed 's/.*seg-//; s/[.]m4s//' |
    awk '{ if ($1 < max - 8) back = 1; if ($1 > max) max = $1 } END { exit !back }'
}
