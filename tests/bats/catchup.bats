#!/usr/bin/env bats
# sigma-origin's catch-up URLs over a real archive: a live low-mode channel
# (sigma-package --keep, 2 s GOP, H.264 + AAC, audio a rendition of its
# own) with a publisher break in it, indexed by sigma-dvr run, served on
# 127.0.0.1. Checked as a user would: the playlists pass our conformance
# checker, ffprobe counts the frames of the range, hls.js in Chromium plays
# one to its end across the break; bad ranges get 400/404; .dvr/ is never
# served; a long-window live playlist reloads smaller with gzip and
# EXT-X-SKIP.
load helpers

CHECK=$BATS_TEST_DIRNAME/../conformance/hls-check.js
PLAY=$BATS_TEST_DIRNAME/../browser/play.js

# The archive for the whole file (it takes real time to make): 24 s from a
# first publisher, a 1 s break, 10 s from a second one (the same media
# dvr_export.bats uses, so the cache serves both).
setup_file() {
  export ROOT=$BATS_FILE_TMPDIR/root
  export CH=$ROOT/demo
  export EV=$BATS_FILE_TMPDIR/events.ndjson
  local ts fifo pkg
  ts=$(make_ts dvr-g2-24 24 -g 60 -keyint_min 60)
  fifo=$BATS_FILE_TMPDIR/in.fifo
  mkfifo "$fifo"
  sigma-package -i "$fifo" -o "$CH" --mode low --segment-duration 1 --window 3 --keep --channel demo \
    --events "$EV" --log-level warn 2>"$BATS_FILE_TMPDIR/pkg.log" &
  pkg=$!
  ffmpeg -nostdin -loglevel error -re -i "$ts" -c copy -f mpegts -y "$fifo"
  sleep 1
  ffmpeg -nostdin -loglevel error -re -t 10 -i "$ts" -c copy -f mpegts -y "$fifo"
  kill -TERM "$pkg"
  wait "$pkg"
  index_channel "$CH" "$EV"
}

setup() {
  SIGMA_PIDS=()
  T=$BATS_TEST_TMPDIR
  start_origin
}

teardown() {
  stop_spawned
}

first_pdt() { jq -r 'select(.type == "segment.written" and .track == "v0") | .pdt_ms' "$EV" | head -1; }
break_pdt() { jq -r 'select(.type == "segment.written" and .track == "v0" and .discontinuity) | .pdt_ms' "$EV" | head -1; }
within() { awk -v a="$1" -v b="$2" -v d="$3" 'BEGIN { exit !((a - b) <= d && (b - a) <= d) }'; }
# Segment names listed by a playlist (GAP ones too).
seg_names() { grep -v '^#' <<<"$1" | grep -v '^$'; }
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

# snapshot MASTER_URL DIR: the catch-up master and its media playlists as
# hls-check reads them (the playlists at their paths, media beside them).
snapshot() {
  local url=$1 dir=$2 uri track
  mkdir -p "$dir"
  curl -sf "$url" >"$dir/master.m3u8"
  for uri in $(grep -v '^#' "$dir/master.m3u8") $(grep -o 'URI="[^"]*"' "$dir/master.m3u8" | sed 's/URI="//; s/"$//'); do
    # The track's directory, after the master's s/SID/ (sigma-origin(1), SESSIONS).
    track=${uri%/*}
    track=${track##*/}
    mkdir -p "$dir/${uri%/*}"
    curl -sf "${url%/*}/$uri" >"$dir/$uri" || return 1
    ln -sf "$CH/$track"/*.m4s "$CH/$track"/init*.mp4 "$dir/${uri%/*}/"
  done
}

@test "a 20 s range: master and VOD playlists pass hls-check, variants aligned, ffprobe counts 20 s x fps within a GOP" {
  from=$(($(first_pdt) / 1000 + 3))
  master=$(curl -sf "$BASE/demo/archive-$from-20.m3u8")
  echo "$master"
  # Its URIs carry the viewer session the master started (s/SID/).
  grep -qx "s/[A-Za-z0-9_-]\{22\}/v0/archive-$from-20.m3u8" <<<"$master"
  grep -q "URI=\"s/[A-Za-z0-9_-]\{22\}/a0/archive-$from-20.m3u8\"" <<<"$master"
  v=$(curl -sf "$BASE/demo/v0/archive-$from-20.m3u8")
  a=$(curl -sf "$BASE/demo/a0/archive-$from-20.m3u8")
  echo "$v"
  grep -qx '#EXT-X-PLAYLIST-TYPE:VOD' <<<"$v"
  grep -qx '#EXT-X-ENDLIST' <<<"$v"
  grep -qx '#EXT-X-TARGETDURATION:2' <<<"$v"
  [ "$(grep -c '^#EXT-X-PROGRAM-DATE-TIME:' <<<"$v")" -eq 1 ]
  [ "$(grep -c '^#EXT-X-MAP:' <<<"$v")" -eq 1 ]
  ! grep -q DISCONTINUITY <<<"$v"
  # The same sequence numbers in every track.
  [ "$(seg_names "$v")" = "$(seg_names "$a")" ]
  [ "$(seg_names "$v" | wc -l)" -eq 10 ]
  snapshot "$BASE/demo/archive-$from-20.m3u8" "$T/snap"
  run node "$CHECK" check "$T/snap"
  echo "$output"
  [ "$status" -eq 0 ]
  frames=$(ffprobe -v error -select_streams v:0 -count_frames -show_entries stream=nb_read_frames -of csv=p=0 \
    "$BASE/demo/v0/archive-$from-20.m3u8" | grep -m1 -o '[0-9]\+')
  echo "frames $frames"
  within "$frames" 600 60
  # The query form, ISO 8601, names the same segments.
  iso=$(date -u -d "@$from" +%Y-%m-%dT%H:%M:%SZ)
  q=$(curl -sf "$BASE/demo/v0/index.m3u8?start=$iso&end=$((from + 20))")
  [ "$(seg_names "$q")" = "$(seg_names "$v")" ]
  qm=$(curl -sf "$BASE/demo/master.m3u8?start=$from&end=$((from + 20))")
  grep -qx "s/[A-Za-z0-9_-]\{22\}/v0/index.m3u8?start=$from&end=$((from + 20))" <<<"$qm"
}

@test "a range across the publisher break: one DISCONTINUITY per track, ffprobe decodes it, hls.js plays it to the end" {
  brk=$(($(break_pdt) / 1000))
  from=$((brk - 6))
  v=$(curl -sf "$BASE/demo/v0/archive-$from-12.m3u8")
  a=$(curl -sf "$BASE/demo/a0/archive-$from-12.m3u8")
  echo "$v"
  [ "$(grep -c '^#EXT-X-DISCONTINUITY$' <<<"$v")" -eq 1 ]
  [ "$(grep -c '^#EXT-X-DISCONTINUITY$' <<<"$a")" -eq 1 ]
  # A date after the break: the player places the second publisher's media.
  [ "$(grep -c '^#EXT-X-PROGRAM-DATE-TIME:' <<<"$v")" -eq 2 ]
  [ "$(seg_names "$v")" = "$(seg_names "$a")" ]
  total=$(grep '^#EXTINF:' <<<"$v" | sed 's/#EXTINF:\([0-9.]*\),/\1/' | awk '{ s += $1 } END { print s }')
  frames=$(ffprobe -v error -select_streams v:0 -count_frames -show_entries stream=nb_read_frames -of csv=p=0 \
    "$BASE/demo/v0/archive-$from-12.m3u8" | grep -m1 -o '[0-9]\+')
  echo "frames $frames for $total s"
  within "$frames" "$(awk -v t="$total" 'BEGIN { print t * 30 }')" 60
  run node "$PLAY" "$BASE/demo/archive-$from-12.m3u8" 16
  echo "$output"
  [ "$status" -eq 0 ]
  json=${lines[-1]}
  [ "$(jq .errors_fatal <<<"$json")" -eq 0 ]
  [ "$(jq .live <<<"$json")" = false ]
  # To the end: the playhead reached the last segment.
  awk -v c="$(jq .current_time_s <<<"$json")" -v t="$total" 'BEGIN { exit !(c >= t - 2.5) }'
  [ "$(jq .frames_decoded <<<"$json")" -gt $(( (${total%.*} - 3) * 30 )) ]
  jq -r .path "$T/access.log" | grep -q '^/demo/v0/seg-[0-9]*\.m4s$'
}

@test "a resolution change inside the range: a second EXT-X-MAP after the DISCONTINUITY, decoded by ffprobe, played by hls.js" {
  # A second channel of its own: 4 s at 640x360, then a publisher at 320x180.
  local big small fifo pkg rc=$ROOT/rc
  big=$(make_ts rc-360 4)
  small=$(make_ts rc-180 4 -s 320x180)
  fifo=$T/rc.fifo
  mkfifo "$fifo"
  sigma-package -i "$fifo" -o "$rc" --mode low --segment-duration 1 --window 3 --keep --channel rc \
    --events "$T/rc.ndjson" --log-level warn 2>"$T/rc-pkg.log" &
  pkg=$!
  ffmpeg -nostdin -loglevel error -re -i "$big" -c copy -f mpegts -y "$fifo"
  ffmpeg -nostdin -loglevel error -re -i "$small" -c copy -f mpegts -y "$fifo"
  kill -TERM "$pkg"
  wait "$pkg"
  index_channel "$rc" "$T/rc.ndjson"
  from=$(($(jq -r 'select(.type == "segment.written" and .track == "v0") | .pdt_ms' "$T/rc.ndjson" | head -1) / 1000))
  v=$(curl -sf "$BASE/rc/v0/archive-$from-12.m3u8")
  echo "$v"
  [ "$(grep -c '^#EXT-X-MAP:' <<<"$v")" -eq 2 ]
  [ "$(grep -c '^#EXT-X-DISCONTINUITY$' <<<"$v")" -eq 1 ]
  # The second map comes right after the break, and names another file.
  [ "$(grep -A1 '^#EXT-X-DISCONTINUITY$' <<<"$v" | grep -c '^#EXT-X-MAP:')" -eq 1 ]
  [ "$(grep '^#EXT-X-MAP:' <<<"$v" | sort -u | wc -l)" -eq 2 ]
  # Both sizes decode from the catch-up playlist.
  sizes=$(ffprobe -v error -select_streams v:0 -show_entries frame=width,height -of csv=p=0 \
    "$BASE/rc/v0/archive-$from-12.m3u8" | sort -u | tr '\n' ' ')
  echo "sizes: $sizes"
  [[ $sizes == *"640,360"* && $sizes == *"320,180"* ]]
  run node "$PLAY" "$BASE/rc/archive-$from-12.m3u8" 9
  echo "$output"
  [ "$status" -eq 0 ]
  json=${lines[-1]}
  [ "$(jq .errors_fatal <<<"$json")" -eq 0 ]
  # Past the change: more frames than the first publisher's 4 s.
  [ "$(jq .frames_decoded <<<"$json")" -gt 150 ]
}

@test "bad ranges are 400, ranges outside the archive and unknown channels 404, a corrupt index 503" {
  from=$(($(first_pdt) / 1000 + 3))
  now=$(date +%s)
  [ "$(code "$BASE/demo/archive-$from-0.m3u8")" = 400 ]
  [ "$(code "$BASE/demo/archive-$from-86401.m3u8")" = 400 ]
  [ "$(code "$BASE/demo/archive-$((now + 3600))-60.m3u8")" = 400 ]
  [ "$(code "$BASE/demo/archive-x-60.m3u8")" = 400 ]
  [ "$(code "$BASE/demo/timeshift_rel-0.m3u8")" = 400 ]
  [ "$(code "$BASE/demo/master.m3u8?start=$((from + 20))&end=$from")" = 400 ]
  [ "$(code "$BASE/demo/master.m3u8?start=yesterday")" = 400 ]
  [ "$(code "$BASE/demo/archive-$((from - 7200))-60.m3u8")" = 404 ]
  [ "$(code "$BASE/demo/v0/archive-$((from - 7200))-60.m3u8")" = 404 ]
  [ "$(code "$BASE/nosuch/archive-$from-60.m3u8")" = 404 ]
  # Partly covered: what exists.
  v=$(curl -sf "$BASE/demo/v0/archive-$((from - 60))-70.m3u8")
  [ "$(seg_names "$v" | head -1)" = seg-0.m4s ]
  # From the start to now, and the last 600 s.
  [ "$(seg_names "$(curl -sf "$BASE/demo/v0/archive-$from-now.m3u8")" | tail -1)" = \
    "$(seg_names "$(curl -sf "$BASE/demo/v0/timeshift_rel-600.m3u8")" | tail -1)" ]
  # A channel without an archive, and one whose index is garbage.
  mkdir -p "$ROOT/live/v0" "$ROOT/bad/.dvr"
  [ "$(code "$BASE/live/archive-$from-60.m3u8")" = 404 ]
  head -c 8192 /dev/urandom >"$ROOT/bad/.dvr/index.sqlite"
  [ "$(code "$BASE/bad/v0/archive-$from-60.m3u8")" = 503 ]
  curl -s "$BASE/bad/v0/archive-$from-60.m3u8" | grep -q 'archive'
  grep -q 'catch-up bad' "$T/origin.log"
}

@test "dot paths (.dvr/ and the index in it) are never served" {
  [ "$(code "$BASE/demo/.dvr/index.sqlite")" = 404 ]
  [ "$(code "$BASE/demo/.dvr/")" = 404 ]
  [ "$(code "$BASE/demo/%2Edvr/index.sqlite")" = 404 ]
  [ "$(code --path-as-is "$BASE/demo/v0/../.dvr/index.sqlite")" != 200 ]
}

@test "archive.json is what sigma-dvr list --json prints" {
  got=$(curl -sf "$BASE/demo/archive.json")
  echo "$got" | jq .
  [ "$(jq -S 'del(.keeps)' <<<"$got")" = "$(sigma-dvr list "$CH" --json | jq -S 'del(.keeps)')" ]
  # Every indexed segment is counted, in ranges that follow one another.
  [ "$(jq .segments <<<"$got")" -eq "$(sqlite3 "file:$CH/.dvr/index.sqlite?mode=ro" 'SELECT count(*) FROM segments')" ]
  [ "$(jq '[.ranges[].segments] | add' <<<"$got")" -eq "$(jq .segments <<<"$got")" ]
  [ "$(jq '[.tracks[].name] | sort | join(",")' -r <<<"$got")" = a0,v0 ]
}

@test "archive-FROM-DURATION.mp4: HEAD's length is what GET sends, a download names its file, the clip plays for the range" {
  from=$(($(first_pdt) / 1000 + 3))
  url="$BASE/demo/archive-$from-10.mp4"
  head=$(curl -sfI "$url?download=1")
  echo "$head"
  len=$(grep -i '^content-length:' <<<"$head" | tr -dc 0-9)
  grep -qi "^content-disposition: attachment; filename=\"demo-archive-$from-10.mp4\"" <<<"$head"
  got=$(curl -sf -o "$T/clip.mp4" -w '%{size_download}' "$url")
  [ "$got" -eq "$len" ]
  d=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$T/clip.mp4")
  echo "duration $d"
  within "$d" 10 2
  # One byte range: the same bytes as the whole file's.
  curl -sf -H 'Range: bytes=1000-1999' -o "$T/part" "$url"
  cmp -n 1000 -i 1000:0 "$T/clip.mp4" "$T/part"
  grep -qi 'filename="show.mp4"' <<<"$(curl -sfI "$url?filename=show.mp4")"
}

@test "a long-window live playlist: EXT-X-SKIP and gzip answers are much smaller and still parse" {
  local ts fifo
  ts=$(make_ts t20 20)
  fifo=$T/live.fifo
  mkfifo "$fifo"
  # Live (the input stays open), a window far longer than the default.
  spawn "$T/live.log" sigma-package -i "$fifo" -o "$ROOT/long" --mode low --segment-duration 1 --window 600 \
    --log-level warn
  sleep 0.2
  cat "$ts" >"$fifo" &
  exec 7>"$fifo"  # a writer that stays
  wait_for bash -c "[[ \$(grep -c '^#EXTINF' '$ROOT/long/v0/index.m3u8') -ge 18 ]]"
  full=$(curl -sf "$BASE/long/v0/index.m3u8")
  echo "$full" | head -8
  grep -q '^#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=6$' <<<"$full"
  ! grep -q ENDLIST <<<"$full"
  curl -sf "$BASE/long/v0/index.m3u8?_HLS_skip=YES" >"$T/delta.m3u8"
  cat "$T/delta.m3u8"
  grep -q '^#EXT-X-SKIP:SKIPPED-SEGMENTS=[1-9]' "$T/delta.m3u8"
  [ "$(wc -c <"$T/delta.m3u8")" -lt $(( ${#full} / 2 )) ]
  # gzip: smaller, the same text once inflated, Vary set.
  hdr=$(curl -sf -D - -o "$T/full.gz" -H 'Accept-Encoding: gzip' "$BASE/long/v0/index.m3u8")
  grep -qi '^content-encoding: gzip' <<<"$hdr"
  grep -qi '^vary: accept-encoding' <<<"$hdr"
  [ "$(gunzip -c "$T/full.gz")" = "$full" ]
  [ "$(wc -c <"$T/full.gz")" -lt $(( ${#full} / 3 )) ]
  # Both parse: the checker over the two answers of one version.
  mkdir -p "$T/snap/v0/index.m3u8"
  printf '%s\n' "$full" >"$T/snap/v0/index.m3u8/000001.plain.m3u8"
  cp "$T/delta.m3u8" "$T/snap/v0/index.m3u8/000002.skip.m3u8"
  ln -sf "$ROOT/long/v0"/*.m4s "$ROOT/long/v0"/init*.mp4 "$T/snap/v0/"
  # A client that asks for neither gets the playlist as it is.
  [ "$(curl -sf "$BASE/long/v0/index.m3u8")" = "$full" ]
  run node "$CHECK" check "$T/snap"
  echo "$output"
  exec 7>&-
  [ "$status" -eq 0 ]
}

@test "hls.js on a live low-mode channel with a long window: plays, and reloads with delta updates" {
  local ts
  ts=$(make_ts t20 20)
  spawn "$T/live.log" bash -c "ffmpeg -nostdin -loglevel error -re -i '$ts' -c copy -f mpegts - |
    sigma-package -o '$ROOT/dvrlive' --mode low --segment-duration 1 --window 600 --log-level warn"
  WAIT_SECS=15 wait_for bash -c "[[ -f '$ROOT/dvrlive/master.m3u8' && \$(grep -c '^#EXTINF' '$ROOT/dvrlive/v0/index.m3u8') -ge 8 ]]"
  run node "$PLAY" "$BASE/dvrlive/master.m3u8" 8
  echo "$output"
  [ "$status" -eq 0 ]
  json=${lines[-1]}
  [ "$(jq .errors_fatal <<<"$json")" -eq 0 ]
  [ "$(jq .frames_decoded <<<"$json")" -gt 120 ]
  # hls.js asked for delta updates, and got them (under the session the
  # master gave it: /dvrlive/s/SID/v0/index.m3u8).
  v0='(.path | test("^/dvrlive/s/[A-Za-z0-9_-]{22}/v0/index[.]m3u8$"))'
  jq -r "select($v0) | .query // \"\"" "$T/access.log" | sort | uniq -c
  jq -r "select($v0 and .status == 200) | .query // \"\"" "$T/access.log" |
    grep -q '_HLS_skip=YES'
}
