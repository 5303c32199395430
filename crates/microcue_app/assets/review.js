// microcue review page: progress while the server analyses the file, cue filters, and slow
// playback of one event with its region outlined. Verdicts and exports are plain forms/links.
'use strict';

(() => {
  const job = document.getElementById('job');
  if (!job) return;
  const state = { lastPlay: null, highlighted: 0 };
  window.microcueReview = { state: () => state };

  // Progress: poll the server until the analysis ends, then show the results.
  if (job.dataset.state === 'running') {
    const bar = document.getElementById('progress-bar');
    const text = document.getElementById('progress-text');
    const poll = async () => {
      let status = null;
      try {
        status = await (await fetch('/review/status', { cache: 'no-store' })).json();
      } catch (error) {
        text.textContent = `Lost the server: ${error}`;
      }
      if (!status || String(status.id) !== job.dataset.job) return;
      if (status.state !== 'running') {
        window.location.reload();
        return;
      }
      const total = status.frame_count ? ` of ${status.frame_count}` : '';
      if (status.frame_count) bar.value = status.frames / status.frame_count;
      text.textContent = `Analysing: frame ${status.frames}${total} (${status.pts_s.toFixed(1)} s of video in ${status.elapsed_s.toFixed(1)} s), ${status.events} event(s) so far.`;
      setTimeout(poll, 250);
    };
    setTimeout(poll, 250);
    return;
  }

  // Filters: by cue, and "only those without a verdict".
  const openOnly = document.getElementById('filter-open');
  const applyFilters = () => {
    const shown = new Set();
    document.querySelectorAll('input.filter').forEach((box) => {
      if (box.checked) shown.add(box.dataset.cue);
    });
    document.querySelectorAll('#events li.event').forEach((item) => {
      const hidden = !shown.has(item.dataset.cue) ||
        (openOnly && openOnly.checked && item.dataset.verdict !== 'open');
      item.hidden = hidden;
      const mark = document.querySelector(`#timeline .mark[data-event="${item.dataset.event}"]`);
      if (mark) mark.hidden = hidden;
    });
    document.querySelectorAll('#timeline .row').forEach((row) => {
      row.hidden = !shown.has(row.dataset.cue);
    });
  };
  document.querySelectorAll('input.filter').forEach((box) => box.addEventListener('change', applyFilters));
  if (openOnly) openOnly.addEventListener('change', applyFilters);

  // Playback: from a little before the onset to a little after the offset, slowly, with the
  // region outlined while the movement lasts.
  const video = document.getElementById('review-video');
  const overlay = document.getElementById('review-overlay');
  const playing = document.getElementById('playing');
  if (!video || !overlay) return;
  const context = overlay.getContext('2d');
  let current = null;
  const draw = () => {
    const width = overlay.clientWidth;
    const height = overlay.clientHeight;
    if (overlay.width !== width) overlay.width = width;
    if (overlay.height !== height) overlay.height = height;
    context.clearRect(0, 0, width, height);
    if (!current) return;
    const t = video.currentTime;
    const active = t >= current.onset && t <= current.offset;
    video.dataset.highlight = active && current.region ? current.regionName : '';
    if (active && current.region) {
      // The picture is letterboxed inside the element: map frame fractions to it.
      const scale = Math.min(width / video.videoWidth, height / video.videoHeight);
      const w = video.videoWidth * scale;
      const h = video.videoHeight * scale;
      const x = (width - w) / 2;
      const y = (height - h) / 2;
      const [x0, y0, x1, y1] = current.region;
      context.lineWidth = 3;
      context.strokeStyle = '#f0b400';
      context.strokeRect(x + x0 * w, y + y0 * h, (x1 - x0) * w, (y1 - y0) * h);
      state.highlighted += 1;
    }
    if (t >= current.end || video.ended) {
      video.pause();
      playing.textContent = `Played ${current.name} at ${current.rate}×.`;
      state.lastPlay.finished = true;
      state.lastPlay.reached_s = t;
      current = null;
      video.dataset.highlight = '';
      context.clearRect(0, 0, width, height);
      return;
    }
    requestAnimationFrame(draw);
  };
  document.querySelectorAll('#events button.play').forEach((button) => {
    button.addEventListener('click', async () => {
      const item = button.closest('li.event');
      const rate = Number(button.dataset.rate);
      const onset = Number(item.dataset.onset);
      const offset = Number(item.dataset.offset);
      const region = item.dataset.region ? item.dataset.region.split(',').map(Number) : null;
      const start = Math.max(0, onset - 0.4);
      current = {
        onset, offset, rate, region,
        regionName: item.dataset.regionName,
        name: item.dataset.cue,
        end: offset + 0.4,
      };
      state.lastPlay = { event: Number(item.dataset.event), rate, start_s: start, finished: false };
      video.currentTime = start;
      video.playbackRate = rate;
      playing.textContent = `Playing ${item.dataset.cue} at ${rate}× (${onset.toFixed(2)}–${offset.toFixed(2)} s); the ${item.dataset.regionName} is outlined while it moves.`;
      try {
        await video.play();
      } catch (error) {
        playing.textContent = `The browser could not play the video: ${error.message}`;
        state.lastPlay.error = String(error);
        return;
      }
      requestAnimationFrame(draw);
    });
  });
})();
