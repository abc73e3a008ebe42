/* leadscore web app: the YAML editor (line numbers, error marks, colours, suggestions,
   a link to the reference of the key at the cursor) and the rule builder. No build step. */
(function () {
  "use strict";
  function json(id) {
    var el = document.getElementById(id);
    try { return el ? JSON.parse(el.textContent) : null; } catch (e) { return null; }
  }
  function esc(s) {
    return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  /* ------------------------------------------------------------ colours */
  var KEYS = {}, OPS = {}, REF = "/reference/model";
  var COLOUR_LIMIT = 200000;  /* characters */
  function span(cls, text) { return '<span class="' + cls + '">' + esc(text) + "</span>"; }
  function keyClass(word) {
    if (OPS[word]) return "t-op";
    if (KEYS[word]) return "t-key";
    return "t-field";
  }
  var TOKEN = /("(?:[^"\\]|\\.)*"?|'(?:[^']|'')*'?)|(\s#.*$)|([{}\[\],])|([A-Za-z_][\w.\-]*|"[^"]*")(\s*:)(?=\s|$|[,}\]])|(-?\d+(?:\.\d+)?(?:[smhdw]\w*)?)(?=$|[\s,}\]])|\b(true|false|null)\b/g;
  function paintLine(line) {
    var m = /^(\s*)(#.*)$/.exec(line);
    if (m) return esc(m[1]) + span("t-comment", m[2]);
    var out = "", at = 0, t;
    var lead = /^(\s*)(-\s+)?/.exec(line);
    if (lead[0]) { out += esc(lead[1]) + (lead[2] ? span("t-punct", lead[2]) : ""); at = lead[0].length; }
    TOKEN.lastIndex = at;
    while ((t = TOKEN.exec(line))) {
      out += esc(line.slice(at, t.index));
      if (t[1]) out += span("t-str", t[1]);
      else if (t[2]) out += span("t-comment", t[2]);
      else if (t[3]) out += span("t-punct", t[3]);
      else if (t[4]) out += span(keyClass(t[4]), t[4]) + span("t-punct", t[5]);
      else if (t[6]) out += span("t-num", t[6]);
      else if (t[7]) out += span("t-bool", t[7]);
      at = TOKEN.lastIndex;
      if (t[0] === "") TOKEN.lastIndex++;
    }
    return out + esc(line.slice(at));
  }
  function paintText(text) { return text.split("\n").map(paintLine).join("\n") + "\n "; }

  /* ------------------------------------------------------------ the editor */
  function editor() {
    var area = document.getElementById("yaml");
    var gutter = document.getElementById("gutter");
    if (!area || !gutter) return;
    var pre = document.getElementById("highlight");
    var code = null;
    var words = json("editor-words") || {};
    KEYS = words.keys || {}; OPS = words.operators || {}; REF = words.ref || REF;
    if (pre) {
      code = document.createElement("code");
      pre.appendChild(code);
      area.classList.add("overlaid");
    }
    function bad() {
      var box = document.getElementById("problems");
      var raw = box ? box.getAttribute("data-lines") || "" : "";
      var out = {};
      raw.split(",").forEach(function (n) { if (n) out[n] = true; });
      return out;
    }
    function scroll() {
      gutter.scrollTop = area.scrollTop;
      if (code) code.style.transform = "translate(" + -area.scrollLeft + "px," + -area.scrollTop + "px)";
    }
    function paint() {
      var lines = area.value.split("\n").length;
      var marks = bad();
      var html = [];
      for (var i = 1; i <= lines; i++) {
        html.push(marks[i] ? '<span class="bad" title="problem on this line">' + i + "</span>" : String(i));
      }
      gutter.innerHTML = html.join("\n");
      if (code) {
        /* a very long text is shown plain: colouring it at each key would lag */
        var plain = area.value.length > COLOUR_LIMIT;
        area.classList.toggle("overlaid", !plain);
        code.innerHTML = plain ? "" : paintText(area.value);
      }
      scroll();
    }
    function lineStart(line) {
      var rows = area.value.split("\n"), at = 0;
      for (var i = 0; i < line - 1 && i < rows.length; i++) at += rows[i].length + 1;
      return at;
    }
    function goTo(line, column, endLine) {
      close();
      var at = lineStart(line) + Math.max(0, (column || 1) - 1);
      var end = at;
      if (endLine) { end = lineStart(endLine + 1) - 1; if (end < at) end = area.value.length; }
      area.focus();
      area.setSelectionRange(at, end);
      var lineHeight = parseFloat(getComputedStyle(area).lineHeight) || 18;
      area.scrollTop = Math.max(0, (line - 5) * lineHeight);
      paint();
      follow();
    }
    /* the whole text replaced as one edit the browser can undo */
    var replacing = false;
    function replaceAll(text) {
      replacing = true;
      area.focus();
      area.select();
      var done = false;
      try { done = document.execCommand("insertText", false, text); } catch (e) { done = false; }
      if (!done || area.value !== text) {
        area.value = text;
        area.dispatchEvent(new Event("input", { bubbles: true }));
      }
      replacing = false;
    }
    editor.goTo = goTo; editor.replaceAll = replaceAll; editor.paint = paint;

    /* suggestions: construct keys, operators, the store's property names, event types
       and attributes */
    var list = document.getElementById("suggest");
    var catalog = json("builder-catalog") || { properties: [], event_types: [] };
    var props = catalog.properties.map(function (p) { return p.name; });
    var types = catalog.event_types.map(function (t) { return t.name; });
    var attrs = [];
    catalog.event_types.forEach(function (t) {
      t.attributes.forEach(function (a) { if (attrs.indexOf(a.name) < 0) attrs.push(a.name); });
    });
    var shown = [], active = 0, word = null;
    function close() {
      if (!list) return;
      list.hidden = true; shown = []; word = null;
      area.setAttribute("aria-expanded", "false");
      area.removeAttribute("aria-activedescendant");
    }
    function context(before) {
      /* what may be typed where the word starts */
      if (/\btype:\s*(\[\s*)?([\w-]+\s*,\s*)*$/.test(before)) return { items: types, tail: "" };
      /* inside {field: {… : the operators */
      if (/:\s*\{[^{}]*:\s*\{\s*(\w+\s*:[^,{}]*,\s*)*$/.test(before)) return { items: Object.keys(OPS), tail: ": " };
      var inWhen = /\bwhen:\s*\{[^}]*$/.test(before) || /\bcases\b/.test(before);
      var inOn = /\bon:\s*\{[^}]*$/.test(before);
      if (inWhen) return { items: props.concat(["all", "any", "not"]), tail: ": " };
      if (inOn) return { items: ["type"].concat(attrs, ["all", "any", "not"]), tail: ": " };
      if (/^\s*(-\s+)?$/.test(before)) return { items: Object.keys(KEYS), tail: ": " };
      return { items: Object.keys(KEYS).concat(props, types), tail: "" };
    }
    function measure() {
      var probe = document.createElement("span");
      probe.textContent = "0000000000";
      probe.style.cssText = "position:absolute;visibility:hidden;white-space:pre;font:" + getComputedStyle(area).font;
      document.body.appendChild(probe);
      var w = probe.getBoundingClientRect().width / 10;
      probe.remove();
      return w || 7.5;
    }
    var charWidth = null;
    function suggest() {
      if (!list) return;
      var caret = area.selectionStart;
      if (caret !== area.selectionEnd) return close();
      var text = area.value;
      var start = text.lastIndexOf("\n", caret - 1) + 1;
      var line = text.slice(start, caret);
      var m = /[A-Za-z_][\w.\-]*$/.exec(line);
      if (!m) return close();
      var before = line.slice(0, m.index);
      if (/#/.test(before) && /\s#/.test(" " + before)) return close();
      var ctx = context(before);
      var typed = m[0].toLowerCase();
      var seen = {};
      shown = ctx.items.filter(function (w) {
        if (seen[w] || w.toLowerCase().indexOf(typed) !== 0 || w === m[0]) return false;
        seen[w] = true; return true;
      }).slice(0, 8);
      if (!shown.length) return close();
      word = { start: start + m.index, end: caret, tail: ctx.tail };
      active = 0;
      list.innerHTML = "";
      shown.forEach(function (w, i) {
        var li = document.createElement("li");
        li.id = "suggest-" + i;
        li.setAttribute("role", "option");
        li.textContent = w;
        if (OPS[w]) { var d = document.createElement("span"); d.className = "muted"; d.textContent = " " + OPS[w]; li.appendChild(d); }
        li.addEventListener("mousedown", function (e) { e.preventDefault(); take(i); });
        list.appendChild(li);
      });
      mark();
      charWidth = charWidth || measure();
      var lineHeight = parseFloat(getComputedStyle(area).lineHeight) || 18;
      var row = text.slice(0, caret).split("\n").length;
      var top = row * lineHeight + 8 - area.scrollTop;
      var left = (caret - start) * charWidth + 10 - area.scrollLeft;
      var room = area.clientWidth - 200;
      list.style.top = Math.max(0, top) + "px";
      list.style.left = Math.max(0, Math.min(left, room)) + "px";
      list.hidden = false;
      area.setAttribute("aria-expanded", "true");
    }
    function mark() {
      Array.prototype.forEach.call(list.children, function (li, i) {
        li.setAttribute("aria-selected", i === active ? "true" : "false");
      });
      area.setAttribute("aria-activedescendant", "suggest-" + active);
    }
    function take(i) {
      if (!word) return;
      var w = shown[i], tail = word.tail;
      if (tail && area.value.slice(word.end, word.end + 1) === ":") tail = "";
      area.setRangeText(w + tail, word.start, word.end, "end");
      close();
      area.dispatchEvent(new Event("input", { bubbles: true }));
    }

    /* the reference of the key at the cursor */
    var link = document.getElementById("construct-ref");
    function follow() {
      if (!link) return;
      var text = area.value, caret = area.selectionStart;
      var start = text.lastIndexOf("\n", caret - 1) + 1;
      var end = text.indexOf("\n", caret); if (end < 0) end = text.length;
      var line = text.slice(start, end), col = caret - start;
      var found = null, re = /([A-Za-z_]\w*)\s*:/g, t;
      while ((t = re.exec(line))) {
        if ((KEYS[t[1]] || OPS[t[1]]) && t.index <= col) found = t[1];
      }
      if (!found) {
        var k = /^\s*(?:-\s+)?([A-Za-z_]\w*)\s*:/.exec(line);
        if (k && KEYS[k[1]]) found = k[1];
      }
      if (found) {
        link.textContent = "Reference: " + found;
        link.href = REF + "#" + (KEYS[found] || KEYS.eq);
      } else {
        link.textContent = "Reference";
        link.href = REF;
      }
    }

    area.addEventListener("input", function () { paint(); if (!replacing) suggest(); follow(); });
    area.addEventListener("scroll", function () { scroll(); close(); });
    area.addEventListener("click", function () { close(); follow(); });
    area.addEventListener("keyup", function (e) { if (/^Arrow|Home|End|Page/.test(e.key) && list && list.hidden) follow(); });
    area.addEventListener("blur", function () { setTimeout(close, 150); });
    area.addEventListener("keydown", function (e) {
      if (list && !list.hidden) {
        if (e.key === "ArrowDown" || e.key === "ArrowUp") {
          e.preventDefault();
          active = (active + (e.key === "ArrowDown" ? 1 : shown.length - 1)) % shown.length;
          mark(); return;
        }
        if (e.key === "Enter" || (e.key === "Tab" && !e.shiftKey)) { e.preventDefault(); take(active); return; }
        if (e.key === "Escape") { e.preventDefault(); close(); return; }
      }
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
    document.body.addEventListener("htmx:oobAfterSwap", paint);
    paint();
  }

  /* ------------------------------------------------------------ the rule builder */
  function builder() {
    var form = document.getElementById("builder-form");
    if (!form) return;
    var catalog = json("builder-catalog") || { properties: [], event_types: [] };
    var value = document.getElementById("b-value");
    var common = document.getElementById("b-common");
    var prop = document.getElementById("b-property");
    var etype = document.getElementById("b-event-type");
    var attr = document.getElementById("b-attribute");
    var attrList = document.getElementById("b-attributes");
    var op = document.getElementById("b-op");
    function kind() {
      var k = form.querySelector("input[name=kind]:checked");
      return k ? k.value : "property";
    }
    function find(items, name) {
      for (var i = 0; i < items.length; i++) if (items[i].name === name) return items[i];
      return null;
    }
    function chips() {
      var item = kind() === "property" ? find(catalog.properties, prop.value)
        : find((find(catalog.event_types, etype.value) || { attributes: [] }).attributes, attr.value);
      var key = kind() + "|" + etype.value + "|" + (kind() === "property" ? prop.value : attr.value);
      if (common.getAttribute("data-for") === key) return;  /* a blur must not redraw a chip being clicked */
      common.setAttribute("data-for", key);
      common.innerHTML = "";
      if (!item || !item.values.length) return;
      var label = document.createElement("span");
      label.className = "muted small";
      label.textContent = "Most common: ";
      common.appendChild(label);
      item.values.forEach(function (pair) {
        var b = document.createElement("button");
        b.type = "button";
        b.className = "chip";
        b.textContent = pair[0];
        var n = document.createElement("span");
        n.className = "muted";
        n.textContent = " " + pair[1];
        b.appendChild(n);
        b.title = pair[1] + (kind() === "property" ? " contacts" : " events");
        b.setAttribute("data-value", pair[0]);
        b.addEventListener("click", function () {
          var v = b.getAttribute("data-value");
          if ((op.value === "in" || op.value === "not_in") && value.value.trim()) {
            value.value = value.value.replace(/\n*$/, "\n") + v;
          } else {
            value.value = v;
          }
        });
        common.appendChild(b);
      });
    }
    function attributes() {
      var t = find(catalog.event_types, etype.value);
      attrList.innerHTML = "";
      (t ? t.attributes : []).forEach(function (a) {
        var o = document.createElement("option");
        o.value = a.name;
        o.label = a.count + " event" + (a.count === 1 ? "" : "s");
        attrList.appendChild(o);
      });
    }
    function shape() {
      form.setAttribute("data-kind", kind());
      form.setAttribute("data-op", op.value);
      value.rows = op.value === "in" || op.value === "not_in" ? 3 : 1;
      chips();
    }
    form.addEventListener("change", shape);
    prop.addEventListener("input", chips);
    attr.addEventListener("input", chips);
    etype.addEventListener("input", function () { attributes(); chips(); });
    value.addEventListener("keydown", function (e) {
      /* one line for one value: Enter adds the rule, as in the other fields */
      if (e.key === "Enter" && op.value !== "in" && op.value !== "not_in") {
        e.preventDefault();
        if (window.htmx) window.htmx.trigger(form, "submit");
      }
    });
    document.body.addEventListener("htmx:afterSwap", function (e) {
      var box = document.getElementById("builder-result");
      var done = box ? box.querySelector("[data-yaml]") : null;
      if (!done || !editor.replaceAll) return;
      var text = done.getAttribute("data-yaml");
      done.removeAttribute("data-yaml");  /* applied once */
      editor.replaceAll(text);
      editor.goTo(parseInt(done.getAttribute("data-first"), 10), 1, parseInt(done.getAttribute("data-last"), 10));
    });
    shape();
  }
  document.addEventListener("DOMContentLoaded", function () { editor(); builder(); });
})();
