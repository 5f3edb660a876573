//! `console.*` capture and the Node-style formatting shared with `util.format`.

use rquickjs::{Coerced, Ctx, Value};

/// Cloud Elements showed console output as a step value; an unbounded log would bloat every
/// execution record, so ferry keeps a bounded prefix and says what it dropped.
pub(crate) const MAX_CONSOLE_LINES: usize = 1_000;
pub(crate) const MAX_CONSOLE_BYTES: usize = 1024 * 1024;

#[derive(Debug, Default)]
pub(crate) struct ConsoleBuffer {
    lines: Vec<String>,
    bytes: usize,
    dropped: usize,
}

impl ConsoleBuffer {
    pub(crate) fn is_full(&self) -> bool {
        self.lines.len() >= MAX_CONSOLE_LINES || self.bytes >= MAX_CONSOLE_BYTES
    }

    pub(crate) fn skip(&mut self) {
        self.dropped += 1;
    }

    pub(crate) fn push(&mut self, mut line: String) {
        if self.is_full() {
            self.dropped += 1;
            return;
        }
        let room = MAX_CONSOLE_BYTES - self.bytes;
        if line.len() > room {
            let mut cut = room;
            while !line.is_char_boundary(cut) {
                cut -= 1;
            }
            line.truncate(cut);
            line.push('…');
            self.bytes = MAX_CONSOLE_BYTES;
            self.lines.push(line);
            return;
        }
        self.bytes += line.len();
        self.lines.push(line);
    }

    pub(crate) fn finish(mut self) -> Vec<String> {
        if self.dropped > 0 || self.bytes >= MAX_CONSOLE_BYTES {
            self.lines.push(format!(
                "… truncated: {} more console line(s) not kept (limit {} lines / 1 MiB)",
                self.dropped, MAX_CONSOLE_LINES
            ));
        }
        self.lines
    }
}

/// Formats console arguments the way Node's `util.format` does: a leading format string with
/// `%s %d %i %f %j %o %O %c %%`, then the remaining arguments separated by spaces. Strings print
/// raw; objects print as JSON (ferry's choice over Node's inspect syntax, so the log can be
/// pasted into a JSON tool).
pub(crate) fn format_args<'js>(ctx: &Ctx<'js>, args: &[Value<'js>]) -> String {
    let mut out = String::new();
    let mut rest = args.iter();
    if let Some(first) = args.first().and_then(|v| v.as_string())
        && let Ok(fmt) = first.to_string()
        && fmt.contains('%')
    {
        rest.next();
        let mut chars = fmt.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '%' {
                out.push(c);
                continue;
            }
            let Some(&d) = chars.peek() else {
                out.push('%');
                break;
            };
            if d == '%' {
                chars.next();
                out.push('%');
                continue;
            }
            if !matches!(d, 's' | 'd' | 'i' | 'f' | 'j' | 'o' | 'O' | 'c') {
                out.push('%');
                continue;
            }
            chars.next();
            let Some(arg) = rest.next() else {
                out.push('%');
                out.push(d);
                continue;
            };
            match d {
                's' | 'o' | 'O' => out.push_str(&format_value(ctx, arg)),
                'd' | 'f' => out.push_str(&js_number(to_number(arg))),
                'i' => out.push_str(&js_number(to_number(arg).trunc())),
                'j' => out.push_str(&json_or(ctx, arg, "undefined")),
                _ => {} // %c carries CSS in browsers; it prints nothing
            }
        }
    } else if let Some(first) = rest.next() {
        out.push_str(&format_value(ctx, first));
    }
    for arg in rest {
        out.push(' ');
        out.push_str(&format_value(ctx, arg));
    }
    out
}

/// One value as `console.log` prints it.
pub(crate) fn format_value<'js>(ctx: &Ctx<'js>, v: &Value<'js>) -> String {
    if let Some(s) = v.as_string() {
        return s.to_string().unwrap_or_default();
    }
    if v.is_undefined() {
        return "undefined".into();
    }
    if v.is_null() {
        return "null".into();
    }
    if let Some(b) = v.as_bool() {
        return b.to_string();
    }
    if let Some(n) = v.as_number() {
        return js_number(n);
    }
    if v.is_big_int() {
        return format!("{}n", coerce_string(v));
    }
    if let Some(sym) = v.as_symbol() {
        let desc = sym
            .description()
            .ok()
            .and_then(|d| d.as_string().and_then(|s| s.to_string().ok()))
            .unwrap_or_default();
        return format!("Symbol({desc})");
    }
    if let Some(f) = v.as_function() {
        let name: String = f.get("name").unwrap_or_default();
        return if name.is_empty() {
            "[Function (anonymous)]".into()
        } else {
            format!("[Function: {name}]")
        };
    }
    if v.is_error() {
        // Error.prototype.toString gives "TypeError: message", what users expect in a log.
        return coerce_string(v);
    }
    json_or(ctx, v, "")
}

/// `JSON.stringify(v)`, or `String(v)` when JSON cannot represent it (cycles, BigInt inside).
fn json_or<'js>(ctx: &Ctx<'js>, v: &Value<'js>, undefined_text: &str) -> String {
    match ctx.json_stringify(v.clone()) {
        Ok(Some(s)) => s.to_string().unwrap_or_default(),
        Ok(None) if undefined_text.is_empty() => coerce_string(v),
        Ok(None) => undefined_text.to_string(),
        Err(_) => {
            // Clear the pending exception so logging a cyclic object never fails the script.
            let _ = ctx.catch();
            coerce_string(v)
        }
    }
}

fn coerce_string(v: &Value<'_>) -> String {
    match v.get::<Coerced<String>>() {
        Ok(s) => s.0,
        Err(_) => {
            let _ = v.ctx().catch();
            "[object]".into()
        }
    }
}

fn to_number(v: &Value<'_>) -> f64 {
    match v.get::<Coerced<f64>>() {
        Ok(n) => n.0,
        Err(_) => {
            let _ = v.ctx().catch();
            f64::NAN
        }
    }
}

/// JavaScript's Number-to-String for the common cases, without a round trip into the engine.
pub(crate) fn js_number(n: f64) -> String {
    if n.is_nan() {
        return "NaN".into();
    }
    if n.is_infinite() {
        return if n > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if n == 0.0 {
        return "0".into();
    }
    let abs = n.abs();
    if !(1e-6..1e21).contains(&abs) {
        let s = format!("{n:e}");
        return match s.split_once('e') {
            Some((mantissa, exp)) if !exp.starts_with('-') => format!("{mantissa}e+{exp}"),
            _ => s,
        };
    }
    format!("{n}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_like_javascript() {
        assert_eq!(js_number(1.0), "1");
        assert_eq!(js_number(-0.0), "0");
        assert_eq!(js_number(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(js_number(1e21), "1e+21");
        assert_eq!(js_number(1.5e-7), "1.5e-7");
        assert_eq!(js_number(f64::NEG_INFINITY), "-Infinity");
    }

    #[test]
    fn buffer_truncates_by_lines_and_says_so() {
        let mut b = ConsoleBuffer::default();
        for i in 0..(MAX_CONSOLE_LINES + 5) {
            b.push(format!("line {i}"));
        }
        let lines = b.finish();
        assert_eq!(lines.len(), MAX_CONSOLE_LINES + 1);
        assert!(lines.last().unwrap().starts_with("… truncated: 5 more"));
    }

    #[test]
    fn buffer_truncates_by_bytes() {
        let mut b = ConsoleBuffer::default();
        b.push("é".repeat(MAX_CONSOLE_BYTES));
        b.push("dropped".into());
        let lines = b.finish();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].len() <= MAX_CONSOLE_BYTES + '…'.len_utf8());
        assert!(lines[0].ends_with('…'));
        assert!(lines[1].starts_with("… truncated: 1 more"));
    }
}
