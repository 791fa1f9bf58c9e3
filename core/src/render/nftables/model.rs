//! The object model of kube-proxy's `kube-proxy` table: the table, its chains (base chains with
//! type, hook and priority), sets, maps, rules and elements.
//!
//! The model keeps each object's complete `add …` line (knftables `Fake.Dump()` syntax) in one
//! text buffer per object kind and records where the object's fields sit inside it. Building it
//! allocates per buffer, not per object, and a form that lists objects in creation order is a
//! copy of those buffers. The accessors ([`Table::chains`], [`Table::rules`], …) give borrowed
//! views of the fields.

use std::fmt::Write as _;
use std::net::IpAddr;

use crate::model::IpFamily;

use super::names::TABLE;

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

/// A byte range of one of the table's text buffers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    fn of(s: &str, sp: Span) -> &str {
        &s[sp.start..sp.end]
    }
}

#[derive(Clone, Debug)]
pub(crate) struct ChainRec {
    pub line: Span,
    pub name: Span,
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
    name: &'static str,
    key_type: &'static str,
    comment: Option<&'static str>,
}

#[derive(Clone, Debug)]
pub(crate) struct RuleRec {
    pub line: Span,
    pub chain: u32,
    text: Span,
    comment: Option<&'static str>,
}

#[derive(Clone, Debug)]
pub(crate) struct ElemRec {
    pub line: Span,
    pub container: Container,
    key: Span,
    comment: Option<Span>,
    value: Option<Span>,
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
    /// The rule's comment.
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
    /// The element's comment.
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
    comment: &'static str,
    pub(crate) chain_text: String,
    pub(crate) set_text: String,
    pub(crate) map_text: String,
    pub(crate) rule_text: String,
    pub(crate) elem_text: String,
    pub(crate) chains: Vec<ChainRec>,
    pub(crate) sets: Vec<SetRec>,
    pub(crate) maps: Vec<MapRec>,
    pub(crate) rules: Vec<RuleRec>,
    pub(crate) elements: Vec<ElemRec>,
}

/// Expected object counts, to size the buffers once.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Sizes {
    pub chains: usize,
    pub rules: usize,
    pub elements: usize,
    pub sets: usize,
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

impl Table {
    /// An empty table of `family` with kube-proxy's table comment.
    pub(crate) fn new(family: Family, sizes: Sizes) -> Table {
        Table {
            family,
            comment: "rules for kube-proxy",
            chain_text: String::with_capacity(sizes.chains * 96),
            set_text: String::with_capacity(1024 + sizes.sets * 140),
            map_text: String::with_capacity(1024),
            rule_text: String::with_capacity(sizes.rules * 150),
            elem_text: String::with_capacity(sizes.elements * 120),
            chains: Vec::with_capacity(sizes.chains),
            sets: Vec::with_capacity(8 + sizes.sets),
            maps: Vec::with_capacity(8),
            rules: Vec::with_capacity(sizes.rules),
            elements: Vec::with_capacity(sizes.elements),
        }
    }

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
        self.comment
    }

    /// Chains in creation order.
    pub fn chains(&self) -> impl ExactSizeIterator<Item = Chain<'_>> + '_ {
        self.chains.iter().map(|c| self.chain_view(c))
    }

    /// Sets in creation order.
    pub fn sets(&self) -> impl ExactSizeIterator<Item = Set<'_>> + '_ {
        self.sets.iter().map(|s| self.set_view(s))
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
        self.rules.iter().map(|r| self.rule_view(r))
    }

    /// Elements in creation order.
    pub fn elements(&self) -> impl ExactSizeIterator<Item = Element<'_>> + '_ {
        self.elements.iter().map(|e| self.element_view(e))
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
        Span::of(&self.chain_text, self.chains[id as usize].name)
    }

    fn chain_view<'a>(&'a self, c: &ChainRec) -> Chain<'a> {
        Chain {
            name: Span::of(&self.chain_text, c.name),
            base: c.base,
            comment: c.comment,
        }
    }

    fn set_view<'a>(&'a self, s: &SetRec) -> Set<'a> {
        Set {
            name: Span::of(&self.set_text, s.name),
            key_type: s.key_type,
            flags: s.flags,
            timeout_seconds: s.timeout,
            comment: s.comment,
        }
    }

    fn rule_view<'a>(&'a self, r: &RuleRec) -> Rule<'a> {
        Rule {
            chain: self.chain_name(r.chain),
            rule: Span::of(&self.rule_text, r.text),
            comment: r.comment,
        }
    }

    fn element_view<'a>(&'a self, e: &ElemRec) -> Element<'a> {
        let (container, in_map) = match e.container {
            Container::Set(SetId(i)) => (self.set_name(i), false),
            Container::Map(MapId(i)) => (self.maps[i as usize].name, true),
        };
        Element {
            container,
            in_map,
            key: Span::of(&self.elem_text, e.key),
            comment: e.comment.map(|c| Span::of(&self.elem_text, c)),
            value: e.value.map(|v| Span::of(&self.elem_text, v)),
        }
    }

    pub(crate) fn set_name(&self, id: u32) -> &str {
        Span::of(&self.set_text, self.sets[id as usize].name)
    }

    pub(crate) fn map_name(&self, id: u32) -> &'static str {
        self.maps[id as usize].name
    }

    /// The `add table …` line.
    pub(crate) fn write_table_line(&self, out: &mut String) {
        out.push_str("add table ");
        out.push_str(self.family.as_str());
        out.push(' ');
        out.push_str(TABLE);
        out.push_str(" { comment ");
        quote(out, self.comment);
        out.push_str(" ; }\n");
    }

    fn head(out: &mut String, kind: &str, family: Family) {
        out.push_str("add ");
        out.push_str(kind);
        out.push(' ');
        out.push_str(family.as_str());
        out.push(' ');
        out.push_str(TABLE);
        out.push(' ');
    }

    /// Adds a chain named `prefix` + `name`.
    pub(crate) fn add_chain(
        &mut self,
        prefix: &str,
        name: &str,
        base: Option<BaseChain>,
        comment: Option<&'static str>,
    ) -> ChainId {
        let out = &mut self.chain_text;
        let line = out.len();
        Self::head(out, "chain", self.family);
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
        self.chains.push(ChainRec {
            line: Span {
                start: line,
                end: out.len(),
            },
            name: Span {
                start: n,
                end: name_end,
            },
            base,
            comment: if base.is_some() { None } else { comment },
        });
        ChainId((self.chains.len() - 1) as u32)
    }

    /// Adds a set named `prefix` + `name`.
    pub(crate) fn add_set(
        &mut self,
        prefix: &str,
        name: &str,
        key_type: &'static str,
        flags: &'static [&'static str],
        timeout: Option<u32>,
        comment: Option<&'static str>,
    ) -> SetId {
        let out = &mut self.set_text;
        let line = out.len();
        Self::head(out, "set", self.family);
        let n = out.len();
        out.push_str(prefix);
        out.push_str(name);
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
            line: Span {
                start: line,
                end: out.len(),
            },
            name: Span {
                start: n,
                end: name_end,
            },
            key_type,
            flags,
            timeout,
            comment,
        });
        SetId((self.sets.len() - 1) as u32)
    }

    /// Adds a verdict map.
    pub(crate) fn add_map(
        &mut self,
        name: &'static str,
        key_type: &'static str,
        comment: Option<&'static str>,
    ) -> MapId {
        let out = &mut self.map_text;
        let line = out.len();
        Self::head(out, "map", self.family);
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
            line: Span {
                start: line,
                end: out.len(),
            },
            name,
            key_type,
            comment,
        });
        MapId((self.maps.len() - 1) as u32)
    }

    /// Starts a rule in `chain`; the text is written through the returned writer.
    pub(crate) fn rule(&mut self, chain: ChainId) -> RuleWriter<'_> {
        let line = self.rule_text.len();
        Self::head(&mut self.rule_text, "rule", self.family);
        let name = self.chains[chain.0 as usize].name;
        self.rule_text
            .push_str(&self.chain_text[name.start..name.end]);
        self.rule_text.push(' ');
        let text = self.rule_text.len();
        RuleWriter {
            t: self,
            chain,
            line,
            text,
        }
    }

    /// Starts an element of `c`; the key, comment and value are written through the writer.
    pub(crate) fn element(&mut self, c: Container) -> ElemWriter<'_> {
        let line = self.elem_text.len();
        Self::head(&mut self.elem_text, "element", self.family);
        match c {
            Container::Set(SetId(i)) => {
                let n = self.sets[i as usize].name;
                self.elem_text.push_str(&self.set_text[n.start..n.end]);
            }
            Container::Map(MapId(i)) => self.elem_text.push_str(self.maps[i as usize].name),
        }
        self.elem_text.push_str(" { ");
        let key = self.elem_text.len();
        ElemWriter {
            t: self,
            container: c,
            line,
            key,
            key_parts: 0,
            comment: None,
        }
    }
}

/// Writes one rule's text into its table (see [`Table::rule`]).
pub(crate) struct RuleWriter<'t> {
    t: &'t mut Table,
    chain: ChainId,
    line: usize,
    text: usize,
}

impl RuleWriter<'_> {
    /// Appends words; the caller supplies the spaces between them.
    pub fn s(&mut self, s: &str) -> &mut Self {
        self.t.rule_text.push_str(s);
        self
    }

    /// Appends a chain's name.
    pub fn chain(&mut self, c: ChainId) -> &mut Self {
        let t = &mut *self.t;
        let n = t.chains[c.0 as usize].name;
        t.rule_text.push_str(&t.chain_text[n.start..n.end]);
        self
    }

    /// Appends a set's name.
    pub fn set(&mut self, s: SetId) -> &mut Self {
        let t = &mut *self.t;
        let n = t.sets[s.0 as usize].name;
        t.rule_text.push_str(&t.set_text[n.start..n.end]);
        self
    }

    /// Appends an address.
    pub fn ip(&mut self, ip: &IpAddr) -> &mut Self {
        let _ = write!(self.t.rule_text, "{ip}");
        self
    }

    /// Appends anything displayable (a number, a CIDR).
    pub fn d(&mut self, v: impl std::fmt::Display) -> &mut Self {
        let _ = write!(self.t.rule_text, "{v}");
        self
    }

    /// Ends the rule, with an optional comment.
    pub fn end(&mut self, comment: Option<&'static str>) {
        let t = &mut *self.t;
        let text_end = t.rule_text.len();
        if let Some(c) = comment {
            t.rule_text.push_str(" comment ");
            quote(&mut t.rule_text, c);
        }
        t.rule_text.push('\n');
        t.rules.push(RuleRec {
            line: Span {
                start: self.line,
                end: t.rule_text.len(),
            },
            chain: self.chain.0,
            text: Span {
                start: self.text,
                end: text_end,
            },
            comment,
        });
    }
}

/// Writes one element into its table (see [`Table::element`]): key parts, then an optional
/// comment, then the value of a map element.
pub(crate) struct ElemWriter<'t> {
    t: &'t mut Table,
    container: Container,
    line: usize,
    key: usize,
    key_parts: u8,
    comment: Option<Span>,
}

impl ElemWriter<'_> {
    fn sep(&mut self) {
        if self.key_parts > 0 {
            self.t.elem_text.push_str(" . ");
        }
        self.key_parts += 1;
    }

    /// Appends an address key part.
    pub fn ip(&mut self, ip: &IpAddr) -> &mut Self {
        self.sep();
        let _ = write!(self.t.elem_text, "{ip}");
        self
    }

    /// Appends a text key part.
    pub fn part(&mut self, s: &str) -> &mut Self {
        self.sep();
        self.t.elem_text.push_str(s);
        self
    }

    /// Appends a port key part.
    pub fn port(&mut self, p: u16) -> &mut Self {
        self.sep();
        let _ = write!(self.t.elem_text, "{p}");
        self
    }

    /// Ends the key and writes the comment.
    pub fn comment(&mut self, c: &str) -> &mut Self {
        let t = &mut *self.t;
        t.elem_text.push_str(" comment ");
        let start = t.elem_text.len() + 1;
        quote(&mut t.elem_text, c);
        self.comment = Some(Span {
            start,
            end: t.elem_text.len() - 1,
        });
        self
    }

    fn key_end(&self) -> usize {
        match self.comment {
            // ` comment "`: 10 bytes before the comment text.
            Some(c) => c.start - 10,
            None => self.t.elem_text.len(),
        }
    }

    /// Ends a set element.
    pub fn end(&mut self) {
        let key_end = self.key_end();
        self.finish(key_end, None);
    }

    /// Ends a map element with `: goto CHAIN`.
    pub fn goto(&mut self, c: ChainId) {
        let key_end = self.key_end();
        let t = &mut *self.t;
        t.elem_text.push_str(" : ");
        let start = t.elem_text.len();
        t.elem_text.push_str("goto ");
        let n = t.chains[c.0 as usize].name;
        t.elem_text.push_str(&t.chain_text[n.start..n.end]);
        let end = t.elem_text.len();
        self.finish(key_end, Some(Span { start, end }));
    }

    /// Ends a map element with `: VERDICT`.
    pub fn verdict(&mut self, v: &str) {
        let key_end = self.key_end();
        let t = &mut *self.t;
        t.elem_text.push_str(" : ");
        let start = t.elem_text.len();
        t.elem_text.push_str(v);
        let end = t.elem_text.len();
        self.finish(key_end, Some(Span { start, end }));
    }

    fn finish(&mut self, key_end: usize, value: Option<Span>) {
        let t = &mut *self.t;
        t.elem_text.push_str(" }\n");
        t.elements.push(ElemRec {
            line: Span {
                start: self.line,
                end: t.elem_text.len(),
            },
            container: self.container,
            key: Span {
                start: self.key,
                end: key_end,
            },
            comment: self.comment,
            value,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_views_agree() {
        let mut t = Table::new(Family::Ip6, Sizes::default());
        let base = BaseChain {
            chain_type: ChainType::Nat,
            hook: Hook::Output,
            priority: -100,
        };
        let nat = t.add_chain("", "nat-output", Some(base), None);
        let svc = t.add_chain("service-", "X-ns/a/tcp/p", None, None);
        let m = t.add_map("service-ips", Family::Ip6.addr_proto_port_type(), Some("c"));
        t.rule(nat).s("jump ").chain(svc).end(Some("a \"q\""));
        t.element(Container::Map(m))
            .ip(&"fd00::1".parse().unwrap())
            .part("tcp")
            .port(80)
            .comment("ns/a:p")
            .goto(svc);
        assert_eq!(
            t.chain_text,
            "add chain ip6 kube-proxy nat-output { type nat hook output priority -100 ; }\n\
             add chain ip6 kube-proxy service-X-ns/a/tcp/p\n"
        );
        assert_eq!(
            t.rule_text,
            "add rule ip6 kube-proxy nat-output jump service-X-ns/a/tcp/p comment \"a \\\"q\\\"\"\n"
        );
        assert_eq!(
            t.elem_text,
            "add element ip6 kube-proxy service-ips { fd00::1 . tcp . 80 comment \"ns/a:p\" : goto service-X-ns/a/tcp/p }\n"
        );
        let r = t.rules().next().unwrap();
        assert_eq!(
            (r.chain, r.rule),
            ("nat-output", "jump service-X-ns/a/tcp/p")
        );
        let e = t.elements().next().unwrap();
        assert_eq!(e.key, "fd00::1 . tcp . 80");
        assert_eq!(e.key_parts().collect::<Vec<_>>(), ["fd00::1", "tcp", "80"]);
        assert_eq!(e.comment, Some("ns/a:p"));
        assert_eq!(e.value, Some("goto service-X-ns/a/tcp/p"));
        assert_eq!(e.container, "service-ips");
        assert_eq!(t.chain("nat-output").unwrap().base, Some(base));
    }
}
