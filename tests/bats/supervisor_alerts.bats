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
  # A warning: listed by /healthz, which still answers 200 (only critical
  # alerts make the supervisor unhealthy).
  run curl -s -w '%{http_code}' "$HEALTH/healthz"
  [[ $output == "ok"*"warning: alert disk_low (warning): $T/mnt: "*"free of 8.0 MiB"*200 ]]
  status_json | jq -e '.healthy and (.warnings | length == 1) and (.reasons | length == 0)' >/dev/null
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

# verify_delivery LOGLINE SECRET_FILE: the request's v1 signature is
# HMAC-SHA256(secret, id.timestamp.body), computed here by openssl.
verify_delivery() {
  local key hex want
  key=$(head -1 "$2")
  hex=$(printf '%s' "${key#whsec_}" | base64 -d | od -An -vtx1 | tr -d ' \n')
  want=$(jq -j '"\(.id).\(.timestamp).\(.body)"' <<<"$1" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$hex" -binary |
    base64)
  [[ " $(jq -r .signature <<<"$1") " == *" v1,$want "* ]]
}
delivered() { jq -e -s 'map(.body | fromjson | select(.type == "stream.started" and .channel == "pub")) | length > 0' \
  "$T/r.log" >/dev/null 2>&1; }

@test "hooks = FILE: sigma-hook runs as a stage; a real publish's stream.started reaches a receiver signed; a bad subscription file is FILE:LINE and exit 100" {
  local ts RP line
  ts=$(make_ts t20 20)
  RP=$(free_port)
  echo "whsec_$(head -c 32 /dev/urandom | base64)" >"$T/r.secret"
  spawn "$T/r.out" python3 "$BATS_TEST_DIRNAME/hook_receiver.py" --port-file "$T/r.port" --log "$T/r.log"
  wait_for test -s "$T/r.port"
  # Nothing listens on the dead one's port: its event is dead-lettered
  # after max_age, and sigma-hook says so with alert.webhook_failed.
  cat >"$T/hooks.conf" <<CONF
[subscription r]
url = http://127.0.0.1:$(cat "$T/r.port")/hook
secret_file = $T/r.secret
events = stream.*

[subscription dead]
url = http://127.0.0.1:$(free_port)/x
secret_file = $T/r.secret
events = stream.started
max_age = 1s
backoff_initial = 100ms
CONF
  # sigma-hook follows a file: hooks without an events file is refused.
  conf "events = -" "hooks = $T/hooks.conf"
  run sigma-supervisor -c "$T/sv.conf"
  [[ $status -eq 100 && $output == *"$T/sv.conf:7: hooks = $T/hooks.conf needs [global] events = FILE"* ]]
  conf "rtmp = 127.0.0.1:$RP" "open_keys = yes" "hooks = $T/hooks.conf" "disk_low = off" "alert_hold = 1s"
  channel pub "input = publish" "mode = low"
  # A bad subscription file: sigma-hook check's FILE:LINE, exit 100, at start and in --dry-run.
  cp "$T/hooks.conf" "$T/hooks.good"
  echo "timeout = soon" >>"$T/hooks.conf"
  run sigma-supervisor -c "$T/sv.conf" --dry-run
  [[ $status -eq 100 && $output == *"$T/hooks.conf:12:"* ]]
  run sigma-supervisor -c "$T/sv.conf"
  [[ $status -eq 100 && $output == *"$T/hooks.conf:12:"* ]]
  cp "$T/hooks.good" "$T/hooks.conf"
  run sigma-supervisor -c "$T/sv.conf" --dry-run
  [[ $status -eq 0 ]]
  [[ $output == *"sigma-hook run --config $T/hooks.conf --state $T/hooks.sqlite --events-in $T/events.ndjson"* ]]
  start_sv
  WAIT_SECS=10 wait_for stage_up hook || { tail -20 "$T/sv.log"; return 1; }
  local hook_pid
  hook_pid=$(stage_field hook pid)
  spawn "$T/pub.log" ffmpeg -nostdin -loglevel error -re -stream_loop -1 -i "$ts" -c copy -f flv \
    "rtmp://127.0.0.1:$RP/live/pub"
  WAIT_SECS=20 wait_for delivered || { tail -20 "$T/sv.log"; cat "$T/r.log"; return 1; }
  line=$(jq -c 'select((.body | fromjson) | .type == "stream.started" and .channel == "pub")' "$T/r.log" | head -1)
  verify_delivery "$line" "$T/r.secret"
  # The body is the event the ingest wrote, id and all.
  local id
  id=$(jq -r '.body | fromjson | .id' <<<"$line")
  [[ $(jq -r .id <<<"$line") == "$id" ]]
  [[ $(count_events stream.started ".id == \"$id\" and .tool == \"sigma-ingest\"") -eq 1 ]]
  # A signature made with another secret does not verify.
  echo "whsec_$(head -c 32 /dev/urandom | base64)" >"$T/other.secret"
  ! verify_delivery "$line" "$T/other.secret"
  # sigma-hook's alert comes back through the supervisor: in the events
  # file, open in /status and in /healthz.
  WAIT_SECS=15 wait_for alerts_at_least webhook_failed firing 1 || { tail -20 "$T/sv.log"; return 1; }
  all_events alert.webhook_failed '.tool == "sigma-hook" and .key == "dead"'
  status_json | jq -e '.alerts[] | select(.alert == "webhook_failed") | .key == "dead" and .from == "stage"' >/dev/null
  run curl -s "$HEALTH/healthz"
  [[ $output == *"alert webhook_failed (warning): webhook dead failed"* ]]
  # SIGHUP with a broken subscription file: refused, the hook stage goes on.
  echo "bogus_key = 1" >>"$T/hooks.conf"
  kill -HUP "$SV"
  wait_for events_at_least config.rejected 1
  all_events config.rejected '.reason | test("hooks.conf:12: ")'
  [[ $(stage_field hook pid) == "$hook_pid" && $(stage_field hook state) == up ]]
  # A good edit and SIGHUP: the supervisor passes the SIGHUP on, the same
  # sigma-hook takes the new subscription.
  cp "$T/hooks.good" "$T/hooks.conf"
  printf '\n[subscription r2]\nurl = http://127.0.0.1:%s/r2\nsecret_file = %s\n' "$(cat "$T/r.port")" \
    "$T/r.secret" >>"$T/hooks.conf"
  kill -HUP "$SV"
  WAIT_SECS=15 wait_for grep -q '"path": "/r2"' "$T/r.log" || { tail -20 "$T/sv.log"; return 1; }
  [[ $(stage_field hook pid) == "$hook_pid" ]]
  line=$(grep '"path": "/r2"' "$T/r.log" | head -1)
  verify_delivery "$line" "$T/r.secret"
}
