//! The registry of what this build can do: the base operations and the text views.
//!
//! A renderer merged into the core becomes available to JavaScript by one entry in
//! [`TEXT_VIEWS`]; `capabilities()` then lists it, `Cluster.render(name, {node, family})`
//! runs it, and the playground turns on the tab that names it. For example, once
//! `svccore::render::iptables` lands:
//!
//! ```ignore
//! TextView { name: "iptables-restore", render: |v| iptables::render(v.cluster, &settings(v), Form::Restore) },
//! ```
//!
//! Names the playground already knows: `iptables-restore`, `iptables-save`, `ipvsadm-ln`,
//! `ipvsadm-save`, `ipset-save`, and, for views with their own record shape,
//! `chain-graph`, `trace`, `simulate`.

use svccore::categorize::NodeContext;
use svccore::model::IpFamily;
use svccore::snapshot::ProxySnapshot;
use svccore::Cluster;

/// Operations every build has (the `Cluster` methods and `loadCluster`).
pub const BASE: &[&str] = &[
    "load",
    "validate",
    "services",
    "endpoints",
    "nodes",
    "warnings",
];

/// What a text view gets: the cluster, its proxy snapshot for the family, and the node.
#[derive(Debug)]
pub struct ViewInput<'a> {
    /// The loaded cluster (for renderers that take settings from its KubeProxyConfiguration).
    pub cluster: &'a Cluster,
    /// The snapshot of `family`, already built.
    pub snapshot: &'a ProxySnapshot,
    /// The node the kube-proxy runs on, with its labels.
    pub node: NodeContext,
    /// The IP family.
    pub family: IpFamily,
}

/// A named text view.
#[derive(Debug)]
pub struct TextView {
    /// The name `capabilities()` lists and `Cluster.render` takes.
    pub name: &'static str,
    /// Renders it.
    pub render: fn(&ViewInput<'_>) -> svccore::Result<String>,
}

/// The text views of this build. Empty until the renderers are merged into the core.
pub const TEXT_VIEWS: &[TextView] = &[];
