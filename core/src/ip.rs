//! IP and CIDR parsing in the two dialects svccore models.
//!
//! The API server parses strictly (Go's `netip`: no leading zeros). kube-proxy parses "sloppily"
//! (Go's legacy `net.ParseIP` of k8s.io/utils/net: IPv4 octets may have leading zeros and are read
//! as decimal), then prints canonically. spec: kube-proxy-iptables.md §5.1, §7 case 2.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

/// Parses an IP the way kube-proxy does: IPv4 octets may carry leading zeros (decimal).
pub fn parse_ip_sloppy(s: &str) -> Option<IpAddr> {
    if s.contains(':') {
        return s.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    parse_v4_sloppy(s).map(IpAddr::V4)
}

fn parse_v4_sloppy(s: &str) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut n = 0;
    for part in s.split('.') {
        if n == 4 || part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let v: u16 = part.parse().ok()?;
        octets[n] = u8::try_from(v).ok()?;
        n += 1;
    }
    (n == 4).then(|| Ipv4Addr::from(octets))
}

/// Parses an IP the way the API server does (no leading zeros, no zone).
pub fn parse_ip_strict(s: &str) -> Option<IpAddr> {
    s.parse::<IpAddr>().ok()
}

/// Whether an IPv4 text has an octet with a leading zero (`10.0.01.1`): accepted by kube-proxy,
/// refused by current API servers.
pub fn has_leading_zero(s: &str) -> bool {
    !s.contains(':') && s.split('.').any(|p| p.len() > 1 && p.starts_with('0'))
}

/// Parses a CIDR the way kube-proxy does for source ranges: trimmed, octets with leading zeros
/// allowed, host bits cleared (Go's `ParseCIDR` returns the network). Returns the network.
pub fn parse_cidr_sloppy(s: &str) -> Option<IpNet> {
    let s = s.trim();
    let (addr, len) = s.split_once('/')?;
    let ip = parse_ip_sloppy(addr)?;
    if len.is_empty() || len.len() > 3 || !len.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let len: u8 = len.parse().ok()?;
    IpNet::new(ip, len).ok().map(|n| n.trunc())
}

/// Parses a CIDR the way the API server does: strict address syntax. Host bits are allowed (the
/// API accepts `10.0.0.1/8` in source ranges).
pub fn parse_cidr_strict(s: &str) -> Option<IpNet> {
    s.parse::<IpNet>().ok()
}

/// Go's `net.JoinHostPort`: `ip:port`, `[ip]:port` for IPv6.
pub fn join_host_port(ip: &IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(v4) => format!("{v4}:{port}"),
        IpAddr::V6(v6) => format!("[{v6}]:{port}"),
    }
}

/// Go's `net.SplitHostPort` for the forms [`join_host_port`] writes: `ip:port` or
/// `[ip]:port`, as the host and port text.
pub fn split_host_port(s: &str) -> Option<(&str, &str)> {
    match s.strip_prefix('[') {
        Some(rest) => rest.split_once("]:"),
        None => s.rsplit_once(':'),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sloppy_ipv4_reads_leading_zeros_as_decimal() {
        assert_eq!(
            parse_ip_sloppy("10.180.00.001"),
            Some("10.180.0.1".parse().unwrap())
        );
        assert_eq!(
            parse_ip_sloppy("192.168.099.022"),
            Some("192.168.99.22".parse().unwrap())
        );
        assert_eq!(
            parse_ip_sloppy("172.30.0.041"),
            Some("172.30.0.41".parse().unwrap())
        );
        assert_eq!(parse_ip_sloppy("256.1.1.1"), None);
        assert_eq!(parse_ip_sloppy("1.2.3"), None);
        assert_eq!(parse_ip_sloppy("1.2.3.4.5"), None);
        assert_eq!(parse_ip_sloppy("1.2.3.4 "), None);
        assert_eq!(parse_ip_sloppy("fd00::1"), Some("fd00::1".parse().unwrap()));
    }

    #[test]
    fn strict_refuses_leading_zeros() {
        assert!(parse_ip_strict("10.180.00.001").is_none());
        assert!(has_leading_zero("10.180.00.001"));
        assert!(!has_leading_zero("10.180.0.1"));
    }

    #[test]
    fn sloppy_cidr_trims_and_canonicalises() {
        assert_eq!(
            parse_cidr_sloppy(" 203.0.113.000/025").unwrap().to_string(),
            "203.0.113.0/25"
        );
        assert_eq!(
            parse_cidr_sloppy("10.1.2.3/8").unwrap().to_string(),
            "10.0.0.0/8"
        );
        assert!(parse_cidr_sloppy("10.0.0.0/33").is_none());
        assert!(parse_cidr_sloppy("10.0.0.0").is_none());
    }

    #[test]
    fn join_host_port_brackets_ipv6() {
        assert_eq!(
            join_host_port(&"10.0.0.1".parse().unwrap(), 80),
            "10.0.0.1:80"
        );
        assert_eq!(
            join_host_port(&"fd00::1".parse().unwrap(), 80),
            "[fd00::1]:80"
        );
    }

    #[test]
    fn split_host_port_reads_what_join_host_port_writes() {
        for (ip, port) in [("10.0.0.1", 80u16), ("fd00::1", 8443)] {
            let joined = join_host_port(&ip.parse().unwrap(), port);
            assert_eq!(
                split_host_port(&joined),
                Some((ip, port.to_string().as_str()))
            );
        }
        assert_eq!(split_host_port("10.0.0.1"), None);
    }
}
