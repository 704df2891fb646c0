//! Draws and their rows: recorded once, in one transaction, never changed afterwards except
//! for being superseded by an explicit, audited redraw.

use rustc_hash::FxHashSet as HashSet;

use rusqlite::{Connection, OptionalExtension, Row, ToSql, Transaction, params};

use super::error::{Fail, R};
use super::origin::Origin;
use super::records::DrawAudit;
use super::rows::Rows;
use super::util::{date, lower_hex, non_empty, to_u32};
use super::{Store, StoreError, audit};

/// A draw as recorded: what identifies it and what re-running it needs. The same fields are
/// written ([`NewDraw`]) and read back ([`DrawRow`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DrawRecord {
    pub matter: String,
    pub period: String,
    /// 'scheduled', 'manual', 'holiday', …
    pub kind: String,
    /// Algorithm version, e.g. "suiji-draw-v1".
    pub algorithm: String,
    /// Lowercase hex.
    pub seed_hex: String,
    pub seed_source: String,
    pub rules_hash: String,
    /// Hash of an archived targets snapshot ([`Store::put_snapshot`] first).
    pub targets_snapshot: String,
    /// Hash of an archived inspectors snapshot.
    pub inspectors_snapshot: String,
    /// `YYYY-MM-DD`.
    pub reference_date: String,
    /// `YYYY-MM-DD`.
    pub issue_date: String,
    /// `YYYY-MM-DD`.
    pub due_date: String,
    /// When the draw was made (passed in; the store never reads the clock).
    pub created_at: String,
    /// Who made it ("scheduler", an operator's name).
    pub actor: String,
    pub manifest_json: String,
    pub manifest_hash: String,
    /// Drawn from a provisional plan (a holiday calendar not yet published).
    pub provisional: bool,
}

/// Everything about a new draw, as the draw module hands it over.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewDraw {
    pub record: DrawRecord,
    /// In the draw's own order; read back in the same order.
    pub targets: Vec<DrawnTargetRow>,
    /// One row per team member; each target must be among `targets`.
    pub teams: Vec<TeamRow>,
    /// Targets no team could be formed for; each must be among `targets`.
    pub unstaffed: Vec<UnstaffedRow>,
    pub exclusions: Vec<ExclusionRow>,
    /// The file holding the manifest's text (a draw's `manifest.json`), stored from it a piece
    /// at a time and never held whole; `record.manifest_json` is then left empty. `None`: the
    /// text is `record.manifest_json`.
    pub manifest_file: Option<std::path::PathBuf>,
    /// The SHA-256 (lowercase hex) of `manifest_file`'s bytes as their writer made them: the
    /// text stored must hash to it (a file changed since it was written is refused), and it is
    /// then not parsed again as JSON, its writer having made it from the manifest. `None`: the
    /// file is checked as JSON as it is stored.
    pub manifest_file_sha256: Option<String>,
    /// The target and team rows, made one at a time as they are checked and stored from what
    /// the draw holds anyway (its manifest), instead of `targets` and `teams` (then empty).
    pub lent: Option<LentRows>,
}

impl NewDraw {
    /// The target rows, in order: `targets`, or the lent rows.
    pub fn target_rows(&self) -> Box<dyn Iterator<Item = TargetRowRef<'_>> + '_> {
        match &self.lent {
            Some(lent) => lent.0.targets(),
            None => Box::new(self.targets.iter().map(DrawnTargetRow::lend)),
        }
    }

    /// The team rows, in order: `teams`, or the lent rows.
    pub fn team_rows(&self) -> Box<dyn Iterator<Item = TeamRowRef<'_>> + '_> {
        match &self.lent {
            Some(lent) => lent.0.teams(),
            None => Box::new(self.teams.iter().map(TeamRow::lend)),
        }
    }
}

/// A [`DrawnTargetRow`], borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetRowRef<'a> {
    pub stratum: &'a str,
    pub rank: u32,
    pub target_id: &'a str,
    pub target_name: &'a str,
    pub selected: bool,
    pub substitute: bool,
    pub substitute_for: Option<&'a str>,
    pub rank_key: Option<&'a str>,
}

/// A [`TeamRow`], borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TeamRowRef<'a> {
    pub target_id: &'a str,
    pub position: u32,
    pub inspector_id: &'a str,
    pub inspector_name: &'a str,
}

/// A new draw's target and team rows made as they are read (a national draw's run to
/// hundreds of thousands of each, which are then never copied and held together).
pub trait DrawRows: Send + Sync {
    /// The target rows, in order.
    fn targets(&self) -> Box<dyn Iterator<Item = TargetRowRef<'_>> + '_>;
    /// The team rows, in order.
    fn teams(&self) -> Box<dyn Iterator<Item = TeamRowRef<'_>> + '_>;
}

/// [`NewDraw::lent`]: rows made as they are read. Two are equal when they are the same rows.
#[derive(Clone)]
pub struct LentRows(pub std::sync::Arc<dyn DrawRows>);

impl std::fmt::Debug for LentRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LentRows")
    }
}

impl PartialEq for LentRows {
    fn eq(&self, other: &LentRows) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for LentRows {}

/// The manifest's text a draw is recorded with: `record.manifest_json`, or the whole of its
/// `manifest_file`, checked against `manifest_file_sha256` or else as JSON (for a database that
/// takes the text in one piece).
pub(crate) fn manifest_text(d: &NewDraw) -> R<std::borrow::Cow<'_, str>> {
    match &d.manifest_file {
        None => Ok(std::borrow::Cow::Borrowed(&d.record.manifest_json)),
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| unreadable_manifest(path, &e))?;
            match &d.manifest_file_sha256 {
                Some(expected) => {
                    let found = crate::digest::sha256_hex(text.as_bytes());
                    if found != *expected {
                        return Err(unreadable_manifest(path, &CHANGED_SINCE_WRITTEN));
                    }
                }
                None => {
                    serde_json::from_str::<serde::de::IgnoredAny>(&text)
                        .map_err(|e| unreadable_manifest(path, &e))?;
                }
            }
            Ok(std::borrow::Cow::Owned(text))
        }
    }
}

/// Why a manifest file whose bytes no longer hash as its writer said is refused.
pub(super) const CHANGED_SINCE_WRITTEN: &str =
    "the file is not the one the draw wrote (its SHA-256 differs): it changed since";

/// A manifest file that could not be read, or is not the text a manifest must be.
pub(super) fn unreadable_manifest(
    path: &std::path::Path,
    e: &dyn std::fmt::Display,
) -> super::error::Fail {
    StoreError::invalid("manifest_json", format!("{}: {e}", path.display())).into()
}

/// Whether a new draw may replace the active one for its (matter, period).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redraw {
    No,
    /// Replaces the active draw. With `replaces`, only if the active draw is still that one:
    /// two redraws of one draw (two approvals of one request at the same moment) record one,
    /// the other is refused with [`StoreError::DrawSuperseded`].
    Yes {
        reason: String,
        replaces: Option<i64>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DrawStatus {
    Active,
    Superseded,
}

impl DrawStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DrawStatus::Active => "active",
            DrawStatus::Superseded => "superseded",
        }
    }
}

/// A stored draw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrawRow {
    pub id: i64,
    pub status: DrawStatus,
    pub record: DrawRecord,
    /// The draw this one replaced.
    pub redraw_of: Option<i64>,
    pub redraw_reason: Option<String>,
    /// The draw that replaced this one.
    pub superseded_by: Option<i64>,
}

/// A recorded draw without its manifest: what lists, the status and the scheduler need.
/// Read without touching the manifests, which run to megabytes for a draw of a large registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrawHead {
    pub id: i64,
    pub status: DrawStatus,
    pub matter: String,
    pub period: String,
    /// 'scheduled', 'manual', 'holiday', …
    pub kind: String,
    pub seed_source: String,
    /// `YYYY-MM-DD`.
    pub issue_date: String,
    /// When the draw was made.
    pub created_at: String,
    pub actor: String,
    pub manifest_hash: String,
    pub provisional: bool,
    /// The draw that replaced this one.
    pub superseded_by: Option<i64>,
}

/// A target the draw ranked: selected, taken as a substitute, or passed over.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DrawnTargetRow {
    pub stratum: String,
    /// Rank within the stratum.
    pub rank: u32,
    pub target_id: String,
    pub target_name: String,
    pub selected: bool,
    pub substitute: bool,
    /// The target this one stands in for, when `substitute`.
    pub substitute_for: Option<String>,
    /// The ranking key (e.g. the hash value it was ranked by), for verification displays.
    pub rank_key: Option<String>,
}

impl DrawnTargetRow {
    /// The row, borrowed.
    pub fn lend(&self) -> TargetRowRef<'_> {
        TargetRowRef {
            stratum: &self.stratum,
            rank: self.rank,
            target_id: &self.target_id,
            target_name: &self.target_name,
            selected: self.selected,
            substitute: self.substitute,
            substitute_for: self.substitute_for.as_deref(),
            rank_key: self.rank_key.as_deref(),
        }
    }
}

impl TeamRow {
    /// The row, borrowed.
    pub fn lend(&self) -> TeamRowRef<'_> {
        TeamRowRef {
            target_id: &self.target_id,
            position: self.position,
            inspector_id: &self.inspector_id,
            inspector_name: &self.inspector_name,
        }
    }
}

/// One inspector assigned to a target.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TeamRow {
    pub target_id: String,
    /// Position within the team (0 = leader, if the rules have one).
    pub position: u32,
    pub inspector_id: String,
    pub inspector_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UnstaffedRow {
    pub target_id: String,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntityKind {
    Target,
    Inspector,
}

impl EntityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Target => "target",
            EntityKind::Inspector => "inspector",
        }
    }

    pub(crate) fn parse(s: &str) -> R<Self> {
        match s {
            "target" => Ok(EntityKind::Target),
            "inspector" => Ok(EntityKind::Inspector),
            other => Err(Fail::corrupt(format!("unknown entity kind {other:?}"))),
        }
    }
}

/// An entity left out of the draw, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExclusionRow {
    pub entity_kind: EntityKind,
    pub entity_id: String,
    pub reason_code: String,
    pub detail: String,
}

/// Which draws [`Store::list_draws`] returns.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DrawFilter {
    pub matter: Option<String>,
    /// Periods starting with this text: "2025" for a year, "2025-Q" for its quarters.
    pub period_prefix: Option<String>,
    pub include_superseded: bool,
}

impl DrawFilter {
    /// Active draws of every matter in one year.
    pub fn year(year: i32) -> Self {
        DrawFilter {
            period_prefix: Some(year.to_string()),
            ..DrawFilter::default()
        }
    }
}

const DRAW_COLUMNS: &str = "d.id, d.matter, d.period, d.kind, d.status, d.algorithm, d.seed_hex,
    d.seed_source, d.rules_hash, d.targets_snapshot, d.inspectors_snapshot, d.reference_date,
    d.issue_date, d.due_date, d.created_at, d.actor, d.manifest_json, d.manifest_hash,
    d.redraw_of, d.redraw_reason,
    (SELECT n.id FROM draws n WHERE n.redraw_of = d.id) AS superseded_by, d.provisional";

/// The draws' heads: every column read is in the index `draws_heads` (schema version 9), so
/// SQLite never reads the rows, whose manifests run to megabytes.
const HEADS_SQL: &str = "SELECT d.id, d.status, d.matter, d.period, d.kind, d.seed_source,
        d.issue_date, d.created_at, d.actor, d.manifest_hash, d.provisional,
        (SELECT n.id FROM draws n WHERE n.redraw_of = d.id)
     FROM draws d
     WHERE (?1 IS NULL OR d.matter = ?1)
       AND (?2 IS NULL OR substr(d.period, 1, length(?2)) = ?2)
       AND (?3 OR d.status = 'active')
     ORDER BY d.matter, d.period, d.id";

fn draw_row(r: &Row<'_>) -> rusqlite::Result<(DrawRow, String)> {
    let status: String = r.get(4)?;
    Ok((
        DrawRow {
            id: r.get(0)?,
            status: DrawStatus::Active,
            record: DrawRecord {
                matter: r.get(1)?,
                period: r.get(2)?,
                kind: r.get(3)?,
                algorithm: r.get(5)?,
                seed_hex: r.get(6)?,
                seed_source: r.get(7)?,
                rules_hash: r.get(8)?,
                targets_snapshot: r.get(9)?,
                inspectors_snapshot: r.get(10)?,
                reference_date: r.get(11)?,
                issue_date: r.get(12)?,
                due_date: r.get(13)?,
                created_at: r.get(14)?,
                actor: r.get(15)?,
                manifest_json: r.get(16)?,
                manifest_hash: r.get(17)?,
                provisional: r.get(21)?,
            },
            redraw_of: r.get(18)?,
            redraw_reason: r.get(19)?,
            superseded_by: r.get(20)?,
        },
        status,
    ))
}

fn finish_row((mut row, status): (DrawRow, String)) -> R<DrawRow> {
    row.status = draw_status(row.id, &status)?;
    Ok(row)
}

fn draw_status(id: i64, status: &str) -> R<DrawStatus> {
    match status {
        "active" => Ok(DrawStatus::Active),
        "superseded" => Ok(DrawStatus::Superseded),
        other => Err(Fail::corrupt(format!("draw {id} has status {other:?}"))),
    }
}

fn query_draws(c: &Connection, where_sql: &str, params: impl rusqlite::Params) -> R<Vec<DrawRow>> {
    let sql = format!("SELECT {DRAW_COLUMNS} FROM draws d WHERE {where_sql}");
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map(params, draw_row)?;
    let mut out = Vec::new();
    for row in rows {
        let mut draw = finish_row(row?)?;
        let column = std::mem::take(&mut draw.record.manifest_json);
        draw.record.manifest_json = super::pieces::whole_text(c, draw.id, column)?;
        out.push(draw);
    }
    Ok(out)
}

fn snapshot_kind(tx: &Transaction<'_>, hash: &str) -> R<Option<String>> {
    Ok(tx
        .prepare_cached("SELECT kind FROM snapshots WHERE hash = ?1")?
        .query_row([hash], |r| r.get(0))
        .optional()?)
}

fn check_snapshot(tx: &Transaction<'_>, field: &str, hash: &str, kind: &str) -> R<()> {
    match snapshot_kind(tx, hash)? {
        None => Err(StoreError::NoSuchSnapshot {
            hash: hash.to_string(),
        }
        .into()),
        Some(k) if k != kind => {
            Err(StoreError::invalid(field, format!("snapshot {hash} holds {k}, not {kind}")).into())
        }
        Some(_) => Ok(()),
    }
}

/// Checks that need no database, so a bad draw is refused with a clear message before any
/// lock is taken. The schema's constraints repeat the essentials. A manifest file is read
/// once, not twice: it is checked as UTF-8 and JSON as it is stored, inside the transaction,
/// which a text that is neither rolls back (`store::pieces::store`; [`manifest_text`] where
/// the text goes in one piece).
pub(crate) fn validate(d: &NewDraw, redraw: &Redraw) -> R<()> {
    validate_record(&d.record, redraw)?;
    if d.manifest_file.is_none() {
        serde_json::from_str::<serde::de::IgnoredAny>(&d.record.manifest_json)
            .map_err(|e| StoreError::invalid("manifest_json", e.to_string()))?;
        // The column holds a number only for a text kept in pieces (`store::pieces`).
        if super::pieces::pieced(d.record.manifest_json.as_bytes()).is_some() {
            return Err(StoreError::invalid(
                "manifest_json",
                "a manifest is a JSON object, not a number",
            )
            .into());
        }
    }
    let targets = validate_targets(d)?;
    validate_rows(d, &targets)
}

/// The draw's own fields (and a redraw's reason).
fn validate_record(r: &DrawRecord, redraw: &Redraw) -> R<()> {
    for (field, value) in [
        ("matter", &r.matter),
        ("period", &r.period),
        ("kind", &r.kind),
        ("algorithm", &r.algorithm),
        ("rules_hash", &r.rules_hash),
        ("created_at", &r.created_at),
        ("actor", &r.actor),
        ("manifest_hash", &r.manifest_hash),
    ] {
        non_empty(field, value)?;
    }
    lower_hex("seed_hex", &r.seed_hex)?;
    date("reference_date", &r.reference_date)?;
    date("issue_date", &r.issue_date)?;
    date("due_date", &r.due_date)?;
    if let Redraw::Yes { reason, .. } = redraw {
        non_empty("redraw reason", reason)?;
    }

    Ok(())
}

/// Each target once, each (stratum, rank) once; the target ids.
fn validate_targets(d: &NewDraw) -> R<HashSet<&str>> {
    let rows = d.target_rows().size_hint().0;
    let mut targets = HashSet::default();
    targets.reserve(rows);
    let mut ranks = HashSet::default();
    ranks.reserve(rows);
    for t in d.target_rows() {
        non_empty("target id", t.target_id)?;
        if !targets.insert(t.target_id) {
            return Err(StoreError::invalid(
                "targets",
                format!("target {} is listed twice", t.target_id),
            )
            .into());
        }
        if !ranks.insert((t.stratum, t.rank)) {
            return Err(StoreError::invalid(
                "targets",
                format!("rank {} appears twice in stratum {:?}", t.rank, t.stratum),
            )
            .into());
        }
    }
    Ok(targets)
}

/// Team members, unstaffed targets and exclusions name the draw's targets, each seat once.
fn validate_rows(d: &NewDraw, targets: &HashSet<&str>) -> R<()> {
    if !validate_teams(d, targets)? {
        validate_teams_in_any_order(d, targets)?;
    }
    let known = |field: &str, id: &str| known_target(targets, field, id);
    let mut unstaffed = HashSet::default();
    for u in &d.unstaffed {
        known("unstaffed", &u.target_id)?;
        if !unstaffed.insert(u.target_id.as_str()) {
            return Err(StoreError::invalid(
                "unstaffed",
                format!("target {} is listed twice", u.target_id),
            )
            .into());
        }
    }
    for x in &d.exclusions {
        non_empty("excluded entity id", &x.entity_id)?;
        non_empty("exclusion reason code", &x.reason_code)?;
    }
    Ok(())
}

/// `Err` unless `id` is one of the draw's `targets`.
fn known_target(targets: &HashSet<&str>, field: &str, id: &str) -> R<()> {
    if targets.contains(id) {
        Ok(())
    } else {
        Err(StoreError::invalid(
            field,
            format!("target {id} is not among the draw's targets"),
        )
        .into())
    }
}

/// The team rows checked a team at a time: member rows come a target at a time (a draw's
/// own do), so each target is looked up once and each team's seats and inspectors are
/// checked among its own rows, where a check of every row against all (735,000 of them in a
/// national draw) took a set of each. `false`, nothing said, when a target's rows come back
/// after another's: [`validate_teams_in_any_order`] then checks them.
fn validate_teams(d: &NewDraw, targets: &HashSet<&str>) -> R<bool> {
    let mut seen: HashSet<&str> = HashSet::default();
    seen.reserve(targets.len());
    let mut team: Vec<TeamRowRef<'_>> = Vec::new();
    for m in d.team_rows() {
        if team.first().is_some_and(|f| f.target_id != m.target_id) {
            if !one_team(&team, &mut seen, targets)? {
                return Ok(false);
            }
            team.clear();
        }
        team.push(m);
    }
    Ok(team.is_empty() || one_team(&team, &mut seen, targets)?)
}

/// One target's team rows (`team`, all of one target, in order): the target is the draw's,
/// each seat and each inspector once. `false` when the target's rows came before (`seen`).
fn one_team<'a>(
    team: &[TeamRowRef<'a>],
    seen: &mut HashSet<&'a str>,
    targets: &HashSet<&str>,
) -> R<bool> {
    let Some(first) = team.first() else {
        return Ok(true);
    };
    known_target(targets, "teams", first.target_id)?;
    if !seen.insert(first.target_id) {
        return Ok(false);
    }
    for (i, m) in team.iter().enumerate() {
        non_empty("inspector id", m.inspector_id)?;
        let before = team.get(..i).unwrap_or_default();
        if before.iter().any(|b| b.position == m.position) {
            return Err(seat_twice(m).into());
        }
        if before.iter().any(|b| b.inspector_id == m.inspector_id) {
            return Err(member_twice(m).into());
        }
    }
    Ok(true)
}

fn seat_twice(m: &TeamRowRef<'_>) -> StoreError {
    StoreError::invalid(
        "teams",
        format!(
            "position {} of the team for {} is taken twice",
            m.position, m.target_id
        ),
    )
}

fn member_twice(m: &TeamRowRef<'_>) -> StoreError {
    StoreError::invalid(
        "teams",
        format!(
            "inspector {} is on the team for {} twice",
            m.inspector_id, m.target_id
        ),
    )
}

/// The team rows checked in whatever order they come, each against all.
fn validate_teams_in_any_order(d: &NewDraw, targets: &HashSet<&str>) -> R<()> {
    let rows = targets.len();
    let mut seats = HashSet::default();
    seats.reserve(rows);
    let mut members = HashSet::default();
    members.reserve(rows);
    for m in d.team_rows() {
        known_target(targets, "teams", m.target_id)?;
        non_empty("inspector id", m.inspector_id)?;
        if !seats.insert((m.target_id, m.position)) {
            return Err(seat_twice(&m).into());
        }
        if !members.insert((m.target_id, m.inspector_id)) {
            return Err(member_twice(&m).into());
        }
    }
    Ok(())
}

fn active(c: &Connection, matter: &str, period: &str) -> R<Option<(i64, String)>> {
    Ok(c.prepare_cached(
        "SELECT id, created_at FROM draws WHERE matter = ?1 AND period = ?2 AND status = 'active'",
    )?
    .query_row([matter, period], |r| Ok((r.get(0)?, r.get(1)?)))
    .optional()?)
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error(),
        Some(err) if err.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
    )
}

fn insert_draw(
    tx: &Transaction<'_>,
    origin: &Origin,
    d: &NewDraw,
    redraw: &Redraw,
    probe: &mut dyn FnMut(&'static str) -> Result<(), StoreError>,
) -> R<i64> {
    check_snapshot(
        tx,
        "targets_snapshot",
        &d.record.targets_snapshot,
        "targets",
    )?;
    check_snapshot(
        tx,
        "inspectors_snapshot",
        &d.record.inspectors_snapshot,
        "inspectors",
    )?;

    let (redraw_of, reason) = supersede_active(tx, d, redraw)?;
    // The draw's rows hash is made as its rows go in (`store::rows::Inserted`).
    let mut hashed = super::rows::Inserted::new();
    let id = insert_draw_row(tx, d, (redraw_of, reason), &mut hashed)?;
    probe("draw")?;
    {
        // The rows go into the draw just made active, which is what every row's
        // `*_active_only` trigger would ask again (a sub-program per row, most of the time an
        // insert takes): this connection skips them for these inserts and only these.
        let _own = OwnRows::start(tx)?;
        insert_draw_rows(tx, id, d, (probe, &mut hashed))?;
    }
    append_draw_audit(tx, origin, id, d, (redraw_of, reason), hashed.finish())?;
    probe("audit")?;
    Ok(id)
}

/// Refuses a second draw for the (matter, period) unless it is a redraw, and marks the draw a
/// redraw replaces superseded: (the replaced draw, the reason).
fn supersede_active<'r>(
    tx: &Transaction<'_>,
    d: &NewDraw,
    redraw: &'r Redraw,
) -> R<(Option<i64>, Option<&'r str>)> {
    let previous = active(tx, &d.record.matter, &d.record.period)?;
    Ok(match (previous, redraw) {
        (Some((draw_id, created_at)), Redraw::No) => {
            return Err(StoreError::AlreadyDrawn {
                draw_id,
                created_at,
            }
            .into());
        }
        (None, Redraw::Yes { .. }) => {
            return Err(StoreError::NothingToRedraw {
                matter: d.record.matter.clone(),
                period: d.record.period.clone(),
            }
            .into());
        }
        (None, Redraw::No) => (None, None),
        (Some((old, _)), Redraw::Yes { replaces, .. }) if replaces.is_some_and(|r| r != old) => {
            return Err(StoreError::DrawSuperseded {
                draw_id: replaces.unwrap_or(old),
            }
            .into());
        }
        (Some((old, _)), Redraw::Yes { reason, .. }) => {
            tx.execute(
                "UPDATE draws SET status = 'superseded' WHERE id = ?1",
                [old],
            )?;
            (Some(old), Some(reason.as_str()))
        }
    })
}

/// The `draws` row; its id. Its values (and its manifest's text, kept in pieces) are hashed
/// into `hashed` as [`super::rows::DRAW`] lists them.
fn insert_draw_row(
    tx: &Transaction<'_>,
    d: &NewDraw,
    (redraw_of, reason): (Option<i64>, Option<&str>),
    hashed: &mut super::rows::Inserted,
) -> R<i64> {
    // A manifest file's text is kept in pieces: the row records its length (`store::pieces`).
    let manifest_len = match &d.manifest_file {
        None => None,
        Some(path) => Some(
            std::fs::metadata(path)
                .map_err(|e| unreadable_manifest(path, &e))?
                .len(),
        ),
    };
    let pieced = manifest_len.map(|len| len.to_string());
    let r = &d.record;
    let manifest = pieced.as_deref().unwrap_or(&r.manifest_json);
    // `?1` to `?14`, the manifest (`?15`), then `?16` to `?19`.
    let (head, tail): ([&dyn ToSql; 14], [&dyn ToSql; 4]) = (
        [
            &r.matter,
            &r.period,
            &r.kind,
            &r.algorithm,
            &r.seed_hex,
            &r.seed_source,
            &r.rules_hash,
            &r.targets_snapshot,
            &r.inspectors_snapshot,
            &r.reference_date,
            &r.issue_date,
            &r.due_date,
            &r.created_at,
            &r.actor,
        ],
        [&r.manifest_hash, &redraw_of, &reason, &r.provisional],
    );
    let mut values: Vec<&dyn ToSql> = Vec::with_capacity(19);
    values.extend(head);
    values.push(&manifest);
    values.extend(tail);
    let inserted = tx.prepare_cached(INSERT_DRAW)?.execute(values.as_slice());
    if let Err(e) = inserted {
        // Only reachable if a writer bypassed the IMMEDIATE lock; the index still holds.
        if is_unique_violation(&e)
            && let Some((draw_id, created_at)) = active(tx, &r.matter, &r.period)?
        {
            return Err(StoreError::AlreadyDrawn {
                draw_id,
                created_at,
            }
            .into());
        }
        return Err(e.into());
    }
    let id = tx.last_insert_rowid();
    hashed.table("draws");
    hashed.row();
    hashed.values(&[&id])?;
    hashed.values(&head)?;
    match (&d.manifest_file, manifest_len) {
        (Some(path), Some(len)) => {
            hashed.text_of_len(len);
            let sha256 = d.manifest_file_sha256.as_deref();
            super::pieces::store(tx, id, (path, sha256), len, Some(&mut *hashed))?;
        }
        _ => hashed.values(&[&manifest])?,
    }
    hashed.values(&tail)?;
    hashed.end_table();
    Ok(id)
}

/// The `draws` row of a new draw; `?15` its manifest's text, or the length of the text kept in
/// pieces.
const INSERT_DRAW: &str = "INSERT INTO draws (matter, period, kind, status, algorithm, seed_hex,
        seed_source, rules_hash, targets_snapshot, inspectors_snapshot, reference_date,
        issue_date, due_date, created_at, actor, manifest_json, manifest_hash, redraw_of,
        redraw_reason, provisional)
     VALUES (?1, ?2, ?3, 'active', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
        ?17, ?18, ?19)";

/// While it lives, this connection's triggers are off: the draw's own rows are being added to
/// it, in the transaction that made it active. Every other statement, of this connection
/// before and after and of every other, meets the triggers; the rows themselves are covered
/// by the draw's rows hash in the audit chain (`store::rows`), which finds a row added later.
struct OwnRows<'a>(&'a Connection);

impl<'a> OwnRows<'a> {
    fn start(tx: &'a Connection) -> R<OwnRows<'a>> {
        use rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_TRIGGER as TRIGGERS;
        tx.set_db_config(TRIGGERS, false)?;
        Ok(OwnRows(tx))
    }
}

impl Drop for OwnRows<'_> {
    fn drop(&mut self) {
        use rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_TRIGGER as TRIGGERS;
        // Setting a flag of an open connection does not fail; if it ever did, the connection
        // would keep refusing nothing, so it is closed rather than used again.
        if let Err(e) = self.0.set_db_config(TRIGGERS, true) {
            tracing::error!("could not turn the database's triggers back on: {e}");
            std::process::abort();
        }
    }
}

/// The places of a draw's target rows, for its member rows, which name their target by its
/// place as well as by its id. Member rows come in the order of their targets, so a target is
/// found at the place the last one named or the next; every place is looked up by id only for
/// a member row out of that order.
#[derive(Default)]
pub(crate) struct Places<'a> {
    ids: Vec<&'a str>,
    last: usize,
    by_id: Option<rustc_hash::FxHashMap<&'a str, usize>>,
}

impl<'a> Places<'a> {
    /// The next target row's id.
    pub(crate) fn push(&mut self, id: &'a str) {
        self.ids.push(id);
    }

    /// The place of the target `target_id`; for a target that is not among them, a place no
    /// target row has, so that the member row's reference to its target refuses it as it
    /// refuses a member of a target not drawn.
    pub(crate) fn of(&mut self, target_id: &str) -> i64 {
        let near = [self.last, self.last + 1]
            .into_iter()
            .find(|&at| self.ids.get(at) == Some(&target_id));
        let at = near.or_else(|| {
            let ids = &self.ids;
            let by_id = self
                .by_id
                .get_or_insert_with(|| ids.iter().enumerate().map(|(at, &id)| (id, at)).collect());
            by_id.get(target_id).copied()
        });
        match at {
            Some(at) => {
                self.last = at;
                at as i64
            }
            None => -1,
        }
    }
}

/// The draw's targets, team members, unstaffed targets and exclusions, in their order, each
/// row's values hashed into `hashed` as [`super::rows::DRAW`] lists them.
fn insert_draw_rows(
    tx: &Transaction<'_>,
    id: i64,
    d: &NewDraw,
    (probe, hashed): (
        &mut dyn FnMut(&'static str) -> Result<(), StoreError>,
        &mut super::rows::Inserted,
    ),
) -> R<()> {
    let mut places = Places::default();
    let mut rows = Hashed::start(tx, INSERT_TARGET, hashed, 10)?;
    for (seq, t) in d.target_rows().enumerate() {
        places.push(t.target_id);
        rows.insert(&[
            &id,
            &(seq as i64),
            &t.stratum,
            &t.rank,
            &t.target_id,
            &t.target_name,
            &t.selected,
            &t.substitute,
            &t.substitute_for,
            &t.rank_key,
        ])?;
    }
    rows.end();
    probe("targets")?;
    // The rows hash leaves out the target's place (the seventh value): it names the target
    // by its id.
    let mut rows = Hashed::start(tx, INSERT_MEMBER, hashed, 6)?;
    for (seq, m) in d.team_rows().enumerate() {
        rows.insert(&[
            &id,
            &(seq as i64),
            &m.target_id,
            &m.position,
            &m.inspector_id,
            &m.inspector_name,
            &places.of(m.target_id),
        ])?;
    }
    rows.end();
    probe("teams")?;
    let mut rows = Hashed::start(tx, INSERT_UNSTAFFED, hashed, 4)?;
    for (seq, u) in d.unstaffed.iter().enumerate() {
        rows.insert(&[&id, &(seq as i64), &u.target_id, &u.reason])?;
    }
    rows.end();
    probe("unstaffed")?;
    let mut rows = Hashed::start(tx, INSERT_EXCLUSION, hashed, 6)?;
    for (seq, x) in d.exclusions.iter().enumerate() {
        let kind = x.entity_kind.as_str();
        let (entity, code) = (&x.entity_id, &x.reason_code);
        rows.insert(&[&id, &(seq as i64), &kind, entity, code, &x.detail])?;
    }
    rows.end();
    probe("exclusions")?;
    Ok(())
}

/// A table of a draw's rows and the insert of one.
type Insert = (&'static str, &'static str);

const INSERT_TARGET: Insert = (
    "draw_targets",
    "INSERT INTO draw_targets (draw_id, seq, stratum, rank, target_id, target_name, selected,
        substitute, substitute_for, rank_key)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
);

const INSERT_MEMBER: Insert = (
    "draw_team_members",
    "INSERT INTO draw_team_members (draw_id, seq, target_id, position, inspector_id,
        inspector_name, target_seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
);

const INSERT_UNSTAFFED: Insert = (
    "draw_unstaffed",
    "INSERT INTO draw_unstaffed (draw_id, seq, target_id, reason) VALUES (?1, ?2, ?3, ?4)",
);

const INSERT_EXCLUSION: Insert = (
    "draw_exclusions",
    "INSERT INTO draw_exclusions (draw_id, seq, entity_kind, entity_id, reason_code, detail)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
);

/// The rows of one of a draw's tables as they are inserted, each hashed (its first
/// `hashed_values`) into the draw's rows hash as they go in.
struct Hashed<'t, 'h> {
    insert: rusqlite::CachedStatement<'t>,
    hashed: &'h mut super::rows::Inserted,
    hashed_values: usize,
}

impl<'t, 'h> Hashed<'t, 'h> {
    fn start(
        tx: &'t Transaction<'_>,
        (table, sql): (&str, &str),
        hashed: &'h mut super::rows::Inserted,
        hashed_values: usize,
    ) -> R<Hashed<'t, 'h>> {
        let insert = tx.prepare_cached(sql)?;
        hashed.table(table);
        Ok(Hashed {
            insert,
            hashed,
            hashed_values,
        })
    }

    fn insert(&mut self, values: &[&dyn ToSql]) -> R<()> {
        self.insert.execute(values)?;
        self.hashed.row();
        self.hashed
            .values(values.get(..self.hashed_values).unwrap_or(values))
    }

    fn end(self) {
        self.hashed.end_table();
    }
}

fn append_draw_audit(
    tx: &Transaction<'_>,
    origin: &Origin,
    id: i64,
    d: &NewDraw,
    (redraw_of, reason): (Option<i64>, Option<&str>),
    rows_hash: String,
) -> R<()> {
    let (action, detail) = draw_audit(id, d, (redraw_of, reason));
    let entry = audit::Entry {
        at: &d.record.created_at,
        actor: &d.record.actor,
        action,
        subject: &format!("draw:{id}"),
        detail: &detail,
        rows: Rows::Draw(id),
    };
    audit::append_hashed(tx, origin, &entry, rows_hash)?;
    Ok(())
}

/// The audit entry's action (`draw.record` or `draw.redraw`) and detail for draw `id`, the
/// same on either database.
pub(crate) fn draw_audit(
    id: i64,
    d: &NewDraw,
    (redraw_of, reason): (Option<i64>, Option<&str>),
) -> (&'static str, DrawAudit) {
    let (action, supersedes, reason) = match (redraw_of, reason) {
        (Some(old), Some(reason)) => ("draw.redraw", Some(old), Some(reason.to_string())),
        _ => ("draw.record", None, None),
    };
    let detail = DrawAudit {
        algorithm: d.record.algorithm.clone(),
        draw_id: id,
        inspectors_snapshot: d.record.inspectors_snapshot.clone(),
        kind: d.record.kind.clone(),
        manifest_hash: d.record.manifest_hash.clone(),
        matter: d.record.matter.clone(),
        period: d.record.period.clone(),
        reason,
        reference_date: d.record.reference_date.clone(),
        rules_hash: d.record.rules_hash.clone(),
        seed_hex: d.record.seed_hex.clone(),
        seed_source: d.record.seed_source.clone(),
        selected: d.target_rows().filter(|t| t.selected).count(),
        supersedes,
        targets_snapshot: d.record.targets_snapshot.clone(),
    };
    (action, detail)
}

impl Store {
    /// Records a draw with all its rows and an audit entry, in one IMMEDIATE transaction.
    ///
    /// With [`Redraw::No`] and an active draw for the same (matter, period) this is refused
    /// with [`StoreError::AlreadyDrawn`]. With [`Redraw::Yes`] the active draw is marked
    /// superseded (and kept), the new one records `redraw_of` and the reason, and the audit
    /// entry (action `draw.redraw`) says so; with no active draw it is refused with
    /// [`StoreError::NothingToRedraw`]. Both snapshots must have been archived first.
    pub fn record_draw(&mut self, d: &NewDraw, redraw: Redraw) -> Result<i64, StoreError> {
        self.record_draw_probed(d, redraw, &mut |_| Ok(()))
    }

    /// [`Store::record_draw`] calling `probe` after each step ("draw", "targets", "teams",
    /// "unstaffed", "exclusions", "audit"), before the commit; an error it returns stops the
    /// recording, nothing recorded. For tests that interrupt a draw midway, and for work that
    /// must be done before a draw is committed (its files).
    #[doc(hidden)]
    pub fn record_draw_probed(
        &mut self,
        d: &NewDraw,
        redraw: Redraw,
        probe: &mut dyn FnMut(&'static str) -> Result<(), StoreError>,
    ) -> Result<i64, StoreError> {
        self.record_draw_checked(d, redraw, None, probe)
    }

    /// [`Store::record_draw_probed`], refused with [`StoreError::LoadsChanged`] (nothing
    /// recorded) when a draw or a change was recorded since `epoch`, read before the loads the
    /// draw carries in (docs/draw-algorithm.md V2-16): the check is made inside the
    /// transaction, so the draw is recorded only with the loads as the records hold them then.
    pub fn record_draw_checked(
        &mut self,
        d: &NewDraw,
        redraw: Redraw,
        epoch: Option<super::LoadsEpoch>,
        probe: &mut dyn FnMut(&'static str) -> Result<(), StoreError>,
    ) -> Result<i64, StoreError> {
        validate(d, &redraw).map_err(|f| f.into_store(&self.path))?;
        let origin = self.origin.clone();
        self.write(|tx| {
            super::changes::require_epoch(tx, epoch)?;
            insert_draw(tx, &origin, d, &redraw, probe)
        })
    }

    /// The active draw for (matter, period), if any.
    pub fn active_draw(&self, matter: &str, period: &str) -> Result<Option<DrawRow>, StoreError> {
        self.read(|c| {
            Ok(query_draws(
                c,
                "d.matter = ?1 AND d.period = ?2 AND d.status = 'active'",
                [matter, period],
            )?
            .into_iter()
            .next())
        })
    }

    /// How many targets draw `id` has drawn (its `draw_targets` rows).
    pub fn draw_target_count(&self, id: i64) -> Result<usize, StoreError> {
        self.read(|c| {
            let n: i64 = c
                .prepare_cached("SELECT count(*) FROM draw_targets WHERE draw_id = ?1")?
                .query_row([id], |r| r.get(0))?;
            Ok(usize::try_from(n).unwrap_or(0))
        })
    }

    /// The matter of every draw, by draw id.
    pub fn draw_matters(&self) -> Result<std::collections::HashMap<i64, String>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare_cached("SELECT id, matter FROM draws")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    pub fn draw(&self, id: i64) -> Result<Option<DrawRow>, StoreError> {
        self.read(|c| Ok(query_draws(c, "d.id = ?1", [id])?.into_iter().next()))
    }

    /// Draws matching `filter`, ordered by matter, period and id.
    pub fn list_draws(&self, filter: &DrawFilter) -> Result<Vec<DrawRow>, StoreError> {
        self.read(|c| {
            query_draws(
                c,
                "(?1 IS NULL OR d.matter = ?1)
                 AND (?2 IS NULL OR substr(d.period, 1, length(?2)) = ?2)
                 AND (?3 OR d.status = 'active')
                 ORDER BY d.matter, d.period, d.id",
                params![
                    filter.matter,
                    filter.period_prefix,
                    filter.include_superseded
                ],
            )
        })
    }

    /// The draws the filter selects, in [`Store::list_draws`]' order, without their manifests.
    pub fn list_draw_heads(&self, filter: &DrawFilter) -> Result<Vec<DrawHead>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(HEADS_SQL)?;
            let rows = stmt.query_map(
                params![
                    filter.matter,
                    filter.period_prefix,
                    filter.include_superseded
                ],
                |r| {
                    Ok((
                        DrawHead {
                            id: r.get(0)?,
                            status: DrawStatus::Active,
                            matter: r.get(2)?,
                            period: r.get(3)?,
                            kind: r.get(4)?,
                            seed_source: r.get(5)?,
                            issue_date: r.get(6)?,
                            created_at: r.get(7)?,
                            actor: r.get(8)?,
                            manifest_hash: r.get(9)?,
                            provisional: r.get(10)?,
                            superseded_by: r.get(11)?,
                        },
                        r.get::<_, String>(1)?,
                    ))
                },
            )?;
            let mut out = Vec::new();
            for row in rows {
                let (mut head, status) = row?;
                head.status = draw_status(head.id, &status)?;
                out.push(head);
            }
            Ok(out)
        })
    }

    /// The recorded manifest of draw `id` (`None` for an unknown id), its pieces joined when
    /// it is kept in pieces (`store::pieces`).
    pub fn manifest_json(&self, id: i64) -> Result<Option<String>, StoreError> {
        self.read(|c| {
            let column: Option<String> = c
                .prepare_cached("SELECT manifest_json FROM draws WHERE id = ?1")?
                .query_row([id], |r| r.get(0))
                .optional()?;
            column
                .map(|text| super::pieces::whole_text(c, id, text))
                .transpose()
        })
    }

    /// Hands draw `id`'s recorded manifest to `read` as a reader of its text, read a piece at a
    /// time (incremental I/O), with the text's length in bytes; false when there is no such
    /// draw.
    pub fn read_manifest(
        &self,
        id: i64,
        read: &mut dyn FnMut(&mut dyn std::io::Read, u64),
    ) -> Result<bool, StoreError> {
        self.read(|c| {
            let found = c
                .prepare_cached("SELECT typeof(manifest_json) = 'text' FROM draws WHERE id = ?1")?
                .query_row([id], |r| r.get::<_, bool>(0))
                .optional()?;
            let Some(text) = found else {
                return Ok(false);
            };
            if !text {
                // Not what the schema allows; read as the column reads.
                let json: String = c
                    .prepare_cached("SELECT manifest_json FROM draws WHERE id = ?1")?
                    .query_row([id], |r| r.get(0))?;
                read(&mut json.as_bytes(), json.len() as u64);
                return Ok(true);
            }
            let mut blob = c.blob_open(rusqlite::MAIN_DB, "draws", "manifest_json", id, true)?;
            if let Some(len) = super::pieces::pieced_blob(&mut blob)? {
                let mut pieces = super::pieces::Pieces::new(c, id, len)?;
                read(
                    &mut std::io::BufReader::with_capacity(super::pieces::PIECE, &mut pieces),
                    len,
                );
                return Ok(true);
            }
            let len = blob.len() as u64;
            read(
                &mut std::io::BufReader::with_capacity(super::pieces::PIECE, blob),
                len,
            );
            Ok(true)
        })
    }

    /// The draw's ranked targets in the order they were recorded (empty for an unknown id).
    pub fn draw_targets(&self, id: i64) -> Result<Vec<DrawnTargetRow>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT stratum, rank, target_id, target_name, selected, substitute,
                        substitute_for, rank_key
                 FROM draw_targets WHERE draw_id = ?1 ORDER BY seq",
            )?;
            let rows = stmt.query_map([id], |r| {
                Ok((
                    r.get::<_, i64>(1)?,
                    DrawnTargetRow {
                        stratum: r.get(0)?,
                        rank: 0,
                        target_id: r.get(2)?,
                        target_name: r.get(3)?,
                        selected: r.get(4)?,
                        substitute: r.get(5)?,
                        substitute_for: r.get(6)?,
                        rank_key: r.get(7)?,
                    },
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (rank, mut t) = row?;
                t.rank = to_u32("draw_targets.rank", rank)?;
                out.push(t);
            }
            Ok(out)
        })
    }

    /// The ids of the targets draw `id` selected (not its substitutes), in no set order.
    pub fn selected_target_ids(&self, id: i64) -> Result<Vec<String>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT target_id FROM draw_targets WHERE draw_id = ?1 AND selected = 1",
            )?;
            let mut rows = stmt.query([id])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push(r.get(0)?);
            }
            Ok(out)
        })
    }

    /// The draw's team members in the order they were recorded.
    pub fn draw_teams(&self, id: i64) -> Result<Vec<TeamRow>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT target_id, position, inspector_id, inspector_name
                 FROM draw_team_members WHERE draw_id = ?1 ORDER BY seq",
            )?;
            let rows = stmt.query_map([id], |r| {
                Ok((
                    r.get::<_, i64>(1)?,
                    TeamRow {
                        target_id: r.get(0)?,
                        position: 0,
                        inspector_id: r.get(2)?,
                        inspector_name: r.get(3)?,
                    },
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (position, mut m) = row?;
                m.position = to_u32("draw_team_members.position", position)?;
                out.push(m);
            }
            Ok(out)
        })
    }

    pub fn draw_unstaffed(&self, id: i64) -> Result<Vec<UnstaffedRow>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT target_id, reason FROM draw_unstaffed WHERE draw_id = ?1 ORDER BY seq",
            )?;
            let rows = stmt.query_map([id], |r| {
                Ok(UnstaffedRow {
                    target_id: r.get(0)?,
                    reason: r.get(1)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    pub fn draw_exclusions(&self, id: i64) -> Result<Vec<ExclusionRow>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT entity_kind, entity_id, reason_code, detail
                 FROM draw_exclusions WHERE draw_id = ?1 ORDER BY seq",
            )?;
            let rows = stmt.query_map([id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (kind, entity_id, reason_code, detail) = row?;
                out.push(ExclusionRow {
                    entity_kind: EntityKind::parse(&kind)?,
                    entity_id,
                    reason_code,
                    detail,
                });
            }
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    /// A draw's own rows skip the triggers, and only while they are inserted: a statement
    /// prepared in that window meets the triggers again once it is over.
    #[test]
    fn own_rows_turn_the_triggers_off_for_their_inserts_only() {
        use rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_TRIGGER as TRIGGERS;
        let dir = tempfile::tempdir().expect("temp dir");
        let store = super::Store::open(dir.path()).expect("store");
        // No draw 1: its trigger refuses the row first, the foreign key when triggers are off.
        let insert = "INSERT INTO draw_exclusions (draw_id, seq, entity_kind, entity_id,
            reason_code, detail) VALUES (1, 0, 'target', 'T1', 'late', '')";
        let refusal = |c: &rusqlite::Connection| {
            c.prepare_cached(insert)
                .and_then(|mut s| s.execute([]))
                .expect_err("refused")
                .to_string()
        };
        store
            .read(|c| {
                assert!(refusal(c).contains("active draw"));
                {
                    let _own = super::OwnRows::start(c)?;
                    assert!(!c.db_config(TRIGGERS)?);
                    assert!(refusal(c).contains("FOREIGN KEY"), "{}", refusal(c));
                }
                assert!(c.db_config(TRIGGERS)?);
                let again = refusal(c);
                assert!(again.contains("active draw"), "{again}");
                Ok(())
            })
            .expect("window");
    }

    /// Listing draws reads the covering index alone: never a `draws` row, whose manifest
    /// SQLite would walk page by page to reach the columns stored after it.
    #[test]
    fn draw_heads_are_read_from_the_covering_index() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = super::Store::open(dir.path()).expect("store");
        let plan: Vec<String> = store
            .read(|c| {
                let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {}", super::HEADS_SQL))?;
                let params = rusqlite::params![None::<String>, None::<String>, true];
                let rows = stmt.query_map(params, |r| r.get::<_, String>(3))?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
            })
            .expect("query plan");
        assert!(
            plan.iter()
                .any(|l| l.contains("USING COVERING INDEX draws_heads")),
            "{plan:?}"
        );
        assert!(
            plan.iter()
                .all(|l| !l.starts_with("SCAN") || l.contains("COVERING INDEX")),
            "no step reads the table: {plan:?}"
        );
        assert!(
            plan.iter().all(|l| !l.contains("TEMP B-TREE")),
            "the index gives the order: {plan:?}"
        );
    }
}
