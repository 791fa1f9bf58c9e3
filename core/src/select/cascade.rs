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
    /// How many random draws the kernel makes to select this endpoint (`i + 1`, or `n − 1` for the
    /// last); [`Cascade::pick`] takes its random bits in larger steps.
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

/// Rules decided per 64-bit random output: four 16-bit lanes.
pub const RULES_PER_DRAW: usize = 4;

/// The top bit of each 16-bit lane.
const CARRY: u64 = 0x8000_8000_8000_8000;
/// The low 15 bits of each lane.
const LOW15: u64 = 0x7FFF_7FFF_7FFF_7FFF;
const ONES: u64 = 0x0001_0001_0001_0001;

/// The precomputed cascade of one service chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cascade {
    /// Thresholds of rules `0..n−1` (the last rule has none).
    thresholds: Box<[u32]>,
    /// The high parts `threshold >> 16` (at most 2^14), one rule per 16-bit lane, four rules
    /// to a word (rule `4w + k` in lane `k` of word `w`), the last word padded with 0.
    high: Box<[u64]>,
    n: usize,
}

impl Cascade {
    /// The cascade over `n` endpoints (`n` may be 0: then nothing is ever picked).
    pub fn new(n: usize) -> Self {
        let thresholds: Box<[u32]> = (0..n.saturating_sub(1))
            .map(|i| rule_threshold(n, i))
            .collect();
        // The lane arithmetic of `pick` needs every threshold ≤ 2^30: a rule's probability is at
        // most 1/2 (the second-to-last rule), and the last rule has no threshold.
        assert!(thresholds.iter().all(|&t| t <= 1 << 30));
        let high = thresholds
            .chunks(RULES_PER_DRAW)
            .map(|c| {
                c.iter()
                    .enumerate()
                    .fold(0u64, |w, (k, &t)| w | u64::from(t >> 16) << (16 * k))
            })
            .collect();
        Cascade {
            thresholds,
            high,
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
    /// The kernel draws 31 bits per rule it evaluates. Here rule `i`'s draw is
    /// `d = h · 2^16 + l`: its top 15 bits `h = 2^15 − 1 − u` come from a 15-bit lane `u` of a
    /// 64-bit output ([`RULES_PER_DRAW`] rules per output, eight rules per step), and its low
    /// 16 bits `l` are drawn only when `h` equals the threshold's top bits, the one case they
    /// decide (probability 2^-15 per rule). `h` and `l` are independent and uniform, so every
    /// rule matches with exactly the probability `threshold / 2^31`, independently of the
    /// others, and which rule matches first has the kernel's distribution; only the number of
    /// random bits consumed differs (draws of rules after the match are discarded).
    #[inline(always)]
    pub fn pick(&self, rng: &mut Rng) -> Option<usize> {
        // With fewer than two endpoints there is no statistic rule (no words): straight to the
        // end, where `n − 1` is `None` for no endpoints.
        // Per lane, `u + high ≥ 2^15` (the lane's carry bit) is `h < high`, and
        // `u + high = 2^15 − 1` is the tie; lanes never carry into each other (u < 2^15,
        // high ≤ 2^14).
        let mut pairs = self.high.chunks_exact(2);
        for (g, p) in (&mut pairs).enumerate() {
            let x = [rng.next_u64() & LOW15, rng.next_u64() & LOW15];
            let sum = [x[0] + p[0], x[1] + p[1]];
            if ties(sum[0]) | ties(sum[1]) != 0 {
                match self.resolve(rng, 2 * RULES_PER_DRAW * g, x, 2) {
                    Some(i) => return Some(i),
                    None => continue,
                }
            }
            let hit = u128::from(sum[0] & CARRY) | (u128::from(sum[1] & CARRY) << 64);
            if hit != 0 {
                return Some(2 * RULES_PER_DRAW * g + hit.trailing_zeros() as usize / 16);
            }
        }
        if let [w] = *pairs.remainder() {
            let base = (self.high.len() - 1) * RULES_PER_DRAW;
            let x = rng.next_u64() & LOW15;
            let sum = x + w;
            if ties(sum) != 0 {
                return Some(self.resolve(rng, base, [x, 0], 1).unwrap_or(self.n - 1));
            }
            let hit = sum & CARRY;
            if hit != 0 {
                return Some(base + hit.trailing_zeros() as usize / 16);
            }
        }
        self.n.checked_sub(1)
    }

    /// The exact walk over the rules from `base` whose lanes are the first `words` of `x`,
    /// drawing the low 16 bits of a draw where its top bits tie with the threshold's. `None`: no
    /// rule there matched. (`x` by value: the fast path keeps it in registers.)
    #[cold]
    #[inline(never)]
    fn resolve(&self, rng: &mut Rng, base: usize, x: [u64; 2], words: usize) -> Option<usize> {
        for (w, &lanes) in x[..words].iter().enumerate() {
            for k in 0..RULES_PER_DRAW {
                let i = base + RULES_PER_DRAW * w + k;
                // Past the last statistic rule: padding lanes match nothing.
                let &t = self.thresholds.get(i)?;
                let h = 0x7FFF - ((lanes >> (16 * k)) as u32 & 0x7FFF);
                if h < t >> 16 || (h == t >> 16 && (rng.next_u64() as u32 & 0xFFFF) < (t & 0xFFFF))
                {
                    return Some(i);
                }
            }
        }
        None
    }
}

/// The lanes of `sum` equal to `2^15 − 1` (top bit set), or 0 when there is none; exact in
/// telling whether there is one (a borrow only marks lanes above a lane that is equal).
#[inline(always)]
fn ties(sum: u64) -> u64 {
    let e = sum ^ LOW15;
    e.wrapping_sub(ONES) & !e & CARRY
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

    /// A reference walk of the documented draw layout: per group of up to two outputs, each
    /// rule's top 15 bits from its lane; if some lane of the group ties with its threshold's top
    /// bits, the rules are walked one by one, drawing the low 16 bits at each tie.
    fn reference_pick(c: &Cascade, rng: &mut Rng) -> usize {
        let t = c.thresholds();
        let rules = t.len();
        let words = rules.div_ceil(RULES_PER_DRAW);
        let mut w = 0;
        while w < words {
            let take = if words - w >= 2 { 2 } else { 1 };
            let lanes: Vec<u32> = (0..take)
                .flat_map(|_| {
                    let x = rng.next_u64();
                    (0..4).map(move |k| 0x7FFF - ((x >> (16 * k)) as u32 & 0x7FFF))
                })
                .collect();
            let base = w * RULES_PER_DRAW;
            let high = |i: usize| t.get(base + i).map_or(0, |&t| t >> 16);
            let tie = (0..lanes.len()).any(|i| lanes[i] == high(i));
            for (i, &h) in lanes.iter().enumerate() {
                if base + i >= rules {
                    break;
                }
                let th = t[base + i];
                let hit = h < th >> 16
                    || (tie && h == th >> 16 && (rng.next_u64() as u32 & 0xFFFF) < (th & 0xFFFF));
                if hit {
                    return base + i;
                }
            }
            w += take;
        }
        c.len() - 1
    }

    #[test]
    fn pick_follows_the_documented_draw_layout() {
        for n in [2usize, 4, 5, 6, 9, 10, 13, 17, 40] {
            let c = Cascade::new(n);
            let mut a = Rng::new(n as u64);
            let mut reached = vec![0u32; n];
            for _ in 0..3000 {
                let mut b = a.clone();
                let got = c.pick(&mut a).unwrap();
                assert_eq!(got, reference_pick(&c, &mut b), "n {n}");
                assert_eq!(a, b, "n {n}: draws consumed");
                reached[got] += 1;
            }
            assert!(reached.iter().all(|&r| r > 0), "n {n}: {reached:?}");
        }
    }

    /// A tie on the top bits is settled by 16 more bits, exactly at the threshold's low bits.
    #[test]
    fn a_tie_on_the_top_bits_is_settled_by_the_low_bits() {
        let c = Cascade::new(3);
        let t0 = c.thresholds()[0];
        // Lane 0 ties with rule 0; lane 1 (rule 1, threshold 2^30) has h = 2^15 − 1: no match.
        let x = u64::from(0x7FFF - (t0 >> 16));
        for seed in 0..200 {
            let mut rng = Rng::new(seed);
            let low = rng.clone().next_u64() as u32 & 0xFFFF;
            let want = (low < (t0 & 0xFFFF)).then_some(0);
            assert_eq!(c.resolve(&mut rng, 0, [x, 0], 1), want, "low {low:#x}");
        }
        // No tie: the top bits decide and nothing more is drawn.
        let mut rng = Rng::new(1);
        let before = rng.clone();
        assert_eq!(
            c.resolve(&mut rng, 0, [0x7FFF, 0], 1),
            Some(0),
            "h = 0 < top bits"
        );
        assert_eq!(rng, before);
        assert_eq!(
            c.resolve(&mut rng, 0, [0, 0], 1),
            None,
            "h = 2^15 − 1 matches nothing"
        );
        assert_eq!(
            c.resolve(&mut rng, 0, [0x7FFF_0000, 0], 1),
            Some(1),
            "rule 1 at h = 0"
        );
    }

    #[test]
    fn degenerate_cascades() {
        let mut a = Rng::new(3);
        assert_eq!(Cascade::new(0).pick(&mut a), None);
        let before = a.clone();
        assert_eq!(Cascade::new(1).pick(&mut a), Some(0));
        assert_eq!(a, before, "one endpoint: no statistic rule, no draw");
    }
}
