//! The iptables rules of ipvs mode, as the `iptables-restore` payload kube-proxy writes
//! (`writeIptablesRules`, restored with `--noflush`). spec: ipvs.md §8.7.
//!
//! Layout as kube-proxy builds it: `*nat`, the nat chain declarations, the nat rules, `COMMIT`,
//! then the same for `*filter`. The rules reference the ipsets with `-m set --match-set`, so the
//! sets must exist first (see [`render_ipset_save`](super::render_ipset_save)).

use std::fmt::Write;

use super::build::IpvsNode;
use super::ipset::KubeSet;
use crate::model::IpFamily;

const NAT_CHAINS: [&str; 5] = [
    "KUBE-SERVICES",
    "KUBE-POSTROUTING",
    "KUBE-NODE-PORT",
    "KUBE-LOAD-BALANCER",
    "KUBE-MARK-MASQ",
];
const FILTER_CHAINS: [&str; 6] = [
    "KUBE-FORWARD",
    "KUBE-NODE-PORT",
    "KUBE-PROXY-FIREWALL",
    "KUBE-SOURCE-RANGES-FIREWALL",
    "KUBE-IPVS-FILTER",
    "KUBE-IPVS-OUT-FILTER",
];

/// The jumps from built-in chains (`iptablesJumpChain`): table, from, to, comment.
const JUMPS: [(&str, &str, &str, &str); 9] = [
    (
        "nat",
        "OUTPUT",
        "KUBE-SERVICES",
        "kubernetes service portals",
    ),
    (
        "nat",
        "PREROUTING",
        "KUBE-SERVICES",
        "kubernetes service portals",
    ),
    (
        "nat",
        "POSTROUTING",
        "KUBE-POSTROUTING",
        "kubernetes postrouting rules",
    ),
    (
        "filter",
        "FORWARD",
        "KUBE-FORWARD",
        "kubernetes forwarding rules",
    ),
    (
        "filter",
        "INPUT",
        "KUBE-NODE-PORT",
        "kubernetes health check rules",
    ),
    (
        "filter",
        "INPUT",
        "KUBE-PROXY-FIREWALL",
        "kube-proxy firewall rules",
    ),
    (
        "filter",
        "FORWARD",
        "KUBE-PROXY-FIREWALL",
        "kube-proxy firewall rules",
    ),
    (
        "filter",
        "INPUT",
        "KUBE-IPVS-FILTER",
        "kubernetes ipvs access filter",
    ),
    (
        "filter",
        "OUTPUT",
        "KUBE-IPVS-OUT-FILTER",
        "kubernetes ipvs access filter",
    ),
];

/// Options of the iptables payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IptablesOptions {
    /// Also write the jumps from the built-in chains as `-I` lines. kube-proxy ensures them
    /// with separate `iptables -I` calls (check first, then insert at the top), not in its
    /// payload; with this on, the payload alone reproduces the node (on a clean table).
    pub with_jumps: bool,
    /// Write `#` comment lines (the ipvs-mode local-policy fallback note).
    pub comments: bool,
}

impl Default for IptablesOptions {
    fn default() -> Self {
        IptablesOptions {
            with_jumps: true,
            comments: true,
        }
    }
}

/// Renders the ipvs-mode `iptables-restore` payload (load with `--noflush`).
pub fn render_iptables(node: &IpvsNode, opts: &IptablesOptions) -> String {
    let s = &node.settings;
    let mark = &s.masquerade_mark;
    let name = |set: KubeSet| node.ipset(set).name.clone();
    let empty = |set: KubeSet| node.ipset(set).entries.is_empty();
    let comment = |set: KubeSet| format!("\"{}\"", set.comment());
    let mut nat = String::new();
    let mut filter = String::new();

    if opts.comments {
        let fallbacks: Vec<String> = node
            .virtual_servers
            .iter()
            .filter(|v| v.local_fallback())
            .map(|v| format!("{} ({})", v.id, v.service_port_name))
            .collect();
        if !fallbacks.is_empty() {
            let _ = writeln!(
                nat,
                "# ipvs mode: traffic policy Local with no local endpoint falls back to all \
                 cluster endpoints (iptables and nftables modes drop instead); spec ipvs.md §8.3"
            );
            for f in fallbacks {
                let _ = writeln!(nat, "#   {f}");
            }
        }
    }
    nat.push_str("*nat\n");
    for c in NAT_CHAINS {
        let _ = writeln!(nat, ":{c} - [0:0]");
    }
    filter.push_str("*filter\n");
    for c in FILTER_CHAINS {
        let _ = writeln!(filter, ":{c} - [0:0]");
    }
    if opts.with_jumps {
        for (table, from, to, cmt) in JUMPS {
            let out = if table == "nat" {
                &mut nat
            } else {
                &mut filter
            };
            let _ = writeln!(out, "-I {from} -m comment --comment \"{cmt}\" -j {to}");
        }
    }

    let lo = match s.ip_family {
        IpFamily::IPv4 => "127.0.0.0/8",
        IpFamily::IPv6 => "::1/128",
    };
    let _ = writeln!(nat, "-A KUBE-SERVICES -s {lo} -j RETURN");

    // ipsetWithIptablesChain, in kube-proxy's order, for non-empty sets.
    let table_rules: [(KubeSet, bool, &str, &str, &str, &str); 12] = [
        (
            KubeSet::LoopBack,
            true,
            "KUBE-POSTROUTING",
            "MASQUERADE",
            "dst,dst,src",
            "",
        ),
        (
            KubeSet::LoadBalancer,
            true,
            "KUBE-SERVICES",
            "KUBE-LOAD-BALANCER",
            "dst,dst",
            "",
        ),
        (
            KubeSet::LoadBalancerLocal,
            true,
            "KUBE-LOAD-BALANCER",
            "RETURN",
            "dst,dst",
            "",
        ),
        (
            KubeSet::NodePortLocalTcp,
            true,
            "KUBE-NODE-PORT",
            "RETURN",
            "dst",
            "tcp",
        ),
        (
            KubeSet::NodePortTcp,
            true,
            "KUBE-NODE-PORT",
            "KUBE-MARK-MASQ",
            "dst",
            "tcp",
        ),
        (
            KubeSet::NodePortLocalUdp,
            true,
            "KUBE-NODE-PORT",
            "RETURN",
            "dst",
            "udp",
        ),
        (
            KubeSet::NodePortUdp,
            true,
            "KUBE-NODE-PORT",
            "KUBE-MARK-MASQ",
            "dst",
            "udp",
        ),
        (
            KubeSet::NodePortLocalSctp,
            true,
            "KUBE-NODE-PORT",
            "RETURN",
            "dst,dst",
            "sctp",
        ),
        (
            KubeSet::NodePortSctp,
            true,
            "KUBE-NODE-PORT",
            "KUBE-MARK-MASQ",
            "dst,dst",
            "sctp",
        ),
        (
            KubeSet::LoadBalancerFw,
            false,
            "KUBE-PROXY-FIREWALL",
            "KUBE-SOURCE-RANGES-FIREWALL",
            "dst,dst",
            "",
        ),
        (
            KubeSet::LoadBalancerSourceCidr,
            false,
            "KUBE-SOURCE-RANGES-FIREWALL",
            "RETURN",
            "dst,dst,src",
            "",
        ),
        (
            KubeSet::LoadBalancerSourceIp,
            false,
            "KUBE-SOURCE-RANGES-FIREWALL",
            "RETURN",
            "dst,dst,src",
            "",
        ),
    ];
    for (set, is_nat, from, to, match_type, proto) in table_rules {
        if empty(set) {
            continue;
        }
        let out = if is_nat { &mut nat } else { &mut filter };
        let _ = write!(out, "-A {from}");
        if !proto.is_empty() {
            let _ = write!(out, " -p {proto}");
        }
        let _ = writeln!(
            out,
            " -m comment --comment {} -m set --match-set {} {match_type} -j {to}",
            comment(set),
            name(set)
        );
    }

    if !empty(KubeSet::ClusterIp) {
        let head = format!(
            "-A KUBE-SERVICES -m comment --comment {} -m set --match-set {}",
            comment(KubeSet::ClusterIp),
            name(KubeSet::ClusterIp)
        );
        if s.masquerade_all {
            let _ = writeln!(nat, "{head} dst,dst -j KUBE-MARK-MASQ");
        } else if let Some(not_local) = s.local_detector.if_not_local() {
            let _ = writeln!(nat, "{head} dst,dst {not_local} -j KUBE-MARK-MASQ");
        } else {
            let _ = writeln!(nat, "{head} src,dst -j KUBE-MARK-MASQ");
        }
    }
    let external_accepts = |nat: &mut String, head: &str| {
        let _ = writeln!(
            nat,
            "{head} -m physdev ! --physdev-is-in -m addrtype ! --src-type LOCAL -j ACCEPT"
        );
        let _ = writeln!(nat, "{head} -m addrtype --dst-type LOCAL -j ACCEPT");
    };
    if !empty(KubeSet::ExternalIp) {
        let head = format!(
            "-A KUBE-SERVICES -m comment --comment {} -m set --match-set {} dst,dst",
            comment(KubeSet::ExternalIp),
            name(KubeSet::ExternalIp)
        );
        let _ = writeln!(nat, "{head} -j KUBE-MARK-MASQ");
        external_accepts(&mut nat, &head);
    }
    if !empty(KubeSet::ExternalIpLocal) {
        let head = format!(
            "-A KUBE-SERVICES -m comment --comment {} -m set --match-set {} dst,dst",
            comment(KubeSet::ExternalIpLocal),
            name(KubeSet::ExternalIpLocal)
        );
        external_accepts(&mut nat, &head);
    }
    nat.push_str("-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODE-PORT\n");
    nat.push_str("-A KUBE-LOAD-BALANCER -j KUBE-MARK-MASQ\n");
    filter.push_str("-A KUBE-SOURCE-RANGES-FIREWALL -j DROP\n");
    for (ip, proto, port) in &node.lb_no_node_access {
        let _ = writeln!(
            filter,
            "-A KUBE-IPVS-OUT-FILTER -s {ip} -m ipvs --vaddr {ip} --vproto {proto} --vport {port} -j DROP"
        );
    }
    for set in [KubeSet::ClusterIp, KubeSet::LoadBalancer] {
        if !empty(set) {
            let _ = writeln!(
                nat,
                "-A KUBE-SERVICES -m set --match-set {} dst,dst -j ACCEPT",
                name(set)
            );
        }
    }
    let _ = writeln!(
        filter,
        "-A KUBE-FORWARD -m comment --comment \"kubernetes forwarding rules\" -m mark --mark {mark}/{mark} -j ACCEPT"
    );
    filter.push_str(
        "-A KUBE-FORWARD -m comment --comment \"kubernetes forwarding conntrack rule\" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n",
    );
    let _ = writeln!(
        filter,
        "-A KUBE-NODE-PORT -m comment --comment {} -m set --match-set {} dst -j ACCEPT",
        comment(KubeSet::HealthCheckNodePort),
        name(KubeSet::HealthCheckNodePort)
    );
    for (set, m) in [
        (KubeSet::LoadBalancer, "dst,dst"),
        (KubeSet::ClusterIp, "dst,dst"),
        (KubeSet::ExternalIp, "dst,dst"),
        (KubeSet::ExternalIpLocal, "dst,dst"),
        (KubeSet::HealthCheckNodePort, "dst"),
    ] {
        let _ = writeln!(
            filter,
            "-A KUBE-IPVS-FILTER -m set --match-set {} {m} -j RETURN",
            name(set)
        );
    }
    let _ = writeln!(
        filter,
        "-A KUBE-IPVS-FILTER -m conntrack --ctstate NEW -m set --match-set {} dst -j REJECT",
        name(KubeSet::IpvsIps)
    );
    let _ = writeln!(
        nat,
        "-A KUBE-POSTROUTING -m mark ! --mark {mark}/{mark} -j RETURN"
    );
    let _ = writeln!(nat, "-A KUBE-POSTROUTING -j MARK --xor-mark {mark}");
    let _ = writeln!(
        nat,
        "-A KUBE-POSTROUTING -m comment --comment \"kubernetes service traffic requiring SNAT\" -j MASQUERADE{}",
        if s.iptables.random_fully { " --random-fully" } else { "" }
    );
    let _ = writeln!(nat, "-A KUBE-MARK-MASQ -j MARK --or-mark {mark}");
    filter.push_str("COMMIT\n");
    nat.push_str("COMMIT\n");
    nat.push_str(&filter);
    nat
}

impl IpvsNode {
    /// The ipvs-mode `iptables-restore` payload with default options.
    pub fn iptables(&self) -> String {
        render_iptables(self, &IptablesOptions::default())
    }
}
