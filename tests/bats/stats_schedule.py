#!/usr/bin/env python3
"""Access-log lines (sigma-origin's NDJSON, or nginx's / GoAccess's
COMBINED) for players on a known schedule, and the truth they make.

  stats_schedule.py --players N --start T0 --length S [--seed K] [--same-client]
                    [--fallback K] [--segment D] [--format ndjson|combined]
                    [--truth FILE] [--sessions N --requests M]  > log

Each player i joins at a known time, fetches master.m3u8 (the origin
mints its session: "session" on that line), then every D seconds its
media playlist and one segment (its rendition, all from one address and
one User-Agent with --same-client), and leaves at a known time. --fallback
K: the first K players send no session id (address + User-Agent only, a
distinct address each). The truth (--truth FILE, JSON): per player start,
stop; views; watch seconds (first to last segment request); CCU at every
10 s step (active = between first and last request).

--sessions N --requests M: the bench form, N sessions of M requests each,
interleaved round robin (N concurrent sessions), no truth."""
import argparse, json, random, sys, datetime

def iso(ms):
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.') + '%03dZ' % (ms % 1000)

def clf(ms):
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).strftime('%d/%b/%Y:%H:%M:%S +0000')

UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36'

def line(fmt, ms, client, path, status, nbytes, sid=None, src='path'):
    if fmt == 'combined':
        return '%s - - [%s] "GET %s HTTP/1.1" %d %d "-" "%s"\n' % (client.split(':')[0], clf(ms), path, status, nbytes, UA)
    d = {'time': iso(ms), 'client': client, 'method': 'GET', 'path': path, 'status': status, 'bytes': nbytes,
         'duration_ms': 0.4, 'user_agent': UA}
    if sid:
        d['session'] = sid
        d['session_source'] = src
    return json.dumps(d, separators=(',', ':')) + '\n'

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--players', type=int, default=10)
    ap.add_argument('--start', type=float, required=True, help='Unix seconds of the first join')
    ap.add_argument('--length', type=float, default=180)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--segment', type=float, default=2.0)
    ap.add_argument('--fallback', type=int, default=0)
    ap.add_argument('--channel', default='demo')
    ap.add_argument('--format', default='ndjson')
    ap.add_argument('--truth')
    ap.add_argument('--sessions', type=int, default=0)
    ap.add_argument('--requests', type=int, default=0)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    out = sys.stdout
    t0 = int(a.start * 1000)
    seg = int(a.segment * 1000)
    if a.sessions:
        # N concurrent sessions of M requests each, round robin; one
        # request per session every segment duration.
        step = seg / a.sessions  # every session once per segment duration: all stay open
        t = float(t0)
        for r in range(a.requests):
            for s in range(a.sessions):
                sid = 'S%021d' % s
                tr = 'v%d' % (s % 3)
                if r == 0:
                    path = '/%s/master.m3u8' % a.channel
                elif r % 2:
                    path = '/%s/s/%s/%s/index.m3u8' % (a.channel, sid, tr)
                else:
                    path = '/%s/s/%s/%s/seg-%d.m4s' % (a.channel, sid, tr, r // 2)
                out.write(line(a.format, int(t), '10.0.%d.%d:40000' % (s // 250 % 250, s % 250), path, 200,
                               900 if path.endswith('m3u8') else 250000, sid if a.format == 'ndjson' else None))
                t += step
        return
    players = []
    for i in range(a.players):
        start = t0 + int(rnd.uniform(0, a.length * 0.5) * 1000)
        stop = start + int(rnd.uniform(a.length * 0.2, a.length * 0.5) * 1000)
        players.append({'sid': 'P%021d' % i, 'start': start, 'stop': stop, 'track': 'v%d' % (i % 2),
                        'fallback': i < a.fallback})
    reqs = []
    for i, p in enumerate(players):
        client = ('10.1.0.%d:5%04d' % (i + 1, i)) if p['fallback'] else '192.0.2.7:4%04d' % i
        sid = None if p['fallback'] else p['sid']
        reqs.append((p['start'], client, '/%s/master.m3u8' % a.channel, 900, sid))
        base = '/%s/%s' % (a.channel, p['track']) if p['fallback'] else '/%s/s/%s/%s' % (a.channel, sid, p['track'])
        t = p['start'] + 50
        first_seg = last_seg = None
        k = 0
        while t <= p['stop']:
            reqs.append((t, client, base + '/index.m3u8', 800, sid))
            st = min(t + 20, p['stop'])
            reqs.append((st, client, base + '/seg-%d.m4s' % k, 240000, sid))
            first_seg = st if first_seg is None else first_seg
            last_seg = st
            k += 1
            t += seg
        p['first_seg'], p['last_seg'] = first_seg, last_seg
        # A master without a session id is no part of a session.
        p['first'] = p['start'] + 50 if p['fallback'] else p['start']
        p['last'] = max(r[0] for r in reqs if r[1] == client and (sid is None or r[4] == sid))
    reqs.sort(key=lambda r: r[0])
    for ms, client, path, nb, sid in reqs:
        out.write(line(a.format, ms, client, path, 200, nb, sid))
    if a.truth:
        end = max(p['last'] for p in players)
        ccu = []
        t = t0
        while t <= end:
            ccu.append({'time': iso(t), 'viewers': sum(1 for p in players if p['first'] <= t <= p['last'])})
            t += 10000
        truth = {'views': len(players), 'sessions': len(players),
                 'watch_seconds': sum((p['last_seg'] - p['first_seg']) for p in players) / 1000.0,
                 'played_seconds': sum((p['stop'] - p['start']) for p in players) / 1000.0,
                 'fallback_sessions': a.fallback, 'ccu': ccu,
                 # The peak is reached at some session's first request.
                 'peak_ccu': max(sum(1 for p in players if p['first'] <= q['first'] <= p['last']) for q in players)}
        with open(a.truth, 'w') as f:
            json.dump(truth, f, indent=1)

main()
