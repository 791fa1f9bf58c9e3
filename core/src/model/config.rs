//! `kubeproxy.config.k8s.io/v1alpha1` KubeProxyConfiguration: the fields svccore uses.

use super::Loc;

/// `detectLocalMode`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DetectLocalMode {
    /// `ClusterCIDR` (the default when `clusterCIDR` is set).
    ClusterCidr,
    /// `NodeCIDR`.
    NodeCidr,
    /// `BridgeInterface`.
    BridgeInterface,
    /// `InterfaceNamePrefix`.
    InterfaceNamePrefix,
    /// Anything else, as written.
    Other(String),
}

/// A kube-proxy configuration (`KubeProxyConfiguration`), the ConfigMap's `config.conf`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProxyConfig {
    /// Where it was read from.
    pub loc: Loc,
    /// `mode`: `iptables`, `ipvs`, `nftables`, `userspace` or empty.
    pub mode: Option<String>,
    /// `clusterCIDR` (comma-separated for dual stack).
    pub cluster_cidr: Option<String>,
    /// `hostnameOverride`.
    pub hostname_override: Option<String>,
    /// `iptables.masqueradeAll`.
    pub masquerade_all: Option<bool>,
    /// `iptables.masqueradeBit`.
    pub masquerade_bit: Option<i64>,
    /// `iptables.localhostNodePorts`.
    pub localhost_nodeports: Option<bool>,
    /// `ipvs.scheduler`.
    pub ipvs_scheduler: Option<String>,
    /// `ipvs.strictARP`.
    pub ipvs_strict_arp: Option<bool>,
    /// `nodePortAddresses`.
    pub nodeport_addresses: Vec<String>,
    /// `detectLocalMode`.
    pub detect_local_mode: Option<DetectLocalMode>,
    /// `detectLocal.bridgeInterface`.
    pub bridge_interface: Option<String>,
    /// `detectLocal.interfaceNamePrefix`.
    pub interface_name_prefix: Option<String>,
    /// `portRange` (userspace mode's proxy ports; empty: any free port).
    pub port_range: Option<String>,
    /// `bindAddress` (userspace mode's listen address).
    pub bind_address: Option<String>,
}
