//! `suiji user add|list|disable|reset-password`: console accounts.

use std::io::BufRead as _;

use super::{Cli, Failed, exit, now_local};
use crate::jobs::users::{AddInput, UserError, parse_roles};
use crate::store::Stamp;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The accounts of this platform's own store (its administrators) instead of a bureau's.
    #[arg(long, value_name = "FILE", global = true)]
    pub platform: Option<std::path::PathBuf>,
    #[command(subcommand)]
    pub command: UserCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum UserCommand {
    /// Create an account; the password is read twice from the terminal (or once from stdin).
    Add(AddArgs),
    /// List the accounts.
    List,
    /// Disable an account (it is kept; its sessions end).
    Disable(NameArgs),
    /// Set a new password (read like `add`); unlocks the account and ends its sessions.
    ResetPassword(NameArgs),
}

#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// The account name used to log in.
    pub name: String,
    /// Role ids, comma-separated or repeated: admin, editor, approver, operator, inspector, auditor.
    #[arg(long = "role", required = true)]
    pub roles: Vec<String>,
    /// Limit the account to one department (its id in the rules).
    #[arg(long)]
    pub department: Option<String>,
    /// An inspector account's row in the inspector registry (its id).
    #[arg(long)]
    pub inspector: Option<String>,
    /// Read the password once from standard input instead of the terminal.
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, clap::Args)]
pub struct NameArgs {
    pub name: String,
    /// Read the password once from standard input instead of the terminal.
    #[arg(long)]
    pub password_stdin: bool,
}

/// Who runs the command, for the audit log: `cli:` and the OS account of the process (its
/// real user id, as every audit entry's origin names it; not `USER`, which a caller sets).
fn actor() -> String {
    format!("cli:{}", crate::store::Origin::of_process().os_user)
}

fn read_password(stdin: bool) -> Result<String, Failed> {
    if stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| unreadable_password("from standard input", &e, "give it as one line"))?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_string());
    }
    // Read from the terminal, not standard input: without one (a script, a service, a pipe),
    // say so and name the flag that reads it from standard input.
    let prompt = |text: &str| {
        rpassword::prompt_password(text).map_err(|e| {
            let help = "run the command in a terminal, or give the password on standard input \
                        with --password-stdin";
            unreadable_password("from a terminal", &e, help)
        })
    };
    let first = prompt("password: ")?;
    let second = prompt("again: ")?;
    if first != second {
        return Err(UserError::Mismatch.into());
    }
    Ok(first)
}

/// A password that could not be read `whence`, with what to do.
fn unreadable_password(whence: &str, e: &std::io::Error, help: &str) -> Failed {
    Failed {
        report: crate::diag::Report::error(
            format!("cannot read the password {whence}: {e}"),
            &[help],
        ),
        fault: crate::diag::Fault::Invalid,
    }
}

pub fn run(cli: &Cli, args: &Args) -> Result<i32, Failed> {
    if let Some(file) = &args.platform {
        return platform(file, &args.command, cli.database.as_deref());
    }
    let loaded = super::load_rules(cli)?;
    let database = super::db::postgres(cli)?;
    let mut store = crate::jobs::open_user_store(&loaded, database.as_ref())?;
    let at = now_local(&loaded);
    let actor = actor();
    let stamp = Stamp {
        at: &at,
        actor: &actor,
    };
    let UserCommand::Add(a) = &args.command else {
        return account(&mut *store, &args.command, stamp);
    };
    let roles = parse_roles(&a.roles.join(",")).map_err(UserError::UnknownRole)?;
    let input = AddInput {
        name: a.name.clone(),
        roles,
        department: a.department.clone(),
        inspector: a.inspector.clone(),
        password: read_password(a.password_stdin)?,
    };
    crate::jobs::users::add(&loaded, &mut *store, &input, stamp)?;
    outln!("account {} created", a.name);
    Ok(exit::OK)
}

/// `suiji user … --platform FILE`: the platform's administrators, in its own store.
fn platform(
    file: &std::path::Path,
    command: &UserCommand,
    given: Option<&str>,
) -> Result<i32, Failed> {
    let platform = super::load_platform(file)?;
    let server = crate::jobs::platform::server(given)?;
    let mut store = crate::jobs::platform::open_store(&platform, server.as_ref())?;
    let at = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string();
    let actor = actor();
    let stamp = Stamp {
        at: &at,
        actor: &actor,
    };
    let UserCommand::Add(a) = command else {
        let code = account(&mut *store, command, stamp)?;
        if let UserCommand::ResetPassword(n) = command {
            end_bureau_sessions(&platform, given, &n.name, stamp)?;
        }
        return Ok(code);
    };
    let roles = parse_roles(&a.roles.join(",")).map_err(UserError::UnknownRole)?;
    if a.department.is_some() || a.inspector.is_some() {
        return Err(UserError::PlatformRole.into());
    }
    let password = read_password(a.password_stdin)?;
    crate::jobs::platform::add_admin(&mut *store, &a.name, &roles, &password, stamp)?;
    outln!("platform administrator {} created", a.name);
    Ok(exit::OK)
}

/// After a platform administrator's new password, their sessions at every bureau end (each
/// bureau's store opened as its config says, on the database the platform was given).
fn end_bureau_sessions(
    platform: &crate::rules::platform::Platform,
    given: Option<&str>,
    name: &str,
    stamp: Stamp<'_>,
) -> Result<(), Failed> {
    for b in &platform.bureaus {
        let database = crate::jobs::database::configured(&b.config, given)?;
        let loaded = crate::jobs::load_rules_on(&b.config, database.as_ref())?;
        let mut store = crate::jobs::open_user_store(&loaded, database.as_ref())?;
        if crate::jobs::platform::end_sessions_in(&mut *store, name, stamp)? {
            outln!("sessions of {name} at {} ended", b.bureau.name);
        }
    }
    Ok(())
}

/// The commands on accounts that exist (list, disable, reset-password), on either store.
fn account(
    store: &mut dyn crate::store::UserStore,
    command: &UserCommand,
    stamp: Stamp<'_>,
) -> Result<i32, Failed> {
    match command {
        UserCommand::Add(_) => {}
        UserCommand::List => list(store)?,
        UserCommand::Disable(n) => {
            crate::jobs::users::disable(store, &n.name, stamp)?;
            outln!("account {} disabled", n.name);
        }
        UserCommand::ResetPassword(n) => {
            let password = read_password(n.password_stdin)?;
            crate::jobs::users::reset_password(store, &n.name, &password, stamp)?;
            outln!("password of {} set", n.name);
        }
    }
    Ok(exit::OK)
}

fn list(store: &dyn crate::store::UserStore) -> Result<(), Failed> {
    outln!(
        "{:<20} {:<28} {:<12} {:<10} state",
        "name",
        "roles",
        "department",
        "inspector"
    );
    for (user, row) in crate::jobs::users::list(store)? {
        let roles: Vec<&str> = user.roles.iter().map(|r| r.id()).collect();
        outln!(
            "{:<20} {:<28} {:<12} {:<10} {}",
            user.name,
            roles.join(","),
            user.department.as_deref().unwrap_or("all"),
            user.inspector.as_deref().unwrap_or("—"),
            if row.disabled { "disabled" } else { "active" }
        );
    }
    Ok(())
}
