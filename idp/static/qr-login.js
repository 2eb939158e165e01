// QR cross-device sign-in on the sign-in page: ask for a QR code, long-poll its state, and
// post the finishing form once the phone approved. No inline script (CSP script-src 'self').
(function () {
  "use strict";
  var part = document.getElementById("qr-login");
  if (!part) { return; }
  var image = document.getElementById("qr-image");
  var numberLine = document.getElementById("qr-number-line");
  var number = document.getElementById("qr-number");
  var status = document.getElementById("qr-status");
  var refresh = document.getElementById("qr-refresh");
  var finish = document.getElementById("qr-finish");
  var current = null;
  var generation = 0;

  function say(state) {
    status.textContent = part.getAttribute("data-text-" + state) || part.getAttribute("data-text-state");
  }

  function stop(state) {
    current = null;
    image.hidden = true;
    numberLine.hidden = true;
    say(state);
    refresh.hidden = false;
  }

  function create() {
    var mine = ++generation;
    refresh.hidden = true;
    var form = new URLSearchParams();
    form.set("interaction", part.getAttribute("data-interaction"));
    form.set("csrf_token", part.getAttribute("data-csrf"));
    fetch("/login/qr", { method: "POST", body: form, credentials: "same-origin" })
      .then(function (response) {
        if (response.status === 429) { throw new Error("limit"); }
        if (!response.ok) { throw new Error("expired"); }
        return response.json();
      })
      .then(function (qr) {
        if (mine !== generation) { return; }
        current = qr;
        image.src = qr.image;
        image.setAttribute("data-url", qr.url);
        image.hidden = false;
        number.textContent = qr.number;
        numberLine.hidden = false;
        say("pending");
        wait(qr, "pending", mine);
      })
      .catch(function (error) { stop(error.message === "limit" ? "limit" : "expired"); });
  }

  function wait(qr, seen, mine) {
    var url = "/login/qr/" + encodeURIComponent(qr.id) + "/wait?seen=" + encodeURIComponent(seen);
    fetch(url, { headers: { "X-QR-Token": qr.token }, credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) { throw new Error("expired"); }
        return response.json();
      })
      .then(function (answer) {
        if (mine !== generation) { return; }
        var state = answer.state;
        if (state === "pending" || state === "scanned") {
          say(state);
          wait(qr, state, mine);
        } else if (state === "approved") {
          say("approved");
          finish.action = "/login/qr/" + encodeURIComponent(qr.id) + "/finish";
          finish.elements.namedItem("token").value = qr.token;
          finish.submit();
        } else {
          stop(state);
        }
      })
      .catch(function () {
        if (mine !== generation) { return; }
        // A dropped connection: try again shortly unless the code has run out meanwhile.
        window.setTimeout(function () { if (current === qr) { wait(qr, seen, mine); } }, 1000);
      });
  }

  refresh.addEventListener("click", create);
  create();
})();
