//! Parsers for the small value languages of rule files: ratios, frequencies, issue days.

use crate::rules::model::{IssueAt, Ratio};

/// A ratio that could not be read: what is wrong and how to write it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RatioError {
    pub message: String,
    pub help: String,
}

/// "5%", "2.5%", "100%" → a ratio in (0, 100%]. Exact decimal arithmetic. A bare number
/// (`0.05`, `1`) is refused: `1` would mean 100% to one reader and 1% to another, so the
/// help shows the percentage to write instead.
pub(crate) fn parse_ratio(text: &str) -> Result<Ratio, RatioError> {
    parse_ratio_as(text, false)
}

/// [`parse_ratio`]; with `legacy`, a bare number is a fraction (`0.05` = 5%), as rule sets
/// archived before the `%` form was required wrote it.
pub(crate) fn parse_ratio_as(text: &str, legacy: bool) -> Result<Ratio, RatioError> {
    let t = text.trim();
    if legacy && !t.ends_with('%') && !t.ends_with('％') {
        let out = "write a fraction in (0, 1]".to_string();
        let ppm = parse_decimal(t, 1_000_000).ok_or(RatioError {
            message: format!("`{text}` is not a ratio"),
            help: out.clone(),
        })?;
        return Ratio::from_ppm(u32::try_from(ppm).unwrap_or(0)).ok_or(RatioError {
            message: format!("ratio `{text}` is outside (0, 100%]"),
            help: out,
        });
    }
    let in_range = "write a percentage in (0, 100%], e.g. \"5%\" or \"100%\"".to_string();
    let Some(number) = t.strip_suffix('%').or_else(|| t.strip_suffix('％')) else {
        let help = match bare_fix(t) {
            Some(fix) => format!("write the ratio with `%`: {fix}"),
            None => in_range,
        };
        return Err(RatioError {
            message: format!("ratio `{text}` has no `%`"),
            help,
        });
    };
    let Some(ppm) = parse_decimal(number.trim(), 10_000) else {
        return Err(RatioError {
            message: format!("`{text}` is not a ratio"),
            help: in_range,
        });
    };
    Ratio::from_ppm(u32::try_from(ppm).unwrap_or(0)).ok_or(RatioError {
        message: format!("ratio `{text}` is outside (0, 100%]"),
        help: in_range,
    })
}

/// The percentage a bare number may have meant: `0.05` → `"5%"`; `1` → `"100%"` or `"1%"`;
/// `5` → `"5%"`.
fn bare_fix(t: &str) -> Option<String> {
    let as_fraction = parse_decimal(t, 10_000 * 100).filter(|p| *p > 0 && *p <= 1_000_000);
    let as_percent = parse_decimal(t, 10_000).filter(|p| *p > 0 && *p <= 1_000_000);
    let pct =
        |ppm: u64| Ratio::from_ppm(u32::try_from(ppm).unwrap_or(0)).map(|r| format!("\"{r}\""));
    match (as_fraction.and_then(pct), as_percent.and_then(pct)) {
        (Some(all), Some(b)) if as_fraction == Some(1_000_000) => {
            Some(format!("{all} (all of them) or {b}"))
        }
        (Some(a), _) => Some(a),
        (None, b) => b,
    }
}

/// `number` × `scale`, exactly, for a plain decimal with at most 6 fractional digits beyond the scale.
fn parse_decimal(number: &str, scale: u64) -> Option<u64> {
    if number.is_empty() || number.starts_with('-') || number.starts_with('+') {
        return None;
    }
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.chars().all(|c| c.is_ascii_digit()) || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let int: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let digits = scale.ilog10() as usize;
    let frac_trimmed = frac.trim_end_matches('0');
    if frac_trimmed.len() > digits {
        return None;
    }
    let mut frac_val: u64 = if frac_trimmed.is_empty() {
        0
    } else {
        frac_trimmed.parse().ok()?
    };
    for _ in frac_trimmed.len()..digits {
        frac_val *= 10;
    }
    int.checked_mul(scale)?.checked_add(frac_val)
}

/// "first-working-day", "working-day:3" or "day:10".
pub(crate) fn parse_issue(text: &str) -> Result<IssueAt, String> {
    let t = text.trim();
    let bad = || {
        format!(
            "`{text}` is not an issue day: use \"first-working-day\", \"working-day:N\" (N-th working day of the period) or \"day:N\" (calendar day N, moved to the next working day)"
        )
    };
    if t == "first-working-day" {
        return Ok(IssueAt::WorkingDay(1));
    }
    if let Some(n) = t.strip_prefix("working-day:") {
        let n: u32 = n.trim().parse().map_err(|_| bad())?;
        return if (1..=20).contains(&n) {
            Ok(IssueAt::WorkingDay(n))
        } else {
            Err(bad())
        };
    }
    if let Some(n) = t.strip_prefix("day:") {
        let n: u32 = n.trim().parse().map_err(|_| bad())?;
        return if (1..=28).contains(&n) {
            Ok(IssueAt::Day(n))
        } else {
            Err(bad())
        };
    }
    Err(bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ppm(s: &str) -> Result<u32, String> {
        parse_ratio(s).map(Ratio::ppm).map_err(|e| e.message)
    }

    /// A bare number is refused, and the help shows the percentage it may have meant.
    #[test]
    fn bare_numbers_are_refused_with_the_fix() {
        let help = |s: &str| {
            parse_ratio(s)
                .map(Ratio::ppm)
                .map_err(|e| (e.message, e.help))
        };
        assert_eq!(
            help("0.05"),
            Err((
                "ratio `0.05` has no `%`".into(),
                "write the ratio with `%`: \"5%\"".into()
            ))
        );
        assert_eq!(
            help("1"),
            Err((
                "ratio `1` has no `%`".into(),
                "write the ratio with `%`: \"100%\" (all of them) or \"1%\"".into()
            ))
        );
        assert_eq!(
            help("20"),
            Err((
                "ratio `20` has no `%`".into(),
                "write the ratio with `%`: \"20%\"".into()
            ))
        );
    }

    #[test]
    fn ratios() {
        assert_eq!(ppm("5%"), Ok(50_000));
        assert_eq!(ppm("2.5%"), Ok(25_000));
        assert_eq!(ppm("100%"), Ok(1_000_000));
        assert_eq!(ppm(" 5 % "), Ok(50_000));
        assert_eq!(ppm("0.0001%"), Ok(1));
        assert!(ppm("0.00001%").is_err());
        assert!(ppm("0%").is_err());
        assert!(ppm("120%").is_err());
        assert!(ppm("-5%").is_err());
        assert!(ppm("five").is_err());
        assert!(ppm("0.0000001").is_err());
    }

    #[test]
    fn archived_rule_sets_keep_their_bare_ratios() {
        let legacy = |s: &str| {
            parse_ratio_as(s, true)
                .map(Ratio::ppm)
                .map_err(|e| e.message)
        };
        assert_eq!(legacy("0.05"), Ok(50_000));
        assert_eq!(legacy("1"), Ok(1_000_000));
        assert_eq!(legacy("5%"), Ok(50_000));
        assert!(legacy("2").is_err());
    }

    #[test]
    fn issue_days() {
        assert_eq!(parse_issue("first-working-day"), Ok(IssueAt::WorkingDay(1)));
        assert_eq!(parse_issue("working-day:3"), Ok(IssueAt::WorkingDay(3)));
        assert_eq!(parse_issue("day:10"), Ok(IssueAt::Day(10)));
        assert!(parse_issue("day:40").is_err());
        assert!(parse_issue("soon").is_err());
    }
}
