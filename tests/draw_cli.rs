//! `suiji draw`, `verify`, `draws` and `audit` end to end, through the binary, on copies of the
//! shipped demo data: outputs, verifiability, refusals, redraws, tampering and crash safety.

mod util;

use util::scheduler::{crash_at, staged};
use util::{HOTEL_MANIFEST as MANIFEST, Project, SEEDED_HOTEL as SEEDED, run};

const DRAW: &[&str] = &["draw", "zhian.hotel", "--period", "2023-H1"];
const FOLDER: &str = "out/draws/zhian.hotel/2023-H1";

fn manifest(p: &Project, rel: &str) -> serde_json::Value {
    serde_json::from_str(&p.read(rel)).expect("manifest is JSON")
}

/// (id, name) of every inspector in a registry file.
fn inspectors(p: &Project, rel: &str) -> Vec<(String, String)> {
    p.read(rel)
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut f = l.split(',');
            Some((f.next()?.to_string(), f.next()?.to_string()))
        })
        .collect()
}

/// The number of rows of a table, for a draw (or all rows with `None`).
fn count(p: &Project, table: &str, draw: Option<i64>) -> i64 {
    let db = p.db();
    match draw {
        Some(id) => db.query_row(
            &format!("SELECT count(*) FROM {table} WHERE draw_id = ?1"),
            [id],
            |r| r.get(0),
        ),
        None => db.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0)),
    }
    .expect("count rows")
}

/// The draw lines of `suiji draws` (without header and total).
fn draw_lines(p: &Project, args: &[&str]) -> Vec<String> {
    let out = p.ok(args);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines.len() >= 2, "unexpected `suiji draws` output:\n{out}");
    lines[1..lines.len() - 1]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

#[test]
fn draw_prints_teams_and_writes_every_file_without_inspectors_in_public_files() {
    let p = Project::shipped();
    let (code, out, err) = run(p.suiji(DRAW));
    assert_eq!(code, 0, "{out}\n{err}");

    // Every drawn target is printed with a two-person team from the inspector registry.
    let registry = inspectors(&p, "config/registry/inspectors.csv");
    let header = out
        .lines()
        .position(|l| l.trim_start().starts_with("rank"))
        .expect("a table of drawn targets");
    let rows: Vec<&str> = out
        .lines()
        .skip(header + 1)
        .take_while(|l| !l.contains(" drawn, "))
        .collect();
    let m = manifest(&p, MANIFEST);
    let selected = m["selected"].as_array().expect("selected");
    assert!(!selected.is_empty());
    assert_eq!(rows.len(), selected.len(), "{out}");
    assert!(out.contains(&format!("{} drawn, 0 unstaffed", selected.len())));
    for (row, s) in rows.iter().zip(selected) {
        let id = s["target_id"].as_str().expect("target id");
        assert!(row.contains(id), "row {row:?} is not target {id}");
        let team = s["team"].as_array().expect("team");
        assert_eq!(team.len(), 2, "{row}");
        assert_ne!(team[0], team[1]);
        for member in team {
            let member = member.as_str().expect("inspector id");
            let name = &registry
                .iter()
                .find(|(i, _)| i == member)
                .expect("team member is in the registry")
                .1;
            assert!(row.contains(&format!("{name}({member})")), "{row}");
        }
    }
    assert!(out.contains(&format!("files in {}", p.path(FOLDER).display())));

    for f in [
        "manifest.json",
        "tasks.csv",
        "tasks.xlsx",
        "teams.html",
        "public.csv",
        "public.html",
    ] {
        let len = std::fs::metadata(p.path(&format!("{FOLDER}/{f}")))
            .unwrap_or_else(|e| panic!("{f}: {e}"))
            .len();
        assert!(len > 0, "{f} is empty");
    }
    // The task list names the teams; the public files name the targets and no inspector.
    let tasks = p.read(&format!("{FOLDER}/tasks.csv"));
    let public_csv = p.read(&format!("{FOLDER}/public.csv"));
    let public_html = p.read(&format!("{FOLDER}/public.html"));
    for s in selected {
        let name = s["target_name"].as_str().expect("name");
        assert!(public_csv.contains(name) && public_html.contains(name));
        for member in s["team"].as_array().expect("team") {
            assert!(tasks.contains(member.as_str().expect("id")));
        }
    }
    for (id, name) in &registry {
        for (file, text) in [("public.csv", &public_csv), ("public.html", &public_html)] {
            assert!(
                !text.contains(id.as_str()),
                "{file} shows inspector id {id}"
            );
            assert!(
                !text.contains(name.as_str()),
                "{file} shows inspector name {name}"
            );
        }
    }
}

#[test]
fn verify_says_identical_and_detects_each_kind_of_tampering() {
    let p = Project::shipped();
    p.ok(DRAW);
    let (code, out, err) = run(p.suiji(&["verify", MANIFEST]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.starts_with("identical"), "{out}");

    // A changed target id in the manifest.
    let m = manifest(&p, MANIFEST);
    let first = m["selected"][0]["target_id"]
        .as_str()
        .expect("target id")
        .to_string();
    // Another last character (the drawn id may already end in X: the seed is the system's).
    let last = if first.ends_with('X') { "Y" } else { "X" };
    let forged = format!("{}{last}", &first[..first.len() - 1]);
    p.write(
        "edited-target.json",
        &p.read(MANIFEST).replace(&first, &forged),
    );
    let (code, out, _) = run(p.suiji(&["verify", "edited-target.json"]));
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("DIFFERS"), "{out}");
    assert!(out.contains("the manifest was altered"), "{out}");
    assert!(
        out.contains(&format!("recorded {forged}")) && out.contains(&format!("re-run {first}")),
        "the difference is not named:\n{out}"
    );

    // A changed algorithm version.
    let algorithm = m["algorithm"].as_str().expect("algorithm");
    p.write(
        "edited-algorithm.json",
        &p.read(MANIFEST).replace(
            &format!("\"algorithm\": \"{algorithm}\""),
            "\"algorithm\": \"suiji-draw/99\"",
        ),
    );
    let (code, out, _) = run(p.suiji(&["verify", "edited-algorithm.json"]));
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("algorithm `suiji-draw/99`") && out.contains(algorithm),
        "{out}"
    );

    // Its claimed hash alone changed (every member the re-run's), and a member the re-run
    // does not name as a difference (`department`) changed under the claimed hash: each is
    // an altered manifest.
    let claimed = m["manifest_hash"].as_str().expect("hash");
    let department = m["department"].as_str().expect("department");
    let forgeries = [
        (claimed.to_string(), {
            let last = if claimed.ends_with('0') { "1" } else { "0" };
            format!("{}{last}", &claimed[..claimed.len() - 1])
        }),
        (
            format!("\"department\": \"{department}\""),
            format!("\"department\": \"{department}（代）\""),
        ),
    ];
    for (i, (from, to)) in forgeries.iter().enumerate() {
        let text = p.read(MANIFEST);
        assert!(text.contains(from.as_str()), "{from}");
        let name = format!("edited-{i}.json");
        p.write(&name, &text.replacen(from.as_str(), to, 1));
        let (code, out, _) = run(p.suiji(&["verify", &name]));
        assert_ne!(code, 0, "{out}");
        assert!(out.contains("the manifest was altered"), "{to}: {out}");
    }

    // A changed archived snapshot: one drawn target deregistered in the targets snapshot,
    // which is kept as a file beside the database (docs/registries.md).
    let hash = m["registry"]["targets_snapshot"].as_str().expect("hash");
    let file = p.path(&format!("data/snapshots/{hash}.csv"));
    let csv = std::fs::read_to_string(&file).expect("targets snapshot");
    assert!(csv.contains(&first));
    std::fs::write(&file, csv.replacen(&first, &forged, 1)).expect("tamper");
    let (code, out, _) = run(p.suiji(&["verify", MANIFEST]));
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("DIFFERS") && out.contains(&format!("targets snapshot {hash}")),
        "{out}"
    );
    assert!(out.contains("damaged"), "{out}");
}

/// `verify` compares the recorded selection and substitutes with the re-run's by digest, and
/// reads the recorded manifest again only when they differ: a manifest altered and sealed
/// again (its own hash right) still has every difference named, and the same draw written in
/// other whitespace verifies identical.
#[test]
fn verify_names_each_difference_of_a_resealed_manifest_and_reads_any_layout() {
    let p = Project::shipped();
    p.ok(DRAW);
    let m: suiji::draw::manifest::Manifest =
        serde_json::from_str(&p.read(MANIFEST)).expect("manifest");
    p.write("compact.json", &serde_json::to_string(&m).expect("JSON"));
    let (code, out, err) = run(p.suiji(&["verify", "compact.json"]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.starts_with("identical"), "{out}");

    let resealed = |name: &str, forge: &dyn Fn(&mut suiji::draw::manifest::Manifest)| {
        let mut forged = m.clone();
        forge(&mut forged);
        forged.manifest_hash = forged.compute_hash();
        p.write(name, &forged.to_file_json());
        let (code, out, _) = run(p.suiji(&["verify", name]));
        assert_ne!(code, 0, "{out}");
        assert!(out.contains("DIFFERS"), "{out}");
        assert!(!out.contains("the manifest was altered"), "{out}");
        assert!(out.contains("was never recorded"), "{out}");
        out
    };
    let (first, second) = (&m.selected[0], &m.selected[1]);
    let out = resealed("swapped.json", &|f| f.selected.swap(0, 1));
    assert!(
        out.contains("  - selection #1: ")
            && out.contains(&format!(
                "target recorded {}, re-run {}",
                second.target_id, first.target_id
            )),
        "{out}"
    );
    let out = resealed("team.json", &|f| f.selected[0].team.reverse());
    let mut reversed = first.team.clone();
    reversed.reverse();
    assert!(
        out.contains(&format!(
            "selection #1 ({}): team recorded {}, re-run {}",
            first.target_id,
            reversed.join("+"),
            first.team.join("+")
        )),
        "{out}"
    );
    // A name changed: the field that differs is named, not two equal lines.
    let out = resealed("name.json", &|f| f.selected[0].target_name.push('X'));
    assert!(
        out.contains(&format!(
            "selection #1 ({}): name recorded {}X, re-run {}",
            first.target_id, first.target_name, first.target_name
        )),
        "{out}"
    );
    let out = resealed("shorter.json", &|f| {
        f.selected.pop();
    });
    assert!(
        out.contains(&format!(
            "re-run has {}, not recorded",
            m.selected[m.selected.len() - 1].target_id
        )),
        "{out}"
    );
    assert!(m.substitutes.as_ref().is_some_and(|s| !s.is_empty()));
    let out = resealed("substitutes.json", &|f| f.substitutes = None);
    assert!(out.contains("substitutes differ"), "{out}");
    assert!(!out.contains("selection #"), "{out}");
    // Another matter named under the recorded hash (not sealed again): said to be changed
    // after it was sealed, naming the draw the hash belongs to.
    let mut renamed = m.clone();
    renamed.matter = "zhian.nosuch".into();
    p.write("renamed.json", &renamed.to_file_json());
    let (code, out, err) = run(p.suiji(&["verify", "renamed.json"]));
    assert_ne!(code, 0, "{out}");
    assert!(
        format!("{out}{err}").contains(&format!(
            "this manifest states the hash {} of draw #1 (zhian.hotel 2023-H1), but names \
             zhian.nosuch 2023-H1: it was changed after it was sealed",
            m.manifest_hash
        )),
        "{out}{err}"
    );
}

#[test]
fn a_manifest_that_was_never_recorded_does_not_verify() {
    // The same registry and rules elsewhere, drawn with another seed: the manifest re-runs
    // identically from the archived inputs, but it is not the draw that was recorded.
    let p = Project::shipped().simulation();
    let elsewhere = Project::shipped().simulation();
    p.ok(SEEDED);
    let mut other = SEEDED.to_vec();
    other[5] = "a seed tried in private";
    elsewhere.ok(&other);
    p.write("private.json", &elsewhere.read(MANIFEST));
    let recorded = manifest(&p, MANIFEST);
    let private = manifest(&p, "private.json");
    assert_eq!(recorded["rules_hash"], private["rules_hash"]);
    assert_eq!(recorded["registry"], private["registry"]);
    assert_ne!(recorded["selected"], private["selected"]);

    let (code, out, _) = run(p.suiji(&["verify", "private.json"]));
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("was never recorded"), "{out}");
    let hash = recorded["manifest_hash"].as_str().expect("hash");
    assert!(
        out.contains(&format!(
            "the recorded draw of zhian.hotel 2023-H1 is #1 with manifest {hash}"
        )),
        "{out}"
    );
    // Against its own data folder, it verifies.
    let (code, out, _) = run(p.suiji(&[
        "verify",
        "private.json",
        "--data",
        elsewhere.path("data").to_str().expect("path"),
    ]));
    assert_eq!(code, 0, "{out}");
}

#[test]
fn second_draw_is_refused_and_a_redraw_is_kept_and_audited() {
    let p = Project::shipped();
    p.ok(DRAW);
    let first = manifest(&p, MANIFEST);

    let (code, out, err) = run(p.suiji(DRAW));
    assert_ne!(code, 0, "{out}\n{err}");
    assert!(err.contains("already drawn (draw #1"), "{err}");
    assert!(err.contains("--redraw"), "{err}");
    assert_eq!(draw_lines(&p, &["draws", "--all"]).len(), 1);
    // The refused draw left the recorded one and its files alone.
    assert_eq!(manifest(&p, MANIFEST), first);

    // --redraw needs a reason.
    let mut no_reason = DRAW.to_vec();
    no_reason.push("--redraw");
    let (code, _, err) = run(p.suiji(&no_reason));
    assert_ne!(code, 0);
    assert!(err.contains("--reason"), "{err}");

    let mut redraw = DRAW.to_vec();
    redraw.extend(["--redraw", "--reason", "见证人缺席"]);
    let (code, out, err) = run(p.suiji(&redraw));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("recorded as draw #2"), "{out}");
    let second = manifest(&p, MANIFEST);
    assert_ne!(second["manifest_hash"], first["manifest_hash"]);

    // The old draw is kept, superseded; only the new one is active.
    let all = draw_lines(&p, &["draws", "--all"]);
    assert_eq!(all.len(), 2, "{all:?}");
    assert!(all[0].trim_start().starts_with("1 ") && all[0].contains("superseded"));
    assert!(all[1].trim_start().starts_with("2 ") && all[1].contains("active"));
    let active = draw_lines(&p, &["draws"]);
    assert_eq!(active.len(), 1);
    assert!(active[0].trim_start().starts_with("2 "));
    // Its files too, beside the new ones; and it still verifies.
    let old = format!("{FOLDER}.superseded-2/manifest.json");
    assert_eq!(manifest(&p, &old), first);
    let (code, out, _) = run(p.suiji(&["verify", &old]));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("(draw #1, superseded by #2;"), "{out}");
    let (code, out, _) = run(p.suiji(&["verify", MANIFEST]));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("(draw #2;"), "{out}");

    let log = p.ok(&["audit", "log"]);
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 2, "{log}");
    assert!(lines[0].contains("draw.record") && lines[0].contains("draw:1"));
    assert!(lines[1].contains("draw.redraw") && lines[1].contains("draw:2"));
    assert!(lines[1].contains("见证人缺席") && lines[1].contains("\"supersedes\":1"));
    assert!(p.ok(&["audit", "verify"]).contains("intact: 2 entries"));
}

#[test]
fn audit_verify_names_an_edited_entry() {
    let p = Project::shipped();
    p.ok(DRAW);
    p.ok(&["draw", "zhian.security", "--period", "2023-H1"]);
    p.ok(&["draw", "zhian.blasting", "--period", "2023-H1"]);
    assert!(p.ok(&["audit", "verify"]).contains("intact: 3 entries"));

    let db = p.db();
    db.execute_batch("DROP TRIGGER audit_log_no_update")
        .expect("drop trigger");
    db.execute(
        "UPDATE audit_log SET detail = json_set(detail, '$.selected', 99) WHERE seq = 2",
        [],
    )
    .expect("edit audit row");
    drop(db);
    let (code, out, err) = run(p.suiji(&["audit", "verify"]));
    assert_ne!(code, 0, "{out}\n{err}");
    assert!(out.contains("BROKEN at audit entry 2"), "{out}");
    assert!(out.contains("content was changed"), "{out}");
}

#[test]
fn same_seed_on_shuffled_registry_rows_draws_the_same() {
    let shuffle = |p: &Project, rel: &str| {
        let text = p.read(rel);
        let mut lines: Vec<&str> = text.lines().collect();
        let header = lines.remove(0);
        // A fixed permutation: reversed, then every other row moved to the end.
        lines.reverse();
        let (even, odd): (Vec<_>, Vec<_>) = lines.iter().enumerate().partition(|(i, _)| i % 2 == 0);
        let rows: Vec<&str> = even.into_iter().chain(odd).map(|(_, l)| *l).collect();
        assert_ne!(rows.first(), text.lines().nth(1).as_ref());
        p.write(rel, &format!("{header}\n{}\n", rows.join("\n")));
    };
    let a = Project::shipped().simulation();
    let b = Project::shipped().simulation();
    shuffle(&b, "config/registry/targets.csv");
    shuffle(&b, "config/registry/inspectors.csv");
    assert_ne!(
        a.read("config/registry/targets.csv"),
        b.read("config/registry/targets.csv")
    );
    for p in [&a, &b] {
        p.ok(SEEDED);
        p.ok(&[
            "draw",
            "zhian.hotel",
            "--period",
            "2023-chunjie",
            "--seed",
            "demo",
        ]);
    }
    for rel in [MANIFEST, "out/draws/zhian.hotel/2023-chunjie/manifest.json"] {
        let (ma, mb) = (manifest(&a, rel), manifest(&b, rel));
        assert_eq!(ma["selected"], mb["selected"], "{rel}");
        assert_eq!(ma["exclusions"], mb["exclusions"], "{rel}");
        assert_eq!(ma["exclusion_summary"], mb["exclusion_summary"], "{rel}");
        // Same canonical snapshots, though the files differ.
        assert_eq!(
            ma["registry"]["targets_snapshot"],
            mb["registry"]["targets_snapshot"]
        );
        assert_ne!(ma["registry"]["sources"], mb["registry"]["sources"]);
    }
}

#[test]
fn a_broken_registry_row_is_refused_with_file_and_line_and_nothing_recorded() {
    let p = Project::shipped();
    let rel = "config/registry/targets.csv";
    let text = p.read(rel);
    let lines: Vec<&str> = text.lines().collect();
    // Line 5 gets an impossible date; a copy of line 3 is appended (a duplicate id).
    let line5 = lines[4];
    assert!(line5.contains("2022-03-27"), "{line5}");
    let mut edited: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    edited[4] = line5.replace("2022-03-27", "2022-02-30");
    edited.push(lines[2].to_string());
    let dup_line = edited.len();
    p.write(rel, &format!("{}\n", edited.join("\n")));

    let (code, out, err) = run(p.suiji(DRAW));
    assert_ne!(code, 0, "{out}\n{err}");
    assert!(err.contains(&format!("{rel}:5:")), "{err}");
    assert!(err.contains("2022-02-30"), "{err}");
    assert!(err.contains(&format!("{rel}:{dup_line}:")), "{err}");
    assert!(err.contains("duplicate target id"), "{err}");
    assert!(err.contains("nothing was drawn"), "{err}");
    assert!(!p.path("out").exists());
    assert!(draw_lines(&p, &["draws", "--all"]).is_empty());
    assert!(p.ok(&["audit", "log"]).trim().is_empty());
}

#[test]
fn dry_run_records_and_writes_nothing() {
    // A typed seed: a simulation database (a database of real records refuses it, and its
    // dry runs take a fresh seed each time).
    let p = Project::shipped().simulation();
    let mut args = SEEDED.to_vec();
    args.push("--dry-run");
    let (code, out, err) = run(p.suiji(&args));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("dry run: nothing recorded"), "{out}");
    assert!(out.contains(" drawn, "), "{out}");
    assert!(!p.path("out").exists());
    assert!(draw_lines(&p, &["draws", "--all"]).is_empty());
    assert!(!p.ok(&["audit", "log"]).contains("draw."));
    assert_eq!(count(&p, "snapshots", None), 0);
    // The draw afterwards with the same typed seed is the one the dry run showed.
    let real = p.ok(SEEDED);
    let table = |s: &str| {
        s.lines()
            .skip_while(|l| !l.trim_start().starts_with("rank"))
            .take_while(|l| !l.contains(" drawn, "))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(table(&out), table(&real));
}

/// Asserts the database holds no draw or exactly one complete, consistent draw of
/// zhian.hotel 2023-H1 with its files in place; returns its id.
fn at_most_one_complete_draw(p: &Project) -> Option<i64> {
    if !p.path("data/suiji.sqlite3").exists() {
        assert!(
            !p.path(FOLDER).exists(),
            "files of a draw that was not recorded"
        );
        return None;
    }
    let db = p.db();
    let draws: Vec<(i64, String, String)> = db
        .prepare(&format!(
            "SELECT id, matter || ' ' || period, {} FROM draws",
            util::MANIFEST_TEXT
        ))
        .expect("query")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    drop(db);
    let orphans = count(p, "draw_targets", None)
        + count(p, "draw_team_members", None)
        + count(p, "draw_exclusions", None)
        + count(p, "draw_unstaffed", None);
    let audited = count(p, "audit_log", None);
    match draws.as_slice() {
        [] => {
            assert_eq!(orphans, 0, "rows of a draw that was not recorded");
            assert_eq!(audited, 0);
            assert!(
                !p.path(FOLDER).exists(),
                "files of a draw that was not recorded"
            );
            None
        }
        [(id, what, json)] => {
            assert_eq!(what, "zhian.hotel 2023-H1");
            let m: serde_json::Value = serde_json::from_str(json).expect("manifest");
            let selected = m["selected"].as_array().expect("selected");
            let members: usize = selected
                .iter()
                .map(|s| s["team"].as_array().map_or(0, Vec::len))
                .sum();
            let unstaffed = selected
                .iter()
                .filter(|s| !s["unstaffed"].is_null())
                .count();
            assert_eq!(count(p, "draw_targets", Some(*id)), selected.len() as i64);
            assert_eq!(count(p, "draw_team_members", Some(*id)), members as i64);
            assert_eq!(count(p, "draw_unstaffed", Some(*id)), unstaffed as i64);
            assert_eq!(audited, 1);
            assert!(p.ok(&["audit", "verify"]).contains("intact: 1 entries"));
            assert_eq!(manifest(p, MANIFEST), m, "files in place match the record");
            Some(*id)
        }
        more => panic!(
            "more than one draw: {:?}",
            more.iter().map(|d| d.0).collect::<Vec<_>>()
        ),
    }
}

#[test]
fn files_left_staged_by_a_crash_after_recording_are_put_in_place() {
    let p = Project::shipped();
    p.ok(DRAW);
    let recorded = manifest(&p, MANIFEST);
    // The state a crash between the commit and the move leaves behind (a process id above
    // the kernel's limit, 4194304: the process has ended).
    std::fs::rename(
        p.path(FOLDER),
        p.path("out/draws/zhian.hotel/.2023-H1.staging-4194305"),
    )
    .expect("rename");
    let (code, _, err) = run(p.suiji(DRAW));
    assert_ne!(code, 0);
    assert!(err.contains("already drawn"), "{err}");
    assert_eq!(manifest(&p, MANIFEST), recorded);
    assert!(
        !p.path("out/draws/zhian.hotel/.2023-H1.staging-4194305")
            .exists()
    );
    let (code, out, _) = run(p.suiji(&["verify", MANIFEST]));
    assert_eq!(code, 0, "{out}");
}

#[test]
fn a_draw_stopped_before_its_commit_leaves_nothing_and_after_it_a_complete_draw() {
    let p = Project::shipped();
    // Stopped with its files staged, and inside the transaction recording it: nothing.
    for point in ["draw.staged", "draw.recording"] {
        crash_at(&p, DRAW, point);
        assert_eq!(at_most_one_complete_draw(&p), None, "{point}");
    }
    // Stopped just after the commit: the draw is recorded and its files are still staged;
    // the next command that looks at the draw puts them in place.
    crash_at(&p, DRAW, "draw.committed");
    assert!(!p.path(FOLDER).exists());
    let (code, _, err) = run(p.suiji(DRAW));
    assert_ne!(code, 0);
    assert!(err.contains("already drawn"), "{err}");
    let id = at_most_one_complete_draw(&p).expect("the committed draw");
    let (code, out, _) = run(p.suiji(&["verify", MANIFEST]));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("(draw #{id};")), "{out}");
}

/// A draw killed before its commit cannot remove its staging folder; the next command that
/// opens the data does, and says so. A staging folder of a process still running is kept.
#[test]
fn staging_folders_of_draws_killed_before_their_commit_are_removed_by_the_next_command() {
    let p = Project::shipped();
    let mut dry = DRAW.to_vec();
    dry.push("--dry-run");
    // The test process runs: a folder named after it belongs to a live job.
    let live = format!(".2023-H1.staging-{}", std::process::id());
    for point in ["draw.staged", "draw.recording"] {
        crash_at(&p, DRAW, point);
        let left = staged(&p, "zhian.hotel");
        assert_eq!(left.len(), 1, "{point}: {left:?}");
        std::fs::create_dir_all(p.path(&format!("out/draws/zhian.hotel/{live}"))).expect("mkdir");
        p.write(&format!("out/draws/zhian.hotel/{live}/manifest.json"), "{");
        let (code, out, err) = run(p.suiji(&dry));
        assert_eq!(code, 0, "{point}: {out}{err}");
        assert!(
            err.contains("removed a staging folder left by an interrupted run"),
            "{point}: {err}"
        );
        assert_eq!(staged(&p, "zhian.hotel"), vec![live.clone()], "{point}");
        assert_eq!(at_most_one_complete_draw(&p), None, "{point}");
        std::fs::remove_dir_all(p.path(&format!("out/draws/zhian.hotel/{live}"))).expect("rm");
    }
    // The draw then goes ahead as if nothing had happened, and leaves nothing staged.
    p.ok(DRAW);
    assert!(at_most_one_complete_draw(&p).is_some());
    assert!(staged(&p, "zhian.hotel").is_empty());
}

/// Two approvals of one redraw request at the same moment (approver B's whole approval runs
/// while approver A's redraw is staged, before A records it) draw once: B's redraw is
/// recorded, A's is refused as already decided and leaves nothing behind.
#[test]
fn two_approvals_of_one_redraw_request_at_once_draw_once() {
    let p = Project::shipped();
    p.ok(DRAW);
    let loaded = suiji::jobs::load_rules(&p.path("config/suiji.toml")).expect("rules");
    let data = loaded.model.config.data_dir.clone();
    let mut store = suiji::store::Store::open(&data).expect("db");
    let ask = suiji::jobs::redraw::Ask {
        draw_id: 1,
        reason: "见证人缺席".into(),
        actor: "operator".into(),
        at: "2023-03-01T10:00:00+08:00".into(),
    };
    let id = suiji::jobs::redraw::ask(&loaded, &mut store, &ask).expect("asked");
    let decide = |actor: &str| suiji::jobs::redraw::Decide {
        id,
        approve: true,
        actor: actor.into(),
        at: "2023-03-01T11:00:00+08:00".into(),
    };
    let other = std::rc::Rc::new(std::cell::RefCell::new(None));
    let seen = other.clone();
    let (again, b) = (loaded.clone(), decide("approver.b"));
    let a = suiji::jobs::probe::watching(
        move |point| {
            if point == "draw.staged" && seen.borrow().is_none() {
                let mut store = suiji::store::Store::open(&data).expect("db");
                let r = suiji::jobs::redraw::decide(&again, &mut store, &b, |_| true);
                *seen.borrow_mut() = Some(r.map_err(|e| e.to_string()));
            }
        },
        || suiji::jobs::redraw::decide(&loaded, &mut store, &decide("approver.a"), |_| true),
    );
    let b = other.borrow_mut().take().expect("B approved meanwhile");
    assert_eq!(b, Ok(Some(2)), "B's approval drew");
    let err = a.expect_err("A's approval is refused").to_string();
    assert!(
        err.contains(&format!("request #{id} was already decided")),
        "{err}"
    );

    let all = draw_lines(&p, &["draws", "--all"]);
    assert_eq!(all.len(), 2, "one redraw: {all:?}");
    assert_eq!(count(&p, "redraw_requests", None), 1);
    let decided: (i64, String) = p
        .db()
        .query_row(
            "SELECT new_draw_id, decided_by FROM redraw_requests",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("decided");
    assert_eq!(decided, (2, "approver.b".to_string()));
    let (code, out, _) = run(p.suiji(&["verify", MANIFEST]));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("(draw #2;"), "{out}");
    assert!(
        staged(&p, "zhian.hotel").is_empty(),
        "A's staged files are gone"
    );
    assert!(p.ok(&["audit", "verify"]).contains("intact"));
}

/// A draw's documents are written while it is recorded, and its commit waits for them: a draw
/// whose documents cannot be written is not recorded, says which file, and leaves nothing
/// staged; the same draw then goes ahead.
#[test]
fn a_draw_whose_documents_cannot_be_written_is_not_recorded() {
    let p = Project::shipped();
    let loaded = suiji::jobs::load_rules(&p.path("config/suiji.toml")).expect("rules");
    let input = suiji::jobs::draw::Input {
        matter: "zhian.hotel".into(),
        period: "2023-H1".into(),
        seed: suiji::jobs::issue::seed::SeedChoice::Os,
        reveal: None,
        dry_run: false,
        redraw: None,
        replaces: None,
        actor: "operator".into(),
        now: "2023-01-01T10:05:00+08:00".into(),
    };
    let folder = p.path("out/draws/zhian.hotel");
    let blocked = folder.clone();
    // Once the manifest is staged, a folder takes the public list's place.
    let drawn = suiji::jobs::probe::watching(
        move |point| {
            if point == "draw.staged" {
                for dir in std::fs::read_dir(&blocked).expect("draws folder").flatten() {
                    if dir.file_name().to_string_lossy().contains(".staging-") {
                        std::fs::create_dir(dir.path().join("public.csv")).expect("mkdir");
                    }
                }
            }
        },
        || suiji::jobs::draw::run(&loaded, &input),
    );
    let Err(err) = drawn else {
        panic!("drawn with its documents blocked");
    };
    let err = err.to_string();
    assert!(err.contains("public.csv"), "{err}");
    assert_eq!(at_most_one_complete_draw(&p), None);
    assert!(staged(&p, "zhian.hotel").is_empty());
    // Nothing in the way, the same draw is recorded with its files.
    suiji::jobs::draw::run(&loaded, &input).expect("drawn");
    assert!(at_most_one_complete_draw(&p).is_some());
    assert!(p.path(&format!("{FOLDER}/public.csv")).is_file());
    assert!(folder.join("2023-H1/bundle.audit.gz").is_file());
}

#[test]
fn a_registry_is_frozen_once_per_version_and_again_when_it_changed_keeping_its_look() {
    let p = Project::shipped();
    let snapshot_of = |p: &Project| {
        let m = manifest(p, MANIFEST);
        m["registry"]["targets_snapshot"]
            .as_str()
            .expect("targets_snapshot")
            .to_string()
    };
    let modified = |path: &std::path::Path| {
        std::fs::metadata(path)
            .and_then(|m| m.modified())
            .expect("modified")
    };
    let mut redraw = DRAW.to_vec();
    redraw.extend(["--redraw", "--reason", "见证人缺席"]);

    p.ok(DRAW);
    let first = snapshot_of(&p);
    let file = p.path(&format!("data/snapshots/{first}.csv"));
    let written = modified(&file);
    // The same file drawn from again: checked again, its snapshot used as it is.
    p.ok(&redraw);
    assert_eq!(snapshot_of(&p), first);
    assert_eq!(modified(&file), written, "the snapshot was written again");

    // The file changed but kept its length and time: frozen again, and written.
    let registry = p.path("config/registry/targets.csv");
    let look = std::fs::metadata(&registry).expect("registry");
    let text = p.read("config/registry/targets.csv");
    let changed = text.replacen("宾馆", "旅馆", 1);
    assert_ne!(changed, text);
    p.write("config/registry/targets.csv", &changed);
    std::fs::File::options()
        .write(true)
        .open(&registry)
        .and_then(|f| f.set_modified(look.modified()?))
        .expect("set the time back");
    let now = std::fs::metadata(&registry).expect("registry");
    assert_eq!(
        (now.len(), now.modified().ok()),
        (look.len(), look.modified().ok())
    );
    p.ok(&redraw);
    let third = snapshot_of(&p);
    assert_ne!(third, first);
    let refrozen = std::fs::read(p.path(&format!("data/snapshots/{third}.csv"))).expect("new");
    assert!(String::from_utf8_lossy(&refrozen).contains("旅馆"));
    let (code, out, _) = run(p.suiji(&["verify", MANIFEST]));
    assert_eq!(code, 0, "{out}");
}

/// `status` says when a matter's last draw was really made when that is later than its
/// scheduled day (a draw typed in a simulation database today, for a period of 2023).
#[test]
fn status_says_the_day_a_late_draw_was_really_made() {
    let p = Project::shipped().simulation();
    p.ok(SEEDED);
    let created: String = p
        .db()
        .query_row("SELECT created_at FROM draws WHERE id = 1", [], |r| {
            r.get(0)
        })
        .expect("the draw's time");
    let day = &created[..10];
    assert!(day > "2023-01-03", "{created}");
    // Every other draw since 2023 is overdue: the status is not 0, the line is what counts.
    let (_, out, _) = run(p.suiji(&["status"]));
    let hotel = out
        .lines()
        .find(|l| l.starts_with("zhian.hotel "))
        .unwrap_or_else(|| panic!("no hotel line:\n{out}"));
    assert!(
        hotel.contains(&format!("#1 2023-H1 on {day} (补抽, scheduled 2023-01-03)")),
        "{out}"
    );
}
