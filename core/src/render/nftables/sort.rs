//! kube-proxy's test normalization (`sortNFTablesTransaction`, pkg/proxy/nftables
//! helpers_test.go): what the conformance goldens are stored as.
//!
//! Lines that are empty or start with `#` are dropped; the rest are stably sorted by object type
//! (table, chain, rule, set, map, element), then by object name (the fifth word: the chain of a
//! rule, the set or map of an element); rules of one chain keep their order, other objects of
//! one name are ordered by their whole line. Lines with fewer than five words keep their place
//! relative to everything. The lines are joined with `\n`, without a trailing newline.

use std::cmp::Ordering;

fn object_order(kind: &str) -> u8 {
    match kind {
        "table" => 10,
        "chain" => 9,
        "rule" => 8,
        "set" => 7,
        "map" => 6,
        "element" => 5,
        _ => 0,
    }
}

/// The upstream `less(i, j)`.
fn less(a: &str, b: &str) -> bool {
    let mut wa = a.split(' ');
    let mut wb = b.split(' ');
    let (Some(_), Some(ta), Some(_), Some(_), Some(na)) =
        (wa.next(), wa.next(), wa.next(), wa.next(), wa.next())
    else {
        return false;
    };
    let (Some(_), Some(tb), Some(_), Some(_), Some(nb)) =
        (wb.next(), wb.next(), wb.next(), wb.next(), wb.next())
    else {
        return false;
    };
    if ta != tb {
        return object_order(ta) >= object_order(tb);
    }
    if na != nb {
        return na.as_bytes() < nb.as_bytes();
    }
    if ta == "rule" {
        return false;
    }
    a.as_bytes() < b.as_bytes()
}

/// `sortNFTablesTransaction(text)`.
///
/// # Example
/// ```
/// use svccore::render::nftables::sort_nftables_transaction;
/// let t = "add rule ip t b x\n# c\nadd chain ip t b\nadd rule ip t a y\n\nadd rule ip t b w\n";
/// assert_eq!(
///     sort_nftables_transaction(t),
///     "add chain ip t b\nadd rule ip t a y\nadd rule ip t b x\nadd rule ip t b w"
/// );
/// ```
pub fn sort_nftables_transaction(text: &str) -> String {
    let mut lines: Vec<&str> = text
        .split('\n')
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    lines.sort_by(|a, b| {
        if less(a, b) {
            Ordering::Less
        } else if less(b, a) {
            Ordering::Greater
        } else {
            Ordering::Equal
        }
    });
    lines.join("\n")
}
