//! Audit a node's `nft list` output against the `kube-proxy` table its nftables proxier should
//! have programmed.
//!
//! Both sides are read by the same parser ([`parse_listing`]): the node's listing (`nft list
//! table ip kube-proxy`, `ip6`, or `nft list ruleset`, other tables ignored) and svccore's own
//! `list` form of the expected table, which is written in nft 1.0.6's syntax. So nft's
//! re-serialization (`meta mark set meta mark | 0x00004000` for `mark set mark or 0x4000`,
//! element order and line wrapping, `3h` for `10800s`, a one-element set without braces, named
//! priorities) is on both sides and never counts as drift, and neither do counter values,
//! `# handle` annotations or the learned entries of the affinity sets (dynamic sets).
//!
//! Compared: the table's comment and flags; each chain's declaration (base-chain type, hook, priority,
//! policy, comment) and its rules in order; each set's and map's declaration (types, size,
//! flags, timeout, comment) and its elements by key (comment and verdict). Findings are grouped
//! by the service port that owns them: a chain or set by its hashed name, an element by its key
//! (the service's cluster, external or load-balancer IP with protocol and port, or its node
//! port), else by the chain its verdict jumps to or its `ns/name:port` comment. The table's
//! skeleton (base chains, dispatch chains, the fixed sets and maps) is the node group. A
//! finding is printed as the nft command that creates the object (`add rule ip kube-proxy …`).
//!
//! # Example
//! ```
//! use svccore::render::iptables::ProxierSettings;
//! use svccore::render::nftables::{render, Form};
//! let cluster = svccore::load::load_strs([(None, r#"{"apiVersion":"v1","kind":"List","items":[
//!  {"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"default"},
//!   "spec":{"clusterIP":"10.96.0.10","ports":[{"port":80}]}}]}"#)]).unwrap();
//! let s = ProxierSettings::default();
//! let listed = render(&cluster, &s, Form::List).unwrap();
//! let report = svccore::audit::nftables::audit(&cluster, &s, &listed, Some("node.nft")).unwrap();
//! assert!(!report.has_drift());
//! let broken = listed.replace(": goto reject-chain", ": drop");
//! let report = svccore::audit::nftables::audit(&cluster, &s, &broken, Some("node.nft")).unwrap();
//! assert_eq!(report.service_ports[0].service_port, "default/web");
//! assert_eq!(report.service_ports[0].changed[0].chain, "no-endpoint-services");
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;

use super::{AuditReport, AuditRule, ChangedRule, ServiceAudit, NODE_GROUP};
use crate::categorize::NodeContext;
use crate::proxier::config::ProxierSettings;
use crate::render::nftables::list;
use crate::render::nftables::names::{
    endpoint_base, port_base, AFFINITY_PREFIX, ENDPOINT_PREFIX, EXTERNAL_PREFIX, FIREWALL_PREFIX,
    LOCAL_PREFIX, SERVICE_PREFIX, TABLE,
};
use crate::render::nftables::parse::{
    parse_listing, ListedChain, ListedElement, ListedRule, ListedSet, ListedTable,
};
use crate::render::nftables::table_for_snapshot;
use crate::snapshot::ProxySnapshot;
use crate::{Cluster, Result};

/// The name svccore's own list form goes by in (unexpected) parse errors.
const EXPECTED_NAME: &str = "svccore's list form";

/// Largest rule-alignment table (rules × rules) a chain is aligned with; past it, missing and
/// extra rules are paired in their order.
const ALIGN_CELLS: usize = 4_000_000;

/// Audits a node's `nft list` output (`actual`, named `file` in parse errors) against the table
/// kube-proxy's nftables proxier should have programmed for `cluster` with `settings` (node
/// defaults from the Node object; the service CIDRs from the cluster's ServiceCIDR objects when
/// it has any: [`crate::render::nftables::resolve`]).
///
/// # Errors
/// [`crate::Error::Dump`] with the file and line when `actual` is not nft 1.0.6 listing syntax;
/// the errors of rendering the expected table.
pub fn audit(
    cluster: &Cluster,
    settings: &ProxierSettings,
    actual: &str,
    file: Option<&str>,
) -> Result<AuditReport> {
    let (resolved, snap) = crate::render::nftables::resolve(cluster, settings)?;
    let node = resolved.node.context();
    audit_snapshot(&snap, &resolved, &node, actual, file)
}

/// [`audit`] on a snapshot with settings used as given.
pub fn audit_snapshot(
    snap: &ProxySnapshot,
    settings: &ProxierSettings,
    node: &NodeContext,
    actual: &str,
    file: Option<&str>,
) -> Result<AuditReport> {
    let table = table_for_snapshot(snap, settings, node)?;
    let fam = table.family();
    let act = parse_listing(actual, file, fam)?;
    let exp = parse_listing(&list::write(&table), Some(EXPECTED_NAME), fam)?;
    let owners = Owners::new(snap);
    let mut a = Auditor {
        tbl: format!("{} {TABLE}", fam.as_str()),
        owners: &owners,
        groups: BTreeMap::new(),
    };
    a.table(&exp, &act);
    a.chains(&exp, &act);
    a.sets(&exp, &act);

    let mut drift: Vec<ServiceAudit> = Vec::new();
    for (name, mut g) in a.groups {
        if g.is_clean() {
            continue;
        }
        g.service_port = name;
        drift.push(g);
    }
    drift.sort_by_key(|g| (g.service_port != NODE_GROUP, g.service_port.clone()));
    // A service-level group (`ns/name`: an element shared by its ports) counts for every port.
    let groups: HashSet<&str> = drift.iter().map(|g| g.service_port.as_str()).collect();
    let drifted = |port: &str| {
        groups.contains(port)
            || port
                .split_once(':')
                .is_some_and(|(svc, _)| groups.contains(svc))
    };
    let clean = owners.ports.iter().filter(|p| !drifted(p)).count();
    let count = |t: &ListedTable| {
        (
            t.chains.iter().map(|c| c.rules.len()).sum(),
            t.sets
                .iter()
                .filter(|s| !s.is_dynamic())
                .map(|s| s.elements.len())
                .sum(),
        )
    };
    let (expected_rules, expected_elements) = count(&exp);
    let (actual_rules, actual_elements) = count(&act);
    Ok(AuditReport {
        node: settings.node.name.clone(),
        family: settings.ip_family,
        mode: "nftables",
        service_ports: drift,
        clean_service_ports: clean,
        expected_rules,
        actual_rules,
        expected_elements,
        actual_elements,
        notes: Vec::new(),
    })
}

/// Which service port owns an object, from the snapshot: chain and set names (hashed from the
/// port and endpoint), element keys (IP . protocol . port, protocol . node port, cluster IP).
struct Owners {
    /// Every service port name, in snapshot order.
    ports: Vec<String>,
    /// Chain or set name → service port.
    names: HashMap<String, String>,
    /// Element key → service ports.
    keys: HashMap<String, Vec<String>>,
}

impl Owners {
    fn new(snap: &ProxySnapshot) -> Owners {
        let mut o = Owners {
            ports: Vec::with_capacity(snap.ports.len()),
            names: HashMap::new(),
            keys: HashMap::new(),
        };
        for v in &snap.ports {
            let spn = v.service_port_name.to_string();
            let proto = v.protocol.lower();
            let base = port_base(&v.namespace, &v.name, proto, &v.port_name);
            for pre in [
                SERVICE_PREFIX,
                LOCAL_PREFIX,
                EXTERNAL_PREFIX,
                FIREWALL_PREFIX,
            ] {
                o.names.insert(format!("{pre}{base}"), spn.clone());
            }
            for e in &v.endpoints {
                let eb = endpoint_base(&v.namespace, &v.name, proto, &v.port_name, &e.endpoint);
                o.names
                    .insert(format!("{ENDPOINT_PREFIX}{eb}"), spn.clone());
                o.names
                    .insert(format!("{AFFINITY_PREFIX}{eb}"), spn.clone());
            }
            let mut key = |k: String| {
                let owners = o.keys.entry(k).or_default();
                if !owners.contains(&spn) {
                    owners.push(spn.clone());
                }
            };
            key(v.cluster_ip.to_string());
            for ip in std::iter::once(&v.cluster_ip)
                .chain(&v.external_ips)
                .chain(&v.lb_ips)
            {
                key(format!("{ip} . {proto} . {}", v.port));
            }
            if v.node_port != 0 {
                key(format!("{proto} . {}", v.node_port));
            }
            o.ports.push(spn.clone());
        }
        o
    }

    /// The group of a chain or set name: the snapshot's owner, else the service port its
    /// hashed name spells (a chain of a service or endpoint the cluster no longer has).
    fn of_name(&self, name: &str) -> Option<String> {
        self.names
            .get(name)
            .cloned()
            .or_else(|| group_from_name(name))
    }

    fn of_element(&self, e: &ListedElement) -> String {
        if let Some(owners) = self.keys.get(&e.key) {
            if let [one] = owners.as_slice() {
                return one.clone();
            }
            // Several ports of one service share its cluster IP: the service is the group.
            if let Some((svc, _)) = owners[0].split_once(':') {
                return svc.to_owned();
            }
            return owners[0].clone();
        }
        let target = e.value.as_deref().and_then(|v| {
            v.strip_prefix("goto ")
                .or_else(|| v.strip_prefix("jump "))
                .and_then(|c| self.of_name(c))
        });
        if let Some(g) = target {
            return g;
        }
        if let Some(c) = &e.comment {
            // `ns/name[:port]`: one slash, no blanks.
            if c.matches('/').count() == 1 && !c.starts_with('/') && !c.contains(' ') {
                return c.clone();
            }
        }
        NODE_GROUP.to_owned()
    }
}

/// `PREFIX-HASH-ns/name/proto/port[__ip/port]` → `ns/name:port` (`ns/name` for an unnamed
/// port).
fn group_from_name(name: &str) -> Option<String> {
    let rest = [
        SERVICE_PREFIX,
        LOCAL_PREFIX,
        EXTERNAL_PREFIX,
        FIREWALL_PREFIX,
        ENDPOINT_PREFIX,
        AFFINITY_PREFIX,
    ]
    .iter()
    .find_map(|p| name.strip_prefix(p))?;
    let (hash, rest) = rest.split_once('-')?;
    let base32 = |b: u8| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b);
    if hash.len() != 8 || !hash.bytes().all(base32) {
        return None;
    }
    let port_part = rest.split("__").next()?;
    let mut it = port_part.splitn(4, '/');
    let (ns, svc, _proto, port) = (it.next()?, it.next()?, it.next()?, it.next()?);
    if ns.is_empty() || svc.is_empty() {
        return None;
    }
    Some(if port.is_empty() {
        format!("{ns}/{svc}")
    } else {
        format!("{ns}/{svc}:{port}")
    })
}

struct Auditor<'o> {
    /// `ip kube-proxy`.
    tbl: String,
    owners: &'o Owners,
    groups: BTreeMap<String, ServiceAudit>,
}

impl Auditor<'_> {
    fn group(&mut self, g: Option<String>) -> &mut ServiceAudit {
        self.groups
            .entry(g.unwrap_or_else(|| NODE_GROUP.to_owned()))
            .or_default()
    }

    fn rule(&self, chain: &str, text: String) -> AuditRule {
        AuditRule {
            table: self.tbl.clone(),
            chain: chain.to_owned(),
            rule: text,
        }
    }

    fn changed(&self, chain: &str, expected: String, actual: String) -> ChangedRule {
        ChangedRule {
            table: self.tbl.clone(),
            chain: chain.to_owned(),
            expected,
            actual,
        }
    }

    fn table(&mut self, exp: &ListedTable, act: &ListedTable) {
        let decl = |t: &ListedTable| {
            let mut body = String::new();
            if !t.flags.is_empty() {
                let _ = write!(body, " flags {} ;", t.flags.join(","));
            }
            if let Some(c) = &t.comment {
                let _ = write!(body, " comment \"{c}\" ;");
            }
            let mut s = format!("add table {}", self.tbl);
            if !body.is_empty() {
                let _ = write!(s, " {{{body} }}");
            }
            s
        };
        let want = decl(exp);
        if !act.found {
            let r = self.rule("", want);
            self.group(None).missing.push(r);
        } else if want != decl(act) {
            let c = self.changed("", want, decl(act));
            self.group(None).changed.push(c);
        }
    }

    fn chains(&mut self, exp: &ListedTable, act: &ListedTable) {
        let e: BTreeMap<&str, &ListedChain> =
            exp.chains.iter().map(|c| (c.name.as_str(), c)).collect();
        let a: BTreeMap<&str, &ListedChain> =
            act.chains.iter().map(|c| (c.name.as_str(), c)).collect();
        let names: BTreeSet<&str> = e.keys().chain(a.keys()).copied().collect();
        for name in names {
            // The owner and the place are only made for a chain with drift (most have none).
            let g = || self.owners.of_name(name);
            let place = || format!("{} {name}", self.tbl);
            match (e.get(name), a.get(name)) {
                (Some(ec), None) => {
                    let rules: Vec<AuditRule> = ec
                        .rules
                        .iter()
                        .map(|r| self.rule(name, self.rule_line(name, r)))
                        .collect();
                    let (g, place) = (g(), place());
                    let grp = self.group(g);
                    grp.missing_chains.push(place);
                    grp.missing.extend(rules);
                }
                (None, Some(ac)) => {
                    let rules: Vec<AuditRule> = ac
                        .rules
                        .iter()
                        .map(|r| self.rule(name, self.rule_line(name, r)))
                        .collect();
                    let (g, place) = (g(), place());
                    let grp = self.group(g);
                    grp.extra_chains.push(place);
                    grp.extra.extend(rules);
                }
                (Some(ec), Some(ac)) => {
                    let (want, have) = (self.chain_decl(ec), self.chain_decl(ac));
                    if want != have {
                        let c = self.changed(name, want, have);
                        self.group(g()).changed.push(c);
                    }
                    self.rules(name, ec, ac);
                }
                (None, None) => {}
            }
        }
    }

    fn rules(&mut self, name: &str, ec: &ListedChain, ac: &ListedChain) {
        let el: Vec<String> = ec.rules.iter().map(|r| self.rule_line(name, r)).collect();
        let al: Vec<String> = ac.rules.iter().map(|r| self.rule_line(name, r)).collect();
        if el == al {
            // The same rules in the same order: nothing to report (what `diff_rules` finds).
            return;
        }
        let g = self.owners.of_name(name);
        let d = diff_rules(&el, &al);
        let missing: Vec<AuditRule> = d
            .missing
            .iter()
            .map(|&i| self.rule(name, el[i].clone()))
            .collect();
        let extra: Vec<AuditRule> = d
            .extra
            .iter()
            .map(|&j| self.rule(name, al[j].clone()))
            .collect();
        let changed: Vec<ChangedRule> = d
            .changed
            .iter()
            .map(|&(i, j)| self.changed(name, el[i].clone(), al[j].clone()))
            .collect();
        let place = format!("{} {name}", self.tbl);
        let grp = self.group(g);
        grp.missing.extend(missing);
        grp.extra.extend(extra);
        grp.changed.extend(changed);
        if d.reordered {
            grp.reordered.push(place);
        }
    }

    fn sets(&mut self, exp: &ListedTable, act: &ListedTable) {
        let e: BTreeMap<&str, &ListedSet> = exp.sets.iter().map(|s| (s.name.as_str(), s)).collect();
        let a: BTreeMap<&str, &ListedSet> = act.sets.iter().map(|s| (s.name.as_str(), s)).collect();
        let names: BTreeSet<&str> = e.keys().chain(a.keys()).copied().collect();
        for name in names {
            let g = self.owners.of_name(name);
            let place = format!("{} {name}", self.tbl);
            match (e.get(name), a.get(name)) {
                (Some(es), None) => {
                    self.group(g).missing_sets.push(place);
                    self.elements(es, None);
                }
                (None, Some(as_)) => {
                    self.group(g).extra_sets.push(place);
                    self.elements_extra(as_);
                }
                (Some(es), Some(as_)) => {
                    let (want, have) = (self.set_decl(es), self.set_decl(as_));
                    if want != have {
                        let c = self.changed(name, want, have);
                        self.group(g).changed.push(c);
                    }
                    self.elements(es, Some(as_));
                }
                (None, None) => {}
            }
        }
    }

    /// Elements of an expected set against the node's (`None`: the node lacks the set).
    fn elements(&mut self, es: &ListedSet, act: Option<&ListedSet>) {
        // A dynamic set's elements are learned from traffic, not written by kube-proxy.
        if es.is_dynamic() || act.is_some_and(ListedSet::is_dynamic) {
            return;
        }
        let have: HashMap<&str, &ListedElement> = act
            .map(|s| s.elements.iter().map(|e| (e.key.as_str(), e)).collect())
            .unwrap_or_default();
        for e in &es.elements {
            let g = self.owners.of_element(e);
            match have.get(e.key.as_str()) {
                None => {
                    let r = self.rule(&es.name, self.element_line(&es.name, e));
                    self.group(Some(g)).missing.push(r);
                }
                Some(x) if x.comment != e.comment || x.value != e.value => {
                    let c = self.changed(
                        &es.name,
                        self.element_line(&es.name, e),
                        self.element_line(&es.name, x),
                    );
                    self.group(Some(g)).changed.push(c);
                }
                Some(_) => {}
            }
        }
        if let Some(a) = act {
            let want: BTreeSet<&str> = es.elements.iter().map(|e| e.key.as_str()).collect();
            for x in a.elements.iter().filter(|x| !want.contains(x.key.as_str())) {
                let g = self.owners.of_element(x);
                let r = self.rule(&a.name, self.element_line(&a.name, x));
                self.group(Some(g)).extra.push(r);
            }
        }
    }

    fn elements_extra(&mut self, a: &ListedSet) {
        if a.is_dynamic() {
            return;
        }
        for x in &a.elements {
            let g = self.owners.of_element(x);
            let r = self.rule(&a.name, self.element_line(&a.name, x));
            self.group(Some(g)).extra.push(r);
        }
    }

    fn rule_line(&self, chain: &str, r: &ListedRule) -> String {
        let mut s = format!("add rule {} {chain} {}", self.tbl, r.text);
        if let Some(c) = &r.comment {
            let _ = write!(s, " comment \"{c}\"");
        }
        s
    }

    fn element_line(&self, set: &str, e: &ListedElement) -> String {
        let mut s = format!("add element {} {set} {{ {}", self.tbl, e.key);
        if let Some(c) = &e.comment {
            let _ = write!(s, " comment \"{c}\"");
        }
        if let Some(v) = &e.value {
            let _ = write!(s, " : {v}");
        }
        s.push_str(" }");
        s
    }

    /// `add chain ip kube-proxy NAME [{ type T hook H priority P ; policy X ; comment "C" ; }]`
    /// with the priority as a number.
    fn chain_decl(&self, c: &ListedChain) -> String {
        let mut s = format!("add chain {} {}", self.tbl, c.name);
        let mut body = String::new();
        if let Some(b) = &c.base {
            let _ = write!(
                body,
                " type {} hook {} priority {} ; policy {} ;",
                b.chain_type, b.hook, b.priority, b.policy
            );
        }
        if let Some(com) = &c.comment {
            let _ = write!(body, " comment \"{com}\" ;");
        }
        if !body.is_empty() {
            let _ = write!(s, " {{{body} }}");
        }
        s
    }

    /// `add set|map ip kube-proxy NAME { type K [: V] ; size N ; flags … ; timeout … ; … }`,
    /// flags sorted and the timeout in seconds (or milliseconds).
    fn set_decl(&self, st: &ListedSet) -> String {
        let kind = if st.is_map { "map" } else { "set" };
        let mut s = format!("add {kind} {} {} {{ ", self.tbl, st.name);
        if st.key_type.starts_with("typeof ") {
            s.push_str(&st.key_type);
        } else {
            let _ = write!(s, "type {}", st.key_type);
        }
        if let Some(v) = &st.value_type {
            let _ = write!(s, " : {v}");
        }
        s.push_str(" ;");
        if let Some(n) = st.size {
            let _ = write!(s, " size {n} ;");
        }
        if !st.flags.is_empty() {
            let _ = write!(s, " flags {} ;", st.flags.join(","));
        }
        if let Some(ms) = st.timeout_ms {
            if ms % 1000 == 0 {
                let _ = write!(s, " timeout {}s ;", ms / 1000);
            } else {
                let _ = write!(s, " timeout {ms}ms ;");
            }
        }
        for o in &st.other {
            let _ = write!(s, " {o} ;");
        }
        if let Some(c) = &st.comment {
            let _ = write!(s, " comment \"{c}\" ;");
        }
        s.push_str(" }");
        s
    }
}

/// How the rules of one chain differ.
#[derive(Debug, Default, PartialEq, Eq)]
struct RuleDiff {
    /// Indices of expected rules the node lacks.
    missing: Vec<usize>,
    /// Indices of the node's rules kube-proxy would not write.
    extra: Vec<usize>,
    /// (expected, actual) pairs standing in each other's place.
    changed: Vec<(usize, usize)>,
    /// Some rules are on both sides but in another order.
    reordered: bool,
}

/// Compares two rule lists in order. Rules present on one side only (counted as multisets)
/// are missing or extra; the rest are on both sides, and a different order is a reordering. A
/// missing and an extra rule that take the same place between the rules both sides share (the
/// alignment of a longest common subsequence) are a changed rule when they look alike (same
/// leading or trailing words), or when they are the only two in that place.
fn diff_rules(e: &[String], a: &[String]) -> RuleDiff {
    let mut d = RuleDiff::default();
    let mut count: HashMap<&str, i64> = HashMap::new();
    for x in e {
        *count.entry(x).or_default() += 1;
    }
    for x in a {
        *count.entry(x).or_default() -= 1;
    }
    if count.values().all(|&c| c == 0) {
        d.reordered = e != a;
        return d;
    }
    // Places: runs of expected-only and actual-only rules between aligned rules.
    let gaps = align(e, a);
    let mut left_missing: HashMap<&str, i64> = count
        .iter()
        .filter(|(_, &c)| c > 0)
        .map(|(k, &c)| (*k, c))
        .collect();
    let mut left_extra: HashMap<&str, i64> = count
        .iter()
        .filter(|(_, &c)| c < 0)
        .map(|(k, &c)| (*k, -c))
        .collect();
    for (dels, inss) in gaps {
        let mut m: Vec<usize> = Vec::new();
        for i in dels {
            match left_missing.get_mut(e[i].as_str()) {
                Some(c) if *c > 0 => {
                    *c -= 1;
                    m.push(i);
                }
                _ => d.reordered = true,
            }
        }
        let mut x: Vec<usize> = Vec::new();
        for j in inss {
            match left_extra.get_mut(a[j].as_str()) {
                Some(c) if *c > 0 => {
                    *c -= 1;
                    x.push(j);
                }
                _ => d.reordered = true,
            }
        }
        pair(e, a, m, x, &mut d);
    }
    d.missing.sort_unstable();
    d.extra.sort_unstable();
    d.changed.sort_unstable();
    d
}

/// Pairs the missing and extra rules of one place (see [`diff_rules`]).
fn pair(e: &[String], a: &[String], m: Vec<usize>, x: Vec<usize>, d: &mut RuleDiff) {
    let likeness = |i: usize, j: usize| {
        let (p, q): (Vec<&str>, Vec<&str>) = (e[i].split(' ').collect(), a[j].split(' ').collect());
        // The first five words are `add rule FAMILY kube-proxy CHAIN`: skip them.
        let lead = p.iter().zip(&q).skip(5).take_while(|(u, v)| u == v).count();
        let trail = p
            .iter()
            .rev()
            .zip(q.iter().rev())
            .take_while(|(u, v)| u == v)
            .count();
        lead + trail.min(p.len().min(q.len()).saturating_sub(5 + lead))
    };
    let mut used_m = vec![false; m.len()];
    let mut used_x = vec![false; x.len()];
    let mut cands: Vec<(usize, usize, usize)> = Vec::new();
    for (k, &i) in m.iter().enumerate() {
        for (l, &j) in x.iter().enumerate() {
            let s = likeness(i, j);
            if s >= 2 {
                cands.push((s, k, l));
            }
        }
    }
    // Best likeness first; among equals, the earlier places.
    cands.sort_by(|p, q| q.0.cmp(&p.0).then((p.1, p.2).cmp(&(q.1, q.2))));
    for (_, k, l) in cands {
        if !used_m[k] && !used_x[l] {
            used_m[k] = true;
            used_x[l] = true;
            d.changed.push((m[k], x[l]));
        }
    }
    let rest_m: Vec<usize> = (0..m.len()).filter(|&k| !used_m[k]).map(|k| m[k]).collect();
    let rest_x: Vec<usize> = (0..x.len()).filter(|&l| !used_x[l]).map(|l| x[l]).collect();
    if let ([i], [j]) = (rest_m.as_slice(), rest_x.as_slice()) {
        d.changed.push((*i, *j));
        return;
    }
    d.missing.extend(rest_m);
    d.extra.extend(rest_x);
}

/// The places where the lists differ, as (expected indices, actual indices) runs between the
/// rules of a longest common subsequence. Past [`ALIGN_CELLS`] the middle is one place.
fn align(e: &[String], a: &[String]) -> Vec<(Vec<usize>, Vec<usize>)> {
    let pre = e.iter().zip(a).take_while(|(x, y)| x == y).count();
    let suf = e[pre..]
        .iter()
        .rev()
        .zip(a[pre..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (e0, e1) = (pre, e.len() - suf);
    let (a0, a1) = (pre, a.len() - suf);
    let (n, m) = (e1 - e0, a1 - a0);
    if n == 0 || m == 0 || n.saturating_mul(m) > ALIGN_CELLS {
        return vec![((e0..e1).collect(), (a0..a1).collect())];
    }
    // lcs[i][j]: the LCS length of e[e0+i..e1] and a[a0+j..a1].
    let w = m + 1;
    let mut lcs = vec![0u32; (n + 1) * w];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i * w + j] = if e[e0 + i] == a[a0 + j] {
                lcs[(i + 1) * w + j + 1] + 1
            } else {
                lcs[(i + 1) * w + j].max(lcs[i * w + j + 1])
            };
        }
    }
    let mut gaps = Vec::new();
    let (mut dels, mut inss) = (Vec::new(), Vec::new());
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && e[e0 + i] == a[a0 + j] {
            if !dels.is_empty() || !inss.is_empty() {
                gaps.push((std::mem::take(&mut dels), std::mem::take(&mut inss)));
            }
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i * w + j + 1] >= lcs[(i + 1) * w + j]) {
            inss.push(a0 + j);
            j += 1;
        } else {
            dels.push(e0 + i);
            i += 1;
        }
    }
    if !dels.is_empty() || !inss.is_empty() {
        gaps.push((dels, inss));
    }
    gaps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(v: &[&str]) -> Vec<String> {
        v.iter()
            .map(|r| format!("add rule ip kube-proxy c {r}"))
            .collect()
    }

    #[test]
    fn a_changed_dnat_is_paired_and_a_deleted_rule_is_missing() {
        let e = rules(&[
            "ip saddr 10.0.0.1 jump m",
            "meta l4proto tcp dnat to 10.0.0.1:80",
        ]);
        let a = rules(&["meta l4proto tcp dnat to 10.0.0.1:8080"]);
        let d = diff_rules(&e, &a);
        assert_eq!(
            (d.missing, d.extra, d.changed),
            (vec![0], vec![], vec![(1, 0)])
        );
        assert!(!d.reordered);
    }

    #[test]
    fn moves_are_reorderings_and_unlike_rules_are_not_paired() {
        let e = rules(&["a x", "b y", "c z"]);
        let a = rules(&["c z", "a x", "b y"]);
        assert_eq!(
            diff_rules(&e, &a),
            RuleDiff {
                reordered: true,
                ..RuleDiff::default()
            }
        );
        let e = rules(&[
            "ip saddr @s goto e1",
            "ip saddr @t goto e2",
            "numgen random mod 2 vmap { 0 : goto e1, 1 : goto e2 }",
        ]);
        let a = rules(&["numgen random mod 1 vmap { 0 : goto e1 }"]);
        let d = diff_rules(&e, &a);
        assert_eq!(
            (d.missing, d.extra, d.changed),
            (vec![0, 1], vec![], vec![(2, 0)])
        );
    }

    #[test]
    fn long_chains_past_the_alignment_bound_still_pair_and_see_moves() {
        // 2100 x 2100 rules with no common prefix or suffix: no alignment table is built.
        let e: Vec<String> = (0..2100)
            .map(|i| format!("add rule ip kube-proxy c r{i} x"))
            .collect();
        let mut a: Vec<String> = e.iter().rev().cloned().collect();
        a[700] = "add rule ip kube-proxy c other y".to_owned();
        let d = diff_rules(&e, &a);
        assert!(d.reordered);
        assert_eq!(
            (d.missing, d.extra, d.changed),
            (vec![], vec![], vec![(1399, 700)])
        );
    }

    #[test]
    fn names_spell_their_service_port() {
        assert_eq!(
            group_from_name("endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80").as_deref(),
            Some("ns1/svc1:p80")
        );
        assert_eq!(
            group_from_name("service-ULMVA6XW-ns1/svc1/tcp/").as_deref(),
            Some("ns1/svc1")
        );
        assert_eq!(group_from_name("services"), None);
        assert_eq!(group_from_name("service-endpoints-check"), None);
    }
}
