/*
 * keys.js: signed consent in the browser (SPEC §7), loaded on every page with <script src defer>.
 *
 * 1. This device's key. The first time a member signs in to a pot on a device, the
 *    script makes a NON-extractable Ed25519 key with WebCrypto, keeps the CryptoKeyPair
 *    in IndexedDB (the private half can never be read out, not even by this script) and
 *    registers its public half with POST api/keys, proving it with the key's signature
 *    over the registration. The server never sees a private key.
 * 2. Signing. A form that makes a signable event (SPEC §7's, and a member's own pledge,
 *    which the README adds) carries data-sign="<event type>". Its submit is held back
 *    while the script asks api/session for the head digest (`seen`),
 *    builds the canonical message exactly as domain/signing.py does from the form's
 *    fields (as the pot will record them), signs it and adds a hidden `signature` field
 *    (JSON); then the form goes on as it would have (a plain post or htmx). Without
 *    JavaScript, or without a key in force, the same forms post unsigned.
 * 3. The witness. The script remembers in localStorage the last head (number, digest)
 *    it saw for the pot, and on every page checks that the server still shows that
 *    digest at that number. When it does not, a warning (role=alert) appears that has no
 *    close button and stays on this device for this pot: a history rewritten behind the
 *    crew's back cannot be shown to this device and then quietly put back.
 * 4. The keys page marks the key this device holds.
 *
 * No inline script, no eval: the page's CSP allows scripts from the app only.
 */
(function () {
  "use strict";

  var DB_NAME = "commonpot-keys";
  var STORE = "keys";

  // ------------------------------------------------------------------ where we are
  function here() {
    var body = document.body;
    if (!body || !body.dataset.pot || !body.dataset.member) {
      return null; // Not signed in (the sign-in and invite pages): nothing to do.
    }
    return { pot: body.dataset.pot, member: body.dataset.member, digits: parseInt(body.dataset.digits || "2", 10) };
  }

  function api(c, path) {
    return "/p/" + encodeURIComponent(c.pot) + "/api/" + path;
  }

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // A GET's status and JSON body; a network failure is status 0 (never an uncaught error in the console).
  function getJson(url) {
    return fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" }).then(
      function (r) {
        return r.json().then(
          function (body) { return { status: r.status, body: body }; },
          function () { return { status: r.status, body: null }; }
        );
      },
      function () { return { status: 0, body: null }; }
    );
  }

  function postJson(url, body) {
    return fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
      body: JSON.stringify(body),
    }).then(
      function (r) { return r.status; },
      function () { return 0; }
    );
  }

  // ------------------------------------------------------------------ the canonical message
  // Python's str.strip(): what the server's parsers trim (String.prototype.trim trims a different set).
  var PY_SPACE = "[\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";
  var STRIP = new RegExp("^" + PY_SPACE + "+|" + PY_SPACE + "+$", "g");

  function pyStrip(text) {
    return String(text).replace(STRIP, "");
  }

  // Keys compared by code point, as Python's sort_keys does (JavaScript's < compares UTF-16 units).
  function byCodePoint(a, b) {
    var x = Array.from(a), y = Array.from(b);
    for (var i = 0; i < Math.min(x.length, y.length); i++) {
      var d = x[i].codePointAt(0) - y[i].codePointAt(0);
      if (d !== 0) return d;
    }
    return x.length - y.length;
  }

  /*
   * json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False) for the flat
   * objects SPEC §7 signs (strings and whole numbers). JSON.stringify writes a string as
   * Python does without ASCII escaping: \" \\ \b \f \n \r \t, other controls as \u00xx in
   * lower case, everything else as itself (lone surrogates aside, which the pot refuses).
   */
  function canonical(obj) {
    return "{" + Object.keys(obj).sort(byCodePoint).map(function (k) {
      var v = obj[k];
      if (typeof v === "number" && !Number.isSafeInteger(v)) throw new Error("not a whole number: " + k);
      return JSON.stringify(k) + ":" + JSON.stringify(v);
    }).join(",") + "}";
  }

  function b64url(buffer) {
    var text = "";
    new Uint8Array(buffer).forEach(function (b) { text += String.fromCharCode(b); });
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function keyIdOf(raw) {
    return crypto.subtle.digest("SHA-256", raw).then(function (hash) {
      return Array.from(new Uint8Array(hash).slice(0, 8), function (b) {
        return b.toString(16).padStart(2, "0");
      }).join("");
    });
  }

  function sign(privateKey, text) {
    return crypto.subtle.sign({ name: "Ed25519" }, privateKey, new TextEncoder().encode(text)).then(b64url);
  }

  // An amount as the pot records it, a decimal string with the currency's digits ("25" → "25.00"); null if not one.
  function amountText(text, digits) {
    var found = /^([0-9]+)(?:\.([0-9]+))?$/.exec(pyStrip(text));
    if (!found) return null;
    var frac = found[2] || "";
    if (frac.length > digits) return null;
    var whole = BigInt(found[1]).toString();
    return digits > 0 ? whole + "." + frac.padEnd(digits, "0") : whole;
  }

  // A percent as the pot records it, without trailing zeros ("7.50" → "7.5", "10.0" → "10"); null if not one.
  function percentText(text) {
    var found = /^([0-9]+)(?:\.([0-9]+))?$/.exec(pyStrip(text));
    if (!found) return null;
    var frac = (found[2] || "").replace(/0+$/, "");
    var whole = BigInt(found[1]).toString();
    return frac ? whole + "." + frac : whole;
  }

  // Names compare as the pot compares them (NFKC, case-insensitive), near enough for the names a page lists.
  function nameKey(name) {
    return name.normalize("NFKC").toLowerCase();
  }

  function field(form, name) {
    var el = form.elements.namedItem(name);
    if (!el) return "";
    return el.value === undefined || el.value === null ? "" : String(el.value);
  }

  function whole(text) {
    return /^[0-9]{1,10}$/.test(text || "") ? parseInt(text, 10) : null;
  }

  // The fields each signable form signs (SPEC §7), as the pot will record them; null when the form
  // does not hold a lawful value (it is then sent unsigned, and the server says what is wrong).
  var SIGNED = {
    vote_cast: function (form) {
      var no = whole(form.dataset.proposal);
      if (no === null) return null;
      return { proposal_no: no, position: field(form, "position"), reason: pyStrip(field(form, "reason")) };
    },
    withdrawal_proposed: function (form, c, actor) {
      var amount = amountText(field(form, "amount"), c.digits);
      var closes = pyStrip(field(form, "closes")) || form.dataset.closes || "";
      if (amount === null || !/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(closes)) return null;
      var to = pyStrip(field(form, "recipient"));
      if (!to) {
        to = actor; // No recipient: the proposer.
      } else {
        // A recipient who is a member is recorded as the member's name is spelled.
        var list = form.querySelectorAll("datalist option");
        for (var i = 0; i < list.length; i++) {
          if (nameKey(list[i].value) === nameKey(to)) to = list[i].value;
        }
      }
      return { amount: amount, purpose: pyStrip(field(form, "purpose")), recipient: to, closes: closes };
    },
    reflection_noted: function (form) {
      var no = whole(form.dataset.event);
      if (no === null) return null;
      return { event_no: no, feeling: pyStrip(field(form, "feeling")).toLowerCase(), note: pyStrip(field(form, "note")) };
    },
    contribution_recorded: function (form, c) {
      var amount = amountText(field(form, "amount"), c.digits);
      var on = pyStrip(field(form, "on")) || form.dataset.today || "";
      if (amount === null || !/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(on)) return null;
      return {
        member: pyStrip(field(form, "member")),
        amount: amount,
        on: on,
        note: pyStrip(field(form, "note")),
        ref: pyStrip(field(form, "ref")),
      };
    },
    contribution_reversed: function (form) {
      var no = whole(form.dataset.contribution);
      if (no === null) return null;
      return { contribution_no: no, reason: pyStrip(field(form, "reason")) };
    },
    withdrawal_paid: function (form) {
      var no = whole(form.dataset.proposal);
      return no === null ? null : { proposal_no: no };
    },
    // Not in SPEC §7's list: the README adds it. Only the member it is about signs a pledge; a
    // treasurer setting another member's sends it unsigned (the pot would refuse the signature).
    pledge_set: function (form, c, actor) {
      var who = pyStrip(field(form, "member")) || actor;
      if (nameKey(who) !== nameKey(actor)) return null;
      var percent = pyStrip(field(form, "percent")), monthly = pyStrip(field(form, "monthly"));
      if ((percent === "") === (monthly === "")) return null; // Exactly one of them, or the server says so.
      var share = percent ? percentText(percent) : "";
      var amount = monthly ? amountText(monthly, c.digits) : "";
      var from = pyStrip(field(form, "from")) || form.dataset.month || "";
      if (share === null || amount === null || !/^[0-9]{4}-[0-9]{2}$/.test(from)) return null;
      return { member: actor, kind: percent ? "percent" : "monthly", percent: share, monthly: amount, from_month: from };
    },
  };

  // ------------------------------------------------------------------ this device's key
  function withStore(mode, act) {
    return new Promise(function (resolve, reject) {
      var opening = indexedDB.open(DB_NAME, 1);
      opening.onupgradeneeded = function () { opening.result.createObjectStore(STORE); };
      opening.onerror = function () { reject(opening.error); };
      opening.onsuccess = function () {
        var db = opening.result;
        var tx = db.transaction(STORE, mode);
        var request = act(tx.objectStore(STORE));
        tx.oncomplete = function () { db.close(); resolve(request.result); };
        tx.onerror = tx.onabort = function () { db.close(); reject(tx.error); };
      };
    });
  }

  // One key per pot and member on a device: two members sharing a browser each have their own.
  function slot(c) {
    return c.pot + "\n" + nameKey(c.member);
  }

  function load(c) {
    return withStore("readonly", function (s) { return s.get(slot(c)); });
  }

  function save(c, record) {
    return withStore("readwrite", function (s) { return s.put(record, slot(c)); });
  }

  function canSign() {
    return window.isSecureContext && window.crypto && crypto.subtle && window.indexedDB;
  }

  // Make the key if this device has none for this pot and member, and register it if the pot lacks it.
  function ensureKey(c) {
    return load(c).then(function (record) {
      if (record) return record;
      return crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]).then(function (pair) {
        return crypto.subtle.exportKey("raw", pair.publicKey).then(function (raw) {
          return keyIdOf(raw).then(function (keyId) {
            var made = { keyPair: pair, keyId: keyId, publicKey: b64url(raw), registered: false };
            // Kept before it is registered: a registration cut short by leaving the page is finished later.
            return save(c, made).then(function () { return made; });
          });
        });
      });
    }).then(function (record) {
      // Asked on every page, not remembered: a pot re-created from an export (or another store under the
      // same address) does not hold the key this device registered before, and then it is registered again.
      return getJson(api(c, "keys")).then(function (keys) {
        if (keys.status !== 200) return record.registered ? 201 : 0;
        var known = keys.body.some(function (k) { return k.key_id === record.keyId; });
        if (known) return 201;
        var proof = canonical({ pot: c.pot, type: "member_key_added", actor: c.member, public_key: record.publicKey });
        return sign(record.keyPair.privateKey, proof).then(function (sig) {
          return postJson(api(c, "keys"), { public_key: record.publicKey, proof: sig });
        });
      }).then(function (status) {
        if (status !== 201) return null; // Tried again on the next page.
        if (record.registered) return record;
        record.registered = true;
        return save(c, record).then(function () { return record; });
      });
    });
  }

  // This page's key: one registration at a time per device (two tabs must not make two keys).
  function deviceKey(c) {
    if (!canSign()) return Promise.resolve({ unsupported: true });
    var run = function () { return ensureKey(c); };
    var held = navigator.locks ? navigator.locks.request("commonpot-key:" + slot(c), run) : run();
    return held.then(
      function (record) { return record || null; },
      function (error) {
        // No Ed25519 in this browser's WebCrypto (NotSupportedError) or no IndexedDB: unsigned.
        return error && error.name === "NotSupportedError" ? { unsupported: true } : null;
      }
    );
  }

  var ready = null;

  // ------------------------------------------------------------------ signing a form
  var passing = new WeakSet();
  var signing = new WeakSet();

  function signatureFor(form, c) {
    return ready.then(function (record) {
      if (!record || !record.keyPair) return null;
      return Promise.all([getJson(api(c, "session")), getJson(api(c, "keys"))]).then(function (got) {
        var session = got[0], keys = got[1];
        if (session.status !== 200 || keys.status !== 200) return null;
        var mine = keys.body.find(function (k) { return k.key_id === record.keyId; });
        if (!mine || mine.revoked !== null) return null; // Not in force: the server would refuse it.
        var kind = form.dataset.sign;
        var actor = session.body.member;
        var fields = SIGNED[kind] ? SIGNED[kind](form, c, actor) : null;
        if (!fields) return null;
        var seen = session.body.head.digest;
        var message = canonical(Object.assign({}, fields, { pot: c.pot, type: kind, actor: actor, seen: seen }));
        return sign(record.keyPair.privateKey, message).then(function (sig) {
          return { key_id: record.keyId, seen: seen, sig: sig };
        });
      });
    }).catch(function () { return null; });
  }

  function setSignature(form, signature) {
    var input = form.querySelector('input[name="signature"]');
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden";
      input.name = "signature";
      form.appendChild(input);
    }
    input.value = signature ? JSON.stringify(signature) : "";
  }

  function onSubmit(event) {
    var form = event.target;
    var c = here();
    if (!c || !(form instanceof HTMLFormElement) || !form.dataset.sign) return;
    if (passing.has(form)) {
      passing.delete(form); // Signed (or not signable): let it go to the browser or htmx.
      return;
    }
    // Held back before htmx or the browser sees it (this listener runs first, on the way down).
    event.preventDefault();
    event.stopImmediatePropagation();
    if (signing.has(form)) return; // A second click while the first is being signed.
    signing.add(form);
    var submitter = event.submitter && event.submitter.form === form ? event.submitter : null;
    signatureFor(form, c).then(function (signature) {
      // In a task of its own: while this submit event is still being dispatched (a signature found at
      // once, as when there is no key), the browser ignores a new submit of the same form.
      setTimeout(function () {
        signing.delete(form);
        setSignature(form, signature);
        passing.add(form);
        if (submitter) form.requestSubmit(submitter); else form.requestSubmit();
        passing.delete(form);
      }, 0);
    });
  }

  // ------------------------------------------------------------------ the witness
  function headKey(c) { return "commonpot:" + c.pot + ":head"; }
  function alarmKey(c) { return "commonpot:" + c.pot + ":witness"; }

  function showAlarm(text) {
    var banner = document.getElementById("witness");
    if (!banner) return;
    banner.textContent = text;
    banner.hidden = false;
  }

  function short(digest) {
    return String(digest).slice(0, 16);
  }

  function witness(c) {
    var alarm = localStorage.getItem(alarmKey(c));
    if (alarm) {
      showAlarm(alarm); // Once seen, kept: a server cannot show a rewritten history and then put it back.
      return Promise.resolve();
    }
    var seen = null;
    try {
      seen = JSON.parse(localStorage.getItem(headKey(c)) || "null");
    } catch (e) {
      seen = null;
    }
    return getJson(api(c, "session")).then(function (session) {
      if (session.status !== 200) return null;
      var head = session.body.head;
      var check;
      if (!seen || !Number.isInteger(seen.no) || seen.no < 1 || typeof seen.digest !== "string") {
        check = Promise.resolve({ ok: true });
      } else if (seen.no > head.no) {
        check = Promise.resolve({ ok: false, shown: null, head: head });
      } else if (seen.no === head.no) {
        check = Promise.resolve({ ok: head.digest === seen.digest, shown: head.digest });
      } else {
        check = getJson(api(c, "events/" + seen.no + "/digest")).then(function (got) {
          if (got.status === 200) return { ok: got.body.digest === seen.digest, shown: got.body.digest };
          if (got.status === 404) return { ok: false, shown: null, head: head };
          return null; // Not an answer (the network, a busy store): checked again on the next page.
        });
      }
      return check.then(function (result) {
        if (!result) return;
        if (result.ok) {
          localStorage.setItem(headKey(c), JSON.stringify({ no: head.no, digest: head.digest }));
          return;
        }
        var text =
          "Warning: the history this server shows differs from what this device saw at event " + seen.no +
          ": this device saw digest " + short(seen.digest) + "…, " +
          (result.shown === null
            ? "and the server now shows only " + head.no + " events"
            : "and the server now shows " + short(result.shown) + "…") +
          ". The history may have been rewritten: tell your crew and compare the digests you wrote down.";
        localStorage.setItem(alarmKey(c), text);
        showAlarm(text);
      });
    }).catch(function () { return null; });
  }

  // ------------------------------------------------------------------ the page
  function notice(text) {
    var main = document.getElementById("main");
    if (!main || document.getElementById("signing-note")) return;
    var note = document.createElement("p");
    note.id = "signing-note";
    note.className = "muted";
    note.setAttribute("role", "status");
    note.textContent = text;
    main.insertBefore(note, main.firstChild);
  }

  function markDevice(record) {
    var status = document.getElementById("device-key");
    if (record && record.unsupported) {
      var text = "This browser cannot make an Ed25519 key (WebCrypto): what you do from it is sent unsigned.";
      if (status) status.textContent = text; else notice(text);
      return;
    }
    if (!status) return;
    if (!record) {
      status.textContent = "This device's key is not registered yet: what you do from it is sent unsigned for now.";
      return;
    }
    var item = document.querySelector('[data-key-id="' + record.keyId + '"]');
    if (item) {
      item.classList.add("this-device");
      var mark = item.querySelector(".device-mark");
      if (mark) mark.hidden = false;
    }
    var revoked = item && item.querySelector(".status-cancelled");
    status.textContent = revoked
      ? "This device holds key " + record.keyId + ", which is revoked: what you do from it is sent unsigned."
      : "This device holds key " + record.keyId + ": what you do from it is signed with it.";
  }

  function onPage() {
    var c = here();
    if (!c) return;
    witness(c);
    ready.then(markDevice);
  }

  function start() {
    var c = here();
    if (!c) return;
    document.addEventListener("submit", onSubmit, true);
    ready = deviceKey(c);
    onPage();
    // htmx swaps a new page into <body> (a vote): check again, and show the warning again if there is one.
    document.addEventListener("htmx:afterSettle", function (event) {
      if (event.target === document.body) onPage();
    });
  }

  // Exposed for the browser tests, which compare it with Python's json.dumps.
  window.commonpotCanonical = canonical;
  window.commonpotAmountText = amountText;
  window.commonpotPercentText = percentText;

  start();
})();
