//! Seeds nobody can choose: commit to a named public source before its value exists, then
//! draw with exactly that value once it is announced (`suiji commit`, `draw --reveal`); a
//! seed typed by the operator is refused on a database of real records.

mod util;

use suiji::jobs::issue::seed::SeedChoice;
use util::{Project, run};

const HOTEL: &str = "zhian.hotel";
const SOURCE: &str = "中国福利彩票3D 第2099001期开奖号码";

fn commit(p: &Project, period: &str, source_time: &str) -> (i32, String) {
    let (code, out, err) = run(p.suiji(&[
        "commit",
        HOTEL,
        "--period",
        period,
        "--source",
        SOURCE,
        "--source-time",
        source_time,
    ]));
    (code, format!("{out}{err}"))
}

fn reveal(p: &Project, period: &str, value: &str, extra: &[&str]) -> (i32, String) {
    let mut args = vec!["draw", HOTEL, "--period", period, "--reveal", value];
    args.extend(extra);
    let (code, out, err) = run(p.suiji(&args));
    (code, format!("{out}{err}"))
}

#[test]
fn a_commitment_made_after_its_sources_time_is_refused() {
    let p = Project::shipped();
    let (code, out) = commit(&p, "2025-H1", "2020-01-02 21:15");
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(
            "the source's value is announced at 2020-01-02T21:15:00+08:00, which is not after now"
        ) && out.contains("a commitment must be made before its source's value exists"),
        "{out}"
    );
    let (code, out) = commit(&p, "2025-H1", "tomorrow");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("`tomorrow` is not a time"), "{out}");
    assert!(!p.path("out/public/commitments.json").exists());
    assert!(!p.ok(&["audit", "log"]).contains("commitment.record"));
}

#[test]
fn a_commitment_is_published_anchored_and_audited_and_waits_for_its_value() {
    let p = Project::shipped();
    let (code, out) = commit(&p, "2025-H1", "2099-01-02 21:15");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("commitment #1 recorded"), "{out}");
    let published: serde_json::Value =
        serde_json::from_str(&p.read("out/public/commitments.json")).expect("json");
    assert_eq!(published["format"], "suiji-commitments/1");
    let k = &published["commitments"][0];
    assert_eq!(k["source_time"], "2099-01-02T21:15:00+08:00", "{published}");
    assert_eq!(k["source"], SOURCE);
    assert_eq!(k["matter"], HOTEL);
    assert_eq!(k["revealed"], false);
    assert_eq!(k["rules_hash"].as_str().map(str::len), Some(64));
    // Frozen as a draw freezes it (in bounded memory, never loaded whole): the target snapshot
    // it names is written once to the snapshot folder, where the draw that reveals it finds it.
    let snapshot = k["targets_snapshot"].as_str().expect("targets_snapshot");
    assert!(
        p.path(&format!("data/snapshots/{snapshot}.csv")).is_file(),
        "{published}"
    );
    let anchors = p.read("out/public/anchors.json");
    assert!(anchors.contains("\"reason\": \"commitment\""), "{anchors}");
    assert!(p.ok(&["audit", "log"]).contains("commitment.record"));
    assert!(p.ok(&["audit", "verify"]).contains("intact"));

    // One source per draw: a second commitment is refused while the first waits.
    let (code, out) = commit(&p, "2025-H1", "2099-02-02 21:15");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("already has commitment #1"), "{out}");
    // The value does not exist yet: no draw.
    let (code, out) = reveal(&p, "2025-H1", "3 1 7", &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("the value does not exist yet"), "{out}");
    // A dry run never previews a revealed value.
    let (code, out) = reveal(&p, "2025-H1", "3 1 7", &["--dry-run"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("--dry-run cannot preview it"), "{out}");
    // While the commitment waits, no other seed draws it (a dry run still shows a draw).
    let (code, out, err) = run(p.suiji(&["draw", HOTEL, "--period", "2025-H1"]));
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains(&format!(
            "zhian.hotel 2025-H1 is committed to draw with the value of {SOURCE} (commitment #1)"
        )) && err.contains("--reveal \"VALUE\""),
        "{err}"
    );
    p.ok(&["draw", HOTEL, "--period", "2025-H1", "--dry-run"]);
    // A period without a commitment takes no revealed value.
    let (code, out) = reveal(&p, "2025-H2", "3 1 7", &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("has no commitment waiting for a value")
            && out.contains("suiji commit zhian.hotel --period 2025-H2"),
        "{out}"
    );
    assert_eq!(count(&p, "draws"), 0);
    // A commitment is permanent, and an edited one is found by the audit walk.
    let c = p.db();
    assert!(c.execute("DELETE FROM commitments", []).is_err());
    c.execute_batch(
        "DROP TRIGGER commitments_no_update; UPDATE commitments SET source_time = '2099-01-01T00:00:00+08:00';",
    )
    .expect("tamper");
    let (code, out, _) = run(p.suiji(&["audit", "verify"]));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("commitment.record commitment:1"), "{out}");
}

fn count(p: &Project, table: &str) -> i64 {
    p.db()
        .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .expect("count")
}

#[test]
fn a_typed_seed_is_refused_on_a_database_of_real_records_even_in_a_dry_run() {
    let p = Project::shipped();
    p.write("seed.txt", "03 17 22\n");
    for extra in [
        &["--seed", "03 17 22"][..],
        &["--seed", "03 17 22", "--dry-run"],
        &["--seed-from", "seed.txt"],
    ] {
        let mut args = vec!["draw", HOTEL, "--period", "2025-H1"];
        args.extend(extra);
        let (code, out, err) = run(p.suiji(&args));
        assert_eq!(code, 1, "{args:?}: {out}{err}");
        assert!(
            err.contains("a seed typed by the operator is refused on a database of real records")
                && err.contains("suiji commit zhian.hotel --period 2025-H1 --source")
                && err.contains("--reveal \"VALUE\"")
                && err.contains("typed seeds are accepted only on a simulation database"),
            "{err}"
        );
    }
    assert_eq!(count(&p, "draws"), 0);
    // Without a seed the system generates one, and the public list says so.
    let out = p.ok(&["draw", HOTEL, "--period", "2025-H1", "--dry-run"]);
    assert!(out.contains(" (os), algorithm "), "{out}");
    p.ok(&["draw", HOTEL, "--period", "2025-H1"]);
    let public = p.read("out/draws/zhian.hotel/2025-H1/public.html");
    assert!(public.contains("系统生成"), "{public}");
    // A simulation database takes typed seeds (the README's tour, reproducible tests).
    let sim = Project::shipped().simulation();
    let out = sim.ok(&["draw", HOTEL, "--period", "2025-H1", "--seed", "03 17 22"]);
    assert!(
        out.contains("SHA-256 of supplied text \"03 17 22\""),
        "{out}"
    );
}

/// Commitment time < the source's announced time < draw time, on a database of real
/// records: the job is run in-process with those times.
#[test]
fn the_revealed_value_seeds_the_draw_after_the_sources_time() {
    let p = Project::shipped();
    let loaded = suiji::jobs::load_rules(&p.path("config/suiji.toml")).expect("rules");
    let input = suiji::jobs::commit::Input {
        matter: HOTEL.into(),
        period: "2025-H1".into(),
        source: SOURCE.into(),
        source_time: "2025-01-02 21:15".into(),
        actor: "operator".into(),
        now: "2025-01-01T09:00:00+08:00".into(),
        redraw: false,
    };
    let k = suiji::jobs::commit::commit(&loaded, &input).expect("committed");
    let draw = |value: &str, now: &str| suiji::jobs::draw::Input {
        matter: HOTEL.into(),
        period: "2025-H1".into(),
        seed: SeedChoice::Os,
        reveal: Some(value.into()),
        dry_run: false,
        redraw: None,
        replaces: None,
        actor: "operator".into(),
        now: now.into(),
    };
    let early = suiji::jobs::draw::run(&loaded, &draw("3 1 7", "2025-01-02T21:15:00+08:00"));
    assert!(
        early.is_err_and(|e| e.to_string().contains("the value does not exist yet")),
        "not at the announced time itself"
    );
    let drawn = suiji::jobs::draw::run(&loaded, &draw(" 3 1 7 ", "2025-01-02T21:40:00+08:00"))
        .expect("drawn");
    assert_eq!(drawn.issued.draw_id, Some(1));
    let manifest: serde_json::Value =
        serde_json::from_str(&p.read("out/draws/zhian.hotel/2025-H1/manifest.json"))
            .expect("manifest");
    // SHA-256("3 1 7"): the trimmed value, exactly (docs/draw-algorithm.md).
    assert_eq!(manifest["seed"], hex_sha256("3 1 7"), "{manifest}");
    let source = manifest["seed_source"].as_str().unwrap_or_default();
    assert_eq!(
        source,
        format!(
            "committed source \"{SOURCE}\" announced 2025-01-02T21:15:00+08:00 (commitment #{}, 2025-01-01T09:00:00+08:00): \"3 1 7\"",
            k.id
        )
    );
    let public = p.read("out/draws/zhian.hotel/2025-H1/public.html");
    assert!(
        public.contains(&format!("事先承诺的公开来源“{SOURCE}”所公布之值“3 1 7”")),
        "{public}"
    );
    let verified = p.ok(&["verify", "out/draws/zhian.hotel/2025-H1/manifest.json"]);
    assert!(verified.starts_with("identical"), "{verified}");
    let published: serde_json::Value =
        serde_json::from_str(&p.read("out/public/commitments.json")).expect("json");
    assert_eq!(published["commitments"][0]["revealed"], true, "{published}");
    // Used once: the value cannot seed the draw again.
    let (code, out) = reveal(&p, "2025-H1", "9 9 9", &["--redraw", "--reason", "again"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("has no commitment waiting"), "{out}");
}

/// A commitment binds what the draw is made from: a registry changed since is refused.
#[test]
fn a_reveal_is_refused_when_the_registry_changed_since_the_commitment() {
    let p = Project::shipped();
    let loaded = suiji::jobs::load_rules(&p.path("config/suiji.toml")).expect("rules");
    let input = suiji::jobs::commit::Input {
        matter: HOTEL.into(),
        period: "2025-H1".into(),
        source: SOURCE.into(),
        source_time: "2025-01-02T21:15:00+08:00".into(),
        actor: "operator".into(),
        now: "2025-01-01T09:00:00+08:00".into(),
        redraw: false,
    };
    suiji::jobs::commit::commit(&loaded, &input).expect("committed");
    let targets = p.read("config/registry/targets.csv");
    let fewer: Vec<&str> = targets.lines().take(targets.lines().count() - 1).collect();
    p.write(
        "config/registry/targets.csv",
        &format!("{}\n", fewer.join("\n")),
    );
    let draw = suiji::jobs::draw::Input {
        matter: HOTEL.into(),
        period: "2025-H1".into(),
        seed: SeedChoice::Os,
        reveal: Some("3 1 7".into()),
        dry_run: false,
        redraw: None,
        replaces: None,
        actor: "operator".into(),
        now: "2025-01-03T09:00:00+08:00".into(),
    };
    let e = suiji::jobs::draw::run(&loaded, &draw).expect_err("refused");
    assert!(
        e.to_string()
            .contains("the target registry snapshot changed since commitment #1"),
        "{e}"
    );
    assert_eq!(count(&p, "draws"), 0);
}

fn hex_sha256(text: &str) -> String {
    suiji::digest::sha256_hex(text.as_bytes())
}

/// A scheduled draw with a commitment waiting for its value is not overdue: `status` says
/// WAITING and what to do; with `[seed] source = "public"` every scheduled draw waits for a
/// commitment.
#[test]
fn scheduled_draws_wait_for_their_public_source() {
    let p = Project::shipped();
    let (code, out) = commit(&p, "2025-H1", "2099-01-02 21:15");
    assert_eq!(code, 0, "{out}");
    let (_, out, err) = run(p.suiji(&["status", "--today", "2025-03-01"]));
    let hotel = out
        .lines()
        .find(|l| l.starts_with("zhian.hotel "))
        .unwrap_or_else(|| panic!("{out}{err}"));
    assert!(
        hotel.contains(&format!(
            "WAITING 2025-H1 (due 2025-01-02) for the value of {SOURCE} announced 2099-01-02T21:15:00+08:00 (commitment #1): suiji draw zhian.hotel --period 2025-H1 --reveal \"VALUE\""
        )) && !hotel.contains("OVERDUE 2025-H1"),
        "{hotel}"
    );
    p.set_config(&["seed", "source"], "public");
    let (_, out, _) = run(p.suiji(&["status", "--today", "2025-03-01"]));
    let cafe = out
        .lines()
        .find(|l| l.starts_with("wangan.internet-cafe "))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        cafe.contains("WAITING 2025 (due ")
            && cafe.contains("for a public source: none committed yet (suiji commit wangan.internet-cafe --period 2025 --source"),
        "{cafe}"
    );
}

/// `[seed] source = "file"` lets whoever writes the file choose the seed: the service refuses
/// it on a database of real records, pointing at the config line and saying what to use; a
/// simulation database keeps it.
#[test]
fn a_seed_file_in_the_config_is_refused_on_real_records() {
    let p = Project::shipped();
    let config = p.read("config/suiji.toml");
    assert!(config.contains("\nsource = \"os\""), "{config}");
    let line = config[..config.find("\nsource = \"os\"").unwrap_or_default()]
        .lines()
        .count()
        + 1;
    p.write(
        "config/suiji.toml",
        &config.replacen(
            "\nsource = \"os\"",
            "\nsource = \"file\"\nfile = \"seed.txt\"",
            1,
        ),
    );
    p.write(
        "seed.txt",
        "第 2024031 期 开奖号码 03 11 19 24 28 33 + 07\n",
    );
    for args in [
        &["run", "--once"][..],
        &["serve", "--listen", "127.0.0.1:0", "--no-scheduler"][..],
    ] {
        let (code, out, err) = run(p.suiji(args));
        assert_eq!(code, 1, "{args:?}: {out}{err}");
        assert!(
            err.contains("`[seed] source = \"file\"` is refused on a database of real records: whoever writes the file chooses the seed")
                && err.contains(&format!("config/suiji.toml:{line}:11"))
                && err.contains("write source = \"public\"")
                && err.contains("or write source = \"os\""),
            "{args:?}: {err}"
        );
    }
    assert_eq!(count(&p, "draws"), 0);

    let p = Project::shipped().simulation();
    p.write(
        "config/suiji.toml",
        &config.replacen(
            "\nsource = \"os\"",
            "\nsource = \"file\"\nfile = \"seed.txt\"",
            1,
        ),
    );
    p.write("seed.txt", "3 1 7\n");
    let (code, out, err) = run(p.suiji(&["run", "--once", "--since", "2099-01-01"]));
    assert!(
        code == 0 && !err.contains("is refused"),
        "{code}: {out}{err}"
    );
}

/// A commitment of `HOTEL` 2025-H1 made in-process at `now`.
fn commit_at(
    loaded: &suiji::rules::Loaded,
    (source_time, now): (&str, &str),
    redraw: bool,
) -> Result<suiji::store::Commitment, suiji::jobs::commit::CommitError> {
    let input = suiji::jobs::commit::Input {
        matter: HOTEL.into(),
        period: "2025-H1".into(),
        source: SOURCE.into(),
        source_time: source_time.into(),
        actor: "operator".into(),
        now: now.into(),
        redraw,
    };
    suiji::jobs::commit::commit(loaded, &input)
}

/// A draw of `HOTEL` 2025-H1 made in-process at `now`, revealing `value` (or with the
/// system's seed), as a redraw when `redraw` is given.
fn draw_at(
    loaded: &suiji::rules::Loaded,
    value: Option<&str>,
    now: &str,
    redraw: Option<&str>,
) -> Result<suiji::jobs::draw::Drawn, suiji::jobs::draw::DrawError> {
    let input = suiji::jobs::draw::Input {
        matter: HOTEL.into(),
        period: "2025-H1".into(),
        seed: SeedChoice::Os,
        reveal: value.map(str::to_string),
        dry_run: false,
        redraw: redraw.map(str::to_string),
        replaces: None,
        actor: "operator".into(),
        now: now.into(),
    };
    suiji::jobs::draw::run(loaded, &input)
}

/// A redraw of a draw whose seed came from a public source takes no seed chosen after the
/// fact: not the system's (CLI or console), not a value committed before the draw it
/// replaces; only the value of its own commitment, made after that draw.
#[test]
fn a_redraw_of_a_publicly_seeded_draw_needs_its_own_new_commitment() {
    for public in [false, true] {
        let p = Project::shipped();
        if public {
            p.set_config(&["seed", "source"], "public");
        }
        let loaded = suiji::jobs::load_rules(&p.path("config/suiji.toml")).expect("rules");
        commit_at(
            &loaded,
            ("2025-01-02 21:15", "2025-01-01T09:00:00+08:00"),
            false,
        )
        .expect("committed");
        draw_at(&loaded, Some("3 1 7"), "2025-01-03T09:00:00+08:00", None).expect("drawn");

        // The system's seed, from the command line.
        let (code, out, err) = run(p.suiji(&[
            "draw", HOTEL, "--period", "2025-H1", "--redraw", "--reason", "again",
        ]));
        assert_eq!(code, 1, "{out}{err}");
        assert!(
            err.contains("its redraw needs its own commitment, made after the draw it replaces")
                && err.contains("suiji commit zhian.hotel --period 2025-H1 --redraw --source"),
            "{err}"
        );
        // From the console: the request is recorded as one that reveals a commitment of its
        // own, and its approval draws nothing (no seed of the system's at approval).
        let mut store = suiji::store::Store::open(&loaded.model.config.data_dir).expect("db");
        let ask = suiji::jobs::redraw::Ask {
            draw_id: 1,
            reason: "again".into(),
            actor: "operator".into(),
            at: "2025-01-03T10:00:00+08:00".into(),
        };
        let id = suiji::jobs::redraw::ask(&loaded, &mut store, &ask).expect("recorded");
        let decide = suiji::jobs::redraw::Decide {
            id,
            approve: true,
            actor: "approver".into(),
            at: "2025-01-03T11:00:00+08:00".into(),
        };
        let drawn =
            suiji::jobs::redraw::decide(&loaded, &mut store, &decide, |_| true).expect("approved");
        assert_eq!(drawn, None, "approval draws nothing");
        let waiting = suiji::jobs::redraw::waiting(&store, HOTEL, "2025-H1")
            .expect("read")
            .expect("the redraw waits for its commitment");
        assert_eq!(waiting.id, id);
        assert_eq!(count(&p, "draws"), 1);

        // A commitment made as of before the draw it would replace is not the redraw's own.
        let (code, out) = commit(&p, "2025-H1", "2099-01-02 21:15");
        assert_eq!(code, 1, "{out}");
        assert!(
            out.contains(
                "commit for its redraw: suiji commit zhian.hotel --period 2025-H1 --redraw"
            ),
            "{out}"
        );
        commit_at(
            &loaded,
            ("2025-01-05 21:15", "2025-01-02T09:00:00+08:00"),
            true,
        )
        .expect("committed");
        let e = draw_at(
            &loaded,
            Some("4 5 6"),
            "2025-01-06T09:00:00+08:00",
            Some("again"),
        )
        .expect_err("stale");
        assert!(
            e.to_string()
                .contains("commitment #2 was made at 2025-01-02T09:00:00+08:00, before draw #1"),
            "{e}"
        );
        assert_eq!(count(&p, "draws"), 1);
    }
    {
        // Its own commitment, made after the draw: the redraw takes exactly its value.
        let fresh = Project::shipped();
        fresh.set_config(&["seed", "source"], "public");
        let loaded = suiji::jobs::load_rules(&fresh.path("config/suiji.toml")).expect("rules");
        commit_at(
            &loaded,
            ("2025-01-02 21:15", "2025-01-01T09:00:00+08:00"),
            false,
        )
        .expect("committed");
        draw_at(&loaded, Some("3 1 7"), "2025-01-03T09:00:00+08:00", None).expect("drawn");
        commit_at(
            &loaded,
            ("2025-01-05 21:15", "2025-01-04T09:00:00+08:00"),
            true,
        )
        .expect("the redraw's commitment");
        let drawn = draw_at(
            &loaded,
            Some("4 5 6"),
            "2025-01-06T09:00:00+08:00",
            Some("again"),
        )
        .expect("redrawn");
        assert_eq!(drawn.issued.draw_id, Some(2));
        let manifest: serde_json::Value =
            serde_json::from_str(&fresh.read("out/draws/zhian.hotel/2025-H1/manifest.json"))
                .expect("manifest");
        assert_eq!(manifest["seed"], hex_sha256("4 5 6"), "{manifest}");
    }
}

/// A matter's own `seed = { … }` replaces the config's `[seed]`; bad values in either are
/// errors at their line and column.
#[test]
fn a_matter_takes_its_own_seed_source_and_bad_seed_keys_are_located() {
    let p = Project::shipped();
    let rules = p.read("rules/zhian.toml");
    let with_seed = rules.replacen(
        "id = \"hotel\"\n",
        "id = \"hotel\"\nseed = { source = \"public\", name = \"福彩3D {date} 开奖号码\", announce = \"21:15\" }\n",
        1,
    );
    assert_ne!(with_seed, rules);
    p.write("rules/zhian.toml", &with_seed);
    let (_, out, err) = run(p.suiji(&["status", "--today", "2025-03-01"]));
    let line = |id: &str| {
        out.lines()
            .find(|l| l.starts_with(id))
            .unwrap_or_else(|| panic!("{out}{err}"))
            .to_string()
    };
    assert!(
        line("zhian.hotel ").contains(
            "WAITING 2025-H1 (due 2025-01-02) for its commitment to 福彩3D {date} 开奖号码: the service commits 3 day(s) before the issue date"
        ),
        "{out}"
    );
    assert!(!line("wangan.internet-cafe ").contains("WAITING"), "{out}");

    // A matter's seed is never a file; the config's keys are checked where they are written.
    p.write(
        "rules/zhian.toml",
        &rules.replacen(
            "id = \"hotel\"\n",
            "id = \"hotel\"\nseed = { source = \"file\" }\n",
            1,
        ),
    );
    let config = p.read("config/suiji.toml");
    p.write(
        "config/suiji.toml",
        &config.replacen(
            "\nsource = \"os\"",
            "\nsource = \"public\"\nname = \"福彩3D\"\nannounce = \"9pm\"\nfetch_url = \"https://example.org/{date}\"",
            1,
        ),
    );
    let (code, out, err) = run(p.suiji(&["check"]));
    assert_eq!(code, 1, "{out}{err}");
    let at = |needle: &str, file: &str| {
        let text = p.read(file);
        let offset = text.find(needle).unwrap_or_else(|| panic!("{needle}"));
        let line = text[..offset].lines().count().max(1);
        let col = offset - text[..offset].rfind('\n').map_or(0, |i| i + 1) + 1;
        format!("{file}:{line}:{col}")
    };
    for (message, place) in [
        (
            "a matter's seed source is \"os\" or \"public\"",
            at("file\" }", "rules/zhian.toml"),
        ),
        (
            "`seed.name` has no `{date}`",
            at("福彩3D\"", "config/suiji.toml"),
        ),
        (
            "`seed.announce` = `9pm` is not a time of day",
            at("9pm\"", "config/suiji.toml"),
        ),
        (
            "`seed.fetch_url` = `https://example.org/{date}` is not an http:// address",
            at("https://", "config/suiji.toml"),
        ),
    ] {
        assert!(err.contains(message), "{message}: {err}");
        assert!(err.contains(&place), "{message} at {place}: {err}");
    }
}
