//! Which requests may pass the edge without an access token.
//!
//! The list is short and explicit on purpose: anything not named here needs a valid access token,
//! so a new route is private until someone decides otherwise. Public requests still carry their
//! `Authorization` header through unchanged (a public list can show more to a signed-in caller;
//! the service checks the token itself).
//!
//! The decision uses the path as the client sent it, the same string the router matched, so the
//! access rule and the chosen service can never disagree about which resource was meant.

use http::Method;

/// `true` when `method path` needs no token at the gateway.
pub(crate) fn is_public(method: &Method, path: &str) -> bool {
    match *method {
        Method::POST => matches!(
            path,
            "/auth/register"
                | "/auth/signup"
                | "/auth/login"
                | "/auth/refresh"
                | "/auth/token"
                | "/auth/verify"
                | "/auth/validate"
                | "/signup"
                | "/login"
        ),
        Method::GET | Method::HEAD => {
            matches!(
                path,
                // Traefik ForwardAuth asks with GET and the caller's Authorization header.
                "/auth/verify"
                    | "/auth/validate"
                    | "/.well-known/jwks.json"
                    | "/.well-known/oauth-authorization-server"
                    | "/hits"
            ) || under(path, "/products")
                || under(path, "/events")
        }
        _ => false,
    }
}

/// `path` is `prefix` or below it (`/products/7`), but not a sibling (`/productsx`).
fn under(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_routes_and_catalogue_reads_are_public() {
        for (method, path) in [
            (Method::POST, "/auth/register"),
            (Method::POST, "/auth/login"),
            (Method::POST, "/auth/token"),
            (Method::POST, "/login"),
            (Method::POST, "/signup"),
            (Method::GET, "/auth/verify"),
            (Method::GET, "/.well-known/jwks.json"),
            (Method::GET, "/.well-known/oauth-authorization-server"),
            (Method::GET, "/products"),
            (Method::HEAD, "/products/3"),
            (Method::GET, "/events/0190"),
            (Method::GET, "/hits"),
        ] {
            assert!(is_public(&method, path), "{method} {path}");
        }
    }

    #[test]
    fn everything_else_needs_a_token() {
        for (method, path) in [
            (Method::GET, "/auth/me"),
            (Method::GET, "/me"),
            (Method::POST, "/auth/logout"),
            (Method::POST, "/products"),
            (Method::DELETE, "/products/1"),
            (Method::GET, "/productsx"),
            (Method::POST, "/events"),
            (Method::GET, "/orders"),
            (Method::GET, "/auth/login"),
            (Method::POST, "/auth/login/"),
            (Method::GET, "/auth/token"),
            (Method::OPTIONS, "/products"),
            (Method::POST, "/hits"),
        ] {
            assert!(!is_public(&method, path), "{method} {path}");
        }
    }
}
