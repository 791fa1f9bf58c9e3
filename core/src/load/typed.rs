//! The typed reader: one pass over JSON or YAML text straight into the model types, without a
//! `serde_json::Value` tree.
//!
//! It reads what the generic reader of [`super`] reads and nothing else, and gives up (returns
//! `None`) on anything that reader would report or that it cannot decide alone: a field of a
//! known kind with the wrong type, a missing `metadata`/`name`/`port`/`addressType`, an object
//! without `kind`/`apiVersion` that is not the item of a typed list whose kind came first, a
//! duplicated key, a `KubeProxyConfiguration`, a syntax error. The caller then reads the text
//! again with the generic reader, which names the file and path of every error. So this reader
//! never reports anything itself; what it returns equals what the generic reader would build
//! (the same objects, paths and warnings, in the same order).
//!
//! Every field is read leniently ([`F`]): an object of an unknown kind (a Deployment's
//! `spec.selector` is not a string map) still parses, and only the fields of the kinds svccore
//! reads are checked once the object's `kind` is known (`kubectl` prints `kind` after `items`
//! and after an EndpointSlice's `endpoints`).

use std::cell::{Cell, RefCell};
use std::fmt;
use std::marker::PhantomData;
use std::mem::take;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::{append_objects, Cluster};
use crate::fast::FastMap;
use crate::model::*;

/// What the typed reader found in one input: the objects, in input order, and the warnings
/// (in the fields of a [`Cluster`] that hold them), and how many objects it saw.
#[derive(Debug, Default)]
pub(super) struct Found {
    /// Services, slices, Endpoints, Nodes, Pods, ServiceCIDRs and warnings; no other field of
    /// the cluster is set.
    pub objects_of: Cluster,
    /// Objects seen (every kind, skipped ones too; not the lists around them).
    pub objects: usize,
}

thread_local! {
    /// The placements made so far by this thread's current read: every endpoint of a node
    /// and zone holds one [`Placement`].
    static PLACES: RefCell<Places> = RefCell::default();
    /// How many Services and EndpointSlices the text being read holds, about
    /// ([`kind_counts`]), until the first of each is filed.
    static EXPECTED: Cell<KindCounts> = Cell::default();
}

/// The placements of a read, by node name, then by zone (a node has one, or a few). A node's
/// name is held once: the key and its placements share it.
#[derive(Default)]
struct Places {
    by_node: FastMap<SharedStr, Zones>,
    no_node: Zones,
}

type Zones = Vec<(Option<Box<str>>, Placement)>;

/// The read's one placement of `node` and `zone`: looked up by the text read, so that an
/// endpoint of a node and zone already seen allocates nothing.
fn placement(node: Option<&str>, zone: Option<&str>) -> Placement {
    let of = |zones: &Zones| {
        zones
            .iter()
            .find(|(z, _)| z.as_deref() == zone)
            .map(|(_, p)| p.clone())
    };
    PLACES.with_borrow_mut(|places| {
        let (node, zones) = match node {
            None => (None, &mut places.no_node),
            Some(name) => {
                if let Some(p) = places.by_node.get(name).and_then(of) {
                    return p;
                }
                // A zone or a node not seen yet: the name's one copy, then its zones.
                let shared = match places.by_node.get_key_value(name) {
                    Some((shared, _)) => shared.clone(),
                    None => SharedStr::from(name),
                };
                let zones = places.by_node.entry(shared.clone()).or_default();
                (Some(shared), zones)
            }
        };
        if let Some(p) = of(zones) {
            return p;
        }
        let p = Placement::new(node, zone.map(SharedStr::from));
        zones.push((zone.map(Box::from), p.clone()));
        p
    })
}

/// About how many Services and EndpointSlices a text holds: the places where `kind` is followed
/// by `Service` or `EndpointSlice` as a JSON or YAML key and its value. The lists the reader
/// fills are allocated at that size once, instead of grown by doubling, where each step copies
/// all that was read so far and, for a moment, holds it twice (a 100,000-Service list's
/// Services are 30 MB). An owner reference to a Service counts too (the list is then trimmed
/// when read), and a typed list's items without a `kind` do not (the list then grows).
///
/// A text of more than [`SAMPLED`] bytes is not read whole (a pass over a cold 38 MB text
/// costs about 12 ms of its load: benches/README.md, Loader): [`WINDOWS`] stretches of it,
/// spread evenly, are counted, and the counts scaled to its length with an eighth more, so
/// that a list in any order (all Services first, as `kubectl get svc,endpointslices` prints
/// them) is seen in proportion.
fn kind_counts(text: &str) -> KindCounts {
    let b = text.as_bytes();
    if b.len() <= SAMPLED {
        return kinds_in(b, 0..b.len());
    }
    let (step, window) = (b.len() / WINDOWS, SAMPLED / WINDOWS);
    let mut n = KindCounts::default();
    for k in 0..WINDOWS {
        let m = kinds_in(b, k * step..k * step + window);
        n.services += m.services;
        n.slices += m.slices;
    }
    let scale = |c: usize| c.saturating_mul(b.len()) / SAMPLED * 9 / 8;
    KindCounts {
        services: scale(n.services),
        slices: scale(n.slices),
    }
}

/// Texts up to this size are counted whole; longer ones in [`WINDOWS`] stretches of this much
/// in all.
const SAMPLED: usize = 1 << 20;
const WINDOWS: usize = 32;

/// The counts of [`kind_counts`] for the `kind` keys that start in `within` (their values may
/// lie beyond it).
fn kinds_in(b: &[u8], within: std::ops::Range<usize>) -> KindCounts {
    let mut n = KindCounts::default();
    for at in memchr::memmem::find_iter(&b[within.clone()], b"kind") {
        let value = &b[within.start + at + 4..];
        let value = value
            .strip_prefix(b"\"")
            .unwrap_or(value)
            .trim_ascii_start();
        let Some(value) = value.strip_prefix(b":") else {
            continue;
        };
        let value = value.trim_ascii_start();
        let value = value.strip_prefix(b"\"").unwrap_or(value);
        let word = value
            .iter()
            .position(|c| !c.is_ascii_alphanumeric())
            .map_or(value, |end| &value[..end]);
        match word {
            b"Service" => n.services += 1,
            b"EndpointSlice" => n.slices += 1,
            _ => {}
        }
    }
    n
}

#[derive(Clone, Copy, Debug, Default)]
struct KindCounts {
    services: usize,
    slices: usize,
}

impl KindCounts {
    /// The counts, cut so that the room made for them is never more bytes than a text of
    /// `len` bytes, whatever the text repeats (the words in annotations, say).
    fn at_most_the_text(self, len: usize) -> KindCounts {
        KindCounts {
            services: self.services.min(len / size_of::<Service>()),
            slices: self.slices.min(len / size_of::<EndpointSlice>()),
        }
    }
}

/// `list` with room for the expected number of its objects when it is still empty (the first
/// object of its kind in this read); the expectation is used once.
fn expect_room<T>(list: &mut Vec<T>, expected: impl FnOnce(&mut KindCounts) -> &mut usize) {
    if list.capacity() == 0 {
        let mut counts = EXPECTED.get();
        list.reserve_exact(std::mem::take(expected(&mut counts)));
        EXPECTED.set(counts);
    }
}

/// The lists [`expect_room`] sized, trimmed to what was read (in place: an allocator keeps a
/// block shrunk by less than half where it is).
fn trim(found: &mut Found) {
    found.objects_of.services.shrink_to_fit();
    found.objects_of.slices.shrink_to_fit();
}

/// While it lives, this thread's read shares placements and knows what to expect; dropping it
/// forgets them.
struct Sharing;

impl Sharing {
    fn begin(text: &str) -> Sharing {
        PLACES.take();
        EXPECTED.set(kind_counts(text).at_most_the_text(text.len()));
        Sharing
    }
}

impl Drop for Sharing {
    fn drop(&mut self) {
        PLACES.take();
        EXPECTED.take();
    }
}

impl Found {
    fn append(&mut self, o: &mut Found) {
        append_objects(&mut self.objects_of, &mut o.objects_of);
        self.objects += o.objects;
    }
}

/// Reads JSON text (already trimmed, starting with `{` or `[`); `None`: read it the generic way.
pub(super) fn read_json(file: Option<&str>, text: &str) -> Option<Found> {
    let _sharing = Sharing::begin(text);
    let file: Option<SharedStr> = file.map(SharedStr::from);
    let file = file.as_ref();
    let mut found = Found::default();
    let mut de = serde_json::Deserializer::from_str(text);
    let seed = Doc {
        file,
        path: String::new(),
        found: &mut found,
        inherit: None,
    };
    seed.deserialize(&mut de).ok()?;
    de.end().ok()?;
    trim(&mut found);
    Some(found)
}

/// Reads a YAML stream (one or more documents); `None`: read it the generic way.
///
/// Block YAML as `kubectl` prints it is read by [`super::yaml`]; a text outside that subset is
/// read again through libyaml's events. What this reader gives up on there, it would give up on
/// through libyaml too (the same values): the generic reader reads it at once.
pub(super) fn read_yaml(file: Option<&str>, text: &str) -> Option<Found> {
    use super::yaml::{documents, read_document, Outside};
    let _sharing = Sharing::begin(text);
    let file: Option<SharedStr> = file.map(SharedStr::from);
    let file = file.as_ref();
    if let Ok(docs) = documents(text) {
        let mut found = Found::default();
        let single = docs.len() == 1;
        let mut read = Ok(());
        for (i, doc) in docs.iter().enumerate() {
            read = read_document(doc, Doc::document(file, single, i, &mut found));
            if read.is_err() {
                break;
            }
        }
        match read {
            Ok(()) => {
                trim(&mut found);
                return Some(found);
            }
            Err(Outside::Refused) => return None,
            Err(Outside::Subset) => {}
        }
    }
    // Deep flow nesting is refused before libyaml sees it (see `too_deep_flow`).
    if super::too_deep_flow(text).is_some() {
        return None;
    }
    let mut found = Found::default();
    // The documents are named `[i]` only when there are several: look at the second before
    // reading the first. (After a syntax error the iterator repeats the error forever, so it is
    // read one document at a time and left at the first error.)
    let mut docs = serde_yaml_ng::Deserializer::from_str(text);
    let Some(first) = docs.next() else {
        return Some(found);
    };
    let second = docs.next();
    let single = second.is_none();
    let rest = std::iter::once(first).chain(second).chain(docs);
    for (i, de) in rest.enumerate() {
        Doc::document(file, single, i, &mut found)
            .deserialize(de)
            .ok()?;
    }
    trim(&mut found);
    Some(found)
}

/// The error that makes the caller fall back to the generic reader.
fn give_up<E: de::Error>() -> E {
    E::custom("read by the generic reader")
}

/// A field as read: absent, `null`, a value of the expected type, or anything else.
#[derive(Debug, Default)]
enum F<T> {
    #[default]
    Absent,
    Null,
    Val(T),
    Wrong,
}

/// The result of converting a known kind: `Err` gives up.
type R<T> = Result<T, ()>;

impl<T> F<T> {
    /// The generic reader's optional field: absent and `null` are `None`, a wrong type an error.
    fn opt(self) -> R<Option<T>> {
        match self {
            F::Absent | F::Null => Ok(None),
            F::Val(v) => Ok(Some(v)),
            F::Wrong => Err(()),
        }
    }

    fn present(&self) -> bool {
        !matches!(self, F::Absent)
    }
}

impl<T: Default> F<T> {
    fn or_default(self) -> R<T> {
        Ok(self.opt()?.unwrap_or_default())
    }
}

/// A type a lenient field can hold: which of the parser's values it accepts.
trait Leaf<'de>: Sized {
    fn from_bool(_: bool) -> Option<Self> {
        None
    }
    fn from_i64(_: i64) -> Option<Self> {
        None
    }
    fn from_u64(_: u64) -> Option<Self> {
        None
    }
    fn from_str(_: &str) -> Option<Self> {
        None
    }
    fn from_seq<A: SeqAccess<'de>>(mut a: A) -> Result<Option<Self>, A::Error> {
        while a.next_element::<Skip>()?.is_some() {}
        Ok(None)
    }
    fn from_map<A: MapAccess<'de>>(mut a: A) -> Result<Option<Self>, A::Error> {
        while a.next_key_seed(SkipKey)?.is_some() {
            a.next_value::<Skip>()?;
        }
        Ok(None)
    }
    /// A map read into `slot`. An object of [`lenient!`] fills its fields where they lie, so
    /// that a large object (a `spec` of every kind's fields) is not moved level by level.
    fn fill_from_map<A: MapAccess<'de>>(slot: &mut F<Self>, a: A) -> Result<(), A::Error> {
        *slot = val(Self::from_map(a)?);
        Ok(())
    }
}

fn val<T>(v: Option<T>) -> F<T> {
    v.map_or(F::Wrong, F::Val)
}

/// A field read on its own: the value [`InPlace`] writes into an absent one.
impl<'de, T: Leaf<'de>> Deserialize<'de> for F<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut slot = F::Absent;
        d.deserialize_any(InPlace(&mut slot))?;
        Ok(slot)
    }
}

impl Leaf<'_> for String {
    fn from_str(s: &str) -> Option<Self> {
        Some(s.to_owned())
    }
}

/// A string kept as it is read (an endpoint's address, hostname, pod name).
impl Leaf<'_> for Box<str> {
    fn from_str(s: &str) -> Option<Self> {
        Some(s.into())
    }
}

/// A short string, held in place when it fits (an address).
impl Leaf<'_> for Str {
    fn from_str(s: &str) -> Option<Self> {
        Some(s.into())
    }
}

/// An endpoint's `addresses`, read without a list around the one address most have; every
/// entry a string.
impl<'de> Leaf<'de> for Addresses {
    fn from_seq<A: SeqAccess<'de>>(mut a: A) -> Result<Option<Self>, A::Error> {
        let first = match a.next_element::<F<Str>>()? {
            None => return Ok(Some(Addresses::default())),
            Some(F::Val(first)) => first,
            Some(_) => return Ok(Vec::<Str>::from_seq(a)?.and(None)),
        };
        let Some(second) = a.next_element::<F<Str>>()? else {
            return Ok(Some(Addresses::one(first)));
        };
        let rest = Vec::<Str>::from_seq(a)?;
        Ok(match (second, rest) {
            (F::Val(second), Some(rest)) => {
                let mut all = Vec::with_capacity(2 + rest.len());
                all.extend([first, second]);
                all.extend(rest);
                Some(all.into())
            }
            _ => None,
        })
    }
}

impl Leaf<'_> for bool {
    fn from_bool(b: bool) -> Option<Self> {
        Some(b)
    }
}

/// An integer field: a number above `i64::MAX` reads as `i64::MAX`, as the generic reader has it.
impl Leaf<'_> for i64 {
    fn from_i64(n: i64) -> Option<Self> {
        Some(n)
    }
    fn from_u64(n: u64) -> Option<Self> {
        Some(i64::try_from(n).unwrap_or(i64::MAX))
    }
}

/// `targetPort`: an integer within `i64`, or a string kept as written.
impl Leaf<'_> for IntOrString {
    fn from_i64(n: i64) -> Option<Self> {
        Some(IntOrString::Int(n))
    }
    fn from_u64(n: u64) -> Option<Self> {
        i64::try_from(n).ok().map(IntOrString::Int)
    }
    fn from_str(s: &str) -> Option<Self> {
        Some(IntOrString::Str(s.into()))
    }
}

/// `targetRef.kind`: only whether it is `Pod` matters (no copy of the string).
#[derive(Debug, Default)]
struct IsPod(bool);

impl Leaf<'_> for IsPod {
    fn from_str(s: &str) -> Option<Self> {
        Some(IsPod(s == "Pod"))
    }
}

/// An EndpointSlice endpoint, converted as soon as it is read: a slice holds up to 1000 of
/// them, and this keeps one raw entry alive at a time. `None` (a wrong type) only matters if
/// the object turns out to be an EndpointSlice.
#[derive(Debug)]
struct SliceEndpoint(crate::model::Endpoint);

impl<'de> Leaf<'de> for SliceEndpoint {
    fn from_map<A: MapAccess<'de>>(a: A) -> Result<Option<Self>, A::Error> {
        let mut raw = Endpoint::default();
        raw.fill(a)?;
        Ok(slice_endpoint(raw).ok().map(SliceEndpoint))
    }
}

/// A list whose every entry has the expected type (`null` entries do not).
impl<'de, T: Leaf<'de>> Leaf<'de> for Vec<T> {
    fn from_seq<A: SeqAccess<'de>>(mut a: A) -> Result<Option<Self>, A::Error> {
        let mut out = Vec::with_capacity(a.size_hint().unwrap_or(0).min(4096));
        let mut ok = true;
        while let Some(e) = a.next_element::<F<T>>()? {
            match e {
                F::Val(v) => out.push(v),
                _ => ok = false,
            }
        }
        // Lists kept in the model are held at their size (a list of one grew to four).
        Ok(ok.then(|| crate::model::exact(out)))
    }
}

/// A map of strings (labels, selectors); a repeated key keeps its last value, as a JSON object
/// read into a tree does.
impl<'de> Leaf<'de> for LabelMap {
    fn from_map<A: MapAccess<'de>>(mut a: A) -> Result<Option<Self>, A::Error> {
        let mut out = Vec::new();
        let mut ok = true;
        while let Some(k) = a.next_key_seed(Key)? {
            match a.next_value::<F<Box<str>>>()? {
                F::Val(v) => out.push((k.into_boxed_str(), v)),
                _ => ok = false,
            }
        }
        Ok(ok.then(|| LabelMap::from_entries(out)))
    }
}

/// A map key, read as the generic reader reads it (`deserialize_str`: YAML's `80:` is "80").
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = String;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl Visitor<'_> for KeyVisitor {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }
    fn visit_str<E>(self, s: &str) -> Result<String, E> {
        Ok(s.to_owned())
    }
}

/// Any value, read and dropped the way the generic reader reads it into a tree (the same
/// nesting limit, the same keys), so that a text it refuses is never accepted here.
/// (`IgnoredAny` takes serde_json's faster skipping path, which has no nesting limit.)
struct Skip;

impl<'de> Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(SkipVisitor)
    }
}

struct SkipVisitor;

impl<'de> Visitor<'de> for SkipVisitor {
    type Value = Skip;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_unit<E>(self) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_none<E>(self) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Skip, D::Error> {
        Skip::deserialize(d)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_str<E>(self, _: &str) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Skip, A::Error> {
        while a.next_element::<Skip>()?.is_some() {}
        Ok(Skip)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Skip, A::Error> {
        while a.next_key_seed(SkipKey)?.is_some() {
            a.next_value::<Skip>()?;
        }
        Ok(Skip)
    }
}

/// A map key, dropped.
struct SkipKey;

impl<'de> DeserializeSeed<'de> for SkipKey {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for SkipKey {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
}

/// Reads the next value into an absent field; a repeated key gives up.
fn set<'de, T: Leaf<'de>, A: MapAccess<'de>>(slot: &mut F<T>, a: &mut A) -> Result<(), A::Error> {
    if slot.present() {
        return Err(give_up());
    }
    a.next_value_seed(InPlace(slot))
}

/// Reads a value into a field: absent, `null`, the value of `T` or wrong (see [`Leaf`]); a
/// map through [`Leaf::fill_from_map`], which fills an object where it lies. Every field is
/// read through it, also [`F`]'s `Deserialize`.
struct InPlace<'s, T>(&'s mut F<T>);

impl<'de, T: Leaf<'de>> DeserializeSeed<'de> for InPlace<'_, T> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, T: Leaf<'de>> Visitor<'de> for InPlace<'_, T> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        *self.0 = F::Null;
        Ok(())
    }
    fn visit_none<E>(self) -> Result<(), E> {
        *self.0 = F::Null;
        Ok(())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
    fn visit_bool<E>(self, b: bool) -> Result<(), E> {
        *self.0 = val(T::from_bool(b));
        Ok(())
    }
    fn visit_i64<E>(self, n: i64) -> Result<(), E> {
        *self.0 = val(T::from_i64(n));
        Ok(())
    }
    fn visit_u64<E>(self, n: u64) -> Result<(), E> {
        *self.0 = val(T::from_u64(n));
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        *self.0 = F::Wrong;
        Ok(())
    }
    fn visit_str<E>(self, s: &str) -> Result<(), E> {
        *self.0 = val(T::from_str(s));
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, a: A) -> Result<(), A::Error> {
        *self.0 = val(T::from_seq(a)?);
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, a: A) -> Result<(), A::Error> {
        T::fill_from_map(self.0, a)
    }
}

/// Reads a map key into the key enum `K` of a [`lenient!`] object.
struct KeyOf<K>(PhantomData<K>);

/// An object with lenient fields: `lenient!(Name, NameKey { field: Type = "jsonName", ... })`
/// declares the struct, the enum of its keys and how a map fills it (other keys are skipped).
macro_rules! lenient {
    ($(#[$m:meta])* $t:ident, $k:ident { $($f:ident: $ty:ty = $key:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Default)]
        struct $t {
            $($f: F<$ty>,)*
        }

        #[allow(non_camel_case_types)]
        enum $k {
            $($f,)*
            Other,
        }

        impl<'de> DeserializeSeed<'de> for KeyOf<$k> {
            type Value = $k;
            fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<$k, D::Error> {
                d.deserialize_str(self)
            }
        }

        impl Visitor<'_> for KeyOf<$k> {
            type Value = $k;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_str<E>(self, s: &str) -> Result<$k, E> {
                Ok(match s {
                    $($key => $k::$f,)*
                    _ => $k::Other,
                })
            }
        }

        impl $t {
            /// Reads a map's keys into the fields (each starts absent).
            fn fill<'de, A: MapAccess<'de>>(&mut self, mut a: A) -> Result<(), A::Error> {
                while let Some(k) = a.next_key_seed(KeyOf::<$k>(PhantomData))? {
                    match k {
                        $($k::$f => set(&mut self.$f, &mut a)?,)*
                        $k::Other => {
                            a.next_value::<Skip>()?;
                        }
                    }
                }
                Ok(())
            }
        }

        impl<'de> Leaf<'de> for $t {
            fn from_map<A: MapAccess<'de>>(a: A) -> Result<Option<Self>, A::Error> {
                let mut s = $t::default();
                s.fill(a)?;
                Ok(Some(s))
            }
            fn fill_from_map<A: MapAccess<'de>>(
                slot: &mut F<Self>,
                a: A,
            ) -> Result<(), A::Error> {
                *slot = F::Val($t::default());
                match slot {
                    F::Val(s) => s.fill(a),
                    _ => Ok(()),
                }
            }
        }
    };
}

// The fields of every kind svccore reads, merged: an object's kind is known only once it is
// read whole.

lenient!(
    Meta,
    MetaKey {
        name: Str = "name",
        namespace: Str = "namespace",
        labels: LabelMap = "labels",
        annotations: LabelMap = "annotations",
        deletion_timestamp: String = "deletionTimestamp",
    }
);

lenient!(
    /// A Service's, a Node's, a Pod's or a ServiceCIDR's `spec`.
    Spec, SpecKey {
    type_: String = "type",
    cluster_ip: String = "clusterIP",
    cluster_ips: Vec<String> = "clusterIPs",
    ip_families: Vec<String> = "ipFamilies",
    ip_family_policy: String = "ipFamilyPolicy",
    ports: Vec<Port> = "ports",
    selector: LabelMap = "selector",
    external_ips: Vec<String> = "externalIPs",
    external_name: String = "externalName",
    load_balancer_ip: String = "loadBalancerIP",
    load_balancer_source_ranges: Vec<String> = "loadBalancerSourceRanges",
    external_traffic_policy: String = "externalTrafficPolicy",
    internal_traffic_policy: String = "internalTrafficPolicy",
    health_check_node_port: i64 = "healthCheckNodePort",
    session_affinity: String = "sessionAffinity",
    session_affinity_config: AffinityConfig = "sessionAffinityConfig",
    topology_keys: Vec<String> = "topologyKeys",
    traffic_distribution: String = "trafficDistribution",
    publish_not_ready_addresses: bool = "publishNotReadyAddresses",
    pod_cidrs: Vec<String> = "podCIDRs",
    pod_cidr: String = "podCIDR",
    node_name: String = "nodeName",
    hostname: String = "hostname",
    containers: Vec<Container> = "containers",
    cidrs: Vec<String> = "cidrs",
});

lenient!(
    /// A Service's, a Node's or a Pod's `status`.
    Status, StatusKey {
    load_balancer: LoadBalancer = "loadBalancer",
    addresses: Vec<NodeAddr> = "addresses",
    phase: String = "phase",
    pod_ips: Vec<PodIp> = "podIPs",
    pod_ip: String = "podIP",
    conditions: Vec<Condition> = "conditions",
});

lenient!(
    /// A port of a Service, an EndpointSlice, a legacy Endpoints subset or a container.
    Port, PortKey {
    name: String = "name",
    port: i64 = "port",
    protocol: String = "protocol",
    app_protocol: Box<str> = "appProtocol",
    target_port: IntOrString = "targetPort",
    node_port: i64 = "nodePort",
    container_port: i64 = "containerPort",
});

lenient!(Endpoint, EndpointKey {
    addresses: Addresses = "addresses",
    conditions: Conditions = "conditions",
    node_name: Str = "nodeName",
    zone: Str = "zone",
    hostname: Box<str> = "hostname",
    hints: Hints = "hints",
    deprecated_topology: LabelMap = "deprecatedTopology",
    topology: LabelMap = "topology",
    target_ref: Ref = "targetRef",
});

lenient!(
    Conditions,
    ConditionsKey {
        ready: bool = "ready",
        serving: bool = "serving",
        terminating: bool = "terminating",
    }
);

lenient!(Hints, HintsKey {
    for_zones: Vec<Name> = "forZones",
    for_nodes: Vec<Name> = "forNodes",
});

lenient!(
    Name,
    NameKey {
        name: Box<str> = "name",
    }
);

lenient!(
    Ref,
    RefKey {
        kind: IsPod = "kind",
        name: String = "name",
    }
);

lenient!(LoadBalancer, LoadBalancerKey {
    ingress: Vec<Ingress> = "ingress",
});

lenient!(
    Ingress,
    IngressKey {
        ip: String = "ip",
        hostname: String = "hostname",
        ip_mode: String = "ipMode",
    }
);

lenient!(
    AffinityConfig,
    AffinityConfigKey {
        client_ip: ClientIp = "clientIP",
    }
);

lenient!(
    ClientIp,
    ClientIpKey {
        timeout_seconds: i64 = "timeoutSeconds",
    }
);

lenient!(Container, ContainerKey {
    ports: Vec<Port> = "ports",
});

lenient!(Subset, SubsetKey {
    addresses: Vec<Address> = "addresses",
    not_ready_addresses: Vec<Address> = "notReadyAddresses",
    ports: Vec<Port> = "ports",
});

lenient!(
    Address,
    AddressKey {
        ip: String = "ip",
        node_name: String = "nodeName",
        hostname: String = "hostname",
        target_ref: Ref = "targetRef",
    }
);

lenient!(PodIp, PodIpKey { ip: String = "ip" });

lenient!(
    Condition,
    ConditionKey {
        type_: String = "type",
        status: String = "status",
    }
);

lenient!(
    NodeAddr,
    NodeAddrKey {
        type_: String = "type",
        address: String = "address",
    }
);

lenient!(
    /// The top-level fields of an object of any kind svccore reads. `items` is read by
    /// [`Items`], into the objects of the list, before the kind says whether this is a list.
    Object, ObjectKey {
    api_version: Str = "apiVersion",
    kind: Str = "kind",
    metadata: Meta = "metadata",
    spec: Spec = "spec",
    status: Status = "status",
    address_type: Str = "addressType",
    ports: Vec<Port> = "ports",
    endpoints: Vec<SliceEndpoint> = "endpoints",
    subsets: Vec<Subset> = "subsets",
    items: Found = "items",
});

/// `items` is only read by [`Items`].
impl Leaf<'_> for Found {}

/// The item kind and apiVersion of a typed list (`ServiceList` → `Service`), when the list's
/// `kind` and `apiVersion` came before its `items`.
type Inherit<'a> = Option<(&'a str, &'a str)>;

/// A document, a list entry or an `items` entry: an object, a list of them, or `null`.
struct Doc<'a, 'f> {
    file: Option<&'a SharedStr>,
    path: String,
    found: &'f mut Found,
    inherit: Inherit<'a>,
}

impl<'a, 'f> Doc<'a, 'f> {
    /// Document `i` of a YAML stream, named `[i]` when the stream holds several.
    fn document(file: Option<&'a SharedStr>, single: bool, i: usize, found: &'f mut Found) -> Self {
        Doc {
            file,
            path: if single {
                String::new()
            } else {
                format!("[{i}]")
            },
            found,
            inherit: None,
        }
    }
}

impl<'de> DeserializeSeed<'de> for Doc<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Doc<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Kubernetes object")
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, a: A) -> Result<(), A::Error> {
        read_docs(a, self.file, &self.path, self.found, None)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<(), A::Error> {
        let mut o = Object::default();
        while let Some(key) = a.next_key_seed(KeyOf::<ObjectKey>(PhantomData))? {
            match key {
                ObjectKey::api_version => set(&mut o.api_version, &mut a)?,
                ObjectKey::kind => set(&mut o.kind, &mut a)?,
                ObjectKey::metadata => set(&mut o.metadata, &mut a)?,
                ObjectKey::spec => set(&mut o.spec, &mut a)?,
                ObjectKey::status => set(&mut o.status, &mut a)?,
                ObjectKey::address_type => set(&mut o.address_type, &mut a)?,
                ObjectKey::ports => set(&mut o.ports, &mut a)?,
                ObjectKey::endpoints => set(&mut o.endpoints, &mut a)?,
                ObjectKey::subsets => set(&mut o.subsets, &mut a)?,
                ObjectKey::items => {
                    if o.items.present() {
                        return Err(give_up());
                    }
                    let inherit = match (&o.kind, &o.api_version) {
                        (F::Val(k), F::Val(api)) => k
                            .strip_suffix("List")
                            .filter(|_| is_typed_list(k))
                            .map(|k| (k, api.as_str())),
                        _ => None,
                    };
                    o.items = a.next_value_seed(Items {
                        file: self.file,
                        path: field(&self.path, "items"),
                        inherit,
                    })?;
                }
                // Keys that are not fields of the kinds read here, or fields only a
                // KubeProxyConfiguration has (which gives up below).
                ObjectKey::Other => {
                    a.next_value::<Skip>()?;
                }
            }
        }
        self.object(&mut o).map_err(|()| give_up())
    }
}

impl Doc<'_, '_> {
    /// Files an object read whole, as the generic reader's `add_object` does.
    fn object(self, o: &mut Object) -> R<()> {
        let (kind, api) = match (take(&mut o.kind), take(&mut o.api_version)) {
            (F::Val(k), F::Val(a)) => (k, a),
            // A typed list's item without a kind takes the list's kind, and its apiVersion
            // when it has none either.
            (F::Absent | F::Null, api) => match (self.inherit, api) {
                (Some((k, a)), F::Absent | F::Null) => (k.into(), a.into()),
                (Some((k, _)), F::Val(a)) => (k.into(), a),
                _ => return Err(()),
            },
            _ => return Err(()),
        };
        let loc = Loc {
            file: self.file.cloned(),
            path: self.path.into(),
        };
        let found = self.found;
        if is_list_kind(&kind) {
            match take(&mut o.items) {
                F::Absent | F::Null => {}
                F::Val(mut items) => found.append(&mut items),
                F::Wrong => return Err(()),
            }
            return Ok(());
        }
        found.objects += 1;
        match kind.as_str() {
            "Service" if api == "v1" => {
                expect_room(&mut found.objects_of.services, |n| &mut n.services);
                let s = service(
                    loc,
                    take(&mut o.metadata),
                    take(&mut o.spec),
                    take(&mut o.status),
                )?;
                found.objects_of.services.push(s);
            }
            "EndpointSlice" if api.starts_with("discovery.k8s.io/") => {
                expect_room(&mut found.objects_of.slices, |n| &mut n.slices);
                let s = endpoint_slice(
                    loc,
                    take(&mut o.metadata),
                    take(&mut o.address_type),
                    take(&mut o.ports),
                    take(&mut o.endpoints),
                )?;
                found.objects_of.slices.push(s);
            }
            "Endpoints" if api == "v1" => {
                let e = endpoints(loc, take(&mut o.metadata), take(&mut o.subsets))?;
                found.objects_of.endpoints.push(e);
            }
            "Node" if api == "v1" => {
                let n = node(
                    loc,
                    take(&mut o.metadata),
                    take(&mut o.spec),
                    take(&mut o.status),
                )?;
                found.objects_of.nodes.push(n);
            }
            "Pod" if api == "v1" => {
                let p = pod(
                    loc,
                    take(&mut o.metadata),
                    take(&mut o.spec),
                    take(&mut o.status),
                )?;
                found.objects_of.pods.push(p);
            }
            "ServiceCIDR"
                if matches!(
                    api.as_str(),
                    "networking.k8s.io/v1" | "networking.k8s.io/v1beta1"
                ) =>
            {
                let mut s = ServiceCidr {
                    meta: meta(take(&mut o.metadata))?,
                    loc,
                    ..Default::default()
                };
                s.meta.namespace.clear();
                if let Some(spec) = take(&mut o.spec).opt()? {
                    s.cidrs = spec.cidrs.or_default()?;
                }
                found.objects_of.service_cidrs.push(s);
            }
            // Small and rare (a kube-proxy ConfigMap's `config.conf`): the generic reader.
            "KubeProxyConfiguration" if api.starts_with("kubeproxy.config.k8s.io/") => {
                return Err(())
            }
            _ => found.objects_of.warnings.push(loc.issue(
                "",
                format!("skipping {kind} ({api}): not a kind svccore uses"),
            )),
        }
        Ok(())
    }
}

fn field(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn is_list_kind(kind: &str) -> bool {
    kind == "List" || is_typed_list(kind)
}

fn is_typed_list(kind: &str) -> bool {
    matches!(
        kind,
        "ServiceList"
            | "EndpointSliceList"
            | "EndpointsList"
            | "NodeList"
            | "PodList"
            | "ServiceCIDRList"
    )
}

/// Reads each element of a list as a [`Doc`] at `path[i]`.
fn read_docs<'de, A: SeqAccess<'de>>(
    mut a: A,
    file: Option<&SharedStr>,
    path: &str,
    found: &mut Found,
    inherit: Inherit<'_>,
) -> Result<(), A::Error> {
    for i in 0usize.. {
        let seed = Doc {
            file,
            path: format!("{path}[{i}]"),
            found: &mut *found,
            inherit,
        };
        if a.next_element_seed(seed)?.is_none() {
            break;
        }
    }
    Ok(())
}

/// The `items` of an object whose kind may not be known yet: read into their own [`Found`].
struct Items<'a> {
    file: Option<&'a SharedStr>,
    path: String,
    inherit: Inherit<'a>,
}

impl<'de> DeserializeSeed<'de> for Items<'_> {
    type Value = F<Found>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<F<Found>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Items<'_> {
    type Value = F<Found>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of objects")
    }
    fn visit_unit<E>(self) -> Result<F<Found>, E> {
        Ok(F::Null)
    }
    fn visit_none<E>(self) -> Result<F<Found>, E> {
        Ok(F::Null)
    }
    fn visit_bool<E>(self, _: bool) -> Result<F<Found>, E> {
        Ok(F::Wrong)
    }
    fn visit_i64<E>(self, _: i64) -> Result<F<Found>, E> {
        Ok(F::Wrong)
    }
    fn visit_u64<E>(self, _: u64) -> Result<F<Found>, E> {
        Ok(F::Wrong)
    }
    fn visit_f64<E>(self, _: f64) -> Result<F<Found>, E> {
        Ok(F::Wrong)
    }
    fn visit_str<E>(self, _: &str) -> Result<F<Found>, E> {
        Ok(F::Wrong)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<F<Found>, A::Error> {
        while a.next_key_seed(SkipKey)?.is_some() {
            a.next_value::<Skip>()?;
        }
        Ok(F::Wrong)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, a: A) -> Result<F<Found>, A::Error> {
        let mut found = Found::default();
        read_docs(a, self.file, &self.path, &mut found, self.inherit)?;
        Ok(F::Val(found))
    }
}

fn meta(m: F<Meta>) -> R<ObjectMeta> {
    let m = m.opt()?.ok_or(())?;
    let name = match m.name {
        F::Val(n) => n,
        F::Null => Str::default(),
        F::Absent | F::Wrong => return Err(()),
    };
    let namespace = m
        .namespace
        .opt()?
        .filter(|ns| !ns.is_empty())
        .unwrap_or_else(|| "default".into());
    Ok(ObjectMeta {
        name,
        namespace,
        labels: m.labels.or_default()?,
        annotations: m.annotations.or_default()?,
        deleting: m.deletion_timestamp.opt()?.is_some(),
    })
}

fn protocol(p: F<String>) -> R<Protocol> {
    Ok(p.opt()?.map(|s| Protocol::parse(&s)).unwrap_or_default())
}

fn pod_name(r: F<Ref>) -> R<Option<String>> {
    let Some(t) = r.opt()? else { return Ok(None) };
    if t.kind.opt()?.is_some_and(|k| k.0) {
        t.name.opt()
    } else {
        Ok(None)
    }
}

/// Converts every entry of a list read; the result is allocated at its size.
fn convert<T, U>(list: Vec<T>, mut f: impl FnMut(T) -> R<U>) -> R<Vec<U>> {
    let mut out = Vec::with_capacity(list.len());
    for x in list {
        out.push(f(x)?);
    }
    Ok(out)
}

fn service(loc: Loc, m: F<Meta>, spec: F<Spec>, status: F<Status>) -> R<Service> {
    let meta = meta(m)?;
    let spec = spec.opt()?.unwrap_or_default();
    let ports = convert(spec.ports.or_default()?, |p| {
        let port = match p.port {
            F::Val(n) => n,
            F::Null => 0,
            F::Absent | F::Wrong => return Err(()),
        };
        Ok(ServicePort {
            name: p.name.or_default()?,
            protocol: protocol(p.protocol)?,
            port,
            target_port: p.target_port.opt()?,
            node_port: p.node_port.opt()?,
            app_protocol: p.app_protocol.opt()?,
        })
    })?;
    let mut lb_ingress = Vec::new();
    if let Some(st) = status.opt()? {
        if let Some(lb) = st.load_balancer.opt()? {
            lb_ingress = convert(lb.ingress.or_default()?, |ing| {
                Ok(LoadBalancerIngress {
                    ip: ing.ip.opt()?,
                    hostname: ing.hostname.opt()?,
                    ip_mode: ing.ip_mode.opt()?,
                })
            })?;
        }
    }
    let mut affinity_timeout = None;
    if let Some(sac) = spec.session_affinity_config.opt()? {
        if let Some(cip) = sac.client_ip.opt()? {
            affinity_timeout = cip.timeout_seconds.opt()?;
        }
    }
    let mut s = Service {
        loc,
        meta,
        type_: spec
            .type_
            .opt()?
            .map(|t| ServiceType::parse(&t))
            .unwrap_or_default(),
        cluster_ip: spec.cluster_ip.opt()?,
        ports,
        selector: spec.selector.opt()?,
        external_traffic_policy: spec
            .external_traffic_policy
            .opt()?
            .map(|t| TrafficPolicy::parse(&t)),
        internal_traffic_policy: spec
            .internal_traffic_policy
            .opt()?
            .map(|t| TrafficPolicy::parse(&t)),
        session_affinity: match spec.session_affinity.opt()?.as_deref() {
            None | Some("None") => SessionAffinity::None,
            Some("ClientIP") => SessionAffinity::ClientIP,
            Some(o) => SessionAffinity::Other(o.into()),
        },
        publish_not_ready_addresses: spec.publish_not_ready_addresses.opt()?.unwrap_or(false),
        ..Service::default()
    };
    s.set_more(ServiceMore {
        cluster_ips: spec.cluster_ips.or_default()?,
        ip_families: spec.ip_families.or_default()?,
        ip_family_policy: spec.ip_family_policy.opt()?,
        external_ips: spec.external_ips.or_default()?,
        external_name: spec.external_name.opt()?,
        load_balancer_ip: spec.load_balancer_ip.opt()?,
        load_balancer_source_ranges: spec.load_balancer_source_ranges.or_default()?,
        lb_ingress,
        health_check_node_port: spec.health_check_node_port.opt()?,
        affinity_timeout,
        topology_keys: spec.topology_keys.or_default()?,
        traffic_distribution: spec.traffic_distribution.opt()?,
    });
    Ok(s)
}

/// `hints.forZones` / `hints.forNodes`: present (even `null`) means a list, of the entries
/// that have a name.
fn hint_names(v: F<Vec<Name>>) -> R<Option<Box<[Box<str>]>>> {
    if !v.present() {
        return Ok(None);
    }
    let mut out = Vec::new();
    for n in v.or_default()? {
        out.extend(n.name.opt()?);
    }
    Ok(Some(crate::model::exact(out).into_boxed_slice()))
}

fn endpoint_slice(
    loc: Loc,
    m: F<Meta>,
    address_type: F<Str>,
    ports: F<Vec<Port>>,
    eps: F<Vec<SliceEndpoint>>,
) -> R<EndpointSlice> {
    let meta = meta(m)?;
    let address_type = match address_type {
        F::Val(t) => t,
        F::Null => Str::default(),
        F::Absent | F::Wrong => return Err(()),
    };
    let out_ports = convert(ports.or_default()?, |p| {
        Ok(EndpointPort {
            name: p.name.opt()?,
            port: p.port.opt()?,
            protocol: protocol(p.protocol)?,
            app_protocol: p.app_protocol.opt()?,
        })
    })?;
    // Collected in place: the list read is already at its size.
    let endpoints: Vec<_> = eps.or_default()?.into_iter().map(|e| e.0).collect();
    Ok(EndpointSlice {
        loc,
        meta,
        address_type,
        ports: out_ports,
        endpoints,
    })
}

fn slice_endpoint(e: Endpoint) -> R<crate::model::Endpoint> {
    let (ready, serving, terminating) = match e.conditions.opt()? {
        Some(c) => (c.ready.opt()?, c.serving.opt()?, c.terminating.opt()?),
        None => (None, None, None),
    };
    let (hints_zones, hints_nodes) = match e.hints.opt()? {
        Some(h) => (hint_names(h.for_zones)?, hint_names(h.for_nodes)?),
        None => (None, None),
    };
    // v1 names the legacy labels `deprecatedTopology` (present, even `null`, wins).
    let topology = if e.deprecated_topology.present() {
        e.deprecated_topology
    } else {
        e.topology
    };
    let mut out = crate::model::Endpoint::at(e.addresses.or_default()?);
    out.ready = ready;
    out.serving = serving;
    out.terminating = terminating;
    out.place = placement(e.node_name.opt()?.as_deref(), e.zone.opt()?.as_deref());
    out.target_pod = pod_name(e.target_ref)?.map(Box::from);
    out.set_hints(hints_zones, hints_nodes);
    out.set_topology(topology.or_default()?);
    out.set_hostname(e.hostname.opt()?);
    Ok(out)
}

fn endpoint_addresses(v: F<Vec<Address>>) -> R<Vec<EndpointAddress>> {
    convert(v.or_default()?, |a| {
        Ok(EndpointAddress {
            ip: a.ip.or_default()?,
            node_name: a.node_name.opt()?,
            hostname: a.hostname.opt()?,
            target_pod: pod_name(a.target_ref)?,
        })
    })
}

fn endpoints(loc: Loc, m: F<Meta>, subsets: F<Vec<Subset>>) -> R<Endpoints> {
    let meta = meta(m)?;
    let out = convert(subsets.or_default()?, |s| {
        Ok(EndpointSubset {
            addresses: endpoint_addresses(s.addresses)?,
            not_ready_addresses: endpoint_addresses(s.not_ready_addresses)?,
            ports: convert(s.ports.or_default()?, |p| {
                Ok((
                    p.name.or_default()?,
                    p.port.opt()?.unwrap_or(0),
                    protocol(p.protocol)?,
                ))
            })?,
        })
    })?;
    Ok(Endpoints {
        loc,
        meta,
        subsets: out,
    })
}

fn node(loc: Loc, m: F<Meta>, spec: F<Spec>, status: F<Status>) -> R<Node> {
    let mut n = Node {
        meta: meta(m)?,
        loc,
        ..Default::default()
    };
    if let Some(spec) = spec.opt()? {
        n.pod_cidrs = spec.pod_cidrs.or_default()?;
        if n.pod_cidrs.is_empty() {
            n.pod_cidrs.extend(spec.pod_cidr.opt()?);
        }
    }
    if let Some(st) = status.opt()? {
        n.addresses = convert(st.addresses.or_default()?, |a| {
            Ok(NodeAddress {
                type_: a.type_.or_default()?,
                address: a.address.or_default()?,
            })
        })?;
    }
    Ok(n)
}

fn pod(loc: Loc, m: F<Meta>, spec: F<Spec>, status: F<Status>) -> R<Pod> {
    let mut pod = Pod {
        meta: meta(m)?,
        loc,
        ..Default::default()
    };
    if let Some(spec) = spec.opt()? {
        pod.node_name = spec.node_name.opt()?;
        pod.hostname = spec.hostname.opt()?;
        for c in spec.containers.or_default()? {
            for p in c.ports.or_default()? {
                pod.container_ports.push(ContainerPort {
                    name: p.name.opt()?,
                    container_port: p.container_port.opt()?.unwrap_or(0),
                    protocol: protocol(p.protocol)?,
                });
            }
        }
    }
    if let Some(st) = status.opt()? {
        pod.phase = st.phase.opt()?;
        for ip in st.pod_ips.or_default()? {
            pod.pod_ips.extend(ip.ip.opt()?);
        }
        if pod.pod_ips.is_empty() {
            pod.pod_ips.extend(st.pod_ip.opt()?);
        }
        for c in st.conditions.or_default()? {
            if c.type_.opt()?.as_deref() == Some("Ready") {
                pod.ready = Some(c.status.opt()?.as_deref() == Some("True"));
            }
        }
    }
    Ok(pod)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The typed reader reads every valid input of the repository itself (the tests of
    /// `core/tests/typed_reader.rs` compare its result with the generic reader's).
    #[test]
    fn reads_every_example_and_conformance_input_without_the_generic_reader() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut files: Vec<_> = std::fs::read_dir(root.join("examples"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        for mode in ["iptables", "nftables"] {
            for e in std::fs::read_dir(root.join("tests/conformance").join(mode)).unwrap() {
                let p = e.unwrap().path().join("cluster.json");
                if p.exists() {
                    files.push(p);
                }
            }
        }
        assert!(files.len() > 40, "{files:?}");
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            let found = if f.extension().is_some_and(|e| e == "json") {
                read_json(Some("f"), text.trim_start())
            } else {
                read_yaml(Some("f"), &text)
            };
            let found = found.unwrap_or_else(|| panic!("{} fell back", f.display()));
            assert!(found.objects > 0, "{}", f.display());
        }
    }

    #[test]
    fn kind_counts_find_services_and_slices_in_json_and_yaml() {
        let json = r#"{"kind":"List","items":[{"kind": "Service"},{ "kind" : "EndpointSlice",
            "metadata":{"ownerReferences":[{"kind":"Service"}]}},{"kind":"ServiceAccount"},
            {"kind":"ServiceList"},{"metadata":{"annotations":{"x":"kind"}}}]}"#;
        let n = kind_counts(json);
        assert_eq!(
            (n.services, n.slices),
            (2, 1),
            "the owner reference counts too"
        );
        let yaml = "apiVersion: v1\nkind: List\nitems:\n- kind: Service\n  metadata: {name: a}\n\
                    - apiVersion: discovery.k8s.io/v1\n  kind: EndpointSlice\n- kind: Pod\n";
        let n = kind_counts(yaml);
        assert_eq!((n.services, n.slices), (1, 1));
        assert_eq!(kind_counts("kind").services, 0);
        // Text that only repeats the words (in annotations, say) makes no more room than
        // its own size.
        let repeated = r#"{"kind":"Service"}"#.repeat(1000);
        let n = kind_counts(&repeated);
        assert_eq!(n.services, 1000);
        let n = n.at_most_the_text(repeated.len());
        assert_eq!(n.services, repeated.len() / size_of::<Service>());
        assert!(n.services < 100);
    }

    /// A long text is counted in stretches, scaled to its length: within an eighth or so of
    /// the true counts, whether the kinds are mixed or come one after the other.
    #[test]
    fn kind_counts_of_a_long_text_are_close() {
        let svc = r#"{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}},"#;
        let slice = r#"{"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "endpoints": [{"addresses": ["10.0.0.1"], "nodeName": "n"}, {"addresses": ["10.0.0.2"], "nodeName": "n"}]},"#;
        let (count, services, slices) = (30_000, svc.repeat(30_000), slice.repeat(30_000));
        for text in [
            svc.to_owned() + slice,
            services.clone() + &slices,
            slices.clone() + &services,
        ] {
            let text = if text.len() < 1000 {
                text.repeat(count)
            } else {
                text
            };
            assert!(text.len() > 4 * SAMPLED);
            let n = kind_counts(&text);
            for got in [n.services, n.slices] {
                assert!((count..=count * 5 / 4).contains(&got), "{got} for {count}");
            }
        }
    }

    /// The lists sized from [`kind_counts`] hold what was read at its length, also when the
    /// count was too high (an owner reference) or too low (a typed list's items without kind).
    #[test]
    fn lists_sized_from_the_counts_end_at_their_length() {
        let svc = |n: &str| {
            format!(
                r#"{{"apiVersion":"v1","kind":"Service","metadata":{{"name":"{n}","namespace":"d"}},"spec":{{"clusterIP":"10.0.0.1","ports":[{{"port":80}}]}}}}"#
            )
        };
        let slice = r#"{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"s","namespace":"d",
            "ownerReferences":[{"kind":"Service","name":"a"}]},"addressType":"IPv4","endpoints":[]}"#;
        let over = format!(
            r#"{{"apiVersion":"v1","kind":"List","items":[{},{},{slice}]{}}}"#,
            svc("a"),
            svc("b"),
            // Long enough that the counts are not cut to the text's size.
            " ".repeat(1000)
        );
        let found = read_json(None, &over).unwrap().objects_of;
        assert_eq!((found.services.len(), found.services.capacity()), (2, 2));
        assert_eq!((found.slices.len(), found.slices.capacity()), (1, 1));
        let items: Vec<String> = (0..5)
            .map(|i| format!(r#"{{"metadata":{{"name":"s{i}","namespace":"d"}},"spec":{{"clusterIP":"10.0.0.1"}}}}"#))
            .collect();
        let under = format!(
            r#"{{"apiVersion":"v1","kind":"ServiceList","items":[{}]}}"#,
            items.join(",")
        );
        let found = read_json(None, &under).unwrap().objects_of;
        assert_eq!((found.services.len(), found.services.capacity()), (5, 5));
    }

    /// Endpoints on one node and zone hold one placement; another zone is another one, and a
    /// new read starts afresh.
    #[test]
    fn endpoints_of_one_node_and_zone_share_one_placement() {
        let text = r#"{"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": "s", "namespace": "d"}, "addressType": "IPv4",
            "endpoints": [
                {"addresses": ["10.0.0.1"], "nodeName": "n1", "zone": "z1"},
                {"addresses": ["10.0.0.2"], "nodeName": "n1", "zone": "z1"},
                {"addresses": ["10.0.0.3"], "nodeName": "n1", "zone": "z2"},
                {"addresses": ["10.0.0.4"]}]}"#;
        let read = || read_json(None, text).unwrap().objects_of.slices.remove(0);
        let (first, again) = (read(), read());
        let e = &first.endpoints;
        let node = |i: usize| e[i].place.node().unwrap();
        assert!(std::ptr::eq(node(0), node(1)), "one placement for n1/z1");
        assert!(!std::ptr::eq(node(0), node(2)), "another for n1/z2");
        assert_eq!((e[2].node_name(), e[2].zone()), (Some("n1"), Some("z2")));
        assert_eq!((e[3].node_name(), e[3].zone()), (None, None));
        assert!(!std::ptr::eq(
            node(0),
            again.endpoints[0].place.node().unwrap()
        ));
        assert_eq!(e[0].place, again.endpoints[0].place);
    }

    #[test]
    fn gives_up_on_what_the_generic_reader_reports() {
        for text in [
            // A field of a known kind with the wrong type.
            r#"{"apiVersion": "v1", "kind": "Service", "metadata": {"name": 1}}"#,
            // No metadata.
            r#"{"apiVersion": "v1", "kind": "Service"}"#,
            // A typed list's item without kind, the list's kind after its items.
            r#"{"items": [{"metadata": {"name": "a"}}], "apiVersion": "v1", "kind": "ServiceList"}"#,
            // A repeated key.
            r#"{"apiVersion": "v1", "kind": "Node", "kind": "Node", "metadata": {"name": "a"}}"#,
            // Nested deeper than the generic reader's limit, in a field nobody reads.
            &format!(
                r#"{{"apiVersion": "v1", "kind": "Widget", "x": {}{}}}"#,
                "[".repeat(200),
                "]".repeat(200)
            ),
        ] {
            assert!(read_json(None, text).is_none(), "{text}");
        }
        // An unknown kind's fields are not checked; a typed list's items take its kind.
        let ok = r#"{"kind": "ServiceList", "apiVersion": "v1", "items": [
            {"metadata": {"name": "a"}, "spec": {"ports": [{"port": 80}]}},
            {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": 5},
             "spec": {"selector": {"matchLabels": {"app": "a"}}}}]}"#;
        let found = read_json(Some("l.json"), ok).unwrap();
        assert_eq!(found.objects_of.services[0].loc.path, "items[0]");
        assert_eq!(
            found.objects_of.warnings[0].to_string(),
            "l.json: items[1]: skipping Deployment (apps/v1): not a kind svccore uses"
        );
    }
}
