//! `discovery.k8s.io/v1` EndpointSlice.

use super::{LabelMap, Loc, ObjectMeta, Placement, Protocol, SharedStr, Str};

/// The label naming the Service a slice belongs to.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// One entry of `ports`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EndpointPort {
    /// `name`; `None` when absent (kube-proxy skips such ports), `Some("")` for unnamed.
    pub name: Option<String>,
    /// `port`; `None` when absent.
    pub port: Option<i64>,
    /// `protocol` (default TCP).
    pub protocol: Protocol,
    /// `appProtocol`.
    pub app_protocol: Option<Box<str>>,
}

/// One entry of `endpoints`.
///
/// A cluster holds many of these, 64 bytes each: an address is held in place
/// ([`Addresses`]), the node name and zone, which repeat across endpoints, are one shared
/// [`Placement`], and the rare fields (hints, legacy topology labels, hostname) live behind
/// one box that a plain endpoint does not have.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Endpoint {
    /// `addresses` as written; kube-proxy uses only the first.
    pub addresses: Addresses,
    /// `conditions.ready` (nil means true).
    pub ready: Option<bool>,
    /// `conditions.serving` (nil means true).
    pub serving: Option<bool>,
    /// `conditions.terminating` (nil means false).
    pub terminating: Option<bool>,
    /// `nodeName` and `zone` (one allocation per distinct pair when read by the loader):
    /// read through [`Endpoint::node_name`] and [`Endpoint::zone`].
    pub place: Placement,
    /// `targetRef.name` when the target is a Pod.
    pub target_pod: Option<Box<str>>,
    /// `hints`, `deprecatedTopology`, `hostname`; `None` when all are absent.
    more: Option<Box<EndpointMore>>,
}

/// The fields of an [`Endpoint`] that most endpoints do not have.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct EndpointMore {
    hints: Option<EndpointHints>,
    topology: LabelMap,
    hostname: Option<Box<str>>,
}

impl EndpointMore {
    fn is_empty(&self) -> bool {
        self.hints.is_none() && self.topology.is_empty() && self.hostname.is_none()
    }
}

impl Endpoint {
    /// An endpoint of one address with no other field set.
    pub fn at(address: impl Into<Addresses>) -> Endpoint {
        Endpoint {
            addresses: address.into(),
            ..Endpoint::default()
        }
    }

    /// `nodeName`.
    pub fn node_name(&self) -> Option<&str> {
        self.place.node().map(SharedStr::as_str)
    }

    /// `zone`.
    pub fn zone(&self) -> Option<&str> {
        self.place.zone().map(SharedStr::as_str)
    }

    fn more(&self) -> Option<&EndpointMore> {
        self.more.as_deref()
    }

    /// Changes the rare fields, dropping their box when none is left set; `unset` says that
    /// the change sets nothing (no box is made for it).
    fn edit_more(&mut self, unset: bool, f: impl FnOnce(&mut EndpointMore)) {
        if unset && self.more.is_none() {
            return;
        }
        let more = self.more.get_or_insert_with(Box::default);
        f(more);
        if more.is_empty() {
            self.more = None;
        }
    }

    /// `hints`; `None` when it has neither `forZones` nor `forNodes`.
    pub fn hints(&self) -> Option<&EndpointHints> {
        self.more()?.hints.as_ref()
    }

    /// `hints.forZones[].name`; `None` when there are no zone hints.
    pub fn hints_zones(&self) -> Option<&[Box<str>]> {
        self.hints()?.for_zones.as_deref()
    }

    /// `hints.forNodes[].name`; `None` when there are no node hints.
    pub fn hints_nodes(&self) -> Option<&[Box<str>]> {
        self.hints()?.for_nodes.as_deref()
    }

    /// Sets the hints; both `None` is no hints at all.
    pub fn set_hints(
        &mut self,
        for_zones: Option<Box<[Box<str>]>>,
        for_nodes: Option<Box<[Box<str>]>>,
    ) {
        let hints = (for_zones.is_some() || for_nodes.is_some()).then_some(EndpointHints {
            for_zones,
            for_nodes,
        });
        self.edit_more(hints.is_none(), |m| m.hints = hints);
    }

    /// `deprecatedTopology` (v1) / `topology` (v1beta1): the legacy topology labels; `None`
    /// when there are none.
    pub fn topology(&self) -> Option<&LabelMap> {
        self.more().map(|m| &m.topology).filter(|t| !t.is_empty())
    }

    /// Sets the legacy topology labels.
    pub fn set_topology(&mut self, topology: LabelMap) {
        self.edit_more(topology.is_empty(), |m| m.topology = topology);
    }

    /// `hostname`.
    pub fn hostname(&self) -> Option<&str> {
        self.more()?.hostname.as_deref()
    }

    /// Sets the hostname.
    pub fn set_hostname(&mut self, hostname: Option<Box<str>>) {
        self.edit_more(hostname.is_none(), |m| m.hostname = hostname);
    }
}

/// An endpoint's `hints` (topology-aware routing).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EndpointHints {
    /// `forZones[].name`; `None` when `forZones` is absent.
    pub for_zones: Option<Box<[Box<str>]>>,
    /// `forNodes[].name`; `None` when `forNodes` is absent.
    pub for_nodes: Option<Box<[Box<str>]>>,
}

/// An endpoint's `addresses`: nearly always exactly one, which is then held in place (an
/// address of up to 24 bytes, every IPv4 one, needs no allocation). Reads as a slice of
/// strings (`first`, `iter`, `len`, indexing).
#[derive(Clone, Eq)]
pub struct Addresses(AddressesRepr);

#[derive(Clone, Eq, PartialEq)]
enum AddressesRepr {
    One(Str),
    /// Any other number (none, or several).
    List(Box<[Str]>),
}

impl Addresses {
    /// One address.
    pub fn one(address: impl Into<Str>) -> Addresses {
        Addresses(AddressesRepr::One(address.into()))
    }
}

impl From<&str> for Addresses {
    fn from(address: &str) -> Addresses {
        Addresses::one(address)
    }
}

impl Default for Addresses {
    fn default() -> Addresses {
        Addresses(AddressesRepr::List(Box::default()))
    }
}

impl std::ops::Deref for Addresses {
    type Target = [Str];
    fn deref(&self) -> &[Str] {
        match &self.0 {
            AddressesRepr::One(a) => std::slice::from_ref(a),
            AddressesRepr::List(l) => l,
        }
    }
}

impl PartialEq for Addresses {
    fn eq(&self, other: &Addresses) -> bool {
        **self == **other
    }
}

impl std::fmt::Debug for Addresses {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl From<Vec<Str>> for Addresses {
    fn from(mut v: Vec<Str>) -> Addresses {
        Addresses(match v.pop() {
            Some(a) if v.is_empty() => AddressesRepr::One(a),
            Some(a) => {
                v.push(a);
                AddressesRepr::List(super::exact(v).into_boxed_slice())
            }
            None => AddressesRepr::List(Box::default()),
        })
    }
}

impl<S: Into<Str>> FromIterator<S> for Addresses {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Addresses {
        iter.into_iter()
            .map(Into::into)
            .collect::<Vec<Str>>()
            .into()
    }
}

/// A `discovery.k8s.io/v1` EndpointSlice (or one converted from legacy Endpoints or derived from
/// Pods).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EndpointSlice {
    /// Where it was read from (for derived slices: the Endpoints or Service it came from).
    pub loc: Loc,
    /// Name, namespace, labels.
    pub meta: ObjectMeta,
    /// `addressType`: `IPv4`, `IPv6` or `FQDN`, as written.
    pub address_type: Str,
    /// `ports`.
    pub ports: Vec<EndpointPort>,
    /// `endpoints`.
    pub endpoints: Vec<Endpoint>,
}

impl EndpointSlice {
    /// The Service this slice belongs to (label `kubernetes.io/service-name`).
    pub fn service_name(&self) -> Option<&str> {
        self.meta.labels.get(SERVICE_NAME_LABEL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_read_as_the_list_they_were_built_from() {
        for list in [vec![], vec!["10.0.0.1"], vec!["10.0.0.1", "fd00::1"]] {
            let a: Addresses = list.iter().copied().collect();
            assert_eq!(a.iter().map(|s| &**s).collect::<Vec<_>>(), list);
            assert_eq!(a.len(), list.len());
            assert_eq!(format!("{a:?}"), format!("{list:?}"));
        }
        assert_eq!(
            Addresses::one("10.0.0.1"),
            ["10.0.0.1"].into_iter().collect()
        );
        assert_ne!(Addresses::one("10.0.0.1"), Addresses::default());
        assert!(Addresses::default().is_empty());
    }

    #[test]
    fn hints_are_absent_unless_one_list_is_given() {
        let mut e = Endpoint::default();
        e.set_hints(None, None);
        assert!(e.hints().is_none());
        assert_eq!(e, Endpoint::default(), "no box is left behind");
        e.set_hints(Some(Box::default()), None);
        assert_eq!(e.hints_zones(), Some(&[][..]));
        assert_eq!(e.hints_nodes(), None);
        e.set_hostname(Some("h".into()));
        e.set_hints(None, None);
        assert_eq!(e.hostname(), Some("h"));
        e.set_hostname(None);
        assert_eq!(e, Endpoint::default(), "the box goes with its last field");
    }

    #[cfg(feature = "compact-strings")]
    #[test]
    fn an_endpoint_is_64_bytes() {
        // The loader's memory figures (benches/README.md) count on it.
        assert_eq!(std::mem::size_of::<Endpoint>(), 64);
        assert_eq!(std::mem::size_of::<crate::snapshot::EndpointInfo>(), 64);
        assert_eq!(std::mem::size_of::<Addresses>(), 24);
    }
}
