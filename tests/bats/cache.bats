#!/usr/bin/env bats
# contrib/nginx's caching proxy in front of a live LL-HLS channel
# (sigma-package ultra-low, sigma-origin): hls.js in Chromium plays it
# through the cache, and fifty viewers blocking on the same next part, and
# fifty asking for the same hinted part before it exists, reach the origin
# once each (counted in the origin's access log). bench/cache.sh does it
# with 2,000 viewers and measures.
load helpers

setup() {
  T=$(mktemp -d "${BATS_TMPDIR:-/tmp}/cache.XXXXXX")
  ROOT=$T/root
  mkdir -p "$ROOT"
  [[ -f $BATS_TEST_DIRNAME/../../web/node_modules/hls.js/dist/hls.min.js ]] ||
    { echo "web/node_modules missing: run scripts/setup"; return 1; }
}

teardown() {
  stop_spawned
  rm -rf "$T"
}

header() { grep -i "^$1:" "$2" | head -1 | cut -d: -f2- | tr -d '\r' | sed 's/^ *//'; }
log_lines() { jq -c "select($2)" "$1" | wc -l; }

# The next part of a playlist: "MSN PART HINT" (the open segment's number,
# the parts it has, the PRELOAD-HINT's URI).
next_part() {
  awk '/^#EXT-X-MEDIA-SEQUENCE:/ { split($0, a, ":"); m = a[2] }
       /^#EXT-X-PART:/ { p++ }
       /^#EXT-X-PRELOAD-HINT:/ { match($0, /URI="[^"]*"/); h = substr($0, RSTART + 5, RLENGTH - 6) }
       /^[^#]/ { m++; p = 0 }
       END { print m, p, h }' "$1"
}

@test "through contrib/nginx: hls.js plays LL-HLS live; 50 viewers blocking on the next part and 50 on the hinted part reach the origin once each, 1,100 on one part too" {
  local ts
  ts=$(make_ts t20 20)
  start_origin
  start_nginx
  # Two processes through a FIFO, each spawned (teardown ends both by PID).
  mkfifo "$T/live.ts"
  spawn "$T/package.log" sigma-package -i "$T/live.ts" -o "$ROOT/ll" --mode ultra-low --segment-duration 1
  spawn "$T/ffmpeg.log" ffmpeg -nostdin -loglevel error -re -stream_loop -1 -i "$ts" -c copy -f mpegts -y "$T/live.ts"
  WAIT_SECS=15 wait_for bash -c "[[ -f '$ROOT/ll/master.m3u8' && \$(grep -c '^#EXTINF' '$ROOT/ll/v0/index.m3u8') -ge 3 ]]"

  # 1. A real player through the cache.
  run node "$BATS_TEST_DIRNAME/../browser/play.js" "$NGX/ll/master.m3u8" 8 --low-latency
  echo "$output"
  [[ $status -eq 0 ]]
  local json=${lines[-1]}
  [[ $(jq .frames_decoded <<<"$json") -gt 120 ]]
  [[ $(jq .errors_fatal <<<"$json") -eq 0 ]]
  [[ $(jq .live <<<"$json") == true ]]
  [[ $(jq .parts <<<"$json") -gt 5 ]]
  jq -e '.latency_s != null and .latency_s < 8' <<<"$json"  # live, with room for a loaded machine
  # It went through nginx, under its session, with blocking reloads the
  # origin answered 200 and nginx stored by their full URL.
  local sid
  sid=$(jq -r 'select(.session_source == "path") | .session' "$NGX_LOG" | head -1)
  [[ ${#sid} -eq 22 ]]
  (( $(log_lines "$NGX_LOG" '(.query | test("_HLS_msn=[0-9]+&_HLS_part=[0-9]+")) and .status == 200 and .cache == "MISS"') > 5 ))
  (( $(log_lines "$T/access.log" "(.query // \"\" | test(\"_HLS_msn=\")) and .status == 200 and (.path | startswith(\"/ll/s/$sid/\"))") > 5 ))
  # The master went around the cache; nothing failed.
  [[ $(log_lines "$NGX_LOG" '(.path == "/ll/master.m3u8") and .cache == ""') -eq 1 ]]
  [[ $(log_lines "$NGX_LOG" '.status >= 400') -eq 0 ]]

  # 2. Fifty viewers block on the same next part, fifty ask for the part
  # the playlist hints, all before it exists. One request of each kind
  # reaches the origin; every viewer gets the same answer.
  : >"$T/access.log"
  local m p hint i
  read -r m p hint < <(next_part "$ROOT/ll/v0/index.m3u8")
  [[ -n $hint ]]
  local q="_HLS_msn=$m&_HLS_part=$p" args=()
  # One curl, 100 transfers at once on 100 connections (100 processes
  # would take seconds to start on a loaded machine).
  for ((i = 0; i < 50; i++)); do
    args+=(-o "$T/b$i" "$NGX/ll/v0/index.m3u8?$q" -o "$T/h$i" "$NGX/ll/v0/$hint")
  done
  curl -s --parallel --parallel-immediate --parallel-max 100 \
    -w '%{http_code} %{url_effective} %header{x-cache-status} %header{cache-control}\n' "${args[@]}" >"$T/res"
  cat "$T/res"
  [[ $(wc -l <"$T/res") -eq 100 && $(grep -c '^200 ' "$T/res") -eq 100 ]]
  for ((i = 0; i < 50; i++)); do
    cmp "$T/b0" "$T/b$i"
    cmp "$T/h0" "$T/h$i"
  done
  cmp "$T/h0" "$ROOT/ll/v0/$hint"
  [[ $(grep -c "index.m3u8?$q MISS " "$T/res") -eq 1 && $(grep -c "/$hint MISS " "$T/res") -eq 1 ]]
  [[ $(grep -c "/$hint [A-Z]* public, max-age=31536000, immutable" "$T/res") -eq 50 ]]
  # The answer holds the part asked for: its own next part is past it (on
  # a loaded machine the channel may have moved on by more than one).
  local m2 p2
  read -r m2 p2 _ < <(next_part "$T/b0")
  (( m2 > m || (m2 == m && p2 > p) ))
  wait_for test "$(log_lines "$T/access.log" 'true')" -ge 2
  sleep 0.2
  jq -c . "$T/access.log"
  [[ $(log_lines "$T/access.log" ".query == \"$q\"") -eq 1 ]]
  [[ $(log_lines "$T/access.log" ".path == \"/ll/v0/$hint\"") -eq 1 ]]

  # 3. 1,100 viewers blocking on a part a segment ahead (all of them there
  # before it exists). Past 1,024 waiters nginx lets one through its lock
  # (its use count wraps: sigma-shield.conf); the shield collapses it, so
  # the origin still gets one request.
  : >"$T/access.log"
  read -r m p _ < <(next_part "$ROOT/ll/v0/index.m3u8")
  q="_HLS_msn=$((m + 1))&_HLS_part=$p"
  local pids=() j
  for ((j = 0; j < 4; j++)); do
    args=()
    for ((i = 0; i < 275; i++)); do args+=(-o /dev/null "$NGX/ll/v0/index.m3u8?$q"); done
    curl -s --no-progress-meter --parallel --parallel-immediate --parallel-max 275 -w '%{http_code} %header{x-cache-status}\n' \
      "${args[@]}" >"$T/many$j" 2>"$T/many$j.err" &
    pids+=($!)
  done
  wait "${pids[@]}"
  [[ $(cat "$T"/many? | grep -c '^200 ') -eq 1100 ]]
  # The front took them all before the answer (else the wrap is not tried).
  (( $(log_lines "$NGX_LOG" ".query == \"$q\" and .cache == \"MISS\"") >= 2 ))
  sleep 0.2
  [[ $(log_lines "$T/access.log" ".query == \"$q\"") -eq 1 ]]

  # 4. A signed channel's token (/CH/t/TOKEN/...) is never written to
  # nginx's log.
  curl -s -o /dev/null "$NGX/ll/t/c2VjcmV0LXRva2VuLXh5eg/v0/index.m3u8"
  wait_for grep -q '/ll/t/REDACTED/v0/index.m3u8' "$NGX_LOG"
  ! grep -q c2VjcmV0LXRva2VuLXh5eg "$NGX_LOG"
}
