//! Builds the benchmarks' input and renders it in the form named by the first argument, once or
//! as many times as the second argument says (a third argument names a file to write the text
//! to): for instruction counts (the callgrind count of
//! `render_once FORM` minus that of `render_once none` is the count of one render) and for
//! sampling profiles (`perf record -e cpu-clock`). It prints the minimum and median wall-clock
//! and on-CPU time of a render.
//!
//! ```sh
//! cargo build --release -p svccore-benches --example render_once
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/examples/render_once iptables-restore
//! ```
//!
//! Forms: `none`, `iptables-restore`, `iptables-save`, `nftables-load`, `nftables-dump`,
//! `nftables-list`, `ipvs-list`, `ipvs-save` (the IPVS forms print a node built beforehand).

use std::hint::black_box;
use std::time::Instant;

use svccore::render::{iptables, ipvs, nftables};
use svccore_benches::{min_median, on_cpu_ns, render_input};

fn main() {
    let form = std::env::args().nth(1).unwrap_or_else(|| "none".into());
    let times: usize = std::env::args()
        .nth(2)
        .map_or(1, |n| n.parse().expect("a repetition count"));
    let (snap, settings, node) = render_input();
    let ipt = |f| iptables::render_snapshot(&snap, &settings, &node, f).unwrap();
    let nft = |f| {
        nftables::table_for_snapshot(&snap, &settings, &node)
            .unwrap()
            .into_text(f)
    };
    // The IPVS forms print a node built once, outside the timings (as benches/render_ipvs.rs).
    let ipvs_node = form
        .starts_with("ipvs-")
        .then(|| ipvs::IpvsNode::build(&snap, &settings, None).unwrap());
    let ipvs_node = || ipvs_node.as_ref().expect("an IPVS node");
    let render = || match form.as_str() {
        "none" => String::new(),
        "iptables-restore" => ipt(iptables::Form::Restore),
        "iptables-save" => ipt(iptables::Form::Save),
        "nftables-load" => nft(nftables::Form::Load),
        "nftables-dump" => nft(nftables::Form::Dump),
        "nftables-list" => nft(nftables::Form::List),
        "ipvs-list" => ipvs_node().list(None),
        "ipvs-save" => ipvs_node().save(),
        other => {
            eprintln!("unknown form {other:?}");
            std::process::exit(2);
        }
    };
    // An optional third argument: a file to write the text to.
    if let Some(path) = std::env::args().nth(3) {
        std::fs::write(&path, render()).expect("writable output file");
    }
    let mut len = 0;
    let mut took = Vec::with_capacity(times);
    let mut on_cpu = Vec::with_capacity(times);
    for _ in 0..times {
        let (start, cpu) = (Instant::now(), on_cpu_ns());
        len = black_box(render()).len();
        took.push(start.elapsed().as_secs_f64() * 1e3);
        on_cpu.push((on_cpu_ns() - cpu) as f64 / 1e6);
    }
    let (wall_min, wall_median) = min_median(&mut took);
    let (cpu_min, cpu_median) = min_median(&mut on_cpu);
    eprintln!(
        "{form}: {len} bytes; {times} renders, wall min {wall_min:.1} ms median \
         {wall_median:.1} ms; on-CPU min {cpu_min:.1} ms median {cpu_median:.1} ms"
    );
}
