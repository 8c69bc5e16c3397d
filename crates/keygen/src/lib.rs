//! RSA private keys as Sprig's `genPrivateKey`/`genCA` make them, found faster than
//! AWS-LC's own `RSA_generate_key_ex` and on two threads.
//!
//! Key generation is a search for two primes, and nearly all its time goes to the
//! modular exponentiations that reject composites. AWS-LC draws independent random
//! candidates and divides each by its first 1,024 primes before testing; this crate draws
//! a random odd start and sieves a window of odd numbers after it with every prime below
//! 2^20 (the incremental search of GMP's `nextprime` and OpenSSL's former
//! `probable_prime`), which leaves a third fewer candidates to test. Each survivor first
//! takes a constant-time Fermat test to base 2, which costs about a fifth less than a
//! Miller-Rabin round and rejects nearly every composite; the few that pass get AWS-LC's
//! Miller-Rabin round step for step on its constant-time arithmetic, with random bases
//! and the round count FIPS 186-5 asks for (4 at 2,048-bit primes) where AWS-LC's
//! `BN_primality_test` runs at least 16 on each prime. The key's arithmetic and its final
//! check (`RSA_check_key`) are AWS-LC's. The two primes are searched for by two threads
//! at once when two cores are there.
//!
//! Where things are: this file holds the public items; `search` the prime search
//! (random starts, the window's survivors, the threads), `sieve` the window's sieve,
//! `primality` the tests (base 2, then Miller-Rabin), `key` the key from its two primes,
//! and `bn` the safe wrapper over AWS-LC's calls (the crate's one module with `unsafe`).
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
mod key;
mod primality;
mod search;
mod sieve;

use bn::{BigNum, BnCtx};
use key::key_from_primes;
use search::{MAX_STARTS, two_primes};

/// The public exponent, F4, as Go and AWS-LC use.
const PUBLIC_EXPONENT: u32 = 65_537;

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
