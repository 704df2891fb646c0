//! Where things stand (`suiji status`): per matter the last and next draw and any problem;
//! results due for publication and everything overdue.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{Datelike, NaiveDate, NaiveDateTime};

use super::service::{Service, Unscheduled, due, next_wake, year_start};
use super::{Context, SetupError};
use crate::calendar::CalendarError;
use crate::diag::{Fault, Problem, Report};
use crate::results::ledger::{DrawLedger, LedgerError, State, each_ledger};
use crate::store::{
    DrawFilter, DrawHead, EventFilter, EventRow, Records, SchedulerEvent, StoreError,
};

/// As of when, and how far ahead to look for publication deadlines.
#[derive(Debug, Clone)]
pub struct Input {
    /// The moment the status speaks for (the end of a past day, or now).
    pub now: NaiveDateTime,
    /// Results whose publication deadline falls within this many working days are listed.
    pub within: u32,
}

/// One matter's line.
#[derive(Debug, Clone)]
pub struct MatterStatus {
    pub matter: String,
    /// "#3 2023-H1 on 2023-01-03".
    pub last: Option<String>,
    /// "2023-H2 on 2023-07-03".
    pub next: Option<String>,
    /// "OVERDUE …", "FAILED …", "MISSED …".
    pub problems: Vec<String>,
    /// The last draw as data: id, period, issue date.
    pub last_draw: Option<(i64, String, String)>,
    /// The next draw as data: period, issue date.
    pub next_draw: Option<(String, NaiveDate)>,
    /// Draws due and not issued: period, issue date.
    pub overdue: Vec<(String, NaiveDate)>,
    /// Draws the service tried and failed: period, when, the first line of why.
    pub failed: Vec<(String, String, String)>,
    /// Periods of this year that ended before the service could draw them: period, when it
    /// was recorded, the first line of why.
    pub missed: Vec<(String, String, String)>,
    /// Draws due and not drawn that wait for a public source: period, issue date, what they
    /// wait for (not overdue: they are drawn once the value is announced).
    pub waiting: Vec<WaitingDraw>,
}

/// A due draw the service does not make: it waits for a public source (`Waiting`).
#[derive(Debug, Clone)]
pub struct WaitingDraw {
    pub period: String,
    pub issue_date: NaiveDate,
    /// What it waits for and what to do, as the command line says it.
    pub why: String,
    /// The commitment waiting for its value; none when nobody has committed yet (`[seed]
    /// source = "public"`).
    pub commitment: Option<crate::store::Commitment>,
}

/// One line of the publication section.
#[derive(Debug, Clone)]
pub enum PublicationLine {
    /// Inspected targets whose publication deadline passed.
    Overdue {
        draw: String,
        draw_id: i64,
        targets: usize,
        first: NaiveDate,
    },
    /// Drawn targets without complete results after the draw's due date.
    NotInspected {
        draw: String,
        draw_id: i64,
        targets: usize,
        drawn: usize,
        due: NaiveDate,
    },
    /// Drawn targets with no team.
    Unstaffed {
        draw: String,
        draw_id: i64,
        targets: usize,
    },
    /// Inspected targets to publish soon.
    Due {
        draw: String,
        draw_id: i64,
        targets: usize,
        first: NaiveDate,
        /// None when the calendar does not reach that far.
        working_days_left: Option<u32>,
    },
}

impl PublicationLine {
    pub(crate) fn is_overdue(&self) -> bool {
        !matches!(self, PublicationLine::Due { .. })
    }
}

/// Where everything stands.
#[derive(Debug, Clone)]
pub struct Status {
    pub now: NaiveDateTime,
    pub matters: Vec<MatterStatus>,
    pub within: u32,
    pub publication: Vec<PublicationLine>,
    /// Inspected targets due for publication later.
    pub later: usize,
    /// Targets awaiting inspection.
    pub awaiting_inspection: usize,
    /// Years (or matters of a year) whose draws cannot be scheduled, and why: the service
    /// will not issue them until the reason is gone.
    pub unscheduled: Vec<Unscheduled>,
    /// Why working days could not be counted to the publication horizon (the calendar ends
    /// before it): every result awaiting publication is then listed.
    pub horizon_unknown: Option<String>,
}

/// The publication section of a [`Status`]: what it says depends on the day, the database,
/// the rules and the calendar, not on the time of day.
#[derive(Debug, Clone, Default)]
pub struct Publication {
    pub lines: Vec<PublicationLine>,
    /// Inspected targets due for publication later.
    pub later: usize,
    /// Targets awaiting inspection.
    pub awaiting_inspection: usize,
    /// Why working days could not be counted to the publication horizon.
    pub horizon_unknown: Option<String>,
}

impl MatterStatus {
    fn new(
        matter: String,
        last_draw: Option<(i64, String, String)>,
        next_draw: Option<(String, NaiveDate)>,
        overdue: Vec<(String, NaiveDate)>,
        failed: Vec<(String, String, String)>,
    ) -> MatterStatus {
        let last = last_draw
            .as_ref()
            .map(|(id, period, date)| format!("#{id} {period} on {date}"));
        let next = next_draw.as_ref().map(|(p, d)| format!("{p} on {d}"));
        let mut problems: Vec<String> = overdue
            .iter()
            .map(|(p, d)| format!("OVERDUE {p} (due {d})"))
            .collect();
        problems.extend(
            failed
                .iter()
                .map(|(p, at, first)| format!("FAILED {p} at {at}: {first}")),
        );
        MatterStatus {
            matter,
            last,
            next,
            problems,
            last_draw,
            next_draw,
            overdue,
            failed,
            missed: Vec::new(),
            waiting: Vec::new(),
        }
    }
}

impl MatterStatus {
    /// The status with the periods that ended before they could be drawn (a problem each).
    fn with_missed(mut self, missed: Vec<(String, String, String)>) -> MatterStatus {
        self.problems.extend(
            missed
                .iter()
                .map(|(p, at, first)| format!("MISSED {p} at {at}: {first}")),
        );
        self.missed = missed;
        self
    }

    /// The status with the draws waiting for a public source (a problem each: someone must
    /// commit or enter the value).
    fn with_waiting(mut self, waiting: Vec<WaitingDraw>) -> MatterStatus {
        self.problems.extend(
            waiting
                .iter()
                .map(|w| format!("WAITING {} (due {}) {}", w.period, w.issue_date, w.why)),
        );
        self.waiting = waiting;
        self
    }
}

impl Status {
    /// The publication section, as [`run_with`] takes it back for another time of the same
    /// day.
    pub fn publication_part(&self) -> Publication {
        Publication {
            lines: self.publication.clone(),
            later: self.later,
            awaiting_inspection: self.awaiting_inspection,
            horizon_unknown: self.horizon_unknown.clone(),
        }
    }

    /// Problems needing attention: per matter, every overdue publication line, and every
    /// year that cannot be scheduled.
    pub fn problems(&self) -> usize {
        let matters: usize = self.matters.iter().map(|m| m.problems.len()).sum();
        matters
            + self.publication.iter().filter(|l| l.is_overdue()).count()
            + self.unscheduled.len()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error(transparent)]
    Setup(#[from] SetupError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Calendar(#[from] CalendarError),
}

impl Problem for StatusError {
    fn fault(&self) -> Fault {
        match self {
            StatusError::Setup(e) => e.fault(),
            _ => Fault::Failed,
        }
    }

    fn report(&self) -> Report {
        match self {
            StatusError::Setup(e) => e.report(),
            other => Report::error(crate::diag::chain(other), &[]),
        }
    }
}

/// Last and next draw per matter, failures and anything overdue, as of `input.now`.
pub fn run<S: Records>(
    config: &Path,
    cx: Context<S>,
    input: &Input,
) -> Result<Status, StatusError> {
    run_with(config, cx, input, None)
}

/// [`run`], with the publication section already known for `input.now`'s day and
/// `input.within` (see [`Status::publication_part`]): it depends on the day, not the time, so
/// a caller that asks every second need not build every draw's ledger again.
pub fn run_with<S: Records>(
    config: &Path,
    cx: Context<S>,
    input: &Input,
    known: Option<&Publication>,
) -> Result<Status, StatusError> {
    let now = input.now;
    let since = year_start(now.year());
    let part = match known {
        Some(p) => p.clone(),
        None => publication(&cx, now.date(), input.within)?,
    };
    let Context { loaded, cal, store } = cx;
    let ids: Vec<String> = loaded
        .model
        .matters_in_force()
        .map(|m| m.id.clone())
        .collect();
    let service = Service::new(
        config.to_path_buf(),
        loaded,
        cal,
        store.into_service(),
        "status",
        since,
    );
    let (schedule, unscheduled) = service.plan(now);
    // As of a past date, draws made after it do not count yet.
    let day = now.format("%Y-%m-%d").to_string();
    let made_by = |d: &DrawHead| d.created_at.get(..10).is_none_or(|c| c <= day.as_str());
    let mut done = service.done()?;
    for d in service.store.list_draw_heads(&DrawFilter::default())? {
        if !made_by(&d) {
            done.remove(&(d.matter, d.period));
        }
    }
    let overdue = due(&schedule, &done, since, now);
    let mut matters = Vec::new();
    for id in &ids {
        let mut draws = service.store.list_draw_heads(&DrawFilter {
            matter: Some(id.clone()),
            ..DrawFilter::default()
        })?;
        draws.retain(|d| made_by(d));
        let (last_draw, drawn_late) = last_draw(&draws);
        let only: Vec<_> = schedule
            .iter()
            .filter(|s| &s.matter == id)
            .cloned()
            .collect();
        let next_draw = next_wake(&only, &done, now)
            .and_then(|t| only.iter().find(|s| s.issue_at == t))
            .map(|s| (s.period.id.clone(), s.issue_date()));
        let (waiting, overdue_here) = split_waiting(&service, &overdue, id);
        let events = service.store.events(&EventFilter {
            matter: Some(id.clone()),
            ..EventFilter::default()
        })?;
        let failed = latest_failures(&events, &draws);
        let mut status = MatterStatus::new(id.clone(), last_draw, next_draw, overdue_here, failed);
        if let (Some(day), Some((id, period, on))) = (drawn_late, &status.last_draw) {
            status.last = Some(format!("#{id} {period} on {day} (补抽, scheduled {on})"));
        }
        matters.push(
            status
                .with_missed(missed(&events, now))
                .with_waiting(waiting),
        );
    }
    Ok(part.into_status(input, matters, unscheduled))
}

impl Publication {
    /// The whole status: the matters' lines, the years that cannot be scheduled, and this.
    fn into_status(
        self,
        input: &Input,
        matters: Vec<MatterStatus>,
        unscheduled: Vec<Unscheduled>,
    ) -> Status {
        Status {
            now: input.now,
            matters,
            within: input.within,
            publication: self.lines,
            later: self.later,
            awaiting_inspection: self.awaiting_inspection,
            unscheduled,
            horizon_unknown: self.horizon_unknown,
        }
    }
}

/// Matter `id`'s draws due and not drawn: those waiting for a public source (period, issue
/// date, what for), and the overdue others (period, issue date).
fn split_waiting(
    service: &Service,
    overdue: &[&crate::schedule::ScheduledDraw],
    id: &str,
) -> (Vec<WaitingDraw>, Vec<(String, NaiveDate)>) {
    let (mut waiting, mut late) = (Vec::new(), Vec::new());
    for o in overdue.iter().filter(|s| s.matter == id) {
        match service.waits_for(o) {
            Some(w) => waiting.push(WaitingDraw {
                period: o.period.id.clone(),
                issue_date: o.issue_date(),
                why: service.describe_waiting(&w, o),
                commitment: match w {
                    crate::jobs::service::Waiting::Value(k) => Some(*k),
                    crate::jobs::service::Waiting::Commitment => None,
                },
            }),
            None => late.push((o.period.id.clone(), o.issue_date())),
        }
    }
    (waiting, late)
}

/// A matter's last draw (id, period, scheduled day) among `draws`, and the day it was really
/// drawn when that is later than its scheduled day (补抽).
#[allow(clippy::type_complexity)]
fn last_draw(draws: &[DrawHead]) -> (Option<(i64, String, String)>, Option<String>) {
    let Some(d) = draws
        .iter()
        .max_by(|a, b| a.issue_date.cmp(&b.issue_date).then(a.id.cmp(&b.id)))
    else {
        return (None, None);
    };
    let late = d
        .created_at
        .get(..10)
        .filter(|day| *day > d.issue_date.as_str())
        .map(str::to_string);
    (Some((d.id, d.period.clone(), d.issue_date.clone())), late)
}

/// The periods of a matter whose draws failed and have no draw since: each once, with its
/// latest failure (a service or simulation that tries a failing draw again on each run
/// records a failure each time), and how many times it failed.
fn latest_failures(events: &[EventRow], draws: &[DrawHead]) -> Vec<(String, String, String)> {
    let mut by_period: BTreeMap<&str, (usize, &EventRow)> = BTreeMap::new();
    for e in events
        .iter()
        .filter(|e| e.event == SchedulerEvent::Failed)
        .filter(|e| !draws.iter().any(|d| d.period == e.period))
    {
        let entry = by_period.entry(e.period.as_str()).or_insert((0, e));
        entry.0 += 1;
        if e.at >= entry.1.at {
            entry.1 = e;
        }
    }
    let mut failed: Vec<(String, String, String)> = by_period
        .into_values()
        .map(|(times, e)| {
            let first = e.detail.lines().next().unwrap_or("");
            let first = match times {
                1 => first.to_string(),
                n => format!("{first} (failed {n} times)"),
            };
            (e.period.clone(), e.at.clone(), first)
        })
        .collect();
    failed.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
    failed
}

/// The last day of the publication horizon. Past the calendar's last year working days
/// cannot be counted: everything awaiting publication is listed then, rather than nothing,
/// with the reason.
fn horizon<S>(cx: &Context<S>, today: NaiveDate, within: u32) -> (NaiveDate, Option<String>) {
    match cx.cal.add_working_days(today, within) {
        Ok(h) => (h, None),
        Err(e) => (NaiveDate::MAX, Some(e.to_string())),
    }
}

/// Periods of this year that ended before the service could draw them (never drawn now), as
/// of `now`: period, when it was recorded, the first line of why.
fn missed(events: &[EventRow], now: NaiveDateTime) -> Vec<(String, String, String)> {
    let day = now.format("%Y-%m-%d").to_string();
    let year = now.year().to_string();
    let by_now = |at: &str| at.get(..10).is_none_or(|c| c <= day.as_str());
    events
        .iter()
        .filter(|e| {
            e.event == SchedulerEvent::Missed && e.period.starts_with(&year) && by_now(&e.at)
        })
        .map(|e| {
            let first = e.detail.lines().next().unwrap_or("");
            (e.period.clone(), e.at.clone(), first.to_string())
        })
        .collect()
}

/// The publication part: inspected results due for publication within `within` working
/// days, and everything overdue (an inspection not done by the draw's due date, a result not
/// published by its deadline, a target with no team).
fn publication<S: Records>(
    cx: &Context<S>,
    today: NaiveDate,
    within: u32,
) -> Result<Publication, StatusError> {
    let (horizon, horizon_unknown) = horizon(cx, today, within);
    let mut status = Publication {
        horizon_unknown,
        ..Publication::default()
    };
    // One draw's ledger at a time (a national draw's holds its manifest read).
    each_ledger(
        cx.store.records(),
        &cx.loaded.model,
        &cx.cal,
        &DrawFilter::default(),
        &mut |l: DrawLedger| -> Result<(), StatusError> {
            if l.issue_date <= today {
                add_draw(&mut status, &l, (today, horizon), &cx.cal);
            }
            Ok(())
        },
    )?;
    Ok(status)
}

/// The lines of the draw of ledger `l` (issued by `today`) and its counts, into `status`;
/// deadlines by `horizon` are due soon.
fn add_draw(
    status: &mut Publication,
    l: &DrawLedger,
    (today, horizon): (NaiveDate, NaiveDate),
    cal: &crate::calendar::Calendar,
) {
    let draw_id = l.draw.id;
    let (matter, period) = (&l.draw.record.matter, &l.draw.record.period);
    let draw = format!("#{draw_id} {matter} {period}");
    let mut due_soon: Vec<NaiveDate> = Vec::new();
    let mut late_pub: Vec<NaiveDate> = Vec::new();
    let (mut not_inspected, mut unstaffed) = (0, 0);
    for t in &l.targets {
        match t.state(l.due_date, today) {
            State::AwaitingPublication => match t.deadline {
                Some(d) if d <= horizon => due_soon.push(d),
                _ => status.later += 1,
            },
            State::PublicationOverdue => late_pub.extend(t.deadline),
            State::InspectionOverdue => not_inspected += 1,
            State::Unstaffed => unstaffed += 1,
            State::NotInspected | State::Partial => status.awaiting_inspection += 1,
            State::OnTime | State::Late => {}
        }
    }
    let lines = &mut status.lines;
    if let Some(first) = late_pub.iter().min() {
        let (draw, targets, first) = (draw.clone(), late_pub.len(), *first);
        lines.push(PublicationLine::Overdue {
            draw,
            draw_id,
            targets,
            first,
        });
    }
    if not_inspected > 0 {
        let (drawn, due) = (l.targets.len(), l.due_date);
        let (draw, targets) = (draw.clone(), not_inspected);
        lines.push(PublicationLine::NotInspected {
            draw,
            draw_id,
            targets,
            drawn,
            due,
        });
    }
    if unstaffed > 0 {
        let (draw, targets) = (draw.clone(), unstaffed);
        lines.push(PublicationLine::Unstaffed {
            draw,
            draw_id,
            targets,
        });
    }
    if let Some(first) = due_soon.iter().min() {
        let working_days_left = cal.working_days_between(today, *first).ok();
        let (targets, first) = (due_soon.len(), *first);
        lines.push(PublicationLine::Due {
            draw,
            draw_id,
            targets,
            first,
            working_days_left,
        });
    }
}

/// This year and the next when the holiday calendar has no official notice for them (dates
/// then come from a provisional calendar, or not at all).
pub fn missing_calendar_years(cal: &crate::calendar::Calendar, now: NaiveDateTime) -> Vec<i32> {
    let year = now.year();
    [year, year + 1]
        .into_iter()
        .filter(|y| !cal.is_official(*y))
        .collect()
}
