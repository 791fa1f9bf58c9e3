//! What the ipvs proxier derives from its [`ProxierSettings`]: the node addresses it may use
//! and the ones NodePort virtual servers are created on. spec: ipvs.md §8.2.

use std::net::IpAddr;

use crate::model::IpFamily;
use crate::proxier::config::ProxierSettings;

/// Node addresses kube-proxy may use for sets and binding decisions, in interface order: the
/// proxier's family, not loopback, not IPv6 link-local (`isValidForSet`). spec: ipvs.md §8.2.
pub fn valid_node_addresses(s: &ProxierSettings) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = Vec::new();
    for net in &s.node.interface_addresses {
        let ip = net.addr();
        if IpFamily::of(&ip) != s.ip_family || ip.is_loopback() || is_v6_link_local(&ip) {
            continue;
        }
        if !out.contains(&ip) {
            out.push(ip);
        }
    }
    out
}

/// The node IPs NodePort virtual servers are created on, in interface order:
/// [`valid_node_addresses`] inside `--nodeport-addresses` ([`ProxierSettings::node_port_cidrs`]).
pub fn nodeport_ips(s: &ProxierSettings) -> Vec<IpAddr> {
    let Some(cidrs) = s.node_port_cidrs() else {
        return valid_node_addresses(s);
    };
    // An explicit CIDR may take an IPv6 link-local address; loopback never.
    let mut out: Vec<IpAddr> = Vec::new();
    for net in &s.node.interface_addresses {
        let ip = net.addr();
        if IpFamily::of(&ip) == s.ip_family
            && !ip.is_loopback()
            && cidrs.iter().any(|n| n.contains(&ip))
            && !out.contains(&ip)
        {
            out.push(ip);
        }
    }
    out
}

fn is_v6_link_local(ip: &IpAddr) -> bool {
    matches!(ip, IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxier::config::NodePortAddress;

    #[test]
    fn nodeport_ips_filter_by_cidr_and_drop_loopback() {
        let mut s = ProxierSettings::new(IpFamily::IPv4, "n");
        s.node.interface_addresses = ["127.0.0.1/8", "192.168.1.5/24", "10.0.0.5/8", "fd00::1/64"]
            .iter()
            .map(|x| x.parse().unwrap())
            .collect();
        assert_eq!(nodeport_ips(&s).len(), 2);
        s.node_port_addresses = Some(vec![
            NodePortAddress::Cidr("192.168.0.0/16".parse().unwrap()),
            NodePortAddress::Cidr("127.0.0.0/8".parse().unwrap()),
        ]);
        assert_eq!(
            nodeport_ips(&s),
            vec!["192.168.1.5".parse::<IpAddr>().unwrap()]
        );
        s.node_port_addresses = Some(vec![NodePortAddress::Cidr("0.0.0.0/0".parse().unwrap())]);
        assert_eq!(nodeport_ips(&s).len(), 2);
    }
}
