//! What staff and citizens read: every document of a simulated year (plan, task lists, task
//! sheets, public lists, notices, the report) shows names, never the ids machine files keep;
//! lists run by date; the task list handed out, new or old, comes back through `results import`.

mod util;

use std::path::{Path, PathBuf};

use util::{Project, run, zip};

/// A 2023 with results imported, two publications, the report and the plan in every format.
fn documented_year() -> Project {
    let p = Project::year_with_results();
    p.ok(&["publish", "--today", "2023-04-03"]);
    p.ok(&["publish", "--today", "2023-07-14"]);
    p.ok(&["report", "--year", "2023", "--today", "2023-12-31"]);
    for fmt in ["md", "html", "docx"] {
        let out = p.path(&format!("out/plan-2023.{fmt}"));
        let out = out.to_str().expect("utf-8");
        p.ok(&["plan", "--year", "2023", "--format", fmt, "--output", out]);
    }
    p
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = e.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// Markup removed: what a reader sees of an HTML or Office XML text.
fn visible(markup: &str) -> String {
    let mut s = markup.to_string();
    for (open, close) in [("<style", "</style>"), ("<script", "</script>")] {
        while let Some(a) = s.find(open) {
            let b = s[a..].find(close).map_or(s.len(), |b| a + b + close.len());
            s.replace_range(a..b, " ");
        }
    }
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&quot;", "\"").replace("&amp;", "&")
}

/// The text a person reads in a document, by its kind.
fn text_of(path: &Path) -> String {
    let bytes = std::fs::read(path).expect("read");
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    match ext {
        "xlsx" | "docx" => zip::members(&bytes)
            .into_iter()
            .filter(|(n, _)| n.ends_with(".xml") && !n.contains("docProps") && !n.contains("rels"))
            .map(|(_, b)| visible(&String::from_utf8_lossy(&b)))
            .collect::<Vec<_>>()
            .join("\n"),
        "html" => visible(&String::from_utf8_lossy(&bytes)),
        _ => String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// Every staff and public document of the year: everything under out/ but the machine files.
fn documents(p: &Project) -> Vec<PathBuf> {
    files_under(&p.path("out"))
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e != "json"))
        .collect()
}

#[test]
fn staff_and_public_documents_show_names_and_chinese_reasons_never_ids() {
    let p = documented_year();
    // The ids: every matter and period drawn (folder names), the reason codes a draw records,
    // and the English phrases of the manifest.
    let mut ids: Vec<String> = Vec::new();
    for m in std::fs::read_dir(p.path("out/draws"))
        .expect("draws")
        .flatten()
    {
        ids.push(m.file_name().to_string_lossy().into_owned());
        for per in std::fs::read_dir(m.path()).expect("periods").flatten() {
            let per = per.file_name().to_string_lossy().into_owned();
            // A yearly period's id is the year itself, which dates rightly show.
            if per.len() > 4 {
                ids.push(per);
            }
        }
    }
    assert!(ids.contains(&"zhian.hotel".to_string()) && ids.contains(&"2023-chunjie".to_string()));
    for code in [
        "cooldown",
        "yearly_cap",
        "deregistered",
        "eligible_hook",
        "declared_conflict",
        "hook_conflict",
        "workload_cap",
        "other_department",
        "unqualified",
        "SHA-256 of",
        "supplied",
        "eligible inspector",
        "regular",
    ] {
        ids.push(code.to_string());
    }
    let docs = documents(&p);
    let kinds = [
        "tasks.csv",
        "tasks.xlsx",
        "teams.html",
        "public.html",
        "public.csv",
        "notice.html",
        "notice.csv",
        "index.html",
        "report-2023.html",
        "report-2023.xlsx",
        "plan-2023.md",
        "plan-2023.html",
        "plan-2023.docx",
    ];
    for k in kinds {
        assert!(docs.iter().any(|d| d.ends_with(k)), "no {k} among {docs:?}");
    }
    let mut leaks = Vec::new();
    for d in &docs {
        let text = text_of(d);
        for id in &ids {
            if text.contains(id.as_str()) {
                leaks.push(format!("{}: {id}", d.display()));
            }
        }
    }
    assert!(leaks.is_empty(), "ids in documents:\n{}", leaks.join("\n"));

    // What they show instead.
    let tasks = text_of(&p.path("out/draws/zhian.hotel/2023-H1/tasks.xlsx"));
    assert!(tasks.contains("旅馆业（宾馆、旅店）监督检查"), "{tasks}");
    assert!(tasks.contains("2023年上半年"), "{tasks}");
    let report = text_of(&p.path("out/reports/report-2023.html"));
    for name in [
        "2023年春节前",
        "近期检查未发现问题（冷却期内）",
        "本年被抽查次数已达上限",
    ] {
        assert!(report.contains(name), "report without {name}");
    }
    let public = text_of(&p.path("out/draws/zhian.hotel/2023-H1/public.html"));
    assert!(
        public.contains("来源：公开文本“demo”的 SHA-256 值"),
        "{public}"
    );
    // The machine files keep the ids.
    let manifest = p.read("out/draws/zhian.hotel/2023-H1/manifest.json");
    assert!(
        manifest.contains("\"matter\": \"zhian.hotel\"")
            && manifest.contains("SHA-256 of supplied text")
    );
}

#[test]
fn the_reports_list_of_draws_runs_by_date() {
    let p = documented_year();
    let report = p.read("out/reports/report-2023.html");
    let draws = report
        .split("<h2>三、各次抽取</h2>")
        .nth(1)
        .and_then(|s| s.split("</table>").next())
        .expect("the draws table");
    let dates: Vec<&str> = draws
        .split("<tr>")
        .skip(2)
        .filter_map(|row| row.split("<td>").nth(6))
        .filter_map(|cell| cell.split("</td>").next())
        .collect();
    assert_eq!(dates.len(), 22, "{draws}");
    let mut sorted = dates.clone();
    sorted.sort_unstable();
    assert_eq!(dates, sorted, "draws not in date order");
}

/// A task list filled in: the `nth` target's rows get a clean result.
fn filled(header: &str, rows: &[String], nth: usize, date: &str) -> String {
    let cols: Vec<&str> = header.split(',').collect();
    let at = |name: &str| cols.iter().position(|c| *c == name).expect(name);
    let (cat, day, signed, team, target) = (
        at("检查结果"),
        at("检查日期"),
        at("签名检查人员"),
        at("检查人员"),
        at("对象编号"),
    );
    let mut targets: Vec<String> = Vec::new();
    for r in rows {
        let t = r.split(',').nth(target).unwrap_or("").to_string();
        if !targets.contains(&t) {
            targets.push(t);
        }
    }
    let mut out = vec![header.to_string()];
    for r in rows {
        let mut cells: Vec<String> = r.split(',').map(String::from).collect();
        assert_eq!(cells.len(), cols.len(), "{r}");
        if cells[target] == targets[nth] {
            cells[cat] = "未发现问题".into();
            cells[day] = date.into();
            cells[signed] = cells[team].clone();
        }
        out.push(cells.join(","));
    }
    out.join("\n") + "\n"
}

#[test]
fn task_lists_with_names_and_those_handed_out_with_ids_both_import() {
    let p = Project::shipped();
    p.ok(&["simulate", "--year", "2023", "--seed", "demo"]);
    let text = p.read("out/draws/zhian.hotel/2023-H1/tasks.csv");
    let text = text.trim_start_matches('\u{feff}');
    let mut lines = text.lines();
    // A simulated draw's list starts with a line that says so, above the header row.
    let heading = lines.next().expect("heading");
    assert!(
        heading.starts_with("旅馆业（宾馆、旅店）监督检查 2023年上半年 检查任务清单（模拟）"),
        "{heading}"
    );
    let header = lines.next().expect("header");
    let rows: Vec<String> = lines.map(String::from).collect();
    let names = ",旅馆业（宾馆、旅店）监督检查,2023年上半年,";
    assert!(rows[0].contains(names), "{}", rows[0]);
    // Filled in as handed out, heading and all.
    p.write(
        "new.csv",
        &format!("{heading}\n{}", filled(header, &rows, 0, "2023-03-01")),
    );
    let (code, out, err) = run(p.suiji(&["results", "import", "new.csv"]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("imported 4 results"), "{out}");

    // The same list as handed out before names: ids in 抽查事项 and 期次.
    let old: Vec<String> = rows
        .iter()
        .map(|r| r.replace(names, ",zhian.hotel,2023-H1,"))
        .collect();
    p.write("old.csv", &filled(header, &old, 1, "2023-03-02"));
    let (code, out, err) = run(p.suiji(&["results", "import", "old.csv"]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("imported 4 results"), "{out}");

    // A row naming another matter or period is still refused, by name or by id.
    for (from, to) in [
        ("旅馆业（宾馆、旅店）监督检查", "爆破作业单位监督检查"),
        ("2023年上半年", "2023年下半年"),
        ("旅馆业（宾馆、旅店）监督检查", "zhian.blasting"),
    ] {
        let wrong: Vec<String> = rows.iter().map(|r| r.replacen(from, to, 1)).collect();
        p.write("wrong.csv", &filled(header, &wrong, 2, "2023-03-03"));
        let (code, _, err) = run(p.suiji(&["results", "import", "wrong.csv"]));
        assert_eq!(code, 1, "{to}: {err}");
        assert!(err.contains("but the row's 抽取编号 is"), "{err}");
    }
}

#[test]
fn a_note_stating_a_ratio_the_rules_no_longer_have_is_a_warning_at_check() {
    let p = Project::shipped();
    let (code, _, err) = run(p.suiji(&["check"]));
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("warning"), "the shipped rules warn:\n{err}");

    // The hotel ratio goes up to 10%; its note still says 5%.
    p.edit(
        "rules/zhian.toml",
        "frequency = \"half-yearly\"           # 特种行业每半年至少抽查一次",
        "frequency = \"half-yearly\"\nratio = \"10%\"",
    );
    let (code, _, err) = run(p.suiji(&["check"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("the note of matter `zhian.hotel` says 5%, but its ratios are 10%, 20%"),
        "{err}"
    );
    // At the stale percentage itself.
    assert!(err.contains("rules/zhian.toml:37:"), "{err}");
    assert!(
        err.contains(" ^^ the plan prints this text as written"),
        "{err}"
    );
    // The plan's ratio table follows the value.
    let plan = p.ok(&["plan", "--year", "2023"]);
    assert!(
        plan.contains("| 旅馆业（宾馆、旅店）监督检查 | 旅馆业（宾馆、旅店） | 不低于 10%"),
        "{plan}"
    );

    // A department note stating a ratio no matter has any more warns too.
    p.edit("rules/jindu.toml", "不低于 5%", "不低于 3%");
    let (_, _, err) = run(p.suiji(&["check"]));
    assert!(
        err.contains(
            "the frequency_note of department `jindu` says 3%, but its matters' ratios are 5%"
        ),
        "{err}"
    );
}

#[test]
fn the_docx_plan_has_page_numbers_heading_styles_repeated_header_rows_properties_and_a_signature() {
    let p = Project::shipped();
    let out = p.path("out/plan.docx");
    let out = out.to_str().expect("utf-8");
    p.ok(&[
        "plan",
        "--year",
        "2023",
        "--format",
        "docx",
        "--output",
        out,
        "--date",
        "2023-01-10",
    ]);
    let bytes = std::fs::read(out).expect("docx");
    let parts: Vec<String> = zip::members(&bytes).into_iter().map(|(n, _)| n).collect();
    let document = zip::member(&bytes, "word/document.xml");
    let styles = zip::member(&bytes, "word/styles.xml");
    let core = zip::member(&bytes, "docProps/core.xml");
    let footer_name = parts
        .iter()
        .find(|n| n.starts_with("word/footer"))
        .unwrap_or_else(|| panic!("no footer among {parts:?}"));
    let footer = zip::member(&bytes, footer_name);

    // Page numbers: a PAGE field in the footer the section refers to.
    assert!(
        footer.contains("<w:instrText>PAGE</w:instrText>"),
        "{footer}"
    );
    assert!(
        document.contains("<w:sectPr><w:footerReference w:type=\"default\""),
        "no footer reference first in the section"
    );
    // Heading styles with outline levels, used by the headings.
    for level in 1..=3 {
        assert!(
            styles.contains(&format!("w:styleId=\"Heading{level}\"")),
            "{styles}"
        );
        assert!(
            styles.contains(&format!("<w:name w:val=\"heading {level}\" />")),
            "{styles}"
        );
    }
    assert!(styles.contains("<w:outlineLvl w:val=\"0\" />"), "{styles}");
    assert!(document.contains("<w:pStyle w:val=\"Heading1\" />"));
    assert!(document.contains("<w:pStyle w:val=\"Heading2\" />"));
    // First-line indents of two characters, column widths, header rows repeated.
    assert!(document.contains("w:firstLine=\"640\""));
    assert!(document.contains("<w:gridCol w:w=\""));
    assert!(document.contains("<w:tcW w:w=\"") && document.contains("w:type=\"dxa\""));
    let tables = document.matches("<w:tbl>").count();
    assert!(tables >= 3, "{tables} tables");
    assert_eq!(document.matches("<w:tblHeader />").count(), tables);
    // Document properties.
    assert!(
        core.contains("<dc:title>平邑县公安局 2023 年“双随机、一公开”抽查工作计划</dc:title>"),
        "{core}"
    );
    assert!(
        core.contains("<dc:creator>平邑县公安局</dc:creator>"),
        "{core}"
    );
    assert!(
        core.contains(">2023-01-10T00:00:00Z</dcterms:created>"),
        "{core}"
    );
    // The 落款 closes the document, right-aligned: the bureau, then the date.
    let tail = &document[document.rfind("平邑县公安局").expect("issuer")..];
    assert!(tail.contains("2023年1月10日"), "{tail}");
    let last_paragraphs = &document[document.len() - tail.len() - 400..];
    assert!(
        last_paragraphs.contains("<w:jc w:val=\"right\" />"),
        "{last_paragraphs}"
    );

    // The HTML plan closes with the same 落款.
    let html = p.path("out/plan.html");
    let html = html.to_str().expect("utf-8");
    p.ok(&[
        "plan",
        "--year",
        "2023",
        "--format",
        "html",
        "--output",
        html,
        "--date",
        "2023-01-10",
    ]);
    assert!(
        p.read("out/plan.html")
            .contains("<p class=\"sig\">平邑县公安局<br>2023年1月10日</p>")
    );
}
