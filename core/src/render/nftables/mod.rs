//! kube-proxy nftables mode: the `kube-proxy` table its nftables proxier programs on a node.
//!
//! Input: a per-node [`NodePlan`] (which endpoints each service port uses, where internal and
//! external traffic goes, which chains exist) and the [`ProxierSettings`] kube-proxy's nftables
//! proxier reads (node name and IPs, family, local-traffic detector, `masqueradeAll`, the
//! masquerade mark, `nodePortAddresses` with the interface addresses, `serviceCIDRs` and the
//! stale chains of an earlier sync). Output: a [`Table`] (the object model: table, base and
//! regular chains, sets, verdict maps, rules, elements) and its text in one of the [`Form`]s.
//!
//! The rules are those of kube-proxy's `syncProxyRules` after a full sync as its unit tests
//! (`pkg/proxy/nftables/proxier_test.go` at commit `81810de635aa13aa0a32992f6def3aa9d6025ebc`,
//! after v1.33: `filter-prerouting-pre-dnat`/`filter-output-pre-dnat` at priority -110, no
//! `tcp dport` in the cluster-IP masquerade rule) show them. Behaviour those tests leave
//! without golden text follows `pkg/proxy/nftables/proxier.go` at commit
//! `b0f823e6ccd8a10b3893fc75011b9981af39285c` (the newest copy readable): IPv6 (`ip6`,
//! `ipv6_addr`, `ip6 daddr != ::1`), `masqueradeAll` (`ip daddr CIP jump mark-for-masquerade`,
//! the `tcp dport` match left out as the newer tests show for the detector rule), the no-op and
//! interface detectors (`iif`), "match all" `nodePortAddresses` (`fib daddr type local`),
//! internalTrafficPolicy Local (drop in `no-endpoint-services`), terminating endpoints (through
//! the plan), UDP/SCTP, multi-port services, a source range containing the node IP (the LB IPs
//! join the allowed set), the firewall applying with or without endpoints, and LB `ipMode: Proxy`
//! (no element: the snapshot drops those IPs).
//!
//! svccore writes service ports in its deterministic order (`ns/name[:port]`, protocol); kube-proxy's
//! is a Go map's. The forms that compare (the tests' normalization, `nft list`) do not depend on it.
//!
//! # Example
//! ```
//! use svccore::render::iptables::ProxierSettings;
//! use svccore::render::nftables::{render, Form};
//! let cluster = svccore::load::load_strs([(None, r#"{"apiVersion":"v1","kind":"List","items":[
//!  {"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"default"},
//!   "spec":{"clusterIP":"10.96.0.10","ports":[{"port":80}]}}]}"#)]).unwrap();
//! let text = render(&cluster, &ProxierSettings::default(), Form::Dump).unwrap();
//! assert!(text.contains(
//!     "add element ip kube-proxy no-endpoint-services { 10.96.0.10 . tcp . 80 comment \"default/web\" : goto reject-chain }"
//! ));
//! ```

mod build;
mod dump;
pub mod list;
mod load;
pub mod model;
pub mod names;
pub mod parse;
mod sort;

pub use build::build;
pub use model::{BaseChain, Chain, ChainType, Element, Family, Hook, Map, Rule, Set, Table};
pub use sort::sort_nftables_transaction;

use crate::categorize::NodeContext;
use crate::model::IpFamily;
use crate::proxier::config::ProxierSettings;
use crate::proxier::plan::NodePlan;
use crate::proxier::service_cidrs::choose_service_cidrs;
use crate::render::Rendered;
use crate::snapshot::ProxySnapshot;
use crate::{Cluster, Result};

/// Which text to render.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Form {
    /// knftables `Fake.Dump()`: what kube-proxy's unit tests compare (objects sorted by name).
    #[default]
    Dump,
    /// The same `add` lines in an order `nft -f` accepts (table, chains, sets, maps, rules,
    /// elements), each kind in kube-proxy's creation order.
    Load,
    /// What `nft list table ip kube-proxy` prints after the `load` form was loaded (nft
    /// 1.0.6; see [`list`]).
    List,
}

impl Form {
    /// Parses `dump`, `load` or `list`.
    pub fn parse(s: &str) -> Option<Form> {
        match s {
            "dump" => Some(Form::Dump),
            "load" => Some(Form::Load),
            "list" => Some(Form::List),
            _ => None,
        }
    }

    /// The form's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Form::Dump => "dump",
            Form::Load => "load",
            Form::List => "list",
        }
    }
}

/// [`Form::parse`] as a result: [`crate::Error::InvalidArgument`] naming the forms.
pub fn parse_form(s: &str) -> Result<Form> {
    Form::parse(s).ok_or_else(|| {
        crate::Error::InvalidArgument(format!(
            "unknown nftables form {s:?}: expected dump, load or list"
        ))
    })
}

impl Table {
    /// The table's text in `form`.
    pub fn text(&self, form: Form) -> String {
        match form {
            Form::Dump => dump::write(self),
            Form::Load => load::text(self).to_owned(),
            Form::List => list::write(self),
        }
    }

    /// The table's text in `form`, consuming the table (the `load` form is then not copied).
    pub fn into_text(self, form: Form) -> String {
        match form {
            Form::Dump => dump::write(&self),
            Form::Load => self.text,
            Form::List => list::write(&self),
        }
    }
}

/// Renders a cluster for the node and family named in `settings`: fills node IPs and interface
/// addresses from the cluster's Node object ([`ProxierSettings::resolve`]), takes the service
/// CIDRs from the cluster's ServiceCIDR objects when it has any ([`choose_service_cidrs`]),
/// builds the snapshot and the node's plan, and writes `form`.
pub fn render(cluster: &Cluster, settings: &ProxierSettings, form: Form) -> Result<String> {
    Ok(render_with_warnings(cluster, settings, form)?.text)
}

/// [`render`], with the warnings of the snapshot the table was built from.
pub fn render_with_warnings(
    cluster: &Cluster,
    settings: &ProxierSettings,
    form: Form,
) -> Result<Rendered> {
    let (resolved, snap) = resolve(cluster, settings)?;
    let table = table_for_snapshot(&snap, &resolved, &resolved.node.context())?;
    Ok(Rendered::new(table.into_text(form), snap))
}

/// The [`Table`] of a cluster for the node and family named in `settings` (see [`render`]).
pub fn table(cluster: &Cluster, settings: &ProxierSettings) -> Result<Table> {
    let (resolved, snap) = resolve(cluster, settings)?;
    table_for_snapshot(&snap, &resolved, &resolved.node.context())
}

/// The settings [`table`] renders with (node facts from the Node object, the service CIDRs
/// from the cluster's ServiceCIDR objects when it has any) and the snapshot of their family.
pub fn resolve(
    cluster: &Cluster,
    settings: &ProxierSettings,
) -> Result<(ProxierSettings, ProxySnapshot)> {
    let (mut resolved, strict_snapshot) = settings.resolve_with_strict_snapshot(cluster)?;
    // The cluster's ServiceCIDR objects, if any, replace the settings' serviceCIDRs.
    resolved.nftables.service_cidrs = choose_service_cidrs(cluster, &resolved)?.cidrs;
    let snap = match strict_snapshot {
        Some(snap) => snap,
        None => ProxySnapshot::build(cluster, resolved.ip_family)?,
    };
    Ok((resolved, snap))
}

/// The [`Table`] of a snapshot with settings used as given (no defaults taken from a Node
/// object); `node` supplies the labels topology hints are matched against.
pub fn table_for_snapshot(
    snap: &ProxySnapshot,
    settings: &ProxierSettings,
    node: &NodeContext,
) -> Result<Table> {
    let node = NodeContext {
        name: settings.node.name.clone(),
        ..node.clone()
    };
    let plan = NodePlan::build(snap, &node, node_ip(settings));
    build(&plan, settings)
}

/// The proxier's `nodeIP`: the first node IP of its family.
fn node_ip(s: &ProxierSettings) -> Option<std::net::IpAddr> {
    s.node
        .ips
        .iter()
        .copied()
        .find(|ip| IpFamily::of(ip) == s.ip_family)
}
