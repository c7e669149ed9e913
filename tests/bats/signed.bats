#!/usr/bin/env bats
# Signed playback URLs (sigma-origin(1), SIGNED PLAYBACK): a live ultra-low
# channel served only under /CH/t/TOKEN/, played by hls.js in Chromium and
# by ffprobe; bad tokens 403 saying why; rotation by SIGHUP; the
# supervisor's playback = signed; no token or secret in any log.
load helpers

setup_file() {
  export W=$BATS_FILE_TMPDIR
  export ROOT=$W/root
  export SECRETS=$W/playback.secret
  mkdir -p "$ROOT/open/v0"
  T=$W
  SIGMA_PIDS=()
  # Two secrets, made here: S1 is current at first, S2 takes over later.
  head -c 36 /dev/urandom | base64 >"$W/s1"
  head -c 36 /dev/urandom | base64 >"$W/s2"
  cp "$W/s1" "$SECRETS"
  # An unsigned channel beside it, unchanged.
  printf '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=100000\nv0/index.m3u8\n' >"$ROOT/open/master.m3u8"
  printf '#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nseg-1.m4s\n#EXT-X-ENDLIST\n' >"$ROOT/open/v0/index.m3u8"
  head -c 1000 /dev/urandom >"$ROOT/open/v0/seg-1.m4s"
  local ts
  ts=$(make_ts t20 20)
  # A FIFO between them rather than a pipe under a shell: both PIDs are
  # ours to end (the input loops for as long as the suite runs).
  mkfifo "$W/live.fifo"
  spawn "$W/package.log" sigma-package -i "$W/live.fifo" -o "$ROOT/live" --mode ultra-low --segment-duration 1
  echo "$SPAWNED_PID" >"$W/pids"
  spawn "$W/ffmpeg.log" ffmpeg -nostdin -loglevel error -re -stream_loop -1 -i "$ts" -c copy -f mpegts -y "$W/live.fifo"
  echo "$SPAWNED_PID" >>"$W/pids"
  start_origin --signed live --playback-secret "$SECRETS"
  echo "$ORIGIN_PID" >>"$W/pids"
  echo "$BASE" >"$W/base"
  echo "$ORIGIN_PID" >"$W/origin.pid"
  echo "$PORT" >"$W/port"
  WAIT_SECS=20 wait_for bash -c "[[ -f '$ROOT/live/master.m3u8' && \$(grep -c '^#EXTINF' '$ROOT/live/v0/index.m3u8') -ge 3 ]]" ||
    { cat "$W/package.log" >&3; return 1; }
}

teardown_file() {
  local p
  for p in $(cat "$BATS_FILE_TMPDIR/pids" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
  for p in $(cat "$BATS_FILE_TMPDIR/pids" 2>/dev/null); do
    timeout 5 tail --pid="$p" -f /dev/null || kill -9 "$p" 2>/dev/null || true
  done
}

setup() {
  BASE=$(cat "$W/base")
  T=$W
}

teardown() {
  stop_spawned
}

# sign [sigma-origin sign options...]: a signed URL of live, remembered in
# $W/tokens for the final grep.
sign() {
  local url
  url=$(sigma-origin sign live --secret "$SECRETS" --base "$BASE" "$@") || return 1
  sed -n 's#.*/t/\([^/]*\)/.*#\1#p' <<<"$url" >>"$W/tokens"
  echo "$url"
}

# A token made by this script's own HMAC (the format as the man page
# gives it): py_token SECRET_FILE CHANNEL EXPIRY VIEWER.
py_token() {
  python3 - "$@" <<'PY' | tee -a "$W/tokens"
import base64, hashlib, hmac, sys
secret = open(sys.argv[1]).read().splitlines()[0].strip().encode()
channel, expiry, viewer = sys.argv[2:5]
m = ("sigma-playback-1\n%s\n%s\n\n%s" % (channel, expiry, viewer)).encode()
mac = base64.urlsafe_b64encode(hmac.new(secret, m, hashlib.sha256).digest()).rstrip(b"=").decode()
print("%s.%s..%s" % (viewer, expiry, mac))
PY
}

# code URL: the HTTP status of a GET.
code() { curl -s -o /dev/null -w '%{http_code}' "$1"; }
# error_of URL: the 403 body's error.
error_of() { curl -s "$1" | jq -r .error; }
header() { grep -i "^$1:" "$2" | head -1 | cut -d: -f2- | tr -d '\r' | sed 's/^ *//'; }

@test "a signed channel: no token, a bad, tampered, expired, wrong-channel or wrong-address token is 403 saying why; good tokens reach every URL, capped in cache" {
  local url tok now seg part msn
  # No token: the master, a media playlist, a segment, a thumbnail, the
  # catch-up master, a session path all 403; the unsigned channel plays.
  seg=$(grep -m1 '^seg-.*\.m4s$' "$ROOT/live/v0/index.m3u8")
  for p in master.m3u8 v0/index.m3u8 "v0/$seg" thumbs/latest.jpg "master.m3u8?start=-60" s/AAAAAAAAAAAAAAAAAAAAAA/v0/index.m3u8; do
    [[ $(code "$BASE/live/$p") == 403 ]] || { echo "live/$p not 403"; return 1; }
  done
  [[ $(error_of "$BASE/live/master.m3u8") == token_missing ]]
  curl -s -D "$W/h403" -o /dev/null "$BASE/live/master.m3u8"
  [[ $(header Cache-Control "$W/h403") == no-store ]]
  [[ $(code "$BASE/open/master.m3u8") == 200 && $(code "$BASE/open/v0/seg-1.m4s") == 200 ]]
  curl -sf "$BASE/_channels" | jq -e 'map(select(.name == "live"))[0] | .signed == true and (has("url") | not)'

  url=$(sign --ttl 10m --viewer alice)
  [[ $url == "$BASE/live/t/alice."*"/master.m3u8" ]]
  tok=$(sed 's#.*/t/\([^/]*\)/.*#\1#' <<<"$url")
  [[ $(code "$url") == 200 ]]
  curl -s "$url" | grep -q '^v0/index.m3u8$'  # not rewritten: no s/SID/ either
  curl -s -D "$W/hseg" -o /dev/null "$BASE/live/t/$tok/v0/$seg"
  grep -q '^HTTP/1.1 200' "$W/hseg"
  # Segments are immutable, but not past the token: max-age at most 600 s.
  local cc age
  cc=$(header Cache-Control "$W/hseg")
  age=${cc#public, max-age=}
  [[ $cc == "public, max-age=$age" ]] && ((age >= 500 && age <= 601)) || { cat "$W/hseg"; return 1; }
  # An LL-HLS blocking reload for the next part, and that part.
  msn=$(awk -F: '/^#EXT-X-MEDIA-SEQUENCE/ { print $2 }' "$ROOT/live/v0/index.m3u8")
  msn=$((msn + $(grep -c '^#EXTINF' "$ROOT/live/v0/index.m3u8") + 1))
  curl -s -D "$W/hblk" -o "$W/blk" "$BASE/live/t/$tok/v0/index.m3u8?_HLS_msn=$msn&_HLS_part=0"
  grep -q '^HTTP/1.1 200' "$W/hblk"
  grep -q "^#EXT-X-PART:.*URI=\"[^\"]*-$msn\.0\.m4s\"" "$W/blk" || { cat "$W/blk"; return 1; }
  part=$(grep -o "URI=\"[^\"]*-$msn\.0\.m4s\"" "$W/blk" | head -1 | cut -d'"' -f2)
  [[ $(code "$BASE/live/t/$tok/v0/$part") == 200 ]]
  # The thumbnail path and catch-up go through the check too (no thumbs
  # or archive here: 404, not 403).
  [[ $(code "$BASE/live/t/$tok/thumbs/latest.jpg") == 404 ]]
  # A token in either order with a session path.
  [[ $(code "$BASE/live/s/AAAAAAAAAAAAAAAAAAAAAA/t/$tok/v0/index.m3u8") == 200 ]]

  # Bound to this client's address: plays, and is private; another address's: 403.
  url=$(sign --ip 127.0.0.1)
  curl -s -D "$W/hip" -o /dev/null "${url%master.m3u8}v0/$seg"
  [[ $(header Cache-Control "$W/hip") =~ ^private,\ max-age= ]] || { cat "$W/hip"; return 1; }
  url=$(sign --ip 10.9.9.9)
  [[ $(code "$url") == 403 && $(error_of "$url") == wrong_address ]]

  # Tampered: another viewer, a later expiry, a flipped MAC character.
  local v e a m
  IFS=. read -r v e a m <<<"$tok"
  [[ $(error_of "$BASE/live/t/mallory.$e.$a.$m/master.m3u8") == bad_signature ]]
  [[ $(error_of "$BASE/live/t/$v.$((e + 3600)).$a.$m/master.m3u8") == bad_signature ]]
  [[ $(error_of "$BASE/live/t/$v.$e.$a.${m:0:10}$([[ ${m:10:1} == A ]] && echo B || echo A)${m:11}/master.m3u8") == bad_signature ]]
  [[ $(error_of "$BASE/live/t/not-a-token/master.m3u8") == malformed ]]
  # Another channel's token (a good one, for open) is no token for live.
  now=$(date +%s)
  [[ $(error_of "$BASE/live/t/$(py_token "$SECRETS" open $((now + 600)) bob)/master.m3u8") == bad_signature ]]
  [[ $(code "$BASE/open/t/$(py_token "$SECRETS" open $((now + 600)) bob)/master.m3u8") == 200 ]]
  # Expired: the script's own HMAC, an expiry a second ago; and the same
  # made for later plays (the format is as documented).
  [[ $(error_of "$BASE/live/t/$(py_token "$SECRETS" live $((now - 1)) carol)/master.m3u8") == expired ]]
  [[ $(code "$BASE/live/t/$(py_token "$SECRETS" live $((now + 600)) carol)/master.m3u8") == 200 ]]
  # The 403 bodies never echo a token.
  ! curl -s "$BASE/live/t/$tok.x/master.m3u8" | grep -qF "$tok"
}

@test "a signed URL plays in Chromium with hls.js (LL-HLS): every part and segment request carried the token and got 200; sigma-origin sign's URL plays in ffprobe" {
  [[ -f $BATS_TEST_DIRNAME/../../web/node_modules/hls.js/dist/hls.min.js ]] || skip "web/node_modules missing: run scripts/setup"
  local url viewer
  url=$(sign --ttl 5m)
  viewer=$(sed 's#.*/t/\([^.]*\)\..*#\1#' <<<"$url")
  : >"$W/access.log"
  run node "$BATS_TEST_DIRNAME/../browser/play.js" "$url" 6 --low-latency
  echo "$output"
  [[ $status -eq 0 ]]
  local json=${lines[-1]}
  [[ $(jq .frames_decoded <<<"$json") -gt 60 && $(jq .errors_fatal <<<"$json") -eq 0 ]]
  [[ $(jq .live <<<"$json") == true && $(jq .parts <<<"$json") -gt 0 ]]
  # Every request of the live channel: under the token (redacted to its
  # viewer in the log), its viewer the session; every part and segment 200.
  jq -e -s --arg v "$viewer" '
    map(select(.path | startswith("/live/"))) as $r
    | ($r | length) > 20
      and ($r | all(.path | startswith("/live/t/" + $v + ".REDACTED/")))
      and ($r | all(.session == $v and .session_source == "token"))
      and ($r | map(select(.path | test("\\.m4s$"))) | (length > 10) and all(.status == 200))
      and ($r | map(select(.query // "" | test("_HLS_msn="))) | length > 0)' "$W/access.log" ||
    { jq -c '{path, query, status, session, session_source}' "$W/access.log" | sort | uniq -c | sort -rn | head -30; return 1; }
  # ffprobe, from the URL sigma-origin sign prints (bound to this address).
  url=$(sign --ttl 2m --ip 127.0.0.1 --viewer ffprobe)
  run timeout 30 ffprobe -v error -show_entries stream=codec_name -of csv=p=0 "$url"
  echo "$output"
  [[ $status -eq 0 && $output == *h264* ]]
  jq -e -s 'map(select(.session == "ffprobe" and (.path | test("\\.m4s$")) and (.status == 200 or .status == 206))) | length > 0' "$W/access.log" ||
    { jq -c 'select(.session == "ffprobe") | {path, status}' "$W/access.log"; return 1; }
}

@test "through contrib/nginx: a token's segment is cached for that token only, never for a request without one; nginx's log keeps the viewer, not the token" {
  command -v nginx >/dev/null || skip "nginx not installed"
  local url tok seg
  PORT=$(cat "$W/port")
  T=$BATS_TEST_TMPDIR
  start_nginx
  url=$(sign --ttl 5m --viewer via-nginx)
  tok=$(sed 's#.*/t/\([^/]*\)/.*#\1#' <<<"$url")
  seg=$(grep -m1 '^seg-.*\.m4s$' "$ROOT/live/v0/index.m3u8")
  [[ $(code "$NGX/live/t/$tok/master.m3u8") == 200 ]]
  curl -s -D "$T/h1" -o /dev/null "$NGX/live/t/$tok/v0/$seg"
  curl -s -D "$T/h2" -o /dev/null "$NGX/live/t/$tok/v0/$seg"
  grep -q '^HTTP/1.1 200' "$T/h2"
  # The same segment without the token, or with another: the origin's 403.
  [[ $(code "$NGX/live/v0/$seg") == 403 ]]
  [[ $(code "$NGX/live/t/$(sign --ttl 5m --viewer other | sed 's#.*/t/\([^/]*\)/.*#\1#')/v0/$seg") == 200 ]]
  [[ $(code "$NGX/live/t/x$tok/v0/$seg") == 403 ]]
  WAIT_SECS=5 wait_for grep -q "via-nginx.REDACTED/v0/$seg" "$NGX_LOG"
  jq -e -s --arg s "$seg" 'map(select(.path == "/live/t/via-nginx.REDACTED/v0/" + $s) | .cache) | index("HIT") != null' "$NGX_LOG" ||
    { cat "$NGX_LOG"; return 1; }
  ! grep -qF "$tok" "$NGX_LOG"
  cp "$NGX_LOG" "$W/nginx-access.log"
  cp "$T/ngx/logs/error.log" "$W/nginx-error.log"
}

@test "rotation: after SIGHUP a token of the previous secret still plays beside the new one's; a secret taken out fails; a bad file keeps the old secrets" {
  local old new pid
  pid=$(cat "$W/origin.pid")
  old=$(sign --ttl 10m --viewer rot-old)
  [[ $(code "$old") == 200 ]]
  # S2 becomes current, S1 the previous.
  cat "$W/s2" "$W/s1" >"$SECRETS.tmp" && mv "$SECRETS.tmp" "$SECRETS"
  kill -HUP "$pid"
  new=$(sign --ttl 10m --viewer rot-new)  # signed with S2, the first line
  WAIT_SECS=5 wait_for bash -c "[[ \$(curl -s -o /dev/null -w '%{http_code}' '$new') == 200 ]]"
  [[ $(code "$old") == 200 ]]
  # A file with a short secret: refused, the origin keeps S2 + S1.
  printf 'short\n' >"$SECRETS.tmp" && mv "$SECRETS.tmp" "$SECRETS"
  kill -HUP "$pid"
  WAIT_SECS=5 wait_for grep -q 'SIGHUP: playback secret file .*:1: a secret of 5 bytes' "$W/origin.log"
  [[ $(code "$old") == 200 && $(code "$new") == 200 ]]
  # S1 retired: its tokens fail, S2's play.
  cp "$W/s2" "$SECRETS"
  kill -HUP "$pid"
  WAIT_SECS=5 wait_for bash -c "[[ \$(curl -s -o /dev/null -w '%{http_code}' '$old') == 403 ]]"
  [[ $(error_of "$old") == bad_signature && $(code "$new") == 200 ]]
  kill -0 "$pid"
}

@test "sigma-origin sign and the supervisor: bad usage exits 100; playback = signed needs a good playback_secret; the plan passes the secrets and the signed-channel file" {
  run sigma-origin sign live --secret "$SECRETS" --ttl 0s
  [[ $status -eq 100 ]]
  run sigma-origin sign live --secret "$SECRETS" --ip nowhere
  [[ $status -eq 100 && $output == *"--ip"* ]]
  run sigma-origin sign live --secret "$W/missing"
  [[ $status -eq 100 ]]
  run sigma-origin sign --secret "$SECRETS"
  [[ $status -eq 100 ]]
  run sigma-origin --signed live
  [[ $status -eq 100 && $output == *"--playback-secret"* ]]

  local conf=$W/sup.conf
  printf '[global]\nrun_dir = %s/run\nout_root = %s/out\nhealth = off\n\n[channel tv]\nplayback = signed\n' "$W" "$W" >"$conf"
  run sigma-supervisor -c "$conf" --dry-run
  echo "$output"
  [[ $status -eq 100 && $output == *"sup.conf:7:"*"playback_secret"* ]]
  printf 'tooshort\n' >"$W/short.secret"
  sed -i "2i playback_secret = $W/short.secret" "$conf"
  run sigma-supervisor -c "$conf" --dry-run
  echo "$output"
  [[ $status -eq 100 && $output == *"sup.conf:2:"*"at least 32"* && $output != *tooshort* ]]
  sed -i "2s#.*#playback_secret = $SECRETS#" "$conf"
  printf '\n[channel news]\nplayback = open\n' >>"$conf"
  run sigma-supervisor -c "$conf" --dry-run
  echo "$output"
  [[ $status -eq 0 ]]
  [[ $output == *"--playback-secret $SECRETS"* && $output == *"--signed-file $W/run/origin-signed"* ]]
  # The file the origin reads names tv, not news.
  [[ $(sed -n "/origin-signed/,/SIGMA_EOF/p" <<<"$output" | grep -cx 'tv') -eq 1 ]]
  [[ $(sed -n "/origin-signed/,/SIGMA_EOF/p" <<<"$output" | grep -cx 'news') -eq 0 ]]
  run sigma-supervisor -c "$conf" --dry-run
  printf '[global]\nrun_dir = %s/run\n[channel tv]\nplayback = sometimes\n' "$W" >"$conf"
  run sigma-supervisor -c "$conf" --dry-run
  [[ $status -eq 100 && $output == *"open or signed"* ]]
}

@test "under the supervisor: a SIGHUP that makes a channel signed reaches the running origin (same PID): 403 without a token, 200 with one" {
  local hp op conf origin_pid url
  T=$BATS_TEST_TMPDIR
  hp=$(free_port); op=$(free_port)
  head -c 36 /dev/urandom | base64 >"$T/sec"
  cp "$T/sec" "$W/s3"  # for the final grep
  mkdir -p "$T/out/tv"
  cp "$ROOT/open/master.m3u8" "$T/out/tv/master.m3u8"
  conf=$T/sv.conf
  cat >"$conf" <<CONF
[global]
run_dir = $T/run
out_root = $T/out
health = 127.0.0.1:$hp
origin = 127.0.0.1:$op
playback_secret = $T/sec

[channel tv]
input = exec sh -c 'while :; do head -c 1880 /dev/zero; sleep 0.05; done'
package.command = sh -c 'echo >&{ready_fd}; exec cat {input} >/dev/null'
playback = open
CONF
  spawn "$W/supervisor.log" sigma-supervisor -c "$conf"
  local sv=$SPAWNED_PID
  WAIT_SECS=15 wait_for curl -sf -o /dev/null "http://127.0.0.1:$op/tv/master.m3u8" || { cat "$W/supervisor.log"; return 1; }
  origin_pid=$(curl -s "http://127.0.0.1:$hp/status" | jq -r '.shared[] | select(.id == "origin") | .pid')
  [[ $origin_pid =~ ^[0-9]+$ ]]
  sed -i 's/^playback = open$/playback = signed/' "$conf"
  kill -HUP "$sv"
  WAIT_SECS=10 wait_for bash -c "[[ \$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$op/tv/master.m3u8) == 403 ]]" ||
    { cat "$W/supervisor.log"; return 1; }
  url=$(sigma-origin sign tv --secret "$T/sec" --base "http://127.0.0.1:$op")
  sed -n 's#.*/t/\([^/]*\)/.*#\1#p' <<<"$url" >>"$W/tokens"
  [[ $(code "$url") == 200 ]]
  [[ $(curl -s "http://127.0.0.1:$hp/status" | jq -r '.shared[] | select(.id == "origin") | .pid') == "$origin_pid" ]]
}

@test "no token or secret in any log line of this suite" {
  [[ -s $W/tokens ]]
  local f n=0
  # Every token this suite made or was given, and every secret, as fixed
  # strings: one grep per log.
  grep -v '^$' "$W/tokens" >"$W/needles"
  cat "$W/s1" "$W/s2" "$W/s3" >>"$W/needles"
  for f in "$W"/*.log; do
    if grep -qFf "$W/needles" "$f"; then
      echo "a token or secret in $f:"; grep -Ff "$W/needles" "$f" | head -3
      n=$((n + 1))
    fi
  done
  # The access log did hold signed requests, redacted.
  grep -q '/live/t/[A-Za-z0-9_-]*\.REDACTED/' "$W/access.log"
  ((n == 0))
}
