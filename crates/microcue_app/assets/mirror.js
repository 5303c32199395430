// The mirror drill: the Live page's camera and socket (live.js) with a prompt, an attempt window
// and the spotter's reading of the attempt. The server scores the attempt and saves it.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const cueSelect = $('mirror-cue');
  const windowSelect = $('mirror-window');
  const instruction = $('mirror-instruction');
  const go = $('mirror-go');
  const status = $('mirror-status');
  const result = $('mirror-result');
  let baselineReady = false;
  let attempt = null; // { cue, endMs, timer }
  let asked = false; // Go was sent and not yet answered
  const results = [];
  window.microcueMirror = { results: () => results };

  const showInstruction = () => {
    const option = cueSelect.selectedOptions[0];
    instruction.textContent = option ? option.dataset.instruction : '';
  };
  cueSelect.addEventListener('change', showInstruction);
  showInstruction();

  const refreshGo = () => {
    go.disabled = !baselineReady || attempt !== null || asked;
  };

  const text = (tag, content, className) => {
    const element = document.createElement(tag);
    element.textContent = content;
    if (className) element.className = className;
    return element;
  };

  const side = (name) => (name === 'both' ? 'both sides' : `the ${name} side (yours)`);

  // The spotter's reading of one attempt, phrased as a hypothesis.
  const showResult = (mirror) => {
    const { score } = mirror;
    const parts = [text('h2', `You were asked for: ${mirror.name}`)];
    let reading;
    if (score.seen) {
      reading = `The spotter saw ${mirror.name}: ${Math.round(score.duration_ms)} ms` +
        `${score.micro ? ' (a micro flash, under 0.5 s)' : ' (over 0.5 s: release it sooner)'}, on ${side(score.side)}` +
        `, confidence ${score.confidence.toFixed(2)}.`;
    } else if (score.duration_ms !== null) {
      reading = `The spotter did not see ${mirror.name}; it read ${score.other_cues.join(', ')} ` +
        `(${Math.round(score.duration_ms)} ms, on ${side(score.side)}, confidence ${score.confidence.toFixed(2)}) instead.`;
    } else {
      reading = 'The spotter saw no movement in the window.';
    }
    parts.push(text('p', reading, 'facts'));
    parts.push(text('p', 'A hypothesis with a confidence, not a verdict: the spotter can miss a real movement or read one you did not mean.', 'muted'));
    parts.push(text('p', score.feedback));
    parts.push(text('p', mirror.journal_uid
      ? 'Saved to your journal as a mirror trial.'
      : `Not saved: ${mirror.journal_error}`, mirror.journal_uid ? 'muted' : 'error'));
    result.replaceChildren(...parts);
    result.hidden = false;
    result.dataset.requested = mirror.requested;
    result.dataset.seen = String(score.seen);
    result.dataset.side = score.side || '';
    result.dataset.durationMs = score.duration_ms === null ? '' : String(score.duration_ms);
    const item = text('li', `${mirror.name}: ${score.seen ? `seen, ${Math.round(score.duration_ms)} ms, ${score.side}` : 'not seen'}`);
    $('mirror-history').prepend(item);
    results.push(mirror);
  };

  document.addEventListener('microcue:message', (event) => {
    const message = event.detail;
    switch (message.type) {
      case 'frame':
        baselineReady = Boolean(message.baseline && message.baseline.ready);
        if (!attempt) {
          status.textContent = baselineReady
            ? 'Ready: press Go, then make the cue once.'
            : 'Waiting for the baseline: keep a relaxed face towards the camera.';
        }
        refreshGo();
        break;
      case 'mirror_started': {
        asked = false;
        const endMs = message.window_s[1] * 1000;
        const tick = () => {
          if (!attempt) return;
          const left = (endMs - performance.now()) / 1000;
          status.textContent = left > 0
            ? `Now: make the cue once — ${left.toFixed(1)} s left.`
            : 'Reading the attempt…';
        };
        attempt = { cue: message.cue, endMs, timer: setInterval(tick, 100) };
        tick();
        refreshGo();
        break;
      }
      case 'mirror':
        if (attempt) clearInterval(attempt.timer);
        attempt = null;
        status.textContent = 'Done. Choose a cue and press Go for another attempt.';
        showResult(message.mirror);
        refreshGo();
        break;
      case 'error':
        // A refused Go (an unknown cue, a window out of range) is answered with an error.
        if (asked && !attempt) {
          asked = false;
          status.textContent = message.message;
          refreshGo();
        }
        break;
      default:
        break;
    }
  });

  go.addEventListener('click', () => {
    if (go.disabled) return;
    const sent = window.microcue.send({
      type: 'mirror',
      cue: cueSelect.value,
      at_ms: performance.now(),
      window_s: Number(windowSelect.value),
    });
    if (sent) {
      asked = true;
      go.disabled = true;
    } else {
      status.textContent = 'Not connected yet: wait for the camera.';
    }
  });
})();
