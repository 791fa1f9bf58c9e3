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

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use ipnet::IpNet;

use super::dump::{builtin_chains, Dump};
use super::rule::{AddrMatch, Match, Opt, RecentAction, Rule, SaveStyle, Target};

/// Lookups on the hot path: ahash instead of SipHash.
use crate::fast::FastMap as HashMap;

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
///
/// A handle to a [`StepData`] shared by every path and every trace through the same rule with
/// the same effect: a trace's result holds one pointer per step, and its fields read through
/// it (`step.chain`, `step.effect`). Serializes as the [`StepData`] it points to.
#[derive(Clone, PartialEq, Eq)]
pub struct Step(Arc<StepData>);

impl serde::Serialize for Step {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// What a [`Step`] says.
#[derive(Debug, PartialEq, Eq, serde::Serialize)]
pub struct StepData {
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

impl From<StepData> for Step {
    fn from(d: StepData) -> Step {
        Step(Arc::new(d))
    }
}

impl Step {
    /// The same rule with another effect.
    pub fn with_effect(&self, effect: impl Into<Arc<str>>) -> Step {
        StepData {
            table: self.table.clone(),
            chain: self.chain.clone(),
            rule: self.rule,
            text: self.text.clone(),
            effect: effect.into(),
        }
        .into()
    }
}

impl std::ops::Deref for Step {
    type Target = StepData;
    fn deref(&self) -> &StepData {
        &self.0
    }
}

impl std::fmt::Debug for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
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

/// The steps a rule contributes, made on first use and shared by every path through it.
#[derive(Debug)]
struct RuleSteps {
    /// The rule's target applied: its action (with "probability … taken" for a statistic
    /// rule), "count only" for a rule without a target, a MARK rule's effect on a packet
    /// without a mark (the mark kube-proxy's rules meet).
    applied: Step,
    /// A statistic rule whose branch is not taken (`None` for other rules, which never are).
    not_taken: Option<Step>,
}

/// How a port option reads (`80`, `30000:32767`, `:1024`); text that is no port never matches.
#[derive(Clone, Copy, Debug)]
enum PortSpec {
    Range(u16, u16),
    Never,
}

impl PortSpec {
    fn parse(spec: &str) -> PortSpec {
        match spec.split_once(':') {
            Some((a, b)) => PortSpec::Range(a.parse().unwrap_or(0), b.parse().unwrap_or(u16::MAX)),
            None => match spec.parse() {
                Ok(p) => PortSpec::Range(p, p),
                Err(_) => PortSpec::Never,
            },
        }
    }

    fn contains(self, port: u16) -> bool {
        match self {
            PortSpec::Range(lo, hi) => (lo..=hi).contains(&port),
            PortSpec::Never => false,
        }
    }
}

/// An `addrtype` option: which of the types it lists the address must be (or not be).
#[derive(Clone, Copy, Debug)]
struct AddrTypes {
    local: bool,
    unicast: bool,
    negated: bool,
}

impl AddrTypes {
    fn read(o: &Option<Opt>) -> Option<AddrTypes> {
        o.as_ref().map(|o| AddrTypes {
            local: o.value.split(',').any(|t| t == "LOCAL"),
            unicast: o.value.split(',').any(|t| t == "UNICAST"),
            negated: o.negated,
        })
    }

    fn matches(self, local: bool) -> bool {
        ((self.local && local) || (self.unicast && !local)) != self.negated
    }
}

/// A match module, read once for evaluation (in the rule's order; modules that always match
/// for a first packet, `comment`, `nfacct`, `recent --set/--remove`, are left out).
#[derive(Debug)]
enum Cond {
    Port {
        proto: Proto,
        /// `--sport` given: the source port is not modelled, so the match fails.
        sport: bool,
        dport: Option<(PortSpec, bool)>,
    },
    Addrtype {
        src: Option<AddrTypes>,
        dst: Option<AddrTypes>,
    },
    /// `[!] --ctstate`: whether the states list `NEW` and `DNAT`.
    Conntrack {
        negated: bool,
        new: bool,
        dnat: bool,
    },
    Mark {
        negated: bool,
        value: u32,
        mask: u32,
    },
    /// `recent --rcheck/--update`: the client must have a live entry in the list.
    Recent(String),
    /// A module the model does not know: never matches, with a warning.
    Other(String),
}

/// What a rule's target does, read once.
#[derive(Debug)]
enum Act {
    CountOnly,
    Mark {
        value: u32,
        mask: u32,
    },
    /// DNAT to the address and port of `--to-destination`, `None` when it cannot be read.
    Dnat(Option<(IpAddr, u16)>),
    Masquerade,
    Reject,
    Accept,
    Drop,
    Return,
    /// A jump to a chain of the same table, `None` when the table has no such chain.
    Jump(Option<u32>),
    Other,
}

/// A protocol name; kube-proxy's three compare without reading text.
#[derive(Debug)]
enum Proto {
    Tcp,
    Udp,
    Sctp,
    Other(Box<str>),
}

impl Proto {
    fn read(s: &str) -> Proto {
        match s {
            "tcp" => Proto::Tcp,
            "udp" => Proto::Udp,
            "sctp" => Proto::Sctp,
            s => Proto::Other(s.into()),
        }
    }

    fn is(&self, p: &str) -> bool {
        match self {
            Proto::Tcp => p == "tcp",
            Proto::Udp => p == "udp",
            Proto::Sctp => p == "sctp",
            Proto::Other(s) => **s == *p,
        }
    }
}

/// A rule's matches and target as evaluation reads them: everything a packet is checked
/// against in one small value, so that a walk reads the rule model only for the rules that act.
#[derive(Debug)]
struct Compiled {
    src: Option<AddrMatch>,
    dst: Option<AddrMatch>,
    /// `-i` given (the pattern is read from the rule).
    in_iface: bool,
    /// `-o` given, and whether negated.
    out_iface: Option<bool>,
    /// `-p`, and whether negated.
    proto: Option<(Proto, bool)>,
    /// The destination port the chain's index files the rule under (see [`ChainIndex`]).
    dport_key: Option<u16>,
    /// The match modules, a range of the set's `conds`.
    conds: (u32, u32),
    /// The last `-m statistic` match: kernel threshold and the `k` of the nominal `1/k`.
    stat: Option<(u32, u128)>,
    act: Act,
}

impl Compiled {
    /// Reads `r`, appending its match modules to `conds`; `Act::Jump` targets are resolved by
    /// [`RuleSet::new`] once every chain is known.
    fn read<'r>(r: &'r Rule, conds: &mut Vec<Cond>) -> (Compiled, Option<&'r str>) {
        let first = conds.len() as u32;
        let mut stat = None;
        for m in &r.matches {
            match m {
                Match::Comment { .. } | Match::Nfacct { .. } => {}
                Match::Port {
                    proto,
                    sport,
                    dport,
                } => conds.push(Cond::Port {
                    proto: Proto::read(proto),
                    sport: sport.is_some(),
                    dport: dport
                        .as_ref()
                        .map(|o| (PortSpec::parse(&o.value), o.negated)),
                }),
                Match::Addrtype { src_type, dst_type } => conds.push(Cond::Addrtype {
                    src: AddrTypes::read(src_type),
                    dst: AddrTypes::read(dst_type),
                }),
                Match::Conntrack { negated, states } => conds.push(Cond::Conntrack {
                    negated: *negated,
                    new: states.iter().any(|s| s == "NEW"),
                    dnat: states.iter().any(|s| s == "DNAT"),
                }),
                Match::Mark {
                    negated,
                    value,
                    mask,
                } => conds.push(Cond::Mark {
                    negated: *negated,
                    value: *value,
                    mask: *mask,
                }),
                Match::Statistic { threshold, text } => {
                    // The nominal share: the printed probability is kube-proxy's 1/k.
                    let nominal = text
                        .parse::<f64>()
                        .ok()
                        .filter(|p| *p > 0.0)
                        .map(|p| (1.0 / p).round() as u128)
                        .unwrap_or(1)
                        .max(1);
                    stat = Some((*threshold, nominal));
                }
                Match::Recent { action, name, .. } => match action {
                    RecentAction::Rcheck | RecentAction::Update => {
                        conds.push(Cond::Recent(name.clone()))
                    }
                    RecentAction::Set | RecentAction::Remove => {}
                },
                Match::Other { name, .. } => conds.push(Cond::Other(name.clone())),
            }
        }
        let mut jump = None;
        let act = match &r.target {
            Target::None => Act::CountOnly,
            Target::Mark { value, mask } => Act::Mark {
                value: *value,
                mask: *mask,
            },
            Target::Dnat { to } => Act::Dnat(split_host_port(to)),
            Target::Masquerade { .. } => Act::Masquerade,
            Target::Reject { .. } => Act::Reject,
            Target::Jump { chain } => match chain.as_str() {
                "ACCEPT" => Act::Accept,
                "DROP" => Act::Drop,
                "RETURN" => Act::Return,
                c => {
                    jump = Some(c);
                    Act::Jump(None)
                }
            },
            Target::Other { .. } => Act::Other,
        };
        let host = r
            .dst
            .as_ref()
            .is_some_and(|a| !a.negated && a.net.prefix_len() == a.net.max_prefix_len());
        let dport_key = if host {
            None
        } else {
            r.matches.iter().find_map(|m| match m {
                Match::Port { dport: Some(o), .. } if !o.negated => o.value.parse::<u16>().ok(),
                _ => None,
            })
        };
        let compiled = Compiled {
            src: r.src.clone(),
            dst: r.dst.clone(),
            in_iface: r.in_iface.is_some(),
            out_iface: r.out_iface.as_ref().map(|o| o.negated),
            proto: r.proto.as_ref().map(|o| (Proto::read(&o.value), o.negated)),
            dport_key,
            conds: (first, conds.len() as u32),
            stat,
            act,
        };
        (compiled, jump)
    }
}

/// A chain's rules with an index on destination host and destination port, so that a packet
/// is checked only against rules that can match it (KUBE-SERVICES has one rule per service IP).
/// A rule is filed under its destination when that is one address, else under the first
/// destination port of its `-m tcp/udp/sctp` matches, else it is checked for every packet.
#[derive(Debug, Default)]
struct ChainIndex {
    table: Arc<str>,
    name: Arc<str>,
    /// Where the chain's rules start in the set's [`RuleSet::compiled`] and
    /// [`RuleSet::steps`].
    first: usize,
    /// The index of a long chain; a short one is scanned, each rule's key checked in place.
    lookup: Option<Box<Lookup>>,
    rules: Vec<Rule>,
}

/// Rule positions by key, each list in rule order.
#[derive(Debug, Default)]
struct Lookup {
    by_dst: HashMap<IpAddr, Vec<u32>>,
    by_dport: HashMap<u16, Vec<u32>>,
    always: Vec<u32>,
}

/// Chains up to this long are scanned rather than looked up.
const SCAN: usize = 16;

impl ChainIndex {
    fn build(table: Arc<str>, name: String, rules: Vec<Rule>) -> ChainIndex {
        let mut c = ChainIndex {
            table,
            name: name.into(),
            rules,
            ..Default::default()
        };
        if c.rules.len() > SCAN {
            let mut l = Lookup::default();
            for (i, r) in c.rules.iter().enumerate() {
                let i = i as u32;
                let host = r
                    .dst
                    .as_ref()
                    .filter(|a| !a.negated && a.net.prefix_len() == a.net.max_prefix_len());
                if let Some(a) = host {
                    l.by_dst.entry(a.net.addr()).or_default().push(i);
                    continue;
                }
                let dport = r.matches.iter().find_map(|m| match m {
                    Match::Port { dport: Some(o), .. } if !o.negated => o.value.parse::<u16>().ok(),
                    _ => None,
                });
                match dport {
                    Some(p) => l.by_dport.entry(p).or_default().push(i),
                    None => l.always.push(i),
                }
            }
            c.lookup = Some(Box::new(l));
        }
        c
    }

    /// Candidate rule positions for a destination from rule `from` on, in rule order.
    fn candidates<'a>(
        &'a self,
        compiled: &'a [Compiled],
        dst: IpAddr,
        dport: u16,
        from: usize,
    ) -> Candidates<'a> {
        fn tail(v: &[u32], from: u32) -> &[u32] {
            &v[v.partition_point(|&i| i < from)..]
        }
        let Some(l) = &self.lookup else {
            return Candidates::Scan {
                rules: &compiled[self.first..self.first + self.rules.len()],
                at: from,
                dport,
            };
        };
        let from = from as u32;
        let a = l.by_dst.get(&dst).map_or(&[][..], |v| tail(v, from));
        let b = l.by_dport.get(&dport).map_or(&[][..], |v| tail(v, from));
        Candidates::Lists(Merged([a, b, tail(&l.always, from)]))
    }
}

/// The candidates of [`ChainIndex::candidates`]: a short chain's rules whose port key fits
/// (a rule filed under another destination address fails its `-d` check, which comes before
/// anything that could warn), or three sorted, disjoint lists merged in rule order.
enum Candidates<'a> {
    Scan {
        rules: &'a [Compiled],
        at: usize,
        dport: u16,
    },
    Lists(Merged<'a, 3>),
}

/// Sorted, disjoint lists of rule positions, merged in rule order (a chain's rules filed under
/// different keys).
#[derive(Debug)]
pub(crate) struct Merged<'a, const N: usize>(pub(crate) [&'a [u32]; N]);

impl<const N: usize> Iterator for Merged<'_, N> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        let l = &mut self.0;
        let k = (0..N)
            .filter(|&k| !l[k].is_empty())
            .min_by_key(|&k| l[k][0])?;
        let (first, rest) = l[k].split_first()?;
        l[k] = rest;
        Some(*first as usize)
    }
}

impl Iterator for Candidates<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        match self {
            Candidates::Scan { rules, at, dport } => {
                while let Some(r) = rules.get(*at) {
                    *at += 1;
                    if r.dport_key.is_none_or(|p| p == *dport) {
                        return Some(*at - 1);
                    }
                }
                None
            }
            Candidates::Lists(m) => m.next(),
        }
    }
}

/// The built-in chains a packet's path goes through, resolved once.
#[derive(Debug, Default)]
struct Hooks {
    nat_prerouting: Option<u32>,
    nat_output: Option<u32>,
    nat_postrouting: Option<u32>,
    filter_input: Option<u32>,
    filter_forward: Option<u32>,
    filter_output: Option<u32>,
}

/// Rules indexed for evaluation: many packets can be evaluated against one set.
#[derive(Debug)]
pub struct RuleSet {
    chains: Vec<ChainIndex>,
    /// Every chain's rules as evaluation reads them, chain after chain (a chain's from its
    /// `first`): a walk through a service's chains reads one stretch of memory.
    compiled: Vec<Compiled>,
    /// The rules' match modules (each rule's `conds` range), in the same order.
    conds: Vec<Cond>,
    /// Each rule's trace steps, made on first use, indexed as `compiled`.
    steps: Vec<OnceLock<RuleSteps>>,
    hooks: Hooks,
    local: Vec<IpNet>,
    style: SaveStyle,
    /// The effect of a rule without a target.
    count_only: Arc<str>,
}

impl RuleSet {
    /// Indexes `dumps`, merged in order (a later dump's rules are appended to the chains of the
    /// earlier ones). `local` are the node's addresses (`-m addrtype LOCAL`, and the routing
    /// decision: a packet for one of them goes to `INPUT`); loopback is always local. `style`
    /// prints the rules in steps.
    pub fn new(dumps: Vec<Dump>, local: &[IpNet], style: SaveStyle) -> RuleSet {
        // Chains are numbered in the order their first rule comes (then chains without
        // rules): a service's chains, written one after the other, sit side by side in memory,
        // so that a walk through them touches few cache lines.
        let mut tables: HashMap<String, HashMap<String, u32>> = HashMap::default();
        let mut order: Vec<(Arc<str>, String, Vec<Rule>)> = Vec::new();
        let mut names: HashMap<String, Arc<str>> = HashMap::default();
        for d in dumps {
            for t in d.tables {
                let table = names
                    .entry(t.name.clone())
                    .or_insert_with(|| t.name.as_str().into())
                    .clone();
                let ids = tables.entry(t.name).or_default();
                for r in t.rules {
                    let id = match ids.get(&r.chain) {
                        Some(&id) => id,
                        None => {
                            let id = order.len() as u32;
                            ids.insert(r.chain.clone(), id);
                            order.push((table.clone(), r.chain.clone(), Vec::new()));
                            id
                        }
                    };
                    order[id as usize].2.push(r);
                }
                for c in t.chains {
                    if !ids.contains_key(&c.name) {
                        ids.insert(c.name.clone(), order.len() as u32);
                        order.push((table.clone(), c.name, Vec::new()));
                    }
                }
            }
        }
        let mut all: Vec<ChainIndex> = order
            .into_iter()
            .map(|(table, name, rules)| ChainIndex::build(table, name, rules))
            .collect();
        // Jump targets are chains of the rule's own table, found by name once.
        let mut compiled = Vec::with_capacity(all.iter().map(|c| c.rules.len()).sum());
        let mut conds = Vec::new();
        for c in &mut all {
            let ids = &tables[&*c.table];
            c.first = compiled.len();
            compiled.extend(c.rules.iter().map(|r| {
                let (mut cr, jump) = Compiled::read(r, &mut conds);
                if let Some(j) = jump {
                    cr.act = Act::Jump(ids.get(j).copied());
                }
                cr
            }));
        }
        conds.shrink_to_fit();
        let steps = (0..compiled.len()).map(|_| OnceLock::new()).collect();
        let hook = |t: &str, c: &str| tables.get(t).and_then(|ids| ids.get(c)).copied();
        let hooks = Hooks {
            nat_prerouting: hook("nat", "PREROUTING"),
            nat_output: hook("nat", "OUTPUT"),
            nat_postrouting: hook("nat", "POSTROUTING"),
            filter_input: hook("filter", "INPUT"),
            filter_forward: hook("filter", "FORWARD"),
            filter_output: hook("filter", "OUTPUT"),
        };
        let mut local = local.to_vec();
        local.push("127.0.0.0/8".parse().expect("constant"));
        local.push("::1/128".parse().expect("constant"));
        RuleSet {
            chains: all,
            compiled,
            conds,
            steps,
            hooks,
            local,
            style,
            count_only: "count only".into(),
        }
    }

    /// Makes every rule's steps (its `iptables-save` text and effects) now instead of on the
    /// first path through it: for a set kept for many traces, so that the first trace through
    /// a service costs what every later one does. About 1 µs a rule.
    pub fn prepare_steps(&self) {
        for c in &self.chains {
            for i in 0..c.rules.len() {
                self.steps[c.first + i].get_or_init(|| self.rule_steps(c, i));
            }
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
            steps: NONE,
            branches: NONE,
        };
        thread_local! {
            /// Every trace on a thread reuses one trail: no allocation once it has grown to the
            /// size of the node's paths.
            static TRAIL: std::cell::RefCell<Trail> = std::cell::RefCell::default();
        }
        TRAIL.with(|t| match t.try_borrow_mut() {
            Ok(mut trail) => {
                trail.clear();
                let paths = self.walk(packet, start, &mut trail, warnings);
                if trail.steps.capacity() > 1 << 16 {
                    *trail = Trail::default();
                }
                paths
            }
            Err(_) => self.walk(packet, start, &mut Trail::default(), warnings),
        })
    }

    /// [`RuleSet::evaluate`] with `trail` to record the paths in.
    fn walk(
        &self,
        packet: &Packet,
        start: State,
        trail: &mut Trail,
        warnings: &mut Vec<String>,
    ) -> Vec<Path> {
        let h = &self.hooks;
        let first_hook = if packet.local_out {
            h.nat_output
        } else {
            h.nat_prerouting
        };
        let mut paths = Vec::new();
        for (st, stop) in self.run_hook(packet, first_hook, start, trail, warnings) {
            // nat has no verdicts kube-proxy uses other than ACCEPT; a DROP there is honoured.
            if stop.is_some() {
                paths.push(self.finish(st, stop, trail));
                continue;
            }
            let (filter_hook, forwarded) = if packet.local_out {
                (h.filter_output, true)
            } else if self.is_local(st.dst) {
                (h.filter_input, false)
            } else {
                (h.filter_forward, true)
            };
            for (st, stop) in self.run_hook(packet, filter_hook, st, trail, warnings) {
                if stop.is_some() || !forwarded {
                    paths.push(self.finish(st, stop, trail));
                    continue;
                }
                for (st, stop) in self.run_hook(packet, h.nat_postrouting, st, trail, warnings) {
                    paths.push(self.finish(st, stop, trail));
                }
            }
        }
        paths
    }

    /// A finished path: the verdict of the rule that stopped the packet (`stop`), else accepted
    /// (DNATed when a DNAT rule applied).
    fn finish(&self, st: State, stop: Option<RuleAt>, trail: &mut Trail) -> Path {
        let verdict = match stop {
            Some(at) => {
                let (c, r) = self.rule(at);
                let reason = r.comment().unwrap_or(&c.name).to_owned();
                match &r.target {
                    Target::Reject { with } => Verdict::Reject {
                        with: with.clone(),
                        reason,
                    },
                    _ => Verdict::Drop { reason },
                }
            }
            None => match st.dnat {
                Some(at) => {
                    let (c, r) = self.rule(at);
                    let Target::Dnat { to } = &r.target else {
                        unreachable!("dnat is set by DNAT rules only")
                    };
                    Verdict::Dnat {
                        endpoint: to.clone(),
                        chain: String::from(&*c.name),
                    }
                }
                None => Verdict::Accept,
            },
        };
        trail.scratch.clear();
        let mut at = st.steps;
        while at != NONE {
            let (parent, raw) = trail.steps[at as usize];
            trail.scratch.push(raw);
            at = parent;
        }
        let steps = trail.scratch.iter().rev().map(|s| self.step(s)).collect();
        let mut n = 0;
        let mut at = st.branches;
        while at != NONE {
            n += 1;
            at = trail.branches[at as usize].0;
        }
        let mut branches = Vec::with_capacity(n);
        let mut at = st.branches;
        while at != NONE {
            let (parent, b) = trail.branches[at as usize];
            branches.push(b);
            at = parent;
        }
        branches.reverse();
        Path {
            verdict,
            masquerade: st.masquerade,
            steps,
            branches,
        }
    }

    fn rule(&self, at: RuleAt) -> (&ChainIndex, &Rule) {
        let c = &self.chains[at.chain as usize];
        (c, &c.rules[at.rule as usize])
    }

    /// Runs a built-in chain; returns every resulting state with the rule that dropped or
    /// rejected the packet, `None` when it goes on.
    fn run_hook(
        &self,
        packet: &Packet,
        hook: Option<u32>,
        st: State,
        trail: &mut Trail,
        warnings: &mut Vec<String>,
    ) -> Few<(State, Option<RuleAt>)> {
        let mut out = Few::default();
        let Some(cid) = hook else {
            out.push((st, None));
            return out;
        };
        self.run_chain(packet, cid, 0, st, 0, trail, warnings, &mut |st, flow| {
            let stop = match flow {
                Flow::Stop(at) => Some(at),
                _ => None, // ACCEPT, fall-through (policy ACCEPT), RETURN from a built-in chain
            };
            out.push((st, stop));
        });
        out
    }

    /// Evaluates chain `cid` from rule `from`; calls `done` for every way the chain ends.
    #[allow(clippy::too_many_arguments)]
    fn run_chain(
        &self,
        packet: &Packet,
        cid: u32,
        from: usize,
        mut st: State,
        depth: usize,
        trail: &mut Trail,
        warnings: &mut Vec<String>,
        done: &mut dyn FnMut(State, Flow),
    ) {
        let c = &self.chains[cid as usize];
        if depth > 64 {
            warnings.push(format!("chain nesting too deep at {} {}", c.table, c.name));
            return done(st, Flow::End);
        }
        let step = |i: usize, kind: Effect, mark: u32| RawStep {
            chain: cid,
            rule: i as u32,
            kind,
            mark,
        };
        for i in c.candidates(&self.compiled, st.dst, st.dst_port, from) {
            let cr = &self.compiled[c.first + i];
            if !self.matches(packet, c, i, &st, warnings) {
                continue;
            }
            let taken = cr.stat.is_some();
            if let Some((t, nominal)) = cr.stat {
                // Branch: not taken continues with the next rule.
                let mut skip = st;
                skip.branches = trail.branch(
                    st.branches,
                    Branch {
                        threshold: t,
                        taken: false,
                        nominal,
                    },
                );
                st.branches = trail.branch(
                    st.branches,
                    Branch {
                        threshold: t,
                        taken: true,
                        nominal,
                    },
                );
                skip.steps = trail.step(skip.steps, step(i, Effect::NotTaken, 0));
                // A branch of probability 0 is not a path.
                if t < STATISTIC_ONE {
                    self.run_chain(packet, cid, i + 1, skip, depth, trail, warnings, done);
                }
                if t == 0 {
                    return;
                }
            }
            let at = RuleAt {
                chain: cid,
                rule: i as u32,
            };
            match &cr.act {
                Act::CountOnly => {
                    st.steps = trail.step(st.steps, step(i, Effect::CountOnly, 0));
                }
                Act::Mark { value, mask } => {
                    st.mark = (st.mark & !mask) ^ value;
                    st.steps = trail.step(st.steps, step(i, Effect::Mark, st.mark));
                }
                Act::Dnat(to) => {
                    st.steps = trail.step(st.steps, step(i, Effect::Plain, 0));
                    match to {
                        Some((ip, port)) => {
                            st.dst = *ip;
                            st.dst_port = *port;
                        }
                        None => {
                            if let Target::Dnat { to } = &c.rules[i].target {
                                warnings.push(format!("cannot read DNAT target {to}"));
                            }
                        }
                    }
                    st.dnat = Some(at);
                    return done(st, Flow::Accept);
                }
                Act::Masquerade => {
                    st.masquerade = true;
                    st.steps = trail.step(st.steps, step(i, Effect::Plain, 0));
                    return done(st, Flow::Accept);
                }
                Act::Reject | Act::Drop => {
                    st.steps = trail.step(st.steps, step(i, Effect::Plain, 0));
                    return done(st, Flow::Stop(at));
                }
                Act::Accept => {
                    st.steps = trail.step(st.steps, step(i, Effect::Plain, 0));
                    return done(st, Flow::Accept);
                }
                Act::Return => {
                    st.steps = trail.step(st.steps, step(i, Effect::Plain, 0));
                    return done(st, Flow::End);
                }
                Act::Jump(target) => {
                    let e = if taken { Effect::Taken } else { Effect::Plain };
                    st.steps = trail.step(st.steps, step(i, e, 0));
                    let mut cont = Few::default();
                    match target {
                        Some(target) => self.run_chain(
                            packet,
                            *target,
                            0,
                            st,
                            depth + 1,
                            trail,
                            warnings,
                            &mut |s, f| match f {
                                Flow::End => cont.push(s),
                                other => done(s, other),
                            },
                        ),
                        // A missing chain is an empty one: the packet goes on.
                        None => {
                            if depth + 1 > 64 {
                                let name = c.rules[i].jump().unwrap_or_default();
                                warnings
                                    .push(format!("chain nesting too deep at {} {name}", c.table));
                            }
                            cont.push(st);
                        }
                    }
                    for s in cont {
                        self.run_chain(packet, cid, i + 1, s, depth, trail, warnings, done);
                    }
                    return;
                }
                Act::Other => {
                    if let Target::Other { name, .. } = &c.rules[i].target {
                        warnings.push(format!("target {name} is not modelled: ignored"));
                    }
                    st.steps = trail.step(st.steps, step(i, Effect::Ignored, 0));
                }
            }
        }
        done(st, Flow::End)
    }

    /// Turns a recorded step into its public form (shared per rule and effect).
    fn step(&self, s: &RawStep) -> Step {
        let c = &self.chains[s.chain as usize];
        let i = s.rule as usize;
        let t = self.steps[c.first + i].get_or_init(|| self.rule_steps(c, i));
        match s.kind {
            Effect::Plain | Effect::Taken | Effect::CountOnly => t.applied.clone(),
            // Recorded for statistic rules only, which have the step.
            Effect::NotTaken => t.not_taken.as_ref().unwrap_or(&t.applied).clone(),
            Effect::Mark => match &self.compiled[c.first + i].act {
                Act::Mark { value, .. } if *value == s.mark => t.applied.clone(),
                _ => t.applied.with_effect(format!("mark 0x{:x}", s.mark)),
            },
            Effect::Ignored => t
                .applied
                .with_effect(format!("{:?} (ignored)", c.rules[i].target)),
        }
    }

    fn step_data(&self, c: &ChainIndex, i: usize, text: Arc<str>, effect: Arc<str>) -> StepData {
        StepData {
            table: c.table.clone(),
            chain: c.name.clone(),
            rule: i + 1,
            text,
            effect,
        }
    }

    fn rule_steps(&self, c: &ChainIndex, i: usize) -> RuleSteps {
        let r = &c.rules[i];
        let prob = r.matches.iter().find_map(|m| match m {
            Match::Statistic { text, .. } => Some(text.as_str()),
            _ => None,
        });
        let applied: Arc<str> = match (&self.compiled[c.first + i].act, &r.target) {
            (Act::CountOnly, _) => self.count_only.clone(),
            (Act::Mark { .. }, Target::Mark { value, .. }) => format!("mark 0x{value:x}").into(),
            (_, target) => {
                let target = match target {
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
                match prob {
                    Some(p) => format!("probability {p} taken: {target}").into(),
                    None => target.into(),
                }
            }
        };
        let save: Arc<str> = r.to_save(&self.style).into();
        let not_taken = prob.map(|p| {
            let effect = format!("probability {p} not taken").into();
            self.step_data(c, i, save.clone(), effect).into()
        });
        RuleSteps {
            applied: self.step_data(c, i, save, applied).into(),
            not_taken,
        }
    }

    fn matches(
        &self,
        p: &Packet,
        c: &ChainIndex,
        i: usize,
        st: &State,
        warnings: &mut Vec<String>,
    ) -> bool {
        let cr = &self.compiled[c.first + i];
        if let Some(a) = &cr.src {
            if a.net.contains(&p.src) == a.negated {
                return false;
            }
        }
        if let Some(a) = &cr.dst {
            if a.net.contains(&st.dst) == a.negated {
                return false;
            }
        }
        if cr.in_iface {
            if let Some(o) = &c.rules[i].in_iface {
                let m = p.in_iface.is_some_and(|i| iface_matches(&o.value, i));
                if m == o.negated {
                    return false;
                }
            }
        }
        // The output interface is not modelled: a non-negated -o never matches.
        if cr.out_iface == Some(false) {
            warnings.push(format!("-o in {} is not modelled", c.name));
            return false;
        }
        if let Some((proto, negated)) = &cr.proto {
            if proto.is(p.protocol) == *negated {
                return false;
            }
        }
        let (from, to) = cr.conds;
        for m in &self.conds[from as usize..to as usize] {
            let ok = match m {
                Cond::Port {
                    proto,
                    sport,
                    dport,
                } => {
                    proto.is(p.protocol)
                        && !sport
                        && dport.is_none_or(|(spec, negated)| spec.contains(st.dst_port) != negated)
                }
                Cond::Addrtype { src, dst } => {
                    src.is_none_or(|t| t.matches(self.is_local(p.src)))
                        && dst.is_none_or(|t| t.matches(self.is_local(st.dst)))
                }
                Cond::Conntrack { negated, new, dnat } => {
                    // First packet: NEW; DNAT once a DNAT happened.
                    (*new || (*dnat && st.dnat.is_some())) != *negated
                }
                Cond::Mark {
                    negated,
                    value,
                    mask,
                } => ((st.mark & mask) == *value) != *negated,
                Cond::Recent(name) => p.recent.contains(name),
                Cond::Other(name) => {
                    warnings.push(format!("match {name} in {} is not modelled", c.name));
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

/// "No step / no branch yet" in a [`Trail`] link.
const NONE: u32 = u32::MAX;

/// The steps and statistic decisions of every path of one evaluation, each entry linked to the
/// one before it on its path: paths that share a prefix share its entries, so a branch copies
/// two indices instead of its steps.
#[derive(Default)]
struct Trail {
    steps: Vec<(u32, RawStep)>,
    branches: Vec<(u32, Branch)>,
    /// A path's steps, last first, while [`RuleSet::finish`] reads them.
    scratch: Vec<RawStep>,
}

impl Trail {
    fn clear(&mut self) {
        self.steps.clear();
        self.branches.clear();
        self.scratch.clear();
    }

    fn step(&mut self, parent: u32, s: RawStep) -> u32 {
        self.steps.push((parent, s));
        (self.steps.len() - 1) as u32
    }

    fn branch(&mut self, parent: u32, b: Branch) -> u32 {
        self.branches.push((parent, b));
        (self.branches.len() - 1) as u32
    }
}

/// A rule by chain and position.
#[derive(Clone, Copy, Debug)]
struct RuleAt {
    chain: u32,
    rule: u32,
}

/// A packet part way through the rules: plain values, so a statistic branch copies it.
#[derive(Clone, Copy, Debug)]
struct State {
    dst: IpAddr,
    dst_port: u16,
    mark: u32,
    /// The DNAT rule that applied.
    dnat: Option<RuleAt>,
    masquerade: bool,
    /// The last step of this path in the [`Trail`].
    steps: u32,
    /// The last statistic decision of this path in the [`Trail`].
    branches: u32,
}

/// A few values, usually one, kept without allocating until there is a second: the states
/// that come back from a called chain, the ways a hook ends.
struct Few<T> {
    first: Option<T>,
    more: Vec<T>,
}

impl<T> Default for Few<T> {
    fn default() -> Self {
        Few {
            first: None,
            more: Vec::new(),
        }
    }
}

impl<T> Few<T> {
    fn push(&mut self, v: T) {
        if self.first.is_none() {
            self.first = Some(v);
        } else {
            self.more.push(v);
        }
    }
}

impl<T> IntoIterator for Few<T> {
    type Item = T;
    type IntoIter = std::iter::Chain<std::option::IntoIter<T>, std::vec::IntoIter<T>>;

    fn into_iter(self) -> Self::IntoIter {
        self.first.into_iter().chain(self.more)
    }
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
    /// Dropped or rejected by this rule.
    Stop(RuleAt),
}

fn iface_matches(pattern: &str, iface: &str) -> bool {
    match pattern.strip_suffix('+') {
        Some(prefix) => iface.starts_with(prefix),
        None => pattern == iface,
    }
}

fn split_host_port(s: &str) -> Option<(IpAddr, u16)> {
    let (h, p) = crate::ip::split_host_port(s)?;
    Some((h.parse().ok()?, p.parse().ok()?))
}
