//! kube-proxy iptables mode: the rules kube-proxy writes, byte for byte.
//!
//! spec: kube-proxy-iptables.md. Three forms ([`Form`]):
//!
//! - [`Form::Restore`]: the payload kube-proxy feeds to `iptables-restore --noflush --counters`
//!   on a full sync (filter then nat, only `KUBE-*` chains). kube-proxy's own service order is a
//!   Go map's; svccore writes service ports sorted by `ns/name[:port]`, then protocol, and each
//!   port's endpoints in kube-proxy's endpoint-string order.
//! - [`Form::Save`]: what `iptables-save` prints on a node holding those rules plus kube-proxy's
//!   jump rules and canary chains (spec §2.5, §4.3), without the `#` comment lines.
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
pub mod names;
mod restore;
pub mod rules;
mod save;
mod sort;

pub use crate::proxier::config::{LocalDetector, ProxierSettings, SettingsFlags};
pub use incremental::IncrementalRenderer;
pub use rules::{Dump, Rule, SaveStyle};
pub use save::{builtin_chains, jump_rules};
pub use sort::sort_like_kube_proxy_tests;

use crate::categorize::NodeContext;
use crate::model::IpFamily;
use crate::proxier::plan::{write_order, PortPlan};
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
    let resolved = settings.resolve(cluster)?;
    let snap = ProxySnapshot::build(cluster, resolved.ip_family)?;
    render_snapshot(&snap, &resolved, &resolved.node.context(), form)
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
    settings.check_snapshot(snap)?;
    let node = NodeContext {
        name: settings.node.name.clone(),
        ..node.clone()
    };
    Ok(match form {
        Form::Restore => restore_text(&snap.ports, settings, &node),
        Form::Jumps => jump_rules(settings),
        Form::Save => {
            save_from_restore(&restore_text(&snap.ports, settings, &node), settings, style)?
        }
    })
}

/// The `iptables-save` text for a restore payload (plus kube-proxy's jump rules and canaries).
pub fn save_from_restore(
    restore: &str,
    settings: &ProxierSettings,
    style: &SaveStyle,
) -> Result<String> {
    let v6 = settings.ip_family == IpFamily::IPv6;
    let style = SaveStyle {
        ipv6: v6,
        ..style.clone()
    };
    let main = Dump::parse(restore, None, v6)?;
    let jumps = Dump::parse(&jump_rules(settings), None, v6)?;
    Ok(save::save_text(&[&jumps, &main], &style))
}

fn restore_text(ports: &[ServicePortView], s: &ProxierSettings, node: &NodeContext) -> String {
    let order = write_order(ports);
    let total: usize = ports.iter().map(|p| p.endpoints.len()).sum();
    let ctx = restore::Ctx::new(s, total);
    let node_ip = s.node.node_ip();
    let plans: Vec<restore::Plan> = order
        .iter()
        .map(|&i| restore::Plan::new(&ports[i], PortPlan::new(&ports[i], node, node_ip)))
        .collect();
    // Roughly: a few hundred bytes per port, ~450 per endpoint; avoids regrowth copies.
    let mut out = String::with_capacity(2048 + ports.len() * 600 + total * 460);
    restore::filter_head(s, &mut out);
    for (k, &i) in order.iter().enumerate() {
        restore::write_filter(&ports[i], &plans[k], &mut out);
    }
    restore::filter_tail(s, &mut out);
    restore::nat_chains_head(&mut out);
    for (k, &i) in order.iter().enumerate() {
        restore::write_nat_chains(&ports[i], &plans[k], &mut out);
    }
    restore::nat_rules_head(s, &mut out);
    for (k, &i) in order.iter().enumerate() {
        restore::write_nat_rules(&ctx, &ports[i], &plans[k], &mut out);
    }
    restore::nat_tail(s, &mut out);
    out
}
