//! The recorded draws (`suiji draws`).

use chrono::{NaiveDateTime, NaiveTime};

use crate::schedule::marks::DrawMarks;
use crate::store::{DrawFilter, DrawRow, Store, StoreError};

/// A recorded draw, how many targets it lists, and how it was made.
#[derive(Debug, Clone)]
pub struct Listed {
    pub draw: DrawRow,
    pub targets: usize,
    /// When it was really drawn, late (补抽), provisional (临时), simulated (模拟).
    pub marks: DrawMarks,
}

/// The draws the filter selects, in the store's order.
pub fn run(store: &Store, filter: &DrawFilter) -> Result<Vec<Listed>, StoreError> {
    let simulation = store.is_simulation()?;
    store
        .list_draws(filter)?
        .into_iter()
        .map(|draw| {
            Ok(Listed {
                targets: store.draw_targets(draw.id)?.len(),
                marks: marks(&draw, simulation),
                draw,
            })
        })
        .collect()
}

/// The marks of a recorded draw: its scheduled issue time is the manifest's `issue_at`
/// (the start of its issue day if the manifest cannot say).
pub fn marks(draw: &DrawRow, simulation: bool) -> DrawMarks {
    let issue_at = serde_json::from_str::<serde_json::Value>(&draw.record.manifest_json)
        .ok()
        .and_then(|m| {
            m.get("issue_at")
                .and_then(|v| v.as_str())
                .and_then(|s| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").ok())
        });
    let scheduled = issue_at.unwrap_or_else(|| {
        chrono::NaiveDate::parse_from_str(&draw.record.issue_date, "%Y-%m-%d")
            .unwrap_or_default()
            .and_time(NaiveTime::MIN)
    });
    DrawMarks::of(
        &draw.record.created_at,
        scheduled,
        draw.record.provisional,
        simulation,
    )
}
