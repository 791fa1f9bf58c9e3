//! The trace of kube-proxy's nftables mode: a packet through the `kube-proxy` table
//! ([`NftTracer`]).
//!
//! The table's rules are read once ([`super::nft_rule`]) into a small program whose sets and
//! verdict maps are hash tables, then each packet runs through the base chains of its path in
//! the kernel's order: for traffic that enters the node (pod, other node, external), the
//! `prerouting` chains by priority (`filter-prerouting-pre-dnat` at -110, `nat-prerouting` at
//! -100), the routing decision on the (possibly DNATed) destination, then `input` for a local
//! destination or `forward` followed by `postrouting`; for traffic the node sends, the `output`
//! chains by priority (`filter-output-pre-dnat` -110, `nat-output` -100, `filter-output` 0),
//! then `postrouting`. An `accept` ends one base chain, not the hook; `drop` and `reject` end
//! the packet; `dnat` and `masquerade` accept.
//!
//! `numgen random mod N vmap { … }` branches: each value `k` is a path whose probability is
//! the kernel's exact share (`reciprocal_scale` of a 32-bit random: `⌈(k+1)·2^32/N⌉ −
//! ⌈k·2^32/N⌉` out of `2^32`), nominally `1/N`. A dynamic set (`affinity-…`) contains the
//! client when the packet says so ([`Packet::recent`] names the set).

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use ipnet::IpNet;

use super::fraction::{Prob, PublicForms};
use super::nft_rule::{parse_rule, Expr, Side, Verb};
use super::{Origin, Outcome, Packet, Step, StepData, TraceResult, Verdict};
use crate::model::IpFamily;
use crate::proxier::config::{LocalDetector, ProxierSettings};
use crate::render::nftables::{ChainType, Family, Hook, Table};
use crate::{Error, Issue, Result};

/// Lookups on the hot path: ahash instead of SipHash.
use crate::fast::FastMap as HashMap;

/// Index of a chain in the program.
type ChainIx = u32;

/// A hook's base chains, by priority, with their type's name (`nat`, `filter`).
type BaseChains = Vec<(ChainIx, Arc<str>)>;

/// A verdict with its chain resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    Jump(ChainIx),
    Goto(ChainIx),
    Return,
    Accept,
    Drop,
    Reject,
}

/// A verdict map's value: where it sends the packet, the step it adds and the element's
/// comment (`ns/name:port` in the no-endpoint maps).
#[derive(Clone, Debug)]
struct MapHit {
    target: Target,
    effect: Said,
    comment: Option<Arc<str>>,
}

/// A step's effect, with the step last made of it: the traces through the same rule reached
/// from base chains of the same type share one [`Step`].
#[derive(Clone, Debug)]
struct Said {
    effect: Arc<str>,
    made: OnceLock<Step>,
}

impl Said {
    fn new(effect: impl Into<Arc<str>>) -> Said {
        Said {
            effect: effect.into(),
            made: OnceLock::new(),
        }
    }

    /// The step of rule `i` of chain `c` with this effect, in a base chain of type `ty`.
    fn step(&self, ty: &Arc<str>, c: &CChain, i: usize, r: &CRule) -> Step {
        if let Some(s) = self.made.get() {
            if *s.table == **ty && Arc::ptr_eq(&s.chain, &c.name) && s.rule == i + 1 {
                return s.clone();
            }
        }
        let s = Step::from(StepData {
            table: ty.clone(),
            chain: c.name.clone(),
            rule: i + 1,
            text: r.text.clone(),
            effect: self.effect.clone(),
        });
        // The first made stays: a rule reached from two chain types makes the other's anew.
        let _ = self.made.set(s.clone());
        s
    }
}

/// A protocol as the maps key it.
fn proto_code(p: &str) -> Option<u8> {
    match p {
        "tcp" => Some(0),
        "udp" => Some(1),
        "sctp" => Some(2),
        _ => None,
    }
}

#[derive(Clone, Debug)]
enum Op {
    CtNew(bool),
    Addr {
        src: bool,
        negated: bool,
        nets: Vec<IpNet>,
    },
    /// A static set of addresses.
    InSet {
        src: bool,
        set: u32,
    },
    /// A dynamic (affinity) set: holds the client when the packet says so.
    InDynamic {
        name: Arc<str>,
    },
    FibLocal {
        src: bool,
    },
    Iif {
        negated: bool,
        name: String,
    },
    L4proto(u8),
    Dport {
        proto: u8,
        port: u16,
    },
    MarkAnd {
        mask: u32,
        value: u32,
        negated: bool,
    },
    MarkSet {
        or: bool,
        value: u32,
        effect: Said,
    },
    DstVmap(u32),
    PortVmap(u32),
    Numgen {
        modulus: u32,
        /// Per value: where it goes and the step's effect.
        map: Vec<(u32, Target, Said)>,
    },
    /// The statements and the verdict carry the effect their step reports.
    Update(Said),
    Masquerade(Said),
    Dnat {
        to: Arc<str>,
        ip: IpAddr,
        port: u16,
        effect: Said,
    },
    Verdict(Target, Said),
}

#[derive(Debug)]
struct CRule {
    ops: Vec<Op>,
    /// The rule as written, with its comment.
    text: Arc<str>,
    comment: Option<Arc<str>>,
}

#[derive(Debug)]
struct CChain {
    name: Arc<str>,
    rules: Vec<CRule>,
}

/// The `kube-proxy` table read for evaluation: many packets can be traced through one.
#[derive(Debug)]
pub struct NftTracer {
    family: Family,
    chains: Vec<CChain>,
    /// Base chains per hook.
    hooks: Vec<(Hook, BaseChains)>,
    sets: Vec<HashSet<IpAddr>>,
    addr_maps: Vec<HashMap<(IpAddr, u8, u16), MapHit>>,
    port_maps: Vec<HashMap<(u8, u16), MapHit>>,
    local: Vec<IpNet>,
    node: String,
    ip_family: IpFamily,
    pod_iface: String,
    /// The settings the table was built with: the plan behind a drop's cause
    /// ([`NftTracer::explain`]).
    settings: ProxierSettings,
    forms: PublicForms,
}

/// How a chain ends for the caller.
enum Flow {
    /// Fell off the end or returned: the caller goes on.
    Continue,
    /// Accepted: this base chain ends, the hook goes on.
    Accept,
    Drop(String),
    Reject(String),
}

#[derive(Clone, Debug)]
struct State {
    dst: IpAddr,
    dst_port: u16,
    mark: u32,
    dnat: Option<(Arc<str>, Arc<str>)>,
    masquerade: bool,
    /// The comment of the last verdict-map element that matched (why a later drop happens).
    why: Option<Arc<str>>,
    steps: Vec<Step>,
    prob: Prob,
}

/// What a packet is matched with beyond the state.
struct Ctx<'a> {
    src: IpAddr,
    proto: u8,
    iif: Option<&'a str>,
    recent: &'a [String],
}

fn refuse(chain: &str, n: usize, msg: impl Into<String>) -> Error {
    Error::Dump(Issue::new(None, format!("chain {chain} rule {n}"), msg))
}

fn target_text(t: &Verb) -> String {
    match t {
        Verb::Jump(c) => format!("jump {c}"),
        Verb::Goto(c) => format!("goto {c}"),
        Verb::Return => "return".into(),
        Verb::Accept => "accept".into(),
        Verb::Drop => "drop".into(),
        Verb::Reject => "reject".into(),
    }
}

impl NftTracer {
    /// Reads `table` for tracing. `settings` supply the node name, its addresses (`fib … type
    /// local` and the routing decision: node IPs, interface addresses, loopback) and the pod
    /// interface the local-traffic detector names.
    ///
    /// # Errors
    /// [`Error::Dump`] naming the chain and rule when a rule is not a shape kube-proxy writes,
    /// or refers to a chain, set or map the table does not have.
    pub fn new(table: &Table, settings: &ProxierSettings) -> Result<NftTracer> {
        let chain_ix: HashMap<&str, ChainIx> = table
            .chains()
            .enumerate()
            .map(|(i, c)| (c.name, i as ChainIx))
            .collect();
        let mut chains: Vec<CChain> = table
            .chains()
            .map(|c| CChain {
                name: c.name.into(),
                rules: Vec::new(),
            })
            .collect();
        let resolve = |j: &Verb, chain: &str, n: usize| -> Result<Target> {
            let look = |c: &String| {
                chain_ix
                    .get(c.as_str())
                    .copied()
                    .ok_or_else(|| refuse(chain, n, format!("no chain named {c:?}")))
            };
            Ok(match j {
                Verb::Jump(c) => Target::Jump(look(c)?),
                Verb::Goto(c) => Target::Goto(look(c)?),
                Verb::Return => Target::Return,
                Verb::Accept => Target::Accept,
                Verb::Drop => Target::Drop,
                Verb::Reject => Target::Reject,
            })
        };

        // Sets: static ones as address sets; dynamic ones are the client's affinity.
        let mut set_ix: HashMap<&str, u32> = HashMap::default();
        let mut dynamic: HashSet<&str> = HashSet::new();
        let mut sets: Vec<HashSet<IpAddr>> = Vec::new();
        for s in table.sets() {
            if s.flags.contains(&"dynamic") {
                dynamic.insert(s.name);
            } else {
                set_ix.insert(s.name, sets.len() as u32);
                sets.push(HashSet::new());
            }
        }
        let mut map_ix: HashMap<&str, (bool, u32)> = HashMap::default();
        let mut addr_maps = Vec::new();
        let mut port_maps = Vec::new();
        for m in table.maps() {
            let ports_only = !m.key_type.contains("addr");
            let ix = if ports_only {
                port_maps.push(HashMap::default());
                port_maps.len() - 1
            } else {
                addr_maps.push(HashMap::default());
                addr_maps.len() - 1
            };
            map_ix.insert(m.name, (ports_only, ix as u32));
        }
        for e in table.elements() {
            let bad = |msg: String| {
                Error::Dump(Issue::new(
                    None,
                    format!("element {} of {}", e.key, e.container),
                    msg,
                ))
            };
            if !e.in_map {
                if dynamic.contains(e.container) {
                    continue;
                }
                let Some(&s) = set_ix.get(e.container) else {
                    return Err(bad("no such set".into()));
                };
                let ip: IpAddr = e
                    .key
                    .parse()
                    .map_err(|_| bad("the key is not an address".into()))?;
                sets[s as usize].insert(ip);
                continue;
            }
            let Some(&(ports_only, m)) = map_ix.get(e.container) else {
                return Err(bad("no such map".into()));
            };
            let value = e.value.unwrap_or_default();
            let words: Vec<&str> = value.split_ascii_whitespace().collect();
            let Some(j) = Verb::parse(&words) else {
                return Err(bad(format!("unknown verdict {value:?}")));
            };
            let target = match &j {
                Verb::Jump(c) | Verb::Goto(c) if !chain_ix.contains_key(c.as_str()) => {
                    return Err(bad(format!("no chain named {c:?}")));
                }
                _ => resolve(&j, e.container, 0)?,
            };
            let effect = Said::new(match e.comment {
                Some(c) => format!("@{} {} ({c}): {value}", e.container, e.key),
                None => format!("@{} {}: {value}", e.container, e.key),
            });
            let hit = MapHit {
                target,
                effect,
                comment: e.comment.map(Arc::from),
            };
            let parts: Vec<&str> = e.key_parts().collect();
            if ports_only {
                let (Some(p), Some(port)) = (
                    parts.first().and_then(|p| proto_code(p)),
                    parts.get(1).and_then(|p| p.parse::<u16>().ok()),
                ) else {
                    return Err(bad("the key is not protocol . port".into()));
                };
                port_maps[m as usize].insert((p, port), hit);
            } else {
                let (Some(ip), Some(p), Some(port)) = (
                    parts.first().and_then(|a| a.parse::<IpAddr>().ok()),
                    parts.get(1).and_then(|p| proto_code(p)),
                    parts.get(2).and_then(|p| p.parse::<u16>().ok()),
                ) else {
                    return Err(bad("the key is not address . protocol . port".into()));
                };
                addr_maps[m as usize].insert((ip, p, port), hit);
            }
        }

        // A verdict map by name, with the key the lookup builds (`l4proto . dport` or
        // `daddr . l4proto . dport`).
        let map_of = |m: &str, ports: bool, chain: &str, n: usize| -> Result<u32> {
            match map_ix.get(m) {
                Some(&(ports_only, ix)) if ports_only == ports => Ok(ix),
                Some(_) => Err(refuse(chain, n, format!("map {m:?} has another key type"))),
                None => Err(refuse(chain, n, format!("no map named {m:?}"))),
            }
        };

        // Rules, in chain order.
        for r in table.rules() {
            let Some(&c) = chain_ix.get(r.chain) else {
                continue;
            };
            let n = chains[c as usize].rules.len() + 1;
            let exprs = parse_rule(r.rule).map_err(|m| refuse(r.chain, n, m))?;
            let mut ops = Vec::with_capacity(exprs.len());
            for e in exprs {
                let op = match e {
                    Expr::CtState { new } => Op::CtNew(new),
                    Expr::Addr {
                        side,
                        negated,
                        nets,
                    } => Op::Addr {
                        src: side == Side::Src,
                        negated,
                        nets,
                    },
                    Expr::InSet { side, set } => {
                        if let Some(&s) = set_ix.get(set.as_str()) {
                            Op::InSet {
                                src: side == Side::Src,
                                set: s,
                            }
                        } else if dynamic.contains(set.as_str()) && side == Side::Src {
                            Op::InDynamic {
                                name: set.as_str().into(),
                            }
                        } else {
                            return Err(refuse(r.chain, n, format!("no set named {set:?}")));
                        }
                    }
                    Expr::FibLocal { side } => Op::FibLocal {
                        src: side == Side::Src,
                    },
                    Expr::Iif { negated, name } => Op::Iif { negated, name },
                    Expr::L4proto(p) => Op::L4proto(proto_code(&p).unwrap_or(u8::MAX)),
                    Expr::Dport { proto, port } => Op::Dport {
                        proto: proto_code(&proto).unwrap_or(u8::MAX),
                        port,
                    },
                    Expr::MarkAnd {
                        mask,
                        value,
                        negated,
                    } => Op::MarkAnd {
                        mask,
                        value,
                        negated,
                    },
                    Expr::MarkSet { or, value } => {
                        let verb = if or { "or" } else { "xor" };
                        let effect = Said::new(format!("mark set mark {verb} 0x{value:x}"));
                        Op::MarkSet { or, value, effect }
                    }
                    Expr::DstPortVmap(m) => Op::DstVmap(map_of(&m, false, r.chain, n)?),
                    Expr::PortVmap(m) => Op::PortVmap(map_of(&m, true, r.chain, n)?),
                    Expr::Numgen { modulus, map } => {
                        let mut out = Vec::with_capacity(map.len());
                        for (k, j) in &map {
                            let t = resolve(j, r.chain, n)?;
                            let eff =
                                format!("numgen random mod {modulus} = {k}: {}", target_text(j));
                            out.push((*k, t, Said::new(eff)));
                        }
                        Op::Numgen { modulus, map: out }
                    }
                    Expr::Update(set) => {
                        if !dynamic.contains(set.as_str()) {
                            return Err(refuse(
                                r.chain,
                                n,
                                format!("no dynamic set named {set:?}"),
                            ));
                        }
                        Op::Update(Said::new(format!(
                            "update @{set}: the client's entry added or its timeout restarted"
                        )))
                    }
                    Expr::Masquerade => Op::Masquerade(Said::new("masquerade")),
                    Expr::Dnat { to, ip, port } => Op::Dnat {
                        effect: Said::new(format!("dnat to {to}")),
                        to: to.as_str().into(),
                        ip,
                        port,
                    },
                    Expr::Verdict(j) => {
                        let t = resolve(&j, r.chain, n)?;
                        let prefix = ops.iter().find_map(|o| match o {
                            Op::InDynamic { name } => Some(format!("client in @{name}: ")),
                            _ => None,
                        });
                        let effect = format!("{}{}", prefix.unwrap_or_default(), target_text(&j));
                        Op::Verdict(t, Said::new(effect))
                    }
                };
                ops.push(op);
            }
            let text = match r.comment {
                Some(c) => format!("{} comment \"{c}\"", r.rule),
                None => r.rule.to_owned(),
            };
            chains[c as usize].rules.push(CRule {
                ops,
                text: text.into(),
                comment: r.comment.map(Arc::from),
            });
        }

        type WithPriority = Vec<(ChainIx, Arc<str>, i32)>;
        let mut hooks: Vec<(Hook, WithPriority)> = [
            Hook::Prerouting,
            Hook::Input,
            Hook::Forward,
            Hook::Output,
            Hook::Postrouting,
        ]
        .into_iter()
        .map(|h| (h, Vec::new()))
        .collect();
        for (i, c) in table.chains().enumerate() {
            if let Some(b) = c.base {
                let ty: Arc<str> = match b.chain_type {
                    ChainType::Filter => "filter".into(),
                    ChainType::Nat => "nat".into(),
                };
                if let Some((_, v)) = hooks.iter_mut().find(|(h, _)| *h == b.hook) {
                    v.push((i as ChainIx, ty, b.priority));
                }
            }
        }
        let hooks = hooks
            .into_iter()
            .map(|(h, mut v)| {
                // Lower priority first; equal priorities in creation order.
                v.sort_by_key(|&(_, _, p)| p);
                (h, v.into_iter().map(|(c, t, _)| (c, t)).collect())
            })
            .collect();

        let mut local: Vec<IpNet> = settings
            .node
            .interface_addresses
            .iter()
            .map(|n| IpNet::from(n.addr()))
            .chain(settings.node.ips.iter().map(|ip| IpNet::from(*ip)))
            .collect();
        local.push("127.0.0.0/8".parse().expect("constant"));
        local.push("::1/128".parse().expect("constant"));
        let pod_iface = match &settings.local_detector {
            LocalDetector::BridgeInterface(b) => b.clone(),
            LocalDetector::InterfaceNamePrefix(p) => format!("{p}0"),
            _ => "cni0".into(),
        };
        Ok(NftTracer {
            family: table.family(),
            chains,
            hooks,
            sets,
            addr_maps,
            port_maps,
            local,
            node: settings.node.name.clone(),
            ip_family: settings.ip_family,
            pod_iface,
            settings: settings.clone(),
            forms: PublicForms::default(),
        })
    }

    /// Sets [`Outcome::cause`](super::Outcome::cause) on `result`'s drops and rejects from the
    /// plan of this tracer's node over `snapshot` (the snapshot the table was rendered from):
    /// for a caller that keeps a tracer and traces many packets.
    pub fn explain(&self, snapshot: &crate::snapshot::ProxySnapshot, result: &mut TraceResult) {
        super::cause::explain(
            snapshot,
            None,
            &self.settings,
            &result.packet,
            &mut result.outcomes,
        );
    }

    fn is_local(&self, ip: IpAddr) -> bool {
        self.local.iter().any(|n| n.contains(&ip))
    }

    fn base_chains(&self, hook: Hook) -> &[(ChainIx, Arc<str>)] {
        self.hooks
            .iter()
            .find(|(h, _)| *h == hook)
            .map_or(&[], |(_, v)| v.as_slice())
    }

    /// Traces one packet: every path, most likely first (equally likely paths in `numgen`
    /// order).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the packet is not of the table's family.
    pub fn trace(&self, packet: &Packet) -> Result<TraceResult> {
        if IpFamily::of(&packet.dst) != self.ip_family
            || IpFamily::of(&packet.src) != IpFamily::of(&packet.dst)
        {
            return Err(Error::InvalidArgument(format!(
                "packet {} -> {} is not {} traffic",
                packet.src,
                packet.dst,
                self.ip_family.as_str()
            )));
        }
        let iif = match (&packet.in_interface, packet.origin) {
            (_, Origin::Host) => None,
            (Some(i), _) => Some(i.as_str()),
            (None, Origin::LocalPod) => Some(self.pod_iface.as_str()),
            (None, _) => Some("eth0"),
        };
        let ctx = Ctx {
            src: packet.src,
            proto: proto_code(packet.protocol.lower()).unwrap_or(u8::MAX),
            iif,
            recent: &packet.recent,
        };
        let start = State {
            dst: packet.dst,
            dst_port: packet.dst_port,
            mark: 0,
            dnat: None,
            masquerade: false,
            why: None,
            steps: Vec::new(),
            prob: Prob::one(),
        };
        let mut done: Vec<Outcome> = Vec::new();
        let host = packet.origin == Origin::Host;
        let first = if host { Hook::Output } else { Hook::Prerouting };
        let mut out_states = Vec::new();
        for st in self.run_hook(&ctx, first, vec![start], &mut done) {
            if host {
                out_states.push(st);
            } else if self.is_local(st.dst) {
                // Delivered to the node: input, no postrouting.
                for st in self.run_hook(&ctx, Hook::Input, vec![st], &mut done) {
                    done.push(self.finish(st, None));
                }
            } else {
                out_states.extend(self.run_hook(&ctx, Hook::Forward, vec![st], &mut done));
            }
        }
        for st in self.run_hook(&ctx, Hook::Postrouting, out_states, &mut done) {
            done.push(self.finish(st, None));
        }
        // Most likely first; a stable sort keeps equally likely paths in numgen order.
        done.sort_by(|a, b| {
            b.probability
                .decimal
                .partial_cmp(&a.probability.decimal)
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        Ok(TraceResult {
            packet: packet.clone(),
            node: self.node.clone(),
            outcomes: done,
            warnings: Vec::new(),
            ipvs: None,
        })
    }

    /// Runs the base chains of `hook` by priority; returns the states that go on, and adds the
    /// dropped and rejected ones to `done`.
    fn run_hook(
        &self,
        ctx: &Ctx<'_>,
        hook: Hook,
        mut states: Vec<State>,
        done: &mut Vec<Outcome>,
    ) -> Vec<State> {
        for (c, ty) in self.base_chains(hook) {
            let mut next = Vec::with_capacity(states.len());
            for st in states {
                let mut ends = Vec::new();
                self.run_chain(ctx, ty, *c, 0, st, 0, &mut ends);
                for (st, flow) in ends {
                    match flow {
                        Flow::Continue | Flow::Accept => next.push(st),
                        Flow::Drop(reason) => {
                            done.push(self.finish(st, Some(Verdict::Drop { reason })))
                        }
                        Flow::Reject(reason) => {
                            let with = match self.family {
                                Family::Ip => "icmp port-unreachable",
                                Family::Ip6 => "icmpv6 port-unreachable",
                            };
                            done.push(self.finish(
                                st,
                                Some(Verdict::Reject {
                                    with: with.into(),
                                    reason,
                                }),
                            ));
                        }
                    }
                }
            }
            states = next;
        }
        states
    }

    /// Evaluates `chain` from rule `from`, adding every way it ends to `out`.
    #[allow(clippy::too_many_arguments)]
    fn run_chain(
        &self,
        ctx: &Ctx<'_>,
        ty: &Arc<str>,
        chain: ChainIx,
        from: usize,
        mut st: State,
        depth: usize,
        out: &mut Vec<(State, Flow)>,
    ) {
        let c = &self.chains[chain as usize];
        if depth > 64 {
            out.push((
                st,
                Flow::Drop(format!("chain nesting too deep at {}", c.name)),
            ));
            return;
        }
        'rules: for (i, r) in c.rules.iter().enumerate().skip(from) {
            let step = |e: &Said| e.step(ty, c, i, r);
            for op in &r.ops {
                let ok = match op {
                    Op::CtNew(new) => *new,
                    Op::Addr { src, negated, nets } => {
                        let a = if *src { ctx.src } else { st.dst };
                        nets.iter().any(|n| n.contains(&a)) != *negated
                    }
                    Op::InSet { src, set } => {
                        let a = if *src { ctx.src } else { st.dst };
                        self.sets[*set as usize].contains(&a)
                    }
                    Op::InDynamic { name } => ctx.recent.iter().any(|s| **s == **name),
                    Op::FibLocal { src } => self.is_local(if *src { ctx.src } else { st.dst }),
                    Op::Iif { negated, name } => {
                        let m = ctx.iif.is_some_and(|i| match name.strip_suffix('*') {
                            Some(prefix) => i.starts_with(prefix),
                            None => i == name,
                        });
                        m != *negated
                    }
                    Op::L4proto(p) => *p == ctx.proto,
                    Op::Dport { proto, port } => *proto == ctx.proto && *port == st.dst_port,
                    Op::MarkAnd {
                        mask,
                        value,
                        negated,
                    } => ((st.mark & mask) == *value) != *negated,
                    Op::MarkSet { or, value, effect } => {
                        st.mark = if *or {
                            st.mark | value
                        } else {
                            st.mark ^ value
                        };
                        st.steps.push(step(effect));
                        true
                    }
                    Op::Update(effect) => {
                        st.steps.push(step(effect));
                        true
                    }
                    Op::Masquerade(effect) => {
                        st.masquerade = true;
                        st.steps.push(step(effect));
                        out.push((st, Flow::Accept));
                        return;
                    }
                    Op::Dnat {
                        to,
                        ip,
                        port,
                        effect,
                    } => {
                        st.dst = *ip;
                        st.dst_port = *port;
                        st.dnat = Some((to.clone(), c.name.clone()));
                        st.steps.push(step(effect));
                        out.push((st, Flow::Accept));
                        return;
                    }
                    Op::Verdict(t, effect) => {
                        st.steps.push(step(effect));
                        return self.apply(ctx, ty, *t, r, chain, i, st, depth, out);
                    }
                    Op::DstVmap(m) => {
                        match self.addr_maps[*m as usize].get(&(st.dst, ctx.proto, st.dst_port)) {
                            None => continue 'rules,
                            Some(hit) => {
                                st.steps.push(step(&hit.effect));
                                if hit.comment.is_some() {
                                    st.why = hit.comment.clone();
                                }
                                return self
                                    .apply(ctx, ty, hit.target, r, chain, i, st, depth, out);
                            }
                        }
                    }
                    Op::PortVmap(m) => match self.port_maps[*m as usize]
                        .get(&(ctx.proto, st.dst_port))
                    {
                        None => continue 'rules,
                        Some(hit) => {
                            st.steps.push(step(&hit.effect));
                            if hit.comment.is_some() {
                                st.why = hit.comment.clone();
                            }
                            return self.apply(ctx, ty, hit.target, r, chain, i, st, depth, out);
                        }
                    },
                    Op::Numgen { modulus, map } => {
                        let mut missed = None;
                        for k in 0..*modulus {
                            let mut b = st.clone();
                            b.prob = st.prob.numgen(k, *modulus);
                            match map.iter().find(|(key, _, _)| *key == k) {
                                Some((_, t, eff)) => {
                                    b.steps.push(step(eff));
                                    self.apply(ctx, ty, *t, r, chain, i, b, depth, out);
                                }
                                // A value without an entry: the lookup fails and the rule does
                                // not match (kube-proxy's maps are always complete).
                                None => {
                                    missed.get_or_insert_with(Vec::new).push(b);
                                }
                            }
                        }
                        for b in missed.unwrap_or_default() {
                            self.run_chain(ctx, ty, chain, i + 1, b, depth, out);
                        }
                        return;
                    }
                };
                if !ok {
                    continue 'rules;
                }
            }
        }
        out.push((st, Flow::Continue));
    }

    /// Applies a verdict of rule `i` of `chain`.
    #[allow(clippy::too_many_arguments)]
    fn apply(
        &self,
        ctx: &Ctx<'_>,
        ty: &Arc<str>,
        t: Target,
        r: &CRule,
        chain: ChainIx,
        i: usize,
        st: State,
        depth: usize,
        out: &mut Vec<(State, Flow)>,
    ) {
        let reason = |st: &State, verb: &str| -> String {
            if let Some(c) = &r.comment {
                return c.to_string();
            }
            match (&st.why, verb) {
                (Some(w), "drop") => format!("{w} has no local endpoints"),
                (Some(w), _) => format!("{w} has no endpoints"),
                (None, _) => format!("{}: {}", self.chains[chain as usize].name, r.text),
            }
        };
        match t {
            Target::Accept => out.push((st, Flow::Accept)),
            Target::Return => out.push((st, Flow::Continue)),
            Target::Drop => {
                let why = reason(&st, "drop");
                out.push((st, Flow::Drop(why)));
            }
            Target::Reject => {
                let why = reason(&st, "reject");
                out.push((st, Flow::Reject(why)));
            }
            Target::Goto(c) => {
                // The called chain's end is this chain's end.
                self.run_chain(ctx, ty, c, 0, st, depth + 1, out);
            }
            Target::Jump(c) => {
                let mut ends = Vec::new();
                self.run_chain(ctx, ty, c, 0, st, depth + 1, &mut ends);
                for (s, flow) in ends {
                    match flow {
                        Flow::Continue => self.run_chain(ctx, ty, chain, i + 1, s, depth, out),
                        other => out.push((s, other)),
                    }
                }
            }
        }
    }
}

impl NftTracer {
    /// A finished path: `verdict` when dropped or rejected, else accepted (DNATed when a `dnat`
    /// applied).
    fn finish(&self, st: State, verdict: Option<Verdict>) -> Outcome {
        let verdict = verdict.unwrap_or_else(|| match &st.dnat {
            Some((endpoint, chain)) => Verdict::Dnat {
                endpoint: endpoint.to_string(),
                chain: chain.to_string(),
            },
            None => Verdict::Accept,
        });
        Outcome {
            probability: self.forms.public(&st.prob),
            verdict,
            masquerade: st.masquerade,
            steps: st.steps,
            cause: None,
        }
    }
}

/// Renders a cluster's nftables table for the settings' node and traces one packet through it
/// (see [`NftTracer`] to trace many).
///
/// # Example
/// ```
/// use svccore::render::iptables::ProxierSettings;
/// use svccore::trace::{trace_nftables, Origin, Packet, Verdict};
/// let cluster = svccore::load::load_strs([(None, r#"{"apiVersion":"v1","kind":"List","items":[
///  {"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"default"},
///   "spec":{"clusterIP":"10.96.0.10","ports":[{"port":80}]}}]}"#)]).unwrap();
/// let p = Packet::new("10.244.1.5".parse().unwrap(), "10.96.0.10".parse().unwrap(), 80, Origin::LocalPod);
/// let t = trace_nftables(&cluster, &ProxierSettings::default(), &p).unwrap();
/// assert!(matches!(&t.outcomes[0].verdict,
///     Verdict::Reject { reason, .. } if reason == "default/web has no endpoints"));
/// ```
pub fn trace_nftables(
    cluster: &crate::Cluster,
    settings: &ProxierSettings,
    packet: &Packet,
) -> Result<TraceResult> {
    // One snapshot for the table and the explanation.
    let (resolved, snap) = crate::render::nftables::resolve(cluster, settings)?;
    let table =
        crate::render::nftables::table_for_snapshot(&snap, &resolved, &resolved.node.context())?;
    let tracer = NftTracer::new(&table, &resolved)?;
    let mut t = tracer.trace(packet)?;
    tracer.explain(&snap, &mut t);
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::nftables::model::{BaseChain, Builder, Container, Sizes};

    const AFFINITY: &str = r#"{"apiVersion":"v1","kind":"List","items":[
      {"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"ns"},
       "spec":{"clusterIP":"10.96.0.10","ports":[{"name":"http","port":80}],
               "sessionAffinity":"ClientIP",
               "sessionAffinityConfig":{"clientIP":{"timeoutSeconds":60}}}},
      {"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice",
       "metadata":{"name":"web-1","namespace":"ns","labels":{"kubernetes.io/service-name":"web"}},
       "addressType":"IPv4","ports":[{"name":"http","port":8080}],
       "endpoints":[{"addresses":["10.1.0.1"]},{"addresses":["10.1.0.2"]},{"addresses":["10.1.0.3"]}]}]}"#;

    fn tracer(json: &str) -> (NftTracer, Table) {
        let cluster = crate::load::load_strs([(None, json)]).unwrap();
        let s = ProxierSettings::default().resolve(&cluster).unwrap();
        let t = crate::render::nftables::table(&cluster, &s).unwrap();
        (NftTracer::new(&t, &s).unwrap(), t)
    }

    fn pod_packet() -> Packet {
        Packet::new(
            "10.244.0.5".parse().unwrap(),
            "10.96.0.10".parse().unwrap(),
            80,
            Origin::LocalPod,
        )
    }

    #[test]
    fn numgen_paths_carry_the_kernels_exact_shares() {
        let (tr, _) = tracer(AFFINITY);
        let t = tr.trace(&pod_packet()).unwrap();
        let got: Vec<(&str, &str)> = t
            .outcomes
            .iter()
            .map(|o| match &o.verdict {
                Verdict::Dnat { endpoint, .. } => {
                    (endpoint.as_str(), o.probability.fraction.as_str())
                }
                v => panic!("{v:?}"),
            })
            .collect();
        assert_eq!(
            got,
            [
                ("10.1.0.1:8080", "715827883/2147483648"),
                ("10.1.0.2:8080", "1431655765/4294967296"),
                ("10.1.0.3:8080", "1431655765/4294967296"),
            ]
        );
        assert!(t.outcomes.iter().all(|o| o.probability.nominal == "1/3"));
        let sum: f64 = t.outcomes.iter().map(|o| o.probability.decimal).sum();
        assert!((sum - 1.0).abs() < 1e-15);
        // Every path refreshes the client's entry in the set of the endpoint it reached.
        for o in &t.outcomes {
            assert!(o
                .steps
                .iter()
                .any(|s| s.effect.starts_with("update @affinity-")));
        }
    }

    #[test]
    fn a_client_in_an_affinity_set_goes_to_its_endpoint() {
        let (tr, table) = tracer(AFFINITY);
        let set = table
            .sets()
            .map(|s| s.name)
            .find(|n| n.starts_with("affinity-") && n.ends_with("__10.1.0.2/8080"))
            .unwrap()
            .to_owned();
        let mut p = pod_packet();
        p.recent = vec![set.clone()];
        let t = tr.trace(&p).unwrap();
        assert_eq!(t.outcomes.len(), 1);
        let o = &t.outcomes[0];
        assert!(
            matches!(&o.verdict, Verdict::Dnat { endpoint, .. } if endpoint == "10.1.0.2:8080")
        );
        assert_eq!(o.probability.fraction, "1");
        assert!(o
            .steps
            .iter()
            .any(|s| *s.effect == *format!("client in @{set}: goto endpoint-{}", &set[9..])));
    }

    #[test]
    fn a_packet_of_the_other_family_is_refused() {
        let (tr, _) = tracer(AFFINITY);
        let p = Packet::new(
            "fd00::5".parse().unwrap(),
            "fd00::10".parse().unwrap(),
            80,
            Origin::LocalPod,
        );
        let e = tr.trace(&p).unwrap_err().to_string();
        assert!(e.contains("is not IPv4 traffic"), "{e}");
    }

    fn table_with_rule(text: &str) -> Table {
        let mut b = Builder::new(Family::Ip, Sizes::default());
        let base = BaseChain {
            chain_type: ChainType::Filter,
            hook: Hook::Input,
            priority: 0,
        };
        let c = b.add_chain("", "filter-input", Some(base), None);
        b.declarations_done();
        b.rule(c).s(text).end(Some("why it happens"));
        b.rule(c).s("ct state new accept").end(None);
        b.finish().unwrap()
    }

    #[test]
    fn a_rule_of_an_unknown_shape_is_refused_with_its_chain_and_position() {
        let s = ProxierSettings::default();
        let e = NftTracer::new(&table_with_rule("ip daddr 10.0.0.1 counter drop"), &s).unwrap_err();
        assert!(matches!(e, Error::Dump(_)));
        assert_eq!(
            e.to_string(),
            "cannot parse dump: chain filter-input rule 1: unknown nftables rule shape at \"counter\" in \"ip daddr 10.0.0.1 counter drop\""
        );
        let e = NftTracer::new(&table_with_rule("jump nowhere"), &s).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot parse dump: chain filter-input rule 1: no chain named \"nowhere\""
        );
        let e = NftTracer::new(&table_with_rule("ip saddr @nope drop"), &s).unwrap_err();
        assert!(e.to_string().ends_with("no set named \"nope\""), "{e}");
    }

    #[test]
    fn a_map_element_sending_to_a_missing_chain_is_refused_with_its_key() {
        let mut b = Builder::new(Family::Ip, Sizes::default());
        let m = b.add_map("service-ips", Family::Ip.addr_proto_port_type(), None);
        b.element(Container::Map(m))
            .ip(&"10.96.0.1".parse().unwrap())
            .part("tcp")
            .port(80)
            .verdict("goto nowhere");
        let t = b.finish().unwrap();
        let e = NftTracer::new(&t, &ProxierSettings::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot parse dump: element 10.96.0.1 . tcp . 80 of service-ips: no chain named \"nowhere\""
        );
    }

    #[test]
    fn a_rule_comment_is_the_reason_and_accept_ends_only_its_chain() {
        let s = ProxierSettings::default();
        let tr = NftTracer::new(&table_with_rule("ip saddr 10.0.0.0/8 reject"), &s).unwrap();
        let mut p = pod_packet();
        p.dst = "127.0.0.1".parse().unwrap();
        p.src = "10.1.2.3".parse().unwrap();
        let t = tr.trace(&p).unwrap();
        assert_eq!(
            t.outcomes[0].verdict,
            Verdict::Reject {
                with: "icmp port-unreachable".into(),
                reason: "why it happens".into()
            }
        );
        // Not from 10/8: the next rule accepts, and the packet is delivered untouched.
        p.src = "192.0.2.1".parse().unwrap();
        let t = tr.trace(&p).unwrap();
        assert_eq!(t.outcomes.len(), 1);
        assert_eq!(t.outcomes[0].verdict, Verdict::Accept);
        assert_eq!(&*t.outcomes[0].steps[0].effect, "accept");
    }
}
