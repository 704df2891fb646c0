//! `suiji rules status|approve|return|history|diff|rollback`: the approval of rule changes on
//! a server without the console, recorded with the OS account running the command.

use crate::jobs::check::Keeper;
use crate::jobs::rule_changes::{self, ChangeError, Files, Who};
use crate::rules::model::Config;
use crate::store::DrawStore;

use super::{Cli, Failed, exit};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: RulesCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum RulesCommand {
    /// The approved version draws use, files changed outside the console, changes waiting.
    Status,
    /// Approve the files on disk (changed outside the console, or the first version), or a
    /// submitted change with --change.
    Approve {
        /// A change submitted in the console.
        #[arg(long)]
        change: Option<i64>,
    },
    /// Return a submitted change to its author with a comment.
    Return {
        change: i64,
        #[arg(long)]
        comment: String,
    },
    /// Every approved version: who changed and approved it, when, its rules hash.
    History,
    /// The diff between two versions (numbers, or `disk` for the files on disk); by default
    /// the latest version against the disk.
    Diff {
        from: Option<String>,
        to: Option<String>,
    },
    /// Propose going back to a version; the rollback needs approval like any change.
    Rollback { version: i64 },
}

fn who(store: &dyn DrawStore, config: &Config) -> Who {
    Who {
        actor: format!("cli:{}", store.origin().os_user),
        at: chrono::Utc::now()
            .with_timezone(&config.timezone)
            .format("%Y-%m-%dT%H:%M:%S%:z")
            .to_string(),
    }
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

pub fn run(cli: &Cli, args: &Args) -> Result<i32, Failed> {
    let config = crate::rules::load_config(&cli.config).map_err(crate::jobs::SetupError::Config)?;
    let mut store: Box<dyn DrawStore> = match super::db::postgres(cli)? {
        Some(url) => Box::new(crate::jobs::database::open(&url)?),
        None => Box::new(crate::jobs::open_store_of_config(&cli.config)?),
    };
    let store = &mut *store;
    match &args.command {
        RulesCommand::Status => status(cli, store, &config),
        RulesCommand::Approve { change } => approve(cli, store, &config, *change),
        RulesCommand::Return { change, comment } => {
            let who = who(store, &config);
            rule_changes::return_change(store, *change, comment, &who)?;
            outln!("change #{change} returned to its author");
            Ok(exit::OK)
        }
        RulesCommand::History => {
            history(store)?;
            Ok(exit::OK)
        }
        RulesCommand::Diff { from, to } => diff(store, &config, from.as_deref(), to.as_deref()),
        RulesCommand::Rollback { version } => {
            let who = who(store, &config);
            let id = rule_changes::rollback(
                store,
                &config,
                *version,
                &who,
                &Keeper::new(chrono::Utc::now),
            )?;
            let waiting = rule_changes::change(store, id)?.row.state == "submitted";
            if waiting {
                outln!(
                    "change #{id} proposes going back to version {version}; it is used once another person approves it (`suiji rules approve --change {id}`)"
                );
            } else {
                outln!("change #{id} went back to version {version}");
            }
            Ok(exit::OK)
        }
    }
}

fn status(cli: &Cli, store: &dyn DrawStore, config: &Config) -> Result<i32, Failed> {
    let st = rule_changes::status(store, config)?;
    let mode = match (st.required, st.self_approval) {
        (false, _) => "none (files are used as saved)",
        (true, false) => "two-person",
        (true, true) => "two-person, self-approval allowed",
    };
    outln!("approval: {mode}");
    match &st.latest {
        Some(v) => outln!(
            "in use: version {} (rules {}), approved by {} at {}",
            v.id,
            short(&v.rules_hash),
            v.approver,
            v.approved_at
        ),
        None => outln!(
            "in use: the files on disk (rules {}); no version is approved yet — the first `suiji run`, `draw`, `simulate` or `serve` adopts them as version 1, or `suiji rules approve` does now",
            short(&st.disk.hash)
        ),
    }
    if st.outside.is_empty() {
        if st.latest.is_some() {
            outln!("files on disk: the approved version");
        }
    } else {
        outln!(
            "changed outside the console (rules {}), NOT used until approved:",
            short(&st.disk.hash)
        );
        for d in &st.outside {
            outln!("  {}", d.path);
        }
        match crate::jobs::rule_changes::check_set(
            &cli.config,
            &st.disk.files,
            who(store, config).year(),
            &Keeper::new(chrono::Utc::now),
        ) {
            Ok(_) => outln!("  check: ok — approve with `suiji rules approve`"),
            Err(e) => {
                outln!("  check: the files on disk have problems; they cannot be approved:");
                out!(
                    "{}",
                    super::render_report(&crate::diag::Problem::report(&e))
                );
            }
        }
    }
    for c in &st.pending {
        outln!(
            "waiting for approval: change #{} ({}) by {} submitted {}: {}",
            c.id,
            if c.kind == "rollback" {
                "rollback".to_string()
            } else {
                c.department.clone()
            },
            c.author,
            c.submitted_at.as_deref().unwrap_or(""),
            c.files
                .keys()
                .chain(c.removed.iter())
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(exit::OK)
}

fn approve(
    cli: &Cli,
    store: &mut dyn DrawStore,
    config: &Config,
    change: Option<i64>,
) -> Result<i32, Failed> {
    let who = who(store, config);
    // One command: the registries' facts are read once, for this approval.
    let keeper = Keeper::new(chrono::Utc::now);
    if let Some(id) = change {
        let done = rule_changes::approve(store, config, id, &who, &keeper)?;
        outln!(
            "change #{id} approved as version {} (rules {}) by {}; written: {}",
            done.version,
            short(&done.rules_hash),
            who.actor,
            done.written
                .iter()
                .chain(done.removed.iter())
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        );
        return Ok(exit::OK);
    }
    if rule_changes::latest(store)?.is_none() {
        let disk = rule_changes::on_disk(config)?;
        rule_changes::check_set(&cli.config, &disk.files, who.year(), &keeper)
            .map_err(|e| ChangeError::Invalid(Box::new(e)))?;
        if let Some(v) = rule_changes::adopt(store, config, &who)? {
            outln!(
                "the files on disk are approved as version {v} (rules {}) by {}",
                short(&disk.hash),
                who.actor
            );
        }
        return Ok(exit::OK);
    }
    let done = rule_changes::approve_outside(store, config, None, &who, &keeper)?;
    outln!(
        "the files changed outside the console are approved as version {} (rules {}) by {}: {}",
        done.version,
        short(&done.rules_hash),
        who.actor,
        done.written.join(", ")
    );
    Ok(exit::OK)
}

fn history(store: &dyn DrawStore) -> Result<(), Failed> {
    outln!(
        "{:>7}  {:<12}  {:<25}  {:<9}  {:<20}  approved by",
        "version",
        "rules",
        "approved at",
        "kind",
        "changed by"
    );
    for v in rule_changes::history(store)? {
        let author = if v.author == rule_changes::OUTSIDE {
            "(outside the console)".to_string()
        } else {
            v.author.clone()
        };
        outln!(
            "{:>7}  {:<12}  {:<25}  {:<9}  {:<20}  {}",
            v.id,
            short(&v.rules_hash),
            v.approved_at,
            v.kind,
            author,
            v.approver
        );
    }
    Ok(())
}

/// A version's files, or the disk's.
fn files_of(store: &dyn DrawStore, config: &Config, which: &str) -> Result<Files, Failed> {
    if which == "disk" {
        return Ok(rule_changes::on_disk(config)?.files);
    }
    let id: i64 = which
        .parse()
        .map_err(|_| ChangeError::BadVersion(which.to_string()))?;
    Ok(rule_changes::version(store, id)?.files)
}

fn diff(
    store: &dyn DrawStore,
    config: &Config,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<i32, Failed> {
    let latest = rule_changes::latest(store)?.ok_or(ChangeError::NothingApproved)?;
    let from = match from {
        Some(f) => files_of(store, config, f)?,
        None => latest.files,
    };
    let to = files_of(store, config, to.unwrap_or("disk"))?;
    out!("{}", rule_changes::unified(&rule_changes::diff(&from, &to)));
    Ok(exit::OK)
}
