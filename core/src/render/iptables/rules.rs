//! A rule model for iptables dumps: parses `iptables-restore` input and `iptables-save` output
//! (kube-proxy's modules and targets understood, anything else kept as words) and prints rules
//! back the way `iptables-save` does.
//!
//! Used by the `save` form (re-serialisation, spec: kube-proxy-iptables.md §4.3), by
//! [`crate::trace`] (evaluation) and by [`crate::audit`] (comparison).

use std::fmt::Write as _;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::{Error, Issue, Result};

/// An address match (`[!] -s/-d addr[/len]`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct AddrMatch {
    /// `!` given.
    pub negated: bool,
    /// The network (a bare address is a /32 or /128).
    #[serde(serialize_with = "ser_display")]
    pub net: IpNet,
}

fn ser_display<T: std::fmt::Display, S: serde::Serializer>(
    v: &T,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(v)
}

/// A `[!] value` option (interface names, protocol, addrtype, ports).
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Opt {
    /// `!` given.
    pub negated: bool,
    /// The value as written.
    pub value: String,
}

/// `-m recent` action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum RecentAction {
    /// `--set`.
    Set,
    /// `--rcheck`.
    Rcheck,
    /// `--update`.
    Update,
    /// `--remove`.
    Remove,
}

/// A match module with its options.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(tag = "module", rename_all = "lowercase")]
pub enum Match {
    /// `-m comment --comment TEXT` (the text without quotes).
    Comment {
        /// The comment.
        text: String,
    },
    /// `-m tcp|udp|sctp [[!] --sport P] [[!] --dport P]`.
    Port {
        /// `tcp`, `udp` or `sctp`.
        proto: String,
        /// `--sport`.
        sport: Option<Opt>,
        /// `--dport`.
        dport: Option<Opt>,
    },
    /// `-m addrtype [[!] --src-type T] [[!] --dst-type T]`.
    Addrtype {
        /// `--src-type`.
        src_type: Option<Opt>,
        /// `--dst-type`.
        dst_type: Option<Opt>,
    },
    /// `-m conntrack [!] --ctstate S,…`.
    Conntrack {
        /// `!` given.
        negated: bool,
        /// States in iptables' print order.
        states: Vec<String>,
    },
    /// `-m mark [!] --mark value[/mask]`.
    Mark {
        /// `!` given.
        negated: bool,
        /// Value.
        value: u32,
        /// Mask (0xffffffff when absent).
        mask: u32,
    },
    /// `-m statistic --mode random --probability P`, stored as the kernel's threshold
    /// `lround(P * 2^31)`.
    Statistic {
        /// The kernel threshold: matches when `(random & 0x7fffffff) < threshold`.
        threshold: u32,
        /// The probability text as written (kube-proxy's 10 or iptables-save's 11 decimals).
        text: String,
    },
    /// `-m recent`.
    Recent {
        /// The action.
        action: RecentAction,
        /// `--name`.
        name: String,
        /// `--seconds`.
        seconds: Option<u32>,
        /// `--reap`.
        reap: bool,
        /// `--rdest` (else `--rsource`, the default).
        rdest: bool,
    },
    /// `-m nfacct --nfacct-name NAME`.
    Nfacct {
        /// The counter.
        name: String,
    },
    /// Any other module, its option words as written.
    Other {
        /// Module name.
        name: String,
        /// Option words.
        args: Vec<String>,
    },
}

/// A rule target.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Target {
    /// No `-j` (kube-proxy's comment-only FW rule): the rule only counts.
    None,
    /// A jump to a chain or a simple verdict (`ACCEPT`, `DROP`, `RETURN`).
    Jump {
        /// Chain or verdict.
        chain: String,
    },
    /// `REJECT [--reject-with T]` (the default type filled in).
    Reject {
        /// The ICMP type.
        with: String,
    },
    /// `MARK` in `--set-xmark value/mask` form (`--or-mark M` = `M/M`, `--xor-mark M` = `M/0`).
    Mark {
        /// XOR value.
        value: u32,
        /// Bits cleared first.
        mask: u32,
    },
    /// `MASQUERADE [--random-fully]` (other options kept as words).
    Masquerade {
        /// `--random-fully`.
        random_fully: bool,
        /// Other options.
        args: Vec<String>,
    },
    /// `DNAT --to-destination X`.
    Dnat {
        /// `ip:port` or `[ip]:port`.
        to: String,
    },
    /// Any other target, with its option words.
    Other {
        /// Target name.
        name: String,
        /// Option words.
        args: Vec<String>,
    },
}

/// One rule of a chain.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Rule {
    /// The chain it is in.
    pub chain: String,
    /// `-s`.
    pub src: Option<AddrMatch>,
    /// `-d`.
    pub dst: Option<AddrMatch>,
    /// `-i`.
    pub in_iface: Option<Opt>,
    /// `-o`.
    pub out_iface: Option<Opt>,
    /// `-p`.
    pub proto: Option<Opt>,
    /// Matches in the order given.
    pub matches: Vec<Match>,
    /// The target.
    pub target: Target,
}

impl Rule {
    /// The comment text, if the rule has one.
    pub fn comment(&self) -> Option<&str> {
        self.matches.iter().find_map(|m| match m {
            Match::Comment { text } => Some(text.as_str()),
            _ => None,
        })
    }

    /// The chain this rule jumps to, if any.
    pub fn jump(&self) -> Option<&str> {
        match &self.target {
            Target::Jump { chain } => Some(chain),
            _ => None,
        }
    }

    /// The rule as `iptables-save` prints it (without the leading `-A chain`'s counters).
    pub fn to_save(&self, opts: &SaveStyle) -> String {
        let mut o = String::with_capacity(160);
        o.push_str("-A ");
        o.push_str(&self.chain);
        let addr = |o: &mut String, flag: &str, a: &Option<AddrMatch>| {
            if let Some(a) = a {
                if a.negated {
                    o.push_str(" !");
                }
                let _ = write!(o, " {flag} {}", a.net);
            }
        };
        let opt = |o: &mut String, flag: &str, a: &Option<Opt>| {
            if let Some(a) = a {
                if a.negated {
                    o.push_str(" !");
                }
                let _ = write!(o, " {flag} {}", a.value);
            }
        };
        addr(&mut o, "-s", &self.src);
        addr(&mut o, "-d", &self.dst);
        opt(&mut o, "-i", &self.in_iface);
        opt(&mut o, "-o", &self.out_iface);
        opt(&mut o, "-p", &self.proto);
        let v6 = matches!(self.src.as_ref().or(self.dst.as_ref()), Some(a) if a.net.addr().is_ipv6())
            || opts.ipv6;
        for m in &self.matches {
            match m {
                Match::Comment { text } => {
                    o.push_str(" -m comment --comment ");
                    save_string(&mut o, text);
                }
                Match::Port {
                    proto,
                    sport,
                    dport,
                } => {
                    let _ = write!(o, " -m {proto}");
                    opt(&mut o, "--sport", sport);
                    opt(&mut o, "--dport", dport);
                }
                Match::Addrtype { src_type, dst_type } => {
                    o.push_str(" -m addrtype");
                    opt(&mut o, "--src-type", src_type);
                    opt(&mut o, "--dst-type", dst_type);
                }
                Match::Conntrack { negated, states } => {
                    o.push_str(" -m conntrack");
                    if *negated {
                        o.push_str(" !");
                    }
                    let _ = write!(o, " --ctstate {}", states.join(","));
                }
                Match::Mark {
                    negated,
                    value,
                    mask,
                } => {
                    o.push_str(" -m mark");
                    if *negated {
                        o.push_str(" !");
                    }
                    if *mask == u32::MAX {
                        let _ = write!(o, " --mark 0x{value:x}");
                    } else {
                        let _ = write!(o, " --mark 0x{value:x}/0x{mask:x}");
                    }
                }
                Match::Statistic { threshold, .. } => {
                    let _ = write!(
                        o,
                        " -m statistic --mode random --probability {:.11}",
                        f64::from(*threshold) / 2147483648.0
                    );
                }
                Match::Recent {
                    action,
                    name,
                    seconds,
                    reap,
                    rdest,
                } => {
                    o.push_str(" -m recent ");
                    o.push_str(match action {
                        RecentAction::Set => "--set",
                        RecentAction::Rcheck => "--rcheck",
                        RecentAction::Update => "--update",
                        RecentAction::Remove => "--remove",
                    });
                    if let Some(s) = seconds {
                        let _ = write!(o, " --seconds {s}");
                    }
                    if *reap {
                        o.push_str(" --reap");
                    }
                    let _ = write!(o, " --name {name}");
                    if opts.recent_mask {
                        o.push_str(if v6 {
                            " --mask ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
                        } else {
                            " --mask 255.255.255.255"
                        });
                    }
                    o.push_str(if *rdest { " --rdest" } else { " --rsource" });
                }
                Match::Nfacct { name } => {
                    let _ = write!(o, " -m nfacct --nfacct-name {name}");
                }
                Match::Other { name, args } => {
                    let _ = write!(o, " -m {name}");
                    for a in args {
                        o.push(' ');
                        o.push_str(a);
                    }
                }
            }
        }
        match &self.target {
            Target::None => {}
            Target::Jump { chain } => {
                let _ = write!(o, " -j {chain}");
            }
            Target::Reject { with } => {
                let _ = write!(o, " -j REJECT --reject-with {with}");
            }
            Target::Mark { value, mask } => {
                let _ = write!(o, " -j MARK --set-xmark 0x{value:x}/0x{mask:x}");
            }
            Target::Masquerade { random_fully, args } => {
                o.push_str(" -j MASQUERADE");
                for a in args {
                    o.push(' ');
                    o.push_str(a);
                }
                if *random_fully {
                    o.push_str(" --random-fully");
                }
            }
            Target::Dnat { to } => {
                let _ = write!(o, " -j DNAT --to-destination {to}");
            }
            Target::Other { name, args } => {
                let _ = write!(o, " -j {name}");
                for a in args {
                    o.push(' ');
                    o.push_str(a);
                }
            }
        }
        o
    }
}

/// Details of `iptables-save`'s printing that depend on the iptables version.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SaveStyle {
    /// Print `--mask 255.255.255.255` in `-m recent` (iptables ≤ 1.8.9, e.g. Debian 12; dropped
    /// by the October 2022 "Do not print all-one's netmasks" change in later releases).
    pub recent_mask: bool,
    /// The rules are IPv6 (`ip6tables-save`): all-ones mask and REJECT default differ.
    pub ipv6: bool,
}

impl Default for SaveStyle {
    fn default() -> Self {
        SaveStyle {
            recent_mask: true,
            ipv6: false,
        }
    }
}

/// libxtables' `xtables_save_string`: bare if made of `[A-Za-z0-9_-]`, else quoted with `"`,
/// `\` and `'` escaped.
fn save_string(o: &mut String, s: &str) {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        o.push_str(s);
        return;
    }
    o.push('"');
    for c in s.chars() {
        if matches!(c, '"' | '\\' | '\'') {
            o.push('\\');
        }
        o.push(c);
    }
    o.push('"');
}

/// Splits a rule line into words: double-quoted words (with backslash escapes) become one word
/// without their quotes.
pub fn split_words(line: &str) -> std::result::Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            chars.next();
        }
        let Some(&c) = chars.peek() else { break };
        let mut w = String::new();
        if c == '"' {
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            w.push(n);
                        }
                    }
                    '"' => {
                        closed = true;
                        break;
                    }
                    c => w.push(c),
                }
            }
            if !closed {
                return Err("unterminated quote".into());
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_ascii_whitespace() {
                    break;
                }
                w.push(c);
                chars.next();
            }
        }
        out.push(w);
    }
    Ok(out)
}

fn parse_addr(s: &str) -> Option<IpNet> {
    if let Ok(n) = s.parse::<IpNet>() {
        return Some(n.trunc());
    }
    s.parse::<IpAddr>().ok().map(IpNet::from)
}

fn parse_u32(s: &str) -> Option<u32> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

fn parse_mark(s: &str) -> Option<(u32, Option<u32>)> {
    match s.split_once('/') {
        Some((v, m)) => Some((parse_u32(v)?, Some(parse_u32(m)?))),
        None => Some((parse_u32(s)?, None)),
    }
}

/// The kernel threshold for a printed probability: `lround(p * 2^31)` (iptables' libxt_statistic).
pub fn probability_threshold(p: f64) -> u32 {
    (p * 2147483648.0).round().clamp(0.0, 2147483648.0) as u32
}

const CT_ORDER: [&str; 7] = [
    "INVALID",
    "NEW",
    "RELATED",
    "ESTABLISHED",
    "UNTRACKED",
    "SNAT",
    "DNAT",
];

/// Parses the words after `-A CHAIN` (or a whole rule's words after the chain).
pub fn parse_rule(chain: &str, words: &[String], ipv6: bool) -> std::result::Result<Rule, String> {
    let mut r = Rule {
        chain: chain.to_owned(),
        src: None,
        dst: None,
        in_iface: None,
        out_iface: None,
        proto: None,
        matches: Vec::new(),
        target: Target::None,
    };
    let mut i = 0;
    let mut neg = false;
    // The module (index into r.matches) that `--options` attach to, or the target.
    let mut in_target = false;
    let mut target_name: Option<String> = None;
    let mut target_args: Vec<String> = Vec::new();
    let need = |i: usize, w: &str| -> std::result::Result<String, String> {
        words
            .get(i + 1)
            .cloned()
            .ok_or_else(|| format!("{w} needs a value"))
    };
    while i < words.len() {
        let w = words[i].as_str();
        if in_target {
            target_args.push(w.to_owned());
            i += 1;
            continue;
        }
        match w {
            "!" => {
                neg = true;
                i += 1;
                continue;
            }
            "-s" | "--source" | "-d" | "--destination" => {
                let v = need(i, w)?;
                let net = parse_addr(&v).ok_or_else(|| format!("{v:?} is not an address"))?;
                let a = Some(AddrMatch { negated: neg, net });
                if w.starts_with("-s") || w == "--source" {
                    r.src = a;
                } else {
                    r.dst = a;
                }
                i += 2;
            }
            "-i" | "--in-interface" | "-o" | "--out-interface" | "-p" | "--protocol" => {
                let v = need(i, w)?;
                let o = Some(Opt {
                    negated: neg,
                    value: v,
                });
                match w {
                    "-i" | "--in-interface" => r.in_iface = o,
                    "-o" | "--out-interface" => r.out_iface = o,
                    _ => r.proto = o,
                }
                i += 2;
            }
            "-m" | "--match" => {
                let m = need(i, w)?;
                r.matches.push(match m.as_str() {
                    "comment" => Match::Comment {
                        text: String::new(),
                    },
                    "tcp" | "udp" | "sctp" => Match::Port {
                        proto: m,
                        sport: None,
                        dport: None,
                    },
                    "addrtype" => Match::Addrtype {
                        src_type: None,
                        dst_type: None,
                    },
                    "conntrack" => Match::Conntrack {
                        negated: false,
                        states: Vec::new(),
                    },
                    "mark" => Match::Mark {
                        negated: false,
                        value: 0,
                        mask: u32::MAX,
                    },
                    "statistic" => Match::Statistic {
                        threshold: 0,
                        text: String::new(),
                    },
                    "recent" => Match::Recent {
                        action: RecentAction::Set,
                        name: "DEFAULT".into(),
                        seconds: None,
                        reap: false,
                        rdest: false,
                    },
                    "nfacct" => Match::Nfacct {
                        name: String::new(),
                    },
                    _ => Match::Other {
                        name: m,
                        args: Vec::new(),
                    },
                });
                i += 2;
            }
            "-j" | "--jump" | "-g" | "--goto" => {
                target_name = Some(need(i, w)?);
                in_target = true;
                i += 2;
            }
            _ if w.starts_with("--") => {
                let Some(m) = r.matches.last_mut() else {
                    return Err(format!("option {w} outside a match"));
                };
                i = parse_match_opt(m, words, i, neg)?;
            }
            _ => return Err(format!("unexpected word {w:?}")),
        }
        neg = false;
    }
    if let Some(t) = target_name {
        r.target = parse_target(t, target_args, ipv6)?;
    }
    Ok(r)
}

fn parse_match_opt(
    m: &mut Match,
    words: &[String],
    i: usize,
    neg: bool,
) -> std::result::Result<usize, String> {
    let w = words[i].as_str();
    let val = || {
        words
            .get(i + 1)
            .cloned()
            .ok_or_else(|| format!("{w} needs a value"))
    };
    let opt = |v: String| {
        Some(Opt {
            negated: neg,
            value: v,
        })
    };
    match m {
        Match::Comment { text } if w == "--comment" => {
            *text = val()?;
            Ok(i + 2)
        }
        Match::Port { sport, dport, .. }
            if matches!(
                w,
                "--dport" | "--sport" | "--destination-port" | "--source-port"
            ) =>
        {
            let v = val()?;
            if w.starts_with("--d") {
                *dport = opt(v);
            } else {
                *sport = opt(v);
            }
            Ok(i + 2)
        }
        Match::Addrtype { src_type, dst_type } if matches!(w, "--src-type" | "--dst-type") => {
            let v = val()?;
            if w == "--src-type" {
                *src_type = opt(v);
            } else {
                *dst_type = opt(v);
            }
            Ok(i + 2)
        }
        Match::Conntrack { negated, states } if w == "--ctstate" => {
            let v = val()?;
            let given: Vec<&str> = v.split(',').collect();
            *states = CT_ORDER
                .iter()
                .filter(|s| given.contains(s))
                .map(|s| s.to_string())
                .collect();
            if states.len() != given.len() {
                return Err(format!("unknown conntrack state in {v:?}"));
            }
            *negated = neg;
            Ok(i + 2)
        }
        Match::Mark {
            negated,
            value,
            mask,
        } if w == "--mark" => {
            let v = val()?;
            let (a, b) = parse_mark(&v).ok_or_else(|| format!("{v:?} is not a mark"))?;
            *value = a;
            *mask = b.unwrap_or(u32::MAX);
            *negated = neg;
            Ok(i + 2)
        }
        Match::Statistic { threshold, text } if matches!(w, "--mode" | "--probability") => {
            let v = val()?;
            if w == "--mode" {
                if v != "random" {
                    return Err(format!("statistic mode {v:?} is not modelled"));
                }
            } else {
                let p: f64 = v
                    .parse()
                    .map_err(|_| format!("{v:?} is not a probability"))?;
                *threshold = probability_threshold(p);
                *text = v;
            }
            Ok(i + 2)
        }
        Match::Recent {
            action,
            name,
            seconds,
            reap,
            rdest,
        } => match w {
            "--set" | "--rcheck" | "--update" | "--remove" => {
                *action = match w {
                    "--set" => RecentAction::Set,
                    "--rcheck" => RecentAction::Rcheck,
                    "--update" => RecentAction::Update,
                    _ => RecentAction::Remove,
                };
                Ok(i + 1)
            }
            "--name" => {
                *name = val()?;
                Ok(i + 2)
            }
            "--seconds" => {
                let v = val()?;
                *seconds = Some(v.parse().map_err(|_| format!("{v:?} is not seconds"))?);
                Ok(i + 2)
            }
            "--reap" => {
                *reap = true;
                Ok(i + 1)
            }
            "--rsource" => {
                *rdest = false;
                Ok(i + 1)
            }
            "--rdest" => {
                *rdest = true;
                Ok(i + 1)
            }
            // The mask is all ones in everything kube-proxy writes; printing is a SaveStyle.
            "--mask" => Ok(i + 2),
            _ => Err(format!("recent option {w} is not modelled")),
        },
        Match::Nfacct { name } if w == "--nfacct-name" => {
            *name = val()?;
            Ok(i + 2)
        }
        Match::Other { args, .. } => {
            if neg {
                args.push("!".into());
            }
            args.push(w.to_owned());
            // Option values: every following word up to the next option or `!`/`-m`/`-j`.
            let mut j = i + 1;
            while j < words.len() && !words[j].starts_with('-') && words[j] != "!" {
                args.push(words[j].clone());
                j += 1;
            }
            Ok(j)
        }
        _ => Err(format!("option {w} does not belong to the preceding match")),
    }
}

fn parse_target(
    name: String,
    args: Vec<String>,
    ipv6: bool,
) -> std::result::Result<Target, String> {
    let arg = |flag: &str| -> Option<&String> {
        args.iter()
            .position(|a| a == flag)
            .and_then(|p| args.get(p + 1))
    };
    Ok(match name.as_str() {
        "REJECT" => Target::Reject {
            with: arg("--reject-with").cloned().unwrap_or_else(|| {
                if ipv6 {
                    "icmp6-port-unreachable".into()
                } else {
                    "icmp-port-unreachable".into()
                }
            }),
        },
        "MARK" => {
            let (flag, v) = (args.first().map(String::as_str), args.get(1));
            let v = v.ok_or("MARK needs an option")?;
            let (val, mask) = parse_mark(v).ok_or_else(|| format!("{v:?} is not a mark"))?;
            let (value, mask) = match flag {
                Some("--set-xmark") => (val, mask.unwrap_or(u32::MAX)),
                Some("--set-mark") => {
                    let m = mask.unwrap_or(u32::MAX);
                    (val, m | val)
                }
                Some("--or-mark") => (val, val),
                Some("--xor-mark") => (val, 0),
                Some("--and-mark") => (0, !val),
                _ => return Err(format!("MARK option {flag:?} is not modelled")),
            };
            if args.len() != 2 {
                return Err("MARK takes one option".into());
            }
            Target::Mark { value, mask }
        }
        "MASQUERADE" => Target::Masquerade {
            random_fully: args.iter().any(|a| a == "--random-fully"),
            args: args
                .iter()
                .filter(|a| *a != "--random-fully")
                .cloned()
                .collect(),
        },
        "DNAT" if args.len() == 2 && args[0] == "--to-destination" => Target::Dnat {
            to: args[1].clone(),
        },
        _ if args.is_empty() => Target::Jump { chain: name },
        _ => Target::Other { name, args },
    })
}

/// A chain declaration (`:NAME POLICY [packets:bytes]`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ChainDecl {
    /// Chain name.
    pub name: String,
    /// `ACCEPT`/`DROP` for built-in chains, `-` for user chains.
    pub policy: String,
}

/// One table of a dump.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Table {
    /// `filter`, `nat`, ...
    pub name: String,
    /// Declared chains, in dump order.
    pub chains: Vec<ChainDecl>,
    /// Rules, in dump order (per chain order is what matters).
    pub rules: Vec<Rule>,
    /// `-X` lines.
    pub deleted: Vec<String>,
}

impl Table {
    /// The rules of one chain, in order.
    pub fn chain_rules<'a>(&'a self, chain: &'a str) -> impl Iterator<Item = &'a Rule> + 'a {
        self.rules.iter().filter(move |r| r.chain == chain)
    }

    /// Whether a chain is declared.
    pub fn has_chain(&self, chain: &str) -> bool {
        self.chains.iter().any(|c| c.name == chain)
    }
}

/// A parsed dump: `iptables-restore` input or `iptables-save` output.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Dump {
    /// Tables in dump order.
    pub tables: Vec<Table>,
}

impl Dump {
    /// Parses a dump. Comments, blank lines and `[packets:bytes]` counters are ignored; `-I` is
    /// applied as an insertion. `ipv6` selects the REJECT default. Errors are [`Error::Dump`]
    /// with `line N`.
    pub fn parse(text: &str, file: Option<&str>, ipv6: bool) -> Result<Dump> {
        let mut d = Dump::default();
        let err = |n: usize, m: String| Error::Dump(Issue::new(file, format!("line {n}"), m));
        let mut cur: Option<Table> = None;
        // Declared chains of the current table (a dump can declare 100k+ chains).
        let mut declared: std::collections::HashSet<String> = std::collections::HashSet::new();
        for (k, raw) in text.lines().enumerate() {
            let n = k + 1;
            let mut line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(name) = line.strip_prefix('*') {
                if cur.is_some() {
                    return Err(err(n, "table started before COMMIT".into()));
                }
                cur = Some(Table {
                    name: name.to_owned(),
                    ..Table::default()
                });
                declared.clear();
                continue;
            }
            let Some(t) = cur.as_mut() else {
                return Err(err(n, format!("{line:?} outside a table")));
            };
            if line == "COMMIT" {
                d.tables.push(cur.take().expect("checked"));
                continue;
            }
            if let Some(decl) = line.strip_prefix(':') {
                let mut it = decl.split_whitespace();
                let name = it.next().unwrap_or("").to_owned();
                let policy = it.next().unwrap_or("-").to_owned();
                if name.is_empty() {
                    return Err(err(n, "empty chain name".into()));
                }
                if declared.insert(name.clone()) {
                    t.chains.push(ChainDecl { name, policy });
                }
                continue;
            }
            // `iptables-save -c`: "[pkts:bytes] -A ...".
            if line.starts_with('[') {
                if let Some(p) = line.find(']') {
                    line = line[p + 1..].trim_start();
                }
            }
            let words = split_words(line).map_err(|m| err(n, m))?;
            let (op, chain) = match (words.first(), words.get(1)) {
                (Some(op), Some(c)) => (op.as_str(), c.clone()),
                _ => return Err(err(n, format!("cannot parse {line:?}"))),
            };
            match op {
                "-A" | "--append" => {
                    let r = parse_rule(&chain, &words[2..], ipv6).map_err(|m| err(n, m))?;
                    t.rules.push(r);
                }
                "-I" | "--insert" => {
                    let (pos, rest) = match words.get(2).and_then(|w| w.parse::<usize>().ok()) {
                        Some(p) => (p.max(1), &words[3..]),
                        None => (1, &words[2..]),
                    };
                    let r = parse_rule(&chain, rest, ipv6).map_err(|m| err(n, m))?;
                    // Insert before the pos-th rule of that chain.
                    let idx = t
                        .rules
                        .iter()
                        .enumerate()
                        .filter(|(_, x)| x.chain == chain)
                        .nth(pos - 1)
                        .map(|(i, _)| i)
                        .unwrap_or(t.rules.len());
                    t.rules.insert(idx, r);
                }
                "-X" | "--delete-chain" => t.deleted.push(chain),
                "-F" | "--flush" => t.rules.retain(|r| r.chain != chain),
                _ => return Err(err(n, format!("unsupported command {op:?}"))),
            }
        }
        if cur.is_some() {
            return Err(err(text.lines().count(), "missing COMMIT".into()));
        }
        Ok(d)
    }

    /// The table of that name.
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn save(line: &str) -> String {
        let w = split_words(line).unwrap();
        parse_rule(&w[1], &w[2..], false)
            .unwrap()
            .to_save(&SaveStyle::default())
    }

    #[test]
    fn reserialises_like_iptables_save() {
        assert_eq!(
            save(
                r#"-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-SVC-XPGD46QRK7WJZT7O"#
            ),
            r#"-A KUBE-SERVICES -d 172.30.0.41/32 -p tcp -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp --dport 80 -j KUBE-SVC-XPGD46QRK7WJZT7O"#
        );
        assert_eq!(
            save("-A KUBE-SEP-I77PXRDZVX7PMWMN -m comment --comment ns5/svc5:p80 -m recent --name KUBE-SEP-I77PXRDZVX7PMWMN --set -m tcp -p tcp -j DNAT --to-destination 10.180.0.3:80"),
            r#"-A KUBE-SEP-I77PXRDZVX7PMWMN -p tcp -m comment --comment "ns5/svc5:p80" -m recent --set --name KUBE-SEP-I77PXRDZVX7PMWMN --mask 255.255.255.255 --rsource -m tcp -j DNAT --to-destination 10.180.0.3:80"#
        );
        assert_eq!(
            save("-A KUBE-POSTROUTING -j MARK --xor-mark 0x00004000"),
            "-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0"
        );
        assert_eq!(
            save("-A X -m comment --comment \"a'b\" -m statistic --mode random --probability 0.3333333333 -j Y"),
            r#"-A X -m comment --comment "a\'b" -m statistic --mode random --probability 0.33333333349 -j Y"#
        );
        assert_eq!(
            save("-A KUBE-FIREWALL -m comment --comment \"block incoming localnet connections\" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP"),
            "-A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment \"block incoming localnet connections\" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP"
        );
    }

    #[test]
    fn thresholds_match_spec_table() {
        for (p, t) in [
            (0.5, 1073741824),
            (0.3333333333, 715827883),
            (0.1666666667, 357913941),
            (0.01, 21474836),
        ] {
            assert_eq!(probability_threshold(p), t);
        }
    }
}
