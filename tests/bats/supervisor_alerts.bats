#!/usr/bin/env bats
# sigma-supervisor's alerts with real processes: an input that goes away and
# comes back, a filesystem that fills and is freed, a stage that keeps dying;
# each fires once and resolves once (counted in the events file), and shows
# in /status, /healthz and `sigma-supervisor status` while open. With
# hooks = FILE, sigma-hook runs as a stage and a real publish reaches a
# receiver signed as Standard Webhooks says.
load helpers
load supervisor_helpers

teardown() {
  stop_spawned
  if [[ -n ${T:-} ]] && mountpoint -q "$T/mnt" 2>/dev/null; then umount "$T/mnt"; fi
  rm -rf "$T"
}

# alerts ALERT STATE [JQ_FILTER]: how many alert.ALERT events in that state.
alerts() { count_events "alert.$1" ".state == \"$2\"${3:+ and ($3)}"; }
alerts_at_least() { (( $(alerts "$1" "$2") >= $3 )); }
# all_events TYPE JQ_COND [jq args...]: there is such an event and every one
# of them meets the condition (jq -s: -e over a stream judges the last line).
all_events() {
  local t=$1 cond=$2; shift 2
  jq -s -e --arg t "$t" "$@" "map(select(.type == \$t)) | length > 0 and all($cond)" "$EVENTS_FILE" >/dev/null
}
open_alert() { status_json | jq -e --arg a "$1" '.alerts | map(select(.alert == $a)) | length == 1' >/dev/null; }

@test "a published channel whose publisher stops raises alert.input_lost once, resolved once when it returns" {
  local ts RP
  ts=$(make_ts t20 20)
  RP=$(free_port)
  conf "rtmp = 127.0.0.1:$RP" "open_keys = yes" "input_lost_after = 2s" "alert_hold = 1s" "disk_low = off"
  channel pub "input = publish" "mode = low"
  start_sv
  spawn "$T/pub1.log" ffmpeg -nostdin -loglevel error -re -stream_loop -1 -i "$ts" -c copy -f flv \
    "rtmp://127.0.0.1:$RP/live/pub"
  local p1=$SPAWNED_PID
  WAIT_SECS=15 wait_for events_at_least segment.written 2 '.channel == "pub"' || { tail -20 "$T/sv.log"; return 1; }
  # Before the publisher stops, nothing is open.
  [[ $(status_json | jq '.alerts | length') -eq 0 ]]
  kill "$p1"
  WAIT_SECS=15 wait_for alerts_at_least input_lost firing 1 || { tail -20 "$T/sv.log"; return 1; }
  all_events alert.input_lost '.channel == "pub" and .key == "pub" and .severity == "critical"
    and .alert == "input_lost" and (.summary | test("no input")) and .id != null and .tool == "sigma-supervisor"'
  # The event came after the stream ended, by input_lost_after at least.
  python3 - "$EVENTS_FILE" <<'PY'
import json, sys, datetime
ev = [json.loads(l) for l in open(sys.argv[1])]
t = lambda e: datetime.datetime.fromisoformat(e["time"].replace("Z", "+00:00"))
ended = [e for e in ev if e["type"] == "stream.ended" and e.get("channel") == "pub"][-1]
fired = [e for e in ev if e["type"] == "alert.input_lost"][0]
assert (t(fired) - t(ended)).total_seconds() >= 1.9, (ended["time"], fired["time"])
PY
  open_alert input_lost
  run curl -s -w '%{http_code}' "$HEALTH/healthz"
  [[ $output == *"alert input_lost (critical): channel pub: no input for"* && $output == *503 ]]
  run sigma-supervisor -c "$T/sv.conf" status
  [[ $output == *"open alerts:"*"critical input_lost pub since "* ]]
  sleep 2  # the condition holds on: no second event
  [[ $(alerts input_lost firing) -eq 1 ]]
  spawn "$T/pub2.log" ffmpeg -nostdin -loglevel error -re -stream_loop -1 -i "$ts" -c copy -f flv \
    "rtmp://127.0.0.1:$RP/live/pub"
  WAIT_SECS=15 wait_for alerts_at_least input_lost resolved 1 || { tail -20 "$T/sv.log"; return 1; }
  all_events alert.input_lost '.key == "pub" and (.state == "firing" or .since != null)'
  ! open_alert input_lost
  sleep 1
  [[ $(alerts input_lost firing) -eq 1 && $(alerts input_lost resolved) -eq 1 ]]
  [[ $(alerts output_stale firing) -eq 0 ]]
}

@test "a filled small filesystem raises alert.disk_low once and resolves it when freed" {
  mkdir -p "$T/mnt"
  mount -t tmpfs -o size=8m tmpfs "$T/mnt"
  conf "out_root = $T/mnt" "disk_low = 25%" "disk_check_every = 200ms" "alert_hold = 1s"
  channel demo "$FAKE_SOURCE" "$FAKE_PACKAGE"
  start_sv
  WAIT_SECS=10 wait_for stage_up demo/package
  sleep 1
  [[ $(alerts disk_low firing) -eq 0 ]]
  dd if=/dev/zero of="$T/mnt/fill" bs=1M count=7 status=none
  wait_for alerts_at_least disk_low firing 1 || { tail -20 "$T/sv.log"; return 1; }
  # One filesystem, one alert, though out_root and the channel's directory are both on it.
  all_events alert.disk_low '.key == $k and .severity == "warning" and (.summary | test("under 25%"))' --arg k "$T/mnt"
  open_alert disk_low
  run curl -s "$HEALTH/healthz"
  [[ $output == *"alert disk_low (warning): $T/mnt: "*"free of 8.0 MiB"* ]]
  sleep 1.5
  [[ $(alerts disk_low firing) -eq 1 ]]
  rm "$T/mnt/fill"
  wait_for alerts_at_least disk_low resolved 1
  ! open_alert disk_low
  [[ $(alerts disk_low firing) -eq 1 && $(alerts disk_low resolved) -eq 1 ]]
}

stage_up() { [[ $(stage_field "$1" state) == up ]]; }

@test "a stage that keeps dying raises alert.stage_failed once; it resolves when the stage runs again after SIGHUP" {
  conf "death_tally = 3 in 60s" "backoff_initial = 100ms" "alert_hold = 1s" "disk_low = off"
  channel bad "input = exec sh -c '[ -e $T/ok ] || exit 1; while :; do head -c 1880 /dev/zero; sleep 0.05; done'" \
    "$FAKE_PACKAGE"
  start_sv
  WAIT_SECS=15 wait_for alerts_at_least stage_failed firing 1
  all_events alert.stage_failed '.key == "bad/source" and .channel == "bad" and .severity == "critical"
    and (.summary | test("3 deaths"))'
  status_json | jq -e '.alerts[] | select(.alert == "stage_failed") | .key == "bad/source" and .since != null' >/dev/null
  run curl -s "$HEALTH/healthz"
  [[ $output == *"alert stage_failed (critical): bad/source failed: 3 deaths within 60 s"* ]]
  sleep 2
  [[ $(alerts stage_failed firing) -eq 1 ]]
  touch "$T/ok"
  kill -HUP "$SV"
  wait_for alerts_at_least stage_failed resolved 1
  [[ $(stage_field bad/source state) == up ]]
  [[ $(alerts stage_failed firing) -eq 1 && $(alerts stage_failed resolved) -eq 1 ]]
  ! open_alert stage_failed
}
