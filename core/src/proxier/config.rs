//! Proxier settings: kube-proxy's flags and `KubeProxyConfiguration` fields plus the node facts
//! the iptables renderer needs (spec: kube-proxy-iptables.md §0.3).
//!
//! Precedence, lowest first: [`ProxierSettings::default`] (a stock kube-proxy) →
//! [`ProxierSettings::apply_proxy_config`] (a `KubeProxyConfiguration`) →
//! [`ProxierSettings::apply_json`] (a `--proxier-settings` file; only the fields present) → the
//! caller's flags (plain field assignments). Node IPs and interface addresses left empty are
//! filled from the cluster's Node object by [`ProxierSettings::resolve`].

use std::net::IpAddr;

use ipnet::IpNet;
use serde_json::{json, Map, Value};

use crate::ip::{parse_cidr_sloppy, parse_ip_sloppy};
use crate::model::{DetectLocalMode, IpFamily, ProxyConfig};
use crate::{Cluster, Error, Issue, Result};

/// kube-proxy's "local traffic detector" (`--detect-local-mode`), spec §3.3 (6).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "mode", content = "value")]
pub enum LocalDetector {
    /// No detector (no `--cluster-cidr`): no cluster-IP masquerade rule, no EXT pod-traffic rule.
    #[default]
    None,
    /// ClusterCIDR or NodeCIDR: `-s <cidr>` / `! -s <cidr>`, the CIDR text as configured.
    Cidr(String),
    /// NodeCIDR whose CIDR comes from the Node's `spec.podCIDRs` ([`ProxierSettings::resolve`]).
    NodeCidr,
    /// BridgeInterface: `-i <name>` / `! -i <name>`.
    BridgeInterface(String),
    /// InterfaceNamePrefix: `-i <prefix>+` / `! -i <prefix>+` (unverified form, spec §8).
    InterfaceNamePrefix(String),
}

impl LocalDetector {
    /// The `<IfLocal>` tokens, if a detector exists.
    pub fn if_local(&self) -> Option<[String; 2]> {
        match self {
            LocalDetector::Cidr(c) => Some(["-s".into(), c.clone()]),
            LocalDetector::BridgeInterface(i) => Some(["-i".into(), i.clone()]),
            LocalDetector::InterfaceNamePrefix(p) => Some(["-i".into(), format!("{p}+")]),
            LocalDetector::None | LocalDetector::NodeCidr => None,
        }
    }
}

/// The nfacct counter on the INVALID drop rule.
pub const NFACCT_INVALID: &str = "ct_state_invalid_dropped_pkts";
/// The nfacct counter on the localhost NodePort twin rules.
pub const NFACCT_LOCALHOST_NPS: &str = "localhost_nps_accepted_pkts";

/// Everything about the proxier and its node that shapes the iptables rules.
///
/// The JSON form (`--proxier-settings FILE`, the conformance `proxy.json`) uses the field names
/// `nodeName, nodeIPs, ipFamily, clusterCIDR, masqueradeAll, masqueradeMark, localhostNodePorts,
/// nodePortAddresses, nfacctCounters, randomFully, conntrackTCPLiberal,
/// largeClusterEndpointsThreshold, interfaceAddresses, serviceCIDRs, staleChains`.
///
/// # Example
/// ```
/// use svccore::render::iptables::ProxierSettings;
/// let s = ProxierSettings::from_json_str(r#"{"nodeName": "n1", "masqueradeMark": "0x4000"}"#, None).unwrap();
/// assert_eq!(s.node_name, "n1");
/// assert_eq!(s.masquerade_mark, "0x4000");
/// assert!(s.localhost_nodeports); // default kept
/// let err = ProxierSettings::from_json_str(r#"{"nodeIPs": ["x"]}"#, Some("p.json")).unwrap_err();
/// assert_eq!(err.issues()[0].path, "nodeIPs[0]");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxierSettings {
    /// `--hostname-override`: endpoints with this `nodeName` are local. Empty matches nothing.
    pub node_name: String,
    /// The node's IPs; `node_ips[0]` is kube-proxy's `nodeIP` (LB source-range allow rule).
    pub node_ips: Vec<IpAddr>,
    /// The family of this proxier (`iptables` vs `ip6tables`).
    pub ip_family: IpFamily,
    /// The local traffic detector (`--cluster-cidr` with detect-local-mode ClusterCIDR, ...).
    pub local_detector: LocalDetector,
    /// `--masquerade-all`.
    pub masquerade_all: bool,
    /// The mark text, used literally (`0x00004000` for bit 14; the upstream tests use `0x4000`).
    pub masquerade_mark: String,
    /// `--iptables-localhost-nodeports` (IPv4 only).
    pub localhost_nodeports: bool,
    /// `--nodeport-addresses` (`None` = all local addresses).
    pub node_port_addresses: Option<Vec<IpNet>>,
    /// nfacct counters kube-proxy could create ([`NFACCT_INVALID`], [`NFACCT_LOCALHOST_NPS`]).
    pub nfacct_counters: Vec<String>,
    /// Whether iptables supports `--random-fully` (any iptables ≥ 1.6.2).
    pub random_fully: bool,
    /// `net.netfilter.nf_conntrack_tcp_be_liberal` is set: no INVALID drop rule.
    pub conntrack_tcp_liberal: bool,
    /// Above this many endpoints in total, SEP/SVC rules lose their comments (spec §3.5).
    pub large_cluster_endpoints_threshold: usize,
    /// The node's interface addresses (`ip/prefix`), used to expand `nodePortAddresses`.
    pub interface_addresses: Vec<IpNet>,
    /// nftables: the ServiceCIDRs the proxier knows (both families; the renderer keeps its own
    /// family's). Traffic to an unallocated cluster IP inside them is dropped.
    pub service_cidrs: Vec<IpNet>,
    /// nftables: chains left from an earlier sync that kube-proxy has flushed but not yet
    /// deleted (they show as empty chains).
    pub stale_chains: Vec<String>,
}

impl Default for ProxierSettings {
    /// A stock kube-proxy on a current node: IPv4, mark bit 14 (`0x00004000`), localhost
    /// NodePorts on, no detector, `--random-fully` supported, no nfacct counters, no node name.
    fn default() -> Self {
        ProxierSettings {
            node_name: String::new(),
            node_ips: Vec::new(),
            ip_family: IpFamily::IPv4,
            local_detector: LocalDetector::None,
            masquerade_all: false,
            masquerade_mark: mark_for_bit(14),
            localhost_nodeports: true,
            node_port_addresses: None,
            nfacct_counters: Vec::new(),
            random_fully: true,
            conntrack_tcp_liberal: false,
            large_cluster_endpoints_threshold: 1000,
            interface_addresses: Vec::new(),
            service_cidrs: Vec::new(),
            stale_chains: Vec::new(),
        }
    }
}

/// The mark text kube-proxy writes for `--iptables-masquerade-bit` (Go's `%#08x`, spec §2.2).
pub fn mark_for_bit(bit: u32) -> String {
    format!("0x{:08x}", 1u64 << bit)
}

fn cfg_err(file: Option<&str>, path: &str, msg: impl Into<String>) -> Error {
    Error::Config(Issue::new(file, path, msg))
}

const FIELDS: &[&str] = &[
    "nodeName",
    "nodeIPs",
    "ipFamily",
    "clusterCIDR",
    "masqueradeAll",
    "masqueradeMark",
    "localhostNodePorts",
    "nodePortAddresses",
    "nfacctCounters",
    "randomFully",
    "conntrackTCPLiberal",
    "largeClusterEndpointsThreshold",
    "interfaceAddresses",
    "serviceCIDRs",
    "staleChains",
];

impl ProxierSettings {
    /// Parses the JSON form over the defaults. Errors are [`Error::Config`] with the field path.
    pub fn from_json_str(text: &str, file: Option<&str>) -> Result<Self> {
        let mut s = ProxierSettings::default();
        s.apply_json_str(text, file)?;
        Ok(s)
    }

    /// Applies the fields present in a JSON text (the `--proxier-settings` file) to `self`.
    pub fn apply_json_str(&mut self, text: &str, file: Option<&str>) -> Result<()> {
        let v: Value = serde_json::from_str(text).map_err(|e| {
            cfg_err(
                file,
                &format!("line {} column {}", e.line(), e.column()),
                e.to_string(),
            )
        })?;
        self.apply_json(&v, file)
    }

    /// Applies the fields present in a parsed JSON object to `self`.
    pub fn apply_json(&mut self, v: &Value, file: Option<&str>) -> Result<()> {
        let Value::Object(map) = v else {
            return Err(cfg_err(file, "", "proxier settings must be a JSON object"));
        };
        for k in map.keys() {
            if !FIELDS.contains(&k.as_str()) {
                return Err(cfg_err(
                    file,
                    k,
                    format!("unknown field (known: {})", FIELDS.join(", ")),
                ));
            }
        }
        let get = |k: &str| map.get(k).filter(|v| !v.is_null() || k == "clusterCIDR");
        if let Some(v) = get("nodeName") {
            self.node_name = string(file, "nodeName", v)?;
        }
        if let Some(v) = get("nodeIPs") {
            self.node_ips = list(file, "nodeIPs", v, |p, s| {
                parse_ip_sloppy(s).ok_or_else(|| cfg_err(file, p, format!("{s:?} is not an IP")))
            })?;
        }
        if let Some(v) = get("ipFamily") {
            let s = string(file, "ipFamily", v)?;
            self.ip_family = IpFamily::parse(&s)
                .ok_or_else(|| cfg_err(file, "ipFamily", "must be \"IPv4\" or \"IPv6\""))?;
        }
        if let Some(v) = get("clusterCIDR") {
            self.local_detector = match v {
                Value::Null => LocalDetector::None,
                _ => {
                    let s = string(file, "clusterCIDR", v)?;
                    if parse_cidr_sloppy(&s).is_none() {
                        return Err(cfg_err(file, "clusterCIDR", format!("{s:?} is not a CIDR")));
                    }
                    LocalDetector::Cidr(s)
                }
            };
        }
        if let Some(v) = get("masqueradeAll") {
            self.masquerade_all = boolean(file, "masqueradeAll", v)?;
        }
        if let Some(v) = get("masqueradeMark") {
            let s = string(file, "masqueradeMark", v)?;
            check_mark(file, "masqueradeMark", &s)?;
            self.masquerade_mark = s;
        }
        if let Some(v) = get("localhostNodePorts") {
            self.localhost_nodeports = boolean(file, "localhostNodePorts", v)?;
        }
        if let Some(v) = map.get("nodePortAddresses") {
            self.node_port_addresses = match v {
                Value::Null => None,
                _ => Some(list(file, "nodePortAddresses", v, |p, s| {
                    parse_cidr_sloppy(s)
                        .ok_or_else(|| cfg_err(file, p, format!("{s:?} is not a CIDR")))
                })?),
            };
        }
        if let Some(v) = get("nfacctCounters") {
            self.nfacct_counters = list(file, "nfacctCounters", v, |p, s| {
                if s.is_empty() || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                    return Err(cfg_err(file, p, format!("{s:?} is not a counter name")));
                }
                Ok(s.to_owned())
            })?;
        }
        if let Some(v) = get("randomFully") {
            self.random_fully = boolean(file, "randomFully", v)?;
        }
        if let Some(v) = get("conntrackTCPLiberal") {
            self.conntrack_tcp_liberal = boolean(file, "conntrackTCPLiberal", v)?;
        }
        if let Some(v) = get("largeClusterEndpointsThreshold") {
            self.large_cluster_endpoints_threshold = v
                .as_u64()
                .ok_or_else(|| {
                    cfg_err(
                        file,
                        "largeClusterEndpointsThreshold",
                        "must be a non-negative integer",
                    )
                })?
                .try_into()
                .unwrap_or(usize::MAX);
        }
        if let Some(v) = get("interfaceAddresses") {
            self.interface_addresses = list(file, "interfaceAddresses", v, |p, s| {
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| cfg_err(file, p, format!("{s:?} is not an ip/prefix")))
            })?;
        }
        if let Some(v) = get("serviceCIDRs") {
            self.service_cidrs = list(file, "serviceCIDRs", v, |p, s| {
                parse_cidr_sloppy(s).ok_or_else(|| cfg_err(file, p, format!("{s:?} is not a CIDR")))
            })?;
        }
        if let Some(v) = get("staleChains") {
            self.stale_chains = list(file, "staleChains", v, |p, s| {
                // The name ends up in rule text: only the characters kube-proxy's names use.
                let ok = !s.is_empty()
                    && s.len() <= 256
                    && s.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_./:".contains(&b));
                if !ok {
                    return Err(cfg_err(file, p, format!("{s:?} is not a chain name")));
                }
                Ok(s.to_owned())
            })?;
        }
        Ok(())
    }

    /// Applies a `KubeProxyConfiguration` (clusterCIDR, hostnameOverride, masqueradeAll,
    /// masqueradeBit, localhostNodePorts, nodePortAddresses, detectLocalMode). Paths in errors
    /// are the configuration's own field paths.
    pub fn apply_proxy_config(&mut self, cfg: &ProxyConfig) -> Result<()> {
        let file = cfg.loc.file.as_deref();
        let at = |rel: &str| cfg.loc.field(rel);
        if let Some(h) = cfg.hostname_override.as_deref().filter(|h| !h.is_empty()) {
            self.node_name = h.to_owned();
        }
        if let Some(m) = cfg.masquerade_all {
            self.masquerade_all = m;
        }
        if let Some(bit) = cfg.masquerade_bit {
            if !(0..=31).contains(&bit) {
                return Err(cfg_err(
                    file,
                    &at("iptables.masqueradeBit"),
                    format!("must be between 0 and 31, got {bit}"),
                ));
            }
            self.masquerade_mark = mark_for_bit(bit as u32);
        }
        if let Some(l) = cfg.localhost_nodeports {
            self.localhost_nodeports = l;
        }
        if !cfg.nodeport_addresses.is_empty() {
            let mut v = Vec::new();
            for (i, s) in cfg.nodeport_addresses.iter().enumerate() {
                let p = at(&format!("nodePortAddresses[{i}]"));
                if s == "primary" {
                    return Err(cfg_err(
                        file,
                        &p,
                        "\"primary\" is not supported: list the node IPs as /32 or /128",
                    ));
                }
                v.push(
                    parse_cidr_sloppy(s)
                        .ok_or_else(|| cfg_err(file, &p, format!("{s:?} is not a CIDR")))?,
                );
            }
            self.node_port_addresses = Some(v);
        }
        // The cluster CIDR of this family (comma-separated for dual stack).
        let cidr = cfg.cluster_cidr.as_deref().and_then(|c| {
            c.split(',').map(str::trim).find(|s| {
                parse_cidr_sloppy(s)
                    .is_some_and(|n| n.addr().is_ipv4() == (self.ip_family == IpFamily::IPv4))
            })
        });
        self.local_detector = match &cfg.detect_local_mode {
            None | Some(DetectLocalMode::ClusterCidr) => match cidr {
                Some(c) => LocalDetector::Cidr(c.to_owned()),
                None => LocalDetector::None,
            },
            Some(DetectLocalMode::NodeCidr) => LocalDetector::NodeCidr,
            Some(DetectLocalMode::BridgeInterface) => match &cfg.bridge_interface {
                Some(b) if !b.is_empty() => LocalDetector::BridgeInterface(b.clone()),
                _ => {
                    return Err(cfg_err(
                        file,
                        &at("detectLocal.bridgeInterface"),
                        "required with detectLocalMode BridgeInterface",
                    ))
                }
            },
            Some(DetectLocalMode::InterfaceNamePrefix) => match &cfg.interface_name_prefix {
                Some(b) if !b.is_empty() => LocalDetector::InterfaceNamePrefix(b.clone()),
                _ => {
                    return Err(cfg_err(
                        file,
                        &at("detectLocal.interfaceNamePrefix"),
                        "required with detectLocalMode InterfaceNamePrefix",
                    ))
                }
            },
            Some(DetectLocalMode::Other(o)) => {
                return Err(cfg_err(
                    file,
                    &at("detectLocalMode"),
                    format!("unknown mode {o:?}"),
                ))
            }
        };
        Ok(())
    }

    /// Settings from a `KubeProxyConfiguration` over the defaults.
    pub fn from_proxy_config(cfg: &ProxyConfig) -> Result<Self> {
        let mut s = ProxierSettings::default();
        s.apply_proxy_config(cfg)?;
        Ok(s)
    }

    /// Fills what the settings leave open from the cluster's Node object named `node_name`:
    /// node IPs (this family first), interface addresses (loopback plus the node IPs) and a
    /// NodeCIDR detector's CIDR.
    pub fn resolve(&self, cluster: &Cluster) -> Result<ProxierSettings> {
        let mut s = self.clone();
        let node = cluster.nodes.iter().find(|n| n.meta.name == s.node_name);
        if s.node_ips.is_empty() {
            if let Some(node) = node {
                let ips: Vec<IpAddr> = node.ips().filter_map(parse_ip_sloppy).collect();
                let fam = |ip: &IpAddr| IpFamily::of(ip) == s.ip_family;
                s.node_ips = ips.iter().copied().filter(fam).collect();
                s.node_ips.extend(ips.iter().copied().filter(|ip| !fam(ip)));
            }
        }
        if s.interface_addresses.is_empty() {
            s.interface_addresses = vec![
                "127.0.0.1/8".parse().expect("constant"),
                "::1/128".parse().expect("constant"),
            ];
            s.interface_addresses
                .extend(s.node_ips.iter().map(|ip| IpNet::from(*ip)));
        }
        if s.local_detector == LocalDetector::NodeCidr {
            let cidr = node.and_then(|n| {
                n.pod_cidrs.iter().find(|c| {
                    parse_cidr_sloppy(c)
                        .is_some_and(|n| n.addr().is_ipv4() == (s.ip_family == IpFamily::IPv4))
                })
            });
            match cidr {
                Some(c) => s.local_detector = LocalDetector::Cidr(c.clone()),
                None => {
                    return Err(cfg_err(
                        None,
                        "detectLocalMode",
                        format!(
                            "NodeCIDR needs the Node {:?} with a {} spec.podCIDRs entry",
                            s.node_name,
                            s.ip_family.as_str()
                        ),
                    ))
                }
            }
        }
        Ok(s)
    }

    /// Whether an nfacct counter is available.
    pub fn has_nfacct(&self, name: &str) -> bool {
        self.nfacct_counters.iter().any(|c| c == name)
    }

    /// The JSON form (the fields of `proxy.json`).
    pub fn to_json(&self) -> Value {
        let cidr = match &self.local_detector {
            LocalDetector::Cidr(c) => Value::String(c.clone()),
            _ => Value::Null,
        };
        let strs = |v: Vec<String>| Value::Array(v.into_iter().map(Value::String).collect());
        json!({
            "nodeName": self.node_name,
            "nodeIPs": strs(self.node_ips.iter().map(IpAddr::to_string).collect()),
            "ipFamily": self.ip_family.as_str(),
            "clusterCIDR": cidr,
            "masqueradeAll": self.masquerade_all,
            "masqueradeMark": self.masquerade_mark,
            "localhostNodePorts": self.localhost_nodeports,
            "nodePortAddresses": match &self.node_port_addresses {
                None => Value::Null,
                Some(v) => strs(v.iter().map(IpNet::to_string).collect()),
            },
            "nfacctCounters": self.nfacct_counters,
            "randomFully": self.random_fully,
            "conntrackTCPLiberal": self.conntrack_tcp_liberal,
            "largeClusterEndpointsThreshold": self.large_cluster_endpoints_threshold,
            "interfaceAddresses": strs(self.interface_addresses.iter().map(IpNet::to_string).collect()),
            "serviceCIDRs": strs(self.service_cidrs.iter().map(IpNet::to_string).collect()),
            "staleChains": self.stale_chains,
        })
    }
}

impl serde::Serialize for ProxierSettings {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

fn check_mark(file: Option<&str>, path: &str, s: &str) -> Result<()> {
    let hex = s.strip_prefix("0x").unwrap_or("");
    if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) || hex.len() > 8 {
        return Err(cfg_err(
            file,
            path,
            format!("{s:?} is not a mark (0x followed by up to 8 hex digits)"),
        ));
    }
    Ok(())
}

fn string(file: Option<&str>, path: &str, v: &Value) -> Result<String> {
    v.as_str()
        .map(str::to_owned)
        .ok_or_else(|| cfg_err(file, path, "must be a string"))
}

fn boolean(file: Option<&str>, path: &str, v: &Value) -> Result<bool> {
    v.as_bool()
        .ok_or_else(|| cfg_err(file, path, "must be true or false"))
}

fn list<T>(
    file: Option<&str>,
    path: &str,
    v: &Value,
    mut f: impl FnMut(&str, &str) -> Result<T>,
) -> Result<Vec<T>> {
    let Value::Array(items) = v else {
        return Err(cfg_err(file, path, "must be a list of strings"));
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, it) in items.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let s = it
            .as_str()
            .ok_or_else(|| cfg_err(file, &p, "must be a string"))?;
        out.push(f(&p, s)?);
    }
    Ok(out)
}

/// The command-line flags of the iptables proxier (`svccore render iptables`, the bindings'
/// keyword arguments): each `Some` overrides whatever the defaults, the configuration and the
/// `--proxier-settings` file said.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SettingsFlags {
    /// `--hostname-override` / `--node`.
    pub node_name: Option<String>,
    /// The proxier's family (`IPv4` / `IPv6`).
    pub ip_family: Option<IpFamily>,
    /// `--cluster-cidr` (a ClusterCIDR detector; comma-separated for dual stack: the CIDR of
    /// the proxier's family is used).
    pub cluster_cidr: Option<String>,
    /// `--masquerade-all`.
    pub masquerade_all: Option<bool>,
    /// `--iptables-masquerade-bit` (0..=31): the mark becomes `%#08x` of `1 << bit`.
    pub masquerade_bit: Option<i64>,
    /// The mark text itself (`0x4000`, as kube-proxy's unit tests write it).
    pub masquerade_mark: Option<String>,
    /// `--iptables-localhost-nodeports`.
    pub localhost_nodeports: Option<bool>,
    /// `--nodeport-addresses` (CIDRs).
    pub nodeport_addresses: Option<Vec<String>>,
    /// nfacct counters available on the node.
    pub nfacct_counters: Option<Vec<String>>,
    /// iptables supports `--random-fully`.
    pub random_fully: Option<bool>,
    /// `net.netfilter.nf_conntrack_tcp_be_liberal` is set.
    pub conntrack_tcp_liberal: Option<bool>,
    /// `--service-cidrs` (nftables: the ServiceCIDRs, when the input has no ServiceCIDR objects).
    pub service_cidrs: Option<Vec<String>>,
}

impl SettingsFlags {
    /// Applies the flags given to `s`, checked as the JSON form is (errors are
    /// [`Error::Config`] or [`Error::InvalidArgument`] naming the field).
    pub fn apply(&self, s: &mut ProxierSettings) -> Result<()> {
        if self.masquerade_bit.is_some() && self.masquerade_mark.is_some() {
            return Err(Error::InvalidArgument(
                "give the masquerade bit or the masquerade mark, not both".into(),
            ));
        }
        let mut m = Map::new();
        if let Some(n) = &self.node_name {
            m.insert("nodeName".into(), json!(n));
        }
        if let Some(f) = self.ip_family {
            m.insert("ipFamily".into(), json!(f.as_str()));
        }
        if let Some(c) = &self.cluster_cidr {
            let fam = self.ip_family.unwrap_or(s.ip_family);
            let pick = c
                .split(',')
                .map(str::trim)
                .find(|x| {
                    parse_cidr_sloppy(x)
                        .is_some_and(|n| n.addr().is_ipv4() == (fam == IpFamily::IPv4))
                })
                .unwrap_or(c.trim());
            m.insert("clusterCIDR".into(), json!(pick));
        }
        if let Some(v) = self.masquerade_all {
            m.insert("masqueradeAll".into(), json!(v));
        }
        if let Some(bit) = self.masquerade_bit {
            if !(0..=31).contains(&bit) {
                return Err(cfg_err(
                    None,
                    "masqueradeBit",
                    format!("must be between 0 and 31, got {bit}"),
                ));
            }
            m.insert("masqueradeMark".into(), json!(mark_for_bit(bit as u32)));
        }
        if let Some(v) = &self.masquerade_mark {
            m.insert("masqueradeMark".into(), json!(v));
        }
        if let Some(v) = self.localhost_nodeports {
            m.insert("localhostNodePorts".into(), json!(v));
        }
        if let Some(v) = &self.nodeport_addresses {
            m.insert("nodePortAddresses".into(), json!(v));
        }
        if let Some(v) = &self.nfacct_counters {
            m.insert("nfacctCounters".into(), json!(v));
        }
        if let Some(v) = self.random_fully {
            m.insert("randomFully".into(), json!(v));
        }
        if let Some(v) = self.conntrack_tcp_liberal {
            m.insert("conntrackTCPLiberal".into(), json!(v));
        }
        if let Some(v) = &self.service_cidrs {
            m.insert("serviceCIDRs".into(), json!(v));
        }
        s.apply_json(&Value::Object(m), None)
    }
}

impl ProxierSettings {
    /// The settings of one proxier, layered as kube-proxy reads them: the defaults, then the
    /// `KubeProxyConfiguration` (`config`: a `--config` file, else the cluster's), then the
    /// fields present in a `--proxier-settings` object (`file` names it in errors), then the
    /// flags. The family (from the flags, else the settings object) is fixed first, so the
    /// configuration's dual-stack `clusterCIDR` contributes the CIDR of that family.
    ///
    /// # Example
    /// ```
    /// use serde_json::json;
    /// use svccore::model::ProxyConfig;
    /// use svccore::render::iptables::{ProxierSettings, SettingsFlags};
    /// let cfg = ProxyConfig { masquerade_all: Some(true), hostname_override: Some("a".into()), ..Default::default() };
    /// let file = json!({"nodeName": "b", "randomFully": false});
    /// let flags = SettingsFlags { node_name: Some("c".into()), ..Default::default() };
    /// let s = ProxierSettings::layered(Some(&cfg), Some((&file, Some("p.json"))), &flags).unwrap();
    /// assert_eq!((s.node_name.as_str(), s.masquerade_all, s.random_fully), ("c", true, false));
    /// ```
    pub fn layered(
        config: Option<&ProxyConfig>,
        settings_json: Option<(&Value, Option<&str>)>,
        flags: &SettingsFlags,
    ) -> Result<ProxierSettings> {
        let mut s = ProxierSettings::default();
        let json_family = settings_json
            .and_then(|(v, _)| v.get("ipFamily"))
            .and_then(Value::as_str)
            .and_then(IpFamily::parse);
        if let Some(f) = flags.ip_family.or(json_family) {
            s.ip_family = f;
        }
        if let Some(cfg) = config {
            s.apply_proxy_config(cfg)?;
        }
        if let Some((v, file)) = settings_json {
            s.apply_json(v, file)?;
        }
        flags.apply(&mut s)?;
        Ok(s)
    }
}

/// A helper for bindings: the JSON object of the defaults.
pub fn default_settings_json() -> Map<String, Value> {
    match ProxierSettings::default().to_json() {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mark_is_zero_padded_like_go() {
        assert_eq!(mark_for_bit(14), "0x00004000");
        assert_eq!(mark_for_bit(0), "0x00000001");
        assert_eq!(mark_for_bit(31), "0x80000000");
    }

    #[test]
    fn rejects_bad_fields_with_path() {
        let e =
            ProxierSettings::from_json_str(r#"{"masqueradeAll": "yes"}"#, Some("f")).unwrap_err();
        assert_eq!(e.kind(), "config");
        assert_eq!(e.issues()[0].path, "masqueradeAll");
        let e =
            ProxierSettings::from_json_str(r#"{"nodePortAddresses": ["1.2.3.0/24", "zz"]}"#, None)
                .unwrap_err();
        assert_eq!(e.issues()[0].path, "nodePortAddresses[1]");
        let e = ProxierSettings::from_json_str(r#"{"bogus": 1}"#, None).unwrap_err();
        assert_eq!(e.issues()[0].path, "bogus");
    }

    #[test]
    fn json_round_trips() {
        let s = ProxierSettings {
            node_name: "n".into(),
            local_detector: LocalDetector::Cidr("10.0.0.0/8".into()),
            node_port_addresses: Some(vec!["192.168.0.0/24".parse().unwrap()]),
            ..Default::default()
        };
        let back = ProxierSettings::from_json_str(&s.to_json().to_string(), None).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn proxy_config_masquerade_bit_and_cidr() {
        let cfg = ProxyConfig {
            cluster_cidr: Some("fd00::/48,10.244.0.0/16".into()),
            masquerade_bit: Some(15),
            hostname_override: Some("node-a".into()),
            ..Default::default()
        };
        let s = ProxierSettings::from_proxy_config(&cfg).unwrap();
        assert_eq!(s.masquerade_mark, "0x00008000");
        assert_eq!(
            s.local_detector,
            LocalDetector::Cidr("10.244.0.0/16".into())
        );
        assert_eq!(s.node_name, "node-a");
        let bad = ProxyConfig {
            masquerade_bit: Some(40),
            ..Default::default()
        };
        let e = ProxierSettings::from_proxy_config(&bad).unwrap_err();
        assert_eq!(e.issues()[0].path, "iptables.masqueradeBit");
    }

    #[test]
    fn layered_precedence_defaults_config_json_flags() {
        let cfg = ProxyConfig {
            cluster_cidr: Some("10.244.0.0/16,fd00::/48".into()),
            masquerade_bit: Some(15),
            ..Default::default()
        };
        // The configuration alone.
        let s = ProxierSettings::layered(Some(&cfg), None, &SettingsFlags::default()).unwrap();
        assert_eq!(s.masquerade_mark, "0x00008000");
        assert_eq!(
            s.local_detector,
            LocalDetector::Cidr("10.244.0.0/16".into())
        );
        // The family of the settings file picks the configuration's IPv6 CIDR.
        let v6 = json!({"ipFamily": "IPv6"});
        let s = ProxierSettings::layered(Some(&cfg), Some((&v6, None)), &SettingsFlags::default())
            .unwrap();
        assert_eq!(s.local_detector, LocalDetector::Cidr("fd00::/48".into()));
        // The file overrides the configuration, the flags override the file.
        let file = json!({"masqueradeMark": "0x4000", "localhostNodePorts": false});
        let flags = SettingsFlags {
            masquerade_bit: Some(13),
            cluster_cidr: Some("fd01::/48,10.1.0.0/16".into()),
            ..Default::default()
        };
        let s =
            ProxierSettings::layered(Some(&cfg), Some((&file, Some("p.json"))), &flags).unwrap();
        assert_eq!(s.masquerade_mark, "0x00002000");
        assert!(!s.localhost_nodeports);
        assert_eq!(s.local_detector, LocalDetector::Cidr("10.1.0.0/16".into()));
    }

    #[test]
    fn flags_are_checked_with_the_field_name() {
        let bad = |f: SettingsFlags| {
            let e = ProxierSettings::layered(None, None, &f).unwrap_err();
            (e.kind(), e.to_string())
        };
        let (kind, msg) = bad(SettingsFlags {
            masquerade_bit: Some(32),
            ..Default::default()
        });
        assert_eq!(kind, "config");
        assert!(
            msg.contains("masqueradeBit: must be between 0 and 31, got 32"),
            "{msg}"
        );
        let (kind, msg) = bad(SettingsFlags {
            cluster_cidr: Some("nope".into()),
            ..Default::default()
        });
        assert_eq!(kind, "config");
        assert!(msg.contains("clusterCIDR: \"nope\" is not a CIDR"), "{msg}");
        let (kind, _) = bad(SettingsFlags {
            masquerade_bit: Some(14),
            masquerade_mark: Some("0x4000".into()),
            ..Default::default()
        });
        assert_eq!(kind, "invalid-argument");
    }
}
