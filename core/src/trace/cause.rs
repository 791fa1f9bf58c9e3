//! Why traffic is dropped or rejected, from the node's plan ([`explain`]).
//!
//! A tracer reports the rule that stopped a packet. That rule is often not the one that says
//! why: a load-balancer packet of an `externalTrafficPolicy: Local` service without a local
//! endpoint passes the firewall chain's source check and is then dropped by
//! `KUBE-PROXY-FIREWALL` ("traffic not accepted by KUBE-FW-…"). The cause is the plan's
//! [`Route`] for the service port the packet was addressed to: kube-proxy's own reason
//! ([`Route::refusal`], the text of its "has no local endpoints" / "has no endpoints" rule
//! comments) and the policy behind it; or, for a load-balancer IP, a source outside
//! `loadBalancerSourceRanges`.

use std::net::IpAddr;

use super::{Outcome, Packet, Verdict};
use crate::fast::FastMap;
use crate::model::Protocol;
use crate::proxier::config::ProxierSettings;
use crate::proxier::plan::{PortPlan, Route};
use crate::snapshot::{ProxySnapshot, ServicePortView};

/// Which of a service port's addresses the packet is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Entry {
    ClusterIp,
    ExternalIp,
    LoadBalancerIp,
    NodePort,
}

/// A snapshot's service ports by address: [`entry`] in one or two lookups. A tracer kept for
/// many packets builds it once; a one-shot trace builds it when a packet is dropped.
#[derive(Debug, Default)]
pub(crate) struct PortIndex {
    /// Cluster, load-balancer and external IPs with protocol and port: the first port in
    /// snapshot order that has the address, and which of its addresses it is (a port's
    /// cluster IP before its load-balancer IPs before its external IPs, as [`entry`] checks).
    addrs: FastMap<(Protocol, IpAddr, u16), (usize, Entry)>,
    /// Node ports with protocol: the first port that has it.
    node_ports: FastMap<(Protocol, u16), usize>,
}

impl PortIndex {
    /// Indexes `snap`'s ports.
    pub(crate) fn new(snap: &ProxySnapshot) -> PortIndex {
        let mut ix = PortIndex::default();
        for (i, v) in snap.ports.iter().enumerate() {
            let addrs = std::iter::once((v.cluster_ip, Entry::ClusterIp))
                .chain(v.lb_ips.iter().map(|ip| (*ip, Entry::LoadBalancerIp)))
                .chain(v.external_ips.iter().map(|ip| (*ip, Entry::ExternalIp)));
            for (ip, kind) in addrs {
                ix.addrs
                    .entry((v.protocol.clone(), ip, v.port))
                    .or_insert((i, kind));
            }
            if v.node_port != 0 {
                ix.node_ports
                    .entry((v.protocol.clone(), v.node_port))
                    .or_insert(i);
            }
        }
        ix
    }
}

/// Whether `ip` is one of the node's addresses (node IPs, interface addresses).
fn node_local(settings: &ProxierSettings, ip: &IpAddr) -> bool {
    settings.node.ips.contains(ip)
        || settings
            .node
            .interface_addresses
            .iter()
            .any(|n| n.addr() == *ip)
}

/// The service port `packet` is addressed to on the settings' node, with the kind of address:
/// the first port in snapshot order with an address the packet is for (a port's cluster,
/// load-balancer and external IPs before its node port on a node address).
fn entry<'v>(
    snap: &'v ProxySnapshot,
    index: &PortIndex,
    settings: &ProxierSettings,
    packet: &Packet,
) -> Option<(&'v ServicePortView, Entry)> {
    let proto = &packet.protocol;
    let by_addr = index
        .addrs
        .get(&(proto.clone(), packet.dst, packet.dst_port))
        .copied();
    let by_node_port = if node_local(settings, &packet.dst) {
        index
            .node_ports
            .get(&(proto.clone(), packet.dst_port))
            .copied()
    } else {
        None
    };
    let (i, kind) = match (by_addr, by_node_port) {
        (Some((i, _)), Some(j)) if j < i => (j, Entry::NodePort),
        (Some(a), _) => a,
        (None, Some(j)) => (j, Entry::NodePort),
        (None, None) => return None,
    };
    Some((&snap.ports[i], kind))
}

/// Why the traffic of `route` is refused: kube-proxy's reason (its rule comment) and the
/// policy that leads there.
fn route_cause(v: &ServicePortView, route: Route, internal: bool, node: &str) -> Option<String> {
    let reason = route.refusal(&v.service_port_name)?;
    let why = match route {
        Route::NoLocalEndpoints => format!(
            "{} is Local and node {node} has no local endpoint",
            if internal {
                "internalTrafficPolicy"
            } else {
                "externalTrafficPolicy"
            }
        ),
        _ => "no endpoint of it is ready, nor serving while terminating".to_owned(),
    };
    Some(format!("{reason}: {why}"))
}

/// The cause of a refusal of `packet` at `(v, p)` reached through `kind`. The firewall lets
/// through sources in the ranges, and the node itself (`node_ip`) when a range holds it.
fn port_cause(
    v: &ServicePortView,
    p: &PortPlan,
    kind: Entry,
    packet: &Packet,
    node: &str,
    node_ip: Option<IpAddr>,
) -> Option<String> {
    if kind == Entry::LoadBalancerIp
        && p.lb_source_filter
        && !v.source_ranges.iter().any(|n| n.contains(&packet.src))
        && !(p.source_ranges_contain_node_ip && Some(packet.src) == node_ip)
    {
        let ranges: Vec<String> = v.source_ranges.iter().map(ToString::to_string).collect();
        return Some(format!(
            "{} is not in the loadBalancerSourceRanges of {} ({})",
            packet.src,
            v.service_port_name,
            ranges.join(", ")
        ));
    }
    match kind {
        Entry::ClusterIp => route_cause(v, p.internal, true, node),
        _ => route_cause(v, p.external, false, node),
    }
}

/// Sets [`Outcome::cause`] on the outcomes that drop or reject `packet`, from the plan of the
/// settings' node (`settings` resolved). Outcomes that reach an endpoint, and packets to an
/// address that is no service port's, are left as they are. `index` is `snap`'s, when the
/// caller keeps one; else it is built here, once a path drops the packet.
pub(crate) fn explain(
    snap: &ProxySnapshot,
    index: Option<&PortIndex>,
    settings: &ProxierSettings,
    packet: &Packet,
    outcomes: &mut [Outcome],
) {
    if !outcomes
        .iter()
        .any(|o| matches!(o.verdict, Verdict::Drop { .. } | Verdict::Reject { .. }))
    {
        return;
    }
    let built;
    let index = match index {
        Some(ix) => ix,
        None => {
            built = PortIndex::new(snap);
            &built
        }
    };
    let Some((v, kind)) = entry(snap, index, settings, packet) else {
        return;
    };
    // The same per-port decision as every renderer's `NodePlan`, for the one port concerned.
    let node = &settings.node;
    let plan = PortPlan::new(v, &node.context(), node.node_ip());
    let Some(cause) = port_cause(v, &plan, kind, packet, &node.name, node.node_ip()) else {
        return;
    };
    for o in outcomes {
        if matches!(o.verdict, Verdict::Drop { .. } | Verdict::Reject { .. }) {
            o.cause = Some(cause.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::IpFamily;
    use crate::proxier::config::NodeFacts;

    /// kube-proxy's order written as a pass over every port: the first port with an address the
    /// packet is for; within a port its cluster IP, load-balancer IPs, external IPs, node port.
    fn pass<'v>(
        snap: &'v ProxySnapshot,
        settings: &ProxierSettings,
        packet: &Packet,
    ) -> Option<(&'v ServicePortView, Entry)> {
        snap.ports.iter().find_map(|v| {
            if v.protocol != packet.protocol {
                return None;
            }
            let on_port = v.port == packet.dst_port;
            let kind = if on_port && v.cluster_ip == packet.dst {
                Entry::ClusterIp
            } else if on_port && v.lb_ips.contains(&packet.dst) {
                Entry::LoadBalancerIp
            } else if on_port && v.external_ips.contains(&packet.dst) {
                Entry::ExternalIp
            } else if v.node_port != 0
                && v.node_port == packet.dst_port
                && node_local(settings, &packet.dst)
            {
                Entry::NodePort
            } else {
                return None;
            };
            Some((v, kind))
        })
    }

    /// The index finds what the pass over every port finds, for addresses several ports share
    /// in different roles (one port's cluster IP is another's load-balancer IP, an external IP
    /// is the node's, a node port equals a service port).
    #[test]
    fn the_index_finds_what_the_pass_finds() {
        let svc = |name: &str, spec: &str| {
            format!(
                r#"{{"apiVersion":"v1","kind":"Service","metadata":{{"name":"{name}","namespace":"n"}},"spec":{spec}}}"#
            )
        };
        let items = [
            svc(
                "a",
                r#"{"clusterIP":"10.96.0.1","externalIPs":["192.168.0.10","10.96.0.3"],"ports":[{"name":"h","port":80},{"name":"q","port":443,"protocol":"UDP"}]}"#,
            ),
            svc(
                "b",
                r#"{"type":"LoadBalancer","clusterIP":"10.96.0.2","ports":[{"port":80,"nodePort":30080}]},"status":{"loadBalancer":{"ingress":[{"ip":"10.96.0.1"},{"ip":"10.96.0.3"}]}}"#,
            ),
            svc(
                "c",
                r#"{"type":"NodePort","clusterIP":"10.96.0.3","ports":[{"name":"x","port":30080,"nodePort":30081},{"name":"y","port":80,"nodePort":80}]}"#,
            ),
            svc(
                "d",
                r#"{"type":"NodePort","clusterIP":"192.168.0.10","ports":[{"port":30080,"nodePort":30080,"protocol":"UDP"}]}"#,
            ),
        ];
        let text = format!(
            r#"{{"apiVersion":"v1","kind":"List","items":[{}]}}"#,
            items.join(",")
        );
        let cluster = crate::load::load_strs([(None, text.as_str())]).unwrap();
        let snap = ProxySnapshot::build(&cluster, IpFamily::IPv4).unwrap();
        assert!(snap.ports.len() >= 6, "{:?}", snap.warnings);
        let settings = ProxierSettings {
            node: NodeFacts {
                ips: vec!["192.168.0.10".parse().unwrap()],
                interface_addresses: vec!["192.168.0.11/24".parse().unwrap()],
                ..NodeFacts::named("n1")
            },
            ..ProxierSettings::default()
        };
        let index = PortIndex::new(&snap);
        let mut found = 0;
        for dst in [
            "10.96.0.1",
            "10.96.0.2",
            "10.96.0.3",
            "10.96.0.4",
            "192.168.0.10",
            "192.168.0.11",
        ] {
            for port in [80, 443, 30080, 30081, 30082] {
                for protocol in [Protocol::Tcp, Protocol::Udp, Protocol::Sctp] {
                    let mut p = Packet::new(
                        "10.0.0.1".parse().unwrap(),
                        dst.parse().unwrap(),
                        port,
                        super::super::Origin::External,
                    );
                    p.protocol = protocol;
                    let pass = pass(&snap, &settings, &p);
                    let looked_up = entry(&snap, &index, &settings, &p);
                    assert_eq!(
                        pass.map(|(v, k)| (&v.service_port_name, k)),
                        looked_up.map(|(v, k)| (&v.service_port_name, k)),
                        "{p:?}"
                    );
                    found += usize::from(pass.is_some());
                }
            }
        }
        assert!(found >= 10, "{found}");
    }
}
