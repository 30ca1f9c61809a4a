// usher console: the only script, loaded from 'self' (no inline script).
// Buttons with data-confirm ask before their form is sent.
"use strict";
document.addEventListener("submit", function (ev) {
  var b = ev.submitter;
  if (b && b.dataset && b.dataset.confirm && !window.confirm(b.dataset.confirm)) {
    ev.preventDefault();
  }
});
