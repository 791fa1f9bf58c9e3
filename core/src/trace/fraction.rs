//! Exact probabilities of trace outcomes: products of the kernel's 31-bit statistic thresholds
//! as reduced fractions over powers of two, plus the nominal fraction kube-proxy meant.

use std::fmt::Write as _;
use std::sync::Mutex;

use super::Probability;
use crate::fast::FastMap;
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
    #[cfg(test)]
    fn to_decimal(&self) -> String {
        let mut s = String::new();
        self.write_decimal(&mut s);
        s
    }

    /// Appends the number in decimal. Numbers of up to 16 limbs (a path of 16 statistic
    /// decisions) are converted on the stack.
    fn write_decimal(&self, out: &mut String) {
        const LIMBS: usize = 16;
        let mut stack = [0u32; LIMBS];
        let mut heap = Vec::new();
        let v: &mut [u32] = if self.0.len() <= LIMBS {
            stack[..self.0.len()].copy_from_slice(&self.0);
            &mut stack[..self.0.len()]
        } else {
            heap.extend_from_slice(&self.0);
            &mut heap
        };
        // Base-10^9 digits, least significant first: at most one per 29 bits.
        let mut parts_stack = [0u32; LIMBS * 32 / 29 + 1];
        let mut parts_heap = Vec::new();
        let mut len = 0;
        while v.iter().any(|&l| l != 0) {
            let mut rem: u64 = 0;
            for limb in v.iter_mut().rev() {
                let cur = (rem << 32) | u64::from(*limb);
                *limb = (cur / 1_000_000_000) as u32;
                rem = cur % 1_000_000_000;
            }
            if len < parts_stack.len() && parts_heap.is_empty() {
                parts_stack[len] = rem as u32;
            } else {
                if parts_heap.is_empty() {
                    parts_heap.extend_from_slice(&parts_stack[..len]);
                }
                parts_heap.push(rem as u32);
            }
            len += 1;
        }
        let parts: &[u32] = if parts_heap.is_empty() {
            &parts_stack[..len]
        } else {
            &parts_heap
        };
        match parts.split_last() {
            None => out.push('0'),
            Some((first, rest)) => {
                let _ = write!(out, "{first}");
                for p in rest.iter().rev() {
                    let _ = write!(out, "{p:09}");
                }
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
        // One limb per 31-bit factor, and one to spare.
        p.num.0.reserve(branches.len() + 1);
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
        // Sized for the digits: 2^31 ≈ 10^9.33 per limb, plus the denominator.
        let mut fraction = String::with_capacity(self.num.0.len() * 10 + 44);
        if num.is_zero() {
            fraction.push('0');
        } else {
            let tz = num.trailing_zeros().min(exp);
            num.shr(tz);
            exp -= tz;
            num.write_decimal(&mut fraction);
            if exp > 127 {
                let _ = write!(fraction, "/2^{exp}");
            } else if exp > 0 {
                let _ = write!(fraction, "/{}", 1u128 << exp);
            }
        }
        let mut nominal = String::with_capacity(24);
        let _ = write!(nominal, "{}", self.nom.0);
        if self.nom.1 != 1 {
            let _ = write!(nominal, "/{}", self.nom.1);
        }
        Probability {
            fraction,
            decimal: self.decimal,
            nominal,
        }
    }
}

/// The public forms a tracer has printed, by probability: the paths of every service port with
/// the same number of endpoints have the same probabilities, and printing one (a number of up
/// to ~300 digits, the nominal fraction) costs more than the rest of its trace.
#[derive(Debug, Default)]
pub(super) struct PublicForms(Mutex<FastMap<Box<[u32]>, Probability>>);

/// Forms kept at most; past it, new ones are printed and not kept.
const PUBLIC_FORMS: usize = 4096;

impl PublicForms {
    /// `p.public()`, printed once per tracer.
    pub(super) fn public(&self, p: &Prob) -> Probability {
        let mut key: Vec<u32> = Vec::with_capacity(p.num.0.len() + 9);
        key.extend_from_slice(&p.num.0);
        key.push(p.exp);
        for n in [p.nom.0, p.nom.1] {
            key.extend((0..4).map(|i| (n >> (32 * i)) as u32));
        }
        // A poisoned lock only means another trace panicked: print without the cache.
        let Ok(mut forms) = self.0.lock() else {
            return p.public();
        };
        if let Some(f) = forms.get(&key[..]) {
            return f.clone();
        }
        let f = p.public();
        if forms.len() < PUBLIC_FORMS {
            forms.insert(key.into_boxed_slice(), f.clone());
        }
        f
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
