//! Hash maps and sets with a fixed hasher (ahash with its default keys). Their keys are the
//! cluster's own names, addresses and chain names, so there is no hash flooding to defend
//! against, and nothing depends on their iteration order; SipHash would cost more than the
//! lookups they serve.

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasherDefault;

/// The fixed hasher.
pub(crate) type Fast = BuildHasherDefault<ahash::AHasher>;
/// A `HashMap` with the fixed hasher.
pub(crate) type FastMap<K, V> = HashMap<K, V, Fast>;
/// A `HashSet` with the fixed hasher.
pub(crate) type FastSet<T> = HashSet<T, Fast>;
