//! The proxier layer: what one kube-proxy on one node decides, shared by every mode.
//!
//! [`plan::NodePlan`] takes a [`ProxySnapshot`](crate::snapshot::ProxySnapshot) and the node's
//! facts and yields, per service port in write order, the categorized endpoints, where internal
//! and external traffic goes ([`plan::Route`]) and which entry points and chains exist.
//!
//! # Writing a renderer
//! A renderer receives a [`plan::NodePlan`] (and the proxier settings for text it writes
//! verbatim, like the masquerade mark). It turns each [`plan::PortPlan`] into its mode's text
//! and names; it must not call [`categorize`](crate::categorize::categorize) or re-derive a
//! policy outcome (Local vs Cluster, drop vs reject, whether a firewall or external chain
//! exists) from the Service: those are the plan's.

pub mod config;
pub mod plan;
pub mod service_cidrs;
