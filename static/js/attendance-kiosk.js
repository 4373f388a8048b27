/* Kiosk: identify whoever looks at the camera and clock them IN or OUT.
 *
 * Loop: FaceCam.watch analyses small frames (guidance + face box); on a good frame the
 * watcher stops and, with liveness on (cfg.liveness, the default), the page shows the
 * challenge it fetched in advance in big letters ("Blink once") and streams what the camera
 * films in short chunks until the server has decided (FaceCam.liveStreamLoop); a clear
 * "Please blink now" appears if the action does not come. The final request (nonce +
 * streamed, a fresh capture id) clocks; the answer is shown and watching resumes. When the
 * instruction was not seen (no_challenge_response) it tries once more with a fresh
 * challenge. A kiosk with liveness turned off sends one full frame.
 * One canvas, one watcher and one clock timer for the life of the page, so it runs for hours
 * without a reload. Times are kept in Attendance.marks / Attendance.timings for the tests.
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
  const pinPanel = document.getElementById("pin-panel");
  const pinForm = document.getElementById("pin-form");
  const dirButtons = Array.from(document.querySelectorAll("button.dir"));
  const nowEl = document.getElementById("now");
  const instruction = document.getElementById("instruction");
  const NOT_LIVE = gettext("We could not confirm a live person — please look at the camera and follow the instruction.");

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

  const clockFormat = new Intl.DateTimeFormat(document.documentElement.lang || [], {
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
      guide.textContent = direction === "out" ? gettext("Look at the camera to clock OUT") : gettext("Look at the camera to clock IN");
    }
  }

  // Screen readers: every answer shown in #result is read from the permanent live region.
  const announce = document.getElementById("announce");
  if (announce) {
    new MutationObserver(() => {
      if (result.hidden) return;
      announce.textContent = "";
      // A new text node after clearing, so that the same answer twice is read twice.
      setTimeout(() => { announce.textContent = result.textContent.replace(/\s+/g, " ").trim(); }, 50);
    }).observe(result, { childList: true, subtree: true, characterData: true, attributes: true, attributeFilter: ["hidden"] });
  }

  function showAnswer(kind, html, visibleMs) {
    A.show(result, kind, html);
    if (hideTimer) clearTimeout(hideTimer);
    hideTimer = setTimeout(() => { result.hidden = true; }, visibleMs || RESULT_VISIBLE_MS);
  }

  function showInstruction(text) {
    instruction.textContent = text;
    instruction.hidden = false;
    guide.textContent = gettext("Look at the camera and do it now");
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
    guide.textContent = gettext("We have not seen it yet");
  }

  function describe(res) {
    const b = res.body || {};
    if (res.ok && b.event) {
      const clocked = b.event.direction === "in" ? gettext("Clocked IN at %(time)s") : gettext("Clocked OUT at %(time)s");
      const headline = b.created || b.replayed ? interpolate(clocked, { time: b.event.local_time }, true) : b.message;
      return {
        kind: b.created || b.replayed ? "ok" : "info",
        html: '<p class="greeting">' + A.escapeHtml(b.greeting) + '</p><p class="headline">' +
          A.escapeHtml(headline) + "</p>" +
          (b.event.pin_fallback ? '<p class="small">' + A.escapeHtml(gettext("Your manager will check this PIN entry.")) + "</p>" : ""),
      };
    }
    if (b.code === "spoof_suspected") {
      return {
        kind: "warn",
        ms: RESULT_VISIBLE_MS * 2,
        html: '<p class="headline">' + A.escapeHtml(NOT_LIVE) + "</p>" +
          '<p><button type="button" class="secondary" data-open-pin>' + A.escapeHtml(gettext("Use employee number and PIN instead")) + " <kbd>P</kbd></button></p>",
      };
    }
    if (b.code === "locked_out" || b.code === "face_login_disabled") {
      return {
        kind: "bad",
        ms: RESULT_VISIBLE_MS * 2,
        html: '<p class="headline">' + A.escapeHtml(b.detail || gettext("Face check paused.")) + "</p>" +
          '<p><button type="button" class="secondary" data-open-pin>' + A.escapeHtml(gettext("Use employee number and PIN")) + " <kbd>P</kbd></button></p>",
      };
    }
    if (b.code === "not_recognised") {
      return { kind: "bad", html: '<p class="headline">' + A.escapeHtml(gettext("Not recognised")) + "</p><p>" + A.escapeHtml(gettext("Please try again, or use your employee number and PIN.")) + "</p>" };
    }
    if (res.status === 401 || (res.status === 403 && b.code === "permission_denied")) {
      return { kind: "bad", html: '<p class="headline">' + A.escapeHtml(gettext("This screen is not paired as a kiosk")) + "</p><p>" + A.escapeHtml(gettext("Ask an admin to pair it again.")) + "</p>" };
    }
    if (res.status === 0) {
      return { kind: "bad", html: '<p class="headline">' + A.escapeHtml(gettext("No connection")) + "</p><p>" + A.escapeHtml(gettext("The server cannot be reached. Trying again…")) + "</p>" };
    }
    return { kind: res.status === 422 ? "warn" : "bad", html: '<p class="headline">' + A.escapeHtml(b.detail || gettext("Something went wrong.")) + "</p>" };
  }

  function send(fields) {
    // One capture id per attempt: a network retry resends the same frames, nonce and id,
    // and the server answers it once.
    return A.postWithRetry(cfg.clockUrl, Object.assign({ capture_id: A.captureId() }, fields), {
      onRetry: () => { guide.textContent = gettext("Connection problem, retrying…"); },
    });
  }

  function finish(res, t0) {
    hideInstruction();
    const answer = describe(res);
    showAnswer(answer.kind, answer.html, answer.ms);
    guide.textContent = res.ok ? gettext("Done") : gettext("Look at the camera");
    A.timings.push(performance.now() - t0);
    if (res.ok && res.body && res.body.greeting && A.marks.greeted == null) A.marks.greeted = performance.now();
    if (res.ok) setOverride("");
    lastAnswerAt = Date.now();
    faceLeft = false;
    busy = false;
    if (res.status === 401) return res; // unpaired: stop; the message says what to do
    if (cameraOk && cfg.liveness) window.FaceCam.prefetchChallenge(cfg.challengeUrl);
    if (cameraOk) startWatching();
    return res;
  }

  async function clock(fields, t0) {
    busy = true;
    stopWatching();
    t0 = t0 || performance.now();
    guide.textContent = gettext("One moment…");
    return finish(await send(fields), t0);
  }

  async function captureLive() {
    // Challenge-to-answer: from asking for the challenge until the answer is on screen.
    const t0 = performance.now();
    busy = true;
    stopWatching();
    A.drawBoxes(overlay, video, null);
    const res = await A.liveClock(video, {
      challengeUrl: cfg.challengeUrl,
      streamUrl: cfg.streamUrl,
      onInstruction: showInstruction,
      onPrompt: showPrompt,
      onCaptured: function () {
        hideInstruction();
        guide.textContent = gettext("One moment…");
      },
      onRetry: function () {
        guide.textContent = gettext("Once more, please");
      },
      send: function (fields) {
        return send(Object.assign(fields, { direction: override || undefined }));
      },
    });
    return finish(res, t0);
  }

  async function captureFace() {
    if (cfg.liveness) return captureLive();
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
    // Keep a fresh challenge at hand (the instruction shows the moment the capture starts);
    // an idle screen with nobody in front does not renew it (one row per renewal).
    if (cfg.liveness && analysis.httpStatus !== 401 && (analysis.faces || []).length) {
      window.FaceCam.prefetchChallenge(cfg.challengeUrl);
    }
    A.drawBoxes(overlay, video, analysis);
    const faces = (analysis.faces || []).length;
    if (faces === 0) faceLeft = true;
    if (analysis.httpStatus === 401 || analysis.httpStatus === 403) {
      guide.textContent = gettext("This screen is not paired as a kiosk.");
      return;
    }
    if (readyToCapture(analysis)) {
      guide.textContent = gettext("Hold still…");
      captureFace();
      return;
    }
    guide.textContent = analysis.ok ? gettext("Hold still…") : (A.firstIssue(analysis) || gettext("Look at the camera"));
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
  result.addEventListener("click", (e) => {
    if (e.target && e.target.closest && e.target.closest("[data-open-pin]")) openPin(true);
  });

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
      if (cfg.liveness) window.FaceCam.prefetchChallenge(cfg.challengeUrl);
      await window.FaceCam.start(video);
      cameraOk = true;
      A.marks.ready = performance.now();
      guide.textContent = gettext("Look at the camera");
      startWatching();
    } catch (e) {
      cameraOk = false;
      document.getElementById("stage").classList.add("no-camera");
      document.getElementById("hint").textContent = "Enter your employee number and PIN below.";
      guide.textContent = e.code === "denied" ? gettext("Camera access denied") : gettext("No camera");
      const headline = e.code === "denied" ? gettext("Camera access denied") : gettext("No camera");
      const text = e.code === "denied"
        ? gettext("Allow the camera for this page, or use your employee number and PIN.")
        : (e.message || gettext("No camera could be opened.")) + " " + gettext("Use your employee number and PIN.");
      A.show(result, "bad", '<p class="headline">' + headline + "</p><p>" + A.escapeHtml(text) + "</p>");
      openPin(true);
    }
  }

  begin();
})();
