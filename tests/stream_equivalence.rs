//! A streaming draw over the registry file gives exactly the manifest `engine::run` gives over the
//! loaded registry: the same strata, selection, keys, ranks, inclusion probabilities, teams,
//! skips, history and (below the listing limit) exclusions — for the shipped matters, hand-made
//! hooks, history, awkward CSV and any number of threads.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::NaiveDate;
use suiji::draw::Seed;
use suiji::draw::engine::{self, DrawFailure, DrawInput, History};
use suiji::draw::manifest::{HistoryEntry, Manifest, RegistryInfo};
use suiji::draw::stream::{self, StreamError, StreamInput, StreamOptions};
use suiji::registry::generate::{write_inspectors, write_targets};
use suiji::registry::types::Registry;
use suiji::registry::{Known, load};
use suiji::rules::Loaded;
use suiji::rules::model::{Matter, Ratio};
use suiji::schedule::{DrawKind, Period};
use suiji::script::{Hook, HookKind, Script};

fn rules() -> Loaded {
    match suiji::rules::load(Path::new("config/suiji.toml")) {
        Ok(l) => l,
        Err(e) => panic!("shipped rules do not load:\n{}", e.render()),
    }
}

struct Files {
    _dir: tempfile::TempDir,
    targets: PathBuf,
    registry: Registry,
}

fn generated(loaded: &Loaded, n: u64, inspectors: u64, seed: u64) -> Files {
    let dir = tempfile::tempdir().expect("tempdir");
    let targets = dir.path().join("targets.csv");
    let people = dir.path().join("inspectors.csv");
    write_targets(&targets, n, seed).expect("write targets");
    // Events get a date (活动日期, read by the shipped `event_in_period` hook); other rows none.
    let text = std::fs::read_to_string(&targets).expect("read targets");
    let mut dated = String::with_capacity(text.len() + text.len() / 8);
    for (i, line) in text.lines().enumerate() {
        dated.push_str(line);
        if i == 0 {
            dated.push_str(",活动日期");
        } else if line.contains(",fireworks_event,") || line.contains(",mass_event,") {
            dated.push_str(&format!(",2024-{:02}-{:02}", 1 + i % 12, 1 + i % 28));
        } else {
            dated.push(',');
        }
        dated.push('\n');
    }
    std::fs::write(&targets, dated).expect("write targets");
    write_inspectors(&people, inspectors, seed).expect("write inspectors");
    let registry = load(
        std::slice::from_ref(&targets),
        &[people],
        dir.path(),
        &Known::from_model(&loaded.model),
    )
    .unwrap_or_else(|d| panic!("generated registry does not load: {d:?}"));
    Files {
        _dir: dir,
        targets,
        registry,
    }
}

fn from_text(loaded: &Loaded, text: &[u8], inspectors: u64) -> Files {
    let dir = tempfile::tempdir().expect("tempdir");
    let targets = dir.path().join("targets.csv");
    let people = dir.path().join("inspectors.csv");
    std::fs::write(&targets, text).expect("write targets");
    write_inspectors(&people, inspectors, 3).expect("write inspectors");
    let registry = load(
        std::slice::from_ref(&targets),
        &[people],
        dir.path(),
        &Known::from_model(&loaded.model),
    )
    .unwrap_or_else(|d| panic!("registry does not load: {d:?}"));
    Files {
        _dir: dir,
        targets,
        registry,
    }
}

struct Case<'a> {
    matter: &'a Matter,
    period: Period,
    kind: DrawKind,
    ratio: Ratio,
    key_area_only: bool,
    seed: Seed,
    history: &'a History,
}

fn period(id: &str, start: (i32, u32, u32), end: (i32, u32, u32)) -> Period {
    let d = |(y, m, d): (i32, u32, u32)| NaiveDate::from_ymd_opt(y, m, d).expect("date");
    Period {
        id: id.into(),
        start: d(start),
        end: d(end),
    }
}

fn input<'a>(loaded: &'a Loaded, files: &'a Files, case: &'a Case<'a>) -> DrawInput<'a> {
    DrawInput {
        bureau: &loaded.model.config.bureau.name,
        matter: case.matter,
        rules_hash: &loaded.model.rules_hash,
        period: &case.period,
        kind: case.kind,
        ratio: case.ratio,
        key_area_only: case.key_area_only,
        reference_date: case.period.start + chrono::Days::new(1),
        issue_at: format!("{}T09:00", case.period.start),
        due: case.period.end,
        seed: case.seed,
        seed_source: "test",
        targets: &files.registry.targets,
        inspectors: &files.registry.inspectors,
        registry: RegistryInfo::default(),
        history: case.history,
    }
}

fn streamed(
    loaded: &Loaded,
    files: &Files,
    case: &Case<'_>,
    threads: usize,
    list: usize,
) -> Result<stream::Streamed, StreamError> {
    let known = Known::from_model(&loaded.model);
    let mut draw = input(loaded, files, case);
    draw.targets = &[];
    let s = StreamInput {
        draw,
        targets_file: &files.targets,
        known: &known,
    };
    let opts = StreamOptions {
        threads,
        list_exclusions_up_to: list,
        chunk_bytes: 64 * 1024,
        on_phase: None,
    };
    stream::run(&s, &loaded.sandbox, &opts)
}

/// Engine and stream agree, for 1–3 threads, with the exclusions listed; and with the list
/// summarised, on everything else (and on the counts).
fn same(loaded: &Loaded, files: &Files, case: &Case<'_>) -> Manifest {
    let want = engine::run(&input(loaded, files, case), &loaded.sandbox)
        .unwrap_or_else(|e| panic!("engine failed for {}: {e}", case.matter.id));
    for threads in [1, 2, 3] {
        let got = streamed(loaded, files, case, threads, usize::MAX)
            .unwrap_or_else(|e| panic!("stream failed for {}: {e:?}", case.matter.id));
        assert!(got.exclusions_listed);
        if got.manifest != want {
            let diffs = want.differences(&got.manifest);
            panic!(
                "{} {} ({threads} threads): {diffs:#?}\nhistory {:?} / {:?}",
                case.matter.id,
                case.period.id,
                want.history.len(),
                got.manifest.history.len()
            );
        }
        assert_eq!(got.manifest.manifest_hash, want.manifest_hash);
        assert_eq!(got.stats.drawn as usize, want.selected.len());
    }
    let summary = streamed(loaded, files, case, 2, 0).expect("stream");
    let mut a = summary.manifest.clone();
    let mut b = want.clone();
    a.exclusions.clear();
    b.exclusions.clear();
    a.manifest_hash.clear();
    b.manifest_hash.clear();
    assert_eq!(a, b);
    let total: u64 = summary.exclusion_counts.iter().map(|c| c.count).sum();
    assert_eq!(total as usize, want.exclusions.len());
    assert_eq!(
        summary.exclusions_listed,
        want.exclusions.is_empty(),
        "{}",
        case.matter.id
    );
    for c in &summary.exclusion_counts {
        let n = want
            .exclusions
            .iter()
            .filter(|e| e.reason == c.reason)
            .count() as u64;
        assert!(c.count <= n);
    }
    want
}

fn matter<'a>(loaded: &'a Loaded, id: &str) -> &'a Matter {
    loaded
        .model
        .matter(id)
        .unwrap_or_else(|| panic!("no matter {id}"))
}

#[test]
fn shipped_matters_and_seeds() {
    let loaded = rules();
    let files = generated(&loaded, 4000, 120, 7);
    let none = History::default();
    let h1 = period("2024-H1", (2024, 1, 1), (2024, 6, 30));
    for (id, seeds) in [
        ("zhian.hotel", 4),
        ("zhian.firearms", 2),
        ("zhian.security", 2),
        ("zhian.fireworks", 2),
        ("zhian.mass-event", 1),
        ("zhian.entertainment", 1),
        ("zhian.blasting", 1),
        ("jindu.precursor", 1),
        ("wangan.internet-cafe", 1),
        ("churujing.foreign-work", 1),
    ] {
        let m = matter(&loaded, id);
        for s in 0..seeds {
            let case = Case {
                matter: m,
                period: h1.clone(),
                kind: DrawKind::Regular,
                ratio: m.ratio,
                key_area_only: false,
                seed: Seed::from_text(&format!("seed {id} {s}")),
                history: &none,
            };
            let manifest = same(&loaded, &files, &case);
            assert!(!manifest.selected.is_empty(), "{id}: nothing drawn");
        }
    }
}

#[test]
fn hotel_holiday_key_area_draw() {
    let loaded = rules();
    let files = generated(&loaded, 3000, 80, 11);
    let none = History::default();
    let m = matter(&loaded, "zhian.hotel");
    let holiday = m.holiday.as_ref().expect("hotel has holiday draws");
    for s in 0..3 {
        let case = Case {
            matter: m,
            period: period("2024-chunjie", (2024, 2, 3), (2024, 2, 17)),
            kind: DrawKind::Holiday(holiday.holidays[0]),
            ratio: holiday.ratio,
            key_area_only: true,
            seed: Seed::from_text(&format!("holiday {s}")),
            history: &none,
        };
        let manifest = same(&loaded, &files, &case);
        assert!(manifest.key_area_only && !manifest.selected.is_empty());
    }
}

fn hook(
    loaded: &Loaded,
    kind: HookKind,
    source: &str,
    function: &str,
    reads: Option<&[&str]>,
) -> Hook {
    let ast = loaded
        .sandbox
        .compile(source)
        .unwrap_or_else(|e| panic!("script does not compile: {e:?}"));
    Hook {
        kind,
        script: Arc::new(Script {
            path: PathBuf::from("test.rhai"),
            name: "test.rhai".into(),
            source: source.into(),
            ast,
        }),
        function: function.into(),
        reads: reads.map(|r| r.iter().map(|s| s.to_string()).collect()),
    }
}

const SCRIPT: &str = r#"
fn not_a(target, ctx) { target.class != "A" }
fn by_rep(target, ctx) {
    let rep = target.extra["法定代表人"];
    if rep == () { 1 } else { 1 + rep.len() % 4 }
}
fn anything(target, ctx) { target.name.len() % 5 != 0 && target.status == "active" }
fn heavy(target, ctx) { if target.class == "D" { 1000.0 } else { 1 } }
fn zero_a(target, ctx) { if target.class == "A" { 0 } else { 2 } }
fn fails_c(target, ctx) { if target.class == "C" { throw "no C"; } true }
fn text(target, ctx) { if target.district == "仲村镇" { "yes" } else { true } }
"#;

#[test]
fn hooks_class_ratios_and_history() {
    let loaded = rules();
    let files = generated(&loaded, 5000, 150, 23);
    let base = matter(&loaded, "zhian.hotel").clone();
    let h1 = period("2024-H1", (2024, 1, 1), (2024, 6, 30));

    // History: some targets drawn twice this year (yearly cap), some inspected clean lately.
    let mut history = History::default();
    for (i, t) in files
        .registry
        .targets
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 37 == 0)
    {
        let entry = HistoryEntry {
            target_id: String::new(),
            inspections_this_year: (i % 3) as u32,
            last_clean: (i % 2 == 0).then(|| NaiveDate::from_ymd_opt(2023, 11, 20).expect("date")),
        };
        history.entries.insert(t.id.clone(), entry);
    }

    let mut variants: Vec<Matter> = Vec::new();
    // Eligible hook on class, risk weights, class ratios within districts.
    let mut m = base.clone();
    m.categories = vec![
        "hotel".into(),
        "entertainment".into(),
        "internet_cafe".into(),
    ];
    m.eligible = Some(hook(
        &loaded,
        HookKind::Eligible,
        SCRIPT,
        "not_a",
        Some(&["class"]),
    ));
    m.class_ratios = BTreeMap::from([
        ("D".to_string(), Ratio::from_ppm(200_000).expect("ratio")),
        ("C".to_string(), Ratio::from_ppm(100_000).expect("ratio")),
    ]);
    variants.push(m.clone());
    // A weight read from an extra column; class by another field; not stratified.
    m.weight = Some(hook(
        &loaded,
        HookKind::Weight,
        SCRIPT,
        "by_rep",
        Some(&["extra"]),
    ));
    m.class_field = Some("category".into());
    m.stratify_by = None;
    variants.push(m.clone());
    // A hook that may read anything (not memoised), heavy weights that cap, stratified by an
    // extra column.
    m.eligible = Some(hook(&loaded, HookKind::Eligible, SCRIPT, "anything", None));
    m.weight = Some(hook(
        &loaded,
        HookKind::Weight,
        SCRIPT,
        "heavy",
        Some(&["class"]),
    ));
    m.class_ratios.clear();
    m.stratify_by = Some("法定代表人".into());
    m.ratio = Ratio::from_ppm(300_000).expect("ratio");
    variants.push(m.clone());
    // Uniform, stratified by key area, no cooldown, yearly cap 1.
    let mut u = base.clone();
    u.weight = None;
    u.stratify_by = Some("key_area".into());
    u.cooldown_months = None;
    u.yearly_cap = Some(1);
    variants.push(u);

    for (v, m) in variants.iter().enumerate() {
        for s in 0..2 {
            let case = Case {
                matter: m,
                period: h1.clone(),
                kind: DrawKind::Regular,
                ratio: m.ratio,
                key_area_only: false,
                seed: Seed::from_text(&format!("variant {v} seed {s}")),
                history: &history,
            };
            let manifest = same(&loaded, &files, &case);
            assert!(!manifest.history.is_empty(), "variant {v}: no history used");
            if v == 0 {
                assert!(
                    manifest
                        .strata
                        .iter()
                        .any(|s| s.stratum.contains("/class=D"))
                );
                assert!(
                    manifest
                        .exclusions
                        .iter()
                        .any(|e| e.reason == "eligible_hook")
                );
                assert!(manifest.exclusions.iter().any(|e| e.reason == "yearly_cap"));
                assert!(manifest.exclusions.iter().any(|e| e.reason == "cooldown"));
            }
            if v == 2 {
                assert!(
                    manifest
                        .selected
                        .iter()
                        .any(|s| s.inclusion_probability == 1.0),
                    "heavy weights should cap"
                );
            }
        }
    }
}

#[test]
fn hook_and_weight_failures_match() {
    let loaded = rules();
    let files = generated(&loaded, 1500, 40, 5);
    let none = History::default();
    let base = matter(&loaded, "zhian.hotel").clone();
    let mut cases: Vec<Matter> = Vec::new();
    let mut m = base.clone();
    m.weight = Some(hook(
        &loaded,
        HookKind::Weight,
        SCRIPT,
        "zero_a",
        Some(&["class"]),
    ));
    cases.push(m);
    let mut m = base.clone();
    m.eligible = Some(hook(
        &loaded,
        HookKind::Eligible,
        SCRIPT,
        "fails_c",
        Some(&["class"]),
    ));
    cases.push(m);
    let mut m = base.clone();
    m.eligible = Some(hook(
        &loaded,
        HookKind::Eligible,
        SCRIPT,
        "text",
        Some(&["district"]),
    ));
    cases.push(m);
    let mut m = base.clone();
    m.weight = Some(hook(
        &loaded,
        HookKind::Weight,
        SCRIPT,
        "text",
        Some(&["district"]),
    ));
    cases.push(m);
    for m in &cases {
        let case = Case {
            matter: m,
            period: period("2024-H1", (2024, 1, 1), (2024, 6, 30)),
            kind: DrawKind::Regular,
            ratio: m.ratio,
            key_area_only: false,
            seed: Seed::from_text("failures"),
            history: &none,
        };
        let want: DrawFailure = match engine::run(&input(&loaded, &files, &case), &loaded.sandbox) {
            Ok(_) => panic!("engine should fail"),
            Err(e) => e,
        };
        for threads in [1, 2] {
            match streamed(&loaded, &files, &case, threads, usize::MAX) {
                Err(StreamError::Draw(got)) => assert_eq!(got, want),
                other => panic!("expected {want:?}, got {other:?}"),
            }
        }
    }
}

/// Quoted fields with commas and line breaks, CRLF, a byte-order mark, a title row, blank
/// lines, English headers in another order, an extra column and padded cells.
#[test]
fn awkward_csv() {
    let loaded = rules();
    let mut text = String::from("\u{feff}平邑县检查对象名录库,,,,,,\r\n\r\n");
    text.push_str("category,ID,name,district,class,status,备注,key_area\r\n");
    for i in 0..2500 {
        let district = ["平邑街道", "仲村镇", "武台镇"][i % 3];
        let class = ["A", "B", "C", "D", ""][i % 5];
        let status = if i % 17 == 0 { "注销" } else { "正常" };
        let name = match i % 4 {
            0 => format!("\"旅馆, 第{i}号\""),
            1 => format!("\"多行\n旅馆{i}\""),
            2 => format!("  旅馆{i}  "),
            _ => format!("\"说\"\"好\"\"的旅馆{i}\""),
        };
        let key_area = if i % 3 == 0 { "是" } else { "否" };
        text.push_str(&format!(
            "hotel, T{i:06} ,{name},{district},{class},{status},\"备注{i}\",{key_area}\r\n"
        ));
        if i % 500 == 0 {
            text.push_str(",,,,,,,\r\n\r\n");
        }
    }
    let files = from_text(&loaded, text.as_bytes(), 60);
    let none = History::default();
    let m = matter(&loaded, "zhian.hotel");
    for s in 0..3 {
        let case = Case {
            matter: m,
            period: period("2024-H1", (2024, 1, 1), (2024, 6, 30)),
            kind: DrawKind::Regular,
            ratio: Ratio::from_ppm(100_000).expect("ratio"),
            key_area_only: s == 2,
            seed: Seed::from_text(&format!("awkward {s}")),
            history: &none,
        };
        same(&loaded, &files, &case);
    }
}

/// A quoted field with line breaks across the middle of the file: the split point falls inside
/// it, and the draw falls back to one thread.
#[test]
fn split_inside_a_quoted_record() {
    let loaded = rules();
    let mut text = String::from("编号,名称,类别,所属区域,风险等级\n");
    for i in 0..400 {
        text.push_str(&format!("T{i:05},旅馆{i},hotel,平邑街道,B\n"));
    }
    text.push_str("T99999,\"");
    for j in 0..20_000 {
        text.push_str(&format!("第{j}行\n"));
    }
    text.push_str("\",hotel,仲村镇,C\n");
    for i in 400..800 {
        text.push_str(&format!("T{i:05},旅馆{i},hotel,仲村镇,D\n"));
    }
    let files = from_text(&loaded, text.as_bytes(), 30);
    let none = History::default();
    let m = matter(&loaded, "zhian.hotel");
    let case = Case {
        matter: m,
        period: period("2024-H1", (2024, 1, 1), (2024, 6, 30)),
        kind: DrawKind::Regular,
        ratio: Ratio::from_ppm(500_000).expect("ratio"),
        key_area_only: false,
        seed: Seed::from_text("split"),
        history: &none,
    };
    same(&loaded, &files, &case);
    let s = streamed(&loaded, &files, &case, 2, usize::MAX).expect("stream");
    assert_eq!(s.stats.threads, 1);
}

/// Bad rows are reported with the registry reader's own messages and this file's line numbers.
#[test]
fn bad_rows_are_reported_like_the_registry_reader() {
    let loaded = rules();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("targets.csv");
    let mut text = String::from("编号,名称,类别,所属区域,状态,上次检查日期,上次检查结果\n");
    for i in 0..50 {
        text.push_str(&format!("T{i:03},旅馆{i},hotel,平邑街道,正常,,\n"));
    }
    text.push_str("T900,旅馆,hotle,平邑街道,正常,,\n");
    text.push_str("T901,旅馆,hotel,平邑街道,歇业,,\n");
    text.push_str("T902,旅馆,hotel,平邑街道,正常,2023-02-30,未发现问题\n");
    text.push_str("T903,旅馆,hotel,平邑街道,正常,,,多一列\n");
    std::fs::write(&path, &text).expect("write");
    let known = Known::from_model(&loaded.model);
    let mut diags = Vec::new();
    suiji::registry::read_targets(&path, &path.display().to_string(), &known, &mut diags);
    let want: Vec<String> = diags
        .iter()
        .filter(|d| d.is_error())
        .map(|d| format!("{:?} {}", d.location, d.message))
        .collect();
    assert_eq!(want.len(), 4, "{want:#?}");

    let none = History::default();
    let m = matter(&loaded, "zhian.hotel");
    let p = period("2024-H1", (2024, 1, 1), (2024, 6, 30));
    let draw = DrawInput {
        bureau: "b",
        matter: m,
        rules_hash: "",
        period: &p,
        kind: DrawKind::Regular,
        ratio: m.ratio,
        key_area_only: false,
        reference_date: p.start,
        issue_at: String::new(),
        due: p.end,
        seed: Seed([1u8; 32]),
        seed_source: "test",
        targets: &[],
        inspectors: &[],
        registry: RegistryInfo::default(),
        history: &none,
    };
    let s = StreamInput {
        draw,
        targets_file: &path,
        known: &known,
    };
    match stream::run(&s, &loaded.sandbox, &StreamOptions::default()) {
        Err(StreamError::Registry(got)) => {
            let got: Vec<String> = got
                .iter()
                .filter(|d| d.is_error())
                .map(|d| format!("{:?} {}", d.location, d.message))
                .collect();
            assert_eq!(got, want);
        }
        other => panic!("expected registry errors, got {other:?}"),
    }
}
