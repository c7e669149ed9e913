#!/usr/bin/env node
// The watch page's timeshift bar, driven as a viewer would in headless
// Chromium: the page as sigma-origin serves it, hls.js, the bar's own
// controls (Pause, the range input, LIVE). Prints one JSON line of what
// was seen and checked.
//
//   node tests/browser/dvr.js --dvr PAGE_URL [--plain PAGE_URL] [--screenshots DIR]
//
// --dvr: a live channel with a DVR window (> 30 s): the bar appears, Pause
// stops the clock, seeking 15 s back plays from there (currentTime moves
// on, frames are decoded), LIVE returns to within a few seconds of the
// live edge. --plain, checked first: a live channel with the default
// window plays and shows no bar.
//
// Exit status: 0 every check held; 1 one failed (named in "failed");
// 2 usage or browser error.
'use strict';
const path = require('path');
const { sleep, withChromium, run } = require('./browser');

function usage(msg) {
  process.stderr.write((msg ? 'dvr.js: ' + msg + '\n' : '') +
    'usage: node tests/browser/dvr.js --dvr PAGE_URL [--plain PAGE_URL] [--screenshots DIR]\n');
  process.exit(2);
}

const opts = {};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  if (!['--dvr', '--plain', '--screenshots'].includes(argv[i]) || argv[i + 1] === undefined) usage();
  opts[argv[i].slice(2)] = argv[i + 1];
}
if (!opts.dvr) usage('--dvr is required');
for (const u of [opts.dvr, opts.plain].filter(Boolean)) if (!/^https?:\/\//.test(u)) usage('URLs must be http(s)');

// What the page shows and plays, read as a test reads it: the bar's DOM
// and the media element (window.__sigma holds the page's own figures).
function snapshot(page) {
  return page.evaluate(() => {
    const v = document.getElementById('video');
    const bar = document.getElementById('dvr');
    const q = v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : {};
    const w = window.__sigmaDvr ? window.__sigmaDvr.window() : null;
    return {
      bar_visible: !!bar && !bar.hidden && bar.getBoundingClientRect().height > 0,
      range: bar ? { min: +document.getElementById('dvr-seek').min, max: +document.getElementById('dvr-seek').max,
        value: +document.getElementById('dvr-seek').value } : null,
      label: bar ? document.getElementById('dvr-behind').textContent : null,
      live_pressed: bar ? document.getElementById('dvr-live').getAttribute('aria-pressed') : null,
      play_label: bar ? document.getElementById('dvr-play').textContent : null,
      current_time: v.currentTime, paused: v.paused,
      decoded: q.totalVideoFrames || 0,
      window: w,
      edge: window.__hls && window.__hls.latestLevelDetails ? window.__hls.latestLevelDetails.edge : null,
      errors_fatal: window.__sigma.errors_fatal, gave_up: window.__sigma.gave_up,
    };
  });
}

async function waitFor(page, what, pred, seconds) {
  const until = Date.now() + seconds * 1000;
  for (;;) {
    const s = await snapshot(page);
    if (pred(s)) return s;
    if (Date.now() > until) throw Object.assign(new Error('timed out waiting for ' + what), { snapshot: s });
    await sleep(250);
  }
}

async function main() {
  const out = { checks: [], failed: [] };
  const check = (name, ok, detail) => {
    out.checks.push(Object.assign({ name, ok: !!ok }, detail === undefined ? {} : { detail }));
    if (!ok) out.failed.push(name);
  };
  const shot = async (page, name) => {
    if (opts.screenshots) await page.screenshot({ path: path.join(opts.screenshots, name + '.png') });
  };
  const code = await withChromium('dvr', 120, {}, async (page) => {
    const pageErrors = [];
    page.on('pageerror', (e) => pageErrors.push(String(e)));

    if (opts.plain) {
      await page.goto(opts.plain, { waitUntil: 'load', timeout: 30000 });
      const s0 = await waitFor(page, 'the plain channel to play', (s) => s.decoded > 30, 20).catch((e) => e.snapshot);
      check('plain channel plays', s0 && s0.decoded > 30, s0);
      await sleep(4000);  // the bar would have appeared by now
      const s = await snapshot(page);
      check('plain channel: no seek bar', !s.bar_visible, { window: s.window });
      out.plain = s;
      await shot(page, 'plain');
    }

    await page.goto(opts.dvr, { waitUntil: 'load', timeout: 30000 });
    let s = await waitFor(page, 'the DVR channel to play', (x) => x.decoded > 30, 20).catch((e) => e.snapshot);
    check('DVR channel plays', s && s.decoded > 30, s);
    s = await waitFor(page, 'the seek bar', (x) => x.bar_visible, 30).catch((e) => e.snapshot);
    check('seek bar shown', s && s.bar_visible, s && { window: s.window });
    if (!s || !s.bar_visible) return 1;
    out.at_start = s;
    // Accessible: a labelled range input and labelled buttons.
    const seek = page.getByRole('slider', { name: 'Position in the live window' });
    const live = page.getByRole('button', { name: 'LIVE' });
    const pause = page.getByRole('button', { name: 'Pause' });
    check('controls found by role and name', (await seek.count()) === 1 && (await live.count()) === 1 &&
      (await pause.count()) === 1);
    s = await waitFor(page, 'the player at the live edge', (x) => x.live_pressed === 'true', 10).catch((e) => e.snapshot);
    check('LIVE pressed at start', s.live_pressed === 'true', { label: s.label, window: s.window, t: s.current_time });
    // The range runs from the playlist's start to the live position
    // (hls.js plays a few target durations behind the newest segment).
    check('range covers the window', s.window.span > 30 && s.range.min <= s.window.start + 1 &&
      s.range.max >= s.window.end - 1 && Math.abs(s.range.value - s.current_time) < 2, { range: s.range, window: s.window });
    await shot(page, 'live');

    // Pause: the clock stops.
    await pause.click();
    await sleep(1500);
    const p0 = await snapshot(page);
    await sleep(1500);
    const p1 = await snapshot(page);
    check('Pause pauses', p1.paused && p1.current_time - p0.current_time < 0.05 && p1.play_label === 'Play',
      { before: p0.current_time, after: p1.current_time, label: p1.play_label });

    // Seek 15 s back from the live position, as a drag of the range ends:
    // its value set, then input and change.
    const target = p1.window.end - 15;
    await seek.evaluate((el, t) => {
      el.value = String(t);
      el.dispatchEvent(new Event('input', { bubbles: true }));
      el.dispatchEvent(new Event('change', { bubbles: true }));
    }, target);
    await page.getByRole('button', { name: 'Play' }).click();
    const seeked = await waitFor(page, 'playback after the seek', (x) => !x.paused && Math.abs(x.current_time - target) < 3, 10)
      .catch((e) => e.snapshot);
    const d0 = seeked.decoded;
    await sleep(6000);
    s = await snapshot(page);
    const behind = s.window.end - s.current_time;
    out.after_seek = Object.assign({ target, behind_s: behind }, s);
    check('plays from the seek position', s.current_time - target > 3 && s.current_time - target < 10,
      { target, t: s.current_time });
    check('frames decoded after the seek', s.decoded - d0 > 60, { before: d0, after: s.decoded });
    check('behind live by about 15 s', behind > 11 && behind < 24, { behind_s: behind, label: s.label });
    check('LIVE not pressed while behind', s.live_pressed === 'false' && /behind live/.test(s.label), { label: s.label });
    await shot(page, 'behind');

    // LIVE: back to the edge.
    await live.click();
    await sleep(4000);
    s = await snapshot(page);
    out.after_live = s;
    check('LIVE returns to the live position', s.window.end - s.current_time < 3,
      { live_position: s.window.end, t: s.current_time });
    check('within a few seconds of the playlist edge', s.edge - s.current_time < 8, { edge: s.edge, t: s.current_time });
    check('LIVE pressed again', s.live_pressed === 'true' && !s.paused, { label: s.label });
    const l0 = s.decoded;
    await sleep(2000);
    s = await snapshot(page);
    check('still decoding at live', s.decoded - l0 > 20, { before: l0, after: s.decoded });
    check('no fatal error', s.errors_fatal === 0 && !s.gave_up, { errors_fatal: s.errors_fatal, gave_up: s.gave_up });
    check('no page error', pageErrors.length === 0, pageErrors);
    await shot(page, 'back-live');
    return out.failed.length ? 1 : 0;
  });
  process.stdout.write(JSON.stringify(out) + '\n');
  return code || (out.failed.length ? 1 : 0);
}

run('dvr', main);
