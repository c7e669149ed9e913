#!/usr/bin/env bats
# sigma-supervisor and the archive: the archive/archive_max keys, the dvr
# stage (sigma-dvr run, fed the channel's segment.written events on its
# stdin), its restarts, SIGHUP, and a supervisor that never waits on it.
load helpers
load supervisor_helpers

stage_is() { [[ $(stage_field "$1" state) == "$2" ]]; }
stage_respawned() { local p; p=$(stage_field "$1" pid); [[ $p =~ ^[0-9]+$ && $p != "$2" ]]; }
dvr_stages_are() { [[ $(status_json | jq '[.channels[].stages[] | select(.stage == "dvr")] | length') -eq $1 ]]; }
stage_ids() { status_json | jq -r '[.shared[], .channels[].stages[]] | .[].id' | sort; }

# The segment files of channel dir $1, as the index names them
# ("v0/seg-3.m4s"), and the ones its index lists.
disk_segments() { (cd "$1" && find . -path './.dvr' -prune -o -name 'seg-*.m4s' -print | sed 's|^\./||' | sort); }
index_segments() {
  sqlite3 "file:$1/.dvr/index.sqlite?mode=ro" "select uri from segments where gap = 0 order by uri;" | sort
}
# Every file on disk is indexed and every indexed file is on disk.
index_matches_disk() {
  local d i
  d=$(disk_segments "$1") i=$(index_segments "$1") || return 1
  [[ -n $d && $d == "$i" ]]
}

@test "archive keys: bad values are config errors naming file and line; --dry-run shows the dvr stage and --keep" {
  conf
  channel tv "$FAKE_SOURCE" "archive = banana"
  run sigma-supervisor -c "$T/sv.conf"
  [[ $status -eq 100 ]]
  [[ $output == *"$T/sv.conf:11: archive: expected how long to keep the archive"* ]]
  conf
  channel tv "$FAKE_SOURCE" "archive_max = -1"
  run sigma-supervisor -c "$T/sv.conf" --dry-run
  [[ $status -eq 100 ]]
  [[ $output == *"$T/sv.conf:11: archive_max: expected the most the archive may hold"* ]]
  conf
  channel tv "$FAKE_SOURCE" "dvr = 2h" "archive = 1h"
  run sigma-supervisor -c "$T/sv.conf"
  [[ $status -eq 100 ]]
  [[ $output == *"$T/sv.conf:12: archive = 1h is shorter than the channel's dvr window"* ]]

  conf "rtmp = 127.0.0.1:1935"
  channel tv "input = pull srt://127.0.0.1:9000" "mode = low" "archive = 7d" "archive_max = 100G"
  channel studio "input = publish" "archive = 2d"
  channel window "input = pull srt://127.0.0.1:9001" "dvr = 2h"
  run sigma-supervisor -c "$T/sv.conf" --dry-run
  [[ $status -eq 0 ]]
  echo "$output"
  [[ $output == *"sigma-package -i $T/run/tv/source.ts -o $T/out/tv --mode low --channel tv --keep --events $T/events.ndjson"* ]]
  [[ $output == *"sigma-dvr run --dir $T/out/tv --channel tv --events-in $T/events.ndjson --retain 7d --max-bytes 100G --events $T/events.ndjson </dev/null >/dev/null &"* ]]
  # Packaged in the shared ingest: its channel line keeps the segments.
  [[ $output == *"studio=$T/out/studio,mode=low,keep"* ]]
  [[ $output == *"sigma-dvr run --dir $T/out/studio --channel studio "*"--retain 2d"* ]]
  # A DVR window alone: no --keep, no sigma-dvr.
  [[ $(grep -c 'sigma-dvr run' <<<"$output") -eq 2 ]]
  [[ $(grep 'out/window' <<<"$output" | grep -c -- '--keep') -eq 0 ]]
  [[ ! -e $T/run ]]
}

@test "a supervised channel with archive = 1h: every segment indexed; kill -9 of the dvr stage: restarted, the index complete again" {
  local ts out pid before
  ts=$(make_ts t90 90)
  out=$T/out/live
  conf "backoff_initial = 2s"
  channel live "input = exec ffmpeg -nostdin -loglevel error -re -i $ts -c copy -f mpegts -" "mode = low" "archive = 1h"
  start_sv
  WAIT_SECS=20 wait_for stage_is live/dvr up || { cat "$T/sv.log"; return 1; }
  [[ $(stage_ids | tr '\n' ' ') == "live/dvr live/package live/source " ]]
  # The packager keeps its segments; sigma-dvr indexes them as they come.
  [[ $(stage_field live/package pid) =~ ^[0-9]+$ ]]
  tr '\0' ' ' <"/proc/$(stage_field live/package pid)/cmdline" | grep -q -- ' --keep '
  WAIT_SECS=20 wait_for bash -c "(( \$(find '$out/v0' -name 'seg-*.m4s' | wc -l) >= 8 ))"
  WAIT_SECS=5 wait_for index_matches_disk "$out" || { diff <(disk_segments "$out") <(index_segments "$out"); return 1; }
  # What a user checks: sigma-dvr list says the same.
  run sigma-dvr list --json "$out"
  [[ $status -eq 0 ]]
  (( $(jq '.tracks[] | select(.name == "v0") | .segments' <<<"$output") >= 8 ))
  [[ $(jq -r '[.tracks[].name] | sort | join(",")' <<<"$output") == "a0,v0" ]]
  (( $(status_json | jq '[.channels[].stages[] | select(.id == "live/dvr")][0].events_in.forwarded') >= 15 ))
  [[ $(status_json | jq '[.channels[].stages[] | select(.id == "live/dvr")][0].events_in.dropped') -eq 0 ]]
  run sigma-supervisor -c "$T/sv.conf" status
  [[ $status -eq 0 && $output == *dvr*up* ]]

  # kill -9: restarted after its backoff; what was written meanwhile is
  # indexed by its reconcile at start.
  pid=$(stage_field live/dvr pid)
  before=$(disk_segments "$out" | wc -l)
  kill -9 "$pid"
  WAIT_SECS=10 wait_for stage_respawned live/dvr "$pid"
  (( $(disk_segments "$out" | wc -l) > before ))  # segments were written while it was down
  (( $(status_json | jq '[.channels[].stages[] | select(.id == "live/dvr")][0].events_in.while_down') >= 2 ))
  WAIT_SECS=10 wait_for stage_is live/dvr up
  [[ $(stage_field live/dvr restarts) -eq 1 && $(stage_field live/dvr last_exit) == SIGKILL ]]
  sleep 3
  WAIT_SECS=5 wait_for index_matches_disk "$out" || { diff <(disk_segments "$out") <(index_segments "$out"); return 1; }
  WAIT_SECS=5 wait_for curl -sf "$HEALTH/healthz"
  # The channel's events say it: the dvr stage exited and was restarted.
  events_at_least stage.restarted 1 '.channel == "live" and .stage == "dvr"'
  # SIGTERM: every stage, sigma-dvr too, ends.
  pid=$(stage_field live/dvr pid)
  kill -TERM "$SV"
  WAIT_SECS=15 wait_for bash -c "! kill -0 $SV"
  ! kill -0 "$pid" 2>/dev/null
}

@test "SIGHUP: adding the archive starts the dvr stage and restarts the packager; changing retention restarts the dvr stage alone" {
  local other pkg dvr
  # Stand-ins for sigma-package and sigma-dvr (bin_dir): each records its
  # command line, signals readiness and reads its input (-i) or stdin.
  mkdir -p "$T/bin"
  cat >"$T/bin/sigma-package" <<EOF
#!/bin/sh
echo "\$(basename "\$0") \$*" >>"$T/args"
prev= ready= input=
for a in "\$@"; do
  case \$prev in --ready-fd) ready=\$a ;; -i) input=\$a ;; esac
  prev=\$a
done
[ -n "\$ready" ] && eval "echo >&\$ready"
if [ -n "\$input" ]; then exec cat "\$input" >/dev/null; else exec cat >/dev/null; fi
EOF
  chmod +x "$T/bin/sigma-package"
  cp "$T/bin/sigma-package" "$T/bin/sigma-dvr"
  conf "bin_dir = $T/bin"
  channel keepme "$FAKE_SOURCE"
  channel tv "$FAKE_SOURCE"
  start_sv
  WAIT_SECS=10 wait_for stage_is tv/package up
  other=$(stage_field keepme/package pid)
  pkg=$(stage_field tv/package pid)
  [[ $(stage_ids | grep -c dvr) -eq 0 ]]
  ! grep -q -- --keep "$T/args"

  echo "archive = 1h" >>"$T/sv.conf"
  kill -HUP "$SV"
  WAIT_SECS=10 wait_for stage_is tv/dvr up || { cat "$T/sv.log"; return 1; }
  dvr=$(stage_field tv/dvr pid)
  grep -q -- "^sigma-dvr run --dir $T/out/tv --channel tv --events-in - --retain 1h --ready-fd 3 --events fd:4$" "$T/args"
  # The packager now keeps what leaves its window: restarted with --keep.
  WAIT_SECS=10 wait_for stage_respawned tv/package "$pkg"
  grep -q -- "^sigma-package -i $T/run/tv/source.ts -o $T/out/tv --mode low --channel tv --keep --ready-fd 3" "$T/args"
  pkg=$(stage_field tv/package pid)
  [[ $(stage_field keepme/package pid) == "$other" ]]  # another channel: untouched

  sed -i 's/^archive = 1h$/archive = 2h\narchive_max = 10G/' "$T/sv.conf"
  kill -HUP "$SV"
  WAIT_SECS=10 wait_for stage_respawned tv/dvr "$dvr"
  WAIT_SECS=10 wait_for stage_is tv/dvr up
  grep -q -- "--retain 2h --max-bytes 10G" "$T/args"
  [[ $(stage_field tv/package pid) == "$pkg" && $(stage_field keepme/package pid) == "$other" ]]
  dvr=$(stage_field tv/dvr pid)

  sed -i '/^archive/d' "$T/sv.conf"
  kill -HUP "$SV"
  WAIT_SECS=10 wait_for dvr_stages_are 0
  WAIT_SECS=10 wait_for stage_respawned tv/package "$pkg"
  ! kill -0 "$dvr" 2>/dev/null
  [[ $(tail -n 1 "$T/args") != *--keep* ]]
  [[ $(stage_field keepme/package pid) == "$other" ]]
  WAIT_SECS=5 wait_for curl -sf "$HEALTH/healthz"
}

@test "a dvr stage that does not read: the supervisor drops and counts its events and stays responsive" {
  local ev
  # One segment.written event line of the usual size, emitted as fast as
  # a shell can; the dvr stage never reads its stdin.
  ev='{"type":"segment.written","channel":"tv","track":"v0","uri":"v0/seg-1.m4s","path":"/x/v0/seg-1.m4s","msn":1,"pdt_ms":1764756000000,"init":"v0/init.mp4","independent":true,"duration":1.0,"bytes":123456,"frames":30,"parts":0,"discontinuity":false,"gap":false}'
  conf "events = /dev/null"
  channel tv "$FAKE_SOURCE" \
    "package.command = sh -c 'echo >&{ready_fd}; while :; do echo \"\$0\"; done >&{events_fd}' '$ev'" \
    "archive = 1h" "dvr.command = sh -c 'echo >&{ready_fd}; exec sleep 1000'"
  start_sv
  WAIT_SECS=10 wait_for stage_is tv/dvr up
  # The pipe (1 MiB) fills in well under a second at this rate.
  WAIT_SECS=10 wait_for bash -c "(( \$(curl -s '$HEALTH/status' | jq '.channels[0].stages[] | select(.stage == \"dvr\") | .events_in.dropped') > 1000 ))"
  local j
  j=$(status_json | jq '.channels[0].stages[] | select(.stage == "dvr") | .events_in')
  echo "$j"
  (( $(jq .forwarded <<<"$j") > 1000 ))  # until the pipe was full
  # Healthy (the dvr stage is up, just behind), and still answering while
  # the flood goes on: a supervisor blocked on the full pipe never would.
  # (How fast it answers under a flood that saturates both cores is no
  # test's business: that would be a bench.)
  WAIT_SECS=5 wait_for curl -sf "$HEALTH/healthz"
  curl -sf -m 5 "$HEALTH/healthz"
  grep -q 'tv/dvr: not keeping up, segment.written event dropped' "$T/sv.log"
  run sigma-supervisor -c "$T/sv.conf" status
  [[ $output == *"tv dvr: "*" segment.written events dropped (not keeping up)"* ]]
}

@test "a published channel packaged in the shared ingest with archive = 1h: the ingest keeps its segments, sigma-dvr indexes them all" {
  local ts rp out
  ts=$(make_ts t90 90)
  rp=$(free_port)
  out=$T/out/studio
  conf "rtmp = 127.0.0.1:$rp" "open_keys = yes"
  channel studio "input = publish" "mode = low" "archive = 1h"
  start_sv
  WAIT_SECS=10 wait_for stage_is studio/dvr up || { cat "$T/sv.log"; return 1; }
  [[ $(status_json | jq -r '.channels[0].stages | map(.id) | join(" ")') == "ingest studio/dvr" ]]
  grep -qx "studio=$out,mode=low,keep" "$T/run/ingest-channels"
  spawn "$T/publisher.log" ffmpeg -nostdin -loglevel error -re -i "$ts" -c copy -f flv "rtmp://127.0.0.1:$rp/live/studio"
  # Low mode keeps 10 segments in its playlist: past that, only --keep
  # (the ingest's keep) leaves the older files for the archive.
  WAIT_SECS=30 wait_for bash -c "(( \$(find '$out/v0' -name 'seg-*.m4s' | wc -l) >= 14 ))" || { cat "$T/sv.log"; return 1; }
  [[ -f $out/v0/seg-0.m4s ]]
  WAIT_SECS=5 wait_for index_matches_disk "$out" || { diff <(disk_segments "$out") <(index_segments "$out"); return 1; }
  (( $(status_json | jq '.channels[0].stages[] | select(.stage == "dvr") | .events_in.forwarded') >= 20 ))
  WAIT_SECS=5 wait_for curl -sf "$HEALTH/healthz"
}
