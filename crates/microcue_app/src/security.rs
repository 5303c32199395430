//! Access rules of a local app, checked on every request before any route runs.
//!
//! - **Host.** The `Host` header must be an IP address or `localhost`. A web page on another
//!   site can point its own domain name at 127.0.0.1 (DNS rebinding) and would then talk to
//!   this server as "same origin"; its requests carry that domain name as `Host`, so they are
//!   refused.
//! - **Origin.** A request that carries an `Origin` (every browser WebSocket handshake and
//!   cross-site fetch does) must come from this server's own origin: no other page can open the
//!   live socket or read the app. `Sec-Fetch-Site: cross-site` is refused too.
//! - **Token.** Listening on any address other than 127.0.0.1 or ::1 makes a random token, which
//!   the printed URL carries (`?token=`, as Jupyter does). A request with the right token gets
//!   it as a cookie (`HttpOnly`, `SameSite=Strict`), so links within the app work without it.
//! - Every response says: no framing, no sniffing, no referrer to other sites, no caching, scripts and
//!   connections to this origin only.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use axum::extract::{Request, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::RngCore;

use crate::AppState;

/// Name of the cookie that carries the token after the first visit.
pub const TOKEN_COOKIE: &str = "microcue_token";
/// Name of the query parameter that carries the token in the printed URL.
pub const TOKEN_PARAMETER: &str = "token";

/// The access rules of one server.
#[derive(Debug, Clone)]
pub struct Access {
    token: Option<String>,
}

impl Access {
    /// The rules for a server listening on `address`: a fresh random token unless it is
    /// 127.0.0.1 or ::1.
    pub fn for_address(address: SocketAddr) -> Access {
        let ip = address.ip();
        let token = (ip != IpAddr::V4(Ipv4Addr::LOCALHOST)
            && ip != IpAddr::V6(Ipv6Addr::LOCALHOST))
        .then(random_token);
        Access { token }
    }

    /// Whether requests need the token.
    pub fn token_required(&self) -> bool {
        self.token.is_some()
    }

    /// The URL to open: the address (127.0.0.1 for an unspecified one) and the token if any.
    pub fn url(&self, address: SocketAddr) -> String {
        let ip = match address.ip() {
            ip if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            ip => ip,
        };
        let base = format!("http://{}/", SocketAddr::new(ip, address.port()));
        match &self.token {
            Some(token) => format!("{base}?{TOKEN_PARAMETER}={token}"),
            None => base,
        }
    }

    /// Whether `headers` or `uri` carry the token; `Some(true)` when it came in the URL (so
    /// the response should set the cookie). Always `Some(false)` when no token is needed.
    fn admits(&self, headers: &HeaderMap, uri: &Uri) -> Option<bool> {
        let Some(token) = &self.token else {
            return Some(false);
        };
        let from_cookie = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .any(|(name, value)| name == TOKEN_COOKIE && same_secret(value, token));
        if from_cookie {
            return Some(false);
        }
        let from_query = uri
            .query()
            .unwrap_or("")
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .any(|(name, value)| name == TOKEN_PARAMETER && same_secret(value, token));
        from_query.then_some(true)
    }
}

/// 128 random bits as 32 hex digits (the thread RNG is a CSPRNG seeded by the OS).
fn random_token() -> String {
    let mut bytes = [0_u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares without stopping at the first difference (no timing hint about the token).
fn same_secret(given: &str, expected: &str) -> bool {
    given.len() == expected.len()
        && given
            .bytes()
            .zip(expected.bytes())
            .fold(0_u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

/// The host part of a `Host` header value (`[::1]:8421` -> `::1`, `localhost:8421` ->
/// `localhost`).
fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("");
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// Whether a `Host` header names this machine by address or as `localhost` (a domain name
/// could be rebound to it).
pub fn host_allowed(host: &str) -> bool {
    let name = host_name(host);
    name.eq_ignore_ascii_case("localhost") || name.parse::<IpAddr>().is_ok()
}

/// Whether an `Origin` header is this server's own origin, as reached through `host`.
pub fn origin_allowed(origin: &str, host: &str) -> bool {
    origin
        .strip_prefix("http://")
        .is_some_and(|rest| rest.eq_ignore_ascii_case(host))
}

/// A plain-text refusal.
fn refuse(status: StatusCode, message: &str) -> Response {
    let mut response = (status, format!("{message}\n")).into_response();
    harden(response.headers_mut());
    response
}

/// Headers every response carries.
fn harden(headers: &mut HeaderMap) {
    let fixed = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
             media-src 'self' blob: mediastream:; connect-src 'self'; frame-ancestors 'none'; \
             base-uri 'none'; form-action 'self'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        // same-origin, not no-referrer: under no-referrer Chromium sends `Origin: null` with a
        // form POST, which the Origin check must refuse; other sites still get no referrer.
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CACHE_CONTROL, "no-store"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(self), microphone=(), geolocation=()"),
    );
}

/// The middleware: Host, Origin and token checks, then the route, then the hardening headers.
pub(crate) async fn check(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return refuse(StatusCode::BAD_REQUEST, "a Host header is required");
    };
    if !host_allowed(host) {
        return refuse(
            StatusCode::FORBIDDEN,
            "refused: microcue answers only when reached by IP address or as localhost \
             (protection against DNS rebinding)",
        );
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let allowed = origin.to_str().is_ok_and(|o| origin_allowed(o, host));
        if !allowed {
            return refuse(
                StatusCode::FORBIDDEN,
                "refused: a request from another site (Origin does not match)",
            );
        }
    }
    if headers
        .get("sec-fetch-site")
        .is_some_and(|site| site.as_bytes() == b"cross-site")
    {
        return refuse(StatusCode::FORBIDDEN, "refused: a cross-site request");
    }
    let Some(set_cookie) = state.access.admits(headers, request.uri()) else {
        return refuse(
            StatusCode::FORBIDDEN,
            "this microcue server needs its access token: open the URL that `microcue serve` \
             printed (it ends with ?token=...)",
        );
    };
    let token_cookie = set_cookie
        .then(|| state.access.token.clone())
        .flatten()
        .and_then(|token| {
            HeaderValue::from_str(&format!(
                "{TOKEN_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/"
            ))
            .ok()
        });
    let mut response = next.run(request).await;
    if let Some(cookie) = token_cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    harden(response.headers_mut());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_by_address_or_localhost_are_allowed_names_are_not() {
        for host in [
            "127.0.0.1:8421",
            "localhost:8421",
            "LOCALHOST",
            "[::1]:8421",
            "192.168.1.20:8421",
        ] {
            assert!(host_allowed(host), "{host}");
        }
        for host in [
            "evil.example:8421",
            "localhost.evil.example",
            "127.0.0.1.nip.io:8421",
            "",
        ] {
            assert!(!host_allowed(host), "{host}");
        }
    }

    #[test]
    fn only_the_same_origin_is_allowed() {
        assert!(origin_allowed("http://127.0.0.1:8421", "127.0.0.1:8421"));
        assert!(!origin_allowed("http://127.0.0.1:9999", "127.0.0.1:8421"));
        assert!(!origin_allowed("https://evil.example", "127.0.0.1:8421"));
        assert!(!origin_allowed("null", "127.0.0.1:8421"));
    }

    #[test]
    fn a_token_is_made_for_any_address_but_the_loopback_defaults() {
        let loopback = Access::for_address("127.0.0.1:8421".parse().unwrap());
        assert!(!loopback.token_required());
        assert_eq!(
            loopback.url("127.0.0.1:8421".parse().unwrap()),
            "http://127.0.0.1:8421/"
        );
        let lan = Access::for_address("0.0.0.0:8421".parse().unwrap());
        let url = lan.url("0.0.0.0:8421".parse().unwrap());
        assert!(url.starts_with("http://127.0.0.1:8421/?token="), "{url}");
        assert_eq!(url.len(), "http://127.0.0.1:8421/?token=".len() + 32);
        let other = Access::for_address("0.0.0.0:8421".parse().unwrap());
        assert_ne!(lan.token, other.token, "each server has its own token");
    }

    #[test]
    fn secrets_compare_by_value() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abd", "abc"));
        assert!(!same_secret("ab", "abc"));
    }
}
