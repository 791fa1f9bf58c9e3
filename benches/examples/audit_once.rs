//! Audits the benchmarks' node (`render_input()`) against its own `iptables-save` text, once or
//! as many times as the first argument says, and prints the wall-clock and on-CPU time of an
//! audit and the process's peak RSS growth during the audits: for sampling profiles
//! (`perf record -e cpu-clock`) and instruction counts (callgrind).
//!
//! ```sh
//! cargo build --release -p svccore-benches --example audit_once
//! target/release/examples/audit_once 3
//! target/release/examples/audit_once 3 drift   # a few rules deleted, added and changed
//! target/release/examples/audit_once 3 nftables  # nftables mode against the `nft list` text
//! ```

use std::hint::black_box;
use std::time::Instant;

use svccore::audit::{self, audit_snapshot, render_text};
use svccore::render::iptables::{render_snapshot, Form};
use svccore::render::nftables;
use svccore_benches::{drifted_save, min_median, on_cpu_ns, peak_rss_growth, render_input};

fn main() {
    let times: usize = std::env::args()
        .nth(1)
        .map_or(1, |n| n.parse().expect("a repetition count"));
    let how = std::env::args().nth(2).unwrap_or_default();
    let (drift, nft) = (how == "drift", how == "nftables");
    let (snap, settings, node) = render_input();
    let actual = if nft {
        nftables::table_for_snapshot(&snap, &settings, &node)
            .unwrap()
            .into_text(nftables::Form::List)
    } else {
        let save = render_snapshot(&snap, &settings, &node, Form::Save).unwrap();
        if drift {
            drifted_save(&save)
        } else {
            save
        }
    };
    let mut took = Vec::with_capacity(times);
    let mut on_cpu = Vec::with_capacity(times);
    let (report, growth) = peak_rss_growth(|| {
        let mut report = None;
        for _ in 0..times {
            let (start, cpu) = (Instant::now(), on_cpu_ns());
            report = Some(black_box(if nft {
                audit::nftables::audit_snapshot(&snap, &settings, &node, &actual, None).unwrap()
            } else {
                audit_snapshot(&snap, &settings, &node, &actual).unwrap()
            }));
            took.push(start.elapsed().as_secs_f64() * 1e3);
            on_cpu.push((on_cpu_ns() - cpu) as f64 / 1e6);
        }
        report
    });
    let r = report.expect("one audit at least");
    let text = render_text(&r);
    if drift {
        eprint!("{text}");
    } else {
        eprintln!("{}", text.lines().next().unwrap_or(""));
    }
    let (wall_min, wall_median) = min_median(&mut took);
    let (cpu_min, cpu_median) = min_median(&mut on_cpu);
    eprintln!(
        "dump {:.1} MB; {times} audits, wall min {wall_min:.1} ms median {wall_median:.1} ms; \
         on-CPU min {cpu_min:.1} ms median {cpu_median:.1} ms",
        actual.len() as f64 / 1e6
    );
    if let Some(grow) = growth {
        eprintln!(
            "peak RSS growth during the audits {:.1} MB = {:.2}x the dump",
            grow as f64 / 1e6,
            grow as f64 / actual.len() as f64
        );
    }
}
