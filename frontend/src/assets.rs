//! The stylesheet and script, embedded in the binary and served under fingerprinted names.
//!
//! Each asset's URL carries a hash of its content (`/static/app.1a2b3c4d5e6f7a8b.css`), so
//! a browser may keep it for a year without asking again (`immutable`): a new release has
//! new content, hence a new name, and the pages (never cached) point at it. A name with an
//! old or unknown hash is a 404 rather than today's content, so no cache ever stores new
//! bytes under an old name. The ETag (the same hash) answers revalidations with a 304.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// How long a browser keeps a fingerprinted asset: a year, without revalidating.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// One embedded file and the names it is served under.
pub(crate) struct Asset {
    /// The file name with its content hash, e.g. `app.1a2b3c4d5e6f7a8b.css`.
    name: String,
    /// The `ETag` value: weak, because the compression layer may re-encode the body.
    etag: HeaderValue,
    content_type: &'static str,
    body: &'static str,
}

impl Asset {
    fn new(stem: &str, extension: &str, content_type: &'static str, body: &'static str) -> Self {
        let digest = Sha256::digest(body.as_bytes());
        let hash = hex::encode(&digest[..8]);
        let etag = HeaderValue::from_str(&format!("W/\"{hash}\""))
            .unwrap_or_else(|_| HeaderValue::from_static("W/\"0\""));
        Self {
            name: format!("{stem}.{hash}.{extension}"),
            etag,
            content_type,
            body,
        }
    }

    /// The URL pages link to.
    pub(crate) fn href(&self) -> String {
        format!("/static/{}", self.name)
    }

    fn respond(&self, request_headers: &HeaderMap) -> Response {
        let headers = [
            (header::ETAG, self.etag.clone()),
            (header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE)),
        ];
        if self.is_fresh(request_headers) {
            return (StatusCode::NOT_MODIFIED, headers).into_response();
        }
        let content_type = [(header::CONTENT_TYPE, self.content_type)];
        (headers, content_type, self.body).into_response()
    }

    /// Whether the browser's copy (`If-None-Match`, compared weakly) is this one.
    fn is_fresh(&self, request_headers: &HeaderMap) -> bool {
        let ours = opaque_tag(self.etag.to_str().unwrap_or(""));
        request_headers
            .get_all(header::IF_NONE_MATCH)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .any(|tag| tag == "*" || opaque_tag(tag) == ours)
    }
}

/// An entity tag without its weakness marker (`W/"x"` and `"x"` compare equal weakly).
fn opaque_tag(tag: &str) -> &str {
    tag.strip_prefix("W/").unwrap_or(tag)
}

/// The stylesheet.
pub(crate) static CSS: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        "app",
        "css",
        "text/css; charset=utf-8",
        include_str!("../assets/app.css"),
    )
});

/// The script.
pub(crate) static JS: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        "app",
        "js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/app.js"),
    )
});

/// `GET /static/{file}`: an asset by its fingerprinted name; any other name is a 404.
pub(crate) async fn static_file(Path(file): Path<String>, headers: HeaderMap) -> Response {
    [&*CSS, &*JS]
        .into_iter()
        .find(|asset| asset.name == file)
        .map_or_else(
            || {
                (
                    StatusCode::NOT_FOUND,
                    [(header::CACHE_CONTROL, "no-cache")],
                    "No such file. Reload the page to get the current one.",
                )
                    .into_response()
            },
            |asset| asset.respond(&headers),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_a_content_hash() {
        let css = Asset::new("app", "css", "text/css", "a{}");
        let other = Asset::new("app", "css", "text/css", "b{}");
        assert!(css.href().starts_with("/static/app."), "{}", css.href());
        assert!(css.href().ends_with(".css"));
        assert_ne!(css.name, other.name, "new content, new name");
        assert_eq!(css.href().len(), "/static/app..css".len() + 16);
    }

    #[test]
    fn revalidation_matches_weakly_and_lists() {
        let css = Asset::new("app", "css", "text/css", "a{}");
        let tag = css.etag.to_str().unwrap_or_default().to_owned();
        let strong = tag.trim_start_matches("W/").to_owned();
        for (sent, fresh) in [
            (tag.as_str(), true),
            (strong.as_str(), true),
            ("\"other\", W/\"x\"", false),
            ("*", true),
        ] {
            let mut headers = HeaderMap::new();
            headers.insert(header::IF_NONE_MATCH, HeaderValue::from_str(sent).unwrap());
            assert_eq!(css.is_fresh(&headers), fresh, "{sent}");
        }
        assert!(!css.is_fresh(&HeaderMap::new()));
    }
}
