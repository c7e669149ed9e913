#!/usr/bin/env bats
# sigma-stats over access logs made from a known schedule
# (stats_schedule.py prints the truth beside the log): CCU at each 10 s
# step, views, watch time; kill -9 mid-stream; Prometheus counters across
# a restart (promtool); garbage, truncated, future and past lines, a log
# rotated and truncated under it; the status file, top and report forms.
load helpers

setup() {
  T=$BATS_TEST_TMPDIR
  SIGMA_PIDS=()
  GEN="python3 $BATS_TEST_DIRNAME/stats_schedule.py"
  # Ten minutes ago: every line is in the past of the clock, none too far.
  T0=$(( $(date +%s) - 600 ))
}

teardown() {
  stop_spawned
}

meta() { sqlite3 "file:$1?mode=ro" "SELECT coalesce((SELECT value FROM meta WHERE key = '$2'), 0)" 2>/dev/null || echo 0; }
lines_read() {  # all lines the state has taken, skipped ones included
  sqlite3 "file:$1?mode=ro" "SELECT coalesce(sum(value), 0) FROM meta WHERE key LIKE 'lines_%'" 2>/dev/null || echo 0
}
read_all() { [[ $(lines_read "$1") -ge $2 ]]; }

@test "twelve players behind one address and one User-Agent: CCU at every 10 s step, views and watch time against the truth" {
  $GEN --players 12 --fallback 2 --start "$T0" --length 180 --seed 7 --truth "$T/truth.json" >"$T/access.log"
  sigma-stats run --log - --state "$T/st.sqlite" <"$T/access.log"
  from=$(jq -r '.ccu[0].time' "$T/truth.json")
  to=$(jq -r '.ccu[-1].time' "$T/truth.json")
  run sigma-stats report --state "$T/st.sqlite" --from "$from" --to "$to" --step 10s --json
  [[ $status -eq 0 ]]
  echo "$output" >"$T/report.json"
  # The same instants, the same counts (from .. to inclusive at 10 s steps).
  diff <(jq -c '[.ccu[] | .viewers]' "$T/truth.json") <(jq -c '[.channels.demo.ccu[] | .viewers]' "$T/report.json")
  [[ $(jq '.channels.demo.peak_ccu' "$T/report.json") -eq $(jq '.peak_ccu' "$T/truth.json") ]]
  # Watch time over the whole log: the definition exactly, and within 5 %
  # of what the players played (start to stop).
  run sigma-stats report --state "$T/st.sqlite" --json
  [[ $(jq '.channels.demo.views' <<<"$output") -eq 12 ]]
  [[ $(jq '.channels.demo.sessions' <<<"$output") -eq 12 ]]
  [[ $(jq '.channels.demo.fallback_sessions' <<<"$output") -eq 2 ]]
  got=$(jq '.channels.demo.watch_seconds' <<<"$output")
  [[ $(jq '.watch_seconds' "$T/truth.json") == "$got" ]]
  python3 -c "import sys; g, t = float('$got'), $(jq '.played_seconds' "$T/truth.json"); print(g, t); sys.exit(abs(g - t) > 0.05 * t)"
  # Per rendition, the two add up.
  jq -e --argjson g "$got" '([.channels.demo.watch_seconds_by_track[]] | add) - $g | fabs < 0.001' <<<"$output"
  # Unique viewers: the one address + UA of the ten, and the two others.
  [[ $(jq '.channels.demo.unique_viewers' <<<"$output") -eq 3 ]]
}

@test "kill -9 mid-stream and restart: the report of the whole period equals an uninterrupted run's" {
  $GEN --players 60 --fallback 5 --start "$T0" --length 240 --seed 3 >"$T/full.log"
  total=$(wc -l <"$T/full.log")
  sigma-stats run --log - --state "$T/ref.sqlite" <"$T/full.log"
  : >"$T/access.log"
  spawn "$T/run.log" sigma-stats run --log "$T/access.log" --state "$T/st.sqlite"
  pid=$SPAWNED_PID
  kills=0
  # Append in chunks; every third chunk, kill -9 while it is reading and start again.
  split -l 400 "$T/full.log" "$T/chunk."
  i=0
  for c in "$T"/chunk.*; do
    cat "$c" >>"$T/access.log"
    i=$((i + 1))
    if ((i % 3 == 0)); then
      sleep 0.0$((RANDOM % 9))
      kill -9 "$pid"
      wait "$pid" 2>/dev/null || true
      kills=$((kills + 1))
      spawn "$T/run.$i.log" sigma-stats run --log "$T/access.log" --state "$T/st.sqlite"
      pid=$SPAWNED_PID
    fi
  done
  ((kills >= 3))
  wait_for read_all "$T/st.sqlite" "$total"
  kill "$pid"
  wait "$pid" || true
  [[ $(lines_read "$T/st.sqlite") -eq $total ]]
  diff <(sigma-stats report --state "$T/ref.sqlite" --json --step 10s) <(sigma-stats report --state "$T/st.sqlite" --json --step 10s)
  [[ $(sigma-stats report --state "$T/st.sqlite" --json | jq '.channels.demo.views') -eq 60 ]]
}

# name{labels} value of every counter, sorted.
counters() { curl -sf "http://127.0.0.1:$1/metrics" | grep -E '^[a-z_]+_total(\{| )' | sort; }
# Every counter of $2 is in $3 and no smaller.
not_down() {
  python3 - "$1" "$2" <<'PY'
import sys
def read(p):
    d = {}
    for l in open(p):
        k, v = l.rsplit(' ', 1)
        d[k] = float(v)
    return d
a, b = read(sys.argv[1]), read(sys.argv[2])
bad = [k for k in a if k not in b or b[k] < a[k]]
print('\n'.join(bad))
sys.exit(1 if bad else 0)
PY
}

@test "/metrics passes promtool, has no session id in a label, and its counters only go up across a restart" {
  $GEN --players 20 --fallback 3 --start "$T0" --length 180 --seed 5 >"$T/full.log"
  total=$(wc -l <"$T/full.log")
  half=$((total / 2))
  head -n "$half" "$T/full.log" >"$T/access.log"
  port=$(free_port)
  spawn "$T/run1.log" sigma-stats run --log "$T/access.log" --state "$T/st.sqlite" --metrics "127.0.0.1:$port"
  pid=$SPAWNED_PID
  wait_for read_all "$T/st.sqlite" "$half"
  wait_for curl -sf -o "$T/m1.txt" "http://127.0.0.1:$port/metrics"
  promtool check metrics <"$T/m1.txt"
  ! grep -q 'P0000000' "$T/m1.txt"
  grep -q '^sigma_viewers{channel="demo"}' "$T/m1.txt"
  grep -q '^sigma_http_requests_total{channel="demo",code="200"}' "$T/m1.txt"
  counters "$port" >"$T/c1"
  kill "$pid"
  wait "$pid" || true
  spawn "$T/run2.log" sigma-stats run --log "$T/access.log" --state "$T/st.sqlite" --metrics "127.0.0.1:$port"
  pid=$SPAWNED_PID
  wait_for curl -sf -o /dev/null "http://127.0.0.1:$port/metrics"
  counters "$port" >"$T/c2"
  not_down "$T/c1" "$T/c2"
  tail -n +"$((half + 1))" "$T/full.log" >>"$T/access.log"
  wait_for read_all "$T/st.sqlite" "$total"
  counters "$port" >"$T/c3"
  not_down "$T/c2" "$T/c3"
  curl -sf "http://127.0.0.1:$port/metrics" | promtool check metrics
  grep -q '^sigma_views_total{channel="demo"} 20$' "$T/c3"
  grep -q '^sigma_sessions_fallback_total 3$' "$T/c3"
  [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/nothing") -eq 404 ]]
}

@test "bad input: garbage, truncated, future and past lines, a log rotated and truncated under it: counted, skipped, totals right" {
  $GEN --players 15 --start "$T0" --length 180 --seed 11 >"$T/good.log"
  total=$(wc -l <"$T/good.log")
  sigma-stats run --log - --state "$T/ref.sqlite" <"$T/good.log"
  a=$((total / 3)); b=$((2 * total / 3))
  good_line=$(sed -n "$((a + 1))p" "$T/good.log")
  {
    head -n "$a" "$T/good.log"
    echo 'this is not json'
    echo "${good_line:0:60}"                                # cut short
    echo '{"time":"2099-01-01T00:00:00.000Z","client":"1.2.3.4:1","path":"/demo/v0/seg-1.m4s","status":200,"bytes":9}'
    echo '{"time":"2019-05-01T00:00:00.000Z","client":"1.2.3.4:1","path":"/demo/v0/seg-1.m4s","status":200,"bytes":9}'
    printf '\x00\x01\xff binary\n'
  } >"$T/access.log"
  EVENTS_FILE=$T/events
  spawn "$T/run.log" sigma-stats --events "$T/events" run --log "$T/access.log" --state "$T/st.sqlite"
  pid=$SPAWNED_PID
  wait_for read_all "$T/st.sqlite" $((a + 5))
  # Rotation: renamed away, a new file from the next line on.
  mv "$T/access.log" "$T/access.log.1"
  sed -n "$((a + 1)),${b}p" "$T/good.log" >"$T/access.log"
  wait_for events_at_least stats.log_reset 1
  wait_for read_all "$T/st.sqlite" $((b + 5))
  # Truncation (copytruncate): emptied, then written again.
  : >"$T/access.log"
  wait_for events_at_least stats.log_reset 2
  tail -n +"$((b + 1))" "$T/good.log" >>"$T/access.log"
  wait_for read_all "$T/st.sqlite" $((total + 5))
  kill -0 "$pid"
  kill "$pid"
  wait "$pid"
  run sigma-stats report --state "$T/st.sqlite" --json
  [[ $status -eq 0 ]]
  [[ $(jq -c '.lines' <<<"$output") == '{"ok":'$total',"garbage":3,"future":1,"past":1}' ]]
  [[ $(jq '.log_resets' <<<"$output") -eq 2 ]]
  diff <(sigma-stats report --state "$T/ref.sqlite" --json | jq -S .channels) <(jq -S .channels <<<"$output")
  grep -q 'line skipped, not an access-log line' "$T/run.log"
  grep -q 'from the future' "$T/run.log"
  grep -q 'from the past' "$T/run.log"
  grep -q 'rotated under sigma-stats' "$T/run.log"
  grep -q 'truncated under sigma-stats' "$T/run.log"
}

@test "status file and top: viewers now, views and watch time today; report as a table and as CSV" {
  now=$(date +%s)
  : >"$T/access.log"
  for p in 1 2 3 4; do
    sid=LIVEPLAYER00000000000$p
    # Players 1-3 watch now; player 4 left four minutes ago.
    back=$((p == 4 ? 300 : 40))
    for ((i = 0; i <= 30; i += 2)); do
      t=$((now - back + i))
      printf '{"time":"%s","client":"192.0.2.9:4%03d","method":"GET","path":"/live/s/%s/v0/seg-%d.m4s","status":200,"bytes":1000,"duration_ms":1,"user_agent":"UA","session":"%s","session_source":"path"}\n' \
        "$(date -u -d "@$t" +%Y-%m-%dT%H:%M:%S.000Z)" "$p" "$sid" "$i" "$sid" >>"$T/access.log"
    done
  done
  sort -o "$T/access.log" "$T/access.log"
  spawn "$T/run.log" sigma-stats run --log "$T/access.log" --state "$T/st.sqlite" --status-file "$T/status.json" --session-timeout 30s
  pid=$SPAWNED_PID
  wait_for test -s "$T/status.json"
  wait_for read_all "$T/st.sqlite" 64
  kill "$pid"
  wait "$pid"
  jq . "$T/status.json"
  [[ $(jq '.channels.live.viewers' "$T/status.json") -eq 3 ]]
  [[ $(jq '.identity_fallback_sessions' "$T/status.json") -eq 0 ]]
  today_views=$(jq '.channels.live.views_today' "$T/status.json")
  # Player 4's lines may fall on yesterday (UTC) just after midnight.
  [[ $today_views -eq 4 || $(date -u -d "@$((now - 300))" +%d) != $(date -u +%d) ]]
  run sigma-stats top --status-file "$T/status.json" --once
  [[ $status -eq 0 ]]
  [[ $output =~ live[[:space:]]+3[[:space:]] ]]
  run sigma-stats top --state "$T/st.sqlite" --once
  [[ $output =~ live[[:space:]]+3[[:space:]] ]]
  run sigma-stats report --state "$T/st.sqlite"
  [[ $output == *"views                    4"* ]]
  [[ $output == *"watch time"*"120.000 s"* ]]
  run sigma-stats report --state "$T/st.sqlite" --csv
  [[ ${lines[0]} == channel,from,to,views,* ]]
  [[ $(cut -d, -f1,4,7 <<<"${lines[1]}") == "live,4,120.000" ]]
  run sigma-stats report --state "$T/st.sqlite" --channel nosuch
  [[ $status -eq 100 ]]
  run sigma-stats report --state "$T/st.sqlite" --json --csv
  [[ $status -eq 100 ]]
  run sigma-stats report --state "$T/nothing.sqlite"
  [[ $status -eq 111 ]]
}

# One curl-driven player of the real origin: the master, then its
# variant's playlist and a segment three times, under the URIs the master
# gave (s/SID/...), one address and one User-Agent for all.
curl_player() {
  local base=${1:-$BASE} m uri k
  m=$(curl -sf -A "same-UA" "$base/demo/master.m3u8") || return 1
  uri=$(grep -v '^#' <<<"$m" | head -n 1)
  [[ $uri == s/*/v0/index.m3u8 ]] || { echo "master gave '$uri'"; return 1; }
  for k in 1 2 3; do
    curl -sf -A "same-UA" -o /dev/null "$base/demo/$uri" || return 1
    curl -sf -A "same-UA" -o /dev/null "$base/demo/${uri%index.m3u8}seg-1.m4s" || return 1
    sleep 0.2
  done
}

channel_root() {
  ROOT=$T/root
  mkdir -p "$ROOT/demo/v0"
  printf '#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-STREAM-INF:BANDWIDTH=800000,CODECS="avc1.64001e"\nv0/index.m3u8\n' >"$ROOT/demo/master.m3u8"
  printf '#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:1\n#EXTINF:2.0,\nseg-1.m4s\n' >"$ROOT/demo/v0/index.m3u8"
  head -c 100000 /dev/urandom >"$ROOT/demo/v0/seg-1.m4s"
}

@test "the real sigma-origin's log: three players behind one address are three viewers; CMCD and address+UA players too" {
  command -v sigma-origin >/dev/null
  channel_root
  start_origin
  spawn "$T/stats.log" sigma-stats run --log "$T/access.log" --state "$T/st.sqlite" --root "$ROOT"
  curl_player & p1=$!
  curl_player & p2=$!
  curl_player & p3=$!
  # A player that sends a CMCD session id and no path session, and one with neither.
  for k in 1 2 3; do
    curl -sf -A "same-UA" -o /dev/null "$BASE/demo/v0/seg-1.m4s?CMCD=sid%3D%22cmcd-player-0001%22"
    curl -sf -A "same-UA" -o /dev/null "$BASE/demo/v0/seg-1.m4s"
    sleep 0.2
  done
  wait "$p1" && wait "$p2" && wait "$p3"
  n=$(wc -l <"$T/access.log")
  [[ $n -eq 27 ]]
  # The origin named three distinct path sessions of 22 characters.
  [[ $(jq -r 'select(.session_source == "path") | .session' "$T/access.log" | sort -u | grep -cE '^[A-Za-z0-9_-]{22}$') -eq 3 ]]
  wait_for read_all "$T/st.sqlite" "$n"
  run sigma-stats report --state "$T/st.sqlite" --json
  jq . <<<"$output"
  [[ $(jq '.channels.demo.views' <<<"$output") -eq 5 ]]
  [[ $(jq '.channels.demo.sessions' <<<"$output") -eq 5 ]]
  [[ $(jq '.channels.demo.fallback_sessions' <<<"$output") -eq 1 ]]
  [[ $(jq '.channels.demo.requests_by_status["200"]' <<<"$output") -eq 27 ]]
  [[ $(jq '.channels.demo.session_timeout_seconds' <<<"$output") == 6 ]]
  jq -e '.channels.demo.watch_seconds > 1.5 and .channels.demo.watch_seconds_by_track.v0 > 0' <<<"$output"
}

@test "through contrib/nginx's cache: sigma-stats on nginx's log counts three players behind one address as three, the cache sharing their segments" {
  command -v sigma-origin >/dev/null
  channel_root
  start_origin
  start_nginx
  spawn "$T/stats.log" sigma-stats run --log "$NGX_LOG" --state "$T/st.sqlite" --root "$ROOT"
  curl_player "$NGX" & p1=$!
  curl_player "$NGX" & p2=$!
  curl_player "$NGX" & p3=$!
  wait "$p1" && wait "$p2" && wait "$p3"
  wait_for test "$(wc -l <"$NGX_LOG")" -ge 21
  n=$(wc -l <"$NGX_LOG")
  [[ $n -eq 21 ]]
  # The cache answered segments itself: the origin saw fewer.
  (( $(jq -c 'select(.cache == "HIT")' "$NGX_LOG" | wc -l) >= 3 ))
  (( $(jq -c 'select(.path | endswith("seg-1.m4s"))' "$T/access.log" | wc -l) < 9 ))
  wait_for read_all "$T/st.sqlite" "$n"
  run sigma-stats report --state "$T/st.sqlite" --json
  jq . <<<"$output"
  [[ $(jq '.channels.demo.views' <<<"$output") -eq 3 ]]
  [[ $(jq '.channels.demo.sessions' <<<"$output") -eq 3 ]]
  [[ $(jq '.channels.demo.fallback_sessions' <<<"$output") -eq 0 ]]
  [[ $(jq '.lines.garbage + .lines.future + .lines.past' <<<"$output") -eq 0 ]]
  [[ $(jq '.channels.demo.requests' <<<"$output") -eq 21 ]]
}

@test "a FIFO: writers come and go, every line is counted once" {
  $GEN --players 8 --start "$T0" --length 120 --seed 2 >"$T/full.log"
  total=$(wc -l <"$T/full.log")
  sigma-stats run --log - --state "$T/ref.sqlite" <"$T/full.log"
  mkfifo "$T/access.fifo"
  spawn "$T/run.log" sigma-stats run --log "$T/access.fifo" --state "$T/st.sqlite"
  half=$((total / 2))
  # Two writers one after the other, each opening and closing the FIFO.
  head -n "$half" "$T/full.log" >"$T/access.fifo"
  wait_for read_all "$T/st.sqlite" "$half"
  tail -n +"$((half + 1))" "$T/full.log" >"$T/access.fifo"
  wait_for read_all "$T/st.sqlite" "$total"
  kill -0 "$SPAWNED_PID"
  [[ $(lines_read "$T/st.sqlite") -eq $total ]]
  diff <(sigma-stats report --state "$T/ref.sqlite" --json) <(sigma-stats report --state "$T/st.sqlite" --json)
}
