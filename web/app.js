/* app.js: the page of `bin/demo --serve` (see README.md in this folder).
 * Sends camera frames to POST /api/v1/analyze one at a time, or follows the
 * server's own camera (/api/v1/stream + /api/v1/events), and draws the
 * answers: boxes, tags and probability bars, FPS, latency, a timeline. */
'use strict';

const API = 'api/v1/';
const JPEG_QUALITY = 0.8;
const REQUEST_TIMEOUT_MS = 15000;
const RETRY_MS = 2000;
const FPS_WINDOW_MS = 2000;
const TIMELINE_MS = 60000;
const BUCKET_MS = 2000;         /* one column of the rolling chart */
const BLANK_GIF = 'data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7';

/* Colours of the C overlay (src/overlay.c), keyed by canonical emotion name. */
const NAMED_COLOURS = {
  anger: '#eb322d', contempt: '#f08c1e', disgust: '#32af46', fear: '#a064f0',
  happy: '#fadc28', sad: '#3278f5', surprise: '#28d7e1', neutral: '#afafaf',
};
const SYNONYMS = {   /* src/classmap.c */
  angry: 'anger', mad: 'anger', happiness: 'happy', joy: 'happy', sadness: 'sad',
  surprised: 'surprise', afraid: 'fear', fearful: 'fear', scared: 'fear',
  disgusted: 'disgust', contemptuous: 'contempt', calm: 'neutral',
};
const FALLBACK_COLOURS = ['#f569b4', '#96e66e', '#ffaf78', '#78a5d2', '#d2be78', '#64dcaa', '#c87878', '#aa8cdc'];

const $ = (id) => document.getElementById(id);
const ui = {
  start: $('start'), stop: $('stop'), video: $('video'), stream: $('stream'),
  overlay: $('overlay'), stage: $('stage'), placeholder: $('placeholder'),
  status: $('status'), error: $('error'), model: $('model'),
  fps: $('fps'), latency: $('latency'), serverMs: $('server-ms'), faces: $('faces'),
  timeline: $('timeline'), shares: $('shares'), reset: $('reset'),
  srcDevice: $('src-device'), srcServer: $('src-server'), srcServerLabel: $('src-server-label'),
};

const state = {
  token: readToken(),     /* from #token=..., memory only */
  autostart: hashFlag('autostart'),   /* #autostart: Start once connected */
  classes: [],
  serverCamera: false,
  mode: null,          /* the source of the running session: 'device' or 'server' */
  run: 0,                 /* bumped by every start/stop: stale loops end */
  running: false,
  media: null,            /* this device's MediaStream */
  inflight: null,         /* AbortController of the pending request */
  grab: document.createElement('canvas'),
  answers: [],            /* arrival times, for FPS */
  rtt: null,              /* smoothed round trip, ms */
  samples: [],            /* {t, label}: largest face per answer */
};

/* ---- helpers ---- */

/* location.hash holds '&'-separated parameters: #token=X&autostart */
function hashParam(name) {
  for (const part of location.hash.replace(/^#/, '').split('&')) {
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    if (key !== name) continue;
    if (eq < 0) return '';
    try { return decodeURIComponent(part.slice(eq + 1)); } catch (_) { return part.slice(eq + 1); }
  }
  return null;
}

function hashFlag(name) {
  const v = hashParam(name);
  return v !== null && v !== '0' && v !== 'false';
}

function readToken() {
  return hashParam('token') || '';
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function canonical(name) {
  const n = String(name || '').toLowerCase();
  return SYNONYMS[n] || n;
}

function colourOf(name) {
  const named = NAMED_COLOURS[canonical(name)];
  if (named) return named;
  const k = Math.max(0, state.classes.indexOf(name));
  return FALLBACK_COLOURS[k % FALLBACK_COLOURS.length];
}

function percent(p) {
  return Math.round(Math.min(1, Math.max(0, Number(p) || 0)) * 100) + '%';
}

function faceText(face) {
  const p = face.score != null ? face.score : (face.probs || {})[face.label];
  return face.label + ' ' + percent(p);
}

/* Class names in model order, then any others the answer names. */
function classNames(probs) {
  const names = state.classes.slice();
  for (const k of Object.keys(probs || {})) if (!names.includes(k)) names.push(k);
  return names;
}

function setStatus(text) { ui.status.textContent = text; }
function showError(text) { ui.error.textContent = text; ui.error.hidden = !text; }
function clearError() { showError(''); }

/* ---- the API ---- */

function authHeaders(extra) {
  const h = Object.assign({}, extra);
  if (state.token) h['X-Ferc-Token'] = state.token;
  return h;
}

function apiError(status, message) { return Object.assign(new Error(message), { status }); }

async function errorText(resp) {
  try {
    const body = await resp.json();
    if (body && body.error) return String(body.error);
  } catch (_) { /* not JSON */ }
  return resp.statusText || 'HTTP ' + resp.status;
}

/* fetch() an API path; resolves to the Response, throws apiError on failure. */
async function apiFetch(path, opts) {
  let resp;
  try {
    resp = await fetch(API + path, Object.assign({ cache: 'no-store' }, opts, { headers: authHeaders(opts && opts.headers) }));
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw apiError(0, 'unreachable');
  }
  if (!resp.ok) throw apiError(resp.status, await errorText(resp));
  return resp;
}

async function apiJson(path, opts) {
  const resp = await apiFetch(path, opts);
  try {
    return await resp.json();
  } catch (_) {
    throw apiError(resp.status, 'the server sent an answer that is not JSON');
  }
}

function describeError(err) {
  if (err.name === 'AbortError') return 'The server did not answer in ' + REQUEST_TIMEOUT_MS / 1000 + ' s.';
  if (err.status === 0) return 'Server unreachable: is bin/demo --serve still running? Retrying…';
  if (err.status === 401) {
    return state.token
      ? 'Access denied (401): the token in the address (#token=…) is wrong or out of date.'
      : 'Access denied (401): this server needs a token. Open the address that bin/demo printed, ending in #token=….';
  }
  if (err.status) return 'Server error ' + err.status + ': ' + err.message;
  return 'Error: ' + err.message;
}

/* One request in flight at a time; abortable by stop() and by a timeout. */
async function analyze(blob) {
  const ctl = new AbortController();
  state.inflight = ctl;
  const timer = setTimeout(() => ctl.abort(), REQUEST_TIMEOUT_MS);
  try {
    return await apiJson('analyze', {
      method: 'POST', body: blob, signal: ctl.signal,
      headers: { 'Content-Type': 'image/jpeg' },
    });
  } finally {
    clearTimeout(timer);
    if (state.inflight === ctl) state.inflight = null;
  }
}

async function connect() {
  try {
    await apiJson('health');
    const model = await apiJson('model');
    state.classes = Array.isArray(model.classes) ? model.classes : [];
    state.serverCamera = model.camera === true;
    ui.srcServerLabel.hidden = !state.serverCamera;
    ui.model.textContent = 'Model ' + (model.model || '?') + ': ' + state.classes.join(', ') +
      (model.input_size ? ' (' + model.input_size + '×' + model.input_size + ' crops)' : '');
    if (!state.running) setStatus('Ready. Press Start.');
    clearError();
    if (state.autostart && !state.running) {   /* #autostart: as if Start were clicked */
      state.autostart = false;
      start();
    }
  } catch (err) {
    showError(describeError(err));
    setStatus('Not connected.');
    if (err.status !== 401) setTimeout(connect, RETRY_MS);
  }
}

/* ---- start / stop ---- */

function source() {
  return ui.srcServer.checked && state.serverCamera ? 'server' : 'device';
}

async function start() {
  stop();
  clearError();
  const run = state.run;
  state.running = true;
  ui.start.disabled = true;
  ui.stop.disabled = false;
  ui.stage.classList.remove('idle');
  ui.placeholder.hidden = true;
  state.mode = source();   /* fixed for this run, whatever the radio buttons do later */
  if (state.mode === 'server') startServerCamera(run);
  else await startDeviceCamera(run);
}

function stop() {
  state.run++;
  state.running = false;
  if (state.inflight) state.inflight.abort();
  state.inflight = null;
  if (state.media) state.media.getTracks().forEach((t) => t.stop());
  state.media = null;
  ui.video.srcObject = null;
  ui.stream.src = BLANK_GIF;   /* ends the MJPEG download */
  ui.stream.hidden = true;
  ui.video.hidden = false;
  ui.start.disabled = false;
  ui.stop.disabled = true;
  ui.stage.classList.add('idle');
  ui.placeholder.hidden = false;
  clearCanvas(ui.overlay);
  renderFaces([]);
  state.answers = [];
  state.rtt = null;
  ui.fps.textContent = ui.latency.textContent = ui.serverMs.textContent = '–';
  setStatus('Stopped.');
}

/* ---- this device's camera ---- */

function cameraError(err) {
  switch (err && err.name) {
    case 'NotAllowedError': case 'SecurityError':
      return 'Camera permission denied. Allow the camera for this page (the icon in the address bar) and press Start again.';
    case 'NotFoundError': case 'OverconstrainedError':
      return 'No camera found on this device.';
    case 'NotReadableError': case 'AbortError':
      return 'The camera is busy or failed: close other apps that use it and try again.';
    default:
      return 'Could not open the camera: ' + (err && err.message ? err.message : err);
  }
}

async function openCamera() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    throw Object.assign(new Error(window.isSecureContext
      ? 'this browser has no camera API.'
      : 'browsers give the camera only to https:// pages or http://localhost. Open the page through localhost (e.g. ssh -L) or use the server camera.'),
    { name: 'Unsupported' });
  }
  return navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
}

async function startDeviceCamera(run) {
  setStatus('Asking for the camera…');
  let media;
  try {
    media = await openCamera();
  } catch (err) {
    if (run !== state.run) return;
    stop();
    showError(cameraError(err));
    return;
  }
  if (run !== state.run) { media.getTracks().forEach((t) => t.stop()); return; }
  state.media = media;
  media.getVideoTracks().forEach((t) => t.addEventListener('ended', () => {
    if (run !== state.run) return;
    stop();
    showError('The camera stopped (unplugged, or taken by another app).');
  }));
  ui.video.srcObject = media;
  try { await ui.video.play(); } catch (_) { /* autoplay attribute takes over */ }
  setStatus('Running: this device\'s camera.');
  deviceLoop(run);
}

function nextVideoFrame() {
  return new Promise((resolve) => {
    if (ui.video.requestVideoFrameCallback) ui.video.requestVideoFrameCallback(() => resolve());
    else requestAnimationFrame(() => resolve());
  });
}

function grabFrame() {
  const v = ui.video, c = state.grab;
  if (!v.videoWidth || !v.videoHeight) return Promise.resolve(null);
  if (c.width !== v.videoWidth || c.height !== v.videoHeight) {
    c.width = v.videoWidth;
    c.height = v.videoHeight;
  }
  c.getContext('2d').drawImage(v, 0, 0, c.width, c.height);
  return new Promise((resolve) => c.toBlob(resolve, 'image/jpeg', JPEG_QUALITY));
}

/* Send a frame, wait for its answer, repeat: the rate follows the server. */
async function deviceLoop(run) {
  while (run === state.run) {
    await nextVideoFrame();
    if (run !== state.run) return;
    const blob = await grabFrame();
    if (!blob || run !== state.run) continue;
    const t0 = performance.now();
    try {
      const res = await analyze(blob);
      if (run !== state.run) return;
      clearError();
      handleAnswer(res, performance.now() - t0);
    } catch (err) {
      if (run !== state.run) return;
      showError(describeError(err));
      if (err.status === 401) { stop(); return; }
      await sleep(RETRY_MS);
    }
  }
}

/* ---- the server's camera ---- */

function startServerCamera(run) {
  ui.video.hidden = true;
  ui.stream.hidden = false;
  /* an <img> cannot send X-Ferc-Token: the token goes in the query */
  ui.stream.src = API + 'stream' + (state.token ? '?token=' + encodeURIComponent(state.token) : '');
  setStatus('Running: the server\'s camera.');
  eventsLoop(run);
}

/* Server-sent events read with fetch() so that the token header is sent. */
async function eventsLoop(run) {
  while (run === state.run) {
    const ctl = new AbortController();
    state.inflight = ctl;
    try {
      const resp = await apiFetch('events', { headers: { Accept: 'text/event-stream' }, signal: ctl.signal });
      clearError();
      await readEvents(resp.body, run, onEvent);
      if (run === state.run) showError('The server closed the event stream. Reconnecting…');
    } catch (err) {
      if (run !== state.run) return;
      showError(describeError(err));
      if (err.status === 401) { stop(); return; }
    }
    if (run === state.run) await sleep(RETRY_MS);
  }
}

async function readEvents(body, run, onData) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    if (run !== state.run) { reader.cancel(); return; }
    buf = (buf + decoder.decode(value, { stream: true })).replace(/\r\n/g, '\n');
    let end;
    while ((end = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      const data = block.split('\n').filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).replace(/^ /, '')).join('\n');
      if (data) onData(data);
    }
  }
}

function onEvent(data) {
  let res;
  try { res = JSON.parse(data); } catch (_) { return; }
  if (res && !res.error) handleAnswer(res, null);
}

/* ---- answers ---- */

function handleAnswer(res, rtt) {
  const faces = Array.isArray(res.faces) ? res.faces : [];
  /* the server camera's MJPEG frames come annotated (server-side overlay, in
   * step with the picture; stop() cleared the canvas): draw only on this
   * device's camera */
  if (state.mode !== 'server') drawOverlay(res, faces);
  renderFaces(faces);
  updateSpeed(res, rtt);
  addSample(faces);
  drawTimeline();
  const n = faces.length;
  setStatus((state.mode === 'server' ? 'Server camera: ' : 'Running: ') +
    (n ? n + (n === 1 ? ' face' : ' faces') : 'no face in view') + '.');
}

function renderFaces(faces) {
  const items = faces.map((f) => {
    const li = document.createElement('li');
    li.textContent = faceText(f);
    li.style.borderLeftColor = colourOf(f.label);   /* CSSOM: allowed by the CSP */
    return li;
  });
  ui.faces.replaceChildren(...items);
}

function updateSpeed(res, rtt) {
  const now = performance.now();
  state.answers.push(now);
  while (state.answers.length && now - state.answers[0] > FPS_WINDOW_MS) state.answers.shift();
  const a = state.answers;
  if (a.length >= 2) ui.fps.textContent = ((a.length - 1) * 1000 / (a[a.length - 1] - a[0])).toFixed(1);
  if (rtt != null) {
    state.rtt = state.rtt == null ? rtt : 0.8 * state.rtt + 0.2 * rtt;
    ui.latency.textContent = Math.round(state.rtt) + ' ms';
  } else {
    ui.latency.textContent = 'n/a (server camera)';
  }
  const ms = res.ms || {};
  const fmt = (v) => (typeof v === 'number' ? v.toFixed(1) + ' ms' : '?');
  ui.serverMs.textContent = 'detect ' + fmt(ms.detect) + ' · classify ' + fmt(ms.classify);
}

/* ---- the overlay (same layout idea as src/overlay.c) ---- */

function clearCanvas(c) { c.getContext('2d').clearRect(0, 0, c.width, c.height); }

function drawOverlay(res, faces) {
  const c = ui.overlay;
  const w = res.width || state.grab.width || 640, h = res.height || state.grab.height || 480;
  if (c.width !== w || c.height !== h) { c.width = w; c.height = h; }
  const ctx = c.getContext('2d');
  ctx.clearRect(0, 0, w, h);
  const u = Math.max(1, w / 640);   /* line and text scale */
  for (const f of faces) if (Array.isArray(f.box) && f.box.length === 4) drawFace(ctx, f, u);
}

function drawFace(ctx, face, u) {
  const [x, y, w, h] = face.box;
  const col = colourOf(face.label);
  ctx.lineWidth = 2 * u;
  ctx.strokeStyle = col;
  ctx.strokeRect(x, y, w, h);
  const text = faceText(face);
  ctx.font = Math.round(14 * u) + 'px sans-serif';
  ctx.textBaseline = 'middle';
  const tw = ctx.measureText(text).width + 8 * u, th = 20 * u;
  const ty = y - th >= 0 ? y - th : y;
  ctx.fillStyle = col;
  ctx.fillRect(x - u, ty, tw, th);
  ctx.fillStyle = '#101010';
  ctx.fillText(text, x + 3 * u, ty + th / 2);
  drawBars(ctx, face, x, y, w, u);
}

/* Per-class bars beside the box (right, else left), clipped to the frame. */
function drawBars(ctx, face, x, y, w, u) {
  const names = classNames(face.probs);
  if (!names.length || !face.probs) return;
  ctx.font = Math.round(11 * u) + 'px sans-serif';
  const nameW = Math.max(...names.map((n) => ctx.measureText(n).width)) + 6 * u;
  const barW = 60 * u, row = 14 * u, pad = 4 * u;
  const pw = nameW + barW + 2 * pad, ph = names.length * row + 2 * pad;
  const cw = ctx.canvas.width, ch = ctx.canvas.height;
  let px = x + w + 6 * u;
  if (px + pw > cw) px = x - pw - 6 * u;
  px = Math.max(0, Math.min(px, cw - pw));
  const py = Math.max(0, Math.min(y, ch - ph));
  ctx.fillStyle = 'rgba(0, 0, 0, 0.62)';
  ctx.fillRect(px, py, pw, ph);
  names.forEach((n, i) => {
    const ry = py + pad + i * row;
    const p = Math.min(1, Math.max(0, Number(face.probs[n]) || 0));
    ctx.fillStyle = '#f0f0f0';
    ctx.fillText(n, px + pad, ry + row / 2);
    ctx.fillStyle = '#484848';
    ctx.fillRect(px + pad + nameW, ry + 2 * u, barW, row - 4 * u);
    ctx.fillStyle = colourOf(n);
    ctx.fillRect(px + pad + nameW, ry + 2 * u, barW * p, row - 4 * u);
  });
}

/* ---- the timeline: largest face per answer, last minute ---- */

function addSample(faces) {
  const now = Date.now();
  let best = null;
  for (const f of faces) {
    const area = Array.isArray(f.box) ? f.box[2] * f.box[3] : 0;
    if (f.label && (!best || area > best.area)) best = { area, label: f.label };
  }
  if (best) state.samples.push({ t: now, label: best.label });
  while (state.samples.length && now - state.samples[0].t > TIMELINE_MS) state.samples.shift();
}

function shareOf(samples) {
  const counts = new Map();
  for (const s of samples) counts.set(s.label, (counts.get(s.label) || 0) + 1);
  return counts;
}

/* Stacked horizontal bar of counts (a Map) in [x, x+w) x [y, y+h). */
function drawStack(ctx, counts, total, x, y, w, h) {
  let at = x;
  for (const n of classNames(Object.fromEntries(counts))) {
    const c = counts.get(n) || 0;
    if (!c) continue;
    const len = w * c / total;
    ctx.fillStyle = colourOf(n);
    ctx.fillRect(at, y, len, h);
    at += len;
  }
}

function fitCanvas(c) {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.round(c.clientWidth * dpr), h = Math.round(c.clientHeight * dpr);
  if (w && h && (c.width !== w || c.height !== h)) { c.width = w; c.height = h; }
  return dpr;
}

function drawTimeline() {
  const c = ui.timeline, dpr = fitCanvas(c), ctx = c.getContext('2d');
  const now = Date.now();
  const samples = state.samples.filter((s) => now - s.t <= TIMELINE_MS);
  ctx.clearRect(0, 0, c.width, c.height);
  ctx.fillStyle = '#2a2d33';
  ctx.fillRect(0, 0, c.width, c.height);
  const barH = Math.round(18 * dpr), gap = Math.round(8 * dpr);
  const counts = shareOf(samples);
  if (samples.length) drawStack(ctx, counts, samples.length, 0, 0, c.width, barH);
  const cols = TIMELINE_MS / BUCKET_MS, colW = c.width / cols, top = barH + gap, chartH = c.height - top;
  for (let i = 0; i < cols; i++) {
    const inCol = samples.filter((s) => Math.floor((now - s.t) / BUCKET_MS) === i);
    if (!inCol.length) continue;
    const x = c.width - (i + 1) * colW;
    /* a column is a vertical stack: rotate the horizontal helper */
    ctx.save();
    ctx.translate(x, c.height);
    ctx.rotate(-Math.PI / 2);
    drawStack(ctx, shareOf(inCol), inCol.length, 0, 1, chartH, Math.max(1, colW - 1));
    ctx.restore();
  }
  renderShares(counts, samples.length);
}

function renderShares(counts, total) {
  const items = classNames(Object.fromEntries(counts)).filter((n) => counts.get(n)).map((n) => {
    const li = document.createElement('li');
    li.textContent = n + ' ' + percent(counts.get(n) / total);
    li.style.borderLeftColor = colourOf(n);
    return li;
  });
  ui.shares.replaceChildren(...items);
}

function resetTimeline() { state.samples = []; drawTimeline(); }

/* ---- wiring ---- */

function init() {
  ui.start.addEventListener('click', start);
  ui.stop.addEventListener('click', stop);
  ui.reset.addEventListener('click', resetTimeline);
  for (const r of [ui.srcDevice, ui.srcServer]) {
    r.addEventListener('change', () => { if (state.running) start(); });
  }
  ui.stream.addEventListener('error', () => {
    if (state.running && state.mode === 'server') showError('The server camera stream could not be loaded (camera busy, or access denied).');
  });
  window.addEventListener('hashchange', () => { state.token = readToken(); });
  window.addEventListener('resize', drawTimeline);
  setInterval(drawTimeline, 1000);
  stop();
  setStatus('Connecting…');
  drawTimeline();
  connect();
}

init();
