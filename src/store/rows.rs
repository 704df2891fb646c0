//! The hash of the rows an audit entry records (format 2's `rows_hash`), so that an edit made
//! to them later, behind suiji's back, can be found by hashing them again.
//!
//! Encoding (`suiji-rows-v1`), SHA-256 over:
//!
//! ```text
//! "suiji-rows-v1\n"
//! for each table, in the order listed below:
//!     u64be(byte length of name) name
//!     for each row, in the order listed:  0x01, then each listed column's value
//!     0x00
//! value: NULL 0x00 | INTEGER 0x01 i64be | REAL 0x02 f64be (IEEE bits)
//!        | TEXT 0x03 u64be(length) bytes | BLOB 0x04 u64be(length) bytes
//! ```
//!
//! What each kind of entry covers (columns exactly as listed in [`DRAW`], [`RESULTS`],
//! [`PUBLICATION`]): a draw, its row in `draws` (everything but `status`, which a redraw
//! changes) and its targets, team members, unstaffed targets and exclusions; results, their
//! rows (everything but `published_at`, which publication sets); a publication, its row and
//! each result it made public (every column, `published_at` included); a commitment, its row
//! in `commitments` ([`COMMITMENT`]); a change made to a draw after it was issued, its row in
//! `draw_changes` ([`CHANGE`]).

use rusqlite::{Connection, ToSql, types::ValueRef};
use sha2::{Digest, Sha256};

use super::error::R;

/// The rows an audit entry records.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Rows<'a> {
    /// The entry records no rows of its own (scheduler notes, rule reloads).
    None,
    /// A draw and its rows, by draw id.
    Draw(i64),
    /// Results, by id.
    Results(&'a [i64]),
    /// A publication, by id, and the results it made public.
    Publication { id: i64, results: &'a [i64] },
    /// A commitment to a seed source, by id.
    Commitment(i64),
    /// A change made to a draw after it was issued, by id.
    Change(i64),
}

/// One table of an encoding: its name, the columns hashed, and the condition (with `?1`)
/// and order that pick the rows.
pub(crate) type Table = (&'static str, &'static str, &'static str);

/// The rows of a draw.
pub const DRAW: &[Table] = &[
    (
        "draws",
        "id, matter, period, kind, algorithm, seed_hex, seed_source, rules_hash, \
         targets_snapshot, inspectors_snapshot, reference_date, issue_date, due_date, \
         created_at, actor, manifest_json, manifest_hash, redraw_of, redraw_reason, provisional",
        "id = ?1 ORDER BY id",
    ),
    (
        "draw_targets",
        "draw_id, seq, stratum, rank, target_id, target_name, selected, substitute, \
         substitute_for, rank_key",
        "draw_id = ?1 ORDER BY seq",
    ),
    (
        "draw_team_members",
        "draw_id, seq, target_id, position, inspector_id, inspector_name",
        "draw_id = ?1 ORDER BY seq",
    ),
    (
        "draw_unstaffed",
        "draw_id, seq, target_id, reason",
        "draw_id = ?1 ORDER BY seq",
    ),
    (
        "draw_exclusions",
        "draw_id, seq, entity_kind, entity_id, reason_code, detail",
        "draw_id = ?1 ORDER BY seq",
    ),
];

/// The rows of one result (hashed one after another, in the order of their ids).
pub const RESULTS: &[Table] = &[(
    "results",
    "id, draw_id, target_id, checklist_item, category, remarks, inspection_date, inspectors, \
     entered_at, entered_by, source_file, source_line",
    "id = ?1 ORDER BY id",
)];

/// The row of a publication; then, per result it made public, [`PUBLISHED`].
pub const PUBLICATION: &[Table] = &[(
    "publications",
    "id, draw_id, published_at, actor, files, results_count",
    "id = ?1 ORDER BY id",
)];

/// A result made public by a publication.
pub const PUBLISHED: &[Table] = &[(
    "results",
    "id, draw_id, target_id, checklist_item, category, remarks, inspection_date, inspectors, \
     entered_at, entered_by, source_file, source_line, published_at",
    "id = ?1 ORDER BY id",
)];

/// One stored value, as hashed (text as its exact stored bytes).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Integer(i64),
    Real(f64),
    Text(Vec<u8>),
    Blob(Vec<u8>),
}

/// The rows of one table as they are read, each hashed as it comes: a draw's team members run
/// to hundreds of thousands of rows and its manifest to a hundred megabytes, never held at
/// once.
pub(crate) struct Hashing<'h> {
    h: &'h mut Sha256,
    /// Rows read for a run of ids by one query, hashed as if each id's were read by its own.
    run: Option<Run>,
}

/// Where a run of ids read by one query stands ([`Hashing`]): each id's rows are hashed as the
/// rows of a table of their own (its name, the rows, `0x00`), as one query per id would have
/// read them, an id without a row as a table without rows.
struct Run {
    name: &'static str,
    /// The next id not yet started.
    next: i64,
    /// An id's table is started and not ended.
    open: bool,
    /// A row is started and its id (its first value) not yet seen.
    pending: bool,
}

impl<'h> Hashing<'h> {
    fn new(h: &'h mut Sha256) -> Hashing<'h> {
        Hashing { h, run: None }
    }

    /// Starts the next row.
    pub(crate) fn row(&mut self) {
        match &mut self.run {
            Some(run) => {
                if std::mem::take(&mut run.open) {
                    self.h.update([0u8]);
                }
                run.pending = true;
            }
            None => self.h.update([1u8]),
        }
    }

    /// Ends every id of the run up to `last` (the rows read, the ids without one).
    fn end_run(&mut self, last: i64) {
        if let Some(mut run) = self.run.take() {
            if run.open {
                self.h.update([0u8]);
            }
            while run.next <= last {
                table_name(self.h, run.name);
                self.h.update([0u8]);
                run.next += 1;
            }
        }
    }

    /// The row's next value, borrowed as the database hands it over.
    pub(crate) fn value(&mut self, v: ValueRef<'_>) {
        if let (Some(run), ValueRef::Integer(id)) = (&mut self.run, v)
            && std::mem::take(&mut run.pending)
        {
            // The ids before this row's have none.
            while run.next < id {
                table_name(self.h, run.name);
                self.h.update([0u8]);
                run.next += 1;
            }
            table_name(self.h, run.name);
            self.h.update([1u8]);
            run.open = true;
            run.next = id.saturating_add(1);
        }
        match v {
            ValueRef::Null => self.h.update([0u8]),
            ValueRef::Integer(i) => {
                self.h.update([1u8]);
                self.h.update(i.to_be_bytes());
            }
            ValueRef::Real(f) => {
                self.h.update([2u8]);
                self.h.update(f.to_bits().to_be_bytes());
            }
            ValueRef::Text(t) => bytes(self.h, 3, t),
            ValueRef::Blob(b) => bytes(self.h, 4, b),
        }
    }

    /// The row's next value, a text (`text`) or a blob of `len` bytes read from `read`.
    fn stream(
        &mut self,
        text: bool,
        len: u64,
        read: &mut dyn std::io::Read,
    ) -> std::io::Result<()> {
        self.h.update([if text { 3u8 } else { 4u8 }]);
        self.h.update(len.to_be_bytes());
        let copied = std::io::copy(read, &mut *self.h)?;
        if copied != len {
            return Err(std::io::Error::other("the value changed while it was read"));
        }
        Ok(())
    }

    /// The row's next value, owned.
    pub(crate) fn owned(&mut self, v: &Value) {
        self.value(match v {
            Value::Null => ValueRef::Null,
            Value::Integer(i) => ValueRef::Integer(*i),
            Value::Real(f) => ValueRef::Real(*f),
            Value::Text(t) => ValueRef::Text(t),
            Value::Blob(b) => ValueRef::Blob(b),
        });
    }
}

/// A text (`tag` 3) or blob (4): its length, then its bytes.
fn bytes(h: &mut Sha256, tag: u8, b: &[u8]) {
    h.update([tag]);
    h.update((b.len() as u64).to_be_bytes());
    h.update(b);
}

/// Reads the rows of one table for the encoding: given the query (`SELECT … WHERE …` with
/// the keys as `?1`, `?2`) and the keys, hands each row in order to the [`Hashing`].
pub(crate) type Fetch<'f> = dyn FnMut(&Table, &[i64], &mut Hashing<'_>) -> R<()> + 'f;

/// The query of one table's rows, `?1` (and `?2`) the keys.
pub(crate) fn select((name, columns, filter): &Table) -> String {
    format!("SELECT {columns} FROM {name} WHERE {filter}")
}

/// The column whose text runs to a hundred megabytes for a large draw (table, column): SQLite
/// hashes it read a piece at a time.
const LONG: (&str, &str) = ("draws", "manifest_json");

/// The row of a commitment (every column).
pub const COMMITMENT: &[Table] = &[(
    "commitments",
    super::commitments::COLUMNS,
    "id = ?1 ORDER BY id",
)];

/// The row of a change made to a draw after it was issued (every column).
pub const CHANGE: &[Table] = &[(
    "draw_changes",
    super::changes::COLUMNS,
    "id = ?1 ORDER BY id",
)];

/// The hash of `rows` as they are now in the database (`None` for [`Rows::None`]).
pub(crate) fn rows_hash(c: &Connection, rows: Rows<'_>) -> R<Option<String>> {
    rows_hash_by(rows, &mut |table, key, hashing| {
        let (name, columns, filter) = *table;
        // The long column is read as its type and the row's id, then in pieces.
        let long = (name == LONG.0)
            .then(|| columns.split(',').position(|c| c.trim() == LONG.1))
            .flatten();
        let sql = match long {
            None => select(table),
            Some(_) => {
                let typed = columns.replace(LONG.1, &format!("typeof({})", LONG.1));
                format!("SELECT {typed}, rowid FROM {name} WHERE {filter}")
            }
        };
        let mut stmt = c.prepare_cached(&sql)?;
        let n = columns.split(',').count();
        let mut rows = stmt.query(rusqlite::params_from_iter(key))?;
        while let Some(r) = rows.next()? {
            hashing.row();
            for i in 0..n {
                match long {
                    Some(l) if l == i => long_value(c, hashing, r.get_ref(i)?, r.get(n)?)?,
                    _ => hashing.value(r.get_ref(i)?),
                }
            }
        }
        Ok(())
    })
}

/// Hashes the [`LONG`] column of row `rowid`, whose type is `kind`: a text or blob read in
/// pieces, any other value as it is.
fn long_value(c: &Connection, hashing: &mut Hashing<'_>, kind: ValueRef<'_>, rowid: i64) -> R<()> {
    let kind = kind
        .as_str()
        .map_err(|e| super::error::Fail::corrupt(format!("{}.{}: {e}", LONG.0, LONG.1)))?;
    let text = match kind {
        "text" => true,
        "blob" => false,
        _ => {
            let sql = format!("SELECT {} FROM {} WHERE rowid = ?1", LONG.1, LONG.0);
            let mut stmt = c.prepare_cached(&sql)?;
            let mut rows = stmt.query([rowid])?;
            if let Some(r) = rows.next()? {
                hashing.value(r.get_ref(0)?);
            }
            return Ok(());
        }
    };
    let corrupt =
        |e: std::io::Error| super::error::Fail::corrupt(format!("{}.{}: {e}", LONG.0, LONG.1));
    let mut blob = c.blob_open(rusqlite::MAIN_DB, LONG.0, LONG.1, rowid, true)?;
    // A text kept in pieces hashes as the text itself (`store::pieces`).
    if text && let Some(len) = super::pieces::pieced_blob(&mut blob)? {
        let mut pieces = super::pieces::Pieces::new(c, rowid, len)?;
        let mut read = std::io::BufReader::with_capacity(1 << 20, &mut pieces);
        return match hashing.stream(true, len, &mut read) {
            // Pieces that no longer add up to the length recorded were changed since (they did
            // when they were stored): hashed so as to differ, a changed row like any other.
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                hashing.h.update(b"\xffpieces that do not add up");
                Ok(())
            }
            done => done.map_err(corrupt),
        };
    }
    let len = blob.len() as u64;
    let mut read = std::io::BufReader::with_capacity(1 << 20, &mut blob);
    hashing.stream(text, len, &mut read).map_err(corrupt)
}

/// The hash of `rows`, each table's rows read by `fetch`: the one encoding, whatever the
/// database.
pub(crate) fn rows_hash_by(rows: Rows<'_>, fetch: &mut Fetch<'_>) -> R<Option<String>> {
    let mut h = Sha256::new();
    h.update(b"suiji-rows-v1\n");
    match rows {
        Rows::None => return Ok(None),
        Rows::Draw(id) => tables(fetch, &mut h, DRAW, id)?,
        Rows::Commitment(id) => tables(fetch, &mut h, COMMITMENT, id)?,
        Rows::Change(id) => tables(fetch, &mut h, CHANGE, id)?,
        Rows::Results(ids) => runs(fetch, &mut h, &RESULTS[0], ids)?,
        Rows::Publication { id, results } => {
            tables(fetch, &mut h, PUBLICATION, id)?;
            runs(fetch, &mut h, &PUBLISHED[0], results)?;
        }
    }
    Ok(Some(hex::encode(h.finalize())))
}

fn tables(fetch: &mut Fetch<'_>, h: &mut Sha256, tables: &[Table], key: i64) -> R<()> {
    for table in tables {
        table_name(h, table.0);
        fetch(table, &[key], &mut Hashing::new(&mut *h))?;
        h.update([0u8]);
    }
    Ok(())
}

/// The start of a table's rows: its name's length and its name.
fn table_name(h: &mut Sha256, name: &str) {
    h.update((name.len() as u64).to_be_bytes());
    h.update(name.as_bytes());
}

/// [`tables`] of `table` for each of `ids` in order, each run of consecutive ids read by one
/// query (an import's results, a publication's, run to 1.47 million ids, mostly consecutive):
/// the same bytes as one query per id.
fn runs(fetch: &mut Fetch<'_>, h: &mut Sha256, table: &Table, ids: &[i64]) -> R<()> {
    let mut at = 0;
    while let Some(&first) = ids.get(at) {
        let mut end = at + 1;
        while ids
            .get(end)
            .is_some_and(|&id| ids[end - 1].checked_add(1) == Some(id))
        {
            end += 1;
        }
        let last = ids[end - 1];
        if end - at == 1 {
            tables(fetch, h, std::slice::from_ref(table), first)?;
        } else {
            let ranged: Table = (table.0, table.1, "id BETWEEN ?1 AND ?2 ORDER BY id");
            let mut hashing = Hashing::new(&mut *h);
            hashing.run = Some(Run {
                name: table.0,
                next: first,
                open: false,
                pending: false,
            });
            fetch(&ranged, &[first, last], &mut hashing)?;
            hashing.end_run(last);
        }
        at = end;
    }
    Ok(())
}

/// A draw's rows hash ([`DRAW`]'s encoding), or results' ([`RESULTS`]'), made as the rows are
/// inserted, from each value as it is bound, so that recording a national draw does not read
/// its million rows and its manifest back, nor an import its results one by one (on SQLite). Every table it covers is STRICT: a value is stored as it is bound, so the
/// hash is the one [`rows_hash`] gives reading the rows from the database (which `audit
/// verify` does, and which the store's tests compare with this one).
pub(crate) struct Inserted {
    h: Sha256,
}

impl Inserted {
    pub(crate) fn new() -> Inserted {
        let mut h = Sha256::new();
        h.update(b"suiji-rows-v1\n");
        Inserted { h }
    }

    /// Starts the rows of table `name`.
    pub(crate) fn table(&mut self, name: &str) {
        self.h.update((name.len() as u64).to_be_bytes());
        self.h.update(name.as_bytes());
    }

    /// Ends the rows of the table started last.
    pub(crate) fn end_table(&mut self) {
        self.h.update([0u8]);
    }

    /// Starts a row.
    pub(crate) fn row(&mut self) {
        Hashing::new(&mut self.h).row();
    }

    /// The row's next values, as they are bound.
    pub(crate) fn values(&mut self, values: &[&dyn ToSql]) -> R<()> {
        use rusqlite::types::ToSqlOutput;
        let mut hashing = Hashing::new(&mut self.h);
        for v in values {
            match v.to_sql()? {
                ToSqlOutput::Borrowed(v) => hashing.value(v),
                ToSqlOutput::Owned(v) => hashing.owned(&match v {
                    rusqlite::types::Value::Null => Value::Null,
                    rusqlite::types::Value::Integer(i) => Value::Integer(i),
                    rusqlite::types::Value::Real(f) => Value::Real(f),
                    rusqlite::types::Value::Text(t) => Value::Text(t.into_bytes()),
                    rusqlite::types::Value::Blob(b) => Value::Blob(b),
                }),
                _ => {
                    return Err(super::StoreError::invalid(
                        "a row",
                        "a value bound has no stored form to hash",
                    )
                    .into());
                }
            }
        }
        Ok(())
    }

    /// The row's next value, a text of `len` bytes, which the caller then hands over in order
    /// ([`Inserted::text_bytes`]).
    pub(crate) fn text_of_len(&mut self, len: u64) {
        self.h.update([3u8]);
        self.h.update(len.to_be_bytes());
    }

    /// The next bytes of the text started by [`Inserted::text_of_len`].
    pub(crate) fn text_bytes(&mut self, bytes: &[u8]) {
        self.h.update(bytes);
    }

    pub(crate) fn finish(self) -> String {
        hex::encode(self.h.finalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Results' rows hashed with each run of consecutive ids read by one query are the bytes
    /// the encoding gives for one query per id, written out here from its definition: ids
    /// with and without a row, runs at the start, the middle and the end, ids out of order
    /// and given twice.
    #[test]
    fn runs_of_ids_hash_as_one_query_per_id() -> Result<(), Box<dyn std::error::Error>> {
        let c = Connection::open_in_memory()?;
        c.execute_batch(
            "CREATE TABLE results (id INTEGER PRIMARY KEY, draw_id INTEGER, target_id TEXT,
                checklist_item TEXT, category TEXT, remarks TEXT, inspection_date TEXT,
                inspectors TEXT, entered_at TEXT, entered_by TEXT, source_file TEXT,
                source_line INTEGER, published_at TEXT);",
        )?;
        let present = [1i64, 2, 3, 5, 6, 9];
        for id in present {
            let file = (id % 2 == 0).then_some("a.csv");
            c.execute(
                "INSERT INTO results VALUES (?1, 7, ?2, 'hotel-01', '未发现问题', '', '2025-02-10',
                    '[\"I1\"]', 'at', 'clerk', ?3, ?4, NULL)",
                rusqlite::params![id, format!("T{id}"), file, file.map(|_| id + 1)],
            )?;
        }
        let row_bytes = |h: &mut Sha256, id: i64| {
            h.update((7u64).to_be_bytes());
            h.update(b"results");
            if present.contains(&id) {
                h.update([1u8]);
                let int = |h: &mut Sha256, i: i64| {
                    h.update([1u8]);
                    h.update(i.to_be_bytes());
                };
                let text = |h: &mut Sha256, t: &str| bytes(h, 3, t.as_bytes());
                int(h, id);
                int(h, 7);
                text(h, &format!("T{id}"));
                for t in [
                    "hotel-01",
                    "未发现问题",
                    "",
                    "2025-02-10",
                    "[\"I1\"]",
                    "at",
                    "clerk",
                ] {
                    text(h, t);
                }
                if id % 2 == 0 {
                    text(h, "a.csv");
                    int(h, id + 1);
                } else {
                    h.update([0u8, 0u8]);
                }
            }
            h.update([0u8]);
        };
        for ids in [
            &[1i64, 2, 3, 4, 5, 6, 7, 8, 9][..],
            &[0, 1, 2, 3],
            &[4, 5, 6, 3, 2, 9, 10, 11],
            &[6, 7, 8, 8, 9, 1],
            &[2],
            &[],
        ] {
            let mut want = Sha256::new();
            want.update(b"suiji-rows-v1\n");
            for &id in ids {
                row_bytes(&mut want, id);
            }
            let want = hex::encode(want.finalize());
            let got = rows_hash(&c, Rows::Results(ids)).map_err(|e| format!("{e:?}"))?;
            assert_eq!(got, Some(want), "{ids:?}");
        }
        Ok(())
    }
}
