//! The object model of kube-proxy's `kube-proxy` table: the table, its chains (base chains with
//! type, hook and priority), sets, maps, rules and elements.
//!
//! The table keeps every object's complete `add …` line (knftables `Fake.Dump()` syntax) in one
//! text, in the order `nft -f` accepts (table, chains, sets, maps, rules, elements), and records
//! where each object's fields sit inside it. Building it writes each byte once into buffers
//! sized up front (no allocation per object), and the `load` form is that text as it is. The
//! accessors ([`Table::chains`], [`Table::rules`], …) give borrowed views of the fields.
//!
//! [`Builder`] fills a table in two phases, as the text demands: first the declarations
//! (chains into the text; sets, maps and elements into side buffers), then the rules (into the
//! text, after the sets and maps are appended); the elements are appended last.

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
    /// Every object's line, in load order.
    pub(crate) text: String,
    pub(crate) chains: Vec<ChainRec>,
    pub(crate) sets: Vec<SetRec>,
    pub(crate) maps: Vec<MapRec>,
    pub(crate) rules: Vec<RuleRec>,
    pub(crate) elements: Vec<ElemRec>,
    /// Where the table's own line ends.
    pub(crate) table_line_end: usize,
}

/// The table's comment.
const TABLE_COMMENT: &str = "rules for kube-proxy";

/// Expected object counts and text sizes, to size the buffers once (an underestimate costs a
/// reallocation that copies the buffer; an overestimate only reserves address space).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Sizes {
    pub chains: usize,
    pub sets: usize,
    pub rules: usize,
    pub elements: usize,
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

/// Appends a decimal number (the rule text's ports and indices) without the formatting
/// machinery: it runs for every element and vmap entry.
pub(crate) fn push_u32(out: &mut String, mut n: u32) {
    let mut buf = [0u8; 10];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &buf[i..] {
        out.push(d as char);
    }
}

/// Appends an address as Go prints it (dotted quad; IPv6 in RFC 5952 form, which Rust's
/// `Display` also produces).
pub(crate) fn push_ip(out: &mut String, ip: &IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            for (i, o) in v4.octets().iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                push_u32(out, u32::from(*o));
            }
        }
        IpAddr::V6(_) => {
            let _ = write!(out, "{ip}");
        }
    }
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
        self.chains.iter().map(|c| Chain {
            name: c.name.of(&self.text),
            base: c.base,
            comment: c.comment,
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
        self.rules.iter().map(|r| Rule {
            chain: self.chain_name(r.chain),
            rule: r.text.of(&self.text),
            comment: r.comment.map(|c| c.of(&self.text)),
        })
    }

    /// Elements in creation order.
    pub fn elements(&self) -> impl ExactSizeIterator<Item = Element<'_>> + '_ {
        self.elements.iter().map(|e| {
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
    sets: Vec<SetRec>,
    maps: Vec<MapRec>,
    rules: Vec<RuleRec>,
    elements: Vec<ElemRec>,
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
            sets: Vec::with_capacity(8 + sizes.sets),
            maps: Vec::with_capacity(8),
            rules: Vec::with_capacity(64 + sizes.rules),
            elements: Vec::with_capacity(8 + sizes.elements),
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
        head(out, "chain", self.family);
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
            line: Span::new(line, out.len()),
            name: Span::new(n, name_end),
            base,
            comment: if base.is_some() { None } else { comment },
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
        head(out, "set", self.family);
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
        head(out, "map", self.family);
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
    }

    /// Starts a rule in `chain` (rules phase); the text is written through the returned writer.
    pub(crate) fn rule(&mut self, chain: ChainId) -> RuleWriter<'_> {
        debug_assert!(self.declared, "rules follow the declarations");
        let line = self.text.len();
        head(&mut self.text, "rule", self.family);
        let name = self.chains[chain.0 as usize].name;
        self.text.extend_from_within(name.range());
        self.text.push(' ');
        let text = self.text.len();
        RuleWriter {
            b: self,
            chain,
            line,
            text,
        }
    }

    /// Starts an element of `c`; the key, comment and value are written through the writer.
    pub(crate) fn element(&mut self, c: Container) -> ElemWriter<'_> {
        let out = &mut self.elem_side;
        let line = out.len();
        head(out, "element", self.family);
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
        let key = out.len();
        ElemWriter {
            b: self,
            container: c,
            line,
            key,
            key_parts: 0,
            comment: None,
        }
    }

    /// Appends the elements and hands over the table.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) when the text passes 4 GiB.
    pub(crate) fn finish(mut self) -> crate::Result<Table> {
        self.declarations_done();
        let at = self.text.len();
        self.text.push_str(&self.elem_side);
        if self.text.len() > u32::MAX as usize {
            return Err(crate::Error::InvalidArgument(format!(
                "the nftables table would be {} bytes; at most 4 GiB is supported",
                self.text.len()
            )));
        }
        for e in &mut self.elements {
            e.line = e.line.shift(at);
            e.key = e.key.shift(at);
            e.comment = e.comment.map(|c| c.shift(at));
            e.value = e.value.map(|v| v.shift(at));
        }
        let text = self.text;
        Ok(Table {
            family: self.family,
            text,
            chains: self.chains,
            sets: self.sets,
            maps: self.maps,
            rules: self.rules,
            elements: self.elements,
            table_line_end: self.table_line_end,
        })
    }
}

/// Writes one rule's text into its table (see [`Builder::rule`]).
#[derive(Debug)]
pub(crate) struct RuleWriter<'b> {
    b: &'b mut Builder,
    chain: ChainId,
    line: usize,
    text: usize,
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
        let text_end = b.text.len();
        let comment = comment.map(|c| {
            b.text.push_str(" comment ");
            let start = b.text.len() + 1;
            quote(&mut b.text, c);
            Span::new(start, b.text.len() - 1)
        });
        b.text.push('\n');
        b.rules.push(RuleRec {
            line: Span::new(self.line, b.text.len()),
            text: Span::new(self.text, text_end),
            comment,
            chain: self.chain.0,
        });
    }
}

/// Writes one element into its table (see [`Builder::element`]): key parts, then an optional
/// comment, then the value of a map element.
#[derive(Debug)]
pub(crate) struct ElemWriter<'b> {
    b: &'b mut Builder,
    container: Container,
    line: usize,
    key: usize,
    key_parts: u8,
    comment: Option<Span>,
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
        let start = out.len() + 1;
        quote(out, c);
        self.comment = Some(Span::new(start, out.len() - 1));
        self
    }

    fn key_end(&self) -> usize {
        match self.comment {
            // ` comment "`: 10 bytes before the comment text.
            Some(c) => c.start as usize - 10,
            None => self.b.elem_side.len(),
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
        let b = &mut *self.b;
        b.elem_side.push_str(" : ");
        let start = b.elem_side.len();
        b.elem_side.push_str("goto ");
        let n = b.chains[c.0 as usize].name;
        b.elem_side.push_str(&b.text[n.range()]);
        let end = b.elem_side.len();
        self.finish(key_end, Some(Span::new(start, end)));
    }

    /// Ends a map element with `: VERDICT`.
    pub fn verdict(&mut self, v: &str) {
        let key_end = self.key_end();
        let out = &mut self.b.elem_side;
        out.push_str(" : ");
        let start = out.len();
        out.push_str(v);
        let end = out.len();
        self.finish(key_end, Some(Span::new(start, end)));
    }

    fn finish(&mut self, key_end: usize, value: Option<Span>) {
        let b = &mut *self.b;
        b.elem_side.push_str(" }\n");
        b.elements.push(ElemRec {
            line: Span::new(self.line, b.elem_side.len()),
            key: Span::new(self.key, key_end),
            comment: self.comment,
            value,
            container: self.container,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_addresses_print_as_display_does() {
        for n in [0u32, 7, 10, 99, 100, 65535, u32::MAX] {
            let mut s = String::new();
            push_u32(&mut s, n);
            assert_eq!(s, n.to_string());
        }
        for ip in [
            "0.0.0.0",
            "10.180.0.1",
            "255.255.255.255",
            "fd00::1",
            "::ffff:1.2.3.4",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            let mut s = String::new();
            push_ip(&mut s, &ip);
            assert_eq!(s, ip.to_string());
        }
    }

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
