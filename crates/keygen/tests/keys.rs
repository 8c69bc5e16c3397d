//! Generated keys are valid RSA keys of the shape Sprig's are, checked by two other
//! implementations: aws-lc-rs (loads both encodings, signs and verifies) and the `rsa`
//! crate (recomputes n = p·q and the CRT values in its own arithmetic).

use aws_lc_rs::signature::{self, KeyPair as _, RsaKeyPair, UnparsedPublicKey};
use deploykit_keygen::{KeygenError, rsa_private_key_der, rsa_private_key_der_on};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::traits::{PrivateKeyParts, PublicKeyParts};
use rsa::{BigUint, RsaPrivateKey};

/// Checks everything a user of the key relies on; returns its modulus.
fn check_key(der: &[u8], bits: usize) -> BigUint {
    let key = RsaPrivateKey::from_pkcs1_der(der).expect("the rsa crate reads the PKCS#1 DER");
    key.validate().expect("d·e ≡ 1 and n = p·q");
    let n = key.n().clone();
    assert_eq!(n.bits(), bits, "n has exactly the bits asked for");
    assert_eq!(key.e(), &BigUint::from(65_537u32));
    let [p, q] = key.primes() else {
        panic!("two primes, got {}", key.primes().len());
    };
    assert_eq!(&(p * q), &n);
    let one = BigUint::from(1u32);
    for prime in [p, q] {
        assert_eq!(prime.bits(), bits / 2);
        assert_eq!(
            prime.clone() >> (bits / 2 - 2),
            BigUint::from(3u32),
            "the two top bits of each prime are set"
        );
        assert_ne!(
            (prime - &one) % 65_537u32,
            BigUint::from(0u32),
            "gcd(e, p−1) = 1"
        );
    }
    let gap = if p > q { p - q } else { q - p };
    assert!(gap.bits() > bits / 2 - 100, "|p − q| > 2^(bits/2 − 100)");
    // The CRT values as written in the file, against our own computation.
    let fields = rsa::pkcs1::RsaPrivateKey::try_from(der).expect("PKCS#1 fields");
    let uint = |bytes: &[u8]| BigUint::from_bytes_be(bytes);
    let (fp, fq) = (
        uint(fields.prime1.as_bytes()),
        uint(fields.prime2.as_bytes()),
    );
    let d = key.d();
    assert_eq!(
        uint(fields.exponent1.as_bytes()),
        d % (&fp - &one),
        "d mod (p−1)"
    );
    assert_eq!(
        uint(fields.exponent2.as_bytes()),
        d % (&fq - &one),
        "d mod (q−1)"
    );
    assert_eq!(
        uint(fields.coefficient.as_bytes()) * &fq % &fp,
        one,
        "q⁻¹ mod p"
    );
    // aws-lc-rs refuses keys under 2,048 bits (`TooSmall`) whatever their form.
    if bits >= 2048 {
        check_signatures(der);
    }
    n
}

/// aws-lc-rs loads the key as PKCS#1 and as PKCS#8, and its signatures verify with the
/// public key, while an altered signature or message does not.
fn check_signatures(der: &[u8]) {
    let pair = RsaKeyPair::from_der(der).expect("aws-lc-rs loads the PKCS#1 DER");
    let pkcs8 = aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::Pkcs8V1Der<'_>>::as_der(&pair)
        .expect("PKCS#8 encoding");
    RsaKeyPair::from_pkcs8(pkcs8.as_ref()).expect("aws-lc-rs loads the PKCS#8 DER");
    let message = b"helm template";
    let mut sig = vec![0; pair.public_modulus_len()];
    let rng = aws_lc_rs::rand::SystemRandom::new();
    pair.sign(&signature::RSA_PKCS1_SHA256, &rng, message, &mut sig)
        .expect("signs");
    let public = UnparsedPublicKey::new(
        &signature::RSA_PKCS1_2048_8192_SHA256,
        pair.public_key().as_ref(),
    );
    public
        .verify(message, &sig)
        .expect("the signature verifies");
    assert!(
        public.verify(b"helm templatf", &sig).is_err(),
        "altered message"
    );
    sig[7] ^= 1;
    assert!(public.verify(message, &sig).is_err(), "altered signature");
}

#[test]
fn many_2048_bit_keys_are_valid_and_distinct() {
    let mut moduli = Vec::new();
    for i in 0..12 {
        let der = rsa_private_key_der_on(2048, 1 + i % 3).expect("a key");
        moduli.push(check_key(&der, 2048));
    }
    moduli.sort();
    moduli.dedup();
    assert_eq!(moduli.len(), 12, "every key is new");
}

#[test]
fn many_4096_bit_keys_are_valid() {
    for threads in [1, 2, 3, 2] {
        let der = rsa_private_key_der_on(4096, threads).expect("a key");
        check_key(&der, 4096);
    }
    check_key(&rsa_private_key_der(4096).expect("a key"), 4096);
}

#[test]
fn other_sizes_multiple_of_128_work() {
    for bits in [1024, 3072] {
        check_key(&rsa_private_key_der(bits).expect("a key"), bits as usize);
    }
}

#[test]
fn sizes_aws_lc_cannot_make_are_refused_with_the_size() {
    for bits in [0, 512, 1000, 2047, 2049, 20_000] {
        match rsa_private_key_der(bits) {
            Err(KeygenError::KeySize { bits: got }) => assert_eq!(got, bits),
            other => panic!("{bits} bits: {other:?}"),
        }
    }
    let message = rsa_private_key_der(1000).unwrap_err().to_string();
    assert!(
        message.contains("1000") && message.contains("multiple of 128"),
        "{message}"
    );
}
