//! The loader on JSON text: any bytes give a cluster or an error, never a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The loader reads text that starts with `{` or `[` as JSON; the rest is the YAML target's.
    let t = text.trim_start_matches('\u{feff}').trim_start();
    if !(t.starts_with('{') || t.starts_with('[')) {
        return;
    }
    let _ = svccore::load::load_strs([(Some("fuzz.json"), text)]);
});
