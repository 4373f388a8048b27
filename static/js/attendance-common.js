/* Helpers shared by the attendance pages (kiosk, personal clock, enrolment).
 * window.Attendance:
 *   config()                        the page's JSON config (json_script "attendance-config")
 *   captureId()                     a random UUID v4 (also on plain-HTTP LAN kiosks)
 *   postWithRetry(url, fields, o)   FaceCam.post, retried on network errors, timeouts and 5xx;
 *                                   safe because the same capture_id is sent every time
 *   show(el, kind, html)            fill a result box (kind: ok | warn | bad | info)
 *   send(method, url, json)         fetch with CSRF and JSON (DELETE / POST of the privacy actions)
 *   timings                         capture-to-answer times in ms (read by the browser test)
 *   marks                           {ready, greeted}: camera ready and first greeting (performance.now())
 *   liveRetries                     automatic retries after a missed liveness instruction
 *   liveClock(video, o)             challenge -> burst -> o.send({frames, nonce}); once more with a
 *                                   fresh challenge when the instruction was missed
 *                                   (o: challengeUrl, onInstruction, onCaptured, onRetry, send)
 */
(function () {
  "use strict";

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

  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  function withTimeout(promise, ms) {
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error("timeout")), ms);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }

  async function postWithRetry(url, fields, opts) {
    const o = Object.assign({ attempts: 4, timeoutMs: 10000, onRetry: null }, opts || {});
    let last = null;
    for (let attempt = 1; attempt <= o.attempts; attempt++) {
      try {
        const res = await withTimeout(window.FaceCam.post(url, fields), o.timeoutMs);
        if (res.status < 500) return res;
        last = res;
      } catch (e) {
        last = { status: 0, ok: false, body: { code: "network", detail: "No connection to the server." } };
      }
      if (attempt < o.attempts) {
        if (o.onRetry) o.onRetry(attempt);
        await sleep(400 * Math.pow(2, attempt - 1));
      }
    }
    return last;
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

  function drawBoxes(canvas, video, analysis) {
    // The engine reports boxes as left/top/width/height; FaceCam.drawFaces wants right/bottom.
    if (analysis && analysis.faces) {
      analysis.faces = analysis.faces.map((f) =>
        Object.assign({}, f, {
          right: f.right != null ? f.right : f.left + f.width,
          bottom: f.bottom != null ? f.bottom : f.top + f.height,
        })
      );
    }
    window.FaceCam.drawFaces(canvas, video, analysis);
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
      return { status: 0, ok: false, body: { code: "network", detail: "No connection to the server." } };
    }
    return window.FaceCam.answer(response);
  }

  function missedInstruction(res) {
    const b = res.body || {};
    return res.status === 422 && b.code === "spoof_suspected" && b.reason === "no_challenge_response";
  }

  async function liveClock(video, o) {
    let res;
    for (let attempt = 0; attempt < 2; attempt++) {
      let captured;
      try {
        captured = await window.FaceCam.liveCapture(video, { challengeUrl: o.challengeUrl, onInstruction: o.onInstruction });
      } catch (e) {
        return e.status
          ? { status: e.status, ok: false, body: e.body || {} }
          : { status: 0, ok: false, body: { code: "network", detail: "No connection to the server." } };
      }
      o.onCaptured();
      res = await o.send({ frames: captured.frames, nonce: captured.nonce });
      if (!missedInstruction(res) || attempt === 1) break;
      window.Attendance.liveRetries += 1;
      o.onRetry();
    }
    return res;
  }

  window.Attendance = {
    config, captureId, postWithRetry, send, show, escapeHtml, sleep, drawBoxes, firstIssue, liveClock,
    timings: [], marks: {}, liveRetries: 0,
  };
})();
