//! The Kubernetes objects svccore reads, as typed Rust values.
//!
//! These are close to the API's JSON: strings stay strings (an IP is kept as written, because the
//! API server and kube-proxy parse it differently), enums keep unknown values so that validation
//! can name them, and every object remembers where it came from ([`Loc`]).

pub mod config;
pub mod endpoints;
pub mod endpointslice;
pub mod labels;
pub mod node;
pub mod pod;
pub mod service;
pub mod servicecidr;
mod shared;

pub use config::{DetectLocalMode, ProxyConfig};
pub use endpoints::{EndpointAddress, EndpointSubset, Endpoints};
pub use endpointslice::{Addresses, Endpoint, EndpointHints, EndpointPort, EndpointSlice};
pub use labels::LabelMap;
pub use node::{Node, NodeAddress};
pub use pod::{ContainerPort, Pod};
pub use service::{
    IntOrString, LoadBalancerIngress, Service, ServiceMore, ServicePort, ServiceType,
    SessionAffinity, TrafficPolicy,
};
pub use servicecidr::ServiceCidr;
pub use shared::{Placement, SharedStr};

/// A short string of the model (an address, a name, a namespace, a path), held in place up to
/// 24 bytes: compact_str's `CompactString` (feature `compact-strings`, on by default), else
/// `String`. Both read as a `str` and are made with `.into()`.
#[cfg(feature = "compact-strings")]
pub type Str = compact_str::CompactString;
/// A short string of the model (`String`: the crate is built without `compact-strings`).
#[cfg(not(feature = "compact-strings"))]
pub type Str = String;

/// `v` in an allocation of its length. Shrinking in place is not enough: an allocator may keep
/// a block that is shrunk by less than half (mimalloc, the Python extension's, does), and a list
/// read by doubling would keep up to twice its size. Moves the elements into a new block when
/// there is spare capacity.
pub(crate) fn exact<T>(v: Vec<T>) -> Vec<T> {
    if v.capacity() == v.len() {
        return v;
    }
    let mut out = Vec::with_capacity(v.len());
    out.extend(v);
    out
}

/// Where an object came from: its file and its path inside that file's document(s).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Loc {
    /// File name as given by the caller (`-` for stdin), if any; the objects of one input
    /// share one copy.
    #[serde(serialize_with = "file_name")]
    pub file: Option<SharedStr>,
    /// Path of the object in its document, e.g. `items[3]` or `[1]` (second YAML document);
    /// empty when the document is the object itself. Held in place up to 24 bytes.
    pub path: Str,
}

/// [`Loc::file`] serialized as the string it holds.
fn file_name<S: serde::Serializer>(
    file: &Option<SharedStr>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    serde::Serialize::serialize(&file.as_deref(), s)
}

impl Loc {
    /// The path of a field of this object, e.g. `items[3].spec.ports[1].port`.
    pub fn field(&self, rel: &str) -> String {
        if self.path.is_empty() {
            rel.to_owned()
        } else if rel.is_empty() {
            self.path.to_string()
        } else {
            format!("{}.{rel}", self.path)
        }
    }

    /// An [`Issue`](crate::Issue) about a field of this object.
    pub fn issue(&self, rel: &str, message: impl Into<String>) -> crate::Issue {
        crate::Issue::new(self.file.as_deref(), self.field(rel), message)
    }

    /// Where a field of the object is, for a message about another object:
    /// `a.yaml: items[0].metadata.name` (`items[0].metadata.name` when the input has no name).
    pub fn describe(&self, rel: &str) -> String {
        match &self.file {
            Some(f) => format!("{f}: {}", self.field(rel)),
            None => self.field(rel),
        }
    }
}

/// The part of `metadata` svccore uses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectMeta {
    /// `metadata.name` (held in place up to 24 bytes, as most names are).
    pub name: Str,
    /// `metadata.namespace`; `default` when absent on a namespaced object.
    pub namespace: Str,
    /// `metadata.labels`.
    pub labels: LabelMap,
    /// `metadata.annotations`.
    pub annotations: LabelMap,
    /// `metadata.deletionTimestamp` is set (the object is being deleted).
    pub deleting: bool,
}

/// The transport protocol of a port. Unknown strings are kept for validation to report.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    /// TCP (the API default).
    #[default]
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
    /// Anything else, as written; refused by validation and by the renderers.
    Other(Box<str>),
}

impl Protocol {
    /// Parses the API spelling (`TCP`, `UDP`, `SCTP`).
    pub fn parse(s: &str) -> Protocol {
        match s {
            "TCP" => Protocol::Tcp,
            "UDP" => Protocol::Udp,
            "SCTP" => Protocol::Sctp,
            other => Protocol::Other(other.into()),
        }
    }

    /// The API spelling, upper case (`TCP`).
    pub fn as_api(&self) -> &str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
            Protocol::Other(s) => s,
        }
    }

    /// The lower-case spelling iptables and ipset use (`tcp`).
    pub fn lower(&self) -> &str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
            Protocol::Other(s) => s,
        }
    }
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_api())
    }
}

/// An IP family.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum IpFamily {
    /// IPv4.
    #[default]
    IPv4,
    /// IPv6.
    IPv6,
}

impl IpFamily {
    /// Parses `IPv4` / `IPv6`.
    pub fn parse(s: &str) -> Option<IpFamily> {
        match s {
            "IPv4" => Some(IpFamily::IPv4),
            "IPv6" => Some(IpFamily::IPv6),
            _ => None,
        }
    }

    /// The family of an address.
    pub fn of(ip: &std::net::IpAddr) -> IpFamily {
        if ip.is_ipv4() {
            IpFamily::IPv4
        } else {
            IpFamily::IPv6
        }
    }

    /// `IPv4` / `IPv6`.
    pub fn as_str(&self) -> &'static str {
        match self {
            IpFamily::IPv4 => "IPv4",
            IpFamily::IPv6 => "IPv6",
        }
    }
}
