//! `suiji plan --year 2023`: the yearly plan as Markdown, HTML or DOCX.

use std::path::PathBuf;

use super::{Cli, Failed, load_rules};
use crate::jobs::plan::Input;
use crate::output::doc::Format;

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
    /// Date of issue, in the 落款 of the HTML and DOCX plan and the DOCX document properties
    /// (default: today in the bureau's time zone).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub date: Option<chrono::NaiveDate>,
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

pub fn run(cli: &Cli, args: &Args) -> Result<i32, Failed> {
    let loaded = load_rules(cli)?;
    let input = Input {
        year: args.year,
        provisional: args.provisional,
        format: Format::from(args.format),
        output: args.output.clone(),
        issued: args
            .date
            .unwrap_or_else(|| super::results::today_local(&loaded)),
    };
    let planned = crate::jobs::plan::run(&loaded, &input)?;
    if planned.provisional {
        super::provisional_warning(args.year);
    }
    match &planned.written {
        Ok(path) => outln!("wrote {}", path.display()),
        Err(bytes) => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            out.write_all(bytes)?;
            out.flush()?;
        }
    }
    Ok(super::with_problems_in(&loaded.sources, &planned.problems))
}
