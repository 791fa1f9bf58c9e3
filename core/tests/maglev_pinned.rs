//! Pins the exact Maglev tables that `svccore::select::maglev` builds, so that optimisations of
//! the table fill cannot silently change which backend owns which slot (that would move
//! connections between svccore versions).
//!
//! Two kinds of check:
//! * checksums of `Maglev::new` tables and entry counts, recorded from the implementation of
//!   commit de3d6ac (before the fill was optimised) — they cover hashing, sorting, the fill and
//!   the counts together;
//! * a property comparing `fill_from_permutations` with the paper's pseudocode written out here
//!   naively (with `%`, a table scan for occupancy, and cumulative turns for weights).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use proptest::prelude::*;
use svccore::select::maglev::{self, Maglev};
use svccore::select::{Backend, Rng};

/// FNV-1a over 32-bit words.
fn fnv(words: impl IntoIterator<Item = u32>) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for w in words {
        for b in w.to_le_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// Checksums of the table (empty slots as `u32::MAX`) and of the entry counts.
fn digest(mg: &Maglev) -> (u64, u64) {
    let table = fnv((0..mg.table_size()).map(|s| mg.slot(s).map_or(u32::MAX, |i| i as u32)));
    (table, fnv(mg.entries().iter().copied()))
}

fn v4(n: usize, weight: u32) -> Vec<Backend> {
    (0..n)
        .map(|i| {
            let ip = Ipv4Addr::new(10, 244, (i / 250) as u8, (i % 250) as u8 + 1);
            Backend::new(SocketAddr::new(IpAddr::V4(ip), 8080), weight)
        })
        .collect()
}

/// The generator the pinned inputs were recorded with (xoshiro256**, seeded through
/// splitmix64, svccore's `Rng` at the time), kept here so that the inputs do not change when
/// svccore's generator does.
struct InputRng([u64; 4]);

impl InputRng {
    fn new(seed: u64) -> Self {
        let mut st = seed;
        InputRng([0; 4].map(|_| svccore::select::splitmix64(&mut st)))
    }

    fn next_u64(&mut self) -> u64 {
        let s = &mut self.0;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }
}

/// Pseudo-random, unique IPv6 addresses and ports (fixed by `seed`).
fn v6(n: usize, seed: u64) -> Vec<Backend> {
    let mut rng = InputRng::new(seed);
    (0..n)
        .map(|i| {
            let hi = u128::from(rng.next_u64()) << 64;
            // The low bits carry `i`, so the addresses are unique.
            let ip = Ipv6Addr::from(hi | i as u128);
            let port = (rng.next_u64() >> 48) as u16;
            Backend::new(SocketAddr::new(IpAddr::V6(ip), port), 1)
        })
        .collect()
}

/// `(name, backends, M, seed)` for every pinned case.
fn cases() -> Vec<(&'static str, Vec<Backend>, u32, u64)> {
    let mut out = vec![
        (
            "v4 N=1000 M=65537 seed=0 (the benchmark)",
            v4(1000, 1),
            65537,
            0,
        ),
        ("v4 N=1000 M=65537 seed=7", v4(1000, 1), 65537, 7),
        ("v4 N=3 M=7", v4(3, 1), 7, 0),
        ("v4 N=7 M=7 (full: one slot each)", v4(7, 1), 7, 3),
        ("v4 N=2 M=2", v4(2, 1), 2, 1),
        ("v4 N=10 M=251", v4(10, 1), 251, 1),
        ("v4 N=100 M=4093", v4(100, 1), 4093, 5),
        ("v4 N=1 M=65537 (fast path)", v4(1, 1), 65537, 0),
        ("v4 N=0 M=251 (empty)", v4(0, 1), 251, 0),
        ("v4 N=5 weight 0 (all drained)", v4(5, 0), 251, 0),
        ("v4 N=1000 weight 4 (equal weights)", v4(1000, 4), 65537, 2),
        ("v6 N=500 M=65537", v6(500, 11), 65537, 9),
        ("v6 N=37 M=131071", v6(37, 12), 131071, 4),
        ("v4 N=300 M=65521", v4(300, 1), 65521, 8),
    ];
    // The benchmark's weighted set: every third backend weight 3.
    let mut w = v4(1000, 1);
    for b in w.iter_mut().step_by(3) {
        b.weight = 3;
    }
    out.push(("v4 N=1000 every third weight 3", w, 65537, 0));
    // Mixed weights, including drained backends and one dominant weight.
    let mut w = v4(200, 1);
    for (i, b) in w.iter_mut().enumerate() {
        b.weight = [0, 1, 2, 5, 1, 1, 10, 3][i % 8];
    }
    w[17].weight = 1000;
    out.push(("v4 N=200 mixed weights", w, 16381, 6));
    let mut w = v6(40, 13);
    for (i, b) in w.iter_mut().enumerate() {
        b.weight = 1 + (i as u32 % 4);
    }
    out.push(("v6 N=40 weights 1..4", w, 4093, 1));
    let mut w = v4(3, 1);
    w[0].weight = 1_000_000;
    out.push(("v4 N=3 one weight 1e6", w, 251, 0));
    let mut w = v4(2, 0);
    w[1].weight = 9;
    out.push(("v4 N=2 one positive (fast path)", w, 251, 0));
    // u32 entries: at least 65535 backends in the input (weight-0 ones count too).
    let mut w = v6(65535, 15);
    for (i, b) in w.iter_mut().enumerate() {
        b.weight = u32::from(i % 5000 == 0);
    }
    out.push(("u32 path: 65535 backends, 14 positive", w, 4093, 3));
    out.push(("u32 path: N=70000 M=131071", v6(70000, 14), 131071, 0));
    out
}

/// Digests recorded from commit de3d6ac, in the order of `cases()`.
const PINNED: &[(u64, u64)] = &[
    (0x45be6021155803e3, 0x6e8e2a58348b98a6), // v4 N=1000 M=65537 seed=0 (the benchmark)
    (0x34622dca596759eb, 0x6e8e2a58348b98a6), // v4 N=1000 M=65537 seed=7
    (0x35ae4ef6781a61d5, 0x4baafe790e6b8226), // v4 N=3 M=7
    (0xfcfbc433d5fdba32, 0xde4e57320ed16394), // v4 N=7 M=7 (full: one slot each)
    (0x08cd4c29d1e47d34, 0x29c7dd317360ac35), // v4 N=2 M=2
    (0xd718a5c0bb35a6e4, 0x5fae8268349be056), // v4 N=10 M=251
    (0x2fb2be958c1933a9, 0xfc26cb77baef0104), // v4 N=100 M=4093
    (0x4ebe9b86711e13f5, 0xad2e3077479b3a8d), // v4 N=1 M=65537 (fast path)
    (0x7b8b2a49661bf189, 0xcbf29ce484222325), // v4 N=0 M=251 (empty)
    (0x7b8b2a49661bf189, 0xee85fafd354b0935), // v4 N=5 weight 0 (all drained)
    (0x77e33cf5de21f12b, 0x6e8e2a58348b98a6), // v4 N=1000 weight 4 (equal weights)
    (0x47f625319dddb4df, 0xf1edf6a73f447c82), // v6 N=500 M=65537
    (0xc7c50ccce14e4174, 0x4e821c22f9c1afd5), // v6 N=37 M=131071
    (0x996cbad76721f231, 0x84a4236f6f7bb924), // v4 N=300 M=65521
    (0x640bbbea8977e19e, 0x0119e41d08004d8a), // v4 N=1000 every third weight 3
    (0xd11f5385d7416a36, 0x8bb43f89198b5492), // v4 N=200 mixed weights
    (0x24a01f6e2bdfbc4a, 0x458fc2aa0cb8b2b2), // v6 N=40 weights 1..4
    (0xafefe7162de6ce56, 0x26aae37bbb3478ac), // v4 N=3 one weight 1e6
    (0x2aeab5ae31f68534, 0x4d96bcac5d9d12ee), // v4 N=2 one positive (fast path)
    (0xdca23f2fb7148d69, 0xf29c32376ba8b370), // u32 path: 65535 backends, 14 positive
    (0x7ab40e457d4b9330, 0xd953dfa682ff2ed6), // u32 path: N=70000 M=131071
];

#[test]
fn tables_match_the_pinned_digests() {
    let got: Vec<(u64, u64)> = cases()
        .iter()
        .map(|(_, b, m, seed)| digest(&Maglev::new(b, *m, *seed).unwrap()))
        .collect();
    for ((name, ..), (g, p)) in cases().iter().zip(got.iter().zip(PINNED)) {
        assert_eq!(g, p, "{name}");
    }
    assert_eq!(got.len(), PINNED.len());
}

#[test]
fn benchmark_table_entry_spread_is_pinned() {
    let mg = Maglev::new(&v4(1000, 1), 65537, 0).unwrap();
    assert_eq!(mg.min_max_entries(), (65, 66));
}

/// The paper's pseudocode with cumulative-turn weights, written for clarity: `%` for the next
/// position and the table itself for occupancy. `perms[i] = (offset, skip)`; weight 0 drains.
fn reference_fill(m: u32, perms: &[(u32, u32)], weights: &[u32]) -> Vec<u32> {
    let mut table = vec![u32::MAX; m as usize];
    let live: Vec<usize> = (0..perms.len()).filter(|&i| weights[i] > 0).collect();
    if live.is_empty() {
        return table;
    }
    let max = live.iter().map(|&i| u64::from(weights[i])).max().unwrap();
    let mut next = vec![0u64; perms.len()];
    let mut acc = vec![max - 1; perms.len()];
    let mut filled = 0;
    loop {
        for &i in &live {
            acc[i] += u64::from(weights[i]);
            while acc[i] >= max {
                acc[i] -= max;
                let (offset, skip) = perms[i];
                let mut c = (u64::from(offset) + next[i] * u64::from(skip)) % u64::from(m);
                while table[c as usize] != u32::MAX {
                    next[i] += 1;
                    c = (u64::from(offset) + next[i] * u64::from(skip)) % u64::from(m);
                }
                table[c as usize] = i as u32;
                next[i] += 1;
                filled += 1;
                if filled == m {
                    return table;
                }
            }
        }
    }
}

fn arb_perms() -> impl Strategy<Value = (u32, Vec<(u32, u32)>, Vec<u32>)> {
    let ms = [2u32, 3, 7, 13, 251, 509, 1021];
    (0..ms.len(), 1usize..40, any::<u64>(), any::<bool>()).prop_map(
        move |(mi, n, seed, weighted)| {
            let m = ms[mi];
            let n = n.min(m as usize);
            let mut rng = Rng::new(seed);
            let perms = (0..n)
                .map(|_| {
                    let offset = rng.below(u64::from(m)) as u32;
                    let skip = rng.below(u64::from(m - 1)) as u32 + 1;
                    (offset, skip)
                })
                .collect();
            let weights = (0..n)
                .map(|_| if weighted { rng.below(6) as u32 } else { 1 })
                .collect();
            (m, perms, weights)
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn fill_matches_the_papers_pseudocode((m, perms, weights) in arb_perms()) {
        let got = maglev::fill_from_permutations(m, &perms, &weights).unwrap();
        prop_assert_eq!(got, reference_fill(m, &perms, &weights));
    }
}
