//! `discovery.k8s.io/v1` EndpointSlice.

use std::sync::Arc;

use super::{LabelMap, Loc, ObjectMeta, Protocol};

/// The label naming the Service a slice belongs to.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// One entry of `ports`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EndpointPort {
    /// `name`; `None` when absent (kube-proxy skips such ports), `Some("")` for unnamed.
    pub name: Option<String>,
    /// `port`; `None` when absent.
    pub port: Option<i64>,
    /// `protocol` (default TCP).
    pub protocol: Protocol,
    /// `appProtocol`.
    pub app_protocol: Option<String>,
}

/// One entry of `endpoints`.
///
/// A cluster holds many of these: fields are boxed strings and slices (never grown after
/// loading), and the node name and zone, which repeat across endpoints, are shared.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Endpoint {
    /// `addresses` as written; kube-proxy uses only the first.
    pub addresses: Box<[Box<str>]>,
    /// `conditions.ready` (nil means true).
    pub ready: Option<bool>,
    /// `conditions.serving` (nil means true).
    pub serving: Option<bool>,
    /// `conditions.terminating` (nil means false).
    pub terminating: Option<bool>,
    /// `nodeName` (one allocation per distinct name when read by the loader).
    pub node_name: Option<Arc<str>>,
    /// `zone` (shared like `node_name`).
    pub zone: Option<Arc<str>>,
    /// `hints.forZones[].name`; `None` when there are no zone hints.
    pub hints_zones: Option<Box<[Box<str>]>>,
    /// `hints.forNodes[].name`; `None` when there are no node hints.
    pub hints_nodes: Option<Box<[Box<str>]>>,
    /// `deprecatedTopology` (v1) / `topology` (v1beta1): the legacy topology labels.
    pub topology: LabelMap,
    /// `hostname`.
    pub hostname: Option<Box<str>>,
    /// `targetRef.name` when the target is a Pod.
    pub target_pod: Option<Box<str>>,
}

/// A `discovery.k8s.io/v1` EndpointSlice (or one converted from legacy Endpoints or derived from
/// Pods).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EndpointSlice {
    /// Where it was read from (for derived slices: the Endpoints or Service it came from).
    pub loc: Loc,
    /// Name, namespace, labels.
    pub meta: ObjectMeta,
    /// `addressType`: `IPv4`, `IPv6` or `FQDN`, as written.
    pub address_type: String,
    /// `ports`.
    pub ports: Vec<EndpointPort>,
    /// `endpoints`.
    pub endpoints: Vec<Endpoint>,
}

impl EndpointSlice {
    /// The Service this slice belongs to (label `kubernetes.io/service-name`).
    pub fn service_name(&self) -> Option<&str> {
        self.meta.labels.get(SERVICE_NAME_LABEL)
    }
}
