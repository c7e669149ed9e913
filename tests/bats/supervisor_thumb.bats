#!/usr/bin/env bats
# sigma-supervisor and thumbnails: the thumbnails keys, the thumb stage
# (sigma-thumb run, fed the channel's segment.written events on its stdin
# as the dvr stage is, both at once), its restarts and SIGHUP.
load helpers
load supervisor_helpers

stage_is() { [[ $(stage_field "$1" state) == "$2" ]]; }
stage_respawned() { local p; p=$(stage_field "$1" pid); [[ $p =~ ^[0-9]+$ && $p != "$2" ]]; }
stage_ids() { status_json | jq -r '[.shared[], .channels[].stages[]] | .[].id' | sort | tr '\n' ' '; }
# The msn values of the segment.written lines a stand-in read on its stdin.
msns() { jq -r 'select(.type == "segment.written") | .msn' "$1" 2>/dev/null; }
lines_at_least() { (( $(msns "$1" | wc -l) >= $2 )); }

# Stand-ins for sigma-thumb and sigma-dvr (bin_dir): each records its
# command line, signals readiness and appends its stdin to NAME.stdin.
stand_ins() {
  mkdir -p "$T/bin"
  cat >"$T/bin/sigma-thumb" <<EOF
#!/bin/sh
echo "\$(basename "\$0") \$*" >>"$T/args"
prev= ready=
for a in "\$@"; do
  case \$prev in --ready-fd) ready=\$a ;; esac
  prev=\$a
done
[ -n "\$ready" ] && eval "echo >&\$ready"
exec cat >>"$T/\$(basename "\$0").stdin"
EOF
  chmod +x "$T/bin/sigma-thumb"
  cp "$T/bin/sigma-thumb" "$T/bin/sigma-dvr"
}

# A package stand-in that writes one segment.written event (msn counting
# up) every 0.2 s to its events fd.
EVENTS_PACKAGE="package.command = sh -c 'echo >&{ready_fd}; i=0; while :; do i=\$((i+1)); echo \"{\\\"type\\\":\\\"segment.written\\\",\\\"track\\\":\\\"v0\\\",\\\"uri\\\":\\\"v0/seg-\$i.m4s\\\",\\\"msn\\\":\$i}\"; sleep 0.2; done >&{events_fd}'"

@test "thumbnails keys: bad values are config errors naming file and line; --dry-run shows the thumb stage with its options" {
  conf
  channel tv "$FAKE_SOURCE" "thumbnails = maybe"
  run sigma-supervisor -c "$T/sv.conf" --dry-run
  [[ $status -eq 100 && $output == *"$T/sv.conf:11: expected yes or no, got 'maybe'"* ]]
  for bad in "thumbnails.every = 0s" "thumbnails.every = soon" "thumbnails.widths = 320,abc" "thumbnails.widths = 321" \
    "thumbnails.sprites = off" "thumbnails.size = 2"; do
    conf
    channel tv "$FAKE_SOURCE" "thumbnails = yes" "$bad"
    run sigma-supervisor -c "$T/sv.conf" --dry-run
    echo "$bad -> $output"
    [[ $status -eq 100 && $output == *"$T/sv.conf:12: "*"thumbnails"* ]]
  done
  conf "rtmp = 127.0.0.1:1935"
  channel tv "input = pull srt://127.0.0.1:9000" "thumbnails = yes" "thumbnails.every = 1s" \
    "thumbnails.widths = 320, 640" "thumbnails.sprites = 5s" "archive = 1h"
  channel studio "input = publish" "thumbnails = yes" "thumbnails.sprites = 20s"
  channel plain "input = publish" "thumbnails.every = 3s"
  run sigma-supervisor -c "$T/sv.conf" --dry-run
  echo "$output"
  [[ $status -eq 0 ]]
  [[ $output == *"sigma-thumb run --dir $T/out/tv --channel tv --events-in $T/events.ndjson --every 1s --widths 320,640 --sprite-every 5s --events $T/events.ndjson </dev/null >/dev/null &"* ]]
  # Packaged in the shared ingest: the thumb stage all the same.
  [[ $output == *"sigma-thumb run --dir $T/out/studio --channel studio --events-in $T/events.ndjson --sprite-every 20s --events"* ]]
  # thumbnails.* alone does not turn thumbnails on.
  [[ $(grep -c 'sigma-thumb run' <<<"$output") -eq 2 ]]
  [[ $output != *"out/plain --channel plain --events-in"* ]]
  [[ ! -e $T/run ]]
}

@test "thumb and dvr stages both get every segment.written; kill -9 of the thumb stage: restarted, fed again; SIGHUP: a thumbnails change restarts it alone" {
  local thumb dvr pkg n got
  stand_ins
  conf "bin_dir = $T/bin" "backoff_initial = 1s"
  channel tv "$FAKE_SOURCE" "$EVENTS_PACKAGE" "archive = 1h" "thumbnails = yes" "thumbnails.every = 1s"
  start_sv
  WAIT_SECS=10 wait_for stage_is tv/thumb up || { cat "$T/sv.log"; return 1; }
  [[ $(stage_ids) == "tv/dvr tv/package tv/source tv/thumb " ]]
  grep -q -- "^sigma-thumb run --dir $T/out/tv --channel tv --events-in - --every 1s --ready-fd 3 --events fd:4$" "$T/args"
  WAIT_SECS=10 wait_for lines_at_least "$T/sigma-thumb.stdin" 5
  WAIT_SECS=10 wait_for lines_at_least "$T/sigma-dvr.stdin" 5
  # The same events, in order, to both (each line whole JSON, with its channel).
  [[ $(jq -r .channel "$T/sigma-thumb.stdin" | sort -u) == tv ]]
  got=$(msns "$T/sigma-thumb.stdin")
  n=$(wc -l <<<"$got")
  WAIT_SECS=5 wait_for lines_at_least "$T/sigma-dvr.stdin" "$n"
  [[ $got == $(msns "$T/sigma-dvr.stdin" | head -n "$n") ]]
  [[ $got == $(sort -n <<<"$got") && $(head -n 1 <<<"$got") -eq 1 ]]
  (( $(status_json | jq '.channels[0].stages[] | select(.stage == "thumb") | .events_in.forwarded') >= 5 ))
  [[ $(status_json | jq '.channels[0].stages[] | select(.stage == "thumb") | .events_in.dropped') -eq 0 ]]

  # kill -9: restarted after its backoff, and fed the events that follow.
  thumb=$(stage_field tv/thumb pid)
  dvr=$(stage_field tv/dvr pid)
  pkg=$(stage_field tv/package pid)
  kill -9 "$thumb"
  WAIT_SECS=10 wait_for stage_respawned tv/thumb "$thumb"
  WAIT_SECS=10 wait_for stage_is tv/thumb up
  [[ $(stage_field tv/thumb restarts) -eq 1 && $(stage_field tv/thumb last_exit) == SIGKILL ]]
  n=$(msns "$T/sigma-thumb.stdin" | wc -l)
  WAIT_SECS=10 wait_for lines_at_least "$T/sigma-thumb.stdin" $((n + 3))
  [[ $(stage_field tv/dvr pid) == "$dvr" && $(stage_field tv/package pid) == "$pkg" ]]
  events_at_least stage.restarted 1 '.channel == "tv" and .stage == "thumb"'

  # SIGHUP: new options restart the thumb stage only; thumbnails = no ends it.
  thumb=$(stage_field tv/thumb pid)
  sed -i 's/^thumbnails.every = 1s$/thumbnails.every = 4s\nthumbnails.widths = 640/' "$T/sv.conf"
  kill -HUP "$SV"
  WAIT_SECS=10 wait_for stage_respawned tv/thumb "$thumb"
  WAIT_SECS=10 wait_for stage_is tv/thumb up
  grep -q -- "^sigma-thumb run --dir $T/out/tv --channel tv --events-in - --every 4s --widths 640 --ready-fd 3" "$T/args"
  [[ $(stage_field tv/dvr pid) == "$dvr" && $(stage_field tv/package pid) == "$pkg" ]]
  thumb=$(stage_field tv/thumb pid)
  sed -i 's/^thumbnails = yes$/thumbnails = no/' "$T/sv.conf"
  kill -HUP "$SV"
  WAIT_SECS=10 wait_for bash -c "[[ \$(curl -s '$HEALTH/status' | jq '[.channels[].stages[] | select(.stage == \"thumb\")] | length') -eq 0 ]]"
  ! kill -0 "$thumb" 2>/dev/null
  [[ $(stage_field tv/dvr pid) == "$dvr" && $(stage_field tv/package pid) == "$pkg" ]]
  WAIT_SECS=5 wait_for curl -sf "$HEALTH/healthz"
}

@test "thumbnails = yes with the real sigma-thumb: latest.jpg at each width from the packager's segments, sprites the origin serves through the window's VTT" {
  local ts op out vtt uri
  ts=$(make_ts t90 90)
  op=$(free_port)
  out=$T/out/live
  conf "origin = 127.0.0.1:$op"
  channel live "input = exec ffmpeg -nostdin -loglevel error -re -i $ts -c copy -f mpegts -" "mode = low" \
    "thumbnails = yes" "thumbnails.every = 1s" "thumbnails.widths = 320,640" "thumbnails.sprites = 2s"
  start_sv
  WAIT_SECS=20 wait_for stage_is live/thumb up || { cat "$T/sv.log"; return 1; }
  WAIT_SECS=20 wait_for test -s "$out/thumbs/latest.json" || { cat "$T/sv.log"; return 1; }
  [[ $(ffprobe -v error -show_entries stream=width,height -of csv=p=0 "$out/thumbs/latest.jpg") == 320,180 ]]
  WAIT_SECS=5 wait_for test -s "$out/thumbs/latest-640.jpg"
  [[ $(ffprobe -v error -show_entries stream=width,height -of csv=p=0 "$out/thumbs/latest-640.jpg") == 640,360 ]]
  # The picture is of the live edge: its media time within a few segments of now.
  (( $(date +%s%3N) - $(jq .pdt_ms "$out/thumbs/latest.json") < 10000 ))
  WAIT_SECS=20 wait_for bash -c "(( \$(curl -sf 'http://127.0.0.1:$op/live/thumbnails.vtt' | grep -c -- '-->') >= 3 ))" ||
    { cat "$T/sv.log"; return 1; }
  vtt=$(curl -sf "http://127.0.0.1:$op/live/thumbnails.vtt")
  echo "$vtt"
  for uri in $(grep '#xywh=' <<<"$vtt" | cut -d'#' -f1 | sort -u); do
    [[ $(curl -s -o /dev/null -w '%{http_code} %{content_type}' "http://127.0.0.1:$op/live/$uri") == "200 image/jpeg" ]]
  done
  (( $(status_json | jq '.channels[0].stages[] | select(.stage == "thumb") | .events_in.forwarded') >= 5 ))
  [[ $(status_json | jq '.channels[0].stages[] | select(.stage == "thumb") | .events_in.dropped') -eq 0 ]]
  WAIT_SECS=5 wait_for curl -sf "$HEALTH/healthz"
}
