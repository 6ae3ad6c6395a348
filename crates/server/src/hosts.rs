//! Which names the HTTP routes answer to: the defence against DNS rebinding. A page on
//! `attacker.example` whose name is made to resolve to 127.0.0.1 can make the browser send
//! requests to a server on loopback that carry `Host: attacker.example`; without a token
//! the page would read the API, the UI and post spans. So every HTTP route but OTLP's
//! (which browsers post to across origins by design, under CORS) answers only requests
//! whose `Host` (and `Origin`, when a browser sends one) names an allowed host:
//!
//! - always: IP literals, `localhost` and `*.localhost` (a rebinding attack needs a name the
//!   attacker controls; an IP literal or localhost cannot be one);
//! - the names given with `--allowed-hosts` (`.example.com` also admits its subdomains;
//!   `*` admits any name);
//! - when the HTTP listeners are not all on loopback and `--allowed-hosts` is not given,
//!   any name: such a server is reachable under whatever names its network gives it (a
//!   container's service name, say), and `--auth-token` is what guards it.
//!
//! A refusal is [`EdgeError::HostNotAllowed`] (403), which names the flag to use.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header;

use crate::error::EdgeError;

/// The names `--allowed-hosts` admits beyond the defaults.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum AllowedHosts {
    /// Only the defaults (and any name when not only on loopback).
    #[default]
    Default,
    /// These names too: exact, or `.suffix` for a domain and its subdomains.
    Names(Vec<String>),
    /// `*`: any name (the check is off).
    Any,
}

impl AllowedHosts {
    /// From `--allowed-hosts` values: `*` anywhere means any; names are compared
    /// case-insensitively.
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> AllowedHosts {
        let names: Vec<String> = names
            .iter()
            .map(|name| name.as_ref().trim().to_ascii_lowercase())
            .filter(|name| !name.is_empty())
            .collect();
        if names.iter().any(|name| name == "*") {
            AllowedHosts::Any
        } else if names.is_empty() {
            AllowedHosts::Default
        } else {
            AllowedHosts::Names(names)
        }
    }
}

/// The check as the HTTP listeners apply it (cheap to clone).
#[derive(Clone, Debug)]
pub struct HostCheck {
    allowed: Arc<AllowedHosts>,
    /// Whether any name is admitted (the check is off).
    open: bool,
}

impl HostCheck {
    /// The check for listeners bound to `addrs`.
    pub fn new(allowed: AllowedHosts, addrs: &[SocketAddr]) -> HostCheck {
        let loopback_only = addrs.iter().all(|addr| addr.ip().is_loopback());
        let open = match allowed {
            AllowedHosts::Any => true,
            AllowedHosts::Default => !loopback_only,
            AllowedHosts::Names(_) => false,
        };
        HostCheck { allowed: Arc::new(allowed), open }
    }

    /// Whether `host` (a `Host` value or an origin's authority, with or without a port) is
    /// admitted.
    pub fn admits(&self, host: &str) -> bool {
        if self.open {
            return true;
        }
        let name = strip_port(host).to_ascii_lowercase();
        let name = name.trim_end_matches('.');
        if name.parse::<IpAddr>().is_ok() || name == "localhost" || name.ends_with(".localhost") {
            return true;
        }
        match &*self.allowed {
            AllowedHosts::Names(names) => names.iter().any(|allowed| match allowed.strip_prefix('.') {
                Some(domain) => name == domain || name.ends_with(allowed.as_str()),
                None => name == allowed,
            }),
            AllowedHosts::Default | AllowedHosts::Any => false,
        }
    }

    /// Why `request` is refused, if it is: its `Host` (the URI's authority over HTTP/2) or
    /// its `Origin` names a host not admitted. No `Host` at all is HTTP/1.0 from a tool,
    /// not a browser: admitted.
    fn refusal<B>(&self, request: &http::Request<B>) -> Option<EdgeError> {
        if self.open {
            return None;
        }
        let headers = request.headers();
        let host = headers
            .get(header::HOST)
            .and_then(|value| value.to_str().ok())
            .map(str::to_string)
            .or_else(|| request.uri().authority().map(|authority| authority.to_string()));
        if let Some(host) = host {
            if !self.admits(&host) {
                return Some(EdgeError::HostNotAllowed { host });
            }
        }
        let origin = headers.get(header::ORIGIN).map(|value| value.to_str().unwrap_or("").to_string());
        if let Some(origin) = origin {
            // `scheme://authority`; an opaque origin ("null": a sandboxed frame, a file)
            // cannot be told apart from an attacker's and is refused.
            let authority = origin.split_once("://").map(|(_, rest)| rest).unwrap_or("");
            if authority.is_empty() || !self.admits(authority) {
                return Some(EdgeError::OriginNotAllowed { origin });
            }
        }
        None
    }
}

/// `host:port`, `[v6]:port`, `[v6]` or `host` without the port and brackets.
fn strip_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        // A bare IPv6 address has several colons and no brackets.
        Some((name, port)) if !name.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// The middleware: refuses what [`HostCheck`] does not admit, except on `skip` (OTLP's path).
pub(crate) async fn check(
    State((check, skip)): State<(HostCheck, &'static str)>,
    request: Request,
    next: Next,
) -> Response {
    if request.uri().path() != skip {
        if let Some(refusal) = check.refusal(&request) {
            return refusal.into_response();
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loopback(allowed: AllowedHosts) -> HostCheck {
        HostCheck::new(allowed, &["127.0.0.1:4318".parse().unwrap()])
    }

    #[test]
    fn loopback_admits_ip_literals_and_localhost_only_by_default() {
        let check = loopback(AllowedHosts::Default);
        for host in [
            "127.0.0.1:4318",
            "localhost",
            "LOCALHOST:4318",
            "app.localhost",
            "[::1]:4318",
            "::1",
            "10.0.0.5",
        ] {
            assert!(check.admits(host), "{host}");
        }
        for host in
            ["attacker.example", "attacker.example:4318", "localhost.attacker.example", "127.0.0.1.nip.io"]
        {
            assert!(!check.admits(host), "{host}");
        }
    }

    #[test]
    fn allowed_hosts_add_names_and_domains() {
        let check = loopback(AllowedHosts::from_names(&["Tracecheck", ".corp.example"]));
        assert!(check.admits("tracecheck:4318"));
        assert!(check.admits("corp.example") && check.admits("ui.corp.example:80"));
        assert!(!check.admits("evilcorp.example") && !check.admits("tracecheck.evil"));
        assert!(loopback(AllowedHosts::from_names(&["*"])).admits("anything.example"));
    }

    #[test]
    fn beyond_loopback_any_name_unless_names_are_given() {
        let all: [SocketAddr; 1] = ["0.0.0.0:4318".parse().unwrap()];
        assert!(HostCheck::new(AllowedHosts::Default, &all).admits("tracecheck:4318"));
        assert!(!HostCheck::new(AllowedHosts::from_names(&["ui.example"]), &all).admits("tracecheck:4318"));
    }

    #[test]
    fn origins_are_held_to_the_same_names() {
        let check = loopback(AllowedHosts::Default);
        let request = |host: &str, origin: Option<&str>| {
            let mut request = http::Request::get("/api/v1/runs").header("host", host);
            if let Some(origin) = origin {
                request = request.header("origin", origin);
            }
            check.refusal(&request.body(()).unwrap()).map(|error| error.to_string())
        };
        assert_eq!(request("127.0.0.1:4318", None), None);
        assert_eq!(request("127.0.0.1:4318", Some("http://localhost:3000")), None);
        assert!(request("attacker.example:4318", None).unwrap().contains("--allowed-hosts"));
        assert!(request("127.0.0.1:4318", Some("https://attacker.example")).is_some());
        assert!(request("127.0.0.1:4318", Some("null")).is_some());
    }
}
