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

/// Whether the action runs on PostgreSQL (walking and reading the chain do; anchors not yet).
pub(crate) fn runs_on_postgres(args: &Args) -> bool {
    matches!(
        args.action,
        Action::Verify { against: None } | Action::Log { .. }
    )
}

pub fn run(cli: &Cli, args: &Args) -> Result<i32, Failed> {
    if let Some(url) = super::db::postgres(cli)? {
        let store = crate::jobs::database::open(&url)?;
        return read(&store, &args.action);
    }
    let store = open_store_of_config(cli)?;
    match &args.action {
        Action::Anchor => anchor(cli),
        Action::Verify {
            against: Some(source),
        } => {
            let check = crate::jobs::anchor::verify_against(&store, source)?;
            outln!("{check}");
            Ok(if check.is_consistent() {
                exit::OK
            } else {
                exit::INVALID
            })
        }
        action => read(&store, action),
    }
}

/// `audit verify` and `audit log`, on either database.
fn read(store: &dyn crate::store::AuditLog, action: &Action) -> Result<i32, Failed> {
    match action {
        Action::Verify { against: None } => match crate::jobs::audit::verify(store)? {
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
            for e in &crate::jobs::audit::latest(store, *limit)? {
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
        Action::Anchor | Action::Verify { against: Some(_) } => {
            Err(crate::jobs::database::DatabaseError::NotYet {
                command: "audit anchor / audit verify --against".into(),
            }
            .into())
        }
    }
}

fn anchor(cli: &Cli) -> Result<i32, Failed> {
    match crate::jobs::anchor::daily(&cli.config, chrono::Utc::now())? {
        Some(a) => outln!("anchored entry {} (head {}) at {}", a.seq, a.hash, a.at),
        None => outln!("nothing new to anchor"),
    }
    Ok(exit::OK)
}
