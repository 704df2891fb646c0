//! Checking results as entered against the draw they belong to.
//!
//! A [`RawEntry`] is one result as a person wrote it: a row of a result sheet or the flags of
//! `suiji result`. [`Checker::check`] resolves its draw (by 抽取编号 or draw number), and
//! refuses, with the reason and what to do, a result for a target the draw did not select, one
//! signed by an inspector not on the target's team, an unknown result category or checklist
//! item, a date that is not a date (or lies before the draw or in the future), and a second
//! result for the same target and item. A result identical to one already recorded is
//! reported as such (re-importing a sheet after filling in more rows is harmless).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use chrono::NaiveDate;

use crate::diag::Diagnostic;
use crate::registry::values::{DateError, looks_like_scientific, parse_date, trim};
use crate::rules::model::{ChecklistItem, Model};
use crate::rules::names;
use crate::store::{
    DrawChange, DrawFilter, DrawHead, DrawRow, DrawStatus, DrawStore, NewResult, StoreError,
};

use super::{RESULT_CATEGORIES, normalize_category};

/// Where an entry came from: a file and its line (1-based; a sheet's row number).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The file as problems name it (shared by every entry of a sheet).
    pub file: std::sync::Arc<str>,
    pub line: usize,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// The inspection date as found: text, or a workbook date cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DateCell {
    Text(String),
    Date(NaiveDate),
}

/// The fields of an entry, for pointing at a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Draw,
    Matter,
    Period,
    Target,
    Item,
    Category,
    Date,
    Remarks,
    Inspectors,
}

impl Field {
    /// The column header on the task list, or the flag of `suiji result`.
    pub fn label(self) -> &'static str {
        match self {
            Field::Draw => "抽取编号",
            Field::Matter => "抽查事项",
            Field::Period => "期次",
            Field::Target => "对象编号",
            Field::Item => "检查项编号",
            Field::Category => "检查结果",
            Field::Date => "检查日期",
            Field::Remarks => "备注",
            Field::Inspectors => "签名检查人员",
        }
    }
}

/// One result as entered, before any check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEntry {
    /// `None` when typed on the command line.
    pub origin: Option<Origin>,
    /// 抽取编号 (the first 12 hex digits of the manifest hash) or a draw number (`10`, `#10`).
    pub draw_ref: String,
    /// 抽查事项 and 期次 as written on the sheet, checked against the draw when present.
    pub matter: Option<String>,
    pub period: Option<String>,
    pub target_id: String,
    pub item: String,
    pub category: String,
    pub date: DateCell,
    pub remarks: String,
    /// The inspectors who signed: ids or names, or `姓名（工号）` as on the task list,
    /// separated by 、，, ; or spaces.
    pub inspectors: String,
    /// 1-based column of each field in its sheet, for locating problems.
    pub columns: FieldColumns,
}

/// The 1-based column of each [`Field`] in its sheet, where it has one: nine small numbers
/// held in the entry (a national draw's sheet makes 1.47 million entries).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FieldColumns([u32; 9]);

impl FieldColumns {
    /// The field's column (`None`: not in the sheet, or typed on the command line).
    pub fn get(&self, f: Field) -> Option<usize> {
        match self.0.get(f as usize).copied() {
            None | Some(0) => None,
            Some(c) => Some(c as usize),
        }
    }

    /// Places `f` at 1-based `column` (a column past `u32::MAX` is left unknown).
    pub fn insert(&mut self, f: Field, column: usize) {
        if let Some(c) = self.0.get_mut(f as usize) {
            *c = u32::try_from(column).unwrap_or(0);
        }
    }
}

/// A problem with an entry (or a whole file), located as precisely as known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub origin: Option<Origin>,
    pub column: Option<usize>,
    pub message: String,
    pub help: Vec<String>,
    pub warning: bool,
}

impl Problem {
    pub fn error(origin: Option<&Origin>, message: impl Into<String>) -> Problem {
        Problem {
            origin: origin.cloned(),
            column: None,
            message: message.into(),
            help: Vec::new(),
            warning: false,
        }
    }

    pub fn help(mut self, h: impl Into<String>) -> Problem {
        self.help.push(h.into());
        self
    }

    pub fn column(mut self, c: Option<usize>) -> Problem {
        self.column = c;
        self
    }

    pub fn as_warning(mut self) -> Problem {
        self.warning = true;
        self
    }

    pub fn to_diagnostic(&self) -> Diagnostic {
        let mut d = if self.warning {
            Diagnostic::warning(&self.message)
        } else {
            Diagnostic::error(&self.message)
        };
        if let Some(o) = &self.origin {
            d = d.at_line(&*o.file, o.line, self.column);
        }
        for h in &self.help {
            d = d.help(h);
        }
        d
    }
}

/// What a checked entry comes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    /// A new result for the draw.
    New { draw_id: i64, result: NewResult },
    /// Exactly this result is already recorded: nothing to do.
    AlreadyRecorded { draw_id: i64, result_id: i64 },
}

/// A recorded draw with what its results are checked against.
#[derive(Debug, Clone)]
pub struct DrawInfo {
    /// The draw's row, without its manifest's text (`record.manifest_json` is empty).
    pub row: DrawRow,
    /// 抽取编号: the first 12 hex digits of the manifest hash.
    pub draw_ref: String,
    /// Selected targets: id → name.
    pub selected: HashMap<String, String>,
    /// Ranked but not selected.
    pub passed_over: BTreeSet<String>,
    /// Team per target: (id, name) in team order.
    pub teams: HashMap<String, Vec<(String, String)>>,
    /// Targets no team was drawn for, with the reason.
    pub unstaffed: HashMap<String, String>,
    /// Drawn targets the changes after the draw took out: what became of each (替补 by a
    /// substitute, now among `selected` with the team it took over, or marked out of scope).
    pub gone: HashMap<String, Gone>,
    /// The matter's checklist (from the rules), `None` when the matter left the rules.
    pub checklist: Option<Vec<ChecklistItem>>,
    /// Results already recorded, by (target, item).
    pub existing: Existing,
    /// What a sheet may write in 抽查事项: the matter's id (sheets printed before names), its
    /// name in the rules, and its name when drawn.
    pub matter_names: Vec<String>,
}

/// What became of a drawn target a change after the draw took out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gone {
    /// The change's number.
    pub change_id: i64,
    /// The substitute that took its place; `None`: marked out of scope.
    pub by: Option<String>,
}

/// The 抽取编号 of a draw: the first twelve characters of its manifest's hash.
pub fn draw_ref(row: &DrawRow) -> String {
    ref_of(&row.record.manifest_hash)
}

/// The 抽取编号 of a draw listed by its head.
fn head_ref(head: &DrawHead) -> String {
    ref_of(&head.manifest_hash)
}

fn ref_of(manifest_hash: &str) -> String {
    manifest_hash.chars().take(12).collect()
}

/// Checks entries against the store; remembers what earlier entries of the same batch said.
pub struct Checker<'a> {
    store: &'a dyn DrawStore,
    model: &'a Model,
    today: NaiveDate,
    /// Every draw, active and superseded, without its manifest (loaded on first need): a
    /// national draw's manifest runs to a hundred megabytes, and this list is searched for
    /// every entry.
    all_draws: Option<Vec<DrawHead>>,
    infos: HashMap<i64, DrawInfo>,
    /// (draw, target, item) → where this batch first gave a result for it: the target and
    /// item by their places in `seen_texts`, the place by its file's in `seen_files` and its
    /// line ([`super::NONE`] for none), so that the 1.47 million entries of a national draw's
    /// sheet are held in 24 bytes each.
    seen: HashMap<(i64, u32, u32), (u32, u32)>,
    seen_texts: super::Places<str>,
    seen_files: super::Places<str>,
}

impl<'a> Checker<'a> {
    /// `today`: results dated later are refused.
    pub fn new(store: &'a dyn DrawStore, model: &'a Model, today: NaiveDate) -> Checker<'a> {
        Checker {
            store,
            model,
            today,
            all_draws: None,
            infos: HashMap::new(),
            seen: HashMap::new(),
            seen_texts: super::Places::default(),
            seen_files: super::Places::default(),
        }
    }

    fn draws(&mut self) -> Result<&[DrawHead], StoreError> {
        if self.all_draws.is_none() {
            self.all_draws = Some(self.store.list_draw_heads(&DrawFilter {
                include_superseded: true,
                ..DrawFilter::default()
            })?);
        }
        Ok(self.all_draws.as_deref().unwrap_or_default())
    }

    /// The draw's details, loaded once.
    pub fn info(&mut self, draw_id: i64) -> Result<Option<&DrawInfo>, StoreError> {
        if !self.infos.contains_key(&draw_id) {
            let Some(row) = self.store.draw(draw_id)? else {
                return Ok(None);
            };
            let info = load_info(self.store, self.model, row)?;
            self.infos.insert(draw_id, info);
        }
        Ok(self.infos.get(&draw_id))
    }

    /// Finds the draw an entry names; a problem (with help) when there is none.
    pub fn resolve(&mut self, e: &RawEntry) -> Result<Result<i64, Problem>, StoreError> {
        let o = e.origin.as_ref();
        let col = e.columns.get(Field::Draw);
        let given = trim(&e.draw_ref);
        let given_l = given.trim_start_matches('#').to_ascii_lowercase();
        if given.is_empty() {
            return Ok(Err(Problem::error(o, "抽取编号 is empty")
                .column(col)
                .help(
                    "copy the 抽取编号 column from the task list the draw wrote; it names the draw",
                )));
        }
        let matches = self.matching(&given_l)?;
        match matches.as_slice() {
            [one] if one.status == DrawStatus::Active => Ok(Ok(one.id)),
            [one] => Ok(Err(superseded(one, given, o, col))),
            [] => {
                let mut p =
                    Problem::error(o, format!("抽取编号 {given:?} matches no recorded draw"))
                        .column(col);
                if looks_like_scientific(given) {
                    p = p.help("a spreadsheet turned the code into a number; import the .xlsx task list, or format the column as text before saving the CSV");
                }
                let model = self.model;
                let names = |d: &DrawHead, m: &str, per: &str| {
                    (d.matter == m || names::matter_name(model, &d.matter) == m)
                        && (d.period == per || names::period_label(&d.period) == per)
                };
                if let (Some(m), Some(per)) = (&e.matter, &e.period)
                    && let Some(active) = self
                        .draws()?
                        .iter()
                        .find(|d| d.status == DrawStatus::Active && names(d, m, per))
                {
                    p = p.help(format!(
                        "the active draw of {m} {per} is #{} with 抽取编号 {}; was this sheet printed from another database?",
                        active.id,
                        head_ref(active)
                    ));
                } else {
                    p = p.help("copy it from the first column of the task list the draw wrote (out/draws/<matter>/<period>/tasks.csv); `suiji draws` lists the draws");
                }
                Ok(Err(p))
            }
            _ => Ok(Err(Problem::error(
                o,
                format!("抽取编号 {given:?} matches {} draws", matches.len()),
            )
            .column(col)
            .help(
                "give all 12 characters of the 抽取编号 as printed on the task list",
            ))),
        }
    }

    /// The recorded draws a 抽取编号 (lowercase, without `#`) names: by number, or by the start
    /// of the manifest hash.
    fn matching(&mut self, given: &str) -> Result<Vec<DrawHead>, StoreError> {
        let by_number = given.len() < 12 && given.bytes().all(|b| b.is_ascii_digit());
        Ok(if by_number {
            let id: i64 = given.parse().unwrap_or(-1);
            self.draws()?
                .iter()
                .filter(|d| d.id == id)
                .cloned()
                .collect()
        } else if given.len() >= 8 && given.bytes().all(|b| b.is_ascii_hexdigit()) {
            self.draws()?
                .iter()
                .filter(|d| d.manifest_hash.starts_with(given))
                .cloned()
                .collect()
        } else {
            Vec::new()
        })
    }

    /// Checks one entry; every problem found, or what to record.
    pub fn check(&mut self, e: &RawEntry) -> Result<Result<Checked, Vec<Problem>>, StoreError> {
        let draw_id = match self.resolve(e)? {
            Ok(id) => id,
            Err(p) => return Ok(Err(vec![p])),
        };
        self.info(draw_id)?;
        let Some(info) = self.infos.get(&draw_id) else {
            return Ok(Err(vec![Problem::error(
                e.origin.as_ref(),
                format!("draw #{draw_id} does not exist"),
            )]));
        };
        let (problems, result) = check_against(info, e, self.today);
        if !problems.is_empty() {
            return Ok(Err(problems));
        }
        let Some(result) = result else {
            return Ok(Err(Vec::new()));
        };
        let item = result.checklist_item.clone().unwrap_or_default();
        let key = (
            draw_id,
            self.seen_texts.place(&result.target_id),
            self.seen_texts.place(&item),
        );
        let o = e.origin.as_ref();
        if let Some(&(file, line)) = self.seen.get(&key) {
            let first = self.seen_files.at(file).map(|f| Origin {
                file: std::sync::Arc::clone(f),
                line: line as usize,
            });
            let at = match (&first, o) {
                (Some(f), Some(here)) if f.file == here.file => format!("on line {}", f.line),
                (Some(f), _) => format!("at {f}"),
                (None, _) => "given earlier".to_string(),
            };
            return Ok(Err(vec![
                Problem::error(
                    o,
                    format!(
                        "a second result for target {} item {item} of draw #{draw_id} (the first is {at})",
                        result.target_id
                    ),
                )
                .column(e.columns.get(Field::Target))
                .help("each target and checklist item takes one result: delete one of the two rows"),
            ]));
        }
        let here = o.map_or((super::NONE, super::NONE), |o| {
            let line = u32::try_from(o.line).unwrap_or(super::NONE);
            (self.seen_files.place(&o.file), line)
        });
        self.seen.insert(key, here);
        if let Some(old) = info.existing.get(&result.target_id, &item) {
            let same = *old.category == *result.category
                && *old.inspection_date == *result.inspection_date
                && old.remarks == result.remarks
                && *old.inspectors_signed == *result.inspectors_signed;
            if same {
                return Ok(Ok(Checked::AlreadyRecorded {
                    draw_id,
                    result_id: old.id,
                }));
            }
            return Ok(Err(vec![differs(&old, &result, e, draw_id, &item)]));
        }
        Ok(Ok(Checked::New { draw_id, result }))
    }
}

/// The problem with an entry for a draw that a redraw replaced.
fn superseded(one: &DrawHead, given: &str, o: Option<&Origin>, col: Option<usize>) -> Problem {
    let by = one
        .superseded_by
        .map_or_else(|| "a redraw".to_string(), |id| format!("draw #{id}"));
    Problem::error(
        o,
        format!(
            "抽取编号 {given} is draw #{} ({} {}), which was superseded by {by}",
            one.id, one.matter, one.period
        ),
    )
    .column(col)
    .help(format!(
        "results go to the active draw: fill in the task list of {by} (out/draws/{}/{}/tasks.csv)",
        one.matter, one.period
    ))
}

/// The problem with a result that differs from the one recorded for the same target and item.
fn differs(old: &Recorded, result: &NewResult, e: &RawEntry, draw_id: i64, item: &str) -> Problem {
    let from = match (&old.source_file, old.source_line) {
        (Some(f), Some(l)) => format!(" from {f}:{l}"),
        (Some(f), None) => format!(" from {f}"),
        _ => String::new(),
    };
    let mut diffs = Vec::new();
    if *old.category != *result.category {
        diffs.push(format!("检查结果 {} → {}", old.category, result.category));
    }
    if *old.inspection_date != *result.inspection_date {
        diffs.push(format!(
            "检查日期 {} → {}",
            old.inspection_date, result.inspection_date
        ));
    }
    if old.remarks != result.remarks {
        diffs.push("备注".into());
    }
    if *old.inspectors_signed != *result.inspectors_signed {
        diffs.push(format!(
            "签名检查人员 {} → {}",
            old.inspectors_signed.join("、"),
            result.inspectors_signed.join("、")
        ));
    }
    let problem = Problem::error(
        e.origin.as_ref(),
        format!(
            "a different result for target {} item {item} of draw #{draw_id} is already recorded (entered {} by {}{from}; {})",
            result.target_id,
            old.entered_at,
            old.entered_by,
            diffs.join("; ")
        ),
    )
    .column(e.columns.get(Field::Category))
    .help("a recorded result is never overwritten: remove this row, or make it match what was recorded");
    match &old.published_at {
        Some(at) => problem.help(format!(
            "it was published on {}: a published result is frozen, on the database server too",
            at.get(..10).unwrap_or(at)
        )),
        None => problem,
    }
}

/// What an entry's check reads of a recorded manifest: the matter's name when drawn (the rest,
/// a national draw's hundred megabytes of selection, is skipped, not read into memory).
#[derive(serde::Deserialize)]
struct DrawnName {
    matter_name: String,
}

fn load_info(
    store: &dyn DrawStore,
    model: &Model,
    mut row: DrawRow,
) -> Result<DrawInfo, StoreError> {
    let changes = store.changes_of(row.id)?;
    let mut drawn = Drawn::default();
    for t in store.draw_targets(row.id)? {
        if t.selected {
            drawn.selected.insert(t.target_id, t.target_name);
        } else {
            drawn.passed_over.insert(t.target_id);
        }
    }
    for m in store.draw_teams(row.id)? {
        drawn
            .teams
            .entry(m.target_id)
            .or_default()
            .push((m.inspector_id, m.inspector_name));
    }
    drawn.unstaffed = store
        .draw_unstaffed(row.id)?
        .into_iter()
        .map(|u| (u.target_id, u.reason))
        .collect();
    if !changes.is_empty() {
        drawn.change(store, &row, &changes);
    }
    let Drawn {
        selected,
        passed_over,
        teams,
        unstaffed,
        gone,
        ..
    } = drawn;
    // Each recorded result goes into the map as its row is read (a national draw's run to
    // 1.47 million: never held twice), its texts shared with the draw's other results.
    let mut existing = Existing::default();
    store.each_result(row.id, &mut |r| existing.insert(&r))?;
    let mut matter_names = vec![
        row.record.matter.clone(),
        names::matter_name(model, &row.record.matter),
    ];
    if let Ok(m) = serde_json::from_str::<DrawnName>(&row.record.manifest_json) {
        matter_names.push(m.matter_name);
    }
    row.record.manifest_json = String::new();
    Ok(DrawInfo {
        draw_ref: draw_ref(&row),
        checklist: model
            .matter(&row.record.matter)
            .map(|m| m.checklist.clone()),
        matter_names,
        row,
        selected,
        passed_over,
        teams,
        unstaffed,
        gone,
        existing,
    })
}

/// A draw's targets and teams as recorded, then as the changes after it left them.
#[derive(Default)]
struct Drawn {
    selected: HashMap<String, String>,
    passed_over: BTreeSet<String>,
    teams: HashMap<String, Vec<(String, String)>>,
    unstaffed: HashMap<String, String>,
    gone: HashMap<String, Gone>,
}

impl Drawn {
    /// Applies `changes` in order, as they were recorded (whether each replacement was the
    /// one the rules give is `verify`'s to check): a substitute takes the place and the team
    /// of the target it replaces, a target marked out of scope leaves, an inspector who takes
    /// a member's place on a team signs for it in the member's stead.
    fn change(&mut self, store: &dyn DrawStore, row: &DrawRow, changes: &[DrawChange]) {
        let mut names: HashMap<String, String> = self.teams.values().flatten().cloned().collect();
        let unnamed: HashSet<&str> = changes
            .iter()
            .filter(|c| c.kind == "inspector")
            .filter_map(|c| c.replacement.as_deref())
            .filter(|id| !names.contains_key(*id))
            .collect();
        names.extend(super::inspector_names(store, row, &unnamed));
        let substitutes = super::substitute_names(store, row, changes);
        for c in changes {
            if c.kind == "inspector" {
                let (Some(out), Some(by)) = (&c.inspector_id, &c.replacement) else {
                    continue;
                };
                let name = names.get(by).cloned().unwrap_or_else(|| by.clone());
                if let Some(member) = self
                    .teams
                    .get_mut(&c.target_id)
                    .and_then(|team| team.iter_mut().find(|(id, _)| id == out))
                {
                    *member = (by.clone(), name);
                }
                continue;
            }
            if self.selected.remove(&c.target_id).is_none() {
                continue;
            }
            let team = self.teams.remove(&c.target_id);
            let unstaffed = self.unstaffed.remove(&c.target_id);
            self.gone.insert(
                c.target_id.clone(),
                Gone {
                    change_id: c.id,
                    by: c.replacement.clone(),
                },
            );
            let Some(by) = &c.replacement else { continue };
            let name = substitutes.get(by).cloned().unwrap_or_default();
            self.passed_over.remove(by);
            self.selected.insert(by.clone(), name);
            if let Some(team) = team {
                self.teams.insert(by.clone(), team);
            }
            if let Some(reason) = unstaffed {
                self.unstaffed.insert(by.clone(), reason);
            }
        }
    }
}

/// A draw's recorded results by (target, checklist item), each held as a few numbers, its
/// texts kept once each (`results::Places`): a national draw has 1.47 million, most with the
/// same category, day, signers and file, and a [`Recorded`] made of one is handed out only
/// when asked for.
#[derive(Default, Clone)]
pub struct Existing {
    /// Targets and checklist items.
    keys: super::Places<str>,
    texts: super::Places<str>,
    signers: super::Places<[String]>,
    by_key: HashMap<(u32, u32), Held>,
}

impl std::fmt::Debug for Existing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Existing")
            .field("results", &self.by_key.len())
            .finish_non_exhaustive()
    }
}

/// One recorded result in [`Existing`]: its texts by their places (`super::NONE`: none).
#[derive(Debug, Clone, Copy)]
struct Held {
    id: i64,
    category: u32,
    remarks: u32,
    date: u32,
    signers: u32,
    entered_at: u32,
    entered_by: u32,
    published_at: u32,
    file: u32,
    line: u32,
}

impl Existing {
    /// Holds `r`.
    fn insert(&mut self, r: &crate::store::ResultRow) {
        let key = (
            self.keys.place(&r.target_id),
            self.keys
                .place(r.checklist_item.as_deref().unwrap_or_default()),
        );
        let texts = &mut self.texts;
        let mut text = |t: Option<&str>| t.map_or(super::NONE, |t| texts.place(t));
        let held = Held {
            id: r.id,
            category: text(Some(&r.category)),
            remarks: text(Some(&r.remarks)),
            date: text(Some(&r.inspection_date)),
            entered_at: text(Some(&r.entered_at)),
            entered_by: text(Some(&r.entered_by)),
            published_at: text(r.published_at.as_deref()),
            file: text(r.source_file.as_deref()),
            signers: self.signers.place(&r.inspectors_signed[..]),
            line: r.source_line.unwrap_or(super::NONE),
        };
        self.by_key.insert(key, held);
    }

    /// The result recorded for `target`'s checklist item `item` ("" for none).
    pub fn get(&self, target: &str, item: &str) -> Option<Recorded> {
        let key = (self.keys.find(target)?, self.keys.find(item)?);
        let h = self.by_key.get(&key)?;
        let text = |place: u32| self.texts.at(place).map(Arc::clone);
        let empty = || Arc::from("");
        Some(Recorded {
            id: h.id,
            category: text(h.category).unwrap_or_else(empty),
            remarks: text(h.remarks).map(|r| r.to_string()).unwrap_or_default(),
            inspection_date: text(h.date).unwrap_or_else(empty),
            inspectors_signed: self
                .signers
                .at(h.signers)
                .map_or_else(|| Arc::from(Vec::new()), Arc::clone),
            entered_at: text(h.entered_at).unwrap_or_else(empty),
            entered_by: text(h.entered_by).unwrap_or_else(empty),
            published_at: text(h.published_at),
            source_file: text(h.file),
            source_line: (h.line != super::NONE).then_some(h.line),
        })
    }

    /// How many results are held.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// No result is held.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}

/// A result already recorded, as an entry is compared with it and a task shows it, its texts
/// shared among the draw's results ([`Existing`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub id: i64,
    pub category: Arc<str>,
    pub remarks: String,
    /// `YYYY-MM-DD`.
    pub inspection_date: Arc<str>,
    pub inspectors_signed: Arc<[String]>,
    pub entered_at: Arc<str>,
    pub entered_by: Arc<str>,
    pub published_at: Option<Arc<str>>,
    pub source_file: Option<Arc<str>>,
    pub source_line: Option<u32>,
}

/// Separators between the inspectors of a 签名检查人员 cell.
const SIGNER_SEPARATORS: &[char] = &[
    '、', ',', '，', ';', '；', '/', '|', '｜', ' ', '\u{3000}', '\n',
];

/// The team members a 签名检查人员 cell names, or the tokens that name none of them.
fn match_signers(text: &str, team: &[(String, String)]) -> (Vec<String>, Vec<String>) {
    let mut ids = Vec::new();
    let mut unknown = Vec::new();
    for token in text
        .split(SIGNER_SEPARATORS)
        .map(trim)
        .filter(|t| !t.is_empty())
    {
        // 姓名（工号） or 姓名(工号), as the task list writes a team.
        let inner = token
            .split_once(['（', '('])
            .map(|(_, rest)| rest.trim_end_matches(['）', ')']))
            .map(trim)
            .filter(|s| !s.is_empty());
        let key = inner.unwrap_or(token);
        let by_id = team
            .iter()
            .find(|(id, _)| id.eq_ignore_ascii_case(key))
            .map(|(id, _)| id.clone());
        let by_name = || {
            let named: Vec<&(String, String)> = team.iter().filter(|(_, n)| n == key).collect();
            match named.as_slice() {
                [one] => Some(one.0.clone()),
                _ => None,
            }
        };
        match by_id.or_else(by_name) {
            Some(id) => {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            None => unknown.push(token.to_string()),
        }
    }
    (ids, unknown)
}

/// A team as the task list writes it: 姓名（工号）、…
pub(crate) fn team_label(team: &[(String, String)]) -> String {
    team.iter()
        .map(|(id, name)| format!("{name}（{id}）"))
        .collect::<Vec<_>>()
        .join("、")
}

/// The checks that need only the draw; returns every problem, or the result to record.
fn check_against(
    info: &DrawInfo,
    e: &RawEntry,
    today: NaiveDate,
) -> (Vec<Problem>, Option<NewResult>) {
    let d = &info.row;
    let what = format!(
        "draw #{} ({} {}, 抽取编号 {})",
        d.id, d.record.matter, d.record.period, info.draw_ref
    );
    let mut problems = Vec::new();
    check_names(info, e, &what, &mut problems);
    let team = check_target(info, e, &what, &mut problems);
    check_item(info, e, &what, &mut problems);
    let category = check_category(e, &mut problems);
    let date = check_date(info, e, &what, today, &mut problems);
    let signed = check_signers(e, team, &mut problems);
    let target = trim(&e.target_id);
    let item = trim(&e.item);

    if !problems.is_empty() {
        return (problems, None);
    }
    let (Some(category), Some(date)) = (category, date) else {
        return (problems, None);
    };
    let result = NewResult {
        target_id: target.to_string(),
        checklist_item: Some(item.to_string()),
        category: category.to_string(),
        remarks: trim(&e.remarks).to_string(),
        inspection_date: date.format("%Y-%m-%d").to_string(),
        inspectors_signed: signed,
        source_file: e.origin.as_ref().map(|o| o.file.clone()),
        source_line: e.origin.as_ref().and_then(|o| u32::try_from(o.line).ok()),
    };
    (problems, Some(result))
}

/// 抽查事项 and 期次, when given, must be the draw's: by name (as task lists print them) or by
/// id (as task lists printed before names did).
fn check_names(info: &DrawInfo, e: &RawEntry, what: &str, problems: &mut Vec<Problem>) {
    let o = e.origin.as_ref();
    let col = |f: Field| e.columns.get(f);
    let d = &info.row;
    let period = [
        d.record.period.clone(),
        names::period_label(&d.record.period),
    ];
    for (field, given, expected) in [
        (Field::Matter, &e.matter, &info.matter_names[..]),
        (Field::Period, &e.period, &period[..]),
    ] {
        if let Some(g) = given.as_deref().map(trim).filter(|g| !g.is_empty())
            && !expected.iter().any(|x| x == g)
        {
            problems.push(
                Problem::error(
                    o,
                    format!("{} says {g:?}, but the row's 抽取编号 is {what}", field.label()),
                )
                .column(col(field))
                .help("the row was changed or copied from another task list: restore it from the task list of that draw"),
            );
        }
    }
}

/// The target must be one the draw selected and staffed; its team, if so.
fn check_target<'a>(
    info: &'a DrawInfo,
    e: &RawEntry,
    what: &str,
    problems: &mut Vec<Problem>,
) -> Option<&'a Vec<(String, String)>> {
    let o = e.origin.as_ref();
    let col = |f: Field| e.columns.get(f);
    let target = trim(&e.target_id);
    if target.is_empty() {
        problems.push(
            Problem::error(o, "对象编号 is empty")
                .column(col(Field::Target))
                .help("keep the 对象编号 column of the task list as it was printed"),
        );
    } else if let Some(gone) = info.gone.get(target) {
        let (now, help) = match &gone.by {
            Some(by) => (
                format!("was replaced by substitute {by}"),
                "enter the result under the substitute that took its place, as the draw's page lists it",
            ),
            None => (
                "was marked out of scope".to_string(),
                "a target marked out of scope is not inspected under this draw",
            ),
        };
        problems.push(
            Problem::error(
                o,
                format!(
                    "target {target} of {what} {now} after the draw (change #{})",
                    gone.change_id
                ),
            )
            .column(col(Field::Target))
            .help(help),
        );
    } else if !info.selected.contains_key(target) {
        let why = if info.passed_over.contains(target) {
            "was ranked but not selected in"
        } else {
            "was not drawn in"
        };
        problems.push(
            Problem::error(o, format!("target {target} {why} {what}"))
                .column(col(Field::Target))
                .help("a result can only be entered for a target the draw selected: check 对象编号 against the task list of that draw"),
        );
    } else if let Some(reason) = info.unstaffed.get(target) {
        problems.push(
            Problem::error(
                o,
                format!("target {target} of {what} has no team (unstaffed: {reason}), so no inspector can sign a result for it"),
            )
            .column(col(Field::Target))
            .help("staff it first: add qualified inspectors to the registry and redraw (suiji draw --redraw --reason …)"),
        );
    } else {
        return info.teams.get(target);
    }
    None
}

/// The checklist item must be one of the matter's.
fn check_item(info: &DrawInfo, e: &RawEntry, what: &str, problems: &mut Vec<Problem>) {
    let o = e.origin.as_ref();
    let col = |f: Field| e.columns.get(f);
    let d = &info.row;
    let item = trim(&e.item);
    match &info.checklist {
        None => problems.push(
            Problem::error(
                o,
                format!(
                    "matter {} of {what} is no longer in the rules, so its checklist is unknown",
                    d.record.matter
                ),
            )
            .column(col(Field::Item))
            .help("restore the matter's rule file (its draws keep their results)"),
        ),
        Some(list) if !list.iter().any(|i| i.id == item) => {
            let ids: Vec<&str> = list.iter().map(|i| i.id.as_str()).collect();
            let mut p = Problem::error(
                o,
                if item.is_empty() {
                    "检查项编号 is empty".to_string()
                } else {
                    format!(
                        "检查项编号 {item:?} is not a checklist item of {} ({})",
                        info.matter_names.get(1).unwrap_or(&d.record.matter),
                        d.record.matter
                    )
                },
            )
            .column(col(Field::Item));
            if let Some(s) = crate::diag::did_you_mean(item, ids.iter().copied()) {
                p = p.help(format!("did you mean {s}?"));
            }
            problems.push(p.help(format!("its items are: {}", ids.join(", "))));
        }
        Some(_) => {}
    }
}

/// The category must be a national result category.
fn check_category(e: &RawEntry, problems: &mut Vec<Problem>) -> Option<&'static str> {
    let o = e.origin.as_ref();
    let col = |f: Field| e.columns.get(f);
    let category = normalize_category(&e.category);
    if category.is_none() {
        let given = trim(&e.category);
        let mut p = Problem::error(
            o,
            format!("检查结果 {given:?} is not one of the national result categories"),
        )
        .column(col(Field::Category));
        if let Some(s) = crate::diag::did_you_mean(given, RESULT_CATEGORIES.iter().copied()) {
            p = p.help(format!("did you mean {s}?"));
        }
        problems.push(p.help(format!(
            "write one of: {} (the task list's drop-down offers them)",
            RESULT_CATEGORIES.join("、")
        )));
    }
    category
}

/// The date must be a day, not before the draw and not after `today`.
fn check_date(
    info: &DrawInfo,
    e: &RawEntry,
    what: &str,
    today: NaiveDate,
    problems: &mut Vec<Problem>,
) -> Option<NaiveDate> {
    let o = e.origin.as_ref();
    let col = |f: Field| e.columns.get(f);
    let d = &info.row;
    let date =
        match &e.date {
            DateCell::Date(d) => Some(*d),
            DateCell::Text(t) => {
                let t = trim(t);
                match parse_date(t) {
                    Ok(d) => Some(d),
                    Err(err) => {
                        let msg = match (t.is_empty(), err) {
                            (true, _) => "检查日期 is empty".to_string(),
                            (false, DateError::NoSuchDay) => {
                                format!("检查日期 {t:?} is not a day of the calendar")
                            }
                            (false, DateError::Format) => format!("检查日期 {t:?} is not a date"),
                        };
                        problems.push(Problem::error(o, msg).column(col(Field::Date)).help(
                            "write the day of the inspection as YYYY-MM-DD, e.g. 2023-03-02",
                        ));
                        None
                    }
                }
            }
        };
    if let Some(day) = date {
        let issued = NaiveDate::parse_from_str(&d.record.issue_date, "%Y-%m-%d").ok();
        if let Some(issued) = issued
            && day < issued
        {
            problems.push(
                Problem::error(
                    o,
                    format!("检查日期 {day} is before {what} was issued ({issued})"),
                )
                .column(col(Field::Date))
                .help("an inspection of a drawn target happens after the draw: check the date"),
            );
        }
        if day > today {
            problems.push(
                Problem::error(
                    o,
                    format!("检查日期 {day} is in the future (today is {today})"),
                )
                .column(col(Field::Date))
                .help("enter results after the inspection has taken place"),
            );
        }
    }
    date
}

/// The inspectors who signed must be on the target's team; their ids.
fn check_signers(
    e: &RawEntry,
    team: Option<&Vec<(String, String)>>,
    problems: &mut Vec<Problem>,
) -> Vec<String> {
    let o = e.origin.as_ref();
    let col = |f: Field| e.columns.get(f);
    let target = trim(&e.target_id);
    let signers = trim(&e.inspectors);
    if signers.is_empty() {
        problems.push(
            Problem::error(
                o,
                "签名检查人员 is empty: say which inspectors signed the result",
            )
            .column(col(Field::Inspectors))
            .help(
                "write their 工号 separated by 、 (e.g. PY0101、PY0102), or copy the 检查人员 cell",
            ),
        );
    } else if let Some(team) = team {
        let (ids, unknown) = match_signers(signers, team);
        for u in &unknown {
            problems.push(
                Problem::error(
                    o,
                    format!(
                        "inspector {u} is not on the team of target {target} (team: {})",
                        team_label(team)
                    ),
                )
                .column(col(Field::Inspectors))
                .help("only the members of the target's team, as drawn or as changes after the draw (人员调整) left it, may sign its result; a member who cannot inspect is replaced before the inspection by `suiji change replace-inspector` or on the draw's page (the rules choose who takes the place)"),
            );
        }
        return ids;
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signers_by_id_name_or_label() {
        let team = vec![
            ("PY0119".to_string(), "袁宪文".to_string()),
            ("PY0104".to_string(), "唐晓明".to_string()),
        ];
        assert_eq!(
            match_signers("袁宪文（PY0119）、唐晓明（PY0104）", &team),
            (vec!["PY0119".into(), "PY0104".into()], vec![])
        );
        assert_eq!(
            match_signers("py0104, 袁宪文", &team),
            (vec!["PY0104".into(), "PY0119".into()], vec![])
        );
        assert_eq!(
            match_signers("PY0104 PY0199", &team),
            (vec!["PY0104".into()], vec!["PY0199".into()])
        );
    }
}
