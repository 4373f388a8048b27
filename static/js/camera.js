/* FaceAuth webcam capture, shared by the kiosk, door, personal clock and enrolment pages.
 *
 * Plain script (no build step, no CDN) so that the pages work under a strict CSP.
 * window.FaceCam:
 *   start(video)                      open the camera; rejects with {code: "denied"|"unavailable"}
 *   stop(video)
 *   grab(video, {maxWidth, quality})  one JPEG Blob of the current frame (downscaled)
 *   burst(video, {seconds, fps, maxWidth, quality})  JPEG Blobs over a time window
 *   drawFaces(canvas, video, analysis)  face boxes from /api/biometrics/analyse/
 *   post(url, fields)                  multipart POST with CSRF; fields may hold Blobs or arrays
 *   answer(response)                  {status, ok, body} of a fetch response (JSON or "bad_response")
 *   watch(video, {url, intervalMs, onAnalysis})  live guidance loop; returns a stop function.
 *       An empty screen's unchanged picture is not sent again (at most every IDLE_RESEND_MS)
 *   postWithRetry(url, fields, {attempts, timeoutMs, onRetry})  post(), retried on network
 *       errors, timeouts and 5xx; safe because callers send the same request/capture id each time
 *   liveCapture(video, {challengeUrl, onInstruction})  ask the server for a liveness challenge,
 *       show it (onInstruction(text, challenges)), record the burst it asks for; resolves to
 *       {nonce, frames, challenges} to post as `nonce` + `frames` (or rejects with {code, detail})
 *   liveLoop(video, {challengeUrl, onInstruction, onCaptured, onRetry, send, missed})
 *       the one capture loop of every live page: challenge -> burst -> send({frames, nonce});
 *       once more with a fresh challenge when missed(res) says the instruction was not seen.
 *       Resolves to the last {status, ok, body}; a failed challenge request resolves to its
 *       answer, a lost connection to {status: 0, body: {code: "network"}}.
 *   prefetchChallenge(url)            ask for a challenge now (page ready, idle kiosk) so that the
 *       instruction is on screen the moment a face arrives; kept while fresh, used once
 *   liveStream(video, {challengeUrl, streamUrl, onInstruction, onPrompt})  the streamed capture:
 *       frames go to streamUrl in short chunks (seq, t) while the camera films, until the server
 *       has decided; resolves to {nonce, decided} or {error: {status, ok, body}}
 *   liveStreamLoop(video, {challengeUrl, streamUrl, onInstruction, onPrompt, onCaptured,
 *       onRetry, send, missed})  liveStream, then send({nonce, streamed: 1}) (the page's final
 *       request claims the decision); once more with a fresh challenge when missed(res)
 */
(function () {
  "use strict";
  // Translations: the JavaScript catalog (base.html) in the page's language; without it, the
  // source text.
  const gettext = window.gettext || ((s) => s);
  const ngettext = window.ngettext || ((one, many, n) => (n === 1 ? one : many));
  const interpolate = window.interpolate || ((f, o) => f.replace(/%\((\w+)\)s/g, (m, k) => String(o[k])));

  function cameraError(code, message) {
    const err = new Error(message);
    err.code = code;
    return err;
  }

  async function start(video) {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      throw cameraError("unavailable", gettext("This browser cannot use a camera here (HTTPS is needed)."));
    }
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { width: { ideal: 640 }, height: { ideal: 480 }, facingMode: "user" },
        audio: false,
      });
    } catch (e) {
      if (e && (e.name === "NotAllowedError" || e.name === "SecurityError")) {
        throw cameraError("denied", gettext("Camera access was denied. Allow the camera for this page, or use your PIN."));
      }
      throw cameraError("unavailable", interpolate(gettext("No camera could be opened (%(error)s)."), { error: e && e.name }, true));
    }
    video.srcObject = stream;
    video.muted = true;
    video.setAttribute("playsinline", "");
    await video.play();
    if (!video.videoWidth) {
      await new Promise((resolve) => video.addEventListener("loadedmetadata", resolve, { once: true }));
    }
    return stream;
  }

  function stop(video) {
    const stream = video.srcObject;
    if (stream) stream.getTracks().forEach((t) => t.stop());
    video.srcObject = null;
  }

  const scratch = document.createElement("canvas");

  function grab(video, opts) {
    const o = Object.assign({ maxWidth: 640, quality: 0.85 }, opts || {});
    const scale = Math.min(1, o.maxWidth / (video.videoWidth || o.maxWidth));
    scratch.width = Math.round((video.videoWidth || 640) * scale);
    scratch.height = Math.round((video.videoHeight || 480) * scale);
    scratch.getContext("2d").drawImage(video, 0, 0, scratch.width, scratch.height);
    return new Promise((resolve, reject) =>
      scratch.toBlob((b) => (b ? resolve(b) : reject(cameraError("capture", gettext("No frame")))), "image/jpeg", o.quality)
    );
  }

  async function burst(video, opts) {
    const o = Object.assign({ seconds: 3, fps: 10, maxWidth: 480, quality: 0.8 }, opts || {});
    const frames = [];
    const n = Math.max(1, Math.round(o.seconds * o.fps));
    const period = 1000 / o.fps;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const due = t0 + i * period;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      frames.push(await grab(video, o));
    }
    return frames;
  }

  function drawFaces(canvas, video, analysis) {
    const ctx = canvas.getContext("2d");
    canvas.width = canvas.clientWidth || video.clientWidth;
    canvas.height = canvas.clientHeight || video.clientHeight;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (!analysis || !analysis.faces || !analysis.frameWidth) return;
    const sx = canvas.width / analysis.frameWidth;
    const sy = canvas.height / analysis.frameHeight;
    ctx.lineWidth = 4;
    ctx.strokeStyle = analysis.ok ? "#2da44e" : "#d29922";
    let drawn = 0;
    for (const f of analysis.faces) {
      // The engine reports left/top/width/height; older answers carried right/bottom.
      const right = f.right != null ? f.right : f.left + f.width;
      const bottom = f.bottom != null ? f.bottom : f.top + f.height;
      // The video is mirrored on screen (CSS), so mirror the boxes too.
      const box = [canvas.width - right * sx, f.top * sy, (right - f.left) * sx, (bottom - f.top) * sy];
      if (!box.every(Number.isFinite)) continue;
      ctx.strokeRect(box[0], box[1], box[2], box[3]);
      drawn += 1;
    }
    // How many boxes this canvas has shown so far (read by the browser tests).
    canvas.dataset.boxesDrawn = String(Number(canvas.dataset.boxesDrawn || 0) + drawn);
  }

  function csrfToken() {
    const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (m) return decodeURIComponent(m[1]);
    const el = document.querySelector("[name=csrfmiddlewaretoken]");
    return el ? el.value : "";
  }

  async function post(url, fields) {
    const form = new FormData();
    for (const [key, value] of Object.entries(fields || {})) {
      if (value === undefined || value === null) continue;
      const values = Array.isArray(value) ? value : [value];
      values.forEach((v, i) => {
        if (v instanceof Blob) form.append(key, v, key + "-" + i + ".jpg");
        else form.append(key, String(v));
      });
    }
    const response = await fetch(url, {
      method: "POST",
      body: form,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
    });
    return answer(response);
  }

  // {status, ok, body} of a fetch response; a body that is not JSON becomes a "bad_response".
  async function answer(response) {
    let body = {};
    try {
      body = await response.json();
    } catch (e) {
      body = { code: "bad_response", detail: interpolate(gettext("The server answered unexpectedly (%(status)s)."), { status: response.status }, true) };
    }
    return { status: response.status, ok: response.ok, body: body };
  }

  const NETWORK = { code: "network", detail: gettext("No connection to the server.") };
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
        const res = await withTimeout(post(url, fields), o.timeoutMs);
        if (res.status < 500) return res;
        last = res;
      } catch (e) {
        last = { status: 0, ok: false, body: Object.assign({}, NETWORK) };
      }
      if (attempt < o.attempts) {
        if (o.onRetry) o.onRetry(attempt);
        await sleep(400 * Math.pow(2, attempt - 1));
      }
    }
    return last;
  }

  // An idle screen (nobody in front) would otherwise cost the server a face detection every
  // few hundred ms all day: after an answer with no face, the next frame is sent only when the
  // picture changed (a 32x24 grey thumbnail against the last one sent: more than 2% of it by
  // more than 24 grey levels; camera noise stays below that, a person stepping in does not)
  // or IDLE_RESEND_MS have passed.
  const THUMB_W = 32;
  const THUMB_H = 24;
  const CHANGED_LEVELS = 24;
  const CHANGED_SHARE = 0.02;
  const IDLE_RESEND_MS = 2000;
  const thumbCanvas = document.createElement("canvas");
  thumbCanvas.width = THUMB_W;
  thumbCanvas.height = THUMB_H;

  function thumbnail(video) {
    const ctx = thumbCanvas.getContext("2d", { willReadFrequently: true });
    ctx.drawImage(video, 0, 0, THUMB_W, THUMB_H);
    const rgba = ctx.getImageData(0, 0, THUMB_W, THUMB_H).data;
    const grey = new Uint8Array(THUMB_W * THUMB_H);
    for (let i = 0; i < grey.length; i++) grey[i] = (rgba[4 * i] + rgba[4 * i + 1] + rgba[4 * i + 2]) / 3;
    return grey;
  }

  function changed(a, b) {
    let moved = 0;
    for (let i = 0; i < a.length; i++) if (Math.abs(a[i] - b[i]) > CHANGED_LEVELS) moved++;
    return moved > CHANGED_SHARE * a.length;
  }

  function watch(video, opts) {
    const o = Object.assign({ url: "/api/biometrics/analyse/", intervalMs: 400, maxWidth: 320 }, opts || {});
    let stopped = false;
    let timer = null;
    let sentThumb = null; // the last sent frame's thumbnail, while its answer saw no face
    let sentAt = 0;
    async function tick() {
      if (stopped) return;
      const thumb = video.videoWidth ? thumbnail(video) : null;
      if (thumb && sentThumb && !changed(thumb, sentThumb) && Date.now() - sentAt < IDLE_RESEND_MS) {
        watch.skipped += 1;
        timer = setTimeout(tick, o.intervalMs);
        return;
      }
      try {
        sentThumb = null;
        sentAt = Date.now();
        const blob = await grab(video, { maxWidth: o.maxWidth, quality: 0.7 });
        const scale = (video.videoWidth || o.maxWidth) / Math.min(o.maxWidth, video.videoWidth || o.maxWidth);
        const res = await post(o.url, { image: blob });
        const analysis = res.body || {};
        // Boxes come in the downscaled frame's pixels; report that frame's size.
        analysis.frameWidth = Math.round((video.videoWidth || 640) / scale);
        analysis.frameHeight = Math.round((video.videoHeight || 480) / scale);
        analysis.httpStatus = res.status;
        if (res.ok && !(analysis.faces || []).length) sentThumb = thumb;
        if (o.onAnalysis) o.onAnalysis(analysis);
      } catch (e) {
        if (o.onAnalysis) o.onAnalysis({ ok: false, issues: [{ code: "network", message: gettext("Connection problem, retrying…") }] });
      }
      if (!stopped) timer = setTimeout(tick, o.intervalMs);
    }
    tick();
    return function () {
      stopped = true;
      if (timer) clearTimeout(timer);
    };
  }
  watch.skipped = 0; // frames not sent because nothing changed on an empty screen (tests)

  const INSTRUCTIONS = {
    blink: gettext("Blink once"),
    turn_left: gettext("Turn your head slightly to your left, then back"),
    turn_right: gettext("Turn your head slightly to your right, then back"),
  };

  function instructionFor(challenges) {
    return challenges.map((c) => INSTRUCTIONS[c] || c).join(", then ");
  }

  async function liveCapture(video, opts) {
    const o = Object.assign({ challengeUrl: "/api/biometrics/challenge/", onInstruction: null, fields: {} }, opts || {});
    const res = await post(o.challengeUrl, o.fields);
    if (!res.ok) {
      const err = cameraError(res.body.code || "challenge_failed", res.body.detail || gettext("Could not start a capture."));
      err.status = res.status;
      err.body = res.body;
      throw err;
    }
    const c = res.body;
    if (o.onInstruction) o.onInstruction(instructionFor(c.challenges), c.challenges);
    const capture = c.capture || {};
    const frames = await burst(video, {
      seconds: capture.seconds || 3,
      fps: capture.fps || 10,
      maxWidth: capture.width || 480,
      quality: capture.quality || 0.8,
    });
    return { nonce: c.nonce, frames: frames, challenges: c.challenges };
  }

  async function liveLoop(video, opts) {
    const o = Object.assign({ onCaptured: () => {}, onRetry: () => {}, missed: () => false }, opts || {});
    let res;
    for (let attempt = 0; attempt < 2; attempt++) {
      let captured;
      try {
        captured = await liveCapture(video, { challengeUrl: o.challengeUrl, onInstruction: o.onInstruction });
      } catch (e) {
        return e.status
          ? { status: e.status, ok: false, body: e.body || {} }
          : { status: 0, ok: false, body: Object.assign({}, NETWORK) };
      }
      o.onCaptured();
      res = await o.send({ frames: captured.frames, nonce: captured.nonce });
      if (!o.missed(res) || attempt === 1) break;
      o.onRetry();
    }
    return res;
  }

  const PROMPTS = {
    blink: gettext("Please blink now"),
    turn_left: gettext("Please turn your head to your left now"),
    turn_right: gettext("Please turn your head to your right now"),
  };

  function promptFor(challenges) {
    return challenges.map((c) => PROMPTS[c] || c).join(" — ");
  }

  // One prefetched challenge per URL: {body, at, promise}. Challenges live for the server's
  // TTL (20 s by default); a prefetched one is used only while younger than FRESH_MS.
  const FRESH_MS = 12000;
  const prefetched = {};

  function prefetchChallenge(url) {
    const held = prefetched[url];
    if (held && (held.promise || performance.now() - held.at < FRESH_MS)) return held.promise;
    const entry = { body: null, at: performance.now(), promise: null };
    entry.promise = post(url, {}).then((res) => {
      entry.promise = null;
      if (res.ok) {
        entry.body = res.body;
        entry.at = performance.now();
      } else if (prefetched[url] === entry) {
        delete prefetched[url];
      }
      return res;
    }).catch(() => {
      if (prefetched[url] === entry) delete prefetched[url];
    });
    prefetched[url] = entry;
    return entry.promise;
  }

  async function takeChallenge(url) {
    let held = prefetched[url];
    if (held && held.promise) await held.promise;
    held = prefetched[url];
    delete prefetched[url];
    if (held && held.body && performance.now() - held.at < FRESH_MS) return { ok: true, body: held.body };
    return post(url, {});
  }

  async function liveStream(video, opts) {
    const o = Object.assign({ challengeUrl: "/api/biometrics/challenge/", streamUrl: "/api/biometrics/liveness/stream/",
      onInstruction: null, onPrompt: null }, opts || {});
    let res;
    try {
      res = await takeChallenge(o.challengeUrl);
    } catch (e) {
      return { error: { status: 0, ok: false, body: Object.assign({}, NETWORK) } };
    }
    if (!res.ok) return { error: res };
    const c = res.body;
    if (o.onInstruction) o.onInstruction(instructionFor(c.challenges), c.challenges);
    const s = c.stream || {};
    const period = 1000 / (s.fps || 20);
    const chunkMs = (s.chunk_seconds || 0.4) * 1000;
    const limitMs = ((s.max_seconds || 6) + 3) * 1000; // the server decides by max_seconds
    const grabOpts = { maxWidth: s.width || 480, quality: s.quality || 0.8 };
    const t0 = performance.now();
    let pending = [];
    let times = [];
    let seq = 0;
    let decided = null;
    let failed = null;
    let inflight = null;
    let prompted = false;
    let lastSend = t0;
    let due = t0;

    async function sendChunk() {
      const fields = { nonce: c.nonce, seq: seq, frames: pending, t: times };
      pending = [];
      times = [];
      const r = await postWithRetry(o.streamUrl, fields, { attempts: 3, timeoutMs: 8000 });
      seq += 1;
      if (r.status === 202) {
        if (r.body.prompt && !prompted) {
          prompted = true;
          if (o.onPrompt) o.onPrompt(promptFor(c.challenges));
        }
      } else if (r.status === 200) {
        decided = r.body;
      } else {
        failed = r;
      }
    }

    while (!decided && !failed && performance.now() - t0 < limitMs) {
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      due = Math.max(due + period, performance.now());
      // A slow answer must not grow a chunk past what the server takes (15 frames).
      if (pending.length < 14) {
        try {
          const frame = await grab(video, grabOpts);
          pending.push(frame);
          times.push(Math.round(performance.now() - t0));
        } catch (e) {
          // A frame the canvas could not encode (a busy machine): the stream goes on without it.
        }
      }
      // Nothing more once decided (the answer may have come while this frame was grabbed).
      if (!inflight && !decided && !failed && pending.length && performance.now() - lastSend >= chunkMs) {
        lastSend = performance.now();
        inflight = sendChunk().finally(() => { inflight = null; });
      }
    }
    if (inflight) await inflight;
    if (decided) return { nonce: c.nonce, decided: decided, challenges: c.challenges };
    return { error: failed || { status: 0, ok: false, body: Object.assign({}, NETWORK) } };
  }

  async function liveStreamLoop(video, opts) {
    const o = Object.assign({ onCaptured: () => {}, onRetry: () => {}, missed: () => false }, opts || {});
    let res;
    for (let attempt = 0; attempt < 2; attempt++) {
      const streamed = await liveStream(video, o);
      if (streamed.error) return streamed.error;
      o.onCaptured(streamed.decided);
      res = await o.send({ nonce: streamed.nonce, streamed: 1 });
      if (!o.missed(res) || attempt === 1) break;
      o.onRetry();
    }
    return res;
  }

  window.FaceCam = {
    start, stop, grab, burst, drawFaces, post, answer, postWithRetry, watch, csrfToken,
    liveCapture, liveLoop, instructionFor, sleep, prefetchChallenge, liveStream, liveStreamLoop,
    promptFor,
  };
})();
