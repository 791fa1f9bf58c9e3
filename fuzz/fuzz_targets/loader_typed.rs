//! The loader's two readers agree: any text (JSON or YAML; the loader picks the format from the
//! first character, as for a file) loads the same with the one-pass typed reader (the default,
//! which hands over to the generic reader when it gives up) as with the generic
//! `serde_json::Value`-tree reader alone (`Loader::generic_reader`), the reference: the same
//! cluster (every object, path and warning, in order), or the same error (text, file and path).
#![no_main]

use libfuzzer_sys::fuzz_target;
use svccore::Loader;

/// What one reader makes of the text: the cluster or the error, as `Debug` text. `Debug` prints
/// every field of the cluster and its objects, so equal text is an equal cluster without a
/// `PartialEq` on `Cluster` that only this target would use.
fn load(text: &str, generic: bool) -> String {
    let mut l = Loader::new();
    l.generic_reader(generic);
    if let Err(e) = l.add_str(Some("fuzz"), text) {
        return format!("add_str: {e:?}");
    }
    match l.finish() {
        Ok(c) => format!("{c:#?}"),
        Err(e) => format!("finish: {e:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let typed = load(text, false);
    let generic = load(text, true);
    assert!(
        typed == generic,
        "the readers differ\n--- typed\n{typed}\n--- generic\n{generic}"
    );
});
