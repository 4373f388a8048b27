/* Personal clock: a signed-in person is verified 1:1 against their own face. */
(function () {
  "use strict";
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
  const WAIT_FOR_FACE_MS = 8000;

  let next = cfg.nextDirection || "in";
  let last = null;
  let stopWatch = null;
  let busy = false;

  function label(direction) { return direction === "out" ? "OUT" : "IN"; }
  function render() {
    button.textContent = "Clock " + label(next);
    other.textContent = "or clock " + label(next === "in" ? "out" : "in") + " instead";
  }

  function onAnalysis(analysis) {
    last = analysis;
    A.drawBoxes(overlay, video, analysis);
    guide.textContent = analysis.ok ? "Ready" : (A.firstIssue(analysis) || "Look at the camera");
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
        ? "You are clocked <strong>IN</strong> since " + A.escapeHtml(b.event.local_time) + "."
        : "You are not clocked in.";
      render();
    } else {
      A.show(result, res.status === 422 ? "warn" : "bad",
        '<p class="headline">' + A.escapeHtml(b.detail || "Something went wrong.") + "</p>");
    }
  }

  async function clockWith(fields) {
    if (busy) return;
    busy = true;
    button.disabled = true;
    try {
      const res = await A.postWithRetry(cfg.clockUrl, Object.assign({ capture_id: A.captureId() }, fields));
      answer(res);
    } finally {
      busy = false;
      button.disabled = false;
    }
  }

  async function clockByFace(direction) {
    if (!stopWatch) {
      A.show(result, "warn", '<p class="headline">The camera is not available. Use your PIN.</p>');
      return;
    }
    A.show(result, "info", "<p>Look at the camera…</p>");
    if (!(await waitForGoodFrame())) {
      A.show(result, "warn", '<p class="headline">' + A.escapeHtml(A.firstIssue(last) || "No face seen.") + "</p><p>Please try again.</p>");
      return;
    }
    const image = await window.FaceCam.grab(video, { maxWidth: 640, quality: 0.9 });
    const t0 = performance.now();
    await clockWith({ image: image, direction: direction });
    A.timings.push(performance.now() - t0);
  }

  button.addEventListener("click", () => clockByFace(next));
  other.addEventListener("click", () => clockByFace(next === "in" ? "out" : "in"));
  pinForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const pin = pinForm.pin.value;
    pinForm.pin.value = "";
    if (pin) clockWith({ pin: pin, direction: next });
  });

  async function begin() {
    render();
    try {
      await window.FaceCam.start(video);
      stopWatch = window.FaceCam.watch(video, { url: cfg.analyseUrl, intervalMs: 400, onAnalysis: onAnalysis });
      guide.textContent = "Look at the camera";
    } catch (e) {
      guide.textContent = e.code === "denied" ? "Camera access denied" : "No camera";
      A.show(result, "bad", '<p class="headline">' + A.escapeHtml(e.message) + "</p>");
      pinPanel.open = true;
      pinForm.pin.focus();
    }
  }
  window.addEventListener("pagehide", () => { if (stopWatch) stopWatch(); window.FaceCam.stop(video); });
  begin();
})();
