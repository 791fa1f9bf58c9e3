//! Renderers: the text kube-proxy programs on a node.
//!
//! - [`iptables`]: kube-proxy's iptables mode (`iptables-restore` payload and `iptables-save`).
//! - [`ipvs`]: kube-proxy's ipvs mode (`ipvsadm -Ln`, `ipvsadm -S -n`, ipsets, addresses).

pub mod iptables;
pub mod ipvs;
