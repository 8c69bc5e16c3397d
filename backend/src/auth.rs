//! Passwords (argon2id) and session tokens (JWT, HS256, signed with `BETTER_AUTH_SECRET`).

use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
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

    /// An argon2id PHC hash of `password` (CPU-heavy: call from a blocking thread).
    pub fn hash_password(&self, password: &str) -> Result<String, ApiError> {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        self.argon2
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(ApiError::internal)
    }

    /// Whether `password` matches `hash` (CPU-heavy: call from a blocking thread).
    pub fn verify_password(&self, password: &str, hash: &str) -> bool {
        PasswordHash::new(hash).is_ok_and(|parsed| {
            self.argon2
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
    }
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
        Ok(Self {
            id: state.keys.verify(token)?,
        })
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
}
