//! Numbers and addresses written as text without the formatting machinery: the renderers write
//! a port, an address or an index for almost every rule and element, the snapshot an endpoint's
//! `ip:port` for every endpoint, and `core::fmt` costs more than the bytes it writes.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

/// Writes `n` in decimal at the end of `buf`, returning where its digits start. (Division by
/// the constant 10 compiles to a multiplication, as cheap on 64 bits as on 32.)
fn digits(buf: &mut [u8], mut n: u64) -> usize {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return i;
        }
    }
}

/// Appends `n` in decimal, as `Display` writes it. Digits go in as `char`s: a string built
/// from a digit buffer would be validated as UTF-8 on every call.
pub(crate) fn push_u32(out: &mut String, n: u32) {
    push_u64(out, u64::from(n));
}

fn push_u64(out: &mut String, n: u64) {
    let mut d = [0u8; 20];
    let i = digits(&mut d, n);
    for &b in &d[i..] {
        out.push(char::from(b));
    }
}

/// Appends `n` in decimal, with a `-` when negative (see [`push_u32`]).
pub(crate) fn push_i64(out: &mut String, n: i64) {
    if n < 0 {
        out.push('-');
    }
    push_u64(out, n.unsigned_abs());
}

/// Appends a socket address as `Display` prints it (`ip:port`, `[ip]:port`; kube-proxy's
/// addresses carry no IPv6 scope or flow label).
pub(crate) fn push_socket_addr(out: &mut String, a: &SocketAddr) {
    match a {
        SocketAddr::V4(a) => {
            push_ip(out, &IpAddr::V4(*a.ip()));
            out.push(':');
            push_u32(out, u32::from(a.port()));
        }
        SocketAddr::V6(_) => {
            let _ = write!(out, "{a}");
        }
    }
}

/// Appends an octet in decimal (see [`push_u32`]).
fn push_u8(out: &mut String, o: u8) {
    if o >= 100 {
        out.push(char::from(b'0' + o / 100));
    }
    if o >= 10 {
        out.push(char::from(b'0' + o / 10 % 10));
    }
    out.push(char::from(b'0' + o % 10));
}

/// Appends an address as Go prints it (dotted quad; IPv6 in RFC 5952 form, which Rust's
/// `Display` also produces).
pub(crate) fn push_ip(out: &mut String, ip: &IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            push_u8(out, a);
            out.push('.');
            push_u8(out, b);
            out.push('.');
            push_u8(out, c);
            out.push('.');
            push_u8(out, d);
        }
        IpAddr::V6(_) => {
            let _ = write!(out, "{ip}");
        }
    }
}

/// A short text on the stack: a number or an address, for the places that need it as a `&str`
/// (a rule's words) without allocating a `String` for it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Word {
    // The longest address text, `ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255`, is 45 bytes;
    // with brackets and a port ([`Word::host_port`]), 53.
    buf: [u8; 54],
    len: u8,
}

impl Word {
    /// `n` in decimal.
    pub(crate) fn num(n: u32) -> Word {
        let mut w = Word::empty();
        w.push_num(n);
        w
    }

    /// An address as Go and `Display` print it.
    pub(crate) fn ip(ip: &IpAddr) -> Word {
        let mut w = Word::empty();
        w.push_ip(ip);
        w
    }

    /// Go's `net.JoinHostPort` of an address and a port: `ip:port`, `[ip]:port` for IPv6.
    pub(crate) fn host_port(ip: &IpAddr, port: u16) -> Word {
        let mut w = Word::empty();
        if ip.is_ipv6() {
            w.push_byte(b'[');
            w.push_ip(ip);
            w.push_byte(b']');
        } else {
            w.push_ip(ip);
        }
        w.push_byte(b':');
        w.push_num(u32::from(port));
        w
    }

    // The pushes below write digits and separators straight into the buffer: a snapshot
    // writes an `ip:port` for every endpoint.

    fn push_ip(&mut self, ip: &IpAddr) {
        match ip {
            IpAddr::V4(v4) => {
                for (k, o) in v4.octets().into_iter().enumerate() {
                    if k > 0 {
                        self.push_byte(b'.');
                    }
                    self.push_num(u32::from(o));
                }
            }
            IpAddr::V6(_) => {
                // Never fails: an IPv6 address is at most 45 bytes of text.
                let _ = write!(self, "{ip}");
            }
        }
    }

    fn push_num(&mut self, n: u32) {
        let mut d = [0u8; 10];
        let i = digits(&mut d, u64::from(n));
        self.push(&d[i..]);
    }

    fn push_byte(&mut self, b: u8) {
        self.buf[usize::from(self.len)] = b;
        self.len += 1;
    }

    fn empty() -> Word {
        Word {
            buf: [0; 54],
            len: 0,
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        let at = usize::from(self.len);
        self.buf[at..at + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len() as u8;
    }

    /// The text.
    pub(crate) fn as_str(&self) -> &str {
        // Only ASCII digits, dots, colons and hex letters are ever written.
        std::str::from_utf8(&self.buf[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl std::fmt::Write for Word {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        if usize::from(self.len) + s.len() > self.buf.len() {
            return Err(std::fmt::Error);
        }
        self.push(s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_addresses_print_as_display_does() {
        for n in [0u32, 7, 10, 99, 100, 65535, u32::MAX] {
            let mut s = String::new();
            push_u32(&mut s, n);
            assert_eq!(s, n.to_string());
            assert_eq!(Word::num(n).as_str(), n.to_string());
        }
        for ip in [
            "0.0.0.0",
            "10.180.0.1",
            "255.255.255.255",
            "fd00::1",
            "::ffff:1.2.3.4",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "2001:db8:1::2",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            let mut s = String::new();
            push_ip(&mut s, &ip);
            assert_eq!(s, ip.to_string());
            assert_eq!(Word::ip(&ip).as_str(), ip.to_string());
        }
        for n in [0i64, 9, -1, -42, 1_000_000, i64::MIN, i64::MAX] {
            let mut s = String::new();
            push_i64(&mut s, n);
            assert_eq!(s, n.to_string());
        }
        for a in ["10.0.0.1:80", "255.255.255.255:65535", "[fd00::1]:53"] {
            let a: SocketAddr = a.parse().unwrap();
            let mut s = String::new();
            push_socket_addr(&mut s, &a);
            assert_eq!(s, a.to_string());
            assert_eq!(Word::host_port(&a.ip(), a.port()).as_str(), a.to_string());
        }
        let longest: SocketAddr = "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:65535"
            .parse()
            .unwrap();
        let w = Word::host_port(&longest.ip(), longest.port());
        assert_eq!(w.as_str(), longest.to_string());
    }
}
