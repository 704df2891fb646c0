//! Where things stand (`suiji status`): per matter the last and next draw and any problem;
//! results due for publication and everything overdue.

use std::path::Path;

use chrono::{Datelike, NaiveDate, NaiveDateTime};

use super::service::{Service, due, next_wake, year_start};
use super::{Context, SetupError};
use crate::calendar::CalendarError;
use crate::diag::{Fault, Problem, Report};
use crate::results::ledger::{LedgerError, State, ledgers};
use crate::store::{DrawFilter, DrawRow, EventFilter, EventRow, SchedulerEvent, StoreError};

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
}

/// One line of the publication section.
#[derive(Debug, Clone)]
pub enum PublicationLine {
    /// Inspected targets whose publication deadline passed.
    Overdue {
        draw: String,
        targets: usize,
        first: NaiveDate,
    },
    /// Drawn targets without complete results after the draw's due date.
    NotInspected {
        draw: String,
        targets: usize,
        drawn: usize,
        due: NaiveDate,
    },
    /// Drawn targets with no team.
    Unstaffed { draw: String, targets: usize },
    /// Inspected targets to publish soon.
    Due {
        draw: String,
        targets: usize,
        first: NaiveDate,
        working_days_left: u32,
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
}

impl Status {
    /// Problems needing attention: per matter, and every overdue publication line.
    pub fn problems(&self) -> usize {
        let matters: usize = self.matters.iter().map(|m| m.problems.len()).sum();
        matters + self.publication.iter().filter(|l| l.is_overdue()).count()
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
pub fn run(config: &Path, cx: Context, input: &Input) -> Result<Status, StatusError> {
    let now = input.now;
    let since = year_start(now.year());
    let Context { loaded, cal, store } = cx;
    let ids: Vec<String> = loaded.model.matters().map(|m| m.id.clone()).collect();
    let service = Service::new(config.to_path_buf(), loaded, cal, store, "status", since);
    let schedule = service.schedule(now);
    // As of a past date, draws made after it do not count yet.
    let day = now.format("%Y-%m-%d").to_string();
    let made_by = |d: &DrawRow| {
        d.record
            .created_at
            .get(..10)
            .is_none_or(|c| c <= day.as_str())
    };
    let mut done = service.done()?;
    for d in service.store.list_draws(&DrawFilter::default())? {
        if !made_by(&d) {
            done.remove(&(d.record.matter, d.record.period));
        }
    }
    let overdue = due(&schedule, &done, since, now);
    let mut matters = Vec::new();
    for id in &ids {
        let mut draws = service.store.list_draws(&DrawFilter {
            matter: Some(id.clone()),
            ..DrawFilter::default()
        })?;
        draws.retain(|d| made_by(d));
        let last = draws
            .iter()
            .max_by(|a, b| {
                a.record
                    .issue_date
                    .cmp(&b.record.issue_date)
                    .then(a.id.cmp(&b.id))
            })
            .map(|d| format!("#{} {} on {}", d.id, d.record.period, d.record.issue_date));
        let only: Vec<_> = schedule
            .iter()
            .filter(|s| &s.matter == id)
            .cloned()
            .collect();
        let next = next_wake(&only, &done, now)
            .and_then(|t| only.iter().find(|s| s.issue_at == t))
            .map(|s| format!("{} on {}", s.period.id, s.issue_date()));
        let mut problems: Vec<String> = overdue
            .iter()
            .filter(|s| &s.matter == id)
            .map(|o| format!("OVERDUE {} (due {})", o.period.id, o.issue_date()))
            .collect();
        let events = service.store.events(&EventFilter {
            matter: Some(id.clone()),
            ..EventFilter::default()
        })?;
        problems.extend(event_problems(&events, &draws, now));
        matters.push(MatterStatus {
            matter: id.clone(),
            last,
            next,
            problems,
        });
    }
    let cx = Context {
        loaded: service.loaded,
        cal: service.cal,
        store: service.store,
    };
    publication(&cx, now, matters, input.within)
}

/// What the scheduler's log says went wrong for a matter, as of `now`: draws that failed
/// (and were not made since), and periods of this year that ended before they could be drawn
/// (never drawn now).
fn event_problems(events: &[EventRow], draws: &[DrawRow], now: NaiveDateTime) -> Vec<String> {
    let day = now.format("%Y-%m-%d").to_string();
    let year = now.year().to_string();
    let mut problems = Vec::new();
    for e in events.iter().filter(|e| e.event == SchedulerEvent::Failed) {
        if !draws.iter().any(|d| d.record.period == e.period) {
            let first = e.detail.lines().next().unwrap_or("");
            problems.push(format!("FAILED {} at {}: {first}", e.period, e.at));
        }
    }
    let by_now = |at: &str| at.get(..10).is_none_or(|c| c <= day.as_str());
    for e in events.iter().filter(|e| {
        e.event == SchedulerEvent::Missed && e.period.starts_with(&year) && by_now(&e.at)
    }) {
        let first = e.detail.lines().next().unwrap_or("");
        problems.push(format!("MISSED {} at {}: {first}", e.period, e.at));
    }
    problems
}

/// The publication part: inspected results due for publication within `within` working
/// days, and everything overdue (an inspection not done by the draw's due date, a result not
/// published by its deadline, a target with no team).
fn publication(
    cx: &Context,
    now: NaiveDateTime,
    matters: Vec<MatterStatus>,
    within: u32,
) -> Result<Status, StatusError> {
    let today = now.date();
    let all = ledgers(&cx.store, &cx.loaded.model, &cx.cal, &DrawFilter::default())?;
    let horizon = cx.cal.add_working_days(today, within)?;
    let mut status = Status {
        now,
        matters,
        within,
        publication: Vec::new(),
        later: 0,
        awaiting_inspection: 0,
    };
    for l in all.iter().filter(|l| l.issue_date <= today) {
        let draw = format!(
            "#{} {} {}",
            l.draw.id, l.draw.record.matter, l.draw.record.period
        );
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
        let lines = &mut status.publication;
        if let Some(first) = late_pub.iter().min() {
            let (draw, targets, first) = (draw.clone(), late_pub.len(), *first);
            lines.push(PublicationLine::Overdue {
                draw,
                targets,
                first,
            });
        }
        if not_inspected > 0 {
            let (drawn, due) = (l.targets.len(), l.due_date);
            let (draw, targets) = (draw.clone(), not_inspected);
            lines.push(PublicationLine::NotInspected {
                draw,
                targets,
                drawn,
                due,
            });
        }
        if unstaffed > 0 {
            let (draw, targets) = (draw.clone(), unstaffed);
            lines.push(PublicationLine::Unstaffed { draw, targets });
        }
        if let Some(first) = due_soon.iter().min() {
            let working_days_left = cx.cal.working_days_between(today, *first)?;
            let (targets, first) = (due_soon.len(), *first);
            lines.push(PublicationLine::Due {
                draw,
                targets,
                first,
                working_days_left,
            });
        }
    }
    Ok(status)
}
