#!/usr/bin/env node
// Plays an HLS URL in headless Chromium with Shaka Player (tests/browser/
// shaka.html; shaka-player from tests/conformance/node_modules, playwright-
// core from web/node_modules) and prints one JSON line with the fields
// play.js prints for hls.js (frames decoded, errors, stalls, levels, live,
// latency), plus frames decoded each second and the requests the player made
// (playlists, blocking reloads, delta updates, parts, segments, HTTP errors).
// A sibling of play.js rather than an option of it, so that the hls.js
// driver stays as the watch page's own test.
//
//   node tests/browser/shaka.js URL SECONDS [--low-latency] [--seek-back S] [--config JSON]
//
// --seek-back S: halfway through, seek S seconds behind the live edge (a
// DVR window); the output then says where the seek landed (seek) and how
// far behind live the playhead still is at the end (behind_live_s).
//
// --config JSON: more Shaka configuration, given to player.configure() after
// streaming.lowLatencyMode, e.g. '{"manifest":{"hls":{"sequenceMode":true}}}'.
// The output says what was set (config) and how many times Shaka called
// SourceBuffer.abort() on each buffer (sb_aborts; see shaka.html).
//
// Exit status: 0 frames were decoded and Shaka raised no fatal error; 1 no
// frame decoded or playback failed; 2 usage or browser error.
'use strict';
const fs = require('fs');
const path = require('path');
const { sleep, withChromium, run } = require('./browser');

// SIGMA_SHAKA_DEBUG=1: Shaka's debug build, its warnings and errors in the output (console).
const DEBUG = process.env.SIGMA_SHAKA_DEBUG === '1';
const SHAKA = path.resolve(__dirname, '../conformance/node_modules/shaka-player/dist/shaka-player.compiled' + (DEBUG ? '.debug' : '') + '.js');

function usage(msg) {
  process.stderr.write((msg ? 'shaka.js: ' + msg + '\n' : '') +
    'usage: node tests/browser/shaka.js URL SECONDS [--low-latency] [--seek-back S] [--config JSON]\n');
  process.exit(2);
}

const args = process.argv.slice(2);
const lowLatency = args.includes('--low-latency');
let seekBack = null;
const seekAt = args.indexOf('--seek-back');
if (seekAt >= 0) {
  seekBack = Number(args[seekAt + 1]);
  if (!(seekBack > 0)) usage('--seek-back needs a number of seconds');
  args.splice(seekAt, 2);
}
let config = null;
const configAt = args.indexOf('--config');
if (configAt >= 0) {
  try { config = JSON.parse(args[configAt + 1]); } catch (e) { config = null; }
  if (!config || typeof config !== 'object' || Array.isArray(config)) usage('--config needs a JSON object');
  args.splice(configAt, 2);
}
for (const a of args) if (a.startsWith('--') && a !== '--low-latency') usage('unknown option ' + a);
const pos = args.filter((a) => !a.startsWith('--'));
if (pos.length !== 2) usage();
const [url, secondsArg] = pos;
const seconds = Number(secondsArg);
if (!/^https?:\/\//.test(url)) usage('URL must be http(s)');
if (!(seconds > 0 && seconds <= 3600)) usage('SECONDS must be in (0, 3600]');

const PAGE = {
  '/': [path.join(__dirname, 'shaka.html'), 'text/html; charset=utf-8'],
  '/_player/shaka-player.compiled.js': [SHAKA, 'text/javascript'],
};

async function main() {
  if (!fs.existsSync(SHAKA))
    throw new Error('tests/conformance/node_modules is missing: run scripts/setup (npm install in tests/conformance/)');
  return withChromium('shaka', seconds, PAGE, async (page, pageBase) => {
    const pageErrors = [];
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    const consoleLines = [];
    page.on('console', (m) => { if (DEBUG && ['warning', 'error'].includes(m.type()) && consoleLines.length < 200) consoleLines.push(m.type() + ': ' + m.text().slice(0, 400)); });
    const origin = new URL(url).origin;
    const req = { playlists: 0, blocking: 0, skip: 0, parts: 0, segments: 0, init: 0, http_errors: {} };
    page.on('response', (r) => {
      let u;
      try { u = new URL(r.url()); } catch (e) { return; }
      if (u.origin !== origin) return;
      const p = u.pathname;
      if (p.endsWith('.m3u8')) {
        req.playlists++;
        if (u.searchParams.has('_HLS_msn')) req.blocking++;
        if (u.searchParams.has('_HLS_skip')) req.skip++;
      } else if (/\d+\.\d+\.m4s$/.test(p)) req.parts++;
      else if (p.endsWith('.m4s')) req.segments++;
      else if (p.endsWith('.mp4')) req.init++;
      if (r.status() >= 400) {
        const k = r.status() + ' ' + p.split('/').slice(-2).join('/') + (u.search ? '?' + u.searchParams.toString() : '');
        if (Object.keys(req.http_errors).length < 20) req.http_errors[k] = (req.http_errors[k] || 0) + 1;
      }
    });
    const q = new URLSearchParams({ src: url, ll: lowLatency ? '1' : '0' });
    if (config) q.set('cfg', JSON.stringify(config));
    await page.goto(pageBase + '/?' + q, { waitUntil: 'load', timeout: 30000 });
    const decodedAt = [];
    let seek = null;
    for (let i = 0; i < seconds; i++) {
      if (seekBack !== null && i === Math.floor(seconds / 2)) {
        seek = await page.evaluate((back) => {
          const sh = window.__shaka, v = document.getElementById('video');
          const r = sh.seekRange();
          const target = Math.max(r.start, r.end - back);
          v.currentTime = target;
          return { range_start: r.start, range_end: r.end, target };
        }, seekBack);
      }
      await sleep(1000);
      decodedAt.push(await page.evaluate(() => document.getElementById('video').getVideoPlaybackQuality().totalVideoFrames).catch(() => null));
    }
    const r = await page.evaluate(() => {
      const S = window.__sigma, v = document.getElementById('video');
      const q = v.getVideoPlaybackQuality();
      const sh = window.__shaka;
      let latency = null, seekEnd = null, stats = null;
      if (sh) {
        stats = sh.getStats();
        seekEnd = sh.seekRange().end;
        latency = stats.liveLatency || (seekEnd - v.currentTime);
        S.live = sh.isLive();
      }
      return {
        S, decoded: q.totalVideoFrames || 0, dropped: q.droppedVideoFrames || 0, current_time: v.currentTime,
        latency_s: latency, edge_gap_s: seekEnd === null ? null : seekEnd - v.currentTime, paused: v.paused,
        video_error: v.error ? v.error.code + ' ' + v.error.message : null,
        stalls_detected: stats ? stats.stallsDetected : null, gaps_jumped: stats ? stats.gapsJumped : null,
        buffered: Array.from({ length: v.buffered.length }, (_, i) => [+v.buffered.start(i).toFixed(3), +v.buffered.end(i).toFixed(3)]),
        buffer_info: sh && sh.getBufferedInfo ? JSON.stringify(sh.getBufferedInfo()) : null,
      };
    });
    const S = r.S;
    const fix = (x) => (x === null || x === undefined || !Number.isFinite(x) ? null : +x.toFixed(3));
    const out = {
      url, seconds, low_latency: lowLatency, config, player: 'shaka', player_version: S.player_version,
      frames_decoded: r.decoded, frames_dropped: r.dropped, frames_presented: S.frames_presented,
      first_frame_ms: S.first_frame_ms,
      errors_fatal: S.errors_fatal, errors_nonfatal: S.errors_nonfatal, error_details: S.error_details, error_messages: S.error_messages,
      gave_up: S.gave_up, sb_aborts: S.sb_aborts, stalls: S.stalls, stall_ms: S.stall_ms + (S.stall_start !== null ? Date.now() - S.stall_start : 0),
      shaka_stalls_detected: r.stalls_detected, shaka_gaps_jumped: r.gaps_jumped,
      levels: S.levels, level_switches: S.level_switches, live: S.live,
      current_time_s: fix(r.current_time), latency_s: fix(r.latency_s), edge_gap_s: fix(r.edge_gap_s),
      paused: r.paused, video_error: r.video_error, buffered: r.buffered, buffered_tracks: r.buffer_info ? JSON.parse(r.buffer_info) : null, decoded_per_second: decodedAt, requests: req, page_errors: pageErrors,
    };
    if (seek) {
      out.seek = Object.fromEntries(Object.entries(seek).map(([k, x]) => [k, fix(x)]));
      out.behind_live_s = out.edge_gap_s;
    }
    if (DEBUG) out.console = consoleLines;
    process.stdout.write(JSON.stringify(out) + '\n');
    return out.frames_decoded > 0 && !out.gave_up ? 0 : 1;
  });
}

run('shaka', main);
