# What the supervisor suites (supervisor.bats, supervisor_dvr.bats) share:
# a temporary directory and health port per test, stand-in stages, a config
# written by the test, the supervisor started on it, and its /status read.

setup() {
  T=$(mktemp -d "${BATS_TMPDIR:-/tmp}/$(basename "$BATS_TEST_FILENAME" .bats).XXXXXX")
  EVENTS_FILE=$T/events.ndjson
  HP=$(free_port)
  HEALTH=http://127.0.0.1:$HP
}

teardown() {
  stop_spawned
  rm -rf "$T"
}

# A source that writes TS-sized chunks forever; a package stand-in that
# reads its FIFO and signals readiness on the fd it is given.
FAKE_SOURCE="input = exec sh -c 'while :; do head -c 1880 /dev/zero; sleep 0.05; done'"
FAKE_PACKAGE="package.command = sh -c 'echo >&{ready_fd}; exec cat {input} >/dev/null'"

# conf [global lines...]: a [global] section for this test; channels are
# appended by the test.
conf() {
  local d
  {
    echo "[global]"
    for d in "run_dir = $T/run" "out_root = $T/out" "health = 127.0.0.1:$HP" "origin = off" \
      "events = $T/events.ndjson"; do
      # A default the test does not set itself.
      [[ " ${*%% =*} " == *" ${d%% =*} "* ]] || echo "$d"
    done
    printf '%s\n' "$@"
  } >"$T/sv.conf"
}

channel() { # channel NAME lines...
  local name=$1; shift
  { echo; echo "[channel $name]"; printf '%s\n' "$@"; } >>"$T/sv.conf"
}

start_sv() {
  spawn "$T/sv.log" sigma-supervisor -c "$T/sv.conf" "$@"
  SV=$SPAWNED_PID
  wait_for curl -s -o /dev/null "$HEALTH/status" || { cat "$T/sv.log"; return 1; }
}

status_json() { curl -s "$HEALTH/status"; }
# stage_field ID FIELD
stage_field() {
  status_json | jq -r --arg id "$1" --arg f "$2" '[.shared[], .channels[].stages[]] | map(select(.id == $id))[0][$f]'
}
