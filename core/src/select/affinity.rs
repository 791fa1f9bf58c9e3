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

use super::{fixed_state, FixedState};
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

const NIL: u32 = u32::MAX;

#[derive(Clone, Copy, Debug)]
struct Node<K, V> {
    key: K,
    val: V,
    prev: u32,
    next: u32,
}

/// A fixed-capacity map with least-recently-*touched* order. Every allocation happens in
/// `with_capacity` (and in `clone`, which keeps the full capacity); inserting into a full map
/// evicts the head (the least recently touched).
#[derive(Debug)]
struct LruMap<K, V> {
    map: HashMap<K, u32, FixedState>,
    nodes: Vec<Node<K, V>>,
    free: Vec<u32>,
    head: u32,
    tail: u32,
    cap: usize,
}

/// A derived clone would allocate only what is in use, and a later insert would allocate.
impl<K: Copy + Eq + Hash, V: Copy> Clone for LruMap<K, V> {
    fn clone(&self) -> Self {
        let mut map = HashMap::with_capacity_and_hasher(self.map.capacity(), fixed_state());
        map.extend(self.map.iter().map(|(k, v)| (*k, *v)));
        LruMap {
            map,
            nodes: clone_with_capacity(&self.nodes),
            free: clone_with_capacity(&self.free),
            head: self.head,
            tail: self.tail,
            cap: self.cap,
        }
    }
}

/// A copy of `v` with `v`'s capacity, not just its length.
fn clone_with_capacity<T: Copy>(v: &Vec<T>) -> Vec<T> {
    let mut c = Vec::with_capacity(v.capacity());
    c.extend_from_slice(v);
    c
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
        let Some(i) = self.entries.index(&client) else {
            return false; // a miss returns before the reap
        };
        let hit = now - self.entries.nodes[i as usize].val <= seconds;
        let head = self.entries.head;
        if now - self.entries.nodes[head as usize].val > seconds {
            self.entries.remove_index(head);
        }
        hit
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
}

/// One entry of one endpoint's list, in the arena of an [`IptablesAffinity`]. Its client is in
/// the parallel `clients` array: without it a node is 32 bytes, two to a cache line, where with
/// the 17-byte address inline every other node straddled two lines.
#[derive(Clone, Copy, Debug)]
struct RecentNode {
    last_set: f64,
    /// The endpoint whose list holds the entry; [`NIL`] while the node is free.
    ep: u32,
    /// Neighbours in the endpoint's list, least recently set towards the tail; `next` also
    /// chains the free nodes.
    prev: u32,
    next: u32,
    /// Neighbours among the same client's nodes, in endpoint order.
    cprev: u32,
    cnext: u32,
}

/// The ends and length of one endpoint's list.
#[derive(Clone, Copy, Debug)]
struct ListEnds {
    head: u32,
    tail: u32,
    len: u32,
    /// The head's `last_set` (meaningless while empty), so that the reap check after every
    /// `--rcheck` reads this small array, not the head node.
    head_set: f64,
}

const EMPTY_LIST: ListEnds = ListEnds {
    head: NIL,
    tail: NIL,
    len: 0,
    head_set: 0.0,
};

/// iptables-mode affinity of one service port: one `recent` list per endpoint, in endpoint
/// order, with the semantics of a [`RecentList`] each.
///
/// Checking every list on each connection would cost one probe per endpoint, and keeping a
/// [`RecentList`] per endpoint plus a membership index costs several hash lookups per hit. So
/// all entries live in one preallocated arena: each list is an intrusive LRU list of nodes, and
/// one map leads from a client to its first node, from which the client's other nodes follow
/// in endpoint order. A hit is then one hash lookup plus O(1) list surgery; lists without the
/// client, which the kernel would check and miss without reaping, are skipped. Only a reap or
/// an eviction that removes the first node of another client needs another lookup.
#[derive(Debug)]
pub struct IptablesAffinity {
    nodes: Vec<RecentNode>,
    /// The client of each node (same index).
    clients: Vec<IpAddr>,
    /// Head of the chain of free nodes (through `next`).
    free: u32,
    lists: Vec<ListEnds>,
    /// Client → its node of lowest endpoint.
    first: HashMap<IpAddr, u32, FixedState>,
    /// The node of the last hit and its client, so that the `--set` following it needs no
    /// lookup. Checked before use ((client, endpoint) names at most one live node) and cleared
    /// when that node is freed.
    hint: u32,
    hint_client: IpAddr,
    seconds: f64,
    capacity: usize,
}

/// Keeps the preallocated capacity (a derived clone would allocate only what is in use, and the
/// clone's picks would then allocate for new clients).
impl Clone for IptablesAffinity {
    fn clone(&self) -> Self {
        let mut first = HashMap::with_capacity_and_hasher(self.first.capacity(), fixed_state());
        first.extend(self.first.iter().map(|(k, v)| (*k, *v)));
        IptablesAffinity {
            nodes: clone_with_capacity(&self.nodes),
            clients: clone_with_capacity(&self.clients),
            free: self.free,
            lists: self.lists.clone(),
            first,
            hint: self.hint,
            hint_client: self.hint_client,
            seconds: self.seconds,
            capacity: self.capacity,
        }
    }
}

impl IptablesAffinity {
    /// Lists for `n` endpoints with `timeout_seconds` and the default capacity of 100.
    pub fn new(n: usize, timeout_seconds: u32) -> Self {
        Self::with_capacity(n, timeout_seconds, RECENT_LIST_CAPACITY)
    }

    /// As [`IptablesAffinity::new`], with another `ip_list_tot`.
    pub fn with_capacity(n: usize, timeout_seconds: u32, capacity: usize) -> Self {
        IptablesAffinity {
            // Every list may fill up: allocate all of it now so that picks never allocate.
            nodes: Vec::with_capacity(n.saturating_mul(capacity)),
            clients: Vec::with_capacity(n.saturating_mul(capacity)),
            free: NIL,
            lists: vec![EMPTY_LIST; n],
            first: HashMap::with_capacity_and_hasher(
                n.saturating_mul(capacity).min(1 << 16),
                fixed_state(),
            ),
            hint: NIL,
            hint_client: IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
            seconds: f64::from(timeout_seconds),
            capacity,
        }
    }

    /// A copy of each endpoint's list, in endpoint order (for inspection; this allocates).
    pub fn lists(&self) -> Vec<RecentList> {
        (0..self.lists.len())
            .map(|e| {
                let mut l = RecentList::new(self.capacity);
                let mut i = self.lists[e].head;
                while i != NIL {
                    let n = &self.nodes[i as usize];
                    l.set(self.clients[i as usize], n.last_set);
                    i = n.next;
                }
                l
            })
            .collect()
    }

    fn unlink_list(&mut self, i: u32) {
        let RecentNode { ep, prev, next, .. } = self.nodes[i as usize];
        let l = &mut self.lists[ep as usize];
        if prev == NIL {
            l.head = next;
            if next != NIL {
                l.head_set = self.nodes[next as usize].last_set;
            }
        } else {
            self.nodes[prev as usize].next = next;
        }
        if next == NIL {
            l.tail = prev;
        } else {
            self.nodes[next as usize].prev = prev;
        }
        l.len -= 1;
    }

    fn push_tail(&mut self, i: u32) {
        let ep = self.nodes[i as usize].ep as usize;
        let tail = self.lists[ep].tail;
        self.nodes[i as usize].prev = tail;
        self.nodes[i as usize].next = NIL;
        if tail == NIL {
            self.lists[ep].head = i;
            self.lists[ep].head_set = self.nodes[i as usize].last_set;
        } else {
            self.nodes[tail as usize].next = i;
        }
        self.lists[ep].tail = i;
        self.lists[ep].len += 1;
    }

    /// `--set` on an existing entry.
    #[inline]
    fn refresh(&mut self, i: u32, now: f64) {
        self.nodes[i as usize].last_set = now;
        let ep = self.nodes[i as usize].ep as usize;
        if self.lists[ep].tail != i {
            self.unlink_list(i);
            self.push_tail(i);
        } else if self.lists[ep].head == i {
            // The only entry: it stays the head, with its new time.
            self.lists[ep].head_set = now;
        }
    }

    /// Removes node `i` from its list and its client's chain, and frees it.
    fn remove(&mut self, i: u32) {
        self.unlink_list(i);
        let RecentNode { cprev, cnext, .. } = self.nodes[i as usize];
        let client = self.clients[i as usize];
        if self.hint == i {
            self.hint = NIL;
        }
        if cnext != NIL {
            self.nodes[cnext as usize].cprev = cprev;
        }
        if cprev != NIL {
            self.nodes[cprev as usize].cnext = cnext;
        } else if cnext != NIL {
            self.first.insert(client, cnext);
        } else {
            self.first.remove(&client);
        }
        let n = &mut self.nodes[i as usize];
        n.ep = NIL;
        n.next = self.free;
        self.free = i;
    }

    fn alloc(&mut self, node: RecentNode, client: IpAddr) -> u32 {
        if self.free != NIL {
            let i = self.free;
            self.free = self.nodes[i as usize].next;
            self.nodes[i as usize] = node;
            self.clients[i as usize] = client;
            return i;
        }
        let i = u32::try_from(self.nodes.len())
            .ok()
            .filter(|&i| i != NIL)
            .expect("at most u32::MAX - 1 recent entries");
        self.nodes.push(node);
        self.clients.push(client);
        i
    }

    /// The affinity rules: the first endpoint, in order, whose list holds a fresh entry for
    /// `client`. Consumes no random draws.
    #[inline]
    pub fn lookup(&mut self, client: IpAddr, now: f64) -> Option<usize> {
        let mut i = *self.first.get(&client)?;
        loop {
            let RecentNode {
                ep,
                last_set,
                cnext,
                ..
            } = self.nodes[i as usize];
            // `--rcheck --seconds T --reap` on a list holding the client: the reap follows the
            // check, hit or not, and may take the client's own entry.
            let hit = now - last_set <= self.seconds;
            let l = self.lists[ep as usize];
            if now - l.head_set > self.seconds {
                self.remove(l.head);
            }
            if hit {
                self.hint = i;
                self.hint_client = client;
                return Some(ep as usize);
            }
            if cnext == NIL {
                return None;
            }
            i = cnext;
        }
    }

    /// The `--set` in endpoint `e`'s DNAT rule.
    #[inline]
    pub fn record(&mut self, e: usize, client: IpAddr, now: f64) {
        if self.hint_client == client {
            if let Some(n) = self.nodes.get(self.hint as usize) {
                if n.ep as usize == e {
                    self.refresh(self.hint, now);
                    return;
                }
            }
        }
        self.record_slow(e, client, now);
    }

    fn record_slow(&mut self, e: usize, client: IpAddr, now: f64) {
        assert!(e < self.lists.len(), "endpoint {e} out of range");
        let ep = e as u32;
        // The client's nodes before endpoint e, and its node at or after e.
        let mut prev = NIL;
        let mut cur = self.first.get(&client).copied().unwrap_or(NIL);
        while cur != NIL && self.nodes[cur as usize].ep < ep {
            prev = cur;
            cur = self.nodes[cur as usize].cnext;
        }
        if cur != NIL && self.nodes[cur as usize].ep == ep {
            self.refresh(cur, now);
            return;
        }
        if self.capacity == 0 {
            return;
        }
        if self.lists[e].len as usize >= self.capacity {
            // Another client's entry (this one has none in list e): `prev` and `cur` stay valid.
            self.remove(self.lists[e].head);
        }
        let i = self.alloc(
            RecentNode {
                last_set: now,
                ep,
                prev: NIL,
                next: NIL,
                cprev: prev,
                cnext: cur,
            },
            client,
        );
        self.push_tail(i);
        if cur != NIL {
            self.nodes[cur as usize].cprev = i;
        }
        if prev == NIL {
            self.first.insert(client, i);
        } else {
            self.nodes[prev as usize].cnext = i;
        }
    }

    /// Rebuilds the lists for a new endpoint list: `old_of_new[j]` is the old position of new
    /// endpoint `j`, or `None` for a new endpoint (which starts with an empty list). Lists of
    /// removed endpoints go with their chains.
    pub fn remap(&mut self, old_of_new: &[Option<usize>]) {
        let old = std::mem::replace(&mut self.lists, vec![EMPTY_LIST; old_of_new.len()]);
        let mut new_of_old = vec![NIL; old.len()];
        for (j, o) in old_of_new.iter().enumerate() {
            // An old list moves once; a repeated position gets an empty list.
            if let Some(slot) = o.and_then(|i| new_of_old.get_mut(i)) {
                if *slot == NIL {
                    *slot = j as u32;
                }
            }
        }
        for (i, n) in self.nodes.iter_mut().enumerate() {
            if n.ep != NIL {
                n.ep = new_of_old[n.ep as usize];
                if n.ep == NIL {
                    n.next = self.free;
                    self.free = i as u32;
                }
            }
        }
        for (o, &j) in old.iter().zip(&new_of_old) {
            if j != NIL {
                self.lists[j as usize] = *o;
            }
        }
        // Endpoint order changed: rebuild the client chains, prepending from the last endpoint.
        self.first.clear();
        for e in (0..self.lists.len()).rev() {
            let mut i = self.lists[e].head;
            while i != NIL {
                let client = self.clients[i as usize];
                let next = self.first.insert(client, i).unwrap_or(NIL);
                self.nodes[i as usize].cprev = NIL;
                self.nodes[i as usize].cnext = next;
                if next != NIL {
                    self.nodes[next as usize].cprev = i;
                }
                i = self.nodes[i as usize].next;
            }
        }
        let want = self.lists.len().saturating_mul(self.capacity);
        self.nodes.reserve(want.saturating_sub(self.nodes.len()));
        self.clients
            .reserve(want.saturating_sub(self.clients.len()));
        self.hint = NIL;
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

    /// Checks the arena's links: each node is either free or in exactly one list, in the order
    /// of that list's links, and in its client's chain, which runs in strictly increasing
    /// endpoint order from `first`.
    fn check_links(a: &IptablesAffinity) {
        let mut seen = vec![false; a.nodes.len()];
        let mut live = 0;
        for (e, l) in a.lists.iter().enumerate() {
            let (mut i, mut prev, mut len) = (l.head, NIL, 0);
            while i != NIL {
                let n = &a.nodes[i as usize];
                assert_eq!(n.ep as usize, e);
                assert_eq!(n.prev, prev);
                assert!(!std::mem::replace(&mut seen[i as usize], true));
                (prev, i, len) = (i, n.next, len + 1);
            }
            assert_eq!((l.tail, l.len), (prev, len));
            if l.head != NIL {
                assert_eq!(l.head_set, a.nodes[l.head as usize].last_set, "list {e}");
            }
            assert!(len as usize <= a.capacity);
            live += len;
        }
        let mut i = a.free;
        while i != NIL {
            assert_eq!(a.nodes[i as usize].ep, NIL);
            assert!(!std::mem::replace(&mut seen[i as usize], true));
            i = a.nodes[i as usize].next;
        }
        assert!(seen.iter().all(|&s| s), "a node is neither listed nor free");
        assert_eq!(a.clients.len(), a.nodes.len());
        if a.hint != NIL {
            let n = &a.nodes[a.hint as usize];
            assert_ne!(n.ep, NIL, "the hint names a live node");
            assert_eq!(a.clients[a.hint as usize], a.hint_client);
        }
        let mut chained = 0;
        for (&c, &f) in &a.first {
            let (mut i, mut prev, mut last_ep) = (f, NIL, None);
            assert_ne!(f, NIL);
            while i != NIL {
                let n = &a.nodes[i as usize];
                assert_eq!(a.clients[i as usize], c);
                assert_eq!(n.cprev, prev);
                assert_ne!(n.ep, NIL);
                assert!(last_ep < Some(n.ep));
                (last_ep, prev, i, chained) = (Some(n.ep), i, n.cnext, chained + 1);
            }
        }
        assert_eq!(chained, live, "the chains hold exactly the listed nodes");
    }

    fn assert_same(fast: &IptablesAffinity, lists: &[RecentList]) {
        let snapshot = fast.lists();
        assert_eq!(snapshot.len(), lists.len());
        for (a, b) in snapshot.iter().zip(lists) {
            let a: Vec<_> = a.clients().map(|c| (c, a.last_seen(c))).collect();
            let b: Vec<_> = b.clients().map(|c| (c, b.last_seen(c))).collect();
            assert_eq!(a, b);
        }
        let mut live: Vec<IpAddr> = fast.first.keys().copied().collect();
        live.sort();
        let mut want: Vec<IpAddr> = lists.iter().flat_map(|l| l.clients()).collect();
        want.sort();
        want.dedup();
        assert_eq!(live, want, "the index holds exactly the listed clients");
        check_links(fast);
    }

    /// Drives an [`IptablesAffinity`] and naive [`RecentList`]s with the same random operations
    /// and compares every lookup and, regularly, the whole state.
    fn compare_with_naive(seed: u64, n: usize, capacity: usize, clients: u32, steps: usize) {
        const T: u32 = 5;
        let mut rng = crate::select::Rng::new(seed);
        let mut fast = IptablesAffinity::with_capacity(n, T, capacity);
        let mut lists: Vec<RecentList> = (0..n).map(|_| RecentList::new(capacity)).collect();
        let mut now = 0.0;
        for step in 0..steps {
            now += f64::from(rng.next_u32() % 5) / 2.0;
            if rng.next_u32().is_multiple_of(32) {
                now -= 1.5; // both must agree on any clock, not only a monotonic one
            }
            let c = ip(rng.next_u32() % clients);
            let n = lists.len();
            match rng.next_u32() % 32 {
                // A `--set` without a lookup just before: a stale hint must not apply.
                0 | 1 => {
                    let e = rng.next_u32() as usize % n;
                    lists[e].set(c, now);
                    fast.record(e, c, now);
                }
                // A lookup without its `--set`.
                2 => {
                    let naive = lists.iter_mut().position(|l| l.check(c, now, f64::from(T)));
                    assert_eq!(fast.lookup(c, now), naive, "step {step}");
                }
                // Endpoints reordered, added, removed, with the odd repeated or bad position.
                3 if rng.next_u32().is_multiple_of(8) => {
                    let m = (n + rng.next_u32() as usize % 5).saturating_sub(2).max(1);
                    let old_of_new: Vec<Option<usize>> = (0..m)
                        .map(|_| match rng.next_u32() % 8 {
                            0 => None,
                            1 => Some(n + 1),
                            _ => Some(rng.next_u32() as usize % n),
                        })
                        .collect();
                    let mut old: Vec<Option<RecentList>> =
                        std::mem::take(&mut lists).into_iter().map(Some).collect();
                    lists = old_of_new
                        .iter()
                        .map(|o| {
                            o.and_then(|i| old.get_mut(i).and_then(Option::take))
                                .unwrap_or_else(|| RecentList::new(capacity))
                        })
                        .collect();
                    fast.remap(&old_of_new);
                    assert_same(&fast, &lists);
                }
                // What `Balancer::pick` does.
                _ => {
                    let naive = lists.iter_mut().position(|l| l.check(c, now, f64::from(T)));
                    assert_eq!(fast.lookup(c, now), naive, "step {step}");
                    let e = naive.unwrap_or(rng.next_u32() as usize % n);
                    lists[e].set(c, now);
                    fast.record(e, c, now);
                }
            }
            if step % 1000 == 0 {
                assert_same(&fast, &lists);
            }
        }
        assert_same(&fast, &lists);
    }

    /// The arena must give exactly the result of checking every list in order: many endpoints,
    /// small lists (evictions), reaps (also of the client's own entry), hints gone stale,
    /// remaps, and a clock that sometimes steps back.
    #[test]
    fn indexed_lookup_equals_checking_every_list() {
        for seed in 1..=3 {
            compare_with_naive(seed, 80, 3, 40, 20000);
            compare_with_naive(seed, 80, 1, 300, 10000);
            compare_with_naive(seed, 10, 100, 1500, 20000);
            compare_with_naive(seed, 3, 2, 10, 5000);
            compare_with_naive(seed, 1, 1, 3, 2000);
            compare_with_naive(seed, 4, 0, 5, 1000);
        }
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
