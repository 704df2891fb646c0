//! The scheduler's lease on a shared database (PostgreSQL): of several `suiji run` nodes on
//! one database, the one holding the lease issues the scheduled draws; the others try to take
//! it every `retry` and take over when its holder dies (its connection ends and the server
//! releases the lease). The unique index of one active draw per (matter, period) stays the
//! last word: a node that loses a race to it records the draw as already drawn.

use std::sync::mpsc::Receiver;
use std::time::Duration;

use chrono::NaiveDateTime;

use super::service::{Gate, Service};
use crate::schedule::clock::Event;
use crate::store::pg::Lease;
use crate::store::{LeaseAudit, ServiceAudit};

/// How often a node that does not hold the lease tries to take it, by default. With the
/// server's keepalives (a dead holder's session ended within 20 s, `store::pg::Lease`), a
/// node takes over within 25 s of its holder's death; within this after a holder that exits
/// or is killed (its connection closes at once).
pub const LEASE_RETRY: Duration = Duration::from_secs(5);

/// A node of a shared deployment: leads while it holds the lease.
#[derive(Debug)]
pub struct Leader {
    lease: Lease,
    retry: Duration,
    /// Whether it led at the last step (to notice taking and losing the lease).
    leading: bool,
}

impl Leader {
    /// The node of this process (`host:pid`) on the database at `url`, trying every `retry`.
    pub fn new(url: &crate::store::pg::Place, retry: Duration) -> Leader {
        let host = crate::store::Origin::of_process().host;
        let node = format!("{host}:{}", std::process::id());
        Leader {
            lease: Lease::new(url, &node),
            retry,
            leading: false,
        }
    }

    /// The lease just taken: what the node that held it may have left undone is picked up —
    /// draw files it left staged are placed (or removed), and the next step catches up the
    /// draws that are due —, and the lease is logged and audited (`scheduler.lease`).
    fn taken(&mut self, service: &mut Service, now: NaiveDateTime) {
        let out = service.loaded.model.config.output_dir.clone();
        service.restore_files();
        super::sweep::orphan_draw_folders(&out, &*service.store);
        service.retry_failed();
        let node = self.lease.node().to_string();
        let at = service.stamp(now);
        let detail = ServiceAudit::Lease(LeaseAudit { node: node.clone() });
        if let Err(e) = service.store.append_service_audit(
            &at,
            &service.actor,
            "scheduler.lease",
            &node,
            &detail,
        ) {
            tracing::error!("cannot append to the audit log: {e}");
        }
        // Said once recorded, so whoever watches the log finds the record there.
        tracing::info!(node = %node, "took the scheduler's lease: this node issues the scheduled draws");
    }
}

impl Gate for Leader {
    fn leads(&mut self, service: &mut Service, now: NaiveDateTime) -> bool {
        let leads = match self.lease.try_take() {
            Ok(held) => held,
            Err(e) => {
                tracing::error!("cannot reach the scheduler's lease: {e}");
                false
            }
        };
        match (self.leading, leads) {
            (false, true) => self.taken(service, now),
            (true, false) => tracing::warn!(
                node = %self.lease.node(),
                "lost the scheduler's lease (its connection to the database ended): another node issues the scheduled draws"
            ),
            (false, false) => tracing::debug!(
                holder = ?self.lease.holder(),
                "another node holds the scheduler's lease; trying again in {}s",
                self.retry.as_secs()
            ),
            (true, true) => {}
        }
        self.leading = leads;
        leads
    }

    fn leader(&mut self) -> Option<String> {
        self.lease.holder()
    }

    fn wait(&mut self, events: &Receiver<Event>) -> Option<Event> {
        events.recv_timeout(self.retry).ok()
    }
}
