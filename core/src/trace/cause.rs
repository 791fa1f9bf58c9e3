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

/// The service port `packet` is addressed to on the settings' node, with the kind of address.
fn entry<'v>(
    snap: &'v ProxySnapshot,
    settings: &ProxierSettings,
    packet: &Packet,
) -> Option<(&'v ServicePortView, Entry)> {
    let local = |ip: &IpAddr| {
        settings.node.ips.contains(ip)
            || settings
                .node
                .interface_addresses
                .iter()
                .any(|n| n.addr() == *ip)
    };
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
        } else if v.node_port != 0 && v.node_port == packet.dst_port && local(&packet.dst) {
            Entry::NodePort
        } else {
            return None;
        };
        Some((v, kind))
    })
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
/// address that is no service port's, are left as they are.
pub(crate) fn explain(
    snap: &ProxySnapshot,
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
    let Some((v, kind)) = entry(snap, settings, packet) else {
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
