// The audit browser checks each entry itself (RFC 9162 §2.1.3.2 inclusion proofs, the C2SP
// signed-note checkpoint, ECDSA P-256 with WebCrypto) against the log key the auditor
// pinned in this browser: the server's own word is not the proof.
"use strict";

(function () {
  const PIN = "tongxing.audit.pinned-log-key";
  const root = document.getElementById("audit-browser");
  if (!root) return;
  const say = (name) => root.dataset["t" + name[0].toUpperCase() + name.slice(1)] || name;
  const enc = new TextEncoder();

  function b64(text) {
    const raw = atob(text);
    const out = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }

  function concat(...parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  }

  async function sha256(bytes) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  }

  function same(a, b) {
    if (a.length !== b.length) return false;
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
    return diff === 0;
  }

  function pemToDer(pem) {
    const body = pem.replace(/-----(BEGIN|END) PUBLIC KEY-----/g, "").replace(/\s+/g, "");
    return b64(body);
  }

  // ASN.1 DER ECDSA-Sig-Value (SEQUENCE of two INTEGERs) to the 64-byte r||s WebCrypto wants.
  function derToRaw(der) {
    let at = 0;
    const take = () => der[at++];
    const length = () => {
      let n = take();
      if (n & 0x80) {
        let count = n & 0x7f;
        n = 0;
        while (count--) n = (n << 8) | take();
      }
      return n;
    };
    if (take() !== 0x30) throw new Error("signature is not a DER sequence");
    length();
    const out = new Uint8Array(64);
    for (let part = 0; part < 2; part++) {
      if (take() !== 0x02) throw new Error("signature integer expected");
      let n = length();
      let value = der.slice(at, at + n);
      at += n;
      while (value.length > 32 && value[0] === 0) value = value.slice(1);
      if (value.length > 32) throw new Error("signature integer too long");
      out.set(value, part * 32 + (32 - value.length));
    }
    return out;
  }

  // c2sp.org/signed-note and tlog-checkpoint: origin, size, root; signature lines.
  function parseNote(note) {
    const cut = note.indexOf("\n\n");
    if (cut < 0 || !note.endsWith("\n")) throw new Error("not a signed note");
    const text = note.slice(0, cut + 1);
    const lines = text.split("\n");
    const size = lines[1];
    if (!/^(0|[1-9][0-9]*)$/.test(size)) throw new Error("bad tree size");
    const signatures = note.slice(cut + 2).split("\n").filter((l) => l).map((line) => {
      if (!line.startsWith("\u2014 ")) throw new Error("bad signature line");
      const space = line.lastIndexOf(" ");
      return { name: line.slice(2, space), blob: b64(line.slice(space + 1)) };
    });
    return { text, origin: lines[0], size: Number(size), root: b64(lines[2]), signatures };
  }

  async function verifyCheckpoint(note, pinned) {
    const parsed = parseNote(note);
    if (parsed.origin !== pinned.origin) throw new Error("the checkpoint names another log");
    const der = pemToDer(pinned.pem);
    const keyId = (await sha256(der)).slice(0, 4);
    const key = await crypto.subtle.importKey(
      "spki", der, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
    for (const sig of parsed.signatures) {
      if (sig.name !== pinned.origin || !same(sig.blob.slice(0, 4), keyId)) continue;
      const ok = await crypto.subtle.verify(
        { name: "ECDSA", hash: "SHA-256" }, key, derToRaw(sig.blob.slice(4)), enc.encode(parsed.text));
      if (ok) return parsed;
      throw new Error("the checkpoint signature does not verify");
    }
    throw new Error("the checkpoint is not signed by the pinned key");
  }

  // RFC 9162 §2.1.3.2: verifying an inclusion proof.
  async function rootFromProof(leaf, index, size, path) {
    if (index >= size) throw new Error("index beyond the tree");
    let fn = index, sn = size - 1;
    let r = await sha256(concat(new Uint8Array([0]), leaf));
    for (const p of path) {
      if (sn === 0) throw new Error("proof too long");
      if (fn % 2 === 1 || fn === sn) {
        r = await sha256(concat(new Uint8Array([1]), p, r));
        if (fn % 2 === 0) {
          while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
        }
      } else {
        r = await sha256(concat(new Uint8Array([1]), r, p));
      }
      fn = Math.floor(fn / 2);
      sn = Math.floor(sn / 2);
    }
    if (sn !== 0) throw new Error("proof too short");
    return r;
  }

  function mark(element, verdict, text) {
    element.className = "verdict " + verdict;
    element.textContent = text;
  }

  async function checkRow(row, checkpoint) {
    const cell = row.querySelector(".verdict");
    const index = Number(row.dataset.index);
    const leaf = b64(row.dataset.leaf);
    try {
      // What the page shows must be what the leaf says: the leaf is what is hashed.
      const fields = JSON.parse(new TextDecoder().decode(leaf));
      if (fields.seq !== index || fields.type !== row.dataset.type ||
          fields.actor !== row.dataset.actor || fields.subject !== row.dataset.subject) {
        throw new Error("the row differs from its leaf");
      }
      // Show what the leaf says, not what the server rendered: the time (UTC, as logged),
      // type, actor, subject and details all come from the hashed bytes.
      row.querySelector(".time").textContent = String(fields.time).replace("T", " ");
      row.querySelector(".leaf-type code").textContent = fields.type;
      row.querySelector(".leaf-actor").textContent = fields.actor;
      row.querySelector(".leaf-subject").textContent = fields.subject;
      row.querySelector(".leaf-details").textContent = JSON.stringify(fields.details, null, 1);
      if (index >= checkpoint.size) { mark(cell, "pending", say("notYet")); return false; }
      const answer = await fetch(
        `/audit/v1/proof/inclusion?index=${index}&tree_size=${checkpoint.size}`,
        { headers: { accept: "application/json" } });
      if (!answer.ok) throw new Error("no proof");
      const proof = await answer.json();
      const computed = await rootFromProof(leaf, index, checkpoint.size, proof.hashes.map(b64));
      if (!same(computed, checkpoint.root)) throw new Error("the proof leads to another root");
      mark(cell, "verified", say("verified"));
      row.querySelector(".proof").textContent = proof.hashes.length + " × SHA-256";
      return true;
    } catch (error) {
      mark(cell, "failed", say("failed") + ": " + error.message);
      return false;
    }
  }

  function pinned() {
    try {
      const found = JSON.parse(localStorage.getItem(PIN) || "null");
      return found && found.pem && found.origin ? found : null;
    } catch (error) {
      return null;
    }
  }

  async function run() {
    const status = document.getElementById("checkpoint-status");
    const key = pinned();
    document.getElementById("pinned-origin").textContent = key ? key.origin : say("noKey");
    if (!key) { mark(status, "failed", say("noKey")); return; }
    let checkpoint;
    try {
      const answer = await fetch("/audit/v1/checkpoint", { cache: "no-store" });
      if (!answer.ok) throw new Error("no checkpoint");
      checkpoint = await verifyCheckpoint(await answer.text(), key);
    } catch (error) {
      mark(status, "failed", say("checkpointBad") + ": " + error.message);
      return;
    }
    mark(status, "verified", say("checkpointOk").replace("{size}", String(checkpoint.size)));
    const rows = Array.from(document.querySelectorAll("tr[data-leaf]"));
    let good = 0;
    for (const row of rows) if (await checkRow(row, checkpoint)) good++;
    root.dataset.verified = String(good);
    root.dataset.checked = "done";
  }

  document.getElementById("pin-key").addEventListener("click", () => {
    const pem = document.getElementById("pin-pem").value.trim();
    const origin = document.getElementById("pin-origin").value.trim();
    if (!pem.includes("BEGIN PUBLIC KEY") || !origin) return;
    localStorage.setItem(PIN, JSON.stringify({ pem, origin }));
    run();
  });
  document.getElementById("verify-all").addEventListener("click", run);
  run();
})();
