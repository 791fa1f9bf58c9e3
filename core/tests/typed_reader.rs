//! The one-pass typed reader and the generic (`serde_json::Value`) reader load the same
//! cluster: the same objects, paths and warnings in the same order, and the same errors, on
//! every example, conformance input, bad manifest and raw API list, and on random mutations of
//! them (`Loader::generic_reader` selects the generic one). Without the typed reader (feature
//! `typed-reader` off) there is nothing to compare.
#![cfg(feature = "typed-reader")]

use std::path::{Path, PathBuf};

use crate::mutate_common;

use proptest::prelude::*;
use svccore::validate::{validate, ValidateOptions};
use svccore::Loader;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every manifest of the repository: examples, conformance and node-dump inputs, bad manifests,
/// raw API lists.
fn inputs() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut dirs = vec![
        root().join("examples"),
        root().join("tests/bad-manifests"),
        root().join("tests/raw-api"),
        root().join("tests/kubectl-yaml"),
        root().join("tests/conformance"),
        root().join("tests/node-dumps"),
    ];
    while let Some(d) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
                continue;
            }
            let name = p.file_name().unwrap().to_string_lossy();
            let manifest =
                name.ends_with(".yaml") || name.ends_with(".yml") || name.ends_with(".json");
            if !manifest || name == "expected.json" {
                continue;
            }
            if let Ok(text) = std::fs::read_to_string(&p) {
                out.push((p.strip_prefix(root()).unwrap().display().to_string(), text));
            }
        }
    }
    out.sort();
    out
}

/// What a loader makes of a text: the cluster (Debug, which prints every field), the validation
/// errors, or the error, as text.
fn load(file: &str, text: &str, generic: bool) -> String {
    let mut l = Loader::new();
    l.generic_reader(generic);
    if let Err(e) = l.add_str(Some(file), text) {
        return format!("parse error: {e:?}");
    }
    match l.finish() {
        Ok(c) => {
            let errors = validate(&c, &ValidateOptions::default());
            format!("{c:#?}\n{errors:#?}")
        }
        Err(e) => format!("error: {e:?}"),
    }
}

#[test]
fn typed_and_generic_readers_load_every_input_alike() {
    let inputs = inputs();
    assert!(inputs.len() > 100, "only {} inputs found", inputs.len());
    for (file, text) in &inputs {
        let typed = load(file, text, false);
        let generic = load(file, text, true);
        assert!(
            typed == generic,
            "{file}: the readers differ\n--- typed\n{typed}\n--- generic\n{generic}"
        );
    }
}

#[test]
fn several_inputs_merge_alike() {
    // Objects of later inputs follow those of earlier ones, whichever reader read them (the
    // second text has an error in another object, so it is read by the generic reader).
    let a = "{\"apiVersion\": \"v1\", \"kind\": \"Service\", \"metadata\": {\"name\": \"a\"}, \"spec\": {\"clusterIP\": \"10.96.0.1\", \"ports\": [{\"port\": 80}]}}";
    let b = "apiVersion: v1\nkind: Service\nmetadata: {name: b}\nspec: {ports: [{port: 81}]}\n---\nkind: Widget\napiVersion: x/v1\n---\napiVersion: v1\nkind: Node\nmetadata: {name: n, labels: {a: 1}}\n";
    let c = "[{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"p\", \"labels\": {\"app\": \"a\"}}, \"status\": {\"podIP\": \"10.0.0.9\", \"phase\": \"Running\"}}]";
    let run = |generic: bool| {
        let mut l = Loader::new();
        l.generic_reader(generic);
        for (f, t) in [
            ("a.json", a),
            ("b.yaml", b),
            ("c.json", c),
            ("empty.yaml", "# nothing\n"),
        ] {
            l.add_str(Some(f), t).unwrap();
        }
        format!("{:#?}", l.finish())
    };
    assert_eq!(run(false), run(true));
}

/// Keys to rename a key into (an absent field, a duplicate, a field of another kind).
const KEYS: &[&str] = &[
    "kind",
    "apiVersion",
    "metadata",
    "name",
    "items",
    "spec",
    "ports",
    "port",
    "x",
    "deprecatedTopology",
    "forZones",
    "targetRef",
    "namespace",
    "labels",
    "addressType",
];

fn seeds() -> Vec<String> {
    inputs()
        .into_iter()
        .filter(|(f, _)| !f.contains("bad-manifests"))
        .map(|(_, t)| t)
        .filter(|t| t.len() < 20_000)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn mutated_inputs_load_alike(
        seed in any::<proptest::sample::Index>(),
        swaps in proptest::collection::vec((any::<proptest::sample::Index>(), 0usize..mutate_common::SWAPS.len()), 0..4),
        renames in proptest::collection::vec((any::<proptest::sample::Index>(), 0usize..KEYS.len()), 0..3),
        flips in proptest::collection::vec((any::<proptest::sample::Index>(), any::<u8>()), 0..2),
    ) {
        let seeds = seeds();
        let mut text = seeds[seed.index(seeds.len())].clone();
        // Replace the value after some `: ` with an odd one.
        for (at, which) in swaps {
            mutate_common::swap_value(&mut text, at, mutate_common::SWAPS[which]);
        }
        // Rename some key (JSON `"key":` or YAML `key:`).
        for (at, which) in renames {
            let spots: Vec<(usize, usize)> = text
                .match_indices(':')
                .filter_map(|(i, _)| {
                    let before = &text[..i];
                    let word = before.trim_end_matches('"');
                    let start = word.rfind(|c: char| !c.is_ascii_alphanumeric()).map_or(0, |s| s + 1);
                    (start < word.len()).then_some((start, word.len()))
                })
                .collect();
            if spots.is_empty() { break; }
            let (s, e) = spots[at.index(spots.len())];
            text.replace_range(s..e, KEYS[which]);
        }
        let mut bytes = text.into_bytes();
        for (at, b) in flips {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let typed = load("m", &text, false);
        let generic = load("m", &text, true);
        prop_assert!(typed == generic, "input:\n{}\n--- typed\n{}\n--- generic\n{}", text, typed, generic);
    }
}
