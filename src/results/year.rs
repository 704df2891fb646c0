//! The year's figures for the accountability report, all computed from the store (draws,
//! teams, exclusions, results, publications), the rules (required ratio, frequency, deadline)
//! and the calendar (the year's schedule, deadlines). Nothing is typed in.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{Datelike, NaiveDate};

use crate::calendar::Calendar;
use crate::rules::model::{Model, Ratio};
use crate::schedule::marks::DrawMarks;
use crate::schedule::{DrawKind, ScheduledDraw, year_schedule};
use crate::store::{
    DrawFilter, DrawRow, EntityKind, EventFilter, ExclusionRow, RecordStore, SchedulerEvent,
    StoreError,
};

use super::ledger::{DrawLedger, LedgerError, State, TargetLedger, ledgers_without_lists};

/// Inspector exclusion reasons that are 回避 (conflicts of interest).
pub(crate) const CONFLICT_REASONS: [&str; 2] = ["declared_conflict", "hook_conflict"];

/// Targets by where they stand.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Targets the draws selected.
    pub drawn: usize,
    /// Of them, marked out of scope after the draw without a substitute (不在范围): not to be
    /// inspected, and counted in none of the figures below.
    pub out_of_scope: usize,
    pub unstaffed: usize,
    /// A result for every checklist item.
    pub inspected: usize,
    /// Inspected, but finished after the draw's due date.
    pub inspected_after_due: usize,
    pub on_time: usize,
    pub late: usize,
    /// Neither done nor yet overdue.
    pub pending: usize,
    /// Not published and overdue (not inspected, not published, or no team): not done.
    pub missing: usize,
}

impl Counts {
    fn add_target(&mut self, t: &TargetLedger, state: State, due: NaiveDate, as_of: NaiveDate) {
        self.drawn += 1;
        if state == State::Unstaffed {
            self.unstaffed += 1;
        }
        if t.inspected_by(as_of) {
            self.inspected += 1;
            if t.inspection_end.is_some_and(|d| d > due) {
                self.inspected_after_due += 1;
            }
        }
        match state {
            State::OnTime => self.on_time += 1,
            State::Late => self.late += 1,
            s if s.is_pending() => self.pending += 1,
            _ => self.missing += 1,
        }
    }

    fn add(&mut self, o: &Counts) {
        self.drawn += o.drawn;
        self.out_of_scope += o.out_of_scope;
        self.unstaffed += o.unstaffed;
        self.inspected += o.inspected;
        self.inspected_after_due += o.inspected_after_due;
        self.on_time += o.on_time;
        self.late += o.late;
        self.pending += o.pending;
        self.missing += o.missing;
    }

    /// Published, on time or late: what counts as done.
    pub fn done(&self) -> usize {
        self.on_time + self.late
    }

    /// The targets to inspect: those drawn but for those marked out of scope since.
    pub fn to_inspect(&self) -> usize {
        self.drawn - self.out_of_scope
    }

    /// Done of those to inspect, when there are any.
    pub fn rate(&self) -> Option<f64> {
        let n = self.to_inspect();
        (n > 0).then(|| self.done() as f64 / n as f64)
    }
}

#[derive(Debug, Clone)]
pub struct DrawFigures {
    pub draw_id: i64,
    pub draw_ref: String,
    pub matter: String,
    pub matter_name: String,
    pub period: String,
    /// `regular` or `holiday:<id>`.
    pub kind: String,
    pub issue_date: NaiveDate,
    pub due_date: NaiveDate,
    pub ratio: Ratio,
    pub key_area_only: bool,
    /// Eligible targets (all strata).
    pub eligible: usize,
    /// Targets the ratio called for (all strata).
    pub required: usize,
    pub counts: Counts,
    pub publications: usize,
    /// When it was really drawn, late (补抽), provisional (临时).
    pub marks: DrawMarks,
}

impl DrawFigures {
    pub(crate) fn is_holiday(&self) -> bool {
        self.kind.starts_with("holiday")
    }
}

#[derive(Debug, Clone)]
pub struct MatterFigures {
    pub department: String,
    pub matter: String,
    pub name: String,
    /// Required ratio: the one the year's latest regular draw was made under (its manifest's),
    /// else the rules' (`None` when the matter left the rules).
    pub ratio: Option<Ratio>,
    pub frequency: String,
    pub deadline_working_days: u32,
    pub regular_scheduled: usize,
    pub regular_drawn: usize,
    pub holiday_scheduled: usize,
    pub holiday_drawn: usize,
    /// Over the regular draws: eligible targets and targets done (published).
    pub regular_eligible: usize,
    pub regular_done: usize,
    /// `regular_done / regular_eligible`.
    pub achieved_ratio: Option<f64>,
    /// Every scheduled regular draw was made and each published at least its ratio.
    pub met: bool,
    /// A matter whose rules require 100%.
    pub full_coverage: bool,
    /// Distinct targets in scope (the largest eligible count of its regular draws).
    pub population: usize,
    /// Distinct targets done in its regular draws.
    pub covered: usize,
    /// Every draw of the matter.
    pub counts: Counts,
}

#[derive(Debug, Clone)]
pub struct DepartmentFigures {
    pub id: String,
    pub name: String,
    pub matters: Vec<MatterFigures>,
    pub counts: Counts,
}

/// A holiday-intensified draw the rules call for, and what became of it.
#[derive(Debug, Clone)]
pub struct HolidayFigures {
    pub matter: String,
    pub matter_name: String,
    pub holiday: String,
    pub period: String,
    /// Scheduled issue date (`None` for a draw the current rules no longer schedule).
    pub scheduled: Option<NaiveDate>,
    pub draw_id: Option<i64>,
    pub issued: Option<NaiveDate>,
    pub counts: Counts,
}

#[derive(Debug, Clone)]
pub struct ExclusionFigure {
    pub draw_id: i64,
    pub matter: String,
    pub matter_name: String,
    pub period: String,
    pub entity_id: String,
    pub reason: String,
    pub detail: String,
}

#[derive(Debug, Clone)]
pub struct UnstaffedFigure {
    pub draw_id: i64,
    pub matter: String,
    pub matter_name: String,
    pub period: String,
    pub target_id: String,
    pub target_name: String,
    pub reason: String,
}

#[derive(Debug, Clone)]
pub struct Workload {
    pub inspector_id: String,
    pub inspector_name: String,
    /// Drawn targets assigned over the year.
    pub targets: usize,
}

#[derive(Debug, Clone)]
pub struct YearFigures {
    pub year: i32,
    /// Made from a simulation database (模拟): its times are simulated.
    pub simulation: bool,
    pub as_of: NaiveDate,
    pub bureau: String,
    pub departments: Vec<DepartmentFigures>,
    pub draws: Vec<DrawFigures>,
    pub holidays: Vec<HolidayFigures>,
    /// 回避: inspectors left off a target's team for a conflict of interest.
    pub conflicts: Vec<ExclusionFigure>,
    /// Every inspector exclusion, by reason code.
    pub inspector_exclusions: BTreeMap<String, usize>,
    /// Every target exclusion (cooldown, yearly cap, deregistered, …), by reason code.
    pub target_exclusions: BTreeMap<String, usize>,
    pub unstaffed: Vec<UnstaffedFigure>,
    /// Draws issued per month, January first.
    pub draws_per_month: [usize; 12],
    /// Every inspector on a team this year, most loaded first.
    pub workload: Vec<Workload>,
    /// Item results per national category, in the national order.
    pub categories: Vec<(String, usize)>,
    pub totals: Counts,
    /// Matters the year's schedule could not be computed for.
    pub schedule_problems: Vec<String>,
    /// Draws of the year never made: their period had ended when the service first saw them.
    pub missed: Vec<MissedDraw>,
    /// Changes made after the year's draws (替补, 不在范围, 人员调整), in the order made.
    pub changes: Vec<ChangeFigure>,
}

/// A change made after a draw of the year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeFigure {
    pub draw_id: i64,
    pub matter_name: String,
    pub period: String,
    /// `target` or `inspector`.
    pub kind: String,
    /// The change names a replacement (a target marked out of scope does not).
    pub replaced: bool,
    pub cause: String,
}

/// The changes recorded so far after `draws` (a change is dated by the real clock, so a report
/// of a simulated year counts the changes made on its draws whenever they were made).
fn change_figures(
    store: &dyn RecordStore,
    draws: &[DrawFigures],
) -> Result<Vec<ChangeFigure>, StoreError> {
    Ok(store
        .all_changes()?
        .into_iter()
        .filter_map(|c| {
            let d = draws.iter().find(|d| d.draw_id == c.draw_id)?;
            Some(ChangeFigure {
                draw_id: c.draw_id,
                matter_name: d.matter_name.clone(),
                period: d.period.clone(),
                replaced: c.replacement.is_some(),
                kind: c.kind,
                cause: c.cause,
            })
        })
        .collect())
}

/// A draw of the year recorded as missed by the service, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissedDraw {
    pub matter: String,
    pub matter_name: String,
    pub period: String,
    /// When the service recorded it.
    pub at: String,
    pub reason: String,
}

/// The year's draws the service recorded as missed by `as_of`.
fn missed_draws(
    store: &dyn RecordStore,
    model: &Model,
    year: i32,
    as_of: NaiveDate,
) -> Result<Vec<MissedDraw>, StoreError> {
    let (year, day) = (year.to_string(), as_of.to_string());
    Ok(store
        .events(&EventFilter::default())?
        .into_iter()
        .filter(|e| {
            e.event == SchedulerEvent::Missed
                && e.period.starts_with(&year)
                && e.at.get(..10).is_none_or(|d| d <= day.as_str())
        })
        .map(|e| MissedDraw {
            matter_name: model
                .matter(&e.matter)
                .map_or_else(|| e.matter.clone(), |m| m.name.clone()),
            matter: e.matter,
            period: e.period,
            at: e.at,
            reason: e.detail,
        })
        .collect())
}

/// Computes the year's figures as they stand on `as_of`.
pub fn year_figures(
    store: &dyn RecordStore,
    model: &Model,
    cal: &Calendar,
    year: i32,
    as_of: NaiveDate,
) -> Result<YearFigures, LedgerError> {
    year_figures_of(store, model, cal, year, as_of, &|_| true)
}

/// As [`year_figures`], for the departments `keep` lets through only (by department id): their
/// matters, their draws and their missed periods.
pub fn year_figures_of(
    store: &dyn RecordStore,
    model: &Model,
    cal: &Calendar,
    year: i32,
    as_of: NaiveDate,
    keep: &dyn Fn(&str) -> bool,
) -> Result<YearFigures, LedgerError> {
    let full = model;
    let scoped;
    let model = if full.departments.iter().all(|d| keep(&d.id)) {
        full
    } else {
        let mut m = full.clone();
        m.departments.retain(|d| keep(&d.id));
        scoped = m;
        &scoped
    };
    // Draws issued after `as_of` had not happened yet.
    let all = ledgers_without_lists(store, full, cal, &DrawFilter::year(year), &|l| {
        l.issue_date <= as_of && keep(&l.department)
    })?;
    let (schedule, problems) = year_schedule(model, cal, year);
    let schedule_problems = problems
        .iter()
        .map(|p| {
            format!(
                "{}：{}",
                crate::rules::names::matter_name(model, &p.matter),
                p.error
            )
        })
        .collect();

    let mut tally = Tally::default();
    for l in &all {
        tally.add_draw(store, l, year, as_of)?;
    }
    let departments = department_figures(model, &schedule, &tally.per_matter, as_of);
    let changes = change_figures(store, &tally.draws)?;
    let holidays = holiday_figures(model, &schedule, &all, as_of);

    Ok(YearFigures {
        simulation: store.is_simulation()?,
        year,
        as_of,
        bureau: model.config.bureau.name.clone(),
        departments,
        draws: tally.draws,
        holidays,
        conflicts: tally.conflicts,
        inspector_exclusions: tally.inspector_exclusions,
        target_exclusions: tally.target_exclusions,
        unstaffed: tally.unstaffed,
        draws_per_month: tally.draws_per_month,
        workload: sorted_workload(tally.workload),
        categories: category_figures(tally.category_counts),
        totals: tally.totals,
        schedule_problems,
        changes,
        missed: missed_draws(store, full, year, as_of)?
            .into_iter()
            .filter(|m| keep(full.matter(&m.matter).map_or("", |x| x.department.as_str())))
            .collect(),
    })
}

/// The figures summed over the year's draws, one draw at a time.
#[derive(Default)]
struct Tally<'a> {
    draws: Vec<DrawFigures>,
    per_matter: BTreeMap<String, Vec<(&'a DrawLedger, DrawFigures)>>,
    totals: Counts,
    draws_per_month: [usize; 12],
    workload: HashMap<String, Workload>,
    category_counts: HashMap<String, usize>,
    conflicts: Vec<ExclusionFigure>,
    inspector_exclusions: BTreeMap<String, usize>,
    target_exclusions: BTreeMap<String, usize>,
    unstaffed: Vec<UnstaffedFigure>,
}

impl<'a> Tally<'a> {
    fn add_draw(
        &mut self,
        store: &dyn RecordStore,
        l: &'a DrawLedger,
        year: i32,
        as_of: NaiveDate,
    ) -> Result<(), LedgerError> {
        let d = &l.draw;
        let counts = self.add_targets(l, as_of);
        self.totals.add(&counts);
        if let Some(m) = usize::try_from(l.issue_date.month0())
            .ok()
            .filter(|_| l.issue_date.year() == year)
        {
            self.draws_per_month[m] += 1;
        }
        self.add_workload(store, l)?;
        for x in store.draw_exclusions(d.id)? {
            self.add_exclusion(d, &l.matter_name, x);
        }
        let f = draw_figures(l, counts);
        self.draws.push(f.clone());
        self.per_matter
            .entry(d.record.matter.clone())
            .or_default()
            .push((l, f));
        Ok(())
    }

    /// Counts the targets each inspector's teams visit, as the changes after the draw left
    /// them (an inspector who took a member's place counted, the member not).
    fn add_workload(&mut self, store: &dyn RecordStore, l: &DrawLedger) -> Result<(), StoreError> {
        let mut names: HashMap<String, String> = store
            .draw_teams(l.draw.id)?
            .into_iter()
            .map(|m| (m.inspector_id, m.inspector_name))
            .collect();
        let unnamed: HashSet<&str> = l
            .targets
            .iter()
            .flat_map(|t| &t.team)
            .map(String::as_str)
            .filter(|id| !names.contains_key(*id))
            .collect();
        names.extend(super::inspector_names(store, &l.draw, &unnamed));
        for id in l.targets.iter().flat_map(|t| &t.team) {
            match self.workload.get_mut(id) {
                Some(w) => w.targets += 1,
                None => {
                    let w = Workload {
                        inspector_id: id.clone(),
                        inspector_name: names.get(id).cloned().unwrap_or_else(|| id.clone()),
                        targets: 1,
                    };
                    self.workload.insert(id.clone(), w);
                }
            }
        }
        Ok(())
    }

    /// Counts the draw's targets (and their results' categories and unstaffed targets).
    fn add_targets(&mut self, l: &DrawLedger, as_of: NaiveDate) -> Counts {
        let d = &l.draw;
        let mut counts = Counts::default();
        for t in &l.targets {
            counts.add_target(t, t.state(l.due_date, as_of), l.due_date, as_of);
            for r in &t.results {
                match self.category_counts.get_mut(&*r.category) {
                    Some(n) => *n += 1,
                    None => {
                        self.category_counts.insert(r.category.to_string(), 1);
                    }
                }
            }
            if let Some(reason) = &t.unstaffed {
                self.unstaffed.push(UnstaffedFigure {
                    draw_id: d.id,
                    matter: d.record.matter.clone(),
                    matter_name: l.matter_name.clone(),
                    period: d.record.period.clone(),
                    target_id: t.target_id.clone(),
                    target_name: t.target_name.clone(),
                    reason: reason.clone(),
                });
            }
        }
        counts.drawn += l.out_of_scope;
        counts.out_of_scope += l.out_of_scope;
        counts
    }

    fn add_exclusion(&mut self, d: &DrawRow, matter_name: &str, x: ExclusionRow) {
        match x.entity_kind {
            EntityKind::Inspector => {
                *self
                    .inspector_exclusions
                    .entry(x.reason_code.clone())
                    .or_default() += 1;
                if CONFLICT_REASONS.contains(&x.reason_code.as_str()) {
                    self.conflicts.push(ExclusionFigure {
                        draw_id: d.id,
                        matter: d.record.matter.clone(),
                        matter_name: matter_name.to_string(),
                        period: d.record.period.clone(),
                        entity_id: x.entity_id,
                        reason: x.reason_code,
                        detail: x.detail,
                    });
                }
            }
            EntityKind::Target => {
                let n = exclusion_count(&x);
                *self.target_exclusions.entry(x.reason_code).or_default() += n;
            }
        }
    }
}

/// Excluded targets above which the database keeps only their count per reason and the draw's
/// folder lists them in `exclusions.csv` (the manifest lists them all either way).
pub const EXCLUSIONS_LISTED_UP_TO: usize = 10_000;

/// The end of the detail of a stored row that counts excluded targets (after the count).
pub const EXCLUSIONS_SUMMARISED: &str = "户（名单见 exclusions.csv）";

/// The id of a stored row that counts excluded targets.
pub const EXCLUSIONS_SUMMARY_ID: &str = "*";

/// How many excluded targets a stored exclusion row stands for: the count in a summary row
/// (the id `*`, the detail `<n> 户（名单见 exclusions.csv）`), else 1.
pub fn exclusion_count(row: &ExclusionRow) -> usize {
    if row.entity_id != EXCLUSIONS_SUMMARY_ID {
        return 1;
    }
    row.detail
        .strip_suffix(EXCLUSIONS_SUMMARISED)
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(1)
}

fn draw_figures(l: &DrawLedger, counts: Counts) -> DrawFigures {
    let d = &l.draw;
    DrawFigures {
        draw_id: d.id,
        draw_ref: l.draw_ref.clone(),
        matter: d.record.matter.clone(),
        matter_name: l.matter_name.clone(),
        period: d.record.period.clone(),
        kind: l.manifest.kind.clone(),
        marks: l.marks.clone(),
        issue_date: l.issue_date,
        due_date: l.due_date,
        ratio: Ratio::from_ppm(l.manifest.ratio_ppm).unwrap_or(Ratio::FULL),
        key_area_only: l.manifest.key_area_only,
        eligible: l.manifest.strata.iter().map(|s| s.eligible).sum(),
        required: l.manifest.strata.iter().map(|s| s.k).sum(),
        counts,
        publications: l.publications.len(),
    }
}

type PerMatter<'a> = BTreeMap<String, Vec<(&'a DrawLedger, DrawFigures)>>;

/// Matters: those in the rules (in plan order), then any the store has that left the rules.
fn department_figures(
    model: &Model,
    schedule: &[ScheduledDraw],
    per_matter: &PerMatter<'_>,
    as_of: NaiveDate,
) -> Vec<DepartmentFigures> {
    let mut departments: Vec<DepartmentFigures> = Vec::new();
    let mut seen = BTreeSet::new();
    for dep in &model.departments {
        let mut matters = Vec::new();
        // A joint plan counts in every department taking part (its visits are theirs too).
        let joints = model.joints.iter().filter(|j| {
            j.joint
                .as_ref()
                .is_some_and(|x| x.departments.contains(&dep.id))
        });
        for m in dep.matters.iter().chain(joints) {
            seen.insert(m.id.clone());
            let regular_scheduled = schedule
                .iter()
                .filter(|s| s.matter == m.id && s.kind == DrawKind::Regular)
                .count();
            let holiday_scheduled = schedule
                .iter()
                .filter(|s| s.matter == m.id && matches!(s.kind, DrawKind::Holiday(_)))
                .count();
            let name = if m.joint.is_some() {
                format!("【联合抽查】{}", m.name)
            } else {
                m.name.clone()
            };
            matters.push(matter_figures(
                &dep.id,
                &m.id,
                &name,
                Some(m.ratio),
                m.frequency.label_zh(),
                m.publication.deadline_working_days,
                regular_scheduled,
                holiday_scheduled,
                per_matter.get(&m.id).map_or(&[][..], Vec::as_slice),
                as_of,
            ));
        }
        departments.push(department(dep.id.clone(), dep.name.clone(), matters));
    }
    let leftovers: Vec<&String> = per_matter.keys().filter(|m| !seen.contains(*m)).collect();
    if !leftovers.is_empty() {
        let matters = leftovers
            .into_iter()
            .map(|id| leftover_matter(id, per_matter, as_of))
            .collect();
        departments.push(department(
            String::new(),
            "（现行规则中已无的事项）".into(),
            matters,
        ));
    }
    departments
}

/// A matter the store has draws of that is no longer in the rules.
fn leftover_matter(id: &String, per_matter: &PerMatter<'_>, as_of: NaiveDate) -> MatterFigures {
    let rows = per_matter.get(id).map_or(&[][..], Vec::as_slice);
    let (name, dep, days) = rows.first().map_or_else(
        || (id.clone(), String::new(), 0),
        |(l, _)| {
            (
                l.matter_name.clone(),
                l.department.clone(),
                l.deadline_working_days,
            )
        },
    );
    matter_figures(
        &dep,
        id,
        &name,
        None,
        "（现行规则中已无此事项）".into(),
        days,
        0,
        0,
        rows,
        as_of,
    )
}

fn department(id: String, name: String, matters: Vec<MatterFigures>) -> DepartmentFigures {
    let mut counts = Counts::default();
    for m in &matters {
        counts.add(&m.counts);
    }
    DepartmentFigures {
        id,
        name,
        matters,
        counts,
    }
}

/// Holiday-intensified draws: every one the schedule calls for, and any recorded besides.
fn holiday_figures(
    model: &Model,
    schedule: &[ScheduledDraw],
    all: &[DrawLedger],
    as_of: NaiveDate,
) -> Vec<HolidayFigures> {
    let mut holidays = Vec::new();
    let mut listed = BTreeSet::new();
    for s in schedule
        .iter()
        .filter(|s| matches!(s.kind, DrawKind::Holiday(_)))
    {
        let DrawKind::Holiday(h) = s.kind else {
            continue;
        };
        listed.insert((s.matter.clone(), s.period.id.clone()));
        let drawn = all
            .iter()
            .find(|l| l.draw.record.matter == s.matter && l.draw.record.period == s.period.id);
        holidays.push(holiday_row(
            &s.matter,
            model
                .matter(&s.matter)
                .map_or(s.matter.as_str(), |m| m.name.as_str()),
            h.name_zh(),
            &s.period.id,
            Some(s.issue_date()),
            drawn,
            as_of,
        ));
    }
    for l in all
        .iter()
        .filter(|l| l.manifest.kind.starts_with("holiday"))
    {
        if listed.contains(&(l.draw.record.matter.clone(), l.draw.record.period.clone())) {
            continue;
        }
        let id = l.manifest.kind.trim_start_matches("holiday:");
        let name = crate::calendar::Holiday::parse(id).map_or(id, |h| h.name_zh());
        holidays.push(holiday_row(
            &l.draw.record.matter,
            &l.matter_name,
            name,
            &l.draw.record.period,
            None,
            Some(l),
            as_of,
        ));
    }
    holidays
}

/// Inspectors, most loaded first.
fn sorted_workload(workload: HashMap<String, Workload>) -> Vec<Workload> {
    let mut workload: Vec<Workload> = workload.into_values().collect();
    workload.sort_by(|a, b| {
        b.targets
            .cmp(&a.targets)
            .then(a.inspector_id.cmp(&b.inspector_id))
    });
    workload
}

/// Item results per category: the national ones in their order, then any others sorted.
fn category_figures(mut category_counts: HashMap<String, usize>) -> Vec<(String, usize)> {
    let mut categories: Vec<(String, usize)> = super::RESULT_CATEGORIES
        .iter()
        .map(|c| (c.to_string(), category_counts.remove(*c).unwrap_or(0)))
        .collect();
    let mut other: Vec<(String, usize)> = category_counts.into_iter().collect();
    other.sort();
    categories.extend(other);
    categories
}

fn holiday_row(
    matter: &str,
    matter_name: &str,
    holiday: &str,
    period: &str,
    scheduled: Option<NaiveDate>,
    drawn: Option<&DrawLedger>,
    as_of: NaiveDate,
) -> HolidayFigures {
    let mut counts = Counts::default();
    if let Some(l) = drawn {
        for t in &l.targets {
            counts.add_target(t, t.state(l.due_date, as_of), l.due_date, as_of);
        }
    }
    HolidayFigures {
        matter: matter.to_string(),
        matter_name: matter_name.to_string(),
        holiday: holiday.to_string(),
        period: period.to_string(),
        scheduled,
        draw_id: drawn.map(|l| l.draw.id),
        issued: drawn.map(|l| l.issue_date),
        counts,
    }
}

#[allow(clippy::too_many_arguments)]
fn matter_figures(
    department: &str,
    id: &str,
    name: &str,
    ratio: Option<Ratio>,
    frequency: String,
    deadline_working_days: u32,
    regular_scheduled: usize,
    holiday_scheduled: usize,
    rows: &[(&DrawLedger, DrawFigures)],
    as_of: NaiveDate,
) -> MatterFigures {
    let mut counts = Counts::default();
    let mut regular_eligible = 0;
    let mut regular_done = 0;
    let mut regular_drawn = 0;
    let mut holiday_drawn = 0;
    let mut population = 0;
    let mut covered = BTreeSet::new();
    let mut each_met = true;
    for (l, f) in rows {
        counts.add(&f.counts);
        if f.is_holiday() {
            holiday_drawn += 1;
            continue;
        }
        regular_drawn += 1;
        regular_eligible += f.eligible;
        regular_done += f.counts.done();
        population = population.max(f.eligible);
        for t in &l.targets {
            if t.state(l.due_date, as_of).is_published() {
                covered.insert(t.target_id.clone());
            }
        }
        // What the draw's own rules called for (its strata's k, as recorded), not what the
        // rules say now: a ratio raised later does not fail a year already drawn.
        if f.counts.done() < f.required {
            each_met = false;
        }
    }
    // The ratio shown is the one the year's latest regular draw was made under; the rules'
    // only for a matter not drawn yet.
    let ratio = ratio.map(|now| {
        rows.iter()
            .rev()
            .find(|(_, f)| !f.is_holiday())
            .map_or(now, |(_, f)| f.ratio)
    });
    let achieved_ratio =
        (regular_eligible > 0).then(|| regular_done as f64 / regular_eligible as f64);
    MatterFigures {
        department: department.to_string(),
        matter: id.to_string(),
        name: name.to_string(),
        ratio,
        frequency,
        deadline_working_days,
        regular_scheduled,
        regular_drawn,
        holiday_scheduled,
        holiday_drawn,
        regular_eligible,
        regular_done,
        achieved_ratio,
        met: each_met && regular_drawn >= regular_scheduled && ratio.is_some(),
        full_coverage: ratio.is_some_and(Ratio::is_full),
        population,
        covered: covered.len(),
        counts,
    }
}
