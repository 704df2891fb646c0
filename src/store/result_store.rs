//! The store methods that inspection results and their publication need, one interface over
//! both databases: the SQLite file ([`Store`]) and PostgreSQL ([`super::pg::PgStore`]).
//!
//! `suiji result`, `suiji results`, `suiji publish`, `suiji regenerate` and `suiji report`
//! (and the jobs under them: checking entries against a draw, the ledgers of draws, the
//! notices and the index of notices) work through this trait and [`DrawStore`] alone, so
//! they run on either database with the same invariants: an import is one transaction, every
//! row or none, with one audit entry per draw; a publication freezes the results it makes
//! public (triggers refuse any change to them from then on).

use super::{
    DrawStore, HeldResults, NewPublication, NewResult, NewResults, PublicationRow, ServiceStore,
    Store, StoreError,
};

/// A database that records results and their publications.
pub trait ResultStore: DrawStore {
    /// Records results for several draws at once: one transaction for all of them, one audit
    /// entry per draw (see [`Store::record_results_batch`]). Returns the new ids per draw.
    fn record_results_batch(
        &mut self,
        batches: &[(i64, Vec<NewResult>)],
        entered_at: &str,
        actor: &str,
    ) -> Result<Vec<Vec<i64>>, StoreError> {
        self.record_new_results(&HeldResults(batches), entered_at, actor)
    }
    /// [`ResultStore::record_results_batch`] for results handed out one at a time (see
    /// [`Store::record_new_results`]).
    fn record_new_results(
        &mut self,
        results: &dyn NewResults,
        entered_at: &str,
        actor: &str,
    ) -> Result<Vec<Vec<i64>>, StoreError>;
    /// The draw's publications, oldest first.
    fn publications(&self, draw_id: i64) -> Result<Vec<PublicationRow>, StoreError>;
    /// How many publications are recorded (of every draw).
    fn publication_count(&self) -> Result<u64, StoreError>;
    /// Records several publications at once, each marking exactly the results it lists as
    /// published (see [`Store::record_publications`]), calling `before_commit` when every row
    /// and audit entry is written, before the commit.
    fn record_publications_probed(
        &mut self,
        pubs: &[NewPublication],
        before_commit: &mut dyn FnMut(),
    ) -> Result<Vec<i64>, StoreError>;
}

impl ResultStore for Store {
    fn record_new_results(
        &mut self,
        results: &dyn NewResults,
        entered_at: &str,
        actor: &str,
    ) -> Result<Vec<Vec<i64>>, StoreError> {
        Store::record_new_results(self, results, entered_at, actor)
    }

    fn publications(&self, draw_id: i64) -> Result<Vec<PublicationRow>, StoreError> {
        Store::publications(self, draw_id)
    }

    fn publication_count(&self) -> Result<u64, StoreError> {
        Store::publication_count(self)
    }

    fn record_publications_probed(
        &mut self,
        pubs: &[NewPublication],
        before_commit: &mut dyn FnMut(),
    ) -> Result<Vec<i64>, StoreError> {
        Store::record_publications_probed(self, pubs, before_commit)
    }
}

/// What the jobs that read draws, results and the scheduler's events together work through
/// (`suiji status`, `suiji report`, `publish --site`, `publish --credit`): both interfaces, on
/// either database.
pub trait RecordStore: ResultStore + ServiceStore {}

impl<T: ResultStore + ServiceStore> RecordStore for T {}

/// A database of either kind as a job holds it: the SQLite file, a PostgreSQL database, or
/// either behind a box (what a command opens when `--database` may name one).
pub trait Records {
    /// The database, to read.
    fn records(&self) -> &dyn RecordStore;
    /// The database as the scheduler holds it (`suiji status` asks the service's plan).
    fn into_service(self) -> Box<dyn ServiceStore>;
}

impl Records for Store {
    fn records(&self) -> &dyn RecordStore {
        self
    }

    fn into_service(self) -> Box<dyn ServiceStore> {
        Box::new(self)
    }
}

impl Records for super::pg::PgStore {
    fn records(&self) -> &dyn RecordStore {
        self
    }

    fn into_service(self) -> Box<dyn ServiceStore> {
        Box::new(self)
    }
}

impl Records for Box<dyn RecordStore> {
    fn records(&self) -> &dyn RecordStore {
        &**self
    }

    fn into_service(self) -> Box<dyn ServiceStore> {
        self
    }
}
