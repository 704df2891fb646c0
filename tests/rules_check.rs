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
    let corpus = repo().join("tests/broken");
    let mut cases: Vec<_> = std::fs::read_dir(&corpus)
        .expect("corpus")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    cases.sort();
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
