//! The `load` form: every object as an `add` line, in an order `nft -f` accepts (the table,
//! chains, sets, maps, then rules and elements, so nothing is used before it is declared).
//! Within each kind, objects keep kube-proxy's creation order. This is the table's own text.

use super::model::Table;

/// The `load` form of `t`.
pub(crate) fn text(t: &Table) -> &str {
    &t.text
}
