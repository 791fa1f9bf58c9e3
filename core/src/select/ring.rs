//! Ketama / Envoy-style ring hash (spec: selection-and-hashing.md §7.1).
//!
//! * Each host with normalised weight `w` gets about `scale · w` points; `scale` is chosen so
//!   that the least-weighted host gets a whole number of points and the ring has at least
//!   `min_ring_size` points, clamped to `max_ring_size` (Envoy's construction).
//! * Point `i` of a host is the hash of the string `"<ip:port>_<i>"`. Envoy hashes with xxHash64;
//!   svccore uses SipHash-1-3 keyed from the seed (no xxHash dependency), so the positions differ
//!   from Envoy's but the construction is the same.
//! * Lookup: the first point whose hash is ≥ the key hash, wrapping to the first point (binary
//!   search). Ties between equal point hashes go to the host that sorts first by address.
//! * Weight 0 hosts get no points. The ring does not depend on the input order.

use std::fmt::Write as _;
use std::net::IpAddr;

use siphasher::sip::SipHasher13;

use super::maglev::Keys;
use super::{check_unique, splitmix64, Backend};
use crate::error::{Error, Result};

/// Envoy's default `minimum_ring_size`.
pub const DEFAULT_MIN_RING_SIZE: u64 = 1024;
/// Envoy's default (and hard) `maximum_ring_size`: 8M points.
pub const MAX_RING_SIZE: u64 = 8 * 1024 * 1024;

/// A built hash ring.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RingHash {
    /// Sorted point hashes.
    hashes: Box<[u64]>,
    /// Backend index of each point.
    owners: Box<[u32]>,
    keys: Keys,
    points_per_host: Vec<u32>,
    weights: Vec<u32>,
}

impl RingHash {
    /// Builds the ring with `min_ring_size` in `1..=MAX_RING_SIZE` (the default is
    /// [`DEFAULT_MIN_RING_SIZE`]). Lookups return positions in `backends`.
    pub fn new(backends: &[Backend], min_ring_size: u64, seed: u64) -> Result<Self> {
        if min_ring_size == 0 || min_ring_size > MAX_RING_SIZE {
            return Err(Error::InvalidArgument(format!(
                "minimum ring size {min_ring_size} is out of range 1..={MAX_RING_SIZE}"
            )));
        }
        check_unique(backends)?;
        let keys = Keys::from_seed(seed);
        let mut s = seed ^ 0x5249_4e47; // "RING": a point key distinct from the Maglev keys
        let point_key = (splitmix64(&mut s), splitmix64(&mut s));
        let hasher = SipHasher13::new_with_keys(point_key.0, point_key.1);

        let mut order: Vec<usize> = (0..backends.len())
            .filter(|&i| backends[i].weight > 0)
            .collect();
        order.sort_unstable_by_key(|&i| backends[i].addr);
        let total: f64 = order.iter().map(|&i| f64::from(backends[i].weight)).sum();
        let mut points: Vec<(u64, u32)> = Vec::new();
        let mut per_host = vec![0u32; backends.len()];
        if !order.is_empty() {
            let min_w = order
                .iter()
                .map(|&i| f64::from(backends[i].weight))
                .fold(f64::MAX, f64::min)
                / total;
            let scale = ((min_w * min_ring_size as f64).ceil() / min_w).min(MAX_RING_SIZE as f64);
            points.reserve(scale.ceil() as usize);
            let (mut current, mut target) = (0.0f64, 0.0f64);
            let mut name = String::new();
            for &i in &order {
                target += scale * f64::from(backends[i].weight) / total;
                let mut k = 0u64;
                while current < target {
                    name.clear();
                    write!(name, "{}_{k}", backends[i].addr).expect("write to String");
                    points.push((hasher.hash(name.as_bytes()), i as u32));
                    per_host[i] += 1;
                    k += 1;
                    current += 1.0;
                }
            }
        }
        // Ties: the host earlier in canonical (address) order first.
        let rank: Vec<u32> = {
            let mut r = vec![0u32; backends.len()];
            for (pos, &i) in order.iter().enumerate() {
                r[i] = pos as u32;
            }
            r
        };
        points.sort_unstable_by_key(|&(h, i)| (h, rank[i as usize]));
        Ok(RingHash {
            hashes: points.iter().map(|p| p.0).collect(),
            owners: points.iter().map(|p| p.1).collect(),
            keys,
            points_per_host: per_host,
            weights: backends.iter().map(|b| b.weight).collect(),
        })
    }

    /// The number of points on the ring.
    pub fn size(&self) -> usize {
        self.hashes.len()
    }

    /// Points per backend, indexed like the input slice.
    pub fn points_per_host(&self) -> &[u32] {
        &self.points_per_host
    }

    /// The fewest and most points of a backend with positive weight (`(0, 0)` if none).
    pub fn min_max_points(&self) -> (u32, u32) {
        let v: Vec<u32> = self
            .points_per_host
            .iter()
            .zip(&self.weights)
            .filter(|(_, &w)| w > 0)
            .map(|(&p, _)| p)
            .collect();
        (
            v.iter().copied().min().unwrap_or(0),
            v.iter().copied().max().unwrap_or(0),
        )
    }

    /// Looks up a precomputed 64-bit key hash: the first point ≥ `hash`, wrapping.
    #[inline]
    pub fn lookup(&self, hash: u64) -> Option<usize> {
        if self.hashes.is_empty() {
            return None;
        }
        let i = self.hashes.partition_point(|&h| h < hash);
        let i = if i == self.hashes.len() { 0 } else { i };
        Some(self.owners[i] as usize)
    }

    /// Hashes the client (and the port, if given) and looks it up.
    #[inline]
    pub fn pick(&self, client: IpAddr, port: Option<u16>) -> Option<usize> {
        self.lookup(self.keys.hash_client(client, port))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backends(ws: &[u32]) -> Vec<Backend> {
        ws.iter()
            .enumerate()
            .map(|(i, &w)| Backend::new(format!("10.0.0.{}:80", i + 1).parse().unwrap(), w))
            .collect()
    }

    #[test]
    fn ring_size_and_points_follow_weights() {
        let r = RingHash::new(&backends(&[1, 1, 1, 1]), DEFAULT_MIN_RING_SIZE, 0).unwrap();
        assert_eq!(r.size(), 1024);
        assert_eq!(r.min_max_points(), (256, 256));
        let r = RingHash::new(&backends(&[1, 3]), DEFAULT_MIN_RING_SIZE, 0).unwrap();
        // min normalised weight 1/4: scale = ceil(0.25·1024)/0.25 = 1024 → 256 + 768.
        assert_eq!(r.points_per_host(), &[256, 768]);
        let r = RingHash::new(&backends(&[0, 2]), 16, 0).unwrap();
        assert_eq!(r.points_per_host(), &[0, 16]);
        assert!(RingHash::new(&backends(&[1]), 0, 0).is_err());
    }

    #[test]
    fn lookup_takes_first_point_at_or_after_hash_and_wraps() {
        let r = RingHash::new(&backends(&[1, 1]), 8, 3).unwrap();
        for (i, &h) in r.hashes.iter().enumerate() {
            assert_eq!(r.lookup(h), Some(r.owners[i] as usize));
        }
        let last = *r.hashes.last().unwrap();
        if last < u64::MAX {
            assert_eq!(r.lookup(last + 1), Some(r.owners[0] as usize));
        }
        assert_eq!(r.lookup(0), Some(r.owners[0] as usize));
        assert!(RingHash::new(&backends(&[0]), 8, 0)
            .unwrap()
            .lookup(1)
            .is_none());
    }

    #[test]
    fn ring_is_order_independent() {
        let b = backends(&[1, 2, 3]);
        let mut rev = b.clone();
        rev.reverse();
        let x = RingHash::new(&b, 1024, 1).unwrap();
        let y = RingHash::new(&rev, 1024, 1).unwrap();
        for h in (0..1000u64).map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15)) {
            assert_eq!(b[x.lookup(h).unwrap()].addr, rev[y.lookup(h).unwrap()].addr);
        }
    }
}
