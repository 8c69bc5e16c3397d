//! Passwords (argon2id) and session tokens (JWT, HS256, signed with `BETTER_AUTH_SECRET`).

use std::time::Duration;

use argon2::password_hash::{self, Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::{SecondsFormat, Utc};
use jsonwebtoken::{Algorithm as JwtAlgorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::config::{PasswordCost, Secret};
use crate::error::ApiError;

/// Signs and checks session tokens, hashes and verifies passwords.
#[derive(Clone)]
pub struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
    argon2: Argon2<'static>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys([redacted])")
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    iat: i64,
    exp: i64,
}

/// A signed token and when it expires.
#[derive(Debug)]
pub struct IssuedToken {
    /// The JWT.
    pub token: String,
    /// Expiry, RFC 3339.
    pub expires_at: String,
}

impl Keys {
    /// Keys from the configured secret.
    pub fn new(secret: &Secret, ttl: Duration, cost: PasswordCost) -> Self {
        let mut validation = Validation::new(JwtAlgorithm::HS256);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "sub"]);
        let params = match cost {
            PasswordCost::Standard => Params::default(),
            PasswordCost::Minimal => Params::new(64, 1, 1, None).unwrap_or_default(),
        };
        Self {
            encoding: EncodingKey::from_secret(secret.expose().as_bytes()),
            decoding: DecodingKey::from_secret(secret.expose().as_bytes()),
            validation,
            ttl,
            argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
        }
    }

    /// Signs a token for `user`.
    pub fn issue(&self, user: i64) -> Result<IssuedToken, ApiError> {
        let now = Utc::now();
        let expires = now
            + chrono::Duration::from_std(self.ttl).unwrap_or_else(|_| chrono::Duration::days(7));
        let claims = Claims {
            sub: user.to_string(),
            iat: now.timestamp(),
            exp: expires.timestamp(),
        };
        let token =
            jsonwebtoken::encode(&Header::new(JwtAlgorithm::HS256), &claims, &self.encoding)
                .map_err(ApiError::internal)?;
        Ok(IssuedToken {
            token,
            expires_at: expires.to_rfc3339_opts(SecondsFormat::Secs, true),
        })
    }

    /// The user id in a valid, unexpired token.
    pub fn verify(&self, token: &str) -> Result<i64, ApiError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|error| {
                let detail = match error.kind() {
                    jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                        "the session token has expired: sign in again"
                    }
                    _ => "the session token is not valid: sign in again",
                };
                ApiError::unauthorized(detail)
            })?;
        data.claims
            .sub
            .parse()
            .map_err(|_| ApiError::unauthorized("the session token is not valid: sign in again"))
    }

    /// An argon2id PHC hash of `password` (CPU-heavy: runs on the calling thread, in that
    /// thread's hash memory, see [`with_hash_memory`]).
    pub fn hash_password(&self, password: &str) -> Result<String, ApiError> {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        let mut salt_bytes = [0u8; 64];
        let salt_bytes = salt
            .as_salt()
            .decode_b64(&mut salt_bytes)
            .map_err(ApiError::internal)?;
        let params = self.argon2.params();
        let output_len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
        let output = with_hash_memory(params.block_count(), |blocks| {
            Output::init_with(output_len, |out| {
                self.argon2
                    .hash_password_into_with_memory(password.as_bytes(), salt_bytes, out, blocks)
                    .map_err(password_hash::Error::from)
            })
        })
        .map_err(ApiError::internal)?;
        let hash = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(params).map_err(ApiError::internal)?,
            salt: Some(salt.as_salt()),
            hash: Some(output),
        };
        Ok(hash.to_string())
    }

    /// Does a hashing thread's job (see [`crate::guard::PasswordHashes`]).
    pub fn run(&self, job: crate::guard::HashJob) -> crate::guard::HashOutcome {
        use crate::guard::{HashJob, HashOutcome};
        match job {
            HashJob::Hash(password) => HashOutcome::Hashed(
                self.hash_password(&password)
                    .map_err(|_| "hashing the password failed".to_string()),
            ),
            HashJob::Verify(password, Some(hash)) => {
                HashOutcome::Verified(self.verify_password(&password, &hash))
            }
            HashJob::Verify(password, None) => {
                // Spend the same time as for a known email, so timing does not reveal accounts.
                let _ = self.hash_password(&password);
                HashOutcome::Verified(false)
            }
        }
    }

    /// Whether `password` matches `hash` (CPU-heavy: runs on the calling thread, in that
    /// thread's hash memory). Hashes whose parameters ask for more than four times the
    /// memory of ours are refused rather than computed.
    pub fn verify_password(&self, password: &str, hash: &str) -> bool {
        self.try_verify(password, hash).unwrap_or(false)
    }

    fn try_verify(&self, password: &str, hash: &str) -> Option<bool> {
        let parsed = PasswordHash::new(hash).ok()?;
        let algorithm = Algorithm::try_from(parsed.algorithm).ok()?;
        let version = match parsed.version {
            Some(version) => Version::try_from(version).ok()?,
            None => Version::default(),
        };
        let params = Params::try_from(&parsed).ok()?;
        if params.block_count() > 4 * self.argon2.params().block_count() {
            return None;
        }
        let expected = parsed.hash?;
        let mut salt_bytes = [0u8; 64];
        let salt_bytes = parsed.salt?.decode_b64(&mut salt_bytes).ok()?;
        let argon2 = Argon2::new(algorithm, version, params.clone());
        let computed = with_hash_memory(params.block_count(), |blocks| {
            Output::init_with(expected.len(), |out| {
                argon2
                    .hash_password_into_with_memory(password.as_bytes(), salt_bytes, out, blocks)
                    .map_err(password_hash::Error::from)
            })
        })
        .ok()?;
        // Output compares in constant time.
        Some(computed == expected)
    }
}

thread_local! {
    /// This thread's argon2 memory (19 MiB with the standard cost), allocated by its first
    /// hash and reused by the next ones. Hashes run on a few dedicated threads
    /// ([`crate::guard::PasswordHashes`]), so the process holds one such buffer per thread:
    /// allocating it per hash let the allocator keep a freed buffer per arena, hundreds of
    /// MiB in all after a burst of sign-ins.
    static HASH_MEMORY: std::cell::RefCell<Vec<Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `hash` with `blocks` blocks of this thread's hash memory.
fn with_hash_memory<T>(blocks: usize, hash: impl FnOnce(&mut [Block]) -> T) -> T {
    HASH_MEMORY.with_borrow_mut(|memory| {
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        hash(&mut memory[..blocks])
    })
}

/// The signed-in user of a request (from `Authorization: Bearer <token>`).
#[derive(Debug, Clone, Copy)]
pub struct AuthUser {
    /// The user's id.
    pub id: i64,
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| {
                ApiError::unauthorized(
                    "send `Authorization: Bearer <token>`; sign in to get a token",
                )
            })?;
        let token = header
            .to_str()
            .ok()
            .and_then(|value| {
                value
                    .strip_prefix("Bearer ")
                    .or_else(|| value.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or_else(|| {
                ApiError::unauthorized("the Authorization header must be `Bearer <token>`")
            })?;
        let id = state.keys.verify(token)?;
        if !state.known_users.contains(id) {
            if !state.store.user_exists(id).await? {
                return Err(ApiError::unauthorized(
                    "this account no longer exists: sign up again",
                ));
            }
            state.known_users.insert(id);
        }
        Ok(Self { id })
    }
}

/// Users whose row was seen lately, so that a request with a valid token costs no extra
/// query to check that its user exists (a signature says who the token was issued to, not
/// that the account is still there). An entry is trusted for [`KnownUsers::TRUST`]: the API
/// deletes no accounts, so this only bounds how long a row removed by hand, or lost with a
/// restored backup, still lets its tokens in.
#[derive(Debug, Default)]
pub struct KnownUsers {
    seen: std::sync::Mutex<std::collections::HashMap<i64, std::time::Instant>>,
}

impl KnownUsers {
    /// How long a seen user is trusted without asking the database again.
    pub const TRUST: Duration = Duration::from_secs(60);
    /// Most users remembered; beyond that the memory is cleared (bounded by design).
    pub const CAPACITY: usize = 50_000;

    /// Whether `id` was seen within [`KnownUsers::TRUST`].
    pub fn contains(&self, id: i64) -> bool {
        self.seen
            .lock()
            .ok()
            .and_then(|seen| seen.get(&id).copied())
            .is_some_and(|at| at.elapsed() < Self::TRUST)
    }

    /// Records that `id`'s row exists now.
    pub fn insert(&self, id: i64) {
        if let Ok(mut seen) = self.seen.lock() {
            if seen.len() >= Self::CAPACITY {
                seen.retain(|_, at| at.elapsed() < Self::TRUST);
                if seen.len() >= Self::CAPACITY {
                    seen.clear();
                }
            }
            seen.insert(id, std::time::Instant::now());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(secret: &str) -> Keys {
        Keys::new(
            &Secret::new(secret),
            Duration::from_secs(60),
            PasswordCost::Minimal,
        )
    }

    #[test]
    fn tokens_round_trip_and_reject_other_keys() {
        let issued = keys("a-secret-of-some-length").issue(42).unwrap();
        assert_eq!(
            keys("a-secret-of-some-length")
                .verify(&issued.token)
                .unwrap(),
            42
        );
        assert!(
            keys("another-secret-entirely")
                .verify(&issued.token)
                .is_err()
        );
        assert!(keys("a-secret-of-some-length").verify("garbage").is_err());
    }

    #[test]
    fn passwords_verify() {
        let keys = keys("a-secret-of-some-length");
        let hash = keys.hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(keys.verify_password("correct horse", &hash));
        assert!(!keys.verify_password("wrong horse", &hash));
        assert!(!keys.verify_password("x", "not a hash"));
    }

    #[test]
    fn hashes_match_the_argon2_crates_own_in_both_directions() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let keys = Keys::new(
            &Secret::new("a-secret-of-some-length"),
            Duration::from_secs(60),
            PasswordCost::Standard,
        );
        // Stored before hashes ran in a reused buffer.
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        let theirs = Argon2::default()
            .hash_password(b"correct horse", &salt)
            .unwrap()
            .to_string();
        assert!(keys.verify_password("correct horse", &theirs));
        assert!(!keys.verify_password("correct horsf", &theirs));
        let ours = keys.hash_password("correct horse").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"correct horse", &parsed)
                .is_ok()
        );
        // A second hash in the same (now used) memory is still right.
        let again = keys.hash_password("another one").unwrap();
        assert!(keys.verify_password("another one", &again));
        assert!(keys.verify_password("correct horse", &ours));
    }
}
