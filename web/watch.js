// The watch page: lists the channels sigma-origin finds (/_channels) and
// plays one with hls.js. Query: ?channel=NAME, or ?src=URL (any playlist),
// and ll=1 for hls.js lowLatencyMode. With neither, a box with one channel
// plays it; an empty list is asked again until a channel appears. Playback figures are kept in
// window.__sigma for tests/browser/play.js.
// A live playlist longer than any mode's default window (30 s: the channel
// has a DVR window, sigma-supervisor's dvr key) gets a seek bar over it, a
// pause button and a LIVE button back to the live edge; dvr=1 or dvr=0 in
// the query forces it on or off. A channel with thumbnails (sigma-thumb)
// shows its live picture in the list and a preview above the seek bar.
(function () {
  'use strict';
  const params = new URLSearchParams(location.search);
  const video = document.getElementById('video');
  const statusLine = document.getElementById('status');
  const nav = document.getElementById('channels');

  const S = window.__sigma = {
    src: null, started_at: Date.now(), first_frame_ms: null, frames_presented: 0,
    stalls: 0, stall_ms: 0, stall_start: null,
    errors_fatal: 0, errors_nonfatal: 0, error_details: {}, error_messages: [], recoveries: 0,
    levels: [], level_switches: 0, fragments: 0, parts: 0, live: null, gave_up: null,
  };

  function say(text, isError) {
    statusLine.textContent = text;
    statusLine.className = isError ? 'error' : 'muted';
  }

  function countError(data) {
    const key = (data.fatal ? 'FATAL ' : '') + data.type + ':' + data.details;
    if (data.fatal) S.errors_fatal++; else S.errors_nonfatal++;
    S.error_details[key] = (S.error_details[key] || 0) + 1;
    const why = data.error && data.error.message ? data.error.message : data.reason;
    if (why && S.error_messages.length < 10) S.error_messages.push(key + ': ' + why);
  }

  function onFrame() {
    S.frames_presented++;
    if (S.first_frame_ms === null) S.first_frame_ms = Date.now() - S.started_at;
    video.requestVideoFrameCallback(onFrame);
  }
  if ('requestVideoFrameCallback' in HTMLVideoElement.prototype) video.requestVideoFrameCallback(onFrame);

  video.addEventListener('waiting', () => {
    if (S.first_frame_ms !== null && S.stall_start === null) { S.stalls++; S.stall_start = Date.now(); }
  });
  video.addEventListener('playing', () => {
    if (S.stall_start !== null) { S.stall_ms += Date.now() - S.stall_start; S.stall_start = null; }
  });

  // The timeshift bar. Positions are those of the media element; the
  // window is the playlist's (hls.js' level details, or video.seekable for
  // native HLS), its right end the live position hls.js plays at.
  const DVR_MIN_WINDOW_S = 30;
  const dvr = {
    bar: document.getElementById('dvr'),
    seek: document.getElementById('dvr-seek'),
    behind: document.getElementById('dvr-behind'),
    live: document.getElementById('dvr-live'),
    play: document.getElementById('dvr-play'),
    dragging: false,
  };
  S.dvr = { shown: false, start: null, end: null, behind_s: null, at_live: null };

  function liveWindow() {
    const hls = window.__hls;
    const d = hls && hls.latestLevelDetails;
    if (d && d.live && d.fragments && d.fragments.length) {
      const sync = hls.liveSyncPosition;
      const end = sync !== null && sync > d.fragmentStart ? sync : d.edge;
      return { start: d.fragmentStart, end, span: d.edge - d.fragmentStart, target: d.targetduration };
    }
    if (!hls && video.seekable.length && video.duration === Infinity) {
      const start = video.seekable.start(0), end = video.seekable.end(video.seekable.length - 1);
      return { start, end, span: end - start, target: 4 };
    }
    return null;
  }

  function clock(s) {
    s = Math.max(0, Math.round(s));
    const m = Math.floor(s / 60), h = Math.floor(m / 60);
    const mm = h ? String(m % 60).padStart(2, '0') : String(m);
    return (h ? h + ':' : '') + mm + ':' + String(s % 60).padStart(2, '0');
  }

  function updateDvr() {
    const w = liveWindow();
    const wanted = params.get('dvr') === '1' || (params.get('dvr') !== '0' && w && w.span > DVR_MIN_WINDOW_S);
    // Once shown it stays: a window that shrinks for a moment (a restart
    // of the channel) must not make the controls jump away.
    if (wanted && !S.dvr.shown) { dvr.bar.hidden = false; S.dvr.shown = true; }
    if (!S.dvr.shown || !w) return;
    const behind = Math.max(0, w.end - video.currentTime);
    // hls.js holds about three target durations behind the newest segment
    // and drifts around that: within a target duration of it is live.
    const atLive = behind < Math.max(3, 1.5 * w.target);
    Object.assign(S.dvr, { start: w.start, end: w.end, behind_s: behind, at_live: atLive });
    dvr.seek.min = String(Math.floor(w.start));
    dvr.seek.max = String(Math.ceil(w.end));
    if (!dvr.dragging) dvr.seek.value = String(video.currentTime);
    const date = window.__hls && window.__hls.playingDate;
    const when = date ? ' (' + date.toLocaleTimeString() + ')' : '';
    const text = atLive ? 'live' : '\u2212' + clock(behind) + ' behind live' + when;
    dvr.behind.textContent = text;
    dvr.seek.setAttribute('aria-valuetext', atLive ? 'at live' : clock(behind) + ' behind live' + when);
    dvr.live.setAttribute('aria-pressed', String(atLive));
    dvr.live.title = atLive ? 'At the live edge' : 'Back to the live edge';
  }

  function goLive() {
    const w = liveWindow();
    if (w) video.currentTime = w.end;
    video.play().catch(() => {});
  }

  dvr.seek.addEventListener('input', () => {
    dvr.dragging = true;
    const w = liveWindow();
    if (w) dvr.behind.textContent = '\u2212' + clock(w.end - Number(dvr.seek.value)) + ' behind live';
  });
  dvr.seek.addEventListener('change', () => {
    dvr.dragging = false;
    video.currentTime = Number(dvr.seek.value);
    updateDvr();
  });
  dvr.live.addEventListener('click', goLive);
  dvr.play.addEventListener('click', () => { if (video.paused) video.play().catch(() => {}); else video.pause(); });
  const playLabel = () => { dvr.play.textContent = video.paused ? 'Play' : 'Pause'; };
  video.addEventListener('play', playLabel);
  video.addEventListener('pause', playLabel);
  video.addEventListener('timeupdate', updateDvr);
  setInterval(updateDvr, 1000);  // also while paused: the window moves on
  window.__sigmaDvr = { window: liveWindow, goLive, update: updateDvr };

  // Seek previews (sigma-thumb's sprites): the position under the pointer
  // (or being dragged to) is a media time of the element; the fragment
  // holding it gives its program date-time, and the cue of the window's
  // thumbnails.vtt holding that date-time the sprite and tile to show.
  const preview = {
    el: document.getElementById('dvr-preview'),
    cues: [], start_ms: null, url: null, loaded_at: 0, loading: false, missing: false,
  };
  preview.tile = preview.el.querySelector('.tile');
  preview.when = preview.el.querySelector('.when');
  S.thumbs = { vtt_url: null, cues: 0, preview: null };

  function vttSeconds(t) {
    const p = t.split(':').map(Number);
    return p.length === 3 ? p[0] * 3600 + p[1] * 60 + p[2] : p[0] * 60 + p[1];
  }

  // Cues of sigma-origin's thumbnails.vtt: "START --> END" then
  // "URI#xywh=X,Y,W,H", the URI relative to the VTT's URL.
  function parseVtt(text, base) {
    const cues = [];
    for (const block of text.replace(/\r/g, '').split(/\n\n+/)) {
      const lines = block.split('\n').filter(Boolean);
      const i = lines.findIndex((l) => l.includes('-->'));
      if (i < 0 || !lines[i + 1]) continue;
      const [a, b] = lines[i].split('-->').map((x) => vttSeconds(x.trim().split(/\s+/)[0]));
      const [uri, frag] = lines[i + 1].split('#xywh=');
      const [x, y, w, h] = (frag || '').split(',').map(Number);
      if (!(w > 0 && h > 0)) continue;
      cues.push({ start: a, end: b, url: new URL(uri, base).href, x, y, w, h });
    }
    return cues;
  }

  function fragments() {
    const d = window.__hls && window.__hls.latestLevelDetails;
    return d && d.fragments && d.fragments.length ? d.fragments : null;
  }

  // The program date-time (Unix ms) at a media position, from the fragment
  // that holds it (each carries its own, re-anchored after a break).
  function pdtAt(pos) {
    const frags = fragments();
    if (!frags) return null;
    let f = null;
    for (const g of frags) { if (g.start <= pos) f = g; else break; }
    if (!f || !f.programDateTime) return null;
    return f.programDateTime + (pos - f.start) * 1000;
  }

  // The window's VTT, asked again every 10 s (a tile is added every
  // sprite interval); a channel without thumbnails (404) is asked again
  // only once a minute.
  function loadPreviews(soon) {
    const frags = fragments();
    if (!frags || !S.src || preview.loading) return;
    const age = Date.now() - preview.loaded_at;
    if (age < (preview.missing ? 60000 : soon ? 1000 : 10000)) return;
    const first = frags[0], last = frags[frags.length - 1];
    if (!first.programDateTime || !last.programDateTime) return;
    const from = Math.floor(first.programDateTime / 1000);
    const to = Math.ceil((last.programDateTime + last.duration * 1000) / 1000);
    const url = new URL('thumbnails.vtt?start=' + from + '&end=' + to, new URL(S.src, location.href)).href;
    preview.loading = true;
    fetch(url)
      .then((r) => (r.ok ? r.text() : Promise.reject(r.status)))
      .then((text) => {
        Object.assign(preview, { cues: parseVtt(text, url), start_ms: from * 1000, end_ms: to * 1000, url, missing: false });
        S.thumbs.vtt_url = url;
        S.thumbs.cues = preview.cues.length;
      })
      .catch(() => { preview.missing = true; })
      .finally(() => { preview.loading = false; preview.loaded_at = Date.now(); });
  }

  function hidePreview() {
    preview.el.hidden = true;
    S.thumbs.preview = null;
  }

  // Shows the tile of media position pos above the bar at clientX.
  function showPreview(pos, clientX) {
    const pdt = pdtAt(pos);
    // A moment past what the VTT covers (the window moved on): ask again soon.
    loadPreviews(pdt !== null && preview.end_ms !== undefined && pdt >= preview.end_ms);
    const t = pdt === null || preview.start_ms === null ? null : (pdt - preview.start_ms) / 1000;
    const cue = t === null ? null : preview.cues.find((c) => c.start <= t && t < c.end);
    if (!cue) { hidePreview(); return; }
    preview.tile.style.width = cue.w + 'px';
    preview.tile.style.height = cue.h + 'px';
    preview.tile.style.backgroundImage = 'url("' + cue.url + '")';
    preview.tile.style.backgroundPosition = (-cue.x) + 'px ' + (-cue.y) + 'px';
    preview.when.textContent = new Date(pdt).toLocaleTimeString();
    preview.el.hidden = false;
    const bar = dvr.bar.getBoundingClientRect();
    const left = Math.min(Math.max(0, clientX - bar.left - cue.w / 2), bar.width - cue.w - 6);
    preview.el.style.left = left + 'px';
    S.thumbs.preview = { pos, pdt, url: cue.url, x: cue.x, y: cue.y, w: cue.w, h: cue.h };
  }

  // The media position under clientX on the range input (its track spans
  // the input's width).
  function seekPosAt(clientX) {
    const r = dvr.seek.getBoundingClientRect();
    const min = Number(dvr.seek.min), max = Number(dvr.seek.max);
    return min + Math.min(1, Math.max(0, (clientX - r.left) / r.width)) * (max - min);
  }

  dvr.seek.addEventListener('pointermove', (e) => showPreview(seekPosAt(e.clientX), e.clientX));
  dvr.seek.addEventListener('pointerleave', () => { if (!dvr.dragging) hidePreview(); });
  dvr.seek.addEventListener('input', () => {
    const r = dvr.seek.getBoundingClientRect();
    const min = Number(dvr.seek.min), max = Number(dvr.seek.max), v = Number(dvr.seek.value);
    showPreview(v, r.left + (max > min ? (v - min) / (max - min) : 0) * r.width);
  });
  dvr.seek.addEventListener('change', hidePreview);
  setInterval(() => { if (S.dvr.shown) loadPreviews(); }, 2000);
  window.__sigmaThumbs = { pdtAt, seekPosAt, show: showPreview, load: loadPreviews };

  // Each channel's live picture in the list, asked again every 2 s. The
  // query is the same for every viewer within those 2 s, so a CDN in
  // front answers them all from one request.
  const LIST_REFRESH_MS = 2000;
  function refreshListPictures() {
    const bucket = Math.floor(Date.now() / LIST_REFRESH_MS);
    for (const img of nav.querySelectorAll('img.thumb')) img.src = img.dataset.src + '?t=' + bucket;
  }
  setInterval(refreshListPictures, LIST_REFRESH_MS);

  function play(src, lowLatency) {
    S.src = src;
    S.started_at = Date.now();
    if (!window.Hls || !Hls.isSupported()) {
      // Safari plays HLS natively.
      video.src = src;
      video.play().catch(() => {});
      say('playing ' + src + ' (native HLS)');
      return;
    }
    const hls = window.__hls = new Hls({ lowLatencyMode: lowLatency, backBufferLength: 30 });
    hls.on(Hls.Events.MANIFEST_PARSED, (_e, data) => {
      S.levels = data.levels.map((l) => ({ height: l.height, width: l.width, bitrate: l.bitrate, codecs: l.codecSet || l.attrs.CODECS }));
      video.play().catch(() => {});
    });
    hls.on(Hls.Events.LEVEL_SWITCHED, () => { S.level_switches++; });
    hls.on(Hls.Events.LEVEL_LOADED, (_e, data) => { S.live = data.details.live; updateDvr(); });
    hls.on(Hls.Events.FRAG_LOADED, (_e, data) => { if (data.part) S.parts++; else S.fragments++; });
    let recoveries = 0;
    hls.on(Hls.Events.ERROR, (_e, data) => {
      countError(data);
      if (!data.fatal) return;
      // hls.js' standard recovery, a bounded number of times.
      if (recoveries++ >= 5) { S.gave_up = data.details; say('playback failed: ' + data.details, true); hls.destroy(); return; }
      S.recoveries++;
      if (data.type === Hls.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError();
      else if (data.type === Hls.ErrorTypes.NETWORK_ERROR) hls.startLoad();
      else { S.gave_up = data.details; say('playback failed: ' + data.details, true); hls.destroy(); }
    });
    hls.loadSource(src);
    hls.attachMedia(video);
    say('playing ' + src + (lowLatency ? ' (low-latency mode)' : ''));
  }

  function listChannels(current) {
    fetch('/_channels', { cache: 'no-store' })
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error('HTTP ' + r.status))))
      .then((channels) => {
        nav.textContent = '';
        if (!channels.length) {
          nav.innerHTML = '<span class="muted">no channel yet</span>';
          if (!current && !params.get('src')) setTimeout(() => listChannels(current), 2000);
          return;
        }
        // A signed channel (sigma-origin --signed) is listed without a URL:
        // it plays only from a signed one (?src=/CH/t/TOKEN/master.m3u8).
        if (!current && !params.get('src') && channels.length === 1 && channels[0].url) {
          current = channels[0].name;
          const q = new URLSearchParams(location.search);
          q.set('channel', current);
          history.replaceState(null, '', '?' + q + location.hash);
          play(channels[0].url, ll);
        }
        for (const c of channels) {
          const a = document.createElement('a');
          if (c.signed) {
            const span = document.createElement('span');
            span.className = 'muted';
            span.title = 'plays only from a signed URL';
            span.textContent = c.name + ' (signed)';
            nav.appendChild(span);
            continue;
          }
          a.href = '?channel=' + encodeURIComponent(c.name);
          if (c.thumbnail) {
            const img = document.createElement('img');
            img.className = 'thumb';
            img.alt = '';
            img.dataset.src = c.thumbnail;
            // Not written yet (a channel's first seconds): hidden until it is.
            img.addEventListener('error', () => { img.hidden = true; });
            img.addEventListener('load', () => { img.hidden = false; });
            a.appendChild(img);
          }
          a.appendChild(document.createTextNode(c.name));
          if (c.name === current) a.className = 'current';
          nav.appendChild(a);
        }
        refreshListPictures();
        if (!current && !params.get('src')) say(channels.length + ' channel(s): pick one.');
      })
      .catch((e) => { nav.innerHTML = ''; nav.textContent = 'channel list unavailable (' + e.message + ')'; });
  }

  const ll = params.get('ll') !== '0';
  const channel = params.get('channel');
  if (params.get('src')) play(params.get('src'), ll);
  else if (channel) play('/' + encodeURIComponent(channel) + '/master.m3u8', ll);
  if (!params.get('nolist')) listChannels(channel);
})();
