//! Long lists paged and searched: a national draw's drawn targets or tasks number in the
//! hundreds of thousands, and a page shows [`PAGE_ROWS`] of them.

/// Rows on one page.
pub(crate) const PAGE_ROWS: usize = 200;

/// The page asked for: `?page=N` (from 1), `?q=` what to search for.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub(crate) struct PageQuery {
    pub page: Option<usize>,
    pub q: Option<String>,
}

/// Where the page shown stands in its list.
#[derive(Debug, Default)]
pub(crate) struct Paging {
    /// Every row of the list.
    pub lines: usize,
    /// The rows the search matched (all of them without a search).
    pub matched: usize,
    pub page: usize,
    pub pages: usize,
    /// Rows on a page ([`PAGE_ROWS`]).
    pub per_page: usize,
    pub q: String,
    /// The list's element id, which the page links go to.
    pub anchor: &'static str,
}

impl Paging {
    pub fn first(&self) -> String {
        self.link(1)
    }

    pub fn previous(&self) -> String {
        self.link(self.page.saturating_sub(1).max(1))
    }

    pub fn next(&self) -> String {
        self.link((self.page + 1).min(self.pages))
    }

    pub fn last(&self) -> String {
        self.link(self.pages)
    }

    /// Whether the list needs the pager (more than a page, or searched).
    pub fn shown(&self) -> bool {
        self.pages > 1 || !self.q.is_empty()
    }

    /// The query of page `n` (the search kept).
    fn link(&self, n: usize) -> String {
        let mut at = format!("?page={n}");
        if !self.q.is_empty() {
            at.push_str("&q=");
            at.push_str(&percent_encoded(&self.q));
        }
        at.push('#');
        at.push_str(self.anchor);
        at
    }
}

/// `text` percent-encoded for a query string.
fn percent_encoded(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The page `asked` for of `rows` (those `matches` the search, when there is one), and where it
/// stands; `anchor`: the list's element id.
pub(crate) fn paged<T>(
    rows: Vec<T>,
    asked: &PageQuery,
    anchor: &'static str,
    matches: impl Fn(&T, &str) -> bool,
) -> (Vec<T>, Paging) {
    let lines = rows.len();
    let q = asked
        .q
        .as_deref()
        .map(str::trim)
        .unwrap_or_default()
        .to_string();
    let matched: Vec<T> = if q.is_empty() {
        rows
    } else {
        rows.into_iter().filter(|r| matches(r, &q)).collect()
    };
    let pages = matched.len().div_ceil(PAGE_ROWS).max(1);
    let page = asked.page.unwrap_or(1).clamp(1, pages);
    let paging = Paging {
        lines,
        matched: matched.len(),
        page,
        pages,
        per_page: PAGE_ROWS,
        q,
        anchor,
    };
    let shown = matched
        .into_iter()
        .skip((page - 1) * PAGE_ROWS)
        .take(PAGE_ROWS)
        .collect();
    (shown, paging)
}

#[cfg(test)]
mod tests {
    use super::{PAGE_ROWS, PageQuery, paged};

    #[test]
    fn a_page_is_its_rows_and_links_keep_the_search() {
        let rows: Vec<usize> = (0..PAGE_ROWS * 2 + 5).collect();
        let asked = |page, q: &str| PageQuery {
            page,
            q: Some(q.to_string()),
        };
        let (shown, p) = paged(rows.clone(), &asked(Some(3), ""), "x", |_, _| true);
        assert_eq!(
            shown,
            (PAGE_ROWS * 2..PAGE_ROWS * 2 + 5).collect::<Vec<_>>()
        );
        assert_eq!(
            (p.page, p.pages, p.lines, p.matched),
            (3, 3, rows.len(), rows.len())
        );
        // Past the end: the last page; no page: the first.
        assert_eq!(
            paged(rows.clone(), &asked(Some(99), ""), "x", |_, _| true)
                .1
                .page,
            3
        );
        assert_eq!(
            paged(rows.clone(), &PageQuery::default(), "x", |_, _| true)
                .1
                .page,
            1
        );
        let (shown, p) = paged(rows, &asked(None, " 丰 阳 "), "drawn", |r, q| {
            q == "丰 阳" && r % 100 == 7
        });
        assert_eq!(shown, [7, 107, 207, 307]);
        assert_eq!((p.matched, p.pages), (4, 1));
        assert_eq!(p.next(), "?page=1&q=%E4%B8%B0%20%E9%98%B3#drawn");
        assert!(p.shown());
    }
}
