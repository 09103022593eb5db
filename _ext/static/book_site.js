// Equations wider than the text column (a long chain of equalities, a symbolic 3 × 3 Jacobian, a
// long inline formula on a phone) are scaled down until they fit, instead of being cut
// mid-formula or scrolled sideways: MathJax 3 cannot break a formula across lines. Runs after MathJax has typeset
// the page and again when the window is resized.
(function () {
  "use strict";
  // Below this the formula would be unreadable (a reader can still zoom in); the browser test then
  // reports it as clipped. The longest display formulas need about 0.42 on a 390 px phone.
  var SMALLEST = 0.35;

  // Width the formula has and width it may take: a display formula scrolls inside its own box; an
  // inline one may take the width of the paragraph or list item it sits in.
  function widths(box) {
    if (box.getAttribute("display") === "true") return [box.scrollWidth, box.clientWidth];
    var block = box.parentElement.closest("p, li, dd, dt, td, th, div, section") || box.parentElement;
    var style = window.getComputedStyle(block);
    var inner = block.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    return [box.getBoundingClientRect().width, inner];
  }

  function fit() {
    var boxes = document.querySelectorAll(".bd-article mjx-container");
    boxes.forEach(function (box) {
      if (box.dataset.fontSize === undefined) box.dataset.fontSize = box.style.fontSize;
      box.style.fontSize = box.dataset.fontSize;
    });
    boxes.forEach(function (box) {
      for (var attempt = 0; attempt < 3; attempt++) {
        var sizes = widths(box);
        var needed = sizes[0], available = sizes[1];
        if (available <= 0 || needed <= available + 1) break;
        var size = parseFloat(window.getComputedStyle(box).fontSize);
        if (!box.dataset.baseSize) box.dataset.baseSize = size;
        var scale = Math.max(SMALLEST * parseFloat(box.dataset.baseSize) / size, (available - 2) / needed);
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
        // MathJax may typeset again later (a re-rendered formula is a new element, at full size).
        if (window.MutationObserver) new MutationObserver(function (changes) {
          var added = changes.some(function (change) {
            return Array.prototype.some.call(change.addedNodes, function (node) {
              return node.nodeType === 1 && (node.matches("mjx-container") || node.querySelector("mjx-container"));
            });
          });
          if (added) fitSoon();
        }).observe(column, {childList: true, subtree: true});
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
