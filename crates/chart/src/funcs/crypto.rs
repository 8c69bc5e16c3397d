//! Sprig's crypto functions: bcrypt/htpasswd, Master Password `derivePassword`, private
//! keys and X.509 certificates (`genCA`, `genSelfSignedCert`, `genSignedCert` and their
//! `WithKey` forms, `buildCustomCert`), AES-CBC `encryptAES`/`decryptAES`.
//!
//! Generated keys and certificates are random, as in Helm: what matters is their form
//! (PEM blocks of the same types, RSA 2048 for certificates, the same key usages).

use std::net::IpAddr;
use std::sync::Arc;

use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit, block_padding::NoPadding};
use base64::Engine as _;
use chrono::{Datelike, Utc};
use hmac::Mac;
use rand::RngCore;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};

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
    let params = scrypt::Params::new(15, 8, 2, 64).map_err(call_err)?;
    let mut key = [0u8; 64];
    scrypt::scrypt(password.as_bytes(), &salt, &params, &mut key).map_err(call_err)?;
    let mut message = SEED.to_vec();
    message.extend_from_slice(&(site.len() as u32).to_be_bytes());
    message.extend_from_slice(site.as_bytes());
    message.extend_from_slice(&(counter as u32).to_be_bytes());
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).map_err(call_err)?;
    mac.update(&message);
    let seed = mac.finalize().into_bytes();
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

fn rsa_key(bits: usize) -> std::result::Result<rsa::RsaPrivateKey, FuncError> {
    rsa::RsaPrivateKey::new(&mut rand::thread_rng(), bits).map_err(call_err)
}

fn rsa_pem(key: &rsa::RsaPrivateKey) -> std::result::Result<String, FuncError> {
    Ok(key
        .to_pkcs1_pem(LineEnding::LF)
        .map_err(call_err)?
        .to_string())
}

pub fn gen_private_key(args: &[Value]) -> Result {
    want("genPrivateKey", args, 1)?;
    let pem = match string(&args[0])? {
        "rsa" => rsa_pem(&rsa_key(4096)?)?,
        "ecdsa" => {
            let key = p256::SecretKey::random(&mut rand::thread_rng());
            key.to_sec1_pem(p256::pkcs8::LineEnding::LF)
                .map_err(call_err)?
                .to_string()
        }
        "ed25519" => {
            let doc =
                ring::signature::Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new())
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
        out.push_str(&String::from_utf8_lossy(chunk));
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

/// An RSA key in the forms rcgen and the template need.
struct Key {
    pair: rcgen::KeyPair,
    pem: String,
}

fn new_rsa_key() -> std::result::Result<Key, FuncError> {
    let key = rsa_key(2048)?;
    let pkcs8 = key.to_pkcs8_pem(LineEnding::LF).map_err(call_err)?;
    let pair = rcgen::KeyPair::from_pem_and_sign_algo(&pkcs8, &rcgen::PKCS_RSA_SHA256)
        .map_err(call_err)?;
    Ok(Key {
        pair,
        pem: rsa_pem(&key)?,
    })
}

/// A key given as PEM (`*WithKey` functions): RSA (PKCS#1 or PKCS#8) or EC.
fn parse_key(pem: &str) -> std::result::Result<Key, FuncError> {
    let decode_err = || FuncError::Call("unable to decode key".into());
    if let Ok(key) = <rsa::RsaPrivateKey as rsa::pkcs1::DecodeRsaPrivateKey>::from_pkcs1_pem(pem)
        .or_else(|_| rsa::RsaPrivateKey::from_pkcs8_pem(pem))
    {
        let pkcs8 = key.to_pkcs8_pem(LineEnding::LF).map_err(call_err)?;
        let pair = rcgen::KeyPair::from_pem_and_sign_algo(&pkcs8, &rcgen::PKCS_RSA_SHA256)
            .map_err(call_err)?;
        return Ok(Key {
            pair,
            pem: pem.to_string(),
        });
    }
    if let Ok(key) = p256::SecretKey::from_sec1_pem(pem) {
        let pkcs8 = key
            .to_pkcs8_pem(p256::pkcs8::LineEnding::LF)
            .map_err(call_err)?;
        let pair = rcgen::KeyPair::from_pem(&pkcs8).map_err(call_err)?;
        return Ok(Key {
            pair,
            pem: pem.to_string(),
        });
    }
    let pair = rcgen::KeyPair::from_pem(pem).map_err(|_| decode_err())?;
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
        new_rsa_key()?
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
        new_rsa_key()?
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
        new_rsa_key()?
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
        Ok(String::from_utf8_lossy(&bytes).into_owned())
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
        String::from_utf8_lossy(&plain[..end]).into_owned(),
    ))
}
