//! A small document model that every printed output is built in, rendered to Markdown,
//! standalone HTML and DOCX by one renderer each.

use std::fmt::Write as _;
use std::io::Cursor;

use docx_rs::{
    AlignmentType, BreakType, Docx, Footer, LineSpacing, PageMargin, PageNum, Paragraph, Run,
    RunFonts, SpecialIndentType, Style, StyleType, Table, TableCell, TableLayoutType, TableRow,
    WidthType,
};

/// One block of a document.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Title(String),
    /// A centred line under the title (issuer, date).
    Subtitle(String),
    /// Level 1..=3.
    Heading(u8, String),
    Paragraph(String),
    /// Numbered items ("1、…").
    Numbered(Vec<String>),
    Bullets(Vec<String>),
    Table {
        header: Vec<String>,
        rows: Vec<Vec<String>>,
    },
    /// Raw SVG (HTML only; other formats get the caption).
    Svg {
        svg: String,
        caption: String,
    },
    PageBreak,
    /// A line of links, each its text and where it goes (`None`: plain text): the pages of a
    /// long list.
    Links(Vec<(String, Option<String>)>),
    /// The 落款 closing a document: the issuing body and the date, right-aligned (HTML and
    /// DOCX; the Markdown form is the plan's reviewable text and leaves it out).
    Signature {
        issuer: String,
        date: String,
    },
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Document {
    pub title: String,
    pub blocks: Vec<Block>,
    /// The issuing body and the date of issue (DOCX document properties: author, created).
    pub issuer: Option<(String, chrono::NaiveDate)>,
}

impl Document {
    pub fn new(title: impl Into<String>) -> Document {
        Document {
            title: title.into(),
            blocks: Vec::new(),
            issuer: None,
        }
    }

    pub fn push(&mut self, b: Block) -> &mut Self {
        self.blocks.push(b);
        self
    }

    pub fn heading(&mut self, level: u8, text: impl Into<String>) -> &mut Self {
        self.push(Block::Heading(level, text.into()))
    }

    pub(crate) fn para(&mut self, text: impl Into<String>) -> &mut Self {
        self.push(Block::Paragraph(text.into()))
    }

    pub fn table(&mut self, header: &[&str], rows: Vec<Vec<String>>) -> &mut Self {
        self.push(Block::Table {
            header: header.iter().map(|s| (*s).to_string()).collect(),
            rows,
        })
    }
}

/// The output formats of printed documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Md,
    Html,
    Docx,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Md => "md",
            Format::Html => "html",
            Format::Docx => "docx",
        }
    }
}

/// Renders in the given format.
pub fn render(doc: &Document, format: Format) -> Result<Vec<u8>, String> {
    match format {
        Format::Md => Ok(markdown(doc).into_bytes()),
        Format::Html => Ok(html(doc).into_bytes()),
        Format::Docx => docx(doc),
    }
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', "<br>")
}

pub(crate) fn markdown(doc: &Document) -> String {
    let mut out = String::new();
    for b in &doc.blocks {
        match b {
            Block::Title(t) => {
                let _ = writeln!(out, "# {t}\n");
            }
            Block::Subtitle(t) => {
                let _ = writeln!(out, "*{t}*\n");
            }
            Block::Heading(level, t) => {
                let _ = writeln!(
                    out,
                    "{} {t}\n",
                    "#".repeat(usize::from(*level).clamp(1, 3) + 1)
                );
            }
            Block::Paragraph(t) => {
                let _ = writeln!(out, "{t}\n");
            }
            Block::Numbered(items) => {
                for (i, item) in items.iter().enumerate() {
                    let _ = writeln!(out, "{}. {item}", i + 1);
                }
                out.push('\n');
            }
            Block::Bullets(items) => {
                for item in items {
                    let _ = writeln!(out, "- {item}");
                }
                out.push('\n');
            }
            Block::Links(links) => {
                let _ = writeln!(
                    out,
                    "{}\n",
                    links_text(links, &|t, to| format!("[{t}]({to})"))
                );
            }
            Block::Table { header, rows } => {
                let _ = writeln!(
                    out,
                    "| {} |",
                    header
                        .iter()
                        .map(|h| md_cell(h))
                        .collect::<Vec<_>>()
                        .join(" | ")
                );
                let _ = writeln!(out, "|{}|", vec!["---"; header.len()].join("|"));
                for r in rows {
                    let _ = writeln!(
                        out,
                        "| {} |",
                        r.iter().map(|c| md_cell(c)).collect::<Vec<_>>().join(" | ")
                    );
                }
                out.push('\n');
            }
            Block::Svg { caption, .. } => {
                let _ = writeln!(out, "*{caption}（图表见 HTML 版）*\n");
            }
            Block::PageBreak => out.push_str("\n---\n\n"),
            Block::Signature { .. } => {}
        }
    }
    out
}

/// Escapes text for HTML.
/// About how long `doc`'s HTML is: its tables' cells and markup, the rest's text. A public
/// list of a national draw's district is tens of megabytes, made without being copied as it
/// grows.
fn html_len(doc: &Document) -> usize {
    let cells = |cells: &[String]| cells.iter().map(|c| c.len() + 9).sum::<usize>() + 10;
    let blocks: usize = doc
        .blocks
        .iter()
        .map(|b| match b {
            Block::Table { header, rows } => {
                cells(header) + rows.iter().map(|r| cells(r)).sum::<usize>() + 64
            }
            Block::Svg { svg, caption } => svg.len() + caption.len() + 64,
            _ => 256,
        })
        .sum();
    CSS.len() + 512 + blocks
}

/// A table's HTML, its cells escaped.
fn table(out: &mut String, header: &[String], rows: &[Vec<String>]) {
    out.push_str("<table>\n<thead><tr>");
    cells(out, ("<th>", "</th>"), header);
    out.push_str("</tr></thead>\n<tbody>\n");
    for r in rows {
        out.push_str("<tr>");
        cells(out, ("<td>", "</td>"), r);
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

/// Each of `cells` escaped between the tags `open` and `close`.
fn cells(out: &mut String, (open, close): (&str, &str), cells: &[String]) {
    for c in cells {
        out.push_str(open);
        out.push_str(&esc(c));
        out.push_str(close);
    }
}

/// The bytes [`esc`] escapes.
const ESCAPED: [bool; 256] = {
    let mut t = [false; 256];
    t[b'&' as usize] = true;
    t[b'<' as usize] = true;
    t[b'>' as usize] = true;
    t[b'"' as usize] = true;
    t[b'\'' as usize] = true;
    t
};

pub(crate) fn esc(s: &str) -> std::borrow::Cow<'_, str> {
    // Most cells need nothing escaped: they are lent as they are, not copied. Looked for
    // byte by byte (the five are ASCII, so never part of a longer character): a search by
    // character decoded every character of a national draw's 200 MB of pages.
    let Some(first) = s.bytes().position(|b| ESCAPED[usize::from(b)]) else {
        return std::borrow::Cow::Borrowed(s);
    };
    let mut o = String::with_capacity(s.len() + 16);
    o.push_str(&s[..first]);
    for c in s[first..].chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    std::borrow::Cow::Owned(o)
}

const CSS: &str = "body{font-family:'FangSong','仿宋_GB2312','仿宋','STFangsong','Noto Serif CJK SC','Songti SC',serif;font-size:16pt;line-height:1.75;max-width:48em;margin:2em auto;padding:0 1.5em;color:#111}\
h1{font-family:'方正小标宋简体','SimSun','宋体','Noto Serif CJK SC',serif;font-size:22pt;text-align:center;font-weight:normal;margin:1em 0 .3em}\
.sub{text-align:center;margin:0 0 1.5em}\
h2{font-family:'SimHei','黑体','Noto Sans CJK SC',sans-serif;font-size:16pt;margin:1.2em 0 .4em}\
h3{font-family:'KaiTi','楷体_GB2312','楷体',serif;font-size:16pt;margin:1em 0 .3em}\
h4{font-size:16pt;margin:.8em 0 .2em}\
p{text-indent:2em;margin:.3em 0}\
table{border-collapse:collapse;width:100%;font-size:11pt;line-height:1.4;margin:.6em 0}\
th,td{border:1px solid #444;padding:.25em .4em;vertical-align:top}th{background:#eee}\
figure{margin:1em 0}figcaption{text-align:center;font-size:12pt}\
p.sig{text-indent:0;text-align:right;margin:2em 2em 0 0}\
@media print{body{margin:0;max-width:none}.pb{page-break-after:always}}";

pub fn html(doc: &Document) -> String {
    let mut out = String::with_capacity(html_len(doc));
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        esc(&doc.title)
    );
    for b in &doc.blocks {
        match b {
            Block::Title(t) => {
                let _ = writeln!(out, "<h1>{}</h1>", esc(t));
            }
            Block::Subtitle(t) => {
                let _ = writeln!(out, "<p class=\"sub\">{}</p>", esc(t));
            }
            Block::Heading(level, t) => {
                let l = usize::from(*level).clamp(1, 3) + 1;
                let _ = writeln!(out, "<h{l}>{}</h{l}>", esc(t));
            }
            Block::Paragraph(t) => {
                let _ = writeln!(out, "<p>{}</p>", esc(t));
            }
            Block::Numbered(items) => {
                out.push_str("<ol>\n");
                for i in items {
                    let _ = writeln!(out, "<li>{}</li>", esc(i));
                }
                out.push_str("</ol>\n");
            }
            Block::Bullets(items) => {
                out.push_str("<ul>\n");
                for i in items {
                    let _ = writeln!(out, "<li>{}</li>", esc(i));
                }
                out.push_str("</ul>\n");
            }
            Block::Links(links) => {
                let text: Vec<String> = links
                    .iter()
                    .map(|(t, to)| match to {
                        Some(to) => format!("<a href=\"{}\">{}</a>", esc(to), esc(t)),
                        None => esc(t).to_string(),
                    })
                    .collect();
                let _ = writeln!(out, "<p class=\"links\">{}</p>", text.join(" "));
            }
            Block::Table { header, rows } => table(&mut out, header, rows),
            Block::Svg { svg, caption } => {
                let _ = writeln!(
                    out,
                    "<figure>{svg}<figcaption>{}</figcaption></figure>",
                    esc(caption)
                );
            }
            Block::PageBreak => out.push_str("<div class=\"pb\"></div>\n"),
            Block::Signature { issuer, date } => {
                let _ = writeln!(out, "<p class=\"sig\">{}<br>{}</p>", esc(issuer), esc(date));
            }
        }
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// DOCX in the style of official documents: 小标宋 title, 黑体/楷体 headings, 仿宋 body, A4,
/// page numbers in the footer (a PAGE field, "— 1 —"), heading styles with outline levels (the
/// navigation pane and a table of contents find them), table header rows repeated on every
/// page, and the document's title, author and date in its properties.
pub fn docx(doc: &Document) -> Result<Vec<u8>, String> {
    let mut d = Docx::new()
        .page_size(11906, 16838)
        .page_margin(
            PageMargin::new()
                .top(2098)
                .bottom(1984)
                .left(1587)
                .right(1474),
        )
        .default_fonts(fonts(BODY_FONT))
        .default_size(32)
        .default_line_spacing(
            LineSpacing::new()
                .line(560)
                .line_rule(docx_rs::LineSpacingType::Exact),
        )
        .footer(page_number_footer());
    for style in heading_styles() {
        d = d.add_style(style);
    }
    for b in &doc.blocks {
        d = docx_block(d, b);
    }
    let mut xml = d.build();
    xml.document = references_first(&repeat_header_rows(&xml.document));
    xml.doc_props.core = core_properties(doc).into_bytes();
    let mut buf = Cursor::new(Vec::new());
    xml.pack(&mut buf)
        .map_err(|e| format!("cannot write DOCX: {e}"))?;
    Ok(buf.into_inner())
}

/// "— 1 —" centred at the foot of every page, the number a PAGE field.
fn page_number_footer() -> Footer {
    let dash = |t: &str| run(t, fonts(BODY_FONT), 28);
    Footer::new().add_paragraph(
        Paragraph::new()
            .align(AlignmentType::Center)
            .add_run(dash("— "))
            .add_page_num(PageNum::new())
            .add_run(dash(" —")),
    )
}

/// Heading 1–3 (style ids `Heading1`…, names `heading 1`…, outline levels 0–2): 黑体, 楷体,
/// bold 仿宋, as official documents set their section headings.
fn heading_styles() -> Vec<Style> {
    [
        (1, H1_FONT, false),
        (2, H2_FONT, false),
        (3, BODY_FONT, true),
    ]
    .into_iter()
    .map(|(level, font, bold)| {
        let s = Style::new(format!("Heading{level}"), StyleType::Paragraph)
            .name(format!("heading {level}"))
            .based_on("Normal")
            .next("Normal")
            .q_format(true)
            .outline_lvl(level - 1)
            .fonts(fonts(font))
            .size(32);
        if bold { s.bold() } else { s }
    })
    .collect()
}

/// Marks every table's header row to repeat at the top of each page (`w:tblHeader`). Header
/// rows are the only rows written with `w:cantSplit` (docx-rs cannot write `w:tblHeader`
/// itself), so each of those gets both.
fn repeat_header_rows(document: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(document)
        .replace("<w:cantSplit />", "<w:cantSplit /><w:tblHeader />")
        .into_bytes()
}

/// Puts the section's footer reference first in `w:sectPr`, where the schema wants it (docx-rs
/// writes it after the page size and margins).
fn references_first(document: &[u8]) -> Vec<u8> {
    let mut doc = String::from_utf8_lossy(document).into_owned();
    if let Some(sect) = doc.rfind("<w:sectPr>")
        && let Some(at) = doc[sect..].find("<w:footerReference ").map(|i| sect + i)
        && let Some(end) = doc[at..].find("/>").map(|i| at + i + 2)
    {
        let reference = doc[at..end].to_string();
        doc.replace_range(at..end, "");
        doc.insert_str(sect + "<w:sectPr>".len(), &reference);
    }
    doc.into_bytes()
}

/// `docProps/core.xml`: title, author (the issuing body) and date of issue.
fn core_properties(doc: &Document) -> String {
    let (author, created) = match &doc.issuer {
        Some((who, day)) => (who.as_str(), format!("{day}T00:00:00Z")),
        None => ("", "1970-01-01T00:00:00Z".to_string()),
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\
<cp:coreProperties xmlns:cp=\"http://schemas.openxmlformats.org/package/2006/metadata/core-properties\" \
xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:dcterms=\"http://purl.org/dc/terms/\" \
xmlns:dcmitype=\"http://purl.org/dc/dcmitype/\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\
<dc:title>{title}</dc:title><dc:creator>{author}</dc:creator><cp:lastModifiedBy>{author}</cp:lastModifiedBy>\
<dcterms:created xsi:type=\"dcterms:W3CDTF\">{created}</dcterms:created>\
<dcterms:modified xsi:type=\"dcterms:W3CDTF\">{created}</dcterms:modified>\
<cp:revision>1</cp:revision><dc:language>zh-CN</dc:language></cp:coreProperties>",
        title = esc(&doc.title),
        author = esc(author),
    )
}

const BODY_FONT: &str = "仿宋_GB2312";
const TITLE_FONT: &str = "方正小标宋简体";
const H1_FONT: &str = "黑体";
const H2_FONT: &str = "楷体_GB2312";

/// An official-document font for Chinese text, Times New Roman for Latin text.
fn fonts(east_asia: &str) -> RunFonts {
    RunFonts::new()
        .east_asia(east_asia)
        .ascii("Times New Roman")
        .hi_ansi("Times New Roman")
}

/// A run of text. Sizes are in half-points: 二号 22pt = 44, 三号 16pt = 32, 五号 10.5pt = 21.
fn run(t: &str, fonts: RunFonts, size: usize) -> Run {
    Run::new().add_text(t).fonts(fonts).size(size)
}

/// Adds one block to the document.
fn docx_block(d: Docx, b: &Block) -> Docx {
    match b {
        Block::Title(t) => d.add_paragraph(
            Paragraph::new()
                .align(AlignmentType::Center)
                .add_run(run(t, fonts(TITLE_FONT), 44)),
        ),
        Block::Subtitle(t) => d.add_paragraph(
            Paragraph::new()
                .align(AlignmentType::Center)
                .add_run(run(t, fonts(BODY_FONT), 32)),
        ),
        Block::Heading(level, t) => d.add_paragraph(heading(*level, t)),
        Block::Paragraph(t) => d.add_paragraph(indented().add_run(run(t, fonts(BODY_FONT), 32))),
        Block::Numbered(items) => {
            let mut d = d;
            for (i, item) in items.iter().enumerate() {
                d = d.add_paragraph(indented().add_run(run(
                    &format!("{}、{item}", i + 1),
                    fonts(BODY_FONT),
                    32,
                )));
            }
            d
        }
        Block::Bullets(items) => {
            let mut d = d;
            for item in items {
                d = d.add_paragraph(indented().add_run(run(
                    &format!("· {item}"),
                    fonts(BODY_FONT),
                    32,
                )));
            }
            d
        }
        Block::Links(links) => d.add_paragraph(indented().add_run(run(
            &links_text(links, &|t, _| t.to_string()),
            fonts(BODY_FONT),
            32,
        ))),
        Block::Table { header, rows } => d.add_table(docx_table(header, rows)),
        Block::Svg { caption, .. } => {
            d.add_paragraph(Paragraph::new().align(AlignmentType::Center).add_run(run(
                &format!("（{caption}：图表见 HTML 版）"),
                fonts(BODY_FONT),
                24,
            )))
        }
        Block::PageBreak => {
            d.add_paragraph(Paragraph::new().add_run(Run::new().add_break(BreakType::Page)))
        }
        Block::Signature { issuer, date } => signature(d, issuer, date),
    }
}

/// The first-line indent of body text: two characters of 三号 (16 pt), in twentieths of a
/// point. (docx-rs reads `w:firstLineChars` but does not write it.)
const FIRST_LINE: i32 = 2 * 16 * 20;

/// A body paragraph, its first line indented two characters.
fn indented() -> Paragraph {
    Paragraph::new().indent(
        None,
        Some(SpecialIndentType::FirstLine(FIRST_LINE)),
        None,
        None,
    )
}

/// A heading in its style (`Heading1`…`Heading3`), kept with the paragraph after it.
fn heading(level: u8, t: &str) -> Paragraph {
    let level = level.clamp(1, 3);
    let (fonts, bold) = match level {
        1 => (fonts(H1_FONT), false),
        2 => (fonts(H2_FONT), false),
        _ => (fonts(BODY_FONT), true),
    };
    let mut r = run(t, fonts, 32);
    if bold {
        r = r.bold();
    }
    Paragraph::new()
        .style(&format!("Heading{level}"))
        .indent(
            None,
            Some(SpecialIndentType::FirstLine(FIRST_LINE)),
            None,
            None,
        )
        .keep_next(true)
        .add_run(r)
}

/// The 落款: after an empty line, the issuing body and the date, right-aligned four
/// characters in from the right margin.
fn signature(d: Docx, issuer: &str, date: &str) -> Docx {
    let line = |t: &str| {
        Paragraph::new()
            .align(AlignmentType::Right)
            .indent(None, None, Some(1280), None)
            .add_run(run(t, fonts(BODY_FONT), 32))
    };
    d.add_paragraph(Paragraph::new())
        .add_paragraph(line(issuer))
        .add_paragraph(line(date))
}

/// Usable width of an A4 page between the margins, in twentieths of a point.
const TEXT_WIDTH: usize = 11906 - 1587 - 1474;

/// Width of a text in half-characters: a CJK character counts two, an ASCII one one.
fn half_chars(s: &str) -> usize {
    s.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum()
}

/// The narrowest a cell may be without breaking what should not break, in half-characters:
/// its longest run of ASCII letters and digits (a date, a code, a percentage) and at most
/// two CJK characters.
fn unbreakable(s: &str) -> usize {
    let longest_ascii = s
        .split(|c: char| !c.is_ascii() || c.is_ascii_whitespace())
        .map(str::len)
        .max()
        .unwrap_or(0);
    longest_ascii.max(half_chars(s).min(4))
}

/// Twentieths of a point a cell needs for `half` half-characters of 10.5-point text, plus
/// the cell's left and right margins.
fn cell_twips(half: usize) -> usize {
    half * 105 + 230
}

/// Column widths filling the text width. Each column first gets what its unbreakable
/// content needs (a short header such as 序号 or 频次 whole, a date on one line); what
/// is left goes to the columns in proportion to how much more their longest text would
/// need, so long descriptions wrap and short values don't.
fn column_widths(header: &[String], rows: &[Vec<String>]) -> Vec<usize> {
    let column = |i: usize| {
        rows.iter()
            .filter_map(move |r| r.get(i))
            .chain(header.get(i))
            .map(String::as_str)
    };
    let header_min = |i: usize| header.get(i).map_or(0, |h| half_chars(h).min(8));
    let minimum: Vec<usize> = (0..header.len())
        .map(|i| {
            let cells = column(i).map(unbreakable).max().unwrap_or(0);
            cell_twips(cells.max(header_min(i)))
        })
        .collect();
    let natural: Vec<usize> = (0..header.len())
        .map(|i| cell_twips(column(i).map(half_chars).max().unwrap_or(0).min(60)))
        .zip(&minimum)
        .map(|(n, m)| n.max(*m))
        .collect();
    let spread = |base: &[usize], extra: &[usize], room: usize| -> Vec<usize> {
        let total = extra.iter().sum::<usize>().max(1);
        base.iter()
            .zip(extra)
            .map(|(b, e)| b + room * e / total)
            .collect()
    };
    let min_total: usize = minimum.iter().sum();
    let natural_total: usize = natural.iter().sum();
    if natural_total <= TEXT_WIDTH {
        spread(&natural, &natural, TEXT_WIDTH - natural_total)
    } else if min_total <= TEXT_WIDTH {
        let wanting: Vec<usize> = natural.iter().zip(&minimum).map(|(n, m)| n - m).collect();
        spread(&minimum, &wanting, TEXT_WIDTH - min_total)
    } else {
        let zero = vec![0; minimum.len()];
        spread(&zero, &minimum, TEXT_WIDTH)
    }
}

fn docx_table(header: &[String], rows: &[Vec<String>]) -> Table {
    let widths = column_widths(header, rows);
    let cell = |t: &str, bold: bool, w: usize| {
        let mut r = run(t, fonts(BODY_FONT), 21);
        if bold {
            r = r.bold();
        }
        TableCell::new().width(w, WidthType::Dxa).add_paragraph(
            Paragraph::new()
                .line_spacing(LineSpacing::new().line(300))
                .add_run(r),
        )
    };
    let cells = |texts: &[String], bold: bool| -> Vec<TableCell> {
        texts
            .iter()
            .zip(&widths)
            .map(|(t, w)| cell(t, bold, *w))
            .collect()
    };
    // The header row repeats on every page (see `repeat_header_rows`).
    let mut trs = vec![TableRow::new(cells(header, true)).cant_split()];
    for r in rows {
        trs.push(TableRow::new(cells(r, false)));
    }
    Table::new(trs)
        .set_grid(widths.clone())
        .layout(TableLayoutType::Fixed)
        .width(TEXT_WIDTH, WidthType::Dxa)
}

/// A line of links as text, each link made by `link` (text, address), plain texts as they are,
/// separated by spaces.
fn links_text(links: &[(String, Option<String>)], link: &dyn Fn(&str, &str) -> String) -> String {
    links
        .iter()
        .map(|(text, to)| match to {
            Some(to) => link(text, to),
            None => text.clone(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn escaping_finds_the_five_among_any_characters() {
        assert!(matches!(
            esc("平邑县宾馆 No.1"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(
            esc("旅馆<甲>&\"乙\"'丙'𝄞"),
            "旅馆&lt;甲&gt;&amp;&quot;乙&quot;&#39;丙&#39;𝄞"
        );
        assert_eq!(esc("&"), "&amp;");
        assert_eq!(esc(""), "");
    }

    #[test]
    fn short_headers_and_dates_keep_their_line_and_the_table_fills_the_page() {
        let header = strings(&crate::output::plan::SCHEDULE_COLUMNS);
        let rows = vec![strings(&[
            "19",
            "2023-07-03",
            "旅馆业（宾馆、旅店）监督检查",
            "2023年下半年",
            "定期",
            "5%（全部）",
            "2023-07-01 至 2023-12-29",
            "2024-01-29",
        ])];
        let widths = column_widths(&header, &rows);
        let total: usize = widths.iter().sum();
        assert!(
            total <= TEXT_WIDTH && total + widths.len() >= TEXT_WIDTH,
            "{widths:?}"
        );
        assert!(widths[0] >= cell_twips(4), "序号 on one line: {widths:?}");
        for date in [1, 7] {
            assert!(
                widths[date] >= cell_twips(10),
                "a date on one line: {widths:?}"
            );
        }
        assert!(
            widths[2] > widths[4],
            "the description gets the room: {widths:?}"
        );
    }
}
