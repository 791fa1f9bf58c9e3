//! Chain names: kube-proxy's `KUBE-SVC-…`/`KUBE-SEP-…` hashes and the fixed chain names.
//!
//! spec: kube-proxy-iptables.md §1 (hash), §2.1 (constants).

use sha2::{Digest, Sha256};

/// `KUBE-SERVICES`.
pub const KUBE_SERVICES: &str = "KUBE-SERVICES";
/// `KUBE-EXTERNAL-SERVICES`.
pub const KUBE_EXTERNAL_SERVICES: &str = "KUBE-EXTERNAL-SERVICES";
/// `KUBE-NODEPORTS`.
pub const KUBE_NODEPORTS: &str = "KUBE-NODEPORTS";
/// `KUBE-POSTROUTING`.
pub const KUBE_POSTROUTING: &str = "KUBE-POSTROUTING";
/// `KUBE-MARK-MASQ`.
pub const KUBE_MARK_MASQ: &str = "KUBE-MARK-MASQ";
/// `KUBE-FORWARD`.
pub const KUBE_FORWARD: &str = "KUBE-FORWARD";
/// `KUBE-PROXY-FIREWALL`.
pub const KUBE_PROXY_FIREWALL: &str = "KUBE-PROXY-FIREWALL";
/// `KUBE-PROXY-CANARY`.
pub const KUBE_PROXY_CANARY: &str = "KUBE-PROXY-CANARY";
/// `KUBE-FIREWALL` (kubelet-owned, kube-proxy writes into it).
pub const KUBE_FIREWALL: &str = "KUBE-FIREWALL";

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 (standard alphabet) of the first 10 bytes: exactly 16 characters, no padding.
fn base32_16(bytes: &[u8]) -> [u8; 16] {
    let mut out = [0u8; 16];
    // 10 bytes = two groups of 5 bytes = two groups of 8 characters.
    for g in 0..2 {
        let mut v: u64 = 0;
        for b in &bytes[g * 5..g * 5 + 5] {
            v = (v << 8) | u64::from(*b);
        }
        for i in 0..8 {
            out[g * 8 + i] = BASE32[((v >> (35 - 5 * i)) & 31) as usize];
        }
    }
    out
}

/// The 16-character hash suffix of `parts` concatenated: `base32(sha256(parts…))[..16]`.
pub fn hash16(parts: &[&str]) -> [u8; 16] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
    }
    base32_16(&h.finalize()[..10])
}

/// [`hash16`] of text already concatenated (one hasher update instead of one per part).
pub(crate) fn hash16_of(text: &[u8]) -> [u8; 16] {
    base32_16(&Sha256::digest(text)[..10])
}

/// The shared suffix of a service port's `KUBE-SVC/SVL/EXT/FW` chains.
///
/// `service_port_name` is kube-proxy's `ns/name[:port]`, `protocol` the lower-case protocol.
///
/// # Example
/// ```
/// use svccore::render::iptables::names::service_chain_suffix;
/// assert_eq!(service_chain_suffix("ns1/svc1:p80", "tcp"), "XPGD46QRK7WJZT7O");
/// ```
pub fn service_chain_suffix(service_port_name: &str, protocol: &str) -> String {
    suffix_string(hash16(&[service_port_name, protocol]))
}

/// The `KUBE-SEP-…` chain of an endpoint (`ip:port` or `[ip]:port`) of a service port.
///
/// # Example
/// ```
/// use svccore::render::iptables::names::endpoint_chain;
/// assert_eq!(endpoint_chain("ns1/svc1:p80", "tcp", "10.180.0.1:80"), "KUBE-SEP-SXIVWICOYRO3J4NJ");
/// ```
pub fn endpoint_chain(service_port_name: &str, protocol: &str, endpoint: &str) -> String {
    format!(
        "KUBE-SEP-{}",
        suffix_string(hash16(&[service_port_name, protocol, endpoint]))
    )
}

pub(crate) fn suffix_string(s: [u8; 16]) -> String {
    // The alphabet is ASCII.
    s.iter().map(|&b| b as char).collect()
}

/// The per-port chain prefixes.
pub const SVC_PREFIX: &str = "KUBE-SVC-";
/// Local-policy chain prefix.
pub const SVL_PREFIX: &str = "KUBE-SVL-";
/// External-traffic chain prefix.
pub const EXT_PREFIX: &str = "KUBE-EXT-";
/// Firewall chain prefix.
pub const FW_PREFIX: &str = "KUBE-FW-";
/// Endpoint chain prefix.
pub const SEP_PREFIX: &str = "KUBE-SEP-";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_matches_rfc4648_test_vectors() {
        // RFC 4648 §10: "fooba" -> "MZXW6YTB", 10 bytes -> 16 characters.
        assert_eq!(&base32_16(b"foobafooba"), b"MZXW6YTBMZXW6YTB");
    }

    #[test]
    fn spec_worked_hashes() {
        assert_eq!(service_chain_suffix("ns1/svc1", "tcp"), "AQI2S6QIMU7PVVRP");
        assert_eq!(
            service_chain_suffix("default/kubernetes:https", "tcp"),
            "NPX46M4PTMTKRN6Y"
        );
        assert_eq!(
            endpoint_chain("ns1/svc1:p80", "tcp", "[fd00:10:180::1]:80"),
            "KUBE-SEP-OGYCNMB4EMRUSJ6N"
        );
    }
}
