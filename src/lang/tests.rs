//! Table-driven tests of the languages.
