#!/usr/bin/env node
// Plays an HLS URL in headless Chromium with hls.js (through the watch page
// of web/, so the page's own code is what is tested) and prints one JSON
// line: frames decoded, fatal/non-fatal errors, stalls, levels.
//
//   node tests/browser/play.js URL SECONDS [--low-latency]
//   node tests/browser/play.js --page PAGE_URL SECONDS
//
// --page opens PAGE_URL itself (a watch page as sigma-origin serves it,
// exactly as a person would open it) instead of playing URL through the
// page of web/.
//
// Exit status: 0 frames were decoded and hls.js did not give up; 1 no frame
// decoded or playback failed; 2 usage or browser error.
'use strict';
const fs = require('fs');
const path = require('path');
const { WEB, sleep, withChromium, run } = require('./browser');

function usage(msg) {
  process.stderr.write((msg ? 'play.js: ' + msg + '\n' : '') +
    'usage: node tests/browser/play.js URL SECONDS [--low-latency]\n');
  process.exit(2);
}

const args = process.argv.slice(2);
const lowLatency = args.includes('--low-latency');
const asPage = args.includes('--page');
const pos = args.filter((a) => !a.startsWith('--'));
if (pos.length !== 2) usage();
const [url, secondsArg] = pos;
const seconds = Number(secondsArg);
if (!/^https?:\/\//.test(url)) usage('URL must be http(s)');
if (!(seconds > 0 && seconds <= 3600)) usage('SECONDS must be in (0, 3600]');

const PAGE = {
  '/': [path.join(WEB, 'index.html'), 'text/html; charset=utf-8'],
  '/_player/watch.js': [path.join(WEB, 'watch.js'), 'text/javascript'],
  '/_player/watch.css': [path.join(WEB, 'watch.css'), 'text/css'],
  '/_player/hls.min.js': [path.join(WEB, 'node_modules/hls.js/dist/hls.min.js'), 'text/javascript'],
};

async function main() {
  if (!fs.existsSync(path.join(WEB, 'node_modules/hls.js/dist/hls.min.js')))
    throw new Error('web/node_modules is missing: run scripts/setup (npm install in web/)');
  return withChromium('play', seconds, PAGE, async (page, pageBase) => {
    const consoleErrors = [];
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    const q = new URLSearchParams({ src: url, ll: lowLatency ? '1' : '0', nolist: '1' });
    const target = asPage ? url : pageBase + '/?' + q;
    await page.goto(target, { waitUntil: 'load', timeout: 30000 });
    await sleep(seconds * 1000);
    const r = await page.evaluate(() => {
      const S = window.__sigma, v = document.getElementById('video');
      const q = v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : {};
      const hls = window.__hls;
      return {
        S, status_text: document.getElementById('status').textContent, decoded: q.totalVideoFrames || 0, dropped: q.droppedVideoFrames || 0,
        current_time: v.currentTime, latency_s: hls && hls.latency ? hls.latency : null,
        stalled_now: S.stall_start !== null,
      };
    });
    const S = r.S;
    const out = {
      url, seconds, low_latency: lowLatency,
      frames_decoded: r.decoded, frames_dropped: r.dropped, frames_presented: S.frames_presented,
      first_frame_ms: S.first_frame_ms,
      errors_fatal: S.errors_fatal, errors_nonfatal: S.errors_nonfatal, error_details: S.error_details, error_messages: S.error_messages,
      recoveries: S.recoveries, gave_up: S.gave_up,
      stalls: S.stalls, stall_ms: S.stall_ms + (S.stall_start !== null ? Date.now() - S.stall_start : 0),
      levels: S.levels, level_switches: S.level_switches,
      fragments: S.fragments, parts: S.parts, live: S.live,
      current_time_s: +r.current_time.toFixed(3), latency_s: r.latency_s === null ? null : +r.latency_s.toFixed(3),
      src: S.src, status_text: r.status_text, page_errors: consoleErrors,
    };
    process.stdout.write(JSON.stringify(out) + '\n');
    return out.frames_decoded > 0 && !out.gave_up ? 0 : 1;
  });
}

run('play', main);
