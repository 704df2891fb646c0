//! A cron frequency as staff read it: `0 0 9 1 */3 *` → 每季度首月1日9时.
//!
//! The description is made from the schedule the `cron` crate parsed (the sets of seconds,
//! minutes, hours, days, months, weekdays and years it fires on), never from the text, so every
//! expression `check` accepts is described, and faithfully: what the description says is what
//! the schedule fires on. Common shapes get their usual words (每季度首月, 每半年首月, 每周一至五);
//! anything else is listed value by value (runs as 3至5日).

use cron::{Schedule, TimeUnitSpec};

/// The Chinese description of a parsed cron schedule.
pub(crate) fn describe(s: &Schedule) -> String {
    let months = set(s.months(), 1, 12);
    let days = set(s.days_of_month(), 1, 31);
    let weekdays = set(s.days_of_week(), 1, 7);
    let in_months = month_words(&months).unwrap_or_default();
    let when = match (days.is_all, weekdays.is_all) {
        (true, true) if in_months.is_empty() => "每天".to_string(),
        (true, true) => format!("{in_months}每天"),
        (false, true) if in_months.is_empty() => format!("每月{}", list(&days.values, "日")),
        (false, true) => format!("{in_months}{}", list(&days.values, "日")),
        (true, false) => format!("{in_months}每周{}", weekday_list(&weekdays.values)),
        // The crate fires only on days that match both (not either, as some crons do).
        (false, false) => format!(
            "{}{}且逢周{}",
            if in_months.is_empty() {
                "每月"
            } else {
                &in_months
            },
            list(&days.values, "日"),
            weekday_list(&weekdays.values)
        ),
    };
    let years = set(s.years(), 1970, 2099);
    let years = if years.is_all {
        String::new()
    } else {
        format!("（{}）", list(&years.values, "年"))
    };
    format!("{when}{}{years}", time_words(s))
}

/// The values of one field and whether they are all of its range.
struct Set {
    values: Vec<u32>,
    is_all: bool,
}

fn set(spec: &impl TimeUnitSpec, lo: u32, hi: u32) -> Set {
    let values: Vec<u32> = spec.iter().filter(|v| (lo..=hi).contains(v)).collect();
    let is_all = spec.is_all() || values.len() as u32 == hi - lo + 1;
    Set { values, is_all }
}

/// 每季度首月, 每半年首月, 每年3月, 每年1、3、5月 … (`None`: every month).
fn month_words(m: &Set) -> Option<String> {
    if m.is_all {
        return None;
    }
    let named = match m.values.as_slice() {
        [1, 4, 7, 10] => "每季度首月",
        [2, 5, 8, 11] => "每季度第二个月",
        [3, 6, 9, 12] => "每季度末月",
        [1, 7] => "每半年首月",
        [6, 12] => "每半年末月",
        [1, 3, 5, 7, 9, 11] => "每两个月（单月）",
        [2, 4, 6, 8, 10, 12] => "每两个月（双月）",
        _ => "",
    };
    if !named.is_empty() {
        return Some(named.to_string());
    }
    Some(format!("每年{}", list(&m.values, "月")))
}

/// `1、15日`, `3至5月`, `1至5、10日`: runs of three or more as a range.
fn list(values: &[u32], unit: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < values.len() {
        let mut j = i;
        while j + 1 < values.len() && values[j + 1] == values[j] + 1 {
            j += 1;
        }
        if j >= i + 2 {
            parts.push(format!("{}至{}", values[i], values[j]));
        } else {
            parts.extend(values[i..=j].iter().map(u32::to_string));
        }
        i = j + 1;
    }
    format!("{}{unit}", parts.join("、"))
}

/// Weekdays (1 = Sunday, as the crate numbers them) as 一, 一至五, 六、日.
fn weekday_list(values: &[u32]) -> String {
    const NAMES: [&str; 7] = ["一", "二", "三", "四", "五", "六", "日"];
    // Monday first: Sunday (1) goes last.
    let mut monday_first: Vec<u32> = values
        .iter()
        .map(|&v| if v == 1 { 7 } else { v - 1 })
        .collect();
    monday_first.sort_unstable();
    let name = |v: u32| NAMES.get(v as usize - 1).copied().unwrap_or("?");
    let mut parts = Vec::new();
    let mut i = 0;
    while i < monday_first.len() {
        let mut j = i;
        while j + 1 < monday_first.len() && monday_first[j + 1] == monday_first[j] + 1 {
            j += 1;
        }
        if j >= i + 2 {
            parts.push(format!(
                "{}至{}",
                name(monday_first[i]),
                name(monday_first[j])
            ));
        } else {
            parts.extend(monday_first[i..=j].iter().map(|&v| name(v).to_string()));
        }
        i = j + 1;
    }
    parts.join("、")
}

/// 9时, 9时30分, 9时30分15秒, 9、14时, 每小时0分, 9时每15分钟 …
fn time_words(s: &Schedule) -> String {
    let hours = set(s.hours(), 0, 23);
    let minutes = set(s.minutes(), 0, 59);
    let seconds = set(s.seconds(), 0, 59);
    let hour = if hours.is_all {
        "每小时".to_string()
    } else {
        list(&hours.values, "时")
    };
    let minute = if minutes.is_all {
        "每分钟".to_string()
    } else if let Some(step) = step_from_zero(&minutes.values, 60) {
        format!("每{step}分钟")
    } else if minutes.values == [0] && !hours.is_all {
        String::new()
    } else {
        list(&minutes.values, "分")
    };
    let second = if seconds.is_all {
        "每秒".to_string()
    } else if seconds.values == [0] {
        String::new()
    } else {
        list(&seconds.values, "秒")
    };
    format!("{hour}{minute}{second}")
}

/// `0, 15, 30, 45` of 60 → 15: a whole cycle of one step from 0 (at least three values).
fn step_from_zero(values: &[u32], cycle: u32) -> Option<u32> {
    let step = values.get(1)?.checked_sub(*values.first()?)?;
    (values.len() >= 3
        && values[0] == 0
        && step > 1
        && values.windows(2).all(|w| w[1] - w[0] == step)
        && values.last().is_some_and(|l| l + step >= cycle))
    .then_some(step)
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::describe;

    #[test]
    fn the_crons_rules_write_read_in_chinese() {
        let cases = [
            ("0 0 9 1 * *", "每月1日9时"),
            ("0 30 9 1,15 * *", "每月1、15日9时30分"),
            ("0 0 9 1 1,4,7,10 *", "每季度首月1日9时"),
            ("0 0 9 1 */3 *", "每季度首月1日9时"),
            ("0 0 9 1 3/3 *", "每季度末月1日9时"),
            ("0 0 9 1 1,7 *", "每半年首月1日9时"),
            ("0 0 9 * * MON", "每周一9时"),
            ("0 0 9 * * Mon-Fri", "每周一至五9时"),
            ("0 0 9 * * SAT,SUN", "每周六、日9时"),
            ("0 0 8 * * *", "每天8时"),
            ("0 0 9 1 3 * 2026", "每年3月1日9时（2026年）"),
            ("0 30 10 3 6 * 2023", "每年6月3日10时30分（2023年）"),
            ("15 30 9 1 * *", "每月1日9时30分15秒"),
            ("0 0 9,14 1-5 * *", "每月1至5日9、14时"),
            ("0 */15 9 1 * *", "每月1日9时每15分钟"),
            ("0 0 * 1 1 *", "每年1月1日每小时0分"),
            ("0 0 9 1 2,5,8 *", "每年2、5、8月1日9时"),
            // Day and weekday both given: the crate fires on days matching both.
            ("0 0 9 1-7 * MON", "每月1至7日且逢周一9时"),
            ("0 0 9 1 * * 2025-2027", "每月1日9时（2025至2027年）"),
        ];
        for (expr, want) in cases {
            let s = cron::Schedule::from_str(expr).expect(expr);
            assert_eq!(describe(&s), want, "{expr}");
        }
    }

    #[test]
    fn what_the_description_says_is_when_the_schedule_fires() {
        use chrono::TimeZone;
        // 每月1至7日且逢周一: the first Monday of each month, as the schedule computes it.
        let s = cron::Schedule::from_str("0 0 9 1-7 * MON").expect("cron");
        let start = chrono_tz::Asia::Shanghai
            .with_ymd_and_hms(2025, 1, 1, 0, 0, 0)
            .single()
            .expect("time");
        let fires: Vec<String> = s
            .after(&start)
            .take(3)
            .map(|t| t.format("%Y-%m-%d %a").to_string())
            .collect();
        assert_eq!(
            fires,
            ["2025-01-06 Mon", "2025-02-03 Mon", "2025-03-03 Mon"]
        );
    }
}
