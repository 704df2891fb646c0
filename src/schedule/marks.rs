//! What a document must say about how a draw was made, beside what the manifest holds: when
//! it was really drawn and when it was due (补抽, a late draw), whether its dates come from a
//! provisional calendar (临时), and whether it belongs to a simulation (模拟).

use chrono::NaiveDateTime;

/// A draw is late (补抽) if it is made more than this after its scheduled issue time; the
/// service calls such a draw caught up.
pub const LATE_AFTER_MINUTES: i64 = 10;

/// What a document made from a simulation database says of itself (模拟).
pub const SIMULATION_NOTE: &str =
    "本文件由模拟数据库生成（模拟），所列时间为模拟时间，不是实际抽查记录。";

/// The marks of one draw, for its documents. Serialised (in the notices' JSON feed) only
/// when one applies.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct DrawMarks {
    /// When the draw was really made, "YYYY-MM-DD HH:MM" (local time).
    pub drawn_at: String,
    /// When it was scheduled, "YYYY-MM-DD HH:MM".
    pub scheduled_at: String,
    /// Made after its scheduled time (补抽).
    pub late: bool,
    /// Its dates come from a provisional calendar (临时).
    pub provisional: bool,
    /// It belongs to a simulation database (模拟).
    pub simulation: bool,
}

impl DrawMarks {
    /// The marks of a draw made at `created_at` ("YYYY-MM-DDTHH:MM:SS+08:00", as recorded)
    /// for its scheduled issue time.
    pub fn of(
        created_at: &str,
        scheduled: NaiveDateTime,
        provisional: bool,
        simulation: bool,
    ) -> DrawMarks {
        let made = chrono::DateTime::parse_from_rfc3339(created_at)
            .ok()
            .map(|t| t.naive_local());
        DrawMarks {
            drawn_at: made.map_or_else(
                || created_at.to_string(),
                |t| t.format("%Y-%m-%d %H:%M").to_string(),
            ),
            scheduled_at: scheduled.format("%Y-%m-%d %H:%M").to_string(),
            late: made
                .is_some_and(|t| t > scheduled + chrono::Duration::minutes(LATE_AFTER_MINUTES)),
            provisional,
            simulation,
        }
    }

    /// No mark applies: an on-time draw from an official calendar, in a real database.
    pub fn is_plain(&self) -> bool {
        !(self.late || self.provisional || self.simulation)
    }

    /// The labels that apply, each in full-width brackets: "（模拟）（临时）（补抽）", or "".
    pub fn labels(&self) -> String {
        [
            (self.simulation, "（模拟）"),
            (self.provisional, "（临时）"),
            (self.late, "（补抽）"),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, l)| *l)
        .collect()
    }

    /// The marks as words for a listing: "补抽,临时,模拟", or "—" when none applies.
    pub fn words(&self) -> String {
        let words: Vec<&str> = [
            (self.late, "补抽"),
            (self.provisional, "临时"),
            (self.simulation, "模拟"),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, w)| *w)
        .collect();
        if words.is_empty() {
            "—".into()
        } else {
            words.join(",")
        }
    }

    /// The day it was really drawn, "YYYY-MM-DD".
    pub fn drawn_date(&self) -> &str {
        self.drawn_at.get(..10).unwrap_or(&self.drawn_at)
    }

    /// When it was drawn, with the scheduled time beside it for a late draw:
    /// "抽取时间 2026-11-30 17:32（补抽，原定 2026-02-06 09:00）".
    pub fn when(&self) -> String {
        if self.late {
            format!(
                "抽取时间 {}（补抽，原定 {}）",
                self.drawn_at, self.scheduled_at
            )
        } else {
            format!("抽取时间 {}", self.drawn_at)
        }
    }

    /// The day it was drawn for a table cell: the real day, and for a late draw the
    /// scheduled one beside it; "（临时）" for a provisional one. A simulation is said once
    /// for the whole document, not per cell.
    pub fn date_cell(&self) -> String {
        let mut s = self.drawn_date().to_string();
        if self.late {
            s.push_str(&format!(
                "（补抽，原定 {}）",
                self.scheduled_at.get(..10).unwrap_or(&self.scheduled_at)
            ));
        }
        if self.provisional {
            s.push_str("（临时）");
        }
        s
    }

    /// The first line of a marked draw's spreadsheet (a CSV's first line, a workbook's first
    /// row, above the header row): what the file is with the labels, then the sentences that
    /// explain them — where anyone opening the file sees them. `None` when no mark applies:
    /// the sheet then starts with its header row, as it always has.
    pub fn heading(&self, what: &str) -> Option<String> {
        (!self.is_plain()).then(|| format!("{what}{}　{}", self.labels(), self.notes()))
    }

    /// Sentences that explain the labels, for the body of a document ("" when none apply).
    pub fn notes(&self) -> String {
        let mut s = String::new();
        if self.simulation {
            s.push_str(SIMULATION_NOTE);
        }
        if self.provisional {
            s.push_str(
                "本次抽取所依据的节假日安排为临时推算（国务院办公厅尚未公布当年放假安排），日期以正式公布为准。",
            );
        }
        if self.late {
            s.push_str(&format!(
                "本次抽取原定于 {}，实际于 {} 补抽。",
                self.scheduled_at, self.drawn_at
            ));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_late_provisional_simulated_draw_says_all_three() {
        let m = DrawMarks {
            drawn_at: "2026-11-30 17:32".into(),
            scheduled_at: "2026-02-06 09:00".into(),
            late: true,
            provisional: true,
            simulation: true,
        };
        assert_eq!(m.labels(), "（模拟）（临时）（补抽）");
        assert_eq!(
            m.when(),
            "抽取时间 2026-11-30 17:32（补抽，原定 2026-02-06 09:00）"
        );
        assert_eq!(m.drawn_date(), "2026-11-30");
        assert!(m.notes().contains("模拟") && m.notes().contains("临时"));
        assert_eq!(DrawMarks::default().labels(), "");
        assert_eq!(DrawMarks::default().heading("检查任务清单"), None);
        let heading = m.heading("检查任务清单").unwrap_or_default();
        assert!(
            heading.starts_with("检查任务清单（模拟）（临时）（补抽）　本文件由模拟数据库生成"),
            "{heading}"
        );
        assert!(heading.contains("原定于 2026-02-06 09:00"), "{heading}");
    }

    #[test]
    fn a_draw_is_late_only_after_the_grace_period() {
        let due = chrono::NaiveDate::from_ymd_opt(2026, 2, 6)
            .and_then(|d| d.and_hms_opt(9, 0, 0))
            .unwrap_or_default();
        let on_time = DrawMarks::of("2026-02-06T09:05:00+08:00", due, false, false);
        assert!(!on_time.late && on_time.is_plain());
        let late = DrawMarks::of("2026-11-30T17:32:10+08:00", due, false, false);
        assert!(late.late);
        assert_eq!(
            late.when(),
            "抽取时间 2026-11-30 17:32（补抽，原定 2026-02-06 09:00）"
        );
    }
}
