//! The market-regulation example (`examples/shichang/`), run as its own project: a joint plan
//! (联合抽查) of three matters across two departments. Each draw's counts, teams and joint
//! visits are checked against the registries and the spec's reference program
//! (docs/reference/suiji_draw.py), not against the engine.

mod util;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use util::{Project, repo, run};

const JOINT: &str = "out/draws/shipin.lianhe/2025-H1/manifest.json";

/// The manifest at `rel`, its excluded targets listed (from its detail file, for a
/// `suiji-manifest/3`).
fn manifest(p: &Project, rel: &str) -> serde_json::Value {
    util::manifest_with_exclusions(&p.path(rel))
}

/// Inspector id → (department, qualifications), read from the example's registry file.
fn inspectors(p: &Project) -> BTreeMap<String, (String, Vec<String>)> {
    p.read("config/registry/inspectors.csv")
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Some((
                f.first()?.to_string(),
                (
                    f.get(2)?.to_string(),
                    f.get(4)?.split('；').map(str::to_string).collect(),
                ),
            ))
        })
        .collect()
}

/// Target id → category, from the example's registry file.
fn categories(p: &Project) -> BTreeMap<String, String> {
    p.read("config/registry/targets.csv")
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Some((f.first()?.to_string(), f.get(2)?.to_string()))
        })
        .collect()
}

/// `python3 docs/reference/suiji_draw.py check DB`: every recorded draw must be identical.
fn reference_agrees(p: &Project) -> String {
    reference_with(p, &[])
}

/// [`reference_agrees`] with more arguments (`--classes FILE`).
fn reference_with(p: &Project, args: &[&str]) -> String {
    let out = Command::new("python3")
        .current_dir(p.root())
        .arg(repo().join("docs/reference/suiji_draw.py"))
        .arg("check")
        .arg(p.path("data/suiji.sqlite3"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("python3 is needed for this test (.ci/run installs it): {e}"));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "the reference program disagrees:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

#[test]
fn the_example_checks_and_its_plan_has_a_joint_section() {
    let p = Project::example("shichang");
    p.ok(&["check"]);
    let plan = p.ok(&["plan", "--year", "2025"]);
    assert!(plan.contains("部门联合抽查计划"), "{plan}");
    assert!(plan.contains("牵头部门：食品安全监督管理科"), "{plan}");
    assert!(plan.contains("参加部门：价格监督检查科"), "{plan}");
    assert!(
        plan.contains("联合检查事项：餐饮服务食品安全监督检查（食品安全监督管理科）、食品销售监督检查（食品安全监督管理科）、明码标价监督检查（价格监督检查科）"),
        "{plan}"
    );
    assert!(
        plan.contains("3 人，合计具备食品安全执法、价格监督检查资格，每个参加部门至少 1 人"),
        "{plan}"
    );
    // Each matter's checklist under its own name.
    assert!(plan.contains("抽查内容（明码标价监督检查）："), "{plan}");
}

#[test]
fn a_joint_draw_visits_each_target_once_with_one_team_from_both_departments() {
    let p = Project::example("shichang").simulation();
    p.ok(&[
        "draw",
        "shipin.lianhe",
        "--period",
        "2025-H1",
        "--seed",
        "demo",
    ]);
    let m = manifest(&p, JOINT);
    assert_eq!(m["department"], "shipin");
    let cats = categories(&p);
    // The union of the three matters' scopes: every category of the registry.
    let in_scope = cats.len() as u64;
    let strata = m["strata"].as_array().expect("strata");
    let eligible: u64 = strata
        .iter()
        .map(|s| s["eligible"].as_u64().unwrap_or(0))
        .sum();
    assert!(
        eligible <= in_scope && eligible > in_scope * 9 / 10,
        "{eligible}"
    );
    for s in strata {
        let n = s["eligible"].as_u64().unwrap_or(0);
        assert_eq!(
            s["k"].as_u64(),
            Some((n * 3).div_ceil(100)),
            "k = ⌈3% × {n}⌉"
        );
    }
    let selected = m["selected"].as_array().expect("selected");
    let k: u64 = strata.iter().map(|s| s["k"].as_u64().unwrap_or(0)).sum();
    assert_eq!(selected.len() as u64, k);
    let ids: BTreeSet<&str> = selected
        .iter()
        .filter_map(|s| s["target_id"].as_str())
        .collect();
    assert_eq!(ids.len(), selected.len(), "each target is one visit");
    let people = inspectors(&p);
    let mut load: BTreeMap<&str, u32> = BTreeMap::new();
    for s in selected {
        assert!(s["unstaffed"].is_null(), "{s}");
        let team: Vec<&str> = s["team"]
            .as_array()
            .expect("team")
            .iter()
            .filter_map(|x| x.as_str())
            .collect();
        assert_eq!(team.len(), 3, "{s}");
        let of = |id: &str| {
            people
                .get(id)
                .unwrap_or_else(|| panic!("{id} is not in the registry"))
        };
        let departments: BTreeSet<&str> = team.iter().map(|i| of(i).0.as_str()).collect();
        assert_eq!(departments, BTreeSet::from(["jiage", "shipin"]), "{s}");
        for q in ["food_safety", "price"] {
            assert!(
                team.iter().any(|i| of(i).1.iter().any(|x| x == q)),
                "{s} lacks {q}"
            );
        }
        for i in team {
            *load.entry(i).or_default() += 1;
        }
    }
    assert!(load.values().all(|&n| n <= 6), "workload cap 6: {load:?}");
    // The task sheet lists each matter's checklist under the matter's name.
    let sheets = std::fs::read_dir(p.path("out/draws/shipin.lianhe/2025-H1"))
        .expect("draw folder")
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name().to_string_lossy().contains("任务单")
                || e.file_name().to_string_lossy().ends_with(".html")
        })
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect::<String>();
    assert!(
        sheets.contains("<th colspan=\"3\">明码标价监督检查</th>"),
        "no matter heading in the task sheets"
    );
    assert!(
        sheets.contains("jiage.mingma/mm-01"),
        "no item of the price matter"
    );
    let (code, out, err) = run(p.suiji(&["verify", JOINT]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.starts_with("identical"), "{out}");
    let reference = reference_agrees(&p);
    assert!(reference.contains("1 identical, 0 differ"), "{reference}");
}

#[test]
fn a_joint_visit_counts_once_toward_a_matters_yearly_cap() {
    let p = Project::example("shichang").simulation();
    p.ok(&[
        "draw",
        "shipin.lianhe",
        "--period",
        "2025-H1",
        "--seed",
        "demo",
    ]);
    p.ok(&[
        "draw",
        "shipin.canyin",
        "--period",
        "2025",
        "--seed",
        "demo",
    ]);
    let joint = manifest(&p, JOINT);
    let own = manifest(&p, "out/draws/shipin.canyin/2025/manifest.json");
    let cats = categories(&p);
    let capped: BTreeMap<&str, &str> = own["exclusions"]
        .as_array()
        .expect("exclusions")
        .iter()
        .filter_map(|e| Some((e["target_id"].as_str()?, e["reason"].as_str()?)))
        .collect();
    let history: BTreeMap<&str, u64> = own["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|h| {
            Some((
                h["target_id"].as_str()?,
                h["inspections_this_year"].as_u64()?,
            ))
        })
        .collect();
    let mut restaurants = 0;
    for s in joint["selected"].as_array().expect("selected") {
        let id = s["target_id"].as_str().unwrap_or_default();
        if cats.get(id).map(String::as_str) == Some("canyin") {
            restaurants += 1;
            // One visit checked three matters; it counts once.
            assert_eq!(history.get(id), Some(&1), "{id}");
            assert_eq!(
                capped.get(id),
                Some(&"yearly_cap"),
                "{id} was visited jointly"
            );
        }
    }
    assert!(restaurants > 0);
    // 餐饮's classes come from its hook: the reference program takes them as a table.
    let spec = serde_json::json!({ "risk_class": { "by_id": hook_classes(&p) } });
    p.write("classes.json", &spec.to_string());
    let reference = reference_with(&p, &["--classes", "classes.json"]);
    assert!(reference.contains("2 identical, 0 differ"), "{reference}");
}

#[test]
fn a_joint_plan_names_matters_that_exist_and_needs_version_2() {
    refused(
        ("rules/shipin.toml", "\"jiage.mingma\"]", "\"jiage.minma\"]"),
        &[
            "unknown matter `jiage.minma`",
            "did you mean `jiage.mingma`?",
            "rules/shipin.toml:",
        ],
    );
    refused(
        (
            "config/suiji.toml",
            "algorithm = \"suiji-draw/2\"",
            "algorithm = \"suiji-draw/1\"",
        ),
        &["joint plan `shipin.lianhe` needs the draw algorithm suiji-draw/2"],
    );
}

/// Edits one file of a fresh copy of the example (`(file, from, to)`); `check` must refuse
/// the result with an error naming each of `wanted`.
fn refused((file, from, to): (&str, &str, &str), wanted: &[&str]) {
    let p = Project::example("shichang");
    p.edit(file, from, to);
    let (code, _, err) = run(p.suiji(&["check"]));
    assert_ne!(code, 0, "{file}: `{to}` passed check");
    for w in wanted {
        assert!(err.contains(w), "missing {w:?} in:\n{err}");
    }
}

#[test]
fn check_lists_the_joint_plan_with_its_matters() {
    let p = Project::example("shichang");
    let out = p.ok(&["check"]);
    assert!(
        out.contains("2 departments, 3 matters, 1 joint plan,"),
        "{out}"
    );
    assert!(
        out.contains("  joint shipin.lianhe 食品经营者食品安全和价格联合抽查: shipin.canyin + shipin.xiaoshou + jiage.mingma"),
        "{out}"
    );
}

#[test]
fn a_shared_inspector_registry_skips_departments_without_rule_files_with_a_note() {
    let p = Project::example("shichang");
    let rows = p.read("config/registry/inspectors.csv");
    assert!(
        rows.contains(",zhijian,"),
        "the example's registry is shared with 质量监督科"
    );
    let (code, out, err) = run(p.suiji(&["registry", "check"]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        err.contains("2 rows of department `zhijian` skipped: it has no rule file here"),
        "{err}"
    );
    assert!(out.contains("24 inspectors"), "{out}");
    // A department close to a known one is a typo, still an error.
    p.edit("config/registry/inspectors.csv", ",jiage,", ",jaige,");
    let (code, _, err) = run(p.suiji(&["registry", "check"]));
    assert_ne!(code, 0);
    assert!(err.contains("unknown department `jaige`"), "{err}");
    assert!(err.contains("did you mean `jiage`?"), "{err}");
}

#[test]
fn a_cron_frequency_reads_in_chinese_in_the_plan() {
    let p = Project::example("shichang");
    p.edit(
        "rules/jiage.toml",
        "categories = [\"canyin\", \"shipin_xiaoshou\", \"shangchang\"]",
        "categories = [\"canyin\", \"shipin_xiaoshou\", \"shangchang\"]\ncron = \"0 0 9 1 1,4,7,10 *\"",
    );
    let plan = p.ok(&["plan", "--year", "2025"]);
    assert!(plan.contains("每季度首月1日9时"), "{plan}");
    assert!(!plan.contains("0 0 9 1 1,4,7,10 *"), "{plan}");
}

#[test]
fn credit_classes_with_an_upper_bound_and_a_band_are_drawn_and_printed_as_written() {
    let p = Project::example("shichang").simulation();
    let plan = p.ok(&["plan", "--year", "2025"]);
    assert!(
        plan.contains("按等级：A 类不超过 5%，B 类 5%–20%，C 类 20%，D 类 100%"),
        "{plan}"
    );
    assert!(!plan.contains("A 类不低于"), "{plan}");
    // 2024-Q1 opens every class's cycle (A's two years start in even years).
    p.ok(&[
        "draw",
        "shipin.xiaoshou",
        "--period",
        "2024-Q1",
        "--seed",
        "demo",
    ]);
    let m = manifest(&p, "out/draws/shipin.xiaoshou/2024-Q1/manifest.json");
    let strata: BTreeMap<&str, (u64, u64, Option<u64>)> = m["strata"]
        .as_array()
        .expect("strata")
        .iter()
        .filter_map(|s| {
            Some((
                s["stratum"].as_str()?,
                (
                    s["eligible"].as_u64()?,
                    s["k"].as_u64()?,
                    s["cap_ppm"].as_u64(),
                ),
            ))
        })
        .collect();
    // A ≤ 5%: ⌊5% × n⌋; B 5%–20%: ⌈5% × n⌉ capped at ⌊20% × n⌋; C at least 20%; D all.
    let (n, k, cap) = strata["class=A"];
    assert_eq!((k, cap), (n * 5 / 100, Some(50_000)), "A of {n}");
    let (n, k, cap) = strata["class=B"];
    assert_eq!(
        (k, cap),
        ((n * 5).div_ceil(100).min(n * 20 / 100), Some(200_000))
    );
    let (n, k, cap) = strata["class=C"];
    assert_eq!((k, cap), ((n * 20).div_ceil(100), None));
    let (n, k, _) = strata["class=D"];
    assert_eq!(k, n);
    let (code, out, err) =
        run(p.suiji(&["verify", "out/draws/shipin.xiaoshou/2024-Q1/manifest.json"]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.starts_with("identical"), "{out}");
    let reference = reference_agrees(&p);
    assert!(reference.contains("1 identical, 0 differ"), "{reference}");
}

#[test]
fn a_class_bound_written_wrongly_is_a_located_error_with_the_forms() {
    refused(
        ("rules/shipin.toml", "B = \"5%–20%\"", "B = \"20%–5%\""),
        &[
            "`20%–5%` is not a band: its lower bound 20% is above its upper bound 5%",
            "rules/shipin.toml:",
            "\"≤ 5%\" (at most 5%)",
        ],
    );
    refused(
        ("rules/shipin.toml", "ratio = \"3%\"", "ratio = \"≤ 3%\""),
        &["is written per class, in `class_ratios`"],
    );
}

/// The classes of the example's 餐饮 hook, by the rule's own words and from the registry file:
/// listed as abnormal → 异常名录; 3 complaints or more → 投诉较多; else none.
fn hook_classes(p: &Project) -> BTreeMap<String, String> {
    p.read("config/registry/targets.csv")
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let complaints: u32 = f.get(11)?.parse().unwrap_or(0);
            let class = if *f.get(12)? == "是" {
                "异常名录"
            } else if complaints >= 3 {
                "投诉较多"
            } else {
                return None;
            };
            Some((f.first()?.to_string(), class.to_string()))
        })
        .collect()
}

#[test]
fn a_class_computed_by_a_hook_decides_the_ratio_of_each_restaurant() {
    let p = Project::example("shichang").simulation();
    let plan = p.ok(&["plan", "--year", "2025"]);
    assert!(
        plan.contains("按分类：异常名录 100%，投诉较多 20%；其他（未分类）5%"),
        "{plan}"
    );
    p.ok(&[
        "draw",
        "shipin.canyin",
        "--period",
        "2025",
        "--seed",
        "demo",
    ]);
    let rel = "out/draws/shipin.canyin/2025/manifest.json";
    let m = manifest(&p, rel);
    let classes = hook_classes(&p);
    let cats = categories(&p);
    let excluded: BTreeSet<&str> = m["exclusions"]
        .as_array()
        .expect("exclusions")
        .iter()
        .filter_map(|e| e["target_id"].as_str())
        .collect();
    // Each stratum holds exactly the restaurants of its class that were not excluded.
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for (id, cat) in &cats {
        if cat == "canyin" && !excluded.contains(id.as_str()) {
            let label = classes
                .get(id)
                .map_or(String::new(), |c| format!("class={c}"));
            *expected.entry(label).or_default() += 1;
        }
    }
    let strata: BTreeMap<String, (u64, u64)> = m["strata"]
        .as_array()
        .expect("strata")
        .iter()
        .filter_map(|s| {
            Some((
                s["stratum"].as_str()?.to_string(),
                (s["eligible"].as_u64()?, s["k"].as_u64()?),
            ))
        })
        .collect();
    let sizes: BTreeMap<String, u64> = strata.iter().map(|(s, (n, _))| (s.clone(), *n)).collect();
    assert_eq!(sizes, expected);
    let (n, k) = strata["class=异常名录"];
    assert_eq!(k, n, "异常名录 100%");
    let (n, k) = strata["class=投诉较多"];
    assert_eq!(k, (n * 20).div_ceil(100), "投诉较多 20%");
    let (n, k) = strata[""];
    assert_eq!(k, (n * 5).div_ceil(100), "the rest 5%");
    for s in m["selected"].as_array().expect("selected") {
        let id = s["target_id"].as_str().unwrap_or_default();
        let label = classes
            .get(id)
            .map_or(String::new(), |c| format!("class={c}"));
        assert_eq!(s["stratum"].as_str(), Some(label.as_str()), "{id}");
    }
    let (code, out, err) = run(p.suiji(&["verify", rel]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.starts_with("identical"), "{out}");
    // The reference program takes the hook's classes as a table (it runs no Rhai).
    let spec = serde_json::json!({ "risk_class": { "by_id": classes } });
    p.write("classes.json", &spec.to_string());
    let reference = reference_with(&p, &["--classes", "classes.json"]);
    assert!(reference.contains("1 identical, 0 differ"), "{reference}");
}

#[test]
fn a_class_hook_that_answers_a_number_or_sits_beside_class_field_is_refused_where_written() {
    refused(
        ("rules/shipin.rhai", "return \"投诉较多\";", "return 3;"),
        &[
            "returned i64, not a class (text) or ()",
            "rules/shipin.rhai:",
        ],
    );
    let hook = "hooks = { script = \"shipin.rhai\", class = \"risk_class\", conflict = \"former_employer\" }";
    refused(
        (
            "rules/shipin.toml",
            hook,
            &format!("{hook}\nclass_field = \"信用等级\""),
        ),
        &[
            "`shipin.canyin` has both a class hook and `class_field`",
            "rules/shipin.toml:",
        ],
    );
}

/// Target id → (category, credit class, active), from the example's registry file.
fn credit_classes(p: &Project) -> BTreeMap<String, (String, String, bool)> {
    p.read("config/registry/targets.csv")
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Some((
                f.first()?.to_string(),
                (
                    f.get(2)?.to_string(),
                    f.get(6)?.to_string(),
                    *f.get(7)? == "正常",
                ),
            ))
        })
        .collect()
}

/// The classes of 食品销售 each quarter's draw covers, by the rule's own words: A every two
/// years from an even year, B yearly, C half-yearly, D quarterly — each in the first quarter of
/// its cycle.
fn due_classes(year: i32, quarter: u32) -> Vec<&'static str> {
    let mut due = Vec::new();
    if year % 2 == 0 && quarter == 1 {
        due.push("A");
    }
    if quarter == 1 {
        due.push("B");
    }
    if quarter == 1 || quarter == 3 {
        due.push("C");
    }
    due.push("D");
    due
}

#[test]
fn each_quarter_draws_only_the_credit_classes_due_and_the_reference_program_agrees() {
    let p = Project::example("shichang").simulation();
    let plan = p.ok(&["plan", "--year", "2024"]);
    assert!(
        plan.contains("每季度 1 次；按等级：A 类每两年 1 次（偶数年），B 类每年 1 次，C 类每半年 1 次，D 类每季度 1 次；其他等级（含未定级）每期均抽"),
        "{plan}"
    );
    assert!(
        plan.contains("定期，覆盖 D 类（A、B、C 类本期不抽）"),
        "{plan}"
    );
    let schedule = p.ok(&["schedule", "--year", "2024", "--matter", "shipin.xiaoshou"]);
    let lines: Vec<&str> = schedule.lines().filter(|l| l.contains("2024-Q")).collect();
    assert_eq!(lines.len(), 4, "{schedule}");
    assert!(
        lines[0].ends_with("每季度 1 次；覆盖 A、B、C、D 类"),
        "{schedule}"
    );
    assert!(
        lines[1].ends_with("每季度 1 次；覆盖 D 类（A、B、C 类本期不抽）"),
        "{schedule}"
    );
    assert!(
        lines[2].ends_with("每季度 1 次；覆盖 C、D 类（A、B 类本期不抽）"),
        "{schedule}"
    );
    let registry = credit_classes(&p);
    let in_scope = |class: &str| -> u64 {
        registry
            .values()
            .filter(|(cat, c, _)| (cat == "shipin_xiaoshou" || cat == "shangchang") && c == class)
            .count() as u64
    };
    let periods = [(2024, 1), (2024, 2), (2024, 3), (2024, 4), (2025, 1)];
    for (year, q) in periods {
        let period = format!("{year}-Q{q}");
        p.ok(&[
            "draw",
            "shipin.xiaoshou",
            "--period",
            &period,
            "--seed",
            "demo",
        ]);
        let m = manifest(
            &p,
            &format!("out/draws/shipin.xiaoshou/{period}/manifest.json"),
        );
        let due = due_classes(year, q);
        let not_due: Vec<&str> = ["A", "B", "C", "D"]
            .into_iter()
            .filter(|c| !due.contains(c))
            .collect();
        assert_eq!(m["classes_due"], serde_json::json!(due), "{period}");
        assert_eq!(m["classes_not_due"], serde_json::json!(not_due), "{period}");
        // Strata: exactly the classes due; each counts every target of its class in scope
        // (drawn from, or excluded with its reason).
        let strata: BTreeMap<String, u64> = m["strata"]
            .as_array()
            .expect("strata")
            .iter()
            .filter_map(|s| Some((s["stratum"].as_str()?.to_string(), s["eligible"].as_u64()?)))
            .collect();
        let class_of = |id: &str| {
            registry
                .get(id)
                .map(|(_, c, _)| c.clone())
                .unwrap_or_default()
        };
        for c in &due {
            let excluded = m["exclusions"]
                .as_array()
                .expect("exclusions")
                .iter()
                .filter(|e| class_of(e["target_id"].as_str().unwrap_or_default()) == *c)
                .count() as u64;
            let eligible = strata.get(&format!("class={c}")).copied().unwrap_or(0);
            assert_eq!(eligible + excluded, in_scope(c), "{period} class {c}");
        }
        for c in &not_due {
            assert!(
                !strata.contains_key(&format!("class={c}")),
                "{period}: {c} drawn"
            );
        }
        // No target of a class not due is drawn, excluded or counted in the history.
        for list in ["selected", "exclusions", "history", "substitutes"] {
            for e in m[list].as_array().expect(list) {
                let c = class_of(e["target_id"].as_str().unwrap_or_default());
                assert!(
                    !not_due.contains(&c.as_str()),
                    "{period}: {list} has class {c}"
                );
            }
        }
        let (code, out, err) = run(p.suiji(&[
            "verify",
            &format!("out/draws/shipin.xiaoshou/{period}/manifest.json"),
        ]));
        assert_eq!(code, 0, "{out}\n{err}");
        assert!(out.starts_with("identical"), "{out}");
    }
    let reference = reference_agrees(&p);
    assert!(reference.contains("5 identical, 0 differ"), "{reference}");
}

/// A class in `class_frequency` that no target in scope has and `class_ratios` does not name
/// (here `E`, where the registry's credit classes are A–D) is a warning at the class, with the
/// classes targets do have; the check still passes. The shipped example has no such warning.
#[test]
fn a_class_frequency_naming_a_class_no_target_has_is_a_located_warning() {
    let clean = Project::example("shichang");
    let (code, out, err) = run(clean.suiji(&["check"]));
    assert_eq!(code, 0, "{out}{err}");
    assert!(!err.contains("class frequency of"), "{err}");
    let p = Project::example("shichang");
    p.edit(
        "rules/shipin.toml",
        "D = \"quarterly\" }",
        "D = \"quarterly\", E = \"yearly\" }",
    );
    let (code, out, err) = run(p.suiji(&["check"]));
    assert_eq!(code, 0, "a warning, not an error:\n{out}{err}");
    for wanted in [
        "warning: class frequency of `shipin.xiaoshou` names `E`, a class that no target in its scope has and its class ratios do not name",
        "rules/shipin.toml:55:87",
        "no target has this class",
        "targets in scope have: `A`, `B`, `C`, `D`",
    ] {
        assert!(err.contains(wanted), "missing {wanted:?} in:\n{err}");
    }
}

#[test]
fn a_class_frequency_more_often_than_the_matter_or_misspelt_is_a_located_error() {
    refused(
        (
            "rules/shipin.toml",
            "frequency = \"quarterly\"",
            "frequency = \"half-yearly\"",
        ),
        &[
            "class `D` is drawn quarterly but the matter only every 6 months",
            "rules/shipin.toml:",
        ],
    );
    refused(
        ("rules/shipin.toml", "A = \"biennial\"", "A = \"bienial\""),
        &[
            "unknown class frequency `bienial`",
            "did you mean `biennial`?",
        ],
    );
}

/// `biennial_start = 2025` (两年周期起始年) moves A 类's two-year cycles to the odd years: the plan
/// names the years, 2024-Q1 covers B, C and D and 2025-Q1 every class; both draws verify
/// identical, and the reference program, reading the key from the archived rules, agrees.
#[test]
fn a_biennial_start_moves_the_two_year_cycles_and_the_plan_names_their_years() {
    const FREQ: &str = "class_frequency = { A = \"biennial\", B = \"yearly\", C = \"half-yearly\", D = \"quarterly\" }\n";
    let p = Project::example("shichang").simulation();
    p.edit(
        "rules/shipin.toml",
        FREQ,
        &format!("{FREQ}biennial_start = 2025\n"),
    );
    let plan = p.ok(&["plan", "--year", "2025"]);
    assert!(
        plan.contains("按等级：A 类每两年 1 次（奇数年：2025、2027、2029…），B 类每年 1 次"),
        "{plan}"
    );
    for (year, first) in [
        ("2024", "覆盖 B、C、D 类（A 类本期不抽）"),
        ("2025", "覆盖 A、B、C、D 类"),
    ] {
        let schedule = p.ok(&["schedule", "--year", year, "--matter", "shipin.xiaoshou"]);
        let q1 = schedule
            .lines()
            .find(|l| l.contains(&format!("{year}-Q1")))
            .unwrap_or_else(|| panic!("no {year}-Q1 in:\n{schedule}"));
        assert!(q1.ends_with(first), "{schedule}");
    }
    for (period, due, not_due) in [
        ("2024-Q1", vec!["B", "C", "D"], vec!["A"]),
        ("2025-Q1", vec!["A", "B", "C", "D"], vec![]),
    ] {
        p.ok(&[
            "draw",
            "shipin.xiaoshou",
            "--period",
            period,
            "--seed",
            "demo",
        ]);
        let path = format!("out/draws/shipin.xiaoshou/{period}/manifest.json");
        let m = manifest(&p, &path);
        assert_eq!(m["classes_due"], serde_json::json!(due), "{period}");
        assert_eq!(m["classes_not_due"], serde_json::json!(not_due), "{period}");
        let (code, out, err) = run(p.suiji(&["verify", &path]));
        assert_eq!(code, 0, "{out}\n{err}");
        assert!(out.starts_with("identical"), "{out}");
    }
    let reference = reference_agrees(&p);
    assert!(reference.contains("2 identical, 0 differ"), "{reference}");
}

/// `biennial_start` is checked where it is written: a year outside 1949–2199, and the key on a
/// matter none of whose classes is drawn every two years.
#[test]
fn a_biennial_start_out_of_range_or_without_a_biennial_class_is_a_located_error() {
    refused(
        (
            "rules/shipin.toml",
            "yearly_cap = 4 ",
            "biennial_start = 25\nyearly_cap = 4 ",
        ),
        &["biennial_start", "rules/shipin.toml:56:"],
    );
    refused(
        (
            "rules/shipin.toml",
            "A = \"biennial\", B = \"yearly\", C = \"half-yearly\", D = \"quarterly\" }\n",
            "A = \"yearly\", B = \"yearly\", C = \"half-yearly\", D = \"quarterly\" }\nbiennial_start = 2025\n",
        ),
        &[
            "`biennial_start` without a biennial class",
            "rules/shipin.toml:56:18",
            "give a class `\"biennial\"` in class_frequency",
        ],
    );
}

/// Sets inspector `id`'s 曾任职单位 (the registry's last column) to `employer`.
fn set_former_employer(p: &Project, id: &str, employer: &str) {
    let text = p.read("config/registry/inspectors.csv");
    let edited: Vec<String> = text
        .lines()
        .map(|l| match l.strip_prefix(&format!("{id},")) {
            Some(_) => {
                let (head, _) = l.rsplit_once(',').expect("a row");
                format!("{head},{employer}")
            }
            None => l.to_string(),
        })
        .collect();
    p.write(
        "config/registry/inspectors.csv",
        &(edited.join("\n") + "\n"),
    );
}

#[test]
fn an_inspectors_former_employer_is_avoided_by_a_hook_reading_the_registrys_own_column() {
    // The joint draw once, to learn a visit and one member of its team.
    let draw = [
        "draw",
        "shipin.lianhe",
        "--period",
        "2025-H1",
        "--seed",
        "demo",
    ];
    let first = Project::example("shichang").simulation();
    first.ok(&draw);
    let m = manifest(&first, JOINT);
    let visit = m["selected"]
        .as_array()
        .expect("selected")
        .iter()
        .find(|s| !s["team"].as_array().expect("team").is_empty())
        .expect("a staffed visit")
        .clone();
    let target = visit["target_id"].as_str().expect("id").to_string();
    let member = visit["team"][0].as_str().expect("id").to_string();
    // The member formerly worked at that firm (曾任职单位, a column suiji does not know): the
    // example's `former_employer` hook reads it and avoids the firm.
    let p = Project::example("shichang").simulation();
    set_former_employer(&p, &member, &target);
    p.ok(&draw);
    let again = manifest(&p, JOINT);
    let team = again["selected"]
        .as_array()
        .expect("selected")
        .iter()
        .find(|s| s["target_id"] == target.as_str())
        .expect("the same visit")["team"]
        .clone();
    assert!(
        !team
            .as_array()
            .expect("team")
            .iter()
            .any(|x| x == member.as_str()),
        "{member} formerly worked at {target} but is on its team {team}"
    );
    let skipped = again["inspector_skips"]
        .as_array()
        .expect("skips")
        .iter()
        .any(|s| {
            s["target_id"] == target.as_str()
                && s["inspector_id"] == member.as_str()
                && s["reason"] == "hook_conflict"
        });
    assert!(skipped, "{}", again["inspector_skips"]);
    // The column is in the archived inspector snapshot, so the draw re-runs identically.
    let out = p.ok(&["verify", "1"]);
    assert!(out.starts_with("identical"), "{out}");
    let packed: Vec<u8> = p
        .db()
        .query_row(
            "SELECT data FROM snapshots WHERE hash = ?1",
            [again["registry"]["inspectors_snapshot"]
                .as_str()
                .expect("hash")],
            |r| r.get(0),
        )
        .expect("archived");
    let mut snapshot = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(&packed[..]),
        &mut snapshot,
    )
    .expect("a gzip snapshot");
    assert!(
        snapshot.starts_with(
            "id,name,department,certificate,qualifications,active,area,conflicts,曾任职单位\n"
        ),
        "{snapshot}"
    );
    assert!(snapshot.contains(&format!(",{target}\n")), "{snapshot}");
    reference_agrees(&p);
}

/// Visits per inspector in a manifest's teams.
fn team_loads(m: &serde_json::Value) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for s in m["selected"].as_array().expect("selected") {
        for x in s["team"].as_array().expect("team") {
            *out.entry(x.as_str().expect("id").to_string()).or_default() += 1;
        }
    }
    out
}

/// A manifest's `carried_loads`, empty when it has none.
fn carried_loads(m: &serde_json::Value) -> BTreeMap<String, u64> {
    m.get("carried_loads")
        .and_then(serde_json::Value::as_array)
        .map(|a| {
            a.iter()
                .map(|c| {
                    (
                        c["inspector_id"].as_str().expect("id").to_string(),
                        c["load"].as_u64().expect("load"),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Class frequencies (V2-14) and workload caps per period (V2-16) together: 食品销售's
/// quarterly draws cover only the credit classes due, and each carries in the loads of the
/// period's earlier draws that overlap it — 餐饮 for the whole year and the joint plan for the
/// half-year — but not of the other quarter. 食品销售's own cap (6 visits) holds over them and
/// binds; every draw verifies identical and the reference program agrees.
#[test]
fn a_draw_of_the_classes_due_carries_the_loads_of_the_periods_earlier_draws() {
    let p = Project::example("shichang").simulation();
    p.edit(
        "rules/shipin.toml",
        "yearly_cap = 4 ",
        "workload_cap = 6\nyearly_cap = 4 ",
    );
    let draw = |matter: &str, period: &str| {
        p.ok(&["draw", matter, "--period", period, "--seed", "demo"]);
        manifest(&p, &format!("out/draws/{matter}/{period}/manifest.json"))
    };
    let canyin = draw("shipin.canyin", "2024");
    let joint = draw("shipin.lianhe", "2024-H1");
    let q1 = draw("shipin.xiaoshou", "2024-Q1");
    let q2 = draw("shipin.xiaoshou", "2024-Q2");
    let people = inspectors(&p);
    let food = |loads: BTreeMap<String, u64>| -> BTreeMap<String, u64> {
        loads
            .into_iter()
            .filter(|(id, _)| people.get(id).is_some_and(|(d, _)| d == "shipin"))
            .collect()
    };
    // What 食品销售's team step starts from in either quarter: the year's 餐饮 draw and the
    // first half-year's joint draw, counted for the department's own inspectors.
    let mut before = team_loads(&canyin);
    for (id, n) in team_loads(&joint) {
        *before.entry(id).or_default() += n;
    }
    let before = food(before);
    assert!(!before.is_empty());
    let mut binds = false;
    for (m, due, not_due) in [
        (&q1, vec!["A", "B", "C", "D"], vec![]),
        (&q2, vec!["D"], vec!["A", "B", "C"]),
    ] {
        let period = m["period"]["id"].as_str().expect("id");
        assert_eq!(m["classes_due"], serde_json::json!(due), "{period}");
        assert_eq!(m["classes_not_due"], serde_json::json!(not_due), "{period}");
        assert_eq!(
            carried_loads(m),
            before,
            "{period}: Q1 does not count in Q2"
        );
        for (id, n) in team_loads(m) {
            let total = n + before.get(&id).copied().unwrap_or(0);
            assert!(
                total <= 6,
                "{period}: {id} has {total} visits in the period"
            );
            binds |= total == 6 && before.contains_key(&id);
        }
    }
    assert!(
        binds,
        "an inspector reaches the cap with carried visits: {before:?} {:?} {:?}",
        team_loads(&q1),
        team_loads(&q2)
    );
    for id in 1..=4 {
        let out = p.ok(&["verify", &id.to_string()]);
        assert!(out.starts_with("identical"), "draw #{id}: {out}");
    }
    // 餐饮's classes come from its hook: the reference program takes them as a table.
    let spec = serde_json::json!({ "risk_class": { "by_id": hook_classes(&p) } });
    p.write("classes.json", &spec.to_string());
    let reference = reference_with(&p, &["--classes", "classes.json"]);
    assert!(reference.contains("4 identical, 0 differ"), "{reference}");
}
