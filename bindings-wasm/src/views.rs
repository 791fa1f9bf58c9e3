//! The registry of what this build can do: the base operations, the record operations, and the
//! text views.
//!
//! A renderer merged into the core becomes available to JavaScript by one entry in
//! [`TEXT_VIEWS`]; `capabilities()` then lists it, `Cluster.render(name, {node, family,
//! scheduler})` runs it, and the playground turns on the tab that names it.
//!
//! The settings of each proxier come from the cluster, as on a node, through the core's one
//! layering ([`proxier_settings`]): kube-proxy's defaults, the cluster's
//! `KubeProxyConfiguration` if any, the node's name, the family and (ipvs) the `scheduler`
//! option over `ipvs.scheduler`, then the Node object.

use svccore::categorize::NodeContext;
use svccore::model::IpFamily;
use svccore::proxier::config::{ProxierSettings, ProxyMode, SettingsFlags};
use svccore::render::iptables::{self, Form};
use svccore::render::ipvs::IpvsNode;
use svccore::render::nftables;
use svccore::render::userspace;
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

/// The resolved settings of the `mode` proxier on `node` for `family` (`scheduler`: ipvs only,
/// `None` for the configuration's): the cluster's configuration layered with these flags.
pub fn proxier_settings(
    cluster: &Cluster,
    mode: ProxyMode,
    node: &str,
    family: IpFamily,
    scheduler: Option<&str>,
) -> svccore::Result<ProxierSettings> {
    let flags = SettingsFlags {
        node_name: (!node.is_empty()).then(|| node.to_owned()),
        ip_family: Some(family),
        ipvs_scheduler: scheduler.map(str::to_owned),
        ..SettingsFlags::default()
    };
    flags.check_mode(mode, false)?;
    ProxierSettings::layered(cluster.proxy_config.as_ref(), None, &flags)?.resolve(cluster)
}

/// The ipvs proxier on `node` for `family`, built from the snapshot.
pub fn ipvs_node(
    cluster: &Cluster,
    snapshot: &ProxySnapshot,
    node: &str,
    family: IpFamily,
    scheduler: Option<&str>,
) -> svccore::Result<IpvsNode> {
    let s = proxier_settings(cluster, ProxyMode::Ipvs, node, family, scheduler)?;
    IpvsNode::build(snapshot, &s, None)
}

fn iptables_text(v: &ViewInput<'_>, form: Form) -> svccore::Result<String> {
    let s = proxier_settings(v.cluster, ProxyMode::Iptables, &v.node.name, v.family, None)?;
    iptables::render_snapshot(v.snapshot, &s, &v.node, form)
}

/// The userspace proxier's portal rules for the view's node and family (the core's layering,
/// then [`userspace::render`]).
fn userspace_text(v: &ViewInput<'_>, form: Form) -> svccore::Result<String> {
    let s = proxier_settings(
        v.cluster,
        ProxyMode::Userspace,
        &v.node.name,
        v.family,
        None,
    )?;
    userspace::render_snapshot(v.snapshot, &s, form)
}

/// The `nftables` proxier's text for the view's node and family: the core's layering (defaults,
/// the cluster's `KubeProxyConfiguration`, node and family), then its renderer, which also
/// takes the service CIDRs from the cluster's ServiceCIDR objects.
fn nftables_text(v: &ViewInput<'_>, form: nftables::Form) -> svccore::Result<String> {
    let s = proxier_settings(v.cluster, ProxyMode::Nftables, &v.node.name, v.family, None)?;
    nftables::render(v.cluster, &s, form)
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
        name: "nftables-dump",
        render: |v| nftables_text(v, nftables::Form::Dump),
    },
    TextView {
        name: "nftables-load",
        render: |v| nftables_text(v, nftables::Form::Load),
    },
    TextView {
        name: "nftables-list",
        render: |v| nftables_text(v, nftables::Form::List),
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
    TextView {
        name: "userspace-restore",
        render: |v| userspace_text(v, Form::Restore),
    },
    TextView {
        name: "userspace-jumps",
        render: |v| userspace_text(v, Form::Jumps),
    },
    TextView {
        name: "userspace-save",
        render: |v| userspace_text(v, Form::Save),
    },
];
