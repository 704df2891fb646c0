//! A platform's administrators: accounts in the platform's own store (`suiji user add
//! --platform`), who may sign in at any bureau's console and act there as its 系统管理员.
//!
//! A bureau's own accounts are asked first; a name the bureau does not have is asked of the
//! platform. A platform administrator's session is kept in the bureau's store as every
//! session is, under a bureau account of their own named `平台管理员 NAME` (made on their
//! first sign-in there, audited; its password is a secret nobody was told, so it signs in
//! only through the platform, and no bureau administrator manages it): every write they make in the bureau is
//! audited under that name. A session of such an account lives only while the platform's
//! account is enabled and an administrator's.

use super::SetupError;
use super::users::{self, AddInput, LoginError, LoginInput, Opened, Role, Scope, UserError};
use crate::rules::platform::Platform;
use crate::store::{NewUser, Stamp, StoreError, UserRow, UserStore};

/// What a platform administrator's account in a bureau is named before their name.
pub const PREFIX: &str = "平台管理员 ";

/// Whether `name` is a platform administrator's account in a bureau.
pub fn is_platform_account(name: &str) -> bool {
    name.starts_with(PREFIX)
}

/// The schema of a shared PostgreSQL database that holds the platform's own store.
pub const SCHEMA: &str = "platform";

/// Where the platform's own store is on a shared database: the schema [`SCHEMA`] of the
/// PostgreSQL database the platform is given (`--database`, `SUIJI_DATABASE`); `None`: the
/// SQLite file of its data folder.
pub fn server(given: Option<&str>) -> Result<Option<crate::store::pg::Place>, SetupError> {
    let Some(url) = given.filter(|u| !u.trim().is_empty()) else {
        return Ok(None);
    };
    if !crate::store::pg::is_postgres_url(url) {
        let problem = format!("`{url}` is not a PostgreSQL URL (postgres://USER:PASSWORD@HOST/DB)");
        return Err(crate::store::StoreError::invalid("database", problem).into());
    }
    Ok(Some(crate::store::pg::Place::in_schema(url, SCHEMA)?))
}

/// The platform's own store: in the schema [`SCHEMA`] of `server` when given (see
/// [`server`]), else the SQLite file of its data folder (the one place that says where it is).
pub fn open_store(
    platform: &Platform,
    server: Option<&crate::store::pg::Place>,
) -> Result<Box<dyn UserStore>, SetupError> {
    Ok(match server {
        Some(place) => Box::new(crate::store::pg::PgStore::open_at(place)?),
        None => Box::new(crate::store::Store::open(&platform.data_dir)?),
    })
}

/// Creates a platform administrator in the platform's store (`suiji user add --platform`).
pub fn add_admin(
    store: &mut dyn UserStore,
    name: &str,
    roles: &[Role],
    password: &str,
    stamp: Stamp<'_>,
) -> Result<i64, UserError> {
    if roles != [Role::Admin] {
        return Err(UserError::PlatformRole);
    }
    let scope = Scope {
        roles: vec![Role::Admin],
        department: None,
        inspector: None,
    };
    let input = AddInput {
        name: name.to_string(),
        roles: scope.roles.clone(),
        department: None,
        inspector: None,
        password: password.to_string(),
    };
    users::add_checked(store, &input, &scope, stamp)
}

/// Signs in at a bureau: the bureau's accounts first, then (for a name the bureau does not
/// have) the platform's administrators, whose session opens in the bureau's store under
/// their bureau account. A refusal by the platform counts as a failed login in the bureau
/// too (its address slowed down as any other's).
pub fn login(
    bureau: &mut dyn UserStore,
    platform: Option<&mut dyn UserStore>,
    input: &LoginInput,
) -> Result<Opened, LoginError> {
    let Some(platform) = platform else {
        return users::login(bureau, input);
    };
    if bureau.user(&input.name)?.is_some() {
        return users::login(bureau, input);
    }
    let admin = match users::authenticate(platform, input) {
        Ok(row) if is_admin(&row) => row,
        Ok(_) | Err(LoginError::Refused) => {
            bureau.record_login_failure(
                &input.name,
                &input.address,
                input.now,
                (users::LOCK_AFTER, input.now + users::LOCK_SECS),
                Stamp {
                    at: &input.at,
                    actor: "web",
                },
            )?;
            return Err(LoginError::Refused);
        }
        Err(e) => return Err(e),
    };
    let local = account_in(bureau, &admin.name, &input.at)?;
    users::open_session_for(bureau, &local, input)
}

/// Ends the bureau sessions of the platform administrator `name` (after their platform
/// password is reset): their bureau account gets a new password no one knows, which ends its
/// sessions there, audited in the bureau's log (`user.password`). `false`: they never signed
/// in at this bureau, and nothing is written.
pub fn end_sessions_in(
    bureau: &mut dyn UserStore,
    name: &str,
    stamp: Stamp<'_>,
) -> Result<bool, UserError> {
    let local = format!("{PREFIX}{name}");
    if bureau.user(&local)?.is_none() {
        return Ok(false);
    }
    let unknown = super::secret::token().map_err(UserError::Hash)?;
    users::reset_password(bureau, &local, &unknown, stamp)?;
    Ok(true)
}

fn is_admin(row: &UserRow) -> bool {
    !row.disabled && users::parse_roles(&row.roles).is_ok_and(|roles| roles.contains(&Role::Admin))
}

/// The bureau account of the platform administrator `name`, made (and audited) when they
/// first sign in there.
/// Its password is the hash of a random secret never shown nor kept: no one can type it.
fn account_in(bureau: &mut dyn UserStore, name: &str, at: &str) -> Result<UserRow, LoginError> {
    let local = format!("{PREFIX}{name}");
    if let Some(row) = bureau.user(&local)? {
        return Ok(row);
    }
    let unknown = super::secret::token().map_err(LoginError::Secret)?;
    let password_hash =
        users::hash_password(&unknown).map_err(|e| LoginError::Secret(e.to_string()))?;
    let user = NewUser {
        name: local.clone(),
        roles: Role::Admin.id().to_string(),
        department: None,
        inspector: None,
        password_hash,
    };
    let actor = format!("web:{local}");
    bureau.add_user(&user, Stamp { at, actor: &actor })?;
    let kept = bureau.user(&local)?;
    kept.ok_or_else(|| {
        LoginError::Store(StoreError::invalid(
            "user",
            format!("the account {local} was not kept"),
        ))
    })
}

/// Whether the bureau account `local` (named [`PREFIX`] and a platform name) still stands for
/// a platform administrator: an enabled administrator's account in `platform`.
pub fn still_admin(platform: &dyn UserStore, local: &str) -> Result<bool, StoreError> {
    let Some(name) = local.strip_prefix(PREFIX) else {
        return Ok(false);
    };
    Ok(platform.user(name)?.is_some_and(|row| is_admin(&row)))
}
