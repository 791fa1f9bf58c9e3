//! Which endpoints one node uses for a service port, exactly as kube-proxy decides.
//!
//! spec: kube-proxy-iptables.md §5.2 (CategorizeEndpoints, ≥ v1.33) and, for the legacy
//! `topologyKeys`, selection-and-hashing.md §2.4.

use std::collections::BTreeMap;

use crate::model::node::ZONE_LABEL;
use crate::snapshot::{EndpointInfo, ServicePortView};

/// The node a kube-proxy runs on (or a client connects from).
#[derive(Clone, Debug, Default)]
pub struct NodeContext {
    /// Node name (`--hostname-override`); empty matches no endpoint.
    pub name: String,
    /// Node labels (zone for hints, any key for `topologyKeys`).
    pub labels: BTreeMap<String, String>,
    /// The `PreferSameTrafficDistribution` feature gate (node hints). On by default since v1.34.
    pub prefer_same_node_gate: bool,
}

impl NodeContext {
    /// A node known only by name.
    pub fn named(name: &str) -> Self {
        NodeContext {
            name: name.to_owned(),
            labels: BTreeMap::new(),
            prefer_same_node_gate: true,
        }
    }

    /// A node from the cluster's Node object of that name (labels included), or by name only.
    pub fn from_cluster(cluster: &crate::Cluster, name: &str) -> Self {
        let labels = cluster
            .nodes
            .iter()
            .find(|n| n.meta.name == name)
            .map(|n| n.meta.labels.to_btree())
            .unwrap_or_default();
        NodeContext {
            name: name.to_owned(),
            labels,
            prefer_same_node_gate: true,
        }
    }
}

/// Topology-aware routing mode chosen from the hints.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub enum TopologyMode {
    /// No filtering.
    #[default]
    None,
    /// Keep endpoints hinted for this node.
    PreferSameNode,
    /// Keep endpoints hinted for this node's zone.
    PreferSameZone,
}

/// The outcome for one service port on one node. Lists hold indices into
/// [`ServicePortView::endpoints`], in its (kube-proxy string) order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Categorized {
    /// Endpoints for cluster-policy traffic (`KUBE-SVC`).
    pub cluster: Vec<usize>,
    /// Endpoints for local-policy traffic (`KUBE-SVL`).
    pub local: Vec<usize>,
    /// Union of both: every endpoint some rule may reach (one `KUBE-SEP` chain each).
    pub all_reachable: Vec<usize>,
    /// Whether the port has usable endpoints at all (else: REJECT).
    pub has_endpoints: bool,
    /// The hint mode applied to the cluster list.
    pub topology_mode: TopologyMode,
    /// The cluster list fell back to serving+terminating endpoints.
    pub cluster_fallback: bool,
    /// The local list fell back to serving+terminating endpoints.
    pub local_fallback: bool,
    /// Legacy `topologyKeys` were applied and matched nothing: no backend for this node.
    pub topology_keys_unmatched: bool,
}

impl Categorized {
    /// Endpoints of a list, as references.
    pub fn pick<'a>(&self, port: &'a ServicePortView, list: &[usize]) -> Vec<&'a EndpointInfo> {
        list.iter().map(|&i| &port.endpoints[i]).collect()
    }
}

/// Whether an endpoint runs on `node` (its slice `nodeName` is the node's name; an unnamed node
/// has no local endpoints).
pub fn is_local(e: &EndpointInfo, node: &NodeContext) -> bool {
    !node.name.is_empty() && e.node_name() == Some(node.name.as_str())
}

fn topology_mode(eps: &[EndpointInfo], node: &NodeContext) -> TopologyMode {
    let ready: Vec<&EndpointInfo> = eps.iter().filter(|e| e.ready).collect();
    if ready.is_empty() {
        return TopologyMode::None;
    }
    if node.prefer_same_node_gate
        && ready
            .iter()
            .all(|e| e.node_hints().is_some_and(|h| !h.is_empty()))
        && ready
            .iter()
            .any(|e| e.node_hints().is_some_and(|h| h.contains(&node.name)))
    {
        return TopologyMode::PreferSameNode;
    }
    if let Some(zone) = node.labels.get(ZONE_LABEL) {
        if ready
            .iter()
            .all(|e| e.zone_hints().is_some_and(|h| !h.is_empty()))
            && ready
                .iter()
                .any(|e| e.zone_hints().is_some_and(|h| h.iter().any(|z| z == zone)))
        {
            return TopologyMode::PreferSameZone;
        }
    }
    TopologyMode::None
}

fn available_for_topology(e: &EndpointInfo, mode: TopologyMode, node: &NodeContext) -> bool {
    match mode {
        TopologyMode::None => true,
        TopologyMode::PreferSameNode => e.node_hints().is_some_and(|h| h.contains(&node.name)),
        TopologyMode::PreferSameZone => {
            let zone = node.labels.get(ZONE_LABEL);
            e.zone_hints()
                .is_some_and(|h| h.iter().any(|z| Some(z) == zone))
        }
    }
}

/// The legacy `topologyKeys` filter (v1.17–v1.21): the first key for which some endpoint shares
/// the node's label value wins; `*` matches all; no match means no endpoints.
/// spec: selection-and-hashing.md §2.4.
pub fn filter_topology_keys(
    keys: &[String],
    node_labels: &BTreeMap<String, String>,
    eps: &[EndpointInfo],
    candidates: &[usize],
) -> Vec<usize> {
    if keys.is_empty() {
        return candidates.to_vec();
    }
    if node_labels.is_empty() {
        return if keys.last().map(String::as_str) == Some("*") {
            candidates.to_vec()
        } else {
            Vec::new()
        };
    }
    for key in keys {
        if key == "*" {
            return candidates.to_vec();
        }
        let Some(v) = node_labels.get(key) else {
            continue;
        };
        let matched: Vec<usize> = candidates
            .iter()
            .copied()
            .filter(|&i| eps[i].topology_label(key) == Some(v.as_str()))
            .collect();
        if !matched.is_empty() {
            return matched;
        }
    }
    Vec::new()
}

/// Categorizes a service port's endpoints for one node.
///
/// # Example
/// ```
/// # use svccore::{load::Loader, snapshot::ProxySnapshot, model::IpFamily};
/// # use svccore::categorize::{categorize, NodeContext};
/// let mut l = Loader::new();
/// l.add_str(None, r#"{"apiVersion":"v1","kind":"List","items":[
///  {"apiVersion":"v1","kind":"Service","metadata":{"name":"s","namespace":"n"},
///   "spec":{"clusterIP":"10.0.0.1","ports":[{"port":80}]}},
///  {"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice",
///   "metadata":{"name":"s-1","namespace":"n","labels":{"kubernetes.io/service-name":"s"}},
///   "addressType":"IPv4","ports":[{"name":"","port":8080}],
///   "endpoints":[{"addresses":["10.1.0.2"],"conditions":{"ready":true}},
///                {"addresses":["10.1.0.3"],"conditions":{"ready":false}}]}]}"#).unwrap();
/// let snap = ProxySnapshot::build(&l.finish().unwrap(), IpFamily::IPv4).unwrap();
/// let c = categorize(&snap.ports[0], &NodeContext::named("node-a"));
/// assert_eq!(c.cluster, vec![0]);
/// assert!(c.has_endpoints);
/// ```
pub fn categorize(port: &ServicePortView, node: &NodeContext) -> Categorized {
    let eps = &port.endpoints;
    let mut out = Categorized::default();
    let uses_cluster = port.uses_cluster_endpoints();
    let uses_local = port.uses_local_endpoints();
    if uses_cluster {
        let mode = topology_mode(eps, node);
        out.topology_mode = mode;
        // Sized for every endpoint: a filtered collect would grow the list one doubling at a
        // time, and this runs for every service port of a render.
        out.cluster = Vec::with_capacity(eps.len());
        out.cluster.extend(
            (0..eps.len()).filter(|&i| eps[i].ready && available_for_topology(&eps[i], mode, node)),
        );
        if out.cluster.is_empty() {
            out.cluster = (0..eps.len())
                .filter(|&i| eps[i].serving && eps[i].terminating)
                .collect();
            out.cluster_fallback = !out.cluster.is_empty();
        }
        // Legacy topologyKeys (never together with ETP Local, which the API forbids).
        if !port.topology_keys.is_empty() && !port.external_policy_local {
            let kept = filter_topology_keys(&port.topology_keys, &node.labels, eps, &out.cluster);
            out.topology_keys_unmatched = kept.is_empty();
            out.cluster = kept;
        }
        if !out.cluster.is_empty() {
            out.has_endpoints = true;
        }
    }
    if !uses_local {
        out.all_reachable = out.cluster.clone();
        return out;
    }
    let (mut local_ready, mut local_serving_term) = (false, false);
    for e in eps {
        if e.ready {
            out.has_endpoints = true;
            local_ready |= is_local(e, node);
        } else if e.serving && e.terminating {
            out.has_endpoints = true;
            local_serving_term |= is_local(e, node);
        }
    }
    if local_ready {
        out.local = (0..eps.len())
            .filter(|&i| is_local(&eps[i], node) && eps[i].ready)
            .collect();
    } else if local_serving_term {
        out.local = (0..eps.len())
            .filter(|&i| is_local(&eps[i], node) && eps[i].serving && eps[i].terminating)
            .collect();
        out.local_fallback = true;
    }
    if !uses_cluster {
        out.all_reachable = out.local.clone();
        return out;
    }
    if out.topology_mode == TopologyMode::None
        && !out.local_fallback
        && port.topology_keys.is_empty()
    {
        out.all_reachable = out.cluster.clone();
    } else {
        let mut all: Vec<usize> = out.cluster.iter().chain(&out.local).copied().collect();
        all.sort_unstable();
        all.dedup();
        out.all_reachable = all;
    }
    out
}
