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
#      time beside the truth;
#   4. accuracy against a real sigma-origin: P2 players (default 10, Python
#      threads, one address and one User-Agent) on a known schedule over
#      about 75 s follow the master's s/SID/ URIs of a real sigma-origin
#      (a playlist and a 2 s segment every 2 s); the origin's access log
#      counted by sigma-stats beside what the players did.
#
# Usage: bench/stats.sh [N [P [P2]]]   (binaries from PATH, else build/bin)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
P=${2:-50}
P2=${3:-10}
bin() { command -v "$1" || echo "build/bin/$1"; }
STATS=$(bin sigma-stats)
GEN="python3 tests/bats/stats_schedule.py"
WORK=$(mktemp -d)
ORIGIN_PID=
trap '[[ -n $ORIGIN_PID ]] && kill "$ORIGIN_PID" 2>/dev/null; rm -rf "$WORK"' EXIT
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
g_valid=$(jq '.general.valid_requests' "$WORK/goaccess.json")
[[ $g_valid -eq $lines ]] || { echo "goaccess read $g_valid valid requests of $lines" >&2; exit 1; }
views=$("$STATS" report --state "$WORK/st.sqlite" --json | jq '.channels.demo.views')
counted=$(sqlite3 "file:$WORK/st.sqlite?mode=ro" "SELECT value FROM meta WHERE key = 'lines_ok'")
[[ $counted -eq $lines ]] || { echo "sigma-stats counted $counted lines of $lines" >&2; exit 1; }
awk -v l="$lines" -v s="$s_cpu" -v g="$g_cpu" -v sr="$s_rss" -v gr="$g_rss" -v v="$views" 'BEGIN {
  printf "sigma-stats  %6.2f CPU s  %10.0f lines/CPU s  max RSS %4d MB  (all lines counted, views %d)\n", s, l / s, sr / 1024, v
  printf "goaccess     %6.2f CPU s  %10.0f lines/CPU s  max RSS %4d MB  (all lines valid requests)\n", g, l / g, gr / 1024
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

echo "== accuracy against a real sigma-origin: $P2 players, one address and User-Agent"
ROOT=$WORK/root
mkdir -p "$ROOT/demo/v0"
printf '#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-STREAM-INF:BANDWIDTH=800000,CODECS="avc1.64001e"\nv0/index.m3u8\n' >"$ROOT/demo/master.m3u8"
printf '#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:1\n#EXTINF:2.0,\nseg-1.m4s\n' >"$ROOT/demo/v0/index.m3u8"
head -c 200000 /dev/urandom >"$ROOT/demo/v0/seg-1.m4s"
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$(bin sigma-origin)" --log-level warn --listen "127.0.0.1:$PORT" --root "$ROOT" --access-log "$WORK/origin.log" &
ORIGIN_PID=$!
for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/_channels" && break; sleep 0.1; done
: >"$WORK/origin.log"
python3 - "$PORT" "$P2" "$WORK/players.json" <<'PY'
import json, sys, threading, time, urllib.request
port, n, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
base = 'http://127.0.0.1:%d/demo/' % port
def get(path):
    req = urllib.request.Request(base + path, headers={'User-Agent': 'bench-player'})
    with urllib.request.urlopen(req) as r:
        return r.read()
t0 = time.time() + 1
res = [None] * n
def player(i):
    start, length = t0 + 3 * i, 20 + (i * 7) % 25
    time.sleep(max(0, start - time.time()))
    first = time.time()
    uri = [l for l in get('master.m3u8').decode().splitlines() if l and not l.startswith('#')][0]
    segs = []
    last = first
    while True:
        now = time.time()
        if now > start + length:
            break
        get(uri)
        segs.append(time.time())
        get(uri.replace('index.m3u8', 'seg-1.m4s'))
        last = time.time()
        time.sleep(max(0, 2.0 - (time.time() - now)))
    res[i] = {'first': first, 'last': last, 'first_seg': segs[0], 'last_seg': segs[-1], 'played': last - first}
ts = [threading.Thread(target=player, args=(i,)) for i in range(n)]
for t in ts: t.start()
for t in ts: t.join()
json.dump(res, open(out, 'w'))
PY
sleep 0.5
kill "$ORIGIN_PID"; wait "$ORIGIN_PID" 2>/dev/null || true; ORIGIN_PID=
"$STATS" --log-level warn run --log - --state "$WORK/real.sqlite" --root "$ROOT" <"$WORK/origin.log"
python3 - "$WORK/players.json" "$STATS" "$WORK/real.sqlite" <<'PY'
import json, subprocess, sys, datetime
players, stats, state = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
iso = lambda t: datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3] + 'Z'
t0 = int(min(p['first'] for p in players)) + 1
t1 = int(max(p['last'] for p in players))
r = json.loads(subprocess.check_output([stats, 'report', '--state', state, '--json']))['channels']['demo']
s = json.loads(subprocess.check_output([stats, 'report', '--state', state, '--json', '--step', '10s',
                                        '--from', iso(t0), '--to', iso(t1)]))['channels']['demo']
steps = [(c['time'], c['viewers']) for c in s['ccu']]
truth = [sum(1 for p in players if p['first'] <= t0 + 10 * k <= p['last']) for k in range(len(steps))]
diff = sum(1 for (t, v), w in zip(steps, truth) if v != w)
played = sum(p['played'] for p in players)
print('%-34s %10s %10s' % ('', 'counted', 'truth'))
print('%-34s %10d %10d' % ('views', r['views'], len(players)))
print('%-34s %10d %10d' % ('sessions (fallback: %d)' % r['fallback_sessions'], r['sessions'], len(players)))
print('%-34s %10d %10s' % ('CCU steps (10 s) that differ', diff, len(steps)))
print('CCU counted %s' % [v for _, v in steps])
print('CCU truth   %s' % truth)
print('%-34s %10.1f %10.1f  (%+.2f %%)' % ('watch s vs played (first-last req)', r['watch_seconds'], played,
      100.0 * (r['watch_seconds'] - played) / played))
PY
