#!/usr/bin/env bats
# sigma-test: first (a long file: started before the others, scripts/test)
# sigma-hook against real HTTP receivers on 127.0.0.1 (hook_receiver.py):
# every delivery's Standard Webhooks signature checked with openssl and the
# shared secret; a receiver down during a burst, a kill -9 of sigma-hook,
# a slow receiver beside a fast one, 410, 503 + Retry-After, bad input.
# HOOK_DOWN_SECS (default 15) is how long the receiver stays down in the
# burst test; bench/hook.sh runs it for two minutes.
load helpers

setup() {
  T=$BATS_TEST_TMPDIR
  SIGMA_PIDS=()
  EV=$T/events.ndjson
  : >"$EV"
}

teardown() {
  stop_spawned
}

new_secret() { echo "whsec_$(head -c 32 /dev/urandom | base64)" >"$1"; }

# receiver NAME [PORT [receiver options]]: starts a receiver logging to
# $T/NAME.log, answering as $T/NAME.ctl says; its port in $T/NAME.port.
receiver() {
  local name=$1 port=${2:-0}
  shift $(($# > 1 ? 2 : 1))
  rm -f "$T/$name.port"
  spawn "$T/$name.out" python3 "$BATS_TEST_DIRNAME/hook_receiver.py" --port "$port" \
    --port-file "$T/$name.port" --log "$T/$name.log" --control "$T/$name.ctl" "$@"
  eval "${name}_PID=$SPAWNED_PID"
  wait_for test -s "$T/$name.port"
  touch "$T/$name.log"
}
port_of() { cat "$T/$1.port"; }

# sub NAME URL_PATH_OR_URL [key = value lines...]: one subscription section.
sub() {
  local name=$1 url=$2; shift 2
  [[ $url == http* ]] || url="http://127.0.0.1:$(port_of "$url")/$name"
  [[ -f $T/$name.secret ]] || new_secret "$T/$name.secret"
  {
    echo "[subscription $name]"
    echo "url = $url"
    echo "secret_file = $T/$name.secret"
    echo "backoff_initial = 100ms"
    echo "backoff_max = 1s"
    local l
    for l in "$@"; do echo "$l"; done
    echo
  } >>"$T/hooks.conf"
}

# emit FROM TO [CHANNELS]: events ev-FROM..ev-TO, channels round robin.
emit() {
  local i chans=(${3:-a b}) n
  n=${#chans[@]}
  for ((i = $1; i <= $2; i++)); do
    printf '{"id":"ev-%05d","time":"2026-12-03T10:00:00.000Z","tool":"test","type":"stream.started","channel":"%s","seq":%d}\n' \
      "$i" "${chans[$((i % n))]}" "$i"
  done >>"$EV"
}

start_hook() {
  spawn "$T/hook.log" sigma-hook run --config "$T/hooks.conf" --state "$T/state.sqlite" \
    --events-in "$EV" --events "$T/alerts.ndjson" "$@"
  HOOK_PID=$SPAWNED_PID
}

ids() { jq -r .id "$T/$1.log"; }
unique_ids() { ids "$1" | sort -u | wc -l; }
got_at_least() { (($(unique_ids "$1") >= $2)); }
status_json() { sigma-hook status --config "$T/hooks.conf" --state "$T/state.sqlite" --json; }
field() { status_json | jq -r --arg s "$1" ".subscriptions[] | select(.name == \$s) | .$2"; }

# verify LOGLINE SECRET_FILE...: 0 when one of the request's signatures is
# HMAC-SHA256(secret, id.timestamp.body), computed by openssl.
verify() {
  local line=$1; shift
  local id ts sigs body secret key want
  id=$(jq -r .id <<<"$line")
  ts=$(jq -r .timestamp <<<"$line")
  sigs=$(jq -r .signature <<<"$line")
  for secret in "$@"; do
    key=$(head -1 "$secret")
    want=$( { printf '%s.%s.' "$id" "$ts"; jq -j .body <<<"$line"; } |
      openssl dgst -sha256 -mac HMAC -macopt "hexkey:$(printf '%s' "${key#whsec_}" | base64 -d | od -An -vtx1 | tr -d ' \n')" -binary | base64)
    [[ " $sigs " == *" v1,$want "* ]] && return 0
  done
  return 1
}
# verify_all RECEIVER SUB: how many requests RECEIVER got that do not
# verify with SUB's secret (0 expected). One jq pass, one openssl a request.
verify_all() {
  local key hex content sigs want bad=0
  key=$(head -1 "$T/$2.secret")
  hex=$(printf '%s' "${key#whsec_}" | base64 -d | od -An -vtx1 | tr -d ' \n')
  while IFS=$'\t' read -r content sigs; do
    want=$(base64 -d <<<"$content" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$hex" -binary | base64)
    [[ " $sigs " == *" v1,$want "* ]] || bad=$((bad + 1))
  done < <(jq -r '[("\(.id).\(.timestamp).\(.body)" | @base64), .signature] | @tsv' "$T/$1.log")
  echo "$bad"
}
# For wait_for, which runs its command again each time:
lines_at_least() { (($(wc -l <"$1" 2>/dev/null || echo 0) >= $2)); }
field_is() { [[ $(field "$1" "$2") == "$3" ]]; }
field_at_least() { (($(field "$1" "$2") >= $3)); }
# in_order NAME CHANNEL: ids of CHANNEL in first-arrival order are sorted.
in_order() {
  diff <(jq -r --arg c "$2" 'select((.body | fromjson).channel == $c) | .id' "$T/$1.log" | awk '!seen[$0]++') \
    <(jq -r --arg c "$2" 'select((.body | fromjson).channel == $c) | .id' "$T/$1.log" | sort -u)
}

@test "check: a malformed subscription file is FILE:LINE and exit 100; an unreadable secret too" {
  printf '[subscription a]\nurl = http://127.0.0.1:9/x\nsecret_file = %s\ntimeout = soon\n' "$T/a.secret" >"$T/bad.conf"
  new_secret "$T/a.secret"
  run sigma-hook check --config "$T/bad.conf"
  [[ $status -eq 100 ]]
  [[ $output == *"$T/bad.conf:4:"* ]]
  printf '[subscription a]\nurl = ftp://x\n' >"$T/bad2.conf"
  run sigma-hook check --config "$T/bad2.conf"
  [[ $status -eq 100 && $output == *"bad2.conf:2:"*"http"* ]]
  printf '[subscription a]\nurl = http://127.0.0.1:9/x\nsecret_file = %s/none.secret\n' "$T" >"$T/nosecret.conf"
  run sigma-hook check --config "$T/nosecret.conf"
  [[ $status -eq 100 && $output == *"nosecret.conf:3: secret_file $T/none.secret: No such file"* ]]
  echo "whsec_!!!notbase64" >"$T/b.secret"
  printf '[subscription a]\nurl = http://127.0.0.1:9/x\nsecret_file = %s/b.secret\n' "$T" >"$T/badsecret.conf"
  run sigma-hook check --config "$T/badsecret.conf"
  [[ $status -eq 100 && $output == *"badsecret.conf:3:"*"base64"* ]]
  [[ $output != *"notbase64"* ]]
  run sigma-hook run --config "$T/bad.conf" --state "$T/s.sqlite" --events-in "$EV"
  [[ $status -eq 100 && $output == *"bad.conf:4:"* ]]
}

@test "every delivery verifies with openssl and the secret; a tampered body or a wrong secret does not; rotation sends both" {
  receiver r
  sub a r "events = stream.*"
  emit 1 20
  echo '{"id":"x1","type":"thumb.written","channel":"a"}' >>"$EV"   # not wanted: events = stream.*
  start_hook
  WAIT_SECS=20 wait_for got_at_least r 20
  [[ $(unique_ids r) -eq 20 ]]
  [[ $(jq -r .content_type "$T/r.log" | sort -u) == application/json ]]
  [[ $(verify_all r a) -eq 0 ]]
  # The body is the event's line, byte for byte.
  diff <(jq -r .body "$T/r.log" | sort) <(grep stream.started "$EV" | sort)
  # Tampered body: fails. Wrong secret: fails.
  line=$(head -1 "$T/r.log")
  ! verify "$(jq -c '.body |= sub("stream"; "strean")' <<<"$line")" "$T/a.secret"
  new_secret "$T/other.secret"
  ! verify "$line" "$T/other.secret"
  [[ $(verify_all r other) -eq 20 ]]
  # Rotation: two secrets, two signatures, each verifies alone.
  cp "$T/a.secret" "$T/old.secret"
  new_secret "$T/new.secret"
  cat "$T/new.secret" "$T/old.secret" >"$T/a.secret"
  kill -HUP "$HOOK_PID"
  sleep 0.5
  emit 21 22
  wait_for got_at_least r 22
  last=$(tail -1 "$T/r.log")
  [[ $(jq -r .signature <<<"$last" | wc -w) -eq 2 ]]
  verify "$last" "$T/old.secret"
  verify "$last" "$T/new.secret"
  # No secret in the logs or the status.
  for s in "$T/old.secret" "$T/new.secret"; do
    k=$(head -1 "$s")
    ! grep -qF "${k#whsec_}" "$T/hook.log"
    ! status_json | grep -qF "${k#whsec_}"
    ! sigma-hook status --config "$T/hooks.conf" --state "$T/state.sqlite" | grep -qF "${k#whsec_}"
  done
  [[ $(field a delivered) -eq 22 && $(field a pending) -eq 0 ]]
  # SIGTERM: a clean stop, exit 0.
  kill -TERM "$HOOK_PID"
  rc=0
  wait "$HOOK_PID" || rc=$?
  [[ $rc -eq 0 ]]
}

@test "receiver down during a burst, then up: every event arrives, each id once after de-dup, in order per channel" {
  receiver r
  port=$(port_of r)
  sub a r
  start_hook
  emit 1 50 "a b c"
  wait_for got_at_least r 10
  kill "$r_PID"
  emit 51 300 "a b c"
  sleep "${HOOK_DOWN_SECS:-15}"
  [[ $(field a retrying) -ge 1 ]]
  [[ $(field a last_error) == *"127.0.0.1:$port"* ]]
  receiver r "$port"
  WAIT_SECS=60 wait_for got_at_least r 300
  [[ $(unique_ids r) -eq 300 ]]
  for c in a b c; do in_order r "$c"; done
  [[ $(verify_all r a) -eq 0 ]]
  wait_for field_is a pending 0
  [[ $(field a failed) -eq 0 ]]
}

@test "kill -9 of sigma-hook mid-burst, restart: nothing lost, duplicates only of what was in flight" {
  receiver r
  echo "sleep 0.04" >"$T/r.ctl"   # 100 a second at most: the kill lands mid-burst
  sub a r "concurrency = 4"
  emit 1 400 "a b c d e f"
  start_hook
  wait_for got_at_least r 50
  kill -9 "$HOOK_PID"
  before=$(wc -l <"$T/r.log")
  ((before < 400))
  emit 401 500 "a b c d e f"
  start_hook
  WAIT_SECS=60 wait_for got_at_least r 500
  [[ $(unique_ids r) -eq 500 ]]
  dups=$(( $(wc -l <"$T/r.log") - 500 ))
  echo "duplicates: $dups"
  ((dups <= 4))
  for c in a b c d e f; do in_order r "$c"; done
}

@test "a receiver that answers in 10 s does not delay another's deliveries" {
  receiver slow
  receiver fast
  echo "sleep 10" >"$T/slow.ctl"
  sub slow slow "timeout = 30s"
  sub fast fast
  emit 1 40 "a b c d"
  start_hook
  wait_for got_at_least fast 40
  # The slow one has its first requests in hand and has answered none.
  [[ $(field slow delivered) -eq 0 ]]
  [[ $(field fast delivered) -eq 40 ]]
  (($(wc -l <"$T/slow.log") >= 1))
}

@test "410 disables the subscription and is not retried; 503 with Retry-After is retried after it" {
  receiver gone
  receiver busy
  echo "status 410" >"$T/gone.ctl"
  echo "status 503 2" >"$T/busy.ctl"
  sub gone gone
  sub busy busy
  emit 1 1 "a"
  start_hook
  wait_for test -s "$T/gone.log"
  wait_for test -s "$T/busy.log"
  echo ok >"$T/busy.ctl"
  wait_for lines_at_least "$T/busy.log" 2
  first=$(jq -r .t "$T/busy.log" | head -1)
  second=$(jq -r .t "$T/busy.log" | sed -n 2p)
  # Retry-After: 2 seconds (backoff_initial is 100 ms).
  python3 -c "import sys; sys.exit(0 if $second - $first >= 1.9 else 1)"
  wait_for field_is busy delivered 1
  # The 410: one request only, the subscription disabled, an alert.
  wait_for field_is gone disabled true
  emit 2 3 "a"
  wait_for field_is busy delivered 3
  [[ $(wc -l <"$T/gone.log") -eq 1 ]]
  [[ $(field gone pending) -eq 0 ]]
  EVENTS_FILE=$T/alerts.ndjson
  [[ $(count_events alert.webhook_disabled '.state == "firing" and .key == "gone" and .severity == "critical"') -eq 1 ]]
  sigma-hook status --config "$T/hooks.conf" --state "$T/state.sqlite" | grep -E '^gone .* disabled .*HTTP 410'
}

@test "garbage lines are skipped and counted; an unreachable URL and an unreadable secret hold up nothing else" {
  receiver r
  sub good r
  sub down "http://127.0.0.1:1/x" "max_age = 2s"
  sub nosecret r
  rm "$T/nosecret.secret"   # (a mode of 000 would not stop root)
  emit 1 5
  printf 'not json\n{"no":"type"}\n[1,2]\n' >>"$EV"
  emit 6 10
  start_hook
  wait_for got_at_least r 10
  [[ $(unique_ids r) -eq 10 ]]
  [[ $(jq -r .path "$T/r.log" | sort -u) == /good ]]
  [[ $(status_json | jq .garbage_lines) -eq 3 ]]
  grep -q "not a JSON event" "$T/hook.log"
  grep -q "secret_file $T/nosecret.secret" "$T/hook.log"
  [[ $(field nosecret pending) -eq 10 && $(field nosecret held) == true ]]
  [[ $(field nosecret last_error) == *"secret_file $T/nosecret.secret: No such file"* ]]
  # The unreachable one: retried, then given up after max_age: one alert.
  WAIT_SECS=15 wait_for field_is down failed 10
  [[ $(field down last_error) == *"127.0.0.1:1"* ]]
  EVENTS_FILE=$T/alerts.ndjson
  [[ $(count_events alert.webhook_failed '.state == "firing" and .key == "down"') -eq 1 ]]
}

@test "exec handler gets the event on stdin; replay re-sends a time range" {
  receiver r
  sub a r
  cat >>"$T/hooks.conf" <<CONF
[subscription shell]
exec = sh -c 'cat >> "$T/exec.out"'
events = stream.*
CONF
  emit 1 4
  start_hook
  wait_for got_at_least r 4
  wait_for lines_at_least "$T/exec.out" 4
  diff <(sort "$T/exec.out") <(sort "$EV")
  run sigma-hook replay --config "$T/hooks.conf" --state "$T/state.sqlite" --since 2026-12-03T09:00:00Z \
    --until 2026-12-03T11:00:00Z --subscription a --events-in "$EV"
  [[ $status -eq 0 && ${lines[-1]} == 4 ]]
  wait_for lines_at_least "$T/r.log" 8
  [[ $(unique_ids r) -eq 4 ]]
  [[ $(wc -l <"$T/exec.out") -eq 4 ]]
  # SIGHUP with a broken file: reported, the running subscriptions kept.
  cp "$T/hooks.conf" "$T/good.conf"
  echo "oops" >>"$T/hooks.conf"
  kill -HUP "$HOOK_PID"
  wait_for grep -q "reload: $T/hooks.conf:[0-9]*:.*keeping the running subscriptions" "$T/hook.log"
  emit 5 5
  wait_for lines_at_least "$T/r.log" 9
  wait_for lines_at_least "$T/exec.out" 5
}

@test "HTTPS: a receiver whose certificate does not verify gets nothing, and is retried" {
  openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -days 1 \
    -keyout "$T/key.pem" -out "$T/cert.pem" 2>/dev/null
  receiver tls 0 --tls "$T/cert.pem" "$T/key.pem"
  receiver r
  sub self "https://127.0.0.1:$(port_of tls)/self"
  sub plain r
  emit 1 3
  start_hook
  wait_for got_at_least r 3
  wait_for field_at_least self retrying 1
  [[ $(field self last_error) == *"certificate"* ]]
  [[ $(field self delivered) -eq 0 ]]
  [[ ! -s $T/tls.log ]]
}

@test "more channels than slots: channels take turns, none waits behind another's backlog" {
  receiver r
  sub a r "concurrency = 1"
  emit 1 40 "a b c d"
  start_hook
  wait_for got_at_least r 40
  # In the first 8 deliveries every channel has had its turn.
  [[ $(head -8 "$T/r.log" | jq -r '.body | fromjson | .channel' | sort -u | wc -l) -eq 4 ]]
  for c in a b c d; do in_order r "$c"; done
}

@test "alert.webhook_failed fires once while deliveries are given up and resolves once when they succeed again" {
  receiver r
  echo "status 503" >"$T/r.ctl"
  sub a r "max_age = 1s"
  emit 1 6 "a b"
  start_hook
  WAIT_SECS=20 wait_for field_is a failed 6
  EVENTS_FILE=$T/alerts.ndjson
  [[ $(count_events alert.webhook_failed '.state == "firing"') -eq 1 ]]
  [[ $(count_events alert.webhook_failed '.state == "resolved"') -eq 0 ]]
  [[ $(field a alert) == true ]]
  echo ok >"$T/r.ctl"
  emit 7 8 "a b"
  wait_for field_is a delivered 2
  wait_for events_at_least alert.webhook_failed 2
  [[ $(count_events alert.webhook_failed '.state == "firing"') -eq 1 ]]
  [[ $(count_events alert.webhook_failed \
    '.state == "resolved" and .key == "a" and .severity == "warning" and (.since | length) > 0 and .tool == "sigma-hook"') -eq 1 ]]
  [[ $(field a alert) == false ]]
}
