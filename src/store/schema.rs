//! The schema, as a list of forward migrations, and the checks made when a file is opened.
//!
//! `PRAGMA user_version` holds the number of migrations applied. A file with a larger number
//! comes from a newer suiji and is refused untouched. `PRAGMA application_id` marks the file
//! as suiji's, so a foreign SQLite file is refused instead of being written into.
//!
//! **Migrations only ever append**: a released migration is never edited; a change to the
//! schema is a new entry at the end of [`MIGRATIONS`].

use rusqlite::{Connection, TransactionBehavior};

use super::error::{Fail, R, StoreError};

/// `PRAGMA application_id` of a suiji database: "SUIJ" in ASCII.
pub const APPLICATION_ID: i64 = 0x5355_494A;

/// Forward migrations; entry `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    V1, V2, V3, V4, V5, V6, V7, V8, V9, V10, V11, V12, V13, V14, V15,
];

/// The schema version this build writes and understands.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The oldest schema version a read-only connection reads as it is, without the migrations it
/// may not make: the versions after it only add indexes, and a table only the draws recorded by
/// a later suiji use, so every query gives the same answer on it (version 9 adds `draws_heads`,
/// version 12 the pieces of a manifest, read only for a draw whose `manifest_json` names them,
/// version 13 a column of the team member rows that no query reads). A read-only command, and the approved rules a command
/// loads before it opens the database for writing, then work on a file an older suiji wrote.
pub const READS_FROM: i64 = 8;

/// Version 10: the anchors of the chain's head. SQLite keeps them where they are published,
/// `out/public/anchors.json` beside the database (see `store::anchors`): no table changes here.
/// PostgreSQL, shared by nodes that each have their own output folder, keeps them in a table
/// of its own and writes the file from it; the version is raised on both so that the two
/// schemas keep the same versions.
const V10: &str = "-- anchors are kept in out/public/anchors.json beside the database";

/// Version 11: the registry files uploaded through the console. SQLite serves one project
/// folder, whose registry files are the only copy: no table changes here. PostgreSQL, shared by
/// nodes that each have their own project folder, keeps each uploaded file's bytes and which
/// configured file is at which version, so that every node brings its files up to it; the
/// version is raised on both so that the two schemas keep the same versions.
const V11: &str = "-- registry files are the project folder's own on SQLite";

/// Version 12: a manifest recorded from its file is kept in pieces of about a megabyte, in
/// order, and `draws.manifest_json` holds the text's length in bytes (see `store::pieces`):
/// SQLite would otherwise make a national draw's 150 MB text twice in memory to insert the row.
/// Permanent, added only to an active draw, as the draw's other rows. PostgreSQL keeps the text
/// in the column (the copy to it joins the pieces); the version is raised on both so that the
/// two schemas keep the same versions.
const V12: &str = r#"
CREATE TABLE draw_manifest_pieces (
    draw_id INTEGER NOT NULL REFERENCES draws (id),
    piece   INTEGER NOT NULL CHECK (piece >= 0),
    text    TEXT    NOT NULL CHECK (text <> ''),
    PRIMARY KEY (draw_id, piece)
) STRICT;
CREATE TRIGGER draw_manifest_pieces_no_update BEFORE UPDATE ON draw_manifest_pieces
BEGIN SELECT RAISE(ABORT, 'draw_manifest_pieces are permanent: UPDATE refused'); END;
CREATE TRIGGER draw_manifest_pieces_no_delete BEFORE DELETE ON draw_manifest_pieces
BEGIN SELECT RAISE(ABORT, 'draw_manifest_pieces are permanent: DELETE refused'); END;
CREATE TRIGGER draw_manifest_pieces_active_only BEFORE INSERT ON draw_manifest_pieces
WHEN (SELECT status FROM draws WHERE id = NEW.draw_id) IS NOT 'active'
BEGIN SELECT RAISE(ABORT, 'draw_manifest_pieces: pieces may only be added to an active draw'); END;
"#;

/// Version 13: a team member row names its target by the target row's place in the draw
/// (`target_seq`) as well as by its id, and its uniqueness and reference go by that place: a
/// draw's member rows come in the order of its target rows, so those indexes grow at their end
/// instead of taking each row at a random place (a national draw's 734,870 member rows took
/// half as long). The reference takes the place and the id together, so the two always name
/// the same target row. The table is made again with the column, its rows copied, and its
/// index and triggers made again.
const V13: &str = r#"
CREATE UNIQUE INDEX draw_targets_by_seq_id ON draw_targets (draw_id, seq, target_id);

CREATE TABLE draw_team_members_v13 (
    draw_id        INTEGER NOT NULL,
    seq            INTEGER NOT NULL CHECK (seq >= 0),
    target_id      TEXT    NOT NULL,
    position       INTEGER NOT NULL CHECK (position >= 0),
    inspector_id   TEXT    NOT NULL CHECK (inspector_id <> ''),
    inspector_name TEXT    NOT NULL,
    target_seq     INTEGER NOT NULL,
    PRIMARY KEY (draw_id, seq),
    UNIQUE (draw_id, target_seq, position),
    UNIQUE (draw_id, target_seq, inspector_id),
    FOREIGN KEY (draw_id, target_seq, target_id)
        REFERENCES draw_targets (draw_id, seq, target_id)
) STRICT, WITHOUT ROWID;
INSERT INTO draw_team_members_v13
    (draw_id, seq, target_id, position, inspector_id, inspector_name, target_seq)
SELECT m.draw_id, m.seq, m.target_id, m.position, m.inspector_id, m.inspector_name, t.seq
FROM draw_team_members m
JOIN draw_targets t ON t.draw_id = m.draw_id AND t.target_id = m.target_id;
DROP TABLE draw_team_members;
ALTER TABLE draw_team_members_v13 RENAME TO draw_team_members;
CREATE INDEX draw_team_members_by_inspector ON draw_team_members (inspector_id, draw_id);

CREATE TRIGGER draw_team_members_no_update BEFORE UPDATE ON draw_team_members
BEGIN SELECT RAISE(ABORT, 'draw_team_members are permanent: UPDATE refused'); END;
CREATE TRIGGER draw_team_members_no_delete BEFORE DELETE ON draw_team_members
BEGIN SELECT RAISE(ABORT, 'draw_team_members are permanent: DELETE refused'); END;
CREATE TRIGGER draw_team_members_active_only BEFORE INSERT ON draw_team_members
WHEN (SELECT status FROM draws WHERE id = NEW.draw_id) IS NOT 'active'
BEGIN SELECT RAISE(ABORT, 'draw_team_members: rows may only be added to an active draw'); END;
"#;

/// Version 14: the indexes that no query reads are dropped: `draw_targets_by_target` (a
/// target's draws) and `draw_team_members_by_inspector` (an inspector's draws). Every reader
/// of a draw's rows goes by the draw (its key), and a draw's check of a target by the draw and
/// the target (its unique index); these two took each of a draw's rows at a random place, a
/// third of the time its rows took to record at national scale (377,000 target and 755,000
/// member rows).
const V14: &str = r#"
DROP INDEX IF EXISTS draw_targets_by_target;
DROP INDEX IF EXISTS draw_team_members_by_inspector;
"#;

/// Version 15: a result may be recorded for the targets a draw's teams visit: those it
/// selected, and the substitutes a change after the draw took in (替补, `draw_changes`) — which
/// are not among its target rows —, but not a target a change took out (replaced, or marked out
/// of scope). The reference from a result to the draw's target rows gives way to a trigger that
/// says exactly that. The table is made again with its reference to the draw alone, its rows
/// copied, and its indexes and triggers made again.
const V15: &str = r#"
CREATE TABLE results_v15 (
    id              INTEGER PRIMARY KEY,
    draw_id         INTEGER NOT NULL REFERENCES draws (id),
    target_id       TEXT    NOT NULL,
    checklist_item  TEXT,
    category        TEXT    NOT NULL CHECK (category <> ''),
    remarks         TEXT    NOT NULL,
    inspection_date TEXT    NOT NULL CHECK (date(inspection_date) IS inspection_date),
    inspectors      TEXT    NOT NULL
                    CHECK (json_valid(inspectors) AND json_type(inspectors) = 'array'),
    entered_at      TEXT    NOT NULL CHECK (entered_at <> ''),
    entered_by      TEXT    NOT NULL CHECK (entered_by <> ''),
    published_at    TEXT,
    source_file     TEXT,
    source_line     INTEGER CHECK (source_line IS NULL OR source_line >= 1)
) STRICT;
INSERT INTO results_v15
    (id, draw_id, target_id, checklist_item, category, remarks, inspection_date, inspectors,
     entered_at, entered_by, published_at, source_file, source_line)
SELECT id, draw_id, target_id, checklist_item, category, remarks, inspection_date, inspectors,
       entered_at, entered_by, published_at, source_file, source_line
FROM results;
DROP TABLE results;
ALTER TABLE results_v15 RENAME TO results;
CREATE UNIQUE INDEX results_one_per_item
    ON results (draw_id, target_id, ifnull(checklist_item, ''));
CREATE INDEX results_unpublished ON results (draw_id) WHERE published_at IS NULL;

CREATE TRIGGER results_published_frozen_update BEFORE UPDATE ON results
WHEN OLD.published_at IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'results: a published result cannot be changed'); END;
CREATE TRIGGER results_published_frozen_delete BEFORE DELETE ON results
WHEN OLD.published_at IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'results: a published result cannot be deleted'); END;
CREATE TRIGGER results_visited_only BEFORE INSERT ON results
WHEN NOT (EXISTS (SELECT 1 FROM draw_targets
                  WHERE draw_id = NEW.draw_id AND target_id = NEW.target_id AND selected = 1)
          OR EXISTS (SELECT 1 FROM draw_changes
                  WHERE draw_id = NEW.draw_id AND kind = 'target'
                    AND replacement = NEW.target_id))
  OR EXISTS (SELECT 1 FROM draw_changes
             WHERE draw_id = NEW.draw_id AND kind = 'target' AND target_id = NEW.target_id)
BEGIN SELECT RAISE(ABORT, 'results: only a target the draw''s teams visit takes a result'); END;
"#;

/// Reads the file's identity and refuses what this build must not touch. Runs before
/// anything is written, so a refused file is left exactly as it was.
pub(crate) fn check_identity(conn: &mut Connection) -> R<i64> {
    // One read transaction, so the three values come from the same moment even while another
    // process is creating the schema.
    let tx = conn.transaction()?;
    let app_id: i64 = tx.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let objects: i64 = tx.query_row(
        "SELECT count(*) FROM sqlite_schema WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
        [],
        |r| r.get(0),
    )?;
    tx.finish()?;
    if app_id != APPLICATION_ID && (app_id != 0 || version != 0 || objects != 0) {
        return Err(foreign(format!(
            "application id {app_id:#x}, schema version {version}, {objects} schema objects"
        )));
    }
    if version > SCHEMA_VERSION {
        return Err(newer(version));
    }
    if version < 0 {
        return Err(Fail::corrupt(format!("negative schema version {version}")));
    }
    Ok(version)
}

/// Brings the schema up to [`SCHEMA_VERSION`]. Several processes may open a new file at once:
/// the version is read again under the write lock, so each migration runs exactly once.
pub(crate) fn migrate(conn: &mut Connection) -> R<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(newer(version));
    }
    let start = usize::try_from(version)
        .map_err(|_| Fail::corrupt(format!("negative schema version {version}")))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(start) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
    }
    tx.pragma_update(None, "application_id", APPLICATION_ID)?;
    tx.commit()?;
    Ok(())
}

fn foreign(detail: String) -> Fail {
    Fail::Store(StoreError::Foreign {
        path: Default::default(),
        detail,
    })
}

fn newer(found: i64) -> Fail {
    Fail::Store(StoreError::NewerSchema {
        path: Default::default(),
        found,
        supported: SCHEMA_VERSION,
    })
}

/// Version 1. Every table is STRICT. Draws, their rows, snapshots, publications and the
/// audit log are permanent: triggers refuse UPDATE and DELETE, except the one transition
/// `draws.status` 'active' → 'superseded' that a redraw makes.
const V1: &str = r#"
CREATE TABLE snapshots (
    id              INTEGER PRIMARY KEY,
    hash            TEXT    NOT NULL UNIQUE
                    CHECK (length(hash) = 64 AND hash NOT GLOB '*[^0-9a-f]*'),
    kind            TEXT    NOT NULL CHECK (kind IN ('targets', 'inspectors', 'rules')),
    row_count       INTEGER NOT NULL CHECK (row_count >= 0),
    size            INTEGER NOT NULL CHECK (size >= 0),
    compressed_size INTEGER NOT NULL CHECK (compressed_size >= 0),
    data            BLOB    NOT NULL
) STRICT;

CREATE TABLE draws (
    id                  INTEGER PRIMARY KEY,
    matter              TEXT    NOT NULL CHECK (matter <> ''),
    period              TEXT    NOT NULL CHECK (period <> ''),
    kind                TEXT    NOT NULL CHECK (kind <> ''),
    status              TEXT    NOT NULL DEFAULT 'active'
                        CHECK (status IN ('active', 'superseded')),
    algorithm           TEXT    NOT NULL CHECK (algorithm <> ''),
    seed_hex            TEXT    NOT NULL CHECK (seed_hex <> '' AND seed_hex NOT GLOB '*[^0-9a-f]*'),
    seed_source         TEXT    NOT NULL,
    rules_hash          TEXT    NOT NULL,
    targets_snapshot    TEXT    NOT NULL REFERENCES snapshots (hash),
    inspectors_snapshot TEXT    NOT NULL REFERENCES snapshots (hash),
    reference_date      TEXT    NOT NULL CHECK (date(reference_date) IS reference_date),
    issue_date          TEXT    NOT NULL CHECK (date(issue_date) IS issue_date),
    due_date            TEXT    NOT NULL CHECK (date(due_date) IS due_date),
    created_at          TEXT    NOT NULL CHECK (created_at <> ''),
    actor               TEXT    NOT NULL CHECK (actor <> ''),
    manifest_json       TEXT    NOT NULL CHECK (json_valid(manifest_json)),
    manifest_hash       TEXT    NOT NULL CHECK (manifest_hash <> ''),
    redraw_of           INTEGER REFERENCES draws (id),
    redraw_reason       TEXT,
    CHECK ((redraw_of IS NULL) = (redraw_reason IS NULL))
) STRICT;

-- Exactly once: at most one active draw per (matter, period), whatever the writers do.
CREATE UNIQUE INDEX draws_one_active ON draws (matter, period) WHERE status = 'active';
CREATE INDEX draws_by_matter_period ON draws (matter, period, id);
-- A draw is replaced at most once.
CREATE UNIQUE INDEX draws_by_redraw_of ON draws (redraw_of) WHERE redraw_of IS NOT NULL;

CREATE TABLE draw_targets (
    draw_id        INTEGER NOT NULL REFERENCES draws (id),
    seq            INTEGER NOT NULL CHECK (seq >= 0),
    stratum        TEXT    NOT NULL,
    rank           INTEGER NOT NULL CHECK (rank >= 0),
    target_id      TEXT    NOT NULL CHECK (target_id <> ''),
    target_name    TEXT    NOT NULL,
    selected       INTEGER NOT NULL CHECK (selected IN (0, 1)),
    substitute     INTEGER NOT NULL CHECK (substitute IN (0, 1)),
    substitute_for TEXT,
    rank_key       TEXT,
    PRIMARY KEY (draw_id, seq),
    UNIQUE (draw_id, target_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX draw_targets_by_target ON draw_targets (target_id, draw_id);

CREATE TABLE draw_team_members (
    draw_id        INTEGER NOT NULL,
    seq            INTEGER NOT NULL CHECK (seq >= 0),
    target_id      TEXT    NOT NULL,
    position       INTEGER NOT NULL CHECK (position >= 0),
    inspector_id   TEXT    NOT NULL CHECK (inspector_id <> ''),
    inspector_name TEXT    NOT NULL,
    PRIMARY KEY (draw_id, seq),
    UNIQUE (draw_id, target_id, position),
    UNIQUE (draw_id, target_id, inspector_id),
    FOREIGN KEY (draw_id, target_id) REFERENCES draw_targets (draw_id, target_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX draw_team_members_by_inspector ON draw_team_members (inspector_id, draw_id);

CREATE TABLE draw_unstaffed (
    draw_id   INTEGER NOT NULL,
    seq       INTEGER NOT NULL CHECK (seq >= 0),
    target_id TEXT    NOT NULL,
    reason    TEXT    NOT NULL,
    PRIMARY KEY (draw_id, seq),
    UNIQUE (draw_id, target_id),
    FOREIGN KEY (draw_id, target_id) REFERENCES draw_targets (draw_id, target_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE draw_exclusions (
    draw_id     INTEGER NOT NULL REFERENCES draws (id),
    seq         INTEGER NOT NULL CHECK (seq >= 0),
    entity_kind TEXT    NOT NULL CHECK (entity_kind IN ('target', 'inspector')),
    entity_id   TEXT    NOT NULL CHECK (entity_id <> ''),
    reason_code TEXT    NOT NULL CHECK (reason_code <> ''),
    detail      TEXT    NOT NULL,
    PRIMARY KEY (draw_id, seq)
) STRICT, WITHOUT ROWID;
CREATE INDEX draw_exclusions_by_entity ON draw_exclusions (entity_kind, entity_id, draw_id);

CREATE TABLE results (
    id              INTEGER PRIMARY KEY,
    draw_id         INTEGER NOT NULL,
    target_id       TEXT    NOT NULL,
    checklist_item  TEXT,
    category        TEXT    NOT NULL CHECK (category <> ''),
    remarks         TEXT    NOT NULL,
    inspection_date TEXT    NOT NULL CHECK (date(inspection_date) IS inspection_date),
    inspectors      TEXT    NOT NULL
                    CHECK (json_valid(inspectors) AND json_type(inspectors) = 'array'),
    entered_at      TEXT    NOT NULL CHECK (entered_at <> ''),
    entered_by      TEXT    NOT NULL CHECK (entered_by <> ''),
    published_at    TEXT,
    source_file     TEXT,
    source_line     INTEGER CHECK (source_line IS NULL OR source_line >= 1),
    FOREIGN KEY (draw_id, target_id) REFERENCES draw_targets (draw_id, target_id)
) STRICT;
CREATE UNIQUE INDEX results_one_per_item
    ON results (draw_id, target_id, ifnull(checklist_item, ''));
CREATE INDEX results_unpublished ON results (draw_id) WHERE published_at IS NULL;

CREATE TABLE publications (
    id            INTEGER PRIMARY KEY,
    draw_id       INTEGER NOT NULL REFERENCES draws (id),
    published_at  TEXT    NOT NULL CHECK (published_at <> ''),
    actor         TEXT    NOT NULL CHECK (actor <> ''),
    files         TEXT    NOT NULL CHECK (json_valid(files)),
    results_count INTEGER NOT NULL CHECK (results_count >= 0)
) STRICT;
CREATE INDEX publications_by_draw ON publications (draw_id, id);

CREATE TABLE scheduler_events (
    id      INTEGER PRIMARY KEY,
    matter  TEXT    NOT NULL,
    period  TEXT    NOT NULL,
    event   TEXT    NOT NULL CHECK (event IN ('issued', 'caught_up', 'skipped', 'failed')),
    at      TEXT    NOT NULL CHECK (at <> ''),
    draw_id INTEGER REFERENCES draws (id),
    detail  TEXT    NOT NULL
) STRICT;
CREATE INDEX scheduler_events_by_subject ON scheduler_events (matter, period, id);
CREATE INDEX scheduler_events_by_time ON scheduler_events (at);

CREATE TABLE audit_log (
    seq       INTEGER PRIMARY KEY CHECK (seq >= 1),
    at        TEXT    NOT NULL CHECK (at <> ''),
    actor     TEXT    NOT NULL CHECK (actor <> ''),
    action    TEXT    NOT NULL CHECK (action <> ''),
    subject   TEXT    NOT NULL,
    detail    TEXT    NOT NULL CHECK (json_valid(detail)),
    prev_hash TEXT    NOT NULL CHECK (length(prev_hash) = 64),
    hash      TEXT    NOT NULL UNIQUE CHECK (length(hash) = 64)
) STRICT;

-- Permanence.

CREATE TRIGGER audit_log_extends_chain BEFORE INSERT ON audit_log
WHEN NEW.seq IS NOT (SELECT ifnull(max(seq), 0) + 1 FROM audit_log)
  OR NEW.prev_hash IS NOT ifnull((SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1),
                                 '0000000000000000000000000000000000000000000000000000000000000000')
BEGIN SELECT RAISE(ABORT, 'audit_log: a new entry must extend the chain'); END;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused'); END;

CREATE TRIGGER snapshots_no_update BEFORE UPDATE ON snapshots
BEGIN SELECT RAISE(ABORT, 'snapshots are permanent: UPDATE refused'); END;
CREATE TRIGGER snapshots_no_delete BEFORE DELETE ON snapshots
BEGIN SELECT RAISE(ABORT, 'snapshots are permanent: DELETE refused'); END;

CREATE TRIGGER draws_only_supersede BEFORE UPDATE ON draws
WHEN NOT (OLD.status = 'active' AND NEW.status = 'superseded'
      AND NEW.id IS OLD.id AND NEW.matter IS OLD.matter AND NEW.period IS OLD.period
      AND NEW.kind IS OLD.kind AND NEW.algorithm IS OLD.algorithm
      AND NEW.seed_hex IS OLD.seed_hex AND NEW.seed_source IS OLD.seed_source
      AND NEW.rules_hash IS OLD.rules_hash
      AND NEW.targets_snapshot IS OLD.targets_snapshot
      AND NEW.inspectors_snapshot IS OLD.inspectors_snapshot
      AND NEW.reference_date IS OLD.reference_date AND NEW.issue_date IS OLD.issue_date
      AND NEW.due_date IS OLD.due_date AND NEW.created_at IS OLD.created_at
      AND NEW.actor IS OLD.actor AND NEW.manifest_json IS OLD.manifest_json
      AND NEW.manifest_hash IS OLD.manifest_hash AND NEW.redraw_of IS OLD.redraw_of
      AND NEW.redraw_reason IS OLD.redraw_reason)
BEGIN SELECT RAISE(ABORT, 'draws are permanent: the only change allowed is status active -> superseded'); END;
CREATE TRIGGER draws_no_delete BEFORE DELETE ON draws
BEGIN SELECT RAISE(ABORT, 'draws are permanent: DELETE refused'); END;

CREATE TRIGGER draw_targets_no_update BEFORE UPDATE ON draw_targets
BEGIN SELECT RAISE(ABORT, 'draw_targets are permanent: UPDATE refused'); END;
CREATE TRIGGER draw_targets_no_delete BEFORE DELETE ON draw_targets
BEGIN SELECT RAISE(ABORT, 'draw_targets are permanent: DELETE refused'); END;
CREATE TRIGGER draw_targets_active_only BEFORE INSERT ON draw_targets
WHEN (SELECT status FROM draws WHERE id = NEW.draw_id) IS NOT 'active'
BEGIN SELECT RAISE(ABORT, 'draw_targets: rows may only be added to an active draw'); END;

CREATE TRIGGER draw_team_members_no_update BEFORE UPDATE ON draw_team_members
BEGIN SELECT RAISE(ABORT, 'draw_team_members are permanent: UPDATE refused'); END;
CREATE TRIGGER draw_team_members_no_delete BEFORE DELETE ON draw_team_members
BEGIN SELECT RAISE(ABORT, 'draw_team_members are permanent: DELETE refused'); END;
CREATE TRIGGER draw_team_members_active_only BEFORE INSERT ON draw_team_members
WHEN (SELECT status FROM draws WHERE id = NEW.draw_id) IS NOT 'active'
BEGIN SELECT RAISE(ABORT, 'draw_team_members: rows may only be added to an active draw'); END;

CREATE TRIGGER draw_unstaffed_no_update BEFORE UPDATE ON draw_unstaffed
BEGIN SELECT RAISE(ABORT, 'draw_unstaffed rows are permanent: UPDATE refused'); END;
CREATE TRIGGER draw_unstaffed_no_delete BEFORE DELETE ON draw_unstaffed
BEGIN SELECT RAISE(ABORT, 'draw_unstaffed rows are permanent: DELETE refused'); END;
CREATE TRIGGER draw_unstaffed_active_only BEFORE INSERT ON draw_unstaffed
WHEN (SELECT status FROM draws WHERE id = NEW.draw_id) IS NOT 'active'
BEGIN SELECT RAISE(ABORT, 'draw_unstaffed: rows may only be added to an active draw'); END;

CREATE TRIGGER draw_exclusions_no_update BEFORE UPDATE ON draw_exclusions
BEGIN SELECT RAISE(ABORT, 'draw_exclusions are permanent: UPDATE refused'); END;
CREATE TRIGGER draw_exclusions_no_delete BEFORE DELETE ON draw_exclusions
BEGIN SELECT RAISE(ABORT, 'draw_exclusions are permanent: DELETE refused'); END;
CREATE TRIGGER draw_exclusions_active_only BEFORE INSERT ON draw_exclusions
WHEN (SELECT status FROM draws WHERE id = NEW.draw_id) IS NOT 'active'
BEGIN SELECT RAISE(ABORT, 'draw_exclusions: rows may only be added to an active draw'); END;

CREATE TRIGGER results_published_frozen_update BEFORE UPDATE ON results
WHEN OLD.published_at IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'results: a published result cannot be changed'); END;
CREATE TRIGGER results_published_frozen_delete BEFORE DELETE ON results
WHEN OLD.published_at IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'results: a published result cannot be deleted'); END;

CREATE TRIGGER publications_no_update BEFORE UPDATE ON publications
BEGIN SELECT RAISE(ABORT, 'publications are permanent: UPDATE refused'); END;
CREATE TRIGGER publications_no_delete BEFORE DELETE ON publications
BEGIN SELECT RAISE(ABORT, 'publications are permanent: DELETE refused'); END;
"#;

/// Version 2: console accounts, their sessions and failed logins. Accounts are never deleted
/// (an account is disabled instead), so the audit log's users keep their meaning.
const V2: &str = r#"
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE CHECK (name <> ''),
    roles         TEXT    NOT NULL CHECK (roles <> ''),
    department    TEXT,
    inspector     TEXT,
    password_hash TEXT    NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    failed_logins INTEGER NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
    locked_until  INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT    NOT NULL CHECK (created_at <> '')
) STRICT;

CREATE TRIGGER users_are_kept BEFORE DELETE ON users
BEGIN SELECT RAISE(ABORT, 'accounts are kept: disable an account instead'); END;

-- Only the SHA-256 of a session token is stored: a copy of the file logs nobody in.
CREATE TABLE sessions (
    token_hash TEXT    PRIMARY KEY CHECK (length(token_hash) = 64),
    user_id    INTEGER NOT NULL REFERENCES users (id),
    csrf       TEXT    NOT NULL CHECK (csrf <> ''),
    created    INTEGER NOT NULL,
    expires    INTEGER NOT NULL
) STRICT;
CREATE INDEX sessions_by_user ON sessions (user_id);

CREATE TABLE login_failures (
    id      INTEGER PRIMARY KEY,
    address TEXT    NOT NULL,
    at      INTEGER NOT NULL
) STRICT;
CREATE INDEX login_failures_by_address ON login_failures (address, at);
"#;

/// Version 3: what a record must say about how it was made.
///
/// - `database_facts`: facts about the database itself, written once (`purpose` =
///   `simulation` marks a database made by `suiji simulate`, whose times are simulated).
/// - `draws.provisional`: the draw was made from a provisional plan (a holiday calendar
///   computed from the lunar calendar, not yet published by the State Council).
/// - `scheduler_events` accepts the event `missed` (a period that had ended before the
///   service could draw it); the table is rebuilt with its rows, as SQLite cannot change a
///   CHECK constraint in place.
/// - `audit_v2`: the fields audit entry format 2 adds (see `store::audit`): the OS account
///   and host that wrote the entry, the console user (when the console wrote it) and the hash
///   of the rows the entry records. An entry with a row here is hashed as format 2.
const V3: &str = r#"
CREATE TABLE database_facts (
    key   TEXT NOT NULL PRIMARY KEY CHECK (key <> ''),
    value TEXT NOT NULL,
    at    TEXT NOT NULL CHECK (at <> '')
) STRICT;
CREATE TRIGGER database_facts_no_update BEFORE UPDATE ON database_facts
BEGIN SELECT RAISE(ABORT, 'database_facts are permanent: UPDATE refused'); END;
CREATE TRIGGER database_facts_no_delete BEFORE DELETE ON database_facts
BEGIN SELECT RAISE(ABORT, 'database_facts are permanent: DELETE refused'); END;

ALTER TABLE draws ADD COLUMN provisional INTEGER NOT NULL DEFAULT 0
    CHECK (provisional IN (0, 1));
DROP TRIGGER draws_only_supersede;
CREATE TRIGGER draws_only_supersede BEFORE UPDATE ON draws
WHEN NOT (OLD.status = 'active' AND NEW.status = 'superseded'
      AND NEW.id IS OLD.id AND NEW.matter IS OLD.matter AND NEW.period IS OLD.period
      AND NEW.kind IS OLD.kind AND NEW.algorithm IS OLD.algorithm
      AND NEW.seed_hex IS OLD.seed_hex AND NEW.seed_source IS OLD.seed_source
      AND NEW.rules_hash IS OLD.rules_hash
      AND NEW.targets_snapshot IS OLD.targets_snapshot
      AND NEW.inspectors_snapshot IS OLD.inspectors_snapshot
      AND NEW.reference_date IS OLD.reference_date AND NEW.issue_date IS OLD.issue_date
      AND NEW.due_date IS OLD.due_date AND NEW.created_at IS OLD.created_at
      AND NEW.actor IS OLD.actor AND NEW.manifest_json IS OLD.manifest_json
      AND NEW.manifest_hash IS OLD.manifest_hash AND NEW.redraw_of IS OLD.redraw_of
      AND NEW.redraw_reason IS OLD.redraw_reason AND NEW.provisional IS OLD.provisional)
BEGIN SELECT RAISE(ABORT, 'draws are permanent: the only change allowed is status active -> superseded'); END;

CREATE TABLE scheduler_events_v2 (
    id      INTEGER PRIMARY KEY,
    matter  TEXT    NOT NULL,
    period  TEXT    NOT NULL,
    event   TEXT    NOT NULL
            CHECK (event IN ('issued', 'caught_up', 'skipped', 'failed', 'missed')),
    at      TEXT    NOT NULL CHECK (at <> ''),
    draw_id INTEGER REFERENCES draws (id),
    detail  TEXT    NOT NULL
) STRICT;
INSERT INTO scheduler_events_v2 (id, matter, period, event, at, draw_id, detail)
    SELECT id, matter, period, event, at, draw_id, detail FROM scheduler_events;
DROP TABLE scheduler_events;
ALTER TABLE scheduler_events_v2 RENAME TO scheduler_events;
CREATE INDEX scheduler_events_by_subject ON scheduler_events (matter, period, id);
CREATE INDEX scheduler_events_by_time ON scheduler_events (at);

CREATE TABLE audit_v2 (
    seq          INTEGER PRIMARY KEY,
    os_user      TEXT NOT NULL CHECK (os_user <> ''),
    host         TEXT NOT NULL CHECK (host <> ''),
    console_user TEXT CHECK (console_user IS NULL OR console_user <> ''),
    rows_hash    TEXT CHECK (rows_hash IS NULL
                             OR (length(rows_hash) = 64 AND rows_hash NOT GLOB '*[^0-9a-f]*'))
) STRICT;
CREATE TRIGGER audit_v2_only_the_last_entry BEFORE INSERT ON audit_v2
WHEN NEW.seq IS NOT (SELECT max(seq) FROM audit_log)
BEGIN SELECT RAISE(ABORT, 'audit_v2: only the entry just appended may be completed'); END;
CREATE TRIGGER audit_v2_no_update BEFORE UPDATE ON audit_v2
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused'); END;
CREATE TRIGGER audit_v2_no_delete BEFORE DELETE ON audit_v2
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused'); END;
"#;

/// Version 4: redraws asked for in the console, waiting for an approver (法制审核). A request
/// is decided once; an approved one names the draw that replaced the old one.
const V4: &str = r#"
CREATE TABLE redraw_requests (
    id           INTEGER PRIMARY KEY,
    draw_id      INTEGER NOT NULL REFERENCES draws (id),
    reason       TEXT    NOT NULL CHECK (reason <> ''),
    seed_text    TEXT    NOT NULL CHECK (seed_text <> ''),
    requested_by TEXT    NOT NULL CHECK (requested_by <> ''),
    requested_at TEXT    NOT NULL CHECK (requested_at <> ''),
    approved     INTEGER CHECK (approved IN (0, 1)),
    decided_by   TEXT,
    decided_at   TEXT,
    new_draw_id  INTEGER REFERENCES draws (id),
    CHECK ((approved IS NULL) = (decided_by IS NULL) AND (approved IS NULL) = (decided_at IS NULL))
) STRICT;

CREATE TRIGGER redraw_requests_are_kept BEFORE DELETE ON redraw_requests
BEGIN SELECT RAISE(ABORT, 'redraw requests are permanent'); END;

CREATE TRIGGER redraw_requests_decided_once BEFORE UPDATE ON redraw_requests
WHEN OLD.approved IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'a redraw request is decided once'); END;
"#;

/// Version 5: the rule set's approved versions and the changes proposed to it (issue 12).
/// A version holds the whole rule set (config, holiday files, rule files and scripts, as a
/// JSON object of archive path → text) and its rules hash; versions are permanent. A change
/// holds the files it changes (and those it removes); once approved it is frozen.
const V5: &str = r#"
CREATE TABLE rule_changes (
    id           INTEGER PRIMARY KEY,
    department   TEXT    NOT NULL,
    kind         TEXT    NOT NULL CHECK (kind IN ('edit', 'rollback')),
    files        TEXT    NOT NULL,
    removed      TEXT    NOT NULL,
    base_hash    TEXT    NOT NULL,
    state        TEXT    NOT NULL CHECK (state IN ('draft', 'submitted', 'approved', 'returned')),
    author       TEXT    NOT NULL CHECK (author <> ''),
    created_at   TEXT    NOT NULL CHECK (created_at <> ''),
    updated_at   TEXT    NOT NULL CHECK (updated_at <> ''),
    submitted_at TEXT,
    decided_by   TEXT,
    decided_at   TEXT,
    comment      TEXT,
    rollback_of  INTEGER
) STRICT;

CREATE TABLE rule_versions (
    id          INTEGER PRIMARY KEY,
    rules_hash  TEXT    NOT NULL CHECK (length(rules_hash) = 64),
    files       TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('adopted', 'edit', 'outside', 'rollback')),
    change_id   INTEGER REFERENCES rule_changes (id),
    author      TEXT    NOT NULL CHECK (author <> ''),
    approver    TEXT    NOT NULL CHECK (approver <> ''),
    approved_at TEXT    NOT NULL CHECK (approved_at <> '')
) STRICT;

CREATE TRIGGER rule_versions_are_kept BEFORE DELETE ON rule_versions
BEGIN SELECT RAISE(ABORT, 'rule versions are permanent'); END;

CREATE TRIGGER rule_versions_are_frozen BEFORE UPDATE ON rule_versions
BEGIN SELECT RAISE(ABORT, 'rule versions are permanent'); END;

CREATE TRIGGER rule_changes_are_kept BEFORE DELETE ON rule_changes
BEGIN SELECT RAISE(ABORT, 'rule changes are permanent'); END;

CREATE TRIGGER rule_changes_approved_once BEFORE UPDATE ON rule_changes
WHEN OLD.state = 'approved'
BEGIN SELECT RAISE(ABORT, 'an approved rule change is frozen'); END;
"#;

/// Version 6: commitments to a draw's seed source, made before its value exists (see
/// `store::commitments`). Permanent.
const V6: &str = r#"
CREATE TABLE commitments (
    id                  INTEGER PRIMARY KEY,
    matter              TEXT NOT NULL CHECK (matter <> ''),
    period              TEXT NOT NULL CHECK (period <> ''),
    committed_at        TEXT NOT NULL CHECK (committed_at <> ''),
    source              TEXT NOT NULL CHECK (source <> ''),
    source_time         TEXT NOT NULL CHECK (source_time <> ''),
    targets_snapshot    TEXT NOT NULL,
    inspectors_snapshot TEXT NOT NULL,
    rules_hash          TEXT NOT NULL,
    algorithm           TEXT NOT NULL,
    actor               TEXT NOT NULL CHECK (actor <> '')
) STRICT;
CREATE INDEX commitments_by_subject ON commitments (matter, period, id);
CREATE TRIGGER commitments_no_update BEFORE UPDATE ON commitments
BEGIN SELECT RAISE(ABORT, 'commitments are permanent: UPDATE refused'); END;
CREATE TRIGGER commitments_no_delete BEFORE DELETE ON commitments
BEGIN SELECT RAISE(ABORT, 'commitments are permanent: DELETE refused'); END;
"#;

/// Version 7: a target snapshot may be kept as a file, `snapshots/<hash>.csv` beside the
/// database (its row with an empty `data` and a `compressed_size` of 0; see
/// `store::snapshots`). No table changes on SQLite; the version is raised so that a suiji that
/// could not read such a snapshot refuses the file instead of failing to verify its draws.
/// PostgreSQL, which has no folder beside it, gains the table that holds those files' bytes.
const V7: &str = "-- snapshots may be kept as files beside the database";

/// Version 8: changes made to a draw after it was issued (see `store::changes`): a drawn target
/// replaced by its stratum's next substitute (替补) or marked out of scope (不在范围), an
/// inspector replaced (人员调整). Each is a recorded act with its reason, user and time, never an
/// edit of the draw; permanent.
const V8: &str = r#"
CREATE TABLE draw_changes (
    id           INTEGER PRIMARY KEY,
    draw_id      INTEGER NOT NULL REFERENCES draws (id),
    kind         TEXT    NOT NULL CHECK (kind IN ('target', 'inspector')),
    cause        TEXT    NOT NULL CHECK (cause <> ''),
    target_id    TEXT    NOT NULL CHECK (target_id <> ''),
    inspector_id TEXT,
    replacement  TEXT,
    reason       TEXT    NOT NULL CHECK (reason <> ''),
    actor        TEXT    NOT NULL CHECK (actor <> ''),
    changed_at   TEXT    NOT NULL CHECK (changed_at <> ''),
    CHECK ((kind = 'inspector') = (inspector_id IS NOT NULL))
) STRICT;
CREATE INDEX draw_changes_by_draw ON draw_changes (draw_id, id);
CREATE TRIGGER draw_changes_no_update BEFORE UPDATE ON draw_changes
BEGIN SELECT RAISE(ABORT, 'draw changes are permanent: UPDATE refused'); END;
CREATE TRIGGER draw_changes_no_delete BEFORE DELETE ON draw_changes
BEGIN SELECT RAISE(ABORT, 'draw changes are permanent: DELETE refused'); END;
"#;

/// Version 9: every column a draw's head reads ([`crate::store::DrawHead`]) in one index, so
/// that listing draws never reads the `draws` row itself. The row stores `manifest_hash`,
/// `redraw_of`, `redraw_reason` and `provisional` after `manifest_json`, which runs to tens of
/// megabytes for a draw of a large registry: SQLite reaches a column after it only by walking
/// the manifest's overflow pages. With this index the lists, the status and the scheduler read
/// the index alone (`store::draws::tests::draw_heads_are_read_from_the_covering_index`).
const V9: &str = r#"
CREATE INDEX draws_heads ON draws (matter, period, id, status, kind, seed_source, issue_date,
                                   created_at, actor, manifest_hash, provisional);
"#;
