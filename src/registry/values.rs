//! Parsing single cell values: headers, booleans, statuses, dates and lists.

use chrono::NaiveDate;

use super::types::TargetStatus;

/// A header as compared against the known column names: no whitespace (including full-width
/// spaces), no `_`, `-` or `*` (a common "required" marker), ASCII lower case.
pub(crate) fn normalize_header(h: &str) -> String {
    h.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '_' | '-' | '*' | '\u{feff}'))
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Cell text with surrounding whitespace (including full-width spaces and a stray BOM) removed.
pub(crate) fn trim(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
}

/// `s` is one of `words`, ignoring ASCII case.
fn is_one_of(s: &str, words: &[&str]) -> bool {
    words.iter().any(|w| w.eq_ignore_ascii_case(s))
}

pub(crate) const TRUE_WORDS: &[&str] = &["是", "true", "yes", "1"];
pub(crate) const FALSE_WORDS: &[&str] = &["否", "false", "no", "0"];

/// 是/否, true/false, yes/no, 1/0 (any case). `None` for anything else, including empty text.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    if is_one_of(s, TRUE_WORDS) {
        Some(true)
    } else if is_one_of(s, FALSE_WORDS) {
        Some(false)
    } else {
        None
    }
}

/// The `active`/在岗 column also takes 在岗 and 离岗/不在岗.
pub(crate) fn parse_active(s: &str) -> Option<bool> {
    match s {
        "在岗" => Some(true),
        "离岗" | "不在岗" => Some(false),
        _ => parse_bool(s),
    }
}

pub(crate) const ACTIVE_WORDS: &[&str] = &["active", "正常", "在业", "存续"];
pub(crate) const DEREGISTERED_WORDS: &[&str] = &["deregistered", "注销", "吊销", "停业"];

pub(crate) fn parse_status(s: &str) -> Option<TargetStatus> {
    if is_one_of(s, ACTIVE_WORDS) {
        Some(TargetStatus::Active)
    } else if is_one_of(s, DEREGISTERED_WORDS) {
        Some(TargetStatus::Deregistered)
    } else {
        None
    }
}

/// Why a date did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DateError {
    /// Not in any accepted layout.
    Format,
    /// In an accepted layout, but no such day (e.g. 2023-02-30).
    NoSuchDay,
}

/// `YYYY-MM-DD`, `YYYY/MM/DD`, `YYYY.MM.DD` or `YYYY年M月D日`; month and day may have one digit.
/// A time after the date (`2023/5/6 0:00`, as Excel writes date-times to CSV) is ignored.
pub(crate) fn parse_date(s: &str) -> Result<NaiveDate, DateError> {
    let date_part = match s.split_once(|c: char| c.is_whitespace()) {
        Some((d, time)) if is_time(trim(time)) => d,
        Some(_) => return Err(DateError::Format),
        None => s,
    };
    let mut chars = date_part.chars().peekable();
    let year = digits(&mut chars, 4, 4).ok_or(DateError::Format)?;
    let sep = chars.next().ok_or(DateError::Format)?;
    let (sep2, end) = match sep {
        '-' => ('-', None),
        '/' => ('/', None),
        '.' => ('.', None),
        '年' => ('月', Some('日')),
        _ => return Err(DateError::Format),
    };
    let month = digits(&mut chars, 1, 2).ok_or(DateError::Format)?;
    if chars.next() != Some(sep2) {
        return Err(DateError::Format);
    }
    let day = digits(&mut chars, 1, 2).ok_or(DateError::Format)?;
    if let Some(end) = end
        && chars.next() != Some(end)
    {
        return Err(DateError::Format);
    }
    if chars.next().is_some() {
        return Err(DateError::Format);
    }
    let year = i32::try_from(year).map_err(|_| DateError::Format)?;
    NaiveDate::from_ymd_opt(year, month, day).ok_or(DateError::NoSuchDay)
}

fn digits(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    min: usize,
    max: usize,
) -> Option<u32> {
    let mut n = 0u32;
    let mut count = 0;
    while count < max {
        match chars.peek().and_then(|c| c.to_digit(10)) {
            Some(d) => {
                n = n * 10 + d;
                count += 1;
                chars.next();
            }
            None => break,
        }
    }
    (count >= min).then_some(n)
}

/// `H:MM` or `H:MM:SS` (what Excel appends to a date-time in CSV).
fn is_time(s: &str) -> bool {
    let parts: Vec<&str> = s.split(':').collect();
    (parts.len() == 2 || parts.len() == 3)
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 2 && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Separators accepted in list cells (qualifications, conflicts).
pub(crate) const LIST_SEPARATORS: &[char] = &[';', '；', '、', ',', '，', '|', '｜'];

/// Splits a list cell on any of [`LIST_SEPARATORS`], trimming items and dropping empty ones.
pub(crate) fn split_list(s: &str) -> Vec<String> {
    s.split(LIST_SEPARATORS)
        .map(trim)
        .filter(|item| !item.is_empty())
        .map(str::to_string)
        .collect()
}

/// True for what Excel writes to CSV when it shows a long number (an 18-digit code) in scientific
/// notation, e.g. `9.13713E+17`: the digits are already lost.
pub(crate) fn looks_like_scientific(s: &str) -> bool {
    if !s.bytes().any(|b| b == b'E' || b == b'e') {
        return false;
    }
    let Some((mantissa, exp)) = s.split_once(['E', 'e']) else {
        return false;
    };
    let exp = exp.strip_prefix('+').unwrap_or(exp);
    let mut m = mantissa.splitn(2, '.');
    let int = m.next().unwrap_or("");
    let frac = m.next().unwrap_or("0");
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && !frac.is_empty()
        && frac.bytes().all(|b| b.is_ascii_digit())
        && !exp.is_empty()
        && exp.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> Result<NaiveDate, DateError> {
        NaiveDate::from_ymd_opt(y, m, day).ok_or(DateError::NoSuchDay)
    }

    #[test]
    fn dates_in_every_layout() {
        assert_eq!(parse_date("2023-05-06"), d(2023, 5, 6));
        assert_eq!(parse_date("2023/5/6"), d(2023, 5, 6));
        assert_eq!(parse_date("2023.05.06"), d(2023, 5, 6));
        assert_eq!(parse_date("2023年5月6日"), d(2023, 5, 6));
        assert_eq!(parse_date("2023年05月06日"), d(2023, 5, 6));
        assert_eq!(parse_date("2023/5/6 0:00"), d(2023, 5, 6));
        assert_eq!(parse_date("2023-05-06 08:30:00"), d(2023, 5, 6));
        assert_eq!(parse_date("2023-02-30"), Err(DateError::NoSuchDay));
        assert_eq!(parse_date("2023-5"), Err(DateError::Format));
        assert_eq!(parse_date("23-05-06"), Err(DateError::Format));
        assert_eq!(parse_date("2023-05/06"), Err(DateError::Format));
        assert_eq!(parse_date("2023年5月6"), Err(DateError::Format));
        assert_eq!(parse_date("2023-05-06x"), Err(DateError::Format));
        assert_eq!(parse_date("2023-05-06 noon"), Err(DateError::Format));
        assert_eq!(parse_date("2023-005-06"), Err(DateError::Format));
    }

    #[test]
    fn booleans_statuses_lists() {
        assert_eq!(parse_bool("是"), Some(true));
        assert_eq!(parse_bool("TRUE"), Some(true));
        assert_eq!(parse_bool("No"), Some(false));
        assert_eq!(parse_bool("0"), Some(false));
        assert_eq!(parse_bool("maybe"), None);
        assert_eq!(parse_active("离岗"), Some(false));
        assert_eq!(parse_status("Active"), Some(TargetStatus::Active));
        assert_eq!(parse_status("吊销"), Some(TargetStatus::Deregistered));
        assert_eq!(parse_status("歇业"), None);
        assert_eq!(
            split_list(" a；b、c,,d | e，f "),
            ["a", "b", "c", "d", "e", "f"]
        );
        assert!(split_list("  ").is_empty());
    }

    #[test]
    fn headers_and_numbers() {
        assert_eq!(normalize_header(" Key_Area "), "keyarea");
        assert_eq!(normalize_header("名　称*"), "名称");
        assert_eq!(normalize_header("\u{feff}ID"), "id");
        assert!(looks_like_scientific("9.13713E+17"));
        assert!(looks_like_scientific("1E+18"));
        assert!(!looks_like_scientific("91371326MA3C1E2X"));
        assert!(!looks_like_scientific("E+17"));
        assert_eq!(trim("\u{3000} x \u{a0}"), "x");
    }
}
