//! The registries: checking the ones the config names (`suiji registry check`) and writing
//! synthetic ones of any size (`suiji gen-registry`).

use std::path::{Path, PathBuf};

use super::SetupError;
use super::issue::Frozen;
use crate::diag::{Diagnostic, Fault, Problem, Report};
use crate::rules::Loaded;

/// Registries that read without errors, frozen as a draw would take them.
#[derive(Debug)]
pub struct Checked {
    pub frozen: Frozen,
    /// Non-fatal problems.
    pub warnings: Vec<Diagnostic>,
}

/// Reads the registries named in the config and reports every bad row. A target registry that
/// is one UTF-8 CSV file is read in bounded memory (its snapshot hashed, not kept).
pub fn check(loaded: &Loaded) -> Result<Checked, SetupError> {
    let cfg = &loaded.model.config;
    let known = crate::registry::Known::from_model(&loaded.model);
    let work = tempfile::tempdir().map_err(|e| {
        SetupError::Registry(vec![
            Diagnostic::error(format!("cannot make a temporary folder: {e}"))
                .help("check that the temporary folder (TMPDIR) is writable and has room"),
        ])
    })?;
    let on_rows = super::issue::progress("checking the target registry");
    let to = crate::registry::StreamTo {
        snapshot: None,
        work: work.path(),
        on_rows: &on_rows,
    };
    let streamed = crate::registry::check_streamed(
        &cfg.registries.targets,
        &cfg.registries.inspectors,
        &cfg.root,
        &known,
        &to,
    );
    if let Some(result) = streamed {
        let (s, warnings) = result.map_err(SetupError::Registry)?;
        let file = super::issue::FrozenFile {
            snapshot: s.snapshot,
            known,
        };
        return Ok(Checked {
            frozen: Frozen::of_file(s.inspectors, s.sources, s.targets_rows, file),
            warnings,
        });
    }
    let (registry, warnings) = crate::registry::check(
        &cfg.registries.targets,
        &cfg.registries.inspectors,
        &cfg.root,
        &known,
    )
    .map_err(SetupError::Registry)?;
    let first = cfg.registries.targets.first().map(|p| p.as_path());
    if let Some(empty) = crate::registry::require_targets(&registry, first, &cfg.root) {
        return Err(SetupError::Registry(
            warnings.into_iter().chain([empty]).collect(),
        ));
    }
    Ok(Checked {
        frozen: Frozen::new(registry),
        warnings,
    })
}

/// Synthetic registries to write.
#[derive(Debug, Clone)]
pub struct GenInput {
    pub targets: u64,
    pub inspectors: u64,
    /// Generator seed (synthetic data only; not a draw seed).
    pub seed: u64,
    /// Output folder (targets.csv and inspectors.csv).
    pub out: PathBuf,
}

/// The files written.
#[derive(Debug, Clone)]
pub struct Generated {
    pub targets: PathBuf,
    pub inspectors: PathBuf,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot {what} {}: {source}", path.display())]
pub struct GenError {
    what: &'static str,
    path: PathBuf,
    source: std::io::Error,
}

impl Problem for GenError {
    fn fault(&self) -> Fault {
        Fault::Failed
    }

    fn report(&self) -> Report {
        Report::error(self.to_string(), &[])
    }
}

fn failed(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> GenError {
    let path = path.to_path_buf();
    move |source| GenError { what, path, source }
}

/// Writes `targets.csv` and `inspectors.csv` of the sizes asked for.
pub fn generate(input: &GenInput) -> Result<Generated, GenError> {
    std::fs::create_dir_all(&input.out).map_err(failed("create", &input.out))?;
    let t = input.out.join("targets.csv");
    let i = input.out.join("inspectors.csv");
    crate::registry::generate::write_targets(&t, input.targets, input.seed)
        .map_err(failed("write", &t))?;
    crate::registry::generate::write_inspectors(&i, input.inspectors, input.seed)
        .map_err(failed("write", &i))?;
    Ok(Generated {
        targets: t,
        inspectors: i,
    })
}
