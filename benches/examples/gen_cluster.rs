//! Writes a generated cluster (see `svccore_benches::manifests`) to standard output:
//! `gen_cluster SERVICES ENDPOINTS [json|yaml]`.

use std::io::Write;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n = |i: usize, d: usize| args.get(i).map_or(d, |a| a.parse().expect("a number"));
    let (services, endpoints) = (n(1, 10_000), n(2, 10));
    let text = match args.get(3).map(String::as_str) {
        Some("yaml") => svccore_benches::manifests::list_yaml(services, endpoints),
        _ => svccore_benches::manifests::list_json(services, endpoints),
    };
    std::io::stdout()
        .write_all(text.as_bytes())
        .expect("stdout");
}
