//! Stored records as versioned types: the details of audit entries and what a publication
//! recorded.
//!
//! These are format version 1, the shapes first written. Each serialises to exactly the bytes
//! earlier versions wrote (compact JSON with object keys in alphabetical order), so entries
//! already in an audit chain hash the same and keep verifying: fields are declared in
//! alphabetical order and optional ones are left out only where they always were.
//! `tests/store.rs` checks this against entries written before these types existed.

use serde::{Deserialize, Serialize};

/// `draw.record` and `draw.redraw`: a draw was recorded (or replaced an active one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrawAudit {
    pub algorithm: String,
    pub draw_id: i64,
    pub inspectors_snapshot: String,
    pub kind: String,
    pub manifest_hash: String,
    pub matter: String,
    pub period: String,
    /// Why the draw replaced another (redraws only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub reference_date: String,
    pub rules_hash: String,
    pub seed_hex: String,
    pub seed_source: String,
    /// How many targets were selected.
    pub selected: usize,
    /// The draw this one replaced (redraws only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<i64>,
    pub targets_snapshot: String,
}

/// `results.record`: results were recorded for one draw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultsAudit {
    pub count: usize,
    pub draw_id: i64,
    pub ids: Vec<i64>,
    /// The result sheets they came from, sorted, each once.
    pub source_files: Vec<String>,
}

/// `publication.record`: results of one draw were made public.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublicationAudit {
    pub draw_id: i64,
    /// What was published (a [`PublicationRecord`] when `suiji publish` wrote it).
    pub files: serde_json::Value,
    pub publication_id: i64,
    /// The results made public (absent when a publication covered all of the draw's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_ids: Option<Vec<i64>>,
    pub results_published: usize,
}

/// `scheduler.caught_up`, `scheduler.skipped`, `scheduler.failed`: what the service did about
/// a draw that was due.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchedulerAudit {
    pub detail: String,
    /// The draw issued, if one was (written as `null` otherwise).
    pub draw_id: Option<i64>,
    pub period: String,
}

/// `rules.reload`: the service took up changed rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RulesReloadAudit {
    pub new: String,
    pub old: String,
    pub why: String,
}

/// `scheduler.lease`: a node took the scheduler's lease on a shared database (PostgreSQL):
/// from then on it alone issues the scheduled draws, until its connection to the database
/// ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseAudit {
    /// The node: its host and process (`host:pid`).
    pub node: String,
}

/// `store.simulation`: the database was marked as a simulation (its times are simulated).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimulationAudit {
    /// The year simulated first.
    pub year: i32,
}

/// What a publication recorded (the `files` column of `publications`): the day it speaks for,
/// when it was recorded, the targets it made public and every file written with its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicationRecord {
    pub as_of: String,
    pub files: Vec<PublishedFile>,
    pub recorded_at: String,
    pub targets: Vec<String>,
}

/// One file of a publication, relative to the output folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedFile {
    pub path: String,
    pub sha256: String,
}

impl PublicationRecord {
    /// The record as the JSON value stored in the `files` column.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scheduler_entry_without_a_draw_writes_null() -> Result<(), serde_json::Error> {
        let a = SchedulerAudit {
            detail: "skipped".into(),
            draw_id: None,
            period: "2023-H1".into(),
        };
        assert_eq!(
            serde_json::to_string(&a)?,
            r#"{"detail":"skipped","draw_id":null,"period":"2023-H1"}"#
        );
        Ok(())
    }

    #[test]
    fn a_publication_record_round_trips() -> Result<(), serde_json::Error> {
        let text = r#"{"as_of":"2023-04-03","files":[{"path":"public/a.html","sha256":"ab"}],"recorded_at":"2023-04-03T12:00:00+08:00","targets":["T1","T2"]}"#;
        let r: PublicationRecord = serde_json::from_str(text)?;
        assert_eq!(serde_json::to_string(&r)?, text);
        assert_eq!(serde_json::to_string(&r.to_value())?, text);
        Ok(())
    }
}
