// The Go-live page: a camera and microphone published to sigma-ingest over
// WHIP (RFC 9725). One POST with the whole offer (candidates gathered
// first, as OBS does), the answer set, DELETE on Stop. Query: ?whip=URL
// (the endpoint; default: this host, port 8089, /whip), ?channel=NAME,
// ?key=KEY (for tests; a person types it), ?start=1 goes live at once.
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  const preview = $('preview'), camera = $('camera'), mic = $('mic');
  const keyInput = $('key'), endpoint = $('endpoint'), channelInput = $('channel');
  const goBtn = $('golive'), stopBtn = $('stop'), stateOut = $('state'), bitrateOut = $('bitrate');
  const viewer = $('viewer'), errorOut = $('error');
  let stream = null, pc = null, resource = null, statsTimer = null, lastBytes = 0, lastTime = 0;

  endpoint.value = params.get('whip') || localStorage.getItem('sigma.whip') ||
    location.protocol + '//' + location.hostname + ':8089/whip';
  channelInput.value = params.get('channel') || localStorage.getItem('sigma.channel') || '';
  if (params.get('key')) keyInput.value = params.get('key');

  const setState = (s) => { stateOut.textContent = s; document.body.dataset.state = s; };
  const fail = (msg) => { errorOut.textContent = msg; };

  async function listDevices() {
    const devices = await navigator.mediaDevices.enumerateDevices();
    for (const [select, kind] of [[camera, 'videoinput'], [mic, 'audioinput']]) {
      const keep = select.value;
      select.innerHTML = '';
      devices.filter((d) => d.kind === kind).forEach((d, i) => {
        const o = document.createElement('option');
        o.value = d.deviceId;
        o.textContent = d.label || (kind === 'videoinput' ? 'Camera ' : 'Microphone ') + (i + 1);
        select.appendChild(o);
      });
      const none = document.createElement('option');
      none.value = 'none';
      none.textContent = 'None';
      select.appendChild(none);
      if (keep) select.value = keep;
    }
  }

  async function openDevices() {
    if (stream) stream.getTracks().forEach((t) => t.stop());
    const want = (sel) => sel.value === 'none' ? false : (sel.value ? { deviceId: { exact: sel.value } } : true);
    let video = want(camera);
    if (video) video = Object.assign(video === true ? {} : video, { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } });
    const audio = want(mic);
    if (!video && !audio) { stream = null; preview.srcObject = null; return; }
    stream = await navigator.mediaDevices.getUserMedia({ video, audio });
    preview.srcObject = stream;
  }

  // H.264 first (sigma-ingest takes H.264 and Opus): a browser that would
  // rather send VP8 sends H.264 instead.
  function preferH264(transceiver) {
    if (!transceiver.setCodecPreferences || !RTCRtpReceiver.getCapabilities) return;
    const caps = RTCRtpReceiver.getCapabilities('video');
    if (!caps) return;
    const h264 = caps.codecs.filter((c) => /h264/i.test(c.mimeType));
    const rest = caps.codecs.filter((c) => !/h264|vp8|vp9|av1/i.test(c.mimeType));
    if (h264.length) transceiver.setCodecPreferences(h264.concat(rest));
  }

  function gathered(conn, ms) {
    if (conn.iceGatheringState === 'complete') return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      conn.addEventListener('icegatheringstatechange', () => {
        if (conn.iceGatheringState === 'complete') { clearTimeout(t); resolve(); }
      });
    });
  }

  function watchUrl(channel) {
    const u = new URL('/', location.href);
    u.searchParams.set('channel', channel);
    return u.href;
  }

  async function goLive() {
    errorOut.textContent = '';
    const key = keyInput.value.trim();
    if (!key) { fail('Enter the stream key.'); return; }
    if (!stream) await openDevices();
    if (!stream) { fail('Choose a camera or a microphone.'); return; }
    localStorage.setItem('sigma.whip', endpoint.value);
    localStorage.setItem('sigma.channel', channelInput.value);
    goBtn.disabled = true;
    setState('connecting');
    pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    pc.addEventListener('connectionstatechange', () => {
      if (!pc) return;
      setState(pc.connectionState === 'connected' ? 'live' : pc.connectionState);
      if (pc.connectionState === 'failed') { fail('The connection to the server failed.'); stop(false); }
    });
    for (const track of stream.getTracks()) {
      const video = track.kind === 'video';
      // A broadcast keeps its picture size (each change is a new init
      // segment for the viewers): quality gives way first.
      const tr = pc.addTransceiver(track, {
        direction: 'sendonly', streams: [stream],
        sendEncodings: video ? [{ maxBitrate: 2500000 }] : undefined,
      });
      if (video) {
        preferH264(tr);
        track.contentHint = 'motion';
      }
    }
    try {
      await pc.setLocalDescription(await pc.createOffer());
      await gathered(pc, 3000);
      let url = endpoint.value.replace(/\/+$/, '');
      if (channelInput.value.trim()) url += '/' + encodeURIComponent(channelInput.value.trim());
      const res = await fetch(url, {
        method: 'POST', body: pc.localDescription.sdp,
        headers: { 'Content-Type': 'application/sdp', Authorization: 'Bearer ' + key },
      });
      const body = await res.text();
      if (res.status !== 201) throw new Error('The server refused (' + res.status + '): ' + body.trim());
      resource = new URL(res.headers.get('Location'), url).href;
      const channel = decodeURIComponent(new URL(resource).pathname.split('/')[2] || '');
      viewer.href = viewer.textContent = watchUrl(channel);
      await pc.setRemoteDescription({ type: 'answer', sdp: body });
      for (const sender of pc.getSenders()) {
        if (!sender.track || sender.track.kind !== 'video') continue;
        const params = sender.getParameters();
        params.degradationPreference = 'maintain-resolution';
        await sender.setParameters(params).catch(() => {});
      }
      stopBtn.disabled = false;
      lastBytes = 0;
      lastTime = 0;
      statsTimer = setInterval(showBitrate, 1000);
    } catch (e) {
      fail(e.message || String(e));
      await stop(false);
    }
  }

  async function showBitrate() {
    if (!pc) return;
    const stats = await pc.getStats();
    let bytes = 0, time = 0;
    stats.forEach((s) => {
      if (s.type === 'outbound-rtp') { bytes += s.bytesSent || 0; time = Math.max(time, s.timestamp); }
    });
    if (lastTime && time > lastTime) {
      const kbps = ((bytes - lastBytes) * 8) / (time - lastTime);
      bitrateOut.textContent = Math.round(kbps) + ' kbit/s';
      document.body.dataset.kbps = String(Math.round(kbps));
    }
    lastBytes = bytes;
    lastTime = time;
  }

  async function stop(user = true) {
    clearInterval(statsTimer);
    statsTimer = null;
    const r = resource;
    resource = null;
    if (pc) { pc.close(); pc = null; }
    if (r) await fetch(r, { method: 'DELETE' }).catch(() => {});
    bitrateOut.textContent = '–';
    goBtn.disabled = false;
    stopBtn.disabled = true;
    if (user || stateOut.textContent !== 'failed') setState(user ? 'stopped' : 'idle');
  }

  $('form').addEventListener('submit', (e) => { e.preventDefault(); goLive(); });
  stopBtn.addEventListener('click', () => stop(true));
  camera.addEventListener('change', () => !pc && openDevices().catch((e) => fail(e.message)));
  mic.addEventListener('change', () => !pc && openDevices().catch((e) => fail(e.message)));
  window.addEventListener('pagehide', () => { if (resource) fetch(resource, { method: 'DELETE', keepalive: true }); });

  (async () => {
    try {
      await listDevices();
      await openDevices();
      await listDevices();  // labels appear once access is granted
    } catch (e) {
      fail('Camera or microphone: ' + (e.message || e));
    }
    if (params.get('start') === '1') goLive();
  })();
})();
