// The watch page: lists the channels sigma-origin finds (/_channels) and
// plays one with hls.js. Query: ?channel=NAME, or ?src=URL (any playlist),
// and ll=1 for hls.js lowLatencyMode. With neither, a box with one channel
// plays it; an empty list is asked again until a channel appears. Playback figures are kept in
// window.__sigma for tests/browser/play.js.
// A live playlist longer than any mode's default window (30 s: the channel
// has a DVR window, sigma-supervisor's dvr key) gets a seek bar over it, a
// pause button and a LIVE button back to the live edge; dvr=1 or dvr=0 in
// the query forces it on or off.
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
        if (!current && !params.get('src') && channels.length === 1) {
          current = channels[0].name;
          const q = new URLSearchParams(location.search);
          q.set('channel', current);
          history.replaceState(null, '', '?' + q + location.hash);
          play(channels[0].url, ll);
        }
        for (const c of channels) {
          const a = document.createElement('a');
          a.href = '?channel=' + encodeURIComponent(c.name);
          a.textContent = c.name;
          if (c.name === current) a.className = 'current';
          nav.appendChild(a);
        }
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
