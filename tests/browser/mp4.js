#!/usr/bin/env node
// Plays a progressive MP4 URL in headless Chromium with a bare <video src>
// (no MSE, no player library: what a browser does with a download link or
// a CMS's <video>) and prints one JSON line: whether it reached the end,
// its duration, the video frames decoded, the media error if any.
//
//   node tests/browser/mp4.js URL MAX_SECONDS [--rate R]
//
// --rate plays faster (muted), so a 20 s clip is watched to its end in a
// few seconds. Exit status: 0 it played to the end with no error; 1 it did
// not; 2 usage or browser error.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { sleep, withChromium, run } = require('./browser');

function usage(msg) {
  process.stderr.write((msg ? 'mp4.js: ' + msg + '\n' : '') +
    'usage: node tests/browser/mp4.js URL MAX_SECONDS [--rate R]\n');
  process.exit(2);
}

const args = process.argv.slice(2);
let rate = 1;
const pos = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--rate') rate = Number(args[++i]);
  else if (args[i].startsWith('--')) usage('unknown option ' + args[i]);
  else pos.push(args[i]);
}
if (pos.length !== 2) usage();
const [url, secondsArg] = pos;
const seconds = Number(secondsArg);
if (!/^https?:\/\//.test(url)) usage('URL must be http(s)');
if (!(seconds > 0 && seconds <= 3600)) usage('MAX_SECONDS must be in (0, 3600]');
if (!(rate >= 0.25 && rate <= 16)) usage('--rate must be in [0.25, 16]');

const html = `<!doctype html><meta charset="utf-8"><title>mp4</title>
<video id="video" muted playsinline preload="auto"></video>
<script>
const v = document.getElementById('video');
window.__mp4 = { ended: false, error: null, loaded_ms: null, started: Date.now(), max_time: 0 };
v.addEventListener('loadedmetadata', () => { window.__mp4.loaded_ms = Date.now() - window.__mp4.started; });
v.addEventListener('ended', () => { window.__mp4.ended = true; });
v.addEventListener('timeupdate', () => { window.__mp4.max_time = Math.max(window.__mp4.max_time, v.currentTime); });
v.addEventListener('error', () => { window.__mp4.error = v.error ? v.error.code + ' ' + v.error.message : 'error'; });
const q = new URLSearchParams(location.search);
v.playbackRate = Number(q.get('rate'));
v.defaultPlaybackRate = Number(q.get('rate'));
v.src = q.get('src');
v.play().catch((e) => { window.__mp4.error = 'play(): ' + e; });
</script>`;

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sigma-mp4-page-'));
  const page = path.join(dir, 'index.html');
  fs.writeFileSync(page, html);
  try {
    return await withChromium('mp4', seconds, { '/': [page, 'text/html; charset=utf-8'] }, async (p, pageBase) => {
      const pageErrors = [];
      p.on('pageerror', (e) => pageErrors.push(String(e)));
      await p.goto(pageBase + '/?' + new URLSearchParams({ src: url, rate: String(rate) }), { waitUntil: 'load', timeout: 30000 });
      const deadline = Date.now() + seconds * 1000;
      let r;
      for (;;) {
        r = await p.evaluate(() => {
          const v = document.getElementById('video');
          const q = v.getVideoPlaybackQuality();
          return Object.assign({}, window.__mp4, {
            duration: v.duration, current_time: v.currentTime, width: v.videoWidth, height: v.videoHeight,
            frames_decoded: q.totalVideoFrames, frames_dropped: q.droppedVideoFrames,
          });
        });
        if (r.ended || r.error || Date.now() > deadline) break;
        await sleep(250);
      }
      const out = {
        url, rate, ended: r.ended, error: r.error, duration: r.duration, current_time: +r.current_time.toFixed(3),
        max_time: +r.max_time.toFixed(3), width: r.width, height: r.height, frames_decoded: r.frames_decoded,
        frames_dropped: r.frames_dropped, loaded_ms: r.loaded_ms, page_errors: pageErrors,
      };
      process.stdout.write(JSON.stringify(out) + '\n');
      return out.ended && !out.error ? 0 : 1;
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

run('mp4', main);
