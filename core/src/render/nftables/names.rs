//! Object names: kube-proxy's hashed per-service-port and per-endpoint names and the fixed names
//! of its `kube-proxy` table.
//!
//! A service port's *base* is `HASH-ns/name/proto/portName` and an endpoint's is
//! `HASH-ns/name/proto/portName__IP/port` (an IPv6 address with `:` written as `.`), where `HASH`
//! is the first 8 characters of the standard base32 of the SHA-256 of the text after it. A base
//! longer than 240 bytes (nft's 256-byte name limit minus 16 for the prefix) is cut to 237 bytes
//! plus `...`. Chains are `service-`, `local-`, `external-`, `firewall-` + port base and
//! `endpoint-` + endpoint base; an endpoint's affinity set is `affinity-` + endpoint base.
//! (kube-proxy `hashAndTruncate`, `servicePortChainNameBase`, `servicePortEndpointChainNameBase`.)

use sha2::{Digest, Sha256};

/// The table kube-proxy owns (`ip kube-proxy` / `ip6 kube-proxy`).
pub const TABLE: &str = "kube-proxy";

/// Cluster-policy chain prefix.
pub const SERVICE_PREFIX: &str = "service-";
/// Local-policy chain prefix.
pub const LOCAL_PREFIX: &str = "local-";
/// External-traffic chain prefix.
pub const EXTERNAL_PREFIX: &str = "external-";
/// Firewall (loadBalancerSourceRanges) chain prefix.
pub const FIREWALL_PREFIX: &str = "firewall-";
/// Endpoint chain prefix.
pub const ENDPOINT_PREFIX: &str = "endpoint-";
/// ClientIP affinity set prefix.
pub const AFFINITY_PREFIX: &str = "affinity-";

/// `services`: dispatch by destination (nat chains jump here).
pub const SERVICES: &str = "services";
/// `service-ips`: ClusterIP, external IP and load-balancer IP verdict map.
pub const SERVICE_IPS: &str = "service-ips";
/// `service-nodeports`: NodePort verdict map.
pub const SERVICE_NODEPORTS: &str = "service-nodeports";
/// `nodeport-ips`: the addresses that accept NodePort traffic.
pub const NODEPORT_IPS: &str = "nodeport-ips";
/// `cluster-ips`: every active ClusterIP.
pub const CLUSTER_IPS: &str = "cluster-ips";
/// `service-endpoints-check`.
pub const SERVICE_ENDPOINTS_CHECK: &str = "service-endpoints-check";
/// `nodeport-endpoints-check`.
pub const NODEPORT_ENDPOINTS_CHECK: &str = "nodeport-endpoints-check";
/// `no-endpoint-services`: drop/reject verdicts for service IPs without endpoints.
pub const NO_ENDPOINT_SERVICES: &str = "no-endpoint-services";
/// `no-endpoint-nodeports`: drop/reject verdicts for node ports without endpoints.
pub const NO_ENDPOINT_NODEPORTS: &str = "no-endpoint-nodeports";
/// `reject-chain`.
pub const REJECT_CHAIN: &str = "reject-chain";
/// `cluster-ips-check`: traffic to unknown ports of ClusterIPs and unallocated ClusterIPs.
pub const CLUSTER_IPS_CHECK: &str = "cluster-ips-check";
/// `firewall-ips`: destinations subject to loadBalancerSourceRanges.
pub const FIREWALL_IPS: &str = "firewall-ips";
/// `firewall-check`.
pub const FIREWALL_CHECK: &str = "firewall-check";
/// `mark-for-masquerade`.
pub const MARK_FOR_MASQUERADE: &str = "mark-for-masquerade";
/// `masquerading`.
pub const MASQUERADING: &str = "masquerading";

/// The longest base kube-proxy keeps (`knftables.NameLengthMax` 256 minus 16).
pub const BASE_MAX: usize = 240;

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// The first 8 characters of base32(sha256(`text`)) (the first 5 digest bytes, 40 bits).
fn hash8(text: &[u8]) -> [u8; 8] {
    let d = Sha256::digest(text);
    let v = d[..5].iter().fold(0u64, |a, &b| (a << 8) | u64::from(b));
    let mut out = [0u8; 8];
    for (i, o) in out.iter_mut().enumerate() {
        *o = BASE32[((v >> (35 - 5 * i)) & 31) as usize];
    }
    out
}

/// Writes `HASH-text` for `text` given as parts, cut as kube-proxy cuts it.
fn write_hashed(out: &mut String, parts: &[&str]) {
    // The text goes in first, after room for the hash, and is hashed where it lies: one
    // contiguous input rather than one hasher update per part.
    const ROOM: &str = "00000000-";
    let start = out.len();
    out.push_str(ROOM);
    for p in parts {
        out.push_str(p);
    }
    let hash = hash8(&out.as_bytes()[start + ROOM.len()..]);
    // The alphabet is ASCII; the replaced range is ASCII too, and as long.
    out.replace_range(
        start..start + hash.len(),
        std::str::from_utf8(&hash).unwrap_or_default(),
    );
    if out.len() - start > BASE_MAX {
        // Every part is ASCII (validated names, protocols, digits, IP text), so any byte
        // offset is a char boundary.
        out.truncate(start + BASE_MAX - 3);
        out.push_str("...");
    }
}

/// Appends a service port's base (`HASH-ns/name/proto/portName`) to `out`.
pub fn write_port_base(out: &mut String, namespace: &str, name: &str, proto: &str, port: &str) {
    write_hashed(out, &[namespace, "/", name, "/", proto, "/", port]);
}

/// Appends an endpoint's base (`HASH-ns/name/proto/portName__IP/port`) to `out`. `endpoint` is
/// kube-proxy's endpoint string, `ip:port` or `[ip]:port`.
pub fn write_endpoint_base(
    out: &mut String,
    namespace: &str,
    name: &str,
    proto: &str,
    port: &str,
    endpoint: &str,
) {
    let (host, ep_port) = split_host_port(endpoint);
    // An IPv6 address is at most 45 bytes of text; a longer host is not an address and is
    // hashed as it is (the snapshot never produces one).
    let mut buf = [0u8; 64];
    let host = if host.contains(':') && host.len() <= buf.len() {
        for (b, c) in buf.iter_mut().zip(host.bytes()) {
            *b = if c == b':' { b'.' } else { c };
        }
        std::str::from_utf8(&buf[..host.len()]).unwrap_or(host)
    } else {
        host
    };
    write_hashed(
        out,
        &[
            namespace, "/", name, "/", proto, "/", port, "__", host, "/", ep_port,
        ],
    );
}

/// A service port's base as a new string.
///
/// # Example
/// ```
/// use svccore::render::nftables::names::port_base;
/// assert_eq!(port_base("ns1", "svc1", "tcp", "p80"), "ULMVA6XW-ns1/svc1/tcp/p80");
/// ```
pub fn port_base(namespace: &str, name: &str, proto: &str, port: &str) -> String {
    let mut s = String::with_capacity(16 + namespace.len() + name.len() + port.len());
    write_port_base(&mut s, namespace, name, proto, port);
    s
}

/// An endpoint's base as a new string.
///
/// # Example
/// ```
/// use svccore::render::nftables::names::endpoint_base;
/// assert_eq!(
///     endpoint_base("ns1", "svc1", "tcp", "p80", "10.180.0.1:80"),
///     "5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80"
/// );
/// ```
pub fn endpoint_base(
    namespace: &str,
    name: &str,
    proto: &str,
    port: &str,
    endpoint: &str,
) -> String {
    let mut s = String::with_capacity(64 + namespace.len() + name.len() + port.len());
    write_endpoint_base(&mut s, namespace, name, proto, port, endpoint);
    s
}

/// `ip:port` / `[ip]:port` → (`ip`, `port`), as Go's `net.SplitHostPort` reads kube-proxy's
/// endpoint strings.
fn split_host_port(e: &str) -> (&str, &str) {
    if let Some(rest) = e.strip_prefix('[') {
        if let Some((h, p)) = rest.split_once("]:") {
            return (h, p);
        }
    }
    e.rsplit_once(':').unwrap_or((e, ""))
}

#[cfg(test)]
mod tests {
    use super::*;

    // kube-proxy's Test_servicePortChainNameBase and Test_servicePortEndpointChainNameBase
    // vectors (the nine of tests/conformance/nftables/check_fixtures.py).
    const LNS: &str = "very-long-namespace-name-abcdefghijklmnopqrstuvwxyz0123456789xx";
    const LSVC: &str = "very-long-service-name-why-would-you-even-do-this-i-mean-really";
    const LPORT: &str = "port-443-providing-the-hypertext-transmission-protocol-with-tls";

    #[test]
    fn port_bases_match_kube_proxy_vectors() {
        assert_eq!(
            port_base("testing", "service", "tcp", "http"),
            "P4ZYZVCF-testing/service/tcp/http"
        );
        assert_eq!(
            port_base("testing", "service", "tcp", "https"),
            "LZBRENCP-testing/service/tcp/https"
        );
        assert_eq!(
            port_base(LNS, LSVC, "sctp", LPORT),
            format!("KR6NACJP-{LNS}/{LSVC}/sctp/{LPORT}")
        );
    }

    #[test]
    fn endpoint_bases_match_kube_proxy_vectors() {
        let ep = |e: &str| endpoint_base("testing", "service", "tcp", "http", e);
        assert_eq!(
            ep("10.180.0.1:80"),
            "JO2XBXZR-testing/service/tcp/http__10.180.0.1/80"
        );
        assert_eq!(
            ep("10.180.0.2:80"),
            "5S6H3H22-testing/service/tcp/http__10.180.0.2/80"
        );
        assert_eq!(
            ep("[fd80:abcd:12::a1b2:c3d4:e5f6:9999]:80"),
            "U7E2ET36-testing/service/tcp/http__fd80.abcd.12..a1b2.c3d4.e5f6.9999/80"
        );
    }

    #[test]
    fn long_endpoint_bases_are_cut_to_240_bytes_like_kube_proxy() {
        let ep = |e: &str| endpoint_base(LNS, LSVC, "sctp", LPORT, e);
        let fits = ep("[1234:5678:9abc:def0::abc:1234]:443");
        assert_eq!(
            fits,
            format!("5YS7AFEA-{LNS}/{LSVC}/sctp/{LPORT}__1234.5678.9abc.def0..abc.1234/443")
        );
        assert_eq!(fits.len(), 240, "exactly at the limit: not cut");
        let a = ep("[1234:5678:9abc:def0::abcd:1234:5678]:443");
        let b = ep("[1234:5678:9abc:def0::abcd:1234:8765]:443");
        assert_eq!(
            a,
            format!("CI6C53Q3-{LNS}/{LSVC}/sctp/{LPORT}__1234.5678.9abc.def0..abcd.1234...")
        );
        assert_eq!(
            b,
            format!("2FLXFK6X-{LNS}/{LSVC}/sctp/{LPORT}__1234.5678.9abc.def0..abcd.1234...")
        );
        assert_eq!(a.len(), 240);
    }

    #[test]
    fn golden_names_of_the_overall_case() {
        assert_eq!(
            port_base("ns2", "svc2", "tcp", "p80"),
            "42NFTM6N-ns2/svc2/tcp/p80"
        );
        assert_eq!(
            endpoint_base("ns5", "svc5", "tcp", "p80", "10.180.0.3:80"),
            "GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80"
        );
    }
}
