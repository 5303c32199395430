// The slow-motion study: plays the item's stretch of the video under review slowly, pausing a
// second at the apex, with the cue's region outlined while it moves; keys 1..n answer, r
// replays. The answer form carries the reaction time, measured from the end of the last playback.
'use strict';

(() => {
  const item = document.getElementById('slowmo');
  if (!item) return;
  const form = document.getElementById('slowmo-answer');
  const reaction = document.getElementById('slowmo-reaction');
  const video = document.getElementById('slowmo-video');
  const overlay = document.getElementById('slowmo-overlay');
  const playing = document.getElementById('slowmo-playing');
  const APEX_PAUSE_MS = 1000;
  const state = { plays: 0, finished: 0, highlighted: 0, pausedAtApex: 0, lastPlay: null };
  window.microcueSlowmo = { state: () => state };
  // Reaction time runs from the end of the last playback (or from now, without a video).
  let askedAt = performance.now();

  form.addEventListener('submit', () => {
    reaction.value = String(Math.max(0, performance.now() - askedAt));
  });

  const choices = [...form.querySelectorAll('button.choice')];
  document.addEventListener('keydown', (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.target instanceof HTMLSelectElement || event.target instanceof HTMLInputElement) return;
    const choice = choices.find((button) => button.dataset.key === event.key);
    if (choice) {
      event.preventDefault();
      form.requestSubmit(choice);
    } else if (event.key === 'r' && video) {
      event.preventDefault();
      play(Number(item.dataset.rate));
    }
  });

  if (!video || !overlay) return;
  const context = overlay.getContext('2d');
  const onset = Number(item.dataset.onset);
  const offset = Number(item.dataset.offset);
  const apex = Number(item.dataset.apex);
  const start = Number(item.dataset.start);
  const end = Number(item.dataset.end);
  const region = item.dataset.region ? item.dataset.region.split(',').map(Number) : null;
  let current = null; // { rate, paused }

  const draw = () => {
    const width = overlay.clientWidth;
    const height = overlay.clientHeight;
    if (overlay.width !== width) overlay.width = width;
    if (overlay.height !== height) overlay.height = height;
    context.clearRect(0, 0, width, height);
    if (!current) return;
    const t = video.currentTime;
    const active = t >= onset && t <= offset;
    if (active && region && video.videoWidth > 0) {
      // The picture is letterboxed inside the element: map frame fractions to it.
      const scale = Math.min(width / video.videoWidth, height / video.videoHeight);
      const w = video.videoWidth * scale;
      const h = video.videoHeight * scale;
      const x = (width - w) / 2;
      const y = (height - h) / 2;
      const [x0, y0, x1, y1] = region;
      context.lineWidth = 3;
      context.strokeStyle = '#f0b400';
      context.strokeRect(x + x0 * w, y + y0 * h, (x1 - x0) * w, (y1 - y0) * h);
      state.highlighted += 1;
    }
    if (!current.paused && t >= apex && !current.apexDone) {
      // Hold the apex for a second, as the terminal quiz does.
      current.paused = true;
      current.apexDone = true;
      state.pausedAtApex += 1;
      video.pause();
      setTimeout(() => {
        if (!current) return;
        current.paused = false;
        video.play().catch(() => {});
      }, APEX_PAUSE_MS);
    }
    if (t >= end || video.ended) {
      video.pause();
      playing.textContent = `Played ${start.toFixed(2)}–${end.toFixed(2)} s at ${current.rate}×. What was it?`;
      state.finished += 1;
      state.lastPlay.reached_s = t;
      current = null;
      askedAt = performance.now();
      context.clearRect(0, 0, width, height);
      return;
    }
    requestAnimationFrame(draw);
  };

  async function play(rate) {
    current = { rate, paused: false, apexDone: false };
    state.plays += 1;
    state.lastPlay = { rate, start_s: start };
    video.currentTime = start;
    video.playbackRate = rate;
    playing.textContent = `Playing at ${rate}×; the ${item.dataset.regionName} is outlined while it moves.`;
    try {
      await video.play();
    } catch (error) {
      playing.textContent = `The browser could not play the video: ${error.message}`;
      state.lastPlay.error = String(error);
      current = null;
      return;
    }
    requestAnimationFrame(draw);
  }

  document.querySelectorAll('#slowmo button.play').forEach((button) => {
    button.addEventListener('click', () => play(Number(button.dataset.rate)));
  });
  // Play the item once on arrival, as the terminal quiz does.
  if (video.readyState >= 2) {
    play(Number(item.dataset.rate));
  } else {
    video.addEventListener('loadeddata', () => play(Number(item.dataset.rate)), { once: true });
  }
})();
