#!/usr/bin/env bats
# Restream (issue 18): a channel of the supervisor's shared sigma-ingest
# pushed to a second sigma-ingest over RTMP as the target, beside a target
# that never answers; a reload adding a target; the target killed and
# back; bad target URLs at config time; no stream key in any log, event or
# status line.
load helpers
load supervisor_helpers

KEY=s3cr3tK3yXYZ

# The target: a sigma-ingest on $TP taking the keys relay=$KEY and
# relay2=${KEY}2, writing each channel's TS to DIR/CHANNEL.ts.
start_target() {
  printf 'relay %s\nrelay2 %s2\n' "$KEY" "$KEY" >"$T/target.keys"
  spawn "$T/target-$1.log" sigma-ingest --rtmp "127.0.0.1:$TP" --keys "$T/target.keys" -o "$T/$1/{channel}.ts" \
    --ready-fd 3 3>"$T/target-$1.ready"
  TARGET=$SPAWNED_PID
  wait_for test -s "$T/target-$1.ready"
}

# restream_field TARGET FIELD from /status.
restream_field() {
  status_json | jq -r --arg t "$1" --arg f "$2" '.channels[] | select(.name == "main") | .restream[] |
    select(.name == $t) | .[$f]'
}

state_is() { [[ $(restream_field "$1" state) == "$2" ]]; }
live_reconnected() { (( $(restream_field live reconnects) >= 1 )); }
ingest_up() { [[ $(stage_field ingest state) == up ]]; }
live_kbps_above() { local k; k=$(restream_field live kbps) && (( ${k%.*} > $1 )); }
frames_are() { [[ $(count_frames "$1" | head -1) -eq $2 ]]; }

main_conf() {
  conf "rtmp = 127.0.0.1:$RP" "open_keys = yes"
  channel main "input = publish" "mode = low" \
    "restream.live = rtmp://127.0.0.1:$TP/live/$KEY" "restream.dead = rtmp://127.0.0.1:$DP/live/$KEY" "$@"
}

@test "restream: bad target URLs are config errors (exit 100) that do not show the key" {
  local bad
  for bad in "http://h/live/$KEY" "rtmp://h/$KEY" "rtmp:///live/$KEY" "srt://h?streamid=$KEY" \
    "rtmp://h:99999/live/$KEY" "rtmpx://h/live/$KEY" "rtmp://h/live/ $KEY"; do
    conf "rtmp = 127.0.0.1:1" "open_keys = yes"
    channel main "input = publish" "restream.yt = $bad"
    run sigma-supervisor -c "$T/sv.conf" -n
    [[ $status -eq 100 ]] || { echo "$bad: $status $output"; return 1; }
    [[ $output == *restream.yt* && $output != *"$KEY"* ]] || { echo "$bad: $output"; return 1; }
  done
  conf "rtmp = 127.0.0.1:1" "open_keys = yes"
  channel main "input = pull /dev/null" "restream.yt = rtmp://h/live/$KEY"
  run sigma-supervisor -c "$T/sv.conf" -n
  [[ $status -eq 100 && $output == *"input = publish"* ]]
  run sigma-ingest --rtmp 127.0.0.1:1 --open --restream "main.yt=ftp://h/live/$KEY"
  [[ $status -eq 100 && $output == *"unknown scheme"* && $output != *"$KEY"* ]]
  run sigma-ingest --rtmp 127.0.0.1:1 --open --restream "main=rtmp://h/live/$KEY"
  [[ $status -eq 100 && $output == *CHANNEL.NAME=URL* ]]
}

@test "restream: every frame reaches a sigma-ingest target, a dead target costs nothing, reload adds one, a killed target is resumed" {
  local ts RP TP DP
  ts=$(make_ts t10 10)
  RP=$(free_port) TP=$(free_port) DP=$(free_port)
  # A target that never answers: it listens, never accepts, never reads.
  spawn "$T/dead.log" python3 -c "import socket,time
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', $DP)); s.listen(1)
time.sleep(300)"
  start_target a
  main_conf
  start_sv
  local ingest
  wait_for ingest_up
  ingest=$(stage_field ingest pid)

  # 1. Ten seconds published in real time.
  spawn "$T/pub1.log" ffmpeg -nostdin -loglevel error -re -i "$ts" -c copy -f flv "rtmp://127.0.0.1:$RP/live/main"
  local PUB=$SPAWNED_PID
  wait_for events_at_least restream.connected 1 '.target == "live"' || { tail -30 "$T/sv.log"; return 1; }
  # A reload adding a target: same ingest, same session, the new target on
  # at its next keyframe.
  main_conf "restream.second = rtmp://127.0.0.1:$TP/live/${KEY}2"
  kill -HUP "$SV"
  wait_for grep -q "^restream main.second=" "$T/run/ingest-channels"
  WAIT_SECS=5 wait_for events_at_least restream.connected 1 '.target == "second"'
  [[ $(stage_field ingest pid) -eq $ingest ]]
  wait_for state_is live connected
  wait_for live_kbps_above 100
  [[ $(restream_field dead state) != connected ]]
  sigma-supervisor status --health "127.0.0.1:$HP" >"$T/table"
  grep -q "^main restream live: connected" "$T/table"
  grep -q "^main restream dead: " "$T/table"
  timeout 20 tail --pid="$PUB" -f /dev/null
  WAIT_SECS=5 wait_for events_at_least restream.stopped 1 '.target == "live"'
  # Every frame the publisher sent, decoded from what the target wrote.
  WAIT_SECS=5 wait_for frames_are "$T/a/relay.ts" 300 || { count_frames "$T/a/relay.ts"; return 1; }
  [[ $(count_events stream.started '.channel == "main"') -eq 1 ]]
  ! grep -q DISCONTINUITY "$T/out/main/v0/index.m3u8"
  # The dead target failed on its timeout and was retried; the channel's
  # segments kept their pace (2 s each, none 1.5 s late; no loop pass
  # of 250 ms, where waiting on that target would be 5 s).
  [[ $(count_events restream.failed '.target == "dead"') -ge 1 ]]
  [[ $(restream_field dead last_error) == *"no answer within"* ]]
  python3 - "$EVENTS_FILE" <<'PY'
import json, sys, datetime
t = [datetime.datetime.fromisoformat(e["time"].replace("Z", "+00:00")).timestamp()
     for e in map(json.loads, open(sys.argv[1])) if e.get("type") == "segment.written" and e.get("channel") == "main"]
gaps = [b - a for a, b in zip(t, t[1:])]
assert len(gaps) >= 3 and max(gaps) < 3.5, gaps
PY
  jq -e '.loop_max_ms < 250' "$T/run/ingest-status.json"

  # 2. The target killed and back: the push resumes within the backoff.
  spawn "$T/pub2.log" ffmpeg -nostdin -loglevel error -re -i "$ts" -c copy -f flv "rtmp://127.0.0.1:$RP/live/main"
  PUB=$SPAWNED_PID
  wait_for events_at_least restream.connected 2 '.target == "live"'
  sleep 1
  kill -9 "$TARGET"
  timeout 5 tail --pid="$TARGET" -f /dev/null
  start_target b
  WAIT_SECS=5 wait_for events_at_least restream.connected 1 '.target == "live" and .reconnects >= 1' ||
    { tail -20 "$T/sv.log"; return 1; }
  [[ $(count_events restream.failed '.target == "live"') -ge 1 ]]
  wait_for test -s "$T/b/relay.ts"
  wait_for live_reconnected
  [[ $(stage_field ingest pid) -eq $ingest ]]
  kill "$PUB"

  # 3. The key: in no log, event or status line of the supervisor and its ingest.
  status_json >"$T/status.json"
  sigma-supervisor status --health "127.0.0.1:$HP" >>"$T/table"
  grep -q "rtmp://127.0.0.1:$TP/live/\*\*\*" "$T/status.json"
  ! grep -l "$KEY" "$T/sv.log" "$EVENTS_FILE" "$T/status.json" "$T/table" "$T/run/ingest-status.json"
  # The ingest's channels file has to hold the key: only its owner reads it.
  [[ $(stat -c %a "$T/run/ingest-channels") == 600 ]]
}
