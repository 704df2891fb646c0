//! Period ids are file names on every OS (docs/draw-algorithm.md V2-15): a cron period of a new
//! draw is named `2024-04-01T0900`, never with a `:`, while a draw recorded before under
//! `2023-04-01T09:00` keeps its id, verifies identical, and its period counts as drawn.
//!
//! `tests/fixtures/period-ids-1` was written by the release before this change: a simulation of
//! 2023 over the small registry of docs/draw-algorithm.md §17 with one cron matter (its rule
//! file beside it), recorded as draw #1 of period `2023-04-01T09:00`.

mod util;

use std::io::Read as _;

use util::{Project, repo, run};

/// The fixture project: the §17 config and registries, the cron matter, the old database.
fn old_project() -> Project {
    let p = Project::shipped();
    let fixture = repo().join("tests/fixtures/period-ids-1");
    let spec = repo().join("tests/fixtures/spec");
    let read = |path: std::path::PathBuf| std::fs::read_to_string(path).expect("fixture");
    p.write("config/suiji.toml", &read(spec.join("suiji.toml")));
    p.only_rules(&[("zhian.toml", &read(fixture.join("rules/zhian.toml")))]);
    p.write(
        "registry/targets.csv",
        &read(spec.join("registry/targets.csv")),
    );
    p.write(
        "registry/inspectors.csv",
        &read(spec.join("registry/inspectors.csv")),
    );
    let gz = std::fs::read(fixture.join("data/suiji.sqlite3.gz")).expect("database");
    let mut db = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut db)
        .expect("gzip");
    std::fs::create_dir_all(p.path("data/snapshots")).expect("data");
    std::fs::write(p.path("data/suiji.sqlite3"), db).expect("write database");
    for f in std::fs::read_dir(fixture.join("data/snapshots")).expect("snapshots") {
        let f = f.expect("entry").path();
        let name = f.file_name().expect("name").to_string_lossy().into_owned();
        std::fs::copy(&f, p.path(&format!("data/snapshots/{name}"))).expect("copy snapshot");
    }
    p
}

#[test]
fn an_old_draw_keeps_its_id_and_verifies_and_a_new_one_has_a_file_name_on_every_os() {
    let p = old_project();
    // The draw recorded before: its id with `:` stays, and it re-runs identically.
    let out = p.ok(&["verify", "1"]);
    assert!(out.starts_with("identical"), "{out}");
    assert!(out.contains("zhian.q 2023-04-01T09:00"), "{out}");
    let recorded =
        std::fs::read_to_string(repo().join("tests/fixtures/period-ids-1/manifest.json"))
            .expect("manifest");
    p.write("old-manifest.json", &recorded);
    let out = p.ok(&["verify", "old-manifest.json"]);
    assert!(out.starts_with("identical"), "{out}");
    // Its period is drawn, whichever form names it: no second draw of it.
    for form in ["2023-04-01T0900", "2023-04-01T09:00"] {
        let (code, out, err) =
            run(p.suiji(&["draw", "zhian.q", "--period", form, "--seed", "demo"]));
        assert_ne!(code, 0, "{form} drawn twice:\n{out}");
        assert!(err.contains("already drawn"), "{err}");
    }
    // The schedule names the periods of new draws without `:`.
    let schedule = p.ok(&["schedule", "--year", "2024"]);
    assert!(schedule.contains("2024-04-01T0900"), "{schedule}");
    assert!(!schedule.contains("T09:00"), "{schedule}");
    // A new draw: id, folder and files named without `:`, verified identical.
    p.ok(&[
        "draw",
        "zhian.q",
        "--period",
        "2024-04-01T0900",
        "--seed",
        "demo",
    ]);
    let folder = p.path("out/draws/zhian.q/2024-04-01T0900");
    assert!(folder.join("manifest.json").exists(), "{folder:?}");
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(folder.join("manifest.json")).expect("read"))
            .expect("json");
    assert_eq!(m["period"]["id"], "2024-04-01T0900");
    for entry in std::fs::read_dir(&folder).expect("folder") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        assert!(
            !name.contains([':', '<', '>', '"', '|', '?', '*', '\\']),
            "{name} is no file name on Windows"
        );
    }
    let out = p.ok(&["verify", "2"]);
    assert!(out.starts_with("identical"), "{out}");
    // The period's name reads the same in both forms.
    let draws = p.ok(&["draws"]);
    assert!(
        draws.contains("2023-04-01T09:00") && draws.contains("2024-04-01T0900"),
        "{draws}"
    );
}

/// `suiji commit` names a cron period as its draws are recorded, whichever form is typed: a new
/// period typed `2024-04-01T09:00` is committed as `2024-04-01T0900` (and a draw typed in
/// either form finds the commitment), and the redraw of a period drawn under
/// `2023-04-01T09:00` typed `2023-04-01T0900` is committed under the recorded id; a period
/// drawn under its first id is refused in either form unless `--redraw`.
#[test]
fn a_commitment_typed_with_either_form_names_the_period_as_its_draws_are_recorded() {
    let p = old_project();
    let commit = |period: &str, extra: &[&str]| {
        let mut args = vec![
            "commit",
            "zhian.q",
            "--period",
            period,
            "--source",
            "中国福利彩票3D 第2099001期开奖号码",
            "--source-time",
            "2099-01-02 21:15",
        ];
        args.extend(extra);
        run(p.suiji(&args))
    };
    let (code, out, err) = commit("2024-04-01T09:00", &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("zhian.q 2024-04-01T0900 will be drawn")
            && out.contains("period 2024-04-01T09:00 recorded as 2024-04-01T0900"),
        "{out}"
    );
    let periods = || -> Vec<String> {
        let published: serde_json::Value =
            serde_json::from_str(&p.read("out/public/commitments.json")).expect("json");
        published["commitments"]
            .as_array()
            .expect("commitments")
            .iter()
            .map(|k| k["period"].as_str().expect("period").to_string())
            .collect()
    };
    assert_eq!(periods(), ["2024-04-01T0900"]);
    // The commitment waits for its value, whichever form the draw is typed in.
    for form in ["2024-04-01T0900", "2024-04-01T09:00"] {
        let (code, out, err) =
            run(p.suiji(&["draw", "zhian.q", "--period", form, "--seed", "demo"]));
        assert_eq!(code, 1, "{form}: {out}{err}");
        assert!(err.contains("(commitment #1)"), "{form}: {err}");
    }
    // The period drawn under its first id: drawn in either form, and its redraw is committed
    // under that id.
    let (code, out, err) = commit("2023-04-01T0900", &[]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("zhian.q 2023-04-01T09:00 was already drawn (draw #1)"),
        "{err}"
    );
    let (code, out, err) = commit("2023-04-01T0900", &["--redraw"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("zhian.q 2023-04-01T09:00 will be drawn")
            && out.contains("--period 2023-04-01T09:00 --redraw"),
        "{out}"
    );
    assert_eq!(periods(), ["2024-04-01T0900", "2023-04-01T09:00"]);
}
