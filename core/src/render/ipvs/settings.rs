//! The proxier-level inputs of ipvs mode: what kube-proxy knows about its node and its flags.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::categorize::NodeContext;
use crate::ip::{parse_cidr_sloppy, parse_ip_sloppy};
use crate::model::{DetectLocalMode, IpFamily, ProxyConfig};
use crate::{Cluster, Error, Issue, Result};

/// kube-proxy's local-traffic detector (`--detect-local-mode`), as the token it puts in
/// `! <match>` rules. spec: kube-proxy-iptables.md §3.3 (6).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum LocalDetector {
    /// No detector (no cluster CIDR configured): the KUBE-CLUSTER-IP rule matches `src,dst`.
    #[default]
    None,
    /// `ClusterCIDR`: the CIDR string as configured.
    ClusterCidr(String),
    /// `NodeCIDR`: the node's pod CIDR as written on the Node.
    NodeCidr(String),
    /// `BridgeInterface`: an interface name.
    BridgeInterface(String),
    /// `InterfaceNamePrefix`: an interface name prefix.
    InterfaceNamePrefix(String),
}

impl LocalDetector {
    /// The "not local" match tokens (`! -s 10.244.0.0/16`), or `None` without a detector.
    pub fn if_not_local(&self) -> Option<String> {
        match self {
            LocalDetector::None => None,
            LocalDetector::ClusterCidr(c) | LocalDetector::NodeCidr(c) => Some(format!("! -s {c}")),
            LocalDetector::BridgeInterface(i) => Some(format!("! -i {i}")),
            LocalDetector::InterfaceNamePrefix(p) => Some(format!("! -i {p}+")),
        }
    }
}

/// Real-server insertion order: kube-proxy adds real servers in Go-set order (random upstream);
/// the kernel lists them newest first. spec: ipvs.md §8.5.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum InsertionOrder {
    /// Ascending endpoint string order (`ip:port` bytes); the kernel list is then descending.
    #[default]
    EndpointAscending,
    /// Descending endpoint string order; the kernel list is then ascending.
    EndpointDescending,
}

/// Settings of one ipvs-mode kube-proxy (one IP family) on one node.
///
/// Build it with [`IpvsSettings::new`] or [`IpvsSettings::from_cluster`], then override fields.
#[derive(Clone, Debug)]
pub struct IpvsSettings {
    /// The family this proxier handles.
    pub family: IpFamily,
    /// The node (name decides which endpoints are local; labels feed topology hints).
    pub node: NodeContext,
    /// The proxier's `nodeIP` (first node IP of the family): an LB source range containing it
    /// allows node-originated LB traffic (KUBE-LOAD-BALANCER-SOURCE-IP).
    pub node_ip: Option<IpAddr>,
    /// Addresses on the node's interfaces other than `kube-ipvs0`, in interface order. NodePort
    /// virtual servers are created on those of `family` (loopback and IPv6 link-local excluded),
    /// filtered by `nodeport_addresses`; an externalIP or LB IP among them is not bound to
    /// `kube-ipvs0`.
    pub node_addresses: Vec<IpAddr>,
    /// `--nodeport-addresses` as configured: CIDRs, or `primary` (the node IPs). Empty, no CIDR of
    /// the family, or a zero CIDR means every node address.
    pub nodeport_addresses: Vec<String>,
    /// `--ipvs-scheduler` (`rr` when empty).
    pub scheduler: String,
    /// `--masquerade-all`.
    pub masquerade_all: bool,
    /// `--iptables-masquerade-bit` (0..=31, default 14).
    pub masquerade_bit: u32,
    /// Mark text override; `None` = kube-proxy's `%#08x` form (`0x00004000`).
    pub mark: Option<String>,
    /// The local-traffic detector.
    pub local_detector: LocalDetector,
    /// Whether iptables supports `--random-fully` (true on any current node).
    pub random_fully: bool,
    /// IPVS connection table size printed in the listing header (`1 << conn_tab_bits`).
    pub conn_tab_size: u32,
    /// Real-server insertion order (§8.5).
    pub insertion_order: InsertionOrder,
    /// Treat every terminating endpoint that kube-proxy drops from a TCP virtual server as still
    /// having connections, so it stays listed at weight 0 (§8.4), even without [`IpvsState`]
    /// counters. Off by default: without connections kube-proxy deletes the real server at once.
    ///
    /// [`IpvsState`]: super::IpvsState
    pub assume_draining: bool,
    /// Interface index of `kube-ipvs0` (for `ip addr show`; not derivable).
    pub dummy_ifindex: u32,
    /// MAC address of `kube-ipvs0` (random on a real node).
    pub dummy_mac: String,
}

/// The scheduler kube-proxy uses when none is configured.
pub const DEFAULT_SCHEDULER: &str = "rr";

impl IpvsSettings {
    /// Stock kube-proxy defaults for `family` on a node known by name only.
    pub fn new(family: IpFamily, node_name: &str) -> Self {
        IpvsSettings {
            family,
            node: NodeContext::named(node_name),
            node_ip: None,
            node_addresses: Vec::new(),
            nodeport_addresses: Vec::new(),
            scheduler: DEFAULT_SCHEDULER.to_owned(),
            masquerade_all: false,
            masquerade_bit: 14,
            mark: None,
            local_detector: LocalDetector::None,
            random_fully: true,
            conn_tab_size: 4096,
            insertion_order: InsertionOrder::EndpointAscending,
            assume_draining: false,
            dummy_ifindex: 5,
            dummy_mac: "6e:8c:1f:00:00:01".to_owned(),
        }
    }

    /// Settings from the cluster's `KubeProxyConfiguration` (if any) and the Node object named
    /// `node_name` (or `hostnameOverride` when `node_name` is empty): labels, node IPs (InternalIP
    /// then ExternalIP, as the node addresses), pod CIDR for `NodeCIDR` detection.
    ///
    /// # Errors
    /// [`Error::Config`] for a masquerade bit outside 0..=31, an unknown `detectLocalMode`, or a
    /// detector that needs a CIDR or interface the configuration does not give.
    pub fn from_cluster(cluster: &Cluster, node_name: &str, family: IpFamily) -> Result<Self> {
        Self::from_config(cluster, cluster.proxy_config.as_ref(), node_name, family)
    }

    /// [`IpvsSettings::from_cluster`] with the `KubeProxyConfiguration` given separately (a
    /// `--config` file instead of the one among the cluster's objects; `None`: none at all).
    pub fn from_config(
        cluster: &Cluster,
        config: Option<&ProxyConfig>,
        node_name: &str,
        family: IpFamily,
    ) -> Result<Self> {
        let cfg = config.cloned().unwrap_or_default();
        let name = if node_name.is_empty() {
            cfg.hostname_override.clone().unwrap_or_default()
        } else {
            node_name.to_owned()
        };
        let mut s = IpvsSettings::new(family, &name);
        s.node = NodeContext::from_cluster(cluster, &name);
        let node = cluster.nodes.iter().find(|n| n.meta.name == name);
        if let Some(n) = node {
            s.node_addresses = n.ips().filter_map(parse_ip_sloppy).collect();
            s.node_addresses.dedup();
        }
        s.node_ip = s
            .node_addresses
            .iter()
            .copied()
            .find(|ip| IpFamily::of(ip) == family);
        let cfg_issue = |field: &str, msg: String| Error::Config(cfg.loc.issue(field, msg));
        if let Some(sch) = cfg.ipvs_scheduler.as_deref().filter(|x| !x.is_empty()) {
            s.scheduler = sch.to_owned();
        }
        s.masquerade_all = cfg.masquerade_all.unwrap_or(false);
        if let Some(bit) = cfg.masquerade_bit {
            if !(0..=31).contains(&bit) {
                return Err(cfg_issue(
                    "iptables.masqueradeBit",
                    format!("must be between 0 and 31, got {bit}"),
                ));
            }
            s.masquerade_bit = bit as u32;
        }
        s.nodeport_addresses = cfg.nodeport_addresses.clone();
        let family_cidr = |list: &mut dyn Iterator<Item = &str>| {
            list.map(str::trim)
                .find(|c| parse_cidr_sloppy(c).is_some_and(|n| same_family(&n, family)))
                .map(str::to_owned)
        };
        let cluster_cidr = cfg.cluster_cidr.as_deref().unwrap_or("");
        s.local_detector = match &cfg.detect_local_mode {
            None | Some(DetectLocalMode::ClusterCidr) => {
                match family_cidr(&mut cluster_cidr.split(',')) {
                    Some(c) => LocalDetector::ClusterCidr(c),
                    None => LocalDetector::None,
                }
            }
            Some(DetectLocalMode::NodeCidr) => {
                let cidrs = node.map(|n| n.pod_cidrs.clone()).unwrap_or_default();
                match family_cidr(&mut cidrs.iter().map(String::as_str)) {
                    Some(c) => LocalDetector::NodeCidr(c),
                    None => {
                        return Err(cfg_issue(
                            "detectLocalMode",
                            format!(
                                "NodeCIDR needs a {} podCIDR on node {name:?}",
                                family.as_str()
                            ),
                        ))
                    }
                }
            }
            Some(DetectLocalMode::BridgeInterface) => match cfg.bridge_interface.as_deref() {
                Some(b) if !b.is_empty() => LocalDetector::BridgeInterface(b.to_owned()),
                _ => {
                    return Err(cfg_issue(
                        "detectLocal.bridgeInterface",
                        "BridgeInterface needs detectLocal.bridgeInterface".to_owned(),
                    ))
                }
            },
            Some(DetectLocalMode::InterfaceNamePrefix) => {
                match cfg.interface_name_prefix.as_deref() {
                    Some(p) if !p.is_empty() => LocalDetector::InterfaceNamePrefix(p.to_owned()),
                    _ => {
                        return Err(cfg_issue(
                            "detectLocal.interfaceNamePrefix",
                            "InterfaceNamePrefix needs detectLocal.interfaceNamePrefix".to_owned(),
                        ))
                    }
                }
            }
            Some(DetectLocalMode::Other(m)) => {
                return Err(cfg_issue("detectLocalMode", format!("unknown mode {m:?}")))
            }
        };
        Ok(s)
    }

    /// The masquerade mark text: the override, else Go's `%#08x` of `1 << bit` (`0x00004000`).
    /// spec: ipvs.md §8.7, kube-proxy-iptables.md §2.2.
    pub fn mark(&self) -> String {
        match &self.mark {
            Some(m) => m.clone(),
            None => format!("0x{:08x}", 1u64 << self.masquerade_bit.min(31)),
        }
    }

    /// Node addresses kube-proxy may use for sets and binding decisions: this family, not
    /// loopback, not IPv6 link-local (`isValidForSet`). spec: ipvs.md §8.2.
    pub fn valid_node_addresses(&self) -> Vec<IpAddr> {
        let mut out: Vec<IpAddr> = Vec::new();
        for ip in &self.node_addresses {
            if IpFamily::of(ip) != self.family || ip.is_loopback() || is_v6_link_local(ip) {
                continue;
            }
            if !out.contains(ip) {
                out.push(*ip);
            }
        }
        out
    }

    /// The node IPs NodePort virtual servers are created on (`--nodeport-addresses` applied).
    ///
    /// # Errors
    /// [`Error::Config`] for an entry that is neither a CIDR nor `primary`.
    pub fn nodeport_ips(&self) -> Result<Vec<IpAddr>> {
        let mut cidrs: Vec<IpNet> = Vec::new();
        for (i, c) in self.nodeport_addresses.iter().enumerate() {
            if c == "primary" {
                // kube-proxy turns `primary` into the node IPs' host CIDRs at startup.
                if let Some(ip) = self.node_ip {
                    cidrs.push(IpNet::from(ip));
                }
                continue;
            }
            match parse_cidr_sloppy(c) {
                Some(n) if same_family(&n, self.family) => cidrs.push(n),
                Some(_) => {}
                None => {
                    return Err(Error::Config(Issue::new(
                        None,
                        format!("nodePortAddresses[{i}]"),
                        format!("{c:?} is not a CIDR"),
                    )))
                }
            }
        }
        let match_all = cidrs.is_empty() || cidrs.iter().any(|n| n.prefix_len() == 0);
        if match_all {
            return Ok(self.valid_node_addresses());
        }
        let mut out: Vec<IpAddr> = Vec::new();
        for ip in &self.node_addresses {
            if IpFamily::of(ip) == self.family
                && !ip.is_loopback()
                && cidrs.iter().any(|n| n.contains(ip))
                && !out.contains(ip)
            {
                out.push(*ip);
            }
        }
        Ok(out)
    }
}

/// The command-line flags of the ipvs proxier that `svccore render ipvs` and the bindings take;
/// each `Some` overrides the configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IpvsFlags {
    /// `--ipvs-scheduler` (`rr wrr lc wlc sed nq sh dh mh`).
    pub scheduler: Option<String>,
    /// `--nodeport-addresses` (CIDRs or `primary`).
    pub nodeport_addresses: Option<Vec<String>>,
    /// `--masquerade-all`.
    pub masquerade_all: Option<bool>,
    /// `--iptables-masquerade-bit` (0..=31).
    pub masquerade_bit: Option<i64>,
    /// `--cluster-cidr` (a ClusterCIDR detector; the CIDR of the proxier's family is used).
    pub cluster_cidr: Option<String>,
}

/// The IPVS schedulers the kernel has (and kube-proxy accepts).
pub const SCHEDULERS: &[&str] = &["rr", "wrr", "lc", "wlc", "sed", "nq", "sh", "dh", "mh"];

impl IpvsFlags {
    /// Applies the flags given to `s`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an unknown scheduler; [`Error::Config`] for a bad bit, CIDR
    /// or node port address (checked as the configuration's fields are).
    pub fn apply(&self, s: &mut IpvsSettings) -> Result<()> {
        if let Some(sch) = &self.scheduler {
            if !SCHEDULERS.contains(&sch.as_str()) {
                return Err(Error::InvalidArgument(format!(
                    "unknown IPVS scheduler {sch:?}: expected one of {}",
                    SCHEDULERS.join(", ")
                )));
            }
            s.scheduler = sch.clone();
        }
        if let Some(m) = self.masquerade_all {
            s.masquerade_all = m;
        }
        if let Some(bit) = self.masquerade_bit {
            if !(0..=31).contains(&bit) {
                return Err(Error::Config(Issue::new(
                    None,
                    "masqueradeBit",
                    format!("must be between 0 and 31, got {bit}"),
                )));
            }
            s.masquerade_bit = bit as u32;
        }
        if let Some(c) = &self.cluster_cidr {
            let mut any = false;
            let mut pick = None;
            for x in c.split(',').map(str::trim) {
                let Some(n) = parse_cidr_sloppy(x) else {
                    return Err(Error::Config(Issue::new(
                        None,
                        "clusterCIDR",
                        format!("{x:?} is not a CIDR"),
                    )));
                };
                any = true;
                if pick.is_none() && same_family(&n, s.family) {
                    pick = Some(x.to_owned());
                }
            }
            s.local_detector = match pick {
                Some(p) if any => LocalDetector::ClusterCidr(p),
                _ => LocalDetector::None,
            };
        }
        if let Some(v) = &self.nodeport_addresses {
            s.nodeport_addresses = v.clone();
            s.nodeport_ips()?;
        }
        Ok(())
    }
}

fn same_family(n: &IpNet, family: IpFamily) -> bool {
    IpFamily::of(&n.addr()) == family
}

fn is_v6_link_local(ip: &IpAddr) -> bool {
    matches!(ip, IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mark_uses_go_hash_08x_form() {
        let s = IpvsSettings::new(IpFamily::IPv4, "n");
        assert_eq!(s.mark(), "0x00004000");
    }

    #[test]
    fn nodeport_ips_filter_by_cidr_and_drop_loopback() {
        let mut s = IpvsSettings::new(IpFamily::IPv4, "n");
        s.node_addresses = ["127.0.0.1", "192.168.1.5", "10.0.0.5", "fd00::1"]
            .iter()
            .map(|x| x.parse().unwrap())
            .collect();
        assert_eq!(s.nodeport_ips().unwrap().len(), 2);
        s.nodeport_addresses = vec!["192.168.0.0/16".into(), "127.0.0.0/8".into()];
        assert_eq!(
            s.nodeport_ips().unwrap(),
            vec!["192.168.1.5".parse::<IpAddr>().unwrap()]
        );
        s.nodeport_addresses = vec!["0.0.0.0/0".into()];
        assert_eq!(s.nodeport_ips().unwrap().len(), 2);
    }

    #[test]
    fn flags_override_and_are_checked() {
        let mut s = IpvsSettings::new(IpFamily::IPv4, "n");
        let f = IpvsFlags {
            scheduler: Some("mh".into()),
            masquerade_bit: Some(15),
            cluster_cidr: Some("fd00::/48, 10.244.0.0/16".into()),
            ..Default::default()
        };
        f.apply(&mut s).unwrap();
        assert_eq!(s.scheduler, "mh");
        assert_eq!(s.mark(), "0x00008000");
        assert_eq!(
            s.local_detector,
            LocalDetector::ClusterCidr("10.244.0.0/16".into())
        );
        let e = IpvsFlags {
            scheduler: Some("fifo".into()),
            ..Default::default()
        }
        .apply(&mut s)
        .unwrap_err();
        assert_eq!(e.kind(), "invalid-argument");
        let e = IpvsFlags {
            nodeport_addresses: Some(vec!["x".into()]),
            ..Default::default()
        }
        .apply(&mut s)
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid configuration: nodePortAddresses[0]: \"x\" is not a CIDR"
        );
    }
}
