//! The vectors of docs/draw-algorithm.md §15–§17 against the engine: the worked registry of
//! tests/fixtures/spec drawn three times (strata labels, cooldown month ends, a future
//! inspection, yearly caps, defaults, substring 回避, skip records, unstaffed messages, seed
//! sources, canonical snapshots, the rules hash, the whole manifest and its hash), the rules
//! archive example, and the number format of the manifest. Where the document prints a value,
//! the test reads it from the document, so the two cannot drift apart.

mod util;

use std::io::Read as _;

use suiji::draw::{Algorithm, Purpose, Ranker, Seed, Unit, rank_pareto};
use suiji::jobs::issue::seed::{SeedChoice, resolve};
use suiji::jobs::issue::{Frozen, Request, issue};
use util::{Project, repo};

const HEX_SEED: &str = "0000000000000000000000000000000000000000000000000000000000000001";
const WITNESS: &str = "  2025年3月1日 见证人现场号码 0 4 7 1 9 3\n";
const SEED_FILE: &str = "  第 2024031 期 开奖号码 03 11 19 24 28 33 + 07\n";

fn doc() -> String {
    std::fs::read_to_string(repo().join("docs/draw-algorithm.md")).expect("read the document")
}

/// The text of a section of the document: from its heading to the next heading of its level.
fn section(doc: &str, heading: &str) -> String {
    let start = doc
        .find(heading)
        .unwrap_or_else(|| panic!("no section {heading:?}"));
    let level = heading.split(' ').next().unwrap_or("##");
    let rest = &doc[start + heading.len()..];
    let end = rest
        .find(&format!("\n{level} "))
        .or_else(|| rest.find("\n## "))
        .unwrap_or(rest.len());
    rest[..end].to_string()
}

/// The fenced code blocks of a piece of the document, each with a final newline.
fn blocks(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("```") {
        let after = &rest[open + 3..];
        let body_start = after.find('\n').map_or(after.len(), |i| i + 1);
        let body = &after[body_start..];
        let Some(close) = body.find("```") else { break };
        out.push(body[..close].to_string());
        rest = &body[close + 3..];
    }
    out
}

/// The worked project of §17: the shipped holiday files, the fixture's config, rules and
/// registries, the seed file, and its three draws.
fn worked() -> Project {
    let p = Project::shipped().simulation();
    let fixture = repo().join("tests/fixtures/spec");
    let copy = |from: &str, to: &str| {
        let text = std::fs::read_to_string(fixture.join(from)).expect("fixture");
        p.write(to, &text);
    };
    copy("suiji.toml", "config/suiji.toml");
    p.only_rules(&[]);
    copy("rules/zhian.toml", "rules/zhian.toml");
    copy("rules/zhian.rhai", "rules/zhian.rhai");
    copy("registry/targets.csv", "registry/targets.csv");
    copy("registry/inspectors.csv", "registry/inspectors.csv");
    p.write("seed.txt", SEED_FILE);
    let given = |text: &str| resolve(&SeedChoice::Given(text.into())).expect("seed");
    issue_v1(&p, "zhian.hotel", "2024-02", given(HEX_SEED));
    issue_v1(&p, "zhian.hotel", "2024-03", given(WITNESS));
    // What `--seed-from seed.txt` gives, run in the project folder (checked through the binary
    // by `seeds_are_named_as_documented`).
    let from_file = format!("SHA-256 of file seed.txt (\"{}\")", SEED_FILE.trim());
    issue_v1(
        &p,
        "zhian.plain",
        "2024-03",
        (Seed::from_text(SEED_FILE), from_file),
    );
    p
}

/// Issues the `suiji-draw/1` draw of `matter` for `period` in `p`, as `suiji draw` does, with
/// the given seed and its source.
fn issue_v1(p: &Project, matter: &str, period: &str, (seed, seed_source): (Seed, String)) {
    let config = p.path("config/suiji.toml");
    let mut loaded = suiji::rules::load(&config).expect("rules load");
    // The worked draws are version 1's: selected here, with the rules packed as version 1
    // archives them (the fixture's config, which names no algorithm, stays byte for byte).
    loaded.model.config.algorithm = Algorithm::V1;
    loaded.model.rules_archive =
        suiji::rules::archive::pack(&config, &loaded.model.config.rules_dir).expect("pack");
    loaded.model.rules_hash = suiji::rules::archive::hash(&loaded.model.rules_archive);
    let cfg = &loaded.model.config;
    let mut sources = suiji::diag::Sources::default();
    let cal =
        suiji::calendar::Calendar::load(&cfg.holidays_dir, &mut sources, false).expect("calendar");
    let m = loaded.model.matter(matter).expect("matter");
    let draw = suiji::schedule::matter_schedule(m, &cal, 2024, cfg.timezone)
        .expect("schedule")
        .into_iter()
        .find(|s| s.period.id == period)
        .expect("period");
    let known = suiji::registry::Known::from_model(&loaded.model);
    let registry = suiji::registry::load(
        &cfg.registries.targets,
        &cfg.registries.inspectors,
        &cfg.root,
        &known,
    )
    .expect("registry");
    let mut store = suiji::jobs::open_store(&loaded).expect("database");
    let req = Request {
        algorithm: Algorithm::V1,
        draw,
        seed,
        seed_source,
        actor: "test".into(),
        created_at: "2024-03-01T09:00:00+08:00".into(),
        redraw: None,
        replaces: None,
        dry_run: false,
        provisional: false,
        exclusions_in_file: false,
    };
    issue(&loaded, &mut store, &Frozen::new(registry), &req).expect("issued");
}

fn manifest(p: &Project, matter: &str, period: &str) -> serde_json::Value {
    let text = p.read(&format!("out/draws/{matter}/{period}/manifest.json"));
    serde_json::from_str(&text).expect("manifest")
}

/// An archived snapshot, unpacked.
fn snapshot(p: &Project, hash: &str) -> String {
    let data: Vec<u8> = p
        .db()
        .query_row("SELECT data FROM snapshots WHERE hash = ?1", [hash], |r| {
            r.get(0)
        })
        .expect("archived snapshot");
    let mut out = String::new();
    flate2::read::GzDecoder::new(data.as_slice())
        .read_to_string(&mut out)
        .expect("gzip");
    out
}

/// A backquoted 64-hex value that follows `after` in `text`.
fn hash_after(text: &str, after: &str) -> String {
    let at = text
        .find(after)
        .unwrap_or_else(|| panic!("{after:?} is not in the document"));
    let rest = &text[at + after.len()..];
    let open = rest.find('`').expect("a backquoted hash") + 1;
    rest[open..open + 64].to_string()
}

#[test]
fn the_worked_registry_draws_exactly_as_the_document_says() {
    let p = worked();
    let doc = doc();
    let s172 = section(&doc, "### 17.2 ");
    let s173 = section(&doc, "### 17.3 ");
    let s174 = section(&doc, "### 17.4 ");
    let s175 = section(&doc, "### 17.5 ");

    // §17.2: the canonical snapshots, byte for byte, their hashes and the rules hash.
    let feb = manifest(&p, "zhian.hotel", "2024-02");
    let mar = manifest(&p, "zhian.hotel", "2024-03");
    let plain = manifest(&p, "zhian.plain", "2024-03");
    let reg = &mar["registry"];
    let targets = reg["targets_snapshot"].as_str().expect("hash");
    let inspectors = reg["inspectors_snapshot"].as_str().expect("hash");
    let shown = blocks(&s172);
    assert_eq!(snapshot(&p, targets), shown[0]);
    assert_eq!(snapshot(&p, inspectors), shown[1]);
    assert_eq!(
        targets,
        hash_after(&s172, "Targets, 1 315 bytes, SHA-256\n")
    );
    assert_eq!(
        inspectors,
        hash_after(&s172, "Inspectors, 421 bytes, SHA-256\n")
    );
    assert_eq!(shown[0].len(), 1315);
    assert_eq!(shown[1].len(), 421);
    assert_eq!(
        mar["rules_hash"],
        hash_after(&s172, "The rules archive of the project hashes to\n").as_str()
    );

    // §17.4: the whole manifest as written, its hash, the strata's D, the substitutes.
    assert_eq!(
        p.read("out/draws/zhian.hotel/2024-03/manifest.json")
            .trim_end(),
        blocks(&s174)[0].trim_end()
    );
    assert_eq!(
        mar["manifest_hash"],
        hash_after(&s174, "canonical form of §15.2 hashes to\n").as_str()
    );
    let seed = Seed::from_text(WITNESS);
    for label in ["一般区域", "重点区域"] {
        let d = Ranker::new(&seed, "zhian.hotel", "2024-03", label, Purpose::Targets);
        let shown = hash_after(&s174, &format!("`{label}` (`{}`) ", hex::encode(label)));
        assert_eq!(hex::encode(d.params_digest()), shown, "{label}");
    }
    let substitutes = |label: &str, ids: &[(&str, f64)], k: usize| -> Vec<String> {
        let ranker = Ranker::new(&seed, "zhian.hotel", "2024-03", label, Purpose::Targets);
        let units: Vec<Unit> = ids.iter().map(|(i, w)| Unit::weighted(i, *w)).collect();
        let ranked = rank_pareto(&ranker, &units, k).expect("ranked");
        ranked[k..]
            .iter()
            .map(|r| ids[r.index].0.to_string())
            .collect()
    };
    assert_eq!(
        substitutes(
            "一般区域",
            &[("H003", 2.5), ("H005", 1.5), ("H010", 1.0)],
            2
        ),
        ["H010"]
    );
    assert_eq!(
        substitutes("重点区域", &[("H002", 1.5), ("H011", 2.5)], 1),
        ["H002"]
    );
    assert!(s174.contains("`一般区域` H010; `重点区域` H002"));

    // §17.3: 回避 by name part, by id and by a second entry; unstaffed messages.
    assert_eq!(
        feb["manifest_hash"],
        hash_after(&s173, "`manifest_hash`\n").as_str()
    );
    assert_eq!(feb["seed_source"], "supplied hex seed");
    let skips: Vec<String> = feb["inspector_skips"]
        .as_array()
        .expect("skips")
        .iter()
        .map(|s| {
            format!(
                "{} {} {} {}",
                s["target_id"], s["inspector_id"], s["reason"], s["detail"]
            )
            .replace('"', "")
        })
        .collect();
    assert_eq!(
        skips,
        [
            "H009 Z01 workload_cap 本期已承担 1 户",
            "H009 Z02 workload_cap 本期已承担 1 户",
            "H009 Z05 declared_conflict 申报回避：宾馆",
            "H009 Z03 declared_conflict 申报回避：H009",
            "H008 Z02 declared_conflict 申报回避：平安",
            "H001 Z03 workload_cap 本期已承担 1 户",
            "H001 Z05 declared_conflict 申报回避：顺心旅馆",
            "H001 Z02 workload_cap 本期已承担 1 户",
            "H001 Z01 workload_cap 本期已承担 1 户",
        ]
    );
    let unstaffed: Vec<&str> = feb["selected"]
        .as_array()
        .expect("selected")
        .iter()
        .filter_map(|s| s["unstaffed"].as_str())
        .collect();
    assert_eq!(
        unstaffed,
        [
            "only 1 eligible inspector (need 2): 2 回避, 2 at workload cap",
            "only 1 eligible inspector (need 2): 1 回避, 3 at workload cap",
        ]
    );
    for message in &unstaffed {
        assert!(s173.contains(&format!("`{message}`")), "{message}");
    }
    let excluded: Vec<String> = feb["exclusions"]
        .as_array()
        .expect("exclusions")
        .iter()
        .map(|e| format!("{} {}", e["target_id"], e["reason"]).replace('"', ""))
        .collect();
    assert_eq!(
        excluded,
        [
            "H003 cooldown",
            "H004 cooldown",
            "H005 cooldown",
            "H006 cooldown",
            "H007 deregistered"
        ]
    );

    // §17.5: the defaults, and a seed from a file.
    assert_eq!(
        plain["manifest_hash"],
        hash_after(&s175, "`manifest_hash`\n").as_str()
    );
    let source = plain["seed_source"].as_str().expect("source");
    assert_eq!(
        source,
        "SHA-256 of file seed.txt (\"第 2024031 期 开奖号码 03 11 19 24 28 33 + 07\")"
    );
    assert!(s175.contains(&format!("`seed_source` `{source}`")));
    assert_eq!(plain["seed"], Seed::from_text(SEED_FILE).to_hex().as_str());
    assert_eq!(plain["exclusions"].as_array().map(Vec::len), Some(1));
    assert_eq!(plain["history"].as_array().map(Vec::len), Some(7));
    let team = |m: &serde_json::Value, id: &str| -> serde_json::Value {
        m["selected"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["target_id"] == id))
            .map(|s| s["team"].clone())
            .unwrap_or_default()
    };
    assert_eq!(team(&plain, "H011"), serde_json::json!(["Z07", "Z02"]));
    assert_eq!(
        mar["seed_source"],
        "SHA-256 of supplied text \"2025年3月1日 见证人现场号码 0 4 7 1 9 3\""
    );

    // Every draw verifies, and the independent program agrees with all three.
    for (matter, period) in [
        ("zhian.hotel", "2024-02"),
        ("zhian.hotel", "2024-03"),
        ("zhian.plain", "2024-03"),
    ] {
        let out = p.ok(&[
            "verify",
            &format!("out/draws/{matter}/{period}/manifest.json"),
        ]);
        assert!(out.contains("identical"), "{out}");
    }
    p.write(
        "weights.json",
        r#"{"by_class": {"field": "class", "values": {"D": 4, "C": 2.5, "B": 1.5}, "default": 1}}"#,
    );
    let out = std::process::Command::new("python3")
        .current_dir(p.root())
        .arg(repo().join("docs/reference/suiji_draw.py"))
        .args(["check", "data/suiji.sqlite3", "--weights", "weights.json"])
        .args(["--substitutes", "3"])
        .output()
        .expect("python3 is needed for this test (.ci/run installs it)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.ends_with("3 identical, 0 differ\n"), "{text}");
    assert!(
        text.contains(
            "zhian.hotel 2024-03 (suiji-draw/1): identical bcf8a70e76adac605cdc5fc0e190fcf5129a2c5647e6b50f30f029aae24d409e (3 drawn)\n  \
             substitutes of stratum \"一般区域\": H010\n  substitutes of stratum \"重点区域\": H002\n"
        ),
        "{text}"
    );
}

#[test]
fn seeds_are_named_as_documented() {
    let p = worked();
    let dry = |seed: &[&str]| -> String {
        let mut args = vec!["draw", "zhian.plain", "--period", "2024-04", "--dry-run"];
        args.extend_from_slice(seed);
        p.ok(&args)
    };
    assert!(dry(&[]).contains(" (os), algorithm "));
    let hex = format!("  {}\n", "AB".repeat(32));
    let out = dry(&["--seed", &hex]);
    assert!(
        out.contains(&format!("seed {} (supplied hex seed)", "ab".repeat(32))),
        "{out}"
    );
    let out = dry(&["--seed", WITNESS]);
    assert!(
        out.contains("(SHA-256 of supplied text \"2025年3月1日 见证人现场号码 0 4 7 1 9 3\")"),
        "{out}"
    );
    let out = dry(&["--seed-from", "seed.txt"]);
    let source = format!("SHA-256 of file seed.txt (\"{}\")", SEED_FILE.trim());
    assert!(
        out.contains(&format!(
            "seed {} ({source})",
            Seed::from_text(SEED_FILE).to_hex()
        )),
        "{out}"
    );
}

#[test]
fn the_rules_archive_example_packs_to_the_documented_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |rel: &str, text: &str| {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    };
    write("etc/engine.toml", "[bureau]\nname = \"示例\"\n");
    write("rules/a.toml", "x = 1\n");
    write("rules/b.rhai", "fn f(t, c) { true }\n");
    write("rules/notes.txt", "not archived\n");
    write("rules/sub/c.toml", "y = 2\n");
    let packed = suiji::rules::archive::pack(
        &dir.path().join("etc/engine.toml"),
        &dir.path().join("rules"),
    )
    .expect("pack");
    let s161 = section(&doc(), "### 16.1 ");
    let shown = blocks(&s161)[1].trim_end().replace("\\n", "\n");
    assert_eq!(String::from_utf8_lossy(&packed), shown);
    assert_eq!(
        suiji::rules::archive::hash(&packed),
        hash_after(&s161, "SHA-256: ")
    );
}

#[test]
fn manifest_numbers_are_written_as_documented() {
    let cases: [(f64, &str); 13] = [
        (1.0, "1.0"),
        (0.75, "0.75"),
        (4.0 / 11.0, "0.36363636363636365"),
        (123456789.0, "123456789.0"),
        (12.5, "12.5"),
        (8.828e-5, "0.00008828"),
        (1e-5, "0.00001"),
        (1e-7, "1e-7"),
        (1.5e-7, "1.5e-7"),
        (5e-324, "5e-324"),
        (1e16, "1e+16"),
        (2.5e16, "2.5e+16"),
        (0.0, "0.0"),
    ];
    let s152 = section(&doc(), "### 15.2 ");
    for (value, text) in cases {
        assert_eq!(serde_json::to_string(&value).expect("number"), text);
        assert!(
            s152.contains(&format!("`{text}`")),
            "{text} is not in §15.2"
        );
    }
}

#[test]
fn stratum_labels_of_every_field_are_documented() {
    let s11 = section(&doc(), "### 1.1 ");
    for label in ["`重点区域`", "`一般区域`", "`Active`", "`Deregistered`"] {
        assert!(s11.contains(label), "{label}");
    }
    // The labels a key-area stratification gives, through the binary.
    let p = worked();
    let m = manifest(&p, "zhian.hotel", "2024-03");
    let labels: Vec<&str> = m["strata"]
        .as_array()
        .expect("strata")
        .iter()
        .filter_map(|s| s["stratum"].as_str())
        .collect();
    assert_eq!(labels, ["一般区域", "重点区域"]);
}
