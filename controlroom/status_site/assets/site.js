/* CryptoPack status site: the package-code lookup and the stale banner.

   No third-party code and no request but this site's own files. The code a
   visitor types never leaves the page: it is hashed here, and only the
   group file named by the first two hex digits of the hash is fetched. */
(function () {
  "use strict";

  /* SHA-256 as FIPS 180-4 defines it. Our own rather than crypto.subtle,
     which browsers give only to secure contexts: an onion service over
     http or a page opened from disk is not one. */
  var K = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5,
    0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc,
    0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3,
    0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5,
    0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
  ];
  var H0 = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19
  ];

  function utf8(text) {
    var bytes = [];
    for (var i = 0; i < text.length; i++) {
      var c = text.codePointAt(i);
      if (c > 0xffff) i++;  // the low half of a surrogate pair is read
      if (c < 0x80) bytes.push(c);
      else if (c < 0x800) bytes.push(0xc0 | (c >> 6), 0x80 | (c & 63));
      else if (c < 0x10000) {
        bytes.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
      } else {
        bytes.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63),
                   0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
      }
    }
    return bytes;
  }

  function rotr(x, n) {
    return (x >>> n) | (x << (32 - n));
  }

  function sha256Hex(text) {
    var bytes = utf8(text);
    var bitLength = bytes.length * 8;
    // Padding (FIPS 180-4 5.1.1): a 1 bit, zeros, then the 64-bit length.
    bytes.push(0x80);
    while (bytes.length % 64 !== 56) bytes.push(0);
    var high = Math.floor(bitLength / 0x100000000);
    var low = bitLength >>> 0;
    bytes.push((high >>> 24) & 255, (high >>> 16) & 255,
               (high >>> 8) & 255, high & 255,
               (low >>> 24) & 255, (low >>> 16) & 255,
               (low >>> 8) & 255, low & 255);

    var hash = H0.slice();
    var w = new Array(64);
    for (var block = 0; block < bytes.length; block += 64) {
      for (var t = 0; t < 16; t++) {
        var j = block + t * 4;
        w[t] = ((bytes[j] << 24) | (bytes[j + 1] << 16) |
                (bytes[j + 2] << 8) | bytes[j + 3]) | 0;
      }
      for (t = 16; t < 64; t++) {
        var s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >>> 3);
        var s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >>> 10);
        w[t] = (w[t - 16] + s0 + w[t - 7] + s1) | 0;
      }
      var a = hash[0], b = hash[1], c = hash[2], d = hash[3];
      var e = hash[4], f = hash[5], g = hash[6], h = hash[7];
      for (t = 0; t < 64; t++) {
        var sum1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
        var choose = (e & f) ^ (~e & g);
        var temp1 = (h + sum1 + choose + K[t] + w[t]) | 0;
        var sum0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
        var majority = (a & b) ^ (a & c) ^ (b & c);
        var temp2 = (sum0 + majority) | 0;
        h = g; g = f; f = e; e = (d + temp1) | 0;
        d = c; c = b; b = a; a = (temp1 + temp2) | 0;
      }
      hash[0] = (hash[0] + a) | 0; hash[1] = (hash[1] + b) | 0;
      hash[2] = (hash[2] + c) | 0; hash[3] = (hash[3] + d) | 0;
      hash[4] = (hash[4] + e) | 0; hash[5] = (hash[5] + f) | 0;
      hash[6] = (hash[6] + g) | 0; hash[7] = (hash[7] + h) | 0;
    }
    var hex = "";
    for (var i = 0; i < 8; i++) {
      hex += ("00000000" + (hash[i] >>> 0).toString(16)).slice(-8);
    }
    return hex;
  }

  /* Package codes, read exactly as controlroom/orders/codes.py reads them:
     Crockford's base32, 11 data symbols and a check symbol (value mod 37);
     case, spaces, hyphens and dots ignored; O read as 0, I and L as 1. */
  var ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  var CONFUSABLES = { O: "0", I: "1", L: "1" };
  var IGNORED = " -\t.\u00a0\u2009\u202f\u200b\u2010\u2011\u2012\u2013\u2014\u2212";
  var DATA_SYMBOLS = 11;
  var CHECK_MODULUS = 37;

  function CodeProblem(kind, message) {
    this.kind = kind;
    this.message = message;
  }

  function normaliseCode(raw) {
    var compact = "";
    var chars = Array.from(raw.trim().toUpperCase());
    for (var i = 0; i < chars.length; i++) {
      var ch = chars[i];
      if (IGNORED.indexOf(ch) >= 0) continue;
      ch = CONFUSABLES[ch] || ch;
      if (ALPHABET.indexOf(ch) < 0) {
        throw new CodeProblem("symbol", "'" + ch + "' does not occur in " +
          "package codes: they use the digits 0-9 and the letters A-Z " +
          "without I, L, O and U.");
      }
      compact += ch;
    }
    if (compact.length !== DATA_SYMBOLS + 1) {
      throw new CodeProblem("length", "A package code has " +
        (DATA_SYMBOLS + 1) + " letters and digits (like 7KQ2-9XWM-4TCZ); " +
        "this one has " + compact.length + ".");
    }
    // The 55-bit number is too big for a double; its remainder is not.
    var remainder = 0;
    for (i = 0; i < DATA_SYMBOLS; i++) {
      remainder = (remainder * 32 + ALPHABET.indexOf(compact[i])) % CHECK_MODULUS;
    }
    if (ALPHABET.indexOf(compact[DATA_SYMBOLS]) !== remainder) {
      throw new CodeProblem("typo", "This package code has a typo: one " +
        "letter or digit is wrong or two are swapped. Please check it " +
        "against the receipt.");
    }
    return compact;
  }

  function recordKey(compact, salt) {
    return sha256Hex(salt + ":" + compact);
  }

  function isStale(generatedMs, staleAfterSeconds, nowMs) {
    return nowMs - generatedMs > staleAfterSeconds * 1000;
  }

  function minutesWords(ms) {
    var minutes = Math.floor(ms / 60000);
    if (minutes < 120) return minutes + " minutes";
    var hours = Math.floor(minutes / 60);
    if (hours < 48) return hours + " hours";
    return Math.floor(hours / 24) + " days";
  }

  function showStale(body) {
    var banner = document.getElementById("stale");
    var generated = Date.parse(body.dataset.generated);
    var limit = Number(body.dataset.staleAfter);
    var now = Date.now();
    if (!banner || isNaN(generated) || !isStale(generated, limit, now)) return;
    banner.textContent = "This page was generated " +
      minutesWords(now - generated) + " ago and may be out of date. " +
      "We are probably busy with an incident; please check again later.";
    banner.hidden = false;
  }

  function say(result, kind, lines) {
    result.className = "result " + kind;
    result.textContent = "";
    lines.forEach(function (line) {
      var p = document.createElement("p");
      p.textContent = line;
      result.appendChild(p);
    });
    result.hidden = false;
  }

  function lookUp(body, input, result) {
    var compact;
    try {
      compact = normaliseCode(input.value);
    } catch (problem) {
      if (!(problem instanceof CodeProblem)) throw problem;
      say(result, "problem " + problem.kind, [problem.message]);
      return;
    }
    var key = recordKey(compact, body.dataset.salt);
    var group = key.slice(0, Number(body.dataset.prefixDigits));
    var shown = compact.match(/.{1,4}/g).join("-");
    say(result, "busy", ["Looking up " + shown + " …"]);
    fetch("p/" + group + ".json", {
      credentials: "omit", cache: "no-cache", referrerPolicy: "no-referrer"
    }).then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    }).then(function (records) {
      var record = records[key];
      if (!record) {
        say(result, "missing", [
          "No parcel with the code " + shown + " is listed here.",
          body.dataset.keepWords
        ]);
        return;
      }
      say(result, "found " + record.status, [
        shown + ": " + record.words,
        "Last update: " + record.when,
        "Where: " + (record.city || "not shown")
      ]);
    }).catch(function (error) {
      say(result, "problem", [
        "The lookup could not load its data (" + error.message + "). " +
        "Please try again in a minute."
      ]);
    });
  }

  function start() {
    var body = document.body;
    showStale(body);
    setInterval(function () { showStale(body); }, 60000);
    var form = document.getElementById("lookup-form");
    var input = document.getElementById("code");
    var result = document.getElementById("lookup-result");
    if (!form || !input || !result) return;
    form.hidden = false;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      lookUp(body, input, result);
    });
  }

  window.CryptoPackStatus = {
    sha256Hex: sha256Hex,
    normaliseCode: function (raw) {
      try {
        return { code: normaliseCode(raw) };
      } catch (problem) {
        if (!(problem instanceof CodeProblem)) throw problem;
        return { problem: problem.kind, message: problem.message };
      }
    },
    recordKey: recordKey,
    isStale: isStale
  };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
