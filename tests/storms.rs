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
            .map(|i| p.spawn(&format!("open{i}"), &["audit", "verify"]))
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
