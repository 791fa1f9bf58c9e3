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

/// The first item of a list for each key: a table of the items' indices (4 bytes each) that
/// finds them again by their key, where a set of the keys would hold each key (a namespace and
/// a name are 32 bytes). The checks over every Service or slice of a big cluster use it. (The
/// WebAssembly module, whose size counts more than a big cluster's memory, keeps the keys in
/// std's map instead of linking a second copy of the hash table's code.)
pub(crate) struct FirstOf<'a, T, K> {
    items: &'a [T],
    key: fn(&'a T) -> K,
    #[cfg(not(target_arch = "wasm32"))]
    table: hashbrown::HashTable<u32>,
    #[cfg(not(target_arch = "wasm32"))]
    hasher: Fast,
    #[cfg(target_arch = "wasm32")]
    table: FastMap<K, u32>,
}

impl<'a, T, K: std::hash::Hash + Eq> FirstOf<'a, T, K> {
    /// An empty table for `items` (up to `u32::MAX` of them), keyed by `key`.
    pub(crate) fn new(items: &'a [T], key: fn(&'a T) -> K) -> Self {
        FirstOf {
            items,
            key,
            #[cfg(not(target_arch = "wasm32"))]
            table: hashbrown::HashTable::with_capacity(items.len()),
            #[cfg(not(target_arch = "wasm32"))]
            hasher: Fast::default(),
            #[cfg(target_arch = "wasm32")]
            table: FastMap::with_capacity_and_hasher(items.len(), Fast::default()),
        }
    }

    /// The first item recorded with `items[i]`'s key; `None` (and `i` recorded as the first)
    /// when there is none yet.
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn first_or_insert(&mut self, i: usize) -> Option<&'a T> {
        use std::hash::BuildHasher;
        let (items, key, hasher) = (self.items, self.key, &self.hasher);
        let k = key(&items[i]);
        match self.table.entry(
            hasher.hash_one(&k),
            |&j| key(&items[j as usize]) == k,
            |&j| hasher.hash_one(key(&items[j as usize])),
        ) {
            hashbrown::hash_table::Entry::Occupied(e) => Some(&items[*e.get() as usize]),
            hashbrown::hash_table::Entry::Vacant(e) => {
                e.insert(i as u32);
                None
            }
        }
    }

    /// The first item recorded with `items[i]`'s key; `None` (and `i` recorded as the first)
    /// when there is none yet.
    #[cfg(target_arch = "wasm32")]
    pub(crate) fn first_or_insert(&mut self, i: usize) -> Option<&'a T> {
        match self.table.entry((self.key)(&self.items[i])) {
            std::collections::hash_map::Entry::Occupied(e) => Some(&self.items[*e.get() as usize]),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(i as u32);
                None
            }
        }
    }

    /// Whether an item with key `k` was recorded.
    pub(crate) fn contains(&self, k: &K) -> bool {
        #[cfg(not(target_arch = "wasm32"))]
        {
            use std::hash::BuildHasher;
            let (items, key) = (self.items, self.key);
            self.table
                .find(self.hasher.hash_one(k), |&j| key(&items[j as usize]) == *k)
                .is_some()
        }
        #[cfg(target_arch = "wasm32")]
        self.table.contains_key(k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_of_each_key_is_found_again() {
        let items = ["a1", "b1", "a2", "c1", "b2"];
        let mut firsts = FirstOf::new(&items, |s: &&str| &s[..1]);
        let got: Vec<Option<&&str>> = (0..items.len())
            .map(|i| firsts.first_or_insert(i))
            .collect();
        assert_eq!(got, [None, None, Some(&"a1"), None, Some(&"b1")]);
        assert!(firsts.contains(&"c"));
        assert!(!firsts.contains(&"d"));
    }
}
