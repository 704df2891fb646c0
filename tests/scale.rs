//! National scale through the commands: a registry frozen once per version and shared by the
//! year's draws, kept as a file and found again by `verify`; a large draw's documents split for
//! people.

mod util;

use util::{Project, run};

/// The files of a folder, by name, sorted.
fn names(dir: &std::path::Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

#[test]
fn a_years_draws_share_one_target_snapshot_kept_as_a_file_that_verify_checks() {
    let p = Project::shipped();
    p.ok(&["draw", "zhian.hotel", "--period", "2023-H1"]);
    p.ok(&["draw", "zhian.entertainment", "--period", "2023-H1"]);
    p.ok(&["draw", "zhian.hotel", "--period", "2023-H2"]);
    let (files, notes): (Vec<String>, Vec<String>) = names(&p.path("data/snapshots"))
        .into_iter()
        .partition(|f| !f.starts_with(".frozen-"));
    assert_eq!(
        files.len(),
        1,
        "one snapshot for one registry version: {files:?}"
    );
    // Beside it, the note of the target file it was frozen from (`jobs::issue::kept`).
    assert_eq!(notes.len(), 1, "{notes:?}");
    let (hash, size, csize, data): (String, i64, i64, i64) = p
        .db()
        .query_row(
            "SELECT hash, size, compressed_size, length(data) FROM snapshots WHERE kind = 'targets'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .expect("one targets snapshot");
    assert_eq!(files[0], format!("{hash}.csv"));
    let file = p.path(&format!("data/snapshots/{hash}.csv"));
    let bytes = std::fs::read(&file).expect("snapshot");
    assert_eq!(size as usize, bytes.len());
    assert_eq!(
        (csize, data),
        (0, 0),
        "kept as the file, not gzipped into the database"
    );
    assert!(bytes.starts_with(b"id,name,category,district,"));
    let check = p.ok(&["registry", "check"]);
    assert!(check.contains(&hash[..12]), "{check}");
    for n in ["1", "2", "3"] {
        assert!(p.ok(&["verify", n]).starts_with("identical"));
    }
    // A snapshot file that is not the recorded one fails the re-run.
    let mut altered = bytes.clone();
    let at = altered.len() - 2;
    altered[at] = if altered[at] == b'x' { b'y' } else { b'x' };
    std::fs::write(&file, &altered).expect("alter");
    let (code, out, err) = run(p.suiji(&["verify", "1"]));
    assert_ne!(code, 0, "{out}{err}");
    assert!(
        out.contains("DIFFERS") && out.contains(&format!("targets snapshot {hash}")),
        "{out}{err}"
    );
    assert!(out.contains("damaged"), "{out}{err}");
}

/// A registry checked once per version: a draw over a target file whose bytes (by their
/// SHA-256) were checked before, the same way, without a word, takes that check's word instead of
/// reading every row again; other bytes that kept the file's look, or inspectors that change the
/// check, or a check that warned, are checked in full every time.
#[test]
fn a_target_file_checked_clean_is_not_read_again_until_its_bytes_or_its_check_change() {
    let p = Project::shipped();
    let said = std::cell::RefCell::new(String::new());
    let draw = |period: &str| {
        let mut cmd = p.suiji(&["draw", "zhian.hotel", "--period", period]);
        cmd.env("RUST_LOG", "suiji::progress=debug");
        let (code, out, err) = run(cmd);
        assert_eq!(code, 0, "{out}{err}");
        *said.borrow_mut() = err.clone();
        err.contains("its rows are not read again")
    };
    let note_words = || {
        let notes: Vec<String> = names(&p.path("data/snapshots"))
            .into_iter()
            .filter(|f| f.starts_with(".frozen-"))
            .collect();
        assert_eq!(notes.len(), 1, "{notes:?}");
        p.read(&format!("data/snapshots/{}", notes[0]))
            .split_whitespace()
            .count()
    };
    let snapshots = || {
        names(&p.path("data/snapshots"))
            .iter()
            .filter(|f| f.ends_with(".csv"))
            .count()
    };
    assert!(!draw("2023-H1"), "a first draw checks every row");
    assert_eq!(note_words(), 7, "noted with the clean check");
    assert!(draw("2023-H2"), "the same bytes, checked the same way");
    // Drawn while the bytes were hashed, and recorded once they were found the checked ones.
    let trusted = said.borrow().clone();
    let looks = trusted.find("looks like the version checked and frozen before");
    let confirmed = trusted.find("is the version checked and frozen before");
    assert!(looks.is_some() && looks < confirmed, "{trusted}");
    for n in ["1", "2"] {
        assert!(p.ok(&["verify", n]).starts_with("identical"));
    }
    // Other bytes, the file's length and time kept: checked in full and frozen again.
    p.edit_keeping_time("config/registry/targets.csv", "西街9号", "西街8号");
    assert!(!draw("2024-H1"), "other bytes are read again");
    // The draw started from the noted snapshot was not recorded: drawn again from the new one.
    let redrawn = said.borrow().clone();
    assert!(
        redrawn.contains("looks like the version checked and frozen before")
            && redrawn.contains("bytes are not the ones checked and frozen before"),
        "{redrawn}"
    );
    assert_eq!(snapshots(), 2, "frozen again");
    let draws: i64 = p
        .db()
        .query_row("SELECT count(*) FROM draws", [], |r| r.get(0))
        .expect("draws");
    assert_eq!(draws, 3, "each draw recorded once");
    assert!(p.ok(&["verify", "3"]).starts_with("identical"));
    assert!(draw("2024-H2"), "the new version, checked clean once");
    // An inspector's 回避 entry that names no target: a warning, so no check is taken on trust.
    let inspectors = p.read("config/registry/inspectors.csv");
    let first = inspectors.lines().nth(1).expect("an inspector").to_string();
    assert!(first.ends_with(','), "{first}");
    p.write(
        "config/registry/inspectors.csv",
        &inspectors.replacen(&first, &format!("{first}不存在的单位"), 1),
    );
    let (_, out, err) = run(p.suiji(&["registry", "check"]));
    assert!(err.contains("不存在的单位"), "{out}{err}");
    assert!(!draw("2025-H1"), "inspectors changed: checked in full");
    assert_eq!(note_words(), 4, "a check that warned is not noted");
    assert!(!draw("2025-H2"), "and is made again");
}

#[test]
fn a_large_draw_splits_its_documents_by_district_and_inspector() {
    let p = Project::shipped();
    p.ok(&[
        "gen-registry",
        "--targets",
        "300000",
        "--inspectors",
        "60",
        "--out",
        "big",
    ]);
    p.use_registries("big/targets.csv", "big/inspectors.csv");
    p.edit(
        "rules/zhian.toml",
        "categories = [\"hotel\"]",
        "categories = [\"hotel\", \"entertainment\", \"security_service\", \"precursor_chemical\", \"internet_cafe\", \"network_operator\"]",
    );
    p.edit(
        "rules/zhian.toml",
        "hooks = { script = \"zhian.rhai\", weight = \"risk_weight\" }",
        "hooks = { script = \"zhian.rhai\", weight = \"risk_weight\" }\nworkload_cap = 100000",
    );
    let out = p.ok(&["draw", "zhian.hotel", "--period", "2024-H1"]);
    let folder = p.path("out/draws/zhian.hotel/2024-H1");
    let files = names(&folder);
    for whole in ["tasks.xlsx", "teams.html", "public.html"] {
        assert!(!files.iter().any(|f| f == whole), "{whole} in {files:?}");
    }
    for kept in ["manifest.json", "tasks.csv", "public.csv"] {
        assert!(files.iter().any(|f| f == kept), "{kept} missing: {files:?}");
    }
    let count = |prefix: &str, suffix: &str| {
        files
            .iter()
            .filter(|f| f.starts_with(prefix) && f.ends_with(suffix))
            .count()
    };
    // The generator's 14 towns, each with its workbook and public page.
    assert_eq!(count("tasks-", ".xlsx"), 14, "{files:?}");
    assert_eq!(count("public-", ".html"), 14, "{files:?}");
    assert!(
        files.iter().any(|f| f == "tasks-平邑街道.xlsx"),
        "{files:?}"
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&p.read("out/draws/zhian.hotel/2024-H1/manifest.json"))
            .expect("manifest");
    let selected = manifest["selected"].as_array().expect("selected");
    assert!(selected.len() > 10_000, "{}", selected.len());
    let mut members: Vec<&str> = selected
        .iter()
        .flat_map(|s| s["team"].as_array().into_iter().flatten())
        .filter_map(|m| m.as_str())
        .collect();
    members.sort_unstable();
    members.dedup();
    // The sheets by inspector, gathered by the inspector's district (区域): every member's
    // sheet is in one file of their district's, on pages of its own, with their targets.
    let inspectors = p.read("big/inspectors.csv");
    let area_of = |id: &str| -> (String, String) {
        let line = inspectors
            .lines()
            .find(|l| l.starts_with(&format!("{id},")))
            .unwrap_or_else(|| panic!("{id} not in the inspectors"));
        let cells: Vec<&str> = line.split(',').collect();
        (cells[1].to_string(), cells[6].to_string())
    };
    let sheets: Vec<(&String, String)> = files
        .iter()
        .filter(|f| f.starts_with("teams-") && f.ends_with(".html"))
        .map(|f| (f, std::fs::read_to_string(folder.join(f)).expect("sheets")))
        .collect();
    let sections: usize = sheets
        .iter()
        .map(|(_, t)| t.matches("<section").count())
        .sum();
    assert_eq!(sections, members.len(), "{out}");
    assert!(sheets.len() < members.len(), "{} files", sheets.len());
    let first = &selected[0];
    let id = first["target_id"].as_str().expect("id");
    for m in first["team"].as_array().expect("team") {
        let m = m.as_str().expect("member");
        let (name, area) = area_of(m);
        let holding: Vec<_> = sheets
            .iter()
            .filter(|(_, t)| t.contains(&format!("{name}（{m}）</a>")))
            .collect();
        assert_eq!(holding.len(), 1, "{m}'s sheet in {} files", holding.len());
        let (file, text) = holding[0];
        assert!(
            file.starts_with(&format!("teams-{area}")),
            "{m} of {area} in {file}"
        );
        assert!(text.contains(id), "{file} lacks {id}");
    }
    // Each sheet says the checklist once, above a row per target.
    for (file, text) in &sheets {
        assert_eq!(
            text.matches("旅馆内部安全防范设施落实情况").count(),
            text.matches("<section").count(),
            "{file}"
        );
    }
    // The console lists the first drawn targets and says where the rest are.
    assert!(out.lines().count() < 100, "{} lines", out.lines().count());
    let rest = selected.len() - 20;
    assert!(
        out.contains(&format!("… and {rest} more, not listed here")) && out.contains("tasks.csv"),
        "{out}"
    );
    // The excluded targets: summarised in the manifest, listed in exclusions.csv (whose hash
    // the manifest records), counted in the database.
    assert_eq!(manifest["exclusions"], serde_json::json!([]));
    let excluded = util::detail_rows(&folder, &manifest).len();
    assert!(excluded > 10_000, "{excluded}");
    let by_reason: u64 = manifest["exclusion_summary"]["counts"]
        .as_array()
        .expect("counts")
        .iter()
        .filter_map(|c| c["count"].as_u64())
        .sum();
    assert_eq!(by_reason as usize, excluded);
    let (rows, counted): (i64, i64) = p
        .db()
        .query_row(
            "SELECT count(*), sum(CAST(detail AS INTEGER)) FROM draw_exclusions
             WHERE entity_kind = 'target'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("exclusion rows");
    assert!(rows <= 4, "one row per reason, not {rows}");
    assert_eq!(counted as usize, excluded);
    // The task list is compact: what every row shares on the line above the header, then a
    // row per target with a result column per checklist item; filled in, it imports.
    let tasks = p.read("out/draws/zhian.hotel/2024-H1/tasks.csv");
    let lines: Vec<&str> = tasks.lines().collect();
    assert!(
        lines[0].contains("检查任务清单") && lines[0].contains("完成期限"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].contains("检查结果：hotel-01 办理许可证情况"),
        "{}",
        lines[1]
    );
    assert_eq!(lines.len() - 2, selected.len());
    let mut cells: Vec<String> = lines[2].split(',').map(String::from).collect();
    assert_eq!(cells.len(), 12, "{}", lines[2]);
    for c in &mut cells[5..9] {
        *c = "未发现问题".into();
    }
    cells[9] = "2024-03-01".into();
    cells[11] = cells[4].clone();
    p.write(
        "filled.csv",
        &format!("{}\n{}\n", lines[1], cells.join(",")),
    );
    let imported = p.ok(&["results", "import", "filled.csv"]);
    assert!(imported.contains("imported 4 results"), "{imported}");
    // 2,100 more targets inspected: their notice is three pages.
    let mut filled = vec![lines[1].to_string()];
    for line in &lines[3..2103] {
        let mut cells: Vec<String> = line.split(',').map(String::from).collect();
        for c in &mut cells[5..9] {
            *c = "未发现问题".into();
        }
        cells[9] = "2024-03-01".into();
        cells[11] = cells[4].clone();
        filled.push(cells.join(","));
    }
    p.write("filled-more.csv", &(filled.join("\n") + "\n"));
    let imported = p.ok(&["results", "import", "filled-more.csv"]);
    assert!(imported.contains("imported 8400 results"), "{imported}");
    assert!(p.ok(&["verify", "1"]).starts_with("identical"));
    // The files the draw wrote one at a time, its documents from the drawn rows' cells read on
    // a thread of their own as soon as the rows were chosen, are the bytes `regenerate` writes
    // from the drawn rows read again by their ids as targets — every document and both
    // bundles.
    let out = p.ok(&["regenerate"]);
    assert!(
        out.contains(": 0 written, ") && out.contains(" 0 failed"),
        "{out}"
    );
    let public = std::fs::read(folder.join("bundle.public.json")).expect("public bundle");
    assert_eq!(
        manifest["public_bundle"],
        suiji::digest::sha256_hex(&public).as_str()
    );
    // The public site lists the drawn targets a thousand to a page, the whole list in a CSV
    // file beside them.
    p.ok(&["publish", "--site"]);
    let (n, site) = (selected.len(), p.path("out/site/draws"));
    let pages = n.div_ceil(1000);
    let page = |name: &str| std::fs::read_to_string(site.join(name)).expect(name);
    let listed = |html: &str| html.matches("<td data-label=\"序号\">").count();
    let first = page("1.html");
    assert_eq!(listed(&first), 1000);
    assert!(first.contains(&format!("第 1 页，共 {pages} 页")), "pager");
    assert!(
        first.contains(&format!("href=\"1-page{pages}.html\"")),
        "last page linked"
    );
    let last = page(&format!("1-page{pages}.html"));
    assert_eq!(listed(&last), n - (pages - 1) * 1000);
    assert!(last.contains(&format!("<td data-label=\"序号\">{n}</td>")));
    assert!(last.contains("href=\"1.html\"") && last.contains("抽取编号"));
    assert!(!site.join(format!("1-page{}.html", pages + 1)).exists());
    let csv = page("1/list.csv");
    let lines: Vec<&str> = csv.lines().collect();
    // Under the heading a marked draw's documents carry (its dates provisional, say), the
    // header, then a line per target.
    let header = lines
        .iter()
        .position(|l| l.trim_start_matches('\u{feff}').starts_with("序号,"));
    assert_eq!(
        header.map(|h| lines.len() - h),
        Some(n + 1),
        "{:?}",
        &lines[..2]
    );
    assert!(lines[lines.len() - 1].starts_with(&format!("{n},")));
    // The published notice of 2,101 targets: three pages, each recorded with its hash, and
    // rebuilt byte for byte.
    p.ok(&["publish"]);
    let notice = p.path("out/public/2024/zhian.hotel/2024-H1");
    let read = |name: &str| std::fs::read_to_string(notice.join(name)).expect(name);
    let rows = |html: &str| html.matches("<tr>").count() - 1;
    assert_eq!(rows(&read("notice.html")), 1000);
    assert_eq!(rows(&read("notice-page2.html")), 1000);
    let third = read("notice-page3.html");
    assert_eq!(rows(&third), 101);
    assert!(third.contains("第 3 页，共 3 页") && third.contains("href=\"notice-page2.html\""));
    assert!(!notice.join("notice-page4.html").exists());
    assert_eq!(
        read("notice.csv").lines().count(),
        2 + 2101,
        "a heading, a header, the rows"
    );
    std::fs::remove_file(notice.join("notice-page2.html")).expect("removed");
    let out = p.ok(&["regenerate"]);
    assert!(out.contains(" 0 failed"), "{out}");
    assert_eq!(rows(&read("notice-page2.html")), 1000);
}
