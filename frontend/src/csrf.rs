//! Cross-site request refusal: a page on another site must not change anything here.
//!
//! The session is a cookie, so a page on another site can make the visitor's browser send
//! it along with a form or a `fetch` (SameSite=Lax stops most of that, not all: sibling
//! subdomains are "same site", and sign-in needs no cookie at all). Browsers say where a
//! request comes from, and the rule follows Go's `net/http.CrossOriginProtection`:
//!
//! 1. `GET`, `HEAD` and `OPTIONS` change nothing here and always pass.
//! 2. `Sec-Fetch-Site` (sent by current browsers to HTTPS and localhost origins):
//!    `same-origin` and `none` (typed address, bookmark) pass; `same-site` and
//!    `cross-site` are refused.
//! 3. Otherwise `Origin` (sent by browsers with every `POST`, `PUT`, `PATCH`, `DELETE`):
//!    it passes when its `host[:port]` is the request's `Host`; anything else, `null`
//!    included, is refused.
//! 4. With neither header the request did not come from a current browser (curl, a
//!    script holding its own token): it passes, since a cross-site attack needs the
//!    victim's browser, and every browser that attaches the session cookie on its own
//!    also sends one of the two headers with a state-changing request.
//!
//! Refusals are 403: a JSON error under `/api`, a page everywhere else.

use axum::extract::Request;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::proxy;
use crate::views;

/// Whether a request may go on, or why not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Same origin, a safe method, or not from a browser.
    Allowed,
    /// `Sec-Fetch-Site` named another origin.
    OtherSite,
    /// `Origin` named another origin (or `null`).
    OtherOrigin,
}

/// Refuses state-changing requests that a browser sent from another origin.
pub(crate) async fn refuse_cross_site(request: Request, next: Next) -> Response {
    let verdict = verdict(request.method(), request.uri(), request.headers());
    if verdict == Verdict::Allowed {
        return next.run(request).await;
    }
    let path = request.uri().path();
    tracing::warn!(
        method = %request.method(),
        path,
        reason = ?verdict,
        "cross-site request refused"
    );
    if path == "/api" || path.starts_with("/api/") {
        proxy::error(
            StatusCode::FORBIDDEN,
            "cross_site_request",
            "This request was sent by another website, so it was refused. \
             Use the app from its own address.",
        )
    } else {
        (StatusCode::FORBIDDEN, views::cross_site_refused()).into_response()
    }
}

fn verdict(method: &Method, uri: &Uri, headers: &HeaderMap) -> Verdict {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Verdict::Allowed;
    }
    if let Some(site) = headers.get("sec-fetch-site") {
        let same = site.as_bytes().eq_ignore_ascii_case(b"same-origin")
            || site.as_bytes().eq_ignore_ascii_case(b"none");
        return if same {
            Verdict::Allowed
        } else {
            Verdict::OtherSite
        };
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Verdict::Allowed;
    };
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|origin| origin.parse::<Uri>().ok())
        .filter(|origin| origin.scheme().is_some())
        .and_then(|origin| {
            origin
                .authority()
                .map(|authority| authority.as_str().to_owned())
        });
    let request_host = headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .or_else(|| uri.authority().map(|authority| authority.as_str()));
    match (origin_host, request_host) {
        (Some(origin), Some(host)) if origin.eq_ignore_ascii_case(host) => Verdict::Allowed,
        _ => Verdict::OtherOrigin,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn judge(method: Method, pairs: &[(&'static str, &'static str)]) -> Verdict {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_static(value));
        }
        verdict(&method, &Uri::from_static("/signout"), &headers)
    }

    #[test]
    fn safe_methods_always_pass() {
        let evil = [("origin", "https://evil.example"), ("host", "app.example")];
        assert_eq!(judge(Method::GET, &evil), Verdict::Allowed);
        assert_eq!(judge(Method::HEAD, &evil), Verdict::Allowed);
        assert_eq!(judge(Method::OPTIONS, &evil), Verdict::Allowed);
    }

    #[test]
    fn sec_fetch_site_decides_when_present() {
        let host = ("host", "app.example");
        for site in ["same-origin", "none", "Same-Origin"] {
            assert_eq!(
                judge(Method::POST, &[host, ("sec-fetch-site", site)]),
                Verdict::Allowed,
                "{site}"
            );
        }
        for site in ["same-site", "cross-site", "bogus"] {
            assert_eq!(
                judge(Method::DELETE, &[host, ("sec-fetch-site", site)]),
                Verdict::OtherSite,
                "{site}"
            );
        }
        // A same-origin Origin does not save a cross-site Sec-Fetch-Site.
        let mixed = [
            host,
            ("sec-fetch-site", "cross-site"),
            ("origin", "https://app.example"),
        ];
        assert_eq!(judge(Method::POST, &mixed), Verdict::OtherSite);
    }

    #[test]
    fn origin_must_name_the_requests_host() {
        let allowed: [&[(&'static str, &'static str)]; 3] = [
            &[("host", "app.example"), ("origin", "https://app.example")],
            &[
                ("host", "127.0.0.1:3000"),
                ("origin", "http://127.0.0.1:3000"),
            ],
            &[("host", "App.Example"), ("origin", "https://app.example")],
        ];
        for case in allowed {
            assert_eq!(judge(Method::POST, case), Verdict::Allowed, "{case:?}");
        }
        let refused: [&[(&'static str, &'static str)]; 5] = [
            &[("host", "app.example"), ("origin", "https://evil.example")],
            &[
                ("host", "app.example"),
                ("origin", "https://app.example:8443"),
            ],
            &[
                ("host", "app.example"),
                ("origin", "https://sub.app.example"),
            ],
            &[("host", "app.example"), ("origin", "null")],
            &[("origin", "https://app.example")],
        ];
        for case in refused {
            assert_eq!(judge(Method::PATCH, case), Verdict::OtherOrigin, "{case:?}");
        }
    }

    #[test]
    fn requests_without_browser_headers_pass() {
        assert_eq!(
            judge(Method::POST, &[("host", "app.example")]),
            Verdict::Allowed
        );
    }
}
