//! Charts drawn by the server as inline SVG: no script, no outside library, readable by screen
//! readers. Each chart is an `<svg role="img">` with a `<title>` and a `<desc>` (what it shows,
//! its range and its total), labelled axes, a `<title>` on every bar, and beside it a table of
//! the same numbers, which is also what a reader without images uses.

use chrono::NaiveDate;
use maud::{Markup, html};

use crate::text;

/// The drawing's own coordinates; CSS scales it to the page's width.
const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 36.0;
/// Horizontal grid lines above zero.
const Y_TICKS: i64 = 4;

/// One day's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Point {
    pub day: NaiveDate,
    pub value: i64,
}

/// A daily bar chart and its table. `id` makes the element ids unique on the page; `title`
/// names the figure (`Messages sent`).
pub struct DailyChart<'a> {
    pub id: &'a str,
    pub title: &'a str,
    /// What is counted, in a sentence.
    pub explanation: &'a str,
    pub points: &'a [Point],
}

/// The top of the value axis: four grid steps of a round size (1, 2, 2.5 or 5 times a power of
/// ten, whole numbers only) reaching at least `max`.
pub fn axis_max(max: i64) -> i64 {
    if max <= 0 {
        return Y_TICKS;
    }
    let needed = max / Y_TICKS + i64::from(max % Y_TICKS != 0);
    let mut magnitude = 1_i64;
    loop {
        let quarter = (magnitude >= 10).then(|| magnitude * 25 / 10);
        for step in [Some(magnitude), Some(2 * magnitude), quarter, Some(5 * magnitude)].into_iter().flatten() {
            if step >= needed {
                return step * Y_TICKS;
            }
        }
        if magnitude > i64::MAX / 100 {
            return max;
        }
        magnitude *= 10;
    }
}

/// Which days get a label under the axis: the first, the last, and about six between.
fn labelled(index: usize, count: usize) -> bool {
    let every = count.div_ceil(7).max(1);
    index == 0 || index + 1 == count || (index.is_multiple_of(every) && count - index > every / 2)
}

impl DailyChart<'_> {
    pub fn total(&self) -> i64 {
        self.points.iter().map(|point| point.value).sum()
    }

    pub fn render(&self) -> Markup {
        let title_id = format!("{}-title", self.id);
        let desc_id = format!("{}-desc", self.id);
        let count = self.points.len();
        let max = axis_max(self.points.iter().map(|point| point.value).max().unwrap_or(0));
        let plot_width = WIDTH - LEFT - RIGHT;
        let plot_height = HEIGHT - TOP - BOTTOM;
        let slot = if count == 0 { plot_width } else { plot_width / count as f64 };
        let bar_width = (slot * 0.7).max(1.0);
        let y = |value: i64| TOP + plot_height - plot_height * (value as f64) / (max as f64);
        let (first, last) = (self.points.first().map(|p| p.day), self.points.last().map(|p| p.day));
        let description = match (first, last) {
            (Some(first), Some(last)) => text::chart_description(self.explanation, first, last, self.total(), max),
            _ => text::NO_DAYS.to_owned(),
        };
        html! {
            figure.chart id=(self.id) {
                svg role="img" viewBox=(format!("0 0 {WIDTH} {HEIGHT}")) aria-labelledby=(format!("{title_id} {desc_id}"))
                    xmlns="http://www.w3.org/2000/svg" {
                    title id=(title_id) { (self.title) }
                    desc id=(desc_id) { (description) }
                    @for tick in 0..=Y_TICKS {
                        @let value = max * tick / Y_TICKS;
                        @let at = y(value);
                        line.grid x1=(LEFT) x2=(WIDTH - RIGHT) y1=(at) y2=(at) {}
                        text x=(LEFT - 6.0) y=(at + 4.0) text-anchor="end" { (value) }
                    }
                    line.axis x1=(LEFT) x2=(LEFT) y1=(TOP) y2=(TOP + plot_height) {}
                    line.axis x1=(LEFT) x2=(WIDTH - RIGHT) y1=(TOP + plot_height) y2=(TOP + plot_height) {}
                    @for (index, point) in self.points.iter().enumerate() {
                        @let x = LEFT + slot * index as f64 + (slot - bar_width) / 2.0;
                        @let top = y(point.value);
                        rect.bar x=(format!("{x:.1}")) y=(format!("{top:.1}")) width=(format!("{bar_width:.1}"))
                            height=(format!("{:.1}", TOP + plot_height - top)) data-day=(point.day) data-value=(point.value) {
                            title { (point.day) ": " (point.value) }
                        }
                        @if labelled(index, count) {
                            text x=(format!("{:.1}", x + bar_width / 2.0)) y=(HEIGHT - BOTTOM + 16.0) text-anchor="middle" {
                                (point.day.format("%m-%d"))
                            }
                        }
                    }
                    text x=(LEFT + plot_width / 2.0) y=(HEIGHT - 4.0) text-anchor="middle" { (text::AXIS_DAY) }
                }
                figcaption.table-wrap {
                    table {
                        caption { (self.title) " — " (text::chart_total(self.total())) }
                        thead { tr { th scope="col" { (text::DAY) } th scope="col" { (self.title) } } }
                        tbody {
                            @for point in self.points {
                                tr { th scope="row" { (point.day) } td { (point.value) } }
                            }
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

    #[test]
    fn the_axis_ends_on_a_round_number_at_or_above_the_largest_value() {
        for (max, expected) in [(0, 4), (1, 4), (3, 4), (5, 8), (17, 20), (40, 40), (41, 80), (120, 200), (999, 1000)] {
            assert_eq!(axis_max(max), expected, "{max}");
        }
    }

    #[test]
    fn every_day_is_a_bar_and_a_table_row() {
        let start = NaiveDate::from_ymd_opt(2026, 12, 1).expect("date");
        let points: Vec<Point> =
            start.iter_days().take(3).zip([2, 0, 5]).map(|(day, value)| Point { day, value }).collect();
        let chart = DailyChart { id: "sent", title: "Sent", explanation: "Messages sent", points: &points };
        let svg = chart.render().into_string();
        assert_eq!(svg.matches("<rect").count(), 3);
        assert!(svg.contains(r#"data-day="2026-12-03" data-value="5""#), "{svg}");
        assert!(svg.contains("<title id=\"sent-title\">Sent</title>"));
        assert!(svg.contains("<th scope=\"row\">2026-12-02</th><td>0</td>"), "{svg}");
        assert_eq!(chart.total(), 7);
    }
}
