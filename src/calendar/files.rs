//! The folder of calendar files: reading it, checks across files, and the files built in.

use std::path::Path;

use super::parse::{YearFile, parse_file};
use crate::diag::{Diagnostic, FileId, Location, Sources};

/// The files in `config/holidays/`, built into the binary. Add each new year here too
/// (a test fails if a file in the folder is missing from this list).
const BUILTIN: [(&str, &str); 4] = [
    (
        "config/holidays/2023.toml",
        include_str!("../../config/holidays/2023.toml"),
    ),
    (
        "config/holidays/2024.toml",
        include_str!("../../config/holidays/2024.toml"),
    ),
    (
        "config/holidays/2025.toml",
        include_str!("../../config/holidays/2025.toml"),
    ),
    (
        "config/holidays/2026.toml",
        include_str!("../../config/holidays/2026.toml"),
    ),
];

/// A calendar file whose text is in [`Sources`].
pub(super) struct SourceFile {
    id: FileId,
    /// File name without `.toml`.
    stem: Option<String>,
}

/// Adds every `*.toml` file of `dir` to `sources`, in name order.
pub(super) fn read_dir(
    dir: &Path,
    sources: &mut Sources,
    diags: &mut Vec<Diagnostic>,
) -> Vec<SourceFile> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            diags.push(
                Diagnostic::error(format!(
                    "cannot read the holiday calendar folder {}: {e}",
                    dir.display()
                ))
                .help("it should hold one file per year, e.g. config/holidays/2023.toml"),
            );
            return Vec::new();
        }
    };
    let mut paths: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .is_some_and(|x| x.eq_ignore_ascii_case("toml"))
        })
        .collect();
    paths.sort();
    if paths.is_empty() {
        diags.push(
            Diagnostic::error(format!("no holiday calendar files in {}", dir.display())).help(
                "add one file per year, e.g. 2023.toml, copied from the State Council notice",
            ),
        );
    }
    let mut files = Vec::new();
    for path in paths {
        let name = path.display().to_string();
        match std::fs::read(&path).map(String::from_utf8) {
            Ok(Ok(text)) => files.push(SourceFile {
                // Editors on Windows may start the file with a byte-order mark.
                id: sources.add(name, text.strip_prefix('\u{feff}').unwrap_or(&text)),
                stem: path.file_stem().map(|s| s.to_string_lossy().into_owned()),
            }),
            Ok(Err(_)) => diags.push(
                Diagnostic::error(format!("{name} is not UTF-8 text"))
                    .help("save the file as UTF-8"),
            ),
            Err(e) => diags.push(Diagnostic::error(format!("cannot read {name}: {e}"))),
        }
    }
    files
}

/// Parses every file and checks them against each other: one file per year, and no date that
/// one file gives off and another has worked.
pub(super) fn check_all(
    files: &[SourceFile],
    sources: &Sources,
    diags: &mut Vec<Diagnostic>,
) -> Vec<YearFile> {
    let mut parsed: Vec<YearFile> = Vec::new();
    for f in files {
        let Some(y) = parse_file(f.id, f.stem.as_deref(), sources.text(f.id), diags) else {
            continue;
        };
        if let Some(other) = parsed.iter().find(|o| o.year == y.year) {
            diags.push(
                Diagnostic::error(format!("two calendar files for {}", y.year))
                    .at(y.file, y.year_span.clone())
                    .label(format!(
                        "{} is about {} too",
                        sources.name(other.file),
                        y.year
                    ))
                    .help("keep one file per year, named after the year"),
            );
            continue;
        }
        for other in &parsed {
            conflicts(&y, other, sources, diags);
            conflicts(other, &y, sources, diags);
        }
        parsed.push(y);
    }
    parsed
}

/// Make-up working days of `a` that `b` gives off.
fn conflicts(a: &YearFile, b: &YearFile, sources: &Sources, diags: &mut Vec<Diagnostic>) {
    for work in a.listed.iter().filter(|l| l.work) {
        if let Some(off) = b
            .listed
            .iter()
            .find(|l| !l.work && l.first <= work.first && work.first <= l.last)
        {
            diags.push(
                Diagnostic::error(format!(
                    "make-up working day {} is a day off in {}",
                    work.first,
                    sources.name(b.file)
                ))
                .at(a.file, work.span.clone())
                .label(format!("{} gives {}…{} off", b.year, off.first, off.last))
                .help("check both files against their notices"),
            );
        }
    }
}

/// The built-in files, parsed. A file with a problem is left out (and logged); a test keeps
/// them clean.
pub(super) fn builtin() -> Vec<YearFile> {
    let (parsed, diags, _) = check_builtin();
    if diags.is_empty() {
        return parsed;
    }
    let bad: Vec<FileId> = diags
        .iter()
        .filter_map(|d| match d.location {
            Location::Span { file, .. } => Some(file),
            _ => None,
        })
        .collect();
    tracing::error!(
        problems = diags.len(),
        "the built-in holiday calendar has problems; affected years are left out"
    );
    parsed
        .into_iter()
        .filter(|y| !bad.contains(&y.file))
        .collect()
}

fn check_builtin() -> (Vec<YearFile>, Vec<Diagnostic>, Sources) {
    let mut sources = Sources::default();
    let files: Vec<SourceFile> = BUILTIN
        .iter()
        .map(|(name, text)| SourceFile {
            id: sources.add(*name, *text),
            stem: Path::new(name)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned()),
        })
        .collect();
    let mut diags = Vec::new();
    let parsed = check_all(&files, &sources, &mut diags);
    (parsed, diags, sources)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::render;
    use chrono::NaiveDate;

    #[test]
    fn builtin_files_are_clean() {
        let (parsed, diags, sources) = check_builtin();
        assert!(diags.is_empty(), "{}", render(&sources, &diags));
        assert_eq!(
            parsed.iter().map(|y| y.year).collect::<Vec<_>>(),
            [2023, 2024, 2025, 2026]
        );
        let d = NaiveDate::from_ymd_opt(2022, 12, 31).unwrap_or_default();
        assert!(
            parsed
                .iter()
                .any(|f| f.listed.iter().any(|l| l.first <= d && d <= l.last))
        );
    }

    #[test]
    fn every_file_in_the_folder_is_built_in() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/holidays");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .map(|it| {
                it.filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.ends_with(".toml"))
                    .map(|n| format!("config/holidays/{n}"))
                    .collect()
            })
            .unwrap_or_default();
        on_disk.sort();
        let built_in: Vec<String> = BUILTIN.iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(
            on_disk, built_in,
            "add new files to BUILTIN in src/calendar/files.rs"
        );
    }
}
