/* leadscore import page: send each chosen file as the request body, with a progress bar,
   then open the preview (no build step). */
(function () {
  "use strict";
  function start() {
    var formEl = document.getElementById("import-form");
    if (!formEl) return;
    var bar = document.getElementById("upload-bar");
    var label = document.getElementById("upload-label");
    var box = document.getElementById("upload-progress");
    var errorBox = document.getElementById("upload-error");
    function fail(text) {
      errorBox.textContent = text;
      errorBox.hidden = false;
      box.hidden = true;
    }
    function describe(problem) {
      var where = [problem.source];
      if (problem.row) where.push("row " + problem.row);
      if (problem.column) where.push("column " + problem.column);
      return where.filter(Boolean).join(", ") + ": " + problem.message +
        (problem.hint ? " — " + problem.hint : "");
    }
    function send(kind, file, staged, done) {
      var name = file.name.toLowerCase();
      var format = /\.(parquet|pq)$/.test(name) ? "parquet" : "csv";
      var url = formEl.getAttribute("data-upload") + "?kind=" + kind + "&format=" + format +
        (staged ? "&staged=" + encodeURIComponent(staged) : "");
      var xhr = new XMLHttpRequest();
      xhr.open("POST", url);
      xhr.setRequestHeader("X-CSRF-Token", formEl.getAttribute("data-csrf"));
      xhr.setRequestHeader("X-File-Name", encodeURIComponent(file.name));
      xhr.setRequestHeader("Content-Type", "application/octet-stream");
      label.textContent = "Uploading " + file.name + "…";
      xhr.upload.onprogress = function (e) {
        if (e.lengthComputable) bar.value = Math.round((100 * e.loaded) / e.total);
      };
      xhr.onload = function () {
        var answer = null;
        try { answer = JSON.parse(xhr.responseText); } catch (err) { answer = null; }
        if (xhr.status === 200 && answer && answer.staged) return done(answer.staged);
        if (answer && answer.problem) return fail(describe(answer.problem));
        fail("The upload of " + file.name + " failed (HTTP " + xhr.status + "): reload the page and try again.");
      };
      xhr.onerror = function () { fail("The upload of " + file.name + " was cut off: check the connection and try again."); };
      xhr.send(file);
    }
    formEl.addEventListener("submit", function (e) {
      e.preventDefault();
      errorBox.hidden = true;
      var chosen = [];
      ["contacts", "events"].forEach(function (kind) {
        var input = formEl.querySelector("input[name=" + kind + "]");
        if (input && input.files && input.files[0]) chosen.push([kind, input.files[0]]);
      });
      if (!chosen.length) return fail("Choose a contacts file, an events file, or both.");
      box.hidden = false;
      bar.value = 0;
      var next = function (i, staged) {
        if (i === chosen.length) { window.location.href = "/import/" + encodeURIComponent(staged); return; }
        send(chosen[i][0], chosen[i][1], staged, function (token) { next(i + 1, token); });
      };
      next(0, null);
    });
  }
  document.addEventListener("DOMContentLoaded", start);
})();
