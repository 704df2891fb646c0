//! Console accounts, their sessions and failed logins on PostgreSQL: the same rows and audit
//! entries as on SQLite (`store::users`), through [`UserStore`].

use std::collections::HashMap;

use postgres::Transaction;

use super::super::error::R;
use super::super::users::{COLUMNS, account_entry, missing, session_sql, slowed_entry, taken};
use super::super::{AccountAudit, NewSession, NewUser, Stamp, StoreError, UserRow, UserStore};
use super::{PgStore, audit};

fn row(r: &postgres::Row) -> R<UserRow> {
    Ok(UserRow {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        roles: r.try_get(2)?,
        department: r.try_get(3)?,
        inspector: r.try_get(4)?,
        password_hash: r.try_get(5)?,
        disabled: r.try_get::<_, i64>(6)? != 0,
        failed_logins: r.try_get(7)?,
        locked_until: r.try_get(8)?,
        created_at: r.try_get(9)?,
    })
}

/// The account `name`; with `lock`, its row locked for this transaction (two nodes changing
/// one account queue).
fn by_name(tx: &mut Transaction<'_>, name: &str, lock: bool) -> R<Option<UserRow>> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    let sql = format!("SELECT {COLUMNS} FROM users WHERE name = $1{lock}");
    tx.query_opt(&sql, &[&name])?.as_ref().map(row).transpose()
}

/// The account `name`, locked for this transaction; refused when there is none.
fn locked(tx: &mut Transaction<'_>, name: &str) -> R<UserRow> {
    by_name(tx, name, true)?.ok_or_else(|| missing(name))
}

impl PgStore {
    /// Audits `action` done to the account `user`, in the caller's transaction.
    fn audit_account(
        &self,
        tx: &mut Transaction<'_>,
        s: Stamp<'_>,
        action: &str,
        user: &str,
        d: &AccountAudit,
    ) -> R<i64> {
        account_entry(s, action, user, d, |e| audit::append(tx, &self.origin, e))
    }

    /// Runs `change` on the account `name` (locked), ends its sessions when `end_sessions`,
    /// and audits `action`: one transaction.
    fn change_account(
        &self,
        name: &str,
        s: Stamp<'_>,
        action: &str,
        change: impl FnOnce(&mut Transaction<'_>, i64) -> R<u64>,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            let u = locked(tx, name)?;
            change(tx, u.id)?;
            self.audit_account(tx, s, action, name, &AccountAudit::default())?;
            Ok(())
        })
    }
}

fn end_sessions(tx: &mut Transaction<'_>, user_id: i64) -> R<u64> {
    Ok(tx.execute("DELETE FROM sessions WHERE user_id = $1", &[&user_id])?)
}

impl UserStore for PgStore {
    fn add_user(&mut self, u: &NewUser, s: Stamp<'_>) -> Result<i64, StoreError> {
        self.write(|tx| {
            // Two nodes creating one name at once: the unique index decides, this says why.
            if by_name(tx, &u.name, false)?.is_some() {
                return Err(taken(&u.name));
            }
            let id: i64 = tx
                .query_one(
                    "INSERT INTO users (name, roles, department, inspector, password_hash,
                         created_at)
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                    &[
                        &u.name,
                        &u.roles,
                        &u.department,
                        &u.inspector,
                        &u.password_hash,
                        &s.at,
                    ],
                )?
                .try_get(0)?;
            let detail =
                AccountAudit::of_scope(&u.roles, u.department.as_deref(), u.inspector.as_deref());
            self.audit_account(tx, s, "user.add", &u.name, &detail)?;
            Ok(id)
        })
    }

    fn users(&self) -> Result<Vec<UserRow>, StoreError> {
        self.read(|tx| {
            let sql = format!("SELECT {COLUMNS} FROM users ORDER BY name COLLATE \"C\"");
            tx.query(&sql, &[])?.iter().map(row).collect()
        })
    }

    fn user(&self, name: &str) -> Result<Option<UserRow>, StoreError> {
        self.read(|tx| by_name(tx, name, false))
    }

    fn disable_user(&mut self, name: &str, s: Stamp<'_>) -> Result<(), StoreError> {
        self.change_account(name, s, "user.disable", |tx, id| {
            tx.execute("UPDATE users SET disabled = 1 WHERE id = $1", &[&id])?;
            end_sessions(tx, id)
        })
    }

    fn enable_user(&mut self, name: &str, s: Stamp<'_>) -> Result<(), StoreError> {
        self.change_account(name, s, "user.enable", |tx, id| {
            Ok(tx.execute(
                "UPDATE users SET disabled = 0, failed_logins = 0, locked_until = 0
                 WHERE id = $1",
                &[&id],
            )?)
        })
    }

    fn set_user_scope(
        &mut self,
        name: &str,
        roles: &str,
        department: Option<&str>,
        inspector: Option<&str>,
        s: Stamp<'_>,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            let u = locked(tx, name)?;
            tx.execute(
                "UPDATE users SET roles = $1, department = $2, inspector = $3 WHERE id = $4",
                &[&roles, &department, &inspector, &u.id],
            )?;
            end_sessions(tx, u.id)?;
            let detail = AccountAudit::of_scope(roles, department, inspector);
            self.audit_account(tx, s, "user.roles", name, &detail)?;
            Ok(())
        })
    }

    fn last_logins(&self) -> Result<HashMap<String, String>, StoreError> {
        self.read(|tx| {
            let rows = tx.query(
                "SELECT substr(subject, 6), max(at) FROM audit_log
                 WHERE action = 'login.ok' AND subject LIKE 'user:%' GROUP BY subject",
                &[],
            )?;
            rows.iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect()
        })
    }

    fn set_password(&mut self, name: &str, hash: &str, s: Stamp<'_>) -> Result<(), StoreError> {
        self.change_account(name, s, "user.password", |tx, id| {
            tx.execute(
                "UPDATE users SET password_hash = $1, failed_logins = 0, locked_until = 0
                 WHERE id = $2",
                &[&hash, &id],
            )?;
            end_sessions(tx, id)
        })
    }

    fn login_failures(&self, address: &str, since: i64) -> Result<i64, StoreError> {
        self.read(|tx| {
            Ok(tx
                .query_one(
                    "SELECT count(*) FROM login_failures WHERE address = $1 AND at >= $2",
                    &[&address, &since],
                )?
                .try_get(0)?)
        })
    }

    fn record_login_failure(
        &mut self,
        name: &str,
        address: &str,
        now: i64,
        lock: (i64, i64),
        s: Stamp<'_>,
    ) -> Result<i64, StoreError> {
        let (lock_after, lock_until) = lock;
        self.write(|tx| {
            tx.execute(
                "INSERT INTO login_failures (address, at) VALUES ($1, $2)",
                &[&address, &now],
            )?;
            // Failures older than a day say nothing about throttling any more.
            tx.execute(
                "DELETE FROM login_failures WHERE at < $1",
                &[&now.saturating_sub(86_400)],
            )?;
            let detail = AccountAudit::of_address(address);
            self.audit_account(tx, s, "login.failed", name, &detail)?;
            // Failures counted under the row lock: two nodes failing at once both count.
            let Some(u) = by_name(tx, name, true)? else {
                return Ok(0);
            };
            let failed = u.failed_logins + 1;
            if failed >= lock_after {
                tx.execute(
                    "UPDATE users SET locked_until = $1, failed_logins = 0 WHERE id = $2",
                    &[&lock_until, &u.id],
                )?;
                self.audit_account(tx, s, "user.locked", name, &detail)?;
            } else {
                tx.execute(
                    "UPDATE users SET failed_logins = $1 WHERE id = $2",
                    &[&failed, &u.id],
                )?;
            }
            Ok(failed)
        })
    }

    fn record_login_slowed(&mut self, address: &str, s: Stamp<'_>) -> Result<(), StoreError> {
        self.write(|tx| {
            slowed_entry(address, s, |e| audit::append(tx, &self.origin, e))?;
            Ok(())
        })
    }

    fn open_session(
        &mut self,
        user_id: i64,
        session: &NewSession,
        address: &str,
        s: Stamp<'_>,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            let name: String = tx
                .query_one(
                    "UPDATE users SET failed_logins = 0, locked_until = 0 WHERE id = $1
                     RETURNING name",
                    &[&user_id],
                )?
                .try_get(0)?;
            tx.execute(
                "DELETE FROM sessions WHERE expires < $1",
                &[&session.created],
            )?;
            tx.execute(
                "INSERT INTO sessions (token_hash, user_id, csrf, created, expires)
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &session.token_hash,
                    &user_id,
                    &session.csrf,
                    &session.created,
                    &session.expires,
                ],
            )?;
            let detail = AccountAudit::of_address(address);
            self.audit_account(tx, s, "login.ok", &name, &detail)?;
            Ok(())
        })
    }

    fn session(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<(UserRow, String, i64)>, StoreError> {
        self.read(|tx| {
            let sql = session_sql("$1", "$2");
            match tx.query_opt(&sql, &[&token_hash, &now])? {
                Some(r) => Ok(Some((row(&r)?, r.try_get(10)?, r.try_get(11)?))),
                None => Ok(None),
            }
        })
    }

    fn close_session(&mut self, token_hash: &str, s: Stamp<'_>) -> Result<(), StoreError> {
        self.write(|tx| {
            let name: Option<String> = tx
                .query_opt(
                    "DELETE FROM sessions s USING users u
                     WHERE s.token_hash = $1 AND u.id = s.user_id RETURNING u.name",
                    &[&token_hash],
                )?
                .map(|r| r.try_get(0))
                .transpose()?;
            if let Some(name) = name {
                self.audit_account(tx, s, "logout", &name, &AccountAudit::default())?;
            }
            Ok(())
        })
    }
}
