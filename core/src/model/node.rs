//! `v1/Node`.

use super::{Loc, ObjectMeta};

/// The zone label kube-proxy reads for topology hints.
pub const ZONE_LABEL: &str = "topology.kubernetes.io/zone";
/// The region label.
pub const REGION_LABEL: &str = "topology.kubernetes.io/region";
/// The hostname label.
pub const HOSTNAME_LABEL: &str = "kubernetes.io/hostname";

/// One entry of `status.addresses`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeAddress {
    /// `type` (`InternalIP`, `ExternalIP`, `Hostname`, ...).
    pub type_: String,
    /// `address`.
    pub address: String,
}

/// A `v1/Node`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Node {
    /// Where it was read from.
    pub loc: Loc,
    /// Name and labels.
    pub meta: ObjectMeta,
    /// `status.addresses`.
    pub addresses: Vec<NodeAddress>,
    /// `spec.podCIDRs` (or `spec.podCIDR`).
    pub pod_cidrs: Vec<String>,
}

impl Node {
    /// The node's IPs (InternalIP first, then ExternalIP), as written.
    pub fn ips(&self) -> impl Iterator<Item = &str> {
        let internal = self.addresses.iter().filter(|a| a.type_ == "InternalIP");
        let external = self.addresses.iter().filter(|a| a.type_ == "ExternalIP");
        internal.chain(external).map(|a| a.address.as_str())
    }
}
