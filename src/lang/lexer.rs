//! Tokens of the expression language (reference 8.1).
