//! The pick paths never allocate (selection-and-hashing.md §11: "no allocation on any pick
//! path"). A counting global allocator wraps the system one; after a warm-up that creates each
//! engine's state, a million picks must not allocate once.
//!
//! This lives in the benches crate, not the core: the core forbids `unsafe`, and a global
//! allocator needs it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::net::{IpAddr, Ipv4Addr};

use svccore::select::{Algorithm, Backend, Balancer, Connection, Options};

struct Counting;

thread_local! {
    /// Allocations made by this thread: the harness's other threads (other tests, its
    /// reporting) do not count. Const-initialised, so reading it never allocates.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count() {
    // `try_with`: during thread teardown the slot may be gone; those allocations are not ours.
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

/// The allocations this thread has made so far.
fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

#[allow(unsafe_code)]
// SAFETY: every call is forwarded unchanged to the system allocator; only a counter is added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn backends(n: u32) -> Vec<Backend> {
    (0..n)
        .map(|i| {
            Backend::new(
                format!("10.244.{}.{}:80", i / 200, i % 200 + 1)
                    .parse()
                    .unwrap(),
                1 + i % 3,
            )
        })
        .collect()
}

/// Clients reused across the run, so affinity state is created during the warm-up only.
fn conn(i: u32, now: f64) -> Connection {
    Connection::new(
        IpAddr::V4(Ipv4Addr::from(0xC612_0000 + (i % 256))),
        (i % 60000) as u16,
        now,
    )
}

#[test]
fn picks_do_not_allocate() {
    for alg in Algorithm::ALL {
        for affinity in [None, Some(10800)] {
            let opts = Options {
                affinity_timeout: affinity,
                maglev_table_size: 4099,
                ..Options::default()
            };
            let mut b = Balancer::new(alg, &backends(10), &opts).unwrap();
            for i in 0..2048 {
                b.pick(&conn(i, 0.0));
            }
            let before = allocations();
            let mut sink = 0usize;
            for i in 0..1_000_000u32 {
                sink = sink.wrapping_add(b.pick(&conn(i, 1.0)).unwrap_or(0));
            }
            let after = allocations();
            assert_eq!(
                after - before,
                0,
                "{alg} (affinity {affinity:?}) allocated {} times (sink {sink})",
                after - before
            );
        }
    }
}

/// A clone keeps the affinity stores' preallocated capacity: the clone's picks for clients the
/// original never saw do not allocate either (IPVS persistence templates and the userspace
/// proxy's affinity table are left out: they grow with the number of clients by design).
#[test]
fn picks_on_a_clone_do_not_allocate() {
    for alg in [Algorithm::Iptables, Algorithm::Maglev, Algorithm::RingHash] {
        let opts = Options {
            affinity_timeout: Some(10800),
            maglev_table_size: 4099,
            ..Options::default()
        };
        let mut b = Balancer::new(alg, &backends(10), &opts).unwrap();
        for i in 0..64 {
            b.pick(&conn(i, 0.0));
        }
        let mut c = b.clone();
        let fresh =
            |i: u32| Connection::new(IpAddr::V4(Ipv4Addr::from(0xC613_0000 + (i % 512))), 1, 1.0);
        let before = allocations();
        let mut sink = 0usize;
        for i in 0..100_000u32 {
            sink = sink.wrapping_add(c.pick(&fresh(i)).unwrap_or(0));
        }
        let after = allocations();
        assert_eq!(
            after - before,
            0,
            "{alg}: the clone allocated {} times (sink {sink})",
            after - before
        );
    }
}
