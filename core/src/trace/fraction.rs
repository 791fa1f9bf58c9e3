//! Exact probabilities of trace outcomes: products of the kernel's 31-bit statistic thresholds
//! as reduced fractions over powers of two, plus the nominal fraction kube-proxy meant.

use std::fmt::Write as _;

use super::Probability;
use crate::netfilter::Branch;

/// A little unsigned big integer: enough for products of 31-bit thresholds.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Big(Vec<u32>);

impl Big {
    fn one() -> Big {
        Big(vec![1])
    }
    fn mul(&mut self, m: u32) {
        let mut carry: u64 = 0;
        for limb in &mut self.0 {
            let v = u64::from(*limb) * u64::from(m) + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
        if carry > 0 {
            self.0.push(carry as u32);
        }
        while self.0.len() > 1 && *self.0.last().expect("non-empty") == 0 {
            self.0.pop();
        }
    }
    fn is_zero(&self) -> bool {
        self.0.iter().all(|&l| l == 0)
    }
    fn trailing_zeros(&self) -> u32 {
        let mut n = 0;
        for &l in &self.0 {
            if l == 0 {
                n += 32;
            } else {
                return n + l.trailing_zeros();
            }
        }
        n
    }
    fn shr(&mut self, bits: u32) {
        let (words, rest) = ((bits / 32) as usize, bits % 32);
        self.0.drain(..words.min(self.0.len()));
        if rest > 0 {
            let mut carry = 0u32;
            for limb in self.0.iter_mut().rev() {
                let v = *limb;
                *limb = (v >> rest) | carry;
                carry = v << (32 - rest);
            }
        }
        if self.0.is_empty() {
            self.0.push(0);
        }
        while self.0.len() > 1 && *self.0.last().expect("non-empty") == 0 {
            self.0.pop();
        }
    }
    fn to_decimal(&self) -> String {
        let mut v = self.0.clone();
        let mut parts = Vec::new();
        while v.iter().any(|&l| l != 0) {
            let mut rem: u64 = 0;
            for limb in v.iter_mut().rev() {
                let cur = (rem << 32) | u64::from(*limb);
                *limb = (cur / 1_000_000_000) as u32;
                rem = cur % 1_000_000_000;
            }
            parts.push(rem as u32);
        }
        match parts.split_last() {
            None => "0".into(),
            Some((first, rest)) => {
                let mut s = first.to_string();
                for p in rest.iter().rev() {
                    let _ = write!(s, "{p:09}");
                }
                s
            }
        }
    }
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    // Nominal shares are small: 64-bit division while both fit.
    while b != 0 {
        if let (Ok(x), Ok(y)) = (u64::try_from(a), u64::try_from(b)) {
            return u128::from(gcd64(x, y));
        }
        (a, b) = (b, a % b);
    }
    a
}

fn gcd64(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// A path's probability: kernel numerator over 2^exp, a decimal, and the nominal fraction.
#[derive(Clone, Debug)]
pub(super) struct Prob {
    num: Big,
    exp: u32,
    decimal: f64,
    nom: (u128, u128),
}

impl Prob {
    /// The probability of a path that makes these statistic decisions, in order.
    pub(super) fn of(branches: &[Branch]) -> Prob {
        let mut p = Prob::one();
        for b in branches {
            p.times_branch(b.threshold, b.taken, b.nominal);
        }
        p
    }

    /// Probability 1 (no random decision yet).
    pub(super) fn one() -> Prob {
        Prob {
            num: Big::one(),
            exp: 0,
            decimal: 1.0,
            nom: (1, 1),
        }
    }
    /// Multiplies by `t/2^31` (taken) or `(2^31-t)/2^31` (not taken); `k` = nominal 1/k.
    #[cfg(test)]
    fn branch(&self, threshold: u32, taken: bool, k: u128) -> Prob {
        let mut p = self.clone();
        p.times_branch(threshold, taken, k);
        p
    }

    /// [`Prob::branch`] in place.
    fn times_branch(&mut self, threshold: u32, taken: bool, k: u128) {
        let f = if taken {
            threshold
        } else {
            (1u32 << 31) - threshold.min(1 << 31)
        };
        self.num.mul(f);
        let (n, d) = if taken {
            (1, k)
        } else {
            (k.saturating_sub(1), k)
        };
        let (mut a, mut b) = (self.nom.0.saturating_mul(n), self.nom.1.saturating_mul(d));
        let g = gcd(a, b).max(1);
        a /= g;
        b /= g;
        self.exp += 31;
        self.decimal = self.decimal * f64::from(f) / 2147483648.0;
        self.nom = (a, b);
    }
    /// Multiplies by the chance that `numgen random mod n` yields `k`
    /// ([`numgen::draws`](crate::select::numgen::draws) out of `2^32`); nominally `1/n`.
    pub(super) fn numgen(&self, k: u32, n: u32) -> Prob {
        if n <= 1 {
            return self.clone();
        }
        // At most ⌈2^32/2⌉ = 2^31 for n ≥ 2: fits a u32.
        let count = crate::select::numgen::draws(k, n) as u32;
        let mut num = self.num.clone();
        num.mul(count);
        let (mut a, mut b) = (self.nom.0, self.nom.1.saturating_mul(u128::from(n)));
        let g = gcd(a, b).max(1);
        a /= g;
        b /= g;
        Prob {
            num,
            exp: self.exp + 32,
            decimal: self.decimal * f64::from(count) / 4294967296.0,
            nom: (a, b),
        }
    }

    /// The public form: reduced fraction, decimal, nominal.
    pub(super) fn public(&self) -> Probability {
        let mut num = self.num.clone();
        let mut exp = self.exp;
        let fraction = if num.is_zero() {
            "0".to_owned()
        } else {
            let tz = num.trailing_zeros().min(exp);
            num.shr(tz);
            exp -= tz;
            let den = if exp <= 127 {
                (1u128 << exp).to_string()
            } else {
                format!("2^{exp}")
            };
            if exp == 0 {
                num.to_decimal()
            } else {
                format!("{}/{den}", num.to_decimal())
            }
        };
        Probability {
            fraction,
            decimal: self.decimal,
            nominal: if self.nom.1 == 1 {
                self.nom.0.to_string()
            } else {
                format!("{}/{}", self.nom.0, self.nom.1)
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_fraction_reduces_powers_of_two() {
        let p = Prob::one().branch(1 << 30, true, 2);
        assert_eq!(p.public().fraction, "1/2");
        assert_eq!(p.public().nominal, "1/2");
        let p = Prob::one()
            .branch(715827883, false, 3)
            .branch(1 << 30, true, 2);
        let pp = p.public();
        assert_eq!(pp.nominal, "1/3");
        // (2^31 - 715827883) * 2^30 / 2^62 = 1431655765 / 2^32
        assert_eq!(pp.fraction, "1431655765/4294967296");
        assert!((pp.decimal - 0.333333333256).abs() < 1e-11);
    }

    #[test]
    fn numgen_shares_follow_reciprocal_scale() {
        // 2^32 = 3·1431655765 + 1: value 0 takes the extra draw.
        let p: Vec<Probability> = (0..3).map(|k| Prob::one().numgen(k, 3).public()).collect();
        assert_eq!(p[0].fraction, "715827883/2147483648");
        assert_eq!(p[1].fraction, "1431655765/4294967296");
        assert_eq!(p[2].fraction, "1431655765/4294967296");
        assert!(p.iter().all(|q| q.nominal == "1/3"));
        assert_eq!(Prob::one().numgen(1, 2).public().fraction, "1/2");
        assert_eq!(Prob::one().numgen(0, 1).public().fraction, "1");
    }

    #[test]
    fn big_to_decimal() {
        let mut b = Big::one();
        for _ in 0..5 {
            b.mul(1_000_000_007);
        }
        assert_eq!(
            b.to_decimal(),
            "1000000035000000490000003430000012005000016807"
        );
    }
}
