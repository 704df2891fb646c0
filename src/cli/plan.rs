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
    let loaded = match load_rules(cli) {
        Ok(l) => l,
        Err(code) => return Ok(code),
    };
    let cal = match load_calendar(&loaded, args.provisional) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    if let Err(code) = super::require_year(&cal, args.year) {
        return Ok(code);
    }
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
    let doc = crate::output::plan::build(model, &cal, args.year, &schedule, &problem_lines);
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
            println!("wrote {}", path.display());
        }
        None => {
            use std::io::Write;
            std::io::stdout().write_all(&bytes)?;
        }
    }
    Ok(if problems.is_empty() {
        exit::OK
    } else {
        exit::PARTIAL
    })
}
