//! Parsers for the small value languages of rule files: ratios, frequencies, issue days.

use crate::rules::model::{IssueAt, Ratio};

/// "5%", "2.5%", "100%", "0.05" or "1" → a ratio in (0, 100%]. Exact decimal arithmetic.
pub(crate) fn parse_ratio(text: &str) -> Result<Ratio, String> {
    let t = text.trim();
    let (number, scale) = match t.strip_suffix('%').or_else(|| t.strip_suffix('％')) {
        Some(n) => (n.trim(), 10_000u64),
        None => (t, 1_000_000u64),
    };
    let ppm = parse_decimal(number, scale).ok_or_else(|| {
        format!("`{text}` is not a ratio: write a percentage like \"5%\" or a fraction like 0.05")
    })?;
    if ppm == 0 || ppm > 1_000_000 {
        return Err(format!("ratio `{text}` is outside (0, 100%]"));
    }
    Ratio::from_ppm(ppm as u32).ok_or_else(|| format!("ratio `{text}` is outside (0, 100%]"))
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
        parse_ratio(s).map(Ratio::ppm)
    }

    #[test]
    fn ratios() {
        assert_eq!(ppm("5%"), Ok(50_000));
        assert_eq!(ppm("2.5%"), Ok(25_000));
        assert_eq!(ppm("100%"), Ok(1_000_000));
        assert_eq!(ppm("0.05"), Ok(50_000));
        assert_eq!(ppm("1"), Ok(1_000_000));
        assert_eq!(ppm(" 5 % "), Ok(50_000));
        assert!(ppm("0%").is_err());
        assert!(ppm("120%").is_err());
        assert!(ppm("-5%").is_err());
        assert!(ppm("five").is_err());
        assert!(ppm("0.0000001").is_err());
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
