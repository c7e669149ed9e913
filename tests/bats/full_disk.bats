#!/usr/bin/env bats
# A full disk (issue 21): a published channel under sigma-supervisor with
# its output, its archive (sigma-dvr, archive_min_free) and its source
# recording on one small tmpfs. A file then eats the space: first down to
# under the archive's free-space floor (the archive's oldest segments go,
# the live edge goes on), then all of it (the packager lists what it
# cannot write as EXT-X-GAP, the recording drops what it cannot write,
# alert.disk_full fires). Throughout, every 300 ms, every playlist parses
# and every file it names exists. When the space returns, segments flow
# again, the alert resolves, the recording grows, and no process was
# restarted by hand or by the supervisor.
load helpers
load supervisor_helpers

teardown() {
  stop_spawned
  if [[ -n ${T:-} ]] && mountpoint -q "$T/mnt" 2>/dev/null; then umount "$T/mnt"; fi
  rm -rf "$T"
}

alerts() { count_events "alert.$1" ".state == \"$2\""; }
alerts_at_least() { (( $(alerts "$1" "$2") >= $3 )); }
# written_after N: more than N segment.written events with a file (no gap)
# for channel live's video.
written() { count_events segment.written '.channel == "live" and .track == "v0" and (.gap | not)'; }
written_after() { (( $(written) > $1 )); }
space_deleted() { events_at_least dvr.deleted 1 '.reason == "space" and .channel == "live"'; }
recovered() { events_at_least output.recovered 1 ".writer == \"$1\""; }
# The newest segment the video playlist lists (its media sequence + count - 1).
edge() {
  awk -F: '/^#EXT-X-MEDIA-SEQUENCE:/ { s = $2 } /^#EXTINF:/ { n++ } END { print s + n - 1 }' "$OUT/v0/index.m3u8"
}
edge_past() { (( $(edge) > $1 )); }
avail() { df --output=avail -B1 "$T/mnt" | tail -1; }
# recording_bytes: the size of the channel's recording(s).
recording_bytes() { cat "$T/mnt/rec"/live-*.ts 2>/dev/null | wc -c; }
recording_past() { (( $(recording_bytes) > $1 )); }

# check_playlists ROOT OUT: every 0.3 s, every playlist under ROOT is read
# and held to what a player needs of it: whole (#EXTM3U first, a newline
# last, the media tags a player cannot do without), and every URI it
# lists there (variants, EXT-X-MAP, parts, segments not marked EXT-X-GAP).
# A file found missing counts only if the playlist naming it has not
# changed meanwhile (it is not the archive's retention racing a reader of
# an older version). Violations go to OUT.bad, the rounds to OUT.rounds.
check_playlists() {
  cat >"$2.py" <<'PY'
import glob, os, re, sys, time
root, out = sys.argv[1], sys.argv[2]
rounds = 0

def problems(path, text):
    bad = []
    d = os.path.dirname(path)
    lines = text.split("\n")
    if not text.endswith("\n"):
        bad.append("does not end with a newline (half-written)")
    if lines[0] != "#EXTM3U":
        bad.append("does not start with #EXTM3U")
    master = os.path.basename(path) == "master.m3u8"
    if not master:
        for tag in ("#EXT-X-TARGETDURATION:", "#EXT-X-MEDIA-SEQUENCE:", "#EXT-X-VERSION:"):
            if not any(l.startswith(tag) for l in lines):
                bad.append("no " + tag[:-1])
    elif not any(l.startswith("#EXT-X-STREAM-INF:") for l in lines):
        bad.append("a master without variants")
    uris, gap, inf = [], False, False
    for n, l in enumerate(lines, 1):
        for m in re.finditer(r'URI="([^"]+)"', l):
            if l.startswith(("#EXT-X-MAP:", "#EXT-X-PART:", "#EXT-X-MEDIA:")):
                uris.append((n, m.group(1)))
        if l == "#EXT-X-GAP":
            gap = True
        elif l.startswith("#EXTINF:"):
            try:
                float(l[8:].split(",")[0])
            except ValueError:
                bad.append("line %d: a bad EXTINF" % n)
            inf = True
        elif l and not l.startswith("#"):
            if not master and not inf:
                bad.append("line %d: a URI without EXTINF" % n)
            if not gap:
                uris.append((n, l))
            gap = inf = False
    for n, u in uris:
        if not os.path.isfile(os.path.join(d, u)):
            bad.append("line %d: %s is missing" % (n, u))
    return bad

while True:
    for p in sorted(glob.glob(os.path.join(root, "**", "*.m3u8"), recursive=True)):
        try:
            text = open(p).read()
        except OSError:
            continue
        bad = problems(p, text)
        if bad:
            try:
                again = open(p).read()
            except OSError:
                again = text
            if again != text:
                bad = []  # changed meanwhile: the next round judges the new version
        if bad:
            with open(out + ".bad", "a") as f:
                f.write("%s: %s\n" % (os.path.relpath(p, root), "; ".join(bad)))
                f.write(text if text.endswith("\n") else text + "\n(end)\n")
    rounds += 1
    with open(out + ".rounds", "w") as f:
        f.write("%d\n" % rounds)
    time.sleep(0.3)
PY
  spawn "$2.log" python3 "$2.py" "$1" "$2"
}

@test "a full disk: the archive's oldest go first, what cannot be written is never listed, alert.disk_full, all resumes" {
  [[ $(id -u) -eq 0 ]] || skip "needs root (mount -t tmpfs)"
  mkdir -p "$T/mnt"
  mount -t tmpfs -o size=16m tmpfs "$T/mnt" || skip "cannot mount a tmpfs here"
  local ts RP
  # About 0.35 Mbit/s: the archive and the recording fill the disk slowly
  # enough that the test, not the bit rate, says when it is full.
  ts=$(make_ts fd20 20 -b:v 300k -maxrate 300k -bufsize 600k)
  RP=$(free_port)
  OUT=$T/mnt/out/live
  conf "rtmp = 127.0.0.1:$RP" "open_keys = yes" "out_root = $T/mnt/out" "record_dir = $T/mnt/rec" \
    "disk_low = off" "alert_hold = 1s"
  # 2 s segments, 2 in the live playlist; the archive keeps 4 MiB free.
  channel live "input = publish" "mode = low" "dvr = 4s" "archive = 1h" "archive_min_free = 4M" "record = yes" \
    "thumbnails = yes"
  start_sv
  spawn "$T/pub.log" ffmpeg -nostdin -loglevel error -re -stream_loop -1 -i "$ts" -c copy -f flv \
    "rtmp://127.0.0.1:$RP/live/live"
  # Six segments: the live two, the two before them (a player may hold
  # the previous playlist), and two the archive may give up for space.
  WAIT_SECS=25 wait_for written_after 5 || { tail -20 "$T/sv.log"; return 1; }
  check_playlists "$OUT" "$T/check"
  local ingest_pid dvr_pid thumb_pid thumb_t
  ingest_pid=$(stage_field ingest pid)
  dvr_pid=$(stage_field live/dvr pid)
  thumb_pid=$(stage_field live/thumb pid)
  [[ $thumb_pid =~ ^[0-9]+$ ]]
  [[ $ingest_pid =~ ^[0-9]+$ && $dvr_pid =~ ^[0-9]+$ ]]

  # Under the floor: the archive's oldest go, the live edge goes on.
  local n first
  first=$(sqlite3 "file:$OUT/.dvr/index.sqlite?mode=ro" "SELECT min(msn) FROM segments WHERE track = 'v0'")
  dd if=/dev/zero of="$T/mnt/fill" bs=64k count=$(( ($(avail) - 2 * 1048576) / 65536 )) status=none
  WAIT_SECS=10 wait_for space_deleted || { tail -20 "$T/sv.log"; return 1; }
  [[ -n $first && ! -e $OUT/v0/seg-$first.m4s ]]
  n=$(written)
  WAIT_SECS=10 wait_for written_after $((n + 1)) || { tail -20 "$T/sv.log"; return 1; }
  [[ $(count_events output.failed '.writer == "package"') -eq 0 ]]

  # Full, and kept full (a runaway file takes whatever is freed): nothing
  # may be listed that is not there; the alert fires and stays open.
  spawn "$T/filler.log" python3 -c '
import os, sys, time
fd, block = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_APPEND), bytes(65536)
while True:
    try:
        os.write(fd, block)
    except OSError:
        time.sleep(0.05)
' "$T/mnt/fill2"
  local filler=$SPAWNED_PID
  WAIT_SECS=15 wait_for alerts_at_least disk_full firing 1 || { tail -20 "$T/sv.log"; return 1; }
  events_at_least output.failed 1 '.writer == "package" and .no_space'
  sleep 2  # a while full: the checker reads on
  status_json | jq -e '.alerts | map(select(.alert == "disk_full" and .severity == "critical")) | length >= 1' >/dev/null

  # Space again: everything resumes by itself.
  local e rec
  kill "$filler"
  timeout 5 tail --pid="$filler" -f /dev/null
  rm -f "$T/mnt/fill" "$T/mnt/fill2"
  e=$(edge)
  rec=$(recording_bytes)
  thumb_t=$(jq -r '.pdt_ms // empty' "$OUT/thumbs/latest.json" 2>/dev/null || true)
  n=$(written)
  WAIT_SECS=10 wait_for written_after $((n + 1)) || { tail -20 "$T/sv.log"; return 1; }
  WAIT_SECS=10 wait_for edge_past $((e + 1))
  WAIT_SECS=10 wait_for recovered package
  WAIT_SECS=10 wait_for recording_past "$rec"
  # The latest picture is new again (sigma-thumb went on through it all).
  thumb_newer() { [[ $(jq -r '.pdt_ms // empty' "$OUT/thumbs/latest.json") != "$thumb_t" ]]; }
  WAIT_SECS=10 wait_for thumb_newer
  # Every disk_full that fired has resolved, and none is open.
  no_disk_full() {
    (( $(alerts disk_full firing) == $(alerts disk_full resolved) )) &&
      status_json | jq -e '.alerts | map(select(.alert == "disk_full")) | length == 0' >/dev/null
  }
  WAIT_SECS=10 wait_for no_disk_full
  # The lost stretch is listed as gaps, not as files.
  events_at_least segment.written 1 '.channel == "live" and .gap'
  # No process restarted: the same PIDs, no restarts counted.
  [[ $(stage_field ingest pid) == "$ingest_pid" && $(stage_field live/dvr pid) == "$dvr_pid" ]]
  [[ $(stage_field live/thumb pid) == "$thumb_pid" ]]
  [[ $(status_json | jq '[.shared[], .channels[].stages[]] | map(.restarts) | add') -eq 0 ]]
  kill -0 "$SV"
  # The index names only files that are there.
  local missing=0 u
  while read -r u; do [[ -z $u || -e $OUT/$u ]] || missing=$((missing + 1)); done \
    < <(sqlite3 "file:$OUT/.dvr/index.sqlite?mode=ro" "SELECT uri FROM segments WHERE uri != ''")
  ((missing == 0))
  sleep 0.4
  [[ $(cat "$T/check.rounds") -ge 25 ]]
  [[ ! -s $T/check.bad ]] || { head -c 3000 "$T/check.bad"; return 1; }
}

@test "a full disk under sigma-stats: it goes on counting, a kill -9 while full loses nothing, the report equals an uninterrupted run's" {
  [[ $(id -u) -eq 0 ]] || skip "needs root (mount -t tmpfs)"
  mkdir -p "$T/mnt"
  mount -t tmpfs -o size=4m tmpfs "$T/mnt" || skip "cannot mount a tmpfs here"
  local GEN="python3 $BATS_TEST_DIRNAME/stats_schedule.py" total pid i c
  $GEN --players 60 --fallback 5 --start $(( $(date +%s) - 600 )) --length 240 --seed 3 >"$T/full.log"
  total=$(wc -l <"$T/full.log")
  sigma-stats run --log - --state "$T/ref.sqlite" <"$T/full.log"
  lines_read() { sqlite3 "file:$1?mode=ro" "SELECT coalesce(sum(value), 0) FROM meta WHERE key LIKE 'lines_%'" 2>/dev/null || echo 0; }
  read_all() { [[ $(lines_read "$1") -ge $2 ]]; }
  : >"$T/access.log"
  EVENTS_FILE=$T/stats.events
  run_stats() {
    spawn "$T/run.$1.log" sigma-stats --events "$EVENTS_FILE" run --log "$T/access.log" --state "$T/mnt/st.sqlite" \
      --status-file "$T/status.json" --metrics off
    pid=$SPAWNED_PID
  }
  run_stats 0
  split -l 400 "$T/full.log" "$T/chunk."
  local chunks=("$T"/chunk.*) n=${#chunks[@]}
  for ((i = 0; i < n / 3; i++)); do cat "${chunks[i]}" >>"$T/access.log"; done
  wait_for read_all "$T/mnt/st.sqlite" "$(cat "${chunks[@]:0:n/3}" | wc -l)"
  # Full: the lines go on being read and counted, the state waits.
  dd if=/dev/zero of="$T/mnt/fill" bs=16k status=none 2>/dev/null || true
  for ((i = n / 3; i < 2 * n / 3; i++)); do cat "${chunks[i]}" >>"$T/access.log"; done
  WAIT_SECS=10 wait_for events_at_least output.failed 1 '.writer == "stats" and .no_space'
  kill -0 "$pid"
  # A kill -9 while full, and a start on the full disk.
  kill -9 "$pid"
  wait "$pid" 2>/dev/null || true
  run_stats 1
  for ((i = 2 * n / 3; i < n; i++)); do cat "${chunks[i]}" >>"$T/access.log"; done
  sleep 2
  kill -0 "$pid"
  (( $(lines_read "$T/mnt/st.sqlite") < total ))
  # Space again: all of it reaches the state by itself.
  rm -f "$T/mnt/fill"
  WAIT_SECS=15 wait_for read_all "$T/mnt/st.sqlite" "$total" || { tail -n 5 "$T"/run.*.log; cat "$EVENTS_FILE"; return 1; }
  WAIT_SECS=5 wait_for events_at_least output.recovered 1 '.writer == "stats"'
  kill "$pid"
  wait "$pid" || true
  [[ $(lines_read "$T/mnt/st.sqlite") -eq $total ]]
  diff <(sigma-stats report --state "$T/ref.sqlite" --json --step 10s) \
    <(sigma-stats report --state "$T/mnt/st.sqlite" --json --step 10s)
  [[ $(sigma-stats report --state "$T/mnt/st.sqlite" --json | jq '.channels.demo.views') -eq 60 ]]
  ! grep -q "Segmentation\|Aborted" "$T"/run.*.log
}

@test "a full disk under sigma-thumb: the pictures it cannot write are lost, it goes on, and makes them when space returns" {
  [[ $(id -u) -eq 0 ]] || skip "needs root (mount -t tmpfs)"
  mkdir -p "$T/mnt"
  mount -t tmpfs -o size=8m tmpfs "$T/mnt" || skip "cannot mount a tmpfs here"
  local ts ch=$T/mnt/ch
  ts=$(make_ts fd-thumb 8)
  sigma-package -o "$ch" --mode low --segment-duration 1 --window 40 --channel ch --events "$ch.events" \
    --log-level warn <"$ts"
  [[ -s $ch/master.m3u8 ]]
  dd if=/dev/zero of="$T/mnt/fill" bs=16k status=none 2>/dev/null || true
  EVENTS_FILE=$T/thumb.ndjson
  run sigma-thumb --events "$EVENTS_FILE" run --dir "$ch" --events-in - --sprite-every 2s <"$ch.events"
  [[ $status -eq 0 ]] || { echo "$output"; return 1; }
  events_at_least output.failed 1 '.writer == "thumb" and .no_space'
  [[ $(count_events output.recovered '.writer == "thumb"') -eq 0 ]]
  [[ ! -e $ch/thumbs/latest.jpg ]]
  rm -f "$T/mnt/fill"
  run sigma-thumb --events "$EVENTS_FILE" run --dir "$ch" --events-in - --sprite-every 2s <"$ch.events"
  [[ $status -eq 0 ]] || { echo "$output"; return 1; }
  ffprobe -v error "$ch/thumbs/latest.jpg"
  ls "$ch"/thumbs/sprite-*.jpg
}
