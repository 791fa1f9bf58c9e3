//! The Linux IPVS schedulers: rr, wrr, lc, wlc, sed, nq, sh, dh and mh (spec: ipvs.md §6).
//!
//! [`Service`] models one virtual service: its destination list **in kernel order** (head
//! first; the kernel inserts new dests at the head, so this is reverse insertion order), the
//! scheduler state, and the per-dest connection counters that the least-connection family reads.
//! Positions returned by [`Service::schedule`] index [`Service::dests`].
//!
//! Changing the list goes through [`Service::add_dest`], [`Service::remove_dest`] and
//! [`Service::edit_dest`], which run the same hooks as the kernel (rr cursor fix-up, wrr reset,
//! sh/dh/mh table rebuilds, `last_weight`).
//!
//! Modelled for a 64-bit kernel with default Kconfig. Thresholds (`u_threshold`) are not modelled;
//! the OVERLOADED state can be set directly through [`Service::set_overloaded`].
//!
//! rr and wrr are deterministic functions of the list (weights, OVERLOADED flags) and their
//! cursor, so between two list changes their picks repeat with a short period.
//! [`Service::precompute`] runs the exact scheduler once around that cycle and keeps the picks
//! (and the cursor before each), after which [`Service::schedule`] is a table step; any list
//! change writes the cursor back and drops the table.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use super::{fixed_state, fold_addr, Connection, FastMod, FixedState, Flags};
use crate::error::{Error, Result};

/// An IPVS scheduler modelled by svccore.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheduler {
    /// Round robin.
    Rr,
    /// Weighted round robin.
    Wrr,
    /// Least connection.
    Lc,
    /// Weighted least connection.
    Wlc,
    /// Shortest expected delay.
    Sed,
    /// Never queue.
    Nq,
    /// Source hashing.
    Sh,
    /// Destination hashing.
    Dh,
    /// Maglev hashing.
    Mh,
}

impl Scheduler {
    /// Every scheduler, in the order of [`SCHEDULER_NAMES`].
    pub const ALL: [Scheduler; 9] = [
        Scheduler::Rr,
        Scheduler::Wrr,
        Scheduler::Lc,
        Scheduler::Wlc,
        Scheduler::Sed,
        Scheduler::Nq,
        Scheduler::Sh,
        Scheduler::Dh,
        Scheduler::Mh,
    ];

    /// The kernel's name (`rr`, `wrr`, ...), as `ipvsadm -s` takes and lists it.
    pub fn name(self) -> &'static str {
        SCHEDULER_NAMES[self as usize]
    }

    /// Parses a kernel name ([`Error::InvalidArgument`] naming the schedulers otherwise).
    pub fn parse(s: &str) -> Result<Scheduler> {
        Scheduler::ALL
            .iter()
            .copied()
            .find(|x| x.name() == s)
            .ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "unknown IPVS scheduler {s:?}: expected one of {}",
                    SCHEDULER_NAMES.join(", ")
                ))
            })
    }
}

impl std::fmt::Display for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The IPVS schedulers svccore models (and kube-proxy accepts), by kernel name: the one list
/// the bindings, the command line and the playground offer.
pub const SCHEDULER_NAMES: [&str; 9] = ["rr", "wrr", "lc", "wlc", "sed", "nq", "sh", "dh", "mh"];

/// The largest weight IPVS accepts.
pub const MAX_WEIGHT: u32 = 65535;

/// The table sizes `mh` can be built with (`CONFIG_IP_VS_MH_TAB_INDEX` 8..=17).
pub const MH_TABLE_SIZES: [u32; 10] = [
    251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071,
];

/// The default `mh` table size (`CONFIG_IP_VS_MH_TAB_INDEX = 12`).
pub const MH_DEFAULT_TABLE_SIZE: u32 = 4093;

/// `mh`'s fixed SipHash keys (k0 = k1) for the offset / lookup hash.
pub const MH_HASH1_KEY: u64 = 2_654_435_761;
/// `mh`'s fixed SipHash keys (k0 = k1) for the skip hash.
pub const MH_HASH2_KEY: u64 = 2_654_446_892;

/// Number of buckets of the sh and dh tables.
pub const SH_DH_TABLE_SIZE: usize = 256;

/// A table slot without a dest.
pub const EMPTY: u32 = u32::MAX;

/// Connection counters and load state of one dest, maintained by the caller.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConnCounters {
    /// ActiveConn: established TCP connections.
    pub active: u32,
    /// InActConn: every other connection (TIME_WAIT, UDP, ...).
    pub inactive: u32,
}

impl ConnCounters {
    /// `ip_vs_dest_conn_overhead`: `active · 256 + inactive`.
    pub fn overhead(&self) -> i64 {
        i64::from(self.active) * 256 + i64::from(self.inactive)
    }
}

/// One real server ("dest") of a virtual service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dest {
    /// Address and port.
    pub addr: SocketAddr,
    /// Current weight, 0..=65535.
    pub weight: u32,
    /// The latest non-zero weight (the weight on add, then every non-zero edit); only mh reads it.
    pub last_weight: u32,
    /// Connection counters.
    pub conns: ConnCounters,
    /// Whether the dest is OVERLOADED (never under kube-proxy, which sets no thresholds); set
    /// through [`Service::set_overloaded`].
    pub overloaded: bool,
}

impl Dest {
    /// Whether rr/lc/... may pick it: weight > 0 and not overloaded.
    #[inline]
    fn available(&self) -> bool {
        self.weight > 0 && !self.overloaded
    }
}

/// `hsiphash` as a 64-bit kernel computes it: SipHash-1-3 with both key words, truncated to 32
/// bits, over the 4 little-endian bytes of `v` (spec: ipvs.md §6.10).
#[inline(always)]
pub fn hsiphash_u32(k0: u64, k1: u64, v: u32) -> u32 {
    // The 4-byte message fits the final block: `b = len << 56 | msg`, one compression round,
    // three finalisation rounds; written out so that nothing is left of the generic message loop.
    let mut s = sip_init(k0, k1);
    let b = (4u64 << 56) | u64::from(v);
    s[3] ^= b;
    sip_round(&mut s);
    s[0] ^= b;
    s[2] ^= 0xff;
    sip_round(&mut s);
    sip_round(&mut s);
    sip_round(&mut s);
    (s[0] ^ s[1] ^ s[2] ^ s[3]) as u32
}

#[inline(always)]
fn sip_init(k0: u64, k1: u64) -> [u64; 4] {
    [
        0x736f_6d65_7073_6575 ^ k0,
        0x646f_7261_6e64_6f6d ^ k1,
        0x6c79_6765_6e65_7261 ^ k0,
        0x7465_6462_7974_6573 ^ k1,
    ]
}

#[inline(always)]
fn sip_round(v: &mut [u64; 4]) {
    v[0] = v[0].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(13) ^ v[0];
    v[0] = v[0].rotate_left(32);
    v[2] = v[2].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(16) ^ v[2];
    v[0] = v[0].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(21) ^ v[0];
    v[2] = v[2].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(17) ^ v[2];
    v[2] = v[2].rotate_left(32);
}

/// Generic SipHash-c-d over `msg` (used by tests to validate the round function with the
/// published SipHash-2-4 vectors; `hsiphash_u32` is the c = 1, d = 3 case).
#[cfg(test)]
fn sip_finish<const C: usize, const D: usize>(k0: u64, k1: u64, msg: &[u8]) -> u64 {
    let mut v = sip_init(k0, k1);
    let mut chunks = msg.chunks_exact(8);
    for c in &mut chunks {
        let m = u64::from_le_bytes(c.try_into().expect("8 bytes"));
        v[3] ^= m;
        for _ in 0..C {
            sip_round(&mut v);
        }
        v[0] ^= m;
    }
    let mut b = (msg.len() as u64) << 56;
    for (i, &byte) in chunks.remainder().iter().enumerate() {
        b |= u64::from(byte) << (8 * i);
    }
    v[3] ^= b;
    for _ in 0..C {
        sip_round(&mut v);
    }
    v[0] ^= b;
    v[2] ^= 0xff;
    for _ in 0..D {
        sip_round(&mut v);
    }
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

/// `ip_vs_mh_hashkey`: hsiphash of `offset + port + fold(addr)` (u32, wrapping).
#[inline]
pub fn mh_hash(key: u64, addr: IpAddr, port: u16, offset: u32) -> u32 {
    let v = offset
        .wrapping_add(u32::from(port))
        .wrapping_add(fold_addr(addr));
    hsiphash_u32(key, key, v)
}

/// `hash_32(v, 8)`: the top 8 bits of `v · 0x61C88647` (the mainline sh/dh hash).
#[inline]
pub fn hash_32_8(v: u32) -> u32 {
    v.wrapping_mul(0x61C8_8647) >> 24
}

/// The sh bucket of a client (offset 0): `hash_32(port + fold(addr), 8)`.
#[inline]
pub fn sh_bucket(addr: IpAddr, port: u16) -> u32 {
    hash_32_8(u32::from(port).wrapping_add(fold_addr(addr)))
}

/// The dh bucket of a destination address.
#[inline]
pub fn dh_bucket(addr: IpAddr) -> u32 {
    hash_32_8(fold_addr(addr))
}

/// Per-scheduler state.
#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    /// lc, wlc, sed, nq: stateless.
    Stateless,
    /// rr: the cursor; `None` is the list head.
    Rr { cursor: Option<usize> },
    /// wrr: cursor `cl`, gcd `di`, `mw` and current weight `cw`.
    Wrr {
        cl: Option<usize>,
        di: i64,
        mw: i64,
        cw: i64,
    },
    /// sh or dh: 256 dest positions (`EMPTY` when there are no dests).
    Table256(Box<[u32; SH_DH_TABLE_SIZE]>),
    /// mh: M dest positions.
    Mh { table: Box<[u32]>, fm: FastMod },
}

/// The rr or wrr cursor before one pick of a [`Plan`]: `cl` is the kernel position of the last
/// dest picked ([`EMPTY`] for the list head), `cw` wrr's current weight (0 for rr).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Cursor {
    cl: u32,
    cw: i32,
}

impl Cursor {
    fn cl(self) -> Option<usize> {
        (self.cl != EMPTY).then_some(self.cl as usize)
    }

    fn new(cl: Option<usize>, cw: i64) -> Self {
        Cursor {
            cl: cl.map_or(EMPTY, |c| c as u32),
            // wrr weights are at most 65535, so cw fits.
            cw: cw as i32,
        }
    }
}

/// The longest rr/wrr cycle [`Service::precompute`] keeps (12 bytes a step); a longer one (wrr
/// with large co-prime weights, rr over thousands of dests) is scheduled step by step.
pub const PLAN_MAX_STEPS: usize = 4096;

/// One full rr/wrr cycle from a given cursor: the picks in order, the cursor before each (to
/// write the exact state back when the list changes) and where the cycle restarts (a cursor at
/// the list head can be a one-off prefix). Only cycles in which every step picks a dest are kept
/// (a list with nothing available schedules nothing, planned or not).
#[derive(Clone, Debug)]
struct Plan {
    steps: Box<[PlanStep]>,
    before: Box<[Cursor]>,
    restart: u32,
    next: u32,
}

/// One step of a [`Plan`]: the kernel position it picks and the caller's label for that
/// position (the position itself unless [`Service::precompute_labelled`] gave labels). Side by
/// side, so that a labelled pick is one load.
#[derive(Clone, Copy, Debug)]
struct PlanStep {
    pos: u32,
    label: u32,
}

impl Plan {
    #[inline(always)]
    fn step(&mut self) -> PlanStep {
        let k = self.next as usize;
        let step = self.steps[k];
        self.next = if k + 1 == self.steps.len() {
            self.restart
        } else {
            k as u32 + 1
        };
        step
    }
}

impl State {
    /// Sets the rr/wrr cursor (a no-op for the other schedulers).
    fn set_cursor(&mut self, c: Cursor) {
        match self {
            State::Rr { cursor } => *cursor = c.cl(),
            State::Wrr { cl, cw, .. } => {
                *cl = c.cl();
                *cw = i64::from(c.cw);
            }
            _ => {}
        }
    }
}

/// One IPVS virtual service with its scheduler.
#[derive(Clone, Debug)]
pub struct Service {
    scheduler: Scheduler,
    flags: Flags,
    mh_size: u32,
    mh_tab_bits: u32,
    dests: Vec<Dest>,
    /// The scheduler state; for rr/wrr with a plan, the cursor here is stale and the plan's
    /// `before[next]` is the real one.
    state: State,
    plan: Option<Plan>,
}

/// Equal when the list, the flags and the scheduler state are, however the state is held (with or
/// without a precomputed plan).
impl PartialEq for Service {
    fn eq(&self, other: &Self) -> bool {
        self.scheduler == other.scheduler
            && self.flags == other.flags
            && self.mh_size == other.mh_size
            && self.dests == other.dests
            && self.settled_state() == other.settled_state()
    }
}

impl Eq for Service {}

impl Service {
    /// An empty virtual service. `mh_table_size` must be one of [`MH_TABLE_SIZES`] (it is read
    /// only by mh). Flags other than the scheduler's own are rejected, as `ipvsadm` does.
    pub fn new(scheduler: Scheduler, flags: Flags, mh_table_size: u32) -> Result<Self> {
        let own = match scheduler {
            Scheduler::Sh => Flags::SH_FALLBACK | Flags::SH_PORT,
            Scheduler::Mh => Flags::MH_FALLBACK | Flags::MH_PORT,
            _ => Flags::NONE,
        };
        if !own.contains(flags) {
            return Err(Error::InvalidArgument(format!(
                "scheduler flags {flags} are incompatible with scheduler {scheduler:?}; sh-* \
                 flags need sh and mh-* flags need mh"
            )));
        }
        let idx = MH_TABLE_SIZES
            .iter()
            .position(|&m| m == mh_table_size)
            .ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "mh table size {mh_table_size} is not one of {MH_TABLE_SIZES:?}"
                ))
            })?;
        let mut s = Service {
            scheduler,
            flags,
            mh_size: mh_table_size,
            // TAB_BITS = CONFIG_IP_VS_MH_TAB_INDEX / 2, and INDEX = 8 + position.
            mh_tab_bits: (8 + idx as u32) / 2,
            dests: Vec::new(),
            state: State::Stateless,
            plan: None,
        };
        s.state = match scheduler {
            Scheduler::Rr => State::Rr { cursor: None },
            Scheduler::Wrr => State::Wrr {
                cl: None,
                di: 1,
                mw: 0,
                cw: 0,
            },
            Scheduler::Lc | Scheduler::Wlc | Scheduler::Sed | Scheduler::Nq => State::Stateless,
            Scheduler::Sh | Scheduler::Dh => State::Table256(Box::new([EMPTY; SH_DH_TABLE_SIZE])),
            Scheduler::Mh => State::Mh {
                table: vec![EMPTY; mh_table_size as usize].into_boxed_slice(),
                fm: FastMod::new(mh_table_size),
            },
        };
        s.changed(Change::Init);
        Ok(s)
    }

    /// A virtual service that already holds `insertion` (added in that order, so the kernel list
    /// is reversed) when the scheduler is bound to it, as after `ipvsadm -E -s <scheduler>`:
    /// the scheduler's init hook sees every dest at once.
    ///
    /// This differs from adding the dests one by one ([`Service::add_dest`], what kube-proxy
    /// does after creating a virtual service) only for wrr, whose current weight starts at the
    /// maximum weight here but at the first dest's weight there.
    pub fn with_dests(
        scheduler: Scheduler,
        flags: Flags,
        mh_table_size: u32,
        insertion: &[(SocketAddr, u32)],
    ) -> Result<Self> {
        let mut s = Service::new(scheduler, flags, mh_table_size)?;
        for &(addr, weight) in insertion {
            check_weight(weight)?;
            if s.position(addr).is_some() {
                return Err(Error::InvalidArgument(format!(
                    "real server {addr} already exists"
                )));
            }
            s.dests.insert(
                0,
                Dest {
                    addr,
                    weight,
                    last_weight: weight,
                    conns: ConnCounters::default(),
                    overloaded: false,
                },
            );
        }
        if scheduler == Scheduler::Mh && s.dests.len() > mh_table_size as usize {
            return Err(Error::InvalidArgument(format!(
                "mh table of size {mh_table_size} cannot hold {} real servers",
                s.dests.len()
            )));
        }
        s.changed(Change::Init);
        Ok(s)
    }

    /// The scheduler.
    pub fn scheduler(&self) -> Scheduler {
        self.scheduler
    }

    /// The scheduler flags.
    pub fn flags(&self) -> Flags {
        self.flags
    }

    /// The dests in kernel list order (newest first).
    pub fn dests(&self) -> &[Dest] {
        &self.dests
    }

    /// The kernel-list position of `addr`.
    pub fn position(&self, addr: SocketAddr) -> Option<usize> {
        self.dests.iter().position(|d| d.addr == addr)
    }

    /// The counters of the dest at kernel position `pos`, for the caller to maintain.
    pub fn counters_mut(&mut self, pos: usize) -> Option<&mut ConnCounters> {
        self.dests.get_mut(pos).map(|d| &mut d.conns)
    }

    /// Marks the dest at kernel position `pos` OVERLOADED or not (the kernel does this when
    /// connections cross the dest's thresholds). Returns `false` when there is no such dest.
    /// Drops a [`Service::precompute`]d cycle, as any list change does.
    pub fn set_overloaded(&mut self, pos: usize, overloaded: bool) -> bool {
        if pos >= self.dests.len() {
            return false;
        }
        self.settle();
        self.dests[pos].overloaded = overloaded;
        true
    }

    /// The rr/wrr cursor, if this is rr or wrr.
    fn cursor(&self) -> Option<Cursor> {
        match self.state {
            State::Rr { cursor } => Some(Cursor::new(cursor, 0)),
            State::Wrr { cl, cw, .. } => Some(Cursor::new(cl, cw)),
            _ => None,
        }
    }

    /// Writes the plan's current cursor back into the state and drops the plan.
    fn settle(&mut self) {
        if let Some(p) = self.plan.take() {
            self.state.set_cursor(p.before[p.next as usize]);
        }
    }

    /// The state with the real cursor, whether or not a plan holds it.
    fn settled_state(&self) -> State {
        let mut s = self.state.clone();
        if let Some(p) = &self.plan {
            s.set_cursor(p.before[p.next as usize]);
        }
        s
    }

    /// One exact rr/wrr step from `c` over the current list.
    fn step_from(&self, c: &mut Cursor) -> Option<usize> {
        let mut cl = c.cl();
        let pick = match self.state {
            State::Rr { .. } => rr_schedule(&self.dests, &mut cl),
            State::Wrr { di, mw, .. } => {
                let mut cw = i64::from(c.cw);
                let p = wrr_schedule(&self.dests, &mut cl, di, mw, &mut cw);
                c.cw = cw as i32;
                p
            }
            _ => unreachable!("plans exist for rr and wrr only"),
        };
        c.cl = cl.map_or(EMPTY, |x| x as u32);
        pick
    }

    /// rr and wrr: runs the exact scheduler once around its cycle from the current cursor and
    /// keeps the picks, so that [`Service::schedule`] becomes a table step (no scan of the list,
    /// no branch on weights). The result is the same pick for pick; the next list change
    /// (`add_dest`, `edit_dest`, `remove_dest`, `set_overloaded`) drops the table, and the
    /// caller precomputes again once its changes are done. Other schedulers, cycles longer than
    /// [`PLAN_MAX_STEPS`] and lists with no available dest are left as they are.
    pub fn precompute(&mut self) {
        self.precompute_with(|pos| pos);
    }

    /// [`Service::precompute`], with `labels[pos]` kept beside each pick of kernel position
    /// `pos`, for [`Service::schedule_labelled`] (`labels` covers every position).
    pub(crate) fn precompute_labelled(&mut self, labels: &[u32]) {
        self.precompute_with(|pos| labels[pos as usize]);
    }

    fn precompute_with(&mut self, label: impl Fn(u32) -> u32) {
        self.settle();
        let Some(start) = self.cursor() else {
            return;
        };
        let mut seen: HashMap<Cursor, u32, FixedState> = HashMap::with_hasher(fixed_state());
        let (mut steps, mut before) = (Vec::new(), Vec::new());
        let mut c = start;
        let restart = loop {
            if let Some(&k) = seen.get(&c) {
                break k;
            }
            if steps.len() == PLAN_MAX_STEPS {
                return;
            }
            seen.insert(c, steps.len() as u32);
            before.push(c);
            let Some(pos) = self.step_from(&mut c) else {
                return;
            };
            let pos = pos as u32;
            steps.push(PlanStep {
                pos,
                label: label(pos),
            });
        };
        self.plan = Some(Plan {
            steps: steps.into_boxed_slice(),
            before: before.into_boxed_slice(),
            restart,
            next: 0,
        });
    }

    /// Whether rr/wrr picks come from a [`Service::precompute`]d cycle.
    pub fn is_precomputed(&self) -> bool {
        self.plan.is_some()
    }

    /// The sh or dh bucket table (dest positions, [`EMPTY`] without dests).
    pub fn bucket_table(&self) -> Option<&[u32]> {
        match &self.state {
            State::Table256(t) => Some(&t[..]),
            _ => None,
        }
    }

    /// The mh lookup table (dest positions, [`EMPTY`] when every `last_weight` is 0).
    pub fn mh_table(&self) -> Option<&[u32]> {
        match &self.state {
            State::Mh { table, .. } => Some(table),
            _ => None,
        }
    }

    /// Adds a real server at the **head** of the list (`ipvsadm -a`).
    pub fn add_dest(&mut self, addr: SocketAddr, weight: u32) -> Result<()> {
        check_weight(weight)?;
        if self.position(addr).is_some() {
            return Err(Error::InvalidArgument(format!(
                "real server {addr} already exists"
            )));
        }
        if self.scheduler == Scheduler::Mh && self.dests.len() >= self.mh_size as usize {
            return Err(Error::InvalidArgument(format!(
                "mh table of size {} cannot hold more than {} real servers",
                self.mh_size, self.mh_size
            )));
        }
        let d = Dest {
            addr,
            weight,
            last_weight: weight,
            conns: ConnCounters::default(),
            overloaded: false,
        };
        self.dests.insert(0, d);
        self.changed(Change::Added);
        Ok(())
    }

    /// Removes a real server (`ipvsadm -d`).
    pub fn remove_dest(&mut self, addr: SocketAddr) -> Result<()> {
        let pos = self
            .position(addr)
            .ok_or_else(|| Error::InvalidArgument(format!("no real server {addr}")))?;
        self.dests.remove(pos);
        self.changed(Change::Removed(pos));
        Ok(())
    }

    /// Changes a real server's weight (`ipvsadm -e`). A non-zero weight also becomes its
    /// `last_weight`; a zero weight keeps the previous one (spec: ipvs.md §6.0).
    pub fn edit_dest(&mut self, addr: SocketAddr, weight: u32) -> Result<()> {
        check_weight(weight)?;
        let pos = self
            .position(addr)
            .ok_or_else(|| Error::InvalidArgument(format!("no real server {addr}")))?;
        let d = &mut self.dests[pos];
        d.weight = weight;
        if weight != 0 {
            d.last_weight = weight;
        }
        self.changed(Change::Edited);
        Ok(())
    }

    /// The kernel's add/del/edit hooks.
    fn changed(&mut self, change: Change) {
        // The plan's cursor refers to the list before the change; the hooks below adjust it.
        self.settle();
        let n = self.dests.len();
        match &mut self.state {
            State::Stateless => {}
            State::Rr { cursor } => match change {
                // A new dest goes to the head: the cursor keeps pointing at the same dest.
                Change::Added => *cursor = cursor.map(|c| c + 1),
                // Deleting the dest under the cursor moves the cursor to its predecessor.
                Change::Removed(pos) => {
                    *cursor = match *cursor {
                        Some(c) if c == pos => pos.checked_sub(1),
                        Some(c) if c > pos => Some(c - 1),
                        other => other,
                    }
                }
                Change::Init | Change::Edited => {}
            },
            State::Wrr { cl, di, mw, cw } => {
                let g = self
                    .dests
                    .iter()
                    .filter(|d| d.weight > 0)
                    .fold(
                        0u32,
                        |g, d| {
                            if g == 0 {
                                d.weight
                            } else {
                                gcd(g, d.weight)
                            }
                        },
                    );
                let g = i64::from(g.max(1));
                let maxw = self
                    .dests
                    .iter()
                    .map(|d| i64::from(d.weight))
                    .max()
                    .unwrap_or(0);
                *cl = None;
                *di = g;
                *mw = maxw - (g - 1);
                // Init sets cw = mw; the change hook does the same when cw is out of range.
                if matches!(change, Change::Init) || *cw > *mw || *cw == 0 {
                    *cw = *mw;
                } else if *di > 1 {
                    *cw = (*cw / *di) * *di + 1;
                }
            }
            State::Table256(table) => {
                // dh refills on add and delete only, sh on every change.
                if self.scheduler == Scheduler::Dh && matches!(change, Change::Edited) {
                    return;
                }
                let weighted = self.scheduler == Scheduler::Sh;
                let (mut p, mut count) = (0usize, 0u32);
                for slot in table.iter_mut() {
                    if n == 0 {
                        *slot = EMPTY;
                        continue;
                    }
                    *slot = p as u32;
                    count += 1;
                    // sh: max(weight, 1) consecutive buckets per dest; dh: one each.
                    if !weighted || count >= self.dests[p].weight {
                        p = (p + 1) % n;
                        count = 0;
                    }
                }
            }
            State::Mh { table, .. } => mh_populate(&self.dests, table, self.mh_tab_bits),
        }
    }

    /// mh only: the dest of slot `hash mod M` for a precomputed `hsiphash` value, or `None` if
    /// that dest is unavailable (no fallback). [`Service::schedule`] is this plus hashing the
    /// client with [`mh_hash`] (and the fallback probe when `mh-fallback` is set).
    #[inline]
    pub fn mh_lookup_hash(&self, hash: u32) -> Option<usize> {
        match &self.state {
            State::Mh { table, fm } => {
                let pos = table[fm.rem(hash) as usize];
                if pos == EMPTY {
                    return None;
                }
                self.dests[pos as usize].available().then_some(pos as usize)
            }
            _ => None,
        }
    }

    /// Picks a dest for a new connection, as the scheduler's `schedule` hook: returns its kernel
    /// position, or `None` for "no destination available". `dst` is the packet's destination
    /// address (read by dh only; dh picks nothing without it).
    #[inline(always)]
    pub fn schedule(
        &mut self,
        client: IpAddr,
        client_port: u16,
        dst: Option<IpAddr>,
    ) -> Option<usize> {
        match &mut self.plan {
            Some(p) => Some(p.step().pos as usize),
            None => self.schedule_exact(client, client_port, dst),
        }
    }

    /// [`Service::schedule`] for a [`Connection`], answering `labels[pos]` for kernel position
    /// `pos`: `labels` are the ones given to [`Service::precompute_labelled`], which a
    /// precomputed step holds beside its pick (one load). The connection's fields are read only
    /// when the scheduler needs them.
    #[inline(always)]
    pub(crate) fn schedule_labelled(&mut self, conn: &Connection, labels: &[u32]) -> Option<usize> {
        match &mut self.plan {
            Some(p) => Some(p.step().label as usize),
            None => self
                .schedule_exact(conn.client, conn.client_port, conn.dst.map(|d| d.ip()))
                .map(|k| labels[k] as usize),
        }
    }

    /// [`Service::schedule`] without a precomputed cycle: the scheduler hooks themselves.
    #[inline(never)]
    fn schedule_exact(
        &mut self,
        client: IpAddr,
        client_port: u16,
        dst: Option<IpAddr>,
    ) -> Option<usize> {
        let dests = &self.dests;
        match &mut self.state {
            State::Rr { cursor } => rr_schedule(dests, cursor),
            State::Wrr { cl, di, mw, cw } => wrr_schedule(dests, cl, *di, *mw, cw),
            State::Stateless => match self.scheduler {
                Scheduler::Lc => {
                    let mut least: Option<(usize, i64)> = None;
                    for (i, d) in dests.iter().enumerate() {
                        if !d.available() {
                            continue;
                        }
                        let doh = d.conns.overhead();
                        if least.is_none_or(|(_, loh)| doh < loh) {
                            least = Some((i, doh));
                        }
                    }
                    least.map(|(i, _)| i)
                }
                Scheduler::Wlc => least_weighted(dests, ConnCounters::overhead),
                Scheduler::Sed => least_weighted(dests, |c| i64::from(c.active) + 1),
                Scheduler::Nq => {
                    let mut least: Option<(usize, i64)> = None;
                    for (i, d) in dests.iter().enumerate() {
                        if !d.available() {
                            continue;
                        }
                        if d.conns.active == 0 {
                            return Some(i);
                        }
                        let doh = i64::from(d.conns.active) + 1;
                        let better = match least {
                            None => true,
                            Some((l, loh)) => {
                                loh * i64::from(d.weight) > doh * i64::from(dests[l].weight)
                            }
                        };
                        if better {
                            least = Some((i, doh));
                        }
                    }
                    least.map(|(i, _)| i)
                }
                _ => unreachable!("stateless state only for lc/wlc/sed/nq"),
            },
            State::Table256(table) => {
                let usable = |pos: u32| -> Option<Option<usize>> {
                    // Some(Some(i)): take i; Some(None): stop; None: unavailable, go on.
                    if pos == EMPTY {
                        return Some(None);
                    }
                    let d = &dests[pos as usize];
                    d.available().then_some(Some(pos as usize))
                };
                if self.scheduler == Scheduler::Dh {
                    let b = dh_bucket(dst?);
                    return usable(table[b as usize]).flatten();
                }
                let port = if self.flags.contains(Flags::SH_PORT) {
                    client_port
                } else {
                    0
                };
                let h = sh_bucket(client, port);
                let first = usable(table[h as usize]);
                if !self.flags.contains(Flags::SH_FALLBACK) || first.is_some() {
                    return first.flatten();
                }
                // Fallback: the offset is added after hashing, so probe k sees (k + 2h) & 255.
                for k in 0..SH_DH_TABLE_SIZE as u32 {
                    let b = k.wrapping_add(2 * h) & 255;
                    if let Some(r) = usable(table[b as usize]) {
                        return r;
                    }
                }
                None
            }
            State::Mh { table, fm } => {
                let port = if self.flags.contains(Flags::MH_PORT) {
                    client_port
                } else {
                    0
                };
                let ihash = fm.rem(mh_hash(MH_HASH1_KEY, client, port, 0));
                let pos = table[ihash as usize];
                if pos == EMPTY {
                    return None;
                }
                if dests[pos as usize].available() {
                    return Some(pos as usize);
                }
                if !self.flags.contains(Flags::MH_FALLBACK) {
                    return None;
                }
                mh_fallback(dests, table, *fm, self.mh_size, client, port, ihash)
            }
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Change {
    Init,
    Added,
    Removed(usize),
    Edited,
}

fn check_weight(weight: u32) -> Result<()> {
    if weight > MAX_WEIGHT {
        return Err(Error::InvalidArgument(format!(
            "IPVS weight {weight} is out of range 0..={MAX_WEIGHT}"
        )));
    }
    Ok(())
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// rr: walk after the cursor to the end, then (unless the cursor is the head) from the head up
/// to and including the cursor; the cursor moves to the dest found.
#[inline(always)]
fn rr_schedule(dests: &[Dest], cursor: &mut Option<usize>) -> Option<usize> {
    let start = cursor.map_or(0, |c| c + 1);
    let found = match dests
        .get(start..)
        .and_then(|d| d.iter().position(Dest::available))
    {
        Some(i) => start + i,
        None => dests[..start.min(dests.len())]
            .iter()
            .position(Dest::available)?,
    };
    *cursor = Some(found);
    Some(found)
}

/// The `mh-fallback` probe: the offset goes inside the hash input (spec: ipvs.md §6.9).
#[cold]
fn mh_fallback(
    dests: &[Dest],
    table: &[u32],
    fm: FastMod,
    m: u32,
    client: IpAddr,
    port: u16,
    ihash: u32,
) -> Option<usize> {
    for off in 0..m {
        let r = (off + ihash) % m;
        let pos = table[fm.rem(mh_hash(MH_HASH1_KEY, client, port, r)) as usize];
        if pos == EMPTY {
            return None;
        }
        if dests[pos as usize].available() {
            return Some(pos as usize);
        }
    }
    None
}

/// wlc and sed: first available dest, then strictly better by cross-multiplication; weight-0
/// dests after the first are not skipped but can never win (spec: ipvs.md §6.4).
#[inline]
fn least_weighted(dests: &[Dest], overhead: impl Fn(&ConnCounters) -> i64) -> Option<usize> {
    let first = dests.iter().position(Dest::available)?;
    let (mut least, mut loh) = (first, overhead(&dests[first].conns));
    for (i, d) in dests.iter().enumerate().skip(first + 1) {
        if d.overloaded {
            continue;
        }
        let doh = overhead(&d.conns);
        if loh * i64::from(d.weight) > doh * i64::from(dests[least].weight) {
            least = i;
            loh = doh;
        }
    }
    Some(least)
}

/// The mainline wrr schedule (spec: ipvs.md §6.2). `None` positions stand for the list head.
fn wrr_schedule(
    dests: &[Dest],
    cl: &mut Option<usize>,
    di: i64,
    mw: i64,
    cw: &mut i64,
) -> Option<usize> {
    if mw == 0 {
        return None;
    }
    let last = *cl;
    let mut stop: Option<usize> = None;
    let (mut last_pass, mut restarted) = (false, false);
    let mut pos = *cl;
    loop {
        let from = pos.map_or(0, |p| p + 1);
        for (i, d) in dests.iter().enumerate().skip(from) {
            if !d.overloaded && i64::from(d.weight) >= *cw {
                *cl = Some(i);
                return Some(i);
            }
            if stop == Some(i) {
                *cl = Some(i);
                return None;
            }
        }
        *cw -= di;
        if *cw <= 0 {
            *cw = mw;
            if last_pass || last.is_none() {
                *cl = None;
                return None;
            }
            restarted = true;
        }
        last_pass = *cw <= di;
        if last_pass && restarted && last.is_some() {
            stop = last;
        }
        pos = None;
    }
}

/// Fills the mh table from `last_weight` exactly as `ip_vs_mh_reassign` (spec: ipvs.md §6.9).
fn mh_populate(dests: &[Dest], table: &mut [u32], tab_bits: u32) {
    table.fill(EMPTY);
    let g = dests
        .iter()
        .filter(|d| d.last_weight > 0)
        .fold(0u32, |g, d| {
            if g == 0 {
                d.last_weight
            } else {
                gcd(g, d.last_weight)
            }
        });
    if g == 0 {
        return;
    }
    let m = table.len() as u32;
    let maxw = dests.iter().map(|d| d.last_weight).max().unwrap_or(0) / g;
    let bitlen = u32::BITS - maxw.leading_zeros();
    let rshift = bitlen.saturating_sub(tab_bits);
    // (perm, skip, turns) per dest, O(N) state.
    let mut setup: Vec<(u32, u32, u32)> = dests
        .iter()
        .map(|d| {
            let port = d.addr.port();
            let offset = mh_hash(MH_HASH1_KEY, d.addr.ip(), port, 0) % m;
            let skip = mh_hash(MH_HASH2_KEY, d.addr.ip(), port, 0) % (m - 1) + 1;
            let t = (d.last_weight / g) >> rshift;
            let turns = if t == 0 {
                u32::from(d.last_weight != 0)
            } else {
                t
            };
            (offset, skip, turns)
        })
        .collect();
    let mut filled = 0u32;
    loop {
        for (pos, (perm, skip, turns)) in setup.iter_mut().enumerate() {
            for _ in 0..*turns {
                while table[*perm as usize] != EMPTY {
                    *perm += *skip;
                    if *perm >= m {
                        *perm -= m;
                    }
                }
                table[*perm as usize] = pos as u32;
                filled += 1;
                if filled == m {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    /// Builds a service by adding `insertion` in order (so the kernel list is reversed).
    fn service(s: Scheduler, flags: Flags, insertion: &[(&str, u32)]) -> Service {
        let mut svc = Service::new(s, flags, MH_DEFAULT_TABLE_SIZE).unwrap();
        for (a, w) in insertion {
            svc.add_dest(sa(a), *w).unwrap();
        }
        svc
    }

    fn names(svc: &mut Service, n: usize) -> String {
        let c: IpAddr = "192.0.2.1".parse().unwrap();
        (0..n)
            .map(|_| match svc.schedule(c, 0, None) {
                Some(p) => char::from(b'A' + (svc.dests()[p].addr.port() - 1) as u8),
                None => '-',
            })
            .collect()
    }

    #[test]
    fn hsiphash_matches_spec_vectors() {
        assert_eq!(
            sip_finish::<1, 3>(MH_HASH1_KEY, MH_HASH1_KEY, &0u32.to_le_bytes()),
            0x5c36_1353_1d5a_77c2
        );
        assert_eq!(hsiphash_u32(MH_HASH1_KEY, MH_HASH1_KEY, 0), 0x1d5a_77c2);
        let k0 = u64::from_le_bytes([0, 1, 2, 3, 4, 5, 6, 7]);
        let k1 = u64::from_le_bytes([8, 9, 10, 11, 12, 13, 14, 15]);
        let msg: Vec<u8> = (0..15).collect();
        assert_eq!(sip_finish::<2, 4>(k0, k1, &msg), 0xa129_ca61_49be_45e5);
        assert_eq!(sip_finish::<2, 4>(k0, k1, &[]), 0x726f_db47_dd0e_0e31);
    }

    #[test]
    fn hsiphash_agrees_with_siphasher_crate() {
        let h = siphasher::sip::SipHasher13::new_with_keys(MH_HASH2_KEY, 17);
        let mut rng = crate::select::Rng::new(5);
        let random = (0..1000).map(|_| rng.next_u32());
        for v in [0u32, 1, 0x0af4_0177, u32::MAX].into_iter().chain(random) {
            let want = h.hash(&v.to_le_bytes());
            assert_eq!(sip_finish::<1, 3>(MH_HASH2_KEY, 17, &v.to_le_bytes()), want);
            assert_eq!(hsiphash_u32(MH_HASH2_KEY, 17, v), want as u32, "{v:#x}");
        }
    }

    #[test]
    fn sh_and_dh_buckets_match_spec_vectors() {
        assert_eq!(sh_bucket("10.0.0.7".parse().unwrap(), 0), 114);
        assert_eq!(sh_bucket("192.168.1.10".parse().unwrap(), 0), 248);
        assert_eq!(sh_bucket("fd00::1".parse().unwrap(), 0), 140);
        assert_eq!(sh_bucket("10.0.0.7".parse().unwrap(), 40000), 22);
        assert_eq!(dh_bucket("10.96.0.10".parse().unwrap()), 242);
    }

    #[test]
    fn rr_starts_with_newest_and_cycles() {
        // Inserted C, B, A → kernel list A, B, C.
        let mut svc = service(
            Scheduler::Rr,
            Flags::NONE,
            &[("10.0.0.3:3", 1), ("10.0.0.2:2", 1), ("10.0.0.1:1", 1)],
        );
        assert_eq!(names(&mut svc, 7), "ABCABCA");
        // Deleting the dest under the cursor (A) makes its successor next.
        svc.remove_dest(sa("10.0.0.1:1")).unwrap();
        assert_eq!(names(&mut svc, 3), "BCB");
        // Weight 0 is skipped; all weight 0 → none.
        svc.edit_dest(sa("10.0.0.3:3"), 0).unwrap();
        assert_eq!(names(&mut svc, 2), "BB");
        svc.edit_dest(sa("10.0.0.2:2"), 0).unwrap();
        assert_eq!(names(&mut svc, 1), "-");
    }

    #[test]
    fn wrr_matches_spec_example() {
        let ins = [("10.0.0.3:3", 2), ("10.0.0.2:2", 3), ("10.0.0.1:1", 4)];
        let list: Vec<(SocketAddr, u32)> = ins.iter().map(|(a, w)| (sa(a), *w)).collect();
        let mut svc = Service::with_dests(Scheduler::Wrr, Flags::NONE, 4093, &list).unwrap();
        assert_eq!(names(&mut svc, 18), "AABABCABCAABABCABC");
        // Added one by one, cw starts at the first dest's weight (C:2 → mw = 2 − (2 − 1) = 1), so
        // one A B C round at weight ≥ 1 comes first, then the same period-9 cycle.
        let mut svc = service(Scheduler::Wrr, Flags::NONE, &ins);
        assert_eq!(names(&mut svc, 21), "ABCAABABCABCAABABCABC");
        let mut none = service(Scheduler::Wrr, Flags::NONE, &[("10.0.0.1:1", 0)]);
        assert_eq!(names(&mut none, 1), "-");
    }

    #[test]
    fn wrr_with_gcd_steps_by_gcd() {
        let list = [(sa("10.0.0.2:2"), 2), (sa("10.0.0.1:1"), 4)];
        let mut svc = Service::with_dests(Scheduler::Wrr, Flags::NONE, 4093, &list).unwrap();
        assert_eq!(names(&mut svc, 6), "AABAAB");
        // One by one: cw = 1 after the first add, and (1 / 2)·2 + 1 = 1 after the second.
        let mut svc = service(
            Scheduler::Wrr,
            Flags::NONE,
            &[("10.0.0.2:2", 2), ("10.0.0.1:1", 4)],
        );
        assert_eq!(names(&mut svc, 6), "ABAABA");
    }

    #[test]
    fn least_connection_family_follows_overhead_rules() {
        let ins = [("10.0.0.3:3", 1), ("10.0.0.2:2", 2), ("10.0.0.1:1", 1)]; // list A:1 B:2 C:1
        let set = |svc: &mut Service, c: [(u32, u32); 3]| {
            for (i, (a, ia)) in c.into_iter().enumerate() {
                *svc.counters_mut(i).unwrap() = ConnCounters {
                    active: a,
                    inactive: ia,
                };
            }
        };
        let mut lc = service(Scheduler::Lc, Flags::NONE, &ins);
        set(&mut lc, [(1, 0), (0, 300), (1, 0)]);
        assert_eq!(names(&mut lc, 1), "A"); // 256 < 300; tie A/C goes to A
        let mut wlc = service(Scheduler::Wlc, Flags::NONE, &ins);
        set(&mut wlc, [(1, 0), (1, 100), (1, 0)]);
        assert_eq!(names(&mut wlc, 1), "B"); // 256·2 > 356·1
        let mut sed = service(Scheduler::Sed, Flags::NONE, &ins);
        set(&mut sed, [(1, 0), (2, 0), (1, 0)]);
        assert_eq!(names(&mut sed, 1), "B"); // A: 2·2 > 3·1 → B; then 3·1 > 2·2 is false
        let mut nq = service(Scheduler::Nq, Flags::NONE, &ins);
        set(&mut nq, [(3, 0), (5, 0), (0, 9)]);
        assert_eq!(names(&mut nq, 1), "C"); // first idle dest
        lc.edit_dest(sa("10.0.0.1:1"), 0).unwrap();
        assert_eq!(names(&mut lc, 1), "C");
    }

    #[test]
    fn sh_fills_consecutive_buckets_per_weight() {
        let mut svc = service(
            Scheduler::Sh,
            Flags::NONE,
            &[("10.0.0.3:3", 3), ("10.0.0.2:2", 1), ("10.0.0.1:1", 2)],
        );
        let t = svc.bucket_table().unwrap().to_vec();
        assert_eq!(&t[..12], &[0, 0, 1, 2, 2, 2, 0, 0, 1, 2, 2, 2]);
        assert_eq!(&t[250..], &[2, 2, 0, 0, 1, 2]);
        // 10.0.0.7 hashes to bucket 114 = 6·19 → A.
        let c: IpAddr = "10.0.0.7".parse().unwrap();
        assert_eq!(svc.schedule(c, 0, None), Some(0));
        // Equal weights: draining keeps one bucket each, so the table is unchanged and the
        // drained dest's bucket yields no dest without fallback, another dest with it.
        let mut svc = service(
            Scheduler::Sh,
            Flags::NONE,
            &[("10.0.0.3:3", 1), ("10.0.0.2:2", 1), ("10.0.0.1:1", 1)],
        );
        let t = svc.bucket_table().unwrap().to_vec();
        svc.edit_dest(svc.dests()[t[114] as usize].addr, 0).unwrap();
        assert_eq!(svc.bucket_table().unwrap(), &t[..]);
        assert_eq!(svc.schedule(c, 0, None), None);
        let mut fb = svc.clone();
        fb.flags = Flags::SH_FALLBACK;
        let p = fb.schedule(c, 0, None).unwrap();
        assert!(fb.dests()[p].weight > 0);
    }

    #[test]
    fn dh_uses_destination_and_ignores_weight_edits() {
        let mut svc = service(
            Scheduler::Dh,
            Flags::NONE,
            &[("10.0.0.2:2", 5), ("10.0.0.1:1", 1)],
        );
        let before = svc.bucket_table().unwrap().to_vec();
        assert_eq!(&before[..4], &[0, 1, 0, 1]);
        svc.edit_dest(sa("10.0.0.2:2"), 1).unwrap();
        assert_eq!(svc.bucket_table().unwrap(), &before[..]);
        let vip: IpAddr = "10.96.0.10".parse().unwrap();
        assert_eq!(svc.schedule(vip, 0, Some(vip)), Some(before[242] as usize));
        assert_eq!(svc.schedule(vip, 0, None), None);
    }

    #[test]
    fn mh_matches_spec_test_vectors() {
        // Inserted in reverse so that the kernel list is 1.39, 2.17, 3.5.
        let ins = [
            ("10.244.3.5:80", 1),
            ("10.244.2.17:80", 1),
            ("10.244.1.39:80", 1),
        ];
        let mut svc = service(Scheduler::Mh, Flags::NONE, &ins);
        let d: Vec<String> = svc.dests().iter().map(|d| d.addr.to_string()).collect();
        assert_eq!(d, ["10.244.1.39:80", "10.244.2.17:80", "10.244.3.5:80"]);
        for (a, h1, h2, off, skip) in [
            ("10.244.1.39:80", 0xa125_664bu32, 0xd7a7_8d97u32, 761, 1272),
            ("10.244.2.17:80", 0xa4d6_791d, 0x2ac3_865a, 1823, 2535),
            ("10.244.3.5:80", 0x1fbe_4297, 0x7a0f_fe60, 1888, 2561),
        ] {
            let a = sa(a);
            assert_eq!(mh_hash(MH_HASH1_KEY, a.ip(), 80, 0), h1);
            assert_eq!(mh_hash(MH_HASH2_KEY, a.ip(), 80, 0), h2);
            assert_eq!(h1 % 4093, off);
            assert_eq!(h2 % 4092 + 1, skip);
        }
        let t = svc.mh_table().unwrap();
        let count = |i: u32| t.iter().filter(|&&x| x == i).count();
        assert_eq!((count(0), count(1), count(2)), (1365, 1364, 1364));
        assert_eq!(&t[..16], &[2, 1, 0, 2, 1, 0, 0, 1, 0, 2, 0, 0, 2, 1, 2, 2]);
        let c: IpAddr = "10.0.0.7".parse().unwrap();
        assert_eq!(
            hsiphash_u32(MH_HASH1_KEY, MH_HASH1_KEY, 0x0a00_0007),
            0xc3a4_cd2a
        );
        assert_eq!(svc.schedule(c, 40000, None), Some(2));
        let mut port = service(Scheduler::Mh, Flags::MH_PORT, &ins);
        assert_eq!(port.schedule(c, 40000, None), Some(0));
    }

    #[test]
    fn mh_weighted_counts_match_spec() {
        let count =
            |svc: &Service, i: u32| svc.mh_table().unwrap().iter().filter(|&&x| x == i).count();
        let ins = [
            ("10.244.3.5:80", 0),
            ("10.244.2.17:80", 1),
            ("10.244.1.39:80", 3),
        ];
        let svc = service(Scheduler::Mh, Flags::NONE, &ins);
        assert_eq!(
            (count(&svc, 0), count(&svc, 1), count(&svc, 2)),
            (3070, 1023, 0)
        );
        let svc = service(
            Scheduler::Mh,
            Flags::NONE,
            &[("10.244.2.17:80", 1), ("10.244.1.39:80", 1000)],
        );
        assert_eq!((count(&svc, 0), count(&svc, 1)), (4029, 64));
    }

    #[test]
    fn mh_drain_keeps_slots_and_fallback_rescues() {
        let ins = [
            ("10.244.3.5:80", 1),
            ("10.244.2.17:80", 1),
            ("10.244.1.39:80", 1),
        ];
        let mut svc = service(Scheduler::Mh, Flags::NONE, &ins);
        let before = svc.mh_table().unwrap().to_vec();
        svc.edit_dest(sa("10.244.3.5:80"), 0).unwrap();
        assert_eq!(
            svc.mh_table().unwrap(),
            &before[..],
            "built from last_weight"
        );
        let c: IpAddr = "10.0.0.7".parse().unwrap();
        assert_eq!(svc.schedule(c, 0, None), None);
        let mut fb = service(Scheduler::Mh, Flags::MH_FALLBACK, &ins);
        fb.edit_dest(sa("10.244.3.5:80"), 0).unwrap();
        let p = fb.schedule(c, 0, None).unwrap();
        assert_ne!(p, 2);
        // All weights (and last_weights) zero → empty table.
        let z = service(Scheduler::Mh, Flags::NONE, &[("10.0.0.1:1", 0)]);
        assert!(z.mh_table().unwrap().iter().all(|&x| x == EMPTY));
    }

    #[test]
    fn rejects_foreign_flags_bad_sizes_and_weights() {
        assert!(Service::new(Scheduler::Rr, Flags::MH_PORT, 4093).is_err());
        assert!(Service::new(Scheduler::Sh, Flags::MH_PORT, 4093).is_err());
        assert!(Service::new(Scheduler::Mh, Flags::NONE, 4099).is_err());
        let mut s = Service::new(Scheduler::Mh, Flags::NONE, 251).unwrap();
        assert!(s.add_dest(sa("10.0.0.1:1"), 65536).is_err());
        s.add_dest(sa("10.0.0.1:1"), 1).unwrap();
        assert!(s.add_dest(sa("10.0.0.1:1"), 1).is_err());
    }
}
