//! [`LabelMap`]: a small string map in key order, for labels, annotations, selectors and
//! topology labels.
//!
//! Nearly every such map holds a handful of entries (a slice's one `kubernetes.io/service-name`
//! label), and a cluster holds one or more per object: a `BTreeMap<String, String>` allocates a
//! node of about 540 bytes even for one entry, where this is one array of the entries. Lookups
//! are binary searches; the map is built once when loaded and rarely changed afterwards.

use std::collections::BTreeMap;
use std::fmt;

/// A map of strings sorted by key, each key once: the API's `map[string]string`.
///
/// Iteration is in key order, as a `BTreeMap`'s; serialized as a JSON object.
///
/// # Example
/// ```
/// use svccore::model::LabelMap;
/// let mut m: LabelMap = [("b", "2"), ("a", "1")].into_iter().collect();
/// m.insert("a", "one");
/// assert_eq!(m.get("a"), Some("one"));
/// assert_eq!(m.iter().collect::<Vec<_>>(), [("a", "one"), ("b", "2")]);
/// ```
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LabelMap(Box<[(Box<str>, Box<str>)]>);

impl LabelMap {
    /// An empty map (no allocation).
    pub fn new() -> LabelMap {
        LabelMap::default()
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// No entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| (**k).cmp(key))
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.find(key).ok().map(|i| &*self.0[i].1)
    }

    /// Whether `key` has a value.
    pub fn contains_key(&self, key: &str) -> bool {
        self.find(key).is_ok()
    }

    /// Sets `key` to `value`; returns the value it replaced. Copies the entries when adding a
    /// key: meant for building small maps, not for many insertions into a large one.
    pub fn insert(
        &mut self,
        key: impl Into<Box<str>>,
        value: impl Into<Box<str>>,
    ) -> Option<Box<str>> {
        let key = key.into();
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value.into())),
            Err(i) => {
                let mut v = std::mem::take(&mut self.0).into_vec();
                v.insert(i, (key, value.into()));
                self.0 = v.into_boxed_slice();
                None
            }
        }
    }

    /// The entries in key order.
    pub fn iter(&self) -> Iter<'_> {
        Iter(self.0.iter())
    }

    /// The keys in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> + '_ {
        self.0.iter().map(|(k, _)| &**k)
    }

    /// The entries as a `BTreeMap` (for callers that keep or change a map of their own).
    pub fn to_btree(&self) -> BTreeMap<String, String> {
        self.iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }
}

/// The entries of a [`LabelMap`] in key order.
#[derive(Clone, Debug)]
pub struct Iter<'a>(std::slice::Iter<'a, (Box<str>, Box<str>)>);

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a str, &'a str);
    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(k, v)| (&**k, &**v))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back().map(|(k, v)| (&**k, &**v))
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a LabelMap {
    type Item = (&'a str, &'a str);
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// Collects entries; a repeated key keeps its last value, as a `BTreeMap` does.
impl<K: Into<Box<str>>, V: Into<Box<str>>> FromIterator<(K, V)> for LabelMap {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> LabelMap {
        LabelMap::from_entries(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

impl LabelMap {
    /// The map of entries in input order, sorted and deduplicated in place; a repeated key
    /// keeps its last value.
    pub fn from_entries(mut v: Vec<(Box<str>, Box<str>)>) -> LabelMap {
        // Stable: equal keys stay in input order.
        v.sort_by(|a, b| a.0.cmp(&b.0));
        // `dedup_by` keeps the first of a run; moving each later value onto it keeps the last.
        v.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                std::mem::swap(&mut later.1, &mut kept.1);
            }
            same
        });
        LabelMap(super::exact(v).into_boxed_slice())
    }
}

impl From<BTreeMap<String, String>> for LabelMap {
    fn from(m: BTreeMap<String, String>) -> LabelMap {
        // Already in key order, keys unique.
        LabelMap(m.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }
}

impl std::ops::Index<&str> for LabelMap {
    type Output = str;
    /// The value of a key that must be there (panics otherwise, as `BTreeMap` indexing does).
    fn index(&self, key: &str) -> &str {
        self.get(key).expect("no such key in the LabelMap")
    }
}

impl fmt::Debug for LabelMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl serde::Serialize for LabelMap {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_key_order_and_the_last_value_of_a_repeated_key() {
        let entries = [("z", "1"), ("a", "2"), ("z", "0"), ("m", "4"), ("z", "3")];
        let m: LabelMap = entries.into_iter().collect();
        let b: BTreeMap<&str, &str> = entries.into_iter().collect();
        assert_eq!(
            m.iter().collect::<Vec<_>>(),
            b.into_iter().collect::<Vec<_>>()
        );
        assert_eq!(m.get("z"), Some("3"));
        assert_eq!(m.get("b"), None);
        assert!(m.contains_key("m"));
        assert_eq!(m.len(), 3);
    }

    #[test]
    fn insert_adds_in_order_and_replaces() {
        let mut m = LabelMap::new();
        assert!(m.is_empty());
        assert_eq!(m.insert("b", "1"), None);
        assert_eq!(m.insert("a", "2"), None);
        assert_eq!(m.insert("c", "3"), None);
        assert_eq!(m.insert("b", "4").as_deref(), Some("1"));
        assert_eq!(m.keys().collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!(&m["b"], "4");
        assert_eq!(m.to_btree().get("c").map(String::as_str), Some("3"));
    }

    #[test]
    fn serializes_as_a_json_object_like_a_btreemap() {
        let b: BTreeMap<String, String> = [
            ("k8s.io/b".into(), "x".into()),
            ("a".into(), "\"q\"".into()),
        ]
        .into();
        let m = LabelMap::from(b.clone());
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            serde_json::to_string(&b).unwrap()
        );
        assert_eq!(format!("{m:?}"), format!("{b:?}"));
    }
}
