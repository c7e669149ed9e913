#!/usr/bin/env bats
# sigma-test: first (a long file: started before the others, scripts/test)
# sigma-dvr over real channels made by sigma-package: every segment written
# is indexed, a kill -9 loses none, retention by age and by size deletes
# exactly the oldest (never a keep, never a file the index still lists),
# bad input is one line and the documented exit status. The export's own
# end-to-end tests are in dvr_export.bats.
load helpers

setup() {
  T=$BATS_TEST_TMPDIR
  SIGMA_PIDS=()
}

teardown() {
  stop_spawned
}

# q DIR SQL: the channel's index, read-only, as sigma-origin reads it.
q() { sqlite3 -readonly "$1/.dvr/index.sqlite" "$2"; }
# Segment files on disk ("v0/seg-3.m4s"), parts left out.
seg_files() { (cd "$1" && find . -mindepth 2 -maxdepth 2 -name '*.m4s' | sed 's|^\./||' | grep -Ev '\.[0-9]+\.m4s$' | sort); }
indexed_uris() { q "$1" "select uri from segments where gap = 0" | sort; }
written_uris() { jq -r 'select(.type=="segment.written" and (.gap|not)) | .uri' "$1" | sort; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# rows_at_least DIR N [WHERE]: the index holds at least N such rows (for wait_for).
rows_at_least() { [ "$(q "$1" "select count(*) from segments${3:+ where $3}" 2>/dev/null || echo 0)" -ge "$2" ]; }
# Every file the index lists exists (a file found missing is fine only if
# its row has gone meanwhile: retention deletes the row, then the file).
listed_files_exist() {
  local dir=$1 uri
  for uri in $(indexed_uris "$dir"); do
    [ -f "$dir/$uri" ] || [ "$(q "$dir" "select count(*) from segments where uri = '$uri'")" = 0 ] ||
      { echo "indexed but gone: $uri"; return 1; }
  done
}
# The channel's msns of one track have no hole from the first to the last.
contiguous() {
  local dir=$1 track=$2
  [ "$(q "$dir" "select max(msn) - min(msn) + 1 = count(*) from segments where track = '$track'")" = 1 ]
}

# live_channel DIR SECS [sigma-package options...]: SRC (-re, at its own
# pace) packaged into DIR in low mode with 1 s segments, --keep, events
# in DIR.events. Spawned; PKG_PID.
live_channel() {
  local dir=$1 secs=$2; shift 2
  mkdir -p "$dir"
  spawn "$dir.pkg.log" bash -c "ffmpeg -nostdin -loglevel error -re -t $secs -i '$SRC' -c copy -f mpegts - |
    sigma-package -o '$dir' --mode low --segment-duration 1 --keep --channel $(basename "$dir") --events '$dir.events' --log-level warn $*"
  PKG_PID=$SPAWNED_PID
}

@test "live: kill -9 and a restart lose no segment (reconcile), keep nothing past retention, delete no file the index lists" {
  SRC=$(make_ts dvr30 30)
  ch=$T/ch
  mkdir -p "$ch"
  fifo=$T/events.fifo
  mkfifo "$fifo"
  # The events reach sigma-dvr through a FIFO, as the supervisor hands
  # them: what the packager writes while sigma-dvr is dead is lost, and the
  # restart's reconcile must find those segments on disk.
  spawn "$T/dvr1.log" sigma-dvr run --dir "$ch" --channel ch --events-in "$fifo" --retain 12s --sweep-every 1 \
    --events "$T/dvr.ndjson"
  dvr=$SPAWNED_PID
  WAIT_SECS=10 wait_for test -f "$ch/.dvr/index.sqlite"
  mkdir -p "$ch"
  spawn "$T/pkg.log" bash -c "ffmpeg -nostdin -loglevel error -re -t 30 -i '$SRC' -c copy -f mpegts - |
    sigma-package -o '$ch' --mode low --segment-duration 1 --window 4 --keep --channel ch --events '$fifo' --log-level error"
  pkg=$SPAWNED_PID
  WAIT_SECS=15 wait_for rows_at_least "$ch" 12
  kill -9 "$dvr"
  # 11 s down: more than the 4-segment window, so some of what it missed
  # is listed by no playlist any more and is placed from its fMP4.
  sleep 11
  spawn "$T/dvr2.log" sigma-dvr run --dir "$ch" --channel ch --events-in "$fifo" --retain 12s --sweep-every 1 \
    --events "$T/dvr.ndjson"
  dvr=$SPAWNED_PID
  EVENTS_FILE=$T/dvr.ndjson WAIT_SECS=10 wait_for events_at_least dvr.reconciled 2
  run jq -s '[.[] | select(.type=="dvr.reconciled")] | last | .added' "$T/dvr.ndjson"
  [ "$output" -ge 8 ] || { cat "$T/dvr2.log"; false; }
  # While live, right after the restart: every file the index lists exists.
  listed_files_exist "$ch"
  timeout 40 tail --pid="$pkg" -f /dev/null
  last_v=$(awk '/^seg-/ { s = $0 } END { print s }' "$ch/v0/index.m3u8")
  WAIT_SECS=10 wait_for rows_at_least "$ch" 1 "uri = 'v0/$last_v'"
  sleep 2  # one more sweep
  # Stopped, so that what follows compares files and rows at rest.
  now=$(now_ms)
  kill -TERM "$dvr"
  wait "$dvr"
  # Every segment file on disk is indexed and every row's file is on disk.
  diff <(seg_files "$ch") <(indexed_uris "$ch")
  # None missing: each track's msns run without a hole up to the last one written.
  for t in v0 a0; do
    contiguous "$ch" "$t"
    [ "$(q "$ch" "select max(msn) from segments where track = '$t'")" = \
      "$(ls "$ch/$t" | sed -n 's/^seg-\([0-9]*\)\.m4s$/\1/p' | sort -n | tail -1)" ]
  done
  # Placed right: one range per track, no hole, no overlap.
  run sigma-dvr list "$ch" --json
  [ "$status" -eq 0 ]
  [ "$(jq '[.tracks[] | .ranges | length] | max' <<<"$output")" -eq 1 ]
  # Nothing kept past retention (12 s, a 1 s sweep, 2.5 s of slack) ...
  [ "$(q "$ch" "select count(*) from segments where start_ms + duration_ms < $now - 15500")" = 0 ]
  # ... and the retention did delete: the oldest are gone, files and rows.
  [ "$(q "$ch" "select min(msn) from segments where track = 'v0'")" -ge 10 ]
  [ ! -f "$ch/v0/seg-0.m4s" ]
  [ -f "$ch/v0/init.mp4" ] && [ -f "$ch/a0/init.mp4" ]
}

@test "retention while live: by age (a keep protects its range) and by size, oldest first, exactly" {
  SRC=$(make_ts dvr30 30)
  age=$T/age size=$T/size
  live_channel "$age" 22 --window 3
  age_pkg=$PKG_PID
  live_channel "$size" 22 --window 3
  size_pkg=$PKG_PID
  wait_for test -f "$age.events"
  wait_for test -f "$size.events"
  spawn "$T/dvr-age.log" sigma-dvr run --dir "$age" --channel age --events-in "$age.events" --retain 6s \
    --sweep-every 1 --events "$T/age.dvr"
  spawn "$T/dvr-size.log" sigma-dvr run --dir "$size" --channel size --events-in "$size.events" \
    --max-bytes 1500K --sweep-every 1 --events "$T/size.dvr"
  sleep 2
  # The programme someone will want next month: the 2 s from one second ago.
  run sigma-dvr keep "$age" --from -1s --duration 2s --name show
  [ "$status" -eq 0 ]
  kfrom=$(q "$age" "select from_ms from keeps where name = 'show'")
  kto=$(q "$age" "select to_ms from keeps where name = 'show'")
  sleep 13
  # Live, 15 s in.
  # What was written, then the index, then the time: a segment deleted
  # before the time ended more than 6 s before it.
  written_then=$(jq -r 'select(.type=="segment.written") | "\(.uri) \(.pdt_ms + .duration * 1000 | round)"' "$age.events")
  before=$(now_ms)
  rows=$(q "$age" "select track, msn, start_ms + duration_ms, start_ms < $kto and start_ms + duration_ms > $kfrom, uri from segments")
  after=$(now_ms)
  kept_rows=$(awk -F'|' '$4 == 1' <<<"$rows" | wc -l)
  [ "$kept_rows" -ge 2 ]
  # Nothing unkept that ended more than 6 s (+ a sweep + slack) ago is left ...
  [ "$(awk -F'|' -v c=$((before - 6000 - 2500)) '$4 == 0 && $3 < c' <<<"$rows" | wc -l)" -eq 0 ]
  # ... and nothing that ended within the last 6 s was deleted.
  while read -r uri end; do
    ((end < after - 6000)) && continue
    grep -q "|$uri\$" <<<"$rows" || { echo "deleted too early: $uri (ended $((after - end)) ms ago)"; false; }
  done <<<"$written_then"
  # The kept segments are all there, files included; every row's file exists.
  jq -r --argjson f "$kfrom" --argjson t "$kto" \
    'select(.type=="segment.written" and .pdt_ms < $t and (.pdt_ms + .duration * 1000) > $f) | .uri' "$age.events" |
    while read -r uri; do [ -f "$age/$uri" ] || { echo "kept but gone: $uri"; false; }; done
  listed_files_exist "$age"
  EVENTS_FILE=$T/age.dvr events_at_least dvr.deleted 1 '.reason == "age"'

  # By size, live: within one burst of the limit.
  total=$(q "$size" "select sum(bytes) from segments")
  [ "$total" -le $((1500 * 1024 + 400 * 1024)) ]
  EVENTS_FILE=$T/size.dvr events_at_least dvr.deleted 1 '.reason == "size"'

  # After the end: what is left of the size channel is exactly the newest
  # segments (of both tracks, by start) that fit under the limit.
  timeout 30 tail --pid="$age_pkg" -f /dev/null
  timeout 30 tail --pid="$size_pkg" -f /dev/null
  sleep 2.5
  # (The age channel still ages out as time passes: files checked against
  # rows; the size channel is at rest: the files are exactly its rows.)
  listed_files_exist "$age"
  diff <(seg_files "$size") <(indexed_uris "$size")
  written=$(jq -r 'select(.type=="segment.written" and (.gap|not)) | [.pdt_ms, .track, .msn, .bytes, .uri] | @tsv' \
    "$size.events" | sort -k1,1n -k2,2 -k3,3n)
  left=$(indexed_uris "$size")
  # The rows left are a suffix of everything written, oldest first.
  n_left=$(wc -l <<<"$left")
  diff <(tail -n "$n_left" <<<"$written" | cut -f5 | sort) <(echo "$left")
  total=$(q "$size" "select sum(bytes) from segments")
  prev=$(tail -n $((n_left + 1)) <<<"$written" | head -1 | cut -f4)
  [ "$total" -le $((1500 * 1024)) ]
  [ $((total + prev)) -gt $((1500 * 1024)) ]
}

@test "reconcile from the directory alone: playlist entries and fMP4 timestamps match the events; gone files dropped; rotation followed" {
  src=$(make_ts dvr20 20)
  ch=$T/ch
  sigma-package -i "$src" -o "$ch" --mode low --segment-duration 1 --window 4 --keep --channel ch --events "$T/pkg.events" --log-level error
  : >"$T/none.ndjson"
  spawn "$T/dvr.log" sigma-dvr run --dir "$ch" --events-in "$T/none.ndjson" --events "$T/dvr.ndjson"
  dvr=$SPAWNED_PID
  EVENTS_FILE=$T/dvr.ndjson wait_for events_at_least dvr.reconciled 1
  kill -TERM "$dvr"
  wait "$dvr"
  [ "$(jq -s '[.[] | select(.type=="dvr.reconciled")][0].added' "$T/dvr.ndjson")" -eq 40 ]
  # Every segment where the packager said, within 2 ms (the playlist's
  # entries exact, the others from their tfdt against a neighbour).
  jq -r 'select(.type=="segment.written") | [.track, .msn, .pdt_ms, (.duration * 1000 | round), .init] | @tsv' \
    "$T/pkg.events" | sort >"$T/want"
  q "$ch" "select track, msn, start_ms, duration_ms, init from segments" | tr '|' '\t' | sort >"$T/got"
  join -t $'\t' <(awk -F'\t' '{ print $1 ":" $2 "\t" $3 "\t" $4 "\t" $5 }' "$T/want" | sort) \
    <(awk -F'\t' '{ print $1 ":" $2 "\t" $3 "\t" $4 "\t" $5 }' "$T/got" | sort) |
    awk -F'\t' '{ d = $2 - $5; if (d < 0) d = -d; e = $3 - $6; if (e < 0) e = -e; if (d > 2 || e > 2 || $4 != $7) { print "off: " $0; bad = 1 } n++ }
      END { if (n != 40) { print n " joined"; bad = 1 } exit bad }'

  # Files gone while sigma-dvr was down: their rows go at the next start.
  rm "$ch/v0/seg-3.m4s" "$ch/a0/seg-5.m4s"
  spawn "$T/dvr2.log" sigma-dvr run --dir "$ch" --events-in "$T/none.ndjson" --events "$T/dvr2.ndjson"
  dvr=$SPAWNED_PID
  EVENTS_FILE=$T/dvr2.ndjson wait_for events_at_least dvr.reconciled 1
  kill -TERM "$dvr"
  wait "$dvr"
  [ "$(jq -s '[.[] | select(.type=="dvr.reconciled")][0].dropped' "$T/dvr2.ndjson")" -eq 2 ]
  diff <(seg_files "$ch") <(indexed_uris "$ch")

  # An events file followed across rotation (renamed away, created again).
  ch2=$T/ch2
  mkdir -p "$ch2"
  spawn "$T/dvr3.log" sigma-dvr run --dir "$ch2" --channel two --events-in "$T/two.events" --events "$T/dvr3.ndjson"
  dvr=$SPAWNED_PID
  wait_for test -f "$ch2/.dvr/index.sqlite"
  first=$(make_ts dvr6 6)
  sigma-package -i "$first" -o "$ch2" --mode low --segment-duration 1 --keep --channel two --events "$T/two.events" --log-level error
  wait_for rows_at_least "$ch2" 12
  mv "$T/two.events" "$T/two.events.1"
  sigma-package -i "$first" -o "$ch2" --mode low --segment-duration 1 --keep --channel two --events "$T/two.events" --log-level error
  n=$(cat "$T/two.events.1" "$T/two.events" | jq -c 'select(.type=="segment.written")' | wc -l)
  [ "$n" -ge 24 ]
  wait_for rows_at_least "$ch2" "$n"
  [ "$(q "$ch2" 'select count(*) from segments')" -eq "$n" ]
  diff <(cat "$T/two.events.1" "$T/two.events" | written_uris /dev/stdin) <(indexed_uris "$ch2")
  # One writer per channel: a second run fails, saying why.
  run sigma-dvr run --dir "$ch2" --events-in "$T/none.ndjson"
  [ "$status" -eq 111 ]
  [[ $output == *"another sigma-dvr run archives $ch2 (pid $dvr)"* ]]
  # SIGTERM ends it at once, exit 0.
  kill -TERM "$dvr"
  timeout 3 tail --pid="$dvr" -f /dev/null
  wait "$dvr"
}

@test "list and keep: ranges with their gaps, sizes and keeps, human and JSON" {
  src=$(make_ts dvr6 6)
  ch=$T/ch
  sigma-package -i "$src" -o "$ch" --mode low --segment-duration 1 --keep --channel demo --events "$T/pkg.events" --log-level error
  # Events on stdin: their end ends it.
  sigma-dvr run --dir "$ch" --channel demo --events-in - <"$T/pkg.events"
  start=$(q "$ch" "select min(start_ms) from segments")
  # A second stretch a minute after the first (the same files, moved in
  # time): a hole between.
  sqlite3 "$ch/.dvr/index.sqlite" "insert into segments select track, msn + 1000, start_ms + 60000, duration_ms, uri, init, bytes, 1, 0, 1 from segments"
  run sigma-dvr keep "$ch" --from "$(date -u -d @$((start / 1000 + 1)) +%Y-%m-%dT%H:%M:%SZ)" --duration 1h --name evening
  [ "$status" -eq 0 ]
  [[ $output == *"evening"* ]]
  run sigma-dvr list "$ch" --json
  [ "$status" -eq 0 ]
  j=$output
  [ "$(jq -r .channel <<<"$j")" = demo ]
  [ "$(jq '.ranges | length' <<<"$j")" -eq 2 ]
  [ "$(jq '.gaps | length' <<<"$j")" -eq 1 ]
  gap=$(jq '.gaps[0].duration_s' <<<"$j")
  awk -v g="$gap" 'BEGIN { exit !(g > 50 && g < 60) }'
  [ "$(jq '.bytes' <<<"$j")" -eq "$(q "$ch" 'select sum(bytes) from segments')" ]
  [ "$(jq -r '[.tracks[].name] | join(",")' <<<"$j")" = a0,v0 ]
  [ "$(jq -r '.keeps[0].name' <<<"$j")" = evening ]
  run sigma-dvr list "$ch"
  [ "$status" -eq 0 ]
  [[ $output == *"channel demo"* ]]
  [[ $output == *"(gap)"* ]]
  [[ $output == *"track v0"* ]]
  [[ $output == *"evening"* ]]
  # export's CLI (its media is dvr_export.bats's): off a terminal, one JSON
  # object a line on stderr, ending with export.done; the file renamed
  # into place, no temporary left.
  run sigma-dvr export "$ch" --from $((start / 1000)) --duration 3 -o "$T/clip.mp4"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  for l in "${lines[@]}"; do jq -e '.type == "export.progress" or .type == "export.done"' <<<"$l" >/dev/null; done
  [ "$(jq -r .type <<<"${lines[-1]}")" = export.done ]
  [ "$(jq -r .percent <<<"${lines[-2]}")" = 100 ]
  [ "$(jq .bytes <<<"${lines[-1]}")" -eq "$(stat -c %s "$T/clip.mp4")" ]
  [ ! -e "$T/clip.mp4.tmp" ]
  run sigma-dvr keep "$ch" --list --json
  [ "$(jq -r '.[0].name' <<<"$output")" = evening ]
  run sigma-dvr keep "$ch" --remove evening
  [ "$status" -eq 0 ]
  run sigma-dvr keep "$ch" --remove evening
  [ "$status" -eq 100 ]
  [ "$(sigma-dvr list "$ch" --json | jq '.keeps | length')" -eq 0 ]
}

@test "bad input: one line, the documented exit status, nothing lost" {
  src=$(make_ts dvr6 6)
  ch=$T/ch
  sigma-package -i "$src" -o "$ch" --mode low --segment-duration 1 --keep --channel demo --events "$T/pkg.events" --log-level error
  sigma-dvr run --dir "$ch" --channel demo --events-in - <"$T/pkg.events"
  one_line() { [ "${#lines[@]}" -eq 1 ] || { printf '%s\n' "${lines[@]}"; false; }; }

  run sigma-dvr list "$T/no-such-channel"
  [ "$status" -eq 100 ] && one_line && [[ $output == *"unknown channel"* ]]
  run sigma-dvr export "$T/no-such-channel" --from -1m --duration 10 -o "$T/x.mp4"
  [ "$status" -eq 100 ] && one_line
  mkdir -p "$T/empty"
  run sigma-dvr list "$T/empty"
  [ "$status" -eq 111 ] && one_line && [[ $output == *"$T/empty/.dvr/index.sqlite"* ]]
  run sigma-dvr run --dir "$T/no-such-channel" --events-in /dev/null
  [ "$status" -eq 111 ] && one_line

  for args in "--from 2026-13-45 --duration 10" "--from -1m --duration 10x" "--from yesterday --to now" \
    "--from now --to -1h" "--from -1m --to -1m" "--from -1m --duration 30d" "--from 2099-01-01T00:00:00Z --duration 60" \
    "--from -1m"; do
    run sigma-dvr export "$ch" $args -o "$T/clip.mp4"
    [ "$status" -eq 100 ] || { echo "export $args: $status $output"; false; }
    one_line
  done
  run sigma-dvr export "$ch" --from 2026-13-45 --duration 10 -o "$T/clip.mp4"
  [[ $output == *"--from: cannot read '2026-13-45' as a time (ISO 8601, Unix seconds, now or -1h)"* ]]
  run sigma-dvr export "$ch" --from now --to -1h -o "$T/clip.mp4"
  [[ $output == *"is not after --from"* ]]
  run sigma-dvr export "$ch" --from 2099-01-01T00:00:00Z --duration 60 -o "$T/clip.mp4"
  [[ $output == *"in the future"* ]]
  run sigma-dvr export "$ch" --from -1h --duration 60 -o "$T/no/such/dir/clip.mp4"
  [ "$status" -eq 100 ] && one_line && [[ $output == *"cannot write"* ]]
  [ ! -e "$T/clip.mp4" ] && [ ! -e "$T/clip.mp4.tmp" ]
  run sigma-dvr keep "$ch" --from -1h --to -2h --name x
  [ "$status" -eq 100 ] && one_line
  run sigma-dvr keep "$ch" --from -1h --duration 1h
  [ "$status" -eq 100 ] && one_line
  run sigma-dvr run --dir "$ch" --retain 7x --events-in /dev/null
  [ "$status" -eq 100 ] && one_line && [[ $output == *"--retain"* ]]
  run sigma-dvr run --dir "$ch" --max-bytes lots --events-in /dev/null
  [ "$status" -eq 100 ] && one_line

  # A corrupt index: a data error naming it, for every reader and for the
  # writer; the file is left as it was.
  n_before=$(q "$ch" 'select count(*) from segments')
  [ "$n_before" -gt 0 ]
  cp "$ch/.dvr/index.sqlite" "$T/good.sqlite"
  rm -f "$ch/.dvr/index.sqlite-wal" "$ch/.dvr/index.sqlite-shm"
  head -c 20000 /dev/urandom >"$ch/.dvr/index.sqlite"
  sum=$(md5sum <"$ch/.dvr/index.sqlite")
  run sigma-dvr list "$ch"
  [ "$status" -eq 65 ] && one_line && [[ $output == *"$ch/.dvr/index.sqlite"* ]]
  run sigma-dvr run --dir "$ch" --events-in /dev/null
  [ "$status" -eq 65 ] && one_line
  run sigma-dvr export "$ch" --from -1h --duration 60 -o "$T/clip.mp4"
  [ "$status" -eq 65 ] && one_line
  [ "$(md5sum <"$ch/.dvr/index.sqlite")" = "$sum" ]
  # Every segment file is still there.
  [ "$(seg_files "$ch" | wc -l)" -eq "$n_before" ]
}

@test "24 h of 4 s segments on two tracks (21,600 each): indexed, reconciled at restart, listed, under 30 MB" {
  ch=$T/big
  mkdir -p "$ch/v0" "$ch/a0"
  # Files stand for segments (sigma-dvr indexes what exists); the events
  # say the rest.
  python3 - "$ch" "$T/big.events" <<'PY'
import json, os, sys, time
ch, ev = sys.argv[1], sys.argv[2]
t0 = int(time.time() * 1000) - 86_400_000
with open(ev, "w") as f:
    for msn in range(21600):
        for track, dur in (("v0", 4.0), ("a0", 4.0)):
            uri = f"{track}/seg-{msn}.m4s"
            open(os.path.join(ch, uri), "wb").close()
            f.write(json.dumps({"time": "x", "channel": "big", "type": "segment.written", "track": track,
                                "uri": uri, "msn": msn, "pdt_ms": t0 + msn * 4000, "init": f"{track}/init.mp4",
                                "independent": True, "duration": dur, "bytes": 0, "frames": 120, "parts": 0,
                                "discontinuity": False, "gap": False}) + "\n")
PY
  spawn "$T/big.log" sigma-dvr run --dir "$ch" --channel big --events-in "$T/big.events" --events "$T/big.dvr"
  dvr=$SPAWNED_PID
  WAIT_SECS=60 wait_for grep -q 'following events' "$T/big.log"
  [ "$(q "$ch" 'select count(*) from segments')" -eq 43200 ]
  kill -TERM "$dvr"
  wait "$dvr"
  hwm=$(jq -s '[.[] | select(.type=="dvr.indexed")] | last | .vm_hwm_kb' "$T/big.dvr")
  echo "# run: peak RSS $hwm kB with 43,200 segments" >&3
  [ "$hwm" -lt 30720 ]
  # A restart reconciles the directory against all of them.
  rm "$T/big.events"
  : >"$T/big.events"
  spawn "$T/big2.log" sigma-dvr run --dir "$ch" --channel big --events-in "$T/big.events" --events "$T/big2.dvr"
  dvr=$SPAWNED_PID
  WAIT_SECS=60 wait_for grep -q 'following events' "$T/big2.log"
  kill -TERM "$dvr"
  wait "$dvr"
  hwm=$(grep -o 'peak RSS [0-9]*' "$T/big2.log" | grep -o '[0-9]*$')
  echo "# restart and reconcile: peak RSS $hwm kB" >&3
  [ "$hwm" -lt 30720 ]
  run sigma-dvr list "$ch" --json
  [ "$(jq '.segments' <<<"$output")" -eq 43200 ]
}
