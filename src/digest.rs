//! SHA-256 as lowercase hex: the one way suiji names bytes (registry files and snapshots, rule
//! sets, manifests, published files).

use sha2::{Digest, Sha256};

/// The SHA-256 of `bytes` in lowercase hex (64 characters).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// SHA-256 over bytes given a part at a time (a file too large to hold).
#[derive(Debug, Clone, Default)]
pub struct Hasher(Sha256);

impl Hasher {
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The SHA-256 of everything given, in lowercase hex.
    pub fn finish(self) -> String {
        hex::encode(self.0.finalize())
    }
}

/// A writer that hashes every byte it passes on to `inner` (a file written and named by its
/// SHA-256 in one pass).
#[derive(Debug)]
pub struct HashingWriter<W> {
    inner: W,
    hash: Hasher,
    written: u64,
}

impl<W: std::io::Write> HashingWriter<W> {
    pub fn new(inner: W) -> HashingWriter<W> {
        HashingWriter {
            inner,
            hash: Hasher::default(),
            written: 0,
        }
    }

    /// The SHA-256 (lowercase hex) and length of the bytes written, and the inner writer.
    pub fn finish(self) -> (String, u64, W) {
        (self.hash.finish(), self.written, self.inner)
    }
}

impl<W: std::io::Write> std::io::Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Bytes handed from the thread that makes them to the one that hashes and writes them, at
/// most this many at a time.
const PIECE: usize = 1 << 20;

/// Pieces in flight between the two threads (bounded: at most about 4 MiB held).
const PIECES_IN_FLIGHT: usize = 4;

/// Runs `make`, which writes bytes, while a second thread hashes them and passes them on to
/// `out`, so that making the bytes and hashing and writing them share two cores; the SHA-256
/// (lowercase hex) and length of the bytes, as [`HashingWriter`] gives them. The bytes go
/// across in pieces of a megabyte, at most four at a time. An error of `out` is returned as
/// it happened (`make` then sees its writes fail and stops); an error of `make` is returned
/// as `make` gave it.
pub fn hash_beside<W: std::io::Write + Send + ?Sized>(
    out: &mut W,
    make: impl FnOnce(&mut Pieces) -> std::io::Result<()>,
) -> std::io::Result<(String, u64)> {
    use std::io::Write as _;
    use std::sync::mpsc::{channel, sync_channel};
    let (full, take) = sync_channel::<Vec<u8>>(PIECES_IN_FLIGHT);
    let (give_back, empty) = channel::<Vec<u8>>();
    std::thread::scope(|scope| {
        let writer = scope.spawn(move || -> std::io::Result<(String, u64)> {
            let mut w = HashingWriter::new(out);
            for piece in take {
                w.write_all(&piece)?;
                // The maker may have finished and gone: nothing to give back to then.
                let _ = give_back.send(piece);
            }
            w.flush()?;
            let (hash, len, _) = w.finish();
            Ok((hash, len))
        });
        let mut pieces = Pieces {
            full,
            empty,
            piece: Vec::with_capacity(PIECE),
        };
        let made = make(&mut pieces).and_then(|()| pieces.send());
        drop(pieces);
        let written = writer
            .join()
            .map_err(|_| std::io::Error::other("the thread hashing the bytes stopped"))?;
        match (made, written) {
            // The writer's own error is why the maker's writes failed.
            (_, Err(e)) => Err(e),
            (Err(e), Ok(_)) => Err(e),
            (Ok(()), Ok(done)) => Ok(done),
        }
    })
}

/// The maker's side of [`hash_beside`]: bytes gathered into a piece, sent when it is full.
pub struct Pieces {
    full: std::sync::mpsc::SyncSender<Vec<u8>>,
    empty: std::sync::mpsc::Receiver<Vec<u8>>,
    piece: Vec<u8>,
}

impl Pieces {
    /// Sends the piece gathered (if any), taking an empty one back to gather the next.
    fn send(&mut self) -> std::io::Result<()> {
        if self.piece.is_empty() {
            return Ok(());
        }
        let next = match self.empty.try_recv() {
            Ok(mut back) => {
                back.clear();
                back
            }
            Err(_) => Vec::with_capacity(PIECE),
        };
        let piece = std::mem::replace(&mut self.piece, next);
        self.full
            .send(piece)
            .map_err(|_| std::io::Error::other("the bytes' writer stopped"))
    }
}

impl std::io::Write for Pieces {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // A piece is sent as soon as it is full, so there is always room for a byte.
        let n = buf.len().min(PIECE.saturating_sub(self.piece.len()));
        self.piece.extend_from_slice(&buf[..n]);
        if self.piece.len() >= PIECE {
            self.send()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The SHA-256 of a file's bytes, read a megabyte at a time.
pub fn sha256_file(path: &std::path::Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut h = Hasher::default();
    loop {
        match file.read(&mut buf) {
            Ok(0) => return Ok(h.finish()),
            Ok(n) => h.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn known_digest() {
        assert_eq!(
            super::sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn a_hash_given_in_parts_is_the_hash_of_the_whole() {
        let mut h = super::Hasher::default();
        h.update(b"a");
        h.update(b"");
        h.update(b"bc");
        assert_eq!(h.finish(), super::sha256_hex(b"abc"));
    }

    #[test]
    fn bytes_hashed_beside_are_hashed_and_written_as_one_writer_would() {
        use std::io::Write as _;
        // Pieces of every size around the piece's length, so that writes straddle pieces.
        let bytes: Vec<u8> = (0..3 * super::PIECE + 77)
            .map(|i| (i * 31 % 251) as u8)
            .collect();
        let mut out = Vec::new();
        let (hash, len) = super::hash_beside(&mut out, |w| {
            let mut rest = &bytes[..];
            let mut step = 1;
            while !rest.is_empty() {
                let n = step.min(rest.len());
                w.write_all(&rest[..n])?;
                rest = &rest[n..];
                step = step * 7 % (super::PIECE + 13) + 1;
            }
            Ok(())
        })
        .expect("hashed");
        assert_eq!(out, bytes);
        assert_eq!((hash, len), (super::sha256_hex(&bytes), bytes.len() as u64));
        let (empty, none) = super::hash_beside(&mut std::io::sink(), |_| Ok(())).expect("hashed");
        assert_eq!((empty, none), (super::sha256_hex(b""), 0));
    }

    #[test]
    fn an_error_on_either_side_of_hash_beside_is_returned() {
        use std::io::Write as _;
        struct Full;
        impl std::io::Write for Full {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("disk full"))
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let big = vec![7u8; 2 * super::PIECE];
        let e = super::hash_beside(&mut Full, |w| {
            for _ in 0..8 {
                w.write_all(&big)?;
            }
            Ok(())
        })
        .expect_err("the writer failed");
        assert_eq!(e.to_string(), "disk full");
        let e = super::hash_beside(&mut std::io::sink(), |w| {
            w.write_all(b"half")?;
            Err(std::io::Error::other("the rows ran out"))
        })
        .expect_err("the maker failed");
        assert_eq!(e.to_string(), "the rows ran out");
    }

    #[test]
    fn a_hashing_writer_hashes_and_passes_on_what_it_writes() {
        use std::io::Write as _;
        let mut w = super::HashingWriter::new(Vec::new());
        w.write_all(b"ab").expect("write");
        w.write_all(b"c").expect("write");
        let (hash, len, inner) = w.finish();
        assert_eq!(hash, super::sha256_hex(b"abc"));
        assert_eq!((len, inner.as_slice()), (3, &b"abc"[..]));
    }
}
