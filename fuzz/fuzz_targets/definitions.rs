//! Whole definition files on arbitrary text, through the loader `validate` and `run` use:
//! YAML, then every field, the selectors, expressions and filter arguments (JSONPath,
//! regular expressions) they hold. No input may panic, overflow the stack or hang (libFuzzer
//! reports an input slower than `-timeout`), and every refusal prints. Defect 6 of issue 13
//! (a JSONPath filter nested in a test file: exponential time, then a stack overflow) is the
//! kind of input this reaches and `lang_parsers` did not.

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

/// One file per fuzzing process, rewritten for each input: the loader reads from a path
/// (a suite's steps resolve beside it), and a tmpfs write costs microseconds.
fn path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("tracecheck-fuzz-definitions-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("input.yaml")
    })
}

fuzz_target!(|data: &[u8]| {
    std::fs::write(path(), data).unwrap();
    match defs::load_file(path()) {
        Ok(loaded) => {
            let _ = loaded.kind();
        }
        Err(errors) => {
            let _ = errors.to_string();
        }
    }
});
