//! Who wrote a record, besides the name given with `--actor`: the OS account and the machine
//! the writing process ran as, and the console user once the console writes records.

/// Where a write came from; recorded with every audit entry of format 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The OS account of the writing process (a name, or `uid N` when it has none).
    pub os_user: String,
    /// The machine's host name.
    pub host: String,
    /// The signed-in console user, when the console made the write.
    pub console_user: Option<String>,
}

impl Origin {
    /// The account and host of this process, as the OS reports them. The account comes from
    /// the process's real user id (`/proc/self/status`, named by `/etc/passwd`), not from
    /// environment variables a caller could set; where that cannot be read (not Linux),
    /// from `USER`/`USERNAME`.
    pub fn of_process() -> Origin {
        Origin {
            os_user: os_user().unwrap_or_else(|| "unknown".into()),
            host: host().unwrap_or_else(|| "unknown".into()),
            console_user: None,
        }
    }
}

fn os_user() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok();
    let uid = status.as_deref().and_then(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|rest| rest.split_whitespace().next())
            .map(str::to_string)
    });
    match uid {
        Some(uid) => Some(user_name(&uid).unwrap_or_else(|| format!("uid {uid}"))),
        None => ["USER", "USERNAME"]
            .iter()
            .find_map(|k| std::env::var(k).ok())
            .filter(|u| !u.trim().is_empty()),
    }
}

/// The account name of `uid` in `/etc/passwd`.
fn user_name(uid: &str) -> Option<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut f = line.split(':');
        let name = f.next()?;
        let _password = f.next()?;
        (f.next()? == uid && !name.is_empty()).then(|| name.to_string())
    })
}

fn host() -> Option<String> {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| {
            ["HOSTNAME", "COMPUTERNAME"]
                .iter()
                .find_map(|k| std::env::var(k).ok())
                .filter(|h| !h.trim().is_empty())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_process_has_an_account_and_a_host() {
        let o = Origin::of_process();
        assert!(!o.os_user.trim().is_empty());
        assert!(!o.host.trim().is_empty());
        assert_eq!(o.console_user, None);
    }
}
