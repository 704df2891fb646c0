//! The store on PostgreSQL: the schema's invariants kept by the server, `db migrate` from a
//! county's SQLite file (lossless, table by table, the audit chain agreeing), the chain's head
//! appended under a row lock, draws recorded, listed and verified there as on SQLite (the same
//! bytes), and commands that do not run there yet saying so.
//!
//! These tests use a real server: `SUIJI_TEST_DATABASE` names a database (`.ci/run` creates a
//! fresh one per run); each test works in a schema of its own. Without it they are skipped
//! with the reason printed, except under `CI`, where they fail.

mod util;

use suiji::store::AuditLog;
use suiji::store::pg::{PgStore, Place};
use util::{Project, run};

use util::fresh_schema as fresh;

fn client(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls).expect("connect")
}

/// A year simulated with two-person rule approval, the example results imported and
/// published, and one draw replaced by a redraw: every kind of record.
fn county() -> Project {
    let p = Project::shipped_two_person();
    p.ok(&["simulate", "--year", "2023", "--seed", "demo"]);
    let example = util::repo().join("config/examples/results-2023-zhian-hotel-H1.csv");
    std::fs::copy(&example, p.path("example.csv")).expect("copy example");
    p.ok(&["results", "import", "example.csv"]);
    p.ok(&["publish", "--today", "2023-04-03"]);
    p
}

/// Every row of `table` in SQLite, each value rendered with its type, sorted.
fn sqlite_rows(db: &rusqlite::Connection, table: &str) -> Vec<String> {
    // A manifest SQLite keeps in pieces is compared as its text, which PostgreSQL keeps whole.
    let columns = match table {
        "draws" => {
            let names: Vec<String> = db
                .prepare("SELECT name FROM pragma_table_info('draws')")
                .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
                .expect("columns");
            names
                .iter()
                .map(|n| match n.as_str() {
                    "manifest_json" => format!("({}) AS manifest_json", util::MANIFEST_TEXT),
                    n => format!("\"{n}\""),
                })
                .collect::<Vec<_>>()
                .join(", ")
        }
        _ => "*".to_string(),
    };
    let mut stmt = db
        .prepare(&format!("SELECT {columns} FROM \"{table}\""))
        .expect("select");
    let n = stmt.column_count();
    let mut rows = stmt.query([]).expect("query");
    let mut out = Vec::new();
    while let Some(r) = rows.next().expect("row") {
        let mut line = Vec::new();
        for i in 0..n {
            let name = r.as_ref().column_name(i).expect("name").to_string();
            let v = match r.get_ref(i).expect("value") {
                rusqlite::types::ValueRef::Null => "null".to_string(),
                rusqlite::types::ValueRef::Integer(i) => format!("int {i}"),
                rusqlite::types::ValueRef::Real(f) => format!("real {f}"),
                rusqlite::types::ValueRef::Text(t) => {
                    format!("text {}", String::from_utf8_lossy(t))
                }
                rusqlite::types::ValueRef::Blob(b) => format!("blob {}", hex(b)),
            };
            line.push(format!("{name}={v}"));
        }
        line.sort();
        out.push(line.join("|"));
    }
    out.sort();
    out
}

/// Every row of `table` in PostgreSQL, rendered as [`sqlite_rows`] does.
fn pg_rows(db: &mut postgres::Client, table: &str) -> Vec<String> {
    use postgres::types::Type;
    let mut out = Vec::new();
    for r in db
        .query(&format!("SELECT * FROM \"{table}\""), &[])
        .expect("select")
    {
        let mut line = Vec::new();
        for (i, c) in r.columns().iter().enumerate() {
            let ty = c.type_();
            let v = if *ty == Type::INT8 {
                r.get::<_, Option<i64>>(i).map(|i| format!("int {i}"))
            } else if *ty == Type::BYTEA {
                r.get::<_, Option<Vec<u8>>>(i)
                    .map(|b| format!("blob {}", hex(&b)))
            } else {
                r.get::<_, Option<String>>(i).map(|t| format!("text {t}"))
            };
            line.push(format!(
                "{}={}",
                c.name(),
                v.unwrap_or_else(|| "null".into())
            ));
        }
        line.sort();
        out.push(line.join("|"));
    }
    out.sort();
    out
}

/// Asserts that `p` made no SQLite file: everything went to PostgreSQL.
fn assert_no_sqlite_file(p: &Project) {
    assert!(
        !p.path("data/suiji.sqlite3").exists(),
        "a SQLite file was made"
    );
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn the_postgres_schema_has_every_sqlite_schema_version() {
    assert_eq!(
        suiji::store::pg::PG_SCHEMA_VERSION,
        suiji::store::SCHEMA_VERSION,
        "a SQLite migration needs its PostgreSQL twin in src/store/pg/schema.rs"
    );
}

/// `suiji db migrate` of `p`'s SQLite file into `url`, with `more` arguments.
fn migrate(p: &Project, url: &str, more: &[&str]) -> (i32, String, String) {
    let mut args = vec!["db", "migrate", "--from", "data/suiji.sqlite3", "--to", url];
    args.extend(more);
    run(p.suiji(&args))
}

#[test]
fn a_county_moves_to_postgres_losslessly_and_its_audit_chain_agrees() {
    let Some(url) = fresh("migrate") else { return };
    let p = county();
    // An account, which crosses with the rest (its logging in there: see
    // `a_migrated_countys_accounts_log_in_on_postgres`).
    let (code, _, err) = user_cmd(
        &p,
        None,
        &[
            "user",
            "add",
            "li.ming",
            "--role",
            "operator",
            "--password-stdin",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert_eq!(code, 0, "{err}");
    // One draw replaced: a superseded draw and its rows must cross too.
    p.ok(&[
        "draw",
        "zhian.hotel",
        "--period",
        "2023-H2",
        "--seed",
        "again",
        "--redraw",
        "--reason",
        "见证人缺席",
    ]);
    let sqlite_verify = p.ok(&["audit", "verify"]);

    // Published anchors the chain contradicts stop the migration before anything is copied.
    let anchors = "out/public/anchors.json";
    let published = p.read(anchors);
    let first_hash = published
        .split("\"hash\": \"")
        .nth(1)
        .and_then(|h| h.get(..64))
        .expect("an anchor's hash");
    p.write(
        "altered.json",
        &published.replacen(first_hash, &"0".repeat(64), 1),
    );
    let (code, _, err) = migrate(&p, &url, &["--anchors", "altered.json"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("altered.json do not agree with the SQLite file's chain"),
        "{err}"
    );
    let mut pg = client(&url);
    // (The migration below needs an empty database: this one left nothing.)

    let (code, out, err) = migrate(&p, &url, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("the chain agrees with the SQLite file's"),
        "{out}"
    );
    assert!(!out.contains("password"), "{out}");

    // The county's published anchors are in the database, in their order, and check the chain
    // there; the daily anchor finds the node's file agreeing with them.
    let file: suiji::store::Anchors = serde_json::from_str(&published).expect("anchors");
    assert!(file.anchors.len() >= 2, "{published}");
    assert!(
        out.contains(&format!("{} published anchors from ", file.anchors.len())),
        "{out}"
    );
    let kept = PgStore::open(&url)
        .expect("open")
        .anchors()
        .expect("anchors");
    assert_eq!(kept, file);
    let (code, checked, err) =
        run(p.suiji(&["audit", "verify", "--against", anchors, "--database", &url]));
    assert_eq!(code, 0, "{checked}{err}");
    assert!(
        checked.contains(&format!(
            "consistent with {} published anchors",
            file.anchors.len()
        )),
        "{checked}"
    );
    let (code, _, err) = run(p.suiji(&["audit", "anchor", "--database", &url]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        p.read(anchors),
        published,
        "the published file was rewritten"
    );

    // Every table, row for row and value for value.
    let lite = p.db();
    let tables: Vec<String> = lite
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite%'")
        .expect("tables")
        .query_map([], |r| r.get(0))
        .expect("tables")
        .collect::<Result<_, _>>()
        .expect("tables");
    assert!(tables.len() >= 17, "{tables:?}");
    let mut nonempty = 0;
    for t in &tables {
        if t == "draw_manifest_pieces" {
            // Joined into `draws.manifest_json` on PostgreSQL, compared there.
            continue;
        }
        let (a, b) = (sqlite_rows(&lite, t), pg_rows(&mut pg, t));
        assert_eq!(a.len(), b.len(), "table {t}");
        assert!(a == b, "table {t} differs after the copy");
        assert!(
            out.contains(&format!("{t} ")),
            "the count of {t} is not shown: {out}"
        );
        nonempty += usize::from(!a.is_empty());
    }
    assert!(nonempty >= 13, "too few tables hold records: {nonempty}");
    assert_eq!(pg_rows(&mut pg, "users").len(), 1, "the account crossed");
    let superseded: i64 = pg
        .query_one(
            "SELECT count(*) FROM draws WHERE status = 'superseded'",
            &[],
        )
        .expect("count")
        .get(0);
    assert_eq!(superseded, 1);

    // `audit verify` on PostgreSQL says what it says on SQLite.
    let (code, on_pg, err) = run(p.suiji(&["audit", "verify", "--database", &url]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(on_pg, sqlite_verify);
    let mut with_env = p.suiji(&["audit", "verify"]);
    with_env.env("SUIJI_DATABASE", &url);
    let (code, env_pg, _) = run(with_env);
    assert_eq!(code, 0);
    assert_eq!(env_pg, sqlite_verify);
    assert_eq!(
        p.ok(&["audit", "log", "--limit", "5", "--database", &url]),
        p.ok(&["audit", "log", "--limit", "5"])
    );

    // A second migration into the same database is refused, and changes nothing.
    let (code, _, err) = migrate(&p, &url, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("already holds records"), "{err}");
    assert_eq!(
        pg_rows(&mut pg, "audit_log").len(),
        sqlite_rows(&lite, "audit_log").len()
    );
}

#[test]
fn a_migration_carries_the_snapshot_files_and_refuses_an_altered_one() {
    let Some(url) = fresh("snapshot_files") else {
        return;
    };
    let p = county();
    let files: Vec<(String, i64)> = p
        .db()
        .prepare("SELECT hash, size FROM snapshots WHERE compressed_size = 0 AND size > 0")
        .expect("files")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("files")
        .collect::<Result<_, _>>()
        .expect("files");
    assert!(!files.is_empty(), "the year froze no registry as a file");
    let migrate = [
        "db",
        "migrate",
        "--from",
        "data/suiji.sqlite3",
        "--to",
        &url,
    ];

    // One byte of one file changed: refused, naming the file, and nothing is kept.
    let (hash, _) = &files[0];
    let file = p.path(&format!("data/snapshots/{hash}.csv"));
    let original = std::fs::read(&file).expect("read the snapshot file");
    let mut altered = original.clone();
    altered[0] = if altered[0] == b'x' { b'y' } else { b'x' };
    std::fs::write(&file, &altered).expect("alter");
    let (code, _, err) = run(p.suiji(&migrate));
    assert_ne!(code, 0, "{err}");
    assert!(err.contains(&format!("{hash}.csv")), "{err}");
    assert!(err.contains("damaged"), "{err}");
    let mut pg = client(&url);
    for table in ["snapshots", "snapshot_files", "audit_log"] {
        let n: i64 = pg
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .expect("count")
            .get(0);
        assert_eq!(n, 0, "{table} kept rows of a refused migration");
    }

    // Restored: every file crosses, byte for byte.
    std::fs::write(&file, &original).expect("restore");
    let out = p.ok(&migrate);
    assert!(
        out.contains(&format!("{} snapshot files", files.len())),
        "{out}"
    );
    for (hash, size) in &files {
        let mut bytes = Vec::new();
        for r in pg
            .query(
                "SELECT data FROM snapshot_files WHERE hash = $1 ORDER BY part",
                &[hash],
            )
            .expect("parts")
        {
            bytes.extend(r.get::<_, Vec<u8>>(0));
        }
        assert_eq!(bytes.len() as i64, *size, "{hash}");
        let on_disk = std::fs::read(p.path(&format!("data/snapshots/{hash}.csv"))).expect("file");
        assert!(bytes == on_disk, "snapshot {hash} differs on PostgreSQL");
    }
    let e = pg
        .batch_execute("DELETE FROM snapshot_files")
        .expect_err("delete");
    assert!(format!("{e:?}").contains("permanent"), "{e:?}");
}

#[test]
fn the_server_keeps_the_invariants_and_audit_verify_finds_edits_behind_its_back() {
    let Some(url) = fresh("invariants") else {
        return;
    };
    let p = county();
    p.ok(&[
        "db",
        "migrate",
        "--from",
        "data/suiji.sqlite3",
        "--to",
        &url,
    ]);
    let mut pg = client(&url);
    let refused = |pg: &mut postgres::Client, sql: &str, says: &str| {
        let e = pg.batch_execute(sql).expect_err(sql);
        let text = e
            .as_db_error()
            .map(|d| d.message().to_string())
            .unwrap_or_default();
        assert!(text.contains(says), "{sql}: {text}");
    };
    refused(
        &mut pg,
        "UPDATE audit_log SET actor = 'x' WHERE seq = 1",
        "append-only: UPDATE refused",
    );
    refused(
        &mut pg,
        "DELETE FROM audit_log WHERE seq = 1",
        "append-only: DELETE refused",
    );
    refused(&mut pg, "TRUNCATE audit_log CASCADE", "TRUNCATE refused");
    refused(
        &mut pg,
        "DELETE FROM audit_v2",
        "append-only: DELETE refused",
    );
    refused(
        &mut pg,
        "UPDATE draws SET seed_hex = 'ab' WHERE id = 1",
        "draws are permanent",
    );
    refused(
        &mut pg,
        "DELETE FROM draw_targets",
        "draw_targets are permanent",
    );
    refused(
        &mut pg,
        "UPDATE snapshots SET kind = kind",
        "snapshots are permanent",
    );
    refused(
        &mut pg,
        "UPDATE results SET remarks = 'x' WHERE published_at IS NOT NULL",
        "published result",
    );
    refused(
        &mut pg,
        "INSERT INTO audit_log (seq, at, actor, action, subject, detail, prev_hash, hash)
         SELECT seq + 5, at, actor, action, subject, detail, hash, hash FROM audit_log
         ORDER BY seq DESC LIMIT 1",
        "must extend the chain",
    );
    // One active draw per (matter, period): a second one is refused by the unique index.
    let e = pg
        .batch_execute(
            "INSERT INTO draws (matter, period, kind, algorithm, seed_hex, seed_source, rules_hash,
                 targets_snapshot, inspectors_snapshot, reference_date, issue_date, due_date,
                 created_at, actor, manifest_json, manifest_hash)
             SELECT matter, period, kind, algorithm, seed_hex, seed_source, rules_hash,
                 targets_snapshot, inspectors_snapshot, reference_date, issue_date, due_date,
                 created_at, actor, manifest_json, manifest_hash FROM draws WHERE id = 1",
        )
        .expect_err("a second active draw");
    let db = e.as_db_error().expect("db error");
    assert_eq!(db.constraint(), Some("draws_one_active"), "{e}");

    let (code, out, _) = run(p.suiji(&["audit", "verify", "--database", &url]));
    assert_eq!(code, 0, "{out}");

    // A row edited by the owner with the triggers switched off is found by `audit verify`.
    pg.batch_execute(
        "ALTER TABLE draw_targets DISABLE TRIGGER USER;
         UPDATE draw_targets SET target_name = target_name || '（改）'
             WHERE draw_id = 2 AND seq = 0;
         ALTER TABLE draw_targets ENABLE TRIGGER USER;",
    )
    .expect("tamper");
    let (code, out, _) = run(p.suiji(&["audit", "verify", "--database", &url]));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("AUDIT LOG BROKEN"), "{out}");
    assert!(
        out.contains("the rows it records were changed since"),
        "{out}"
    );
}

#[test]
fn writers_on_two_connections_queue_at_the_head_and_never_fork_the_chain() {
    let Some(url) = fresh("head") else { return };
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let url = url.clone();
            std::thread::spawn(move || {
                let store = PgStore::open(&url).expect("open");
                for i in 0..40 {
                    store
                        .append_audit(
                            "2026-01-01T00:00:00+08:00",
                            &format!("writer-{w}"),
                            "test.append",
                            &format!("{w}/{i}"),
                            &serde_json::json!({ "i": i }),
                        )
                        .expect("append");
                }
            })
        })
        .collect();
    for w in writers {
        w.join().expect("writer");
    }
    let store = PgStore::open(&url).expect("open");
    match store.verify_audit().expect("verify") {
        suiji::store::AuditReport::Intact { entries, .. } => assert_eq!(entries, 80),
        broken => panic!("{broken:?}"),
    }
    assert_eq!(store.audit_last_seq().expect("last"), 80);
}

#[test]
fn a_foreign_postgres_database_is_refused_untouched() {
    let Some(url) = fresh("foreign") else { return };
    client(&url)
        .batch_execute("CREATE TABLE invoices (id BIGINT PRIMARY KEY)")
        .expect("create");
    let e = PgStore::open(&url).expect_err("foreign");
    assert!(e.to_string().contains("not a suiji one"), "{e}");
    let tables: i64 = client(&url)
        .query_one(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()",
            &[],
        )
        .expect("count")
        .get(0);
    assert_eq!(tables, 1);
}

/// The commands that read the rule and registry files run with a PostgreSQL database named,
/// as a node of a shared deployment runs them, and make no SQLite file.
#[test]
fn the_commands_that_read_rules_and_registries_run_on_a_postgres_node() {
    let Some(url) = fresh("readers") else { return };
    let p = Project::shipped();
    for args in [
        &["check", "--year", "2023"][..],
        &["plan", "--year", "2023"],
        &["schedule", "--year", "2023"],
        &["registry", "check"],
        &[
            "gen-registry",
            "--targets",
            "10",
            "--inspectors",
            "3",
            "--out",
            "gen",
        ],
    ] {
        let out = p.ok(&[args, &["--database", url.as_str()]].concat());
        assert!(!out.is_empty(), "{args:?}");
    }
    assert!(p.path("gen/targets.csv").is_file());
    assert_no_sqlite_file(&p);
}

#[test]
fn a_sqlite_data_folder_beside_a_postgres_database_is_refused_before_touching_anything() {
    let p = Project::shipped();
    let url = "postgres://nobody:secret@127.0.0.1:1/none";
    let verify = ["verify", "1", "--data", "data"];
    let (code, out, err) = run(p.suiji(&[&verify[..], &["--database", url]].concat()));
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("`--data` names a data folder of the SQLite database"),
        "{err}"
    );
    assert!(err.contains("leave out --data"), "{err}");
    assert_no_sqlite_file(&p);

    // The same through the config, and a URL that is not PostgreSQL's is located.
    p.set_config(&["database", "url"], url);
    let (code, _, err) = run(p.suiji(&verify));
    assert_eq!(code, 1);
    assert!(
        err.contains("names a data folder of the SQLite database"),
        "{err}"
    );
    p.set_config(&["database", "url"], "mysql://x@y/z");
    let (code, _, err) = run(p.suiji(&["check"]));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("`url` is not a PostgreSQL URL"), "{err}");
    assert!(err.contains("suiji.toml:"), "{err}");
    let (code, _, err) = run(p.suiji(&["status", "--database", "data/other.sqlite3"]));
    assert_eq!(code, 1);
    assert!(err.contains("is not a PostgreSQL URL"), "{err}");

    // A server that does not answer: the address, never the password, and what to check.
    let (code, _, err) = run(p.suiji(&["audit", "verify", "--database", url]));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(
            "cannot connect to the PostgreSQL database postgres://nobody@127.0.0.1:1/none"
        ),
        "{err}"
    );
    assert!(!err.contains("secret"), "{err}");
}

/// Draws the demo's hotels for 2023-H1 in-process, on `database` (PostgreSQL) or the project's
/// SQLite file, with a witness's seed at a fixed time: the same inputs both times.
fn draw_demo(p: &Project, database: Option<&str>) -> suiji::jobs::draw::Drawn {
    let loaded = suiji::jobs::load_rules(&p.path("config/suiji.toml")).expect("rules");
    let input = suiji::jobs::draw::Input {
        matter: "zhian.hotel".into(),
        period: "2023-H1".into(),
        seed: suiji::jobs::issue::seed::SeedChoice::Given("证人 0421 7730".into()),
        reveal: None,
        dry_run: false,
        redraw: None,
        replaces: None,
        actor: "operator".into(),
        now: "2023-01-04T09:30:00+08:00".into(),
    };
    let place = database.map(suiji::store::pg::Place::new);
    suiji::jobs::draw::run_on(&loaded, &input, None, place.as_ref()).expect("draw")
}

/// Typed seeds are for simulation databases: both are marked as `suiji simulate` marks one.
const MARKED_AT: &str = "2023-01-04T09:00:00+08:00";

/// Two shipped projects, one on its SQLite file and one for the PostgreSQL database at `url`,
/// both databases marked as simulations (so a draw may take a typed seed).
fn marked_pair(url: &str) -> (Project, Project) {
    let (lite, pg) = (Project::shipped(), Project::shipped());
    suiji::store::Store::open(&lite.path("data"))
        .expect("open")
        .mark_simulation(MARKED_AT, "simulate", 2023)
        .expect("mark");
    PgStore::open(url)
        .expect("open")
        .mark_simulation(MARKED_AT, "simulate", 2023)
        .expect("mark");
    (lite, pg)
}

#[test]
fn a_draw_on_postgres_is_the_sqlite_draw_byte_for_byte_and_verifies_there() {
    let Some(url) = fresh("draw") else { return };
    let (lite, pg) = marked_pair(&url);
    let (a, b) = (draw_demo(&lite, None), draw_demo(&pg, Some(&url)));
    assert_eq!(a.issued.draw_id, Some(1));
    assert_eq!(b.issued.draw_id, Some(1));
    assert!(!a.issued.manifest.selected.is_empty());

    // The manifest, as the draw's folder holds it and as each database recorded it.
    let file = "out/draws/zhian.hotel/2023-H1/manifest.json";
    let (on_disk, pg_disk) = (lite.read(file), pg.read(file));
    assert!(on_disk == pg_disk, "the manifests differ");
    let mut db = client(&url);
    let recorded: String = db
        .query_one("SELECT manifest_json FROM draws WHERE id = 1", &[])
        .expect("manifest")
        .get(0);
    assert!(recorded == on_disk, "PostgreSQL recorded another manifest");
    // Every row of the draw, the snapshots and the audit chain: the same values.
    let sqlite = lite.db();
    for table in [
        "draws",
        "draw_targets",
        "draw_team_members",
        "draw_unstaffed",
        "draw_exclusions",
        "snapshots",
        "database_facts",
        "audit_log",
        "audit_v2",
    ] {
        let (x, y) = (sqlite_rows(&sqlite, table), pg_rows(&mut db, table));
        assert!(
            !x.is_empty() || table == "draw_unstaffed",
            "{table} is empty"
        );
        assert!(
            x == y,
            "table {table} differs between SQLite and PostgreSQL"
        );
    }
    // The registry frozen as a file beside the SQLite file is in the database on PostgreSQL.
    let hash = &a.issued.manifest.registry.targets_snapshot;
    let mut parts = Vec::new();
    for r in db
        .query(
            "SELECT data FROM snapshot_files WHERE hash = $1 ORDER BY part",
            &[hash],
        )
        .expect("parts")
    {
        parts.extend(r.get::<_, Vec<u8>>(0));
    }
    let frozen = std::fs::read(lite.path(&format!("data/snapshots/{hash}.csv"))).expect("file");
    assert!(
        !frozen.is_empty() && parts == frozen,
        "the frozen registry differs"
    );
    assert_no_sqlite_file(&pg);

    // The commands say the same on both databases.
    let on = |args: &[&str]| {
        let mut with = args.to_vec();
        with.extend(["--database", &url]);
        (lite.ok(args), pg.ok(&with))
    };
    for args in [
        &["draws"][..],
        &["draws", "--all", "--year", "2023"],
        &["verify", "1"],
        &["verify", file],
        &["audit", "verify"],
    ] {
        let (x, y) = on(args);
        assert_eq!(x, y, "suiji {args:?}");
    }
    let (listed, _) = on(&["draws"]);
    assert!(
        listed.contains("zhian.hotel") && listed.contains("1 draw\n"),
        "{listed}"
    );
    let (verified, _) = on(&["verify", "1"]);
    assert!(verified.starts_with("identical:"), "{verified}");
    assert_no_sqlite_file(&pg);

    // A second draw of the period is refused, as on SQLite.
    let again = ["draw", "zhian.hotel", "--period", "2023-H1", "--seed", "x"];
    let (code, _, lite_err) = run(lite.suiji(&again));
    assert_eq!(code, 1, "{lite_err}");
    let mut on_pg = again.to_vec();
    on_pg.extend(["--database", &url]);
    let (code, _, pg_err) = run(pg.suiji(&on_pg));
    assert_eq!(code, 1, "{pg_err}");
    assert!(pg_err.contains("was already drawn (draw #1"), "{pg_err}");
    assert_eq!(lite_err, pg_err);

    // A recorded manifest edited behind the server's back: `verify` finds it, and so does
    // `audit verify`.
    db.batch_execute(
        "ALTER TABLE draws DISABLE TRIGGER USER;
         UPDATE draws SET manifest_json = replace(manifest_json, '\"rank\":1,', '\"rank\":9,')
             WHERE id = 1;
         ALTER TABLE draws ENABLE TRIGGER USER;",
    )
    .expect("tamper");
    let (code, out, err) = run(pg.suiji(&["verify", "1", "--database", &url]));
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.starts_with("DIFFERS:"), "{out}");
    assert!(out.contains("the manifest was altered"), "{out}");
    let (code, out, _) = run(pg.suiji(&["audit", "verify", "--database", &url]));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("the rows it records were changed since"),
        "{out}"
    );
}

#[test]
fn two_draws_of_one_period_at_once_on_postgres_record_one_and_a_redraw_keeps_it() {
    let Some(url) = fresh("race") else { return };
    let p = Project::shipped();
    let draw = [
        "draw",
        "zhian.hotel",
        "--period",
        "2023-H2",
        "--database",
        &url,
    ];
    let racers: Vec<_> = (0..2)
        .map(|_| {
            std::process::Command::new(util::bin())
                .current_dir(p.root())
                .env_remove("RUST_LOG")
                .env("LANG", "C")
                .args(draw)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    let ends: Vec<_> = racers
        .into_iter()
        .map(|c| c.wait_with_output().expect("wait"))
        .collect();
    let codes: Vec<i32> = ends.iter().map(|o| o.status.code().unwrap_or(-1)).collect();
    let mut sorted = codes.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, [0, 1], "exactly one draw is recorded: {ends:?}");
    let lost = &ends[codes.iter().position(|c| *c == 1).unwrap_or(0)];
    let err = String::from_utf8_lossy(&lost.stderr);
    assert!(err.contains("was already drawn (draw #1"), "{err}");
    let mut db = client(&url);
    let active: i64 = db
        .query_one("SELECT count(*) FROM draws WHERE status = 'active'", &[])
        .expect("count")
        .get(0);
    assert_eq!(active, 1);

    // A redraw replaces it in one transaction: the old draw kept, superseded.
    p.ok(&[
        "draw",
        "zhian.hotel",
        "--period",
        "2023-H2",
        "--redraw",
        "--reason",
        "见证人缺席",
        "--database",
        &url,
    ]);
    let listed = p.ok(&["draws", "--all", "--database", &url]);
    assert!(
        listed.contains("superseded") && listed.contains("2 draws"),
        "{listed}"
    );
    for id in ["1", "2"] {
        let out = p.ok(&["verify", id, "--database", &url]);
        assert!(out.starts_with("identical:"), "{out}");
    }
    let out = p.ok(&["verify", "1", "--database", &url]);
    assert!(out.contains("superseded by #2"), "{out}");
    let out = p.ok(&["audit", "verify", "--database", &url]);
    assert!(out.starts_with("audit log intact: 2 entries"), "{out}");
    assert_no_sqlite_file(&p);
    // A real database: nobody types the seed there.
    let (code, _, err) = run(p.suiji(&[
        "draw",
        "zhian.hotel",
        "--period",
        "2023-H1",
        "--seed",
        "x",
        "--database",
        &url,
    ]));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("nobody may choose a draw's seed"), "{err}");
}

/// The rules hash of the latest draw of `matter` on PostgreSQL, and of version `id`.
fn pg_hashes(url: &str, matter: &str, id: i64) -> (String, String) {
    let mut db = client(url);
    let drawn = db
        .query_one(
            "SELECT rules_hash FROM draws WHERE matter = $1 ORDER BY id DESC LIMIT 1",
            &[&matter],
        )
        .expect("a draw")
        .get(0);
    let version = db
        .query_one("SELECT rules_hash FROM rule_versions WHERE id = $1", &[&id])
        .expect("a version")
        .get(0);
    (drawn, version)
}

#[test]
fn rule_approval_runs_on_postgres_and_its_draws_use_the_version_approved_there() {
    let Some(url) = fresh("rules") else { return };
    let p = Project::shipped_two_person();
    let on_pg = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--database", url.as_str()]);
        p.ok(&all)
    };
    let out = on_pg(&["rules", "status"]);
    assert!(out.contains("no version is approved yet"), "{out}");
    // The first draw adopts the files on disk as version 1, on PostgreSQL.
    on_pg(&["draw", "zhian.hotel", "--period", "2024-H1"]);
    let out = on_pg(&["rules", "history"]);
    assert!(out.contains("adopted"), "{out}");
    let (drawn, v1) = pg_hashes(&url, "zhian.hotel", 1);
    assert_eq!(drawn, v1);

    // A change on disk is not used until approved there.
    p.edit("rules/zhian.toml", "ratio = \"5%\"", "ratio = \"10%\"");
    let out = on_pg(&["rules", "status"]);
    assert!(out.contains("changed outside the console"), "{out}");
    assert!(out.contains("  rules/zhian.toml\n"), "{out}");
    let (code, _, err) = run(p.suiji(&[
        "draw",
        "zhian.hotel",
        "--period",
        "2024-H2",
        "--database",
        &url,
    ]));
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("not used until approved: rules/zhian.toml"),
        "{err}"
    );
    assert_eq!(pg_hashes(&url, "zhian.hotel", 1).0, v1);

    let out = on_pg(&["rules", "approve"]);
    assert!(out.contains("approved as version 2"), "{out}");
    on_pg(&["draw", "zhian.hotel", "--period", "2025-H1"]);
    let (drawn, v2) = pg_hashes(&url, "zhian.hotel", 2);
    assert_eq!(drawn, v2);
    assert_ne!(v1, v2);
    for id in ["1", "2", "3"] {
        let out = on_pg(&["verify", id]);
        assert!(out.starts_with("identical:"), "{out}");
    }
    let audit = on_pg(&["audit", "log"]);
    assert!(
        audit.contains("rules.adopt") && audit.contains("rules.approve"),
        "{audit}"
    );
    let out = on_pg(&["audit", "verify"]);
    assert!(out.starts_with("audit log intact"), "{out}");
    assert_no_sqlite_file(&p);
}

/// The target and inspector snapshots of [`small_draw`], put into `store`.
fn small_snapshots(store: &mut dyn suiji::store::DrawStore) -> (String, String) {
    use suiji::store::SnapshotKind;
    let t = store
        .put_snapshot(SnapshotKind::Targets, 1, b"id,name\nT1,Hotel A\n")
        .expect("targets");
    let i = store
        .put_snapshot(SnapshotKind::Inspectors, 1, b"id,name\nI1,Zhang\n")
        .expect("inspectors");
    (t, i)
}

/// A draw of `period` with one selected target, ready to record over snapshots `t` and `i`.
fn small_draw(period: &str, (t, i): (&str, &str)) -> suiji::store::NewDraw {
    use suiji::store::{DrawRecord, DrawnTargetRow, NewDraw, TeamRow};
    NewDraw {
        record: DrawRecord {
            matter: "zhian.hotel".into(),
            period: period.into(),
            kind: "scheduled".into(),
            algorithm: "suiji-draw-v2".into(),
            seed_hex: "00ff10ab".into(),
            seed_source: "witness digits 1234".into(),
            rules_hash: "r".repeat(64),
            targets_snapshot: t.into(),
            inspectors_snapshot: i.into(),
            reference_date: "2025-01-02".into(),
            issue_date: "2025-01-03".into(),
            due_date: "2025-03-31".into(),
            created_at: "2025-01-03T09:00:00+08:00".into(),
            actor: "scheduler".into(),
            manifest_json: r#"{"version":2}"#.into(),
            manifest_hash: "m".repeat(64),
            provisional: false,
        },
        targets: vec![DrawnTargetRow {
            stratum: "all".into(),
            rank: 1,
            target_id: "T1".into(),
            target_name: "Hotel A".into(),
            selected: true,
            substitute: false,
            substitute_for: None,
            rank_key: None,
        }],
        teams: vec![TeamRow {
            target_id: "T1".into(),
            position: 0,
            inspector_id: "I1".into(),
            inspector_name: "Zhang".into(),
        }],
        unstaffed: Vec::new(),
        exclusions: Vec::new(),
        manifest_file: None,
        manifest_file_sha256: None,
        lent: None,
    }
}

/// What both databases answer when a draw is recorded with the loads read at a stale epoch:
/// refused, nothing written; and where each draw stands in the audit log.
fn stale_loads_are_refused(store: &mut dyn suiji::store::DrawStore) -> Vec<String> {
    use suiji::store::{Redraw, StoreError};
    let (t, i) = small_snapshots(store);
    let read = store.loads_epoch().expect("epoch");
    let first = small_draw("2025-H1", (&t, &i));
    let mut out = Vec::new();
    let id = store
        .record_draw_checked(&first, Redraw::No, Some(read), &mut |_| Ok(()))
        .expect("the epoch read just before stands");
    out.push(format!("recorded #{id}"));
    let second = small_draw("2025-H2", (&t, &i));
    let before = store.audit_last_seq().expect("seq");
    let refused = store.record_draw_checked(&second, Redraw::No, Some(read), &mut |_| Ok(()));
    assert!(
        matches!(refused, Err(StoreError::LoadsChanged)),
        "{refused:?}"
    );
    assert_eq!(
        store.audit_last_seq().expect("seq"),
        before,
        "nothing written"
    );
    assert!(
        store
            .active_draw("zhian.hotel", "2025-H2")
            .expect("read")
            .is_none()
    );
    let now = store.loads_epoch().expect("epoch");
    assert_ne!(now, read, "a recorded draw moves the epoch");
    let id = store
        .record_draw_checked(&second, Redraw::No, Some(now), &mut |_| Ok(()))
        .expect("read again, it is recorded");
    out.push(format!("recorded #{id}"));
    let order = store.audit_order().expect("order");
    let mut draws: Vec<_> = order.draws.into_iter().collect();
    draws.sort_unstable();
    out.extend(
        draws
            .iter()
            .map(|(d, seq)| format!("draw #{d} at entry {seq}")),
    );
    out
}

/// What `check` says on a new SQLite store, which it must say on the PostgreSQL database
/// `name` too; `None` when no test database is given.
fn said_on_both(
    name: &str,
    check: impl Fn(&mut dyn suiji::store::DrawStore) -> Vec<String>,
) -> Option<Vec<String>> {
    let url = fresh(name)?;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut lite = suiji::store::Store::open(dir.path()).expect("sqlite");
    let mut pg = PgStore::open(&url).expect("postgres");
    let on_sqlite = check(&mut lite);
    assert_eq!(on_sqlite, check(&mut pg));
    Some(on_sqlite)
}

/// What both databases answer when results are recorded and refused: a second result for one
/// checklist item, given twice in one batch or after the first was recorded, and a target the
/// draw did not select; nothing of a refused batch is written.
fn results_refused(store: &mut dyn suiji::store::ResultStore) -> Vec<String> {
    use suiji::store::{NewResult, Redraw};
    let (t, i) = small_snapshots(store);
    let draw = small_draw("2025-H1", (&t, &i));
    let id = store
        .record_draw_checked(&draw, Redraw::No, None, &mut |_| Ok(()))
        .expect("drawn");
    let result = |target: &str, item: &str| NewResult {
        target_id: target.into(),
        checklist_item: Some(item.into()),
        category: "未发现问题".into(),
        inspection_date: "2025-02-10".into(),
        inspectors_signed: vec!["I1".into()],
        ..NewResult::default()
    };
    // Every column given: the rows hash made as the rows go in is the one read back.
    let full = |target: &str, item: &str| NewResult {
        remarks: "门窗未锁".into(),
        source_file: Some("results/2025-Q1.csv".into()),
        source_line: Some(3),
        inspectors_signed: vec!["I1".into(), "I2".into()],
        ..result(target, item)
    };
    let batches = [
        (
            "twice in one batch",
            vec![result("T1", "a"), result("T1", "a")],
        ),
        ("two items", vec![result("T1", "a"), full("T1", "b")]),
        ("an item again", vec![result("T1", "c"), result("T1", "b")]),
        (
            "a target not drawn",
            vec![result("T1", "c"), result("T2", "a")],
        ),
    ];
    let mut out = Vec::new();
    for (what, rows) in batches {
        let said =
            match store.record_results_batch(&[(id, rows)], "2025-02-11T09:00:00+08:00", "clerk") {
                Ok(ids) => format!("{} recorded", ids.concat().len()),
                Err(e) => e.to_string(),
            };
        let kept = store.results(id).expect("results").len();
        out.push(format!("{what}: {said}; {kept} kept"));
    }
    out
}

#[test]
fn results_are_refused_on_postgres_as_on_sqlite() {
    let Some(url) = fresh("refused") else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let mut lite = suiji::store::Store::open(dir.path()).expect("sqlite");
    let mut pg = PgStore::open(&url).expect("postgres");
    let on_sqlite = results_refused(&mut lite);
    assert_eq!(on_sqlite, results_refused(&mut pg));
    assert!(lite.verify_audit().expect("verify").is_intact());
    assert!(pg.verify_audit().expect("verify").is_intact());
    let said = on_sqlite.join("\n");
    for (line, wanted) in on_sqlite
        .iter()
        .zip(["already", "2 recorded", "already", "not"])
    {
        assert!(line.contains(wanted), "{said}");
    }
    assert!(
        on_sqlite[0].ends_with("0 kept") && on_sqlite[3].ends_with("2 kept"),
        "{said}"
    );
}

#[test]
fn a_draw_whose_loads_moved_is_refused_on_postgres_as_on_sqlite() {
    let Some(on_sqlite) = said_on_both("epoch", stale_loads_are_refused) else {
        return;
    };
    assert_eq!(
        on_sqlite,
        [
            "recorded #1",
            "recorded #2",
            "draw #1 at entry 1",
            "draw #2 at entry 2"
        ]
    );
}

/// What both databases answer when two redraws name the same draw they replace: the first is
/// recorded, the second refused (the draw was superseded meanwhile), nothing of it written.
fn a_redraw_of_a_replaced_draw_is_refused(store: &mut dyn suiji::store::DrawStore) -> Vec<String> {
    use suiji::store::{Redraw, StoreError};
    let (t, i) = small_snapshots(store);
    let draw = small_draw("2025-H1", (&t, &i));
    let first = store
        .record_draw_checked(&draw, Redraw::No, None, &mut |_| Ok(()))
        .expect("drawn");
    let redraw = |replaces| Redraw::Yes {
        reason: "见证人缺席".into(),
        replaces: Some(replaces),
    };
    let second = store
        .record_draw_checked(&draw, redraw(first), None, &mut |_| Ok(()))
        .expect("the first redraw of #1");
    let before = store.audit_last_seq().expect("seq");
    let refused = store.record_draw_checked(&draw, redraw(first), None, &mut |_| Ok(()));
    let Err(StoreError::DrawSuperseded { draw_id }) = refused else {
        panic!("a second redraw of #1 is refused: {refused:?}");
    };
    assert_eq!(
        store.audit_last_seq().expect("seq"),
        before,
        "nothing written"
    );
    let active = store.active_draw("zhian.hotel", "2025-H1").expect("read");
    vec![
        format!("#{second} replaced #{first}"),
        format!("refused: #{draw_id} was replaced"),
        format!("active #{:?}", active.map(|d| d.id)),
    ]
}

#[test]
fn a_redraw_of_a_draw_replaced_meanwhile_is_refused_on_postgres_as_on_sqlite() {
    let Some(on_sqlite) = said_on_both("replaced", a_redraw_of_a_replaced_draw_is_refused) else {
        return;
    };
    assert_eq!(
        on_sqlite,
        [
            "#2 replaced #1",
            "refused: #1 was replaced",
            "active #Some(2)"
        ]
    );
}

/// The standing visits `change list` shows, without the lines of the changes (their times).
fn standing(listed: &str) -> Vec<&str> {
    listed
        .lines()
        .filter(|l| !l.starts_with("change #"))
        .collect()
}

#[test]
fn changes_after_a_draw_on_postgres_leave_what_they_leave_on_sqlite_and_verify() {
    let Some(url) = fresh("change") else { return };
    let (lite, pg) = marked_pair(&url);
    draw_demo(&lite, None);
    draw_demo(&pg, Some(&url));
    let on = |args: &[&str]| {
        let mut with = args.to_vec();
        with.extend(["--database", &url]);
        (lite.ok(args), pg.ok(&with))
    };
    let (before, _) = on(&["change", "list", "1"]);
    let visit = before
        .lines()
        .find(|l| l.starts_with("  ") && l.contains(": "))
        .unwrap_or_else(|| panic!("no visit with a team:\n{before}"));
    let (target, team) = visit
        .trim()
        .split_once(": ")
        .unwrap_or_else(|| panic!("{visit}"));
    let member = team.split(", ").next().unwrap_or_default().to_string();
    let target = target.to_string();
    let (x, y) = on(&[
        "change",
        "replace-target",
        "1",
        &target,
        "--cause",
        "closed",
        "--reason",
        "已停业",
    ]);
    assert!(x.contains("replaced by substitute"), "{x}");
    assert_eq!(
        x.split_once(": target ").map(|p| p.1),
        y.split_once(": target ").map(|p| p.1)
    );
    let substitute = x
        .split("replaced by substitute ")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .unwrap_or_default()
        .to_string();
    let (x, y) = on(&[
        "change",
        "replace-inspector",
        "1",
        &substitute,
        &member,
        "--cause",
        "ill",
        "--reason",
        "病假",
    ]);
    assert!(
        x.contains(&format!("inspector {member} at {substitute} replaced by")),
        "{x}"
    );
    assert_eq!(
        x.split(" replaced by ").nth(1),
        y.split(" replaced by ").nth(1)
    );
    let (x, y) = on(&["change", "list", "1"]);
    assert!(x.contains("(2 changes)"), "{x}");
    assert_eq!(standing(&x), standing(&y));
    assert_ne!(standing(&x), standing(&before));
    let (x, y) = on(&["verify", "1"]);
    assert!(
        x.starts_with("identical:") && y.starts_with("identical:"),
        "{x}{y}"
    );
    // The simulation mark, the draw and the two changes.
    let (_, y) = on(&["audit", "verify"]);
    assert!(y.starts_with("audit log intact: 4 entries"), "{y}");

    // Results follow the changes there as here: the substitute takes one, signed by its team
    // as it stands now; the target it replaced takes none.
    let (x, _) = on(&["change", "list", "1"]);
    let team = x
        .lines()
        .find(|l| l.trim().starts_with(&format!("{substitute} ")))
        .and_then(|l| l.split_once("): "))
        .map(|(_, team)| team)
        .unwrap_or_else(|| panic!("{substitute} stands:\n{x}"))
        .replace(", ", ",");
    assert!(!team.split(',').any(|m| m == member), "{team}");
    let args = Project::result_args("1", &substitute, &team);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    on(&args);
    let args = Project::result_args("1", &target, &team);
    let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, _, err) = run(lite.suiji(&args));
    assert_eq!(code, 1, "{err}");
    args.extend(["--database", &url]);
    let (code, _, pg_err) = run(pg.suiji(&args));
    assert_eq!(code, 1, "{pg_err}");
    for e in [&err, &pg_err] {
        assert!(
            e.contains(&format!(
                "was replaced by substitute {substitute} after the draw"
            )),
            "{e}"
        );
    }

    // A change decided from a stale count is refused there as here.
    let mut store = PgStore::open(&url).expect("open");
    let stale = suiji::store::DrawChange {
        id: 0,
        draw_id: 1,
        kind: "target".into(),
        cause: "closed".into(),
        target_id: substitute.clone(),
        inspector_id: None,
        replacement: None,
        reason: "x".into(),
        actor: "operator".into(),
        changed_at: MARKED_AT.into(),
    };
    let decided = suiji::store::Decided {
        epoch: None,
        rule: 2,
    };
    let refused = suiji::store::DrawStore::record_change(&mut store, &stale, 1, decided);
    let err = refused.expect_err("a stale count").to_string();
    assert!(
        err.contains("was changed meanwhile (2 changes, not 1)"),
        "{err}"
    );
    assert_no_sqlite_file(&pg);
}

#[test]
fn a_seed_committed_on_postgres_is_revealed_there_and_published() {
    let Some(url) = fresh("commit") else { return };
    let p = Project::shipped();
    let loaded = suiji::jobs::load_rules(&p.path("config/suiji.toml")).expect("rules");
    let source = "中国福利彩票3D 第2023001期开奖号码";
    let commit = |source_time: &str| {
        let input = suiji::jobs::commit::Input {
            matter: "zhian.hotel".into(),
            period: "2023-H1".into(),
            source: source.into(),
            source_time: source_time.into(),
            actor: "operator".into(),
            now: "2023-01-02T09:00:00+08:00".into(),
            redraw: false,
        };
        suiji::jobs::commit::commit_on(&loaded, &input, None, Some(&Place::new(url.as_str())))
    };
    let k = commit("2023-01-03 21:15").expect("commit");
    assert_eq!(k.id, 1);
    let err = commit("2023-01-04 21:15").expect_err("a second commitment");
    assert!(
        err.to_string().contains("already has commitment #1"),
        "{err}"
    );
    let published = || -> serde_json::Value {
        serde_json::from_str(&p.read("out/public/commitments.json")).expect("json")
    };
    assert_eq!(published()["commitments"][0]["revealed"], false);
    assert_eq!(published()["commitments"][0]["source"], source);

    let input = suiji::jobs::draw::Input {
        matter: "zhian.hotel".into(),
        period: "2023-H1".into(),
        seed: suiji::jobs::issue::seed::SeedChoice::Os,
        reveal: Some("3 1 7".into()),
        dry_run: false,
        redraw: None,
        replaces: None,
        actor: "operator".into(),
        now: "2023-01-04T09:30:00+08:00".into(),
    };
    let drawn = suiji::jobs::draw::run_on(&loaded, &input, None, Some(&Place::new(url.as_str())))
        .expect("draw");
    assert_eq!(drawn.issued.draw_id, Some(1));
    let seed_source = &drawn.issued.manifest.seed_source;
    assert!(seed_source.contains("(commitment #1,"), "{seed_source}");
    assert_eq!(published()["commitments"][0]["revealed"], true);
    let on_pg = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--database", url.as_str()]);
        p.ok(&all)
    };
    let out = on_pg(&["verify", "1"]);
    assert!(out.starts_with("identical:"), "{out}");
    let out = on_pg(&["audit", "log"]);
    assert!(out.contains("commitment.record"), "{out}");
    let out = on_pg(&["audit", "verify"]);
    assert!(out.starts_with("audit log intact: 2 entries"), "{out}");
    assert_no_sqlite_file(&p);
}

/// A small random source for the multi-node test: the same seed, the same kills.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Writes the shared clock file at once (a new file renamed over the old one).
fn set_clock(path: &std::path::Path, text: &str) {
    let tmp = path.with_extension("new");
    std::fs::write(&tmp, text).expect("write the clock");
    std::fs::rename(&tmp, path).expect("move the clock");
}

/// Draws recorded on PostgreSQL, active or not.
fn pg_draw_count(db: &mut postgres::Client) -> i64 {
    db.query_one("SELECT count(*) FROM draws", &[])
        .expect("count draws")
        .get(0)
}

/// Three `suiji run` nodes on one database, killed and restarted by the test.
struct Nodes {
    project: Project,
    url: String,
    clock: std::path::PathBuf,
    dice: Dice,
    running: Vec<util::Running>,
    /// Processes killed: by the test (`kill -9` of the lease holder) or at a probe point.
    kills: usize,
    by_probe: usize,
    /// Real time from each kill of the lease holder to another node holding the lease.
    takeovers: Vec<std::time::Duration>,
    started: usize,
    db: postgres::Client,
    /// Told of every line a node prints and of its end: a node prints after each record it
    /// makes (the lease taken, a draw issued), so the test looks again only when one did.
    events: std::sync::mpsc::Receiver<()>,
    told: std::sync::mpsc::Sender<()>,
}

impl Nodes {
    fn new(project: Project, url: &str, clock: std::path::PathBuf, seed: u64) -> Nodes {
        let (told, events) = std::sync::mpsc::channel();
        let mut nodes = Nodes {
            project,
            url: url.to_string(),
            clock,
            dice: Dice(seed),
            running: Vec::new(),
            kills: 0,
            by_probe: 0,
            takeovers: Vec::new(),
            started: 0,
            db: client(url),
            events,
            told,
        };
        for _ in 0..3 {
            nodes.start();
        }
        nodes
    }

    /// Starts a node that stops itself as `kill -9` would at a probe point of its first,
    /// second or third draw (staged, recording or committed), if it leads that long.
    fn start(&mut self) {
        let clock = self.clock.display().to_string();
        let point =
            ["draw.staged", "draw.recording", "draw.committed"][self.dice.below(3) as usize];
        let nth = 1 + self.dice.below(3);
        let env = [
            ("SUIJI_TEST_CLOCK", clock),
            (suiji::jobs::probe::ABORT_ENV, format!("{point}@{nth}")),
            // What the test wakes on: the lease taken, each draw issued.
            ("RUST_LOG", "info".to_string()),
        ];
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.started += 1;
        let name = format!("node{}", self.started);
        let args = ["run", "--database", &self.url, "--lease-retry", "1"];
        let node = self
            .project
            .spawn_watched(&name, &args, &env, Some(self.told.clone()));
        self.running.push(node);
    }

    /// Replaces the nodes that stopped by themselves (at their probe point).
    fn reap(&mut self) {
        let mut i = 0;
        while i < self.running.len() {
            let exited = self.running[i].child.try_wait().expect("try_wait");
            match exited {
                Some(status) => {
                    use std::os::unix::process::ExitStatusExt as _;
                    let node = self.running.remove(i);
                    assert_eq!(
                        status.signal(),
                        Some(9),
                        "a node ended by itself: {status}\n{}",
                        node.stderr()
                    );
                    self.kills += 1;
                    self.by_probe += 1;
                    self.start();
                }
                None => i += 1,
            }
        }
    }

    /// The running node holding the lease, once one has taken it: the node its latest
    /// `scheduler.lease` entry names (`host:pid`), appended once it has taken over.
    fn holder(&mut self) -> usize {
        let deadline = std::time::Instant::now() + util::PATIENCE;
        loop {
            self.reap();
            let latest = self
                .db
                .query_opt(
                    "SELECT subject FROM audit_log WHERE action = 'scheduler.lease'
                     ORDER BY seq DESC LIMIT 1",
                    &[],
                )
                .expect("lease entries");
            if let Some(node) = latest.map(|r| r.get::<_, String>(0)) {
                let pid = node.rsplit(':').next().unwrap_or("");
                if let Some(i) = self.running.iter().position(|r| r.pid().to_string() == pid) {
                    return i;
                }
            }
            assert!(self.next_event(deadline), "no node took the lease");
        }
    }

    /// Waits until a node prints a line or ends (after the ones already seen); `false` when
    /// none did before `deadline`.
    fn next_event(&self, deadline: std::time::Instant) -> bool {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let told = self.events.recv_timeout(left).is_ok();
        while self.events.try_recv().is_ok() {}
        told
    }

    /// Kills the lease holder with `kill -9`, waits until another node has taken the lease
    /// over, and starts a node in its place.
    fn kill_holder(&mut self) {
        let i = self.holder();
        let mut node = self.running.remove(i);
        node.child.kill().expect("kill -9");
        node.child.wait().expect("reap");
        let killed = std::time::Instant::now();
        self.kills += 1;
        self.holder();
        self.takeovers.push(killed.elapsed());
        self.start();
    }

    /// Waits until `done` says the database holds what it should, replacing nodes that
    /// stopped at their probe point meanwhile.
    fn until(&mut self, mut done: impl FnMut() -> bool) {
        let deadline = std::time::Instant::now() + util::PATIENCE;
        while !done() {
            self.reap();
            if done() {
                break;
            }
            assert!(
                self.next_event(deadline),
                "the nodes did not get there:\n{}",
                self.running
                    .iter()
                    .map(util::Running::stderr)
                    .collect::<Vec<_>>()
                    .join("\n---\n")
            );
        }
    }
}

/// Several nodes of a shared deployment issue every draw exactly once: three `suiji run`
/// processes on one database go through 2023 on a clock the test moves on (a clock file),
/// while the node holding the scheduler's lease is killed again and again — by the test
/// (`kill -9`, idle or in the middle of a step) or at a probe point inside a draw (staged,
/// recording, committed) — at points drawn from a seeded random source. Each time another
/// node takes the lease over and catches up. Afterwards every draw of the year is recorded
/// exactly once, the audit chain verifies, and nothing is left staged.
#[test]
fn three_nodes_issue_each_draw_of_a_year_once_while_the_lease_holder_is_killed() {
    let Some(url) = fresh("nodes") else { return };
    let began = std::time::Instant::now();
    let p = Project::shipped();
    let clock = p.path("clock");
    set_clock(&clock, "2023-01-01T00:00:00");
    // A simulated clock never runs on real records.
    let (code, _, err) = clocked(&p, &["run", "--once", "--database", &url]);
    assert_ne!(code, 0, "{err}");
    assert!(
        err.contains("a simulated clock runs only on a database marked as a simulation"),
        "{err}"
    );
    PgStore::open(&url)
        .expect("open")
        .mark_simulation("2023-01-01T00:00:00+08:00", "simulate", 2023)
        .expect("mark");
    let loaded = suiji::jobs::load_rules(&p.path("config/suiji.toml")).expect("rules");
    let cal = suiji::jobs::load_calendar(&loaded, false).expect("calendar");
    let (schedule, _) = suiji::schedule::year_schedule(&loaded.model, &cal, 2023);
    let mut times: Vec<_> = schedule.iter().map(|d| d.issue_at).collect();
    times.sort();
    times.dedup();
    let mut db = client(&url);
    let mut nodes = Nodes::new(p, &url, clock.clone(), 0x5e4_2023);
    for t in &times {
        for _ in 0..nodes.dice.below(3) {
            nodes.kill_holder();
        }
        let due = schedule.iter().filter(|d| d.issue_at <= *t).count() as i64;
        let before = pg_draw_count(&mut db);
        set_clock(&clock, &t.format("%Y-%m-%dT%H:%M:%S").to_string());
        if due - before >= 2 && nodes.dice.below(2) == 0 {
            // In the middle of a step: once its first draw is recorded.
            nodes.until(|| pg_draw_count(&mut db) > before);
            nodes.kill_holder();
        }
        nodes.until(|| pg_draw_count(&mut db) >= due);
    }
    let in_year = nodes.kills;
    // At least one kill after the year: the node that recorded the last draw may still be on
    // its way to a probe point after it (`draw.committed`), about to stop; the node that takes
    // over from it draws nothing more, so it holds the lease from then on.
    loop {
        nodes.kill_holder();
        if nodes.kills >= 20 {
            break;
        }
    }
    // A node run once while another holds the lease leaves the draws to it.
    let holder = nodes.holder();
    let (code, out, err) = clocked(&nodes.project, &["run", "--once", "--database", &url]);
    assert_eq!(code, 0, "{out}{err}");
    let pid = nodes.running[holder].pid();
    assert!(
        out.contains("issued nothing: another node (") && out.contains(&format!(":{pid})")),
        "{out}{err}"
    );
    // The last takeover places or removes what the nodes killed before it left staged: its
    // `scheduler.lease` entry is appended once it has.
    let leases = |db: &mut postgres::Client| -> i64 {
        db.query_one(
            "SELECT count(*) FROM audit_log WHERE action = 'scheduler.lease'",
            &[],
        )
        .expect("lease entries")
        .get(0)
    };
    let before = leases(&mut db);
    nodes.kill_holder();
    nodes.until(|| leases(&mut db) > before);
    let kills = (nodes.kills, nodes.by_probe, nodes.takeovers.clone());
    let project = {
        let Nodes {
            project, running, ..
        } = nodes;
        drop(running);
        project
    };

    let recorded: Vec<(String, String, i64, i64)> = db
        .query(
            "SELECT matter, period, count(*), count(*) FILTER (WHERE status = 'active')
             FROM draws GROUP BY matter, period ORDER BY matter, period",
            &[],
        )
        .expect("draws")
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    let mut want: Vec<(String, String, i64, i64)> = schedule
        .iter()
        .map(|d| (d.matter.clone(), d.period.id.clone(), 1, 1))
        .collect();
    want.sort();
    assert_eq!(recorded, want, "every draw of the year, exactly once");
    let (code, out, err) = run(project.suiji(&["audit", "verify", "--database", &url]));
    assert_eq!(code, 0, "{out}{err}");
    let leases = leases(&mut db);
    assert!(
        leases > kills.0 as i64,
        "{leases} lease entries, {} kills",
        kills.0
    );
    let staged: Vec<String> = walk(&project.path("out"))
        .into_iter()
        .filter(|f| f.contains(".staging-"))
        .collect();
    assert!(staged.is_empty(), "left staged: {staged:?}");
    let (kills, by_probe, takeovers) = kills;
    assert!(kills >= 20, "{kills} kills");
    let slowest = takeovers.iter().max().copied().unwrap_or_default();
    eprintln!(
        "{} draws at {} times, {kills} kills ({in_year} during the year, {by_probe} at a probe point), {} takeovers after kill -9 (slowest {slowest:?}), {:?} in all",
        schedule.len(),
        times.len(),
        takeovers.len(),
        began.elapsed()
    );
}

/// `suiji ARGS` in `p` on its clock file (`clock`).
fn clocked(p: &Project, args: &[&str]) -> (i32, String, String) {
    let mut cmd = p.suiji(args);
    cmd.env("SUIJI_TEST_CLOCK", p.path("clock"));
    run(cmd)
}

/// Every path under `dir`, as text.
fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        out.push(path.display().to_string());
        if path.is_dir() {
            out.extend(walk(&path));
        }
    }
    out
}

/// The draw's task list with every row filled in (clean, on `date`), as inspectors hand it
/// back: the lines above the header kept; with `bad`, the last row's category is not one.
fn filled_tasks(p: &Project, date: &str, bad: bool) -> String {
    let text = p.read("out/draws/zhian.hotel/2023-H1/tasks.csv");
    let lines: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
    let h = lines
        .iter()
        .position(|l| l.starts_with("抽取编号"))
        .expect("header");
    let header: Vec<&str> = lines[h].split(',').collect();
    let at = |name: &str| header.iter().position(|c| *c == name).expect(name);
    let mut out: Vec<String> = lines[..=h].iter().map(|l| l.to_string()).collect();
    let rows = &lines[h + 1..];
    for (i, line) in rows.iter().enumerate() {
        let mut cells: Vec<String> = line.split(',').map(String::from).collect();
        cells[at("检查结果")] = if bad && i + 1 == rows.len() {
            "查无此类".into()
        } else {
            "未发现问题".into()
        };
        cells[at("检查日期")] = date.into();
        cells[at("签名检查人员")] = cells[at("检查人员")].clone();
        out.push(cells.join(","));
    }
    out.join("\n") + "\n"
}

/// The files `publish` writes, as one project's output folder holds them.
const PUBLISHED: [&str; 5] = [
    "out/public/index.html",
    "out/public/index.json",
    "out/public/2023/zhian.hotel/2023-H1/notice.html",
    "out/public/2023/zhian.hotel/2023-H1/notice.csv",
    "out/public/2023/zhian.hotel/2023-H1/notice.json",
];

#[test]
fn results_published_on_postgres_are_the_sqlite_files_byte_for_byte() {
    let Some(url) = fresh("publish") else { return };
    let (lite, pg) = marked_pair(&url);
    draw_demo(&lite, None);
    draw_demo(&pg, Some(&url));
    // The draw's anchor: kept in the database on PostgreSQL, the same file on both.
    let anchors = "out/public/anchors.json";
    assert!(lite.read(anchors) == pg.read(anchors), "the anchors differ");
    assert!(pg.read(anchors).contains("\"reason\": \"draw\""));
    let on = |args: &[&str]| {
        let mut with = args.to_vec();
        with.extend(["--database", &url]);
        let (x, y) = (lite.ok(args), pg.ok(&with));
        let strip = |p: &Project, s: String| s.replace(&p.root().display().to_string(), "ROOT");
        (strip(&lite, x), strip(&pg, y))
    };

    // One bad row: nothing is imported, on either database, with the same located message.
    for p in [&lite, &pg] {
        p.write("bad.csv", &filled_tasks(p, "2023-03-06", true));
        p.write("filled.csv", &filled_tasks(p, "2023-03-06", false));
    }
    let mut db = client(&url);
    let entries = |db: &mut postgres::Client| -> i64 {
        db.query_one("SELECT count(*) FROM audit_log", &[])
            .expect("count")
            .get(0)
    };
    let before = entries(&mut db);
    let (code, _, lite_err) = run(lite.suiji(&["results", "import", "bad.csv"]));
    assert_eq!(code, 1, "{lite_err}");
    let (code, _, pg_err) = run(pg.suiji(&["results", "import", "bad.csv", "--database", &url]));
    assert_eq!(code, 1, "{pg_err}");
    assert!(pg_err.contains("nothing was imported"), "{pg_err}");
    assert!(pg_err.contains("bad.csv:"), "{pg_err}");
    assert_eq!(lite_err, pg_err);
    let results: i64 = db
        .query_one("SELECT count(*) FROM results", &[])
        .expect("count")
        .get(0);
    assert_eq!(
        (results, entries(&mut db)),
        (0, before),
        "a bad import left rows"
    );

    // The import, the publication and the files it writes: the same on both databases.
    let (x, y) = on(&["results", "import", "filled.csv"]);
    assert_eq!(x, y);
    assert!(x.contains("imported "), "{x}");
    let (x, y) = on(&["publish", "--today", "2023-03-31"]);
    assert_eq!(x, y);
    assert!(x.contains("published 1 draw as of 2023-03-31"), "{x}");
    for file in PUBLISHED {
        assert!(lite.read(file) == pg.read(file), "{file} differs");
    }
    let (x, y) = on(&["results", "import", "filled.csv"]);
    assert_eq!(x, y);
    // The imports and the publication are stamped with the real time of each process, so the
    // chains' heads differ when the two runs fall in different seconds: the counts must agree.
    let (x, y) = on(&["audit", "verify"]);
    let entries = |s: &str| s.split(", head ").next().map(str::to_string);
    assert_eq!(entries(&x), entries(&y));
    assert!(x.starts_with("audit log intact"), "{x}");

    // Published results are frozen: by the command, and by the server whatever writes.
    let changed = filled_tasks(&pg, "2023-03-07", false);
    pg.write("changed.csv", &changed);
    let (code, _, err) = run(pg.suiji(&["results", "import", "changed.csv", "--database", &url]));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("a published result is frozen"), "{err}");
    let refused = db
        .execute("UPDATE results SET remarks = 'x' WHERE id = 1", &[])
        .expect_err("an UPDATE of a published result");
    assert!(
        refused
            .to_string()
            .contains("a published result cannot be changed")
            || format!("{refused:?}").contains("a published result cannot be changed"),
        "{refused:?}"
    );

    // Another node, with an empty output folder, rebuilds every file from the database.
    let node = Project::shipped();
    let out = node.ok(&["regenerate", "--database", &url]);
    assert!(out.contains("1 draw folder(s): 1 written"), "{out}");
    assert!(out.contains("publication output(s)"), "{out}");
    assert!(
        out.contains("2 anchor(s) of the audit chain written"),
        "{out}"
    );
    let manifest = "out/draws/zhian.hotel/2023-H1/manifest.json";
    for file in PUBLISHED.iter().chain(&[manifest, anchors]) {
        assert!(
            node.read(file) == pg.read(file),
            "{file} differs on the second node"
        );
    }
    let out = node.ok(&["regenerate", "--database", &url]);
    assert!(out.contains("0 written"), "{out}");
    assert_no_sqlite_file(&node);
}

#[test]
fn anchors_on_postgres_are_kept_in_the_database_and_check_the_chain_there() {
    let Some(url) = fresh("anchors") else { return };
    let (_, p) = marked_pair(&url);
    draw_demo(&p, Some(&url));
    let on = |p: &Project, args: &[&str]| {
        let mut with = args.to_vec();
        with.extend(["--database", &url]);
        run(p.suiji(&with))
    };
    // A node with no anchors file: the daily anchor writes it from the database (the head
    // has not moved since the draw's anchor, so nothing is appended).
    let node = Project::shipped();
    let (code, out, err) = on(&node, &["audit", "anchor"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("nothing new to anchor"), "{out}");
    let anchors = "out/public/anchors.json";
    assert!(
        node.read(anchors) == p.read(anchors),
        "the node's anchors differ"
    );
    let (code, out, err) = on(&node, &["audit", "verify", "--against", anchors]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("consistent with 1 published anchors"), "{out}");

    // The table is append-only, and an anchor must name an entry of the chain.
    let mut db = client(&url);
    let refused = db
        .execute("UPDATE anchors SET at = 'x'", &[])
        .expect_err("an UPDATE of an anchor");
    assert!(
        format!("{refused:?}").contains("anchors are permanent"),
        "{refused:?}"
    );
    let refused = db
        .execute(
            "INSERT INTO anchors (at, seq, hash, reason, subject)
             VALUES ('x', 1, repeat('0', 64), 'daily', '')",
            &[],
        )
        .expect_err("an anchor naming no entry");
    assert!(
        format!("{refused:?}").contains("is not in the audit log"),
        "{refused:?}"
    );

    // A published anchor is never rewritten: a node's file that the database contradicts is
    // left as it is, and the command says so.
    let altered = node
        .read(anchors)
        .replacen("\"reason\": \"draw\"", "\"reason\": \"daily\"", 1);
    node.write(anchors, &altered);
    let (code, _, err) = on(&node, &["audit", "anchor"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("holds an anchor the database does not keep"),
        "{err}"
    );
    assert_eq!(node.read(anchors), altered);

    // A chain rewritten behind the server's back contradicts the published anchors.
    db.batch_execute(
        "ALTER TABLE audit_log DISABLE TRIGGER USER;
         UPDATE audit_log SET hash = repeat('f', 64) WHERE seq = 1;
         ALTER TABLE audit_log ENABLE TRIGGER USER;",
    )
    .expect("tamper");
    let (code, out, _) = on(&p, &["audit", "verify", "--against", anchors]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("AUDIT LOG"), "{out}");
}

const PASSWORD: &str = "correct horse battery";

/// `suiji ARGS` on `database` (PostgreSQL) or the project's SQLite file, `stdin` fed in.
fn user_cmd(
    p: &Project,
    database: Option<&str>,
    args: &[&str],
    stdin: &str,
) -> (i32, String, String) {
    let mut all = args.to_vec();
    if let Some(url) = database {
        all.extend(["--database", url]);
    }
    let mut cmd = p.suiji(&all);
    cmd.write_stdin(stdin.to_string());
    run(cmd)
}

/// What `suiji user …` answers, command by command, and the audit entries it leaves about
/// accounts (action, subject, detail), on `database` or the SQLite file of a fresh project.
fn user_session(database: Option<&str>) -> (Vec<(i32, String, String)>, Vec<String>) {
    let p = Project::shipped();
    let good = format!("{PASSWORD}\n");
    let steps: &[(&[&str], &str)] = &[
        (
            &[
                "user",
                "add",
                "li.ming",
                "--role",
                "operator,auditor",
                "--password-stdin",
            ],
            &good,
        ),
        (
            &[
                "user",
                "add",
                "li.ming",
                "--role",
                "operator",
                "--password-stdin",
            ],
            &good,
        ),
        (
            &[
                "user",
                "add",
                "wang",
                "--role",
                "operator",
                "--password-stdin",
            ],
            "short\n",
        ),
        (
            &["user", "add", "zhao", "--role", "boss", "--password-stdin"],
            &good,
        ),
        (
            &[
                "user",
                "add",
                "zhang",
                "--role",
                "admin",
                "--department",
                "zhian",
                "--password-stdin",
            ],
            &good,
        ),
        (
            &[
                "user",
                "add",
                "sun",
                "--role",
                "admin",
                "--department",
                "nowhere",
                "--password-stdin",
            ],
            &good,
        ),
        (
            &[
                "user",
                "add",
                "qian",
                "--role",
                "inspector",
                "--password-stdin",
            ],
            &good,
        ),
        (
            &[
                "user",
                "add",
                "zhou",
                "--role",
                "inspector",
                "--inspector",
                "PY0101",
                "--password-stdin",
            ],
            &good,
        ),
        (
            &[
                "user",
                "add",
                "bad name!",
                "--role",
                "auditor",
                "--password-stdin",
            ],
            &good,
        ),
        (&["user", "disable", "li.ming"], ""),
        (&["user", "disable", "nobody"], ""),
        (
            &["user", "reset-password", "zhang", "--password-stdin"],
            "another good password\n",
        ),
        (
            &["user", "reset-password", "nobody", "--password-stdin"],
            &good,
        ),
        (&["user", "list"], ""),
    ];
    let answers = steps
        .iter()
        .map(|(args, stdin)| user_cmd(&p, database, args, stdin))
        .collect();
    let sql = "SELECT action, subject, detail FROM audit_log
               WHERE subject LIKE 'user:%' ORDER BY seq";
    let entries = match database {
        Some(url) => client(url)
            .query(sql, &[])
            .expect("entries")
            .iter()
            .map(|r| {
                format!(
                    "{} {} {}",
                    r.get::<_, String>(0),
                    r.get::<_, String>(1),
                    r.get::<_, String>(2)
                )
            })
            .collect(),
        None => p
            .db()
            .prepare(sql)
            .expect("entries")
            .query_map([], |r| {
                Ok(format!(
                    "{} {} {}",
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?
                ))
            })
            .expect("entries")
            .collect::<Result<_, _>>()
            .expect("entries"),
    };
    (answers, entries)
}

#[test]
fn user_commands_answer_on_postgres_as_on_sqlite() {
    let Some(url) = fresh("users") else { return };
    let (on_sqlite, lite_entries) = user_session(None);
    let (on_pg, pg_entries) = user_session(Some(&url));
    assert_eq!(on_pg.len(), on_sqlite.len());
    for (i, (a, b)) in on_sqlite.iter().zip(&on_pg).enumerate() {
        assert_eq!(a, b, "step {i} answers differently on PostgreSQL");
    }
    // The answers say what they should: created, refused (located), disabled, listed.
    assert_eq!(
        on_pg[0],
        (0, "account li.ming created\n".into(), String::new())
    );
    for (i, says) in [
        (1, "`li.ming` already exists"),
        (2, "too short"),
        (3, "`boss` is not a role"),
        (5, "no department `nowhere`"),
        (6, "needs --inspector"),
        (8, "not a usable account name"),
        (10, "no account named `nobody`"),
        (12, "no account named `nobody`"),
    ] {
        assert_eq!(on_pg[i].0, 1, "step {i}: {:?}", on_pg[i]);
        assert!(on_pg[i].2.contains(says), "step {i}: {}", on_pg[i].2);
    }
    let listed = &on_pg[13].1;
    for line in ["li.ming", "disabled", "zhang", "zhian", "zhou", "PY0101"] {
        assert!(listed.contains(line), "{listed}");
    }
    assert_eq!(lite_entries, pg_entries);
    assert_eq!(pg_entries.len(), 5, "{pg_entries:?}");

    // The server keeps accounts: a DELETE behind suiji's back is refused.
    let err = client(&url)
        .execute("DELETE FROM users WHERE name = 'li.ming'", &[])
        .expect_err("refused");
    let message = err.as_db_error().map(|d| d.message().to_string());
    assert!(
        message
            .as_deref()
            .is_some_and(|m| m.contains("accounts are kept")),
        "{err:?}"
    );
}

#[test]
fn a_migrated_countys_accounts_log_in_on_postgres() {
    use suiji::jobs::users::{LoginError, LoginInput, login, logout, session};
    use suiji::store::UserStore;
    let Some(url) = fresh("accounts") else { return };
    let p = Project::shipped();
    let (code, _, err) = user_cmd(
        &p,
        None,
        &[
            "user",
            "add",
            "zhang",
            "--role",
            "admin,auditor",
            "--department",
            "zhian",
            "--password-stdin",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert_eq!(code, 0, "{err}");
    let attempt = |password: &str, now: i64| LoginInput {
        name: "zhang".into(),
        password: password.into(),
        address: "10.0.0.7".into(),
        now,
        at: "2026-01-05T09:00:00+08:00".into(),
    };
    // A session opened and a failure recorded on SQLite cross with the rest.
    let mut lite = suiji::store::Store::open(&p.path("data")).expect("sqlite");
    let before = login(&mut lite, &attempt(PASSWORD, 1_767_574_800)).expect("logged in");
    assert!(matches!(
        login(&mut lite, &attempt("wrong password", 1_767_574_801)),
        Err(LoginError::Refused)
    ));
    drop(lite);
    let out = p.ok(&[
        "db",
        "migrate",
        "--from",
        "data/suiji.sqlite3",
        "--to",
        &url,
    ]);
    assert!(out.contains("users "), "{out}");
    assert!(out.contains("sessions "), "{out}");
    let lite = p.db();
    let mut pg = client(&url);
    for table in ["users", "sessions", "login_failures"] {
        assert_eq!(
            sqlite_rows(&lite, table),
            pg_rows(&mut pg, table),
            "table {table}"
        );
    }
    assert_eq!(
        p.ok(&["user", "list", "--database", &url]),
        p.ok(&["user", "list"])
    );

    let mut store = PgStore::open(&url).expect("postgres");
    let now = 1_767_575_000;
    // The session opened on SQLite lives on; the account logs in with its password.
    let carried = session(&store, &before.token, now)
        .expect("read")
        .expect("live");
    assert_eq!(carried.user, before.user);
    let opened = login(&mut store, &attempt(PASSWORD, now)).expect("logged in on PostgreSQL");
    assert_eq!(opened.user, before.user);
    assert_eq!(opened.user.department.as_deref(), Some("zhian"));
    let live = session(&store, &opened.token, now + 1)
        .expect("read")
        .expect("live");
    assert_eq!(live.csrf, opened.csrf);
    assert!(
        session(&store, &opened.token, now + 9 * 3600)
            .expect("read")
            .is_none()
    );
    assert!(matches!(
        login(&mut store, &attempt("wrong password", now + 2)),
        Err(LoginError::Refused)
    ));
    assert_eq!(
        store.login_failures("10.0.0.7", now - 900).expect("count"),
        2
    );
    let last = store.last_logins().expect("last logins");
    assert_eq!(
        last.get("zhang").map(String::as_str),
        Some("2026-01-05T09:00:00+08:00")
    );
    logout(&mut store, &opened.token, "2026-01-05T09:05:00+08:00").expect("logout");
    assert!(
        session(&store, &opened.token, now + 1)
            .expect("read")
            .is_none()
    );

    // Five failures in a row lock the account there, as on SQLite; a new password unlocks it.
    for i in 0..5 {
        let _ = login(&mut store, &attempt("wrong password", now + 10 + i));
    }
    assert!(matches!(
        login(&mut store, &attempt(PASSWORD, now + 20)),
        Err(LoginError::Locked { .. })
    ));
    let mut cmd = p.suiji(&[
        "user",
        "reset-password",
        "zhang",
        "--password-stdin",
        "--database",
        &url,
    ]);
    cmd.write_stdin("another good password\n");
    let (code, _, err) = run(cmd);
    assert_eq!(code, 0, "{err}");
    login(&mut store, &attempt("another good password", now + 21)).expect("unlocked");
    assert!(
        session(&store, &before.token, now).expect("read").is_none(),
        "a new password ends sessions"
    );
    let (code, verified, err) = run(p.suiji(&["audit", "verify", "--database", &url]));
    assert_eq!(code, 0, "{verified}{err}");
}

/// Every `DDDD-DD-DD DD:DD` in `text` as `TIME`: the minute a page was built at (the public
/// site says when it was built, by the real clock) is the one thing two runs may not share.
fn minutes_masked(text: &str) -> String {
    let shape = |w: &[u8]| {
        w.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            10 => *b == b' ',
            13 => *b == b':',
            _ => b.is_ascii_digit(),
        })
    };
    let bytes = text.as_bytes();
    let (mut out, mut i) = (Vec::with_capacity(bytes.len()), 0);
    while i < bytes.len() {
        if bytes.len() - i >= 16 && shape(&bytes[i..i + 16]) {
            out.extend_from_slice(b"TIME");
            i += 16;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).expect("UTF-8 stays UTF-8")
}

/// Asserts the folders `a` and `b` of `p` hold the same files with the same bytes (text files
/// compared with [`minutes_masked`] when `masked`); returns how many.
fn same_files(p: &Project, (a, b): (&str, &str), masked: bool) -> usize {
    let list = |dir: &str| -> Vec<String> {
        let root = p.path(dir);
        let mut files: Vec<String> = walk(&root)
            .into_iter()
            .filter(|f| std::path::Path::new(f).is_file())
            .map(|f| f.replacen(&root.display().to_string(), "", 1))
            .collect();
        files.sort();
        files
    };
    let (x, y) = (list(a), list(b));
    assert_eq!(x, y, "{a} and {b} hold different files");
    for f in &x {
        let (l, r) = (
            std::fs::read(p.path(&format!("{a}{f}"))).expect("read"),
            std::fs::read(p.path(&format!("{b}{f}"))).expect("read"),
        );
        let same = match (masked, std::str::from_utf8(&l), std::str::from_utf8(&r)) {
            (true, Ok(l), Ok(r)) => minutes_masked(l) == minutes_masked(r),
            _ => l == r,
        };
        assert!(same, "{f} differs between {a} and {b}");
    }
    x.len()
}

#[test]
fn status_report_site_and_credit_on_postgres_are_the_sqlite_ones() {
    let Some(url) = fresh("reading") else { return };
    let p = county();
    let (code, _, err) = migrate(&p, &url, &[]);
    assert_eq!(code, 0, "{err}");
    // The same command on the SQLite file and on the migrated database: the same exit status,
    // the same output (`-pg` folders named `-lite`).
    let both = |args: &[&str]| -> (i32, String, String) {
        let lite = run(p.suiji(args));
        let mut with: Vec<String> = args.iter().map(|a| a.replace("-lite", "-pg")).collect();
        with.extend(["--database".to_string(), url.clone()]);
        let with: Vec<&str> = with.iter().map(String::as_str).collect();
        let (code, out, err) = run(p.suiji(&with));
        assert_eq!(
            (
                code,
                out.replace("-pg", "-lite"),
                err.replace("-pg", "-lite")
            ),
            lite,
            "{args:?} differs on PostgreSQL"
        );
        lite
    };

    // Where things stand, on days with something overdue, due and awaiting publication.
    for day in ["2023-01-04", "2023-03-31", "2023-07-10", "2023-12-31"] {
        let (_, out, _) = both(&["status", "--today", day, "--within", "20"]);
        assert!(out.contains(&format!("as of {day}")), "{out}");
        assert!(out.contains("zhian.hotel"), "{out}");
    }
    let (_, out, _) = both(&["status", "--today", "2023-12-31"]);
    assert!(out.contains("#"), "no draw in the status: {out}");

    // The year's report: the same figures, the same HTML byte for byte.
    let (code, out, err) = both(&[
        "report",
        "--year",
        "2023",
        "--today",
        "2023-12-31",
        "--out",
        "reports-lite",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("total"), "{out}");
    assert!(
        p.read("reports-lite/report-2023.html") == p.read("reports-pg/report-2023.html"),
        "the report's HTML differs"
    );
    assert!(p.path("reports-pg/report-2023.xlsx").is_file());

    // The public site as static files, and the credit publicity export.
    let (code, out, err) = both(&["publish", "--site", "--to", "site-lite"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("public site: "), "{out}");
    let files = same_files(&p, ("site-lite", "site-pg"), true);
    assert!(files > 10, "{files} files in the site");
    let (code, out, err) = both(&[
        "publish",
        "--credit",
        "--year",
        "2023",
        "--to",
        "credit-lite",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("credit publicity export: "), "{out}");
    assert_eq!(same_files(&p, ("credit-lite", "credit-pg"), false), 2);
}

#[test]
fn a_year_simulated_on_postgres_is_the_sqlite_year() {
    let Some(url) = fresh("simulate") else { return };
    let (lite, pg) = (Project::shipped(), Project::shipped());
    // The run's own duration is the one figure that differs.
    let timeless = |p: &Project, out: String| -> String {
        let out = out.replace(&p.root().display().to_string(), "ROOT");
        let Some(a) = out.find(" by this run in ") else {
            return out;
        };
        match out[a..].find("s, ") {
            Some(b) => format!("{}{}", &out[..a], &out[a + b + 1..]),
            None => out,
        }
    };
    let year = ["simulate", "--year", "2023", "--seed", "demo"];
    let x = timeless(&lite, lite.ok(&year));
    let mut on_pg = year.to_vec();
    on_pg.extend(["--database", &url]);
    let y = timeless(&pg, pg.ok(&on_pg));
    assert_eq!(x, y);
    assert!(x.contains("draws of 2023"), "{x}");
    assert_no_sqlite_file(&pg);
    // Every draw's files, byte for byte, and the records behind them.
    let mut draws = 0;
    for f in walk(&lite.path("out/draws")) {
        let rel = f.replacen(&lite.root().display().to_string(), "", 1);
        let rel = rel.trim_start_matches('/');
        if std::path::Path::new(&f).is_file() {
            let read = |p: &Project| std::fs::read(p.path(rel)).expect("read");
            assert!(read(&lite) == read(&pg), "{rel} differs");
            draws += usize::from(rel.ends_with("manifest.json"));
        }
    }
    assert!(draws >= 10, "{draws} draws");
    for args in [
        &["draws"][..],
        &["audit", "verify"],
        &["status", "--today", "2023-12-31"],
    ] {
        let mut with = args.to_vec();
        with.extend(["--database", &url]);
        let (l, r) = (run(lite.suiji(args)), run(pg.suiji(&with)));
        assert_eq!(l, r, "{args:?}");
    }
    // A second run finds the year recorded: nothing issued, nothing doubled.
    let again = pg.ok(&on_pg);
    assert!(again.contains("(0 issued by this run in "), "{again}");
    let mut db = client(&url);
    assert_eq!(pg_draw_count(&mut db), i64::try_from(draws).expect("count"));
}

/// A console node: `suiji serve` of `p` on `database`, without a scheduler; and its address.
fn console_node(p: &Project, database: &str, name: &str) -> (util::Running, String) {
    let args = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--no-scheduler",
        "--database",
        database,
    ];
    let mut node = p.spawn(name, &args);
    let line = node.expect_line("suiji console on http://");
    let addr = line
        .split("http://")
        .nth(1)
        .map(|a| a.trim().trim_end_matches('/').to_string())
        .expect("address");
    (node, addr)
}

/// An answer over HTTP: its status, headers (as sent) and body.
struct Answer {
    status: u16,
    head: String,
    body: String,
}

impl Answer {
    /// The session cookie the answer sets (`name=value`).
    fn cookie(&self) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("set-cookie")
                .then(|| value.trim().split(';').next().unwrap_or("").to_string())
        })
    }

    /// Where a redirection sends the browser.
    fn location(&self) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("location").then(|| value.trim())
        })
    }
}

/// One HTTP/1.1 request to `addr` (a form when `form` is given), as a browser sends it.
fn http(addr: &str, path: &str, cookie: Option<&str>, form: Option<&str>) -> Answer {
    let form = form.map(|f| ("application/x-www-form-urlencoded", f.as_bytes()));
    http_with(addr, path, cookie, form)
}

/// One HTTP/1.1 request to `addr`: a POST of `body` (its content type and bytes) when given,
/// else a GET.
fn http_with(addr: &str, path: &str, cookie: Option<&str>, body: Option<(&str, &[u8])>) -> Answer {
    use std::io::{Read as _, Write as _};
    let mut s = std::net::TcpStream::connect(addr).expect("connects");
    let method = if body.is_some() { "POST" } else { "GET" };
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(c) = cookie {
        req.push_str(&format!("Cookie: {c}\r\n"));
    }
    if let Some((kind, bytes)) = body {
        req.push_str(&format!("Content-Type: {kind}\r\n"));
        req.push_str(&format!("Content-Length: {}\r\n", bytes.len()));
    }
    req.push_str("\r\n");
    let mut request = req.into_bytes();
    request.extend_from_slice(body.map_or(&[][..], |(_, b)| b));
    s.write_all(&request).expect("request sent");
    let mut bytes = Vec::new();
    s.read_to_end(&mut bytes).expect("answer read");
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("a head and a body");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    Answer {
        status,
        head: head.to_string(),
        body: if chunked {
            unchunk(body)
        } else {
            body.to_string()
        },
    }
}

/// A chunked body's text.
fn unchunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).expect("a chunk size");
        if n == 0 {
            break;
        }
        out.push_str(&after[..n]);
        rest = &after[n + 2..];
    }
    out
}

/// Logs in on the node at `addr`: the session cookie.
fn log_in(addr: &str, name: &str) -> String {
    let form = format!("name={name}&password={}", PASSWORD.replace(' ', "+"));
    let a = http(addr, "/login", None, Some(&form));
    assert_eq!(a.status, 303, "{}{}", a.head, a.body);
    a.cookie().expect("a session cookie")
}

/// The CSRF token of the session's pages, as the node at `addr` shows them.
fn csrf_of(addr: &str, cookie: &str) -> String {
    let page = http(addr, "/", Some(cookie), None).body;
    let at = page
        .find("name=\"csrf\" value=\"")
        .expect("page has a csrf field")
        + 19;
    page[at..at + 64].to_string()
}

#[test]
fn two_console_nodes_on_one_postgres_database_serve_any_page_to_any_session() {
    let Some(url) = fresh("console_nodes") else {
        return;
    };
    // Two nodes, each with its own folders (as on two machines), one database.
    let (a, b) = (Project::shipped_two_person(), Project::shipped_two_person());
    a.ok(&[
        "draw",
        "zhian.hotel",
        "--period",
        "2023-H1",
        "--database",
        &url,
    ]);
    for (name, role) in [("operator", "operator"), ("approver", "approver")] {
        let args = ["user", "add", name, "--role", role, "--password-stdin"];
        let (code, out, err) = user_cmd(&a, Some(&url), &args, &format!("{PASSWORD}\n"));
        assert_eq!(code, 0, "{out}{err}");
    }
    let (mut node_a, on_a) = console_node(&a, &url, "node-a");
    let (mut node_b, on_b) = console_node(&b, &url, "node-b");
    for addr in [&on_a, &on_b] {
        let h = http(addr, "/healthz", None, None);
        assert_eq!(h.status, 200, "{}", h.body);
        assert!(h.body.starts_with("ok\n数据库：可用\n"), "{}", h.body);
    }

    // A session opened on one node is honoured on the other, for every page.
    let operator = log_in(&on_a, "operator");
    let dashboard = http(&on_b, "/", Some(&operator), None);
    assert_eq!(dashboard.status, 200, "{}", dashboard.body);
    assert!(dashboard.body.contains("工作台"), "{}", dashboard.body);
    let draw = http(&on_b, "/draws/1", Some(&operator), None);
    assert_eq!(draw.status, 200, "{}", draw.body);
    assert!(draw.body.contains("2023年上半年"), "{}", draw.body);
    let list = http(&on_a, "/draws", Some(&operator), None);
    assert!(list.body.contains("/draws/1\""), "{}", list.body);

    // A draw made by hand on node B shows on node A's kept list at once.
    let seen_before = http(&on_a, "/draws", Some(&operator), None).body;
    assert!(!seen_before.contains("/draws/2\""), "{seen_before}");
    let csrf = csrf_of(&on_b, &operator);
    let choice = "choice=zhian.hotel%7C2023-H2";
    let confirm = format!("{choice}&csrf={csrf}&confirm=zhian.hotel%7C2023-H2%23system");
    let drawn = http(&on_b, "/draws/new", Some(&operator), Some(&confirm));
    assert_eq!(
        drawn.location(),
        Some("/draws/2"),
        "{}{}",
        drawn.head,
        drawn.body
    );
    let seen_after = http(&on_a, "/draws", Some(&operator), None).body;
    assert!(seen_after.contains("/draws/2\""), "{seen_after}");

    // A rule change approved on node A is what node B's rules are from then on, though no
    // file of node B changed.
    let before = http(&on_b, "/matters", Some(&operator), None).body;
    assert!(!before.contains("10%"), "{before}");
    submit_ratio_change(&a, &url);
    let approver = log_in(&on_b, "approver");
    let csrf = csrf_of(&on_a, &approver);
    let approved = http(
        &on_a,
        "/rules/changes/1/approve",
        Some(&approver),
        Some(&format!("csrf={csrf}")),
    );
    assert_eq!(approved.status, 303, "{}", approved.body);
    let after = http(&on_b, "/matters", Some(&operator), None).body;
    assert!(after.contains("10%"), "{after}");
    let b_rules = std::fs::read_to_string(b.path("rules/zhian.toml")).expect("rules of node B");
    assert!(!b_rules.contains("ratio = \"10%\""));

    // 名录库 runs on a shared database too.
    let registries = http(&on_b, "/registries", Some(&operator), None);
    assert_eq!(registries.status, 200, "{}", registries.body);
    assert!(registries.body.contains("config/registry/inspectors.csv"));

    // Logging out on node B ends the session on node A at once.
    let csrf = csrf_of(&on_b, &operator);
    let out = http(
        &on_b,
        "/logout",
        Some(&operator),
        Some(&format!("csrf={csrf}")),
    );
    assert_eq!(out.status, 303, "{}", out.body);
    let gone = http(&on_a, "/", Some(&operator), None);
    assert_eq!(gone.location(), Some("/login"), "{}", gone.head);
    for p in [&a, &b] {
        assert_no_sqlite_file(p);
    }
    // Stopped as systemd stops them: each ends cleanly, its connections closed.
    for node in [&mut node_a, &mut node_b] {
        node.signal("TERM");
        let status = node.wait();
        assert_eq!(status.code(), Some(0), "{}", node.stderr());
    }
    let report = PgStore::open(&url)
        .expect("open")
        .verify_audit()
        .expect("verify");
    assert!(
        matches!(report, suiji::store::AuditReport::Intact { .. }),
        "{report:?}"
    );
}

/// Change #1, submitted for approval on `database`: the hotel matter's ratio 10%.
fn submit_ratio_change(p: &Project, database: &str) {
    let cfg = suiji::rules::load_config(&p.path(util::CONFIG)).expect("config");
    let mut store = PgStore::open(database).expect("open");
    util::submit_hotel_ratio_change(&mut store, &cfg);
}

/// The run's database itself (no schema in its URL) with the schemas `names` dropped, for
/// tests whose configs name their own schemas; `None` as [`fresh`] skips.
fn bureau_database(names: &[&str]) -> Option<String> {
    fresh("bureau_base")?;
    let base = std::env::var("SUIJI_TEST_DATABASE").ok()?;
    let mut admin = client(&base);
    for name in names {
        admin
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
            .expect("drop the bureau's schema");
    }
    Some(base)
}

/// A shipped project whose config names the database `url` and the schema `schema`.
fn bureau(url: &str, schema: &str) -> Project {
    let p = Project::shipped();
    p.set_config(&["database", "url"], url);
    p.set_config(&["database", "schema"], schema);
    p
}

/// How many rows `table` of `schema` holds.
fn count_in_schema(db: &mut postgres::Client, schema: &str, table: &str) -> i64 {
    db.query_one(&format!("SELECT count(*) FROM {schema}.{table}"), &[])
        .expect("count")
        .get(0)
}

/// A password login on `store`, as the console makes one.
fn password_login(
    store: &mut dyn suiji::store::UserStore,
    name: &str,
) -> Result<suiji::jobs::users::Opened, suiji::jobs::users::LoginError> {
    let input = suiji::jobs::users::LoginInput {
        name: name.into(),
        password: PASSWORD.into(),
        address: "127.0.0.1".into(),
        now: 1_767_225_600,
        at: "2026-01-01T08:00:00+08:00".into(),
    };
    suiji::jobs::users::login(store, &input)
}

#[test]
fn two_bureaus_on_one_database_keep_their_records_in_their_own_schemas() {
    let (sa, sb) = ("t_bureau_a", "t_bureau_b");
    let Some(url) = bureau_database(&[sa, sb]) else {
        return;
    };
    let (a, b) = (bureau(&url, sa), bureau(&url, sb));
    // The same matter and period in both: two draws, each its bureau's first.
    for p in [&a, &b] {
        let out = p.ok(&["draw", "zhian.hotel", "--period", "2023-H1"]);
        assert!(out.contains("#1"), "{out}");
    }
    let (code, _, err) = run(a.suiji(&["draw", "zhian.hotel", "--period", "2023-H1"]));
    assert_eq!(
        code, 1,
        "a second draw of bureau A's period is refused: {err}"
    );
    assert!(err.contains("already drawn"), "{err}");
    b.ok(&["draw", "zhian.hotel", "--period", "2023-H2"]);
    let mut db = client(&url);
    assert_eq!(count_in_schema(&mut db, sa, "draws"), 1);
    assert_eq!(count_in_schema(&mut db, sb, "draws"), 2);
    let public: Option<String> = db
        .query_one("SELECT to_regclass('public.draws')::text", &[])
        .expect("look")
        .get(0);
    assert_eq!(public, None, "nothing went into public");
    for p in [&a, &b] {
        let out = p.ok(&["audit", "verify"]);
        assert!(out.contains("intact"), "{out}");
        p.ok(&["verify", "1"]);
    }
    let listed = b.ok(&["draws"]);
    assert!(listed.contains("2023-H2"), "{listed}");
    assert!(!a.ok(&["draws"]).contains("2023-H2"));

    // An account of bureau A is neither listed nor let in by bureau B.
    let add = [
        "user",
        "add",
        "zhang.wei",
        "--role",
        "operator",
        "--password-stdin",
    ];
    let (code, out, err) = user_cmd(&a, None, &add, &format!("{PASSWORD}\n"));
    assert_eq!(code, 0, "{out}{err}");
    assert!(a.ok(&["user", "list"]).contains("zhang.wei"));
    assert!(!b.ok(&["user", "list"]).contains("zhang.wei"));
    let origin = suiji::store::Origin::of_process();
    let mut in_a = PgStore::open_in(&url, sa, origin.clone()).expect("bureau A");
    let mut in_b = PgStore::open_in(&url, sb, origin).expect("bureau B");
    assert!(password_login(&mut in_a, "zhang.wei").is_ok());
    assert!(matches!(
        password_login(&mut in_b, "zhang.wei"),
        Err(suiji::jobs::users::LoginError::Refused)
    ));
    // So do the bureaus' consoles: each `serve` works in its config's schema.
    let (_node_a, on_a) = console_node(&a, &url, "bureau-a");
    let (_node_b, on_b) = console_node(&b, &url, "bureau-b");
    let session = log_in(&on_a, "zhang.wei");
    let list = http(&on_a, "/draws", Some(&session), None);
    assert!(
        list.body.contains("/draws/1\"") && !list.body.contains("/draws/2\""),
        "{}",
        list.body
    );
    let form = format!("name=zhang.wei&password={}", PASSWORD.replace(' ', "+"));
    let refused = http(&on_b, "/login", None, Some(&form));
    assert_eq!(refused.status, 401, "{}", refused.head);
    assert!(refused.body.contains("账号或密码错误。") && refused.cookie().is_none());

    // Each bureau's scheduler has its lease: both taken at once.
    let (pa, pb) = (in_a.place().clone(), in_b.place().clone());
    let mut lease_a = suiji::store::pg::Lease::new(&pa, "node-a:1");
    let mut lease_b = suiji::store::pg::Lease::new(&pb, "node-b:1");
    assert!(lease_a.try_take().expect("lease A"));
    assert!(lease_b.try_take().expect("lease B"));
    let mut again = suiji::store::pg::Lease::new(&pa, "node-c:1");
    assert!(
        !again.try_take().expect("lease A again"),
        "one holder per bureau"
    );

    // Bureau A's writers of (zhian.hotel, 2023-H2) hold their turn; bureau B's draw of the same
    // ids does not wait for it.
    let mut holder = client(&url);
    let mut tx = holder.transaction().expect("begin");
    tx.batch_execute(&format!("SET LOCAL search_path TO {sa}"))
        .expect("bureau A");
    tx.execute(
        "SELECT pg_advisory_xact_lock($1, hashtext(current_schema() || chr(31) || $2))",
        &[&0x5e1_i32, &"zhian.hotel\u{1f}2024-H1"],
    )
    .expect("bureau A's turn");
    let (done, finished) = std::sync::mpsc::channel();
    let b_config = b.path("config/suiji.toml");
    std::thread::spawn(move || {
        let loaded = suiji::jobs::load_rules(&b_config).expect("rules");
        let input = suiji::jobs::draw::Input {
            matter: "zhian.hotel".into(),
            period: "2024-H1".into(),
            seed: suiji::jobs::issue::seed::SeedChoice::Os,
            reveal: None,
            dry_run: false,
            redraw: None,
            replaces: None,
            actor: "operator".into(),
            now: "2024-01-04T09:30:00+08:00".into(),
        };
        let drawn = suiji::jobs::draw::run_on(&loaded, &input, None, Some(&pb));
        let _ = done.send(drawn.map(|d| d.issued.draw_id).map_err(|e| e.to_string()));
    });
    // Bounded only so that a regression fails instead of hanging the suite.
    let drawn = finished
        .recv_timeout(std::time::Duration::from_secs(300))
        .expect("bureau B's draw did not wait on bureau A's lock");
    assert_eq!(drawn, Ok(Some(3)), "bureau B's third draw");
    tx.rollback().expect("end bureau A's turn");
}

#[test]
fn a_county_migrates_into_its_bureaus_schema_and_verifies_there() {
    let schema = "t_bureau_county";
    let Some(url) = bureau_database(&[schema]) else {
        return;
    };
    // The schema is named before the county moves: the SQLite file ignores it.
    let p = Project::shipped();
    p.set_config(&["database", "schema"], schema);
    p.ok(&["draw", "zhian.hotel", "--period", "2023-H1"]);
    p.ok(&["draw", "zhian.hotel", "--period", "2023-H2"]);
    let sqlite = p.ok(&["audit", "verify"]);
    let (code, out, err) = migrate(&p, &url, &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(&format!("(schema {schema})")), "{out}");
    assert!(out.contains("the chain agrees"), "{out}");
    let mut db = client(&url);
    assert_eq!(count_in_schema(&mut db, schema, "draws"), 2);
    // On the database, in the schema: the same chain, and each draw re-runs.
    let on_pg = p.ok(&["audit", "verify", "--database", &url]);
    let head = |text: &str| text.split("head").nth(1).map(str::trim).map(str::to_string);
    assert!(on_pg.contains("intact"), "{on_pg}");
    assert_eq!(head(&on_pg), head(&sqlite), "{on_pg}\n{sqlite}");
    for id in ["1", "2"] {
        p.ok(&["verify", id, "--database", &url]);
    }
    // A second migration into the same schema is refused: it holds records.
    let (code, out, err) = migrate(&p, &url, &[]);
    assert_ne!(code, 0, "{out}{err}");
}

#[test]
fn a_schema_that_is_not_a_plain_name_is_a_located_config_error() {
    for (bad, why) in [
        ("Bureau-1", "must start with a lowercase letter"),
        ("bureau 1", "only lowercase letters, digits and `_`"),
        ("pg_bureau", "PostgreSQL keeps that name"),
        ("information_schema", "PostgreSQL keeps that name"),
    ] {
        let p = Project::shipped();
        p.set_config(&["database", "schema"], bad);
        let (code, out, err) = run(p.suiji(&["check"]));
        assert_eq!(code, 1, "{bad}: {out}{err}");
        assert!(
            err.contains(&format!("`{bad}` cannot be a bureau's schema")) && err.contains(why),
            "{bad}: {err}"
        );
        assert!(err.contains("config/suiji.toml:"), "located: {err}");
        assert!(err.contains("write schema = \"bureau_371326\""), "{err}");
    }
    let long = "b".repeat(64);
    let p = Project::shipped();
    p.set_config(&["database", "schema"], long.as_str());
    let (code, _, err) = run(p.suiji(&["check"]));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("63 bytes"), "{err}");
    // A good one is accepted, without a URL too (the SQLite file ignores it).
    let p = Project::shipped();
    p.set_config(&["database", "schema"], "bureau_371326");
    p.ok(&["check"]);
}

/// A form body, each value percent-encoded.
fn form_of(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| {
            let v: String = v
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                        char::from(b).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect();
            format!("{k}={v}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// An answer the console means: 200 or 303, never a failure or a page not served.
fn served(a: &Answer, what: &str) {
    assert!(
        a.status == 200 || a.status == 303,
        "{what}: {}\n{}",
        a.head,
        a.body
    );
}

/// A multipart upload of `file` (its name and bytes) with the session's CSRF token and `fields`.
fn upload(
    addr: &str,
    path: &str,
    cookie: &str,
    fields: &[(&str, &str)],
    file: (&str, &[u8]),
) -> Answer {
    let boundary = "----suijitestboundary";
    let mut body = Vec::new();
    let csrf = csrf_of(addr, cookie);
    let mut parts: Vec<(&str, &[u8], Option<&str>)> = vec![("csrf", csrf.as_bytes(), None)];
    parts.extend(fields.iter().map(|(k, v)| (*k, v.as_bytes(), None)));
    parts.push(("file", file.1, Some(file.0)));
    for (name, value, filename) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let disposition = match filename {
            Some(f) => format!(
                "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            ),
            None => format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n"),
        };
        body.extend_from_slice(disposition.as_bytes());
        body.extend_from_slice(value);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let kind = format!("multipart/form-data; boundary={boundary}");
    http_with(addr, path, Some(cookie), Some((&kind, &body)))
}

/// A selected target of draw 1 on the team of an inspector, that inspector and the draw's due
/// date, as the server holds them.
fn team_task(url: &str) -> (String, String, String) {
    let r = client(url)
        .query_one(
            "SELECT t.target_id, m.inspector_id, d.due_date FROM draw_targets t
             JOIN draws d ON d.id = t.draw_id
             JOIN draw_team_members m ON m.draw_id = t.draw_id AND m.target_id = t.target_id
             WHERE t.draw_id = 1 AND t.selected = 1 ORDER BY t.target_id, m.inspector_id LIMIT 1",
            &[],
        )
        .expect("a task of draw 1");
    (r.get(0), r.get(1), r.get(2))
}

/// Adds a console account with `role` on the database at `url` (an inspector's with its id).
fn add_account(p: &Project, url: &str, role: &str, inspector: Option<&str>) {
    let mut args = vec!["user", "add", role, "--role", role, "--password-stdin"];
    if let Some(id) = inspector {
        args.extend(["--inspector", id]);
    }
    let (code, out, err) = user_cmd(p, Some(url), &args, &format!("{PASSWORD}\n"));
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn the_console_on_postgres_serves_registries_redraws_results_publication_rules_accounts_and_audit()
{
    let Some(url) = fresh("console_pages") else {
        return;
    };
    let p = Project::shipped();
    for (matter, period) in [
        ("zhian.hotel", "2023-H1"),
        ("zhian.hotel", "2023-H2"),
        ("wangan.internet-cafe", "2023"),
    ] {
        p.ok(&["draw", matter, "--period", period, "--database", &url]);
    }
    let (target, inspector, due) = team_task(&url);
    for role in ["operator", "approver", "editor", "admin", "auditor"] {
        add_account(&p, &url, role, None);
    }
    add_account(&p, &url, "inspector", Some(&inspector));
    let (_node, on) = console_node(&p, &url, "node");
    let count = |table: &str| -> i64 {
        client(&url)
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .expect("count")
            .get(0)
    };

    // 结果录入: the inspector's own task, entered by its form.
    let inspector_session = log_in(&on, "inspector");
    let page = http(&on, "/results", Some(&inspector_session), None);
    served(&page, "results");
    assert!(
        page.body.contains(&format!("/results/1/{target}")),
        "{}",
        page.body
    );
    let csrf = csrf_of(&on, &inspector_session);
    let mut fields = vec![
        ("csrf", csrf.as_str()),
        ("date", due.as_str()),
        ("remarks", ""),
    ];
    let items = [
        "item:hotel-01",
        "item:hotel-02",
        "item:hotel-03",
        "item:hotel-04",
    ];
    fields.extend(items.iter().map(|i| (*i, "未发现问题")));
    let entered = http(
        &on,
        &format!("/results/1/{target}"),
        Some(&inspector_session),
        Some(&form_of(&fields)),
    );
    assert_eq!(entered.status, 303, "{}{}", entered.head, entered.body);
    assert_eq!(count("results"), 4, "one result per checklist item");

    // 结果公示 and 年度报告.
    let operator = log_in(&on, "operator");
    let page = http(&on, "/publish", Some(&operator), None);
    served(&page, "publish");
    assert!(page.body.contains("公示以上结果"), "{}", page.body);
    let csrf = csrf_of(&on, &operator);
    let published = http(
        &on,
        "/publish",
        Some(&operator),
        Some(&format!("csrf={csrf}")),
    );
    served(&published, "publish");
    assert!(published.body.contains("已公示 1 户"), "{}", published.body);
    assert_eq!(count("publications"), 1);
    let report = http(&on, "/report?year=2023", Some(&operator), None);
    served(&report, "report");
    assert!(report.body.contains("按期公示"), "{}", report.body);

    // A redraw asked by the operator, approved by the approver, drawn on the server.
    let ask = form_of(&[
        ("csrf", &csrf),
        ("choice", "zhian.hotel|2023-H2"),
        ("confirm", "zhian.hotel|2023-H2#system"),
        ("reason", "名录库有误"),
    ]);
    let asked = http(&on, "/draws/new", Some(&operator), Some(&ask));
    assert_eq!(asked.status, 303, "{}{}", asked.head, asked.body);
    let again = http(&on, "/draws/new", Some(&operator), Some(&ask));
    assert_ne!(
        again.status, 303,
        "a second request for the same draw waits for none"
    );
    let own = http(
        &on,
        "/redraws/1",
        Some(&operator),
        Some(&format!("csrf={csrf}&approve=yes")),
    );
    assert_eq!(own.status, 403, "an operator cannot approve");
    let approver = log_in(&on, "approver");
    let page = http(&on, "/draws/new", Some(&approver), None);
    served(&page, "redraw requests");
    assert!(page.body.contains("待法制审核"), "{}", page.body);
    let acsrf = csrf_of(&on, &approver);
    let approved = http(
        &on,
        "/redraws/1",
        Some(&approver),
        Some(&format!("csrf={acsrf}&approve=yes")),
    );
    assert_eq!(approved.status, 303, "{}{}", approved.head, approved.body);
    let redraw: (i64, Option<i64>, String) = {
        let r = client(&url)
            .query_one("SELECT id, redraw_of, actor FROM draws WHERE status = 'active' AND period = '2023-H2'", &[])
            .expect("the redraw");
        (r.get(0), r.get(1), r.get(2))
    };
    assert_eq!(redraw, (4, Some(2), "web:operator".to_string()));
    let twice = http(
        &on,
        "/redraws/1",
        Some(&approver),
        Some(&format!("csrf={acsrf}&approve=yes")),
    );
    assert_eq!(twice.status, 422, "decided once: {}", twice.body);
    assert_eq!(count("draws"), 4);

    // A redraw whose seed must come from a public source: approved without drawing, then
    // committed on its page to a source not yet announced.
    p.set_config(&["seed", "source"], "public");
    let cafe = form_of(&[
        ("csrf", &csrf),
        ("choice", "wangan.internet-cafe|2023"),
        ("confirm", "wangan.internet-cafe|2023#system"),
        ("reason", "名录库有误"),
    ]);
    let asked = http(&on, "/draws/new", Some(&operator), Some(&cafe));
    assert_eq!(asked.status, 303, "{}{}", asked.head, asked.body);
    let approved = http(
        &on,
        "/redraws/2",
        Some(&approver),
        Some(&format!("csrf={acsrf}&approve=yes")),
    );
    assert_eq!(approved.status, 303, "{}{}", approved.head, approved.body);
    assert_eq!(count("draws"), 4, "the approval draws nothing yet");
    let commit = form_of(&[
        ("csrf", &csrf),
        ("choice", "wangan.internet-cafe|2023"),
        ("source", "中国福利彩票3D 第2099001期开奖号码"),
        ("source_time", "2099-01-02 21:15"),
    ]);
    let committed = http(&on, "/redraws/2/commit", Some(&operator), Some(&commit));
    served(&committed, "redraw commitment");
    assert!(
        committed.body.contains("种子来源：公开随机源") && committed.body.contains("第2099001期"),
        "{}",
        committed.body
    );
    assert_eq!(count("commitments"), 1);

    // 规则编辑: a draft adding a department, saved on the server.
    let editor = log_in(&on, "editor");
    let ecsrf = csrf_of(&on, &editor);
    let add = form_of(&[
        ("csrf", &ecsrf),
        ("new_id", "xiaofang"),
        ("new_name", "消防大队"),
    ]);
    let saved = http(&on, "/rules", Some(&editor), Some(&add));
    assert_eq!(
        saved.location(),
        Some("/rules/xiaofang"),
        "{}{}",
        saved.head,
        saved.body
    );
    let list = http(&on, "/rules", Some(&editor), None);
    served(&list, "rules");
    assert!(list.body.contains("消防大队"), "{}", list.body);
    assert!(
        !p.path("rules/xiaofang.toml").exists(),
        "a draft writes no rule file"
    );

    // 账号管理: an account added by the administrator logs in.
    let admin = log_in(&on, "admin");
    let mcsrf = csrf_of(&on, &admin);
    let new = form_of(&[
        ("csrf", &mcsrf),
        ("name", "wang.fang"),
        ("role", "operator"),
        ("department", "zhian"),
        ("password", PASSWORD),
        ("password2", PASSWORD),
    ]);
    let added = http(&on, "/users", Some(&admin), Some(&new));
    served(&added, "users");
    assert!(added.body.contains("已新建。"), "{}", added.body);
    assert!(
        http(&on, "/users", Some(&admin), None)
            .body
            .contains("wang.fang")
    );
    log_in(&on, "wang.fang");

    // 名录库: the files, an upload replacing one, and its history from the server.
    let page = http(&on, "/registries", Some(&operator), None);
    served(&page, "registries");
    assert!(
        page.body.contains("config/registry/inspectors.csv"),
        "{}",
        page.body
    );
    let good = p
        .read("config/registry/inspectors.csv")
        .replacen("许德胜", "许德盛", 1);
    let fields = [("kind", "inspectors"), ("index", "0")];
    let replaced = upload(
        &on,
        "/registries",
        &operator,
        &fields,
        ("新名录.csv", good.as_bytes()),
    );
    served(&replaced, "registry upload");
    assert!(
        replaced.body.contains("已更新执法检查人员名录库"),
        "{}",
        replaced.body
    );
    assert_eq!(p.read("config/registry/inspectors.csv"), good);
    assert!(
        http(&on, "/registries", Some(&operator), None)
            .body
            .contains("新名录.csv")
    );

    // 审计日志: every step above audited with its user, and the chain verified on the page.
    let auditor = log_in(&on, "auditor");
    let page = http(&on, "/audit", Some(&auditor), None);
    served(&page, "audit");
    let acts: Vec<(String, String)> = client(&url)
        .query(
            "SELECT action, actor FROM audit_log WHERE action IN ('redraw.ask', 'redraw.approve', 'registry.replace', 'results.record', 'user.add') AND actor LIKE 'web:%' ORDER BY seq",
            &[],
        )
        .expect("audit")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let web = |a: &str, u: &str| (a.to_string(), format!("web:{u}"));
    assert_eq!(
        acts,
        [
            web("results.record", "inspector"),
            web("redraw.ask", "operator"),
            web("redraw.approve", "approver"),
            web("redraw.ask", "operator"),
            web("redraw.approve", "approver"),
            web("user.add", "admin"),
            web("registry.replace", "operator"),
        ]
    );
    let ucsrf = csrf_of(&on, &auditor);
    let verified = http(
        &on,
        "/audit/verify",
        Some(&auditor),
        Some(&format!("csrf={ucsrf}")),
    );
    served(&verified, "audit verify");
    assert!(verified.body.contains("审计链完整"), "{}", verified.body);
    assert!(
        !p.path("data/suiji.sqlite3").exists(),
        "a SQLite file was made"
    );
}

/// The shipped targets registry of `p`, one hotel renamed: a good file whose bytes differ.
fn renamed_targets(p: &Project) -> String {
    let text = p.read(TARGETS);
    let renamed = text.replacen("临涧新世纪商务宾馆", "临涧新世纪商务酒店", 1);
    assert_ne!(renamed, text, "the shipped registry has the hotel");
    renamed
}

/// The configured targets registry of the shipped projects.
const TARGETS: &str = "config/registry/targets.csv";

/// The SHA-256 draw `id` recorded of the targets registry file it read.
fn recorded_targets_sha(url: &str, id: i64) -> String {
    let manifest: String = client(url)
        .query_one("SELECT manifest_json FROM draws WHERE id = $1", &[&id])
        .expect("the draw")
        .get(0);
    let m: serde_json::Value = serde_json::from_str(&manifest).expect("a manifest");
    m["registry"]["sources"]
        .as_array()
        .expect("the files read")
        .iter()
        .find(|s| {
            s["file"]
                .as_str()
                .is_some_and(|f| f.ends_with("targets.csv"))
        })
        .and_then(|s| s["sha256"].as_str())
        .expect("the targets file")
        .to_string()
}

/// The files in the folder of `p`'s configured targets registry and in its history folder.
fn registry_folders(p: &Project) -> (Vec<String>, Vec<String>) {
    let names = |dir: &str| -> Vec<String> {
        let mut out: Vec<String> = std::fs::read_dir(p.path(dir))
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    };
    (names("config/registry"), names("data/registry-history"))
}

#[test]
fn a_registry_uploaded_on_one_node_is_what_every_node_and_command_draws_from() {
    let Some(url) = fresh("shared_registries") else {
        return;
    };
    // Two nodes, each with its own project folder (as on two machines), one database.
    let (a, b) = (Project::shipped(), Project::shipped());
    add_account(&a, &url, "operator", None);
    let (_node_a, on_a) = console_node(&a, &url, "node-a");
    let (_node_b, on_b) = console_node(&b, &url, "node-b");
    let operator = log_in(&on_a, "operator");
    let before = b.read(TARGETS);
    let old_sha = suiji::digest::sha256_hex(before.as_bytes());
    let shown = http(&on_b, "/registries", Some(&operator), None).body;
    assert!(shown.contains(&old_sha), "{shown}");

    // A changed targets registry uploaded through node A's console.
    let new = renamed_targets(&a);
    let new_sha = suiji::digest::sha256_hex(new.as_bytes());
    let fields = [("kind", "targets"), ("index", "0")];
    let file = ("新对象库.csv", new.as_bytes());
    let replaced = upload(&on_a, "/registries", &operator, &fields, file);
    served(&replaced, "registry upload");
    assert!(
        replaced.body.contains("已更新检查对象名录库"),
        "{}",
        replaced.body
    );
    assert_eq!(a.read(TARGETS), new);

    // Node B's 名录库 shows its file at the uploaded version: node B brought it up to it.
    let shown = http(&on_b, "/registries", Some(&operator), None).body;
    assert!(shown.contains(&new_sha), "{shown}");
    assert!(!shown.contains(&old_sha), "{shown}");
    assert_eq!(b.read(TARGETS), new);
    let (_, history) = registry_folders(&b);
    assert_eq!(history.len(), 1, "{history:?}");
    let kept = b.read(&format!("data/registry-history/{}", history[0]));
    assert_eq!(kept, before, "node B's own file is kept");

    // A draw made by hand on node B reads the uploaded file, and verifies there.
    let csrf = csrf_of(&on_b, &operator);
    let confirm =
        format!("choice=zhian.hotel%7C2023-H1&csrf={csrf}&confirm=zhian.hotel%7C2023-H1%23system");
    let drawn = http(&on_b, "/draws/new", Some(&operator), Some(&confirm));
    assert_eq!(
        drawn.location(),
        Some("/draws/1"),
        "{}{}",
        drawn.head,
        drawn.body
    );
    assert_eq!(recorded_targets_sha(&url, 1), new_sha);
    let verified = b.ok(&["verify", "1", "--database", &url]);
    assert!(verified.starts_with("identical"), "{verified}");

    // So does a command run with --database in a third project folder.
    let c = Project::shipped();
    c.ok(&[
        "draw",
        "wangan.internet-cafe",
        "--period",
        "2023",
        "--database",
        &url,
    ]);
    assert_eq!(c.read(TARGETS), new);
    assert_eq!(recorded_targets_sha(&url, 2), new_sha);
    let verified = c.ok(&["verify", "2", "--database", &url]);
    assert!(verified.starts_with("identical"), "{verified}");
}

#[test]
fn a_node_takes_an_uploaded_registry_file_by_a_rename_keeping_its_own_and_refuses_a_damaged_copy() {
    use std::os::unix::fs::MetadataExt as _;
    use suiji::diag::Problem as _;
    use suiji::jobs::replace::{Kind, Upload};
    use suiji::jobs::shared_registries::follow_once;
    let Some(url) = fresh("registry_follow") else {
        return;
    };
    let (a, b, c) = (Project::shipped(), Project::shipped(), Project::shipped());
    let before = b.read(TARGETS);
    let new = renamed_targets(&a);
    let loaded = suiji::jobs::load_rules(&a.path(util::CONFIG)).expect("rules");
    let mut store = PgStore::open(&url).expect("open");
    let up = Upload {
        kind: Kind::Targets,
        index: 0,
        name: "targets.csv".into(),
        bytes: new.clone().into_bytes(),
        actor: "web:operator".into(),
        at: "2023-05-06T10:11:12+08:00".into(),
    };
    suiji::jobs::replace::replace(&loaded, &mut store, &up).expect("replaced");

    // Node B takes the server's file: a new file renamed into place, its own one kept.
    let inode = |p: &Project| std::fs::metadata(p.path(TARGETS)).expect("file").ino();
    let was = inode(&b);
    let cfg_b = suiji::rules::load_config(&b.path(util::CONFIG)).expect("config");
    let brought = follow_once(&store, &cfg_b).expect("followed");
    assert_eq!(brought.len(), 1, "{brought:?}");
    assert_eq!(b.read(TARGETS), new);
    assert_ne!(inode(&b), was, "renamed into place, never written over");
    let kept = b.path("data/registry-history/targets-20230506101112.csv");
    assert_eq!(brought[0].kept.as_ref(), Some(&kept));
    assert_eq!(std::fs::read_to_string(&kept).expect("kept"), before);
    let (files, _) = registry_folders(&b);
    assert_eq!(
        files,
        ["inspectors.csv", "targets.csv"],
        "nothing staged is left"
    );
    let again = follow_once(&store, &cfg_b).expect("followed");
    assert!(again.is_empty(), "current already: {again:?}");

    // A copy on the server that does not match its hash is refused; nothing is written.
    client(&url)
        .batch_execute(
            "ALTER TABLE registry_files DISABLE TRIGGER registry_files_no_update;
             UPDATE registry_files SET data = overlay(data PLACING '\\x58'::bytea FROM 1 FOR 1);
             ALTER TABLE registry_files ENABLE TRIGGER registry_files_no_update;",
        )
        .expect("altered behind suiji's back");
    let cfg_c = suiji::rules::load_config(&c.path(util::CONFIG)).expect("config");
    let refused = follow_once(&store, &cfg_c).expect_err("refused");
    let text = refused.report().render();
    assert!(
        text.contains("targets.csv") && text.contains("名录库"),
        "{text}"
    );
    assert_eq!(c.read(TARGETS), before, "left as it was");
    assert_eq!(
        registry_folders(&c),
        (
            vec!["inspectors.csv".into(), "targets.csv".into()],
            Vec::new()
        ),
        "nothing staged or kept"
    );
    let drawn = run(c.suiji(&[
        "draw",
        "zhian.hotel",
        "--period",
        "2023-H1",
        "--database",
        &url,
    ]));
    assert_ne!(drawn.0, 0, "{drawn:?}");
    assert!(drawn.2.contains("registry_files"), "{}", drawn.2);
    assert_eq!(pg_draw_count(&mut client(&url)), 0, "nothing drawn");
    // The same bytes uploaded again cannot stand for the damaged copy: refused, saying so.
    let again = suiji::jobs::replace::replace(&loaded, &mut store, &up).expect_err("refused");
    let text = again.report().render();
    assert!(text.contains("restore the table registry_files"), "{text}");
}
