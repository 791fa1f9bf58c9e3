//! Backend selection benchmarks (targets: spec selection-and-hashing.md §11; results and the
//! command in `benches/README.md`).
//!
//! Every input (backend lists, tables, connections, hashes) is built outside the timed closures.
//! Lookups cycle through 1024 precomputed keys so that they touch the whole table rather than
//! one cache line.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use svccore::select::ipvs::{self, mh_hash, Scheduler, MH_HASH1_KEY};
use svccore::select::maglev::Maglev;
use svccore::select::measure::synthetic_connection;
use svccore::select::{Algorithm, Backend, Balancer, Connection, Flags, Options, Rng};

const KEYS: usize = 1024;

/// Consumes a pick. The closures return `()` and sink the result here: handing an
/// `Option<usize>` back to criterion makes it copy the value through the stack with a 16-byte
/// load over two 8-byte stores, a store-forwarding stall of ~10 ns that is the harness's, not
/// the pick's. Inputs are likewise read through `black_box(&x)`, not copied by value.
#[inline(always)]
fn sink(pick: Option<usize>) {
    black_box(pick);
}

fn backends(n: usize) -> Vec<Backend> {
    (0..n)
        .map(|i| {
            let ip = Ipv4Addr::new(10, 244, (i / 250) as u8, (i % 250) as u8 + 1);
            Backend::new(SocketAddr::new(IpAddr::V4(ip), 8080), 1)
        })
        .collect()
}

fn connections() -> Vec<Connection> {
    let mut rng = Rng::new(7);
    (0..KEYS)
        .map(|i| synthetic_connection(&mut rng, i))
        .collect()
}

fn picks(c: &mut Criterion) {
    let conns = connections();
    let mut g = c.benchmark_group("pick");
    g.throughput(Throughput::Elements(1));

    let mut weighted = backends(10);
    for (i, b) in weighted.iter_mut().enumerate() {
        b.weight = i as u32 + 1;
    }
    for (name, alg, list) in [
        ("rr/10", Algorithm::Rr, backends(10)),
        ("wrr/10", Algorithm::Wrr, weighted.clone()),
        ("iptables-cascade/10", Algorithm::Iptables, backends(10)),
        ("lc/10", Algorithm::Lc, backends(10)),
    ] {
        let mut b = Balancer::new(alg, &list, &Options::default()).unwrap();
        let mut i = 0usize;
        g.bench_function(name, |bench| {
            bench.iter(|| {
                i = (i + 1) & (KEYS - 1);
                sink(b.pick(black_box(&conns[i])));
            })
        });
    }
    // The same without the Balancer layer (affinity check, engine dispatch, index mapping).
    for (name, sched, list) in [
        ("scheduler-only/rr/10", Scheduler::Rr, backends(10)),
        ("scheduler-only/wrr/10", Scheduler::Wrr, weighted),
    ] {
        let mut svc = ipvs::Service::new(sched, Flags::NONE, ipvs::MH_DEFAULT_TABLE_SIZE).unwrap();
        for b in &list {
            svc.add_dest(b.addr, b.weight).unwrap();
        }
        svc.precompute();
        let mut i = 0usize;
        g.bench_function(name, |bench| {
            bench.iter(|| {
                i = (i + 1) & (KEYS - 1);
                sink(svc.schedule(*black_box(&conns[i].client), 0, None));
            })
        });
    }
    let cascade = svccore::select::cascade::Cascade::new(10);
    let mut rng = Rng::new(3);
    g.bench_function("scheduler-only/iptables-cascade/10", |bench| {
        bench.iter(|| sink(cascade.pick(&mut rng)))
    });
    g.finish();
}

fn hash_lookups(c: &mut Criterion) {
    let conns = connections();
    let mut rng = Rng::new(11);
    let hashes64: Vec<u64> = (0..KEYS).map(|_| rng.next_u64()).collect();
    let hashes32: Vec<u32> = hashes64.iter().map(|&h| h as u32).collect();
    let clients: Vec<IpAddr> = conns.iter().map(|c| c.client).collect();

    let mut g = c.benchmark_group("lookup");
    g.throughput(Throughput::Elements(1));

    // The loop itself (index step, load of the key, black_box): subtract it to read the others.
    let mut i = 0usize;
    g.bench_function("baseline/loop-only", |bench| {
        bench.iter(|| {
            i = (i + 1) & (KEYS - 1);
            black_box(*black_box(&hashes64[i]));
        })
    });

    // IPVS mh, default M = 4093, 100 dests.
    let mut mh =
        ipvs::Service::new(Scheduler::Mh, Flags::NONE, ipvs::MH_DEFAULT_TABLE_SIZE).unwrap();
    for b in backends(100) {
        mh.add_dest(b.addr, 1).unwrap();
    }
    g.bench_function("mh/from-hash", |bench| {
        bench.iter(|| {
            i = (i + 1) & (KEYS - 1);
            sink(mh.mh_lookup_hash(*black_box(&hashes32[i])));
        })
    });
    g.bench_function("mh/hsiphash-only", |bench| {
        bench.iter(|| {
            i = (i + 1) & (KEYS - 1);
            black_box(mh_hash(MH_HASH1_KEY, *black_box(&clients[i]), 0, 0));
        })
    });
    g.bench_function("mh/with-hashing", |bench| {
        bench.iter(|| {
            i = (i + 1) & (KEYS - 1);
            sink(mh.schedule(*black_box(&clients[i]), 0, None));
        })
    });

    // Generic Maglev, M = 65537, 100 backends.
    let mg = Maglev::new(&backends(100), 65537, 1).unwrap();
    g.bench_function("maglev/from-hash", |bench| {
        bench.iter(|| {
            i = (i + 1) & (KEYS - 1);
            sink(mg.lookup(*black_box(&hashes64[i])));
        })
    });
    g.bench_function("maglev/with-hashing", |bench| {
        bench.iter(|| {
            i = (i + 1) & (KEYS - 1);
            sink(mg.pick(*black_box(&clients[i]), None));
        })
    });
    g.finish();
}

fn affinity(c: &mut Criterion) {
    let mut g = c.benchmark_group("affinity-hit");
    g.throughput(Throughput::Elements(1));
    // 1024 clients already sticky; every measured pick is a hit (same time, well inside the
    // timeout).
    let conns: Vec<Connection> = connections()
        .into_iter()
        .map(|mut c| {
            c.now = 0.0;
            c
        })
        .collect();
    for (name, alg) in [
        ("iptables-recent/10", Algorithm::Iptables),
        ("ipvs-persistence/10", Algorithm::Rr),
        ("maglev-lru/10", Algorithm::Maglev),
    ] {
        let opts = Options {
            affinity_timeout: Some(10800),
            maglev_table_size: 4093,
            // 1024 clients over 10 endpoints would overflow 100-entry recent lists.
            recent_list_capacity: 2048,
            ..Options::default()
        };
        let mut b = Balancer::new(alg, &backends(10), &opts).unwrap();
        for c in &conns {
            b.pick(c);
        }
        let mut i = 0usize;
        g.bench_function(name, |bench| {
            bench.iter(|| {
                i = (i + 1) & (KEYS - 1);
                sink(b.pick(black_box(&conns[i])));
            })
        });
    }
    g.finish();
}

fn builds(c: &mut Criterion) {
    const M: u32 = 65537;
    let mut g = c.benchmark_group("maglev-build");
    g.sample_size(20);
    g.throughput(Throughput::Elements(u64::from(M)));
    let list = backends(1000);
    g.bench_function("svccore/M=65537/N=1000", |bench| {
        bench.iter(|| black_box(Maglev::new(black_box(&list), M, 0).unwrap()))
    });
    let nodes: Vec<SocketAddr> = list.iter().map(|b| b.addr).collect();
    g.bench_function("maglev-hash/M=65537/N=1000", |bench| {
        bench.iter_batched(
            || nodes.clone(),
            |n| black_box(maglev_hash::MaglevTable::with_capacity(n, M as usize)),
            BatchSize::SmallInput,
        )
    });
    let mut weighted = list.clone();
    for b in weighted.iter_mut().step_by(3) {
        b.weight = 3;
    }
    g.bench_function("svccore-weighted/M=65537/N=1000", |bench| {
        bench.iter(|| black_box(Maglev::new(black_box(&weighted), M, 0).unwrap()))
    });
    let one = backends(1);
    g.bench_function("svccore/M=65537/N=1", |bench| {
        bench.iter(|| black_box(Maglev::new(black_box(&one), M, 0).unwrap()))
    });
    g.finish();

    let mut g = c.benchmark_group("mh-build");
    g.throughput(Throughput::Elements(u64::from(ipvs::MH_DEFAULT_TABLE_SIZE)));
    let list: Vec<(SocketAddr, u32)> = backends(100).iter().map(|b| (b.addr, 1)).collect();
    g.bench_function("M=4093/N=100", |bench| {
        bench.iter(|| {
            black_box(
                ipvs::Service::with_dests(
                    Scheduler::Mh,
                    Flags::NONE,
                    ipvs::MH_DEFAULT_TABLE_SIZE,
                    &list,
                )
                .unwrap(),
            )
        })
    });
    g.finish();
}

criterion_group!(benches, picks, hash_lookups, affinity, builds);
criterion_main!(benches);
