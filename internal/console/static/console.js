// latch console: optional niceties. Every page works without this file.
// Asks before destructive actions (data-confirm) and copies a secret
// shown once to the clipboard (data-copy="element id").
"use strict";
document.addEventListener("submit", function (e) {
  var b = e.submitter || e.target.querySelector("[data-confirm]");
  var msg = b && b.getAttribute("data-confirm");
  if (msg && !window.confirm(msg)) {
    e.preventDefault();
  }
});
document.addEventListener("click", function (e) {
  var b = e.target.closest("[data-copy]");
  if (!b || !navigator.clipboard) {
    return;
  }
  var el = document.getElementById(b.getAttribute("data-copy"));
  navigator.clipboard.writeText(el.textContent).then(function () {
    b.textContent = "Copied";
  });
});
