//! The draw over rows in memory and the draw over the registry file give the same manifest, or
//! the same failure: a property over random registries (awkward CSV included), matters (ratios,
//! class ratios, stratification, key-area windows, cooldown, yearly caps, team size, workload
//! caps), hooks (eligible, weight and conflict, failing ones included), history, thread counts
//! and exclusion-listing limits. Above the listing limit the file draw summarises the
//! exclusions; everything else is still identical.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::NaiveDate;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use suiji::draw::manifest::{HistoryEntry, Manifest, RegistryInfo};
use suiji::draw::pipeline::{self, DrawFailure, DrawInput, History, Options, Source};
use suiji::draw::{Algorithm, Seed};
use suiji::registry::generate::write_inspectors;
use suiji::registry::types::Registry;
use suiji::registry::{Known, load};
use suiji::rules::Loaded;
use suiji::rules::model::{Matter, Ratio, Share};
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

fn from_text(loaded: &Loaded, text: &[u8], inspectors: u64, seed: u64) -> Files {
    let dir = tempfile::tempdir().expect("tempdir");
    let targets = dir.path().join("targets.csv");
    let people = dir.path().join("inspectors.csv");
    std::fs::write(&targets, text).expect("write targets");
    write_inspectors(&people, inspectors, seed).expect("write inspectors");
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

/// A small deterministic generator (xorshift), so one proptest number gives a whole registry.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const COLUMNS: [(&str, &str); 11] = [
    ("编号", "id"),
    ("名称", "name"),
    ("类别", "category"),
    ("所属区域", "district"),
    ("重点区域", "key_area"),
    ("风险等级", "class"),
    ("状态", "status"),
    ("上次检查日期", "last_inspected"),
    ("上次检查结果", "last_result"),
    ("法定代表人", "法定代表人"),
    ("备注", "备注"),
];

fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// A random target registry as CSV: ids of several shapes (one over 55 bytes), names with
/// commas, quotes and line breaks, padded cells, empty cells, optional byte-order mark, title
/// row, blank rows, CRLF, columns in random order under Chinese or English headers.
fn registry_text(rng: &mut Rng, n: usize) -> (String, Vec<String>) {
    let mut order: Vec<usize> = (0..COLUMNS.len()).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i + 1));
    }
    let english = rng.chance(40);
    let eol = if rng.chance(30) { "\r\n" } else { "\n" };
    let mut text = String::new();
    if rng.chance(30) {
        text.push('\u{feff}');
    }
    if rng.chance(20) {
        text.push_str(&format!("平邑县检查对象名录库{}{eol}{eol}", ",".repeat(10)));
    }
    let header: Vec<&str> = order
        .iter()
        .map(|&c| if english { COLUMNS[c].1 } else { COLUMNS[c].0 })
        .collect();
    text.push_str(&header.join(","));
    text.push_str(eol);
    let mut ids = Vec::new();
    for i in 0..n {
        let id = match rng.below(8) {
            0 => format!("91440300MA{i:06}"),
            1 => format!("旅馆-{i:04}"),
            2 if i % 5 == 0 => format!("{}{i}", "Z".repeat(54)),
            _ => format!("T{i:05}"),
        };
        ids.push(id.clone());
        let name = match rng.below(7) {
            0 => quoted(&format!("旅馆, 第{i}号")),
            1 => quoted(&format!("多行\n旅馆{i}")),
            2 => format!("  旅馆{i}  "),
            3 => quoted(&format!("说\"好\"的旅馆{i}")),
            _ => format!("旅馆{i}"),
        };
        let date = format!(
            "{}-{:02}-{:02}",
            2022 + rng.below(3),
            1 + rng.below(12),
            1 + rng.below(28)
        );
        let cells: [String; 11] = [
            if rng.chance(10) {
                format!(" {id} ")
            } else {
                id
            },
            name,
            rng.pick(&[
                "hotel",
                "hotel",
                "entertainment",
                "internet_cafe",
                "blasting",
            ])
            .into(),
            rng.pick(&["平邑街道", "仲村镇", "武台镇", ""]).into(),
            rng.pick(&["是", "否", ""]).into(),
            rng.pick(&["A", "B", "C", "D", ""]).into(),
            rng.pick(&["正常", "正常", "正常", "注销", ""]).into(),
            if rng.chance(50) { date } else { String::new() },
            rng.pick(&["未发现问题", "发现问题", ""]).into(),
            rng.pick(&["张三", "李四", "王五", "赵六", "", ""]).into(),
            if rng.chance(20) {
                quoted("备注, 有逗号")
            } else {
                String::new()
            },
        ];
        let row: Vec<&str> = order.iter().map(|&c| cells[c].as_str()).collect();
        text.push_str(&row.join(","));
        text.push_str(eol);
        if rng.chance(3) {
            text.push_str(&",".repeat(10));
            text.push_str(eol);
            text.push_str(eol);
        }
    }
    (text, ids)
}

fn hook(loaded: &Loaded, kind: HookKind, function: &str, reads: Option<&[&str]>) -> Hook {
    let ast = loaded
        .sandbox
        .compile(SCRIPT)
        .unwrap_or_else(|e| panic!("script does not compile: {e:?}"));
    Hook {
        kind,
        script: Arc::new(Script {
            path: PathBuf::from("test.rhai"),
            name: "test.rhai".into(),
            source: SCRIPT.into(),
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
fn fractional(target, ctx) { 0.25 + target.id.len() % 3 }
fn zero_a(target, ctx) { if target.class == "A" { 0 } else { 2 } }
fn fails_c(target, ctx) { if target.class == "C" { throw "no C"; } true }
fn fails_town(target, ctx) { if target.district == "武台镇" { throw "no town"; } 3 }
fn text(target, ctx) { if target.district == "仲村镇" { "yes" } else { true } }
fn rep_conflict(inspector, target) {
    let rep = target.extra["法定代表人"];
    rep != () && (inspector.conflicts.contains(rep) || inspector.name.len() % 3 == rep.len() % 3)
}
fn conflict_fails(inspector, target) { if target.class == "D" { throw "no D"; } false }
fn conflict_text(inspector, target) { if target.class == "B" { 1 } else { false } }
fn klass(target, ctx) { if target.district == "仲村镇" { "仲村镇" } else if target.class == "D" { "D" } else { () } }
fn klass_any(target, ctx) { if target.name.len() % 3 == 0 { "C" } else { "" } }
fn klass_fails(target, ctx) { if target.district == "武台镇" { throw "no town"; } "D" }
fn klass_number(target, ctx) { if target.class == "B" { 2 } else { "C" } }
"#;

/// The matter of a case, from `zhian.hotel` and a few choices.
fn matter(loaded: &Loaded, rng: &mut Rng) -> Matter {
    let mut m = loaded
        .model
        .matter("zhian.hotel")
        .expect("zhian.hotel")
        .clone();
    let all = ["hotel", "entertainment", "internet_cafe"];
    m.categories = all
        .iter()
        .filter(|_| rng.chance(60))
        .map(|s| s.to_string())
        .collect();
    if m.categories.is_empty() {
        m.categories = vec!["hotel".into()];
    }
    let ratio = |rng: &mut Rng| {
        let ppm = [1, 50_000, 100_000, 333_333, 500_000, 999_999, 1_000_000][rng.below(7)];
        Ratio::from_ppm(ppm).expect("ratio")
    };
    m.ratio = ratio(rng);
    m.class_ratios = BTreeMap::new();
    if rng.chance(40) {
        m.class_ratios
            .insert("D".into(), Share::at_least(ratio(rng)));
        // A band (C: k = ⌈low × n⌉, at most ⌊high × n⌋) and an upper bound (仲村镇: ⌊r × n⌋).
        let (a, b) = (ratio(rng), ratio(rng));
        m.class_ratios.insert(
            "C".into(),
            Share {
                ratio: a.min(b),
                cap: Some(a.max(b)),
            },
        );
        let r = ratio(rng);
        m.class_ratios.insert(
            "仲村镇".into(),
            Share {
                ratio: r,
                cap: Some(r),
            },
        );
    }
    m.class_field =
        [None, Some("class"), Some("category"), Some("district")][rng.below(4)].map(String::from);
    m.stratify_by = [
        None,
        Some("district"),
        Some("key_area"),
        Some("class"),
        Some("status"),
        Some("法定代表人"),
    ][rng.below(6)]
    .map(String::from);
    m.cooldown_months = [None, Some(0), Some(1), Some(6), Some(12), Some(30)][rng.below(6)];
    m.yearly_cap = [None, Some(1), Some(2)][rng.below(3)];
    m.team_size = 1 + rng.below(3) as u32;
    m.workload_cap = 1 + rng.below(6) as u32;
    use HookKind::{Conflict, Eligible, Weight};
    m.eligible = match rng.below(8) {
        0 => Some(hook(loaded, Eligible, "not_a", Some(&["class"]))),
        1 => Some(hook(loaded, Eligible, "anything", None)),
        2 => Some(hook(loaded, Eligible, "fails_c", Some(&["class"]))),
        3 => Some(hook(loaded, Eligible, "text", Some(&["district"]))),
        _ => None,
    };
    m.weight = match rng.below(10) {
        0 => Some(hook(loaded, Weight, "by_rep", Some(&["extra"]))),
        1 => Some(hook(loaded, Weight, "heavy", Some(&["class"]))),
        2 => Some(hook(loaded, Weight, "fractional", None)),
        3 => Some(hook(loaded, Weight, "zero_a", Some(&["class"]))),
        4 => Some(hook(loaded, Weight, "fails_town", Some(&["district"]))),
        5 => Some(hook(loaded, Weight, "text", Some(&["district"]))),
        _ => None,
    };
    m.conflict = match rng.below(6) {
        0 => Some(hook(loaded, Conflict, "rep_conflict", None)),
        1 => Some(hook(loaded, Conflict, "conflict_fails", None)),
        2 => Some(hook(loaded, Conflict, "conflict_text", None)),
        _ => None,
    };
    // The class from a hook in place of a column (分类钩子): by town and class, by anything,
    // one that fails, one that answers a number.
    if !m.class_ratios.is_empty() {
        m.class_hook = match rng.below(6) {
            0 => Some(hook(
                loaded,
                HookKind::Class,
                "klass",
                Some(&["class", "district"]),
            )),
            1 => Some(hook(loaded, HookKind::Class, "klass_any", None)),
            2 => Some(hook(
                loaded,
                HookKind::Class,
                "klass_fails",
                Some(&["district"]),
            )),
            3 => Some(hook(
                loaded,
                HookKind::Class,
                "klass_number",
                Some(&["class"]),
            )),
            _ => None,
        };
    }
    // A frequency per class (分类频次): classes whose cycle the period does not open are out
    // of scope, whether the class comes from a column or from the hook.
    if rng.chance(40) {
        use suiji::rules::model::ClassFrequency::{Biennial, HalfYearly, Quarterly, Yearly};
        for (class, f) in [
            ("D", Yearly),
            ("C", Biennial),
            ("仲村镇", HalfYearly),
            ("B", Quarterly),
        ] {
            if rng.chance(60) {
                m.class_frequency.insert(class.into(), f);
            }
        }
    }
    m
}

/// History for some of the ids: times drawn this year, and a last clean inspection.
fn history(rng: &mut Rng, ids: &[String]) -> History {
    let mut h = History::default();
    for id in ids {
        if rng.chance(15) {
            let last_clean = rng.chance(50).then(|| {
                NaiveDate::from_ymd_opt(2023, 1 + rng.below(12) as u32, 1 + rng.below(28) as u32)
                    .expect("date")
            });
            let entry = HistoryEntry {
                target_id: String::new(),
                inspections_this_year: rng.below(3) as u32,
                last_clean,
            };
            h.entries.insert(id.trim().to_string(), entry);
        }
    }
    h
}

struct Case {
    algorithm: Algorithm,
    matter: Matter,
    period: Period,
    kind: DrawKind,
    ratio: Ratio,
    key_area_only: bool,
    seed: Seed,
    history: History,
}

/// A regular draw of `matter` at `ratio` for the first half of 2024, seeded by `seed`, without
/// history.
fn first_half(matter: Matter, ratio: Ratio, seed: &str) -> Case {
    Case {
        algorithm: Algorithm::LATEST,
        matter,
        period: Period {
            id: "2024-H1".into(),
            start: NaiveDate::from_ymd_opt(2024, 1, 1).expect("date"),
            end: NaiveDate::from_ymd_opt(2024, 6, 30).expect("date"),
        },
        kind: DrawKind::Regular,
        ratio,
        key_area_only: false,
        seed: Seed::from_text(seed),
        history: History::default(),
    }
}

fn input<'a>(loaded: &'a Loaded, files: &'a Files, case: &'a Case) -> DrawInput<'a> {
    DrawInput {
        algorithm: case.algorithm,
        bureau: &loaded.model.config.bureau.name,
        matter: &case.matter,
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
        inspectors: &files.registry.inspectors,
        registry: RegistryInfo::default(),
        history: &case.history,
        team: None,
        drawn_at: format!("{}T09:00:00+08:00", case.period.start),
        exclusions_in_file: false,
    }
}

/// What the file draw gives: its manifest, whether it lists every exclusion, and the excluded
/// count per reason.
struct FileDraw {
    manifest: Manifest,
    listed: bool,
    counts: BTreeMap<String, u64>,
    /// The drawn targets' rows, kept for the documents.
    drawn: Vec<suiji::registry::Target>,
}

fn memory_draw(loaded: &Loaded, files: &Files, case: &Case) -> Result<Manifest, DrawFailure> {
    memory_listing(loaded, files, case, usize::MAX)
}

/// The draw in memory, listing at most `list` exclusions.
fn memory_listing(
    loaded: &Loaded,
    files: &Files,
    case: &Case,
    list: usize,
) -> Result<Manifest, DrawFailure> {
    let rows = Source::Memory(&files.registry.targets);
    let opts = Options {
        list_exclusions_up_to: list,
        ..Options::default()
    };
    pipeline::run(&input(loaded, files, case), rows, &loaded.sandbox, &opts).map(|d| d.manifest)
}

fn file_draw(
    loaded: &Loaded,
    files: &Files,
    case: &Case,
    threads: usize,
    list: usize,
) -> Result<FileDraw, String> {
    let known = Known::from_model(&loaded.model);
    let rows = Source::Csv {
        path: &files.targets,
        known: &known,
    };
    // Told where the drawn rows are as soon as they are chosen: the places it returns.
    let told = std::sync::Mutex::new(None::<Vec<u64>>);
    let tell = |at: &[u64]| {
        let mut told = told.lock().expect("not poisoned");
        assert!(told.is_none(), "told once");
        *told = Some(at.to_vec());
    };
    let opts = Options {
        threads,
        list_exclusions_up_to: list,
        chunk_bytes: 4096,
        on_phase: None,
        on_rows: None,
        on_selected: Some(&tell),
        keep_drawn: true,
        digest_selection: false,
        exclusions: pipeline::ExclusionsOut::Keep,
    };
    match pipeline::run(&input(loaded, files, case), rows, &loaded.sandbox, &opts) {
        Ok(s) => {
            let mut counts = BTreeMap::new();
            for c in &s.exclusion_counts {
                *counts.entry(c.reason.clone()).or_insert(0) += c.count;
            }
            let mut told = told.lock().expect("not poisoned").take().expect("told");
            told.sort_unstable();
            assert_eq!(told, s.drawn_at);
            Ok(FileDraw {
                manifest: s.manifest,
                listed: s.exclusions_listed,
                counts,
                drawn: pipeline::drawn_targets(rows, &s.drawn_at)
                    .map_err(|e| format!("drawn rows: {e:?}"))?,
            })
        }
        Err(e) => Err(format!("draw: {e:?}")),
    }
}

/// How a case ended, for checking that the cases cover both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Failed,
    Drawn,
    Summarised,
}

/// Both sources agree on `case`.
fn agree(loaded: &Loaded, files: &Files, case: &Case, threads: usize, list: usize) -> Outcome {
    let want = memory_draw(loaded, files, case);
    let got = file_draw(loaded, files, case, threads, list);
    let (want, got) = match (want, got) {
        (Err(w), Err(g)) => {
            assert_eq!(format!("draw: {w:?}"), g);
            return Outcome::Failed;
        }
        (Ok(w), Ok(g)) => (w, g),
        (w, g) => panic!(
            "memory {:?}\nfile {:?}",
            w.map(|m| m.manifest_hash),
            g.map(|f| f.manifest.manifest_hash)
        ),
    };
    // The rows kept for the documents: the drawn targets' (here in id order, the registry's in
    // memory), without the columns only rules read.
    let drawn: std::collections::HashSet<&str> = got
        .manifest
        .selected
        .iter()
        .map(|s| s.target_id.as_str())
        .collect();
    let rows: Vec<_> = files
        .registry
        .targets
        .iter()
        .filter(|t| drawn.contains(t.id.as_str()))
        .map(|t| t.without_extra())
        .collect();
    let mut kept = got.drawn.clone();
    kept.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(kept, rows);
    assert!(got.drawn.iter().all(|t| t.extra.is_empty()));
    let excluded = want.exclusions.len();
    assert_eq!(got.listed, excluded <= list, "listing limit {list}");
    let mut by_reason = BTreeMap::new();
    for e in &want.exclusions {
        *by_reason.entry(e.reason.clone()).or_insert(0u64) += 1;
    }
    assert_eq!(got.counts, by_reason);
    // Under the same listing limit, the draw in memory gives the file's manifest exactly.
    let limited = memory_listing(loaded, files, case, list).expect("draw in memory");
    assert_eq!(limited, got.manifest);
    if got.listed {
        if got.manifest != want {
            panic!("{:#?}", want.differences(&got.manifest));
        }
        assert_eq!(got.manifest.manifest_hash, want.manifest_hash);
        Outcome::Drawn
    } else {
        let (mut a, mut b) = (got.manifest, want);
        assert!(a.exclusions.iter().all(|e| e.target_id.is_empty()));
        for m in [&mut a, &mut b] {
            m.exclusions.clear();
            m.manifest_hash.clear();
        }
        assert_eq!(a, b);
        Outcome::Summarised
    }
}

fn one_case(
    loaded: &Loaded,
    seed: u64,
    n: usize,
    threads: usize,
    list: usize,
    pool: usize,
) -> Outcome {
    let mut rng = Rng(seed | 1);
    let (text, ids) = registry_text(&mut rng, n);
    let files = from_text(loaded, text.as_bytes(), rng.below(40) as u64, seed);
    let matter = matter(loaded, &mut rng);
    let holiday = matter
        .holiday
        .as_ref()
        .filter(|_| rng.chance(25))
        .map(|h| (h.holidays[0], h.ratio));
    let (kind, ratio, period) = match holiday {
        Some((h, ratio)) => (
            DrawKind::Holiday(h),
            ratio,
            Period {
                id: "2024-chunjie".into(),
                start: NaiveDate::from_ymd_opt(2024, 2, 3).expect("date"),
                end: NaiveDate::from_ymd_opt(2024, 2, 17).expect("date"),
            },
        ),
        None => {
            // Half-years that open every cycle (2024-H1), the half-yearly ones only (2024-H2),
            // all but the two-year ones (2025-H1).
            let (id, y, mo) = [
                ("2024-H1", 2024, 1),
                ("2024-H2", 2024, 7),
                ("2025-H1", 2025, 1),
            ][rng.below(3)];
            let start = NaiveDate::from_ymd_opt(y, mo, 1).expect("date");
            (
                DrawKind::Regular,
                matter.ratio,
                Period {
                    id: id.into(),
                    start,
                    end: start + chrono::Months::new(6) - chrono::Days::new(1),
                },
            )
        }
    };
    let case = Case {
        algorithm: if rng.chance(50) {
            Algorithm::V1
        } else {
            Algorithm::V2
        },
        key_area_only: rng.chance(25),
        seed: Seed::from_text(&format!("case {seed}")),
        history: history(&mut rng, &ids),
        matter,
        period,
        kind,
        ratio,
    };
    let list = match list {
        0 => 0,
        1 => 3,
        2 => rng.below(n + 1),
        _ => usize::MAX,
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(pool)
        .build()
        .expect("thread pool");
    pool.install(|| agree(loaded, &files, &case, threads, list))
}

#[test]
fn memory_and_file_sources_agree() {
    let loaded = rules();
    let mut runner = TestRunner::new(Config {
        // PROPTEST_CASES=5000 for a longer search.
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(256),
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (any::<u64>(), 0usize..260, 1usize..5, 0usize..4, 1usize..4);
    let seen = std::sync::Mutex::new(Vec::new());
    runner
        .run(&strategy, |(seed, n, threads, list, pool)| {
            let outcome = one_case(&loaded, seed, n, threads, list, pool);
            seen.lock().expect("lock").push(outcome);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
    // The cases reach failures, full manifests and summarised ones alike.
    let seen = seen.into_inner().expect("lock");
    for outcome in [Outcome::Failed, Outcome::Drawn, Outcome::Summarised] {
        let n = seen.iter().filter(|&&o| o == outcome).count();
        assert!(n * 10 >= seen.len(), "{outcome:?}: {n} of {}", seen.len());
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
    let files = from_text(&loaded, text.as_bytes(), 30, 3);
    let matter = loaded
        .model
        .matter("zhian.hotel")
        .expect("zhian.hotel")
        .clone();
    let case = first_half(matter, Ratio::from_ppm(500_000).expect("ratio"), "split");
    for threads in [1, 2, 3] {
        assert_eq!(
            agree(&loaded, &files, &case, threads, usize::MAX),
            Outcome::Drawn
        );
    }
    let known = Known::from_model(&loaded.model);
    let rows = Source::Csv {
        path: &files.targets,
        known: &known,
    };
    let opts = Options {
        threads: 2,
        ..Options::default()
    };
    let out =
        pipeline::run(&input(&loaded, &files, &case), rows, &loaded.sandbox, &opts).expect("draw");
    assert_eq!(out.stats.threads, 1);
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
    let m = loaded.model.matter("zhian.hotel").expect("zhian.hotel");
    let p = Period {
        id: "2024-H1".into(),
        start: NaiveDate::from_ymd_opt(2024, 1, 1).expect("date"),
        end: NaiveDate::from_ymd_opt(2024, 6, 30).expect("date"),
    };
    let draw = DrawInput {
        algorithm: Algorithm::LATEST,
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
        inspectors: &[],
        registry: RegistryInfo::default(),
        history: &none,
        team: None,
        drawn_at: String::new(),
        exclusions_in_file: false,
    };
    let rows = Source::Csv {
        path: &path,
        known: &known,
    };
    match pipeline::run(&draw, rows, &loaded.sandbox, &Options::default()) {
        Err(DrawFailure::Registry(got)) => {
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

/// The shipped matters (their own hooks included) over a generated registry.
#[test]
fn shipped_matters() {
    let loaded = rules();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("generated.csv");
    suiji::registry::generate::write_targets(&path, 3000, 7).expect("write targets");
    // Events get a date (活动日期, read by the shipped `event_in_period` hook); other rows none.
    let raw = std::fs::read_to_string(&path).expect("read targets");
    let mut text = String::with_capacity(raw.len() + raw.len() / 8);
    for (i, line) in raw.lines().enumerate() {
        text.push_str(line);
        if i == 0 {
            text.push_str(",活动日期");
        } else if line.contains(",fireworks_event,") || line.contains(",mass_event,") {
            text.push_str(&format!(",2024-{:02}-{:02}", 1 + i % 12, 1 + i % 28));
        } else {
            text.push(',');
        }
        text.push('\n');
    }
    let files = from_text(&loaded, text.as_bytes(), 120, 7);
    for matter in loaded.model.matters() {
        let case = first_half(matter.clone(), matter.ratio, &format!("seed {}", matter.id));
        let drawn = memory_draw(&loaded, &files, &case).expect("draw");
        assert!(!drawn.selected.is_empty(), "{}: nothing drawn", matter.id);
        assert_eq!(agree(&loaded, &files, &case, 2, usize::MAX), Outcome::Drawn);
    }
}

/// A draw over a registry file tells how many rows it has classified as it goes: every 65,536
/// rows a thread reads, the running total, which never passes the rows read and is short of
/// them by less than a count per thread; the draw is the same told or not.
#[test]
fn a_file_draw_tells_the_rows_classified_as_it_goes() {
    const TOLD: u64 = 1 << 16;
    let loaded = rules();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("generated.csv");
    let rows = 150_000u64;
    suiji::registry::generate::write_targets(&path, rows, 11).expect("write targets");
    let files = from_text(&loaded, &std::fs::read(&path).expect("read"), 60, 11);
    let matter = loaded
        .model
        .matter("zhian.hotel")
        .expect("shipped matter")
        .clone();
    let case = first_half(matter.clone(), matter.ratio, "rows told");
    let known = Known::from_model(&loaded.model);
    let source = Source::Csv {
        path: &files.targets,
        known: &known,
    };
    let told = std::sync::Mutex::new(Vec::new());
    let tell = |n: u64| told.lock().expect("not poisoned").push(n);
    let threads = 2;
    let draw = |on_rows: Option<&pipeline::OnRows<'_>>| {
        let opts = Options {
            threads,
            chunk_bytes: 4096,
            on_rows,
            ..Options::default()
        };
        pipeline::run(
            &input(&loaded, &files, &case),
            source,
            &loaded.sandbox,
            &opts,
        )
        .expect("draw")
    };
    let quiet = draw(None);
    let counted = draw(Some(&tell));
    assert_eq!(quiet.manifest, counted.manifest);
    assert_eq!(counted.stats.rows, rows);
    let mut told = told.into_inner().expect("not poisoned");
    told.sort_unstable();
    let k = told.len() as u64;
    assert_eq!(told, (1..=k).map(|i| i * TOLD).collect::<Vec<_>>());
    assert!(
        k * TOLD <= rows && rows < (k + threads as u64) * TOLD,
        "{told:?}"
    );
}

/// Runs `case` from memory and from the file (on `threads` threads) under a draw budget of
/// `budget` operations: the hook operations each counted, or the failure.
fn under_budget(
    loaded: &Loaded,
    files: &Files,
    case: &Case,
    threads: usize,
    budget: u64,
) -> (Result<u64, String>, Result<u64, String>) {
    let sandbox = suiji::script::Sandbox::new(suiji::script::ScriptLimits {
        draw_operations: budget,
        ..loaded.sandbox.limits()
    });
    let known = Known::from_model(&loaded.model);
    let memory = pipeline::run(
        &input(loaded, files, case),
        Source::Memory(&files.registry.targets),
        &sandbox,
        &Options::default(),
    );
    let file = pipeline::run(
        &input(loaded, files, case),
        Source::Csv {
            path: &files.targets,
            known: &known,
        },
        &sandbox,
        &Options {
            threads,
            chunk_bytes: 4096,
            ..Options::default()
        },
    );
    let ops = |r: Result<pipeline::Drawn, DrawFailure>| {
        r.map(|d| d.stats.hook_operations)
            .map_err(|e| e.to_string())
    };
    (ops(memory), ops(file))
}

/// The hooks' operations are counted per target, so both sources and every thread count reach
/// the same total, and the per-draw budget stops both at the same point with the same message.
#[test]
fn the_draw_operations_budget_is_the_same_for_both_sources() {
    let loaded = rules();
    let mut rng = Rng(7);
    let (text, ids) = registry_text(&mut rng, 400);
    let files = from_text(&loaded, text.as_bytes(), 20, 7);
    let mut matter = loaded
        .model
        .matter("zhian.hotel")
        .expect("zhian.hotel")
        .clone();
    matter.categories = vec!["hotel".into(), "entertainment".into()];
    // One hook reused per class, one asked for every target.
    matter.eligible = Some(hook(&loaded, HookKind::Eligible, "anything", None));
    matter.weight = Some(hook(&loaded, HookKind::Weight, "heavy", Some(&["class"])));
    let case = Case {
        history: history(&mut rng, &ids),
        ..first_half(matter, Ratio::from_ppm(100_000).expect("ratio"), "budget")
    };
    let (memory, file) = under_budget(&loaded, &files, &case, 1, u64::MAX);
    let total = memory.expect("draw in memory");
    assert!(total > 400, "{total}");
    assert_eq!(file, Ok(total));
    for threads in [1, 3] {
        assert_eq!(
            under_budget(&loaded, &files, &case, threads, total),
            (Ok(total), Ok(total)),
            "a budget of exactly the total is enough"
        );
        let (memory, file) = under_budget(&loaded, &files, &case, threads, total - 1);
        let want = format!(
            "the hooks of zhian.hotel need more than {} operations for this draw (the budget \
             `[scripts] draw_operations` in config/suiji.toml); make the hooks do less work per \
             target, or raise the budget",
            total - 1
        );
        assert_eq!(memory, Err(want.clone()));
        assert_eq!(file, Err(want));
    }
}

/// Each shipped matter with hooks, drawn from the shipped registry for 2023-H1: its hooks use
/// well under 1% of the default per-draw budget (the figures are printed).
#[test]
fn the_shipped_rules_use_a_tiny_share_of_the_draw_budget() {
    let loaded = rules();
    let targets = PathBuf::from("config/registry/targets.csv");
    let registry = load(
        std::slice::from_ref(&targets),
        &[PathBuf::from("config/registry/inspectors.csv")],
        Path::new("."),
        &Known::from_model(&loaded.model),
    )
    .unwrap_or_else(|d| panic!("registry does not load: {d:?}"));
    let files = Files {
        _dir: tempfile::tempdir().expect("tempdir"),
        targets,
        registry,
    };
    let mut most = 0;
    for m in loaded
        .model
        .matters()
        .filter(|m| m.eligible.is_some() || m.weight.is_some())
    {
        let case = Case {
            matter: m.clone(),
            period: Period {
                id: "2023-H1".into(),
                start: NaiveDate::from_ymd_opt(2023, 1, 1).expect("date"),
                end: NaiveDate::from_ymd_opt(2023, 6, 30).expect("date"),
            },
            kind: DrawKind::Regular,
            ratio: m.ratio,
            key_area_only: false,
            seed: Seed::from_text("shipped"),
            history: History::default(),
            algorithm: loaded.model.config.algorithm,
        };
        let (memory, file) = under_budget(
            &loaded,
            &files,
            &case,
            2,
            suiji::script::DEFAULT_DRAW_OPERATIONS,
        );
        let ops = memory.unwrap_or_else(|e| panic!("{}: {e}", m.id));
        assert_eq!(file, Ok(ops), "{}", m.id);
        eprintln!("{}: {ops} hook operations", m.id);
        most = most.max(ops);
    }
    assert!(most > 0);
    assert!(
        most * 1000 < suiji::script::DEFAULT_DRAW_OPERATIONS,
        "{most} is not well under 1% of the default budget"
    );
}
