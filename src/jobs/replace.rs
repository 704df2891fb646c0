//! Replacing a registry file with an uploaded one (the console's 名录库): the upload is checked
//! exactly as `suiji registry check` checks the configured files, together with the other
//! registry; nothing is stored unless the whole file is good; a good file replaces the
//! configured one atomically (a rename), the previous version is kept in the history folder,
//! and the replacement is audited with who made it.

use std::path::{Path, PathBuf};

use crate::diag::{Diagnostic, Fault, Location, Problem, Report};
use crate::rules::Loaded;
use crate::store::{RegistryAudit, RegistryFile, RegistryLog, StoreError};

/// Which registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Targets,
    Inspectors,
}

impl Kind {
    pub fn id(self) -> &'static str {
        match self {
            Kind::Targets => "targets",
            Kind::Inspectors => "inspectors",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "targets" => Some(Kind::Targets),
            "inspectors" => Some(Kind::Inspectors),
            _ => None,
        }
    }
}

/// An uploaded file to put in place of configured registry file `index` of `kind`.
#[derive(Debug, Clone)]
pub struct Upload {
    pub kind: Kind,
    /// Which of the configured files of that kind (0 for the first).
    pub index: usize,
    /// The name the file was uploaded under (shown in every problem).
    pub name: String,
    pub bytes: Vec<u8>,
    pub actor: String,
    pub at: String,
}

/// What a replacement did.
#[derive(Debug, Clone)]
pub struct Replaced {
    pub file: PathBuf,
    pub rows: usize,
    pub sha256: String,
    /// Where the previous version was kept (none when there was no file before).
    pub kept: Option<PathBuf>,
    pub warnings: Vec<Diagnostic>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReplaceError {
    #[error("no {kind} registry file number {index} in the config")]
    NoSuchFile { kind: &'static str, index: usize },
    #[error("the configured file is {want}; upload a {want} file (got `{name}`)")]
    Format { want: String, name: String },
    #[error("the file is empty")]
    Empty,
    #[error("{0} found; nothing was stored")]
    Invalid(String, Vec<Diagnostic>),
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Problem for ReplaceError {
    fn fault(&self) -> Fault {
        match self {
            ReplaceError::Io { .. } | ReplaceError::Store(_) => Fault::Failed,
            _ => Fault::Invalid,
        }
    }

    fn report(&self) -> Report {
        match self {
            ReplaceError::Invalid(closing, diags) => {
                Report::of(diags.clone()).closing(format!("{closing}; nothing was stored."))
            }
            other => Report::error(crate::diag::chain(other), &[]),
        }
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ReplaceError + '_ {
    move |source| ReplaceError::Io {
        path: path.to_path_buf(),
        source,
    }
}

pub(crate) fn extension(p: &Path) -> String {
    p.extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// Checks an upload and, if it is good, puts it in place of the configured file.
pub fn replace(
    loaded: &Loaded,
    store: &mut (impl RegistryLog + ?Sized),
    up: &Upload,
) -> Result<Replaced, ReplaceError> {
    let cfg = &loaded.model.config;
    let files = match up.kind {
        Kind::Targets => &cfg.registries.targets,
        Kind::Inspectors => &cfg.registries.inspectors,
    };
    let dest = files
        .get(up.index)
        .ok_or(ReplaceError::NoSuchFile {
            kind: up.kind.id(),
            index: up.index,
        })?
        .clone();
    let want = extension(&dest);
    if extension(Path::new(&up.name)) != want {
        return Err(ReplaceError::Format {
            want: want.to_uppercase(),
            name: up.name.clone(),
        });
    }
    if up.bytes.is_empty() {
        return Err(ReplaceError::Empty);
    }
    let (staged, rows, warnings) = check_upload(loaded, up, &dest, &want)?;
    let sha256 = crate::digest::sha256_hex(&up.bytes);
    let kept = keep_previous(&cfg.data_dir, &dest, &up.at)
        .map_err(|(path, source)| ReplaceError::Io { path, source })?;
    let audit = RegistryAudit {
        file: dest
            .strip_prefix(&cfg.root)
            .unwrap_or(&dest)
            .to_string_lossy()
            .into_owned(),
        kept: kept.as_ref().map(|k| k.to_string_lossy().into_owned()),
        kind: up.kind.id().to_string(),
        rows,
        sha256: sha256.clone(),
        uploaded_as: up.name.clone(),
    };
    // Recorded first: a failed rename leaves an entry saying what was meant and the old file
    // in place, never a new file nobody recorded.
    let file = RegistryFile {
        index: up.index,
        bytes: &up.bytes,
    };
    store.record_registry_replace(&up.at, &up.actor, &audit, file)?;
    staged.persist(&dest).map_err(|e| ReplaceError::Io {
        path: dest.clone(),
        source: e.error,
    })?;
    Ok(Replaced {
        file: dest,
        rows,
        sha256,
        kept,
        warnings,
    })
}

/// The upload written beside `dest` and checked with the other configured registries: the
/// staged file (removed when dropped), the rows of the uploaded kind and the warnings.
fn check_upload(
    loaded: &Loaded,
    up: &Upload,
    dest: &Path,
    want: &str,
) -> Result<(tempfile::NamedTempFile, usize, Vec<Diagnostic>), ReplaceError> {
    let cfg = &loaded.model.config;
    let dir = dest.parent().unwrap_or(Path::new(".")).to_path_buf();
    let staged = tempfile::Builder::new()
        .prefix(".upload-")
        .suffix(&format!(".{want}"))
        .tempfile_in(&dir)
        .map_err(io(&dir))?;
    std::fs::write(staged.path(), &up.bytes).map_err(io(staged.path()))?;
    let (mut targets, mut inspectors) = (
        cfg.registries.targets.clone(),
        cfg.registries.inspectors.clone(),
    );
    let list = match up.kind {
        Kind::Targets => &mut targets,
        Kind::Inspectors => &mut inspectors,
    };
    list[up.index] = staged.path().to_path_buf();
    let known = crate::registry::Known::from_model(&loaded.model);
    let shown = staged
        .path()
        .strip_prefix(&cfg.root)
        .unwrap_or(staged.path())
        .to_string_lossy()
        .into_owned();
    let checked = check_rows(&targets, &inspectors, &dir, loaded, &known, up.kind)?;
    let (rows, warnings) = match checked {
        Ok(ok) => ok,
        Err(diags) => {
            let diags: Vec<Diagnostic> = diags
                .into_iter()
                .map(|d| renamed(d, &shown, &up.name))
                .collect();
            let n = diags.iter().filter(|d| d.is_error()).count();
            return Err(ReplaceError::Invalid(
                crate::diag::count(n, "problem"),
                diags,
            ));
        }
    };
    let warnings = warnings
        .into_iter()
        .map(|d| renamed(d, &shown, &up.name))
        .collect();
    Ok((staged, rows, warnings))
}

/// The registry files checked as `suiji registry check` checks them, in bounded memory when the
/// targets are one CSV file (a national registry is never held whole): the rows of `kind`
/// and the warnings, or every problem.
fn check_rows(
    targets: &[PathBuf],
    inspectors: &[PathBuf],
    dir: &Path,
    loaded: &Loaded,
    known: &crate::registry::Known,
    kind: Kind,
) -> Result<crate::registry::Checked<usize>, ReplaceError> {
    let root = &loaded.model.config.root;
    let work = tempfile::Builder::new()
        .prefix(".upload-work-")
        .tempdir_in(dir)
        .map_err(io(dir))?;
    let to = crate::registry::StreamTo {
        snapshot: None,
        work: work.path(),
        on_rows: &super::issue::progress("checking the uploaded registry"),
    };
    if let Some(checked) = crate::registry::check_streamed(targets, inspectors, root, known, &to) {
        return Ok(checked.map(|(s, warnings)| {
            let rows = match kind {
                Kind::Targets => s.targets_rows,
                Kind::Inspectors => s.inspectors.len(),
            };
            (rows, warnings)
        }));
    }
    let checked = crate::registry::check(targets, inspectors, root, known);
    Ok(checked.map(|(registry, warnings)| {
        let rows = match kind {
            Kind::Targets => registry.targets.len(),
            Kind::Inspectors => registry.inspectors.len(),
        };
        (rows, warnings)
    }))
}

/// A diagnostic about the staged copy, told about the uploaded file's name instead.
fn renamed(mut d: Diagnostic, staged: &str, name: &str) -> Diagnostic {
    // The staged file as the check names it: under the project's folder, or by its whole path
    // (a target file checked in bounded memory).
    let is_staged = |path: &str| path == staged || Path::new(path).ends_with(staged);
    if let Location::Line { path, .. } = &mut d.location
        && is_staged(path)
    {
        *path = name.to_string();
    }
    d.message = d.message.replace(staged, name);
    d
}

/// Copies the current file into `<data>/registry-history/` before it is replaced, named by
/// the file's stem and the replacement's time `at`; where it was kept (none when there was no
/// file), or the path that could not be written and why.
pub(crate) fn keep_previous(
    data_dir: &Path,
    dest: &Path,
    at: &str,
) -> Result<Option<PathBuf>, (PathBuf, std::io::Error)> {
    if !dest.exists() {
        return Ok(None);
    }
    let history = data_dir.join("registry-history");
    std::fs::create_dir_all(&history).map_err(|e| (history.clone(), e))?;
    let stem = dest
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("registry");
    let stamp: String = at.chars().filter(char::is_ascii_digit).take(14).collect();
    let kept = history.join(format!("{stem}-{stamp}.{}", extension(dest)));
    std::fs::copy(dest, &kept).map_err(|e| (kept.clone(), e))?;
    Ok(Some(kept))
}

/// A configured registry file as it is now.
#[derive(Debug, Clone)]
pub struct Current {
    pub kind: Kind,
    pub index: usize,
    /// As the config names it (relative to the project).
    pub file: String,
    pub sha256: Option<String>,
    /// The last replacement through the console, if any: when and by whom.
    pub replaced: Option<(String, String)>,
}

/// A replacement as the history lists it: when, who, what.
pub type Replacement = (String, String, RegistryAudit);

/// Every configured registry file, with its hash (`sha_of` a file's SHA-256, or `None` when
/// it cannot be read) and last replacement; and every replacement (newest first) as (when,
/// who, what).
pub fn current(
    loaded: &Loaded,
    store: &(impl RegistryLog + ?Sized),
    sha_of: impl Fn(&Path) -> Option<String>,
) -> Result<(Vec<Current>, Vec<Replacement>), StoreError> {
    let cfg = &loaded.model.config;
    let history = store.registry_replacements()?;
    let mut out = Vec::new();
    for (kind, files) in [
        (Kind::Targets, &cfg.registries.targets),
        (Kind::Inspectors, &cfg.registries.inspectors),
    ] {
        for (index, f) in files.iter().enumerate() {
            let file = f
                .strip_prefix(&cfg.root)
                .unwrap_or(f)
                .to_string_lossy()
                .into_owned();
            let sha256 = sha_of(&cfg.root.join(f));
            let replaced = history
                .iter()
                .find(|(_, _, a)| a.file == file)
                .map(|(at, who, _)| (at.clone(), who.clone()));
            out.push(Current {
                kind,
                index,
                file,
                sha256,
                replaced,
            });
        }
    }
    Ok((out, history))
}
