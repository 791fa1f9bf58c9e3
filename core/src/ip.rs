//! IP and CIDR parsing in the two dialects svccore models.
//!
//! The API server parses strictly (Go's `netip`: no leading zeros). kube-proxy parses "sloppily"
//! (Go's legacy `net.ParseIP` of k8s.io/utils/net: IPv4 octets may have leading zeros and are read
//! as decimal), then prints canonically. spec: kube-proxy-iptables.md §5.1, §7 case 2.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

/// Parses an IP the way kube-proxy does: IPv4 octets may carry leading zeros (decimal).
pub fn parse_ip_sloppy(s: &str) -> Option<IpAddr> {
    // A dotted quad has no colon: read it first, and look for the colon only when it is not.
    if let Some(v4) = parse_v4::<false>(s) {
        return Some(IpAddr::V4(v4));
    }
    if !s.as_bytes().contains(&b':') {
        return None;
    }
    if let Ok(v6) = s.parse::<Ipv6Addr>() {
        return Some(IpAddr::V6(v6));
    }
    // k8s.io/utils/net strips the leading zeros of a dotted quad that ends the text after a
    // colon too (`::ffff:010.0.0.1`), then parses again.
    let (head, quad) = s.rsplit_once(':')?;
    let v4 = parse_v4::<false>(quad)?;
    format!("{head}:{v4}")
        .parse::<Ipv6Addr>()
        .ok()
        .map(IpAddr::V6)
}

/// A dotted quad: four parts of decimal digits, each part's value at most 255. `STRICT` is the
/// API server's reading (Rust's `Ipv4Addr::from_str`): no part starts with `0` unless it is
/// `0`. Otherwise it is k8s.io/utils/net's `ParseIPSloppy`: leading zeros are allowed in any
/// number (`0010` is 10). One pass over the bytes: a snapshot and validation parse every
/// endpoint address.
fn parse_v4<const STRICT: bool>(s: &str) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let (mut n, mut value, mut digits) = (0, 0u32, 0u32);
    for &c in s.as_bytes() {
        match c {
            b'0'..=b'9' => {
                if STRICT && digits == 1 && value == 0 {
                    return None;
                }
                value = value * 10 + u32::from(c - b'0');
                if value > 255 {
                    return None;
                }
                digits += 1;
            }
            b'.' if digits > 0 && n < 3 => {
                octets[n] = value as u8;
                (n, value, digits) = (n + 1, 0, 0);
            }
            _ => return None,
        }
    }
    if n != 3 || digits == 0 {
        return None;
    }
    octets[3] = value as u8;
    Some(Ipv4Addr::from(octets))
}

/// Parses an IP the way the API server does (no leading zeros, no zone): what Rust's
/// `IpAddr::from_str` accepts. A dotted quad is read first, in one pass; only a text that is
/// not one is looked at for a colon.
pub fn parse_ip_strict(s: &str) -> Option<IpAddr> {
    if let Some(v4) = parse_v4::<true>(s) {
        return Some(IpAddr::V4(v4));
    }
    if !s.as_bytes().contains(&b':') {
        return None;
    }
    s.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
}

/// Whether an IPv4 text has an octet with a leading zero (`10.0.01.1`): accepted by kube-proxy,
/// refused by current API servers. Validation names it in its message when the strict reader
/// refuses an address.
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
    crate::text::Word::host_port(ip, port).as_str().to_owned()
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

    proptest::proptest! {
        /// The strict parser is Rust's `IpAddr::from_str`, on texts made of the characters an
        /// address has (and a few it must not).
        #[test]
        fn strict_parse_is_the_standard_parser(s in "[0-9.:a-f%x ]{0,20}") {
            proptest::prop_assert_eq!(parse_ip_strict(&s), s.parse::<IpAddr>().ok());
        }

        #[test]
        fn strict_parse_of_dotted_numbers(parts in proptest::collection::vec("0{0,2}[0-9]{0,3}", 0..6)) {
            let s = parts.join(".");
            proptest::prop_assert_eq!(parse_ip_strict(&s), s.parse::<IpAddr>().ok());
        }
    }

    #[test]
    fn strict_ipv4_refuses_what_the_api_server_refuses() {
        for ok in ["0.0.0.0", "10.96.0.1", "255.255.255.255", "1.20.100.0"] {
            assert_eq!(parse_ip_strict(ok), ok.parse().ok(), "{ok}");
            assert!(parse_ip_strict(ok).is_some(), "{ok}");
        }
        for bad in [
            "010.0.0.1",
            "10.0.0.01",
            "00.0.0.0",
            "256.0.0.1",
            "1.2.3",
            "1.2.3.4.5",
            "1..2.3",
            ".1.2.3",
            "1.2.3.",
            "1.2.3.4 ",
            "",
            "1.2.3.0004",
            "+1.2.3.4",
        ] {
            assert_eq!(parse_ip_strict(bad), None, "{bad}");
            assert_eq!(bad.parse::<IpAddr>().ok(), None, "{bad}");
        }
    }

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

    /// `ParseIPSloppy` as k8s.io/utils/net writes it: strip each part's leading zeros (keeping
    /// one digit), then parse strictly.
    fn sloppy_reference(s: &str) -> Option<Ipv4Addr> {
        let parts: Vec<&str> = s.split('.').collect();
        if parts.len() != 4
            || parts
                .iter()
                .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            return None;
        }
        let stripped: Vec<&str> = parts
            .iter()
            .map(|p| match p.trim_start_matches('0') {
                "" => "0",
                rest => rest,
            })
            .collect();
        stripped.join(".").parse().ok()
    }

    #[test]
    fn sloppy_ipv4_equals_strip_then_parse_for_every_short_text() {
        // Every text of up to 8 characters over digits that matter at the octet boundaries,
        // a dot and one letter.
        let alphabet = b"0125.x";
        let mut count = 0;
        for len in 0..=8u32 {
            for mut k in 0..alphabet.len().pow(len) {
                let mut t = String::new();
                for _ in 0..len {
                    t.push(alphabet[k % alphabet.len()] as char);
                    k /= alphabet.len();
                }
                assert_eq!(parse_v4::<false>(&t), sloppy_reference(&t), "{t:?}");
                count += 1;
            }
        }
        assert!(count > 1_000_000);
        for t in [
            "0001.0002.0003.0255",
            "000000000010.0.0.1",
            "0256.0.0.1",
            "1.2.3.0000",
        ] {
            assert_eq!(parse_v4::<false>(t), sloppy_reference(t), "{t:?}");
        }
        assert_eq!(
            parse_ip_sloppy("0010.0.0.01"),
            Some("10.0.0.1".parse().unwrap())
        );
        assert_eq!(
            parse_ip_sloppy("::ffff:010.000.0.1"),
            Some("::ffff:10.0.0.1".parse().unwrap())
        );
        assert_eq!(parse_ip_sloppy("::ffff:010.000.0.256"), None);
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
