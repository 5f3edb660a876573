//! Gmail's search language (`q` of `messages.list`, `threads.list`, `drafts.list`).
//!
//! Grammar, as Gmail reads it: terms separated by spaces are ANDed; `OR` (upper case) binds tighter
//! than the implicit AND; `{a b}` is an OR group, `(a b)` an AND group; `-term` negates; an
//! operator may take a word, a `"quoted phrase"` or a group (`subject:(a b)`). Free words and
//! phrases match whole words, case-insensitively, in the subject, the sender and recipients,
//! the body text and attachment names.

use crate::mailbox::message::SearchIndex;
use chrono::NaiveDate;

/// A query that cannot be parsed; Gmail answers it with 400 `Invalid query`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InvalidQuery(pub String);

/// What the parser needs to know about the mailbox.
pub(crate) struct ParseContext<'a> {
    /// The account's own address (for `from:me`, `to:me`).
    pub me: &'a str,
    /// Now, in ms since the epoch (for `older_than:`/`newer_than:`).
    pub now_millis: i64,
    /// Resolves a label name in search form (`my-label`) to its id.
    pub label_id: &'a dyn Fn(&str) -> Option<String>,
}

/// The fields of one message a query looks at.
pub(crate) struct Candidate<'a> {
    pub search: &'a SearchIndex,
    pub labels: &'a [String],
    pub internal_date: i64,
    pub size: usize,
}

/// A parsed query.
#[derive(Debug, Clone)]
pub(crate) struct Query {
    root: Node,
    /// The query names spam, trash or `in:anywhere`, so those are not excluded by default.
    pub mentions_spam_or_trash: bool,
}

#[derive(Debug, Clone)]
enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Term(Term),
}

#[derive(Debug, Clone)]
enum Term {
    Text(String),
    From(String),
    To(String),
    Cc(String),
    Bcc(String),
    Subject(String),
    Label(String),
    NotLabel(String),
    HasAttachment,
    HasUserLabels,
    Filename(String),
    /// internal date >= ms
    OnOrAfter(i64),
    /// internal date < ms
    Before(i64),
    Rfc822MsgId(String),
    Larger(usize),
    Smaller(usize),
    Everything,
    Nothing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    From,
    To,
    Cc,
    Bcc,
    Subject,
    Label,
    In,
    Is,
    Has,
    Filename,
    After,
    Before,
    OlderThan,
    NewerThan,
    Rfc822MsgId,
    Larger,
    Smaller,
    Category,
}

impl Op {
    fn from_name(name: &str) -> Option<Op> {
        Some(match name.to_ascii_lowercase().as_str() {
            "from" => Op::From,
            "to" => Op::To,
            "cc" => Op::Cc,
            "bcc" => Op::Bcc,
            "subject" => Op::Subject,
            "label" => Op::Label,
            "in" => Op::In,
            "is" => Op::Is,
            "has" => Op::Has,
            "filename" => Op::Filename,
            "after" | "newer" => Op::After,
            "before" | "older" => Op::Before,
            "older_than" => Op::OlderThan,
            "newer_than" => Op::NewerThan,
            "rfc822msgid" => Op::Rfc822MsgId,
            "larger" | "size" => Op::Larger,
            "smaller" => Op::Smaller,
            "category" => Op::Category,
            _ => return None,
        })
    }
}

impl Query {
    /// Parses `q`. An empty or blank query matches everything.
    pub(crate) fn parse(q: &str, ctx: &ParseContext<'_>) -> Result<Query, InvalidQuery> {
        let mut parser = Parser {
            chars: q.chars().collect(),
            pos: 0,
            ctx,
            mentions_spam_or_trash: false,
        };
        let root = parser.parse_and(None, None)?;
        Ok(Query {
            root,
            mentions_spam_or_trash: parser.mentions_spam_or_trash,
        })
    }

    /// A Message-ID every match must carry (`rfc822msgid:` at the top level), so a listing can
    /// look messages up by it instead of scanning the mailbox.
    pub(crate) fn required_message_id(&self) -> Option<&str> {
        match &self.root {
            Node::Term(Term::Rfc822MsgId(id)) => Some(id),
            Node::And(items) => items.iter().find_map(|n| match n {
                Node::Term(Term::Rfc822MsgId(id)) => Some(id.as_str()),
                _ => None,
            }),
            _ => None,
        }
    }

    pub(crate) fn matches(&self, c: &Candidate<'_>) -> bool {
        eval(&self.root, c)
    }
}

fn eval(node: &Node, c: &Candidate<'_>) -> bool {
    match node {
        Node::And(items) => items.iter().all(|n| eval(n, c)),
        Node::Or(items) => items.iter().any(|n| eval(n, c)),
        Node::Not(inner) => !eval(inner, c),
        Node::Term(t) => eval_term(t, c),
    }
}

fn eval_term(t: &Term, c: &Candidate<'_>) -> bool {
    let s = c.search;
    match t {
        Term::Text(w) => contains_word(&s.text, w),
        Term::From(v) => s.from.contains(v.as_str()),
        Term::To(v) => {
            s.to.contains(v.as_str()) || s.cc.contains(v.as_str()) || s.bcc.contains(v.as_str())
        }
        Term::Cc(v) => s.cc.contains(v.as_str()),
        Term::Bcc(v) => s.bcc.contains(v.as_str()),
        Term::Subject(w) => contains_word(&s.subject, w),
        Term::Label(id) => c.labels.iter().any(|l| l == id),
        Term::NotLabel(id) => !c.labels.iter().any(|l| l == id),
        Term::HasAttachment => s.has_attachment,
        Term::HasUserLabels => c.labels.iter().any(|l| l.starts_with("Label_")),
        Term::Filename(v) => s.filenames.iter().any(|f| f.contains(v.as_str())),
        Term::OnOrAfter(ms) => c.internal_date >= *ms,
        Term::Before(ms) => c.internal_date < *ms,
        Term::Rfc822MsgId(id) => s.message_id == *id,
        Term::Larger(n) => c.size > *n,
        Term::Smaller(n) => c.size < *n,
        Term::Everything => true,
        Term::Nothing => false,
    }
}

/// Whether `needle` occurs in `hay` with no letter or digit right before or after it.
fn contains_word(hay: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    let mut start = 0;
    while let Some(found) = hay[start..].find(needle) {
        let at = start + found;
        let end = at + needle.len();
        let before_ok = hay[..at]
            .chars()
            .next_back()
            .is_none_or(|ch| !ch.is_alphanumeric())
            || !needle.chars().next().is_some_and(char::is_alphanumeric);
        let after_ok = hay[end..]
            .chars()
            .next()
            .is_none_or(|ch| !ch.is_alphanumeric())
            || !needle
                .chars()
                .next_back()
                .is_some_and(char::is_alphanumeric);
        if before_ok && after_ok {
            return true;
        }
        start = at + hay[at..].chars().next().map_or(1, char::len_utf8);
    }
    false
}

struct Parser<'a, 'b> {
    chars: Vec<char>,
    pos: usize,
    ctx: &'a ParseContext<'b>,
    mentions_spam_or_trash: bool,
}

fn invalid(msg: impl Into<String>) -> InvalidQuery {
    InvalidQuery(msg.into())
}

fn is_delimiter(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | '{' | '}' | '"')
}

impl Parser<'_, '_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    /// Whether the keyword `kw` stands at the current position as a whole token.
    fn at_keyword(&self, kw: &str) -> bool {
        let n = kw.chars().count();
        let matches = self.chars[self.pos..]
            .iter()
            .take(n)
            .copied()
            .eq(kw.chars());
        matches
            && self
                .chars
                .get(self.pos + n)
                .is_none_or(|c| c.is_whitespace() || matches!(c, '(' | '{' | '"'))
    }

    /// A sequence of OR-expressions, ANDed, until `close` (consumed) or the end.
    fn parse_and(&mut self, op: Option<Op>, close: Option<char>) -> Result<Node, InvalidQuery> {
        let mut items = Vec::new();
        loop {
            self.skip_ws();
            match self.peek() {
                None => {
                    if close.is_some() {
                        return Err(invalid("unbalanced parentheses"));
                    }
                    break;
                }
                Some(c) if Some(c) == close => {
                    self.pos += 1;
                    break;
                }
                Some(')') | Some('}') => return Err(invalid("unbalanced parentheses")),
                Some(_) => {
                    if self.at_keyword("AND") {
                        if items.is_empty() {
                            return Err(invalid("AND without a left operand"));
                        }
                        self.pos += 3;
                        continue;
                    }
                    if self.at_keyword("OR") {
                        return Err(invalid("OR without a left operand"));
                    }
                    items.push(self.parse_or(op, close)?);
                }
            }
        }
        if items.is_empty() && close.is_some() {
            return Err(invalid("empty group"));
        }
        Ok(if items.len() == 1 {
            items.pop().unwrap_or(Node::And(Vec::new()))
        } else {
            Node::And(items)
        })
    }

    fn parse_or(&mut self, op: Option<Op>, close: Option<char>) -> Result<Node, InvalidQuery> {
        let mut alternatives = vec![self.parse_unary(op)?];
        loop {
            let save = self.pos;
            self.skip_ws();
            if self.at_keyword("OR") {
                self.pos += 2;
                self.skip_ws();
                match self.peek() {
                    None => return Err(invalid("OR without a right operand")),
                    Some(c) if Some(c) == close || c == ')' || c == '}' => {
                        return Err(invalid("OR without a right operand"));
                    }
                    _ => {}
                }
                alternatives.push(self.parse_unary(op)?);
            } else {
                self.pos = save;
                break;
            }
        }
        Ok(if alternatives.len() == 1 {
            alternatives.pop().unwrap_or(Node::Or(Vec::new()))
        } else {
            Node::Or(alternatives)
        })
    }

    fn parse_unary(&mut self, op: Option<Op>) -> Result<Node, InvalidQuery> {
        if self.peek() == Some('-')
            && self
                .chars
                .get(self.pos + 1)
                .is_some_and(|c| !c.is_whitespace() && *c != ')' && *c != '}')
        {
            self.pos += 1;
            return Ok(Node::Not(Box::new(self.parse_unary(op)?)));
        }
        self.parse_primary(op)
    }

    fn parse_primary(&mut self, op: Option<Op>) -> Result<Node, InvalidQuery> {
        match self.peek() {
            Some('(') => {
                self.pos += 1;
                self.parse_and(op, Some(')'))
            }
            Some('{') => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_ws();
                    match self.peek() {
                        None => return Err(invalid("unbalanced braces")),
                        Some('}') => {
                            self.pos += 1;
                            break;
                        }
                        Some(')') => return Err(invalid("unbalanced braces")),
                        Some(_) => {
                            if self.at_keyword("OR") {
                                self.pos += 2;
                                continue;
                            }
                            items.push(self.parse_unary(op)?);
                        }
                    }
                }
                if items.is_empty() {
                    return Err(invalid("empty group"));
                }
                Ok(Node::Or(items))
            }
            Some('"') => {
                let phrase = self.read_phrase()?;
                self.term(op, &phrase)
            }
            Some(')') | Some('}') => Err(invalid("unbalanced parentheses")),
            None => Err(invalid("missing term")),
            Some(_) => {
                let start = self.pos;
                while self.peek().is_some_and(|c| !is_delimiter(c)) {
                    self.pos += 1;
                }
                let word: String = self.chars[start..self.pos].iter().collect();
                if op.is_none()
                    && let Some((name, value)) = word.split_once(':')
                    && let Some(new_op) = Op::from_name(name)
                {
                    if !value.is_empty() {
                        return self.term(Some(new_op), value);
                    }
                    return match self.peek() {
                        Some('(') | Some('{') | Some('"') => self.parse_primary(Some(new_op)),
                        _ => Err(invalid(format!("{name}: needs a value"))),
                    };
                }
                self.term(op, &word)
            }
        }
    }

    fn read_phrase(&mut self) -> Result<String, InvalidQuery> {
        self.pos += 1;
        let start = self.pos;
        while self.peek().is_some_and(|c| c != '"') {
            self.pos += 1;
        }
        if self.peek() != Some('"') {
            return Err(invalid("unterminated quote"));
        }
        let phrase: String = self.chars[start..self.pos].iter().collect();
        self.pos += 1;
        Ok(phrase)
    }

    fn term(&mut self, op: Option<Op>, value: &str) -> Result<Node, InvalidQuery> {
        let lower = crate::mailbox::message::collapse_whitespace(&value.to_lowercase());
        let me = || self.ctx.me.to_lowercase();
        let address = |v: &str| if v == "me" { me() } else { v.to_string() };
        let term = match op {
            None => {
                if lower.is_empty() {
                    Term::Everything
                } else {
                    Term::Text(lower)
                }
            }
            Some(Op::From) => Term::From(address(&lower)),
            Some(Op::To) => Term::To(address(&lower)),
            Some(Op::Cc) => Term::Cc(address(&lower)),
            Some(Op::Bcc) => Term::Bcc(address(&lower)),
            Some(Op::Subject) => Term::Subject(lower),
            Some(Op::Label) => self.label(&lower),
            Some(Op::In) => match lower.as_str() {
                "anywhere" | "all" => {
                    self.mentions_spam_or_trash = true;
                    Term::Everything
                }
                "drafts" | "draft" => Term::Label("DRAFT".into()),
                "chats" | "chat" => Term::Label("CHAT".into()),
                other => self.label(other),
            },
            Some(Op::Is) => match lower.as_str() {
                "unread" => Term::Label("UNREAD".into()),
                "read" => Term::NotLabel("UNREAD".into()),
                "starred" => Term::Label("STARRED".into()),
                "important" => Term::Label("IMPORTANT".into()),
                "chat" => Term::Label("CHAT".into()),
                _ => Term::Nothing,
            },
            Some(Op::Has) => match lower.as_str() {
                "attachment" => Term::HasAttachment,
                "userlabels" => Term::HasUserLabels,
                "nouserlabels" => return Ok(Node::Not(Box::new(Node::Term(Term::HasUserLabels)))),
                _ => Term::Nothing,
            },
            Some(Op::Category) => match lower.as_str() {
                "primary" | "personal" => Term::Label("CATEGORY_PERSONAL".into()),
                "social" => Term::Label("CATEGORY_SOCIAL".into()),
                "promotions" => Term::Label("CATEGORY_PROMOTIONS".into()),
                "updates" => Term::Label("CATEGORY_UPDATES".into()),
                "forums" => Term::Label("CATEGORY_FORUMS".into()),
                _ => Term::Nothing,
            },
            Some(Op::Filename) => Term::Filename(lower),
            Some(Op::After) => Term::OnOrAfter(parse_date(&lower)?),
            Some(Op::Before) => Term::Before(parse_date(&lower)?),
            Some(Op::OlderThan) => Term::Before(self.ctx.now_millis - parse_age(&lower)?),
            Some(Op::NewerThan) => Term::OnOrAfter(self.ctx.now_millis - parse_age(&lower)?),
            Some(Op::Rfc822MsgId) => {
                Term::Rfc822MsgId(crate::mailbox::message::strip_angle(&lower))
            }
            Some(Op::Larger) => Term::Larger(parse_size(&lower)?),
            Some(Op::Smaller) => Term::Smaller(parse_size(&lower)?),
        };
        Ok(Node::Term(term))
    }

    fn label(&mut self, name: &str) -> Term {
        let form = crate::mailbox::labels::search_form(name);
        match (self.ctx.label_id)(&form) {
            Some(id) => {
                if id == "SPAM" || id == "TRASH" {
                    self.mentions_spam_or_trash = true;
                }
                Term::Label(id)
            }
            None => Term::Nothing,
        }
    }
}

/// `2024/01/31`, `2024-01-31`, `2024/1/3` (UTC midnight) or epoch seconds.
fn parse_date(v: &str) -> Result<i64, InvalidQuery> {
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        let secs: i64 = v.parse().map_err(|_| invalid("bad date"))?;
        return Ok(secs.saturating_mul(1000));
    }
    let parts: Vec<&str> = v.split(['/', '-']).collect();
    if parts.len() == 3 {
        let nums: Option<Vec<u32>> = parts.iter().map(|p| p.parse().ok()).collect();
        if let Some(n) = nums {
            let date = if parts[0].len() == 4 {
                NaiveDate::from_ymd_opt(n[0] as i32, n[1], n[2])
            } else {
                NaiveDate::from_ymd_opt(n[2] as i32, n[0], n[1])
            };
            if let Some(d) = date.and_then(|d| d.and_hms_opt(0, 0, 0)) {
                return Ok(d.and_utc().timestamp_millis());
            }
        }
    }
    Err(invalid(format!("bad date: {v}")))
}

/// `3d`, `2m`, `1y`, `12h` in ms.
fn parse_age(v: &str) -> Result<i64, InvalidQuery> {
    let unit_len = v.chars().next_back().map_or(0, char::len_utf8);
    let (num, unit) = v.split_at(v.len() - unit_len);
    let n: i64 = num.parse().map_err(|_| invalid(format!("bad age: {v}")))?;
    let unit_ms: i64 = match unit {
        "h" => 3_600_000,
        "d" => 86_400_000,
        "m" => 30 * 86_400_000,
        "y" => 365 * 86_400_000,
        _ => return Err(invalid(format!("bad age: {v}"))),
    };
    Ok(n.saturating_mul(unit_ms))
}

/// `1000`, `10k`, `5M` in bytes.
fn parse_size(v: &str) -> Result<usize, InvalidQuery> {
    let (num, mult) = match v.chars().last() {
        Some('k') => (&v[..v.len() - 1], 1024),
        Some('m') => (&v[..v.len() - 1], 1024 * 1024),
        _ => (v, 1),
    };
    num.parse::<usize>()
        .map(|n| n.saturating_mul(mult))
        .map_err(|_| invalid(format!("bad size: {v}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> SearchIndex {
        SearchIndex {
            text: "quarterly report <alice@example.com> <bob@example.com> please find the report attached. it's done report.pdf".into(),
            from: "alice smith <alice@example.com>".into(),
            to: "<bob@example.com>".into(),
            cc: String::new(),
            bcc: String::new(),
            subject: "quarterly report".into(),
            filenames: vec!["report.pdf".into()],
            has_attachment: true,
            message_id: "abc@example.com".into(),
        }
    }

    fn check(q: &str, labels: &[&str]) -> bool {
        let resolve = |name: &str| -> Option<String> {
            match name {
                "inbox" => Some("INBOX".into()),
                "trash" => Some("TRASH".into()),
                "my-stuff" => Some("Label_1".into()),
                _ => None,
            }
        };
        let ctx = ParseContext {
            me: "bob@example.com",
            now_millis: 10 * 86_400_000,
            label_id: &resolve,
        };
        let query = Query::parse(q, &ctx).unwrap();
        let labels: Vec<String> = labels.iter().map(|s| s.to_string()).collect();
        let idx = index();
        query.matches(&Candidate {
            search: &idx,
            labels: &labels,
            internal_date: 9 * 86_400_000,
            size: 2000,
        })
    }

    #[test]
    fn operators() {
        assert!(check("from:alice", &[]));
        assert!(check("from:example.com", &[]));
        assert!(!check("from:bob", &[]));
        assert!(check("to:me", &[]));
        assert!(check("subject:quarterly", &[]));
        assert!(check("subject:(quarterly report)", &[]));
        assert!(!check("subject:(quarterly done)", &[]));
        assert!(check("label:my-stuff", &["Label_1"]));
        assert!(check("in:inbox is:unread", &["INBOX", "UNREAD"]));
        assert!(check("is:read", &["INBOX"]));
        assert!(check("has:attachment filename:pdf", &[]));
        assert!(!check("filename:doc", &[]));
        assert!(check("rfc822msgid:<abc@example.com>", &[]));
        assert!(check("rfc822msgid:abc@example.com", &[]));
        assert!(check("newer_than:2d", &[]));
        assert!(!check("older_than:2d", &[]));
        assert!(check("after:1970/01/05 before:1970-01-11", &[]));
        assert!(check("after:86400", &[]));
        assert!(check("larger:1k smaller:1M", &[]));
    }

    #[test]
    fn words_phrases_and_boolean_structure() {
        assert!(check("report", &[]));
        assert!(!check("port", &[]));
        assert!(check("\"find the report\"", &[]));
        assert!(!check("\"report find\"", &[]));
        assert!(check("nothing OR report", &[]));
        assert!(check("{nothing report}", &[]));
        assert!(!check("-report", &[]));
        assert!(check("-nothing report", &[]));
        assert!(check("(nothing OR quarterly) (report)", &[]));
        assert!(check("nothing OR(report)", &[]));
        assert!(check("ORACLE OR report", &[]));
        assert!(check("it's", &[]));
        assert!(check("", &[]));
        assert!(check("foo:bar OR report", &[]));
    }

    #[test]
    fn arbitrary_input_never_panics() {
        use rand::Rng;
        let ctx = ParseContext {
            me: "me@x",
            now_millis: 0,
            label_id: &|_: &str| Some("Label_1".to_string()),
        };
        let alphabet: Vec<char> = "ab :-\"(){}ORAND0123456789/é€ \u{0}dmyhkKM<>@."
            .chars()
            .collect();
        let mut rng = rand::rng();
        let idx = index();
        for _ in 0..5000 {
            let len = rng.random_range(0..24);
            let mut q: String = (0..len)
                .map(|_| alphabet[rng.random_range(0..alphabet.len())])
                .collect();
            if rng.random_bool(0.3) {
                let ops = [
                    "from:",
                    "older_than:",
                    "after:",
                    "larger:",
                    "label:",
                    "is:",
                    "in:",
                ];
                q.insert_str(0, ops[rng.random_range(0..ops.len())]);
            }
            if let Ok(query) = Query::parse(&q, &ctx) {
                query.matches(&Candidate {
                    search: &idx,
                    labels: &[],
                    internal_date: 0,
                    size: 1,
                });
            }
        }
        assert!(Query::parse("older_than:3é", &ctx).is_err());
    }

    #[test]
    fn malformed_queries_are_rejected() {
        let ctx = ParseContext {
            me: "me@x",
            now_millis: 0,
            label_id: &|_: &str| None,
        };
        for bad in [
            "(a b",
            "a b)",
            "\"open",
            "a OR",
            "OR a",
            "after:yesterday",
            "older_than:3w",
            "from:",
            "{a b",
            "()",
        ] {
            assert!(Query::parse(bad, &ctx).is_err(), "{bad} should be invalid");
        }
    }
}
