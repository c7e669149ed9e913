#!/usr/bin/env bats
# Failover (sigma-ingest's backup input and slate, the supervisor's keys):
# real publishers on 127.0.0.1 whose pictures differ (a red primary, a
# blue backup), the pictures in the playlists told apart by the mean
# colour of each segment's first frame. The slate is the built-in card
# (dark grey). Every segment must decode, with one EXT-X-DISCONTINUITY per
# switch and timestamps going forward.
load helpers

setup() {
  SIGMA_PIDS=()
  T=$(mktemp -d)
}

teardown() {
  stop_spawned
  rm -rf "$T"
}

# publish_color COLOR KEY: a 320x180 30 fps picture of one colour with a
# tone, 1 s GOP, over RTMP for up to a minute (sets $SPAWNED_PID).
publish_color() {
  spawn "$T/pub-$2.log" ffmpeg -nostdin -loglevel error -re \
    -f lavfi -i "color=c=$1:s=320x180:r=30" -f lavfi -i "sine=frequency=440:sample_rate=48000" -t 60 \
    -c:v libx264 -preset ultrafast -g 30 -keyint_min 30 -sc_threshold 0 -bf 0 -pix_fmt yuv420p \
    -c:a aac -b:a 64k -f flv "rtmp://127.0.0.1:$RTMP_PORT/live/$2"
}

# colour_of FILE: red, blue, slate or "other R G B" for a segment's first frame
# (its init segment first).
colour_of() {
  local rgb r g b
  rgb=$(ffmpeg -nostdin -loglevel error -i "$1" -frames:v 1 -vf scale=1:1 -f rawvideo -pix_fmt rgb24 - | od -An -tu1)
  read -r r g b <<<"$rgb"
  if ((r > 180 && g < 80 && b < 80)); then echo red
  elif ((b > 180 && r < 80 && g < 80)); then echo blue
  elif ((r < 90 && g < 90 && b < 90 && r > 10)); then echo slate
  else echo "other $r $g $b"; fi
}

# segments DIR: per segment of DIR's playlist, one line "DISC" before a
# discontinuity, else "NAME COLOUR"; each segment is decoded whole (one
# that does not decode is a line "BAD NAME").
segments() {
  local d=$1 init=$1/init.mp4 line u rgb r g b c
  while read -r line; do
    case $line in
      '#EXT-X-MAP:URI='*) u=${line#*URI=\"}; init=$d/${u%%\"*} ;;
      '#EXT-X-DISCONTINUITY') echo DISC ;;
      seg-*)
        [[ -f $d/$line ]] || continue
        cat "$init" "$d/$line" >"$T/one.mp4"
        if [[ -n $(ffmpeg -nostdin -v error -i "$T/one.mp4" -map 0:v -vf scale=1:1 -f rawvideo -pix_fmt rgb24 \
          -y "$T/one.rgb" 2>&1) ]]; then echo "BAD $line"; continue; fi
        read -r r g b < <(head -c 3 "$T/one.rgb" | od -An -tu1)
        if ((r > 180 && g < 80 && b < 80)); then c=red
        elif ((b > 180 && r < 80 && g < 80)); then c=blue
        elif ((r < 90 && g < 90 && b < 90 && r > 10)); then c=slate
        else c=other_${r}_${g}_${b}; fi
        echo "$line $c" ;;
    esac
  done <"$d/index.m3u8"
}

# decode_times DIR: each segment's baseMediaDecodeTime (tfdt), in playlist order.
decode_times() {
  python3 - "$1" <<'PY'
import struct, sys
d = sys.argv[1]
def tfdt(buf):
    i = 0
    while i + 8 <= len(buf):
        size, kind = struct.unpack(">I4s", buf[i:i + 8])
        if size < 8: return None
        if kind in (b"moof", b"traf"):
            r = tfdt(buf[i + 8:i + size])
            if r is not None: return r
        if kind == b"tfdt":
            v = buf[i + 8]
            return struct.unpack(">Q", buf[i + 12:i + 20])[0] if v == 1 else struct.unpack(">I", buf[i + 12:i + 16])[0]
        i += size
    return None
for line in open(d + "/index.m3u8"):
    line = line.strip()
    if line.startswith("seg-"):
        try: print(line, tfdt(open(d + "/" + line, "rb").read()))
        except FileNotFoundError: pass
PY
}

# newest_is COLOUR DIR: the newest segment of DIR's playlist shows COLOUR.
newest_is() {
  local d=$2 init seg
  seg=$(grep '^seg-' "$d/index.m3u8" | tail -1)
  init=$(grep -o 'URI="[^"]*"' "$d/index.m3u8" | tail -1 | cut -d'"' -f2)
  [[ -n $seg && -f $d/$seg ]] || return 1
  cat "$d/${init:-init.mp4}" "$d/$seg" >"$T/newest.mp4"
  [[ $(colour_of "$T/newest.mp4") == "$1" ]]
}

# switch_within SECONDS COLOUR DIR: polls until the newest segment shows
# COLOUR; fails after SECONDS (measured from the call, which the caller
# makes right as it kills an input).
switch_within() {
  local t0=${EPOCHREALTIME/./} limit
  limit=$(awk -v s="$1" 'BEGIN { printf "%d", s * 1000000 }')
  until newest_is "$2" "$3"; do
    (( ${EPOCHREALTIME/./} - t0 > limit )) && { echo "no $2 segment within $1 s"; return 1; }
    sleep 0.1
  done
  echo "$2 after $(( (${EPOCHREALTIME/./} - t0) / 1000 )) ms" >&3
}

@test "bad failover settings exit 100 at config time, naming the channel" {
  echo "not a picture" >"$T/slate.png"
  base="[global]
run_dir = $T/run
out_root = $T/out
health = off
origin = off
open_keys = yes"
  check() { # check EXPECTED_TEXT CHANNEL_LINES...
    local want=$1; shift
    { echo "$base"; echo "[channel demo]"; printf '%s\n' "$@"; } >"$T/sv.conf"
    run sigma-supervisor -c "$T/sv.conf" --dry-run
    [ "$status" -eq 100 ] || { echo "status $status for: $*"; echo "$output"; return 1; }
    [[ $output == *"$want"* ]] || { echo "want '$want' in: $output"; return 1; }
  }
  check "not a picture or video" "backup = demo-b" "slate = $T/slate.png"
  check "own stream key" "backup = demo"
  check "sv.conf:" "backup = pull rtmp:/nohost"
  check "between 100ms and 10m" "failover_after = forever"
  check "published input" "input = pull $T/none.ts" "backup = demo-b"
  # With a keys file: the backup key may not be any channel's stream key,
  # and never shows in the message.
  echo "demo s3cret-primary" >"$T/keys"
  { echo "$base" | sed '/open_keys/d'; echo "keys = $T/keys"; echo "[channel demo]"; echo "backup = s3cret-primary"; } >"$T/sv.conf"
  run sigma-supervisor -c "$T/sv.conf" --dry-run
  [ "$status" -eq 100 ]
  [[ $output == *"own stream key"* && $output != *s3cret* ]]
  # sigma-ingest itself checks its --hls-channel spec the same way.
  run sigma-ingest --rtmp "127.0.0.1:$(free_port)" --open --hls-channel "demo=$T/d,slate=$T/slate.png"
  [ "$status" -eq 100 ]
  [[ $output == *"not a picture or video"* ]]
  run sigma-ingest --rtmp "127.0.0.1:$(free_port)" --open --hls-channel "demo=$T/d,backup=demo"
  [ "$status" -eq 100 ]
  # A good config plans the keys into the ingest's channel line.
  { echo "$base"; echo "[channel demo]"; echo "backup = demo-b"; echo "failover_after = 1500ms"; } >"$T/sv.conf"
  run sigma-supervisor -c "$T/sv.conf" --dry-run
  [ "$status" -eq 0 ]
  [[ $output == *"backup=demo-b,slate=auto,failover-after=1500ms"* ]]
}

@test "transmux channel: primary lost -> backup, both lost -> slate, primary back -> primary; one discontinuity per switch" {
  RTMP_PORT=$(free_port)
  OUT=$T/out/demo
  spawn "$T/ingest.log" sigma-ingest --rtmp "127.0.0.1:$RTMP_PORT" --open --events "$T/events" \
    --status-file "$T/status.json" \
    --hls-channel "demo=$OUT,mode=low,window=90,backup=demo-backup,failover-after=1500ms,failback-after=2s"
  wait_for bash -c "exec 3<>/dev/tcp/127.0.0.1/$RTMP_PORT" || { cat "$T/ingest.log"; return 1; }
  publish_color red demo
  PRIMARY=$SPAWNED_PID
  publish_color blue demo-backup
  BACKUP=$SPAWNED_PID
  WAIT_SECS=15 wait_for newest_is red "$OUT/v0"
  # The slate is made for the primary's picture size before it is needed.
  WAIT_SECS=10 wait_for grep -q "slate ready (320x180@30/1 gop 30" "$T/ingest.log"
  sleep 1
  # Within the threshold (1.5 s) plus one GOP (1 s), plus the poll (a
  # decode each time) and ffmpeg's exit; bench/failover.sh measures it.
  kill "$PRIMARY"
  switch_within 3.5 blue "$OUT/v0"
  WAIT_SECS=3 wait_for jq -e '.channels[0].input.active == "backup"' "$T/status.json"
  sleep 1
  kill "$BACKUP"
  switch_within 3.5 slate "$OUT/v0"
  sleep 1
  publish_color red demo
  PRIMARY=$SPAWNED_PID
  # Back after failback_after (2 s) on its keyframe.
  WAIT_SECS=8 wait_for newest_is red "$OUT/v0"
  sleep 1
  kill "$PRIMARY"
  WAIT_SECS=5 wait_for events_at_least input.switched 4
  # The switch is announced when the slate starts; its first segment is
  # listed once it is cut, a GOP or so later.
  WAIT_SECS=5 wait_for newest_is slate "$OUT/v0"

  run jq -r 'select(.type == "input.switched") | "\(.from)>\(.to):\(.reason)"' "$T/events"
  echo "$output"
  [ "${lines[0]}" = "primary>backup:ended" ]
  [ "${lines[1]}" = "backup>slate:ended" ]
  [ "${lines[2]}" = "slate>primary:recovered" ]
  [ "${lines[3]}" = "primary>slate:ended" ]

  # Segments: every one decodes; colours in the order of the switches, a
  # discontinuity between each run and none inside one; timestamps forward.
  segments "$OUT/v0" >"$T/segs"
  cat "$T/segs"
  ! grep -q '^BAD' "$T/segs"
  ! grep -q 'other' "$T/segs"
  run bash -c "awk '\$1 == \"DISC\" { print \"DISC\"; next } { print \$2 }' '$T/segs' | uniq | tr '\n' ' '"
  [ "$output" = "red DISC blue DISC slate DISC red DISC slate " ]
  [ "$(grep -c '^DISC' "$T/segs")" -eq 4 ]
  decode_times "$OUT/v0" | awk '{ if (NR > 1 && $2 + 0 <= last + 0) { print "backwards at " $1; exit 1 } last = $2 }'
  # The audio track decodes whole too.
  for s in $(grep '^seg-' "$OUT/a0/index.m3u8"); do
    init=$(awk -v s="$s" '/^#EXT-X-MAP/ { m = $0 } $0 == s { print m; exit }' "$OUT/a0/index.m3u8" | cut -d'"' -f2)
    cat "$OUT/a0/$init" "$OUT/a0/$s" >"$T/a.mp4"
    [ -z "$(ffmpeg -nostdin -v error -i "$T/a.mp4" -f null - 2>&1)" ]
  done
}
