//! Reads what `nft list` prints back into objects: the `kube-proxy` table of one family out of
//! `nft list table ip kube-proxy`, `nft list table ip6 kube-proxy` or `nft list ruleset` (other
//! tables are skipped).
//!
//! The syntax understood is nftables 1.0.6's listing (the version the `list` form is checked
//! with, see [`super::list`]): a `table FAMILY NAME {` block holding `set`, `map` and `chain`
//! blocks. Each object is read into a normalized form so that two listings of the same table
//! compare equal whatever nft's re-serialization did:
//! - chains: base-chain type, hook, priority as a number (`dstnat - 10` is -110) and policy;
//!   the comment; the rules in order, each with runs of blanks collapsed, counter values
//!   dropped (`counter packets 3 bytes 180` is `counter`) and its trailing comment apart;
//! - sets and maps: key and value types, `size`, flags (sorted), the default timeout in
//!   milliseconds (`3h` and `10800s` are equal), other properties as printed, the comment, and
//!   the elements keyed by their key (nft's element order and line wrapping do not count), each
//!   with its comment and verdict. An element's `timeout` and `expires` are runtime state (a
//!   dynamic set's learned entries) and are dropped; addresses in keys are re-printed in
//!   canonical form.
//!
//! `# handle N` annotations (`nft -a`) are ignored. Anything else is an error naming the file
//! and line ([`Error::Dump`]); no input makes the parser panic.
//!
//! # Example
//! ```
//! use svccore::render::nftables::{parse::parse_listing, Family};
//! let text = "table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n\t}\n}\n\
//!             table ip kube-proxy {\n\tchain nat-output {\n\t\ttype nat hook output priority -100; policy accept;\n\t\tjump services\n\t}\n}\n";
//! let t = parse_listing(text, Some("node.txt"), Family::Ip).unwrap();
//! let c = &t.chains[0];
//! assert_eq!((c.name.as_str(), c.base.as_ref().unwrap().priority), ("nat-output", -100));
//! assert_eq!(c.rules[0].text, "jump services");
//! let err = parse_listing("table ip kube-proxy {\n\tbogus\n}\n", Some("node.txt"), Family::Ip);
//! assert_eq!(err.unwrap_err().to_string(), "cannot parse dump: node.txt: line 2: \
//!     unexpected `bogus` in table ip kube-proxy: expected a set, map or chain block, a comment, flags or `}`");
//! ```

use std::collections::HashSet;
use std::net::IpAddr;

use ipnet::IpNet;

use super::model::Family;
use super::names::TABLE;
use crate::{Error, Issue, Result};

/// The `kube-proxy` table of one family, as listed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListedTable {
    /// Whether the listing had the table at all.
    pub found: bool,
    /// The table's comment.
    pub comment: Option<String>,
    /// The table's flags (`dormant`, `owner`), sorted.
    pub flags: Vec<String>,
    /// Chains in listing order.
    pub chains: Vec<ListedChain>,
    /// Sets and maps in listing order.
    pub sets: Vec<ListedSet>,
}

/// A chain's base-chain properties.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedBase {
    /// `filter`, `nat`, `route`.
    pub chain_type: String,
    /// The hook (`prerouting`, …).
    pub hook: String,
    /// The priority as a number.
    pub priority: i32,
    /// The policy (`accept` when not printed).
    pub policy: String,
}

/// A chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedChain {
    /// Its name.
    pub name: String,
    /// The line of `chain NAME {`.
    pub line: usize,
    /// Hook, type, priority and policy of a base chain.
    pub base: Option<ListedBase>,
    /// The chain's comment.
    pub comment: Option<String>,
    /// The rules, in order.
    pub rules: Vec<ListedRule>,
}

/// A rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedRule {
    /// The rule without its comment, blanks collapsed, counter values dropped.
    pub text: String,
    /// The rule's comment (between its quotes).
    pub comment: Option<String>,
    /// Its line.
    pub line: usize,
}

/// A set or a map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedSet {
    /// Its name.
    pub name: String,
    /// The line of `set NAME {` / `map NAME {`.
    pub line: usize,
    /// Whether it is a map.
    pub is_map: bool,
    /// The key type (`ipv4_addr . inet_proto . inet_service`; `typeof …` as printed).
    pub key_type: String,
    /// A map's value type (`verdict`).
    pub value_type: Option<String>,
    /// `size N`.
    pub size: Option<u64>,
    /// The flags, sorted.
    pub flags: Vec<String>,
    /// The default element timeout in milliseconds.
    pub timeout_ms: Option<u64>,
    /// Other properties as printed (`gc-interval 1m`, `policy memory`, `auto-merge`, `counter`).
    pub other: Vec<String>,
    /// The comment.
    pub comment: Option<String>,
    /// The elements, in listing order (keys are unique).
    pub elements: Vec<ListedElement>,
}

impl ListedSet {
    /// Whether the set is filled from the packet path (`flags dynamic`): its elements are state.
    pub fn is_dynamic(&self) -> bool {
        self.flags.iter().any(|f| f == "dynamic")
    }
}

/// A set or map element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedElement {
    /// The key (` . `-separated parts, addresses canonical).
    pub key: String,
    /// The element's comment.
    pub comment: Option<String>,
    /// A map element's value (`goto CHAIN`, `drop`).
    pub value: Option<String>,
}

fn err(file: Option<&str>, line: usize, msg: impl Into<String>) -> Error {
    Error::Dump(Issue::new(file, format!("line {line}"), msg))
}

/// A line without a trailing `# …` annotation (outside quotes), trimmed.
fn strip_annotation(line: &str) -> &str {
    let mut quoted = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '#' if !quoted => return line[..i].trim(),
            _ => {}
        }
    }
    line.trim()
}

/// The net brace depth change of a line (braces inside quotes do not count).
fn brace_delta(line: &str) -> i64 {
    let mut quoted = false;
    let mut d = 0i64;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            '{' if !quoted => d += 1,
            '}' if !quoted => d -= 1,
            _ => {}
        }
    }
    d
}

/// Splits at blanks outside quotes; a quoted string stays one word (quotes kept).
fn words(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let mut quoted = false;
    for (i, c) in s.char_indices() {
        if c == '"' {
            quoted = !quoted;
        }
        if c.is_whitespace() && !quoted {
            if let Some(st) = start.take() {
                out.push(&s[st..i]);
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(st) = start {
        out.push(&s[st..]);
    }
    out
}

/// `"text"` → `text`; `None` when the word is not one quoted string.
fn unquote(w: &str) -> Option<&str> {
    let inner = w.strip_prefix('"')?.strip_suffix('"')?;
    (!inner.contains('"')).then_some(inner)
}

/// A name token: what nft prints for a set, map or chain name (no blanks, braces or quotes).
fn name_ok(n: &str) -> bool {
    !n.is_empty() && !n.contains(['{', '}', '"', ';'])
}

/// The standard priority names of the `ip` and `ip6` families.
fn priority_name(n: &str) -> Option<i32> {
    match n {
        "raw" => Some(-300),
        "mangle" => Some(-150),
        "dstnat" => Some(-100),
        "filter" => Some(0),
        "security" => Some(50),
        "srcnat" => Some(100),
        _ => None,
    }
}

/// `-110`, `filter`, `dstnat - 10`, `mangle + 5`.
fn parse_priority(ws: &[&str]) -> Option<i32> {
    match ws {
        [n] => n.parse().ok().or_else(|| priority_name(n)),
        [n, op, off] => {
            let base = priority_name(n)?;
            let off: i32 = off.parse().ok()?;
            match *op {
                "+" => base.checked_add(off),
                "-" => base.checked_sub(off),
                _ => None,
            }
        }
        _ => None,
    }
}

/// nft's duration text (`3h`, `1d2h3m4s`, `59m59s996ms`, `10800s`) in milliseconds.
pub fn parse_duration_ms(s: &str) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let mut total: u64 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let scale: u64 = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total = total.checked_add(n.checked_mul(scale)?)?;
    }
    Some(total)
}

/// A key part in canonical form: addresses and prefixes re-printed, anything else as is.
fn canonical_part(p: &str) -> String {
    if let Ok(ip) = p.parse::<IpAddr>() {
        return ip.to_string();
    }
    if let Ok(n) = p.parse::<IpNet>() {
        return n.to_string();
    }
    p.to_owned()
}

/// Collapses blanks outside quotes into single spaces.
fn collapse(s: &str) -> String {
    words(s).join(" ")
}

/// A rule line → (text, comment): counter values dropped, the trailing comment split off.
fn rule_of(line: &str) -> (String, Option<String>) {
    let ws = words(line);
    let mut out: Vec<&str> = Vec::with_capacity(ws.len());
    let mut comment = None;
    let mut i = 0;
    while i < ws.len() {
        if ws[i] == "counter"
            && ws.get(i + 1) == Some(&"packets")
            && ws.get(i + 3) == Some(&"bytes")
            && ws.len() > i + 4
        {
            out.push("counter");
            i += 5;
            continue;
        }
        if ws[i] == "comment" && i + 2 == ws.len() {
            if let Some(c) = unquote(ws[i + 1]) {
                comment = Some(c.to_owned());
                break;
            }
        }
        out.push(ws[i]);
        i += 1;
    }
    (out.join(" "), comment)
}

/// Splits an `elements = { … }` body (without its outer braces) at top-level commas.
fn split_elements(body: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut quoted = false;
    let mut depth = 0i64;
    let mut start = 0;
    for (i, c) in body.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '{' if !quoted => depth += 1,
            '}' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                out.push(body[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(body[start..].trim());
    out.retain(|e| !e.is_empty());
    out
}

/// One element's text: `KEY [timeout T] [expires E] [comment "C"] [: VALUE]`.
fn element_of(text: &str) -> std::result::Result<ListedElement, String> {
    let ws = words(text);
    let colon = ws.iter().position(|w| *w == ":");
    let (head, value) = match colon {
        Some(k) => {
            if k + 1 >= ws.len() {
                return Err(format!("element `{text}` has `:` but no value"));
            }
            (&ws[..k], Some(ws[k + 1..].join(" ")))
        }
        None => (&ws[..], None),
    };
    let mut key: Vec<&str> = Vec::new();
    let mut comment = None;
    let mut i = 0;
    while i < head.len() {
        match head[i] {
            "timeout" | "expires" => {
                if head.get(i + 1).and_then(|d| parse_duration_ms(d)).is_none() {
                    return Err(format!("element `{text}`: `{}` needs a duration", head[i]));
                }
                i += 2;
            }
            "comment" => {
                let c = head
                    .get(i + 1)
                    .and_then(|w| unquote(w))
                    .ok_or_else(|| format!("element `{text}`: `comment` needs a quoted string"))?;
                comment = Some(c.to_owned());
                i += 2;
            }
            "counter" => {
                // `counter packets N bytes M` on elements of sets with counters.
                i += if head.get(i + 1) == Some(&"packets") {
                    5
                } else {
                    1
                };
            }
            w => {
                if w.contains(['{', '}', '"']) {
                    return Err(format!("element `{text}`: unexpected `{w}`"));
                }
                key.push(w);
                i += 1;
            }
        }
    }
    if key.is_empty() {
        return Err(format!("element `{text}` has no key"));
    }
    let key = key
        .join(" ")
        .split(" . ")
        .map(canonical_part)
        .collect::<Vec<_>>()
        .join(" . ");
    Ok(ListedElement {
        key,
        comment,
        value,
    })
}

enum State {
    Top,
    /// Inside a table that is not the one asked for: skip to its closing brace.
    Skip(i64),
    Table,
    Chain(ListedChain),
    Set(ListedSet),
    /// Inside `elements = { …` of a set: the text so far and the brace depth.
    Elements(ListedSet, String, i64, usize),
}

/// Reads the `kube-proxy` table of `family` out of `nft list` output; other tables (other names
/// or families) are skipped. A listing without it gives a table with `found: false`.
///
/// # Errors
/// [`Error::Dump`] naming `file` and the line for anything that is not nft 1.0.6 listing syntax,
/// a second `kube-proxy` table of the family, or an unterminated block.
pub fn parse_listing(text: &str, file: Option<&str>, family: Family) -> Result<ListedTable> {
    let want = family.as_str();
    let mut t = ListedTable::default();
    let mut state = State::Top;
    let mut last = 0;
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        last = n;
        let line = strip_annotation(raw);
        state = match state {
            State::Top => {
                if line.is_empty() {
                    State::Top
                } else {
                    let ws = words(line);
                    match ws.as_slice() {
                        ["table", fam, name, "{", ..] => {
                            if *fam == want && *name == TABLE {
                                if t.found {
                                    return Err(err(
                                        file,
                                        n,
                                        format!("a second table {want} {TABLE}"),
                                    ));
                                }
                                t.found = true;
                                if brace_delta(line) != 1 {
                                    return Err(err(
                                        file,
                                        n,
                                        format!(
                                            "expected a line break after `table {want} {TABLE} {{`"
                                        ),
                                    ));
                                }
                                State::Table
                            } else {
                                let d = brace_delta(line);
                                if d <= 0 {
                                    State::Top
                                } else {
                                    State::Skip(d)
                                }
                            }
                        }
                        [first, ..]
                            if matches!(
                                *first,
                                "add" | "flush" | "delete" | "insert" | "create"
                            ) =>
                        {
                            return Err(err(
                                file,
                                n,
                                format!(
                                    "`{first} …` is nft input (a command), not `nft list` output"
                                ),
                            ));
                        }
                        _ => {
                            return Err(err(
                                file,
                                n,
                                format!("expected `table FAMILY NAME {{`, found `{}`", clip(line)),
                            ))
                        }
                    }
                }
            }
            State::Skip(d) => {
                let d = d + brace_delta(line);
                if d <= 0 {
                    State::Top
                } else {
                    State::Skip(d)
                }
            }
            State::Table => table_line(&mut t, line, file, n, want)?,
            State::Chain(mut c) => {
                if line == "}" {
                    t.chains.push(c);
                    State::Table
                } else if line.is_empty() {
                    State::Chain(c)
                } else {
                    chain_line(&mut c, line, file, n)?;
                    State::Chain(c)
                }
            }
            State::Set(mut s) => {
                if line == "}" {
                    t.sets.push(s);
                    State::Table
                } else if line.is_empty() {
                    State::Set(s)
                } else if let Some(rest) = line.strip_prefix("elements = ") {
                    let d = brace_delta(rest);
                    if !rest.starts_with('{') {
                        return Err(err(file, n, "expected `elements = { …`"));
                    }
                    let acc = rest.to_owned();
                    if d == 0 {
                        finish_elements(&mut s, &acc, file, n)?;
                        State::Set(s)
                    } else if d < 0 {
                        return Err(err(file, n, "unbalanced `}` in elements"));
                    } else {
                        State::Elements(s, acc, d, n)
                    }
                } else {
                    set_line(&mut s, line, file, n)?;
                    State::Set(s)
                }
            }
            State::Elements(mut s, mut acc, d, start) => {
                acc.push(' ');
                acc.push_str(line);
                let d = d + brace_delta(line);
                if d == 0 {
                    finish_elements(&mut s, &acc, file, start)?;
                    State::Set(s)
                } else if d < 0 {
                    return Err(err(file, n, "unbalanced `}` in elements"));
                } else {
                    State::Elements(s, acc, d, start)
                }
            }
        };
    }
    match state {
        State::Top | State::Skip(_) => {
            // Names are unique per kind: the second use is the error.
            let mut seen = HashSet::with_capacity(t.chains.len());
            if let Some(c) = t.chains.iter().find(|c| !seen.insert(c.name.as_str())) {
                return Err(err(file, c.line, format!("a second chain {}", c.name)));
            }
            let mut seen = HashSet::with_capacity(t.sets.len());
            if let Some(s) = t.sets.iter().find(|s| !seen.insert(s.name.as_str())) {
                return Err(err(file, s.line, format!("a second set or map {}", s.name)));
            }
            Ok(t)
        }
        State::Table => Err(err(
            file,
            last,
            format!("table {want} {TABLE} is not closed with `}}`"),
        )),
        State::Chain(c) => Err(err(
            file,
            c.line,
            format!("chain {} is not closed with `}}`", c.name),
        )),
        State::Set(s) | State::Elements(s, ..) => Err(err(
            file,
            s.line,
            format!(
                "{} {} is not closed with `}}`",
                if s.is_map { "map" } else { "set" },
                s.name
            ),
        )),
    }
}

/// A line cut for an error message.
fn clip(s: &str) -> String {
    if s.chars().count() > 60 {
        let cut: String = s.chars().take(57).collect();
        format!("{cut}...")
    } else {
        s.to_owned()
    }
}

fn table_line(
    t: &mut ListedTable,
    line: &str,
    file: Option<&str>,
    n: usize,
    want: &str,
) -> Result<State> {
    if line.is_empty() {
        return Ok(State::Table);
    }
    if line == "}" {
        return Ok(State::Top);
    }
    let ws = words(line);
    match ws.as_slice() {
        ["comment", c] => {
            let c = unquote(c).ok_or_else(|| err(file, n, "a comment needs a quoted string"))?;
            t.comment = Some(c.to_owned());
            Ok(State::Table)
        }
        ["flags", f] => {
            let mut v: Vec<String> = f.split(',').map(str::to_owned).collect();
            if v.iter().any(String::is_empty) {
                return Err(err(file, n, format!("bad table flags `{f}`")));
            }
            v.sort();
            t.flags = v;
            Ok(State::Table)
        }
        [kind @ ("set" | "map" | "chain"), name, "{"] if name_ok(name) => {
            if *kind == "chain" {
                Ok(State::Chain(ListedChain {
                    name: (*name).to_owned(),
                    line: n,
                    base: None,
                    comment: None,
                    rules: Vec::new(),
                }))
            } else {
                Ok(State::Set(ListedSet {
                    name: (*name).to_owned(),
                    line: n,
                    is_map: *kind == "map",
                    key_type: String::new(),
                    value_type: None,
                    size: None,
                    flags: Vec::new(),
                    timeout_ms: None,
                    other: Vec::new(),
                    comment: None,
                    elements: Vec::new(),
                }))
            }
        }
        [first, ..] => Err(err(
            file,
            n,
            format!(
                "unexpected `{}` in table {want} {TABLE}: expected a set, map or chain block, a comment, flags or `}}`",
                clip(if matches!(*first, "set" | "map" | "chain") { line } else { first })
            ),
        )),
        [] => Ok(State::Table),
    }
}

fn chain_line(c: &mut ListedChain, line: &str, file: Option<&str>, n: usize) -> Result<()> {
    if line.starts_with("type ") && line.contains(" hook ") {
        if c.base.is_some() || !c.rules.is_empty() {
            return Err(err(
                file,
                n,
                format!("chain {}: a second or late `type … hook …` line", c.name),
            ));
        }
        // `type T hook H [device D] priority P; policy X;`
        let mut base = ListedBase {
            chain_type: String::new(),
            hook: String::new(),
            priority: 0,
            policy: "accept".to_owned(),
        };
        let mut have_priority = false;
        for part in line.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let ws = words(part);
            match ws.as_slice() {
                ["type", ty, "hook", hook, rest @ ..] => {
                    base.chain_type = (*ty).to_owned();
                    base.hook = (*hook).to_owned();
                    let rest = match rest {
                        ["device", _, r @ ..] => r,
                        r => r,
                    };
                    match rest {
                        ["priority", p @ ..] => {
                            base.priority = parse_priority(p).ok_or_else(|| {
                                err(
                                    file,
                                    n,
                                    format!("chain {}: bad priority `{}`", c.name, p.join(" ")),
                                )
                            })?;
                            have_priority = true;
                        }
                        _ => {
                            return Err(err(
                                file,
                                n,
                                format!("chain {}: expected `priority` after the hook", c.name),
                            ))
                        }
                    }
                }
                ["policy", p] => base.policy = (*p).to_owned(),
                _ => {
                    return Err(err(
                        file,
                        n,
                        format!(
                            "chain {}: unexpected `{}` in its base-chain line",
                            c.name,
                            clip(part)
                        ),
                    ))
                }
            }
        }
        if !have_priority {
            return Err(err(
                file,
                n,
                format!("chain {}: expected `type T hook H priority P;`", c.name),
            ));
        }
        c.base = Some(base);
        return Ok(());
    }
    let ws = words(line);
    if let ["comment", q] = ws.as_slice() {
        if let Some(com) = unquote(q) {
            if c.rules.is_empty() {
                c.comment = Some(com.to_owned());
                return Ok(());
            }
        }
    }
    if brace_delta(line) != 0 || line.matches('"').count() & 1 == 1 {
        return Err(err(
            file,
            n,
            format!(
                "chain {}: unbalanced braces or quotes in rule `{}`",
                c.name,
                clip(line)
            ),
        ));
    }
    let (text, comment) = rule_of(line);
    c.rules.push(ListedRule {
        text,
        comment,
        line: n,
    });
    Ok(())
}

fn set_line(s: &mut ListedSet, line: &str, file: Option<&str>, n: usize) -> Result<()> {
    let what = if s.is_map { "map" } else { "set" };
    let ws = words(line);
    let bad = |m: String| err(file, n, format!("{what} {}: {m}", s.name));
    match ws.as_slice() {
        ["type" | "typeof", ..] => {
            let body = collapse(line);
            let (key, value) = match (s.is_map, body.split_once(" : ")) {
                (true, Some((k, v))) => (k.to_owned(), Some(v.to_owned())),
                (true, None) => return Err(bad("a map's type needs `KEY : VALUE`".into())),
                (false, _) => (body.clone(), None),
            };
            // `type ipv4_addr` → `ipv4_addr`; `typeof ip daddr` is kept whole.
            s.key_type = key.strip_prefix("type ").map_or(key.clone(), str::to_owned);
            s.value_type = value;
        }
        ["size", v] => s.size = Some(v.parse().map_err(|_| bad(format!("bad size `{v}`")))?),
        ["flags", f] => {
            let mut v: Vec<String> = f.split(',').map(str::trim).map(str::to_owned).collect();
            if v.iter().any(String::is_empty) {
                return Err(bad(format!("bad flags `{f}`")));
            }
            v.sort();
            s.flags = v;
        }
        ["timeout", d] => {
            s.timeout_ms =
                Some(parse_duration_ms(d).ok_or_else(|| bad(format!("bad timeout `{d}`")))?)
        }
        ["comment", c] => {
            s.comment = Some(
                unquote(c)
                    .ok_or_else(|| bad("a comment needs a quoted string".into()))?
                    .to_owned(),
            )
        }
        ["gc-interval" | "policy", _] | ["auto-merge"] | ["counter"] => {
            s.other.push(collapse(line))
        }
        _ => return Err(bad(format!("unexpected `{}`", clip(line)))),
    }
    Ok(())
}

fn finish_elements(s: &mut ListedSet, acc: &str, file: Option<&str>, n: usize) -> Result<()> {
    let what = if s.is_map { "map" } else { "set" };
    let body = acc
        .trim()
        .strip_prefix('{')
        .and_then(|b| b.strip_suffix('}'))
        .ok_or_else(|| {
            err(
                file,
                n,
                format!("{what} {}: expected `elements = {{ … }}`", s.name),
            )
        })?;
    let mut seen: HashSet<String> = s.elements.iter().map(|e| e.key.clone()).collect();
    for e in split_elements(body) {
        let el = element_of(e).map_err(|m| err(file, n, format!("{what} {}: {m}", s.name)))?;
        if s.is_map != el.value.is_some() {
            return Err(err(
                file,
                n,
                format!(
                    "{what} {}: element `{}` {}",
                    s.name,
                    clip(e),
                    if s.is_map {
                        "has no `: VALUE`"
                    } else {
                        "has a value but this is a set"
                    }
                ),
            ));
        }
        if !seen.insert(el.key.clone()) {
            return Err(err(
                file,
                n,
                format!("{what} {}: key `{}` listed twice", s.name, el.key),
            ));
        }
        s.elements.push(el);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_every_unit() {
        assert_eq!(parse_duration_ms("3h"), Some(10_800_000));
        assert_eq!(parse_duration_ms("10800s"), Some(10_800_000));
        assert_eq!(parse_duration_ms("1d2h3m4s"), Some(93_784_000));
        assert_eq!(parse_duration_ms("59m59s996ms"), Some(3_599_996));
        for bad in ["", "h", "3x", "3h-", "99999999999999999999d"] {
            assert_eq!(parse_duration_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn priorities_by_name_and_number() {
        assert_eq!(parse_priority(&["dstnat", "-", "10"]), Some(-110));
        assert_eq!(parse_priority(&["-110"]), Some(-110));
        assert_eq!(parse_priority(&["srcnat"]), Some(100));
        assert_eq!(parse_priority(&["mangle", "+", "10"]), Some(-140));
        assert_eq!(parse_priority(&["nope"]), None);
        assert_eq!(parse_priority(&["filter", "*", "1"]), None);
    }

    #[test]
    fn rules_lose_counter_values_and_keep_their_comment_apart() {
        assert_eq!(
            rule_of("tcp dport 22  counter packets 5 bytes 300 accept comment \"a b\""),
            (
                "tcp dport 22 counter accept".to_owned(),
                Some("a b".to_owned())
            )
        );
        assert_eq!(rule_of("reject"), ("reject".to_owned(), None));
    }

    #[test]
    fn elements_drop_runtime_state_and_split_on_top_level_commas() {
        let e = element_of("10.1.1.1 timeout 1h expires 59m59s996ms").unwrap();
        assert_eq!((e.key.as_str(), e.value), ("10.1.1.1", None));
        let e = element_of("fd00:0::1 . tcp . 80 comment \"a,b\" : goto x").unwrap();
        assert_eq!(e.key, "fd00::1 . tcp . 80");
        assert_eq!(e.comment.as_deref(), Some("a,b"));
        assert_eq!(e.value.as_deref(), Some("goto x"));
        assert_eq!(
            split_elements(" a comment \"x, y\" : drop, b : drop "),
            ["a comment \"x, y\" : drop", "b : drop"]
        );
        assert!(element_of("a :").is_err());
        assert!(element_of("comment \"x\"").is_err());
    }
}
