//! The promises README.md makes: its commands work, on the shipped rules and demo data.

mod util;

use util::{Project, repo, run};

fn readme() -> String {
    std::fs::read_to_string(repo().join("README.md")).expect("README.md")
}

#[test]
fn readme_opens_with_the_main_job_and_the_test_command() {
    let text = readme();
    let block = text
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("first code block");
    let commands: Vec<&str> = block
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .collect();
    assert_eq!(commands[0], "cargo run --release -- simulate --year 2023");
    assert_eq!(commands[1], "cargo test --release");
    let ci = std::fs::read_to_string(repo().join(".ci/run")).expect(".ci/run");
    assert!(
        ci.contains("cargo test --locked --release"),
        "CI runs the README's test command"
    );
}

/// The tour's commands, in order, on a fresh copy of the project.
#[test]
fn readme_tour_commands_work() {
    let text = readme();
    // As shipped: rule changes need a second person's approval.
    let p = Project::shipped_two_person();
    let (code, out, err) = run(p.suiji(&["simulate", "--year", "2023"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("22 draws of 2023 (22 issued by this run"),
        "{out}"
    );
    // The shipped example sheet is named by a path relative to the project folder.
    std::fs::create_dir_all(p.path("config/examples")).expect("mkdir");
    std::fs::copy(
        repo().join("config/examples/results-2023-zhian-hotel-H1.csv"),
        p.path("config/examples/results-2023-zhian-hotel-H1.csv"),
    )
    .expect("copy example");
    let tour = text
        .split("## A tour")
        .nth(1)
        .and_then(|t| t.split("```sh\n").nth(1))
        .and_then(|b| b.split("```").next())
        .expect("tour");
    let mut ran = 0;
    for line in tour.lines() {
        let cmd = line.split("   #").next().unwrap_or("").trim();
        let Some(rest) = cmd.strip_prefix("suiji ") else {
            continue;
        };
        if rest == "run" || rest == "serve" {
            continue; // the long-running service and console: tests/service.rs, tests/console.rs
        }
        let args = shell_words(rest);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, out, err) = run(p.suiji(&refs));
        // `status` exits 3 while something is overdue, which the example year has on purpose.
        let ok = code == 0 || (rest.starts_with("status") && code == 3);
        assert!(ok, "`suiji {rest}` failed ({code}):\n{out}\n{err}");
        if rest.starts_with("simulate") {
            assert!(
                out.contains("(0 issued by this run"),
                "a second simulate issues nothing: {out}"
            );
        }
        if rest.starts_with("verify") {
            assert!(out.starts_with("identical"), "{out}");
        }
        ran += 1;
    }
    assert!(ran >= 13, "ran {ran} tour commands");
}

#[test]
fn readme_rule_edit_error_is_what_suiji_prints() {
    let text = readme();
    let p = Project::shipped();
    p.edit(
        "rules/zhian.toml",
        "name = \"旅馆业（宾馆、旅店）监督检查\"\n",
        "name = \"旅馆业（宾馆、旅店）监督检查\"\nratoi = \"10%\"\n",
    );
    let (code, _, err) = run(p.suiji(&["check"]));
    assert_eq!(code, 1);
    let shown = text
        .split("A typo is caught")
        .nth(1)
        .and_then(|t| t.split("```\n").nth(1))
        .expect("error block");
    assert!(
        err.starts_with(shown),
        "README shows:\n{shown}\nsuiji prints:\n{err}"
    );
}

/// Splits a command line on spaces, honouring double quotes.
fn shell_words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in s.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}
