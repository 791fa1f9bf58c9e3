//! # svccore: kube-proxy's view of Kubernetes Services, offline
//!
//! svccore reads Kubernetes objects (Services, EndpointSlices, legacy Endpoints, Pods, Nodes,
//! ServiceCIDRs and a `KubeProxyConfiguration`), validates them, works out which endpoints each
//! node uses, picks backends the way the real engines do and renders what kube-proxy programs on
//! a node. It does no I/O: text goes in, text and values come out; time and randomness are
//! parameters.
//!
//! Data flows one way:
//!
//! 1. **manifests → [`Cluster`]** ([`load`]): JSON or YAML text, single objects, `kind: List` or
//!    multi-document streams, merged into one cluster. Endpoints are converted to slices, Pods
//!    behind selectors become endpoints, missing cluster IPs and node ports are allocated.
//! 2. **[`Cluster`] → checks** ([`validate`]): the API server's rules, every error with its path.
//! 3. **[`Cluster`] → [`snapshot::ProxySnapshot`]** ([`snapshot`]): what a kube-proxy of one IP
//!    family sees, with kube-proxy's tolerances (sloppy IPs, trimmed ranges) reported as warnings.
//! 4. **per node** ([`categorize`]): the cluster, local and reachable endpoints of each service
//!    port for one node (ready/serving/terminating, traffic policies, topology).
//! 5. **selection** ([`select`]) and **rendering** ([`render`]), **trace** and **audit**.
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

pub mod audit;
pub mod categorize;
pub mod error;
pub mod ip;
pub mod load;
pub mod model;
pub mod proxier;
pub mod render;
pub mod report;
pub mod select;
pub mod simulate;
pub mod snapshot;
pub mod trace;
pub mod validate;

pub use error::{Error, Issue, Result};
pub use load::{Cluster, Loader};
