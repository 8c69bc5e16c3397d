//! A small safe wrapper over the AWS-LC big-number and RSA calls key generation needs.
//!
//! All arithmetic on big numbers (the Montgomery exponentiations and squarings of
//! Miller-Rabin in AWS-LC's assembly, gcd, inverses, products) is AWS-LC's; this module
//! owns the pointers and lends out a number's words (`limbs`), for the doubling of
//! `primality`'s base-2 test. Every `unsafe` block calls one AWS-LC function with pointers this module
//! owns (non-null, alive for the call, not shared across threads) and checks its
//! result.
#![allow(unsafe_code)]

use std::cmp::Ordering;
use std::ffi::c_int;
use std::ptr::NonNull;

use aws_lc_sys as sys;
use subtle::Choice;

use crate::KeygenError;

/// One word of an AWS-LC big number (`BN_ULONG`: 64 bits on 64-bit targets).
pub(crate) type Limb = sys::BN_ULONG;

/// Turns AWS-LC's 1-on-success into a `Result` naming the call that failed.
fn check(ok: c_int, call: &'static str) -> Result<(), KeygenError> {
    if ok == 1 {
        Ok(())
    } else {
        Err(KeygenError::AwsLc { call })
    }
}

/// Scratch space for AWS-LC's big-number functions; one per thread.
pub(crate) struct BnCtx(NonNull<sys::BN_CTX>);

impl BnCtx {
    pub(crate) fn new() -> Result<Self, KeygenError> {
        // SAFETY: no arguments; a null result is handled.
        let ctx = unsafe { sys::BN_CTX_new() };
        NonNull::new(ctx)
            .map(Self)
            .ok_or(KeygenError::AwsLc { call: "BN_CTX_new" })
    }
}

impl Drop for BnCtx {
    fn drop(&mut self) {
        // SAFETY: the pointer came from BN_CTX_new and is freed once.
        unsafe { sys::BN_CTX_free(self.0.as_ptr()) }
    }
}

/// An owned AWS-LC `BIGNUM` (non-negative here), wiped when dropped since it may hold a
/// secret prime.
pub(crate) struct BigNum(NonNull<sys::BIGNUM>);

impl BigNum {
    /// Zero.
    pub(crate) fn new() -> Result<Self, KeygenError> {
        // SAFETY: no arguments; a null result is handled.
        let bn = unsafe { sys::BN_new() };
        NonNull::new(bn)
            .map(Self)
            .ok_or(KeygenError::AwsLc { call: "BN_new" })
    }

    fn ptr(&self) -> *const sys::BIGNUM {
        self.0.as_ptr()
    }

    fn mut_ptr(&mut self) -> *mut sys::BIGNUM {
        self.0.as_ptr()
    }

    /// A small number.
    pub(crate) fn from_word(word: u64) -> Result<Self, KeygenError> {
        let mut bn = Self::new()?;
        // SAFETY: `bn` is a valid BIGNUM we own.
        check(
            unsafe { sys::BN_set_word(bn.mut_ptr(), word) },
            "BN_set_word",
        )?;
        Ok(bn)
    }

    /// The number whose big-endian bytes these are.
    pub(crate) fn from_be_bytes(bytes: &[u8]) -> Result<Self, KeygenError> {
        let bn = Self::new()?;
        // SAFETY: `bytes` is valid for `bytes.len()` reads; `bn` is ours to overwrite.
        let out = unsafe { sys::BN_bin2bn(bytes.as_ptr(), bytes.len(), bn.0.as_ptr()) };
        if out.is_null() {
            return Err(KeygenError::AwsLc { call: "BN_bin2bn" });
        }
        Ok(bn)
    }

    /// A random number of exactly `bits` bits with its two top bits set (so a product of
    /// two has exactly twice the bits) and odd.
    pub(crate) fn random_odd_top_two(bits: u32) -> Result<Self, KeygenError> {
        let mut bn = Self::new()?;
        let bits = c_int::try_from(bits).map_err(|_| KeygenError::AwsLc { call: "BN_rand" })?;
        // SAFETY: `bn` is a valid BIGNUM we own.
        let ok = unsafe {
            sys::BN_rand(
                bn.mut_ptr(),
                bits,
                sys::BN_RAND_TOP_TWO,
                sys::BN_RAND_BOTTOM_ODD,
            )
        };
        check(ok, "BN_rand")?;
        Ok(bn)
    }

    /// A copy.
    pub(crate) fn try_clone(&self) -> Result<Self, KeygenError> {
        // SAFETY: `self` is a valid BIGNUM; a null result is handled.
        let bn = unsafe { sys::BN_dup(self.ptr()) };
        NonNull::new(bn)
            .map(Self)
            .ok_or(KeygenError::AwsLc { call: "BN_dup" })
    }

    /// The big-endian bytes, left-padded with zeros to `len`.
    pub(crate) fn to_be_bytes_padded(&self, len: usize) -> Result<Vec<u8>, KeygenError> {
        let mut out = vec![0; len];
        // SAFETY: `out` is valid for `len` writes; `self` is a valid BIGNUM.
        let ok = unsafe { sys::BN_bn2bin_padded(out.as_mut_ptr(), len, self.ptr()) };
        check(ok, "BN_bn2bin_padded")?;
        Ok(out)
    }

    /// The number of significant bits.
    pub(crate) fn bits(&self) -> u32 {
        // SAFETY: `self` is a valid BIGNUM.
        unsafe { sys::BN_num_bits(self.ptr()) }
    }

    /// `self += word`.
    pub(crate) fn add_word(&mut self, word: u64) -> Result<(), KeygenError> {
        // SAFETY: `self` is a valid BIGNUM we own.
        check(
            unsafe { sys::BN_add_word(self.mut_ptr(), word) },
            "BN_add_word",
        )
    }

    /// `self -= word`.
    pub(crate) fn sub_word(&mut self, word: u64) -> Result<(), KeygenError> {
        // SAFETY: `self` is a valid BIGNUM we own.
        check(
            unsafe { sys::BN_sub_word(self.mut_ptr(), word) },
            "BN_sub_word",
        )
    }

    /// `self mod word` (`word` > 0).
    pub(crate) fn mod_word(&self, word: u64) -> Result<u64, KeygenError> {
        if word == 0 {
            return Err(KeygenError::AwsLc {
                call: "BN_mod_word",
            });
        }
        // SAFETY: `self` is a valid BIGNUM.
        Ok(unsafe { sys::BN_mod_word(self.ptr(), word) })
    }

    /// `a - b` (may be negative).
    pub(crate) fn difference(a: &Self, b: &Self) -> Result<Self, KeygenError> {
        let mut out = Self::new()?;
        // SAFETY: all three are valid BIGNUMs; `out` is distinct from the inputs.
        check(
            unsafe { sys::BN_sub(out.mut_ptr(), a.ptr(), b.ptr()) },
            "BN_sub",
        )?;
        Ok(out)
    }

    /// `a * b`.
    pub(crate) fn product(a: &Self, b: &Self, ctx: &mut BnCtx) -> Result<Self, KeygenError> {
        let mut out = Self::new()?;
        // SAFETY: valid BIGNUMs and context; `out` is distinct from the inputs.
        let ok = unsafe { sys::BN_mul(out.mut_ptr(), a.ptr(), b.ptr(), ctx.0.as_ptr()) };
        check(ok, "BN_mul")?;
        Ok(out)
    }

    /// `gcd(a, b)`.
    pub(crate) fn gcd(a: &Self, b: &Self, ctx: &mut BnCtx) -> Result<Self, KeygenError> {
        let mut out = Self::new()?;
        // SAFETY: valid BIGNUMs and context; `out` is distinct from the inputs.
        let ok = unsafe { sys::BN_gcd(out.mut_ptr(), a.ptr(), b.ptr(), ctx.0.as_ptr()) };
        check(ok, "BN_gcd")?;
        Ok(out)
    }

    /// `(a / b, a mod b)` for `b` > 0.
    pub(crate) fn div_rem(
        a: &Self,
        b: &Self,
        ctx: &mut BnCtx,
    ) -> Result<(Self, Self), KeygenError> {
        let (mut quotient, mut remainder) = (Self::new()?, Self::new()?);
        // SAFETY: valid, distinct BIGNUMs and context; BN_div fails on a zero divisor.
        let ok = unsafe {
            sys::BN_div(
                quotient.mut_ptr(),
                remainder.mut_ptr(),
                a.ptr(),
                b.ptr(),
                ctx.0.as_ptr(),
            )
        };
        check(ok, "BN_div")?;
        Ok((quotient, remainder))
    }

    /// `a⁻¹ mod n`; an error when they are not coprime.
    pub(crate) fn mod_inverse(a: &Self, n: &Self, ctx: &mut BnCtx) -> Result<Self, KeygenError> {
        let mut out = Self::new()?;
        // SAFETY: valid BIGNUMs and context; a null result (no inverse) is handled.
        let ok = unsafe { sys::BN_mod_inverse(out.mut_ptr(), a.ptr(), n.ptr(), ctx.0.as_ptr()) };
        if ok.is_null() {
            return Err(KeygenError::AwsLc {
                call: "BN_mod_inverse",
            });
        }
        Ok(out)
    }

    /// A uniformly random number below 2^`bits`, from AWS-LC's random generator (the
    /// one its own key generation draws from).
    pub(crate) fn random_below_power_of_two(bits: u32) -> Result<Self, KeygenError> {
        let mut bn = Self::new()?;
        let bits = c_int::try_from(bits).map_err(|_| KeygenError::AwsLc { call: "BN_rand" })?;
        // SAFETY: `bn` is a valid BIGNUM we own.
        let ok = unsafe {
            sys::BN_rand(
                bn.mut_ptr(),
                bits,
                sys::BN_RAND_TOP_ANY,
                sys::BN_RAND_BOTTOM_ANY,
            )
        };
        check(ok, "BN_rand")?;
        Ok(bn)
    }

    /// Whether the two are equal, in time that depends only on their widths.
    pub(crate) fn equal_consttime(&self, other: &Self) -> Choice {
        // SAFETY: both are valid BIGNUMs.
        let equal = unsafe { sys::BN_equal_consttime(self.ptr(), other.ptr()) };
        Choice::from(u8::from(equal == 1))
    }

    /// The words of the number, least significant first, as many as its width (which
    /// may be more than its value needs: AWS-LC's Montgomery results keep the modulus's).
    pub(crate) fn limbs(&self) -> &[Limb] {
        // SAFETY: a valid BIGNUM's `d` holds at least `width` initialised words (and may
        // be null when `width` is 0); the slice borrows `self`, so no AWS-LC call can
        // reallocate `d` while it lives.
        unsafe {
            let bn = &*self.ptr();
            match usize::try_from(bn.width) {
                Ok(width) if width > 0 && !bn.d.is_null() => {
                    std::slice::from_raw_parts(bn.d, width)
                }
                _ => &[],
            }
        }
    }

    /// The number mod 2^64.
    // `u64::from` is needed where a word is 32 bits.
    #[allow(clippy::useless_conversion)]
    pub(crate) fn low_u64(&self) -> u64 {
        self.limbs()
            .iter()
            .take(64 / Limb::BITS as usize)
            .rev()
            .fold(0, |low, &limb| {
                low.checked_shl(Limb::BITS).unwrap_or(0) | u64::from(limb)
            })
    }

    /// [`limbs`](Self::limbs), to write: any word values keep the BIGNUM valid (its
    /// width and sign are unchanged).
    pub(crate) fn limbs_mut(&mut self) -> &mut [Limb] {
        // SAFETY: as in `limbs`; the mutable borrow of `self` makes the slice the only
        // access to `d` while it lives.
        unsafe {
            let bn = &mut *self.mut_ptr();
            match usize::try_from(bn.width) {
                Ok(width) if width > 0 && !bn.d.is_null() => {
                    std::slice::from_raw_parts_mut(bn.d, width)
                }
                _ => &mut [],
            }
        }
    }

    /// The number of zero bits below the lowest one bit (0 for zero), in time that
    /// depends only on the width.
    pub(crate) fn low_zero_bits(&self) -> u32 {
        // SAFETY: `self` is a valid BIGNUM.
        let zeros = unsafe { sys::BN_count_low_zero_bits(self.ptr()) };
        u32::try_from(zeros).unwrap_or(0)
    }
}

/// AWS-LC's Montgomery arithmetic modulo one odd number, set up in constant time
/// (`BN_MONT_CTX_new_consttime`), with the number it works modulo.
pub(crate) struct MontCtx<'n> {
    mont: NonNull<sys::BN_MONT_CTX>,
    modulus: &'n BigNum,
}

impl<'n> MontCtx<'n> {
    /// The context for `modulus`, which must be odd and above one.
    pub(crate) fn new(modulus: &'n BigNum, ctx: &mut BnCtx) -> Result<Self, KeygenError> {
        // SAFETY: valid BIGNUM and context; a null result (even modulus, no memory) is
        // handled.
        let mont = unsafe { sys::BN_MONT_CTX_new_consttime(modulus.ptr(), ctx.0.as_ptr()) };
        NonNull::new(mont)
            .map(|mont| Self { mont, modulus })
            .ok_or(KeygenError::AwsLc {
                call: "BN_MONT_CTX_new_consttime",
            })
    }

    /// `a·R mod N`, the Montgomery form of `a` < N.
    pub(crate) fn montgomery_form(
        &self,
        a: &BigNum,
        ctx: &mut BnCtx,
    ) -> Result<BigNum, KeygenError> {
        let mut out = BigNum::new()?;
        // SAFETY: valid BIGNUMs, Montgomery context and BN_CTX; `out` is distinct.
        let ok = unsafe {
            sys::BN_to_montgomery(out.mut_ptr(), a.ptr(), self.mont.as_ptr(), ctx.0.as_ptr())
        };
        check(ok, "BN_to_montgomery")?;
        Ok(out)
    }

    /// `a·R⁻¹ mod N` for any `a` < N·R (one Montgomery reduction, constant time).
    pub(crate) fn reduce(&self, a: &BigNum, ctx: &mut BnCtx) -> Result<BigNum, KeygenError> {
        let mut out = BigNum::new()?;
        // SAFETY: valid BIGNUMs, Montgomery context and BN_CTX; `out` is distinct.
        let ok = unsafe {
            sys::BN_from_montgomery(out.mut_ptr(), a.ptr(), self.mont.as_ptr(), ctx.0.as_ptr())
        };
        check(ok, "BN_from_montgomery")?;
        Ok(out)
    }

    /// `z ← z²·R⁻¹ mod N`: squares a number in Montgomery form.
    pub(crate) fn square(&self, z: &mut BigNum, ctx: &mut BnCtx) -> Result<(), KeygenError> {
        let z = z.mut_ptr();
        // SAFETY: a valid BIGNUM (AWS-LC allows the output to alias the inputs),
        // Montgomery context and BN_CTX.
        let ok = unsafe { sys::BN_mod_mul_montgomery(z, z, z, self.mont.as_ptr(), ctx.0.as_ptr()) };
        check(ok, "BN_mod_mul_montgomery")
    }

    /// `base^exponent mod N` for `base` < N, in time that depends only on the widths
    /// (`BN_mod_exp_mont_consttime`, as AWS-LC's Miller-Rabin and RSA use).
    pub(crate) fn pow(
        &self,
        base: &BigNum,
        exponent: &BigNum,
        ctx: &mut BnCtx,
    ) -> Result<BigNum, KeygenError> {
        let mut out = BigNum::new()?;
        // SAFETY: valid BIGNUMs, BN_CTX and the Montgomery context made for `modulus`;
        // `out` is distinct from the inputs.
        let ok = unsafe {
            sys::BN_mod_exp_mont_consttime(
                out.mut_ptr(),
                base.ptr(),
                exponent.ptr(),
                self.modulus.ptr(),
                ctx.0.as_ptr(),
                self.mont.as_ptr(),
            )
        };
        check(ok, "BN_mod_exp_mont_consttime")?;
        Ok(out)
    }
}

impl Drop for MontCtx<'_> {
    fn drop(&mut self) {
        // SAFETY: the pointer came from BN_MONT_CTX_new_consttime and is freed once.
        unsafe { sys::BN_MONT_CTX_free(self.mont.as_ptr()) }
    }
}

impl PartialEq for BigNum {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for BigNum {}

impl PartialOrd for BigNum {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for BigNum {
    fn cmp(&self, other: &Self) -> Ordering {
        // SAFETY: both are valid BIGNUMs.
        unsafe { sys::BN_cmp(self.ptr(), other.ptr()) }.cmp(&0)
    }
}

impl Drop for BigNum {
    fn drop(&mut self) {
        // SAFETY: the pointer came from BN_new/BN_dup and is freed once.
        unsafe { sys::BN_clear_free(self.0.as_ptr()) }
    }
}

/// The parts of an RSA private key (PKCS#1 `RSAPrivateKey`).
pub(crate) struct RsaParts<'a> {
    pub n: &'a BigNum,
    pub e: &'a BigNum,
    pub d: &'a BigNum,
    pub p: &'a BigNum,
    pub q: &'a BigNum,
    pub dmp1: &'a BigNum,
    pub dmq1: &'a BigNum,
    pub iqmp: &'a BigNum,
}

/// Builds the key in AWS-LC, which checks it (`RSA_check_key`: n = p·q, d·e ≡ 1 mod
/// p−1 and q−1, the CRT values), and encodes it as PKCS#1 DER.
pub(crate) fn rsa_private_key_der(parts: &RsaParts<'_>) -> Result<Vec<u8>, KeygenError> {
    // SAFETY: all pointers are valid BIGNUMs, which AWS-LC copies; a null result (an
    // inconsistent key) is handled, and the RSA is freed below.
    let rsa = unsafe {
        sys::RSA_new_private_key(
            parts.n.ptr(),
            parts.e.ptr(),
            parts.d.ptr(),
            parts.p.ptr(),
            parts.q.ptr(),
            parts.dmp1.ptr(),
            parts.dmq1.ptr(),
            parts.iqmp.ptr(),
        )
    };
    let Some(rsa) = NonNull::new(rsa) else {
        return Err(KeygenError::AwsLc {
            call: "RSA_new_private_key",
        });
    };
    let mut out: *mut u8 = std::ptr::null_mut();
    let mut len = 0usize;
    // SAFETY: valid RSA and out-pointers; on success `out` holds `len` bytes that we
    // copy, wipe and free once; the RSA is freed once.
    let der = unsafe {
        let ok = sys::RSA_private_key_to_bytes(&mut out, &mut len, rsa.as_ptr());
        let der =
            (ok == 1 && !out.is_null()).then(|| std::slice::from_raw_parts(out, len).to_vec());
        if !out.is_null() {
            sys::OPENSSL_cleanse(out.cast(), len);
            sys::OPENSSL_free(out.cast());
        }
        sys::RSA_free(rsa.as_ptr());
        der
    };
    der.ok_or(KeygenError::AwsLc {
        call: "RSA_private_key_to_bytes",
    })
}
