// The live coach: camera frames to the server over a WebSocket, cues and coaching back.
// Plain JavaScript, no build step. Frames are never stored: each is encoded, sent and dropped.
// The mirror drill's page runs the same camera and socket without the coach's panels: every
// server message is also dispatched as a `microcue:message` event for its own script.
'use strict';

(() => {
  const root = document.getElementById('live');
  const consent = root.dataset.consent;
  const params = new URLSearchParams(location.search);
  // JPEG at the camera's own size is the default: measured against raw downscaled pixels in
  // docs/benchmarks.md. `?format=rgba&scale=0.5` selects the alternative for measuring.
  const format = params.get('format') === 'rgba' ? 'rgba' : 'jpeg';
  const scale = Math.min(1, Math.max(0.1, Number(params.get('scale')) || 1));
  const quality = Math.min(1, Math.max(0.3, Number(params.get('quality')) || 0.8));
  // Frames being encoded at once at most; a camera frame that finds them busy is skipped.
  const MAX_ENCODING = 1;
  // Frames sent and not yet answered at most: a frame is only encoded when the server can take
  // it soon, so it waits in no queue and the page spends no CPU on frames that would be dropped.
  // `?inflight=0` lifts the limit (for measuring).
  const inFlightParam = Number(params.get('inflight'));
  const MAX_IN_FLIGHT = Number.isFinite(inFlightParam) && params.has('inflight') ? inFlightParam : 2;
  // A sent frame whose result has not come in this long is counted as answered (refused, lost).
  const IN_FLIGHT_TIMEOUT_MS = 1000;
  // Bytes waiting in the socket at most before the page skips frames.
  const MAX_BUFFERED = 2 * 1024 * 1024;
  const HEADER = 20;

  const $ = (id) => document.getElementById(id);
  // The spotter's sensitivity: chosen before the session starts; a change restarts it.
  const sensitivityParam = Number(params.get('sensitivity'));
  const sensitivity = params.has('sensitivity') && sensitivityParam >= 0 && sensitivityParam <= 1
    ? sensitivityParam : 0.5;
  const sensitivityControl = $('sensitivity');
  if (sensitivityControl) {
    sensitivityControl.value = String(sensitivity);
    sensitivityControl.addEventListener('change', () => {
      params.set('sensitivity', sensitivityControl.value);
      location.search = params.toString();
    });
  }
  const video = $('video');
  const overlay = $('overlay');
  const statusLine = $('status');
  const statsLine = $('stats');
  // The coach's panels are on the Live page only.
  const coachPage = Boolean($('cue'));

  const stats = {
    cameraFrames: 0,
    sent: 0,
    skippedPage: 0,
    latencies: [],
    counts: null,
    cues: [],
    outcomes: [],
    errors: [],
    bytesSent: 0,
    encodeMs: [],
    captureClock: null,
  };
  let socket = null;
  let ready = false;
  let pipeline = [];
  let observeWindow = [5, 15];
  let current = null; // { cue, apexMs }
  let watching = null; // { respondedMs }
  let lastFace = null;
  let lastSentMs = -1;
  const inFlight = []; // capture times of the frames sent and not yet answered, oldest first
  let encoding = 0;
  let canvas = null;
  let context2d = null;

  function setStatus(text) {
    statusLine.textContent = text;
  }

  function percentile(values, p) {
    if (values.length === 0) return null;
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
  }

  // For tests and the benchmark: everything measured so far, on the page's clock.
  window.microcue = {
    stats() {
      return {
        format, scale, quality, max_in_flight: MAX_IN_FLIGHT,
        capture_clock: stats.captureClock,
        camera_frames: stats.cameraFrames,
        sent: stats.sent,
        skipped_page: stats.skippedPage,
        bytes_sent: stats.bytesSent,
        latency_ms: {
          count: stats.latencies.length,
          p50: percentile(stats.latencies, 0.5),
          p95: percentile(stats.latencies, 0.95),
        },
        encode_ms: { p50: percentile(stats.encodeMs, 0.5), p95: percentile(stats.encodeMs, 0.95) },
        server: stats.counts,
        cues: stats.cues,
        outcomes: stats.outcomes,
        errors: stats.errors,
      };
    },
    // Sends a JSON message on the live socket; false when the session is not ready.
    send(message) {
      if (!ready || !socket || socket.readyState !== WebSocket.OPEN) return false;
      socket.send(JSON.stringify(message));
      return true;
    },
    reset() {
      stats.cameraFrames = 0;
      stats.sent = 0;
      stats.skippedPage = 0;
      stats.latencies = [];
      stats.encodeMs = [];
      stats.bytesSent = 0;
      stats.cues = [];
    },
  };

  function frameMessage(captureMs, width, height, pixels, code) {
    const message = new Uint8Array(HEADER + pixels.byteLength);
    const view = new DataView(message.buffer);
    message.set([0x4d, 0x43, 0x46, 0x31], 0); // "MCF1"
    view.setUint8(4, code);
    view.setUint16(8, width, true);
    view.setUint16(10, height, true);
    view.setFloat64(12, captureMs, true);
    message.set(pixels, HEADER);
    return message;
  }

  async function sendFrame(captureMs) {
    const width = Math.round(video.videoWidth * scale);
    const height = Math.round(video.videoHeight * scale);
    if (!canvas || canvas.width !== width || canvas.height !== height) {
      canvas = new OffscreenCanvas(width, height);
      context2d = canvas.getContext('2d', { willReadFrequently: format === 'rgba' });
    }
    const started = performance.now();
    context2d.drawImage(video, 0, 0, width, height);
    let message;
    if (format === 'rgba') {
      const pixels = context2d.getImageData(0, 0, width, height).data;
      message = frameMessage(captureMs, width, height, pixels, 2);
    } else {
      const blob = await canvas.convertToBlob({ type: 'image/jpeg', quality });
      const pixels = new Uint8Array(await blob.arrayBuffer());
      message = frameMessage(captureMs, width, height, pixels, 1);
    }
    stats.encodeMs.push(performance.now() - started);
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(message);
      stats.sent += 1;
      stats.bytesSent += message.byteLength;
    }
  }

  function onCameraFrame(now, metadata) {
    video.requestVideoFrameCallback(onCameraFrame);
    stats.cameraFrames += 1;
    if (!ready) return;
    // The capture time on the page's clock; `now` when the browser does not give one.
    let captureMs = metadata && metadata.captureTime > 0 ? metadata.captureTime : now;
    if (captureMs > performance.now()) captureMs = now;
    stats.captureClock = captureMs === now ? 'frame callback' : 'camera capture time';
    if (captureMs <= lastSentMs) return;
    while (inFlight.length > 0 && now - inFlight[0] > IN_FLIGHT_TIMEOUT_MS) inFlight.shift();
    const waiting = MAX_IN_FLIGHT > 0 && inFlight.length >= MAX_IN_FLIGHT;
    if (waiting || encoding >= MAX_ENCODING || socket.bufferedAmount > MAX_BUFFERED) {
      stats.skippedPage += 1;
      return;
    }
    lastSentMs = captureMs;
    inFlight.push(captureMs);
    encoding += 1;
    sendFrame(captureMs)
      .catch((error) => showError(`cannot encode a frame: ${error}`))
      .finally(() => { encoding -= 1; });
  }

  function drawOverlay() {
    const rect = video.getBoundingClientRect();
    if (overlay.width !== Math.round(rect.width) || overlay.height !== Math.round(rect.height)) {
      overlay.width = Math.round(rect.width);
      overlay.height = Math.round(rect.height);
    }
    const g = overlay.getContext('2d');
    g.clearRect(0, 0, overlay.width, overlay.height);
    if (!lastFace) return;
    const [left, top, right, bottom] = lastFace.rect;
    g.strokeStyle = current && performance.now() - current.apexMs < 2000 ? '#f0b400' : '#3fb37f';
    g.lineWidth = 3;
    g.strokeRect(left * overlay.width, top * overlay.height,
      (right - left) * overlay.width, (bottom - top) * overlay.height);
  }

  function showBaseline(baseline) {
    const box = $('baseline');
    box.hidden = false;
    if (!baseline) {
      $('baseline-text').textContent = 'No face in view: face the camera, in good light.';
      $('baseline-bar').value = 0;
      return;
    }
    if (baseline.ready) {
      $('baseline-text').textContent =
        'Baseline ready: movements are measured against this resting face (it keeps adapting).';
      $('baseline-bar').value = 1;
    } else {
      $('baseline-text').textContent =
        `Learning the resting face (baseline warm-up): ${baseline.face_s.toFixed(1)} of about ${baseline.needed_s.toFixed(1)} s. Keep a relaxed face.`;
      $('baseline-bar').value = Math.min(0.99, baseline.face_s / baseline.needed_s);
    }
  }

  function showStats() {
    const c = stats.counts || {};
    const p50 = percentile(stats.latencies.slice(-300), 0.5);
    const p95 = percentile(stats.latencies.slice(-300), 0.95);
    const latency = p50 === null ? '' : ` · capture to result ${p50.toFixed(0)} ms (p95 ${p95.toFixed(0)} ms)`;
    statsLine.textContent =
      `frames: ${c.analysed || 0} analysed · ${c.dropped_busy || 0} dropped (analysis busy)` +
      ` · ${stats.skippedPage} skipped in the page · ${(c.dropped_rate || 0) + (c.refused || 0)} refused${latency}`;
  }

  function stageAt(seconds) {
    return pipeline.findIndex((stage) => seconds >= stage.start_s && seconds < stage.end_s);
  }

  function showTimeline() {
    if (!coachPage) return;
    const list = $('timeline');
    if (list.children.length !== pipeline.length) {
      list.replaceChildren(...pipeline.map((stage) => {
        const item = document.createElement('li');
        const name = document.createElement('b');
        name.textContent = `${stage.name} (${stage.start_s}–${stage.end_s} s)`;
        const what = document.createElement('span');
        what.textContent = ` ${stage.what}`;
        item.append(name, what);
        return item;
      }));
    }
    const reference = watching ? null : current;
    const elapsed = reference ? (performance.now() - reference.apexMs) / 1000 : null;
    let active = elapsed === null ? -1 : stageAt(elapsed);
    if (watching) active = pipeline.length - 1;
    [...list.children].forEach((item, index) => {
      item.classList.toggle('active', index === active);
      item.classList.toggle('done', active >= 0 && index < active);
    });
    const button = $('responded');
    button.disabled = !current || watching !== null;
    if (watching) {
      const since = (performance.now() - watching.respondedMs) / 1000;
      $('watch').textContent =
        `Watching the face: ${since.toFixed(1)} s since you responded (an outcome from ${observeWindow[0]} s, final at ${observeWindow[1]} s).`;
    }
  }

  function text(tag, content, className) {
    const element = document.createElement(tag);
    element.textContent = content;
    if (className) element.className = className;
    return element;
  }

  function showHypothesis(hypothesis) {
    const line = $('hypothesis');
    line.textContent = hypothesis.phrase;
    line.dataset.state = hypothesis.state;
  }

  function showCue(message) {
    const { cue, suggestion, hypothesis } = message;
    const event = cue.event;
    const shownMs = performance.now();
    current = { cue: cue.cue, apexMs: event.apex_s * 1000 };
    stats.cues.push({
      cue: cue.cue, side: event.side, confidence: event.confidence,
      onset_ms: event.onset_s * 1000, offset_ms: event.offset_s * 1000,
      shown_ms: shownMs, delay_after_offset_ms: shownMs - event.offset_s * 1000,
    });
    if (!coachPage) return;
    const card = $('cue');
    card.replaceChildren(
      text('h2', cue.name),
      text('p', `${cue.region} · side: ${event.side} · confidence ${event.confidence.toFixed(2)} · ${event.scale} (${Math.round(event.duration_ms)} ms) · ${cue.facs}`, 'facts'),
      text('p', cue.meaning, 'muted'),
    );
    card.dataset.cue = cue.cue;
    const advice = $('suggestion');
    advice.hidden = false;
    const parts = [text('h3', 'Suggested micro-response'), text('p', suggestion.headline)];
    if (suggestion.lines.length > 0) parts.push(text('p', `“${suggestion.lines[0]}”`, 'line'));
    if (suggestion.context_note) parts.push(text('p', suggestion.context_note, 'muted'));
    parts.push(text('p', `Then watch: ${suggestion.watch_next}`, 'muted'));
    advice.replaceChildren(...parts);
    showHypothesis(hypothesis);
    const item = text('li', `${cue.name} (${event.side}, ${event.confidence.toFixed(2)}) at ${new Date().toLocaleTimeString()}`);
    $('history').prepend(item);
  }

  function showOutcome(outcome) {
    watching = null;
    stats.outcomes.push(outcome);
    const why = outcome.sign ? ` (${JSON.stringify(outcome.sign).replace(/[{}"]/g, '').replace(':', ': ')})` : '';
    const logged = outcome.journal_uid
      ? ` Logged to your journal as “${outcome.journal_outcome}”.`
      : ` Not logged: ${outcome.journal_error}`;
    const line = $('watch');
    line.textContent = `The face ${outcome.outcome}${why}, ${outcome.after_s.toFixed(1)} s after your response.${logged}`;
    line.dataset.outcome = outcome.outcome;
  }

  function showError(message) {
    stats.errors.push(message);
    const note = text('p', message, 'error');
    statusLine.after(note);
    setTimeout(() => note.remove(), 8000);
  }

  function onMessage(event) {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch (error) {
      showError(`unreadable message from the server: ${error}`);
      return;
    }
    switch (message.type) {
      case 'ready':
        pipeline = message.pipeline;
        observeWindow = message.observe_window_s;
        ready = true;
        setStatus('Live: analysing the camera on this computer.');
        break;
      case 'frame':
        stats.counts = message.counts;
        // Results come in the order frames were sent: older frames were analysed or dropped.
        while (inFlight.length > 0 && inFlight[0] <= message.capture_ms) inFlight.shift();
        lastFace = message.faces[0] || null;
        drawOverlay();
        showBaseline(message.baseline);
        // Capture to result on the page: measured once the result is drawn.
        stats.latencies.push(performance.now() - message.capture_ms);
        break;
      case 'cue':
        showCue(message);
        break;
      case 'hypothesis':
        if (coachPage) showHypothesis(message.hypothesis);
        break;
      case 'watching':
        watching = { respondedMs: message.responded_at_s * 1000 };
        break;
      case 'outcome':
        if (coachPage) showOutcome(message.outcome);
        break;
      case 'error':
        showError(message.message);
        break;
      default:
        break;
    }
    document.dispatchEvent(new CustomEvent('microcue:message', { detail: message }));
  }

  function connect() {
    const url = `ws://${location.host}/ws/live`;
    socket = new WebSocket(url);
    socket.binaryType = 'arraybuffer';
    socket.addEventListener('open', () => {
      socket.send(JSON.stringify({ type: 'start', consent, sensitivity }));
    });
    socket.addEventListener('message', onMessage);
    socket.addEventListener('close', () => {
      ready = false;
      setStatus('Disconnected from microcue. Is `microcue serve` still running? Reload to reconnect.');
    });
  }

  async function start() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      setStatus('This browser gives no camera to this page (open it at http://127.0.0.1 or localhost).');
      return;
    }
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 30 } },
        audio: false,
      });
    } catch (error) {
      setStatus(`No camera: ${error.message || error}. Allow the camera for this page and reload.`);
      return;
    }
    video.srcObject = stream;
    await video.play().catch(() => {});
    connect();
    video.requestVideoFrameCallback(onCameraFrame);
    setInterval(() => { showTimeline(); showStats(); drawOverlay(); }, 200);
  }

  document.querySelectorAll('button.context').forEach((button) => {
    button.addEventListener('click', () => {
      if (!ready) return;
      socket.send(JSON.stringify({ type: 'context', kind: button.dataset.kind, at_ms: performance.now() }));
      button.classList.add('pressed');
      setTimeout(() => button.classList.remove('pressed'), 600);
    });
  });
  if (coachPage) {
    $('responded').addEventListener('click', () => {
      if (!ready || !current) return;
      socket.send(JSON.stringify({ type: 'responded', at_ms: performance.now() }));
      $('watch').textContent = 'Watching the face…';
    });
  }

  start();
})();
