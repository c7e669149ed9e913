#!/usr/bin/env bats
# sigma-test: serial (the players test holds CCU at 10 s steps and views against a 6 s session timeout, and the bitrate in /metrics to 20 %: a starved player or source miscounts beside other files)
# sigma-stats under sigma-supervisor (stats = yes), and viewer counts that
# are right for real players: hls.js tabs in one Chromium and curl-driven
# live players, all from 127.0.0.1 with one User-Agent, joining and leaving
# on a known schedule, counted straight from the origin's access log and,
# at the same time, through the nginx cache of contrib/nginx from nginx's
# own access log. The supervisor's sigma-stats is killed -9 half way and
# restarted by it. The supervisor's /metrics passes promtool.
load helpers
load supervisor_helpers

UA="SigmaTestPlayer/1.0 (one address, one User-Agent)"
TIMEOUT_S=6   # stats.session_timeout: three 2 s target durations (mode = low)

@test "stats = yes: --dry-run shows one sigma-stats for every channel; without access_log it is exit 100 at the line" {
  conf "origin = 127.0.0.1:$(free_port)" "access_log = $T/log/access.log" "stats = yes" "stats.metrics = 127.0.0.1:9991"
  channel one "$FAKE_SOURCE"
  channel two "$FAKE_SOURCE"
  run sigma-supervisor -c "$T/sv.conf" --dry-run
  echo "$output"
  [[ $status -eq 0 ]]
  [[ $(grep -c '^[^#]*sigma-stats run ' <<<"$output") -eq 1 ]]
  grep -q -- "sigma-stats run --log $T/log/access.log --state $T/log/stats.sqlite --root $T/out --status-file $T/run/stats-status.json --metrics 127.0.0.1:9991" <<<"$output"
  conf "origin = 127.0.0.1:$(free_port)" "stats = yes"
  run sigma-supervisor -c "$T/sv.conf" --dry-run
  echo "$output"
  [[ $status -eq 100 ]]
  grep -q "sv.conf:7: stats = yes needs \[global\] access_log = FILE" <<<"$output"
}

# stats_status SECONDS_AGO JSON_CHANNELS [FALLBACK]: what sigma-stats would
# write to its status file.
stats_status() {
  printf '{"time":"%s","channels":%s,"identity_fallback_sessions":%s}\n' \
    "$(date -u -d "-$1 seconds" +%Y-%m-%dT%H:%M:%S.000Z)" "$2" "${3:-0}" >"$T/run/stats-status.json.tmp"
  mv "$T/run/stats-status.json.tmp" "$T/run/stats-status.json"
}

@test "viewers in /status and in the status table are sigma-stats's status file's, never a stale one's" {
  conf "origin = 127.0.0.1:$(free_port)" "access_log = $T/log/access.log" "stats = yes" "stats.metrics = off" \
    "stats.command = sleep 600"
  channel tv "$FAKE_SOURCE" "$FAKE_PACKAGE"
  channel idle "$FAKE_SOURCE" "$FAKE_PACKAGE"
  start_sv
  [[ $(status_json | jq '.stats.current') == false && $(status_json | jq '.channels[0].viewers') == null ]]
  stats_status 1 '{"tv":{"viewers":7,"views_today":20,"watch_seconds_today":1234.5}}' 2
  [[ $(status_json | jq -c '[.stats.current, .stats.identity_fallback_sessions, (.channels[] | [.name, .viewers, .views_today, .watch_seconds_today])]') == \
    '[true,2,["idle",0,0,0],["tv",7,20,1234.5]]' ]]
  sigma-supervisor -c "$T/sv.conf" status >"$T/table.txt" || true
  cat "$T/table.txt"
  grep -E '^tv +package .* 7$' "$T/table.txt"
  grep -E '^idle +package .* 0$' "$T/table.txt"
  grep -qx 'viewers: 2 sessions counted by address + User-Agent (they sent no session id)' "$T/table.txt"
  # sigma-stats stuck or gone: its last count is not shown as the present one.
  stats_status 60 '{"tv":{"viewers":7,"views_today":20,"watch_seconds_today":1234.5}}'
  [[ $(status_json | jq -c '[.stats.current, (.channels[] | .viewers)]') == '[false,null,null]' ]]
  sigma-supervisor -c "$T/sv.conf" status >"$T/table.txt" || true
  grep -E '^tv +package .* -$' "$T/table.txt"
  grep -q "^viewers: - (sigma-stats has written no current $T/run/stats-status.json)" "$T/table.txt"
}

@test "the supervisor's /metrics: stage up, restarts, input bitrate and last segment age in the Prometheus text format (promtool)" {
  local ts op m
  ts=$(make_ts stats-players 150)
  op=$(free_port)
  conf "origin = 127.0.0.1:$op"
  channel tv "input = exec ffmpeg -nostdin -loglevel error -re -i $ts -c copy -f mpegts -" "mode = low"
  start_sv
  WAIT_SECS=20 wait_for bash -c "curl -s '$HEALTH/status' | jq -e '.channels[0].last_segment_age_s != null and .channels[0].input_kbps != null'" ||
    { cat "$T/sv.log"; return 1; }
  m=$(curl -s "$HEALTH/metrics")
  echo "$m"
  promtool check metrics <<<"$m"
  grep -qx 'sigma_stage_up{channel="tv",stage="package"} 1' <<<"$m"
  grep -qx 'sigma_stage_up{stage="origin"} 1' <<<"$m"
  grep -qx 'sigma_channel_up{channel="tv"} 1' <<<"$m"
  # The figures /status shows, in the units the names say.
  local kbps age
  kbps=$(status_json | jq '.channels[0].input_kbps')
  awk -v k="$kbps" '$1 == "sigma_channel_input_bytes_per_second{channel=\"tv\"}" { d = $2 - k * 125; exit !(d < k * 25 && d > -k * 25 && $2 > 10000) }' <<<"$m"
  age=$(grep '^sigma_channel_last_segment_age_seconds{channel="tv"}' <<<"$m" | cut -d' ' -f2)
  awk -v a="$age" 'BEGIN { exit !(a >= 0 && a < 10) }'
  # A restart is counted.
  kill -9 "$(stage_field tv/package pid)"
  WAIT_SECS=15 wait_for bash -c "curl -s '$HEALTH/metrics' | grep -qx 'sigma_stage_restarts_total{channel=\"tv\",stage=\"package\"} 1'"
  curl -s "$HEALTH/metrics" | promtool check metrics
}

# One player: play CHANNEL through BASE from JOIN to LEAVE (seconds after
# T0), curl-driven.
curl_player() {
  local base=$1 ch=$2 join=$3 leave=$4
  spawn /dev/null bash -c "sleep \$(awk -v t=$((T0 + join)) -v n=\$(date +%s%3N) 'BEGIN { d = (t - n) / 1000; print (d > 0 ? d : 0) }');
    '$BATS_TEST_DIRNAME/curl_player.sh' '$base/$ch/master.m3u8' $(((leave - join) / 1000)) '$UA' '$T/players.jsonl'"
  PLAYERS+=("$SPAWNED_PID")
}

@test "players from one address and one User-Agent (hls.js in Chromium, curl) on a schedule: CCU at each 10 s step, views and watch time against the truth, direct and through the nginx cache" {
  local ts op mp nmp g
  ts=$(make_ts stats-players 150)
  op=$(free_port) mp=$(free_port) nmp=$(free_port)
  conf "origin = 127.0.0.1:$op" "access_log = $T/log/access.log" "stats = yes" "stats.metrics = 127.0.0.1:$mp" \
    "stats.session_timeout = ${TIMEOUT_S}s"
  for g in direct cached; do
    channel $g "input = exec ffmpeg -nostdin -loglevel error -re -i $ts -c copy -f mpegts -" "mode = low"
  done
  start_sv
  # contrib/nginx in front of the origin (helpers.bash): NGX, NGX_LOG.
  PORT=$op start_nginx
  # sigma-stats on nginx's log: what a cache in front of the origin sees.
  spawn "$T/nginx-stats.log" sigma-stats run --log "$NGX_LOG" --state "$T/nginx-stats.sqlite" --root "$T/out" \
    --status-file "$T/nginx-stats.json" --session-timeout ${TIMEOUT_S}s --metrics "127.0.0.1:$nmp"
  for g in direct cached; do
    WAIT_SECS=25 wait_for curl -sf "http://127.0.0.1:$op/$g/master.m3u8" || { cat "$T/sv.log"; return 1; }
  done
  WAIT_SECS=15 wait_for bash -c "curl -s '$HEALTH/status' | jq -e '.stats.current'" || { cat "$T/sv.log"; return 1; }
  WAIT_SECS=15 wait_for test -s "$T/nginx-stats.json" || { cat "$T/nginx-stats.log"; return 1; }

  # The schedule (ms after T0): joins and leaves 3 s after a 10 s step, so
  # that a step is clear of a player's first and last requests.
  T0=$(($(date +%s%3N) + 8000))
  PLAYERS=()
  local sched='[' sep= base j l
  for g in direct cached; do
    [[ $g == direct ]] && base=http://127.0.0.1:$op || base=$NGX
    for jl in 3000:83000 13000:63000 23000:93000; do
      j=${jl%:*} l=${jl#*:}
      sched+="$sep{\"url\":\"$base/$g/master.m3u8\",\"join_ms\":$((T0 + j)),\"leave_ms\":$((T0 + l))}"
      sep=,
    done
    for jl in 3000:93000 3000:43000 13000:73000 23000:53000 33000:83000 43000:93000 53000:73000 63000:93000; do
      curl_player "$base" $g "${jl%:*}" "${jl#*:}"
    done
  done
  echo "$sched]" >"$T/schedule.json"
  spawn "$T/viewers.log" node "$BATS_TEST_DIRNAME/../browser/viewers.js" "$T/schedule.json" "$UA" "$T/players.jsonl"
  PLAYERS+=("$SPAWNED_PID")

  # What the counters show live, every second, until just past the 100 s step.
  # Half way, sigma-stats is killed -9 under the supervisor, which starts
  # it again: no view may be lost or counted twice, no counter go down.
  local until=$((T0 + 101000)) killed= views_before
  while (($(date +%s%3N) < until)); do
    if [[ -z $killed ]] && (($(date +%s%3N) > T0 + 45000)); then
      views_before=$(curl -s "http://127.0.0.1:$mp/metrics" | awk '$1 == "sigma_views_total{channel=\"direct\"}" { print $2 }')
      killed=$(stage_field stats pid)
      kill -9 "$killed"
    fi
    curl -s "$HEALTH/status" | jq -c '{group: "direct", source: "live", time: .stats.time,
      viewers: (.channels[] | select(.name == "direct") | .viewers)}' >>"$T/samples.jsonl"
    jq -c '{group: "cached", source: "live", time: .time, viewers: (.channels.cached.viewers // 0)}' \
      "$T/nginx-stats.json" >>"$T/samples.jsonl" 2>/dev/null
    sleep 1
  done
  local p failed=0
  for p in "${PLAYERS[@]}"; do wait "$p" || failed=1; done
  cat "$T/viewers.log"
  cat "$T/players.jsonl"
  [[ $(wc -l <"$T/players.jsonl") -eq 22 ]]
  ((failed == 0))
  [[ $(stage_field stats restarts) -eq 1 && $(stage_field stats state) == up && $(stage_field stats pid) != "$killed" ]]
  echo "sigma_views_total{channel=\"direct\"} before the kill: $views_before"
  ((views_before >= 8))

  # The CCU at each step, views and watch time, from each state.
  local from to state
  from=$(awk -v t=$T0 'BEGIN { printf "%.3f", t / 1000 + 10 }') to=$(awk -v t=$T0 'BEGIN { printf "%.3f", t / 1000 + 100.5 }')
  for g in direct cached; do
    [[ $g == direct ]] && state=$T/log/stats.sqlite || state=$T/nginx-stats.sqlite
    sigma-stats report --state "$state" --channel $g --json >"$T/report-$g.json"
    sigma-stats report --state "$state" --channel $g --from "$from" --to "$to" --step 10s --json |
      jq -c --arg g $g '.channels[$g].ccu[] | {group: $g, source: "report", time, viewers}' >>"$T/samples.jsonl"
  done
  jq -n --slurpfile d "$T/report-direct.json" --slurpfile c "$T/report-cached.json" '{
    direct: {views: $d[0].channels.direct.views, watch_seconds: $d[0].channels.direct.watch_seconds},
    cached: {views: $c[0].channels.cached.views, watch_seconds: $c[0].channels.cached.watch_seconds}}' >"$T/final.json"
  cat "$T/final.json"
  for g in direct cached; do
    jq -c --arg g $g '.channels[$g] | {channel: $g, views, sessions, fallback_sessions, watch_seconds, watch_seconds_by_track, peak_ccu}' \
      "$T/report-$g.json" | tee -a "$T/truth-extra.txt"
  done
  # The table goes to the terminal too with SIGMA_SHOW_FIGURES=1.
  local truth_rc=0
  python3 "$BATS_TEST_DIRNAME/stats_truth.py" "$T/players.jsonl" "$T/samples.jsonl" "$T/final.json" "$T0" "$TIMEOUT_S" \
    direct cached >"$T/truth.txt" || truth_rc=$?
  cat "$T/truth.txt"
  if [[ -n ${SIGMA_SHOW_FIGURES:-} ]]; then cat "$T/truth.txt" "$T/truth-extra.txt" >&3; fi
  ((truth_rc == 0))
  # /status and the status file say the same views.
  [[ $(status_json | jq '.channels[] | select(.name == "direct") | .views_today') == $(jq .direct.views "$T/final.json") ]]
  [[ $(jq .channels.cached.views_today "$T/nginx-stats.json") == $(jq .cached.views "$T/final.json") ]]

  # The same views in Prometheus; no session id in any label.
  local m
  m=$(curl -s "http://127.0.0.1:$mp/metrics")
  promtool check metrics <<<"$m"
  grep -qx 'sigma_views_total{channel="direct"} 11' <<<"$m"
  curl -s "http://127.0.0.1:$nmp/metrics" | grep -qx 'sigma_views_total{channel="cached"} 11'
  ! grep -q 'session' <<<"$(grep -v '^#' <<<"$m" | grep -o '{.*}')"
  # Every session ends by its timeout: 0 viewers in /status, and in the
  # VIEWERS column of sigma-supervisor status.
  WAIT_SECS=20 wait_for bash -c "curl -s '$HEALTH/status' | jq -e '.channels[] | select(.name == \"direct\") | .viewers == 0'"
  sigma-supervisor -c "$T/sv.conf" status >"$T/table.txt"
  cat "$T/table.txt"
  grep -E '^direct +package .* 0$' "$T/table.txt"
}
