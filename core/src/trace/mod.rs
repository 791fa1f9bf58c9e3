//! Trace a packet through what kube-proxy programs on a node.
//!
//! - iptables mode ([`Tracer`], [`trace`], [`trace_cluster`]): rule text (svccore's own restore
//!   or save form, or a node's real `iptables-save`) is read into the [`crate::netfilter`] model
//!   and evaluated the way netfilter does for the first packet of a connection
//!   ([`crate::netfilter::RuleSet`]): nat `PREROUTING` (or `OUTPUT` for traffic from the node
//!   itself), the routing decision, filter `INPUT`/`FORWARD` (or `OUTPUT`), then nat
//!   `POSTROUTING` for forwarded packets. It never looks at the snapshot: what it reports is
//!   what the rules do. When the text has no rules in built-in chains (a restore payload),
//!   kube-proxy's jump rules (spec: kube-proxy-iptables.md §2.5) are added.
//! - ipvs mode ([`trace_ipvs`], [`trace_ipvs_node`]): the virtual server, the scheduler's pick
//!   and masquerading.
//! - nftables mode ([`NftTracer`], [`trace_nftables`]): the `kube-proxy` table's rules read
//!   into a small program (sets and verdict maps as hash tables) and evaluated through the
//!   base chains of the packet's path by hook and priority; `numgen random` branches with the
//!   kernel's exact shares, affinity sets hold the client when the packet says so.
//! - userspace mode ([`trace_userspace`]): the portal rule that redirects the packet to the
//!   proxy's port, then the endpoint the proxy's round robin dials.
//! - many packets on one node ([`NodeTracer`], [`trace_many`]): the node's rules of any mode
//!   rendered and read once, each packet traced as [`trace_mode`] would.
//! - [`render_text`]: a result as text for people.
//!
//! `-m statistic` rules branch: every outcome carries its probability as the kernel computes it
//! (threshold `t = lround(p·2^31)`, match iff `(rand & 0x7fffffff) < t`; spec:
//! selection-and-hashing.md §3.2) as an exact fraction and a decimal, plus the nominal fraction
//! kube-proxy meant (`1/n`). `-m recent --rcheck` matches when the packet says the client has a
//! live entry in that list (selection-and-hashing.md §4.2).
//!
//! # Example
//! ```
//! use svccore::render::iptables::{render, Form, ProxierSettings};
//! use svccore::trace::{trace, Origin, Packet};
//! let cluster = svccore::load::load_strs([(None, r#"{"apiVersion":"v1","kind":"List","items":[
//!  {"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"default"},
//!   "spec":{"clusterIP":"10.96.0.10","ports":[{"port":80}]}}]}"#)]).unwrap();
//! let s = ProxierSettings::default();
//! let rules = render(&cluster, &s, Form::Restore).unwrap();
//! let p = Packet::new("10.244.1.5".parse().unwrap(), "10.96.0.10".parse().unwrap(), 80, Origin::LocalPod);
//! let t = trace(&rules, &s, &p).unwrap();
//! assert_eq!(t.outcomes.len(), 1);
//! assert!(matches!(t.outcomes[0].verdict, svccore::trace::Verdict::Reject { .. }));
//! ```

mod cause;
mod fraction;
mod iptables;
mod ipvs;
mod ipvs_node;
mod nft_rule;
mod nftables;
mod node;
mod result;
mod text;
mod userspace;

pub use crate::netfilter::{Step, StepData, Verdict};
pub use iptables::{trace, trace_cluster, Tracer};
pub use ipvs::trace_ipvs;
pub use ipvs_node::{trace_ipvs_node, IpvsTrace};
pub use nftables::{trace_nftables, NftTracer};
pub use node::{trace_many, NodeTracer};
pub use result::{Origin, Outcome, Packet, Probability, TraceResult};
pub use text::render_text;
pub use userspace::trace_userspace;

/// Traces one packet through what kube-proxy's `mode` programs for `cluster` on the settings'
/// node: [`trace_cluster`] (iptables), [`trace_ipvs`] or [`trace_nftables`]. Bindings call
/// this so that every mode of [`crate::packet::TRACE_MODES`] reaches its own tracer
/// ([`trace_userspace`] for userspace mode).
pub fn trace_mode(
    mode: crate::proxier::config::ProxyMode,
    cluster: &crate::Cluster,
    settings: &crate::proxier::config::ProxierSettings,
    packet: &Packet,
) -> crate::Result<TraceResult> {
    use crate::proxier::config::ProxyMode;
    match mode {
        ProxyMode::Iptables => trace_cluster(cluster, settings, packet),
        ProxyMode::Ipvs => trace_ipvs(cluster, settings, packet),
        ProxyMode::Nftables => trace_nftables(cluster, settings, packet),
        ProxyMode::Userspace => trace_userspace(cluster, settings, packet),
    }
}
