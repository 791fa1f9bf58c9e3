//! Dumps: the tables, chains and rules of an `iptables-save` output or `iptables-restore` input,
//! and printing them the way `iptables-save` does.
//!
//! spec: kube-proxy-iptables.md §4.3 (what `iptables-save` prints). Checked against iptables
//! v1.8.9 (nf_tables) on Debian 12 (tests/kernel): tables print as mangle, filter, nat; built-in
//! chains first in hook order, user chains byte-wise sorted, rules grouped per chain in that
//! order; `-m recent` prints `--mask 255.255.255.255`.

use std::collections::HashSet;

/// Chain names of large dumps (100k+ chains): ahash instead of SipHash.
use crate::fast::{Fast, FastMap};
use std::fmt::Write as _;

use super::rule::{Rule, SaveStyle};

/// A chain declaration (`:NAME POLICY [packets:bytes]`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ChainDecl {
    /// Chain name.
    pub name: String,
    /// `ACCEPT`/`DROP` for built-in chains, `-` for user chains.
    pub policy: String,
}

/// One table of a dump.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Table {
    /// `filter`, `nat`, ...
    pub name: String,
    /// Declared chains, in dump order.
    pub chains: Vec<ChainDecl>,
    /// Rules, in dump order (per chain order is what matters).
    pub rules: Vec<Rule>,
    /// `-X` lines.
    pub deleted: Vec<String>,
}

impl Table {
    /// The rules of one chain, in order.
    pub fn chain_rules<'a>(&'a self, chain: &'a str) -> impl Iterator<Item = &'a Rule> + 'a {
        self.rules.iter().filter(move |r| r.chain == chain)
    }

    /// Whether a chain is declared.
    pub fn has_chain(&self, chain: &str) -> bool {
        self.chains.iter().any(|c| c.name == chain)
    }

    /// Inserts a rule before the `pos`-th (1-based) rule of its chain, or at the end of the
    /// chain when it has fewer rules (`iptables -I CHAIN pos`).
    pub fn insert_rule(&mut self, pos: usize, rule: Rule) {
        let idx = self
            .rules
            .iter()
            .enumerate()
            .filter(|(_, x)| x.chain == rule.chain)
            .nth(pos.max(1) - 1)
            .map(|(i, _)| i)
            .unwrap_or(self.rules.len());
        self.rules.insert(idx, rule);
    }
}

/// A parsed dump: `iptables-restore` input or `iptables-save` output.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Dump {
    /// Tables in dump order.
    pub tables: Vec<Table>,
}

impl Dump {
    /// The table of that name.
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }
}

/// Where a reader of rules (a dump's text, or a renderer's words through `RuleBuilder`) puts
/// them, table by table, the way `iptables-restore` reads its input: a table is opened, chains
/// are declared, rules are added, the table is committed. `Filler` keeps everything as a
/// [`Dump`]; a caller that needs less of each rule (the audit keeps its text) implements it to
/// drop each rule once read.
pub(crate) trait RuleSink {
    /// Opens a table; `false` when one is already open.
    fn begin(&mut self, table: &str) -> bool;
    /// Whether a table is open.
    fn is_open(&self) -> bool;
    /// Declares a chain in the open table (a repeated declaration is ignored).
    fn declare(&mut self, chain: &str, policy: &str);
    /// Appends a rule to its chain in the open table.
    fn append(&mut self, rule: Rule);
    /// Offers an `-A CHAIN …` line of a dump's text before it is read: `true` when the sink
    /// took the line as it is (it knows the rule that prints as exactly this text), so the
    /// reader skips it; `false` (the default) to have it read and given to
    /// [`RuleSink::append`].
    fn append_text(&mut self, _line: &str) -> bool {
        false
    }
    /// Inserts a rule before the `pos`-th (1-based) rule of its chain, or at the end of the
    /// chain when it has fewer rules (`-I CHAIN pos`).
    fn insert(&mut self, pos: usize, rule: Rule);
    /// Removes the rules of a chain (`-F CHAIN`).
    fn flush(&mut self, chain: &str);
    /// Records the deletion of a chain (`-X CHAIN`).
    fn delete(&mut self, chain: &str);
    /// Closes the open table; `false` when none is open.
    fn commit(&mut self) -> bool;
}

/// A dump being filled table by table (see [`RuleSink`]); chains are declared once each (a
/// dump can declare 100k+ chains).
#[derive(Debug, Default)]
pub(crate) struct Filler {
    dump: Dump,
    cur: Option<Table>,
    declared: HashSet<String, Fast>,
}

impl Filler {
    /// Opens a table; `false` when one is already open.
    pub fn begin(&mut self, name: &str) -> bool {
        if self.cur.is_some() {
            return false;
        }
        self.cur = Some(Table {
            name: name.to_owned(),
            ..Table::default()
        });
        self.declared.clear();
        true
    }

    /// Declares a chain in the open table (a repeated declaration is ignored); `false` when no
    /// table is open.
    pub fn declare(&mut self, name: &str, policy: &str) -> bool {
        let Some(t) = self.cur.as_mut() else {
            return false;
        };
        if !self.declared.contains(name) {
            self.declared.insert(name.to_owned());
            t.chains.push(ChainDecl {
                name: name.to_owned(),
                policy: policy.to_owned(),
            });
        }
        true
    }

    /// Closes the open table; `false` when none is open.
    pub fn commit(&mut self) -> bool {
        match self.cur.take() {
            Some(t) => {
                self.dump.tables.push(t);
                true
            }
            None => false,
        }
    }

    /// The dump; `None` when a table is still open.
    pub fn finish(self) -> Option<Dump> {
        self.cur.is_none().then_some(self.dump)
    }
}

impl RuleSink for Filler {
    fn begin(&mut self, table: &str) -> bool {
        Filler::begin(self, table)
    }

    fn is_open(&self) -> bool {
        self.cur.is_some()
    }

    fn declare(&mut self, chain: &str, policy: &str) {
        Filler::declare(self, chain, policy);
    }

    fn append(&mut self, rule: Rule) {
        if let Some(t) = self.cur.as_mut() {
            t.rules.push(rule);
        }
    }

    fn insert(&mut self, pos: usize, rule: Rule) {
        if let Some(t) = self.cur.as_mut() {
            t.insert_rule(pos, rule);
        }
    }

    fn flush(&mut self, chain: &str) {
        if let Some(t) = self.cur.as_mut() {
            t.rules.retain(|r| r.chain != chain);
        }
    }

    fn delete(&mut self, chain: &str) {
        if let Some(t) = self.cur.as_mut() {
            t.deleted.push(chain.to_owned());
        }
    }

    fn commit(&mut self) -> bool {
        Filler::commit(self)
    }
}

/// Built-in chains of a table, in the order `iptables-save` declares them.
pub fn builtin_chains(table: &str) -> &'static [&'static str] {
    match table {
        "filter" => &["INPUT", "FORWARD", "OUTPUT"],
        "nat" => &["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
        "mangle" => &["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
        "raw" => &["PREROUTING", "OUTPUT"],
        _ => &[],
    }
}

/// Prints dumps merged (later ones' rules appended per chain) as `iptables-save` would, without
/// its `#` comment lines.
pub fn save_text(dumps: &[&Dump], style: &SaveStyle) -> String {
    let mut names: Vec<&str> = Vec::new();
    for d in dumps {
        for t in &d.tables {
            if !names.contains(&t.name.as_str()) {
                names.push(&t.name);
            }
        }
    }
    let rank = |t: &str| match t {
        "raw" => 0,
        "mangle" => 1,
        "filter" => 2,
        "nat" => 3,
        _ => 4,
    };
    names.sort_by_key(|t| (rank(t), *t));
    // About 110 bytes per rule and 30 per chain line; avoids regrowth copies of a large text.
    let rules: usize = dumps
        .iter()
        .flat_map(|d| &d.tables)
        .map(|t| t.rules.len() * 110 + t.chains.len() * 30)
        .sum();
    let mut out = String::with_capacity(rules + 1024);
    for name in names {
        let tables: Vec<_> = dumps.iter().filter_map(|d| d.table(name)).collect();
        let builtins = builtin_chains(name);
        // Rules grouped per chain once (a per-chain scan would be quadratic); every declared
        // chain is listed, with or without rules.
        let mut by_chain: FastMap<&str, Vec<&Rule>> = FastMap::default();
        for t in &tables {
            for c in &t.chains {
                by_chain.entry(c.name.as_str()).or_default();
            }
            for r in &t.rules {
                by_chain.entry(r.chain.as_str()).or_default().push(r);
            }
        }
        let mut user: Vec<&str> = by_chain
            .keys()
            .copied()
            .filter(|c| !builtins.contains(c))
            .collect();
        user.sort_unstable();
        let _ = writeln!(out, "*{name}");
        for b in builtins {
            let _ = writeln!(out, ":{b} ACCEPT [0:0]");
        }
        for u in &user {
            out.push(':');
            out.push_str(u);
            out.push_str(" - [0:0]\n");
        }
        for chain in builtins.iter().copied().chain(user.iter().copied()) {
            for r in by_chain.get(chain).map(Vec::as_slice).unwrap_or(&[]) {
                r.write_save(&mut out, style);
                out.push('\n');
            }
        }
        out.push_str("COMMIT\n");
    }
    out
}
