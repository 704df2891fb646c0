//! What an operator meets around the service: logs that tools can read, a standard error that
//! cannot be written, a read-only copy of the data, draw folders regenerated from the
//! database.

mod util;

use util::scheduler::{RUN_ONCE, matter, service_project};
use util::{Project, run};

/// A matter with one firing, on 1 June 2023: `--since 2023-01-01` finds exactly that draw due.
fn one_past_draw() -> Project {
    service_project(&matter("once", "0 0 9 1 6 * 2023", "5%", ""))
}

// ---------------------------------------------------------------------------------------------
// Logs

#[test]
fn human_logs_have_no_colour_in_a_pipe_and_no_debug_wrappers() {
    let p = one_past_draw();
    let mut cmd = p.suiji(RUN_ONCE);
    cmd.env("RUST_LOG", "suiji=info");
    let (code, out, err) = run(cmd);
    assert_eq!(code, 0, "{out}{err}");
    assert!(!err.contains('\x1b'), "ANSI escapes in a pipe:\n{err:?}");
    assert!(!err.contains("Some("), "{err}");
    assert!(err.contains("draw=1"), "{err}");
}

/// Parses every line of `text` as a JSON object; returns them.
fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line:?}\nin:\n{text}"));
            assert!(v.is_object(), "{line}");
            assert!(!line.contains("Some("), "{line}");
            v
        })
        .collect()
}

#[test]
fn every_line_of_the_json_log_is_json() {
    let p = one_past_draw();
    // A service run that logs at every level it has.
    let mut cmd = p.suiji(&["--log-json", "run", "--once", "--since", "2023-01-01"]);
    cmd.env("RUST_LOG", "suiji=debug");
    let (code, out, err) = run(cmd);
    assert_eq!(code, 0, "{out}{err}");
    let lines = json_lines(&err);
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["draw"] == 1 && l["level"] == "INFO"),
        "{err}"
    );
    // A command that fails: its report is one JSON line too.
    let (code, _, err) =
        run(p.suiji(&["--log-json", "draw", "zhian.nosuch", "--period", "2023-H1"]));
    assert_eq!(code, 1, "{err}");
    let lines = json_lines(&err);
    assert_eq!(lines.len(), 1, "{err}");
    assert_eq!(lines[0]["level"], "ERROR");
    let message = lines[0]["fields"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("zhian.nosuch"), "{message}");
}

// ---------------------------------------------------------------------------------------------
// A standard error that cannot be written

/// `suiji ARGS` with its standard error on `/dev/full` (every write fails: no space left).
fn stderr_full(p: &Project, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    let mut cmd = std::process::Command::new(util::bin());
    cmd.current_dir(p.root())
        .env_remove("RUST_LOG")
        .env("SUIJI_CONFIG", p.path(util::CONFIG))
        .args(args)
        .envs(env.iter().copied())
        .stderr(full);
    let out = cmd.output().expect("run suiji");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn a_full_standard_error_never_makes_a_command_panic() {
    let p = one_past_draw();
    // A failing command: its report cannot be shown, its exit status still says why.
    let (code, _) = stderr_full(&p, &["draw", "zhian.nosuch", "--period", "2023-H1"], &[]);
    assert_eq!(
        code,
        Some(1),
        "refused, not a panic (101) or a signal (None)"
    );
    // The service logging every step, human and JSON.
    for json in [false, true] {
        let mut args = vec![];
        if json {
            args.push("--log-json");
        }
        args.extend(RUN_ONCE);
        let (code, out) = stderr_full(&p, &args, &[("RUST_LOG", "suiji=debug")]);
        assert_eq!(code, Some(0), "json {json}: {out}");
    }
    let (code, out) = stderr_full(&p, &["draws"], &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("zhian.once"), "{out}");
}
