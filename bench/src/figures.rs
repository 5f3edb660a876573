//! Machine-readable figures: with `--figures FILE` every measured figure is also appended to FILE
//! as one JSON line `{"figure", "value", "unit"}`, for the report (`ferry-bench report`) and the
//! history of runs it keeps (`bench/history.jsonl`).
//!
//! A figure's name says which way is better: names ending in `_rps` or `_eps` (requests or
//! executions a second) are better higher; every other figure (latencies, memory, time, size) is
//! better lower.

use crate::Settings;
use serde::{Deserialize, Serialize};
use std::io::Write;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Figure {
    pub figure: String,
    pub value: f64,
    pub unit: String,
}

/// Appends one figure to the settings' figures file, if any. NaN values are not recorded.
pub fn record(settings: &Settings, figure: &str, value: f64, unit: &str) {
    let Some(path) = &settings.figures else {
        return;
    };
    if !value.is_finite() {
        return;
    }
    let line = serde_json::to_string(&Figure {
        figure: figure.to_owned(),
        value,
        unit: unit.to_owned(),
    })
    .expect("a figure serializes");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap_or_else(|e| panic!("cannot open the figures file {}: {e}", path.display()));
    writeln!(file, "{line}").expect("the figures file is writable");
}

/// Whether a larger value of this figure is better.
pub fn higher_is_better(figure: &str) -> bool {
    // A figure divided by the forwarder's keeps the direction of the figure.
    let figure = figure.strip_suffix(".of_forwarder").unwrap_or(figure);
    figure.ends_with("_rps") || figure.ends_with("_eps")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throughput_is_better_higher_and_the_rest_lower() {
        assert!(higher_is_better("flows.sqlite.c32.ferry_rps"));
        assert!(higher_is_better("flows.postgres.async_eps"));
        assert!(!higher_is_better("flows.sqlite.c1.p50_us"));
        assert!(!higher_is_better("serve.idle_rss_mb"));
    }
}
