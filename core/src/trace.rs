//! Trace a packet through the rendered rules.
//!
//! The tracer parses rule text (svccore's own restore or save form, or a node's real
//! `iptables-save`) into [`crate::render::iptables::rules`] and evaluates it the way netfilter
//! does for the first packet of a connection: nat `PREROUTING` (or `OUTPUT` for traffic from the
//! node itself), the routing decision, filter `INPUT`/`FORWARD` (or `OUTPUT`), then nat
//! `POSTROUTING` for forwarded packets. It never looks at the snapshot: what it reports is what
//! the rules do. When the text has no rules in built-in chains (a restore payload), kube-proxy's
//! jump rules (spec: kube-proxy-iptables.md §2.5) are added.
//!
//! `-m statistic` rules branch: every outcome carries its probability as the kernel computes it
//! (threshold `t = lround(p·2^31)`, match iff `(rand & 0x7fffffff) < t`; spec:
//! selection-and-hashing.md §3.2) as an exact fraction and a decimal, plus the nominal fraction
//! kube-proxy meant (`1/n`). `-m recent --rcheck` matches when the packet says the client has a
//! live entry in that list (selection-and-hashing.md §4.2).
//!
//! # Example
//! ```
//! use svccore::render::iptables::{render, Form, ProxierSettings};
//! use svccore::trace::{trace, Origin, Packet};
//! let cluster = svccore::load::load_strs([(None, r#"{"apiVersion":"v1","kind":"List","items":[
//!  {"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"default"},
//!   "spec":{"clusterIP":"10.96.0.10","ports":[{"port":80}]}}]}"#)]).unwrap();
//! let s = ProxierSettings::default();
//! let rules = render(&cluster, &s, Form::Restore).unwrap();
//! let p = Packet::new("10.244.1.5".parse().unwrap(), "10.96.0.10".parse().unwrap(), 80, Origin::LocalPod);
//! let t = trace(&rules, &s, &p).unwrap();
//! assert_eq!(t.outcomes.len(), 1);
//! assert!(matches!(t.outcomes[0].verdict, svccore::trace::Verdict::Reject { .. }));
//! ```

use std::collections::HashMap as StdHashMap;
use std::sync::Arc;

/// Lookups on the hot path: ahash instead of SipHash.
type HashMap<K, V> = StdHashMap<K, V, std::hash::BuildHasherDefault<ahash::AHasher>>;
use std::fmt::Write as _;
use std::net::IpAddr;

use crate::model::{IpFamily, Protocol};
use crate::render::iptables::rules::{Dump, Match, RecentAction, Rule, SaveStyle, Target};
use crate::render::iptables::{jump_rules, LocalDetector, ProxierSettings};
use crate::render::ipvs::{self, IpvsNode, VsKind, VsLookup};
use crate::snapshot::ProxySnapshot;
use crate::{Error, Result};

mod ipvs_node;
pub use ipvs_node::{trace_ipvs_node, IpvsTrace};

/// Where a packet comes from, as seen by the node it arrives on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Origin {
    /// A pod on this node (enters from the pod network: `PREROUTING`).
    LocalPod,
    /// Another node or a pod on another node (enters from the node's network: `PREROUTING`).
    OtherNode,
    /// A client outside the cluster (enters from the node's network: `PREROUTING`).
    External,
    /// A process on the node itself, host network (`OUTPUT`).
    Host,
}

impl Origin {
    /// The names every binding takes, in [`Origin::parse`]'s order: `pod` (a pod on the node),
    /// `node` (the node itself, host network: the OUTPUT path, as kube-proxy's "traffic from
    /// the node"), `other-node` (another node or its pods), `external`.
    pub const NAMES: [&'static str; 4] = ["pod", "node", "other-node", "external"];

    /// Parses a name of [`Origin::NAMES`], or an alias: `local-pod`, `host`, `outside` and the
    /// variant names (`LocalPod`, `Host`, `OtherNode`, `External`, as results print them).
    pub fn parse(s: &str) -> Option<Origin> {
        match s {
            "pod" | "local-pod" | "LocalPod" => Some(Origin::LocalPod),
            "node" | "host" | "Host" => Some(Origin::Host),
            "other-node" | "OtherNode" => Some(Origin::OtherNode),
            "external" | "outside" | "External" => Some(Origin::External),
            _ => None,
        }
    }
}

fn ser_arc<S: serde::Serializer>(v: &Arc<str>, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(v)
}

fn ser_proto<S: serde::Serializer>(p: &Protocol, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(p.as_api())
}

/// The first packet of a connection.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Packet {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Destination port.
    pub dst_port: u16,
    /// Protocol.
    #[serde(serialize_with = "ser_proto")]
    pub protocol: Protocol,
    /// Where it comes from.
    pub origin: Origin,
    /// Input interface; `None` = the local detector's interface for pod traffic (or `cni0`),
    /// `eth0` otherwise, none for [`Origin::Host`].
    pub in_interface: Option<String>,
    /// `recent` lists (`KUBE-SEP-…` names) in which the client has a live entry (affinity).
    pub recent: Vec<String>,
}

impl Packet {
    /// A TCP packet with no affinity state.
    pub fn new(src: IpAddr, dst: IpAddr, dst_port: u16, origin: Origin) -> Packet {
        Packet {
            src,
            dst,
            dst_port,
            protocol: Protocol::Tcp,
            origin,
            in_interface: None,
            recent: Vec::new(),
        }
    }
}

/// One rule that acted on the packet.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Step {
    /// `nat` or `filter`.
    #[serde(serialize_with = "ser_arc")]
    pub table: Arc<str>,
    /// The chain.
    #[serde(serialize_with = "ser_arc")]
    pub chain: Arc<str>,
    /// 1-based position of the rule in its chain.
    pub rule: usize,
    /// The rule, as `iptables-save` prints it (shared with the tracer's cache).
    #[serde(serialize_with = "ser_arc")]
    pub text: Arc<str>,
    /// What happened (`jump KUBE-SVC-…`, `probability 1/2 taken`, `DNAT 10.0.0.1:80`, ...).
    #[serde(serialize_with = "ser_arc")]
    pub effect: Arc<str>,
}

/// A probability: exact under the kernel's quantisation, and as kube-proxy meant it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Probability {
    /// Exact kernel probability, reduced, e.g. `1/2` or `715827883/2147483648`.
    pub fraction: String,
    /// The same as a decimal.
    pub decimal: f64,
    /// What the printed probabilities mean (`1/3`): kube-proxy's intent.
    pub nominal: String,
}

/// What finally happens to the packet.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind")]
pub enum Verdict {
    /// DNATed to an endpoint and let through.
    Dnat {
        /// `ip:port` / `[ip]:port`.
        endpoint: String,
        /// The `KUBE-SEP-…` chain that DNATed.
        chain: String,
    },
    /// Not DNATed, accepted: delivered to the original destination (not a service, or a
    /// node-local address).
    Accept,
    /// Dropped (timeout for the client).
    Drop {
        /// The rule's comment or chain, saying why.
        reason: String,
    },
    /// Rejected (ICMP error: "connection refused").
    Reject {
        /// `icmp-port-unreachable` etc.
        with: String,
        /// The rule's comment, saying why.
        reason: String,
    },
}

/// One possible path of the packet, with its probability.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Outcome {
    /// How likely this path is.
    pub probability: Probability,
    /// What happens.
    pub verdict: Verdict,
    /// The source address is masqueraded (SNAT to the node) on the way out.
    pub masquerade: bool,
    /// The rules that acted, in order.
    pub steps: Vec<Step>,
}

/// The result of a trace.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct TraceResult {
    /// The packet.
    pub packet: Packet,
    /// The node (from the settings).
    pub node: String,
    /// Every path, most likely first (ties in rule order).
    pub outcomes: Vec<Outcome>,
    /// Rules the tracer could not evaluate (unknown matches: treated as not matching).
    pub warnings: Vec<String>,
    /// ipvs mode ([`trace_ipvs`]): the virtual server that takes the packet, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipvs: Option<VsLookup>,
}

impl TraceResult {
    /// The probability of reaching each endpoint (summed over paths), in first-seen order.
    pub fn endpoint_shares(&self) -> Vec<(String, f64)> {
        let mut out: Vec<(String, f64)> = Vec::new();
        for o in &self.outcomes {
            if let Verdict::Dnat { endpoint, .. } = &o.verdict {
                match out.iter_mut().find(|(e, _)| e == endpoint) {
                    Some((_, p)) => *p += o.probability.decimal,
                    None => out.push((endpoint.clone(), o.probability.decimal)),
                }
            }
        }
        out
    }
}

// --------------------------------------------------------------------------- exact arithmetic

/// A little unsigned big integer: enough for products of 31-bit thresholds.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Big(Vec<u32>);

impl Big {
    fn one() -> Big {
        Big(vec![1])
    }
    fn mul(&mut self, m: u32) {
        let mut carry: u64 = 0;
        for limb in &mut self.0 {
            let v = u64::from(*limb) * u64::from(m) + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
        if carry > 0 {
            self.0.push(carry as u32);
        }
        while self.0.len() > 1 && *self.0.last().expect("non-empty") == 0 {
            self.0.pop();
        }
    }
    fn is_zero(&self) -> bool {
        self.0.iter().all(|&l| l == 0)
    }
    fn trailing_zeros(&self) -> u32 {
        let mut n = 0;
        for &l in &self.0 {
            if l == 0 {
                n += 32;
            } else {
                return n + l.trailing_zeros();
            }
        }
        n
    }
    fn shr(&mut self, bits: u32) {
        let (words, rest) = ((bits / 32) as usize, bits % 32);
        self.0.drain(..words.min(self.0.len()));
        if rest > 0 {
            let mut carry = 0u32;
            for limb in self.0.iter_mut().rev() {
                let v = *limb;
                *limb = (v >> rest) | carry;
                carry = v << (32 - rest);
            }
        }
        if self.0.is_empty() {
            self.0.push(0);
        }
        while self.0.len() > 1 && *self.0.last().expect("non-empty") == 0 {
            self.0.pop();
        }
    }
    fn to_decimal(&self) -> String {
        let mut v = self.0.clone();
        let mut parts = Vec::new();
        while v.iter().any(|&l| l != 0) {
            let mut rem: u64 = 0;
            for limb in v.iter_mut().rev() {
                let cur = (rem << 32) | u64::from(*limb);
                *limb = (cur / 1_000_000_000) as u32;
                rem = cur % 1_000_000_000;
            }
            parts.push(rem as u32);
        }
        match parts.split_last() {
            None => "0".into(),
            Some((first, rest)) => {
                let mut s = first.to_string();
                for p in rest.iter().rev() {
                    let _ = write!(s, "{p:09}");
                }
                s
            }
        }
    }
}

fn gcd(a: u128, b: u128) -> u128 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// A path's probability: kernel numerator over 2^exp, a decimal, and the nominal fraction.
#[derive(Clone, Debug)]
struct Prob {
    num: Big,
    exp: u32,
    decimal: f64,
    nom: (u128, u128),
}

impl Prob {
    fn one() -> Prob {
        Prob {
            num: Big::one(),
            exp: 0,
            decimal: 1.0,
            nom: (1, 1),
        }
    }
    /// Multiplies by `t/2^31` (taken) or `(2^31-t)/2^31` (not taken); `k` = nominal 1/k.
    fn branch(&self, threshold: u32, taken: bool, k: u128) -> Prob {
        let f = if taken {
            threshold
        } else {
            (1u32 << 31) - threshold.min(1 << 31)
        };
        let mut num = self.num.clone();
        num.mul(f);
        let (n, d) = if taken {
            (1, k)
        } else {
            (k.saturating_sub(1), k)
        };
        let (mut a, mut b) = (self.nom.0.saturating_mul(n), self.nom.1.saturating_mul(d));
        let g = gcd(a, b).max(1);
        a /= g;
        b /= g;
        Prob {
            num,
            exp: self.exp + 31,
            decimal: self.decimal * f64::from(f) / 2147483648.0,
            nom: (a, b),
        }
    }
    fn public(&self) -> Probability {
        let mut num = self.num.clone();
        let mut exp = self.exp;
        let fraction = if num.is_zero() {
            "0".to_owned()
        } else {
            let tz = num.trailing_zeros().min(exp);
            num.shr(tz);
            exp -= tz;
            let den = if exp <= 127 {
                (1u128 << exp).to_string()
            } else {
                format!("2^{exp}")
            };
            if exp == 0 {
                num.to_decimal()
            } else {
                format!("{}/{den}", num.to_decimal())
            }
        };
        Probability {
            fraction,
            decimal: self.decimal,
            nominal: if self.nom.1 == 1 {
                self.nom.0.to_string()
            } else {
                format!("{}/{}", self.nom.0, self.nom.1)
            },
        }
    }
}

// --------------------------------------------------------------------------- rule set

/// A chain's rules with an index on destination host and destination port, so that a packet
/// is checked only against rules that can match it (KUBE-SERVICES has one rule per service IP).
/// The strings a rule contributes to trace steps, shared by every trace that passes it.
#[derive(Debug)]
struct RuleTexts {
    save: Arc<str>,
    /// The effect when the rule's target applies (with "probability … taken" for statistic rules).
    applied: Arc<str>,
    /// The effect of a statistic rule whose branch is not taken.
    not_taken: Arc<str>,
}

#[derive(Debug, Default)]
struct ChainIndex {
    table: Arc<str>,
    name: Arc<str>,
    rules: Vec<Rule>,
    /// Each rule's texts for trace steps, made on first use.
    texts: Vec<std::sync::OnceLock<Arc<RuleTexts>>>,
    by_dst: HashMap<IpAddr, Vec<usize>>,
    by_dport: HashMap<u16, Vec<usize>>,
    always: Vec<usize>,
}

impl ChainIndex {
    fn build(table: String, name: String, rules: Vec<Rule>) -> ChainIndex {
        let mut c = ChainIndex {
            table: table.into(),
            name: name.into(),
            texts: (0..rules.len())
                .map(|_| std::sync::OnceLock::new())
                .collect(),
            rules,
            ..Default::default()
        };
        for (i, r) in c.rules.iter().enumerate() {
            let host = r
                .dst
                .as_ref()
                .filter(|a| !a.negated && a.net.prefix_len() == a.net.max_prefix_len());
            if let Some(a) = host {
                c.by_dst.entry(a.net.addr()).or_default().push(i);
                continue;
            }
            let dport = r.matches.iter().find_map(|m| match m {
                Match::Port { dport: Some(o), .. } if !o.negated => o.value.parse::<u16>().ok(),
                _ => None,
            });
            match dport {
                Some(p) => c.by_dport.entry(p).or_default().push(i),
                None => c.always.push(i),
            }
        }
        c
    }

    /// Candidate rule positions for a destination, in rule order.
    fn candidates(&self, dst: IpAddr, dport: u16) -> std::borrow::Cow<'_, [usize]> {
        if self.by_dst.is_empty() && self.by_dport.is_empty() {
            return std::borrow::Cow::Borrowed(&self.always);
        }
        let empty = Vec::new();
        let a = self.by_dst.get(&dst).unwrap_or(&empty);
        let b = self.by_dport.get(&dport).unwrap_or(&empty);
        let mut v: Vec<usize> = Vec::with_capacity(a.len() + b.len() + self.always.len());
        v.extend_from_slice(a);
        v.extend_from_slice(b);
        v.extend_from_slice(&self.always);
        v.sort_unstable();
        std::borrow::Cow::Owned(v)
    }
}

/// A parsed rule set, ready to trace many packets.
#[derive(Debug)]
pub struct Tracer {
    /// table → chain → index into `chains`.
    tables: HashMap<String, HashMap<String, usize>>,
    chains: Vec<ChainIndex>,
    settings: ProxierSettings,
    local: Vec<ipnet::IpNet>,
    style: SaveStyle,
}

impl Tracer {
    /// Parses rule text (restore or save form). `settings` supply the node name, the local
    /// addresses (`addrtype LOCAL`: node IPs, interface addresses, loopback) and the family.
    pub fn new(rules: &str, settings: &ProxierSettings) -> Result<Tracer> {
        let v6 = settings.ip_family == IpFamily::IPv6;
        let main = Dump::parse(rules, None, v6)?;
        let has_builtin = main.tables.iter().any(|t| {
            let b = crate::render::iptables::builtin_chains(&t.name);
            t.rules.iter().any(|r| b.contains(&r.chain.as_str()))
        });
        let mut per: StdHashMap<String, StdHashMap<String, Vec<Rule>>> = StdHashMap::new();
        let mut add = |d: Dump| {
            for t in d.tables {
                let chains = per.entry(t.name.clone()).or_default();
                for c in t.chains {
                    chains.entry(c.name).or_default();
                }
                for r in t.rules {
                    chains.entry(r.chain.clone()).or_default().push(r);
                }
            }
        };
        if !has_builtin {
            add(Dump::parse(&jump_rules(settings), None, v6)?);
        }
        add(main);
        let mut tables: HashMap<String, HashMap<String, usize>> = HashMap::default();
        let mut all = Vec::new();
        for (t, chains) in per {
            let ids = tables.entry(t.clone()).or_default();
            for (c, r) in chains {
                ids.insert(c.clone(), all.len());
                all.push(ChainIndex::build(t.clone(), c, r));
            }
        }
        let mut local: Vec<ipnet::IpNet> = settings
            .node
            .interface_addresses
            .iter()
            .map(|n| ipnet::IpNet::from(n.addr()))
            .chain(settings.node.ips.iter().map(|ip| ipnet::IpNet::from(*ip)))
            .collect();
        local.push("127.0.0.0/8".parse().expect("constant"));
        local.push("::1/128".parse().expect("constant"));
        Ok(Tracer {
            tables,
            chains: all,
            settings: settings.clone(),
            local,
            style: SaveStyle {
                ipv6: v6,
                ..SaveStyle::default()
            },
        })
    }

    fn is_local(&self, ip: IpAddr) -> bool {
        self.local.iter().any(|n| n.contains(&ip))
    }

    /// Traces one packet.
    pub fn trace(&self, packet: &Packet) -> Result<TraceResult> {
        if (IpFamily::of(&packet.dst) == IpFamily::IPv6)
            != (self.settings.ip_family == IpFamily::IPv6)
            || IpFamily::of(&packet.src) != IpFamily::of(&packet.dst)
        {
            return Err(Error::InvalidArgument(format!(
                "packet {} -> {} is not {} traffic",
                packet.src,
                packet.dst,
                self.settings.ip_family.as_str()
            )));
        }
        let in_iface = match (&packet.in_interface, packet.origin) {
            (_, Origin::Host) => None,
            (Some(i), _) => Some(i.clone()),
            (None, Origin::LocalPod) => Some(match &self.settings.local_detector {
                LocalDetector::BridgeInterface(b) => b.clone(),
                LocalDetector::InterfaceNamePrefix(p) => format!("{p}0"),
                _ => "cni0".into(),
            }),
            (None, _) => Some("eth0".into()),
        };
        let start = State {
            dst: packet.dst,
            dst_port: packet.dst_port,
            mark: 0,
            dnat: None,
            masquerade: false,
            steps: Vec::new(),
            prob: Prob::one(),
            branches: Vec::new(),
        };
        let mut warnings = Vec::new();
        let ctx = Ctx {
            packet,
            in_iface: in_iface.as_deref(),
        };
        let host = packet.origin == Origin::Host;
        let first_hook = if host { "OUTPUT" } else { "PREROUTING" };
        let mut outcomes = Vec::new();
        for (st, v) in self.run_hook(&ctx, "nat", first_hook, start, &mut warnings) {
            // nat has no verdicts kube-proxy uses other than ACCEPT; a DROP there is honoured.
            if let Some(v) = v {
                outcomes.push(self.finish(st, v));
                continue;
            }
            let filter_hook = if host {
                "OUTPUT"
            } else if self.is_local(st.dst) {
                "INPUT"
            } else {
                "FORWARD"
            };
            let forwarded = filter_hook != "INPUT";
            for (st, v) in self.run_hook(&ctx, "filter", filter_hook, st, &mut warnings) {
                if let Some(v) = v {
                    outcomes.push(self.finish(st, v));
                    continue;
                }
                if !forwarded {
                    outcomes.push(self.finish_accept(st));
                    continue;
                }
                for (st, v) in self.run_hook(&ctx, "nat", "POSTROUTING", st, &mut warnings) {
                    match v {
                        Some(v) => outcomes.push(self.finish(st, v)),
                        None => outcomes.push(self.finish_accept(st)),
                    }
                }
            }
        }
        outcomes.sort_by(|(a, ka), (b, kb)| {
            b.probability
                .decimal
                .partial_cmp(&a.probability.decimal)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then_with(|| ka.cmp(kb))
        });
        let outcomes = outcomes.into_iter().map(|(o, _)| o).collect();
        warnings.sort();
        warnings.dedup();
        Ok(TraceResult {
            packet: packet.clone(),
            node: self.settings.node.name.clone(),
            outcomes,
            warnings,
            ipvs: None,
        })
    }

    /// Runs a built-in chain; returns every resulting state with `Some(verdict)` when the
    /// packet was dropped or rejected, `None` when it goes on.
    fn run_hook(
        &self,
        ctx: &Ctx,
        table: &str,
        chain: &str,
        st: State,
        warnings: &mut Vec<String>,
    ) -> Vec<(State, Option<Verdict>)> {
        let mut out = Vec::new();
        self.run_chain(ctx, table, chain, 0, st, 0, warnings, &mut |st, flow| {
            let v = match flow {
                Flow::Drop(reason) => Some(Verdict::Drop { reason }),
                Flow::Reject(with, reason) => Some(Verdict::Reject { with, reason }),
                _ => None, // ACCEPT, fall-through (policy ACCEPT), RETURN from a built-in chain
            };
            out.push((st, v));
        });
        out
    }

    /// Evaluates `chain` from rule `from`; calls `done` for every way the chain ends.
    #[allow(clippy::too_many_arguments)]
    fn run_chain(
        &self,
        ctx: &Ctx,
        table: &str,
        chain: &str,
        from: usize,
        mut st: State,
        depth: usize,
        warnings: &mut Vec<String>,
        done: &mut dyn FnMut(State, Flow),
    ) {
        if depth > 64 {
            warnings.push(format!("chain nesting too deep at {table} {chain}"));
            return done(st, Flow::End);
        }
        let Some(&cid) = self.tables.get(table).and_then(|t| t.get(chain)) else {
            return done(st, Flow::End);
        };
        let c = &self.chains[cid];
        let step = |i: usize, kind: Effect, mark: u32| RawStep {
            chain: cid as u32,
            rule: i as u32,
            kind,
            mark,
        };
        let cands = c.candidates(st.dst, st.dst_port);
        for &i in cands.iter().filter(|&&i| i >= from) {
            let r = &c.rules[i];
            let mut stat: Option<(u32, &str)> = None;
            if !self.matches(ctx, r, &st, &mut stat, warnings) {
                continue;
            }
            let mut taken: Option<&str> = None;
            if let Some((t, text)) = stat {
                // Branch: not taken continues with the next rule.
                let k = text
                    .parse::<f64>()
                    .ok()
                    .filter(|p| *p > 0.0)
                    .map(|p| (1.0 / p).round() as u128)
                    .unwrap_or(1)
                    .max(1);
                let mut skip = st.clone();
                skip.prob = st.prob.branch(t, false, k);
                skip.branches.push(1);
                st.branches.push(0);
                taken = Some(text);
                skip.steps.push(step(i, Effect::NotTaken, 0));
                if !skip.prob.num.is_zero() {
                    self.run_chain(ctx, table, chain, i + 1, skip, depth, warnings, done);
                }
                st.prob = st.prob.branch(t, true, k);
                if st.prob.num.is_zero() {
                    return;
                }
            }
            match &r.target {
                Target::None => {
                    st.steps.push(step(i, Effect::CountOnly, 0));
                }
                Target::Mark { value, mask } => {
                    st.mark = (st.mark & !mask) ^ value;
                    st.steps.push(step(i, Effect::Mark, st.mark));
                }
                Target::Dnat { to } => {
                    st.steps.push(step(i, Effect::Plain, 0));
                    match split_host_port(to) {
                        Some((ip, port)) => {
                            st.dst = ip;
                            st.dst_port = port;
                        }
                        None => warnings.push(format!("cannot read DNAT target {to}")),
                    }
                    st.dnat = Some((to.clone(), chain.to_owned()));
                    return done(st, Flow::Accept);
                }
                Target::Masquerade { .. } => {
                    st.masquerade = true;
                    st.steps.push(step(i, Effect::Plain, 0));
                    return done(st, Flow::Accept);
                }
                Target::Reject { with } => {
                    st.steps.push(step(i, Effect::Plain, 0));
                    let reason = r.comment().unwrap_or(chain).to_owned();
                    return done(st, Flow::Reject(with.clone(), reason));
                }
                Target::Jump { chain: j } => match j.as_str() {
                    "ACCEPT" => {
                        st.steps.push(step(i, Effect::Plain, 0));
                        return done(st, Flow::Accept);
                    }
                    "DROP" => {
                        st.steps.push(step(i, Effect::Plain, 0));
                        let reason = r.comment().unwrap_or(chain).to_owned();
                        return done(st, Flow::Drop(reason));
                    }
                    "RETURN" => {
                        st.steps.push(step(i, Effect::Plain, 0));
                        return done(st, Flow::End);
                    }
                    _ => {
                        let e = if taken.is_some() {
                            Effect::Taken
                        } else {
                            Effect::Plain
                        };
                        st.steps.push(step(i, e, 0));
                        let target = j.clone();
                        let mut cont: Vec<State> = Vec::new();
                        self.run_chain(
                            ctx,
                            table,
                            &target,
                            0,
                            st,
                            depth + 1,
                            warnings,
                            &mut |s, f| match f {
                                Flow::End => cont.push(s),
                                other => done(s, other),
                            },
                        );
                        for s in cont {
                            self.run_chain(ctx, table, chain, i + 1, s, depth, warnings, done);
                        }
                        return;
                    }
                },
                Target::Other { name, .. } => {
                    warnings.push(format!("target {name} is not modelled: ignored"));
                    st.steps.push(step(i, Effect::Ignored, 0));
                }
            }
        }
        done(st, Flow::End)
    }

    /// Turns a recorded step into its public form (texts cached per rule).
    fn step(&self, s: &RawStep) -> Step {
        let c = &self.chains[s.chain as usize];
        let i = s.rule as usize;
        let r = &c.rules[i];
        let t = c.texts[i]
            .get_or_init(|| Arc::new(self.rule_texts(r)))
            .clone();
        let effect = match s.kind {
            Effect::Plain | Effect::Taken => t.applied.clone(),
            Effect::NotTaken => t.not_taken.clone(),
            Effect::CountOnly => "count only".into(),
            Effect::Mark => format!("mark 0x{:x}", s.mark).into(),
            Effect::Ignored => format!("{:?} (ignored)", r.target).into(),
        };
        Step {
            table: c.table.clone(),
            chain: c.name.clone(),
            rule: i + 1,
            text: t.save.clone(),
            effect,
        }
    }

    fn rule_texts(&self, r: &Rule) -> RuleTexts {
        let prob = r.matches.iter().find_map(|m| match m {
            Match::Statistic { text, .. } => Some(text.as_str()),
            _ => None,
        });
        let target = match &r.target {
            Target::Dnat { to } => format!("DNAT {to}"),
            Target::Masquerade { .. } => "MASQUERADE".to_owned(),
            Target::Reject { with } => format!("REJECT {with}"),
            Target::Jump { chain } => match chain.as_str() {
                "ACCEPT" | "DROP" | "RETURN" => chain.clone(),
                _ => format!("jump {chain}"),
            },
            Target::Mark { value, mask } => format!("MARK 0x{value:x}/0x{mask:x}"),
            Target::None => "count only".to_owned(),
            t => format!("{t:?}"),
        };
        let applied = match prob {
            Some(p) => format!("probability {p} taken: {target}"),
            None => target,
        };
        RuleTexts {
            save: r.to_save(&self.style).into(),
            applied: applied.into(),
            not_taken: format!("probability {} not taken", prob.unwrap_or("-")).into(),
        }
    }

    fn matches<'r>(
        &self,
        ctx: &Ctx,
        r: &'r Rule,
        st: &State,
        stat: &mut Option<(u32, &'r str)>,
        warnings: &mut Vec<String>,
    ) -> bool {
        let p = ctx.packet;
        if let Some(a) = &r.src {
            if a.net.contains(&p.src) == a.negated {
                return false;
            }
        }
        if let Some(a) = &r.dst {
            if a.net.contains(&st.dst) == a.negated {
                return false;
            }
        }
        if let Some(o) = &r.in_iface {
            let m = ctx.in_iface.is_some_and(|i| iface_matches(&o.value, i));
            if m == o.negated {
                return false;
            }
        }
        if let Some(o) = &r.out_iface {
            // The output interface is not modelled: a non-negated -o never matches.
            if !o.negated {
                warnings.push(format!("-o in {} is not modelled", r.chain));
                return false;
            }
        }
        if let Some(o) = &r.proto {
            if (o.value == p.protocol.lower()) == o.negated {
                return false;
            }
        }
        for m in &r.matches {
            let ok = match m {
                Match::Comment { .. } | Match::Nfacct { .. } => true,
                Match::Port {
                    proto,
                    sport,
                    dport,
                } => {
                    proto == p.protocol.lower()
                        && sport.is_none()
                        && dport
                            .as_ref()
                            .is_none_or(|o| port_matches(&o.value, st.dst_port) != o.negated)
                }
                Match::Addrtype { src_type, dst_type } => {
                    let t = |o: &Option<crate::render::iptables::rules::Opt>, ip: IpAddr| {
                        o.as_ref().is_none_or(|o| {
                            let local = self.is_local(ip);
                            let is = o.value.split(',').any(|ty| match ty {
                                "LOCAL" => local,
                                "UNICAST" => !local,
                                _ => false,
                            });
                            is != o.negated
                        })
                    };
                    t(src_type, p.src) && t(dst_type, st.dst)
                }
                Match::Conntrack { negated, states } => {
                    // First packet: NEW; DNAT once a DNAT happened.
                    let has = states
                        .iter()
                        .any(|s| s == "NEW" || (s == "DNAT" && st.dnat.is_some()));
                    has != *negated
                }
                Match::Mark {
                    negated,
                    value,
                    mask,
                } => ((st.mark & mask) == *value) != *negated,
                Match::Statistic { threshold, text } => {
                    *stat = Some((*threshold, text.as_str()));
                    true
                }
                Match::Recent { action, name, .. } => match action {
                    RecentAction::Rcheck | RecentAction::Update => p.recent.contains(name),
                    RecentAction::Set | RecentAction::Remove => true,
                },
                Match::Other { name, .. } => {
                    warnings.push(format!("match {name} in {} is not modelled", r.chain));
                    false
                }
            };
            if !ok {
                return false;
            }
        }
        true
    }
}

struct Ctx<'a> {
    packet: &'a Packet,
    in_iface: Option<&'a str>,
}

#[derive(Clone, Debug)]
struct State {
    dst: IpAddr,
    dst_port: u16,
    mark: u32,
    dnat: Option<(String, String)>,
    masquerade: bool,
    steps: Vec<RawStep>,
    prob: Prob,
    /// Statistic decisions taken (0) or not (1), to order equally likely outcomes.
    branches: Vec<u8>,
}

/// What a recorded step did (the text is made only for the final result).
#[derive(Clone, Copy, Debug)]
enum Effect {
    /// The rule's target, as it reads.
    Plain,
    /// A statistic rule matched and its jump was taken.
    Taken,
    /// A statistic rule's branch not taken.
    NotTaken,
    CountOnly,
    /// A MARK target; the mark after it.
    Mark,
    Ignored,
}

#[derive(Clone, Copy, Debug)]
struct RawStep {
    chain: u32,
    rule: u32,
    kind: Effect,
    mark: u32,
}

enum Flow {
    /// Fell off the end or RETURNed: the caller goes on.
    End,
    Accept,
    Drop(String),
    Reject(String, String),
}

impl Tracer {
    fn finish(&self, st: State, v: Verdict) -> (Outcome, Vec<u8>) {
        (
            Outcome {
                probability: st.prob.public(),
                verdict: v,
                masquerade: st.masquerade,
                steps: st.steps.iter().map(|s| self.step(s)).collect(),
            },
            st.branches,
        )
    }

    fn finish_accept(&self, st: State) -> (Outcome, Vec<u8>) {
        let v = match &st.dnat {
            Some((endpoint, chain)) => Verdict::Dnat {
                endpoint: endpoint.clone(),
                chain: chain.clone(),
            },
            None => Verdict::Accept,
        };
        self.finish(st, v)
    }
}

fn iface_matches(pattern: &str, iface: &str) -> bool {
    match pattern.strip_suffix('+') {
        Some(prefix) => iface.starts_with(prefix),
        None => pattern == iface,
    }
}

fn port_matches(spec: &str, port: u16) -> bool {
    match spec.split_once(':') {
        Some((a, b)) => {
            let lo = a.parse().unwrap_or(0);
            let hi = b.parse().unwrap_or(u16::MAX);
            (lo..=hi).contains(&port)
        }
        None => spec.parse() == Ok(port),
    }
}

fn split_host_port(s: &str) -> Option<(IpAddr, u16)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (h, p) = rest.split_once("]:")?;
        return Some((h.parse().ok()?, p.parse().ok()?));
    }
    let (h, p) = s.rsplit_once(':')?;
    Some((h.parse().ok()?, p.parse().ok()?))
}

/// Parses `rules` and traces one packet (see [`Tracer`] to trace many).
pub fn trace(rules: &str, settings: &ProxierSettings, packet: &Packet) -> Result<TraceResult> {
    Tracer::new(rules, settings)?.trace(packet)
}

/// Renders a cluster for the settings' node (restore form) and traces one packet through it.
pub fn trace_cluster(
    cluster: &crate::Cluster,
    settings: &ProxierSettings,
    packet: &Packet,
) -> Result<TraceResult> {
    let resolved = settings.resolve(cluster)?;
    let rules = crate::render::iptables::render(
        cluster,
        &resolved,
        crate::render::iptables::Form::Restore,
    )?;
    trace(&rules, &resolved, packet)
}

/// Traces the first packet of a connection through kube-proxy's **ipvs** mode on the node of
/// `settings`: which virtual server takes it ([`IpvsNode::lookup_result`]), which real server the
/// scheduler picks on a fresh virtual server (no connections yet;
/// [`Balancer`](crate::select::Balancer) with the virtual server's scheduler, flags, weights and
/// kernel list order, seed 0), and whether the source is masqueraded.
///
/// The result has one outcome (IPVS schedulers are deterministic for a given state): `Dnat` to
/// the picked real server with probability 1, `Reject` ("no destination available": IPVS answers
/// with ICMP port unreachable) when every real server has weight 0 or there is none, or `Accept`
/// when no virtual server matches (not load-balanced). With persistence (ClientIP affinity) later
/// connections of the client go to the same real server for `persistent_seconds`.
///
/// Masquerade follows the ipvs-mode nat rules kube-proxy writes ([`ipvs::render_iptables`]):
/// sources in `127.0.0.0/8` (`::1`) return early; a cluster IP masquerades with
/// `--masquerade-all`, or when the local-traffic detector says the packet is not from a local pod
/// (no detector: never); external IPs, load-balancer IPs and node ports masquerade unless the
/// service's `externalTrafficPolicy` is Local; a pod reaching itself through the service
/// (hairpin) is always masqueraded. The `ipset` matches are evaluated from the virtual server,
/// not from `ipset` text, and the filter table (source ranges, `KUBE-IPVS-FILTER`) is not.
///
/// # Example
/// ```
/// use svccore::model::IpFamily;
/// use svccore::proxier::config::ProxierSettings;
/// use svccore::trace::{trace_ipvs, Origin, Packet, Verdict};
/// let cluster = svccore::load::load_strs([(None, r#"{"apiVersion":"v1","kind":"List","items":[
///  {"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"default"},
///   "spec":{"clusterIP":"10.96.0.10","ports":[{"port":80,"targetPort":8080}]}},
///  {"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"web-1",
///   "namespace":"default","labels":{"kubernetes.io/service-name":"web"}},"addressType":"IPv4",
///   "ports":[{"name":"","port":8080}],
///   "endpoints":[{"addresses":["10.1.0.1"]},{"addresses":["10.1.0.2"]}]}]}"#)]).unwrap();
/// let s = ProxierSettings::from_cluster(&cluster, "node-a", IpFamily::IPv4).unwrap();
/// let p = Packet::new("10.1.0.9".parse().unwrap(), "10.96.0.10".parse().unwrap(), 80, Origin::LocalPod);
/// let t = trace_ipvs(&cluster, &s, &p).unwrap();
/// // rr on a fresh virtual server: the kernel's first real server, the last one added.
/// assert_eq!(t.outcomes[0].verdict, Verdict::Dnat { endpoint: "10.1.0.2:8080".into(), chain: "TCP  10.96.0.10:80".into() });
/// assert_eq!(t.ipvs.unwrap().scheduler, "rr");
/// ```
pub fn trace_ipvs(
    cluster: &crate::Cluster,
    settings: &ProxierSettings,
    packet: &Packet,
) -> Result<TraceResult> {
    if IpFamily::of(&packet.dst) != settings.ip_family
        || IpFamily::of(&packet.src) != IpFamily::of(&packet.dst)
    {
        return Err(Error::InvalidArgument(format!(
            "packet {} -> {} is not {} traffic",
            packet.src,
            packet.dst,
            settings.ip_family.as_str()
        )));
    }
    let snap = ProxySnapshot::build(cluster, settings.ip_family)?;
    let node = IpvsNode::build(&snap, settings, None)?;
    let lookup = node.lookup_result(&packet.protocol, packet.dst, packet.dst_port);
    let vs = node.lookup(&packet.protocol, packet.dst, packet.dst_port);
    let step = |chain: &str, rule: usize, text: String, effect: String| Step {
        table: Arc::from("ipvs"),
        chain: Arc::from(chain),
        rule,
        text: text.into(),
        effect: effect.into(),
    };
    let certain = Probability {
        fraction: "1".into(),
        decimal: 1.0,
        nominal: "1".into(),
    };
    let warnings = Vec::new();
    let (Some(_), Some(look)) = (vs, lookup) else {
        return Ok(TraceResult {
            packet: packet.clone(),
            node: settings.node.name.clone(),
            outcomes: vec![Outcome {
                probability: certain,
                verdict: Verdict::Accept,
                masquerade: false,
                steps: Vec::new(),
            }],
            warnings,
            ipvs: None,
        });
    };
    let vs_name = look.virtual_server.clone();
    let mut steps = vec![step(
        &vs_name,
        0,
        format!(
            "{} {}{}",
            vs_name.trim_end(),
            look.scheduler,
            look.persistent_seconds
                .map(|t| format!(" persistent {t}"))
                .unwrap_or_default()
        ),
        format!(
            "virtual server ({}) of {}, {} real server(s), endpoints from {:?}{}",
            look.kind,
            look.service_port_name,
            look.real_servers.len(),
            look.endpoints_from,
            if look.local_fallback {
                " (policy Local without a local endpoint: falls back to the cluster endpoints)"
            } else {
                ""
            }
        ),
    )];
    // The scheduler's pick on the kernel's list, with persistence (one implementation for
    // both entry points: trace_ipvs_node).
    let picked: Option<std::net::SocketAddr> = trace_ipvs_node(&node, packet, 0)?
        .pick
        .and_then(|p| p.parse().ok());
    let verdict = match picked {
        Some(addr) => {
            let ep = crate::ip::join_host_port(&addr.ip(), addr.port());
            let pos = look
                .real_servers
                .iter()
                .position(|r| r.address == ep)
                .unwrap_or(0);
            let rs = &look.real_servers[pos];
            steps.push(step(
                &vs_name,
                pos + 1,
                format!("-> {} {} {}", rs.address, rs.forward, rs.weight),
                format!(
                    "{} picks {ep} (first connection on a fresh virtual server){}",
                    look.scheduler,
                    look.persistent_seconds
                        .map(|t| format!("; the client stays on it for {t}s (persistence)"))
                        .unwrap_or_default()
                ),
            ));
            Verdict::Dnat {
                endpoint: ep,
                chain: vs_name.clone(),
            }
        }
        None => {
            steps.push(step(
                &vs_name,
                0,
                String::new(),
                "no destination available".into(),
            ));
            Verdict::Reject {
                with: "icmp-port-unreachable".into(),
                reason: format!("{}: no destination available", look.service_port_name),
            }
        }
    };
    let masq = ipvs_masquerade(settings, &look, packet, picked.map(|a| a.ip()));
    if let Some(why) = &masq {
        steps.push(Step {
            table: Arc::from("nat"),
            chain: Arc::from("KUBE-POSTROUTING"),
            rule: 0,
            text: "-j MASQUERADE".into(),
            effect: format!("masquerade: {why}").into(),
        });
    }
    Ok(TraceResult {
        packet: packet.clone(),
        node: settings.node.name.clone(),
        outcomes: vec![Outcome {
            probability: certain,
            verdict,
            masquerade: masq.is_some(),
            steps,
        }],
        warnings,
        ipvs: Some(look),
    })
}

/// Why the ipvs-mode nat rules masquerade this packet, if they do (see [`trace_ipvs`]).
fn ipvs_masquerade(
    s: &ProxierSettings,
    look: &VsLookup,
    p: &Packet,
    picked: Option<IpAddr>,
) -> Option<String> {
    if picked == Some(p.src) {
        return Some("hairpin: the endpoint reaches itself (KUBE-LOOP-BACK)".into());
    }
    if p.src.is_loopback() {
        return None;
    }
    let policy_local = look.endpoints_from != ipvs::EndpointSource::Cluster;
    match look.kind {
        k if k == VsKind::ClusterIp.as_str() => {
            if s.masquerade_all {
                return Some("cluster IP with --masquerade-all (KUBE-CLUSTER-IP)".into());
            }
            let local = match &s.local_detector {
                LocalDetector::None | LocalDetector::NodeCidr => return None,
                LocalDetector::Cidr(c) => {
                    crate::ip::parse_cidr_sloppy(c).is_some_and(|n| n.contains(&p.src))
                }
                LocalDetector::BridgeInterface(_) | LocalDetector::InterfaceNamePrefix(_) => {
                    p.origin == Origin::LocalPod
                }
            };
            (!local).then(|| "cluster IP from outside the pod network (KUBE-CLUSTER-IP)".into())
        }
        _ if policy_local => None,
        k if k == VsKind::NodePort.as_str() => Some("node port (KUBE-NODE-PORT)".into()),
        k if k == VsKind::ExternalIp.as_str() => Some("external IP (KUBE-EXTERNAL-IP)".into()),
        _ => Some("load-balancer IP (KUBE-LOAD-BALANCER)".into()),
    }
}

/// A human-readable report of a trace.
pub fn render_text(t: &TraceResult) -> String {
    let p = &t.packet;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{} {} -> {}:{} from {:?} on node {:?}: {} outcome(s)",
        p.protocol.as_api(),
        p.src,
        p.dst,
        p.dst_port,
        p.origin,
        t.node,
        t.outcomes.len()
    );
    if let Some(v) = &t.ipvs {
        let _ = writeln!(
            o,
            "ipvs virtual server {} ({}) of {}: scheduler {}{}{}",
            v.virtual_server.trim_end(),
            v.kind,
            v.service_port_name,
            v.scheduler,
            if v.flags.is_empty() {
                String::new()
            } else {
                format!(" ({})", v.flags)
            },
            v.persistent_seconds
                .map(|t| format!(", persistent {t}s"))
                .unwrap_or_default()
        );
        for r in &v.real_servers {
            let _ = writeln!(o, "  -> {} {} weight {}", r.address, r.forward, r.weight);
        }
    }
    for (n, out) in t.outcomes.iter().enumerate() {
        let what = match &out.verdict {
            Verdict::Dnat { endpoint, chain } => format!("DNAT to {endpoint} ({chain})"),
            Verdict::Accept => "accepted, not DNATed".to_owned(),
            Verdict::Drop { reason } => format!("DROPPED: {reason}"),
            Verdict::Reject { with, reason } => format!("REJECTED ({with}): {reason}"),
        };
        let _ = writeln!(
            o,
            "\n[{}] {} with probability {} = {:.12} (nominal {}){}",
            n + 1,
            what,
            out.probability.fraction,
            out.probability.decimal,
            out.probability.nominal,
            if out.masquerade { ", masqueraded" } else { "" }
        );
        for s in &out.steps {
            let _ = writeln!(
                o,
                "    {:<6} {} #{}: {}",
                s.table, s.chain, s.rule, s.effect
            );
        }
    }
    for w in &t.warnings {
        let _ = writeln!(o, "warning: {w}");
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_fraction_reduces_powers_of_two() {
        let p = Prob::one().branch(1 << 30, true, 2);
        assert_eq!(p.public().fraction, "1/2");
        assert_eq!(p.public().nominal, "1/2");
        let p = Prob::one()
            .branch(715827883, false, 3)
            .branch(1 << 30, true, 2);
        let pp = p.public();
        assert_eq!(pp.nominal, "1/3");
        // (2^31 - 715827883) * 2^30 / 2^62 = 1431655765 / 2^32
        assert_eq!(pp.fraction, "1431655765/4294967296");
        assert!((pp.decimal - 0.333333333256).abs() < 1e-11);
    }

    #[test]
    fn big_to_decimal() {
        let mut b = Big::one();
        for _ in 0..5 {
            b.mul(1_000_000_007);
        }
        assert_eq!(
            b.to_decimal(),
            "1000000035000000490000003430000012005000016807"
        );
    }
}
