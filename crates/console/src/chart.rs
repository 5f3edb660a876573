//! Charts drawn as SVG on the server: no script, no library, readable by screen readers through
//! their caption and label.

use ferry_store::{ExecutionCount, UsageRow};
use std::fmt::Write as _;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 200.0;
const LEFT: f64 = 40.0;
const BOTTOM: f64 = 24.0;

/// A series of a stacked chart: its colour and what a person calls it.
type Class = (&'static str, &'static str);

const CALL_CLASSES: [Class; 3] = [
    ("#2e7d32", "succeeded"),
    ("#f9a825", "refused (4xx)"),
    ("#c62828", "failed (5xx)"),
];

const EXECUTION_CLASSES: [Class; 4] = [
    ("#2e7d32", "succeeded"),
    ("#c62828", "failed"),
    ("#9e9e9e", "cancelled"),
    ("#f9a825", "running or waiting"),
];

fn escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn call_class(status: &str) -> usize {
    match status.chars().next() {
        Some('2') | Some('3') => 0,
        Some('5') => 2,
        _ => 1,
    }
}

fn execution_class(status: &str) -> usize {
    match status {
        "success" => 0,
        "failed" => 1,
        "cancelled" => 2,
        _ => 3,
    }
}

/// Bars per minute of the last hour, each stacked by class; answers the SVG and a caption.
fn stacked_per_minute(
    counts: &[Vec<i64>],
    classes: &[Class],
    what: &str,
    label: &str,
) -> (String, String) {
    let minutes = counts.len().max(1);
    let totals: Vec<i64> = (0..classes.len())
        .map(|index| counts.iter().map(|c| c[index]).sum())
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
        format!("No {what} in the last hour.")
    } else {
        let parts: Vec<String> = classes
            .iter()
            .zip(&totals)
            .filter(|(_, total)| **total > 0)
            .map(|((_, name), total)| format!("{total} {name}"))
            .collect();
        format!("{all} {what} in the last hour: {}.", parts.join(", "))
    };
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" width=\"100%\" role=\"img\" aria-label=\"{} {}\" class=\"chart\">",
        escaped(label),
        escaped(&summary)
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
        for (index, (colour, name)) in classes.iter().enumerate() {
            let count = bucket[index];
            if count == 0 {
                continue;
            }
            let height = count as f64 / busiest as f64 * (plot_height - 14.0);
            top -= height;
            let _ = write!(
                svg,
                "<rect x=\"{:.1}\" y=\"{top:.1}\" width=\"{:.1}\" height=\"{height:.1}\" fill=\"{colour}\" data-count=\"{count}\"><title>{count} {name}, {} min ago</title></rect>",
                LEFT + slot as f64 * bar + 1.0,
                (bar - 2.0).max(1.0),
                minutes - slot
            );
        }
    }
    svg.push_str("</svg>");
    (svg, summary)
}

fn per_minute<T>(
    rows: &[T],
    from_ms: i64,
    to_ms: i64,
    classes: usize,
    place: impl Fn(&T) -> (i64, usize, i64),
) -> Vec<Vec<i64>> {
    let minutes = ((to_ms - from_ms) / 60_000).max(1) as usize;
    let mut counts = vec![vec![0i64; classes]; minutes];
    for row in rows {
        let (start, class, count) = place(row);
        if start < from_ms {
            continue;
        }
        if let Some(bucket) = counts.get_mut(((start - from_ms) / 60_000) as usize) {
            bucket[class] += count;
        }
    }
    counts
}

/// Proxy calls per minute in `[from, to)`, stacked by outcome.
pub(crate) fn calls_per_minute(rows: &[UsageRow], from_ms: i64, to_ms: i64) -> (String, String) {
    let counts = per_minute(rows, from_ms, to_ms, CALL_CLASSES.len(), |row| {
        (row.bucket_start_ms, call_class(&row.group), row.calls)
    });
    stacked_per_minute(
        &counts,
        &CALL_CLASSES,
        "calls",
        "Calls per minute by outcome.",
    )
}

/// Executions per minute in `[from, to)`, stacked by status.
pub(crate) fn executions_per_minute(
    rows: &[ExecutionCount],
    from_ms: i64,
    to_ms: i64,
) -> (String, String) {
    let counts = per_minute(rows, from_ms, to_ms, EXECUTION_CLASSES.len(), |row| {
        (
            row.bucket_start_ms,
            execution_class(&row.status),
            row.executions,
        )
    });
    stacked_per_minute(
        &counts,
        &EXECUTION_CLASSES,
        "executions",
        "Executions per minute by status.",
    )
}

/// One horizontal bar per item, longest first as given; answers the SVG and a caption.
pub(crate) fn bars(
    items: &[(String, i64)],
    colour: &str,
    unit: &str,
    label: &str,
) -> (String, String) {
    let shown = &items[..items.len().min(8)];
    let most = shown.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let row = 26.0;
    let height = (shown.len().max(1) as f64) * row + 8.0;
    let name_width = 240.0;
    let caption = if shown.is_empty() {
        "None in this period.".to_owned()
    } else {
        let parts: Vec<String> = shown
            .iter()
            .map(|(name, n)| format!("{name}: {n} {unit}"))
            .collect();
        format!("{}.", parts.join("; "))
    };
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {height}\" width=\"100%\" role=\"img\" aria-label=\"{} {}\" class=\"chart\">",
        escaped(label),
        escaped(&caption)
    );
    for (index, (name, count)) in shown.iter().enumerate() {
        let y = 4.0 + index as f64 * row;
        let width = *count as f64 / most as f64 * (WIDTH - name_width - 60.0);
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"end\">{}</text>\
             <rect x=\"{name_width}\" y=\"{y:.1}\" width=\"{width:.1}\" height=\"{:.1}\" fill=\"{colour}\" data-count=\"{count}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\">{count}</text>",
            name_width - 8.0,
            y + 15.0,
            escaped(name),
            row - 8.0,
            name_width + width + 6.0,
            y + 15.0
        );
    }
    svg.push_str("</svg>");
    (svg, caption)
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
        assert!(svg.contains("data-count=\"9\""));
        // Rows outside the hour are left out.
        let (_, none) = calls_per_minute(&[row(-5, "200", 1)], 0, 60 * 60_000);
        assert_eq!(none, "No calls in the last hour.");
    }

    #[test]
    fn executions_stack_by_status() {
        let rows = [
            ExecutionCount {
                bucket_start_ms: 0,
                status: "success".into(),
                executions: 2,
            },
            ExecutionCount {
                bucket_start_ms: 0,
                status: "failed".into(),
                executions: 1,
            },
            ExecutionCount {
                bucket_start_ms: 60_000,
                status: "pending".into(),
                executions: 1,
            },
        ];
        let (_, caption) = executions_per_minute(&rows, 0, 3_600_000);
        assert_eq!(
            caption,
            "4 executions in the last hour: 2 succeeded, 1 failed, 1 running or waiting."
        );
    }

    #[test]
    fn horizontal_bars_name_each_item() {
        let (svg, caption) = bars(
            &[("Send mail".into(), 4), ("<b>".into(), 1)],
            "#c62828",
            "failures",
            "Failures by flow.",
        );
        assert_eq!(caption, "Send mail: 4 failures; <b>: 1 failures.");
        assert!(svg.contains("&lt;b&gt;") && !svg.contains("<b>"));
        assert_eq!(svg.matches("<rect").count(), 2);
    }
}
