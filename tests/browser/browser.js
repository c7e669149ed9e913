// What play.js (hls.js) and shaka.js (Shaka Player) share: a throw-away
// page server on a loopback port of its own (so the stream is fetched
// cross-origin and the origin's CORS headers are exercised), and one
// headless Debian Chromium with the flags this machine needs, always closed
// and its profile removed, bounded by a hard stop.
'use strict';
const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');

const WEB = path.resolve(__dirname, '../../web');
const CHROMIUM = process.env.SIGMA_CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--autoplay-policy=no-user-gesture-required', '--disable-background-media-suspend',
  '--disable-renderer-backgrounding', '--disable-background-timer-throttling'];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// files: { '/url/path': [absolute file, content type] }; resolves to the server.
function servePage(files) {
  const srv = http.createServer((req, res) => {
    const f = files[req.url.split('?')[0]];
    if (!f) { res.writeHead(404); res.end(); return; }
    fs.readFile(f[0], (err, data) => {
      if (err) { res.writeHead(500); res.end(String(err)); return; }
      res.writeHead(200, { 'Content-Type': f[1], 'Cache-Control': 'no-store' });
      res.end(data);
    });
  });
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve(srv)));
}

// Runs fn(page, pageBase) in a fresh Chromium beside a page server of files;
// the whole run is cut off (exit 2) seconds + 90 s after it starts.
// options: more of Playwright's context options (e.g. userAgent).
async function withChromium(name, seconds, files, fn, options = {}) {
  if (!fs.existsSync(path.join(WEB, 'node_modules/playwright-core')))
    throw new Error('web/node_modules is missing: run scripts/setup (npm install in web/)');
  const { chromium } = require(path.join(WEB, 'node_modules/playwright-core'));
  const srv = await servePage(files);
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sigma-' + name + '-'));
  let ctx;
  const hardStop = setTimeout(() => { process.stderr.write(name + '.js: timed out\n'); process.exit(2); },
    (seconds + 90) * 1000);
  try {
    ctx = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM, headless: true, timeout: 60000, viewport: { width: 1280, height: 720 },
      args: CHROMIUM_ARGS, ...options,
    });
    const page = ctx.pages()[0] || await ctx.newPage();
    return await fn(page, 'http://127.0.0.1:' + srv.address().port);
  } finally {
    clearTimeout(hardStop);
    if (ctx) await ctx.close().catch(() => {});
    srv.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
}

// main() resolves to the exit status; anything thrown is a browser error (2).
function run(name, main) {
  main().then((code) => process.exit(code), (e) => {
    process.stderr.write(name + '.js: ' + (e && e.stack || e) + '\n');
    process.exit(2);
  });
}

module.exports = { WEB, sleep, withChromium, run };
