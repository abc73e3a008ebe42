/* leadscore first-party tracking. Include with:
 *   <script async src="https://YOUR-LEADSCORE/t.js"></script>
 * Options (data- attributes of the script tag):
 *   data-consent="required"  track only after leadscore.consent(true)
 *   data-endpoint="URL"      where hits go (default: <script origin>/t)
 *   data-cookie="ls_aid"     name of the first-party anonymous id cookie
 * Never tracks when the browser sends Do Not Track or Global Privacy Control.
 */
(function () {
  "use strict";
  var w = window, d = document, n = navigator;
  var me = d.currentScript;
  if (!me || w.leadscore) return;
  var opt = me.dataset || {};
  var endpoint = opt.endpoint || new URL(me.src, location.href).origin + "/t";
  var name = opt.cookie || "ls_aid";
  var maxAge = parseInt(opt.cookieDays || "390", 10) * 86400;
  var needConsent = opt.consent === "required";

  function optedOut() {
    return n.doNotTrack === "1" || w.doNotTrack === "1" || n.msDoNotTrack === "1" ||
      n.globalPrivacyControl === true;
  }
  function readCookie(key) {
    var m = d.cookie.match(new RegExp("(?:^|; )" + key + "=([^;]*)"));
    return m ? decodeURIComponent(m[1]) : null;
  }
  function writeCookie(key, value, age) {
    d.cookie = key + "=" + value + "; path=/; max-age=" + age + "; SameSite=Lax" +
      (location.protocol === "https:" ? "; Secure" : "");
  }
  function randomId() {
    var a = new Uint8Array(16);
    w.crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }
  function consented() {
    return !needConsent || w.leadscoreConsent === true || readCookie(name + "_consent") === "1";
  }
  function visitorId() {
    var v = readCookie(name);
    if (!v) { v = randomId(); }
    writeCookie(name, v, maxAge);
    return v;
  }
  function send(hit) {
    if (optedOut() || !consented()) return false;
    hit.v = visitorId();
    hit.id = randomId();
    hit.consent = true;
    var body = JSON.stringify(hit);
    try {
      if (n.sendBeacon && n.sendBeacon(endpoint, new Blob([body], { type: "text/plain" }))) {
        return true;
      }
      fetch(endpoint, { method: "POST", body: body, keepalive: true, mode: "no-cors",
        headers: { "Content-Type": "text/plain" } });
    } catch (e) { /* tracking never breaks the page */ }
    return true;
  }
  function pageView() {
    return send({ t: "page_view", u: location.href, r: d.referrer || null, ti: d.title || null });
  }
  function onSubmit(ev) {
    var form = ev.target;
    if (!form || form.tagName !== "FORM" || form.hasAttribute("data-leadscore-ignore")) return;
    var input = form.querySelector('input[type="email"], input[name="email"]');
    var email = input && input.value ? input.value.trim() : null;
    send({ t: "form_submit", u: location.href, e: email,
      f: form.getAttribute("data-form-id") || form.id || form.getAttribute("name") || null });
  }

  w.leadscore = {
    consent: function (yes) {
      if (yes) {
        w.leadscoreConsent = true;
        writeCookie(name + "_consent", "1", maxAge);
        pageView();
      } else {
        w.leadscoreConsent = false;
        writeCookie(name + "_consent", "", 0);
        writeCookie(name, "", 0);
      }
    },
    track: pageView
  };
  d.addEventListener("submit", onSubmit, true);
  pageView();
})();
