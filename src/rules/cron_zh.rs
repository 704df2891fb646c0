//! A cron frequency as staff read it: `0 0 9 1 1,4,7,10 *` → 每年 1、4、7、10 月 1 日 9:00.
//! Only the forms rules write are described (fixed times; days, months and weekdays as
//! single values, lists, ranges or steps); anything else keeps its expression alone.

/// The Chinese description of a 6- or 7-field cron expression (seconds first), or `None`
/// when it uses a form not described here.
pub(crate) fn describe(expr: &str) -> Option<String> {
    let f: Vec<&str> = expr.split_whitespace().collect();
    if f.len() != 6 && f.len() != 7 {
        return None;
    }
    let (sec, min, hour) = (
        number(f[0], 0, 59)?,
        number(f[1], 0, 59)?,
        number(f[2], 0, 23)?,
    );
    let time = if sec == 0 {
        format!("{hour}:{min:02}")
    } else {
        format!("{hour}:{min:02}:{sec:02}")
    };
    let any = |s: &str| s == "*" || s == "?";
    let (dom, month, dow) = (f[3], f[4], f[5]);
    let months = if any(month) {
        None
    } else {
        Some(values(month, 1, 12, &|n| n.to_string(), "月")?)
    };
    // "每年 3 月" or "每 3 个月（自 1 月起）的".
    let within = |m: &str| {
        if m.starts_with('每') {
            format!("{m}的")
        } else {
            format!("每年{m}")
        }
    };
    let when = match (any(dom), any(dow)) {
        (true, true) => match &months {
            None => "每天".to_string(),
            Some(m) => format!("{}每天", within(m)),
        },
        (false, true) => {
            let days = values(dom, 1, 31, &|n| n.to_string(), "日")?;
            match &months {
                None => format!("每月{days}"),
                Some(m) => format!("{}{days}", within(m)),
            }
        }
        (true, false) => {
            let days = weekdays(dow)?;
            match &months {
                None => format!("每周{days}"),
                Some(m) => format!("{}每周{days}", within(m)),
            }
        }
        (false, false) => return None,
    };
    let year = match f.get(6) {
        None => String::new(),
        Some(y) if any(y) => String::new(),
        Some(y) => format!("（{} 年）", number(y, 1970, 2099)?),
    };
    Some(format!("{when} {time}{year}"))
}

fn number(s: &str, lo: u32, hi: u32) -> Option<u32> {
    s.parse::<u32>().ok().filter(|n| (lo..=hi).contains(n))
}

/// `1`, `1,15`, `3-5`, `*/3`, `1/2` as " 1、15 日", " 3 至 5 月", "每 3 个月（自 1 月起）".
fn values(s: &str, lo: u32, hi: u32, name: &dyn Fn(u32) -> String, unit: &str) -> Option<String> {
    if let Some((start, step)) = s.split_once('/') {
        let start = if start == "*" {
            lo
        } else {
            number(start, lo, hi)?
        };
        let step = number(step, 1, hi)?;
        let every = if unit == "月" { "个月" } else { "日" };
        return Some(format!("每 {step} {every}（自 {} {unit}起）", name(start)));
    }
    let mut parts = Vec::new();
    for part in s.split(',') {
        match part.split_once('-') {
            Some((a, b)) => parts.push(format!(
                "{} 至 {}",
                name(number(a, lo, hi)?),
                name(number(b, lo, hi)?)
            )),
            None => parts.push(name(number(part, lo, hi)?)),
        }
    }
    Some(format!(" {} {unit}", parts.join("、")))
}

/// `MON`, `1-5`, `SAT,SUN` as "一", "一至五", "六、日".
fn weekdays(s: &str) -> Option<String> {
    const NAMES: [&str; 7] = ["日", "一", "二", "三", "四", "五", "六"];
    const EN: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
    let day = |t: &str| -> Option<&str> {
        let up = t.to_ascii_uppercase();
        let i = EN
            .iter()
            .position(|e| *e == up)
            .or_else(|| number(t, 1, 7).map(|n| (n % 7) as usize))?;
        NAMES.get(i).copied()
    };
    let mut parts = Vec::new();
    for part in s.split(',') {
        match part.split_once('-') {
            Some((a, b)) => parts.push(format!("{}至{}", day(a)?, day(b)?)),
            None => parts.push(day(part)?.to_string()),
        }
    }
    Some(parts.join("、"))
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn the_crons_rules_write_read_in_chinese() {
        let cases = [
            ("0 0 9 1 * *", Some("每月 1 日 9:00")),
            ("0 30 9 1,15 * *", Some("每月 1、15 日 9:30")),
            ("0 0 9 1 1,4,7,10 *", Some("每年 1、4、7、10 月 1 日 9:00")),
            ("0 0 9 * * MON", Some("每周一 9:00")),
            ("0 0 9 * * Mon-Fri", Some("每周一至五 9:00")),
            ("0 0 9 1 */3 *", Some("每 3 个月（自 1 月起）的 1 日 9:00")),
            ("0 0 8 * * *", Some("每天 8:00")),
            ("0 0 9 1 3 * 2026", Some("每年 3 月 1 日 9:00（2026 年）")),
            ("0 0 9 L * *", None),
            ("0 0 9 1 * MON", None),
            ("0 0 9 1", None),
        ];
        for (expr, want) in cases {
            assert_eq!(describe(expr).as_deref(), want, "{expr}");
        }
    }
}
