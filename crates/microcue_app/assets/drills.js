// microcue flash test: the server runs the drill (microcue_train::flash) and renders the
// pictures; this page times each flash in display frames with requestAnimationFrame and
// measures the exposure actually achieved, which is sent with the answer and saved.
'use strict';

(() => {
  const canvas = document.getElementById('flash-canvas');
  if (!canvas) return;
  const context = canvas.getContext('2d');
  const status = document.getElementById('flash-status');
  const choices = document.getElementById('flash-choices');
  const learn = document.getElementById('flash-learn');
  const exposure = document.getElementById('flash-exposure');
  const startButton = document.getElementById('flash-start');
  const result = document.getElementById('flash-result');
  const trials = [];
  const state = { step: null, finished: false, error: null };
  // `time` runs the trials' own flash timing on the face on screen (the benchmark of
  // docs/benchmarks.md); `trials` and `state` let a test follow a session.
  window.microcueFlash = {
    trials,
    state: () => state,
    time: async (requestedMs) => {
      const face = await createImageBitmap(canvas);
      const timing = await flash({ requested_ms: requestedMs, neutral_ms: 300 }, face, face);
      return { requested_ms: requestedMs, achieved_ms: timing.achieved, frame_ms: timing.frameMs, frames: timing.frames };
    },
  };

  const nextFrame = () => new Promise((resolve) => requestAnimationFrame(resolve));
  const median = (values) => {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted.length ? sorted[Math.floor(sorted.length / 2)] : NaN;
  };

  async function post(path, body) {
    const response = await fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: body ? JSON.stringify(body) : '{}',
    });
    const value = await response.json();
    if (!response.ok) throw new Error(value.error || response.statusText);
    return value;
  }

  async function loadImage(path) {
    const image = new Image();
    image.src = `${path}?t=${Date.now()}`;
    await image.decode();
    return image;
  }

  function draw(image) {
    context.drawImage(image, 0, 0, canvas.width, canvas.height);
  }

  // Shows neutral, holds it (measuring the display's frame interval meanwhile), draws the flash
  // on one frame and the neutral face back on the frame the requested exposure ends.
  async function flash(step, neutral, apex) {
    draw(neutral);
    const deltas = [];
    let last = await nextFrame();
    const holdUntil = last + step.neutral_ms;
    while (last < holdUntil) {
      const now = await nextFrame();
      deltas.push(now - last);
      last = now;
    }
    const frameMs = median(deltas);
    const frames = Math.max(1, Math.round(step.requested_ms / frameMs));
    // Drawn in the callback of frame 0, shown from that frame's presentation on.
    const start = await nextFrame();
    draw(apex);
    let end = start;
    for (let shown = 0; shown < frames; shown += 1) end = await nextFrame();
    draw(neutral);
    const achieved = end - start;
    // The neutral face stays for the rest of the trial.
    await nextFrame();
    return { frameMs, frames, achieved, flashEnd: performance.now() };
  }

  function showChoices(step, onAnswer) {
    choices.replaceChildren();
    const options = [...step.choices, { id: null, name: 'Nothing' }];
    options.forEach((choice, index) => {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'choice';
      button.dataset.cue = choice.id || 'nothing';
      button.textContent = `${index + 1}. ${choice.name}`;
      button.addEventListener('click', () => onAnswer(choice.id));
      choices.append(button);
    });
    choices.hidden = false;
    choices.querySelector('button').focus();
  }

  function showLearn(step) {
    learn.replaceChildren();
    const heading = document.createElement('h3');
    heading.textContent = 'Learn: what each cue looks like';
    learn.append(heading);
    for (const card of step.cards) {
      const block = document.createElement('div');
      block.className = 'learn-card';
      const name = document.createElement('p');
      name.className = 'facts';
      name.textContent = `${card.name} (${card.regions.join(', ')}; ${card.facs})`;
      const looks = document.createElement('p');
      looks.textContent = `${card.looks_like}. Often: ${card.meaning}`;
      block.append(name, looks);
      learn.append(block);
    }
    const button = document.createElement('button');
    button.type = 'button';
    button.id = 'flash-learned';
    button.textContent = 'Continue to practice';
    button.addEventListener('click', async () => {
      learn.hidden = true;
      run(await post('/drills/flash/learned'));
    });
    learn.append(button);
    learn.hidden = false;
    button.focus();
  }

  function showFinished(step) {
    state.finished = true;
    choices.hidden = true;
    const summary = step.summary;
    const percent = (value) => (value == null ? '–' : `${Math.round(value * 100)}%`);
    const within = trials.filter((t) => Math.abs(t.achieved_ms - t.requested_ms) <= t.frame_ms).length;
    result.replaceChildren();
    const lines = [
      `Done: ${step.saved} answers saved to your journal (session ${step.session}).`,
      `Accuracy on the tests: ${percent(summary.accuracy)}; false alarms on the no-flash trials: ${percent(summary.false_alarm_rate)}.`,
      ...summary.phases.map((p) => `${p.phase}: ${p.flash_correct}/${p.flash_trials} right` +
        (p.threshold_ms ? `, threshold about ${Math.round(p.threshold_ms)} ms` : '') +
        `, ended at ${Math.round(p.final_exposure_ms)} ms.`),
      `Exposure achieved within one display frame of the requested one in ${within} of ${trials.length} trials.`,
    ];
    for (const line of lines) {
      const p = document.createElement('p');
      p.textContent = line;
      result.append(p);
    }
    const link = document.createElement('a');
    link.href = '/journal';
    link.id = 'flash-journal';
    link.textContent = 'See it on the Journal page';
    result.append(link);
    result.hidden = false;
    status.textContent = 'The flash test is finished.';
    startButton.hidden = false;
    startButton.textContent = 'Run it again';
  }

  async function run(step) {
    state.step = step;
    if (step.kind === 'finished') {
      showFinished(step);
      return;
    }
    if (step.kind === 'learn') {
      status.textContent = 'Before the practice: the cues, one by one.';
      showLearn(step);
      return;
    }
    status.textContent = `${step.phase} ${step.number}/${step.of} · watch the face`;
    choices.hidden = true;
    const [neutral, apex] = await Promise.all([
      loadImage('/drills/flash/picture/neutral'),
      loadImage('/drills/flash/picture/flash'),
    ]);
    const timing = await flash(step, neutral, apex);
    exposure.textContent = `Shown for ${timing.achieved.toFixed(1)} ms (${timing.frames} frame(s) of ${timing.frameMs.toFixed(1)} ms); asked for ${Math.round(step.requested_ms)} ms.`;
    status.textContent = 'What flashed?';
    showChoices(step, async (cue) => {
      choices.hidden = true;
      const reaction = performance.now() - timing.flashEnd;
      trials.push({
        id: step.id, phase: step.phase, requested_ms: step.requested_ms,
        achieved_ms: timing.achieved, frame_ms: timing.frameMs, frames: timing.frames,
      });
      try {
        const reply = await post('/drills/flash/answer', {
          id: step.id, response: cue, reaction_ms: reaction, achieved_ms: timing.achieved,
        });
        if (reply.answered.correct != null) {
          status.textContent = `${reply.answered.correct ? '✓' : '✗'} ${reply.answered.message}`;
          await new Promise((resolve) => setTimeout(resolve, 900));
        }
        run(reply.step);
      } catch (error) {
        state.error = String(error);
        status.textContent = `The drill stopped: ${error.message}`;
      }
    });
  }

  startButton.addEventListener('click', async () => {
    startButton.hidden = true;
    result.hidden = true;
    trials.length = 0;
    state.finished = false;
    status.textContent = 'Preparing the faces…';
    try {
      run(await post('/drills/flash/start'));
    } catch (error) {
      state.error = String(error);
      status.textContent = `The drill could not start: ${error.message}`;
      startButton.hidden = false;
    }
  });

  // Keyboard: 1..n answer, as in the terminal drill.
  document.addEventListener('keydown', (event) => {
    if (choices.hidden) return;
    const index = Number(event.key) - 1;
    const buttons = choices.querySelectorAll('button');
    if (index >= 0 && index < buttons.length) buttons[index].click();
  });
})();
