//! Committing to a draw's seed source before its value exists (`suiji commit`), and the
//! checks a reveal (`suiji draw … --reveal VALUE`) makes against the commitment: commit, then
//! reveal, as RFC 3797 and public lottery draws do.
//!
//! A commitment names the matter and period, the registry snapshots and rules the draw will
//! use, the algorithm, and the public source of the seed with the time that source announces
//! its value. It is recorded (and audited) only while that time is still in the future; it is
//! published in `out/public/commitments.json` and the chain's head is anchored. The draw then
//! takes exactly the announced value as its seed text (SHA-256 of the trimmed text,
//! docs/draw-algorithm.md), and only after the announced time, from the same snapshots and
//! rules.

use std::path::Path;

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone};

use super::{SetupError, load_calendar};
use crate::diag::{Fault, Problem, Report};
use crate::draw::Seed;
use crate::rules::Loaded;
use crate::store::{Commitment, StoreError};

/// Where the commitments are published, under the output folder.
pub const COMMITMENTS_FILE: &str = "public/commitments.json";

/// A commitment to make now.
#[derive(Debug, Clone)]
pub struct Input {
    pub matter: String,
    pub period: String,
    /// The named public source: "中国福利彩票3D 第2025001期开奖号码", "drand round 5012345".
    pub source: String,
    /// When the source announces its value: RFC 3339, or `YYYY-MM-DD HH:MM` in the bureau's
    /// time zone.
    pub source_time: String,
    pub actor: String,
    /// Now, "YYYY-MM-DDTHH:MM:SS+08:00".
    pub now: String,
    /// For a redraw of the period's active draw (`suiji commit --redraw`): the redraw's own
    /// commitment, made after the draw it replaces.
    pub redraw: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    #[error(transparent)]
    Setup(#[from] SetupError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{matter} has no period `{period}`")]
    NoPeriod { matter: String, period: String },
    #[error("`{0}` is not a time")]
    BadTime(String),
    #[error("{0}")]
    Calendar(#[from] crate::calendar::CalendarError),
    #[error(
        "the source's value is announced at {source_time}, which is not after now ({now}): a commitment must be made before its source's value exists"
    )]
    SourcePast { source_time: String, now: String },
    #[error("{matter} {period} was already drawn (draw #{draw_id})")]
    AlreadyDrawn {
        matter: String,
        period: String,
        draw_id: i64,
    },
    #[error("{matter} {period} has no active draw to redraw")]
    NothingToRedraw { matter: String, period: String },
}

impl Problem for CommitError {
    fn fault(&self) -> Fault {
        match self {
            CommitError::Setup(e) => e.fault(),
            CommitError::Store(StoreError::Invalid { .. }) => Fault::Invalid,
            CommitError::Store(e) => e.fault(),
            _ => Fault::Invalid,
        }
    }

    fn report(&self) -> Report {
        match self {
            CommitError::Setup(e) => e.report(),
            CommitError::Store(e) => e.report(),
            CommitError::Calendar(_) => Report::error(self.to_string(), &[]),
            CommitError::NoPeriod { .. } => Report::error(
                self.to_string(),
                &["`suiji schedule --year YYYY` lists them"],
            ),
            CommitError::BadTime(_) => Report::error(
                self.to_string(),
                &[
                    "give --source-time as 2025-01-02T21:15:00+08:00, or 2025-01-02 21:15 in the bureau's time zone",
                ],
            ),
            CommitError::SourcePast { .. } => Report::error(
                self.to_string(),
                &[
                    "name a source whose value is announced later (the next lottery draw, a future beacon round)",
                ],
            ),
            CommitError::AlreadyDrawn { matter, period, .. } => Report::error(
                self.to_string(),
                &[
                    "a commitment is made before the draw it seeds",
                    &format!(
                        "to replace that draw, commit for its redraw: suiji commit {matter} --period {period} --redraw --source \"…\" --source-time \"…\""
                    ),
                ],
            ),
            CommitError::NothingToRedraw { .. } => Report::error(
                self.to_string(),
                &["leave out --redraw: the period is drawn for the first time"],
            ),
        }
    }
}

/// Parses `text` as RFC 3339, or as `YYYY-MM-DD HH:MM[:SS]` (a `T` may replace the space)
/// in `tz`.
pub fn parse_time(text: &str, tz: chrono_tz::Tz) -> Option<DateTime<FixedOffset>> {
    let t = text.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Some(d);
    }
    let naive = [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())?;
    tz.from_local_datetime(&naive)
        .single()
        .map(|d| d.fixed_offset())
}

fn stamp(d: DateTime<FixedOffset>) -> String {
    d.format("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// Records a commitment for `input.matter` and `input.period`, publishes it and anchors the
/// chain. Refused when the source's time is not in the future, when the period was already
/// drawn, or while another commitment of the same draw waits for its value.
pub fn commit(loaded: &Loaded, input: &Input) -> Result<Commitment, CommitError> {
    commit_as(loaded, input, None)
}

/// [`commit`], its audit entry recording `origin` (the console's signed-in user) when given.
pub fn commit_as(
    loaded: &Loaded,
    input: &Input,
    origin: Option<&crate::store::Origin>,
) -> Result<Commitment, CommitError> {
    commit_on(loaded, input, origin, None)
}

/// [`commit_as`] on the PostgreSQL database at `database` when one is named (where the chain's
/// head is not anchored in `anchors.json` yet, as for draws there).
pub fn commit_on(
    loaded: &Loaded,
    input: &Input,
    origin: Option<&crate::store::Origin>,
    database: Option<&crate::store::pg::Place>,
) -> Result<Commitment, CommitError> {
    super::require_in_force(loaded, &input.matter)?;
    let tz = loaded.model.config.timezone;
    let cal = load_calendar(loaded, false)?;
    let Some(scheduled) = super::issue::find_scheduled(loaded, &cal, &input.matter, &input.period)?
    else {
        return Err(CommitError::NoPeriod {
            matter: input.matter.clone(),
            period: input.period.clone(),
        });
    };
    let now = parse_time(&input.now, tz).ok_or_else(|| CommitError::BadTime(input.now.clone()))?;
    let source_time = parse_time(&input.source_time, tz)
        .ok_or_else(|| CommitError::BadTime(input.source_time.clone()))?;
    if source_time <= now {
        return Err(CommitError::SourcePast {
            source_time: stamp(source_time),
            now: stamp(now),
        });
    }
    let mut store = super::draw::open_draw_store(loaded, database)?;
    let store = &mut *store;
    if let Some(origin) = origin {
        store.set_origin(origin.clone());
    }
    // Recorded under the id the period's draw is (or will be) recorded under, whichever form
    // was typed (`2024-04-01T09:00` or `2024-04-01T0900`), so the draw that reveals it finds it.
    let period = recorded_period(store, &input.matter, &scheduled.period.id)?;
    match (store.active_draw(&input.matter, &period)?, input.redraw) {
        (Some(d), false) => {
            return Err(CommitError::AlreadyDrawn {
                matter: input.matter.clone(),
                period,
                draw_id: d.id,
            });
        }
        (None, true) => {
            return Err(CommitError::NothingToRedraw {
                matter: input.matter.clone(),
                period,
            });
        }
        _ => {}
    }
    // Frozen as the draw freezes it: checked in bounded memory and its snapshot written once to
    // the database's snapshot folder, where the draw this commitment announces finds it.
    let frozen = super::issue::freeze(loaded, store).map_err(SetupError::Registry)?;
    let mut k = Commitment {
        id: 0,
        matter: input.matter.clone(),
        period,
        committed_at: stamp(now),
        source: input.source.trim().to_string(),
        source_time: stamp(source_time),
        targets_snapshot: frozen.info.targets_snapshot.clone(),
        inspectors_snapshot: frozen.info.inspectors_snapshot.clone(),
        rules_hash: loaded.model.rules_hash.clone(),
        algorithm: loaded.model.config.algorithm.name().to_string(),
        actor: input.actor.clone(),
    };
    k.id = store.record_commitment(&k)?;
    let out = &loaded.model.config.output_dir;
    if let Err(e) = publish(out, store) {
        tracing::warn!("the commitments were not published: {e}");
    }
    let subject = format!("{} {}", k.matter, k.period);
    super::anchor::record_after(out, store, &k.committed_at, "commitment", &subject);
    Ok(k)
}

/// The id under which `matter`'s period `scheduled` (the schedule's id, `2024-04-01T0900`) is
/// recorded: its first id (`2023-04-01T09:00`, period ids of version 1) when its active draw
/// is recorded under that one and none under the schedule's, else the schedule's
/// (docs/draw-algorithm.md V2-15).
pub(crate) fn recorded_period(
    store: &dyn crate::store::DrawStore,
    matter: &str,
    scheduled: &str,
) -> Result<String, StoreError> {
    if let Some(first) = crate::schedule::first_form(scheduled)
        && store.active_draw(matter, scheduled)?.is_none()
        && store.active_draw(matter, &first)?.is_some()
    {
        return Ok(first);
    }
    Ok(scheduled.to_string())
}

/// The commitment of `matter`'s `period` waiting for its value, made under that id or, before
/// period ids of version 2, under its first id (docs/draw-algorithm.md V2-15).
pub(crate) fn open_commitment(
    store: &dyn crate::store::DrawStore,
    matter: &str,
    period: &str,
) -> Result<Option<Commitment>, StoreError> {
    if let Some(k) = store.open_commitment(matter, period)? {
        return Ok(Some(k));
    }
    match crate::schedule::first_form(period) {
        Some(first) => store.open_commitment(matter, &first),
        None => Ok(None),
    }
}

/// The published list of commitments (`suiji-commitments/1`).
#[derive(Debug, serde::Serialize)]
struct Published<'a> {
    format: &'static str,
    commitments: Vec<PublishedCommitment<'a>>,
}

#[derive(Debug, serde::Serialize)]
struct PublishedCommitment<'a> {
    #[serde(flatten)]
    commitment: &'a Commitment,
    /// Whether a draw has revealed its value.
    revealed: bool,
}

/// Writes every commitment to `out_dir/public/commitments.json`.
pub fn publish(out_dir: &Path, store: &dyn crate::store::DrawStore) -> Result<(), String> {
    let all = store.commitments().map_err(|e| e.to_string())?;
    let published = Published {
        format: "suiji-commitments/1",
        commitments: all
            .iter()
            .map(|(commitment, revealed)| PublishedCommitment {
                commitment,
                revealed: *revealed,
            })
            .collect(),
    };
    let mut text = serde_json::to_string_pretty(&published).map_err(|e| e.to_string())?;
    text.push('\n');
    let path = out_dir.join(COMMITMENTS_FILE);
    let dir = path.parent().unwrap_or(out_dir);
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let tmp = dir.join(format!(".commitments.json.{}", std::process::id()));
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Why a revealed value cannot seed the draw.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RevealError {
    #[error(
        "{matter} {period} has no commitment waiting for a value: a seed from a public source is accepted only for a draw committed to it before the value existed"
    )]
    NoCommitment { matter: String, period: String },
    #[error(
        "commitment #{id} waits for {named}, announced at {source_time}; it is {now}: the value does not exist yet"
    )]
    TooEarly {
        id: i64,
        named: String,
        source_time: String,
        now: String,
    },
    #[error(
        "the {what} changed since commitment #{id} ({committed} then, {now} now): the draw must use what was committed"
    )]
    Changed {
        id: i64,
        what: &'static str,
        committed: String,
        now: String,
    },
    #[error("a revealed value is empty")]
    Empty,
    #[error("`{0}` is not a time")]
    BadTime(String),
}

/// Whether RFC 3339 time `a` is later than `b` (an unreadable time is not).
pub fn later(a: &str, b: &str) -> bool {
    match (
        DateTime::parse_from_rfc3339(a),
        DateTime::parse_from_rfc3339(b),
    ) {
        (Ok(a), Ok(b)) => a > b,
        _ => false,
    }
}

/// The seed a revealed value gives, as 64 hex digits (SHA-256 of the trimmed text): what a
/// page shows before the draw is confirmed.
pub fn seed_hex(value: &str) -> String {
    Seed::from_text(value).to_hex()
}

/// The seed and its recorded source for a draw revealing `value` for commitment `k`, made at
/// `now` from the given snapshots, rules and algorithm.
pub fn reveal(
    k: &Commitment,
    value: &str,
    now: &str,
    used: [(&'static str, &str); 4],
) -> Result<(Seed, String), RevealError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(RevealError::Empty);
    }
    let at = |t: &str| DateTime::parse_from_rfc3339(t).map_err(|_| RevealError::BadTime(t.into()));
    if at(now)? <= at(&k.source_time)? {
        return Err(RevealError::TooEarly {
            id: k.id,
            named: k.source.clone(),
            source_time: k.source_time.clone(),
            now: now.into(),
        });
    }
    let committed = [
        &k.targets_snapshot,
        &k.inspectors_snapshot,
        &k.rules_hash,
        &k.algorithm,
    ];
    for ((what, now), committed) in used.into_iter().zip(committed) {
        if now != committed.as_str() {
            return Err(RevealError::Changed {
                id: k.id,
                what,
                committed: committed.clone(),
                now: now.into(),
            });
        }
    }
    let source = format!(
        "committed source \"{}\" announced {} (commitment #{}, {}): \"{value}\"",
        k.source, k.source_time, k.id, k.committed_at
    );
    Ok((Seed::from_text(value), source))
}
