//! kube-proxy's jump rules from the built-in chains to its own, and its canary chains.
//!
//! spec: kube-proxy-iptables.md §2.5. kube-proxy installs them outside the restore payload, one
//! `iptables -I` (prepend) at a time; here they are one `iptables-restore --noflush` payload
//! whose `-I` lines leave the same order behind.

use crate::model::IpFamily;
use crate::netfilter::{Dump, DumpBuilder, RestoreSink};
use crate::Result;

use super::names::*;
use crate::proxier::config::ProxierSettings;

/// kube-proxy's jump rules and canary chains as an `iptables-restore --noflush` payload whose
/// `-I` (insert at 1) lines reproduce the order kube-proxy's prepend mode leaves behind.
pub fn jump_rules(s: &ProxierSettings) -> String {
    let mut out = String::new();
    write_jump_rules(s, &mut out);
    out
}

/// [`jump_rules`] as a rule model (for the save form, the audit's expected side and traces of a
/// restore payload).
pub fn jump_dump(s: &ProxierSettings) -> Result<Dump> {
    let mut b = DumpBuilder::new(s.ip_family == IpFamily::IPv6);
    write_jump_rules(s, &mut b);
    b.finish()
}

/// [`jump_rules`] written to any sink.
pub fn write_jump_rules<S: RestoreSink>(s: &ProxierSettings, out: &mut S) {
    // (table, chain, extra args, comment, target), in kube-proxy's table order (spec §2.5).
    const NEW: [&str; 4] = ["-m", "conntrack", "--ctstate", "NEW"];
    const NONE: [&str; 4] = ["", "", "", ""];
    let fw = s.ip_family == IpFamily::IPv4 && s.iptables.localhost_nodeports;
    let mut rows: Vec<(&str, &str, [&str; 4], &str, &str)> = vec![
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
            NONE,
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
            NONE,
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
            NONE,
            "kubernetes service portals",
            KUBE_SERVICES,
        ),
        (
            "nat",
            "PREROUTING",
            NONE,
            "kubernetes service portals",
            KUBE_SERVICES,
        ),
        (
            "nat",
            "POSTROUTING",
            NONE,
            "kubernetes postrouting rules",
            KUBE_POSTROUTING,
        ),
    ];
    if fw {
        rows.push(("filter", "INPUT", NONE, "", KUBE_FIREWALL));
        rows.push(("filter", "OUTPUT", NONE, "", KUBE_FIREWALL));
    }
    out.table("mangle");
    out.chain(KUBE_PROXY_CANARY);
    out.commit();
    for table in ["filter", "nat"] {
        out.table(table);
        out.chain(KUBE_PROXY_CANARY);
        // Ensure-chain: declaring a chain in --noflush mode flushes it, so only the targets
        // kube-proxy's restore payload also declares are named here (they exist after it).
        for (t, chain, extra, comment, target) in &rows {
            if *t != table {
                continue;
            }
            let quoted = if comment.is_empty() {
                String::new()
            } else {
                format!("\"{comment}\"")
            };
            let comment: [&str; 3] = if comment.is_empty() {
                ["", "", ""]
            } else {
                ["-m", "comment", "--comment"]
            };
            out.insert(
                chain,
                &[
                    extra[0], extra[1], extra[2], extra[3], comment[0], comment[1], comment[2],
                    &quoted, "-j", target,
                ],
            );
        }
        out.commit();
    }
}
