//! Legacy `v1/Endpoints`; converted to EndpointSlices when loaded, as the EndpointSlice
//! mirroring controller does.

use super::{Loc, ObjectMeta, Protocol};

/// One address of a subset.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EndpointAddress {
    /// `ip`.
    pub ip: String,
    /// `nodeName`.
    pub node_name: Option<String>,
    /// `hostname`.
    pub hostname: Option<String>,
    /// `targetRef.name` when the target is a Pod.
    pub target_pod: Option<String>,
}

/// One entry of `subsets`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EndpointSubset {
    /// `addresses` (ready).
    pub addresses: Vec<EndpointAddress>,
    /// `notReadyAddresses`.
    pub not_ready_addresses: Vec<EndpointAddress>,
    /// `ports` (name, port, protocol).
    pub ports: Vec<(String, i64, Protocol)>,
}

/// A legacy `v1/Endpoints` object.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Endpoints {
    /// Where it was read from.
    pub loc: Loc,
    /// Name (= the Service's name) and namespace.
    pub meta: ObjectMeta,
    /// `subsets`.
    pub subsets: Vec<EndpointSubset>,
}
