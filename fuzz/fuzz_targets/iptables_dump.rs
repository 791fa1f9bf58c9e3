//! The iptables dump readers: `iptables-save` (`Dump::parse`), one table's `iptables -S`
//! (`Dump::parse_rules`) and the shape detector. Errors are fine; panics and hangs are not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use svccore::netfilter::{detect_form, Dump};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = detect_form(text);
    // The first byte picks the family (it changes REJECT's default) so both get covered.
    let ipv6 = data.first().is_some_and(|b| b & 1 == 1);
    let _ = Dump::parse(text, Some("fuzz"), ipv6);
    let _ = Dump::parse_rules(text, Some("fuzz"), ipv6, "nat");
    let _ = Dump::parse_rules(text, Some("fuzz"), ipv6, "filter");
});
