//! The audit chain on PostgreSQL: the same entries, encodings and checks as on SQLite
//! (`store::audit`, `store::rows`), appended under the row lock of `audit_head`.

use postgres::types::Type;

use super::super::audit::{AuditEntry, AuditReport, AuditV2, Entry, Walk, chained, recorded_rows};
use super::super::error::{Fail, R};
use super::super::rows::{Rows, Value, rows_hash_by};
use super::super::{AuditLog, StoreError};
use super::PgStore;

/// How many entries a walk along the chain reads at a time.
const BATCH: i64 = 1000;

const SELECT_ENTRIES: &str = "SELECT a.seq, a.at, a.actor, a.action, a.subject, a.detail,
        a.prev_hash, a.hash, v.seq, v.os_user, v.host, v.console_user, v.rows_hash
     FROM audit_log a LEFT JOIN audit_v2 v ON v.seq = a.seq";

/// Appends an entry of format 2 inside the caller's transaction, returning its seq. The head
/// row is locked first: a second writer (on this node or another) waits here until this
/// transaction ends, then reads the head this one wrote.
pub(crate) fn append<D: serde::Serialize>(
    tx: &mut postgres::Transaction<'_>,
    origin: &super::super::Origin,
    e: &Entry<'_, D>,
) -> R<i64> {
    append_with(tx, origin, e, None)
}

/// [`append`] for an entry whose rows hash was made as its rows were inserted
/// (`store::rows::Inserted`): `rows_hash`.
pub(crate) fn append_hashed<D: serde::Serialize>(
    tx: &mut postgres::Transaction<'_>,
    origin: &super::super::Origin,
    e: &Entry<'_, D>,
    rows_hash: String,
) -> R<i64> {
    append_with(tx, origin, e, Some(rows_hash))
}

fn append_with<D: serde::Serialize>(
    tx: &mut postgres::Transaction<'_>,
    origin: &super::super::Origin,
    e: &Entry<'_, D>,
    hashed: Option<String>,
) -> R<i64> {
    let head = tx.query_one("SELECT seq, hash FROM audit_head FOR UPDATE", &[])?;
    let (last_seq, last_hash): (i64, String) = (head.get(0), head.get(1));
    let (entry, v2) = chained(origin, e, last_seq, last_hash, |rows| match hashed {
        Some(h) => Ok(Some(h)),
        None => rows_hash(tx, rows),
    })?;
    tx.execute(
        "INSERT INTO audit_log (seq, at, actor, action, subject, detail, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &entry.seq,
            &entry.at,
            &entry.actor,
            &entry.action,
            &entry.subject,
            &entry.detail,
            &entry.prev_hash,
            &entry.hash,
        ],
    )?;
    tx.execute(
        "INSERT INTO audit_v2 (seq, os_user, host, console_user, rows_hash)
         VALUES ($1, $2, $3, $4, $5)",
        &[
            &entry.seq,
            &v2.os_user,
            &v2.host,
            &v2.console_user,
            &v2.rows_hash,
        ],
    )?;
    Ok(entry.seq)
}

/// The hash of `rows` as they are now (the encoding of `store::rows`, values read by their
/// column types).
pub(crate) fn rows_hash(tx: &mut postgres::Transaction<'_>, rows: Rows<'_>) -> R<Option<String>> {
    rows_hash_by(rows, &mut |table, key, hashing| {
        let sql = super::super::rows::select(table)
            .replace("?1", "$1")
            .replace("?2", "$2");
        use postgres::fallible_iterator::FallibleIterator as _;
        // Rows hashed as they arrive, not collected (a draw's run to hundreds of thousands).
        let keys = key
            .iter()
            .map(|k| k as &(dyn postgres::types::ToSql + Sync));
        let mut rows = tx.query_raw(&sql, keys)?;
        while let Some(row) = rows.next()? {
            hashing.row();
            for (i, column) in row.columns().iter().enumerate() {
                hashing.owned(&value(&row, i, column.type_())?);
            }
        }
        Ok(())
    })
}

/// One column of `row` as the encoding sees it.
pub(crate) fn value(row: &postgres::Row, i: usize, ty: &Type) -> R<Value> {
    let v = if *ty == Type::INT8 {
        row.try_get::<_, Option<i64>>(i)?.map(Value::Integer)
    } else if *ty == Type::INT4 {
        row.try_get::<_, Option<i32>>(i)?
            .map(|n| Value::Integer(n.into()))
    } else if *ty == Type::BOOL {
        row.try_get::<_, Option<bool>>(i)?
            .map(|b| Value::Integer(b.into()))
    } else if *ty == Type::TEXT || *ty == Type::VARCHAR || *ty == Type::NAME {
        row.try_get::<_, Option<String>>(i)?
            .map(|t| Value::Text(t.into_bytes()))
    } else if *ty == Type::BYTEA {
        row.try_get::<_, Option<Vec<u8>>>(i)?.map(Value::Blob)
    } else if *ty == Type::FLOAT8 {
        row.try_get::<_, Option<f64>>(i)?.map(Value::Real)
    } else {
        return Err(Fail::corrupt(format!(
            "column {} has the type {ty}, which suiji does not store",
            row.columns()[i].name()
        )));
    };
    Ok(v.unwrap_or(Value::Null))
}

fn read_entry(r: &postgres::Row) -> R<AuditEntry> {
    let v2 = match r.try_get::<_, Option<i64>>(8)? {
        None => None,
        Some(_) => Some(AuditV2 {
            os_user: r.try_get(9)?,
            host: r.try_get(10)?,
            console_user: r.try_get(11)?,
            rows_hash: r.try_get(12)?,
        }),
    };
    Ok(AuditEntry {
        seq: r.try_get(0)?,
        at: r.try_get(1)?,
        actor: r.try_get(2)?,
        action: r.try_get(3)?,
        subject: r.try_get(4)?,
        detail: r.try_get(5)?,
        prev_hash: r.try_get(6)?,
        hash: r.try_get(7)?,
        v2,
    })
}

fn entries(tx: &mut postgres::Transaction<'_>, after_seq: i64, limit: i64) -> R<Vec<AuditEntry>> {
    tx.query(
        &format!("{SELECT_ENTRIES} WHERE a.seq > $1 ORDER BY a.seq LIMIT $2"),
        &[&after_seq, &limit],
    )?
    .iter()
    .map(read_entry)
    .collect()
}

impl PgStore {
    /// Appends an entry (recording no rows of its own) in its own transaction; returns its
    /// seq.
    pub fn append_audit(
        &self,
        at: &str,
        actor: &str,
        action: &str,
        subject: &str,
        detail: &impl serde::Serialize,
    ) -> Result<i64, StoreError> {
        let origin = self.origin.clone();
        self.write(|tx| {
            let e = Entry {
                at,
                actor,
                action,
                subject,
                detail,
                rows: Rows::None,
            };
            append(tx, &origin, &e)
        })
    }
}

impl AuditLog for PgStore {
    fn verify_audit(&self) -> Result<AuditReport, StoreError> {
        self.read(|tx| {
            let mut walk = Walk::new();
            let mut after = 0;
            loop {
                let batch = entries(tx, after, BATCH)?;
                let Some(last) = batch.last() else { break };
                after = last.seq;
                for e in batch {
                    if let Some(broken) = walk.gap(e.seq) {
                        return Ok(broken);
                    }
                    let step = walk.step(e, |e| recorded_rows(e, |rows| rows_hash(tx, rows)))?;
                    if let Some(broken) = step {
                        return Ok(broken);
                    }
                }
            }
            Ok(walk.finish())
        })
    }

    fn audit_last_seq(&self) -> Result<i64, StoreError> {
        self.read(|tx| {
            Ok(tx
                .query_one("SELECT coalesce(max(seq), 0)::bigint FROM audit_log", &[])?
                .try_get(0)?)
        })
    }

    fn audit_entries(&self, after_seq: i64, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        self.read(|tx| entries(tx, after_seq, i64::from(limit)))
    }
}

impl PgStore {
    /// Whether the connection may still be used (not ended by the server or the network).
    pub fn is_open(&self) -> bool {
        !self.client.borrow().is_closed()
    }

    /// What the console keys the pages it keeps by (`ConsoleStore::change_marker`): the last
    /// audit entry's number but for logins (`UNSEEN_ACTIONS`: they open sessions and count
    /// failures, which no kept page shows), and the last scheduler event's number (the
    /// service records those without an audit entry). Every write a page shows appends one
    /// or the other, on any node.
    pub fn change_marker(&self) -> Result<(i64, i64), StoreError> {
        let unseen: Vec<&str> = super::super::console_store::UNSEEN_ACTIONS.to_vec();
        self.read(|tx| {
            let r = tx.query_one(
                "SELECT
                   coalesce((SELECT seq FROM audit_log WHERE action <> ALL($1)
                             ORDER BY seq DESC LIMIT 1), 0)::bigint,
                   coalesce((SELECT max(id) FROM scheduler_events), 0)::bigint",
                &[&unseen],
            )?;
            Ok((r.try_get(0)?, r.try_get(1)?))
        })
    }
}
