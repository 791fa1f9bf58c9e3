//! What the loader's two readers make of a text, for the differential targets `loader_typed`
//! and `loader_typed_mutate`.

use svccore::Loader;

/// What one reader makes of the text: the cluster or the error, as `Debug` text. `Debug` prints
/// every field of the cluster and its objects, so equal text is an equal cluster without a
/// `PartialEq` on `Cluster` that only these targets would use. `generic`: the generic reader
/// alone (`Loader::generic_reader`), the reference; else the default (the typed reader, which
/// hands over to the generic reader when it gives up).
pub fn load(text: &str, generic: bool) -> String {
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

/// Panics, showing both, when the readers differ on `text`.
pub fn assert_agree(text: &str) {
    let typed = load(text, false);
    let generic = load(text, true);
    assert!(
        typed == generic,
        "the readers differ on\n{text}\n--- typed\n{typed}\n--- generic\n{generic}"
    );
}
