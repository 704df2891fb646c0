//! `suiji serve`: the staff console, with the scheduler in the same process.

use std::net::SocketAddr;

use super::{Cli, Failed, exit, load_platform, load_rules};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address and port to listen on (put a TLS reverse proxy in front for other machines).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Do not run the scheduler in this process (another `suiji run` issues the draws).
    #[arg(long)]
    pub no_scheduler: bool,
    /// Mark session cookies Secure (set this behind a TLS reverse proxy).
    #[arg(long, env = "SUIJI_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// Serve every bureau of this platform file on one listener, each by its host name.
    #[arg(long, value_name = "FILE")]
    pub platform: Option<std::path::PathBuf>,
}

pub fn run(cli: &Cli, args: &Args) -> Result<i32, Failed> {
    if let Some(file) = &args.platform {
        let platform = load_platform(file)?;
        let options = crate::web::Options {
            config: file.clone(),
            listen: args.listen,
            scheduler: !args.no_scheduler,
            secure_cookies: args.secure_cookies,
            // Each bureau works in its own schema of it (`web::platform`).
            database: cli.database.clone().map(crate::store::pg::Place::new),
        };
        crate::web::serve_platform(platform, &options)?;
        return Ok(exit::OK);
    }
    // The rules are checked before anything listens: a console on broken rules is refused.
    let loaded = load_rules(cli)?;
    let options = crate::web::Options {
        config: cli.config.clone(),
        listen: args.listen,
        scheduler: !args.no_scheduler,
        secure_cookies: args.secure_cookies,
        database: super::db::postgres(cli)?,
    };
    crate::web::serve(loaded, &options)?;
    Ok(exit::OK)
}
