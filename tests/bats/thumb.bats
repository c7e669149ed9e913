#!/usr/bin/env bats
# sigma-thumb over real channels made by sigma-package from a source whose
# frames carry their own number as a barcode (16 black/white columns = the
# 16 bits of the frame number): latest.jpg and every sprite tile must show
# the frame of their label; the WebVTT must tile its range; a publisher
# reconnect at another resolution and a kill -9 must leave the sprites
# without a hole or a duplicate; bad input is the documented exit status
# with the previous pictures intact.
load helpers

setup_file() {
  # bar.py FILE X Y W H: the number a W x H rectangle of the JPEG carries.
  cat >"$BATS_FILE_TMPDIR/bar.py" <<'PY'
import subprocess, sys
f, x, y, w, h = sys.argv[1], *map(int, sys.argv[2:6])
raw = subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", f, "-vf", f"crop={w}:{h}:{x}:{y}",
                      "-f", "rawvideo", "-pix_fmt", "gray", "-"], check=True, capture_output=True).stdout
assert len(raw) == w * h, f"{f}: {len(raw)} bytes, not {w}x{h}"
n = 0
for bit in range(16):
    if raw[(h // 2) * w + int((bit + 0.5) * w / 16)] > 128: n |= 1 << bit
print(n)
PY
  # vtt.py VTT FROM_MS TO_MS THUMBS_DIR: a strict WebVTT check, and every
  # cue inside its sprite: cues ascend from 0 to the range's length with no
  # gap or overlap, each cue's rectangle lies inside its sheet and is one
  # of the sheet's tiles, whose slot the cue starts at and overlaps.
  cat >"$BATS_FILE_TMPDIR/vtt.py" <<'PY'
import json, re, subprocess, sys
vtt, frm, to, thumbs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
text = open(vtt, encoding="utf-8").read()
assert text.startswith("WEBVTT\n\n"), "no WEBVTT header"
blocks = [b for b in text[len("WEBVTT\n\n"):].split("\n\n") if b.strip()]
ts = re.compile(r"^(\d{2,}):([0-5]\d):([0-5]\d)\.(\d{3}) --> (\d{2,}):([0-5]\d):([0-5]\d)\.(\d{3})$")
ms = lambda g: ((int(g[0]) * 60 + int(g[1])) * 60 + int(g[2])) * 1000 + int(g[3])
prev_end, sizes, n = 0, {}, 0
for b in blocks:
    lines = b.split("\n")
    assert len(lines) == 2, f"a cue of {len(lines)} lines: {b!r}"
    m = ts.match(lines[0]); assert m, f"bad timing line {lines[0]!r}"
    start, end = ms(m.groups()[:4]), ms(m.groups()[4:])
    assert start == prev_end, f"cue at {start} after one ending at {prev_end}: a gap or an overlap"
    assert end > start, f"an empty cue at {start}"
    m2 = re.match(r"^thumbs/(sprite-(-?\d+))\.jpg#xywh=(\d+),(\d+),(\d+),(\d+)$", lines[1]); assert m2, lines[1]
    name, k, x, y, w, h = m2.group(1), int(m2.group(2)), *map(int, m2.groups()[2:])
    if name not in sizes:
        out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=width,height", "-of", "csv=p=0",
                              f"{thumbs}/{name}.jpg"], check=True, capture_output=True, text=True).stdout
        sizes[name] = tuple(map(int, out.strip().split(",")))
    W, H = sizes[name]
    assert x + w <= W and y + h <= H, f"{lines[1]} outside the {W}x{H} sheet"
    meta = json.load(open(f"{thumbs}/{name}.json"))
    tile = [t for t in meta["tiles"] if t["x"] == x and t["y"] == y]
    assert len(tile) == 1 and w == meta["tile_w"] and h == meta["tile_h"], f"{lines[1]} is no tile of {name}.json"
    # The cue lies inside its tile's slot's reach: it starts at the slot's
    # start (the first at the range's), and the slot overlaps it.
    iv = meta["interval_ms"]
    s0 = tile[0]["slot"] * iv - frm
    assert s0 < end and s0 + iv > start, f"a cue {start}..{end} for the slot at {s0}"
    assert start == (0 if n == 0 else s0), f"a cue starting at {start}, its slot at {s0}"
    assert tile[0]["slot"] * iv <= tile[0]["pdt_ms"] < tile[0]["slot"] * iv + iv, "a tile outside its slot"
    prev_end, n = end, n + 1
assert n == 0 or prev_end == to - frm, f"cues end at {prev_end}, not {to - frm}"
print(n)
PY
}

setup() {
  T=$BATS_TEST_TMPDIR
  SIGMA_PIDS=()
  BAR="python3 $BATS_FILE_TMPDIR/bar.py"
}

teardown() {
  stop_spawned
}

# bar_ts NAME SECONDS WxH: H.264 at 30 fps, 1 s GOP, frame N showing N in
# 16 columns; prints its path (cached like make_ts).
bar_ts() {
  local name=$1 secs=$2 size=$3 w=${3%x*}
  local out="$SIGMA_TEST_CACHE/$name.ts"
  mkdir -p "$SIGMA_TEST_CACHE"
  if [[ ! -s $out ]]; then
    ffmpeg -nostdin -loglevel error -y \
      -f lavfi -i "color=black:size=$size:rate=30:duration=$secs,format=gray,geq=lum='if(mod(floor(N/pow(2\,floor(X*16/$w)))\,2)\,255\,0)'" \
      -f lavfi -i "sine=frequency=1000:sample_rate=48000:duration=$secs" \
      -c:v libx264 -preset ultrafast -g 30 -keyint_min 30 -sc_threshold 0 -bf 0 -pix_fmt yuv420p \
      -c:a aac -b:a 64k -f mpegts "$out.part" && mv "$out.part" "$out"
  fi
  echo "$out"
}

# A finished 30 s channel in DIR (1 s segments, a 40-segment window, kept
# on disk), events in DIR.events.
finished_channel() {
  local dir=$1 src
  src=$(bar_ts thumb-bar30 30 320x180)
  mkdir -p "$dir"
  ffmpeg -nostdin -loglevel error -i "$src" -c copy -f mpegts - |
    sigma-package -o "$dir" --mode low --segment-duration 1 --window 40 --keep --channel ch --events "$dir.events" --log-level warn
}

video_pdts() { jq -r 'select(.type == "segment.written" and .track == "v0") | .pdt_ms' "$1"; }
# All tiles of all sheets: "slot pdt_ms sheet x y" per line, by slot.
all_tiles() {
  local j
  for j in "$1"/thumbs/sprite-*.json; do
    jq -r '.sheet as $k | .tiles[] | "\(.slot) \(.pdt_ms) \($k) \(.x) \(.y)"' "$j"
  done | sort -n
}
# check_tiles DIR EVENTS INTERVAL_MS TILE_W TILE_H: the tiles are exactly
# the slots that hold a keyframe (every segment starts with one, 1 s GOP),
# each with the slot's first keyframe, once; every tile shows the frame of
# its time (its label is the keyframe's own time, so within 2 frames, far
# inside the one keyframe interval the issue allows). Frame 0 of each
# publisher is the pdt of its first segment (a discontinuity starts the next).
check_tiles() {
  local dir=$1 ev=$2 iv=$3 tw=$4 th=$5
  local want got firsts
  # Per video track, each slot's first keyframe ("slot pdt"); a tile may
  # come from any track read (a rung shed switches), never a later keyframe.
  firsts=$(jq -r --argjson iv "$iv" 'select(.type == "segment.written" and (.track | test("^v"))) | "\(.track) \((.pdt_ms / $iv) | floor) \(.pdt_ms)"' "$ev" |
    sort -k1,1 -k2,2n -k3,3n | awk '$1 != lt || $2 != ls { print $2, $3; lt = $1; ls = $2 }' | sort -u)
  want=$(awk '{ print $1 }' <<<"$firsts" | sort -un)
  got=$(all_tiles "$dir" | awk '{ print $1 }')
  diff <(echo "$want") <(echo "$got") || { echo "tiles differ from the slots with keyframes (or one is twice)"; return 1; }
  local bad
  bad=$(all_tiles "$dir" | awk '{ print $1, $2 }' | grep -vxFf <(echo "$firsts") || true)
  [[ -z $bad ]] || { echo "tiles not their slot's first keyframe: $bad"; return 1; }
  local starts slot pdt k x y n base expect
  starts=$(jq -r 'select(.type == "segment.written" and .track == "v0") | "\(.pdt_ms) \(.discontinuity)"' "$ev" |
    awk 'NR == 1 || $2 == "true" { print $1 }')
  while read -r slot pdt k x y; do
    # (another track's keyframe may lead v0's by a few ms)
    base=$(awk -v p="$pdt" 'NR == 1 || $1 <= p { b = $1 } END { print b }' <<<"$starts")
    expect=$(((pdt - base) * 30 / 1000))
    n=$($BAR "$dir/thumbs/sprite-$k.jpg" "$x" "$y" "$tw" "$th")
    ((n >= expect - 2 && n <= expect + 2)) || { echo "slot $slot (sheet $k at $x,$y): frame $n, want $expect"; return 1; }
  done < <(all_tiles "$dir")
}

@test "the pictures show their moment: latest*.jpg at the sizes asked, every tile its slot's first keyframe; the VTT tiles any range" {
  ch=$T/ch
  finished_channel "$ch"
  run sigma-thumb run --dir "$ch" --events-in - --widths 320,160 --sprite-every 2s --grid 4x3 --events "$T/thumb.ndjson" <"$ch.events"
  echo "$output"
  [ "$status" -eq 0 ]
  # latest: the newest keyframe, at 320 and 160 wide, 16:9.
  for w in 320 160; do
    [ "$(ffprobe -v error -show_entries stream=width,height -of csv=p=0 "$ch/thumbs/latest-$w.jpg")" = "$w,$((w * 9 / 16))" ]
  done
  cmp "$ch/thumbs/latest.jpg" "$ch/thumbs/latest-320.jpg"
  first=$(video_pdts "$ch.events" | head -1)
  last=$(video_pdts "$ch.events" | tail -1)
  # The newest keyframe, or one less than --every (2 s) before it.
  label=$(jq .pdt_ms "$ch/thumbs/latest.json")
  ((label <= last && label > last - 2000))
  seg=$(jq -r .segment "$ch/thumbs/latest.json")
  [ "$(jq -r --arg s "$seg" 'select(.type == "segment.written" and .uri == $s) | .pdt_ms' "$ch.events")" = "$label" ]
  [ "$(jq -c '[.width, .height, .widths, .stale]' "$ch/thumbs/latest.json")" = '[320,180,[320,160],false]' ]
  expect=$(((label - first) * 30 / 1000))
  for f in latest-320 latest-160; do
    w=$(ffprobe -v error -show_entries stream=width -of csv=p=0 "$ch/thumbs/$f.jpg")
    n=$($BAR "$ch/thumbs/$f.jpg" 0 0 "$w" $((w * 9 / 16)))
    ((n >= expect - 2 && n <= expect + 2)) || { echo "$f: frame $n, want $expect"; false; }
  done
  # Sprites: 15 tiles of 2 s over 30 s of media, 12 to a sheet: two sheets
  # at least, each 640x270.
  [ "$(ls "$ch"/thumbs/sprite-*.jpg | wc -l)" -ge 2 ]
  for s in "$ch"/thumbs/sprite-*.jpg; do
    [ "$(ffprobe -v error -show_entries stream=width,height -of csv=p=0 "$s")" = "640,270" ]
  done
  check_tiles "$ch" "$ch.events" 2000 160 90
  # The VTT of the whole channel, and of a range cut inside slots.
  end=$((last + 1000))
  sigma-thumb vtt "$ch" --from "$((first / 1000)).$(printf %03d $((first % 1000)))" --to "$((end / 1000)).$(printf %03d $((end % 1000)))" >"$T/all.vtt"
  run python3 "$BATS_FILE_TMPDIR/vtt.py" "$T/all.vtt" "$first" "$end" "$ch/thumbs"
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$output" -eq 15 ] || [ "$output" -eq 16 ]
  a=$((first + 3300)) b=$((first + 17700))
  sigma-thumb vtt "$ch" --from "$((a / 1000)).$(printf %03d $((a % 1000)))" --to "$((b / 1000)).$(printf %03d $((b % 1000)))" >"$T/part.vtt"
  run python3 "$BATS_FILE_TMPDIR/vtt.py" "$T/part.vtt" "$a" "$b" "$ch/thumbs"
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$output" -ge 7 ]
}

@test "sigma-thumb at: the keyframe at or before T, from the archive index or the live playlist, at the width asked" {
  ch=$T/ch
  finished_channel "$ch"
  first=$(video_pdts "$ch.events" | head -1)
  # From the live playlist (no archive): 12.5 s in shows the keyframe of 12 s.
  t=$((first + 12500))
  sigma-thumb at "$ch" --time "$((t / 1000)).$(printf %03d $((t % 1000)))" --width 480 -o "$T/p1.jpg"
  [ "$(ffprobe -v error -show_entries stream=width,height -of csv=p=0 "$T/p1.jpg")" = "480,270" ]
  n=$($BAR "$T/p1.jpg" 0 0 480 270)
  [ "$n" -eq 360 ] || { echo "frame $n"; false; }
  # From the archive, ISO 8601.
  index_channel "$ch" "$ch.events"
  t=$((first + 21900))
  iso=$(date -u -d "@$((t / 1000))" +%Y-%m-%dT%H:%M:%S).$(printf %03d $((t % 1000)))Z
  sigma-thumb at "$ch" --time "$iso" -o "$T/p2.jpg"
  [ "$(ffprobe -v error -show_entries stream=width -of csv=p=0 "$T/p2.jpg")" = 640 ]
  n=$($BAR "$T/p2.jpg" 0 0 640 360)
  [ "$n" -eq 630 ] || { echo "frame $n"; false; }
}

@test "sprite sheets leave with the segments the archive's retention deleted, no sooner" {
  ch=$T/ch
  finished_channel "$ch"
  index_channel "$ch" "$ch.events"
  first=$(video_pdts "$ch.events" | head -1)
  # 2 s slots, 4 to a sheet: a sheet spans 8 s of media.
  sigma-thumb run --dir "$ch" --events-in - --sprite-every 2s --grid 2x2 <"$ch.events"
  before=$(ls "$ch"/thumbs/sprite-*.json | wc -l)
  [ "$before" -ge 4 ]
  # What sigma-dvr's retention does to the index: the first 13 s go.
  cut=$((first + 13000))
  sqlite3 "$ch/.dvr/index.sqlite" "delete from segments where start_ms < $cut"
  oldest=$(sqlite3 -readonly "$ch/.dvr/index.sqlite" "select min(start_ms) from segments")
  sigma-thumb run --dir "$ch" --events-in - --sprite-every 2s --grid 2x2 --events "$T/thumb.ndjson" </dev/null
  for j in $(all_tiles "$ch" | awk '{ print $3 }' | sort -u); do
    # Every sheet left ends after the oldest segment.
    (((j + 1) * 8000 > oldest)) || { echo "sheet $j ends before $oldest"; false; }
  done
  # Every sheet gone ended before it (a JSON and its JPEG together).
  gone=$(EVENTS_FILE=$T/thumb.ndjson count_events thumb.sheet_deleted)
  [ "$gone" -ge 1 ]
  [ "$(ls "$ch"/thumbs/sprite-*.json | wc -l)" -eq $((before - gone)) ]
  [ "$(ls "$ch"/thumbs/sprite-*.jpg | wc -l)" -eq $((before - gone)) ]
  for k in $(jq -r 'select(.type == "thumb.sheet_deleted") | .sheet' "$T/thumb.ndjson"); do
    (((k + 1) * 8000 <= oldest))
  done
}

@test "bad input: corrupt or truncated segments, a time outside the archive, an unknown channel, an unwritable place: one line, the documented status, the pictures left" {
  ch=$T/ch
  finished_channel "$ch"
  first=$(video_pdts "$ch.events" | head -1)
  sigma-thumb run --dir "$ch" --events-in - --sprite-every 2s <"$ch.events"
  cp "$ch/thumbs/latest.jpg" "$T/latest.before"
  echo poster >"$T/p.jpg"
  # A truncated segment and one of garbage: 65, the poster untouched.
  seg=$(jq -r 'select(.type == "segment.written" and .track == "v0" and .msn == 5) | .uri' "$ch.events")
  head -c 3000 "$ch/$seg" >"$T/cut" && cat "$T/cut" >"$ch/$seg"
  t=$((first + 5200))
  run sigma-thumb at "$ch" --time "$((t / 1000)).$(printf %03d $((t % 1000)))" -o "$T/p.jpg"
  echo "$output"
  [ "$status" -eq 65 ]
  [[ $output == *"$seg: "*"past the end of the file"* ]]
  [ "$(cat "$T/p.jpg")" = poster ]
  seg6=$(jq -r 'select(.type == "segment.written" and .track == "v0" and .msn == 6) | .uri' "$ch.events")
  head -c 4000 /dev/urandom >"$ch/$seg6"
  run sigma-thumb at "$ch" --time "$(((first + 6100) / 1000)).$(printf %03d $(((first + 6100) % 1000)))" -o "$T/p.jpg"
  [ "$status" -eq 65 ]
  [ "$(cat "$T/p.jpg")" = poster ]
  # run given these segments as the newest: the pictures stay, latest.json
  # says stale and why, the run goes on (exit 0 at the input's end).
  jq -c 'select(.type == "segment.written" and .track == "v0" and (.msn == 5 or .msn == 6))' "$ch.events" |
    sigma-thumb run --dir "$ch" --events-in - --sprite-every 2s --events "$T/thumb.ndjson"
  cmp "$ch/thumbs/latest.jpg" "$T/latest.before"
  [ "$(jq .stale "$ch/thumbs/latest.json")" = true ]
  [[ $(jq -r .stale_reason "$ch/thumbs/latest.json") == "cannot read v0/seg-"* ]]
  EVENTS_FILE=$T/thumb.ndjson events_at_least thumb.stale 1
  # A time outside the archive: 100, saying what the archive holds.
  run sigma-thumb at "$ch" --time 2020-01-01T00:00:00Z -o "$T/p.jpg"
  echo "$output"
  [ "$status" -eq 100 ]
  [[ $output == *"outside the archive"*"live window holds"* ]]
  [ "$(cat "$T/p.jpg")" = poster ]
  # An unknown channel: 100.
  run sigma-thumb at "$T/nochannel" --time now -o "$T/p.jpg"
  [ "$status" -eq 100 ]
  [[ $output == *"no channel directory"* ]]
  run sigma-thumb run --dir "$T/nochannel" --events-in - </dev/null
  [ "$status" -eq 100 ]
  # Unwritable: a poster into a missing directory, thumbs/ that is a file: 111.
  t=$((first + 12500))
  run sigma-thumb at "$ch" --time "$((t / 1000)).$(printf %03d $((t % 1000)))" -o "$T/missing/p.jpg"
  echo "$output"
  [ "$status" -eq 111 ]
  [[ $output == *"write $T/missing/p.jpg"* ]]
  mkdir "$T/ch2" && touch "$T/ch2/thumbs"
  run sigma-thumb run --dir "$T/ch2" --events-in - </dev/null
  echo "$output"
  [ "$status" -eq 111 ]
  # Bad usage.
  run sigma-thumb run --dir "$ch" --widths 321
  [ "$status" -eq 100 ]
  run sigma-thumb run --dir "$ch" --tile 161x90
  [ "$status" -eq 100 ]
}

@test "live: the preview follows a publisher reconnect at another size; kill -9 and a restart leave the sprites without a hole or a duplicate" {
  local a b ch=$T/ch ev=$T/ev.ndjson fifo=$T/in.fifo pkg pub th
  a=$(bar_ts thumb-bar10 10 320x180)
  b=$(bar_ts thumb-bar10-43 10 320x240)
  mkdir -p "$ch"
  : >"$ev"
  mkfifo "$fifo"
  spawn "$T/pkg.log" sigma-package -i "$fifo" -o "$ch" --mode low --segment-duration 1 --window 30 --channel ch \
    --events "$ev" --log-level warn
  pkg=$SPAWNED_PID
  thumb() {
    spawn "$T/thumb$1.log" sigma-thumb run --dir "$ch" --channel ch --events-in "$ev" --every 1s --widths 320,160 \
      --sprite-every 2s --grid 3x3 --events "$T/thumb.ndjson"
    th=$SPAWNED_PID
  }
  thumb 1
  # 10 s at 16:9, then a second publisher at 4:3 (a discontinuity).
  spawn "$T/pub.log" bash -c "ffmpeg -nostdin -loglevel error -re -i '$a' -c copy -f mpegts -y '$fifo';
    ffmpeg -nostdin -loglevel error -re -i '$b' -c copy -f mpegts -y '$fifo'"
  pub=$SPAWNED_PID
  tiles_at_least() { [ "$(all_tiles "$ch" 2>/dev/null | wc -l)" -ge "$1" ]; }
  WAIT_SECS=20 wait_for tiles_at_least 2 || { cat "$T/thumb1.log"; false; }
  kill -9 "$th"
  sleep 3
  thumb 2
  timeout 40 tail --pid="$pub" -f /dev/null
  kill -TERM "$pkg"
  timeout 10 tail --pid="$pkg" -f /dev/null
  last=$(video_pdts "$ev" | tail -1)
  caught_up() { [ "$(jq .pdt_ms "$ch/thumbs/latest.json")" = "$last" ]; }
  WAIT_SECS=10 wait_for caught_up || { cat "$T/thumb2.log"; cat "$ch/thumbs/latest.json"; false; }
  # The restart filled what it missed while down from the live playlist.
  grep -q 'looked at for missed sprites' "$T/thumb2.log"
  # The live picture is the second publisher's, at its shape, fresh.
  [ "$(jq -c '[.width, .height, .stale]' "$ch/thumbs/latest.json")" = '[320,240,false]' ]
  [ "$(ffprobe -v error -show_entries stream=width,height -of csv=p=0 "$ch/thumbs/latest-160.jpg")" = "160,120" ]
  bstart=$(jq -r 'select(.type == "segment.written" and .track == "v0" and .discontinuity) | .pdt_ms' "$ev" | head -1)
  [ -n "$bstart" ]
  expect=$(((last - bstart) * 30 / 1000))
  n=$($BAR "$ch/thumbs/latest.jpg" 0 0 320 240)
  ((n >= expect - 2 && n <= expect + 2)) || { echo "latest: frame $n, want $expect"; false; }
  # Every slot with a keyframe has its first keyframe, once, across the
  # kill, the restart and the reconnect; each tile shows its frame.
  check_tiles "$ch" "$ev" 2000 160 90
}

@test "the cheapest variant is read; when its segments stop (a rung shed) the picture goes stale, then comes from the next, the sprites without a hole" {
  local big small st=$T/stage ch=$T/ch ev=$T/ev.ndjson
  big=$(bar_ts thumb-bar16-640 16 640x360)
  small=$(bar_ts thumb-bar10 10 320x180)
  # Two rungs from one source (v0 640x360, v1 320x180), packaged into a
  # stage; then replayed into the channel a segment time every 0.6 s, as a
  # live packager writes them, except that v1's stop after msn 4 (shed).
  mkdir -p "$st" "$ch"
  ffmpeg -nostdin -loglevel error -i "$big" -i "$small" -map 0:v -map 1:v -map 0:a -c copy -f mpegts - |
    sigma-package -o "$st" --mode low --segment-duration 1 --window 30 --channel ch --events "$st.events" --log-level warn
  (cd "$st" && cp --parents master.m3u8 */index.m3u8 */init*.mp4 "$ch/")
  : >"$ev"
  spawn "$T/thumb.log" sigma-thumb run --dir "$ch" --events-in "$ev" --every 1s --widths 160 --sprite-every 2s \
    --grid 3x3 --events "$T/thumb.ndjson"
  python3 - "$st" "$ch" "$st.events" "$ev" <<'PY'
import json, os, shutil, sys, time
st, ch, src, dst = sys.argv[1:5]
by_msn = {}
for line in open(src):
    e = json.loads(line)
    if e.get("type") == "segment.written": by_msn.setdefault(e["msn"], []).append(line)
with open(dst, "a") as out:
    for msn in sorted(by_msn):
        for line in by_msn[msn]:
            e = json.loads(line)
            if e["track"] == "v1" and msn > 4: continue
            os.makedirs(os.path.dirname(f"{ch}/{e['uri']}"), exist_ok=True)
            shutil.copy(f"{st}/{e['uri']}", f"{ch}/{e['uri']}.tmp"); os.rename(f"{ch}/{e['uri']}.tmp", f"{ch}/{e['uri']}")
            out.write(line); out.flush()
        time.sleep(0.6)
PY
  last=$(jq -r 'select(.type == "segment.written" and .track == "v0") | .pdt_ms' "$ev" | tail -1)
  caught_up() { [ "$(jq .pdt_ms "$ch/thumbs/latest.json")" = "$last" ]; }
  WAIT_SECS=10 wait_for caught_up || { cat "$T/thumb.log"; false; }
  cat "$T/thumb.log"
  # v1 first (320 wide is the narrowest of at least 160), then v0.
  grep -q 'pictures from track v1' "$T/thumb.log"
  EVENTS_FILE=$T/thumb.ndjson
  [ "$(count_events thumb.stale '.reason == "segments of v1 stopped arriving"')" -eq 1 ]
  [ "$(count_events thumb.switched '.from == "v1" and .to == "v0"')" -eq 1 ]
  [ "$(count_events thumb.resumed '.track == "v0"')" -eq 1 ]
  # (stale may be true again by now: 4 s after the replay's end, the
  # channel has stopped.)
  [ "$(jq -c '[.track, .width, .height]' "$ch/thumbs/latest.json")" = '["v0",160,90]' ]
  # Both tracks' keyframes share their times: the tiles are every slot's
  # first keyframe, from whichever track was read, no slot missed.
  check_tiles "$ch" "$ev" 2000 160 90
}
