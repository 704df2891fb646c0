//! Console accounts, their sessions and failed logins. The store keeps them and audits every
//! change; what a password is and what a role may do are decided in `jobs::users`.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::audit::{Entry, append};
use super::error::{Fail, R};
use super::origin::Origin;
use super::rows::Rows;
use super::{Store, StoreError, UserStore};

/// A stored account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    pub id: i64,
    pub name: String,
    /// Role ids, comma-separated, as stored.
    pub roles: String,
    pub department: Option<String>,
    pub inspector: Option<String>,
    pub password_hash: String,
    pub disabled: bool,
    pub failed_logins: i64,
    /// Unix seconds until which logins are refused (0: not locked).
    pub locked_until: i64,
    pub created_at: String,
}

/// An account to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub name: String,
    pub roles: String,
    pub department: Option<String>,
    pub inspector: Option<String>,
    pub password_hash: String,
}

/// `user.add`, `user.disable`, `user.enable`, `user.roles`, `user.password`, `user.locked`,
/// `login.ok`, `login.failed`, `login.slowed`, `logout`: what happened to an account (format
/// version 1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountAudit {
    /// The address a login came from (logins only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inspector: Option<String>,
    /// Role ids (account changes only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<String>,
}

/// Who writes, when, for the audit entry of an account change.
#[derive(Debug, Clone, Copy)]
pub struct Stamp<'a> {
    pub at: &'a str,
    pub actor: &'a str,
}

/// The columns of `users`, in the order [`row`] reads them.
pub(crate) const COLUMNS: &str = "id, name, roles, department, inspector, password_hash, disabled, \
                       failed_logins, locked_until, created_at";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<UserRow> {
    Ok(UserRow {
        id: r.get(0)?,
        name: r.get(1)?,
        roles: r.get(2)?,
        department: r.get(3)?,
        inspector: r.get(4)?,
        password_hash: r.get(5)?,
        disabled: r.get::<_, i64>(6)? != 0,
        failed_logins: r.get(7)?,
        locked_until: r.get(8)?,
        created_at: r.get(9)?,
    })
}

fn by_name(c: &Connection, name: &str) -> R<Option<UserRow>> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE name = ?1");
    Ok(c.prepare_cached(&sql)?.query_row([name], row).optional()?)
}

impl AccountAudit {
    /// The detail of a login, a failed one or a slowed address: where it came from.
    pub(crate) fn of_address(address: &str) -> AccountAudit {
        AccountAudit {
            address: Some(address.to_string()),
            ..AccountAudit::default()
        }
    }

    /// The detail of an account created or rescoped: its roles, department and inspector row.
    pub(crate) fn of_scope(
        roles: &str,
        department: Option<&str>,
        inspector: Option<&str>,
    ) -> AccountAudit {
        AccountAudit {
            address: None,
            department: department.map(str::to_string),
            inspector: inspector.map(str::to_string),
            roles: Some(roles.to_string()),
        }
    }
}

/// Hands `append` the audit entry of `action` done to the account `user` (subject
/// `user:NAME`), by whoever `s` names: the one shape of an account's entry on either database.
pub(crate) fn account_entry<T>(
    s: Stamp<'_>,
    action: &str,
    user: &str,
    d: &AccountAudit,
    append: impl FnOnce(&Entry<'_, AccountAudit>) -> R<T>,
) -> R<T> {
    let subject = format!("user:{user}");
    append(&Entry {
        at: s.at,
        actor: s.actor,
        action,
        subject: &subject,
        detail: d,
        rows: Rows::None,
    })
}

fn audit(
    c: &Connection,
    origin: &Origin,
    s: Stamp<'_>,
    action: &str,
    user: &str,
    d: &AccountAudit,
) -> R<i64> {
    account_entry(s, action, user, d, |e| append(c, origin, e))
}

/// The query of a live session by its token hash (parameter `token`) at `now` (parameter
/// `now`): the account's columns, then the session's CSRF token and end.
pub(crate) fn session_sql(token: &str, now: &str) -> String {
    let columns: Vec<String> = COLUMNS.split(", ").map(|c| format!("u.{c}")).collect();
    format!(
        "SELECT {}, s.csrf, s.expires FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.token_hash = {token} AND s.expires > {now} AND u.disabled = 0",
        columns.join(", ")
    )
}

/// The refusal of an account whose name is taken.
pub(crate) fn taken(name: &str) -> Fail {
    StoreError::invalid("user", format!("`{name}` already exists")).into()
}

/// Hands `append` the audit entry of an address slowed down (subject `address:ADDR`).
pub(crate) fn slowed_entry<T>(
    address: &str,
    s: Stamp<'_>,
    append: impl FnOnce(&Entry<'_, AccountAudit>) -> R<T>,
) -> R<T> {
    let subject = format!("address:{address}");
    append(&Entry {
        at: s.at,
        actor: s.actor,
        action: "login.slowed",
        subject: &subject,
        detail: &AccountAudit::of_address(address),
        rows: Rows::None,
    })
}

/// The refusal of a change to an account that does not exist.
pub(crate) fn missing(name: &str) -> Fail {
    StoreError::invalid("user", format!("no account named `{name}`")).into()
}

impl UserStore for Store {
    /// Creates an account; a name already taken is refused.
    fn add_user(&mut self, u: &NewUser, s: Stamp<'_>) -> Result<i64, StoreError> {
        let origin = self.origin.clone();
        self.write(|tx| {
            if by_name(tx, &u.name)?.is_some() {
                return Err(taken(&u.name));
            }
            tx.execute(
                "INSERT INTO users (name, roles, department, inspector, password_hash, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    u.name,
                    u.roles,
                    u.department,
                    u.inspector,
                    u.password_hash,
                    s.at
                ],
            )?;
            let id = tx.last_insert_rowid();
            let detail =
                AccountAudit::of_scope(&u.roles, u.department.as_deref(), u.inspector.as_deref());
            audit(tx, &origin, s, "user.add", &u.name, &detail)?;
            Ok(id)
        })
    }

    /// Every account, by name.
    fn users(&self) -> Result<Vec<UserRow>, StoreError> {
        self.read(|c| {
            let sql = format!("SELECT {COLUMNS} FROM users ORDER BY name");
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt.query_map([], row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// The account of this name.
    fn user(&self, name: &str) -> Result<Option<UserRow>, StoreError> {
        self.read(|c| by_name(c, name))
    }

    /// Disables an account and ends its sessions.
    fn disable_user(&mut self, name: &str, s: Stamp<'_>) -> Result<(), StoreError> {
        let origin = self.origin.clone();
        self.write(|tx| {
            let u = by_name(tx, name)?.ok_or_else(|| missing(name))?;
            tx.execute("UPDATE users SET disabled = 1 WHERE id = ?1", [u.id])?;
            tx.execute("DELETE FROM sessions WHERE user_id = ?1", [u.id])?;
            audit(
                tx,
                &origin,
                s,
                "user.disable",
                name,
                &AccountAudit::default(),
            )?;
            Ok(())
        })
    }

    /// Enables a disabled account again (unlocked, its failures cleared).
    fn enable_user(&mut self, name: &str, s: Stamp<'_>) -> Result<(), StoreError> {
        let origin = self.origin.clone();
        self.write(|tx| {
            let u = by_name(tx, name)?.ok_or_else(|| missing(name))?;
            tx.execute(
                "UPDATE users SET disabled = 0, failed_logins = 0, locked_until = 0
                 WHERE id = ?1",
                [u.id],
            )?;
            audit(
                tx,
                &origin,
                s,
                "user.enable",
                name,
                &AccountAudit::default(),
            )?;
            Ok(())
        })
    }

    /// Sets an account's roles (ids, comma-separated), department and inspector row, and ends
    /// its sessions (the next login takes the new roles). The audit entry records all three.
    fn set_user_scope(
        &mut self,
        name: &str,
        roles: &str,
        department: Option<&str>,
        inspector: Option<&str>,
        s: Stamp<'_>,
    ) -> Result<(), StoreError> {
        let origin = self.origin.clone();
        self.write(|tx| {
            let u = by_name(tx, name)?.ok_or_else(|| missing(name))?;
            tx.execute(
                "UPDATE users SET roles = ?1, department = ?2, inspector = ?3 WHERE id = ?4",
                params![roles, department, inspector, u.id],
            )?;
            tx.execute("DELETE FROM sessions WHERE user_id = ?1", [u.id])?;
            let detail = AccountAudit::of_scope(roles, department, inspector);
            audit(tx, &origin, s, "user.roles", name, &detail)?;
            Ok(())
        })
    }

    /// When each account last logged in (the time of its latest `login.ok` audit entry), by
    /// account name; accounts that never did are absent.
    fn last_logins(&self) -> Result<HashMap<String, String>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT substr(subject, 6), max(at) FROM audit_log
                 WHERE action = 'login.ok' AND subject LIKE 'user:%' GROUP BY subject",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Sets a new password hash, unlocks the account and ends its sessions.
    fn set_password(&mut self, name: &str, hash: &str, s: Stamp<'_>) -> Result<(), StoreError> {
        let origin = self.origin.clone();
        self.write(|tx| {
            let u = by_name(tx, name)?.ok_or_else(|| missing(name))?;
            tx.execute(
                "UPDATE users SET password_hash = ?1, failed_logins = 0, locked_until = 0
                 WHERE id = ?2",
                params![hash, u.id],
            )?;
            tx.execute("DELETE FROM sessions WHERE user_id = ?1", [u.id])?;
            audit(
                tx,
                &origin,
                s,
                "user.password",
                name,
                &AccountAudit::default(),
            )?;
            Ok(())
        })
    }

    /// Failed logins from `address` since `since` (unix seconds).
    fn login_failures(&self, address: &str, since: i64) -> Result<i64, StoreError> {
        self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT count(*) FROM login_failures WHERE address = ?1 AND at >= ?2",
            )?
            .query_row(params![address, since], |r| r.get(0))?)
        })
    }

    /// Records a failed login: from `address`, and against the account when it exists. After
    /// `lock_after` failures in a row the account is locked until `lock_until`. Returns the
    /// account's failures in a row (0 for an unknown name).
    fn record_login_failure(
        &mut self,
        name: &str,
        address: &str,
        now: i64,
        lock: (i64, i64),
        s: Stamp<'_>,
    ) -> Result<i64, StoreError> {
        let (lock_after, lock_until) = lock;
        let origin = self.origin.clone();
        self.write(|tx| {
            tx.execute(
                "INSERT INTO login_failures (address, at) VALUES (?1, ?2)",
                params![address, now],
            )?;
            // Failures older than a day say nothing about throttling any more.
            tx.execute(
                "DELETE FROM login_failures WHERE at < ?1",
                [now.saturating_sub(86_400)],
            )?;
            let detail = AccountAudit::of_address(address);
            audit(tx, &origin, s, "login.failed", name, &detail)?;
            let Some(u) = by_name(tx, name)? else {
                return Ok(0);
            };
            let failed = u.failed_logins + 1;
            tx.execute(
                "UPDATE users SET failed_logins = ?1 WHERE id = ?2",
                params![failed, u.id],
            )?;
            if failed >= lock_after {
                tx.execute(
                    "UPDATE users SET locked_until = ?1, failed_logins = 0 WHERE id = ?2",
                    params![lock_until, u.id],
                )?;
                audit(tx, &origin, s, "user.locked", name, &detail)?;
            }
            Ok(failed)
        })
    }

    /// Audits an address slowed down for failing too often.
    fn record_login_slowed(&mut self, address: &str, s: Stamp<'_>) -> Result<(), StoreError> {
        let origin = self.origin.clone();
        self.write(|tx| {
            slowed_entry(address, s, |e| append(tx, &origin, e))?;
            Ok(())
        })
    }

    /// Opens a session after a good password: clears the account's failures, stores the
    /// token's hash and audits the login.
    fn open_session(
        &mut self,
        user_id: i64,
        session: &NewSession,
        address: &str,
        s: Stamp<'_>,
    ) -> Result<(), StoreError> {
        let origin = self.origin.clone();
        self.write(|tx| {
            tx.execute(
                "UPDATE users SET failed_logins = 0, locked_until = 0 WHERE id = ?1",
                [user_id],
            )?;
            tx.execute("DELETE FROM sessions WHERE expires < ?1", [session.created])?;
            tx.execute(
                "INSERT INTO sessions (token_hash, user_id, csrf, created, expires)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    session.token_hash,
                    user_id,
                    session.csrf,
                    session.created,
                    session.expires
                ],
            )?;
            let name: String =
                tx.query_row("SELECT name FROM users WHERE id = ?1", [user_id], |r| {
                    r.get(0)
                })?;
            let detail = AccountAudit::of_address(address);
            audit(tx, &origin, s, "login.ok", &name, &detail)?;
            Ok(())
        })
    }

    /// The live session of this token hash, with its account (enabled accounts only): the
    /// account, the CSRF token and when the session ends (Unix seconds).
    fn session(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<(UserRow, String, i64)>, StoreError> {
        self.read(|c| {
            let sql = session_sql("?1", "?2");
            Ok(c.prepare_cached(&sql)?
                .query_row(params![token_hash, now], |r| {
                    Ok((row(r)?, r.get(10)?, r.get(11)?))
                })
                .optional()?)
        })
    }

    /// Ends a session.
    fn close_session(&mut self, token_hash: &str, s: Stamp<'_>) -> Result<(), StoreError> {
        let origin = self.origin.clone();
        self.write(|tx| {
            let name: Option<String> = tx
                .query_row(
                    "SELECT u.name FROM sessions s JOIN users u ON u.id = s.user_id
                     WHERE s.token_hash = ?1",
                    [token_hash],
                    |r| r.get(0),
                )
                .optional()?;
            tx.execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash])?;
            if let Some(name) = name {
                audit(tx, &origin, s, "logout", &name, &AccountAudit::default())?;
            }
            Ok(())
        })
    }
}

/// A session to store: the hash of its token, its CSRF token and its lifetime (unix seconds).
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token_hash: String,
    pub csrf: String,
    pub created: i64,
    pub expires: i64,
}
