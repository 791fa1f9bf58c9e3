//! The ipsets of ipvs mode and their `ipset save` text. spec: ipvs.md §8.6.
//!
//! Sets are listed in kube-proxy's `ipsetInfo` order (kube-proxy creates them from a Go map, so
//! the kernel order varies); entries of hash sets in byte-wise string order (Go's sorted set),
//! entries of bitmap sets in port order (the kernel's own order). Real `ipset save` adds
//! `bucketsize` and a random `initval` to hash sets and lists hash entries in hash order; both
//! are left out. The text loads with `ipset restore`.

use std::collections::BTreeSet;
use std::fmt::Write;

use crate::model::IpFamily;

/// An ipset type kube-proxy uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SetType {
    /// `hash:ip`.
    HashIp,
    /// `hash:ip,port`.
    HashIpPort,
    /// `hash:ip,port,ip`.
    HashIpPortIp,
    /// `hash:ip,port,net`.
    HashIpPortNet,
    /// `bitmap:port` (range 0-65535).
    BitmapPort,
}

impl SetType {
    /// The ipset spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            SetType::HashIp => "hash:ip",
            SetType::HashIpPort => "hash:ip,port",
            SetType::HashIpPortIp => "hash:ip,port,ip",
            SetType::HashIpPortNet => "hash:ip,port,net",
            SetType::BitmapPort => "bitmap:port",
        }
    }
}

/// The ipsets of ipvs mode, in kube-proxy's `ipsetInfo` order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // each variant is the set of the same name (see `base_name`)
pub enum KubeSet {
    LoopBack,
    ClusterIp,
    ExternalIp,
    ExternalIpLocal,
    LoadBalancer,
    LoadBalancerFw,
    LoadBalancerLocal,
    LoadBalancerSourceIp,
    LoadBalancerSourceCidr,
    NodePortTcp,
    NodePortLocalTcp,
    NodePortUdp,
    NodePortLocalUdp,
    NodePortSctp,
    NodePortLocalSctp,
    HealthCheckNodePort,
    IpvsIps,
}

impl KubeSet {
    /// All sets, in kube-proxy's `ipsetInfo` order.
    pub const ALL: [KubeSet; 17] = [
        KubeSet::LoopBack,
        KubeSet::ClusterIp,
        KubeSet::ExternalIp,
        KubeSet::ExternalIpLocal,
        KubeSet::LoadBalancer,
        KubeSet::LoadBalancerFw,
        KubeSet::LoadBalancerLocal,
        KubeSet::LoadBalancerSourceIp,
        KubeSet::LoadBalancerSourceCidr,
        KubeSet::NodePortTcp,
        KubeSet::NodePortLocalTcp,
        KubeSet::NodePortUdp,
        KubeSet::NodePortLocalUdp,
        KubeSet::NodePortSctp,
        KubeSet::NodePortLocalSctp,
        KubeSet::HealthCheckNodePort,
        KubeSet::IpvsIps,
    ];

    /// The IPv4 name.
    pub fn base_name(&self) -> &'static str {
        match self {
            KubeSet::LoopBack => "KUBE-LOOP-BACK",
            KubeSet::ClusterIp => "KUBE-CLUSTER-IP",
            KubeSet::ExternalIp => "KUBE-EXTERNAL-IP",
            KubeSet::ExternalIpLocal => "KUBE-EXTERNAL-IP-LOCAL",
            KubeSet::LoadBalancer => "KUBE-LOAD-BALANCER",
            KubeSet::LoadBalancerFw => "KUBE-LOAD-BALANCER-FW",
            KubeSet::LoadBalancerLocal => "KUBE-LOAD-BALANCER-LOCAL",
            KubeSet::LoadBalancerSourceIp => "KUBE-LOAD-BALANCER-SOURCE-IP",
            KubeSet::LoadBalancerSourceCidr => "KUBE-LOAD-BALANCER-SOURCE-CIDR",
            KubeSet::NodePortTcp => "KUBE-NODE-PORT-TCP",
            KubeSet::NodePortLocalTcp => "KUBE-NODE-PORT-LOCAL-TCP",
            KubeSet::NodePortUdp => "KUBE-NODE-PORT-UDP",
            KubeSet::NodePortLocalUdp => "KUBE-NODE-PORT-LOCAL-UDP",
            KubeSet::NodePortSctp => "KUBE-NODE-PORT-SCTP-HASH",
            KubeSet::NodePortLocalSctp => "KUBE-NODE-PORT-LOCAL-SCTP-HASH",
            KubeSet::HealthCheckNodePort => "KUBE-HEALTH-CHECK-NODE-PORT",
            KubeSet::IpvsIps => "KUBE-IPVS-IPS",
        }
    }

    /// The name for a family: IPv6 uses `KUBE-6-`, cut to 31 characters (ipset's limit).
    pub fn name(&self, family: IpFamily) -> String {
        let base = self.base_name();
        match family {
            IpFamily::IPv4 => base.to_owned(),
            IpFamily::IPv6 => {
                let mut n = base.replacen("KUBE-", "KUBE-6-", 1);
                n.truncate(31);
                n
            }
        }
    }

    /// The set type.
    pub fn set_type(&self) -> SetType {
        match self {
            KubeSet::LoopBack | KubeSet::LoadBalancerSourceIp => SetType::HashIpPortIp,
            KubeSet::LoadBalancerSourceCidr => SetType::HashIpPortNet,
            KubeSet::NodePortTcp
            | KubeSet::NodePortLocalTcp
            | KubeSet::NodePortUdp
            | KubeSet::NodePortLocalUdp
            | KubeSet::HealthCheckNodePort => SetType::BitmapPort,
            KubeSet::IpvsIps => SetType::HashIp,
            _ => SetType::HashIpPort,
        }
    }

    /// kube-proxy's comment for the set (used in the iptables rules that match it).
    pub fn comment(&self) -> &'static str {
        match self {
            KubeSet::LoopBack => {
                "Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose"
            }
            KubeSet::ClusterIp => "Kubernetes service cluster ip + port for masquerade purpose",
            KubeSet::ExternalIp => {
                "Kubernetes service external ip + port for masquerade and filter purpose"
            }
            KubeSet::ExternalIpLocal => {
                "Kubernetes service external ip + port with externalTrafficPolicy=local"
            }
            KubeSet::LoadBalancer => "Kubernetes service lb portal",
            KubeSet::LoadBalancerFw => {
                "Kubernetes service load balancer ip + port for load balancer with sourceRange"
            }
            KubeSet::LoadBalancerLocal => {
                "Kubernetes service load balancer ip + port with externalTrafficPolicy=local"
            }
            KubeSet::LoadBalancerSourceIp => {
                "Kubernetes service load balancer ip + port + source IP for packet filter purpose"
            }
            KubeSet::LoadBalancerSourceCidr => {
                "Kubernetes service load balancer ip + port + source cidr for packet filter purpose"
            }
            KubeSet::NodePortTcp => "Kubernetes nodeport TCP port for masquerade purpose",
            KubeSet::NodePortLocalTcp => {
                "Kubernetes nodeport TCP port with externalTrafficPolicy=local"
            }
            KubeSet::NodePortUdp => "Kubernetes nodeport UDP port for masquerade purpose",
            KubeSet::NodePortLocalUdp => {
                "Kubernetes nodeport UDP port with externalTrafficPolicy=local"
            }
            KubeSet::NodePortSctp => {
                "Kubernetes nodeport SCTP port for masquerade purpose with type 'hash ip:port'"
            }
            KubeSet::NodePortLocalSctp => {
                "Kubernetes nodeport SCTP port with externalTrafficPolicy=local with type 'hash ip:port'"
            }
            KubeSet::HealthCheckNodePort => "Kubernetes health check node port",
            KubeSet::IpvsIps => "Addresses on the ipvs interface",
        }
    }
}

/// One ipset with its entries (entry text as kube-proxy's `Entry.String()` writes it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpSet {
    /// Which set.
    pub set: KubeSet,
    /// Its name for the family.
    pub name: String,
    /// The family of hash sets.
    pub family: IpFamily,
    /// Entries, de-duplicated, in byte order.
    pub entries: BTreeSet<String>,
}

impl IpSet {
    pub(crate) fn new(set: KubeSet, family: IpFamily) -> Self {
        IpSet {
            set,
            name: set.name(family),
            family,
            entries: BTreeSet::new(),
        }
    }

    /// Entries in listing order: byte order for hash sets, numeric for bitmap sets.
    pub fn sorted_entries(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.entries.iter().map(String::as_str).collect();
        if self.set.set_type() == SetType::BitmapPort {
            v.sort_by_key(|e| e.parse::<u32>().unwrap_or(u32::MAX));
        }
        v
    }

    /// The `create` line (without `-exist`), as `ipset save` starts it.
    pub fn create_line(&self) -> String {
        let t = self.set.set_type();
        match t {
            SetType::BitmapPort => format!("create {} {} range 0-65535", self.name, t.as_str()),
            _ => format!(
                "create {} {} family {} hashsize 1024 maxelem 65536",
                self.name,
                t.as_str(),
                match self.family {
                    IpFamily::IPv4 => "inet",
                    IpFamily::IPv6 => "inet6",
                }
            ),
        }
    }
}

/// `ipset save`-style text for the sets: each `create` line followed by its `add` lines.
pub fn render_ipset_save(sets: &[IpSet]) -> String {
    let mut out = String::new();
    for s in sets {
        out.push_str(&s.create_line());
        out.push('\n');
        for e in s.sorted_entries() {
            let _ = writeln!(out, "add {} {}", s.name, e);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_names_are_prefixed_and_cut_to_31() {
        assert_eq!(
            KubeSet::LoadBalancerSourceCidr.name(IpFamily::IPv6),
            "KUBE-6-LOAD-BALANCER-SOURCE-CID"
        );
        assert_eq!(
            KubeSet::NodePortLocalSctp.name(IpFamily::IPv6),
            "KUBE-6-NODE-PORT-LOCAL-SCTP-HAS"
        );
        assert_eq!(KubeSet::ClusterIp.name(IpFamily::IPv6), "KUBE-6-CLUSTER-IP");
    }

    #[test]
    fn bitmap_entries_list_in_port_order() {
        let mut s = IpSet::new(KubeSet::NodePortTcp, IpFamily::IPv4);
        for p in ["30080", "3000", "31000"] {
            s.entries.insert(p.into());
        }
        assert_eq!(s.sorted_entries(), vec!["3000", "30080", "31000"]);
        assert_eq!(
            render_ipset_save(&[s]),
            "create KUBE-NODE-PORT-TCP bitmap:port range 0-65535\n\
             add KUBE-NODE-PORT-TCP 3000\nadd KUBE-NODE-PORT-TCP 30080\nadd KUBE-NODE-PORT-TCP 31000\n"
        );
    }
}
