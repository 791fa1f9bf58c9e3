//! `ipvsadm -S -n` (ipvsadm-save): the rules as `ipvsadm -R` reads them back. spec: ipvs.md §3.

use std::fmt::Write;

use super::build::{addrport, IpvsNode, FLAG_ONEPACKET, FLAG_PERSISTENT};
use super::list::{dest_order, service_order};
use super::state::VsId;
use crate::model::Protocol;
use crate::text::{push_i64, push_socket_addr};

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
    // A real server's line repeats its service's switch and address (at most 60 bytes).
    let size: usize = node
        .virtual_servers
        .iter()
        .map(|vs| 100 + vs.real_servers.len() * 110)
        .sum();
    let mut out = String::with_capacity(size);
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
            // `-a SVC -r ADDR SWITCH -w WEIGHT`, written piece by piece: these lines are most
            // of the text.
            out.push_str("-a ");
            out.push_str(&svc);
            out.push_str(" -r ");
            // `ip:port` / `[ip]:port`, as SocketAddr prints it (no scope id: kube-proxy sets
            // none).
            push_socket_addr(&mut out, &rs.addr);
            out.push(' ');
            out.push_str(rs.forward.save_switch());
            out.push_str(" -w ");
            push_i64(&mut out, i64::from(rs.weight));
            out.push('\n');
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
