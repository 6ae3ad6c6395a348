//! Joins the UI's ES modules (`js/*.js`) into one script in `OUT_DIR/app.js`, which
//! `src/lib.rs` embeds: pure Rust, no npm. How the join works, and what syntax it accepts,
//! is `src/join.rs`; a cycle, an unknown import or unsupported syntax fails the build with
//! the file and line.

use std::collections::BTreeMap;
use std::path::Path;

#[path = "src/join.rs"]
mod join;

fn main() {
    println!("cargo:rerun-if-changed=js");
    println!("cargo:rerun-if-changed=src/join.rs");
    let mut modules = BTreeMap::new();
    for entry in std::fs::read_dir("js").expect("read crates/ui/js") {
        let path = entry.expect("list crates/ui/js").path();
        let Some(name) = path.file_name().and_then(|name| name.to_str()) else { continue };
        if name.ends_with(".js") && !name.ends_with(".test.js") {
            let source = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {name}: {e}"));
            modules.insert(name.to_string(), source);
        }
    }
    let script = match join::join("main.js", &modules) {
        Ok(script) => script,
        Err(error) => {
            eprintln!("crates/ui/js: {error}");
            std::process::exit(1);
        }
    };
    let out = std::env::var_os("OUT_DIR").expect("OUT_DIR");
    std::fs::write(Path::new(&out).join("app.js"), script).expect("write app.js");
}
