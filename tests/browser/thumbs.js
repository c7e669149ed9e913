#!/usr/bin/env node
// The watch page's thumbnails, checked as a viewer sees them in headless
// Chromium: the channel list's live picture (thumbs/latest.jpg) loads as a
// decoded picture and is replaced by a newer one; hovering the seek bar
// (and dragging it) shows a preview whose background is the sprite sheet
// and offset that the window's thumbnails.vtt gives for that moment, the
// moment computed here from hls.js' fragments and checked against
// sigma-thumb's own sheet JSON; Chromium's WebVTT parser reads the same
// cues; no console or page error. Prints one JSON line.
//
//   node tests/browser/thumbs.js PAGE_URL [--screenshots DIR]
//
// PAGE_URL: the watch page on a live channel with thumbnails, dvr=1.
// Exit status: 0 every check held; 1 one failed (named in "failed");
// 2 usage or browser error.
'use strict';
const http = require('http');
const path = require('path');
const { sleep, withChromium, run } = require('./browser');

const argv = process.argv.slice(2);
const pageUrl = argv[0];
const shots = argv[1] === '--screenshots' ? argv[2] : null;
if (!pageUrl || !/^https?:\/\//.test(pageUrl) || (argv[1] && !shots)) {
  process.stderr.write('usage: node tests/browser/thumbs.js PAGE_URL [--screenshots DIR]\n');
  process.exit(2);
}

function get(url) {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    }).on('error', reject);
  });
}

// This test's own reading of the VTT (not the page's): cue times in ms.
function cuesOf(text, base) {
  const ms = (t) => { const p = t.split(':').map(Number); return Math.round(((p[0] * 60 + p[1]) * 60 + p[2]) * 1000); };
  return text.trim().split(/\n\n/).slice(1).map((b) => {
    const [timing, ref] = b.split('\n');
    const [s, e] = timing.split(' --> ').map(ms);
    const [uri, xywh] = ref.split('#xywh=');
    const [x, y, w, h] = xywh.split(',').map(Number);
    return { start: s, end: e, text: ref, url: new URL(uri, base).href, x, y, w, h };
  });
}

async function main() {
  const out = { checks: [], failed: [], hovers: [] };
  const check = (name, ok, detail) => {
    out.checks.push(Object.assign({ name, ok: !!ok }, detail === undefined ? {} : { detail }));
    if (!ok) out.failed.push(name);
  };
  const shot = async (page, name) => { if (shots) await page.screenshot({ path: path.join(shots, name + '.png') }); };

  const code = await withChromium('thumbs', 90, {}, async (page) => {
    const consoleErrors = [], pageErrors = [];
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    page.on('response', (r) => { if (r.status() >= 400) consoleErrors.push(r.status() + ' ' + r.url()); });
    await page.goto(pageUrl, { waitUntil: 'load', timeout: 30000 });

    // The list's picture: loaded, decoded, at the size sigma-thumb wrote.
    const picture = () => page.evaluate(async () => {
      const img = document.querySelector('#channels img.thumb');
      if (!img || !img.complete || !img.naturalWidth) return null;
      try { await img.decode(); } catch (e) { return { error: String(e) }; }
      const c = document.createElement('canvas');
      c.width = img.naturalWidth; c.height = img.naturalHeight;
      const g = c.getContext('2d');
      g.drawImage(img, 0, 0);
      const px = g.getImageData(0, 0, c.width, c.height).data;
      let sum = 0;
      for (let i = 0; i < px.length; i += 97) sum = (sum * 31 + px[i]) % 1000000007;
      return { src: img.src, w: img.naturalWidth, h: img.naturalHeight, hidden: img.hidden, sum,
        shown: img.getBoundingClientRect().width > 0 };
    });
    let p0 = null;
    for (let i = 0; i < 40 && !(p0 && p0.w); i++) { p0 = await picture(); if (!(p0 && p0.w)) await sleep(250); }
    check('list picture decoded', p0 && p0.w === 320 && p0.h === 180 && p0.shown && !p0.hidden, p0);
    await sleep(4500);
    const p1 = await picture();
    check('list picture refreshed (a new URL, a newer picture)', p1 && p0 && p1.src !== p0.src && p1.w === 320 &&
      p1.sum !== p0.sum, { before: p0 && p0.src, after: p1 && p1.src });
    out.list = { before: p0, after: p1 };
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, 'list');

    // The seek bar, playback, and the page's VTT.
    const state = () => page.evaluate(() => ({
      bar: !document.getElementById('dvr').hidden, decoded: (document.getElementById('video').getVideoPlaybackQuality() || {}).totalVideoFrames || 0,
      cues: window.__sigma.thumbs.cues, vtt: window.__sigma.thumbs.vtt_url,
    }));
    let s = await state();
    for (let i = 0; i < 60 && !(s.bar && s.decoded > 30 && s.cues >= 5); i++) { await sleep(250); s = await state(); }
    check('seek bar, playback and the window VTT', s.bar && s.decoded > 30 && s.cues >= 5, s);
    if (!s.vtt) return 1;
    out.vtt_url = s.vtt;

    // Hover at a quarter, half and three quarters of the bar, then drag to
    // two fifths: each time the preview must be the cue of that moment.
    const probe = async (frac, how) => {
      const geo = await page.evaluate((f) => {
        const el = document.getElementById('dvr-seek');
        el.scrollIntoView({ block: 'center' });  // as a viewer scrolls to the bar
        const r = el.getBoundingClientRect();
        const min = +el.min, max = +el.max;
        return { x: r.left + f * r.width, y: r.top + r.height / 2, pos: min + f * (max - min) };
      }, frac);
      const act = async () => {
        if (how === 'hover') {
          await page.mouse.move(geo.x + 1, geo.y);
          await page.mouse.move(geo.x, geo.y);
        } else {
          await page.evaluate((pos) => {
            const el = document.getElementById('dvr-seek');
            el.value = String(pos);
            el.dispatchEvent(new Event('input', { bubbles: true }));
          }, geo.pos);
        }
        await sleep(150);
      };
      await act();
      // A moment the page's VTT did not reach yet makes it ask again: the
      // viewer's next move shows it.
      if (await page.evaluate(() => document.getElementById('dvr-preview').hidden)) {
        await sleep(1500);
        await act();
      }
      const seen = await page.evaluate((pos) => {
        const el = document.getElementById('dvr-preview');
        const tile = el.querySelector('.tile');
        const cs = getComputedStyle(tile);
        const frags = window.__hls.latestLevelDetails.fragments.map((f) => ({ start: f.start, pdt: f.programDateTime }));
        return { shown: !el.hidden && el.getBoundingClientRect().height > 0, state: window.__sigma.thumbs.preview,
          bg: cs.backgroundImage, bgpos: cs.backgroundPosition, w: cs.width, h: cs.height, frags, value: pos,
          input_value: +document.getElementById('dvr-seek').value };
      }, geo.pos);
      // The live bar grows while the pointer rests on it (and the probe
      // moves again after a VTT refresh), so the position the page read
      // under the pointer is the one measured before the move plus the
      // bar's growth since: within 2 s of it here. The check below is then
      // on the page's own position: its moment, from the fragments, must
      // be the cue shown.
      const st = seen.state || {};
      const posNear = how !== 'hover' || (typeof st.pos === 'number' && Math.abs(st.pos - geo.pos) < 2);
      // The moment at this position, from the fragments: the last one
      // starting at or before it, plus the offset into it.
      const pos = how === 'hover' ? (posNear ? st.pos : geo.pos) : seen.input_value;
      let f = null;
      for (const g of seen.frags) if (g.start <= pos) f = g;
      const pdt = f.pdt + (pos - f.start) * 1000;
      const vttUrl = await page.evaluate(() => window.__sigma.thumbs.vtt_url);  // the page's, as it is now
      const vtt = await get(vttUrl);
      const start = Number(new URL(vttUrl).searchParams.get('start')) * 1000;
      const cues = cuesOf(vtt.body, vttUrl);
      const want = cues.find((c) => c.start <= pdt - start && pdt - start < c.end);
      // sigma-thumb's sheet JSON: that tile's slot starts at or before the
      // moment, and the sheet's next tile after it.
      let slotOk = false;
      if (want) {
        const meta = JSON.parse((await get(want.url.replace(/\.jpg$/, '.json'))).body);
        const i = meta.tiles.findIndex((t) => t.x === want.x && t.y === want.y);
        const t = meta.tiles[i], next = meta.tiles[i + 1];
        slotOk = !!t && t.slot * meta.interval_ms <= pdt && (!next || next.slot * meta.interval_ms > pdt);
      }
      const ok = posNear && seen.shown && want && st.url === want.url && Math.abs(st.pdt - pdt) < 100 &&
        seen.bg === 'url("' + want.url + '")' && seen.bgpos === (-want.x) + 'px ' + (-want.y) + 'px' &&
        seen.w === want.w + 'px' && seen.h === want.h + 'px' && slotOk;
      const rec = { how, frac, measured: geo.pos, pos, pdt, want, seen: { shown: seen.shown, state: st, bg: seen.bg, bgpos: seen.bgpos, w: seen.w, h: seen.h }, slotOk };
      out.hovers.push(rec);
      check('preview at ' + frac + ' (' + how + ') is the cue of its moment', ok, ok ? undefined : rec);
      return rec;
    };
    await probe(0.25, 'hover');
    const mid = await probe(0.5, 'hover');
    await shot(page, 'preview');
    await probe(0.75, 'hover');
    await probe(0.4, 'drag');
    await page.evaluate(() => document.getElementById('dvr-seek').dispatchEvent(new Event('change', { bubbles: true })));

    // The sprite sheet itself decodes and holds the tile.
    if (mid.want) {
      const img = await page.evaluate(async (u) => {
        const im = new Image();
        im.src = u;
        await im.decode();
        return { w: im.naturalWidth, h: im.naturalHeight };
      }, mid.want.url);
      check('sprite sheet decodes and holds the tile', img.w >= mid.want.x + mid.want.w && img.h >= mid.want.y + mid.want.h, img);
    }

    // Pointer away: no preview.
    await page.mouse.move(5, 5);
    await sleep(150);
    check('preview hidden when the pointer leaves', await page.evaluate(() => document.getElementById('dvr-preview').hidden));

    // Chromium's own WebVTT parser reads the same cues.
    const vtt = await get(out.vtt_url);
    const mine = cuesOf(vtt.body, out.vtt_url);
    const parsed = await page.evaluate((u) => new Promise((resolve) => {
      const v = document.createElement('video');
      const t = document.createElement('track');
      t.kind = 'metadata'; t.src = u; t.default = true;
      t.addEventListener('load', () => resolve(Array.from(t.track.cues).map((c) => ({ s: c.startTime, e: c.endTime, text: c.text }))));
      t.addEventListener('error', () => resolve(null));
      v.appendChild(t);
      document.body.appendChild(v);
      t.track.mode = 'hidden';
      setTimeout(() => resolve(null), 5000);
    }), out.vtt_url);
    check('Chromium parses the VTT to the same cues', parsed && parsed.length === mine.length && parsed.every((c, i) =>
      c.text === mine[i].text && Math.abs(c.s * 1000 - mine[i].start) < 1 && Math.abs(c.e * 1000 - mine[i].end) < 1),
    { chromium: parsed && parsed.length, ours: mine.length });
    check('no console error', consoleErrors.length === 0, consoleErrors);
    check('no page error', pageErrors.length === 0, pageErrors);
    return out.failed.length ? 1 : 0;
  });
  process.stdout.write(JSON.stringify(out) + '\n');
  return code || (out.failed.length ? 1 : 0);
}

run('thumbs', main);
