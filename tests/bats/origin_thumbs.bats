#!/usr/bin/env bats
# sigma-origin and sigma-thumb's files (common/thumb/files.h): thumbs/*.jpg
# and latest.json with their types and Cache-Control, and the WebVTT seek
# previews of the live window and of any range (the ?start=&end= form and
# the catch-up forms /CH/archive-FROM-DURATION/thumbnails.vtt), over a
# channel directory made as files.h describes (sheets on the media clock,
# a closed one in the past, a gap, then the last 15 minutes but 2). Each VTT is
# checked as a player reads it: every cue's time says which slot it is,
# and that slot's sheet and place in the sheet must be what its URI names;
# the cues tile the range; every URI resolves from the VTT's URL to a
# JPEG of the sheet's size.
load helpers

INTERVAL=10000 # ms per tile
PER=100        # 10 x 10 tiles of 160 x 90 per sheet

# sheet DIR K FIRST_SLOT LAST_SLOT: sprite-K.jpg (a 1600x900 picture) and
# its sidecar with a tile for every slot from FIRST to LAST.
sheet() {
  local dir=$1 k=$2 first=$3 last=$4
  cp "$BATS_FILE_TMPDIR/sheet.jpg" "$dir/sprite-$k.jpg"
  jq -n --argjson k "$k" --argjson f "$first" --argjson l "$last" --argjson iv $INTERVAL '
    {sheet: $k, interval_ms: $iv, cols: 10, rows: 10, tile_w: 160, tile_h: 90,
     tiles: [range($f; $l + 1) | {slot: ., pdt_ms: (. * $iv + 1234),
             x: ((. % 100) % 10 * 160), y: (((. % 100) / 10 | floor) * 90)}]}' >"$dir/sprite-$k.json"
}

setup_file() {
  export ROOT=$BATS_FILE_TMPDIR/root
  local ch=$ROOT/demo th
  th=$ch/thumbs
  mkdir -p "$th" "$ch/v0" "$ROOT/bare/v0"
  ffmpeg -nostdin -loglevel error -f lavfi -i testsrc2=size=1600x900 -frames:v 1 -y "$BATS_FILE_TMPDIR/sheet.jpg"
  ffmpeg -nostdin -loglevel error -f lavfi -i testsrc2=size=640x360 -frames:v 1 -y "$th/latest.jpg"
  ffmpeg -nostdin -loglevel error -f lavfi -i testsrc2=size=320x180 -frames:v 1 -y "$th/latest-320.jpg"
  export NOW_MS=$(date +%s%3N)
  # A closed sheet long past (full, ending 1000 s or more before now),
  # nothing after it (a gap), then every slot from now - 900 s to now -
  # 120 s, in the one or two sheets they fall in; the one holding now -
  # 120 s is open.
  export OLD=$((NOW_MS / 1000000 - 3))
  export OPEN=$(((NOW_MS - 120000) / 1000000))
  export FIRST_SLOT=$(((NOW_MS - 900000) / INTERVAL)) LAST_SLOT=$(((NOW_MS - 120000) / INTERVAL))
  sheet "$th" "$OLD" $((OLD * PER)) $((OLD * PER + PER - 1))
  local k
  for ((k = FIRST_SLOT / PER; k <= OPEN; k++)); do
    sheet "$th" "$k" $((k * PER > FIRST_SLOT ? k * PER : FIRST_SLOT)) $((k * PER + PER - 1 < LAST_SLOT ? k * PER + PER - 1 : LAST_SLOT))
  done
  echo "{\"pdt_ms\":$NOW_MS,\"written_ms\":$NOW_MS,\"track\":\"v0\",\"width\":640,\"height\":360,\"stale\":false}" >"$th/latest.json"
  # The live playlist: its window starts 300 s ago.
  export LIVE_FROM_MS=$((NOW_MS - 300000))
  for d in "$ch" "$ROOT/bare"; do
    printf '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360\nv0/index.m3u8\n' >"$d/master.m3u8"
    printf '#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-MAP:URI="init.mp4"\n#EXT-X-PROGRAM-DATE-TIME:%s\n#EXTINF:4,\nseg-0.m4s\n' \
      "$(date -u -d "@$((LIVE_FROM_MS / 1000)).$(printf %03d $((LIVE_FROM_MS % 1000)))" +%Y-%m-%dT%H:%M:%S.%3NZ)" >"$d/v0/index.m3u8"
  done
  # An archived channel with the same sheets: 4 s segments from 100 s to
  # 400 s into the closed sheet, a hole (the publisher away a minute),
  # then 460 s to 700 s after a discontinuity, in an index sigma-dvr made.
  local ar=$ROOT/arch base_ms=$((OLD * PER * INTERVAL))
  mkdir -p "$ar/v0"
  cp -r "$th" "$ar/thumbs"
  cp "$ch/master.m3u8" "$ar/master.m3u8"
  cp "$ch/v0/index.m3u8" "$ar/v0/index.m3u8"
  sigma-dvr --log-level warn run --dir "$ar" --events-in /dev/null 2>/dev/null &
  local pid=$! i
  for ((i = 0; i < 100; i++)); do [[ -s $ar/.dvr/index.sqlite ]] && break; sleep 0.1; done
  kill "$pid"; wait "$pid" 2>/dev/null || true
  sqlite3 "$ar/.dvr/index.sqlite" <<SQL
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 134)
INSERT INTO segments(track, msn, start_ms, duration_ms, uri, init, bytes, discontinuity, gap, independent)
SELECT 'v0', i, $base_ms + CASE WHEN i < 75 THEN 100000 + i * 4000 ELSE 460000 + (i - 75) * 4000 END, 4000,
       'v0/seg-' || i || '.m4s', 'v0/init.mp4', 1000, i = 75, 0, 1 FROM n;
SQL
  # check-vtt URL FROM_MS TO_MS: fetches a VTT and checks it against the
  # sheets' arithmetic; prints the number of cues.
  cat >"$BATS_FILE_TMPDIR/check-vtt.py" <<'PY'
import re, subprocess, sys, urllib.parse, urllib.request
url, frm, to = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
tol = int(sys.argv[4]) if len(sys.argv) > 4 else 500  # how well FROM is known, ms
IV, PER, COLS, W, H = 10000, 100, 10, 160, 90
body = urllib.request.urlopen(url).read().decode()
blocks = body.strip("\n").split("\n\n")
assert blocks[0] == "WEBVTT", blocks[0]
def ms(t):
    h, m, s = t.split(":"); return round((int(h) * 3600 + int(m) * 60 + float(s)) * 1000)
prev_end, uris = 0, set()
for i, b in enumerate(blocks[1:]):
    lines = b.split("\n")
    assert len(lines) == 2, b
    m = re.fullmatch(r"(\d\d:\d\d:\d\d\.\d\d\d) --> (\d\d:\d\d:\d\d\.\d\d\d)", lines[0]); assert m, lines[0]
    s, e = ms(m[1]), ms(m[2])
    assert s == prev_end, ("gap or overlap", prev_end, lines[0])
    assert e > s, lines[0]
    prev_end = e
    m = re.fullmatch(r"(?:\.\./)?thumbs/sprite-(\d+)\.jpg#xywh=(\d+),(\d+),(\d+),(\d+)", lines[1]); assert m, lines[1]
    k, x, y, w, h = map(int, m.groups())
    assert (w, h) == (W, H) and x % W == 0 and y % H == 0 and x + w <= COLS * W and y + h <= (PER // COLS) * H
    # The slot this tile is in its sheet, read row by row (files.h).
    slot = k * PER + y // H * COLS + x // W
    if i == 0:
        # The first cue starts at the range's start: its tile's slot holds
        # that start, or (a range starting in a gap) begins before the cue ends.
        assert (slot + 1) * IV > frm - tol and slot * IV < frm + e + tol, (lines, frm)
    else:
        # The others start on their tile's slot.
        assert abs(slot * IV - (frm + s)) < tol, (lines, frm + s, slot * IV)
    uris.add(lines[1].split("#")[0])
assert abs(prev_end - (to - frm)) <= 1000 + tol, ("the cues end at", prev_end, "not", to - frm)
for u in uris:  # each sheet named resolves from the VTT's URL
    r = urllib.request.urlopen(urllib.parse.urljoin(url, u))
    assert r.headers["Content-Type"] == "image/jpeg", r.headers["Content-Type"]
    open("/dev/null", "wb").write(r.read())
print(len(blocks) - 1)
PY
  # check-vod-vtt VTT_URL VOD_URL: every cue, read on the catch-up VOD's
  # timeline (its EXTINFs added up from its first segment, each
  # EXT-X-PROGRAM-DATE-TIME placing what follows), shows the tile of the
  # media moment it starts at; the cues tile the VOD; prints their number.
  cat >"$BATS_FILE_TMPDIR/check-vod-vtt.py" <<'PY'
import datetime, re, sys, urllib.request
vtt_url, vod_url = sys.argv[1], sys.argv[2]
IV, PER, COLS, W, H = 10000, 100, 10, 160, 90
pieces, media, vod = [], None, 0
for line in urllib.request.urlopen(vod_url).read().decode().splitlines():
    if line.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
        media = round(datetime.datetime.fromisoformat(line.split(":", 1)[1].replace("Z", "+00:00")).timestamp() * 1000)
    elif line.startswith("#EXTINF:"):
        d = round(float(line[8:].split(",")[0]) * 1000)
        pieces.append((media, d, vod)); media += d; vod += d
def ms(t):
    h, m, s = t.split(":"); return round((int(h) * 3600 + int(m) * 60 + float(s)) * 1000)
blocks = urllib.request.urlopen(vtt_url).read().decode().strip("\n").split("\n\n")
assert blocks[0] == "WEBVTT"
prev = 0
for b in blocks[1:]:
    timing, ref = b.split("\n")
    s, e = map(ms, timing.split(" --> "))
    assert s == prev and e > s, (prev, timing)
    prev = e
    m = re.fullmatch(r"\.\./thumbs/sprite-(\d+)\.jpg#xywh=(\d+),(\d+),160,90", ref); assert m, ref
    k, x, y = map(int, m.groups())
    slot = k * PER + y // H * COLS + x // W
    start, d, v = [p for p in pieces if p[2] <= s][-1]
    at = start + (s - v)  # the media moment the cue starts at
    assert slot * IV <= at < (slot + 1) * IV, (timing, ref, at)
assert prev == vod, ("the cues end at", prev, "the VOD at", vod)
print(len(blocks) - 1)
PY
}

setup() {
  SIGMA_PIDS=()
  T=$BATS_TEST_TMPDIR
  start_origin
}

teardown() {
  stop_spawned
}

code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
header() { curl -s -D - -o /dev/null "$2" | tr -d '\r' | grep -i "^$1:" | cut -d' ' -f2-; }
check_vtt() { python3 "$BATS_FILE_TMPDIR/check-vtt.py" "$@"; }

@test "thumbs files: JPEGs and latest.json with their types, CORS, a second's caching for latest*, an hour for a closed sheet, 2 s for the open one" {
  [[ $(header content-type "$BASE/demo/thumbs/latest.jpg") == image/jpeg ]]
  [[ $(header cache-control "$BASE/demo/thumbs/latest.jpg") == "public, max-age=1" ]]
  [[ $(header access-control-allow-origin "$BASE/demo/thumbs/latest.jpg") == "*" ]]
  [[ $(header cache-control "$BASE/demo/thumbs/latest-320.jpg") == "public, max-age=1" ]]
  [[ $(header content-type "$BASE/demo/thumbs/latest.json") == application/json ]]
  [[ $(header cache-control "$BASE/demo/thumbs/latest.json") == "public, max-age=1" ]]
  # What the origin sends is the picture, whole.
  curl -sf "$BASE/demo/thumbs/latest.jpg" -o "$T/l.jpg"
  cmp "$T/l.jpg" "$ROOT/demo/thumbs/latest.jpg"
  [[ $(ffprobe -v error -show_entries stream=width,height -of csv=p=0 "$T/l.jpg") == 640,360 ]]
  [[ $(header cache-control "$BASE/demo/thumbs/sprite-$OLD.jpg") == "public, max-age=3600" ]]
  [[ $(header cache-control "$BASE/demo/thumbs/sprite-$OLD.json") == "public, max-age=3600" ]]
  [[ $(header cache-control "$BASE/demo/thumbs/sprite-$OPEN.jpg") == "public, max-age=2" ]]
  [[ $(header content-type "$BASE/demo/thumbs/sprite-$OPEN.jpg") == image/jpeg ]]
  [[ $(code "$BASE/demo/thumbs/sprite-1.jpg") == 404 ]]
}

@test "a 300 s range of the closed sheet: ?start=&end= and archive-FROM-DURATION/ give the same 31 cues, each on its slot's tile, URIs resolving from each URL" {
  local from=$((OLD * PER * INTERVAL / 1000 + 55)) n body q a
  [[ $(header content-type "$BASE/demo/thumbnails.vtt?start=$from&end=$((from + 300))") == "text/vtt; charset=utf-8" ]]
  [[ $(header access-control-allow-origin "$BASE/demo/thumbnails.vtt?start=$from&end=$((from + 300))") == "*" ]]
  # Long past: a minute's caching, like a catch-up playlist of the past.
  [[ $(header cache-control "$BASE/demo/thumbnails.vtt?start=$from&end=$((from + 300))") == "public, max-age=60" ]]
  n=$(check_vtt "$BASE/demo/thumbnails.vtt?start=$from&end=$((from + 300))" $((from * 1000)) $(((from + 300) * 1000)))
  # Slots 5 (from its 5th second) to 35 (to its 5th second): 31 tiles.
  [[ $n -eq 31 ]]
  n=$(check_vtt "$BASE/demo/archive-$from-300/thumbnails.vtt" $((from * 1000)) $(((from + 300) * 1000)))
  [[ $n -eq 31 ]]
  q=$(curl -sf "$BASE/demo/thumbnails.vtt?start=$from&end=$((from + 300))")
  a=$(curl -sf "$BASE/demo/archive-$from-300/thumbnails.vtt")
  grep -q "^thumbs/sprite-$OLD.jpg#xywh=800,0,160,90$" <<<"$q"
  grep -q "^\.\./thumbs/sprite-$OLD.jpg#xywh=800,0,160,90$" <<<"$a"
  [[ $(sed 's|^\.\./thumbs/|thumbs/|' <<<"$a") == "$q" ]]
  # ISO 8601 in the query, as the catch-up playlists take it.
  [[ $(curl -sf "$BASE/demo/thumbnails.vtt?start=$(date -u -d "@$from" +%Y-%m-%dT%H:%M:%SZ)&end=$((from + 300))") == "$q" ]]
}

@test "the live window (/demo/thumbnails.vtt), a range across the gap to now, archive-FROM-now and timeshift_rel" {
  local n from=$((OLD * PER * INTERVAL / 1000 + 900)) now
  # From the live playlist's first date-time to now: its tiles run to
  # now - 120 s, the last cue to now.
  now=$(date +%s%3N)
  n=$(check_vtt "$BASE/demo/thumbnails.vtt" "$LIVE_FROM_MS" "$now")
  (( n >= 17 && n <= 19 ))  # 300 s - 120 s of 10 s slots, give or take the edges
  [[ $(header cache-control "$BASE/demo/thumbnails.vtt") == "public, max-age=2" ]]
  # Across the gap: the closed sheet's last 10 tiles, then the open sheet's.
  now=$(date +%s%3N)
  n=$(check_vtt "$BASE/demo/thumbnails.vtt?start=$from" $((from * 1000)) "$now")
  (( n == 10 + LAST_SLOT - FIRST_SLOT + 1 ))
  n=$(check_vtt "$BASE/demo/archive-$from-now/thumbnails.vtt" $((from * 1000)) "$(date +%s%3N)")
  (( n == 10 + LAST_SLOT - FIRST_SLOT + 1 ))
  now=$(date +%s%3N)
  # Relative to the origin's own now: known here to a few seconds.
  n=$(check_vtt "$BASE/demo/timeshift_rel-200/thumbnails.vtt" $((now - 200000)) "$now" 4000)
  (( n >= 7 && n <= 10 ))
}

@test "with an archive, /CH/archive-FROM-DURATION/thumbnails.vtt is on the catch-up VOD's timeline: from its first segment, the hole closed up" {
  local from=$((OLD * PER * INTERVAL / 1000 + 200)) n q
  n=$(python3 "$BATS_FILE_TMPDIR/check-vod-vtt.py" "$BASE/arch/archive-$from-400/thumbnails.vtt" "$BASE/arch/v0/archive-$from-400.m3u8")
  # Slots 20-39 before the hole, 46-59 after it; the hole's own are not shown.
  [[ $n -eq 34 ]]
  curl -sf "$BASE/arch/v0/archive-$from-400.m3u8" | grep -q '^#EXT-X-DISCONTINUITY$'
  # The query form keeps its own start as zero (as the watch page reads it).
  q=$(curl -sf "$BASE/arch/thumbnails.vtt?start=$from&end=$((from + 400))")
  [[ $(grep -c -- '-->' <<<"$q") -eq 40 ]]
  grep -q '^00:03:50.000 --> 00:04:00.000$' <<<"$q"
}

@test "thumbnails.vtt errors: bad ranges 400, a range without thumbnails 404 (as catch-up playlists), unknown channel or none made 404" {
  local from=$((OLD * PER * INTERVAL / 1000)) now=$((NOW_MS / 1000))
  [[ $(code "$BASE/demo/archive-$from-0/thumbnails.vtt") == 400 ]]
  [[ $(code "$BASE/demo/archive-$from-86401/thumbnails.vtt") == 400 ]]
  [[ $(code "$BASE/demo/archive-$((now + 3600))-60/thumbnails.vtt") == 400 ]]
  [[ $(code "$BASE/demo/archive-x-60/thumbnails.vtt") == 400 ]]
  [[ $(code "$BASE/demo/thumbnails.vtt?start=$((from + 20))&end=$from") == 400 ]]
  [[ $(code "$BASE/demo/thumbnails.vtt?start=yesterday") == 400 ]]
  [[ $(code "$BASE/demo/thumbnails.vtt?end=$from") == 400 ]]
  curl -s "$BASE/demo/thumbnails.vtt?start=$((from + 20))&end=$from" | grep -q 'catch-up range: '
  # Before the first sheet, and in the gap.
  [[ $(code "$BASE/demo/thumbnails.vtt?start=$((from - 7200))&end=$((from - 3600))") == 404 ]]
  [[ $(code "$BASE/demo/archive-$((from + 1000))-60/thumbnails.vtt") == 404 ]]
  curl -s "$BASE/demo/archive-$((from - 7200))-60/thumbnails.vtt" | grep -q '^no thumbnails between '
  [[ $(code "$BASE/nosuch/thumbnails.vtt") == 404 ]]
  [[ $(code "$BASE/nosuch/archive-$from-60/thumbnails.vtt") == 404 ]]
  # A channel sigma-thumb never ran on.
  [[ $(code "$BASE/bare/thumbnails.vtt") == 404 ]]
  curl -s "$BASE/bare/thumbnails.vtt?start=$from" | grep -q 'no thumbnails for this channel'
  # Not a range form: an ordinary (missing) file.
  [[ $(code "$BASE/demo/v0/thumbnails.vtt") == 404 ]]
}
