//! What `check` and `plan` know of every target of a registry file without holding the
//! targets: how many there are of each category and, for each column asked about, the values
//! targets of each category have in it (the classes a matter's class ratios are checked
//! against). One parallel pass over the file (`source::RegistryFile::scan`), in memory bounded
//! by the distinct values counted, never by the rows: a row the registry reader would make
//! without a word (every row of a snapshot) is read from its cells in place, any other through
//! the reader itself, as a draw reads it.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;

use super::Known;
use super::canonical::LineCells;
use super::column::Column;
use super::source::{Record, RegistryFile, SourceError};
use crate::diag::Diagnostic;

/// The values of one column of the targets, by category (empty values left out).
pub type Values = BTreeMap<String, BTreeSet<String>>;

/// Every target of a file counted by category, with the values of the columns asked about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Targets of each category.
    pub by_category: BTreeMap<String, usize>,
    /// For each column asked about (in the order asked), its values by category.
    pub values: Vec<Values>,
}

/// One range's counts, merged when every range is read.
#[derive(Default)]
struct Part {
    by_category: HashMap<String, usize>,
    values: Vec<HashMap<String, HashSet<String>>>,
    /// Rows the reader made no target of.
    unread: u64,
}

impl Part {
    /// Counts a target of `cells` (its extra values by header from `extra`): its category, and
    /// its value in each of `columns`.
    fn add<'a>(
        &mut self,
        columns: &[Column],
        cells: &LineCells<'a>,
        extra: impl Fn(&str) -> Option<&'a str>,
    ) {
        let category = cells.category;
        match self.by_category.get_mut(category) {
            Some(n) => *n += 1,
            None => {
                self.by_category.insert(category.to_string(), 1);
            }
        }
        for (c, col) in columns.iter().zip(&mut self.values) {
            let v: Cow<'a, str> = c.value_of(cells, &extra);
            if v.is_empty() {
                continue;
            }
            match col.get_mut(category) {
                Some(set) if set.contains(v.as_ref()) => {}
                Some(set) => {
                    set.insert(v.into_owned());
                }
                None => {
                    col.insert(category.to_string(), HashSet::from([v.into_owned()]));
                }
            }
        }
    }
}

/// The targets of the registry file at `path` (UTF-8 CSV, as a draw reads it: a snapshot) by
/// category, and the values of each column `named` (as rules name columns: a field name, a
/// header of the file, see [`Column::named`]) by category.
pub fn tally(path: &Path, known: &Known, named: &[String]) -> Result<Tally, SourceError> {
    let file = RegistryFile::open(path, known, 512 << 10)?;
    let extra_keys: Vec<&str> = file.extra_keys().collect();
    let columns: Vec<Column> = named
        .iter()
        .map(|n| Column::named(n, |h| extra_keys.contains(&h)))
        .collect();
    let threads = rayon::current_num_threads().max(1);
    let init = |_: u64, _: u64| Part {
        values: vec![HashMap::new(); columns.len()],
        ..Part::default()
    };
    let row = |part: &mut Part, r: &Record<'_>| count_row(&file, (&columns, &extra_keys), part, r);
    let parts = file.scan(threads, &init, &row)?;
    let mut out = Tally {
        values: vec![Values::new(); columns.len()],
        ..Tally::default()
    };
    for part in parts {
        if part.unread > 0 {
            let d = Diagnostic::error(format!(
                "{} row(s) of `{}` cannot be read as targets",
                part.unread,
                path.display()
            ))
            .help("run `suiji registry check`: it names each row and what is wrong with it");
            return Err(SourceError::Registry(vec![d]));
        }
        for (category, n) in part.by_category {
            *out.by_category.entry(category).or_default() += n;
        }
        for (all, col) in out.values.iter_mut().zip(part.values) {
            for (category, values) in col {
                all.entry(category).or_default().extend(values);
            }
        }
    }
    Ok(out)
}

/// Counts record `r` in `part` (`extra_keys`: the file's extra columns, in the order a plain
/// row gives their values).
fn count_row(
    file: &RegistryFile<'_>,
    (columns, extra_keys): (&[Column], &[&str]),
    part: &mut Part,
    r: &Record<'_>,
) {
    if let Some(p) = file.plain_row(r) {
        let extras: Vec<&str> = if columns.iter().any(|c| matches!(c, Column::Extra(_))) {
            p.extras(file).collect()
        } else {
            Vec::new()
        };
        let extra = |h: &str| {
            let at = extra_keys.iter().position(|k| *k == h)?;
            extras.get(at).copied()
        };
        part.add(columns, &p.cells, extra);
        return;
    }
    // Any other row as the registry reader makes it (a warning does not stop it).
    let batch = file.read_records(&[(r.offset, r.raw)]);
    match batch.targets.as_slice() {
        [(_, t)] => part.add(columns, &LineCells::of(t), |h: &str| {
            t.extra.get(h).map(String::as_str)
        }),
        _ => part.unread += 1,
    }
}
