#!/usr/bin/env node
// Sigma's own HLS conformance check: every playlist answer it is given is
// parsed by hls-parser in strict mode, then held to the RFC 8216bis rules a
// parser does not check, alone and across the answers for one playlist URL.
//
//   node hls-check.js check SNAPDIR...            playlists (and their versions) saved on disk
//   node hls-check.js watch CHANNELDIR... --seconds N [--save SNAPDIR]
//        follows what the packager writes (every distinct version of every playlist)
//   node hls-check.js follow MASTERURL... --seconds N [--save SNAPDIR]
//        follows a live origin: plain reloads, blocking _HLS_msn/_HLS_part at the
//        edge, _HLS_skip=YES|v2 delta updates (each paired with a full answer of
//        the same version), one request that must be answered 400
//
// A snapshot directory holds, for a playlist at PATH, either the file PATH
// (one version) or a directory PATH holding its versions as NNNNNN[.KIND].m3u8
// in order (KIND: plain, block, skip; the query of each is in PATH/answers.json
// when saved by watch/follow). Segment sizes come from SNAPDIR/sizes.json
// ({"path/seg-1.m4s": bytes}) or, failing that, from the files themselves.
//
// Output: one line per violation, "FAIL <file or URL>:<line> [<rule>] <what>",
// then a summary line. Exit status: 0 no violation, 1 violations, 2 usage or
// I/O error (nothing could be checked).
'use strict';
const fs = require('fs');
const path = require('path');
const { pathToFileURL, fileURLToPath } = require('url');

const HLS = require('hls-parser');
HLS.setOptions({ strictMode: true, silent: true });

const EPS = 0.0005;             // float slack on durations read from text
const AVG_TOLERANCE = 0.10;     // AVERAGE-BANDWIDTH within 10 % of the measured average
const MASTER_LATE_MS = 500;     // the master must exist when a media playlist has media

// ---------------------------------------------------------------- parsing

function attrs(s) {
  const out = {};
  const re = /([A-Z0-9-]+)=("[^"]*"|[^,]*)/g;
  let m;
  while ((m = re.exec(s))) out[m[1]] = m[2].startsWith('"') ? m[2].slice(1, -1) : m[2];
  return out;
}

// Line-numbered model of one playlist (only what the rules need).
function model(text) {
  const lines = text.split(/\r?\n/);
  const pl = {
    master: false, version: null, td: null, tdLine: 0, mseq: 0, dseq: 0, partTarget: null, partTargetLine: 0,
    sc: null, scLine: 0, skip: 0, skipLine: 0, endlist: false, segments: [], partial: null, hint: null,
    variants: [], media: [], maps: [],
  };
  let cur = { parts: [], discontinuity: false, pdt: null, pdtLine: 0, gap: false, map: null };
  let map = null, dseq = null, started = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim(), no = i + 1;
    if (!line) continue;
    const colon = line.indexOf(':');
    const tag = line.startsWith('#') ? (colon < 0 ? line : line.slice(0, colon)) : null;
    const val = colon < 0 ? '' : line.slice(colon + 1);
    if (tag === null) {
      if (pl.master) {
        const v = pl.variants[pl.variants.length - 1];
        if (v && !v.uri) v.uri = line;
        continue;
      }
      if (dseq === null) dseq = pl.dseq;
      if (cur.discontinuity) dseq++;
      const msn = pl.mseq + pl.skip + pl.segments.length;
      pl.segments.push({ msn, uri: line, uriLine: no, duration: cur.duration, extinfLine: cur.extinfLine, dseq,
        discontinuity: cur.discontinuity, pdt: cur.pdt, pdtLine: cur.pdtLine, gap: cur.gap, parts: cur.parts, map });
      cur = { parts: [], discontinuity: false, pdt: null, pdtLine: 0, gap: false };
      started = true;
      continue;
    }
    switch (tag) {
      case '#EXT-X-STREAM-INF': {
        pl.master = true;
        const a = attrs(val);
        pl.variants.push({ line: no, bandwidth: +a.BANDWIDTH, avg: a['AVERAGE-BANDWIDTH'] === undefined ? null : +a['AVERAGE-BANDWIDTH'],
          audio: a.AUDIO || null, codecs: a.CODECS || '', uri: null });
        break;
      }
      case '#EXT-X-MEDIA': {
        pl.master = true;
        const a = attrs(val);
        pl.media.push({ line: no, type: a.TYPE, group: a['GROUP-ID'], uri: a.URI || null, channels: a.CHANNELS || null, name: a.NAME });
        break;
      }
      case '#EXT-X-VERSION': pl.version = +val; break;
      case '#EXT-X-TARGETDURATION': pl.td = +val; pl.tdLine = no; break;
      case '#EXT-X-MEDIA-SEQUENCE': pl.mseq = +val; break;
      case '#EXT-X-DISCONTINUITY-SEQUENCE': pl.dseq = +val; break;
      case '#EXT-X-PART-INF': pl.partTarget = +attrs(val)['PART-TARGET']; pl.partTargetLine = no; break;
      case '#EXT-X-SERVER-CONTROL': {
        const a = attrs(val);
        pl.scLine = no;
        pl.sc = { canBlock: a['CAN-BLOCK-RELOAD'] === 'YES', partHoldBack: a['PART-HOLD-BACK'] === undefined ? null : +a['PART-HOLD-BACK'],
          holdBack: a['HOLD-BACK'] === undefined ? null : +a['HOLD-BACK'], canSkipUntil: a['CAN-SKIP-UNTIL'] === undefined ? null : +a['CAN-SKIP-UNTIL'] };
        break;
      }
      case '#EXT-X-SKIP': pl.skip = +attrs(val)['SKIPPED-SEGMENTS']; pl.skipLine = no; break;
      case '#EXT-X-ENDLIST': pl.endlist = true; break;
      case '#EXT-X-MAP': map = attrs(val).URI; pl.maps.push({ uri: map, line: no }); break;
      case '#EXTINF': cur.duration = parseFloat(val); cur.extinfLine = no; break;
      case '#EXT-X-DISCONTINUITY': cur.discontinuity = true; break;
      case '#EXT-X-GAP': cur.gap = true; break;
      case '#EXT-X-PROGRAM-DATE-TIME': cur.pdt = Date.parse(val); cur.pdtLine = no; break;
      case '#EXT-X-PART': {
        const a = attrs(val);
        cur.parts.push({ uri: a.URI, duration: +a.DURATION, line: no, independent: a.INDEPENDENT === 'YES' });
        break;
      }
      case '#EXT-X-PRELOAD-HINT': {
        const a = attrs(val);
        if (a.TYPE === 'PART') pl.hint = { uri: a.URI, line: no };
        break;
      }
      default: break;
    }
  }
  void started;
  if (cur.parts.length) pl.partial = { msn: pl.mseq + pl.skip + pl.segments.length, parts: cur.parts };
  return pl;
}

// "seg-12.3.m4s" -> {stem:"seg-", msn:12, idx:3, ext:".m4s"}
function partName(uri) {
  const m = /^(.*?)(\d+)\.(\d+)(\.[A-Za-z0-9]+)$/.exec(uri || '');
  return m ? { stem: m[1], msn: +m[2], idx: +m[3], ext: m[4] } : null;
}

// The last media position a playlist shows: [msn, part] (part -1: the segment is complete).
function position(pl) {
  if (pl.partial) return [pl.partial.msn, pl.partial.parts.length - 1];
  const last = pl.segments[pl.segments.length - 1];
  return last ? [last.msn, Infinity] : [pl.mseq - 1, Infinity];
}
// What identifies one version of a playlist, delta update or not.
function signature(pl) {
  const last = pl.segments[pl.segments.length - 1];
  return [pl.mseq, last ? last.uri : '', pl.partial ? pl.partial.parts.map((p) => p.uri).join(' ') : '', pl.hint ? pl.hint.uri : '', pl.endlist].join('|');
}
const cmpPos = (a, b) => (a[0] - b[0]) || (a[1] === b[1] ? 0 : a[1] < b[1] ? -1 : 1);

// The hls-parser error, located: the first line at which a prefix of the
// playlist fails with the same message.
function parserError(text) {
  try { HLS.parse(text); return null; } catch (e) {
    const msg = String(e && e.message || e);
    const lines = text.split('\n');
    let line = 0;
    for (let k = 1; k <= lines.length && k < 400; k++) {
      try { HLS.parse(lines.slice(0, k).join('\n') + '\n'); } catch (e2) {
        if (String(e2 && e2.message || e2) === msg) { line = k; break; }
      }
    }
    return { msg, line };
  }
}

// ---------------------------------------------------------------- init segments

function boxes(buf, start, end) {
  const out = [];
  for (let p = start; p + 8 <= end;) {
    let size = buf.readUInt32BE(p), hdr = 8;
    const type = buf.toString('latin1', p + 4, p + 8);
    if (size === 1) { size = Number(buf.readBigUInt64BE(p + 8)); hdr = 16; } else if (size === 0) size = end - p;
    if (size < hdr || p + size > end) break;
    out.push({ type, start: p, body: p + hdr, end: p + size });
    p += size;
  }
  return out;
}

// Every audio sample entry of an init segment: its channelcount field and
// the channel configuration of its AudioSpecificConfig (AAC).
function audioEntries(buf) {
  const found = [];
  const walk = (s, e) => {
    for (const b of boxes(buf, s, e)) {
      if (['moov', 'trak', 'mdia', 'minf', 'stbl'].includes(b.type)) walk(b.body, b.end);
      else if (b.type === 'stsd') walk(b.body + 8, b.end);
      else if (b.type === 'mp4a' || b.type === 'Opus') {
        const entry = { codec: b.type, channelcount: buf.readUInt16BE(b.body + 16), asc_channels: null };
        for (const c of boxes(buf, b.body + 28, b.end)) {
          if (c.type !== 'esds') continue;
          // ES_Descriptor (0x03) > DecoderConfigDescriptor (0x04) > DecoderSpecificInfo (0x05)
          const d = buf.subarray(c.body + 4, c.end);
          for (let i = 0; i + 1 < d.length; i++) {
            if (d[i] !== 0x05) continue;
            let j = i + 1, len = 0, n = 0;
            while (j < d.length && n < 4) { len = (len << 7) | (d[j] & 0x7f); n++; if (!(d[j++] & 0x80)) break; }
            if (len < 2 || j + len > d.length) continue;
            const bits = (d[j] << 24 | d[j + 1] << 16 | (d[j + 2] || 0) << 8 | (d[j + 3] || 0)) >>> 0;
            let off = 5;
            if ((bits >>> 27) === 31) off += 6;
            const fi = (bits >>> (32 - off - 4)) & 0xf;
            off += 4;
            if (fi === 15) off += 24;
            if (off + 4 <= 32) entry.asc_channels = (bits >>> (32 - off - 4)) & 0xf;
            break;
          }
        }
        found.push(entry);
      }
    }
  };
  walk(0, buf.length);
  return found;
}

// ---------------------------------------------------------------- the checker

class Checker {
  constructor() {
    this.violations = [];
    this.byKey = new Map();   // playlist URL (no query) -> answers
    this.masters = [];
    this.sizes = new Map();   // absolute segment URL -> bytes
    this.inits = new Map();   // absolute init URL -> Buffer
    this.expect = [];         // {src, status, want, rule, msg}
    this.firstMedia = new Map(); // channel key -> t of first media playlist with media
    this.count = 0;
  }
  fail(src, line, rule, msg) { this.violations.push({ src, line, rule, msg }); }

  // answer: {key, src, kind: file|plain|block|skip|master, text, t, status}
  add(a) {
    this.count++;
    a.t = a.t ?? this.count;
    const perr = parserError(a.text);
    if (perr) this.fail(a.src, perr.line, 'parser', 'hls-parser (strict): ' + perr.msg);
    let pl;
    try { pl = model(a.text); } catch (e) { this.fail(a.src, 0, 'parser', 'unreadable: ' + e.message); return; }
    a.pl = pl;
    if (pl.master || a.kind === 'master') { this.masters.push(a); return; }
    if (!this.byKey.has(a.key)) this.byKey.set(a.key, []);
    this.byKey.get(a.key).push(a);
    this.single(a, pl);
  }
  setSize(url, bytes) { this.sizes.set(url, bytes); }
  setInit(url, buf) { this.inits.set(url, buf); }
  expectStatus(src, got, want, rule, msg) { if (got !== want) this.fail(src, 0, rule, `${msg}: got ${got}, want ${want}`); }

  // Rules that one playlist answer can break by itself.
  single(a, pl) {
    const src = a.src;
    if (pl.td === null) return;   // the parser said so
    for (const s of pl.segments) {
      if (Math.round(s.duration) > pl.td)
        this.fail(src, s.extinfLine, 'targetduration', `EXTINF ${s.duration} rounds to ${Math.round(s.duration)} > EXT-X-TARGETDURATION ${pl.td} (line ${pl.tdLine})`);
    }
    const allParts = [];
    for (const s of pl.segments) for (const p of s.parts) allParts.push(p);
    if (pl.partial) for (const p of pl.partial.parts) allParts.push(p);
    if (pl.partTarget !== null) {
      for (const p of allParts) {
        if (p.duration > pl.partTarget + 1e-9)
          this.fail(src, p.line, 'part-target', `part ${p.uri} lasts ${p.duration} > PART-TARGET ${pl.partTarget} (line ${pl.partTargetLine})`);
      }
    } else if (allParts.length) {
      this.fail(src, allParts[0].line, 'part-target', 'EXT-X-PART without EXT-X-PART-INF');
    }
    if (pl.sc) {
      if (pl.partTarget !== null) {
        if (pl.sc.partHoldBack === null) this.fail(src, pl.scLine, 'part-hold-back', 'PART-HOLD-BACK missing in a playlist with EXT-X-PART-INF');
        else if (pl.sc.partHoldBack < 2 * pl.partTarget - EPS)
          this.fail(src, pl.scLine, 'part-hold-back', `PART-HOLD-BACK ${pl.sc.partHoldBack} < 2 x PART-TARGET ${pl.partTarget}`);
      }
      if (pl.sc.canSkipUntil !== null && pl.sc.canSkipUntil < 6 * pl.td - EPS)
        this.fail(src, pl.scLine, 'can-skip-until', `CAN-SKIP-UNTIL ${pl.sc.canSkipUntil} < 6 x TARGETDURATION ${pl.td}`);
      if (pl.sc.holdBack !== null && pl.sc.holdBack < 3 * pl.td - EPS)
        this.fail(src, pl.scLine, 'hold-back', `HOLD-BACK ${pl.sc.holdBack} < 3 x TARGETDURATION ${pl.td}`);
    }
    // Parts only within three target durations of the end: a part whose
    // start lies further back than that should have been removed.
    {
      let tail = pl.partial ? pl.partial.parts.reduce((x, p) => x + p.duration, 0) : 0;
      for (let i = pl.segments.length - 1; i >= 0; i--) {
        const s = pl.segments[i];
        tail += s.duration;
        if (!s.parts.length) continue;
        let start = tail;   // seconds from the start of this segment to the end of the playlist
        for (const p of s.parts) {
          if (start > 3 * pl.td + EPS) {
            this.fail(src, p.line, 'parts-window', `part ${p.uri} starts ${start.toFixed(3)} s from the end, more than 3 x TARGETDURATION (${3 * pl.td} s)`);
            break;   // one per segment is enough
          }
          start -= p.duration;
        }
      }
    }
    // The preload hint names the part after the last listed one.
    if (pl.hint && !pl.endlist) {
      const h = partName(pl.hint.uri);
      const listed = allParts.length ? partName(allParts[allParts.length - 1].uri) : null;
      const lastSeg = pl.segments[pl.segments.length - 1];
      let ok = [];
      if (pl.partial) {
        ok = [[pl.partial.msn, pl.partial.parts.length], [pl.partial.msn + 1, 0]];
      } else {
        ok = [[lastSeg ? lastSeg.msn + 1 : pl.mseq + pl.skip, 0]];
      }
      if (!h) {
        this.fail(src, pl.hint.line, 'preload-hint', `hint URI ${pl.hint.uri} does not name a part as MSN.PART`);
      } else if (listed && (h.stem !== listed.stem || h.ext !== listed.ext)) {
        this.fail(src, pl.hint.line, 'preload-hint', `hint ${pl.hint.uri} is not named like the listed parts (${allParts[allParts.length - 1].uri})`);
      } else if (!ok.some(([m, i]) => m === h.msn && i === h.idx)) {
        this.fail(src, pl.hint.line, 'preload-hint',
          `hint ${pl.hint.uri} is not the next part (expected ${ok.map(([m, i]) => `${m}.${i}`).join(' or ')})`);
      }
    }
    // PROGRAM-DATE-TIME increases from segment to segment.
    let prev = null;
    for (const s of pl.segments) {
      if (s.pdt === null || Number.isNaN(s.pdt)) continue;
      if (prev && s.pdt <= prev.pdt)
        this.fail(src, s.pdtLine, 'program-date-time', `PROGRAM-DATE-TIME of msn ${s.msn} is not after that of msn ${prev.msn} (line ${prev.pdtLine})`);
      prev = s;
    }
    // A delta update skips only segments that end more than CAN-SKIP-UNTIL before the end.
    if (pl.skip && pl.sc && pl.sc.canSkipUntil !== null) {
      let kept = pl.segments.reduce((x, s) => x + s.duration, 0);
      if (pl.partial) kept += pl.partial.parts.reduce((x, p) => x + p.duration, 0);
      if (kept < pl.sc.canSkipUntil - EPS)
        this.fail(src, pl.skipLine, 'delta-update', `EXT-X-SKIP leaves ${kept.toFixed(3)} s, less than CAN-SKIP-UNTIL ${pl.sc.canSkipUntil}`);
    } else if (pl.skip && !(pl.sc && pl.sc.canSkipUntil !== null)) {
      this.fail(src, pl.skipLine, 'delta-update', 'EXT-X-SKIP in a playlist without CAN-SKIP-UNTIL');
    }
  }

  // Rules across the answers for one playlist URL, the master and the media.
  finish() {
    for (const [key, answers] of this.byKey) this.across(key, answers);
    this.checkMasters();
    return this.violations;
  }

  across(key, answers) {
    const good = answers.filter((a) => a.pl && a.pl.td !== null);
    // TARGETDURATION never changes over the life of the URL.
    const first = good[0];
    if (first) {
      let reported = new Set();
      for (const a of good) {
        if (a.pl.td !== first.pl.td && !reported.has(a.pl.td)) {
          reported.add(a.pl.td);
          this.fail(a.src, a.pl.tdLine, 'targetduration-constant',
            `EXT-X-TARGETDURATION ${a.pl.td}, was ${first.pl.td} in ${first.src}:${first.pl.tdLine}`);
        }
      }
    }
    // Answers in the order of what they show.
    const ordered = good.slice().sort((x, y) => cmpPos(position(x.pl), position(y.pl)) || (x.t - y.t));
    const bySeq = new Map();
    let prevA = null;
    for (const a of ordered) {
      const pl = a.pl;
      if (prevA && pl.mseq < prevA.pl.mseq)
        this.fail(a.src, 0, 'media-sequence', `EXT-X-MEDIA-SEQUENCE ${pl.mseq} went back from ${prevA.pl.mseq} (${prevA.src})`);
      const isDelta = pl.skip > 0 || a.kind === 'skip';
      if (prevA && !isDelta && pl.dseq < prevA.pl.dseq)
        this.fail(a.src, 0, 'discontinuity-sequence', `EXT-X-DISCONTINUITY-SEQUENCE ${pl.dseq} went back from ${prevA.pl.dseq} (${prevA.src})`);
      if (prevA && prevA.pl.endlist && !pl.endlist)
        this.fail(a.src, 0, 'endlist', `EXT-X-ENDLIST was in ${prevA.src} and is gone`);
      for (const s of pl.segments) {
        const known = bySeq.get(s.msn);
        if (!known || (known.skipped && !isDelta)) { bySeq.set(s.msn, { s, src: a.src, skipped: isDelta }); if (!known) continue; }
        const k = known.s;
        if (k.uri !== s.uri)
          this.fail(a.src, s.uriLine, 'media-sequence', `msn ${s.msn} is ${s.uri}, was ${k.uri} in ${known.src}:${k.uriLine}`);
        else if (Math.abs(k.duration - s.duration) > EPS)
          this.fail(a.src, s.extinfLine, 'media-sequence', `msn ${s.msn} (${s.uri}) lasts ${s.duration}, was ${k.duration} in ${known.src}:${k.extinfLine}`);
        // A delta update keeps the full playlist's DISCONTINUITY-SEQUENCE
        // while its skipped DISCONTINUITY tags are gone: not comparable.
        if (!isDelta && !known.skipped && k.dseq !== s.dseq)
          this.fail(a.src, s.uriLine, 'discontinuity-sequence',
            `msn ${s.msn} has discontinuity sequence ${s.dseq}, had ${k.dseq} in ${known.src}:${k.uriLine} (EXT-X-DISCONTINUITY-SEQUENCE must grow by exactly the discontinuities that left)`);
        if (k.pdt !== null && s.pdt !== null && Math.abs(k.pdt - s.pdt) > 1)
          this.fail(a.src, s.pdtLine, 'program-date-time', `msn ${s.msn} PROGRAM-DATE-TIME moved by ${s.pdt - k.pdt} ms since ${known.src}:${k.pdtLine}`);
      }
      prevA = a;
    }
    // PROGRAM-DATE-TIME over the life of the URL: msn order is time order.
    const seqs = [...bySeq.keys()].sort((x, y) => x - y);
    let prev = null;
    for (const m of seqs) {
      const e = bySeq.get(m);
      if (e.s.pdt === null) continue;
      if (prev && e.s.pdt <= prev.s.pdt)
        this.fail(e.src, e.s.pdtLine, 'program-date-time', `PROGRAM-DATE-TIME of msn ${m} is not after that of msn ${prev.s.msn} (${prev.src}:${prev.s.pdtLine})`);
      prev = e;
    }
    // Every part named by a preload hint then appears, unless it is the
    // first part of the segment after the last one (the stream ended first).
    const listedParts = new Set();
    const complete = new Map();  // msn -> number of parts seen for that complete segment (max)
    let lastPos = [-1, -1];
    for (const a of good) {
      for (const s of a.pl.segments) {
        for (const p of s.parts) listedParts.add(p.uri);
        if (s.parts.length) complete.set(s.msn, Math.max(complete.get(s.msn) || 0, s.parts.length));
        else if (!complete.has(s.msn)) complete.set(s.msn, 0);
      }
      if (a.pl.partial) for (const p of a.pl.partial.parts) listedParts.add(p.uri);
      const pos = position(a.pl);
      if (cmpPos(pos, lastPos) > 0) lastPos = pos;
    }
    const seenHint = new Set();
    for (const a of good) {
      const hint = a.pl.hint;
      if (!hint || seenHint.has(hint.uri)) continue;
      seenHint.add(hint.uri);
      const h = partName(hint.uri);
      if (!h || listedParts.has(hint.uri)) continue;
      // Did the playlist go past the hinted part? (The first part of the
      // segment after the last one may never come: the stream ended.)
      if (cmpPos(lastPos, [h.msn, h.idx]) <= 0) continue;
      const n = complete.get(h.msn);
      this.fail(a.src, hint.line, 'preload-hint-appears',
        `hinted part ${hint.uri} never appeared` + (n !== undefined ? ` (segment ${h.msn} was completed with ${n} parts listed)` : ` (the playlist went on to ${lastPos[0]}.${lastPos[1]})`));
    }
    // Delta updates: the skipped segments plus the rest make the full playlist.
    for (const d of good.filter((a) => a.pl.skip > 0 || a.kind === 'skip')) {
      const pd = d.pl, sig = signature(pd);
      const full = good.find((f) => f.pl.skip === 0 && f.kind !== 'skip' && signature(f.pl) === sig);
      if (!full) continue;
      const fp = full.pl;
      if (pd.skip + pd.segments.length !== fp.segments.length) {
        this.fail(d.src, pd.skipLine, 'delta-update',
          `SKIPPED-SEGMENTS ${pd.skip} + ${pd.segments.length} listed = ${pd.skip + pd.segments.length}, the full playlist ${full.src} has ${fp.segments.length}`);
        continue;
      }
      for (let i = 0; i < pd.segments.length; i++) {
        const s = pd.segments[i], f = fp.segments[pd.skip + i];
        if (s.uri !== f.uri || s.msn !== f.msn) {
          this.fail(d.src, s.uriLine, 'delta-update', `after the skip, msn ${s.msn} is ${s.uri}; the full playlist ${full.src}:${f.uriLine} has ${f.uri}`);
          break;
        }
      }
      this.deltasMatched = (this.deltasMatched || 0) + 1;
    }
  }

  // Peak segment bit rate (RFC 8216bis: the largest bit rate of any
  // contiguous set of segments lasting 0.5 to 1.5 target durations) and
  // average segment bit rate of one media playlist URL, over every segment
  // its answers listed whose size is known.
  rates(key) {
    const answers = (this.byKey.get(key) || []).filter((a) => a.pl && a.pl.td !== null);
    if (!answers.length) return null;
    const td = answers[0].pl.td;
    const segs = new Map();
    for (const a of answers) {
      for (const s of a.pl.segments) {
        if (s.gap || segs.has(s.msn)) continue;
        const bytes = this.sizes.get(new URL(s.uri, key).href);
        if (bytes === undefined) continue;
        segs.set(s.msn, { msn: s.msn, bytes, duration: s.duration, disc: s.discontinuity });
      }
    }
    const list = [...segs.values()].sort((x, y) => x.msn - y.msn);
    if (!list.length) return null;
    let peak = 0, peakAt = null, totalBits = 0, totalDur = 0;
    for (let i = 0; i < list.length; i++) {
      totalBits += list[i].bytes * 8; totalDur += list[i].duration;
      let bits = 0, dur = 0;
      for (let j = i; j < list.length; j++) {
        if (j > i && list[j].msn !== list[j - 1].msn + 1) break;
        bits += list[j].bytes * 8; dur += list[j].duration;
        if (dur > 1.5 * td + EPS) break;
        if (dur >= 0.5 * td - EPS && bits / dur > peak) { peak = bits / dur; peakAt = [list[i].msn, list[j].msn]; }
      }
    }
    return { peak, peakAt, average: totalDur > 0 ? totalBits / totalDur : 0, segments: list.length, td };
  }

  checkMasters() {
    if (!this.masters.length) return;
    // The last answer of each master URL is held to every segment seen.
    const lastByKey = new Map();
    for (const m of this.masters) lastByKey.set(m.key, m);
    for (const [mkey, m] of lastByKey) {
      const pl = m.pl;
      for (const v of pl.variants) {
        if (!v.uri) continue;
        const vkey = new URL(v.uri, mkey).href;
        const vr = this.rates(vkey);
        if (!vr) continue;
        let peak = vr.peak, avg = vr.average, what = `${v.uri} peak ${Math.round(vr.peak)} (msn ${vr.peakAt && vr.peakAt.join('-')})`;
        if (v.audio) {
          // The largest playable combination: this variant and its group's biggest rendition.
          let best = null;
          for (const r of pl.media.filter((x) => x.type === 'AUDIO' && x.group === v.audio && x.uri)) {
            const rr = this.rates(new URL(r.uri, mkey).href);
            if (rr && (!best || rr.peak > best.r.peak)) best = { r: rr, uri: r.uri };
          }
          if (best) {
            peak += best.r.peak; avg += best.r.average;
            what += ` + ${best.uri} peak ${Math.round(best.r.peak)}`;
          }
        }
        if (v.bandwidth < peak)
          this.fail(m.src, v.line, 'bandwidth', `BANDWIDTH ${v.bandwidth} < peak segment bit rate ${peak.toFixed(1)} (${what})`);
        if (v.avg !== null && Math.abs(v.avg - avg) > AVG_TOLERANCE * avg)
          this.fail(m.src, v.line, 'average-bandwidth',
            `AVERAGE-BANDWIDTH ${v.avg} is ${(100 * (v.avg - avg) / avg).toFixed(1)} % off the measured average ${Math.round(avg)} over ${vr.segments} segments of ${v.uri}`);
      }
    }
    // Audio channel count: the master's CHANNELS, the sample entry's
    // channelcount and the AudioSpecificConfig agree.
    for (const [mkey, m] of lastByKey) {
      const pl = m.pl;
      const audioUris = new Map();
      for (const r of pl.media.filter((x) => x.type === 'AUDIO' && x.uri)) audioUris.set(new URL(r.uri, mkey).href, r);
      for (const v of pl.variants) if (v.uri && /mp4a|opus/.test(v.codecs)) audioUris.set(new URL(v.uri, mkey).href, { variant: v });
      for (const [pkey, r] of audioUris) {
        const answers = this.byKey.get(pkey) || [];
        const mapUris = new Set();
        for (const a of answers) for (const mp of a.pl.maps) mapUris.add(new URL(mp.uri, pkey).href);
        for (const u of mapUris) {
          const buf = this.inits.get(u);
          if (!buf) continue;
          let entries;
          try { entries = audioEntries(buf); } catch (e) { this.fail(u, 0, 'init-channels', 'unreadable init segment: ' + e.message); continue; }
          for (const e of entries) {
            if (e.asc_channels !== null && e.asc_channels >= 1 && e.asc_channels <= 2 && e.channelcount !== e.asc_channels)
              this.fail(u, 0, 'init-channels', `${e.codec} sample entry declares ${e.channelcount} channels, its AudioSpecificConfig ${e.asc_channels}`);
            if (r.channels && e.asc_channels !== null && e.asc_channels >= 1 && e.asc_channels <= 7 && +r.channels.split('/')[0] !== e.asc_channels)
              this.fail(m.src, r.line, 'init-channels', `EXT-X-MEDIA CHANNELS="${r.channels}" but ${u} carries ${e.asc_channels}-channel audio`);
          }
        }
      }
    }
  }

  // Watch mode: the master must exist by the time a media playlist of its
  // channel has media in it.
  masterTiming(channel, tMedia, tMaster, src) {
    if (tMaster === null || tMaster - tMedia > MASTER_LATE_MS)
      this.fail(src, 0, 'master-late', tMaster === null
        ? `no master.m3u8 although a media playlist had media ${((Date.now() - tMedia) / 1000).toFixed(2)} s before the end`
        : `master.m3u8 appeared ${((tMaster - tMedia) / 1000).toFixed(2)} s after the first media playlist with media`);
  }

  // One FAIL line per violation, but at most `perGroup` for one rule on one
  // playlist URL (its versions and queries alike), then how many more.
  report(out = process.stdout, perGroup = 3) {
    const groups = new Map();
    for (const v of this.violations) {
      const base = String(v.src).replace(/\?.*$/, '').replace(/@v\d+$/, '').replace(/\/\d+(\.[a-z]+)?\.m3u8$/, '');
      const g = base + ' ' + v.rule;
      const n = (groups.get(g) || 0) + 1;
      groups.set(g, n);
      if (n <= perGroup) out.write(`FAIL ${v.src}:${v.line} [${v.rule}] ${v.msg}\n`);
    }
    for (const [g, n] of groups) {
      if (n > perGroup) { const [base, rule] = g.split(' '); out.write(`FAIL ${base}:0 [${rule}] ... and ${n - perGroup} more like the above\n`); }
    }
    const rules = {};
    for (const v of this.violations) rules[v.rule] = (rules[v.rule] || 0) + 1;
    const media = [...this.byKey.values()].reduce((x, a) => x + a.length, 0);
    out.write(`hls-check: ${this.count} answers (${this.masters.length} master, ${media} media, ${this.byKey.size} playlist URLs, ` +
      `${this.deltasMatched || 0} delta updates matched), ${this.violations.length} violations` +
      (this.violations.length ? ' ' + JSON.stringify(rules) : '') + '\n');
  }
}

// ---------------------------------------------------------------- snapshot directories

function walkFiles(dir, rel = '') {
  const out = [];
  for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = path.join(rel, e.name);
    if (e.isDirectory()) {
      if (e.name.endsWith('.m3u8')) out.push({ rel: r, dir: true });
      else out.push(...walkFiles(dir, r));
    } else if (e.name.endsWith('.m3u8')) out.push({ rel: r, dir: false });
  }
  return out;
}

function checkSnapshots(c, snap) {
  const root = path.resolve(snap);
  let sizes = {};
  if (fs.existsSync(path.join(root, 'sizes.json'))) sizes = JSON.parse(fs.readFileSync(path.join(root, 'sizes.json'), 'utf8'));
  const answers = [];
  for (const f of walkFiles(root)) {
    const key = pathToFileURL(path.join(root, f.rel)).href;
    if (!f.dir) {
      answers.push({ key, src: path.join(snap, f.rel), kind: 'file', text: fs.readFileSync(path.join(root, f.rel), 'utf8'), t: 0 });
      continue;
    }
    let meta = {};
    const mp = path.join(root, f.rel, 'answers.json');
    if (fs.existsSync(mp)) meta = JSON.parse(fs.readFileSync(mp, 'utf8'));
    const names = fs.readdirSync(path.join(root, f.rel)).filter((n) => /^\d+(\.[a-z]+)?\.m3u8$/.test(n)).sort();
    for (const n of names) {
      const m = meta[n] || {};
      answers.push({ key, src: path.join(snap, f.rel, n), kind: m.kind || n.split('.').slice(1, -1)[0] || 'file',
        text: fs.readFileSync(path.join(root, f.rel, n), 'utf8'), t: m.t ?? parseInt(n, 10) });
    }
  }
  answers.sort((x, y) => x.t - y.t);
  for (const a of answers) c.add(a);
  // sizes and inits, relative to the snapshot root
  for (const [key, list] of c.byKey) {
    for (const a of list) {
      for (const s of a.pl.segments) {
        const u = new URL(s.uri, key).href;
        if (c.sizes.has(u)) continue;
        const p = fileURLToPath(u), rel = path.relative(root, p);
        if (sizes[rel] !== undefined) c.setSize(u, sizes[rel]);
        else if (fs.existsSync(p) && fs.statSync(p).isFile()) c.setSize(u, fs.statSync(p).size);
      }
      for (const mp of a.pl.maps) {
        const u = new URL(mp.uri, key).href;
        if (!c.inits.has(u) && fs.existsSync(fileURLToPath(u))) c.setInit(u, fs.readFileSync(fileURLToPath(u)));
      }
    }
  }
}

// ---------------------------------------------------------------- saving

class Saver {
  constructor(dir, rootOf) { this.dir = dir; this.rootOf = rootOf; this.n = 0; this.meta = new Map(); this.sizes = {}; }
  rel(key) { return this.rootOf(key); }
  answer(a) {
    if (!this.dir) return;
    const rel = this.rel(a.key);
    if (rel === null) return;
    const d = path.join(this.dir, rel);
    fs.mkdirSync(d, { recursive: true });
    const name = String(++this.n).padStart(6, '0') + (a.kind && a.kind !== 'file' ? '.' + a.kind : '') + '.m3u8';
    fs.writeFileSync(path.join(d, name), a.text);
    if (!this.meta.has(d)) this.meta.set(d, {});
    this.meta.get(d)[name] = { src: a.src, kind: a.kind, t: a.t };
  }
  size(url, bytes) { if (this.dir) { const r = this.rel(url); if (r !== null) this.sizes[r] = bytes; } }
  init(url, buf) {
    if (!this.dir) return;
    const r = this.rel(url);
    if (r === null) return;
    fs.mkdirSync(path.dirname(path.join(this.dir, r)), { recursive: true });
    fs.writeFileSync(path.join(this.dir, r), buf);
  }
  close() {
    if (!this.dir) return;
    for (const [d, m] of this.meta) fs.writeFileSync(path.join(d, 'answers.json'), JSON.stringify(m, null, 1));
    fs.writeFileSync(path.join(this.dir, 'sizes.json'), JSON.stringify(this.sizes));
  }
}

// ---------------------------------------------------------------- watch: what the packager writes

async function watchDirs(c, dirs, seconds, saveDir) {
  const roots = dirs.map((d) => path.resolve(d));
  const common = roots.length === 1 ? path.dirname(roots[0]) : commonDir(roots);
  const saver = new Saver(saveDir, (key) => {
    const p = key.startsWith('file:') ? fileURLToPath(key) : null;
    return p ? path.relative(common, p) : null;
  });
  const deadline = Date.now() + seconds * 1000;
  const state = new Map(); // file -> {sig, text, n}
  const chan = new Map(roots.map((r) => [r, { tMedia: null, tMaster: null, mediaSrc: null }]));
  const lists = new Map(roots.map((r) => [r, []]));
  let lastList = 0;
  const ended = () => {
    let all = true, any = false;
    for (const r of roots) {
      for (const f of lists.get(r)) {
        if (f.endsWith('master.m3u8')) continue;
        any = true;
        const s = state.get(f);
        if (!s || !/#EXT-X-ENDLIST/.test(s.text)) all = false;
      }
    }
    return any && all;
  };
  let endedSince = null;
  while (Date.now() < deadline) {
    const now = Date.now();
    if (now - lastList > 200) {
      lastList = now;
      for (const r of roots) {
        const found = [];
        if (fs.existsSync(path.join(r, 'master.m3u8'))) found.push(path.join(r, 'master.m3u8'));
        let ents = [];
        try { ents = fs.readdirSync(r, { withFileTypes: true }); } catch (e) { /* not yet */ }
        for (const e of ents) if (e.isDirectory() && fs.existsSync(path.join(r, e.name, 'index.m3u8'))) found.push(path.join(r, e.name, 'index.m3u8'));
        lists.set(r, found);
      }
    }
    for (const r of roots) {
      for (const f of lists.get(r)) {
        let st;
        try { st = fs.statSync(f); } catch (e) { continue; }
        const sig = `${st.ino}:${st.size}:${st.mtimeMs}`;
        const s = state.get(f) || { sig: '', text: '', n: 0 };
        if (s.sig === sig) continue;
        let text;
        try { text = fs.readFileSync(f, 'utf8'); } catch (e) { continue; }
        s.sig = sig;
        if (text === s.text) { state.set(f, s); continue; }
        s.text = text; s.n++;
        state.set(f, s);
        const key = pathToFileURL(f).href;
        const a = { key, src: `${f}@v${s.n}`, kind: 'file', text, t: Date.now() };
        c.add(a);
        saver.answer(a);
        const ch = chan.get(r);
        if (a.pl && a.pl.master) { if (ch.tMaster === null) ch.tMaster = a.t; continue; }
        if (a.pl && ch.tMedia === null && (a.pl.segments.length || a.pl.partial)) { ch.tMedia = a.t; ch.mediaSrc = a.src; }
        if (!a.pl) continue;
        for (const seg of a.pl.segments) {
          const u = new URL(seg.uri, key).href;
          if (c.sizes.has(u) || seg.gap) continue;
          try { const b = fs.statSync(fileURLToPath(u)).size; c.setSize(u, b); saver.size(u, b); } catch (e) { /* gone already */ }
        }
        for (const mp of a.pl.maps) {
          const u = new URL(mp.uri, key).href;
          if (c.inits.has(u)) continue;
          try { const b = fs.readFileSync(fileURLToPath(u)); c.setInit(u, b); saver.init(u, b); } catch (e) { /* not there */ }
        }
      }
    }
    if (ended()) { endedSince = endedSince || Date.now(); if (Date.now() - endedSince > 600) break; } else endedSince = null;
    await sleep(15);
  }
  for (const [r, ch] of chan) if (ch.tMedia !== null) c.masterTiming(r, ch.tMedia, ch.tMaster, ch.mediaSrc);
  saver.close();
}

function commonDir(ps) {
  let p = path.dirname(ps[0]);
  while (!ps.every((x) => x.startsWith(p + path.sep))) p = path.dirname(p);
  return p;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- follow: what the origin serves

async function get(url, timeoutMs = 20000, method = 'GET', stop = null) {
  const t = Date.now();
  try {
    const signal = stop ? AbortSignal.any([AbortSignal.timeout(timeoutMs), stop]) : AbortSignal.timeout(timeoutMs);
    const r = await fetch(url, { method, signal, headers: { 'User-Agent': 'sigma-hls-check' } });
    const body = method === 'HEAD' ? '' : await r.text();
    return { status: r.status, body, headers: r.headers, t, ms: Date.now() - t };
  } catch (e) {
    return { status: 0, body: '', error: String(e.message || e), t, ms: Date.now() - t };
  }
}

async function follow(c, masters, seconds, saveDir) {
  const deadline = Date.now() + seconds * 1000;
  const saver = new Saver(saveDir, (key) => { try { return decodeURIComponent(new URL(key).pathname).replace(/^\/+/, ''); } catch (e) { return null; } });
  let nAnswer = 0;
  const record = (key, url, kind, r) => {
    const a = { key, src: url, kind, text: r.body, t: r.t + r.ms, status: r.status };
    nAnswer++;
    c.add(a);
    saver.answer(a);
    return a;
  };
  const sized = new Set();
  const sizeOf = async (u) => {
    if (sized.has(u)) return;
    sized.add(u);
    const r = await get(u, 10000, 'HEAD');
    const len = r.headers && r.headers.get('content-length');
    if (r.status === 200 && len !== null) { c.setSize(u, +len); saver.size(u, +len); }
  };
  const initOf = async (u) => {
    if (c.inits.has(u)) return;
    c.inits.set(u, null);
    const r = await fetch(u, { signal: AbortSignal.timeout(10000) }).catch(() => null);
    if (r && r.status === 200) { const b = Buffer.from(await r.arrayBuffer()); c.setInit(u, b); saver.init(u, b); }
    else c.inits.delete(u);
  };
  const media = (key, a) => {
    if (!a.pl) return;
    for (const s of a.pl.segments) if (!s.gap) sizeOf(new URL(s.uri, key).href);
    for (const mp of a.pl.maps) initOf(new URL(mp.uri, key).href);
  };
  const ended = new Set();
  const stops = new Map();   // key -> AbortController: held requests end when the playlist has ended
  const stopOf = (key) => { if (!stops.has(key)) stops.set(key, new AbortController()); return stops.get(key).signal; };
  const end = (key) => { ended.add(key); stopOf(key); stops.get(key).abort(); };
  const edge = new Map(); // key -> {msn, part} the blocking follower's latest request

  async function plain(key) {
    let iv = 500;
    while (Date.now() < deadline && !ended.has(key)) {
      const r = await get(key);
      if (r.status !== 200) { c.fail(key, 0, 'http', `plain playlist request answered ${r.status} ${r.error || ''}`); await sleep(500); continue; }
      const a = record(key, key, 'plain', r);
      media(key, a);
      if (a.pl && a.pl.td) iv = a.pl.partTarget ? 1000 * a.pl.partTarget * 2 : Math.max(250, 500 * a.pl.td);
      if (a.pl && a.pl.endlist) { end(key); break; }
      await sleep(iv);
    }
  }

  async function blocking(key) {
    let r = await get(key);
    let a = r.status === 200 ? record(key, key, 'plain', r) : null;
    let tested400 = false;
    while (Date.now() < deadline && a && a.pl && !a.pl.endlist) {
      const pl = a.pl;
      if (!pl.sc || !pl.sc.canBlock) return;
      let q;
      const h = pl.hint && partName(pl.hint.uri);
      if (h) q = `_HLS_msn=${h.msn}&_HLS_part=${h.idx}`;
      else if (pl.partTarget && pl.partial) q = `_HLS_msn=${pl.partial.msn}&_HLS_part=${pl.partial.parts.length}`;
      else { const pos = position(pl); q = `_HLS_msn=${pos[0] + 1}`; }
      const [m, p] = [/_HLS_msn=(\d+)/.exec(q)[1], (/_HLS_part=(\d+)/.exec(q) || [])[1]];
      edge.set(key, { msn: +m, part: p === undefined ? null : +p });
      // Once per playlist, two requests RFC 8216bis 6.2.5.2 decides:
      // a part index past the last part of a complete segment M stands for
      // part 0 of M+1 (answered with a playlist that has it), and a part
      // beyond the last one by more than the Advance Part Limit (3 parts,
      // or 3 / PART-TARGET under 1 s) is 400 Bad Request.
      if (!tested400 && pl.partTarget && pl.partial) {
        const done = pl.segments.filter((s) => s.parts.length).pop();
        if (done) {
          tested400 = true;
          const u = `${key}?_HLS_msn=${done.msn}&_HLS_part=${done.parts.length}`;
          const next = await get(u, 20000);
          if (next.status !== 200) c.expectStatus(u, next.status, 200, 'blocking-next-segment',
            `segment ${done.msn} is complete with ${done.parts.length} parts (0..${done.parts.length - 1}): part ${done.parts.length} of it is part 0 of segment ${done.msn + 1}`);
          else {
            const npl = model(next.body);
            if (cmpPos(position(npl), [done.msn + 1, 0]) < 0)
              c.fail(u, 0, 'blocking-next-segment', `answered with a playlist that ends at ${position(npl).join('.')}, before part 0 of segment ${done.msn + 1} (what part ${done.parts.length} of complete segment ${done.msn} stands for)`);
          }
          const limit = pl.partTarget < 1 ? 3 / pl.partTarget : 3;
          const far = pl.partial.parts.length - 1 + Math.ceil(limit) + 3;
          const u2 = `${key}?_HLS_msn=${pl.partial.msn}&_HLS_part=${far}`;
          const bad = await get(u2, 20000);
          c.expectStatus(u2, bad.status, 400, 'blocking-400',
            `part ${far} of segment ${pl.partial.msn} lies ${far - pl.partial.parts.length + 1} parts past the last one listed (${pl.partial.msn}.${pl.partial.parts.length - 1}), beyond the Advance Part Limit of ${limit.toFixed(2)}`);
        }
      }
      const url = `${key}?${q}`;
      r = await get(url, 40000, 'GET', stopOf(key));
      if (ended.has(key)) break;
      if (r.status === 200) { a = record(key, url, 'block', r); media(key, a); continue; }
      if (r.status === 503) {             // held past --hold-timeout: the stream paused, or ended
        r = await get(key);
        if (r.status === 200) a = record(key, key, 'plain', r);
        continue;
      }
      c.fail(url, 0, 'http', `blocking reload at the edge answered ${r.status} ${r.error || ''}`);
      await sleep(300);
      r = await get(key);
      if (r.status === 200) a = record(key, key, 'plain', r);
    }
    if (a && a.pl && a.pl.endlist) end(key);
  }

  async function skipper(key) {
    let n = 0;
    while (Date.now() < deadline && !ended.has(key)) {
      await sleep(700);
      const e = edge.get(key);
      if (!e) continue;
      const q = `_HLS_msn=${e.msn}` + (e.part !== null ? `&_HLS_part=${e.part}` : '');
      const sk = n++ % 2 ? 'v2' : 'YES';
      const du = `${key}?${q}&_HLS_skip=${sk}`, fu = `${key}?${q}`;
      const [d, f] = await Promise.all([get(du, 40000, 'GET', stopOf(key)), get(fu, 40000, 'GET', stopOf(key))]);
      if (d.status === 200) record(key, du, 'skip', d);
      if (f.status === 200) record(key, fu, 'block', f);
    }
  }

  await Promise.all(masters.map(async (mu) => {
    let r;
    while (Date.now() < deadline) { r = await get(mu); if (r.status === 200) break; await sleep(100); }
    if (!r || r.status !== 200) { c.fail(mu, 0, 'http', `master playlist never answered 200 (last ${r && r.status})`); return; }
    const m = record(mu, mu, 'master', r);
    const urls = new Set();
    for (const v of m.pl.variants) if (v.uri) urls.add(new URL(v.uri, mu).href);
    for (const x of m.pl.media) if (x.uri) urls.add(new URL(x.uri, mu).href);
    const tasks = [];
    for (const u of urls) {
      tasks.push(plain(u), blocking(u));
      tasks.push((async () => {
        const first = await get(u);
        if (first.status === 200 && /CAN-SKIP-UNTIL/.test(first.body)) await skipper(u);
      })());
    }
    tasks.push((async () => {   // the master again, now and then, and at the end
      while (Date.now() < deadline && ![...urls].every((u) => ended.has(u))) {
        await sleep(2000);
        const rr = await get(mu);
        if (rr.status === 200) record(mu, mu, 'master', rr);
      }
      const rr = await get(mu);
      if (rr.status === 200) record(mu, mu, 'master', rr);
    })());
    await Promise.all(tasks);
  }));
  // Sizes still being fetched.
  await sleep(300);
  saver.close();
  return nAnswer;
}

// ---------------------------------------------------------------- CLI

function usage(msg) {
  process.stderr.write((msg ? 'hls-check: ' + msg + '\n' : '') +
    'usage: node hls-check.js check SNAPDIR...\n' +
    '       node hls-check.js watch CHANNELDIR... --seconds N [--save SNAPDIR]\n' +
    '       node hls-check.js follow MASTERURL... --seconds N [--save SNAPDIR]\n');
  process.exit(2);
}

async function main(argv) {
  const [cmd, ...rest] = argv;
  const opts = { seconds: null, save: null };
  const pos = [];
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === '--seconds') opts.seconds = Number(rest[++i]);
    else if (rest[i] === '--save') opts.save = rest[++i];
    else if (rest[i].startsWith('--')) usage('unknown option ' + rest[i]);
    else pos.push(rest[i]);
  }
  if (!pos.length) usage();
  const c = new Checker();
  if (cmd === 'check') {
    for (const d of pos) { if (!fs.existsSync(d)) usage(`${d}: no such directory`); checkSnapshots(c, d); }
    if (!c.count) { process.stderr.write('hls-check: no playlist found\n'); return 2; }
  } else if (cmd === 'watch' || cmd === 'follow') {
    if (!(opts.seconds > 0 && opts.seconds <= 3600)) usage('--seconds must be in (0, 3600]');
    if (cmd === 'watch') await watchDirs(c, pos, opts.seconds, opts.save);
    else {
      for (const u of pos) if (!/^http:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?\//.test(u)) usage(`${u}: only loopback http URLs`);
      await follow(c, pos, opts.seconds, opts.save);
    }
    if (!c.count) { c.report(); process.stderr.write('hls-check: nothing was collected\n'); return 2; }
  } else usage('unknown command ' + cmd);
  c.finish();
  c.report();
  return c.violations.length ? 1 : 0;
}

module.exports = { Checker, model, partName, audioEntries, checkSnapshots };

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code), (e) => {
    process.stderr.write('hls-check: ' + (e && e.stack || e) + '\n');
    process.exit(2);
  });
}
