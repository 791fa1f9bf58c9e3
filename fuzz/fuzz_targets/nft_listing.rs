//! `nft list` output reader (`parse_listing`) for both families: errors are fine, panics and
//! hangs are not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use svccore::render::nftables::{parse::parse_listing, Family};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = parse_listing(text, Some("fuzz"), Family::Ip);
    let _ = parse_listing(text, Some("fuzz"), Family::Ip6);
});
