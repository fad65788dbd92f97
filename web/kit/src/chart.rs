//! Horizontal bar charts as inline SVG. Every bar carries its value as text (no information
//! by colour or length alone), the SVG has a title and a description listing all values for
//! screen readers, and the same numbers follow as a table.

use maud::{Markup, html};

use crate::Lang;

/// One bar.
#[derive(Debug, Clone)]
pub struct Bar {
    /// The category.
    pub label: String,
    /// The length.
    pub value: f64,
    /// The value as people read it ("4,2", "3 Organisationen").
    pub shown: String,
}

/// A bar chart.
#[derive(Debug, Clone)]
pub struct BarChart<'a> {
    /// Unique within the page (used for ids).
    pub id: &'a str,
    /// Caption.
    pub title: &'a str,
    /// Header of the label column in the table.
    pub label_header: &'a str,
    /// Header of the value column in the table.
    pub value_header: &'a str,
    /// Scale maximum; the largest value when `None`.
    pub max: Option<f64>,
    /// The bars, in display order.
    pub bars: Vec<Bar>,
}

const WIDTH: f64 = 640.0;
const LABEL_W: f64 = 230.0;
const VALUE_W: f64 = 90.0;
const ROW_H: f64 = 28.0;
const BAR_H: f64 = 18.0;
const MAX_LABEL_CHARS: usize = 32;

fn short(label: &str) -> String {
    if label.chars().count() <= MAX_LABEL_CHARS {
        return label.to_owned();
    }
    let mut s: String = label.chars().take(MAX_LABEL_CHARS - 1).collect();
    s.push('…');
    s
}

/// Renders the chart, or nothing when it has no bars.
pub fn bar_chart(lang: Lang, chart: &BarChart<'_>) -> Markup {
    if chart.bars.is_empty() {
        return html! {};
    }
    let max = chart
        .max
        .unwrap_or_else(|| chart.bars.iter().map(|b| b.value).fold(0.0, f64::max))
        .max(f64::MIN_POSITIVE);
    let height = ROW_H * chart.bars.len() as f64 + 8.0;
    let span = WIDTH - LABEL_W - VALUE_W;
    let desc: Vec<String> = chart
        .bars
        .iter()
        .map(|b| format!("{}: {}", b.label, b.shown))
        .collect();
    let title_id = format!("{}-titel", chart.id);
    let desc_id = format!("{}-beschreibung", chart.id);
    html! {
        figure.chart {
            figcaption id={ (chart.id) "-caption" } { (chart.title) }
            svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby={ (title_id) " " (desc_id) }
                viewBox={ "0 0 " (WIDTH) " " (height) } width="100%" preserveAspectRatio="xMinYMin meet" {
                title id=(title_id) { (chart.title) }
                desc id=(desc_id) { (desc.join("; ")) }
                @for (i, bar) in chart.bars.iter().enumerate() {
                    @let y = 4.0 + ROW_H * i as f64;
                    @let w = (bar.value.max(0.0) / max * span).min(span);
                    text x=(LABEL_W - 8.0) y=(y + BAR_H - 4.0) text-anchor="end" fill="#1b1b1b" font-size="14" { (short(&bar.label)) }
                    rect x=(LABEL_W) y=(y) width=(format!("{w:.1}")) height=(BAR_H) fill="#1a4d8f" {}
                    text x=(LABEL_W + w + 6.0) y=(y + BAR_H - 4.0) fill="#1b1b1b" font-size="14" { (bar.shown) }
                }
            }
            details {
                summary { (lang.tr("Als Tabelle anzeigen")) }
                table {
                    caption.visually-hidden { (chart.title) }
                    thead { tr { th scope="col" { (chart.label_header) } th scope="col" { (chart.value_header) } } }
                    tbody {
                        @for bar in &chart.bars {
                            tr { th scope="row" { (bar.label) } td.num { (bar.shown) } }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(bars: Vec<Bar>) -> String {
        bar_chart(
            Lang::De,
            &BarChart {
                id: "c",
                title: "Nutzung <nach> Land",
                label_header: "Land",
                value_header: "Anzahl",
                max: None,
                bars,
            },
        )
        .into_string()
    }

    #[test]
    fn values_are_text_and_tabled_and_labels_escaped() {
        let html = chart(vec![
            Bar {
                label: "Nordrhein-Westfalen".into(),
                value: 3.0,
                shown: "3".into(),
            },
            Bar {
                label: "<b>Bayern</b>".into(),
                value: 1.0,
                shown: "1".into(),
            },
        ]);
        assert!(html.contains(r#"role="img""#));
        assert!(html.contains("Nordrhein-Westfalen: 3; &lt;b&gt;Bayern&lt;/b&gt;: 1"));
        assert!(html.contains(r#"<th scope="row">Nordrhein-Westfalen</th>"#));
        assert!(!html.contains("<b>"));
        assert!(html.contains("Nutzung &lt;nach&gt; Land"));
        // The largest bar spans the whole bar area; the other one a third of it.
        assert!(html.contains(r#"width="320.0""#), "{html}");
        assert!(html.contains(r#"width="106.7""#), "{html}");
    }

    #[test]
    fn empty_charts_render_nothing_and_long_labels_are_shortened() {
        assert_eq!(chart(vec![]), "");
        let html = chart(vec![Bar {
            label: "x".repeat(100),
            value: 0.0,
            shown: "0".into(),
        }]);
        assert!(html.contains('…'));
        assert!(
            html.contains(&"x".repeat(100)),
            "the table keeps the full label"
        );
    }
}
