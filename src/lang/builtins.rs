//! The one table of filters (reference 8.7) and the one table of functions (8.8).

/// Names of every filter, in table order.
pub fn filter_names() -> Vec<&'static str> {
    Vec::new()
}

/// Names of every function, in table order.
pub fn function_names() -> Vec<&'static str> {
    Vec::new()
}
