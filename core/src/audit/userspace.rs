//! Audit a node's `iptables-save` against the portal rules kube-proxy's userspace mode writes
//! (spec: [`crate::render::userspace`]).
//!
//! The rules are compared as in iptables mode ([`super::audit`]), grouped by the service port
//! their comment names. Every chain's rules may come in any order: kube-proxy appended each
//! service's rules in its Go map's order, and no portal rule shadows another. Chains the
//! kubelet of that era owned (`KUBE-MARK-MASQ`, `KUBE-MARK-DROP`, `KUBE-POSTROUTING`,
//! `KUBE-FIREWALL`, `KUBE-KUBELET-CANARY`) are not compared.
//!
//! kube-proxy's proxy ports cannot be predicted: when the node's differ from the ones svccore
//! used, each portal rule shows as changed, and a note gives the node's ports as the settings'
//! `userspace.proxyPorts` object that makes them match.
//!
//! # Example
//! ```
//! use svccore::audit::{userspace::audit, ActualDump};
//! use svccore::proxier::config::ProxierSettings;
//! use svccore::render::userspace::{render, Form};
//! let cluster = svccore::load::load_strs([(None, r#"{"apiVersion":"v1","kind":"Service",
//!   "metadata":{"name":"web","namespace":"default"},
//!   "spec":{"clusterIP":"10.96.0.10","ports":[{"port":80}]}}"#)]).unwrap();
//! let s = ProxierSettings::from_json_str(r#"{"nodeIPs": ["192.168.0.10"]}"#, None).unwrap();
//! let save = render(&cluster, &s, Form::Save).unwrap();
//! assert!(!audit(&cluster, &s, &save, ActualDump::default()).unwrap().has_drift());
//! let node = save.replace("--to-ports 32768", "--to-ports 41000").replace(":32768", ":41000");
//! let r = audit(&cluster, &s, &node, ActualDump::default()).unwrap();
//! assert!(r.has_drift());
//! assert!(r.notes.iter().any(|n| n.contains(r#""proxyPorts": {"default/web": 41000}"#)));
//! ```

use super::{compare, ActualDump, AuditReport, Expected, Side};
use crate::netfilter::{Dump, Target};
use crate::proxier::config::ProxierSettings;
use crate::render::userspace::{
    portal_dump, Proxy, KUBE_NODEPORT_CONTAINER, KUBE_PORTALS_CONTAINER,
};
use crate::{Cluster, Result};

/// `KUBE-*` chains the kubelet owned next to a userspace kube-proxy.
const KUBELET_CHAINS: &[&str] = &[
    "KUBE-KUBELET-CANARY",
    "KUBE-PROXY-CANARY",
    "KUBE-MARK-DROP",
    "KUBE-MARK-MASQ",
    "KUBE-POSTROUTING",
    "KUBE-FIREWALL",
];

fn order_free(_table: &str, _chain: &str) -> bool {
    true
}

/// Audits a node's rules (`actual`: `iptables-save` of either backend, or one table's
/// `iptables -S`, read as [`super::audit_with`] reads them) against the userspace portal rules
/// of `cluster` with `settings` (resolved against the cluster's Node object).
pub fn audit(
    cluster: &Cluster,
    settings: &ProxierSettings,
    actual: &str,
    how: ActualDump<'_>,
) -> Result<AuditReport> {
    let (resolved, snap) = settings.resolve_and_snapshot(cluster)?;
    let proxy = Proxy::build(&snap, &resolved)?;
    let v6 = resolved.ip_family == crate::model::IpFamily::IPv6;
    let expected = Expected {
        rules: Side::expected(&[&portal_dump(&proxy)?], v6, KUBELET_CHAINS),
        owner: Default::default(),
        owners: &[],
        names: proxy
            .ports
            .iter()
            .map(|p| p.service_port_name.clone())
            .collect(),
        mode: "userspace",
        order_free,
        ignored: KUBELET_CHAINS,
    };
    let mut report = compare(expected, &resolved, actual, how)?;
    let node = super::actual::read(actual, how.file, v6, how.table)?;
    if let Some(note) = ports_note(&proxy, &node) {
        report.notes.push(note);
    }
    Ok(report)
}

/// The node's proxy port of each service port, read from its container rules (the
/// `--to-ports` of a REDIRECT, the port of a DNAT), when they differ from `proxy`'s.
fn ports_note(proxy: &Proxy, node: &Dump) -> Option<String> {
    let mut found: Vec<(String, u16)> = Vec::new();
    for t in node.tables.iter().filter(|t| t.name == "nat") {
        for r in &t.rules {
            if r.chain != KUBE_PORTALS_CONTAINER && r.chain != KUBE_NODEPORT_CONTAINER {
                continue;
            }
            let Some(name) = r.comment() else { continue };
            let port = match &r.target {
                Target::Other { name, args } if name == "REDIRECT" => args
                    .iter()
                    .position(|a| a == "--to-ports")
                    .and_then(|i| args.get(i + 1))
                    .and_then(|p| p.parse().ok()),
                Target::Dnat { to } => to.rsplit_once(':').and_then(|(_, p)| p.parse().ok()),
                _ => None,
            };
            let Some(port) = port else { continue };
            let known = proxy.ports.iter().any(|p| p.service_port_name == name);
            if known && !found.iter().any(|(n, _)| n == name) {
                found.push((name.to_owned(), port));
            }
        }
    }
    let differs = found.iter().any(|(n, port)| {
        proxy
            .ports
            .iter()
            .any(|p| p.service_port_name == *n && p.proxy_port != *port)
    });
    if !differs {
        return None;
    }
    found.sort();
    let pairs: Vec<String> = found.iter().map(|(n, p)| format!("\"{n}\": {p}")).collect();
    Some(format!(
        "the node's proxy ports differ from the ones svccore allocated (kube-proxy's are \
         random); to compare the rest, give the settings \"userspace\": {{\"proxyPorts\": {{{}}}}}",
        pairs.join(", ")
    ))
}
