//! Why a policy set could not be loaded. Every variant carries text meant for
//! an operator: the binary prints it and refuses to start.

use std::path::PathBuf;

/// The policies or the schema cannot be used. The messages are multi-line,
/// one problem per line (with `file:line:column` where Cedar reports a place),
/// ready to print as they are.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// A file or the folder could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// What could not be read.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The folder does not hold one schema and at least one policy file.
    #[error("{}: {problem}", dir.display())]
    Layout {
        /// The policy folder.
        dir: PathBuf,
        /// What is missing or too much.
        problem: String,
    },
    /// The schema does not parse.
    #[error("the Cedar schema is invalid:\n{0}")]
    Schema(String),
    /// A policy file does not parse.
    #[error("a Cedar policy file does not parse:\n{0}")]
    Parse(String),
    /// A policy lacks an `@id`, shares one, or is a template.
    #[error("Cedar policies are not identified correctly:\n{0}")]
    Ids(String),
    /// Strict validation against the schema failed.
    #[error("Cedar policies do not validate against the schema:\n{0}")]
    Validation(String),
    /// The schema does not accept the entities this service builds.
    #[error("the Cedar schema does not fit the entities Beckon builds:\n{0}")]
    Incompatible(String),
}
