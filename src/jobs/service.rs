//! The service: an explicit loop over a clock and a closed set of events, with the decisions
//! (what is due, catch up or skip) made by pure functions.

use std::collections::{BTreeSet, HashSet};
use std::path::PathBuf;
use std::sync::mpsc::Receiver;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};

use crate::calendar::Calendar;
use crate::jobs::issue::seed::{SeedChoice, resolve};
use crate::jobs::issue::{IssueError, Issued, Request, freeze, issue};
use crate::jobs::shared_registries::Follower;
use crate::rules::Loaded;
use crate::rules::model::{CatchUp, Model, SeedSourceConfig};
use crate::schedule::clock::{Clock, Event, RULE_FILES_CHANGED, Wake};
use crate::schedule::period::ScheduleProblem;
use crate::schedule::{DrawKind, ScheduledDraw, year_schedule};
use crate::store::{
    DrawFilter, EventFilter, NewEvent, RulesReloadAudit, SchedulerAudit, SchedulerEvent,
    ServiceAudit, ServiceStore,
};

/// What to do with a draw whose issue time has come.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Issue it now; `late` when its time passed while the service was not running.
    Issue { late: bool },
    /// Skip it for good (catch-up policy), with the reason.
    Skip(String),
    /// Its period ended before it could be drawn: record it as missed, with the reason.
    Miss(String),
}

/// Years, or matters of a year, whose draws cannot be scheduled: the service cannot compute
/// their issue times until the reason is gone (a holiday file is added), and says so in its
/// log and in `suiji status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unscheduled {
    pub year: i32,
    /// The matters affected (every matter, when the year has no calendar).
    pub matters: Vec<String>,
    /// Why, as the calendar says it.
    pub reason: String,
}

impl Unscheduled {
    /// One entry per distinct reason among a year's problems.
    fn group(year: i32, problems: Vec<ScheduleProblem>) -> Vec<Unscheduled> {
        let mut out: Vec<Unscheduled> = Vec::new();
        for p in problems {
            let reason = p.error.to_string();
            match out.iter_mut().find(|u| u.reason == reason) {
                Some(u) => u.matters.push(p.matter),
                None => out.push(Unscheduled {
                    year,
                    matters: vec![p.matter],
                    reason,
                }),
            }
        }
        out
    }

    /// What the log and `status` say.
    pub fn message(&self) -> String {
        format!(
            "the draws of {} cannot be scheduled ({} matter(s): {}): {}; suiji keeps running and schedules them once the holiday file is saved (or on SIGHUP), no restart needed",
            self.year,
            self.matters.len(),
            self.matters.join(", "),
            self.reason
        )
    }
}

/// How long before a year begins a missing calendar for it counts as a problem: from
/// 1 November, when the State Council's holiday notice for the next year is usually out.
pub const NEXT_YEAR_NOTICE: (u32, u32) = (11, 1);

/// When the next year's calendar is first expected, in `year`.
fn next_year_notice(year: i32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(year, NEXT_YEAR_NOTICE.0, NEXT_YEAR_NOTICE.1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap_or(NaiveDateTime::MAX)
}

/// A draw is "late" if the service first sees it more than this after its issue time.
pub(crate) const LATE_AFTER_MINUTES: i64 = crate::schedule::marks::LATE_AFTER_MINUTES;

/// Pure: decide about a due draw at `now` under the matter's catch-up policy.
pub fn decide(d: &ScheduledDraw, policy: CatchUp, now: NaiveDateTime) -> Decision {
    let late_by = now - d.issue_at;
    let late = late_by > Duration::minutes(LATE_AFTER_MINUTES);
    match policy {
        CatchUp::Skip { grace_days } if late && late_by > Duration::days(i64::from(grace_days)) => {
            Decision::Skip(format!(
                "issue time {} passed {} day(s) ago while suiji was not running; the matter skips draws more than {grace_days} day(s) late",
                d.issue_at.format("%Y-%m-%d %H:%M"),
                late_by.num_days()
            ))
        }
        _ => Decision::Issue { late },
    }
}

/// Pure: why a draw first seen at `now` can no longer be drawn, if its period has ended: a
/// holiday window once the holiday has begun (`holiday_start`), a calendar period (year,
/// half-year, quarter, month) once its last day is over. A draw whose period is still running
/// is drawn late instead (补抽), and so is a cron draw (its period is a fire time: its matter's
/// catch-up policy decides).
pub fn ended(
    d: &ScheduledDraw,
    holiday_start: Option<NaiveDate>,
    now: NaiveDateTime,
) -> Option<String> {
    let due = d.issue_at.format("%Y-%m-%d %H:%M");
    let today = now.date();
    match (d.kind, holiday_start) {
        (DrawKind::Holiday(h), Some(start)) if today >= start => Some(format!(
            "missed: the {} holiday began on {start}, so its pre-holiday draw (due {due}) is no longer made; suiji was not running at its time",
            h.name_zh()
        )),
        // Cron periods are named by their fire time ("2024-03-05T0900").
        (DrawKind::Regular, _) if !d.period.id.contains('T') && today > d.period.end => {
            Some(format!(
                "missed: period {} ended on {}, so its draw (due {due}) is no longer made; suiji was not running at its time",
                d.period.id, d.period.end
            ))
        }
        _ => None,
    }
}

/// Pure: the draws due at `now` that are not done, in issue order.
pub fn due<'a>(
    schedule: &'a [ScheduledDraw],
    done: &HashSet<(String, String)>,
    since: NaiveDateTime,
    now: NaiveDateTime,
) -> Vec<&'a ScheduledDraw> {
    schedule
        .iter()
        .filter(|d| d.issue_at >= since && d.issue_at <= now)
        .filter(|d| !done.contains(&(d.matter.clone(), d.period.id.clone())))
        .collect()
}

/// A scheduled draw the service does not make: it waits for a public source's value.
#[derive(Debug, Clone)]
pub enum Waiting {
    /// For a commitment to a public source (`[seed] source = "public"`): none made yet.
    Commitment,
    /// For the announced value of this commitment.
    Value(Box<crate::store::Commitment>),
}

impl Waiting {
    /// "for a public source: …" — what waits and what to do, for `d`.
    pub fn describe(&self, d: &ScheduledDraw) -> String {
        let (m, p) = (&d.matter, &d.period.id);
        match self {
            Waiting::Commitment => format!(
                "for a public source: none committed yet (suiji commit {m} --period {p} --source \"…\" --source-time \"…\")"
            ),
            Waiting::Value(k) => format!(
                "for the value of {} announced {} (commitment #{}): suiji draw {m} --period {p} --reveal \"VALUE\"",
                k.source, k.source_time, k.id
            ),
        }
    }
}

/// Pure: the next issue time after `now` among draws not done.
pub(crate) fn next_wake(
    schedule: &[ScheduledDraw],
    done: &HashSet<(String, String)>,
    now: NaiveDateTime,
) -> Option<NaiveDateTime> {
    schedule
        .iter()
        .filter(|d| d.issue_at > now && !done.contains(&(d.matter.clone(), d.period.id.clone())))
        .map(|d| d.issue_at)
        .min()
}

/// One line of what the service did, for the log and for `simulate`'s summary.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub draw: ScheduledDraw,
    pub event: SchedulerEvent,
    pub draw_id: Option<i64>,
    pub detail: String,
    pub drawn: usize,
    pub eligible: usize,
    pub unstaffed: usize,
}

/// The running service's state.
pub struct Service {
    pub config: PathBuf,
    pub loaded: Loaded,
    pub cal: Calendar,
    /// The SQLite file, or a PostgreSQL database (`database`).
    pub store: Box<dyn ServiceStore>,
    /// The PostgreSQL database `store` is, when it is one: the service's own commitments and
    /// the approved rules it reloads are there too.
    pub database: Option<crate::store::pg::Place>,
    pub actor: String,
    /// Draws issued before this are not the service's business.
    pub since: NaiveDateTime,
    /// Overrides the config's seed source (simulations, tests).
    pub seed: Option<SeedChoice>,
    /// The last moment the service runs to (a simulated year's end): later years are not
    /// its business, and a missing calendar for them is no problem.
    pub until: Option<NaiveDateTime>,
    /// Draws that failed in this run (retried after a rule reload).
    failed: HashSet<(String, String)>,
    pub outcomes: Vec<Outcome>,
    /// The approved rule version the rules were loaded at (approval on).
    seen_version: Option<i64>,
    /// Draws whose public value could not be fetched, with the last reason.
    fetch_failures: std::collections::HashMap<(String, String), String>,
    /// What brings the registry files up to the versions uploaded on the shared database, and
    /// its connection there (opened before the first draw).
    registries: (Follower, Option<crate::store::pg::PgStore>),
}

/// How long the service waits before asking a fetcher again after it failed.
pub const FETCH_RETRY_MINUTES: i64 = 10;

impl Service {
    pub fn new(
        config: PathBuf,
        loaded: Loaded,
        cal: Calendar,
        store: Box<dyn ServiceStore>,
        actor: &str,
        since: NaiveDateTime,
    ) -> Service {
        let mut service = Service {
            config,
            loaded,
            cal,
            store,
            database: None,
            actor: actor.into(),
            since,
            seed: None,
            until: None,
            failed: HashSet::new(),
            outcomes: Vec::new(),
            seen_version: None,
            fetch_failures: std::collections::HashMap::new(),
            registries: (Follower::hashing_each_time(), None),
        };
        service.seen_version = service.latest_version();
        service
    }

    fn model(&self) -> &Model {
        &self.loaded.model
    }

    /// The schedule of every year from `since` to the one after `now`.
    pub fn schedule(&self, now: NaiveDateTime) -> Vec<ScheduledDraw> {
        self.plan(now).0
    }

    /// The schedule of every year from `since` to the one after `now`, and the years (or
    /// matters of a year) that cannot be scheduled, with the reason: this year and the ones
    /// before it always, the next year from [`NEXT_YEAR_NOTICE`] on.
    pub fn plan(&self, now: NaiveDateTime) -> (Vec<ScheduledDraw>, Vec<Unscheduled>) {
        let mut all = Vec::new();
        let mut unscheduled = Vec::new();
        let years: BTreeSet<i32> = (self.since.year().min(now.year())..=now.year() + 1).collect();
        for y in years {
            let (mut s, problems) = year_schedule(self.model(), &self.cal, y);
            let watched = y <= now.year() || now >= next_year_notice(now.year());
            if watched && self.until.is_none_or(|end| y <= end.year()) {
                unscheduled.extend(Unscheduled::group(y, problems));
            }
            all.append(&mut s);
        }
        all.sort_by(|a, b| a.issue_at.cmp(&b.issue_at).then(a.matter.cmp(&b.matter)));
        (all, unscheduled)
    }

    /// Logs the years that cannot be scheduled when they change (`reported` holds what was
    /// logged last): the service never stops scheduling without saying so.
    pub fn report_unscheduled(&self, now: NaiveDateTime, reported: &mut Vec<Unscheduled>) {
        let (_, now_unscheduled) = self.plan(now);
        if now_unscheduled == *reported {
            return;
        }
        for u in &now_unscheduled {
            tracing::error!(
                year = u.year,
                matters = %u.matters.join(","),
                "{}",
                u.message()
            );
        }
        for u in reported.iter() {
            if !now_unscheduled.iter().any(|n| n.year == u.year) {
                tracing::info!(
                    year = u.year,
                    "the draws of {} can be scheduled again",
                    u.year
                );
            }
        }
        *reported = now_unscheduled;
    }

    /// The commitment waiting for the value of `d`'s draw, made under the period's id or,
    /// before period ids of version 2, under its first id (docs/draw-algorithm.md V2-15).
    fn open_commitment(
        &self,
        d: &ScheduledDraw,
    ) -> Result<Option<crate::store::Commitment>, crate::store::StoreError> {
        super::commit::open_commitment(&*self.store, &d.matter, &d.period.id)
    }

    /// (matter, period) pairs that are drawn, skipped for good, or failed in this run.
    pub fn done(&self) -> Result<HashSet<(String, String)>, crate::store::StoreError> {
        let mut done: HashSet<(String, String)> = self
            .store
            .list_draw_heads(&DrawFilter::default())?
            .into_iter()
            // A period recorded under its first id (`2023-04-01T09:00`) is the schedule's
            // `2023-04-01T0900` (docs/draw-algorithm.md V2-15).
            .map(|d| (d.matter, crate::schedule::period_key(&d.period)))
            .collect();
        for e in self.store.events(&EventFilter::default())? {
            if matches!(e.event, SchedulerEvent::Skipped | SchedulerEvent::Missed) {
                done.insert((e.matter, crate::schedule::period_key(&e.period)));
            }
        }
        done.extend(self.failed.iter().cloned());
        Ok(done)
    }

    /// The seed of `d`: the value revealed for its commitment (checked against it), or the
    /// seed source's.
    fn seed_for(
        &self,
        d: &ScheduledDraw,
        frozen: &crate::jobs::issue::Frozen,
        now: NaiveDateTime,
        revealed: Option<(&crate::store::Commitment, &str)>,
    ) -> Result<(crate::draw::Seed, String), String> {
        let Some((k, value)) = revealed else {
            return resolve(&self.seed_choice(&d.matter));
        };
        let used = [
            (
                "target registry snapshot",
                frozen.info.targets_snapshot.as_str(),
            ),
            (
                "inspector registry snapshot",
                frozen.info.inspectors_snapshot.as_str(),
            ),
            ("rules", self.model().rules_hash.as_str()),
            ("algorithm", self.model().config.algorithm.name()),
        ];
        crate::jobs::commit::reveal(k, value, &self.stamp(now), used).map_err(|e| e.to_string())
    }

    fn seed_choice(&self, matter: &str) -> SeedChoice {
        if let Some(s) = &self.seed {
            return s.clone();
        }
        match self.model().seed_source(matter) {
            SeedSourceConfig::Os => SeedChoice::Os,
            SeedSourceConfig::File { path, .. } => SeedChoice::File(path.clone()),
            // Such draws wait for their commitment and its value instead (`waits_for`); a
            // simulation gives its own seed.
            SeedSourceConfig::Public(_) => SeedChoice::Os,
        }
    }

    /// Forgets the draws that failed in this run, so the next step tries them again.
    pub(crate) fn retry_failed(&mut self) {
        self.failed.clear();
    }

    /// `t` (local) as recorded: with the time zone's offset.
    pub(crate) fn stamp(&self, t: NaiveDateTime) -> String {
        use chrono::TimeZone;
        match self
            .model()
            .config
            .timezone
            .from_local_datetime(&t)
            .earliest()
        {
            Some(z) => z.format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
            None => t.format("%Y-%m-%dT%H:%M:%S").to_string(),
        }
    }

    fn record(
        &mut self,
        d: &ScheduledDraw,
        event: SchedulerEvent,
        at: NaiveDateTime,
        draw_id: Option<i64>,
        detail: &str,
    ) {
        let at = self.stamp(at);
        let e = NewEvent {
            matter: d.matter.clone(),
            period: d.period.id.clone(),
            event,
            at: at.clone(),
            draw_id,
            detail: detail.into(),
        };
        if let Err(err) = self.store.record_event(&e) {
            tracing::error!("cannot record scheduler event: {err}");
        }
        if matches!(
            event,
            SchedulerEvent::CaughtUp
                | SchedulerEvent::Skipped
                | SchedulerEvent::Failed
                | SchedulerEvent::Missed
        ) {
            let detail = SchedulerAudit {
                detail: detail.to_string(),
                draw_id,
                period: d.period.id.clone(),
            };
            if let Err(err) = self.store.append_service_audit(
                &at,
                &self.actor,
                &format!("scheduler.{}", event.as_str()),
                &d.matter,
                &ServiceAudit::Scheduler(detail),
            ) {
                tracing::error!("cannot append to the audit log: {err}");
            }
        }
    }

    /// Issues (or skips) everything due at `now`. Returns the outcomes of this step.
    pub fn step(&mut self, now: NaiveDateTime, shutdown: &dyn Fn() -> bool) -> Vec<Outcome> {
        let schedule = self.schedule(now);
        let done = match self.done() {
            Ok(d) => d,
            Err(e) => {
                tracing::error!("cannot read the database: {e}");
                return Vec::new();
            }
        };
        self.fetch_failures.retain(|k, _| !done.contains(k));
        self.commit_ahead(&schedule, &done, now);
        let due: Vec<ScheduledDraw> = due(&schedule, &done, self.since, now)
            .into_iter()
            .cloned()
            .collect();
        let mut out = Vec::new();
        for d in due {
            if shutdown() {
                break;
            }
            let policy = self
                .model()
                .matter(&d.matter)
                .map_or(CatchUp::Issue, |m| m.catch_up);
            let decision = match self.missed(&d, now) {
                Some(reason) => Decision::Miss(reason),
                None => match self.waits_for(&d) {
                    Some(Waiting::Value(k)) => match self.fetched(&d, &k, now) {
                        Some(value) => {
                            out.push(self.issue_one(d, now, false, Some((&k, &value))));
                            continue;
                        }
                        None => continue,
                    },
                    Some(waiting) => {
                        tracing::info!(matter = %d.matter, period = %d.period.id, "waiting {}", waiting.describe(&d));
                        continue;
                    }
                    None => decide(&d, policy, now),
                },
            };
            let o = match decision {
                Decision::Miss(reason) => self.miss(d, now, reason),
                Decision::Skip(reason) => {
                    tracing::warn!(matter = %d.matter, period = %d.period.id, "skipped: {reason}");
                    self.record(&d, SchedulerEvent::Skipped, now, None, &reason);
                    Outcome {
                        draw: d,
                        event: SchedulerEvent::Skipped,
                        draw_id: None,
                        detail: reason,
                        drawn: 0,
                        eligible: 0,
                        unstaffed: 0,
                    }
                }
                Decision::Issue { late } => self.issue_one(d, now, late, None),
            };
            out.push(o);
        }
        self.outcomes.extend(out.iter().cloned());
        out
    }

    /// Whether `d` waits for a public source instead of being drawn by the service: a
    /// commitment of its period waits for its value, or the config takes every scheduled
    /// draw's seed from a committed public source (`[seed] source = "public"`; a simulation
    /// gives its own seed). An unreadable database counts as no commitment: the draw is then
    /// refused when recorded, as a manual one would be.
    pub fn waits_for(&self, d: &ScheduledDraw) -> Option<Waiting> {
        if let Ok(Some(k)) = self.open_commitment(d) {
            return Some(Waiting::Value(Box::new(k)));
        }
        let public = self.model().public_seeds(&d.matter);
        (public && self.seed.is_none()).then_some(Waiting::Commitment)
    }

    /// What `w` waits for and what happens next, for `d`: as [`Waiting::describe`], saying
    /// where the service commits and fetches by itself.
    pub fn describe_waiting(&self, w: &Waiting, d: &ScheduledDraw) -> String {
        let Some(src) = self.auto_source(&d.matter) else {
            return w.describe(d);
        };
        match (w, &src.fetch) {
            (Waiting::Commitment, _) => format!(
                "for its commitment to {}: the service commits {} day(s) before the issue date",
                src.name, src.commit_days
            ),
            (Waiting::Value(k), Some(fetch)) => format!(
                "for the value of {} announced {} (commitment #{}): the service fetches it from {} and draws; or suiji draw {} --period {} --reveal \"VALUE\"",
                k.source,
                k.source_time,
                k.id,
                super::beacon::describe(fetch),
                d.matter,
                d.period.id
            ),
            (Waiting::Value(_), None) => w.describe(d),
        }
    }

    /// The public source `d`'s matter is committed to by the service itself, if any (never in
    /// a simulation, which gives its own seed).
    fn auto_source(&self, matter: &str) -> Option<&crate::rules::model::PublicSource> {
        match self.model().seed_source(matter) {
            SeedSourceConfig::Public(Some(src)) if self.seed.is_none() => Some(src),
            _ => None,
        }
    }

    /// Commits each draw not done whose matter names a public source, `commit_days` before
    /// its issue time, to the first value announced at or after that time and after now
    /// (published and anchored as `suiji commit` does). A draw with a commitment waiting is
    /// left alone; a failure is logged and tried again at the next step.
    fn commit_ahead(
        &mut self,
        schedule: &[ScheduledDraw],
        done: &HashSet<(String, String)>,
        now: NaiveDateTime,
    ) {
        for d in schedule {
            let Some(src) = self.auto_source(&d.matter) else {
                continue;
            };
            let key = (d.matter.clone(), d.period.id.clone());
            if d.issue_at < self.since
                || done.contains(&key)
                || super::beacon::commit_at(src, d.issue_at) > now
                || self.missed(d, now).is_some()
                || !matches!(self.open_commitment(d), Ok(None))
            {
                continue;
            }
            let day = super::beacon::value_day(src, d.issue_at, now);
            let input = super::commit::Input {
                matter: d.matter.clone(),
                period: d.period.id.clone(),
                source: src.name_of(day),
                source_time: self.stamp(day.and_time(src.announce)),
                actor: self.actor.clone(),
                now: self.stamp(now),
                redraw: false,
            };
            match super::commit::commit_on(&self.loaded, &input, None, self.database.as_ref()) {
                Ok(k) => {
                    self.fetch_failures.remove(&key);
                    tracing::info!(matter = %d.matter, period = %d.period.id, "committed to {} announced {} (commitment #{})", k.source, k.source_time, k.id);
                }
                Err(e) => {
                    let e = crate::diag::chain(&e);
                    tracing::error!(matter = %d.matter, period = %d.period.id, "cannot commit to {}: {e}; tried again in {FETCH_RETRY_MINUTES} minutes", input.source);
                    self.fetch_failures.insert(key, e);
                }
            }
        }
    }

    /// The announced value of commitment `k` from the matter's fetcher, once its time has
    /// passed. `None` (the draw keeps waiting) before that time, without a fetcher, or when
    /// the fetch fails: a failure is logged and, when its reason changes, recorded as a
    /// failed scheduler event that `status` shows; the next step tries again.
    fn fetched(
        &mut self,
        d: &ScheduledDraw,
        k: &crate::store::Commitment,
        now: NaiveDateTime,
    ) -> Option<String> {
        let src = self.auto_source(&d.matter)?;
        let (fetch, limit) = (src.fetch.clone()?, src.fetch_timeout);
        let announced = self.local(&k.source_time)?;
        if now <= announced {
            return None;
        }
        match super::beacon::fetch(&fetch, announced.date(), limit) {
            Ok(value) => {
                self.fetch_failures
                    .remove(&(d.matter.clone(), d.period.id.clone()));
                Some(value)
            }
            Err(e) => {
                let msg = format!(
                    "waiting: the value of {} (commitment #{}) could not be fetched from {}: {e}; tried again in {} minutes",
                    k.source,
                    k.id,
                    super::beacon::describe(&fetch),
                    FETCH_RETRY_MINUTES
                );
                tracing::warn!(matter = %d.matter, period = %d.period.id, "{msg}");
                let key = (d.matter.clone(), d.period.id.clone());
                if self.fetch_failures.get(&key) != Some(&e) {
                    self.record(d, SchedulerEvent::Failed, now, None, &msg);
                    self.fetch_failures.insert(key, e);
                }
                None
            }
        }
    }

    /// An RFC 3339 time as local time in the bureau's zone.
    fn local(&self, t: &str) -> Option<NaiveDateTime> {
        chrono::DateTime::parse_from_rfc3339(t)
            .ok()
            .map(|t| t.with_timezone(&self.model().config.timezone).naive_local())
    }

    /// The next time the service has something to do for public sources after `now`: a
    /// commitment to make, a value announced (a minute after its time), a failed fetch to try
    /// again.
    pub fn public_wake(&self, now: NaiveDateTime) -> Option<NaiveDateTime> {
        let done = self.done().ok()?;
        let mut next: Option<NaiveDateTime> = None;
        let mut at = |t: NaiveDateTime| {
            if t > now {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        };
        for d in self.schedule(now) {
            let Some(src) = self.auto_source(&d.matter) else {
                continue;
            };
            if d.issue_at < self.since || done.contains(&(d.matter.clone(), d.period.id.clone())) {
                continue;
            }
            match self.open_commitment(&d) {
                Ok(None) => at(super::beacon::commit_at(src, d.issue_at)),
                Ok(Some(k)) if src.fetch.is_some() => {
                    if let Some(t) = self.local(&k.source_time) {
                        at(t + Duration::minutes(1));
                    }
                }
                _ => {}
            }
        }
        if !self.fetch_failures.is_empty() {
            at(now + Duration::minutes(FETCH_RETRY_MINUTES));
        }
        next
    }

    /// Why `d`, due and not drawn, can no longer be drawn at `now` (see [`ended`]).
    fn missed(&self, d: &ScheduledDraw, now: NaiveDateTime) -> Option<String> {
        let holiday_start = match d.kind {
            DrawKind::Holiday(h) => d
                .period
                .id
                .get(..4)
                .and_then(|y| y.parse().ok())
                .and_then(|y| self.cal.holiday(y, h).ok())
                .map(|hp| hp.start),
            DrawKind::Regular => None,
        };
        ended(d, holiday_start, now)
    }

    /// Records a draw whose period ended before it could be drawn (logged and audited).
    fn miss(&mut self, d: ScheduledDraw, now: NaiveDateTime, reason: String) -> Outcome {
        tracing::warn!(matter = %d.matter, period = %d.period.id, "{reason}");
        self.record(&d, SchedulerEvent::Missed, now, None, &reason);
        Outcome {
            draw: d,
            event: SchedulerEvent::Missed,
            draw_id: None,
            detail: reason,
            drawn: 0,
            eligible: 0,
            unstaffed: 0,
        }
    }

    fn issue_one(
        &mut self,
        d: ScheduledDraw,
        now: NaiveDateTime,
        late: bool,
        revealed: Option<(&crate::store::Commitment, &str)>,
    ) -> Outcome {
        let key = (d.matter.clone(), d.period.id.clone());
        let fail = |this: &mut Service, d: ScheduledDraw, msg: String| {
            tracing::error!(matter = %d.matter, period = %d.period.id, "draw failed: {msg}");
            this.record(&d, SchedulerEvent::Failed, now, None, &msg);
            this.failed.insert((d.matter.clone(), d.period.id.clone()));
            Outcome {
                draw: d,
                event: SchedulerEvent::Failed,
                draw_id: None,
                detail: msg,
                drawn: 0,
                eligible: 0,
                unstaffed: 0,
            }
        };
        if let Err(e) = self.follow_registries() {
            return fail(self, d, e);
        }
        // A seed revealed for a commitment is checked against the registry's snapshots, so the
        // registry is confirmed before it; any other draw confirms it before it records.
        let frozen = match revealed {
            None => crate::jobs::issue::freeze_trusting(&self.loaded, &*self.store),
            Some(_) => freeze(&self.loaded, &*self.store),
        };
        let frozen = match frozen {
            Ok(f) => f,
            Err(diags) => return fail(self, d, registry_problems(&diags)),
        };
        let (seed, seed_source) = match self.seed_for(&d, &frozen, now, revealed) {
            Ok(s) => s,
            Err(e) => return fail(self, d, e),
        };
        let req = Request {
            algorithm: self.loaded.model.config.algorithm,
            draw: d.clone(),
            seed,
            seed_source,
            actor: self.actor.clone(),
            created_at: self.stamp(now),
            redraw: None,
            replaces: None,
            dry_run: false,
            provisional: crate::jobs::issue::provisional(&self.cal, &d),
            exclusions_in_file: crate::jobs::issue::exclusions_in_file(
                self.loaded.model.config.algorithm,
            ),
        };
        let issued = match self.issue_frozen(frozen, &req) {
            Ok(issued) => issued,
            Err(diags) => return fail(self, d, registry_problems(&diags)),
        };
        match issued {
            Ok(issued) => self.issued(d, &issued, now, late),
            Err(IssueError::AlreadyDrawn { draw_id, .. }) => {
                // Another process drew it first: exactly once holds, nothing to do.
                tracing::info!(matter = %key.0, period = %key.1, "already drawn as #{draw_id} by another process");
                Outcome {
                    draw: d,
                    event: SchedulerEvent::Skipped,
                    draw_id: Some(draw_id),
                    detail: "already drawn".into(),
                    drawn: 0,
                    eligible: 0,
                    unstaffed: 0,
                }
            }
            Err(e) => fail(self, d, e.to_string()),
        }
    }

    /// Issues `req` from `frozen`; a draw from a registry frozen on trust whose target file was
    /// not the version it looked like is drawn again from the registry checked in full (`Err`:
    /// that check's problems).
    fn issue_frozen(
        &mut self,
        frozen: crate::jobs::issue::Frozen,
        req: &Request,
    ) -> Result<Result<Issued, IssueError>, Vec<crate::diag::Diagnostic>> {
        match issue(&self.loaded, &mut *self.store, &frozen, req) {
            Err(IssueError::RegistryChanged) => {
                drop(frozen);
                let frozen = freeze(&self.loaded, &*self.store)?;
                Ok(issue(&self.loaded, &mut *self.store, &frozen, req))
            }
            issued => Ok(issued),
        }
    }

    /// Records a draw the service issued (on time or caught up) and says what it drew.
    fn issued(
        &mut self,
        d: ScheduledDraw,
        issued: &Issued,
        now: NaiveDateTime,
        late: bool,
    ) -> Outcome {
        let m = &issued.manifest;
        let detail = if late {
            format!(
                "caught up: due {}, issued {}",
                d.issue_at.format("%Y-%m-%d %H:%M"),
                now.format("%Y-%m-%d %H:%M")
            )
        } else {
            "issued on time".to_string()
        };
        let event = if late {
            SchedulerEvent::CaughtUp
        } else {
            SchedulerEvent::Issued
        };
        self.record(&d, event, now, issued.draw_id, &detail);
        tracing::info!(matter = %d.matter, period = %d.period.id, draw = issued.draw_id, drawn = m.selected.len(), "{detail}");
        Outcome {
            eligible: m.strata.iter().map(|s| s.eligible).sum(),
            drawn: m.selected.len(),
            unstaffed: m.selected.iter().filter(|s| s.unstaffed.is_some()).count(),
            draw: d,
            event,
            draw_id: issued.draw_id,
            detail,
        }
    }

    /// Puts the files of recorded draws back in place where a crash left them staged: only the
    /// staging folders are looked at, not every draw recorded (a national draw's manifest is a
    /// hundred megabytes in the database and as much again in its folder).
    pub fn restore_files(&self) {
        crate::jobs::sweep::restore_draws(&self.model().config.output_dir, &*self.store);
    }

    /// Reloads the holiday files; switches to them only when they load cleanly. Returns a
    /// message for the log.
    pub fn reload_calendar(&mut self, why: &str) -> Result<String, String> {
        let cfg = &self.model().config;
        let mut sources = crate::diag::Sources::default();
        match Calendar::load(&cfg.holidays_dir, &mut sources, cfg.provisional_calendar) {
            Ok(new) => {
                let (before, after) = (self.cal.years(), new.years());
                self.cal = new;
                if before == after {
                    return Ok(format!("holiday calendars reloaded ({why}): unchanged"));
                }
                self.failed.clear();
                let years = |y: &[i32]| y.iter().map(i32::to_string).collect::<Vec<_>>().join(", ");
                Ok(format!(
                    "holiday calendars reloaded ({why}): years {} (were {})",
                    years(&after),
                    years(&before)
                ))
            }
            Err(diags) => Err(format!(
                "holiday calendars NOT reloaded ({why}); the last good ones stay in use:\n{}",
                crate::diag::render(&sources, &diags)
            )),
        }
    }

    /// Re-validates the rules; switches to them only when clean. Returns a message for the log.
    /// A reload is audited when the rules changed, or when it was asked for (SIGHUP); a file
    /// event that left the rules as they were (a `touch`, an editor's backup file) is not.
    pub fn reload(&mut self, why: &str, now: NaiveDateTime) -> Result<String, String> {
        self.seen_version = self.latest_version();
        match super::load_approved_rules(&self.config, self.database.as_ref()).and_then(|new| {
            super::refuse_seed_file(&new, &*self.store)?;
            Ok(new)
        }) {
            Ok(new) => {
                let old = std::mem::replace(&mut self.loaded, new);
                self.failed.clear();
                let changed = old.model.rules_hash != self.loaded.model.rules_hash;
                let msg = if changed {
                    format!(
                        "rules reloaded ({why}): {} → {}",
                        &old.model.rules_hash[..12],
                        &self.loaded.model.rules_hash[..12]
                    )
                } else {
                    format!(
                        "rules reloaded ({why}): unchanged, {}",
                        &old.model.rules_hash[..12]
                    )
                };
                if !changed && why == RULE_FILES_CHANGED {
                    return Ok(msg);
                }
                let detail = RulesReloadAudit {
                    new: self.loaded.model.rules_hash.clone(),
                    old: old.model.rules_hash.clone(),
                    why: why.to_string(),
                };
                let at = self.stamp(now);
                if let Err(e) = self.store.append_service_audit(
                    &at,
                    &self.actor,
                    "rules.reload",
                    "rules",
                    &ServiceAudit::Reload(detail),
                ) {
                    tracing::error!("cannot append to the audit log: {e}");
                }
                Ok(msg)
            }
            Err(e) => Err(format!(
                "rules NOT reloaded ({why}); the last good rules keep running:\n{}",
                match e {
                    super::SetupError::Rules(e) => e.render(),
                    other => crate::diag::Problem::report(&other).render(),
                }
            )),
        }
    }

    /// Brings the registry files up to the versions uploaded on the shared database (one small
    /// query while none was uploaded since), before a draw reads them; nothing without one.
    fn follow_registries(&mut self) -> Result<(), String> {
        use crate::diag::Problem as _;
        let Some(place) = &self.database else {
            return Ok(());
        };
        let (follower, watch) = &mut self.registries;
        if watch.as_ref().is_none_or(|s| !s.is_open()) {
            *watch = None;
            *watch = Some(crate::store::pg::PgStore::open_at(place).map_err(|e| e.to_string())?);
        }
        let Some(store) = watch.as_ref() else {
            return Ok(());
        };
        let followed = store
            .shared_versions()
            .map_err(super::shared_registries::FollowError::from)
            .and_then(|(_, latest)| follower.follow(store, &self.loaded.model.config, latest));
        match followed {
            Ok(_) => Ok(()),
            Err(e) => Err(e.report().render()),
        }
    }

    /// The latest approved rule version's number, when approval is on.
    fn latest_version(&self) -> Option<i64> {
        if !self.model().config.approval.required {
            return None;
        }
        match self.store.latest_rule_version() {
            Ok(v) => v.map(|v| v.id),
            Err(e) => {
                tracing::error!("cannot read the approved rule versions: {e}");
                self.seen_version
            }
        }
    }

    /// Reloads the rules when a rule version was approved since they were loaded (by
    /// `suiji rules approve` in another process, which need not touch a file).
    pub fn follow_approvals(&mut self, now: NaiveDateTime) {
        let latest = self.latest_version();
        if latest != self.seen_version {
            reload(self, RULE_VERSION_APPROVED, now);
        }
    }
}

/// Why the rules were reloaded when another process approved a rule version.
pub const RULE_VERSION_APPROVED: &str = "a rule version was approved";

/// How the loop ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// `--once`: everything due was handled.
    Once,
    /// A shutdown signal.
    Shutdown(String),
    /// A simulated clock ran out.
    ClockEnd,
    /// `--once` on a shared database while another node holds the scheduler's lease (named
    /// when known): that node issues what is due.
    Follows(Option<String>),
}

/// Whether this node issues the scheduled draws: on the SQLite file it always does
/// ([`Alone`]); on a shared database the node holding the scheduler's lease does
/// (`jobs::lease::Leader`), and the others wait to take it over.
pub trait Gate {
    /// Whether this node leads now, taking the lead when it can (and then catching up what
    /// is due, as any start does). Called before each step.
    fn leads(&mut self, service: &mut Service, now: NaiveDateTime) -> bool;
    /// The node leading instead, when known.
    fn leader(&mut self) -> Option<String>;
    /// Waits, not leading, until it is time to try again (real time, whatever the clock) or
    /// an event arrives.
    fn wait(&mut self, events: &Receiver<Event>) -> Option<Event>;
}

/// The only node (the SQLite file): it always leads.
pub struct Alone;

impl Gate for Alone {
    fn leads(&mut self, _: &mut Service, _: NaiveDateTime) -> bool {
        true
    }

    fn leader(&mut self) -> Option<String> {
        None
    }

    fn wait(&mut self, events: &Receiver<Event>) -> Option<Event> {
        events.recv().ok()
    }
}

/// The service loop: handle what is due, then sleep until the next issue time or an event.
/// A node that does not lead (`gate`) handles nothing and tries again after a while.
pub fn run_loop(
    service: &mut Service,
    clock: &mut dyn Clock,
    events: &Receiver<Event>,
    once: bool,
    gate: &mut dyn Gate,
) -> Stop {
    let mut pending_shutdown: Option<String> = None;
    let mut unscheduled = Vec::new();
    loop {
        let now = clock.now();
        // Events that arrived while sleeping or reloading.
        while let Ok(e) = events.try_recv() {
            match e {
                Event::Shutdown(why) => pending_shutdown = Some(why),
                Event::Reload(why) => reload(service, &why, now),
            }
        }
        if let Some(why) = pending_shutdown.take() {
            return Stop::Shutdown(why);
        }
        if !gate.leads(service, now) {
            if once {
                return Stop::Follows(gate.leader());
            }
            match gate.wait(events) {
                Some(Event::Shutdown(why)) => return Stop::Shutdown(why),
                Some(Event::Reload(why)) => reload(service, &why, clock.now()),
                None => {}
            }
            continue;
        }
        // A shutdown asked for during a long catch-up stops it after the draw in progress;
        // other events wait for the end of the step.
        let stashed = std::cell::RefCell::new(Vec::new());
        let shutdown_requested = || {
            let mut stashed = stashed.borrow_mut();
            while let Ok(e) = events.try_recv() {
                stashed.push(e);
            }
            stashed.iter().any(|e| matches!(e, Event::Shutdown(_)))
        };
        service.follow_approvals(now);
        let _ = service.step(now, &shutdown_requested);
        for e in stashed.take() {
            match e {
                Event::Shutdown(why) => pending_shutdown = Some(why),
                Event::Reload(why) => reload(service, &why, clock.now()),
            }
        }
        if let Some(why) = pending_shutdown.take() {
            return Stop::Shutdown(why);
        }
        service.report_unscheduled(clock.now(), &mut unscheduled);
        if once {
            return Stop::Once;
        }
        let next = service
            .done()
            .ok()
            .and_then(|done| next_wake(&service.schedule(now), &done, now));
        let next = match (next, service.public_wake(now)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let Some(t) = next {
            tracing::debug!("sleeping until {t}");
        }
        match clock.wait(next, events) {
            Wake::End => return Stop::ClockEnd,
            Wake::Time => {}
            Wake::Event(Event::Shutdown(why)) => return Stop::Shutdown(why),
            Wake::Event(Event::Reload(why)) => reload(service, &why, clock.now()),
        }
    }
}

/// Reloads the rules and the holiday files, and logs what happened.
fn reload(service: &mut Service, why: &str, now: NaiveDateTime) {
    for r in [service.reload(why, now), service.reload_calendar(why)] {
        match r {
            Ok(msg) => tracing::info!("{msg}"),
            Err(msg) => tracing::error!("{msg}"),
        }
    }
}

/// Start of `year`, local time.
pub(crate) fn year_start(year: i32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(year, 1, 1)
        .unwrap_or(NaiveDate::MIN)
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default()
}

/// What an event says of a registry whose check found `diags`: nothing was drawn.
fn registry_problems(diags: &[crate::diag::Diagnostic]) -> String {
    let text = crate::diag::render(&crate::diag::Sources::default(), diags);
    format!(
        "the registry has {} problem(s); nothing drawn:\n{text}",
        diags.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::model::Ratio;
    use crate::schedule::{DrawKind, Period};

    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").expect("a time")
    }

    fn draw(matter: &str, period: &str, issue_at: &str) -> ScheduledDraw {
        let issue_at = t(issue_at);
        ScheduledDraw {
            matter: matter.into(),
            kind: DrawKind::Regular,
            period: Period {
                id: period.into(),
                start: issue_at.date(),
                end: issue_at.date(),
            },
            issue_at,
            due: issue_at.date(),
            ratio: Ratio::FULL,
            key_area_only: false,
        }
    }

    fn done(pairs: &[(&str, &str)]) -> HashSet<(String, String)> {
        pairs
            .iter()
            .map(|(m, p)| (m.to_string(), p.to_string()))
            .collect()
    }

    /// Two matters at the same time, then one a day for two days.
    fn schedule() -> Vec<ScheduledDraw> {
        vec![
            draw("a", "P1", "2024-03-01 09:00"),
            draw("b", "P1", "2024-03-01 09:00"),
            draw("a", "P2", "2024-03-02 09:00"),
            draw("a", "P3", "2024-03-03 09:00"),
        ]
    }

    #[test]
    fn due_is_what_falls_between_since_and_now_and_is_not_done() {
        let s = schedule();
        let check = |since: &str, now: &str, finished: &[(&str, &str)], want: &[(&str, &str)]| {
            let got: Vec<(&str, &str)> = due(&s, &done(finished), t(since), t(now))
                .iter()
                .map(|d| (d.matter.as_str(), d.period.id.as_str()))
                .collect();
            assert_eq!(got, want, "since {since}, now {now}, done {finished:?}");
        };
        let all = [("a", "P1"), ("b", "P1"), ("a", "P2"), ("a", "P3")];
        check("2024-01-01 00:00", "2024-03-01 08:59", &[], &[]);
        // Both ends count: due at its issue time, and when issued exactly at `since`.
        check("2024-01-01 00:00", "2024-03-01 09:00", &[], &all[..2]);
        check("2024-03-01 09:00", "2024-03-02 09:00", &[], &all[..3]);
        check("2024-03-01 09:01", "2024-03-03 09:00", &[], &all[2..]);
        check("2024-01-01 00:00", "2025-01-01 00:00", &[], &all);
        // Done is per (matter, period), not per matter or per period.
        check(
            "2024-01-01 00:00",
            "2024-03-03 09:00",
            &[("a", "P1"), ("a", "P3")],
            &[("b", "P1"), ("a", "P2")],
        );
        check("2024-01-01 00:00", "2024-03-03 09:00", &[("b", "P2")], &all);
        check("2024-01-01 00:00", "2024-03-03 09:00", &all, &[]);
    }

    #[test]
    fn next_wake_is_the_first_issue_time_after_now_not_done() {
        let s = schedule();
        let check = |now: &str, finished: &[(&str, &str)], want: Option<&str>| {
            assert_eq!(
                next_wake(&s, &done(finished), t(now)),
                want.map(t),
                "now {now}, done {finished:?}"
            );
        };
        check("2024-02-01 00:00", &[], Some("2024-03-01 09:00"));
        // Strictly after now: what is due now is the step's, not a reason to wake.
        check("2024-03-01 09:00", &[], Some("2024-03-02 09:00"));
        check("2024-03-01 09:00", &[("a", "P2")], Some("2024-03-03 09:00"));
        // One of two draws at a time done: it still wakes for the other.
        check("2024-02-01 00:00", &[("a", "P1")], Some("2024-03-01 09:00"));
        check(
            "2024-02-01 00:00",
            &[("a", "P1"), ("b", "P1")],
            Some("2024-03-02 09:00"),
        );
        check("2024-03-03 09:00", &[], None);
        check(
            "2024-02-01 00:00",
            &[("a", "P1"), ("b", "P1"), ("a", "P2"), ("a", "P3")],
            None,
        );
    }

    #[test]
    fn decide_issues_on_time_or_late_and_skips_by_policy() {
        let d = draw("a", "P1", "2024-03-01 09:00");
        let issue = |late| Some(Decision::Issue { late });
        let skip = None;
        let within = |days| CatchUp::Skip { grace_days: days };
        for (policy, now, want) in [
            (CatchUp::Issue, "2024-03-01 09:00", issue(false)),
            // Late only more than LATE_AFTER_MINUTES after its time.
            (CatchUp::Issue, "2024-03-01 09:10", issue(false)),
            (CatchUp::Issue, "2024-03-01 09:11", issue(true)),
            (CatchUp::Issue, "2025-03-01 09:00", issue(true)),
            (within(2), "2024-03-01 09:05", issue(false)),
            (within(2), "2024-03-01 09:11", issue(true)),
            // Exactly the grace period late is still within it.
            (within(2), "2024-03-03 09:00", issue(true)),
            (within(2), "2024-03-03 09:01", skip.clone()),
            (within(0), "2024-03-01 09:10", issue(false)),
            (within(0), "2024-03-01 09:11", skip.clone()),
        ] {
            let got = decide(&d, policy, t(now));
            match want {
                Some(w) => assert_eq!(got, w, "{policy:?} at {now}"),
                None => assert!(
                    matches!(got, Decision::Skip(_)),
                    "{policy:?} at {now}: {got:?}"
                ),
            }
        }
        assert_eq!(
            decide(&d, within(2), t("2024-03-08 10:00")),
            Decision::Skip(
                "issue time 2024-03-01 09:00 passed 7 day(s) ago while suiji was not running; \
                 the matter skips draws more than 2 day(s) late"
                    .into()
            )
        );
    }
}
