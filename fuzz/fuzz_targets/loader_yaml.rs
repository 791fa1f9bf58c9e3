//! The loader on YAML text (one or more documents): a cluster or an error, never a panic or a
//! hang, including on deep nesting and alias bombs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Text starting with `{` or `[` goes to the JSON parser: the JSON target covers it.
    let t = text.trim_start_matches('\u{feff}').trim_start();
    if t.starts_with('{') || t.starts_with('[') {
        return;
    }
    let _ = svccore::load::load_strs([(Some("fuzz.yaml"), text)]);
});
