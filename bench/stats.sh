#!/usr/bin/env bash
# sigma-stats's figures (issue 15), side by side in one run:
#   1. throughput: N access-log lines (default 1,000,000: 2,000 sessions of
#      500 requests, playlists and segments) counted by sigma-stats
#      (run --log - into a new state) and by GoAccess (Debian's goaccess,
#      the same requests written as COMBINED, JSON report): lines per CPU
#      second (user+sys) of each and their ratio (target >= 1.0);
#   2. memory: 100,000 concurrent sessions (6 requests each, round robin,
#      so all are open at once): sigma-stats's peak resident memory
#      (target < 200 MB);
#   3. accuracy: a log from a known schedule (tests/bats/stats_schedule.py:
#      P players, one address and User-Agent, joining and leaving at known
#      times): counted views, peak CCU, the CCU at every 10 s step and watch
#      time beside the truth.
#
# Usage: bench/stats.sh [N [P]]   (binaries from PATH, else build/bin)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
P=${2:-50}
bin() { command -v "$1" || echo "build/bin/$1"; }
STATS=$(bin sigma-stats)
GEN="python3 tests/bats/stats_schedule.py"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
T0=$(( $(date +%s) - 7200 ))
SESSIONS=2000
REQS=$(( N / SESSIONS ))

# cpu CMD... : runs it, prints "cpu_seconds max_rss_kb" (from /usr/bin/time).
cpu() {
  /usr/bin/time -f '%U %S %M' -o "$WORK/time" "$@" >/dev/null 2>"$WORK/err" || { cat "$WORK/err" >&2; return 1; }
  awk '{ printf "%.3f %d\n", $1 + $2, $3 }' "$WORK/time"
}

echo "== throughput: $((SESSIONS * REQS)) lines, $SESSIONS sessions"
$GEN --start "$T0" --sessions "$SESSIONS" --requests "$REQS" >"$WORK/access.ndjson"
$GEN --start "$T0" --sessions "$SESSIONS" --requests "$REQS" --format combined >"$WORK/access.combined"
lines=$(wc -l <"$WORK/access.ndjson")
printf 'log sizes: NDJSON %s, COMBINED %s\n' "$(du -h "$WORK/access.ndjson" | cut -f1)" "$(du -h "$WORK/access.combined" | cut -f1)"
read -r s_cpu s_rss < <(cpu "$STATS" --log-level warn run --log - --state "$WORK/st.sqlite" <"$WORK/access.ndjson")
read -r g_cpu g_rss < <(cpu goaccess "$WORK/access.combined" --log-format=COMBINED --no-global-config -o "$WORK/goaccess.json")
views=$("$STATS" report --state "$WORK/st.sqlite" --json | jq '.channels.demo.views')
counted=$(sqlite3 "file:$WORK/st.sqlite?mode=ro" "SELECT value FROM meta WHERE key = 'lines_ok'")
[[ $counted -eq $lines ]] || { echo "sigma-stats counted $counted lines of $lines" >&2; exit 1; }
awk -v l="$lines" -v s="$s_cpu" -v g="$g_cpu" -v sr="$s_rss" -v gr="$g_rss" -v v="$views" 'BEGIN {
  printf "sigma-stats  %6.2f CPU s  %10.0f lines/CPU s  max RSS %4d MB  (all lines counted, views %d)\n", s, l / s, sr / 1024, v
  printf "goaccess     %6.2f CPU s  %10.0f lines/CPU s  max RSS %4d MB\n", g, l / g, gr / 1024
  printf "ratio sigma-stats / goaccess (lines per CPU second): %.2f (target >= 1.0)\n", g / s
}'

echo "== memory: 100,000 concurrent sessions"
$GEN --start "$T0" --sessions 100000 --requests 6 >"$WORK/many.ndjson"
read -r m_cpu m_rss < <(cpu "$STATS" --log-level warn run --log - --state "$WORK/many.sqlite" <"$WORK/many.ndjson")
open=$(sqlite3 "file:$WORK/many.sqlite?mode=ro" 'SELECT count(*) FROM sessions WHERE open = 1')
printf 'sigma-stats max RSS %d MB with %d sessions open at the end (%d lines, %.2f CPU s; target < 200 MB)\n' \
  $((m_rss / 1024)) "$open" "$(wc -l <"$WORK/many.ndjson")" "$m_cpu"

echo "== accuracy: $P players on a known schedule (one address, one User-Agent; 2 s segments)"
$GEN --players "$P" --start "$T0" --length 600 --seed 42 --truth "$WORK/truth.json" >"$WORK/sched.ndjson"
"$STATS" --log-level warn run --log - --state "$WORK/sched.sqlite" <"$WORK/sched.ndjson"
from=$(jq -r '.ccu[0].time' "$WORK/truth.json")
to=$(jq -r '.ccu[-1].time' "$WORK/truth.json")
"$STATS" report --state "$WORK/sched.sqlite" --from "$from" --to "$to" --step 10s --json >"$WORK/steps.json"
"$STATS" report --state "$WORK/sched.sqlite" --json >"$WORK/all.json"
python3 - "$WORK/truth.json" "$WORK/steps.json" "$WORK/all.json" <<'PY'
import json, sys
truth, steps, allr = (json.load(open(p)) for p in sys.argv[1:4])
d, a = steps['channels']['demo'], allr['channels']['demo']
tc = [c['viewers'] for c in truth['ccu']]
gc = [c['viewers'] for c in d['ccu']]
diff = sum(1 for x, y in zip(tc, gc) if x != y)
print('%-34s %10s %10s' % ('', 'counted', 'truth'))
print('%-34s %10d %10d' % ('views', a['views'], truth['views']))
print('%-34s %10d %10d' % ('peak CCU', a['peak_ccu'], truth['peak_ccu']))
print('%-34s %10s %10d' % ('CCU steps (10 s) that differ', diff, len(tc)))
print('%-34s %10.1f %10.1f' % ('watch s (first-last media request)', a['watch_seconds'], truth['watch_seconds']))
print('%-34s %10.1f %10.1f  (%+.2f %%)' % ('watch s vs played (start-stop)', a['watch_seconds'], truth['played_seconds'],
      100.0 * (a['watch_seconds'] - truth['played_seconds']) / truth['played_seconds']))
PY
