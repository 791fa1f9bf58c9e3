//! The typed reader's block-YAML reader reads what libyaml reads: whenever it reads a text (it
//! hands texts outside its subset back), `serde_yaml_ng` reads the same documents from it, each
//! as the same JSON value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde::Deserialize;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Some(ours) = svccore::load::block_yaml_values(text) else {
        return;
    };
    let libyaml: Result<Vec<serde_json::Value>, String> =
        serde_yaml_ng::Deserializer::from_str(text)
            .map(|d| serde_json::Value::deserialize(d).map_err(|e| e.to_string()))
            .collect();
    assert_eq!(Ok(&ours), libyaml.as_ref(), "on\n{text}");
});
