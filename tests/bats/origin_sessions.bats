#!/usr/bin/env bats
# Viewer sessions in the origin's paths (sigma-origin(1), SESSIONS): a
# master asked for without a session starts one, /CH/s/SID/... is served
# as /CH/..., CMCD ids are taken, the access log names the session; and
# contrib/nginx in front of a real origin: a second viewer's playlists and
# segments come from the cache, the master never does, concurrent blocking
# requests go upstream once, nginx's log has the session.
load helpers

setup() {
  T=$(mktemp -d "${BATS_TMPDIR:-/tmp}/osess.XXXXXX")
  ROOT=$T/root
  mkdir -p "$ROOT/demo/v0" "$ROOT/demo/a0"
  {
    printf '#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-INDEPENDENT-SEGMENTS\n'
    printf '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="a0",DEFAULT=YES,URI="a0/index.m3u8"\n'
    printf '#EXT-X-STREAM-INF:BANDWIDTH=800000,CODECS="avc1.64001e,mp4a.40.2",AUDIO="aud"\nv0/index.m3u8\n'
  } >"$ROOT/demo/master.m3u8"
  head -c 200000 /dev/urandom >"$ROOT/demo/v0/seg-1.m4s"
  head -c 1000 /dev/urandom >"$ROOT/demo/v0/init.mp4"
  write_ll "$ROOT/demo/v0" 1 3 2
  write_ll "$ROOT/demo/a0" 1 3 2
}

teardown() {
  stop_spawned
  rm -rf "$T"
}

# As origin.bats writes them: COUNT 2 s segments from FIRST, PARTS parts
# of the next and a preload hint (renamed into place).
write_ll() {
  local dir=$1 first=$2 count=$3 parts=$4 i p next
  {
    printf '#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:2\n#EXT-X-PART-INF:PART-TARGET=0.5\n'
    printf '#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.5,CAN-SKIP-UNTIL=12.0\n'
    printf '#EXT-X-MEDIA-SEQUENCE:%d\n#EXT-X-MAP:URI="init.mp4"\n' "$first"
    for ((i = first; i < first + count; i++)); do
      printf '#EXT-X-PROGRAM-DATE-TIME:2026-11-24T10:00:%02d.000Z\n#EXTINF:2.00000,\nseg-%d.m4s\n' $(((i * 2) % 60)) "$i"
    done
    next=$((first + count))
    for ((p = 0; p < parts; p++)); do
      printf '#EXT-X-PART:DURATION=0.50000,URI="seg-%d.%d.m4s"%s\n' "$next" "$p" "$([[ $p == 0 ]] && echo ,INDEPENDENT=YES)"
    done
    printf '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="seg-%d.%d.m4s"\n' "$next" "$parts"
  } >"$dir/index.m3u8.tmp"
  mv "$dir/index.m3u8.tmp" "$dir/index.m3u8"
}

header() { grep -i "^$1:" "$2" | head -1 | cut -d: -f2- | tr -d '\r' | sed 's/^ *//'; }

# The SID of a master answer: its variant URI is s/SID/v0/index.m3u8.
sid_of() { sed -n 's#^s/\([A-Za-z0-9_-]\{22\}\)/v0/index\.m3u8$#\1#p' "$1"; }

# log_lines FILE JQ-FILTER: how many lines of an NDJSON log match.
log_lines() { jq -c "select($2)" "$1" | wc -l; }

@test "a master without a session starts one; /CH/s/SID/ serves what /CH/ does; the access log names it" {
  start_origin
  curl -sf -D "$T/m1.h" -o "$T/m1" "$BASE/demo/master.m3u8"
  curl -sf -o "$T/m2" -H 'Accept-Encoding: gzip' "$BASE/demo/master.m3u8"
  [ "$(header Cache-Control "$T/m1.h")" = "private, no-store" ]
  s1=$(sid_of "$T/m1") s2=$(sid_of "$T/m2")
  [ ${#s1} = 22 ] && [ ${#s2} = 22 ] && [ "$s1" != "$s2" ]
  # Only the URIs change: the rendition's URI too, every other line as it was.
  grep -qx "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud\",NAME=\"a0\",DEFAULT=YES,URI=\"s/$s1/a0/index.m3u8\"" "$T/m1"
  diff <(sed "s#s/$s1/##" "$T/m1") "$ROOT/demo/master.m3u8"

  # Under the session: the same bytes and headers as without it.
  curl -sf -D "$T/p.h" -o "$T/p" "$BASE/demo/s/$s1/v0/index.m3u8"
  cmp "$T/p" "$ROOT/demo/v0/index.m3u8"
  [ "$(header Cache-Control "$T/p.h")" = no-cache ]
  curl -sf -D "$T/seg.h" -o "$T/seg" "$BASE/demo/s/$s1/v0/seg-1.m4s"
  cmp "$T/seg" "$ROOT/demo/v0/seg-1.m4s"
  [ "$(header Cache-Control "$T/seg.h")" = "public, max-age=31536000, immutable" ]
  # A master asked for under its session keeps it and is not rewritten.
  curl -sf -o "$T/m3" "$BASE/demo/s/$s1/master.m3u8"
  cmp "$T/m3" "$ROOT/demo/master.m3u8"
  # A blocking reload under the session is held and woken as any other.
  curl -sf -o "$T/blk" "$BASE/demo/s/$s2/v0/index.m3u8?_HLS_msn=4&_HLS_part=2" &
  cpid=$!
  sleep 0.3
  ! grep -q 'seg-4.2.m4s' "$T/blk"
  write_ll "$ROOT/demo/v0" 1 3 3
  wait "$cpid"
  grep -q '^#EXT-X-PART:DURATION=0.50000,URI="seg-4.2.m4s"' "$T/blk"
  # A malformed SID is no session: not found.
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/demo/s/short/v0/seg-1.m4s")" = 404 ]
  curl -sf -o /dev/null "$BASE/demo/v0/seg-1.m4s"

  L=$T/access.log
  wait_for test "$(wc -l <"$L")" -ge 8
  [ "$(log_lines "$L" ".path == \"/demo/master.m3u8\" and .session_source == \"path\" and (.session | length) == 22")" = 2 ]
  [ "$(log_lines "$L" ".session == \"$s1\" and .session_source == \"path\"")" = 4 ]
  [ "$(log_lines "$L" ".path == \"/demo/s/$s1/v0/seg-1.m4s\" and .session == \"$s1\" and .status == 200")" = 1 ]
  [ "$(log_lines "$L" ".session == \"$s2\" and .query == \"_HLS_msn=4&_HLS_part=2\"")" = 1 ]
  [ "$(log_lines "$L" ".path == \"/demo/v0/seg-1.m4s\" and (has(\"session\") | not) and (has(\"session_source\") | not)")" = 1 ]
}

@test "a CMCD session id (query or header) is the session; its master is answered as it is; --sessions off" {
  start_origin
  sid=6e2fb550-c457-11e9-bb97-0800200c9a66
  curl -sf -D "$T/m.h" -o "$T/m" "$BASE/demo/master.m3u8?CMCD=br%3D800%2Csid%3D%22$sid%22%2Csu"
  cmp "$T/m" "$ROOT/demo/master.m3u8"
  [ "$(header Cache-Control "$T/m.h")" = no-cache ]
  curl -sf -o /dev/null -H "CMCD-Session: cid=\"x\",sid=\"$sid\"" "$BASE/demo/v0/seg-1.m4s"
  # A sid that is not a CMCD string is ignored: that master starts a session.
  curl -sf -o "$T/m2" -H 'CMCD-Session: sid=token' "$BASE/demo/master.m3u8"
  s=$(sid_of "$T/m2")
  [ ${#s} = 22 ]
  L=$T/access.log
  wait_for test "$(wc -l <"$L")" -ge 3
  [ "$(log_lines "$L" ".session == \"$sid\" and .session_source == \"cmcd\"")" = 2 ]
  [ "$(log_lines "$L" ".session == \"$s\" and .session_source == \"path\"")" = 1 ]
  stop_spawned

  start_origin --sessions off
  curl -sf -D "$T/off.h" -o "$T/off" "$BASE/demo/master.m3u8"
  cmp "$T/off" "$ROOT/demo/master.m3u8"
  [ "$(header Cache-Control "$T/off.h")" = no-cache ]
  curl -sf -o "$T/seg" "$BASE/demo/s/$s/v0/seg-1.m4s"
  cmp "$T/seg" "$ROOT/demo/v0/seg-1.m4s"
  run sigma-origin --sessions maybe
  [ "$status" -eq 100 ]
}

@test "through contrib/nginx: a second viewer's playlists and segments are cache hits, the master never, blocking requests go upstream once" {
  start_origin
  start_nginx
  : >"$T/access.log"  # the origin's log from here on: what reached it through the cache
  NL=$NGX_LOG OL=$T/access.log
  curl -sf -D "$T/a.h" -o "$T/a" "$NGX/demo/master.m3u8"
  curl -sf -D "$T/b.h" -o "$T/b" "$NGX/demo/master.m3u8"
  a=$(sid_of "$T/a") b=$(sid_of "$T/b")
  [ ${#a} = 22 ] && [ ${#b} = 22 ] && [ "$a" != "$b" ]
  [ "$(header Cache-Control "$T/b.h")" = "private, no-store" ]

  # Viewer a fetches first (misses), viewer b under its own SID gets hits.
  for v in a b; do
    s=${!v}
    curl -sf -D "$T/$v.seg.h" -o "$T/$v.seg" "$NGX/demo/s/$s/v0/seg-1.m4s"
    cmp "$T/$v.seg" "$ROOT/demo/v0/seg-1.m4s"
    curl -sf -D "$T/$v.blk.h" -o "$T/$v.blk" "$NGX/demo/s/$s/v0/index.m3u8?_HLS_msn=4&_HLS_part=1"
  done
  [ "$(header X-Cache-Status "$T/a.seg.h")" = MISS ]
  [ "$(header X-Cache-Status "$T/b.seg.h")" = HIT ]
  [ "$(header X-Cache-Status "$T/a.blk.h")" = MISS ]
  [ "$(header X-Cache-Status "$T/b.blk.h")" = HIT ]
  cmp "$T/a.blk" "$T/b.blk"

  # Five viewers block on the same next part at once: one goes upstream.
  for i in 1 2 3 4 5; do
    curl -sf -o "$T/w$i" "$NGX/demo/s/$a/v0/index.m3u8?_HLS_msn=4&_HLS_part=2" &
    pids+=($!)
  done
  sleep 0.5
  write_ll "$ROOT/demo/v0" 1 3 3
  for p in "${pids[@]}"; do wait "$p"; done
  for i in 1 2 3 4 5; do grep -q 'URI="seg-4.2.m4s"' "$T/w$i"; done

  wait_for test "$(wc -l <"$NL")" -ge 11
  # The origin saw both masters, one of each shared request.
  [ "$(log_lines "$OL" '.path == "/demo/master.m3u8"')" = 2 ]
  [ "$(log_lines "$OL" '.path | endswith("/v0/seg-1.m4s")')" = 1 ]
  [ "$(log_lines "$OL" '.query == "_HLS_msn=4&_HLS_part=1"')" = 1 ]
  [ "$(log_lines "$OL" '.query == "_HLS_msn=4&_HLS_part=2"')" = 1 ]
  # nginx's log: every viewer request, with its session from the path.
  [ "$(log_lines "$NL" ".session == \"$a\" and .session_source == \"path\" and (.path | startswith(\"/demo/s/$a/\"))")" = 7 ]
  [ "$(log_lines "$NL" ".session == \"$b\" and .session_source == \"path\"")" = 2 ]
  [ "$(log_lines "$NL" '.path == "/demo/master.m3u8" and .session == "" and .cache == ""')" = 2 ]
  [ "$(log_lines "$NL" '.path == "/demo/s/'"$b"'/v0/seg-1.m4s" and .cache == "HIT" and .status == 200 and .bytes == 200000')" = 1 ]
  [ "$(log_lines "$NL" '(.msec | type) != "number" or (.duration_ms | type) != "number"')" = 0 ]
  # A CMCD id through nginx is logged as the session too.
  # (and the cache key leaves CMCD= out: still the shared object).
  curl -sf -D "$T/c1.h" -o /dev/null "$NGX/demo/v0/seg-1.m4s?CMCD=bl%3D100%2Csid%3D%22p-1%22"
  curl -sf -D "$T/c2.h" -o /dev/null -H 'CMCD-Session: sid="p-2"' "$NGX/demo/v0/seg-1.m4s"
  [ "$(header X-Cache-Status "$T/c1.h")" = HIT ]
  [ "$(header X-Cache-Status "$T/c2.h")" = HIT ]
  wait_for test "$(wc -l <"$NL")" -ge 13
  [ "$(log_lines "$NL" '.session == "p-1" and .session_source == "cmcd"')" = 1 ]
  [ "$(log_lines "$NL" '.session == "p-2" and .session_source == "cmcd"')" = 1 ]
}
