//! The RSA key from its two primes, in AWS-LC's arithmetic, with FIPS 186-4 B.3.1's
//! checks.

use crate::bn::{self, BigNum, BnCtx, RsaParts};
use crate::{KeygenError, PUBLIC_EXPONENT};

/// The key from two primes, or `None` when FIPS 186-4 asks for others (|p − q| too small
/// or d too small; each has probability below 2^-90).
pub(crate) fn key_from_primes(
    p: BigNum,
    q: BigNum,
    bits: u32,
    ctx: &mut BnCtx,
) -> Result<Option<Vec<u8>>, KeygenError> {
    let prime_bits = bits / 2;
    let (p, q) = if p > q { (p, q) } else { (q, p) };
    if BigNum::difference(&p, &q)?.bits() <= prime_bits - 100 {
        return Ok(None);
    }
    let e = BigNum::from_word(u64::from(PUBLIC_EXPONENT))?;
    let (mut p1, mut q1) = (p.try_clone()?, q.try_clone()?);
    p1.sub_word(1)?;
    q1.sub_word(1)?;
    // d = e⁻¹ mod lcm(p − 1, q − 1), as AWS-LC and FIPS 186-4 compute it.
    let gcd = BigNum::gcd(&p1, &q1, ctx)?;
    let (lcm, _) = BigNum::div_rem(&BigNum::product(&p1, &q1, ctx)?, &gcd, ctx)?;
    let d = BigNum::mod_inverse(&e, &lcm, ctx)?;
    if d.bits() <= prime_bits {
        return Ok(None);
    }
    let n = BigNum::product(&p, &q, ctx)?;
    if n.bits() != bits {
        return Err(KeygenError::AwsLc {
            call: "BN_mul (the modulus came out the wrong size)",
        });
    }
    let (_, dmp1) = BigNum::div_rem(&d, &p1, ctx)?;
    let (_, dmq1) = BigNum::div_rem(&d, &q1, ctx)?;
    let iqmp = BigNum::mod_inverse(&q, &p, ctx)?;
    bn::rsa_private_key_der(&RsaParts {
        n: &n,
        e: &e,
        d: &d,
        p: &p,
        q: &q,
        dmp1: &dmp1,
        dmq1: &dmq1,
        iqmp: &iqmp,
    })
    .map(Some)
}
