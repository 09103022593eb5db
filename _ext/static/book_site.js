// Display equations wider than the text column (a long chain of equalities, a symbolic 3 × 3
// Jacobian) are scaled down until they fit, instead of being cut mid-formula or scrolled
// sideways: MathJax 3 cannot break a display formula across lines. Runs after MathJax has typeset
// the page and again when the window is resized.
(function () {
  "use strict";
  // Below this the formula would be unreadable (a reader can still zoom in); the browser test then
  // reports it as clipped. The longest display formulas need about 0.42 on a 390 px phone.
  var SMALLEST = 0.35;

  function fit() {
    var boxes = document.querySelectorAll("mjx-container[display='true']");
    boxes.forEach(function (box) {
      if (box.dataset.fontSize === undefined) box.dataset.fontSize = box.style.fontSize;
      box.style.fontSize = box.dataset.fontSize;
    });
    boxes.forEach(function (box) {
      // The box's own width: MathJax gives it horizontal margins inside the div.math.
      for (var attempt = 0; attempt < 3; attempt++) {
        var available = box.clientWidth;
        var needed = box.scrollWidth;
        if (available <= 0 || needed <= available + 1) break;
        var size = parseFloat(window.getComputedStyle(box).fontSize);
        var scale = Math.max(SMALLEST * parseFloat(box.dataset.baseSize || size) / size, (available - 2) / needed);
        if (!box.dataset.baseSize) box.dataset.baseSize = size;
        box.style.fontSize = (size * scale).toFixed(2) + "px";
      }
    });
    document.documentElement.dataset.equationsFitted = "true";
  }

  var pending = null;
  function fitSoon() {
    clearTimeout(pending);
    pending = setTimeout(fit, 100);
  }

  function whenTypeset() {
    var startup = window.MathJax && window.MathJax.startup;
    if (startup && startup.promise) {
      startup.promise.then(function () {
        fit();
        // The column's width can still change after the first typeset (web fonts arriving, the
        // sidebars settling): fit again whenever it does.
        // Only a change of width counts: fitting changes the column's height.
        var column = document.querySelector(".bd-article") || document.body;
        var width = column.clientWidth;
        if (window.ResizeObserver) new ResizeObserver(function () {
          if (column.clientWidth !== width) {
            width = column.clientWidth;
            fitSoon();
          }
        }).observe(column);
      });
    } else {
      setTimeout(whenTypeset, 100);
    }
  }

  window.addEventListener("resize", fitSoon);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", whenTypeset);
  } else {
    whenTypeset();
  }
})();
