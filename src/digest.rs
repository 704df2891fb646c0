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

/// A reader that hashes every byte it passes on (a file checked against its name while it is
/// read, in one pass).
#[derive(Debug)]
pub struct HashingReader<R> {
    inner: R,
    hash: Hasher,
    read: u64,
}

impl<R: std::io::Read> HashingReader<R> {
    pub fn new(inner: R) -> HashingReader<R> {
        HashingReader {
            inner,
            hash: Hasher::default(),
            read: 0,
        }
    }

    /// The SHA-256 (lowercase hex) and length of the bytes read so far.
    pub fn finish(self) -> (String, u64) {
        (self.hash.finish(), self.read)
    }
}

impl<R: std::io::Read> std::io::Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        self.read += n as u64;
        Ok(n)
    }
}

/// The SHA-256 (lowercase hex) of the bytes `fill` writes, hashed as they are written and
/// never held.
pub fn sha256_written(
    fill: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> std::io::Result<String> {
    use std::io::Write as _;
    let mut out = std::io::BufWriter::with_capacity(1 << 16, HashingWriter::new(std::io::sink()));
    fill(&mut out)?;
    out.flush()?;
    let hashed = out.into_inner().map_err(|e| e.into_error())?;
    Ok(hashed.finish().0)
}

/// The SHA-256 of a file's bytes, read a megabyte at a time.
pub fn sha256_file(path: &std::path::Path) -> std::io::Result<String> {
    let hashed = sha256_file_while(path, &|| true)?;
    Ok(hashed.unwrap_or_default())
}

/// [`sha256_file`], given up (`Ok(None)`) as soon as `go_on` says no; it is asked before
/// each megabyte is read.
pub fn sha256_file_while(
    path: &std::path::Path,
    go_on: &dyn Fn() -> bool,
) -> std::io::Result<Option<String>> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut h = Hasher::default();
    loop {
        if !go_on() {
            return Ok(None);
        }
        match file.read(&mut buf) {
            Ok(0) => return Ok(Some(h.finish())),
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
    fn bytes_hashed_as_written_hash_as_the_whole() {
        let long = vec![7u8; (1 << 17) + 5];
        let hashed = super::sha256_written(|out| {
            out.write_all(b"ab")?;
            out.write_all(&long)
        })
        .expect("hashed");
        assert_eq!(
            hashed,
            super::sha256_hex(&[b"ab".as_slice(), &long].concat())
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
    fn a_hashing_writer_hashes_and_passes_on_what_it_writes() {
        use std::io::Write as _;
        let mut w = super::HashingWriter::new(Vec::new());
        w.write_all(b"ab").expect("write");
        w.write_all(b"c").expect("write");
        let (hash, len, inner) = w.finish();
        assert_eq!(hash, super::sha256_hex(b"abc"));
        assert_eq!((len, inner.as_slice()), (3, &b"abc"[..]));
    }

    #[test]
    fn a_hashing_reader_hashes_what_it_passes_on() {
        use std::io::Read as _;
        let mut r = super::HashingReader::new(&b"abc"[..]);
        let mut got = Vec::new();
        r.read_to_end(&mut got).expect("read");
        assert_eq!(got, b"abc");
        assert_eq!(r.finish(), (super::sha256_hex(b"abc"), 3));
    }
}
