//! The whole-node view: kube-proxy's jump rules in the built-in chains, and the text
//! `iptables-save` prints for a node holding kube-proxy's rules.
//!
//! spec: kube-proxy-iptables.md §2.5 (jump rules, canary chains), §4.3 (what `iptables-save`
//! prints). Checked against iptables v1.8.9 (nf_tables) on Debian 12 (tests/kernel): tables print
//! as mangle, filter, nat; built-in chains first in hook order, user chains byte-wise sorted,
//! rules grouped per chain in that order; `-m recent` prints `--mask 255.255.255.255`.

use std::fmt::Write as _;

use crate::model::IpFamily;

use super::names::*;
use super::rules::{Dump, SaveStyle};
use crate::proxier::config::ProxierSettings;

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

/// kube-proxy's jump rules and canary chains as an `iptables-restore --noflush` payload whose
/// `-I` (insert at 1) lines reproduce the order kube-proxy's prepend mode leaves behind.
pub fn jump_rules(s: &ProxierSettings) -> String {
    // (table, chain, extra args, comment, target), in kube-proxy's table order (spec §2.5).
    const NEW: &str = "-m conntrack --ctstate NEW";
    let fw = s.ip_family == IpFamily::IPv4 && s.iptables.localhost_nodeports;
    let mut rows: Vec<(&str, &str, &str, &str, &str)> = vec![
        (
            "filter",
            "INPUT",
            NEW,
            "kubernetes externally-visible service portals",
            KUBE_EXTERNAL_SERVICES,
        ),
        (
            "filter",
            "FORWARD",
            NEW,
            "kubernetes externally-visible service portals",
            KUBE_EXTERNAL_SERVICES,
        ),
        (
            "filter",
            "INPUT",
            "",
            "kubernetes health check service ports",
            KUBE_NODEPORTS,
        ),
        (
            "filter",
            "FORWARD",
            NEW,
            "kubernetes service portals",
            KUBE_SERVICES,
        ),
        (
            "filter",
            "OUTPUT",
            NEW,
            "kubernetes service portals",
            KUBE_SERVICES,
        ),
        (
            "filter",
            "FORWARD",
            "",
            "kubernetes forwarding rules",
            KUBE_FORWARD,
        ),
        (
            "filter",
            "INPUT",
            NEW,
            "kubernetes load balancer firewall",
            KUBE_PROXY_FIREWALL,
        ),
        (
            "filter",
            "OUTPUT",
            NEW,
            "kubernetes load balancer firewall",
            KUBE_PROXY_FIREWALL,
        ),
        (
            "filter",
            "FORWARD",
            NEW,
            "kubernetes load balancer firewall",
            KUBE_PROXY_FIREWALL,
        ),
        (
            "nat",
            "OUTPUT",
            "",
            "kubernetes service portals",
            KUBE_SERVICES,
        ),
        (
            "nat",
            "PREROUTING",
            "",
            "kubernetes service portals",
            KUBE_SERVICES,
        ),
        (
            "nat",
            "POSTROUTING",
            "",
            "kubernetes postrouting rules",
            KUBE_POSTROUTING,
        ),
    ];
    if fw {
        rows.push(("filter", "INPUT", "", "", KUBE_FIREWALL));
        rows.push(("filter", "OUTPUT", "", "", KUBE_FIREWALL));
    }
    let mut out = String::new();
    out.push_str("*mangle\n:KUBE-PROXY-CANARY - [0:0]\nCOMMIT\n");
    for table in ["filter", "nat"] {
        let _ = writeln!(out, "*{table}\n:{KUBE_PROXY_CANARY} - [0:0]");
        // Ensure-chain: declaring a chain in --noflush mode flushes it, so only the targets
        // kube-proxy's restore payload also declares are named here (they exist after it).
        for (t, chain, extra, comment, target) in &rows {
            if *t != table {
                continue;
            }
            out.push_str("-I ");
            out.push_str(chain);
            if !extra.is_empty() {
                out.push(' ');
                out.push_str(extra);
            }
            if !comment.is_empty() {
                let _ = write!(out, " -m comment --comment \"{comment}\"");
            }
            let _ = writeln!(out, " -j {target}");
        }
        out.push_str("COMMIT\n");
    }
    out
}

/// Prints dumps merged (later ones' rules appended per chain) as `iptables-save` would.
pub(crate) fn save_text(dumps: &[&Dump], style: &SaveStyle) -> String {
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
    let mut out = String::new();
    for name in names {
        let tables: Vec<_> = dumps.iter().filter_map(|d| d.table(name)).collect();
        let builtins = builtin_chains(name);
        let mut user: Vec<&str> = tables
            .iter()
            .flat_map(|t| t.chains.iter().map(|c| c.name.as_str()))
            .chain(
                tables
                    .iter()
                    .flat_map(|t| t.rules.iter().map(|r| r.chain.as_str())),
            )
            .filter(|c| !builtins.contains(c))
            .collect();
        user.sort_unstable();
        user.dedup();
        let _ = writeln!(out, "*{name}");
        for b in builtins {
            let _ = writeln!(out, ":{b} ACCEPT [0:0]");
        }
        for u in &user {
            let _ = writeln!(out, ":{u} - [0:0]");
        }
        // Rules grouped per chain once (a per-chain scan would be quadratic).
        let mut by_chain: std::collections::HashMap<&str, Vec<&super::rules::Rule>> =
            std::collections::HashMap::new();
        for t in &tables {
            for r in &t.rules {
                by_chain.entry(r.chain.as_str()).or_default().push(r);
            }
        }
        for chain in builtins.iter().copied().chain(user.iter().copied()) {
            for r in by_chain.get(chain).map(Vec::as_slice).unwrap_or(&[]) {
                out.push_str(&r.to_save(style));
                out.push('\n');
            }
        }
        out.push_str("COMMIT\n");
    }
    out
}
