//! Reading a Test's `trigger` (reference section 4): one reader per trigger type, each a
//! function of this file that checks its fields and every template in them.

use marked_yaml::types::MarkedMappingNode;
use marked_yaml::Node;

use super::check::{check, Language};
use super::error::{Error, ErrorKind};
use super::load::{base_dir, check_text, join_clean, looks_like_path};
use super::source::line_of;
use super::walk::{field, is_null, Ctx};
use super::Text;
use ::trigger::{
    grpc, ApiKeyLocation, Auth, GraphqlBody, GraphqlTrigger, GrpcTrigger, Header, HttpTrigger, KafkaAuth,
    KafkaTrigger, PlaywrightTrigger, SaslMechanism, TraceIdTrigger, Trigger,
};

const TRIGGER_TYPES: &str = "http, grpc, traceid, kafka, graphql or playwrightengine";

pub(super) fn read_trigger(ctx: &mut Ctx, node: &Node) -> Option<Trigger> {
    let map = ctx.mapping(node, "trigger")?;
    ctx.check_fields(
        map,
        "the trigger",
        &["type", "httpRequest", "grpc", "traceid", "kafka", "graphql", "playwrightEngine"],
    );
    let kind = ctx.non_empty_text(map, "type", "the trigger")?;
    let sub = |ctx: &mut Ctx, key: &str| {
        ctx.required(map, key, "the trigger").and_then(|node| ctx.mapping(node, key))
    };
    match kind.value.as_str() {
        "http" => sub(ctx, "httpRequest").and_then(|map| read_http(ctx, map)).map(Trigger::Http),
        "grpc" => sub(ctx, "grpc").and_then(|map| read_grpc(ctx, map)).map(Trigger::Grpc),
        "traceid" => sub(ctx, "traceid").and_then(|map| read_traceid(ctx, map)).map(Trigger::TraceId),
        "kafka" => sub(ctx, "kafka").and_then(|map| read_kafka(ctx, map)).map(Trigger::Kafka),
        "graphql" => sub(ctx, "graphql").and_then(|map| read_graphql(ctx, map)).map(Trigger::Graphql),
        "playwrightengine" => {
            sub(ctx, "playwrightEngine").and_then(|map| read_playwright(ctx, map)).map(Trigger::Playwright)
        }
        // Tracetest's integrations behave like a traceid trigger reading the env variable.
        "cypress" | "playwright" | "artillery" | "k6" => {
            Some(Trigger::TraceId(TraceIdTrigger { id: "${env:TRACE_ID}".to_string() }))
        }
        other => {
            let message = format!("unknown trigger type `{other}`; expected {TRIGGER_TYPES}");
            ctx.error_at(kind.line, kind.col, ErrorKind::Invalid(message));
            None
        }
    }
}

/// An optional template field: its text (empty when absent), checked.
fn template(ctx: &mut Ctx, map: &MarkedMappingNode, key: &str) -> Option<Text> {
    let text = ctx.optional_text(map, key)?;
    check_text(ctx, Language::Template, &text);
    Some(text)
}

fn required_template(ctx: &mut Ctx, map: &MarkedMappingNode, key: &str, context: &str) -> Option<Text> {
    let text = ctx.non_empty_text(map, key, context)?;
    check_text(ctx, Language::Template, &text);
    Some(text)
}

fn read_headers(ctx: &mut Ctx, map: &MarkedMappingNode, key: &str) -> Vec<Header> {
    let mut headers = Vec::new();
    let Some(items) = field(map, key).and_then(|node| ctx.sequence(node, key)) else { return headers };
    for item in items {
        let Some(entry) = ctx.mapping(item, key) else { continue };
        ctx.check_fields(entry, &format!("an entry of `{key}`"), &["key", "value"]);
        let name = template(ctx, entry, "key").map(|text| text.value).unwrap_or_default();
        let value = template(ctx, entry, "value").map(|text| text.value).unwrap_or_default();
        headers.push(Header { key: name, value });
    }
    headers
}

fn read_auth(ctx: &mut Ctx, map: &MarkedMappingNode) -> Option<Auth> {
    let map = ctx.mapping(field(map, "auth")?, "auth")?;
    ctx.check_fields(map, "auth", &["type", "basic", "apiKey", "bearer"]);
    // No `type` is no authentication, whatever the other keys hold: Tracetest's UI exports
    // `auth: {apiKey: {}, basic: {}, bearer: {}}` for a request without any.
    let kind = ctx.optional_text(map, "type").filter(|kind| !kind.value.trim().is_empty())?;
    let sub =
        |ctx: &mut Ctx, key: &str| ctx.required(map, key, "auth").and_then(|node| ctx.mapping(node, key));
    match kind.value.as_str() {
        "basic" => {
            let basic = sub(ctx, "basic")?;
            ctx.check_fields(basic, "basic auth", &["username", "password"]);
            let username = template(ctx, basic, "username").map(|text| text.value).unwrap_or_default();
            let password = template(ctx, basic, "password").map(|text| text.value).unwrap_or_default();
            Some(Auth::Basic { username, password })
        }
        "apiKey" => {
            let api_key = sub(ctx, "apiKey")?;
            ctx.check_fields(api_key, "apiKey auth", &["key", "value", "in"]);
            let key = required_template(ctx, api_key, "key", "apiKey auth").map(|text| text.value);
            let value = template(ctx, api_key, "value").map(|text| text.value).unwrap_or_default();
            let location = match ctx.optional_text(api_key, "in") {
                None => ApiKeyLocation::Header,
                Some(text) if text.value == "header" => ApiKeyLocation::Header,
                Some(text) if text.value == "query" => ApiKeyLocation::Query,
                Some(text) => {
                    let message = format!("apiKey `in` must be `header` or `query`, found `{}`", text.value);
                    ctx.error_at(text.line, text.col, ErrorKind::Invalid(message));
                    ApiKeyLocation::Header
                }
            };
            Some(Auth::ApiKey { key: key?, value, location })
        }
        "bearer" => {
            let bearer = sub(ctx, "bearer")?;
            ctx.check_fields(bearer, "bearer auth", &["token"]);
            let token = template(ctx, bearer, "token").map(|text| text.value).unwrap_or_default();
            Some(Auth::Bearer { token })
        }
        other => {
            let message = format!("unknown auth type `{other}`; expected basic, apiKey or bearer");
            ctx.error_at(kind.line, kind.col, ErrorKind::Invalid(message));
            None
        }
    }
}

fn read_http(ctx: &mut Ctx, map: &MarkedMappingNode) -> Option<HttpTrigger> {
    let context = "httpRequest";
    ctx.check_fields(map, context, &["method", "url", "headers", "body", "sslVerification", "auth"]);
    let method = match ctx.optional_text(map, "method") {
        None => "GET".to_string(),
        Some(text) => {
            let method = text.value.trim().to_ascii_uppercase();
            if method.is_empty() || !method.bytes().all(|byte| byte.is_ascii_alphabetic()) {
                let message = format!("invalid http method `{}`", text.value);
                ctx.error_at(text.line, text.col, ErrorKind::Invalid(message));
            }
            method
        }
    };
    let url = required_template(ctx, map, "url", context);
    let headers = read_headers(ctx, map, "headers");
    let body = read_body(ctx, map);
    let ssl_verification = ctx.optional_bool(map, "sslVerification").unwrap_or(false);
    let auth = read_auth(ctx, map);
    Some(HttpTrigger { method, url: url?.value, headers, body, ssl_verification, auth })
}

/// Whether a field's value is a path to a file (`./`, `../`, `/`, one line), which
/// Tracetest's CLI replaces by the file's text before sending the test to its server.
fn names_a_file(value: &str) -> bool {
    let value = value.trim();
    looks_like_path(value) && !value.contains('\n')
}

/// The text of the file a field names (relative to the definition file), or the field's
/// own text when it names none; an unreadable file is an error at the field.
fn file_or_text(ctx: &mut Ctx, text: &Text, what: &str) -> Option<String> {
    if !names_a_file(&text.value) {
        return Some(text.value.clone());
    }
    let path = join_clean(&base_dir(&ctx.source.path), text.value.trim());
    match std::fs::read_to_string(&path) {
        Ok(content) => Some(content),
        Err(error) => {
            let message = format!("cannot read {what} file {}: {error}", path.display());
            ctx.error_at(text.line, text.col, ErrorKind::Invalid(message));
            None
        }
    }
}

/// Checks a file's text as a template, each problem at its position in that file.
fn check_file_template(ctx: &mut Ctx, path: &std::path::Path, content: &str) {
    for (offset, message) in check(Language::Template, content) {
        let (line, col) = offset_position(content, offset);
        ctx.errors.push(Error {
            path: path.to_path_buf(),
            line,
            col,
            kind: ErrorKind::Expression { what: Language::Template.describe(), message },
            source_line: line_of(content, line),
        });
    }
}

/// The body text; a value naming an existing file (`./`, `../`, `/`) is replaced by the
/// file's content, as Tracetest's CLI does, and checked as a template in that file.
fn read_body(ctx: &mut Ctx, map: &MarkedMappingNode) -> String {
    let Some(text) = ctx.optional_text(map, "body") else { return String::new() };
    let value = text.value.trim();
    if names_a_file(value) {
        let path = join_clean(&base_dir(&ctx.source.path), value);
        if path.is_file() {
            match std::fs::read_to_string(&path) {
                Ok(content) => {
                    check_file_template(ctx, &path, &content);
                    return content;
                }
                Err(error) => {
                    let message = format!("cannot read body file {}: {error}", path.display());
                    ctx.error_at(text.line, text.col, ErrorKind::Invalid(message));
                    return String::new();
                }
            }
        }
    }
    check_text(ctx, Language::Template, &text);
    text.value
}

/// 1-based line and column (in characters) of a byte offset in a text.
fn offset_position(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|idx| idx + 1).unwrap_or(0);
    (line, before[line_start..].chars().count() + 1)
}

fn read_grpc(ctx: &mut Ctx, map: &MarkedMappingNode) -> Option<GrpcTrigger> {
    let context = "grpc";
    ctx.check_fields(
        map,
        context,
        &["protobufFile", "address", "method", "request", "metadata", "service", "auth"],
    );
    let dir = base_dir(&ctx.source.path);
    let proto_text = ctx.non_empty_text(map, "protobufFile", context);
    let proto = proto_text.as_ref().and_then(|text| {
        let value = text.value.trim();
        let is_inline = value.contains('\n') || value.contains('{') || value.starts_with("syntax");
        if is_inline {
            return Some((text.value.clone(), "trigger.proto".to_string(), Some(dir.clone())));
        }
        let path = join_clean(&dir, value);
        match std::fs::read_to_string(&path) {
            Ok(content) => {
                let name = path.file_name().map(|name| name.to_string_lossy().into_owned());
                Some((content, name.unwrap_or_else(|| "trigger.proto".into()), Some(base_dir(&path))))
            }
            Err(error) => {
                let message = format!("cannot read protobuf file {}: {error}", path.display());
                ctx.error_at(text.line, text.col, ErrorKind::Invalid(message));
                None
            }
        }
    });
    let address = required_template(ctx, map, "address", context);
    let method = required_template(ctx, map, "method", context);
    let request = template(ctx, map, "request").map(|text| text.value).unwrap_or_default();
    let metadata = read_headers(ctx, map, "metadata");
    let service = ctx.optional_text(map, "service").map(|text| text.value);
    let auth = read_auth(ctx, map);
    let (proto, proto_name, proto_dir) = proto?;
    let trigger = GrpcTrigger {
        proto,
        proto_name,
        proto_dir,
        address: address?.value,
        method: method.as_ref()?.value.clone(),
        request,
        metadata,
        service,
        auth,
    };
    // Check the proto and, when the method is not a template, that it names a unary
    // method, so a typo fails at load time rather than at run time.
    let proto_text = proto_text?;
    match grpc::compile_proto(&trigger.proto_name, &trigger.proto, trigger.proto_dir.as_deref()) {
        Err(error) => ctx.error_at(proto_text.line, proto_text.col, ErrorKind::Invalid(error.to_string())),
        Ok(_) if !trigger.method.contains("${") => {
            if let Err(error) = trigger.method_descriptor() {
                let method = method?;
                ctx.error_at(method.line, method.col, ErrorKind::Invalid(error.to_string()));
            }
        }
        Ok(_) => {}
    }
    Some(trigger)
}

fn read_traceid(ctx: &mut Ctx, map: &MarkedMappingNode) -> Option<TraceIdTrigger> {
    ctx.check_fields(map, "traceid", &["id"]);
    let id = required_template(ctx, map, "id", "traceid")?;
    let trigger = TraceIdTrigger { id: id.value.clone() };
    if !id.value.contains("${") && trigger.trace_id().is_err() {
        let message = format!("trace id `{}` must be 32 hex characters", id.value);
        ctx.error_at(id.line, id.col, ErrorKind::Invalid(message));
    }
    Some(trigger)
}

/// `kafka: {brokerUrls, topic, headers, messageKey, messageValue, sslVerification,
/// authentication}`; every string is a template.
fn read_kafka(ctx: &mut Ctx, map: &MarkedMappingNode) -> Option<KafkaTrigger> {
    let context = "kafka";
    ctx.check_fields(
        map,
        context,
        &[
            "brokerUrls",
            "topic",
            "headers",
            "messageKey",
            "messageValue",
            "sslVerification",
            "authentication",
        ],
    );
    let mut broker_urls = Vec::new();
    if let Some(node) = ctx.required(map, "brokerUrls", context) {
        // A single string is taken as a one-element list.
        let items = match node {
            Node::Scalar(_) => std::slice::from_ref(node),
            _ => ctx.sequence(node, "brokerUrls").unwrap_or_default(),
        };
        for item in items {
            if let Some(text) = ctx.text(item, "brokerUrls") {
                check_text(ctx, Language::Template, &text);
                broker_urls.push(text.value);
            }
        }
        if broker_urls.iter().all(|url| url.trim().is_empty()) {
            ctx.invalid(node.span(), "`brokerUrls` in kafka must name at least one broker");
        }
    }
    let topic = required_template(ctx, map, "topic", context);
    let headers = read_headers(ctx, map, "headers");
    let message_key = template(ctx, map, "messageKey").map(|text| text.value).unwrap_or_default();
    let message_value = template(ctx, map, "messageValue").map(|text| text.value).unwrap_or_default();
    let ssl_verification = ctx.optional_bool(map, "sslVerification").unwrap_or(false);
    let authentication = read_kafka_auth(ctx, map);
    Some(KafkaTrigger {
        broker_urls,
        topic: topic?.value,
        headers,
        message_key,
        message_value,
        ssl_verification,
        authentication,
    })
}

/// `authentication: {type: plain, plain: {username, password}}` (also `scramSha256`,
/// `scramSha512`, with the credentials under the key of the same name).
fn read_kafka_auth(ctx: &mut Ctx, map: &MarkedMappingNode) -> Option<KafkaAuth> {
    let map = ctx.mapping(field(map, "authentication")?, "authentication")?;
    let mut allowed = vec!["type"];
    allowed.extend(SaslMechanism::NAMES.iter().map(|(name, _)| *name));
    ctx.check_fields(map, "kafka authentication", &allowed);
    let kind = ctx.non_empty_text(map, "type", "kafka authentication")?;
    let Some((name, mechanism)) = SaslMechanism::NAMES.iter().find(|(name, _)| *name == kind.value) else {
        let message = format!(
            "unknown kafka authentication type `{}`; expected plain, scramSha256 or scramSha512",
            kind.value
        );
        ctx.error_at(kind.line, kind.col, ErrorKind::Invalid(message));
        return None;
    };
    let credentials =
        ctx.required(map, name, "kafka authentication").and_then(|node| ctx.mapping(node, name))?;
    ctx.check_fields(credentials, &format!("{name} authentication"), &["username", "password"]);
    let username = template(ctx, credentials, "username").map(|text| text.value).unwrap_or_default();
    let password = template(ctx, credentials, "password").map(|text| text.value).unwrap_or_default();
    Some(KafkaAuth { mechanism: *mechanism, username, password })
}

/// `graphql: {url, headers, auth, sslVerification, schema, body: {query, variables,
/// operationName}}`.
fn read_graphql(ctx: &mut Ctx, map: &MarkedMappingNode) -> Option<GraphqlTrigger> {
    let context = "graphql";
    ctx.check_fields(map, context, &["url", "headers", "auth", "sslVerification", "schema", "body"]);
    let url = required_template(ctx, map, "url", context);
    let headers = read_headers(ctx, map, "headers");
    let auth = read_auth(ctx, map);
    let ssl_verification = ctx.optional_bool(map, "sslVerification").unwrap_or(false);
    let schema = match ctx.optional_text(map, "schema") {
        Some(text) => file_or_text(ctx, &text, "graphql schema")?,
        None => String::new(),
    };
    let mut body = GraphqlBody::default();
    if let Some(body_map) = ctx.required(map, "body", context).and_then(|node| ctx.mapping(node, "body")) {
        ctx.check_fields(body_map, "the graphql body", &["query", "variables", "operationName"]);
        let query = ctx.non_empty_text(body_map, "query", "the graphql body")?;
        body.query = if names_a_file(&query.value) {
            // The file's text is the query; like an http body file, it is a template too.
            let path = join_clean(&base_dir(&ctx.source.path), query.value.trim());
            let content = file_or_text(ctx, &query, "graphql query")?;
            check_file_template(ctx, &path, &content);
            content
        } else {
            check_text(ctx, Language::Template, &query);
            query.value
        };
        body.operation_name =
            template(ctx, body_map, "operationName").map(|text| text.value).unwrap_or_default();
        let variables = field(body_map, "variables").filter(|node| !is_null(node));
        if let Some(variables) = variables.and_then(|node| ctx.mapping(node, "variables")) {
            for (name, value) in variables.iter() {
                if let Some(text) = ctx.text(value, name.as_str()) {
                    check_text(ctx, Language::Template, &text);
                    body.variables.push((name.as_str().to_string(), text.value));
                }
            }
        }
    }
    Some(GraphqlTrigger { url: url?.value, headers, auth, ssl_verification, schema, body })
}

/// `playwrightEngine: {target, method, script}`: `target` and `method` are templates (as in
/// Tracetest); `script` is a path to the script file (`./script.js`, relative to the test
/// file, inlined as the CLI does) or the script's text. Node and the browser are looked
/// for only when the test runs, so a machine without them still validates the file.
fn read_playwright(ctx: &mut Ctx, map: &MarkedMappingNode) -> Option<PlaywrightTrigger> {
    let context = "playwrightEngine";
    ctx.check_fields(map, context, &["target", "method", "script"]);
    let target = template(ctx, map, "target").map(|text| text.value).unwrap_or_default();
    let method = required_template(ctx, map, "method", context);
    let script_text = ctx.non_empty_text(map, "script", context);
    let dir = base_dir(&ctx.source.path);
    let (script, script_name) = match script_text {
        None => (None, String::new()),
        Some(text) => {
            let value = text.value.trim();
            if looks_like_path(value) && !value.contains('\n') {
                let path = join_clean(&dir, value);
                match std::fs::read_to_string(&path) {
                    Ok(content) => (Some(content), value.to_string()),
                    Err(error) => {
                        let message = format!("cannot read playwright script {}: {error}", path.display());
                        ctx.error_at(text.line, text.col, ErrorKind::Invalid(message));
                        (None, String::new())
                    }
                }
            } else {
                (Some(text.value), "script".to_string())
            }
        }
    };
    Some(PlaywrightTrigger { target, method: method?.value, script: script?, script_name, dir: Some(dir) })
}
