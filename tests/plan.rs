//! `suiji plan`: the 2023 plan from the shipped rules reproduces the seed plan.

mod util;

use util::{Project, repo, run};

/// The checklist clauses of the seed plan: the text after each "抽查内容" / "抽查检查内容",
/// split at "1、" / "2." item numbers and at "；".
fn seed_checklist_clauses() -> Vec<String> {
    let seed =
        std::fs::read_to_string(repo().join("tests/fixtures/seed-plan-2023.txt")).expect("seed");
    let mut clauses = Vec::new();
    for (i, _) in seed.match_indices("抽查") {
        let rest = &seed[i..];
        let body = if let Some(r) = rest.strip_prefix("抽查内容：") {
            r
        } else if let Some(r) = rest
            .strip_prefix("抽查检查内容")
            .or_else(|| rest.strip_prefix("抽查内容\n"))
        {
            let r = r.trim_start_matches(['\n', ' ', '：']);
            if r.starts_with(|c: char| c.is_ascii_digit()) {
                continue; // a list of objects, each with its own "抽查内容："
            }
            r
        } else {
            continue;
        };
        // The section ends at "（四）" or at the next numbered object heading ("\n\n2. 保安…").
        let mut end = body.find("（四）").unwrap_or(body.len());
        for (j, _) in body.match_indices("\n\n") {
            let next = &body[j + 2..];
            let digits = next.chars().take_while(char::is_ascii_digit).count();
            if digits > 0
                && next[digits..].starts_with(". ")
                && next.contains("\n\n抽查内容")
                && j < end
            {
                end = j;
                break;
            }
        }
        let mut item = String::new();
        let mut items = Vec::new();
        let chars: Vec<char> = body[..end].chars().collect();
        let mut k = 0;
        while k < chars.len() {
            let c = chars[k];
            let at_boundary = k == 0 || matches!(chars[k - 1], '\n' | ' ' | '；' | '。' | '：');
            if c.is_ascii_digit() && at_boundary {
                let mut m = k;
                while m < chars.len() && chars[m].is_ascii_digit() {
                    m += 1;
                }
                if m < chars.len() && (chars[m] == '、' || chars[m] == '.') {
                    items.push(std::mem::take(&mut item));
                    k = m + 1;
                    continue;
                }
            }
            item.push(c);
            k += 1;
        }
        items.push(item);
        for it in items {
            for clause in it.split('；') {
                let clause = clause.trim().trim_end_matches(['。', '；', ';']).trim();
                if !clause.is_empty() && !clauses.contains(&clause.to_string()) {
                    clauses.push(clause.to_string());
                }
            }
        }
    }
    clauses
}

#[test]
fn seed_parsing_finds_every_item() {
    let clauses = seed_checklist_clauses();
    // 4 hotel + 6 security + 7 blasting + 3 fireworks + 3 mass events (1 shared) + 3 firearms
    // + 1 precursor + 4 café + 3 café/consumer clauses + 1 foreign workers.
    assert_eq!(clauses.len(), 34, "{clauses:#?}");
    assert!(clauses.contains(&"抽查非药品类易制毒化学品的使用、交易情况".to_string()));
}

#[test]
fn plan_2023_contains_every_seed_checklist_item() {
    let p = Project::shipped();
    let (code, plan, err) = run(p.suiji(&["plan", "--year", "2023"]));
    assert_eq!(code, 0, "{err}");
    let missing: Vec<String> = seed_checklist_clauses()
        .into_iter()
        .filter(|c| !plan.contains(c.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "seed items missing from the plan: {missing:#?}"
    );
    for dept in ["治安大队", "禁毒大队", "网络安全保卫大队", "出入境管理大队"]
    {
        assert!(plan.contains(&format!("{dept}年度抽查计划")), "{dept}");
    }
    assert!(plan.contains("抽查检查结果上网公示"));
    assert!(plan.contains("100%（全覆盖）"));
}

#[test]
fn plan_2023_schedule_has_the_holiday_and_half_year_draws() {
    let p = Project::shipped();
    let (code, plan, err) = run(p.suiji(&["plan", "--year", "2023"]));
    assert_eq!(code, 0, "{err}");
    // 春节 2023 starts Jan 21: seven days before is Saturday Jan 14, so the draw is Friday Jan 13.
    assert!(
        plan.contains("| 2023-01-13 | 旅馆业（宾馆、旅店）监督检查 | 2023年春节前 | 春节加强 |"),
        "{plan}"
    );
    // 国庆 2023 (with 中秋) starts Sep 29: the draw is Friday Sep 22, one draw for both holidays.
    assert!(
        plan.contains(
            "| 2023-09-22 | 旅馆业（宾馆、旅店）监督检查 | 2023年国庆节前 | 国庆节加强 |"
        )
    );
    // Half-years: issued on the first working day (Jan 3 after 元旦; Jul 3).
    assert!(plan.contains("| 2023-01-03 | 爆破作业单位监督检查 | 2023年上半年 |"));
    assert!(plan.contains("| 2023-07-03 | 爆破作业单位监督检查 | 2023年下半年 |"));
    insta::assert_snapshot!("plan_2023_md", plan);
}

#[test]
fn plan_html_and_docx_are_written() {
    let p = Project::shipped();
    for (fmt, magic) in [("html", &b"<!DOCTYPE html>"[..]), ("docx", &b"PK"[..])] {
        let out = p.path(&format!("out/plan.{fmt}"));
        let (code, stdout, err) = run(p.suiji(&[
            "plan",
            "--year",
            "2023",
            "--format",
            fmt,
            "--output",
            out.to_str().expect("utf-8"),
        ]));
        assert_eq!(code, 0, "{err}");
        assert!(stdout.contains("wrote"));
        let bytes = std::fs::read(&out).expect("written");
        assert!(bytes.starts_with(magic), "{fmt}");
    }
    let html = p.read("out/plan.html");
    assert!(html.contains("<h1>平邑县公安局 2023 年“双随机、一公开”抽查工作计划</h1>"));
}

#[test]
fn plan_for_a_year_without_official_calendar_is_refused() {
    let p = Project::shipped();
    let (code, out, err) = run(p.suiji(&["plan", "--year", "2027"]));
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert!(
        err.contains("no official holiday calendar for 2027"),
        "{err}"
    );
    let (code, out, err) = run(p.suiji(&["plan", "--year", "2027", "--provisional"]));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("PROVISIONAL"));
    assert!(out.contains("2027"));
}

/// A hook that never returns fails its own matter at its operation limit (the same on every
/// machine); the plan still finishes.
#[test]
fn runaway_hook_fails_only_its_matter() {
    let p = Project::shipped();
    p.edit(
        "rules/zhian.rhai",
        "fn risk_weight(target, ctx) {\n",
        "fn risk_weight(target, ctx) {\n    loop { }\n",
    );
    let (code, plan, err) = run(p.suiji(&["plan", "--year", "2023"]));
    assert_eq!(code, 3, "partial failure exit code\n{err}");
    assert_eq!(
        err.trim(),
        "error: zhian.hotel: draw failed for zhian.hotel: rules/zhian.rhai:4:1: hook `risk_weight` exceeded the limit of 1000000 operations (an endless loop?)"
    );
    assert!(
        plan.contains("| 旅馆业（宾馆、旅店）监督检查 | — | — | 无法测算："),
        "{plan}"
    );
    assert!(
        plan.contains("| 枪支管理监督检查 | 5 | 5 | 5（2023年度） |"),
        "other matters go on:\n{plan}"
    );
}

#[test]
fn runaway_operations_and_oversized_strings_are_stopped() {
    let p = Project::shipped();
    p.edit(
        "rules/zhian.rhai",
        "fn risk_weight(target, ctx) {\n",
        "fn risk_weight(target, ctx) {\n    loop { }\n",
    );
    let (code, _, err) = run(p.suiji(&["plan", "--year", "2023"]));
    assert_eq!(code, 3);
    assert_eq!(
        err.trim(),
        "error: zhian.hotel: draw failed for zhian.hotel: rules/zhian.rhai:4:1: hook `risk_weight` exceeded the limit of 1000000 operations (an endless loop?)"
    );
    let p = Project::shipped();
    p.edit(
        "rules/zhian.rhai",
        "fn risk_weight(target, ctx) {\n",
        "fn risk_weight(target, ctx) {\n    let s = \"x\";\n    loop { s += s; }\n",
    );
    let (code, _, err) = run(p.suiji(&["plan", "--year", "2023"]));
    assert_eq!(code, 3);
    assert_eq!(
        err.trim(),
        "error: zhian.hotel: draw failed for zhian.hotel: rules/zhian.rhai:4:1: hook `risk_weight`: Length of string is larger than the sandbox allows"
    );
}

/// The hotel line of the 2023 plan (registry count, eligible, drawn) with `hook` as the hotel
/// matter's eligibility hook.
fn hotel_line_with_eligible_hook(hook: &str) -> String {
    let p = Project::shipped();
    p.edit(
        "rules/zhian.toml",
        "hooks = { script = \"zhian.rhai\", weight = \"risk_weight\" }",
        "hooks = { script = \"zhian.rhai\", weight = \"risk_weight\", eligible = \"some_hotels\" }",
    );
    let script = p.read("rules/zhian.rhai");
    p.write("rules/zhian.rhai", &format!("{script}\n{hook}\n"));
    let (code, plan, err) = run(p.suiji(&["plan", "--year", "2023"]));
    assert_eq!(code, 0, "{err}");
    plan.lines()
        .find(|l| l.starts_with("| 旅馆业（宾馆、旅店）监督检查 | 300 |"))
        .unwrap_or_else(|| panic!("no hotel line in\n{plan}"))
        .to_string()
}

/// What a hook reads is decided from the compiled script, so a brace inside a string does not
/// hide the fields it reads (it did: every hotel got the first hotel's answer).
#[test]
fn a_brace_in_a_string_does_not_change_what_a_hook_is_asked() {
    let plain = hotel_line_with_eligible_hook(
        "fn some_hotels(target, ctx) {\n    target.district != \"平邑街道\"\n}",
    );
    let marked = hotel_line_with_eligible_hook(
        "fn some_hotels(target, ctx) {\n    let marker = \"}\";\n    target.district != \"平邑街道\" && marker != \"{\"\n}",
    );
    assert_eq!(marked, plain);
    assert!(
        plain.starts_with("| 旅馆业（宾馆、旅店）监督检查 | 300 | 152 |"),
        "{plain}"
    );
}

/// Numbers in extra columns reach hooks as numbers: `房间数 >= 30` compares numbers (it was
/// text against a number, `false` for every hotel, so none was eligible).
#[test]
fn a_number_in_an_extra_column_compares_as_a_number() {
    let as_number = hotel_line_with_eligible_hook(
        "fn some_hotels(target, ctx) {\n    target.extra[\"房间数\"] >= 30\n}",
    );
    let parsed = hotel_line_with_eligible_hook(
        "fn some_hotels(target, ctx) {\n    parse_int(target.extra[\"房间数\"].to_string()) >= 30\n}",
    );
    assert_eq!(as_number, parsed);
    assert!(
        !as_number.starts_with("| 旅馆业（宾馆、旅店）监督检查 | 300 | 0 |"),
        "{as_number}"
    );
}

/// Comparing text with a number is an error at the hook's line, not `false`.
#[test]
fn comparing_text_with_a_number_fails_the_draw_at_the_hook() {
    let p = Project::shipped();
    p.edit(
        "rules/zhian.toml",
        "hooks = { script = \"zhian.rhai\", weight = \"risk_weight\" }",
        "hooks = { script = \"zhian.rhai\", weight = \"risk_weight\", eligible = \"some_hotels\" }",
    );
    let script = p.read("rules/zhian.rhai");
    let line = script.lines().count() + 3;
    p.write(
        "rules/zhian.rhai",
        &format!(
            "{script}\nfn some_hotels(target, ctx) {{\n    target.extra[\"法定代表人\"] >= 3\n}}\n"
        ),
    );
    let (code, _, err) = run(p.suiji(&["plan", "--year", "2023"]));
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains(&format!("rules/zhian.rhai:{line}:")),
        "at the hook's line {line}: {err}"
    );
    assert!(err.contains("with the number 3"), "{err}");
}

/// A registry without the 活动日期 column: the shipped `event_in_period` reads `()` and the
/// events are drawn (the hook failed on the missing column).
#[test]
fn an_absent_extra_column_reads_unit() {
    let p = Project::shipped();
    let targets = p.read("config/registry/targets.csv");
    let cut: String = targets
        .lines()
        .map(|l| match l.rfind(',') {
            Some(at) => format!("{}\n", &l[..at]),
            None => format!("{l}\n"),
        })
        .collect();
    assert!(cut.starts_with("编号,") && !cut.contains("活动日期"));
    p.write("config/registry/targets.csv", &cut);
    let (code, plan, err) = run(p.suiji(&["plan", "--year", "2023"]));
    assert_eq!(code, 0, "{err}");
    assert!(!plan.contains("无法测算"), "{plan}");
}

/// A draw whose hooks need more than `[scripts] draw_operations` fails, naming the matter, the
/// budget and what to do; the other matters go on.
#[test]
fn a_draw_over_its_operations_budget_fails_clearly() {
    let p = Project::shipped();
    p.set_config(&["scripts", "draw_operations"], 1000);
    let (code, plan, err) = run(p.suiji(&["plan", "--year", "2023"]));
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains(
            "error: zhian.hotel: draw failed for zhian.hotel: the hooks of zhian.hotel need more \
             than 1000 operations for this draw (the budget `[scripts] draw_operations` in \
             config/suiji.toml); make the hooks do less work per target, or raise the budget"
        ),
        "{err}"
    );
    assert!(
        plan.contains("| 枪支管理监督检查 | 5 | 5 | 5（2023年度） |"),
        "other matters go on:\n{plan}"
    );
}

/// The `conflict` hook's operations count toward the same per-draw budget: a hook that passes
/// each call's limit but together spends more than `[scripts] draw_operations` fails its draw
/// with the budget's message (it used to be bounded per call only), and the other matters go on.
#[test]
fn a_conflict_hook_counts_toward_the_draw_budget() {
    let p = Project::shipped();
    let script = p.read("rules/zhian.rhai");
    let slow = script.replace(
        "    let rep = target.extra[\"法定代表人\"];",
        "    let n = 0;\n    for i in 0..20000 { n += i; }\n    let rep = target.extra[\"法定代表人\"];",
    );
    assert_ne!(slow, script, "the conflict hook's first line moved");
    p.write("rules/zhian.rhai", &slow);
    p.set_config(&["scripts", "draw_operations"], 100_000);
    let (code, plan, err) = run(p.suiji(&["plan", "--year", "2023"]));
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains(
            "draw failed for zhian.security: the hooks of zhian.security need more than 100000 \
             operations for this draw (the budget `[scripts] draw_operations` in \
             config/suiji.toml)"
        ),
        "{err}"
    );
    assert!(
        !err.contains("zhian.hotel"),
        "the hotel hooks stay within the budget:\n{err}"
    );
    assert!(
        plan.contains("| 枪支管理监督检查 | 5 | 5 | 5（2023年度） |"),
        "other matters go on:\n{plan}"
    );
}
