//! `networking.k8s.io/v1/ServiceCIDR`: the ranges cluster IPs are allocated from.
//!
//! kube-proxy's nftables proxier watches these objects and drops traffic to an address inside
//! one of them that is not an allocated cluster IP (`cluster-ips-check`).

use super::{Loc, ObjectMeta};

/// A `ServiceCIDR` (`networking.k8s.io/v1`, also read as `v1beta1`). Cluster-scoped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceCidr {
    /// Where it was read from.
    pub loc: Loc,
    /// Name (no namespace: the kind is cluster-scoped).
    pub meta: ObjectMeta,
    /// `spec.cidrs`, as written (at most one per family; validation checks the syntax).
    pub cidrs: Vec<String>,
}
