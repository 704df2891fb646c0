//! `check`'s dry run of every hook on a bounded sample of the registries: a hook that reads a
//! field that does not exist (`target.extras`, `inspector.extra`), compares text with a number
//! or answers with the wrong type fails `check` at its line, not the draw that first meets it.
//!
//! Bounded so that `check` stays fast on a national registry: the first [`SAMPLE_LINES`] lines
//! of each registry file, and for each matter at most [`TARGETS`] targets of its categories and
//! [`INSPECTORS`] inspectors of its department (any, when the sample has none of it). A problem that only rows further down would show
//! is still found by the draw, which fails with the same message.

use rhai::Dynamic;

use super::SetupError;
use crate::diag::{Diagnostic, Sources, offset_of};
use crate::registry::{Inspector, Known, Target, TargetStatus};
use crate::rules::model::Matter;
use crate::rules::{LoadError, Loaded};
use crate::script::{Hook, HookError, HookKind, ctx_map, inspector_map, target_map};

/// Lines read from the start of each registry file.
pub const SAMPLE_LINES: usize = 2_000;
/// Targets of a matter each of its hooks is asked about.
pub const TARGETS: usize = 50;
/// Inspectors a conflict hook is asked about (each with a few targets).
pub const INSPECTORS: usize = 10;

/// Runs every hook of every matter on the sample; every hook that fails is an error located at
/// its script's line. `year` names the periods the hooks' `ctx` describes.
pub fn dry_run(loaded: &Loaded, year: i32) -> Result<(), SetupError> {
    let model = &loaded.model;
    let cfg = &model.config;
    let (targets, inspectors) = crate::registry::sample(
        &cfg.registries.targets,
        &cfg.registries.inspectors,
        &cfg.root,
        &Known::from_model(model),
        SAMPLE_LINES,
    );
    dry_run_on(loaded, year, (&targets, &inspectors))
}

/// [`dry_run`] on a sample already read (see [`crate::jobs::check::Facts::sample`]).
pub fn dry_run_on(
    loaded: &Loaded,
    year: i32,
    (targets, inspectors): (&[Target], &[Inspector]),
) -> Result<(), SetupError> {
    let model = &loaded.model;
    let cfg = &model.config;
    let mut sources = loaded.sources.clone();
    let mut diags = Vec::new();
    for m in model.matters() {
        let sample: Vec<&Target> = targets
            .iter()
            .filter(|t| t.status == TargetStatus::Active && m.categories.contains(&t.category))
            .take(TARGETS)
            .collect();
        // Inspectors of the matter's department, or any when the sample has none of them.
        let mut staff: Vec<&Inspector> = inspectors
            .iter()
            .filter(|i| i.department == m.department)
            .take(INSPECTORS)
            .collect();
        if staff.is_empty() {
            staff = inspectors.iter().take(INSPECTORS).collect();
        }
        let ctx = first_ctx(m, year, cfg.timezone);
        for hook in [&m.eligible, &m.weight, &m.conflict, &m.class_hook]
            .into_iter()
            .flatten()
        {
            if let Some((target, e)) = first_failure(loaded, hook, &sample, &staff, &ctx) {
                diags.push(located(&mut sources, m, hook, &target, &e));
            }
        }
    }
    if diags.is_empty() {
        return Ok(());
    }
    Err(SetupError::Rules(LoadError {
        sources,
        diagnostics: diags,
    }))
}

/// The `ctx` of the matter's first period of `year`.
fn first_ctx(m: &Matter, year: i32, tz: chrono_tz::Tz) -> Dynamic {
    let periods = crate::schedule::period::periods(&m.frequency, year, tz);
    let (id, start, end) = match periods.first() {
        Some((p, _)) => (p.id.clone(), p.start, p.end),
        None => {
            let d = chrono::NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or_default();
            (year.to_string(), d, d)
        }
    };
    ctx_map(&m.id, &id, start, end, start, None)
}

/// The first sample the hook fails on: the target's id and the failure.
fn first_failure(
    loaded: &Loaded,
    hook: &Hook,
    targets: &[&Target],
    staff: &[&Inspector],
    ctx: &Dynamic,
) -> Option<(String, HookError)> {
    let sb = &loaded.sandbox;
    let check = |v: Result<Dynamic, HookError>| -> Result<(), HookError> {
        let v = v?;
        let fits = match hook.kind {
            HookKind::Eligible | HookKind::Conflict => v.is_bool(),
            HookKind::Weight => v.is_int() || v.is_float(),
            HookKind::Class => v.is_string() || v.is_unit(),
        };
        if !fits {
            return Err(wrong_type(hook, v.type_name()));
        }
        // A weight the draw refuses (zero, negative, not finite) fails here as it would there.
        let weight = v.as_float().or_else(|_| v.as_int().map(|i| i as f64));
        match (hook.kind, weight) {
            (HookKind::Weight, Ok(w)) if !(w.is_finite() && w > 0.0) => {
                Err(wrong_type(hook, &w.to_string()))
            }
            _ => Ok(()),
        }
    };
    for t in targets {
        let answer = match hook.kind {
            HookKind::Eligible | HookKind::Weight | HookKind::Class => {
                check(sb.call(hook, target_map(t), ctx.clone()))
            }
            HookKind::Conflict => staff
                .iter()
                .map(|i| check(sb.call(hook, inspector_map(i), target_map(t))))
                .find(Result::is_err)
                .unwrap_or(Ok(())),
        };
        if let Err(e) = answer {
            return Some((t.id.clone(), e));
        }
    }
    None
}

/// A hook answering with the wrong type, located at its declaration.
fn wrong_type(hook: &Hook, got: &str) -> HookError {
    let want = match hook.kind {
        HookKind::Eligible | HookKind::Conflict => "true or false",
        HookKind::Weight => "a number greater than 0",
        HookKind::Class => "a class (text) or ()",
    };
    let decl = format!("fn {}(", hook.function);
    let at = hook.script.source.find(&decl).unwrap_or(0);
    let (line, column) = crate::diag::line_col(&hook.script.source, at);
    HookError {
        script: hook.script.name.clone(),
        line,
        column,
        message: format!("hook `{}` returned {got}, not {want}", hook.function),
    }
}

fn located(
    sources: &mut Sources,
    m: &Matter,
    hook: &Hook,
    target: &str,
    e: &HookError,
) -> Diagnostic {
    let file = sources.add(hook.script.name.clone(), hook.script.source.clone());
    let text = &hook.script.source;
    let at = offset_of(text, e.line.max(1), e.column.max(1));
    let rest = text.get(at..).unwrap_or("");
    let word = rest
        .char_indices()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
        .map_or(rest.len(), |(n, _)| n);
    let len = match word {
        0 => rest.chars().next().map_or(0, char::len_utf8),
        n => n,
    };
    Diagnostic::error(format!(
        "{} of matter {} fails on target {target}: {}",
        hook.kind.fn_name(),
        m.id,
        e.message
    ))
    .at(file, at..at + len)
    .label("fails here")
    .help(format!(
        "checked by calling the hook on the first rows of the registries (up to {TARGETS} targets \
         of the matter); its draws would fail the same way"
    ))
}
