//! Draws on PostgreSQL: recorded, listed and read back as on SQLite (`store::draws`), through
//! the one interface the draw jobs use ([`DrawStore`]).
//!
//! The same invariants, kept by the server: writers of one (matter, period) take turns under a
//! transaction-scoped advisory lock, so a second draw sees the first once committed and is
//! refused with [`StoreError::AlreadyDrawn`]; the partial unique index `draws_one_active` is
//! the last word on one active draw per (matter, period) whatever else writes; a draw, its rows
//! and its audit entry are one transaction, the entry appended under the head's row lock.
//! Lists are ordered bytewise (`COLLATE "C"`), as SQLite orders them.
//!
//! Snapshots live in the database: a target registry frozen as a file is read into
//! `snapshot_files` (in parts, checked against its hash) when the draw is recorded; a re-run
//! reads it back into a file of this handle's own temporary folder, in bounded memory.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use postgres::Transaction;

use super::super::audit::Entry;
use super::super::changes::{
    AUDIT_ORDER_SQL, change_audit, changeable, validate as change_validate,
};
use super::super::commitments::{
    audit_of as commitment_audit, require_none_open, seed_source_mark, valid as commitment_valid,
};
use super::super::draws::{Places, draw_audit, manifest_text, validate};
use super::super::error::{Fail, R};
use super::super::results::RESULT_FACT_COLUMNS;
use super::super::rows::Rows;
use super::super::snapshots::{check_kind, conflict, gunzip, gzip, valid_hash};
use super::super::util::{to_i64, to_u32, to_u64};
use super::super::{
    AuditOrder, Commitment, Decided, DrawChange, DrawFilter, DrawHead, DrawRecord, DrawRow,
    DrawStatus, DrawStore, DrawnTargetRow, EntityKind, ExclusionRow, LoadsEpoch, NewDraw, Origin,
    Redraw, ResultFact, ResultRow, SnapshotInfo, SnapshotKind, Store, StoreError, TeamRow,
    UnstaffedRow,
};
use super::{PgStore, audit};
use crate::digest::sha256_hex;

/// Bytes of a snapshot file per row of `snapshot_files` (as `db migrate` writes them).
const PART: usize = 8 << 20;

const DRAW_COLUMNS: &str = "d.id, d.matter, d.period, d.kind, d.status, d.algorithm, d.seed_hex,
    d.seed_source, d.rules_hash, d.targets_snapshot, d.inspectors_snapshot, d.reference_date,
    d.issue_date, d.due_date, d.created_at, d.actor, d.manifest_json, d.manifest_hash,
    d.redraw_of, d.redraw_reason,
    (SELECT n.id FROM draws n WHERE n.redraw_of = d.id) AS superseded_by, d.provisional";

/// The filter of a list of draws: `$1` matter, `$2` period prefix, `$3` superseded too.
const FILTER: &str = "($1::text IS NULL OR d.matter = $1)
       AND ($2::text IS NULL OR substr(d.period, 1, length($2)) = $2)
       AND ($3 OR d.status = 'active')
     ORDER BY d.matter COLLATE \"C\", d.period COLLATE \"C\", d.id";

fn status(id: i64, status: &str) -> R<DrawStatus> {
    match status {
        "active" => Ok(DrawStatus::Active),
        "superseded" => Ok(DrawStatus::Superseded),
        other => Err(Fail::corrupt(format!("draw {id} has status {other:?}"))),
    }
}

fn draw_row(r: &postgres::Row) -> R<DrawRow> {
    let id: i64 = r.try_get(0)?;
    Ok(DrawRow {
        id,
        status: status(id, r.try_get(4)?)?,
        record: DrawRecord {
            matter: r.try_get(1)?,
            period: r.try_get(2)?,
            kind: r.try_get(3)?,
            algorithm: r.try_get(5)?,
            seed_hex: r.try_get(6)?,
            seed_source: r.try_get(7)?,
            rules_hash: r.try_get(8)?,
            targets_snapshot: r.try_get(9)?,
            inspectors_snapshot: r.try_get(10)?,
            reference_date: r.try_get(11)?,
            issue_date: r.try_get(12)?,
            due_date: r.try_get(13)?,
            created_at: r.try_get(14)?,
            actor: r.try_get(15)?,
            manifest_json: r.try_get(16)?,
            manifest_hash: r.try_get(17)?,
            provisional: r.try_get::<_, i64>(21)? != 0,
        },
        redraw_of: r.try_get(18)?,
        redraw_reason: r.try_get(19)?,
        superseded_by: r.try_get(20)?,
    })
}

fn query_draws(
    tx: &mut Transaction<'_>,
    where_sql: &str,
    params: &[&(dyn postgres::types::ToSql + Sync)],
) -> R<Vec<DrawRow>> {
    let sql = format!("SELECT {DRAW_COLUMNS} FROM draws d WHERE {where_sql}");
    tx.query(&sql, params)?.iter().map(draw_row).collect()
}

fn filter_params(f: &DrawFilter) -> (Option<String>, Option<String>, bool) {
    (
        f.matter.clone(),
        f.period_prefix.clone(),
        f.include_superseded,
    )
}

fn active(tx: &mut Transaction<'_>, matter: &str, period: &str) -> R<Option<(i64, String)>> {
    Ok(tx
        .query_opt(
            "SELECT id, created_at FROM draws
             WHERE matter = $1 AND period = $2 AND status = 'active' FOR UPDATE",
            &[&matter, &period],
        )?
        .map(|r| (r.get(0), r.get(1))))
}

fn check_snapshot(tx: &mut Transaction<'_>, field: &str, hash: &str, kind: &str) -> R<()> {
    let found: Option<String> = tx
        .query_opt("SELECT kind FROM snapshots WHERE hash = $1", &[&hash])?
        .map(|r| r.get(0));
    match found {
        None => Err(StoreError::NoSuchSnapshot {
            hash: hash.to_string(),
        }
        .into()),
        Some(k) if k != kind => {
            Err(StoreError::invalid(field, format!("snapshot {hash} holds {k}, not {kind}")).into())
        }
        Some(_) => Ok(()),
    }
}

/// Whether `e` is the unique index `draws_one_active` refusing a second active draw.
fn second_active(e: &postgres::Error) -> bool {
    e.as_db_error()
        .is_some_and(|d| d.constraint() == Some("draws_one_active"))
}

/// The draw, its rows and its audit entry, in the caller's transaction.
fn insert_draw(
    tx: &mut Transaction<'_>,
    origin: &Origin,
    d: &NewDraw,
    redraw: &Redraw,
    probe: &mut dyn FnMut(&'static str) -> Result<(), StoreError>,
) -> R<i64> {
    // A manifest file's text is read here: PostgreSQL takes the text in one piece.
    let with_text;
    let r = match manifest_text(d)? {
        std::borrow::Cow::Borrowed(_) => &d.record,
        std::borrow::Cow::Owned(manifest_json) => {
            with_text = DrawRecord {
                manifest_json,
                ..d.record.clone()
            };
            &with_text
        }
    };
    check_snapshot(tx, "targets_snapshot", &r.targets_snapshot, "targets")?;
    check_snapshot(
        tx,
        "inspectors_snapshot",
        &r.inspectors_snapshot,
        "inspectors",
    )?;
    let (redraw_of, reason) = supersede_active(tx, r, redraw)?;
    let id = insert_draw_row(tx, r, (redraw_of, reason))?;
    probe("draw")?;
    insert_rows(tx, id, d, probe)?;
    let (action, detail) = draw_audit(id, d, (redraw_of, reason));
    let entry = Entry {
        at: &r.created_at,
        actor: &r.actor,
        action,
        subject: &format!("draw:{id}"),
        detail: &detail,
        rows: Rows::Draw(id),
    };
    audit::append(tx, origin, &entry)?;
    probe("audit")?;
    Ok(id)
}

/// The class of the advisory lock every writer of a draw or of a change to one holds while it
/// checks the [`LoadsEpoch`] its loads were read at and records: in turn, so the epoch a writer
/// checks stays the records' until it commits (SQLite's writers take turns by themselves).
const LOADS_LOCK: i32 = 0x5e2;

/// Takes the [`LOADS_LOCK`] of this schema (each bureau's writers take turns among themselves,
/// never with another bureau's).
fn loads_lock(tx: &mut Transaction<'_>) -> R<()> {
    tx.execute(
        "SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))",
        &[&LOADS_LOCK],
    )?;
    Ok(())
}

/// Where the records the loads are counted from stand, as this transaction sees them (read
/// committed: after [`LOADS_LOCK`], every draw committed before it).
fn loads_epoch(tx: &mut Transaction<'_>) -> R<LoadsEpoch> {
    let r = tx.query_one(
        "SELECT (SELECT coalesce(max(id), 0) FROM draws)::bigint, \
                (SELECT coalesce(max(id), 0) FROM draw_changes)::bigint",
        &[],
    )?;
    Ok(LoadsEpoch::new(r.try_get(0)?, r.try_get(1)?))
}

/// The commitments matching `filter` (a condition on their columns), oldest first.
fn commitments_where(
    tx: &mut Transaction<'_>,
    filter: &str,
    params: &[&(dyn postgres::types::ToSql + Sync)],
) -> R<Vec<Commitment>> {
    let sql = format!(
        "SELECT {} FROM commitments WHERE {filter} ORDER BY id",
        super::super::commitments::COLUMNS
    );
    tx.query(&sql, params)?
        .iter()
        .map(|r| {
            Ok(Commitment {
                id: r.try_get(0)?,
                matter: r.try_get(1)?,
                period: r.try_get(2)?,
                committed_at: r.try_get(3)?,
                source: r.try_get(4)?,
                source_time: r.try_get(5)?,
                targets_snapshot: r.try_get(6)?,
                inspectors_snapshot: r.try_get(7)?,
                rules_hash: r.try_get(8)?,
                algorithm: r.try_get(9)?,
                actor: r.try_get(10)?,
            })
        })
        .collect()
}

/// The commitments of (matter, period) no draw has revealed yet, oldest first.
fn open_commitments(tx: &mut Transaction<'_>, matter: &str, period: &str) -> R<Vec<Commitment>> {
    let mut out = Vec::new();
    for k in commitments_where(tx, "matter = $1 AND period = $2", &[&matter, &period])? {
        let used: i64 = tx
            .query_one(
                "SELECT count(*) FROM draws WHERE matter = $1 AND period = $2
                 AND strpos(seed_source, $3) > 0",
                &[&matter, &period, &seed_source_mark(k.id)],
            )?
            .try_get(0)?;
        if used == 0 {
            out.push(k);
        }
    }
    Ok(out)
}

/// The class of the advisory locks that writers of one (matter, period) take in turn (the
/// two-key form, whose keys never meet the one-key lock of the migrations), keyed by the
/// schema and the (matter, period), so two bureaus' draws of the same ids never wait on each
/// other.
const DRAW_LOCK: i32 = 0x5e1;

/// Refuses a second draw for the (matter, period) unless it is a redraw, and marks the draw a
/// redraw replaces superseded: (the replaced draw, the reason). Writers of one (matter,
/// period) take turns here (a transaction-scoped advisory lock), so the second sees the
/// first's draw once it is committed and is refused without spending an id; the unique index
/// stays the last word.
fn supersede_active<'r>(
    tx: &mut Transaction<'_>,
    r: &DrawRecord,
    redraw: &'r Redraw,
) -> R<(Option<i64>, Option<&'r str>)> {
    let subject = format!("{}\u{1f}{}", r.matter, r.period);
    tx.execute(
        "SELECT pg_advisory_xact_lock($1, hashtext(current_schema() || chr(31) || $2))",
        &[&DRAW_LOCK, &subject],
    )?;
    Ok(match (active(tx, &r.matter, &r.period)?, redraw) {
        (Some((draw_id, created_at)), Redraw::No) => {
            return Err(StoreError::AlreadyDrawn {
                draw_id,
                created_at,
            }
            .into());
        }
        (None, Redraw::Yes { .. }) => {
            return Err(StoreError::NothingToRedraw {
                matter: r.matter.clone(),
                period: r.period.clone(),
            }
            .into());
        }
        (None, Redraw::No) => (None, None),
        (Some((old, _)), Redraw::Yes { replaces, .. }) if replaces.is_some_and(|r| r != old) => {
            return Err(StoreError::DrawSuperseded {
                draw_id: replaces.unwrap_or(old),
            }
            .into());
        }
        (Some((old, _)), Redraw::Yes { reason, .. }) => {
            tx.execute(
                "UPDATE draws SET status = 'superseded' WHERE id = $1",
                &[&old],
            )?;
            (Some(old), Some(reason.as_str()))
        }
    })
}

/// The `draws` row; its id. In a savepoint: when another node's draw of the same (matter,
/// period) committed since the look of [`supersede_active`], the unique index refuses this
/// one, and the transaction stays usable to say which draw it was.
fn insert_draw_row(
    tx: &mut Transaction<'_>,
    r: &DrawRecord,
    (redraw_of, reason): (Option<i64>, Option<&str>),
) -> R<i64> {
    let provisional = i64::from(r.provisional);
    let inserted = {
        let mut sp = tx.transaction()?;
        let row = sp.query_one(
            "INSERT INTO draws (matter, period, kind, status, algorithm, seed_hex, seed_source,
                rules_hash, targets_snapshot, inspectors_snapshot, reference_date, issue_date,
                due_date, created_at, actor, manifest_json, manifest_hash, redraw_of,
                redraw_reason, provisional)
             VALUES ($1, $2, $3, 'active', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
                $16, $17, $18, $19)
             RETURNING id",
            &[
                &r.matter,
                &r.period,
                &r.kind,
                &r.algorithm,
                &r.seed_hex,
                &r.seed_source,
                &r.rules_hash,
                &r.targets_snapshot,
                &r.inspectors_snapshot,
                &r.reference_date,
                &r.issue_date,
                &r.due_date,
                &r.created_at,
                &r.actor,
                &r.manifest_json,
                &r.manifest_hash,
                &redraw_of,
                &reason,
                &provisional,
            ],
        );
        match row {
            Ok(row) => sp.commit().map(|()| row.get::<_, i64>(0)),
            Err(e) => Err(e),
        }
    };
    match inserted {
        Ok(id) => Ok(id),
        Err(e) if second_active(&e) => match active(tx, &r.matter, &r.period)? {
            Some((draw_id, created_at)) => Err(StoreError::AlreadyDrawn {
                draw_id,
                created_at,
            }
            .into()),
            None => Err(e.into()),
        },
        Err(e) => Err(e.into()),
    }
}

/// The draw's targets, team members, unstaffed targets and exclusions, in their order.
fn insert_rows(
    tx: &mut Transaction<'_>,
    id: i64,
    d: &NewDraw,
    probe: &mut dyn FnMut(&'static str) -> Result<(), StoreError>,
) -> R<()> {
    let stmt = tx.prepare(
        "INSERT INTO draw_targets (draw_id, seq, stratum, rank, target_id, target_name, selected,
            substitute, substitute_for, rank_key)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )?;
    let targets = d.target_rows();
    let mut places = Places::default();
    for (seq, t) in targets.enumerate() {
        places.push(t.target_id);
        tx.execute(
            &stmt,
            &[
                &id,
                &(seq as i64),
                &t.stratum,
                &i64::from(t.rank),
                &t.target_id,
                &t.target_name,
                &i64::from(t.selected),
                &i64::from(t.substitute),
                &t.substitute_for,
                &t.rank_key,
            ],
        )?;
    }
    probe("targets")?;
    let stmt = tx.prepare(
        "INSERT INTO draw_team_members (draw_id, seq, target_id, position, inspector_id,
            inspector_name, target_seq) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )?;
    for (seq, m) in d.team_rows().enumerate() {
        tx.execute(
            &stmt,
            &[
                &id,
                &(seq as i64),
                &m.target_id,
                &i64::from(m.position),
                &m.inspector_id,
                &m.inspector_name,
                &places.of(m.target_id),
            ],
        )?;
    }
    probe("teams")?;
    let stmt = tx.prepare(
        "INSERT INTO draw_unstaffed (draw_id, seq, target_id, reason) VALUES ($1, $2, $3, $4)",
    )?;
    for (seq, u) in d.unstaffed.iter().enumerate() {
        tx.execute(&stmt, &[&id, &(seq as i64), &u.target_id, &u.reason])?;
    }
    probe("unstaffed")?;
    let stmt = tx.prepare(
        "INSERT INTO draw_exclusions (draw_id, seq, entity_kind, entity_id, reason_code, detail)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )?;
    for (seq, x) in d.exclusions.iter().enumerate() {
        tx.execute(
            &stmt,
            &[
                &id,
                &(seq as i64),
                &x.entity_kind.as_str(),
                &x.entity_id,
                &x.reason_code,
                &x.detail,
            ],
        )?;
    }
    probe("exclusions")?;
    Ok(())
}

fn snapshot_info(tx: &mut Transaction<'_>, hash: &str) -> R<Option<SnapshotInfo>> {
    let Some(r) = tx.query_opt(
        "SELECT hash, kind, row_count, size, compressed_size FROM snapshots WHERE hash = $1",
        &[&hash],
    )?
    else {
        return Ok(None);
    };
    Ok(Some(SnapshotInfo {
        hash: r.try_get(0)?,
        kind: SnapshotKind::parse(r.try_get(1)?)?,
        row_count: to_u64("snapshots.row_count", r.try_get(2)?)?,
        size: to_u64("snapshots.size", r.try_get(3)?)?,
        compressed_size: to_u64("snapshots.compressed_size", r.try_get(4)?)?,
    }))
}

/// Inserts a snapshot's row once (and, for one kept as a file, its parts from `file`), in
/// the caller's transaction; a row another node inserted meanwhile must be of the same kind.
fn insert_snapshot(
    tx: &mut Transaction<'_>,
    kind: SnapshotKind,
    row_count: u64,
    (hash, size): (&str, u64),
    (data, file): (&[u8], Option<&Path>),
) -> R<String> {
    let rows = to_i64("row count", row_count)?;
    let size_i = to_i64("snapshot size", size)?;
    let csize = to_i64("snapshot size", data.len() as u64)?;
    let inserted = tx.execute(
        "INSERT INTO snapshots (hash, kind, row_count, size, compressed_size, data)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (hash) DO NOTHING",
        &[&hash, &kind.as_str(), &rows, &size_i, &csize, &data],
    )?;
    if inserted == 0 {
        let existing: String = tx
            .query_one("SELECT kind FROM snapshots WHERE hash = $1", &[&hash])?
            .get(0);
        if existing != kind.as_str() {
            return Err(conflict(hash, &existing, kind).into());
        }
        return Ok(hash.to_string());
    }
    if let Some(path) = file {
        store_file(tx, path, (hash, size))?;
    }
    Ok(hash.to_string())
}

/// The bytes of the file `path` into `snapshot_files`, a part at a time; the file must hash to
/// `hash` and hold `size` bytes.
fn store_file(tx: &mut Transaction<'_>, path: &Path, (hash, size): (&str, u64)) -> R<()> {
    let damaged = |detail: String| {
        Fail::Store(StoreError::SnapshotDamaged {
            path: path.to_path_buf(),
            hash: hash.to_string(),
            detail,
        })
    };
    let mut file = std::fs::File::open(path).map_err(|e| damaged(format!("cannot read: {e}")))?;
    let insert = tx.prepare("INSERT INTO snapshot_files (hash, part, data) VALUES ($1, $2, $3)")?;
    let (mut hasher, mut bytes, mut part_no) = (crate::digest::Hasher::default(), 0u64, 0i64);
    loop {
        let mut part = Vec::with_capacity(PART);
        (&mut file)
            .take(PART as u64)
            .read_to_end(&mut part)
            .map_err(|e| damaged(format!("cannot read: {e}")))?;
        if part.is_empty() {
            break;
        }
        hasher.update(&part);
        bytes += part.len() as u64;
        tx.execute(&insert, &[&hash, &part_no, &part])?;
        part_no += 1;
    }
    let actual = hasher.finish();
    if actual != hash || bytes != size {
        return Err(damaged(format!("{bytes} bytes hashing to {actual}")));
    }
    Ok(())
}

impl PgStore {
    /// Each draw's matter, by draw id (superseded draws too).
    pub fn draw_matters(&self) -> Result<std::collections::HashMap<i64, String>, StoreError> {
        self.read(|tx| {
            let mut out = std::collections::HashMap::new();
            for r in tx.query("SELECT id, matter FROM draws", &[])? {
                out.insert(r.try_get(0)?, r.try_get(1)?);
            }
            Ok(out)
        })
    }

    /// The folder of this handle's snapshot files: registries frozen for a draw, and snapshots
    /// read back for a re-run.
    fn work_dir(&self) -> &Path {
        self.work.path()
    }
}

/// The changes `filter` (a `WHERE` clause, or nothing) lets through, in the order they were
/// made.
fn changes_where(
    tx: &mut postgres::Transaction<'_>,
    filter: &str,
    params: &[&(dyn postgres::types::ToSql + Sync)],
) -> R<Vec<DrawChange>> {
    let sql = format!(
        "SELECT {} FROM draw_changes {filter} ORDER BY id",
        super::super::changes::COLUMNS
    );
    let mut out = Vec::new();
    for r in tx.query(&sql, params)? {
        out.push(DrawChange {
            id: r.try_get(0)?,
            draw_id: r.try_get(1)?,
            kind: r.try_get(2)?,
            cause: r.try_get(3)?,
            target_id: r.try_get(4)?,
            inspector_id: r.try_get(5)?,
            replacement: r.try_get(6)?,
            reason: r.try_get(7)?,
            actor: r.try_get(8)?,
            changed_at: r.try_get(9)?,
        });
    }
    Ok(out)
}

impl DrawStore for PgStore {
    fn shown(&self) -> String {
        self.shown.clone()
    }

    fn origin(&self) -> &Origin {
        &self.origin
    }

    fn set_origin(&mut self, origin: Origin) {
        self.origin = origin;
    }

    fn sqlite(&mut self) -> Option<&mut Store> {
        None
    }

    fn postgres(&mut self) -> Option<&mut PgStore> {
        Some(self)
    }

    fn is_simulation(&self) -> Result<bool, StoreError> {
        self.read(|tx| {
            Ok(tx
                .query_opt(
                    "SELECT value FROM database_facts WHERE key = 'purpose'",
                    &[],
                )?
                .is_some_and(|r| r.get::<_, String>(0) == "simulation"))
        })
    }

    fn active_draw(&self, matter: &str, period: &str) -> Result<Option<DrawRow>, StoreError> {
        self.read(|tx| {
            Ok(query_draws(
                tx,
                "d.matter = $1 AND d.period = $2 AND d.status = 'active'",
                &[&matter, &period],
            )?
            .into_iter()
            .next())
        })
    }

    fn draw(&self, id: i64) -> Result<Option<DrawRow>, StoreError> {
        self.read(|tx| Ok(query_draws(tx, "d.id = $1", &[&id])?.into_iter().next()))
    }

    fn list_draws(&self, filter: &DrawFilter) -> Result<Vec<DrawRow>, StoreError> {
        let (m, p, all) = filter_params(filter);
        self.read(|tx| query_draws(tx, FILTER, &[&m, &p, &all]))
    }

    fn list_draw_heads(&self, filter: &DrawFilter) -> Result<Vec<DrawHead>, StoreError> {
        let (m, p, all) = filter_params(filter);
        self.read(|tx| {
            let sql = format!(
                "SELECT d.id, d.status, d.matter, d.period, d.kind, d.seed_source, d.issue_date,
                        d.created_at, d.actor, d.manifest_hash, d.provisional,
                        (SELECT n.id FROM draws n WHERE n.redraw_of = d.id)
                 FROM draws d WHERE {FILTER}"
            );
            let mut out = Vec::new();
            for r in tx.query(&sql, &[&m, &p, &all])? {
                let id: i64 = r.try_get(0)?;
                out.push(DrawHead {
                    id,
                    status: status(id, r.try_get(1)?)?,
                    matter: r.try_get(2)?,
                    period: r.try_get(3)?,
                    kind: r.try_get(4)?,
                    seed_source: r.try_get(5)?,
                    issue_date: r.try_get(6)?,
                    created_at: r.try_get(7)?,
                    actor: r.try_get(8)?,
                    manifest_hash: r.try_get(9)?,
                    provisional: r.try_get::<_, i64>(10)? != 0,
                    superseded_by: r.try_get(11)?,
                });
            }
            Ok(out)
        })
    }

    fn manifest_json(&self, id: i64) -> Result<Option<String>, StoreError> {
        self.read(|tx| {
            Ok(tx
                .query_opt("SELECT manifest_json FROM draws WHERE id = $1", &[&id])?
                .map(|r| r.get(0)))
        })
    }

    fn draw_target_count(&self, id: i64) -> Result<usize, StoreError> {
        self.read(|tx| {
            let n: i64 = tx
                .query_one(
                    "SELECT count(*) FROM draw_targets WHERE draw_id = $1",
                    &[&id],
                )?
                .get(0);
            Ok(usize::try_from(n).unwrap_or(0))
        })
    }

    fn draw_targets(&self, id: i64) -> Result<Vec<DrawnTargetRow>, StoreError> {
        self.read(|tx| {
            let mut out = Vec::new();
            for r in tx.query(
                "SELECT stratum, rank, target_id, target_name, selected, substitute,
                        substitute_for, rank_key
                 FROM draw_targets WHERE draw_id = $1 ORDER BY seq",
                &[&id],
            )? {
                out.push(DrawnTargetRow {
                    stratum: r.try_get(0)?,
                    rank: to_u32("draw_targets.rank", r.try_get(1)?)?,
                    target_id: r.try_get(2)?,
                    target_name: r.try_get(3)?,
                    selected: r.try_get::<_, i64>(4)? != 0,
                    substitute: r.try_get::<_, i64>(5)? != 0,
                    substitute_for: r.try_get(6)?,
                    rank_key: r.try_get(7)?,
                });
            }
            Ok(out)
        })
    }

    fn selected_target_ids(&self, id: i64) -> Result<Vec<String>, StoreError> {
        self.read(|tx| {
            let rows = tx.query(
                "SELECT target_id FROM draw_targets WHERE draw_id = $1 AND selected = 1",
                &[&id],
            )?;
            rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
        })
    }

    fn draw_teams(&self, id: i64) -> Result<Vec<TeamRow>, StoreError> {
        self.read(|tx| {
            let mut out = Vec::new();
            for r in tx.query(
                "SELECT target_id, position, inspector_id, inspector_name
                 FROM draw_team_members WHERE draw_id = $1 ORDER BY seq",
                &[&id],
            )? {
                out.push(TeamRow {
                    target_id: r.try_get(0)?,
                    position: to_u32("draw_team_members.position", r.try_get(1)?)?,
                    inspector_id: r.try_get(2)?,
                    inspector_name: r.try_get(3)?,
                });
            }
            Ok(out)
        })
    }

    fn draw_unstaffed(&self, id: i64) -> Result<Vec<UnstaffedRow>, StoreError> {
        self.read(|tx| {
            let mut out = Vec::new();
            for r in tx.query(
                "SELECT target_id, reason FROM draw_unstaffed WHERE draw_id = $1 ORDER BY seq",
                &[&id],
            )? {
                out.push(UnstaffedRow {
                    target_id: r.try_get(0)?,
                    reason: r.try_get(1)?,
                });
            }
            Ok(out)
        })
    }

    fn draw_exclusions(&self, id: i64) -> Result<Vec<ExclusionRow>, StoreError> {
        self.read(|tx| {
            let mut out = Vec::new();
            for r in tx.query(
                "SELECT entity_kind, entity_id, reason_code, detail
                 FROM draw_exclusions WHERE draw_id = $1 ORDER BY seq",
                &[&id],
            )? {
                out.push(ExclusionRow {
                    entity_kind: EntityKind::parse(r.try_get(0)?)?,
                    entity_id: r.try_get(1)?,
                    reason_code: r.try_get(2)?,
                    detail: r.try_get(3)?,
                });
            }
            Ok(out)
        })
    }

    fn changes_of(&self, draw_id: i64) -> Result<Vec<DrawChange>, StoreError> {
        self.read(|tx| changes_where(tx, "WHERE draw_id = $1", &[&draw_id]))
    }

    fn all_changes(&self) -> Result<Vec<DrawChange>, StoreError> {
        self.read(|tx| changes_where(tx, "", &[]))
    }

    fn results(&self, draw_id: i64) -> Result<Vec<ResultRow>, StoreError> {
        let mut out = Vec::new();
        self.each_result(draw_id, &mut |r| out.push(r))?;
        Ok(out)
    }

    fn each_result(&self, draw_id: i64, each: &mut dyn FnMut(ResultRow)) -> Result<(), StoreError> {
        use postgres::fallible_iterator::FallibleIterator as _;
        self.read(|tx| {
            // Each row handed on as it arrives, not collected.
            let mut rows = tx.query_raw(
                "SELECT id, draw_id, target_id, checklist_item, category, remarks, inspection_date,
                        inspectors, entered_at, entered_by, published_at, source_file, source_line
                 FROM results WHERE draw_id = $1 ORDER BY id",
                [&draw_id as &(dyn postgres::types::ToSql + Sync)],
            )?;
            while let Some(r) = rows.next()? {
                let id: i64 = r.try_get(0)?;
                let inspectors: String = r.try_get(7)?;
                let line: Option<i64> = r.try_get(12)?;
                each(ResultRow {
                    id,
                    draw_id: r.try_get(1)?,
                    target_id: r.try_get(2)?,
                    checklist_item: r.try_get(3)?,
                    category: r.try_get(4)?,
                    remarks: r.try_get(5)?,
                    inspection_date: r.try_get(6)?,
                    inspectors_signed: serde_json::from_str(&inspectors).map_err(|e| {
                        Fail::corrupt(format!("result {id} lists its inspectors wrongly: {e}"))
                    })?,
                    entered_at: r.try_get(8)?,
                    entered_by: r.try_get(9)?,
                    published_at: r.try_get(10)?,
                    source_file: r.try_get(11)?,
                    source_line: line.map(|l| to_u32("results.source_line", l)).transpose()?,
                });
            }
            Ok(())
        })
    }

    fn each_result_fact(
        &self,
        draw_id: i64,
        each: &mut dyn FnMut(ResultFact<'_>),
    ) -> Result<(), StoreError> {
        use postgres::fallible_iterator::FallibleIterator as _;
        self.read(|tx| {
            let sql =
                format!("SELECT {RESULT_FACT_COLUMNS} FROM results WHERE draw_id = $1 ORDER BY id");
            // Each row handed on as it arrives, not collected (a national draw's results run
            // to millions).
            let mut rows =
                tx.query_raw(&sql, [&draw_id as &(dyn postgres::types::ToSql + Sync)])?;
            while let Some(r) = rows.next()? {
                each(ResultFact {
                    id: r.try_get(0)?,
                    target_id: r.try_get(1)?,
                    checklist_item: r.try_get(2)?,
                    category: r.try_get(3)?,
                    inspection_date: r.try_get(4)?,
                    published_at: r.try_get(5)?,
                });
            }
            Ok(())
        })
    }

    fn open_commitment(
        &self,
        matter: &str,
        period: &str,
    ) -> Result<Option<Commitment>, StoreError> {
        self.read(|tx| Ok(open_commitments(tx, matter, period)?.into_iter().next()))
    }

    fn commitments(&self) -> Result<Vec<(Commitment, bool)>, StoreError> {
        self.read(|tx| {
            let all = commitments_where(tx, "true", &[])?;
            let mut out = Vec::with_capacity(all.len());
            for k in all {
                let open = open_commitments(tx, &k.matter, &k.period)?
                    .iter()
                    .any(|o| o.id == k.id);
                out.push((k, !open));
            }
            Ok(out)
        })
    }

    fn record_commitment(&mut self, k: &Commitment) -> Result<i64, StoreError> {
        let origin = self.origin.clone();
        self.write(|tx| {
            commitment_valid(k)?;
            // Commitments of one (matter, period) take turns, as its draws do.
            let subject = format!("{}\u{1f}{}", k.matter, k.period);
            tx.execute(
                "SELECT pg_advisory_xact_lock($1, hashtext(current_schema() || chr(31) || $2))",
                &[&DRAW_LOCK, &subject],
            )?;
            require_none_open(k, open_commitments(tx, &k.matter, &k.period)?.first())?;
            let id: i64 = tx
                .query_one(
                    "INSERT INTO commitments (matter, period, committed_at, source, source_time,
                         targets_snapshot, inspectors_snapshot, rules_hash, algorithm, actor)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
                    &[
                        &k.matter,
                        &k.period,
                        &k.committed_at,
                        &k.source,
                        &k.source_time,
                        &k.targets_snapshot,
                        &k.inspectors_snapshot,
                        &k.rules_hash,
                        &k.algorithm,
                        &k.actor,
                    ],
                )?
                .try_get(0)?;
            let detail = commitment_audit(k, id);
            let entry = Entry {
                at: &k.committed_at,
                actor: &k.actor,
                action: "commitment.record",
                subject: &format!("commitment:{id}"),
                detail: &detail,
                rows: Rows::Commitment(id),
            };
            audit::append(tx, &origin, &entry)?;
            Ok(id)
        })
    }

    fn snapshot_dir(&self) -> PathBuf {
        self.work_dir().to_path_buf()
    }

    fn put_snapshot(
        &mut self,
        kind: SnapshotKind,
        row_count: u64,
        bytes: &[u8],
    ) -> Result<String, StoreError> {
        let hash = sha256_hex(bytes);
        if let Some(info) = self.read(|tx| snapshot_info(tx, &hash))? {
            return check_kind(&info, kind).map(|()| hash);
        }
        let compressed = gzip(bytes)
            .map_err(|e| StoreError::invalid("snapshot", format!("cannot compress: {e}")))?;
        let size = bytes.len() as u64;
        self.write(|tx| insert_snapshot(tx, kind, row_count, (&hash, size), (&compressed, None)))
    }

    fn put_snapshot_file(
        &mut self,
        kind: SnapshotKind,
        row_count: u64,
        (hash, size): (&str, u64),
    ) -> Result<String, StoreError> {
        if let Some(info) = self.read(|tx| snapshot_info(tx, hash))? {
            return check_kind(&info, kind).map(|()| hash.to_string());
        }
        if !valid_hash(hash) {
            return Err(StoreError::invalid(
                "snapshot",
                format!("{hash:?} is not a hash"),
            ));
        }
        let path = self.work_dir().join(format!("{hash}.csv"));
        self.write(|tx| insert_snapshot(tx, kind, row_count, (hash, size), (&[], Some(&path))))
    }

    fn snapshot_file(&self, hash: &str) -> Result<Option<PathBuf>, StoreError> {
        let Some(info) = self.read(|tx| snapshot_info(tx, hash))? else {
            return Ok(None);
        };
        if info.compressed_size != 0 || info.size == 0 || !valid_hash(hash) {
            return Ok(None);
        }
        let path = self.work_dir().join(format!("{hash}.csv"));
        if !path.exists() {
            self.read_file_into(hash, &path)?;
        }
        Ok(Some(path))
    }

    fn get_snapshot(&self, hash: &str) -> Result<Vec<u8>, StoreError> {
        let found: Option<(Vec<u8>, i64)> = self.read(|tx| {
            Ok(tx
                .query_opt("SELECT data, size FROM snapshots WHERE hash = $1", &[&hash])?
                .map(|r| (r.get(0), r.get(1))))
        })?;
        let Some((data, size)) = found else {
            return Err(StoreError::NoSuchSnapshot {
                hash: hash.to_string(),
            });
        };
        let damaged = |detail: String| StoreError::SnapshotDamaged {
            path: PathBuf::from(&self.shown),
            hash: hash.to_string(),
            detail,
        };
        let size = u64::try_from(size).map_err(|_| damaged(format!("recorded size {size}")))?;
        if data.is_empty() && size > 0 && valid_hash(hash) {
            let out = self.read(|tx| {
                let mut out = Vec::new();
                for r in tx.query(
                    "SELECT data FROM snapshot_files WHERE hash = $1 ORDER BY part",
                    &[&hash],
                )? {
                    out.extend(r.get::<_, Vec<u8>>(0));
                }
                Ok(out)
            })?;
            let actual = sha256_hex(&out);
            if actual != hash || out.len() as u64 != size {
                return Err(damaged(format!(
                    "its parts in snapshot_files hold {} bytes hashing to {actual}",
                    out.len()
                )));
            }
            return Ok(out);
        }
        gunzip(&data, size, hash).map_err(damaged)
    }

    fn record_change(
        &mut self,
        c: &DrawChange,
        prior: usize,
        decided: Decided,
    ) -> Result<i64, StoreError> {
        let origin = self.origin.clone();
        self.write(|tx| {
            change_validate(c)?;
            loads_lock(tx)?;
            let status: Option<String> = tx
                .query_opt(
                    "SELECT status FROM draws WHERE id = $1 FOR UPDATE",
                    &[&c.draw_id],
                )?
                .map(|r| r.try_get(0))
                .transpose()?;
            let n: i64 = tx
                .query_one(
                    "SELECT count(*) FROM draw_changes WHERE draw_id = $1",
                    &[&c.draw_id],
                )?
                .try_get(0)?;
            changeable(c.draw_id, status.as_deref(), n, prior)?;
            if let Some(read) = decided.epoch
                && loads_epoch(tx)? != read
            {
                return Err(StoreError::LoadsChanged.into());
            }
            let id: i64 = tx
                .query_one(
                    "INSERT INTO draw_changes (draw_id, kind, cause, target_id, inspector_id,
                         replacement, reason, actor, changed_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                    &[
                        &c.draw_id,
                        &c.kind,
                        &c.cause,
                        &c.target_id,
                        &c.inspector_id,
                        &c.replacement,
                        &c.reason,
                        &c.actor,
                        &c.changed_at,
                    ],
                )?
                .try_get(0)?;
            let detail = change_audit(c, id, decided.rule);
            let entry = Entry {
                at: &c.changed_at,
                actor: &c.actor,
                action: "draw.change",
                subject: &format!("draw:{}", c.draw_id),
                detail: &detail,
                rows: Rows::Change(id),
            };
            audit::append(tx, &origin, &entry)?;
            Ok(id)
        })
    }

    fn loads_epoch(&self) -> Result<LoadsEpoch, StoreError> {
        self.read(loads_epoch)
    }

    fn audit_order(&self) -> Result<AuditOrder, StoreError> {
        self.read(|tx| {
            let rows = tx.query(AUDIT_ORDER_SQL, &[])?;
            let entries = rows
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
                .collect::<R<Vec<_>>>()?;
            AuditOrder::of_entries(entries)
        })
    }

    fn record_draw_checked(
        &mut self,
        d: &NewDraw,
        redraw: Redraw,
        epoch: Option<LoadsEpoch>,
        probe: &mut dyn FnMut(&'static str) -> Result<(), StoreError>,
    ) -> Result<i64, StoreError> {
        validate(d, &redraw).map_err(|f| f.into_store(Path::new(&self.shown)))?;
        let origin = self.origin.clone();
        self.write(|tx| {
            loads_lock(tx)?;
            if let Some(read) = epoch
                && loads_epoch(tx)? != read
            {
                return Err(StoreError::LoadsChanged.into());
            }
            insert_draw(tx, &origin, d, &redraw, probe)
        })
    }
}

impl PgStore {
    /// Writes the parts of snapshot `hash` to `path`, a part at a time (through a file beside
    /// it, renamed into place once complete). The re-run that reads it checks its hash.
    fn read_file_into(&self, hash: &str, path: &Path) -> Result<(), StoreError> {
        let cannot = |e: std::io::Error| StoreError::SnapshotDamaged {
            path: path.to_path_buf(),
            hash: hash.to_string(),
            detail: format!("cannot write: {e}"),
        };
        let partial = path.with_extension("part");
        let mut file = std::fs::File::create(&partial).map_err(cannot)?;
        let parts: i64 = self.read(|tx| {
            Ok(tx
                .query_one(
                    "SELECT count(*) FROM snapshot_files WHERE hash = $1",
                    &[&hash],
                )?
                .get(0))
        })?;
        for part in 0..parts {
            let data: Vec<u8> = self.read(|tx| {
                Ok(tx
                    .query_one(
                        "SELECT data FROM snapshot_files WHERE hash = $1 AND part = $2",
                        &[&hash, &part],
                    )?
                    .get(0))
            })?;
            file.write_all(&data).map_err(cannot)?;
        }
        file.sync_all().map_err(cannot)?;
        std::fs::rename(&partial, path).map_err(cannot)
    }
}

impl PgStore {
    /// Marks the database as made for a simulation (as [`Store::mark_simulation`]): typed
    /// seeds and simulated times are accepted there, and every draw's documents say 模拟.
    /// Refused on a database that holds records already; marking a simulation again does
    /// nothing.
    pub fn mark_simulation(&mut self, at: &str, actor: &str, year: i32) -> Result<(), StoreError> {
        let origin = self.origin.clone();
        self.write(|tx| {
            let marked = tx
                .query_opt(
                    "SELECT value FROM database_facts WHERE key = 'purpose'",
                    &[],
                )?
                .is_some_and(|r| r.get::<_, String>(0) == "simulation");
            if marked {
                return Ok(());
            }
            let held: i64 = tx
                .query_one(
                    "SELECT (SELECT count(*) FROM draws) + (SELECT count(*) FROM results)
                          + (SELECT count(*) FROM publications) + (SELECT count(*) FROM audit_log)",
                    &[],
                )?
                .get(0);
            if held > 0 {
                return Err(StoreError::RealRecords {
                    path: Default::default(),
                    records: held,
                }
                .into());
            }
            tx.execute(
                "INSERT INTO database_facts (key, value, at) VALUES ('purpose', 'simulation', $1)",
                &[&at],
            )?;
            let entry = Entry {
                at,
                actor,
                action: "store.simulation",
                subject: "database",
                detail: &super::super::SimulationAudit { year },
                rows: Rows::None,
            };
            audit::append(tx, &origin, &entry)?;
            Ok(())
        })
    }
}
