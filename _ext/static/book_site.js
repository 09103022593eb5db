// Display equations wider than the text column (a long chain of equalities, a symbolic 3 × 3
// Jacobian) are scaled down until they fit, instead of being cut mid-formula or scrolled
// sideways: MathJax 3 cannot break a display formula across lines. Runs after MathJax has typeset
// the page and again when the window is resized.
(function () {
  "use strict";
  // Below this the formula would be unreadable; the browser test then reports it as clipped.
  var SMALLEST = 0.5;

  function fit() {
    var boxes = document.querySelectorAll("mjx-container[display='true']");
    boxes.forEach(function (box) {
      if (box.dataset.fontSize === undefined) box.dataset.fontSize = box.style.fontSize;
      box.style.fontSize = box.dataset.fontSize;
    });
    boxes.forEach(function (box) {
      var available = box.parentElement.clientWidth;
      var needed = box.scrollWidth;
      if (available > 0 && needed > available) {
        var size = parseFloat(window.getComputedStyle(box).fontSize);
        var scale = Math.max(SMALLEST, (available - 2) / needed);
        box.style.fontSize = (size * scale).toFixed(2) + "px";
      }
    });
    document.documentElement.dataset.equationsFitted = "true";
  }

  function whenTypeset() {
    var startup = window.MathJax && window.MathJax.startup;
    if (startup && startup.promise) {
      startup.promise.then(fit);
    } else {
      setTimeout(whenTypeset, 100);
    }
  }

  var pending = null;
  window.addEventListener("resize", function () {
    clearTimeout(pending);
    pending = setTimeout(fit, 100);
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", whenTypeset);
  } else {
    whenTypeset();
  }
})();
