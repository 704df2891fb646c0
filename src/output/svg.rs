//! Small, dependency-free SVG bar charts for reports: horizontal bars (one or more series per
//! row, long Chinese labels on the left) and vertical bars (months, histograms).

use std::fmt::Write as _;

use crate::output::doc::esc;

/// One series of a bar chart: its name (legend), colour and one value per row.
#[derive(Debug, Clone)]
pub(crate) struct Series {
    pub name: String,
    pub color: String,
    pub values: Vec<f64>,
}

const FONT: &str = "font-family=\"'Microsoft YaHei','PingFang SC','Noto Sans CJK SC',sans-serif\"";

/// Width in px of a label at 12px: CJK characters count double.
fn text_width(s: &str) -> f64 {
    s.chars()
        .map(|c| if c.is_ascii() { 7.0 } else { 12.5 })
        .sum()
}

fn nice_max(max: f64) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        return 1.0;
    }
    let mag = 10f64.powf(max.log10().floor());
    for step in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if step * mag >= max {
            return step * mag;
        }
    }
    10.0 * mag
}

/// Horizontal bars: one group per label, one bar per series. `scale_max` fixes the axis end
/// (e.g. 1.0 for ratios); `fmt` writes a value at the end of its bar and on the axis.
pub(crate) fn hbars(
    labels: &[String],
    series: &[Series],
    scale_max: Option<f64>,
    fmt: &dyn Fn(f64) -> String,
) -> String {
    let label_w = labels
        .iter()
        .map(|l| text_width(l))
        .fold(60.0, f64::max)
        .min(320.0)
        + 10.0;
    let plot_w = 420.0;
    let bar_h = 14.0;
    let group_h = bar_h * series.len().max(1) as f64 + 10.0;
    let legend_h = if series.len() > 1 { 24.0 } else { 0.0 };
    let top = 10.0 + legend_h;
    let height = top + group_h * labels.len().max(1) as f64 + 30.0;
    let width = label_w + plot_w + 70.0;
    let max = scale(series, scale_max);
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width:.0} {height:.0}\" width=\"{width:.0}\" height=\"{height:.0}\" {FONT} font-size=\"12\" role=\"img\">"
    );
    if series.len() > 1 {
        legend(&mut s, series, label_w);
    }
    // Axis with 5 ticks.
    let axis_y = top + group_h * labels.len().max(1) as f64;
    for i in 0..=4 {
        let v = max * f64::from(i) / 4.0;
        let x = label_w + plot_w * f64::from(i) / 4.0;
        let _ = write!(
            s,
            "<line x1=\"{x:.1}\" y1=\"{top:.0}\" x2=\"{x:.1}\" y2=\"{axis_y:.0}\" stroke=\"#ddd\"/><text x=\"{x:.1}\" y=\"{:.0}\" text-anchor=\"middle\" fill=\"#555\">{}</text>",
            axis_y + 16.0,
            esc(&fmt(v))
        );
    }
    for (i, label) in labels.iter().enumerate() {
        let gy = top + group_h * i as f64;
        let _ = write!(
            s,
            "<text x=\"{:.0}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            label_w - 8.0,
            gy + group_h / 2.0 + 4.0,
            esc(label)
        );
        for (j, se) in series.iter().enumerate() {
            let v = se.values.get(i).copied().unwrap_or(0.0);
            let w = (plot_w * v / max).clamp(0.0, plot_w);
            let y = gy + 5.0 + bar_h * j as f64;
            let _ = write!(
                s,
                "<rect x=\"{label_w:.0}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"{}\"><title>{}: {}</title></rect><text x=\"{:.1}\" y=\"{:.1}\" fill=\"#333\">{}</text>",
                bar_h - 2.0,
                esc(&se.color),
                esc(&se.name),
                esc(&fmt(v)),
                label_w + w + 4.0,
                y + bar_h - 4.0,
                esc(&fmt(v))
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// The top of the value axis: `scale_max` or a round number above the data, never below the data.
fn scale(series: &[Series], scale_max: Option<f64>) -> f64 {
    let data_max = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .fold(0.0, f64::max);
    let max = scale_max
        .unwrap_or_else(|| nice_max(data_max))
        .max(data_max);
    if max <= 0.0 { 1.0 } else { max }
}

/// A legend row of the series' colours and names, starting at `x0`.
fn legend(s: &mut String, series: &[Series], x0: f64) {
    let mut x = x0;
    for se in series {
        let _ = write!(
            s,
            "<rect x=\"{x:.0}\" y=\"8\" width=\"12\" height=\"12\" fill=\"{}\"/><text x=\"{:.0}\" y=\"18\">{}</text>",
            esc(&se.color),
            x + 16.0,
            esc(&se.name)
        );
        x += 30.0 + text_width(&se.name);
    }
}

/// Vertical bars, one per label, with the value above each bar.
pub(crate) fn vbars(labels: &[String], values: &[f64], color: &str) -> String {
    let n = labels.len().max(1) as f64;
    let slot = (560.0 / n).clamp(18.0, 60.0);
    let plot_h = 180.0;
    let left: f64 = 40.0;
    let top = 20.0;
    // Labels wider than their bar's slot (ranges, "38001–40000") are turned to read upwards.
    let longest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0) as f64;
    let turned = longest * 7.0 > slot * 0.95;
    let below = if turned {
        16.0 + longest * 7.0 * 0.6
    } else {
        40.0
    };
    let width = left.max(if turned { longest * 7.0 * 0.8 } else { 0.0 }) + slot * n + 20.0;
    let left = width - slot * n - 20.0;
    let height = top + plot_h + below;
    let data_max = values.iter().copied().fold(0.0, f64::max);
    let max = nice_max(data_max);
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width:.0} {height:.0}\" width=\"{width:.0}\" height=\"{height:.0}\" {FONT} font-size=\"12\" role=\"img\">"
    );
    let base = top + plot_h;
    for i in 0..=4 {
        let v = max * f64::from(i) / 4.0;
        let y = base - plot_h * f64::from(i) / 4.0;
        let _ = write!(
            s,
            "<line x1=\"{left:.0}\" y1=\"{y:.1}\" x2=\"{:.0}\" y2=\"{y:.1}\" stroke=\"#ddd\"/><text x=\"{:.0}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#555\">{}</text>",
            width - 10.0,
            left - 4.0,
            y + 4.0,
            trim_num(v)
        );
    }
    for (i, label) in labels.iter().enumerate() {
        let v = values.get(i).copied().unwrap_or(0.0);
        let h = plot_h * v / max;
        let x = left + slot * i as f64 + slot * 0.15;
        let w = slot * 0.7;
        let _ = write!(
            s,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" fill=\"{}\"><title>{}: {}</title></rect>\
<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#333\">{}</text>\
{}",
            base - h,
            esc(color),
            esc(label),
            trim_num(v),
            x + w / 2.0,
            base - h - 4.0,
            trim_num(v),
            axis_label(label, x + w / 2.0, base, turned),
        );
    }
    s.push_str("</svg>");
    s
}

/// A bar's label under the axis at `base`, centred on `x`, or turned to read upwards and ending
/// there.
fn axis_label(label: &str, x: f64, base: f64, turned: bool) -> String {
    if turned {
        let y = base + 12.0;
        return format!(
            "<text x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"end\" transform=\"rotate(-35 {x:.1} {y:.1})\">{}</text>",
            esc(label)
        );
    }
    format!(
        "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
        base + 16.0,
        esc(label)
    )
}

/// A number without a useless fraction.
fn trim_num(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// A ratio as a percentage with up to one decimal: 0.05 → "5%", 0.0637 → "6.4%".
pub fn percent(v: f64) -> String {
    let p = v * 100.0;
    if (p - p.round()).abs() < 0.05 {
        format!("{:.0}%", p.round())
    } else {
        format!("{p:.1}%")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_well_formed_and_escaped() {
        let h = hbars(
            &["旅馆业<监督>".to_string(), "枪支".to_string()],
            &[
                Series {
                    name: "应抽".into(),
                    color: "#999".into(),
                    values: vec![0.05, 1.0],
                },
                Series {
                    name: "实际".into(),
                    color: "#36c".into(),
                    values: vec![0.04, 0.8],
                },
            ],
            Some(1.0),
            &percent,
        );
        assert!(h.starts_with("<svg") && h.ends_with("</svg>"));
        assert!(h.contains("旅馆业&lt;监督&gt;"));
        assert!(h.contains(">80%<"));
        let v = vbars(&["1月".into(), "2月".into()], &[3.0, 0.0], "#36c");
        assert_eq!(v.matches("<rect").count(), 2);
        assert_eq!(percent(0.0637), "6.4%");
        assert_eq!(percent(0.05), "5%");
        assert_eq!(nice_max(7.0), 10.0);
        assert_eq!(nice_max(16.0), 20.0);
    }
}
