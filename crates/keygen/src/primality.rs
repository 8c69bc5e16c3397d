//! Primality tests in constant time: Fermat's to base 2 as a cheap filter, then
//! Miller-Rabin with the round count FIPS 186-5 asks for.
//!
//! Every candidate the sieve leaves first takes Fermat's test to base 2 (2^(w−1) ≡ 1 mod
//! w), as GMP and OpenSSL's `BN_mod_exp_mont_word` do: with base 2 each multiplication by
//! the base is a doubling, so it costs the exponent's squarings and little else, about a
//! fifth less than a Miller-Rabin round's exponentiation with AWS-LC's 5-bit window
//! (a multiplication by a table entry per five squarings, and the table). Nearly every
//! composite fails it; it decides nothing about one that passes.
//!
//! AWS-LC's `BN_primality_test` runs at least 16 rounds on a prime whatever its size:
//! its bases are drawn so that some fall out of range and do not count, and blinding how
//! many were needed takes 16. Each round on a prime also squares to the prime's full bit
//! length, so the two primes of a key cost about a third of its search. Here the bases
//! are uniform (up to 2^-(64·words − 1)) by construction, so a prime gets exactly the
//! rounds its size needs: AWS-LC's own count of uniform rounds
//! (`BN_prime_checks_for_size`), which is FIPS 186-5 Table B.1's for the stricter error
//! bound: 5 rounds for 1,024-bit primes (2^-112), 4 for 1,536 (2^-128) and 2,048 bits
//! (2^-144). A composite is almost always rejected by the first round, so only a prime
//! gets the others.
//!
//! Each round is AWS-LC's `bn_miller_rabin_iteration`, step for step, on its public
//! functions: the exponentiation is `BN_mod_exp_mont_consttime`, comparisons are
//! `BN_equal_consttime`, and the only branches on the number are the ones AWS-LC takes
//! too: stopping early once a round has shown it composite. One difference: where
//! AWS-LC squares to the number's bit length whatever `a` (the power of two in w − 1) is,
//! to hide `a`, the squarings here run to [`A_BOUND`], which hides any `a` below it, and
//! the key search refuses candidates whose `a` reaches it ([`a_below_bound`]: one in
//! 2^63). That spares a prime's rounds almost all their squarings, 6 % of a 4,096-bit
//! key's search and 11 % of a 2,048-bit one's. Numbers whose `a` reaches the bound (none
//! the search tests) are still judged right, squaring to their length.

use subtle::{ConditionallySelectable, ConstantTimeEq};
use zeroize::Zeroizing;

use crate::KeygenError;
use crate::bn::{BigNum, BnCtx, Limb, MontCtx};

/// The squarings of a Miller-Rabin round run to this bound rather than the number's
/// length, for numbers whose `a` (the power of two in w − 1) is below it.
pub(crate) const A_BOUND: u32 = 64;

/// Whether `w`'s `a` is below [`A_BOUND`], i.e. w ≢ 1 (mod 2^64): the key search tests
/// only such candidates, so a round's time does not tell their `a`.
pub(crate) fn a_below_bound(w: &BigNum) -> bool {
    w.low_u64() != 1
}

/// Miller-Rabin rounds for a random candidate of `bits` bits: AWS-LC's
/// `BN_prime_checks_for_size`, from Damgård, Landrock and Pomerance's bound for random
/// candidates; from 476 bits on it matches (or exceeds) FIPS 186-5 Table B.1.
pub(crate) fn rounds_for(bits: u32) -> u32 {
    match bits {
        3747.. => 3,
        1345.. => 4,
        476.. => 5,
        400.. => 6,
        347.. => 7,
        308.. => 8,
        55.. => 27,
        _ => 34,
    }
}

/// Whether `w` is a probable prime: Fermat's test to base 2, then [`rounds_for`]
/// Miller-Rabin rounds with random bases.
///
/// For an odd `w` above 3 (every candidate of the key search), the time depends on `w`
/// only through its width and, for a composite, how soon it was caught. Smaller or even
/// numbers are answered directly.
pub(crate) fn is_probable_prime(w: &BigNum, ctx: &mut BnCtx) -> Result<bool, KeygenError> {
    let bits = w.bits();
    if bits <= 2 || w.mod_word(2)? == 0 {
        // 0 to 3, or even: only 2 and 3 are prime.
        return Ok(w.mod_word(4)? >= 2 && bits == 2);
    }
    let test = MillerRabin::new(w, ctx)?;
    if !test.passes_fermat_base_two(ctx)? {
        return Ok(false);
    }
    for _ in 0..rounds_for(bits) {
        if !test.round(ctx)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// One odd number w > 3 set up for Miller-Rabin rounds (FIPS 186-5 B.3.1, steps 1 to 3):
/// w − 1 = m·2^a with m odd.
struct MillerRabin<'w> {
    w: &'w BigNum,
    mont: MontCtx<'w>,
    /// (w − 1) / 2^a, as wide as w.
    m: BigNum,
    /// The power of two in w − 1; secret when w is prime.
    a: u32,
    /// w's bits.
    bits: u32,
    /// The squarings of a round run this far: [`A_BOUND`] when `a` is below it (for
    /// every number the key search tests), else w's bit length.
    squarings: u32,
    /// w's 64-bit words: R = 2^(64·words).
    words: u32,
    /// 0, 1 and w − 1, the bases that prove nothing.
    zero: BigNum,
    one: BigNum,
    w_minus_one: BigNum,
    /// 1 and w − 1 in Montgomery form.
    one_mont: BigNum,
    minus_one_mont: BigNum,
}

impl<'w> MillerRabin<'w> {
    fn new(w: &'w BigNum, ctx: &mut BnCtx) -> Result<Self, KeygenError> {
        let bits = w.bits();
        let words = bits.div_ceil(64);
        let mut bytes = Zeroizing::new(w.to_be_bytes_padded(8 * words as usize)?);
        // w is odd, so w − 1 is w with its lowest bit cleared.
        if let Some(last) = bytes.last_mut() {
            *last &= !1;
        }
        let w_minus_one = BigNum::from_be_bytes(&bytes)?;
        let a = w_minus_one.low_zero_bits();
        let mut limbs = Zeroizing::new(limbs_from_be(&bytes));
        shift_right_secret(&mut limbs, a, 64 * words);
        let m = BigNum::from_be_bytes(&be_from_limbs(&limbs))?;
        let mont = MontCtx::new(w, ctx)?;
        let one = BigNum::from_word(1)?;
        let one_mont = mont.montgomery_form(&one, ctx)?;
        let minus_one_mont = mont.montgomery_form(&w_minus_one, ctx)?;
        // A branch on the secret `a`, but one side only: the search tests no number whose
        // `a` reaches the bound (`a_below_bound`).
        let squarings = if a < A_BOUND { A_BOUND.min(bits) } else { bits };
        Ok(Self {
            w,
            mont,
            m,
            a,
            bits,
            squarings,
            words,
            zero: BigNum::new()?,
            one,
            w_minus_one,
            one_mont,
            minus_one_mont,
        })
    }

    /// Fermat's test to base 2: whether 2^(w − 1) ≡ 1 (mod w). Every odd prime passes
    /// and nearly every composite the sieve leaves fails, so it filters the candidates
    /// before the rounds with random bases, for less: base 2 makes each multiplication
    /// by the base a doubling, where a round's exponentiation multiplies by an entry of a
    /// 32-entry table once per five squarings (AWS-LC's fixed 5-bit window), as GMP and
    /// OpenSSL's `BN_mod_exp_mont_word` do. It proves nothing about a number that passes:
    /// the rounds still decide.
    ///
    /// Left to right over w − 1's bits, in Montgomery form: at each bit a squaring
    /// (AWS-LC's), then a doubling computed whatever the bit and kept by a masked
    /// select, so the time depends on w's width alone (w is secret when prime).
    fn passes_fermat_base_two(&self, ctx: &mut BnCtx) -> Result<bool, KeygenError> {
        // 1 in Montgomery form, as wide as AWS-LC's Montgomery results (the modulus's
        // width), so that every squaring takes its assembly path.
        let mut z = self.one_mont.try_clone()?;
        let mut w = Zeroizing::new(vec![0; z.limbs().len()]);
        for (slot, &limb) in w.iter_mut().zip(self.w.limbs()) {
            *slot = limb;
        }
        // w − 1's bits from its top one (w's, as w is odd) down to bit 1; its bit 0 is
        // zero, which takes the last squaring alone.
        for bit in (1..self.bits as usize).rev() {
            self.mont.square(&mut z, ctx)?;
            let set = (w[bit / LIMB_BITS] >> (bit % LIMB_BITS)) & 1;
            double_mod_if(z.limbs_mut(), &w, set.wrapping_neg());
        }
        self.mont.square(&mut z, ctx)?;
        Ok(bool::from(z.equal_consttime(&self.one_mont)))
    }

    /// A uniformly random base in [2, w − 2] (step 4.1). A random x below
    /// 2^(bits − 1)·R, which is below w·R, is reduced to x·R⁻¹ mod w by one
    /// constant-time Montgomery reduction: a bijection of x mod w, so uniform on [0, w)
    /// up to w / 2^(bits − 1 + 64·words) < 2^-(64·words − 1). No rejection loop whose
    /// length would depend on w's value: only 0, 1 and w − 1 are drawn again, with
    /// probability 3/w, which at key sizes never happens (and leaks nothing when it
    /// does: w is public when that small).
    fn random_base(&self, ctx: &mut BnCtx) -> Result<BigNum, KeygenError> {
        loop {
            let x = BigNum::random_below_power_of_two(self.bits - 1 + 64 * self.words)?;
            let base = self.mont.reduce(&x, ctx)?;
            let out_of_range = base.equal_consttime(&self.zero)
                | base.equal_consttime(&self.one)
                | base.equal_consttime(&self.w_minus_one);
            if !bool::from(out_of_range) {
                return Ok(base);
            }
        }
    }

    /// One round (steps 4.1 to 4.5): false when the random base proves w composite.
    fn round(&self, ctx: &mut BnCtx) -> Result<bool, KeygenError> {
        let base = self.random_base(ctx)?;
        let z = self.mont.pow(&base, &self.m, ctx)?;
        let mut z = self.mont.montgomery_form(&z, ctx)?;
        let mut possibly_prime =
            z.equal_consttime(&self.one_mont) | z.equal_consttime(&self.minus_one_mont);
        // Squarings up to the bound hide a; once a round has shown w composite, stopping
        // is no leak (a composite is thrown away), as in AWS-LC.
        for j in 1..self.squarings {
            if bool::from(j.ct_eq(&self.a) & !possibly_prime) {
                break;
            }
            self.mont.square(&mut z, ctx)?;
            possibly_prime |= z.equal_consttime(&self.minus_one_mont);
            // z = 1 without −1 before it: 1 has a square root other than ±1.
            if bool::from(z.equal_consttime(&self.one_mont) & !possibly_prime) {
                break;
            }
        }
        Ok(bool::from(possibly_prime))
    }
}

/// Bits in a word of an AWS-LC number.
const LIMB_BITS: usize = Limb::BITS as usize;

/// `z ← 2·z mod w` when `double` is all ones, `z` unchanged when it is zero, for `z` <
/// `w` (as wide as each other), in time that depends on the width alone: z + (z AND
/// double) − w, then w added back under a mask when the sum was below w (the
/// subtraction borrowed and the sum had not carried out of the top word).
fn double_mod_if(z: &mut [Limb], w: &[Limb], double: Limb) {
    let (mut carry, mut borrow): (Limb, Limb) = (0, 0);
    for (limb, &modulus) in z.iter_mut().zip(w) {
        let sum = (*limb << 1 & double) | (*limb & !double) | carry;
        carry = (*limb >> (LIMB_BITS - 1)) & double;
        let (difference, borrowed) = sum.overflowing_sub(modulus);
        let (difference, borrowed_again) = difference.overflowing_sub(borrow);
        borrow = Limb::from(borrowed | borrowed_again);
        *limb = difference;
    }
    let below_w = (borrow & !carry).wrapping_neg();
    let mut carry: Limb = 0;
    for (limb, &modulus) in z.iter_mut().zip(w) {
        let (sum, carried) = limb.overflowing_add(modulus & below_w);
        let (sum, carried_again) = sum.overflowing_add(carry);
        carry = Limb::from(carried | carried_again);
        *limb = sum;
    }
}

/// Big-endian bytes (a multiple of 8 long) as 64-bit words, least significant first.
fn limbs_from_be(bytes: &[u8]) -> Vec<u64> {
    bytes
        .rchunks_exact(8)
        .map(|chunk| {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            u64::from_be_bytes(word)
        })
        .collect()
}

/// The inverse of [`limbs_from_be`].
fn be_from_limbs(limbs: &[u64]) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(
        limbs
            .iter()
            .rev()
            .flat_map(|limb| limb.to_be_bytes())
            .collect(),
    )
}

/// `limbs >>= shift` for a secret `shift` below `max_shift`: a barrel shifter, one stage
/// per bit of the shift, each stage computed and kept or dropped by a masked select, so
/// the time depends on `max_shift` alone.
fn shift_right_secret(limbs: &mut [u64], shift: u32, max_shift: u32) {
    let mut shifted = Zeroizing::new(vec![0; limbs.len()]);
    let stages = u32::BITS - max_shift.saturating_sub(1).leading_zeros();
    for stage in 0..stages {
        shift_right_public(limbs, 1 << stage, &mut shifted);
        let take = subtle::Choice::from(((shift >> stage) & 1) as u8);
        for (limb, &moved) in limbs.iter_mut().zip(shifted.iter()) {
            limb.conditional_assign(&moved, take);
        }
    }
}

/// `out = limbs >> shift` for a public `shift`.
fn shift_right_public(limbs: &[u64], shift: u32, out: &mut [u64]) {
    let (words, bits) = ((shift / 64) as usize, shift % 64);
    for (i, slot) in out.iter_mut().enumerate() {
        let low = limbs.get(i + words).copied().unwrap_or(0);
        let high = limbs.get(i + words + 1).copied().unwrap_or(0);
        *slot = if bits == 0 {
            low
        } else {
            (low >> bits) | (high << (64 - bits))
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(hex: &str) -> BigNum {
        let digits = if hex.len() % 2 == 1 {
            format!("0{hex}")
        } else {
            hex.to_owned()
        };
        let bytes: Vec<u8> = (0..digits.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).expect("hex"))
            .collect();
        BigNum::from_be_bytes(&bytes).expect("a BIGNUM")
    }

    fn decimal(n: u128) -> BigNum {
        number(&format!("{n:x}"))
    }

    /// 2^k + 1 or 2^k − 1.
    fn power_of_two_plus(k: u32, plus: bool) -> BigNum {
        let mut bytes = vec![0u8; k as usize / 8 + 1];
        bytes[0] = 1 << (k % 8);
        let mut n = BigNum::from_be_bytes(&bytes).expect("2^k");
        if plus {
            n.add_word(1).expect("add");
        } else {
            n.sub_word(1).expect("sub");
        }
        n
    }

    fn product(a: &BigNum, b: &BigNum) -> BigNum {
        BigNum::product(a, b, &mut BnCtx::new().expect("ctx")).expect("a product")
    }

    /// RFC 3526's 2048-bit MODP prime, 2^2048 − 2^1984 − 1 + 2^64·(⌊2^1918 π⌋ + 124476).
    fn modp_2048() -> BigNum {
        number(concat!(
            "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74",
            "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437",
            "4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED",
            "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05",
            "98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB",
            "9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B",
            "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718",
            "3995497CEA956AE515D2261898FA051015728E5A8AACAA68FFFFFFFFFFFFFFFF",
        ))
    }

    fn judged(n: &BigNum) -> bool {
        is_probable_prime(n, &mut BnCtx::new().expect("ctx")).expect("a verdict")
    }

    #[test]
    fn small_numbers_and_known_primes_are_judged_prime() {
        for p in [
            2u128,
            3,
            5,
            7,
            11,
            13,
            65_537,
            2_147_483_647,
            18_446_744_073_709_551_557,
        ] {
            assert!(judged(&decimal(p)), "{p} is prime");
        }
        // Mersenne primes 2^k − 1: a = 1 and every round squares to the full length.
        for k in [61, 89, 107, 127, 521, 607, 1279, 2203] {
            assert!(judged(&power_of_two_plus(k, false)), "2^{k} − 1 is prime");
        }
        assert!(judged(&modp_2048()), "the 2048-bit MODP prime");
        // A large power of two in p − 1: 65537 = 2^16 + 1 (above), 3·2^189 + 1, and
        // primes whose a is just below and at the squarings' bound, A_BOUND = 64:
        // k·2^63 + 1 and k'·2^64 + 1 (k and k' odd, checked with Python's pow).
        let mut proth = product(&power_of_two_plus(189, true), &decimal(3));
        proth.sub_word(2).expect("3·2^189 + 1");
        assert!(judged(&proth), "3·2^189 + 1 is prime");
        assert!(!a_below_bound(&proth));
        let below = number("80000000000000000000000000000000658000000000000001");
        assert!(judged(&below), "a prime with a = 63");
        assert!(a_below_bound(&below));
        let at = number("1000000000000000000000000000000000b0000000000000001");
        assert!(judged(&at), "a prime with a = 64");
        assert!(!a_below_bound(&at));
        assert!(a_below_bound(&modp_2048()));
    }

    #[test]
    fn composites_that_fool_weaker_tests_are_judged_composite() {
        let composites = [
            // 0, 1, 4 and even numbers
            0u128,
            1,
            4,
            1_000_000,
            // Carmichael numbers (Fermat liars for every coprime base)
            561,
            1_105,
            1_729,
            2_465,
            41_041,
            825_265,
            321_197_185,
            5_394_826_801,
            232_250_619_601,
            9_746_347_772_161,
            // strong pseudoprimes to base 2, to bases 2 and 3, to 2, 3, 5, 7, to the
            // first 9 primes, and to every prime up to 37 (Sorenson and Webster)
            2_047,
            1_373_653,
            3_215_031_751,
            3_825_123_056_546_413_051,
            318_665_857_834_031_151_167_461,
        ];
        for n in composites {
            assert!(!judged(&decimal(n)), "{n} is composite");
        }
        // Fermat numbers 2^32 + 1 = 641·6700417, 2^128 + 1 and 2^256 + 1: strong
        // pseudoprimes to base 2, with w − 1 a power of two.
        for k in [32, 128, 256] {
            assert!(
                !judged(&power_of_two_plus(k, true)),
                "2^{k} + 1 is composite"
            );
        }
        // Products of two primes: near 2^64, two Mersenne primes, RFC 3526's prime and
        // 2^1279 − 1.
        let big_products = [
            product(
                &decimal(18_446_744_073_709_551_557),
                &decimal(18_446_744_073_709_551_533),
            ),
            product(
                &power_of_two_plus(521, false),
                &power_of_two_plus(607, false),
            ),
            product(&modp_2048(), &power_of_two_plus(1279, false)),
        ];
        for n in &big_products {
            assert!(!judged(n), "a product of two primes, {} bits", n.bits());
        }
        for k in [1024, 2048, 2047] {
            assert!(
                !judged(&power_of_two_plus(k, false)),
                "2^{k} − 1 is composite"
            );
        }
    }

    fn fermat_base_two(n: &BigNum) -> bool {
        let mut ctx = BnCtx::new().expect("ctx");
        MillerRabin::new(n, &mut ctx)
            .and_then(|test| test.passes_fermat_base_two(&mut ctx))
            .expect("a verdict")
    }

    #[test]
    fn base_two_passes_primes_and_its_pseudoprimes_and_fails_other_composites() {
        for p in [
            5u128,
            7,
            11,
            65_537,
            2_147_483_647,
            18_446_744_073_709_551_557,
        ] {
            assert!(fermat_base_two(&decimal(p)), "{p} is prime");
        }
        for k in [61, 127, 521, 1279, 2203] {
            assert!(fermat_base_two(&power_of_two_plus(k, false)), "2^{k} − 1");
        }
        assert!(fermat_base_two(&modp_2048()), "the 2048-bit MODP prime");
        // Base-2 pseudoprimes (Fermat's, strong ones, Carmichael numbers, Fermat
        // numbers) pass it: the rounds with random bases are what reject them
        // (`composites_that_fool_weaker_tests_are_judged_composite`).
        for n in [341u128, 561, 645, 1_105, 1_729, 2_047, 3_215_031_751] {
            assert!(fermat_base_two(&decimal(n)), "{n} is a base-2 pseudoprime");
            assert!(!judged(&decimal(n)), "{n} is composite");
        }
        assert!(fermat_base_two(&power_of_two_plus(32, true)), "2^32 + 1");
        for n in [9u128, 15, 21, 1_000_001, 4_294_967_297 * 3] {
            assert!(!fermat_base_two(&decimal(n)), "{n} is composite");
        }
        let products = [
            product(
                &decimal(18_446_744_073_709_551_557),
                &decimal(18_446_744_073_709_551_533),
            ),
            product(&modp_2048(), &power_of_two_plus(1279, false)),
        ];
        for n in &products {
            assert!(
                !fermat_base_two(n),
                "a product of two primes, {} bits",
                n.bits()
            );
        }
        for k in [1024, 2048] {
            assert!(!fermat_base_two(&power_of_two_plus(k, false)), "2^{k} − 1");
        }
    }

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn modular_doubling_of_two_words_matches_plain_arithmetic() {
        // A modulus near the top of two words, where 2z carries out of the top word.
        let w: u128 = (1 << 127) + 12_345;
        let words = |n: u128| [n as Limb, (n >> 64) as Limb];
        for z in [
            0u128,
            1,
            w / 2,
            w / 2 + 1,
            w - 1,
            (1 << 126) + 7,
            3 << 125,
            1 << 64,
        ] {
            let mut doubled = words(z);
            double_mod_if(&mut doubled, &words(w), Limb::MAX);
            let want = if z >= w - z { z - (w - z) } else { 2 * z };
            assert_eq!(doubled, words(want), "2·{z} mod {w}");
            let mut kept = words(z);
            double_mod_if(&mut kept, &words(w), 0);
            assert_eq!(kept, words(z), "{z} kept");
        }
    }

    #[test]
    fn modular_doubling_matches_plain_arithmetic() {
        let doubled = |z: Limb, w: Limb, double: Limb| {
            let mut z = [z];
            double_mod_if(&mut z, &[w], double);
            z[0]
        };
        assert_eq!(
            doubled(Limb::MAX - 4, Limb::MAX, Limb::MAX),
            Limb::MAX - 8,
            "a carry out"
        );
        assert_eq!(doubled(5, 11, Limb::MAX), 10);
        assert_eq!(doubled(6, 11, Limb::MAX), 1);
        assert_eq!(doubled(10, 11, Limb::MAX), 9);
        for z in [0, 5, 6, 10] {
            assert_eq!(doubled(z, 11, 0), z, "{z} kept");
        }
        assert_eq!(doubled(Limb::MAX - 1, Limb::MAX, 0), Limb::MAX - 1);
    }

    #[test]
    fn a_secret_shift_matches_a_plain_one() {
        let limbs: Vec<u64> = vec![0x8000_0000_0000_0000, 0x0123_4567_89ab_cdef, 1 << 63];
        for shift in 0..192 {
            let mut secret = limbs.clone();
            shift_right_secret(&mut secret, shift, 192);
            let mut plain = vec![0; 3];
            shift_right_public(&limbs, shift, &mut plain);
            assert_eq!(secret, plain, "shift {shift}");
        }
        let mut shifted = vec![0; 3];
        shift_right_public(&limbs, 64, &mut shifted);
        assert_eq!(shifted, [0x0123_4567_89ab_cdef, 1 << 63, 0]);
        shift_right_public(&limbs, 4, &mut shifted);
        assert_eq!(
            shifted,
            [0xf800_0000_0000_0000, 0x0012_3456_789a_bcde, 1 << 59]
        );
    }

    #[test]
    fn round_counts_follow_the_table() {
        assert_eq!(rounds_for(512), 5);
        assert_eq!(rounds_for(1024), 5);
        assert_eq!(rounds_for(1536), 4);
        assert_eq!(rounds_for(2048), 4);
        assert_eq!(rounds_for(4096), 3);
        assert_eq!(rounds_for(64), 27);
        assert_eq!(rounds_for(10), 34);
    }
}
