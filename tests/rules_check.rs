//! `suiji check` on the shipped rules and on a corpus of broken rule files.

mod util;

use util::{Project, expect_file, repo, run};

#[test]
fn shipped_rules_check_clean() {
    let p = Project::shipped();
    let (code, out, err) = run(p.suiji(&["check"]));
    assert_eq!(code, 0, "stderr: {err}");
    assert!(
        out.starts_with("ok: 平邑县公安局 — 4 departments, 12 matters"),
        "{out}"
    );
    assert!(out.contains("zhian.firearms"));
}

/// Each folder of tests/broken holds rule files added to the shipped project and the exact
/// diagnostics `suiji check` must print for them. A case may also hold a `project/` folder
/// copied over the project (holiday files, registries), an `args` file (the command, `check`
/// by default) and a `code` file (the exit status, 1 by default). A failing run prints nothing
/// on stdout; a run that succeeds with warnings prints its usual output there.
#[test]
fn broken_rule_corpus() {
    let cases = broken_cases();
    assert!(cases.len() >= 8);
    for case in cases {
        let p = Project::shipped();
        for f in std::fs::read_dir(&case)
            .expect("case")
            .filter_map(Result::ok)
        {
            let name = f.file_name().to_string_lossy().into_owned();
            if name.ends_with(".toml") || name.ends_with(".rhai") {
                std::fs::copy(f.path(), p.path(&format!("rules/{name}"))).expect("copy");
            }
        }
        overlay(&case.join("project"), p.root());
        let read = |name: &str| std::fs::read_to_string(case.join(name)).ok();
        let args = read("args").unwrap_or_else(|| "check".into());
        let args: Vec<&str> = args.split_whitespace().collect();
        let want: i32 = read("code").map_or(1, |c| c.trim().parse().expect("code"));
        let (code, out, err) = run(p.suiji(&args));
        assert_eq!(
            code,
            want,
            "{}: expected status {want}, got {code}\n{out}{err}",
            case.display()
        );
        assert!(
            want != 1 || out.is_empty(),
            "{}: no partial output on failure: {out}",
            case.display()
        );
        // Files outside rules/ are named by their full path: the project's own folder varies.
        let err = err.replace(&format!("{}/", p.root().display()), "");
        expect_file(&case.join("expected.txt"), &err);
    }
}

/// Copies the files under `from` (if it exists) to the same places under `to`.
fn overlay(from: &std::path::Path, to: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(from) else {
        return;
    };
    for e in entries.filter_map(Result::ok) {
        let dest = to.join(e.file_name());
        if e.path().is_dir() {
            std::fs::create_dir_all(&dest).expect("mkdir");
            overlay(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).expect("copy");
        }
    }
}

#[test]
fn typo_in_shipped_rule_is_located_with_suggestion() {
    let p = Project::shipped();
    p.edit(
        "rules/zhian.toml",
        "frequency = \"half-yearly\"           # 特种行业",
        "frequncy = \"half-yearly\"           # 特种行业",
    );
    let (code, _, err) = run(p.suiji(&["check"]));
    assert_eq!(code, 1);
    assert!(
        err.contains("error: unknown key `matter[1].frequncy`"),
        "{err}"
    );
    assert!(err.contains("┌─ rules/zhian.toml:"), "{err}");
    assert!(err.contains("help: did you mean `frequency`?"), "{err}");
}

#[test]
fn missing_config_is_a_clear_error() {
    let p = Project::shipped();
    let (code, _, err) = run(p.suiji(&["--config", "nowhere.toml", "check"]));
    assert_eq!(code, 1);
    assert!(
        err.contains("cannot read config file nowhere.toml"),
        "{err}"
    );
}

#[test]
fn wrong_flag_is_rejected() {
    let p = Project::shipped();
    let (code, _, err) = run(p.suiji(&["plan", "--yeer", "2023"]));
    assert_eq!(code, 1);
    assert!(err.contains("--yeer"), "{err}");
}

/// `suiji ARGS` with `LANG=zh_CN.UTF-8`: (status, stdout, stderr).
fn in_chinese(p: &Project, args: &[&str]) -> (i32, String, String) {
    let mut cmd = p.suiji(args);
    cmd.env("LANG", "zh_CN.UTF-8");
    run(cmd)
}

/// A Chinese locale gets Chinese diagnostics: the same locations and snippets, each known
/// wording in Chinese; `LC_ALL` outranks `LANG` as POSIX says.
#[test]
fn a_chinese_locale_reads_rule_problems_in_chinese() {
    let p = Project::shipped();
    std::fs::copy(
        repo().join("tests/broken/unknown_key/extra.toml"),
        p.path("rules/extra.toml"),
    )
    .expect("copy");
    let (code, out, err) = in_chinese(&p, &["check"]);
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
    assert_eq!(
        err,
        r#"错误：未知的键“matter[1].ratoi”
  ┌─ rules/extra.toml:9:1
  │
9 │ ratoi = "5%"
  │ ^^^^^ 此处不能使用该键
  │
  = 建议：是否应为“ratio”？

错误：未知的键“matter[1].teamsize”
   ┌─ rules/extra.toml:12:1
   │
12 │ teamsize = 3
   │ ^^^^^^^^ 此处不能使用该键
   │
   = 建议：是否应为“team_size”？

发现 2 个问题；未作任何更改。
"#
    );
    let english = std::fs::read_to_string(repo().join("tests/broken/unknown_key/expected.txt"))
        .expect("expected.txt");
    let c_wins = p
        .suiji(&["check"])
        .env("LANG", "zh_CN.UTF-8")
        .env("LC_ALL", "C")
        .output()
        .expect("run");
    assert_eq!(String::from_utf8_lossy(&c_wins.stderr), english);
    let messages = p
        .suiji(&["check"])
        .env("LC_MESSAGES", "zh_CN.UTF-8")
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&messages.stderr).starts_with("错误：未知的键"));
}

#[test]
fn a_chinese_locale_reads_registry_rows_in_chinese() {
    let p = Project::shipped();
    p.edit(
        "config/registry/targets.csv",
        "9137132689GWUADXHL,临涧新世纪商务宾馆,hotel,",
        "9137132689GWUADXHL,临涧新世纪商务宾馆,hotle,",
    );
    p.edit(
        "config/registry/targets.csv",
        "\n9237132620B5AAKCNW,",
        "\n,",
    );
    let (code, out, err) = in_chinese(&p, &["registry", "check"]);
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
    assert_eq!(
        err,
        "错误：未知的检查对象类别“hotle”
  ┌─ config/registry/targets.csv:2:3
  = 建议：是否应为“hotel”？
  = 建议：可用的类别：blasting, entertainment, firearms_unit, fireworks_event, foreign_employer, hotel, internet_cafe, internet_culture, mass_event, network_operator, precursor_chemical, security_service

错误：缺少编号（“编号”列为空）
  ┌─ config/registry/targets.csv:3:1
  = 建议：每个检查对象都需要编号（例如统一社会信用代码）

名录库有 2 个问题；未进行抽取。
"
    );
}

#[test]
fn a_chinese_locale_reads_flag_and_command_errors_in_chinese() {
    let p = Project::shipped();
    let zh = |args: &[&str]| in_chinese(&p, args);
    let (code, _, err) = zh(&["plan", "--yeer", "2023"]);
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "错误：未知的参数“--yeer”
  = 建议：是否应为“--year”？
  = 建议：加 --help 查看全部参数（帮助文字为英文）
  用法：suiji plan --year <YEAR>
"
    );
    let (code, _, err) = zh(&["--config", "nowhere.toml", "check"]);
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "错误：无法读取配置文件 nowhere.toml：文件或文件夹不存在
  = 建议：请在项目文件夹中运行 suiji，或用 --config PATH 指定配置文件

发现 1 个问题；未作任何更改。
"
    );
    let (code, _, err) = zh(&["draw", "zhian.hotel", "--period", "2025-13", "--dry-run"]);
    assert_eq!(code, 1);
    assert!(
        err.starts_with("错误：zhian.hotel没有周期“2025-13”\n"),
        "{err}"
    );
    // Help stays English, and English output is unchanged under LANG=C.
    let (code, out, _) = zh(&["plan", "--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("Usage: suiji plan"), "{out}");
    let (_, _, err) = run(p.suiji(&["plan", "--yeer", "2023"]));
    assert!(
        err.starts_with("error: unexpected argument '--yeer' found"),
        "{err}"
    );
}

#[test]
fn output_that_cannot_be_written_is_an_error_and_only_a_closed_pipe_is_quiet() {
    let p = Project::shipped();
    let full = std::fs::File::create("/dev/full").expect("/dev/full");
    let suiji = || {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_suiji"));
        c.env("SUIJI_CONFIG", p.path("config/suiji.toml"))
            .env_remove("RUST_LOG")
            .current_dir(p.root());
        c
    };
    let out = suiji().arg("check").stdout(full).output().expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("cannot write to standard output"), "{err}");

    // A reader that goes away early: quiet, status 0.
    let mut child = suiji()
        .args(["schedule", "--year", "2023"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

/// The year the comparisons check the rules in, given to `suiji check --year` and to the live
/// check alike, so that no test depends on today's date.
const YEAR: i32 = 2026;

/// The diagnostics of `suiji check`'s stderr in order: level, message and place
/// (`rules/extra.toml:10:16`; empty when it has none).
fn printed(err: &str) -> Vec<(bool, String, String)> {
    let mut out: Vec<(bool, String, String)> = Vec::new();
    for line in err.lines() {
        if let Some(m) = line.strip_prefix("error: ") {
            out.push((true, m.to_string(), String::new()));
        } else if let Some(m) = line.strip_prefix("warning: ") {
            out.push((false, m.to_string(), String::new()));
        } else if let (Some(at), Some(last)) = (line.split("┌─ ").nth(1), out.last_mut())
            && last.2.is_empty()
        {
            last.2 = at.trim().to_string();
        }
    }
    out
}

/// The live check's findings as `printed` has them (files outside the project's rules named
/// as `suiji check` names them, under the project's root, which the comparison strips).
fn found(checked: &suiji::jobs::rule_edit::Checked, root: &str) -> Vec<(bool, String, String)> {
    checked
        .findings
        .iter()
        .map(|f| {
            let place = match (&f.file, f.line, f.column) {
                (Some(file), Some(l), Some(c)) => format!("{file}:{l}:{c}"),
                (Some(file), Some(l), None) => format!("{file}:{l}"),
                (Some(file), None, _) => file.clone(),
                _ => String::new(),
            };
            (f.error, f.message.clone(), place.replace(root, ""))
        })
        .collect()
}

/// The cases of tests/broken, in name order.
fn broken_cases() -> Vec<std::path::PathBuf> {
    let corpus = repo().join("tests/broken");
    let mut cases: Vec<_> = std::fs::read_dir(&corpus)
        .expect("corpus")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    cases.sort();
    cases
}

/// The console's live check (the registries' facts read once, then kept) finds in a draft
/// exactly what `suiji check` finds once the draft is saved: the same problems, in the same
/// order, at the same file, line and column, for every case of the broken corpus that
/// `suiji check` runs on text files — checked cold and again with the facts kept.
#[test]
fn the_live_check_finds_what_suiji_check_finds_on_the_broken_corpus() {
    use suiji::jobs::check::Keeper;
    use suiji::jobs::rule_edit::check_kept;
    let cases = broken_cases();
    let mut compared = 0;
    for case in cases {
        if case.join("args").exists() {
            continue; // not `suiji check`
        }
        let mut draft = suiji::rules::Draft::new();
        let mut text_files = true;
        for f in std::fs::read_dir(&case)
            .expect("case")
            .filter_map(Result::ok)
        {
            let name = f.file_name().to_string_lossy().into_owned();
            if name.ends_with(".toml") || name.ends_with(".rhai") {
                match std::fs::read_to_string(f.path()) {
                    Ok(text) => {
                        draft.insert(name, text);
                    }
                    Err(_) => text_files = false,
                }
            }
        }
        if !text_files {
            continue; // a draft is text: a file that is not UTF-8 is never one
        }
        let p = Project::shipped();
        overlay(&case.join("project"), p.root());
        let config = p.path("config/suiji.toml");
        let root = format!("{}/", p.root().display());
        let year = YEAR;
        let keeper = Keeper::new(far_on);
        let (cold, _) = check_kept(&config, None, &draft, year, &keeper);
        let (warm, _) = check_kept(&config, None, &draft, year, &keeper);
        assert_eq!(cold.findings, warm.findings, "{}", case.display());

        for (name, text) in &draft {
            p.write(&format!("rules/{name}"), text);
        }
        let (code, _, err) = run(p.suiji(&["check", "--year", &YEAR.to_string()]));
        let want = printed(&err.replace(&root, ""));
        assert_eq!(found(&warm, &root), want, "{}:\n{err}", case.display());
        assert_eq!(warm.ok(), code == 0, "{}:\n{err}", case.display());
        compared += 1;
    }
    assert!(compared >= 15, "only {compared} cases compared");
}

/// A clock long after any file of the tests was written: every file has settled, so an
/// unchanged look is trusted.
fn far_on() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(4_102_444_800, 0).expect("2100-01-01")
}

/// A clock before any file of the tests was written: no file has settled.
fn long_ago() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(946_684_800, 0).expect("2000-01-01")
}

/// A new version of the registry is read again by the live check (the kept facts are those
/// of the registry files as they are, by their SHA-256); an unchanged registry is not, even
/// when the rules change.
#[test]
fn the_live_check_reads_a_changed_registry_again() {
    use std::sync::Arc;
    use suiji::jobs::check::Keeper;
    use suiji::jobs::rule_edit::check_kept;
    let p = Project::shipped();
    let config = p.path("config/suiji.toml");
    let root = format!("{}/", p.root().display());
    let year = YEAR;
    let keeper = Keeper::new(far_on);
    let none = suiji::rules::Draft::new();

    let (first, loaded) = check_kept(&config, None, &none, year, &keeper);
    assert!(first.ok(), "{:?}", first.findings);
    let loaded = loaded.expect("loads");
    let read = keeper.facts(&loaded);

    // The rules change, the registry does not: its facts are kept.
    let mut draft = suiji::rules::Draft::new();
    let zhian = p.read("rules/zhian.toml");
    draft.insert("zhian.toml".into(), format!("{zhian}\n# 注释\n"));
    let (edited, loaded) = check_kept(&config, None, &draft, year, &keeper);
    assert!(edited.ok(), "{:?}", edited.findings);
    assert!(Arc::ptr_eq(&read, &keeper.facts(&loaded.expect("loads"))));

    // A new version of the target registry: read again, and checked as `suiji check` does.
    let targets = p.read("config/registry/targets.csv");
    let header = targets.lines().next().expect("header");
    p.write("config/registry/targets.csv", &format!("{header}\n"));
    let (emptied, loaded) = check_kept(&config, None, &none, year, &keeper);
    assert!(!Arc::ptr_eq(&read, &keeper.facts(&loaded.expect("loads"))));
    let (code, _, err) = run(p.suiji(&["check", "--year", &YEAR.to_string()]));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("the target registry has no rows"), "{err}");
    assert_eq!(found(&emptied, &root), printed(&err.replace(&root, "")));

    // The first version back: read again, clean again.
    p.write("config/registry/targets.csv", &targets);
    let (again, _) = check_kept(&config, None, &none, year, &keeper);
    assert_eq!(again.findings, first.findings);
}

/// The registry files are hashed once and then known by their look (size, inode, modification
/// and change times) while it stays the same and they had settled; a file rewritten with the
/// same size and its modification time set back is hashed and read again on the next check.
/// Files that had not settled when hashed are hashed on every check.
#[test]
fn the_live_check_knows_the_registry_by_its_look_and_sees_a_changed_file() {
    use std::sync::Arc;
    use suiji::jobs::check::Keeper;
    use suiji::jobs::rule_edit::check_kept;
    let p = Project::shipped();
    let config = p.path("config/suiji.toml");
    let year = YEAR;
    let none = suiji::rules::Draft::new();

    let keeper = Keeper::new(far_on);
    let (first, loaded) = check_kept(&config, None, &none, year, &keeper);
    assert!(first.ok(), "{:?}", first.findings);
    let loaded = loaded.expect("loads");
    let hashed = keeper.hashed();
    assert!(hashed >= 2, "each registry file hashed once: {hashed}");
    let read = keeper.facts(&loaded);
    for _ in 0..3 {
        let (again, _) = check_kept(&config, None, &none, year, &keeper);
        assert_eq!(again.findings, first.findings);
    }
    assert!(Arc::ptr_eq(&read, &keeper.facts(&loaded)));
    assert_eq!(
        keeper.hashed(),
        hashed,
        "nothing hashed while the files look the same"
    );

    // The same size, the modification time set back: the change time still moves.
    let path = p.path("config/registry/targets.csv");
    let before = std::fs::metadata(&path).expect("metadata");
    let targets = p.read("config/registry/targets.csv");
    let header = targets.lines().next().expect("header");
    let emptied = format!("{header}\n{}", " ".repeat(targets.len() - header.len() - 1));
    assert_eq!(emptied.len(), targets.len());
    p.write("config/registry/targets.csv", &emptied);
    std::fs::File::options()
        .write(true)
        .open(&path)
        .and_then(|f| f.set_modified(before.modified().expect("mtime")))
        .expect("modification time set back");
    let (changed, loaded) = check_kept(&config, None, &none, year, &keeper);
    assert!(keeper.hashed() > hashed, "the changed file hashed again");
    assert!(!Arc::ptr_eq(&read, &keeper.facts(&loaded.expect("loads"))));
    assert!(
        !changed.ok(),
        "the blank rows are checked: {:?}",
        changed.findings
    );

    // Files not settled when hashed are hashed again on every use.
    let fresh = Keeper::new(long_ago);
    let (_, loaded) = check_kept(&config, None, &none, year, &fresh);
    let loaded = loaded.expect("loads");
    let once = fresh.hashed();
    let facts = fresh.facts(&loaded);
    assert!(fresh.hashed() > once, "hashed again: nothing has settled");
    assert!(
        Arc::ptr_eq(&facts, &fresh.facts(&loaded)),
        "the same bytes, the same facts"
    );
}

/// The preview of an edit on kept facts is the preview on facts read afresh, its plan is the
/// plan `suiji plan` makes of each side, its dry runs count what the draw counts, and a second
/// preview of another edit of the same matter dry-runs only that matter (once, after).
#[test]
fn the_preview_on_kept_facts_is_the_plan_and_the_draw_and_runs_only_the_changed_matter() {
    use suiji::jobs::check::Keeper;
    use suiji::jobs::rule_edit::{After, check_kept, preview};
    let p = Project::shipped();
    let config = p.path("config/suiji.toml");
    let year = suiji::jobs::rule_edit::year_for(
        &suiji::jobs::load_disk_rules(&config).expect("rules"),
        YEAR,
    );
    let old = suiji::jobs::load_disk_rules(&config).expect("rules");
    let zhian = p.read("rules/zhian.toml");
    // The hotel matter's own ratio (the department's default stays 5%).
    let at = "stratify_by = \"district\"";
    assert!(zhian.contains(at));
    let edited = |ratio: &str| {
        let mut draft = suiji::rules::Draft::new();
        draft.insert(
            "zhian.toml".into(),
            zhian.replacen(at, &format!("ratio = \"{ratio}\"\n{at}"), 1),
        );
        draft
    };
    let keeper = Keeper::new(far_on);
    let (checked, new) = check_kept(&config, None, &edited("10%"), year, &keeper);
    assert!(checked.ok(), "{:?}", checked.findings);
    let new = new.expect("loads");
    let kept = preview(&old, &new, year, &keeper).expect("preview");
    let fresh = preview(&old, &new, year, &Keeper::new(long_ago)).expect("preview");
    assert_eq!(kept.plan, fresh.plan);
    assert_eq!(kept.dates, fresh.dates);
    assert_eq!(kept.dry_runs, fresh.dry_runs);
    assert!(!kept.plan.is_empty());
    assert_eq!(kept.dry_runs.len(), 1, "{:?}", kept.dry_runs);

    // Each side of the plan is the plan `suiji plan` writes.
    let input = suiji::jobs::plan::Input {
        year,
        provisional: false,
        format: suiji::output::doc::Format::Md,
        output: None,
        issued: chrono::NaiveDate::from_ymd_opt(year, 1, 1).expect("date"),
    };
    let plan = |l: &suiji::rules::Loaded| {
        String::from_utf8(suiji::jobs::plan::document(l, &input).expect("plan").0).expect("utf-8")
    };
    let (old_plan, new_plan) = (plan(&old), plan(&new));
    for side in &kept.plan {
        assert!(
            side.old.is_empty() || old_plan.lines().any(|l| l == side.old),
            "{side:?}"
        );
        assert!(
            side.new.is_empty() || new_plan.lines().any(|l| l == side.new),
            "{side:?}"
        );
    }

    // The dry run's counts are the draw's (the full draw, its public bundle included).
    let run = &kept.dry_runs[0];
    let After::Drawn(after) = &run.after else {
        panic!("drawn: {run:?}")
    };
    let cal = suiji::jobs::load_calendar(&new, false).expect("calendar");
    let (schedule, _) = suiji::schedule::year_schedule(&new.model, &cal, year);
    let draw = schedule
        .iter()
        .find(|d| d.matter == "zhian.hotel" && d.kind == suiji::schedule::DrawKind::Regular)
        .expect("the hotel's draw")
        .clone();
    let frozen = suiji::jobs::issue::freeze_registry(&new).expect("registry");
    let req = suiji::jobs::issue::Request {
        algorithm: new.model.config.algorithm,
        draw,
        seed: suiji::draw::Seed([0; 32]),
        seed_source: "test".into(),
        actor: "test".into(),
        created_at: String::new(),
        redraw: None,
        replaces: None,
        dry_run: true,
        provisional: false,
        exclusions_in_file: suiji::jobs::issue::exclusions_in_file(new.model.config.algorithm),
    };
    let man = suiji::jobs::issue::compute(
        &new,
        &frozen,
        &suiji::draw::pipeline::History::default(),
        &req,
    )
    .expect("draw");
    assert_eq!(after.drawn, man.selected.len());
    assert_eq!(
        after.eligible,
        man.strata.iter().map(|s| s.eligible).sum::<usize>()
    );
    assert_eq!(after.strata.len(), man.strata.len());
    for (a, s) in after.strata.iter().zip(&man.strata) {
        assert_eq!(
            (a.stratum.as_str(), a.eligible),
            (s.stratum.as_str(), s.eligible)
        );
    }
    let before = run.before.as_ref().expect("before");
    assert!(after.drawn > before.drawn, "{before:?} → {after:?}");

    // Another ratio: the check runs no draw (a ratio changes neither the targets in scope nor
    // the eligible: the estimate is kept) and finds what a check on fresh facts finds; the
    // preview dry-runs only the hotel matter, once.
    let facts = keeper.facts(&new);
    let made = facts.dry_runs_made();
    let (checked, newer) = check_kept(&config, None, &edited("12%"), year, &keeper);
    assert!(checked.ok(), "{:?}", checked.findings);
    let newer = newer.expect("loads");
    let checked_made = facts.dry_runs_made();
    assert_eq!(
        checked_made, made,
        "the check's estimate of the new ratio is kept"
    );
    let (afresh, _) = check_kept(&config, None, &edited("12%"), year, &Keeper::new(long_ago));
    assert_eq!(checked.findings, afresh.findings);
    preview(&old, &newer, year, &keeper).expect("preview");
    let previewed = facts.dry_runs_made();
    assert_eq!(
        previewed,
        checked_made + 1,
        "the new ratio's draw of {year}"
    );
    preview(&old, &newer, year, &keeper).expect("preview");
    assert_eq!(
        facts.dry_runs_made(),
        previewed,
        "the same preview again: all kept"
    );

    // A setting that decides who is eligible (a yearly cap of one visit) is dry-run again by
    // the check, and the team's size is not.
    let capped = {
        let mut draft = edited("12%");
        let text = draft.get("zhian.toml").expect("edited").clone();
        draft.insert(
            "zhian.toml".into(),
            text.replacen(at, &format!("yearly_cap = 1\nteam_size = 3\n{at}"), 1),
        );
        draft
    };
    let (checked, _) = check_kept(&config, None, &capped, year, &keeper);
    assert_eq!(
        facts.dry_runs_made(),
        previewed + 1,
        "{:?}",
        checked.findings
    );
    let (afresh, _) = check_kept(&config, None, &capped, year, &Keeper::new(long_ago));
    assert_eq!(checked.findings, afresh.findings);
}
