//! The store methods console accounts need, one interface over both databases: the SQLite
//! file ([`super::Store`], in `users.rs`) and PostgreSQL ([`super::pg::PgStore`]).
//!
//! `suiji user` and the console's login, sessions and accounts page (`jobs::users`) work
//! through this trait alone, so they run on either database with the same invariants:
//! accounts are never deleted (disabled instead), only a session token's SHA-256 is stored,
//! and every change to an account, every login, failed login and logout is one transaction
//! with its audit entry.

use std::collections::HashMap;

use super::{NewSession, NewUser, Stamp, StoreError, UserRow};

/// A database that keeps console accounts and their sessions.
pub trait UserStore {
    /// Creates an account; a name already taken is refused. Its id.
    fn add_user(&mut self, u: &NewUser, s: Stamp<'_>) -> Result<i64, StoreError>;
    /// Every account, by name.
    fn users(&self) -> Result<Vec<UserRow>, StoreError>;
    /// The account of this name.
    fn user(&self, name: &str) -> Result<Option<UserRow>, StoreError>;
    /// Disables an account and ends its sessions.
    fn disable_user(&mut self, name: &str, s: Stamp<'_>) -> Result<(), StoreError>;
    /// Enables a disabled account again (unlocked, its failures cleared).
    fn enable_user(&mut self, name: &str, s: Stamp<'_>) -> Result<(), StoreError>;
    /// Sets an account's roles (ids, comma-separated), department and inspector row, and ends
    /// its sessions.
    fn set_user_scope(
        &mut self,
        name: &str,
        roles: &str,
        department: Option<&str>,
        inspector: Option<&str>,
        s: Stamp<'_>,
    ) -> Result<(), StoreError>;
    /// When each account last logged in (its latest `login.ok` entry), by account name.
    fn last_logins(&self) -> Result<HashMap<String, String>, StoreError>;
    /// Sets a new password hash, unlocks the account and ends its sessions.
    fn set_password(&mut self, name: &str, hash: &str, s: Stamp<'_>) -> Result<(), StoreError>;
    /// Failed logins from `address` since `since` (unix seconds).
    fn login_failures(&self, address: &str, since: i64) -> Result<i64, StoreError>;
    /// Records a failed login from `address`, against the account when it exists, locking it
    /// after `lock.0` failures in a row until `lock.1`; the account's failures in a row.
    fn record_login_failure(
        &mut self,
        name: &str,
        address: &str,
        now: i64,
        lock: (i64, i64),
        s: Stamp<'_>,
    ) -> Result<i64, StoreError>;
    /// Audits an address slowed down for failing too often.
    fn record_login_slowed(&mut self, address: &str, s: Stamp<'_>) -> Result<(), StoreError>;
    /// Opens a session after a good password: clears the account's failures, stores the
    /// token's hash and audits the login.
    fn open_session(
        &mut self,
        user_id: i64,
        session: &NewSession,
        address: &str,
        s: Stamp<'_>,
    ) -> Result<(), StoreError>;
    /// The live session of this token hash with its account (enabled accounts only), its
    /// CSRF token and when it ends (unix seconds).
    fn session(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<(UserRow, String, i64)>, StoreError>;
    /// Ends a session (audited as the account's logout).
    fn close_session(&mut self, token_hash: &str, s: Stamp<'_>) -> Result<(), StoreError>;
}
