//! Where `svccore validate`'s memory goes, in the core alone: `load_memory FILE` loads and
//! validates one manifest file as `validate_file` does and prints the heap bytes live at each
//! step, counted by a global allocator around the system one (bytes asked for, without the
//! allocator's own overhead), as multiples of the input's size:
//!
//! - the cluster once loaded (the model), and the most live while loading beyond the text;
//! - the most `validate` adds on top of the model (the text dropped first, as the command has
//!   no use for it then), and the most `Summary::of` adds (the line the command prints);
//! - the most the proxier's snapshot of the first Node (IPv4) holds, and the most a streamed
//!   render of that node's iptables restore payload holds (the pieces dropped as written);
//! - the sizes of the model's and the snapshot's main types.
//!
//! Process peak RSS (`/usr/bin/time -f %M`, or `validate_file`'s `VmHWM`) adds the text, the
//! allocator's overhead and the binary.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use svccore::model::{Endpoint, EndpointSlice, IpFamily, Service};
use svccore::proxier::config::ProxierSettings;
use svccore::render::iptables::{render_to, Form};
use svccore::snapshot::{EndpointInfo, ProxySnapshot, ServicePortView};
use svccore::validate::{validate, ValidateOptions};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let now = LIVE.fetch_add(by, Relaxed) + by;
    PEAK.fetch_max(now, Relaxed);
}

#[allow(unsafe_code)]
// SAFETY: every call is forwarded unchanged to the system allocator; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Relaxed);
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_sub(layout.size(), Relaxed);
        grew(new_size);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` and returns its value and the most heap it had live beyond what was live before.
fn peak_of<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = LIVE.load(Relaxed);
    PEAK.store(before, Relaxed);
    let v = f();
    (v, PEAK.load(Relaxed) - before)
}

fn main() {
    let path = std::env::args().nth(1).expect("usage: load_memory FILE");
    let text = std::fs::read_to_string(&path).expect("readable UTF-8 file");
    let n = text.len() as f64;
    let x = |bytes: usize| format!("{:.1} MB = {:.2}x", bytes as f64 / 1e6, bytes as f64 / n);
    println!("input {:.1} MB", n / 1e6);

    let before = LIVE.load(Relaxed);
    let (cluster, load_peak) = peak_of(|| {
        let mut l = svccore::Loader::new();
        l.add_str(Some(&path), &text).expect("parses");
        l.finish().expect("loads")
    });
    let model = LIVE.load(Relaxed) - before;
    println!("model (live after loading): {}", x(model));
    println!("most live while loading:    {}", x(load_peak));
    drop(text);

    let (errors, validate_peak) = peak_of(|| validate(&cluster, &ValidateOptions::default()));
    println!(
        "validate, beyond the model: {} ({} errors)",
        x(validate_peak),
        errors.len()
    );
    let (summary, summary_peak) = peak_of(|| svccore::report::Summary::of(&cluster));
    println!("Summary::of, beyond it:     {}", x(summary_peak));
    println!("{summary}");
    if let Some(node) = cluster.nodes.first() {
        let (snapshot, snapshot_peak) = peak_of(|| ProxySnapshot::build(&cluster, IpFamily::IPv4));
        let ports = snapshot.map_or(0, |s| s.ports.len());
        println!(
            "snapshot, beyond the model:  {} ({ports} service ports)",
            x(snapshot_peak)
        );
        let settings = ProxierSettings::new(IpFamily::IPv4, &node.meta.name);
        let mut written = 0;
        let (rendered, render_peak) = peak_of(|| {
            render_to(&cluster, &settings, Form::Restore, &mut |piece| {
                written += piece.len()
            })
        });
        let rendered = rendered.map_or_else(|e| format!("failed: {e}"), |_| "rendered".into());
        println!(
            "render iptables (streamed), beyond the model: {} ({rendered}, {:.1} MB of rules for {})",
            x(render_peak),
            written as f64 / 1e6,
            node.meta.name
        );
    }
    println!(
        "size_of: Service {} B, EndpointSlice {} B, Endpoint {} B; ServicePortView {} B, EndpointInfo {} B",
        size_of::<Service>(),
        size_of::<EndpointSlice>(),
        size_of::<Endpoint>(),
        size_of::<ServicePortView>(),
        size_of::<EndpointInfo>()
    );
}
