//! 账号管理 (系统管理员): every account the administrator manages, with its roles, department,
//! inspector, state and last login; adding one (the password typed twice, hashed by the one
//! function `suiji user add` uses), disabling and enabling, a new password, and a change of
//! roles. Every write goes through `jobs::users` with the signed-in user, who is audited.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::session::Viewer;
use super::{App, Fail, blocking, render};
use crate::jobs::users::{self, Action, AddInput, Role, Scope, UserError};
use crate::store::Stamp;

/// One account as the page lists it: names, never ids.
pub(crate) struct AccountLine {
    pub name: String,
    pub roles: String,
    pub department: String,
    pub inspector: String,
    pub disabled: bool,
    pub locked: bool,
    pub last_login: String,
    /// The account's role ids, to tick its boxes in the roles form.
    pub role_ids: Vec<&'static str>,
    pub department_id: String,
    pub inspector_id: String,
    /// The signed-in administrator's own account.
    pub own: bool,
}

/// A choice of a drop-down: (value, name).
pub(crate) type Choice = (String, String);

#[derive(Template)]
#[template(path = "users.html")]
struct Accounts {
    viewer: Viewer,
    accounts: Vec<AccountLine>,
    roles: Vec<(&'static str, &'static str)>,
    departments: Vec<Choice>,
    inspectors: Vec<Choice>,
    /// Whether the administrator may create accounts of every department.
    all_departments: bool,
    outcome: Option<Outcome>,
    min_password: usize,
}

/// What a write did, or why it did nothing: about the account named, in a sentence.
pub(crate) struct Outcome {
    pub ok: bool,
    pub account: String,
    pub text: String,
}

/// The Chinese of what the accounts' job refuses.
fn refusal(e: &UserError) -> String {
    match e {
        UserError::UnknownRole(_) => "请从列出的角色中选择。".into(),
        UserError::UnknownDepartment(..) => "所选部门不存在，请从列表中选择。".into(),
        UserError::NoRole => "请至少选择一个角色。".into(),
        UserError::BadName(_) => {
            "账号名须为 1–64 个字母、数字或“.”“_”“-”，不能含空格或汉字。".into()
        }
        UserError::ShortPassword => {
            format!("密码太短：至少 {} 个字符。", users::MIN_PASSWORD)
        }
        UserError::Mismatch => "两次输入的密码不一致。".into(),
        UserError::PlatformRole => "平台管理员只有“系统管理员”一个角色。".into(),
        UserError::InspectorWithoutRole => {
            "只有“执法检查人员”角色的账号才关联检查人员，请不选检查人员或加选该角色。".into()
        }
        UserError::InspectorWithoutId => {
            "“执法检查人员”角色的账号须关联检查人员名录库中的一名人员。".into()
        }
        UserError::UnknownInspector(id) => {
            format!("检查人员名录库中没有“{id}”，请从列表中选择一名人员。")
        }
        UserError::NoAccount(_) => "没有该账号，或该账号不归您管理。".into(),
        UserError::OutsideDepartment => "您只能管理本部门的账号。".into(),
        UserError::OwnAccount => {
            "不能停用自己的账号，也不能取消自己的系统管理员角色（请由另一名系统管理员操作）。"
                .into()
        }
        UserError::Hash(_) => "密码无法加密保存，请重试。".into(),
        UserError::Taken(_) => "该账号名已被使用，请换一个。".into(),
        UserError::Store(_) => "数据库未能完成此项操作。".into(),
    }
}

async fn page(app: &App, viewer: Viewer, outcome: Option<Outcome>) -> Result<Response, Fail> {
    let admin = viewer.user.clone();
    let app2 = app.clone();
    let (accounts, departments, inspectors) = blocking(move || {
        let loaded = app2.rules()?;
        let store = app2.store(None)?;
        let rows = users::list(&*store).map_err(|e| Fail::of(&e))?;
        let logins = store.last_logins().map_err(|e| Fail::of(&e))?;
        let inspectors = users::inspector_names(&loaded);
        let departments: Vec<Choice> = loaded
            .model
            .departments
            .iter()
            .filter(|d| admin.sees(&d.id))
            .map(|d| (d.id.clone(), d.name.clone()))
            .collect();
        let department_name = |id: &str| {
            loaded
                .model
                .departments
                .iter()
                .find(|d| d.id == id)
                .map_or_else(|| format!("（规则中已无此部门：{id}）"), |d| d.name.clone())
        };
        let now = app2.now().timestamp();
        let accounts = rows
            .into_iter()
            .filter(|(_, row)| users::manages(&admin, row))
            .map(|(user, row)| AccountLine {
                roles: user.role_names(),
                department: user
                    .department
                    .as_deref()
                    .map_or_else(|| "全部部门".into(), department_name),
                inspector: user.inspector.as_deref().map_or_else(String::new, |id| {
                    inspectors
                        .get(id)
                        .cloned()
                        .unwrap_or_else(|| format!("（名录库中已无此人员：{id}）"))
                }),
                disabled: row.disabled,
                locked: row.locked_until > now,
                last_login: logins.get(&row.name).map_or_else(
                    || "从未登录".into(),
                    |at| at.replace('T', " ").chars().take(16).collect(),
                ),
                role_ids: user.roles.iter().map(|r| r.id()).collect(),
                department_id: user.department.clone().unwrap_or_default(),
                inspector_id: user.inspector.clone().unwrap_or_default(),
                own: row.id == admin.id,
                name: row.name,
            })
            .collect();
        let inspectors = inspectors.into_iter().collect();
        Ok((accounts, departments, inspectors))
    })
    .await?;
    let ok = outcome.as_ref().is_none_or(|o| o.ok);
    let mut res = render(&Accounts {
        all_departments: viewer.user.department.is_none(),
        viewer,
        accounts,
        roles: Role::ALL.iter().map(|r| (r.id(), r.name())).collect(),
        departments,
        inspectors,
        outcome,
        min_password: users::MIN_PASSWORD,
    })?;
    if !ok {
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(res)
}

pub(crate) async fn show(State(app): State<App>, viewer: Viewer) -> Result<Response, Fail> {
    viewer.may(Action::ManageUsers)?;
    page(&app, viewer, None).await
}

/// A form's fields, a name repeated for each ticked box (`role`).
type Fields = Vec<(String, String)>;

fn field<'a>(form: &'a Fields, name: &str) -> &'a str {
    form.iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// The value of an optional choice: empty is none.
fn chosen(form: &Fields, name: &str) -> Option<String> {
    Some(field(form, name).trim().to_string()).filter(|v| !v.is_empty())
}

/// The ticked roles, the department and the inspector of a form.
fn scope(form: &Fields) -> Result<Scope, UserError> {
    let ticked: Vec<&str> = form
        .iter()
        .filter(|(k, _)| k == "role")
        .map(|(_, v)| v.as_str())
        .collect();
    let roles = users::parse_roles(&ticked.join(",")).map_err(UserError::UnknownRole)?;
    let inspector = roles
        .contains(&Role::Inspector)
        .then(|| chosen(form, "inspector"))
        .flatten();
    Ok(Scope {
        roles,
        department: chosen(form, "department"),
        inspector,
    })
}

/// The new password of a form, typed twice.
fn password(form: &Fields) -> Result<String, UserError> {
    let (first, second) = (field(form, "password"), field(form, "password2"));
    if first != second {
        return Err(UserError::Mismatch);
    }
    Ok(first.to_string())
}

/// Runs one write as the signed-in administrator, then shows the page with its outcome.
async fn write(
    app: App,
    viewer: Viewer,
    (account, done): (String, &'static str),
    job: impl FnOnce(
        &crate::rules::Loaded,
        &mut dyn crate::store::ConsoleStore,
        Stamp<'_>,
    ) -> Result<(), UserError>
    + Send
    + 'static,
) -> Result<Response, Fail> {
    viewer.may(Action::ManageUsers)?;
    let (actor, at) = (viewer.user.actor(), app.stamp());
    let (app2, user) = (app.clone(), viewer.user.clone());
    let result = blocking(move || {
        let loaded = app2.rules()?;
        let mut store = app2.store(Some(&user))?;
        let stamp = Stamp {
            at: &at,
            actor: &actor,
        };
        Ok(job(&loaded, &mut *store, stamp))
    })
    .await?;
    let outcome = match result {
        Ok(()) => Outcome {
            ok: true,
            account,
            text: done.to_string(),
        },
        Err(e) => Outcome {
            ok: false,
            account,
            text: format!("{}未作任何更改。", refusal(&e)),
        },
    };
    page(&app, viewer, Some(outcome)).await
}

/// 新建账号.
pub(crate) async fn add(
    State(app): State<App>,
    viewer: Viewer,
    axum::Form(form): axum::Form<Fields>,
) -> Result<Response, Fail> {
    let admin = viewer.user.clone();
    let name = field(&form, "name").trim().to_string();
    let done = (name.clone(), "已新建。");
    write(app, viewer, done, move |loaded, store, stamp| {
        let scope = scope(&form)?;
        let input = AddInput {
            name,
            roles: scope.roles,
            department: scope.department,
            inspector: scope.inspector,
            password: password(&form)?,
        };
        users::add_by(loaded, store, &admin, &input, stamp).map(|_| ())
    })
    .await
}

/// 停用 / 启用: `state` is `disabled` or `enabled`.
pub(crate) async fn set_state(
    State(app): State<App>,
    viewer: Viewer,
    Path(name): Path<String>,
    axum::Form(form): axum::Form<Fields>,
) -> Result<Response, Fail> {
    viewer.may(Action::ManageUsers)?;
    let disabled = match field(&form, "state") {
        "disabled" => true,
        "enabled" => false,
        _ => {
            let outcome = Outcome {
                ok: false,
                account: name,
                text: "请选择停用或启用。未作任何更改。".into(),
            };
            return page(&app, viewer, Some(outcome)).await;
        }
    };
    let admin = viewer.user.clone();
    let done = if disabled {
        (name.clone(), "已停用，其登录会话已结束。")
    } else {
        (name.clone(), "已启用。")
    };
    write(app, viewer, done, move |_, store, stamp| {
        users::set_disabled_by(store, &admin, &name, disabled, stamp)
    })
    .await
}

/// 重设密码.
pub(crate) async fn set_password(
    State(app): State<App>,
    viewer: Viewer,
    Path(name): Path<String>,
    axum::Form(form): axum::Form<Fields>,
) -> Result<Response, Fail> {
    let admin = viewer.user.clone();
    let done = (name.clone(), "已设置新密码，账号已解锁，其登录会话已结束。");
    write(app, viewer, done, move |_, store, stamp| {
        let password = password(&form)?;
        users::reset_password_by(store, &admin, &name, &password, stamp)
    })
    .await
}

/// 修改角色: the roles, department and inspector together.
pub(crate) async fn set_roles(
    State(app): State<App>,
    viewer: Viewer,
    Path(name): Path<String>,
    axum::Form(form): axum::Form<Fields>,
) -> Result<Response, Fail> {
    let admin = viewer.user.clone();
    let done = (
        name.clone(),
        "角色已修改，其登录会话已结束，下次登录时按新角色使用。",
    );
    write(app, viewer, done, move |loaded, store, stamp| {
        let scope = scope(&form)?;
        users::set_scope_by(loaded, store, &admin, &name, &scope, stamp)
    })
    .await
}
