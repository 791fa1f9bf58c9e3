//! Loads and validates one manifest file as `svccore validate -f FILE` does, in the core alone:
//! `validate_file FILE [--generic]` (`--generic`: the generic reader alone, see
//! `Loader::generic_reader`). Prints the counts and the time; for `/usr/bin/time -v` (peak
//! memory) and profilers.

use std::time::Instant;

use svccore::validate::{validate, ValidateOptions};
use svccore_benches::status_bytes;

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: validate_file FILE [--generic]");
    let generic = std::env::args().nth(2).as_deref() == Some("--generic");
    let text = std::fs::read_to_string(&path).expect("readable UTF-8 file");
    let t = Instant::now();
    let mut l = svccore::Loader::new();
    l.generic_reader(generic);
    l.add_str(Some(&path), &text).expect("parses");
    let c = l.finish().expect("loads");
    let loaded = t.elapsed();
    let errors = validate(&c, &ValidateOptions::default());
    let all = t.elapsed();
    let hwm = status_bytes("VmHWM:").unwrap_or(0) / 1024;
    println!(
        "{} services, {} slices, {} warnings, {} errors; load {:.1} ms, load+validate {:.1} ms ({:.0} MB/s); peak RSS {:.0} MB, {:.2}x the input",
        c.services.len(),
        c.slices.len(),
        c.warnings.len(),
        errors.len(),
        loaded.as_secs_f64() * 1e3,
        all.as_secs_f64() * 1e3,
        text.len() as f64 / all.as_secs_f64() / 1e6,
        hwm as f64 / 1e3,
        hwm as f64 * 1e3 / text.len() as f64,
    );
}
