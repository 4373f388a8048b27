/* Guided enrolment: consent, then 4 photos with pose prompts, sent to the biometrics API,
 * job polled.
 *
 * Each photo is checked for what its prompt asks before it is kept: the very frame is sent to
 * /api/biometrics/analyse/ with its pose (frontal, left, right), which answers the turn seen
 * (yaw from the 5 landmarks), whether the eyes are open, and the usual quality issues; the
 * page also refuses a photo whose eyes or sharpness fall well below the session's own frames
 * (a blink, motion blur). The reason is shown under the camera until the photo is right.
 *
 * The page is a list of steps (<section data-step> in the template, STEPS here). A step is
 * {name, enter()}; enter() runs when it is shown and calls go(next) when done.
 * Consent comes first (GET /api/biometrics/consent/): the current text with "I agree"
 * (POST of the version shown) and "No, use my PIN instead" (explains the PIN path). When
 * consent was already given the step is skipped, and "Get ready" shows a line to withdraw it
 * (DELETE /api/biometrics/consent/, which erases the face data at once). The camera only
 * starts in the capture step.
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
  const poseEl = document.getElementById("pose");
  const progress = document.getElementById("progress");
  const progressText = document.getElementById("progress-text");
  const thumbs = document.getElementById("thumbs");
  const jobStatus = document.getElementById("job-status");
  const jobProgress = document.getElementById("job-progress");
  const doneMessage = document.getElementById("done-message");

  const POSES = [
    gettext("Look straight at the camera"),
    gettext("Turn your head slightly to the left"),
    gettext("Turn your head slightly to the right"),
    gettext("Look straight at the camera again"),
  ];
  const POSE_CODES = ["frontal", "left", "right", "frontal"];
  // Relative to the session's own frames (at least MIN_SESSION of them): a photo whose eye
  // openness is below EYES_RATIO x their median shows a blink; below SHARP_RATIO x their
  // sharpness, motion blur (a 7 px smear halves it on the dev stills).
  const MIN_SESSION = 3;
  const EYES_RATIO = 0.7;
  const SHARP_RATIO = 0.5;
  const CHECK_MS = 300;
  const SETTLE_MS = 1200; // time to follow a prompt before the next photo
  const POLL_MS = 1000;

  let stopWatch = null;
  let images = [];
  let generation = 0; // bumps on "start again" so an old capture loop stops

  const consentEls = {
    notice: document.getElementById("consent-notice"),
    loading: document.getElementById("consent-loading"),
    form: document.getElementById("consent-form"),
    title: document.getElementById("consent-title"),
    version: document.getElementById("consent-version"),
    text: document.getElementById("consent-text"),
    agree: document.getElementById("consent-agree"),
    decline: document.getElementById("consent-decline"),
    error: document.getElementById("consent-error"),
    declined: document.getElementById("consent-declined"),
    declinedTitle: document.getElementById("declined-title"),
    reconsider: document.getElementById("consent-reconsider"),
    missing: document.getElementById("consent-missing"),
    status: document.getElementById("consent-status"),
    givenText: document.getElementById("consent-given-text"),
    withdraw: document.getElementById("withdraw"),
    confirm: document.getElementById("withdraw-confirm"),
    yes: document.getElementById("withdraw-yes"),
    no: document.getElementById("withdraw-no"),
  };
  let consent = null; // the GET /api/biometrics/consent/ answer

  const STEPS = [
    { name: "consent", enter: enterConsent },
    { name: "intro", enter: enterIntro },
    { name: "capture", enter: capture },
    { name: "upload", enter: upload },
    { name: "done", enter: () => {} },
  ];
  const sections = {};
  document.querySelectorAll("section[data-step]").forEach((s) => { sections[s.dataset.step] = s; });
  const stepList = document.getElementById("step-list");

  function go(name) {
    STEPS.forEach((step, i) => {
      const section = sections[step.name];
      if (section) section.hidden = step.name !== name;
      const li = stepList.children[i];
      if (li) {
        li.classList.toggle("current", step.name === name);
        if (step.name === name) li.setAttribute("aria-current", "step");
        else li.removeAttribute("aria-current");
      }
    });
    const step = STEPS.find((s) => s.name === name);
    const heading = sections[name] && sections[name].querySelector("[data-focus], button");
    if (heading && heading.focus) heading.focus();
    step.enter();
  }

  STEPS.forEach((step) => {
    const li = document.createElement("li");
    li.textContent = (sections[step.name] && sections[step.name].dataset.title) || step.name;
    stepList.appendChild(li);
  });

  // ---------------------------------------------------------------- consent

  async function loadConsent() {
    const res = await A.send("GET", cfg.consentUrl);
    if (!res.ok) throw new Error((res.body && res.body.detail) || gettext("The consent state could not be read."));
    consent = res.body;
    return consent;
  }

  function renderText(el, text) {
    // Paragraphs separated by blank lines; text only (never HTML from the server).
    el.textContent = "";
    String(text || "").split(/\n\s*\n/).forEach((para) => {
      const p = document.createElement("p");
      p.textContent = para.trim();
      if (p.textContent) el.appendChild(p);
    });
  }

  function enterConsent() {
    consentEls.loading.hidden = true;
    consentEls.declined.hidden = true;
    consentEls.error.hidden = true;
    const current = consent && consent.current;
    consentEls.missing.hidden = Boolean(current);
    consentEls.form.hidden = !current;
    if (!current) return;
    consentEls.title.textContent = current.title || gettext("Your consent");
    consentEls.version.textContent = interpolate(gettext("Consent text, version %(version)s"), { version: current.version }, true);
    renderText(consentEls.text, current.text);
    consentEls.title.focus();
  }

  function enterIntro() {
    const given = consent && consent.given;
    // The enrolment link's page (no sign-in) may not withdraw: config withdraw === false.
    consentEls.status.hidden = !given || cfg.withdraw === false;
    consentEls.confirm.hidden = true;
    if (given) {
      const lang = document.documentElement.lang || undefined;
      const when = consent.given_at ? new Date(consent.given_at).toLocaleDateString(lang) : "";
      consentEls.givenText.textContent = when
        ? interpolate(gettext("You agreed to the consent text (version %(version)s) on %(date)s."), { version: consent.version, date: when }, true)
        : interpolate(gettext("You agreed to the consent text (version %(version)s)."), { version: consent.version }, true);
    }
  }

  consentEls.agree.addEventListener("click", async () => {
    consentEls.agree.disabled = true;
    const res = await A.send("POST", cfg.consentUrl, { version: consent.current.version });
    consentEls.agree.disabled = false;
    if (!res.ok) {
      A.show(consentEls.error, "bad", "<p>" + A.escapeHtml((res.body && res.body.detail) || gettext("Your consent could not be recorded.")) + "</p>");
      return;
    }
    consentEls.notice.hidden = true;
    try {
      await loadConsent();
    } catch (e) {
      consent = { given: true, version: res.body.version, current: consent.current };
    }
    go("intro");
  });

  consentEls.decline.addEventListener("click", () => {
    consentEls.form.hidden = true;
    consentEls.declined.hidden = false;
    consentEls.declinedTitle.focus();
  });

  consentEls.reconsider.addEventListener("click", () => enterConsent());

  consentEls.withdraw.addEventListener("click", () => {
    consentEls.confirm.hidden = false;
    consentEls.yes.focus();
  });
  consentEls.no.addEventListener("click", () => {
    consentEls.confirm.hidden = true;
    consentEls.withdraw.focus();
  });
  consentEls.yes.addEventListener("click", async () => {
    consentEls.yes.disabled = true;
    const res = await A.send("DELETE", cfg.consentUrl);
    consentEls.yes.disabled = false;
    if (!res.ok) {
      A.show(consentEls.confirm, "bad", "<p>" + A.escapeHtml((res.body && res.body.detail) || gettext("That did not work.")) + "</p>");
      return;
    }
    const erased = (res.body && res.body.erased && res.body.erased.templates) || 0;
    const withdrawn = ngettext(
      "Your consent is withdrawn and your face data is deleted (%(count)s template). You can clock in with your PIN.",
      "Your consent is withdrawn and your face data is deleted (%(count)s templates). You can clock in with your PIN.",
      erased);
    A.show(consentEls.notice, "ok", "<p>" + A.escapeHtml(interpolate(withdrawn, { count: erased }, true)) + "</p>");
    try {
      await loadConsent();
    } catch (e) {
      consent = { given: false, current: consent.current };
    }
    go("consent");
  });

  // ---------------------------------------------------------------- capture

  function setProgress(n) {
    progress.value = n;
    const text = interpolate(gettext("%(done)s of %(total)s"), { done: n, total: POSES.length }, true);
    progress.textContent = text;
    progressText.textContent = text;
  }

  async function ensureCamera() {
    if (stopWatch) return true;
    try {
      await window.FaceCam.start(video);
    } catch (e) {
      guide.textContent = e.code === "denied" ? gettext("Camera access denied") : gettext("No camera");
      poseEl.textContent = e.message;
      return false;
    }
    stopWatch = window.FaceCam.watch(video, {
      url: cfg.analyseUrl,
      intervalMs: 300,
      onAnalysis: (a) => A.drawBoxes(overlay, video, a), // boxes; the pose check words the guide
    });
    return true;
  }

  function median(values) {
    const v = values.slice().sort((a, b) => a - b);
    return v.length ? v[Math.floor(v.length / 2)] : 0;
  }

  // The session's measures (every checked photo): eye openness and sharpness.
  let session = { eyes: [], sharp: [] };

  function sessionIssue(analysis) {
    const pose = analysis.pose || {};
    const sharp = analysis.quality ? analysis.quality.sharpness : null;
    let issue = "";
    if (session.eyes.length >= MIN_SESSION && pose.eyes != null && pose.eyes < EYES_RATIO * median(session.eyes)) {
      issue = gettext("Keep your eyes open");
    } else if (session.sharp.length >= MIN_SESSION && sharp != null && sharp < SHARP_RATIO * median(session.sharp)) {
      issue = gettext("Hold still — the photo is blurred");
    }
    if (pose.eyes != null) session.eyes.push(pose.eyes);
    if (sharp != null) session.sharp.push(sharp);
    return issue;
  }

  // The photo for pose i: the very frame that was checked, once it shows the pose.
  async function takePhoto(gen, i) {
    while (gen === generation) {
      const blob = await window.FaceCam.grab(video, { maxWidth: 640, quality: 0.92 });
      const res = await window.FaceCam.post(cfg.analyseUrl, { image: blob, pose: POSE_CODES[i] });
      if (gen !== generation) return null;
      const analysis = res.body || {};
      let issue = "";
      if (res.ok) {
        const relative = sessionIssue(analysis);
        issue = analysis.ok ? relative : (A.firstIssue(analysis) || relative);
      }
      if (res.ok && analysis.ok && !issue) {
        guide.textContent = gettext("Good");
        return blob;
      }
      guide.textContent = issue || (analysis.detail || gettext("Look at the camera"));
      guide.dataset.reason = (analysis.issues && analysis.issues[0] && analysis.issues[0].code) || (issue ? "session" : "");
      await A.sleep(CHECK_MS);
    }
    return null;
  }

  async function capture() {
    const gen = ++generation;
    images = [];
    session = { eyes: [], sharp: [] };
    thumbs.innerHTML = "";
    setProgress(0);
    if (!(await ensureCamera())) return;
    for (let i = 0; i < POSES.length; i++) {
      poseEl.textContent = POSES[i];
      guide.textContent = ""; // the last photo's "Good" is not this pose's
      await A.sleep(SETTLE_MS);
      const blob = await takePhoto(gen, i);
      if (!blob || gen !== generation) return;
      images.push(blob);
      const img = document.createElement("img");
      img.alt = interpolate(gettext("Photo %(number)s"), { number: i + 1 }, true);
      img.src = URL.createObjectURL(blob);
      img.onload = () => URL.revokeObjectURL(img.src);
      thumbs.appendChild(img);
      setProgress(i + 1);
    }
    poseEl.textContent = gettext("Thank you!");
    if (stopWatch) stopWatch();
    stopWatch = null;
    window.FaceCam.stop(video);
    go("upload");
  }

  async function upload() {
    jobStatus.textContent = gettext("Sending your photos…");
    jobProgress.removeAttribute("value");
    const res = await A.postWithRetry(cfg.enrolUrl, { images: images }, { timeoutMs: 30000, attempts: 2 });
    if (!res.ok) {
      return finish("bad", (res.body && res.body.detail) || gettext("The photos could not be sent."));
    }
    let job = res.body;
    // "held": the duplicate-identity check wants an admin's review (enrolment_checks).
    while (job.status !== "done" && job.status !== "failed" && job.status !== "held") {
      jobStatus.textContent = interpolate(gettext("Making your face template… %(done)s of %(total)s photos"), { done: job.processed || 0, total: job.total }, true);
      jobProgress.value = job.progress || 0;
      await A.sleep(POLL_MS);
      try {
        const r = await fetch(cfg.enrolUrl + job.id + "/", { credentials: "same-origin", headers: { Accept: "application/json" } });
        if (r.ok) job = await r.json();
      } catch (e) {
        jobStatus.textContent = gettext("Connection problem, retrying…");
      }
    }
    jobProgress.value = 100;
    if (job.status === "held") {
      finish("warn", gettext("Your photos are waiting for an admin's review before they are used. You can clock in with your PIN meanwhile."));
    } else if (job.status === "done") {
      finish("ok", interpolate(gettext("Your face is enrolled: %(accepted)s of %(total)s photos accepted. You can clock in now."), { accepted: job.accepted, total: job.total }, true));
    } else {
      finish("bad", interpolate(gettext("Enrolment failed: %(error)s. Please try again in better light."), { error: job.error || gettext("no usable photo") }, true));
    }
  }

  function finish(kind, text) {
    A.show(doneMessage, kind, '<p class="headline">' + A.escapeHtml(text) + "</p>");
    go("done");
  }

  document.querySelectorAll("[data-next]").forEach((b) => b.addEventListener("click", () => {
    const current = STEPS.findIndex((s) => !sections[s.name].hidden);
    go(STEPS[current + 1].name);
  }));
  document.getElementById("restart-capture").addEventListener("click", () => capture());
  document.getElementById("enrol-again").addEventListener("click", () => go("capture"));
  window.addEventListener("pagehide", () => { generation++; if (stopWatch) stopWatch(); window.FaceCam.stop(video); });

  loadConsent()
    .then((c) => go(c.given ? "intro" : "consent"))
    .catch((e) => {
      sections.consent.hidden = false;
      consentEls.loading.hidden = true;
      A.show(consentEls.error, "bad", "<p>" + A.escapeHtml(e.message + " " + gettext("Please reload the page.")) + "</p>");
      consentEls.form.hidden = false;
      consentEls.agree.hidden = true;
      consentEls.decline.hidden = true;
    });
})();
