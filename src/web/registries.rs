//! 名录库: the configured registry files, their history, and replacing one by an upload.

use askama::Template;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::session::Viewer;
use super::{App, Fail, blocking, names, render};
use crate::diag::{Diagnostic, Location};
use crate::jobs::replace::{Kind, Upload};
use crate::jobs::users::Action;

pub(crate) struct FileLine {
    pub kind: &'static str,
    pub kind_id: &'static str,
    pub index: usize,
    pub file: String,
    pub sha256: String,
    pub replaced: String,
}

pub(crate) struct HistoryLine {
    pub at: String,
    pub by: String,
    pub kind: &'static str,
    pub uploaded_as: String,
    pub rows: usize,
    pub sha256: String,
}

/// One problem of an upload: the Excel cell (K3), or the line, and what to do.
pub(crate) struct ProblemLine {
    /// The file the problem is in (a check of one registry file reads the other too); empty
    /// when it is in no file.
    pub file: String,
    pub cell: String,
    pub message: String,
    pub help: String,
}

#[derive(Template)]
#[template(path = "registries.html")]
struct Registries {
    viewer: Viewer,
    files: Vec<FileLine>,
    history: Vec<HistoryLine>,
    problems: Vec<ProblemLine>,
    outcome: Option<(bool, String)>,
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Targets => "检查对象名录库",
        Kind::Inspectors => "执法检查人员名录库",
    }
}

/// The spreadsheet name of a 1-based column: 1 → A, 11 → K, 27 → AA.
pub(crate) fn column_letters(mut col: usize) -> String {
    let mut out = Vec::new();
    while col > 0 {
        let rem = (col - 1) % 26;
        out.push(char::from(b'A' + rem as u8));
        col = (col - 1) / 26;
    }
    out.iter().rev().collect()
}

/// The name of the file at `path`, as a problem's row shows it.
fn file_name(path: &str) -> String {
    std::path::Path::new(path)
        .file_name()
        .map_or_else(|| path.to_string(), |n| n.to_string_lossy().into_owned())
}

pub(crate) fn problem(d: &Diagnostic) -> ProblemLine {
    let (file, cell) = match &d.location {
        Location::Line {
            path,
            line,
            column: Some(c),
        } => (file_name(path), format!("{}{line}", column_letters(*c))),
        Location::Line { path, line, .. } => (file_name(path), format!("第 {line} 行")),
        _ => (String::new(), "整个文件".into()),
    };
    let message = crate::diag::zh::registry_message(&d.message);
    ProblemLine {
        file,
        cell,
        message: if d.is_error() {
            message
        } else {
            format!("提示（不影响保存）：{message}")
        },
        help: d
            .help
            .iter()
            .map(|h| crate::diag::zh::registry_message(h))
            .collect::<Vec<_>>()
            .join("；"),
    }
}

async fn page(
    app: &App,
    viewer: Viewer,
    problems: Vec<ProblemLine>,
    outcome: Option<(bool, String)>,
) -> Result<Response, Fail> {
    let app2 = app.clone();
    let (files, history) = blocking(move || {
        let loaded = app2.rules()?;
        let store = app2.store(None)?;
        let (current, history) =
            crate::jobs::replace::current(&loaded, &*store, |f| app2.facts().sha_of(f))
                .map_err(|e| Fail::of(&e))?;
        let files = current
            .into_iter()
            .map(|c| FileLine {
                kind: kind_name(c.kind),
                kind_id: c.kind.id(),
                index: c.index,
                file: c.file,
                sha256: c.sha256.unwrap_or_else(|| "（文件不存在）".into()),
                replaced: c.replaced.map_or_else(
                    || "随系统部署".into(),
                    |(at, who)| format!("{}，{}", short_time(&at), names::actor(&who)),
                ),
            })
            .collect();
        let history = history
            .into_iter()
            .map(|(at, who, a)| HistoryLine {
                at: short_time(&at),
                by: names::actor(&who),
                kind: kind_name(Kind::parse(&a.kind).unwrap_or(Kind::Targets)),
                uploaded_as: a.uploaded_as,
                rows: a.rows,
                sha256: a.sha256,
            })
            .collect();
        Ok((files, history))
    })
    .await?;
    render(&Registries {
        viewer,
        files,
        history,
        problems,
        outcome,
    })
}

fn short_time(at: &str) -> String {
    at.replace('T', " ").chars().take(16).collect()
}

pub(crate) async fn show(State(app): State<App>, viewer: Viewer) -> Result<Response, Fail> {
    viewer.may(Action::ReadRegistries)?;
    page(&app, viewer, Vec::new(), None).await
}

/// The form's fields: which file (`kind`, `index`) and the file itself.
async fn read_form(mut form: Multipart) -> Result<(Kind, usize, String, Vec<u8>), Fail> {
    let bad = |_| Fail::Invalid("上传内容无法读取，请重新选择文件上传。".into());
    let (mut kind, mut index, mut file) = (None, 0usize, None);
    while let Some(field) = form.next_field().await.map_err(bad)? {
        match field.name() {
            Some("kind") => kind = Kind::parse(&field.text().await.map_err(bad)?),
            Some("index") => index = field.text().await.map_err(bad)?.parse().unwrap_or(0),
            Some("file") => {
                let name = field.file_name().unwrap_or("").to_string();
                file = Some((name, field.bytes().await.map_err(bad)?.to_vec()));
            }
            _ => {}
        }
    }
    let kind = kind.ok_or_else(|| Fail::Invalid("请选择要更新的名录库。".into()))?;
    let (name, bytes) = file
        .filter(|(n, _)| !n.is_empty())
        .ok_or_else(|| Fail::Invalid("请选择要上传的文件。".into()))?;
    Ok((kind, index, name, bytes))
}

pub(crate) async fn upload(
    State(app): State<App>,
    viewer: Viewer,
    form: Multipart,
) -> Result<Response, Fail> {
    viewer.may(Action::UploadRegistry)?;
    let (kind, index, name, bytes) = read_form(form).await?;
    let up = Upload {
        kind,
        index,
        name,
        bytes,
        actor: viewer.user.actor(),
        at: app.stamp(),
    };
    let (app2, user) = (app.clone(), viewer.user.clone());
    let result = blocking(move || {
        let loaded = app2.rules()?;
        let mut store = app2.store(Some(&user))?;
        Ok(crate::jobs::replace::replace(&loaded, &mut *store, &up))
    })
    .await?;
    use crate::jobs::replace::ReplaceError as E;
    let (problems, outcome) = match result {
        Ok(r) => (
            r.warnings.iter().map(problem).collect(),
            (
                true,
                format!(
                    "已更新{}：{} 行，原文件已存入历史版本。",
                    kind_name(kind),
                    r.rows
                ),
            ),
        ),
        Err(E::Invalid(_, diags)) => {
            let n = diags.iter().filter(|d| d.is_error()).count();
            let notes = match diags.len() - n {
                0 => String::new(),
                w => format!("（另有 {w} 条提示）"),
            };
            (
                diags.iter().map(problem).collect(),
                (
                    false,
                    format!("发现 {n} 处问题{notes}，未作任何更改。请按下表修改后重新上传。"),
                ),
            )
        }
        Err(E::Format { want, .. }) => (
            Vec::new(),
            (
                false,
                format!("文件格式不符：当前名录库为 {want} 文件，请上传 {want} 文件。"),
            ),
        ),
        Err(E::Empty) => (Vec::new(), (false, "上传的文件为空，未作任何更改。".into())),
        Err(e) => return Err(Fail::of(&e)),
    };
    let ok = outcome.0;
    let mut res = page(&app, viewer, problems, Some(outcome)).await?;
    if !ok {
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    #[test]
    fn columns_are_named_as_in_a_spreadsheet() {
        assert_eq!(super::column_letters(1), "A");
        assert_eq!(super::column_letters(11), "K");
        assert_eq!(super::column_letters(26), "Z");
        assert_eq!(super::column_letters(27), "AA");
        assert_eq!(super::column_letters(703), "AAA");
    }
}
