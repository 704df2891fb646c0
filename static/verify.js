/* The draw verifier of the public site: an independent implementation, in plain JavaScript, of
 * the target selection of docs/draw-algorithm.md (suiji-draw/1 and suiji-draw/2: §3–§7, V2-2)
 * over a draw's public bundle (V2-9). It recomputes every stratum's selection in the visitor's
 * browser and says 一致 or 不一致, with the reasons. SHA-256 is the browser's WebCrypto in a
 * secure context, else the site's own (sha256.js). No build step, no dependencies.
 */
(function (root) {
  'use strict';

  /* Version 2 (V2-18) keeps the exclusions' summary and the SHA-256 of exclusions.csv, which
     lists them, where version 1 lists them; version 3 (V2-19) is version 2 with the frame in id
     order alone; version 4 (V2-20) is version 3 with each frame entry an array. */
  var BUNDLE_FORMAT = 'suiji-public-bundle/1', BUNDLE_FORMAT_V2 = 'suiji-public-bundle/2',
    BUNDLE_FORMAT_V3 = 'suiji-public-bundle/3', BUNDLE_FORMAT_V4 = 'suiji-public-bundle/4';
  function summarised(b) {
    return b.format === BUNDLE_FORMAT_V2 || b.format === BUNDLE_FORMAT_V3 || b.format === BUNDLE_FORMAT_V4;
  }
  var ALGORITHMS = ['suiji-draw/1', 'suiji-draw/2'];
  var te = new TextEncoder();

  function hex(b) {
    var s = '';
    for (var i = 0; i < b.length; i++) { s += (b[i] < 16 ? '0' : '') + b[i].toString(16); }
    return s;
  }

  function unhex(s) {
    if (typeof s !== 'string' || !/^[0-9a-fA-F]{64}$/.test(s)) { return null; }
    var out = new Uint8Array(32);
    for (var i = 0; i < 32; i++) { out[i] = parseInt(s.substr(2 * i, 2), 16); }
    return out;
  }

  function concat(parts) {
    var n = 0, i;
    for (i = 0; i < parts.length; i++) { n += parts[i].length; }
    var out = new Uint8Array(n), o = 0;
    for (i = 0; i < parts.length; i++) { out.set(parts[i], o); o += parts[i].length; }
    return out;
  }

  /* enc(b) = u32be(len(b)) ‖ b (§2). */
  function enc(b) {
    var n = b.length;
    return concat([new Uint8Array([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]), b]);
  }

  function cmpBytes(a, b) {
    var n = Math.min(a.length, b.length);
    for (var i = 0; i < n; i++) { if (a[i] !== b[i]) { return a[i] - b[i]; } }
    return a.length - b.length;
  }

  /* ---- SHA-256: WebCrypto or the site's own ---------------------------------------------- */

  function ownHasher() {
    var S = root.SuijiSha256;
    return {
      name: '本站 JavaScript SHA-256（非安全连接）',
      own: true,
      digest: function (b) { return Promise.resolve(S.digest(b)); },
      /* key(id) = SHA-256(P ‖ id): one compression per short id from P's midstate (§4.2). */
      keys: function (P, ids) {
        var mid = S.midstate(P), out = new Array(ids.length);
        for (var i = 0; i < ids.length; i++) { out[i] = S.finish(mid, 64, ids[i]); }
        return Promise.resolve(out);
      }
    };
  }

  function webHasher(subtle) {
    return {
      name: '浏览器 WebCrypto SHA-256',
      own: false,
      digest: function (b) {
        return subtle.digest('SHA-256', b).then(function (d) { return new Uint8Array(d); });
      },
      keys: async function (P, ids) {
        var out = new Array(ids.length), step = 8192;
        for (var s = 0; s < ids.length; s += step) {
          var part = ids.slice(s, s + step).map(function (id) {
            var m = new Uint8Array(64 + id.length);
            m.set(P, 0);
            m.set(id, 64);
            return subtle.digest('SHA-256', m);
          });
          var got = await Promise.all(part);
          for (var i = 0; i < got.length; i++) { out[s + i] = new Uint8Array(got[i]); }
        }
        return out;
      }
    };
  }

  /* WebCrypto where the page is a secure context (https, localhost), else the own SHA-256. */
  function hasher(forceOwn) {
    var c = root.crypto;
    if (!forceOwn && root.isSecureContext && c && c.subtle && c.subtle.digest) {
      return webHasher(c.subtle);
    }
    return ownHasher();
  }

  /* ---- The algorithm ----------------------------------------------------------------------- */

  /* P = SHA-256(enc(version) ‖ enc(purpose) ‖ enc(seed) ‖ enc(matter) ‖ enc(period) ‖ enc(stratum)) ‖ 0^32 (§4.1). */
  async function prefix(h, version, purpose, seed, matter, period, stratum) {
    var d = await h.digest(concat([
      enc(te.encode(version)), enc(te.encode(purpose)), enc(seed),
      enc(te.encode(matter)), enc(te.encode(period)), enc(te.encode(stratum))
    ]));
    var P = new Uint8Array(64);
    P.set(d, 0);
    return P;
  }

  /* U = ((first 8 bytes >> 12) + 0.5) / 2^52 (§4.3); exact in binary64. */
  function uniformU(key) {
    var hi = ((key[0] << 24) | (key[1] << 16) | (key[2] << 8) | key[3]) >>> 0;
    var lo = ((key[4] << 24) | (key[5] << 16) | (key[6] << 8) | key[7]) >>> 0;
    var m = hi * 1048576 + (lo >>> 12);
    return (m + 0.5) / 4503599627370496;
  }

  /* k = ceil(n × ppm / 10^6) in exact integers (§6.2); with a class's upper bound cap_ppm,
     at most floor(n × cap_ppm / 10^6) (V2-11). */
  function sampleSize(n, ppm, capPpm) {
    var k = (BigInt(n) * BigInt(ppm) + 999999n) / 1000000n;
    if (typeof capPpm === 'number') {
      var most = (BigInt(n) * BigInt(capPpm)) / 1000000n;
      if (most < k) { k = most; }
    }
    return Number(k);
  }

  /* The correctly rounded sum (Shewchuk, as Python's math.fsum), §7.3. */
  function fsum(values) {
    var partials = [], i, j, x, y, hi, lo, t;
    for (var v = 0; v < values.length; v++) {
      x = values[v];
      i = 0;
      for (j = 0; j < partials.length; j++) {
        y = partials[j];
        if (Math.abs(x) < Math.abs(y)) { t = x; x = y; y = t; }
        hi = x + y;
        lo = y - (hi - x);
        if (lo !== 0) { partials[i++] = lo; }
        x = hi;
      }
      if (!isFinite(x)) { return NaN; }
      partials.length = i;
      if (x !== 0) { partials.push(x); }
    }
    var n = partials.length;
    hi = 0;
    if (n > 0) {
      hi = partials[--n];
      lo = 0;
      while (n > 0) {
        x = hi;
        y = partials[--n];
        hi = x + y;
        lo = y - (hi - x);
        if (lo !== 0) { break; }
      }
      if (n > 0 && ((lo < 0 && partials[n - 1] < 0) || (lo > 0 && partials[n - 1] > 0))) {
        y = lo * 2;
        x = hi + y;
        if (y === x - hi) { hi = x; }
      }
    }
    return hi;
  }

  /* λ and certainty per unit: the capping loop of §7.3. */
  function lambdas(weights, k) {
    var n = weights.length, lambda = new Float64Array(n), certain = new Uint8Array(n), taken = 0, i;
    k = Math.min(k, n);
    for (;;) {
      var kk = k - taken;
      if (kk === 0) {
        for (i = 0; i < n; i++) { if (!certain[i]) { lambda[i] = 0; } }
        break;
      }
      if (kk === n - taken) {
        for (i = 0; i < n; i++) { lambda[i] = 1; certain[i] = 1; }
        break;
      }
      var rest = [];
      for (i = 0; i < n; i++) { if (!certain[i]) { rest.push(weights[i]); } }
      var sum = fsum(rest);
      if (!isFinite(sum)) { throw new Error('权重之和溢出'); }
      var capped = [];
      for (i = 0; i < n; i++) {
        if (certain[i]) { continue; }
        lambda[i] = (kk * weights[i]) / sum;
        if (lambda[i] >= 1) { capped.push(i); }
      }
      if (capped.length === 0) { break; }
      for (var c = 0; c < capped.length; c++) { lambda[capped[c]] = 1; certain[capped[c]] = 1; taken++; }
    }
    return { lambda: lambda, certain: certain };
  }

  /* A binary64 as the manifest writes probabilities and weights: the shortest round-trip digits
   * in plain positional notation (Rust's `{}` for f64), V2-6.1. */
  function decimalText(x) {
    var s = String(x);
    var m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
    if (!m) { return s; }
    var digits = m[2] + (m[3] || ''), e = parseInt(m[4], 10);
    if (e < 0) { return m[1] + '0.' + '0'.repeat(-e - 1) + digits; }
    if (digits.length <= e + 1) { return m[1] + digits + '0'.repeat(e + 1 - digits.length); }
    return m[1] + digits.slice(0, e + 1) + '.' + digits.slice(e + 1);
  }

  /* The draw order of §7.4 / §5: certainty first, then Q, then key bytes, then id bytes. */
  function order(a, b) {
    if (a.certain !== b.certain) { return b.certain - a.certain; }
    if (a.q !== b.q) { return a.q < b.q ? -1 : 1; }
    if (a.h0 !== b.h0) { return a.h0 < b.h0 ? -1 : 1; }
    if (a.h1 !== b.h1) { return a.h1 < b.h1 ? -1 : 1; }
    var c = cmpBytes(a.key, b.key);
    return c !== 0 ? c : cmpBytes(a.idBytes, b.idBytes);
  }

  /* One stratum ranked: its units in draw order, each with key, λ, Q, rank. */
  async function rankStratum(h, b, seed, stratum, units, ratioPpm, capPpm) {
    var P = await prefix(h, b.algorithm, 'targets', seed, b.matter, b.period.id, stratum);
    var keys = await h.keys(P, units.map(function (u) { return u.idBytes; }));
    var k = sampleSize(units.length, ratioPpm, capPpm), i;
    var weighted = b.weighting === 'pareto';
    var lam = weighted ? lambdas(units.map(function (u) { return u.weight; }), k) : null;
    for (i = 0; i < units.length; i++) {
      var u = units[i], key = keys[i];
      u.key = key;
      u.h0 = ((key[0] << 24) | (key[1] << 16) | (key[2] << 8) | key[3]) >>> 0;
      u.h1 = ((key[4] << 24) | (key[5] << 16) | (key[6] << 8) | key[7]) >>> 0;
      if (weighted) {
        var l = lam.lambda[i];
        u.lambda = l;
        u.certain = lam.certain[i];
        if (u.certain) {
          u.q = 0;
        } else if (l === 0) {
          u.q = Infinity;
        } else {
          var U = uniformU(key);
          u.q = (U / (1 - U)) / (l / (1 - l));
        }
      } else {
        u.certain = 0;
        u.q = 0;
        u.lambda = (units.length === 0 || k >= units.length) ? 1 : k / units.length;
      }
    }
    units.sort(order);
    for (i = 0; i < units.length; i++) { units[i].rank = i + 1; units[i].drawn = i < k; }
    return { stratum: stratum, units: units, k: k };
  }

  function label(s) { return s === '' ? '（不分层）' : '“' + s + '”'; }

  /* How the reasons name a target, as the rest of the public site does: by its public name
     when the bundle publishes names, with its id in brackets where another target of the bundle
     has the same name (and after it any `more`, e.g. a rank); by its id where there is no name. */
  function namer(b) {
    var at = Array.isArray(b.public_fields) ? b.public_fields.indexOf('name') : -1;
    var byId = {}, count = {};
    if (at >= 0 && Array.isArray(b.frame)) {
      b.frame.forEach(function (f) {
        var n = f && Array.isArray(f.fields) ? f.fields[at] : null;
        if (typeof n === 'string' && n !== '') { byId[f.id] = n; count[n] = (count[n] || 0) + 1; }
      });
    }
    return function (id, more) {
      var n = Object.prototype.hasOwnProperty.call(byId, id) ? byId[id] : null;
      var notes = [];
      if (n === null) { n = id; } else if (count[n] > 1) { notes.push('编号 ' + id); }
      if (more) { notes.push(more); }
      return '“' + n + '”' + (notes.length ? '（' + notes.join('，') + '）' : '');
    };
  }

  /* A version 4 bundle writes each frame entry as an array, [id, its stratum's place in
     `strata` (from 0), weight, public field…] (V2-20): each made the object the other versions
     write, once. Returns the problems (Chinese) with the entries, which stop the recomputation. */
  function unpack(b) {
    if (!b || b.format !== BUNDLE_FORMAT_V4 || b.unpacked || !Array.isArray(b.frame) || !Array.isArray(b.strata)) { return []; }
    var out = [];
    for (var i = 0; i < b.frame.length; i++) {
      var a = b.frame[i];
      var s = Array.isArray(a) && Number.isInteger(a[1]) ? b.strata[a[1]] : null;
      if (!s || a.length < 3 || typeof a[0] !== 'string') {
        if (out.length < 10) { out.push('可抽对象第 ' + (i + 1) + ' 条不是 [编号, 分层序号, 权重, 公开字段…]，或其分层序号不在“strata”中'); }
        continue;
      }
      b.frame[i] = { id: a[0], stratum: s.stratum, weight: a[2], fields: a.slice(3) };
    }
    b.unpacked = true;
    return out;
  }

  /* Checks a bundle's shape; returns the problems (Chinese) that stop the recomputation. */
  function shapeProblems(b) {
    var out = [];
    if (!b || typeof b !== 'object') { return ['文件不是公开数据包（不是 JSON 对象）']; }
    var v2 = summarised(b);
    if (b.format !== BUNDLE_FORMAT && !v2) { out.push('数据包格式“' + b.format + '”不是 ' + BUNDLE_FORMAT + '、' + BUNDLE_FORMAT_V2 + '、' + BUNDLE_FORMAT_V3 + ' 或 ' + BUNDLE_FORMAT_V4); }
    if (ALGORITHMS.indexOf(b.algorithm) < 0) { out.push('未知的抽取算法“' + b.algorithm + '”'); }
    if (!unhex(b.seed)) { out.push('随机种子不是 64 位十六进制数'); }
    ['frame', 'strata', 'selected'].concat(v2 ? [] : ['exclusions']).forEach(function (f) {
      if (!Array.isArray(b[f])) { out.push('数据包缺少“' + f + '”'); }
    });
    var es = b.exclusion_summary;
    if (v2 && !(es && typeof es.sha256 === 'string' && Array.isArray(es.counts))) { out.push('数据包缺少“exclusion_summary”'); }
    if (!b.period || typeof b.period.id !== 'string') { out.push('数据包缺少期次'); }
    if (b.weighting !== 'uniform' && b.weighting !== 'pareto') { out.push('未知的抽取方式“' + b.weighting + '”'); }
    return out;
  }

  /* One cell of exclusions.csv from `at` (quotes and the formula guard removed): [cell, next]. */
  function csvCell(s, at) {
    var cell = '', i = at;
    if (s[i] === '"') {
      for (i++; i < s.length; i++) {
        if (s[i] === '"') { if (s[i + 1] === '"') { cell += '"'; i++; } else { i++; break; } } else { cell += s[i]; }
      }
    } else {
      while (i < s.length && s[i] !== ',' && s[i] !== '\n') { cell += s[i++]; }
    }
    if (/^'[=+\-@\t\r]/.test(cell)) { cell = cell.slice(1); }
    return [cell, i];
  }

  /* The exclusions exclusions.csv lists (V2-17 item 2), or null when it is not in that form. */
  function parseDetail(bytes) {
    var s;
    try { s = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes); } catch (e) { return null; }
    var head = '\ufefftarget_id,reason,detail\n';
    if (s.slice(0, head.length) !== head) { return null; }
    var out = [], i = head.length;
    while (i < s.length) {
      var a = csvCell(s, i), r = csvCell(s, a[1] + 1), d = csvCell(s, r[1] + 1);
      if (s[a[1]] !== ',' || s[r[1]] !== ',' || s[d[1]] !== '\n') { return null; }
      out.push({ target_id: a[0], reason: r[0], detail: d[0] });
      i = d[1] + 1;
    }
    return out;
  }

  /* A version 2 bundle's exclusions.csv against its summary: the reasons it differs, and the
     exclusions it lists (b.exclusions, for the look-up) when it hashes as recorded.
     `detail`: the file's bytes, or null when there is none. */
  async function checkDetail(b, detail, h, seen, who) {
    var es = b.exclusion_summary;
    if (!detail) { return ['找不到排除名单 exclusions.csv，未能核对被排除的对象']; }
    var got = hex(await h.digest(detail));
    if (got !== es.sha256) {
      return ['排除名单 exclusions.csv 的 SHA-256 为 ' + got + '，与数据包记录的 ' + es.sha256 + ' 不一致：名单被改动或不是这次抽取的'];
    }
    var list = parseDetail(detail);
    if (!list) { return ['排除名单 exclusions.csv 的格式不对，无法读取']; }
    var out = [], counted = {}, listed = {};
    if (list.length !== es.rows) { out.push('排除名单列有 ' + list.length + ' 户，数据包记为 ' + es.rows + ' 户'); }
    es.counts.forEach(function (c) { counted[c.reason] = (counted[c.reason] || 0) + c.count; });
    list.forEach(function (e) { listed[e.reason] = (listed[e.reason] || 0) + 1; });
    var reasons = Object.keys(counted);
    Object.keys(listed).forEach(function (r) { if (!(r in counted)) { reasons.push(r); } });
    reasons.forEach(function (r) {
      if ((counted[r] || 0) !== (listed[r] || 0)) {
        out.push('排除原因“' + (REASONS[r] || r) + '”：数据包记为 ' + (counted[r] || 0) + ' 户，排除名单列有 ' + (listed[r] || 0) + ' 户');
      }
    });
    list.forEach(function (e) {
      if (e.target_id && seen[e.target_id]) { out.push('对象' + who(e.target_id) + '既在可抽对象中又被排除'); }
    });
    b.exclusions = list;
    return out;
  }

  /* Recomputes the selection of bundle `b` (parsed JSON); `bytes` its file, `expect` the
   * published SHA-256 of the file (or ''); `detail` the bytes of exclusions.csv beside a
   * version 2 bundle (or null). Resolves to {ok, reasons, strata, index, ms}. */
  async function verify(b, bytes, expect, h, detail) {
    var t0 = (root.performance || Date).now();
    var reasons = [];
    var fileHash = hex(await h.digest(bytes));
    if (expect && expect.trim().toLowerCase() !== fileHash) {
      reasons.push('数据包的 SHA-256 为 ' + fileHash + '，与公布的校验值 ' + expect.trim().toLowerCase() + ' 不一致：数据包被改动或不是这次抽取的');
    }
    var shape = unpack(b).concat(shapeProblems(b));
    if (shape.length) {
      return { ok: false, reasons: reasons.concat(shape), strata: [], index: {}, fileHash: fileHash, ms: (root.performance || Date).now() - t0 };
    }
    var seed = unhex(b.seed), who = namer(b);
    var groups = {}, seen = {}, i;
    for (i = 0; i < b.frame.length; i++) {
      var f = b.frame[i];
      if (seen[f.id]) { reasons.push('对象编号“' + f.id + '”在可抽对象中出现两次'); continue; }
      seen[f.id] = true;
      var w = f.weight === null || f.weight === undefined ? 1 : Number(f.weight);
      if (b.weighting === 'pareto' && !(isFinite(w) && w > 0)) {
        reasons.push('对象' + who(f.id) + '的权重“' + f.weight + '”不是正数');
      }
      (groups[f.stratum] = groups[f.stratum] || []).push({ id: f.id, idBytes: te.encode(f.id), weight: w, fields: f.fields });
    }
    if (summarised(b)) {
      reasons = reasons.concat(await checkDetail(b, detail || null, h, seen, who));
    } else {
      b.exclusions.forEach(function (e) {
        if (e.target_id && seen[e.target_id]) { reasons.push('对象' + who(e.target_id) + '既在可抽对象中又被排除'); }
      });
    }
    var declared = {};
    b.strata.forEach(function (s) { declared[s.stratum] = s; });
    Object.keys(groups).forEach(function (s) {
      if (!declared[s]) { reasons.push('可抽对象中有分层' + label(s) + '，数据包的分层表中没有'); }
    });
    var ranked = [], index = {};
    for (i = 0; i < b.strata.length; i++) {
      var s = b.strata[i], units = groups[s.stratum] || [];
      if (units.length !== s.eligible) {
        reasons.push('分层' + label(s.stratum) + '：分层表记可抽对象 ' + s.eligible + ' 户，名单中有 ' + units.length + ' 户');
      }
      var r = await rankStratum(h, b, seed, s.stratum, units, s.ratio_ppm, s.cap_ppm);
      if (r.k !== s.k) {
        reasons.push('分层' + label(s.stratum) + '：按比例应抽 ' + r.k + ' 户，数据包记为 ' + s.k + ' 户');
      }
      r.units.forEach(function (u) { index[u.id] = { stratum: s.stratum, unit: u, n: r.units.length, k: r.k }; });
      ranked.push(r);
    }
    compareSelected(b, ranked, reasons, who);
    return { ok: reasons.length === 0, reasons: reasons, strata: ranked, index: index, fileHash: fileHash, ms: (root.performance || Date).now() - t0 };
  }

  /* The recomputed selection against the one the bundle states, rank by rank. */
  function compareSelected(b, ranked, reasons, who) {
    var claimed = {};
    b.selected.forEach(function (x) { (claimed[x.stratum] = claimed[x.stratum] || []).push(x); });
    ranked.forEach(function (r) {
      var c = (claimed[r.stratum] || []).slice().sort(function (x, y) { return x.rank - y.rank; });
      delete claimed[r.stratum];
      var n = Math.max(c.length, r.k);
      for (var i = 0; i < n; i++) {
        var u = i < r.k ? r.units[i] : null, x = c[i];
        var where = '分层' + label(r.stratum) + '第 ' + (i + 1) + ' 名：';
        if (!x) { reasons.push(where + '重算抽中' + who(u.id) + '，数据包未列'); continue; }
        if (!u) { reasons.push(where + '数据包列有' + who(x.target_id) + '，重算不应抽中'); continue; }
        if (x.target_id !== u.id) {
          reasons.push(where + '数据包为' + who(x.target_id) + '，重算为' + who(u.id));
        } else if (x.key !== hex(u.key)) {
          reasons.push(where + who(u.id) + '的排序值不符');
        } else if (x.inclusion_probability !== decimalText(u.lambda)) {
          reasons.push(where + who(u.id) + '的入样概率数据包为 ' + x.inclusion_probability + '，重算为 ' + decimalText(u.lambda));
        }
      }
    });
    Object.keys(claimed).forEach(function (s) {
      reasons.push('数据包在分层' + label(s) + '列有抽中对象，但该分层没有可抽对象');
    });
  }

  /* ---- Changes after the draw (V2-13) ------------------------------------------------------ */

  var CHANGES_FORMAT = 'suiji-public-changes/1';
  var CAUSES = {
    closed: '已注销或停业', moved: '已迁出', out_of_scope: '不在抽查范围',
    ill: '病假', transferred: '调离', conflict: '回避', other: '其他'
  };

  /* The substitutes (替补) of every recomputed stratum, in rank order: the ranks after k,
     min(n − k, ⌈k/5⌉ + 2) of them (V2-6.1 item 4), as the manifest lists them; a suiji-draw/1
     draw lists none. */
  function substitutes(b, strata) {
    var out = {};
    strata.forEach(function (r) {
      var n = r.units.length, k = Math.min(r.k, n);
      var m = b.algorithm === 'suiji-draw/1' ? 0 : Math.max(0, Math.min(n - k, Math.ceil(k / 5) + 2));
      out[r.stratum] = r.units.slice(k, k + m);
    });
    return out;
  }

  /* Replays the changes made after the draw (`doc`, a draw's changes.json) over the recomputed
   * draw `result` of bundle `b`, in the order they were made, as `suiji verify` does (V2-13):
   * each change concerns a visit that stands (drawn, or a substitute taken in, and not replaced
   * since); a target replaced (替补) takes in the first substitute of its stratum, in rank
   * order, that no earlier change took in; one marked out of scope (不在范围) takes none. A
   * team member replaced (人员调整) is checked for its visit only: who replaces them follows
   * from the inspector registry, which is not public. Returns {problems, lines}: problems with
   * the record itself, and one line per change with its verdict and reason. */
  function replayChanges(b, result, doc) {
    var problems = [], lines = [];
    if (!doc || typeof doc !== 'object' || doc.format !== CHANGES_FORMAT || !Array.isArray(doc.changes)) {
      problems.push('变更记录不是 ' + CHANGES_FORMAT + ' 格式');
      return { problems: problems, lines: lines };
    }
    if (doc.matter !== b.matter || doc.period !== b.period.id) {
      problems.push('变更记录属于“' + doc.matter + '（' + doc.period + '）”，不是本次抽取');
    }
    if (doc.public_bundle && doc.public_bundle !== result.fileHash) {
      problems.push('变更记录所记公开数据包校验值为 ' + doc.public_bundle + '，与载入的数据包不一致');
    }
    var subs = substitutes(b, result.strata), who = namer(b);
    var visits = b.selected.map(function (x) { return { target: x.target_id, stratum: x.stratum, replaced: undefined }; });
    var used = {}, last = -Infinity;
    function isSubstitute(id) {
      return Object.keys(subs).some(function (s) { return subs[s].some(function (u) { return u.id === id; }); });
    }
    /* The visit of `id` that stands, or why there is none to change (V2-13.1). */
    function standing(id) {
      for (var i = visits.length - 1; i >= 0; i--) {
        if (visits[i].target !== id) { continue; }
        var by = visits[i].replaced;
        if (by === undefined) { return { at: i }; }
        return { why: '对象' + who(id) + '此前已' + (by === null ? '标记不在范围' : '由' + who(by) + '替补') + '，不能再变更' };
      }
      if (isSubstitute(id)) { return { why: '对象' + who(id) + '未被抽中：是尚未启用的替补' }; }
      return { why: '对象' + who(id) + '不在本次抽取中（既未抽中，也不在替补之列）' };
    }
    doc.changes.forEach(function (c) {
      var line = {
        id: c.id, kind: c.kind, cause: CAUSES[c.cause] || c.cause, target: c.target_id, named: who(c.target_id),
        replacement: c.replacement === undefined ? null : c.replacement, at: c.changed_at || '',
        ok: true, note: ''
      };
      lines.push(line);
      function refuse(why) { line.ok = false; line.note = why; }
      if (!(c.id > last)) { refuse('变更未按编号先后排列'); }
      last = c.id;
      if (c.kind !== 'target' && c.kind !== 'inspector') { refuse('未知的变更类别“' + c.kind + '”'); return; }
      line.what = c.kind === 'inspector' ? '人员调整' : (line.replacement === null ? '不在范围（不替补）' : '替补');
      var s = standing(c.target_id);
      if (s.why) { refuse(s.why); return; }
      var v = visits[s.at];
      if (c.kind === 'inspector') {
        if (line.ok) { line.note = '该对象仍在抽查中；替换人员为该对象人员排序中下一位符合条件的人员，人员信息不公开，由审计复核'; }
        return;
      }
      if (line.replacement === null) {
        v.replaced = null;
        if (line.ok) { line.note = '标记不在范围，不启用替补'; }
        return;
      }
      if (b.algorithm === 'suiji-draw/1') { refuse('本次抽取按 suiji-draw/1 进行，未记录替补，不能替补'); return; }
      var list = subs[v.stratum] || [];
      var next = list.filter(function (u) { return !used[u.id]; })[0];
      if (!next) { refuse('分层' + label(v.stratum) + '的替补已用完（共 ' + list.length + ' 户）'); return; }
      if (next.id !== line.replacement) {
        refuse('分层' + label(v.stratum) + '按排序下一位替补是' + who(next.id, '第 ' + next.rank + ' 名') + '，不是' + who(line.replacement));
        return;
      }
      used[next.id] = true;
      v.replaced = next.id;
      visits.push({ target: next.id, stratum: v.stratum, replaced: undefined });
      if (line.ok) { line.note = '分层' + label(v.stratum) + '第 ' + next.rank + ' 名，为下一位未启用的替补'; }
    });
    return { problems: problems, lines: lines };
  }

  /* The changes' verdicts folded into the draw's: every problem is a reason. */
  function withChanges(r, replayed) {
    var reasons = r.reasons.concat(replayed.problems);
    replayed.lines.forEach(function (l) {
      if (!l.ok) { reasons.push('变更 #' + l.id + '（' + (l.what || l.kind) + ' ' + (l.named || l.target) + '）：' + l.note); }
    });
    r.reasons = reasons;
    r.ok = reasons.length === 0;
    r.changes = replayed.lines;
    return r;
  }

  var REASONS = {
    deregistered: '注销、吊销或停业',
    cooldown: '近期检查未发现问题（冷却期内）',
    yearly_cap: '本年被抽查次数已达上限',
    eligible_hook: '规则认定不在抽查范围'
  };

  /* What the bundle says of one id: its key, rank and whether it was eligible and drawn. */
  function lookup(b, result, id) {
    id = id.trim();
    var hit = result.index[id];
    if (hit) {
      var u = hit.unit;
      return {
        found: true, eligible: true, drawn: u.drawn, stratum: hit.stratum, rank: u.rank, n: hit.n, k: hit.k,
        key: hex(u.key), lambda: decimalText(u.lambda)
      };
    }
    var ex = (b.exclusions || []).filter(function (e) { return e.target_id === id; })[0];
    if (ex) {
      return { found: true, eligible: false, reason: REASONS[ex.reason] || ex.reason, detail: ex.detail };
    }
    return { found: false };
  }

  root.SuijiVerify = {
    verify: verify, lookup: lookup, hasher: hasher, replayChanges: replayChanges, withChanges: withChanges, fsum: fsum, lambdas: lambdas, decimalText: decimalText,
    uniformU: uniformU, sampleSize: sampleSize, prefix: prefix, hex: hex
  };

  /* ---- The page -------------------------------------------------------------------------- */

  if (typeof document === 'undefined') { return; }

  var state = { bundle: null, result: null };

  function el(id) { return document.getElementById(id); }

  function text(node, s) { node.textContent = s; return node; }

  function add(parent, tag, s, cls) {
    var n = document.createElement(tag);
    if (s !== undefined) { n.textContent = s; }
    if (cls) { n.className = cls; }
    parent.appendChild(n);
    return n;
  }

  function fact(dl, k, v, mono) {
    add(dl, 'dt', k);
    add(dl, 'dd', v, mono ? 'mono' : '');
  }

  function params() {
    var q = new URLSearchParams(root.location.search);
    return { draw: q.get('draw') || '', h: q.get('h') || '', own: q.get('sha') === 'js' };
  }

  function show(b, r, h) {
    el('result').hidden = false;
    var v = el('verdict');
    text(v, r.ok ? '一致' : '不一致').className = 'verdict ' + (r.ok ? 'ok' : 'bad');
    var ul = el('reasons');
    ul.innerHTML = '';
    r.reasons.slice(0, 50).forEach(function (x) { add(ul, 'li', x); });
    if (r.reasons.length > 50) { add(ul, 'li', '……另有 ' + (r.reasons.length - 50) + ' 处不一致'); }
    var dl = el('facts');
    dl.innerHTML = '';
    if (b && b.matter_name) {
      fact(dl, '抽查事项', b.matter_name + '（' + b.period.id + '）');
      fact(dl, '抽取算法', b.algorithm + (b.weighting === 'pareto' ? '，按风险加权' : '，等概率'));
      fact(dl, '随机种子', b.seed, true);
      fact(dl, '可抽对象', String(b.frame.length) + ' 户');
    }
    fact(dl, '数据包 SHA-256', r.fileHash, true);
    fact(dl, '计算用时', (r.ms / 1000).toFixed(2) + ' 秒');
    var tb = el('strata').tBodies[0];
    tb.innerHTML = '';
    r.strata.forEach(function (s) {
      var tr = add(tb, 'tr');
      add(tr, 'td', s.stratum === '' ? '（不分层）' : s.stratum).setAttribute('data-label', '分层');
      add(tr, 'td', String(s.units.length)).setAttribute('data-label', '可抽对象');
      add(tr, 'td', String(s.k)).setAttribute('data-label', '抽中');
    });
    showChanges(b, r);
    el('lookup').hidden = !b || !Array.isArray(b.frame);
    text(el('status'), r.ok ? '已按公开算法重新计算，与数据包所列抽取结果完全一致。' : '重新计算的结果与数据包不一致，原因见下。');
    text(el('sha-impl'), h.name);
    document.body.setAttribute('data-verdict', r.ok ? 'ok' : 'bad');
    root.suijiResult = {
      verdict: r.ok ? '一致' : '不一致', reasons: r.reasons, ms: r.ms, sha: h.own ? 'own' : 'webcrypto', fileHash: r.fileHash,
      changes: (r.changes || []).map(function (l) { return { id: l.id, verdict: l.ok ? '一致' : '不一致', note: l.note }; })
    };
  }

  /* A target as the page names it: its public name (when the site publishes names) and id. */
  function named(b, id) {
    var at = Array.isArray(b.public_fields) ? b.public_fields.indexOf('name') : -1;
    var f = at < 0 ? null : b.frame.filter(function (x) { return x.id === id; })[0];
    return f && f.fields && f.fields[at] ? f.fields[at] : '';
  }

  function targetCell(tr, b, id, labelText) {
    var td = add(tr, 'td');
    td.setAttribute('data-label', labelText);
    if (id === null || id === undefined) { td.textContent = '—'; return; }
    var n = named(b, id);
    if (n) { add(td, 'span', n); add(td, 'br'); }
    add(td, 'span', id, 'mono');
  }

  /* The changes after the draw, each with its verdict (一致 / 不一致) and why. */
  function showChanges(b, r) {
    var box = el('changes-result'), tb = el('changes').tBodies[0];
    tb.innerHTML = '';
    if (!b || !r.changesRead) { box.hidden = true; return; }
    box.hidden = false;
    var lines = r.changes || [];
    var bad = lines.filter(function (l) { return !l.ok; }).length;
    text(el('changes-status'), r.changesRead === 'missing'
      ? '未找到本次抽取的变更记录，抽取后变更未复核。'
      : lines.length === 0 ? '本次抽取没有抽取后变更。'
      : '共 ' + lines.length + ' 项变更，按记录先后逐项重放：' + (bad ? bad + ' 项不一致。' : '均与抽取结果确定的替补顺序一致。'));
    el('changes').hidden = lines.length === 0;
    lines.forEach(function (l) {
      var tr = add(tb, 'tr');
      tr.setAttribute('data-verdict', l.ok ? 'ok' : 'bad');
      add(tr, 'td', '#' + l.id).setAttribute('data-label', '编号');
      add(tr, 'td', l.at.replace('T', ' ').slice(0, 16)).setAttribute('data-label', '时间');
      add(tr, 'td', l.what || l.kind).setAttribute('data-label', '类别');
      targetCell(tr, b, l.target, '对象');
      add(tr, 'td', l.cause).setAttribute('data-label', '原因');
      if (l.kind === 'inspector') {
        add(tr, 'td', '人员信息不公开').setAttribute('data-label', '替换人员');
      } else {
        targetCell(tr, b, l.replacement, '替补对象');
      }
      var v = add(tr, 'td', undefined, 'change-verdict');
      v.setAttribute('data-label', '结论');
      add(v, 'strong', l.ok ? '一致' : '不一致', l.ok ? 'ok' : 'bad');
      add(v, 'br');
      add(v, 'span', l.note, 'muted');
    });
  }

  async function run(bytes, expect, changes, detail) {
    var p = params(), h = hasher(p.own);
    text(el('sha-impl'), h.name);
    text(el('status'), '正在计算……');
    document.body.removeAttribute('data-verdict');
    var b = null, r;
    try {
      b = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
      r = await verify(b, bytes, expect, h, detail);
      if (changes !== undefined && shapeProblems(b).length === 0) {
        if (changes === null) {
          r.changesRead = 'missing';
        } else {
          r = withChanges(r, replayChanges(b, r, changes));
          r.changesRead = 'read';
        }
      }
    } catch (e) {
      r = { ok: false, reasons: ['无法读取数据包：' + e.message], strata: [], index: {}, fileHash: hex(await h.digest(bytes)), ms: 0 };
      b = null;
    }
    state.bundle = b;
    state.result = r;
    show(b, r, h);
  }

  async function load(draw, expect) {
    text(el('status'), '正在载入第 ' + draw + ' 号抽取的公开数据包……');
    var res = await fetch('draws/' + encodeURIComponent(draw) + '/bundle.public.json', { cache: 'no-store' });
    if (!res.ok) {
      text(el('status'), '找不到第 ' + draw + ' 号抽取的公开数据包（' + res.status + '）。');
      document.body.setAttribute('data-verdict', 'missing');
      return;
    }
    var bytes = new Uint8Array(await res.arrayBuffer());
    /* The draw's changes after the draw, published beside its bundle (V2-13.4). */
    var changes = null;
    var cr = await fetch('draws/' + encodeURIComponent(draw) + '/changes.json', { cache: 'no-store' });
    if (cr.ok) {
      try { changes = JSON.parse(await cr.text()); } catch (e) { changes = { format: '（无法读取）' }; }
    }
    /* A version 2, 3 or 4 bundle's exclusions are listed in exclusions.csv beside it (V2-18). */
    var detail = null;
    if (/^\{"format":"suiji-public-bundle\/[234]"/.test(new TextDecoder().decode(bytes.subarray(0, 40)))) {
      var dr = await fetch('draws/' + encodeURIComponent(draw) + '/exclusions.csv', { cache: 'no-store' });
      if (dr.ok) { detail = new Uint8Array(await dr.arrayBuffer()); }
    }
    await run(bytes, expect, changes, detail);
  }

  function find(ev) {
    ev.preventDefault();
    var out = el('found');
    out.innerHTML = '';
    if (!state.result || !state.bundle) { return; }
    var id = el('target').value;
    var f = lookup(state.bundle, state.result, id);
    var dl = add(out, 'dl', undefined, 'facts');
    if (!f.found) {
      add(out, 'p', '“' + id.trim() + '”不在本次抽取的范围内（不是本事项的检查对象，或编号有误）。', 'muted');
      out.setAttribute('data-found', 'none');
      return;
    }
    if (!f.eligible) {
      fact(dl, '结论', '未纳入抽取（已排除）');
      fact(dl, '排除原因', f.reason + (f.detail ? '：' + f.detail : ''));
      out.setAttribute('data-found', 'excluded');
      return;
    }
    fact(dl, '结论', f.drawn ? '已抽中' : '未抽中（可抽对象）');
    fact(dl, '分层', f.stratum === '' ? '（不分层）' : f.stratum);
    fact(dl, '排名', '第 ' + f.rank + ' 名（共 ' + f.n + ' 户，抽 ' + f.k + ' 户）');
    fact(dl, '排序值', f.key, true);
    fact(dl, '入样概率', f.lambda);
    out.setAttribute('data-found', f.drawn ? 'drawn' : 'eligible');
  }

  function start() {
    var p = params();
    el('draw').value = p.draw;
    el('expect').value = p.h;
    text(el('sha-impl'), hasher(p.own).name);
    el('load').addEventListener('submit', function (ev) {
      ev.preventDefault();
      /* The bundle, and for a version 2 bundle the exclusions.csv beside it (both chosen). */
      var files = Array.prototype.slice.call(el('file').files), expect = el('expect').value;
      var file = files.filter(function (f) { return !/\.csv$/i.test(f.name); })[0];
      var csv = files.filter(function (f) { return /\.csv$/i.test(f.name); })[0];
      if (file) {
        Promise.all([file.arrayBuffer(), csv ? csv.arrayBuffer() : null]).then(function (bufs) {
          return run(new Uint8Array(bufs[0]), expect, undefined, bufs[1] ? new Uint8Array(bufs[1]) : null);
        });
      } else if (el('draw').value.trim()) {
        load(el('draw').value.trim(), expect);
      }
    });
    el('find').addEventListener('submit', find);
    if (p.draw) { load(p.draw, p.h); }
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})(typeof globalThis !== 'undefined' ? globalThis : this);
