#!/usr/bin/env node
// The Go-live page in headless Chromium with a fake camera and microphone:
// opens GOLIVE_URL (sigma-origin's /golive?whip=...&key=...), clicks Go
// live, waits for the page to say live, plays WATCH_URL (an HLS playlist,
// through hls.js on the watch page of web/) in a second page while it
// publishes for SECONDS, then clicks Stop. Prints one JSON line: the
// page's states, its bitrate figures, the frames the viewer decoded, the
// viewer URL it showed, errors.
//
//   node tests/browser/golive.js GOLIVE_URL WATCH_URL SECONDS
//
// Exit status: 0 the page went live and the viewer decoded frames; 1 not;
// 2 usage or browser error.
'use strict';
const path = require('path');
const { WEB, sleep, withChromium, run } = require('./browser');

const [golive, watch, secs] = process.argv.slice(2);
if (!golive || !watch || !(Number(secs) > 0)) {
  process.stderr.write('usage: node tests/browser/golive.js GOLIVE_URL WATCH_URL SECONDS\n');
  process.exit(2);
}
const seconds = Number(secs);
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--autoplay-policy=no-user-gesture-required', '--disable-background-media-suspend',
  '--disable-renderer-backgrounding', '--disable-background-timer-throttling',
  '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
  // Host candidates as addresses, not mDNS names (libnice resolves none).
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--allow-loopback-in-peer-connection'];

run('golive', () => withChromium('golive', seconds + 40, {
  '/viewer.html': [path.join(__dirname, 'viewer.html'), 'text/html'],
  '/_player/hls.min.js': [path.join(WEB, 'node_modules/hls.js/dist/hls.min.js'), 'application/javascript'],
}, async (page, pageBase) => {
  const out = { states: [], kbps: [], frames: 0, errors: [] };
  page.on('pageerror', (e) => out.errors.push(String(e)));
  await page.goto(golive);
  await page.waitForFunction(() => [...document.querySelectorAll('#camera option')].some((o) => o.value !== 'none'), null, { timeout: 15000 });
  out.cameras = await page.$$eval('#camera option', (o) => o.map((x) => x.textContent));
  await page.click('#golive');
  const deadline = Date.now() + 20000;
  let state = '';
  while (Date.now() < deadline) {
    state = await page.$eval('#state', (e) => e.textContent);
    if (out.states[out.states.length - 1] !== state) out.states.push(state);
    if (state === 'live' || state === 'failed') break;
    await sleep(100);
  }
  out.error_text = await page.$eval('#error', (e) => e.textContent);
  if (state !== 'live') return print(out, 1);
  out.viewer_url = await page.$eval('#viewer', (e) => e.href);
  const ctx = page.context();
  const viewer = await ctx.newPage();
  viewer.on('pageerror', (e) => out.errors.push('viewer: ' + String(e)));
  const started = Date.now();
  // The playlist appears with the first segment: ask until it does.
  let loaded = false;
  while (!loaded && Date.now() - started < 15000) {
    const r = await viewer.request.get(watch).catch(() => null);
    if (r && r.ok()) loaded = true;
    else await sleep(250);
  }
  await viewer.goto(pageBase + '/viewer.html?src=' + encodeURIComponent(watch));
  while (Date.now() - started < seconds * 1000) {
    await sleep(1000);
    const kbps = await page.evaluate(() => Number(document.body.dataset.kbps || 0));
    out.kbps.push(kbps);
    state = await page.$eval('#state', (e) => e.textContent);
    if (out.states[out.states.length - 1] !== state) out.states.push(state);
  }
  out.frames = await viewer.evaluate(() => {
    const v = document.querySelector('video');
    return v && v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality().totalVideoFrames : 0;
  });
  out.viewer_time = await viewer.evaluate(() => { const v = document.querySelector('video'); return v ? v.currentTime : 0; });
  await page.screenshot({ path: process.env.SIGMA_SCREENSHOT || path.join(require('os').tmpdir(), 'golive.png') }).catch(() => {});
  await page.click('#stop');
  await page.waitForFunction(() => document.getElementById('state').textContent === 'stopped', null, { timeout: 5000 });
  out.states.push('stopped');
  return print(out, out.frames > 0 ? 0 : 1);
}, { args: CHROMIUM_ARGS }));

function print(out, code) {
  process.stdout.write(JSON.stringify(out) + '\n');
  return code;
}
