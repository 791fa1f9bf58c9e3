//! What kube-proxy's ipvs proxier programs on one node: virtual servers with their real servers,
//! ipsets, addresses bound to `kube-ipvs0`. spec: ipvs.md §7, §8.2–§8.6.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use crate::categorize::{is_local, NodeContext};
use crate::ip::join_host_port;
use crate::model::Protocol;
use crate::proxier::config::{InsertionOrder, ProxierSettings};
use crate::proxier::plan::{PortPlan, Route};
use crate::select::ipvs::Scheduler;
use crate::snapshot::{ProxySnapshot, ServicePortView};
use crate::Result;

use super::ipset::{IpSet, KubeSet};
use super::settings::{nodeport_ips, valid_node_addresses};
use super::state::{IpvsState, VsId};

/// Service flag: persistence on. spec: ipvs.md §1.
pub const FLAG_PERSISTENT: u32 = 0x0001;
/// Service flag: one-packet scheduling.
pub const FLAG_ONEPACKET: u32 = 0x0004;
/// Service flag SCHED1 (`sh-fallback` / `mh-fallback` / `flag-1`).
pub const FLAG_SCHED1: u32 = 0x0008;
/// Service flag SCHED2 (`sh-port` / `mh-port` / `flag-2`).
pub const FLAG_SCHED2: u32 = 0x0010;
/// Service flag SCHED3 (`flag-3`).
pub const FLAG_SCHED3: u32 = 0x0020;

/// Which Service address a virtual server stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum VsKind {
    /// `clusterIP:port`.
    ClusterIp,
    /// `externalIP:port`.
    ExternalIp,
    /// `ingressIP:port`.
    LoadBalancer,
    /// `nodeIP:nodePort`.
    NodePort,
}

impl VsKind {
    /// Lower-case name (`cluster-ip`, `external-ip`, `load-balancer`, `node-port`).
    pub fn as_str(&self) -> &'static str {
        match self {
            VsKind::ClusterIp => "cluster-ip",
            VsKind::ExternalIp => "external-ip",
            VsKind::LoadBalancer => "load-balancer",
            VsKind::NodePort => "node-port",
        }
    }
}

/// Which endpoint list a virtual server got.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum EndpointSource {
    /// The cluster list (policy Cluster).
    Cluster,
    /// The node-local list (ITP Local for the cluster IP, ETP Local for external addresses).
    Local,
    /// Policy Local, but no local endpoint: ipvs mode falls back to the cluster list, where
    /// iptables and nftables modes drop. spec: ipvs.md §8.3.
    LocalFallbackToCluster,
}

/// IPVS forwarding method. kube-proxy only uses [`Forward::Masq`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Forward {
    /// NAT (`Masq`, `-m`).
    Masq,
    /// `Local` (`-g`).
    Local,
    /// IP-in-IP (`Tunnel`, `-i`).
    Tunnel,
    /// Direct routing (`Route`, `-g`).
    Route,
}

impl Forward {
    /// The listing name.
    pub fn list_name(&self) -> &'static str {
        match self {
            Forward::Masq => "Masq",
            Forward::Local => "Local",
            Forward::Tunnel => "Tunnel",
            Forward::Route => "Route",
        }
    }

    /// The save switch.
    pub fn save_switch(&self) -> &'static str {
        match self {
            Forward::Masq => "-m",
            Forward::Tunnel => "-i",
            Forward::Local | Forward::Route => "-g",
        }
    }
}

/// One real server (IPVS destination).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RealServer {
    /// Endpoint address and target port.
    pub addr: SocketAddr,
    /// Weight: 1 for a used endpoint, 0 for one kept while its connections drain (§8.4).
    pub weight: i32,
    /// Forwarding method (always Masq under kube-proxy).
    pub forward: Forward,
    /// Kept at weight 0 by graceful termination.
    pub draining: bool,
}

/// One virtual server as kube-proxy creates it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VirtualServer {
    /// Protocol, VIP, port.
    pub id: VsId,
    /// What the address is.
    pub kind: VsKind,
    /// The scheduler name.
    pub scheduler: String,
    /// Service flags ([`FLAG_PERSISTENT`], [`FLAG_SCHED2`] for mh, ...).
    pub flags: u32,
    /// Persistence timeout in seconds (0 without persistence).
    pub timeout: u32,
    /// Persistence netmask: IPv4 mask as a host-order u32, or IPv6 prefix length. kube-proxy
    /// always leaves the default (all ones / 128).
    pub netmask: u32,
    /// Persistence engine (empty under kube-proxy).
    pub pe_name: String,
    /// The service port it belongs to (`ns/name[:port]`).
    pub service_port_name: String,
    /// Index of that port in [`ProxySnapshot::ports`].
    pub port_index: usize,
    /// Which endpoint list it uses.
    pub endpoints_from: EndpointSource,
    /// Whether the address is bound to `kube-ipvs0`.
    pub bound: bool,
    /// Real servers in kernel list order (newest first; see [`InsertionOrder`]).
    pub real_servers: Vec<RealServer>,
}

impl VirtualServer {
    /// Scheduler flag text (`mh-port`, `sh-fallback,sh-port`, `flag-1`), empty when none.
    /// spec: ipvs.md §4.
    pub fn sched_flags_text(&self) -> String {
        let names: [(u32, &str); 3] = match self.scheduler.as_str() {
            "sh" => [
                (FLAG_SCHED1, "sh-fallback"),
                (FLAG_SCHED2, "sh-port"),
                (0, ""),
            ],
            "mh" => [
                (FLAG_SCHED1, "mh-fallback"),
                (FLAG_SCHED2, "mh-port"),
                (0, ""),
            ],
            _ => [
                (FLAG_SCHED1, "flag-1"),
                (FLAG_SCHED2, "flag-2"),
                (FLAG_SCHED3, "flag-3"),
            ],
        };
        names
            .iter()
            .filter(|(bit, _)| *bit != 0 && self.flags & bit != 0)
            .map(|(_, n)| *n)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Persistence timeout, if persistent.
    pub fn persistence(&self) -> Option<u32> {
        (self.flags & FLAG_PERSISTENT != 0).then_some(self.timeout)
    }

    /// Whether the local-policy fallback to cluster endpoints happened (§8.3).
    pub fn local_fallback(&self) -> bool {
        self.endpoints_from == EndpointSource::LocalFallbackToCluster
    }
}

/// Everything the ipvs proxier programs on one node for one IP family.
#[derive(Clone, Debug)]
pub struct IpvsNode {
    /// The settings it was built with.
    pub settings: ProxierSettings,
    /// Virtual servers in creation order (snapshot order; per port: cluster IP, external IPs,
    /// LB IPs, node ports per node IP). This is the input order of ipvsadm's sort.
    pub virtual_servers: Vec<VirtualServer>,
    /// The 17 ipsets in `ipsetInfo` order.
    pub ipsets: Vec<IpSet>,
    /// Addresses bound to `kube-ipvs0`, in bind order.
    pub bound_addresses: Vec<IpAddr>,
    /// LB ingress entries (`ip`, lower-case protocol, port) whose source ranges exclude the node
    /// IP: kube-proxy drops node-originated traffic to them in KUBE-IPVS-OUT-FILTER.
    pub lb_no_node_access: Vec<(IpAddr, String, u16)>,
    index: HashMap<VsId, usize>,
}

impl IpvsNode {
    /// Builds the node's IPVS programming from a snapshot.
    ///
    /// `state` decides which dropped endpoints are still listed at weight 0 (TCP real servers with
    /// connections, §8.4); pass `None` for a fresh sync.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) when the snapshot's family
    /// differs from the settings'.
    ///
    /// # Example
    /// ```
    /// use svccore::{load::Loader, snapshot::ProxySnapshot, model::IpFamily};
    /// use svccore::proxier::config::ProxierSettings;
    /// use svccore::render::ipvs::IpvsNode;
    /// let mut l = Loader::new();
    /// l.add_str(None, r#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"default"},
    ///   "spec":{"clusterIP":"10.96.0.10","ports":[{"port":80}]}}"#).unwrap();
    /// let snap = ProxySnapshot::build(&l.finish().unwrap(), IpFamily::IPv4).unwrap();
    /// let node = IpvsNode::build(&snap, &ProxierSettings::new(IpFamily::IPv4, "node-a"), None).unwrap();
    /// assert!(node.list(None).contains("TCP  10.96.0.10:80 rr\n"));
    /// ```
    pub fn build(
        snap: &ProxySnapshot,
        settings: &ProxierSettings,
        state: Option<&IpvsState>,
    ) -> Result<IpvsNode> {
        settings.check_snapshot(snap)?;
        let family = settings.ip_family;
        let node_ctx = settings.node.context();
        let mut b = Builder {
            settings,
            state,
            node: IpvsNode {
                settings: settings.clone(),
                virtual_servers: Vec::new(),
                ipsets: KubeSet::ALL
                    .iter()
                    .map(|s| IpSet::new(*s, family))
                    .collect(),
                bound_addresses: Vec::new(),
                lb_no_node_access: Vec::new(),
                index: HashMap::new(),
            },
            node_addrs: valid_node_addresses(settings),
            node_ctx: &node_ctx,
        };
        let node_ips = if snap.ports.iter().any(|p| p.node_port != 0) {
            nodeport_ips(settings)
        } else {
            Vec::new()
        };
        for (pi, port) in snap.ports.iter().enumerate() {
            b.port(pi, port, &node_ips);
        }
        let bound: Vec<String> = b
            .node
            .bound_addresses
            .iter()
            .map(ToString::to_string)
            .collect();
        b.node.ipsets[KubeSet::IpvsIps as usize].entries = bound.into_iter().collect();
        Ok(b.node)
    }

    /// One ipset.
    pub fn ipset(&self, set: KubeSet) -> &IpSet {
        &self.ipsets[set as usize]
    }

    /// The virtual server for a destination `proto ip:port`, if kube-proxy created one.
    pub fn lookup(&self, protocol: &Protocol, ip: IpAddr, port: u16) -> Option<&VirtualServer> {
        self.index
            .get(&VsId::new(protocol.clone(), ip, port))
            .map(|&i| &self.virtual_servers[i])
    }
}

struct Builder<'a> {
    settings: &'a ProxierSettings,
    state: Option<&'a IpvsState>,
    node: IpvsNode,
    node_addrs: Vec<IpAddr>,
    node_ctx: &'a NodeContext,
}

impl Builder<'_> {
    fn add(&mut self, set: KubeSet, entry: String) {
        self.node.ipsets[set as usize].entries.insert(entry);
    }

    fn port(&mut self, pi: usize, port: &ServicePortView, node_ips: &[IpAddr]) {
        let proto = port.protocol.lower().to_owned();
        let plan = PortPlan::new(port, self.node_ctx, self.settings.node.node_ip());
        // spec: ipvs.md §8.6: every local endpoint, ready or not (kube-proxy walks its whole
        // endpoints map here).
        for e in port.endpoints.iter().filter(|e| is_local(e, self.node_ctx)) {
            self.add(
                KubeSet::LoopBack,
                format!("{},{proto}:{},{}", e.ip, e.port, e.ip),
            );
        }
        let cat = &plan.endpoints;
        let pick = |route: Route, local_policy: bool| -> (Vec<usize>, EndpointSource) {
            match route {
                Route::Local => (cat.local.clone(), EndpointSource::Local),
                // spec: ipvs.md §8.3 (PR #97081): where iptables drops, fall back to the
                // cluster list.
                Route::NoLocalEndpoints => {
                    (cat.cluster.clone(), EndpointSource::LocalFallbackToCluster)
                }
                Route::NoEndpoints if local_policy => {
                    (cat.cluster.clone(), EndpointSource::LocalFallbackToCluster)
                }
                Route::Cluster | Route::NoEndpoints => {
                    (cat.cluster.clone(), EndpointSource::Cluster)
                }
            }
        };

        self.add(
            KubeSet::ClusterIp,
            format!("{},{proto}:{}", port.cluster_ip, port.port),
        );
        let internal = pick(plan.internal, port.internal_policy_local);
        self.vs(
            pi,
            port,
            VsKind::ClusterIp,
            port.cluster_ip,
            port.port,
            true,
            &internal,
        );

        let external = pick(plan.external, port.external_policy_local);
        for ip in &port.external_ips {
            let set = if port.external_policy_local {
                KubeSet::ExternalIpLocal
            } else {
                KubeSet::ExternalIp
            };
            self.add(set, format!("{ip},{proto}:{}", port.port));
            let bind = !self.node_addrs.contains(ip);
            self.vs(
                pi,
                port,
                VsKind::ExternalIp,
                *ip,
                port.port,
                bind,
                &external,
            );
        }

        for ip in &port.lb_ips {
            let entry = format!("{ip},{proto}:{}", port.port);
            self.add(KubeSet::LoadBalancer, entry.clone());
            if port.external_policy_local {
                self.add(KubeSet::LoadBalancerLocal, entry.clone());
            }
            if !port.source_ranges.is_empty() {
                self.add(KubeSet::LoadBalancerFw, entry);
                for net in &port.source_ranges {
                    self.add(
                        KubeSet::LoadBalancerSourceCidr,
                        format!("{ip},{proto}:{},{net}", port.port),
                    );
                }
                if plan.source_ranges_contain_node_ip {
                    self.add(
                        KubeSet::LoadBalancerSourceIp,
                        format!("{ip},{proto}:{},{ip}", port.port),
                    );
                } else {
                    self.node
                        .lb_no_node_access
                        .push((*ip, proto.clone(), port.port));
                }
            }
            let bind = !self.node_addrs.contains(ip);
            self.vs(
                pi,
                port,
                VsKind::LoadBalancer,
                *ip,
                port.port,
                bind,
                &external,
            );
        }

        if port.node_port != 0 {
            // kube-proxy `continue`s the service loop when it has no node IP, which also skips
            // the health-check node port below.
            if node_ips.is_empty() {
                return;
            }
            let np = port.node_port;
            let (set, local_set) = match port.protocol {
                Protocol::Udp => (KubeSet::NodePortUdp, KubeSet::NodePortLocalUdp),
                Protocol::Sctp => (KubeSet::NodePortSctp, KubeSet::NodePortLocalSctp),
                _ => (KubeSet::NodePortTcp, KubeSet::NodePortLocalTcp),
            };
            let entries: Vec<String> = if port.protocol == Protocol::Sctp {
                node_ips
                    .iter()
                    .map(|ip| format!("{ip},sctp:{np}"))
                    .collect()
            } else {
                vec![np.to_string()]
            };
            for e in &entries {
                self.add(set, e.clone());
                if port.external_policy_local {
                    self.add(local_set, e.clone());
                }
            }
            for ip in node_ips {
                self.vs(pi, port, VsKind::NodePort, *ip, np, false, &external);
            }
        }

        if port.health_check_node_port != 0 {
            self.add(
                KubeSet::HealthCheckNodePort,
                port.health_check_node_port.to_string(),
            );
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn vs(
        &mut self,
        pi: usize,
        port: &ServicePortView,
        kind: VsKind,
        addr: IpAddr,
        vport: u16,
        bind: bool,
        (list, source): &(Vec<usize>, EndpointSource),
    ) {
        let id = VsId::new(port.protocol.clone(), addr, vport);
        let mut flags = 0;
        let mut timeout = 0;
        if let Some(t) = port.affinity_seconds {
            flags |= FLAG_PERSISTENT;
            timeout = t;
        }
        // spec: ipvs.md §8.1: mh gets mh-port (SCHED2); mh-fallback is never set.
        if self.settings.ipvs.scheduler == Scheduler::Mh {
            flags |= FLAG_SCHED2;
        }
        let eps = &port.endpoints;
        let mut chosen = vec![false; eps.len()];
        for &i in list {
            chosen[i] = true;
        }
        // Candidates for graceful termination: endpoints of the same locality pool that are not
        // used now. spec: ipvs.md §8.4: UDP (and, in current kube-proxy, SCTP) real servers are
        // deleted at once; TCP ones with connections stay at weight 0.
        let local_pool = *source == EndpointSource::Local;
        let node_name = self.settings.node.name.as_str();
        let mut order: Vec<(usize, bool)> = Vec::new();
        for (i, e) in eps.iter().enumerate() {
            if chosen[i] {
                order.push((i, false));
                continue;
            }
            if port.protocol != Protocol::Tcp {
                continue;
            }
            if local_pool && (node_name.is_empty() || e.node_name() != Some(node_name)) {
                continue;
            }
            let rs = SocketAddr::new(e.ip, e.port);
            let has_conns = self.state.is_some_and(|s| {
                let c = s.rs(&id, &rs);
                c.active_conns + c.inact_conns > 0
            });
            if has_conns || (self.settings.ipvs.assume_draining && e.terminating) {
                order.push((i, true));
            }
        }
        // `order` is ascending endpoint-string order (the snapshot's order); the kernel list is
        // the reverse of the insertion order.
        if self.settings.ipvs.insertion_order == InsertionOrder::EndpointAscending {
            order.reverse();
        }
        let real_servers = order
            .into_iter()
            .map(|(i, draining)| RealServer {
                addr: SocketAddr::new(eps[i].ip, eps[i].port),
                weight: if draining { 0 } else { 1 },
                forward: Forward::Masq,
                draining,
            })
            .collect();
        let vs = VirtualServer {
            id: id.clone(),
            kind,
            scheduler: self.settings.ipvs.scheduler.name().to_owned(),
            flags,
            timeout,
            netmask: match port.cluster_ip {
                IpAddr::V4(_) => u32::MAX,
                IpAddr::V6(_) => 128,
            },
            pe_name: String::new(),
            service_port_name: port.service_port_name.to_string(),
            port_index: pi,
            endpoints_from: *source,
            bound: bind,
            real_servers,
        };
        if bind && !self.node.bound_addresses.contains(&addr) {
            self.node.bound_addresses.push(addr);
        }
        // Two service ports claiming one VS: kube-proxy updates the same kernel VS, the later
        // sync of real servers wins. Keep the first creation position.
        match self.node.index.get(&id) {
            Some(&i) => self.node.virtual_servers[i] = vs,
            None => {
                self.node.index.insert(id, self.node.virtual_servers.len());
                self.node.virtual_servers.push(vs);
            }
        }
    }
}

/// `JoinHostPort`-style text of an address and port (`[v6]:port`).
pub(crate) fn addrport(ip: &IpAddr, port: u16) -> String {
    join_host_port(ip, port)
}
