//! The comparison of issue 10: ferry's flow figures of this run against the peers' (one JSON line
//! per run from `../shared/bench/peer-*/run.sh`, measured in the same sitting) and against the
//! minimal forwarder, each target with its ratio; then every figure of this run against the
//! previous commit recorded in the history file, any change for the worse past 10 % flagged —
//! both as measured and, because two runs may not share a machine of the same speed, as a
//! multiple of the same run's minimal forwarder (the machine's own limit for the hop).
//! With `--record`, this run is appended to the history (one JSON line per run).

use crate::Settings;
use crate::figures::{Figure, higher_is_better};
use clap::Args;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A change for the worse past this fraction is flagged.
const REGRESSION: f64 = 0.10;

#[derive(Args, Debug, Clone)]
pub struct ReportArgs {
    /// JSON lines printed by `peer-n8n/run.sh` (the runs with `save_executions: all` are used).
    #[arg(long)]
    pub n8n: Option<PathBuf>,
    /// JSON lines printed by `peer-nodered/run.sh`.
    #[arg(long)]
    pub nodered: Option<PathBuf>,
    /// `CRITERION_HOME` of the micro-benchmarks run in this sitting (`micro.<benchmark>.median_us`).
    #[arg(long)]
    pub criterion: Option<PathBuf>,
    /// The history of runs, one JSON line per run.
    #[arg(long, default_value = "bench/history.jsonl")]
    pub history: PathBuf,
    /// This run's commit (`git rev-parse --short HEAD`, `-dirty` when the tree had changes).
    #[arg(long, default_value = "unknown")]
    pub commit: String,
    /// This run's date (UTC).
    #[arg(long, default_value = "")]
    pub date: String,
    /// The machine (cores, kernel).
    #[arg(long, default_value = "")]
    pub machine: String,
    /// Append this run to the history.
    #[arg(long)]
    pub record: bool,
}

/// One line of the history file.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct HistoryEntry {
    commit: String,
    date: String,
    machine: String,
    figures: BTreeMap<String, f64>,
}

pub fn run(settings: &Settings, args: &ReportArgs) {
    let mut figures = settings
        .figures
        .as_deref()
        .map(read_figures)
        .unwrap_or_default();
    let mut versions = Vec::new();
    for (peer, path, save_mode) in [
        ("nodered", &args.nodered, None),
        ("n8n", &args.n8n, Some("all")),
    ] {
        let Some(path) = path else { continue };
        let lines = read_lines(path);
        if let Some(line) = lines.first() {
            versions.push(format!(
                "{} {} (node {}, {})",
                line["peer"].as_str().unwrap_or(peer),
                line["version"].as_str().unwrap_or("?"),
                line["node"].as_str().unwrap_or("?"),
                line["loadgen"].as_str().unwrap_or("?"),
            ));
        }
        figures.extend(peer_figures(peer, &lines, save_mode));
    }
    if let Some(dir) = &args.criterion {
        figures.extend(criterion_figures(dir));
    }
    print_comparison(&figures, &versions);
    print_micro(&figures);
    let history = read_history(&args.history);
    print_regressions(&figures, &history, &args.commit);
    if args.record {
        let entry = HistoryEntry {
            commit: args.commit.clone(),
            date: args.date.clone(),
            machine: args.machine.clone(),
            figures: figures.clone(),
        };
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&args.history)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", args.history.display()));
        writeln!(
            file,
            "{}",
            serde_json::to_string(&entry).expect("an entry serializes")
        )
        .expect("the history is writable");
        println!(
            "This run is recorded in `{}` as commit `{}`.\n",
            args.history.display(),
            args.commit
        );
    }
}

fn read_figures(path: &Path) -> BTreeMap<String, f64> {
    read_lines(path)
        .into_iter()
        .filter_map(|line| serde_json::from_value::<Figure>(line).ok())
        .map(|f| (f.figure, f.value))
        .collect()
}

/// The JSON lines of a file; lines that are not JSON objects (progress, blank) are skipped.
fn read_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line.trim()).ok())
        .filter(Value::is_object)
        .collect()
}

fn read_history(path: &Path) -> Vec<HistoryEntry> {
    read_lines(path)
        .into_iter()
        .filter_map(|line| serde_json::from_value(line).ok())
        .collect()
}

/// The median of every criterion benchmark under `dir` (`<group>/<function>/new/`), in µs.
fn criterion_figures(dir: &Path) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if !path.is_dir() {
                continue;
            }
            if path.file_name().is_some_and(|n| n == "new") {
                let read = |file: &str| -> Option<Value> {
                    serde_json::from_str(&std::fs::read_to_string(path.join(file)).ok()?).ok()
                };
                if let (Some(benchmark), Some(estimates)) =
                    (read("benchmark.json"), read("estimates.json"))
                    && let (Some(id), Some(ns)) = (
                        benchmark["full_id"].as_str(),
                        estimates["median"]["point_estimate"].as_f64(),
                    )
                {
                    out.insert(
                        format!("micro.{}.median_us", id.replace('/', ".")),
                        ns / 1000.0,
                    );
                }
            } else {
                folders.push(path);
            }
        }
    }
    out
}

fn print_micro(f: &BTreeMap<String, f64>) {
    let micro: Vec<(&String, &f64)> = f.iter().filter(|(k, _)| k.starts_with("micro.")).collect();
    if micro.is_empty() {
        return;
    }
    println!("## Micro-benchmarks (criterion, median of one call)\n");
    println!("| benchmark | median |");
    println!("|---|---|");
    for (name, us) in micro {
        let id = name
            .trim_start_matches("micro.")
            .trim_end_matches(".median_us");
        let shown = if *us >= 1000.0 {
            format!("{:.2} ms", us / 1000.0)
        } else if *us >= 10.0 {
            format!("{us:.1} µs")
        } else {
            format!("{us:.2} µs")
        };
        println!("| {id} | {shown} |");
    }
    println!();
}

fn median(mut values: Vec<f64>) -> Option<f64> {
    values.retain(|v| v.is_finite());
    if values.is_empty() {
        return None;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    Some(values[values.len() / 2])
}

/// A peer's figures, named like ferry's: `peers.<peer>.c<N>.throughput_rps`, `….p50_us`,
/// `….p99_us`, `peers.<peer>.idle_rss_mb`, `peers.<peer>.startup_ms`. Several runs at one
/// concurrency give their median.
fn peer_figures(peer: &str, lines: &[Value], save_mode: Option<&str>) -> BTreeMap<String, f64> {
    let lines: Vec<&Value> = lines
        .iter()
        .filter(|l| save_mode.is_none_or(|mode| l["save_executions"] == mode))
        .collect();
    let number = |line: &Value, key: &str| line[key].as_f64().unwrap_or(f64::NAN);
    let mut out = BTreeMap::new();
    let mut concurrencies: Vec<i64> = lines
        .iter()
        .filter_map(|l| l["concurrency"].as_i64())
        .collect();
    concurrencies.sort_unstable();
    concurrencies.dedup();
    for c in concurrencies {
        let at: Vec<&&Value> = lines
            .iter()
            .filter(|l| l["concurrency"].as_i64() == Some(c))
            .collect();
        let prefix = format!("peers.{peer}.c{c}");
        for (name, key, scale) in [
            ("throughput_rps", "rps", 1.0),
            ("p50_us", "p50_ms", 1000.0),
            ("p99_us", "p99_ms", 1000.0),
        ] {
            if let Some(v) = median(at.iter().map(|l| number(l, key) * scale).collect()) {
                out.insert(format!("{prefix}.{name}"), v);
            }
        }
    }
    if let Some(v) = median(lines.iter().map(|l| number(l, "rss_mb_idle")).collect()) {
        out.insert(format!("peers.{peer}.idle_rss_mb"), v);
    }
    if let Some(v) = median(
        lines
            .iter()
            .map(|l| number(l, "startup_s") * 1000.0)
            .collect(),
    ) {
        out.insert(format!("peers.{peer}.startup_ms"), v);
    }
    out
}

fn show(value: Option<f64>, unit: &str) -> String {
    match value {
        None => "–".into(),
        Some(v) if unit == "µs" && v >= 10_000.0 => format!("{:.1} ms", v / 1000.0),
        Some(v) if unit == "µs" => format!("{v:.0} µs"),
        Some(v) if unit == "MB" => format!("{v:.1} MB"),
        Some(v) if unit == "ms" => format!("{v:.0} ms"),
        Some(v) => format!("{v:.0}"),
    }
}

struct Target {
    name: &'static str,
    /// The measured ratio (or value), as written.
    shown: String,
    met: Option<bool>,
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

fn targets(f: &BTreeMap<String, f64>, setup: &str) -> Vec<Target> {
    let get = |name: &str| f.get(name).copied();
    let ferry_c32 = get(&format!("flows.{setup}.c32.throughput_rps"));
    let ferry_p50 = get(&format!("flows.{setup}.c1.p50_us"));
    let ferry_rss = get(&format!("flows.{setup}.idle_rss_mb"));
    let startup = get("flows.sqlite.startup_ms").or(get("serve.startup_ms"));
    let times = |r: Option<f64>| {
        r.map_or("–".into(), |r| {
            if r < 1.0 {
                format!("{r:.2}×")
            } else {
                format!("{r:.1}×")
            }
        })
    };
    let percent = |r: Option<f64>| {
        r.map_or("–".into(), |r| {
            if r < 0.2 {
                format!("{:.1}%", 100.0 * r)
            } else {
                format!("{:.0}%", 100.0 * r)
            }
        })
    };
    let at_least = |r: Option<f64>, goal: f64| r.map(|r| r >= goal);
    let at_most = |r: Option<f64>, goal: f64| r.map(|r| r <= goal);
    let vs_nodered = ratio(ferry_c32, get("peers.nodered.c32.throughput_rps"));
    let vs_n8n = ratio(ferry_c32, get("peers.n8n.c32.throughput_rps"));
    let p50_vs_nodered = ratio(ferry_p50, get("peers.nodered.c1.p50_us"));
    let of_forwarder = ratio(ferry_c32, get("flows.forwarder.c32.throughput_rps"));
    let rss_vs_n8n = ratio(ferry_rss, get("peers.n8n.idle_rss_mb"));
    let rss_vs_nodered = ratio(ferry_rss, get("peers.nodered.idle_rss_mb"));
    vec![
        Target {
            name: "c=32 throughput ≥ 2× Node-RED's",
            shown: times(vs_nodered),
            met: at_least(vs_nodered, 2.0),
        },
        Target {
            name: "c=32 throughput ≥ 40× n8n's",
            shown: times(vs_n8n),
            met: at_least(vs_n8n, 40.0),
        },
        Target {
            name: "c=1 median latency ≤ ½ Node-RED's",
            shown: times(p50_vs_nodered),
            met: at_most(p50_vs_nodered, 0.5),
        },
        Target {
            name: "c=32 throughput ≥ 50% of the minimal forwarder's",
            shown: percent(of_forwarder),
            met: at_least(of_forwarder, 0.5),
        },
        Target {
            name: "idle RSS ≤ 1/10 of n8n's",
            shown: percent(rss_vs_n8n),
            met: at_most(rss_vs_n8n, 0.1),
        },
        Target {
            name: "idle RSS below Node-RED's",
            shown: percent(rss_vs_nodered),
            met: rss_vs_nodered.map(|r| r < 1.0),
        },
        Target {
            name: "start-up to ready < 200 ms",
            shown: show(startup, "ms"),
            met: startup.map(|ms| ms < 200.0),
        },
    ]
}

fn verdict(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "met",
        Some(false) => "**not met**",
        None => "not measured",
    }
}

fn print_comparison(f: &BTreeMap<String, f64>, versions: &[String]) {
    let get = |name: &str| f.get(name).copied();
    let setups: Vec<String> = ["sqlite", "postgres", "postgres+1w", "postgres+2w"]
        .into_iter()
        .map(str::to_owned)
        .chain(
            f.keys()
                .filter_map(|k| {
                    k.strip_prefix("flows.")?
                        .strip_suffix(".c32.throughput_rps")
                })
                .filter(|s| {
                    *s != "forwarder"
                        && !["sqlite", "postgres", "postgres+1w", "postgres+2w"].contains(s)
                })
                .map(str::to_owned),
        )
        .filter(|s| f.contains_key(&format!("flows.{s}.c32.throughput_rps")))
        .collect();
    println!("## ferry against n8n, Node-RED and the machine's limit\n");
    println!(
        "The webhook → script → HTTP flow, measured in one sitting: ferry (`ferry-bench flows`, \
         full execution history stored), the minimal forwarder (the same hop, no engine, no \
         storage), Node-RED (no history) and n8n (execution data saved), each peer by its own \
         script in `../shared/bench/`.{}\n",
        if versions.is_empty() {
            " No peer figures were given.".to_owned()
        } else {
            format!(" Peers: {}.", versions.join("; "))
        }
    );
    let mut columns: Vec<(String, String)> = setups
        .iter()
        .map(|s| (format!("ferry {s}"), format!("flows.{s}")))
        .collect();
    columns.push(("forwarder".into(), "flows.forwarder".into()));
    columns.push(("Node-RED".into(), "peers.nodered".into()));
    columns.push(("n8n".into(), "peers.n8n".into()));
    println!(
        "| figure | {} |",
        columns
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(" | ")
    );
    println!("|---|{}", "---|".repeat(columns.len()));
    for (label, suffix, unit) in [
        ("c=32 executions/s", "c32.throughput_rps", ""),
        ("c=32 p50", "c32.p50_us", "µs"),
        ("c=32 p99", "c32.p99_us", "µs"),
        ("c=1 executions/s", "c1.throughput_rps", ""),
        ("c=1 p50", "c1.p50_us", "µs"),
        ("idle RSS", "idle_rss_mb", "MB"),
        ("start-up to ready", "startup_ms", "ms"),
    ] {
        let cells: Vec<String> = columns
            .iter()
            .map(|(_, prefix)| show(get(&format!("{prefix}.{suffix}")), unit))
            .collect();
        println!("| {label} | {} |", cells.join(" | "));
    }
    println!();
    println!("Targets of issue 10 (ferry on SQLite, one process):\n");
    println!("| target | measured | |");
    println!("|---|---|---|");
    for target in targets(f, "sqlite") {
        println!(
            "| {} | {} | {} |",
            target.name,
            target.shown,
            verdict(target.met)
        );
    }
    println!();
    let others: Vec<&String> = setups.iter().filter(|s| *s != "sqlite").collect();
    if !others.is_empty() {
        println!("The throughput targets on the other set-ups:\n");
        println!(
            "| set-up | ×Node-RED c=32 | ×n8n c=32 | p50 c=1 / Node-RED's | of forwarder c=32 |"
        );
        println!("|---|---|---|---|---|");
        for setup in others {
            let t = targets(f, setup);
            println!(
                "| {setup} | {} | {} | {} | {} |",
                t[0].shown, t[1].shown, t[2].shown, t[3].shown
            );
        }
        println!();
    }
}

fn print_regressions(f: &BTreeMap<String, f64>, history: &[HistoryEntry], commit: &str) {
    println!("## Against the previous recorded commit\n");
    let Some(previous) = history.iter().rev().find(|e| e.commit != commit) else {
        println!("No earlier commit is recorded in the history yet; this run is the baseline.\n");
        return;
    };
    let machine_moved = machine_change(&previous.figures, f);
    if let Some(moved) = &machine_moved {
        println!(
            "**The machine itself changed between these runs**: {moved}. The figures as measured mix \
             ferry's change with the machine's; the second table, each figure as a multiple of the \
             forwarder of its own run, does not.\n"
        );
    }
    print_changes(
        &previous.commit,
        &previous.date,
        commit,
        &previous.figures,
        f,
        "as measured",
    );
    print_changes(
        &previous.commit,
        &previous.date,
        commit,
        &relative_to_forwarder(&previous.figures),
        &relative_to_forwarder(f),
        "as multiples of the same run's forwarder (throughput: share of it; latency: times it)",
    );
}

/// The forwarder's flow figures that moved past [`REGRESSION`] between two runs, in words.
fn machine_change(before: &BTreeMap<String, f64>, now: &BTreeMap<String, f64>) -> Option<String> {
    let moved: Vec<String> = FORWARDER_FIGURES
        .iter()
        .filter_map(|name| {
            let (b, n) = (*before.get(*name)?, *now.get(*name)?);
            let change = (n - b) / b;
            (change.abs() > REGRESSION).then(|| format!("{name} {} → {}", compact(b), compact(n)))
        })
        .collect();
    (!moved.is_empty()).then(|| moved.join(", "))
}

/// The forwarder's figures that the flow figures are divided by.
const FORWARDER_FIGURES: [&str; 4] = [
    "flows.forwarder.c1.throughput_rps",
    "flows.forwarder.c1.p50_us",
    "flows.forwarder.c32.throughput_rps",
    "flows.forwarder.c32.p50_us",
];

/// Every flow and peer figure at c=1 or c=32 divided by the same run's forwarder figure of that
/// concurrency and kind: `<name>.of_forwarder`.
fn relative_to_forwarder(f: &BTreeMap<String, f64>) -> BTreeMap<String, f64> {
    let mut relative = BTreeMap::new();
    for (name, &value) in f {
        if name.starts_with("flows.forwarder.")
            || !(name.starts_with("flows.") || name.starts_with("peers."))
        {
            continue;
        }
        let Some((concurrency, kind)) = ["c1", "c32"].iter().find_map(|c| {
            ["throughput_rps", "p50_us", "p99_us"]
                .iter()
                .find(|k| name.ends_with(&format!(".{c}.{k}")))
                .map(|k| (*c, *k))
        }) else {
            continue;
        };
        let Some(&limit) = f.get(&format!("flows.forwarder.{concurrency}.{kind}")) else {
            continue;
        };
        if limit > 0.0 {
            relative.insert(format!("{name}.of_forwarder"), value / limit);
        }
    }
    relative
}

fn print_changes(
    previous_commit: &str,
    previous_date: &str,
    commit: &str,
    before_figures: &BTreeMap<String, f64>,
    f: &BTreeMap<String, f64>,
    what: &str,
) {
    let mut rows = Vec::new();
    let mut worse = Vec::new();
    for (name, &now) in f {
        let Some(&before) = before_figures.get(name) else {
            continue;
        };
        if before == 0.0 {
            continue;
        }
        let change = (now - before) / before;
        let worse_by = if higher_is_better(name) {
            -change
        } else {
            change
        };
        let flag = if worse_by > REGRESSION {
            worse.push(name.clone());
            format!("**worse by {:.0}%**", 100.0 * worse_by)
        } else if worse_by < -REGRESSION {
            format!("better by {:.0}%", -100.0 * worse_by)
        } else {
            String::new()
        };
        rows.push(format!(
            "| {name} | {} | {} | {:+.1}% | {flag} |",
            compact(before),
            compact(now),
            100.0 * change
        ));
    }
    println!(
        "Commit `{previous_commit}` ({previous_date}) → `{commit}`, {what}: {} figures compared, {} worse by more than {:.0}%{}.\n",
        rows.len(),
        worse.len(),
        100.0 * REGRESSION,
        if worse.is_empty() {
            String::new()
        } else {
            format!(": {}", worse.join(", "))
        }
    );
    println!("| figure | before | now | change | |");
    println!("|---|---|---|---|---|");
    for row in rows {
        println!("{row}");
    }
    println!();
}

fn compact(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.1}")
    } else {
        // Shares of the forwarder's throughput are mostly below 1.
        format!("{v:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn peer_lines_become_figures_with_medians_and_microseconds() {
        let lines = vec![
            json!({"peer": "n8n", "save_executions": "all", "concurrency": 32, "rps": 70.0, "p50_ms": 440.0, "p99_ms": 550.0, "rss_mb_idle": 595, "startup_s": 5.5}),
            json!({"peer": "n8n", "save_executions": "none", "concurrency": 32, "rps": 99.0, "p50_ms": 1.0, "p99_ms": 1.0, "rss_mb_idle": 1, "startup_s": 1.0}),
            json!({"peer": "n8n", "save_executions": "all", "concurrency": 1, "rps": 53.0, "p50_ms": 17.8, "p99_ms": 34.5, "rss_mb_idle": 597, "startup_s": 5.5}),
        ];
        let f = peer_figures("n8n", &lines, Some("all"));
        assert_eq!(f["peers.n8n.c32.throughput_rps"], 70.0);
        assert_eq!(f["peers.n8n.c1.p50_us"], 17_800.0);
        assert_eq!(f["peers.n8n.idle_rss_mb"], 597.0);
        assert_eq!(f["peers.n8n.startup_ms"], 5_500.0);
    }

    fn figures(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
    }

    /// Two runs on machines of different speed: ferry lost 40 % as measured, as did the
    /// forwarder, so against the forwarder ferry did not change; a real regression still shows.
    #[test]
    fn figures_are_also_compared_as_multiples_of_their_own_runs_forwarder() {
        let before = figures(&[
            ("flows.forwarder.c32.throughput_rps", 40_000.0),
            ("flows.forwarder.c1.p50_us", 100.0),
            ("flows.sqlite.c32.throughput_rps", 4_000.0),
            ("flows.sqlite.c1.p50_us", 800.0),
            ("hub.c1.ferry_rps", 6_000.0),
        ]);
        let slower_machine = figures(&[
            ("flows.forwarder.c32.throughput_rps", 24_000.0),
            ("flows.forwarder.c1.p50_us", 200.0),
            ("flows.sqlite.c32.throughput_rps", 2_400.0),
            ("flows.sqlite.c1.p50_us", 1_200.0),
            ("hub.c1.ferry_rps", 3_000.0),
        ]);
        let moved = machine_change(&before, &slower_machine).expect("the forwarder moved");
        assert!(
            moved.contains("flows.forwarder.c32.throughput_rps 40000 → 24000"),
            "{moved}"
        );
        assert!(machine_change(&before, &before).is_none());

        let (was, now) = (
            relative_to_forwarder(&before),
            relative_to_forwarder(&slower_machine),
        );
        assert_eq!(was["flows.sqlite.c32.throughput_rps.of_forwarder"], 0.1);
        assert_eq!(now["flows.sqlite.c32.throughput_rps.of_forwarder"], 0.1);
        assert_eq!(was["flows.sqlite.c1.p50_us.of_forwarder"], 8.0);
        assert_eq!(now["flows.sqlite.c1.p50_us.of_forwarder"], 6.0);
        assert!(
            !was.contains_key("hub.c1.ferry_rps.of_forwarder"),
            "hub figures have their own"
        );
        assert!(!was.keys().any(|k| k.starts_with("flows.forwarder.")));
        assert!(higher_is_better(
            "flows.sqlite.c32.throughput_rps.of_forwarder"
        ));
        assert!(!higher_is_better("flows.sqlite.c1.p50_us.of_forwarder"));
    }

    #[test]
    fn targets_compare_ferry_with_the_peers_and_the_forwarder() {
        let f: BTreeMap<String, f64> = [
            ("flows.sqlite.c32.throughput_rps", 3800.0),
            ("flows.sqlite.c1.p50_us", 750.0),
            ("flows.sqlite.idle_rss_mb", 25.0),
            ("flows.sqlite.startup_ms", 22.0),
            ("flows.forwarder.c32.throughput_rps", 20000.0),
            ("peers.nodered.c32.throughput_rps", 1690.0),
            ("peers.nodered.c1.p50_us", 1100.0),
            ("peers.nodered.idle_rss_mb", 105.0),
            ("peers.n8n.c32.throughput_rps", 71.0),
            ("peers.n8n.idle_rss_mb", 595.0),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let t = targets(&f, "sqlite");
        assert_eq!(t[0].met, Some(true)); // 2.2× Node-RED
        assert_eq!(t[1].met, Some(true)); // 53× n8n
        assert_eq!(t[2].met, Some(false)); // 0.68× Node-RED's p50
        assert_eq!(t[3].met, Some(false)); // 19% of the forwarder
        assert_eq!(t[4].met, Some(true));
        assert_eq!(t[5].met, Some(true));
        assert_eq!(t[6].met, Some(true));
    }
}
