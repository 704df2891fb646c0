/* SHA-256 (FIPS 180-4) in plain JavaScript, for pages served over plain http, where the
 * browser's WebCrypto is not available. Also gives the midstate after whole 64-byte blocks, so
 * that a draw's keys cost one compression per id (docs/draw-algorithm.md §4.2). No dependencies.
 *
 *   SuijiSha256.digest(bytes)            -> Uint8Array(32)
 *   SuijiSha256.midstate(block64)        -> state after one 64-byte block
 *   SuijiSha256.finish(state, 64, tail)  -> digest of block64 ‖ tail
 */
(function (root) {
  'use strict';
  var K = new Uint32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
  ]);
  var IV = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
  var W = new Uint32Array(64);

  /* One compression of the 64 bytes of `b` from offset `o` into the state `h` (8 words). */
  function compress(h, b, o) {
    var i, t1, t2, x, y;
    for (i = 0; i < 16; i++) {
      W[i] = (b[o + 4 * i] << 24) | (b[o + 4 * i + 1] << 16) | (b[o + 4 * i + 2] << 8) | b[o + 4 * i + 3];
    }
    for (i = 16; i < 64; i++) {
      x = W[i - 15]; y = W[i - 2];
      W[i] = (((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)) +
             (((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10)) +
             W[i - 7] + W[i - 16];
    }
    var a = h[0], bb = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (i = 0; i < 64; i++) {
      t1 = (hh + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) +
            ((e & f) ^ (~e & g)) + K[i] + W[i]) | 0;
      t2 = ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) +
            ((a & bb) ^ (a & c) ^ (bb & c))) | 0;
      hh = g; g = f; f = e; e = (d + t1) | 0; d = c; c = bb; bb = a; a = (t1 + t2) | 0;
    }
    h[0] = (h[0] + a) | 0; h[1] = (h[1] + bb) | 0; h[2] = (h[2] + c) | 0; h[3] = (h[3] + d) | 0;
    h[4] = (h[4] + e) | 0; h[5] = (h[5] + f) | 0; h[6] = (h[6] + g) | 0; h[7] = (h[7] + hh) | 0;
  }

  var PAD = new Uint8Array(128);

  /* The digest of (`done` bytes already compressed into `state`) ‖ `tail`. */
  function finish(state, done, tail) {
    var h = new Int32Array(state);
    var n = tail.length, whole = n - (n % 64), o;
    for (o = 0; o < whole; o += 64) { compress(h, tail, o); }
    var rest = n - whole;
    var blocks = rest < 56 ? 64 : 128;
    PAD.fill(0);
    PAD.set(tail.subarray(whole), 0);
    PAD[rest] = 0x80;
    var bits = (done + n) * 8; /* exact below 2^53 */
    var hi = Math.floor(bits / 4294967296), lo = bits >>> 0;
    PAD[blocks - 8] = hi >>> 24; PAD[blocks - 7] = hi >>> 16; PAD[blocks - 6] = hi >>> 8; PAD[blocks - 5] = hi;
    PAD[blocks - 4] = lo >>> 24; PAD[blocks - 3] = lo >>> 16; PAD[blocks - 2] = lo >>> 8; PAD[blocks - 1] = lo;
    compress(h, PAD, 0);
    if (blocks === 128) { compress(h, PAD, 64); }
    var out = new Uint8Array(32);
    for (var i = 0; i < 8; i++) {
      out[4 * i] = h[i] >>> 24; out[4 * i + 1] = h[i] >>> 16; out[4 * i + 2] = h[i] >>> 8; out[4 * i + 3] = h[i];
    }
    return out;
  }

  /* The state after the whole 64-byte blocks of `bytes` (its length must be a multiple of 64). */
  function midstate(bytes) {
    var h = new Int32Array(IV);
    for (var o = 0; o + 64 <= bytes.length; o += 64) { compress(h, bytes, o); }
    return h;
  }

  function digest(bytes) {
    return finish(new Int32Array(IV), 0, bytes);
  }

  root.SuijiSha256 = { digest: digest, midstate: midstate, finish: finish };
})(typeof globalThis !== 'undefined' ? globalThis : this);
