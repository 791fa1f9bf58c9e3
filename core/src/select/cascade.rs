//! kube-proxy iptables mode: the `statistic --mode random` cascade.
//!
//! For endpoints `e0..e(n−1)` the service chain has one rule per endpoint: rule `i < n−1` jumps
//! to `e_i` with probability `1/(n−i)`, the last rule always jumps. kube-proxy prints each
//! probability with 10 decimals; iptables stores `lround(p · 2^31)` of that printed decimal, and
//! the kernel matches when `(prandom_u32() & 0x7FFFFFFF) < threshold`, drawing once per evaluated
//! rule (spec: selection-and-hashing.md §3, kube-proxy-iptables.md §3.3 (9)).

use super::Rng;

/// `2^31`, the scale of the kernel's stored probability.
const SCALE: f64 = 2_147_483_648.0;

/// The probability kube-proxy prints for rule `i` of `n` endpoints: `1/(n−i)` with exactly 10
/// decimals (`%0.10f`), e.g. `probability_text(3, 0) == "0.3333333333"`.
///
/// The last rule (`i == n−1`) has no statistic match; for it this returns `"1.0000000000"`.
///
/// # Panics
/// If `i >= n`.
pub fn probability_text(n: usize, i: usize) -> String {
    assert!(i < n, "rule {i} of {n} endpoints");
    // Rust's `{:.10}` rounds the exact binary value correctly, as Go's `%0.10f` does.
    format!("{:.10}", 1.0 / (n - i) as f64)
}

/// The threshold iptables stores for a printed probability: `lround(p · 2^31)`, where `p` is the
/// decimal as printed (not the exact `1/k`). Probabilities ≥ 1 give `2^31` (always matches).
///
/// iptables releases before the switch to `lround` truncated instead; svccore models current
/// iptables (spec: kube-proxy-iptables.md §4.3).
pub fn threshold(printed: f64) -> u32 {
    let t = (printed * SCALE).round();
    t.clamp(0.0, SCALE) as u32
}

/// The threshold of rule `i` of `n`, computed from the printed text exactly as iptables does.
pub fn rule_threshold(n: usize, i: usize) -> u32 {
    let text = probability_text(n, i);
    threshold(text.parse().expect("formatted float parses"))
}

/// The probabilities of one endpoint of the cascade, for traces and reports.
#[derive(Clone, Debug, PartialEq)]
pub struct EndpointProbability {
    /// The endpoint's position in the cascade.
    pub index: usize,
    /// The ideal share as a fraction `(numerator, denominator)`: always `(1, n)`.
    pub ideal: (u64, u64),
    /// The rule's printed probability (`"0.3333333333"`), or `None` for the unconditional last
    /// rule.
    pub rule_text: Option<String>,
    /// The stored kernel threshold of the rule (`2^31` for the last rule).
    pub threshold: u32,
    /// The rule's effective probability `threshold / 2^31`, given that the rule is reached.
    pub rule_probability: f64,
    /// The probability that a new connection ends on this endpoint, with the kernel's
    /// quantisation: `q_i · Π_{j<i}(1 − q_j)`.
    pub effective: f64,
    /// How many random draws selecting this endpoint consumes (`i + 1`, or `n − 1` for the last).
    pub draws: usize,
}

/// The exact per-endpoint probabilities of an `n`-endpoint cascade (no randomness involved).
pub fn endpoint_probabilities(n: usize) -> Vec<EndpointProbability> {
    let mut reach = 1.0f64;
    (0..n)
        .map(|i| {
            let last = i + 1 == n;
            let (text, t) = if last {
                (None, 1u32 << 31)
            } else {
                (Some(probability_text(n, i)), rule_threshold(n, i))
            };
            let q = f64::from(t) / SCALE;
            let effective = reach * q;
            reach *= 1.0 - q;
            EndpointProbability {
                index: i,
                ideal: (1, n as u64),
                rule_text: text,
                threshold: t,
                rule_probability: q,
                effective,
                draws: if last { i } else { i + 1 },
            }
        })
        .collect()
}

/// Rules whose draws are taken and compared together by [`Cascade::pick`].
pub const BATCH: usize = 8;

/// The precomputed cascade of one service chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cascade {
    /// Thresholds of rules `0..n−1` (the last rule has none).
    thresholds: Box<[u32]>,
    /// The same in groups of [`BATCH`], the last group padded with 0 (a rule that never
    /// matches), as four words of two thresholds: word `k` holds rule `k` (low half) and
    /// rule `k + 4` (high half).
    batches: Box<[[u64; BATCH / 2]]>,
    n: usize,
}

impl Cascade {
    /// The cascade over `n` endpoints (`n` may be 0: then nothing is ever picked).
    pub fn new(n: usize) -> Self {
        let thresholds: Box<[u32]> = (0..n.saturating_sub(1))
            .map(|i| rule_threshold(n, i))
            .collect();
        let batches = thresholds
            .chunks(BATCH)
            .map(|c| {
                let t = |i: usize| c.get(i).map_or(0, |&t| u64::from(t));
                [0, 1, 2, 3].map(|k| t(k) | (t(k + 4) << 32))
            })
            .collect();
        Cascade {
            thresholds,
            batches,
            n,
        }
    }

    /// The number of endpoints.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether there are no endpoints.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The stored thresholds of the statistic rules, in rule order.
    pub fn thresholds(&self) -> &[u32] {
        &self.thresholds
    }

    /// Walks the cascade with draws from `rng`: the endpoint of the first rule whose 31-bit draw
    /// is below its threshold, or the last endpoint. Returns `None` only when there are no
    /// endpoints.
    ///
    /// The kernel draws once per rule it evaluates. Here the draws come [`BATCH`] rules at a
    /// time, two 31-bit draws from each 64-bit output (rules `k` and `k + 4` of the batch from
    /// output `k`; draw = `2^31 − 1 −` the half's low 31 bits), and are compared without a
    /// branch per rule; draws of rules after the matching one are discarded. The draws are independent and
    /// uniform, so which rule matches first has exactly the kernel's distribution; only the
    /// number of random bits consumed differs.
    #[inline(always)]
    pub fn pick(&self, rng: &mut Rng) -> Option<usize> {
        if self.n == 0 {
            return None;
        }
        const HIGH: u64 = 0x8000_0000_8000_0000;
        for (b, t) in self.batches.iter().enumerate() {
            // Two rules per 64-bit output (rules k and k + 4 of the batch, in its low and high
            // halves). Each half's low 31 bits `u` give the draw `d = 2^31 − 1 − u`, uniform
            // like `u`; then `d < threshold` is exactly "bit 31 of u + threshold is set", and
            // since thresholds are at most 2^30 the sum never carries into the other half.
            let mut m = 0u64;
            for (k, &tk) in t.iter().enumerate() {
                m |= (((rng.next_u64() & !HIGH) + tk) & HIGH) >> k;
            }
            // Rules 0..=3 now sit at bits 31..=28 and rules 4..=7 at bits 63..=60: fold them
            // into one word in rule order from the top, so leading zeros count rules.
            let hit = (m as u32) | ((m >> 36) as u32);
            if hit != 0 {
                return Some(b * BATCH + hit.leading_zeros() as usize);
            }
        }
        Some(self.n - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_probabilities_match_kube_proxy() {
        assert_eq!(probability_text(3, 0), "0.3333333333");
        assert_eq!(probability_text(3, 1), "0.5000000000");
        assert_eq!(probability_text(6, 0), "0.1666666667");
        assert_eq!(probability_text(2048, 0), "0.0004882812"); // the one exact tie, half-to-even
    }

    #[test]
    fn thresholds_match_spec_table() {
        // spec: kube-proxy-iptables.md §4.3
        for (k, t) in [
            (2, 1073741824u32),
            (3, 715827883),
            (4, 536870912),
            (5, 429496730),
            (6, 357913941),
            (7, 306783378),
            (10, 214748365),
            (100, 21474836),
        ] {
            assert_eq!(rule_threshold(k, 0), t, "1/{k}");
        }
    }

    #[test]
    fn quantised_probabilities_match_spec_bias_table() {
        // spec: selection-and-hashing.md §3.2
        for (n, first, last) in [
            (3, 0.333333333489, 0.333333333256),
            (10, 0.100000000093, 0.099999999989),
            (100, 0.009999999776, 0.010000000009),
            (1000, 0.001000000164, 0.001000000004),
        ] {
            let p = endpoint_probabilities(n);
            assert!(
                (p[0].effective - first).abs() < 1e-12,
                "n={n} first {}",
                p[0].effective
            );
            assert!(
                (p[n - 1].effective - last).abs() < 1e-12,
                "n={n} last {}",
                p[n - 1].effective
            );
            let sum: f64 = p.iter().map(|e| e.effective).sum();
            assert!((sum - 1.0).abs() < 1e-12);
        }
        let p = endpoint_probabilities(4);
        assert_eq!(p[3].draws, 3);
        assert_eq!(p[1].draws, 2);
        assert_eq!(p[3].rule_text, None);
    }

    /// The pick is the first rule whose draw is below its threshold, with the draws of a batch
    /// taken two per 64-bit output (rules k and k + 4), and only whole batches consumed.
    #[test]
    fn pick_is_the_first_rule_whose_draw_is_below_threshold() {
        for n in [2usize, 5, 9, 10, 17, 40] {
            let c = Cascade::new(n);
            let mut a = Rng::new(n as u64);
            let mut reached = vec![0u32; n];
            for _ in 0..2000 {
                let mut b = a.clone();
                let got = c.pick(&mut a).unwrap();
                let mut draws: Vec<u32> = Vec::new();
                let want = (0..n - 1)
                    .find(|&i| {
                        if i % BATCH == 0 {
                            let mut batch = [0u32; BATCH];
                            for k in 0..BATCH / 2 {
                                let x = b.next_u64();
                                batch[k] = 0x7FFF_FFFF - (x as u32 & 0x7FFF_FFFF);
                                batch[k + BATCH / 2] =
                                    0x7FFF_FFFF - ((x >> 32) as u32 & 0x7FFF_FFFF);
                            }
                            draws.extend(batch);
                        }
                        draws[i] < c.thresholds()[i]
                    })
                    .unwrap_or(n - 1);
                assert_eq!(got, want, "n {n}");
                assert_eq!(a, b, "n {n}: whole batches of draws consumed");
                reached[got] += 1;
            }
            assert!(reached.iter().all(|&r| r > 0), "n {n}: {reached:?}");
        }
        let mut a = Rng::new(3);
        assert_eq!(Cascade::new(0).pick(&mut a), None);
        let before = a.clone();
        assert_eq!(Cascade::new(1).pick(&mut a), Some(0));
        assert_eq!(a, before, "one endpoint: no statistic rule, no draw");
    }
}
