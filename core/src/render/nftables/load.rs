//! The `load` form: every object as an `add` line, in an order `nft -f` accepts (the table,
//! chains, sets, maps, then rules and elements, so nothing is used before it is declared).
//! Within each kind, objects keep kube-proxy's creation order.

use super::model::Table;

/// Writes the `load` form of `t`.
pub(crate) fn write(t: &Table) -> String {
    let mut out = String::with_capacity(
        128 + t.chain_text.len()
            + t.set_text.len()
            + t.map_text.len()
            + t.rule_text.len()
            + t.elem_text.len(),
    );
    t.write_table_line(&mut out);
    out.push_str(&t.chain_text);
    out.push_str(&t.set_text);
    out.push_str(&t.map_text);
    out.push_str(&t.rule_text);
    out.push_str(&t.elem_text);
    out
}
