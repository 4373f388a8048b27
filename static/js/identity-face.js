/* The face step of a sign-in: a live 1:1 check of the signed-in person, streamed as on the
 * personal clock (FaceCam.liveStreamLoop: the challenge fetched in advance, the frames sent in
 * short chunks until the server has decided; FaceCam.liveLoop's 3 s burst where the page has
 * no stream URL), then on to the page that asked for it. Identity.timings holds click-to-answer
 * times (read by the browser test).
 */
(function () {
  "use strict";
  // Translations: the JavaScript catalog (base.html) in the page's language; without it, the
  // source text.
  const gettext = window.gettext || ((s) => s);
  const ngettext = window.ngettext || ((one, many, n) => (n === 1 ? one : many));
  const interpolate = window.interpolate || ((f, o) => f.replace(/%\((\w+)\)s/g, (m, k) => String(o[k])));
  const cfg = JSON.parse(document.getElementById("identity-config").textContent);
  const video = document.getElementById("cam");
  const overlay = document.getElementById("overlay");
  const guide = document.getElementById("guide");
  const result = document.getElementById("result");
  const button = document.getElementById("face-button");
  const instruction = document.getElementById("instruction");
  const NOT_LIVE = gettext("We could not confirm a live person. Look at the camera and follow the instruction.");
  let stopWatch = null;
  let busy = false;

  window.Identity = { timings: [], answers: [] };

  function show(kind, text) {
    result.hidden = false;
    result.className = "result " + kind;
    result.textContent = text;
  }

  function startWatch() {
    if (stopWatch) return;
    stopWatch = window.FaceCam.watch(video, {
      url: cfg.analyseUrl,
      intervalMs: 400,
      onAnalysis: function (a) {
        window.FaceCam.drawFaces(overlay, video, a);
        const issue = a.issues && a.issues[0];
        guide.textContent = a.ok ? gettext("Ready") : (issue ? issue.message : gettext("Look at the camera"));
      },
    });
  }

  function missed(res) {
    const b = res.body || {};
    return res.status === 422 && b.code === "spoof_suspected" && b.reason === "no_challenge_response";
  }

  function showInstruction(text) {
    instruction.textContent = text;
    instruction.hidden = false;
    instruction.classList.remove("prompt");
    show("info", interpolate(gettext("%(instruction)s: do it now."), { instruction: text }, true));
  }

  function showPrompt(text) {
    // The action was not seen yet: the same place, louder.
    instruction.textContent = text;
    instruction.hidden = false;
    instruction.classList.add("prompt");
    show("info", text + " " + gettext("We have not seen it yet."));
  }

  function hideInstruction() {
    instruction.hidden = true;
    instruction.classList.remove("prompt");
  }

  function send(fields) {
    return window.FaceCam.postWithRetry(cfg.verifyUrl, Object.assign({ next: cfg.next }, fields));
  }

  async function check() {
    if (busy) return;
    busy = true;
    button.disabled = true;
    if (stopWatch) stopWatch();
    stopWatch = null;
    const t0 = performance.now();
    let res;
    try {
      if (cfg.liveness) {
        const loop = cfg.streamUrl ? window.FaceCam.liveStreamLoop : window.FaceCam.liveLoop;
        res = await loop(video, {
          challengeUrl: cfg.challengeUrl,
          streamUrl: cfg.streamUrl,
          missed: missed,
          onInstruction: showInstruction,
          onPrompt: showPrompt,
          onCaptured: function () {
            hideInstruction();
            show("info", gettext("One moment…"));
          },
          onRetry: function () { show("info", gettext("Once more, please.")); },
          send: send,
        });
      } else {
        res = await send({ image: await window.FaceCam.grab(video, { maxWidth: 640, quality: 0.9 }) });
      }
    } finally {
      hideInstruction();
      window.Identity.timings.push(performance.now() - t0);
    }
    const b = res.body || {};
    window.Identity.answers.push(res.ok && b.ok ? "ok" : res.status + ":" + (b.code || ""));
    if (res.ok && b.ok) {
      show("ok", gettext("Thank you. Signing you in…"));
      window.location.assign(b.next);
      return;
    }
    if (b.code === "spoof_suspected") show("warn", NOT_LIVE);
    else show(res.status === 429 ? "bad" : "warn", b.detail || gettext("Something went wrong."));
    if (res.status === 401 || b.code === "locked_out" || b.code === "face_login_disabled") {
      // The sign-in ended (the server signed the session out): start again from the application.
      button.disabled = true;
    } else {
      button.disabled = false;
      if (cfg.liveness) window.FaceCam.prefetchChallenge(cfg.challengeUrl);
      startWatch();
    }
    busy = false;
  }

  button.addEventListener("click", check);
  window.addEventListener("pagehide", () => { if (stopWatch) stopWatch(); window.FaceCam.stop(video); });
  window.FaceCam.start(video).then(function () {
    // The challenge is fetched now, so the instruction is on screen the moment of the click.
    if (cfg.liveness && !button.disabled) window.FaceCam.prefetchChallenge(cfg.challengeUrl);
    guide.textContent = gettext("Look at the camera");
    startWatch();
  }, function (e) {
    guide.textContent = e.code === "denied" ? gettext("Camera access denied") : gettext("No camera");
    show("bad", e.message);
    button.disabled = true;
  });
})();
