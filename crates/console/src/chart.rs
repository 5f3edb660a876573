//! Charts drawn as SVG on the server: no script, no library, readable by screen readers through
//! their caption and label.

use ferry_store::UsageRow;
use std::fmt::Write as _;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 200.0;
const LEFT: f64 = 40.0;
const BOTTOM: f64 = 24.0;

/// Status classes, each with its colour and what a person calls it.
const CLASSES: [(&str, &str, &str); 3] = [
    ("2", "#2e7d32", "succeeded"),
    ("4", "#f9a825", "refused (4xx)"),
    ("5", "#c62828", "failed (5xx)"),
];

fn class_of(status: &str) -> usize {
    match status.chars().next() {
        Some('2') | Some('3') => 0,
        Some('5') => 2,
        _ => 1,
    }
}

/// Proxy calls per minute in `[from, to)`, stacked by status class; answers the SVG and a caption.
pub(crate) fn calls_per_minute(rows: &[UsageRow], from_ms: i64, to_ms: i64) -> (String, String) {
    let minutes = ((to_ms - from_ms) / 60_000).max(1) as usize;
    let mut counts = vec![[0i64; 3]; minutes];
    for row in rows {
        let slot = ((row.bucket_start_ms - from_ms) / 60_000) as usize;
        if let Some(bucket) = counts.get_mut(slot) {
            bucket[class_of(&row.group)] += row.calls;
        }
    }
    let totals: Vec<i64> = CLASSES
        .iter()
        .enumerate()
        .map(|(index, _)| counts.iter().map(|c| c[index]).sum())
        .collect();
    let all: i64 = totals.iter().sum();
    let busiest = counts
        .iter()
        .map(|c| c.iter().sum::<i64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let plot_width = WIDTH - LEFT;
    let plot_height = HEIGHT - BOTTOM;
    let bar = plot_width / minutes as f64;
    let summary = if all == 0 {
        "No calls in the last hour.".to_owned()
    } else {
        let parts: Vec<String> = CLASSES
            .iter()
            .zip(&totals)
            .filter(|(_, total)| **total > 0)
            .map(|((_, _, name), total)| format!("{total} {name}"))
            .collect();
        format!("{all} calls in the last hour: {}.", parts.join(", "))
    };
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" width=\"100%\" role=\"img\" aria-label=\"Calls per minute by outcome. {summary}\" class=\"chart\">"
    );
    let _ = write!(
        svg,
        "<line x1=\"{LEFT}\" y1=\"{plot_height}\" x2=\"{WIDTH}\" y2=\"{plot_height}\" stroke=\"#888\"/>\
         <text x=\"{}\" y=\"12\" font-size=\"11\" text-anchor=\"end\">{busiest}</text>\
         <text x=\"{}\" y=\"{plot_height}\" font-size=\"11\" text-anchor=\"end\">0</text>\
         <text x=\"{LEFT}\" y=\"{}\" font-size=\"11\">60 min ago</text>\
         <text x=\"{WIDTH}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">now</text>",
        LEFT - 4.0,
        LEFT - 4.0,
        HEIGHT - 6.0,
        HEIGHT - 6.0
    );
    for (slot, bucket) in counts.iter().enumerate() {
        let mut top = plot_height;
        for (index, (_, colour, name)) in CLASSES.iter().enumerate() {
            let calls = bucket[index];
            if calls == 0 {
                continue;
            }
            let height = calls as f64 / busiest as f64 * (plot_height - 14.0);
            top -= height;
            let _ = write!(
                svg,
                "<rect x=\"{:.1}\" y=\"{top:.1}\" width=\"{:.1}\" height=\"{height:.1}\" fill=\"{colour}\" data-calls=\"{calls}\"><title>{calls} {name}, {} min ago</title></rect>",
                LEFT + slot as f64 * bar + 1.0,
                (bar - 2.0).max(1.0),
                minutes - slot
            );
        }
    }
    svg.push_str("</svg>");
    (svg, summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(minute: i64, status: &str, calls: i64) -> UsageRow {
        UsageRow {
            bucket_start_ms: minute * 60_000,
            group: status.to_owned(),
            calls,
            latency_us_total: 0,
            latency_us_max: 0,
            request_bytes: 0,
            response_bytes: 0,
        }
    }

    #[test]
    fn bars_stack_by_outcome_and_the_caption_sums_them() {
        let rows = [
            row(58, "200", 3),
            row(58, "429", 1),
            row(59, "502", 2),
            row(10, "200", 9),
        ];
        let (svg, caption) = calls_per_minute(&rows, 0, 60 * 60_000);
        assert_eq!(
            caption,
            "15 calls in the last hour: 12 succeeded, 1 refused (4xx), 2 failed (5xx)."
        );
        assert_eq!(svg.matches("<rect").count(), 4);
        assert!(svg.contains("data-calls=\"9\""));
        // Rows outside the hour are left out.
        let (_, none) = calls_per_minute(&[row(-5, "200", 1)], 0, 60 * 60_000);
        assert_eq!(none, "No calls in the last hour.");
    }
}
