//! `suiji regenerate [--draw N]`: rebuild the draws' folders and the publications in `out/`
//! from the database.

use super::{Cli, Failed, exit};
use crate::jobs::regenerate::{Input, Outcome};
use crate::store::ResultStore;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only this draw (its number, as `suiji draws` lists it) and its notice; every draw,
    /// every notice and the index of notices by default.
    #[arg(long)]
    pub draw: Option<i64>,
}

/// How an outcome reads; counts it into `tally` (written, failed).
fn said(outcome: &Outcome, tally: &mut (usize, usize)) -> String {
    match outcome {
        Outcome::Unchanged => "unchanged".to_string(),
        Outcome::Written => {
            tally.0 += 1;
            "written".to_string()
        }
        Outcome::Replaced { aside } => {
            tally.0 += 1;
            format!(
                "written; the files found there differed from the record and are kept in {}",
                aside.display()
            )
        }
        Outcome::Failed(e) => {
            tally.1 += 1;
            format!("FAILED: {e}")
        }
    }
}

pub fn run(cli: &Cli, args: &Args) -> Result<i32, Failed> {
    let database = super::db::postgres(cli)?;
    let (config, store, anchors): (_, Box<dyn ResultStore>, _) = match &database {
        Some(url) => {
            let config =
                crate::rules::load_config(&cli.config).map_err(crate::jobs::SetupError::Config)?;
            let store = crate::store::pg::PgStore::open_at(url)?;
            // The anchors are the database's: this node's file is written from them.
            let anchors = crate::jobs::anchor::write_from(&config.output_dir, &store)?;
            (config, Box::new(store), Some(anchors))
        }
        None => {
            let (config, store) = crate::jobs::open_data(&cli.config)?;
            (config, Box::new(store), None)
        }
    };
    let input = Input { draw: args.draw };
    let done = crate::jobs::regenerate::run(&*store, &config.output_dir, &input)?;
    let mut tally = (0, 0);
    for r in &done {
        let what = said(&r.outcome, &mut tally);
        outln!(
            "#{:<5} {} {}: {} ({})",
            r.draw_id,
            r.matter,
            r.period,
            what,
            r.folder.display()
        );
    }
    let (written, failed) = tally;
    outln!(
        "{} draw folder(s): {written} written, {} unchanged, {failed} failed",
        done.len(),
        done.len() - written - failed
    );
    if let Some(n) = anchors.filter(|n| *n > 0) {
        outln!(
            "{n} anchor(s) of the audit chain written from the database ({})",
            config
                .output_dir
                .join(crate::jobs::anchor::ANCHORS_FILE)
                .display()
        );
    }
    let failed = failed + publications(cli, &*store, &input)?;
    Ok(if failed > 0 { exit::PARTIAL } else { exit::OK })
}

/// The notices and the index, when anything is published (they need the rules, which the
/// draws' folders do not: those come from the rules archived with each draw). Returns how
/// many failed.
fn publications(cli: &Cli, store: &dyn ResultStore, input: &Input) -> Result<usize, Failed> {
    if store.publication_count()? == 0 {
        return Ok(0);
    }
    let loaded = super::load_rules(cli)?;
    let cal = crate::jobs::load_calendar(&loaded, false)?;
    let done = crate::jobs::regenerate::publications_on(&loaded, &cal, store, input)?;
    let mut tally = (0, 0);
    for r in &done {
        let what = said(&r.outcome, &mut tally);
        match r.draw_id {
            Some(id) => outln!("#{id:<5} {}: {what} ({})", r.what, r.path.display()),
            None => outln!("{}: {what} ({})", r.what, r.path.display()),
        }
    }
    let (written, failed) = tally;
    outln!(
        "{} publication output(s): {written} written, {} unchanged, {failed} failed",
        done.len(),
        done.len() - written - failed
    );
    Ok(failed)
}
