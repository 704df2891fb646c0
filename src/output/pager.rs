//! Long lists published as pages of [`LIST_ROWS`] rows: the public site's lists and a
//! published notice, each page linking the first, the last and the nearby pages.

/// Rows one page of a long list shows (the public site's drawn targets and results, a
/// published notice's results): a national draw's 367,000 targets on one page would be 100 MB
/// of HTML that no browser shows. The whole list is a CSV file beside the pages.
pub const LIST_ROWS: usize = 1000;

/// Where a page of a long list stands among its pages, and its links to the others (relative
/// to the folder the pages are in).
pub struct Pager {
    pub page: usize,
    pub pages: usize,
    /// Rows on a full page ([`LIST_ROWS`]).
    pub per_page: usize,
    /// The place in the list of the page's first row, from 0.
    pub first_row: usize,
    /// Each link: its text, and where it goes (`None`: this page, or no page that way).
    pub links: Vec<(String, Option<String>)>,
}

impl Pager {
    /// Page `page` (from 1) of a list of `rows` rows whose page `n` is at `name(n)`.
    pub fn of(page: usize, rows: usize, name: &dyn Fn(usize) -> String) -> Pager {
        let pages = pages(rows);
        let to = |n: usize| (n != page).then(|| name(n));
        let mut links = vec![("上一页".to_string(), (page > 1).then(|| name(page - 1)))];
        // The first and last pages, and two either side of this one; a gap shown as "…".
        let shown = |n: usize| n == 1 || n == pages || n.abs_diff(page) <= 2;
        let mut gap = false;
        for n in 1..=pages {
            if shown(n) {
                links.push((n.to_string(), to(n)));
                gap = false;
            } else if !gap {
                links.push(("…".to_string(), None));
                gap = true;
            }
        }
        links.push(("下一页".to_string(), (page < pages).then(|| name(page + 1))));
        Pager {
            page,
            pages,
            per_page: LIST_ROWS,
            first_row: (page - 1) * LIST_ROWS,
            links,
        }
    }

    /// The rows of `all` on this page.
    pub fn rows<'a, T>(&self, all: &'a [T]) -> &'a [T] {
        let end = (self.first_row + LIST_ROWS).min(all.len());
        all.get(self.first_row..end).unwrap_or_default()
    }
}

/// How many pages a list of `rows` rows takes (one, however short).
pub fn pages(rows: usize) -> usize {
    rows.div_ceil(LIST_ROWS).max(1)
}

#[cfg(test)]
mod tests {
    use super::{LIST_ROWS, Pager};

    fn links(p: &Pager) -> Vec<String> {
        p.links
            .iter()
            .map(|(text, to)| match to {
                Some(to) => format!("{text}>{to}"),
                None => text.clone(),
            })
            .collect()
    }

    #[test]
    fn a_page_links_the_first_and_last_pages_and_two_either_side_of_it() {
        let name = |n: usize| format!("p{n}");
        let p = Pager::of(6, 20 * LIST_ROWS - 1, &name);
        assert_eq!((p.pages, p.first_row), (20, 5 * LIST_ROWS));
        assert_eq!(
            links(&p),
            [
                "上一页>p5",
                "1>p1",
                "…",
                "4>p4",
                "5>p5",
                "6",
                "7>p7",
                "8>p8",
                "…",
                "20>p20",
                "下一页>p7"
            ]
        );
        let first = Pager::of(1, 3 * LIST_ROWS, &name);
        assert_eq!(links(&first), ["上一页", "1", "2>p2", "3>p3", "下一页>p2"]);
        let rows: Vec<Vec<String>> = (0..2 * LIST_ROWS + 5)
            .map(|i| vec![i.to_string()])
            .collect();
        let last = Pager::of(3, rows.len(), &name);
        assert_eq!(last.rows(&rows).len(), 5);
        assert_eq!(last.rows(&rows)[0][0], (2 * LIST_ROWS).to_string());
        assert_eq!(links(&last).last().map(String::as_str), Some("下一页"));
        // An empty list is one page with nothing on it.
        let empty = Pager::of(1, 0, &name);
        assert_eq!((empty.pages, empty.rows(&rows[..0]).len()), (1, 0));
    }
}
