//! Per drawn target: inspected or not, its publication deadline, published or not and when.
//! Everything here is computed from the store (draws, teams, results, publications), the
//! rules (checklists, deadlines) and the calendar; nothing is kept separately.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

use crate::calendar::{Calendar, CalendarError};
use crate::draw::changes::{State as ChangedState, Step};
use crate::draw::manifest::Manifest;
use crate::rules::model::Model;
use crate::schedule::marks::DrawMarks;
use crate::store::{DrawFilter, DrawRow, PublicationRow, ResultFact, ResultStore, StoreError};

/// Working days to publish, when a draw's matter is no longer in the rules.
pub(crate) const DEFAULT_DEADLINE_WORKING_DAYS: u32 = 20;

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("draw #{draw_id}: its recorded manifest cannot be read ({detail})")]
    Manifest { draw_id: i64, detail: String },
    #[error("draw #{draw_id}: {source}")]
    Calendar { draw_id: i64, source: CalendarError },
}

/// Where a drawn target stands on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    /// Published on or before its deadline.
    OnTime,
    /// Published after its deadline.
    Late,
    /// Inspected, not yet published; the deadline has not passed.
    AwaitingPublication,
    /// Inspected, not published, deadline passed: counts as not done.
    PublicationOverdue,
    /// Some checklist items have results, not all; the draw's due date has not passed.
    Partial,
    /// Not (completely) inspected and the draw's due date has passed: not done.
    InspectionOverdue,
    /// No result yet; the draw's due date has not passed.
    NotInspected,
    /// No team was drawn for it: cannot be inspected under this draw; not done.
    Unstaffed,
}

impl State {
    /// Published (on time or late).
    pub(crate) fn is_published(self) -> bool {
        matches!(self, State::OnTime | State::Late)
    }

    /// Still within its dates: neither done nor yet missed.
    pub(crate) fn is_pending(self) -> bool {
        matches!(
            self,
            State::AwaitingPublication | State::Partial | State::NotInspected
        )
    }

    /// Counts as not done: not published, and its date has passed (or it has no team).
    pub fn is_missing(self) -> bool {
        matches!(
            self,
            State::PublicationOverdue | State::InspectionOverdue | State::Unstaffed
        )
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            State::OnTime => "按时公示",
            State::Late => "逾期公示",
            State::AwaitingPublication => "待公示",
            State::PublicationOverdue => "逾期未公示",
            State::Partial => "部分检查项已录入",
            State::InspectionOverdue => "逾期未检查",
            State::NotInspected => "待检查",
            State::Unstaffed => "未配备检查人员",
        }
    }
}

/// A recorded result as a ledger keeps it: what its target's standing, its summary and a
/// publication read. A national draw's ledger holds millions: their texts are shared among the
/// draw's results, their days read once (`suiji results list` shows the whole row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerResult {
    pub id: i64,
    pub checklist_item: Option<Arc<str>>,
    pub category: Arc<str>,
    /// 检查日期 (`None` when the recorded text is not a `YYYY-MM-DD` date).
    pub inspection_date: Option<NaiveDate>,
    /// Published (at some time).
    pub published: bool,
    /// The day it was published, when that time's day reads.
    pub published_on: Option<NaiveDate>,
}

/// The texts of a draw's results, each kept once.
type Texts = super::Interned<str>;

impl LedgerResult {
    fn of(f: ResultFact<'_>, texts: &mut Texts) -> LedgerResult {
        LedgerResult {
            id: f.id,
            checklist_item: f.checklist_item.map(|i| texts.of(i)),
            category: texts.of(f.category),
            inspection_date: NaiveDate::parse_from_str(f.inspection_date, "%Y-%m-%d").ok(),
            published: f.published_at.is_some(),
            published_on: f.published_at.and_then(day_of),
        }
    }
}

/// One drawn target of a draw.
#[derive(Debug, Clone)]
pub struct TargetLedger {
    pub target_id: String,
    pub target_name: String,
    /// Inspector ids of its team, in team order.
    pub team: Vec<String>,
    /// Why no team was drawn, if none was.
    pub unstaffed: Option<String>,
    /// Its results, in the order they were entered.
    pub results: Vec<LedgerResult>,
    /// A result for every checklist item.
    pub complete: bool,
    /// Latest 检查日期 among its results (when it has any).
    pub inspection_end: Option<NaiveDate>,
    /// Publication deadline, once complete.
    pub deadline: Option<NaiveDate>,
    /// Day the last of its results was published, once complete and all published.
    pub published_on: Option<NaiveDate>,
}

impl TargetLedger {
    /// Where it stands on `as_of`; `due` is the draw's due date for the inspections.
    pub fn state(&self, due: NaiveDate, as_of: NaiveDate) -> State {
        if self.unstaffed.is_some() {
            return State::Unstaffed;
        }
        if !self.inspected_by(as_of) {
            let started = self
                .results
                .iter()
                .any(|r| r.inspection_date.is_some_and(|d| d <= as_of));
            return match (as_of > due, !started) {
                (true, _) => State::InspectionOverdue,
                (false, true) => State::NotInspected,
                (false, false) => State::Partial,
            };
        }
        // A publication after `as_of` had not happened yet on that day.
        let published_on = self.published_on.filter(|p| *p <= as_of);
        match (published_on, self.deadline) {
            (Some(p), Some(dl)) if p <= dl => State::OnTime,
            (Some(_), _) => State::Late,
            (None, Some(dl)) if as_of > dl => State::PublicationOverdue,
            (None, _) => State::AwaitingPublication,
        }
    }

    /// Completely inspected on or before `as_of` (results dated later had not happened yet).
    pub(crate) fn inspected_by(&self, as_of: NaiveDate) -> bool {
        self.complete && self.inspection_end.is_some_and(|d| d <= as_of)
    }

    /// The overall result (see [`super::summary_category`]).
    pub fn summary(&self) -> String {
        super::summary_category(self.results.iter().map(|r| &*r.category))
    }

    /// Whether every result is 未发现问题.
    pub fn clean(&self) -> bool {
        self.complete && self.results.iter().all(|r| &*r.category == super::CLEAN)
    }
}

/// One active draw with its targets' standing.
#[derive(Debug, Clone)]
pub struct DrawLedger {
    /// The draw's row, without its manifest's text (`record.manifest_json` is empty: the manifest
    /// read is [`DrawLedger::manifest`]).
    pub draw: DrawRow,
    /// The recorded manifest read, but for its selection (empty): `targets` is that selection
    /// as the changes after the draw left it, in the same order.
    pub manifest: Manifest,
    /// 抽取编号.
    pub draw_ref: String,
    pub matter_name: String,
    pub department: String,
    pub deadline_working_days: u32,
    /// The matter's checklist item ids (empty when the matter left the rules).
    pub items: Vec<String>,
    /// Issue and due dates.
    pub issue_date: NaiveDate,
    pub due_date: NaiveDate,
    /// Drawn targets in draw order, as the changes after the draw left them: a substitute
    /// taken in (替补) in the place of the target it replaced, a target marked out of scope
    /// left out, each team as it stands.
    pub targets: Vec<TargetLedger>,
    /// Drawn targets marked out of scope after the draw without a substitute (不在范围): not in
    /// `targets`, and not to be inspected under this draw.
    pub out_of_scope: usize,
    pub publications: Vec<PublicationRow>,
    /// When it was really drawn, late (补抽), provisional (临时), simulated (模拟).
    pub marks: DrawMarks,
}

impl DrawLedger {
    /// The targets the draw selected: its visits and those marked out of scope since.
    pub fn drawn(&self) -> usize {
        self.targets.len() + self.out_of_scope
    }

    /// The ledger without its manifest's substitutes (empty; its selection is its targets'
    /// ledger): what a ledger kept beside many others keeps.
    pub fn without_lists(mut self) -> DrawLedger {
        if let Some(subs) = &mut self.manifest.substitutes {
            *subs = Vec::new();
        }
        self
    }

    /// Targets by state on `as_of`.
    pub fn counts(&self, as_of: NaiveDate) -> BTreeMap<State, usize> {
        let mut out = BTreeMap::new();
        for t in &self.targets {
            *out.entry(t.state(self.due_date, as_of)).or_default() += 1;
        }
        out
    }

    /// Day of the latest publication, if any.
    pub fn last_published(&self) -> Option<NaiveDate> {
        self.publications
            .iter()
            .filter_map(|p| day_of(&p.published_at))
            .max()
    }
}

/// The date part of a stored timestamp ("2023-06-01T09:00:00+08:00" → 2023-06-01).
pub(crate) fn day_of(stamp: &str) -> Option<NaiveDate> {
    stamp
        .get(..10)
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
}

fn parse_day(draw_id: i64, what: &str, s: &str) -> Result<NaiveDate, LedgerError> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|e| LedgerError::Manifest {
        draw_id,
        detail: format!("{what} {s:?}: {e}"),
    })
}

/// How a recorded draw was made: its real time against the manifest's scheduled issue time.
fn marks_of(draw: &DrawRow, manifest: &Manifest, simulation: bool) -> DrawMarks {
    let scheduled = NaiveDateTime::parse_from_str(&manifest.issue_at, "%Y-%m-%dT%H:%M")
        .unwrap_or_else(|_| manifest.reference_date.and_time(NaiveTime::MIN));
    DrawMarks::of(
        &draw.record.created_at,
        scheduled,
        draw.record.provisional,
        simulation,
    )
}

/// The ledger of one draw.
pub(crate) fn draw_ledger(
    store: &dyn ResultStore,
    model: &Model,
    cal: &Calendar,
    mut draw: DrawRow,
) -> Result<DrawLedger, LedgerError> {
    let id = draw.id;
    let mut manifest: Manifest =
        serde_json::from_str(&draw.record.manifest_json).map_err(|e| LedgerError::Manifest {
            draw_id: id,
            detail: e.to_string(),
        })?;
    // The ledger keeps the manifest read, not its text: a national draw's runs to a hundred
    // megabytes, and a ledger is made for every draw of the records at once.
    draw.record.manifest_json = String::new();
    let matter = model.matter(&draw.record.matter);
    let deadline_working_days = matter.map_or(DEFAULT_DEADLINE_WORKING_DAYS, |m| {
        m.publication.deadline_working_days
    });
    let items: Vec<String> = matter
        .map(|m| m.checklist.iter().map(|i| i.id.clone()).collect())
        .unwrap_or_default();
    // The selection, as the changes after the draw left it, moves into the targets' ledger;
    // each result, read a row at a time, goes to its target's (the first with its id), the
    // rest are not the draw's targets'.
    let (selected, out_of_scope) = visits(store, &mut manifest, &draw)?;
    let mut results: Vec<Vec<LedgerResult>> = vec![Vec::new(); selected.len()];
    {
        let mut place: rustc_hash::FxHashMap<&str, usize> = rustc_hash::FxHashMap::default();
        place.reserve(selected.len());
        for (i, s) in selected.iter().enumerate() {
            place.entry(s.target_id.as_str()).or_insert(i);
        }
        let mut texts = Texts::default();
        store.each_result_fact(id, &mut |f| {
            if let Some(r) = place.get(f.target_id).and_then(|&i| results.get_mut(i)) {
                r.push(LedgerResult::of(f, &mut texts));
            }
        })?;
    }
    // A deadline counted once per day inspections ended on (a national draw's 367,435 targets
    // end on a few hundred days).
    let mut deadlines: BTreeMap<NaiveDate, NaiveDate> = BTreeMap::new();
    let mut deadline = |end: NaiveDate| -> Result<NaiveDate, CalendarError> {
        if let Some(&d) = deadlines.get(&end) {
            return Ok(d);
        }
        let d = cal.add_working_days(end, deadline_working_days)?;
        deadlines.insert(end, d);
        Ok(d)
    };
    let targets = selected
        .into_iter()
        .zip(results)
        .map(|(s, results)| {
            target_ledger(s, results, &items, &mut deadline).map_err(|source| {
                LedgerError::Calendar {
                    draw_id: id,
                    source,
                }
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(DrawLedger {
        marks: marks_of(&draw, &manifest, store.is_simulation()?),
        draw_ref: super::entry::draw_ref(&draw),
        matter_name: matter.map_or_else(|| manifest.matter_name.clone(), |m| m.name.clone()),
        department: matter.map_or_else(|| manifest.department.clone(), |m| m.department.clone()),
        deadline_working_days,
        items,
        issue_date: parse_day(id, "issue date", &draw.record.issue_date)?,
        due_date: parse_day(id, "due date", &draw.record.due_date)?,
        targets,
        out_of_scope,
        publications: store.publications(id)?,
        manifest,
        draw,
    })
}

/// A target the draw has its team visit.
struct Visit {
    target_id: String,
    target_name: String,
    team: Vec<String>,
    unstaffed: Option<String>,
}

impl From<crate::draw::manifest::Selected> for Visit {
    fn from(s: crate::draw::manifest::Selected) -> Visit {
        Visit {
            target_id: s.target_id,
            target_name: s.target_name,
            team: s.team,
            unstaffed: s.unstaffed,
        }
    }
}

/// The targets of `draw` (manifest `m`, its selection taken) as the changes recorded after
/// it left them, in draw order: a target replaced (替补) by its substitute, in its place, with
/// the team the substitute took over; one marked out of scope (不在范围) left out; a team's
/// member replaced (人员调整) by the inspector who took the place; and how many were marked
/// out of scope.
fn visits(
    store: &dyn ResultStore,
    m: &mut Manifest,
    draw: &DrawRow,
) -> Result<(Vec<Visit>, usize), LedgerError> {
    let id = draw.id;
    let changes = store.changes_of(id)?;
    if changes.is_empty() {
        let selected = std::mem::take(&mut m.selected);
        return Ok((selected.into_iter().map(Visit::from).collect(), 0));
    }
    let steps: Vec<Step> = changes.iter().map(Step::of_change).collect();
    // A change that does not replay (the records altered behind suiji's back) is left out
    // with those after it, and said: `verify` names it.
    let (state, failed) = ChangedState::replayed(m, &steps);
    if let Some((n, refusal)) = failed {
        tracing::warn!(
            "draw #{id}: change #{} after it cannot be replayed ({refusal}); the draw is counted as the changes before it left it; `suiji verify {id}` checks the draw and its changes",
            changes.get(n).map_or(0, |c| c.id)
        );
    }
    let names = super::substitute_names(store, draw, &changes);
    let selected = std::mem::take(&mut m.selected);
    let mut unstaffed: HashMap<&str, Option<String>> = selected
        .iter()
        .map(|s| (s.target_id.as_str(), s.unstaffed.clone()))
        .collect();
    let mut out = Vec::with_capacity(selected.len());
    for s in &selected {
        // The visit standing for `s`: itself, or the last substitute of its line.
        let mut at = s.target_id.as_str();
        let mut visit = state.visits.iter().find(|v| v.target_id == at);
        while let Some(v) = visit
            && let Some(Some(by)) = &v.replaced
        {
            let reason = unstaffed.get(at).cloned().flatten();
            unstaffed.insert(by.as_str(), reason);
            at = by.as_str();
            visit = state.visits.iter().rev().find(|v| v.target_id == at);
        }
        let Some(v) = visit.filter(|v| v.replaced.is_none()) else {
            continue;
        };
        out.push(Visit {
            target_name: names
                .get(&v.target_id)
                .cloned()
                .unwrap_or_else(|| s.target_name.clone()),
            target_id: v.target_id.clone(),
            team: v.team.clone(),
            unstaffed: unstaffed.get(at).cloned().flatten(),
        });
    }
    let out_of_scope = selected.len() - out.len();
    Ok((out, out_of_scope))
}

/// A drawn target's standing from its results: complete when every checklist item of `items`
/// has one, inspected on the latest of their dates, its publication due on the day `deadline`
/// gives for that one (the matter's working days later), published when every result is.
fn target_ledger(
    s: Visit,
    results: Vec<LedgerResult>,
    items: &[String],
    deadline: &mut dyn FnMut(NaiveDate) -> Result<NaiveDate, CalendarError>,
) -> Result<TargetLedger, CalendarError> {
    let complete = !items.is_empty()
        && items.iter().all(|i| {
            results
                .iter()
                .any(|r| r.checklist_item.as_deref() == Some(i.as_str()))
        });
    let inspection_end = results.iter().filter_map(|r| r.inspection_date).max();
    let deadline = match (complete, inspection_end) {
        (true, Some(end)) => Some(deadline(end)?),
        _ => None,
    };
    let published_on = if complete && results.iter().all(|r| r.published) {
        results.iter().filter_map(|r| r.published_on).max()
    } else {
        None
    };
    Ok(TargetLedger {
        target_id: s.target_id,
        target_name: s.target_name,
        team: s.team,
        unstaffed: s.unstaffed,
        results,
        complete,
        inspection_end,
        deadline,
        published_on,
    })
}

/// [`ledgers`] one draw at a time, in the same order, each handed to `each` and let go before
/// the next is read: a national draw's ledger holds its manifest read (hundreds of megabytes),
/// so a year of such draws is never held at once.
pub fn each_ledger<E: From<LedgerError>>(
    store: &dyn ResultStore,
    model: &Model,
    cal: &Calendar,
    filter: &DrawFilter,
    each: &mut dyn FnMut(DrawLedger) -> Result<(), E>,
) -> Result<(), E> {
    let mut heads = store
        .list_draw_heads(filter)
        .map_err(|e| E::from(LedgerError::from(e)))?;
    // A `YYYY-MM-DD` day sorts as its date (one that does not parse fails its ledger).
    heads.sort_by(|a, b| (a.issue_date.as_str(), a.id).cmp(&(b.issue_date.as_str(), b.id)));
    for head in heads {
        let draw = store
            .draw(head.id)
            .map_err(|e| E::from(LedgerError::from(e)))?;
        // Listed, then gone: the records changed meanwhile; it is not the listed draw's.
        let Some(draw) = draw else { continue };
        each(draw_ledger(store, model, cal, draw)?)?;
    }
    Ok(())
}

/// [`ledgers`] that `keep` keeps, each read one at a time and kept without its manifest's
/// selection and substitutes ([`DrawLedger::without_lists`]): what the commands that hold
/// every draw's ledger (the year's figures, `publish`, the credit export) hold, a national
/// draw's lists being hundreds of megabytes once read.
pub fn ledgers_without_lists(
    store: &dyn ResultStore,
    model: &Model,
    cal: &Calendar,
    filter: &DrawFilter,
    keep: &dyn Fn(&DrawLedger) -> bool,
) -> Result<Vec<DrawLedger>, LedgerError> {
    let mut all = Vec::new();
    each_ledger(store, model, cal, filter, &mut |l| -> Result<
        (),
        LedgerError,
    > {
        if keep(&l) {
            all.push(l.without_lists());
        }
        Ok(())
    })?;
    Ok(all)
}

/// Ledgers of every active draw matching `filter`, in date order (issue date, then draw
/// number): the order every list people read follows.
pub fn ledgers(
    store: &dyn ResultStore,
    model: &Model,
    cal: &Calendar,
    filter: &DrawFilter,
) -> Result<Vec<DrawLedger>, LedgerError> {
    let mut all = Vec::new();
    each_ledger(store, model, cal, filter, &mut |l| -> Result<
        (),
        LedgerError,
    > {
        all.push(l);
        Ok(())
    })?;
    Ok(all)
}
