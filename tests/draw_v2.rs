//! `suiji-draw/2` through the binary: a project that draws with it records `suiji-manifest/2`
//! (no floats in the hashed bytes, `drawn_at`, substitutes) over a `suiji-rules/2` archive (the
//! holiday files included), and `verify` re-runs it identically; version-1 draws keep verifying.

mod util;

use util::{Project, run};

const DRAW: &[&str] = &[
    "draw",
    "zhian.hotel",
    "--period",
    "2023-H1",
    "--seed",
    "demo",
];
const MANIFEST: &str = "out/draws/zhian.hotel/2023-H1/manifest.json";
/// Moves a project's new draws to `algorithm`.
fn choose(p: &Project, algorithm: &str) {
    let text = p.read("config/suiji.toml");
    p.write(
        "config/suiji.toml",
        &format!("{text}\n[draw]\nalgorithm = \"{algorithm}\"\n"),
    );
}

/// The shipped project with new draws on `suiji-draw/2`.
fn version_2() -> Project {
    let p = Project::shipped().simulation();
    choose(&p, "suiji-draw/2");
    p
}

fn manifest(p: &Project) -> serde_json::Value {
    serde_json::from_str(&p.read(MANIFEST)).expect("manifest is JSON")
}

#[test]
fn a_version_2_draw_records_manifest_2_and_verifies_identical() {
    let p = version_2();
    p.ok(DRAW);
    let m = manifest(&p);
    assert_eq!(m["format"], "suiji-manifest/2");
    assert_eq!(m["algorithm"], "suiji-draw/2");
    let drawn_at = m["drawn_at"].as_str().expect("drawn_at");
    assert!(drawn_at.len() >= 19 && drawn_at.contains('T'), "{drawn_at}");
    assert_eq!(m["issue_at"], "2023-01-03T09:00");
    let selected = m["selected"].as_array().expect("selected");
    assert!(!selected.is_empty());
    for s in selected {
        let p = s["inclusion_probability"]
            .as_str()
            .expect("a decimal string");
        assert!(
            !p.contains('e') && p.parse::<f64>().is_ok_and(|x| x > 0.0 && x <= 1.0),
            "{p}"
        );
    }
    let substitutes = m["substitutes"].as_array().expect("substitutes");
    assert!(!substitutes.is_empty());
    assert!(m["classes_without_ratio"].is_array());
    // No floating-point number anywhere in the manifest.
    let text = p.read(MANIFEST);
    let value: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert!(!has_float(&value), "a float in a suiji-manifest/2");
    let (code, out, err) = run(p.suiji(&["verify", MANIFEST]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.starts_with("identical"), "{out}");
}

fn has_float(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Number(n) => n.is_f64(),
        serde_json::Value::Array(a) => a.iter().any(has_float),
        serde_json::Value::Object(o) => o.values().any(has_float),
        _ => false,
    }
}

/// A project without `[draw]` keeps drawing with version 1; after it moves to version 2, draws
/// of both versions verify identical.
#[test]
fn a_version_1_draw_still_verifies_after_the_project_moves_to_version_2() {
    let p = Project::shipped().simulation();
    p.ok(DRAW);
    let old = p.read(MANIFEST);
    assert!(old.contains("\"format\":\"suiji-manifest/1\"") || old.contains("suiji-manifest/1"));
    p.write("v1.json", &old);
    choose(&p, "suiji-draw/2");
    p.ok(&[
        "draw",
        "zhian.hotel",
        "--period",
        "2023-H2",
        "--seed",
        "demo",
    ]);
    for manifest in ["v1.json", "out/draws/zhian.hotel/2023-H2/manifest.json"] {
        let (code, out, err) = run(p.suiji(&["verify", manifest]));
        assert_eq!(code, 0, "{manifest}: {out}\n{err}");
        assert!(out.starts_with("identical"), "{manifest}: {out}");
    }
}

/// Under version 2 the holiday files are part of the rules: editing one changes the rules hash.
#[test]
fn holiday_files_are_in_the_version_2_rules_hash() {
    let hash = |p: &Project| {
        let out = p.ok(&["check"]);
        out.split("; rules ")
            .nth(1)
            .map(|s| s.trim().chars().take(12).collect::<String>())
            .unwrap_or_default()
    };
    let p = version_2();
    let before = hash(&p);
    let text = p.read("config/holidays/2023.toml");
    p.write(
        "config/holidays/2023.toml",
        &format!("{text}\n# 补充说明\n"),
    );
    assert_ne!(
        before,
        hash(&p),
        "a holiday edit must change the rules hash"
    );
    let v1 = Project::shipped().simulation();
    let before = hash(&v1);
    let text = v1.read("config/holidays/2023.toml");
    v1.write(
        "config/holidays/2023.toml",
        &format!("{text}\n# 补充说明\n"),
    );
    assert_eq!(
        before,
        hash(&v1),
        "version 1's archive leaves the holidays out"
    );
}

#[test]
fn an_unknown_algorithm_is_an_error_at_its_place() {
    let p = Project::shipped().simulation();
    choose(&p, "suiji-draw/9");
    let (code, out, err) = run(p.suiji(&["check"]));
    assert_ne!(code, 0, "{out}");
    assert!(
        err.contains("unknown draw algorithm `suiji-draw/9`"),
        "{err}"
    );
    assert!(err.contains("suiji.toml"), "{err}");
}
