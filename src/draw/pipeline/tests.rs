//! Each phase on its own, over targets in memory: classifying (reasons, strata, history),
//! planning (k, λ), selecting (the top k of each stratum in the draw order, as the ranking
//! functions the golden vectors pin give it), and the failure order.

use std::path::Path;

use chrono::NaiveDate;

use super::memory::MemorySource;
use super::rows::{Classified, RowSource};
use super::rules::{Reason, Rules};
use super::{DrawInput, History, Options, Source, choose, plan};
use crate::draw::manifest::{HistoryEntry, RegistryInfo};
use crate::draw::{Algorithm, Purpose, Ranker, Seed, Unit, rank_pareto, top_k_uniform};
use crate::registry::types::{Target, TargetStatus};
use crate::rules::Loaded;
use crate::rules::model::{Matter, Ratio};
use crate::schedule::{DrawKind, Period};
use crate::script::{Hook, HookKind, Script};

fn loaded() -> Loaded {
    match crate::rules::load(Path::new("config/suiji.toml")) {
        Ok(l) => l,
        Err(e) => panic!("shipped rules do not load:\n{}", e.render()),
    }
}

fn target(i: usize) -> Target {
    Target {
        id: format!("T{i:04}"),
        name: format!("旅馆{i}"),
        category: "hotel".into(),
        district: ["平邑街道", "仲村镇", "武台镇"][i % 3].into(),
        address: String::new(),
        key_area: i.is_multiple_of(2),
        class: Some(["A", "B", "C", "D"][i % 4].into()),
        licence: None,
        status: if i.is_multiple_of(11) {
            TargetStatus::Deregistered
        } else {
            TargetStatus::Active
        },
        last_inspected: i
            .is_multiple_of(7)
            .then(|| NaiveDate::from_ymd_opt(2023, 12, 1).expect("date")),
        last_result: i.is_multiple_of(7).then(|| "未发现问题".to_string()),
        extra: Default::default(),
    }
}

fn period() -> Period {
    Period {
        id: "2024-H1".into(),
        start: NaiveDate::from_ymd_opt(2024, 1, 1).expect("date"),
        end: NaiveDate::from_ymd_opt(2024, 6, 30).expect("date"),
    }
}

fn input<'a>(m: &'a Matter, p: &'a Period, history: &'a History) -> DrawInput<'a> {
    DrawInput {
        algorithm: Algorithm::LATEST,
        bureau: "b",
        matter: m,
        rules_hash: "",
        period: p,
        kind: DrawKind::Regular,
        ratio: m.ratio,
        key_area_only: false,
        reference_date: NaiveDate::from_ymd_opt(2024, 1, 2).expect("date"),
        issue_at: String::new(),
        due: p.end,
        seed: Seed::from_text("phases"),
        seed_source: "test",
        inspectors: &[],
        registry: RegistryInfo::default(),
        history,
        team: None,
        drawn_at: String::new(),
        exclusions_in_file: false,
    }
}

/// A hook `function` of a script compiled from `source` by the shipped sandbox.
fn hook(l: &Loaded, kind: HookKind, source: &str, function: &str) -> Hook {
    let ast = l.sandbox.compile(source).expect("compiles");
    Hook {
        kind,
        script: std::sync::Arc::new(Script {
            path: "t.rhai".into(),
            name: "t.rhai".into(),
            source: source.into(),
            ast,
        }),
        function: function.into(),
        reads: None,
    }
}

fn classify(targets: &[Target], rules: &Rules<'_>) -> Classified {
    MemorySource { targets }
        .classify(rules, None)
        .expect("classified")
}

#[test]
fn classify_gives_reasons_strata_and_history() {
    let l = loaded();
    let m = l.model.matter("zhian.hotel").expect("hotel").clone();
    let targets: Vec<Target> = (0..60).map(target).collect();
    let mut history = History::default();
    let capped = HistoryEntry {
        target_id: String::new(),
        inspections_this_year: 2,
        last_clean: None,
    };
    history.entries.insert("T0001".into(), capped.clone());
    history.entries.insert("T0011".into(), capped); // deregistered: never checked
    let p = period();
    let d = input(&m, &p, &history);
    let rules = Rules::new(&d, &l.sandbox, usize::MAX);
    let c = classify(&targets, &rules);
    let count = |reason: Reason| -> u64 {
        c.groups
            .iter()
            .zip(&c.counts)
            .filter(|(g, _)| g.reason == reason)
            .map(|(_, n)| n)
            .sum()
    };
    let deregistered = (0..60).filter(|i| i % 11 == 0).count() as u64;
    let cooling = (0..60).filter(|i| i % 7 == 0 && i % 11 != 0).count() as u64;
    assert_eq!(count(Reason::Deregistered), deregistered);
    assert_eq!(count(Reason::Cooldown), cooling);
    assert_eq!(count(Reason::YearlyCap), 1);
    // The entries checked against, by their places in id order (T0011 is deregistered).
    assert_eq!(c.history_used, [0]);
    let used = history.at_places(&c.history_used);
    assert_eq!(
        used.iter()
            .map(|h| h.target_id.as_str())
            .collect::<Vec<_>>(),
        ["T0001"]
    );
    let mut names: Vec<&str> = c.strata.iter().map(|s| s.0.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["仲村镇", "平邑街道", "武台镇"]);
    let drawn: usize = c.batches.iter().map(|b| b.drawn.len()).sum();
    assert_eq!(drawn as u64, 60 - deregistered - cooling - 1);
}

#[test]
fn plan_and_select_agree_with_the_ranking_functions() {
    let l = loaded();
    let hotel = l.model.matter("zhian.hotel").expect("hotel").clone();
    let targets: Vec<Target> = (0..400).map(target).collect();
    let none = History::default();
    let p = period();
    for weighted in [false, true] {
        let mut m = hotel.clone();
        m.ratio = Ratio::from_ppm(150_000).expect("ratio");
        m.cooldown_months = None;
        if !weighted {
            m.weight = None;
        }
        let d = input(&m, &p, &none);
        let rules = Rules::new(&d, &l.sandbox, usize::MAX);
        let mut c = classify(&targets, &rules);
        plan::check_eligible(&c).expect("no eligible hook");
        let plans = plan::strata(&c, &rules).expect("planned");
        let fates = plan::fates(&c, &plans);
        let source = MemorySource { targets: &targets };
        let extra: Vec<usize> = plans
            .iter()
            .map(|p| super::substitutes_of(p.n, p.k))
            .collect();
        let ((selected, _, substitutes), _) =
            choose::select(&source, &mut c, &plans, &fates, (&extra, true, false))
                .expect("selected");
        for plan in &plans {
            let members: Vec<&Target> = targets
                .iter()
                .filter(|t| t.status == TargetStatus::Active && t.district == plan.name)
                .collect();
            assert_eq!(plan.n, members.len());
            assert_eq!(plan.k, m.ratio.sample_size(members.len()));
            let weight = |t: &Target| match t.class.as_deref() {
                Some("D") => 5.0,
                Some("C") => 3.0,
                Some("B") => 2.0,
                _ => 1.0,
            };
            let units: Vec<Unit> = members
                .iter()
                .map(|t| Unit::weighted(&t.id, if weighted { weight(t) } else { 1.0 }))
                .collect();
            let r = Ranker::versioned(
                d.algorithm.name(),
                &d.seed,
                &m.id,
                &p.id,
                &plan.name,
                Purpose::Targets,
            );
            let spare = super::substitutes_of(plan.n, plan.k);
            let mut want = if weighted {
                let mut all = rank_pareto(&r, &units, plan.k).expect("weights");
                all.truncate(plan.k + spare);
                all
            } else {
                top_k_uniform(&r, &units, plan.k + spare)
            };
            let want_spare = want.split_off(plan.k);
            same_substitutes(&substitutes, &plan.name, &units, &want_spare);
            let got: Vec<_> = selected.iter().filter(|s| s.stratum == plan.name).collect();
            assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(&want) {
                assert_eq!(g.target_id, units[w.index].id);
                assert_eq!((g.rank, &g.key), (w.rank, &w.key_hex));
                if !weighted {
                    // top_k_uniform was asked for k + substitutes: its k/n is not the draw's.
                    assert_eq!(
                        g.inclusion_probability.value(),
                        crate::draw::uniform::uniform_probability(plan.n, plan.k).0
                    );
                } else {
                    assert_eq!(g.inclusion_probability.value(), w.inclusion_probability);
                }
            }
        }
    }
}

/// The substitutes of stratum `name` are the ranks after k of the ranking functions.
fn same_substitutes(
    got: &[crate::draw::manifest::Substitute],
    name: &str,
    units: &[Unit],
    want: &[crate::draw::Ranked],
) {
    let got: Vec<_> = got.iter().filter(|s| s.stratum == name).collect();
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g.target_id, units[w.index].id);
        assert_eq!((g.rank, &g.key), (w.rank, &w.key_hex));
    }
}

#[test]
fn an_eligible_failure_comes_before_a_weight_failure() {
    let l = loaded();
    let mut m = l.model.matter("zhian.hotel").expect("hotel").clone();
    let source = "fn bad_late(target, ctx) { if target.id == \"T0039\" { throw \"late\"; } true }\n\
                  fn bad_weight(target, ctx) { if target.id == \"T0002\" { throw \"early\"; } 1 }";
    m.eligible = Some(hook(&l, HookKind::Eligible, source, "bad_late"));
    m.weight = Some(hook(&l, HookKind::Weight, source, "bad_weight"));
    let targets: Vec<Target> = (0..60).map(target).collect();
    let none = History::default();
    let p = period();
    let d = input(&m, &p, &none);
    let got = super::run(
        &d,
        Source::Memory(&targets),
        &l.sandbox,
        &Options::default(),
    );
    match got {
        Err(super::DrawFailure::Hook(e)) => assert!(e.message.contains("late"), "{e}"),
        other => panic!("expected the eligible hook's failure, got {other:?}"),
    }
}

#[test]
fn a_conflict_hook_that_answers_neither_true_nor_false_fails_the_draw() {
    let l = loaded();
    let mut m = l.model.matter("zhian.hotel").expect("hotel").clone();
    let source =
        "fn unit_answer(inspector, target) { if target.id == \"T0001\" { () } else { false } }";
    m.conflict = Some(hook(&l, HookKind::Conflict, source, "unit_answer"));
    m.ratio = Ratio::from_ppm(1_000_000).expect("100%");
    m.class_ratios.clear();
    let inspectors: Vec<crate::registry::types::Inspector> = (0..6)
        .map(|i| crate::registry::types::Inspector {
            id: format!("I{i}"),
            name: format!("检查员{i}"),
            department: m.department.clone(),
            certificate: format!("C{i}"),
            qualifications: m.qualifications.clone(),
            active: true,
            area: String::new(),
            conflicts: Vec::new(),
            extra: Default::default(),
        })
        .collect();
    let targets: Vec<Target> = (0..4).map(target).collect();
    let none = History::default();
    let p = period();
    let mut d = input(&m, &p, &none);
    d.ratio = m.ratio;
    d.inspectors = &inspectors;
    let got = super::run(
        &d,
        Source::Memory(&targets),
        &l.sandbox,
        &Options::default(),
    );
    match got {
        Err(super::DrawFailure::HookType { hook, target, .. }) => {
            assert_eq!((hook.as_str(), target.as_str()), ("unit_answer", "T0001"));
        }
        other => panic!("expected the conflict hook's type failure, got {other:?}"),
    }
}

/// A draw whose detail file and frame are made as the rows are read again (hashed only, or
/// written) gives the manifest, bundle and exclusions of the same draw listed whole, with the
/// rows in id order (made as read) and out of it (listed and sorted first; a frame in id order
/// written again from its start), the frame in id order alone, each entry an array
/// (`suiji-public-bundle/4`) or an object (`/3`, a re-run of a `suiji-manifest/5`), or by
/// stratum then id (`/2`, a re-run of a `suiji-manifest/4`).
#[test]
fn exclusions_and_frame_made_as_read_are_those_listed_whole() {
    use super::{BundleOut, ExclusionsOut, Public};
    use std::io::{Read as _, Seek as _};
    let l = loaded();
    let m = l.model.matter("zhian.hotel").expect("hotel").clone();
    let none = History::default();
    let p = period();
    let mut d = input(&m, &p, &none);
    d.exclusions_in_file = true;
    let fields = ["name".to_string(), "district".to_string()];
    let in_order: Vec<Target> = (0..300).map(target).collect();
    let reversed: Vec<Target> = in_order.iter().rev().cloned().collect();
    for (by_id, compact) in [(true, true), (true, false), (false, false)] {
        let run = |targets: &[Target], bundle: BundleOut<'_>, exclusions: ExclusionsOut<'_>| {
            let public = Public {
                fields: &fields,
                record: true,
                out: bundle,
                summarised: true,
                by_id,
                compact,
            };
            let opts = Options {
                exclusions,
                ..Options::default()
            };
            super::run_public(
                &d,
                Source::Memory(targets),
                &l.sandbox,
                &opts,
                Some(&public),
            )
            .expect("drawn")
        };
        let whole = run(&in_order, BundleOut::Keep, ExclusionsOut::Keep);
        assert!(whole.manifest.exclusion_summary.is_some());
        assert!(whole.manifest.public_bundle.is_some());
        assert!(whole.excluded.len() > 20);
        let bundle = whole.bundle.as_ref().expect("kept");
        check_bundle_order(&whole.manifest, bundle, (by_id, compact));
        for targets in [&in_order, &reversed] {
            let all = ExclusionsOut::Hash {
                keep_up_to: usize::MAX,
            };
            let made = run(targets, BundleOut::Hash, all);
            assert_eq!(made.manifest, whole.manifest);
            assert_eq!(made.excluded, whole.excluded);
            let none = ExclusionsOut::Hash { keep_up_to: 10 };
            let few = run(targets, BundleOut::Hash, none);
            assert_eq!(few.manifest, whole.manifest);
            assert!(few.excluded.is_empty());
            // Written to a file: the very bytes of the bundle made whole.
            let file = std::cell::RefCell::new(tempfile::tempfile().expect("file"));
            let written = run(targets, BundleOut::Write(&file), ExclusionsOut::Keep);
            assert_eq!(written.manifest, whole.manifest);
            let mut bytes = Vec::new();
            let mut file = file.into_inner();
            file.rewind().expect("rewind");
            file.read_to_end(&mut bytes).expect("read");
            assert!(bytes == bundle.to_bytes(), "the written bundle differs");
        }
    }
}

/// A kept bundle: of the version `by_id` and `compact` say, checking, its frame in that
/// version's order, read back from its bytes as it was made.
fn check_bundle_order(
    m: &crate::draw::manifest::Manifest,
    bundle: &crate::draw::bundle::PublicBundle,
    (by_id, compact): (bool, bool),
) {
    let (format, bundle_format) = match (by_id, compact) {
        (true, true) => ("suiji-manifest/6", "suiji-public-bundle/4"),
        (true, false) => ("suiji-manifest/5", "suiji-public-bundle/3"),
        _ => ("suiji-manifest/4", "suiji-public-bundle/2"),
    };
    assert_eq!(
        (m.format.as_str(), bundle.format.as_str()),
        (format, bundle_format)
    );
    assert!(bundle.check().is_empty(), "{:?}", bundle.check());
    let bytes = bundle.to_bytes();
    let back = crate::draw::bundle::PublicBundle::parse(&bytes).expect("read back");
    assert_eq!(&back, bundle);
    assert_eq!(back.to_bytes(), bytes);
    let arrays = bytes.windows(10).any(|w| w == b"\"frame\":[[");
    assert_eq!(
        arrays, compact,
        "the frame's entries are arrays in version 4 alone"
    );
    let order: Vec<(&str, &str)> = bundle
        .frame
        .iter()
        .map(|f| match by_id {
            true => ("", f.id.as_str()),
            false => (f.stratum.as_str(), f.id.as_str()),
        })
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
    assert!(bundle.frame.len() > 100);
}

/// Two histories have the same digest exactly when they are equal: any entry's count, date or
/// id, and any carried load, changes it.
#[test]
fn a_history_digest_tells_histories_apart() {
    let entry = |id: &str, n: u32, clean: Option<NaiveDate>| {
        (
            id.to_string(),
            HistoryEntry {
                target_id: id.to_string(),
                inspections_this_year: n,
                last_clean: clean,
            },
        )
    };
    let day = NaiveDate::from_ymd_opt(2024, 3, 1);
    let base = History {
        entries: [entry("T1", 1, day), entry("T2", 2, None)].into(),
        carried: [("I1".to_string(), 3)].into(),
    };
    assert_eq!(base.digest(), base.clone().digest());
    let mut changed = Vec::new();
    let mut h = base.clone();
    h.entries.insert("T1".into(), entry("T1", 2, day).1);
    changed.push(h);
    let mut h = base.clone();
    h.entries.insert("T1".into(), entry("T1", 1, None).1);
    changed.push(h);
    let mut h = base.clone();
    h.entries.insert("T3".into(), entry("T3", 0, None).1);
    changed.push(h);
    let mut h = base.clone();
    h.carried.insert("I1".into(), 4);
    changed.push(h);
    let mut h = base.clone();
    h.carried.clear();
    changed.push(h);
    for h in changed {
        assert_ne!(h, base);
        assert_ne!(h.digest(), base.digest(), "{h:?}");
    }
}

/// A row drawn from packed with its stratum and weight class gives all three back, places sort
/// by position whatever their strata and classes, and bounds that need more than 64 bits are
/// refused.
#[test]
fn a_frame_place_gives_back_its_position_stratum_and_class() {
    use super::Packing;
    let positions = [0u64, 1, 2, 1 << 20, 1 << 31, (1 << 40) - 1];
    let pairs = |n: u32| -> Vec<(u32, u32)> { (0..n).map(|i| (i / 3, i % 3 * 7)).collect() };
    for (end, n) in [
        (1u64, 1u32),
        (3, 2),
        (1 << 31, 17),
        (1 << 40, 1 << 12),
        (1 << 40, 1 << 20),
    ] {
        let table = pairs(n);
        let packing = Packing::new(end, table.clone()).expect("within 64 bits");
        let mut places = Vec::new();
        for &p in positions.iter().filter(|&&p| p < end) {
            for i in [0, n / 2, n - 1] {
                let at = packing.pack(p, i);
                assert_eq!(packing.position(at), p, "{end} {n}");
                assert_eq!(packing.stratum_class(at), table[i as usize]);
                places.push((at, p));
            }
        }
        places.sort_unstable();
        assert!(
            places.windows(2).all(|w| w[0].1 <= w[1].1),
            "sorted by position"
        );
    }
    // A number the packing does not know names no stratum.
    let packing = Packing::new(1 << 31, pairs(3)).expect("fits");
    assert_eq!(packing.stratum_class(packing.pack(5, 3)).0, u32::MAX);
    assert!(Packing::new(1 << 48, pairs(1 << 16)).is_some());
    assert!(Packing::new((1 << 48) + 1, pairs(1 << 15)).is_some());
    assert_eq!(Packing::new((1 << 48) + 1, pairs((1 << 15) + 1)), None);
    assert!(Packing::new(u64::MAX, pairs(1)).is_some());
    assert_eq!(Packing::new(u64::MAX, pairs(2)), None);
}

proptest::proptest! {
    /// The history's entries are found from a reader's cursor exactly as by their id: for ids
    /// asked in id order (a snapshot's rows), in any order, again, or not in the history at all,
    /// each with its place in the entries' id order.
    #[test]
    fn history_found_from_a_cursor_as_by_id(
        kept in proptest::collection::btree_set(0u32..400, 0..120),
        asked in proptest::collection::vec(0u32..420, 0..300),
        in_order in proptest::bool::ANY,
    ) {
        // Ids of different lengths, so that their order is not their numbers'.
        let id = |n: u32| format!("T{}", n * 7 % 401);
        let history = History {
            entries: kept
                .iter()
                .map(|&n| {
                    let entry = HistoryEntry {
                        target_id: id(n),
                        inspections_this_year: n,
                        last_clean: None,
                    };
                    (id(n), entry)
                })
                .collect(),
            carried: Default::default(),
        };
        let mut asked: Vec<String> = asked.into_iter().map(id).collect();
        if in_order {
            asked.sort();
        }
        let places = history.places();
        let mut cursor = 0;
        for a in &asked {
            let expected = history
                .entries
                .iter()
                .position(|(k, _)| k == a)
                .map(|at| (at as u32, history.entries[a].inspections_this_year));
            let found = places
                .find(a, &mut cursor)
                .map(|(at, h)| (at, h.inspections_this_year));
            proptest::prop_assert_eq!(found, expected, "{}", a);
        }
    }
}
