//! The `graphql` trigger: an HTTP POST of the JSON-encoded GraphQL request, sent (and its
//! response recorded) exactly as the `http` trigger does.

use super::{render_headers, Auth, Error, Header, HttpTrigger, TriggerResponse};
use model::{SpanId, TraceId};

/// `trigger: {type: graphql, graphql: {...}}` (reference 4.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphqlTrigger {
    pub url: String,
    pub headers: Vec<Header>,
    pub auth: Option<Auth>,
    /// Verify the server's certificate (default false, as for http).
    pub ssl_verification: bool,
    /// The schema text Tracetest keeps for its editor; not sent.
    pub schema: String,
    pub body: GraphqlBody,
}

/// What goes into the POSTed JSON.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GraphqlBody {
    pub query: String,
    /// Tracetest's string map, in file order.
    pub variables: Vec<(String, String)>,
    /// Empty = not sent.
    pub operation_name: String,
}

impl GraphqlTrigger {
    /// A copy with url, headers, auth, query, variable values and operation name rendered.
    pub fn render<E>(&self, render: &mut impl FnMut(&str) -> Result<String, E>) -> Result<Self, E> {
        let variables = self
            .body
            .variables
            .iter()
            .map(|(name, value)| Ok((name.clone(), render(value)?)))
            .collect::<Result<_, E>>()?;
        Ok(GraphqlTrigger {
            url: render(&self.url)?,
            headers: render_headers(&self.headers, render)?,
            auth: self.auth.as_ref().map(|auth| auth.render(render)).transpose()?,
            ssl_verification: self.ssl_verification,
            schema: self.schema.clone(),
            body: GraphqlBody {
                query: render(&self.body.query)?,
                variables,
                operation_name: render(&self.body.operation_name)?,
            },
        })
    }

    /// The request body: `{"query": ..., "variables": {...}, "operationName": ...}`.
    pub fn body_json(&self) -> String {
        let mut body = serde_json::Map::new();
        body.insert("query".into(), self.body.query.clone().into());
        let variables: serde_json::Map<String, serde_json::Value> =
            self.body.variables.iter().map(|(name, value)| (name.clone(), value.clone().into())).collect();
        body.insert("variables".into(), variables.into());
        if !self.body.operation_name.is_empty() {
            body.insert("operationName".into(), self.body.operation_name.clone().into());
        }
        serde_json::Value::Object(body).to_string()
    }

    /// The equivalent `http` trigger: POST, `Content-Type: application/json` unless the user
    /// gave one, the user's headers and auth.
    pub fn http(&self) -> HttpTrigger {
        let mut headers = self.headers.clone();
        if !headers.iter().any(|header| header.key.trim().eq_ignore_ascii_case("content-type")) {
            headers.insert(0, Header { key: "Content-Type".into(), value: "application/json".into() });
        }
        HttpTrigger {
            method: "POST".into(),
            url: self.url.clone(),
            headers,
            body: self.body_json(),
            ssl_verification: self.ssl_verification,
            auth: self.auth.clone(),
        }
    }

    /// Sends the POST with the run's trace context, as [`HttpTrigger::fire`].
    ///
    /// # Errors
    /// As [`HttpTrigger::fire`].
    pub async fn fire(
        &self,
        trace_id: TraceId,
        span_id: SpanId,
        session: &crate::Session,
    ) -> Result<TriggerResponse, Error> {
        self.http().fire(trace_id, span_id, session).await
    }
}
