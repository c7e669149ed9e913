# RFC 8216bis rules a live playlist must keep in every version a player may
# load, for package.bats and ingest_hls.bats: `load hls_rules`.
#
# watch_playlists ROOT OUT: copies every new version of each playlist under
# ROOT (ROOT/CH/master.m3u8, ROOT/CH/TRACK/index.m3u8, any depth) into
# OUT/<its path, / as _>/NNNNN.m3u8, 0.05 s polling, until killed (it is
# spawned: teardown ends it). A copy's mtime is when it was seen.
watch_playlists() {
  local root=$1 out=$2
  mkdir -p "$out"
  # A file, not a here-document: a background command's stdin is /dev/null.
  cat >"$out.py" <<'PY'
import os, sys, time, glob, hashlib
root, out = sys.argv[1], sys.argv[2]
last, n = {}, {}
while True:
    for p in glob.glob(os.path.join(root, "**", "*.m3u8"), recursive=True):
        try:
            data = open(p, "rb").read()
        except OSError:
            continue
        h = hashlib.sha1(data).digest()
        if last.get(p) == h:
            continue
        last[p] = h
        name = os.path.relpath(p, root)[:-len(".m3u8")].replace("/", "_")
        n[name] = n.get(name, 0) + 1
        os.makedirs(os.path.join(out, name), exist_ok=True)
        with open(os.path.join(out, name, "%05d.m3u8" % n[name]), "wb") as f:
            f.write(data)
    time.sleep(0.05)
PY
  spawn "$out.log" python3 "$out.py" "$root" "$out"
  WATCH_PID=$SPAWNED_PID
}

# first_seen FILE: when the watcher saw it (seconds since the epoch).
first_seen() { stat -c %.3Y "$1"; }

# channel_count INIT [N]: channelcount of the Nth (1st) mp4a sample entry.
channel_count() {
  python3 - "$1" "${2:-1}" <<'PY'
import sys
d = open(sys.argv[1], "rb").read()
i = -1
for _ in range(int(sys.argv[2])):
    i = d.find(b"mp4a", i + 1)
# size+type (the match is the type: 4 back), reserved 6, data_reference_index 2, reserved 8
print(int.from_bytes(d[i + 4 + 16:i + 4 + 18], "big") if i >= 0 else "none")
PY
}

# snapshot_live DIR OUT: copies DIR's master and media playlists at one
# moment (retrying until the master did not change meanwhile), for
# check_bandwidth while the segments are still being written.
snapshot_live() {
  local dir=$1 out=$2 i
  for i in 1 2 3 4 5 6 7 8 9 10; do
    rm -rf "$out" && mkdir -p "$out"
    cp "$dir/master.m3u8" "$out/master.m3u8" || return 1
    (cd "$dir" && for f in */index.m3u8; do mkdir -p "$out/${f%/*}" && cp "$f" "$out/$f"; done)
    cmp -s "$dir/master.m3u8" "$out/master.m3u8" && return 0
  done
  return 1
}

# check_versions FILE...: the versions of ONE media playlist, oldest first.
# Fails (printing why) unless in every one: EXT-X-TARGETDURATION is the
# same as in the first; every EXTINF rounded to the nearest integer is at
# most it; CAN-SKIP-UNTIL, when there, is at least six times it; no
# EXT-X-PART starts more than three target durations from the end, and
# parts are on at most the last three segments counting the one in
# progress (hls-parser's strict-mode count); a PRELOAD-HINT follows parts
# unless the playlist ended. Prints "target=T versions=N parts=P".
check_versions() {
  python3 - "$@" <<'PY'
import re, sys
target0, bad, parts_seen = None, [], 0
for path in sys.argv[1:]:
    lines = open(path).read().splitlines()
    target = None
    segs = []          # [duration or None (in progress), [part durations]]
    cur = []
    ended = any(l == "#EXT-X-ENDLIST" for l in lines)
    trailing = False
    for l in lines:
        if l.startswith("#EXT-X-TARGETDURATION:"):
            target = int(l.split(":")[1])
        elif l.startswith("#EXT-X-SERVER-CONTROL:"):
            m = re.search(r"CAN-SKIP-UNTIL=([0-9.]+)", l)
            if m and target is not None and float(m.group(1)) < 6 * target:
                bad.append("%s: CAN-SKIP-UNTIL %s < 6 x %d" % (path, m.group(1), target))
        elif l.startswith("#EXT-X-PART:"):
            cur.append(float(re.search(r"DURATION=([0-9.]+)", l).group(1)))
            trailing = True
        elif l.startswith("#EXT-X-PRELOAD-HINT:"):
            trailing = True
        elif l.startswith("#EXTINF:"):
            d = float(l[8:].split(",")[0])
            if target is not None and int(d + 0.5) > target:
                bad.append("%s: EXTINF %s rounds above the target %d" % (path, d, target))
            segs.append([d, cur])
            cur = []
            trailing = False
    if trailing:
        segs.append([sum(cur), cur])
    if target is None:
        bad.append("%s: no EXT-X-TARGETDURATION" % path)
        continue
    if target0 is None:
        target0 = target
    elif target != target0:
        bad.append("%s: EXT-X-TARGETDURATION %d, was %d" % (path, target, target0))
    from_end = 0.0
    for i in range(len(segs) - 1, -1, -1):
        d, parts = segs[i]
        from_end += d
        if not parts:
            continue
        parts_seen += len(parts)
        if i < len(segs) - 3:
            bad.append("%s: parts on segment %d of %d (hls-parser: only the last three)" % (path, i + 1, len(segs)))
        if from_end > 3 * target + 1e-6:
            bad.append("%s: a part starts %.3f s from the end (> 3 x %d)" % (path, from_end, target))
for b in bad[:10]:
    print(b)
print("target=%s versions=%d parts=%d" % (target0, len(sys.argv) - 1, parts_seen))
sys.exit(1 if bad else 0)
PY
}

# check_bandwidth DIR [MEDIA_DIR]: DIR's master's BANDWIDTH of each variant is at
# least its peak segment bit rate (RFC 8216bis 4.4.6.2: the highest rate
# of any run of consecutive segments lasting 0.5 to 1.5 target durations,
# audio rendition included), over every segment of its (EVENT) playlists,
# and AVERAGE-BANDWIDTH within 3 % of the bytes over the duration (the
# publisher rewrites it when it moves 2 %).
# Prints "variant peak=... bandwidth=... average=... measured=...".
check_bandwidth() {
  python3 - "$1" "${2:-$1}" <<'PY'
import os, re, sys
root, media = sys.argv[1], sys.argv[2]
def track(uri):
    path = os.path.join(root, uri)
    lines = open(path).read().splitlines()
    target = int(next(l for l in lines if l.startswith("#EXT-X-TARGETDURATION:")).split(":")[1])
    segs, d, gap = [], None, False
    for l in lines:
        if l.startswith("#EXTINF:"):
            d = float(l[8:].split(",")[0])
        elif l == "#EXT-X-GAP":
            gap = True
        elif l and not l.startswith("#") and d is not None:
            size = 0 if gap else os.path.getsize(os.path.join(media, os.path.dirname(uri), l))
            segs.append((size * 8.0, d))
            d, gap = None, False
    peak = 0.0
    for i in range(len(segs)):
        bits = secs = 0.0
        for j in range(i, len(segs)):
            bits += segs[j][0]; secs += segs[j][1]
            if secs > 1.5 * target and j > i:
                break
            if secs >= 0.5 * target or (j == i and secs > 1.5 * target):
                peak = max(peak, bits / secs)
    return peak, sum(s[0] for s in segs) / max(1e-9, sum(s[1] for s in segs))
master = open(os.path.join(root, "master.m3u8")).read().splitlines()
audio = {}
for l in master:
    if l.startswith("#EXT-X-MEDIA:TYPE=AUDIO"):
        audio[re.search(r'GROUP-ID="([^"]+)"', l).group(1)] = re.search(r'URI="([^"]+)"', l).group(1)
ok = True
for i, l in enumerate(master):
    if not l.startswith("#EXT-X-STREAM-INF:"):
        continue
    bw = int(re.search(r"[:,]BANDWIDTH=(\d+)", l).group(1))
    avg = int(re.search(r"AVERAGE-BANDWIDTH=(\d+)", l).group(1))
    peak, mean = track(master[i + 1])
    g = re.search(r'AUDIO="([^"]+)"', l)
    if g:
        ap, am = track(audio[g.group(1)])
        peak += ap; mean += am
    print("%s peak=%d bandwidth=%d average=%d measured=%d" % (master[i + 1], peak, bw, avg, mean))
    if bw < peak or abs(avg - mean) > 0.03 * mean:
        ok = False
sys.exit(0 if ok else 1)
PY
}
