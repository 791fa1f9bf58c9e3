//! The kube-proxy settings no layer gave ([`assumed_defaults`]): what svccore took from
//! kube-proxy's defaults (or its own assumption about the node) when it rendered a node's rules.
//!
//! An audit compares a node with the rules these settings produce, so a default that does not
//! hold on the node shows up as drift: `--random-fully`, which kube-proxy detects from the
//! node's iptables (1.6.2 and later have it) and which has no configuration field, is the usual
//! one. Saying which defaults were assumed lets an operator tell a wrong assumption from a real
//! difference.

use serde_json::Value;

use super::config::{ProxierSettings, ProxyMode, SettingsFlags};
use crate::model::ProxyConfig;

/// One setting taken from the defaults.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Assumed {
    /// The command-line flag that sets it (`--random-fully`).
    pub flag: &'static str,
    /// The value assumed, as the flag takes it (`true`, `14`, `none`).
    pub value: String,
    /// What the value means on the node, and what to give when it does not hold.
    pub meaning: &'static str,
}

impl std::fmt::Display for Assumed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}={}: {}", self.flag, self.value, self.meaning)
    }
}

/// The settings of `mode` that change its rule text and that neither the configuration, the
/// settings object (`proxy.json` fields, `settings_json`) nor the flags gave, with the default
/// used for each, in flag order.
///
/// # Example
/// ```
/// use serde_json::json;
/// use svccore::proxier::assumed::assumed_defaults;
/// use svccore::proxier::config::{ProxyMode, SettingsFlags};
/// let flags = SettingsFlags { masquerade_all: Some(false), ..Default::default() };
/// let file = json!({"clusterCIDR": "10.244.0.0/16"});
/// let a = assumed_defaults(ProxyMode::Iptables, None, Some(&file), &flags);
/// let names: Vec<&str> = a.iter().map(|a| a.flag).collect();
/// assert_eq!(names, ["--iptables-masquerade-bit", "--iptables-localhost-nodeports",
///     "--nodeport-addresses", "--nfacct-counter", "--random-fully", "--conntrack-tcp-be-liberal"]);
/// assert_eq!(a[4].to_string(), "--random-fully=true: the node's iptables has --random-fully \
///     (1.6.2 or later); --random-fully=false for an older one");
/// ```
pub fn assumed_defaults(
    mode: ProxyMode,
    config: Option<&ProxyConfig>,
    settings_json: Option<&Value>,
    flags: &SettingsFlags,
) -> Vec<Assumed> {
    let d = ProxierSettings::default();
    let in_json = |key: &str| settings_json.is_some_and(|v| v.get(key).is_some());
    let cfg = |f: fn(&ProxyConfig) -> bool| config.is_some_and(f);
    let on_off = |b: bool| if b { "true" } else { "false" }.to_owned();
    let iptables_only = [ProxyMode::Iptables];
    let userspace = [ProxyMode::Userspace];
    let all = [ProxyMode::Iptables, ProxyMode::Nftables, ProxyMode::Ipvs];
    let us_given = |key: &str| {
        settings_json
            .and_then(|v| v.get("userspace"))
            .is_some_and(|u| u.get(key).is_some())
    };
    let rows: [(&[ProxyMode], bool, &'static str, String, &'static str); 10] = [
        (
            &all,
            flags.cluster_cidr.is_some()
                || in_json("clusterCIDR")
                || cfg(|c| c.cluster_cidr.is_some() || c.detect_local_mode.is_some()),
            "--cluster-cidr",
            "none".to_owned(),
            "no local-traffic detector: service traffic from pods is not told apart from \
             other traffic (give the cluster's pod CIDR, or the configuration)",
        ),
        (
            &all,
            flags.masquerade_all.is_some()
                || in_json("masqueradeAll")
                || cfg(|c| c.masquerade_all.is_some()),
            "--masquerade-all",
            on_off(d.masquerade_all),
            "only traffic that needs it is masqueraded",
        ),
        (
            &all,
            flags.masquerade_bit.is_some()
                || flags.masquerade_mark.is_some()
                || in_json("masqueradeMark")
                || cfg(|c| c.masquerade_bit.is_some()),
            "--iptables-masquerade-bit",
            "14".to_owned(),
            "the masquerade mark is 0x00004000",
        ),
        (
            &iptables_only,
            flags.localhost_nodeports.is_some()
                || in_json("localhostNodePorts")
                || cfg(|c| c.localhost_nodeports.is_some()),
            "--iptables-localhost-nodeports",
            on_off(d.iptables.localhost_nodeports),
            "node ports answer on 127.0.0.1 too",
        ),
        (
            &all,
            flags.nodeport_addresses.is_some()
                || in_json("nodePortAddresses")
                || cfg(|c| !c.nodeport_addresses.is_empty()),
            "--nodeport-addresses",
            "all".to_owned(),
            "node ports answer on every local address",
        ),
        (
            &iptables_only,
            flags.nfacct_counters.is_some() || in_json("nfacctCounters"),
            "--nfacct-counter",
            "none".to_owned(),
            "the node has no nfacct counters (kube-proxy counts localhost node-port drops in one \
             when it exists)",
        ),
        (
            &iptables_only,
            flags.random_fully.is_some() || in_json("randomFully"),
            "--random-fully",
            on_off(d.iptables.random_fully),
            "the node's iptables has --random-fully (1.6.2 or later); --random-fully=false for \
             an older one",
        ),
        (
            &iptables_only,
            flags.conntrack_tcp_liberal.is_some() || in_json("conntrackTCPLiberal"),
            "--conntrack-tcp-be-liberal",
            on_off(d.iptables.conntrack_tcp_liberal),
            "nf_conntrack_tcp_be_liberal is not set on the node, so kube-proxy drops INVALID \
             packets",
        ),
        (
            &userspace,
            flags.proxy_port_range.is_some()
                || us_given("portRange")
                || us_given("proxyPorts")
                || cfg(|c| c.port_range.is_some()),
            "--proxy-port-range",
            "none".to_owned(),
            "no range: kube-proxy's proxy ports are the kernel's picks; svccore takes the lowest \
             free from 32768 (give the node's range, or its ports in userspace.proxyPorts)",
        ),
        (
            &userspace,
            flags.bind_address.is_some()
                || us_given("bindAddress")
                || cfg(|c| c.bind_address.is_some()),
            "--bind-address",
            "0.0.0.0".to_owned(),
            "the proxy listens on every address: containers are REDIRECTed, the node's own \
             traffic is DNATed to the node IP",
        ),
    ];
    rows.into_iter()
        .filter(|(modes, given, ..)| modes.contains(&mode) && !given)
        .map(|(_, _, flag, value, meaning)| Assumed {
            flag,
            value,
            meaning,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_layer_counts_as_given() {
        let none = assumed_defaults(ProxyMode::Iptables, None, None, &SettingsFlags::default());
        assert_eq!(none.len(), 8);
        let cfg = ProxyConfig {
            masquerade_all: Some(false),
            cluster_cidr: Some("10.244.0.0/16".into()),
            nodeport_addresses: vec!["primary".into()],
            ..Default::default()
        };
        let json = serde_json::json!({"randomFully": false, "masqueradeMark": "0x4000"});
        let flags = SettingsFlags {
            conntrack_tcp_liberal: Some(false),
            ..Default::default()
        };
        let left = assumed_defaults(ProxyMode::Iptables, Some(&cfg), Some(&json), &flags);
        let names: Vec<&str> = left.iter().map(|a| a.flag).collect();
        assert_eq!(
            names,
            ["--iptables-localhost-nodeports", "--nfacct-counter"]
        );
        assert_eq!(left[0].value, "true");
    }

    #[test]
    fn userspace_assumes_its_port_range_and_bind_address() {
        let a = assumed_defaults(ProxyMode::Userspace, None, None, &SettingsFlags::default());
        let names: Vec<&str> = a.iter().map(|a| a.flag).collect();
        assert_eq!(names, ["--proxy-port-range", "--bind-address"]);
        let json = serde_json::json!({"userspace": {"proxyPorts": {"ns/web": 36000}}});
        let a = assumed_defaults(
            ProxyMode::Userspace,
            None,
            Some(&json),
            &SettingsFlags::default(),
        );
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].flag, "--bind-address");
    }

    #[test]
    fn only_the_settings_of_the_mode() {
        let a = assumed_defaults(ProxyMode::Nftables, None, None, &SettingsFlags::default());
        let names: Vec<&str> = a.iter().map(|a| a.flag).collect();
        assert_eq!(
            names,
            [
                "--cluster-cidr",
                "--masquerade-all",
                "--iptables-masquerade-bit",
                "--nodeport-addresses"
            ]
        );
    }
}
