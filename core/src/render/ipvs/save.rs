//! `ipvsadm -S -n` (ipvsadm-save): the rules as `ipvsadm -R` reads them back. spec: ipvs.md §3.

use std::fmt::Write;

use super::build::{addrport, IpvsNode, FLAG_ONEPACKET, FLAG_PERSISTENT};
use super::list::{dest_order, service_order};
use super::state::VsId;
use crate::model::Protocol;

/// The save form's service switch and address (`-t 10.96.0.1:443`, `--sctp-service ...`).
pub fn save_service_name(id: &VsId) -> String {
    let sw = match id.protocol {
        Protocol::Tcp => "-t",
        Protocol::Udp => "-u",
        Protocol::Sctp => "--sctp-service",
        Protocol::Other(_) => "--xxx-service",
    };
    format!("{sw} {}", addrport(&id.addr, id.port))
}

/// Renders `ipvsadm -S -n`: one `-A` line per virtual server and one `-a` line per real server,
/// in the listing's order (or creation order with `nosort`).
pub fn render_save(node: &IpvsNode, nosort: bool) -> String {
    let mut out = String::with_capacity(node.virtual_servers.len() * 200);
    for vs in service_order(node, nosort) {
        let svc = save_service_name(&vs.id);
        let _ = write!(out, "-A {svc} -s {}", vs.scheduler);
        if vs.flags & FLAG_PERSISTENT != 0 {
            let _ = write!(out, " -p {}", vs.timeout);
            if vs.id.addr.is_ipv4() && vs.netmask != u32::MAX {
                let _ = write!(out, " -M {}", std::net::Ipv4Addr::from(vs.netmask));
            }
            if vs.id.addr.is_ipv6() && vs.netmask != 128 {
                let _ = write!(out, " -M {}", vs.netmask);
            }
        }
        // Unlike the listing, the save form prints the engine with or without persistence.
        if !vs.pe_name.is_empty() {
            let _ = write!(out, " --pe {}", vs.pe_name);
        }
        if vs.flags & FLAG_ONEPACKET != 0 {
            out.push_str(" -o");
        }
        let flags = vs.sched_flags_text();
        if !flags.is_empty() {
            let _ = write!(out, " -b {flags}");
        }
        out.push('\n');
        for rs in dest_order(vs, nosort) {
            let _ = writeln!(
                out,
                // SocketAddr prints `ip:port` / `[ip]:port` (no scope id: kube-proxy sets none).
                "-a {svc} -r {} {} -w {}",
                rs.addr,
                rs.forward.save_switch(),
                rs.weight
            );
        }
    }
    out
}

impl IpvsNode {
    /// `ipvsadm -S -n`.
    pub fn save(&self) -> String {
        render_save(self, false)
    }
}
