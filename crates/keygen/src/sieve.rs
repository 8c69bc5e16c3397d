//! The sieve that spares Miller-Rabin tests: which odd numbers in a window after a random
//! start have no prime factor below the sieve limit.
//!
//! Of random odd numbers, about 1.12 / ln(limit) have no factor below `limit` (Mertens),
//! so sieving with every prime below 2^20 leaves 8 % where AWS-LC's own trial division
//! (its first 1,024 primes, up to 8,161) leaves 12.5 %: a third fewer Miller-Rabin
//! tests, each a full modular exponentiation, for the cost of one residue per small
//! prime per window.

use std::sync::OnceLock;

/// The largest sieve limit the residue arithmetic allows (see [`residues`]).
pub(crate) const MAX_LIMIT: u32 = 1 << 21;

/// Odd primes below `limit` (3, 5, 7, ...), by the sieve of Eratosthenes.
pub(crate) fn odd_primes_below(limit: u32) -> Vec<u32> {
    let limit = limit.min(MAX_LIMIT) as usize;
    let mut composite = vec![false; limit];
    let mut primes = Vec::new();
    for n in (3..limit).step_by(2) {
        if composite[n] {
            continue;
        }
        primes.push(n as u32);
        for multiple in (n * n..limit).step_by(2 * n) {
            composite[multiple] = true;
        }
    }
    primes
}

/// The primes the key generator sieves with for primes of `bits` bits: below 2^20 for
/// 2,048-bit primes (4,096-bit keys), below 2^18 for smaller ones, whose Miller-Rabin
/// tests cost an eighth as much; below 2^16 in unoptimised builds, where the residue
/// loop runs some 20 times slower. Each limit is about where one more residue costs
/// what the Miller-Rabin tests it spares save.
pub(crate) fn sieve_primes(bits: u32) -> &'static [u32] {
    static PRIMES: OnceLock<Vec<u32>> = OnceLock::new();
    let primes = PRIMES.get_or_init(|| odd_primes_below(1 << 20));
    let limit = match bits {
        _ if cfg!(debug_assertions) => 1 << 16,
        0..=1024 => 1 << 18,
        _ => 1 << 20,
    };
    &primes[..primes.partition_point(|&p| p < limit)]
}

/// `number mod p` for each of `primes` (all below [`MAX_LIMIT`]), `number` given as
/// big-endian bytes.
///
/// One pass over the number's 32-bit digits, most significant first, carrying every
/// prime's remainder: `r' = (r·2^32 + digit) mod p`. With `r < p < 2^21` the dividend is
/// below 2^53, so it and its quotient estimate through `1/p` in `f64` are off by at most
/// one, which one correction each way fixes; the primes are independent, so the loop runs
/// at multiplier throughput rather than at a division's latency.
pub(crate) fn residues(number: &[u8], primes: &[u32]) -> Vec<u32> {
    debug_assert!(primes.iter().all(|&p| p > 1 && p < MAX_LIMIT));
    let inverses: Vec<f64> = primes.iter().map(|&p| 1.0 / f64::from(p)).collect();
    let mut remainders = vec![0u32; primes.len()];
    let padding = (4 - number.len() % 4) % 4;
    let padded: Vec<u8> = std::iter::repeat_n(0, padding)
        .chain(number.iter().copied())
        .collect();
    for chunk in padded.chunks_exact(4) {
        let digit = u64::from(u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]));
        for ((r, &p), &inverse) in remainders.iter_mut().zip(primes).zip(&inverses) {
            let dividend = (u64::from(*r) << 32) | digit;
            let p = i64::from(p);
            let quotient = (dividend as f64 * inverse) as i64;
            let mut rest = dividend as i64 - quotient * p;
            if rest < 0 {
                rest += p;
            } else if rest >= p {
                rest -= p;
            }
            *r = rest as u32;
        }
    }
    remainders
}

/// Which of the odd numbers `start + 2k`, `k` in `0..window`, survive: no factor among
/// `primes` (given `start`'s residues) and `start + 2k − 1` prime to `e`, a prime
/// (`e_residue` = `start mod e`), as RSA needs of its primes.
pub(crate) fn survivors(
    primes: &[u32],
    residues: &[u32],
    e: u32,
    e_residue: u32,
    window: usize,
) -> Vec<usize> {
    let mut struck = vec![false; window];
    let mut strike = |p: u32, first: u64| {
        let mut k = first as usize;
        while k < window {
            struck[k] = true;
            k += p as usize;
        }
    };
    for (&p, &r) in primes.iter().zip(residues) {
        // start + 2k ≡ 0 (mod p)  ⇔  k ≡ (p − r)·2⁻¹, and 2⁻¹ ≡ (p + 1)/2 for odd p.
        let half = u64::from(p).div_ceil(2);
        strike(p, (u64::from(p - r) % u64::from(p)) * half % u64::from(p));
    }
    // start + 2k − 1 ≡ 0 (mod e)  ⇔  k ≡ (1 − r)·2⁻¹.
    let (e64, r) = (u64::from(e), u64::from(e_residue));
    strike(e, (1 + e64 - r) % e64 * e64.div_ceil(2) % e64);
    struck
        .iter()
        .enumerate()
        .filter_map(|(k, &gone)| (!gone).then_some(k))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primes_below_a_limit_are_the_odd_primes() {
        assert_eq!(odd_primes_below(30), [3, 5, 7, 11, 13, 17, 19, 23, 29]);
        // π(2^20) = 82,025, less the prime 2.
        assert_eq!(odd_primes_below(1 << 20).len(), 82_024);
    }

    #[test]
    fn residues_agree_with_plain_division() {
        let primes = odd_primes_below(MAX_LIMIT);
        let primes: Vec<u32> = primes
            .iter()
            .copied()
            .step_by(97)
            .chain([2_097_143])
            .collect();
        let numbers: [&[u8]; 4] = [
            &[0xff; 256],
            &[0x80, 0, 0, 0, 0, 0, 0, 1],
            &[0x12, 0x34, 0x56],
            &[
                0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10, 0x0f, 0x1e, 0x2d,
            ],
        ];
        for number in numbers {
            let got = residues(number, &primes);
            for (&p, &r) in primes.iter().zip(&got) {
                let want = number
                    .iter()
                    .fold(0u64, |acc, &b| ((acc << 8) | u64::from(b)) % u64::from(p));
                assert_eq!(u64::from(r), want, "{number:02x?} mod {p}");
            }
        }
    }

    #[test]
    fn survivors_are_exactly_the_unsieved_offsets() {
        let primes = odd_primes_below(200);
        let start: u64 = 1_000_001;
        let residues = residues(&start.to_be_bytes(), &primes);
        let e = 17;
        let got = survivors(&primes, &residues, e, (start % 17) as u32, 500);
        let want: Vec<usize> = (0..500)
            .filter(|&k| {
                let n = start + 2 * k as u64;
                primes.iter().all(|&p| !n.is_multiple_of(u64::from(p)))
                    && !(n - 1).is_multiple_of(17)
            })
            .collect();
        assert_eq!(got, want);
    }
}
