//! The plain records the exports return (their TypeScript shapes are in `types.d.ts`).
//!
//! Pure conversions from the core's values: field names in camelCase, IPs and CIDRs as
//! strings, enums as their API spelling.

use std::collections::BTreeMap;

use serde::Serialize;
use svccore::categorize::{NodeContext, TopologyMode};
use svccore::model::{node::ZONE_LABEL, IntOrString, Node};
use svccore::snapshot::{EndpointInfo, ProxySnapshot, ServicePortView};
use svccore::Cluster;

/// A `targetPort`: number or name.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum TargetPort {
    Int(i64),
    Str(String),
}

impl From<&IntOrString> for TargetPort {
    fn from(v: &IntOrString) -> Self {
        match v {
            IntOrString::Int(i) => TargetPort::Int(*i),
            IntOrString::Str(s) => TargetPort::Str(s.to_string()),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointRecord {
    endpoint: String,
    ip: String,
    port: u16,
    ready: bool,
    serving: bool,
    terminating: bool,
    node_name: Option<String>,
    zone: Option<String>,
    zone_hints: Option<Vec<String>>,
    node_hints: Option<Vec<String>>,
}

impl From<&EndpointInfo> for EndpointRecord {
    fn from(e: &EndpointInfo) -> Self {
        EndpointRecord {
            endpoint: e.endpoint.to_string(),
            ip: e.ip.to_string(),
            port: e.port,
            ready: e.ready,
            serving: e.serving,
            terminating: e.terminating,
            node_name: e.node_name().map(str::to_owned),
            zone: e.zone().map(str::to_owned),
            zone_hints: e.zone_hints().map(<[String]>::to_vec),
            node_hints: e.node_hints().map(<[String]>::to_vec),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePortRecord {
    namespace: String,
    name: String,
    port_name: String,
    service_port_name: String,
    #[serde(rename = "type")]
    type_: String,
    protocol: String,
    port: u16,
    target_port: Option<TargetPort>,
    #[serde(rename = "clusterIP")]
    cluster_ip: String,
    node_port: Option<u16>,
    #[serde(rename = "externalIPs")]
    external_ips: Vec<String>,
    #[serde(rename = "loadBalancerIPs")]
    lb_ips: Vec<String>,
    source_ranges: Vec<String>,
    health_check_node_port: Option<u16>,
    external_policy_local: bool,
    internal_policy_local: bool,
    uses_cluster_endpoints: bool,
    uses_local_endpoints: bool,
    affinity_seconds: Option<u32>,
    topology_keys: Vec<String>,
    endpoint_count: usize,
    endpoints: Vec<EndpointRecord>,
}

fn nonzero(p: u16) -> Option<u16> {
    (p != 0).then_some(p)
}

fn strings<T: ToString>(v: &[T]) -> Vec<String> {
    v.iter().map(T::to_string).collect()
}

impl ServicePortRecord {
    /// The record of a service port, its endpoints listed or not.
    fn new(p: &ServicePortView, with_endpoints: bool) -> Self {
        ServicePortRecord {
            namespace: p.namespace.to_string(),
            name: p.name.to_string(),
            port_name: p.port_name.to_string(),
            service_port_name: p.service_port_name.to_string(),
            type_: p.service_type.as_str().to_owned(),
            protocol: p.protocol.as_api().to_owned(),
            port: p.port,
            target_port: p.target_port.as_ref().map(TargetPort::from),
            cluster_ip: p.cluster_ip.to_string(),
            node_port: nonzero(p.node_port),
            external_ips: strings(&p.external_ips),
            lb_ips: strings(&p.lb_ips),
            source_ranges: strings(&p.source_ranges),
            health_check_node_port: nonzero(p.health_check_node_port),
            external_policy_local: p.external_policy_local,
            internal_policy_local: p.internal_policy_local,
            uses_cluster_endpoints: p.uses_cluster_endpoints(),
            uses_local_endpoints: p.uses_local_endpoints(),
            affinity_seconds: p.affinity_seconds,
            topology_keys: p.topology_keys.clone(),
            endpoint_count: p.endpoints.len(),
            endpoints: if with_endpoints {
                p.endpoints.iter().map(EndpointRecord::from).collect()
            } else {
                Vec::new()
            },
        }
    }
}

/// A Service kube-proxy does not program, and why.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SkippedService {
    namespace: String,
    name: String,
    #[serde(rename = "type")]
    type_: String,
    /// Why, in words.
    reason: &'static str,
    /// Why, as a stable code (`headless`, `external-name`, `no-cluster-ip-of-family`, `no-ports`).
    reason_code: &'static str,
    external_name: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicesView {
    family: &'static str,
    ports: Vec<ServicePortRecord>,
    skipped: Vec<SkippedService>,
}

impl ServicesView {
    pub fn new(cluster: &Cluster, snap: &ProxySnapshot, with_endpoints: bool) -> Self {
        let skipped = svccore::snapshot::skipped_services(cluster, snap.family)
            .into_iter()
            .map(|s| SkippedService {
                namespace: s.service.meta.namespace.to_string(),
                name: s.service.meta.name.to_string(),
                type_: s.service.type_.as_str().to_owned(),
                reason: s.reason.message(),
                reason_code: s.reason.as_str(),
                external_name: s.service.external_name().map(str::to_owned),
            })
            .collect();
        ServicesView {
            family: snap.family.as_str(),
            ports: snap
                .ports
                .iter()
                .map(|p| ServicePortRecord::new(p, with_endpoints))
                .collect(),
            skipped,
        }
    }
}

fn topology_mode(m: TopologyMode) -> &'static str {
    match m {
        TopologyMode::None => "None",
        TopologyMode::PreferSameNode => "PreferSameNode",
        TopologyMode::PreferSameZone => "PreferSameZone",
    }
}

/// One service port as one node's kube-proxy sees it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodePortEndpoints {
    namespace: String,
    name: String,
    service_port_name: String,
    #[serde(rename = "type")]
    type_: String,
    protocol: String,
    port: u16,
    external_policy_local: bool,
    internal_policy_local: bool,
    uses_cluster_endpoints: bool,
    uses_local_endpoints: bool,
    has_endpoints: bool,
    topology_mode: &'static str,
    cluster_fallback: bool,
    local_fallback: bool,
    topology_keys_unmatched: bool,
    /// Endpoints (`ip:port`) for cluster-policy traffic.
    cluster: Vec<String>,
    /// Endpoints for local-policy traffic.
    local: Vec<String>,
    /// Every endpoint some rule may reach.
    reachable: Vec<String>,
    endpoints: Vec<EndpointRecord>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeEndpoints {
    node: String,
    zone: Option<String>,
    known_node: bool,
    family: &'static str,
    ports: Vec<NodePortEndpoints>,
}

impl NodeEndpoints {
    /// The core's per-node report ([`svccore::report::NodeEndpoints`]) with the service port's
    /// own fields and endpoint records added.
    pub fn new(cluster: &Cluster, snap: &ProxySnapshot, node: &str) -> Self {
        let report = svccore::report::NodeEndpoints::build(cluster, snap, node);
        let names = |l: &[svccore::report::EndpointEntry]| -> Vec<String> {
            l.iter().map(|e| e.endpoint.clone()).collect()
        };
        let ports = snap
            .ports
            .iter()
            .zip(&report.ports)
            .map(|(p, c)| NodePortEndpoints {
                namespace: p.namespace.to_string(),
                name: p.name.to_string(),
                service_port_name: c.service_port_name.clone(),
                type_: p.service_type.as_str().to_owned(),
                protocol: c.protocol.clone(),
                port: c.port,
                external_policy_local: p.external_policy_local,
                internal_policy_local: p.internal_policy_local,
                uses_cluster_endpoints: c.uses_cluster_endpoints,
                uses_local_endpoints: c.uses_local_endpoints,
                has_endpoints: c.has_endpoints,
                topology_mode: topology_mode(c.topology_mode),
                cluster_fallback: c.cluster_fallback,
                local_fallback: c.local_fallback,
                topology_keys_unmatched: c.topology_keys_unmatched,
                cluster: names(&c.cluster),
                local: names(&c.local),
                reachable: names(&c.reachable),
                endpoints: p.endpoints.iter().map(EndpointRecord::from).collect(),
            })
            .collect();
        NodeEndpoints {
            node: report.node,
            zone: NodeContext::from_cluster(cluster, node)
                .labels
                .get(ZONE_LABEL)
                .cloned(),
            known_node: report.has_node_object,
            family: snap.family.as_str(),
            ports,
        }
    }
}

/// A service port whose endpoint lists are not the same on every node, with each node's counts.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PortDifference {
    service_port_name: String,
    uses_cluster_endpoints: bool,
    uses_local_endpoints: bool,
    /// Size of the cluster-traffic list on each node (in `NodeDifferences.nodes` order).
    cluster: Vec<usize>,
    /// Size of the local-traffic list on each node.
    local: Vec<usize>,
}

/// How the nodes' kube-proxies differ: traffic policies Local and topology make a node's lists
/// its own; every other service port is the same everywhere and is left out.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeDifferences {
    family: &'static str,
    nodes: Vec<String>,
    ports: Vec<PortDifference>,
}

impl NodeDifferences {
    /// Compares the core's per-node reports of every Node object.
    pub fn new(cluster: &Cluster, snap: &ProxySnapshot) -> Self {
        let per_node: Vec<svccore::report::NodeEndpoints> = cluster
            .nodes
            .iter()
            .map(|n| svccore::report::NodeEndpoints::build(cluster, snap, &n.meta.name))
            .collect();
        let ports = snap
            .ports
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                let per: Vec<&svccore::report::PortEndpoints> =
                    per_node.iter().map(|n| &n.ports[i]).collect();
                let same = per
                    .windows(2)
                    .all(|w| w[0].cluster == w[1].cluster && w[0].local == w[1].local);
                (!same).then(|| PortDifference {
                    service_port_name: p.service_port_name.to_string(),
                    uses_cluster_endpoints: p.uses_cluster_endpoints(),
                    uses_local_endpoints: p.uses_local_endpoints(),
                    cluster: per.iter().map(|c| c.cluster.len()).collect(),
                    local: per.iter().map(|c| c.local.len()).collect(),
                })
            })
            .collect();
        NodeDifferences {
            family: snap.family.as_str(),
            nodes: per_node.into_iter().map(|n| n.node).collect(),
            ports,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeAddressRecord {
    #[serde(rename = "type")]
    type_: String,
    address: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeRecord {
    name: String,
    zone: Option<String>,
    labels: BTreeMap<String, String>,
    addresses: Vec<NodeAddressRecord>,
    #[serde(rename = "podCIDRs")]
    pod_cidrs: Vec<String>,
}

impl From<&Node> for NodeRecord {
    fn from(n: &Node) -> Self {
        NodeRecord {
            name: n.meta.name.to_string(),
            zone: n.meta.labels.get(ZONE_LABEL).map(str::to_owned),
            labels: n.meta.labels.to_btree(),
            addresses: n
                .addresses
                .iter()
                .map(|a| NodeAddressRecord {
                    type_: a.type_.clone(),
                    address: a.address.clone(),
                })
                .collect(),
            pod_cidrs: n.pod_cidrs.clone(),
        }
    }
}
