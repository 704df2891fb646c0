use std::collections::{BTreeSet, HashMap};

use super::*;
use crate::registry::types::TargetStatus;

fn target(id: &str, name: &str) -> Target {
    Target {
        id: id.into(),
        name: name.into(),
        category: "hotel".into(),
        district: "d".into(),
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

fn inspector(id: &str, department: &str, quals: &[&str], conflicts: &[&str]) -> Inspector {
    Inspector {
        id: id.into(),
        name: format!("name {id}"),
        department: department.into(),
        certificate: String::new(),
        qualifications: quals.iter().map(|s| s.to_string()).collect(),
        active: true,
        area: String::new(),
        conflicts: conflicts.iter().map(|s| s.to_string()).collect(),
        extra: Default::default(),
    }
}

fn spec(team_size: u32, cap: u32) -> TeamSpec {
    TeamSpec {
        team_size,
        each: Vec::new(),
        cover: Vec::new(),
        departments: vec!["zhian".into()],
        each_department: false,
        workload_cap: cap,
        carried: Default::default(),
    }
}

fn never(_: &Inspector, _: &Target) -> Result<bool, String> {
    Ok(false)
}

fn targets(n: usize) -> Vec<Target> {
    (0..n)
        .map(|i| target(&format!("T{i:06}"), &format!("旅馆{i}")))
        .collect()
}

fn inspectors(n: usize) -> Vec<Inspector> {
    (0..n)
        .map(|i| inspector(&format!("P{i:06}"), "zhian", &["law"], &[]))
        .collect()
}

fn run(
    seed: u8,
    ts: &[Target],
    pool: &[Inspector],
    spec: &TeamSpec,
) -> (Vec<TeamOutcome>, StaffingStats) {
    let refs: Vec<&Target> = ts.iter().collect();
    assign_teams_v2(
        &Seed([seed; 32]),
        "zhian.hotel",
        "2025-Q1",
        &refs,
        pool,
        spec,
        &mut never,
    )
}

#[test]
fn fenwick_finds_the_nth_available() {
    for n in [1usize, 2, 3, 7, 8, 9, 100] {
        let flags: Vec<bool> = (0..n).map(|i| i % 3 != 1).collect();
        let mut a = Available::new(&flags);
        let mut live: Vec<usize> = (0..n).filter(|&i| flags[i]).collect();
        for round in 0..live.len() {
            for (k, &want) in live.iter().enumerate() {
                assert_eq!(a.nth(k), want, "n {n} round {round} k {k}");
            }
            let gone = live.remove((round * 7) % live.len());
            a.remove(gone);
            assert_eq!(a.count, live.len());
        }
    }
}

#[test]
fn teams_are_distinct_available_and_within_the_cap() {
    let ts = targets(300);
    let pool = inspectors(60);
    let (out, _) = run(1, &ts, &pool, &spec(3, 12));
    let mut load: HashMap<String, u32> = HashMap::new();
    for o in out.iter().filter(|o| o.unstaffed.is_none()) {
        assert_eq!(o.members.len(), 3, "{o:?}");
        let set: BTreeSet<&String> = o.members.iter().collect();
        assert_eq!(set.len(), 3);
        for m in &o.members {
            *load.entry(m.clone()).or_default() += 1;
        }
    }
    // 300 × 3 = 900 places, 60 × 12 = 720 slots: at most 240 teams; fewer than 3 inspectors
    // are left with capacity at the end.
    assert!(load.values().all(|&l| l <= 12), "{load:?}");
    let staffed = out.iter().filter(|o| o.unstaffed.is_none()).count();
    assert!((238..=240).contains(&staffed), "{staffed}");
    let last = out
        .last()
        .and_then(|o| o.unstaffed.clone())
        .unwrap_or_default();
    let left = 720 - 3 * staffed;
    let want = match left {
        0 => "no eligible inspector (need 3): 60 at workload cap".to_string(),
        n => format!(
            "only {n} eligible inspector{} (need 3): {} at workload cap",
            if n == 1 { "" } else { "s" },
            60 - n
        ),
    };
    assert_eq!(last, want);
}

/// The step's cost is a few hashes per drawn target, whatever the pool's size (version 1 hashes
/// every inspector for every target).
#[test]
fn cost_grows_with_the_drawn_targets_not_the_pool() {
    let ts = targets(2_000);
    for pool_size in [400usize, 4_000, 40_000] {
        let pool = inspectors(pool_size);
        let (out, stats) = run(2, &ts, &pool, &spec(2, 12));
        assert!(out.iter().all(|o| o.unstaffed.is_none()));
        // One digest for the staffing order, one key per target, one walk digest per target,
        // one hash per step; with nobody skipped, a team of 2 takes 2 steps (a rejected 64-bit
        // draw, probability below 10⁻¹⁴ each, would add one).
        let k = ts.len() as u64;
        assert_eq!(stats.steps, 2 * k, "pool {pool_size}");
        assert!(
            stats.hashes >= 1 + 2 * k + 2 * k && stats.hashes <= 1 + 2 * k + 2 * k + 2,
            "pool {pool_size}: {stats:?}"
        );
    }
}

/// At the cap, full inspectors leave the walk instead of being looked at again and again: the
/// cost stays linear even when the pool runs out.
#[test]
fn cost_stays_linear_when_inspectors_run_short() {
    let ts = targets(3_000);
    let pool = inspectors(400);
    let (out, stats) = run(3, &ts, &pool, &spec(2, 12));
    let staffed = out.iter().filter(|o| o.unstaffed.is_none()).count();
    // 400 × 12 = 4 800 places for 2 each: at most 2 400 teams; at the end one inspector may
    // be left with capacity and no partner.
    assert!((2_398..=2_400).contains(&staffed), "{staffed}");
    assert!(stats.hashes <= 1 + 2 * 3_000 + 2 * 3_000 + 10, "{stats:?}");
}

/// When inspectors run short, which targets go unstaffed depends on the seed, not on the order
/// of the strata: targets of every "district" are left unstaffed under some seed.
#[test]
fn unstaffed_targets_differ_by_seed() {
    // 4 districts × 10 targets, drawn in district order; 5 inspectors × cap 4 = 20 places.
    let ts: Vec<Target> = (0..40)
        .map(|i| target(&format!("D{}-{i:02}", i / 10), &format!("旅馆{i}")))
        .collect();
    let pool = inspectors(5);
    let mut unstaffed_sets: BTreeSet<Vec<String>> = BTreeSet::new();
    let mut districts_unstaffed: BTreeSet<String> = BTreeSet::new();
    for seed in 0..8u8 {
        let (out, _) = run(seed, &ts, &pool, &spec(1, 4));
        let mut gone: Vec<String> = out
            .iter()
            .filter(|o| o.unstaffed.is_some())
            .map(|o| o.target_id.clone())
            .collect();
        assert_eq!(gone.len(), 20);
        gone.sort();
        for g in &gone {
            districts_unstaffed.insert(g[..2].to_string());
        }
        unstaffed_sets.insert(gone);
    }
    assert!(unstaffed_sets.len() >= 7, "{unstaffed_sets:?}");
    assert_eq!(districts_unstaffed.len(), 4, "{districts_unstaffed:?}");
}

#[test]
fn staffing_order_is_a_keyed_permutation() {
    let ids = ["a", "b", "c", "d", "e", "f"];
    let one = staffing_order(&Seed([1; 32]), "m", "p", &ids);
    let mut sorted = one.clone();
    sorted.sort();
    assert_eq!(sorted, (0..6).collect::<Vec<_>>());
    let reversed: Vec<&str> = ids.iter().rev().copied().collect();
    let two = staffing_order(&Seed([1; 32]), "m", "p", &reversed);
    let by_id =
        |o: &[usize], ids: &[&str]| o.iter().map(|&i| ids[i].to_string()).collect::<Vec<_>>();
    assert_eq!(by_id(&one, &ids), by_id(&two, &reversed));
}

/// A joint visit: three qualifications the members hold together, two departments each
/// represented; nobody holds more than one qualification.
#[test]
fn teams_cover_qualifications_together_across_departments() {
    let ts = targets(40);
    let mut pool = Vec::new();
    for i in 0..30 {
        let (dept, q) = match i % 3 {
            0 => ("shichang", "食品安全"),
            1 => ("shichang", "价格"),
            _ => ("wenlv", "广告"),
        };
        pool.push(inspector(&format!("P{i:03}"), dept, &[q], &[]));
    }
    pool.push(inspector(
        "X-other",
        "gongan",
        &["食品安全", "价格", "广告"],
        &[],
    ));
    let spec = TeamSpec {
        team_size: 3,
        each: Vec::new(),
        cover: vec!["食品安全".into(), "价格".into(), "广告".into()],
        departments: vec!["shichang".into(), "wenlv".into()],
        each_department: true,
        workload_cap: 4,
        carried: Default::default(),
    };
    let (out, _) = run(4, &ts, &pool, &spec);
    let by_id: HashMap<&str, &Inspector> = pool.iter().map(|i| (i.id.as_str(), i)).collect();
    let mut staffed = 0;
    for o in &out {
        if o.unstaffed.is_some() {
            continue;
        }
        staffed += 1;
        let members: Vec<&Inspector> = o.members.iter().map(|m| by_id[m.as_str()]).collect();
        for q in &spec.cover {
            assert!(
                members.iter().any(|m| m.qualifications.contains(q)),
                "{o:?}"
            );
        }
        for d in &spec.departments {
            assert!(members.iter().any(|m| &m.department == d), "{o:?}");
        }
        assert!(!o.members.contains(&"X-other".to_string()));
    }
    // 10 inspectors of each qualification × cap 4 = 40 teams.
    assert_eq!(staffed, 40);
}

/// Per-member qualifications still hold, and a member can cover several needs at once.
#[test]
fn each_member_qualifications_and_multi_cover() {
    let ts = targets(5);
    let pool = vec![
        inspector("A", "zhian", &["law", "fire", "food"], &[]),
        inspector("B", "zhian", &["law"], &[]),
        inspector("C", "zhian", &["fire"], &[]),
    ];
    let spec = TeamSpec {
        each: vec!["law".into()],
        cover: vec!["fire".into(), "food".into()],
        ..spec(2, 5)
    };
    let (out, _) = run(5, &ts, &pool, &spec);
    for o in &out {
        let mut m = o.members.clone();
        m.sort();
        assert_eq!(m, ["A", "B"], "{o:?}");
    }
}

/// 回避 entries match the id or the name exactly; `*` is an explicit wildcard.
#[test]
fn avoidance_is_exact_unless_a_wildcard_is_written() {
    let ts = vec![target("T1", "福田平安酒店")];
    let substring = vec![inspector("A", "zhian", &[], &["平安"])];
    let (out, _) = run(6, &ts, &substring, &spec(1, 5));
    assert_eq!(out[0].members, ["A"], "a bare 平安 is not 福田平安酒店");
    let wildcard = vec![inspector("A", "zhian", &[], &["*平安*"])];
    let (out, _) = run(6, &ts, &wildcard, &spec(1, 5));
    assert!(out[0].members.is_empty());
    assert_eq!(
        out[0].skipped,
        [(
            "A".to_string(),
            Skip::DeclaredConflict {
                entry: "*平安*".into()
            }
        )]
    );
    assert_eq!(
        out[0].unstaffed.as_deref(),
        Some("no eligible inspector (need 1): 1 回避")
    );
    let exact = vec![inspector("A", "zhian", &[], &["福田平安酒店"])];
    let (out, _) = run(6, &ts, &exact, &spec(1, 5));
    assert!(out[0].members.is_empty());
}

#[test]
fn carried_loads_count_towards_the_cap() {
    let ts = targets(6);
    let pool = inspectors(3);
    let mut s = spec(1, 2);
    s.carried.insert("P000000".into(), 2);
    s.carried.insert("P000001".into(), 1);
    let (out, _) = run(7, &ts, &pool, &s);
    let count = |id: &str| out.iter().filter(|o| o.members == [id]).count();
    assert_eq!(
        (count("P000000"), count("P000001"), count("P000002")),
        (0, 1, 2)
    );
    assert_eq!(out.iter().filter(|o| o.unstaffed.is_some()).count(), 3);
}

#[test]
fn a_team_too_small_to_cover_is_unstaffed_with_the_reason() {
    let ts = targets(1);
    let pool = vec![
        inspector("A", "zhian", &["x"], &[]),
        inspector("B", "zhian", &["y"], &[]),
    ];
    let s = TeamSpec {
        cover: vec!["x".into(), "y".into()],
        ..spec(1, 5)
    };
    let (out, _) = run(8, &ts, &pool, &s);
    assert_eq!(
        out[0].unstaffed.as_deref(),
        Some("a team of 1 cannot cover y")
    );
}
