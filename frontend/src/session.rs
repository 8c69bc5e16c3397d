//! The session cookie: the backend's bearer token, kept where JavaScript cannot read it.

use axum::http::{HeaderMap, HeaderValue, header};
use cookie::{Cookie, SameSite, time::Duration as CookieDuration};

/// The cookie's name.
pub(crate) const COOKIE_NAME: &str = "todo_session";

/// How long the browser keeps the cookie; the token's own expiry still applies.
const MAX_AGE_DAYS: i64 = 7;

/// The token from the request's cookies, if any.
pub(crate) fn token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| Cookie::split_parse(value.to_owned()))
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == COOKIE_NAME && !cookie.value().is_empty())
        .map(|cookie| cookie.value().to_owned())
}

/// Whether the browser reached us over HTTPS (directly or through a proxy that says so).
pub(crate) fn over_https(headers: &HeaderMap) -> bool {
    let forwarded_proto = headers
        .get("x-forwarded-proto")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(',').next())
        .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"));
    let forwarded = headers
        .get(header::FORWARDED)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(',').next())
        .is_some_and(|first| {
            first.split(';').any(|pair| {
                pair.trim()
                    .to_ascii_lowercase()
                    .strip_prefix("proto=")
                    .is_some_and(|proto| proto.trim_matches('"') == "https")
            })
        });
    forwarded_proto || forwarded
}

/// The `Set-Cookie` value that stores `token`.
pub(crate) fn set(token: &str, secure: bool) -> HeaderValue {
    build(token, secure, CookieDuration::days(MAX_AGE_DAYS))
}

/// The `Set-Cookie` value that removes the cookie.
pub(crate) fn clear(secure: bool) -> HeaderValue {
    build("", secure, CookieDuration::ZERO)
}

fn build(value: &str, secure: bool, max_age: CookieDuration) -> HeaderValue {
    let cookie = Cookie::build((COOKIE_NAME, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(max_age)
        .build();
    // A token the backend handed out is URL-safe text; anything else is dropped rather
    // than sent as a broken header.
    HeaderValue::from_str(&cookie.to_string()).unwrap_or_else(|_| {
        HeaderValue::from_static("todo_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn finds_the_token_among_other_cookies() {
        let map = headers(&[("cookie", "a=1; todo_session=abc.def; b=2")]);
        assert_eq!(token(&map).as_deref(), Some("abc.def"));
        assert_eq!(token(&headers(&[("cookie", "todo_session=")])), None);
        assert_eq!(token(&headers(&[])), None);
    }

    #[test]
    fn https_is_detected_from_proxy_headers() {
        assert!(over_https(&headers(&[("x-forwarded-proto", "https")])));
        assert!(over_https(&headers(&[(
            "forwarded",
            "for=1.2.3.4;proto=https"
        )])));
        assert!(!over_https(&headers(&[("x-forwarded-proto", "http")])));
        assert!(!over_https(&headers(&[])));
    }

    #[test]
    fn cookie_is_http_only_and_lax() {
        let plain = set("tok", false);
        let plain = plain.to_str().unwrap();
        assert!(plain.starts_with("todo_session=tok"), "{plain}");
        assert!(plain.contains("HttpOnly") && plain.contains("SameSite=Lax"));
        assert!(!plain.contains("Secure"));
        assert!(set("tok", true).to_str().unwrap().contains("Secure"));
        assert!(clear(false).to_str().unwrap().contains("Max-Age=0"));
    }
}
