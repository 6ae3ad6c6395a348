//! `tracecheck validate FILE...`: check definition files without running them.

use super::args::ValidateArgs;
use super::{Error, Outcome};

/// Prints `PATH: valid KIND` per resource, or every problem of every file.
///
/// # Errors
/// [`Error::Definitions`] with every problem found.
pub fn validate(args: &ValidateArgs) -> Result<Outcome, Error> {
    let paths: Vec<&std::path::PathBuf> = args.files.iter().chain(&args.config).collect();
    let loaded = defs::validate_files(&paths)
        .map_err(|errors| Error::Definitions(anyhow::anyhow!(errors.render())))?;
    for file in &loaded {
        println!("{}: valid {}", file.path().display(), file.kind());
    }
    Ok(Outcome::Passed)
}
