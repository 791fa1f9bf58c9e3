//! Evaluating a rule set the way netfilter does for the first packet of a connection.
//!
//! The packet goes through nat `PREROUTING` (or `OUTPUT` when the node itself sends it), the
//! routing decision (a local destination goes to `INPUT`, anything else is forwarded), filter
//! `INPUT`/`FORWARD` (or `OUTPUT`), then nat `POSTROUTING` for forwarded packets. Matches are
//! evaluated as the kernel does; `-m statistic` rules branch, so the result is every path the
//! packet can take, each with the statistic decisions that lead to it (threshold
//! `t = lround(p·2^31)`, match iff `(rand & 0x7fffffff) < t`; spec: selection-and-hashing.md
//! §3.2). `-m recent --rcheck` matches when the packet says the client has a live entry in that
//! list (selection-and-hashing.md §4.2). Modules and targets the model does not know do not
//! match and are reported as warnings.

use std::collections::HashMap as StdHashMap;
use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use ipnet::IpNet;

use super::dump::{builtin_chains, Dump};
use super::rule::{Match, Opt, RecentAction, Rule, SaveStyle, Target};

/// Lookups on the hot path: ahash instead of SipHash.
type HashMap<K, V> = StdHashMap<K, V, std::hash::BuildHasherDefault<ahash::AHasher>>;

/// The kernel's statistic threshold for probability 1 (`2^31`).
const STATISTIC_ONE: u32 = 1 << 31;

/// The first packet of a connection, as the rules see it.
#[derive(Clone, Copy, Debug)]
pub struct Packet<'a> {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Destination port.
    pub dst_port: u16,
    /// Protocol as iptables names it (`tcp`, `udp`, `sctp`).
    pub protocol: &'a str,
    /// Input interface; `None` when the node itself sends the packet.
    pub in_iface: Option<&'a str>,
    /// Sent by the node itself: the path starts at `OUTPUT` instead of `PREROUTING`.
    pub local_out: bool,
    /// `recent` lists in which the client has a live entry.
    pub recent: &'a [String],
}

/// One rule that acted on the packet (in an IPVS trace: the virtual server, table `ipvs`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Step {
    /// `nat` or `filter` (`ipvs` in an IPVS trace).
    #[serde(serialize_with = "ser_arc")]
    pub table: Arc<str>,
    /// The chain.
    #[serde(serialize_with = "ser_arc")]
    pub chain: Arc<str>,
    /// 1-based position of the rule in its chain.
    pub rule: usize,
    /// The rule, as `iptables-save` prints it (shared by every path through it).
    #[serde(serialize_with = "ser_arc")]
    pub text: Arc<str>,
    /// What happened (`jump KUBE-SVC-…`, `probability 0.5000000000 taken: …`, `DNAT …`, ...).
    #[serde(serialize_with = "ser_arc")]
    pub effect: Arc<str>,
}

fn ser_arc<S: serde::Serializer>(v: &Arc<str>, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(v)
}

/// One `-m statistic` decision on a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Branch {
    /// The kernel threshold (out of `2^31`).
    pub threshold: u32,
    /// The rule matched (its target applied) rather than falling through.
    pub taken: bool,
    /// The `k` of the `1/k` the printed probability stands for (kube-proxy's intent).
    pub nominal: u128,
}

/// What finally happens to the packet.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind")]
pub enum Verdict {
    /// DNATed to an endpoint and let through.
    Dnat {
        /// `ip:port` / `[ip]:port`.
        endpoint: String,
        /// The chain of the DNAT rule (`KUBE-SEP-…`; the virtual server in an IPVS trace).
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

/// One way through the rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Path {
    /// How it ends.
    pub verdict: Verdict,
    /// A MASQUERADE rule applied.
    pub masquerade: bool,
    /// The rules that acted, in order.
    pub steps: Vec<Step>,
    /// The statistic decisions that lead here, in order.
    pub branches: Vec<Branch>,
}

/// The strings a rule contributes to steps, shared by every path that passes it.
#[derive(Debug)]
struct RuleTexts {
    save: Arc<str>,
    /// The effect when the rule's target applies (with "probability … taken" for statistic rules).
    applied: Arc<str>,
    /// The effect of a statistic rule whose branch is not taken.
    not_taken: Arc<str>,
}

/// A chain's rules with an index on destination host and destination port, so that a packet
/// is checked only against rules that can match it (KUBE-SERVICES has one rule per service IP).
#[derive(Debug, Default)]
struct ChainIndex {
    table: Arc<str>,
    name: Arc<str>,
    rules: Vec<Rule>,
    /// Each rule's texts for trace steps, made on first use.
    texts: Vec<OnceLock<Arc<RuleTexts>>>,
    by_dst: HashMap<IpAddr, Vec<usize>>,
    by_dport: HashMap<u16, Vec<usize>>,
    always: Vec<usize>,
}

impl ChainIndex {
    fn build(table: String, name: String, rules: Vec<Rule>) -> ChainIndex {
        let mut c = ChainIndex {
            table: table.into(),
            name: name.into(),
            texts: (0..rules.len()).map(|_| OnceLock::new()).collect(),
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

/// Rules indexed for evaluation: many packets can be evaluated against one set.
#[derive(Debug)]
pub struct RuleSet {
    /// table → chain → index into `chains`.
    tables: HashMap<String, HashMap<String, usize>>,
    chains: Vec<ChainIndex>,
    local: Vec<IpNet>,
    style: SaveStyle,
}

impl RuleSet {
    /// Indexes `dumps`, merged in order (a later dump's rules are appended to the chains of the
    /// earlier ones). `local` are the node's addresses (`-m addrtype LOCAL`, and the routing
    /// decision: a packet for one of them goes to `INPUT`); loopback is always local. `style`
    /// prints the rules in steps.
    pub fn new(dumps: Vec<Dump>, local: &[IpNet], style: SaveStyle) -> RuleSet {
        let mut per: StdHashMap<String, StdHashMap<String, Vec<Rule>>> = StdHashMap::new();
        for d in dumps {
            for t in d.tables {
                let chains = per.entry(t.name.clone()).or_default();
                for c in t.chains {
                    chains.entry(c.name).or_default();
                }
                for r in t.rules {
                    chains.entry(r.chain.clone()).or_default().push(r);
                }
            }
        }
        let mut tables: HashMap<String, HashMap<String, usize>> = HashMap::default();
        let mut all = Vec::new();
        for (t, chains) in per {
            let ids = tables.entry(t.clone()).or_default();
            for (c, r) in chains {
                ids.insert(c.clone(), all.len());
                all.push(ChainIndex::build(t.clone(), c, r));
            }
        }
        let mut local = local.to_vec();
        local.push("127.0.0.0/8".parse().expect("constant"));
        local.push("::1/128".parse().expect("constant"));
        RuleSet {
            tables,
            chains: all,
            local,
            style,
        }
    }

    /// Whether any rule of `dump` is in a built-in chain (a node's `iptables-save` rather than
    /// a restore payload of user chains only).
    pub fn has_builtin_rules(dump: &Dump) -> bool {
        dump.tables.iter().any(|t| {
            let b = builtin_chains(&t.name);
            t.rules.iter().any(|r| b.contains(&r.chain.as_str()))
        })
    }

    fn is_local(&self, ip: IpAddr) -> bool {
        self.local.iter().any(|n| n.contains(&ip))
    }

    /// Every path of `packet` through the hooks, in rule order (the path that takes a
    /// statistic branch before the one that does not). Rules the evaluator cannot read add to
    /// `warnings`.
    pub fn evaluate(&self, packet: &Packet, warnings: &mut Vec<String>) -> Vec<Path> {
        let start = State {
            dst: packet.dst,
            dst_port: packet.dst_port,
            mark: 0,
            dnat: None,
            masquerade: false,
            steps: Vec::new(),
            branches: Vec::new(),
        };
        let first_hook = if packet.local_out {
            "OUTPUT"
        } else {
            "PREROUTING"
        };
        let mut paths = Vec::new();
        for (st, v) in self.run_hook(packet, "nat", first_hook, start, warnings) {
            // nat has no verdicts kube-proxy uses other than ACCEPT; a DROP there is honoured.
            if v.is_some() {
                paths.push(self.finish(st, v));
                continue;
            }
            let filter_hook = if packet.local_out {
                "OUTPUT"
            } else if self.is_local(st.dst) {
                "INPUT"
            } else {
                "FORWARD"
            };
            let forwarded = filter_hook != "INPUT";
            for (st, v) in self.run_hook(packet, "filter", filter_hook, st, warnings) {
                if v.is_some() || !forwarded {
                    paths.push(self.finish(st, v));
                    continue;
                }
                for (st, v) in self.run_hook(packet, "nat", "POSTROUTING", st, warnings) {
                    paths.push(self.finish(st, v));
                }
            }
        }
        paths
    }

    /// A finished path: `verdict` when a rule dropped or rejected the packet, else accepted
    /// (DNATed when a DNAT rule applied).
    fn finish(&self, st: State, verdict: Option<Verdict>) -> Path {
        let verdict = verdict.unwrap_or_else(|| match &st.dnat {
            Some((endpoint, chain)) => Verdict::Dnat {
                endpoint: endpoint.clone(),
                chain: chain.clone(),
            },
            None => Verdict::Accept,
        });
        Path {
            verdict,
            masquerade: st.masquerade,
            steps: st.steps.iter().map(|s| self.step(s)).collect(),
            branches: st.branches,
        }
    }

    /// Runs a built-in chain; returns every resulting state with `Some(verdict)` when the
    /// packet was dropped or rejected, `None` when it goes on.
    fn run_hook(
        &self,
        packet: &Packet,
        table: &str,
        chain: &str,
        st: State,
        warnings: &mut Vec<String>,
    ) -> Vec<(State, Option<Verdict>)> {
        let mut out = Vec::new();
        self.run_chain(packet, table, chain, 0, st, 0, warnings, &mut |st, flow| {
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
        packet: &Packet,
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
            if !self.matches(packet, r, &st, &mut stat, warnings) {
                continue;
            }
            let mut taken: Option<&str> = None;
            if let Some((t, text)) = stat {
                // Branch: not taken continues with the next rule.
                let nominal = text
                    .parse::<f64>()
                    .ok()
                    .filter(|p| *p > 0.0)
                    .map(|p| (1.0 / p).round() as u128)
                    .unwrap_or(1)
                    .max(1);
                let mut skip = st.clone();
                skip.branches.push(Branch {
                    threshold: t,
                    taken: false,
                    nominal,
                });
                st.branches.push(Branch {
                    threshold: t,
                    taken: true,
                    nominal,
                });
                taken = Some(text);
                skip.steps.push(step(i, Effect::NotTaken, 0));
                // A branch of probability 0 is not a path.
                if t < STATISTIC_ONE {
                    self.run_chain(packet, table, chain, i + 1, skip, depth, warnings, done);
                }
                if t == 0 {
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
                            packet,
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
                            self.run_chain(packet, table, chain, i + 1, s, depth, warnings, done);
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
        p: &Packet,
        r: &'r Rule,
        st: &State,
        stat: &mut Option<(u32, &'r str)>,
        warnings: &mut Vec<String>,
    ) -> bool {
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
            let m = p.in_iface.is_some_and(|i| iface_matches(&o.value, i));
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
            if (o.value == p.protocol) == o.negated {
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
                    proto == p.protocol
                        && sport.is_none()
                        && dport
                            .as_ref()
                            .is_none_or(|o| port_matches(&o.value, st.dst_port) != o.negated)
                }
                Match::Addrtype { src_type, dst_type } => {
                    let t = |o: &Option<Opt>, ip: IpAddr| {
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

#[derive(Clone, Debug)]
struct State {
    dst: IpAddr,
    dst_port: u16,
    mark: u32,
    dnat: Option<(String, String)>,
    masquerade: bool,
    steps: Vec<RawStep>,
    branches: Vec<Branch>,
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
    let (h, p) = crate::ip::split_host_port(s)?;
    Some((h.parse().ok()?, p.parse().ok()?))
}
