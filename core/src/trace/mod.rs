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

mod fraction;
mod iptables;
mod ipvs;
mod ipvs_node;
mod result;
mod text;

pub use crate::netfilter::{Step, Verdict};
pub use iptables::{trace, trace_cluster, Tracer};
pub use ipvs::trace_ipvs;
pub use ipvs_node::{trace_ipvs_node, IpvsTrace};
pub use result::{Origin, Outcome, Packet, Probability, TraceResult};
pub use text::render_text;
