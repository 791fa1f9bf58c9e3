//! Quality measurements for any algorithm: share of picks per backend, balance, and disruption
//! when the backend set changes (spec: selection-and-hashing.md §6.7, §10 rule 4).
//!
//! Synthetic connections come from a seeded [`Rng`]: random IPv4 clients, random source ports,
//! and random destinations (so that `dh` sees more than one destination), at times `0, 1, 2, …`
//! seconds.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::maglev::Maglev;
use super::{Algorithm, Backend, Balancer, Connection, Options, Rng};
use crate::error::Result;

/// The `i`-th synthetic connection drawn from `rng`.
pub fn synthetic_connection(rng: &mut Rng, i: usize) -> Connection {
    let client = IpAddr::V4(Ipv4Addr::from(rng.next_u32()));
    let port = (rng.next_u32() >> 16) as u16;
    let dst = SocketAddr::new(IpAddr::V4(Ipv4Addr::from(rng.next_u32())), 80);
    Connection {
        client,
        client_port: port,
        dst: Some(dst),
        now: i as f64,
    }
}

/// How picks spread over the backends.
#[derive(Clone, Debug, PartialEq)]
pub struct Shares {
    /// Picks per backend, indexed like the backend list.
    pub picks: Vec<u64>,
    /// Connections for which nothing was picked.
    pub none: u64,
    /// `picks[i] / connections`.
    pub shares: Vec<f64>,
    /// max/min over backends with positive weight of `share / weight` (1.0 is perfect,
    /// infinity when one of them got nothing). iptables ignores weights, so it uses 1 for all.
    pub balance: f64,
}

/// Runs `connections` synthetic new connections through a clone of `balancer` (the original is
/// not touched) and counts the picks.
///
/// For lc / wlc / sed / nq every connection is treated as long-lived: each pick adds one
/// active connection to the chosen dest, so the least-connection rules actually spread load.
pub fn shares(balancer: &Balancer, connections: usize, seed: u64) -> Shares {
    let mut b = balancer.clone();
    let least_conn = matches!(
        b.algorithm(),
        Algorithm::Lc | Algorithm::Wlc | Algorithm::Sed | Algorithm::Nq
    );
    let mut rng = Rng::new(seed);
    let mut picks = vec![0u64; b.backends().len()];
    let mut none = 0;
    for i in 0..connections {
        let c = synthetic_connection(&mut rng, i);
        match b.pick(&c) {
            Some(p) => {
                picks[p] += 1;
                if least_conn {
                    if let Some(cc) = b.conn_counters_mut(p) {
                        cc.active += 1;
                    }
                }
            }
            None => none += 1,
        }
    }
    let total = connections.max(1) as f64;
    let shares: Vec<f64> = picks.iter().map(|&p| p as f64 / total).collect();
    let iptables = !b.algorithm().has_weights();
    let norm: Vec<f64> = b
        .backends()
        .iter()
        .zip(&shares)
        .filter(|(be, _)| iptables || be.weight > 0)
        .map(|(be, &s)| {
            if iptables {
                s
            } else {
                s / f64::from(be.weight)
            }
        })
        .collect();
    Shares {
        picks,
        none,
        shares,
        balance: balance_of(&norm),
    }
}

/// max/min of positive values (`inf` if some value is 0, `1.0` for an empty list).
pub fn balance_of(values: &[f64]) -> f64 {
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    if values.is_empty() {
        1.0
    } else if min <= 0.0 {
        f64::INFINITY
    } else {
        max / min
    }
}

/// How many keys changed backend between two backend sets.
#[derive(Clone, Debug, PartialEq)]
pub struct Disruption {
    /// Keys (connections or table slots) compared.
    pub keys: usize,
    /// Share of keys whose backend changed.
    pub moved: f64,
    /// Share of keys that moved although neither their old backend left (or was drained) nor
    /// their new backend arrived (or was undrained): the avoidable part of `moved`.
    pub unnecessary: f64,
}

fn usable(set: &[Backend], addr: SocketAddr) -> bool {
    set.iter().any(|b| b.addr == addr && b.weight > 0)
}

fn classify(
    before: &[Backend],
    after: &[Backend],
    pairs: impl Iterator<Item = (Option<SocketAddr>, Option<SocketAddr>)>,
) -> Disruption {
    let (mut keys, mut moved, mut unnecessary) = (0usize, 0usize, 0usize);
    for (a, b) in pairs {
        keys += 1;
        if a == b {
            continue;
        }
        moved += 1;
        let forced = match (a, b) {
            (Some(a), Some(b)) => !usable(after, a) || !usable(before, b),
            _ => true,
        };
        if !forced {
            unnecessary += 1;
        }
    }
    let k = keys.max(1) as f64;
    Disruption {
        keys,
        moved: moved as f64 / k,
        unnecessary: unnecessary as f64 / k,
    }
}

/// Disruption when the backend list changes from `before` to `after`, over the same `keys`
/// synthetic connections sent through both. IPVS algorithms go through [`Balancer::update`], so
/// the kernel's list order after the change is modelled.
///
/// For hash-based algorithms (sh, dh, mh, maglev, ring-hash) this is the classic consistent
/// hashing measure. For the others (iptables, rr, wrr, lc, ...) the pick does not depend on the
/// client, so it measures how many connections of the same sequence land elsewhere: the
/// stickiness a client would lose without session affinity.
///
/// Errors: the lists are invalid for the algorithm.
pub fn disruption(
    algorithm: Algorithm,
    options: &Options,
    before: &[Backend],
    after: &[Backend],
    keys: usize,
    seed: u64,
) -> Result<Disruption> {
    let opts = Options {
        affinity_timeout: None,
        ..options.clone()
    };
    let mut x = Balancer::new(algorithm, before, &opts)?;
    let mut y = x.clone();
    y.update(after)?;
    let mut rng = Rng::new(seed);
    let pairs = (0..keys).map(|i| {
        let c = synthetic_connection(&mut rng, i);
        (
            x.pick(&c).map(|i| before[i].addr),
            y.pick(&c).map(|i| after[i].addr),
        )
    });
    let pairs: Vec<_> = pairs.collect();
    Ok(classify(before, after, pairs.into_iter()))
}

/// Exact slot-level disruption of two Maglev tables built from `before` and `after` (same size
/// and seed): every slot is one key.
pub fn maglev_slot_disruption(
    before: &[Backend],
    after: &[Backend],
    table_size: u32,
    seed: u64,
) -> Result<Disruption> {
    let x = Maglev::new(before, table_size, seed)?;
    let y = Maglev::new(after, table_size, seed)?;
    let pairs = (0..table_size).map(|s| {
        (
            x.slot(s).map(|i| before[i].addr),
            y.slot(s).map(|i| after[i].addr),
        )
    });
    Ok(classify(before, after, pairs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backends(n: usize) -> Vec<Backend> {
        (0..n)
            .map(|i| {
                Backend::new(
                    format!("10.0.{}.{}:80", i / 200, i % 200 + 1)
                        .parse()
                        .unwrap(),
                    1,
                )
            })
            .collect()
    }

    #[test]
    fn rr_shares_are_exact_and_balance_one() {
        let b = Balancer::new(Algorithm::Rr, &backends(4), &Options::default()).unwrap();
        let s = shares(&b, 400, 1);
        assert_eq!(s.picks, [100, 100, 100, 100]);
        assert_eq!(s.balance, 1.0);
    }

    #[test]
    fn least_connection_spreads_long_lived_connections() {
        let b = Balancer::new(Algorithm::Wlc, &backends(3), &Options::default()).unwrap();
        let s = shares(&b, 300, 1);
        assert_eq!(s.picks, [100, 100, 100]);
    }

    #[test]
    fn maglev_removal_moves_about_one_nth() {
        let before = backends(10);
        let after: Vec<Backend> = before[1..].to_vec();
        let d = maglev_slot_disruption(&before, &after, 4093, 0).unwrap();
        assert!(d.moved >= 0.09 && d.moved < 0.14, "{d:?}");
        assert!(d.unnecessary < 0.05, "{d:?}");
        let s = disruption(
            Algorithm::Maglev,
            &Options {
                maglev_table_size: 4093,
                ..Options::default()
            },
            &before,
            &after,
            20000,
            3,
        )
        .unwrap();
        assert!((s.moved - d.moved).abs() < 0.02, "{s:?} vs {d:?}");
        // rr's picks ignore the client: most connections of the same sequence land elsewhere.
        let r = disruption(Algorithm::Rr, &Options::default(), &before, &after, 1000, 0).unwrap();
        assert!(r.moved > 0.5 && r.unnecessary > 0.4, "{r:?}");
    }

    #[test]
    fn balance_of_edge_cases() {
        assert_eq!(balance_of(&[]), 1.0);
        assert_eq!(balance_of(&[1.0, 0.0]), f64::INFINITY);
        assert_eq!(balance_of(&[1.0, 2.0]), 2.0);
    }
}
