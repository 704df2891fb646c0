//! A small document model that every printed output is built in, rendered to Markdown,
//! standalone HTML and DOCX by one renderer each.

use std::fmt::Write as _;
use std::io::Cursor;

use docx_rs::{
    AlignmentType, BreakType, Docx, LineSpacing, PageMargin, Paragraph, Run, RunFonts, Table,
    TableCell, TableRow, WidthType,
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
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Document {
    pub title: String,
    pub blocks: Vec<Block>,
}

impl Document {
    pub fn new(title: impl Into<String>) -> Document {
        Document {
            title: title.into(),
            blocks: Vec::new(),
        }
    }

    pub fn push(&mut self, b: Block) -> &mut Self {
        self.blocks.push(b);
        self
    }

    pub fn heading(&mut self, level: u8, text: impl Into<String>) -> &mut Self {
        self.push(Block::Heading(level, text.into()))
    }

    pub fn para(&mut self, text: impl Into<String>) -> &mut Self {
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

pub fn markdown(doc: &Document) -> String {
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
        }
    }
    out
}

/// Escapes text for HTML.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
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
@media print{body{margin:0;max-width:none}.pb{page-break-after:always}}";

pub fn html(doc: &Document) -> String {
    let mut out = String::new();
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
            Block::Table { header, rows } => {
                out.push_str("<table>\n<thead><tr>");
                for h in header {
                    let _ = write!(out, "<th>{}</th>", esc(h));
                }
                out.push_str("</tr></thead>\n<tbody>\n");
                for r in rows {
                    out.push_str("<tr>");
                    for c in r {
                        let _ = write!(out, "<td>{}</td>", esc(c));
                    }
                    out.push_str("</tr>\n");
                }
                out.push_str("</tbody>\n</table>\n");
            }
            Block::Svg { svg, caption } => {
                let _ = writeln!(
                    out,
                    "<figure>{svg}<figcaption>{}</figcaption></figure>",
                    esc(caption)
                );
            }
            Block::PageBreak => out.push_str("<div class=\"pb\"></div>\n"),
        }
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// DOCX in the style of official documents: 小标宋 title, 黑体/楷体 headings, 仿宋 body, A4.
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
        );
    for b in &doc.blocks {
        d = docx_block(d, b);
    }
    let mut buf = Cursor::new(Vec::new());
    d.build()
        .pack(&mut buf)
        .map_err(|e| format!("cannot write DOCX: {e}"))?;
    Ok(buf.into_inner())
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
        Block::Heading(level, t) => {
            let (fonts, bold) = match level {
                1 => (fonts(H1_FONT), false),
                2 => (fonts(H2_FONT), false),
                _ => (fonts(BODY_FONT), true),
            };
            let mut r = run(t, fonts, 32);
            if bold {
                r = r.bold();
            }
            d.add_paragraph(
                Paragraph::new()
                    .first_line_chars(200)
                    .keep_next(true)
                    .add_run(r),
            )
        }
        Block::Paragraph(t) => d.add_paragraph(
            Paragraph::new()
                .first_line_chars(200)
                .add_run(run(t, fonts(BODY_FONT), 32)),
        ),
        Block::Numbered(items) => {
            let mut d = d;
            for (i, item) in items.iter().enumerate() {
                d = d.add_paragraph(Paragraph::new().first_line_chars(200).add_run(run(
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
                d = d.add_paragraph(Paragraph::new().first_line_chars(200).add_run(run(
                    &format!("· {item}"),
                    fonts(BODY_FONT),
                    32,
                )));
            }
            d
        }
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
    }
}

fn docx_table(header: &[String], rows: &[Vec<String>]) -> Table {
    let cell = |t: &str, bold: bool| {
        let mut r = run(t, fonts(BODY_FONT), 21);
        if bold {
            r = r.bold();
        }
        TableCell::new().add_paragraph(
            Paragraph::new()
                .line_spacing(LineSpacing::new().line(300))
                .add_run(r),
        )
    };
    let mut trs = vec![TableRow::new(
        header.iter().map(|h| cell(h, true)).collect(),
    )];
    for r in rows {
        trs.push(TableRow::new(r.iter().map(|c| cell(c, false)).collect()));
    }
    Table::new(trs).width(5000, WidthType::Pct)
}
