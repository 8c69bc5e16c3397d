//! RSA private keys as Sprig's `genPrivateKey`/`genCA` make them, found faster than
//! AWS-LC's own `RSA_generate_key_ex` and on two threads.
//!
//! Key generation is a search for two primes, and nearly all its time goes to
//! Miller-Rabin tests that reject composites. AWS-LC draws independent random candidates
//! and divides each by its first 1,024 primes before testing; this crate draws a random
//! odd start and sieves a window of odd numbers after it with every prime below 2^20
//! (the incremental search of GMP's `nextprime` and OpenSSL's former
//! `probable_prime`), which leaves a third fewer candidates to test. The tests run
//! AWS-LC's Miller-Rabin round step for step on its constant-time arithmetic
//! (`primality`), but with the round count FIPS 186-5 asks for (4 at 2,048-bit primes)
//! where AWS-LC's `BN_primality_test` runs at least 16 on each prime. The key's
//! arithmetic and its final check (`RSA_check_key`) are AWS-LC's. The two primes are
//! searched for by two threads at once when two cores are there.
//!
//! Keys have exactly the bits asked for (each prime has its two top bits set), `e` =
//! 65537 with `gcd(e, p−1) = gcd(e, q−1) = 1`, `|p − q| > 2^(bits/2 − 100)` and
//! `d = e⁻¹ mod lcm(p−1, q−1)` above `2^(bits/2)`, as FIPS 186-4 B.3.1 asks and AWS-LC
//! does.
//!
//! ```
//! let der = deploykit_keygen::rsa_private_key_der(2048)?;
//! // PKCS#1 RSAPrivateKey: a SEQUENCE.
//! assert_eq!(der[0], 0x30);
//! // A size AWS-LC does not make is an error naming the sizes it does.
//! let error = deploykit_keygen::rsa_private_key_der(1000).unwrap_err();
//! assert!(error.to_string().contains("a multiple of 128 from 1024 to 16384"), "{error}");
//! # Ok::<(), deploykit_keygen::KeygenError>(())
//! ```

mod bn;
mod primality;
mod sieve;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use bn::{BigNum, BnCtx, RsaParts};

/// The public exponent, F4, as Go and AWS-LC use.
const PUBLIC_EXPONENT: u32 = 65_537;

/// Odd candidates sieved after each random start. The gap between primes near 2^2048
/// averages 710 odd numbers, so a window of 8,192 holds none with probability e^-11.5;
/// then the search draws a new start.
const WINDOW: usize = 8_192;

/// Random starts tried per prime before giving up (each fails with probability below
/// 10^-4 at 4,096-bit keys' primes).
const MAX_STARTS: usize = 64;

/// Key generation failed.
#[derive(Debug, thiserror::Error)]
pub enum KeygenError {
    /// Sizes must be multiples of 128 bits from 1,024 to 16,384, as AWS-LC rounds them.
    #[error(
        "cannot generate an RSA key of {bits} bits: the size must be a multiple of 128 from \
         1024 to 16384 (Sprig uses 2048 and 4096)"
    )]
    KeySize {
        /// The size asked for.
        bits: u32,
    },
    /// An AWS-LC call failed: out of memory, or a key that failed AWS-LC's check (a bug
    /// here).
    #[error("RSA key generation failed in AWS-LC's {call}: out of memory, or a bug; try again")]
    AwsLc {
        /// The AWS-LC function that failed.
        call: &'static str,
    },
    /// No prime came up after many random starts: the random source is broken.
    #[error(
        "no {bits}-bit prime found after {MAX_STARTS} random starts: is the system's random \
         source working?"
    )]
    NoPrime {
        /// The prime size searched for.
        bits: u32,
    },
}

/// A new RSA private key of `bits` bits (e = 65537), as PKCS#1 `RSAPrivateKey` DER (the
/// body of an `RSA PRIVATE KEY` PEM block), its primes searched for on up to two
/// threads.
pub fn rsa_private_key_der(bits: u32) -> Result<Vec<u8>, KeygenError> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(2));
    rsa_private_key_der_on(bits, threads)
}

/// [`rsa_private_key_der`] with the prime search on `threads` threads (at least one:
/// the caller's).
pub fn rsa_private_key_der_on(bits: u32, threads: usize) -> Result<Vec<u8>, KeygenError> {
    if !bits.is_multiple_of(128) || !(1024..=16_384).contains(&bits) {
        return Err(KeygenError::KeySize { bits });
    }
    let prime_bits = bits / 2;
    let mut ctx = BnCtx::new()?;
    loop {
        let [p, q] = two_primes(prime_bits, threads.max(1))?;
        let (p, q) = (BigNum::from_be_bytes(&p)?, BigNum::from_be_bytes(&q)?);
        if let Some(der) = key_from_primes(p, q, bits, &mut ctx)? {
            return Ok(der);
        }
    }
}

/// Two distinct primes of `bits` bits, found by `threads` searches at once: each
/// searcher keeps looking until two have been found between them.
fn two_primes(bits: u32, threads: usize) -> Result<[Vec<u8>; 2], KeygenError> {
    let found = Mutex::new(Vec::with_capacity(2));
    let done = AtomicBool::new(false);
    let search = || -> Result<(), KeygenError> {
        let result = search_until_done(bits, &found, &done);
        // A failed searcher stops the others too.
        done.store(true, Ordering::Relaxed);
        result
    };
    let results: Vec<Result<(), KeygenError>> = std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..threads).map(|_| scope.spawn(search)).collect();
        let mut results = vec![search()];
        results.extend(helpers.into_iter().map(|helper| {
            helper.join().unwrap_or(Err(KeygenError::AwsLc {
                call: "a prime search thread (it panicked)",
            }))
        }));
        results
    });
    let mut primes = found.into_inner().unwrap_or_else(PoisonError::into_inner);
    match (primes.pop(), primes.pop()) {
        (Some(q), Some(p)) => Ok([p, q]),
        _ => Err(results
            .into_iter()
            .find_map(Result::err)
            .unwrap_or(KeygenError::NoPrime { bits })),
    }
}

/// One searcher of [`two_primes`]: finds primes and adds them to `found` until it holds
/// two.
fn search_until_done(
    bits: u32,
    found: &Mutex<Vec<Vec<u8>>>,
    done: &AtomicBool,
) -> Result<(), KeygenError> {
    let mut ctx = BnCtx::new()?;
    while !done.load(Ordering::Relaxed) {
        let Some(prime) = find_prime(bits, done, &mut ctx)? else {
            break;
        };
        let bytes = prime.to_be_bytes_padded(bits as usize / 8)?;
        let mut found = found.lock().unwrap_or_else(PoisonError::into_inner);
        if found.len() < 2 && !found.contains(&bytes) {
            found.push(bytes);
        }
        if found.len() == 2 {
            done.store(true, Ordering::Relaxed);
        }
    }
    Ok(())
}

/// A prime of exactly `bits` bits with its two top bits set and `p − 1` prime to 65537:
/// the first probable prime among the sieve's survivors after a random odd start.
/// `None` when `stop` was set meanwhile.
fn find_prime(
    bits: u32,
    stop: &AtomicBool,
    ctx: &mut BnCtx,
) -> Result<Option<BigNum>, KeygenError> {
    let primes = sieve::sieve_primes(bits);
    for _ in 0..MAX_STARTS {
        let start = BigNum::random_odd_top_two(bits)?;
        let residues = sieve::residues(&start.to_be_bytes_padded(bits as usize / 8)?, primes);
        let e_residue = start.mod_word(u64::from(PUBLIC_EXPONENT))? as u32;
        let mut candidate = start.try_clone()?;
        let mut offset = 0;
        for k in sieve::survivors(primes, &residues, PUBLIC_EXPONENT, e_residue, WINDOW) {
            if stop.load(Ordering::Relaxed) {
                return Ok(None);
            }
            candidate.add_word(2 * (k - offset) as u64)?;
            offset = k;
            if candidate.bits() != bits {
                break; // carried past the top bit: draw a new start
            }
            if primality::is_probable_prime(&candidate, ctx)? {
                return Ok(Some(candidate));
            }
        }
    }
    Err(KeygenError::NoPrime { bits })
}

/// The key from two primes, or `None` when FIPS 186-4 asks for others (|p − q| too small
/// or d too small; each has probability below 2^-90).
fn key_from_primes(
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
