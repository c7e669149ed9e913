#!/usr/bin/env bats
# sigma-test: first (a long file: started before the others, scripts/test)
# sigma-supervisor with real processes: restarts, permanent failure, hygiene
# after many kills, SIGHUP, SIGTERM, health, and a live channel of the real
# tools (ffmpeg -> sigma-transcode -> sigma-package -> sigma-origin) whose
# stages are killed one by one while it plays.
load helpers
load supervisor_helpers

healthy() { curl -sf -o /dev/null "$HEALTH/healthz"; }
# Every pid in the supervisor's subtree.
descendants() {
  local p=$1 c
  for c in $(ps -o pid= --ppid "$p"); do echo "$c"; descendants "$c"; done
}
# For wait_for, which re-runs a command: these re-read at each try.
stage_is() { [[ $(stage_field "$1" state) == "$2" ]]; }
# stage_respawned ID OLDPID: it has a pid again, and not the old one.
stage_respawned() { local p; p=$(stage_field "$1" pid); [[ $p =~ ^[0-9]+$ && $p != "$2" ]]; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
fd_count() { ls "/proc/$1/fd" | wc -l; }

@test "a config error names the file and line and exits 100; --dry-run prints a script that runs" {
  conf
  channel demo "$FAKE_SOURCE" "mode = fast"
  run sigma-supervisor -c "$T/sv.conf"
  [[ $status -eq 100 ]]
  [[ $output == *"$T/sv.conf:11: mode: expected normal, low or ultra-low"* ]]
  run sigma-supervisor -c "$T/nope.conf"
  [[ $status -eq 100 ]]
  [[ $output == *"$T/nope.conf"* ]]

  conf
  channel demo "input = exec sh -c 'printf x; sleep 0.3'" \
    "package.command = sh -c 'head -c 1 {input} > $T/got; echo >&{ready_fd}'"
  run sigma-supervisor -c "$T/sv.conf" --dry-run
  [[ $status -eq 0 ]]
  echo "$output" >"$T/graph.sh"
  grep -qx "mkfifo -m 0600 $T/run/demo/source.ts" <(sed 's/^\[ -p [^]]* \] || //' "$T/graph.sh")
  grep -q "^exec 3<>$T/run/demo/source.ts$" "$T/graph.sh"
  [[ ! -e $T/run ]]  # a dry run creates nothing
  # The printed script is the same graph, runnable by hand.
  run timeout 10 bash "$T/graph.sh"
  [[ $status -eq 0 ]]
  [[ $(cat "$T/got") == x ]]
}

@test "a stage that always fails ends 'failed' with an alert event, after spaced retries, not a busy loop" {
  conf "death_tally = 3 in 60s" "backoff_initial = 200ms"
  channel bad "input = exec sh -c 'exit 1'" "$FAKE_PACKAGE"
  channel usage "$FAKE_SOURCE" "package.command = sh -c 'exit 100'"
  start_sv
  WAIT_SECS=15 wait_for events_at_least stage.failed 1 '.channel == "bad"' 
  [[ $(stage_field bad/source state) == failed ]]
  # Exactly death_tally spawns, each at least 1 s after the one before.
  jq -r 'select(.type == "stage.started" and .channel == "bad" and .stage == "source") | .time' \
    "$T/events.ndjson" >"$T/starts"
  [[ $(wc -l <"$T/starts") -eq 3 ]]
  python3 - "$T/starts" <<'PY'
import sys, datetime
t = [datetime.datetime.fromisoformat(l.strip().replace("Z", "+00:00")) for l in open(sys.argv[1])]
gaps = [(b - a).total_seconds() for a, b in zip(t, t[1:])]
assert all(g >= 0.99 for g in gaps), gaps
PY
  # Slurped: jq 1.6's -e exits 4 when the file's last line selects nothing,
  # i.e. whenever another event lands after this one (a loaded machine).
  jq -s -e '[.[] | select(.type == "stage.failed" and .channel == "bad")] |
    length > 0 and all(.alert == true and (.reason | test("3 deaths")))' "$T/events.ndjson"
  # Exit 100 is never retried: one spawn, failed at once.
  [[ $(count_events stage.started '.channel == "usage" and .stage == "package"') -eq 1 ]]
  [[ $(stage_field usage/package state) == failed ]]
  # Nothing more is spawned afterwards, and the supervisor sleeps.
  local before cpu0 cpu1
  before=$(count_events stage.started)
  cpu0=$(awk '{print $14 + $15}' "/proc/$SV/stat")
  sleep 3
  cpu1=$(awk '{print $14 + $15}' "/proc/$SV/stat")
  [[ $(count_events stage.started) -eq $before ]]
  (( cpu1 - cpu0 < 20 ))  # under 0.2 s of CPU in 3 s (clock ticks of 10 ms)
  # Health says why.
  run curl -s -w '%{http_code}' "$HEALTH/healthz"
  [[ $output == *"bad/source failed: 3 deaths within 60 s"* ]]
  [[ $output == *"usage/package failed: exited with 100"* ]]
  [[ $output == *503 ]]
  # SIGHUP is the operator's "try again".
  kill -HUP "$SV"
  wait_for events_at_least stage.started 2 '.channel == "usage" and .stage == "package"' 
}

@test "50 kills in a row leave no zombie, no extra fd and no growing RSS in the supervisor" {
  conf "death_tally = 1000 in 60s" "backoff_initial = 100ms" "backoff_max = 1s" "stable_after = 500ms"
  local c ids=() i id pid fds0 rss0 fds1 rss1
  # Ten stages in rotation: each is killed every tenth time, so the 1 s
  # spacing of its spawns is not what the test waits for.
  for c in a b c d e; do
    channel "$c" "$FAKE_SOURCE" "$FAKE_PACKAGE"
    ids+=("$c/source" "$c/package")
  done
  start_sv
  wait_for healthy
  # Warm up (first allocations of each path), then take the baseline.
  for id in "${ids[@]}"; do
    pid=$(stage_field "$id" pid)
    kill -9 "$pid"
    wait_for stage_respawned "$id" "$pid"
  done
  wait_for healthy
  sleep 0.3  # let the last health request's socket close
  fds0=$(fd_count "$SV")
  rss0=$(rss_kb "$SV")
  ls -l "/proc/$SV/fd" >"$T/fds0"
  # Ten rounds of five kills at once (half the stages, alternating halves).
  local round k pids=()
  for ((round = 0; round < 10; round++)); do
    pids=()
    for ((k = round % 2; k < 10; k += 2)); do
      pid=$(stage_field "${ids[k]}" pid)
      [[ $pid =~ ^[0-9]+$ ]] || { echo "round $round: ${ids[k]} has no pid"; return 1; }
      pids+=("$pid")
    done
    kill -9 "${pids[@]}"
    for ((k = round % 2, i = 0; k < 10; k += 2, i++)); do
      wait_for stage_respawned "${ids[k]}" "${pids[i]}" ||
        { echo "round $round: ${ids[k]} did not come back"; tail "$T/sv.log"; return 1; }
    done
  done
  wait_for healthy
  sleep 0.3
  fds1=$(fd_count "$SV")
  rss1=$(rss_kb "$SV")
  echo "fds $fds0 -> $fds1, rss $rss0 -> $rss1 kB"
  ls -l "/proc/$SV/fd" | diff "$T/fds0" - || true
  [[ $fds1 -eq $fds0 ]]
  (( rss1 - rss0 < 512 ))
  # No zombie anywhere below the supervisor.
  run ps -o pid=,stat= --ppid "$SV"
  [[ $output != *Z* ]]
  [[ $(count_events stage.restarted) -ge 60 ]]
  [[ $(count_events stage.exited '.signal == "SIGKILL"') -ge 60 ]]
  # Children have exactly 0, 1, 2 and the ready/events pipes: nothing of
  # the supervisor's (signalfd, sockets, held FIFOs, events file).
  pid=$(stage_field a/source pid)
  run ls "/proc/$pid/fd"
  echo "$output"
  [[ $(echo "$output" | sort -n | tr '\n' ' ') == "0 1 2 " ]]
}

@test "SIGHUP adds, changes and removes channels and leaves the others' pids alone" {
  conf
  channel one "$FAKE_SOURCE" "$FAKE_PACKAGE"
  channel two "$FAKE_SOURCE" "$FAKE_PACKAGE"
  start_sv
  wait_for healthy
  local one_src one_pkg two_src
  one_src=$(stage_field one/source pid)
  one_pkg=$(stage_field one/package pid)
  two_src=$(stage_field two/source pid)
  conf
  channel one "$FAKE_SOURCE" "$FAKE_PACKAGE"
  channel two "$FAKE_SOURCE" "$FAKE_PACKAGE" "package.args = --changed"
  channel three "$FAKE_SOURCE" "$FAKE_PACKAGE"
  kill -HUP "$SV"
  wait_for stage_is three/package up
  wait_for healthy
  [[ $(stage_field one/source pid) -eq $one_src ]]
  [[ $(stage_field one/package pid) -eq $one_pkg ]]
  [[ $(stage_field two/source pid) -eq $two_src ]]  # only its package changed
  [[ -p $T/run/three/source.ts ]]
  [[ $(count_events channel.added '.channel == "three"') -eq 1 ]]
  # Removing a channel stops its stages and its FIFO, nothing else.
  local three_pkg
  three_pkg=$(stage_field three/package pid)
  conf
  channel one "$FAKE_SOURCE" "$FAKE_PACKAGE"
  kill -HUP "$SV"
  wait_for bash -c "! kill -0 $three_pkg 2>/dev/null"
  [[ ! -e $T/run/three/source.ts ]]
  [[ $(stage_field one/package pid) -eq $one_pkg ]]
  # A broken config is refused whole; everything keeps running.
  echo "bogus line" >>"$T/sv.conf"
  kill -HUP "$SV"
  wait_for events_at_least config.rejected 1
  [[ $(stage_field one/package pid) -eq $one_pkg ]]
  grep -q "sv.conf:[0-9]*: expected 'key = value'" "$T/sv.log"
}

@test "SIGTERM stops every child (SIGKILL after the grace period) and exits 0" {
  conf "stop_grace = 1s"
  channel a "$FAKE_SOURCE" "$FAKE_PACKAGE"
  # A stage that ignores SIGTERM, and leaves a grandchild behind.
  channel stubborn "input = exec sh -c 'trap \"\" TERM; sleep 1000 & while :; do sleep 0.1; done'" "$FAKE_PACKAGE"
  start_sv
  wait_for healthy
  local kids
  kids=$(descendants "$SV")
  [[ $(wc -w <<<"$kids") -ge 5 ]]
  kill -TERM "$SV"
  local t0=$SECONDS
  timeout 10 tail --pid="$SV" -f /dev/null
  wait "$SV" && rc=0 || rc=$?
  [[ $rc -eq 0 ]]
  (( SECONDS - t0 <= 4 ))
  for p in $kids; do
    ! kill -0 "$p" 2>/dev/null || { ps -o pid,stat,cmd -p "$p"; return 1; }
  done
  [[ ! -e $T/run/a/source.ts ]]
  grep -q '"type":"supervisor.stopped"' "$T/events.ndjson"
  grep -q "stubborn/source: still running 1000 ms after SIGTERM, sending SIGKILL" "$T/sv.log"
}

@test "/healthz, /status and 'sigma-supervisor status' report every stage" {
  conf
  channel demo "$FAKE_SOURCE" "$FAKE_PACKAGE"
  start_sv
  wait_for healthy
  run curl -s -i "$HEALTH/healthz"
  [[ $output == *"HTTP/1.0 200 OK"* && $output == *ok* ]]
  status_json >"$T/status.json"
  jq -e '.healthy == true and (.channels[0].name == "demo") and (.channels[0].state == "up")' "$T/status.json"
  jq -e '.channels[0].stages | map(.stage) == ["source", "package"]' "$T/status.json"
  jq -e '.channels[0].stages[] | (.pid | type) == "number" and .restarts == 0 and .uptime_s >= 0' "$T/status.json"
  run sigma-supervisor -c "$T/sv.conf" status
  [[ $status -eq 0 ]]
  [[ ${lines[0]} == "CHANNEL  STAGE"* ]]
  [[ $output =~ demo\ +package\ +up\ +[0-9]+\ +0 ]]
  [[ ${lines[-1]} == healthy ]]
  # The man page's synopsis order: options after "status".
  run sigma-supervisor status -c "$T/sv.conf" --json
  [[ $status -eq 0 ]]
  jq -e '.channels[0].name == "demo"' <<<"$output"
  run sigma-supervisor status --health "127.0.0.1:$HP"
  [[ $status -eq 0 && ${lines[-1]} == healthy ]]
  run sigma-supervisor status --health "127.0.0.1:$(free_port)"
  [[ $status -eq 111 ]]
  run curl -s -o /dev/null -w '%{http_code}' "$HEALTH/nope"
  [[ $output == 404 ]]
  # A stage down: 503 with the reason.
  kill -STOP "$SV"; kill -9 "$(ps -o pid= --ppid "$SV" | head -1)"; kill -CONT "$SV"
  run curl -s -w ' %{http_code}' "$HEALTH/healthz"
  [[ $output == *503 || $output == *200 ]]  # racing the restart; the events say what happened
  wait_for healthy
  [[ $(count_events channel.down) -ge 1 && $(count_events channel.up) -ge 2 ]]
  # Port taken: a clear error, exit 111.
  run sigma-supervisor -c "$T/sv.conf"
  [[ $status -eq 111 ]]
  [[ $output == *"listen on 127.0.0.1:$HP"* ]]
}

# playlist_facts PLAYLIST: checks that a media playlist is valid and prints
# "LAST_MSN DISCONTINUITIES_EVER" (DISCONTINUITY-SEQUENCE + tags listed).
playlist_facts() {
  python3 - "$1" <<'PY'
import os, sys
path = sys.argv[1]
lines = [l.strip() for l in open(path) if l.strip()]
assert lines[0] == "#EXTM3U", "no #EXTM3U"
tags = {l.split(":", 1)[0]: l.split(":", 1)[1] if ":" in l else "" for l in lines if l.startswith("#")}
target = int(tags["#EXT-X-TARGETDURATION"])
msn = int(tags.get("#EXT-X-MEDIA-SEQUENCE", "0"))
disc_seq = int(tags.get("#EXT-X-DISCONTINUITY-SEQUENCE", "0"))
segs, disc, extinf = 0, 0, None
for l in lines[1:]:
    if l.startswith("#EXTINF:"):
        extinf = float(l[8:].split(",")[0])
        assert extinf <= target + 0.5, f"EXTINF {extinf} > target {target}"
    elif l == "#EXT-X-DISCONTINUITY":
        disc += 1
    elif not l.startswith("#"):
        assert extinf is not None, f"URI {l} without EXTINF"
        assert os.path.exists(os.path.join(os.path.dirname(path), l)), f"{l} listed but missing"
        segs += 1
        extinf = None
assert segs > 0, "no segment"
print(msn + segs - 1, disc_seq + disc)
PY
}
last_msn() { playlist_facts "$1" | cut -d' ' -f1; }
msn_above() { local m; m=$(last_msn "$1" 2>/dev/null) && (( m > $2 )); }

require_tools() {
  local t
  for t in sigma-ingest sigma-transcode sigma-package sigma-origin; do
    command -v "$t" >/dev/null || { echo "$t not built"; return 1; }
  done
}

# kill_and_check ID PLAYLIST: kill -9 the stage, then a new segment must be
# listed within 3 s, the playlist must stay valid, with one more
# DISCONTINUITY at most, and the stage must be back.
kill_and_check() {
  local id=$1 pl=$2 facts0 facts1 pid t0
  facts0=$(playlist_facts "$pl")
  pid=$(stage_field "$id" pid)
  t0=$(date +%s%N)
  kill -9 "$pid"
  WAIT_SECS=3 wait_for msn_above "$pl" "${facts0% *}" ||
    { echo "killed $id: no new segment after msn ${facts0% *} in $pl within 3 s"; cat "$pl"; tail -20 "$T/sv.log"; return 1; }
  echo "killed $id: a new segment $(( ($(date +%s%N) - t0) / 1000000 )) ms later"
  wait_for stage_respawned "$id" "$pid"
  # Two segments made after the respawn: the restarted stage's output (and
  # its DISCONTINUITY) is in the playlist before it is judged, not in the
  # next kill's window (on a loaded machine a transcoder's restart showed
  # up a second later).
  local m
  m=$(last_msn "$pl")
  WAIT_SECS=10 wait_for msn_above "$pl" $((m + 1)) || { echo "killed $id: the playlist stopped at msn $m"; cat "$pl"; return 1; }
  facts1=$(playlist_facts "$pl") || { cat "$pl"; return 1; }
  (( ${facts1#* } - ${facts0#* } <= 1 )) ||
    { echo "killed $id: discontinuities ${facts0#* } -> ${facts1#* }"; cat "$pl"; return 1; }
}

@test "kill -9 each stage of live channels in turn: a new segment within 3 s, valid playlists, hls.js plays on" {
  require_tools
  local ts OP RP
  ts=$(make_ts t20 20)
  OP=$(free_port)
  RP=$(free_port)
  conf "origin = 127.0.0.1:$OP" "rtmp = 127.0.0.1:$RP" "open_keys = yes" \
    "backoff_initial = 100ms" "stable_after = 2s"
  # ffmpeg source -> sigma-transcode (one rung) -> sigma-package
  channel live "input = exec ffmpeg -nostdin -loglevel error -re -stream_loop -1 -i $ts -c copy -f mpegts -" \
    "mode = low" "ladder = 320x180@300k" "preset = ultrafast" \
    "transcode.args = --keyframe-interval 1" "package.args = --segment-duration 1"
  # RTMP publisher -> shared sigma-ingest -> sigma-package
  channel pub "input = publish" "mode = low" "package.args = --segment-duration 1"
  start_sv
  # The publisher reconnects when the ingest goes away, as OBS does.
  spawn "$T/publisher.log" bash -c "while :; do ffmpeg -nostdin -loglevel error -re -stream_loop -1 -i '$ts' \
    -c copy -f flv rtmp://127.0.0.1:$RP/live/pub; sleep 0.2; done"
  local LIVE=$T/out/live/v0/index.m3u8 PUB=$T/out/pub/v0/index.m3u8
  WAIT_SECS=40 wait_for msn_above "$LIVE" 2 || { tail -20 "$T/sv.log"; return 1; }
  WAIT_SECS=20 wait_for msn_above "$PUB" 2 || { tail -20 "$T/sv.log"; return 1; }
  WAIT_SECS=10 wait_for healthy || { curl -s "$HEALTH/healthz"; return 1; }
  status_json | jq -e '.channels[] | select(.name == "live") | .last_segment_age_s < 3'
  status_json | jq -e '.channels[] | select(.name == "pub") | .input_kbps > 100'

  local player=-1
  if [[ -f $BATS_TEST_DIRNAME/../../web/node_modules/hls.js/dist/hls.min.js ]]; then
    spawn "$T/play.log" node "$BATS_TEST_DIRNAME/../browser/play.js" "http://127.0.0.1:$OP/live/master.m3u8" 40
    player=$SPAWNED_PID
    sleep 5  # the browser starts and begins to play
  fi
  kill_and_check live/source "$LIVE"
  sleep 1
  kill_and_check live/transcode "$LIVE"
  sleep 1
  kill_and_check live/package "$LIVE"
  sleep 1
  kill_and_check ingest "$PUB"
  sleep 1
  kill_and_check origin "$LIVE"
  WAIT_SECS=3 wait_for curl -sf -o /dev/null "http://127.0.0.1:$OP/live/master.m3u8"
  WAIT_SECS=10 wait_for healthy
  [[ $(count_events stage.exited '.signal == "SIGKILL"') -ge 5 ]]
  if ((player > 0)); then
    wait "$player" || true
    cat "$T/play.log"
    local json
    json=$(tail -1 "$T/play.log")
    [[ $(jq .errors_fatal <<<"$json") -eq 0 ]]
    [[ $(jq .frames_decoded <<<"$json") -gt 300 ]]
  fi
}

@test "kill -9 sigma-package of a live channel: the restarted packager continues the same playlist within 3 s" {
  require_tools
  local ts
  ts=$(make_ts t20v 20 -an)
  conf "backoff_initial = 100ms"
  channel live "input = exec ffmpeg -nostdin -loglevel error -re -stream_loop -1 -i $ts -c copy -f mpegts -" \
    "mode = low" "package.args = --segment-duration 1"
  start_sv
  local LIVE=$T/out/live/v0/index.m3u8
  WAIT_SECS=30 wait_for msn_above "$LIVE" 2 || { tail -20 "$T/sv.log"; return 1; }
  kill_and_check live/package "$LIVE"
  sleep 1
  kill_and_check live/package "$LIVE"
}

@test "contrib/demo.conf: the demo channel runs under the supervisor and its playlist is served by the origin" {
  require_tools
  local OP
  OP=$(free_port)
  # Paths that do not exist yet, as on a fresh machine.
  sed -e "s#/tmp/sigma-demo#$T/fresh#" -e "s/127.0.0.1:8080/127.0.0.1:$OP/" -e "s/127.0.0.1:9980/127.0.0.1:$HP/" \
    "$BATS_TEST_DIRNAME/../../contrib/demo.conf" >"$T/sv.conf"
  start_sv
  WAIT_SECS=40 wait_for msn_above "$T/fresh/out/demo/v0/index.m3u8" 0 || { tail -20 "$T/sv.log"; return 1; }
  WAIT_SECS=10 wait_for healthy
  run curl -sf "http://127.0.0.1:$OP/demo/master.m3u8"
  [[ $status -eq 0 && $output == "#EXTM3U"* && $output == *"v0/index.m3u8"* ]]
  # A segment, through the origin, decodes.
  local seg
  seg=$(grep -v '^#' "$T/fresh/out/demo/v0/index.m3u8" | tail -1)
  curl -sf -o "$T/seg.mp4" "http://127.0.0.1:$OP/demo/v0/$seg"
  cat "$T/fresh/out/demo/v0/init.mp4" "$T/seg.mp4" >"$T/one.mp4"
  grep -q '"type":"channel.up"' "$T/fresh/events.ndjson"
  [[ $(count_frames "$T/one.mp4") -ge 30 ]]
}

@test "a published channel without a ladder is packaged inside the shared sigma-ingest: no FIFO, no sigma-package, healthy, back after kill -9" {
  require_tools
  local ts RP
  ts=$(make_ts t20 20)
  RP=$(free_port)
  conf "rtmp = 127.0.0.1:$RP" "open_keys = yes" "backoff_initial = 100ms" "stable_after = 2s"
  channel pub "input = publish" "mode = low" "dvr = 20s" "events = $T/pub-events.ndjson"
  channel sep "input = publish" "mode = low" "package_in_ingest = no"
  run sigma-supervisor -c "$T/sv.conf" --dry-run
  [[ $status -eq 0 ]]
  [[ $output == *"--channels $T/run/ingest-channels "* ]]
  grep -qx "pub=$T/out/pub,mode=low,window=20" <<<"$output"  # the --channels file's heredoc
  [[ $output != *"sigma-package -i $T/run/pub/source.ts"* && $output == *"sigma-package -i $T/run/sep/source.ts"* ]]
  start_sv
  spawn "$T/publisher.log" bash -c "while :; do ffmpeg -nostdin -loglevel error -re -stream_loop -1 -i '$ts' \
    -c copy -f flv rtmp://127.0.0.1:$RP/live/pub; sleep 0.2; done"
  spawn "$T/publisher2.log" bash -c "while :; do ffmpeg -nostdin -loglevel error -re -stream_loop -1 -i '$ts' \
    -c copy -f flv rtmp://127.0.0.1:$RP/live/sep; sleep 0.2; done"
  local PUB=$T/out/pub/v0/index.m3u8
  WAIT_SECS=20 wait_for msn_above "$PUB" 2 || { tail -20 "$T/sv.log"; return 1; }
  WAIT_SECS=20 wait_for msn_above "$T/out/sep/v0/index.m3u8" 2 || { tail -20 "$T/sv.log"; return 1; }
  WAIT_SECS=10 wait_for healthy || { curl -s "$HEALTH/healthz"; return 1; }
  status_json | tee "$T/st.json" | jq -e '.channels[] | select(.name == "pub") | .state == "up" and (.stages | map(.id)) == ["ingest"]' || { cat "$T/st.json"; return 1; }
  status_json | jq -e '.channels[] | select(.name == "sep") | (.stages | map(.stage)) == ["package"]'
  [[ ! -e $T/run/pub/source.ts && -p $T/run/sep/source.ts ]]
  # The ingest's segment.written events reach the channel's own events file.
  wait_for grep -q '"type":"segment.written"' "$T/pub-events.ndjson"
  jq -e 'select(.type == "segment.written") | .channel == "pub" and .track != null' "$T/pub-events.ndjson" >/dev/null
  [[ $(count_events channel.up '.channel == "pub"') -ge 1 ]]
  kill_and_check ingest "$PUB"
  WAIT_SECS=10 wait_for healthy
  [[ $(count_events channel.down '.channel == "pub"') -ge 1 ]]
}

@test "SIGHUP adding and removing a published channel signals the shared ingest: same pid, the other publisher stays on" {
  require_tools
  local ts RP OP
  ts=$(make_ts t20 20)
  RP=$(free_port)
  OP=$(free_port)
  conf "rtmp = 127.0.0.1:$RP" "open_keys = yes" "origin = 127.0.0.1:$OP"
  channel pub "input = publish" "mode = low"
  start_sv
  # One ffmpeg, no retry loop: a dropped connection would end it.
  spawn "$T/publisher.log" ffmpeg -nostdin -loglevel error -re -stream_loop -1 -i "$ts" -c copy -f flv \
    "rtmp://127.0.0.1:$RP/live/pub"
  local PUBLISHER=$SPAWNED_PID PUB=$T/out/pub/v0/index.m3u8
  WAIT_SECS=20 wait_for msn_above "$PUB" 1 || { tail -20 "$T/sv.log"; return 1; }
  local ingest
  ingest=$(stage_field ingest pid)
  channel two "input = publish" "mode = low"
  kill -HUP "$SV"
  wait_for events_at_least config.reloaded 1 '.restarted != null'  # the ingest's own
  grep -qx "two=$T/out/two,mode=low" "$T/run/ingest-channels"
  spawn "$T/publisher2.log" ffmpeg -nostdin -loglevel error -re -stream_loop -1 -i "$ts" -c copy -f flv \
    "rtmp://127.0.0.1:$RP/live/two"
  local TWO=$SPAWNED_PID
  WAIT_SECS=20 wait_for msn_above "$T/out/two/v0/index.m3u8" 1 || { tail -20 "$T/sv.log"; return 1; }
  curl -sf "http://127.0.0.1:$OP/two/v0/index.m3u8" | grep -q '^#EXTINF'
  # Removing it drops its publisher only.
  conf "rtmp = 127.0.0.1:$RP" "open_keys = yes" "origin = 127.0.0.1:$OP"
  channel pub "input = publish" "mode = low"
  kill -HUP "$SV"
  wait_for bash -c "! kill -0 $TWO 2>/dev/null"
  [[ $(stage_field ingest pid) -eq $ingest ]]
  kill -0 "$PUBLISHER"
  [[ $(count_events stream.started '.channel == "pub"') -eq 1 ]]
  [[ $(count_events stream.ended '.channel == "pub"') -eq 0 ]]
  [[ $(count_events stream.ended '.channel == "two" and .reason == "channel reconfigured"') -eq 1 ]]
  local msn
  msn=$(last_msn "$PUB")
  WAIT_SECS=5 wait_for msn_above "$PUB" "$msn"
  [[ $(grep -c DISCONTINUITY "$PUB") -eq 0 ]]
  curl -sf "http://127.0.0.1:$OP/pub/v0/index.m3u8" | grep -q '^#EXTINF'
}
