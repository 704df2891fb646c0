//! Records that can't be rewritten: someone with write access to the database file drops the
//! triggers and edits it with SQL. `audit verify` finds every edit of recorded rows (each
//! audit entry holds the hash of the rows it records), and `audit verify --against` finds
//! what the chain alone cannot: its tail deleted, or the whole chain hashed again, because
//! the chain's head was published (`out/public/anchors.json`) before.

mod util;

use std::io::{Read, Write};

use util::{Project, run};

const HOTEL: &str = "zhian.hotel";
const CAFE: &str = "wangan.internet-cafe";

/// A bureau's database with two draws, and the anchors it published after them (the copy on
/// its 门户网站: `published.json`, out of the attacker's reach).
fn bureau() -> Project {
    let p = Project::shipped();
    for (matter, period) in [(HOTEL, "2025-H1"), (CAFE, "2025")] {
        p.ok(&["draw", matter, "--period", period]);
    }
    let anchors = p.read("out/public/anchors.json");
    p.write("published.json", &anchors);
    p
}

/// Drops every trigger and turns foreign keys off, as someone editing the file by hand would.
fn drop_triggers(c: &rusqlite::Connection) {
    c.execute_batch("PRAGMA foreign_keys = OFF")
        .expect("pragma");
    let names: Vec<String> = c
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'trigger'")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .expect("triggers");
    for n in names {
        c.execute_batch(&format!("DROP TRIGGER {n}"))
            .expect("drop trigger");
    }
}

fn verify(p: &Project, against: Option<&str>) -> (i32, String) {
    let mut args = vec!["audit", "verify"];
    if let Some(a) = against {
        args.extend(["--against", a]);
    }
    let (code, out, err) = run(p.suiji(&args));
    (code, format!("{out}{err}"))
}

/// `suiji verify` fails on the project and says that the rows audit entry `entry` (its text:
/// "AUDIT LOG BROKEN at audit entry 1", "audit entry 2") records for draw `id` were changed;
/// its output.
fn rows_changed(p: &Project, entry: &str, id: i64) -> String {
    let (code, out) = verify(p, None);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!(
            "{entry}: the rows it records were changed since (draw.record draw:{id}"
        )),
        "{out}"
    );
    out
}

fn draw_id(p: &Project, matter: &str) -> i64 {
    p.db()
        .query_row(
            "SELECT id FROM draws WHERE matter = ?1 AND status = 'active'",
            [matter],
            |r| r.get(0),
        )
        .expect("draw id")
}

#[test]
fn draws_and_publications_anchor_the_chain_and_a_daily_anchor_adds_only_news() {
    let p = bureau();
    let anchors: serde_json::Value =
        serde_json::from_str(&p.read("out/public/anchors.json")).expect("json");
    assert_eq!(anchors["format"], "suiji-anchors/1");
    let list = anchors["anchors"].as_array().expect("anchors");
    assert_eq!(list.len(), 2, "{anchors}");
    assert_eq!(list[0]["reason"], "draw");
    assert_eq!(list[0]["subject"], "zhian.hotel 2025-H1");
    assert_eq!(list[1]["seq"], 2);
    let head = p.ok(&["audit", "verify"]);
    assert!(
        head.contains(list[1]["hash"].as_str().expect("hash")),
        "{head}"
    );
    // Nothing new since the last anchor: the daily anchor writes nothing.
    assert_eq!(p.ok(&["audit", "anchor"]).trim(), "nothing new to anchor");
    let (code, out) = verify(&p, Some("out/public/anchors.json"));
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("consistent with 2 published anchors: 2 entries"),
        "{out}"
    );
}

#[test]
fn a_changed_drawn_target_is_found_by_audit_verify() {
    let p = bureau();
    let c = p.db();
    drop_triggers(&c);
    let id = draw_id(&p, HOTEL);
    c.execute(
        "UPDATE draw_targets SET target_id = 'H-FRIEND' WHERE draw_id = ?1 AND selected = 1 \
         AND seq = (SELECT min(seq) FROM draw_targets WHERE draw_id = ?1 AND selected = 1)",
        [id],
    )
    .expect("tamper");
    let out = rows_changed(&p, "AUDIT LOG BROKEN at audit entry 1", id);
    assert!(out.contains("the 0 entries before it are intact"), "{out}");
}

/// A row added to a draw afterwards (its triggers, which refuse it, dropped first) is a change
/// of the rows its audit entry records: the draw's own rows are the only ones it was made with.
#[test]
fn a_team_member_added_to_a_recorded_draw_is_found_by_audit_verify() {
    let p = bureau();
    let c = p.db();
    drop_triggers(&c);
    let id = draw_id(&p, HOTEL);
    c.execute(
        "INSERT INTO draw_team_members (draw_id, seq, target_id, position, inspector_id,
            inspector_name, target_seq)
         SELECT draw_id, seq + 1000000, target_id, position + 10, 'FRIEND', '朋友', target_seq
         FROM draw_team_members WHERE draw_id = ?1 ORDER BY seq LIMIT 1",
        [id],
    )
    .expect("tamper");
    rows_changed(&p, "AUDIT LOG BROKEN at audit entry 1", id);
}

#[test]
fn an_edited_manifest_is_found_by_audit_verify() {
    let p = bureau();
    let c = p.db();
    drop_triggers(&c);
    let id = draw_id(&p, CAFE);
    c.execute(
        "UPDATE draws SET manifest_json = manifest_json || ' ' WHERE id = ?1",
        [id],
    )
    .expect("tamper");
    rows_changed(&p, "audit entry 2", id);
}

/// A manifest kept in pieces (schema version 12): a piece edited in place, or one made longer
/// so that the pieces no longer add up to the length recorded, is a changed row like any other.
#[test]
fn an_edited_piece_of_a_manifest_is_found_by_audit_verify() {
    for edit in [
        "UPDATE draw_manifest_pieces SET text = replace(text, '\"matter\"', '\"mAtter\"') \
         WHERE draw_id = ?1 AND piece = 0",
        "UPDATE draw_manifest_pieces SET text = text || ' ' WHERE draw_id = ?1 AND piece = 0",
    ] {
        let p = bureau();
        let c = p.db();
        drop_triggers(&c);
        let id = draw_id(&p, CAFE);
        let pieces: i64 = c
            .query_row(
                "SELECT count(*) FROM draw_manifest_pieces WHERE draw_id = ?1",
                [id],
                |r| r.get(0),
            )
            .expect("pieces");
        assert!(pieces >= 1, "the draw's manifest is kept in pieces");
        assert_eq!(c.execute(edit, [id]).expect("tamper"), 1);
        rows_changed(&p, "audit entry 2", id);
    }
}

#[test]
fn deleting_the_last_audit_entries_contradicts_the_published_anchor() {
    let p = bureau();
    let c = p.db();
    drop_triggers(&c);
    c.execute_batch("DELETE FROM audit_v2 WHERE seq = 2; DELETE FROM audit_log WHERE seq = 2;")
        .expect("tamper");
    // The shorter chain is a valid chain on its own…
    let (code, out) = verify(&p, None);
    assert_eq!(code, 0, "{out}");
    // …but not the one the bureau published.
    let (code, out) = verify(&p, Some("published.json"));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("AUDIT LOG CONTRADICTS A PUBLISHED ANCHOR")
            && out.contains("names entry 2 with hash")
            && out.contains("the local chain ends at entry 1: entries were removed"),
        "{out}"
    );
}

#[test]
fn a_draw_deleted_and_drawn_again_contradicts_the_published_anchor() {
    let p = bureau();
    let c = p.db();
    drop_triggers(&c);
    let id = draw_id(&p, CAFE);
    for table in [
        "draw_targets",
        "draw_team_members",
        "draw_unstaffed",
        "draw_exclusions",
        "draw_manifest_pieces",
    ] {
        c.execute(&format!("DELETE FROM {table} WHERE draw_id = ?1"), [id])
            .expect("tamper");
    }
    c.execute("DELETE FROM draws WHERE id = ?1", [id])
        .expect("tamper");
    c.execute_batch("DELETE FROM audit_v2 WHERE seq = 2; DELETE FROM audit_log WHERE seq = 2;")
        .expect("tamper");
    drop(c);
    p.ok(&["draw", CAFE, "--period", "2025"]);
    let (code, out) = verify(&p, None);
    assert_eq!(code, 0, "the new chain is valid on its own: {out}");
    let (code, out) = verify(&p, Some("published.json"));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("names entry 2 with hash") && out.contains("the chain was rewritten"),
        "{out}"
    );
}

#[test]
fn a_chain_hashed_again_after_an_edit_contradicts_the_published_anchor() {
    let p = bureau();
    let c = p.db();
    drop_triggers(&c);
    let id = draw_id(&p, HOTEL);
    c.execute(
        "UPDATE draw_targets SET selected = 1 - selected WHERE draw_id = ?1",
        [id],
    )
    .expect("tamper");
    // Every rows hash and every entry hash computed again, as the documented encodings say.
    let store = suiji::store::Store::open(&p.path("data")).expect("open");
    let mut prev = suiji::store::GENESIS_HASH.to_string();
    for mut e in store.audit_entries(0, u32::MAX).expect("entries") {
        let mut v2 = e.v2.clone().expect("format 2");
        v2.rows_hash = store.rows_hash_now(&e).expect("rows");
        e.prev_hash = prev.clone();
        let hash = suiji::store::audit_hash_v2(&e, &v2);
        c.execute(
            "UPDATE audit_v2 SET rows_hash = ?1 WHERE seq = ?2",
            rusqlite::params![v2.rows_hash, e.seq],
        )
        .expect("rehash");
        c.execute(
            "UPDATE audit_log SET prev_hash = ?1, hash = ?2 WHERE seq = ?3",
            rusqlite::params![prev, hash, e.seq],
        )
        .expect("rehash");
        prev = hash;
    }
    let (code, out) = verify(&p, None);
    assert_eq!(code, 0, "the re-hashed chain is valid on its own: {out}");
    let (code, out) = verify(&p, Some("published.json"));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("names entry 1 with hash") && out.contains("the chain was rewritten"),
        "{out}"
    );
}

/// One HTTP answer of `body`, on a port of its own; returns the address to fetch.
fn serve_once(body: String) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        if let Ok((mut s, _)) = listener.accept() {
            let mut request = Vec::new();
            let mut buf = [0u8; 256];
            while !request.ends_with(b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let _ = write!(
                s,
                "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{addr}/public/anchors.json")
}

#[test]
fn anchors_are_read_from_a_web_address_and_https_names_the_way_round() {
    let p = bureau();
    let url = serve_once(p.read("published.json"));
    let (code, out) = verify(&p, Some(&url));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("consistent with 2 published anchors"), "{out}");

    let (code, out) = verify(&p, Some("https://example.gov.cn/public/anchors.json"));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("curl -o anchors.json https://example.gov.cn/public/anchors.json"),
        "{out}"
    );
    p.write(
        "not-anchors.json",
        "{\"format\": \"something else\", \"anchors\": []}",
    );
    let (code, out) = verify(&p, Some("not-anchors.json"));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("not-anchors.json is not an anchors file (suiji-anchors/1)"),
        "{out}"
    );
}

#[test]
fn a_publication_of_results_anchors_the_chain() {
    let p = Project::shipped_two_person(); // the shipped config: the example sheet was made from its draws
    p.ok(&["simulate", "--year", "2023"]);
    std::fs::create_dir_all(p.path("config/examples")).expect("mkdir");
    std::fs::copy(
        util::repo().join("config/examples/results-2023-zhian-hotel-H1.csv"),
        p.path("config/examples/results-2023-zhian-hotel-H1.csv"),
    )
    .expect("copy example");
    p.ok(&[
        "results",
        "import",
        "config/examples/results-2023-zhian-hotel-H1.csv",
    ]);
    p.ok(&["publish", "--today", "2023-07-14"]);
    let anchors: serde_json::Value =
        serde_json::from_str(&p.read("out/public/anchors.json")).expect("json");
    let list = anchors["anchors"].as_array().expect("anchors");
    let last = list.last().expect("an anchor");
    assert_eq!(last["reason"], "publication", "{anchors}");
    assert!(
        last["subject"]
            .as_str()
            .is_some_and(|s| s.contains("zhian.hotel 2023-H1")),
        "{last}"
    );
    assert_eq!(
        list.iter().filter(|a| a["reason"] == "draw").count(),
        22,
        "one anchor per draw of the simulated year"
    );
    let (code, out) = verify(&p, Some("out/public/anchors.json"));
    assert_eq!(code, 0, "{out}");
}
