//! [`SharedStr`]: a string many objects hold one copy of.

use std::borrow::Borrow;
use std::fmt;
use std::sync::Arc;

/// A string shared by the objects that repeat it (an endpoint's node name and zone): cloning it
/// counts a reference, and it is one pointer wide, so that `Option<SharedStr>` is 8 bytes where
/// `Option<Arc<str>>` is 16. Reads as a `str`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SharedStr(Arc<Box<str>>);

impl SharedStr {
    /// The string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for SharedStr {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for SharedStr {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Hashes and compares as its `str` (the derives go through `Box<str>`), so a set of them is
/// looked up by `&str`.
impl Borrow<str> for SharedStr {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl From<&str> for SharedStr {
    fn from(s: &str) -> SharedStr {
        SharedStr(Arc::new(s.into()))
    }
}

impl From<String> for SharedStr {
    fn from(s: String) -> SharedStr {
        SharedStr(Arc::new(s.into_boxed_str()))
    }
}

impl PartialEq<str> for SharedStr {
    fn eq(&self, other: &str) -> bool {
        **self.0 == *other
    }
}

impl PartialEq<&str> for SharedStr {
    fn eq(&self, other: &&str) -> bool {
        **self.0 == **other
    }
}

impl fmt::Debug for SharedStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self.0, f)
    }
}

impl fmt::Display for SharedStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where an endpoint runs: its node's name and its zone, one pointer for both. Endpoints on
/// one node share one copy (the loader makes one per node and zone), so an endpoint pays 8
/// bytes for the two, and a copy of an endpoint (the proxier's snapshot) counts a reference.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Placement(Option<Arc<Place>>);

#[derive(PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Place {
    node: Option<SharedStr>,
    zone: Option<SharedStr>,
}

impl Placement {
    /// The placement of an endpoint on `node` in `zone` (neither: no allocation).
    pub fn new(node: Option<SharedStr>, zone: Option<SharedStr>) -> Placement {
        if node.is_none() && zone.is_none() {
            return Placement(None);
        }
        Placement(Some(Arc::new(Place { node, zone })))
    }

    /// The node's name (`nodeName`).
    pub fn node(&self) -> Option<&SharedStr> {
        self.0.as_ref()?.node.as_ref()
    }

    /// The zone (`zone`).
    pub fn zone(&self) -> Option<&SharedStr> {
        self.0.as_ref()?.zone.as_ref()
    }
}

impl fmt::Debug for Placement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Placement")
            .field("node", &self.node())
            .field("zone", &self.zone())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_hashes_and_compares_as_its_string() {
        let a = SharedStr::from("node-1");
        let b = a.clone();
        assert!(Arc::ptr_eq(&a.0, &b.0));
        assert_eq!(&*a, "node-1");
        assert_eq!(a, SharedStr::from(String::from("node-1")));
        assert_eq!(format!("{a} {a:?}"), "node-1 \"node-1\"");
        let set: std::collections::HashSet<SharedStr> = [a].into_iter().collect();
        assert!(set.contains("node-1"));
        assert_eq!(std::mem::size_of::<Option<SharedStr>>(), 8);
    }
}
