//! Golden vectors of `suiji-draw/2` and `suiji-manifest/2` (docs/draw-algorithm.md, part 2).
//! They were computed by the document's Python reference program; a change here breaks every
//! published version-2 draw's reproducibility and needs a new algorithm version instead.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use suiji::draw::manifest::{
    CarriedLoad, HistoryEntry, Manifest, PeriodInfo, Probability, RegistryInfo, Selected,
    StratumInfo, Substitute,
};
use suiji::draw::{
    ALGORITHM_V2, Purpose, Ranker, Seed, TeamSpec, Unit, assign_teams_v2, rank_uniform,
    staffing_order,
};
use suiji::registry::types::{Inspector, Target, TargetStatus};

const IDS: [&str; 8] = [
    "91440300MA5F000001",
    "91440300MA5F000002",
    "91440300MA5F000003",
    "旅馆-004",
    "X",
    "91440300MA5F00000Y",
    "hotel/深圳/福田/0007",
    "ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ",
];

fn seed() -> Seed {
    Seed::from_text("  2025年3月1日 见证人现场号码 0 4 7 1 9 3\n")
}

fn v2(stratum: &str, purpose: Purpose) -> Ranker {
    Ranker::versioned(
        ALGORITHM_V2,
        &seed(),
        "zhian.hotel",
        "2025-Q1",
        stratum,
        purpose,
    )
}

#[test]
fn target_keys_hash_the_version_2_string() {
    let r = v2("", Purpose::Targets);
    assert_eq!(
        hex::encode(r.params_digest()),
        "a2d1b524f0bcfa226d677024804bdb6391cf48ef6d6b2329a38a6b262051069e"
    );
    let units: Vec<Unit> = IDS.iter().map(|i| Unit::new(i)).collect();
    let order: Vec<usize> = rank_uniform(&r, &units).iter().map(|x| x.index).collect();
    assert_eq!(order, [6, 3, 7, 4, 5, 1, 0, 2]);
}

#[test]
fn staffing_order_vector() {
    assert_eq!(
        hex::encode(v2("", Purpose::Staffing).params_digest()),
        "a25348680535511979121a27cf4907b724f5deddad6f7da6ed21ba4cbc2b6ec6"
    );
    let order = staffing_order(&seed(), "zhian.hotel", "2025-Q1", &IDS);
    assert_eq!(order, [5, 7, 1, 2, 3, 0, 4, 6]);
    assert_eq!(
        hex::encode(v2("旅馆-004", Purpose::Walk).params_digest()),
        "dbf3173afd05c503f004770073f376455ce3add84ecd6de4171c560db234f4f6"
    );
}

fn target(id: &str, name: &str) -> Target {
    Target {
        id: id.into(),
        name: name.into(),
        category: "hotel".into(),
        district: String::new(),
        address: String::new(),
        key_area: false,
        class: None,
        licence: None,
        status: TargetStatus::Active,
        last_inspected: None,
        last_result: None,
        extra: Default::default(),
    }
}

fn inspector(id: &str, dept: &str, quals: &[&str], conflicts: &[&str]) -> Inspector {
    Inspector {
        id: id.into(),
        name: id.into(),
        department: dept.into(),
        certificate: String::new(),
        qualifications: quals.iter().map(|s| s.to_string()).collect(),
        active: true,
        area: String::new(),
        conflicts: conflicts.iter().map(|s| s.to_string()).collect(),
        extra: Default::default(),
    }
}

type Row = (String, Vec<String>, Vec<String>);

fn teams(matter: &str, targets: &[Target], pool: &[Inspector], spec: &TeamSpec) -> Vec<Row> {
    let refs: Vec<&Target> = targets.iter().collect();
    let (out, _) = assign_teams_v2(
        &seed(),
        matter,
        "2025-Q1",
        &refs,
        pool,
        spec,
        &mut |_, _| Ok(false),
    );
    out.into_iter()
        .map(|o| {
            let skipped = o.skipped.iter().map(|(i, _)| i.clone()).collect();
            (o.target_id, o.members, skipped)
        })
        .collect()
}

fn row(t: &str, members: &[&str], skipped: &[&str]) -> Row {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect();
    (t.to_string(), s(members), s(skipped))
}

#[test]
fn team_vectors() {
    let targets = [
        target("91440300MA5F000001", "福田平安酒店"),
        target("旅馆-004", "顺心旅馆"),
    ];
    let mut pool = vec![
        inspector("I-001", "zhian", &[], &[]),
        inspector("I-002", "zhian", &["law"], &[]),
        inspector("I-003", "zhian", &["law"], &[]),
        inspector("I-004", "zhian", &["law"], &[]),
        inspector("I-005", "zhian", &["law"], &[]),
        inspector("张三-006", "zhian", &["law"], &["旅馆", "*旅馆*"]),
    ];
    pool[4].active = false;
    let spec = TeamSpec {
        team_size: 2,
        each: vec!["law".into()],
        cover: Vec::new(),
        departments: vec!["zhian".into()],
        each_department: false,
        workload_cap: 1,
        carried: BTreeMap::new(),
    };
    assert_eq!(
        teams("zhian.hotel", &targets, &pool, &spec),
        [
            row("旅馆-004", &["I-002", "I-003"], &[]),
            row("91440300MA5F000001", &["张三-006", "I-004"], &[]),
        ]
    );
    let joint_pool = [
        inspector("S-01", "shichang", &["食品安全"], &[]),
        inspector("S-02", "shichang", &["价格"], &[]),
        inspector("S-03", "shichang", &["食品安全", "价格"], &[]),
        inspector("W-01", "wenlv", &["广告"], &[]),
        inspector("W-02", "wenlv", &["广告", "价格"], &[]),
        inspector("W-03", "wenlv", &[], &["*平安*"]),
    ];
    let joint = TeamSpec {
        team_size: 3,
        each: Vec::new(),
        cover: vec!["食品安全".into(), "价格".into()],
        departments: vec!["shichang".into(), "wenlv".into()],
        each_department: true,
        workload_cap: 2,
        carried: BTreeMap::new(),
    };
    let targets = [
        target("91440300MA5F000001", "福田平安酒店"),
        target("旅馆-004", "顺心旅馆"),
        target("X", "X 商店"),
    ];
    assert_eq!(
        teams("joint.visit", &targets, &joint_pool, &joint),
        [
            row("X", &["S-03", "W-01", "W-02"], &[]),
            row("91440300MA5F000001", &["S-03", "W-01", "S-02"], &["W-03"]),
            row("旅馆-004", &["S-01", "S-02", "W-03"], &[]),
        ]
    );
}

/// A small `suiji-manifest/2`: its canonical bytes are what any JSON library writes for it
/// (compact, keys in order, no float), and its hash is pinned.
#[test]
fn manifest_2_vector() {
    let mut m = vector_manifest();
    let json = serde_json::to_string(&m).expect("json");
    assert!(json.contains(r#""inclusion_probability":"0.3333333333333333""#));
    assert!(json.contains(r#""target_name":"福田\"平安\"酒店\n""#));
    m.manifest_hash = m.compute_hash();
    assert_eq!(
        m.manifest_hash, "03957e69bd2a4b50dc374366d52238108270db8529edeb48775fae9aed013ddf",
        "{json}"
    );
    let back: Manifest = serde_json::from_str(&json).expect("reads back");
    assert_eq!(
        back.selected[0].inclusion_probability,
        Probability::Decimal(1.0 / 3.0)
    );
    assert_eq!(back.carried_loads, None, "absent: the bytes above are kept");
    // V2-16: loads carried in from the period's other draws, after `history`.
    m.carried_loads = Some(vec![
        CarriedLoad {
            inspector_id: "I-002".into(),
            load: 1,
        },
        CarriedLoad {
            inspector_id: "I-003".into(),
            load: 2,
        },
    ]);
    m.manifest_hash = String::new();
    let json = serde_json::to_string(&m).expect("json");
    assert!(json.contains(
        r#""last_clean":null}],"carried_loads":[{"inspector_id":"I-002","load":1},{"inspector_id":"I-003","load":2}],"strata":"#
    ));
    assert_eq!(
        m.compute_hash(),
        "3113a479858799051539d1f73e6f4316a12143e899c4a042b24b987c3c4b147d",
        "{json}"
    );
}

/// docs/draw-algorithm.md V2-14: the same manifest as a draw of a matter with
/// `class_frequency` records the classes its period (2025-Q1: B, C, D, not A) covers, after
/// `classes_without_ratio`; the manifest without them keeps its bytes.
#[test]
fn manifest_2_vector_with_classes_covered() {
    let mut m = vector_manifest();
    m.classes_due = Some(vec!["B".into(), "C".into(), "D".into()]);
    m.classes_not_due = Some(vec!["A".into()]);
    let json = serde_json::to_string(&m).expect("json");
    assert!(
        json.contains(r#""classes_without_ratio":["E"],"classes_due":["B","C","D"],"classes_not_due":["A"],"selected":"#),
        "{json}"
    );
    m.manifest_hash = m.compute_hash();
    assert_eq!(
        m.manifest_hash, "4fca67bc23429b4e25a798977fbc71019a146ca8af77150ce4b4ee733e826cb6",
        "{json}"
    );
    let back: Manifest = serde_json::from_str(&json).expect("reads back");
    assert_eq!(back.classes_not_due, Some(vec!["A".to_string()]));
}

/// The manifest of V2-6.3.
fn vector_manifest() -> Manifest {
    let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date");
    Manifest {
        format: "suiji-manifest/2".into(),
        algorithm: ALGORITHM_V2.into(),
        bureau: "平邑县公安局".into(),
        matter: "zhian.hotel".into(),
        matter_name: "旅馆业".into(),
        department: "zhian".into(),
        period: PeriodInfo {
            id: "2025-Q1".into(),
            start: d("2025-01-01"),
            end: d("2025-03-31"),
        },
        kind: "regular".into(),
        ratio_ppm: 50_000,
        key_area_only: false,
        reference_date: d("2025-01-02"),
        issue_at: "2025-01-02T09:00".into(),
        drawn_at: Some("2025-01-02T09:00:03+08:00".into()),
        due_date: d("2025-01-31"),
        seed: seed().to_hex(),
        seed_source: "witness digits: 0 4 7 1 9 3".into(),
        rules_hash: "0".repeat(64),
        registry: RegistryInfo::default(),
        history: vec![HistoryEntry {
            target_id: "X".into(),
            inspections_this_year: 1,
            last_clean: None,
        }],
        carried_loads: None,
        strata: vec![StratumInfo {
            stratum: "".into(),
            ratio_ppm: 50_000,
            eligible: 3,
            k: 1,
            cap_ppm: None,
        }],
        classes_without_ratio: Some(vec!["E".into()]),
        classes_due: None,
        classes_not_due: None,
        selected: vec![Selected {
            rank: 1,
            stratum: "".into(),
            target_id: "hotel/深圳/福田/0007".into(),
            target_name: "福田\"平安\"酒店\n".into(),
            key: "ab".repeat(32),
            inclusion_probability: Probability::Decimal(1.0 / 3.0),
            team: vec!["I-002".into(), "I-003".into()],
            unstaffed: None,
        }],
        substitutes: Some(vec![Substitute {
            stratum: "".into(),
            rank: 2,
            target_id: "X".into(),
            key: "cd".repeat(32),
        }]),
        exclusions: Vec::new(),
        exclusion_summary: None,
        inspector_skips: Vec::new(),
        public_bundle: None,
        manifest_hash: String::new(),
    }
}

/// V2-16: the loads carried in from the period's other draws are where the team step starts.
#[test]
fn carried_load_vectors() {
    let targets = [
        target("91440300MA5F000001", "福田平安酒店"),
        target("旅馆-004", "顺心旅馆"),
    ];
    let mut pool = vec![
        inspector("I-001", "zhian", &[], &[]),
        inspector("I-002", "zhian", &["law"], &[]),
        inspector("I-003", "zhian", &["law"], &[]),
        inspector("I-004", "zhian", &["law"], &[]),
        inspector("I-005", "zhian", &["law"], &[]),
        inspector("张三-006", "zhian", &["law"], &["旅馆", "*旅馆*"]),
    ];
    pool[4].active = false;
    let spec = |cap: u32, carried: &[(&str, u32)]| TeamSpec {
        team_size: 2,
        each: vec!["law".into()],
        cover: Vec::new(),
        departments: vec!["zhian".into()],
        each_department: false,
        workload_cap: cap,
        carried: carried.iter().map(|(i, n)| (i.to_string(), *n)).collect(),
    };
    assert_eq!(
        teams(
            "zhian.hotel",
            &targets,
            &pool,
            &spec(2, &[("I-002", 1), ("I-003", 2)])
        ),
        [
            row("旅馆-004", &["I-002", "I-004"], &["张三-006"]),
            row("91440300MA5F000001", &["张三-006", "I-004"], &[]),
        ]
    );
    let refs: Vec<&Target> = targets.iter().collect();
    let (out, _) = assign_teams_v2(
        &seed(),
        "zhian.hotel",
        "2025-Q1",
        &refs,
        &pool,
        &spec(1, &[("I-002", 1)]),
        &mut |_, _| Ok(false),
    );
    assert_eq!(out[0].members, ["I-003", "I-004"]);
    assert_eq!(out[1].members, Vec::<String>::new());
    assert_eq!(
        out[1].unstaffed.as_deref(),
        Some("only 1 eligible inspector (need 2): 3 at workload cap")
    );
}
