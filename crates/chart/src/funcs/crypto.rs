//! Sprig's crypto functions: bcrypt/htpasswd, Master Password `derivePassword`, private
//! keys and X.509 certificates (`genCA`, `genSelfSignedCert`, `genSignedCert` and their
//! `WithKey` forms, `buildCustomCert`), AES-CBC `encryptAES`/`decryptAES`.
//!
//! Generated keys and certificates are random, as in Helm: what matters is their form
//! (PEM blocks of the same types, RSA 4096 for `genPrivateKey "rsa"` and 2048 for
//! certificates, the same key usages).
//!
//! Speed without optimisation: RSA keys are generated and certificates signed by aws-lc-rs
//! (through rcgen), whose native code is optimised whatever the build profile, and scrypt
//! is written for unoptimised builds (`crypto/scrypt.rs`). Other projects' debug builds get
//! none of this workspace's `[profile.dev.package]` overrides, and with pure-Rust RSA and
//! scrypt a chart calling these functions took 30 to 100 s to render there
//! (docs/benchmarks.md).

mod scrypt;

use std::net::IpAddr;
use std::sync::Arc;

use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit, block_padding::NoPadding};
use base64::Engine as _;
use chrono::{Datelike, Utc};
use rand::RngCore;

use super::args::{int, list, string, want};
use super::{FuncError, Result};
use crate::value::{GoObject, Value};

fn call_err(e: impl std::fmt::Display) -> FuncError {
    FuncError::Call(e.to_string())
}

pub fn bcrypt(args: &[Value]) -> Result {
    want("bcrypt", args, 1)?;
    let input = string(&args[0])?;
    Ok(Value::string(bcrypt_hash(input)?))
}

fn bcrypt_hash(input: &str) -> std::result::Result<String, FuncError> {
    bcrypt::hash_with_result(input, 10)
        .map(|h| h.format_for_version(bcrypt::Version::TwoA))
        .map_err(call_err)
}

pub fn htpasswd(args: &[Value]) -> Result {
    want("htpasswd", args, 2)?;
    let user = string(&args[0])?;
    let password = string(&args[1])?;
    if user.contains(':') {
        return Ok(Value::string(format!("invalid username: {user}")));
    }
    Ok(Value::string(format!("{user}:{}", bcrypt_hash(password)?)))
}

fn templates(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "maximum" => &["anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"],
        "long" => &[
            "CvcvnoCvcvCvcv",
            "CvcvCvcvnoCvcv",
            "CvcvCvcvCvcvno",
            "CvccnoCvcvCvcv",
            "CvccCvcvnoCvcv",
            "CvccCvcvCvcvno",
            "CvcvnoCvccCvcv",
            "CvcvCvccnoCvcv",
            "CvcvCvccCvcvno",
            "CvcvnoCvcvCvcc",
            "CvcvCvcvnoCvcc",
            "CvcvCvcvCvccno",
            "CvccnoCvccCvcv",
            "CvccCvccnoCvcv",
            "CvccCvccCvcvno",
            "CvcvnoCvccCvcc",
            "CvcvCvccnoCvcc",
            "CvcvCvccCvccno",
            "CvccnoCvcvCvcc",
            "CvccCvcvnoCvcc",
            "CvccCvcvCvccno",
        ],
        "medium" => &["CvcnoCvc", "CvcCvcno"],
        "short" => &["Cvcn"],
        "basic" => &["aaanaaan", "aannaaan", "aaannaaa"],
        "pin" => &["nnnn"],
        _ => return None,
    })
}

fn template_chars(c: u8) -> &'static [u8] {
    match c {
        b'V' => b"AEIOU",
        b'C' => b"BCDFGHJKLMNPQRSTVWXYZ",
        b'v' => b"aeiou",
        b'c' => b"bcdfghjklmnpqrstvwxyz",
        b'A' => b"AEIOUBCDFGHJKLMNPQRSTVWXYZ",
        b'a' => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz",
        b'n' => b"0123456789",
        b'o' => b"@&%?,=[]_:-+*$#!'^~;()/.",
        _ => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()",
    }
}

/// The Master Password algorithm (scrypt key, HMAC-SHA256 seed, password templates).
pub fn derive_password(args: &[Value]) -> Result {
    want("derivePassword", args, 5)?;
    let counter = int(&args[0])?;
    let kind = string(&args[1])?;
    let password = string(&args[2])?;
    let user = string(&args[3])?;
    let site = string(&args[4])?;
    let Some(templates) = templates(kind) else {
        return Ok(Value::string(format!(
            "cannot find password template {kind}"
        )));
    };
    const SEED: &[u8] = b"com.lyndir.masterpassword";
    let mut salt = SEED.to_vec();
    salt.extend_from_slice(&(user.len() as u32).to_be_bytes());
    salt.extend_from_slice(user.as_bytes());
    let mut key = [0u8; 64];
    scrypt::scrypt(password.as_bytes(), &salt, 15, 8, 2, &mut key);
    let mut message = SEED.to_vec();
    message.extend_from_slice(&(site.len() as u32).to_be_bytes());
    message.extend_from_slice(site.as_bytes());
    message.extend_from_slice(&(counter as u32).to_be_bytes());
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &key);
    let seed = aws_lc_rs::hmac::sign(&key, &message);
    let seed = seed.as_ref();
    let template = templates[seed[0] as usize % templates.len()].as_bytes();
    let out: String = template
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let chars = template_chars(*c);
            chars[seed[i + 1] as usize % chars.len()] as char
        })
        .collect();
    Ok(Value::string(out))
}

pub fn gen_private_key(args: &[Value]) -> Result {
    want("genPrivateKey", args, 1)?;
    let pem = match string(&args[0])? {
        "rsa" => new_rsa_key(rcgen::RsaKeySize::_4096)?.pem,
        "ecdsa" => {
            let key = p256::SecretKey::random(&mut rand::thread_rng());
            key.to_sec1_pem(p256::pkcs8::LineEnding::LF)
                .map_err(call_err)?
                .to_string()
        }
        "ed25519" => {
            // PKCS#8 v1 (no public key), as Go's x509.MarshalPKCS8PrivateKey writes it.
            let rng = aws_lc_rs::rand::SystemRandom::new();
            let doc = aws_lc_rs::signature::Ed25519KeyPair::generate_pkcs8v1(&rng)
                .map_err(|_| FuncError::Call("ed25519 key generation failed".into()))?;
            pem_block("PRIVATE KEY", doc.as_ref())
        }
        other => format!("Unknown type {other}"),
    };
    Ok(Value::string(pem))
}

fn pem_block(label: &str, der: &[u8]) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in encoded.as_bytes().chunks(64) {
        out.push_str(&crate::value::lossy_text(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Sprig's `certificate`: `.Cert` and `.Key` PEM strings.
#[derive(Debug, Clone)]
pub struct Certificate {
    cert: String,
    key: String,
}

impl GoObject for Certificate {
    fn type_name(&self) -> &str {
        "sprig.certificate"
    }

    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Cert" => Some(Value::string(self.cert.as_str())),
            "Key" => Some(Value::string(self.key.as_str())),
            _ => None,
        }
    }

    fn go_string(&self) -> String {
        format!("{{{} {}}}", self.cert, self.key)
    }
}

fn certificate_value(cert: String, key: String) -> Value {
    Value::Object(Arc::new(Certificate { cert, key }))
}

/// A certificate argument made by `genCA`/`buildCustomCert`.
fn certificate_arg(value: &Value) -> std::result::Result<Certificate, FuncError> {
    match value {
        Value::Object(o) if o.type_name() == "sprig.certificate" => Ok(Certificate {
            cert: o
                .field("Cert")
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default(),
            key: o
                .field("Key")
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default(),
        }),
        other => Err(FuncError::Args(format!(
            "wrong type for value; expected sprig.certificate; got {}",
            match other {
                Value::Nil => "interface {}",
                o => o.type_name(),
            }
        ))),
    }
}

/// A key in the forms rcgen and the template need: a key pair to sign with, and the PEM
/// that `.Key` shows.
struct Key {
    pair: rcgen::KeyPair,
    pem: String,
}

/// A new RSA key (SHA-256 signatures, as Go signs with RSA keys), shown as PKCS#1
/// (`RSA PRIVATE KEY`), as Sprig writes it.
fn new_rsa_key(size: rcgen::RsaKeySize) -> std::result::Result<Key, FuncError> {
    let pair = rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, size).map_err(call_err)?;
    // rcgen holds PKCS#8, whose private key field is the PKCS#1 RSAPrivateKey.
    let info = pkcs8::PrivateKeyInfo::try_from(pair.serialized_der()).map_err(call_err)?;
    let pem = pem_block("RSA PRIVATE KEY", info.private_key);
    Ok(Key { pair, pem })
}

/// A key given as PEM (`*WithKey` functions and a CA's key): RSA (PKCS#1 or PKCS#8), EC
/// (SEC1 or PKCS#8) or Ed25519, as Sprig's `parsePrivateKey` takes them.
fn parse_key(pem: &str) -> std::result::Result<Key, FuncError> {
    let pair = rcgen::KeyPair::from_pem(pem)
        .map_err(|_| FuncError::Call("unable to decode key".into()))?;
    Ok(Key {
        pair,
        pem: pem.to_string(),
    })
}

fn san_list(ips: &[Value], dns: &[Value]) -> std::result::Result<Vec<rcgen::SanType>, FuncError> {
    let mut sans = Vec::new();
    for ip in ips {
        let Value::String(text) = ip else {
            return Err(FuncError::Call(format!(
                "error parsing ip: {} is not a string",
                super::gofmt::format_v(ip)
            )));
        };
        let addr: IpAddr = text
            .parse()
            .map_err(|_| FuncError::Call(format!("error parsing ip: {text}")))?;
        sans.push(rcgen::SanType::IpAddress(addr));
    }
    for name in dns {
        let Value::String(text) = name else {
            return Err(FuncError::Call(format!(
                "error processing alternate dns name: {} is not a string",
                super::gofmt::format_v(name)
            )));
        };
        let ia5 = rcgen::Ia5String::try_from(text.to_string()).map_err(call_err)?;
        sans.push(rcgen::SanType::DnsName(ia5));
    }
    Ok(sans)
}

fn base_params(
    cn: &str,
    sans: Vec<rcgen::SanType>,
    days: i64,
    ca: bool,
) -> rcgen::CertificateParams {
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    params.subject_alt_names = sans;
    let now = Utc::now();
    let until = now + chrono::Duration::days(days);
    params.not_before = rcgen::date_time_ymd(now.year(), now.month() as u8, now.day() as u8);
    params.not_after = rcgen::date_time_ymd(until.year(), until.month() as u8, until.day() as u8);
    let mut serial = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut serial);
    serial[0] &= 0x7f;
    params.serial_number = Some(rcgen::SerialNumber::from_slice(&serial));
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyEncipherment,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    if ca {
        params.key_usages.push(rcgen::KeyUsagePurpose::KeyCertSign);
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    } else {
        params.is_ca = rcgen::IsCa::ExplicitNoCa;
    }
    params.extended_key_usages = vec![
        rcgen::ExtendedKeyUsagePurpose::ServerAuth,
        rcgen::ExtendedKeyUsagePurpose::ClientAuth,
    ];
    params
}

fn gen_ca_impl(name: &str, args: &[Value], with_key: bool) -> Result {
    want(name, args, if with_key { 3 } else { 2 })?;
    let cn = string(&args[0])?;
    let days = int(&args[1])?;
    let key = if with_key {
        parse_key(string(&args[2])?)?
    } else {
        new_rsa_key(rcgen::RsaKeySize::_2048)?
    };
    let params = base_params(cn, Vec::new(), days, true);
    let cert = params.self_signed(&key.pair).map_err(call_err)?;
    Ok(certificate_value(cert.pem(), key.pem))
}

pub fn gen_ca(args: &[Value]) -> Result {
    gen_ca_impl("genCA", args, false)
}

pub fn gen_ca_with_key(args: &[Value]) -> Result {
    gen_ca_impl("genCAWithKey", args, true)
}

fn self_signed_impl(name: &str, args: &[Value], with_key: bool) -> Result {
    want(name, args, if with_key { 5 } else { 4 })?;
    let cn = string(&args[0])?;
    let sans = san_list(list(&args[1])?, list(&args[2])?)?;
    let days = int(&args[3])?;
    let key = if with_key {
        parse_key(string(&args[4])?)?
    } else {
        new_rsa_key(rcgen::RsaKeySize::_2048)?
    };
    let params = base_params(cn, sans, days, false);
    let cert = params.self_signed(&key.pair).map_err(call_err)?;
    Ok(certificate_value(cert.pem(), key.pem))
}

pub fn gen_self_signed_cert(args: &[Value]) -> Result {
    self_signed_impl("genSelfSignedCert", args, false)
}

pub fn gen_self_signed_cert_with_key(args: &[Value]) -> Result {
    self_signed_impl("genSelfSignedCertWithKey", args, true)
}

fn signed_impl(name: &str, args: &[Value], with_key: bool) -> Result {
    want(name, args, if with_key { 6 } else { 5 })?;
    let cn = string(&args[0])?;
    let sans = san_list(list(&args[1])?, list(&args[2])?)?;
    let days = int(&args[3])?;
    let ca = certificate_arg(&args[4])?;
    let key = if with_key {
        parse_key(string(&args[5])?)?
    } else {
        new_rsa_key(rcgen::RsaKeySize::_2048)?
    };
    let ca_key =
        parse_key(&ca.key).map_err(|_| FuncError::Call("error decoding CA private key".into()))?;
    let ca_params = rcgen::CertificateParams::from_ca_cert_pem(&ca.cert)
        .map_err(|e| FuncError::Call(format!("error parsing certificate: {e}")))?;
    let issuer = ca_params.self_signed(&ca_key.pair).map_err(call_err)?;
    let params = base_params(cn, sans, days, false);
    let cert = params
        .signed_by(&key.pair, &issuer, &ca_key.pair)
        .map_err(call_err)?;
    Ok(certificate_value(cert.pem(), key.pem))
}

pub fn gen_signed_cert(args: &[Value]) -> Result {
    signed_impl("genSignedCert", args, false)
}

pub fn gen_signed_cert_with_key(args: &[Value]) -> Result {
    signed_impl("genSignedCertWithKey", args, true)
}

/// `buildCustomCert`: a certificate object from base64-encoded PEM cert and key.
pub fn build_custom_cert(args: &[Value]) -> Result {
    want("buildCustomCert", args, 2)?;
    let decode = |v: &Value| -> std::result::Result<String, FuncError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(string(v)?.as_bytes())
            .map_err(|_| FuncError::Call("unable to decode base64 certificate".into()))?;
        Ok(crate::value::lossy_text(&bytes).into_owned())
    };
    let cert = decode(&args[0])?;
    let key = decode(&args[1])?;
    if !cert.contains("-----BEGIN CERTIFICATE-----") {
        return Err(FuncError::Call("unable to decode certificate".into()));
    }
    parse_key(&key).map_err(|_| FuncError::Call("unable to decode key".into()))?;
    Ok(certificate_value(cert, key))
}

type Aes256CbcEnc = cbc::Encryptor<aes::Aes256>;
type Aes256CbcDec = cbc::Decryptor<aes::Aes256>;

fn aes_key(password: &str) -> [u8; 32] {
    let mut key = [0u8; 32];
    let bytes = password.as_bytes();
    let n = bytes.len().min(32);
    key[..n].copy_from_slice(&bytes[..n]);
    key
}

/// AES-256-CBC with a zero-padded password as key, PKCS#7 padding, random IV first.
pub fn encrypt_aes(args: &[Value]) -> Result {
    want("encryptAES", args, 2)?;
    let password = string(&args[0])?;
    let plain = string(&args[1])?;
    if plain.is_empty() {
        return Ok(Value::string(""));
    }
    let mut content = plain.as_bytes().to_vec();
    let padding = 16 - content.len() % 16;
    content.extend(std::iter::repeat_n(padding as u8, padding));
    let mut iv = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut iv);
    let len = content.len();
    let encryptor = Aes256CbcEnc::new(&aes_key(password).into(), &iv.into());
    let encrypted = encryptor
        .encrypt_padded_mut::<NoPadding>(&mut content, len)
        .map_err(call_err)?;
    let mut out = iv.to_vec();
    out.extend_from_slice(encrypted);
    Ok(Value::string(
        base64::engine::general_purpose::STANDARD.encode(out),
    ))
}

pub fn decrypt_aes(args: &[Value]) -> Result {
    want("decryptAES", args, 2)?;
    let password = string(&args[0])?;
    let encoded = string(&args[1])?;
    if encoded.is_empty() {
        return Ok(Value::string(""));
    }
    let data = base64::engine::general_purpose::STANDARD
        .decode(encoded.as_bytes())
        .map_err(|e| FuncError::Call(format!("illegal base64 data: {e}")))?;
    if data.len() < 16 || data.len() % 16 != 0 {
        return Err(FuncError::Call(
            "crypto/cipher: input not full blocks".into(),
        ));
    }
    let (iv, body) = data.split_at(16);
    let mut body = body.to_vec();
    let iv: [u8; 16] = iv.try_into().map_err(call_err)?;
    let decryptor = Aes256CbcDec::new(&aes_key(password).into(), &iv.into());
    let plain = decryptor
        .decrypt_padded_mut::<NoPadding>(&mut body)
        .map_err(call_err)?;
    let pad = plain.last().copied().unwrap_or(0) as usize;
    let end = plain.len().saturating_sub(pad);
    Ok(Value::string(
        crate::value::lossy_text(&plain[..end]).into_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: &Value) -> &str {
        value.as_str().unwrap_or_default()
    }

    fn field(certificate: &Value, name: &str) -> String {
        match certificate {
            Value::Object(object) => object
                .field(name)
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default(),
            other => panic!("not a certificate: {}", other.type_name()),
        }
    }

    /// The DER inside a single PEM block with this label.
    fn pem_der(pem: &str, label: &str) -> Vec<u8> {
        let begin = format!("-----BEGIN {label}-----\n");
        let end = format!("-----END {label}-----\n");
        assert!(pem.starts_with(&begin) && pem.ends_with(&end), "{pem}");
        let body: String = pem[begin.len()..pem.len() - end.len()]
            .lines()
            .inspect(|line| assert!(line.len() <= 64))
            .collect();
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap()
    }

    fn rsa_modulus_bytes(pkcs1_pem: &str) -> usize {
        let der = pem_der(pkcs1_pem, "RSA PRIVATE KEY");
        aws_lc_rs::rsa::KeyPair::from_der(&der)
            .unwrap()
            .public_modulus_len()
    }

    #[test]
    fn derive_password_gives_helms_passwords() {
        // Helm 3's own outputs for these calls.
        for (counter, kind, password, user, site, expected) in [
            (
                1,
                "long",
                "password",
                "user",
                "example.com",
                "ZedaFaxcZaso9*",
            ),
            (
                2,
                "long",
                "password",
                "user",
                "example.com",
                "Fovi2@JifpTupx",
            ),
            (
                1,
                "maximum",
                "password",
                "user",
                "example.com",
                "pf4zS1LjCg&LjhsZ7T2~",
            ),
            (1, "pin", "password", "user", "example.com", "6685"),
            (3, "medium", "päss", "üser", "site.example", "FawCor8:"),
        ] {
            let args = [
                Value::Int(counter),
                Value::string(kind),
                Value::string(password),
                Value::string(user),
                Value::string(site),
            ];
            assert_eq!(text(&derive_password(&args).unwrap()), expected, "{kind}");
        }
        let unknown = derive_password(&[
            Value::Int(1),
            Value::string("nope"),
            Value::string("p"),
            Value::string("u"),
            Value::string("s"),
        ])
        .unwrap();
        assert_eq!(text(&unknown), "cannot find password template nope");
    }

    #[test]
    fn private_keys_have_sprigs_types_and_sizes() {
        let key = |kind: &str| gen_private_key(&[Value::string(kind)]).unwrap();
        assert_eq!(rsa_modulus_bytes(text(&key("rsa"))), 512, "RSA 4096");
        let ec = key("ecdsa");
        assert!(p256::SecretKey::from_sec1_pem(text(&ec)).is_ok(), "{ec:?}");
        let ed = pem_der(text(&key("ed25519")), "PRIVATE KEY");
        assert_eq!(ed.len(), 48, "PKCS#8 v1 Ed25519, as Go writes it");
        assert!(aws_lc_rs::signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&ed).is_ok());
        assert_eq!(text(&key("dsa")), "Unknown type dsa");
    }

    #[test]
    fn certificates_carry_sprigs_fields() {
        let ca = gen_ca(&[Value::string("my-ca"), Value::Int(365)]).unwrap();
        assert_eq!(rsa_modulus_bytes(&field(&ca, "Key")), 256, "RSA 2048");
        let params = rcgen::CertificateParams::from_ca_cert_pem(&field(&ca, "Cert")).unwrap();
        assert!(matches!(params.is_ca, rcgen::IsCa::Ca(_)));
        assert!(
            params
                .key_usages
                .contains(&rcgen::KeyUsagePurpose::KeyCertSign)
        );
        let ips = Value::list(vec![Value::string("10.0.0.1")]);
        let dns = Value::list(vec![Value::string("svc.ns.svc")]);
        let signed = gen_signed_cert(&[
            Value::string("svc"),
            ips.clone(),
            dns.clone(),
            Value::Int(30),
            ca.clone(),
        ])
        .unwrap();
        let self_signed =
            gen_self_signed_cert(&[Value::string("svc"), ips, dns, Value::Int(30)]).unwrap();
        for cert in [signed, self_signed] {
            assert_eq!(rsa_modulus_bytes(&field(&cert, "Key")), 256);
            let params = rcgen::CertificateParams::from_ca_cert_pem(&field(&cert, "Cert")).unwrap();
            assert_eq!(
                params.subject_alt_names,
                [
                    rcgen::SanType::IpAddress("10.0.0.1".parse().unwrap()),
                    rcgen::SanType::DnsName("svc.ns.svc".try_into().unwrap()),
                ]
            );
            assert_eq!(
                params.extended_key_usages,
                [
                    rcgen::ExtendedKeyUsagePurpose::ServerAuth,
                    rcgen::ExtendedKeyUsagePurpose::ClientAuth,
                ]
            );
            assert!(!matches!(params.is_ca, rcgen::IsCa::Ca(_)));
        }
    }

    #[test]
    fn with_key_functions_take_rsa_ec_and_ed25519_keys() {
        let rsa = gen_private_key(&[Value::string("rsa")]).unwrap();
        let ec = gen_private_key(&[Value::string("ecdsa")]).unwrap();
        let ed = gen_private_key(&[Value::string("ed25519")]).unwrap();
        for key in [rsa, ec, ed] {
            let ca = gen_ca_with_key(&[Value::string("ca"), Value::Int(1), key.clone()]).unwrap();
            assert_eq!(field(&ca, "Key"), text(&key), "the given key is kept");
            let cert = gen_signed_cert_with_key(&[
                Value::string("leaf"),
                Value::list(Vec::new()),
                Value::list(vec![Value::string("leaf.example")]),
                Value::Int(1),
                ca,
                key,
            ])
            .unwrap();
            assert!(field(&cert, "Cert").starts_with("-----BEGIN CERTIFICATE-----\n"));
        }
        let error = gen_ca_with_key(&[
            Value::string("ca"),
            Value::Int(1),
            Value::string("not a key"),
        ])
        .unwrap_err();
        assert_eq!(error, FuncError::Call("unable to decode key".into()));
    }
}
