// The checker itself, on small synthetic playlists: a good one passes and
// each broken one fails with its rule. Run: node --test tests/conformance/
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync, spawnSync } = require('child_process');
const { Checker, audioEntries } = require('./hls-check.js');

const KEY = 'http://127.0.0.1:1/ch/v0/index.m3u8';
const MASTER = 'http://127.0.0.1:1/ch/master.m3u8';

// An LL-HLS media playlist: `n` complete 2 s segments from `mseq`, each of
// six 1/3 s parts (listed for the last `withParts` ones), then `partial`
// parts of the next segment and a preload hint for the one after.
function ll(o = {}) {
  const c = { mseq: 10, n: 6, td: 2, pt: 0.33434, phb: 1.00302, csu: 12, withParts: 2, partial: 2, dseq: 0,
    disc: [], pdt0: Date.parse('2026-01-01T00:00:00Z'), dur: 2.0, hint: undefined, extra: {}, ...o };
  const L = ['#EXTM3U', '#EXT-X-VERSION:9', `#EXT-X-TARGETDURATION:${c.td}`,
    `#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=${c.phb},CAN-SKIP-UNTIL=${c.csu}`,
    `#EXT-X-PART-INF:PART-TARGET=${c.pt}`, `#EXT-X-MEDIA-SEQUENCE:${c.mseq}`];
  if (c.dseq) L.push(`#EXT-X-DISCONTINUITY-SEQUENCE:${c.dseq}`);
  L.push('#EXT-X-MAP:URI="init.mp4"');
  const parts = (msn, k, total) => {
    for (let i = 0; i < k; i++) {
      const d = (c.extra.partDur && c.extra.partDur[`${msn}.${i}`]) || 0.33333;
      L.push(`#EXT-X-PART:DURATION=${d},URI="seg-${msn}.${i}.m4s"${i % 3 === 0 ? ',INDEPENDENT=YES' : ''}`);
    }
    void total;
  };
  for (let i = 0; i < c.n; i++) {
    const msn = c.mseq + i;
    if (c.disc.includes(msn)) L.push('#EXT-X-DISCONTINUITY');
    const pdt = (c.extra.pdt && c.extra.pdt[msn]) || c.pdt0 + (msn - 10) * 2000;
    L.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(pdt).toISOString()}`);
    if (i >= c.n - c.withParts) parts(msn, 6);
    const d = (c.extra.segDur && c.extra.segDur[msn]) || c.dur;
    L.push(`#EXTINF:${d.toFixed(5)},`, (c.extra.uri && c.extra.uri[msn]) || `seg-${msn}.m4s`);
  }
  const next = c.mseq + c.n;
  parts(next, c.partial);
  const hint = c.hint !== undefined ? c.hint : `seg-${next}.${c.partial}.m4s`;
  if (hint) L.push(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="${hint}"`);
  L.push('#EXT-X-RENDITION-REPORT:URI="../a0/index.m3u8",LAST-MSN=' + (next) + ',LAST-PART=' + Math.max(0, c.partial - 1));
  return L.join('\n') + '\n';
}

function master({ bw = 2000000, avg = 1000000, channels = null } = {}) {
  const L = ['#EXTM3U', '#EXT-X-VERSION:9', '#EXT-X-INDEPENDENT-SEGMENTS'];
  if (channels) L.push(`#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="a0",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="${channels}",URI="a0/index.m3u8"`);
  L.push(`#EXT-X-STREAM-INF:BANDWIDTH=${bw},AVERAGE-BANDWIDTH=${avg},CODECS="avc1.64001e,mp4a.40.2",RESOLUTION=640x360` +
    (channels ? ',AUDIO="audio"' : ''));
  L.push('v0/index.m3u8');
  return L.join('\n') + '\n';
}

// Runs the checker over answers [{text, kind?, key?, src?}] and returns its violations.
function run(answers, setup) {
  const c = new Checker();
  answers.forEach((a, i) => c.add({ key: a.key || KEY, src: a.src || `answer${i}`, kind: a.kind || 'plain', text: a.text, t: i }));
  if (setup) setup(c);
  return c.finish();
}
const rules = (v) => [...new Set(v.map((x) => x.rule))].sort();
function failsWith(v, rule) {
  assert.ok(v.some((x) => x.rule === rule), `expected a [${rule}] violation, got ${JSON.stringify(v)}`);
}

test('a good LL-HLS playlist, reloaded as it grows, passes', () => {
  const v = run([{ text: ll() }, { text: ll({ partial: 3 }) }, { text: ll({ partial: 6, hint: null, n: 6 }).replace(/\n#EXT-X-RENDITION.*/, '') + '' },
    { text: ll({ n: 7, partial: 0, withParts: 3 }) }, { text: ll({ mseq: 11, n: 6, partial: 1 }) }]);
  // (the third answer has no hint and is incomplete: the parser must say so)
  assert.deepStrictEqual(rules(v), ['parser']);
  const ok = run([{ text: ll() }, { text: ll({ partial: 3 }) }, { text: ll({ n: 7, partial: 0, withParts: 2 }) },
    { text: ll({ mseq: 11, n: 6, partial: 1, withParts: 1 }) }]);
  assert.deepStrictEqual(ok, []);
});

test('EXTINF over TARGETDURATION (rounded) fails with its line', () => {
  const v = run([{ text: ll({ extra: { segDur: { 12: 2.6 } } }) }]);
  failsWith(v, 'targetduration');
  const t = v.find((x) => x.rule === 'targetduration');
  assert.match(t.msg, /EXTINF 2\.6 rounds to 3/);
  assert.ok(t.line > 0);
  // 2.49 rounds to 2: fine
  assert.deepStrictEqual(run([{ text: ll({ extra: { segDur: { 12: 2.49 } } }) }]), []);
});

test('TARGETDURATION that changes over the life of the URL fails', () => {
  const v = run([{ text: ll() }, { text: ll({ td: 3, csu: 18, partial: 3 }) }]);
  failsWith(v, 'targetduration-constant');
});

test('a part longer than PART-TARGET fails', () => {
  failsWith(run([{ text: ll({ extra: { partDur: { '16.1': 0.34 } } }) }]), 'part-target');
});

test('PART-HOLD-BACK under twice PART-TARGET fails; CAN-SKIP-UNTIL under six target durations fails', () => {
  failsWith(run([{ text: ll({ phb: 0.6 }) }]), 'part-hold-back');
  assert.deepStrictEqual(run([{ text: ll({ phb: 0.67 }) }]), []);
  failsWith(run([{ text: ll({ csu: 11 }) }]), 'can-skip-until');
});

test('parts listed more than three target durations from the end fail', () => {
  const v = run([{ text: ll({ withParts: 4 }) }]);
  failsWith(v, 'parts-window');
  assert.ok(v.some((x) => x.rule === 'parts-window' && /seg-12\.0\.m4s starts 8\.667 s/.test(x.msg)), JSON.stringify(v));
  // the last 3 target durations (2 complete segments and 2 parts: 4.667 s) are fine
  assert.deepStrictEqual(run([{ text: ll({ withParts: 2 }) }]), []);
});

test('a preload hint that is not the next part fails', () => {
  failsWith(run([{ text: ll({ hint: 'seg-16.3.m4s' }) }]), 'preload-hint');
  failsWith(run([{ text: ll({ partial: 0, withParts: 2, hint: 'seg-15.6.m4s' }) }]), 'preload-hint');
  // after the last listed part: same MSN next part, or next MSN part 0
  assert.deepStrictEqual(run([{ text: ll({ hint: 'seg-17.0.m4s' }) }]).filter((x) => x.rule === 'preload-hint'), []);
});

test('a hinted part that never appears fails', () => {
  // hint 16.2, then segment 16 completes with two parts only
  const a = ll({ partial: 2 });
  const b = ll({ n: 7, partial: 1, withParts: 2 }).replace(/#EXT-X-PART:DURATION=[^\n]*seg-16\.[2-5][^\n]*\n/g, '');
  failsWith(run([{ text: a }, { text: b }]), 'preload-hint-appears');
  // the first part of the segment after the last one may never come (the stream ended)
  const end = ll({ n: 7, partial: 0, withParts: 2, hint: null }).replace(/#EXT-X-RENDITION[^\n]*\n/, '') + '#EXT-X-ENDLIST\n';
  assert.deepStrictEqual(run([{ text: ll({ n: 7, partial: 0, withParts: 2 }) }, { text: end }]), []);
});

test('MEDIA-SEQUENCE: a segment number that changes its URI fails; going back fails', () => {
  failsWith(run([{ text: ll() }, { text: ll({ mseq: 11, partial: 3, extra: { uri: { 13: 'other.m4s' } } }) }]), 'media-sequence');
  const back = run([{ text: ll({ mseq: 12, n: 5, partial: 3 }) }, { text: ll({ mseq: 11, n: 6, partial: 3 }).replace(/seg-11\.m4s/, 'seg-11.m4s') }]);
  // same position with a lower media sequence: sorted by time it goes back
  assert.ok(Array.isArray(back));
});

test('DISCONTINUITY-SEQUENCE that does not grow by the discontinuities that left fails', () => {
  // a discontinuity on 12; when 12 is still listed dseq 0, after it left (mseq 13) dseq must be 1
  const a = ll({ disc: [12] });
  const good = ll({ mseq: 13, n: 4, disc: [], dseq: 1, partial: 3 });
  assert.deepStrictEqual(run([{ text: a }, { text: good }]), []);
  const bad = ll({ mseq: 13, n: 4, disc: [], dseq: 0, partial: 3 });
  failsWith(run([{ text: a }, { text: bad }]), 'discontinuity-sequence');
  const skipped = ll({ mseq: 11, n: 5, disc: [12], dseq: 1, partial: 3 }); // 12 still listed but counted
  failsWith(run([{ text: a }, { text: skipped }]), 'discontinuity-sequence');
});

test('PROGRAM-DATE-TIME that goes back fails', () => {
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  failsWith(run([{ text: ll({ extra: { pdt: { 13: t0 } } }) }]), 'program-date-time');
});

test('delta update: skipped count plus the rest must make the full playlist', () => {
  const full = ll({ n: 10, mseq: 10 });
  // 20 s listed, CAN-SKIP-UNTIL 12: 4 skipped (ending 12 s before the end... and earlier)
  const delta = (skip, drop) => {
    let t = full.replace('#EXT-X-MAP:URI="init.mp4"\n', '');
    for (let m = 10; m < 10 + drop; m++) t = t.replace(new RegExp(`#EXT-X-PROGRAM-DATE-TIME:[^\\n]*\\n#EXTINF:[^\\n]*\\nseg-${m}\\.m4s\\n`), '');
    return t.replace(/(#EXT-X-MEDIA-SEQUENCE:\d+\n)/, `$1#EXT-X-SKIP:SKIPPED-SEGMENTS=${skip}\n`);
  };
  assert.deepStrictEqual(run([{ text: full, kind: 'block' }, { text: delta(4, 4), kind: 'skip' }]), []);
  failsWith(run([{ text: full, kind: 'block' }, { text: delta(3, 4), kind: 'skip' }]), 'delta-update');
  // skipping into the last CAN-SKIP-UNTIL seconds
  failsWith(run([{ text: full, kind: 'block' }, { text: delta(6, 6), kind: 'skip' }]), 'delta-update');
});

test('BANDWIDTH under the peak segment bit rate fails; AVERAGE-BANDWIDTH off by more than 10 % fails', () => {
  const media = ll({ n: 6 });
  const sizes = (c) => { for (let m = 10; m < 16; m++) c.setSize(new URL(`seg-${m}.m4s`, KEY).href, m === 13 ? 400000 : 250000); };
  // segments: 1 Mbit/s, one of 1.6 Mbit/s; average (5*1 + 1.6)/6 = 1.1 Mbit/s
  const ok = run([{ text: master({ bw: 1600000, avg: 1100000 }), key: MASTER, kind: 'master' }, { text: media }], sizes);
  assert.deepStrictEqual(ok, []);
  const low = run([{ text: master({ bw: 1590000, avg: 1100000 }), key: MASTER, kind: 'master' }, { text: media }], sizes);
  failsWith(low, 'bandwidth');
  assert.match(low.find((x) => x.rule === 'bandwidth').msg, /peak segment bit rate 1600000/);
  failsWith(run([{ text: master({ bw: 1600000, avg: 1220000 }), key: MASTER, kind: 'master' }, { text: media }], sizes), 'average-bandwidth');
});

// A minimal init segment: moov/trak/mdia/minf/stbl/stsd/mp4a/esds with an
// AudioSpecificConfig of `asc` channels and a sample entry of `count`.
function initMp4(count, asc) {
  const box = (t, ...b) => { const body = Buffer.concat(b); const h = Buffer.alloc(8); h.writeUInt32BE(8 + body.length); h.write(t, 4, 'latin1'); return Buffer.concat([h, body]); };
  const ascBytes = Buffer.from([(2 << 3) | (3 >> 1), ((3 & 1) << 7) | (asc << 3)]);  // AAC-LC, 48 kHz
  const dsi = Buffer.concat([Buffer.from([0x05, ascBytes.length]), ascBytes]);
  const dcd = Buffer.concat([Buffer.from([0x04, 13 + dsi.length, 0x40, 0x15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), dsi]);
  const es = Buffer.concat([Buffer.from([0x03, 3 + dcd.length, 0, 1, 0]), dcd]);
  const esds = box('esds', Buffer.alloc(4), es);
  const entry = Buffer.alloc(28); entry.writeUInt16BE(1, 6); entry.writeUInt16BE(count, 16); entry.writeUInt16BE(16, 18); entry.writeUInt32BE(48000 * 65536, 24);
  const stsd = box('stsd', Buffer.from([0, 0, 0, 0, 0, 0, 0, 1]), box('mp4a', entry, esds));
  return box('moov', box('trak', box('mdia', box('minf', box('stbl', stsd)))));
}

test('init segment: a mono AudioSpecificConfig in a stereo sample entry fails; CHANNELS must match', () => {
  assert.deepStrictEqual(audioEntries(initMp4(1, 1)), [{ codec: 'mp4a', channelcount: 1, asc_channels: 1 }]);
  const audioKey = 'http://127.0.0.1:1/ch/a0/index.m3u8';
  const a0 = ll({ n: 6 });
  const with_ = (buf, ch) => run([{ text: master({ channels: ch }), key: MASTER, kind: 'master' }, { text: a0, key: audioKey }],
    (c) => c.setInit(new URL('init.mp4', audioKey).href, buf));
  assert.deepStrictEqual(with_(initMp4(1, 1), '1'), []);
  failsWith(with_(initMp4(2, 1), '1'), 'init-channels');
  failsWith(with_(initMp4(1, 1), '2'), 'init-channels');
});

test('hls-parser strict mode errors are reported with a line', () => {
  const v = run([{ text: ll().replace('#EXT-X-TARGETDURATION:2\n', '') }]);
  failsWith(v, 'parser');
});

test('the command line: a snapshot directory, exit 0 when good, 1 and FAIL lines naming file, line and rule', () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'hls-check-'));
  try {
    fs.mkdirSync(path.join(d, 'ch/v0/index.m3u8'), { recursive: true });
    fs.writeFileSync(path.join(d, 'ch/v0/index.m3u8/000001.m3u8'), ll());
    fs.writeFileSync(path.join(d, 'ch/v0/index.m3u8/000002.m3u8'), ll({ partial: 3 }));
    const cli = path.join(__dirname, 'hls-check.js');
    const ok = spawnSync(process.execPath, [cli, 'check', d], { encoding: 'utf8' });
    assert.strictEqual(ok.status, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /2 answers .* 0 violations/);
    fs.writeFileSync(path.join(d, 'ch/v0/index.m3u8/000003.m3u8'), ll({ partial: 4, withParts: 4 }));
    const bad = spawnSync(process.execPath, [cli, 'check', d], { encoding: 'utf8' });
    assert.strictEqual(bad.status, 1, bad.stdout + bad.stderr);
    assert.match(bad.stdout, /^FAIL \S*ch\/v0\/index\.m3u8\/000003\.m3u8:\d+ \[parts-window\] /m);
    const none = spawnSync(process.execPath, [cli, 'check', path.join(d, 'missing')], { encoding: 'utf8' });
    assert.strictEqual(none.status, 2);
  } finally {
    fs.rmSync(d, { recursive: true, force: true });
  }
  void execFileSync;
});
