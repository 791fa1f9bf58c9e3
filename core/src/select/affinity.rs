//! ClientIP session affinity, in the three semantics svccore models, with an injected clock
//! (times are `f64` seconds chosen by the caller; spec: selection-and-hashing.md §4, ipvs.md §7).
//!
//! | store | key | hit when | refreshed by | capacity |
//! |---|---|---|---|---|
//! | [`IptablesAffinity`] | one [`RecentList`] per endpoint, by source address | `now − last_set ≤ timeout` (an age of exactly `timeout` still hits) | the `--set` of each new connection landing on the endpoint | 100 per list, LRU |
//! | [`PersistenceTemplates`] | client & netmask (one store per virtual service) | `now − last_use < timeout`, and the dest still exists with weight > 0 | each new connection using the template | unbounded (call [`PersistenceTemplates::purge`]) |
//! | [`LruAffinity`] | client address | `now − last_use < timeout`, and the backend still exists with weight > 0 | each hit | fixed, LRU |
//!
//! Hits never allocate. Stores with a fixed capacity allocate everything up front.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;

use crate::error::{Error, Result};

/// The Kubernetes default `timeoutSeconds` (3 h).
pub const DEFAULT_TIMEOUT_SECONDS: u32 = 10800;
/// The Kubernetes maximum `timeoutSeconds` (1 day).
pub const MAX_TIMEOUT_SECONDS: u32 = 86400;
/// `ip_list_tot`: the default capacity of one `recent` list.
pub const RECENT_LIST_CAPACITY: usize = 100;

/// Checks `timeoutSeconds` as the API server does: `0 < t ≤ 86400`.
pub fn check_timeout(timeout_seconds: u32) -> Result<()> {
    if timeout_seconds == 0 || timeout_seconds > MAX_TIMEOUT_SECONDS {
        return Err(Error::InvalidArgument(format!(
            "affinity timeoutSeconds {timeout_seconds} is out of range 1..={MAX_TIMEOUT_SECONDS}"
        )));
    }
    Ok(())
}

type FixedState = ahash::RandomState;

fn fixed_state() -> FixedState {
    // Fixed seeds: no OS randomness in the core; nothing depends on iteration order anyway.
    ahash::RandomState::with_seeds(0x5356_4343, 0x4f52_4531, 0x6166_6669, 0x6e69_7479)
}

const NIL: u32 = u32::MAX;

#[derive(Clone, Debug)]
struct Node<K, V> {
    key: K,
    val: V,
    prev: u32,
    next: u32,
}

/// A fixed-capacity map with least-recently-*touched* order. Every allocation happens in
/// `with_capacity`; inserting into a full map evicts the head (the least recently touched).
#[derive(Clone, Debug)]
struct LruMap<K, V> {
    map: HashMap<K, u32, FixedState>,
    nodes: Vec<Node<K, V>>,
    free: Vec<u32>,
    head: u32,
    tail: u32,
    cap: usize,
}

impl<K: Copy + Eq + Hash, V: Copy> LruMap<K, V> {
    fn with_capacity(cap: usize) -> Self {
        LruMap {
            map: HashMap::with_capacity_and_hasher(cap, fixed_state()),
            nodes: Vec::with_capacity(cap),
            free: Vec::with_capacity(cap),
            head: NIL,
            tail: NIL,
            cap,
        }
    }

    fn len(&self) -> usize {
        self.map.len()
    }

    fn index(&self, k: &K) -> Option<u32> {
        self.map.get(k).copied()
    }

    fn unlink(&mut self, i: u32) {
        let (p, n) = (self.nodes[i as usize].prev, self.nodes[i as usize].next);
        if p == NIL {
            self.head = n;
        } else {
            self.nodes[p as usize].next = n;
        }
        if n == NIL {
            self.tail = p;
        } else {
            self.nodes[n as usize].prev = p;
        }
    }

    fn push_tail(&mut self, i: u32) {
        self.nodes[i as usize].prev = self.tail;
        self.nodes[i as usize].next = NIL;
        if self.tail == NIL {
            self.head = i;
        } else {
            self.nodes[self.tail as usize].next = i;
        }
        self.tail = i;
    }

    /// Moves entry `i` to the tail (most recent).
    fn touch(&mut self, i: u32) {
        if self.tail != i {
            self.unlink(i);
            self.push_tail(i);
        }
    }

    fn remove_index(&mut self, i: u32) {
        self.unlink(i);
        let k = self.nodes[i as usize].key;
        self.map.remove(&k);
        self.free.push(i);
    }

    /// Inserts or replaces `k`, making it the most recent. Evicts the head when full and returns
    /// the evicted key.
    fn insert(&mut self, k: K, v: V) -> Option<K> {
        if let Some(i) = self.index(&k) {
            self.nodes[i as usize].val = v;
            self.touch(i);
            return None;
        }
        if self.cap == 0 {
            return None;
        }
        let mut evicted = None;
        if self.map.len() >= self.cap {
            evicted = Some(self.nodes[self.head as usize].key);
            self.remove_index(self.head);
        }
        let node = Node {
            key: k,
            val: v,
            prev: NIL,
            next: NIL,
        };
        let i = match self.free.pop() {
            Some(i) => {
                self.nodes[i as usize] = node;
                i
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        };
        self.map.insert(k, i);
        self.push_tail(i);
        evicted
    }

    /// Keys from the least to the most recently touched.
    fn keys(&self) -> impl Iterator<Item = K> + '_ {
        let mut i = self.head;
        std::iter::from_fn(move || {
            if i == NIL {
                return None;
            }
            let k = self.nodes[i as usize].key;
            i = self.nodes[i as usize].next;
            Some(k)
        })
    }

    fn retain_map(&mut self, mut f: impl FnMut(&mut V) -> bool) {
        let mut i = self.head;
        while i != NIL {
            let next = self.nodes[i as usize].next;
            if !f(&mut self.nodes[i as usize].val) {
                self.remove_index(i);
            }
            i = next;
        }
    }
}

/// One `xt_recent` list (the list of one `KUBE-SEP-X` chain), with the kernel's semantics for
/// `--rcheck --seconds N --reap` and `--set` (spec: selection-and-hashing.md §4.2).
///
/// Each entry keeps its newest timestamp only: the kernel keeps a ring of up to 32, but without
/// `--hitcount` only the newest decides a match and the reap.
#[derive(Clone, Debug)]
pub struct RecentList {
    entries: LruMap<IpAddr, f64>,
}

impl RecentList {
    /// An empty list holding at most `capacity` addresses (`ip_list_tot`, default 100).
    pub fn new(capacity: usize) -> Self {
        RecentList {
            entries: LruMap::with_capacity(capacity),
        }
    }

    /// The number of addresses held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.len() == 0
    }

    /// The newest timestamp stored for `client`.
    pub fn last_seen(&self, client: IpAddr) -> Option<f64> {
        self.entries
            .index(&client)
            .map(|i| self.entries.nodes[i as usize].val)
    }

    /// `--rcheck --seconds N --reap`: whether `client` was set no more than `seconds` ago (an age
    /// of exactly `seconds` matches). Does not refresh the entry. When the client has an entry,
    /// the list's least recently set entry is then removed if it is older than `seconds`.
    pub fn check(&mut self, client: IpAddr, now: f64, seconds: f64) -> bool {
        self.check_reap(client, now, seconds).0
    }

    /// [`RecentList::check`], also returning the reaped address.
    fn check_reap(&mut self, client: IpAddr, now: f64, seconds: f64) -> (bool, Option<IpAddr>) {
        let Some(i) = self.entries.index(&client) else {
            return (false, None); // a miss returns before the reap
        };
        let hit = now - self.entries.nodes[i as usize].val <= seconds;
        let head = self.entries.head;
        let mut reaped = None;
        if now - self.entries.nodes[head as usize].val > seconds {
            reaped = Some(self.entries.nodes[head as usize].key);
            self.entries.remove_index(head);
        }
        (hit, reaped)
    }

    /// The addresses held, least recently set first.
    pub fn clients(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.entries.keys()
    }

    /// `--set`: records `client` at `now` and makes it the most recently set entry; a new address
    /// in a full list first evicts the least recently set one.
    pub fn set(&mut self, client: IpAddr, now: f64) {
        self.entries.insert(client, now);
    }

    /// [`RecentList::set`], returning the evicted address.
    fn set_evict(&mut self, client: IpAddr, now: f64) -> Option<IpAddr> {
        self.entries.insert(client, now)
    }
}

/// iptables-mode affinity of one service port: one [`RecentList`] per endpoint, in endpoint
/// order.
///
/// To avoid probing every list on each connection, a membership index maps each client to the
/// lists that hold it (bit `e` for endpoint `e < 63`, bit 63 for "some endpoint ≥ 63"). It
/// mirrors the lists exactly, so the result is the same as checking every list in order: lists
/// without the client would miss without reaping.
#[derive(Clone, Debug)]
pub struct IptablesAffinity {
    lists: Vec<RecentList>,
    members: HashMap<IpAddr, u64, FixedState>,
    seconds: f64,
    capacity: usize,
}

const HIGH: u32 = 63;

fn bit(e: usize) -> u64 {
    1u64 << (e as u32).min(HIGH)
}

impl IptablesAffinity {
    /// Lists for `n` endpoints with `timeout_seconds` and the default capacity of 100.
    pub fn new(n: usize, timeout_seconds: u32) -> Self {
        Self::with_capacity(n, timeout_seconds, RECENT_LIST_CAPACITY)
    }

    /// As [`IptablesAffinity::new`], with another `ip_list_tot`.
    pub fn with_capacity(n: usize, timeout_seconds: u32, capacity: usize) -> Self {
        IptablesAffinity {
            lists: (0..n).map(|_| RecentList::new(capacity)).collect(),
            members: HashMap::with_capacity_and_hasher(
                n.saturating_mul(capacity).min(1 << 16),
                fixed_state(),
            ),
            seconds: f64::from(timeout_seconds),
            capacity,
        }
    }

    /// The per-endpoint lists.
    pub fn lists(&self) -> &[RecentList] {
        &self.lists
    }

    /// Updates the index after `addr` left list `e`.
    fn forget(&mut self, addr: IpAddr, e: usize) {
        let still_high = e >= HIGH as usize
            && self.lists[HIGH as usize..]
                .iter()
                .any(|l| l.last_seen(addr).is_some());
        if let Some(mask) = self.members.get_mut(&addr) {
            if !still_high {
                *mask &= !bit(e);
            }
            if *mask == 0 {
                self.members.remove(&addr);
            }
        }
    }

    #[inline]
    fn check_one(&mut self, e: usize, client: IpAddr, now: f64) -> bool {
        let (hit, reaped) = self.lists[e].check_reap(client, now, self.seconds);
        if let Some(r) = reaped {
            self.forget(r, e);
        }
        hit
    }

    /// The affinity rules: the first endpoint, in order, whose list holds a fresh entry for
    /// `client`. Consumes no random draws.
    #[inline]
    pub fn lookup(&mut self, client: IpAddr, now: f64) -> Option<usize> {
        let mut bits = *self.members.get(&client)?;
        while bits != 0 {
            let b = bits.trailing_zeros();
            bits &= bits - 1;
            if b < HIGH {
                if self.check_one(b as usize, client, now) {
                    return Some(b as usize);
                }
            } else {
                for e in HIGH as usize..self.lists.len() {
                    if self.check_one(e, client, now) {
                        return Some(e);
                    }
                }
            }
        }
        None
    }

    /// The `--set` in endpoint `e`'s DNAT rule.
    #[inline]
    pub fn record(&mut self, e: usize, client: IpAddr, now: f64) {
        if let Some(x) = self.lists[e].set_evict(client, now) {
            self.forget(x, e);
        }
        *self.members.entry(client).or_insert(0) |= bit(e);
    }

    /// Rebuilds the lists for a new endpoint list: `old_of_new[j]` is the old position of new
    /// endpoint `j`, or `None` for a new endpoint (which starts with an empty list). Lists of
    /// removed endpoints go with their chains.
    pub fn remap(&mut self, old_of_new: &[Option<usize>]) {
        let mut old: Vec<Option<RecentList>> = std::mem::take(&mut self.lists)
            .into_iter()
            .map(Some)
            .collect();
        self.lists = old_of_new
            .iter()
            .map(|o| {
                o.and_then(|i| old.get_mut(i).and_then(Option::take))
                    .unwrap_or_else(|| RecentList::new(self.capacity))
            })
            .collect();
        self.members.clear();
        for (e, l) in self.lists.iter().enumerate() {
            for c in l.clients() {
                *self.members.entry(c).or_insert(0) |= bit(e);
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct Template {
    dest: usize,
    last_use: f64,
}

/// IPVS persistence templates of one virtual service (spec: ipvs.md §7).
///
/// A template lives `timeout` seconds after the last new connection that used it: at an age of
/// exactly `timeout` it has expired. It is dropped when its dest is gone or has weight 0
/// (kube-proxy sets `expire_quiescent_template`). Not modelled: the kernel keeps a template past
/// its timeout while it still controls live connections.
#[derive(Clone, Debug)]
pub struct PersistenceTemplates {
    map: HashMap<IpAddr, Template, FixedState>,
    timeout: f64,
    v4_prefix: u8,
    v6_prefix: u8,
}

fn mask(addr: IpAddr, v4_prefix: u8, v6_prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) if v4_prefix < 32 => {
            let m = u32::MAX.checked_shl(32 - u32::from(v4_prefix)).unwrap_or(0);
            IpAddr::V4((u32::from(a) & m).into())
        }
        IpAddr::V6(a) if v6_prefix < 128 => {
            let m = u128::MAX
                .checked_shl(128 - u32::from(v6_prefix))
                .unwrap_or(0);
            IpAddr::V6((u128::from(a) & m).into())
        }
        other => other,
    }
}

impl PersistenceTemplates {
    /// Templates with `persistent timeout_seconds` and netmask /32 and /128 (kube-proxy's).
    pub fn new(timeout_seconds: u32) -> Self {
        Self::with_netmask(timeout_seconds, 32, 128)
    }

    /// Templates with another netmask (`-M`): an IPv4 prefix length and an IPv6 prefix length.
    pub fn with_netmask(timeout_seconds: u32, v4_prefix: u8, v6_prefix: u8) -> Self {
        PersistenceTemplates {
            map: HashMap::with_capacity_and_hasher(1024, fixed_state()),
            timeout: f64::from(timeout_seconds),
            v4_prefix: v4_prefix.min(32),
            v6_prefix: v6_prefix.min(128),
        }
    }

    /// The number of stored templates (including expired ones not yet purged).
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether no template is stored.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Looks up a valid template for `client`; `usable(dest)` says whether the dest still exists
    /// with weight > 0. A hit re-arms the timer. An expired or invalid template is removed.
    #[inline]
    pub fn lookup(
        &mut self,
        client: IpAddr,
        now: f64,
        usable: impl Fn(usize) -> bool,
    ) -> Option<usize> {
        let key = mask(client, self.v4_prefix, self.v6_prefix);
        let t = self.map.get_mut(&key)?;
        if now - t.last_use < self.timeout && usable(t.dest) {
            t.last_use = now;
            return Some(t.dest);
        }
        self.map.remove(&key);
        None
    }

    /// Creates (or replaces) the template of `client` pointing at `dest`.
    pub fn create(&mut self, client: IpAddr, dest: usize, now: f64) {
        let key = mask(client, self.v4_prefix, self.v6_prefix);
        self.map.insert(
            key,
            Template {
                dest,
                last_use: now,
            },
        );
    }

    /// Drops every template that has expired at `now`.
    pub fn purge(&mut self, now: f64) {
        let timeout = self.timeout;
        self.map.retain(|_, t| now - t.last_use < timeout);
    }

    /// Renumbers dests after a list change: `new_of_old(i)` is the new index of old dest `i`, or
    /// `None` when it was deleted (its templates are dropped).
    pub fn remap(&mut self, new_of_old: impl Fn(usize) -> Option<usize>) {
        self.map.retain(|_, t| match new_of_old(t.dest) {
            Some(n) => {
                t.dest = n;
                true
            }
            None => false,
        });
    }
}

/// A plain LRU of client → backend with an idle timeout from the last use (as Cilium's affinity
/// map, and the natural choice with Maglev or ring hash).
#[derive(Clone, Debug)]
pub struct LruAffinity {
    map: LruMap<IpAddr, (usize, f64)>,
    timeout: f64,
}

/// The default capacity of an [`LruAffinity`].
pub const DEFAULT_LRU_CAPACITY: usize = 65536;

impl LruAffinity {
    /// An LRU of `capacity` clients (all memory allocated now) with `timeout_seconds`.
    pub fn new(timeout_seconds: u32, capacity: usize) -> Self {
        LruAffinity {
            map: LruMap::with_capacity(capacity),
            timeout: f64::from(timeout_seconds),
        }
    }

    /// The number of clients held.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether no client is held.
    pub fn is_empty(&self) -> bool {
        self.map.len() == 0
    }

    /// The backend of `client` if it was used less than `timeout` ago and `usable(backend)`; a hit
    /// refreshes the entry. A stale entry is removed.
    #[inline]
    pub fn lookup(
        &mut self,
        client: IpAddr,
        now: f64,
        usable: impl Fn(usize) -> bool,
    ) -> Option<usize> {
        let i = self.map.index(&client)?;
        let (b, last) = self.map.nodes[i as usize].val;
        if now - last < self.timeout && usable(b) {
            self.map.nodes[i as usize].val.1 = now;
            self.map.touch(i);
            return Some(b);
        }
        self.map.remove_index(i);
        None
    }

    /// Records that `client` went to `backend` at `now`.
    #[inline]
    pub fn record(&mut self, client: IpAddr, backend: usize, now: f64) {
        self.map.insert(client, (backend, now));
    }

    /// Renumbers backends after a list change; entries of removed backends are dropped.
    pub fn remap(&mut self, new_of_old: impl Fn(usize) -> Option<usize>) {
        self.map.retain_map(|v| match new_of_old(v.0) {
            Some(n) => {
                v.0 = n;
                true
            }
            None => false,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(i: u32) -> IpAddr {
        IpAddr::V4((0x0a00_0000 + i).into())
    }

    #[test]
    fn recent_hits_at_exactly_timeout_and_misses_after() {
        let mut l = RecentList::new(100);
        l.set(ip(1), 0.0);
        assert!(l.check(ip(1), 10.0, 10.0));
        assert!(!l.check(ip(1), 10.001, 10.0));
        assert!(!l.check(ip(2), 1.0, 10.0));
    }

    #[test]
    fn recent_check_does_not_refresh_and_set_does() {
        let mut l = RecentList::new(100);
        l.set(ip(1), 0.0);
        assert!(l.check(ip(1), 9.0, 10.0));
        assert!(!l.check(ip(1), 11.0, 10.0));
        l.set(ip(1), 11.0);
        assert!(l.check(ip(1), 21.0, 10.0));
    }

    #[test]
    fn recent_reaps_one_expired_head_only_on_a_present_client() {
        let mut l = RecentList::new(100);
        l.set(ip(1), 0.0);
        l.set(ip(2), 1.0);
        l.set(ip(3), 50.0);
        // A miss does not reap.
        assert!(!l.check(ip(9), 60.0, 10.0));
        assert_eq!(l.len(), 3);
        // A present client reaps the single oldest expired entry.
        assert!(l.check(ip(3), 55.0, 10.0));
        assert_eq!(l.len(), 2);
        assert_eq!(l.last_seen(ip(1)), None);
        assert!(l.check(ip(3), 55.0, 10.0));
        assert_eq!(l.len(), 1);
        assert_eq!(l.last_seen(ip(2)), None);
        // A fresh head is not reaped.
        assert!(l.check(ip(3), 55.0, 10.0));
        assert_eq!(l.len(), 1);
    }

    #[test]
    fn recent_list_evicts_least_recently_set_when_full() {
        let mut l = RecentList::new(100);
        for i in 0..100 {
            l.set(ip(i), f64::from(i));
        }
        l.set(ip(0), 200.0); // refresh: ip(1) is now the oldest
        l.set(ip(1000), 201.0);
        assert_eq!(l.len(), 100);
        assert_eq!(l.last_seen(ip(1)), None);
        assert_eq!(l.last_seen(ip(0)), Some(200.0));
    }

    #[test]
    fn iptables_affinity_checks_in_endpoint_order() {
        let mut a = IptablesAffinity::new(3, 10);
        a.record(2, ip(1), 0.0);
        a.record(1, ip(1), 1.0);
        assert_eq!(a.lookup(ip(1), 5.0), Some(1));
        assert_eq!(
            a.lookup(ip(1), 11.0),
            Some(1),
            "an age of exactly 10 s still hits"
        );
        assert_eq!(a.lookup(ip(1), 11.5), None);
        // Endpoint 1 removed: its list goes; endpoint 2 becomes 1 and keeps its list.
        a.record(2, ip(7), 20.0);
        a.remap(&[Some(0), Some(2)]);
        assert_eq!(a.lookup(ip(7), 21.0), Some(1));
    }

    /// The membership index must give exactly the result of checking every list in order,
    /// including with more than 63 endpoints, small lists (evictions) and reaps.
    #[test]
    fn indexed_lookup_equals_checking_every_list() {
        let mut rng = crate::select::Rng::new(3);
        let n = 80;
        let mut fast = IptablesAffinity::with_capacity(n, 5, 3);
        let mut lists: Vec<RecentList> = (0..n).map(|_| RecentList::new(3)).collect();
        let mut now = 0.0;
        for _ in 0..20000 {
            now += f64::from(rng.next_u32() % 4) / 2.0;
            let c = ip(rng.next_u32() % 40);
            let naive = lists.iter_mut().position(|l| l.check(c, now, 5.0));
            assert_eq!(fast.lookup(c, now), naive);
            let e = naive.unwrap_or(rng.next_u32() as usize % n);
            lists[e].set(c, now);
            fast.record(e, c, now);
        }
        for (a, b) in fast.lists().iter().zip(&lists) {
            assert_eq!(
                a.clients().collect::<Vec<_>>(),
                b.clients().collect::<Vec<_>>()
            );
        }
        let mut live: Vec<IpAddr> = fast.members.keys().copied().collect();
        live.sort();
        let mut want: Vec<IpAddr> = lists.iter().flat_map(|l| l.clients()).collect();
        want.sort();
        want.dedup();
        assert_eq!(live, want, "the index holds exactly the listed clients");
    }

    #[test]
    fn persistence_expires_at_exactly_timeout_and_rearms_on_use() {
        let mut t = PersistenceTemplates::new(10);
        t.create(ip(1), 4, 0.0);
        assert_eq!(t.lookup(ip(1), 9.5, |_| true), Some(4));
        assert_eq!(t.lookup(ip(1), 19.4, |_| true), Some(4));
        assert_eq!(t.lookup(ip(1), 29.4, |_| true), None);
        t.create(ip(1), 4, 0.0);
        assert_eq!(
            t.lookup(ip(1), 5.0, |d| d != 4),
            None,
            "quiescent dest invalidates"
        );
        assert!(t.is_empty());
        let mut m = PersistenceTemplates::with_netmask(10, 24, 64);
        m.create(ip(1), 3, 0.0);
        assert_eq!(m.lookup(ip(200), 1.0, |_| true), Some(3));
    }

    #[test]
    fn lru_expires_at_exactly_timeout_and_evicts_oldest() {
        let mut l = LruAffinity::new(10, 2);
        l.record(ip(1), 0, 0.0);
        assert_eq!(l.lookup(ip(1), 9.75, |_| true), Some(0));
        assert_eq!(
            l.lookup(ip(1), 19.75, |_| true),
            None,
            "exactly 10 s after the last use"
        );
        l.record(ip(1), 0, 0.0);
        l.record(ip(2), 1, 1.0);
        l.record(ip(3), 2, 2.0);
        assert_eq!(l.len(), 2);
        assert_eq!(l.lookup(ip(1), 3.0, |_| true), None);
        l.remap(|b| (b != 1).then_some(b));
        assert_eq!(l.lookup(ip(2), 3.0, |_| true), None);
        assert_eq!(l.lookup(ip(3), 3.0, |_| true), Some(2));
    }

    #[test]
    fn timeout_range_is_validated() {
        assert!(check_timeout(0).is_err());
        assert!(check_timeout(1).is_ok());
        assert!(check_timeout(86400).is_ok());
        assert!(check_timeout(86401).is_err());
    }
}
