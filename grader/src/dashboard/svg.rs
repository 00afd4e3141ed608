//! The dashboard's charts as inline SVG (no script, no font or file to fetch): the score
//! histogram and the bar of one share. Drawn here rather than by a plotting crate: two
//! charts of rectangles and labels are a few lines, and maud escapes their text.

use maud::{html, Markup};

use super::stats::Bin;

/// Size of the histogram's drawing area, in SVG units (it scales to the page's width).
const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 200.0;
/// Room left for the labels under the bars and the counts above them.
const BOTTOM: f64 = 24.0;
const TOP: f64 = 18.0;
const LEFT: f64 = 8.0;

/// A bin's label: its score, or its range.
pub fn bin_label(b: &Bin) -> String {
    if b.lo == b.hi {
        b.lo.to_string()
    } else {
        format!("{}–{}", b.lo, b.hi)
    }
}

/// The score histogram: one `rect.bar` per bin (its count in `data-count`), the count
/// above it and the score under it.
pub fn histogram(bins: &[Bin], caption: &str) -> Markup {
    let most = bins.iter().map(|b| b.count).max().unwrap_or(0).max(1) as f64;
    let slot = (WIDTH - 2.0 * LEFT) / bins.len().max(1) as f64;
    let plot = HEIGHT - BOTTOM - TOP;
    let base = HEIGHT - BOTTOM;
    html! {
        svg.histogram viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } role="img" aria-label=(caption)
            xmlns="http://www.w3.org/2000/svg" {
            title { (caption) }
            line.axis x1=(LEFT) y1=(base) x2=(WIDTH - LEFT) y2=(base) {}
            @for (i, b) in bins.iter().enumerate() {
                @let h = plot * b.count as f64 / most;
                @let x = LEFT + slot * i as f64;
                @let mid = x + slot / 2.0;
                g {
                    rect.bar x=(fmt(x + slot * 0.1)) y=(fmt(base - h)) width=(fmt(slot * 0.8))
                        height=(fmt(h)) data-count=(b.count) data-score=(bin_label(b)) {
                        title { (bin_label(b)) " points: " (b.count) " student(s)" }
                    }
                    @if b.count > 0 {
                        text.count x=(fmt(mid)) y=(fmt(base - h - 4.0)) text-anchor="middle" { (b.count) }
                    }
                    text.tick x=(fmt(mid)) y=(fmt(base + 16.0)) text-anchor="middle" { (bin_label(b)) }
                }
            }
        }
    }
}

/// A horizontal bar filled to `ratio` (0–1), for a share of students.
pub fn meter(ratio: f64, label: &str) -> Markup {
    let ratio = ratio.clamp(0.0, 1.0);
    html! {
        svg.meter viewBox="0 0 100 10" preserveAspectRatio="none" role="img" aria-label=(label)
            xmlns="http://www.w3.org/2000/svg" {
            rect.track x="0" y="0" width="100" height="10" {}
            rect.fill x="0" y="0" width=(fmt(ratio * 100.0)) height="10" data-ratio=(fmt(ratio)) {}
        }
    }
}

/// A coordinate with two decimals at most, so the page stays small and stable.
fn fmt(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tallest_bar_fills_the_plot_and_empty_bins_have_no_height() {
        let bins = [
            Bin {
                lo: 0,
                hi: 0,
                count: 0,
            },
            Bin {
                lo: 1,
                hi: 2,
                count: 4,
            },
        ];
        let svg = histogram(&bins, "scores").into_string();
        assert_eq!(svg.matches("<rect class=\"bar\"").count(), 2, "{svg}");
        assert!(
            svg.contains("height=\"158\" data-count=\"4\" data-score=\"1–2\""),
            "{svg}"
        );
        assert!(svg.contains("height=\"0\" data-count=\"0\""), "{svg}");
    }

    #[test]
    fn coordinates_are_short() {
        assert_eq!(fmt(12.0), "12");
        assert_eq!(fmt(1.0 / 3.0), "0.33");
        assert_eq!(fmt(2.5), "2.5");
    }
}
