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
    sampler: Sampler,
    n: usize,
}

/// How [`Cascade::pick`] draws.
#[derive(Clone, Debug, PartialEq, Eq)]
// The distribution function's bounds are inline on purpose: behind a pointer, the search's
// loads depend on where the heap put them, and pick times vary between processes with it.
#[allow(clippy::large_enum_variant)]
enum Sampler {
    /// The exact distribution function, for cascades of 2 to [`CDF_MAX_ENDPOINTS`] endpoints.
    Cdf(Cdf),
    /// The rule walk for the rest (fewer than two endpoints: no words at all).
    Walk {
        /// The high parts `threshold >> 16` (at most 2^14), one rule per 16-bit lane, four
        /// rules to a word (rule `4w + k` in lane `k` of word `w`), the last word padded with 0;
        /// in pairs of words, as the walk draws them, and the odd last word apart.
        pairs: Box<[[u64; 2]]>,
        /// Rules `base..` in the odd last word, if there is one.
        tail: Option<(usize, u64)>,
    },
}

/// Cascades of 2 to this many endpoints are sampled from their exact distribution function
/// ([`Cascade::pick`]); longer ones walk their rules.
/// (A power of two: the search halves it.)
pub const CDF_MAX_ENDPOINTS: usize = 32;

/// The distribution function of a cascade: where endpoint `i` is reached when the uniform draw
/// `U ∈ [0, 1)` is below `C_i = 1 − Π_{j≤i} (1 − t_j / 2^31)`, the probability that one of
/// rules `0..=i` matches (kube-proxy's rules with the kernel's thresholds `t_j`). `C_i` is a
/// dyadic fraction with `31(i + 1)` bits, exactly representable.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Cdf {
    /// `bounds[i]` for `i < n − 1`: the first 64 bits `u` of `U` say `U ≥ C_i` when
    /// `u > bounds[i]`, `U < C_i` when `u < bounds[i]`, and when `u == bounds[i]` so does
    /// `U < C_i` unless `fractions[i]` has limbs, which then decide. Strictly increasing; padded
    /// with `u64::MAX` to [`CDF_MAX_ENDPOINTS`], for a branch-free search of fixed depth.
    bounds: [u64; CDF_MAX_ENDPOINTS],
    /// Per boundary, the fraction of `C_i · 2^64` past `bounds[i]`, as the `k`-bit integer
    /// `K = frac · 2^k` (`k = 31(i + 1) − 64`), most significant limb first, the first limb
    /// holding [`fraction_bits`]`(i).1` bits. Empty when `C_i · 2^64` is an integer.
    fractions: Box<[Box<[u64]>]>,
}

/// The bits after the first 64 of boundary `i`'s `C_i` (`31(i + 1)` bits in all), and how many
/// of them the most significant limb of its fraction holds (1 to 64).
fn fraction_bits(i: usize) -> (usize, u32) {
    let k = (31 * (i + 1)).saturating_sub(64);
    (k, (k.saturating_sub(1) % 64 + 1) as u32)
}

impl Cdf {
    /// The distribution function of the rules with `thresholds`, by exact integer arithmetic:
    /// `R_i = Π_{j≤i} (2^31 − t_j)` and `C_i · 2^64 = 2^64 − R_i / 2^(31(i+1) − 64)`.
    fn new(thresholds: &[u32]) -> Self {
        let mut r: Vec<u64> = vec![1]; // little-endian limbs of R_i
        let (mut bounds, mut fractions) = (Vec::new(), Vec::new());
        for (i, &t) in thresholds.iter().enumerate() {
            let m = u128::from((1u32 << 31) - t);
            let mut carry = 0u128;
            for limb in r.iter_mut() {
                let v = u128::from(*limb) * m + carry;
                *limb = v as u64;
                carry = v >> 64;
            }
            if carry != 0 {
                r.push(carry as u64);
            }
            let e = 31 * (i + 1);
            if e <= 64 {
                // C_i · 2^64 = 2^64 − R_i · 2^(64 − e), an integer X: U < C_i iff u ≤ X − 1.
                let x = (1u128 << 64) - (u128::from(r[0]) << (64 - e));
                bounds.push((x - 1) as u64);
                fractions.push(Box::default());
                continue;
            }
            let (k, top) = fraction_bits(i);
            // R_i = Q · 2^k + rem, with Q < 2^64 because R_i < 2^e. When rem = 0,
            // C_i · 2^64 = 2^64 − Q is an integer X and the bound is X − 1, as above; otherwise
            // C_i · 2^64 = (2^64 − Q − 1) + (2^k − rem) / 2^k. The bound is the same number.
            let q = bits(&r, k, 64);
            bounds.push(((1u128 << 64) - u128::from(q) - 1) as u64);
            let limbs = k.div_ceil(64);
            let low = |w: usize| bits(&r, 64 * w, (k - 64 * w).min(64));
            if (0..limbs).all(|w| low(w) == 0) {
                fractions.push(Box::default());
                continue;
            }
            // K = 2^k − rem, the two's complement of rem in k bits.
            let mut kk: Vec<u64> = (0..limbs).map(|w| !low(w)).collect();
            for limb in kk.iter_mut() {
                let (v, overflow) = limb.overflowing_add(1);
                *limb = v;
                if !overflow {
                    break;
                }
            }
            if top < 64 {
                kk[limbs - 1] &= (1u64 << top) - 1;
            }
            kk.reverse();
            fractions.push(kk.into_boxed_slice());
        }
        bounds.resize(CDF_MAX_ENDPOINTS, u64::MAX);
        Cdf {
            bounds: bounds.try_into().expect("CDF_MAX_ENDPOINTS bounds"),
            fractions: fractions.into_boxed_slice(),
        }
    }

    /// The endpoint of the draw whose first 64 bits are `u`: the number of boundaries `U` is
    /// past, found without a branch on `u`.
    #[inline(always)]
    fn pick(&self, rng: &mut Rng, u: u64) -> usize {
        const _: () = assert!(CDF_MAX_ENDPOINTS == 32, "the search's steps below");
        let b = &self.bounds;
        let mut i = 0;
        for step in [16, 8, 4, 2, 1] {
            // A select, not a branch: the comparison is a coin flip.
            i = std::hint::select_unpredictable(b[i + step - 1] < u, i + step, i);
        }
        if b[i] == u {
            return self.settle(i, || rng.next_u64());
        }
        i
    }

    /// `u == bounds[i]`: whether `U < C_i` is decided by the fraction's bits (drawn most
    /// significant first, as many as it takes). Probability 2^-64 per boundary and pick.
    #[cold]
    #[inline(never)]
    fn settle(&self, i: usize, mut draw: impl FnMut() -> u64) -> usize {
        let Some(frac) = self.fractions.get(i) else {
            return i; // the padding past the last boundary
        };
        for (w, &limb) in frac.iter().enumerate() {
            let bits = if w == 0 { fraction_bits(i).1 } else { 64 };
            let v = draw() >> (64 - bits);
            if v != limb {
                // The remaining bits of U below those of C_i: U < C_i, endpoint i.
                return if v < limb { i } else { i + 1 };
            }
        }
        if frac.is_empty() {
            // C_i · 2^64 is an integer and the bound is one below it: U < C_i.
            i
        } else {
            // U's bits equal all of C_i's: U ≥ C_i.
            i + 1
        }
    }
}

/// Bits `from..from + len` (`len ≤ 64`) of the little-endian limbs `r` (0 past the end).
fn bits(r: &[u64], from: usize, len: usize) -> u64 {
    let limb = |w: usize| r.get(w).copied().unwrap_or(0);
    let (w, o) = (from / 64, from % 64);
    let mut v = limb(w) >> o;
    if o > 0 {
        v |= limb(w + 1) << (64 - o);
    }
    if len < 64 {
        v &= (1u64 << len) - 1;
    }
    v
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
        let sampler = if (2..=CDF_MAX_ENDPOINTS).contains(&n) {
            Sampler::Cdf(Cdf::new(&thresholds))
        } else {
            let high: Vec<u64> = thresholds
                .chunks(RULES_PER_DRAW)
                .map(|c| {
                    c.iter()
                        .enumerate()
                        .fold(0u64, |w, (k, &t)| w | u64::from(t >> 16) << (16 * k))
                })
                .collect();
            Sampler::Walk {
                pairs: high.chunks_exact(2).map(|p| [p[0], p[1]]).collect(),
                tail: (high.len() % 2 == 1)
                    .then(|| ((high.len() - 1) * RULES_PER_DRAW, high[high.len() - 1])),
            }
        };
        Cascade {
            thresholds,
            sampler,
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
    /// endpoints. The outcome has exactly the kernel's distribution (rule `i` matches with
    /// probability `threshold / 2^31` once reached); how many random bits it takes differs.
    ///
    /// Up to [`CDF_MAX_ENDPOINTS`] endpoints, one 64-bit draw `u` is the first 64 bits of a
    /// uniform `U ∈ [0, 1)`, and the endpoint is the number of the cascade's exact cumulative
    /// probabilities `C_i` (dyadic fractions of `31(i + 1)` bits, computed once) that `U` is
    /// past: a branch-free search over 64-bit bounds, and when `u` equals a bound whose `C_i`
    /// has more bits (probability 2^-64), more bits of `U` drawn until they differ from
    /// `C_i`'s.
    ///
    /// Longer cascades walk their rules. The kernel draws 31 bits per rule it evaluates. Here
    /// rule `i`'s draw is `d = h · 2^16 + l`: its top 15 bits `h = 2^15 − 1 − u` come from a
    /// 15-bit lane `u` of a 64-bit output ([`RULES_PER_DRAW`] rules per output, eight rules per
    /// step), and its low 16 bits `l` are drawn only when `h` equals the threshold's top bits,
    /// the one case they decide (probability 2^-15 per rule). `h` and `l` are independent and
    /// uniform, so every rule matches with exactly the probability `threshold / 2^31`,
    /// independently of the others, and which rule matches first has the kernel's
    /// distribution (draws of rules after the match are discarded).
    #[inline(always)]
    pub fn pick(&self, rng: &mut Rng) -> Option<usize> {
        let (pairs, tail) = match &self.sampler {
            Sampler::Cdf(cdf) => {
                let u = rng.next_u64();
                return Some(cdf.pick(rng, u));
            }
            Sampler::Walk { pairs, tail } => (pairs, *tail),
        };
        // With fewer than two endpoints there is no statistic rule (no words): straight to the
        // end, where `n − 1` is `None` for no endpoints.
        // Per lane, `u + high ≥ 2^15` (the lane's carry bit) is `h < high`, and
        // `u + high = 2^15 − 1` is the tie; lanes never carry into each other (u < 2^15,
        // high ≤ 2^14).
        //
        // The generator's state stays in a register for the whole pick and is stored once on
        // the way out (and around the rare tie walk): the draws are the same as `next_u64`'s.
        let mut s = rng.s;
        for (g, p) in pairs.iter().enumerate() {
            let (s1, s2) = (Rng::advance(s, 1), Rng::advance(s, 2));
            s = s2;
            let x = [Rng::output(s1) & LOW15, Rng::output(s2) & LOW15];
            let sum = [x[0] + p[0], x[1] + p[1]];
            if ties(sum[0]) | ties(sum[1]) != 0 {
                rng.s = s;
                let found = self.resolve(rng, 2 * RULES_PER_DRAW * g, x[0], x[1], 2);
                s = rng.s;
                match found {
                    Some(i) => return Some(i),
                    None => continue,
                }
            }
            let hit = u128::from(sum[0] & CARRY) | (u128::from(sum[1] & CARRY) << 64);
            if hit != 0 {
                rng.s = s;
                return Some(2 * RULES_PER_DRAW * g + hit.trailing_zeros() as usize / 16);
            }
        }
        if let Some((base, w)) = tail {
            s = Rng::advance(s, 1);
            let x = Rng::output(s) & LOW15;
            let sum = x + w;
            rng.s = s;
            if ties(sum) != 0 {
                return Some(self.resolve(rng, base, x, 0, 1).unwrap_or(self.n - 1));
            }
            let hit = sum & CARRY;
            if hit != 0 {
                return Some(base + hit.trailing_zeros() as usize / 16);
            }
        }
        rng.s = s;
        self.n.checked_sub(1)
    }

    /// The exact walk over the rules from `base` whose lanes are the first `words` of `x0, x1`,
    /// drawing the low 16 bits of a draw where its top bits tie with the threshold's. `None`: no
    /// rule there matched. (The words as scalars: they stay in registers on the fast path, where
    /// an array would be stored for every pick.)
    #[cold]
    #[inline(never)]
    fn resolve(&self, rng: &mut Rng, base: usize, x0: u64, x1: u64, words: usize) -> Option<usize> {
        let x = [x0, x1];
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

/// The lanes of `sum` equal to `2^15 − 1`, as their top bits (0 when there is none): the one
/// lane value where adding 1 flips the top bit (lanes never carry into each other: a lane sum is
/// at most `2^15 − 1 + 2^14`).
#[inline(always)]
fn ties(sum: u64) -> u64 {
    ((sum + ONES) ^ sum) & CARRY
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
        // Past CDF_MAX_ENDPOINTS: 32 rules in 4 pairs of words; then odd words, ties.
        for n in [33usize, 34, 37, 38, 41, 45, 64, 100] {
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
            assert_eq!(c.resolve(&mut rng, 0, x, 0, 1), want, "low {low:#x}");
        }
        // No tie: the top bits decide and nothing more is drawn.
        let mut rng = Rng::new(1);
        let before = rng.clone();
        assert_eq!(
            c.resolve(&mut rng, 0, 0x7FFF, 0, 1),
            Some(0),
            "h = 0 < top bits"
        );
        assert_eq!(rng, before);
        assert_eq!(
            c.resolve(&mut rng, 0, 0, 0, 1),
            None,
            "h = 2^15 − 1 matches nothing"
        );
        assert_eq!(
            c.resolve(&mut rng, 0, 0x7FFF_0000, 0, 1),
            Some(1),
            "rule 1 at h = 0"
        );
    }

    /// `C_i` of the rules `t`, as `(first 64 bits after the point, the k = 31(i+1) − 64 bits
    /// after those, k)`, from `N_i = 2^e − Π (2^31 − t_j)` in base-2^32 limbs: an independent
    /// route to the bounds (the sampler works on `R_i` in 64-bit limbs).
    fn reference_cdf(t: &[u32]) -> Vec<(u64, Vec<u32>, usize)> {
        let mut r: Vec<u32> = vec![1];
        let mut out = Vec::new();
        for (i, &ti) in t.iter().enumerate() {
            let mut carry = 0u64;
            for limb in r.iter_mut() {
                let v = u64::from(*limb) * u64::from((1u32 << 31) - ti) + carry;
                *limb = v as u32;
                carry = v >> 32;
            }
            if carry != 0 {
                r.push(carry as u32);
            }
            let e = 31 * (i + 1);
            // N = 2^e − R, e bits (limb by limb with borrow).
            let mut n_limbs = vec![0u32; e.div_ceil(32) + 1];
            n_limbs[e / 32] |= 1 << (e % 32);
            let mut borrow = 0i64;
            for (w, limb) in n_limbs.iter_mut().enumerate() {
                let v = i64::from(*limb) - i64::from(r.get(w).copied().unwrap_or(0)) - borrow;
                borrow = i64::from(v < 0);
                *limb = v.rem_euclid(1 << 32) as u32;
            }
            let bit = |b: usize| n_limbs[b / 32] >> (b % 32) & 1;
            // Bit j after the point is bit e − j of N (j = 1, 2, ...).
            let after = |j: usize| if j <= e { bit(e - j) } else { 0 };
            let top = (1..=64).fold(0u64, |v, j| v << 1 | u64::from(after(j)));
            let k = e.saturating_sub(64);
            let rest: Vec<u32> = (65..=64 + k).map(after).collect();
            out.push((top, rest, k));
        }
        out
    }

    #[test]
    fn cdf_bounds_are_the_exact_cumulative_probabilities() {
        for n in 2..=CDF_MAX_ENDPOINTS {
            let c = Cascade::new(n);
            let Sampler::Cdf(cdf) = &c.sampler else {
                panic!("n {n}: small cascades sample from the CDF");
            };
            assert!(cdf
                .bounds
                .windows(2)
                .all(|w| w[0] < w[1] || w[1] == u64::MAX));
            assert!(cdf.bounds[n - 1..].iter().all(|&b| b == u64::MAX));
            let probs = endpoint_probabilities(n);
            let mut cumulative = 0.0;
            for (i, (top, rest, k)) in reference_cdf(c.thresholds()).into_iter().enumerate() {
                let inexact = rest.contains(&1);
                // An exact C_i · 2^64 = X: U < C_i iff u ≤ X − 1.
                let want = if inexact { top } else { top - 1 };
                assert_eq!(cdf.bounds[i], want, "n {n} boundary {i}");
                cumulative += probs[i].effective;
                let approx = cdf.bounds[i] as f64 / 2f64.powi(64);
                assert!((approx - cumulative).abs() < 1e-12, "n {n} boundary {i}");
                let frac = &cdf.fractions[i];
                if !inexact {
                    assert!(frac.is_empty(), "n {n} boundary {i}");
                    continue;
                }
                // The fraction's limbs, most significant first, hold the k bits after the 64.
                let top_bits = fraction_bits(i).1 as usize;
                assert_eq!(top_bits + 64 * (frac.len() - 1), k, "n {n} boundary {i}");
                let got: Vec<u32> = frac
                    .iter()
                    .enumerate()
                    .flat_map(|(w, &limb)| {
                        let len = if w == 0 { top_bits } else { 64 };
                        (0..len).rev().map(move |b| (limb >> b & 1) as u32)
                    })
                    .collect();
                assert_eq!(got, rest, "n {n} boundary {i}");
            }
        }
    }

    /// A draw equal to a bound is settled by the bits after it: more bits of `U` equal to the
    /// fraction's move on to the next limb; the first that differ decide.
    #[test]
    fn a_draw_on_a_bound_is_settled_by_the_fraction() {
        let c = Cascade::new(CDF_MAX_ENDPOINTS);
        let Sampler::Cdf(cdf) = &c.sampler else {
            unreachable!("32 endpoints sample from the CDF")
        };
        let i = CDF_MAX_ENDPOINTS - 2; // the longest fraction: 31·31 − 64 bits
        let frac = &cdf.fractions[i];
        let top = fraction_bits(i).1;
        assert!(frac.len() > 10 && top > 0 && top < 64);
        // Draws as the sampler reads them: the first limb's bits on top of a 64-bit output.
        let raw = |w: usize, v: u64| if w == 0 { v << (64 - top) } else { v };
        let mut tried = 0;
        for at in [0, 5, frac.len() - 1] {
            let max = if at == 0 { (1u64 << top) - 1 } else { u64::MAX };
            for (delta, want) in [(-1i64, i), (1, i + 1)] {
                if (delta < 0 && frac[at] == 0) || (delta > 0 && frac[at] == max) {
                    continue;
                }
                tried += 1;
                let mut w = 0;
                let got = cdf.settle(i, || {
                    let v = if w < at {
                        frac[w]
                    } else {
                        frac[w].wrapping_add_signed(delta)
                    };
                    let r = raw(w, v);
                    w += 1;
                    r
                });
                assert_eq!(got, want, "limb {at} {delta:+}");
                assert_eq!(w, at + 1, "limb {at}: draws");
            }
        }
        assert!(tried >= 4);
        // All bits equal to C_i's: U = C_i, not below it.
        let mut w = 0;
        let got = cdf.settle(i, || {
            w += 1;
            raw(w - 1, frac[w - 1])
        });
        assert_eq!((got, w), (i + 1, frac.len()));
        // An exact boundary (C_0 = t_0 / 2^31) and the padding: no more bits.
        assert!(cdf.fractions[0].is_empty());
        assert_eq!(cdf.settle(0, || unreachable!()), 0);
        assert_eq!(
            cdf.settle(CDF_MAX_ENDPOINTS - 1, || unreachable!()),
            CDF_MAX_ENDPOINTS - 1
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
