//! ipvsadm's listing order: libipvs's comparators run by glibc's `qsort` (a top-down merge sort).
//! spec: ipvs.md §5.
//!
//! The address step subtracts host-order 32-bit words in unsigned arithmetic and reads the
//! result as signed, so addresses 2^31 or more apart compare "backwards" (`10.96.0.1` sorts
//! after `192.168.49.2`). That comparator is not a total order in general, so the result depends
//! on the algorithm and the input order; svccore runs glibc's merge sort on the creation order.

use std::cmp::Ordering;
use std::net::IpAddr;

use crate::model::Protocol;

/// The protocol number ipvsadm compares (TCP 6, UDP 17, SCTP 132).
pub fn proto_number(p: &Protocol) -> i32 {
    match p {
        Protocol::Tcp => 6,
        Protocol::Udp => 17,
        Protocol::Sctp => 132,
        Protocol::Other(_) => 0,
    }
}

fn af(ip: &IpAddr) -> i32 {
    match ip {
        IpAddr::V4(_) => 2,
        IpAddr::V6(_) => 10,
    }
}

/// libipvs's address step: `ntohl(a) - ntohl(b)` wrapped to i32, per 32-bit word for IPv6.
pub fn addr_diff(a: &IpAddr, b: &IpAddr) -> i32 {
    match (a, b) {
        (IpAddr::V4(x), IpAddr::V4(y)) => u32::from(*x).wrapping_sub(u32::from(*y)) as i32,
        (IpAddr::V6(x), IpAddr::V6(y)) => {
            let (x, y) = (x.octets(), y.octets());
            for w in 0..4 {
                let xa = u32::from_be_bytes([x[4 * w], x[4 * w + 1], x[4 * w + 2], x[4 * w + 3]]);
                let ya = u32::from_be_bytes([y[4 * w], y[4 * w + 1], y[4 * w + 2], y[4 * w + 3]]);
                let r = xa.wrapping_sub(ya) as i32;
                if r != 0 {
                    return r;
                }
            }
            0
        }
        // Mixed families never reach here for services (af is compared first).
        _ => af(a) - af(b),
    }
}

/// `ipvs_cmp_services` for address services (fwmark 0): af, protocol, address (with the wrap),
/// port. Returns the C int sign convention.
pub fn cmp_services(
    (pa, aa, porta): (&Protocol, &IpAddr, u16),
    (pb, ab, portb): (&Protocol, &IpAddr, u16),
) -> i32 {
    let r = af(aa) - af(ab);
    if r != 0 {
        return r;
    }
    let r = proto_number(pa) - proto_number(pb);
    if r != 0 {
        return r;
    }
    let r = addr_diff(aa, ab);
    if r != 0 {
        return r;
    }
    i32::from(porta) - i32::from(portb)
}

/// `ipvs_cmp_dests`: address (with the wrap), then port.
pub fn cmp_dests((aa, porta): (&IpAddr, u16), (ab, portb): (&IpAddr, u16)) -> i32 {
    let r = addr_diff(aa, ab);
    if r != 0 {
        return r;
    }
    i32::from(porta) - i32::from(portb)
}

/// glibc's `msort_with_tmp`: split at `n/2`, sort both halves, merge taking from the left while
/// `cmp(left, right) <= 0`. Stable; with an inconsistent comparator its result is exactly what
/// glibc's `qsort` gives for the same input order.
pub fn glibc_msort<T: Copy>(v: &mut [T], cmp: &mut impl FnMut(&T, &T) -> i32) {
    if v.len() <= 1 {
        return;
    }
    let mut tmp: Vec<T> = Vec::with_capacity(v.len());
    msort_rec(v, &mut tmp, cmp);
}

fn msort_rec<T: Copy>(v: &mut [T], tmp: &mut Vec<T>, cmp: &mut impl FnMut(&T, &T) -> i32) {
    let n = v.len();
    if n <= 1 {
        return;
    }
    let n1 = n / 2;
    {
        let (left, right) = v.split_at_mut(n1);
        msort_rec(left, tmp, cmp);
        msort_rec(right, tmp, cmp);
    }
    tmp.clear();
    let (mut i, mut j) = (0, n1);
    while i < n1 && j < n {
        if cmp(&v[i], &v[j]) <= 0 {
            tmp.push(v[i]);
            i += 1;
        } else {
            tmp.push(v[j]);
            j += 1;
        }
    }
    // glibc copies the rest of the left run; the right run's rest is already in place.
    tmp.extend_from_slice(&v[i..n1]);
    v[..tmp.len()].copy_from_slice(tmp);
}

/// Converts a C comparator result to an [`Ordering`].
pub fn ordering(c: i32) -> Ordering {
    c.cmp(&0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn sorted(input: &[&str]) -> Vec<String> {
        let mut v: Vec<IpAddr> = input.iter().map(|s| ip(s)).collect();
        glibc_msort(&mut v, &mut |a, b| {
            cmp_services((&Protocol::Tcp, a, 80), (&Protocol::Tcp, b, 80))
        });
        v.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn ten_slash_eight_compares_greater_than_192_168() {
        assert!(addr_diff(&ip("10.96.0.1"), &ip("192.168.49.2")) > 0);
        assert!(addr_diff(&ip("10.96.0.1"), &ip("10.96.0.10")) < 0);
    }

    #[test]
    fn one_arc_sorts_the_same_from_any_input_order() {
        let want = ["172.17.0.1", "192.168.49.2", "10.96.0.1", "10.96.0.10"];
        let input = ["10.96.0.1", "192.168.49.2", "10.96.0.10", "172.17.0.1"];
        // every rotation and the reverse
        for k in 0..4 {
            let mut rot: Vec<&str> = input[k..].to_vec();
            rot.extend_from_slice(&input[..k]);
            assert_eq!(sorted(&rot), want);
            rot.reverse();
            assert_eq!(sorted(&rot), want);
        }
    }

    #[test]
    fn spread_addresses_depend_on_input_order() {
        let a = sorted(&["10.96.0.1", "100.64.0.1", "192.168.49.2"]);
        let b = sorted(&["192.168.49.2", "10.96.0.1", "100.64.0.1"]);
        let c = sorted(&["100.64.0.1", "192.168.49.2", "10.96.0.1"]);
        // The comparator is cyclic here: 10 < 100.64 < 192.168 < 10.
        assert_ne!(a, b);
        let all = [a, b, c];
        assert!(all.iter().any(|x| x[0] == "10.96.0.1"));
        assert!(all.iter().any(|x| x[0] == "100.64.0.1"));
        assert!(all.iter().any(|x| x[0] == "192.168.49.2"));
    }

    #[test]
    fn services_order_by_af_then_protocol_then_address_then_port() {
        let v6 = ip("fd00::1");
        let v4 = ip("10.0.0.1");
        assert!(cmp_services((&Protocol::Sctp, &v4, 1), (&Protocol::Tcp, &v6, 1)) < 0);
        assert!(cmp_services((&Protocol::Udp, &v4, 1), (&Protocol::Tcp, &v4, 9)) > 0);
        assert!(cmp_services((&Protocol::Tcp, &v4, 53), (&Protocol::Tcp, &v4, 9153)) < 0);
        // IPv6 words wrap too.
        assert!(addr_diff(&ip("fd00::1"), &ip("2001:db8::1")) < 0);
    }
}
