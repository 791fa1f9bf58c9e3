//! The per-node proxier plan: everything kube-proxy decides about a service port on one node
//! before it writes a single rule.
//!
//! spec: kube-proxy-iptables.md §3.2–§3.3 (the `hasEndpoints`, `hasInternalEndpoints`,
//! `hasExternalEndpoints`, `usesExternalChain`, `usesFWChain` decisions of `syncProxyRules`). The
//! nftables proxier makes the same decisions with the same names; the ipvs proxier reads the
//! same categorized lists and differs only in what it does when a Local policy has no local
//! endpoint ([`Route::NoLocalEndpoints`]).

use std::net::IpAddr;

use crate::categorize::{categorize, Categorized, NodeContext};
use crate::snapshot::{ProxySnapshot, ServicePortView};

/// Where traffic of one kind (internal: to the cluster IP; external: to node ports, external
/// IPs and load-balancer IPs) goes for a service port on this node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Route {
    /// Policy Cluster: the cluster endpoint list ([`Categorized::cluster`]).
    Cluster,
    /// Policy Local with a local endpoint: the node-local list ([`Categorized::local`]).
    Local,
    /// Policy Local and no local endpoint. iptables and nftables drop ("has no local
    /// endpoints"); ipvs falls back to the cluster list (spec: ipvs.md §8.3).
    NoLocalEndpoints,
    /// No usable endpoint at all: rejected ("has no endpoints").
    NoEndpoints,
}

impl Route {
    /// Whether this traffic reaches an endpoint (a DNAT happens).
    pub fn is_served(self) -> bool {
        matches!(self, Route::Cluster | Route::Local)
    }

    /// The reason kube-proxy writes in its rule comment when traffic is not served, with the
    /// service port name: `ns/name:port has no endpoints`.
    pub fn refusal(self, service_port_name: &str) -> Option<String> {
        match self {
            Route::NoEndpoints => Some(format!("{service_port_name} has no endpoints")),
            Route::NoLocalEndpoints => Some(format!("{service_port_name} has no local endpoints")),
            Route::Cluster | Route::Local => None,
        }
    }
}

/// kube-proxy's decisions for one service port on one node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortPlan {
    /// The endpoints this node uses, categorized (indices into
    /// [`ServicePortView::endpoints`]).
    pub endpoints: Categorized,
    /// Where cluster-IP traffic goes.
    pub internal: Route,
    /// Where node-port, external-IP and load-balancer traffic goes.
    pub external: Route,
    /// The cluster endpoint list is used and non-empty: it gets its own chain (`KUBE-SVC-…`,
    /// `service-…`).
    pub cluster_chain: bool,
    /// The local endpoint list is used and non-empty: `KUBE-SVL-…`, `local-…`.
    pub local_chain: bool,
    /// The port has endpoints and is externally accessible: `KUBE-EXT-…`, `external-…`.
    pub external_chain: bool,
    /// The port has endpoints, load-balancer IPs and source ranges: `KUBE-FW-…`, `firewall-…`.
    pub firewall: bool,
    /// The port has load-balancer IPs and source ranges, with or without endpoints: nftables'
    /// `usesFWChain` (its firewall check runs before the endpoint check, so the source ranges
    /// apply even when there is nothing to reach). [`PortPlan::firewall`] is this and
    /// [`PortPlan::has_endpoints`].
    pub lb_source_filter: bool,
    /// A source range contains the proxier's node IP: load-balancer traffic the node sends to
    /// its own LB IPs is allowed through the firewall too (whether or not there is one).
    pub source_ranges_contain_node_ip: bool,
}

impl PortPlan {
    /// Plans one service port for `node`; `node_ip` is the proxier's `nodeIP` (the first node
    /// IP of its family), used only for the firewall's node allowance.
    pub fn new(view: &ServicePortView, node: &NodeContext, node_ip: Option<IpAddr>) -> PortPlan {
        let endpoints = categorize(view, node);
        let has = endpoints.has_endpoints;
        let no_local = endpoints.local.is_empty();
        let route = |local_policy: bool| match (has, local_policy) {
            (false, _) => Route::NoEndpoints,
            (true, false) => Route::Cluster,
            (true, true) if no_local => Route::NoLocalEndpoints,
            (true, true) => Route::Local,
        };
        let lb_source_filter = !view.lb_ips.is_empty() && !view.source_ranges.is_empty();
        let firewall = has && lb_source_filter;
        PortPlan {
            internal: route(view.internal_policy_local),
            external: route(view.external_policy_local),
            cluster_chain: !endpoints.cluster.is_empty() && view.uses_cluster_endpoints(),
            local_chain: !no_local && view.uses_local_endpoints(),
            external_chain: has && view.externally_accessible(),
            firewall,
            lb_source_filter,
            source_ranges_contain_node_ip: node_ip
                .is_some_and(|ip| view.source_ranges.iter().any(|n| n.contains(&ip))),
            endpoints,
        }
    }

    /// Whether any endpoint is usable (else every entry point rejects).
    pub fn has_endpoints(&self) -> bool {
        self.endpoints.has_endpoints
    }
}

/// The plan of every service port of a snapshot on one node.
#[derive(Clone, Debug)]
pub struct NodePlan<'s> {
    /// The snapshot planned.
    pub snapshot: &'s ProxySnapshot,
    /// The node planned for.
    pub node: NodeContext,
    /// One plan per [`ProxySnapshot::ports`] entry, same index.
    pub ports: Vec<PortPlan>,
    /// Port indices in svccore's deterministic write order: `ns/name[:port]`, then protocol
    /// (kube-proxy's own order is a Go map's).
    pub order: Vec<usize>,
    /// Endpoints over all service ports (kube-proxy's large-cluster count).
    pub total_endpoints: usize,
}

impl<'s> NodePlan<'s> {
    /// Plans every port of `snapshot` for `node`.
    pub fn build(snapshot: &'s ProxySnapshot, node: &NodeContext, node_ip: Option<IpAddr>) -> Self {
        let ports = snapshot
            .ports
            .iter()
            .map(|v| PortPlan::new(v, node, node_ip))
            .collect();
        NodePlan {
            snapshot,
            node: node.clone(),
            ports,
            order: write_order(&snapshot.ports),
            total_endpoints: snapshot.ports.iter().map(|p| p.endpoints.len()).sum(),
        }
    }

    /// `(view, plan)` pairs in write order.
    pub fn in_order(&self) -> impl Iterator<Item = (&'s ServicePortView, &PortPlan)> + '_ {
        let ports = &self.snapshot.ports;
        self.order.iter().map(move |&i| (&ports[i], &self.ports[i]))
    }
}

/// Service ports in svccore's deterministic write order: `ns/name[:port]`, then protocol.
pub fn write_order(ports: &[ServicePortView]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..ports.len()).collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (&ports[a], &ports[b]);
        (a.service_port_name.as_str(), a.protocol.lower())
            .cmp(&(b.service_port_name.as_str(), b.protocol.lower()))
    });
    order
}
