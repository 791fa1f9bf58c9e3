//! The proxier layer: what one kube-proxy on one node decides, shared by every mode.
//!
//! [`plan::NodePlan`] takes a [`ProxySnapshot`](crate::snapshot::ProxySnapshot) and the node's
//! facts and yields, per service port in write order, the categorized endpoints, where internal
//! and external traffic goes ([`plan::Route`]) and which entry points and chains exist.
//!
//! [`config::ProxierSettings`] is the one configuration of a proxier in any mode: the node's
//! facts ([`config::NodeFacts`], read from the Node object in one place), the family, the
//! resolved local-traffic detector, masquerading, node-port addresses, and one part per mode.
//! [`config::ProxierSettings::layered`] combines KubeProxyConfiguration, `proxy.json` and flags
//! ([`config::SettingsFlags`], whose table says which flag each mode takes).
//!
//! # Writing a renderer
//! A renderer receives a [`plan::NodePlan`] and the resolved [`config::ProxierSettings`] (for
//! text it writes verbatim: the masquerade mark, the detector's match, its own mode part). It
//! turns each [`plan::PortPlan`] into its mode's text and names; it must not read Node objects
//! or the KubeProxyConfiguration, call [`categorize`](crate::categorize::categorize) or
//! re-derive a policy outcome (Local vs Cluster, drop vs reject, whether a firewall or external
//! chain exists) from the Service: those are the configuration's and the plan's.

pub mod assumed;
pub mod config;
pub mod node;
pub mod plan;
pub mod service_cidrs;
pub mod userspace;
