//! Parsers for the small value languages of rule files: ratios, frequencies, issue days.

use crate::rules::model::{IssueAt, Ratio, Share};

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
    if let Some(help) = bound_help(t) {
        return Err(RatioError {
            message: format!("`{text}` is not a ratio"),
            help,
        });
    }
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

/// How a class's share is written: at least (`"5%"`), at most (`"≤ 5%"`) or a band
/// (`"5%–20%"`).
const SHARE_FORMS: &str = "write \"5%\" (at least 5%), \"≤ 5%\" (at most 5%) or \"5%–20%\" (a band: at least 5%, at most 20%)";

/// A class ratio of `class_ratios`: `"5%"` (at least, as [`parse_ratio_as`]), `"≤ 5%"` or
/// `"<= 5%"` (at most), `"5%–20%"`, `"5%-20%"`, `"5–20%"` or `"5%~20%"` (a band, its lower
/// bound first); `"≥ 5%"` is `"5%"`.
pub(crate) fn parse_share(text: &str, legacy: bool) -> Result<Share, RatioError> {
    let t = text.trim();
    if let Some(rest) = t.strip_prefix('≤').or_else(|| t.strip_prefix("<=")) {
        let cap = parse_ratio_as(rest, false).map_err(|e| RatioError {
            message: format!("`{text}` is not an upper bound: {}", e.message),
            help: SHARE_FORMS.into(),
        })?;
        return Ok(Share {
            ratio: cap,
            cap: Some(cap),
        });
    }
    if let Some(rest) = t.strip_prefix('≥').or_else(|| t.strip_prefix(">=")) {
        return parse_ratio_as(rest, false).map(Share::at_least);
    }
    let Some((low, high)) = t.split_once(['–', '—', '-', '~', '～']) else {
        return parse_ratio_as(t, legacy).map(Share::at_least);
    };
    let high = high.trim();
    let low = low.trim();
    let low = if low.ends_with('%') || low.ends_with('％') {
        low.to_string()
    } else {
        format!("{low}%")
    };
    let bad = |why: String| RatioError {
        message: format!("`{text}` is not a band: {why}"),
        help: SHARE_FORMS.into(),
    };
    let ratio = parse_ratio_as(&low, false).map_err(|e| bad(e.message))?;
    let cap = parse_ratio_as(high, false).map_err(|e| bad(e.message))?;
    if cap < ratio {
        return Err(bad(format!(
            "its lower bound {ratio} is above its upper bound {cap}"
        )));
    }
    Ok(Share {
        ratio,
        cap: Some(cap),
    })
}

/// The help for a bound written where only a plain percentage is read (`ratio = "≤ 5%"`).
fn bound_help(t: &str) -> Option<String> {
    let bound = t.starts_with(['≤', '≥', '<', '>'])
        || (t.contains(['–', '—', '~', '～']) || t.trim_start_matches('-').contains('-'));
    bound.then(|| {
        "an upper bound (\"≤ 5%\") or a band (\"5%–20%\") is written per class, in `class_ratios`; here write one percentage, e.g. \"5%\"".to_string()
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

    /// Upper bounds and bands in class ratios, and their sizes (k) for a few n.
    #[test]
    fn shares_read_upper_bounds_and_bands() {
        let share = |s: &str| parse_share(s, false).map_err(|e| e.message);
        let r = |p: u32| Ratio::from_ppm(p).expect("valid");
        assert_eq!(share("5%"), Ok(Share::at_least(r(50_000))));
        assert_eq!(share("≥ 5%"), Ok(Share::at_least(r(50_000))));
        let at_most = Share {
            ratio: r(50_000),
            cap: Some(r(50_000)),
        };
        assert_eq!(share("≤ 5%"), Ok(at_most));
        assert_eq!(share("<=5%"), Ok(at_most));
        let band = Share {
            ratio: r(50_000),
            cap: Some(r(200_000)),
        };
        for text in ["5%–20%", "5%-20%", "5–20%", "5% ~ 20%"] {
            assert_eq!(share(text), Ok(band), "{text}");
        }
        // ≤ 5% of 39 is 1.95: one; of 19, none. 5%–20% of 3: ⌈0.15⌉ = 1, but ⌊0.6⌋ = 0.
        assert_eq!(at_most.sample_size(39), 1);
        assert_eq!(at_most.sample_size(19), 0);
        assert_eq!(band.sample_size(41), 3);
        assert_eq!(band.sample_size(3), 0);
        assert_eq!(band.sample_size(5), 1);
        assert_eq!(at_most.label_zh(), "不超过 5%");
        assert_eq!(band.label_zh(), "5%–20%");
        assert_eq!(band.to_string(), "5%–20%");
        let err = parse_share("20%–5%", false).expect_err("reversed");
        assert!(
            err.message
                .contains("lower bound 20% is above its upper bound 5%"),
            "{}",
            err.message
        );
        assert!(err.help.contains("\"≤ 5%\""), "{}", err.help);
        assert!(share("≤ 5").is_err());
        assert!(share("≤ 120%").is_err());
        let err = parse_ratio("≤ 5%").expect_err("not a class ratio");
        assert!(err.help.contains("class_ratios"), "{}", err.help);
    }
}
