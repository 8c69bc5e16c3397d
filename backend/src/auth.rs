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
use crate::store::SessionState;

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
    /// The session: random, one per sign-in, so that signing out can end this one alone.
    /// Tokens issued before sessions existed have none (see [`Verified::session`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
}

/// What a valid token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The user it was issued to.
    pub user: i64,
    /// Its session, as recorded when it is ended: the `sid` claim, or for older tokens
    /// without one, the user and issue time (`u<user>@<iat>`).
    pub session: String,
    /// When it expires (Unix seconds).
    pub expires_at: i64,
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
        let mut session = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut session);
        let claims = Claims {
            sub: user.to_string(),
            iat: now.timestamp(),
            exp: expires.timestamp(),
            sid: Some(session.iter().map(|byte| format!("{byte:02x}")).collect()),
        };
        let token =
            jsonwebtoken::encode(&Header::new(JwtAlgorithm::HS256), &claims, &self.encoding)
                .map_err(ApiError::internal)?;
        Ok(IssuedToken {
            token,
            expires_at: expires.to_rfc3339_opts(SecondsFormat::Secs, true),
        })
    }

    /// The user and session of a valid, unexpired token (whether the session was ended by
    /// signing out is the database's to say: [`crate::store::Store::session_state`]).
    pub fn verify(&self, token: &str) -> Result<Verified, ApiError> {
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
        let user: i64 =
            data.claims.sub.parse().map_err(|_| {
                ApiError::unauthorized("the session token is not valid: sign in again")
            })?;
        let session = data
            .claims
            .sid
            .unwrap_or_else(|| format!("u{user}@{}", data.claims.iat));
        Ok(Verified {
            user,
            session,
            expires_at: data.claims.exp,
        })
    }

    /// An argon2id PHC hash of `password` (CPU-heavy: runs on the calling thread, in that
    /// thread's hash memory, see `with_hash_memory`).
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
#[derive(Debug, Clone)]
pub struct AuthUser {
    /// The user's id.
    pub id: i64,
    /// The token's session (to end it on sign-out).
    pub session: String,
    /// When the token expires (Unix seconds).
    pub expires_at: i64,
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
        let verified = state.keys.verify(token)?;
        // Asked of the database on every request, not remembered: a sign-out must end the
        // session at once on every replica, not when a cache entry runs out.
        match state
            .store
            .session_state(verified.user, &verified.session)
            .await?
        {
            SessionState::Valid => Ok(Self {
                id: verified.user,
                session: verified.session,
                expires_at: verified.expires_at,
            }),
            SessionState::Revoked => Err(ApiError::unauthorized(
                "this session has been signed out: sign in again",
            )),
            SessionState::NoSuchUser => Err(ApiError::unauthorized(
                "this account no longer exists: sign up again",
            )),
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
        let verified = keys("a-secret-of-some-length")
            .verify(&issued.token)
            .unwrap();
        assert_eq!(verified.user, 42);
        assert_eq!(verified.session.len(), 32, "{verified:?}");
        // Each sign-in is a session of its own.
        let again = keys("a-secret-of-some-length").issue(42).unwrap();
        assert_ne!(
            keys("a-secret-of-some-length")
                .verify(&again.token)
                .unwrap()
                .session,
            verified.session
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
