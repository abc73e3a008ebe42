/* leadscore web app: the YAML editor's line numbers and error marks (no build step). */
(function () {
  "use strict";
  function editor() {
    var area = document.getElementById("yaml");
    var gutter = document.getElementById("gutter");
    if (!area || !gutter) return;
    function bad() {
      var box = document.getElementById("problems");
      var raw = box ? box.getAttribute("data-lines") || "" : "";
      var out = {};
      raw.split(",").forEach(function (n) { if (n) out[n] = true; });
      return out;
    }
    function paint() {
      var lines = area.value.split("\n").length;
      var marks = bad();
      var html = [];
      for (var i = 1; i <= lines; i++) {
        html.push(marks[i] ? '<span class="bad" title="problem on this line">' + i + "</span>" : String(i));
      }
      gutter.innerHTML = html.join("\n");
      gutter.scrollTop = area.scrollTop;
    }
    function goTo(line, column) {
      var rows = area.value.split("\n");
      var at = 0;
      for (var i = 0; i < line - 1 && i < rows.length; i++) at += rows[i].length + 1;
      at += Math.max(0, (column || 1) - 1);
      area.focus();
      area.setSelectionRange(at, at);
      var lineHeight = parseFloat(getComputedStyle(area).lineHeight) || 18;
      area.scrollTop = Math.max(0, (line - 5) * lineHeight);
      paint();
    }
    area.addEventListener("input", paint);
    area.addEventListener("scroll", function () { gutter.scrollTop = area.scrollTop; });
    area.addEventListener("keydown", function (e) {
      if (e.key === "Tab" && !e.shiftKey && !e.ctrlKey && !e.altKey && !e.metaKey) {
        /* Tab indents by two spaces; Escape then Tab leaves the editor (keyboard users). */
        if (area.dataset.escaped === "1") { area.dataset.escaped = ""; return; }
        e.preventDefault();
        var s = area.selectionStart;
        area.setRangeText("  ", s, area.selectionEnd, "end");
        paint();
      } else if (e.key === "Escape") {
        area.dataset.escaped = "1";
      }
    });
    document.addEventListener("click", function (e) {
      var btn = e.target.closest ? e.target.closest("button.goto") : null;
      if (btn && btn.getAttribute("data-line")) {
        goTo(parseInt(btn.getAttribute("data-line"), 10), parseInt(btn.getAttribute("data-column"), 10));
      }
    });
    document.body.addEventListener("htmx:afterSwap", paint);
    paint();
  }
  document.addEventListener("DOMContentLoaded", editor);
})();
