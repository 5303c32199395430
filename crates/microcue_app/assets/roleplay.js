// Roleplay cards: arrow keys (or n / p) follow the next and previous links.
'use strict';

(() => {
  document.addEventListener('keydown', (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.target instanceof HTMLInputElement || event.target instanceof HTMLSelectElement) return;
    const id = { ArrowRight: 'roleplay-next', n: 'roleplay-next', ArrowLeft: 'roleplay-prev', p: 'roleplay-prev' }[event.key];
    const link = id && document.getElementById(id);
    if (link) {
      event.preventDefault();
      window.location.assign(link.href);
    }
  });
})();
