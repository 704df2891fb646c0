//! A county's SQLite database copied into an empty PostgreSQL database, losslessly: every
//! table, every row, every value as stored (ids, texts byte for byte, blobs), in one
//! PostgreSQL transaction that commits only when every table's count matches.
//!
//! The rows go in through the triggers, in the order history made them: each draw inserted
//! active with its rows, then superseded when it was; each audit entry followed by its format
//! 2 fields. So the copy passes the same checks a write does, and the chain is extended entry
//! by entry exactly as it was.
//!
//! Target snapshots kept as files beside the SQLite database (`snapshots/<hash>.csv`) come
//! along in the same transaction: their bytes go into `snapshot_files`, each file checked
//! against its hash as it is read and again as the server gives it back. So do the anchors of
//! the chain the county published in `out/public/anchors.json` (SQLite keeps them there): into
//! the table `anchors`, where the server checks each names an entry of the copied chain.

use std::io::Read;
use std::path::Path;

use postgres::types::{ToSql, Type};
use rusqlite::types::ValueRef;

use crate::digest::Hasher;

use super::super::error::{Fail, R, StoreError};
use super::super::{Anchor, SCHEMA_VERSION, Store};
use super::PgStore;

/// Tables only the PostgreSQL schema has (its version record, the chain's head, the bytes of
/// the snapshots SQLite keeps as files, the anchors SQLite keeps in `anchors.json`, and the
/// uploaded registry files SQLite keeps only in the project folder).
pub(crate) const PG_ONLY: &[&str] = &[
    "suiji_schema",
    "audit_head",
    "snapshot_files",
    "anchors",
    "registry_files",
    "registry_versions",
];

/// Bytes of a snapshot file per row of `snapshot_files`.
const PART: usize = 8 << 20;

/// Tables copied in this order (references point backwards); `draws` brings its rows and
/// `audit_log` its format 2 fields. Any other table follows, by name.
const ORDER: &[&str] = &[
    "database_facts",
    "snapshots",
    "commitments",
    "draws",
    // Before the results: a substitute's result needs the change that took it in.
    "draw_changes",
    "results",
    "publications",
    "scheduler_events",
    "users",
    "sessions",
    "login_failures",
    "redraw_requests",
    "rule_changes",
    "rule_versions",
    "audit_log",
];

/// The SQLite table of the manifests kept in pieces (`store::pieces`), which PostgreSQL keeps
/// whole in `draws.manifest_json`.
const PIECES: &str = "draw_manifest_pieces";

/// The rows of a draw, copied right after it.
const DRAW_ROWS: &[&str] = &[
    "draw_targets",
    "draw_team_members",
    "draw_unstaffed",
    "draw_exclusions",
];

/// How many rows a table holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCount {
    pub table: String,
    pub rows: i64,
}

/// What a copy did: per table, the rows in the SQLite file and in PostgreSQL after the copy
/// (equal, or the copy would not have been committed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    pub tables: Vec<(String, i64, i64)>,
    /// The snapshots kept as files beside the SQLite file, now in `snapshot_files`.
    pub files: Vec<CarriedFile>,
    /// The published anchors of the chain now in `anchors`.
    pub anchors: usize,
}

/// A snapshot file carried into `snapshot_files`: its hash, its size and the parts it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarriedFile {
    pub hash: String,
    pub bytes: u64,
    pub parts: i64,
}

impl PgStore {
    /// Copies every table of `source` into this database, which must hold no records yet, and
    /// appends `anchors` (the county's published anchors of the chain, in the order published)
    /// to the table `anchors`. All or nothing: one transaction, committed only when every
    /// table's count matches the source's and the server accepts every anchor.
    pub fn copy_from_sqlite(
        &self,
        source: &Store,
        anchors: &[Anchor],
    ) -> Result<Copied, StoreError> {
        let src = source
            .conn
            .unchecked_transaction()
            .map_err(|e| Fail::from(e).into_store(source.path()))?;
        let dir = source.snapshot_dir();
        let copied = self.write(|tx| {
            let mut copied = copy_all(&src, tx)?;
            copied.files = carry_files(&src, tx, &dir)?;
            copied.anchors = carry_anchors(tx, anchors)?;
            Ok(copied)
        })?;
        src.finish()
            .map_err(|e| Fail::from(e).into_store(source.path()))?;
        Ok(copied)
    }
}

fn copy_all(src: &rusqlite::Connection, tx: &mut postgres::Transaction<'_>) -> R<Copied> {
    // A manifest kept in pieces goes into its draw's row whole (`copy_draws`).
    let source_tables: Vec<String> = sqlite_tables(src)?
        .into_iter()
        .filter(|t| t != PIECES)
        .collect();
    let dest_tables = pg_tables(tx)?;
    if let Some(t) = source_tables.iter().find(|t| !dest_tables.contains(t)) {
        return Err(StoreError::invalid(
            "migration",
            format!(
                "table {t} of the SQLite file has no counterpart on PostgreSQL (this suiji \
                 writes schema version {SCHEMA_VERSION} on SQLite); upgrade suiji"
            ),
        )
        .into());
    }
    for t in &dest_tables {
        let n = pg_count(tx, t)?;
        if n > 0 {
            return Err(StoreError::invalid(
                "migration",
                format!(
                    "the PostgreSQL database already holds records ({n} rows in {t}); \
                     migrate into a new, empty database"
                ),
            )
            .into());
        }
    }
    let mut order: Vec<&str> = ORDER
        .iter()
        .copied()
        .filter(|t| source_tables.iter().any(|s| s == t))
        .collect();
    let special: Vec<&str> = ORDER.iter().chain(DRAW_ROWS).copied().collect();
    order.extend(
        source_tables
            .iter()
            .map(String::as_str)
            .filter(|t| !special.contains(t) && *t != "audit_v2"),
    );
    for table in order {
        match table {
            "draws" => copy_draws(src, tx)?,
            "audit_log" => copy_audit(src, tx)?,
            t => TableCopy::new(src, tx, t, None)?.run(src, tx, None, None)?,
        }
    }
    reset_identities(tx)?;
    let mut tables = Vec::new();
    for t in &source_tables {
        let (from, to) = (sqlite_count(src, t)?, pg_count(tx, t)?);
        if from != to {
            return Err(StoreError::invalid(
                "migration",
                format!("table {t}: {from} rows in the SQLite file, {to} copied; nothing was kept"),
            )
            .into());
        }
        tables.push((t.clone(), from, to));
    }
    Ok(Copied {
        tables,
        files: Vec::new(),
        anchors: 0,
    })
}

/// Appends the published anchors to `anchors`, in their order; the server refuses one that
/// names no entry of the copied chain, or an entry before the last anchored one.
fn carry_anchors(tx: &mut postgres::Transaction<'_>, anchors: &[Anchor]) -> R<usize> {
    let insert = tx.prepare(super::anchors::INSERT)?;
    for a in anchors {
        tx.execute(&insert, &[&a.at, &a.seq, &a.hash, &a.reason, &a.subject])?;
    }
    Ok(anchors.len())
}

/// Carries every snapshot the SQLite file keeps as a file (an empty `data` and a
/// `compressed_size` of 0) from `dir` into `snapshot_files`, a part at a time: the file must
/// hash to its name and hold the size recorded, and the parts read back from the server must
/// too. A missing or altered file stops the copy (nothing is committed).
fn carry_files(
    src: &rusqlite::Connection,
    tx: &mut postgres::Transaction<'_>,
    dir: &Path,
) -> R<Vec<CarriedFile>> {
    let files: Vec<(String, i64)> = src
        .prepare(
            "SELECT hash, size FROM snapshots
             WHERE compressed_size = 0 AND size > 0 AND length(data) = 0 ORDER BY id",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let insert = tx.prepare("INSERT INTO snapshot_files (hash, part, data) VALUES ($1, $2, $3)")?;
    let mut carried = Vec::with_capacity(files.len());
    for (hash, size) in files {
        let path = dir.join(format!("{hash}.csv"));
        let damaged = |detail: String| {
            Fail::Store(StoreError::SnapshotDamaged {
                path: path.clone(),
                hash: hash.clone(),
                detail,
            })
        };
        if !super::super::snapshots::valid_hash(&hash) {
            return Err(damaged("its hash is not 64 hexadecimal digits".into()));
        }
        let mut file =
            std::fs::File::open(&path).map_err(|e| damaged(format!("cannot read it: {e}")))?;
        let (mut hasher, mut bytes, mut parts) = (Hasher::default(), 0u64, 0i64);
        loop {
            let mut part = Vec::with_capacity(PART);
            (&mut file)
                .take(PART as u64)
                .read_to_end(&mut part)
                .map_err(|e| damaged(format!("cannot read it: {e}")))?;
            if part.is_empty() {
                break;
            }
            hasher.update(&part);
            bytes += part.len() as u64;
            tx.execute(&insert, &[&hash, &parts, &part])?;
            parts += 1;
        }
        let actual = hasher.finish();
        if actual != hash || i64::try_from(bytes).ok() != Some(size) {
            return Err(damaged(format!(
                "it holds {bytes} bytes hashing to {actual}; {size} bytes recorded"
            )));
        }
        let back = read_back(tx, &hash, parts)?;
        if back != hash {
            return Err(Fail::corrupt(format!(
                "snapshot {hash} read back from PostgreSQL hashes to {back}"
            )));
        }
        carried.push(CarriedFile { hash, bytes, parts });
    }
    Ok(carried)
}

/// The SHA-256 of a snapshot file's parts as the server holds them, a part at a time.
fn read_back(tx: &mut postgres::Transaction<'_>, hash: &str, parts: i64) -> R<String> {
    let select = tx.prepare("SELECT data FROM snapshot_files WHERE hash = $1 AND part = $2")?;
    let mut hasher = Hasher::default();
    for part in 0..parts {
        let data: Vec<u8> = tx.query_one(&select, &[&hash, &part])?.get(0);
        hasher.update(&data);
    }
    Ok(hasher.finish())
}

fn sqlite_tables(src: &rusqlite::Connection) -> R<Vec<String>> {
    let mut stmt = src.prepare(
        "SELECT name FROM sqlite_schema
         WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
    )?;
    let names = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(names)
}

fn pg_tables(tx: &mut postgres::Transaction<'_>) -> R<Vec<String>> {
    Ok(tx
        .query(
            "SELECT table_name::text FROM information_schema.tables
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'
             ORDER BY table_name",
            &[],
        )?
        .iter()
        .map(|r| r.get::<_, String>(0))
        .filter(|t| !PG_ONLY.contains(&t.as_str()))
        .collect())
}

fn sqlite_count(src: &rusqlite::Connection, table: &str) -> R<i64> {
    Ok(
        src.query_row(&format!("SELECT count(*) FROM \"{table}\""), [], |r| {
            r.get(0)
        })?,
    )
}

fn pg_count(tx: &mut postgres::Transaction<'_>, table: &str) -> R<i64> {
    Ok(tx
        .query_one(&format!("SELECT count(*) FROM \"{table}\""), &[])?
        .get(0))
}

/// The columns of a SQLite table, and the columns that order its rows (its primary key, or
/// its rowid).
fn columns(src: &rusqlite::Connection, table: &str) -> R<(Vec<String>, String)> {
    let mut stmt = src.prepare(&format!("PRAGMA table_info(\"{table}\")"))?;
    let mut names = Vec::new();
    let mut pk: Vec<(i64, String)> = Vec::new();
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let name: String = r.get(1)?;
        let key: i64 = r.get(5)?;
        if key > 0 {
            pk.push((key, name.clone()));
        }
        names.push(name);
    }
    pk.sort();
    let order = if pk.is_empty() {
        "rowid".to_string()
    } else {
        pk.iter()
            .map(|(_, n)| format!("\"{n}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Ok((names, order))
}

/// The copy of one table's rows: the insert prepared once on PostgreSQL.
struct TableCopy {
    table: String,
    names: Vec<String>,
    types: Vec<Type>,
    insert: postgres::Statement,
    select: String,
}

impl TableCopy {
    /// Prepares the copy of `table`'s rows (those whose `filter` column equals a key, when
    /// given), in the order of its key.
    fn new(
        src: &rusqlite::Connection,
        tx: &mut postgres::Transaction<'_>,
        table: &str,
        filter: Option<&str>,
    ) -> R<TableCopy> {
        let (names, order) = columns(src, table)?;
        let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
        let placeholders: Vec<String> = (1..=names.len()).map(|i| format!("${i}")).collect();
        let insert = tx.prepare(&format!(
            "INSERT INTO \"{table}\" ({}) VALUES ({})",
            quoted.join(", "),
            placeholders.join(", ")
        ))?;
        let types = insert.params().to_vec();
        let condition = match filter {
            Some(column) => format!("WHERE \"{column}\" = ?1"),
            None => String::new(),
        };
        let select = format!(
            "SELECT {} FROM \"{table}\" {condition} ORDER BY {order}",
            quoted.join(", ")
        );
        Ok(TableCopy {
            table: table.to_string(),
            names,
            types,
            insert,
            select,
        })
    }

    /// Copies the rows (of `key`, when the copy filters); `status` overrides the `status`
    /// column.
    fn run(
        &self,
        src: &rusqlite::Connection,
        tx: &mut postgres::Transaction<'_>,
        key: Option<i64>,
        status: Option<&str>,
    ) -> R<()> {
        let mut stmt = src.prepare_cached(&self.select)?;
        let mut rows = match key {
            Some(key) => stmt.query([key])?,
            None => stmt.query([])?,
        };
        while let Some(r) = rows.next()? {
            let mut params: Vec<Box<dyn ToSql + Sync>> = Vec::with_capacity(self.names.len());
            for (i, (name, ty)) in self.names.iter().zip(&self.types).enumerate() {
                let v = r.get_ref(i)?;
                match (status, key) {
                    (Some(s), _) if name == "status" => params.push(Box::new(s.to_string())),
                    (_, Some(id)) if self.table == "draws" && name == "manifest_json" => {
                        params.push(manifest(src, id, v, ty)?)
                    }
                    _ => params.push(param(v, ty, &self.table, name)?),
                }
            }
            let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref()).collect();
            tx.execute(&self.insert, &refs)?;
        }
        Ok(())
    }
}

/// Draw `id`'s `manifest_json` as PostgreSQL keeps it: the text, its pieces joined when SQLite
/// keeps it in pieces.
fn manifest(
    src: &rusqlite::Connection,
    id: i64,
    v: ValueRef<'_>,
    ty: &Type,
) -> R<Box<dyn ToSql + Sync>> {
    match v {
        ValueRef::Text(t) => match super::super::pieces::pieced(t) {
            Some(len) => Ok(Box::new(
                super::super::pieces::Pieces::new(src, id, len)?.whole()?,
            )),
            None => param(v, ty, "draws", "manifest_json"),
        },
        _ => param(v, ty, "draws", "manifest_json"),
    }
}

/// A SQLite value as the PostgreSQL column's type takes it.
fn param(v: ValueRef<'_>, ty: &Type, table: &str, column: &str) -> R<Box<dyn ToSql + Sync>> {
    let wrong = || {
        Fail::corrupt(format!(
            "{table}.{column} holds a value of the wrong type for PostgreSQL's {ty}"
        ))
    };
    Ok(match v {
        ValueRef::Null if *ty == Type::INT8 => Box::new(None::<i64>),
        ValueRef::Null if *ty == Type::BYTEA => Box::new(None::<Vec<u8>>),
        ValueRef::Null if *ty == Type::FLOAT8 => Box::new(None::<f64>),
        ValueRef::Null if *ty == Type::BOOL => Box::new(None::<bool>),
        ValueRef::Null => Box::new(None::<String>),
        ValueRef::Integer(i) if *ty == Type::INT8 => Box::new(i),
        ValueRef::Real(f) if *ty == Type::FLOAT8 => Box::new(f),
        ValueRef::Text(t) if *ty == Type::TEXT => {
            Box::new(String::from_utf8(t.to_vec()).map_err(|_| {
                Fail::corrupt(format!("{table}.{column} holds text that is not UTF-8"))
            })?)
        }
        ValueRef::Blob(b) if *ty == Type::BYTEA => Box::new(b.to_vec()),
        _ => return Err(wrong()),
    })
}

/// Draws in the order they were made, each inserted active with its rows and then superseded
/// when it was, as a redraw did.
fn copy_draws(src: &rusqlite::Connection, tx: &mut postgres::Transaction<'_>) -> R<()> {
    let draws: Vec<(i64, String)> = src
        .prepare("SELECT id, status FROM draws ORDER BY id")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let draw = TableCopy::new(src, tx, "draws", Some("id"))?;
    let rows = DRAW_ROWS
        .iter()
        .map(|t| TableCopy::new(src, tx, t, Some("draw_id")))
        .collect::<R<Vec<_>>>()?;
    for (id, status) in draws {
        draw.run(src, tx, Some(id), Some("active"))?;
        for copy in &rows {
            copy.run(src, tx, Some(id), None)?;
        }
        if status != "active" {
            tx.execute(
                "UPDATE draws SET status = $1 WHERE id = $2",
                &[&status, &id],
            )?;
        }
    }
    Ok(())
}

/// Audit entries in order, each followed by its format 2 fields (which may only complete the
/// entry just appended).
fn copy_audit(src: &rusqlite::Connection, tx: &mut postgres::Transaction<'_>) -> R<()> {
    let seqs: Vec<i64> = src
        .prepare("SELECT seq FROM audit_log ORDER BY seq")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let entry = TableCopy::new(src, tx, "audit_log", Some("seq"))?;
    let v2 = TableCopy::new(src, tx, "audit_v2", Some("seq"))?;
    for seq in seqs {
        entry.run(src, tx, Some(seq), None)?;
        v2.run(src, tx, Some(seq), None)?;
    }
    Ok(())
}

/// Moves every identity column's sequence past the ids copied, so new rows get new ids.
fn reset_identities(tx: &mut postgres::Transaction<'_>) -> R<()> {
    let columns: Vec<(String, String)> = tx
        .query(
            "SELECT table_name::text, column_name::text FROM information_schema.columns
             WHERE table_schema = current_schema() AND is_identity = 'YES'",
            &[],
        )?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    for (table, column) in columns {
        tx.execute(
            &format!(
                "SELECT setval(pg_get_serial_sequence($1, $2), max(\"{column}\"))
                 FROM \"{table}\" HAVING max(\"{column}\") IS NOT NULL"
            ),
            &[&format!("\"{table}\""), &column],
        )?;
    }
    Ok(())
}
