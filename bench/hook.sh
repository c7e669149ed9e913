#!/usr/bin/env bash
# sigma-hook's figures (issue 16):
#   1. N events (default 10,000) on 8 channels to a local receiver
#      (tests/bats/hook_receiver.py, Python's ThreadingHTTPServer, which may
#      be the bottleneck: its own CPU is printed beside): deliveries per
#      second, wall from start to the last delivery, and sigma-hook's CPU
#      (user+sys from /proc) per delivery;
#   2. 100,000 pending (the receiver's port closed): sigma-hook's resident
#      memory (VmRSS, VmHWM) once all are in the outbox. Target < 30 MB.
#   --down: also runs hook.bats's "receiver down" test with the receiver
#      down for two minutes (HOOK_DOWN_SECS=120) instead of the suite's 15 s.
#
# Usage: bench/hook.sh [--down] [N]   (binaries from PATH, else build/bin)
set -euo pipefail
cd "$(dirname "$0")/.."
DOWN=0
if [[ ${1:-} == --down ]]; then DOWN=1; shift; fi
N=${1:-10000}
bin() { command -v "$1" || echo "build/bin/$1"; }
HOOK=$(bin sigma-hook)
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]:-}"; do [[ -n $p ]] && kill "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
mem_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
events() {  # events N FILE: N events over 8 channels
  python3 - "$1" "$2" <<'PY'
import json, sys, uuid
n, path = int(sys.argv[1]), sys.argv[2]
with open(path, "a") as f:
    for i in range(n):
        f.write(json.dumps({"id": str(uuid.uuid4()), "time": "2026-12-03T10:00:00.000Z", "tool": "bench",
                            "type": "stream.started", "channel": "ch%d" % (i % 8), "seq": i}) + "\n")
PY
}
echo "whsec_$(head -c 32 /dev/urandom | base64)" >"$WORK/secret"
HZ=$(getconf CLK_TCK)

# 1. throughput
python3 tests/bats/hook_receiver.py --port-file "$WORK/port" --log "$WORK/recv.log" --quiet-log &
RECV=$!
PIDS+=("$RECV")
for _ in $(seq 100); do [[ -s $WORK/port ]] && break; sleep 0.1; done
cat >"$WORK/hooks.conf" <<CONF
[subscription bench]
url = http://127.0.0.1:$(cat "$WORK/port")/bench
secret_file = $WORK/secret
concurrency = 8
CONF
events "$N" "$WORK/events"
t0=$(date +%s.%N)
"$HOOK" --log-level warn run --config "$WORK/hooks.conf" --state "$WORK/state.sqlite" --events-in "$WORK/events" &
HP=$!
PIDS+=("$HP")
r0=$(cpu_ticks "$RECV")
until (($(wc -l <"$WORK/recv.log") >= N)); do sleep 0.05; done
t1=$(date +%s.%N)
hc=$(cpu_ticks "$HP")
rc=$(($(cpu_ticks "$RECV") - r0))
hwm=$(mem_kb "$HP" VmHWM)
kill "$HP"
wait "$HP" || true
uniq=$(sort -u <(python3 -c "import json,sys; [print(json.loads(l)['id']) for l in open(sys.argv[1])]" "$WORK/recv.log") | wc -l)
python3 - "$N" "$t0" "$t1" "$hc" "$rc" "$HZ" "$hwm" "$uniq" <<'PY'
import sys
n, t0, t1, hc, rc, hz, hwm, uniq = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7]), int(sys.argv[8])
wall = t1 - t0
print(f"throughput: {n} events, {uniq} distinct ids received, {wall:.2f} s wall: {n / wall:.0f} deliveries/s")
print(f"  sigma-hook CPU {hc / hz:.2f} s = {hc / hz / n * 1e6:.0f} us per delivery; peak RSS {hwm / 1024:.1f} MB")
print(f"  receiver (python) CPU {rc / hz:.2f} s = {rc / hz / n * 1e6:.0f} us per request")
PY
kill "$RECV" 2>/dev/null || true

# 2. memory with 100,000 pending
P=100000
cat >"$WORK/down.conf" <<CONF
[subscription down]
url = http://127.0.0.1:1/down
secret_file = $WORK/secret
backoff_initial = 1h
concurrency = 8
CONF
rm -f "$WORK/events2"
events "$P" "$WORK/events2"
"$HOOK" --log-level warn run --config "$WORK/down.conf" --state "$WORK/state2.sqlite" --events-in "$WORK/events2" &
HP=$!
PIDS+=("$HP")
pending() { "$HOOK" status --config "$WORK/down.conf" --state "$WORK/state2.sqlite" --json 2>/dev/null |
  python3 -c "import json,sys; print(json.load(sys.stdin)['subscriptions'][0]['pending'])" 2>/dev/null || echo 0; }
until (($(pending) >= P)); do sleep 0.5; done
sleep 1
echo "pending: $(pending) in the outbox ($(du -h "$WORK/state2.sqlite" | cut -f1) on disk)"
echo "  sigma-hook VmRSS $(($(mem_kb "$HP" VmRSS) / 1024)) MB, VmHWM $(($(mem_kb "$HP" VmHWM) / 1024)) MB (target < 30 MB)"
kill "$HP"
wait "$HP" || true

if ((DOWN)); then
  echo "receiver down for 120 s during a burst (hook.bats, HOOK_DOWN_SECS=120):"
  PATH=$(dirname "$HOOK"):$PATH HOOK_DOWN_SECS=120 bats -f "receiver down" tests/bats/hook.bats
fi
