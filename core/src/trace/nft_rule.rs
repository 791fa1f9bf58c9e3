//! The rule shapes kube-proxy's nftables proxier writes, read from rule text into expressions
//! the tracer evaluates ([`parse_rule`]).
//!
//! nft's grammar is large and context sensitive (`ip daddr` starts an address match, a set
//! lookup or a concatenation); this reader knows the expressions and statements kube-proxy
//! uses and nothing else, and refuses anything else with the word it stopped at, so a trace
//! never silently skips a rule it does not understand. Expressions are kept in rule order:
//! nft evaluates a rule left to right and stops at the first match that fails.

use std::net::IpAddr;

use ipnet::IpNet;

/// Where a verdict sends the packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Verb {
    /// `jump CHAIN`: run it, then go on with the next rule.
    Jump(String),
    /// `goto CHAIN`: run it instead of the rest of this chain.
    Goto(String),
    /// `return`.
    Return,
    /// `accept`.
    Accept,
    /// `drop`.
    Drop,
    /// `reject`.
    Reject,
}

impl Verb {
    /// Reads a verdict from its words (`goto X`, `drop`, ...).
    pub(crate) fn parse(words: &[&str]) -> Option<Verb> {
        Some(match words {
            ["jump", c] => Verb::Jump((*c).to_owned()),
            ["goto", c] => Verb::Goto((*c).to_owned()),
            ["return"] => Verb::Return,
            ["accept"] => Verb::Accept,
            ["drop"] => Verb::Drop,
            ["reject"] => Verb::Reject,
            _ => return None,
        })
    }
}

/// Which address of the packet a match reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    /// `saddr`.
    Src,
    /// `daddr`.
    Dst,
}

/// One expression or statement of a rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Expr {
    /// `ct state S[,S…]`: the first packet of a connection is `new`.
    CtState { new: bool },
    /// `ip daddr [!=] ADDR|CIDR`, `ip saddr != { A , B }`, `ip daddr { CIDR,CIDR }`.
    Addr {
        side: Side,
        negated: bool,
        nets: Vec<IpNet>,
    },
    /// `ip daddr @SET` / `ip saddr @SET` (a named set: static or an affinity set).
    InSet { side: Side, set: String },
    /// `fib daddr type local` / `fib saddr type local`.
    FibLocal { side: Side },
    /// `iif [!=] NAME` (a trailing `*` matches a prefix).
    Iif { negated: bool, name: String },
    /// `meta l4proto PROTO`.
    L4proto(String),
    /// `tcp dport N` (or udp/sctp).
    Dport { proto: String, port: u16 },
    /// `mark and MASK ==|!= VALUE`.
    MarkAnd {
        mask: u32,
        value: u32,
        negated: bool,
    },
    /// `mark set mark or M` / `mark set mark xor M`.
    MarkSet { or: bool, value: u32 },
    /// `ip daddr . meta l4proto . th dport vmap @MAP`.
    DstPortVmap(String),
    /// `meta l4proto . th dport vmap @MAP`.
    PortVmap(String),
    /// `numgen random mod N vmap { 0 : goto A , 1 : goto B … }`.
    Numgen { modulus: u32, map: Vec<(u32, Verb)> },
    /// `update @SET { ip saddr }`: the client's entry in an affinity set is added or refreshed.
    Update(String),
    /// `masquerade [fully-random]`.
    Masquerade,
    /// `dnat to ADDR:PORT`.
    Dnat { to: String, ip: IpAddr, port: u16 },
    /// A verdict.
    Verdict(Verb),
}

/// Splits rule text into words: blanks separate words, and `,` inside braces is a word of its
/// own (kube-proxy writes `{ 172.30.0.0/16,fd00::/112 }` as well as `{ a , b }`).
fn words(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for w in text.split_ascii_whitespace() {
        let mut rest = w;
        while let Some(k) = rest.find(',') {
            if k > 0 {
                out.push(&rest[..k]);
            }
            out.push(",");
            rest = &rest[k + 1..];
        }
        if !rest.is_empty() {
            out.push(rest);
        }
    }
    out
}

fn parse_net(s: &str) -> Option<IpNet> {
    s.parse::<IpNet>()
        .ok()
        .or_else(|| s.parse::<IpAddr>().ok().map(IpNet::from))
}

fn parse_hex(s: &str) -> Option<u32> {
    match s.strip_prefix("0x") {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// Reads one rule's text (without its comment) into its expressions, in order.
///
/// # Errors
/// The word where the text stops being a shape kube-proxy writes, and the rule.
pub(crate) fn parse_rule(text: &str) -> std::result::Result<Vec<Expr>, String> {
    let w = words(text);
    let mut i = 0;
    let mut out = Vec::new();
    let unknown = |at: usize| {
        Err(match w.get(at) {
            Some(word) => format!("unknown nftables rule shape at {word:?} in {text:?}"),
            None => format!("nftables rule {text:?} ends early"),
        })
    };
    while i < w.len() {
        let rest = &w[i..];
        let (expr, used) = match rest {
            ["ct", "state", ..] => {
                // `ct state new` or `ct state established,related`.
                let (mut n, mut new) = (2, false);
                loop {
                    match w.get(i + n) {
                        Some(&s) if CT_STATES.contains(&s) => {
                            new |= s == "new";
                            n += 1;
                            if w.get(i + n) != Some(&",") {
                                break;
                            }
                            n += 1;
                        }
                        _ => return unknown(i + n),
                    }
                }
                (Expr::CtState { new }, n)
            }
            [fam, "daddr", ".", "meta", "l4proto", ".", "th", "dport", "vmap", map, ..]
                if is_family(fam) =>
            {
                match map.strip_prefix('@') {
                    Some(m) => (Expr::DstPortVmap(m.to_owned()), 10),
                    None => return unknown(i + 9),
                }
            }
            ["meta", "l4proto", ".", "th", "dport", "vmap", map, ..] => {
                match map.strip_prefix('@') {
                    Some(m) => (Expr::PortVmap(m.to_owned()), 7),
                    None => return unknown(i + 6),
                }
            }
            [fam, dir, ..] if is_family(fam) && (*dir == "daddr" || *dir == "saddr") => {
                let side = if *dir == "daddr" {
                    Side::Dst
                } else {
                    Side::Src
                };
                let mut n = 2;
                let negated = w.get(i + n) == Some(&"!=");
                if negated {
                    n += 1;
                }
                match w.get(i + n) {
                    Some(s) if s.starts_with('@') && !negated => (
                        Expr::InSet {
                            side,
                            set: s[1..].to_owned(),
                        },
                        n + 1,
                    ),
                    Some(&"{") => {
                        let mut nets = Vec::new();
                        n += 1;
                        loop {
                            match w.get(i + n) {
                                Some(&"}") => break,
                                Some(&",") => {}
                                Some(s) => match parse_net(s) {
                                    Some(net) => nets.push(net),
                                    None => return unknown(i + n),
                                },
                                None => return unknown(i + n),
                            }
                            n += 1;
                        }
                        (
                            Expr::Addr {
                                side,
                                negated,
                                nets,
                            },
                            n + 1,
                        )
                    }
                    Some(s) => match parse_net(s) {
                        Some(net) => (
                            Expr::Addr {
                                side,
                                negated,
                                nets: vec![net],
                            },
                            n + 1,
                        ),
                        None => return unknown(i + n),
                    },
                    None => return unknown(i + n),
                }
            }
            ["fib", dir, "type", "local", ..] if *dir == "daddr" || *dir == "saddr" => {
                let side = if *dir == "daddr" {
                    Side::Dst
                } else {
                    Side::Src
                };
                (Expr::FibLocal { side }, 4)
            }
            ["iif", "!=", name, ..] => (
                Expr::Iif {
                    negated: true,
                    name: (*name).to_owned(),
                },
                3,
            ),
            ["iif", name, ..] => (
                Expr::Iif {
                    negated: false,
                    name: (*name).to_owned(),
                },
                2,
            ),
            ["meta", "l4proto", proto, ..] if is_proto(proto) => {
                (Expr::L4proto((*proto).to_owned()), 3)
            }
            [proto, "dport", port, ..] if is_proto(proto) => match port.parse() {
                Ok(p) => (
                    Expr::Dport {
                        proto: (*proto).to_owned(),
                        port: p,
                    },
                    3,
                ),
                Err(_) => return unknown(i + 2),
            },
            ["mark", "and", mask, op, value, ..] if *op == "==" || *op == "!=" => {
                match (parse_hex(mask), parse_hex(value)) {
                    (Some(mask), Some(value)) => (
                        Expr::MarkAnd {
                            mask,
                            value,
                            negated: *op == "!=",
                        },
                        5,
                    ),
                    _ => return unknown(i + 2),
                }
            }
            ["mark", "set", "mark", op, value, ..] if *op == "or" || *op == "xor" => {
                match parse_hex(value) {
                    Some(value) => (
                        Expr::MarkSet {
                            or: *op == "or",
                            value,
                        },
                        5,
                    ),
                    None => return unknown(i + 4),
                }
            }
            ["numgen", "random", "mod", n, "vmap", "{", ..] => {
                let Ok(modulus) = n.parse::<u32>() else {
                    return unknown(i + 3);
                };
                let mut map = Vec::new();
                let mut k = 6;
                loop {
                    match &w[(i + k).min(w.len())..] {
                        ["}", ..] => break,
                        [",", ..] => k += 1,
                        [key, ":", verb, chain, ..] => {
                            let (Ok(key), Some(j)) =
                                (key.parse::<u32>(), Verb::parse(&[verb, chain]))
                            else {
                                return unknown(i + k);
                            };
                            map.push((key, j));
                            k += 4;
                        }
                        _ => return unknown(i + k),
                    }
                }
                if modulus == 0 {
                    return unknown(i + 3);
                }
                (Expr::Numgen { modulus, map }, k + 1)
            }
            ["update", set, "{", fam, "saddr", "}", ..] if is_family(fam) => {
                match set.strip_prefix('@') {
                    Some(s) => (Expr::Update(s.to_owned()), 6),
                    None => return unknown(i + 1),
                }
            }
            ["masquerade", "fully-random", ..] => (Expr::Masquerade, 2),
            ["masquerade", ..] => (Expr::Masquerade, 1),
            ["dnat", "to", to, ..] => match crate::ip::split_host_port(to)
                .and_then(|(h, p)| Some((h.parse::<IpAddr>().ok()?, p.parse::<u16>().ok()?)))
            {
                Some((ip, port)) => (
                    Expr::Dnat {
                        to: (*to).to_owned(),
                        ip,
                        port,
                    },
                    3,
                ),
                None => return unknown(i + 2),
            },
            [verb, chain, ..] if *verb == "jump" || *verb == "goto" => (
                Expr::Verdict(Verb::parse(&[verb, chain]).expect("jump or goto")),
                2,
            ),
            [v, ..] => match Verb::parse(&[v]) {
                Some(j) => (Expr::Verdict(j), 1),
                None => return unknown(i),
            },
            [] => break,
        };
        out.push(expr);
        i += used;
    }
    // A verdict ends a rule: nothing may follow it.
    if let Some(k) = out.iter().position(|e| {
        matches!(
            e,
            Expr::Verdict(_) | Expr::DstPortVmap(_) | Expr::PortVmap(_) | Expr::Numgen { .. }
        )
    }) {
        if k + 1 != out.len() {
            return Err(format!(
                "nftables rule {text:?} has words after its verdict"
            ));
        }
    }
    if out.is_empty() {
        return Err(format!("nftables rule {text:?} is empty"));
    }
    Ok(out)
}

/// The conntrack states nft names.
const CT_STATES: [&str; 5] = ["new", "established", "related", "invalid", "untracked"];

fn is_family(s: &str) -> bool {
    s == "ip" || s == "ip6"
}

fn is_proto(s: &str) -> bool {
    matches!(s, "tcp" | "udp" | "sctp")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        parse_net(s).unwrap()
    }

    #[test]
    fn reads_every_shape_kube_proxy_writes() {
        use Expr::*;
        let cases: Vec<(&str, Vec<Expr>)> = vec![
            (
                "ct state new jump firewall-check",
                vec![CtState { new: true }, Verdict(Verb::Jump("firewall-check".into()))],
            ),
            (
                "ip daddr . meta l4proto . th dport vmap @service-ips",
                vec![DstPortVmap("service-ips".into())],
            ),
            (
                "ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports",
                vec![
                    InSet { side: Side::Dst, set: "nodeport-ips".into() },
                    PortVmap("service-nodeports".into()),
                ],
            ),
            (
                "fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports",
                vec![
                    FibLocal { side: Side::Dst },
                    Addr { side: Side::Dst, negated: true, nets: vec![net("127.0.0.0/8")] },
                    PortVmap("service-nodeports".into()),
                ],
            ),
            (
                "ip daddr @cluster-ips reject",
                vec![InSet { side: Side::Dst, set: "cluster-ips".into() }, Verdict(Verb::Reject)],
            ),
            (
                "ip daddr { 172.30.0.0/16,10.96.0.0/12 } drop",
                vec![
                    Addr { side: Side::Dst, negated: false, nets: vec![net("172.30.0.0/16"), net("10.96.0.0/12")] },
                    Verdict(Verb::Drop),
                ],
            ),
            (
                "ip saddr != { 203.0.113.0/25 , 1.2.3.4 } drop",
                vec![
                    Addr { side: Side::Src, negated: true, nets: vec![net("203.0.113.0/25"), net("1.2.3.4/32")] },
                    Verdict(Verb::Drop),
                ],
            ),
            (
                "ip daddr 172.30.0.41 ip saddr != 10.0.0.0/8 jump mark-for-masquerade",
                vec![
                    Addr { side: Side::Dst, negated: false, nets: vec![net("172.30.0.41/32")] },
                    Addr { side: Side::Src, negated: true, nets: vec![net("10.0.0.0/8")] },
                    Verdict(Verb::Jump("mark-for-masquerade".into())),
                ],
            ),
            (
                "iif != cni* jump mark-for-masquerade",
                vec![
                    Iif { negated: true, name: "cni*".into() },
                    Verdict(Verb::Jump("mark-for-masquerade".into())),
                ],
            ),
            (
                "fib saddr type local goto service-X",
                vec![FibLocal { side: Side::Src }, Verdict(Verb::Goto("service-X".into()))],
            ),
            ("mark set mark or 0x4000", vec![MarkSet { or: true, value: 0x4000 }]),
            (
                "mark and 0x4000 == 0 return",
                vec![MarkAnd { mask: 0x4000, value: 0, negated: false }, Verdict(Verb::Return)],
            ),
            ("masquerade fully-random", vec![Masquerade]),
            (
                "numgen random mod 2 vmap { 0 : goto endpoint-A , 1 : goto endpoint-B }",
                vec![Numgen {
                    modulus: 2,
                    map: vec![(0, Verb::Goto("endpoint-A".into())), (1, Verb::Goto("endpoint-B".into()))],
                }],
            ),
            (
                "ip6 saddr @affinity-X goto endpoint-X",
                vec![
                    InSet { side: Side::Src, set: "affinity-X".into() },
                    Verdict(Verb::Goto("endpoint-X".into())),
                ],
            ),
            ("update @affinity-X { ip saddr }", vec![Update("affinity-X".into())]),
            (
                "meta l4proto tcp dnat to [fd00::1]:80",
                vec![
                    L4proto("tcp".into()),
                    Dnat { to: "[fd00::1]:80".into(), ip: "fd00::1".parse().unwrap(), port: 80 },
                ],
            ),
            (
                "ip daddr 172.30.0.41 tcp dport 80 jump mark-for-masquerade",
                vec![
                    Addr { side: Side::Dst, negated: false, nets: vec![net("172.30.0.41/32")] },
                    Dport { proto: "tcp".into(), port: 80 },
                    Verdict(Verb::Jump("mark-for-masquerade".into())),
                ],
            ),
        ];
        for (text, want) in cases {
            assert_eq!(parse_rule(text).unwrap(), want, "{text}");
        }
    }

    #[test]
    fn refuses_shapes_it_does_not_know() {
        for (text, word) in [
            ("ip daddr 10.0.0.1 counter drop", "\"counter\""),
            ("tcp flags syn drop", "\"tcp\""),
            ("meta l4proto tcp dnat to somewhere", "\"somewhere\""),
            ("numgen inc mod 2 vmap { 0 : goto a }", "\"numgen\""),
            ("ip daddr 10.0.0.300 drop", "\"10.0.0.300\""),
            ("ct state bogus drop", "\"bogus\""),
        ] {
            let e = parse_rule(text).unwrap_err();
            assert!(e.contains(word) && e.contains(text), "{text}: {e}");
        }
        assert!(parse_rule("drop accept")
            .unwrap_err()
            .contains("after its verdict"));
    }
}
