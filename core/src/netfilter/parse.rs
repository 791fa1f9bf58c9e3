//! Reading rules: the words of one rule (`-A CHAIN …` as `iptables-restore` reads them) and
//! whole dumps (`iptables-restore` input, `iptables-save` output).

use std::borrow::Cow;
use std::net::IpAddr;

use ipnet::IpNet;

use super::dump::{Dump, Filler, RuleSink};
use super::form::excerpt;
use super::rule::{probability_threshold, AddrMatch, Match, Opt, RecentAction, Rule, Target};
use crate::{Error, Issue, Result};

/// Splits a rule line into words: double-quoted words (with backslash escapes) become one word
/// without their quotes.
pub fn split_words(line: &str) -> std::result::Result<Vec<String>, String> {
    Ok(words_of(line)?.into_iter().map(Cow::into_owned).collect())
}

/// [`split_words`] borrowing the words from `line` (a quoted word with escapes is copied):
/// a dump has millions of words.
pub(crate) fn words_of(line: &str) -> std::result::Result<Vec<Cow<'_, str>>, String> {
    let b = line.as_bytes();
    let mut out = Vec::with_capacity(24);
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_whitespace() {
            i += 1;
        } else if b[i] == b'"' {
            // A backslash escapes the next character; the word ends at the first unescaped
            // quote, and the next word may start right after it.
            let mut j = i + 1;
            loop {
                match b.get(j) {
                    None => return Err("unterminated quote".into()),
                    Some(b'\\') => j += 2,
                    Some(b'"') => break,
                    Some(_) => j += 1,
                }
            }
            out.push(unquote(&line[i..=j]));
            i = j + 1;
        } else {
            let start = i;
            while i < b.len() && !b[i].is_ascii_whitespace() {
                i += 1;
            }
            out.push(Cow::Borrowed(&line[start..i]));
        }
    }
    Ok(out)
}

/// One word as `iptables-restore` reads it: a double-quoted word loses its quotes and its
/// backslash escapes (see [`split_words`]); any other word is as written.
pub(super) fn unquote(word: &str) -> Cow<'_, str> {
    match word.strip_prefix('"').and_then(|w| w.strip_suffix('"')) {
        Some(inner) if !inner.contains('\\') => Cow::Borrowed(inner),
        Some(inner) => {
            let mut out = String::with_capacity(inner.len());
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => out.extend(chars.next()),
                    c => out.push(c),
                }
            }
            Cow::Owned(out)
        }
        None => Cow::Borrowed(word),
    }
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

const CT_ORDER: [&str; 7] = [
    "INVALID",
    "NEW",
    "RELATED",
    "ESTABLISHED",
    "UNTRACKED",
    "SNAT",
    "DNAT",
];

/// Reads the words of a rule after `-A CHAIN` the way `iptables-restore` does (a quoted word
/// given without its quotes). `ipv6` selects the REJECT default.
pub(crate) fn parse_rule<W: AsRef<str>>(
    chain: &str,
    words: &[W],
    ipv6: bool,
) -> std::result::Result<Rule, String> {
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
    let need = |i: usize, w: &str| -> std::result::Result<&str, String> {
        words
            .get(i + 1)
            .map(|v| v.as_ref())
            .ok_or_else(|| format!("{w} needs a value"))
    };
    while i < words.len() {
        let w = words[i].as_ref();
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
                let net = parse_addr(v).ok_or_else(|| format!("{v:?} is not an address"))?;
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
                    value: v.to_owned(),
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
                r.matches.push(match m {
                    "comment" => Match::Comment {
                        text: String::new(),
                    },
                    "tcp" | "udp" | "sctp" => Match::Port {
                        proto: m.to_owned(),
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
                        name: m.to_owned(),
                        args: Vec::new(),
                    },
                });
                i += 2;
            }
            "-j" | "--jump" | "-g" | "--goto" => {
                target_name = Some(need(i, w)?.to_owned());
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

fn parse_match_opt<W: AsRef<str>>(
    m: &mut Match,
    words: &[W],
    i: usize,
    neg: bool,
) -> std::result::Result<usize, String> {
    let w = words[i].as_ref();
    let val = || {
        words
            .get(i + 1)
            .map(|v| v.as_ref().to_owned())
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
        } => {
            if let Some(a) = RecentAction::ALL.into_iter().find(|a| a.flag() == w) {
                *action = a;
                return Ok(i + 1);
            }
            match w {
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
            }
        }
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
            while j < words.len() && !words[j].as_ref().starts_with('-') && words[j].as_ref() != "!"
            {
                args.push(words[j].as_ref().to_owned());
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

impl Dump {
    /// Parses a dump (`iptables-save` output, with or without `-c`, either backend, or
    /// `iptables-restore` input). Comments, blank lines and `[packets:bytes]` counters are
    /// ignored; `-I` is applied as an insertion. `ipv6` selects the REJECT default. Errors are
    /// [`Error::Dump`] with `line N` and a message quoting the line.
    pub fn parse(text: &str, file: Option<&str>, ipv6: bool) -> Result<Dump> {
        let mut fill = Filler::default();
        parse_into(text, file, ipv6, &mut fill)?;
        Ok(fill.finish().expect("every table committed"))
    }

    /// Parses `iptables -S` output (`iptables -t TABLE -S`, `--list-rules`; with `-v`, the
    /// `-c PACKETS BYTES` of each line is ignored) as the one table `table` it lists: `-P`
    /// lines declare built-in chains with their policy, `-N` lines user chains, `-A` lines
    /// rules. Errors as for [`Dump::parse`].
    ///
    /// # Example
    /// ```
    /// use svccore::netfilter::Dump;
    /// let text = "-P PREROUTING ACCEPT\n-N KUBE-MARK-MASQ\n-A KUBE-MARK-MASQ -c 3 180 -j MARK --set-xmark 0x4000/0x4000\n";
    /// let d = Dump::parse_rules(text, Some("node.S"), false, "nat").unwrap();
    /// assert_eq!(d.tables[0].name, "nat");
    /// assert_eq!(d.tables[0].rules.len(), 1);
    /// ```
    pub fn parse_rules(text: &str, file: Option<&str>, ipv6: bool, table: &str) -> Result<Dump> {
        let mut fill = Filler::default();
        parse_rules_into(text, file, ipv6, table, &mut fill)?;
        Ok(fill.finish().expect("committed"))
    }
}

/// [`Dump::parse`] into any [`RuleSink`]; returns the names of the tables read, in order.
pub(crate) fn parse_into<S: RuleSink>(
    text: &str,
    file: Option<&str>,
    ipv6: bool,
    fill: &mut S,
) -> Result<Vec<String>> {
    let err = |n: usize, m: String| Error::Dump(Issue::new(file, format!("line {n}"), m));
    let mut tables = Vec::new();
    let mut open_at = 0;
    let mut lines = 0;
    for (k, raw) in text.lines().enumerate() {
        let n = k + 1;
        lines = n;
        let mut line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('*') {
            if !fill.begin(name) {
                return Err(err(
                    n,
                    format!(
                        "table {name} starts before the table of line {open_at} ends with COMMIT"
                    ),
                ));
            }
            tables.push(name.to_owned());
            open_at = n;
            continue;
        }
        if !fill.is_open() {
            return Err(err(
                n,
                format!(
                    "{:?} is outside a table: iptables-save output opens each table with a *filter, *nat, ... line",
                    excerpt(line)
                ),
            ));
        }
        if line == "COMMIT" {
            fill.commit();
            continue;
        }
        if let Some(decl) = line.strip_prefix(':') {
            let mut it = decl.split_whitespace();
            let name = it.next().unwrap_or("");
            let policy = it.next().unwrap_or("-");
            if name.is_empty() {
                return Err(err(n, format!("empty chain name in {:?}", excerpt(line))));
            }
            fill.declare(name, policy);
            continue;
        }
        // `iptables-save -c`: "[pkts:bytes] -A ...".
        if line.starts_with('[') {
            if let Some(p) = line.find(']') {
                line = line[p + 1..].trim_start();
            }
        }
        if line.starts_with("-A ") && fill.append_text(line) {
            continue;
        }
        let in_line = |m: String| err(n, format!("{m} in {:?}", excerpt(line)));
        let words = words_of(line).map_err(in_line)?;
        let (op, chain) = match (words.first(), words.get(1)) {
            (Some(op), Some(c)) => (op.as_ref(), c.as_ref()),
            _ => return Err(err(n, format!("cannot parse {:?}", excerpt(line)))),
        };
        match op {
            "-A" | "--append" => {
                let r = parse_rule(chain, &words[2..], ipv6).map_err(in_line)?;
                fill.append(r);
            }
            "-I" | "--insert" => {
                let (pos, rest) = match words.get(2).and_then(|w| w.parse::<usize>().ok()) {
                    Some(p) => (p, &words[3..]),
                    None => (1, &words[2..]),
                };
                let r = parse_rule(chain, rest, ipv6).map_err(in_line)?;
                fill.insert(pos, r);
            }
            "-X" | "--delete-chain" => fill.delete(chain),
            "-F" | "--flush" => fill.flush(chain),
            _ => return Err(in_line(format!("unsupported command {op:?}"))),
        }
    }
    if fill.is_open() {
        return Err(err(
            lines,
            format!("the table of line {open_at} does not end with COMMIT (a cut-off dump?)"),
        ));
    }
    Ok(tables)
}

/// [`Dump::parse_rules`] into any [`RuleSink`].
pub(crate) fn parse_rules_into<S: RuleSink>(
    text: &str,
    file: Option<&str>,
    ipv6: bool,
    table: &str,
    fill: &mut S,
) -> Result<()> {
    let err = |n: usize, m: String| Error::Dump(Issue::new(file, format!("line {n}"), m));
    fill.begin(table);
    for (k, raw) in text.lines().enumerate() {
        let n = k + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let in_line = |m: String| err(n, format!("{m} in {:?}", excerpt(line)));
        let mut words = words_of(line).map_err(in_line)?;
        // `-v`: "-c PACKETS BYTES" before the target (or after a policy).
        if let Some(p) = words.windows(3).position(|w| {
            w[0] == "-c" && w[1].parse::<u64>().is_ok() && w[2].parse::<u64>().is_ok()
        }) {
            words.drain(p..p + 3);
        }
        match (words.first().map(Cow::as_ref), words.get(1)) {
            (Some("-P"), Some(chain)) => {
                let policy = words.get(2).map(Cow::as_ref).unwrap_or("ACCEPT");
                fill.declare(chain, policy);
            }
            (Some("-N"), Some(chain)) => fill.declare(chain, "-"),
            (Some("-A"), Some(chain)) => {
                let r = parse_rule(chain, &words[2..], ipv6).map_err(in_line)?;
                fill.append(r);
            }
            _ => {
                return Err(in_line(
                    "iptables -S prints only -P, -N and -A lines; unexpected line".into(),
                ))
            }
        }
    }
    fill.commit();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netfilter::SaveStyle;

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
