//! [`Balancer`]: one algorithm's precomputed state over one backend list, plus affinity.

use std::collections::HashMap;
use std::net::SocketAddr;

use super::affinity::{
    check_timeout, IptablesAffinity, LruAffinity, PersistenceTemplates, DEFAULT_LRU_CAPACITY,
    RECENT_LIST_CAPACITY,
};
use super::cascade::Cascade;
use super::ipvs::{self, ConnCounters};
use super::maglev::{Maglev, DEFAULT_TABLE_SIZE};
use super::numgen;
use super::ring::{RingHash, DEFAULT_MIN_RING_SIZE};
use super::userspace::RoundRobin;
use super::{check_unique, fixed_state, Algorithm, Backend, Connection, FixedState, Flags, Rng};
use crate::error::{Error, Result};

/// Which affinity semantics a [`Balancer`] applies (see [`super::affinity`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AffinityKind {
    /// iptables `recent` lists, one per endpoint (the default for `iptables`).
    Recent,
    /// IPVS persistence templates (the default for the IPVS schedulers).
    Persistence,
    /// A plain LRU with an idle timeout (the default for `nftables`, `maglev` and `ring-hash`).
    Lru,
    /// kube-proxy userspace mode's own table, kept by the `userspace` engine (its only
    /// semantics, and no other engine's; see [`super::userspace`]).
    Userspace,
}

impl AffinityKind {
    /// The semantics the engine itself implements.
    pub fn native(algorithm: Algorithm) -> Self {
        match algorithm {
            Algorithm::Iptables => AffinityKind::Recent,
            // nftables: per-endpoint dynamic sets whose `update` refreshes the timeout on every
            // new connection; an entry lives while `now − last < timeout`, as the LRU's.
            Algorithm::Nftables | Algorithm::Maglev | Algorithm::RingHash => AffinityKind::Lru,
            Algorithm::Userspace => AffinityKind::Userspace,
            _ => AffinityKind::Persistence,
        }
    }
}

/// Settings of a [`Balancer`]. `Options::default()` is kube-proxy's defaults without affinity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// IPVS scheduler flags (`sh-*` for sh, `mh-*` for mh; anything else is rejected).
    pub flags: Flags,
    /// Seed of the random draws (iptables cascade) and of the Maglev / ring-hash keys.
    pub seed: u64,
    /// Maglev table size, a prime ≤ 5 000 011 (default 65537).
    pub maglev_table_size: u32,
    /// IPVS `mh` table size, one of [`ipvs::MH_TABLE_SIZES`] (default 4093).
    pub mh_table_size: u32,
    /// Ring hash minimum ring size (default 1024).
    pub ring_min_size: u64,
    /// Whether Maglev and ring hash hash the client port along with the client address.
    /// Off by default: ClientIP-style stickiness across connections (and nodes).
    pub hash_client_port: bool,
    /// ClientIP affinity `timeoutSeconds` (1..=86400), or `None` for `sessionAffinity: None`.
    pub affinity_timeout: Option<u32>,
    /// The affinity semantics, or `None` for the engine's own ([`AffinityKind::native`]).
    pub affinity_kind: Option<AffinityKind>,
    /// Capacity of each `recent` list (default 100) and of the LRU (default 65536).
    pub recent_list_capacity: usize,
    /// Capacity of the LRU affinity store.
    pub lru_capacity: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            flags: Flags::NONE,
            seed: 0,
            maglev_table_size: DEFAULT_TABLE_SIZE,
            mh_table_size: ipvs::MH_DEFAULT_TABLE_SIZE,
            ring_min_size: DEFAULT_MIN_RING_SIZE,
            hash_client_port: false,
            affinity_timeout: None,
            affinity_kind: None,
            recent_list_capacity: RECENT_LIST_CAPACITY,
            lru_capacity: DEFAULT_LRU_CAPACITY,
        }
    }
}

#[derive(Clone, Debug)]
// An explicit tag byte: `pick` dispatches on it with one load, where the niche the compiler
// would pick inside `ipvs::Service` takes a subtract and a conditional move to decode.
#[repr(u8)]
enum Engine {
    Cascade(Cascade),
    /// `numgen random mod n`.
    Numgen(u32),
    Ipvs {
        svc: ipvs::Service,
        /// Caller index of each kernel list position.
        to_caller: Vec<u32>,
        /// Kernel list position of each caller index.
        to_kernel: Vec<u32>,
    },
    Maglev(Maglev),
    Ring(RingHash),
    /// kube-proxy userspace's round robin, affinity table included.
    Userspace(RoundRobin),
}

#[derive(Clone, Debug)]
enum Affinity {
    Recent(IptablesAffinity),
    Templates(PersistenceTemplates),
    Lru(LruAffinity),
}

/// The selection state of one service port (or one IPVS virtual server).
///
/// Built once per backend list; [`Balancer::pick`] does not allocate (except when an affinity
/// store without a fixed capacity, IPVS persistence or userspace's table, grows for a new
/// client).
#[derive(Clone, Debug)]
pub struct Balancer {
    algorithm: Algorithm,
    options: Options,
    backends: Vec<Backend>,
    rng: Rng,
    engine: Engine,
    affinity: Option<Affinity>,
    /// No affinity and a precomputed rr/wrr cycle: a pick is the cycle's next step. Derived
    /// from `affinity` and `engine` (both set only by `new` and `update`) and cached: testing
    /// one flag before the engine's jump table saves a sixth of an rr pick's instructions.
    planned: bool,
}

/// Each backend's position in `backends`, by address.
fn positions(backends: &[Backend]) -> HashMap<SocketAddr, usize, FixedState> {
    let mut pos = HashMap::with_capacity_and_hasher(backends.len(), fixed_state());
    pos.extend(backends.iter().enumerate().map(|(i, b)| (b.addr, i)));
    pos
}

fn kernel_maps(svc: &ipvs::Service, backends: &[Backend]) -> (Vec<u32>, Vec<u32>) {
    let pos = positions(backends);
    let to_caller: Vec<u32> = svc.dests().iter().map(|d| pos[&d.addr] as u32).collect();
    let mut to_kernel = vec![0u32; backends.len()];
    for (k, &c) in to_caller.iter().enumerate() {
        to_kernel[c as usize] = k as u32;
    }
    (to_caller, to_kernel)
}

impl Balancer {
    /// Builds the state of `algorithm` over `backends` (see the module docs for how the slice
    /// order is read). An empty list is allowed: every pick is then `None`.
    ///
    /// Errors ([`Error::InvalidArgument`]): duplicate addresses, flags foreign to the
    /// algorithm, IPVS weights above 65535, bad table or ring sizes, affinity timeout outside
    /// 1..=86400.
    pub fn new(algorithm: Algorithm, backends: &[Backend], options: &Options) -> Result<Self> {
        check_unique(backends)?;
        if algorithm.ipvs_scheduler().is_none() && !options.flags.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "scheduler flags {} apply to IPVS sh/mh only, not to {algorithm}",
                options.flags
            )));
        }
        if let Some(t) = options.affinity_timeout {
            check_timeout(t)?;
        }
        let kind = options
            .affinity_kind
            .unwrap_or(AffinityKind::native(algorithm));
        if (kind == AffinityKind::Userspace) != (algorithm == Algorithm::Userspace) {
            return Err(Error::InvalidArgument(format!(
                "{algorithm} keeps {} affinity, not {kind:?}",
                if algorithm == Algorithm::Userspace {
                    "its own table's"
                } else {
                    "recent, persistence or LRU"
                }
            )));
        }
        let mut rng = Rng::new(options.seed);
        let engine = Self::build(algorithm, backends, options, &mut rng)?;
        let affinity = options.affinity_timeout.and_then(|t| {
            Some(match kind {
                // The engine keeps the table (built above).
                AffinityKind::Userspace => return None,
                AffinityKind::Recent => Affinity::Recent(IptablesAffinity::with_capacity(
                    backends.len(),
                    t,
                    options.recent_list_capacity,
                )),
                AffinityKind::Persistence => Affinity::Templates(PersistenceTemplates::new(t)),
                AffinityKind::Lru => Affinity::Lru(LruAffinity::new(t, options.lru_capacity)),
            })
        });
        let planned = affinity.is_none() && is_planned(&engine);
        Ok(Balancer {
            algorithm,
            options: options.clone(),
            backends: backends.to_vec(),
            rng,
            engine,
            affinity,
            planned,
        })
    }

    fn build(
        algorithm: Algorithm,
        backends: &[Backend],
        o: &Options,
        rng: &mut Rng,
    ) -> Result<Engine> {
        Ok(match algorithm {
            Algorithm::Userspace => {
                Engine::Userspace(RoundRobin::new(backends.len(), o.affinity_timeout, rng))
            }
            Algorithm::Iptables => Engine::Cascade(Cascade::new(backends.len())),
            Algorithm::Nftables => {
                Engine::Numgen(u32::try_from(backends.len()).unwrap_or(u32::MAX))
            }
            Algorithm::Maglev => {
                Engine::Maglev(Maglev::new(backends, o.maglev_table_size, o.seed)?)
            }
            Algorithm::RingHash => Engine::Ring(RingHash::new(backends, o.ring_min_size, o.seed)?),
            _ => {
                let sched = algorithm.ipvs_scheduler().expect("IPVS algorithm");
                let mut svc = ipvs::Service::new(sched, o.flags, o.mh_table_size)?;
                for b in backends {
                    svc.add_dest(b.addr, b.weight)?;
                }
                let (to_caller, to_kernel) = kernel_maps(&svc, backends);
                svc.precompute_labelled(&to_caller);
                Engine::Ipvs {
                    svc,
                    to_caller,
                    to_kernel,
                }
            }
        })
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The options it was built with.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// The current backend list (indices of [`Balancer::pick`] refer to it).
    pub fn backends(&self) -> &[Backend] {
        &self.backends
    }

    /// Picks the backend of a new connection: an index into [`Balancer::backends`], or `None`
    /// when no destination is available (REJECT in iptables mode, "no destination available"
    /// in IPVS).
    ///
    /// With affinity, the affinity store is consulted first (no random draw is consumed on a
    /// hit) and updated after the choice.
    #[inline(always)]
    pub fn pick(&mut self, conn: &Connection) -> Option<usize> {
        // Without affinity a pick is the engine's step alone; keep that inlined at the call site
        // and the affinity bookkeeping out of line.
        if self.planned {
            // rr/wrr with a precomputed cycle: the step's caller index, one load. (`planned` is
            // set with the engine in `new` and `update`, the only places the cycle changes.)
            if let Engine::Ipvs { svc, to_caller, .. } = &mut self.engine {
                return svc.schedule_labelled(conn, to_caller);
            }
        }
        if self.affinity.is_none() {
            // The cascade with a direct test: a jump table costs more than its draw.
            if let Engine::Cascade(c) = &self.engine {
                return c.pick(&mut self.rng);
            }
            let port = self.options.hash_client_port;
            return engine_pick(&mut self.engine, &mut self.rng, conn, port);
        }
        self.pick_with_affinity(conn)
    }

    /// [`Balancer::pick`] with an affinity store.
    #[inline(never)]
    fn pick_with_affinity(&mut self, conn: &Connection) -> Option<usize> {
        let weighted = self.algorithm.has_weights();
        let Balancer {
            engine,
            rng,
            affinity,
            backends,
            options,
            ..
        } = self;
        let port = options.hash_client_port;
        match affinity {
            None => engine_pick(engine, rng, conn, port),
            Some(Affinity::Recent(a)) => {
                let e = match a.lookup(conn.client, conn.now) {
                    Some(e) => e,
                    None => engine_pick(engine, rng, conn, port)?,
                };
                a.record(e, conn.client, conn.now);
                Some(e)
            }
            Some(Affinity::Templates(t)) => {
                if let Some(d) = t.lookup(conn.client, conn.now, |d| backends[d].weight > 0) {
                    return Some(d);
                }
                let d = engine_pick(engine, rng, conn, port)?;
                t.create(conn.client, d, conn.now);
                Some(d)
            }
            Some(Affinity::Lru(l)) => {
                if let Some(d) = l.lookup(conn.client, conn.now, |d| {
                    !weighted || backends[d].weight > 0
                }) {
                    return Some(d);
                }
                let d = engine_pick(engine, rng, conn, port)?;
                l.record(conn.client, d, conn.now);
                Some(d)
            }
        }
    }

    /// Replaces the backend list, keeping state where the engine keeps it:
    /// * IPVS: existing dests keep their kernel position, counters and (for rr) the cursor;
    ///   weights are edited (`last_weight` kept for a weight of 0, so `mh` keeps the slots of a
    ///   draining dest); new dests are added at the head in slice order; then missing dests are
    ///   deleted, the order kube-proxy uses. Persistence templates of deleted dests are dropped.
    /// * iptables: the `recent` lists of remaining endpoints survive; new endpoints start empty.
    /// * Maglev, ring hash: rebuilt; LRU affinity entries of remaining backends survive.
    /// * userspace: kube-proxy's `OnEndpointsUpdate`: the same set keeps order, index and
    ///   affinity; a changed set drops the departed endpoints' affinity entries, reshuffles
    ///   (drawing from the seeded generator) and restarts at the first endpoint; an empty list
    ///   drops every affinity entry ([`super::userspace`]).
    ///
    /// On error nothing changes.
    pub fn update(&mut self, backends: &[Backend]) -> Result<()> {
        check_unique(backends)?;
        let new_pos = positions(backends);
        let old_pos = positions(&self.backends);
        if let Engine::Userspace(rr) = &mut self.engine {
            // Updated in place (it cannot fail): kube-proxy's OnEndpointsUpdate.
            let new_of_old: Vec<Option<usize>> = self
                .backends
                .iter()
                .map(|b| new_pos.get(&b.addr).copied())
                .collect();
            rr.update(&new_of_old, backends.len(), &mut self.rng);
            self.backends = backends.to_vec();
            return Ok(());
        }
        let engine = match &self.engine {
            Engine::Ipvs { svc, .. } => {
                let mut svc = svc.clone();
                for b in backends {
                    match old_pos.get(&b.addr) {
                        Some(&i) if self.backends[i].weight != b.weight => {
                            svc.edit_dest(b.addr, b.weight)?
                        }
                        Some(_) => {}
                        None => svc.add_dest(b.addr, b.weight)?,
                    }
                }
                for b in &self.backends {
                    if !new_pos.contains_key(&b.addr) {
                        svc.remove_dest(b.addr)?;
                    }
                }
                let (to_caller, to_kernel) = kernel_maps(&svc, backends);
                svc.precompute_labelled(&to_caller);
                Engine::Ipvs {
                    svc,
                    to_caller,
                    to_kernel,
                }
            }
            _ => Self::build(self.algorithm, backends, &self.options, &mut self.rng)?,
        };
        let new_of_old: Vec<Option<usize>> = self
            .backends
            .iter()
            .map(|b| new_pos.get(&b.addr).copied())
            .collect();
        match &mut self.affinity {
            None => {}
            Some(Affinity::Recent(a)) => {
                let old_of_new: Vec<Option<usize>> = backends
                    .iter()
                    .map(|b| old_pos.get(&b.addr).copied())
                    .collect();
                a.remap(&old_of_new);
            }
            Some(Affinity::Templates(t)) => t.remap(|i| new_of_old[i]),
            Some(Affinity::Lru(l)) => l.remap(|i| new_of_old[i]),
        }
        self.planned = self.affinity.is_none() && is_planned(&engine);
        self.engine = engine;
        self.backends = backends.to_vec();
        Ok(())
    }

    /// The IPVS virtual service (dests in kernel order), for IPVS algorithms.
    pub fn ipvs(&self) -> Option<&ipvs::Service> {
        match &self.engine {
            Engine::Ipvs { svc, .. } => Some(svc),
            _ => None,
        }
    }

    /// Caller indices in kernel list order (IPVS algorithms only): element `k` is the backend at
    /// kernel position `k`.
    pub fn kernel_order(&self) -> Option<&[u32]> {
        match &self.engine {
            Engine::Ipvs { to_caller, .. } => Some(to_caller),
            _ => None,
        }
    }

    /// The connection counters of backend `index`, for lc / wlc / sed / nq (IPVS algorithms
    /// only). The caller maintains them as connections open and close.
    pub fn conn_counters_mut(&mut self, index: usize) -> Option<&mut ConnCounters> {
        match &mut self.engine {
            Engine::Ipvs { svc, to_kernel, .. } => {
                let k = *to_kernel.get(index)? as usize;
                svc.counters_mut(k)
            }
            _ => None,
        }
    }

    /// The iptables cascade (iptables only).
    pub fn cascade(&self) -> Option<&Cascade> {
        match &self.engine {
            Engine::Cascade(c) => Some(c),
            _ => None,
        }
    }

    /// The Maglev table (maglev only).
    pub fn maglev(&self) -> Option<&Maglev> {
        match &self.engine {
            Engine::Maglev(m) => Some(m),
            _ => None,
        }
    }

    /// kube-proxy userspace's round-robin state: the shuffled order, the index and the
    /// affinity table (userspace only).
    pub fn userspace(&self) -> Option<&RoundRobin> {
        match &self.engine {
            Engine::Userspace(r) => Some(r),
            _ => None,
        }
    }

    /// Mutable [`Balancer::userspace`], for kube-proxy's retry after a failed dial
    /// ([`RoundRobin::next`] with `reset`) and its periodic affinity cleanup.
    pub fn userspace_mut(&mut self) -> Option<&mut RoundRobin> {
        match &mut self.engine {
            Engine::Userspace(r) => Some(r),
            _ => None,
        }
    }

    /// The hash ring (ring-hash only).
    pub fn ring(&self) -> Option<&RingHash> {
        match &self.engine {
            Engine::Ring(r) => Some(r),
            _ => None,
        }
    }

    /// The random generator (its state after the draws made so far).
    pub fn rng(&self) -> &Rng {
        &self.rng
    }

    /// Restarts the random sequence from `seed`.
    pub fn reseed(&mut self, seed: u64) {
        self.rng = Rng::new(seed);
    }
}

fn is_planned(engine: &Engine) -> bool {
    matches!(engine, Engine::Ipvs { svc, .. } if svc.is_precomputed())
}

#[inline(always)]
fn engine_pick(
    engine: &mut Engine,
    rng: &mut Rng,
    conn: &Connection,
    hash_port: bool,
) -> Option<usize> {
    match engine {
        Engine::Cascade(c) => c.pick(rng),
        Engine::Numgen(n) => numgen::pick(rng, *n),
        Engine::Ipvs { svc, to_caller, .. } => svc.schedule_labelled(conn, to_caller),
        Engine::Maglev(m) => maglev_pick(m, conn, hash_port),
        Engine::Ring(r) => ring_pick(r, conn, hash_port),
        Engine::Userspace(r) => r.next(conn.client, conn.now, false).map(|(i, _)| i),
    }
}

// The hashing engines stay out of line: inlined into `pick`, their SipHash rounds take the
// registers the cascade and rr/wrr steps need, and those spill to the stack.
#[inline(never)]
fn maglev_pick(m: &Maglev, conn: &Connection, hash_port: bool) -> Option<usize> {
    m.pick(conn.client, hash_port.then_some(conn.client_port))
}

#[inline(never)]
fn ring_pick(r: &RingHash, conn: &Connection, hash_port: bool) -> Option<usize> {
    r.pick(conn.client, hash_port.then_some(conn.client_port))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    fn backends(n: usize) -> Vec<Backend> {
        (0..n)
            .map(|i| Backend::new(format!("10.0.0.{}:80", i + 1).parse().unwrap(), 1))
            .collect()
    }

    fn conn(c: &str, now: f64) -> Connection {
        Connection::new(c.parse().unwrap(), 1234, now)
    }

    #[test]
    fn ipvs_order_is_reverse_insertion_and_update_adds_at_head() {
        let b = backends(3);
        let mut rr = Balancer::new(Algorithm::Rr, &b, &Options::default()).unwrap();
        assert_eq!(rr.kernel_order().unwrap(), &[2, 1, 0]);
        let picks: Vec<_> = (0..3)
            .map(|_| rr.pick(&conn("1.1.1.1", 0.0)).unwrap())
            .collect();
        assert_eq!(picks, [2, 1, 0]);
        let mut b2 = b.clone();
        b2.push(Backend::new("10.0.0.9:80".parse().unwrap(), 1));
        rr.update(&b2).unwrap();
        assert_eq!(rr.kernel_order().unwrap(), &[3, 2, 1, 0]);
        // Cursor stayed on 10.0.0.1 (old list end): next is the new head.
        assert_eq!(rr.pick(&conn("1.1.1.1", 0.0)), Some(3));
    }

    /// The precomputed cycle carries caller indices: after an update that only reorders the
    /// slice (no kernel change), picks follow the new indices, as the kernel order says.
    #[test]
    fn planned_picks_follow_caller_indices_through_updates() {
        let w = |i: usize| i as u32 + 1;
        let b: Vec<Backend> = (0..4)
            .map(|i| Backend::new(format!("10.0.0.{}:80", i + 1).parse().unwrap(), w(i)))
            .collect();
        for alg in [Algorithm::Rr, Algorithm::Wrr] {
            let mut bal = Balancer::new(alg, &b, &Options::default()).unwrap();
            let mut reordered = b.clone();
            reordered.reverse();
            for list in [&b, &reordered, &b[..3].to_vec(), &reordered] {
                bal.update(list).unwrap();
                assert!(bal.planned);
                let mut svc = bal.ipvs().unwrap().clone();
                let order = bal.kernel_order().unwrap().to_vec();
                for _ in 0..25 {
                    let want = svc
                        .schedule("1.1.1.1".parse().unwrap(), 1, None)
                        .map(|k| order[k] as usize);
                    assert_eq!(bal.pick(&conn("1.1.1.1", 0.0)), want, "{alg}");
                }
                assert_eq!(bal.backends(), &list[..]);
            }
        }
    }

    #[test]
    fn rejects_flags_on_non_ipvs_and_bad_timeout() {
        let o = Options {
            flags: Flags::MH_PORT,
            ..Options::default()
        };
        assert!(Balancer::new(Algorithm::Maglev, &backends(2), &o).is_err());
        assert!(Balancer::new(Algorithm::Mh, &backends(2), &o).is_ok());
        let o = Options {
            affinity_timeout: Some(0),
            ..Options::default()
        };
        assert!(Balancer::new(Algorithm::Rr, &backends(2), &o).is_err());
        let dup = [backends(1)[0], backends(1)[0]];
        assert!(Balancer::new(Algorithm::Rr, &dup, &Options::default()).is_err());
    }

    #[test]
    fn iptables_affinity_hit_consumes_no_draw() {
        let o = Options {
            affinity_timeout: Some(10),
            seed: 4,
            ..Options::default()
        };
        let mut b = Balancer::new(Algorithm::Iptables, &backends(5), &o).unwrap();
        let first = b.pick(&conn("1.1.1.1", 0.0)).unwrap();
        let rng = b.rng().clone();
        assert_eq!(b.pick(&conn("1.1.1.1", 5.0)), Some(first));
        assert_eq!(b.rng(), &rng);
    }

    #[test]
    fn persistence_dropped_when_dest_drains() {
        let o = Options {
            affinity_timeout: Some(100),
            ..Options::default()
        };
        let mut b = Balancer::new(Algorithm::Rr, &backends(3), &o).unwrap();
        let c: IpAddr = "1.1.1.1".parse().unwrap();
        let first = b.pick(&Connection::new(c, 1, 0.0)).unwrap();
        assert_eq!(b.pick(&Connection::new(c, 2, 1.0)), Some(first));
        let mut drained = backends(3);
        drained[first].weight = 0;
        b.update(&drained).unwrap();
        let next = b.pick(&Connection::new(c, 3, 2.0)).unwrap();
        assert_ne!(next, first);
        assert_eq!(b.pick(&Connection::new(c, 4, 3.0)), Some(next));
    }

    #[test]
    fn lc_counters_map_to_caller_indices() {
        let mut b = Balancer::new(Algorithm::Lc, &backends(3), &Options::default()).unwrap();
        b.conn_counters_mut(2).unwrap().active = 5;
        b.conn_counters_mut(1).unwrap().active = 1;
        assert_eq!(b.pick(&conn("1.1.1.1", 0.0)), Some(0));
    }

    #[test]
    fn mh_drain_through_update_keeps_table() {
        let b = backends(3);
        let mut mh = Balancer::new(Algorithm::Mh, &b, &Options::default()).unwrap();
        let before = mh.ipvs().unwrap().mh_table().unwrap().to_vec();
        let mut d = b.clone();
        d[1].weight = 0;
        mh.update(&d).unwrap();
        assert_eq!(mh.ipvs().unwrap().mh_table().unwrap(), &before[..]);
    }
}
