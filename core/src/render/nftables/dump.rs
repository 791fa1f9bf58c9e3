//! The `dump` form: knftables `Fake.Dump()`, the text kube-proxy's unit tests compare. The table,
//! then chains, sets and maps each sorted by name, then the rules chain by chain (in that sorted
//! chain order, each chain's rules in order), then the elements of each set and map (in that
//! sorted order, each container's elements in insertion order).

use super::model::{Container, Span, Table};

/// Object indices sorted by name (names are unique within a kind).
fn sorted_by<'a>(n: usize, name: impl Fn(usize) -> &'a str) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n).collect();
    v.sort_unstable_by(|&a, &b| name(a).as_bytes().cmp(name(b).as_bytes()));
    v
}

/// `items` grouped by `group(item)` (a rank in `0..groups`), keeping their order within a group.
fn grouped(len: usize, groups: usize, group: impl Fn(usize) -> usize) -> Vec<usize> {
    let mut start = vec![0usize; groups + 1];
    for i in 0..len {
        start[group(i) + 1] += 1;
    }
    for g in 0..groups {
        start[g + 1] += start[g];
    }
    let mut out = vec![0usize; len];
    for i in 0..len {
        let g = group(i);
        out[start[g]] = i;
        start[g] += 1;
    }
    out
}

fn rank(order: &[usize]) -> Vec<usize> {
    let mut r = vec![0usize; order.len()];
    for (k, &i) in order.iter().enumerate() {
        r[i] = k;
    }
    r
}

/// Writes the `dump` form of `t`.
pub(crate) fn write(t: &Table) -> String {
    let text = t.text.as_str();
    let mut out = String::with_capacity(text.len());
    let line = |out: &mut String, sp: Span| out.push_str(sp.of(text));
    out.push_str(&text[..t.table_line_end]);
    let chains = sorted_by(t.chains.len(), |i| t.chain_name(i as u32));
    let sets = sorted_by(t.sets.len(), |i| t.set_name(i as u32));
    let maps = sorted_by(t.maps.len(), |i| t.map_name(i as u32));
    for &i in &chains {
        line(&mut out, t.chains[i].line);
    }
    for &i in &sets {
        line(&mut out, t.sets[i].line);
    }
    for &i in &maps {
        line(&mut out, t.maps[i].line);
    }
    let index = t.index();
    let chain_rank = rank(&chains);
    for i in grouped(index.rules.len(), chains.len(), |r| {
        chain_rank[index.rules[r].chain as usize]
    }) {
        line(&mut out, index.rules[i].line);
    }
    // Set elements first, then map elements.
    let set_rank = rank(&sets);
    let map_rank = rank(&maps);
    let n_sets = sets.len();
    for i in grouped(index.elements.len(), n_sets + maps.len(), |e| {
        match index.elements[e].container {
            Container::Set(s) => set_rank[s.0 as usize],
            Container::Map(m) => n_sets + map_rank[m.0 as usize],
        }
    }) {
        line(&mut out, index.elements[i].line);
    }
    out
}
