//! Audit a node's real `iptables-save` against what kube-proxy should have written.
//!
//! Both sides are read into the [`crate::netfilter`] rule model and compared in `iptables-save`'s
//! canonical form, so counters, quoting, `/32`, `--set-xmark`, 11-decimal probabilities and the
//! `recent` mask do not count as drift. Only kube-proxy's rules are compared: rules in `KUBE-*`
//! chains of the filter and nat tables and rules in built-in chains that jump to a `KUBE-*`
//! chain; everything else on the node is ignored, as are the kubelet's own chains.
//!
//! Rule order is compared only where it changes behaviour: inside per-service chains (the
//! probability cascade, the FW chain's final rule, SEP hairpin before DNAT) and the fixed chains,
//! and for the nodeports rule that must stay last in nat `KUBE-SERVICES`. Order among the
//! independent per-service rules of `KUBE-SERVICES`, `KUBE-NODEPORTS`,
//! `KUBE-EXTERNAL-SERVICES`, `KUBE-PROXY-FIREWALL` and the built-in chains is ignored.
//!
//! The node's rules come in the shapes people paste ([`audit_with`]): `iptables-save` of
//! either backend, with or without `-c`, or one table's `iptables -S` (then only that table is
//! compared); `iptables -L` listings are refused with the command to run instead. The report's
//! notes say what was read and the signs of an older kube-proxy (tests/node-dumps/README.md).
//!
//! nftables mode (a node's `nft list` output against kube-proxy's `kube-proxy` table) is
//! [`nftables`]; both modes report in the types of this module.
//!
//! # Example
//! ```
//! use svccore::render::iptables::{render, Form, ProxierSettings};
//! let cluster = svccore::load::load_strs([(None, r#"{"apiVersion":"v1","kind":"List","items":[
//!  {"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"default"},
//!   "spec":{"clusterIP":"10.96.0.10","ports":[{"port":80}]}}]}"#)]).unwrap();
//! let s = ProxierSettings::default();
//! let save = render(&cluster, &s, Form::Save).unwrap();
//! assert!(!svccore::audit::audit(&cluster, &s, &save).unwrap().has_drift());
//! let broken = save.replace("-j REJECT", "-j DROP");
//! let report = svccore::audit::audit(&cluster, &s, &broken).unwrap();
//! assert!(report.has_drift());
//! assert_eq!(report.service_ports[0].service_port, "default/web");
//! ```

use std::cell::OnceCell;
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;

use crate::categorize::NodeContext;
use crate::fast::{FastMap, FastSet};
use crate::model::IpFamily;
use crate::netfilter::{builtin_chains, Dump, Rule, RuleSink, SaveStyle, Target};
use crate::render::iptables::names::{endpoint_chain, service_chain_suffix};
use crate::render::iptables::{jump_dump, restore_into, ProxierSettings};
use crate::snapshot::{ProxySnapshot, ServicePortView};
use crate::{Cluster, Result};

mod actual;
pub mod nftables;
pub mod userspace;

/// Chains owned by the kubelet or empty by design: never audited.
const IGNORED_CHAINS: &[&str] = &["KUBE-KUBELET-CANARY", "KUBE-PROXY-CANARY", "KUBE-MARK-DROP"];

/// The group name of rules that belong to no service port (fixed chains, jump rules).
pub const NODE_GROUP: &str = "(node)";

/// A rule on one side only (nftables: a rule, a set or map element, or the table itself).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AuditRule {
    /// `filter` or `nat` (nftables: `ip kube-proxy` / `ip6 kube-proxy`).
    pub table: String,
    /// Its chain (nftables: the chain of a rule, the set or map of an element; empty for the
    /// table).
    pub chain: String,
    /// The rule, as `iptables-save` prints it (nftables: the `add rule` / `add element` /
    /// `add table` command that creates it, in `nft list` syntax).
    pub rule: String,
}

/// A rule that exists on both sides with the same purpose but different text (nftables: also
/// an element whose comment or verdict differs, or a chain, set, map or table declared with
/// other properties).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ChangedRule {
    /// `filter` or `nat` (nftables: `ip kube-proxy` / `ip6 kube-proxy`).
    pub table: String,
    /// Its chain (nftables: or the set, map or chain declared; empty for the table).
    pub chain: String,
    /// What kube-proxy should have written.
    pub expected: String,
    /// What the node has.
    pub actual: String,
}

/// The differences of one service port (or of the node-level rules).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ServiceAudit {
    /// `ns/name[:port]`, or [`NODE_GROUP`].
    pub service_port: String,
    /// Expected rules the node lacks.
    pub missing: Vec<AuditRule>,
    /// Rules the node has that kube-proxy would not write.
    pub extra: Vec<AuditRule>,
    /// Rules that differ (paired by chain and comment or jump target).
    pub changed: Vec<ChangedRule>,
    /// Chains whose rules are all there but in an order that changes behaviour.
    pub reordered: Vec<String>,
    /// Expected chains the node lacks.
    pub missing_chains: Vec<String>,
    /// `KUBE-*` chains the node has and kube-proxy would not (e.g. stale ones); nftables:
    /// chains of the `kube-proxy` table.
    pub extra_chains: Vec<String>,
    /// nftables: expected sets and maps the node lacks (`ip kube-proxy NAME`).
    pub missing_sets: Vec<String>,
    /// nftables: sets and maps the node has and kube-proxy would not.
    pub extra_sets: Vec<String>,
}

impl ServiceAudit {
    fn is_clean(&self) -> bool {
        self.missing.is_empty()
            && self.extra.is_empty()
            && self.changed.is_empty()
            && self.reordered.is_empty()
            && self.missing_chains.is_empty()
            && self.extra_chains.is_empty()
            && self.missing_sets.is_empty()
            && self.extra_sets.is_empty()
    }
}

/// The result of an audit.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct AuditReport {
    /// The node audited.
    pub node: String,
    /// The family audited.
    pub family: IpFamily,
    /// The mode audited: `iptables` or `nftables`.
    pub mode: &'static str,
    /// Service ports (and the node group) with drift, node group first, then by name.
    pub service_ports: Vec<ServiceAudit>,
    /// How many service ports were checked and found clean.
    pub clean_service_ports: usize,
    /// Rules compared on the expected side.
    pub expected_rules: usize,
    /// kube-proxy rules found on the node.
    pub actual_rules: usize,
    /// nftables: set and map elements compared on the expected side (the elements of dynamic
    /// sets, learned from traffic, are not compared).
    pub expected_elements: usize,
    /// nftables: set and map elements found on the node.
    pub actual_elements: usize,
    /// What the report must say about the node's dump: the one table an `iptables -S` output
    /// held, a table missing from the dump, the signs of an older kube-proxy.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl AuditReport {
    /// Whether anything differs.
    pub fn has_drift(&self) -> bool {
        !self.service_ports.is_empty()
    }
}

/// Audits a node's `iptables-save` (or `ip6tables-save`) output against the rules kube-proxy
/// should have written for `cluster` with `settings` (node defaults from the Node object).
pub fn audit(cluster: &Cluster, settings: &ProxierSettings, actual: &str) -> Result<AuditReport> {
    audit_named(cluster, settings, actual, Some("iptables-save"))
}

/// [`audit`] with the name of `actual` (a file name) for its parse errors.
pub fn audit_named(
    cluster: &Cluster,
    settings: &ProxierSettings,
    actual: &str,
    file: Option<&str>,
) -> Result<AuditReport> {
    audit_with(cluster, settings, actual, ActualDump { file, table: None })
}

/// How to read the node's rules given to [`audit_with`].
#[derive(Clone, Copy, Debug, Default)]
pub struct ActualDump<'a> {
    /// The text's name (a file name, `-` for stdin) in parse errors.
    pub file: Option<&'a str>,
    /// `filter` or `nat`: the table an `iptables -S` output lists (inferred from its `-P`
    /// lines and kube-proxy's chains when `None`), or the one table to compare in an
    /// `iptables-save` output (`iptables-save -t nat`).
    pub table: Option<&'a str>,
}

/// [`audit`] of a node's rules in any shape people paste: `iptables-save` output of either
/// backend with or without `-c` counters, or one table's `iptables -S` (`-v` too).
/// `iptables -L` listings are refused with the command to run instead; so are `nft list` and
/// `ipvsadm` outputs. Rules of an older kube-proxy get notes naming the sign and the releases.
///
/// # Example
/// ```
/// use svccore::audit::{audit_with, ActualDump};
/// use svccore::render::iptables::{render, Form, ProxierSettings};
/// let cluster = svccore::load::load_strs([(None, "")]).unwrap();
/// let s = ProxierSettings::default();
/// let nat_s = "-P PREROUTING ACCEPT\n-P INPUT ACCEPT\n-P OUTPUT ACCEPT\n-P POSTROUTING ACCEPT\n";
/// let r = audit_with(&cluster, &s, nat_s, ActualDump { file: Some("nat.S"), table: None }).unwrap();
/// assert!(r.notes[0].starts_with("read as `iptables -t nat -S` output"));
/// let e = audit_with(&cluster, &s, "Chain INPUT (policy ACCEPT)\n", ActualDump::default());
/// assert!(e.unwrap_err().to_string().contains("run `iptables-save` on the node"));
/// ```
pub fn audit_with(
    cluster: &Cluster,
    settings: &ProxierSettings,
    actual: &str,
    how: ActualDump<'_>,
) -> Result<AuditReport> {
    let (resolved, snap) = settings.resolve_and_snapshot(cluster)?;
    let node = resolved.node.context();
    audit_snapshot_named(&snap, &resolved, &node, actual, how)
}

/// [`audit`] on a snapshot with settings used as given.
pub fn audit_snapshot(
    snap: &ProxySnapshot,
    settings: &ProxierSettings,
    node: &NodeContext,
    actual: &str,
) -> Result<AuditReport> {
    let how = ActualDump {
        file: Some("iptables-save"),
        table: None,
    };
    audit_snapshot_named(snap, settings, node, actual, how)
}

fn audit_snapshot_named(
    snap: &ProxySnapshot,
    settings: &ProxierSettings,
    node: &NodeContext,
    actual: &str,
    how: ActualDump<'_>,
) -> Result<AuditReport> {
    let v6 = settings.ip_family == IpFamily::IPv6;
    // The expected rules are kept as canonical text only: their rule model is dropped before
    // the node's dump is read, so the two models are never in memory together.
    let mut fill = SideFill::new(v6, false, IGNORED_CHAINS);
    fill.add_dump(&jump_dump(settings)?);
    let rules = restore_into(snap, settings, node, fill)?.side;
    let names = snap
        .ports
        .iter()
        .map(|p| p.service_port_name.to_string())
        .collect();
    let expected = Expected {
        rules,
        owner: OnceCell::new(),
        owners: &snap.ports,
        names,
        mode: "iptables",
        order_free,
        ignored: IGNORED_CHAINS,
    };
    compare(expected, settings, actual, how)
}

/// Chain → service port (an index into `ports`), for every chain the ports may own (their
/// names are hashed: 110,000 of them for 10,000 ports of 10 endpoints).
fn chain_owners(ports: &[ServicePortView]) -> FastMap<String, usize> {
    let mut owner: FastMap<String, usize> = FastMap::default();
    owner.reserve(ports.iter().map(|p| 4 + p.endpoints.len()).sum());
    for (k, p) in ports.iter().enumerate() {
        let proto = p.protocol.lower();
        let suffix = service_chain_suffix(&p.service_port_name, proto);
        for pre in ["KUBE-SVC-", "KUBE-SVL-", "KUBE-EXT-", "KUBE-FW-"] {
            owner.insert(format!("{pre}{suffix}"), k);
        }
        for e in &p.endpoints {
            owner.insert(endpoint_chain(&p.service_port_name, proto, &e.endpoint), k);
        }
    }
    owner
}

/// What a mode's kube-proxy should have written, for [`compare`].
struct Expected<'a> {
    /// The rules (every table read; [`compare`] keeps the one an `iptables -S` output lists).
    rules: Side,
    /// Chain → the service port (index into `names`) that owns it (chains named after a
    /// service port), made from `owners` when a drift is first reported: a clean node needs
    /// none.
    owner: OnceCell<FastMap<String, usize>>,
    /// The service ports whose chains `owner` names (in the order of `names`).
    owners: &'a [ServicePortView],
    /// Every service port audited.
    names: Vec<String>,
    /// The report's mode.
    mode: &'static str,
    /// Chains whose rules may come in any order.
    order_free: fn(&str, &str) -> bool,
    /// `KUBE-*` chains others own (the kubelet's): neither compared nor jumped to.
    ignored: &'static [&'static str],
}

/// Compares a node's rules (`actual`, read as `how` says) with the expected rules.
fn compare(
    expected: Expected<'_>,
    settings: &ProxierSettings,
    actual: &str,
    how: ActualDump<'_>,
) -> Result<AuditReport> {
    let v6 = settings.ip_family == IpFamily::IPv6;
    // The node's rules are kept as text only, each rule model dropped once read.
    let index = expected.rules.index();
    let mut fill = SideFill::new(v6, true, expected.ignored).knowing(&expected.rules, &index);
    let actual::Read { only_table, notes } =
        actual::read_into(actual, how.file, v6, how.table, &mut fill)?;
    let act = fill.side;
    let only = only_table.as_deref();
    let exp = &expected.rules;
    let owner = |chain: &str| {
        expected
            .owner
            .get_or_init(|| chain_owners(expected.owners))
            .get(chain)
            .copied()
    };
    let names = &expected.names;
    let order_free = expected.order_free;

    let mut groups: BTreeMap<String, ServiceAudit> = BTreeMap::new();
    let group_of = |chain: &str, r: &RuleView<'_>| -> String {
        if let Some(k) = r.jump.and_then(owner) {
            return names[k].clone();
        }
        if let Some(k) = owner(chain) {
            return names[k].clone();
        }
        if let Some(c) = r.comment {
            if let Some(s) = service_from_comment(c) {
                return s;
            }
        }
        NODE_GROUP.to_owned()
    };
    // (table, chain) in byte order of the table's and the chain's names.
    let tables = |t: usize| only.is_none_or(|o| o == TABLES[t]);
    // Every chain of the expected side and the node's other chains, table by table.
    let mut keys: Vec<(usize, &str)> = Vec::new();
    for t in (0..TABLES.len()).filter(|&t| tables(t)) {
        let mut chains: Vec<&str> = exp.chains[t].keys().map(String::as_str).collect();
        chains.extend(
            act.chains[t]
                .keys()
                .map(String::as_str)
                .filter(|c| !exp.chains[t].contains_key(*c)),
        );
        chains.sort_unstable();
        keys.extend(chains.into_iter().map(|c| (t, c)));
    }
    let empty = Vec::new();
    for &(t, chain) in &keys {
        let table = TABLES[t];
        let el = exp.chains[t].get(chain).unwrap_or(&empty);
        let al = act.chains[t].get(chain).unwrap_or(&empty);
        let chain_group = || owner(chain).map(|k| names[k].clone());
        // Declared-chain drift (only for chains kube-proxy declares: KUBE-*, not built-ins).
        if chain.starts_with("KUBE-") {
            let in_exp = exp.declared[t].contains(chain);
            let in_act = act.declared[t].contains(chain);
            if in_exp != in_act {
                let g = chain_group().unwrap_or_else(|| {
                    el.iter()
                        .map(|&i| exp.view(i))
                        .chain(al.iter().map(|&i| act.view(i)))
                        .map(|r| group_of(chain, &r))
                        .next()
                        .unwrap_or_else(|| NODE_GROUP.to_owned())
                });
                let e = groups.entry(g).or_default();
                let list = if in_exp {
                    &mut e.missing_chains
                } else {
                    &mut e.extra_chains
                };
                list.push(format!("{table} {chain}"));
            }
        }
        let same_sequence =
            el.len() == al.len() && el.iter().zip(al).all(|(&e, &a)| exp.text(e) == act.text(a));
        // Multiset difference (none when both sides list the same rules in the same order,
        // the common case).
        let (missing, extra) = if same_sequence {
            (Vec::new(), Vec::new())
        } else {
            multiset_difference(exp, el, &act, al)
        };
        // Pair missing and extra rules with the same purpose into "changed".
        let mut used = vec![false; extra.len()];
        for &m in &missing {
            let mv = exp.view(m);
            let pair = extra
                .iter()
                .enumerate()
                .position(|(k, &x)| !used[k] && same_purpose(&mv, &act.view(x)));
            let g = group_of(chain, &mv);
            let entry = groups.entry(g).or_default();
            match pair {
                Some(k) => {
                    used[k] = true;
                    entry.changed.push(ChangedRule {
                        table: table.to_owned(),
                        chain: chain.to_owned(),
                        expected: mv.text.to_owned(),
                        actual: act.text(extra[k]).to_owned(),
                    });
                }
                None => entry.missing.push(AuditRule {
                    table: table.to_owned(),
                    chain: chain.to_owned(),
                    rule: mv.text.to_owned(),
                }),
            }
        }
        for (k, &x) in extra.iter().enumerate() {
            if !used[k] {
                let xv = act.view(x);
                groups
                    .entry(group_of(chain, &xv))
                    .or_default()
                    .extra
                    .push(AuditRule {
                        table: table.to_owned(),
                        chain: chain.to_owned(),
                        rule: xv.text.to_owned(),
                    });
            }
        }
        // Order, where it matters.
        if missing.is_empty() && extra.is_empty() && !el.is_empty() {
            let reordered = if order_free(table, chain) {
                let tail = al.iter().position(|&i| {
                    act.view(i)
                        .comment
                        .is_some_and(|c| c.contains("must be the last rule"))
                });
                table == "nat"
                    && chain == "KUBE-SERVICES"
                    && tail.is_some_and(|p| p + 1 != al.len())
            } else {
                !same_sequence
            };
            if reordered {
                let g = chain_group().unwrap_or_else(|| NODE_GROUP.to_owned());
                groups
                    .entry(g)
                    .or_default()
                    .reordered
                    .push(format!("{table} {chain}"));
            }
        }
    }
    let mut drift: Vec<ServiceAudit> = Vec::new();
    for (name, mut g) in groups {
        if g.is_clean() {
            continue;
        }
        g.service_port = name;
        drift.push(g);
    }
    drift.sort_by_key(|g| (g.service_port != NODE_GROUP, g.service_port.clone()));
    let drifted: HashSet<&str> = drift.iter().map(|g| g.service_port.as_str()).collect();
    let clean = names
        .iter()
        .filter(|n| !drifted.contains(n.as_str()))
        .count();
    let counted = |s: &Side| {
        (0..TABLES.len())
            .filter(|&t| tables(t))
            .map(|t| s.count[t])
            .sum()
    };
    Ok(AuditReport {
        node: settings.node.name.clone(),
        family: settings.ip_family,
        mode: expected.mode,
        clean_service_ports: clean,
        expected_rules: counted(exp),
        actual_rules: counted(&act),
        expected_elements: 0,
        actual_elements: 0,
        service_ports: drift,
        notes,
    })
}

/// The rules of one side that the other lacks, counted as multisets of their text: the
/// expected rules (indices into `exp`) the node lacks, and the node's rules (indices into
/// `act`) kube-proxy would not write, each in chain order.
fn multiset_difference(
    exp: &Side,
    el: &[usize],
    act: &Side,
    al: &[usize],
) -> (Vec<usize>, Vec<usize>) {
    let mut count: FastMap<&str, i64> = FastMap::default();
    for &i in el {
        *count.entry(exp.text(i)).or_default() += 1;
    }
    for &i in al {
        *count.entry(act.text(i)).or_default() -= 1;
    }
    let mut missing = Vec::new();
    let mut left = count.clone();
    for &i in el {
        let c = left.get_mut(exp.text(i)).expect("counted");
        if *c > 0 {
            *c -= 1;
            missing.push(i);
        }
    }
    let mut extra = Vec::new();
    let mut left = count;
    for &i in al {
        let c = left.get_mut(act.text(i)).expect("counted");
        if *c < 0 {
            *c += 1;
            extra.push(i);
        }
    }
    (missing, extra)
}

/// The tables the audit compares, in byte order of their names (the report's order).
const TABLES: [&str; 2] = ["filter", "nat"];

/// One rule of a [`Side`]: where its texts are in the side's buffer, and its target's kind.
struct Entry {
    /// Start of its `iptables-save` text.
    at: usize,
    /// End of that text; its comment (if any) follows.
    text_end: usize,
    /// End of its comment text.
    comment_end: Option<usize>,
    /// End of the chain it jumps to, which follows the comment (or the text).
    jump_end: Option<usize>,
    /// What kind of target it has (rules sharing a comment are paired by it).
    kind: std::mem::Discriminant<Target>,
}

/// What the comparison reads of one rule.
#[derive(Clone, Copy)]
struct RuleView<'a> {
    /// The rule as `iptables-save` prints it.
    text: &'a str,
    /// Its comment.
    comment: Option<&'a str>,
    /// The chain it jumps to.
    jump: Option<&'a str>,
    /// Its target's kind.
    kind: std::mem::Discriminant<Target>,
}

/// The kube-proxy rules of one side in their canonical (`iptables-save`) text, per chain. The
/// texts, comments and jump targets of all rules share one buffer: a node's dump has hundreds
/// of thousands of rules, and a rule model or a `String` per rule would cost many times the
/// dump's size.
#[derive(Default)]
struct Side {
    /// Every rule's text, comment and jump target, one after the other.
    buf: String,
    rules: Vec<Entry>,
    /// Per table of [`TABLES`]: chain → its rules (indices into `rules`), in order.
    chains: [FastMap<String, Vec<usize>>; 2],
    /// Per table of [`TABLES`]: the declared `KUBE-*` chains.
    declared: [FastSet<String>; 2],
    /// Per table of [`TABLES`]: the rules read.
    count: [usize; 2],
}

impl RuleView<'_> {
    /// The chain the rule is in (its text starts `-A CHAIN `).
    fn chain(&self) -> &str {
        let rest = &self.text[3..];
        rest.split(' ').next().unwrap_or(rest)
    }
}

impl Side {
    /// Every rule of the filter and nat tables of `dumps` (later dumps' rules appended per
    /// chain), except those of `ignored` chains.
    fn expected(dumps: &[&Dump], v6: bool, ignored: &'static [&'static str]) -> Side {
        let mut fill = SideFill::new(v6, false, ignored);
        for d in dumps {
            fill.add_dump(d);
        }
        fill.side
    }

    /// Appends a rule's texts; returns its index.
    fn push(&mut self, r: &Rule, style: &SaveStyle) -> usize {
        let at = self.buf.len();
        r.write_save(&mut self.buf, style);
        self.push_entry(at, r.comment(), r.jump(), std::mem::discriminant(&r.target))
    }

    /// Appends the texts of a rule of another side; returns its index.
    fn push_view(&mut self, r: &RuleView<'_>) -> usize {
        let at = self.buf.len();
        self.buf.push_str(r.text);
        self.push_entry(at, r.comment, r.jump, r.kind)
    }

    /// Records the rule whose text runs from `at` to the end of the buffer, appending its
    /// comment and jump target after it.
    fn push_entry(
        &mut self,
        at: usize,
        comment: Option<&str>,
        jump: Option<&str>,
        kind: std::mem::Discriminant<Target>,
    ) -> usize {
        let text_end = self.buf.len();
        let mut append = |t: Option<&str>| {
            t.map(|t| {
                self.buf.push_str(t);
                self.buf.len()
            })
        };
        let comment_end = append(comment);
        let jump_end = append(jump);
        self.rules.push(Entry {
            at,
            text_end,
            comment_end,
            jump_end,
            kind,
        });
        self.rules.len() - 1
    }

    /// Per table of [`TABLES`]: each rule's text → the rule.
    fn index(&self) -> [FastMap<&str, usize>; 2] {
        let mut index: [FastMap<&str, usize>; 2] = Default::default();
        for (t, chains) in self.chains.iter().enumerate() {
            index[t].reserve(chains.values().map(Vec::len).sum());
            for &i in chains.values().flatten() {
                index[t].insert(self.text(i), i);
            }
        }
        index
    }

    /// Rule `i`'s `iptables-save` text.
    fn text(&self, i: usize) -> &str {
        let e = &self.rules[i];
        &self.buf[e.at..e.text_end]
    }

    /// What the comparison reads of rule `i`.
    fn view(&self, i: usize) -> RuleView<'_> {
        let e = &self.rules[i];
        let comment_at = e.text_end;
        let jump_at = e.comment_end.unwrap_or(comment_at);
        RuleView {
            text: &self.buf[e.at..e.text_end],
            comment: e.comment_end.map(|end| &self.buf[comment_at..end]),
            jump: e.jump_end.map(|end| &self.buf[jump_at..end]),
            kind: e.kind,
        }
    }
}

/// Fills a [`Side`] as a dump is read or rendered, keeping each rule's text and dropping its
/// model.
struct SideFill<'a> {
    side: Side,
    /// The expected side's rules by text, per table of [`TABLES`]: a node's line that is
    /// exactly one of them is that rule (`iptables-save` prints its own output unchanged), so
    /// it is taken without being read into a rule model and printed again.
    known: Option<&'a [FastMap<&'a str, usize>; 2]>,
    known_side: Option<&'a Side>,
    style: SaveStyle,
    /// Keep only kube-proxy's rules (a node's side): rules of `KUBE-*` chains and built-in
    /// chains' jumps to them.
    kube_only: bool,
    /// `KUBE-*` chains others own: neither kept nor jumped to.
    ignored: &'static [&'static str],
    /// The open table: its index in [`TABLES`], or `None` for a table the audit does not read.
    open: Option<Option<usize>>,
}

impl<'a> SideFill<'a> {
    fn new(v6: bool, kube_only: bool, ignored: &'static [&'static str]) -> SideFill<'a> {
        SideFill {
            side: Side::default(),
            known: None,
            known_side: None,
            style: SaveStyle {
                ipv6: v6,
                ..SaveStyle::default()
            },
            kube_only,
            ignored,
            open: None,
        }
    }

    /// Adds a dump's filter and nat tables (their rules appended per chain).
    fn add_dump(&mut self, d: &Dump) {
        for t in &d.tables {
            self.begin(&t.name);
            for c in &t.chains {
                self.declare(&c.name, &c.policy);
            }
            for r in &t.rules {
                self.append(r.clone());
            }
            self.commit();
        }
    }

    /// Takes the node's lines that are exactly one of `exp`'s rules without reading them.
    fn knowing(mut self, exp: &'a Side, index: &'a [FastMap<&'a str, usize>; 2]) -> Self {
        self.known = Some(index);
        self.known_side = Some(exp);
        self
    }

    /// The table a rule of `chain` jumping to `jump` is kept in, if it is.
    fn keeps(&self, chain: &str, jump: Option<&str>) -> Option<usize> {
        let t = self.open.flatten()?;
        let ignored = self.ignored;
        if ignored.contains(&chain) {
            return None;
        }
        let kube = if builtin_chains(TABLES[t]).contains(&chain) {
            jump.is_some_and(|j| j.starts_with("KUBE-") && !ignored.contains(&j))
        } else {
            chain.starts_with("KUBE-")
        };
        (kube || !self.kube_only).then_some(t)
    }
}

impl RuleSink for SideFill<'_> {
    fn begin(&mut self, table: &str) -> bool {
        if self.open.is_some() {
            return false;
        }
        self.open = Some(TABLES.iter().position(|&n| n == table));
        true
    }

    fn is_open(&self) -> bool {
        self.open.is_some()
    }

    fn declare(&mut self, chain: &str, _policy: &str) {
        if let Some(Some(t)) = self.open {
            if chain.starts_with("KUBE-") && !self.ignored.contains(&chain) {
                self.side.declared[t].insert(chain.to_owned());
            }
        }
    }

    fn append(&mut self, rule: Rule) {
        self.insert(usize::MAX, rule);
    }

    fn append_text(&mut self, line: &str) -> bool {
        let (Some(Some(t)), Some(index), Some(exp)) = (self.open, self.known, self.known_side)
        else {
            return false;
        };
        let Some(&i) = index[t].get(line) else {
            return false;
        };
        let r = exp.view(i);
        let chain = r.chain();
        if let Some(t) = self.keeps(chain, r.jump) {
            let k = self.side.push_view(&r);
            self.side.count[t] += 1;
            let chains = &mut self.side.chains[t];
            match chains.get_mut(chain) {
                Some(list) => list.push(k),
                None => {
                    chains.insert(chain.to_owned(), vec![k]);
                }
            }
        }
        true
    }

    fn insert(&mut self, pos: usize, rule: Rule) {
        let Some(t) = self.keeps(&rule.chain, rule.jump()) else {
            return;
        };
        let k = self.side.push(&rule, &self.style);
        self.side.count[t] += 1;
        let list = self.side.chains[t].entry(rule.chain).or_default();
        list.insert((pos.max(1) - 1).min(list.len()), k);
    }

    fn flush(&mut self, chain: &str) {
        if let Some(Some(t)) = self.open {
            // A chain with no rules on either side is not compared (as if never listed).
            if let Some(list) = self.side.chains[t].remove(chain) {
                self.side.count[t] -= list.len();
            }
        }
    }

    fn delete(&mut self, _chain: &str) {}

    fn commit(&mut self) -> bool {
        self.open.take().is_some()
    }
}

/// Chains whose rules are independent of each other's order.
fn order_free(table: &str, chain: &str) -> bool {
    matches!(
        chain,
        "KUBE-SERVICES" | "KUBE-NODEPORTS" | "KUBE-EXTERNAL-SERVICES" | "KUBE-PROXY-FIREWALL"
    ) || builtin_chains(table).contains(&chain)
}

fn same_purpose(a: &RuleView<'_>, b: &RuleView<'_>) -> bool {
    match (a.comment, b.comment) {
        (Some(x), Some(y)) if x == y => {
            // Rules in one chain sharing a comment (SEP pair, SVC cascade) differ by target
            // kind; pair those of the same kind.
            a.kind == b.kind
        }
        (None, None) => a.jump.is_some() && a.jump == b.jump,
        _ => a.jump.is_some() && a.jump == b.jump && a.comment.is_none() == b.comment.is_none(),
    }
}

/// The service port a kube-proxy comment names, if any.
fn service_from_comment(c: &str) -> Option<String> {
    for pre in [
        "pod traffic for ",
        "masquerade traffic for ",
        "masquerade LOCAL traffic for ",
        "route LOCAL traffic for ",
        "other traffic to ",
    ] {
        if let Some(rest) = c.strip_prefix(pre) {
            return rest.split(' ').next().map(str::to_owned);
        }
    }
    let first = c.split(' ').next()?;
    // `ns/name[:port]`: exactly one slash, no spaces (fixed comments have none).
    (first.matches('/').count() == 1 && !first.starts_with('/')).then(|| first.to_owned())
}

/// A human-readable report.
pub fn render_text(r: &AuditReport) -> String {
    let nft = r.mode == "nftables";
    let mut o = String::new();
    if nft {
        let _ = writeln!(
            o,
            "audit of node {:?} ({}, nftables): {} rules and {} elements expected, {} and {} found; {} service port(s) clean, {} group(s) with drift",
            r.node,
            r.family.as_str(),
            r.expected_rules,
            r.expected_elements,
            r.actual_rules,
            r.actual_elements,
            r.clean_service_ports,
            r.service_ports.len()
        );
    } else {
        let _ = writeln!(
            o,
            "audit of node {:?} ({}): {} expected kube-proxy rules, {} found; {} service port(s) clean, {} group(s) with drift",
            r.node,
            r.family.as_str(),
            r.expected_rules,
            r.actual_rules,
            r.clean_service_ports,
            r.service_ports.len()
        );
    }
    for n in &r.notes {
        let _ = writeln!(o, "note: {n}");
    }
    // iptables rules name their table in brackets; nftables commands name it themselves.
    let table = |t: &str| {
        if nft {
            String::new()
        } else {
            format!("[{t}] ")
        }
    };
    for g in &r.service_ports {
        let _ = writeln!(o, "\n{}:", g.service_port);
        for c in &g.missing_chains {
            let _ = writeln!(o, "  missing chain  {c}");
        }
        for c in &g.extra_chains {
            let _ = writeln!(o, "  extra chain    {c}");
        }
        for c in &g.missing_sets {
            let _ = writeln!(o, "  missing set    {c}");
        }
        for c in &g.extra_sets {
            let _ = writeln!(o, "  extra set      {c}");
        }
        for x in &g.missing {
            let _ = writeln!(o, "  missing  {}{}", table(&x.table), x.rule);
        }
        for x in &g.extra {
            let _ = writeln!(o, "  extra    {}{}", table(&x.table), x.rule);
        }
        for x in &g.changed {
            let place = if nft {
                x.chain.clone()
            } else {
                format!("[{}] {}", x.table, x.chain)
            };
            let _ = writeln!(
                o,
                "  changed  {place}\n       want {}\n       have {}",
                x.expected, x.actual
            );
        }
        for c in &g.reordered {
            let _ = writeln!(o, "  reordered {c}");
        }
    }
    if !r.has_drift() {
        o.push_str("no drift\n");
    }
    o
}
