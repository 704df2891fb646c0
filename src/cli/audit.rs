//! `suiji audit verify`: walk the hash-chained audit log.

use super::{Cli, Failed, exit, open_store_of_config};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Check every link of the audit chain; name the first broken one.
    Verify,
    /// Print the latest audit entries.
    Log {
        /// How many entries.
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
}

pub fn run(cli: &Cli, args: &Args) -> Result<i32, Failed> {
    let store = open_store_of_config(cli)?;
    match args.action {
        Action::Verify => match crate::jobs::audit::verify(&store)? {
            crate::store::AuditReport::Intact { entries, head } => {
                outln!("audit log intact: {entries} entries, head {head}");
                Ok(exit::OK)
            }
            crate::store::AuditReport::Broken(b) => {
                outln!("AUDIT LOG BROKEN at {b}");
                Ok(exit::INVALID)
            }
        },
        Action::Log { limit } => {
            for e in &crate::jobs::audit::latest(&store, limit)? {
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
