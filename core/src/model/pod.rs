//! `v1/Pod`: the parts the endpoints controller uses.

use super::{Loc, ObjectMeta, Protocol};

/// One `containers[].ports[]` entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContainerPort {
    /// `name`.
    pub name: Option<String>,
    /// `containerPort`.
    pub container_port: i64,
    /// `protocol` (default TCP).
    pub protocol: Protocol,
}

/// A `v1/Pod`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pod {
    /// Where it was read from.
    pub loc: Loc,
    /// Name, namespace, labels, deletion.
    pub meta: ObjectMeta,
    /// `spec.nodeName`.
    pub node_name: Option<String>,
    /// `spec.hostname`.
    pub hostname: Option<String>,
    /// `status.podIPs[].ip`, or `status.podIP`.
    pub pod_ips: Vec<String>,
    /// `status.phase`.
    pub phase: Option<String>,
    /// The `Ready` condition of `status.conditions`; `None` when absent.
    pub ready: Option<bool>,
    /// Every container's ports, in order.
    pub container_ports: Vec<ContainerPort>,
}
