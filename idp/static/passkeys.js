// Passkeys (通行密钥): create or use a WebAuthn credential for the button's ceremony, post it,
// follow the server's answer. Buttons carry data-passkey (sign-in | step-up | register), the
// two URLs, the CSRF token and the error texts in the page's language. No inline script:
// the pages' CSP is script-src 'self'.
(function () {
  "use strict";

  function toBuffer(value) {
    var base64 = value.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) base64 += "=";
    var binary = atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    if (!buffer) return null;
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (d) {
      return { type: d.type, id: toBuffer(d.id), transports: d.transports };
    });
  }

  function creationOptions(o) {
    o.challenge = toBuffer(o.challenge);
    o.user.id = toBuffer(o.user.id);
    o.excludeCredentials = descriptors(o.excludeCredentials);
    return o;
  }

  function requestOptions(o) {
    o.challenge = toBuffer(o.challenge);
    o.allowCredentials = descriptors(o.allowCredentials);
    return o;
  }

  function serialise(credential) {
    var r = credential.response;
    var response = { clientDataJSON: toBase64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toBase64url(r.attestationObject);
      response.transports = typeof r.getTransports === "function" ? r.getTransports() : [];
    } else {
      response.authenticatorData = toBase64url(r.authenticatorData);
      response.signature = toBase64url(r.signature);
      response.userHandle = toBase64url(r.userHandle);
    }
    return {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      response: response,
      clientExtensionResults: credential.getClientExtensionResults(),
      authenticatorAttachment: credential.authenticatorAttachment || null
    };
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (json) {
        return { ok: response.ok, status: response.status, json: json };
      });
    });
  }

  function Failure(key) { this.key = key; }

  function checked(answer) {
    if (answer.json && answer.json.redirect) {
      window.location.assign(answer.json.redirect);
      return null;
    }
    if (!answer.ok) {
      var kind = (answer.json && answer.json.type) || "";
      if (answer.status === 429) throw new Failure("errorLocked");
      if (/passkey-(expired|challenge)$/.test(kind)) throw new Failure("errorExpired");
      throw new Failure("errorFailed");
    }
    return answer.json;
  }

  function run(button) {
    if (button.dataset.redirect) {  // a check comes first (e.g. a recent, strong sign-in)
      window.location.assign(button.dataset.redirect);
      return;
    }
    var ceremony = button.dataset.passkey;
    var error = document.getElementById("passkey-error");
    var body = { csrf_token: button.dataset.csrf };
    if (button.dataset.interaction) body.interaction = button.dataset.interaction;
    if (button.dataset.nameInput) {
      body.name = document.getElementById(button.dataset.nameInput).value.trim();
    }
    if (error) { error.hidden = true; error.textContent = ""; }
    if (!window.PublicKeyCredential || !navigator.credentials) {
      show(error, button, "errorUnsupported");
      return;
    }
    button.disabled = true;
    post(button.dataset.options, body)
      .then(checked)
      .then(function (options) {
        if (options === null) return null;
        if (ceremony === "register") {
          return navigator.credentials.create({ publicKey: creationOptions(options) });
        }
        return navigator.credentials.get({ publicKey: requestOptions(options) });
      })
      .then(function (credential) {
        if (credential === null) return null;
        body.credential = serialise(credential);
        return post(button.dataset.verify, body).then(checked);
      })
      .catch(function (problem) {
        var key = "errorFailed";
        if (problem instanceof Failure) key = problem.key;
        else if (problem && (problem.name === "NotAllowedError" || problem.name === "AbortError")) {
          key = "errorCancelled";
        }
        show(error, button, key);
      })
      .then(function () { button.disabled = false; });
  }

  function show(error, button, key) {
    var text = button.dataset[key] || button.dataset.errorFailed;
    if (error) { error.textContent = text; error.hidden = false; }
  }

  function init() {
    var buttons = document.querySelectorAll("button[data-passkey]");
    for (var i = 0; i < buttons.length; i++) {
      if (buttons[i].dataset.passkeyReady) continue;
      buttons[i].dataset.passkeyReady = "1";
      buttons[i].addEventListener("click", function (event) { run(event.currentTarget); });
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
