//! The `iptables-restore --noflush` payload, rule by rule as kube-proxy writes it.
//!
//! Each rule is stated once, as the words kube-proxy writes, to a [`RestoreSink`]: the restore
//! form writes them as text, the save form reads them straight into the rule model.
//!
//! spec: kube-proxy-iptables.md §2.3–§2.4 (frame and fixed rules), §3.2–§3.3 (per service port,
//! in exact write order), §3.5 (large-cluster mode), §3.6 (IPv6), §3.7 (quoting).

use std::borrow::Cow;
use std::net::IpAddr;

use crate::model::{IpFamily, Protocol};
use crate::netfilter::RestoreSink;
use crate::proxier::plan::{PortPlan, Route};
use crate::snapshot::ServicePortView;
use crate::text::Word;

use super::names::*;
use crate::proxier::config::{ProxierSettings, NFACCT_INVALID, NFACCT_LOCALHOST_NPS};

/// Proxier-wide values every service port's rules depend on.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub masquerade_all: bool,
    /// `-s 10.0.0.0/8` etc. as two words, without the `!`.
    pub if_local: Option<[String; 2]>,
    pub nfacct_localhost: bool,
    pub large: bool,
    /// `probability(n)` for small `n`, formatted once.
    probs: Vec<String>,
}

impl Ctx {
    pub fn new(s: &ProxierSettings, total_endpoints: usize) -> Ctx {
        let v6 = s.ip_family == IpFamily::IPv6;
        Ctx {
            masquerade_all: s.masquerade_all,
            if_local: s.local_detector.if_local(),
            nfacct_localhost: !v6
                && s.iptables.localhost_nodeports
                && s.has_nfacct(NFACCT_LOCALHOST_NPS),
            large: total_endpoints > s.iptables.large_cluster_endpoints_threshold,
            probs: (0..64).map(probability).collect(),
        }
    }

    fn prob(&self, n: usize) -> Cow<'_, str> {
        match self.probs.get(n) {
            Some(p) => Cow::Borrowed(p),
            None => Cow::Owned(probability(n)),
        }
    }
}

/// kube-proxy's `%0.10f` of `1/n` (spec §3.3 (9)).
pub(crate) fn probability(n: usize) -> String {
    format!("{:.10}", 1.0 / n as f64)
}

/// One service port's plan with its iptables chain names: everything its rules need.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub port: PortPlan,
    /// The port's chain names, hashed once, side by side in one buffer: `KUBE-SVC-`, `KUBE-SVL-`,
    /// `KUBE-EXT-` and `KUBE-FW-` + the port's suffix, then one `KUBE-SEP-` name per endpoint
    /// (a reachable endpoint's hash; [`UNREACHABLE`] for the others, which have no chain).
    names: String,
}

/// Where each name sits in [`Plan::names`]: every name is a 9-byte prefix (`KUBE-FW-` is 8) and a
/// 16-character hash.
const NAME: usize = 25;
const SVC_AT: usize = 0;
const SVL_AT: usize = NAME;
const EXT_AT: usize = 2 * NAME;
const FW_AT: usize = 3 * NAME;
const SEP_AT: usize = 4 * NAME - 1;

/// The hash slot of an endpoint without a chain: never written to a rule.
const UNREACHABLE: [u8; 16] = *b"................";

impl Plan {
    pub fn new(v: &ServicePortView, port: PortPlan) -> Plan {
        // What the names hash: `ns/name[:port]` + protocol, then + endpoint for a KUBE-SEP.
        let mut hashed = String::with_capacity(v.service_port_name.len() + 64);
        hashed.push_str(&v.service_port_name);
        hashed.push_str(v.protocol.lower());
        let port_len = hashed.len();
        let suffix = hash16_of(hashed.as_bytes());
        let mut names = String::with_capacity(SEP_AT + NAME * v.endpoints.len());
        for prefix in [SVC_PREFIX, SVL_PREFIX, EXT_PREFIX, FW_PREFIX] {
            push_name(&mut names, prefix, suffix);
        }
        let mut reachable = vec![false; v.endpoints.len()];
        for &i in &port.endpoints.all_reachable {
            reachable[i] = true;
        }
        for (e, &r) in v.endpoints.iter().zip(&reachable) {
            let h = if r {
                hashed.truncate(port_len);
                hashed.push_str(&e.endpoint);
                hash16_of(hashed.as_bytes())
            } else {
                UNREACHABLE
            };
            push_name(&mut names, SEP_PREFIX, h);
        }
        Plan { port, names }
    }

    pub fn svc(&self) -> &str {
        &self.names[SVC_AT..SVC_AT + NAME]
    }

    pub fn svl(&self) -> &str {
        &self.names[SVL_AT..SVL_AT + NAME]
    }

    pub fn ext(&self) -> &str {
        &self.names[EXT_AT..EXT_AT + NAME]
    }

    pub fn fw(&self) -> &str {
        &self.names[FW_AT..FW_AT + NAME - 1]
    }

    fn int_chain(&self, v: &ServicePortView) -> &str {
        if v.internal_policy_local {
            self.svl()
        } else {
            self.svc()
        }
    }

    fn ext_policy_chain(&self, v: &ServicePortView) -> &str {
        if v.external_policy_local {
            self.svl()
        } else {
            self.svc()
        }
    }

    /// The `KUBE-SEP-` chain of endpoint `i`, a reachable endpoint.
    fn sep(&self, i: usize) -> &str {
        let at = SEP_AT + NAME * i;
        let name = &self.names[at..at + NAME];
        debug_assert!(!name.ends_with('.'), "endpoint {i} has no chain");
        name
    }
}

/// Appends `prefix` and a 16-character hash.
fn push_name(out: &mut String, prefix: &str, hash: [u8; 16]) {
    out.push_str(prefix);
    // The base32 alphabet (and the placeholder) is ASCII.
    out.push_str(std::str::from_utf8(&hash).unwrap_or_default());
}

/// `(comment, target)` of the filter rules for traffic that a route refuses, if it does.
fn refusal_rule(route: Route, s: &str) -> Option<(String, &'static str)> {
    let target = match route {
        Route::NoEndpoints => "REJECT",
        Route::NoLocalEndpoints => "DROP",
        Route::Cluster | Route::Local => return None,
    };
    route.refusal(s).map(|c| (format!("\"{c}\""), target))
}

/// The IP of an endpoint string (`ip:port` or `[ip]:port`), as printed there.
fn endpoint_host(e: &str) -> &str {
    crate::ip::split_host_port(e).map_or(e, |(h, _)| h)
}

/// `-m P -p P`: the protocol match as kube-proxy writes it, one piece per service port.
fn proto_match(p: &Protocol) -> Cow<'static, str> {
    match p {
        Protocol::Tcp => Cow::Borrowed("-m tcp -p tcp"),
        Protocol::Udp => Cow::Borrowed("-m udp -p udp"),
        Protocol::Sctp => Cow::Borrowed("-m sctp -p sctp"),
        Protocol::Other(o) => Cow::Owned(format!("-m {o} -p {o}")),
    }
}

/// `-A CHAIN -m comment --comment C -m P -p P -d DST --dport PORT -j TARGET`: the shape of
/// every per-address rule kube-proxy writes (spec: kube-proxy-iptables.md §3.3 (1)-(3)).
/// `proto` is [`proto_match`]'s piece.
fn dport_rule<S: RestoreSink>(
    out: &mut S,
    chain: &str,
    comment: &str,
    proto: &str,
    dst: &str,
    port: &str,
    target: &str,
) {
    out.append(
        chain,
        &[
            "-m comment --comment",
            comment,
            proto,
            "-d",
            dst,
            "--dport",
            port,
            "-j",
            target,
        ],
    );
}

/// `"` + `parts` + `"`: a comment kube-proxy writes in quotes, in a buffer reused for each one.
fn quoted<'b>(buf: &'b mut String, parts: &[&str]) -> &'b str {
    buf.clear();
    buf.push('"');
    for p in parts {
        buf.push_str(p);
    }
    buf.push('"');
    buf
}

/// Filter rules of one service port (spec §3.3 steps (1)–(5), filter parts, in write order).
pub(crate) fn write_filter<S: RestoreSink>(v: &ServicePortView, p: &Plan, out: &mut S) {
    let s = v.service_port_name.as_str();
    let pm = proto_match(&v.protocol);
    let proto = pm.as_ref();
    let port = Word::num(v.port.into());
    let port = port.as_str();
    let ext_filter = refusal_rule(p.port.external, s);
    // (1)
    if let Some((c, t)) = refusal_rule(p.port.internal, s) {
        let cip = Word::ip(&v.cluster_ip);
        dport_rule(out, KUBE_SERVICES, &c, proto, cip.as_str(), port, t);
    }
    // (2)
    if let Some((c, t)) = &ext_filter {
        for eip in &v.external_ips {
            let eip = Word::ip(eip);
            dport_rule(out, KUBE_EXTERNAL_SERVICES, c, proto, eip.as_str(), port, t);
        }
    }
    // (3)
    if p.port.firewall {
        let mut buf = String::new();
        let c = quoted(&mut buf, &[s, " traffic not accepted by ", p.fw()]);
        for lb in &v.lb_ips {
            let lb = Word::ip(lb);
            dport_rule(
                out,
                KUBE_PROXY_FIREWALL,
                c,
                proto,
                lb.as_str(),
                port,
                "DROP",
            );
        }
    }
    if let Some((c, t)) = &ext_filter {
        for lb in &v.lb_ips {
            let lb = Word::ip(lb);
            dport_rule(out, KUBE_EXTERNAL_SERVICES, c, proto, lb.as_str(), port, t);
        }
    }
    // (4)
    if v.node_port != 0 {
        if let Some((c, t)) = &ext_filter {
            let np = Word::num(v.node_port.into());
            out.append(
                KUBE_EXTERNAL_SERVICES,
                &[
                    "-m comment --comment",
                    c,
                    "-m addrtype --dst-type LOCAL",
                    proto,
                    "--dport",
                    np.as_str(),
                    "-j",
                    t,
                ],
            );
        }
    }
    // (5)
    if v.health_check_node_port != 0 {
        let mut buf = String::new();
        let c = quoted(&mut buf, &[s, " health check node port"]);
        let hc = Word::num(v.health_check_node_port.into());
        out.append(
            KUBE_NODEPORTS,
            &[
                "-m comment --comment",
                c,
                "-m tcp -p tcp --dport",
                hc.as_str(),
                "-j ACCEPT",
            ],
        );
    }
}

/// Nat chain lines of one service port: EXT, FW, SVC, SVL, SEPs (each when used).
pub(crate) fn write_nat_chains<S: RestoreSink>(p: &Plan, out: &mut S) {
    if p.port.external_chain {
        out.chain(p.ext());
    }
    if p.port.firewall {
        out.chain(p.fw());
    }
    if p.port.cluster_chain {
        out.chain(p.svc());
    }
    if p.port.local_chain {
        out.chain(p.svl());
    }
    for &i in &p.port.endpoints.all_reachable {
        out.chain(p.sep(i));
    }
}

/// Nat rules of one service port (spec §3.3, nat parts of (1)–(4), then (6)–(11)).
pub(crate) fn write_nat_rules<S: RestoreSink>(
    ctx: &Ctx,
    v: &ServicePortView,
    p: &Plan,
    out: &mut S,
) {
    let s = v.service_port_name.as_str();
    let pm = proto_match(&v.protocol);
    let proto = pm.as_ref();
    let port = Word::num(v.port.into());
    let port = port.as_str();
    let cip = Word::ip(&v.cluster_ip);
    let cip = cip.as_str();
    let (ext, svc) = (p.ext(), p.svc());
    let lb_target = if p.port.firewall { p.fw() } else { ext };
    // Every comment of the port in turn; the longest is the firewall's last one.
    let mut buf = String::with_capacity(s.len() + 64);
    // (1)
    if p.port.internal.is_served() {
        let c = quoted(&mut buf, &[s, " cluster IP"]);
        dport_rule(out, KUBE_SERVICES, c, proto, cip, port, p.int_chain(v));
    }
    if p.port.has_endpoints() {
        // (2)
        if !v.external_ips.is_empty() {
            let c = quoted(&mut buf, &[s, " external IP"]);
            for eip in &v.external_ips {
                let eip = Word::ip(eip);
                dport_rule(out, KUBE_SERVICES, c, proto, eip.as_str(), port, ext);
            }
        }
        // (3)
        if !v.lb_ips.is_empty() {
            let c = quoted(&mut buf, &[s, " loadbalancer IP"]);
            for lb in &v.lb_ips {
                let lb = Word::ip(lb);
                dport_rule(out, KUBE_SERVICES, c, proto, lb.as_str(), port, lb_target);
            }
        }
        // (4)
        if v.node_port != 0 {
            let np = Word::num(v.node_port.into());
            let np = np.as_str();
            if ctx.nfacct_localhost {
                out.append(
                    KUBE_NODEPORTS,
                    &[
                        "-m comment --comment",
                        s,
                        proto,
                        "-d 127.0.0.0/8 --dport",
                        np,
                        "-m nfacct --nfacct-name",
                        NFACCT_LOCALHOST_NPS,
                        "-j",
                        ext,
                    ],
                );
            }
            out.append(
                KUBE_NODEPORTS,
                &["-m comment --comment", s, proto, "--dport", np, "-j", ext],
            );
        }
    }
    let [local_flag, local_value] = match &ctx.if_local {
        Some([a, b]) => [a.as_str(), b.as_str()],
        None => ["", ""],
    };
    // (6)
    if p.port.internal.is_served() && (ctx.masquerade_all || ctx.if_local.is_some()) {
        // With --masquerade-all every packet is marked; else only those not from a local pod.
        let not_local = if ctx.masquerade_all {
            ["", "", ""]
        } else {
            ["!", local_flag, local_value]
        };
        let c = quoted(&mut buf, &[s, " cluster IP"]);
        out.append(
            p.int_chain(v),
            &[
                "-m comment --comment",
                c,
                proto,
                "-d",
                cip,
                "--dport",
                port,
                not_local[0],
                not_local[1],
                not_local[2],
                "-j",
                KUBE_MARK_MASQ,
            ],
        );
    }
    // (7)
    if p.port.external_chain {
        if !v.external_policy_local {
            let c = quoted(
                &mut buf,
                &["masquerade traffic for ", s, " external destinations"],
            );
            out.append(ext, &["-m comment --comment", c, "-j", KUBE_MARK_MASQ]);
        } else {
            if ctx.if_local.is_some() {
                let c = quoted(&mut buf, &["pod traffic for ", s, " external destinations"]);
                out.append(
                    ext,
                    &[
                        "-m comment --comment",
                        c,
                        local_flag,
                        local_value,
                        "-j",
                        svc,
                    ],
                );
            }
            let c = quoted(
                &mut buf,
                &["masquerade LOCAL traffic for ", s, " external destinations"],
            );
            out.append(
                ext,
                &[
                    "-m comment --comment",
                    c,
                    "-m addrtype --src-type LOCAL -j",
                    KUBE_MARK_MASQ,
                ],
            );
            let c = quoted(
                &mut buf,
                &["route LOCAL traffic for ", s, " external destinations"],
            );
            out.append(
                ext,
                &[
                    "-m comment --comment",
                    c,
                    "-m addrtype --src-type LOCAL -j",
                    svc,
                ],
            );
        }
        if p.port.external.is_served() {
            out.append(ext, &["-j", p.ext_policy_chain(v)]);
        }
    }
    // (8)
    if p.port.firewall {
        let fw = p.fw();
        let c = quoted(&mut buf, &[s, " loadbalancer IP"]);
        for src in &v.source_ranges {
            let src = src.to_string();
            out.append(fw, &["-m comment --comment", c, "-s", &src, "-j", ext]);
        }
        if p.port.source_ranges_contain_node_ip {
            for lb in &v.lb_ips {
                let lb = Word::ip(lb);
                out.append(
                    fw,
                    &["-m comment --comment", c, "-s", lb.as_str(), "-j", ext],
                );
            }
        }
        let c = quoted(
            &mut buf,
            &[
                "other traffic to ",
                s,
                " will be dropped by KUBE-PROXY-FIREWALL",
            ],
        );
        out.append(fw, &["-m comment --comment", c]);
    }
    // (9), (10)
    if p.port.cluster_chain {
        write_endpoint_rules(ctx, v, p, svc, &p.port.endpoints.cluster, out);
    }
    if p.port.local_chain {
        write_endpoint_rules(ctx, v, p, p.svl(), &p.port.endpoints.local, out);
    }
    // (11): large-cluster mode drops the comments (spec §3.5).
    let (comment, comment_text) = if ctx.large {
        ("", "")
    } else {
        ("-m comment --comment", s)
    };
    for &i in &p.port.endpoints.all_reachable {
        let e = &v.endpoints[i];
        let sep = p.sep(i);
        out.append(
            sep,
            &[
                comment,
                comment_text,
                "-s",
                endpoint_host(&e.endpoint),
                "-j",
                KUBE_MARK_MASQ,
            ],
        );
        let (recent, recent_name, set) = if v.affinity_seconds.is_some() {
            ("-m recent --name", sep, "--set")
        } else {
            ("", "", "")
        };
        out.append(
            sep,
            &[
                comment,
                comment_text,
                recent,
                recent_name,
                set,
                proto,
                "-j DNAT --to-destination",
                &e.endpoint,
            ],
        );
    }
}

fn write_endpoint_rules<S: RestoreSink>(
    ctx: &Ctx,
    v: &ServicePortView,
    p: &Plan,
    chain: &str,
    list: &[usize],
    out: &mut S,
) {
    let s = v.service_port_name.as_str();
    let comment = if ctx.large {
        ""
    } else {
        "-m comment --comment"
    };
    // `"ns/name:port -> endpoint"`, one buffer for every endpoint of the port.
    let mut text = String::new();
    let fill = |text: &mut String, i: usize| {
        text.clear();
        if !ctx.large {
            text.push('"');
            text.push_str(s);
            text.push_str(" -> ");
            text.push_str(&v.endpoints[i].endpoint);
            text.push('"');
        }
    };
    if let Some(secs) = v.affinity_seconds {
        let secs = Word::num(secs);
        let secs = secs.as_str();
        for &i in list {
            let sep = p.sep(i);
            fill(&mut text, i);
            out.append(
                chain,
                &[
                    comment,
                    &text,
                    "-m recent --name",
                    sep,
                    "--rcheck --seconds",
                    secs,
                    "--reap -j",
                    sep,
                ],
            );
        }
    }
    let n = list.len();
    for (k, &i) in list.iter().enumerate() {
        let (stat, prob) = if k + 1 < n {
            ("-m statistic --mode random --probability", ctx.prob(n - k))
        } else {
            ("", Cow::Borrowed(""))
        };
        fill(&mut text, i);
        out.append(chain, &[comment, &text, stat, &prob, "-j", p.sep(i)]);
    }
}

/// Filter chain lines (spec §2.4).
pub(crate) fn filter_head<S: RestoreSink>(s: &ProxierSettings, out: &mut S) {
    out.table("filter");
    for c in [
        KUBE_SERVICES,
        KUBE_EXTERNAL_SERVICES,
        KUBE_FORWARD,
        KUBE_NODEPORTS,
        KUBE_PROXY_FIREWALL,
    ] {
        out.chain(c);
    }
    let fw = s.ip_family == IpFamily::IPv4 && s.iptables.localhost_nodeports;
    if fw {
        out.chain(KUBE_FIREWALL);
        out.append(
            KUBE_FIREWALL,
            &[
                "-m",
                "comment",
                "--comment",
                "\"block incoming localnet connections\"",
                "-d",
                "127.0.0.0/8",
                "!",
                "-s",
                "127.0.0.0/8",
                "-m",
                "conntrack",
                "!",
                "--ctstate",
                "RELATED,ESTABLISHED,DNAT",
                "-j",
                "DROP",
            ],
        );
    }
}

/// The KUBE-FORWARD rules and the end of the filter table.
pub(crate) fn filter_tail<S: RestoreSink>(s: &ProxierSettings, out: &mut S) {
    let m = &s.masquerade_mark;
    if !s.iptables.conntrack_tcp_liberal {
        let nfacct: [&str; 3] = if s.ip_family == IpFamily::IPv4 && s.has_nfacct(NFACCT_INVALID) {
            ["-m", "nfacct", "--nfacct-name"]
        } else {
            ["", "", ""]
        };
        let counter = if nfacct[0].is_empty() {
            ""
        } else {
            NFACCT_INVALID
        };
        out.append(
            KUBE_FORWARD,
            &[
                "-m",
                "conntrack",
                "--ctstate",
                "INVALID",
                nfacct[0],
                nfacct[1],
                nfacct[2],
                counter,
                "-j",
                "DROP",
            ],
        );
    }
    let mark = format!("{m}/{m}");
    out.append(
        KUBE_FORWARD,
        &[
            "-m",
            "comment",
            "--comment",
            "\"kubernetes forwarding rules\"",
            "-m",
            "mark",
            "--mark",
            &mark,
            "-j",
            "ACCEPT",
        ],
    );
    out.append(
        KUBE_FORWARD,
        &[
            "-m",
            "comment",
            "--comment",
            "\"kubernetes forwarding conntrack rule\"",
            "-m",
            "conntrack",
            "--ctstate",
            "RELATED,ESTABLISHED",
            "-j",
            "ACCEPT",
        ],
    );
    out.commit();
}

/// The fixed nat chain lines.
pub(crate) fn nat_chains_head<S: RestoreSink>(out: &mut S) {
    out.table("nat");
    for c in [
        KUBE_SERVICES,
        KUBE_NODEPORTS,
        KUBE_POSTROUTING,
        KUBE_MARK_MASQ,
    ] {
        out.chain(c);
    }
}

/// The fixed nat rules that open the rule section.
pub(crate) fn nat_rules_head<S: RestoreSink>(s: &ProxierSettings, out: &mut S) {
    let m = s.masquerade_mark.as_str();
    let mark = format!("{m}/{m}");
    out.append(
        KUBE_POSTROUTING,
        &["-m", "mark", "!", "--mark", &mark, "-j", "RETURN"],
    );
    out.append(KUBE_POSTROUTING, &["-j", "MARK", "--xor-mark", m]);
    out.append(
        KUBE_POSTROUTING,
        &[
            "-m",
            "comment",
            "--comment",
            "\"kubernetes service traffic requiring SNAT\"",
            "-j",
            "MASQUERADE",
            if s.iptables.random_fully {
                "--random-fully"
            } else {
                ""
            },
        ],
    );
    out.append(KUBE_MARK_MASQ, &["-j", "MARK", "--or-mark", m]);
}

/// The nodeports tail rule(s) and the end of the nat table (spec §2.4).
pub(crate) fn nat_tail<S: RestoreSink>(s: &ProxierSettings, out: &mut S) {
    const C: [&str; 4] = [
        "-m",
        "comment",
        "--comment",
        "\"kubernetes service nodeports; NOTE: this must be the last rule in this chain\"",
    ];
    let v6 = s.ip_family == IpFamily::IPv6;
    match node_port_ips(s) {
        None => {
            let not_loopback: [&str; 3] = if v6 {
                ["!", "-d", "::1/128"]
            } else if !s.iptables.localhost_nodeports {
                ["!", "-d", "127.0.0.0/8"]
            } else {
                ["", "", ""]
            };
            out.append(
                KUBE_SERVICES,
                &[
                    C[0],
                    C[1],
                    C[2],
                    C[3],
                    "-m",
                    "addrtype",
                    "--dst-type",
                    "LOCAL",
                    not_loopback[0],
                    not_loopback[1],
                    not_loopback[2],
                    "-j",
                    KUBE_NODEPORTS,
                ],
            );
        }
        Some(ips) => {
            for ip in ips {
                if ip.is_loopback() && (v6 || !s.iptables.localhost_nodeports) {
                    continue;
                }
                let ip = ip.to_string();
                out.append(
                    KUBE_SERVICES,
                    &[C[0], C[1], C[2], C[3], "-d", &ip, "-j", KUBE_NODEPORTS],
                );
            }
        }
    }
    out.commit();
}

/// kube-proxy's `NodePortAddresses`: `None` when all local addresses match, else the node's
/// interface IPs inside one of the CIDRs of this family (order: CIDR order, then interface
/// order; upstream's order is a Go map's and unspecified).
pub(crate) fn node_port_ips(s: &ProxierSettings) -> Option<Vec<IpAddr>> {
    let cidrs = s.node_port_cidrs()?;
    let mut ips: Vec<IpAddr> = Vec::new();
    for c in cidrs {
        for a in &s.node.interface_addresses {
            let ip = a.addr();
            if c.contains(&ip) && !ips.contains(&ip) {
                ips.push(ip);
            }
        }
    }
    Some(ips)
}
