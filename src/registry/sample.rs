//! The first rows of the registries, for `check`'s dry run of the hooks. Bounded: a CSV file is
//! read up to its first `lines` lines, so checking stays fast on a national registry (a
//! workbook is read whole). Rows are taken as read; problems in them are `registry check`'s to
//! report, and a draw refuses a registry that has any.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use super::read::{self, Rows, Sink};
use super::{Inspector, Known, Target, display_path};

/// Up to the first `lines` rows of each file of both registries, in file order.
pub fn sample(
    targets: &[PathBuf],
    inspectors: &[PathBuf],
    root: &Path,
    known: &Known,
    lines: usize,
) -> (Vec<Target>, Vec<Inspector>) {
    let mut t: Rows<Target> = Rows::default();
    for path in targets {
        if let Some(bytes) = head(path, lines) {
            let display = display_path(root, path);
            read::targets(
                &bytes,
                path,
                &display,
                0,
                known,
                &mut Sink::default(),
                &mut t,
            );
        }
    }
    let mut i: Rows<Inspector> = Rows::default();
    for path in inspectors {
        if let Some(bytes) = head(path, lines) {
            let display = display_path(root, path);
            read::inspectors(
                &bytes,
                path,
                &display,
                0,
                known,
                &mut Sink::default(),
                &mut i,
            );
        }
    }
    (t.items, i.items)
}

/// The header and the first `lines` lines of a text file; a workbook whole.
fn head(path: &Path, lines: usize) -> Option<Vec<u8>> {
    let workbook = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
    let file = std::fs::File::open(path).ok()?;
    let mut reader = BufReader::new(file);
    let mut bytes = Vec::new();
    if workbook {
        reader.read_to_end(&mut bytes).ok()?;
        return Some(bytes);
    }
    for _ in 0..=lines {
        match reader.read_until(b'\n', &mut bytes) {
            Ok(0) => break,
            Ok(_) => {}
            Err(_) => return None,
        }
    }
    Some(bytes)
}
