//! Reading a node's rules in the shapes people paste: `iptables-save` (either backend, with or
//! without `-c`), one table's `iptables -S`, and refusing `iptables -L` listings (and `nft` or
//! `ipvsadm` output given to the iptables audit) with the command to run instead. Also finds
//! the signs of an older kube-proxy, whose rules differ from current ones by design.

use std::collections::BTreeSet;

use crate::netfilter::{builtin_chains, detect_form, probability_threshold, words_of};
use crate::netfilter::{parse_into, parse_rules_into, Dump, DumpForm, Filler, RuleSink};
use crate::{Error, Issue, Result};

/// What reading a node's rules found besides the rules.
pub(crate) struct Read {
    /// The one table compared (`iptables -S`, or a table the caller named); `None`: both.
    pub only_table: Option<String>,
    pub notes: Vec<String>,
}

/// The rules of `text` (named `file` in errors) as [`read_into`] reads them.
pub(crate) fn read(text: &str, file: Option<&str>, v6: bool, table: Option<&str>) -> Result<Dump> {
    let mut fill = Filler::default();
    read_into(text, file, v6, table, &mut fill)?;
    Ok(fill.finish().expect("every table committed"))
}

/// Reads `text` (named `file` in errors) into `sink`. `table`: the table an `iptables -S`
/// output lists, or the one table to compare (`filter` or `nat`); `None` infers it for
/// `iptables -S`.
pub(crate) fn read_into<S: RuleSink>(
    text: &str,
    file: Option<&str>,
    v6: bool,
    table: Option<&str>,
    sink: &mut S,
) -> Result<Read> {
    if let Some(t) = table {
        if t != "filter" && t != "nat" {
            return Err(Error::InvalidArgument(format!(
                "table {t:?}: kube-proxy's iptables rules are in the filter and nat tables"
            )));
        }
    }
    let at = |n: usize, m: String| {
        let path = if n == 0 {
            String::new()
        } else {
            format!("line {n}")
        };
        Error::Dump(Issue::new(file, path, m))
    };
    let (form, n) = detect_form(text);
    let shown = text.lines().nth(n.saturating_sub(1)).unwrap_or("").trim();
    let mut notes = Vec::new();
    let only_table = match form {
        DumpForm::Listing => {
            return Err(at(
                n,
                format!(
                    "this is `iptables -L` output ({shown:?}), which drops what the audit compares \
                     (negations, match options, comment quoting, mark masks): run `iptables-save` on \
                     the node (`iptables-save -t nat` for one table) and audit its output"
                ),
            ))
        }
        DumpForm::Nft => {
            return Err(at(
                n,
                "this is `nft list` output: audit it in nftables mode (--mode nftables, mode=\"nftables\")"
                    .into(),
            ))
        }
        DumpForm::Ipvsadm => {
            return Err(at(
                n,
                "this is `ipvsadm` output: the audit reads kube-proxy's iptables rules \
                 (`iptables-save`) or nftables table (`nft list`)"
                    .into(),
            ))
        }
        DumpForm::Rules => {
            let t = rules_table(text, table).map_err(|(n, m)| at(n, m))?;
            notes.push(format!(
                "read as `iptables -t {t} -S` output: only the {t} table is compared; audit \
                 `iptables-save` output to compare the filter and nat tables together"
            ));
            parse_rules_into(text, file, v6, t, sink)?;
            Some(t.to_owned())
        }
        DumpForm::Save => {
            let tables = parse_into(text, file, v6, sink)?;
            if table.is_none() && !tables.is_empty() {
                for (t, other) in [("filter", "nat"), ("nat", "filter")] {
                    if !tables.iter().any(|n| n == t) {
                        notes.push(format!(
                            "the dump has no {t} table (`iptables-save -t {other}`?): its \
                             kube-proxy rules are reported missing; give --table {other} \
                             (table=\"{other}\") to compare the {other} table alone"
                        ));
                    }
                }
            }
            table.map(str::to_owned)
        }
    };
    if text.contains("# Warning: iptables-legacy tables present") {
        notes.push(
            "the node also has iptables-legacy tables (the nft backend's warning line): a \
             kube-proxy using the legacy backend wrote its rules there; audit \
             `iptables-legacy-save` output too"
                .into(),
        );
    }
    notes.extend(older_kube_proxy(text));
    Ok(Read { only_table, notes })
}

/// The table of kube-proxy's chains that exist in one table only.
fn kube_chain_table(chain: &str) -> Option<&'static str> {
    const NAT_PREFIXES: [&str; 6] = [
        "KUBE-SVC-",
        "KUBE-SVL-",
        "KUBE-SEP-",
        "KUBE-EXT-",
        "KUBE-FW-",
        "KUBE-XLB-",
    ];
    if NAT_PREFIXES.iter().any(|p| chain.starts_with(p))
        || matches!(
            chain,
            "KUBE-MARK-MASQ" | "KUBE-MARK-DROP" | "KUBE-POSTROUTING"
        )
    {
        return Some("nat");
    }
    matches!(
        chain,
        "KUBE-FIREWALL" | "KUBE-FORWARD" | "KUBE-PROXY-FIREWALL" | "KUBE-EXTERNAL-SERVICES"
    )
    .then_some("filter")
}

/// The table an `iptables -S` output lists: its `-P` lines name the table's built-in chains,
/// and kube-proxy's per-table chains show it too. Every sign must agree with the others and
/// with `given`; an error is `(line, message)` (line 0: the whole text).
fn rules_table(
    text: &str,
    given: Option<&str>,
) -> std::result::Result<&'static str, (usize, String)> {
    // (table, where it was seen, line)
    let mut seen: Option<(&'static str, String, usize)> = given.map(|t| {
        let t = if t == "nat" { "nat" } else { "filter" };
        (t, String::new(), 0)
    });
    let mut agree = |t: &'static str, why: String, n: usize| match &seen {
        None => {
            seen = Some((t, why, n));
            Ok(())
        }
        Some((t0, _, 0)) if *t0 != t => Err((
            n,
            format!("{why} is of the {t} table, not of the table given ({t0})"),
        )),
        Some((t0, why0, _)) if *t0 != t => Err((n, mixed(&why, t, why0, t0))),
        _ => Ok(()),
    };
    // A run of -P lines names the built-in chains of the table listed (two runs: two tables).
    let mut run: Vec<&str> = Vec::new();
    let mut run_at = 0;
    let mut lines = text.lines().enumerate().peekable();
    while let Some((k, raw)) = lines.next() {
        let mut w = raw.split_whitespace();
        match (w.next(), w.next()) {
            (Some("-P"), Some(chain)) => {
                if run.is_empty() {
                    run_at = k + 1;
                }
                run.push(chain);
            }
            (Some("-N" | "-A"), Some(chain)) => {
                if let Some(t) = kube_chain_table(chain) {
                    agree(t, format!("line {} (chain {chain})", k + 1), k + 1)?;
                }
            }
            _ => {}
        }
        let run_ends = lines
            .peek()
            .is_none_or(|(_, next)| !next.trim_start().starts_with("-P "));
        if run.is_empty() || !run_ends {
            continue;
        }
        let set: BTreeSet<&str> = run.iter().copied().collect();
        let table = ["filter", "nat", "mangle", "raw"]
            .into_iter()
            .find(|t| builtin_chains(t).iter().copied().collect::<BTreeSet<_>>() == set);
        match table {
            Some(t @ ("mangle" | "raw")) => {
                return Err((
                    run_at,
                    format!(
                        "this is the {t} table's `iptables -S` output (its -P lines); kube-proxy's \
                         rules are in the filter and nat tables: give `iptables -t nat -S` or \
                         `iptables -S` output"
                    ),
                ))
            }
            Some(t) => {
                let t = if t == "nat" { "nat" } else { "filter" };
                let why = format!("line {run_at} (the -P lines: {})", run.join(", "));
                agree(t, why, run_at)?
            }
            None => {}
        }
        run.clear();
    }
    match seen {
        Some((t, ..)) => Ok(t),
        None => Err((
            0,
            "cannot tell which table this `iptables -S` output lists (no -P lines, no chain of one \
             table): name it (--table nat or --table filter, table=)"
                .into(),
        )),
    }
}

fn mixed(why: &str, t: &str, why0: &str, t0: &str) -> String {
    format!(
        "{why} is of the {t} table, but {why0} of the {t0} table: `iptables -S` lists one table; \
         give each table's output on its own, or `iptables-save` output"
    )
}

/// One sign of an older kube-proxy: how many lines show it and the first.
#[derive(Default)]
struct Sign {
    count: usize,
    line: usize,
    example: String,
}

impl Sign {
    fn see(&mut self, n: usize, example: impl FnOnce() -> String) {
        if self.count == 0 {
            self.line = n;
            self.example = example();
        }
        self.count += 1;
    }
}

/// Notes on rules that older kube-proxy releases wrote and current ones do not.
fn older_kube_proxy(text: &str) -> Vec<String> {
    let (mut colon, mut physdev, mut five) = (Sign::default(), Sign::default(), Sign::default());
    let mut ipvs = Sign::default();
    for (k, raw) in text.lines().enumerate() {
        let n = k + 1;
        // kube-proxy's rules only: `-A KUBE-…` (after `iptables-save -c` counters).
        let line = match raw.trim_start().strip_prefix('[') {
            Some(rest) => rest.split_once(']').map_or("", |(_, r)| r.trim_start()),
            None => raw.trim_start(),
        };
        if !line.starts_with("-A KUBE-") {
            continue;
        }
        // One pass over the line's bytes (a dump has hundreds of thousands of lines): every
        // `--` where one of the flags may start.
        let (mut interesting, mut ipvs_set) = (false, false);
        let b = line.as_bytes();
        for at in (1..b.len()).filter(|&i| b[i] == b'-' && b[i - 1] == b'-') {
            let opt = &b[at - 1..];
            ipvs_set |= opt.starts_with(b"--match-set KUBE-CLUSTER-IP ");
            interesting |= opt.starts_with(b"--comment")
                || opt.starts_with(b"--physdev-is-in")
                || opt.starts_with(b"--probability");
        }
        if ipvs_set {
            ipvs.see(n, String::new);
        }
        if !interesting {
            continue;
        }
        let Ok(words) = words_of(line) else {
            continue;
        };
        let after = |flag: &str| {
            words
                .iter()
                .position(|w| w.as_ref() == flag)
                .and_then(|p| words.get(p + 1))
        };
        if let Some(c) = after("--comment") {
            let first = c.split(' ').next().unwrap_or("");
            if first.ends_with(':') && first.matches('/').count() == 1 {
                colon.see(n, || first.to_owned());
            }
        }
        // iptables mode's external-IP rule jumped to the service chain; ipvs mode still writes
        // the same matches with `-j ACCEPT` (spec: ipvs.md, nat KUBE-SERVICES).
        let to_service = words.last().is_some_and(|j| j.starts_with("KUBE-SVC-"));
        if to_service && words.iter().any(|w| w.as_ref() == "--physdev-is-in") {
            physdev.see(n, String::new);
        }
        if let Some(p) = after("--probability").and_then(|v| v.parse::<f64>().ok()) {
            if let Some(five_digits) = five_decimal_share(p) {
                five.see(n, || format!("{p:.11} is {five_digits}"));
            }
        }
    }
    let mut notes = Vec::new();
    // spec: the kube-proxy changes behind each sign are in tests/node-dumps/README.md.
    if colon.count > 0 {
        let name = colon.example.trim_end_matches(':');
        notes.push(format!(
            "signs of kube-proxy v1.18 or older: {} comment(s) name a service port without a port \
             name with a trailing colon ({:?}, first at line {}); kube-proxy v1.19 and later write \
             {name:?}, and the KUBE-SVC-/KUBE-SEP- chain names hashed from that name differ too",
            colon.count, colon.example, colon.line
        ));
    }
    if five.count > 0 {
        notes.push(format!(
            "signs of kube-proxy v1.16 or older: {} statistic probabilit{} 1/n rounded to 5 \
             decimals ({}, first at line {}); kube-proxy v1.17 and later round to 10 decimals",
            five.count,
            if five.count == 1 { "y is" } else { "ies are" },
            five.example,
            five.line
        ));
    }
    if physdev.count > 0 {
        notes.push(format!(
            "signs of kube-proxy v1.20 or older: {} external-IP rule(s) match \"-m physdev ! \
             --physdev-is-in\" (first at line {}); kube-proxy v1.21 and later send external-IP \
             traffic to the service chain without it",
            physdev.count, physdev.line
        ));
    }
    let old_release = !notes.is_empty();
    if ipvs.count > 0 {
        notes.push(format!(
            "the rules look like kube-proxy's ipvs mode (ipset KUBE-CLUSTER-IP matched at line \
             {}): the iptables audit compares iptables mode's rules; compare the node's \
             `ipvsadm -Ln` with `svccore render ipvs`",
            ipvs.line
        ));
    }
    if old_release {
        notes.push(
            "svccore renders current kube-proxy's rules: drift that follows from these signs is \
             the version difference, not a fault of the node"
                .into(),
        );
    }
    notes
}

/// When probability `p` (as `iptables-save` prints it) is kube-proxy's share 1/n rounded to 5
/// decimals and not to 10, that 5-decimal text.
fn five_decimal_share(p: f64) -> Option<String> {
    if !(p > 0.0 && p < 1.0) {
        return None;
    }
    let t = probability_threshold(p);
    let n = (1.0 / p).round();
    let five = format!("{:.5}", 1.0 / n);
    let ten = format!("{:.10}", 1.0 / n);
    // iptables builds before the switch to lround truncated: one step either way.
    let near = |s: &str| probability_threshold(s.parse().unwrap_or(0.0)).abs_diff(t) <= 1;
    (near(&five) && !near(&ten)).then_some(five)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_decimal_shares_are_told_from_ten_decimal_ones() {
        // What iptables-save prints for kube-proxy v1.16's 0.33333 and v1.17's 0.3333333333
        // (spec: kube-proxy-iptables.md, statistic), and a truncating iptables' 1/3.
        assert_eq!(
            five_decimal_share(0.33332999982).as_deref(),
            Some("0.33333")
        );
        assert_eq!(five_decimal_share(0.33333333349), None);
        assert_eq!(five_decimal_share(715827882.0 / 2147483648.0), None);
        assert_eq!(
            five_decimal_share(0.14286000002).as_deref(),
            Some("0.14286")
        );
        // 1/2 and 1/4 are exact in both.
        assert_eq!(five_decimal_share(0.5), None);
        assert_eq!(five_decimal_share(0.25), None);
    }
}
