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
            [1, 3, 5, 7, 9, 11].map(|month| (m.to_string(), format!("2023-{month:02}-01T09:00")))
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
