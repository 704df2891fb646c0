//! The store methods a draw needs from being issued to being verified, one interface over
//! both databases: the SQLite file ([`Store`]) and PostgreSQL ([`super::pg::PgStore`]).
//!
//! `suiji draw`, `suiji draws` and `suiji verify` (and the jobs under them: issuing a draw,
//! its history, the loads its inspectors carry in, the replay of its changes, the re-run from
//! its archived inputs) work through this trait alone, so they run on either database with
//! the same invariants: one active draw per (matter, period) by a partial unique index, every
//! draw one transaction with its audit entry, the chain's head appended in turn.

use std::path::PathBuf;

use super::pg::PgStore;

use super::{
    AuditLog, AuditOrder, Commitment, Decided, DrawChange, DrawFilter, DrawHead, DrawRow,
    DrawnTargetRow, ExclusionRow, LoadsEpoch, NewDraw, Origin, Redraw, ResultFact, ResultRow,
    RuleStore, SnapshotKind, Store, StoreError, TeamRow, UnstaffedRow,
};

/// A database that records, lists and re-reads draws.
pub trait DrawStore: AuditLog + RuleStore {
    /// The database as messages show it (a file path, or a URL without its password).
    fn shown(&self) -> String;
    /// Who writes through this handle (recorded with every audit entry).
    fn origin(&self) -> &Origin;
    /// Records writes from now on as made by `origin`.
    fn set_origin(&mut self, origin: Origin);
    /// The SQLite store, for what differs there (anchors, kept in `anchors.json`); `None` on
    /// PostgreSQL.
    fn sqlite(&mut self) -> Option<&mut Store>;
    /// The PostgreSQL store, for what differs there (anchors, kept in the database); `None` on
    /// SQLite.
    fn postgres(&mut self) -> Option<&mut PgStore>;
    /// Whether `suiji simulate` made this database.
    fn is_simulation(&self) -> Result<bool, StoreError>;
    /// The active draw for (matter, period), if any.
    fn active_draw(&self, matter: &str, period: &str) -> Result<Option<DrawRow>, StoreError>;
    /// Draw `id`, if recorded.
    fn draw(&self, id: i64) -> Result<Option<DrawRow>, StoreError>;
    /// Draws matching `filter`, ordered by matter, period (bytewise) and id.
    fn list_draws(&self, filter: &DrawFilter) -> Result<Vec<DrawRow>, StoreError>;
    /// As [`DrawStore::list_draws`], without the manifests.
    fn list_draw_heads(&self, filter: &DrawFilter) -> Result<Vec<DrawHead>, StoreError>;
    /// The recorded manifest of draw `id`.
    fn manifest_json(&self, id: i64) -> Result<Option<String>, StoreError>;
    /// Hands draw `id`'s recorded manifest to `read` as a reader of its text (on SQLite read a
    /// piece at a time, never held whole), with the text's length in bytes; false when there
    /// is no such draw.
    fn read_manifest(
        &self,
        id: i64,
        read: &mut dyn FnMut(&mut dyn std::io::Read, u64),
    ) -> Result<bool, StoreError> {
        let Some(text) = self.manifest_json(id)? else {
            return Ok(false);
        };
        read(&mut text.as_bytes(), text.len() as u64);
        Ok(true)
    }
    /// How many targets draw `id` ranked.
    fn draw_target_count(&self, id: i64) -> Result<usize, StoreError>;
    /// The draw's ranked targets, in their recorded order.
    fn draw_targets(&self, id: i64) -> Result<Vec<DrawnTargetRow>, StoreError>;
    /// The ids of the targets draw `id` selected (its substitutes aside), in no set order:
    /// what a year's history counts, read without the rest of their rows (a national draw's
    /// run to hundreds of thousands).
    fn selected_target_ids(&self, id: i64) -> Result<Vec<String>, StoreError>;
    /// The draw's team members, in their recorded order.
    fn draw_teams(&self, id: i64) -> Result<Vec<TeamRow>, StoreError>;
    /// The draw's unstaffed targets.
    fn draw_unstaffed(&self, id: i64) -> Result<Vec<UnstaffedRow>, StoreError>;
    /// The draw's excluded targets and skipped inspectors.
    fn draw_exclusions(&self, id: i64) -> Result<Vec<ExclusionRow>, StoreError>;
    /// The changes made to draw `draw_id` after it was issued, in order.
    fn changes_of(&self, draw_id: i64) -> Result<Vec<DrawChange>, StoreError>;
    /// Every change of every draw, in the order they were made.
    fn all_changes(&self) -> Result<Vec<DrawChange>, StoreError>;
    /// The results recorded for draw `draw_id`, in the order they were entered.
    fn results(&self, draw_id: i64) -> Result<Vec<ResultRow>, StoreError>;
    /// The results recorded for draw `draw_id`, in the order they were entered, each handed to
    /// `each` as its row is read.
    fn each_result(&self, draw_id: i64, each: &mut dyn FnMut(ResultRow)) -> Result<(), StoreError>;
    /// What a ledger reads of each result of draw `draw_id`, in the order they were entered,
    /// handed to `each` as each row is read.
    fn each_result_fact(
        &self,
        draw_id: i64,
        each: &mut dyn FnMut(ResultFact<'_>),
    ) -> Result<(), StoreError>;
    /// The commitment of (matter, period) waiting for its value, if any.
    fn open_commitment(&self, matter: &str, period: &str)
    -> Result<Option<Commitment>, StoreError>;
    /// Every commitment, oldest first, with whether a draw revealed it yet.
    fn commitments(&self) -> Result<Vec<(Commitment, bool)>, StoreError>;
    /// Records a commitment with its audit entry, in one transaction (see
    /// [`Store::record_commitment`]); its id.
    fn record_commitment(&mut self, k: &Commitment) -> Result<i64, StoreError>;
    /// The folder a target registry is frozen into (as `<hash>.csv`) before
    /// [`DrawStore::put_snapshot_file`] records it.
    fn snapshot_dir(&self) -> PathBuf;
    /// Archives a snapshot's canonical bytes once; returns its hash.
    fn put_snapshot(
        &mut self,
        kind: SnapshotKind,
        row_count: u64,
        bytes: &[u8],
    ) -> Result<String, StoreError>;
    /// Archives the snapshot frozen as `<hash>.csv` in [`DrawStore::snapshot_dir`], once.
    fn put_snapshot_file(
        &mut self,
        kind: SnapshotKind,
        row_count: u64,
        hash_size: (&str, u64),
    ) -> Result<String, StoreError>;
    /// A file holding the snapshot `hash` when it is kept as one (read in bounded memory by a
    /// re-run, which checks its hash), else `None`.
    fn snapshot_file(&self, hash: &str) -> Result<Option<PathBuf>, StoreError>;
    /// The snapshot's bytes, checked against its hash.
    fn get_snapshot(&self, hash: &str) -> Result<Vec<u8>, StoreError>;
    /// Records a change of an active draw with its audit entry, in one transaction (see
    /// [`Store::record_change`]); its id.
    fn record_change(
        &mut self,
        c: &DrawChange,
        prior: usize,
        decided: Decided,
    ) -> Result<i64, StoreError>;
    /// Where the records that workload loads are counted from stand now.
    fn loads_epoch(&self) -> Result<LoadsEpoch, StoreError>;
    /// Where each draw and change was recorded in the audit log, and the rule of each change.
    fn audit_order(&self) -> Result<AuditOrder, StoreError>;
    /// Records a draw with its rows and audit entry in one transaction (see
    /// [`Store::record_draw`]), calling `probe` after each step (an error it returns rolls the
    /// draw back and is returned); refused with
    /// [`StoreError::LoadsChanged`] (nothing recorded) when a draw or a change was recorded
    /// since `epoch` (see [`Store::record_draw_checked`]).
    fn record_draw_checked(
        &mut self,
        d: &NewDraw,
        redraw: Redraw,
        epoch: Option<LoadsEpoch>,
        probe: &mut dyn FnMut(&'static str) -> Result<(), StoreError>,
    ) -> Result<i64, StoreError>;
}

impl DrawStore for Store {
    fn shown(&self) -> String {
        self.path().display().to_string()
    }

    fn origin(&self) -> &Origin {
        Store::origin(self)
    }

    fn set_origin(&mut self, origin: Origin) {
        Store::set_origin(self, origin);
    }

    fn sqlite(&mut self) -> Option<&mut Store> {
        Some(self)
    }

    fn postgres(&mut self) -> Option<&mut PgStore> {
        None
    }

    fn is_simulation(&self) -> Result<bool, StoreError> {
        Store::is_simulation(self)
    }

    fn active_draw(&self, matter: &str, period: &str) -> Result<Option<DrawRow>, StoreError> {
        Store::active_draw(self, matter, period)
    }

    fn draw(&self, id: i64) -> Result<Option<DrawRow>, StoreError> {
        Store::draw(self, id)
    }

    fn list_draws(&self, filter: &DrawFilter) -> Result<Vec<DrawRow>, StoreError> {
        Store::list_draws(self, filter)
    }

    fn list_draw_heads(&self, filter: &DrawFilter) -> Result<Vec<DrawHead>, StoreError> {
        Store::list_draw_heads(self, filter)
    }

    fn manifest_json(&self, id: i64) -> Result<Option<String>, StoreError> {
        Store::manifest_json(self, id)
    }

    fn read_manifest(
        &self,
        id: i64,
        read: &mut dyn FnMut(&mut dyn std::io::Read, u64),
    ) -> Result<bool, StoreError> {
        Store::read_manifest(self, id, read)
    }

    fn draw_target_count(&self, id: i64) -> Result<usize, StoreError> {
        Store::draw_target_count(self, id)
    }

    fn draw_targets(&self, id: i64) -> Result<Vec<DrawnTargetRow>, StoreError> {
        Store::draw_targets(self, id)
    }

    fn selected_target_ids(&self, id: i64) -> Result<Vec<String>, StoreError> {
        Store::selected_target_ids(self, id)
    }

    fn draw_teams(&self, id: i64) -> Result<Vec<TeamRow>, StoreError> {
        Store::draw_teams(self, id)
    }

    fn draw_unstaffed(&self, id: i64) -> Result<Vec<UnstaffedRow>, StoreError> {
        Store::draw_unstaffed(self, id)
    }

    fn draw_exclusions(&self, id: i64) -> Result<Vec<ExclusionRow>, StoreError> {
        Store::draw_exclusions(self, id)
    }

    fn changes_of(&self, draw_id: i64) -> Result<Vec<DrawChange>, StoreError> {
        Store::changes_of(self, draw_id)
    }

    fn all_changes(&self) -> Result<Vec<DrawChange>, StoreError> {
        Store::all_changes(self)
    }

    fn results(&self, draw_id: i64) -> Result<Vec<ResultRow>, StoreError> {
        Store::results(self, draw_id)
    }

    fn each_result(&self, draw_id: i64, each: &mut dyn FnMut(ResultRow)) -> Result<(), StoreError> {
        Store::each_result(self, draw_id, each)
    }

    fn each_result_fact(
        &self,
        draw_id: i64,
        each: &mut dyn FnMut(ResultFact<'_>),
    ) -> Result<(), StoreError> {
        Store::each_result_fact(self, draw_id, each)
    }

    fn open_commitment(
        &self,
        matter: &str,
        period: &str,
    ) -> Result<Option<Commitment>, StoreError> {
        Store::open_commitment(self, matter, period)
    }

    fn commitments(&self) -> Result<Vec<(Commitment, bool)>, StoreError> {
        Store::commitments(self)
    }

    fn record_commitment(&mut self, k: &Commitment) -> Result<i64, StoreError> {
        Store::record_commitment(self, k)
    }

    fn snapshot_dir(&self) -> PathBuf {
        Store::snapshot_dir(self)
    }

    fn put_snapshot(
        &mut self,
        kind: SnapshotKind,
        row_count: u64,
        bytes: &[u8],
    ) -> Result<String, StoreError> {
        Store::put_snapshot(self, kind, row_count, bytes)
    }

    fn put_snapshot_file(
        &mut self,
        kind: SnapshotKind,
        row_count: u64,
        hash_size: (&str, u64),
    ) -> Result<String, StoreError> {
        Store::put_snapshot_file(self, kind, row_count, hash_size)
    }

    fn snapshot_file(&self, hash: &str) -> Result<Option<PathBuf>, StoreError> {
        Store::snapshot_file(self, hash)
    }

    fn get_snapshot(&self, hash: &str) -> Result<Vec<u8>, StoreError> {
        Store::get_snapshot(self, hash)
    }

    fn record_change(
        &mut self,
        c: &DrawChange,
        prior: usize,
        decided: Decided,
    ) -> Result<i64, StoreError> {
        Store::record_change(self, c, prior, decided)
    }

    fn loads_epoch(&self) -> Result<LoadsEpoch, StoreError> {
        Store::loads_epoch(self)
    }

    fn audit_order(&self) -> Result<AuditOrder, StoreError> {
        Store::audit_order(self)
    }

    fn record_draw_checked(
        &mut self,
        d: &NewDraw,
        redraw: Redraw,
        epoch: Option<LoadsEpoch>,
        probe: &mut dyn FnMut(&'static str) -> Result<(), StoreError>,
    ) -> Result<i64, StoreError> {
        Store::record_draw_checked(self, d, redraw, epoch, probe)
    }
}
