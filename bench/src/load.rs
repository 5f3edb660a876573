//! Load runs with `wrk` (a well-known load generator), bounded in time, loopback only.

use std::process::Command;
use std::time::Duration;

pub struct Load {
    pub url: String,
    pub authorization: String,
    pub headers: Vec<(String, String)>,
    /// POSTed as JSON when present (GET otherwise).
    pub body: Option<String>,
}

pub struct LoadResult {
    /// Requests answered during the run.
    pub requests: u64,
    pub requests_per_second: f64,
    pub p50_us: f64,
    pub p99_us: f64,
}

fn percentile(text: &str, label: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.trim().strip_prefix(label))
        .map(|v| parse_latency(v.trim()))
}

impl Load {
    pub fn run(&self, concurrency: u32, duration: Duration) -> LoadResult {
        assert!(
            self.url.starts_with("http://127.0.0.1:"),
            "benchmarks stay on loopback"
        );
        let mut command = Command::new("wrk");
        command.args([
            "-t1",
            &format!("-c{concurrency}"),
            &format!("-d{}s", duration.as_secs().max(1)),
            "--latency",
        ]);
        if !self.authorization.is_empty() {
            command.args(["-H", &format!("Authorization: {}", self.authorization)]);
        }
        for (name, value) in &self.headers {
            command.args(["-H", &format!("{name}: {value}")]);
        }
        let script = self.body.as_ref().map(|body| {
            let file = tempfile::NamedTempFile::new().expect("a temporary file");
            let lua = format!(
                "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.body = [[{body}]]\n"
            );
            std::fs::write(file.path(), lua).expect("the wrk script is written");
            file
        });
        if let Some(script) = &script {
            command.arg("-s").arg(script.path());
        }
        let output = command
            .arg(&self.url)
            .output()
            .expect("wrk is installed (bench/run.sh installs it)");
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(
            !text.contains("Non-2xx"),
            "errors during the load run:\n{text}"
        );
        let requests_per_second = text
            .lines()
            .find_map(|l| l.strip_prefix("Requests/sec:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no Requests/sec in wrk's output:\n{text}"));
        let requests = text
            .lines()
            .find_map(|l| l.trim().split_once(" requests in "))
            .and_then(|(n, _)| n.trim().parse().ok())
            .unwrap_or(0);
        LoadResult {
            requests,
            requests_per_second,
            p50_us: percentile(&text, "50%")
                .unwrap_or_else(|| panic!("no 50% latency in wrk's output:\n{text}")),
            p99_us: percentile(&text, "99%").unwrap_or(f64::NAN),
        }
    }
}

fn parse_latency(text: &str) -> f64 {
    let (number, unit) = text.split_at(
        text.find(|c: char| c.is_ascii_alphabetic())
            .unwrap_or(text.len()),
    );
    let value: f64 = number.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => value,
        "ms" => value * 1_000.0,
        "s" => value * 1_000_000.0,
        _ => f64::NAN,
    }
}

pub fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.collect();
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

pub fn spread(values: impl Iterator<Item = f64>) -> String {
    let values: Vec<f64> = values.collect();
    let min = values.iter().cloned().fold(f64::INFINITY, f64::min);
    let max = values.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    format!("{:.0} ({:.0}–{:.0})", median(values.into_iter()), min, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies_are_read_in_microseconds() {
        assert_eq!(parse_latency("212.00us"), 212.0);
        assert_eq!(parse_latency("2.00ms"), 2000.0);
        assert_eq!(median([3.0, 1.0, 2.0].into_iter()), 2.0);
    }
}
