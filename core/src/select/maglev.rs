//! Maglev consistent hashing (Eisenbud et al., NSDI 2016, §3.4), svccore's generic variant.
//!
//! * Any prime table size `M` up to [`MAX_TABLE_SIZE`] (default [`DEFAULT_TABLE_SIZE`]).
//! * Order independent: backends are sorted by address before the fill, and offset / skip come
//!   from a keyed SipHash-1-3 of the address, keyed from the caller's seed.
//! * Weights by cumulative turns (spec: selection-and-hashing.md §6.3); weight 0 drains (no
//!   entries); every positive weight gets at least one entry (each accumulator starts at
//!   `W − 1`, so every backend claims once in the first pass).
//! * O(N) build state (`perm`, `skip` and its multiples per backend) and `+skip` with a
//!   conditional subtract instead of `%` in the fill loop; u16 entries when there are fewer than
//!   65535 backends, u32 otherwise; a one-backend fast path.
//! * The fill probes four positions of a permutation per step against a bitmap of taken slots,
//!   and for the last ⌊√M/2⌋ claims picks the free slot nearest along the permutation from a
//!   free list instead of probing (about half of the ~M·ln M probes were there). Both find the
//!   same slot as the paper's one-at-a-time walk; entries per backend are counted as they are
//!   claimed.
//! * Lookup: slot = `⌊(h >> 32) · M / 2^32⌋` for a 64-bit hash `h` (a multiply-shift range
//!   reduction, not `h mod M`).
//!
//! This is not the kernel's `mh` table (that one is bit-exact in [`super::ipvs`]).

use std::net::{IpAddr, SocketAddr};

use siphasher::sip::SipHasher13;

use super::{check_unique, splitmix64, Backend};
use crate::error::{Error, Result};

/// The paper's default table size.
pub const DEFAULT_TABLE_SIZE: u32 = 65537;
/// The largest table size accepted (Envoy's and Istio's limit).
pub const MAX_TABLE_SIZE: u32 = 5_000_011;
/// Preset table sizes: the IPVS / Cilium primes plus 65537.
pub const PRESET_TABLE_SIZES: [u32; 11] = [
    251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 65537, 131071,
];

/// Whether `n` is prime (deterministic trial division; `n ≤ 2^32`).
pub fn is_prime(n: u32) -> bool {
    if n < 2 {
        return false;
    }
    if n.is_multiple_of(2) {
        return n == 2;
    }
    let n = u64::from(n);
    let mut d = 3u64;
    while d * d <= n {
        if n % d == 0 {
            return false;
        }
        d += 2;
    }
    true
}

/// Checks a Maglev table size: a prime in `2..=MAX_TABLE_SIZE`.
pub fn check_table_size(m: u32) -> Result<()> {
    if m > MAX_TABLE_SIZE {
        return Err(Error::InvalidArgument(format!(
            "Maglev table size {m} exceeds the maximum {MAX_TABLE_SIZE}"
        )));
    }
    if !is_prime(m) {
        return Err(Error::InvalidArgument(format!(
            "Maglev table size {m} is not prime (presets: {PRESET_TABLE_SIZES:?})"
        )));
    }
    Ok(())
}

/// A table entry type: `u16` or `u32` backend indices, with `MAX` as the empty slot.
trait Slot: Copy + Eq {
    const EMPTY: Self;
    fn from_index(i: u32) -> Self;
}

impl Slot for u16 {
    const EMPTY: u16 = u16::MAX;
    #[inline(always)]
    fn from_index(i: u32) -> u16 {
        i as u16
    }
}

impl Slot for u32 {
    const EMPTY: u32 = u32::MAX;
    #[inline(always)]
    fn from_index(i: u32) -> u32 {
        i
    }
}

/// One backend's walk: current position on its permutation, its skip and the skip's multiples
/// `2·skip`, `3·skip`, `4·skip` (mod `M`, for probing four positions per step), and the index it
/// writes.
#[derive(Clone, Copy, Debug)]
struct Walk {
    perm: u32,
    skip: u32,
    skip2: u32,
    skip3: u32,
    skip4: u32,
    index: u32,
}

/// `(a + b) mod m` for `a, b < m` (a compare and a conditional subtract, no division).
#[inline(always)]
fn add_mod(a: u32, b: u32, m: u32) -> u32 {
    let x = a + b;
    if x >= m {
        x - m
    } else {
        x
    }
}

impl Walk {
    fn new(offset: u32, skip: u32, index: u32, m: u32) -> Self {
        let skip2 = add_mod(skip, skip, m);
        let skip3 = add_mod(skip2, skip, m);
        Walk {
            perm: offset,
            skip,
            skip2,
            skip3,
            skip4: add_mod(skip3, skip, m),
            index,
        }
    }
}

/// Whether slot `c` is taken (bit `c` of the bitmap), as 0 or 1.
#[inline(always)]
fn bit(taken: &[u64], c: u32) -> u64 {
    (taken[(c >> 6) as usize] >> (c & 63)) & 1
}

/// The first free slot on `w`'s permutation from its current position, probing four positions
/// (`c`, `c+s`, `c+2s`, `c+3s`) per step. The four bit tests are independent loads, and the
/// first free one is picked with selects rather than branches, so a step costs one
/// hard-to-predict branch instead of four and the loop-carried chain advances by `4s` at once.
/// Positions are visited in permutation order, so this is the paper's first free slot.
#[inline(always)]
fn first_free_probing(taken: &[u64], m: u32, w: &Walk) -> u32 {
    let mut c = w.perm;
    loop {
        let c1 = add_mod(c, w.skip, m);
        let c2 = add_mod(c, w.skip2, m);
        let c3 = add_mod(c, w.skip3, m);
        let (b0, b1, b2, b3) = (
            bit(taken, c),
            bit(taken, c1),
            bit(taken, c2),
            bit(taken, c3),
        );
        if b0 & b1 & b2 & b3 == 0 {
            let r = if b2 == 0 { c2 } else { c3 };
            let r = if b1 == 0 { c1 } else { r };
            return if b0 == 0 { c } else { r };
        }
        c = add_mod(c, w.skip4, m);
    }
}

/// `x⁻¹ mod m` for a prime `m` and `0 < x < m` (extended Euclid).
fn inverse_mod(x: u32, m: u32) -> u32 {
    let (mut r0, mut r1) = (m, x);
    let (mut t0, mut t1) = (0i64, 1i64);
    while r1 != 0 {
        let q = r0 / r1;
        (r0, r1) = (r1, r0 - q * r1);
        (t0, t1) = (t1, t0 - i64::from(q) * t1);
    }
    t0.rem_euclid(i64::from(m)) as u32
}

/// The table fill's working state: occupancy bitmap, slots left, and (near the end) the list of
/// free slots.
struct Fill {
    m: u32,
    /// Bit `c` set when slot `c` is taken (M/8 bytes: 8 KB at M = 65537, so probes stay in L1).
    taken: Vec<u64>,
    left: u32,
    /// With at most this many slots left, claims search the free list instead of probing.
    tail: u32,
    /// The free slots once `left ≤ tail` (built on first use), in no particular order.
    free: Vec<u32>,
}

impl Fill {
    fn new(m: u32) -> Self {
        // Probing for the k-th last free slot costs about M/k probes (the last few hundred claims
        // make up about half of the fill's ~M·ln M probes); the free-list search costs k
        // multiplications. Switching at k ≈ √M / 2 roughly balances the two (measured: 128–256
        // is flat at M = 65537). The threshold only affects speed, never the result.
        let tail = ((f64::from(m)).sqrt() / 2.0) as u32;
        Fill {
            m,
            taken: vec![0u64; (m as usize).div_ceil(64)],
            left: m,
            tail,
            free: Vec::new(),
        }
    }

    /// The first free slot on `w`'s permutation, searched on the free list: slot `j` lies
    /// `(j − c)·s⁻¹ mod M` steps after position `c` on a permutation with skip `s` (`M` is prime,
    /// so every slot is on it exactly once), so the first free slot is the one at the fewest
    /// steps. Removes it from the list.
    fn first_free_listed(&mut self, w: &Walk) -> u32 {
        let m = self.m;
        if self.free.is_empty() {
            for (i, &word) in self.taken.iter().enumerate() {
                let mut f = !word;
                while f != 0 {
                    let j = i as u32 * 64 + f.trailing_zeros();
                    if j < m {
                        self.free.push(j);
                    }
                    f &= f - 1;
                }
            }
        }
        let inv = u64::from(inverse_mod(w.skip, m));
        let m64 = u64::from(m);
        // Barrett reduction: (j − c)·s⁻¹ < M² < 2^46, so with r = ⌊2^64 / M⌋ the quotient
        // estimate ⌊x·r / 2^64⌋ is at most one short, and one conditional subtract corrects it.
        let r = u64::MAX / m64;
        let back = m - w.perm; // adding it is subtracting c, mod M
        let (mut best, mut at) = (u64::MAX, 0);
        for (i, &j) in self.free.iter().enumerate() {
            let x = u64::from(add_mod(j, back, m)) * inv;
            let q = ((u128::from(x) * u128::from(r)) >> 64) as u64;
            let mut d = x - q * m64;
            if d >= m64 {
                d -= m64;
            }
            if d < best {
                best = d;
                at = i;
            }
        }
        self.free.swap_remove(at)
    }

    /// Claims the next free slot on `w`'s permutation for `w.index`, advances `w` past it, and
    /// counts the entry. Returns whether the table is now full.
    #[inline(always)]
    fn claim<T: Slot>(&mut self, table: &mut [T], entries: &mut [u32], w: &mut Walk) -> bool {
        let m = self.m;
        let c = if self.left > self.tail {
            first_free_probing(&self.taken, m, w)
        } else {
            self.first_free_listed(w)
        };
        self.taken[(c >> 6) as usize] |= 1u64 << (c & 63);
        table[c as usize] = T::from_index(w.index);
        entries[w.index as usize] += 1;
        w.perm = add_mod(c, w.skip, m);
        self.left -= 1;
        self.left == 0
    }
}

/// The fill loop. `weights` is `None` when all weights are equal (one claim per backend per
/// pass, exactly the paper's pseudocode). Writes every slot of `table` when `walks` is not
/// empty (and leaves `table` untouched otherwise); returns the entries per backend index, over
/// `n` backends.
fn fill<T: Slot>(
    table: &mut [T],
    walks: &mut [Walk],
    weights: Option<&[u64]>,
    n: usize,
) -> Vec<u32> {
    let mut entries = vec![0u32; n];
    if walks.is_empty() {
        return entries;
    }
    let mut st = Fill::new(table.len() as u32);
    match weights {
        None => loop {
            for w in walks.iter_mut() {
                if st.claim(table, &mut entries, w) {
                    return entries;
                }
            }
        },
        Some(weights) => {
            let max = weights.iter().copied().max().unwrap_or(1);
            let mut acc: Vec<u64> = vec![max - 1; walks.len()];
            loop {
                for ((w, a), &wt) in walks.iter_mut().zip(acc.iter_mut()).zip(weights) {
                    *a += wt;
                    while *a >= max {
                        *a -= max;
                        if st.claim(table, &mut entries, w) {
                            return entries;
                        }
                    }
                }
            }
        }
    }
}

/// Entries per backend when backend `only` holds all `m` slots.
fn one_entry_counts(n: usize, only: u32, m: u32) -> Vec<u32> {
    let mut e = vec![0u32; n];
    e[only as usize] = m;
    e
}

/// Builds a table from explicit `(offset, skip)` pairs and weights, in the given order (backend
/// `i` writes `i`). This is the fill used by [`Maglev::new`]; it is public so that published
/// examples with given permutations (the paper's Table 1) can be reproduced.
///
/// Returns the table with `u32::MAX` for empty slots (only when every weight is 0).
pub fn fill_from_permutations(
    m: u32,
    offset_skip: &[(u32, u32)],
    weights: &[u32],
) -> Result<Vec<u32>> {
    check_table_size(m)?;
    if offset_skip.len() != weights.len() {
        return Err(Error::InvalidArgument(
            "one weight per permutation is needed".into(),
        ));
    }
    let mut walks = Vec::new();
    let mut ws = Vec::new();
    for (i, (&(offset, skip), &w)) in offset_skip.iter().zip(weights).enumerate() {
        if offset >= m || skip == 0 || skip >= m {
            return Err(Error::InvalidArgument(format!(
                "permutation {i}: offset must be < {m} and skip in 1..{m}"
            )));
        }
        if w > 0 {
            walks.push(Walk::new(offset, skip, i as u32, m));
            ws.push(u64::from(w));
        }
    }
    if walks.len() > m as usize {
        return Err(too_many(walks.len(), m));
    }
    let mut table = vec![u32::EMPTY; m as usize];
    let equal = ws.windows(2).all(|p| p[0] == p[1]);
    let weights = if equal { None } else { Some(&ws[..]) };
    fill(&mut table, &mut walks, weights, offset_skip.len());
    Ok(table)
}

fn too_many(n: usize, m: u32) -> Error {
    Error::InvalidArgument(format!(
        "{n} backends with positive weight do not fit a Maglev table of size {m}; use M > 100·N"
    ))
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Table {
    U16(Box<[u16]>),
    U32(Box<[u32]>),
}

/// Hash keys derived from a seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Keys {
    offset: (u64, u64),
    skip: (u64, u64),
    client: (u64, u64),
}

impl Keys {
    /// The three SipHash keys (offset, skip, client) derived from `seed` with splitmix64.
    pub fn from_seed(seed: u64) -> Self {
        let mut s = seed;
        let mut k = || (splitmix64(&mut s), splitmix64(&mut s));
        Keys {
            offset: k(),
            skip: k(),
            client: k(),
        }
    }

    /// Hashes a client address (and optionally its source port) for lookups.
    #[inline]
    pub fn hash_client(&self, addr: IpAddr, port: Option<u16>) -> u64 {
        let mut buf = [0u8; 18];
        let n = addr_bytes(addr, port, &mut buf);
        SipHasher13::new_with_keys(self.client.0, self.client.1).hash(&buf[..n])
    }

    fn backend_hash(&self, key: (u64, u64), addr: SocketAddr) -> u64 {
        let mut buf = [0u8; 18];
        let n = addr_bytes(addr.ip(), Some(addr.port()), &mut buf);
        SipHasher13::new_with_keys(key.0, key.1).hash(&buf[..n])
    }
}

/// Writes the address octets, then the port big-endian when given; returns the length.
#[inline(always)]
fn addr_bytes(addr: IpAddr, port: Option<u16>, buf: &mut [u8; 18]) -> usize {
    let n = match addr {
        IpAddr::V4(a) => {
            buf[..4].copy_from_slice(&a.octets());
            4
        }
        IpAddr::V6(a) => {
            buf[..16].copy_from_slice(&a.octets());
            16
        }
    };
    match port {
        Some(p) => {
            buf[n..n + 2].copy_from_slice(&p.to_be_bytes());
            n + 2
        }
        None => n,
    }
}

/// A built Maglev lookup table over a backend list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Maglev {
    m: u32,
    table: Table,
    keys: Keys,
    entries: Vec<u32>,
    weights: Vec<u32>,
}

impl Maglev {
    /// Builds the table. Indices in the table (and results of lookups) are positions in
    /// `backends`, but the table contents do not depend on the order of `backends`.
    ///
    /// Errors: `table_size` not prime or above [`MAX_TABLE_SIZE`], duplicate addresses, or more
    /// backends with positive weight than slots.
    pub fn new(backends: &[Backend], table_size: u32, seed: u64) -> Result<Self> {
        check_table_size(table_size)?;
        check_unique(backends)?;
        let m = table_size;
        let keys = Keys::from_seed(seed);
        // Canonical order: by address.
        let mut order: Vec<u32> = (0..backends.len() as u32)
            .filter(|&i| backends[i as usize].weight > 0)
            .collect();
        if order.len() > m as usize {
            return Err(too_many(order.len(), m));
        }
        order.sort_unstable_by_key(|&i| backends[i as usize].addr);
        let mut walks: Vec<Walk> = order
            .iter()
            .map(|&i| {
                let a = backends[i as usize].addr;
                let offset = (keys.backend_hash(keys.offset, a) % u64::from(m)) as u32;
                let skip = (keys.backend_hash(keys.skip, a) % u64::from(m - 1)) as u32 + 1;
                Walk::new(offset, skip, i, m)
            })
            .collect();
        let ws: Vec<u64> = order
            .iter()
            .map(|&i| u64::from(backends[i as usize].weight))
            .collect();
        let equal = ws.windows(2).all(|p| p[0] == p[1]);
        let weights = if equal { None } else { Some(&ws[..]) };
        // The table starts as EMPTY only when no backend has a positive weight; otherwise every
        // slot gets written, so it starts zeroed (no fill pass), or, with one backend, as that
        // backend's index right away (the fast path).
        let start = |empty: u32| match walks[..] {
            [] => empty,
            [only] => only.index,
            _ => 0,
        };
        let (table, entries) = if backends.len() < usize::from(u16::MAX) {
            let mut t = vec![start(u32::from(u16::EMPTY)) as u16; m as usize].into_boxed_slice();
            let e = match walks.len() {
                1 => one_entry_counts(backends.len(), walks[0].index, m),
                _ => fill(&mut t, &mut walks, weights, backends.len()),
            };
            (Table::U16(t), e)
        } else {
            let mut t = vec![start(u32::EMPTY); m as usize].into_boxed_slice();
            let e = match walks.len() {
                1 => one_entry_counts(backends.len(), walks[0].index, m),
                _ => fill(&mut t, &mut walks, weights, backends.len()),
            };
            (Table::U32(t), e)
        };
        Ok(Maglev {
            m,
            table,
            keys,
            entries,
            weights: backends.iter().map(|b| b.weight).collect(),
        })
    }

    /// The table size `M`.
    pub fn table_size(&self) -> u32 {
        self.m
    }

    /// The backend of slot `s` (`None` for an empty table).
    #[inline]
    pub fn slot(&self, s: u32) -> Option<usize> {
        let i = match &self.table {
            Table::U16(t) => match t[s as usize] {
                u16::MAX => return None,
                v => u32::from(v),
            },
            Table::U32(t) => match t[s as usize] {
                u32::MAX => return None,
                v => v,
            },
        };
        Some(i as usize)
    }

    /// The slot a 64-bit hash maps to: `⌊(h >> 32) · M / 2^32⌋`.
    #[inline(always)]
    pub fn slot_of(&self, hash: u64) -> u32 {
        (((hash >> 32) * u64::from(self.m)) >> 32) as u32
    }

    /// Looks up a precomputed 64-bit flow hash.
    #[inline]
    pub fn lookup(&self, hash: u64) -> Option<usize> {
        self.slot(self.slot_of(hash))
    }

    /// The hash keys (to hash clients the same way as [`Maglev::pick`]).
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// Hashes the client address (and the port, if given) with the seed's key, then looks up.
    #[inline]
    pub fn pick(&self, client: IpAddr, port: Option<u16>) -> Option<usize> {
        self.lookup(self.keys.hash_client(client, port))
    }

    /// Entries per backend, indexed like the input slice.
    pub fn entries(&self) -> &[u32] {
        &self.entries
    }

    /// The fewest and most entries held by a backend with positive weight (`(0, 0)` if none).
    pub fn min_max_entries(&self) -> (u32, u32) {
        let it = self
            .entries
            .iter()
            .zip(&self.weights)
            .filter(|(_, &w)| w > 0)
            .map(|(&e, _)| e);
        let (mut lo, mut hi) = (u32::MAX, 0);
        for e in it {
            lo = lo.min(e);
            hi = hi.max(e);
        }
        if hi == 0 && lo == u32::MAX {
            (0, 0)
        } else {
            (lo, hi)
        }
    }

    /// The table as backend addresses of `backends` (the list it was built from), for comparing
    /// two tables slot by slot.
    pub fn slots_as_addrs(&self, backends: &[Backend]) -> Vec<Option<SocketAddr>> {
        (0..self.m)
            .map(|s| self.slot(s).map(|i| backends[i].addr))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backends(n: usize, weight: u32) -> Vec<Backend> {
        (0..n)
            .map(|i| {
                Backend::new(
                    format!("10.1.{}.{}:8080", i / 250, i % 250 + 1)
                        .parse()
                        .unwrap(),
                    weight,
                )
            })
            .collect()
    }

    #[test]
    fn reproduces_paper_table_1_and_removals() {
        let perms = [(3, 4), (0, 2), (3, 1)];
        let t = fill_from_permutations(7, &perms, &[1, 1, 1]).unwrap();
        assert_eq!(t, [1, 0, 1, 0, 2, 2, 0]);
        // Removing B1 (weight 0 keeps the indices): slots 0, 2 reassigned and slot 6 moves.
        let t = fill_from_permutations(7, &perms, &[1, 0, 1]).unwrap();
        assert_eq!(t, [0, 0, 0, 0, 2, 2, 2]);
        let t = fill_from_permutations(7, &perms, &[1, 1, 0]).unwrap();
        assert_eq!(t, [1, 0, 1, 0, 0, 0, 1]);
    }

    #[test]
    fn validates_table_size() {
        assert!(check_table_size(65537).is_ok());
        assert!(check_table_size(65536).is_err());
        assert!(check_table_size(5_000_011).is_ok());
        assert!(check_table_size(5_000_077).is_err());
        for m in PRESET_TABLE_SIZES {
            assert!(is_prime(m), "{m}");
        }
        assert!(!is_prime(1) && is_prime(2) && !is_prime(9) && !is_prime(65535));
        assert!(Maglev::new(&backends(8, 1), 7, 0).is_err());
    }

    #[test]
    fn unweighted_entries_differ_by_at_most_one() {
        let mg = Maglev::new(&backends(10, 1), 251, 1).unwrap();
        assert_eq!(mg.min_max_entries(), (25, 26));
        assert_eq!(mg.entries().iter().sum::<u32>(), 251);
    }

    #[test]
    fn order_independent_and_seeded() {
        let b = backends(20, 1);
        let mut r = b.clone();
        r.reverse();
        let x = Maglev::new(&b, 4093, 9).unwrap();
        let y = Maglev::new(&r, 4093, 9).unwrap();
        assert_eq!(x.slots_as_addrs(&b), y.slots_as_addrs(&r));
        let z = Maglev::new(&b, 4093, 10).unwrap();
        assert_ne!(x.slots_as_addrs(&b), z.slots_as_addrs(&b));
    }

    #[test]
    fn weight_zero_drains_and_single_backend_fast_path() {
        let mut b = backends(3, 1);
        b[0].weight = 0;
        b[2].weight = 0;
        let mg = Maglev::new(&b, 251, 0).unwrap();
        assert_eq!(mg.entries(), &[0, 251, 0]);
        assert_eq!(mg.pick("1.2.3.4".parse().unwrap(), None), Some(1));
        b[1].weight = 0;
        let mg = Maglev::new(&b, 251, 0).unwrap();
        assert_eq!(mg.lookup(12345), None);
        assert_eq!(mg.min_max_entries(), (0, 0));
    }

    #[test]
    fn extreme_weights_still_give_every_backend_an_entry() {
        let mut b = backends(3, 1);
        b[0].weight = 1_000_000;
        let mg = Maglev::new(&b, 251, 0).unwrap();
        assert!(mg.entries().iter().all(|&e| e >= 1), "{:?}", mg.entries());
    }

    #[test]
    fn slot_of_covers_range() {
        let mg = Maglev::new(&backends(2, 1), 7, 0).unwrap();
        assert_eq!(mg.slot_of(0), 0);
        assert_eq!(mg.slot_of(u64::MAX), 6);
    }
}
