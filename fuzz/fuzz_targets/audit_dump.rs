//! `audit` on a pasted node dump of any shape (iptables-save, `iptables -S`, `iptables -L`,
//! `nft list`, `ipvsadm`): the shape detection, the readers and the older-kube-proxy signs
//! behind it. The cluster is fixed (an example); the dump is the fuzzer's.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use svccore::audit::{audit_with, ActualDump};
use svccore::render::iptables::ProxierSettings;
use svccore::Cluster;

fn cluster() -> &'static Cluster {
    static C: OnceLock<Cluster> = OnceLock::new();
    C.get_or_init(|| {
        let text = include_str!("../../examples/nginx-affinity.yaml");
        svccore::load::load_strs([(Some("nginx-affinity.yaml"), text)]).expect("example loads")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let s = ProxierSettings::default();
    let how = ActualDump {
        file: Some("fuzz"),
        table: None,
    };
    let _ = audit_with(cluster(), &s, text, how);
});
