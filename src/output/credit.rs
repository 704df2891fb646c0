//! The export for the national enterprise credit publicity system (国家企业信用信息公示系统):
//! the results of 双随机 inspections once published, one row per inspected firm, in the six
//! columns the system takes for them (统一社会信用代码, 名称, 检查实施机关, 检查类型, 检查日期,
//! 检查结果), as CSV and XLSX. Only published results appear; a drawn target whose id is not a
//! 统一社会信用代码 (an event, a firm registered without one) cannot be filed there and is
//! listed as left out instead.

use crate::results::ledger::DrawLedger;
use crate::schedule::marks::DrawMarks;

/// The columns, in the system's order.
pub const CREDIT_HEADER: [&str; 6] = [
    "统一社会信用代码",
    "名称",
    "检查实施机关",
    "检查类型",
    "检查日期",
    "检查结果",
];

/// 检查类型 of every row.
pub const INSPECTION_KIND: &str = "双随机抽查";

/// One inspected firm's published result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditRow {
    /// 统一社会信用代码 (the target's id).
    pub code: String,
    pub name: String,
    /// 检查实施机关: the bureau.
    pub authority: String,
    /// 检查日期: the day the inspection ended (latest 检查日期 of its results).
    pub date: String,
    /// 检查结果: the overall result (未发现问题, or the problem categories found).
    pub result: String,
}

/// A published result that cannot be filed: its target's id is not a 统一社会信用代码.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftOut {
    /// 抽取编号 of the draw.
    pub draw_ref: String,
    pub matter_name: String,
    pub target_id: String,
    pub target_name: String,
}

/// What the export holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditExport {
    pub rows: Vec<CreditRow>,
    pub left_out: Vec<LeftOut>,
    /// Made from a simulation database: both files say 模拟 on their first line, so that no
    /// one files them.
    pub simulation: bool,
}

/// The export of every published result in `ledgers` (in their order: by issue date, then
/// draw, then the draw's order of targets).
pub fn export(bureau: &str, ledgers: &[DrawLedger], simulation: bool) -> CreditExport {
    let mut rows = Vec::new();
    let mut left_out = Vec::new();
    for l in ledgers {
        for t in l.targets.iter().filter(|t| t.published_on.is_some()) {
            if !is_credit_code(&t.target_id) {
                left_out.push(LeftOut {
                    draw_ref: l.draw_ref.clone(),
                    matter_name: l.matter_name.clone(),
                    target_id: t.target_id.clone(),
                    target_name: t.target_name.clone(),
                });
                continue;
            }
            rows.push(CreditRow {
                code: t.target_id.clone(),
                name: t.target_name.clone(),
                authority: bureau.to_string(),
                date: t.inspection_end.map(|d| d.to_string()).unwrap_or_default(),
                result: t.summary(),
            });
        }
    }
    CreditExport {
        rows,
        left_out,
        simulation,
    }
}

/// The characters of a 统一社会信用代码 (GB 32100-2015): digits and capitals without I, O, S,
/// V, Z; a character's value is its position here.
const CODE_CHARS: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// The weights of the first 17 characters (3^i mod 31).
const CODE_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// Whether `s` is a 统一社会信用代码: 18 characters of `CODE_CHARS` whose last is the check
/// character of the first 17 (GB 32100-2015 §5: 31 − (Σ value × weight mod 31), 31 read as 0).
pub fn is_credit_code(s: &str) -> bool {
    let value = |b: u8| CODE_CHARS.iter().position(|&c| c == b).map(|v| v as u32);
    let bytes = s.as_bytes();
    if bytes.len() != 18 {
        return false;
    }
    let mut sum = 0;
    for (b, w) in bytes.iter().zip(CODE_WEIGHTS) {
        match value(*b) {
            Some(v) => sum += v * w,
            None => return false,
        }
    }
    let check = (31 - sum % 31) % 31;
    value(bytes[17]) == Some(check)
}

impl CreditExport {
    /// The heading line of a simulation's files (None for real records).
    fn heading(&self) -> Option<String> {
        DrawMarks {
            simulation: self.simulation,
            ..DrawMarks::default()
        }
        .heading("双随机抽查结果（国家企业信用信息公示系统导入）")
    }

    fn cells(&self) -> Vec<Vec<String>> {
        self.rows
            .iter()
            .map(|r| {
                vec![
                    r.code.clone(),
                    r.name.clone(),
                    r.authority.clone(),
                    INSPECTION_KIND.to_string(),
                    r.date.clone(),
                    r.result.clone(),
                ]
            })
            .collect()
    }

    /// The CSV: UTF-8 with BOM, the header row first (a simulation's file starts with a line
    /// that says 模拟), cells safe to open (see [`crate::results::safe_cell`]).
    pub fn csv(&self) -> Vec<u8> {
        crate::results::safe_cell::headed_csv_document(
            self.heading().as_deref(),
            &CREDIT_HEADER,
            &self.cells(),
        )
    }

    /// The workbook: one sheet, every cell text (codes and dates stay as written), the header
    /// row frozen; `created` is recorded as its creation time, so the same records give the
    /// same bytes.
    pub fn xlsx(&self, created: chrono::NaiveDate) -> Result<Vec<u8>, String> {
        use rust_xlsxwriter::Format;
        let err = |e: rust_xlsxwriter::XlsxError| e.to_string();
        let mut wb = super::dated_workbook(created)?;
        let ws = wb.add_worksheet();
        ws.set_name("双随机抽查结果").map_err(err)?;
        let heading = self.heading();
        let top = u32::from(heading.is_some());
        if let Some(heading) = heading {
            let wrap = Format::new().set_bold().set_text_wrap();
            ws.merge_range(0, 0, 0, CREDIT_HEADER.len() as u16 - 1, &heading, &wrap)
                .map_err(err)?;
            ws.set_row_height(0, 45).map_err(err)?;
        }
        let bold = Format::new().set_bold();
        for (c, h) in CREDIT_HEADER.iter().enumerate() {
            ws.write_string_with_format(top, c as u16, *h, &bold)
                .map_err(err)?;
        }
        for (r, row) in self.cells().iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                ws.write_string(top + 1 + r as u32, c as u16, v)
                    .map_err(err)?;
            }
        }
        ws.set_freeze_panes(top + 1, 0).map_err(err)?;
        for (c, w) in [
            (0u16, 22.0),
            (1, 30.0),
            (2, 20.0),
            (3, 12.0),
            (4, 12.0),
            (5, 30.0),
        ] {
            ws.set_column_width(c, w).map_err(err)?;
        }
        wb.save_to_buffer().map_err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credit_codes_are_checked_by_their_check_character() {
        // Valid codes (GB 32100-2015 check characters), one ending in a letter.
        for code in [
            "91350100M000100Y43",
            "9137132681DPN0YEA1",
            "91110000600037341L",
        ] {
            assert!(is_credit_code(code), "{code}");
        }
        for code in [
            "91350100M000100Y44", // wrong check character
            "9137132681DPN0YEA",  // 17 characters
            "91350100M000100I43", // I is not a code character
            "YH-2023-001",
            "",
            "９１３５０１００Ｍ０００１００Ｙ４３", // full-width
        ] {
            assert!(!is_credit_code(code), "{code}");
        }
    }

    #[test]
    fn real_records_start_with_the_header_and_a_simulation_with_its_mark() {
        let row = CreditRow {
            code: "91350100M000100Y43".into(),
            name: "=某某宾馆".into(),
            authority: "平邑县公安局".into(),
            date: "2023-03-06".into(),
            result: "未发现问题".into(),
        };
        let mut e = CreditExport {
            rows: vec![row],
            left_out: Vec::new(),
            simulation: false,
        };
        let text = String::from_utf8(e.csv()).expect("utf-8");
        let mut lines = text.trim_start_matches('\u{feff}').lines();
        assert_eq!(lines.next(), Some(CREDIT_HEADER.join(",").as_str()));
        assert_eq!(
            lines.next(),
            Some("91350100M000100Y43,'=某某宾馆,平邑县公安局,双随机抽查,2023-03-06,未发现问题")
        );
        e.simulation = true;
        let text = String::from_utf8(e.csv()).expect("utf-8");
        assert!(
            text.lines().next().is_some_and(|l| l.contains("模拟")),
            "{text}"
        );
    }
}
