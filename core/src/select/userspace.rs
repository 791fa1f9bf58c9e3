//! kube-proxy userspace mode: the proxy's own round robin, `LoadBalancerRR`.
//!
//! In userspace mode (removed in Kubernetes 1.26) kube-proxy accepts every connection itself, on
//! one proxy port per service port, and dials the endpoint its load balancer names. This module
//! is that load balancer for one service port.
//!
//! # Specification
//!
//! Followed: kubernetes/kubernetes `pkg/proxy/userspace/roundrobin.go` as stored at commit
//! `0096f4a4d137aa03ee1f5d168dadb325833b3a57` (the klog/v2, `k8s.io/api/core/v1` era), and its
//! test `roundrobin_test.go` at commit `15816b382ef2b81bd376fc2492062a8216e0a490` (the
//! `OnEndpointsAdd`/`OnEndpointsUpdate`/`OnEndpointsDelete` handlers and the
//! `sessionAffinityReset` argument, which the code above has too). The copy of the last
//! release before the removal (v1.25) was not among the stored versions; the behaviour below
//! is read from the copy named here.
//!
//! State per service port: the endpoint list (`ip:port` strings), a round-robin index into it,
//! and the affinity policy (type, `ttlSeconds`, a map client IP → `{endpoint, lastUsed}`).
//!
//! 1. **Endpoint list and order.** The list is every ready address of the port in the
//!    `Endpoints` object's order (subset by subset; in a subset, port by port, then address by
//!    address), **shuffled** (`ShuffleStrings`: Go's `rand.Perm` on a generator seeded from the
//!    clock at start-up) each time it is set. The index is then 0, so the first connection goes
//!    to the first endpoint of the shuffled list and the next ones follow it cyclically.
//!    (`OnEndpointsAdd`, for an object the proxy had not seen, sets the list the same way
//!    without comparing. An address listed twice in the object would take two turns; svccore's
//!    lists hold distinct addresses, as its snapshot de-duplicates them.)
//! 2. **Next endpoint** (`NextEndpoint(svc, client, reset)`): no endpoints → an error (the
//!    proxy closes the connection). With ClientIP affinity and `reset` false, a client with an
//!    entry whose `int(seconds since lastUsed) < ttlSeconds` gets the entry's endpoint, the
//!    entry's `lastUsed` becomes now, and **the index does not move**. Otherwise the endpoint at
//!    the index is taken, the index advances (mod the list length), and with affinity the
//!    client's entry is created or overwritten with that endpoint and now. An expired entry is
//!    not removed by the lookup, only overwritten. `reset` is true when the proxy retries a
//!    connection whose dial failed: it skips the lookup, so the retry takes the next endpoint
//!    in turn and re-pins the client to it.
//! 3. **Endpoint update** (`OnEndpointsUpdate`): if the new list has the same endpoints as the
//!    current one (same length, equal once both are sorted), **nothing changes**: order, index
//!    and affinity stay, whatever order the object now lists them in. Otherwise the affinity
//!    entries whose endpoint is not in the new list are deleted (entries of remaining endpoints
//!    stay, whatever their age), the new list is shuffled and the index is 0.
//! 4. **No endpoints left** (an update without the port, or `OnEndpointsDelete`):
//!    `resetService` empties the list, sets the index to 0 and drops **every** affinity entry;
//!    the service port itself stays.
//! 5. **Timeout.** `ttlSeconds` is the Service's `sessionAffinityConfig.clientIP.timeoutSeconds`;
//!    0 means 10800. The balancer state keeps the timeout it was created with:
//!    `NewService` on an existing state changes the affinity type only, and an endpoints event
//!    that arrives before the Service is merged creates the state with the default 10800. So a
//!    node whose endpoints handler ran first (kube-proxy's start-up, for one) keeps 10800 s
//!    whatever the Service says. svccore takes the timeout it is given, the Service's.
//! 6. `CleanupStaleStickySessions` (each sync) deletes entries with
//!    `int(seconds since lastUsed) >= ttlSeconds`; a lookup already ignores them, so picks do
//!    not depend on when it runs ([`RoundRobin::cleanup`] does the same).
//!
//! # Determinism
//!
//! kube-proxy's shuffle cannot be replayed (its generator is seeded from the clock). svccore
//! shuffles with the same algorithm (Go's `Perm`: for `i` in `0..n`, `j = Intn(i+1)`,
//! `m[i] = m[j]`, `m[j] = i`; endpoint `i` goes to position `m[i]`) driven by the caller's
//! seeded [`Rng`], so every order is equally likely, as on a node, and a seed gives one
//! reproducible order. Exact pick sequences therefore depend on the seed **only through the
//! order**: given [`RoundRobin::order`], every pick is fixed, which is how kube-proxy's own
//! tests pin their sequences (they read the shuffled list back and expect picks relative to
//! it). No pick draws a random number; an update that changes the set draws `n`.
//!
//! # Allocation
//!
//! Picks without affinity never allocate; with affinity, a pick for a client already in the
//! table does not either. A new client's entry may grow the table (kube-proxy's map has no
//! bound: entries leave only by expiry cleanup, endpoint removal or reset).

use std::collections::HashMap;
use std::net::IpAddr;

use super::affinity::DEFAULT_TIMEOUT_SECONDS;
use super::{fixed_state, FixedState, Rng};

/// Why [`RoundRobin::next`] chose its endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PickedBy {
    /// The endpoint at the round-robin index (the index advanced).
    RoundRobin,
    /// The client's live affinity entry (the index did not move).
    Affinity,
}

/// One affinity entry: the endpoint (a caller index) and when the client last used it.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Entry {
    endpoint: u32,
    last_used: f64,
}

/// kube-proxy's `LoadBalancerRR` state for one service port (see the module docs).
///
/// Backends are caller indices (positions in the backend slice the
/// [`Balancer`](super::Balancer) was given); [`RoundRobin::order`] is the proxy's shuffled list.
#[derive(Clone, Debug)]
pub struct RoundRobin {
    order: Vec<u32>,
    index: usize,
    /// `sessionAffinity: ClientIP`.
    client_ip: bool,
    /// `ttlSeconds`, fixed when the state is created.
    ttl_seconds: u32,
    /// Client IP → entry. Kept while affinity is off (kube-proxy keeps its map).
    clients: HashMap<IpAddr, Entry, FixedState>,
}

impl RoundRobin {
    /// The state after the endpoints of `n` backends (caller indices `0..n`) were set: the
    /// list shuffled with `rng`, index 0. `affinity_timeout` is `Some(timeoutSeconds)` for
    /// `sessionAffinity: ClientIP` (0 is taken as kube-proxy's default, 10800), `None` for none
    /// (the timeout is then the default, as kube-proxy's state has it).
    pub fn new(n: usize, affinity_timeout: Option<u32>, rng: &mut Rng) -> Self {
        let mut rr = RoundRobin {
            order: Vec::with_capacity(n),
            index: 0,
            client_ip: affinity_timeout.is_some(),
            ttl_seconds: match affinity_timeout {
                None | Some(0) => DEFAULT_TIMEOUT_SECONDS,
                Some(t) => t,
            },
            clients: HashMap::with_hasher(fixed_state()),
        };
        shuffle_into(n, rng, &mut rr.order);
        rr
    }

    /// The proxy's endpoint list: caller indices in round-robin order.
    pub fn order(&self) -> &[u32] {
        &self.order
    }

    /// The round-robin index: the position in [`RoundRobin::order`] of the next endpoint taken
    /// without affinity.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Whether ClientIP affinity is on.
    pub fn client_ip_affinity(&self) -> bool {
        self.client_ip
    }

    /// The affinity `ttlSeconds` of the state (kept while affinity is off).
    pub fn ttl_seconds(&self) -> u32 {
        self.ttl_seconds
    }

    /// `NewService` on the existing state of the port, as kube-proxy calls it when it merges
    /// the Service: the affinity type changes (`client_ip`), the timeout and the table do not
    /// (module docs, 5).
    pub fn set_client_ip_affinity(&mut self, client_ip: bool) {
        self.client_ip = client_ip;
    }

    /// The endpoint (caller index) and `lastUsed` of `client`'s affinity entry, live or not.
    pub fn affinity_of(&self, client: IpAddr) -> Option<(usize, f64)> {
        self.clients
            .get(&key(client))
            .map(|e| (e.endpoint as usize, e.last_used))
    }

    /// The number of affinity entries (expired ones included until [`RoundRobin::cleanup`]).
    pub fn affinity_len(&self) -> usize {
        self.clients.len()
    }

    /// `NextEndpoint`: the endpoint (caller index) of a new connection from `client` at `now`
    /// seconds, and why; `None` without endpoints. `reset` is kube-proxy's
    /// `sessionAffinityReset` (a retry after a failed dial): the affinity lookup is skipped.
    #[inline]
    pub fn next(&mut self, client: IpAddr, now: f64, reset: bool) -> Option<(usize, PickedBy)> {
        if self.order.is_empty() {
            return None;
        }
        if !self.client_ip {
            return Some((self.advance(), PickedBy::RoundRobin));
        }
        let client = key(client);
        if !reset {
            if let Some(e) = self.clients.get_mut(&client) {
                // Go: int(time.Since(lastUsed).Seconds()) < ttlSeconds (truncation toward 0).
                if (now - e.last_used).trunc() < f64::from(self.ttl_seconds) {
                    e.last_used = now;
                    return Some((e.endpoint as usize, PickedBy::Affinity));
                }
            }
        }
        let endpoint = self.advance();
        let entry = Entry {
            endpoint: endpoint as u32,
            last_used: now,
        };
        self.clients.insert(client, entry);
        Some((endpoint, PickedBy::RoundRobin))
    }

    /// Takes the endpoint at the index and advances it.
    #[inline(always)]
    fn advance(&mut self) -> usize {
        let e = self.order[self.index];
        self.index += 1;
        if self.index == self.order.len() {
            self.index = 0;
        }
        e as usize
    }

    /// `OnEndpointsUpdate` for this port. `new_of_old[i]` is the new caller index of old
    /// backend `i` (`None` if it left); `new_len` is the new list's length. The caller
    /// guarantees that both lists hold distinct addresses.
    ///
    /// Same set: order, index and affinity stay (indices renumbered). Changed set: affinity
    /// entries of departed endpoints are deleted, the list is reshuffled with `rng` and the index
    /// is 0. Empty list: `resetService` (every affinity entry dropped).
    pub fn update(&mut self, new_of_old: &[Option<usize>], new_len: usize, rng: &mut Rng) {
        if new_len == 0 {
            self.order.clear();
            self.index = 0;
            self.clients.clear();
            return;
        }
        let renumber = |i: u32| new_of_old[i as usize].map(|n| n as u32);
        let same_set = new_of_old.len() == new_len && new_of_old.iter().all(Option::is_some);
        self.clients.retain(|_, e| match renumber(e.endpoint) {
            Some(n) => {
                e.endpoint = n;
                true
            }
            None => false,
        });
        if same_set {
            for e in &mut self.order {
                *e = renumber(*e).expect("same set: every old backend has a new index");
            }
        } else {
            shuffle_into(new_len, rng, &mut self.order);
            self.index = 0;
        }
    }

    /// `CleanupStaleStickySessions`: deletes the affinity entries that have expired at `now`.
    pub fn cleanup(&mut self, now: f64) {
        let ttl = f64::from(self.ttl_seconds);
        self.clients
            .retain(|_, e| (now - e.last_used).trunc() < ttl);
    }
}

/// The affinity key: Go keys the map by the client address's text, where an IPv4-mapped IPv6
/// address prints as the IPv4 address.
#[inline(always)]
fn key(client: IpAddr) -> IpAddr {
    client.to_canonical()
}

/// `ShuffleStrings` over caller indices `0..n`, into `out`: Go's `rand.Perm(n)` (for `i` in
/// `0..n`: `j = Intn(i+1)`, `m[i] = m[j]`, `m[j] = i`), then element `i` goes to position `m[i]`.
pub fn shuffle_into(n: usize, rng: &mut Rng, out: &mut Vec<u32>) {
    let mut m = vec![0u32; n];
    for i in 0..n {
        let j = rng.below(i as u64 + 1) as usize;
        m[i] = m[j];
        m[j] = i as u32;
    }
    out.clear();
    out.resize(n, 0);
    for (i, &pos) in m.iter().enumerate() {
        out[pos as usize] = i as u32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn shuffle_is_a_permutation_and_every_order_is_about_equally_likely() {
        let mut rng = Rng::new(11);
        let mut seen = std::collections::HashMap::new();
        let mut out = Vec::new();
        for _ in 0..60_000 {
            shuffle_into(3, &mut rng, &mut out);
            let mut sorted = out.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, [0, 1, 2]);
            *seen.entry(out.clone()).or_insert(0u32) += 1;
        }
        // 6 orders, 10 000 expected each; 5 standard deviations is about ±460.
        assert_eq!(seen.len(), 6);
        assert!(
            seen.values().all(|&c| (9_500..10_500).contains(&c)),
            "{seen:?}"
        );
    }

    #[test]
    fn expiry_truncates_elapsed_seconds_like_go() {
        let mut rr = RoundRobin::new(2, Some(10), &mut Rng::new(1));
        let (first, by) = rr.next(ip("192.0.2.1"), 0.0, false).unwrap();
        assert_eq!(by, PickedBy::RoundRobin);
        // 9.75 s truncates to 9 < 10: a hit, which refreshes lastUsed.
        assert_eq!(
            rr.next(ip("192.0.2.1"), 9.75, false),
            Some((first, PickedBy::Affinity))
        );
        // Exactly 10 s after the last use: expired, the next endpoint in turn.
        let (second, by) = rr.next(ip("192.0.2.1"), 19.75, false).unwrap();
        assert_eq!((by, second == first), (PickedBy::RoundRobin, false));
    }

    #[test]
    fn ipv4_mapped_client_shares_the_ipv4_entry() {
        let mut rr = RoundRobin::new(3, Some(100), &mut Rng::new(2));
        let (e, _) = rr.next(ip("192.0.2.7"), 0.0, false).unwrap();
        assert_eq!(
            rr.next(ip("::ffff:192.0.2.7"), 1.0, false),
            Some((e, PickedBy::Affinity))
        );
    }

    #[test]
    fn zero_timeout_is_kube_proxys_default() {
        let rr = RoundRobin::new(1, Some(0), &mut Rng::new(0));
        assert_eq!(rr.ttl_seconds(), DEFAULT_TIMEOUT_SECONDS);
    }

    #[test]
    fn cleanup_drops_only_expired_entries() {
        let mut rr = RoundRobin::new(2, Some(10), &mut Rng::new(3));
        rr.next(ip("192.0.2.1"), 0.0, false);
        rr.next(ip("192.0.2.2"), 5.0, false);
        rr.cleanup(10.0);
        assert_eq!(rr.affinity_len(), 1);
        assert!(rr.affinity_of(ip("192.0.2.2")).is_some());
    }
}
