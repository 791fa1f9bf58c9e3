//! # svccore: kube-proxy's view of Kubernetes Services, offline
//!
//! svccore reads Kubernetes objects (Services, EndpointSlices, legacy Endpoints, Pods, Nodes,
//! ServiceCIDRs and a `KubeProxyConfiguration`), validates them, works out which endpoints each
//! node uses, picks backends the way the real engines do and renders what kube-proxy programs on
//! a node. It does no I/O: text goes in, text and values come out; time and randomness are
//! parameters.
//!
//! Data flows one way, each layer reading only the ones above it:
//!
//! ```text
//! model → load → validate → snapshot → categorize → proxier plan
//!       → renderers (iptables, ipvs, nftables, userspace) / netfilter / trace / simulate / audit
//!       → bindings
//! ```
//!
//! 1. **[`model`]**: the Kubernetes objects svccore reads, as typed records.
//! 2. **manifests → [`Cluster`]** ([`load`]): JSON or YAML text, single objects, `kind: List` or
//!    multi-document streams, merged into one cluster. Endpoints are converted to slices, Pods
//!    behind selectors become endpoints, missing cluster IPs and node ports are allocated.
//! 3. **[`Cluster`] → checks** ([`validate`]): the API server's rules, every error with its path.
//! 4. **[`Cluster`] → [`snapshot::ProxySnapshot`]** ([`snapshot`]): what a kube-proxy of one IP
//!    family sees, with kube-proxy's tolerances (sloppy IPs, trimmed ranges) reported as warnings.
//! 5. **per node** ([`categorize`]): the cluster, local and reachable endpoints of each service
//!    port for one node (ready/serving/terminating, traffic policies, topology).
//! 6. **proxier plan** ([`proxier`]): one configuration for every mode ([`proxier::config`]:
//!    the node's facts, the flags and `KubeProxyConfiguration` layered once) and, per service
//!    port in write order, every decision kube-proxy makes before it writes a line
//!    ([`proxier::plan`]). Every mode reads the same plan; userspace mode, whose rules do not
//!    depend on endpoints, reads its proxy ports ([`proxier::userspace`]).
//! 7. **outputs**: the renderers ([`render`]: iptables, ipvs, nftables, userspace) write a
//!    node's text from the plan; [`netfilter`] is the iptables rule model they write into and
//!    that [`trace`] evaluates and [`audit`] compares; [`trace`] follows a packet through a
//!    node's rules (iptables; nftables: the rendered table's base chains by hook and priority;
//!    userspace: the portal rules, then the proxy's round robin) or virtual servers (ipvs), its
//!    arguments parsed by [`packet`]; [`simulate`]
//!    drives connections through the engines of [`select`]; [`report`] summarises a cluster and
//!    the endpoints each node uses.
//! 8. **bindings** (`bindings-py`, `bindings-wasm`): convert arguments and results, and hold no
//!    Kubernetes rule.
//!
//! # Example
//!
//! ```
//! use svccore::{load::Loader, snapshot::ProxySnapshot, model::IpFamily};
//! let mut loader = Loader::new();
//! loader.add_str(Some("svc.yaml"), r#"
//! apiVersion: v1
//! kind: Service
//! metadata: {name: web, namespace: default}
//! spec:
//!   clusterIP: 10.96.0.10
//!   ports: [{port: 80}]
//! "#).unwrap();
//! let cluster = loader.finish().unwrap();
//! let snap = ProxySnapshot::build(&cluster, IpFamily::IPv4).unwrap();
//! assert_eq!(snap.ports[0].service_port_name, "default/web");
//! ```
#![deny(missing_docs)]
// `model::Str` is `String` without the `compact-strings` feature: its `.into()`s are then
// conversions to the same type.
#![cfg_attr(not(feature = "compact-strings"), allow(clippy::useless_conversion))]

pub mod audit;
pub mod categorize;
pub mod error;
pub(crate) mod fast;
pub mod ip;
pub mod load;
pub mod model;
pub mod netfilter;
pub mod packet;
pub mod proxier;
pub mod render;
pub mod report;
pub mod select;
pub mod simulate;
pub mod snapshot;
pub(crate) mod text;
pub mod trace;
pub mod validate;

pub use error::{Error, Issue, Result};
pub use load::{Cluster, Loader};
