#!/usr/bin/env python3
"""An independent implementation of suiji's draw, versions `suiji-draw/1` and `suiji-draw/2`,
written from docs/draw-algorithm.md (Python 3.11 or later, standard library only).

    python3 suiji_draw.py vectors
        prints the golden vectors of §9 (keys, U, orders, λ, team rankings).
    python3 suiji_draw.py check DATABASE [--draw ID]... [--all] [--weights SPEC.json]
            [--classes SPEC.json] [--substitutes N]
        re-runs recorded draws from suiji's database (data/suiji.sqlite3): the manifest, the
        archived canonical registry snapshots and the archived rules, and says for each draw
        `identical` (the re-computed manifest hashes to the recorded `manifest_hash`, and every
        change recorded after the draw — 替补, 不在范围, 人员调整 — is the one V2-13 gives, by
        the rule its audit entry records (V2-16 item 5), and
        the loads it carried in are those of the period's other draws as of its issue, V2-16) or
        what differs, or `not checked` and why (a weight hook's weights not given, say).
        Exit status 0 when every draw is identical, 1 otherwise, 2 on bad input.

Hooks (Rhai scripts) are not run here: the `eligible` hook's answers are read from the
manifest's exclusions (`eligible_hook`), the `conflict` hook's from its inspector skips
(`hook_conflict`), a `weight` hook's weights must be given with --weights (§10.3 of the
document) and a `class` hook's classes with --classes (V2-12). Everything else — scope, exclusions, strata, k, keys, the uniform and Pareto
selections, λ, teams with 回避 and workload caps, the unstaffed messages, the history kept, the
snapshot and rules hashes and the manifest hash — is computed here from the inputs.
"""

# ---- §3–§7 and the ranking of §8: the core, as printed in §10 of the document ----
import hashlib, math, struct

VERSION = "suiji-draw/1"
WS = ("\u0009\u000a\u000b\u000c\u000d\u0020\u0085\u00a0\u1680\u2000\u2001\u2002"
      "\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")

def seed_from_text(s):
    return hashlib.sha256(s.strip(WS).encode("utf-8")).digest()

def enc(b):
    return struct.pack(">I", len(b)) + b

def prefix(seed, matter, period, stratum, purpose):   # purpose: "targets" or "team"
    d = hashlib.sha256(enc(VERSION.encode()) + enc(purpose.encode()) + enc(seed)
                       + enc(matter.encode()) + enc(period.encode())
                       + enc(stratum.encode())).digest()
    return d + bytes(32)                                # P: one 64-byte block

def key(p, entity_id):
    return hashlib.sha256(p + entity_id.encode("utf-8")).digest()

def uniform(k):
    m = int.from_bytes(k[:8], "big") >> 12              # top 52 bits
    return (m + 0.5) / 2.0**52

def sample_size(n, ppm):
    return (n * ppm + 999_999) // 1_000_000

def rank_uniform(p, ids):
    return sorted(ids, key=lambda i: (key(p, i), i.encode()))

def inclusion(weights, k):
    lam, certain = [0.0] * len(weights), set()
    while True:
        rest = [i for i in range(len(weights)) if i not in certain]
        kk = k - len(certain)
        if kk == 0 or kk == len(rest):
            for i in rest: lam[i] = 0.0 if kk == 0 else 1.0
            return lam
        s = math.fsum(weights[i] for i in rest)
        new = set()
        for i in rest:
            lam[i] = float(kk) * weights[i] / s
            if lam[i] >= 1.0: new.add(i)
        if not new:
            return lam
        for i in new: lam[i] = 1.0
        certain |= new

def rank_pareto(p, ids, weights, k):
    lam = inclusion(weights, k)
    def q(i):
        if lam[i] == 1.0: return (0, 0.0)               # certainty units first
        if lam[i] == 0.0: return (1, math.inf)
        u = uniform(key(p, ids[i]))
        return (1, (u / (1.0 - u)) / (lam[i] / (1.0 - lam[i])))
    order = sorted(range(len(ids)), key=lambda i: q(i) + (key(p, ids[i]), ids[i].encode()))
    return [(ids[i], lam[i]) for i in order]
# ---- end of the core ----

import calendar, csv, datetime, gzip, io, json, pathlib, sqlite3, sys, tomllib

CLEAN_RESULTS = ("未发现问题", "clean")


def vectors():
    """The golden vectors of §9."""
    seed = seed_from_text("  2025年3月1日 见证人现场号码 0 4 7 1 9 3\n")
    print("seed", seed.hex())
    ids = ["91440300MA5F000001", "91440300MA5F000002", "91440300MA5F000003", "旅馆-004",
           "X", "91440300MA5F00000Y", "hotel/深圳/福田/0007", "Z" * 56]
    for stratum in ["", "福田区"]:
        p = prefix(seed, "zhian.hotel", "2025-Q1", stratum, "targets")
        print("stratum", repr(stratum), "D", p[:32].hex())
        for i in ids:
            print("  ", i, key(p, i).hex(), repr(uniform(key(p, i))))
        print("  order", [ids.index(i) for i in rank_uniform(p, ids)])
    p = prefix(seed, "zhian.hotel", "2025-Q1", "", "targets")
    w = [1.0, 2.0, 3.0, 5.0, 8.0, 1.0, 1.5, 20.0]
    for k in (3, 6):
        print("k", k, "lambda", inclusion(w, k))
        print("  pareto order", [ids.index(i) for i, _ in rank_pareto(p, ids, w, k)])
    for t in ("91440300MA5F000001", "旅馆-004"):
        pt = prefix(seed, "zhian.hotel", "2025-Q1", t, "team")
        print("team", t, rank_uniform(pt, ["I-001", "I-002", "I-003", "I-004", "I-005", "张三-006"]))


# ---- §15: the manifest's canonical JSON ----

def json_float(x):
    """A binary64 as serde_json writes it (§15.2): the shortest round-trip digits, positional
    when the decimal exponent is in [-5, 16), otherwise `d.ddde±x` (no padding)."""
    if x != x or x in (math.inf, -math.inf):
        return "null"
    if x == 0.0:
        return "-0.0" if math.copysign(1.0, x) < 0 else "0.0"
    sign = "-" if x < 0 else ""
    r = repr(abs(x))                                     # shortest round-trip digits
    mant, _, exp = r.partition("e")
    whole, _, frac = mant.partition(".")
    digits = (whole + frac).lstrip("0")
    e = len(digits) + int(exp or 0) - len(frac)          # value = 0.d1d2… × 10^e
    digits = digits.rstrip("0")
    n = len(digits)
    if 0 <= e - n and e <= 16:                           # 1234e7 -> 12340000000.0
        out = digits + "0" * (e - n) + ".0"
    elif 0 < e <= 16:                                    # 1234e-2 -> 12.34
        out = digits[:e] + "." + digits[e:]
    elif -5 < e <= 0:                                    # 1234e-6 -> 0.001234
        out = "0." + "0" * (-e) + digits
    elif n == 1:                                         # 1e+30, 1e-7
        out = digits + "e" + ("+" if e > 0 else "") + str(e - 1)
    else:                                                # 1.234e+33
        out = digits[0] + "." + digits[1:] + "e" + ("+" if e > 0 else "") + str(e - 1)
    return sign + out


def json_text(s):
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"': out.append('\\"')
        elif ch == "\\": out.append("\\\\")
        elif ch == "\n": out.append("\\n")
        elif ch == "\r": out.append("\\r")
        elif ch == "\t": out.append("\\t")
        elif ch == "\b": out.append("\\b")
        elif ch == "\f": out.append("\\f")
        elif o < 0x20: out.append("\\u%04x" % o)
        else: out.append(ch)
    out.append('"')
    return "".join(out)


def canonical_json(v):
    """Compact JSON, keys in the order given, as serde_json writes the manifest."""
    if v is None: return "null"
    if v is True: return "true"
    if v is False: return "false"
    if isinstance(v, int): return str(v)
    if isinstance(v, float): return json_float(v)
    if isinstance(v, str): return json_text(v)
    if isinstance(v, list): return "[" + ",".join(canonical_json(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ",".join(json_text(k) + ":" + canonical_json(x) for k, x in v.items()) + "}"
    raise TypeError(type(v))


FIELDS = ["format", "algorithm", "bureau", "matter", "matter_name", "department", "period",
          "kind", "ratio_ppm", "key_area_only", "reference_date", "issue_at", "due_date", "seed",
          "seed_source", "rules_hash", "registry", "history", "strata", "selected",
          "exclusions", "inspector_skips", "manifest_hash"]


FIELDS_V2 = ["format", "algorithm", "bureau", "matter", "matter_name", "department", "period",
             "kind", "ratio_ppm", "key_area_only", "reference_date", "issue_at", "drawn_at",
             "due_date", "seed", "seed_source", "rules_hash", "registry", "history",
             "carried_loads", "strata", "classes_without_ratio", "classes_due", "classes_not_due",
             "selected", "substitutes", "exclusions", "inspector_skips", "public_bundle",
             "manifest_hash"]

# suiji-manifest/3 (V2-17): version 2 with the exclusions in a detail file, summarised;
# suiji-manifest/4 (V2-18), /5 (V2-19) and /6 (V2-20) have the same members (only their public
# bundles differ).
SUMMARISED = ("suiji-manifest/3", "suiji-manifest/4", "suiji-manifest/5", "suiji-manifest/6")
FIELDS_V3 = FIELDS_V2[:FIELDS_V2.index("exclusions") + 1] + ["exclusion_summary"] + \
    FIELDS_V2[FIELDS_V2.index("exclusions") + 1:]

# Optional members of a version 2 manifest: only where the draw has them.
OPTIONAL_V2 = ("public_bundle", "carried_loads", "classes_due", "classes_not_due")


def fields_of(m):
    """The manifest's members in order; `public_bundle` (V2-9) only where the draw recorded it
    (its bundle is checked by `suiji verify --bundle`, not here), `carried_loads` (V2-16) only
    where inspectors carried loads in from the period's other draws, `classes_due` and
    `classes_not_due` (V2-14) where it recorded them (`redraw` recomputes them from the rules)."""
    if m["format"] not in ("suiji-manifest/2",) + SUMMARISED:
        return FIELDS
    order = FIELDS_V3 if m["format"] in SUMMARISED else FIELDS_V2
    return [f for f in order if f not in OPTIONAL_V2 or f in m]


def decimal_text(x):
    """A probability as suiji-manifest/2 writes it: the shortest round-trip digits, positional,
    without a trailing point (Rust's `Display` for f64): 1, 0.05, 0.0000001."""
    if x == 0.0:
        return "0"
    r = repr(abs(x))
    mant, _, exp = r.partition("e")
    whole, _, frac = mant.partition(".")
    digits = (whole + frac).lstrip("0")
    e = len(digits) + int(exp or 0) - len(frac)
    digits = digits.rstrip("0")
    n = len(digits)
    if e >= n:
        out = digits + "0" * (e - n)
    elif e > 0:
        out = digits[:e] + "." + digits[e:]
    else:
        out = "0." + "0" * (-e) + digits
    return ("-" if x < 0 else "") + out


def manifest_hash(m):
    copy = {f: m[f] for f in fields_of(m)}
    copy["manifest_hash"] = ""
    return hashlib.sha256(canonical_json(copy).encode("utf-8")).hexdigest()


def prefix_of(version, seed, matter, period, stratum, purpose):
    """P of §4.1 with the version string of the draw (`suiji-draw/2` hashes its own)."""
    d = hashlib.sha256(enc(version.encode()) + enc(purpose.encode()) + enc(seed)
                       + enc(matter.encode()) + enc(period.encode())
                       + enc(stratum.encode())).digest()
    return d + bytes(32)


# ---- §16: the archived inputs ----

def snapshot(db, h):
    row = db.execute("SELECT data, size FROM snapshots WHERE hash = ?", (h,)).fetchone()
    if row is None:
        raise LookupError(f"snapshot {h} is not archived")
    if len(row[0]) == 0 and row[1] > 0:
        # Kept as a file beside the database: snapshots/<hash>.csv.
        main = db.execute("PRAGMA database_list").fetchone()[2]
        path = pathlib.Path(main).parent / "snapshots" / f"{h}.csv"
        data = path.read_bytes()
        if len(data) != row[1] or hashlib.sha256(data).hexdigest() != h:
            raise ValueError(f"snapshot {h}: {path} holds {len(data)} bytes that do not hash to it")
        return data
    data = gzip.decompress(row[0])
    if len(data) != row[1]:
        raise ValueError(f"snapshot {h} unpacks to {len(data)} bytes, {row[1]} recorded")
    return data


def rows(data):
    text = data.decode("utf-8")
    r = list(csv.reader(io.StringIO(text, newline="")))
    return r[0], r[1:]


TARGET_COLUMNS = ["id", "name", "category", "district", "address", "key_area", "class",
                  "licence", "status", "last_inspected", "last_result"]
INSPECTOR_COLUMNS = ["id", "name", "department", "certificate", "qualifications", "active",
                     "area", "conflicts"]


def canonical_csv(header, records):
    """The canonical snapshot bytes (§16.2) of a header and records of text cells."""
    def cell(s):
        if any(c in s for c in ',"\r\n'):
            return '"' + s.replace('"', '""') + '"'
        return s
    return "".join(",".join(cell(c) for c in rec) + "\n" for rec in [header] + records).encode()


def targets_of(data):
    header, recs = rows(data)
    if header[:11] != TARGET_COLUMNS:
        raise ValueError("not a canonical target snapshot")
    out = []
    for r in recs:
        t = dict(zip(TARGET_COLUMNS, r[:11]))
        t["extra"] = {k: v for k, v in zip(header[11:], r[11:]) if v != ""}
        t["key_area"] = t["key_area"] == "true"
        out.append(t)
    return header, recs, out


def inspectors_of(data):
    """The inspectors of a canonical snapshot (§16.2): the fixed columns, then the registry's
    other columns by header (`extra`, which the conflict hook may read)."""
    header, recs = rows(data)
    if header[:8] != INSPECTOR_COLUMNS:
        raise ValueError("not a canonical inspector snapshot")
    out = []
    for r in recs:
        i = dict(zip(INSPECTOR_COLUMNS, r[:8]))
        i["extra"] = dict(zip(header[8:], r[8:]))
        i["qualifications"] = i["qualifications"].split(";") if i["qualifications"] else []
        i["conflicts"] = i["conflicts"].split(";") if i["conflicts"] else []
        i["active"] = i["active"] == "true"
        out.append(i)
    return header, recs, out


def unpack_rules(blob):
    """The files of a rules archive (§16.1), in archive order. Version 2 (`suiji-rules/2`) is
    framed alike and also holds the holiday files (`config/holidays/…`)."""
    magic = next((m for m in (b"suiji-rules/1\n", b"suiji-rules/2\n") if blob.startswith(m)), None)
    if magic is None:
        raise ValueError("not a suiji-rules/1 or suiji-rules/2 archive")
    rest, files = blob[len(magic):], {}
    while rest:
        name, rest = rest.split(b"\n", 1)
        length, rest = rest.split(b"\n", 1)
        n = int(length)
        files[name.decode()] = rest[:n]
        if rest[n:n + 1] != b"\n":
            raise ValueError("truncated archive")
        rest = rest[n + 1:]
    return files


def parse_ratio(text):
    """A ratio ("5%", "2.5%", "0.05") in parts per million, exactly."""
    t = text.strip(WS)
    scale = 1_000_000
    for pct in ("%", "％"):
        if t.endswith(pct):
            t, scale = t[:-1].strip(WS), 10_000
            break
    whole, _, frac = t.partition(".")
    frac = frac.rstrip("0")
    places = len(str(scale)) - 1
    if len(frac) > places:
        raise ValueError(f"ratio {text}")
    return int(whole or "0") * scale + int((frac + "0" * places)[:places] or "0")


def parse_share(text):
    """A class ratio (V2-11): "5%" → (ppm, None); "≤ 5%" → (ppm, ppm); "5%–20%" → (low, high)."""
    t = text.strip(WS) if isinstance(text, str) else text
    if not isinstance(t, str):
        return parse_ratio(ratio_text(t)), None
    for sign in ("≤", "<="):
        if t.startswith(sign):
            cap = parse_ratio(t[len(sign):])
            return cap, cap
    for sign in ("≥", ">="):
        if t.startswith(sign):
            return parse_ratio(t[len(sign):]), None
    for dash in ("–", "—", "-", "~", "～"):
        if dash in t:
            low, _, high = t.partition(dash)
            low = low.strip(WS)
            low = low if low.endswith(("%", "％")) else low + "%"
            return parse_ratio(low), parse_ratio(high)
    return parse_ratio(t), None


def share_size(n, share):
    """k of a stratum of n at a class share: ⌈n × low⌉, at most ⌊n × cap⌋ (V2-11)."""
    ppm, cap = share
    k = sample_size(n, ppm)
    return k if cap is None else min(k, n * cap // 1_000_000)


def ratio_text(v):
    """A ratio as written in the rules: a string, or a TOML number written out in full."""
    if isinstance(v, str):
        return v
    import decimal
    return format(decimal.Decimal(repr(v)), "f")


def matter_rules(files, matter_id):
    """The draw's values of one matter (§1.1): its own value, else its department's
    [defaults], else the engine's default."""
    dept_id, _, local = matter_id.partition(".")
    for name, data in files.items():
        if not (name.startswith("rules/") and name.endswith(".toml")):
            continue
        doc = tomllib.loads(data.decode("utf-8"))
        if doc.get("department", {}).get("id") != dept_id:
            continue
        d = doc.get("defaults", {})
        for m in doc.get("matter", []):
            if m.get("id") != local:
                continue
            get = lambda k, default=None: m.get(k, d.get(k, default))
            hooks = dict(d.get("hooks", {}))
            hooks.update(m.get("hooks", {}))
            return {
                "name": get("name"),
                "department": dept_id,
                "categories": get("categories", []),
                "ratio": get("ratio"),
                "stratify_by": get("stratify_by"),
                "class_field": get("class_field"),
                "class_ratios": {k: parse_share(v) for k, v in get("class_ratios", {}).items()},
                "class_frequency": {k: v.strip() for k, v in get("class_frequency", {}).items()},
                "biennial_start": get("biennial_start"),
                "team_size": get("team_size", 2),
                "qualifications": get("qualifications", []),
                "workload_cap": get("workload_cap", 20),
                "cooldown_months": get("cooldown_months"),
                "yearly_cap": get("yearly_cap"),
                "holiday": get("holiday"),
                "eligible": hooks.get("eligible"),
                "weight": hooks.get("weight"),
                "conflict": hooks.get("conflict"),
                "class_hook": hooks.get("class"),
            }
    joint = joint_rules(files, matter_id)
    if joint is not None:
        return joint
    raise LookupError(f"matter {matter_id} is not in the archived rules")


def joint_rules(files, matter_id):
    """A joint plan (V2-10): `[[joint]]` in its lead department's file. Its scope is the union
    of its matters' categories (unless it names its own), its team covers their qualifications
    together, one member at least from each department; from the lead's [defaults] it takes
    only timing and caps."""
    lead, _, local = matter_id.partition(".")
    for name, data in files.items():
        if not (name.startswith("rules/") and name.endswith(".toml")):
            continue
        doc = tomllib.loads(data.decode("utf-8"))
        if doc.get("department", {}).get("id") != lead:
            continue
        d = {k: v for k, v in doc.get("defaults", {}).items()
             if k not in ("qualifications", "categories", "class_field", "class_ratios",
                          "class_frequency", "biennial_start", "hooks")}
        for j in doc.get("joint", []):
            if j.get("id") != local:
                continue
            members = [matter_rules(files, m) for m in j["matters"]]
            get = lambda k, default=None: j.get(k, d.get(k, default))
            departments, cover, categories = [lead], [], []
            for m in members:
                departments += [m["department"]] if m["department"] not in departments else []
                cover += [q for q in m["qualifications"] if q not in cover]
                categories += [c for c in m["categories"] if c not in categories]
            needs = len(cover) + (len(departments) if len(departments) > 1 else 0)
            hooks = j.get("hooks", {})
            return {
                "name": j["name"],
                "department": lead,
                "categories": j.get("categories", categories),
                "ratio": get("ratio"),
                "stratify_by": get("stratify_by"),
                "class_field": j.get("class_field"),
                "class_ratios": {k: parse_share(v) for k, v in j.get("class_ratios", {}).items()},
                "class_frequency": {k: v.strip() for k, v in j.get("class_frequency", {}).items()},
                "biennial_start": j.get("biennial_start"),
                "team_size": j.get("team_size", max(d.get("team_size", 2), needs)),
                "qualifications": j.get("qualifications", []),
                "cover": cover,
                "departments": departments,
                "workload_cap": get("workload_cap", 20),
                "cooldown_months": get("cooldown_months"),
                "yearly_cap": get("yearly_cap"),
                "holiday": get("holiday"),
                "eligible": hooks.get("eligible"),
                "weight": hooks.get("weight"),
                "conflict": hooks.get("conflict"),
                "class_hook": hooks.get("class"),
            }
    return None


# ---- §1.1: from the registry to the strata ----

def field(t, name):
    """A target field as strata and class ratios read it (§1.1, step 3)."""
    if name in ("district", "category"): return t[name]
    if name == "class": return t["class"]
    if name == "key_area": return "重点区域" if t["key_area"] else "一般区域"
    if name == "status": return "Active" if t["status"] == "active" else "Deregistered"
    return t["extra"].get(name, "")


def stratum_of(t, m, regular, classes_of):
    """(stratum name, class ratio or None, class or None)."""
    value = field(t, m["stratify_by"]) if m["stratify_by"] else ""
    cls = None
    uses_classes = bool(m["class_ratios"] or m.get("class_frequency")) and regular
    if uses_classes and m.get("class_hook"):
        cls = classes_of(t) or None                    # the class hook's answer (V2-12)
    elif uses_classes:
        f = m["class_field"]
        cls = (t["class"] or None) if f in (None, "class") else (field(t, f) or None)
    if cls is None:
        return value, None, None
    name = f"{value}/class={cls}" if value else f"class={cls}"
    return name, m["class_ratios"].get(cls), cls


# ---- V2-14: a frequency per class ----

CYCLE_MONTHS = {"biennial": 24, "yearly": 12, "half-yearly": 6, "quarterly": 3, "monthly": 1}


def class_cover(m, man):
    """(classes due, classes not due) of a regular draw of a matter with `class_frequency`,
    each sorted by bytes; None otherwise. A class is due when the draw's period starts on the
    first day of one of its cycles, cycles counted in months from January of the matter's
    `biennial_start` (by default year 0, so biennial cycles start in even years)."""
    freq = m.get("class_frequency") or {}
    if not freq or man["kind"] != "regular":
        return None
    start = datetime.date.fromisoformat(man["period"]["start"])
    month = (start.year - (m.get("biennial_start") or 0)) * 12 + start.month - 1
    due = [c for c, f in freq.items() if start.day == 1 and month % CYCLE_MONTHS[f] == 0]
    not_due = [c for c in freq if c not in due]
    return sorted(due, key=str.encode), sorted(not_due, key=str.encode)


def add_months(d, n):
    """Calendar months, clamped to the last day of the month (2023-08-31 + 6 = 2024-02-29)."""
    y, mo = divmod(d.month - 1 + n, 12)
    year, month = d.year + y, mo + 1
    return datetime.date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def last_clean(t, hist):
    reg = None
    if t["last_inspected"] and t["last_result"].strip(WS) in CLEAN_RESULTS:
        reg = datetime.date.fromisoformat(t["last_inspected"])
    h = hist.get("last_clean") if hist else None
    h = datetime.date.fromisoformat(h) if h else None
    return max([d for d in (reg, h) if d is not None], default=None)


def classify(m, man, targets, history, weights_of, classes_of=lambda t: None, hook_says_no=()):
    """Scope, exclusions, strata, history kept: (strata, exclusions, history). An exclusion is
    (target id, reason, detail, stratum); `hook_says_no`: the targets the `eligible` hook
    refused, from the manifest's exclusions or its detail file."""
    regular = man["kind"] == "regular"
    reference = datetime.date.fromisoformat(man["reference_date"])
    base_ppm = man["ratio_ppm"]
    strata, excluded, kept = {}, [], {}
    scope = [t for t in targets if t["category"] in m["categories"]]
    scope.sort(key=lambda t: t["id"].encode())
    cover = class_cover(m, man)
    not_due = set(cover[1]) if cover else set()
    for pos, t in enumerate(scope):
        if man["key_area_only"] and not t["key_area"]:
            continue
        name, ratio, cls = stratum_of(t, m, regular, classes_of)
        if cls in not_due:
            continue                                   # a class this draw does not cover (V2-14)
        ratio = (base_ppm, None) if ratio is None else ratio
        if t["status"] != "active":
            excluded.append((t["id"], "deregistered", "注销/吊销/停业", name))
            continue
        hist = history.get(t["id"])
        if hist is not None:
            kept[t["id"]] = hist
        months = m["cooldown_months"] or 0
        day = last_clean(t, hist)
        if months > 0 and day is not None and add_months(day, months) > reference:
            excluded.append((t["id"], "cooldown", f"{day} 检查未发现问题，{months} 个月内不再抽取", name))
            continue
        if m["yearly_cap"] is not None and hist and hist["inspections_this_year"] >= m["yearly_cap"]:
            times = hist["inspections_this_year"]
            excluded.append((t["id"], "yearly_cap", f"本年已被抽取 {times} 次（上限 {m['yearly_cap']}）", name))
            continue
        if m["eligible"] and t["id"] in hook_says_no:
            excluded.append((t["id"], "eligible_hook", f"{m['eligible']} 返回 false", name))
            continue
        s = strata.setdefault(name, {"ratio": ratio, "units": []})
        s["units"].append((t, weights_of(t), pos))
    excluded.sort(key=lambda e: e[0].encode())
    history_out = [{"target_id": i, "inspections_this_year": h["inspections_this_year"],
                    "last_clean": h.get("last_clean")} for i, h in sorted(kept.items(), key=lambda x: x[0].encode())]
    return strata, excluded, history_out


# ---- V2-17: the exclusion detail file of a suiji-manifest/3, /4 or /5 ----

REASONS = ["deregistered", "cooldown", "yearly_cap", "eligible_hook"]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def detail_csv(excluded):
    """The canonical bytes of exclusions.csv: BOM, header, one line per exclusion, LF."""
    def cell(text):
        if text.startswith(FORMULA_STARTS):
            text = "'" + text
        if any(c in text for c in ',"\r\n'):
            text = '"' + text.replace('"', '""') + '"'
        return text
    lines = ["target_id,reason,detail"] + [",".join(cell(x) for x in (i, r, d))
                                           for i, r, d, _ in excluded]
    return ("\ufeff" + "".join(line + "\n" for line in lines)).encode("utf-8")


def exclusion_summary(excluded):
    """The manifest's summary of the exclusions: counts by stratum and reason, the file's hash."""
    counts = {}
    for _, r, _, name in excluded:
        counts[(name, r)] = counts.get((name, r), 0) + 1
    data = detail_csv(excluded)
    return {"file": "exclusions.csv", "sha256": hashlib.sha256(data).hexdigest(),
            "rows": len(excluded),
            "counts": [{"stratum": n, "reason": r, "count": c} for (n, r), c in
                       sorted(counts.items(), key=lambda x: (x[0][0].encode(), REASONS.index(x[0][1])))]}


def hook_refusals(man, out_dir):
    """The targets the `eligible` hook refused: from the manifest's exclusions, or for a
    suiji-manifest/3, /4 or /5 from its detail file in the draw's folder, checked against its hash."""
    summary = man.get("exclusion_summary")
    if summary is None:
        return {e["target_id"] for e in man["exclusions"] if e["reason"] == "eligible_hook"}
    path = pathlib.Path(out_dir) / "draws" / man["matter"] / man["period"]["id"] / summary["file"]
    try:
        data = path.read_bytes()
    except OSError as e:
        raise LookupError(f"the detail file {path} cannot be read: {e}")
    if hashlib.sha256(data).hexdigest() != summary["sha256"]:
        raise ValueError(f"{path} does not hash to the manifest's {summary['sha256']}")
    text = data.decode("utf-8").removeprefix("\ufeff")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    def original(c):
        return c[1:] if c.startswith("'") and c[1:].startswith(FORMULA_STARTS) else c
    return {original(r[0]) for r in rows[1:] if len(r) == 3 and r[1] == "eligible_hook"}


# ---- §6, §7: selection ----

def select(man, m, strata):
    seed = bytes.fromhex(man["seed"])
    v2 = man["algorithm"] == "suiji-draw/2"
    out, info, subs = [], [], []
    for name in sorted(strata, key=str.encode):
        s = strata[name]
        units = s["units"]
        n, k = len(units), share_size(len(units), s["ratio"])
        info.append({"stratum": name, "ratio_ppm": s["ratio"][0], "eligible": n, "k": k})
        if s["ratio"][1] is not None:
            info[-1]["cap_ppm"] = s["ratio"][1]
        p = prefix_of(man["algorithm"], seed, man["matter"], man["period"]["id"], name, "targets")
        keys = [key(p, t["id"]) for t, _, _ in units]
        if m["weight"]:
            lam = inclusion([w for _, w, _ in units], min(k, n))
            def place(i):
                if lam[i] == 1.0: return (0, 0.0)
                if lam[i] == 0.0: return (1, math.inf)
                u = uniform(keys[i])
                return (1, (u / (1.0 - u)) / (lam[i] / (1.0 - lam[i])))
            order = sorted(range(n), key=lambda i: place(i) + (keys[i], units[i][0]["id"].encode(), units[i][2]))
            prob = lambda i: lam[i]
        else:
            order = sorted(range(n), key=lambda i: (keys[i], units[i][0]["id"].encode(), units[i][2]))
            prob = lambda i: 1.0 if k >= n else k / n
        for rank, i in enumerate(order[:k], start=1):
            t = units[i][0]
            p_i = decimal_text(prob(i)) if v2 else prob(i)
            out.append({"rank": rank, "stratum": name, "target_id": t["id"], "target_name": t["name"],
                        "key": keys[i].hex(), "inclusion_probability": p_i, "team": [],
                        "unstaffed": None, "_target": t})
        info[-1]["_after"] = [units[i][0]["id"] for i in order[k:]]
        if v2:
            extra = min(n - k, -(-k // 5) + 2)
            for rank, i in enumerate(order[k:k + extra], start=k + 1):
                subs.append({"stratum": name, "rank": rank, "target_id": units[i][0]["id"],
                             "key": keys[i].hex()})
    return info, out, subs


# ---- §8: teams ----

SKIP_LABELS = [("duplicate", "listed twice"), ("inactive", "inactive"),
               ("other_department", "in another department"),
               ("unqualified", "without a required qualification"),
               ("declared_conflict", "回避"), ("hook_conflict", "回避"),
               ("workload_cap", "at workload cap")]


def unstaffed_reason(members, team_size, skipped):
    head = {0: "no eligible inspector", 1: "only 1 eligible inspector"}.get(
        members, f"only {members} eligible inspectors")
    labels = dict(SKIP_LABELS)
    counts = []
    for label in ["listed twice", "inactive", "in another department",
                  "without a required qualification", "回避", "at workload cap"]:
        c = sum(1 for _, code, _ in skipped if labels[code] == label)
        if c: counts.append(f"{c} {label}")
    return f"{head} (need {team_size}): {', '.join(counts) or 'no other inspector in the registry'}"


def declared(inspector, target):
    for entry in inspector["conflicts"]:
        e = entry.strip(WS)
        if e and (e == target["id"] or e == target["name"] or e in target["name"]):
            return entry
    return None


def glob_names(entry, id_, name):
    """Whether a 回避 entry names a target in suiji-draw/2: exactly, or as a `*` pattern over
    the whole id or the whole name."""
    import re
    e = entry.strip(WS)
    if not e:
        return False
    if "*" in e:
        pattern = ".*".join(re.escape(part) for part in e.split("*"))
        return any(re.fullmatch(pattern, x, re.S) for x in (id_, name))
    return e == id_ or e == name


def pick(p, stream, j, n):
    """A uniform integer in 0..n for step j of a walk (rejection sampling on 64 bits)."""
    limit = (1 << 64) - (1 << 64) % n
    attempt = 0
    while True:
        h = hashlib.sha256(p + struct.pack(">III", stream, j, attempt)).digest()
        x = int.from_bytes(h[:8], "big")
        if x < limit:
            return x % n
        attempt += 1


def teams_v2(man, m, selected, inspectors):
    """suiji-draw/2: random staffing order, a keyed Fisher–Yates walk over the available pool
    (V2-4); a joint plan's needs (qualifications covered together, a member from each
    department) are met first, each by a walk over its holders (stream n + 1)."""
    seed, version = bytes.fromhex(man["seed"]), man["algorithm"]
    matter, period = man["matter"], man["period"]["id"]
    hook_yes = {(s["target_id"], s["inspector_id"]) for s in man["inspector_skips"]
                if s["reason"] == "hook_conflict"}
    departments = m.get("departments", [m["department"]])
    pool, ids = [], set()
    for i in sorted((i for i in inspectors if i["active"] and i["department"] in departments
                     and all(q in i["qualifications"] for q in m["qualifications"])),
                    key=lambda i: i["id"].encode()):
        if i["id"] not in ids:
            ids.add(i["id"])
            pool.append(i)
    needs = [("q", q) for q in m.get("cover", [])]
    if len(departments) > 1:
        needs += [("d", d) for d in departments]
    meets = lambda i, n: n[1] in i["qualifications"] if n[0] == "q" else i["department"] == n[1]
    size, cap = m["team_size"], m["workload_cap"]
    # V2-16: the loads carried in from the period's other draws, as the manifest records them.
    carried = {c["inspector_id"]: c["load"] for c in man.get("carried_loads", [])}
    load = [carried.get(i["id"], 0) for i in pool]
    ps = prefix_of(version, seed, matter, period, "", "staffing")
    order = sorted(range(len(selected)), key=lambda x: (key(ps, selected[x]["target_id"]),
                                                        selected[x]["target_id"].encode(), x))
    skips = []
    for x in order:
        s = selected[x]
        t = s["_target"]
        members, skipped, seen, reason = [], [], set(), None
        if size > 0:
            pw = prefix_of(version, seed, matter, period, t["id"], "walk")
            avail = [c for c in range(len(pool)) if load[c] < cap]

            def walk(stream, over):
                mcount, swaps, j = len(over), {}, 0
                while j < mcount:
                    r = j + pick(pw, stream, j, mcount - j)
                    at_j, at_r = swaps.get(j, j), swaps.get(r, r)
                    swaps[r] = at_j
                    j += 1
                    yield over[at_r]

            def passes(c):
                i = pool[c]
                entry = next((e for e in i["conflicts"] if glob_names(e, t["id"], t["name"])), None)
                if entry is not None:
                    skipped.append((i["id"], "declared_conflict", f"申报回避：{entry}"))
                    return False
                if m["conflict"] and (t["id"], i["id"]) in hook_yes:
                    skipped.append((i["id"], "hook_conflict", "回避"))
                    return False
                return True

            for n, need in enumerate(needs):
                if any(meets(pool[c], need) for c in members):
                    continue
                if len(members) == size:
                    reason = "cannot cover"
                    break
                found = None
                for c in walk(n + 1, [a for a in avail if meets(pool[a], need)]):
                    if c in seen:
                        continue
                    seen.add(c)
                    if passes(c):
                        found = c
                        break
                if found is None:
                    reason = ("need", need)
                    break
                members.append(found)
            if reason is None:
                for c in walk(0, avail):
                    if len(members) == size:
                        break
                    if c in seen:
                        continue
                    seen.add(c)
                    if passes(c):
                        members.append(c)
                if len(members) < size:
                    reason = "too few"
            if reason is None:
                for c in members:
                    load[c] += 1
                s["team"] = [pool[c]["id"] for c in members]
            else:
                s["unstaffed"] = unstaffed_v2(reason, members, size, skipped, pool, load, cap, needs)
        skips += [{"target_id": t["id"], "inspector_id": i, "reason": r, "detail": d}
                  for i, r, d in skipped]
    return skips


def unstaffed_v2(reason, members, size, skipped, pool, load, cap, needs):
    """Why a target went unstaffed (V2-4.4), worded as the engine words it."""
    at_cap = sum(1 for x in load if x >= cap)
    parts = [f"{n} {label}" for n, label in ((len(skipped), "回避"), (at_cap, "at workload cap")) if n]
    tail = ", ".join(parts) or "no other inspector in the pool"
    label = lambda n: n[1] if n[0] == "q" else f"部门 {n[1]}"
    meets = lambda i, n: n[1] in i["qualifications"] if n[0] == "q" else i["department"] == n[1]
    if reason == "cannot cover":
        open_ = [label(n) for n in needs if not any(meets(pool[c], n) for c in members)]
        return f"a team of {size} cannot cover {'、'.join(open_)}"
    if reason != "too few":
        return f"no eligible inspector holds {label(reason[1])} (need {size}): {tail}"
    head = {0: "no eligible inspector", 1: "only 1 eligible inspector"}.get(
        len(members), f"only {len(members)} eligible inspectors")
    return f"{head} (need {size}): {tail}"


def teams(man, m, selected, inspectors):
    seed = bytes.fromhex(man["seed"])
    hook_yes = {(s["target_id"], s["inspector_id"]) for s in man["inspector_skips"]
                if s["reason"] == "hook_conflict"}
    pool = [i for i in inspectors if i["active"] and i["department"] == m["department"]
            and all(q in i["qualifications"] for q in m["qualifications"])]
    owner, load = {}, {}
    for pos, i in enumerate(pool):
        owner.setdefault(i["id"], pos)
    skips = []
    size, cap = m["team_size"], m["workload_cap"]
    for s in selected:
        t = s["_target"]
        members, skipped = [], []
        if size > 0:
            p = prefix(seed, man["matter"], man["period"]["id"], t["id"], "team")
            order = sorted(range(len(pool)), key=lambda j: (key(p, pool[j]["id"]), pool[j]["id"].encode(), j))
            for j in order:
                if len(members) >= size:
                    break
                i = pool[j]
                entry = declared(i, t)
                if any(pool[x]["id"] == i["id"] for x in members):
                    skipped.append((i["id"], "duplicate", "listed twice"))
                elif entry is not None:
                    skipped.append((i["id"], "declared_conflict", f"申报回避：{entry}"))
                elif m["conflict"] and (t["id"], i["id"]) in hook_yes:
                    skipped.append((i["id"], "hook_conflict", "回避"))
                elif load.get(owner[i["id"]], 0) >= cap:
                    skipped.append((i["id"], "workload_cap", f"本期已承担 {load.get(owner[i['id']], 0)} 户"))
                else:
                    members.append(j)
        if len(members) < size:
            s["unstaffed"] = unstaffed_reason(len(members), size, skipped)
        else:
            for j in members:
                load[owner[pool[j]["id"]]] = load.get(owner[pool[j]["id"]], 0) + 1
            s["team"] = [pool[j]["id"] for j in members]
        skips += [{"target_id": t["id"], "inspector_id": i, "reason": r, "detail": d}
                  for i, r, d in skipped]
    return skips


# ---- a whole draw ----

def weights_from(spec, m):
    """The weight of each target: 1 without a weight hook; with one, from --weights."""
    if not m["weight"]:
        return lambda t: 1.0
    if spec is None:
        raise ValueError(f"the matter has a weight hook ({m['weight']}): give its weights with --weights")
    hook = spec.get(m["weight"], spec)
    if "by_id" in hook:
        return lambda t: float(hook["by_id"][t["id"]])
    f, table, default = hook["field"], hook["values"], hook.get("default", 1)
    return lambda t: float(table.get(field(t, f) or "", default))


def classes_from(spec, m):
    """The class of each target when the matter's class ratios read a `class` hook (V2-12),
    from --classes: {"<hook>": {"by_id": {id: class}}} or {"<hook>": {"field": f, "values":
    {value: class}, "default": class}}; a target without one has no class."""
    if not m.get("class_hook"):
        return lambda t: None
    if spec is None:
        raise ValueError(f"the matter has a class hook ({m['class_hook']}): give its classes with --classes")
    hook = spec.get(m["class_hook"], spec)
    if "by_id" in hook:
        return lambda t: hook["by_id"].get(t["id"])
    f, table, default = hook["field"], hook["values"], hook.get("default")
    return lambda t: table.get(field(t, f) or "", default)


def redraw(db, man, spec, class_spec=None, out_dir="out"):
    """The manifest this program computes for a recorded manifest's inputs."""
    tdata = snapshot(db, man["registry"]["targets_snapshot"])
    idata = snapshot(db, man["registry"]["inspectors_snapshot"])
    rblob = snapshot(db, man["rules_hash"])
    theader, trecs, targets = targets_of(tdata)
    iheader, irecs, inspectors = inspectors_of(idata)
    m = matter_rules(unpack_rules(rblob), man["matter"])
    history = {h["target_id"]: h for h in man["history"]}
    strata, excluded, history_out = classify(m, man, targets, history, weights_from(spec, m),
                                             classes_from(class_spec, m),
                                             hook_refusals(man, out_dir))
    info, selected, subs = select(man, m, strata)
    v2 = man["algorithm"] == "suiji-draw/2"
    skips = (teams_v2 if v2 else teams)(man, m, selected, inspectors)
    out = {f: man[f] for f in fields_of(man)}
    if v2:
        classes = set()
        for st in info:
            name = st["stratum"]
            c = name[len("class="):] if name.startswith("class=") else (
                name.rsplit("/class=", 1)[1] if "/class=" in name else None)
            if c is not None and c not in m["class_ratios"]:
                classes.add(c)
        out["classes_without_ratio"] = sorted(classes, key=str.encode)
        out["substitutes"] = subs
        cover = class_cover(m, man)
        if cover is not None:
            out["classes_due"], out["classes_not_due"] = cover
        else:
            out.pop("classes_due", None)
            out.pop("classes_not_due", None)
    rule = m["holiday"] if man["kind"].startswith("holiday:") else m
    if rule and rule.get("ratio") is not None:
        out["ratio_ppm"] = parse_ratio(ratio_text(rule["ratio"]))
        out["key_area_only"] = rule is not m and bool(rule.get("key_area_only", False))
    out.update({
        "matter_name": m["name"],
        "department": m["department"],
        "rules_hash": hashlib.sha256(rblob).hexdigest(),
        "history": history_out,
        "strata": [{k: v for k, v in s.items() if k != "_after"} for s in info],
        "selected": [{k: v for k, v in s.items() if k != "_target"} for s in selected],
        "exclusions": [{"target_id": i, "reason": r, "detail": d} for i, r, d, _ in excluded],
        "inspector_skips": skips,
    })
    out["registry"] = dict(man["registry"],
                           targets_snapshot=hashlib.sha256(canonical_csv(theader, trecs)).hexdigest(),
                           inspectors_snapshot=hashlib.sha256(canonical_csv(iheader, irecs)).hexdigest(),
                           targets_rows=len(targets), inspectors_rows=len(inspectors))
    if man["format"] in SUMMARISED:
        out["exclusions"], out["exclusion_summary"] = [], exclusion_summary(excluded)
    order = (FIELDS_V3 if man["format"] in SUMMARISED else FIELDS_V2) if v2 else FIELDS
    out = {f: out[f] for f in order if f in out}
    out["manifest_hash"] = manifest_hash(out)
    substitutes = {s["stratum"]: s["_after"] for s in info}
    return out, substitutes


# ---- V2-13: changes after a draw (替补, 人员调整, 不在范围) ----

def recorded_changes(db, draw_id):
    """The draw's changes in the order they were made (none in a database without the table)."""
    try:
        return db.execute("SELECT id, kind, cause, target_id, inspector_id, replacement "
                          "FROM draw_changes WHERE draw_id = ? ORDER BY id", (draw_id,)).fetchall()
    except sqlite3.OperationalError:
        return []


def check_changes(db, man, changes, order):
    """Replays the changes over the manifest (V2-13): each substitute must be the next unused one
    of its stratum in rank order, each replacement inspector the first of the target's ranking
    (purpose `team`) who passes V2-13.3's checks. Check 3 counts the manifest's `carried_loads`
    for a change of rule 1 (its audit entry names no `rule`) and, for a change of rule 2 in a
    version-2 draw, the loads of the period's other draws as of the change's audit entry (V2-16
    item 5). The `conflict` hook is not run here: when the
    matter has one, inspectors before the recorded replacement who pass every other check are
    taken as the hook's 回避 and listed (`notes`), as the draw's own hook answers are taken from
    its skips. Returns (problems, notes)."""
    problems, notes = [], []
    if not changes:
        return problems, notes
    _, _, targets = targets_of(snapshot(db, man["registry"]["targets_snapshot"]))
    _, _, inspectors = inspectors_of(snapshot(db, man["registry"]["inspectors_snapshot"]))
    m = matter_rules(unpack_rules(snapshot(db, man["rules_hash"])), man["matter"])
    names = {t["id"]: t["name"] for t in targets}
    by_id = {}
    for i in inspectors:
        by_id.setdefault(i["id"], i)
    v1 = man["algorithm"] == VERSION
    departments = m.get("departments", [m["department"]])
    carried = {c["inspector_id"]: c["load"] for c in man.get("carried_loads", [])}
    subs = man.get("substitutes")
    visits = [{"target": s["target_id"], "stratum": s["stratum"], "team": list(s["team"]),
               "replaced": False} for s in man["selected"]]
    used, unavailable, removed = set(), set(), {}

    def standing(target):
        for v in reversed(visits):
            if v["target"] == target:
                return v if v["replaced"] is False else "already replaced"
        if any(s["target_id"] == target for s in subs or []):
            return "a substitute not taken in"
        return "not in this draw"

    def declares(i, tid):
        name = names.get(tid, "")
        if v1:
            return declared(i, {"id": tid, "name": name}) is not None
        return any(glob_names(e, tid, name) for e in i["conflicts"])

    def candidates(v, out, carried):
        """The inspectors passing every check but the hook, in the target's ranking order."""
        p = prefix_of(man["algorithm"], bytes.fromhex(man["seed"]), man["matter"],
                      man["period"]["id"], v["target"], "team")
        ranked = sorted(inspectors, key=lambda i: (key(p, i["id"]), i["id"].encode()))
        load = {}
        for w in visits:
            if w["replaced"] is False:
                for x in w["team"]:
                    load[x] = load.get(x, 0) + 1
        rest = [by_id[x] for x in v["team"] if x != out and x in by_id]
        gone = removed.get(v["target"], set())
        for i in ranked:
            team = rest + [i]
            if (i["id"] == out or i["id"] in v["team"] or i["id"] in gone
                    or i["id"] in unavailable or not i["active"]
                    or i["department"] not in departments
                    or not all(q in i["qualifications"] for q in m["qualifications"])
                    or load.get(i["id"], 0) + carried.get(i["id"], 0) >= m["workload_cap"]
                    or not all(any(q in x["qualifications"] for x in team) for q in m.get("cover", []))
                    or (len(departments) > 1
                        and not all(any(x["department"] == d for x in team) for d in departments))
                    or declares(i, v["target"])):
                continue
            yield i["id"]

    for cid, kind, cause, target, out, given in changes:
        label = f"change #{cid} ({kind} {target})"
        v = standing(target)
        if isinstance(v, str):
            problems.append(f"{label}: target {target} is {v}")
            continue
        if kind == "target":
            if given is None:
                v["replaced"] = None
                continue
            if subs is None:
                problems.append(f"{label}: {man['format']} lists no substitutes")
                continue
            order = sorted((s for s in subs if s["stratum"] == v["stratum"]), key=lambda s: s["rank"])
            want = next((s for s in order if s["target_id"] not in used), None)
            if want is None:
                problems.append(f"{label}: stratum {v['stratum']!r} has no substitute left")
                continue
            if want["target_id"] != given:
                problems.append(f"{label}: the next substitute of stratum {v['stratum']!r} in rank "
                                f"order is {want['target_id']} (rank {want['rank']}), not {given}")
            used.add(want["target_id"])
            v["replaced"] = want["target_id"]
            visits.append({"target": want["target_id"], "stratum": v["stratum"],
                           "team": list(v["team"]), "replaced": False})
            continue
        if out not in v["team"]:
            problems.append(f"{label}: inspector {out} is not on the team of {target}")
            continue
        at = order[2].get(cid)
        if order[3].get(cid, 1) >= 2 and at is not None and man["algorithm"] == "suiji-draw/2":
            others = loads_as_of(db, man, order, at, None)
        else:
            others = carried
        eligible = list(candidates(v, out, others))
        if given not in eligible:
            first = eligible[0] if eligible else "nobody (no eligible inspector is left)"
            problems.append(f"{label}: the next eligible inspector for {target} is {first}, not {given}")
            continue
        skipped = eligible[:eligible.index(given)]
        if skipped and not m["conflict"]:
            problems.append(f"{label}: the next eligible inspector for {target} is {skipped[0]}, not {given}")
        elif skipped:
            notes.append(f"{label}: {', '.join(skipped)} taken as 回避 by the conflict hook "
                         f"({m['conflict']}), which this program does not run")
        v["team"][v["team"].index(out)] = given
        if cause != "conflict":
            unavailable.add(out)
        removed.setdefault(target, set()).add(out)
    return problems, notes


# ---- V2-16: the loads a draw carried in, as of its issue ----

def audit_order(db):
    """Where each draw and change was recorded in the audit log (its `seq`): draws by id, with
    the draw each redraw superseded; changes by id, with the rule each was decided under (1 when
    its entry names none)."""
    draws, supersedes, changes, rules = {}, {}, {}, {}
    for seq, action, detail in db.execute(
            "SELECT seq, action, detail FROM audit_log "
            "WHERE action IN ('draw.record', 'draw.redraw', 'draw.change') ORDER BY seq"):
        d = json.loads(detail)
        if action == "draw.change":
            changes[d["change_id"]] = seq
            rules[d["change_id"]] = d.get("rule", 1)
        else:
            draws[d["draw_id"]] = seq
            if d.get("supersedes") is not None:
                supersedes[d["supersedes"]] = seq
    return draws, supersedes, changes, rules


def visits_after(man, changes):
    """The standing visits' teams of a draw after `changes` (rows of `recorded_changes`), the
    replacements taken as recorded (V2-13.1: a substitute takes over the team of the visit it
    replaces)."""
    visits = [{"target": s["target_id"], "team": list(s["team"]), "standing": True}
              for s in man["selected"]]
    for _, kind, _, target, out, given in changes:
        v = next((v for v in reversed(visits) if v["target"] == target and v["standing"]), None)
        if v is None:
            continue
        if kind == "target":
            v["standing"] = False
            if given is not None:
                visits.append({"target": given, "team": list(v["team"]), "standing": True})
        elif out in v["team"]:
            v["team"][v["team"].index(out)] = given
    return [v["team"] for v in visits if v["standing"]]


def carried_as_of(db, draw_id, man, order):
    """The loads the draw carries in (V2-16 item 1), recomputed from the database as of its
    issue: the visits, as the changes recorded before it left them, of every draw recorded
    before it and not superseded before it, whose period overlaps its own, other than its own
    matter and period; counted for the inspectors of its team's departments in its inspector
    snapshot. `None` when the audit log does not place the draw."""
    at = order[0].get(draw_id)
    if at is None:
        return None
    m = matter_rules(unpack_rules(snapshot(db, man["rules_hash"])), man["matter"])
    departments = m.get("departments", [m["department"]])
    _, _, inspectors = inspectors_of(snapshot(db, man["registry"]["inspectors_snapshot"]))
    counted = {i["id"] for i in inspectors if i["department"] in departments}
    return loads_as_of(db, man, order, at, counted)


def manifest_text(db, draw_id, column):
    """A draw's manifest: `draws.manifest_json`, or, when that holds the text's length in bytes
    (a manifest is always a JSON object), its pieces in `draw_manifest_pieces` joined in order
    (database schema version 12)."""
    if not (column.isascii() and column.isdigit()):
        return column
    pieces = db.execute("SELECT text FROM draw_manifest_pieces WHERE draw_id = ? ORDER BY piece",
                        (draw_id,))
    text = "".join(p for (p,) in pieces)
    if len(text.encode("utf-8")) != int(column):
        raise SystemExit(f"draw {draw_id}: the pieces of its manifest hold "
                         f"{len(text.encode('utf-8'))} bytes, not the {column} recorded")
    return text


def loads_as_of(db, man, order, at, counted):
    """The loads of the standing visits, as of audit entry `at`, of every draw recorded before
    it and not superseded before it, whose period overlaps `man`'s, other than `man`'s own
    matter and period, each as the changes recorded before `at` left it; counted for the
    inspectors in `counted` (all with None)."""
    draws, supersedes, changes, _ = order
    start, end = man["period"]["start"], man["period"]["end"]
    loads = {}
    for other, text in db.execute("SELECT id, manifest_json FROM draws ORDER BY id"):
        if draws.get(other, at) >= at or supersedes.get(other, at) < at:
            continue
        o = json.loads(manifest_text(db, other, text))
        if (o["matter"], o["period"]["id"]) == (man["matter"], man["period"]["id"]):
            continue
        if o["period"]["end"] < start or end < o["period"]["start"]:
            continue
        before = [c for c in recorded_changes(db, other) if changes.get(c[0], at) < at]
        for team in visits_after(o, before):
            for x in team:
                if counted is None or x in counted:
                    loads[x] = loads.get(x, 0) + 1
    return dict(sorted(loads.items(), key=lambda x: x[0].encode()))


def carried_problem(db, draw_id, man, order):
    """(problem, note): the manifest's `carried_loads` against the database's (V2-16). A
    manifest without the member whose period had earlier draws is a note, not a problem: version-2
    draws made before V2-16 carried nothing (item 6). A `suiji-manifest/3` or /4 one was made after
    V2-16, so without the member it carried none, and is checked so."""
    if man["algorithm"] != "suiji-draw/2":
        return None, None
    want = carried_as_of(db, draw_id, man, order)
    if want is None:
        return None, "not in the audit log: its carried loads are not checked"
    recorded = man.get("carried_loads")
    if recorded is None and man.get("format") in SUMMARISED:
        recorded = []  # made after V2-16: without the member it carried none
    if recorded is None:
        if want:
            return None, (f"no carried_loads recorded, while the period's earlier draws give "
                          f"{len(want)} inspectors loads (a draw made before V2-16 carried none)")
        return None, None
    got = {c["inspector_id"]: c["load"] for c in recorded}
    if got != want:
        return (f"carried_loads: recorded {json.dumps(got, ensure_ascii=False)[:300]}, the "
                f"period's draws as of its issue give {json.dumps(want, ensure_ascii=False)[:300]}"), None
    return None, None


def seed_problem(man):
    """The seed against its recorded source (§3, §15.5), when the source says how it was made."""
    src, seed = man["seed_source"], man["seed"]
    text = None
    if src.startswith('SHA-256 of supplied text "') and src.endswith('"'):
        text = src[len('SHA-256 of supplied text "'):-1]
    if text is not None and seed_from_text(text).hex() != seed:
        return f"seed {seed} is not SHA-256 of the recorded text"
    return None


def differences(man, got):
    diffs = []
    for f in fields_of(man):
        if f in ("selected", "manifest_hash"):
            continue
        if man[f] != got.get(f):
            diffs.append(f"{f}: recorded {json.dumps(man[f], ensure_ascii=False)[:300]}, "
                         f"re-computed {json.dumps(got.get(f), ensure_ascii=False)[:300]}")
    for f in got:
        if f not in man:
            diffs.append(f"{f}: not recorded, re-computed {json.dumps(got[f], ensure_ascii=False)[:300]}")
    a, b = man["selected"], got["selected"]
    for i in range(max(len(a), len(b))):
        x, y = (a[i] if i < len(a) else None), (b[i] if i < len(b) else None)
        if x != y:
            diffs.append(f"selected #{i + 1}: recorded {json.dumps(x, ensure_ascii=False)}, "
                         f"re-computed {json.dumps(y, ensure_ascii=False)}")
    own = manifest_hash(man)
    if own != man["manifest_hash"]:
        diffs.append(f"the recorded manifest hashes to {own}, not to its manifest_hash {man['manifest_hash']}")
    if not diffs and got["manifest_hash"] != man["manifest_hash"]:
        diffs.append(f"manifest_hash: recorded {man['manifest_hash']}, re-computed {got['manifest_hash']}")
    problem = seed_problem(man)
    if problem:
        diffs.append(problem)
    return diffs


def check(argv):
    import argparse
    ap = argparse.ArgumentParser(prog="suiji_draw.py check")
    ap.add_argument("database")
    ap.add_argument("--draw", type=int, action="append", default=[])
    ap.add_argument("--all", action="store_true", help="also draws superseded by a redraw")
    ap.add_argument("--weights", help="JSON: a weight hook's weights (§10.3)")
    ap.add_argument("--classes", help="JSON: a class hook's classes (V2-12)")
    ap.add_argument("--out", help="the output folder holding the draws' folders (a "
                    "suiji-manifest/3's exclusions.csv, V2-17); default: out/ beside the "
                    "database's folder")
    ap.add_argument("--substitutes", type=int, default=0, metavar="N",
                    help="also print each stratum's first N substitutes (§6.1), in order")
    a = ap.parse_args(argv)
    spec = json.load(open(a.weights, encoding="utf-8")) if a.weights else None
    class_spec = json.load(open(a.classes, encoding="utf-8")) if a.classes else None
    db = sqlite3.connect(f"file:{a.database}?mode=ro", uri=True)
    query = "SELECT id, manifest_json FROM draws"
    if not a.all:
        query += " WHERE status = 'active'"
    draws = [(i, j) for i, j in db.execute(query + " ORDER BY id") if not a.draw or i in a.draw]
    bad = unchecked = 0
    order = audit_order(db)
    for draw_id, text in draws:
        man = json.loads(manifest_text(db, draw_id, text))
        label = f"#{draw_id} {man['matter']} {man['period']['id']} ({man['algorithm']})"
        if (man["format"], man["algorithm"]) not in (("suiji-manifest/1", VERSION),
                                                     ("suiji-manifest/2", "suiji-draw/2"),
                                                     ("suiji-manifest/3", "suiji-draw/2"),
                                                     ("suiji-manifest/4", "suiji-draw/2"),
                                                     ("suiji-manifest/5", "suiji-draw/2"),
                                                     ("suiji-manifest/6", "suiji-draw/2")):
            print(f"{label}: not checked: this program implements suiji-draw/1 and suiji-draw/2")
            unchecked += 1
            continue
        notes, changes = [], recorded_changes(db, draw_id)
        try:
            out_dir = a.out or pathlib.Path(a.database).resolve().parent.parent / "out"
            got, substitutes = redraw(db, man, spec, class_spec, out_dir)
            diffs = differences(man, got)
            if not diffs:
                problems, notes = check_changes(db, man, changes, order)
                diffs += problems
            # Said also when the re-run differs: loads not the period's are why it would.
            problem, note = carried_problem(db, draw_id, man, order)
            diffs += [problem] if problem else []
            notes += [note] if note else []
        except (LookupError, ValueError, KeyError) as e:
            # Not re-run, so neither identical nor different: said as such.
            unchecked += 1
            print(f"{label}: not checked: cannot re-run: {e}")
            continue
        if diffs:
            bad += 1
            print(f"{label}: DIFFERS")
            for d in diffs:
                print("  " + d)
        else:
            done = f", {len(changes)} changes checked" if changes else ""
            print(f"{label}: identical {got['manifest_hash']} ({len(got['selected'])} drawn{done})")
            for n in notes:
                print("  note: " + n)
        if a.substitutes > 0 and not diffs:
            for stratum, ids in substitutes.items():
                shown = ", ".join(ids[:a.substitutes]) or "none"
                print(f"  substitutes of stratum {json.dumps(stratum, ensure_ascii=False)}: {shown}")
    print(f"{len(draws) - bad - unchecked} identical, {bad} differ"
          + (f", {unchecked} not checked" if unchecked else ""))
    return 1 if bad or unchecked else 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "vectors":
        vectors()
    elif len(sys.argv) > 2 and sys.argv[1] == "check":
        sys.exit(check(sys.argv[2:]))
    else:
        print(__doc__.strip(), file=sys.stderr)
        sys.exit(2)
