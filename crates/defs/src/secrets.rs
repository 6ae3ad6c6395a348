//! Which values of a run are secrets: the VariableSet's `type: secret` values, the
//! variables left untyped whose names look secret, and the environment variables the CLI's
//! `${NAME}` substitution put into a definition file whose names look secret. The runner
//! masks every occurrence of their values in what it writes (`run::secrets`); this module
//! only decides which names are secret.

/// Words that make a variable's name a secret's, compared with each `_`, `-` or `.`
/// separated word of the name, ASCII case-insensitively (`API_KEY`, `SESSION_ID`); whole
/// words only, so `KEYBOARD` and `AUTHOR` are not secrets.
const SECRET_WORDS: &[&str] = &[
    "secret",
    "secrets",
    "token",
    "password",
    "passwd",
    "passphrase",
    "pwd",
    "apikey",
    "key",
    "credential",
    "credentials",
    "auth",
    "authorization",
    "cookie",
    "session",
    "private",
    "signature",
];

/// Substrings that make a name secret wherever they stand (`MYTOKEN`, `dbPassword`).
const SECRET_PARTS: &[&str] = &["secret", "token", "password", "passwd", "apikey", "credential"];

/// Whether a variable's name says it holds a secret (`API_KEY`, `AUTH_TOKEN`, `dbPassword`,
/// `CLIENT_SECRET`); `PWD` alone is the shell's working directory, not a password.
pub fn looks_secret(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    if lower == "pwd" || lower == "oldpwd" {
        return false;
    }
    SECRET_PARTS.iter().any(|part| lower.contains(part))
        || lower.split(['_', '-', '.']).any(|word| SECRET_WORDS.contains(&word))
}

/// The environment variables a definition text names with the CLI's `${NAME}` substitution
/// (reference 14.1), in order, each once: what [`crate::load_file`] replaces.
pub fn env_references(text: &str) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        match crate::source::substitution_name(after) {
            Some(name) => {
                if !names.contains(&name) {
                    names.push(name);
                }
                rest = &after[name.len() + 1..];
            }
            None => rest = after,
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_are_recognised() {
        for name in
            ["API_KEY", "AUTH_TOKEN", "dbPassword", "CLIENT_SECRET", "x-api-key", "GITHUB_TOKEN", "DB_PWD"]
        {
            assert!(looks_secret(name), "{name}");
        }
        for name in ["HOST", "PWD", "PORT", "TRACE_ID", "USER", "BASE_URL", "KEYBOARD"] {
            assert!(!looks_secret(name), "{name}");
        }
    }

    #[test]
    fn env_references_are_the_substituted_names() {
        let text = "url: ${HOST}/x?k=${API_KEY}\nb: ${var:A} ${1s} ${HOST} ${env:B} ${ X }";
        assert_eq!(env_references(text), vec!["HOST", "API_KEY"]);
    }
}
