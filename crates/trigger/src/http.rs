//! The `http` trigger: one HTTP request with the run's trace context in its headers.

use std::time::SystemTime;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION};

use super::{propagation_headers, render_headers, ApiKeyLocation, Auth, Error, Header, TriggerResponse};
use model::defaults::{TRIGGER_CONNECT_TIMEOUT, TRIGGER_TIMEOUT};
use model::{SpanId, TraceId};

/// `trigger: {type: http, httpRequest: {...}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpTrigger {
    /// Upper-cased before sending.
    pub method: String,
    /// A URL; a bare `host:port/path` gets `http://`.
    pub url: String,
    /// Sent in order; repeated keys are all sent.
    pub headers: Vec<Header>,
    /// Request body text (already inlined by `spec` when it named a file); empty = none.
    pub body: String,
    /// Verify the server's certificate. Tracetest's default is false: not verified.
    pub ssl_verification: bool,
    pub auth: Option<Auth>,
}

impl HttpTrigger {
    /// A copy with url, header keys and values, body and auth fields rendered.
    pub fn render<E>(&self, render: &mut impl FnMut(&str) -> Result<String, E>) -> Result<Self, E> {
        Ok(HttpTrigger {
            method: self.method.clone(),
            url: render(&self.url)?,
            headers: render_headers(&self.headers, render)?,
            body: render(&self.body)?,
            ssl_verification: self.ssl_verification,
            auth: self.auth.as_ref().map(|auth| auth.render(render)).transpose()?,
        })
    }

    fn url(&self) -> String {
        let url = self.url.trim();
        if url.contains("://") {
            url.to_string()
        } else {
            format!("http://{url}")
        }
    }

    /// Sends the request. User headers go first, then auth, then the propagation headers,
    /// which replace same-named user headers (as Tracetest).
    ///
    /// # Errors
    /// A bad method, URL or header, or no response: connection refused, DNS, TLS, timeout.
    pub async fn fire(
        &self,
        trace_id: TraceId,
        span_id: SpanId,
        session: &crate::Session,
    ) -> Result<TriggerResponse, Error> {
        let url_text = self.url();
        let mut url = reqwest::Url::parse(&url_text)
            .map_err(|error| Error::InvalidUrl { url: url_text.clone(), source: error.into() })?;
        let method_text = self.method.trim().to_ascii_uppercase();
        let method_text = if method_text.is_empty() { "GET".to_string() } else { method_text };
        let method = reqwest::Method::from_bytes(method_text.as_bytes())
            .map_err(|_| Error::InvalidMethod(self.method.clone()))?;

        let mut headers = HeaderMap::new();
        for header in self.headers.iter().filter(|header| !header.key.trim().is_empty()) {
            let (name, value) = header_pair(header.key.trim(), &header.value)?;
            headers.append(name, value);
        }
        match &self.auth {
            None => {}
            Some(Auth::Basic { username, password }) => {
                let value = format!("Basic {}", base64_encode(format!("{username}:{password}").as_bytes()));
                headers.insert(AUTHORIZATION, header_value("authorization", &value)?);
            }
            Some(Auth::ApiKey { key, value, location: ApiKeyLocation::Header }) => {
                let (name, value) = header_pair(key.trim(), value)?;
                headers.insert(name, value);
            }
            Some(Auth::ApiKey { key, value, location: ApiKeyLocation::Query }) => {
                url.query_pairs_mut().append_pair(key, value);
            }
            Some(Auth::Bearer { token }) => {
                headers.insert(AUTHORIZATION, header_value("authorization", token)?);
            }
        }
        for (name, value) in propagation_headers(trace_id, span_id) {
            headers.insert(HeaderName::from_static(name), header_value(name, &value)?);
        }

        let max_redirects = session.max_redirects;
        let client = session
            .connections
            .client(self.ssl_verification, max_redirects)
            .map_err(|error| Error::Request { target: url_text.clone(), source: error.into() })?;
        let mut request = client.request(method, url).headers(headers);
        if !self.body.is_empty() {
            request = request.body(self.body.clone());
        }

        let started = SystemTime::now();
        let classify = |error: reqwest::Error| {
            if error.is_timeout() && error.is_connect() {
                Error::ConnectTimeout { target: url_text.clone(), seconds: TRIGGER_CONNECT_TIMEOUT.as_secs() }
            } else if error.is_timeout() {
                Error::Timeout { target: url_text.clone(), seconds: TRIGGER_TIMEOUT.as_secs() }
            } else {
                Error::Request { target: url_text.clone(), source: error.into() }
            }
        };
        let (response, n_hops) = crate::REDIRECTS
            .scope(std::cell::Cell::new(0), async {
                let response = request.send().await;
                (response, crate::REDIRECTS.with(std::cell::Cell::get))
            })
            .await;
        let response = response.map_err(classify)?;
        let status = response.status();
        let mut notes = Vec::new();
        if n_hops > 0 {
            let plural = if n_hops == 1 { "" } else { "s" };
            notes.push(format!(
                "the trigger followed {n_hops} redirect{plural}: the answer is {}'s (--max-redirects {max_redirects})",
                response.url()
            ));
        } else if max_redirects == 0 && status.is_redirection() {
            if let Some(location) = response.headers().get(reqwest::header::LOCATION) {
                notes.push(format!(
                    "the trigger's answer is a redirect to {}, not followed (--max-redirects {max_redirects})",
                    String::from_utf8_lossy(location.as_bytes())
                ));
            }
        }
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (name.as_str().to_string(), String::from_utf8_lossy(value.as_bytes()).into_owned())
            })
            .collect();
        let (body, body_truncated_at) = read_body(response, session.max_body).await.map_err(classify)?;
        let finished = SystemTime::now();
        Ok(TriggerResponse {
            trace_id,
            status: i64::from(status.as_u16()),
            // Go's `Response.Status` form, which Tracetest records.
            status_text: match status.canonical_reason() {
                Some(reason) => format!("{} {reason}", status.as_u16()),
                None => status.as_u16().to_string(),
            },
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
            attributes: Vec::new(),
            body_truncated_at,
            notes,
            started,
            finished,
        })
    }
}

fn header_value(name: &str, value: &str) -> Result<HeaderValue, Error> {
    HeaderValue::from_str(value)
        .map_err(|error| Error::InvalidHeader { name: name.to_string(), reason: error.to_string() })
}

/// The body up to `max` bytes, chunk by chunk: a larger body is cut there and the rest is
/// never read (a 1 GiB answer once took 4 GiB held whole). Also the cut, when there was one.
async fn read_body(
    mut response: reqwest::Response,
    max: usize,
) -> Result<(Vec<u8>, Option<usize>), reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = max - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return Ok((body, Some(max)));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, None))
}

fn header_pair(name: &str, value: &str) -> Result<(HeaderName, HeaderValue), Error> {
    let header_name = HeaderName::from_bytes(name.as_bytes())
        .map_err(|error| Error::InvalidHeader { name: name.to_string(), reason: error.to_string() })?;
    Ok((header_name, header_value(name, value)?))
}

/// Standard base64 with padding, for Basic credentials (not worth a dependency).
fn base64_encode(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let bytes = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(bytes[0]) << 16) | (u32::from(bytes[1]) << 8) | u32::from(bytes[2]);
        for (index, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if index <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::base64_encode;

    #[test]
    fn base64_matches_rfc_4648() {
        for (input, expected) in
            [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("u:p", "dTpw")]
        {
            assert_eq!(base64_encode(input.as_bytes()), expected);
        }
    }
}
