//! The `list` form: what `nft list table ip kube-proxy` (or `ip6`) prints on a node after the
//! `load` form was loaded with `nft -f`.
//!
//! Checked against nftables v1.0.6 (Debian 12, `1.0.6-2+deb12u2`) on Linux 6.18: the
//! conformance cases (`tests/conformance/nftables/*/kernel-list.txt`) and, as root, every case
//! and example loaded in a network namespace (`tests/kernel/test_nftables.py`). Other nft
//! versions print some things differently (see "Element order" below).
//!
//! On a node whose only table is kube-proxy's, `nft list ruleset` prints exactly this text too;
//! with other tables it prints each table's block in turn, with no blank line between them.
//!
//! # What nft prints differently from the `add` lines
//! - Objects: the table's comment, then its sets and maps in creation order, then its chains in
//!   creation order, each as a block; blocks are separated by a blank line. nft lists sets and
//!   maps together, so the `load` form's order (sets, then maps) is kept.
//! - Base chains: `type T hook H priority P; policy accept;`. The priority is printed as the
//!   nearest standard name when it is at most 10 away (`filter`, `dstnat - 10`, `srcnat`),
//!   else as a number (`-110`, `-100` on the output hook, where `dstnat` is not allowed).
//! - Elements: one per key (a repeated `add element` of a key changes nothing).
//! - Sets: `type`, `size 65535` (when a rule adds to the set from the packet path with
//!   `update @set`; the kernel gives such a set that default size), `flags`, `timeout` as
//!   days/hours/minutes/seconds (`10800s` → `3h`), `comment`, then the elements folded into
//!   `elements = { … }`.
//! - Rules: `mark set mark or M` → `meta mark set meta mark | 0x0000M`, `mark and M == 0` →
//!   `meta mark & 0x0000M == 0x00000000`, `mark set mark xor M` → `meta mark set meta mark ^ …`;
//!   verdict maps in rules are separated by `, `; an anonymous address set written with one
//!   element loses its braces (`ip daddr 172.30.0.0/16`), one with several elements is merged
//!   into disjoint ranges (overlapping or adjacent CIDRs join), printed in ascending order as
//!   prefixes, or `low-high` when a range is not a prefix; `/32` and `/128` are left out.
//!
//! # Element order
//! nft sorts the elements it reads back before printing (`list_expr_sort`, a stable merge sort
//! on each element's key value), whatever the kernel's set backend (hash or rbtree) returned:
//! - a single-field key (`ipv4_addr`) sorts by its numeric value: ascending addresses;
//! - a concatenated key (`ipv4_addr . inet_proto . inet_service`) is compared as one number
//!   made of the fields' bytes (4 + 1 + 2 for IPv4) read **little-endian**, i.e. from the last
//!   byte: the port's low byte first, then its high byte, the protocol number, then the
//!   address from its last octet. nft 1.0.6 builds that number with `mpz_import_data(…,
//!   BYTEORDER_HOST_ENDIAN, …)` (mergesort.c `concat_expr_msort_value`); on the x86-64 and
//!   arm64 hosts nodes run on, host order is little-endian. nftables releases after October
//!   2025 read it big-endian instead (field by field, ascending), so their listings differ.
//!
//! Elements are wrapped as nft's `calculate_delim` does: two addresses per line for
//! `ipv4_addr`, one per line for `ipv6_addr` and concatenations, five per line for ports,
//! protocols and integers; a continuation line starts with three tabs and five spaces.
//!
//! The model keeps each rule as the text kube-proxy writes (knftables syntax); this form
//! rewrites only the statements listed above, recognised by their fixed shape in that text.

use std::cmp::Ordering;
use std::collections::HashSet;
use std::fmt::Write as _;
use std::net::IpAddr;

use ipnet::IpNet;

use super::model::{BaseChain, Container, Hook, Table};

/// The order of a table's sets, maps and chains in the listing: the kernel lists each kind in
/// the order the objects were created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectOrder {
    /// Created by the `load` form: each kind in kube-proxy's creation order.
    Load,
    /// Created in name order within each kind: the `dump` form's lines reordered as table,
    /// chains, sets, maps, rules, elements (how the conformance cases' `kernel-list.txt` were
    /// loaded).
    ByName,
}

/// Writes the `list` form of `t` after loading the `load` form.
pub(crate) fn write(t: &Table) -> String {
    write_ordered(t, ObjectOrder::Load)
}

/// Writes what nft lists for `t` when its objects were created in `order`.
pub fn write_ordered(t: &Table, order: ObjectOrder) -> String {
    let mut out = String::with_capacity(256 + t.text.len());
    let fam = t.family();
    let _ = writeln!(out, "table {} {} {{", fam.as_str(), t.name());
    let _ = writeln!(out, "\tcomment \"{}\"", t.comment());

    // Rules and elements grouped by their chain or container, keeping their order.
    let mut rules_of: Vec<Vec<usize>> = vec![Vec::new(); t.chains.len()];
    let index = t.index();
    for (i, r) in index.rules.iter().enumerate() {
        rules_of[r.chain as usize].push(i);
    }
    let mut set_elems: Vec<Vec<usize>> = vec![Vec::new(); t.sets.len()];
    let mut map_elems: Vec<Vec<usize>> = vec![Vec::new(); t.maps.len()];
    for (i, e) in index.elements.iter().enumerate() {
        match e.container {
            Container::Set(s) => set_elems[s.0 as usize].push(i),
            Container::Map(m) => map_elems[m.0 as usize].push(i),
        }
    }
    let rules: Vec<_> = t.rules().collect();
    let elements: Vec<_> = t.elements().collect();
    // Sets a rule adds to from the packet path (`update @NAME { … }`).
    let updated: HashSet<&str> = rules
        .iter()
        .filter_map(|r| r.rule.strip_prefix("update @"))
        .filter_map(|rest| rest.split(' ').next())
        .collect();

    let mut first = true;
    let mut block = |out: &mut String| {
        if !first {
            out.push('\n');
        }
        first = false;
    };

    let sets: Vec<_> = t.sets().collect();
    for i in ordered(sets.len(), order, |i| sets[i].name) {
        let s = &sets[i];
        block(&mut out);
        let _ = writeln!(out, "\tset {} {{", s.name);
        let _ = writeln!(out, "\t\ttype {}", s.key_type);
        if updated.contains(s.name) {
            out.push_str("\t\tsize 65535\n");
        }
        if !s.flags.is_empty() {
            let _ = writeln!(out, "\t\tflags {}", set_flags(s.flags));
        }
        if let Some(secs) = s.timeout_seconds {
            let _ = writeln!(out, "\t\ttimeout {}", duration(secs));
        }
        if let Some(c) = s.comment {
            let _ = writeln!(out, "\t\tcomment \"{c}\"");
        }
        write_elements(&mut out, s.key_type, &set_elems[i], &elements);
        out.push_str("\t}\n");
    }
    let maps: Vec<_> = t.maps().collect();
    for i in ordered(maps.len(), order, |i| maps[i].name) {
        let m = &maps[i];
        block(&mut out);
        let _ = writeln!(out, "\tmap {} {{", m.name);
        let _ = writeln!(out, "\t\ttype {} : {}", m.key_type, m.value_type);
        if let Some(c) = m.comment {
            let _ = writeln!(out, "\t\tcomment \"{c}\"");
        }
        write_elements(&mut out, m.key_type, &map_elems[i], &elements);
        out.push_str("\t}\n");
    }
    let chains: Vec<_> = t.chains().collect();
    for i in ordered(chains.len(), order, |i| chains[i].name) {
        let c = &chains[i];
        block(&mut out);
        let _ = writeln!(out, "\tchain {} {{", c.name);
        if let Some(b) = c.base {
            let _ = writeln!(
                out,
                "\t\ttype {} hook {} priority {}; policy accept;",
                b.chain_type.as_str(),
                b.hook.as_str(),
                priority(b)
            );
        }
        if let Some(com) = c.comment {
            let _ = writeln!(out, "\t\tcomment \"{com}\"");
        }
        for &r in &rules_of[i] {
            let r = &rules[r];
            out.push_str("\t\t");
            rule_text(&mut out, r.rule);
            if let Some(com) = r.comment {
                let _ = write!(out, " comment \"{com}\"");
            }
            out.push('\n');
        }
        out.push_str("\t}\n");
    }
    out.push_str("}\n");
    out
}

fn ordered<'a>(n: usize, order: ObjectOrder, name: impl Fn(usize) -> &'a str) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n).collect();
    if order == ObjectOrder::ByName {
        v.sort_by(|&a, &b| name(a).as_bytes().cmp(name(b).as_bytes()));
    }
    v
}

/// nft prints set flags in its own order whatever order they were given in.
fn set_flags(flags: &[&str]) -> String {
    const ORDER: [&str; 4] = ["constant", "dynamic", "interval", "timeout"];
    let mut v: Vec<&str> = flags.to_vec();
    v.sort_by_key(|f| ORDER.iter().position(|o| o == f).unwrap_or(ORDER.len()));
    v.join(",")
}

/// nft's duration text: days, hours, minutes, seconds, each left out when zero (`3h`,
/// `1d1h1m1s`, `10m`); zero is `0s`.
pub(crate) fn duration(secs: u32) -> String {
    if secs == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    let mut rest = secs;
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        let n = rest / size;
        rest %= size;
        if n > 0 {
            let _ = write!(out, "{n}{unit}");
        }
    }
    out
}

/// A base chain's priority as nft prints it: the nearest standard priority allowed on the hook
/// (`raw` -300, `mangle` -150, `dstnat` -100 on prerouting only, `filter` 0, `security` 50,
/// `srcnat` 100 on postrouting only) plus or minus the offset when that is at most 10, else the
/// number (the names of the `ip` and `ip6` families).
pub(crate) fn priority(b: BaseChain) -> String {
    let std: [(&str, i32, Option<Hook>); 6] = [
        ("raw", -300, None),
        ("mangle", -150, None),
        ("dstnat", -100, Some(Hook::Prerouting)),
        ("filter", 0, None),
        ("security", 50, None),
        ("srcnat", 100, Some(Hook::Postrouting)),
    ];
    let mut best: Option<(&str, i32)> = None;
    for (name, value, only) in std {
        if only.is_some_and(|h| h != b.hook) {
            continue;
        }
        let off = b.priority - value;
        if best.is_none_or(|(_, o)| off.abs() < o.abs()) {
            best = Some((name, off));
        }
    }
    match best {
        Some((name, 0)) => name.to_owned(),
        Some((name, off)) if (1..=10).contains(&off) => format!("{name} + {off}"),
        Some((name, off)) if (-10..0).contains(&off) => format!("{name} - {}", -off),
        _ => b.priority.to_string(),
    }
}

/// The byte width of one key field type.
fn field_width(ty: &str) -> Option<usize> {
    match ty {
        "ipv4_addr" => Some(4),
        "ipv6_addr" => Some(16),
        "inet_proto" => Some(1),
        "inet_service" => Some(2),
        _ => None,
    }
}

/// The protocol numbers of the names kube-proxy writes.
fn proto_number(name: &str) -> Option<u8> {
    match name {
        "tcp" => Some(6),
        "udp" => Some(17),
        "sctp" => Some(132),
        n => n.parse().ok(),
    }
}

/// The key's bytes in network order, field after field (`None` if a part does not fit its type).
fn key_bytes(key_type: &str, key: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(23);
    let mut parts = key.split(" . ");
    for ty in key_type.split(" . ") {
        let part = parts.next()?;
        match ty {
            "ipv4_addr" | "ipv6_addr" => match part.parse::<IpAddr>().ok()? {
                IpAddr::V4(a) if ty == "ipv4_addr" => out.extend(a.octets()),
                IpAddr::V6(a) if ty == "ipv6_addr" => out.extend(a.octets()),
                _ => return None,
            },
            "inet_proto" => out.push(proto_number(part)?),
            "inet_service" => out.extend(part.parse::<u16>().ok()?.to_be_bytes()),
            _ => return None,
        }
    }
    parts.next().is_none().then_some(out)
}

/// nft 1.0.6's element order for a key type (see the module docs).
fn compare_keys(concat: bool, a: &Option<Vec<u8>>, b: &Option<Vec<u8>>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) if concat => a.iter().rev().cmp(b.iter().rev()),
        (Some(a), Some(b)) => a.cmp(b),
        // A key outside the known types keeps its place (the sort is stable).
        _ => Ordering::Equal,
    }
}

/// Elements per line before nft breaks the line, by key type.
fn per_line(key_type: &str) -> usize {
    match key_type {
        "ipv4_addr" => 2,
        "inet_service" | "inet_proto" | "integer" | "mark" => 5,
        _ => 1,
    }
}

fn write_elements(
    out: &mut String,
    key_type: &str,
    members: &[usize],
    elements: &[super::model::Element<'_>],
) {
    if members.is_empty() {
        return;
    }
    let concat = key_type.contains(" . ");
    debug_assert!(key_type.split(" . ").all(|t| field_width(t).is_some()));
    // Adding an element whose key is already in the set changes nothing: the set holds the
    // first one (kube-proxy adds a cluster IP once per service port).
    let mut seen = HashSet::with_capacity(members.len());
    let mut keyed: Vec<(Option<Vec<u8>>, usize)> = members
        .iter()
        .filter(|&&i| seen.insert(elements[i].key))
        .map(|&i| (key_bytes(key_type, elements[i].key), i))
        .collect();
    keyed.sort_by(|a, b| compare_keys(concat, &a.0, &b.0));
    let per_line = per_line(key_type);
    out.push_str("\t\telements = { ");
    for (n, (_, i)) in keyed.iter().enumerate() {
        if n > 0 {
            out.push_str(if n % per_line == 0 {
                ",\n\t\t\t     "
            } else {
                ", "
            });
        }
        let e = &elements[*i];
        out.push_str(e.key);
        if let Some(c) = e.comment {
            let _ = write!(out, " comment \"{c}\"");
        }
        if let Some(v) = e.value {
            out.push_str(" : ");
            out.push_str(v);
        }
    }
    out.push_str(" }\n");
}

/// Writes one rule's text as nft prints it back.
fn rule_text(out: &mut String, rule: &str) {
    let words: Vec<&str> = rule.split(' ').collect();
    let mut i = 0;
    let mut first = true;
    let mut emit = |out: &mut String, s: &str| {
        if !first {
            out.push(' ');
        }
        first = false;
        out.push_str(s);
    };
    while i < words.len() {
        let w = &words[i..];
        // mark set mark or|xor M
        if w.len() >= 5 && w[0] == "mark" && w[1] == "set" && w[2] == "mark" {
            if let (Some(op), Some(m)) = (
                match w[3] {
                    "or" => Some("|"),
                    "xor" => Some("^"),
                    "and" => Some("&"),
                    _ => None,
                },
                mark_value(w[4]),
            ) {
                emit(out, &format!("meta mark set meta mark {op} {m}"));
                i += 5;
                continue;
            }
        }
        // mark and M == V
        if w.len() >= 5 && w[0] == "mark" && w[1] == "and" && w[3] == "==" {
            if let (Some(m), Some(v)) = (mark_value(w[2]), mark_value(w[4])) {
                emit(out, &format!("meta mark & {m} == {v}"));
                i += 5;
                continue;
            }
        }
        if w[0] == "{" {
            if let Some(close) = w.iter().position(|x| *x == "}") {
                let inner = w[1..close].join(" ");
                let prev = if i > 0 { words[i - 1] } else { "" };
                let text = match prev {
                    "vmap" => Some(vmap(&inner)),
                    "saddr" | "daddr" | "!=" => address_set(&inner),
                    _ => None,
                };
                if let Some(t) = text {
                    emit(out, &t);
                    i += close + 1;
                    continue;
                }
            }
        }
        emit(out, w[0]);
        i += 1;
    }
}

/// A mark or mask as nft prints it: `0x` and eight hex digits.
fn mark_value(s: &str) -> Option<String> {
    let v = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
        None => s.parse::<u32>().ok()?,
    };
    Some(format!("0x{v:08x}"))
}

/// `{ 0 : goto a , 1 : goto b }` → `{ 0 : goto a, 1 : goto b }`, keys ascending.
fn vmap(inner: &str) -> String {
    let mut entries: Vec<(Option<u64>, &str)> = inner
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|e| (e.split(' ').next().and_then(|k| k.parse().ok()), e))
        .collect();
    entries.sort_by(|a, b| match (a.0, b.0) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => Ordering::Equal,
    });
    let body: Vec<&str> = entries.iter().map(|e| e.1).collect();
    format!("{{ {} }}", body.join(", "))
}

/// An anonymous address set as nft prints it back; `None` if an element is not an address or
/// CIDR (then the text is kept).
fn address_set(inner: &str) -> Option<String> {
    let nets: Vec<IpNet> = inner
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|e| {
            e.parse::<IpNet>()
                .ok()
                .or_else(|| e.parse::<IpAddr>().ok().map(IpNet::from))
        })
        .collect::<Option<_>>()?;
    if nets.len() == 1 {
        // nft turns a one-element anonymous set into a plain match.
        return Some(prefix_text(nets[0].trunc()));
    }
    let v4 = nets.first()?.addr().is_ipv4();
    if nets.iter().any(|n| n.addr().is_ipv4() != v4) {
        return None;
    }
    let mut ranges: Vec<(u128, u128)> = nets.iter().map(|n| range_of(n.trunc())).collect();
    ranges.sort_unstable();
    let mut merged: Vec<(u128, u128)> = Vec::with_capacity(ranges.len());
    for (lo, hi) in ranges {
        match merged.last_mut() {
            Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
            _ => merged.push((lo, hi)),
        }
    }
    let items: Vec<String> = merged
        .into_iter()
        .map(|(lo, hi)| range_text(v4, lo, hi))
        .collect();
    Some(format!("{{ {} }}", items.join(", ")))
}

fn range_of(n: IpNet) -> (u128, u128) {
    match n {
        IpNet::V4(n) => (
            u128::from(u32::from(n.network())),
            u128::from(u32::from(n.broadcast())),
        ),
        IpNet::V6(n) => (u128::from(n.network()), u128::from(n.broadcast())),
    }
}

fn addr_of(v4: bool, x: u128) -> IpAddr {
    if v4 {
        IpAddr::V4(std::net::Ipv4Addr::from(x as u32))
    } else {
        IpAddr::V6(std::net::Ipv6Addr::from(x))
    }
}

fn prefix_text(n: IpNet) -> String {
    if n.prefix_len() == n.max_prefix_len() {
        n.addr().to_string()
    } else {
        n.to_string()
    }
}

/// A merged range: a prefix when it is one, else `low-high`.
fn range_text(v4: bool, lo: u128, hi: u128) -> String {
    let bits: u32 = if v4 { 32 } else { 128 };
    let span = hi - lo;
    // A prefix covers 2^k addresses from a multiple of 2^k: span is k one-bits, lo has none.
    if span & span.wrapping_add(1) == 0 && lo & span == 0 {
        let len = bits - (128 - span.leading_zeros());
        if let Ok(n) = IpNet::new(addr_of(v4, lo), len as u8) {
            return prefix_text(n);
        }
    }
    format!("{}-{}", addr_of(v4, lo), addr_of(v4, hi))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::nftables::model::{Builder, ChainType, Family, SetName, Sizes};

    #[test]
    fn a_key_added_twice_is_one_element() {
        let mut b = Builder::new(Family::Ip, Sizes::default());
        let s = b.add_set(
            "",
            SetName::Text("cluster-ips"),
            "ipv4_addr",
            &[],
            None,
            None,
        );
        b.declarations_done();
        for ip in [
            "10.96.0.10",
            "10.96.0.1",
            "10.96.0.10",
            "10.96.0.2",
            "10.96.0.10",
        ] {
            b.element(Container::Set(s)).ip(&ip.parse().unwrap()).end();
        }
        let t = b.finish().unwrap();
        let list = write(&t);
        assert!(
            list.contains("\t\telements = { 10.96.0.1, 10.96.0.2,\n\t\t\t     10.96.0.10 }\n"),
            "{list}"
        );
    }

    fn rt(s: &str) -> String {
        let mut out = String::new();
        rule_text(&mut out, s);
        out
    }

    #[test]
    fn rewrites_mark_statements_as_nft_prints_them() {
        assert_eq!(
            rt("mark set mark or 0x4000"),
            "meta mark set meta mark | 0x00004000"
        );
        assert_eq!(
            rt("mark and 0x4000 == 0 return"),
            "meta mark & 0x00004000 == 0x00000000 return"
        );
        assert_eq!(
            rt("mark set mark xor 0x00004000"),
            "meta mark set meta mark ^ 0x00004000"
        );
    }

    #[test]
    fn anonymous_sets_lose_braces_merge_and_sort() {
        assert_eq!(
            rt("ip daddr { 172.30.0.0/16 } drop"),
            "ip daddr 172.30.0.0/16 drop"
        );
        assert_eq!(
            rt("ip daddr { 172.30.0.0/16,10.96.0.0/12 } drop"),
            "ip daddr { 10.96.0.0/12, 172.30.0.0/16 } drop"
        );
        // Observed with nft 1.0.6: merged, sorted, /32 left out, non-prefix ranges as a-b.
        assert_eq!(
            rt("ip saddr != { 203.0.113.0/25 , 10.0.0.0/8 , 1.2.3.4/32 , 5.0.0.0/8 } drop"),
            "ip saddr != { 1.2.3.4, 5.0.0.0/8, 10.0.0.0/8, 203.0.113.0/25 } drop"
        );
        assert_eq!(
            rt("ip saddr != { 203.0.113.0/25 , 203.0.113.128/25 } drop"),
            "ip saddr != { 203.0.113.0/24 } drop"
        );
        assert_eq!(
            rt("ip saddr != { 10.0.0.0/8 , 11.0.0.0/8 , 12.0.0.0/8 } drop"),
            "ip saddr != { 10.0.0.0-12.255.255.255 } drop"
        );
        assert_eq!(
            rt("ip6 saddr != { 2001:db8::/64 , 2001:db8::/48 } drop"),
            "ip6 saddr != { 2001:db8::/48 } drop"
        );
        // Not a set: the dynamic-set update statement is printed as written.
        assert_eq!(
            rt("update @affinity-X { ip saddr }"),
            "update @affinity-X { ip saddr }"
        );
        assert_eq!(
            rt("numgen random mod 2 vmap { 0 : goto a , 1 : goto b }"),
            "numgen random mod 2 vmap { 0 : goto a, 1 : goto b }"
        );
    }

    #[test]
    fn durations_and_priorities_as_nft_prints_them() {
        assert_eq!(duration(10800), "3h");
        assert_eq!(duration(600), "10m");
        assert_eq!(duration(10801), "3h1s");
        assert_eq!(duration(86400), "1d");
        assert_eq!(duration(90061), "1d1h1m1s");
        let p = |hook, priority| {
            priority_of(BaseChain {
                chain_type: ChainType::Filter,
                hook,
                priority,
            })
        };
        assert_eq!(p(Hook::Prerouting, -110), "dstnat - 10");
        assert_eq!(p(Hook::Output, -110), "-110");
        assert_eq!(p(Hook::Output, -100), "-100");
        assert_eq!(p(Hook::Prerouting, -100), "dstnat");
        assert_eq!(p(Hook::Postrouting, 100), "srcnat");
        assert_eq!(p(Hook::Input, 0), "filter");
        // Observed with nft 1.0.6: offsets up to 10 are named, 11 is not.
        assert_eq!(p(Hook::Output, -140), "mangle + 10");
        assert_eq!(p(Hook::Output, -139), "-139");
        assert_eq!(p(Hook::Input, 10), "filter + 10");
        assert_eq!(p(Hook::Input, 11), "11");
    }

    fn priority_of(b: BaseChain) -> String {
        priority(b)
    }

    #[test]
    fn concatenated_keys_sort_from_their_last_byte() {
        // Observed with nft 1.0.6 on x86-64 (elements added in the order given here).
        let ty = "ipv4_addr . inet_proto . inet_service";
        let keys = [
            "10.0.0.1 . tcp . 80",
            "10.0.0.1 . udp . 80",
            "10.0.0.1 . tcp . 81",
            "10.0.0.1 . tcp . 256",
            "10.0.0.1 . sctp . 1",
            "10.0.0.2 . tcp . 80",
        ];
        let mut v: Vec<_> = keys.iter().map(|k| (key_bytes(ty, k), *k)).collect();
        v.sort_by(|a, b| compare_keys(true, &a.0, &b.0));
        let got: Vec<&str> = v.iter().map(|x| x.1).collect();
        assert_eq!(
            got,
            [
                "10.0.0.1 . tcp . 256",
                "10.0.0.1 . sctp . 1",
                "10.0.0.1 . tcp . 80",
                "10.0.0.2 . tcp . 80",
                "10.0.0.1 . udp . 80",
                "10.0.0.1 . tcp . 81",
            ]
        );
        let ty = "inet_proto . inet_service";
        let keys = ["tcp . 30001", "udp . 30001", "tcp . 30257", "tcp . 29000"];
        let mut v: Vec<_> = keys.iter().map(|k| (key_bytes(ty, k), *k)).collect();
        v.sort_by(|a, b| compare_keys(true, &a.0, &b.0));
        let got: Vec<&str> = v.iter().map(|x| x.1).collect();
        assert_eq!(
            got,
            ["tcp . 30001", "udp . 30001", "tcp . 30257", "tcp . 29000"]
        );
    }
}
