//! Golden vectors for `suiji-draw/1`. These pin the algorithm: if one fails, the change breaks
//! every published draw's reproducibility and needs a new ALGORITHM_VERSION instead.
//! The same numbers appear in docs/draw-algorithm.md and are reproduced there by an independent
//! Python implementation.

use suiji::draw::{
    ALGORITHM_VERSION, Purpose, Ranker, Seed, Skip, TeamRules, Unit, assign_teams,
    inclusion_probabilities, rank_pareto, rank_uniform, top_k_uniform,
};
use suiji::registry::types::{Inspector, Target, TargetStatus};

const WITNESS_TEXT: &str = "  2025年3月1日 见证人现场号码 0 4 7 1 9 3\n";
const SEED_HEX: &str = "73fd20f181f81bae8d8b751bdd25f075a1ab7daa8052572a5c3c7ccc38d245e6";
const MATTER: &str = "zhian.hotel";
const PERIOD: &str = "2025-Q1";

const IDS: [&str; 8] = [
    "91440300MA5F000001",
    "91440300MA5F000002",
    "91440300MA5F000003",
    "旅馆-004",
    "X",
    "91440300MA5F00000Y",
    "hotel/深圳/福田/0007",
    // 56 bytes: the key hash needs two compressions after the prefix.
    "ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ",
];

fn seed() -> Seed {
    Seed::from_hex(SEED_HEX).expect("valid hex")
}

fn units() -> Vec<Unit<'static>> {
    IDS.iter().map(|id| Unit::new(id)).collect()
}

fn ids_in_order(ranked: &[suiji::draw::Ranked]) -> Vec<usize> {
    ranked.iter().map(|r| r.index).collect()
}

#[test]
fn version_and_seed_from_text() {
    assert_eq!(ALGORITHM_VERSION, "suiji-draw/1");
    assert_eq!(Seed::from_text(WITNESS_TEXT), seed());
    assert_eq!(Seed::from_text(WITNESS_TEXT).to_hex(), SEED_HEX);
}

#[test]
fn vector_1_unstratified_uniform() {
    let ranker = Ranker::new(&seed(), MATTER, PERIOD, "", Purpose::Targets);
    assert_eq!(
        hex::encode(ranker.params_digest()),
        "610a2b3d7a0f496076460da75169cedfc0d0788289589304f92b29eef2bb8be1"
    );
    let expected: [(&str, &str, f64); 8] = [
        (
            "91440300MA5F000001",
            "07702af7bcce13a8780b5f1c3c070ab4cc119528d9894201d9aa13f4020c480d",
            0.029055295450966745,
        ),
        (
            "91440300MA5F000002",
            "e684913f2a9a0ffe99595dee3716e03fbfdb52601b31fc4cd42f00691d4ef9f5",
            0.900460317536819,
        ),
        (
            "91440300MA5F000003",
            "3f26413b79f56a15ba95d98c6140f7ae4ec70128ecd3de29dcf69e302243c1c7",
            0.2466774721342141,
        ),
        (
            "旅馆-004",
            "e1c9f3755ed1ff265ab228978f44be0eba36d1dcafb894f055d05ecc55ba94fe",
            0.8819877778576667,
        ),
        (
            "X",
            "ceac6bc6cb8aeb62eba2eb458482282985a9c31a6d0d953c051b453b4c24101a",
            0.8073184357013293,
        ),
        (
            "91440300MA5F00000Y",
            "e1f4d1a19ec1d959a2289825c687c598d2aa3e0d254afea90cc3fb7a0291c05e",
            0.8826418895321305,
        ),
        (
            "hotel/深圳/福田/0007",
            "5ad76b92bdf19a17b458bac1ba635cb36acf5ba684d67ad14e2af685a03b7daa",
            0.35484955151145525,
        ),
        (
            "ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ",
            "997d32352b977ecc956e5f8ede5c13167f5d5b591dae6cfa1cf25537afcc282e",
            0.5995665912447218,
        ),
    ];
    for (id, key, u) in expected {
        assert_eq!(hex::encode(ranker.key(id)), key, "{id}");
        assert_eq!(ranker.uniform(id).to_bits(), u.to_bits(), "{id}");
    }
    let ranked = rank_uniform(&ranker, &units());
    assert_eq!(ids_in_order(&ranked), [0, 2, 6, 7, 4, 3, 5, 1]);
    assert_eq!(ranked[0].key_hex, expected[0].1);
    assert_eq!(
        ranked.iter().map(|r| r.rank).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5, 6, 7, 8]
    );
    // k = ⌈5% × 8⌉ = 1; ⌈50% × 8⌉ = 4.
    let top = top_k_uniform(&ranker, &units(), 4);
    assert_eq!(ids_in_order(&top), [0, 2, 6, 7]);
    assert!(
        top.iter()
            .all(|r| r.inclusion_probability == 0.5 && !r.certain)
    );
}

#[test]
fn vector_2_stratum() {
    let ranker = Ranker::new(&seed(), MATTER, PERIOD, "福田区", Purpose::Targets);
    assert_eq!(
        hex::encode(ranker.params_digest()),
        "7020e1cb50d0f5a0c3b2777b270e725ad1d84b363ca7de434e25a81e7ea91b17"
    );
    assert_eq!(
        hex::encode(ranker.key("91440300MA5F00000Y")),
        "0caf745b0ba2f2f8b7ebd0298bad079e506b968598f92c1f48c1f33660894923"
    );
    assert_eq!(
        hex::encode(ranker.key("旅馆-004")),
        "93b32367a5993a6612536271c0e72536cbdcda4f9d9dc3f89b4052d73389848b"
    );
    let ranked = rank_uniform(&ranker, &units());
    assert_eq!(ids_in_order(&ranked), [5, 2, 0, 7, 3, 6, 4, 1]);
}

const WEIGHTS: [f64; 8] = [1.0, 2.0, 3.0, 5.0, 8.0, 1.0, 1.5, 20.0];

fn weighted() -> Vec<Unit<'static>> {
    IDS.iter()
        .zip(WEIGHTS)
        .map(|(id, w)| Unit::weighted(id, w))
        .collect()
}

#[test]
fn vector_3_pareto_k3() {
    let ranker = Ranker::new(&seed(), MATTER, PERIOD, "", Purpose::Targets);
    let lambda = [
        0.09302325581395349,
        0.18604651162790697,
        0.27906976744186046,
        0.46511627906976744,
        0.7441860465116279,
        0.09302325581395349,
        0.13953488372093023,
        1.0,
    ];
    let got = inclusion_probabilities(&WEIGHTS, 3);
    assert_eq!(
        got.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
        lambda.map(f64::to_bits)
    );
    let ranked = rank_pareto(&ranker, &weighted(), 3).expect("valid");
    assert_eq!(ids_in_order(&ranked), [7, 0, 2, 4, 6, 3, 1, 5]);
    assert!(ranked[0].certain && ranked[1..].iter().all(|r| !r.certain));
    for r in &ranked {
        assert_eq!(r.inclusion_probability.to_bits(), lambda[r.index].to_bits());
    }
}

#[test]
fn vector_4_pareto_k6_capping_in_four_rounds() {
    let ranker = Ranker::new(&seed(), MATTER, PERIOD, "", Purpose::Targets);
    let lambda = [
        0.36363636363636365,
        0.7272727272727273,
        1.0,
        1.0,
        1.0,
        0.36363636363636365,
        0.5454545454545454,
        1.0,
    ];
    let got = inclusion_probabilities(&WEIGHTS, 6);
    assert_eq!(
        got.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
        lambda.map(f64::to_bits)
    );
    let ranked = rank_pareto(&ranker, &weighted(), 6).expect("valid");
    // Certainty units by key first, then by Q.
    assert_eq!(ids_in_order(&ranked), [2, 7, 4, 3, 0, 6, 1, 5]);
    assert_eq!(
        ranked.iter().map(|r| r.certain).collect::<Vec<_>>(),
        [true, true, true, true, false, false, false, false]
    );
}

fn target(id: &str, name: &str) -> Target {
    Target {
        id: id.into(),
        name: name.into(),
        category: "hotel".into(),
        district: "福田区".into(),
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

fn inspector(id: &str, quals: &[&str], active: bool, conflicts: &[&str]) -> Inspector {
    Inspector {
        id: id.into(),
        name: id.into(),
        department: "zhian".into(),
        certificate: String::new(),
        qualifications: quals.iter().map(|s| s.to_string()).collect(),
        active,
        area: String::new(),
        conflicts: conflicts.iter().map(|s| s.to_string()).collect(),
        extra: Default::default(),
    }
}

#[test]
fn vector_5_team_ranking_and_assignment() {
    let t1 = target("91440300MA5F000001", "福田平安酒店");
    let t2 = target("旅馆-004", "顺心旅馆");
    let team_ids = ["I-001", "I-002", "I-003", "I-004", "I-005", "张三-006"];
    let expected_order: [(&str, [&str; 6]); 2] = [
        (
            "91440300MA5F000001",
            ["I-005", "张三-006", "I-002", "I-001", "I-004", "I-003"],
        ),
        (
            "旅馆-004",
            ["I-002", "I-001", "I-003", "张三-006", "I-004", "I-005"],
        ),
    ];
    for (target_id, order) in expected_order {
        let r = Ranker::new(&seed(), MATTER, PERIOD, target_id, Purpose::Team);
        let units: Vec<Unit> = team_ids.iter().map(|id| Unit::new(id)).collect();
        let got: Vec<&str> = rank_uniform(&r, &units)
            .iter()
            .map(|x| team_ids[x.index])
            .collect();
        assert_eq!(got, order, "{target_id}");
    }
    let r = Ranker::new(&seed(), MATTER, PERIOD, "旅馆-004", Purpose::Team);
    assert_eq!(hex::encode(&r.key("I-002")[..8]), "1df991a91a9241b4");

    let inspectors = vec![
        inspector("I-001", &[], true, &[]),
        inspector("I-002", &["law"], true, &[]),
        inspector("I-003", &["law"], true, &[]),
        inspector("I-004", &["law"], true, &[]),
        inspector("I-005", &["law"], false, &[]),
        inspector("张三-006", &["law"], true, &["旅馆"]),
    ];
    let quals = vec!["law".to_string()];
    let rules = TeamRules {
        team_size: 2,
        qualifications: &quals,
        department: "zhian",
        workload_cap: 1,
    };
    let mut hook = |_: &Inspector, _: &Target| Ok(false);
    let out = assign_teams(
        &seed(),
        MATTER,
        PERIOD,
        &[&t1, &t2],
        &inspectors,
        &rules,
        &mut hook,
    );
    assert_eq!(out[0].members, ["张三-006", "I-002"]);
    assert_eq!(out[0].skipped, [("I-005".to_string(), Skip::Inactive)]);
    assert_eq!(out[1].members, ["I-003", "I-004"]);
    assert_eq!(
        out[1].skipped,
        [
            ("I-002".to_string(), Skip::AtCapacity { load: 1 }),
            (
                "I-001".to_string(),
                Skip::Unqualified {
                    missing: vec!["law".into()]
                }
            ),
            (
                "张三-006".to_string(),
                Skip::DeclaredConflict {
                    entry: "旅馆".into()
                }
            ),
        ]
    );
    assert!(out.iter().all(|o| o.unstaffed.is_none()));
}
