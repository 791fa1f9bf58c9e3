//! kube-proxy nftables mode: `numgen random mod n vmap { 0 : goto …, … }`.
//!
//! The kernel draws one 32-bit random `r` per packet that reaches the rule and takes
//! `(r·n) >> 32` (`reciprocal_scale` in `nft_numgen.c`), so value `k` has
//! `⌈(k+1)·2^32/n⌉ − ⌈k·2^32/n⌉` of the `2^32` draws: `1/n` each up to one draw in `2^32`.
//! Endpoints are in the vmap's order (kube-proxy's endpoint order); there are no weights.

use super::Rng;

/// How many of the `2^32` random values send the packet to value `k` of `numgen random mod n`.
///
/// # Panics
/// If `k >= n`.
pub fn draws(k: u32, n: u32) -> u64 {
    assert!(k < n, "value {k} of numgen mod {n}");
    let ceil = |j: u64| (j << 32).div_ceil(u64::from(n));
    ceil(u64::from(k) + 1) - ceil(u64::from(k))
}

/// The exact share of value `k` of `numgen random mod n` (`draws / 2^32`).
pub fn share(k: u32, n: u32) -> f64 {
    draws(k, n) as f64 / 4_294_967_296.0
}

/// One pick of `numgen random mod n` as the kernel makes it, or `None` for no endpoints.
#[inline]
pub fn pick(rng: &mut Rng, n: u32) -> Option<usize> {
    if n == 0 {
        return None;
    }
    Some(((u64::from(rng.next_u32()) * u64::from(n)) >> 32) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_sum_to_every_draw_and_favour_low_values_by_one() {
        for n in 1..=40u32 {
            let total: u64 = (0..n).map(|k| draws(k, n)).sum();
            assert_eq!(total, 1 << 32, "n = {n}");
            let (lo, hi) = (
                (1u64 << 32) / u64::from(n),
                (1u64 << 32).div_ceil(u64::from(n)),
            );
            assert!((0..n).all(|k| (lo..=hi).contains(&draws(k, n))));
        }
        assert_eq!(draws(0, 3), 1_431_655_766);
        assert_eq!(draws(2, 3), 1_431_655_765);
    }

    #[test]
    fn picks_spread_as_the_shares_say() {
        let mut rng = Rng::new(7);
        let mut seen = [0u32; 3];
        for _ in 0..300_000 {
            seen[pick(&mut rng, 3).unwrap()] += 1;
        }
        assert!(
            seen.iter().all(|&c| (99_000..101_000).contains(&c)),
            "{seen:?}"
        );
        assert_eq!(pick(&mut rng, 0), None);
    }
}
