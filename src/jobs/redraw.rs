//! Redraws through the console: an operator asks (with a reason and the witnessed seed), an
//! approver (法制审核) decides; an approval makes the redraw at once, recorded with the operator
//! who asked, and the old draw is kept. The CLI's `suiji draw --redraw` stays as it is.

use crate::diag::{Fault, Problem, Report};
use crate::rules::Loaded;
use crate::store::{Store, StoreError};

/// A request for a redraw.
#[derive(Debug, Clone)]
pub struct Ask {
    /// The active draw to replace.
    pub draw_id: i64,
    pub reason: String,
    /// The witnessed seed text the redraw will use.
    pub seed: String,
    pub actor: String,
    pub at: String,
}

/// A request as listed.
#[derive(Debug, Clone)]
pub struct Request {
    pub id: i64,
    pub draw_id: i64,
    pub matter: String,
    pub period: String,
    pub reason: String,
    pub requested_by: String,
    pub requested_at: String,
    /// (approved, by whom, when, the new draw), once decided.
    pub decided: Option<(bool, String, String, Option<i64>)>,
}

/// A decision on request `id`.
#[derive(Debug, Clone)]
pub struct Decide {
    pub id: i64,
    pub approve: bool,
    pub actor: String,
    pub at: String,
}

#[derive(Debug, thiserror::Error)]
pub enum RedrawError {
    #[error("no redraw request #{0}")]
    NoRequest(i64),
    #[error("redraw request #{0} was already decided")]
    Decided(i64),
    #[error("the one who asked for a redraw cannot approve it")]
    OwnRequest,
    #[error("a redraw needs a reason")]
    NoReason,
    #[error("draw #{0} is not the active draw of its period any more")]
    NotActive(i64),
    #[error(transparent)]
    Draw(#[from] super::draw::DrawError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Problem for RedrawError {
    fn fault(&self) -> Fault {
        match self {
            RedrawError::Draw(e) => e.fault(),
            RedrawError::Store(StoreError::Invalid { .. }) => Fault::Invalid,
            RedrawError::Store(_) => Fault::Failed,
            _ => Fault::Invalid,
        }
    }

    fn report(&self) -> Report {
        match self {
            RedrawError::Draw(e) => e.report(),
            other => Report::error(crate::diag::chain(other), &[]),
        }
    }
}

/// Records a request to redraw an active draw.
pub fn ask(store: &mut Store, a: &Ask) -> Result<i64, RedrawError> {
    if a.reason.trim().is_empty() {
        return Err(RedrawError::NoReason);
    }
    match store.draw(a.draw_id)? {
        Some(d) if d.status == crate::store::DrawStatus::Active => {}
        _ => return Err(RedrawError::NotActive(a.draw_id)),
    }
    Ok(store.ask_redraw(a.draw_id, a.reason.trim(), &a.seed, &a.actor, &a.at)?)
}

/// Every request, newest first.
pub fn list(store: &Store) -> Result<Vec<Request>, StoreError> {
    Ok(store
        .redraw_requests()?
        .into_iter()
        .map(|r| Request {
            id: r.id,
            draw_id: r.draw_id,
            matter: r.matter,
            period: r.period,
            reason: r.reason,
            requested_by: r.requested_by,
            requested_at: r.requested_at,
            decided: r.decision.map(|(a, by, at)| (a, by, at, r.new_draw_id)),
        })
        .collect())
}

/// Decides a request; an approval draws again now (the operator who asked is the draw's
/// actor). Returns the new draw. `sees` says whether the approver's department covers a matter.
pub fn decide(
    loaded: &Loaded,
    store: &mut Store,
    d: &Decide,
    sees: impl Fn(&str) -> bool,
) -> Result<Option<i64>, RedrawError> {
    let req = store
        .redraw_request(d.id)?
        .filter(|r| sees(&r.matter))
        .ok_or(RedrawError::NoRequest(d.id))?;
    if req.decision.is_some() {
        return Err(RedrawError::Decided(d.id));
    }
    if req.requested_by == d.actor {
        return Err(RedrawError::OwnRequest);
    }
    if !d.approve {
        store.decide_redraw(d.id, false, None, &d.actor, &d.at)?;
        return Ok(None);
    }
    match store.draw(req.draw_id)? {
        Some(old) if old.status == crate::store::DrawStatus::Active => {}
        _ => return Err(RedrawError::NotActive(req.draw_id)),
    }
    let input = super::draw::Input {
        matter: req.matter.clone(),
        period: req.period.clone(),
        seed: super::issue::seed::SeedChoice::Given(req.seed_text.clone()),
        reveal: None,
        dry_run: false,
        redraw: Some(format!("{}（{} 批准）", req.reason, d.actor)),
        actor: req.requested_by.clone(),
        now: d.at.clone(),
    };
    let drawn = super::draw::run_as(loaded, &input, Some(store.origin()))?;
    let new = drawn.issued.draw_id;
    store.decide_redraw(d.id, true, new, &d.actor, &d.at)?;
    Ok(new)
}
