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

/// The precomputed cascade of one service chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cascade {
    /// Thresholds of rules `0..n−1` (the last rule has none).
    thresholds: Box<[u32]>,
    n: usize,
}

impl Cascade {
    /// The cascade over `n` endpoints (`n` may be 0: then nothing is ever picked).
    pub fn new(n: usize) -> Self {
        let thresholds = (0..n.saturating_sub(1))
            .map(|i| rule_threshold(n, i))
            .collect();
        Cascade { thresholds, n }
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

    /// Walks the cascade with draws from `rng`, one draw per evaluated rule as the kernel does.
    /// Returns `None` only when there are no endpoints.
    #[inline]
    pub fn pick(&self, rng: &mut Rng) -> Option<usize> {
        if self.n == 0 {
            return None;
        }
        for (i, &t) in self.thresholds.iter().enumerate() {
            if rng.next_u32() & 0x7FFF_FFFF < t {
                return Some(i);
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

    #[test]
    fn pick_consumes_one_draw_per_evaluated_rule() {
        let c = Cascade::new(5);
        let mut a = Rng::new(3);
        for _ in 0..200 {
            let mut b = a.clone();
            let i = c.pick(&mut a).unwrap();
            let draws = if i == 4 { 4 } else { i + 1 };
            for _ in 0..draws {
                b.next_u32();
            }
            assert_eq!(a, b, "endpoint {i}");
        }
        assert_eq!(Cascade::new(0).pick(&mut a), None);
        assert_eq!(Cascade::new(1).pick(&mut a), Some(0));
    }
}
