#!/usr/bin/env node
// Several hls.js viewers in one headless Chromium, each a tab that opens
// and closes on a schedule: the players of the viewer-count tests
// (stats_players.bats). All tabs share one User-Agent and one address, as
// viewers behind one NAT do; each loads its master playlist itself, so
// each gets a session of its own.
//
//   node tests/browser/viewers.js SCHEDULE.json USER_AGENT REPORT_FILE
//
// SCHEDULE.json: [{"url": MASTER_URL, "join_ms": UNIX_MS, "leave_ms": UNIX_MS}, ...]
// Each tab opens at join_ms (or as soon after as Chromium allows) and is
// closed at leave_ms. REPORT_FILE gets one JSON line per viewer: the Unix
// ms at which it was opened and closed and at which its first fragment
// arrived, the fragments hls.js loaded, the media time it reached and any
// fatal error.
//
// Exit status: 0 every viewer played (loaded fragments, advanced, no fatal
// error); 1 one did not; 2 usage or browser error.
'use strict';
const fs = require('fs');
const path = require('path');
const { WEB, sleep, withChromium, run } = require('./browser');

const [schedFile, ua, reportFile] = process.argv.slice(2);
if (!schedFile || !ua || !reportFile) {
  process.stderr.write('usage: node tests/browser/viewers.js SCHEDULE.json USER_AGENT REPORT_FILE\n');
  process.exit(2);
}
const schedule = JSON.parse(fs.readFileSync(schedFile, 'utf8'));
const lastLeave = Math.max(...schedule.map((s) => s.leave_ms));
const PAGE = {
  '/': [path.join(__dirname, 'viewer.html'), 'text/html; charset=utf-8'],
  '/_player/hls.min.js': [path.join(WEB, 'node_modules/hls.js/dist/hls.min.js'), 'text/javascript'],
};

async function viewer(ctx, pageBase, s) {
  const wait = s.join_ms - Date.now();
  if (wait > 0) await sleep(wait);
  const page = await ctx.newPage();
  const join_ms = Date.now();
  await page.goto(pageBase + '/?' + new URLSearchParams({ src: s.url }), { waitUntil: 'load', timeout: 30000 });
  const stay = s.leave_ms - Date.now();
  if (stay > 0) await sleep(stay);
  const r = await page.evaluate(() => ({ ...window.__viewer, current_time: document.getElementById('video').currentTime }));
  await page.close();
  const out = { player: 'hls.js', master: s.url, join_ms, leave_ms: Date.now(), first_media_ms: r.first_media_ms,
    media_gaps_ms: r.media_gaps_ms, fragments: r.fragments,
    current_time_s: +r.current_time.toFixed(3), fatal: r.fatal };
  fs.appendFileSync(reportFile, JSON.stringify(out) + '\n');
  return out.fragments > 0 && out.current_time_s > 0 && !out.fatal;
}

async function main() {
  const seconds = Math.max(1, (lastLeave - Date.now()) / 1000);
  return withChromium('viewers', seconds, PAGE, async (page, pageBase) => {
    const ctx = page.context();
    await page.goto('about:blank');
    const ok = await Promise.all(schedule.map((s) => viewer(ctx, pageBase, s)));
    return ok.every(Boolean) ? 0 : 1;
  }, { userAgent: ua });
}

run("viewers", main);
