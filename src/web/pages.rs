//! 工作台, 抽查事项清单, 抽查计划 and 审计日志.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use std::sync::Arc;

use chrono::Timelike as _;

use super::keep::{Keep, Same, Seen, Source};
use super::session::Viewer;
use super::{App, Fail, blocking, names, render, render_kept};
use crate::jobs::status::{PublicationLine, Status};
use crate::jobs::users::Action;
use crate::rules::Loaded;

/// A link to a draw, named by matter and period.
pub(crate) struct DrawLink {
    pub id: i64,
    pub label: String,
}

pub(crate) struct MatterLine {
    pub department: String,
    pub name: String,
    pub last: Option<DrawLink>,
    pub next: String,
    pub problems: Vec<String>,
    /// Draws waiting for their public source: steps to take, not faults.
    pub waiting: Vec<String>,
}

pub(crate) struct NoticeLine {
    pub level: &'static str,
    pub draw: DrawLink,
    pub text: String,
}

/// The 工作台's content, without the user's frame (`framed.html`).
#[derive(Template)]
#[template(path = "dashboard.html")]
struct Dashboard {
    now: String,
    matters: Vec<MatterLine>,
    notices: Vec<NoticeLine>,
    later: usize,
    awaiting: usize,
    missing_years: Vec<i32>,
}

/// A page's content rendered before, in the frame of the user asking (name, roles, tabs, the
/// session's CSRF token).
#[derive(Template)]
#[template(path = "framed.html")]
pub(crate) struct Framed<'a> {
    pub viewer: &'a Viewer,
    pub title: &'static str,
    pub body: &'a str,
}

/// How many views of a kept page are held: one per department a user may be limited to (and
/// every department), and for the 工作台 the second it speaks for.
pub(crate) const KEPT_VIEWS: usize = 8;

/// The 工作台's content as rendered, keyed by the status it shows (computed once per second
/// and per source, so it stands for the database, rules and calendar too) and the department
/// the viewer is limited to (`None`: every department).
pub(crate) type KeptDashboards = Keep<(Same<Status>, Option<String>), Arc<str>>;

/// The matter's name, and its department's, for an id.
pub(crate) fn matter_names(loaded: &Loaded, matter: &str) -> (String, String) {
    match loaded.model.matter(matter) {
        Some(m) => {
            let dept = loaded
                .model
                .departments
                .iter()
                .find(|d| d.id == m.department)
                .map_or_else(|| m.department.clone(), |d| d.name.clone());
            (m.name.clone(), dept)
        }
        None => (matter.to_string(), String::new()),
    }
}

/// The department of a matter id (what department scoping compares).
pub(crate) fn department_of(loaded: &Loaded, matter: &str) -> String {
    loaded
        .model
        .matter(matter)
        .map_or_else(String::new, |m| m.department.clone())
}

pub(crate) fn draw_label(loaded: &Loaded, id: i64, matter: &str, period: &str) -> DrawLink {
    let (name, _) = matter_names(loaded, matter);
    DrawLink {
        id,
        label: format!("{name} · {}", names::period(period)),
    }
}

pub(crate) fn notice(
    loaded: &Loaded,
    line: &PublicationLine,
    draws: &[(i64, String, String)],
) -> NoticeLine {
    let id = match line {
        PublicationLine::Overdue { draw_id, .. }
        | PublicationLine::NotInspected { draw_id, .. }
        | PublicationLine::Unstaffed { draw_id, .. }
        | PublicationLine::Due { draw_id, .. } => *draw_id,
    };
    let draw = draws.iter().find(|d| d.0 == id).map_or_else(
        || DrawLink {
            id,
            label: format!("第 {id} 次抽取"),
        },
        |(id, m, p)| draw_label(loaded, *id, m, p),
    );
    let (level, text) = match line {
        PublicationLine::Overdue { targets, first, .. } => (
            "bad",
            format!("{targets} 户已检查未公示，公示期限 {first} 已过，按未完成计"),
        ),
        PublicationLine::NotInspected {
            targets,
            drawn,
            due,
            ..
        } => (
            "bad",
            format!("抽中 {drawn} 户中 {targets} 户结果未录全，检查期限为 {due}"),
        ),
        PublicationLine::Unstaffed { targets, .. } => (
            "warn",
            format!("{targets} 户无可派检查组（回避或人员不足），本次无法检查"),
        ),
        PublicationLine::Due {
            targets,
            first,
            working_days_left,
            ..
        } => (
            "due",
            match working_days_left {
                Some(n) => format!("{targets} 户待公示，最早期限 {first}（剩 {n} 个工作日）"),
                None => format!(
                    "{targets} 户待公示，最早期限 {first}（节假日安排未公布，工作日无法计算）"
                ),
            },
        ),
    };
    NoticeLine { level, draw, text }
}

/// The draws `user` may see, as (id, matter, period).
pub(crate) fn visible_draws(
    store: &dyn crate::store::ConsoleStore,
    loaded: &crate::rules::Loaded,
    user: &crate::jobs::users::User,
) -> Result<Vec<(i64, String, String)>, Fail> {
    Ok(store
        .list_draw_heads(&crate::store::DrawFilter::default())
        .map_err(|e| Fail::of(&e))?
        .into_iter()
        .filter(|d| user.sees(&department_of(loaded, &d.matter)))
        .map(|d| (d.id, d.matter, d.period))
        .collect())
}

pub(crate) async fn dashboard(
    State(app): State<App>,
    viewer: Viewer,
    seen: Seen,
) -> Result<Response, Fail> {
    viewer.may(Action::Read)?;
    let source = seen.source(&app)?;
    let at = app.now().fixed_offset();
    let at = at.with_nanosecond(0).unwrap_or(at);
    let scope = viewer.user.department.clone();
    // Kept already for this second and view: answered here, without waiting.
    let kept = app
        .status_ready(&source, at.naive_local(), WITHIN)
        .and_then(|status| app.inner.dashboards.ready(&(Same(status), scope)));
    let body = match kept {
        Some(body) => body,
        None => {
            let (app, user) = (app.clone(), viewer.user.clone());
            blocking(move || app.dashboard_body(&source, &user, at)).await?
        }
    };
    render(&Framed {
        viewer: &viewer,
        title: "工作台",
        body: &body,
    })
}

/// The working days ahead the 工作台 lists publications due within.
const WITHIN: u32 = 5;

impl App {
    /// The 工作台's content for `user` at `at` (to the second), as kept or rendered now.
    fn dashboard_body(
        &self,
        source: &Source,
        user: &crate::jobs::users::User,
        at: chrono::DateTime<chrono::FixedOffset>,
    ) -> Result<Arc<str>, Fail> {
        let now = at.naive_local();
        let status = self.status(source, now, WITHIN)?;
        let key = (Same(status.clone()), user.department.clone());
        self.inner.dashboards.get(key, |_| {
            let loaded = &source.loaded;
            let cal = source.calendar(self)?;
            let store = self.store_in(&source.db, Some(user))?;
            let draws = visible_draws(&*store, loaded, user)?;
            let page = Dashboard {
                now: at.format("%Y-%m-%d %H:%M").to_string(),
                matters: status
                    .matters
                    .iter()
                    .filter(|m| user.sees(&department_of(loaded, &m.matter)))
                    .map(|m| matter_line(loaded, m, at))
                    .collect(),
                notices: status
                    .publication
                    .iter()
                    .map(|l| notice(loaded, l, &draws))
                    .filter(|n| draws.iter().any(|d| d.0 == n.draw.id))
                    .collect(),
                later: status.later,
                awaiting: status.awaiting_inspection,
                missing_years: crate::jobs::status::missing_calendar_years(&cal, now),
            };
            render_kept(&page)
        })
    }
}

fn matter_line(
    loaded: &Loaded,
    m: &crate::jobs::status::MatterStatus,
    at: chrono::DateTime<chrono::FixedOffset>,
) -> MatterLine {
    let (name, department) = matter_names(loaded, &m.matter);
    let last = m.last_draw.as_ref().map(|(id, period, date)| DrawLink {
        id: *id,
        label: format!("{}（{date}）", names::period(period)),
    });
    let next = m.next_draw.as_ref().map_or_else(
        || "本年度无后续抽取".to_string(),
        |(p, d)| format!("{}（{d}）", names::period(p)),
    );
    let mut problems: Vec<String> = m
        .overdue
        .iter()
        .map(|(p, d)| format!("逾期未抽取：{}（应于 {d}）", names::period(p)))
        .collect();
    problems.extend(
        m.failed
            .iter()
            .map(|(p, at, why)| format!("抽取失败：{}，{at}：{why}", names::period(p))),
    );
    MatterLine {
        department,
        name,
        last,
        next,
        problems,
        waiting: m.waiting.iter().map(|w| waiting_line(w, at)).collect(),
    }
}

/// A draw waiting for its public source, as 工作台 says it at `at`: not a fault, a step to
/// take — before the source's announced time, when it will be announced; after, that its value
/// is out and waits to be entered.
fn waiting_line(
    w: &crate::jobs::status::WaitingDraw,
    at: chrono::DateTime<chrono::FixedOffset>,
) -> String {
    let what = format!(
        "等待公开随机源：{}（计划 {}）",
        names::period(&w.period),
        w.issue_date
    );
    let Some(k) = &w.commitment else {
        return format!("{what}。尚未承诺公开随机源：抽取前须先作出承诺（suiji commit）。");
    };
    let announced = chrono::DateTime::parse_from_rfc3339(&k.source_time).is_ok_and(|t| t <= at);
    let (id, source, when) = (k.id, &k.source, minutes(&k.source_time));
    if announced {
        format!(
            "{what}。第 {id} 号承诺的“{source}”已于 {when} 公布，请在“手动抽取”中录入该值抽取。"
        )
    } else {
        format!(
            "{what}。第 {id} 号承诺的“{source}”将于 {when} 公布，公布后在“手动抽取”中录入该值抽取。"
        )
    }
}

/// A recorded time (RFC 3339) as "YYYY-MM-DD HH:MM", local to its offset.
fn minutes(recorded: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(recorded).map_or_else(
        |_| recorded.to_string(),
        |t| t.naive_local().format("%Y-%m-%d %H:%M").to_string(),
    )
}

#[derive(Template)]
#[template(path = "matters.html")]
struct Matters {
    viewer: Viewer,
    matters: Vec<crate::output::plan::MatterSheet>,
}

pub(crate) async fn matters(State(app): State<App>, viewer: Viewer) -> Result<Response, Fail> {
    viewer.may(Action::Read)?;
    let user = viewer.user.clone();
    let app2 = app.clone();
    let matters = blocking(move || {
        let loaded = app2.rules()?;
        Ok(crate::jobs::plan::matters(&loaded, |d| user.sees(d)))
    })
    .await?;
    render(&Matters { viewer, matters })
}

pub(crate) struct ScheduleRow {
    pub issue: String,
    pub due: String,
    pub matter: String,
    pub period: String,
    pub kind: String,
}

#[derive(Template)]
#[template(path = "plan.html")]
struct Plan {
    viewer: Viewer,
    year: i32,
    rows: Vec<ScheduleRow>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct YearQuery {
    year: Option<i32>,
}

pub(crate) async fn plan(
    State(app): State<App>,
    viewer: Viewer,
    Query(q): Query<YearQuery>,
) -> Result<Response, Fail> {
    viewer.may(Action::Read)?;
    let year = q.year.unwrap_or_else(|| chrono::Datelike::year(&app.now()));
    let user = viewer.user.clone();
    let app2 = app.clone();
    let rows = blocking(move || {
        let loaded = app2.rules()?;
        let input = crate::jobs::schedule::Input {
            year,
            provisional: false,
            matter: None,
        };
        let schedule = crate::jobs::schedule::run(&loaded, &input).map_err(|e| Fail::of(&e))?;
        Ok(schedule
            .draws
            .iter()
            .filter(|d| user.sees(&department_of(&loaded, &d.matter)))
            .map(|d| ScheduleRow {
                issue: d.issue_date().to_string(),
                due: d.due.to_string(),
                matter: matter_names(&loaded, &d.matter).0,
                period: names::period(&d.period.id),
                kind: names::scheduled_kind(d.kind),
            })
            .collect())
    })
    .await?;
    render(&Plan { viewer, year, rows })
}

pub(crate) struct AuditLine {
    pub seq: i64,
    pub at: String,
    /// The signed-in console user who made the write, else the actor as recorded.
    pub user: String,
    /// Where the write came from: the console, or the OS account and machine.
    pub source: String,
    pub action: String,
    /// What the entry is about: a label, a name or number (data), and a link.
    pub subject: (String, String, Option<String>),
    pub hash: String,
}

/// An audit entry's subject as (label, data, link).
fn subject_zh(loaded: Option<&Loaded>, subject: &str) -> (String, String, Option<String>) {
    if let Some(id) = subject.strip_prefix("draw:") {
        return (
            "抽取记录".into(),
            format!("第 {id} 号"),
            Some(format!("/draws/{id}")),
        );
    }
    if let Some(name) = subject.strip_prefix("user:") {
        return ("账号".into(), name.into(), None);
    }
    if let Some(addr) = subject.strip_prefix("address:") {
        return ("来源地址".into(), addr.into(), None);
    }
    if subject.ends_with(".csv") || subject.ends_with(".xlsx") {
        return ("名录库文件".into(), subject.into(), None);
    }
    if subject == "rules" {
        return ("抽查规则".into(), String::new(), None);
    }
    match loaded.and_then(|l| l.model.matter(subject)) {
        Some(m) => ("抽查事项".into(), m.name.clone(), None),
        None => (String::new(), subject.into(), None),
    }
}

#[derive(Template)]
#[template(path = "audit.html")]
struct Audit {
    viewer: Viewer,
    lines: Vec<AuditLine>,
    user: String,
    action: String,
    verdict: Option<(bool, String, String)>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct AuditQuery {
    #[serde(default)]
    user: String,
    #[serde(default)]
    action: String,
}

/// The audit action as staff read it.
fn action_zh(action: &str) -> String {
    let known = [
        ("draw.record", "抽取"),
        ("draw.redraw", "重新抽取"),
        ("draw.change", "抽取后变更"),
        ("commitment.record", "承诺公开随机源"),
        ("store.simulation", "标记为模拟库"),
        ("results.record", "录入结果"),
        ("publication.record", "公示结果"),
        ("scheduler.caught_up", "补抽"),
        ("scheduler.skipped", "跳过抽取"),
        ("scheduler.failed", "抽取失败"),
        ("scheduler.lease", "取得调度租约（多节点）"),
        ("rules.reload", "规则重新载入"),
        ("rules.adopt", "采用规则（首版）"),
        ("rules.draft", "保存规则草稿"),
        ("rules.submit", "提交规则审核"),
        ("rules.return", "退回规则变更"),
        ("rules.approve", "批准规则变更"),
        ("rules.rollback", "申请回退规则"),
        ("registry.replace", "更新名录库"),
        ("redraw.ask", "申请重新抽取"),
        ("redraw.approve", "批准重新抽取"),
        ("redraw.refuse", "不批准重新抽取"),
        ("user.add", "新建账号"),
        ("user.disable", "停用账号"),
        ("user.enable", "启用账号"),
        ("user.roles", "修改角色"),
        ("user.password", "重设密码"),
        ("user.locked", "账号锁定"),
        ("login.ok", "登录"),
        ("login.failed", "登录失败"),
        ("login.slowed", "登录限速"),
        ("logout", "退出"),
    ];
    known
        .iter()
        .find(|(k, _)| *k == action)
        .map_or_else(|| action.to_string(), |(_, v)| v.to_string())
}

async fn audit_page(
    app: App,
    viewer: Viewer,
    q: AuditQuery,
    verdict: Option<(bool, String, String)>,
) -> Result<Response, Fail> {
    viewer.may(Action::ReadAudit)?;
    let (user, action) = (q.user.clone(), q.action.clone());
    let viewer_user = viewer.user.clone();
    let app2 = app.clone();
    let lines = blocking(move || {
        let store = app2.store(None)?;
        // The log stays readable while a rule file has problems (matters show as ids then),
        // except to a user limited to a department: what it concerns needs the rules.
        let loaded = match (&viewer_user.department, app2.rules()) {
            (Some(_), Err(e)) => return Err(e),
            (_, loaded) => loaded.ok(),
        };
        let entries = match (&viewer_user.department, &loaded) {
            (Some(_), Some(loaded)) => {
                crate::jobs::audit::latest_of_departments(&*store, loaded, 500, |d| {
                    viewer_user.sees(d)
                })
            }
            _ => crate::jobs::audit::latest(&*store, 500),
        }
        .map_err(|e| Fail::of(&e))?;
        Ok(entries
            .into_iter()
            .rev()
            .map(|e| AuditLine {
                seq: e.seq,
                at: e.at.replace('T', " ").chars().take(19).collect(),
                user: audit_user(&e),
                source: audit_source(&e),
                action: action_zh(&e.action),
                subject: subject_zh(loaded.as_deref(), &e.subject),
                hash: e.hash.chars().take(12).collect(),
            })
            .filter(|l| user.is_empty() || l.user.contains(user.trim()))
            .filter(|l| action.is_empty() || l.action.contains(action.trim()))
            .collect())
    })
    .await?;
    render(&Audit {
        viewer,
        lines,
        user: q.user,
        action: q.action,
        verdict,
    })
}

/// Who made an audit entry's write: the console user it records (format 2), else its actor.
fn audit_user(e: &crate::store::AuditEntry) -> String {
    match e.v2.as_ref().and_then(|v| v.console_user.as_ref()) {
        Some(name) => name.clone(),
        None => names::actor(&e.actor),
    }
}

/// Where an audit entry's write came from (entries of format 1 do not say).
fn audit_source(e: &crate::store::AuditEntry) -> String {
    match &e.v2 {
        Some(v) if v.console_user.is_some() => format!("控制台（{}@{}）", v.os_user, v.host),
        Some(v) => format!("{}@{}", v.os_user, v.host),
        None => String::new(),
    }
}

pub(crate) async fn audit(
    State(app): State<App>,
    viewer: Viewer,
    Query(q): Query<AuditQuery>,
) -> Result<Response, Fail> {
    audit_page(app, viewer, q, None).await
}

/// 校验: walks the whole chain.
pub(crate) async fn audit_verify(State(app): State<App>, viewer: Viewer) -> Result<Response, Fail> {
    viewer.may(Action::ReadAudit)?;
    let app2 = app.clone();
    let verdict = blocking(move || {
        let store = app2.store(None)?;
        let report = crate::jobs::audit::verify(&*store).map_err(|e| Fail::of(&e))?;
        Ok(match report {
            crate::store::AuditReport::Intact { entries, head } => {
                (true, format!("审计链完整：共 {entries} 条记录。"), head)
            }
            crate::store::AuditReport::Broken(b) => (
                false,
                format!(
                    "审计链在第 {} 条记录处断裂：该条或其前后记录被改动、删除或插入。",
                    b.seq
                ),
                String::new(),
            ),
        })
    })
    .await?;
    audit_page(app, viewer, AuditQuery::default(), Some(verdict)).await
}

/// The plan of a year as a document: `html` (opened in the browser), `docx` or `md`.
pub(crate) async fn plan_document(
    State(app): State<App>,
    viewer: Viewer,
    axum::extract::Path((year, format)): axum::extract::Path<(i32, String)>,
) -> Result<Response, Fail> {
    viewer.may(Action::Read)?;
    let format = match format.as_str() {
        "html" => crate::output::doc::Format::Html,
        "docx" => crate::output::doc::Format::Docx,
        "md" => crate::output::doc::Format::Md,
        _ => return Err(Fail::NotFound),
    };
    let issued = app.now().date_naive();
    let (app2, user) = (app.clone(), viewer.user.clone());
    let bytes = blocking(move || {
        let loaded = app2.rules()?;
        let input = crate::jobs::plan::Input {
            year,
            provisional: false,
            format,
            output: None,
            issued,
        };
        let (bytes, _, _) = crate::jobs::plan::document_for(&loaded, &input, |d| user.sees(d))
            .map_err(|e| Fail::of(&e))?;
        Ok(bytes)
    })
    .await?;
    let name = format!("plan-{year}.{}", format.extension());
    Ok(super::draws::download(&name, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::status::WaitingDraw;

    fn at(t: &str) -> chrono::DateTime<chrono::FixedOffset> {
        chrono::DateTime::parse_from_rfc3339(t).unwrap_or_default()
    }

    fn waiting(commitment: Option<crate::store::Commitment>) -> WaitingDraw {
        WaitingDraw {
            period: "2026-H2".into(),
            issue_date: chrono::NaiveDate::from_ymd_opt(2026, 7, 1).unwrap_or_default(),
            why: String::new(),
            commitment,
        }
    }

    #[test]
    fn a_waiting_draw_says_what_it_waits_for_and_what_to_do() {
        assert_eq!(
            waiting_line(&waiting(None), at("2026-07-02T09:00:00+08:00")),
            "等待公开随机源：2026年下半年（计划 2026-07-01）。尚未承诺公开随机源：抽取前须先作出承诺（suiji commit）。"
        );
        let k = crate::store::Commitment {
            id: 3,
            matter: "zhian.hotel".into(),
            period: "2026-H2".into(),
            committed_at: "2026-06-20T10:00:00+08:00".into(),
            source: "中国福利彩票3D 第2026180期开奖号码".into(),
            source_time: "2026-07-01T21:15:00+08:00".into(),
            targets_snapshot: String::new(),
            inspectors_snapshot: String::new(),
            rules_hash: String::new(),
            algorithm: String::new(),
            actor: String::new(),
        };
        let w = waiting(Some(k));
        assert_eq!(
            waiting_line(&w, at("2026-07-01T21:14:59+08:00")),
            "等待公开随机源：2026年下半年（计划 2026-07-01）。第 3 号承诺的“中国福利彩票3D 第2026180期开奖号码”将于 2026-07-01 21:15 公布，公布后在“手动抽取”中录入该值抽取。"
        );
        // Once the source's time has passed the value is out: the line says so, not "将于".
        assert_eq!(
            waiting_line(&w, at("2026-07-01T13:15:00Z")),
            "等待公开随机源：2026年下半年（计划 2026-07-01）。第 3 号承诺的“中国福利彩票3D 第2026180期开奖号码”已于 2026-07-01 21:15 公布，请在“手动抽取”中录入该值抽取。"
        );
    }

    #[test]
    fn the_scheduler_lease_and_other_actions_read_in_chinese_on_the_audit_page() {
        assert_eq!(action_zh("scheduler.lease"), "取得调度租约（多节点）");
        assert_eq!(action_zh("draw.change"), "抽取后变更");
        assert_eq!(action_zh("commitment.record"), "承诺公开随机源");
        assert_eq!(action_zh("store.simulation"), "标记为模拟库");
        assert_eq!(action_zh("no.such"), "no.such");
    }
}
