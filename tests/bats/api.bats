#!/usr/bin/env bats
# The control API of sigma-supervisor (sigma-supervisor(1), CONTROL API)
# over the real binaries: tokens, scopes, every endpoint; a channel made
# through the API publishes and plays beside a live one that is not
# touched; bad input is refused and changes nothing; the API's channels
# come back after a restart; no token or key in any log or event.

load helpers
load supervisor_helpers

# api METHOD PATH [TOKEN] [curl args...]: prints the body, then the status
# on a line of its own.
api() {
  local m=$1 p=$2 tok=${3:-}
  shift 3 2>/dev/null || shift $#
  curl -s -X "$m" ${tok:+-H "Authorization: Bearer $tok"} -w '\n%{http_code}\n' "$@" "$API$p"
}
code() { api "$@" | tail -1; }
# The error code of a JSON error reply.
err() { api "$@" | sed '$d' | jq -r '.error.code'; }
has_segments() { [[ -f $1 ]] && grep -q '^#EXTINF' "$1"; }
ended() { [[ -f $1 ]] && grep -q '^#EXT-X-ENDLIST' "$1"; }
not_ended() { [[ -f $1 ]] && grep -q '^#EXTINF' "$1" && ! grep -q '^#EXT-X-ENDLIST' "$1"; }
channel_pids() { status_json | jq -r --arg c "$1" '.channels[] | select(.name == $c) | [.stages[].pid] | join(" ")'; }
sv_down() { ! kill -0 "$SV" 2>/dev/null; }
package_restarted() { local p; p=$(channel_pids news); [[ -n $p && $p != "$1" && $(stage_field news/package state) == up ]]; }
news_has_stages() { status_json | jq -e '.channels[] | select(.name == "news") | .stages | length > 0' >/dev/null; }

# decodes SEGMENT of a playlist URL through the origin (init + first segment).
decodes_first_segment() {
  local url=$1 base pl map seg
  base=${url%/*}
  pl=$(curl -sf "$url") || return 1
  map=$(sed -n 's/^#EXT-X-MAP:URI="\([^"]*\)".*/\1/p' <<<"$pl" | head -1)
  seg=$(grep -v '^#' <<<"$pl" | grep . | head -1)
  [[ -n $seg ]] || return 1
  { [[ -z $map ]] || curl -sf "$base/$map"; curl -sf "$base/$seg"; } >"$T/first-seg"
  (( $(count_frames "$T/first-seg") > 0 ))
}

start_api_sv() {
  start_sv
  wait_for curl -sf -o /dev/null "$API/healthz" || { cat "$T/sv.log"; return 1; }
}

@test "control API: tokens and scopes on every endpoint; a channel PUT beside a live one publishes and plays, the other untouched; bad input refused; DELETE ends it; API channels survive a restart; no secret in any log" {
  local ts RP OP AP W R
  ts=$(make_ts t20 20)
  RP=$(free_port)
  OP=$(free_port)
  AP=$(free_port)
  API=http://127.0.0.1:$AP
  printf 'live livesecret-0123\n' >"$T/keys"
  chmod 600 "$T/keys"
  conf "origin = 127.0.0.1:$OP" "rtmp = 127.0.0.1:$RP" "keys = $T/keys" "access_log = $T/access.log" \
    "api = 127.0.0.1:$AP" "api_tokens = $T/api-tokens" "channels_dir = $T/channels"
  channel live "input = publish" "mode = low"

  # Tokens: printed once, only their hashes in the file (mode 600).
  W=$(sigma-supervisor -c "$T/sv.conf" token new ci --scope write 2>/dev/null)
  R=$(sigma-supervisor token new dash --scope read --tokens "$T/api-tokens" 2>/dev/null)
  [[ $W == sgm_* && $R == sgm_* && $W != "$R" ]]
  ! grep -qF -e "$W" -e "${W#sgm_}" -e "$R" -e "${R#sgm_}" "$T/api-tokens"
  [[ $(stat -c %a "$T/api-tokens") == 600 ]]
  sigma-supervisor token list --tokens "$T/api-tokens" | grep -q '^ci	write'
  run sigma-supervisor token new ci --tokens "$T/api-tokens"
  [[ $status -eq 100 ]]

  start_api_sv
  spawn "$T/sse.txt" curl -sN -H "Authorization: Bearer $R" "$API/v1/events?channel=news"
  spawn "$T/pub-live.log" ffmpeg -nostdin -loglevel error -re -stream_loop -1 -i "$ts" -c copy -f flv \
    "rtmp://127.0.0.1:$RP/live/livesecret-0123"
  local LIVE_PUB=$SPAWNED_PID
  WAIT_SECS=20 wait_for has_segments "$T/out/live/v0/index.m3u8" || { tail -20 "$T/sv.log"; return 1; }
  local shared0
  shared0=$(status_json | jq -r '[.shared[] | "\(.id)=\(.pid)"] | join(" ")')

  # No token: 401 with WWW-Authenticate everywhere under /v1 (an unknown
  # path too); /healthz needs none.
  local ep m p
  for ep in "GET /v1/openapi.json" "GET /v1/channels" "GET /v1/channels/live" "PUT /v1/channels/x" \
    "DELETE /v1/channels/x" "POST /v1/channels/x/start" "POST /v1/channels/x/stop" \
    "POST /v1/channels/x/stages/package/restart" "POST /v1/channels/x/key/rotate" \
    "POST /v1/channels/x/playback-url" "GET /v1/events" "GET /v1/nothing"; do
    read -r m p <<<"$ep"
    [[ $(code "$m" "$p") == 401 ]] || { echo "$ep without a token: $(code "$m" "$p")"; return 1; }
  done
  curl -sI "$API/v1/channels" | grep -qi '^WWW-Authenticate: Bearer'
  [[ $(curl -s "$API/healthz") == ok ]]
  # A read token reads and may not write.
  [[ $(code GET /v1/channels "$R") == 200 ]]
  [[ $(code GET /v1/openapi.json "$R") == 200 ]]
  api GET /v1/openapi.json "$R" | sed '$d' | jq -e '.paths["/v1/channels/{name}"].put' >/dev/null
  for ep in "PUT /v1/channels/x" "DELETE /v1/channels/live" "POST /v1/channels/live/start" "POST /v1/channels/live/stop" \
    "POST /v1/channels/live/stages/package/restart" "POST /v1/channels/live/key/rotate" "POST /v1/channels/live/playback-url"; do
    read -r m p <<<"$ep"
    [[ $(code "$m" "$p" "$R") == 403 ]] || { echo "$ep with a read token: $(code "$m" "$p" "$R")"; return 1; }
  done
  [[ $(err GET /v1/channels/live/nope "$R") == not_found ]]

  # Bad input: a clear 4xx, nothing written, the supervisor still answers.
  [[ $(err PUT /v1/channels/news "$W" -d '{"input":"publish",') == bad_json ]]
  [[ $(code PUT /v1/channels/news "$W" --data-binary @<(head -c 200000 /dev/zero | tr '\0' 'a')) == 413 ]]
  api PUT /v1/channels/news "$W" -d '{"input":"publish","colour":"red"}' >"$T/r"
  [[ $(tail -1 "$T/r") == 400 ]]
  sed '$d' "$T/r" | jq -e '.error.code == "bad_config" and (.error.message | test("news.conf:[0-9]+: unknown key .colour."))'
  api PUT /v1/channels/news "$W" -d '{"input":"publish","mode":"fast"}' | sed '$d' | jq -e '.error.message | test("news.conf:[0-9]+: mode")'
  [[ $(err PUT /v1/channels/news "$W" -d '{"input":"exec sh -c id"}') == forbidden_field ]]
  [[ $(err PUT /v1/channels/news "$W" -d '{"mode":"low\n[global]\nrtmp = off"}') == bad_field ]]
  [[ $(err PUT /v1/channels/..%2F..%2Fetc "$W" -d '{"input":"publish"}') == bad_name ]]
  [[ $(code PUT /v1/channels/../x "$W" --path-as-is -d '{}') == 40? ]]
  api GET '/v1/channels/a%0d%0aSet-Cookie:%20x=1' "$W" -i >"$T/r"
  ! grep -qi '^Set-Cookie' "$T/r"
  grep -q '"bad_name"' "$T/r"
  # A header with a bare CR: the HTTP parser refuses it.
  python3 - "$AP" "$W" <<'PY' | grep -q '^HTTP/1.1 400'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /v1/channels HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + sys.argv[2].encode() + b"\rX-Injected: 1\r\n\r\n")
print(s.recv(4096).decode(errors="replace").splitlines()[0])
PY
  [[ ! -e $T/channels/news.conf ]]
  [[ $(api GET /v1/channels "$R" | sed '$d' | jq '.channels | length') == 1 ]]
  # The main file's channels are its own: 409 with the file and line.
  api DELETE /v1/channels/live "$W" | sed '$d' | jq -e '.error.code == "read_only" and (.error.message | test("sv.conf:[0-9]+"))'
  [[ $(err PUT /v1/channels/live "$W" -d '{"input":"publish"}') == read_only ]]

  # PUT a new channel while live is on air: it publishes with the key the
  # API rotated in, and plays; live's stages and publisher are untouched.
  api PUT /v1/channels/news "$W" -d '{"input":"publish","mode":"low","package_in_ingest":false}' >"$T/r"
  [[ $(tail -1 "$T/r") == 201 ]] || { cat "$T/r"; return 1; }
  grep -q '^package_in_ingest = no$' "$T/channels/news.conf"
  local K
  K=$(api POST /v1/channels/news/key/rotate "$W" | sed '$d' | jq -r .key)
  [[ ${#K} -ge 16 ]] && grep -q "^news $K\$" "$T/keys"
  spawn "$T/pub-news.log" ffmpeg -nostdin -loglevel error -re -stream_loop -1 -i "$ts" -c copy -f flv \
    "rtmp://127.0.0.1:$RP/live/$K"
  local NEWS_PUB=$SPAWNED_PID
  WAIT_SECS=20 wait_for has_segments "$T/out/news/v0/index.m3u8" || { tail -20 "$T/sv.log"; return 1; }
  WAIT_SECS=10 wait_for decodes_first_segment "http://127.0.0.1:$OP/news/v0/index.m3u8" ||
    { curl -s "http://127.0.0.1:$OP/news/v0/index.m3u8"; ls -la "$T/out/news/v0" "$T/first-seg"; return 1; }
  api GET /v1/channels/news "$R" | sed '$d' |
    jq -e '.source == "api" and .enabled and .config.mode == "low" and (.status.stages | map(.stage) | index("package") != null)'
  [[ $(status_json | jq -r '[.shared[] | "\(.id)=\(.pid)"] | join(" ")') == "$shared0" ]]
  kill -0 "$LIVE_PUB"
  [[ $(count_events stream.ended '.channel == "live"') -eq 0 ]]

  # Restart a stage: a new process; one the channel does not have is 404.
  local pkg0 pkg1
  pkg0=$(channel_pids news)
  [[ $(code POST /v1/channels/news/stages/package/restart "$W") == 202 ]]
  WAIT_SECS=10 wait_for package_restarted "$pkg0"
  pkg1=$(channel_pids news)
  [[ -n $pkg1 && $pkg1 != "$pkg0" ]]
  [[ $(err POST /v1/channels/news/stages/transcode/restart "$W") == not_found ]]

  # Stop, its publisher on air: the playlists end, the stages go, the
  # publisher is let go and its key refused while the channel is stopped
  # (nothing written where the channel's FIFO was); it stays stopped
  # across a restart of the supervisor, and starts again.
  [[ $(code POST /v1/channels/news/stop "$W") == 200 ]]
  grep -q '^enabled = no$' "$T/channels/news.conf"
  WAIT_SECS=10 wait_for ended "$T/out/news/v0/index.m3u8" || { tail -40 "$T/sv.log"; return 1; }
  [[ -z $(channel_pids news) ]]
  timeout 10 tail --pid="$NEWS_PUB" -f /dev/null
  ! timeout 10 ffmpeg -nostdin -loglevel error -re -i "$ts" -t 3 -c copy -f flv "rtmp://127.0.0.1:$RP/live/$K"
  events_at_least publish.rejected 1 '.reason | test("news.*not served")'
  [[ ! -f $T/run/news/source.ts ]]
  kill "$SV"
  WAIT_SECS=15 wait_for sv_down
  start_api_sv
  api GET /v1/channels/news "$R" | sed '$d' | jq -e '.enabled == false and .status == null'
  [[ $(code POST /v1/channels/news/start "$W") == 200 ]]
  WAIT_SECS=15 wait_for news_has_stages || { tail -30 "$T/sv.log"; cat "$T/channels/news.conf"; status_json; return 1; }

  # DELETE of a live channel: its playlists end, the file and the stages go.
  spawn "$T/pub-news2.log" ffmpeg -nostdin -loglevel error -re -stream_loop -1 -i "$ts" -c copy -f flv \
    "rtmp://127.0.0.1:$RP/live/$K"
  NEWS_PUB=$SPAWNED_PID
  WAIT_SECS=20 wait_for not_ended "$T/out/news/v0/index.m3u8"
  [[ $(code DELETE /v1/channels/news "$W") == 200 ]]
  WAIT_SECS=10 wait_for ended "$T/out/news/v0/index.m3u8" ||
    { tail -40 "$T/sv.log"; tail -5 "$T/out/news/v0/index.m3u8"; return 1; }
  # Its publisher is let go with it.
  timeout 10 tail --pid="$NEWS_PUB" -f /dev/null
  [[ ! -f $T/run/news/source.ts ]]
  [[ ! -e $T/channels/news.conf ]]
  [[ $(status_json | jq '[.channels[] | select(.name == "news")] | length') == 0 ]]
  [[ $(code GET /v1/channels/news "$R") == 404 ]]

  # The event stream saw news's API events and none of live's.
  grep -q '^event: api.channel.created' "$T/sse.txt"
  grep -q '^event: api.key.rotated' "$T/sse.txt"
  ! grep -q '"channel":"live"' "$T/sse.txt"
  ! grep -qF "$K" "$T/sse.txt"

  # Wrong tokens from one address: 429 after ten, for the good token too.
  local i
  for i in $(seq 10); do [[ $(code GET /v1/channels sgm_wrong$i) == 401 ]]; done
  [[ $(code GET /v1/channels "$R") == 429 ]]
  grep -q 'wrong token' "$T/sv.log"

  kill "$LIVE_PUB" 2>/dev/null || true
  # No token and no key anywhere in what Sigma wrote.
  local f
  for f in "$T"/sv.log "$T"/*.ndjson "$T"/access.log "$T"/sse.txt; do
    [[ -f $f ]] || continue
    ! grep -qF -e "$W" -e "$R" -e "$K" -e livesecret-0123 "$f" || { echo "a secret in $f"; return 1; }
  done
}

@test "control API: a non-loopback address without a token is refused (exit 100); PUT without channels_dir is 409" {
  AP=$(free_port)
  conf "rtmp = off" "api = 0.0.0.0:$AP" "api_tokens = $T/api-tokens"
  run sigma-supervisor -c "$T/sv.conf"
  [[ $status -eq 100 ]]
  [[ $output == *"not a loopback address"* ]]
  API=http://127.0.0.1:$AP
  W=$(sigma-supervisor token new ci --scope write --tokens "$T/api-tokens" 2>/dev/null)
  local OP
  OP=$(free_port)
  head -c 48 /dev/urandom | base64 -w0 >"$T/playback-secret"
  conf "rtmp = off" "api = 127.0.0.1:$AP" "api_tokens = $T/api-tokens" "origin = 127.0.0.1:$OP" \
    "playback_secret = $T/playback-secret"
  channel sig "input = pull $T/none.ts" "playback = signed"
  channel open "input = pull $T/none.ts"
  start_api_sv
  [[ $(err PUT /v1/channels/x "$W" -d '{"input":"pull /nonexistent.ts"}') == not_configured ]]
  # Signed playback URLs: minted for a signed channel only; the origin
  # takes the token (404: nothing published yet) and refuses a tampered one.
  api POST /v1/channels/sig/playback-url "$W" -d '{"ttl":"10m","viewer":"v1"}' >"$T/r"
  [[ $(tail -1 "$T/r") == 200 ]] || { cat "$T/r"; return 1; }
  local url
  url=$(sed '$d' "$T/r" | jq -r .url)
  [[ $url == "http://127.0.0.1:$OP/sig/t/"*/master.m3u8 ]]
  wait_for curl -s -o /dev/null "http://127.0.0.1:$OP/"
  [[ $(curl -s -o /dev/null -w '%{http_code}' "$url") == 404 ]]
  [[ $(curl -s -o /dev/null -w '%{http_code}' "${url/\/t\//\/t\/x}") == 403 ]]
  [[ $(err POST /v1/channels/open/playback-url "$W") == conflict ]]
  [[ $(err POST /v1/channels/sig/playback-url "$W" -d '{"ttl":"30d"}') == bad_field ]]
  local tok=${url#*/t/}
  tok=${tok%%/*}
  [[ ${#tok} -gt 20 ]]
  ! grep -qF "$tok" "$T/sv.log" "$T/events.ndjson"
  SIGMA_API_TOKEN=$W run sigma-supervisor -c "$T/sv.conf" channel list
  [[ $status -eq 0 ]]
  [[ $(jq '.channels | length' <<<"$output") == 2 ]]
  SIGMA_API_TOKEN=$W run sigma-supervisor -c "$T/sv.conf" channel show nope
  [[ $status -eq 100 && $output == *"not_found"* ]]
}

@test "libFuzzer over the API's routing, request checks, channel bodies and token file runs 10 s without a crash" {
  FUZZ_DIR="$SIGMA_TEST_CACHE/api-fuzzer"
  "$BATS_TEST_DIRNAME/../fuzz/build.sh" "$FUZZ_DIR" api
  mkdir -p "$T/corpus"
  cp "$BATS_TEST_DIRNAME"/../fuzz/api-corpus/* "$T/corpus/"
  run "$FUZZ_DIR/api_fuzzer" -max_total_time=10 -rss_limit_mb=1024 -print_final_stats=1 "$T/corpus"
  echo "$output" | tail -20
  [ "$status" -eq 0 ]
  [[ $output == *"Done "*" runs in "* ]]
  ! [[ $output == *"ERROR: AddressSanitizer"* || $output == *"runtime error"* ]]
}
