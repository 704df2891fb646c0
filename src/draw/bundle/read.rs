//! A public bundle read from its file in one pass, never held whole: the frame's entries are cut
//! out of the bytes as they are read and parsed in batches, each checked to be written as the
//! bundle's canonical form writes it and kept in a [`HeldFrame`]; the rest of the file (the
//! draw's parameters, strata and selection: a national bundle's last 70 MB of 430) is parsed as
//! a bundle with an empty frame. The file's SHA-256 is taken from the same reads.

use std::io::Read;

use rayon::prelude::*;

use super::PublicBundle;
use super::held::{Entry, Frame, HeldFrame};

/// The frame's entries are parsed this many bytes at a time, in parallel.
const BATCH_BYTES: usize = 4 << 20;

/// A bundle as read from its file.
#[derive(Debug)]
pub struct ReadBundle {
    /// Everything but the frame (its `frame` empty).
    pub head: PublicBundle,
    pub(crate) frame: Frame,
    /// Whether the file is the bundle's canonical form (compact JSON, members in order, each
    /// frame entry as the format writes it): only then is its hash the one a manifest records.
    pub canonical: bool,
    /// The SHA-256 of the file's bytes.
    pub sha256: String,
}

/// Where the reading is in the file's top-level object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// Before the frame; `frame_next`: the member just named is `frame`.
    Before { frame_next: bool },
    /// Inside the frame's array.
    Frame,
    /// After it.
    After,
}

/// Cuts a bundle's bytes into the frame's entries and the rest (the skeleton, its frame `[]`).
struct Cutter {
    part: Part,
    /// Nesting depth outside strings: 1 inside the top-level object, 2 inside the frame.
    depth: u32,
    in_string: bool,
    escaped: bool,
    /// The string being read at depth 1, and the last one read there (a member's name).
    text: Vec<u8>,
    last_text: Vec<u8>,
    skeleton: Vec<u8>,
    /// The entries read and not yet parsed: their bytes, one after another, and where each ends.
    batch: Vec<u8>,
    ends: Vec<usize>,
    /// Whether an entry is being read, and whether a comma is waiting for the next one.
    entry_open: bool,
    comma: bool,
    /// Whitespace between the frame's entries (not the canonical form).
    loose: bool,
    /// The entries cut.
    entries: u64,
    /// Where the frame's entries were in the skeleton (just after its `[`), and how many bytes
    /// of the file they took (`None`: no frame cut out).
    frame_at: Option<(usize, u64)>,
}

impl Cutter {
    fn new() -> Cutter {
        Cutter {
            part: Part::Before { frame_next: false },
            depth: 0,
            in_string: false,
            escaped: false,
            text: Vec::new(),
            last_text: Vec::new(),
            skeleton: Vec::new(),
            batch: Vec::with_capacity(BATCH_BYTES + (1 << 16)),
            ends: Vec::new(),
            entry_open: false,
            comma: false,
            loose: false,
            entries: 0,
            frame_at: None,
        }
    }

    /// Takes the next bytes of the file.
    fn feed(&mut self, bytes: &[u8]) {
        let mut i = 0;
        while i < bytes.len() {
            i = match self.part {
                Part::After => {
                    self.skeleton.extend_from_slice(&bytes[i..]);
                    bytes.len()
                }
                Part::Before { .. } => self.before(bytes, i),
                Part::Frame => {
                    let next = self.in_frame(bytes, i);
                    // The `]` that ends the frame stays in the skeleton.
                    let taken = next - i - usize::from(self.part == Part::After);
                    if let Some((_, removed)) = &mut self.frame_at {
                        *removed += taken as u64;
                    }
                    next
                }
            };
        }
    }

    /// A string's bytes from `i` to its end or the chunk's, into the batch (`to_frame`) or the
    /// skeleton; where reading goes on.
    fn string(&mut self, bytes: &[u8], i: usize, to_frame: bool) -> usize {
        let mut j = i;
        while j < bytes.len() {
            if self.escaped {
                self.escaped = false;
                j += 1;
                continue;
            }
            match memchr::memchr2(b'"', b'\\', &bytes[j..]) {
                None => j = bytes.len(),
                Some(k) => {
                    j += k;
                    if bytes[j] == b'\\' {
                        self.escaped = true;
                        j += 1;
                    } else {
                        self.in_string = false;
                        j += 1;
                        break;
                    }
                }
            }
        }
        if to_frame {
            self.batch.extend_from_slice(&bytes[i..j]);
        } else {
            self.skeleton.extend_from_slice(&bytes[i..j]);
            if self.depth == 1 && self.text.len() < 64 {
                self.text.extend_from_slice(&bytes[i..j]);
            }
            if !self.in_string && self.depth == 1 {
                self.last_text = std::mem::take(&mut self.text);
            }
        }
        j
    }

    fn before(&mut self, bytes: &[u8], i: usize) -> usize {
        if self.in_string {
            return self.string(bytes, i, false);
        }
        let b = bytes[i];
        let Part::Before { frame_next } = self.part else {
            return i + 1;
        };
        self.skeleton.push(b);
        match b {
            b'"' => {
                self.in_string = true;
                self.text.clear();
            }
            b':' if self.depth == 1 => {
                self.part = Part::Before {
                    frame_next: self.last_text == b"frame\"",
                };
                return i + 1;
            }
            b'[' if self.depth == 1 && frame_next => {
                self.part = Part::Frame;
                self.depth = 2;
                self.frame_at = Some((self.skeleton.len(), 0));
                return i + 1;
            }
            b'[' | b'{' => self.depth += 1,
            b']' | b'}' => self.depth = self.depth.saturating_sub(1),
            b' ' | b'\n' | b'\r' | b'\t' => return i + 1,
            _ => {}
        }
        self.part = Part::Before { frame_next: false };
        i + 1
    }

    fn in_frame(&mut self, bytes: &[u8], i: usize) -> usize {
        if self.in_string {
            return self.string(bytes, i, true);
        }
        let b = bytes[i];
        if self.depth == 2 {
            match b {
                b',' => {
                    self.end_entry();
                    self.comma = true;
                    return i + 1;
                }
                b']' => {
                    if self.entry_open || self.comma {
                        self.end_entry();
                    }
                    self.depth = 1;
                    self.part = Part::After;
                    self.skeleton.push(b']');
                    return i + 1;
                }
                b' ' | b'\n' | b'\r' | b'\t' if !self.entry_open => {
                    self.loose = true;
                    return i + 1;
                }
                _ => {}
            }
        }
        self.entry_open = true;
        self.batch.push(b);
        match b {
            b'"' => self.in_string = true,
            b'[' | b'{' => self.depth += 1,
            b']' | b'}' => self.depth = self.depth.saturating_sub(1).max(2),
            _ => {}
        }
        i + 1
    }

    fn end_entry(&mut self) {
        self.ends.push(self.batch.len());
        self.entries += 1;
        self.entry_open = false;
        self.comma = false;
    }

    /// A serde error in the skeleton, placed in the file: by its byte there once the frame's
    /// entries (taken out of the skeleton) are counted back in.
    fn in_file(&self, e: &serde_json::Error) -> String {
        let text = e.to_string();
        let Some((at, removed)) = self.frame_at.filter(|_| e.line() > 0) else {
            return text;
        };
        let line_start = self
            .skeleton
            .split_inclusive(|&b| b == b'\n')
            .take(e.line() - 1)
            .map(<[u8]>::len)
            .sum::<usize>();
        let byte = line_start + e.column().saturating_sub(1);
        let in_file = byte as u64 + if byte >= at { removed } else { 0 };
        let what = text
            .strip_suffix(&format!(" at line {} column {}", e.line(), e.column()))
            .unwrap_or(&text);
        format!("{what} at byte {} of the file", in_file + 1)
    }

    /// Whether the batch holds `bytes` or more.
    fn full(&self, bytes: usize) -> bool {
        self.batch.len() >= bytes
    }
}

/// Entries cut and not yet parsed: their bytes one after another, and where each ends.
type Cut = (Vec<u8>, Vec<usize>);

impl Cutter {
    /// The entries cut so far; the one being read stays.
    fn take(&mut self) -> Cut {
        let done = self.ends.last().copied().unwrap_or(0);
        let mut next = Vec::with_capacity(self.batch.capacity());
        next.extend_from_slice(&self.batch[done..]);
        let mut bytes = std::mem::replace(&mut self.batch, next);
        bytes.truncate(done);
        (bytes, std::mem::take(&mut self.ends))
    }
}

/// Parses cut entries into `frame`: each entry whose bytes are not its canonical form clears
/// `canonical`; an entry that is not one is an error naming it.
fn parse((bytes, ends): Cut, frame: &mut HeldFrame, canonical: &mut bool) -> Result<(), String> {
    let starts = std::iter::once(0).chain(ends.iter().copied());
    let spans: Vec<(usize, usize)> = starts.zip(ends.iter().copied()).collect();
    let parsed: Vec<Result<Parsed<'_>, String>> = spans
        .par_iter()
        .map(|&(a, b)| {
            let raw = &bytes[a..b];
            if let Some(e) = Entry::canonical_array(raw) {
                return Ok(Parsed::Canonical(e));
            }
            let e: super::FrameEntry = serde_json::from_slice(raw).map_err(|e| e.to_string())?;
            let same = super::written_as(&e, raw);
            Ok(Parsed::Read(e, same))
        })
        .collect();
    for r in parsed {
        let n = frame.len() + 1;
        match r.map_err(|e| format!("frame entry {n}: {e}"))? {
            Parsed::Canonical(e) => frame.push(&e)?,
            Parsed::Read(e, same) => {
                *canonical &= same;
                frame.push(&Entry::of(&e))?;
            }
        }
    }
    Ok(())
}

/// An entry read: by hand (in its canonical form), or by serde (whether it is in it said).
enum Parsed<'a> {
    Canonical(Entry<'a>),
    Read(super::FrameEntry, bool),
}

/// Reads `r` to its end, hashing it and cutting it, and sends the frame's entries on `batch`
/// bytes at a time; returns the cutter (with the rest of the bundle) and the file's SHA-256.
fn cut_all(
    mut r: impl Read,
    batch: usize,
    send: std::sync::mpsc::SyncSender<Cut>,
) -> Result<(Cutter, String), String> {
    let mut cut = Cutter::new();
    let mut hash = crate::digest::Hasher::default();
    let mut chunk = vec![0u8; 1 << 20];
    loop {
        let n = match r.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("cannot be read: {e}")),
        };
        hash.update(&chunk[..n]);
        cut.feed(&chunk[..n]);
        // A receiver gone has met an entry that is not one: it says so.
        if cut.full(batch) && send.send(cut.take()).is_err() {
            return Ok((cut, hash.finish()));
        }
    }
    if cut.part == Part::Frame {
        return Err(format!(
            "the file ends inside the frame, after {} entries: it was cut short",
            cut.entries
        ));
    }
    let _ = send.send(cut.take());
    Ok((cut, hash.finish()))
}

/// Reads a public bundle from `r` (a file's bytes, read once).
pub fn read(r: impl Read + Send) -> Result<ReadBundle, String> {
    read_in(r, BATCH_BYTES)
}

/// [`read`], the frame's entries parsed `batch` bytes at a time while the next are read.
fn read_in(r: impl Read + Send, batch: usize) -> Result<ReadBundle, String> {
    let mut frame = HeldFrame::default();
    let mut canonical = true;
    let (cut, sha256) = std::thread::scope(|scope| {
        let (send, receive) = std::sync::mpsc::sync_channel(2);
        let reader = scope.spawn(move || cut_all(r, batch, send));
        let parsed = receive
            .iter()
            .try_for_each(|c| parse(c, &mut frame, &mut canonical));
        drop(receive);
        let cut = reader
            .join()
            .unwrap_or_else(|_| Err("the file's reading stopped".into()));
        parsed.and(cut)
    })?;
    let mut head: PublicBundle =
        serde_json::from_slice(&cut.skeleton).map_err(|e| cut.in_file(&e))?;
    canonical &= !cut.loose && head.is_written_as(&cut.skeleton);
    drop(cut);
    // A frame the cutter did not find (not a member of the top-level object) was read with the
    // rest.
    for e in std::mem::take(&mut head.frame) {
        frame.push(&Entry::of(&e))?;
    }
    let frame = frame.place(&head.format, &head.strata)?;
    Ok(ReadBundle {
        head,
        frame,
        canonical,
        sha256,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTOR: &str = include_str!("../../../tests/fixtures/public-bundle-vector.json");

    /// Gives its bytes a few at a time.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.1.min(buf.len()).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    /// The vector as version 4 writes it, in id order, as bytes.
    fn version_4() -> Vec<u8> {
        let mut b = super::super::tests::version_4();
        b.frame.sort_by(|a, c| a.id.cmp(&c.id));
        b.to_bytes()
    }

    /// Read however its bytes arrive and however often its entries are parsed, a bundle reads
    /// as the one held whole: the same frame, the same selection, the same checks, its hash.
    #[test]
    fn a_bundle_read_in_pieces_is_the_bundle_held_whole() {
        for bytes in [VECTOR.as_bytes().to_vec(), version_4()] {
            let whole = PublicBundle::parse(&bytes).unwrap_or_else(|e| panic!("{e}"));
            for (piece, batch) in [(1, 1), (3, 7), (64, 40), (1 << 20, BATCH_BYTES)] {
                let read = read_in(Trickle(&bytes, piece), batch).unwrap_or_else(|e| panic!("{e}"));
                assert!(read.canonical, "{piece} {batch}");
                assert_eq!(read.sha256, crate::digest::sha256_hex(&bytes));
                assert_eq!(read.eligible(), whole.frame.len());
                assert_eq!(read.head.selected, whole.selected);
                assert_eq!(read.check(), whole.check());
                let ids: Vec<&str> = (0..read.frame.len()).map(|i| read.frame.id(i)).collect();
                let held: Vec<&str> = whole.frame.iter().map(|f| f.id.as_str()).collect();
                assert_eq!(ids, held);
            }
        }
    }

    /// Whitespace anywhere, or members out of their order, leave the bundle readable and checked
    /// but not in its canonical form; a file cut short, or an entry that is not one, is an
    /// error naming where.
    #[test]
    fn a_bundle_not_in_canonical_form_is_read_and_said() {
        let bytes = version_4();
        let text = String::from_utf8(bytes.clone()).unwrap_or_else(|e| panic!("{e}"));
        let value: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        let pretty = serde_json::to_vec_pretty(&value).unwrap_or_else(|e| panic!("{e}"));
        let spaced = text.replacen("],[", "], [", 1);
        let inner = text.replacen(",0,", ", 0,", 1);
        for loose in [pretty, spaced.into_bytes(), inner.into_bytes()] {
            let read = read_in(loose.as_slice(), 5).unwrap_or_else(|e| panic!("{e}"));
            assert!(!read.canonical);
            assert!(read.check().is_empty(), "{:?}", read.check());
        }
        let e = read_in(&bytes[..bytes.len() / 2], 5).expect_err("cut short");
        assert!(e.contains("ends inside the frame"), "{e}");
        let broken = text.replacen(",0,", ",{},", 1);
        let e = read_in(broken.as_bytes(), 5).expect_err("not an entry");
        assert!(e.starts_with("frame entry 1:"), "{e}");
        let far = text.replacen(",0,", ",9,", 1);
        let e = read_in(far.as_bytes(), 5).expect_err("placed in no stratum");
        assert!(e.contains("is placed in stratum 9"), "{e}");
        // An object first among the entries of a version 4 bundle with no strata is said as
        // an object, not as placed past them.
        let at = text
            .find("\"strata\":[")
            .unwrap_or_else(|| panic!("strata"));
        let end = at + text[at..].find("],").unwrap_or_else(|| panic!("end"));
        let object = format!("{}\"strata\":[{}", &text[..at], &text[end..]).replacen(
            "\"frame\":[[\"",
            "\"frame\":[{\"id\":\"o\",\"stratum\":\"x\",\"weight\":null,\"fields\":[]},[\"",
            1,
        );
        let e = read_in(object.as_bytes(), 5).expect_err("an object");
        assert!(e.contains("frame entry 1 (o) is an object"), "{e}");
    }

    /// An error after the frame is placed in the file by its byte, the frame's entries counted.
    #[test]
    fn an_error_after_the_frame_is_placed_in_the_file() {
        let text = String::from_utf8(version_4()).unwrap_or_else(|e| panic!("{e}"));
        let broken = text.replacen("\"rank\":1,", "\"rank\":\"1\",", 1);
        let whole = serde_json::from_str::<PublicBundle>(&broken).expect_err("a string rank");
        let e = read_in(broken.as_bytes(), 5).expect_err("a string rank");
        assert!(
            e.ends_with(&format!("at byte {} of the file", whole.column())),
            "{e} / {whole}"
        );
    }

    /// A detail file with a row that is not one is hashed whole all the same: the hash said is
    /// the file's.
    #[test]
    fn a_detail_file_is_hashed_whole_whatever_its_rows() {
        let read = read_in(version_4().as_slice(), 5).unwrap_or_else(|e| panic!("{e}"));
        let mut detail = "\u{feff}target_id,reason,detail\nT1,a,b\nnot a row\n".to_string();
        detail.push_str(&"T2,a,b\n".repeat(100_000));
        let said = read.check_detail(detail.as_bytes());
        let hash = crate::digest::sha256_hex(detail.as_bytes());
        assert!(said.len() == 1 && said[0].contains(&hash), "{said:?}");
    }
}
