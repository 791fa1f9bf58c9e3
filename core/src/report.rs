//! Human-sized reports of a [`Cluster`]: a [`Summary`] (counts, and a one-line text) and the
//! [`EndpointsReport`] (which endpoints each node uses for each service port).
//!
//! Both are plain data (serde) with a [`Display`](std::fmt::Display) text form, so the command
//! line, Python and the browser print the same thing and get the same records.
//!
//! # Example
//! ```
//! let mut l = svccore::Loader::new();
//! l.add_str(Some("web.yaml"), r#"
//! apiVersion: v1
//! kind: Service
//! metadata: {name: web, namespace: default}
//! spec: {clusterIP: 10.96.0.10, ports: [{port: 80}]}
//! "#).unwrap();
//! let cluster = l.finish().unwrap();
//! let s = svccore::report::Summary::of(&cluster);
//! assert_eq!(s.to_string(), "1 service (1 ClusterIP), 1 service port, 0 endpoints, 0 nodes");
//! let r = svccore::report::EndpointsReport::build(&cluster, Some("node-a")).unwrap();
//! assert!(r.to_string().contains("default/web"));
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;

use crate::categorize::{categorize, NodeContext, TopologyMode};
use crate::fast::FastSet;
use crate::model::{IpFamily, ServiceType};
use crate::snapshot::{EndpointInfo, ProxySnapshot};
use crate::{Cluster, Result};

/// The endpoints of one IP family, counted per node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FamilyEndpoints {
    /// All endpoints of this family.
    pub total: usize,
    /// Endpoints per `nodeName`.
    pub by_node: BTreeMap<String, usize>,
    /// Endpoints without a `nodeName`.
    pub without_node: usize,
}

/// Counts describing a cluster, and a one-line text (its `Display`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Services of every type.
    pub services: usize,
    /// Services per `spec.type` (`ClusterIP`, `NodePort`, `LoadBalancer`, `ExternalName`, or an
    /// unknown type as written).
    pub services_by_type: BTreeMap<String, usize>,
    /// Headless services (`clusterIP: None`, not ExternalName).
    pub headless: usize,
    /// ExternalName services.
    pub external_name: usize,
    /// Entries of `spec.ports`, over all services.
    pub service_ports: usize,
    /// EndpointSlices, given or derived (from Endpoints or Pods).
    pub endpoint_slices: usize,
    /// Endpoints per IP family (`IPv4`, `IPv6`), counting each address once per service. Only
    /// families present appear.
    pub endpoints: BTreeMap<String, FamilyEndpoints>,
    /// Node objects.
    pub nodes: usize,
    /// Pod objects.
    pub pods: usize,
    /// Non-fatal load findings ([`Cluster::warnings`]).
    pub warnings: usize,
}

impl Summary {
    /// Counts what the cluster holds.
    pub fn of(cluster: &Cluster) -> Summary {
        let mut s = Summary {
            services: cluster.services.len(),
            endpoint_slices: cluster.slices.len(),
            nodes: cluster.nodes.len(),
            pods: cluster.pods.len(),
            warnings: cluster.warnings.len(),
            ..Default::default()
        };
        for svc in &cluster.services {
            *s.services_by_type
                .entry(svc.type_.as_str().to_owned())
                .or_default() += 1;
            if svc.type_ == ServiceType::ExternalName {
                s.external_name += 1;
            } else if svc.is_headless() {
                s.headless += 1;
            }
            s.service_ports += svc.ports.len();
        }
        // An address listed in several slices of one service (or twice in one) counts once:
        // the slices of each service are visited together, in input order (a stable sort of
        // their indices), with a set of the addresses of that service alone.
        let service_of = |i: usize| {
            let slice = &cluster.slices[i];
            (
                slice.meta.namespace.as_str(),
                slice.service_name().unwrap_or(""),
            )
        };
        let mut order: Vec<usize> = (0..cluster.slices.len())
            // FQDN slices: kube-proxy ignores them.
            .filter(|&i| IpFamily::parse(&cluster.slices[i].address_type).is_some())
            .collect();
        order.sort_by_key(|&i| service_of(i));
        let mut seen: FastSet<&str> = FastSet::default();
        let mut families: [Option<FamilyEndpoints>; 2] = [None, None];
        let mut group = None;
        for i in order {
            if group != Some(service_of(i)) {
                group = Some(service_of(i));
                // Clearing costs the set's capacity: a large one is dropped instead, so that
                // one big service does not make every later small one expensive.
                if seen.len() > 1024 {
                    seen = FastSet::default();
                } else {
                    seen.clear();
                }
            }
            let slice = &cluster.slices[i];
            let family = match IpFamily::parse(&slice.address_type) {
                Some(IpFamily::IPv6) => 1,
                _ => 0,
            };
            for e in &slice.endpoints {
                let Some(addr) = e.addresses.first() else {
                    continue;
                };
                if !seen.insert(addr) {
                    continue;
                }
                // A family appears once one of its endpoints is counted.
                let f = families[family].get_or_insert_with(FamilyEndpoints::default);
                f.total += 1;
                match e.node_name() {
                    Some(n) => match f.by_node.get_mut(n) {
                        Some(count) => *count += 1,
                        None => {
                            f.by_node.insert(n.to_owned(), 1);
                        }
                    },
                    None => f.without_node += 1,
                }
            }
        }
        for (family, f) in [IpFamily::IPv4, IpFamily::IPv6].into_iter().zip(families) {
            if let Some(f) = f {
                s.endpoints.insert(family.as_str().to_owned(), f);
            }
        }
        s
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl fmt::Display for Summary {
    /// `3 services (1 ClusterIP, 1 NodePort, 1 ExternalName; 1 headless), 4 service ports,
    /// 5 endpoints (IPv4: 5 on 2 nodes), 2 nodes, 1 warning`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", plural(self.services, "service", "services"))?;
        if self.services > 0 {
            // The API's types in their usual order, then unknown ones.
            let known = ["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"];
            let mut parts: Vec<String> = known
                .iter()
                .filter_map(|t| self.services_by_type.get(*t).map(|n| format!("{n} {t}")))
                .collect();
            parts.extend(
                self.services_by_type
                    .iter()
                    .filter(|(t, _)| !known.contains(&t.as_str()))
                    .map(|(t, n)| format!("{n} {t}")),
            );
            let mut inner = parts.join(", ");
            if self.headless > 0 {
                inner.push_str(&format!("; {} headless", self.headless));
            }
            write!(f, " ({inner})")?;
        }
        write!(
            f,
            ", {}",
            plural(self.service_ports, "service port", "service ports")
        )?;
        let total: usize = self.endpoints.values().map(|e| e.total).sum();
        write!(f, ", {}", plural(total, "endpoint", "endpoints"))?;
        if total > 0 {
            let parts: Vec<String> = self
                .endpoints
                .iter()
                .map(|(fam, e)| {
                    let mut p = format!(
                        "{fam}: {} on {}",
                        e.total,
                        plural(e.by_node.len(), "node", "nodes")
                    );
                    if e.without_node > 0 {
                        p.push_str(&format!(", {} without node", e.without_node));
                    }
                    p
                })
                .collect();
            write!(f, " ({})", parts.join("; "))?;
        }
        write!(f, ", {}", plural(self.nodes, "node", "nodes"))?;
        if self.warnings > 0 {
            write!(f, ", {}", plural(self.warnings, "warning", "warnings"))?;
        }
        Ok(())
    }
}

/// One endpoint in an [`EndpointsReport`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EndpointEntry {
    /// `ip:port` (`[ip]:port` for IPv6).
    pub endpoint: String,
    /// The node it runs on, if known.
    pub node: Option<String>,
    /// `conditions.ready`.
    pub ready: bool,
    /// `conditions.serving`.
    pub serving: bool,
    /// `conditions.terminating`.
    pub terminating: bool,
}

impl EndpointEntry {
    fn of(e: &EndpointInfo) -> Self {
        EndpointEntry {
            endpoint: e.endpoint.to_string(),
            node: e.node_name().map(str::to_owned),
            ready: e.ready,
            serving: e.serving,
            terminating: e.terminating,
        }
    }
}

impl fmt::Display for EndpointEntry {
    /// `10.1.0.2:8080 (node-a)`, with `not ready`/`terminating` noted when so.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut notes = Vec::new();
        if let Some(n) = &self.node {
            notes.push(n.as_str());
        }
        if !self.ready {
            notes.push(if self.serving {
                "not ready, serving"
            } else {
                "not ready"
            });
        }
        if self.terminating {
            notes.push("terminating");
        }
        if notes.is_empty() {
            f.write_str(&self.endpoint)
        } else {
            write!(f, "{} ({})", self.endpoint, notes.join(", "))
        }
    }
}

/// What one node does with one service port (kube-proxy's `CategorizeEndpoints`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PortEndpoints {
    /// `ns/name` or `ns/name:port`.
    pub service_port_name: String,
    /// `TCP`, `UDP` or `SCTP`.
    pub protocol: String,
    /// The cluster IP of this family.
    pub cluster_ip: String,
    /// The service port.
    pub port: u16,
    /// The node port, 0 for none.
    pub node_port: u16,
    /// Whether cluster-policy traffic exists for this port (`KUBE-SVC`).
    pub uses_cluster_endpoints: bool,
    /// Whether local-policy traffic exists for this port (`KUBE-SVL`).
    pub uses_local_endpoints: bool,
    /// Endpoints for cluster-policy traffic.
    pub cluster: Vec<EndpointEntry>,
    /// Endpoints for local-policy traffic.
    pub local: Vec<EndpointEntry>,
    /// Every endpoint some rule may reach (both lists, in endpoint order).
    pub reachable: Vec<EndpointEntry>,
    /// Whether the port has usable endpoints at all (else kube-proxy rejects).
    pub has_endpoints: bool,
    /// The cluster list fell back to serving+terminating endpoints.
    pub cluster_fallback: bool,
    /// The local list fell back to serving+terminating endpoints.
    pub local_fallback: bool,
    /// The topology-aware routing mode applied to the cluster list.
    pub topology_mode: TopologyMode,
    /// Legacy `topologyKeys` matched nothing on this node.
    pub topology_keys_unmatched: bool,
}

/// Every service port of one IP family, as seen from one node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NodeEndpoints {
    /// The node's name; empty when the cluster names no node at all.
    pub node: String,
    /// Whether a Node object of that name was given (else: known from endpoints, or named by
    /// the caller).
    pub has_node_object: bool,
    /// The IP family.
    pub family: IpFamily,
    /// Service ports in snapshot order (namespace, name, port index).
    pub ports: Vec<PortEndpoints>,
}

impl NodeEndpoints {
    /// Categorizes every service port of `snap` for the node called `name` (its labels from
    /// its Node object, if any).
    pub fn build(cluster: &Cluster, snap: &ProxySnapshot, name: &str) -> NodeEndpoints {
        let ctx = NodeContext::from_cluster(cluster, name);
        let ports = snap
            .ports
            .iter()
            .map(|p| {
                let c = categorize(p, &ctx);
                let entries = |list: &[usize]| {
                    c.pick(p, list)
                        .into_iter()
                        .map(EndpointEntry::of)
                        .collect::<Vec<_>>()
                };
                PortEndpoints {
                    service_port_name: p.service_port_name.to_string(),
                    protocol: p.protocol.as_api().to_owned(),
                    cluster_ip: p.cluster_ip.to_string(),
                    port: p.port,
                    node_port: p.node_port,
                    uses_cluster_endpoints: p.uses_cluster_endpoints(),
                    uses_local_endpoints: p.uses_local_endpoints(),
                    cluster: entries(&c.cluster),
                    local: entries(&c.local),
                    reachable: entries(&c.all_reachable),
                    has_endpoints: c.has_endpoints,
                    cluster_fallback: c.cluster_fallback,
                    local_fallback: c.local_fallback,
                    topology_mode: c.topology_mode,
                    topology_keys_unmatched: c.topology_keys_unmatched,
                }
            })
            .collect();
        NodeEndpoints {
            node: name.to_owned(),
            has_node_object: cluster.nodes.iter().any(|n| n.meta.name == name),
            family: snap.family,
            ports,
        }
    }
}

/// The categorized endpoints of every service port, for every node of the cluster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EndpointsReport {
    /// One entry per (node, family with service ports), nodes first in Node-object order, then
    /// nodes only named by endpoints (sorted), then the caller's node.
    pub nodes: Vec<NodeEndpoints>,
}

impl EndpointsReport {
    /// The entries of one node (each of its families), for showing that node alone.
    pub fn only(&self, node: &str) -> EndpointsReport {
        EndpointsReport {
            nodes: self
                .nodes
                .iter()
                .filter(|n| n.node == node)
                .cloned()
                .collect(),
        }
    }

    /// Categorizes every service port for every node: the Node objects, the nodes endpoints
    /// name, and `extra_node` (if given and not among them). With no node at all, one nameless
    /// node is used (no endpoint is local to it).
    ///
    /// Fails like [`ProxySnapshot::build`] when a service cannot be proxied.
    pub fn build(cluster: &Cluster, extra_node: Option<&str>) -> Result<EndpointsReport> {
        let mut names: Vec<&str> = Vec::new();
        for n in &cluster.nodes {
            if !names.contains(&n.meta.name.as_str()) {
                names.push(&n.meta.name);
            }
        }
        let from_endpoints: BTreeSet<&str> = cluster
            .slices
            .iter()
            .flat_map(|s| &s.endpoints)
            .filter_map(|e| e.node_name())
            .filter(|n| !names.contains(n))
            .collect();
        names.extend(from_endpoints);
        if let Some(extra) = extra_node {
            if !names.contains(&extra) {
                names.push(extra);
            }
        }
        if names.is_empty() {
            names.push("");
        }
        let mut snapshots = Vec::new();
        for family in [IpFamily::IPv4, IpFamily::IPv6] {
            let snap = ProxySnapshot::build(cluster, family)?;
            if !snap.ports.is_empty() {
                snapshots.push(snap);
            }
        }
        let mut nodes = Vec::new();
        for name in names {
            for snap in &snapshots {
                nodes.push(NodeEndpoints::build(cluster, snap, name));
            }
        }
        Ok(EndpointsReport { nodes })
    }
}

fn list(f: &mut fmt::Formatter<'_>, label: &str, used: bool, v: &[EndpointEntry]) -> fmt::Result {
    write!(f, "    {label:<8}")?;
    if !used {
        return writeln!(f, "(not used by this port)");
    }
    if v.is_empty() {
        return writeln!(f, "-");
    }
    let items: Vec<String> = v.iter().map(ToString::to_string).collect();
    writeln!(f, "{}", items.join(", "))
}

impl fmt::Display for EndpointsReport {
    /// ```text
    /// node node-a (IPv4)
    ///   default/web:http TCP 10.96.0.10:80 nodePort 30080
    ///     cluster 10.1.0.2:8080 (node-a), 10.1.0.3:8080 (node-b)
    ///     local   (not used by this port)
    ///     has endpoints: yes
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.nodes.is_empty() {
            return writeln!(f, "no service ports with a cluster IP");
        }
        for (i, n) in self.nodes.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            let name = if n.node.is_empty() {
                "(unnamed: no node in the input)"
            } else {
                &n.node
            };
            let origin = if n.has_node_object || n.node.is_empty() {
                ""
            } else {
                " [no Node object]"
            };
            writeln!(f, "node {name} ({}){origin}", n.family.as_str())?;
            for p in &n.ports {
                let ip = if n.family == IpFamily::IPv6 {
                    format!("[{}]", p.cluster_ip)
                } else {
                    p.cluster_ip.clone()
                };
                write!(
                    f,
                    "  {} {} {ip}:{}",
                    p.service_port_name, p.protocol, p.port
                )?;
                if p.node_port != 0 {
                    write!(f, " nodePort {}", p.node_port)?;
                }
                writeln!(f)?;
                list(f, "cluster", p.uses_cluster_endpoints, &p.cluster)?;
                list(f, "local", p.uses_local_endpoints, &p.local)?;
                let mut flags = Vec::new();
                if p.cluster_fallback {
                    flags.push("cluster fallback to serving+terminating");
                }
                if p.local_fallback {
                    flags.push("local fallback to serving+terminating");
                }
                match p.topology_mode {
                    TopologyMode::None => {}
                    TopologyMode::PreferSameNode => flags.push("topology: PreferSameNode"),
                    TopologyMode::PreferSameZone => flags.push("topology: PreferSameZone"),
                }
                if p.topology_keys_unmatched {
                    flags.push("topologyKeys matched nothing");
                }
                write!(
                    f,
                    "    has endpoints: {}",
                    if p.has_endpoints { "yes" } else { "no" }
                )?;
                if !flags.is_empty() {
                    write!(f, "; {}", flags.join("; "))?;
                }
                writeln!(f)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Loader;

    fn load(yaml: &str) -> Cluster {
        let mut l = Loader::new();
        l.add_str(Some("t.yaml"), yaml).unwrap();
        l.finish().unwrap()
    }

    const MIXED: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: NodePort
  clusterIP: 10.96.0.10
  externalTrafficPolicy: Local
  ports: [{name: http, port: 80, nodePort: 30080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: shop, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints:
- {addresses: [10.1.0.2], nodeName: node-a, conditions: {ready: true}}
- {addresses: [10.1.0.3], nodeName: node-b, conditions: {ready: true}}
- {addresses: [10.1.0.3], nodeName: node-b, conditions: {ready: true}}
- {addresses: [10.1.0.4], conditions: {ready: false, serving: true, terminating: true}}
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: shop}
spec: {clusterIP: None, ports: [{port: 5432}]}
---
apiVersion: v1
kind: Service
metadata: {name: ext, namespace: shop}
spec: {type: ExternalName, externalName: example.com}
---
apiVersion: v1
kind: Node
metadata: {name: node-a}
"#;

    #[test]
    fn summary_counts_types_headless_external_name_and_endpoints_per_node() {
        let s = Summary::of(&load(MIXED));
        assert_eq!(s.services, 3);
        assert_eq!(s.services_by_type["ClusterIP"], 1);
        assert_eq!(s.services_by_type["NodePort"], 1);
        assert_eq!(s.services_by_type["ExternalName"], 1);
        assert_eq!(s.headless, 1);
        assert_eq!(s.external_name, 1);
        assert_eq!(s.service_ports, 2);
        let v4 = &s.endpoints["IPv4"];
        assert_eq!(v4.total, 3, "the duplicate address counts once");
        assert_eq!(v4.by_node["node-a"], 1);
        assert_eq!(v4.by_node["node-b"], 1);
        assert_eq!(v4.without_node, 1);
        assert!(!s.endpoints.contains_key("IPv6"));
        assert_eq!(
            s.to_string(),
            "3 services (1 ClusterIP, 1 NodePort, 1 ExternalName; 1 headless), 2 service ports, \
             3 endpoints (IPv4: 3 on 2 nodes, 1 without node), 1 node"
        );
    }

    /// An address counts once per (namespace, service), at its first slice in input order
    /// (whose node it is counted on), whatever slices of other services come between.
    #[test]
    fn summary_counts_an_address_once_per_service_at_its_first_appearance() {
        let slice = |ns: &str, svc: &str, family: &str, eps: &str| {
            format!(
                "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n\
                 metadata: {{name: s, namespace: {ns}, labels: {{kubernetes.io/service-name: {svc}}}}}\n\
                 addressType: {family}\nendpoints: {eps}\n"
            )
        };
        let text = [
            slice(
                "a",
                "web",
                "IPv4",
                "[{addresses: [10.0.0.1], nodeName: n1}]",
            ),
            slice("a", "db", "IPv4", "[{addresses: [10.0.0.1], nodeName: n2}]"),
            slice("b", "web", "IPv4", "[{addresses: [10.0.0.1]}]"),
            slice(
                "a",
                "web",
                "IPv4",
                "[{addresses: [10.0.0.1], nodeName: n3}, {addresses: [10.0.0.2], nodeName: n3}]",
            ),
            slice(
                "a",
                "web",
                "IPv6",
                "[{addresses: [\"fd00::1\"], nodeName: n3}, {addresses: [10.0.0.2], nodeName: n1}]",
            ),
            slice(
                "a",
                "web",
                "FQDN",
                "[{addresses: [x.example], nodeName: n1}]",
            ),
        ]
        .concat();
        let s = Summary::of(&load(&text));
        let v4 = &s.endpoints["IPv4"];
        assert_eq!(v4.total, 4);
        assert_eq!(
            v4.by_node,
            [
                ("n1".to_owned(), 1),
                ("n2".to_owned(), 1),
                ("n3".to_owned(), 1)
            ]
            .into()
        );
        assert_eq!(v4.without_node, 1);
        let v6 = &s.endpoints["IPv6"];
        assert_eq!((v6.total, v6.by_node["n3"]), (1, 1));
        assert_eq!(s.endpoints.len(), 2);
    }

    #[test]
    fn summary_of_empty_cluster_reads_naturally() {
        let s = Summary::of(&Cluster::default());
        assert_eq!(
            s.to_string(),
            "0 services, 0 service ports, 0 endpoints, 0 nodes"
        );
    }

    #[test]
    fn summary_serializes_with_family_keys() {
        let v = serde_json::to_value(Summary::of(&load(MIXED))).unwrap();
        assert_eq!(v["endpoints"]["IPv4"]["by_node"]["node-a"], 1);
        assert_eq!(v["services_by_type"]["NodePort"], 1);
    }

    #[test]
    fn endpoints_report_covers_node_objects_endpoint_nodes_and_caller_node() {
        let r = EndpointsReport::build(&load(MIXED), Some("node-c")).unwrap();
        let names: Vec<&str> = r.nodes.iter().map(|n| n.node.as_str()).collect();
        assert_eq!(names, ["node-a", "node-b", "node-c"]);
        assert!(r.nodes[0].has_node_object);
        assert!(!r.nodes[1].has_node_object);
        // Headless and ExternalName services are not proxied.
        assert_eq!(r.nodes[0].ports.len(), 1);
    }

    #[test]
    fn endpoints_report_lists_local_endpoints_of_each_node_for_etp_local() {
        let r = EndpointsReport::build(&load(MIXED), Some("node-c")).unwrap();
        let a = &r.nodes[0].ports[0];
        assert!(a.uses_local_endpoints && a.uses_cluster_endpoints);
        let cluster: Vec<&str> = a.cluster.iter().map(|e| e.endpoint.as_str()).collect();
        assert_eq!(cluster, ["10.1.0.2:8080", "10.1.0.3:8080"]);
        let local: Vec<&str> = a.local.iter().map(|e| e.endpoint.as_str()).collect();
        assert_eq!(local, ["10.1.0.2:8080"]);
        let c = &r.nodes[2].ports[0];
        assert!(c.local.is_empty());
        assert!(c.has_endpoints);
    }

    #[test]
    fn endpoints_report_text_shows_lists_flags_and_missing_node_object() {
        let text = EndpointsReport::build(&load(MIXED), None)
            .unwrap()
            .to_string();
        let expected = "\
node node-a (IPv4)
  shop/web:http TCP 10.96.0.10:80 nodePort 30080
    cluster 10.1.0.2:8080 (node-a), 10.1.0.3:8080 (node-b)
    local   10.1.0.2:8080 (node-a)
    has endpoints: yes

node node-b (IPv4) [no Node object]
  shop/web:http TCP 10.96.0.10:80 nodePort 30080
    cluster 10.1.0.2:8080 (node-a), 10.1.0.3:8080 (node-b)
    local   10.1.0.3:8080 (node-b)
    has endpoints: yes
";
        assert_eq!(text, expected);
    }

    #[test]
    fn endpoints_report_shows_fallback_to_terminating_endpoints() {
        let c = load(
            r#"
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: {name: s, namespace: n}
  spec: {clusterIP: 10.0.0.1, ports: [{port: 80}]}
- apiVersion: discovery.k8s.io/v1
  kind: EndpointSlice
  metadata: {name: s-1, namespace: n, labels: {kubernetes.io/service-name: s}}
  addressType: IPv4
  ports: [{name: "", port: 80}]
  endpoints:
  - {addresses: [10.1.0.9], conditions: {ready: false, serving: true, terminating: true}}
"#,
        );
        let r = EndpointsReport::build(&c, None).unwrap();
        assert_eq!(r.nodes.len(), 1);
        assert_eq!(r.nodes[0].node, "");
        let p = &r.nodes[0].ports[0];
        assert!(p.cluster_fallback && p.has_endpoints);
        let text = r.to_string();
        assert!(text.starts_with("node (unnamed: no node in the input) (IPv4)\n"));
        assert!(text.contains(
            "    cluster 10.1.0.9:80 (not ready, serving, terminating)\n    \
             local   (not used by this port)\n    \
             has endpoints: yes; cluster fallback to serving+terminating\n"
        ));
    }

    #[test]
    fn endpoints_report_without_service_ports_says_so() {
        let r = EndpointsReport::build(&Cluster::default(), Some("n")).unwrap();
        assert!(r.nodes.is_empty());
        assert_eq!(r.to_string(), "no service ports with a cluster IP\n");
    }

    #[test]
    fn endpoints_report_brackets_ipv6_cluster_ips() {
        let c = load(
            r#"
apiVersion: v1
kind: Service
metadata: {name: s, namespace: n}
spec: {clusterIP: "fd00::1", ipFamilies: [IPv6], ports: [{port: 80}]}
"#,
        );
        let text = EndpointsReport::build(&c, Some("x")).unwrap().to_string();
        assert!(text.contains("node x (IPv6) [no Node object]\n  n/s TCP [fd00::1]:80\n"));
        assert!(text.contains("has endpoints: no"));
    }

    #[test]
    fn endpoints_report_fails_like_the_snapshot_on_unproxyable_services() {
        let c = load(
            r#"
apiVersion: v1
kind: Service
metadata: {name: s, namespace: n}
spec: {clusterIP: 10.0.0.1, ports: [{port: 70000}]}
"#,
        );
        let e = EndpointsReport::build(&c, None).unwrap_err();
        assert_eq!(e.kind(), "validation");
        assert_eq!(e.issues()[0].path, "spec.ports[0].port");
    }
}
