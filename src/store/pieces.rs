//! A manifest's text kept in pieces (schema version 12).
//!
//! A draw's manifest runs to 150 MB for a national registry, 200 MB for a later draw of its
//! year. Stored as one value of `draws.manifest_json`, SQLite makes it twice in memory while the
//! row is inserted (the value, then the row's record), whatever is written into it afterwards.
//! A manifest recorded from its file is therefore kept in `draw_manifest_pieces`: pieces of
//! about [`PIECE`] bytes, in order, each a whole number of UTF-8 characters, and
//! `draws.manifest_json` holds the text's length in bytes as a JSON number. A manifest is
//! always a JSON object, never a number, so the two cannot be mistaken (a draw whose manifest
//! text is a number is refused: `store::draws::validate`).
//!
//! The text is the pieces joined. Every reader reads it as if it were the column's: the
//! draw's manifest ([`crate::store::Store::manifest_json`]), its reader
//! ([`crate::store::Store::read_manifest`]), the rows hash of the audit log (which hashes the
//! text, so that a draw hashes the same whichever way it is kept) and the copy to PostgreSQL
//! (which keeps the text in the column). Pieces that do not add up to the length recorded read
//! as a corrupt record.

use std::io::Read;

use rusqlite::{CachedStatement, Connection};

use super::draws::unreadable_manifest;
use super::error::{Fail, R};

/// About how many bytes of a manifest each piece holds (a piece is cut at the last whole
/// character once this many are waiting, so it may run a read buffer longer).
pub(crate) const PIECE: usize = 1 << 20;

/// The length in bytes of a text kept in pieces, from its `manifest_json`; `None` for a text
/// kept in the column.
pub(crate) fn pieced(text: &[u8]) -> Option<u64> {
    if text.is_empty() || text.len() > 20 || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// The length of a text kept in pieces, from the open `manifest_json` of its draw (read only
/// when it is short enough to be a length, and left at its start); `None` for a text kept in
/// the column.
pub(crate) fn pieced_blob(blob: &mut rusqlite::blob::Blob<'_>) -> R<Option<u64>> {
    if blob.len() > 20 {
        return Ok(None);
    }
    let mut text = Vec::with_capacity(20);
    let corrupt = |e: std::io::Error| Fail::corrupt(format!("draws.manifest_json: {e}"));
    blob.read_to_end(&mut text).map_err(corrupt)?;
    // Read again from its start by whoever reads the text itself.
    std::io::Seek::rewind(blob).map_err(corrupt)?;
    Ok(pieced(&text))
}

/// Stores the manifest file `path` (`len` bytes, as `draws.manifest_json` records) as draw
/// `id`'s pieces, checked as UTF-8 as it is read and, when its writer gave its SHA-256
/// (`sha256`), against that hash, else as JSON: the text stored is the text checked, never
/// held whole; a text that fails the check, or a file that changed while it was read, fails
/// (and rolls the draw back). The bytes stored go on to `rows` (the draw's rows hash) as they
/// are stored.
pub(crate) fn store(
    tx: &Connection,
    id: i64,
    (path, sha256): (&std::path::Path, Option<&str>),
    len: u64,
    rows: Option<&mut super::rows::Inserted>,
) -> R<()> {
    let file = std::fs::File::open(path).map_err(|e| unreadable_manifest(path, &e))?;
    let mut tee = Tee {
        file,
        insert: tx.prepare_cached(
            "INSERT INTO draw_manifest_pieces (draw_id, piece, text) VALUES (?1, ?2, ?3)",
        )?,
        id,
        pending: Vec::with_capacity(PIECE + (64 << 10)),
        next: 0,
        read: 0,
        len,
        hash: sha256.map(|_| crate::digest::Hasher::default()),
        rows,
        failed: None,
    };
    let checked = match sha256 {
        // Its bytes are hashed as they go by; the hash is compared below.
        Some(_) => std::io::copy(
            &mut std::io::BufReader::with_capacity(1 << 20, &mut tee),
            &mut std::io::sink(),
        )
        .map(drop),
        None => serde_json::from_reader::<_, serde::de::IgnoredAny>(
            std::io::BufReader::with_capacity(64 << 10, &mut tee),
        )
        .map(drop)
        .map_err(std::io::Error::from),
    };
    if let Some(e) = tee.failed.take() {
        return Err(e.into());
    }
    checked.map_err(|e| unreadable_manifest(path, &e))?;
    if tee.read != len {
        return Err(unreadable_manifest(
            path,
            &"the file changed while it was stored",
        ));
    }
    let flushed = tee.flush(true);
    if let Some(e) = tee.failed.take() {
        return Err(e.into());
    }
    flushed.map_err(|e| unreadable_manifest(path, &e))?;
    let found = tee.hash.take().map(crate::digest::Hasher::finish);
    match (found, sha256) {
        (Some(found), Some(expected)) if found != expected => Err(unreadable_manifest(
            path,
            &super::draws::CHANGED_SINCE_WRITTEN,
        )),
        _ => Ok(()),
    }
}

/// A file read for its check, its bytes stored as pieces as they go by.
struct Tee<'c> {
    file: std::fs::File,
    insert: CachedStatement<'c>,
    id: i64,
    /// Bytes read and not yet stored.
    pending: Vec<u8>,
    /// The number of the next piece.
    next: i64,
    read: u64,
    len: u64,
    /// The bytes' SHA-256 so far, when the file is checked by its writer's hash.
    hash: Option<crate::digest::Hasher>,
    /// The draw's rows hash, which takes the bytes as they are stored.
    rows: Option<&'c mut super::rows::Inserted>,
    /// The database's error, when storing a piece failed (the read then fails too).
    failed: Option<rusqlite::Error>,
}

impl Tee<'_> {
    /// Stores what is waiting, up to its last whole character (all of it when `last`, which
    /// refuses a text that ends inside a character).
    fn flush(&mut self, last: bool) -> std::io::Result<()> {
        let cut = match std::str::from_utf8(&self.pending) {
            Ok(s) => s.len(),
            Err(e) if e.error_len().is_none() && !last => e.valid_up_to(),
            Err(_) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "the text is not UTF-8",
                ));
            }
        };
        if cut == 0 {
            return Ok(());
        }
        let text = std::str::from_utf8(&self.pending[..cut])
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        if let Err(e) = self
            .insert
            .execute(rusqlite::params![self.id, self.next, text])
        {
            self.failed = Some(e);
            return Err(std::io::Error::other("the piece could not be stored"));
        }
        self.next += 1;
        if let Some(rows) = &mut self.rows {
            rows.text_bytes(&self.pending[..cut]);
        }
        self.pending.drain(..cut);
        Ok(())
    }
}

impl Read for &mut Tee<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read(buf)?;
        self.read += n as u64;
        if self.read > self.len {
            return Err(std::io::Error::other(
                "the file changed while it was stored",
            ));
        }
        self.pending.extend_from_slice(&buf[..n]);
        if let Some(h) = &mut self.hash {
            h.update(&buf[..n]);
        }
        if self.pending.len() >= PIECE {
            self.flush(false)?;
        }
        Ok(n)
    }
}

/// Draw `id`'s text, `len` bytes kept in pieces, read a piece at a time by SQLite's
/// incremental I/O straight into the reader's buffer (no piece is made as a value or copied
/// twice); a read fails (`InvalidData`) when the pieces do not add up to `len`.
pub(crate) struct Pieces<'c> {
    c: &'c Connection,
    select: CachedStatement<'c>,
    id: i64,
    next: i64,
    piece: Option<rusqlite::blob::Blob<'c>>,
    read: u64,
    len: u64,
}

impl<'c> Pieces<'c> {
    pub(crate) fn new(c: &'c Connection, id: i64, len: u64) -> R<Pieces<'c>> {
        Ok(Pieces {
            c,
            select: c.prepare_cached(
                "SELECT rowid FROM draw_manifest_pieces WHERE draw_id = ?1 AND piece = ?2",
            )?,
            id,
            next: 0,
            piece: None,
            read: 0,
            len,
        })
    }

    /// The whole text.
    pub(crate) fn whole(mut self) -> R<String> {
        let mut text = String::with_capacity(usize::try_from(self.len).unwrap_or(0));
        self.read_to_string(&mut text)
            .map_err(|e| Fail::corrupt(format!("the manifest of draw {}: {e}", self.id)))?;
        Ok(text)
    }

    /// Opens the next piece; false when there is none.
    fn open_next(&mut self) -> std::io::Result<bool> {
        use rusqlite::OptionalExtension as _;
        let rowid = self
            .select
            .query_row(rusqlite::params![self.id, self.next], |r| {
                r.get::<_, i64>(0)
            })
            .optional()
            .map_err(std::io::Error::other)?;
        let Some(rowid) = rowid else {
            return Ok(false);
        };
        let blob = self
            .c
            .blob_open(
                rusqlite::MAIN_DB,
                "draw_manifest_pieces",
                "text",
                rowid,
                true,
            )
            .map_err(std::io::Error::other)?;
        self.piece = Some(blob);
        self.next += 1;
        Ok(true)
    }
}

impl Read for Pieces<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if let Some(piece) = &mut self.piece {
                let n = piece.read(buf)?;
                if n > 0 {
                    self.read += n as u64;
                    if self.read > self.len {
                        return Err(std::io::Error::new(
                            std::io::ErrorKind::InvalidData,
                            format!("its pieces hold more than the {} bytes recorded", self.len),
                        ));
                    }
                    return Ok(n);
                }
                self.piece = None;
            }
            if !self.open_next()? {
                if self.read == self.len {
                    return Ok(0);
                }
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "its pieces hold {} bytes, not the {} recorded",
                        self.read, self.len
                    ),
                ));
            }
        }
    }
}

/// The text of draw `id`'s `manifest_json` as a reader gives it: `column` itself, or the
/// pieces it names.
pub(crate) fn whole_text(c: &Connection, id: i64, column: String) -> R<String> {
    match pieced(column.as_bytes()) {
        Some(len) => Pieces::new(c, id, len)?.whole(),
        None => Ok(column),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = R<()>;

    fn table() -> rusqlite::Result<Connection> {
        let c = Connection::open_in_memory()?;
        c.execute_batch(
            "CREATE TABLE draw_manifest_pieces (draw_id INTEGER NOT NULL, piece INTEGER NOT NULL,
                 text TEXT NOT NULL CHECK (text <> ''), PRIMARY KEY (draw_id, piece)) STRICT",
        )?;
        Ok(c)
    }

    /// `bytes` stored as draw `id`'s text from a file, checked as JSON, or (`hashed`) by their
    /// SHA-256.
    fn stored_as(c: &Connection, id: i64, bytes: &[u8], hashed: bool) -> R<()> {
        let dir = tempfile::tempdir().map_err(|e| Fail::corrupt(e.to_string()))?;
        let path = dir.path().join("manifest.json");
        std::fs::write(&path, bytes).map_err(|e| Fail::corrupt(e.to_string()))?;
        let sha256 = hashed.then(|| crate::digest::sha256_hex(bytes));
        store(c, id, (&path, sha256.as_deref()), bytes.len() as u64, None)
    }

    fn stored(c: &Connection, id: i64, bytes: &[u8]) -> R<()> {
        stored_as(c, id, bytes, false)
    }

    /// Pieces cut wherever the reads fall, inside characters of 2, 3 and 4 bytes, each stored
    /// whole characters only; read back, one at a time or whole, they are the text.
    #[test]
    fn a_text_stored_in_pieces_reads_back_as_itself() -> TestResult {
        let c = table()?;
        let text = serde_json::json!({"名单": "é检查对象𝄞".repeat(180_000)}).to_string();
        stored(&c, 7, text.as_bytes())?;
        let n: i64 = c.query_row("SELECT count(*) FROM draw_manifest_pieces", [], |r| {
            r.get(0)
        })?;
        assert!(n >= 3, "{n} pieces for {} bytes", text.len());
        let longest: i64 = c.query_row(
            "SELECT max(length(CAST(text AS BLOB))) FROM draw_manifest_pieces",
            [],
            |r| r.get(0),
        )?;
        assert!(longest as usize <= PIECE + (64 << 10), "{longest}");
        assert_eq!(Pieces::new(&c, 7, text.len() as u64)?.whole()?, text);
        // Checked by its hash instead, read a megabyte at a time: the same text.
        stored_as(&c, 8, text.as_bytes(), true)?;
        assert_eq!(Pieces::new(&c, 8, text.len() as u64)?.whole()?, text);
        let mut small = Vec::new();
        let mut pieces = Pieces::new(&c, 7, text.len() as u64)?;
        let mut buf = [0u8; 1000];
        loop {
            let n = pieces
                .read(&mut buf)
                .map_err(|e| Fail::corrupt(e.to_string()))?;
            if n == 0 {
                break;
            }
            small.extend_from_slice(&buf[..n]);
        }
        assert_eq!(small, text.as_bytes());
        // A length the pieces do not add up to is refused, longer or shorter.
        assert!(Pieces::new(&c, 7, text.len() as u64 + 1)?.whole().is_err());
        assert!(Pieces::new(&c, 7, text.len() as u64 - 1)?.whole().is_err());
        Ok(())
    }

    /// Text that is not JSON, not UTF-8, or ends inside a character fails (the caller's
    /// transaction then rolls back what was stored).
    #[test]
    fn a_text_that_is_not_json_or_not_utf8_is_refused() -> TestResult {
        let c = table()?;
        let mut split = b"\"".to_vec();
        split.extend_from_slice(&"检".as_bytes()[..2]);
        let mut bad = format!("[\"{}", "检".repeat(400_000)).into_bytes();
        bad.extend_from_slice(&[0xff, b'"', b']']);
        for (id, bytes) in [(1, &b"{\"a\": 1"[..]), (2, &split), (3, &bad)] {
            assert!(stored(&c, id, bytes).is_err(), "{id}");
        }
        Ok(())
    }

    #[test]
    fn only_a_bare_length_names_pieces() {
        assert_eq!(pieced(b"149203311"), Some(149_203_311));
        assert_eq!(pieced(b"0"), Some(0));
        for text in [
            &b""[..],
            b"{}",
            b" 12",
            b"1e3",
            b"-1",
            b"123456789012345678901",
        ] {
            assert_eq!(pieced(text), None, "{:?}", String::from_utf8_lossy(text));
        }
    }
}
