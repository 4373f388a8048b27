/* Kiosk: identify whoever looks at the camera and clock them IN or OUT.
 *
 * Loop: FaceCam.watch analyses small frames (guidance + face box); on a good frame the
 * watcher stops, one full frame goes to the clock API with a fresh capture id, the answer
 * is shown, and watching resumes. One canvas, one watcher and one clock timer for the life
 * of the page, so it runs for hours without a reload.
 */
(function () {
  "use strict";
  const A = window.Attendance;
  const cfg = A.config();
  const video = document.getElementById("cam");
  const overlay = document.getElementById("overlay");
  const guide = document.getElementById("guide");
  const result = document.getElementById("result");
  const pinPanel = document.getElementById("pin-panel");
  const pinForm = document.getElementById("pin-form");
  const dirButtons = Array.from(document.querySelectorAll("button.dir"));
  const nowEl = document.getElementById("now");

  // After an answer: show it this long before the next capture, and capture the same
  // standing person again only after REPEAT_MS (the server debounces anyway).
  const HOLD_MS = 3000;
  const REPEAT_MS = 8000;
  const RESULT_VISIBLE_MS = 6000;

  let stopWatch = null;
  let busy = false;
  let override = "";
  let lastAnswerAt = 0;
  let faceLeft = true;
  let hideTimer = null;
  let cameraOk = false;

  const clockFormat = new Intl.DateTimeFormat([], {
    hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23", timeZone: cfg.timeZone || undefined,
  });
  function tickClock() { nowEl.textContent = clockFormat.format(new Date()); }
  tickClock();
  setInterval(tickClock, 1000);

  function setOverride(direction) {
    override = direction;
    dirButtons.forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.direction === direction)));
    if (direction) {
      // An explicit choice is a fresh request: capture at the next good frame.
      lastAnswerAt = 0;
      faceLeft = true;
      guide.textContent = "Look at the camera to clock " + direction.toUpperCase();
    }
  }

  function showAnswer(kind, html) {
    A.show(result, kind, html);
    if (hideTimer) clearTimeout(hideTimer);
    hideTimer = setTimeout(() => { result.hidden = true; }, RESULT_VISIBLE_MS);
  }

  function describe(res) {
    const b = res.body || {};
    if (res.ok && b.event) {
      const dir = b.event.direction === "in" ? "IN" : "OUT";
      const headline = b.created || b.replayed ? "Clocked " + dir + " at " + b.event.local_time : b.message;
      return {
        kind: b.created || b.replayed ? "ok" : "info",
        html: '<p class="greeting">' + A.escapeHtml(b.greeting) + '</p><p class="headline">' +
          A.escapeHtml(headline) + "</p>" +
          (b.event.pin_fallback ? '<p class="small">Your manager will check this PIN entry.</p>' : ""),
      };
    }
    if (b.code === "not_recognised") {
      return { kind: "bad", html: '<p class="headline">Not recognised</p><p>Please try again, or use your employee number and PIN.</p>' };
    }
    if (res.status === 401 || (res.status === 403 && b.code === "permission_denied")) {
      return { kind: "bad", html: '<p class="headline">This screen is not paired as a kiosk</p><p>Ask an admin to pair it again.</p>' };
    }
    if (res.status === 0) {
      return { kind: "bad", html: '<p class="headline">No connection</p><p>The server cannot be reached. Trying again…</p>' };
    }
    return { kind: res.status === 422 ? "warn" : "bad", html: '<p class="headline">' + A.escapeHtml(b.detail || "Something went wrong.") + "</p>" };
  }

  async function clock(fields, t0) {
    busy = true;
    stopWatching();
    t0 = t0 || performance.now();
    guide.textContent = "One moment…";
    const res = await A.postWithRetry(cfg.clockUrl, Object.assign({ capture_id: A.captureId() }, fields), {
      onRetry: () => { guide.textContent = "Connection problem, retrying…"; },
    });
    const answer = describe(res);
    showAnswer(answer.kind, answer.html);
    guide.textContent = res.ok ? "Done" : "Look at the camera";
    A.timings.push(performance.now() - t0);
    if (res.ok) setOverride("");
    lastAnswerAt = Date.now();
    faceLeft = false;
    busy = false;
    if (res.status === 401) return; // unpaired: stop; the message says what to do
    if (cameraOk) startWatching();
    return res;
  }

  async function captureFace() {
    // Capture-to-answer starts at the frame grab and ends when the answer is on screen.
    const t0 = performance.now();
    busy = true;
    let blob;
    try {
      blob = await window.FaceCam.grab(video, { maxWidth: 640, quality: 0.9 });
    } catch (e) {
      busy = false;
      return;
    }
    return clock({ image: blob, direction: override || undefined }, t0);
  }

  function readyToCapture(analysis) {
    if (!analysis.ok) return false;
    const since = Date.now() - lastAnswerAt;
    return since > HOLD_MS && (faceLeft || since > REPEAT_MS);
  }

  function onAnalysis(analysis) {
    if (busy) return;
    A.drawBoxes(overlay, video, analysis);
    const faces = (analysis.faces || []).length;
    if (faces === 0) faceLeft = true;
    if (analysis.httpStatus === 401 || analysis.httpStatus === 403) {
      guide.textContent = "This screen is not paired as a kiosk.";
      return;
    }
    if (readyToCapture(analysis)) {
      guide.textContent = "Hold still…";
      captureFace();
      return;
    }
    guide.textContent = analysis.ok ? "Hold still…" : (A.firstIssue(analysis) || "Look at the camera");
  }

  function startWatching() {
    if (stopWatch) return;
    stopWatch = window.FaceCam.watch(video, { url: cfg.analyseUrl, intervalMs: 250, onAnalysis: onAnalysis });
  }

  function stopWatching() {
    if (stopWatch) stopWatch();
    stopWatch = null;
  }

  function openPin(focus) {
    pinPanel.open = true;
    if (focus) document.getElementById("employee-number").focus();
  }

  pinForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (busy) return;
    const number = pinForm.employee_number.value.trim();
    const pin = pinForm.pin.value;
    if (!number || !pin) {
      showAnswer("warn", '<p class="headline">Enter your employee number and PIN.</p>');
      return;
    }
    pinForm.pin.value = "";
    const res = await clock({ employee_number: number, pin: pin, direction: override || undefined });
    if (res && res.ok) pinForm.employee_number.value = "";
  });

  dirButtons.forEach((b) => b.addEventListener("click", () => setOverride(b.dataset.direction)));

  document.addEventListener("keydown", (e) => {
    const typing = e.target && (e.target.tagName === "INPUT" || e.target.tagName === "TEXTAREA");
    if (typing || e.ctrlKey || e.altKey || e.metaKey) return;
    const key = e.key.toLowerCase();
    if (key === "i") setOverride("in");
    else if (key === "o") setOverride("out");
    else if (key === "a") setOverride("");
    else if (key === "p") { e.preventDefault(); openPin(true); }
    else if (key === "escape") { pinPanel.open = false; setOverride(""); }
  });

  async function begin() {
    try {
      await window.FaceCam.start(video);
      cameraOk = true;
      guide.textContent = "Look at the camera";
      startWatching();
    } catch (e) {
      cameraOk = false;
      document.getElementById("stage").classList.add("no-camera");
      document.getElementById("hint").textContent = "Enter your employee number and PIN below.";
      guide.textContent = e.code === "denied" ? "Camera access denied" : "No camera";
      const headline = e.code === "denied" ? "Camera access denied" : "No camera";
      const text = e.code === "denied"
        ? "Allow the camera for this page, or use your employee number and PIN."
        : (e.message || "No camera could be opened.") + " Use your employee number and PIN.";
      A.show(result, "bad", '<p class="headline">' + headline + "</p><p>" + A.escapeHtml(text) + "</p>");
      openPin(true);
    }
  }

  begin();
})();
