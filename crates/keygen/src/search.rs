//! The prime search: random odd starts, the sieve's survivors after each, Miller-Rabin
//! on them in order, on one or more threads at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use crate::bn::{BigNum, BnCtx};
use crate::{KeygenError, PUBLIC_EXPONENT, primality, sieve};

/// Odd candidates sieved after each random start. The gap between primes near 2^2048
/// averages 710 odd numbers, so a window of 8,192 holds none with probability e^-11.5;
/// then the search draws a new start.
pub(crate) const WINDOW: usize = 8_192;

/// Random starts tried per prime before giving up (each fails with probability below
/// 10^-4 at 4,096-bit keys' primes).
pub(crate) const MAX_STARTS: usize = 64;

/// Two distinct primes of `bits` bits, found by `threads` searches at once: each
/// searcher keeps looking until two have been found between them.
pub(crate) fn two_primes(bits: u32, threads: usize) -> Result<[Vec<u8>; 2], KeygenError> {
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
            if !primality::a_below_bound(&candidate) {
                continue; // p ≡ 1 mod 2^64 (one in 2^63): see `primality::A_BOUND`
            }
            if primality::is_probable_prime(&candidate, ctx)? {
                return Ok(Some(candidate));
            }
        }
    }
    Err(KeygenError::NoPrime { bits })
}
