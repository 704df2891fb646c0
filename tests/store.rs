//! The store's promises, tested through its public API and, where the promise is about the
//! file itself, through a separate raw SQLite connection.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Barrier};

use rusqlite::Connection;
use serde_json::json;
use sha2::{Digest, Sha256};
use suiji::store::{
    AuditProblem, AuditReport, DB_FILE, DrawFilter, DrawHead, DrawRecord, DrawRows, DrawStatus,
    DrawnTargetRow, EntityKind, EventFilter, ExclusionRow, GENESIS_HASH, LentRows, NewDraw,
    NewEvent, NewResult, Redraw, SCHEMA_VERSION, SchedulerEvent, SnapshotKind, Store, StoreError,
    TargetRowRef, TeamRow, TeamRowRef, UnstaffedRow, audit_hash,
};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const TARGETS_CSV: &[u8] = b"id,name\nT1,Hotel A\nT2,Hotel B\nT3,Cafe C\n";
const INSPECTORS_CSV: &[u8] = b"id,name\nI1,Zhang\nI2,Li\nI3,Wang\n";

fn raw(dir: &Path) -> rusqlite::Result<Connection> {
    let c = Connection::open(dir.join(DB_FILE))?;
    c.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(c)
}

/// A store with both snapshots archived, and a draw for `matter`/`period` ready to record.
fn setup() -> Result<(tempfile::TempDir, Store, NewDraw), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let mut store = Store::open(dir.path())?;
    let t = store.put_snapshot(SnapshotKind::Targets, 3, TARGETS_CSV)?;
    let i = store.put_snapshot(SnapshotKind::Inspectors, 3, INSPECTORS_CSV)?;
    let draw = sample_draw("hotel-security", "2025-Q1", &t, &i);
    Ok((dir, store, draw))
}

/// [`setup`] with its draw recorded for two periods (2025-Q1, then 2025-Q2): their ids.
fn two_draws() -> Result<(tempfile::TempDir, Store, i64, i64), Box<dyn std::error::Error>> {
    let (dir, mut store, d) = setup()?;
    let a = store.record_draw(&d, Redraw::No)?;
    let mut other = d.clone();
    other.record.period = "2025-Q2".into();
    let b = store.record_draw(&other, Redraw::No)?;
    Ok((dir, store, a, b))
}

fn sample_draw(matter: &str, period: &str, targets: &str, inspectors: &str) -> NewDraw {
    let target = |rank, id: &str, name: &str, selected, substitute: Option<&str>| DrawnTargetRow {
        stratum: "class-A".into(),
        rank,
        target_id: id.into(),
        target_name: name.into(),
        selected,
        substitute: substitute.is_some(),
        substitute_for: substitute.map(str::to_string),
        rank_key: Some(format!("{rank:064x}")),
    };
    let member = |target: &str, position, id: &str, name: &str| TeamRow {
        target_id: target.into(),
        position,
        inspector_id: id.into(),
        inspector_name: name.into(),
    };
    NewDraw {
        record: DrawRecord {
            matter: matter.into(),
            period: period.into(),
            kind: "scheduled".into(),
            algorithm: "suiji-draw-v1".into(),
            seed_hex: "00ff10ab".into(),
            seed_source: "witness digits 1234".into(),
            rules_hash: "r".repeat(64),
            targets_snapshot: targets.into(),
            inspectors_snapshot: inspectors.into(),
            reference_date: "2025-01-02".into(),
            issue_date: "2025-01-03".into(),
            due_date: "2025-03-31".into(),
            created_at: "2025-01-03T09:00:00+08:00".into(),
            actor: "scheduler".into(),
            manifest_json: r#"{"version":1,"selected":["T1","T3"]}"#.into(),
            manifest_hash: "m".repeat(64),
            provisional: false,
        },
        targets: vec![
            target(1, "T1", "Hotel A", true, None),
            target(2, "T2", "Hotel B", false, None),
            target(3, "T3", "Cafe C", true, Some("T2")),
        ],
        teams: vec![
            member("T1", 0, "I1", "Zhang"),
            member("T1", 1, "I2", "Li"),
            member("T3", 0, "I3", "Wang"),
        ],
        unstaffed: vec![UnstaffedRow {
            target_id: "T2".into(),
            reason: "no qualified inspector free of conflicts".into(),
        }],
        exclusions: vec![ExclusionRow {
            entity_kind: EntityKind::Inspector,
            entity_id: "I2".into(),
            reason_code: "conflict".into(),
            detail: "former employer of T2".into(),
        }],
        manifest_file: None,
        manifest_file_sha256: None,
        lent: None,
    }
}

fn counts(dir: &Path) -> rusqlite::Result<[i64; 7]> {
    let c = raw(dir)?;
    let n = |t: &str| c.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0));
    Ok([
        n("draws")?,
        n("draw_targets")?,
        n("draw_team_members")?,
        n("draw_unstaffed")?,
        n("draw_exclusions")?,
        n("audit_log")?,
        n("draw_manifest_pieces")?,
    ])
}

/// `PRAGMA page_size` of the file in `dir`.
fn page_size(dir: &Path) -> rusqlite::Result<i64> {
    raw(dir)?.query_row("PRAGMA page_size", [], |r| r.get(0))
}

#[test]
fn a_new_file_has_pages_of_16_kib_and_an_older_file_keeps_its_own() -> TestResult {
    let dir = tempfile::tempdir()?;
    drop(Store::open(dir.path())?);
    assert_eq!(page_size(dir.path())?, 16384);
    // A file begun with SQLite's 4 KiB pages (as every file was before): opened, given its
    // tables, checked, its pages as they were.
    let old = tempfile::tempdir()?;
    raw(old.path())?.execute_batch("PRAGMA page_size = 4096; PRAGMA journal_mode = WAL;")?;
    assert_eq!(page_size(old.path())?, 4096);
    let store = Store::open(old.path())?;
    assert!(store.check_integrity()?.is_empty());
    drop(store);
    assert_eq!(page_size(old.path())?, 4096);
    let version: i64 = raw(old.path())?.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    assert_eq!(version, SCHEMA_VERSION);
    Ok(())
}

#[test]
fn open_creates_folder_and_file_in_wal_mode() -> TestResult {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("nested").join("data");
    let store = Store::open(&data)?;
    assert_eq!(store.path(), data.join(DB_FILE));
    assert!(store.path().exists());
    let c = raw(&data)?;
    let mode: String = c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
    assert_eq!(mode, "wal");
    let version: i64 = c.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    assert_eq!(version, SCHEMA_VERSION);
    assert!(store.check_integrity()?.is_empty());
    drop(store);
    // Reopening an up-to-date file changes nothing.
    let _again = Store::open(&data)?;
    Ok(())
}

#[test]
fn record_and_read_back_a_draw() -> TestResult {
    let (_dir, mut store, d) = setup()?;
    let id = store.record_draw(&d, Redraw::No)?;

    let row = store.draw(id)?.ok_or("draw missing")?;
    assert_eq!(row.id, id);
    assert_eq!(row.record.matter, d.record.matter);
    assert_eq!(row.record.period, d.record.period);
    assert_eq!(row.record.kind, "scheduled");
    assert_eq!(row.status, DrawStatus::Active);
    assert_eq!(row.record.algorithm, d.record.algorithm);
    assert_eq!(row.record.seed_hex, d.record.seed_hex);
    assert_eq!(row.record.seed_source, d.record.seed_source);
    assert_eq!(row.record.rules_hash, d.record.rules_hash);
    assert_eq!(row.record.targets_snapshot, d.record.targets_snapshot);
    assert_eq!(row.record.inspectors_snapshot, d.record.inspectors_snapshot);
    assert_eq!(row.record.reference_date, d.record.reference_date);
    assert_eq!(row.record.issue_date, d.record.issue_date);
    assert_eq!(row.record.due_date, d.record.due_date);
    assert_eq!(row.record.created_at, d.record.created_at);
    assert_eq!(row.record.actor, d.record.actor);
    assert_eq!(row.record.manifest_json, d.record.manifest_json);
    assert_eq!(row.record.manifest_hash, d.record.manifest_hash);
    assert_eq!(
        (row.redraw_of, row.redraw_reason.clone(), row.superseded_by),
        (None, None, None)
    );

    assert_eq!(
        store.active_draw(&d.record.matter, &d.record.period)?,
        Some(row.clone())
    );
    assert_eq!(store.active_draw(&d.record.matter, "2025-Q2")?, None);
    assert_eq!(store.draw(id + 100)?, None);

    assert_eq!(store.draw_targets(id)?, d.targets);
    assert_eq!(store.draw_teams(id)?, d.teams);
    assert_eq!(store.draw_unstaffed(id)?, d.unstaffed);
    assert_eq!(store.draw_exclusions(id)?, d.exclusions);

    let entries = store.audit_entries(0, 10)?;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].action, "draw.record");
    assert_eq!(entries[0].subject, format!("draw:{id}"));
    assert_eq!(entries[0].at, d.record.created_at);
    let detail = entries[0].detail_json()?;
    assert_eq!(detail["draw_id"], json!(id));
    assert_eq!(detail["manifest_hash"], json!(d.record.manifest_hash));
    assert_eq!(detail["selected"], json!(2));
    assert!(store.verify_audit()?.is_intact());
    Ok(())
}

/// A manifest of more than one piece, its characters of three bytes split between pieces.
fn long_manifest() -> String {
    // Four pieces, characters of 3 and 4 bytes cut between them.
    json!({"version": 2, "名单": "检查对象𝄞".repeat(200_000), "end": true}).to_string()
}

/// Target and team rows lent to the store, made as it reads them.
struct Lent(Vec<DrawnTargetRow>, Vec<TeamRow>);

impl DrawRows for Lent {
    fn targets(&self) -> Box<dyn Iterator<Item = TargetRowRef<'_>> + '_> {
        Box::new(self.0.iter().map(DrawnTargetRow::lend))
    }

    fn teams(&self) -> Box<dyn Iterator<Item = TeamRowRef<'_>> + '_> {
        Box::new(self.1.iter().map(TeamRow::lend))
    }
}

/// The rows hash a draw's audit entry records is made as its rows go in; it is the hash of
/// the rows as they are then read back (what `audit verify` compares): a manifest kept in
/// pieces, a redraw, a provisional draw, substitutes, unstaffed targets, exclusions, and a
/// team's member rows apart (checked, and their places found, by id).
#[test]
fn the_rows_hash_made_as_rows_go_in_is_the_hash_of_the_rows_read_back() -> TestResult {
    let (dir, mut store, mut d) = setup()?;
    d.record.manifest_json = long_manifest();
    let first = store.record_draw(&d, Redraw::No)?;
    let file = dir.path().join("manifest.json");
    std::fs::write(&file, &d.record.manifest_json)?;
    let mut again = d.clone();
    again.record.manifest_json = String::new();
    again.manifest_file = Some(file);
    again.record.provisional = true;
    // A team's rows apart: T1's, T3's, then T1's again.
    again.teams.swap(1, 2);
    let second = store.record_draw(
        &again,
        Redraw::Yes {
            reason: "名录库漏登 12 户".into(),
            replaces: None,
        },
    )?;
    let entries = store.audit_entries(0, 10)?;
    let draws: Vec<_> = entries
        .iter()
        .filter(|e| e.action.starts_with("draw."))
        .collect();
    assert_eq!(draws.len(), 2);
    for e in &draws {
        let recorded = e.v2.as_ref().and_then(|v| v.rows_hash.clone());
        assert!(recorded.is_some(), "{}", e.subject);
        assert_eq!(store.rows_hash_now(e)?, recorded, "{}", e.subject);
    }
    assert!(store.verify_audit()?.is_intact());
    let mut teams = store.draw_teams(second)?;
    teams.sort_by(|a, b| (&a.target_id, a.position).cmp(&(&b.target_id, b.position)));
    let mut want = d.teams.clone();
    want.sort_by(|a, b| (&a.target_id, a.position).cmp(&(&b.target_id, b.position)));
    assert_eq!(teams, want);
    let places: Vec<(String, i64)> = raw(dir.path())?
        .prepare(
            "SELECT target_id, target_seq FROM draw_team_members WHERE draw_id = ?1 ORDER BY seq",
        )?
        .query_map([second], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    assert_eq!(
        places,
        [("T1".to_string(), 0), ("T3".into(), 2), ("T1".into(), 0)]
    );
    assert_ne!(first, second);
    Ok(())
}

#[test]
fn a_manifest_stored_from_its_file_with_lent_rows_is_the_same_record() -> TestResult {
    let (dir_a, mut a, mut whole) = setup()?;
    let (dir_b, mut b, _) = setup()?;
    whole.record.manifest_json = long_manifest();
    let file = dir_b.path().join("manifest.json");
    std::fs::write(&file, &whole.record.manifest_json)?;
    let mut from_file = whole.clone();
    from_file.record.manifest_json = String::new();
    from_file.manifest_file = Some(file);
    // The rows made as the store reads them, as a draw lends its manifest's.
    let rows = Lent(
        std::mem::take(&mut from_file.targets),
        std::mem::take(&mut from_file.teams),
    );
    from_file.lent = Some(LentRows(Arc::new(rows)));
    let (ia, ib) = (
        a.record_draw(&whole, Redraw::No)?,
        b.record_draw(&from_file, Redraw::No)?,
    );
    assert_eq!(
        b.manifest_json(ib)?.as_deref(),
        Some(whole.record.manifest_json.as_str())
    );
    // The same row, so the same audit entry (its rows' hash read back in pieces).
    let (ea, eb) = (a.audit_entries(0, 10)?, b.audit_entries(0, 10)?);
    assert_eq!(ea.last().map(|e| &e.hash), eb.last().map(|e| &e.hash));
    assert_eq!(ia, ib);
    assert_eq!(a.draw_targets(ia)?, b.draw_targets(ib)?);
    assert_eq!(a.draw_teams(ia)?, b.draw_teams(ib)?);
    assert!(b.verify_audit()?.is_intact());
    // Kept in pieces, each a whole number of characters, read back as the text.
    let pieces = counts(dir_b.path())?[6];
    assert!(pieces >= 3, "{pieces} pieces");
    assert_eq!(counts(dir_a.path())?[6], 0);
    let mut read = String::new();
    assert!(b.read_manifest(ib, &mut |r, _| {
        r.read_to_string(&mut read).unwrap_or_default();
    })?);
    assert_eq!(read, whole.record.manifest_json);
    let listed = b.list_draws(&DrawFilter::default())?;
    assert_eq!(listed[0].record.manifest_json, whole.record.manifest_json);
    // A piece changed behind suiji's back breaks the chain.
    let raw_b = raw(dir_b.path())?;
    raw_b.execute_batch(
        "DROP TRIGGER draw_manifest_pieces_no_update;
         UPDATE draw_manifest_pieces SET text = replace(text, '检', '捡') WHERE piece = 1;",
    )?;
    assert!(!b.verify_audit()?.is_intact());
    // One missing reads as a corrupt record, not a shorter manifest.
    raw_b.execute_batch(
        "DROP TRIGGER draw_manifest_pieces_no_delete;
         DELETE FROM draw_manifest_pieces WHERE piece = 2;",
    )?;
    assert!(b.manifest_json(ib).is_err());
    // A file that is not JSON is refused, nothing recorded.
    let bad = dir_a.path().join("bad.json");
    std::fs::write(&bad, "{\"version\": 2,")?;
    let mut refused = from_file.clone();
    refused.record.period = "2025-Q2".into();
    refused.manifest_file = Some(bad.clone());
    let before = counts(dir_a.path())?;
    assert!(matches!(
        a.record_draw(&refused, Redraw::No),
        Err(StoreError::Invalid { .. })
    ));
    assert_eq!(counts(dir_a.path())?, before);
    // So is a file that is not UTF-8 (here inside a string of otherwise good JSON).
    let mut not_utf8 = b"{\"version\": 2, \"name\": \"".to_vec();
    not_utf8.extend_from_slice(&[0xe6, 0xa3]);
    not_utf8.extend_from_slice(b"\"}");
    std::fs::write(&bad, not_utf8)?;
    assert!(matches!(
        a.record_draw(&refused, Redraw::No),
        Err(StoreError::Invalid { .. })
    ));
    assert_eq!(counts(dir_a.path())?, before);
    // A file given with its writer's SHA-256 is checked against it, not parsed: changed
    // since it was written, even into other good JSON, it is refused.
    let good = r#"{"version": 2}"#;
    std::fs::write(&bad, r#"{"version": 3}"#)?;
    refused.manifest_file_sha256 = Some(suiji::digest::sha256_hex(good.as_bytes()));
    let err = a
        .record_draw(&refused, Redraw::No)
        .expect_err("changed since written");
    assert!(err.to_string().contains("changed since"), "{err}");
    assert_eq!(counts(dir_a.path())?, before);
    // And the store records the same draw once its file is good.
    std::fs::write(&bad, good)?;
    let id = a.record_draw(&refused, Redraw::No)?;
    assert!(a.verify_audit()?.is_intact());
    assert_eq!(a.manifest_json(id)?.as_deref(), Some(good));
    Ok(())
}

#[test]
fn second_draw_for_same_matter_and_period_is_refused() -> TestResult {
    let (dir, mut store, d) = setup()?;
    let id = store.record_draw(&d, Redraw::No)?;
    let before = counts(dir.path())?;
    match store.record_draw(&d, Redraw::No) {
        Err(StoreError::AlreadyDrawn {
            draw_id,
            created_at,
        }) => {
            assert_eq!(draw_id, id);
            assert_eq!(created_at, d.record.created_at);
        }
        other => panic!("expected AlreadyDrawn, got {other:?}"),
    }
    assert_eq!(counts(dir.path())?, before, "a refused draw leaves nothing");
    // Another period of the same matter is a different draw.
    let mut next = d.clone();
    next.record.period = "2025-Q2".into();
    store.record_draw(&next, Redraw::No)?;
    Ok(())
}

#[test]
fn redraw_supersedes_the_old_draw_and_says_why() -> TestResult {
    let (_dir, mut store, d) = setup()?;
    let old = store.record_draw(&d, Redraw::No)?;
    let mut again = d.clone();
    again.record.seed_hex = "abcdef".into();
    again.record.created_at = "2025-01-04T10:00:00+08:00".into();
    again.record.actor = "operator Chen".into();
    let reason = "registry snapshot missed 12 new hotels";
    let new = store.record_draw(
        &again,
        Redraw::Yes {
            reason: reason.into(),
            replaces: None,
        },
    )?;
    assert_ne!(new, old);

    let old_row = store.draw(old)?.ok_or("old draw missing")?;
    assert_eq!(old_row.status, DrawStatus::Superseded);
    assert_eq!(old_row.superseded_by, Some(new));
    assert_eq!(
        old_row.record.seed_hex, d.record.seed_hex,
        "the old draw is kept as it was"
    );
    assert_eq!(store.draw_targets(old)?, d.targets);

    let new_row = store
        .active_draw(&d.record.matter, &d.record.period)?
        .ok_or("no active draw")?;
    assert_eq!(new_row.id, new);
    assert_eq!(new_row.redraw_of, Some(old));
    assert_eq!(new_row.redraw_reason.as_deref(), Some(reason));

    let entries = store.audit_entries(0, 10)?;
    let last = entries.last().ok_or("no audit entries")?;
    assert_eq!(last.action, "draw.redraw");
    assert_eq!(last.actor, "operator Chen");
    let detail = last.detail_json()?;
    assert_eq!(detail["supersedes"], json!(old));
    assert_eq!(detail["reason"], json!(reason));
    assert!(store.verify_audit()?.is_intact());

    // Listing: active only by default, both on request.
    let all = DrawFilter {
        include_superseded: true,
        ..DrawFilter::default()
    };
    assert_eq!(store.list_draws(&DrawFilter::default())?.len(), 1);
    assert_eq!(store.list_draws(&all)?.len(), 2);

    // The heads (lists without manifests) say the same of each draw, in the same order.
    for filter in [DrawFilter::default(), all] {
        let heads: Vec<DrawHead> = store
            .list_draws(&filter)?
            .into_iter()
            .map(|r| DrawHead {
                id: r.id,
                status: r.status,
                matter: r.record.matter,
                period: r.record.period,
                kind: r.record.kind,
                seed_source: r.record.seed_source,
                issue_date: r.record.issue_date,
                created_at: r.record.created_at,
                actor: r.record.actor,
                manifest_hash: r.record.manifest_hash,
                provisional: r.record.provisional,
                superseded_by: r.superseded_by,
            })
            .collect();
        assert_eq!(store.list_draw_heads(&filter)?, heads);
    }
    let manifest = store.manifest_json(old)?.ok_or("no manifest")?;
    assert_eq!(manifest, d.record.manifest_json);
    assert_eq!(store.manifest_json(old + new + 1)?, None);
    Ok(())
}

#[test]
fn redraw_needs_an_active_draw_and_a_reason() -> TestResult {
    let (dir, mut store, d) = setup()?;
    let err = store.record_draw(
        &d,
        Redraw::Yes {
            reason: "x".into(),
            replaces: None,
        },
    );
    assert!(
        matches!(err, Err(StoreError::NothingToRedraw { .. })),
        "{err:?}"
    );
    store.record_draw(&d, Redraw::No)?;
    let err = store.record_draw(
        &d,
        Redraw::Yes {
            reason: "  ".into(),
            replaces: None,
        },
    );
    assert!(matches!(err, Err(StoreError::Invalid { .. })), "{err:?}");
    assert_eq!(counts(dir.path())?[0], 1);
    Ok(())
}

#[test]
fn racing_writers_on_separate_connections_draw_exactly_once() -> TestResult {
    let (dir, store, d) = setup()?;
    drop(store);
    for round in 0..5 {
        let mut d = d.clone();
        d.record.period = format!("2025-{:02}", round + 1);
        let n = 4;
        let barrier = Arc::new(Barrier::new(n));
        let handles: Vec<_> = (0..n)
            .map(|_| {
                let (dir, d, barrier) = (dir.path().to_path_buf(), d.clone(), barrier.clone());
                std::thread::spawn(move || -> Result<i64, StoreError> {
                    let mut store = Store::open(&dir)?;
                    barrier.wait();
                    store.record_draw(&d, Redraw::No)
                })
            })
            .collect();
        let mut won = Vec::new();
        let mut refused = 0;
        for h in handles {
            match h.join().map_err(|_| "writer thread panicked")? {
                Ok(id) => won.push(id),
                Err(StoreError::AlreadyDrawn { .. }) => refused += 1,
                Err(e) => return Err(e.into()),
            }
        }
        assert_eq!(won.len(), 1, "round {round}: exactly one writer wins");
        assert_eq!(refused, n - 1);
        let winner = won.first().copied().ok_or("no winner")?;
        // Every refusal points at the winner.
        let store = Store::open(dir.path())?;
        assert_eq!(
            store
                .active_draw(&d.record.matter, &d.record.period)?
                .map(|r| r.id),
            Some(winner)
        );
    }
    let store = Store::open(dir.path())?;
    assert_eq!(
        store.verify_audit()?,
        AuditReport::Intact {
            entries: 5,
            head: store
                .audit_entries(4, 1)?
                .first()
                .ok_or("no head")?
                .hash
                .clone(),
        }
    );
    Ok(())
}

#[test]
fn the_unique_index_holds_even_against_raw_inserts() -> TestResult {
    let (dir, mut store, d) = setup()?;
    store.record_draw(&d, Redraw::No)?;
    let c = raw(dir.path())?;
    let err = c.execute(
        "INSERT INTO draws (matter, period, kind, algorithm, seed_hex, seed_source, rules_hash,
            targets_snapshot, inspectors_snapshot, reference_date, issue_date, due_date,
            created_at, actor, manifest_json, manifest_hash)
         SELECT matter, period, kind, algorithm, seed_hex, seed_source, rules_hash,
            targets_snapshot, inspectors_snapshot, reference_date, issue_date, due_date,
            created_at, actor, manifest_json, manifest_hash FROM draws",
        [],
    );
    let msg = format!("{:?}", err.err().ok_or("second active draw was accepted")?);
    assert!(msg.contains("UNIQUE"), "{msg}");
    Ok(())
}

fn refused(c: &Connection, sql: &str) -> String {
    match c.execute_batch(sql) {
        Ok(()) => panic!("accepted: {sql}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn triggers_refuse_changes_to_permanent_records() -> TestResult {
    let (dir, mut store, d) = setup()?;
    let id = store.record_draw(&d, Redraw::No)?;
    store.append_audit(
        "2025-01-05T00:00:00+08:00",
        "tester",
        "note",
        "x",
        &json!({"a": 1}),
    )?;
    let c = raw(dir.path())?;

    for sql in [
        "UPDATE audit_log SET detail = '{}' WHERE seq = 1",
        "UPDATE audit_log SET actor = 'someone else'",
        "DELETE FROM audit_log WHERE seq = 2",
        "DELETE FROM audit_log",
    ] {
        assert!(refused(&c, sql).contains("append-only"), "{sql}");
    }
    for sql in [
        "UPDATE draws SET seed_hex = '01'",
        "UPDATE draws SET manifest_json = '{}'",
        "UPDATE draws SET status = 'superseded', actor = 'x'",
        "DELETE FROM draws",
        "UPDATE draw_targets SET selected = 1 - selected",
        "DELETE FROM draw_targets",
        "UPDATE draw_team_members SET inspector_id = 'I9'",
        "DELETE FROM draw_team_members",
        "UPDATE draw_unstaffed SET reason = ''",
        "DELETE FROM draw_unstaffed",
        "UPDATE draw_exclusions SET detail = ''",
        "DELETE FROM draw_exclusions",
        "UPDATE snapshots SET row_count = 0",
        "DELETE FROM snapshots",
    ] {
        assert!(refused(&c, sql).contains("permanent"), "{sql}");
    }
    // Superseded rows cannot gain children, and nothing comes back to life.
    c.execute_batch("UPDATE draws SET status = 'superseded'")?;
    assert!(refused(&c, "UPDATE draws SET status = 'active'").contains("permanent"));
    let msg = refused(
        &c,
        &format!("INSERT INTO draw_exclusions VALUES ({id}, 99, 'target', 'T9', 'late', '')"),
    );
    assert!(msg.contains("active draw"), "{msg}");
    assert_eq!(counts(dir.path())?, [1, 3, 3, 1, 1, 2, 0]);
    // An audit row that does not extend the chain is refused too.
    let msg = refused(
        &c,
        &format!(
            "INSERT INTO audit_log VALUES (7, 'now', 'x', 'y', 'z', '{{}}', '{GENESIS_HASH}', '{}')",
            "a".repeat(64)
        ),
    );
    assert!(msg.contains("extend the chain"), "{msg}");
    Ok(())
}

#[test]
fn audit_hash_follows_the_documented_encoding() {
    let mut h = Sha256::new();
    h.update(b"suiji-audit-v1\n");
    h.update(1u64.to_be_bytes());
    for f in [
        "2025-01-01T00:00:00+08:00",
        "alice",
        "act",
        "subj",
        "{\"k\":\"值\"}",
        GENESIS_HASH,
    ] {
        h.update((f.len() as u64).to_be_bytes());
        h.update(f.as_bytes());
    }
    let expected = hex::encode(h.finalize());
    let got = audit_hash(
        1,
        "2025-01-01T00:00:00+08:00",
        "alice",
        "act",
        "subj",
        "{\"k\":\"值\"}",
        GENESIS_HASH,
    );
    assert_eq!(got, expected);
}

#[test]
fn audit_chain_links_entries() -> TestResult {
    let (_dir, mut store, _d) = setup()?;
    assert_eq!(
        store.verify_audit()?,
        AuditReport::Intact {
            entries: 0,
            head: GENESIS_HASH.into(),
        }
    );
    for i in 1..=3 {
        let seq = store.append_audit(
            "2025-01-01T00:00:00Z",
            "alice",
            "note",
            "s",
            &json!({ "i": i }),
        )?;
        assert_eq!(seq, i);
    }
    let e = store.audit_entries(0, 100)?;
    assert_eq!(e.len(), 3);
    assert_eq!(e[0].prev_hash, GENESIS_HASH);
    assert_eq!(e[1].prev_hash, e[0].hash);
    assert_eq!(e[2].prev_hash, e[1].hash);
    assert_eq!(store.audit_entries(1, 1)?, vec![e[1].clone()]);
    assert!(
        store
            .append_audit("", "alice", "note", "s", &json!(null))
            .is_err()
    );
    Ok(())
}

#[test]
fn concurrent_audit_appends_keep_the_chain_intact() -> TestResult {
    let (dir, store, _d) = setup()?;
    drop(store);
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let dir = dir.path().to_path_buf();
            std::thread::spawn(move || -> Result<(), StoreError> {
                let mut store = Store::open(&dir)?;
                for i in 0..25 {
                    store.append_audit(
                        "2025-01-01T00:00:00Z",
                        &format!("writer{t}"),
                        "note",
                        "s",
                        &json!(i),
                    )?;
                }
                Ok(())
            })
        })
        .collect();
    for h in handles {
        h.join().map_err(|_| "appender panicked")??;
    }
    let store = Store::open(dir.path())?;
    match store.verify_audit()? {
        AuditReport::Intact { entries, .. } => assert_eq!(entries, 100),
        broken => panic!("{broken:?}"),
    }
    Ok(())
}

#[test]
fn verify_audit_names_an_entry_edited_in_the_file() -> TestResult {
    let (dir, mut store, d) = setup()?;
    store.record_draw(&d, Redraw::No)?;
    for i in 0..3 {
        store.append_audit(
            "2025-01-05T00:00:00+08:00",
            "tester",
            "note",
            "x",
            &json!({"i": i}),
        )?;
    }
    assert!(store.verify_audit()?.is_intact());

    let c = raw(dir.path())?;
    c.execute_batch(
        "DROP TRIGGER audit_log_no_update;
         UPDATE audit_log SET detail = '{\"i\":99}' WHERE seq = 3;",
    )?;
    match store.verify_audit()? {
        AuditReport::Broken(b) => {
            assert_eq!(b.seq, 3);
            assert_eq!(b.intact_before, 2);
            assert!(
                matches!(b.problem, AuditProblem::HashMismatch { .. }),
                "{b:?}"
            );
            assert!(b.to_string().contains("audit entry 3"), "{b}");
        }
        intact => panic!("edit not detected: {intact:?}"),
    }
    Ok(())
}

#[test]
fn verify_audit_finds_a_forged_hash_and_a_removed_entry() -> TestResult {
    let (dir, mut store, _d) = setup()?;
    for i in 0..4 {
        store.append_audit(
            "2025-01-05T00:00:00+08:00",
            "tester",
            "note",
            "x",
            &json!(i),
        )?;
    }
    let c = raw(dir.path())?;
    // Rewriting entry 2 with a correct hash of its new content breaks the link to entry 3.
    let e2 = store.audit_entries(1, 1)?.remove(0);
    let forged = suiji::store::AuditEntry {
        actor: "mallory".into(),
        ..e2.clone()
    }
    .computed_hash();
    c.execute_batch("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;")?;
    c.execute(
        "UPDATE audit_log SET actor = 'mallory', hash = ?1 WHERE seq = 2",
        [&forged],
    )?;
    match store.verify_audit()? {
        AuditReport::Broken(b) => {
            assert_eq!(b.seq, 3);
            assert!(
                matches!(b.problem, AuditProblem::PrevMismatch { .. }),
                "{b:?}"
            );
        }
        intact => panic!("forgery not detected: {intact:?}"),
    }
    c.execute(
        "UPDATE audit_log SET actor = 'tester', hash = ?1 WHERE seq = 2",
        [&e2.hash],
    )?;
    assert!(store.verify_audit()?.is_intact());
    c.execute("DELETE FROM audit_log WHERE seq = 2", [])?;
    match store.verify_audit()? {
        AuditReport::Broken(b) => {
            assert_eq!(b.seq, 3);
            assert_eq!(b.problem, AuditProblem::Gap { expected_seq: 2 });
        }
        intact => panic!("removal not detected: {intact:?}"),
    }
    Ok(())
}

#[test]
fn snapshots_round_trip_and_are_stored_once() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut store = Store::open(dir.path())?;
    let bytes: Vec<u8> = (0..20_000u32)
        .flat_map(|i| format!("T{i},名称{i}\n").into_bytes())
        .collect();
    let hash = store.put_snapshot(SnapshotKind::Targets, 20_000, &bytes)?;
    assert_eq!(hash, hex::encode(Sha256::digest(&bytes)));
    assert_eq!(store.get_snapshot(&hash)?, bytes);
    let again = store.put_snapshot(SnapshotKind::Targets, 20_000, &bytes)?;
    assert_eq!(again, hash);

    let info = store.snapshot_info(&hash)?.ok_or("no info")?;
    assert_eq!(info.kind, SnapshotKind::Targets);
    assert_eq!(info.row_count, 20_000);
    assert_eq!(info.size, bytes.len() as u64);
    assert!(info.compressed_size < info.size / 2, "{info:?}");

    let c = raw(dir.path())?;
    let n: i64 = c.query_row("SELECT count(*) FROM snapshots", [], |r| r.get(0))?;
    assert_eq!(n, 1);

    let err = store.put_snapshot(SnapshotKind::Inspectors, 1, &bytes);
    assert!(
        matches!(err, Err(StoreError::SnapshotKindConflict { .. })),
        "{err:?}"
    );
    let err = store.get_snapshot(&"0".repeat(64));
    assert!(
        matches!(err, Err(StoreError::NoSuchSnapshot { .. })),
        "{err:?}"
    );
    let empty = store.put_snapshot(SnapshotKind::Inspectors, 0, b"")?;
    assert_eq!(store.get_snapshot(&empty)?, b"");
    Ok(())
}

#[test]
fn a_damaged_snapshot_is_reported_not_returned() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut store = Store::open(dir.path())?;
    let hash = store.put_snapshot(SnapshotKind::Targets, 3, TARGETS_CSV)?;
    let other = store.put_snapshot(SnapshotKind::Targets, 1, b"id,name\nX,Y\n")?;
    let c = raw(dir.path())?;
    c.execute_batch("DROP TRIGGER snapshots_no_update;")?;
    // Same length, different content: decompresses fine, fails the hash.
    c.execute(
        "UPDATE snapshots SET data = (SELECT data FROM snapshots WHERE hash = ?2), size = 12
         WHERE hash = ?1",
        [&hash, &other],
    )?;
    match store.get_snapshot(&hash) {
        Err(e @ StoreError::SnapshotDamaged { .. }) => {
            assert!(e.to_string().contains(&hash), "{e}");
        }
        other => panic!("expected SnapshotDamaged, got {other:?}"),
    }
    c.execute(
        "UPDATE snapshots SET data = x'1f8b0800' WHERE hash = ?1",
        [&other],
    )?;
    assert!(matches!(
        store.get_snapshot(&other),
        Err(StoreError::SnapshotDamaged { .. })
    ));
    Ok(())
}

#[test]
fn a_draw_needs_its_snapshots_archived_first() -> TestResult {
    let (dir, mut store, mut d) = setup()?;
    d.record.targets_snapshot = "1".repeat(64);
    let err = store.record_draw(&d, Redraw::No);
    assert!(
        matches!(err, Err(StoreError::NoSuchSnapshot { .. })),
        "{err:?}"
    );
    let (_, mut store2, mut d2) = setup()?;
    std::mem::swap(
        &mut d2.record.targets_snapshot,
        &mut d2.record.inspectors_snapshot,
    );
    let err = store2.record_draw(&d2, Redraw::No);
    assert!(matches!(err, Err(StoreError::Invalid { .. })), "{err:?}");
    assert_eq!(counts(dir.path())?, [0; 7]);
    Ok(())
}

/// A change that makes a draw inconsistent.

#[test]
fn inconsistent_draws_are_refused_with_a_reason() -> TestResult {
    let (dir, mut store, d) = setup()?;
    type Change = fn(&mut NewDraw);
    let cases: Vec<(&str, Change)> = vec![
        ("team for unknown target", |d| {
            d.teams[0].target_id = "T9".into()
        }),
        ("duplicate target", |d| d.targets[1].target_id = "T1".into()),
        ("duplicate rank", |d| d.targets[1].rank = 1),
        ("inspector twice", |d| d.teams[1].inspector_id = "I1".into()),
        ("seat twice", |d| d.teams[1].position = 0),
        ("seat twice, its team's rows apart", |d| {
            let mut again = d.teams[0].clone();
            again.inspector_id = "I4".into();
            d.teams.push(again)
        }),
        ("inspector twice, its team's rows apart", |d| {
            let mut again = d.teams[0].clone();
            again.position = 2;
            d.teams.push(again)
        }),
        ("unstaffed unknown", |d| {
            d.unstaffed[0].target_id = "T9".into()
        }),
        ("bad date", |d| d.record.due_date = "2025-02-30".into()),
        ("date format", |d| d.record.issue_date = "2025/01/03".into()),
        ("seed not hex", |d| d.record.seed_hex = "XYZ".into()),
        ("manifest not json", |d| d.record.manifest_json = "{".into()),
        ("empty matter", |d| d.record.matter = String::new()),
        ("empty actor", |d| d.record.actor = " ".into()),
    ];
    for (what, change) in cases {
        let mut bad = d.clone();
        change(&mut bad);
        let err = store.record_draw(&bad, Redraw::No);
        assert!(
            matches!(err, Err(StoreError::Invalid { .. })),
            "{what}: {err:?}"
        );
    }
    assert_eq!(counts(dir.path())?, [0; 7]);
    Ok(())
}

#[test]
fn a_draw_interrupted_midway_leaves_nothing() -> TestResult {
    let (dir, mut store, d) = setup()?;
    for stop_at in [
        "draw",
        "targets",
        "teams",
        "unstaffed",
        "exclusions",
        "audit",
    ] {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            store.record_draw_probed(&d, Redraw::No, &mut |step| {
                if step == stop_at {
                    panic!("simulated crash after {step}");
                }
                Ok(())
            })
        }));
        assert!(outcome.is_err(), "probe at {stop_at} did not fire");
        assert_eq!(
            counts(dir.path())?,
            [0; 7],
            "partial draw left after {stop_at}"
        );
        assert_eq!(store.active_draw(&d.record.matter, &d.record.period)?, None);
    }
    // A probe that says no stops the recording at any step: its error returned, nothing
    // recorded.
    for stop_at in ["draw", "targets", "exclusions", "audit"] {
        let err = store.record_draw_probed(&d, Redraw::No, &mut |step| match step == stop_at {
            true => Err(StoreError::Stopped(format!("no at {step}"))),
            false => Ok(()),
        });
        assert!(
            matches!(&err, Err(StoreError::Stopped(s)) if *s == format!("no at {stop_at}")),
            "{stop_at}: {err:?}"
        );
        assert_eq!(counts(dir.path())?, [0; 7], "{stop_at}");
    }
    // The same store goes on working.
    store.record_draw(&d, Redraw::No)?;
    assert!(store.verify_audit()?.is_intact());
    Ok(())
}

const CRASH_DIR_ENV: &str = "SUIJI_STORE_CRASH_DIR";
const CRASH_MARK: &str = "SUIJI-STORE-MIDWAY";

/// Runs only as the child of `a_process_killed_midway_leaves_nothing`.
#[test]
#[ignore = "child process of a_process_killed_midway_leaves_nothing"]
fn crash_child() -> TestResult {
    let Some(dir) = std::env::var_os(CRASH_DIR_ENV) else {
        return Ok(());
    };
    let mut store = Store::open(Path::new(&dir))?;
    let t = store.put_snapshot(SnapshotKind::Targets, 3, TARGETS_CSV)?;
    let i = store.put_snapshot(SnapshotKind::Inspectors, 3, INSPECTORS_CSV)?;
    let d = sample_draw("hotel-security", "2025-Q1", &t, &i);
    store.record_draw_probed(&d, Redraw::No, &mut |step| {
        if step == "teams" {
            let mut out = std::io::stdout();
            let _ = writeln!(out, "{CRASH_MARK}");
            let _ = out.flush();
            // Parked here, inside the transaction, until the parent kills the process.
            let _ = std::io::stdin().read_line(&mut String::new());
        }
        Ok(())
    })?;
    Ok(())
}

#[test]
fn a_process_killed_midway_leaves_nothing() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut child = Command::new(std::env::current_exe()?)
        .args([
            "crash_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CRASH_DIR_ENV, dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no child stdout")?;
    let mut reached = false;
    for line in BufReader::new(stdout).lines() {
        if line?.contains(CRASH_MARK) {
            reached = true;
            break;
        }
    }
    child.kill()?;
    child.wait()?;
    assert!(reached, "child never reached the middle of its draw");

    let mut store = Store::open(dir.path())?;
    assert_eq!(counts(dir.path())?, [0; 7]);
    assert!(store.verify_audit()?.is_intact());
    // The snapshots were committed before the draw began; the draw can now be made.
    let t = store.put_snapshot(SnapshotKind::Targets, 3, TARGETS_CSV)?;
    let i = store.put_snapshot(SnapshotKind::Inspectors, 3, INSPECTORS_CSV)?;
    store.record_draw(
        &sample_draw("hotel-security", "2025-Q1", &t, &i),
        Redraw::No,
    )?;
    Ok(())
}

const RACE_DIR_ENV: &str = "SUIJI_STORE_RACE_DIR";
const RACE_READY: &str = "RACE-READY";

/// Runs only as a child of `racing_processes_draw_exactly_once`.
#[test]
#[ignore = "child process of racing_processes_draw_exactly_once"]
fn race_child() -> TestResult {
    let Some(dir) = std::env::var_os(RACE_DIR_ENV) else {
        return Ok(());
    };
    let dir = PathBuf::from(dir);
    let mut store = Store::open(&dir)?;
    let t = store.put_snapshot(SnapshotKind::Targets, 3, TARGETS_CSV)?;
    let i = store.put_snapshot(SnapshotKind::Inspectors, 3, INSPECTORS_CSV)?;
    let d = sample_draw("hotel-security", "2025-Q1", &t, &i);
    // Start together: say so, then wait for the parent's line.
    println!("{RACE_READY}");
    std::io::stdout().flush()?;
    std::io::stdin().read_line(&mut String::new())?;
    let outcome = match store.record_draw(&d, Redraw::No) {
        Ok(id) => format!("won {id}"),
        Err(StoreError::AlreadyDrawn { draw_id, .. }) => format!("already {draw_id}"),
        Err(e) => format!("error {e}"),
    };
    println!("RACE-RESULT {outcome}");
    Ok(())
}

#[test]
fn racing_processes_draw_exactly_once() -> TestResult {
    let dir = tempfile::tempdir()?;
    drop(Store::open(dir.path())?);
    let mut children = (0..3)
        .map(|_| {
            Command::new(std::env::current_exe()?)
                .args([
                    "race_child",
                    "--exact",
                    "--ignored",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(RACE_DIR_ENV, dir.path())
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
        })
        .collect::<Result<Vec<_>, _>>()?;
    // Every child ready (store open, snapshots archived), then all let go at once.
    let mut readers = Vec::new();
    for child in &mut children {
        let mut lines = BufReader::new(child.stdout.take().ok_or("no child stdout")?).lines();
        loop {
            let line = lines.next().ok_or("child ended before it was ready")??;
            if line.contains(RACE_READY) {
                break;
            }
        }
        readers.push(lines);
    }
    for child in &mut children {
        writeln!(child.stdin.as_mut().ok_or("no child stdin")?, "go")?;
    }
    let mut outcomes = Vec::new();
    for (mut child, lines) in children.into_iter().zip(readers) {
        let text = lines.collect::<Result<Vec<_>, _>>()?.join("\n");
        child.wait()?;
        let line = text
            .lines()
            .find_map(|l| l.split_once("RACE-RESULT ").map(|(_, r)| r))
            .ok_or_else(|| format!("child reported nothing: {text}"))?;
        outcomes.push(line.to_string());
    }
    let store = Store::open(dir.path())?;
    let id = store
        .active_draw("hotel-security", "2025-Q1")?
        .ok_or("no draw")?
        .id;
    outcomes.sort();
    assert_eq!(
        outcomes,
        [
            format!("already {id}"),
            format!("already {id}"),
            format!("won {id}")
        ]
    );
    assert_eq!(counts(dir.path())?[0], 1);
    Ok(())
}

fn expect_corrupt(dir: &Path, what: &str) {
    match Store::open(dir) {
        Err(e @ StoreError::Corrupt { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains(&dir.join(DB_FILE).display().to_string()),
                "{what}: {msg}"
            );
            assert!(msg.contains("backup"), "{what}: {msg}");
        }
        other => panic!("{what}: expected Corrupt, got {other:?}"),
    }
}

#[test]
fn a_garbage_file_is_refused_with_a_clear_error() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join(DB_FILE);
    std::fs::write(&path, b"this is not a database, it is a shopping list\n")?;
    expect_corrupt(dir.path(), "short text");
    let noise: Vec<u8> = (0..16_384u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&path, &noise)?;
    expect_corrupt(dir.path(), "binary noise");
    assert_eq!(
        std::fs::read(&path)?,
        noise,
        "a refused file is left untouched"
    );
    Ok(())
}

#[test]
fn a_damaged_page_is_reported_with_the_file_name() -> TestResult {
    let (dir, mut store, d) = setup()?;
    store.record_draw(&d, Redraw::No)?;
    drop(store); // the last connection checkpoints the WAL into the main file
    let path = dir.path().join(DB_FILE);
    let mut bytes = std::fs::read(&path)?;
    let page = 4096;
    if bytes.len() < 3 * page {
        return Err("database smaller than expected".into());
    }
    for b in &mut bytes[page..] {
        *b = 0xA5;
    }
    std::fs::write(&path, &bytes)?;
    match Store::open(dir.path()) {
        Err(StoreError::Corrupt { path: p, .. }) => assert_eq!(p, path),
        Err(other) => panic!("expected Corrupt, got {other:?}"),
        Ok(store) => {
            // The header survived; the damage shows on first use.
            let err = store.list_draws(&DrawFilter::default());
            match err {
                Err(StoreError::Corrupt { path: p, .. }) => assert_eq!(p, path),
                other => panic!("expected Corrupt, got {other:?}"),
            }
        }
    }
    Ok(())
}

#[test]
fn a_database_from_a_newer_suiji_is_refused_untouched() -> TestResult {
    let dir = tempfile::tempdir()?;
    drop(Store::open(dir.path())?);
    let future = SCHEMA_VERSION + 41;
    raw(dir.path())?.execute_batch(&format!("PRAGMA user_version = {future}"))?;
    match Store::open(dir.path()) {
        Err(e @ StoreError::NewerSchema { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains(&future.to_string()) && msg.contains("Upgrade suiji"),
                "{msg}"
            );
            assert!(msg.contains(DB_FILE), "{msg}");
        }
        other => panic!("expected NewerSchema, got {other:?}"),
    }
    let v: i64 = raw(dir.path())?.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    assert_eq!(v, future);
    Ok(())
}

/// A file of schema version 8 (before `draws_heads`): read as it is by a read-only connection
/// (the same draws, nothing written), brought to the current version by the next writer.
#[test]
fn a_version_8_file_is_read_as_it_is_and_upgraded_by_the_next_writer() -> TestResult {
    let (dir, mut store, draw) = setup()?;
    store.record_draw(&draw, Redraw::No)?;
    let heads = store.list_draw_heads(&DrawFilter::default())?;
    drop(store);
    raw(dir.path())?.execute_batch(&format!(
        "DROP INDEX draws_heads; DROP TABLE draw_manifest_pieces; {MEMBERS_BEFORE_13}
         PRAGMA user_version = 8;"
    ))?;
    let read = Store::open_read_only(dir.path())?;
    assert_eq!(read.list_draw_heads(&DrawFilter::default())?, heads);
    assert_eq!(
        read.manifest_json(heads[0].id)?.as_deref(),
        Some(draw.record.manifest_json.as_str())
    );
    drop(read);
    let v: i64 = raw(dir.path())?.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    assert_eq!(v, 8, "a read-only connection migrates nothing");
    raw(dir.path())?.execute_batch("PRAGMA user_version = 7;")?;
    let refused = Store::open_read_only(dir.path());
    assert!(
        matches!(refused, Err(StoreError::OlderSchema { .. })),
        "{refused:?}"
    );
    raw(dir.path())?.execute_batch("PRAGMA user_version = 8;")?;
    drop(Store::open(dir.path())?);
    let c = raw(dir.path())?;
    let v: i64 = c.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    assert_eq!(v, SCHEMA_VERSION);
    let index: i64 = c.query_row(
        "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name = 'draws_heads'",
        [],
        |r| r.get(0),
    )?;
    assert_eq!(index, 1);
    // Version 13: each member row names its target's place, the same target as its id.
    let (members, placed): (i64, i64) = c.query_row(
        "SELECT count(*), count(t.seq) FROM draw_team_members m
         LEFT JOIN draw_targets t
           ON t.draw_id = m.draw_id AND t.seq = m.target_seq AND t.target_id = m.target_id",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    assert!(members > 0);
    assert_eq!(placed, members);
    // Version 14: the indexes no query reads are gone.
    let unread: i64 = c.query_row(
        "SELECT count(*) FROM sqlite_schema WHERE type = 'index'
         AND name IN ('draw_targets_by_target', 'draw_team_members_by_inspector')",
        [],
        |r| r.get(0),
    )?;
    assert_eq!(unread, 0);
    Ok(())
}

/// The team member table as it was before version 13 (no `target_seq`; unique and referenced
/// by the target's id), its rows kept.
const MEMBERS_BEFORE_13: &str = "
    CREATE TABLE members_12 (
        draw_id INTEGER NOT NULL, seq INTEGER NOT NULL CHECK (seq >= 0),
        target_id TEXT NOT NULL, position INTEGER NOT NULL CHECK (position >= 0),
        inspector_id TEXT NOT NULL CHECK (inspector_id <> ''), inspector_name TEXT NOT NULL,
        PRIMARY KEY (draw_id, seq), UNIQUE (draw_id, target_id, position),
        UNIQUE (draw_id, target_id, inspector_id),
        FOREIGN KEY (draw_id, target_id) REFERENCES draw_targets (draw_id, target_id)
    ) STRICT, WITHOUT ROWID;
    INSERT INTO members_12 SELECT draw_id, seq, target_id, position, inspector_id, inspector_name
        FROM draw_team_members;
    DROP TABLE draw_team_members;
    ALTER TABLE members_12 RENAME TO draw_team_members;
    CREATE INDEX draw_team_members_by_inspector ON draw_team_members (inspector_id, draw_id);
    DROP INDEX draw_targets_by_seq_id;";

#[test]
fn a_foreign_sqlite_file_is_refused() -> TestResult {
    let dir = tempfile::tempdir()?;
    raw(dir.path())?.execute_batch("CREATE TABLE customers (id INTEGER PRIMARY KEY);")?;
    let err = Store::open(dir.path());
    assert!(matches!(err, Err(StoreError::Foreign { .. })), "{err:?}");
    Ok(())
}

#[test]
fn many_processes_may_open_a_new_file_at_once() -> TestResult {
    let dir = tempfile::tempdir()?;
    let n = 6;
    let barrier = Arc::new(Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let (dir, barrier): (PathBuf, _) = (dir.path().to_path_buf(), barrier.clone());
            std::thread::spawn(move || -> Result<(), StoreError> {
                barrier.wait();
                let store = Store::open(&dir)?;
                store.list_draws(&DrawFilter::default()).map(drop)
            })
        })
        .collect();
    for h in handles {
        h.join().map_err(|_| "opener panicked")??;
    }
    let v: i64 = raw(dir.path())?.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    assert_eq!(v, SCHEMA_VERSION);
    Ok(())
}

#[test]
fn list_draws_filters_by_matter_and_period() -> TestResult {
    let (_dir, mut store, d) = setup()?;
    for (matter, period) in [
        ("hotel-security", "2024-H2"),
        ("hotel-security", "2025-Q1"),
        ("hotel-security", "2025-Q2"),
        ("blasting", "2025-Q1"),
    ] {
        let mut x = d.clone();
        x.record.matter = matter.into();
        x.record.period = period.into();
        store.record_draw(&x, Redraw::No)?;
    }
    let periods = |f: DrawFilter| -> Result<Vec<String>, StoreError> {
        Ok(store
            .list_draws(&f)?
            .into_iter()
            .map(|r| format!("{} {}", r.record.matter, r.record.period))
            .collect())
    };
    assert_eq!(
        periods(DrawFilter::year(2025))?,
        [
            "blasting 2025-Q1",
            "hotel-security 2025-Q1",
            "hotel-security 2025-Q2"
        ]
    );
    assert_eq!(
        periods(DrawFilter {
            matter: Some("hotel-security".into()),
            period_prefix: Some("2025-Q2".into()),
            include_superseded: false,
        })?,
        ["hotel-security 2025-Q2"]
    );
    assert_eq!(periods(DrawFilter::default())?.len(), 4);
    assert!(periods(DrawFilter::year(2023))?.is_empty());
    Ok(())
}

/// A publication of draw `draw_id` marking `result_ids`, published at `at`.
fn publication(draw_id: i64, result_ids: Vec<i64>, at: &str) -> suiji::store::NewPublication {
    suiji::store::NewPublication {
        draw_id,
        published_at: at.into(),
        actor: "publisher".into(),
        files: json!({"targets": ["T1"]}),
        result_ids,
    }
}

fn result(target: &str, item: Option<&str>) -> NewResult {
    NewResult {
        target_id: target.into(),
        checklist_item: item.map(str::to_string),
        category: "未发现问题".into(),
        remarks: "全部合格".into(),
        inspection_date: "2025-02-10".into(),
        inspectors_signed: vec!["I1".into(), "I2".into()],
        source_file: Some("results/2025-Q1.xlsx".into()),
        source_line: Some(2),
    }
}

#[test]
fn results_are_recorded_then_frozen_by_publication() -> TestResult {
    let (dir, mut store, d) = setup()?;
    let id = store.record_draw(&d, Redraw::No)?;
    let entered = "2025-02-11T09:00:00+08:00";
    let ids = store.record_results(
        id,
        &[
            result("T1", Some("1.1")),
            result("T1", Some("1.2")),
            result("T3", None),
        ],
        entered,
        "clerk",
    )?;
    assert_eq!(ids.len(), 3);

    let err = store.record_results(id, &[result("T1", Some("1.1"))], entered, "clerk");
    assert!(
        matches!(err, Err(StoreError::DuplicateResult { .. })),
        "{err:?}"
    );
    for passed_over in ["T9", "T2"] {
        let err = store.record_results(id, &[result(passed_over, None)], entered, "clerk");
        assert!(matches!(err, Err(StoreError::NotInDraw { .. })), "{err:?}");
    }
    let err = store.record_results(id + 1, &[result("T1", None)], entered, "clerk");
    assert!(matches!(err, Err(StoreError::NoSuchDraw { .. })), "{err:?}");

    let rows = store.results(id)?;
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].inspectors_signed, ["I1", "I2"]);
    assert_eq!(rows[0].checklist_item.as_deref(), Some("1.1"));
    assert_eq!(rows[2].checklist_item, None);
    assert_eq!(rows[0].source_line, Some(2));
    assert_eq!(rows[0].entered_by, "clerk");
    assert!(rows.iter().all(|r| r.published_at.is_none()));

    let files = json!([{"path": "notice-2025-Q1.html", "sha256": "ab"}]);
    let published = "2025-03-01T10:00:00+08:00";
    let pub_id = store.record_publication(id, published, &files, "publisher")?;
    let pubs = store.publications(id)?;
    assert_eq!(pubs.len(), 1);
    assert_eq!((pubs[0].id, pubs[0].results_count), (pub_id, 3));
    assert_eq!(pubs[0].files, files);
    assert!(
        store
            .results(id)?
            .iter()
            .all(|r| r.published_at.as_deref() == Some(published))
    );
    // What a ledger reads of each result: the rows' own columns, in the order entered.
    let mut facts = Vec::new();
    store.each_result_fact(id, &mut |f| {
        let texts = [f.target_id, f.category, f.inspection_date].map(str::to_string);
        let [item, published] = [f.checklist_item, f.published_at].map(|t| t.map(str::to_string));
        facts.push((f.id, texts, item, published))
    })?;
    let rows: Vec<_> = store
        .results(id)?
        .into_iter()
        .map(|r| {
            let texts = [r.target_id, r.category, r.inspection_date];
            (r.id, texts, r.checklist_item, r.published_at)
        })
        .collect();
    assert_eq!((facts.len(), &facts), (3, &rows));
    let mut none = 0;
    store.each_result_fact(id + 1, &mut |_| none += 1)?;
    assert_eq!(none, 0);

    let c = raw(dir.path())?;
    assert!(
        refused(&c, "UPDATE results SET category = '发现问题已责令改正'").contains("published")
    );
    assert!(refused(&c, "DELETE FROM results").contains("published"));
    assert!(refused(&c, "DELETE FROM publications").contains("permanent"));

    let actions: Vec<String> = store
        .audit_entries(0, 10)?
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        ["draw.record", "results.record", "publication.record"]
    );
    assert!(store.verify_audit()?.is_intact());
    Ok(())
}

#[test]
fn a_draws_results_are_its_own_in_the_order_entered_when_draws_take_turns() -> TestResult {
    let (_dir, mut store, a, b) = two_draws()?;
    let entered = "2025-02-11T09:00:00+08:00";
    // The two draws' results take turns in id order: each draw's range of ids holds the other's.
    let mut entries = Vec::new();
    for (draw, target, item) in [
        (a, "T3", "1.1"),
        (b, "T1", "1.1"),
        (a, "T1", "1.1"),
        (b, "T3", "1.2"),
        (a, "T1", "1.2"),
    ] {
        for id in store.record_results(draw, &[result(target, Some(item))], entered, "clerk")? {
            entries.push((draw, (id, target.to_string(), item.to_string())));
        }
    }
    for draw in [a, b, b + 1] {
        let want: Vec<_> = entries
            .iter()
            .filter(|(d, _)| *d == draw)
            .map(|(_, e)| e.clone())
            .collect();
        let mut facts = Vec::new();
        store.each_result_fact(draw, &mut |f| {
            let item = f.checklist_item.unwrap_or_default().to_string();
            facts.push((f.id, f.target_id.to_string(), item))
        })?;
        assert_eq!(facts, want, "draw #{draw}");
        let rows: Vec<_> = store
            .results(draw)?
            .into_iter()
            .map(|r| (r.id, r.target_id, r.checklist_item.unwrap_or_default()))
            .collect();
        assert_eq!(rows, want, "draw #{draw}");
    }
    Ok(())
}

#[test]
fn a_superseded_draw_takes_no_results() -> TestResult {
    let (_dir, mut store, d) = setup()?;
    let old = store.record_draw(&d, Redraw::No)?;
    store.record_draw(
        &d,
        Redraw::Yes {
            reason: "wrong rules".into(),
            replaces: None,
        },
    )?;
    let err = store.record_results(
        old,
        &[result("T1", None)],
        "2025-02-11T09:00:00+08:00",
        "clerk",
    );
    assert!(
        matches!(err, Err(StoreError::DrawSuperseded { draw_id }) if draw_id == old),
        "{err:?}"
    );
    let err = store.record_publication(old, "2025-03-01T10:00:00+08:00", &json!([]), "publisher");
    assert!(
        matches!(err, Err(StoreError::DrawSuperseded { .. })),
        "{err:?}"
    );
    Ok(())
}

#[test]
fn scheduler_events_are_logged_and_filtered() -> TestResult {
    let (_dir, mut store, d) = setup()?;
    let draw_id = store.record_draw(&d, Redraw::No)?;
    let ev = |matter: &str, period: &str, event, at: &str, draw_id| NewEvent {
        matter: matter.into(),
        period: period.into(),
        event,
        at: at.into(),
        draw_id,
        detail: String::new(),
    };
    store.record_event(&ev(
        "hotel-security",
        "2025-Q1",
        SchedulerEvent::Issued,
        "2025-01-03T09:00:00+08:00",
        Some(draw_id),
    ))?;
    store.record_event(&ev(
        "blasting",
        "2025-Q1",
        SchedulerEvent::Failed,
        "2025-01-03T09:00:01+08:00",
        None,
    ))?;
    store.record_event(&ev(
        "hotel-security",
        "2025-Q1",
        SchedulerEvent::Skipped,
        "2025-01-03T10:00:00+08:00",
        None,
    ))?;
    store.record_event(&ev(
        "hotel-security",
        "2025-Q2",
        SchedulerEvent::CaughtUp,
        "2025-04-02T09:00:00+08:00",
        None,
    ))?;

    let all = store.events(&EventFilter::default())?;
    assert_eq!(all.len(), 4);
    assert_eq!(all[0].event, SchedulerEvent::Issued);
    assert_eq!(all[0].draw_id, Some(draw_id));
    let q1 = store.events(&EventFilter {
        matter: Some("hotel-security".into()),
        period: Some("2025-Q1".into()),
        limit: None,
    })?;
    assert_eq!(
        q1.iter().map(|e| e.event).collect::<Vec<_>>(),
        [SchedulerEvent::Issued, SchedulerEvent::Skipped]
    );
    let last_two = store.events(&EventFilter {
        limit: Some(2),
        ..EventFilter::default()
    })?;
    assert_eq!(
        last_two.iter().map(|e| e.event).collect::<Vec<_>>(),
        [SchedulerEvent::Skipped, SchedulerEvent::CaughtUp]
    );
    Ok(())
}

#[test]
fn a_batch_of_results_for_several_draws_is_recorded_whole_or_not_at_all() -> TestResult {
    let (_dir, mut store, a, b) = two_draws()?;
    let entered = "2025-04-11T09:00:00+08:00";
    // The second draw's rows name a target it does not have: nothing of either is recorded.
    let err = store.record_results_batch(
        &[
            (
                a,
                vec![result("T1", Some("1.1")), result("T1", Some("1.2"))],
            ),
            (
                b,
                vec![result("T3", Some("1.1")), result("T9", Some("1.1"))],
            ),
        ],
        entered,
        "clerk",
    );
    assert!(matches!(err, Err(StoreError::NotInDraw { .. })), "{err:?}");
    assert!(store.results(a)?.is_empty() && store.results(b)?.is_empty());
    let before = store.audit_entries(0, 100)?.len();

    let ids = store.record_results_batch(
        &[
            (
                a,
                vec![result("T1", Some("1.1")), result("T1", Some("1.2"))],
            ),
            (b, vec![result("T3", Some("1.1"))]),
        ],
        entered,
        "clerk",
    )?;
    assert_eq!((ids[0].len(), ids[1].len()), (2, 1));
    let audit = store.audit_entries(0, 100)?;
    assert_eq!(audit.len(), before + 2, "one audit entry per draw");
    assert!(audit[before..].iter().all(|e| e.action == "results.record"));
    Ok(())
}

#[test]
fn a_publication_marks_exactly_its_results() -> TestResult {
    let (_dir, mut store, d) = setup()?;
    let id = store.record_draw(&d, Redraw::No)?;
    let ids = store.record_results(
        id,
        &[result("T1", Some("1.1")), result("T3", Some("1.1"))],
        "2025-02-11T09:00:00+08:00",
        "clerk",
    )?;
    let publication = |result_ids: Vec<i64>, at: &str| publication(id, result_ids, at);
    store.record_publications(&[publication(vec![ids[0]], "2025-03-01T12:00:00+08:00")])?;
    let rows = store.results(id)?;
    assert_eq!(
        rows[0].published_at.as_deref(),
        Some("2025-03-01T12:00:00+08:00")
    );
    assert_eq!(rows[1].published_at, None);
    // Publishing a result twice refuses the whole batch.
    let err = store.record_publications(&[
        publication(vec![ids[1]], "2025-03-05T12:00:00+08:00"),
        publication(vec![ids[0]], "2025-03-05T12:00:00+08:00"),
    ]);
    assert!(matches!(err, Err(StoreError::Invalid { .. })), "{err:?}");
    assert_eq!(store.results(id)?[1].published_at, None);
    assert_eq!(store.publications(id)?.len(), 1);
    assert_eq!(store.publications(id)?[0].results_count, 1);
    Ok(())
}

/// A publication marks its results a run of consecutive ids at a time: a run with one result
/// that cannot be published (published already, listed twice, not the draw's) is refused by
/// that result's id, and nothing of the batch is marked.
#[test]
fn a_publication_refuses_the_one_result_of_a_run_it_cannot_publish() -> TestResult {
    let (_dir, mut store, d) = setup()?;
    let id = store.record_draw(&d, Redraw::No)?;
    let ids = store.record_results(
        id,
        &[
            result("T1", Some("1.1")),
            result("T1", Some("1.2")),
            result("T3", Some("1.1")),
            result("T3", Some("1.2")),
        ],
        "2025-02-11T09:00:00+08:00",
        "clerk",
    )?;
    assert!(ids.windows(2).all(|w| w[1] == w[0] + 1), "{ids:?}");
    let publication =
        |result_ids: Vec<i64>| publication(id, result_ids, "2025-03-01T12:00:00+08:00");
    store.record_publications(&[publication(vec![ids[1]])])?;
    let refused = |result_ids: Vec<i64>, named: i64, store: &mut Store| {
        let err = store.record_publications(&[publication(result_ids)]);
        let said = format!("{err:?}");
        assert!(
            said.contains(&format!("result {named} is not an unpublished result")),
            "{said}"
        );
    };
    refused(vec![ids[3], ids[0], ids[1], ids[2]], ids[1], &mut store);
    refused(vec![ids[2], ids[3], ids[2]], ids[2], &mut store);
    refused(vec![ids[2], ids[3], ids[3] + 1], ids[3] + 1, &mut store);
    let published = |store: &Store| -> Result<usize, StoreError> {
        Ok(store
            .results(id)?
            .iter()
            .filter(|r| r.published_at.is_some())
            .count())
    };
    assert_eq!(
        published(&store)?,
        1,
        "nothing of a refused batch is marked"
    );
    store.record_publications(&[publication(vec![ids[3], ids[0], ids[2]])])?;
    assert_eq!(published(&store)?, 4);
    Ok(())
}

/// Entries written before audit details and publication records were types
/// (`tests/fixtures/audit-v1.json`, one of each action): parsed into today's types and written
/// again, each gives its stored bytes, so the chain they sit in keeps verifying.
#[test]
fn audit_entries_written_before_the_record_types_are_reproduced_byte_for_byte() -> TestResult {
    use suiji::store::{
        DrawAudit, PublicationAudit, PublicationRecord, ResultsAudit, RulesReloadAudit,
        SchedulerAudit,
    };
    fn again<T: serde::Serialize + serde::de::DeserializeOwned>(text: &str) -> String {
        let typed: T = serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"));
        serde_json::to_string(&typed).unwrap_or_default()
    }
    let fixture = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/audit-v1.json"),
    )?;
    let entries: Vec<serde_json::Value> = serde_json::from_str(&fixture)?;
    let mut actions = Vec::new();
    for e in &entries {
        let field = |k: &str| e[k].as_str().unwrap_or_default().to_string();
        let (action, detail) = (field("action"), field("detail"));
        let seq = e["seq"].as_i64().unwrap_or_default();
        let hash = suiji::store::audit_hash(
            seq,
            &field("at"),
            &field("actor"),
            &action,
            &field("subject"),
            &detail,
            &field("prev_hash"),
        );
        assert_eq!(
            hash,
            field("hash"),
            "entry {seq} no longer hashes as stored"
        );
        let written = match action.as_str() {
            "draw.record" | "draw.redraw" => again::<DrawAudit>(&detail),
            "results.record" => again::<ResultsAudit>(&detail),
            "publication.record" => {
                let p: PublicationAudit = serde_json::from_str(&detail)?;
                let files = serde_json::to_string(&p.files)?;
                assert_eq!(again::<PublicationRecord>(&files), files);
                again::<PublicationAudit>(&detail)
            }
            "scheduler.caught_up" => again::<SchedulerAudit>(&detail),
            "rules.reload" => again::<RulesReloadAudit>(&detail),
            other => panic!("no type for {other}"),
        };
        assert_eq!(written, detail, "entry {seq} ({action})");
        actions.push(action);
    }
    actions.sort();
    actions.dedup();
    assert_eq!(actions.len(), 6, "{actions:?}");
    Ok(())
}

/// Audit entry format 2: every write records the OS account and host besides `--actor`, has
/// room for the console user, and the hash of the rows it records; entries of format 1
/// (written before) keep verifying beside them, and an edit to a recorded row is found by
/// hashing the rows again.
#[test]
fn audit_entries_of_format_2_record_who_wrote_and_the_hash_of_their_rows() -> TestResult {
    let (dir, mut store, draw) = setup()?;
    // An entry of format 1, as an older suiji wrote it (no row in audit_v2).
    let c = raw(dir.path())?;
    let v1 = audit_hash(
        1,
        "2025-01-01T00:00:00+08:00",
        "old",
        "note",
        "s",
        "{}",
        GENESIS_HASH,
    );
    c.execute(
        "INSERT INTO audit_log (seq, at, actor, action, subject, detail, prev_hash, hash)
         VALUES (1, '2025-01-01T00:00:00+08:00', 'old', 'note', 's', '{}', ?1, ?2)",
        [GENESIS_HASH, v1.as_str()],
    )?;
    let id = store.record_draw(&draw, Redraw::No)?;
    store.set_origin(suiji::store::Origin {
        os_user: "clerk".into(),
        host: "bureau-pc".into(),
        console_user: Some("王敏".into()),
    });
    store.append_audit("2025-01-04T09:00:00+08:00", "alice", "note", "s", &json!(1))?;
    assert!(
        store.verify_audit()?.is_intact(),
        "{:?}",
        store.verify_audit()?
    );

    let e = store.audit_entries(0, 10)?;
    assert_eq!(e.iter().map(|e| e.format()).collect::<Vec<_>>(), [1, 2, 2]);
    let drawn = &e[1];
    let v2 = drawn.v2.clone().ok_or("no format 2 fields")?;
    assert_eq!(v2.os_user, suiji::store::Origin::of_process().os_user);
    assert!(!v2.host.is_empty() && v2.console_user.is_none());
    let rows = v2.rows_hash.clone().ok_or("no rows hash")?;
    assert_eq!(store.rows_hash_now(drawn)?, Some(rows.clone()));
    assert_eq!(
        drawn.hash,
        suiji::store::audit_hash_v2(drawn, &v2),
        "the hash follows the documented encoding"
    );
    let noted = e[2].v2.clone().ok_or("no format 2 fields")?;
    assert_eq!(
        (noted.os_user.as_str(), noted.host.as_str()),
        ("clerk", "bureau-pc")
    );
    assert_eq!(noted.console_user.as_deref(), Some("王敏"));
    assert_eq!(noted.rows_hash, None);

    // An edit to a draw row behind suiji's back: the entries still chain, but the rows no
    // longer hash to what the entry recorded, and the walk says so at that entry.
    c.execute_batch(&format!(
        "DROP TRIGGER draw_team_members_no_update;
         UPDATE draw_team_members SET inspector_id = 'I9' WHERE draw_id = {id} AND seq = 0;"
    ))?;
    assert_ne!(store.rows_hash_now(drawn)?, Some(rows.clone()));
    match store.verify_audit()? {
        AuditReport::Broken(b) => {
            assert_eq!((b.seq, b.intact_before), (2, 1));
            assert_eq!(
                b.problem,
                AuditProblem::RowsChanged {
                    recorded: rows,
                    now: store.rows_hash_now(drawn)?.unwrap_or_default()
                }
            );
            assert!(b.to_string().contains("draw.record draw:"), "{b}");
        }
        other => panic!("expected changed rows, got {other:?}"),
    }

    // Changing who wrote an entry breaks the chain at that entry.
    c.execute_batch(
        "DROP TRIGGER audit_v2_no_update; UPDATE audit_v2 SET os_user = 'mallory' WHERE seq = 2;",
    )?;
    match store.verify_audit()? {
        AuditReport::Broken(b) => {
            assert_eq!(b.seq, 2);
            assert!(matches!(b.problem, AuditProblem::HashMismatch { .. }));
        }
        other => panic!("expected a broken chain, got {other:?}"),
    }
    Ok(())
}

/// Results and publications carry the hash of their rows too (results' made as they go in).
#[test]
fn results_and_publications_record_the_hash_of_their_rows() -> TestResult {
    let (dir, mut store, draw) = setup()?;
    let id = store.record_draw(&draw, Redraw::No)?;
    let result = NewResult {
        target_id: "T1".into(),
        checklist_item: None,
        category: "未发现问题".into(),
        remarks: String::new(),
        inspection_date: "2025-02-01".into(),
        inspectors_signed: vec!["I1".into()],
        source_file: None,
        source_line: None,
    };
    // Every column given, and every one that may be empty left so: the hash made as the
    // rows go in is the hash of the rows read back.
    let full = NewResult {
        checklist_item: Some("1.1".into()),
        remarks: "门窗未锁".into(),
        inspectors_signed: vec!["I1".into(), "I2".into()],
        source_file: Some("results/2025-Q1.csv".into()),
        source_line: Some(3),
        ..result.clone()
    };
    store.record_results(id, &[result, full], "2025-02-02T10:00:00+08:00", "clerk")?;
    store.record_publication(id, "2025-02-03T10:00:00+08:00", &json!([]), "publisher")?;
    let e = store.audit_entries(0, 10)?;
    let actions: Vec<&str> = e.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["draw.record", "results.record", "publication.record"]
    );
    for entry in &e {
        let stored = entry.v2.as_ref().and_then(|v| v.rows_hash.clone());
        assert!(stored.is_some(), "{}", entry.action);
        assert_eq!(store.rows_hash_now(entry)?, stored, "{}", entry.action);
    }
    // A published result edited afterwards no longer matches what was recorded.
    let c = raw(dir.path())?;
    c.execute_batch(
        "DROP TRIGGER IF EXISTS results_frozen_after_publication;
         DROP TRIGGER IF EXISTS results_no_update_published;",
    )?;
    let triggers: Vec<String> = c
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = 'results'")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for t in triggers {
        c.execute_batch(&format!("DROP TRIGGER {t}"))?;
    }
    c.execute_batch("UPDATE results SET category = '发现问题已责令改正'")?;
    for entry in &e[1..] {
        let stored = entry.v2.as_ref().and_then(|v| v.rows_hash.clone());
        assert_ne!(store.rows_hash_now(entry)?, stored, "{}", entry.action);
    }
    Ok(())
}
