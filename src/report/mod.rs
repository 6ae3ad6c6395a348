//! Reports: pretty console, JSON, JUnit XML, and the span waterfall.

pub mod waterfall;
