/* Helpers shared by the attendance pages (kiosk, personal clock, enrolment).
 * window.Attendance:
 *   config()                        the page's JSON config (json_script "attendance-config")
 *   captureId()                     a random UUID v4 (also on plain-HTTP LAN kiosks)
 *   postWithRetry, sleep, drawBoxes  FaceCam.postWithRetry, FaceCam.sleep, FaceCam.drawFaces
 *   show(el, kind, html)            fill a result box (kind: ok | warn | bad | info)
 *   send(method, url, json)         fetch with CSRF and JSON (DELETE / POST of the privacy actions)
 *   timings                         capture-to-answer times in ms (read by the browser test)
 *   marks                           {ready, greeted}: camera ready and first greeting (performance.now())
 *   liveRetries                     automatic retries after a missed liveness instruction
 *   liveClock(video, o)             FaceCam.liveStreamLoop (o.streamUrl; FaceCam.liveLoop, the
 *                                   burst, without it) with the attendance API's "instruction
 *                                   missed" answer (422 no_challenge_response), counting retries
 */
(function () {
  "use strict";
  // Translations: the JavaScript catalog (base.html) in the page's language; without it, the
  // source text.
  const gettext = window.gettext || ((s) => s);
  const ngettext = window.ngettext || ((one, many, n) => (n === 1 ? one : many));
  const interpolate = window.interpolate || ((f, o) => f.replace(/%\((\w+)\)s/g, (m, k) => String(o[k])));

  function config() {
    const el = document.getElementById("attendance-config");
    return el ? JSON.parse(el.textContent) : {};
  }

  function captureId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function escapeHtml(text) {
    const div = document.createElement("div");
    div.textContent = text == null ? "" : String(text);
    return div.innerHTML;
  }

  function show(el, kind, html) {
    el.hidden = false;
    el.className = "result " + kind;
    el.innerHTML = html;
  }

  function firstIssue(analysis) {
    const issue = analysis && analysis.issues && analysis.issues[0];
    return issue ? issue.message : "";
  }

  async function send(method, url, json) {
    const headers = { "X-CSRFToken": window.FaceCam.csrfToken(), Accept: "application/json" };
    const init = { method: method, credentials: "same-origin", headers: headers };
    if (json !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(json);
    }
    let response;
    try {
      response = await fetch(url, init);
    } catch (e) {
      return { status: 0, ok: false, body: { code: "network", detail: gettext("No connection to the server.") } };
    }
    return window.FaceCam.answer(response);
  }

  function missedInstruction(res) {
    const b = res.body || {};
    return res.status === 422 && b.code === "spoof_suspected" && b.reason === "no_challenge_response";
  }

  function liveClock(video, o) {
    const loop = o.streamUrl ? window.FaceCam.liveStreamLoop : window.FaceCam.liveLoop;
    return loop(video, Object.assign({}, o, {
      missed: missedInstruction,
      onRetry: () => {
        window.Attendance.liveRetries += 1;
        if (o.onRetry) o.onRetry();
      },
    }));
  }

  window.Attendance = {
    config, captureId, send, show, escapeHtml, firstIssue, liveClock,
    postWithRetry: window.FaceCam.postWithRetry,
    sleep: window.FaceCam.sleep,
    drawBoxes: window.FaceCam.drawFaces,
    timings: [], marks: {}, liveRetries: 0,
  };
})();
