//! The loader's two readers agree: any text (JSON or YAML; the loader picks the format from the
//! first character, as for a file) loads the same with the one-pass typed reader (the default,
//! which hands over to the generic reader when it gives up) as with the generic
//! `serde_json::Value`-tree reader alone (`Loader::generic_reader`), the reference: the same
//! cluster (every object, path and warning, in order), or the same error (text, file and path).
#![no_main]

use libfuzzer_sys::fuzz_target;
#[path = "../common/two_readers.rs"]
mod two_readers;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    two_readers::assert_agree(text);
});
