/* Door terminal: recognise the person at the camera and show GRANTED or DENIED.
 *
 * Face-only doors check automatically on a good frame; face + PIN and badge + face doors check
 * when the form is submitted. Every check carries a fresh request id, so a network retry of the
 * same attempt is answered with the first decision instead of a second log entry.
 *
 * Liveness (cfg.liveness, the default): a check runs the shared streamed capture loop
 * (FaceCam.liveStreamLoop: the door's challenge, fetched in advance, the instruction in big
 * text, frames streamed until the server decides, "Please blink now" when the action does not
 * come, one retry with a fresh challenge when the instruction was not seen). A door with liveness turned off
 * sends one frame. The time from the start of a check to the answer on screen is kept on #verdict
 * (data-check-ms, data-checks) for the tests and for support.
 */
(function () {
  "use strict";
  // Translations: the JavaScript catalog (base.html) in the page's language; without it, the
  // source text.
  const gettext = window.gettext || ((s) => s);
  const ngettext = window.ngettext || ((one, many, n) => (n === 1 ? one : many));
  const interpolate = window.interpolate || ((f, o) => f.replace(/%\((\w+)\)s/g, (m, k) => String(o[k])));
  const cfg = JSON.parse(document.getElementById("door-config").textContent);
  const video = document.getElementById("cam");
  const overlay = document.getElementById("overlay");
  const guide = document.getElementById("guide");
  const verdict = document.getElementById("verdict");
  const word = document.getElementById("verdict-word");
  const text = document.getElementById("verdict-text");
  const form = document.getElementById("credential-form");
  const credential = document.getElementById("credential");
  const idleText = text.textContent;

  const SHOW_MS = 5000; // how long a verdict stays on screen
  const REPEAT_MS = 8000; // the same standing person is checked again only after this
  let busy = false;
  let stopWatch = null;
  let lastAt = 0;
  let faceLeft = true;
  let resetTimer = null;
  let showing = false; // a GRANTED/DENIED answer is on screen: no "Hold still" under it

  function requestId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return String(Date.now()) + Math.random().toString(16).slice(2);
  }

  function show(kind, headline, detail) {
    verdict.className = "verdict " + kind;
    word.textContent = headline;
    text.textContent = detail || "";
    if (resetTimer) clearTimeout(resetTimer);
    resetTimer = setTimeout(idle, SHOW_MS);
    showing = true;
    guide.textContent = "";
  }

  function challenge(instruction) {
    if (resetTimer) clearTimeout(resetTimer);
    showing = false;
    verdict.className = "verdict challenge";
    word.textContent = instruction;
    text.textContent = gettext("Look at the camera and do it now.");
    guide.textContent = instruction;
  }

  function prompt(again) {
    word.textContent = again;
    text.textContent = gettext("We have not seen it yet.");
    guide.textContent = again;
  }

  function checking() {
    if (resetTimer) clearTimeout(resetTimer);
    showing = false;
    verdict.className = "verdict checking";
    word.textContent = gettext("One moment…");
    text.textContent = "";
    guide.textContent = gettext("One moment…");
  }

  function idle() {
    showing = false;
    verdict.className = "verdict idle";
    word.textContent = gettext("Look at the camera");
    text.textContent = idleText;
  }

  function postWithRetry(fields) {
    // One retry on a network failure or 5xx, with the same request id (the server answers once).
    return window.FaceCam.postWithRetry(cfg.checkUrl, fields, { attempts: 2 });
  }

  async function singleImage(extra) {
    const blob = await window.FaceCam.grab(video, { maxWidth: 640, quality: 0.9 });
    return postWithRetry(Object.assign({ image: blob, request_id: requestId() }, extra || {}));
  }

  // A door answers 200 with the decision; a missed instruction is a denial with this reason.
  function missedInstruction(res) {
    const b = res.body || {};
    return res.ok && b.liveness && b.liveness.reason === "no_challenge_response";
  }

  function liveBurst(extra) {
    const loop = cfg.streamUrl ? window.FaceCam.liveStreamLoop : window.FaceCam.liveLoop;
    return loop(video, {
      challengeUrl: cfg.challengeUrl,
      streamUrl: cfg.streamUrl,
      onInstruction: challenge,
      onPrompt: prompt,
      onCaptured: checking,
      missed: missedInstruction,
      send: (captured) => postWithRetry(Object.assign({ request_id: requestId() }, captured, extra || {})),
    });
  }

  async function check(extra) {
    if (busy) return;
    busy = true;
    stopWatching();
    window.FaceCam.drawFaces(overlay, video, null);
    guide.textContent = gettext("One moment…");
    const started = performance.now();
    let res;
    try {
      res = cfg.liveness ? await liveBurst(extra) : await singleImage(extra);
    } catch (e) {
      // Only a frame that could not be grabbed from the camera gets here.
      busy = false;
      idle();
      startWatching();
      return;
    }
    const b = res.body || {};
    if (res.ok && b.decision === "granted") {
      const name = b.person && b.person.name ? interpolate(gettext("Welcome, %(name)s."), { name: b.person.name }, true) + " " : "";
      show("granted", gettext("GRANTED"), name + b.reason_text);
    } else if (res.ok) {
      show("denied", gettext("DENIED"), b.reason_text);
    } else if ((res.status === 401 || res.status === 403) && b.code !== "face_login_disabled") {
      show("denied", gettext("OUT OF SERVICE"), gettext("This screen is not paired as this door. Ask an admin."));
    } else if (res.status === 0) {
      show("denied", gettext("NO CONNECTION"), gettext("The server cannot be reached. Trying again…"));
    } else {
      show("denied", gettext("TRY AGAIN"), b.detail || gettext("Something went wrong."));
    }
    verdict.dataset.checkMs = String(Math.round(performance.now() - started));
    verdict.dataset.checks = String(Number(verdict.dataset.checks || 0) + 1);
    lastAt = Date.now();
    faceLeft = false;
    busy = false;
    guide.textContent = gettext("Look at the camera");
    if (cfg.liveness) window.FaceCam.prefetchChallenge(cfg.challengeUrl);
    startWatching();
  }

  function onAnalysis(analysis) {
    if (busy) return;
    // Keep a fresh challenge at hand (the instruction shows the moment the capture starts);
    // an idle screen with nobody in front does not renew it (one row per renewal).
    if (cfg.liveness && analysis.httpStatus !== 401 && (analysis.faces || []).length) {
      window.FaceCam.prefetchChallenge(cfg.challengeUrl);
    }
    window.FaceCam.drawFaces(overlay, video, analysis);
    const faces = (analysis.faces || []).length;
    if (faces === 0) faceLeft = true;
    const issue = (analysis.issues || [])[0];
    if (!showing) {
      guide.textContent = analysis.ok ? gettext("Hold still…") : (issue && issue.message) || gettext("Look at the camera");
    }
    if (cfg.mode !== "face" || !analysis.ok) return;
    const since = Date.now() - lastAt;
    if (since > SHOW_MS / 2 && (faceLeft || since > REPEAT_MS)) check();
  }

  function startWatching() {
    if (stopWatch) return;
    stopWatch = window.FaceCam.watch(video, { url: cfg.analyseUrl, intervalMs: 300, onAnalysis: onAnalysis });
  }

  function stopWatching() {
    if (stopWatch) stopWatch();
    stopWatch = null;
  }

  if (form) {
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const value = credential.value.trim();
      if (!value) return;
      credential.value = "";
      check({ [credential.name]: value });
    });
  }

  if (cfg.liveness && cfg.mode === "face") window.FaceCam.prefetchChallenge(cfg.challengeUrl);
  window.FaceCam.start(video)
    .then(() => {
      guide.textContent = gettext("Look at the camera");
      startWatching();
    })
    .catch((e) => {
      guide.textContent = e.code === "denied" ? gettext("Camera access denied") : gettext("No camera");
      show("denied", gettext("OUT OF SERVICE"), gettext("The camera is not available. Please see reception."));
    });
})();
