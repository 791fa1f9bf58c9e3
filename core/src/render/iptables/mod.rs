//! kube-proxy iptables mode: the rules kube-proxy writes, byte for byte.
//!
//! spec: kube-proxy-iptables.md. Three forms ([`Form`]):
//!
//! - [`Form::Restore`]: the payload kube-proxy feeds to `iptables-restore --noflush --counters`
//!   on a full sync (filter then nat, only `KUBE-*` chains). kube-proxy's own service order is a
//!   Go map's; svccore writes service ports sorted by `ns/name[:port]`, then protocol, and each
//!   port's endpoints in kube-proxy's endpoint-string order.
//! - [`Form::Save`]: what `iptables-save` prints on a node holding those rules plus kube-proxy's
//!   jump rules and canary chains (spec §2.5, §4.3), without the `#` comment lines. The rules
//!   are read into the [`crate::netfilter`] model as they are written ([`restore_dump`],
//!   [`jump_dump`]) and printed by [`crate::netfilter::save_text`].
//! - [`Form::Jumps`]: the jump rules and canary chains alone, as an `iptables-restore --noflush`
//!   payload (kube-proxy installs them outside the restore payload).
//!
//! Rendering is linear in the number of service ports and endpoints. For repeated renders of a
//! changing cluster, [`IncrementalRenderer`] keeps each service port's rendered text.
//!
//! # Example
//! ```
//! use svccore::render::iptables::{render, Form, ProxierSettings};
//! let cluster = svccore::load::load_strs([(None, r#"{"apiVersion":"v1","kind":"List","items":[
//!  {"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"default"},
//!   "spec":{"clusterIP":"10.96.0.10","ports":[{"port":80}]}}]}"#)]).unwrap();
//! let text = render(&cluster, &ProxierSettings::default(), Form::Restore).unwrap();
//! assert!(text.contains("-A KUBE-SERVICES -m comment --comment \"default/web has no endpoints\""));
//! ```

mod incremental;
mod jumps;
pub mod names;
mod restore;
mod sort;

pub use crate::proxier::config::{LocalDetector, ProxierSettings, SettingsFlags};
pub use incremental::IncrementalRenderer;
pub use jumps::{jump_dump, jump_rules, write_jump_rules};
pub use sort::sort_like_kube_proxy_tests;

use crate::categorize::NodeContext;
use crate::model::IpFamily;
use crate::netfilter::{
    save_text, Chunked, Dump, DumpBuilder, RestoreSink, RuleBuilder, RuleSink, SaveStyle,
};
use crate::proxier::plan::{write_order, PortPlan};
use crate::render::Rendered;
use crate::snapshot::{ProxySnapshot, ServicePortView};
use crate::{Cluster, Result};

/// Which text to render.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub enum Form {
    /// The `iptables-restore --noflush` payload of a full sync.
    #[default]
    Restore,
    /// What `iptables-save` prints on the node (without `#` lines).
    Save,
    /// kube-proxy's jump rules and canary chains, as a restore payload.
    Jumps,
}

impl Form {
    /// Parses `restore`, `save` or `jumps`.
    pub fn parse(s: &str) -> Option<Form> {
        match s {
            "restore" => Some(Form::Restore),
            "save" => Some(Form::Save),
            "jumps" => Some(Form::Jumps),
            _ => None,
        }
    }
}

/// Renders a cluster for the node and family named in `settings`: builds the snapshot, fills
/// node IPs and interface addresses from the cluster's Node object ([`ProxierSettings::resolve`])
/// and renders `form` with the default [`SaveStyle`].
pub fn render(cluster: &Cluster, settings: &ProxierSettings, form: Form) -> Result<String> {
    Ok(render_with_warnings(cluster, settings, form)?.text)
}

/// [`render`], with the warnings of the snapshot the text was rendered from.
pub fn render_with_warnings(
    cluster: &Cluster,
    settings: &ProxierSettings,
    form: Form,
) -> Result<Rendered> {
    let (resolved, snap) = settings.resolve_and_snapshot(cluster)?;
    let text = render_snapshot(&snap, &resolved, &resolved.node.context(), form)?;
    Ok(Rendered::new(text, snap))
}

/// [`render_with_warnings`], the text handed to `write` in pieces as it is made instead of
/// returned: a restore payload is never held whole ([`Chunked`]); the other forms are written
/// first and handed out in pieces. The pieces joined are [`render`]'s text.
pub fn render_to(
    cluster: &Cluster,
    settings: &ProxierSettings,
    form: Form,
    write: &mut dyn FnMut(&str),
) -> Result<Rendered<()>> {
    let (resolved, snap) = settings.resolve_and_snapshot(cluster)?;
    let node = resolved.node.context();
    if form != Form::Restore {
        let text = render_snapshot(&snap, &resolved, &node, form)?;
        return Ok(Rendered::new(text, snap).write_to(write));
    }
    let node = settings_node(&snap, &resolved, &node)?;
    let mut sink = Chunked::new(write);
    write_restore(&snap.ports, &resolved, &node, &mut sink);
    sink.finish();
    Ok(Rendered::new((), snap))
}

/// Renders a snapshot with settings used as given (no defaults taken from a Node object).
/// `node` supplies the labels topology hints are matched against.
pub fn render_snapshot(
    snap: &ProxySnapshot,
    settings: &ProxierSettings,
    node: &NodeContext,
    form: Form,
) -> Result<String> {
    render_snapshot_with(snap, settings, node, form, &SaveStyle::default())
}

/// [`render_snapshot`] with an explicit `iptables-save` style (for [`Form::Save`]).
pub fn render_snapshot_with(
    snap: &ProxySnapshot,
    settings: &ProxierSettings,
    node: &NodeContext,
    form: Form,
    style: &SaveStyle,
) -> Result<String> {
    let node = settings_node(snap, settings, node)?;
    Ok(match form {
        Form::Restore => {
            let total: usize = snap.ports.iter().map(|p| p.endpoints.len()).sum();
            // Roughly: a few hundred bytes per port, ~450 per endpoint; avoids regrowth copies.
            let mut out = String::with_capacity(2048 + snap.ports.len() * 600 + total * 460);
            write_restore(&snap.ports, settings, &node, &mut out);
            out
        }
        Form::Jumps => jump_rules(settings),
        Form::Save => {
            let v6 = settings.ip_family == IpFamily::IPv6;
            let style = SaveStyle {
                ipv6: v6,
                ..style.clone()
            };
            let main = restore_dump(snap, settings, &node)?;
            save_text(&[&jump_dump(settings)?, &main], &style)
        }
    })
}

/// The restore payload of a full sync as a rule model, read from the rules as they are written
/// (no text in between): what [`Form::Save`] prints and what an audit expects. `node` supplies
/// the labels topology hints are matched against; the settings are used as given.
pub fn restore_dump(
    snap: &ProxySnapshot,
    settings: &ProxierSettings,
    node: &NodeContext,
) -> Result<Dump> {
    let node = settings_node(snap, settings, node)?;
    let mut b = DumpBuilder::new(settings.ip_family == IpFamily::IPv6);
    write_restore(&snap.ports, settings, &node, &mut b);
    b.finish()
}

/// [`restore_dump`] into any [`RuleSink`] (the audit keeps each rule's text, not its model).
pub(crate) fn restore_into<S: RuleSink>(
    snap: &ProxySnapshot,
    settings: &ProxierSettings,
    node: &NodeContext,
    sink: S,
) -> Result<S> {
    let node = settings_node(snap, settings, node)?;
    let mut b = RuleBuilder::new(settings.ip_family == IpFamily::IPv6, sink);
    write_restore(&snap.ports, settings, &node, &mut b);
    b.finish()
}

/// The node the rules are for: `node`'s labels under the settings' node name, once the
/// snapshot is checked to be of the settings' family.
fn settings_node(
    snap: &ProxySnapshot,
    settings: &ProxierSettings,
    node: &NodeContext,
) -> Result<NodeContext> {
    settings.check_snapshot(snap)?;
    Ok(NodeContext {
        name: settings.node.name.clone(),
        ..node.clone()
    })
}

/// Writes the restore payload of a full sync: filter then nat, service ports in write order.
fn write_restore<S: RestoreSink>(
    ports: &[ServicePortView],
    s: &ProxierSettings,
    node: &NodeContext,
    out: &mut S,
) {
    let order = write_order(ports);
    let total: usize = ports.iter().map(|p| p.endpoints.len()).sum();
    let ctx = restore::Ctx::new(s, total);
    let node_ip = s.node.node_ip();
    let plans: Vec<restore::Plan> = order
        .iter()
        .map(|&i| restore::Plan::new(&ports[i], PortPlan::new(&ports[i], node, node_ip)))
        .collect();
    restore::filter_head(s, out);
    for (k, &i) in order.iter().enumerate() {
        restore::write_filter(&ports[i], &plans[k], out);
    }
    restore::filter_tail(s, out);
    restore::nat_chains_head(out);
    for plan in &plans {
        restore::write_nat_chains(plan, out);
    }
    restore::nat_rules_head(s, out);
    for (k, &i) in order.iter().enumerate() {
        restore::write_nat_rules(&ctx, &ports[i], &plans[k], out);
    }
    restore::nat_tail(s, out);
}
