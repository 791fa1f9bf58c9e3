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

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use crate::categorize::NodeContext;
use crate::model::IpFamily;
use crate::netfilter::{builtin_chains, Dump, Rule, SaveStyle};
use crate::render::iptables::names::{endpoint_chain, service_chain_suffix};
use crate::render::iptables::{jump_dump, restore_dump, ProxierSettings};
use crate::snapshot::ProxySnapshot;
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
    let resolved = settings.resolve(cluster)?;
    let snap = ProxySnapshot::build(cluster, resolved.ip_family)?;
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
    let expected_main = restore_dump(snap, settings, node)?;
    let expected_jumps = jump_dump(settings)?;
    // Chain → service port, for every chain the snapshot's ports may own.
    let mut owner: HashMap<String, String> = HashMap::new();
    let mut names: Vec<String> = Vec::new();
    for p in &snap.ports {
        let proto = p.protocol.lower();
        let suffix = service_chain_suffix(&p.service_port_name, proto);
        for pre in ["KUBE-SVC-", "KUBE-SVL-", "KUBE-EXT-", "KUBE-FW-"] {
            owner.insert(format!("{pre}{suffix}"), p.service_port_name.clone());
        }
        for e in &p.endpoints {
            owner.insert(
                endpoint_chain(&p.service_port_name, proto, &e.endpoint),
                p.service_port_name.clone(),
            );
        }
        names.push(p.service_port_name.clone());
    }
    let expected = Expected {
        dumps: &[&expected_jumps, &expected_main],
        owner,
        names,
        mode: "iptables",
        order_free,
        ignored: IGNORED_CHAINS,
    };
    compare(&expected, settings, actual, how)
}

/// What a mode's kube-proxy should have written, for [`compare`].
struct Expected<'a> {
    /// The rules (jump rules first).
    dumps: &'a [&'a Dump],
    /// Chain → the service port that owns it (chains named after a service port).
    owner: HashMap<String, String>,
    /// Every service port audited.
    names: Vec<String>,
    /// The report's mode.
    mode: &'static str,
    /// Chains whose rules may come in any order.
    order_free: fn(&str, &str) -> bool,
    /// `KUBE-*` chains others own (the kubelet's): neither compared nor jumped to.
    ignored: &'a [&'a str],
}

/// Compares a node's rules (`actual`, read as `how` says) with the expected rules.
fn compare(
    expected: &Expected<'_>,
    settings: &ProxierSettings,
    actual: &str,
    how: ActualDump<'_>,
) -> Result<AuditReport> {
    let v6 = settings.ip_family == IpFamily::IPv6;
    let actual::Actual {
        dump: actual,
        only_table,
        notes,
    } = actual::read(actual, how.file, v6, how.table)?;
    let only = only_table.as_deref();
    let owner = &expected.owner;
    let names = &expected.names;
    let order_free = expected.order_free;
    let style = SaveStyle {
        ipv6: v6,
        ..SaveStyle::default()
    };
    let mut exp = Side::default();
    for d in expected.dumps {
        exp.add(d, &style, false, only, expected.ignored);
    }
    let mut act = Side::default();
    act.add(&actual, &style, true, only, expected.ignored);

    let mut groups: BTreeMap<String, ServiceAudit> = BTreeMap::new();
    let group_of = |chain: &str, r: &Rule| -> String {
        if let Some(s) = r.jump().and_then(|j| owner.get(j)) {
            return s.clone();
        }
        if let Some(s) = owner.get(chain) {
            return s.clone();
        }
        if let Some(c) = r.comment() {
            if let Some(s) = service_from_comment(c) {
                return s;
            }
        }
        NODE_GROUP.to_owned()
    };
    let mut keys: Vec<(String, String)> = exp
        .chains
        .keys()
        .chain(act.chains.keys())
        .cloned()
        .collect();
    keys.sort();
    keys.dedup();
    for (table, chain) in &keys {
        let e = exp.chains.get(&(table.clone(), chain.clone()));
        let a = act.chains.get(&(table.clone(), chain.clone()));
        let empty = Vec::new();
        let el = e.unwrap_or(&empty);
        let al = a.unwrap_or(&empty);
        let chain_group = owner.get(chain).cloned();
        // Declared-chain drift (only for chains kube-proxy declares: KUBE-*, not built-ins).
        if chain.starts_with("KUBE-") {
            let in_exp = exp.declared.contains(&(table.clone(), chain.clone()));
            let in_act = act.declared.contains(&(table.clone(), chain.clone()));
            let g = chain_group.clone().unwrap_or_else(|| {
                el.iter()
                    .chain(al.iter())
                    .map(|(r, _)| group_of(chain, r))
                    .next()
                    .unwrap_or_else(|| NODE_GROUP.to_owned())
            });
            if in_exp && !in_act {
                groups
                    .entry(g.clone())
                    .or_default()
                    .missing_chains
                    .push(format!("{table} {chain}"));
            } else if in_act && !in_exp {
                groups
                    .entry(g)
                    .or_default()
                    .extra_chains
                    .push(format!("{table} {chain}"));
            }
        }
        // Multiset difference.
        let mut count: HashMap<&str, i64> = HashMap::new();
        for (_, t) in el {
            *count.entry(t).or_default() += 1;
        }
        for (_, t) in al {
            *count.entry(t).or_default() -= 1;
        }
        let mut missing: Vec<&(Rule, String)> = Vec::new();
        let mut left = count.clone();
        for x in el {
            let c = left.get_mut(x.1.as_str()).expect("counted");
            if *c > 0 {
                *c -= 1;
                missing.push(x);
            }
        }
        let mut extra: Vec<&(Rule, String)> = Vec::new();
        let mut left = count;
        for x in al {
            let c = left.get_mut(x.1.as_str()).expect("counted");
            if *c < 0 {
                *c += 1;
                extra.push(x);
            }
        }
        // Pair missing and extra rules with the same purpose into "changed".
        let mut used = vec![false; extra.len()];
        for m in &missing {
            let pair = extra
                .iter()
                .enumerate()
                .position(|(k, x)| !used[k] && same_purpose(&m.0, &x.0));
            let g = group_of(chain, &m.0);
            let entry = groups.entry(g).or_default();
            match pair {
                Some(k) => {
                    used[k] = true;
                    entry.changed.push(ChangedRule {
                        table: table.clone(),
                        chain: chain.clone(),
                        expected: m.1.clone(),
                        actual: extra[k].1.clone(),
                    });
                }
                None => entry.missing.push(AuditRule {
                    table: table.clone(),
                    chain: chain.clone(),
                    rule: m.1.clone(),
                }),
            }
        }
        for (k, x) in extra.iter().enumerate() {
            if !used[k] {
                groups
                    .entry(group_of(chain, &x.0))
                    .or_default()
                    .extra
                    .push(AuditRule {
                        table: table.clone(),
                        chain: chain.clone(),
                        rule: x.1.clone(),
                    });
            }
        }
        // Order, where it matters.
        if missing.is_empty() && extra.is_empty() && !el.is_empty() {
            let reordered = if order_free(table, chain) {
                let tail = |l: &Vec<(Rule, String)>| {
                    l.iter().position(|(r, _)| {
                        r.comment()
                            .is_some_and(|c| c.contains("must be the last rule"))
                    })
                };
                table == "nat"
                    && chain == "KUBE-SERVICES"
                    && tail(al).is_some_and(|p| p + 1 != al.len())
            } else {
                el.iter().map(|x| &x.1).ne(al.iter().map(|x| &x.1))
            };
            if reordered {
                let g = chain_group.unwrap_or_else(|| NODE_GROUP.to_owned());
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
    let drifted: std::collections::HashSet<&str> =
        drift.iter().map(|g| g.service_port.as_str()).collect();
    let clean = names
        .iter()
        .filter(|n| !drifted.contains(n.as_str()))
        .count();
    Ok(AuditReport {
        node: settings.node.name.clone(),
        family: settings.ip_family,
        mode: expected.mode,
        clean_service_ports: clean,
        expected_rules: exp.count,
        actual_rules: act.count,
        expected_elements: 0,
        actual_elements: 0,
        service_ports: drift,
        notes,
    })
}

#[derive(Default)]
struct Side {
    /// (table, chain) → rules with their canonical text, in order.
    chains: BTreeMap<(String, String), Vec<(Rule, String)>>,
    declared: std::collections::HashSet<(String, String)>,
    count: usize,
}

impl Side {
    /// Adds the filter and nat tables of `d` (only the table `only`, when given).
    fn add(
        &mut self,
        d: &Dump,
        style: &SaveStyle,
        filter_kube: bool,
        only: Option<&str>,
        ignored: &[&str],
    ) {
        for t in &d.tables {
            if t.name != "filter" && t.name != "nat" || only.is_some_and(|o| o != t.name) {
                continue;
            }
            let builtins = builtin_chains(&t.name);
            for c in &t.chains {
                if c.name.starts_with("KUBE-") && !ignored.contains(&c.name.as_str()) {
                    self.declared.insert((t.name.clone(), c.name.clone()));
                }
            }
            for r in &t.rules {
                if ignored.contains(&r.chain.as_str()) {
                    continue;
                }
                let kube = if builtins.contains(&r.chain.as_str()) {
                    r.jump()
                        .is_some_and(|j| j.starts_with("KUBE-") && !ignored.contains(&j))
                } else {
                    r.chain.starts_with("KUBE-")
                };
                if filter_kube && !kube {
                    continue;
                }
                self.count += 1;
                let text = r.to_save(style);
                self.chains
                    .entry((t.name.clone(), r.chain.clone()))
                    .or_default()
                    .push((r.clone(), text));
            }
        }
    }
}

/// Chains whose rules are independent of each other's order.
fn order_free(table: &str, chain: &str) -> bool {
    matches!(
        chain,
        "KUBE-SERVICES" | "KUBE-NODEPORTS" | "KUBE-EXTERNAL-SERVICES" | "KUBE-PROXY-FIREWALL"
    ) || builtin_chains(table).contains(&chain)
}

fn same_purpose(a: &Rule, b: &Rule) -> bool {
    match (a.comment(), b.comment()) {
        (Some(x), Some(y)) if x == y => {
            // Rules in one chain sharing a comment (SEP pair, SVC cascade) differ by target
            // kind; pair those of the same kind.
            std::mem::discriminant(&a.target) == std::mem::discriminant(&b.target)
        }
        (None, None) => a.jump().is_some() && a.jump() == b.jump(),
        _ => {
            a.jump().is_some()
                && a.jump() == b.jump()
                && a.comment().is_none() == b.comment().is_none()
        }
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
