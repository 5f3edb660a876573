//! A flow drawn as SVG: the trigger on top, each step one row below the first step that leads to
//! it, success edges solid and green, failure edges dashed and red, steps with problems outlined
//! in red. A text caption lists the same edges for screen readers.

use ferry_model::flow::FlowDef;
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::fmt::Write as _;

const BOX_W: f64 = 190.0;
const BOX_H: f64 = 44.0;
const GAP_X: f64 = 24.0;
const GAP_Y: f64 = 46.0;
const MARGIN: f64 = 12.0;

fn escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn shortened(text: &str, chars: usize) -> String {
    if text.chars().count() <= chars {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(chars - 1).collect();
        format!("{cut}…")
    }
}

/// The SVG and its caption; `troubled` names the steps that have problems.
pub(crate) fn flow_graph(def: &FlowDef, troubled: &HashSet<String>) -> (String, String) {
    // Node 0 is the trigger; steps follow in their order.
    let trigger = def.triggers.first();
    let mut names: Vec<(String, String)> = vec![(
        trigger.map_or_else(|| "trigger".to_owned(), |t| t.name.clone()),
        trigger.map_or_else(|| "no trigger".to_owned(), |t| t.kind.clone()),
    )];
    names.extend(def.steps.iter().map(|s| (s.name.clone(), s.kind.clone())));
    let index: BTreeMap<&str, usize> = def
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.as_str(), i + 1))
        .collect();
    let mut edges: Vec<(usize, usize, bool)> = Vec::new();
    if let Some(trigger) = trigger {
        for next in &trigger.on_success {
            if let Some(&to) = index.get(next.as_str()) {
                edges.push((0, to, true));
            }
        }
    }
    for (i, step) in def.steps.iter().enumerate() {
        for (targets, success) in [(&step.on_success, true), (&step.on_failure, false)] {
            for next in targets {
                if let Some(&to) = index.get(next.as_str()) {
                    edges.push((i + 1, to, success));
                }
            }
        }
    }
    // Rows by breadth-first distance from the trigger; steps it never reaches go last.
    let mut depth = vec![usize::MAX; names.len()];
    depth[0] = 0;
    let mut queue = VecDeque::from([0usize]);
    while let Some(node) = queue.pop_front() {
        for &(from, to, _) in &edges {
            if from == node && depth[to] == usize::MAX {
                depth[to] = depth[node] + 1;
                queue.push_back(to);
            }
        }
    }
    let reached_rows = depth
        .iter()
        .filter(|d| **d != usize::MAX)
        .max()
        .copied()
        .unwrap_or(0);
    for d in depth.iter_mut().filter(|d| **d == usize::MAX) {
        *d = reached_rows + 1;
    }
    let mut rows: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (node, d) in depth.iter().enumerate() {
        rows.entry(*d).or_default().push(node);
    }
    let widest = rows.values().map(Vec::len).max().unwrap_or(1) as f64;
    let width = MARGIN * 2.0 + widest * BOX_W + (widest - 1.0) * GAP_X;
    let height = MARGIN * 2.0 + rows.len() as f64 * (BOX_H + GAP_Y) - GAP_Y;
    let mut position = vec![(0.0, 0.0); names.len()];
    for (row_number, nodes) in rows.values().enumerate() {
        let row_width = nodes.len() as f64 * BOX_W + (nodes.len() as f64 - 1.0) * GAP_X;
        let left = (width - row_width) / 2.0;
        for (slot, node) in nodes.iter().enumerate() {
            position[*node] = (
                left + slot as f64 * (BOX_W + GAP_X),
                MARGIN + row_number as f64 * (BOX_H + GAP_Y),
            );
        }
    }
    let mut caption = Vec::new();
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" width=\"100%\" role=\"img\" aria-labelledby=\"graph-caption\" class=\"flow-graph\">\
         <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M0 0L10 5L0 10z\" fill=\"#555\"/></marker></defs>"
    );
    for &(from, to, success) in &edges {
        let (fx, fy) = position[from];
        let (tx, ty) = position[to];
        let (colour, dash) = if success {
            ("#2e7d32", "")
        } else {
            ("#c62828", " stroke-dasharray=\"6 4\"")
        };
        let _ = write!(
            svg,
            "<line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"{colour}\" stroke-width=\"2\"{dash} marker-end=\"url(#arrow)\" data-edge=\"{} {} {}\"/>",
            fx + BOX_W / 2.0,
            fy + BOX_H,
            tx + BOX_W / 2.0,
            ty,
            escaped(&names[from].0),
            if success { "onSuccess" } else { "onFailure" },
            escaped(&names[to].0)
        );
        caption.push(format!(
            "{} → {}{}",
            names[from].0,
            names[to].0,
            if success { "" } else { " (on failure)" }
        ));
    }
    for (node, (name, kind)) in names.iter().enumerate() {
        let (x, y) = position[node];
        let trouble = node > 0 && troubled.contains(name);
        let (stroke, fill) = if trouble {
            ("#c62828", "#fdecea")
        } else if node == 0 {
            ("#1a56a8", "#e8f0fe")
        } else {
            ("#9aa0a6", "#ffffff")
        };
        let mark = if trouble { "⚠ " } else { "" };
        let _ = write!(
            svg,
            "<g data-step=\"{}\"{}><rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{BOX_W}\" height=\"{BOX_H}\" rx=\"6\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"{}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" font-weight=\"600\" text-anchor=\"middle\">{}</text>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" fill=\"#5f6368\" text-anchor=\"middle\">{}</text></g>",
            escaped(name),
            if trouble {
                " data-problem=\"true\""
            } else {
                ""
            },
            if trouble { 2.5 } else { 1.0 },
            x + BOX_W / 2.0,
            y + 18.0,
            escaped(&format!(
                "{mark}{}",
                shortened(name, if trouble { 19 } else { 21 })
            )),
            x + BOX_W / 2.0,
            y + 34.0,
            escaped(kind)
        );
    }
    svg.push_str("</svg>");
    let caption = if caption.is_empty() {
        "The trigger leads to no step yet.".to_owned()
    } else {
        format!("{}.", caption.join("; "))
    };
    (svg, caption)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_follow_success_and_failure_and_problems_are_marked() {
        let def: FlowDef = serde_json::from_value(serde_json::json!({
            "name": "f",
            "triggers": [{"type": "manual", "onSuccess": ["check"]}],
            "steps": [
                {"name": "check", "type": "filter", "properties": {"body": "done(true)"}, "onSuccess": ["send"], "onFailure": ["log"]},
                {"name": "send", "type": "httpRequest", "properties": {}},
                {"name": "log", "type": "script", "properties": {}},
                {"name": "orphan", "type": "script", "properties": {}}
            ]
        }))
        .unwrap();
        let troubled = HashSet::from(["send".to_owned()]);
        let (svg, caption) = flow_graph(&def, &troubled);
        assert_eq!(
            caption,
            "trigger → check; check → send; check → log (on failure)."
        );
        assert!(svg.contains("data-edge=\"check onFailure log\""));
        assert!(svg.contains("<g data-step=\"send\" data-problem=\"true\">"));
        assert!(!svg.contains("<g data-step=\"log\" data-problem"));
        assert_eq!(svg.matches("<g data-step=").count(), 5);
    }
}
