#!/usr/bin/env python3
"""Counted viewer figures beside the truth, for stats_players.bats.

  stats_truth.py REPORTS.jsonl SAMPLES.jsonl FINAL.json T0_MS TIMEOUT_S GROUP...

REPORTS: one line per player (curl_player.sh, viewers.js): master URL,
join_ms, leave_ms (the truth: when it was opened and closed) and
first_media_ms (when its first segment arrived: it plays from then on).
SAMPLES: counts, one per line: {"group": G, "source": S, "time": ISO time
the count holds for, "viewers": N}, where S is "report" (sigma-stats
report --step: CCU exactly at a step, a session active from its first to
its last request) or "live" (the viewers of /status or the status file,
read every second: a session is still there until the timeout after its
last request). FINAL: {G: {"views": N, "watch_seconds": X}} once every
session ended. A group is the channel name in the players' URLs.

At each 10 s step after T0 a count is compared with the players open then.
A report step is held unless a player joined in the 3.5 s before it (its
first request may come that late) or leaves in the second after it (its
last request may come before the step). A live count is the last read of
the 2.5 s before a step; it is held unless a player joined in the 3.5 s
before it or left within the session timeout + 5.5 s before it: the
documented timeout at each end, and the 5 s sigma-stats's live view
stays behind the clock while the log is quiet. Views must equal the
players; watch time must be within 5 % of the time the players played
(first segment to close, less the waits between two segments longer than
the timeout, which the definition cuts: a stall is not play; the time
they were open is printed beside it). Prints a table;
exits 1 on any miss.
"""
import datetime
import json
import sys

JOIN_GRACE_MS = 3500
REPORT_LEAVE_GRACE_MS = 1000
LIVE_LEAVE_GRACE_MS = 5500
WANT_HELD = {'report': 8, 'live': 3}


def parse_time(s):
    return datetime.datetime.fromisoformat(s.replace('Z', '+00:00')).timestamp() * 1000


def main():
    reports_f, samples_f, final_f, t0, timeout = sys.argv[1:6]
    groups = sys.argv[6:]
    t0, timeout_ms = int(t0), float(timeout) * 1000
    players = [json.loads(l) for l in open(reports_f) if l.strip()]
    samples = [json.loads(l) for l in open(samples_f) if l.strip()]
    final = json.load(open(final_f))
    ok = True
    for g in groups:
        mine = [p for p in players if '/%s/' % g in p['master']]
        truth_views = len(mine)
        open_s = sum(p['leave_ms'] - p['join_ms'] for p in mine) / 1000
        stalls = sum(g for p in mine for g in p.get('media_gaps_ms', []) if g > timeout_ms) / 1000
        truth_watch = sum(p['leave_ms'] - (p.get('first_media_ms') or p['join_ms']) for p in mine) / 1000 - stalls
        print('%s: %d players (%s)' % (g, truth_views, ', '.join(
            '%d %s' % (sum(1 for p in mine if p['player'] == k), k) for k in sorted({p['player'] for p in mine}))))
        last = max(p['leave_ms'] for p in mine)
        steps = []
        t = t0 + 10000
        while t <= last + 10000:
            steps.append(t)
            t += 10000
        for source in ('report', 'live'):
            pts = sorted((parse_time(s['time']), s['viewers']) for s in samples
                         if s.get('group') == g and s.get('source') == source and s.get('time')
                         and s.get('viewers') is not None)
            print('  %-6s step  at(s)  counted  truth  held' % source)
            held_n = 0
            for t in steps:
                if source == 'report':
                    near = [pt for pt in pts if abs(pt[0] - t) < 1]
                else:
                    near = [pt for pt in pts if t - 2500 <= pt[0] <= t + 500]
                if not near:
                    print('  %6s %4d      -        -      -  no count' % ('', (t - t0) / 1000))
                    continue
                at, counted = near[-1]
                truth = sum(1 for p in mine if p['join_ms'] <= at < p['leave_ms'])
                joining = any(at - JOIN_GRACE_MS < p['join_ms'] <= at for p in mine)
                if source == 'report':
                    leaving = any(at < p['leave_ms'] <= at + REPORT_LEAVE_GRACE_MS for p in mine)
                else:
                    leaving = any(at - timeout_ms - LIVE_LEAVE_GRACE_MS < p['leave_ms'] <= at for p in mine)
                held = 'no (a join or leave)' if joining or leaving else 'yes'
                if held == 'yes':
                    held_n += 1
                    if counted != truth:
                        ok = False
                        held = 'MISS'
                print('  %6s %4d  %5.1f  %7d  %5d  %s' % ('', (t - t0) / 1000, (at - t0) / 1000, counted, truth, held))
            if held_n < WANT_HELD[source]:
                print('  only %d %s steps could be held against the truth (want %d)' % (held_n, source, WANT_HELD[source]))
                ok = False
        f = final.get(g, {})
        views, watch = f.get('views'), f.get('watch_seconds')
        print('  views: counted %s, truth %d' % (views, truth_views))
        err = None if watch is None else (watch - truth_watch) / truth_watch * 100
        print('  watch time: counted %s s, truth %.1f s played (%s), %.1f s open, %.1f s of stalls over the timeout' %
              (watch, truth_watch, '-' if err is None else '%+.1f %%' % err, open_s, stalls))
        if views != truth_views or err is None or abs(err) > 5:
            ok = False
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
