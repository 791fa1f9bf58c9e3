//! The conformance case folders (`tests/conformance/<mode>/<case>/`), shared by the tests that
//! read them.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// `tests/conformance/<mode>` (`iptables` or `nftables`).
pub fn dir(mode: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/conformance")
        .join(mode)
}

/// Every case folder of `mode` (a folder with a `cluster.json`), sorted. A case missing its
/// `proxy.json` or `expected.txt` fails here rather than being skipped, and so does a mode
/// without cases.
pub fn cases(mode: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir(mode))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("cluster.json").is_file())
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no {mode} conformance cases found");
    for case in &v {
        for file in ["proxy.json", "expected.txt"] {
            assert!(case.join(file).is_file(), "{} lacks {file}", case.display());
        }
    }
    v
}
