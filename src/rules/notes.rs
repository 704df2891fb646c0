//! Free text that states ratios: a matter's `note` and a department's `frequency_note` are
//! printed in the plan as written, so a percentage in them that none of the values it speaks
//! of has (after a ratio was changed, say) is reported at `check` as a warning, located.
//! The plan's own ratio table is always generated from the values.

use crate::diag::Diagnostic;
use crate::rules::model::{Matter, Ratio};
use crate::rules::reader::{Cx, Sp};
use crate::rules::values::parse_ratio;

/// Every percentage the text states ("5%", "0.5 %", "20％"), with its place in the text.
pub(crate) fn percentages(text: &str) -> Vec<(Ratio, std::ops::Range<usize>)> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    for (i, c) in text.char_indices() {
        if c.is_ascii_digit() || (c == '.' && start.is_some()) {
            start.get_or_insert(i);
            continue;
        }
        let Some(s) = start.take() else {
            continue;
        };
        let rest = text[i..].trim_start_matches(' ');
        if (rest.starts_with('%') || rest.starts_with('％'))
            && let Ok(r) = parse_ratio(&format!("{}%", &text[s..i]))
        {
            out.push((r, s..i));
        }
    }
    out
}

/// Every ratio a matter draws by: its ratio, its holiday ratio and its per-class ratios.
pub(crate) fn ratios_of(m: &Matter) -> Vec<Ratio> {
    let mut r = vec![m.ratio];
    r.extend(m.holiday.as_ref().map(|h| h.ratio));
    r.extend(
        m.class_ratios
            .values()
            .flat_map(|s| std::iter::once(s.ratio).chain(s.cap)),
    );
    r
}

/// Warns when `note` states a percentage that is none of `ratios`, at the first such
/// percentage when the note is written without escapes in `source` (the whole note
/// otherwise). `whose` names the text ("the note of matter `zhian.hotel`"), `values` the
/// ratios it should follow.
pub(crate) fn check(
    source: &str,
    note: &Sp<String>,
    ratios: &[Ratio],
    whose: &str,
    values: &str,
    cx: &mut Cx<'_>,
) {
    let stale: Vec<(Ratio, std::ops::Range<usize>)> = percentages(&note.value)
        .into_iter()
        .filter(|(r, _)| !ratios.contains(r))
        .collect();
    let Some((_, first)) = stale.first() else {
        return;
    };
    let verbatim = source.get(note.span.clone()) == Some(note.value.as_str());
    let at = if verbatim {
        let end = note.value[first.end..]
            .char_indices()
            .find(|(_, c)| *c == '%' || *c == '％')
            .map_or(first.end, |(i, c)| first.end + i + c.len_utf8());
        note.span.start + first.start..note.span.start + end
    } else {
        note.span.clone()
    };
    let mut ratios = ratios.to_vec();
    ratios.sort_unstable();
    ratios.dedup();
    let shown: Vec<String> = ratios.iter().map(ToString::to_string).collect();
    let said: Vec<String> = stale.iter().map(|(r, _)| r.to_string()).collect();
    cx.diags.push(
        Diagnostic::warning(format!(
            "{whose} says {}, but {values} {}",
            said.join(", "),
            shown.join(", ")
        ))
        .at(cx.file, at)
        .label("the plan prints this text as written")
        .help("change the text to the ratio now in force, or leave the percentage out: the plan's ratio table always shows the values"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_are_found_with_their_places() {
        let text = "全年抽查比例不低于 5%，枪支 100％；重点区域 12.5 %，4 个月";
        let found: Vec<(String, &str)> = percentages(text)
            .into_iter()
            .map(|(r, at)| (r.to_string(), &text[at]))
            .collect();
        assert_eq!(
            found,
            [
                ("5%".to_string(), "5"),
                ("100%".to_string(), "100"),
                ("12.5%".to_string(), "12.5")
            ]
        );
        assert!(percentages("没有比例").is_empty());
    }
}
