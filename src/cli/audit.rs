//! `suiji audit verify|anchor|log`: walk the hash-chained audit log, check it against
//! published anchors, anchor its head.

use super::{Cli, Failed, exit, open_store_of_config};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Check every link of the audit chain and the rows each entry records; name the first
    /// broken one.
    Verify {
        /// Also check the chain against published anchors: an anchors.json file, or an
        /// http:// address of one (the public site's /public/anchors.json).
        #[arg(long, value_name = "FILE-OR-URL")]
        against: Option<String>,
    },
    /// Write the chain's head to out/public/anchors.json (the daily anchor; run by a timer).
    Anchor,
    /// Print the latest audit entries.
    Log {
        /// How many entries.
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
}

pub fn run(cli: &Cli, args: &Args) -> Result<i32, Failed> {
    let database = super::db::postgres(cli)?;
    let open = || -> Result<Box<dyn crate::store::AuditLog>, Failed> {
        Ok(match &database {
            Some(url) => Box::new(crate::jobs::database::open(url)?),
            None => Box::new(open_store_of_config(cli)?),
        })
    };
    match &args.action {
        Action::Anchor => anchor(cli, database.as_ref()),
        Action::Verify { against } => verify(&*open()?, against.as_deref()),
        Action::Log { limit } => {
            for e in &crate::jobs::audit::latest(&*open()?, *limit)? {
                outln!(
                    "{:>6} {} {:<10} {:<18} {} {}",
                    e.seq,
                    e.at,
                    e.actor,
                    e.action,
                    e.subject,
                    e.detail
                );
            }
            Ok(exit::OK)
        }
    }
}

/// `audit verify [--against]`, on either database.
fn verify(store: &dyn crate::store::AuditLog, against: Option<&str>) -> Result<i32, Failed> {
    if let Some(source) = against {
        let check = crate::jobs::anchor::verify_against(store, source)?;
        outln!("{check}");
        return Ok(if check.is_consistent() {
            exit::OK
        } else {
            exit::INVALID
        });
    }
    match crate::jobs::audit::verify(store)? {
        crate::store::AuditReport::Intact { entries, head } => {
            outln!("audit log intact: {entries} entries, head {head}");
            Ok(exit::OK)
        }
        crate::store::AuditReport::Broken(b) => {
            outln!("AUDIT LOG BROKEN at {b}");
            Ok(exit::INVALID)
        }
    }
}

fn anchor(cli: &Cli, database: Option<&crate::store::pg::Place>) -> Result<i32, Failed> {
    match crate::jobs::anchor::daily(&cli.config, database, chrono::Utc::now())? {
        Some(a) => outln!("anchored entry {} (head {}) at {}", a.seq, a.hash, a.at),
        None => outln!("nothing new to anchor"),
    }
    Ok(exit::OK)
}
