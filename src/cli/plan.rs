//! `suiji plan --year 2023`: the yearly plan as Markdown, HTML or DOCX.

use std::path::PathBuf;

use super::{Cli, exit, load_calendar, load_rules, write_atomic};
use crate::output::doc::{Format, render};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The plan's year.
    #[arg(long)]
    pub year: i32,
    /// For a year without an official holiday notice, use a provisional calendar computed from
    /// lunar dates (clearly marked as provisional).
    #[arg(long)]
    pub provisional: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "md")]
    pub format: FormatArg,
    /// Write here instead of stdout (md) or out/plan-YEAR.{html,docx}.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

/// Output formats of printed documents, as flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    Md,
    Html,
    Docx,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Md => Format::Md,
            FormatArg::Html => Format::Html,
            FormatArg::Docx => Format::Docx,
        }
    }
}

pub fn run(cli: &Cli, args: &Args) -> anyhow::Result<i32> {
    let format = Format::from(args.format);
    let loaded = or_exit!(load_rules(cli));
    let cal = or_exit!(load_calendar(&loaded, args.provisional));
    or_exit!(super::require_year(&cal, args.year));
    let model = &loaded.model;
    let (schedule, problems) = crate::schedule::year_schedule(model, &cal, args.year);
    let problem_lines: Vec<String> = problems
        .iter()
        .map(|p| format!("{}：{}", p.matter, p.error))
        .collect();
    for p in &problem_lines {
        eprintln!("error: {p}");
    }
    if !problems.is_empty() && schedule.is_empty() {
        eprintln!(
            "no draw of {} could be scheduled; nothing was written.",
            args.year
        );
        return Ok(exit::INVALID);
    }
    let estimates = estimate(&loaded, &schedule);
    let failed: Vec<String> = estimates
        .iter()
        .filter_map(|(id, e)| e.as_ref().err().map(|err| format!("{id}: {err}")))
        .collect();
    for f in &failed {
        eprintln!("error: {f}");
    }
    let doc = crate::output::plan::build(
        model,
        &cal,
        args.year,
        &schedule,
        &problem_lines,
        &estimates,
    );
    let bytes = render(&doc, format).map_err(anyhow::Error::msg)?;
    let target = match (&args.output, format) {
        (Some(p), _) => Some(p.clone()),
        (None, Format::Md) => None,
        (None, f) => Some(model.config.output_dir.join(format!(
            "plan-{}.{}",
            args.year,
            f.extension()
        ))),
    };
    match target {
        Some(path) => {
            write_atomic(&path, &bytes)?;
            outln!("wrote {}", path.display());
        }
        None => {
            use std::io::Write;
            std::io::stdout().write_all(&bytes)?;
        }
    }
    Ok(if problems.is_empty() && failed.is_empty() {
        exit::OK
    } else {
        exit::PARTIAL
    })
}

/// Dry-runs each matter's first regular draw of the year on the current registry (a fixed seed:
/// only the counts are used). A failing hook fails its own matter; the others go on.
fn estimate(
    loaded: &crate::rules::Loaded,
    schedule: &[crate::schedule::ScheduledDraw],
) -> crate::output::plan::Estimates {
    use crate::output::plan::Estimate;
    let mut out = crate::output::plan::Estimates::new();
    let frozen = match crate::jobs::issue::freeze_registry(loaded) {
        Ok(f) => f,
        Err(diags) => {
            eprintln!(
                "warning: the registry has {} problem(s) (run `suiji registry check`); the plan shows no counts",
                diags.len()
            );
            return out;
        }
    };
    let history = crate::draw::pipeline::History::default();
    for m in loaded.model.matters() {
        let Some(first) = schedule
            .iter()
            .find(|s| s.matter == m.id && s.kind == crate::schedule::DrawKind::Regular)
        else {
            continue;
        };
        let req = crate::jobs::issue::Request {
            draw: first.clone(),
            seed: crate::draw::Seed([0; 32]),
            seed_source: "plan estimate".into(),
            actor: "plan".into(),
            created_at: String::new(),
            redraw: None,
            dry_run: true,
        };
        let in_scope = frozen
            .registry
            .targets
            .iter()
            .filter(|t| m.categories.contains(&t.category))
            .count();
        let e = crate::jobs::issue::compute(loaded, &frozen, &history, &req)
            .map(|man| Estimate {
                period: first.period.label_zh(),
                in_scope,
                eligible: man.strata.iter().map(|s| s.eligible).sum(),
                drawn: man.selected.len(),
            })
            .map_err(|e| e.to_string());
        out.insert(m.id.clone(), e);
    }
    out
}
