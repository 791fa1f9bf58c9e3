//! A traced packet described by text: the arguments `trace` takes in Python, JavaScript and on
//! the command line (`src`, `dst`, `proto`, `from`), parsed once so that every binding accepts
//! and refuses the same values with the same messages.
//!
//! # Example
//! ```
//! use svccore::packet::{parse_packet, PacketArgs};
//! use svccore::trace::Origin;
//! let p = parse_packet(&PacketArgs { src: "10.1.0.9", dst: "10.96.0.10:80", from: "node", ..Default::default() }).unwrap();
//! assert_eq!((p.dst_port, p.origin), (80, Origin::Host));
//! let e = parse_packet(&PacketArgs { src: "10.1.0.9", dst: "10.96.0.10:80", from: "mars", ..Default::default() }).unwrap_err();
//! assert_eq!(e.to_string(), "unknown traffic source \"mars\": expected pod, node, other-node or external");
//! ```

use std::net::{IpAddr, SocketAddr};

use crate::model::{IpFamily, Protocol};
use crate::proxier::config::{or_list, ProxyMode};
use crate::trace::{Origin, Packet};
use crate::{Error, Result};

/// The modes `trace` follows a packet through (iptables and nftables: the rules evaluated;
/// ipvs: the virtual server's scheduler; userspace: the portal rules, then the proxy's round
/// robin).
pub const TRACE_MODES: [ProxyMode; 4] = [
    ProxyMode::Iptables,
    ProxyMode::Ipvs,
    ProxyMode::Nftables,
    ProxyMode::Userspace,
];

/// The protocols a packet can be traced with, by their lower-case names.
pub const PROTOCOL_NAMES: [&str; 3] = ["tcp", "udp", "sctp"];

/// `from`: where the packet comes from ([`Origin::NAMES`] or an alias).
pub fn parse_origin(s: &str) -> Result<Origin> {
    Origin::parse(s).ok_or_else(|| {
        Error::InvalidArgument(format!(
            "unknown traffic source {s:?}: expected {}",
            or_list(&Origin::NAMES)
        ))
    })
}

/// `proto`: `tcp`, `udp` or `sctp`, in any case.
pub fn parse_protocol(s: &str) -> Result<Protocol> {
    let lower = s.to_ascii_lowercase();
    if PROTOCOL_NAMES.contains(&lower.as_str()) {
        return Ok(Protocol::parse(&lower.to_ascii_uppercase()));
    }
    Err(Error::InvalidArgument(format!(
        "unknown protocol {s:?}: expected {}",
        or_list(&PROTOCOL_NAMES)
    )))
}

/// `src`: an IP address (surrounding blanks ignored).
pub fn parse_src(s: &str) -> Result<IpAddr> {
    s.trim()
        .parse()
        .map_err(|_| Error::InvalidArgument(format!("src {s:?} is not an IP address")))
}

/// `dst`: `ip:port` (`[ip]:port` for IPv6), or an IP with the port given apart (`port`).
pub fn parse_dst(s: &str, port: Option<u16>) -> Result<(IpAddr, u16)> {
    let t = s.trim();
    let bad = |msg: String| Error::InvalidArgument(msg);
    let (ip, p) = match (t.parse::<IpAddr>(), port) {
        (Ok(ip), Some(p)) => (ip, p),
        (Ok(_), None) => {
            return Err(bad(format!(
                "dst {t:?} has no port: write ip:port ([ip]:port for IPv6)"
            )))
        }
        (Err(_), _) => {
            let sa: SocketAddr = t
                .parse()
                .map_err(|_| bad(format!("dst {t:?} is not ip:port (use [ip]:port for IPv6)")))?;
            (sa.ip(), sa.port())
        }
    };
    if p == 0 {
        return Err(bad(format!("dst {t:?}: port 0")));
    }
    Ok((ip, p))
}

/// The family of the kube-proxy that handles a packet: its destination's (each proxier sees
/// one family).
pub fn proxier_family(p: &Packet) -> IpFamily {
    IpFamily::of(&p.dst)
}

/// Refuses a source and a destination of different families (one kube-proxy sees one family:
/// the destination's).
pub fn check_families(src: IpAddr, dst: IpAddr) -> Result<()> {
    let family = IpFamily::of(&dst);
    if IpFamily::of(&src) != family {
        return Err(Error::InvalidArgument(format!(
            "src {src} and dst {dst} are of different IP families: a {} kube-proxy sees {dst}",
            family.as_str()
        )));
    }
    Ok(())
}

/// The textual arguments of a traced packet.
#[derive(Clone, Copy, Debug)]
pub struct PacketArgs<'a> {
    /// The client address.
    pub src: &'a str,
    /// The destination, `ip:port` (or an IP with `port`).
    pub dst: &'a str,
    /// The destination port, when `dst` is an IP alone.
    pub port: Option<u16>,
    /// `tcp`, `udp` or `sctp`.
    pub proto: &'a str,
    /// Where the packet comes from.
    pub from: &'a str,
}

impl Default for PacketArgs<'_> {
    /// TCP from a pod on the node; `src` and `dst` empty.
    fn default() -> Self {
        PacketArgs {
            src: "",
            dst: "",
            port: None,
            proto: "tcp",
            from: "pod",
        }
    }
}

/// The packet the arguments describe (its family is the destination's).
pub fn parse_packet(a: &PacketArgs<'_>) -> Result<Packet> {
    let src = parse_src(a.src)?;
    let (dst, port) = parse_dst(a.dst, a.port)?;
    check_families(src, dst)?;
    let mut p = Packet::new(src, dst, port, parse_origin(a.from)?);
    p.protocol = parse_protocol(a.proto)?;
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_is_the_host_and_other_node_another_node() {
        assert_eq!(parse_origin("node").unwrap(), Origin::Host);
        assert_eq!(parse_origin("host").unwrap(), Origin::Host);
        assert_eq!(parse_origin("other-node").unwrap(), Origin::OtherNode);
        assert_eq!(parse_origin("pod").unwrap(), Origin::LocalPod);
        assert_eq!(parse_origin("external").unwrap(), Origin::External);
        for name in Origin::NAMES {
            assert!(parse_origin(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn protocols_in_any_case_and_clear_refusals() {
        assert_eq!(parse_protocol("UDP").unwrap(), Protocol::Udp);
        assert_eq!(parse_protocol("sctp").unwrap(), Protocol::Sctp);
        assert_eq!(
            parse_protocol("icmp").unwrap_err().to_string(),
            "unknown protocol \"icmp\": expected tcp, udp or sctp"
        );
    }

    #[test]
    fn destinations_with_and_without_a_separate_port() {
        let v6: IpAddr = "fd00::1".parse().unwrap();
        assert_eq!(parse_dst("[fd00::1]:80", None).unwrap(), (v6, 80));
        assert_eq!(parse_dst(" fd00::1 ", Some(443)).unwrap(), (v6, 443));
        let msg = |s, p| parse_dst(s, p).unwrap_err().to_string();
        assert!(msg("10.0.0.1", None).contains("has no port"));
        // An IPv6 address that ends like a port is an address: the hint says how to add one.
        assert!(msg("fd00::1:80", None).contains("has no port: write ip:port ([ip]:port"));
        assert!(msg("x:80", None).contains("is not ip:port"));
        assert!(msg("10.0.0.1:0", None).contains("port 0"));
        assert!(parse_src("10.0.0.300").is_err());
        let e = check_families("fd00::1".parse().unwrap(), "10.0.0.1".parse().unwrap());
        assert!(e.unwrap_err().to_string().contains("different IP families"));
    }
}
