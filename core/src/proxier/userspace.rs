//! kube-proxy userspace mode's own settings and its proxy ports: which port on the node the
//! proxy listens on for each service port.
//!
//! spec: [`crate::render::userspace`] ("Proxy ports"). kube-proxy takes a port for every
//! service port it proxies: from `--proxy-port-range` (KubeProxyConfiguration `portRange`) at a
//! random free position, or, without a range, whatever free port the kernel gives a socket
//! bound to port 0. Neither can be replayed, so svccore allocates deterministically
//! ([`allocate`]) and takes the ports of a real node as input ([`UserspaceConfig::proxy_ports`]),
//! so that a node's rules can be compared with the prediction.

use std::net::{IpAddr, Ipv4Addr};

use serde_json::Value;

use crate::ip::parse_ip_sloppy;
use crate::model::{IpFamily, Protocol};
use crate::snapshot::ServicePortView;
use crate::{Error, Issue, Result};

/// The ports svccore allocates from when no range is given: Linux's default ephemeral range
/// (`net.ipv4.ip_local_port_range` = `32768 60999`), where the kernel picks a socket bound to
/// port 0 (svccore's choice: the kernel's pick itself is random).
pub const DEFAULT_EPHEMERAL: PortRange = PortRange {
    base: 32768,
    size: 60999 - 32768 + 1,
};

/// A port range as kube-proxy's `utilnet.PortRange` holds it: `base` and `size` (inclusive of
/// both ends when printed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortRange {
    /// The first port.
    pub base: u16,
    /// How many ports (1 or more).
    pub size: u32,
}

impl PortRange {
    /// The last port of the range.
    pub fn last(&self) -> u16 {
        (u32::from(self.base) + self.size - 1) as u16
    }

    /// Parses what `utilnet.PortRange.Set` accepts: empty (no range: `Ok(None)`), one port
    /// `P`, `min-max` or `min+offset`, inclusive at both ends, after trimming spaces; a range
    /// whose base is 0 is no range either (kube-proxy then lets the kernel pick). The numbers
    /// are decimal digits (svccore does not take the signs Go's `Atoi` tolerates). The error
    /// is the reason, without the value.
    pub fn parse(text: &str) -> std::result::Result<Option<PortRange>, String> {
        let t = text.trim();
        if t.is_empty() {
            return Ok(None);
        }
        let num = |s: &str| -> std::result::Result<u32, String> {
            if s.is_empty() || s.len() > 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("{s:?} is not a port number"));
            }
            s.parse::<u32>()
                .map_err(|_| format!("{s:?} is not a port number"))
        };
        let (low, high) = match (t.find('-'), t.find('+')) {
            (None, None) => {
                let p = num(t)?;
                (p, p)
            }
            (Some(h), None) => (num(&t[..h])?, num(&t[h + 1..])?),
            (None, Some(p)) => {
                let low = num(&t[..p])?;
                (low, low + num(&t[p + 1..])?)
            }
            (Some(_), Some(_)) => return Err("unable to parse port range".into()),
        };
        if low > 65535 || high > 65535 {
            return Err("the port range cannot be greater than 65535".into());
        }
        if high < low {
            return Err("end port cannot be less than start port".into());
        }
        if low == 0 {
            return Ok(None);
        }
        Ok(Some(PortRange {
            base: low as u16,
            size: high - low + 1,
        }))
    }

    /// `min-max`, as kube-proxy prints a range.
    pub fn to_text(&self) -> String {
        format!("{}-{}", self.base, self.last())
    }
}

/// The userspace mode's settings (the `userspace` part of [`ProxierSettings`]).
///
/// JSON form (the `userspace` object of the settings file):
/// `{"portRange": "36000-36099", "bindAddress": "0.0.0.0", "proxyPorts": {"ns/web:http": 36005}}`.
///
/// [`ProxierSettings`]: super::config::ProxierSettings
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserspaceConfig {
    /// `--proxy-port-range` / `portRange` (`None`: the kernel picks, [`DEFAULT_EPHEMERAL`]).
    pub port_range: Option<PortRange>,
    /// `--bind-address` / `bindAddress`: the address the proxy listens on (`0.0.0.0` or `::`
    /// for every address, kube-proxy's default).
    pub bind_address: IpAddr,
    /// Proxy ports given by the user, by kube-proxy's service port name (`ns/name` or
    /// `ns/name:port`): a real node's ports (what `ss -ltnp` shows kube-proxy listening on, or
    /// the `--to-ports` of its rules), in the settings object's order (a list, not a map: the
    /// WebAssembly module's size counts).
    pub proxy_ports: Vec<(String, u16)>,
}

impl Default for UserspaceConfig {
    fn default() -> Self {
        UserspaceConfig {
            port_range: None,
            bind_address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            proxy_ports: Vec::new(),
        }
    }
}

fn cfg_err(file: Option<&str>, path: &str, msg: impl Into<String>) -> Error {
    Error::Config(Issue::new(file, path, msg))
}

impl UserspaceConfig {
    /// Parses a bind address (an IP, leading zeros tolerated as kube-proxy's parser did); the
    /// error is a message quoting the value.
    pub fn parse_bind_address(text: &str) -> std::result::Result<IpAddr, String> {
        parse_ip_sloppy(text.trim()).ok_or_else(|| format!("{text:?} is not an IP address"))
    }

    /// Whether the proxy listens on every address (`0.0.0.0` or `::`): containers are then sent
    /// to it with `REDIRECT`, and the host with `DNAT` to the node IP.
    pub fn listens_on_all(&self) -> bool {
        self.bind_address.is_unspecified()
    }

    /// Applies the `userspace` object of a settings file (fields present only).
    pub fn apply_json(&mut self, v: &Value, file: Option<&str>) -> Result<()> {
        let Value::Object(map) = v else {
            return Err(cfg_err(file, "userspace", "must be an object"));
        };
        const KNOWN: [&str; 3] = ["portRange", "bindAddress", "proxyPorts"];
        for k in map.keys() {
            if !KNOWN.contains(&k.as_str()) {
                return Err(cfg_err(
                    file,
                    &format!("userspace.{k}"),
                    format!("unknown field (known: {})", KNOWN.join(", ")),
                ));
            }
        }
        if let Some(v) = map.get("portRange") {
            self.port_range = match v {
                Value::Null => None,
                Value::String(s) => PortRange::parse(s)
                    .map_err(|m| cfg_err(file, "userspace.portRange", format!("{s:?}: {m}")))?,
                _ => return Err(cfg_err(file, "userspace.portRange", "must be a string")),
            };
        }
        if let Some(v) = map.get("bindAddress").filter(|v| !v.is_null()) {
            let s = v
                .as_str()
                .ok_or_else(|| cfg_err(file, "userspace.bindAddress", "must be a string"))?;
            self.bind_address = Self::parse_bind_address(s)
                .map_err(|m| cfg_err(file, "userspace.bindAddress", m))?;
        }
        if let Some(v) = map.get("proxyPorts").filter(|v| !v.is_null()) {
            let Value::Object(ports) = v else {
                return Err(cfg_err(
                    file,
                    "userspace.proxyPorts",
                    "must be an object of \"ns/name:port\": port",
                ));
            };
            let mut out = Vec::new();
            for (name, port) in ports {
                let path = format!("userspace.proxyPorts[{name:?}]");
                if !valid_port_name(name) {
                    return Err(cfg_err(
                        file,
                        &path,
                        "the key must be a service port name, ns/name or ns/name:port",
                    ));
                }
                let p = port
                    .as_u64()
                    .filter(|p| (1..=65535).contains(p))
                    .ok_or_else(|| cfg_err(file, &path, "must be a port number (1-65535)"))?;
                out.push((name.clone(), p as u16));
            }
            self.proxy_ports = out;
        }
        Ok(())
    }

    /// The JSON form.
    pub fn to_json(&self) -> Value {
        let ports: serde_json::Map<String, Value> = self
            .proxy_ports
            .iter()
            .map(|(k, p)| (k.clone(), Value::from(*p)))
            .collect();
        let mut m = serde_json::Map::new();
        m.insert(
            "portRange".into(),
            self.port_range
                .map_or(Value::Null, |r| Value::String(r.to_text())),
        );
        m.insert(
            "bindAddress".into(),
            Value::String(self.bind_address.to_string()),
        );
        m.insert("proxyPorts".into(), Value::Object(ports));
        Value::Object(m)
    }
}

/// `ns/name` or `ns/name:port` made of the characters Kubernetes names allow (so a key can
/// end up in a rule comment unquoted by anything but the comment's own quotes).
fn valid_port_name(s: &str) -> bool {
    let ok = |part: &str| {
        !part.is_empty()
            && part.len() <= 253
            && part
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
    };
    let Some((ns, rest)) = s.split_once('/') else {
        return false;
    };
    let (name, port) = match rest.split_once(':') {
        Some((n, p)) => (n, Some(p)),
        None => (rest, None),
    };
    ok(ns) && ok(name) && port.is_none_or(ok)
}

/// Whether kube-proxy's userspace mode proxies this protocol: it opens TCP and UDP sockets
/// only; for any other protocol opening the proxy socket fails and the port gets no rules.
pub fn proxied(protocol: &Protocol) -> bool {
    matches!(protocol, Protocol::Tcp | Protocol::Udp)
}

/// The endpoints the userspace proxy balances over for a service port (indices into its
/// endpoints, in the snapshot's order): every ready one. The proxy read the `Endpoints`
/// object, whose `addresses` are the ready endpoints; traffic policies and topology came
/// after this mode and do not apply.
pub fn proxy_endpoints(port: &ServicePortView) -> Vec<usize> {
    (0..port.endpoints.len())
        .filter(|&i| port.endpoints[i].ready)
        .collect()
}

/// Allocates a proxy port to each service port in `ports` (indices in `order`, kube-proxy's
/// write order): `None` for a port userspace mode does not proxy ([`proxied`]).
///
/// The rule (svccore's, spec: render/userspace.rs "Proxy ports"): ports named in
/// [`UserspaceConfig::proxy_ports`] take the given port; then the others, in `order`, each
/// take the lowest port of the range (`--proxy-port-range`, else [`DEFAULT_EPHEMERAL`]) that no
/// earlier service port holds. Errors ([`Error::Config`], path in the settings'
/// `userspace.proxyPorts` or `portRange`): a given name that is no proxied service port of the
/// snapshot, two service ports of one protocol given the same port (a protocol cannot listen
/// twice on one port), a range too small for the service ports. A port allocated from the
/// range is a number no other service port holds, whatever its protocol (kube-proxy's range
/// allocator keeps one bitmap).
pub fn allocate(
    ports: &[ServicePortView],
    order: &[usize],
    cfg: &UserspaceConfig,
) -> Result<Vec<Option<u16>>> {
    let mut out = vec![None; ports.len()];
    // Given ports, per protocol (a TCP and a UDP socket may share a number on a node). Plain
    // vectors rather than trees: the lists are short, and the WebAssembly module's size counts.
    let mut taken: Vec<(bool, u16)> = Vec::new();
    for &(ref name, port) in &cfg.proxy_ports {
        let path = format!("userspace.proxyPorts[{name:?}]");
        let mut found = false;
        for &i in order {
            if !proxied(&ports[i].protocol) || ports[i].service_port_name != *name {
                continue;
            }
            found = true;
            let key = (ports[i].protocol == Protocol::Udp, port);
            if taken.contains(&key) {
                return Err(cfg_err(
                    None,
                    &path,
                    format!("port {port} is already the proxy port of another service port"),
                ));
            }
            taken.push(key);
            out[i] = Some(port);
        }
        if !found {
            return Err(cfg_err(
                None,
                &path,
                "names no TCP or UDP service port of this family in the input",
            ));
        }
    }
    let range = cfg.port_range.unwrap_or(DEFAULT_EPHEMERAL);
    // kube-proxy's range allocator keeps one bitmap for every protocol: a number held by a TCP
    // or a UDP proxy port is not handed out again.
    let held: Vec<u16> = taken.iter().map(|&(_, p)| p).collect();
    let need = order
        .iter()
        .filter(|&&i| proxied(&ports[i].protocol) && out[i].is_none())
        .count();
    let mut free = (u32::from(range.base)..=u32::from(range.last()))
        .map(|p| p as u16)
        .filter(|p| !held.contains(p));
    for &i in order {
        if !proxied(&ports[i].protocol) || out[i].is_some() {
            continue;
        }
        let Some(p) = free.next() else {
            return Err(cfg_err(
                None,
                "userspace.portRange",
                format!(
                    "the range {} has no free port left for {} ({need} service ports need one \
                     beyond those given in userspace.proxyPorts)",
                    range.to_text(),
                    ports[i].service_port_name
                ),
            ));
        };
        out[i] = Some(p);
    }
    Ok(out)
}

/// The address the host chains DNAT to: the bind address when it is one address, else the
/// node IP (kube-proxy chose a host interface's address; svccore takes the node IP of the
/// family). Errors: a loopback bind address (kube-proxy refuses to start), a bind address of
/// the other family, no node IP to stand for the host.
pub fn host_ip(cfg: &UserspaceConfig, family: IpFamily, node_ip: Option<IpAddr>) -> Result<IpAddr> {
    let b = cfg.bind_address;
    if b.is_loopback() {
        return Err(cfg_err(
            None,
            "userspace.bindAddress",
            format!("{b}: userspace mode cannot proxy on localhost"),
        ));
    }
    if IpFamily::of(&b) != family {
        return Err(cfg_err(
            None,
            "userspace.bindAddress",
            format!("{b} is not an {} address", family.as_str()),
        ));
    }
    if !b.is_unspecified() {
        return Ok(b);
    }
    node_ip.ok_or_else(|| {
        cfg_err(
            None,
            "nodeIPs",
            "userspace mode DNATs the node's own traffic to the node IP: give nodeIPs, a Node \
             object with an address, or a bindAddress",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_range_reads_what_kube_proxy_reads() {
        let r = |s: &str| PortRange::parse(s);
        assert_eq!(
            r(" 36000-36009 "),
            Ok(Some(PortRange {
                base: 36000,
                size: 10
            }))
        );
        assert_eq!(r("36000+9"), r("36000-36009"));
        assert_eq!(r("36000").unwrap().unwrap().size, 1);
        assert_eq!(r(""), Ok(None));
        assert_eq!(r("0-0"), Ok(None));
        assert!(r("5-4").unwrap_err().contains("less than start"));
        assert!(r("65535-65536").unwrap_err().contains("greater than 65535"));
        assert!(r("a-b").is_err());
        assert!(r("1-2+3").is_err());
    }

    #[test]
    fn proxy_port_keys_are_port_names() {
        assert!(valid_port_name("ns/web"));
        assert!(valid_port_name("ns/web:http"));
        assert!(!valid_port_name("ns/web:\"x"));
        assert!(!valid_port_name("web"));
        let mut c = UserspaceConfig::default();
        let e = c
            .apply_json(
                &serde_json::json!({"proxyPorts": {"ns/web": 0}}),
                Some("p.json"),
            )
            .unwrap_err();
        assert_eq!(e.issues()[0].path, "userspace.proxyPorts[\"ns/web\"]");
    }
}
