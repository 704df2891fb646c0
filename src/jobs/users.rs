//! Console accounts (`suiji user …`, the console's login): roles, the one permissions table,
//! argon2id passwords, sessions and login throttling. The faces pass who acts and when; what a
//! user may do is decided here, never in a face.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use super::secret;
use crate::diag::{Fault, Problem, Report};
use crate::rules::Loaded;
use crate::store::{NewSession, NewUser, Stamp, StoreError, UserRow, UserStore};

/// A role a console account can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// 系统管理员: accounts and settings.
    Admin,
    /// 规则编辑: the rules.
    Editor,
    /// 法制审核: approves rule changes and redraws.
    Approver,
    /// 抽查操作员: registries, manual draws, publication.
    Operator,
    /// 执法检查人员: enters results for their own teams' targets.
    Inspector,
    /// 审计: reads everything, the audit log.
    Auditor,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Admin,
        Role::Editor,
        Role::Approver,
        Role::Operator,
        Role::Inspector,
        Role::Auditor,
    ];

    /// The id used on the command line and stored.
    pub fn id(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Editor => "editor",
            Role::Approver => "approver",
            Role::Operator => "operator",
            Role::Inspector => "inspector",
            Role::Auditor => "auditor",
        }
    }

    /// The name staff know it by.
    pub fn name(self) -> &'static str {
        match self {
            Role::Admin => "系统管理员",
            Role::Editor => "规则编辑",
            Role::Approver => "法制审核",
            Role::Operator => "抽查操作员",
            Role::Inspector => "执法检查人员",
            Role::Auditor => "审计",
        }
    }

    pub fn parse(id: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.id() == id.trim())
    }
}

/// What a console user can ask for. Every route of the console names one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// 工作台, the plan, the matters, the draws and their detail, the report.
    Read,
    /// Re-run a recorded draw (复核).
    Verify,
    /// The registries' history and current snapshots.
    ReadRegistries,
    /// Upload a registry file.
    UploadRegistry,
    /// A manual draw, asking for a redraw, or a change after a draw (替补, 人员调整).
    Draw,
    /// The manual draw page and the redraw requests.
    Redraws,
    /// Approve a redraw asked for by an operator.
    ApproveRedraw,
    /// See results.
    ReadResults,
    /// Enter results (for the user's own teams).
    EnterResults,
    /// See what is ready to publish.
    ReadPublication,
    /// Publish results.
    Publish,
    /// The audit log and its check.
    ReadAudit,
    /// Accounts.
    ManageUsers,
    /// Edit the rules: save drafts of rule changes, submit them, propose a rollback.
    EditRules,
    /// Approve or return rule changes, and files changed outside the console (法制审核).
    ApproveRules,
    /// The rule changes waiting for approval, a change's diff, the rules' history.
    ReadRuleChanges,
}

impl Action {
    /// Whether the action changes what every department works from, which no account limited
    /// to one department may do: the registries are the bureau's, shared by every matter.
    pub fn bureau_wide(self) -> bool {
        matches!(self, Action::UploadRegistry)
    }
}

/// The one permissions table: may a holder of `role` do `action`?
pub fn role_allows(role: Role, action: Action) -> bool {
    use Action as A;
    use Role as R;
    match action {
        A::Read => true,
        A::Verify | A::ReadRegistries => !matches!(role, R::Inspector),
        A::UploadRegistry | A::Draw | A::Publish => role == R::Operator,
        A::ApproveRedraw => role == R::Approver,
        A::Redraws => matches!(role, R::Operator | R::Approver),
        A::ReadResults => matches!(role, R::Inspector | R::Operator | R::Approver | R::Auditor),
        A::EnterResults => role == R::Inspector,
        A::ReadPublication => matches!(role, R::Operator | R::Approver | R::Auditor),
        A::ReadAudit => matches!(role, R::Auditor | R::Admin),
        A::ManageUsers => role == R::Admin,
        A::EditRules => role == R::Editor,
        A::ApproveRules => role == R::Approver,
        A::ReadRuleChanges => matches!(role, R::Editor | R::Approver | R::Auditor | R::Admin),
    }
}

/// Whether a user limited to `scope` (`None`: every department) sees the records of
/// `department`.
pub fn sees(scope: Option<&str>, department: &str) -> bool {
    scope.is_none_or(|d| d == department)
}

/// A logged-in console user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub roles: Vec<Role>,
    /// The department the user is limited to (`None`: every department).
    pub department: Option<String>,
    /// The inspector registry row of an inspector account.
    pub inspector: Option<String>,
}

impl User {
    /// May this user do `action` (any of the user's roles allows it, and the action does not
    /// reach beyond the department the user is limited to)?
    pub fn may(&self, action: Action) -> bool {
        if self.department.is_some() && action.bureau_wide() {
            return false;
        }
        self.roles.iter().any(|r| role_allows(*r, action))
    }

    /// Whether the user sees the records of `department`.
    pub fn sees(&self, department: &str) -> bool {
        sees(self.department.as_deref(), department)
    }

    /// The audit log's actor for what this user does in the console.
    pub fn actor(&self) -> String {
        format!("web:{}", self.name)
    }

    /// The roles' names, joined.
    pub fn role_names(&self) -> String {
        let names: Vec<&str> = self.roles.iter().map(|r| r.name()).collect();
        names.join("、")
    }

    fn of(row: &UserRow) -> User {
        User {
            id: row.id,
            name: row.name.clone(),
            roles: parse_roles(&row.roles).unwrap_or_default(),
            department: row.department.clone(),
            inspector: row.inspector.clone(),
        }
    }
}

/// Role ids separated by commas → roles, or the first unknown id.
pub fn parse_roles(ids: &str) -> Result<Vec<Role>, String> {
    let mut roles = Vec::new();
    for id in ids.split(',').filter(|s| !s.trim().is_empty()) {
        let role = Role::parse(id).ok_or_else(|| id.trim().to_string())?;
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    roles.sort();
    Ok(roles)
}

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("`{0}` is not a role; roles are admin, editor, approver, operator, inspector, auditor")]
    UnknownRole(String),
    #[error("no department `{0}`; departments are: {1}")]
    UnknownDepartment(String, String),
    #[error("an account needs at least one role (--role)")]
    NoRole,
    #[error("`{0}` is not a usable account name: use 1–64 letters, digits, `.`, `_` or `-`")]
    BadName(String),
    #[error("the password is too short: use at least {MIN_PASSWORD} characters")]
    ShortPassword,
    #[error("a platform administrator has the role admin alone (--role admin)")]
    PlatformRole,
    #[error("the two passwords differ")]
    Mismatch,
    #[error("--inspector is for inspector accounts (with --role inspector)")]
    InspectorWithoutRole,
    #[error("an inspector account needs --inspector ID (its row in the inspector registry)")]
    InspectorWithoutId,
    #[error(
        "no inspector `{0}` in the inspector registry: an inspector account is tied to its row there"
    )]
    UnknownInspector(String),
    #[error("`{0}` already exists")]
    Taken(String),
    #[error("no account named `{0}` that you manage")]
    NoAccount(String),
    #[error("an administrator limited to a department manages only that department's accounts")]
    OutsideDepartment,
    #[error("you cannot disable your own account or take away your own admin role")]
    OwnAccount,
    #[error("cannot hash the password: {0}")]
    Hash(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Problem for UserError {
    fn fault(&self) -> Fault {
        match self {
            UserError::Hash(_) => Fault::Failed,
            UserError::Store(StoreError::Invalid { .. }) => Fault::Invalid,
            UserError::Store(_) => Fault::Failed,
            _ => Fault::Invalid,
        }
    }

    fn report(&self) -> Report {
        Report::error(crate::diag::chain(self), &[])
    }
}

/// Shortest password accepted.
pub const MIN_PASSWORD: usize = 10;

/// An account to create.
#[derive(Debug, Clone)]
pub struct AddInput {
    pub name: String,
    pub roles: Vec<Role>,
    pub department: Option<String>,
    pub inspector: Option<String>,
    pub password: String,
}

fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.chars().count())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// The argon2id hash (PHC string) of a password, with a fresh salt.
pub fn hash_password(password: &str) -> Result<String, UserError> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(UserError::ShortPassword);
    }
    let salt = secret::bytes::<16>().map_err(UserError::Hash)?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| UserError::Hash(e.to_string()))?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| UserError::Hash(e.to_string()))
}

fn password_matches(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// What an account may do and see: its roles, its department (`None`: all) and, for an
/// inspector account, its row in the inspector registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub roles: Vec<Role>,
    pub department: Option<String>,
    pub inspector: Option<String>,
}

impl Scope {
    /// Checks the scope against the rules: a known department, at least one role, an
    /// inspector row exactly when the account is an inspector's.
    pub fn check(&self, loaded: &Loaded) -> Result<(), UserError> {
        if let Some(d) = &self.department {
            let known: Vec<String> = loaded
                .model
                .departments
                .iter()
                .map(|x| x.id.clone())
                .collect();
            if !known.contains(d) {
                return Err(UserError::UnknownDepartment(d.clone(), known.join(", ")));
            }
        }
        if self.roles.is_empty() {
            return Err(UserError::NoRole);
        }
        let inspector_role = self.roles.contains(&Role::Inspector);
        match (&self.inspector, inspector_role) {
            (Some(_), false) => Err(UserError::InspectorWithoutRole),
            (None, true) => Err(UserError::InspectorWithoutId),
            _ => Ok(()),
        }
    }

    /// The roles as stored: ids, comma-separated.
    fn role_ids(&self) -> String {
        let ids: Vec<&str> = self.roles.iter().map(|r| r.id()).collect();
        ids.join(",")
    }
}

/// Creates an account.
pub fn add(
    loaded: &Loaded,
    store: &mut dyn UserStore,
    input: &AddInput,
    stamp: Stamp<'_>,
) -> Result<i64, UserError> {
    if !valid_name(&input.name) {
        return Err(UserError::BadName(input.name.clone()));
    }
    let scope = Scope {
        roles: input.roles.clone(),
        department: input.department.clone(),
        inspector: input.inspector.clone(),
    };
    scope.check(loaded)?;
    // A new inspector account names a row the registry has now (one whose row left it later
    // keeps its account, shown as no longer in the registry).
    if let Some(id) = &scope.inspector
        && !inspector_names(loaded).contains_key(id)
    {
        return Err(UserError::UnknownInspector(id.clone()));
    }
    add_checked(store, input, &scope, stamp)
}

/// Stores an account whose scope was checked: its name checked, its password hashed.
pub(crate) fn add_checked(
    store: &mut dyn UserStore,
    input: &AddInput,
    scope: &Scope,
    stamp: Stamp<'_>,
) -> Result<i64, UserError> {
    if !valid_name(&input.name) {
        return Err(UserError::BadName(input.name.clone()));
    }
    if store.user(&input.name)?.is_some() {
        return Err(UserError::Taken(input.name.clone()));
    }
    let password_hash = hash_password(&input.password)?;
    let user = NewUser {
        name: input.name.clone(),
        roles: scope.role_ids(),
        department: input.department.clone(),
        inspector: input.inspector.clone(),
        password_hash,
    };
    Ok(store.add_user(&user, stamp)?)
}

/// Whether `admin` manages the account `row`: an administrator of every department manages
/// every account, one limited to a department the accounts limited to that department; a
/// platform administrator's account in a bureau is the platform's, managed by no bureau.
pub fn manages(admin: &User, row: &UserRow) -> bool {
    !super::platform::is_platform_account(&row.name)
        && admin.may(Action::ManageUsers)
        && admin
            .department
            .as_ref()
            .is_none_or(|d| row.department.as_ref() == Some(d))
}

/// Refuses what `admin` may not do to the account named `name` (a change of `scope`, when
/// given): an account outside their department, a scope that leaves their department, or
/// locking themselves out (disabling their own account, taking away their own 系统管理员
/// role). Returns the account.
pub fn may_change(
    store: &dyn UserStore,
    admin: &User,
    name: &str,
    scope: Option<&Scope>,
) -> Result<UserRow, UserError> {
    let row = store
        .user(name)?
        .filter(|r| manages(admin, r))
        .ok_or_else(|| UserError::NoAccount(name.to_string()))?;
    if let Some(s) = scope {
        if admin.department.is_some() && s.department != admin.department {
            return Err(UserError::OutsideDepartment);
        }
        if row.id == admin.id && !s.roles.contains(&Role::Admin) {
            return Err(UserError::OwnAccount);
        }
    }
    Ok(row)
}

/// Creates an account in the console: as [`add`], by `admin`, who may create accounts only in
/// their own department when limited to one.
pub fn add_by(
    loaded: &Loaded,
    store: &mut dyn UserStore,
    admin: &User,
    input: &AddInput,
    stamp: Stamp<'_>,
) -> Result<i64, UserError> {
    if admin.department.is_some() && input.department != admin.department {
        return Err(UserError::OutsideDepartment);
    }
    add(loaded, store, input, stamp)
}

/// Disables (`disabled`) or enables an account in the console, by `admin`; never their own.
pub fn set_disabled_by(
    store: &mut dyn UserStore,
    admin: &User,
    name: &str,
    disabled: bool,
    stamp: Stamp<'_>,
) -> Result<(), UserError> {
    let row = may_change(store, admin, name, None)?;
    if disabled && row.id == admin.id {
        return Err(UserError::OwnAccount);
    }
    if disabled {
        Ok(store.disable_user(name, stamp)?)
    } else {
        Ok(store.enable_user(name, stamp)?)
    }
}

/// Sets a new password in the console, by `admin` (as [`reset_password`]).
pub fn reset_password_by(
    store: &mut dyn UserStore,
    admin: &User,
    name: &str,
    password: &str,
    stamp: Stamp<'_>,
) -> Result<(), UserError> {
    may_change(store, admin, name, None)?;
    reset_password(store, name, password, stamp)
}

/// Changes an account's roles, department and inspector row, by `admin`.
pub fn set_scope_by(
    loaded: &Loaded,
    store: &mut dyn UserStore,
    admin: &User,
    name: &str,
    scope: &Scope,
    stamp: Stamp<'_>,
) -> Result<(), UserError> {
    scope.check(loaded)?;
    may_change(store, admin, name, Some(scope))?;
    Ok(store.set_user_scope(
        name,
        &scope.role_ids(),
        scope.department.as_deref(),
        scope.inspector.as_deref(),
        stamp,
    )?)
}

/// The names of the inspectors in the configured inspector registry, by id (rows that do not
/// read are left out: the accounts page names whom it can).
pub fn inspector_names(loaded: &Loaded) -> std::collections::BTreeMap<String, String> {
    let cfg = &loaded.model.config;
    let known = crate::registry::Known::from_model(&loaded.model);
    let mut diags = Vec::new();
    let mut names = std::collections::BTreeMap::new();
    for path in &cfg.registries.inspectors {
        let display = path.display().to_string();
        for i in crate::registry::read_inspectors(path, &display, &known, &mut diags) {
            if !i.id.is_empty() && !i.name.is_empty() {
                names.insert(i.id, i.name);
            }
        }
    }
    names
}

/// Every account.
pub fn list(store: &dyn UserStore) -> Result<Vec<(User, UserRow)>, StoreError> {
    Ok(store
        .users()?
        .into_iter()
        .map(|r| (User::of(&r), r))
        .collect())
}

/// Disables an account (it is kept, and its sessions end).
pub fn disable(store: &mut dyn UserStore, name: &str, stamp: Stamp<'_>) -> Result<(), UserError> {
    Ok(store.disable_user(name, stamp)?)
}

/// Sets a new password (the account is unlocked, its sessions end).
pub fn reset_password(
    store: &mut dyn UserStore,
    name: &str,
    password: &str,
    stamp: Stamp<'_>,
) -> Result<(), UserError> {
    let hash = hash_password(password)?;
    Ok(store.set_password(name, &hash, stamp)?)
}

/// Failed logins in a row that lock an account.
pub const LOCK_AFTER: i64 = 5;
/// How long a locked account stays locked, and the window over which an address's failures
/// count (seconds).
pub const LOCK_SECS: i64 = 15 * 60;
/// Failures from one address within [`LOCK_SECS`] after which its logins are slowed down.
pub const SLOW_AFTER: i64 = 20;

/// A login attempt.
#[derive(Debug, Clone)]
pub struct LoginInput {
    pub name: String,
    pub password: String,
    /// Where it comes from (the peer address).
    pub address: String,
    /// Now, unix seconds, and as the audit log writes it.
    pub now: i64,
    pub at: String,
}

/// A session opened: the cookie's token and the session's CSRF token.
#[derive(Debug, Clone)]
pub struct Opened {
    pub token: String,
    pub csrf: String,
    pub user: User,
}

/// How long a session lasts (seconds).
pub const SESSION_SECS: i64 = 8 * 3600;

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("wrong account name or password")]
    Refused,
    #[error("the account is locked until {until} (unix seconds) after repeated failures")]
    Locked { until: i64 },
    #[error("cannot open a session: {0}")]
    Secret(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How long the face should hold an answer to `address` before giving it: zero until the
/// address has failed [`SLOW_AFTER`] times in [`LOCK_SECS`], then growing to 30 seconds.
/// Crossing the threshold is audited.
pub fn delay_for(
    store: &mut dyn UserStore,
    address: &str,
    now: i64,
    at: &str,
) -> Result<u64, StoreError> {
    let failures = store.login_failures(address, now - LOCK_SECS)?;
    if failures < SLOW_AFTER {
        return Ok(0);
    }
    if failures == SLOW_AFTER {
        store.record_login_slowed(address, Stamp { at, actor: "web" })?;
    }
    let over = u32::try_from(failures - SLOW_AFTER)
        .unwrap_or(u32::MAX)
        .min(5);
    Ok(1u64 << over)
}

/// Checks a name and password and opens a session; every outcome is audited. A locked or
/// disabled account is refused like a wrong password (nothing tells which names exist) —
/// except that a locked account with the right password is told it is locked.
pub fn login(store: &mut dyn UserStore, input: &LoginInput) -> Result<Opened, LoginError> {
    let row = authenticate(store, input)?;
    open_session_for(store, &row, input)
}

/// Checks a name and password against `store`'s accounts, as [`login`] does (a failure
/// recorded and audited there, an account locked after [`LOCK_AFTER`]), without opening a
/// session: the account.
pub fn authenticate(store: &mut dyn UserStore, input: &LoginInput) -> Result<UserRow, LoginError> {
    let stamp = Stamp {
        at: &input.at,
        actor: "web",
    };
    let row = store.user(&input.name)?;
    let good = row
        .as_ref()
        .filter(|r| !r.disabled)
        .filter(|r| password_matches(&input.password, &r.password_hash));
    let Some(row) = good else {
        store.record_login_failure(
            &input.name,
            &input.address,
            input.now,
            (LOCK_AFTER, input.now + LOCK_SECS),
            stamp,
        )?;
        return Err(LoginError::Refused);
    };
    if row.locked_until > input.now {
        return Err(LoginError::Locked {
            until: row.locked_until,
        });
    }
    Ok(row.clone())
}

/// Opens a session in `store` for its account `row` (whose password was checked): the
/// cookie's token and the session's CSRF token.
pub fn open_session_for(
    store: &mut dyn UserStore,
    row: &UserRow,
    input: &LoginInput,
) -> Result<Opened, LoginError> {
    let stamp = Stamp {
        at: &input.at,
        actor: "web",
    };
    let token = secret::token().map_err(LoginError::Secret)?;
    let csrf = secret::token().map_err(LoginError::Secret)?;
    let session = NewSession {
        token_hash: token_hash(&token),
        csrf: csrf.clone(),
        created: input.now,
        expires: input.now + SESSION_SECS,
    };
    store.open_session(row.id, &session, &input.address, stamp)?;
    Ok(Opened {
        token,
        csrf,
        user: User::of(row),
    })
}

/// A live session: its user, its CSRF token and when it ends.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub csrf: String,
    /// When the session ends (Unix seconds): it lives while the time is before this.
    pub expires: i64,
}

/// The session of a token, while it lives (see [`session_by_hash`]).
pub fn session(
    store: &dyn UserStore,
    token: &str,
    now: i64,
) -> Result<Option<Session>, StoreError> {
    session_by_hash(store, &token_hash(token), now)
}

/// The session whose token hashes to `hash` ([`token_hash`]), while it lives.
pub fn session_by_hash(
    store: &dyn UserStore,
    hash: &str,
    now: i64,
) -> Result<Option<Session>, StoreError> {
    Ok(store
        .session(hash, now)?
        .map(|(row, csrf, expires)| Session {
            user: User::of(&row),
            csrf,
            expires,
        }))
}

/// What the store keeps of a session token: its SHA-256.
pub fn token_hash(token: &str) -> String {
    crate::digest::sha256_hex(token.as_bytes())
}

/// Ends a session.
pub fn logout(store: &mut dyn UserStore, token: &str, at: &str) -> Result<(), StoreError> {
    store.close_session(&token_hash(token), Stamp { at, actor: "web" })
}
