//! Properties of backend selection (spec: selection-and-hashing.md, ipvs.md §6–§7).
//!
//! Every expected value here is computed independently of the code under test (reference models
//! written from the spec, or statistics), never copied from its output.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use proptest::prelude::*;
use svccore::select::affinity::{LruAffinity, PersistenceTemplates, RecentList};
use svccore::select::ipvs::{self, Scheduler, MH_TABLE_SIZES};
use svccore::select::maglev::{self, Maglev};
use svccore::select::measure::{maglev_slot_disruption, synthetic_connection};
use svccore::select::{cascade, Algorithm, Backend, Balancer, Connection, Flags, Options, Rng};

fn backends(n: usize, weight: u32) -> Vec<Backend> {
    (0..n)
        .map(|i| {
            let a = SocketAddr::new(
                IpAddr::V4(Ipv4Addr::new(10, 244, (i / 250) as u8, (i % 250) as u8 + 1)),
                8080,
            );
            Backend::new(a, weight)
        })
        .collect()
}

/// Unique random IPv4/IPv6 backends with the given weights.
fn arb_backends(weights: Vec<u32>, v6: Vec<bool>, seed: u64) -> Vec<Backend> {
    let mut rng = Rng::new(seed);
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (i, w) in weights.into_iter().enumerate() {
        loop {
            let ip = if v6[i % v6.len()] {
                IpAddr::V6(Ipv6Addr::from(
                    (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64()),
                ))
            } else {
                IpAddr::V4(Ipv4Addr::from(rng.next_u32()))
            };
            let a = SocketAddr::new(ip, (rng.next_u32() >> 16) as u16);
            if seen.insert(a) {
                out.push(Backend::new(a, w));
                break;
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Maglev

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn maglev_unweighted_entries_differ_by_at_most_one(
        n in 1usize..120,
        m_idx in 0usize..maglev::PRESET_TABLE_SIZES.len() - 2,
        seed: u64,
    ) {
        let m = maglev::PRESET_TABLE_SIZES[m_idx];
        prop_assume!(n <= m as usize);
        let b = backends(n, 1);
        let mg = Maglev::new(&b, m, seed).unwrap();
        let (lo, hi) = mg.min_max_entries();
        prop_assert!(hi - lo <= 1, "min {lo} max {hi}");
        prop_assert_eq!(lo, m / n as u32);
        prop_assert_eq!(mg.entries().iter().sum::<u32>(), m);
    }

    #[test]
    fn maglev_weighted_shares_within_one_percent(
        weights in proptest::collection::vec(1u32..=10, 2..20),
        seed: u64,
    ) {
        let m = 65537u32;
        let mut b = backends(weights.len(), 1);
        for (x, w) in b.iter_mut().zip(&weights) {
            x.weight = *w;
        }
        let mg = Maglev::new(&b, m, seed).unwrap();
        let total: u32 = weights.iter().sum();
        for (i, &w) in weights.iter().enumerate() {
            let ideal = f64::from(m) * f64::from(w) / f64::from(total);
            let got = f64::from(mg.entries()[i]);
            prop_assert!((got - ideal).abs() <= 0.01 * ideal, "backend {i} w {w}: {got} vs {ideal:.1}");
        }
    }

    #[test]
    fn maglev_weight_zero_gets_nothing_and_positive_gets_something(
        weights in proptest::collection::vec(0u32..1000, 1..30),
        seed: u64,
    ) {
        let mut b = backends(weights.len(), 1);
        for (x, w) in b.iter_mut().zip(&weights) {
            x.weight = *w;
        }
        let mg = Maglev::new(&b, 4093, seed).unwrap();
        for (i, &w) in weights.iter().enumerate() {
            prop_assert_eq!(w == 0, mg.entries()[i] == 0, "backend {} weight {}", i, w);
        }
    }

    #[test]
    fn maglev_table_is_independent_of_input_order(n in 2usize..60, seed: u64, shuffle: u64) {
        let b = backends(n, 1);
        let mut s = b.clone();
        let mut rng = Rng::new(shuffle);
        for i in (1..s.len()).rev() {
            s.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let x = Maglev::new(&b, 16381, seed).unwrap();
        let y = Maglev::new(&s, 16381, seed).unwrap();
        prop_assert_eq!(x.slots_as_addrs(&b), y.slots_as_addrs(&s));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn maglev_removing_one_of_n_moves_at_most_one_nth_plus_two_percent(
        n in 3usize..300,
        victim in any::<prop::sample::Index>(),
        seed: u64,
    ) {
        let before = backends(n, 1);
        let v = victim.index(n);
        let after: Vec<Backend> = before.iter().enumerate().filter(|(i, _)| *i != v).map(|(_, b)| *b).collect();
        let d = maglev_slot_disruption(&before, &after, 65537, seed).unwrap();
        prop_assert!(d.moved <= 1.0 / n as f64 + 0.02, "moved {} for n {}", d.moved, n);
        // The removed backend's own slots must all move.
        prop_assert!(d.moved >= 1.0 / n as f64 - 1.0 / 65537.0 - 1e-9);
    }
}

// ---------------------------------------------------------------------------------------------
// IPVS mh against an independent reference written from ipvs.md §6.9–§6.10

/// SipHash-1-3 of a 4-byte message with k0 = k1 = `k`, truncated to 32 bits (spec §6.10).
fn ref_hsiphash(k: u64, msg: u32) -> u32 {
    let (mut v0, mut v1, mut v2, mut v3) = (
        0x736f6d6570736575u64 ^ k,
        0x646f72616e646f6du64 ^ k,
        0x6c7967656e657261u64 ^ k,
        0x7465646279746573u64 ^ k,
    );
    macro_rules! sipround {
        () => {
            v0 = v0.wrapping_add(v1);
            v1 = v1.rotate_left(13);
            v1 ^= v0;
            v0 = v0.rotate_left(32);
            v2 = v2.wrapping_add(v3);
            v3 = v3.rotate_left(16);
            v3 ^= v2;
            v0 = v0.wrapping_add(v3);
            v3 = v3.rotate_left(21);
            v3 ^= v0;
            v2 = v2.wrapping_add(v1);
            v1 = v1.rotate_left(17);
            v1 ^= v2;
            v2 = v2.rotate_left(32);
        };
    }
    let b = (4u64 << 56) | u64::from(msg);
    v3 ^= b;
    sipround!();
    v0 ^= b;
    v2 ^= 0xff;
    sipround!();
    sipround!();
    sipround!();
    (v0 ^ v1 ^ v2 ^ v3) as u32
}

fn ref_fold(ip: IpAddr) -> u32 {
    match ip {
        IpAddr::V4(a) => u32::from_be_bytes(a.octets()),
        IpAddr::V6(a) => {
            let x = u128::from(a);
            (x as u32) ^ ((x >> 32) as u32) ^ ((x >> 64) as u32) ^ ((x >> 96) as u32)
        }
    }
}

fn ref_mh_hash(k: u64, ip: IpAddr, port: u16, offset: u32) -> u32 {
    ref_hsiphash(
        k,
        offset
            .wrapping_add(u32::from(port))
            .wrapping_add(ref_fold(ip)),
    )
}

struct RefDest {
    addr: SocketAddr,
    weight: u32,
    last_weight: u32,
}

/// The kernel's populate steps, literally: gcd, rshift, turns, passes, `perm` re-tested.
fn ref_mh_table(list: &[RefDest], m: u32) -> Vec<Option<usize>> {
    let index = 8 + MH_TABLE_SIZES.iter().position(|&x| x == m).unwrap() as u32;
    let tab_bits = index / 2;
    let mut table = vec![None; m as usize];
    fn gcd(a: u32, b: u32) -> u32 {
        if b == 0 {
            a
        } else {
            gcd(b, a % b)
        }
    }
    let g = list
        .iter()
        .filter(|d| d.last_weight > 0)
        .map(|d| d.last_weight)
        .fold(0, gcd);
    if g == 0 {
        return table;
    }
    let mw = list.iter().map(|d| d.last_weight).max().unwrap() / g;
    let fls = 32 - mw.leading_zeros() as i64;
    let rshift = (fls - i64::from(tab_bits)).max(0) as u32;
    let mut perm = Vec::new();
    let mut skip = Vec::new();
    let mut turns = Vec::new();
    for d in list {
        perm.push(ref_mh_hash(2654435761, d.addr.ip(), d.addr.port(), 0) % m);
        skip.push(ref_mh_hash(2654446892, d.addr.ip(), d.addr.port(), 0) % (m - 1) + 1);
        let t = (d.last_weight / g) >> rshift;
        turns.push(if t > 0 {
            t
        } else if d.last_weight != 0 {
            1
        } else {
            0
        });
    }
    let mut n_pos = 0;
    'outer: loop {
        for p in 0..list.len() {
            let mut i = 0;
            while i < turns[p] {
                while table[perm[p] as usize].is_some() {
                    perm[p] = (perm[p] + skip[p]) % m;
                }
                table[perm[p] as usize] = Some(p);
                n_pos += 1;
                if n_pos == m {
                    break 'outer;
                }
                i += 1;
            }
        }
    }
    table
}

fn ref_mh_lookup(
    list: &[RefDest],
    table: &[Option<usize>],
    m: u32,
    client: IpAddr,
    port: u16,
    fallback: bool,
) -> Option<usize> {
    let available = |p: usize| list[p].weight > 0;
    let ihash = ref_mh_hash(2654435761, client, port, 0) % m;
    let d = table[ihash as usize]?;
    if available(d) {
        return Some(d);
    }
    if !fallback {
        return None;
    }
    for off in 0..m {
        let r = (off + ihash) % m;
        let s = ref_mh_hash(2654435761, client, port, r) % m;
        let d = table[s as usize]?;
        if available(d) {
            return Some(d);
        }
    }
    None
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn mh_table_and_lookups_equal_reference(
        weights in proptest::collection::vec(prop_oneof![3 => 0u32..=4, 2 => 1u32..=2000, 1 => 0u32..=65535], 1..24),
        v6 in proptest::collection::vec(any::<bool>(), 1..4),
        drained in proptest::collection::vec(any::<bool>(), 24),
        m_idx in 0usize..6,
        fallback: bool,
        port_flag: bool,
        seed: u64,
    ) {
        let m = MH_TABLE_SIZES[m_idx];
        let insertion = arb_backends(weights, v6, seed);
        let mut flags = Flags::NONE;
        if fallback { flags |= Flags::MH_FALLBACK; }
        if port_flag { flags |= Flags::MH_PORT; }
        let opts = Options { flags, mh_table_size: m, ..Options::default() };
        let mut b = Balancer::new(Algorithm::Mh, &insertion, &opts).unwrap();
        // Drain some (weight 0 keeps last_weight).
        let after: Vec<Backend> = insertion
            .iter()
            .zip(&drained)
            .map(|(x, &d)| Backend::new(x.addr, if d { 0 } else { x.weight }))
            .collect();
        b.update(&after).unwrap();

        // Kernel list = reverse insertion order.
        let n = insertion.len();
        let list: Vec<RefDest> = (0..n)
            .rev()
            .map(|i| RefDest { addr: insertion[i].addr, weight: after[i].weight, last_weight: insertion[i].weight })
            .collect();
        let want = ref_mh_table(&list, m);
        let got: Vec<Option<usize>> = b
            .ipvs()
            .unwrap()
            .mh_table()
            .unwrap()
            .iter()
            .map(|&p| (p != ipvs::EMPTY).then_some(p as usize))
            .collect();
        prop_assert!(want == got, "mh table differs from reference");

        let mut rng = Rng::new(seed ^ 1);
        for i in 0..64 {
            let c = synthetic_connection(&mut rng, i);
            let port = if port_flag { c.client_port } else { 0 };
            let want = ref_mh_lookup(&list, &want, m, c.client, port, fallback).map(|k| n - 1 - k);
            prop_assert_eq!(b.pick(&c), want);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// wrr

fn letters(b: &mut Balancer, names: &[char], n: usize) -> String {
    let c = Connection::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), 1, 0.0);
    (0..n)
        .map(|_| b.pick(&c).map_or('-', |i| names[i]))
        .collect()
}

#[test]
fn wrr_4_3_2_follows_spec_worked_example() {
    // Kernel list A:4, B:3, C:2 means insertion order C, B, A.
    let ins = [("10.0.0.3:80", 2), ("10.0.0.2:80", 3), ("10.0.0.1:80", 4)];
    let names = ['C', 'B', 'A'];
    let bs: Vec<Backend> = ins
        .iter()
        .map(|(a, w)| Backend::new(a.parse().unwrap(), *w))
        .collect();
    // Scheduler bound to a service that already has the dests: exactly the spec's sequence.
    let list: Vec<(SocketAddr, u32)> = bs.iter().map(|b| (b.addr, b.weight)).collect();
    let mut svc = ipvs::Service::with_dests(Scheduler::Wrr, Flags::NONE, 4093, &list).unwrap();
    let c = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    let seq: String = (0..27)
        .map(|_| {
            let p = svc.schedule(c, 0, None).unwrap();
            ['A', 'B', 'C'][p]
        })
        .collect();
    assert_eq!(seq, "AABABCABC".repeat(3));
    // kube-proxy's way (dests added one by one): one warm-up round, then the same cycle.
    let mut b = Balancer::new(Algorithm::Wrr, &bs, &Options::default()).unwrap();
    let seq = letters(&mut b, &names, 30);
    assert_eq!(&seq[3..], "AABABCABC".repeat(3));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Over one period (Σw/g picks) every dest is picked exactly w/g times.
    #[test]
    fn wrr_period_gives_each_dest_its_weight(weights in proptest::collection::vec(0u32..12, 1..8)) {
        prop_assume!(weights.iter().any(|&w| w > 0));
        let list: Vec<(SocketAddr, u32)> = weights
            .iter()
            .enumerate()
            .map(|(i, &w)| (SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, i as u8 + 1)), 80), w))
            .collect();
        let mut svc = ipvs::Service::with_dests(Scheduler::Wrr, Flags::NONE, 4093, &list).unwrap();
        fn gcd(a: u32, b: u32) -> u32 { if b == 0 { a } else { gcd(b, a % b) } }
        let g = weights.iter().copied().fold(0, gcd);
        let period: u32 = weights.iter().map(|w| w / g).sum();
        let mut count: HashMap<SocketAddr, u32> = HashMap::new();
        let c = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        for _ in 0..2 * period {
            let p = svc.schedule(c, 0, None).unwrap();
            *count.entry(svc.dests()[p].addr).or_default() += 1;
        }
        for (a, w) in &list {
            prop_assert_eq!(count.get(a).copied().unwrap_or(0), 2 * w / g, "{} weight {}", a, w);
        }
    }
}

/// A list change applied to two copies of a service, for the rr/wrr precompute property.
#[derive(Debug, Clone)]
enum Change {
    Picks(u8),
    Add(u8, u32),
    Remove(u8),
    Edit(u8, u32),
    Overload(u8, bool),
}

fn arb_change() -> impl Strategy<Value = Change> {
    prop_oneof![
        4 => (1u8..20).prop_map(Change::Picks),
        1 => (0u8..12, 0u32..7).prop_map(|(a, w)| Change::Add(a, w)),
        1 => (0u8..12).prop_map(Change::Remove),
        1 => (0u8..12, 0u32..7).prop_map(|(a, w)| Change::Edit(a, w)),
        1 => (0u8..12, any::<bool>()).prop_map(|(a, o)| Change::Overload(a, o)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// `Service::precompute` changes nothing observable: through any mix of picks and list
    /// changes (adds at the head, removals under and around the cursor, weight edits to and from
    /// 0, OVERLOADED flags), the precomputed service picks exactly what the step-by-step one
    /// picks, and both end in the same state.
    #[test]
    fn rr_wrr_precomputed_cycle_picks_as_the_scheduler(
        wrr in any::<bool>(),
        initial in proptest::collection::vec(0u32..7, 0..8),
        changes in proptest::collection::vec(arb_change(), 1..40),
    ) {
        let sched = if wrr { Scheduler::Wrr } else { Scheduler::Rr };
        let addr = |a: u8| SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, a + 1)), 80);
        let mut slow = ipvs::Service::new(sched, Flags::NONE, 4093).unwrap();
        for (i, &w) in initial.iter().enumerate() {
            slow.add_dest(addr(i as u8), w).unwrap();
        }
        // Short cycles are always precomputed, unless nothing is available to pick.
        let plannable = |s: &ipvs::Service| s.dests().iter().any(|d| d.weight > 0 && !d.overloaded);
        let mut fast = slow.clone();
        fast.precompute();
        prop_assert_eq!(fast.is_precomputed(), plannable(&fast));
        let c = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        for ch in changes {
            match ch {
                Change::Picks(k) => {
                    for _ in 0..k {
                        prop_assert_eq!(fast.schedule(c, 0, None), slow.schedule(c, 0, None));
                    }
                }
                Change::Add(a, w) => {
                    prop_assert_eq!(fast.add_dest(addr(a), w).is_ok(), slow.add_dest(addr(a), w).is_ok());
                }
                Change::Remove(a) => {
                    prop_assert_eq!(fast.remove_dest(addr(a)).is_ok(), slow.remove_dest(addr(a)).is_ok());
                }
                Change::Edit(a, w) => {
                    prop_assert_eq!(fast.edit_dest(addr(a), w).is_ok(), slow.edit_dest(addr(a), w).is_ok());
                }
                Change::Overload(a, o) => {
                    let p = slow.position(addr(a)).unwrap_or(usize::MAX);
                    prop_assert_eq!(fast.set_overloaded(p, o), slow.set_overloaded(p, o));
                }
            }
            fast.precompute();
            prop_assert_eq!(fast.is_precomputed(), plannable(&fast));
            prop_assert!(fast == slow, "states differ after {:?}", fast);
        }
    }
}

/// A wrr cycle longer than `PLAN_MAX_STEPS` (co-prime weights 65535 and 65534: 131069 picks)
/// is left to the step-by-step scheduler, which still gives each dest its weight.
#[test]
fn wrr_cycle_longer_than_the_plan_limit_is_scheduled_step_by_step() {
    let a = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 80);
    let b = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), 80);
    let mut svc =
        ipvs::Service::with_dests(Scheduler::Wrr, Flags::NONE, 4093, &[(a, 65535), (b, 65534)])
            .unwrap();
    svc.precompute();
    assert!(!svc.is_precomputed());
    let c = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    let mut count = [0u32; 2];
    for _ in 0..131_069 {
        count[svc.schedule(c, 0, None).unwrap()] += 1;
    }
    let weight_of = |p: usize| {
        if svc.dests()[p].addr == a {
            65535
        } else {
            65534
        }
    };
    assert_eq!([count[0], count[1]], [weight_of(0), weight_of(1)]);
}

// ---------------------------------------------------------------------------------------------
// iptables cascade

/// Each endpoint gets 1/n within a 5-sigma binomial bound. With D draws the standard deviation
/// of a share is sqrt(p(1−p)/D); |Z| > 5 has probability 5.7e-7 per endpoint, so over the
/// 2+3+5+10+32+33 = 85 endpoints checked a false failure has probability < 5e-5 (and the seeds
/// are fixed, so the test is reproducible). D = 10^6 for n = 10, 2·10^5 for the smaller n and
/// 2·10^4 per endpoint for the larger, to keep the debug run short. n = 32 is the largest
/// cascade sampled from its distribution function, n = 33 the smallest that walks its rules.
#[test]
fn cascade_gives_each_endpoint_one_nth() {
    assert_eq!(cascade::CDF_MAX_ENDPOINTS, 32);
    for (n, draws) in [
        (2usize, 200_000u64),
        (3, 200_000),
        (5, 200_000),
        (10, 1_000_000),
        (32, 640_000),
        (33, 660_000),
    ] {
        let b = backends(n, 1);
        let mut bal = Balancer::new(
            Algorithm::Iptables,
            &b,
            &Options {
                seed: 42 + n as u64,
                ..Options::default()
            },
        )
        .unwrap();
        let c = Connection::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), 1, 0.0);
        let mut count = vec![0u64; n];
        for _ in 0..draws {
            count[bal.pick(&c).unwrap()] += 1;
        }
        let p = 1.0 / n as f64;
        let sd = (p * (1.0 - p) / draws as f64).sqrt();
        for (i, &k) in count.iter().enumerate() {
            let share = k as f64 / draws as f64;
            assert!(
                (share - p).abs() <= 5.0 * sd,
                "n {n} endpoint {i}: {share} vs {p} (sd {sd})"
            );
        }
    }
}

#[test]
fn cascade_exact_distribution_is_one_nth_up_to_quantisation() {
    for n in 1..=200 {
        let probs = cascade::endpoint_probabilities(n);
        let sum: f64 = probs.iter().map(|e| e.effective).sum();
        assert!((sum - 1.0).abs() < 1e-12);
        for e in &probs {
            // Quantisation error of each rule is at most 2^-32 relative to 2^31 steps.
            assert!(
                (e.effective - 1.0 / n as f64).abs() < 1e-7,
                "n {n} e {}: {}",
                e.index,
                e.effective
            );
            assert_eq!(e.ideal, (1, n as u64));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Affinity

#[derive(Debug, Clone)]
struct Event {
    client: u8,
    /// Time step in half seconds (exactly representable, so boundaries are exact).
    step_halves: u32,
}

fn arb_events(t: u32) -> impl Strategy<Value = Vec<Event>> {
    let t2 = 2 * t;
    let step = prop_oneof![
        Just(t2),     // exactly timeoutSeconds
        Just(t2 - 1), // half a second inside
        Just(t2 + 1), // half a second after
        0u32..=t2 * 2,
        Just(0u32),
    ];
    proptest::collection::vec(
        (0u8..4, step).prop_map(|(client, step_halves)| Event {
            client,
            step_halves,
        }),
        1..60,
    )
}

fn client(i: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(198, 51, 100, i + 1))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// IPVS persistence and the LRU: a client sticks iff its previous connection was less than
    /// timeoutSeconds ago (each connection re-arms), never at or beyond it.
    #[test]
    fn idle_timeout_affinity_holds_strictly_inside_timeout(
        (t, events) in (1u32..=86400).prop_flat_map(|t| (Just(t), arb_events(t)))
    ) {
        let mut tpl = PersistenceTemplates::new(t);
        let mut lru = LruAffinity::new(t, 16);
        let mut last: HashMap<u8, f64> = HashMap::new();
        let mut now = 0.0f64;
        for (k, e) in events.iter().enumerate() {
            now += f64::from(e.step_halves) / 2.0;
            let expect = last.get(&e.client).is_some_and(|&l| now - l < f64::from(t));
            let c = client(e.client);
            let got_t = tpl.lookup(c, now, |_| true);
            let got_l = lru.lookup(c, now, |_| true);
            prop_assert_eq!(got_t.is_some(), expect, "template, event {}", k);
            prop_assert_eq!(got_l.is_some(), expect, "lru, event {}", k);
            if got_t.is_none() { tpl.create(c, k, now); }
            if got_l.is_none() { lru.record(c, k, now); }
            last.insert(e.client, now);
        }
    }

    /// iptables `recent`: a client sticks iff its previous connection was at most timeoutSeconds
    /// ago (the kernel keeps an entry whose age equals the timeout), and then it goes to the same
    /// endpoint and consumes no random draw.
    #[test]
    fn iptables_affinity_holds_up_to_timeout_inclusive(
        (t, events) in (1u32..=86400).prop_flat_map(|t| (Just(t), arb_events(t))),
        n in 1usize..6,
        seed: u64,
    ) {
        let opts = Options { affinity_timeout: Some(t), seed, ..Options::default() };
        let mut b = Balancer::new(Algorithm::Iptables, &backends(n, 1), &opts).unwrap();
        let mut last: HashMap<u8, (f64, usize)> = HashMap::new();
        let mut now = 0.0f64;
        for (k, e) in events.iter().enumerate() {
            now += f64::from(e.step_halves) / 2.0;
            let conn = Connection::new(client(e.client), 1000 + k as u16, now);
            let rng_before = b.rng().clone();
            let got = b.pick(&conn).unwrap();
            let hit = b.rng() == &rng_before && n > 1;
            match last.get(&e.client) {
                Some(&(l, prev)) if now - l <= f64::from(t) => {
                    prop_assert_eq!(got, prev, "event {}: must stick", k);
                    prop_assert!(n == 1 || hit, "event {}: a hit must not draw", k);
                }
                _ => prop_assert!(n == 1 || !hit, "event {}: must not stick after timeout", k),
            }
            last.insert(e.client, (now, got));
        }
    }

    #[test]
    fn recent_list_never_exceeds_capacity(clients in proptest::collection::vec(0u32..500, 1..400)) {
        let mut l = RecentList::new(100);
        for (i, c) in clients.iter().enumerate() {
            l.set(IpAddr::V4(Ipv4Addr::from(*c)), i as f64);
            prop_assert!(l.len() <= 100);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Determinism and robustness

fn all_algorithms() -> impl Strategy<Value = Algorithm> {
    prop::sample::select(Algorithm::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn same_seed_gives_same_picks_and_picks_are_usable(
        alg in all_algorithms(),
        weights in proptest::collection::vec(0u32..5, 0..12),
        v6 in proptest::collection::vec(any::<bool>(), 1..3),
        seed: u64,
        affinity in proptest::option::of(1u32..100),
    ) {
        let b = arb_backends(weights, v6, seed);
        let opts = Options { seed, affinity_timeout: affinity, maglev_table_size: 251, mh_table_size: 251, ..Options::default() };
        let mut x = Balancer::new(alg, &b, &opts).unwrap();
        let mut y = Balancer::new(alg, &b, &opts).unwrap();
        let mut rng = Rng::new(seed);
        for i in 0..100 {
            let mut c = synthetic_connection(&mut rng, i);
            c.client = IpAddr::V4(Ipv4Addr::new(192, 0, 2, (i % 7) as u8));
            let p = x.pick(&c);
            prop_assert_eq!(p, y.pick(&c));
            if let Some(p) = p {
                prop_assert!(p < b.len());
                if alg.has_weights() {
                    prop_assert!(b[p].weight > 0, "{} picked a drained backend", alg);
                }
            } else if !alg.has_weights() {
                prop_assert!(b.is_empty());
            }
        }
    }
}

#[test]
fn different_seeds_give_different_cascade_sequences() {
    let b = backends(10, 1);
    let c = Connection::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), 1, 0.0);
    let run = |seed| {
        let mut x = Balancer::new(
            Algorithm::Iptables,
            &b,
            &Options {
                seed,
                ..Options::default()
            },
        )
        .unwrap();
        (0..64).map(|_| x.pick(&c).unwrap()).collect::<Vec<_>>()
    };
    assert_eq!(run(1), run(1));
    assert_ne!(run(1), run(2));
}

#[test]
fn nftables_affinity_entries_live_while_younger_than_the_timeout() {
    // An affinity set element expires when its timeout has run out (`now − last ≥ timeout`),
    // unlike a `recent` list entry, which still matches at exactly `timeout`.
    let b = backends(4, 1);
    let opts = Options {
        affinity_timeout: Some(10),
        seed: 3,
        ..Options::default()
    };
    let mut bal = Balancer::new(Algorithm::Nftables, &b, &opts).unwrap();
    let clients: Vec<IpAddr> = (0..200u8)
        .map(|i| IpAddr::V4(Ipv4Addr::new(192, 0, 2, i)))
        .collect();
    let first: Vec<usize> = clients
        .iter()
        .map(|&c| bal.pick(&Connection::new(c, 1, 0.0)).unwrap())
        .collect();
    // Just inside the timeout, every client comes back to its endpoint (and refreshes it).
    for (c, &e) in clients.iter().zip(&first) {
        assert_eq!(bal.pick(&Connection::new(*c, 2, 5.0)).unwrap(), e);
    }
    // Exactly one timeout after the refresh, the entries are gone: numgen draws again.
    let moved = clients
        .iter()
        .zip(&first)
        .filter(|(c, &e)| bal.pick(&Connection::new(**c, 3, 15.0)).unwrap() != e)
        .count();
    assert!(
        (100..200).contains(&moved),
        "{moved} of 200 clients re-drawn elsewhere"
    );
}
