//! The one schema of rule keys against the docs, and the form's edits against the shipped
//! rule files: everything an edit does not change keeps its bytes.

use suiji::rules::edit::{apply, matter_values};
use suiji::rules::schema::{KEYS, Kind, Section};

fn shipped(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    std::fs::read_to_string(&path).expect("shipped file")
}

#[test]
fn every_key_of_the_schema_is_documented_in_docs_rules_md() {
    let docs = shipped("docs/rules.md");
    let mut missing = Vec::new();
    for k in KEYS {
        let found = match (k.section, k.kind) {
            (_, Kind::Items) => docs.contains("[[matter.checklist]]"),
            (Section::Matter, Kind::Table(Section::Holiday)) => docs.contains("[matter.holiday]"),
            _ => docs.lines().any(|l| {
                l.trim_start()
                    .trim_start_matches("# ")
                    .starts_with(&format!("{} = ", k.key))
                    || l.contains(&format!(" {} = ", k.key))
                    || l.contains(&format!("{{ {} = ", k.key))
            }),
        };
        if !found {
            missing.push(format!("{:?}.{}", k.section, k.key));
        }
    }
    assert!(missing.is_empty(), "not in docs/rules.md: {missing:?}");
}

/// The lines of `before` that are not in `after` and the lines of `after` that are not in
/// `before`, by a longest common subsequence of lines.
fn differing(before: &str, after: &str) -> (Vec<String>, Vec<String>) {
    let a: Vec<&str> = before.lines().collect();
    let b: Vec<&str> = after.lines().collect();
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let (mut gone, mut came) = (Vec::new(), Vec::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            came.push(b[j].to_string());
            j += 1;
        } else {
            gone.push(a[i].to_string());
            i += 1;
        }
    }
    (gone, came)
}

#[test]
fn an_edit_keeps_every_untouched_line_of_the_shipped_rules() {
    let before = shipped("rules/zhian.toml");
    let mut hotel = matter_values(&before, "hotel").expect("hotel");
    assert_eq!(hotel.values.get("ratio"), None, "the hotel inherits 5%");
    hotel.values.insert("ratio".into(), "10%".into());
    let after = apply(&before, "hotel", &hotel).expect("edit");
    let (gone, came) = differing(&before, &after);
    assert!(gone.is_empty(), "lost: {gone:?}");
    assert_eq!(came, ["ratio = \"10%\""]);

    let mut ent = matter_values(&after, "entertainment").expect("entertainment");
    ent.values.insert("frequency".into(), "quarterly".into());
    ent.checklist.swap(0, 1);
    let again = apply(&after, "entertainment", &ent).expect("edit");
    let (gone, came) = differing(&after, &again);
    let moved = [
        "frequency = \"half-yearly\"           # 娱乐服务场所每半年至少抽查一次",
        "[[matter.checklist]]",
        "id = \"ent-01\"",
        "text = \"娱乐场所取得许可并向公安机关备案情况\"",
        "id = \"ent-02\"",
        "text = \"从业人员名簿、营业日志登记和留存情况\"",
    ];
    for line in &gone {
        assert!(moved.contains(&line.as_str()), "changed: {line}");
    }
    assert!(
        came.contains(
            &"frequency = \"quarterly\"           # 娱乐服务场所每半年至少抽查一次".to_string()
        ),
        "{came:?}"
    );
    let back = matter_values(&again, "entertainment").expect("again");
    assert_eq!(back.checklist[0].id, "ent-02");
    assert_eq!(back.checklist[1].id, "ent-01");
    // Every line outside the entertainment matter is byte for byte the same.
    let outside = |t: &str| -> Vec<String> {
        let start = t.find("id = \"entertainment\"").expect("matter");
        let end = t.find("id = \"security\"").expect("next");
        format!("{}{}", &t[..start], &t[end..])
            .lines()
            .map(String::from)
            .collect()
    };
    assert_eq!(outside(&after), outside(&again));
}
