//! Every draw's two bundles (docs/draw-algorithm.md V2-9): the public one recomputes the
//! selection from its frame, the audit one re-runs the whole draw in an empty folder without the
//! database; a new `suiji-manifest/2` records the public bundle's hash; tampering is found and
//! said; no inspector data in the public bundle.

mod util;

use std::path::{Path, PathBuf};

use suiji::jobs::bundle::AuditBundle;
use util::{Project, bin, repo, run};

fn draw_folders(p: &Project) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for matter in std::fs::read_dir(p.path("out/draws"))
        .expect("draws")
        .flatten()
    {
        for period in std::fs::read_dir(matter.path()).expect("matter").flatten() {
            if period.path().join("manifest.json").is_file() {
                out.push(period.path());
            }
        }
    }
    out.sort();
    out
}

/// `suiji verify --bundle FILE` run in `dir` (no project there).
fn verify_bundle(dir: &Path, file: &Path) -> (i32, String, String) {
    let mut cmd = assert_cmd::Command::new(bin());
    cmd.current_dir(dir).arg("verify").arg("--bundle").arg(file);
    run(cmd)
}

#[test]
fn every_draw_of_a_simulated_year_has_bundles_that_check_without_the_database() {
    let p = Project::shipped();
    p.ok(&["simulate", "--year", "2023", "--seed", "demo"]);
    let empty = tempfile::tempdir().expect("temp");
    let folders = draw_folders(&p);
    assert!(folders.len() >= 20, "{folders:?}");
    let mut weighted = 0;
    let mut stratified = 0;
    for f in &folders {
        let public = f.join("bundle.public.json");
        let audit = f.join("bundle.audit.gz");
        let b: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&public).expect("public bundle")).expect("json");
        // A `suiji-manifest/6` draw's bundle keeps the exclusions' summary, its detail file
        // beside it lists them (V2-18), lists its frame in id order (V2-19), each entry an
        // array (V2-20).
        assert_eq!(b["format"], "suiji-public-bundle/4");
        let frame = util::frame_entries(&b);
        let ids: Vec<&str> = frame
            .iter()
            .map(|f| f["id"].as_str().expect("id"))
            .collect();
        assert!(ids.windows(2).all(|w| w[0].as_bytes() < w[1].as_bytes()));
        assert!(b.get("exclusions").is_none());
        weighted += usize::from(b["weighting"] == "pareto");
        // The audit bundle (`suiji-audit-bundle/2`) holds the very bytes of the folder's
        // manifest (copied from the file as it was written), which names the public bundle's
        // hash and the target snapshot's, kept as a file once per registry version.
        let held = AuditBundle::parse(&std::fs::read(&audit).expect("audit")).expect("audit");
        let public_bytes = std::fs::read(&public).expect("public bundle");
        assert_eq!(held.public, None);
        assert_eq!(held.targets, None);
        assert_eq!(
            held.manifest,
            std::fs::read(f.join("manifest.json")).expect("manifest")
        );
        let m: serde_json::Value = serde_json::from_slice(&held.manifest).expect("manifest");
        assert_eq!(
            m["public_bundle"],
            suiji::digest::sha256_hex(&public_bytes).as_str()
        );
        assert_eq!(b["exclusion_summary"], m["exclusion_summary"]);
        stratified += usize::from(b["strata"].as_array().is_some_and(|s| s.len() > 1));
        let copy = empty.path().join("bundle.public.json");
        std::fs::copy(&public, &copy).expect("copy");
        // Without its detail file the selection checks, the exclusions cannot: neither
        // identical nor DIFFERS, and the status is not 0.
        let _ = std::fs::remove_file(empty.path().join("exclusions.csv"));
        let (code, out, err) = verify_bundle(empty.path(), &copy);
        assert_eq!(
            code,
            2,
            "{}
{out}
{err}",
            f.display()
        );
        assert!(
            out.starts_with("not fully checked: ")
                && out.contains("put the draw's exclusions.csv beside the bundle"),
            "{out}"
        );
        std::fs::copy(
            f.join("exclusions.csv"),
            empty.path().join("exclusions.csv"),
        )
        .expect("copy the detail file");
        let (code, out, err) = verify_bundle(empty.path(), &copy);
        assert_eq!(code, 0, "{}\n{out}\n{err}", f.display());
        assert!(out.starts_with("identical: "), "{out}");
        let copy = empty.path().join("bundle.audit.gz");
        std::fs::copy(&audit, &copy).expect("copy");
        let snapshot = format!(
            "{}.csv",
            m["registry"]["targets_snapshot"].as_str().expect("hash")
        );
        std::fs::copy(
            p.path("data/snapshots").join(&snapshot),
            empty.path().join(&snapshot),
        )
        .expect("the target snapshot, kept once by its hash");
        let (code, out, err) = verify_bundle(empty.path(), &copy);
        assert_eq!(code, 0, "{}\n{out}\n{err}", f.display());
        assert!(out.contains("re-running the whole draw"), "{out}");
    }
    assert!(
        weighted > 0 && stratified > 0,
        "{weighted} weighted, {stratified} stratified"
    );
    let left: Vec<String> = std::fs::read_dir(empty.path())
        .expect("dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let copies = ["bundle.public.json", "exclusions.csv", "bundle.audit.gz"];
    assert!(
        left.iter()
            .all(|f| copies.contains(&f.as_str()) || (f.len() == 68 && f.ends_with(".csv"))),
        "nothing but the copies: {left:?}"
    );
    // The folders are rebuilt byte for byte, bundles included.
    let out = p.ok(&["regenerate"]);
    assert!(
        out.contains(": 0 written, ") && out.contains(" 0 failed"),
        "{out}"
    );
}

#[test]
fn the_public_bundle_lists_the_frame_and_no_inspector_data() {
    let p = Project::shipped();
    p.ok(&["draw", "zhian.hotel", "--period", "2023-H1"]);
    let folder = p.path("out/draws/zhian.hotel/2023-H1");
    let text = std::fs::read_to_string(folder.join("bundle.public.json")).expect("bundle");
    let b: serde_json::Value = serde_json::from_str(&text).expect("json");
    let m = util::manifest_with_exclusions(&folder.join("manifest.json"));
    let eligible: u64 = m["strata"]
        .as_array()
        .expect("strata")
        .iter()
        .map(|s| s["eligible"].as_u64().expect("n"))
        .sum();
    assert_eq!(b["frame"].as_array().expect("frame").len() as u64, eligible);
    assert_eq!(b["weighting"], "pareto", "the hotel draw is risk-weighted");
    assert!(util::frame_entries(&b)[0]["weight"].is_string());
    // The exclusions: summarised as the manifest does, listed in the detail file beside it.
    assert_eq!(b.get("exclusions"), None);
    let recorded: serde_json::Value =
        serde_json::from_slice(&std::fs::read(folder.join("manifest.json")).expect("m"))
            .expect("json");
    assert_eq!(b["exclusion_summary"], recorded["exclusion_summary"]);
    assert!(!m["exclusions"].as_array().expect("listed").is_empty());
    // The shipped config repeats names alone (`[publication] frame_fields`).
    assert_eq!(b["public_fields"], serde_json::json!(["name"]));
    let inspectors =
        std::fs::read_to_string(repo().join("config/registry/inspectors.csv")).expect("file");
    for line in inspectors.lines().skip(1) {
        for cell in line.split(',').take(4).filter(|c| !c.is_empty()) {
            if cell != "zhian" && cell.chars().count() > 1 && !cell.starts_with("wangan") {
                assert!(
                    !text.contains(cell),
                    "inspector data `{cell}` in the public bundle"
                );
            }
        }
    }
    assert!(
        !text.contains("team") && !text.contains("inspector"),
        "no teams"
    );
}

/// `[publication] frame_fields`: the public fields the bundle's frame repeats for every target
/// drawn from, in the order given (none: ids, strata and weights alone, which is all a check
/// needs); the selection and the check are the same whichever the frame carries. A field that
/// `public_fields` does not publish is refused at its place in the config.
#[test]
fn the_frame_repeats_the_fields_the_config_names_and_no_others() {
    let bundle = |p: &Project| -> serde_json::Value {
        let path = p.path("out/draws/zhian.hotel/2023-H1/bundle.public.json");
        serde_json::from_slice(&std::fs::read(path).expect("bundle")).expect("json")
    };
    let selected = |b: &serde_json::Value| b["selected"].clone();
    let draw = [
        "draw",
        "zhian.hotel",
        "--period",
        "2023-H1",
        "--seed",
        "frame",
    ];
    let every = ["name", "category", "district", "address"];
    let p = Project::shipped().simulation();
    p.set_config(&["publication", "frame_fields"], every.to_vec());
    p.ok(&draw);
    let all = bundle(&p);
    assert_eq!(all["public_fields"], serde_json::json!(every));
    for fields in [vec!["name"], vec![], vec!["address", "name"]] {
        let p = Project::shipped().simulation();
        p.set_config(&["publication", "frame_fields"], fields.clone());
        p.ok(&draw);
        let b = bundle(&p);
        assert_eq!(b["public_fields"], serde_json::json!(fields));
        assert_eq!(selected(&b), selected(&all), "the same selection");
        let entries = util::frame_entries(&b);
        let whole = util::frame_entries(&all);
        assert_eq!(entries.len(), whole.len());
        for (e, w) in entries.iter().zip(&whole) {
            assert_eq!(
                (&e["id"], &e["stratum"], &e["weight"]),
                (&w["id"], &w["stratum"], &w["weight"])
            );
            let named: Vec<&serde_json::Value> = fields
                .iter()
                .map(|f| {
                    let at = every
                        .iter()
                        .position(|x| x == f)
                        .expect("a shipped public field");
                    &w["fields"][at]
                })
                .collect();
            assert_eq!(
                e["fields"]
                    .as_array()
                    .expect("fields")
                    .iter()
                    .collect::<Vec<_>>(),
                named
            );
        }
        let out = p.ok(&["verify", "out/draws/zhian.hotel/2023-H1/manifest.json"]);
        assert!(out.starts_with("identical"), "{out}");
        let (code, out, err) = verify_bundle(
            &p.path("out/draws/zhian.hotel/2023-H1"),
            &p.path("out/draws/zhian.hotel/2023-H1/bundle.public.json"),
        );
        assert_eq!(code, 0, "{fields:?}: {out}{err}");
    }
    for (bad, says) in [
        (vec!["licence"], "`licence` is not a public field"),
        (vec!["name", "name"], "`name` is listed twice"),
    ] {
        p.set_config(&["publication", "frame_fields"], bad.clone());
        let config = p.read("config/suiji.toml");
        let at = config.find("frame_fields").expect("written");
        let line = config[..at].lines().count() + 1;
        let (code, out, err) = util::run(p.suiji(&["check"]));
        assert_ne!(code, 0, "{bad:?}: {out}{err}");
        assert!(
            err.contains(says) && err.contains(&format!("config/suiji.toml:{line}:")),
            "{bad:?}: {err}"
        );
    }
}

#[test]
fn a_new_v2_manifest_records_the_public_bundles_hash() {
    // The shipped config draws with `suiji-draw/2`.
    let p = Project::shipped();
    p.ok(&["draw", "zhian.hotel", "--period", "2023-H1"]);
    let folder = p.path("out/draws/zhian.hotel/2023-H1");
    let bytes = std::fs::read(folder.join("bundle.public.json")).expect("bundle");
    let hash = suiji::digest::sha256_hex(&bytes);
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(folder.join("manifest.json")).expect("m"))
            .expect("json");
    assert_eq!(m["format"], "suiji-manifest/6");
    assert_eq!(m["public_bundle"], hash.as_str());
    let out = p.ok(&["verify", "out/draws/zhian.hotel/2023-H1/manifest.json"]);
    assert!(out.starts_with("identical"), "{out}");
    // The draw's public page offers the bundle with its hash.
    p.ok(&["publish", "--site"]);
    let page = p.read("out/site/draws/1.html");
    assert!(page.contains(&hash), "{page}");
    assert_eq!(
        std::fs::read(p.path("out/site/draws/1/bundle.public.json")).expect("copied"),
        bytes
    );
    // With the exclusions it summarises, which the site's verification page checks.
    assert_eq!(
        std::fs::read(p.path("out/site/draws/1/exclusions.csv")).expect("copied"),
        std::fs::read(folder.join("exclusions.csv")).expect("detail file")
    );
}

#[test]
fn a_tampered_bundle_is_found_and_the_reason_said() {
    let p = Project::shipped();
    p.ok(&["draw", "zhian.entertainment", "--period", "2023-H1"]);
    let folder = p.path("out/draws/zhian.entertainment/2023-H1");
    let text = std::fs::read_to_string(folder.join("bundle.public.json")).expect("bundle");
    let mut b: serde_json::Value = serde_json::from_str(&text).expect("json");
    let dir = tempfile::tempdir().expect("temp");
    let detail = std::fs::read(folder.join("exclusions.csv")).expect("detail file");
    std::fs::write(dir.path().join("exclusions.csv"), &detail).expect("write");
    let check = |b: &serde_json::Value, want: &str| {
        let file = dir.path().join("bundle.public.json");
        std::fs::write(&file, serde_json::to_vec(b).expect("json")).expect("write");
        let (code, out, err) = verify_bundle(dir.path(), &file);
        assert_eq!(code, 1, "{out}\n{err}");
        assert!(
            out.starts_with("DIFFERS") && out.contains(want),
            "{want}\n{out}"
        );
    };
    // A drawn target swapped for another eligible one.
    let original = b.clone();
    let other = util::frame_entries(&b)
        .iter()
        .map(|f| f["id"].as_str().expect("id").to_string())
        .find(|id| {
            !b["selected"]
                .as_array()
                .expect("selected")
                .iter()
                .any(|s| s["target_id"] == id.as_str())
        })
        .expect("an eligible target not drawn");
    b["selected"][0]["target_id"] = other.clone().into();
    check(&b, &format!("the bundle states {other}"));
    // A target left out of the frame.
    let mut b = original.clone();
    b["frame"].as_array_mut().expect("frame").remove(0);
    check(&b, "eligible stated");
    // Another seed.
    let mut b = original.clone();
    b["seed"] = "00".repeat(32).into();
    check(&b, "recomputed");
    // The same content, not in canonical form: its hash is not the recorded one.
    let file = dir.path().join("pretty.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&original).expect("json")).expect("write");
    let (code, out, _) = verify_bundle(dir.path(), &file);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("canonical form"), "{out}");
    // The bundle as drawn, beside an exclusions.csv with a line added, then without one.
    let file = dir.path().join("bundle.public.json");
    std::fs::write(&file, &text).expect("write");
    let (code, out, err) = verify_bundle(dir.path(), &file);
    assert_eq!(code, 0, "{out}\n{err}");
    let added = [&detail[..], b"T0,cooldown,x\n"].concat();
    std::fs::write(dir.path().join("exclusions.csv"), added).expect("write");
    check(&original, "exclusions.csv hashes to");
    std::fs::remove_file(dir.path().join("exclusions.csv")).expect("remove");
    check(
        &original,
        "not checked: the exclusions the bundle summarises",
    );
    // An audit bundle whose target snapshot file (found by its hash) has one target taken out,
    // then one holding that altered snapshot, then none to be found.
    let bytes = std::fs::read(folder.join("bundle.audit.gz")).expect("audit");
    let mut a = AuditBundle::parse(&bytes).expect("audit bundle");
    assert_eq!(a.targets, None, "it refers to the snapshot by its hash");
    let m: serde_json::Value = serde_json::from_slice(&a.manifest).expect("manifest");
    let name = format!(
        "{}.csv",
        m["registry"]["targets_snapshot"].as_str().expect("hash")
    );
    let kept = std::fs::read_to_string(p.path("data/snapshots").join(&name)).expect("snapshot");
    let mut lines: Vec<&str> = kept.lines().collect();
    lines.remove(1);
    let altered = format!("{}\n", lines.join("\n"));
    std::fs::write(dir.path().join(&name), &altered).expect("write");
    let file = dir.path().join("bundle.audit.gz");
    std::fs::write(&file, &bytes).expect("write");
    let (code, out, _) = verify_bundle(dir.path(), &file);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("is damaged"), "{out}");
    a.targets = Some(altered.into_bytes());
    std::fs::write(&file, a.to_bytes()).expect("write");
    let (code, out, _) = verify_bundle(dir.path(), &file);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("targets snapshot hashes to"), "{out}");
    // Without the snapshot nothing is re-run: not a difference, an input missing.
    std::fs::remove_file(dir.path().join(&name)).expect("remove");
    std::fs::write(&file, &bytes).expect("write");
    let (code, out, err) = verify_bundle(dir.path(), &file);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        !out.contains("DIFFERS") && !out.contains("identical"),
        "{out}"
    );
    assert!(
        err.contains(&name) && err.contains("--data") && err.contains("nothing was checked"),
        "{err}"
    );
}

#[test]
fn an_audit_bundle_whose_manifest_was_edited_is_found_by_list_and_by_field() {
    let p = Project::shipped();
    p.ok(&["draw", "zhian.entertainment", "--period", "2023-H1"]);
    let folder = p.path("out/draws/zhian.entertainment/2023-H1");
    let bytes = std::fs::read(folder.join("bundle.audit.gz")).expect("audit");
    let a = AuditBundle::parse(&bytes).expect("audit bundle");
    let text = String::from_utf8(a.manifest.clone()).expect("utf-8");
    let m: serde_json::Value = serde_json::from_str(&text).expect("manifest");
    let dir = tempfile::tempdir().expect("temp");
    let snapshot = format!(
        "{}.csv",
        m["registry"]["targets_snapshot"].as_str().expect("hash")
    );
    std::fs::copy(
        p.path("data/snapshots").join(&snapshot),
        dir.path().join(&snapshot),
    )
    .expect("the target snapshot");
    let file = dir.path().join("bundle.audit.gz");
    // The manifest's text as the draw wrote it, one line edited in place (its layout kept, so
    // that it is read a line at a time as the draw's own is).
    let with = |edited: String| {
        let mut b = AuditBundle::parse(&bytes).expect("audit bundle");
        b.manifest = edited.into_bytes();
        std::fs::write(&file, b.to_bytes()).expect("write");
        verify_bundle(dir.path(), &file)
    };
    let (code, out, err) = with(text.clone());
    assert_eq!(code, 0, "{out}\n{err}");
    // A drawn target's id changed in the selection: the lists' digests differ, the manifest
    // is read again whole and the difference named.
    let first = m["selected"][0]["target_id"].as_str().expect("id");
    let at = text
        .find(&format!("\"target_id\":\"{first}\""))
        .expect("in the text");
    let mut swapped = text.clone();
    swapped.replace_range(at..at + 14 + first.len(), "\"target_id\":\"T-EDITED\"");
    let (code, out, err) = with(swapped);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(out.starts_with("DIFFERS"), "{out}");
    assert!(out.contains("the manifest was altered"), "{out}");
    assert!(out.contains("T-EDITED"), "{out}");
    // A field outside the lists changed: the lists are the re-run's, the content is not the
    // one the manifest's hash claims.
    let name = m["matter_name"].as_str().expect("matter name");
    let edited = text.replacen(
        &format!("\"matter_name\": \"{name}\""),
        &format!("\"matter_name\": \"{name}（改）\""),
        1,
    );
    assert_ne!(
        edited, text,
        "the manifest names its matter on a line of its own"
    );
    let (code, out, err) = with(edited);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(out.contains("the manifest was altered"), "{out}");
}
