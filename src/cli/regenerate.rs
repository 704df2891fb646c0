//! `suiji regenerate [--draw N]`: rebuild the draws' folders in `out/` from the database.

use super::{Cli, Failed, exit};
use crate::jobs::regenerate::{Input, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only this draw (its number, as `suiji draws` lists it); every draw by default.
    #[arg(long)]
    pub draw: Option<i64>,
}

pub fn run(cli: &Cli, args: &Args) -> Result<i32, Failed> {
    let (config, store) = crate::jobs::open_data(&cli.config)?;
    let done =
        crate::jobs::regenerate::run(&store, &config.output_dir, &Input { draw: args.draw })?;
    let mut failed = 0;
    for r in &done {
        let what = match &r.outcome {
            Outcome::Unchanged => "unchanged".to_string(),
            Outcome::Written => "written".to_string(),
            Outcome::Replaced { aside } => format!(
                "written; the files found there differed from the record and are kept in {}",
                aside.display()
            ),
            Outcome::Failed(e) => {
                failed += 1;
                format!("FAILED: {e}")
            }
        };
        outln!(
            "#{:<5} {} {}: {} ({})",
            r.draw_id,
            r.matter,
            r.period,
            what,
            r.folder.display()
        );
    }
    let written = done
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Written | Outcome::Replaced { .. }))
        .count();
    outln!(
        "{} draw folder(s): {written} written, {} unchanged, {failed} failed",
        done.len(),
        done.len() - written - failed
    );
    Ok(if failed > 0 { exit::PARTIAL } else { exit::OK })
}
