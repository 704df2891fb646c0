//! Slow groups, run by `.ci/run` (`cargo test --release --test storms -- --ignored`), not by
//! the default `cargo test`: many processes at once, and a catch-up stopped as by `kill -9` at
//! every named crash point of every draw it makes.

mod util;

use util::scheduler::{RUN_ONCE, assert_complete, crash_at, draws, matter, service_project};
use util::{Project, Running, Test};

#[test]
#[ignore = "slow: run by .ci/run"]
fn processes_opening_a_new_database_at_once_all_succeed() {
    // Services and commands started together on a fresh data folder race to create it.
    let p = Project::shipped();
    for round in 0..25 {
        let _ = std::fs::remove_dir_all(p.path("data"));
        let mut all: Vec<Running> = (0..4)
            .map(|i| p.spawn(&format!("open{i}"), &["results", "list"]))
            .collect();
        for r in &mut all {
            let status = r.wait();
            assert!(
                status.success(),
                "round {round}: {status}\n{}{}",
                r.stdout(),
                r.stderr()
            );
        }
    }
}

#[test]
#[ignore = "slow: run by .ci/run"]
fn a_catch_up_stopped_at_any_point_of_any_draw_is_completed_by_the_next_run() {
    // Two matters firing on three days: six draws due, in a known order.
    let cron = "0 0 9 1-3 6 * 2023";
    let rules = format!(
        "{}{}",
        matter("a", cron, "3%", ""),
        matter("b", cron, "3%", "")
    );
    let due = 6;
    for point in ["draw.staged", "draw.recording", "draw.committed"] {
        for n in 1..=due {
            let p = service_project(&rules);
            crash_at(&p, RUN_ONCE, &format!("{point}@{n}"));
            // The draws before the n-th are complete; the n-th is recorded only if the
            // process stopped after its commit.
            let recorded = draws(&p).len();
            let want = if point == "draw.committed" { n } else { n - 1 };
            assert_eq!(recorded, want, "{point}@{n}");
            // The next run puts any staged files in place and issues the rest.
            let p = Test::at(p)
                .args(RUN_ONCE)
                .stdout(&format!("issued {} draw(s), 0 failed\n", due - want))
                .run()
                .project;
            assert_eq!(draws(&p).len(), due, "{point}@{n}");
            assert_complete(&p);
        }
    }
}

/// A small deterministic random source (SplitMix64): the storm's choices come from its seed,
/// so a failing storm is replayed exactly with `SUIJI_STORM_SEED`.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Every file or folder under `out/` whose name says it is staged.
fn staging_left(p: &Project) -> Vec<String> {
    fn walk(dir: &std::path::Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = e.path();
            if e.file_name().to_string_lossy().contains(".staging-") {
                out.push(path.display().to_string());
            } else if path.is_dir() {
                walk(&path, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(&p.path("out"), &mut out);
    out
}

/// (matter, period, manifest hash) of every active draw.
fn active(p: &Project) -> Vec<(String, String, String)> {
    if !p.path("data/suiji.sqlite3").exists() {
        return Vec::new();
    }
    let db = p.db();
    let mut stmt = db
        .prepare(
            "SELECT matter, period, manifest_hash FROM draws WHERE status = 'active'
             ORDER BY matter, period",
        )
        .expect("query draws");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("query draws")
        .collect::<Result<_, _>>()
        .expect("draws")
}

#[test]
#[ignore = "slow: run by .ci/run"]
fn a_storm_of_kills_at_random_points_loses_doubles_and_leaves_nothing() {
    // Two matters, six draws each in 2023: twelve (matter, period) pairs.
    let cron = "0 0 9 1 1,3,5,7,9,11 * 2023";
    let rules = format!(
        "{}{}",
        matter("a", cron, "3%", ""),
        matter("b", cron, "3%", "")
    );
    let periods: Vec<(String, String)> = ["zhian.a", "zhian.b"]
        .iter()
        .flat_map(|m| {
            [1, 3, 5, 7, 9, 11].map(|month| (m.to_string(), format!("2023-{month:02}-01T0900")))
        })
        .collect();
    let all = periods.len();
    let seed: u64 = std::env::var("SUIJI_STORM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_130);
    println!("kill storm: seed {seed} (SUIJI_STORM_SEED={seed} replays it)");
    let mut rng = Rng(seed);
    let points = ["draw.staged", "draw.recording", "draw.committed"];
    let began = std::time::Instant::now();
    let (mut kills, mut runs, mut projects) = (0, 0, 0);
    let mut p = service_project(&rules);
    // A database made by `simulate` is a simulation database, and `simulate` refuses one that
    // holds real records: each project is either simulated or run for real (`run --once`,
    // `draw`), chosen when it is made.
    let mut simulated = rng.below(3) == 0;
    while kills < 60 {
        assert!(runs < 1000, "seed {seed}: too few runs end in a kill");
        let before = active(&p);
        if before.len() == all {
            p = service_project(&rules);
            projects += 1;
            simulated = rng.below(3) == 0;
            continue;
        }
        // A command that draws, killed at a random point of a random draw it makes.
        let undrawn: Vec<&(String, String)> = periods
            .iter()
            .filter(|(m, per)| !before.iter().any(|(bm, bp, _)| bm == m && bp == per))
            .collect();
        let pick = if simulated { 0 } else { 1 + rng.below(2) };
        let (args, draws_made): (Vec<String>, usize) = match pick {
            0 => (
                vec!["simulate".into(), "--year".into(), "2023".into()],
                undrawn.len(),
            ),
            1 => (
                RUN_ONCE.iter().map(|s| s.to_string()).collect(),
                undrawn.len(),
            ),
            _ => {
                let (m, per) = undrawn[rng.below(undrawn.len())];
                let args = ["draw", m, "--period", per];
                (args.iter().map(|s| s.to_string()).collect(), 1)
            }
        };
        let point = format!(
            "{}@{}",
            points[rng.below(points.len())],
            1 + rng.below(draws_made)
        );
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let what = format!(
            "seed {seed}, run {runs}: suiji {} at {point}",
            args.join(" ")
        );
        crash_at(&p, &args, &point);
        kills += 1;
        runs += 1;
        // The same command again, not stopped: it must finish what was asked.
        let (code, out, err) = util::run(p.suiji(&args));
        runs += 1;
        // A draw killed after its commit is recorded: drawing it again is refused.
        let refused = args[0] == "draw" && err.contains("already drawn");
        assert!(code == 0 || refused, "{what}, then again:\n{out}{err}");
        let after = active(&p);
        // Nothing recorded before is lost or changed; nothing is drawn twice.
        for d in &before {
            assert!(after.contains(d), "{what}: lost {d:?}");
        }
        let mut pairs: Vec<(&String, &String)> = after.iter().map(|(m, p, _)| (m, p)).collect();
        pairs.dedup();
        assert_eq!(pairs.len(), after.len(), "{what}: a draw recorded twice");
        if args[0] != "draw" {
            assert_eq!(after.len(), all, "{what}: draws missing");
        }
        let left = staging_left(&p);
        assert!(left.is_empty(), "{what}: staging left: {left:?}");
        assert_complete(&p);
    }
    println!(
        "kill storm: {kills} kills in {runs} runs over {} projects, {:.1}s",
        projects + 1,
        began.elapsed().as_secs_f64()
    );
}

/// One command of the storm, started and killed (`kill -9`) as soon as it is seen to pass its
/// `after`-th named point (0: as soon as it is started), wherever it is by then; whether the
/// kill landed (the process ended by the signal, not before it).
fn kill_after(p: &Project, args: &[&str], after: usize) -> bool {
    use std::io::BufRead as _;
    use std::os::unix::process::ExitStatusExt as _;
    let mut child = std::process::Command::new(util::bin())
        .current_dir(p.root())
        .env_remove("RUST_LOG")
        .env("SUIJI_CONFIG", p.path(util::CONFIG))
        .env(suiji::jobs::probe::LOG_ENV, "1")
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start suiji");
    let stderr = child.stderr.take().expect("stderr");
    let mut passed = std::io::BufReader::new(stderr)
        .lines()
        .map_while(Result::ok)
        .filter(|l| l.starts_with("suiji: passed "));
    if after == 0 || passed.nth(after - 1).is_some() {
        let _ = child.kill();
    }
    drop(passed);
    let status = child.wait().expect("wait for suiji");
    status.signal() == Some(9)
}

/// How many named points `args` passes, unkilled, on a fresh project (for the storm's kills).
fn points_of(rules: &str, args: &[&str]) -> usize {
    let p = service_project(rules);
    let mut cmd = p.suiji(args);
    cmd.env(suiji::jobs::probe::LOG_ENV, "1");
    let (code, out, err) = util::run(cmd);
    assert_eq!(code, 0, "{out}{err}");
    err.lines()
        .filter(|l| l.starts_with("suiji: passed "))
        .count()
}

/// Every draw of the project re-run from its record gives the same manifest, and every
/// draw's folder is in place byte for byte (`regenerate` has nothing to write).
fn assert_every_draw_verifies_and_no_file_is_missing(p: &Project, what: &str) {
    for (id, ..) in draws(p) {
        let (code, out, err) = util::run(p.suiji(&["verify", &id.to_string()]));
        assert_eq!(code, 0, "{what}: verify {id}\n{out}{err}");
        assert!(out.contains("identical"), "{what}: verify {id}\n{out}");
    }
    let (code, out, err) = util::run(p.suiji(&["regenerate"]));
    assert_eq!(code, 0, "{what}: regenerate\n{out}{err}");
    assert!(
        out.contains(" draw folder(s): 0 written, ") && out.contains(" unchanged, 0 failed"),
        "{what}: files missing or different\n{out}"
    );
}

#[test]
#[ignore = "slow: run by .ci/run"]
fn a_storm_of_kills_at_random_instants_loses_doubles_and_leaves_nothing() {
    // The same twelve (matter, period) pairs as the storm at named points, but each command
    // is killed with SIGKILL not at a point but as soon as the test sees it pass a random one
    // of its points (or as soon as it is started), wherever it happens to be by then: opening
    // or creating the database, reading the registries, drawing, writing files, committing,
    // moving files. No sleep: the kill follows the command's own progress. What is asserted
    // after each kill does not depend on where the kill landed (or on the machine's speed):
    // the same command run again finishes the work, nothing recorded is lost or doubled,
    // nothing is left staged, the chain verifies; and each project, once complete, has every
    // draw verifying and every file in place.
    let cron = "0 0 9 1 1,3,5,7,9,11 * 2023";
    let rules = format!(
        "{}{}",
        matter("a", cron, "3%", ""),
        matter("b", cron, "3%", "")
    );
    let periods: Vec<(String, String)> = ["zhian.a", "zhian.b"]
        .iter()
        .flat_map(|m| {
            [1, 3, 5, 7, 9, 11].map(|month| (m.to_string(), format!("2023-{month:02}-01T0900")))
        })
        .collect();
    let all = periods.len();
    let seed: u64 = std::env::var("SUIJI_STORM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_130);
    println!("kill storm at random instants: seed {seed} (SUIJI_STORM_SEED={seed})");
    let mut rng = Rng(seed);
    // The kills follow the points each command passes unkilled.
    let simulate = ["simulate", "--year", "2023"];
    let draw_one = ["draw", "zhian.a", "--period", "2023-01-01T0900"];
    let points = [
        points_of(&rules, &simulate),
        points_of(&rules, RUN_ONCE),
        points_of(&rules, &draw_one),
    ];
    println!(
        "unkilled: simulate passes {} points, run --once {}, draw {}",
        points[0], points[1], points[2]
    );
    let began = std::time::Instant::now();
    let (mut landed, mut attempts, mut projects, mut repaired) = (0, 0, 1, 0);
    let mut by_kind = [0usize; 3];
    let mut p = service_project(&rules);
    let mut simulated = rng.below(3) == 0;
    while landed < 60 {
        assert!(
            attempts < 600,
            "seed {seed}: too few kills land ({landed} of {attempts})"
        );
        let before = active(&p);
        if before.len() == all {
            assert_every_draw_verifies_and_no_file_is_missing(&p, &format!("seed {seed}"));
            p = service_project(&rules);
            projects += 1;
            simulated = rng.below(3) == 0;
            continue;
        }
        let undrawn: Vec<&(String, String)> = periods
            .iter()
            .filter(|(m, per)| !before.iter().any(|(bm, bp, _)| bm == m && bp == per))
            .collect();
        let kind = if simulated { 0 } else { 1 + rng.below(2) };
        let args: Vec<String> = match kind {
            0 => simulate.iter().map(|s| s.to_string()).collect(),
            1 => RUN_ONCE.iter().map(|s| s.to_string()).collect(),
            _ => {
                let (m, per) = undrawn[rng.below(undrawn.len())];
                ["draw", m, "--period", per]
                    .iter()
                    .map(|s| s.to_string())
                    .collect()
            }
        };
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        // From the start to the last point of an unkilled run (fewer are left to pass in a
        // project some draws of which are made, so some commands end before the kill).
        let after = rng.below(points[kind] + 1);
        attempts += 1;
        let what = format!(
            "seed {seed}, attempt {attempts}: suiji {} killed after point {after}",
            args.join(" ")
        );
        if kill_after(&p, &args, after) {
            landed += 1;
            by_kind[kind] += 1;
        }
        repaired += usize::from(!staging_left(&p).is_empty());
        // The same command again, not killed: it must finish what was asked.
        let (code, out, err) = util::run(p.suiji(&args));
        let refused = args[0] == "draw" && err.contains("already drawn");
        assert!(code == 0 || refused, "{what}, then again:\n{out}{err}");
        let after = active(&p);
        for d in &before {
            assert!(after.contains(d), "{what}: lost {d:?}");
        }
        let mut pairs: Vec<(&String, &String)> = after.iter().map(|(m, p, _)| (m, p)).collect();
        pairs.dedup();
        assert_eq!(pairs.len(), after.len(), "{what}: a draw recorded twice");
        if args[0] != "draw" {
            assert_eq!(after.len(), all, "{what}: draws missing");
        }
        let left = staging_left(&p);
        assert!(left.is_empty(), "{what}: staging left: {left:?}");
        assert_complete(&p);
    }
    assert_every_draw_verifies_and_no_file_is_missing(&p, &format!("seed {seed}"));
    println!(
        "kill storm at random instants: {landed} kills landed of {attempts} ({} simulate, {} run --once, {} draw) over {projects} projects; {repaired} left staged files that the next command put in place or removed; {:.1}s",
        by_kind[0],
        by_kind[1],
        by_kind[2],
        began.elapsed().as_secs_f64()
    );
}
