//! The object model of kube-proxy's `kube-proxy` table: the table, its chains (base chains with
//! type, hook and priority), sets, maps, rules and elements.
//!
//! The table keeps every object's complete `add …` line (knftables `Fake.Dump()` syntax) in one
//! text, in the order `nft -f` accepts (table, chains, sets, maps, rules, elements), and records
//! where each object's fields sit inside it. Building it writes each byte once into buffers
//! sized up front (no allocation per object), and the `load` form is that text as it is. The
//! accessors ([`Table::chains`], [`Table::rules`], …) give borrowed views of the fields.
//!
//! `Builder` fills a table in two phases, as the text demands: first the declarations
//! (chains into the text; sets, maps and elements into side buffers), then the rules (into the
//! text, after the sets and maps are appended); the elements are appended last. Chains, sets
//! and maps are recorded as they are written; rules and elements, the bulk of a large table,
//! are indexed from the text the first time they are asked for, so rendering a form that is the
//! text itself never pays for them.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::sync::OnceLock;

use crate::model::IpFamily;

use super::names::TABLE;
use crate::text::{push_ip, push_u32};

/// The nftables family of the table (`ip` for IPv4, `ip6` for IPv6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// `ip`.
    Ip,
    /// `ip6`.
    Ip6,
}

impl Family {
    /// The family of a proxier of `f`.
    pub fn of(f: IpFamily) -> Family {
        match f {
            IpFamily::IPv4 => Family::Ip,
            IpFamily::IPv6 => Family::Ip6,
        }
    }

    /// `ip` / `ip6`: the table family and the address match keyword (`ip daddr`).
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Ip => "ip",
            Family::Ip6 => "ip6",
        }
    }

    /// The address type of sets and map keys: `ipv4_addr` / `ipv6_addr`.
    pub fn addr_type(self) -> &'static str {
        match self {
            Family::Ip => "ipv4_addr",
            Family::Ip6 => "ipv6_addr",
        }
    }

    /// `ipv4_addr . inet_proto . inet_service` (or the IPv6 type).
    pub fn addr_proto_port_type(self) -> &'static str {
        match self {
            Family::Ip => "ipv4_addr . inet_proto . inet_service",
            Family::Ip6 => "ipv6_addr . inet_proto . inet_service",
        }
    }
}

/// A base chain's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChainType {
    /// `filter`.
    Filter,
    /// `nat`.
    Nat,
}

impl ChainType {
    /// `filter` / `nat`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChainType::Filter => "filter",
            ChainType::Nat => "nat",
        }
    }
}

/// A netfilter hook.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Hook {
    /// `prerouting`.
    Prerouting,
    /// `input`.
    Input,
    /// `forward`.
    Forward,
    /// `output`.
    Output,
    /// `postrouting`.
    Postrouting,
}

impl Hook {
    /// The hook's nft name.
    pub fn as_str(self) -> &'static str {
        match self {
            Hook::Prerouting => "prerouting",
            Hook::Input => "input",
            Hook::Forward => "forward",
            Hook::Output => "output",
            Hook::Postrouting => "postrouting",
        }
    }
}

/// What makes a chain a base chain: attached to a hook at a priority.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct BaseChain {
    /// `filter` or `nat`.
    #[serde(rename = "type")]
    pub chain_type: ChainType,
    /// The hook.
    pub hook: Hook,
    /// The priority, as a number (`dstnat` is -100, `srcnat` 100, `filter` 0).
    pub priority: i32,
}

/// Index of a chain in its [`Table`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChainId(pub(crate) u32);

/// Index of a set in its [`Table`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SetId(pub(crate) u32);

/// Index of a map in its [`Table`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MapId(pub(crate) u32);

/// The set or map an element belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Container {
    /// A set.
    Set(SetId),
    /// A map.
    Map(MapId),
}

/// A byte range of a text buffer. 32-bit offsets keep the per-object records small;
/// [`Builder::finish`] refuses a table whose text would not fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    fn new(start: usize, end: usize) -> Span {
        // Offsets past 4 GiB are caught by `Builder::finish`, which checks the total length.
        Span {
            start: start as u32,
            end: end as u32,
        }
    }

    fn shift(self, by: usize) -> Span {
        Span::new(self.start as usize + by, self.end as usize + by)
    }

    fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }

    pub(crate) fn of(self, s: &str) -> &str {
        &s[self.range()]
    }
}

#[derive(Clone, Debug)]
pub(crate) struct ChainRec {
    pub line: Span,
    pub name: Span,
    /// Index into the table's `chain_extras` (0: a regular chain without a comment).
    extra: u16,
}

/// What few chains have besides a name: base-chain properties or a comment.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ChainExtra {
    base: Option<BaseChain>,
    comment: Option<&'static str>,
}

#[derive(Clone, Debug)]
pub(crate) struct SetRec {
    pub line: Span,
    pub name: Span,
    key_type: &'static str,
    flags: &'static [&'static str],
    timeout: Option<u32>,
    comment: Option<&'static str>,
}

#[derive(Clone, Debug)]
pub(crate) struct MapRec {
    pub line: Span,
    pub name: &'static str,
    key_type: &'static str,
    comment: Option<&'static str>,
}

#[derive(Clone, Debug)]
pub(crate) struct RuleRec {
    pub line: Span,
    text: Span,
    comment: Option<Span>,
    pub chain: u32,
}

#[derive(Clone, Debug)]
pub(crate) struct ElemRec {
    pub line: Span,
    key: Span,
    comment: Option<Span>,
    value: Option<Span>,
    pub container: Container,
}

/// A chain, borrowed from its [`Table`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Chain<'a> {
    /// The chain's name.
    pub name: &'a str,
    /// Type, hook and priority of a base chain; `None` for a regular chain.
    pub base: Option<BaseChain>,
    /// The chain's comment.
    pub comment: Option<&'a str>,
}

/// A set, borrowed from its [`Table`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Set<'a> {
    /// The set's name.
    pub name: &'a str,
    /// The element type (`ipv4_addr`).
    pub key_type: &'a str,
    /// Set flags (`dynamic`, `timeout`).
    pub flags: &'a [&'a str],
    /// The default element timeout, in seconds.
    pub timeout_seconds: Option<u32>,
    /// The set's comment.
    pub comment: Option<&'a str>,
}

/// A verdict map, borrowed from its [`Table`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Map<'a> {
    /// The map's name.
    pub name: &'a str,
    /// The key type (`ipv4_addr . inet_proto . inet_service`).
    pub key_type: &'a str,
    /// The value type (always `verdict` in kube-proxy's table).
    pub value_type: &'a str,
    /// The map's comment.
    pub comment: Option<&'a str>,
}

/// A rule, borrowed from its [`Table`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Rule<'a> {
    /// The chain the rule is in.
    pub chain: &'a str,
    /// The rule text (without the comment).
    pub rule: &'a str,
    /// The rule's comment, as written between its quotes (Go `%q` escapes kept; kube-proxy's
    /// comments have none).
    pub comment: Option<&'a str>,
}

/// A set or map element, borrowed from its [`Table`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Element<'a> {
    /// The set or map it belongs to.
    pub container: &'a str,
    /// Whether the container is a map.
    pub in_map: bool,
    /// The key, its parts joined by ` . ` (`172.30.0.41 . tcp . 80`).
    pub key: &'a str,
    /// The element's comment, as written between its quotes (`ns/name:port`).
    pub comment: Option<&'a str>,
    /// A map element's value (`goto service-…`, `drop`).
    pub value: Option<&'a str>,
}

impl<'a> Element<'a> {
    /// The key's parts (`172.30.0.41`, `tcp`, `80`).
    pub fn key_parts(&self) -> impl Iterator<Item = &'a str> {
        self.key.split(" . ")
    }
}

/// kube-proxy's `kube-proxy` table: every object it holds after a full sync.
#[derive(Clone, Debug)]
pub struct Table {
    family: Family,
    /// Every object's line, in load order.
    pub(crate) text: String,
    pub(crate) chains: Vec<ChainRec>,
    chain_extras: Vec<ChainExtra>,
    pub(crate) sets: Vec<SetRec>,
    pub(crate) maps: Vec<MapRec>,
    /// Where the table's own line ends.
    pub(crate) table_line_end: usize,
    /// Where the rule lines start (after the map lines).
    rules_start: usize,
    /// Where the element lines start (after the rule lines).
    elements_start: usize,
    index: OnceLock<Index>,
}

/// The rules and elements, indexed from the text.
#[derive(Clone, Debug, Default)]
pub(crate) struct Index {
    pub rules: Vec<RuleRec>,
    pub elements: Vec<ElemRec>,
}

/// The table's comment.
const TABLE_COMMENT: &str = "rules for kube-proxy";

/// Expected chain and set counts and text sizes, to size the buffers once (an underestimate costs a
/// reallocation that copies the buffer; an overestimate only reserves address space).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Sizes {
    pub chains: usize,
    pub sets: usize,
    pub chain_bytes: usize,
    pub set_bytes: usize,
    pub rule_bytes: usize,
    pub elem_bytes: usize,
}

/// Appends Go's `%q` of an ASCII comment (kube-proxy's comments are constants and validated
/// object names; `"` and `\` are escaped all the same so no input can end the string).
fn quote(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_ascii_graphic() || c == ' ' => out.push(c),
            c => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
        }
    }
    out.push('"');
}

/// The start of every line of one kind: `add KIND FAMILY kube-proxy `.
fn head(out: &mut String, kind: Kind, family: Family) {
    out.push_str(match (family, kind) {
        (Family::Ip, Kind::Chain) => "add chain ip kube-proxy ",
        (Family::Ip, Kind::Set) => "add set ip kube-proxy ",
        (Family::Ip, Kind::Map) => "add map ip kube-proxy ",
        (Family::Ip, Kind::Rule) => "add rule ip kube-proxy ",
        (Family::Ip, Kind::Element) => "add element ip kube-proxy ",
        (Family::Ip6, Kind::Chain) => "add chain ip6 kube-proxy ",
        (Family::Ip6, Kind::Set) => "add set ip6 kube-proxy ",
        (Family::Ip6, Kind::Map) => "add map ip6 kube-proxy ",
        (Family::Ip6, Kind::Rule) => "add rule ip6 kube-proxy ",
        (Family::Ip6, Kind::Element) => "add element ip6 kube-proxy ",
    });
}

/// The kinds of object lines after the table's.
#[derive(Clone, Copy)]
enum Kind {
    Chain,
    Set,
    Map,
    Rule,
    Element,
}

impl Table {
    /// The table's family.
    pub fn family(&self) -> Family {
        self.family
    }

    /// The table's name, `kube-proxy`.
    pub fn name(&self) -> &'static str {
        TABLE
    }

    /// The table's comment.
    pub fn comment(&self) -> &'static str {
        TABLE_COMMENT
    }

    /// Chains in creation order.
    pub fn chains(&self) -> impl ExactSizeIterator<Item = Chain<'_>> + '_ {
        self.chains.iter().map(|c| {
            let x = self.chain_extras[usize::from(c.extra)];
            Chain {
                name: c.name.of(&self.text),
                base: x.base,
                comment: x.comment,
            }
        })
    }

    /// Sets in creation order.
    pub fn sets(&self) -> impl ExactSizeIterator<Item = Set<'_>> + '_ {
        self.sets.iter().map(|s| Set {
            name: s.name.of(&self.text),
            key_type: s.key_type,
            flags: s.flags,
            timeout_seconds: s.timeout,
            comment: s.comment,
        })
    }

    /// Maps in creation order.
    pub fn maps(&self) -> impl ExactSizeIterator<Item = Map<'_>> + '_ {
        self.maps.iter().map(|m| Map {
            name: m.name,
            key_type: m.key_type,
            value_type: "verdict",
            comment: m.comment,
        })
    }

    /// Rules in creation order (rules of one chain are in their order in the chain).
    pub fn rules(&self) -> impl ExactSizeIterator<Item = Rule<'_>> + '_ {
        self.index().rules.iter().map(|r| Rule {
            chain: self.chain_name(r.chain),
            rule: r.text.of(&self.text),
            comment: r.comment.map(|c| c.of(&self.text)),
        })
    }

    /// Elements in creation order.
    pub fn elements(&self) -> impl ExactSizeIterator<Item = Element<'_>> + '_ {
        self.index().elements.iter().map(|e| {
            let (container, in_map) = match e.container {
                Container::Set(SetId(i)) => (self.set_name(i), false),
                Container::Map(MapId(i)) => (self.map_name(i), true),
            };
            Element {
                container,
                in_map,
                key: e.key.of(&self.text),
                comment: e.comment.map(|c| c.of(&self.text)),
                value: e.value.map(|v| v.of(&self.text)),
            }
        })
    }

    /// The rules of the chain named `chain`, in order.
    pub fn chain_rules<'a>(&'a self, chain: &'a str) -> impl Iterator<Item = Rule<'a>> + 'a {
        self.rules().filter(move |r| r.chain == chain)
    }

    /// The chain named `name`.
    pub fn chain(&self, name: &str) -> Option<Chain<'_>> {
        self.chains().find(|c| c.name == name)
    }

    pub(crate) fn chain_name(&self, id: u32) -> &str {
        self.chains[id as usize].name.of(&self.text)
    }

    /// The rules and elements, indexed on first use.
    pub(crate) fn index(&self) -> &Index {
        self.index.get_or_init(|| self.build_index())
    }

    /// Reads the rule and element lines back into records. Every line was written by
    /// [`Builder`], so its shape is known: `add rule F kube-proxy CHAIN TEXT[ comment "C"]` and
    /// `add element F kube-proxy NAME { KEY[ comment "C"][ : VALUE] }` (no key, comment or
    /// value contains ` : `; no rule text contains ` comment "`).
    fn build_index(&self) -> Index {
        let text = self.text.as_str();
        let chain_ids: HashMap<&str, u32> = self
            .chains
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.of(text), i as u32))
            .collect();
        let mut containers: HashMap<&str, Container> = HashMap::new();
        for (i, sr) in self.sets.iter().enumerate() {
            containers.insert(sr.name.of(text), Container::Set(SetId(i as u32)));
        }
        for (i, m) in self.maps.iter().enumerate() {
            containers.insert(m.name, Container::Map(MapId(i as u32)));
        }
        let lines = |from: usize, to: usize| {
            let mut at = from;
            std::iter::from_fn(move || {
                if at >= to {
                    return None;
                }
                let end = text[at..to].find('\n').map_or(to, |k| at + k + 1);
                let line = (at, end);
                at = end;
                Some(line)
            })
        };
        let fam = self.family.as_str().len();
        let mut index = Index::default();
        let rule_head = "add rule ".len() + fam + 1 + TABLE.len() + 1;
        for (start, end) in lines(self.rules_start, self.elements_start) {
            let body_end = end - 1;
            let Some(name_len) = text[start + rule_head..body_end].find(' ') else {
                continue;
            };
            let name_end = start + rule_head + name_len;
            let Some(&chain) = chain_ids.get(&text[start + rule_head..name_end]) else {
                continue;
            };
            let mut text_end = body_end;
            let mut comment = None;
            if text[..body_end].ends_with('"') {
                if let Some(k) = text[name_end..body_end].rfind(" comment \"") {
                    text_end = name_end + k;
                    comment = Some(Span::new(text_end + 10, body_end - 1));
                }
            }
            index.rules.push(RuleRec {
                line: Span::new(start, end),
                text: Span::new(name_end + 1, text_end),
                comment,
                chain,
            });
        }
        let elem_head = "add element ".len() + fam + 1 + TABLE.len() + 1;
        for (start, end) in lines(self.elements_start, text.len()) {
            // `NAME { BODY }\n`
            let Some(brace) = text[start + elem_head..end].find(" { ") else {
                continue;
            };
            let name_end = start + elem_head + brace;
            let Some(&container) = containers.get(&text[start + elem_head..name_end]) else {
                continue;
            };
            let body_start = name_end + 3;
            let body_end = end.saturating_sub(3).max(body_start);
            let body = &text[body_start..body_end];
            let (rest, value) = match body.rfind(" : ") {
                Some(k) => (k, Some(Span::new(body_start + k + 3, body_end))),
                None => (body.len(), None),
            };
            let (key_end, comment) = match body[..rest].find(" comment \"") {
                Some(k) => (
                    k,
                    Some(Span::new(body_start + k + 10, body_start + rest - 1)),
                ),
                None => (rest, None),
            };
            index.elements.push(ElemRec {
                line: Span::new(start, end),
                key: Span::new(body_start, body_start + key_end),
                comment,
                value,
                container,
            });
        }
        index
    }

    pub(crate) fn set_name(&self, id: u32) -> &str {
        self.sets[id as usize].name.of(&self.text)
    }

    pub(crate) fn map_name(&self, id: u32) -> &'static str {
        self.maps[id as usize].name
    }
}

/// Where a set's name (after its prefix) comes from.
#[derive(Clone, Copy, Debug)]
pub(crate) enum SetName<'a> {
    /// This text.
    Text(&'a str),
    /// A declared chain's name without its first `usize` bytes (an affinity set shares its
    /// endpoint chain's base).
    FromChain(ChainId, usize),
}

/// Fills a [`Table`]: declarations first, then [`Builder::declarations_done`], then rules;
/// elements at any time; [`Builder::finish`] at the end.
#[derive(Debug)]
pub(crate) struct Builder {
    family: Family,
    text: String,
    set_side: String,
    map_side: String,
    elem_side: String,
    /// Whether the sets and maps have been appended to `text` (their spans are then in it).
    declared: bool,
    table_line_end: usize,
    chains: Vec<ChainRec>,
    chain_extras: Vec<ChainExtra>,
    sets: Vec<SetRec>,
    maps: Vec<MapRec>,
    /// Where the rule lines start, once the declarations are done.
    rules_start: usize,
}

impl Builder {
    /// A builder of a table of `family`, its table line written.
    pub(crate) fn new(family: Family, sizes: Sizes) -> Builder {
        let mut text = String::with_capacity(
            16384 + sizes.chain_bytes + sizes.set_bytes + sizes.rule_bytes + sizes.elem_bytes,
        );
        text.push_str("add table ");
        text.push_str(family.as_str());
        text.push(' ');
        text.push_str(TABLE);
        text.push_str(" { comment ");
        quote(&mut text, TABLE_COMMENT);
        text.push_str(" ; }\n");
        Builder {
            family,
            table_line_end: text.len(),
            text,
            set_side: String::with_capacity(1024 + sizes.set_bytes),
            map_side: String::with_capacity(2048),
            elem_side: String::with_capacity(1024 + sizes.elem_bytes),
            declared: false,
            chains: Vec::with_capacity(32 + sizes.chains),
            chain_extras: vec![ChainExtra::default()],
            sets: Vec::with_capacity(8 + sizes.sets),
            maps: Vec::with_capacity(8),
            rules_start: 0,
        }
    }

    /// The table's family.
    pub(crate) fn family(&self) -> Family {
        self.family
    }

    /// Adds a chain named `prefix` + `name` (declarations phase).
    pub(crate) fn add_chain(
        &mut self,
        prefix: &str,
        name: &str,
        base: Option<BaseChain>,
        comment: Option<&'static str>,
    ) -> ChainId {
        debug_assert!(!self.declared, "chains are declared before rules");
        let out = &mut self.text;
        let line = out.len();
        head(out, Kind::Chain, self.family);
        let n = out.len();
        out.push_str(prefix);
        out.push_str(name);
        let name_end = out.len();
        if let Some(b) = base {
            let _ = write!(
                out,
                " {{ type {} hook {} priority {} ; }}",
                b.chain_type.as_str(),
                b.hook.as_str(),
                b.priority
            );
        } else if let Some(c) = comment {
            out.push_str(" { comment ");
            quote(out, c);
            out.push_str(" ; }");
        }
        out.push('\n');
        let extra = if base.is_some() || comment.is_some() {
            self.chain_extras.push(ChainExtra {
                base,
                comment: if base.is_some() { None } else { comment },
            });
            u16::try_from(self.chain_extras.len() - 1).unwrap_or(0)
        } else {
            0
        };
        self.chains.push(ChainRec {
            line: Span::new(line, out.len()),
            name: Span::new(n, name_end),
            extra,
        });
        ChainId((self.chains.len() - 1) as u32)
    }

    /// Every chain name so far.
    pub(crate) fn chain_names(&self) -> impl Iterator<Item = &str> + '_ {
        self.chains.iter().map(|c| &self.text[c.name.range()])
    }

    /// Adds a set named `prefix` + `name` (declarations phase).
    pub(crate) fn add_set(
        &mut self,
        prefix: &str,
        name: SetName<'_>,
        key_type: &'static str,
        flags: &'static [&'static str],
        timeout: Option<u32>,
        comment: Option<&'static str>,
    ) -> SetId {
        debug_assert!(!self.declared, "sets are declared before rules");
        let out = &mut self.set_side;
        let line = out.len();
        head(out, Kind::Set, self.family);
        let n = out.len();
        out.push_str(prefix);
        match name {
            SetName::Text(n) => out.push_str(n),
            SetName::FromChain(c, skip) => {
                let r = self.chains[c.0 as usize].name.range();
                out.push_str(&self.text[r.start + skip..r.end]);
            }
        }
        let name_end = out.len();
        out.push_str(" { type ");
        out.push_str(key_type);
        out.push_str(" ;");
        if !flags.is_empty() {
            out.push_str(" flags ");
            for (i, f) in flags.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(f);
            }
            out.push_str(" ;");
        }
        if let Some(t) = timeout {
            let _ = write!(out, " timeout {t}s ;");
        }
        if let Some(c) = comment {
            out.push_str(" comment ");
            quote(out, c);
            out.push_str(" ;");
        }
        out.push_str(" }\n");
        self.sets.push(SetRec {
            line: Span::new(line, out.len()),
            name: Span::new(n, name_end),
            key_type,
            flags,
            timeout,
            comment,
        });
        SetId((self.sets.len() - 1) as u32)
    }

    /// Adds a verdict map (declarations phase).
    pub(crate) fn add_map(
        &mut self,
        name: &'static str,
        key_type: &'static str,
        comment: Option<&'static str>,
    ) -> MapId {
        debug_assert!(!self.declared, "maps are declared before rules");
        let out = &mut self.map_side;
        let line = out.len();
        head(out, Kind::Map, self.family);
        out.push_str(name);
        out.push_str(" { type ");
        out.push_str(key_type);
        out.push_str(" : verdict ;");
        if let Some(c) = comment {
            out.push_str(" comment ");
            quote(out, c);
            out.push_str(" ;");
        }
        out.push_str(" }\n");
        self.maps.push(MapRec {
            line: Span::new(line, out.len()),
            name,
            key_type,
            comment,
        });
        MapId((self.maps.len() - 1) as u32)
    }

    /// Appends the sets and maps after the chains: rules may follow.
    pub(crate) fn declarations_done(&mut self) {
        if self.declared {
            return;
        }
        let at = self.text.len();
        self.text.push_str(&self.set_side);
        for s in &mut self.sets {
            s.line = s.line.shift(at);
            s.name = s.name.shift(at);
        }
        let at = self.text.len();
        self.text.push_str(&self.map_side);
        for m in &mut self.maps {
            m.line = m.line.shift(at);
        }
        self.set_side = String::new();
        self.map_side = String::new();
        self.declared = true;
        self.rules_start = self.text.len();
    }

    /// Starts a rule in `chain` (rules phase); the text is written through the returned writer.
    pub(crate) fn rule(&mut self, chain: ChainId) -> RuleWriter<'_> {
        debug_assert!(self.declared, "rules follow the declarations");
        head(&mut self.text, Kind::Rule, self.family);
        let name = self.chains[chain.0 as usize].name;
        self.text.extend_from_within(name.range());
        self.text.push(' ');
        RuleWriter { b: self }
    }

    /// Starts an element of `c`; the key, comment and value are written through the writer.
    pub(crate) fn element(&mut self, c: Container) -> ElemWriter<'_> {
        let out = &mut self.elem_side;
        head(out, Kind::Element, self.family);
        match c {
            Container::Set(SetId(i)) => {
                let n = self.sets[i as usize].name.range();
                let src = if self.declared {
                    &self.text
                } else {
                    &self.set_side
                };
                out.push_str(&src[n]);
            }
            Container::Map(MapId(i)) => out.push_str(self.maps[i as usize].name),
        }
        out.push_str(" { ");
        ElemWriter {
            b: self,
            key_parts: 0,
        }
    }

    /// Appends the elements and hands over the table.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) when the text passes 4 GiB.
    pub(crate) fn finish(mut self) -> crate::Result<Table> {
        self.declarations_done();
        let elements_start = self.text.len();
        self.text.push_str(&self.elem_side);
        if self.text.len() > u32::MAX as usize {
            return Err(crate::Error::InvalidArgument(format!(
                "the nftables table would be {} bytes; at most 4 GiB is supported",
                self.text.len()
            )));
        }
        Ok(Table {
            family: self.family,
            text: self.text,
            chains: self.chains,
            chain_extras: self.chain_extras,
            sets: self.sets,
            maps: self.maps,
            table_line_end: self.table_line_end,
            rules_start: self.rules_start,
            elements_start,
            index: OnceLock::new(),
        })
    }
}

/// Writes one rule's text into its table (see [`Builder::rule`]).
#[derive(Debug)]
pub(crate) struct RuleWriter<'b> {
    b: &'b mut Builder,
}

impl RuleWriter<'_> {
    /// Appends words; the caller supplies the spaces between them.
    pub fn s(&mut self, s: &str) -> &mut Self {
        self.b.text.push_str(s);
        self
    }

    /// Appends a chain's name.
    pub fn chain(&mut self, c: ChainId) -> &mut Self {
        let n = self.b.chains[c.0 as usize].name;
        self.b.text.extend_from_within(n.range());
        self
    }

    /// Appends a set's name.
    pub fn set(&mut self, s: SetId) -> &mut Self {
        let n = self.b.sets[s.0 as usize].name;
        self.b.text.extend_from_within(n.range());
        self
    }

    /// Appends an address.
    pub fn ip(&mut self, ip: &IpAddr) -> &mut Self {
        push_ip(&mut self.b.text, ip);
        self
    }

    /// Appends a number.
    pub fn n(&mut self, v: usize) -> &mut Self {
        push_u32(&mut self.b.text, u32::try_from(v).unwrap_or(u32::MAX));
        self
    }

    /// Appends anything displayable (a CIDR).
    pub fn d(&mut self, v: impl std::fmt::Display) -> &mut Self {
        let _ = write!(self.b.text, "{v}");
        self
    }

    /// Ends the rule, with an optional comment.
    pub fn end(&mut self, comment: Option<&'static str>) {
        let b = &mut *self.b;
        if let Some(c) = comment {
            b.text.push_str(" comment ");
            quote(&mut b.text, c);
        }
        b.text.push('\n');
    }
}

/// Writes one element into its table (see [`Builder::element`]): key parts, then an optional
/// comment, then the value of a map element.
#[derive(Debug)]
pub(crate) struct ElemWriter<'b> {
    b: &'b mut Builder,
    key_parts: u8,
}

impl ElemWriter<'_> {
    fn sep(&mut self) {
        if self.key_parts > 0 {
            self.b.elem_side.push_str(" . ");
        }
        self.key_parts += 1;
    }

    /// Appends an address key part.
    pub fn ip(&mut self, ip: &IpAddr) -> &mut Self {
        self.sep();
        push_ip(&mut self.b.elem_side, ip);
        self
    }

    /// Appends a text key part.
    pub fn part(&mut self, s: &str) -> &mut Self {
        self.sep();
        self.b.elem_side.push_str(s);
        self
    }

    /// Appends a port key part.
    pub fn port(&mut self, p: u16) -> &mut Self {
        self.sep();
        push_u32(&mut self.b.elem_side, u32::from(p));
        self
    }

    /// Ends the key and writes the comment.
    pub fn comment(&mut self, c: &str) -> &mut Self {
        let out = &mut self.b.elem_side;
        out.push_str(" comment ");
        quote(out, c);
        self
    }

    /// Ends a set element.
    pub fn end(&mut self) {
        self.b.elem_side.push_str(" }\n");
    }

    /// Ends a map element with `: goto CHAIN`.
    pub fn goto(&mut self, c: ChainId) {
        let b = &mut *self.b;
        b.elem_side.push_str(" : goto ");
        let n = b.chains[c.0 as usize].name;
        b.elem_side.push_str(&b.text[n.range()]);
        b.elem_side.push_str(" }\n");
    }

    /// Ends a map element with `: VERDICT`.
    pub fn verdict(&mut self, v: &str) {
        let out = &mut self.b.elem_side;
        out.push_str(" : ");
        out.push_str(v);
        out.push_str(" }\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_views_agree() {
        let mut b = Builder::new(Family::Ip6, Sizes::default());
        let base = BaseChain {
            chain_type: ChainType::Nat,
            hook: Hook::Output,
            priority: -100,
        };
        let nat = b.add_chain("", "nat-output", Some(base), None);
        let svc = b.add_chain("service-", "X-ns/a/tcp/p", None, None);
        let m = b.add_map("service-ips", Family::Ip6.addr_proto_port_type(), Some("c"));
        let set = b.add_set(
            "affinity-",
            SetName::Text("X-ns/a"),
            "ipv6_addr",
            &["dynamic"],
            Some(5),
            None,
        );
        b.element(Container::Map(m))
            .ip(&"fd00::1".parse().unwrap())
            .part("tcp")
            .port(80)
            .comment("ns/a:p")
            .goto(svc);
        b.declarations_done();
        b.rule(nat).s("jump ").chain(svc).end(Some("a \"q\""));
        b.rule(svc)
            .s("ip6 saddr @")
            .set(set)
            .s(" goto ")
            .chain(svc)
            .end(None);
        let t = b.finish().unwrap();
        assert_eq!(
            t.text,
            "add table ip6 kube-proxy { comment \"rules for kube-proxy\" ; }\n\
             add chain ip6 kube-proxy nat-output { type nat hook output priority -100 ; }\n\
             add chain ip6 kube-proxy service-X-ns/a/tcp/p\n\
             add set ip6 kube-proxy affinity-X-ns/a { type ipv6_addr ; flags dynamic ; timeout 5s ; }\n\
             add map ip6 kube-proxy service-ips { type ipv6_addr . inet_proto . inet_service : verdict ; comment \"c\" ; }\n\
             add rule ip6 kube-proxy nat-output jump service-X-ns/a/tcp/p comment \"a \\\"q\\\"\"\n\
             add rule ip6 kube-proxy service-X-ns/a/tcp/p ip6 saddr @affinity-X-ns/a goto service-X-ns/a/tcp/p\n\
             add element ip6 kube-proxy service-ips { fd00::1 . tcp . 80 comment \"ns/a:p\" : goto service-X-ns/a/tcp/p }\n"
        );
        let r = t.rules().next().unwrap();
        assert_eq!(
            (r.chain, r.rule, r.comment),
            (
                "nat-output",
                "jump service-X-ns/a/tcp/p",
                Some("a \\\"q\\\"")
            )
        );
        let e = t.elements().next().unwrap();
        assert_eq!(e.key, "fd00::1 . tcp . 80");
        assert_eq!(e.key_parts().collect::<Vec<_>>(), ["fd00::1", "tcp", "80"]);
        assert_eq!(e.comment, Some("ns/a:p"));
        assert_eq!(e.value, Some("goto service-X-ns/a/tcp/p"));
        assert_eq!((e.container, e.in_map), ("service-ips", true));
        assert_eq!(t.chain("nat-output").unwrap().base, Some(base));
        let s = t.sets().next().unwrap();
        assert_eq!((s.name, s.timeout_seconds), ("affinity-X-ns/a", Some(5)));
        assert_eq!(t.maps().next().unwrap().name, "service-ips");
    }
}
