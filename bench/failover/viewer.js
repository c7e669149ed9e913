#!/usr/bin/env node
// bench/failover.sh's viewer: one hls.js player in headless Chromium for
// SECONDS; prints one JSON line: frames decoded, each stall's length, the
// fatal and non-fatal errors, the media time reached.
//   node bench/failover/viewer.js URL SECONDS
'use strict';
const path = require('path');
const { WEB, sleep, withChromium, run } = require('../../tests/browser/browser');

const [url, secs] = process.argv.slice(2);
const seconds = Number(secs);
if (!/^https?:\/\//.test(url || '') || !(seconds > 0)) {
  process.stderr.write('usage: node bench/failover/viewer.js URL SECONDS\n');
  process.exit(2);
}
const PAGE = {
  '/': [path.join(__dirname, 'viewer.html'), 'text/html; charset=utf-8'],
  '/_player/hls.min.js': [path.join(WEB, 'node_modules/hls.js/dist/hls.min.js'), 'text/javascript'],
};
run('failover-viewer', () => withChromium('failover-viewer', seconds, PAGE, async (page, pageBase) => {
  await page.goto(pageBase + '/?' + new URLSearchParams({ src: url }), { waitUntil: 'load', timeout: 30000 });
  await sleep(seconds * 1000);
  const r = await page.evaluate(() => {
    const v = document.getElementById('video');
    const q = v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : {};
    const R = window.__r;
    if (R.stall_start !== null) R.stalls.push(Date.now() - R.stall_start);
    return { ...R, frames: q.totalVideoFrames || 0, current_time: v.currentTime };
  });
  const out = { url, seconds, frames_decoded: r.frames, current_time_s: +r.current_time.toFixed(3),
    stalls: r.stalls.length, stall_max_ms: r.stalls.length ? Math.max(...r.stalls) : 0, stalls_ms: r.stalls,
    errors_fatal: r.fatal.length, fatal: r.fatal, errors_nonfatal: r.nonfatal };
  process.stdout.write(JSON.stringify(out) + '\n');
  return out.frames_decoded > 0 && out.errors_fatal === 0 ? 0 : 1;
}));
