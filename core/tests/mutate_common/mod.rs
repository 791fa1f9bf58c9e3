//! Edits of manifest text for the loader's property tests (`fuzz_loader`, `typed_reader`).

/// Replaces the value after one of the text's `": "` (JSON) or `: ` (YAML) with `with`: up to
/// the next `,`, newline or `}`. `at` picks which; nothing happens when there is none.
pub fn swap_value(text: &mut String, at: proptest::sample::Index, with: &str) {
    let spots: Vec<usize> = text.match_indices(": ").map(|(i, _)| i + 2).collect();
    if spots.is_empty() {
        return;
    }
    let start = spots[at.index(spots.len())];
    let end = text[start..]
        .find([',', '\n', '}'])
        .map_or(text.len(), |e| start + e);
    text.replace_range(start..end, with);
}

/// Replacement values for [`swap_value`]: wrong types, nulls, edge numbers, kinds, and values
/// the fields of Services and slices give meaning to.
pub const SWAPS: &[&str] = &[
    "null",
    "0",
    "-1",
    "70000",
    "\"\"",
    "\"None\"",
    "[]",
    "{}",
    "[null]",
    "[1]",
    "{\"a\": 1}",
    "true",
    "\"Pod\"",
    "\"List\"",
    "\"ServiceList\"",
    "\"v1\"",
    "\"::\"",
    "\"1.2.3.4/40\"",
    "\"Local\"",
    "\"ClientIP\"",
    "\"*\"",
    "99999999999999999999",
    "18446744073709551615",
    "9223372036854775808",
    "1.5",
    "1e2",
    "\"\\n\"",
    "\"\\u00e9\\n\"",
];
