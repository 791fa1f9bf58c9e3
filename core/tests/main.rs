//! The core's integration tests, one module per subject, built as one test binary: a binary
//! per file would link its own copy of the crate and its dependencies, some 20 MB on disk and
//! a link each (`cargo test -p svccore --test integration select::` runs one subject).

mod conformance_common;
mod ipvs_common;
mod mutate_common;

mod bad_manifests;
mod categorize;
mod fuzz_loader;
mod input_trust;
mod iptables_audit;
mod iptables_conformance;
mod iptables_render;
mod iptables_trace;
mod ipvs_forms;
mod ipvs_listing;
mod ipvs_save;
mod ipvs_trace;
mod load;
mod maglev_pinned;
mod nftables_audit;
mod nftables_conformance;
mod nftables_flows;
mod nftables_list;
mod nftables_render;
mod node_dumps;
mod rule_injection;
mod select;
mod service_cidrs;
mod simulate;
mod skipped;
mod trace_cause;
mod trace_ipvs;
mod trace_many;
mod typed_reader;
mod userspace_render;
mod userspace_rr;
mod userspace_trace;
mod yaml_bounds;
