//! The registry of what this build can do: the base operations, the record operations, and the
//! text views.
//!
//! A renderer merged into the core becomes available to JavaScript by one entry in
//! [`TEXT_VIEWS`]; `capabilities()` then lists it, `Cluster.render(name, {node, family,
//! scheduler})` runs it, and the playground turns on the tab that names it.
//!
//! The settings of each proxier come from the cluster, as on a node: the iptables proxier from
//! kube-proxy's defaults, the cluster's `KubeProxyConfiguration` if any, the node's name and the
//! family, then the Node object ([`ProxierSettings::resolve`]); the ipvs proxier from
//! [`IpvsSettings::from_cluster`] with the `scheduler` option over `ipvs.scheduler`.

use svccore::categorize::NodeContext;
use svccore::model::IpFamily;
use svccore::render::iptables::{self, Form, ProxierSettings};
use svccore::render::ipvs::{IpvsNode, IpvsSettings};
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

/// Operations returning records of their own: `Cluster.trace`, `Cluster.simulate`, and the
/// `Balancer` class.
pub const RECORDS: &[&str] = &["trace", "simulate", "balancer"];

/// The IPVS schedulers the `scheduler` option takes (kube-proxy's `--ipvs-scheduler` values that
/// svccore models).
pub const IPVS_SCHEDULERS: &[&str] = &["rr", "wrr", "lc", "wlc", "sed", "nq", "sh", "dh", "mh"];

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
    /// The IPVS scheduler (`None`: the configuration's, else `rr`).
    pub scheduler: Option<String>,
}

/// A named text view.
#[derive(Debug)]
pub struct TextView {
    /// The name `capabilities()` lists and `Cluster.render` takes.
    pub name: &'static str,
    /// Renders it.
    pub render: fn(&ViewInput<'_>) -> svccore::Result<String>,
}

/// The iptables proxier's settings on `node` for `family`: defaults, then the cluster's
/// `KubeProxyConfiguration`, then the node name, filled from the Node object.
pub fn iptables_settings(
    cluster: &Cluster,
    node: &str,
    family: IpFamily,
) -> svccore::Result<ProxierSettings> {
    let mut s = ProxierSettings {
        ip_family: family,
        ..ProxierSettings::default()
    };
    if let Some(cfg) = &cluster.proxy_config {
        s.apply_proxy_config(cfg)?;
    }
    if !node.is_empty() {
        s.node_name = node.to_owned();
    }
    s.resolve(cluster)
}

/// The ipvs proxier on `node` for `family`, built from the snapshot.
pub fn ipvs_node(
    cluster: &Cluster,
    snapshot: &ProxySnapshot,
    node: &str,
    family: IpFamily,
    scheduler: Option<&str>,
) -> svccore::Result<IpvsNode> {
    let mut s = IpvsSettings::from_cluster(cluster, node, family)?;
    if let Some(sch) = scheduler {
        s.scheduler = sch.to_owned();
    }
    IpvsNode::build(snapshot, &s, None)
}

fn iptables_text(v: &ViewInput<'_>, form: Form) -> svccore::Result<String> {
    let s = iptables_settings(v.cluster, &v.node.name, v.family)?;
    iptables::render_snapshot(v.snapshot, &s, &v.node, form)
}

fn ipvs(v: &ViewInput<'_>) -> svccore::Result<IpvsNode> {
    ipvs_node(
        v.cluster,
        v.snapshot,
        &v.node.name,
        v.family,
        v.scheduler.as_deref(),
    )
}

/// The text views of this build.
pub const TEXT_VIEWS: &[TextView] = &[
    TextView {
        name: "iptables-restore",
        render: |v| iptables_text(v, Form::Restore),
    },
    TextView {
        name: "iptables-save",
        render: |v| iptables_text(v, Form::Save),
    },
    TextView {
        name: "ipvsadm-ln",
        render: |v| Ok(ipvs(v)?.list(None)),
    },
    TextView {
        name: "ipvsadm-save",
        render: |v| Ok(ipvs(v)?.save()),
    },
    TextView {
        name: "ipset-save",
        render: |v| Ok(ipvs(v)?.ipset_save()),
    },
    TextView {
        name: "ipvs-iptables",
        render: |v| Ok(ipvs(v)?.iptables()),
    },
    TextView {
        name: "ipvs-addresses",
        render: |v| Ok(ipvs(v)?.addresses()),
    },
];
