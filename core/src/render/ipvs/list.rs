//! `ipvsadm -L -n` and its variants, with ipvsadm's printf widths. spec: ipvs.md §2, §5.

use std::fmt::Write;

use super::build::{addrport, IpvsNode, RealServer, VirtualServer};
use super::sort::{cmp_dests, cmp_services, glibc_msort};
use super::state::{Counters5, IpvsState, VsId};
use crate::model::Protocol;
use crate::text::{push_i64, push_socket_addr};
use crate::{Error, Result};

/// Which `ipvsadm -L -n` variant to print.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ListFormat {
    /// Default: scheduler, flags, Forward/Weight/ActiveConn/InActConn.
    #[default]
    Default,
    /// `--stats`: Conns/InPkts/OutPkts/InBytes/OutBytes.
    Stats,
    /// `--rate`: CPS/InPPS/OutPPS/InBPS/OutBPS.
    Rate,
    /// `--thresholds`: Uthreshold/Lthreshold/ActiveConn/InActConn (thresholds are 0 under
    /// kube-proxy).
    Thresholds,
    /// `--persistent-conn`: Weight/PersistConn/ActiveConn/InActConn.
    PersistentConn,
}

/// Options of the listing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// The variant.
    pub format: ListFormat,
    /// `--exact`: large numbers unabridged.
    pub exact: bool,
    /// `--nosort`: creation order for services and kernel list order for real servers (the
    /// kernel's hash order is not reproducible; this is svccore's stand-in).
    pub nosort: bool,
    /// `-t/-u/--sctp-service VIP:port`: list one service (title lines, no version header).
    pub service: Option<VsId>,
}

/// ipvsadm's service order (glibc merge sort of the creation order), or creation order.
pub(crate) fn service_order(node: &IpvsNode, nosort: bool) -> Vec<&VirtualServer> {
    let mut v: Vec<&VirtualServer> = node.virtual_servers.iter().collect();
    if !nosort {
        glibc_msort(&mut v, &mut |a: &&VirtualServer, b: &&VirtualServer| {
            cmp_services(
                (&a.id.protocol, &a.id.addr, a.id.port),
                (&b.id.protocol, &b.id.addr, b.id.port),
            )
        });
    }
    v
}

/// ipvsadm's real-server order (glibc merge sort of the kernel list), or kernel list order.
pub(crate) fn dest_order(vs: &VirtualServer, nosort: bool) -> Vec<&RealServer> {
    let mut v: Vec<&RealServer> = vs.real_servers.iter().collect();
    if !nosort {
        glibc_msort(&mut v, &mut |a: &&RealServer, b: &&RealServer| {
            cmp_dests((&a.addr.ip(), a.addr.port()), (&b.addr.ip(), b.addr.port()))
        });
    }
    v
}

/// `TCP`, `UDP`, `SCTP` or `?`.
pub(crate) fn proto_name(p: &Protocol) -> &'static str {
    match p {
        Protocol::Tcp => "TCP",
        Protocol::Udp => "UDP",
        Protocol::Sctp => "SCTP",
        Protocol::Other(_) => "?",
    }
}

/// The listing's service name: `{:<4} {addrport}`, cut to 33 characters for IPv4.
pub fn service_name(id: &VsId) -> String {
    let mut s = format!(
        "{:<4} {}",
        proto_name(&id.protocol),
        addrport(&id.addr, id.port)
    );
    if id.addr.is_ipv4() {
        s.truncate(33);
    }
    s
}

/// Writes the listing's real-server name into `buf` (cleared first).
fn dest_name(buf: &mut String, rs: &RealServer) {
    buf.clear();
    match rs.addr {
        std::net::SocketAddr::V4(_) => {
            push_socket_addr(buf, &rs.addr);
            buf.truncate(28);
        }
        std::net::SocketAddr::V6(a) => {
            let _ = write!(buf, "[{}]:{}", a.ip(), a.port());
        }
    }
}

/// `%-{width}s`: `s`, then spaces up to `width` characters (never cut).
fn pad(out: &mut String, s: &str, width: usize) {
    // Wider than any column of the listing; a wider one would get the rest one by one.
    const SPACES: &str = "                                ";
    out.push_str(s);
    let mut n = width.saturating_sub(s.len());
    while n > 0 {
        let k = n.min(SPACES.len());
        out.push_str(&SPACES[..k]);
        n -= k;
    }
}

/// Decimal text of `v` in `buf`.
fn itoa(buf: &mut String, v: i64) -> &str {
    buf.clear();
    push_i64(buf, v);
    buf.as_str()
}

/// ipvsadm's `print_largenum`.
pub fn largenum(out: &mut String, i: u64, exact: bool) {
    if exact {
        let len = i.to_string().len();
        let w = if len <= 8 { 9 } else { len + 1 };
        let _ = write!(out, "{i:>w$}");
    } else if i < 100_000_000 {
        let _ = write!(out, "{i:>9}");
    } else if i < 1_000_000_000 {
        let _ = write!(out, "{:>8}K", i / 1000);
    } else if i < 100_000_000_000 {
        let _ = write!(out, "{:>8}M", i / 1_000_000);
    } else if i < 100_000_000_000_000 {
        let _ = write!(out, "{:>8}G", i / 1_000_000_000);
    } else {
        let _ = write!(out, "{:>8}T", i / 1_000_000_000_000);
    }
}

fn title(out: &mut String, f: ListFormat) {
    let (cols, names): (&str, [&str; 5]) = match f {
        ListFormat::Default => {
            out.push_str(
                "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n",
            );
            return;
        }
        ListFormat::Stats => ("r8", ["Conns", "InPkts", "OutPkts", "InBytes", "OutBytes"]),
        ListFormat::Rate => ("r8", ["CPS", "InPPS", "OutPPS", "InBPS", "OutBPS"]),
        ListFormat::Thresholds => (
            "thr",
            ["Uthreshold", "Lthreshold", "ActiveConn", "InActConn", ""],
        ),
        ListFormat::PersistentConn => (
            "pc",
            ["Weight", "PersistConn", "ActiveConn", "InActConn", ""],
        ),
    };
    let _ = write!(out, "{:<33}", "Prot LocalAddress:Port");
    match cols {
        "r8" => {
            for n in names {
                let _ = write!(out, " {n:>8}");
            }
        }
        "thr" => {
            let _ = write!(
                out,
                " {:<10} {:<10} {:<10} {:<10}",
                names[0], names[1], names[2], names[3]
            );
        }
        _ => {
            let _ = write!(
                out,
                " {:<9} {:<11} {:<10} {:<10}",
                names[0], names[1], names[2], names[3]
            );
        }
    }
    out.push_str("\n  -> RemoteAddress:Port\n");
}

fn service_entry(out: &mut String, vs: &VirtualServer, state: Option<&IpvsState>, o: &ListOptions) {
    let name = service_name(&vs.id);
    let dests = dest_order(vs, o.nosort);
    match o.format {
        ListFormat::Stats | ListFormat::Rate => {
            let rates = o.format == ListFormat::Rate;
            let c = state
                .map(|s| s.service_totals(&vs.id, dests.iter().map(|d| d.addr), rates))
                .unwrap_or_default();
            let _ = write!(out, "{name:<33}");
            for v in c.0 {
                largenum(out, v, o.exact);
            }
        }
        _ => {
            let _ = write!(out, "{name} {}", vs.scheduler);
            let flags = vs.sched_flags_text();
            if !flags.is_empty() {
                let _ = write!(out, " ({flags})");
            }
            if let Some(t) = vs.persistence() {
                let _ = write!(out, " persistent {t}");
                if vs.id.addr.is_ipv4() && vs.netmask != u32::MAX {
                    let _ = write!(out, " mask {}", std::net::Ipv4Addr::from(vs.netmask));
                }
                if vs.id.addr.is_ipv6() && vs.netmask != 128 {
                    let _ = write!(out, " mask {}", vs.netmask);
                }
                if !vs.pe_name.is_empty() {
                    let _ = write!(out, " pe {}", vs.pe_name);
                }
            }
            if vs.flags & super::build::FLAG_ONEPACKET != 0 {
                out.push_str(" ops");
            }
        }
    }
    out.push('\n');
    let mut d = String::with_capacity(48);
    let mut num = String::with_capacity(24);
    for rs in dests {
        dest_name(&mut d, rs);
        let d = d.as_str();
        let s = state.map(|s| s.rs(&vs.id, &rs.addr)).unwrap_or_default();
        match o.format {
            ListFormat::Default => {
                // "  -> %-28s %-7s %-6d %-10u %-10u\n", padded by hand: this line is most of
                // a large listing and `fmt` width handling dominates its cost.
                out.push_str("  -> ");
                pad(out, d, 28);
                out.push(' ');
                pad(out, rs.forward.list_name(), 7);
                out.push(' ');
                pad(out, itoa(&mut num, i64::from(rs.weight)), 6);
                out.push(' ');
                pad(out, itoa(&mut num, i64::from(s.active_conns)), 10);
                out.push(' ');
                pad(out, itoa(&mut num, i64::from(s.inact_conns)), 10);
                out.push('\n');
            }
            ListFormat::Stats => {
                let _ = write!(out, "  -> {d:<28}");
                for v in s.stats.0 {
                    largenum(out, v, o.exact);
                }
                out.push('\n');
            }
            ListFormat::Rate => {
                let Counters5(r) = s.rates;
                let _ = write!(out, "  -> {d:<28} {:>8} {:>8} {:>8}", r[0], r[1], r[2]);
                largenum(out, r[3], o.exact);
                largenum(out, r[4], o.exact);
                out.push('\n');
            }
            ListFormat::Thresholds => {
                let _ = writeln!(
                    out,
                    "  -> {:<28} {:<10} {:<10} {:<10} {:<10}",
                    d, 0, 0, s.active_conns, s.inact_conns
                );
            }
            ListFormat::PersistentConn => {
                let _ = writeln!(
                    out,
                    "  -> {:<28} {:<9} {:<11} {:<10} {:<10}",
                    d,
                    // ipvsadm prints the weight with %u here.
                    rs.weight as u32,
                    s.persist_conns,
                    s.active_conns,
                    s.inact_conns
                );
            }
        }
    }
}

/// Renders `ipvsadm -L -n` (or a variant) for the node, counters from `state` (zeros when
/// `None`).
///
/// # Errors
/// [`Error::UnknownService`] when `opts.service` names a virtual server that does not exist
/// (ipvsadm: "No such service").
pub fn render_list(
    node: &IpvsNode,
    state: Option<&IpvsState>,
    opts: &ListOptions,
) -> Result<String> {
    // About 80 bytes per line: one line per virtual server and per real server.
    let lines: usize = node
        .virtual_servers
        .iter()
        .map(|vs| 1 + vs.real_servers.len())
        .sum();
    let mut out = String::with_capacity(256 + lines * 80);
    if let Some(id) = &opts.service {
        let vs = node
            .lookup(&id.protocol, id.addr, id.port)
            .ok_or_else(|| Error::UnknownService(format!("virtual server {id}")))?;
        title(&mut out, opts.format);
        service_entry(&mut out, vs, state, opts);
        return Ok(out);
    }
    let _ = writeln!(
        out,
        "IP Virtual Server version 1.2.1 (size={})",
        node.settings.ipvs.conn_tab_size
    );
    title(&mut out, opts.format);
    for vs in service_order(node, opts.nosort) {
        service_entry(&mut out, vs, state, opts);
    }
    Ok(out)
}

impl IpvsNode {
    /// `ipvsadm -Ln` with counters from `state` (zeros when `None`).
    pub fn list(&self, state: Option<&IpvsState>) -> String {
        render_list(self, state, &ListOptions::default()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn largenum_switches_units_like_ipvsadm() {
        let f = |i, e| {
            let mut s = String::new();
            largenum(&mut s, i, e);
            s
        };
        assert_eq!(f(0, false), "        0");
        assert_eq!(f(99_999_999, false), " 99999999");
        assert_eq!(f(100_000_000, false), "  100000K");
        assert_eq!(f(1_234_567_890, false), "    1234M");
        assert_eq!(f(123_456_789_012, false), "     123G");
        assert_eq!(f(123_456_789_012_345, false), "     123T");
        assert_eq!(f(1_234_567_890, true), " 1234567890");
        assert_eq!(f(7, true), "        7");
    }

    #[test]
    fn service_names_pad_protocol_to_four() {
        let id = VsId::new(Protocol::Sctp, "255.255.255.255".parse().unwrap(), 65535);
        assert_eq!(service_name(&id), "SCTP 255.255.255.255:65535");
        let id = VsId::new(Protocol::Udp, "fd00:10:96::a".parse().unwrap(), 53);
        assert_eq!(service_name(&id), "UDP  [fd00:10:96::a]:53");
    }
}
