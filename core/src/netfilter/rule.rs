//! One rule of an iptables table, as a typed model, and its `iptables-save` printing.
//!
//! kube-proxy's match modules and targets are modelled; anything else is kept as words.

use std::fmt::Write as _;

use ipnet::IpNet;

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

impl RecentAction {
    /// Every action.
    pub const ALL: [RecentAction; 4] = [
        RecentAction::Set,
        RecentAction::Rcheck,
        RecentAction::Update,
        RecentAction::Remove,
    ];

    /// The option that selects it.
    pub fn flag(self) -> &'static str {
        match self {
            RecentAction::Set => "--set",
            RecentAction::Rcheck => "--rcheck",
            RecentAction::Update => "--update",
            RecentAction::Remove => "--remove",
        }
    }
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
        self.write_save(&mut o, opts);
        o
    }

    /// Appends [`Rule::to_save`] to `o` (without a newline).
    pub fn write_save(&self, o: &mut String, opts: &SaveStyle) {
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
        addr(o, "-s", &self.src);
        addr(o, "-d", &self.dst);
        opt(o, "-i", &self.in_iface);
        opt(o, "-o", &self.out_iface);
        opt(o, "-p", &self.proto);
        let v6 = matches!(self.src.as_ref().or(self.dst.as_ref()), Some(a) if a.net.addr().is_ipv6())
            || opts.ipv6;
        for m in &self.matches {
            match m {
                Match::Comment { text } => {
                    o.push_str(" -m comment --comment ");
                    save_string(o, text);
                }
                Match::Port {
                    proto,
                    sport,
                    dport,
                } => {
                    let _ = write!(o, " -m {proto}");
                    opt(o, "--sport", sport);
                    opt(o, "--dport", dport);
                }
                Match::Addrtype { src_type, dst_type } => {
                    o.push_str(" -m addrtype");
                    opt(o, "--src-type", src_type);
                    opt(o, "--dst-type", dst_type);
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
                    o.push_str(" -m statistic --mode random --probability ");
                    write_probability(o, *threshold);
                }
                Match::Recent {
                    action,
                    name,
                    seconds,
                    reap,
                    rdest,
                } => {
                    o.push_str(" -m recent ");
                    o.push_str(action.flag());
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

/// Writes `threshold / 2^31` with 11 decimals, as iptables-save's `%.11f` prints it: the exact
/// binary fraction rounded to nearest, ties to even (what `format!("{:.11}")` of the `f64`
/// gives, in integers: a dump has one per endpoint).
fn write_probability(o: &mut String, threshold: u32) {
    const SCALE: u128 = 100_000_000_000; // 10^11
    let exact = u128::from(threshold) * SCALE;
    let (mut q, r) = (exact >> 31, exact & ((1 << 31) - 1));
    let half = 1u128 << 30;
    if r > half || (r == half && q % 2 == 1) {
        q += 1;
    }
    let (int, frac) = (q / SCALE, q % SCALE);
    let mut digits = [b'0'; 11];
    let mut f = frac;
    for d in digits.iter_mut().rev() {
        *d = b'0' + (f % 10) as u8;
        f /= 10;
    }
    o.push(char::from(b'0' + int as u8));
    o.push('.');
    o.push_str(std::str::from_utf8(&digits).expect("ASCII digits"));
}

/// The kernel threshold for a printed probability: `lround(p * 2^31)` (iptables' libxt_statistic).
pub fn probability_threshold(p: f64) -> u32 {
    (p * 2147483648.0).round().clamp(0.0, 2147483648.0) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every tie (`threshold` an odd multiple of 2^19, where the 12th decimal is exactly 5)
    /// and a spread of other thresholds print as `format!("{:.11}")` of the `f64` does.
    #[test]
    fn probability_prints_as_the_f64_with_11_decimals() {
        let ties = (0..4096u32)
            .map(|k| (2 * k + 1) << 19)
            .take_while(|&t| t <= 1 << 31);
        let spread = (0..=200_000u32).map(|k| k.wrapping_mul(10_737) % ((1 << 31) + 1));
        let ends = [0, 1, 2, (1 << 31) - 1, 1 << 31];
        for t in ties.chain(spread).chain(ends) {
            let mut o = String::new();
            write_probability(&mut o, t);
            assert_eq!(
                o,
                format!("{:.11}", f64::from(t) / 2147483648.0),
                "threshold {t}"
            );
        }
    }
}
