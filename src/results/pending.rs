//! New results held until they are recorded, compact: an import records every result of its
//! sheets in one transaction after every row is checked, and a national draw's sheet holds
//! 1.47 million. Held as [`NewResult`]s they took about 360 bytes each (half a gigabyte); here
//! each is eight numbers, its texts kept once each (a target's id is shared by its checklist
//! items; categories, items, days, signers and file names repeat throughout), and a
//! [`NewResult`] is made again only as the store writes it ([`NewResults`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{NONE, Places};
use crate::store::{NewResult, NewResults};

/// One result: its texts by their places in [`Pending`]'s tables.
#[derive(Debug, Clone, Copy)]
struct Packed {
    target: u32,
    item: u32,
    category: u32,
    remarks: u32,
    date: u32,
    signers: u32,
    file: u32,
    line: u32,
}

/// New results by draw, held compact until they are recorded.
#[derive(Default)]
pub struct Pending {
    texts: Places<str>,
    signers: Places<[String]>,
    files: Places<str>,
    by_draw: BTreeMap<i64, Vec<Packed>>,
}

impl Pending {
    /// Holds `r`, a new result for `draw_id`, after those held before.
    pub fn push(&mut self, draw_id: i64, r: &NewResult) {
        let texts = &mut self.texts;
        let packed = Packed {
            target: texts.place(&r.target_id),
            item: r.checklist_item.as_deref().map_or(NONE, |i| texts.place(i)),
            category: texts.place(&r.category),
            remarks: texts.place(&r.remarks),
            date: texts.place(&r.inspection_date),
            signers: self.signers.place(&r.inspectors_signed[..]),
            file: r
                .source_file
                .as_deref()
                .map_or(NONE, |f| self.files.place(f)),
            line: r.source_line.unwrap_or(NONE),
        };
        self.by_draw.entry(draw_id).or_default().push(packed);
    }

    /// How many results are held.
    pub fn len(&self) -> usize {
        self.by_draw.values().map(Vec::len).sum()
    }

    /// No result is held.
    pub fn is_empty(&self) -> bool {
        self.by_draw.values().all(Vec::is_empty)
    }

    /// `p` made again, into `out` (its strings' buffers used again).
    fn unpack(&self, p: &Packed, out: &mut NewResult) {
        let text = |place: u32| self.texts.at(place).map_or("", |t| &**t);
        let refill = |s: &mut String, v: &str| {
            s.clear();
            s.push_str(v);
        };
        refill(&mut out.target_id, text(p.target));
        match (p.item, &mut out.checklist_item) {
            (NONE, item) => *item = None,
            (at, Some(item)) => refill(item, text(at)),
            (at, item) => *item = Some(text(at).to_string()),
        }
        refill(&mut out.category, text(p.category));
        refill(&mut out.remarks, text(p.remarks));
        refill(&mut out.inspection_date, text(p.date));
        let signers = self.signers.at(p.signers).map_or(&[][..], |s| &s[..]);
        if out.inspectors_signed[..] != *signers {
            out.inspectors_signed.clear();
            out.inspectors_signed.extend(signers.iter().cloned());
        }
        out.source_file = (p.file != NONE)
            .then(|| self.files.at(p.file).map(Arc::clone))
            .flatten();
        out.source_line = (p.line != NONE).then_some(p.line);
    }
}

impl NewResults for Pending {
    fn batches(&self) -> usize {
        self.by_draw.len()
    }

    fn draw_of(&self, i: usize) -> i64 {
        self.by_draw.keys().nth(i).copied().unwrap_or(0)
    }

    fn each_of(&self, i: usize, each: &mut dyn FnMut(&NewResult) -> bool) {
        let Some(rows) = self.by_draw.values().nth(i) else {
            return;
        };
        let mut r = NewResult::default();
        for p in rows {
            self.unpack(p, &mut r);
            if !each(&r) {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(target: &str, item: Option<&str>, line: Option<u32>) -> NewResult {
        NewResult {
            target_id: target.into(),
            checklist_item: item.map(str::to_string),
            category: "未发现问题".into(),
            remarks: if line == Some(3) {
                "门窗".into()
            } else {
                String::new()
            },
            inspection_date: "2024-03-01".into(),
            inspectors_signed: match line {
                Some(2) => vec!["P1".into()],
                _ => vec!["P1".into(), "P2".into()],
            },
            source_file: line.map(|_| Arc::from("tasks.csv")),
            source_line: line,
        }
    }

    /// Every result comes back as it was held, draw by draw in order, whatever the one
    /// before it left in the buffers.
    #[test]
    fn results_come_back_as_they_were_held() {
        let held = [
            (7, result("T1", Some("hotel-01"), Some(2))),
            (3, result("T2", None, None)),
            (7, result("T1", Some("hotel-02"), Some(3))),
            (7, result("T3", None, Some(4))),
            (3, result("T2", Some("hotel-01"), Some(5))),
        ];
        let mut pending = Pending::default();
        for (draw, r) in &held {
            pending.push(*draw, r);
        }
        assert_eq!(pending.len(), 5);
        assert_eq!(pending.batches(), 2);
        let mut back = Vec::new();
        for i in 0..pending.batches() {
            let draw = pending.draw_of(i);
            pending.each_of(i, &mut |r| {
                back.push((draw, r.clone()));
                true
            });
        }
        let mut want = held.to_vec();
        want.sort_by_key(|(draw, _)| *draw);
        assert_eq!(back, want);
        let mut first = Vec::new();
        pending.each_of(1, &mut |r| {
            first.push(r.target_id.clone());
            false
        });
        assert_eq!(first, ["T1"], "stops when told");
    }
}
