//! Renderers: the text kube-proxy programs on a node.
//!
//! - [`iptables`]: kube-proxy's iptables mode (`iptables-restore` payload and `iptables-save`).
//! - [`nftables`]: kube-proxy's nftables mode (the `kube-proxy` table as kube-proxy's tests dump
//!   it, as an `nft -f` payload, and as `nft list table` prints it).
//! - [`userspace`]: kube-proxy's userspace mode (the portal rules that redirect service traffic
//!   to the proxy's own ports; `iptables-restore` payloads and `iptables-save`).
//! - [`ipvs`]: kube-proxy's ipvs mode (`ipvsadm -Ln` and variants, `ipvsadm -S -n`, `ipset save`, the
//!   ipvs-mode `iptables-restore` payload, `ip addr show kube-ipvs0`, the trace lookup).

pub mod iptables;
pub mod ipvs;
pub mod nftables;
pub mod userspace;

use crate::model::IpFamily;
use crate::proxier::config::{ProxierSettings, ProxyMode};
use crate::snapshot::ProxySnapshot;
use crate::Issue;

/// A rendered text with the load warnings of the proxy snapshot it was rendered from
/// ([`ProxySnapshot::warnings`]: kube-proxy's tolerances for `family`). A command that prints
/// both gets them from one snapshot build (building it is a large part of a render).
/// `T` is `()` when the text went to a writer instead ([`iptables_write`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered<T = String> {
    /// The text.
    pub text: T,
    /// The family of the snapshot: the settings' family once resolved.
    pub family: IpFamily,
    /// The snapshot's warnings, as [`ProxySnapshot::build`] gives them for `family`.
    pub warnings: Vec<Issue>,
}

impl Rendered {
    /// Hands the text to `write` in pieces ([`write_in_pieces`](crate::netfilter::write_in_pieces)),
    /// keeping the warnings.
    pub fn write_to(self, write: &mut dyn FnMut(&str)) -> Rendered<()> {
        crate::netfilter::write_in_pieces(&self.text, write);
        Rendered {
            text: (),
            family: self.family,
            warnings: self.warnings,
        }
    }
}

impl<T> Rendered<T> {
    /// `text` rendered from `snap`, with the snapshot's warnings.
    pub fn new(text: T, snap: ProxySnapshot) -> Rendered<T> {
        Rendered {
            text,
            family: snap.family,
            warnings: snap.warnings,
        }
    }
}

/// The modes whose rules are iptables text ([`iptables_text`]).
pub const IPTABLES_MODES: [ProxyMode; 2] = [ProxyMode::Iptables, ProxyMode::Userspace];

/// The iptables rules kube-proxy's `mode` writes (a mode of [`IPTABLES_MODES`]) for `cluster`
/// on the settings' node, in `form`: [`iptables::render`] or [`userspace::render`]. The one
/// entry point `render iptables --mode` of the bindings calls; the snapshot's warnings come
/// with the text ([`Rendered`]).
pub fn iptables_text(
    mode: ProxyMode,
    cluster: &crate::Cluster,
    settings: &ProxierSettings,
    form: iptables::Form,
) -> crate::Result<Rendered> {
    match mode {
        ProxyMode::Iptables => iptables::render_with_warnings(cluster, settings, form),
        ProxyMode::Userspace => userspace::render_with_warnings(cluster, settings, form),
        other => Err(not_iptables(other)),
    }
}

/// [`iptables_text`], the text handed to `write` in pieces (of about
/// [`CHUNK`](crate::netfilter::CHUNK) bytes) instead of returned; the iptables mode's
/// restore payload is handed out as it is made ([`iptables::render_to`]), so that a command
/// writing it to a file never holds it whole.
pub fn iptables_write(
    mode: ProxyMode,
    cluster: &crate::Cluster,
    settings: &ProxierSettings,
    form: iptables::Form,
    write: &mut dyn FnMut(&str),
) -> crate::Result<Rendered<()>> {
    match mode {
        ProxyMode::Iptables => iptables::render_to(cluster, settings, form, write),
        ProxyMode::Userspace => {
            Ok(userspace::render_with_warnings(cluster, settings, form)?.write_to(write))
        }
        other => Err(not_iptables(other)),
    }
}

fn not_iptables(mode: ProxyMode) -> crate::Error {
    crate::Error::InvalidArgument(format!(
        "mode {:?} does not write iptables rules this way: expected \"iptables\" or \"userspace\"",
        mode.as_str()
    ))
}
