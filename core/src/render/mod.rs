//! Renderers: the text kube-proxy programs on a node.
//!
//! - [`iptables`]: kube-proxy's iptables mode (`iptables-restore` payload and `iptables-save`).
//! - [`nftables`]: kube-proxy's nftables mode (the `kube-proxy` table as kube-proxy's tests dump
//!   it, as an `nft -f` payload, and as `nft list table` prints it).
//! - [`ipvs`]: kube-proxy's ipvs mode (`ipvsadm -Ln` and variants, `ipvsadm -S -n`, `ipset save`, the
//!   ipvs-mode `iptables-restore` payload, `ip addr show kube-ipvs0`, the trace lookup).

pub mod iptables;
pub mod ipvs;
pub mod nftables;
mod text;
