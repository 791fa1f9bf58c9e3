//! The loader, validation, snapshot and categorization never panic, whatever the input:
//! random bytes, and random mutations (cuts, byte flips, value swaps) of valid manifests.

use crate::mutate_common;

use proptest::prelude::*;
use svccore::categorize::{categorize, NodeContext};
use svccore::model::IpFamily;
use svccore::snapshot::ProxySnapshot;
use svccore::validate::{validate, ValidateOptions};
use svccore::Loader;

fn run_everything(text: &str) {
    let mut l = Loader::new();
    if l.add_str(Some("fuzz"), text).is_err() {
        return;
    }
    let Ok(c) = l.finish() else { return };
    let _ = validate(&c, &ValidateOptions::default());
    for fam in [IpFamily::IPv4, IpFamily::IPv6] {
        if let Ok(s) = ProxySnapshot::build(&c, fam) {
            for p in &s.ports {
                for n in c
                    .nodes
                    .iter()
                    .map(|n| n.meta.name.as_str())
                    .chain(["", "x"])
                {
                    let _ = categorize(p, &NodeContext::from_cluster(&c, n));
                }
            }
        }
    }
}

fn seeds() -> Vec<String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut v = Vec::new();
    for f in [
        "examples/nginx-study.yaml",
        "examples/kube-system.json",
        "examples/redis.yaml",
    ] {
        v.push(std::fs::read_to_string(root.join(f)).unwrap());
    }
    for case in [
        "overall",
        "affinity-only-terminating",
        "ipv6-localhost-nodeports-enabled",
    ] {
        let p = root
            .join("tests/conformance/iptables")
            .join(case)
            .join("cluster.json");
        v.push(std::fs::read_to_string(p).unwrap());
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        run_everything(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn mutated_manifests_never_panic(
        seed in 0usize..6,
        cut in any::<proptest::sample::Index>(),
        flips in proptest::collection::vec((any::<proptest::sample::Index>(), any::<u8>()), 0..4),
        swaps in proptest::collection::vec((any::<proptest::sample::Index>(), 0usize..mutate_common::SWAPS.len()), 0..4),
        truncate in any::<bool>(),
    ) {
        let seeds = seeds();
        let mut text = seeds[seed].clone().into_bytes();
        for (at, b) in flips {
            let i = at.index(text.len());
            text[i] = b;
        }
        let mut text = String::from_utf8_lossy(&text).into_owned();
        // Replace the value after some `": ` (JSON) or `: ` (YAML) with an odd one.
        for (at, which) in swaps {
            mutate_common::swap_value(&mut text, at, mutate_common::SWAPS[which]);
        }
        if truncate {
            let mut i = cut.index(text.len().max(1));
            while !text.is_char_boundary(i) { i -= 1; }
            text.truncate(i);
        }
        run_everything(&text);
    }
}
