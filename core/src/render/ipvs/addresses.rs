//! `ip addr show kube-ipvs0`: the dummy interface kube-proxy binds service addresses to.
//! spec: ipvs.md §8.2.
//!
//! kube-proxy creates `kube-ipvs0` as a dummy link and never sets it up: `<BROADCAST,NOARP>`,
//! qdisc `noop`, state DOWN, and the dummy driver's queue length 1000. It binds each address as a
//! host route (`/32`, `/128`, scope global). The kernel lists IPv4 addresses in bind order; IPv6
//! addresses of one scope newest first [I]; NOARP links skip duplicate address detection, so no
//! `tentative` flag [I]. The interface index and MAC are settings (random on a real node).

use std::fmt::Write;
use std::net::IpAddr;

use super::build::IpvsNode;

/// Renders `ip addr show kube-ipvs0` for one or two (dual-stack) proxiers of a node. Link
/// details come from the first node's settings.
pub fn render_addresses(nodes: &[&IpvsNode]) -> String {
    let mut out = String::new();
    let Some(first) = nodes.first() else {
        return out;
    };
    let s = &first.settings;
    let _ = writeln!(
        out,
        "{}: kube-ipvs0: <BROADCAST,NOARP> mtu 1500 qdisc noop state DOWN group default qlen 1000",
        s.ipvs.dummy_ifindex
    );
    let _ = writeln!(
        out,
        "    link/ether {} brd ff:ff:ff:ff:ff:ff",
        s.ipvs.dummy_mac
    );
    let all: Vec<IpAddr> = nodes
        .iter()
        .flat_map(|n| n.bound_addresses.iter().copied())
        .collect();
    for ip in all.iter().filter(|ip| ip.is_ipv4()) {
        let _ = writeln!(out, "    inet {ip}/32 scope global kube-ipvs0");
        out.push_str("       valid_lft forever preferred_lft forever\n");
    }
    for ip in all.iter().rev().filter(|ip| ip.is_ipv6()) {
        // iproute2 prints no label for IPv6, leaving the space after the scope.
        let _ = writeln!(out, "    inet6 {ip}/128 scope global ");
        out.push_str("       valid_lft forever preferred_lft forever\n");
    }
    out
}

impl IpvsNode {
    /// `ip addr show kube-ipvs0` for this proxier alone.
    pub fn addresses(&self) -> String {
        render_addresses(&[self])
    }
}
