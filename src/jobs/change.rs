//! Changes after a draw (`suiji change`, the draw's page in the console): a drawn target found
//! closed, moved or outside the scope replaced by its stratum's next substitute (替补) or marked
//! out of scope without one (不在范围), a team member who is ill or transferred replaced by
//! the next eligible inspector (人员调整). The replacement is decided by `draw::changes` from
//! the manifest and the draw's archived registry and rules, never chosen by the user, and the
//! change is recorded and audited with its reason, user and time; the draw is never edited.
//! `verify` replays every change of a draw the same way ([`check`]).

use std::collections::BTreeMap;

use crate::diag::{Fault, Problem, Report};
use crate::draw::TeamSpec;
use crate::draw::changes::{Eligibility, Kind, Refusal, State, Step};
use crate::draw::manifest::Manifest;
use crate::registry::types::{Inspector, Target};
use crate::store::{DrawChange, DrawStatus, DrawStore, Store, StoreError};

/// Why a target is replaced.
pub const TARGET_CAUSES: &[&str] = &["closed", "moved", "out_of_scope"];
/// Why an inspector is replaced; `conflict` (a 回避 found after the draw) takes the inspector
/// off this target only, the others off the whole draw.
pub const INSPECTOR_CAUSES: &[&str] = &["ill", "transferred", "conflict", "other"];

/// A change to make now.
#[derive(Debug, Clone)]
pub struct Input {
    pub draw_id: i64,
    pub target_id: String,
    /// The team member to replace; `None` for a target change.
    pub inspector_id: Option<String>,
    /// One of [`TARGET_CAUSES`] or [`INSPECTOR_CAUSES`].
    pub cause: String,
    /// A target marked out of scope without a substitute.
    pub no_replacement: bool,
    /// The replacement the user expects (as listed): refused if it is not the one the rules give.
    pub expect: Option<String>,
    pub reason: String,
    pub actor: String,
    /// Now, "YYYY-MM-DDTHH:MM:SS+08:00".
    pub now: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error(transparent)]
    Setup(#[from] super::SetupError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no draw #{0} is recorded")]
    NoSuchDraw(i64),
    #[error("抽取编号 {0} matches no recorded draw")]
    NoSuchRef(String),
    #[error("抽取编号 {given} matches {count} draws")]
    AmbiguousRef { given: String, count: usize },
    #[error("draw #{id} was superseded by draw #{by}: change the draw that replaced it")]
    Superseded { id: i64, by: i64 },
    #[error("`{given}` is not a cause of {what}; use one of: {}", allowed.join(", "))]
    BadCause {
        given: String,
        what: &'static str,
        allowed: &'static [&'static str],
    },
    #[error("a change needs a reason")]
    NoReason,
    #[error("only a target found out of scope may stay without a substitute")]
    MarkOnlyOutOfScope,
    #[error("draw #{draw}: {refusal}")]
    Refused { draw: i64, refusal: Refusal },
    #[error("draw #{draw} cannot be read: {detail}")]
    Unreadable { draw: i64, detail: String },
    #[error(
        "target {target} of draw #{draw} has {results} result(s) recorded{}: {}",
        if *published { ", published" } else { "" },
        if *team {
            "the team of an inspected target is not changed (its results name who signed them)"
        } else {
            "an inspected target is not replaced or marked out of scope"
        }
    )]
    Inspected {
        draw: i64,
        target: String,
        results: usize,
        published: bool,
        /// An inspector change (人员调整) was asked for, not a target change.
        team: bool,
    },
}

impl Problem for ChangeError {
    fn fault(&self) -> Fault {
        match self {
            ChangeError::Setup(e) => e.fault(),
            ChangeError::Store(StoreError::Invalid { .. }) => Fault::Invalid,
            ChangeError::Store(e) => e.fault(),
            ChangeError::Unreadable { .. } => Fault::Failed,
            _ => Fault::Invalid,
        }
    }

    fn report(&self) -> Report {
        let help: &[&str] = match self {
            ChangeError::Store(e) => return e.report(),
            ChangeError::Setup(e) => return e.report(),
            ChangeError::NoSuchDraw(_) | ChangeError::NoSuchRef(_) => {
                &["`suiji draws` lists the draws with their numbers"]
            }
            ChangeError::AmbiguousRef { .. } => {
                &["give all 12 characters of the 抽取编号 as printed on the task list"]
            }
            ChangeError::Refused { refusal, .. } => match refusal {
                Refusal::NoSubstituteLeft { .. } | Refusal::NoSubstitutes(_) => &[
                    "further ranks follow from the same ranking (docs/draw-algorithm.md V2-13): ask for a redraw, or mark the target out of scope without a substitute",
                ],
                Refusal::WrongOrder { .. } | Refusal::WrongInspector { .. } => &[
                    "substitutes and replacement inspectors are taken in the order the draw fixed; `suiji change list DRAW` shows the next one",
                ],
                _ => &["`suiji change list DRAW` shows the draw's targets, teams and changes"],
            },
            _ => &[],
        };
        Report::error(crate::diag::chain(self), help)
    }
}

/// The database the config names, opened for writing (files an interrupted job left staged
/// put in place), and the bureau's time zone; the rules need not load.
pub fn open(config: &std::path::Path) -> Result<(Store, chrono_tz::Tz), ChangeError> {
    let config = crate::rules::load_config(config).map_err(super::SetupError::Config)?;
    let store = Store::open(&config.data_dir)?;
    super::sweep::restore(&config.output_dir, &store);
    Ok((store, config.timezone))
}

/// [`open`], on the PostgreSQL database at `database` when one is named (the draw files a
/// crash left staged put in place there too).
pub fn open_on(
    config: &std::path::Path,
    database: Option<&crate::store::pg::Place>,
) -> Result<(Box<dyn DrawStore>, chrono_tz::Tz), ChangeError> {
    let Some(url) = database else {
        let (store, tz) = open(config)?;
        return Ok((Box::new(store), tz));
    };
    let config = crate::rules::load_config(config).map_err(super::SetupError::Config)?;
    let store = crate::store::pg::PgStore::open_at(url)?;
    super::sweep::restore(&config.output_dir, &store);
    Ok((Box::new(store), config.timezone))
}

/// The number of the draw whose 抽取编号 (the start of its manifest's hash, lowercase) is
/// `given`, among every recorded draw (a superseded one too: changing it is refused by name).
pub fn draw_of_ref(store: &dyn DrawStore, given: &str) -> Result<i64, ChangeError> {
    let every = crate::store::DrawFilter {
        include_superseded: true,
        ..crate::store::DrawFilter::default()
    };
    let heads = store.list_draw_heads(&every)?;
    let found: Vec<i64> = heads
        .iter()
        .filter(|h| h.manifest_hash.starts_with(given))
        .map(|h| h.id)
        .collect();
    match found[..] {
        [id] => Ok(id),
        [] => Err(ChangeError::NoSuchRef(given.to_string())),
        _ => Err(ChangeError::AmbiguousRef {
            given: given.to_string(),
            count: found.len(),
        }),
    }
}

/// A change made: the record and what it leaves.
#[derive(Debug, Clone)]
pub struct Changed {
    pub change: DrawChange,
    /// Members of the substitute's inherited team with a 回避 for it, declared or by the
    /// matter's `conflict` hook (to replace with cause `conflict`).
    pub conflicts: Vec<Inherited>,
}

/// A draw's manifest and its recorded changes.
pub struct Changes {
    pub manifest: Manifest,
    pub changes: Vec<DrawChange>,
    pub state: State,
}

/// Reads draw `id` with its changes, replayed (refusing a superseded draw when `active`).
pub fn load(store: &dyn DrawStore, id: i64, active: bool) -> Result<Changes, ChangeError> {
    let row = store.draw(id)?.ok_or(ChangeError::NoSuchDraw(id))?;
    if active && row.status != DrawStatus::Active {
        return Err(ChangeError::Superseded {
            id,
            by: row.superseded_by.unwrap_or_default(),
        });
    }
    let manifest: Manifest =
        serde_json::from_str(&row.record.manifest_json).map_err(|e| ChangeError::Unreadable {
            draw: id,
            detail: e.to_string(),
        })?;
    let changes = store.changes_of(id)?;
    let state = replay(&manifest, &changes, id)?;
    Ok(Changes {
        manifest,
        changes,
        state,
    })
}

/// Draw `id` (manifest `m`) as `changes` left it, the recorded replacements taken as they
/// were (`check` decides whether each was right).
pub(crate) fn replay(m: &Manifest, changes: &[DrawChange], id: i64) -> Result<State, ChangeError> {
    let steps: Vec<Step> = changes.iter().map(Step::of_change).collect();
    match State::replayed(m, &steps) {
        (state, None) => Ok(state),
        (_, Some((_, refusal))) => Err(ChangeError::Refused { draw: id, refusal }),
    }
}

fn validate(input: &Input) -> Result<(), ChangeError> {
    let (what, allowed) = if input.inspector_id.is_some() {
        ("an inspector change", INSPECTOR_CAUSES)
    } else {
        ("a target change", TARGET_CAUSES)
    };
    if !allowed.contains(&input.cause.as_str()) {
        return Err(ChangeError::BadCause {
            given: input.cause.clone(),
            what,
            allowed,
        });
    }
    if input.reason.trim().is_empty() {
        return Err(ChangeError::NoReason);
    }
    if input.no_replacement && input.cause != "out_of_scope" {
        return Err(ChangeError::MarkOnlyOutOfScope);
    }
    Ok(())
}

/// How many times a change is decided again when a draw or change recorded meanwhile (by
/// another process) moved the loads it was decided from.
const ATTEMPTS: usize = 3;

/// Makes the change `input` asks for, after checking it against the draw and its earlier
/// changes; the replacement is the one the rules give (the user's `expect` only confirms it).
/// A 人员调整 in a `suiji-draw/2` draw counts the loads of the period's other draws as they
/// stand when it is recorded (rule 2, docs/draw-algorithm.md V2-16 item 5): when a draw or a
/// change is recorded between reading them and recording it, it is decided again.
pub fn record(store: &mut dyn DrawStore, input: &Input) -> Result<Changed, ChangeError> {
    record_under(store, input, crate::store::CHANGE_RULE)
}

/// [`record`] deciding the change by `rule` (1: as changes were decided before rule 2, for
/// tests that make the records an older suiji made).
#[doc(hidden)]
pub fn record_under(
    store: &mut dyn DrawStore,
    input: &Input,
    rule: u32,
) -> Result<Changed, ChangeError> {
    let mut attempt = 1;
    loop {
        match record_once(store, input, rule) {
            Err(ChangeError::Store(StoreError::LoadsChanged)) if attempt < ATTEMPTS => {
                attempt += 1;
            }
            done => return done,
        }
    }
}

/// Refuses a change of `target` in `draw` once results of its inspection are recorded: the
/// inspection happened (and may be public), so the target was neither closed before it nor
/// out of scope, a substitute would be a second inspection the draw never made, and its team
/// is the one whose members signed the results.
fn not_inspected(
    store: &dyn DrawStore,
    draw: i64,
    target: &str,
    kind: Kind,
) -> Result<(), ChangeError> {
    let results: Vec<_> = store
        .results(draw)?
        .into_iter()
        .filter(|r| r.target_id == target)
        .collect();
    if results.is_empty() {
        return Ok(());
    }
    Err(ChangeError::Inspected {
        draw,
        target: target.to_string(),
        results: results.len(),
        published: results.iter().any(|r| r.published_at.is_some()),
        team: kind == Kind::Inspector,
    })
}

/// Whether a change of draw `m` counts the loads of the period's other draws (rule 2 for a
/// 人员调整 in a `suiji-draw/2` draw; version 1 counts each draw alone, §8).
fn counts_the_period(m: &Manifest, rule: u32, kind: Kind) -> bool {
    rule >= crate::store::CHANGE_RULE
        && kind == Kind::Inspector
        && m.algorithm == crate::draw::Algorithm::V2.name()
}

fn record_once(
    store: &mut dyn DrawStore,
    input: &Input,
    rule: u32,
) -> Result<Changed, ChangeError> {
    validate(input)?;
    let draw = input.draw_id;
    let Changes {
        manifest: m,
        changes,
        mut state,
    } = load(store, draw, true)?;
    let refused = |refusal| ChangeError::Refused { draw, refusal };
    let kind = if input.inspector_id.is_some() {
        "inspector"
    } else {
        "target"
    };
    let mut step = Step::recorded(
        kind,
        &input.cause,
        &input.target_id,
        input.inspector_id.as_deref(),
        input.expect.as_deref(),
    );
    let mut conflicts = Vec::new();
    let mut epoch = None;
    not_inspected(store, draw, &input.target_id, step.kind)?;
    match step.kind {
        Kind::Target if input.no_replacement => {
            step.replacement = None;
            // Only a visit that stands is marked: not one replaced or marked before.
            state
                .apply(&m, &step, &mut |_, _, _| Ok(String::new()))
                .map_err(refused)?;
        }
        Kind::Target => {
            let next = state
                .next_substitute(&m, &input.target_id)
                .map_err(refused)?;
            step.replacement = Some(input.expect.clone().unwrap_or(next.target_id.clone()));
            state
                .apply(&m, &step, &mut |_, _, _| Ok(String::new()))
                .map_err(refused)?;
            conflicts = inherited_conflicts(store, &m, &state, (draw, &next.target_id))?;
        }
        Kind::Inspector => {
            let inputs = Inputs::of(store, &m, &[input.target_id.as_str()])
                .map_err(|detail| ChangeError::Unreadable { draw, detail })?;
            let unreadable = |detail| ChangeError::Unreadable { draw, detail };
            let others = if counts_the_period(&m, rule, step.kind) {
                epoch = Some(store.loads_epoch()?);
                let scope = super::loads::Scope::of(&m);
                let now = super::loads::AsOf::Now;
                Some(super::loads::period_loads(store, &scope, None, now).map_err(unreadable)?)
            } else {
                None
            };
            let mut chosen = None;
            state
                .apply(&m, &step, &mut |s, i, out| {
                    let r = inputs.next(&m, s, i, out, others.as_ref());
                    chosen = r.as_ref().ok().cloned();
                    r
                })
                .map_err(refused)?;
            step.replacement = chosen;
        }
    }
    let mut change = change_of(input, step);
    let decided = crate::store::Decided { epoch, rule };
    change.id = store.record_change(&change, changes.len(), decided)?;
    Ok(Changed { change, conflicts })
}

/// The change `input` asks for, as `step` decided it (its id given when it is recorded).
fn change_of(input: &Input, step: Step) -> DrawChange {
    DrawChange {
        id: 0,
        draw_id: input.draw_id,
        kind: if step.kind == Kind::Inspector {
            "inspector"
        } else {
            "target"
        }
        .into(),
        cause: input.cause.clone(),
        target_id: input.target_id.clone(),
        inspector_id: input.inspector_id.clone(),
        replacement: step.replacement,
        reason: input.reason.trim().to_string(),
        actor: input.actor.clone(),
        changed_at: input.now.clone(),
    }
}

/// A member of the team a substitute took over who has a 回避 with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inherited {
    pub inspector_id: String,
    /// Declared (the registry's 回避 column names the substitute), or found by the matter's
    /// `conflict` hook.
    pub declared: bool,
}

/// Members of the team the substitute `id` took over who have a 回避 with it: declared (V2-5),
/// or by the matter's `conflict` hook, run on the substitute as the team step runs it (a hook
/// failure refuses the change).
fn inherited_conflicts(
    store: &dyn DrawStore,
    m: &Manifest,
    state: &State,
    (draw, id): (i64, &str),
) -> Result<Vec<Inherited>, ChangeError> {
    let Some(v) = state.standing_visits().find(|v| v.target_id == id) else {
        return Ok(Vec::new());
    };
    if v.team.is_empty() {
        return Ok(Vec::new());
    }
    let inputs =
        Inputs::of(store, m, &[id]).map_err(|detail| ChangeError::Unreadable { draw, detail })?;
    members_with_conflict(&inputs, m, (id, &v.team)).map_err(|e| ChangeError::Refused {
        draw,
        refusal: Refusal::Hook(e),
    })
}

/// The substitutes taken in whose team, taken over from the visit they replace, still has a
/// member with a 回避 for them (declared, or by the matter's `conflict` hook): (substitute,
/// those members), in the order the substitutes were taken in. Members replaced since (cause
/// `conflict`) are no longer on the team, so no longer listed. A hook that fails is an error.
pub fn inherited(
    store: &dyn DrawStore,
    id: i64,
    changes: &Changes,
) -> Result<Vec<(String, Vec<Inherited>)>, ChangeError> {
    let m = &changes.manifest;
    let visits: Vec<_> = changes
        .state
        .standing_visits()
        .filter(|v| v.replaces.is_some() && !v.team.is_empty())
        .collect();
    if visits.is_empty() {
        return Ok(Vec::new());
    }
    let unreadable = |detail| ChangeError::Unreadable { draw: id, detail };
    let ids: Vec<&str> = visits.iter().map(|v| v.target_id.as_str()).collect();
    let inputs = Inputs::of(store, m, &ids).map_err(unreadable)?;
    let mut out = Vec::new();
    for v in visits {
        let found = members_with_conflict(&inputs, m, (&v.target_id, &v.team)).map_err(|e| {
            ChangeError::Refused {
                draw: id,
                refusal: Refusal::Hook(e),
            }
        })?;
        if !found.is_empty() {
            out.push((v.target_id.clone(), found));
        }
    }
    Ok(out)
}

/// The members of `team` with a 回避 for target `id`: declared first, else by the matter's
/// `conflict` hook (its failure is the error).
fn members_with_conflict(
    inputs: &Inputs,
    m: &Manifest,
    (id, team): (&str, &[String]),
) -> Result<Vec<Inherited>, String> {
    let target = inputs.target(id);
    let name = target.map(|t| t.name.clone()).unwrap_or_default();
    let eligibility = inputs.eligibility(m, None);
    let mut out = Vec::new();
    for x in team {
        let Some(i) = inputs
            .archived
            .registry
            .inspectors
            .iter()
            .find(|i| &i.id == x)
        else {
            continue;
        };
        let declared = eligibility.declares(i, id, &name);
        let hook = !declared && inputs.hook_conflict(m, i, target)?;
        if declared || hook {
            out.push(Inherited {
                inspector_id: x.clone(),
                declared,
            });
        }
    }
    Ok(out)
}

/// What deciding a replacement inspector reads: the draw's archived rules and inspectors,
/// and the rows of its archived target snapshot of the visits concerned (read in one pass
/// over the snapshot, holding only those rows).
struct Inputs {
    archived: super::verify::Archived,
    registry_index: std::collections::HashMap<String, usize>,
    spec: TeamSpec,
}

impl Inputs {
    fn of(store: &dyn DrawStore, m: &Manifest, targets: &[&str]) -> Result<Inputs, String> {
        let wanted: std::collections::HashSet<&str> = targets.iter().copied().collect();
        let archived = super::verify::archived_with(m, store, |id| wanted.contains(id))?;
        let matter = archived
            .loaded
            .model
            .matter(&m.matter)
            .ok_or_else(|| format!("the archived rules have no matter {}", m.matter))?;
        let spec = super::issue::joint_team(matter)
            .unwrap_or_else(|| crate::draw::pipeline::matter_team(matter));
        let registry_index = archived
            .registry
            .targets
            .iter()
            .enumerate()
            .map(|(i, t)| (t.id.clone(), i))
            .collect();
        Ok(Inputs {
            archived,
            registry_index,
            spec,
        })
    }

    fn target(&self, id: &str) -> Option<&Target> {
        self.registry_index
            .get(id)
            .map(|&i| &self.archived.registry.targets[i])
    }

    fn eligibility<'a>(
        &'a self,
        m: &Manifest,
        others: Option<&'a BTreeMap<String, u32>>,
    ) -> Eligibility<'a> {
        Eligibility {
            spec: &self.spec,
            inspectors: &self.archived.registry.inspectors,
            version_1: m.algorithm == crate::draw::ALGORITHM_VERSION,
            others,
        }
    }

    /// The matter's `conflict` hook for inspector `x` and `target` (false without a hook or a
    /// target row); an error when it throws or answers anything but true or false.
    fn hook_conflict(
        &self,
        m: &Manifest,
        x: &Inspector,
        target: Option<&Target>,
    ) -> Result<bool, String> {
        let loaded = &self.archived.loaded;
        let hook = loaded
            .model
            .matter(&m.matter)
            .and_then(|x| x.conflict.as_ref());
        let (Some(hook), Some(t)) = (hook, target) else {
            return Ok(false);
        };
        let answer = loaded.sandbox.call(
            hook,
            crate::script::inspector_map(x),
            crate::script::target_map(t),
        );
        match answer {
            Ok(v) => v
                .as_bool()
                .map_err(|got| format!("{} answered {got}, not true or false", hook.function)),
            Err(e) => Err(e.to_string()),
        }
    }

    /// The inspector who replaces `out` on visit `i`; `others`: the loads of the period's
    /// other draws when the change counts them (rule 2), else the manifest's `carried_loads`.
    fn next(
        &self,
        m: &Manifest,
        s: &State,
        i: usize,
        out: &str,
        others: Option<&BTreeMap<String, u32>>,
    ) -> Result<String, Refusal> {
        let id = &s.visits[i].target_id;
        let target = self.target(id);
        let name = target.map(|t| t.name.clone()).unwrap_or_default();
        let mut conflict = |x: &Inspector| self.hook_conflict(m, x, target);
        self.eligibility(m, others)
            .next((m, s, i), out, &name, &mut conflict)
    }
}

/// Replays every change of draw `id` over its manifest: each substitute must be the next unused
/// one of its stratum in rank order, each replacement inspector the next eligible one. The
/// problems found, one line each (none when every change is the one the rules give).
pub fn check(store: &dyn DrawStore, m: &Manifest, id: i64) -> Vec<String> {
    let changes = match store.changes_of(id) {
        Ok(c) => c,
        Err(e) => return vec![format!("the changes of draw #{id} cannot be read: {e}")],
    };
    if changes.is_empty() {
        return Vec::new();
    }
    let inspected: Vec<&str> = changes
        .iter()
        .filter(|c| c.kind == "inspector")
        .map(|c| c.target_id.as_str())
        .collect();
    let inputs = if !inspected.is_empty() {
        match Inputs::of(store, m, &inspected) {
            Ok(i) => Some(i),
            Err(e) => return vec![format!("the changes of draw #{id} cannot be checked: {e}")],
        }
    } else {
        None
    };
    // Changes of rule 2 count the period's other draws as they stood when each was recorded.
    let order = if changes.iter().any(|c| c.kind == "inspector") {
        match store.audit_order() {
            Ok(o) => o,
            Err(e) => return vec![format!("the audit log cannot be read: {e}")],
        }
    } else {
        crate::store::AuditOrder::default()
    };
    let mut state = State::new(m);
    let mut out = Vec::new();
    for c in &changes {
        let step = Step::of_change(c);
        let rule = order.rules.get(&c.id).copied().unwrap_or(1);
        let others = match order.changes.get(&c.id) {
            Some(&at) if counts_the_period(m, rule, step.kind) => {
                let as_of = super::loads::AsOf::Entry(&order, at);
                match super::loads::period_loads(store, &super::loads::Scope::of(m), None, as_of) {
                    Ok(loads) => Some(loads),
                    Err(e) => {
                        out.push(format!("change #{}: the loads of its period: {e}", c.id));
                        continue;
                    }
                }
            }
            _ => None,
        };
        let result = state.apply(m, &step, &mut |s, i, x| match &inputs {
            Some(inputs) => inputs.next(m, s, i, x, others.as_ref()),
            None => Err(Refusal::Hook("no archived inputs".into())),
        });
        if let Err(e) = result {
            out.push(format!(
                "change #{} ({} {}): {e}",
                c.id, c.kind, c.target_id
            ));
            // Later changes are replayed over the change as recorded.
            let given = c.replacement.clone().unwrap_or_default();
            let _ = state.apply(m, &step, &mut |_, _, _| Ok(given.clone()));
        }
    }
    out
}
