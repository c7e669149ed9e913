#!/usr/bin/env bats
# sigma-test: serial (the Go-live test times Chromium's encoder answering keyframe requests: beside other files a late keyframe made a segment cut between keyframes in a full run)
# WHIP (RFC 9725) into sigma-ingest: the Go-live page in headless Chromium
# (fake camera and microphone) publishes, hls.js plays the channel, ffprobe
# decodes its segments; an independent client (aiortc, Debian's
# python3-aiortc) publishes too; refusals carry a status and a reason;
# publish/stop cycles leave no fd, thread or UDP port behind.
# SIGMA_WHIP_CYCLES=50 runs the leak test with 50 cycles (default 4).
bats_require_minimum_version 1.5.0
load helpers

setup_file() {
  [[ -f $BATS_TEST_DIRNAME/../../web/node_modules/playwright-core/package.json ]] ||
    { echo "web/node_modules missing: run scripts/setup" >&3; return 1; }
}

setup() {
  SIGMA_PIDS=()
  T=$(mktemp -d "${BATS_TMPDIR:-/tmp}/whip.XXXXXX")
  ROOT=$T/hls
  mkdir -p "$ROOT"
  printf 'live %s\n' "k3y-$RANDOM$RANDOM" >"$T/keys"
  chmod 600 "$T/keys"
  KEY=$(awk '{print $2}' "$T/keys")
  CLIENT=$BATS_TEST_DIRNAME/../whip/whip_client.py
}

teardown() {
  stop_spawned
  rm -rf "$T"
}

# start_whip [extra sigma-ingest options]: WHIP on $WHIP_PORT, ICE on 20
# UDP ports from a free one, channel "live" packaged in-process (low mode:
# 1 s segments), events in $T/events.
start_whip() {
  WHIP_PORT=$(free_port)
  UDP=$(free_udp_port)
  WHIP=http://127.0.0.1:$WHIP_PORT/whip
  spawn "$T/ingest.log" sigma-ingest --whip "127.0.0.1:$WHIP_PORT" --whip-udp "127.0.0.1:$UDP-$((UDP + 19))" \
    --keys "$T/keys" --hls-channel "live=$ROOT/live,mode=low" --events "$T/events" --timeout 3 "$@"
  INGEST_PID=$SPAWNED_PID
  wait_for curl -s -o /dev/null -X OPTIONS "$WHIP" || { cat "$T/ingest.log"; return 1; }
}

# The UDP sockets sigma-ingest holds in its ICE range.
udp_in_range() {
  local inodes n=0 port
  inodes=$(find "/proc/$INGEST_PID/fd" -lname 'socket:*' -printf '%l\n' 2>/dev/null | tr -dc '0-9\n')
  while read -r _ local _ _ _ _ _ _ _ inode _; do
    port=$((16#${local##*:}))
    ((port >= UDP && port <= UDP + 19)) && grep -qx "$inode" <<<"$inodes" && n=$((n + 1))
  done < <(tail -n +2 /proc/net/udp)
  echo "$n"
}
no_udp_in_range() { [ "$(udp_in_range)" -eq 0 ]; }
counts() { echo "$(ls "/proc/$INGEST_PID/fd" | wc -l) $(ls "/proc/$INGEST_PID/task" | wc -l)"; }

@test "the Go-live page publishes from Chromium: hls.js plays, segments decode, cut on keyframes at 1 s; Stop ends it" {
  start_whip
  start_origin --web-dir "$BATS_TEST_DIRNAME/../../web"
  SIGMA_SCREENSHOT=$T/golive.png run timeout 120 node "$BATS_TEST_DIRNAME/../browser/golive.js" \
    "$BASE/golive?whip=$WHIP&key=$KEY" "$BASE/live/master.m3u8" 20
  echo "$output"
  [ "$status" -eq 0 ]
  local res
  res=$(tail -1 <<<"$output")
  # (idle first when the click came before the camera was open.)
  jq -e '(.states | if .[0] == "idle" then .[1:] else . end) == ["connecting", "live", "stopped"] and .frames > 100 and .errors == []' <<<"$res"
  jq -e --arg b "$BASE" '.viewer_url == $b + "/?channel=live" and (.kbps | max) > 50' <<<"$res"
  WAIT_SECS=5 wait_for events_at_least stream.ended 1
  [ "$(count_events stream.started '.protocol == "whip" and .video == "h264" and .audio == "aac"')" -eq 1 ]
  [ "$(count_events stream.ended '.protocol == "whip" and .reason == "deleted"')" -eq 1 ]
  # Video and audio decode from the segments.
  local v a
  v=$(ls "$ROOT/live/v0/"seg-*.m4s | sort -V | sed -n 5p)
  a=$(ls "$ROOT/live/a0/"seg-*.m4s | sort -V | sed -n 5p)
  cat "$ROOT/live/v0/init.mp4" "$v" >"$T/v.mp4"
  cat "$ROOT/live/a0/init.mp4" "$a" >"$T/a.mp4"
  [ "$(count_frames "$T/v.mp4")" -gt 5 ]
  ffprobe -v error -show_entries stream=codec_name -of csv=p=0 "$T/v.mp4" | grep -qx h264
  ffprobe -v error -show_entries stream=codec_name -of csv=p=0 "$T/a.mp4" | grep -qx aac
  [ "$(ffprobe -v error -select_streams a:0 -count_frames -show_entries stream=nb_read_frames -of csv=p=0 "$T/a.mp4")" -gt 20 ]
  # Every segment starts on a keyframe (independent) and, but for the
  # first, a resolution change and the last, lasts the interval within a
  # frame (the fake camera: 20 to 30 fps).
  jq -s -e '[.[] | select(.type == "segment.written" and .track == "v0")] | all(.independent)' "$T/events"
  local durations ok
  durations=$(jq -s -c '[.[] | select(.type == "segment.written" and .track == "v0" and (.discontinuity | not)) | .duration] | .[1:-1]' "$T/events")
  echo "durations $durations"
  ok=$(jq '[.[] | select(. >= 0.96 and . <= 1.05)] | length' <<<"$durations")
  [ "$ok" -ge $(( $(jq length <<<"$durations") * 8 / 10 )) ]
}

@test "an aiortc client publishes; a wrong key, a malformed SDP and VP8 only are refused with reasons; cycles leak nothing" {
  start_whip
  # CORS preflight and the methods RFC 9725 names.
  run curl -s -i -X OPTIONS -H 'Origin: http://example.test' -H 'Access-Control-Request-Method: POST' "$WHIP/live"
  [[ $output == *"204"* && $output == *"Access-Control-Allow-Origin: *"* && $output == *"Accept-Post: application/sdp"* ]]
  [[ $output == *"Access-Control-Allow-Headers: Authorization, Content-Type, If-Match"* ]]
  # Refusals: wrong key (401, counted, the key never logged), malformed
  # SDP (400), wrong type (415), no codec we take (400 naming it).
  run --separate-stderr /usr/bin/python3 "$CLIENT" "$WHIP/live" --key wrong-key --seconds 0
  [ "$status" -eq 1 ]
  jq -e '.status == 401 and (.error | test("unknown stream key"))' <<<"$output"
  run curl -s -w ' %{http_code}' -X POST -H "Authorization: Bearer $KEY" -H 'Content-Type: application/sdp' \
    --data-binary 'hello' "$WHIP/live"
  [[ $output == *"v=0"*" 400" ]]
  run curl -s -w ' %{http_code}' -X POST -H "Authorization: Bearer $KEY" -H 'Content-Type: text/plain' \
    --data-binary $'v=0\r\n' "$WHIP/live"
  [[ $output == *" 415" ]]
  run --separate-stderr /usr/bin/python3 "$CLIENT" "$WHIP/live" --key "$KEY" --codec vp8 --seconds 0
  jq -e '.status == 400 and (.error | test("VP8")) and (.error | test("H.264"))' <<<"$output"
  [ "$(count_events publish.rejected '.protocol == "whip"')" -eq 1 ]
  ! grep -q wrong-key "$T/ingest.log" "$T/events"
  # A publish from aiortc: 201, Location, media into the channel.
  run --separate-stderr /usr/bin/python3 "$CLIENT" "$WHIP/live" --key "$KEY" --seconds 4
  echo "$output"
  [ "$status" -eq 0 ]
  jq -e '.status == 201 and (.location | test("^/whip/live/[A-Za-z0-9_-]+$")) and .delete == 200' <<<"$output"
  [ "$(count_events stream.started '.protocol == "whip" and .video == "h264" and .audio == "aac"')" -eq 1 ]
  WAIT_SECS=5 wait_for events_at_least stream.ended 1
  # A second publisher on the live key is refused (409); one that vanishes
  # without DELETE ends after the timeout (3 s) with stream.ended.
  /usr/bin/python3 "$CLIENT" "$WHIP/live" --key "$KEY" --seconds 6 --no-delete >"$T/first.json" &
  local first=$!
  WAIT_SECS=15 wait_for events_at_least stream.started 2
  run --separate-stderr /usr/bin/python3 "$CLIENT" "$WHIP/live" --key "$KEY" --seconds 0
  jq -e '.status == 409' <<<"$output"
  wait "$first"
  WAIT_SECS=10 wait_for events_at_least stream.ended 2
  [ "$(count_events stream.ended '.reason == "timeout"')" -eq 1 ]
  # Leaks: after one cycle (GStreamer's registry and pools are made), N
  # more leave the fd and thread counts and no UDP socket in the range.
  WAIT_SECS=10 wait_for no_udp_in_range
  local before after n=${SIGMA_WHIP_CYCLES:-4}
  before=$(counts)
  run --separate-stderr /usr/bin/python3 "$CLIENT" "$WHIP/live" --key "$KEY" --seconds 0.5 --cycles "$n"
  echo "$output"
  [ "$status" -eq 0 ]
  jq -e --argjson n "$n" '.cycles == $n' <<<"$output"
  WAIT_SECS=10 wait_for no_udp_in_range
  after=$(counts)
  echo "fds threads before: $before after: $after"
  [ "${after% *}" -le "${before% *}" ]
  [ "${after#* }" -le $(( ${before#* } + 2 )) ]
}
