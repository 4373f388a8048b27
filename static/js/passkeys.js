/* Passkeys (WebAuthn): sign in with one on the sign-in page, add one on the passkeys page
 * (identity/passkeys.py checks everything; this only carries the ceremony). The server's
 * options and the browser's answer travel as JSON with base64url for the binary fields.
 */
(function () {
  "use strict";
  const gettext = window.gettext || ((s) => s);

  function fromBase64url(text) {
    const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64 + "===".slice((base64.length + 3) % 4);
    const binary = atob(padded);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    const bytes = new Uint8Array(buffer);
    let binary = "";
    for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function csrfToken() {
    const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (m) return decodeURIComponent(m[1]);
    const field = document.querySelector("[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body || {}),
    });
    let data = {};
    try { data = await response.json(); } catch (e) { /* an empty or HTML answer */ }
    if (!response.ok) {
      const error = new Error(data.detail || gettext("Something went wrong. Please try again."));
      error.status = response.status;
      throw error;
    }
    return data;
  }

  function descriptors(list) {
    return (list || []).map((d) => Object.assign({}, d, { id: fromBase64url(d.id) }));
  }

  function creationOptions(json) {
    return Object.assign({}, json, {
      challenge: fromBase64url(json.challenge),
      user: Object.assign({}, json.user, { id: fromBase64url(json.user.id) }),
      excludeCredentials: descriptors(json.excludeCredentials),
    });
  }

  function requestOptions(json) {
    return Object.assign({}, json, {
      challenge: fromBase64url(json.challenge),
      allowCredentials: descriptors(json.allowCredentials),
    });
  }

  function credentialJSON(credential) {
    const r = credential.response;
    const response = { clientDataJSON: toBase64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toBase64url(r.attestationObject);
      response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.authenticatorData = toBase64url(r.authenticatorData);
      response.signature = toBase64url(r.signature);
      if (r.userHandle) response.userHandle = toBase64url(r.userHandle);
    }
    return {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      clientExtensionResults: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
      response: response,
    };
  }

  function show(status, kind, text) {
    status.hidden = false;
    status.className = "passkey-status " + kind;
    status.textContent = text;
  }

  function cancelled(error) {
    // The person closed the browser's dialogue, or it timed out: no error of theirs to show.
    return error && (error.name === "NotAllowedError" || error.name === "AbortError");
  }

  window.Passkeys = { answers: [] };
  const supported = !!(window.PublicKeyCredential && navigator.credentials);

  // ------------------------------------------------------------------ the sign-in page
  const signIn = document.getElementById("passkey-sign-in");
  if (signIn && supported) {
    const button = document.getElementById("passkey-button");
    const status = document.getElementById("passkey-status");
    signIn.hidden = false;
    button.addEventListener("click", async function () {
      button.disabled = true;
      show(status, "", gettext("Follow your browser's instructions…"));
      try {
        const options = await post(signIn.dataset.optionsUrl);
        const credential = await navigator.credentials.get({ publicKey: requestOptions(options) });
        const result = await post(signIn.dataset.signInUrl, {
          credential: credentialJSON(credential),
          next: signIn.dataset.next || "",
        });
        window.Passkeys.answers.push("ok");
        show(status, "ok", gettext("Signed in."));
        window.location.assign(result.next);
      } catch (error) {
        window.Passkeys.answers.push(String(error.status || error.name));
        if (cancelled(error)) status.hidden = true;
        else show(status, "bad", error.message);
        button.disabled = false;
      }
    });
  }

  // ------------------------------------------------------------------ the passkeys page
  const add = document.getElementById("passkey-add");
  const configElement = document.getElementById("passkey-config");
  if (add && configElement) {
    const cfg = JSON.parse(configElement.textContent);
    const status = document.getElementById("passkey-status");
    const button = document.getElementById("passkey-add-button");
    const name = document.getElementById("passkey-name");
    add.addEventListener("submit", async function (event) {
      event.preventDefault();
      if (!supported) {
        show(status, "bad", gettext("This browser cannot use passkeys."));
        return;
      }
      if (!name.value.trim()) {
        show(status, "bad", gettext("Give the passkey a name, for example the device it is on."));
        name.focus();
        return;
      }
      button.disabled = true;
      show(status, "", gettext("Follow your browser's instructions…"));
      try {
        const options = await post(cfg.optionsUrl);
        const credential = await navigator.credentials.create({ publicKey: creationOptions(options) });
        await post(cfg.registerUrl, { name: name.value.trim(), credential: credentialJSON(credential) });
        window.Passkeys.answers.push("ok");
        window.location.reload();
      } catch (error) {
        window.Passkeys.answers.push(String(error.status || error.name));
        if (cancelled(error)) status.hidden = true;
        else show(status, "bad", error.message);
        button.disabled = false;
      }
    });
  }
})();
