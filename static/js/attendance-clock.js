/* Personal clock: a signed-in person is verified 1:1 against their own face.
 *
 * With liveness on (cfg.liveness) the button asks for a challenge bound to the person, shows
 * its instruction in big letters, records the burst and sends frames + nonce; a missed
 * instruction (no_challenge_response) is retried once with a fresh challenge. A failed
 * liveness check offers the PIN. Attendance.timings holds click-to-answer times.
 */
(function () {
  "use strict";
  // Translations: the JavaScript catalog (base.html) in the page's language; without it, the
  // source text.
  const gettext = window.gettext || ((s) => s);
  const ngettext = window.ngettext || ((one, many, n) => (n === 1 ? one : many));
  const interpolate = window.interpolate || ((f, o) => f.replace(/%\((\w+)\)s/g, (m, k) => String(o[k])));
  const A = window.Attendance;
  const cfg = A.config();
  const video = document.getElementById("cam");
  const overlay = document.getElementById("overlay");
  const guide = document.getElementById("guide");
  const result = document.getElementById("result");
  const button = document.getElementById("clock-button");
  const other = document.getElementById("other-direction");
  const state = document.getElementById("state");
  const pinPanel = document.getElementById("pin-panel");
  const pinForm = document.getElementById("pin-form");
  const instruction = document.getElementById("instruction");
  const WAIT_FOR_FACE_MS = 8000;
  const NOT_LIVE = gettext("We could not confirm a live person — please look at the camera and follow the instruction.");

  let next = cfg.nextDirection || "in";
  let last = null;
  let stopWatch = null;
  let busy = false;
  let cameraOk = false;

  function render() {
    button.textContent = next === "out" ? gettext("Clock OUT") : gettext("Clock IN");
    other.textContent = next === "out" ? gettext("or clock IN instead") : gettext("or clock OUT instead");
  }

  function onAnalysis(analysis) {
    last = analysis;
    A.drawBoxes(overlay, video, analysis);
    guide.textContent = analysis.ok ? gettext("Ready") : (A.firstIssue(analysis) || gettext("Look at the camera"));
  }

  async function waitForGoodFrame() {
    const t0 = Date.now();
    last = null;
    while (Date.now() - t0 < WAIT_FOR_FACE_MS) {
      if (last && last.ok) return true;
      await A.sleep(100);
    }
    return false;
  }

  function answer(res) {
    const b = res.body || {};
    if (res.ok && b.event) {
      A.show(result, b.created || b.replayed ? "ok" : "info",
        '<p class="headline">' + A.escapeHtml(b.message) + "</p>");
      next = b.event.direction === "in" ? "out" : "in";
      state.innerHTML = b.event.direction === "in"
        ? interpolate(gettext("You are clocked <strong>IN</strong> since %(since)s."), { since: A.escapeHtml(b.event.local_time) }, true)
        : A.escapeHtml(gettext("You are not clocked in."));
      render();
      if (b.greeting && A.marks.greeted == null) A.marks.greeted = performance.now();
    } else if (b.code === "spoof_suspected") {
      A.show(result, "warn", '<p class="headline">' + A.escapeHtml(NOT_LIVE) + "</p>" +
        '<p><button type="button" class="secondary" data-open-pin>' + A.escapeHtml(gettext("Use my PIN instead")) + "</button></p>");
    } else {
      A.show(result, res.status === 422 ? "warn" : "bad",
        '<p class="headline">' + A.escapeHtml(b.detail || gettext("Something went wrong.")) + "</p>");
    }
  }

  function post(fields) {
    return A.postWithRetry(cfg.clockUrl, Object.assign({ capture_id: A.captureId() }, fields));
  }

  async function clockWith(fields) {
    if (busy) return;
    busy = true;
    button.disabled = true;
    try {
      answer(await post(fields));
    } finally {
      busy = false;
      button.disabled = false;
    }
  }

  function showInstruction(text) {
    instruction.textContent = text;
    instruction.hidden = false;
    A.show(result, "info", '<p class="headline">' + A.escapeHtml(text) + "</p><p>Look at the camera and do it now.</p>");
  }

  function hideInstruction() {
    instruction.hidden = true;
    instruction.textContent = "";
    instruction.classList.remove("prompt");
  }

  function showPrompt(text) {
    instruction.textContent = text;
    instruction.hidden = false;
    instruction.classList.add("prompt");
    A.show(result, "info", '<p class="headline">' + A.escapeHtml(text) + "</p><p>" +
      A.escapeHtml(gettext("We have not seen it yet.")) + "</p>");
  }

  async function clockLive(direction) {
    // The watcher pauses during the burst: the camera's frames go to the capture only.
    if (stopWatch) stopWatch();
    stopWatch = null;
    A.drawBoxes(overlay, video, null);
    guide.textContent = gettext("Look at the camera");
    busy = true;
    button.disabled = true;
    let res;
    try {
      res = await A.liveClock(video, {
        challengeUrl: cfg.challengeUrl,
        streamUrl: cfg.streamUrl,
        onInstruction: showInstruction,
        onPrompt: showPrompt,
        onCaptured: function () {
          hideInstruction();
          A.show(result, "info", "<p>" + A.escapeHtml(gettext("One moment…")) + "</p>");
        },
        onRetry: function () {
          A.show(result, "info", "<p>" + A.escapeHtml(gettext("Once more, please.")) + "</p>");
        },
        send: function (fields) {
          return post(Object.assign(fields, { direction: direction }));
        },
      });
      answer(res);
    } finally {
      hideInstruction();
      busy = false;
      button.disabled = false;
      window.FaceCam.prefetchChallenge(cfg.challengeUrl);
      startWatch();
    }
  }

  async function clockByFace(direction) {
    if (!cameraOk) {
      A.show(result, "warn", '<p class="headline">' + A.escapeHtml(gettext("The camera is not available. Use your PIN.")) + "</p>");
      return;
    }
    A.show(result, "info", "<p>" + A.escapeHtml(gettext("Look at the camera…")) + "</p>");
    // A streamed live capture needs no good frame first: the server waits for the face.
    const streaming = cfg.liveness && cfg.streamUrl;
    if (!streaming && !(await waitForGoodFrame())) {
      A.show(result, "warn", '<p class="headline">' + A.escapeHtml(A.firstIssue(last) || gettext("No face seen.")) + "</p><p>" + A.escapeHtml(gettext("Please try again.")) + "</p>");
      return;
    }
    const t0 = performance.now();
    if (cfg.liveness) {
      await clockLive(direction);
    } else {
      const image = await window.FaceCam.grab(video, { maxWidth: 640, quality: 0.9 });
      await clockWith({ image: image, direction: direction });
    }
    A.timings.push(performance.now() - t0);
  }

  function startWatch() {
    if (stopWatch || !cameraOk) return;
    stopWatch = window.FaceCam.watch(video, { url: cfg.analyseUrl, intervalMs: 400, onAnalysis: onAnalysis });
  }

  button.addEventListener("click", () => { if (!busy) clockByFace(next); });
  other.addEventListener("click", () => { if (!busy) clockByFace(next === "in" ? "out" : "in"); });
  result.addEventListener("click", (e) => {
    if (e.target && e.target.closest && e.target.closest("[data-open-pin]")) {
      pinPanel.open = true;
      pinForm.pin.focus();
    }
  });
  pinForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const pin = pinForm.pin.value;
    pinForm.pin.value = "";
    if (pin) clockWith({ pin: pin, direction: next });
  });

  async function begin() {
    render();
    if (cfg.liveness) window.FaceCam.prefetchChallenge(cfg.challengeUrl);
    try {
      await window.FaceCam.start(video);
      cameraOk = true;
      A.marks.ready = performance.now();
      startWatch();
      guide.textContent = gettext("Look at the camera");
    } catch (e) {
      guide.textContent = e.code === "denied" ? gettext("Camera access denied") : gettext("No camera");
      A.show(result, "bad", '<p class="headline">' + A.escapeHtml(e.message) + "</p>");
      pinPanel.open = true;
      pinForm.pin.focus();
    }
  }
  window.addEventListener("pagehide", () => { if (stopWatch) stopWatch(); window.FaceCam.stop(video); });
  begin();
})();
