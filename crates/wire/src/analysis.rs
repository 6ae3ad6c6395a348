//! `tracecheck analyze TRACE_ID --output json`: the trace and the analyzer's result, whose
//! shape is a step's `"analyzer"` field in the JSON report (design.md, "Analyzer and required
//! gates"; each span result also carries `span_name`). The web API's
//! `GET /api/v1/traces/{id}/analysis` answers the [`AnalyzerResult`] alone.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use analyze::AnalyzerResult;
use model::TraceId;

/// `{"trace_id": ..., "analyzer": {...}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceAnalysis<'a> {
    pub trace_id: TraceId,
    pub analyzer: Cow<'a, AnalyzerResult>,
}
