//! Every file in `tests/bad-manifests/` holds one fault; `expected.json` names the path the error
//! must carry and a fragment of its message. Load errors and validation errors both count.

use std::path::PathBuf;

use svccore::validate::{validate, ValidateOptions};
use svccore::{Issue, Loader};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/bad-manifests")
}

/// Loads and validates one file the way `svccore validate` does: all errors, in order.
fn errors_of(name: &str, text: &str) -> Vec<Issue> {
    let mut l = Loader::new();
    if let Err(e) = l.add_str(Some(name), text) {
        return e.issues();
    }
    match l.finish() {
        Err(e) => e.issues(),
        Ok(c) => validate(&c, &ValidateOptions::default()),
    }
}

#[test]
fn every_bad_manifest_is_refused_with_its_path() {
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir().join("expected.json")).unwrap())
            .unwrap();
    let cases = expected.as_object().unwrap();
    assert!(
        cases.len() >= 30,
        "need at least 30 distinct faults, have {}",
        cases.len()
    );
    let mut failures = Vec::new();
    for (file, want) in cases {
        let text = std::fs::read_to_string(dir().join(file)).unwrap();
        let errs = errors_of(file, &text);
        let path = want["path"].as_str().unwrap();
        let msg = want["message"].as_str().unwrap();
        let hit = errs.iter().any(|e| {
            e.file.as_deref() == Some(file.as_str())
                && (e.path == path || (path.starts_with("line") && e.path.starts_with("line")))
                && e.message.contains(msg)
        });
        if !hit {
            failures.push(format!("{file}: want `{path}: ...{msg}...`, got {errs:#?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_file_in_the_folder_has_an_expectation() {
    let expected = std::fs::read_to_string(dir().join("expected.json")).unwrap();
    for entry in std::fs::read_dir(dir()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".yaml") || (name.ends_with(".json") && name != "expected.json") {
            assert!(
                expected.contains(&format!("\"{name}\"")),
                "{name} has no expectation"
            );
        }
    }
}
